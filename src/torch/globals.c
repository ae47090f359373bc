/* src/torch/globals.c - torch's weights-only allowlist and the meaning of
 * each allowed global (torch/_weights_only_unpickler.py, torch 2.6-2.10). */
#include <string.h>

#include "torch_internal.h"

typedef struct gl_row {
    const char *module;
    const char *name;
    int id;
    bool allowed; /* on torch 2.x's default allowlist */
} gl_row;

static const gl_row table[] = {
    {"collections", "OrderedDict", TG_ORDERED_DICT, true},
    {"collections", "Counter", TG_COUNTER, true},
    {"torch.nn.parameter", "Parameter", TG_PARAMETER, true},
    {"torch.serialization", "_get_layout", TG_GET_LAYOUT, true},
    {"torch", "Size", TG_SIZE, true},
    {"torch", "Tensor", TG_TENSOR, true},
    {"torch._tensor", "Tensor", TG_TENSOR, true},
    {"torch", "device", TG_DEVICE, true},
    {"_codecs", "encode", TG_CODECS_ENCODE, true},
    {"builtins", "bytearray", TG_BYTEARRAY, true},
    {"builtins", "set", TG_SET, true},
    {"builtins", "complex", TG_COMPLEX, true},
    /* Not on torch's list, but CPython writes an empty bytes value as
     * bytes() under protocol 2: an inert constructor, accepted with no args. */
    {"builtins", "bytes", TG_BYTES, true},
    {"builtins", "frozenset", TG_FROZENSET, false},
    {"torch.storage", "TypedStorage", TG_TYPED_STORAGE, true},
    {"torch.storage", "UntypedStorage", TG_UNTYPED_STORAGE, true},
    {"torch", "UntypedStorage", TG_UNTYPED_STORAGE, true},
    {"torch", "per_tensor_affine", TG_QSCHEME, true},
    {"torch", "per_tensor_symmetric", TG_QSCHEME, true},
    {"torch", "per_channel_affine", TG_QSCHEME, true},
    {"torch", "per_channel_symmetric", TG_QSCHEME, true},
    {"torch", "per_channel_affine_float_qparams", TG_QSCHEME, true},
    {"torch._utils", "_rebuild_parameter", TG_REBUILD_PARAMETER, true},
    {"torch._utils", "_rebuild_parameter_with_state", TG_REBUILD_PARAMETER_WITH_STATE, true},
    {"torch._utils", "_rebuild_qtensor", TG_REBUILD_QTENSOR, true},
    {"torch._utils", "_rebuild_tensor", TG_REBUILD_TENSOR, true},
    {"torch._utils", "_rebuild_tensor_v2", TG_REBUILD_TENSOR_V2, true},
    {"torch._utils", "_rebuild_tensor_v3", TG_REBUILD_TENSOR_V3, true},
    {"torch._utils", "_rebuild_sparse_tensor", TG_REBUILD_SPARSE_TENSOR, true},
    {"torch._utils", "_rebuild_sparse_csr_tensor", TG_REBUILD_SPARSE_CSR_TENSOR, false},
    {"torch._utils", "_rebuild_meta_tensor_no_storage", TG_REBUILD_META_TENSOR_NO_STORAGE, true},
    {"torch._utils", "_rebuild_nested_tensor", TG_REBUILD_NESTED_TENSOR, true},
    {"torch._utils", "_rebuild_wrapper_subclass", TG_REBUILD_WRAPPER_SUBCLASS, true},
    {"torch._utils", "_rebuild_device_tensor_from_numpy", TG_REBUILD_DEVICE_TENSOR_FROM_NUMPY,
     true},
    {"torch._utils", "_rebuild_xla_tensor", TG_REBUILD_DEVICE_TENSOR_FROM_NUMPY, false},
    {"torch._utils", "_rebuild_device_tensor_from_cpu_tensor",
     TG_REBUILD_DEVICE_TENSOR_FROM_CPU_TENSOR, true},
    {"torch._tensor", "_rebuild_from_type_v2", TG_REBUILD_FROM_TYPE_V2, true},
};

static const char *const tensor_class_prefixes[] = {
    "Double", "Float", "Half", "BFloat16", "Long", "Int", "Short", "Char", "Byte", "Bool",
};

const char *ckpt__py3_module(const char *module)
{
    if (strcmp(module, "__builtin__") == 0)
        return "builtins";
    if (strcmp(module, "copy_reg") == 0)
        return "copyreg";
    if (strcmp(module, "torch.tensor") == 0)
        return "torch._tensor";
    return module;
}

static bool is_blocked(const char *module)
{
    static const char *const blocked[] = {"sys", "os", "posix", "nt"};
    for (size_t i = 0; i < sizeof(blocked) / sizeof(blocked[0]); i++)
        if (strcmp(module, blocked[i]) == 0)
            return true;
    return false;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcmp(s + a - b, suffix) == 0;
}

int ckpt__torch_global_id(const char *module, const char *name, bool *allowed, bool *blocked)
{
    *allowed = false;
    *blocked = is_blocked(module);
    if (*blocked)
        return TG_UNKNOWN;
    for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
        if (strcmp(table[i].module, module) == 0 && strcmp(table[i].name, name) == 0) {
            *allowed = table[i].allowed;
            return table[i].id;
        }
    }
    bool torch_mod = strcmp(module, "torch") == 0;
    bool cuda_mod = strcmp(module, "torch.cuda") == 0;
    if (torch_mod && ckpt_dtype_from_name(name) >= 0 && strcmp(name, "float") != 0 &&
        strcmp(name, "double") != 0 && strcmp(name, "int") != 0 && strcmp(name, "long") != 0 &&
        strcmp(name, "short") != 0 && strcmp(name, "half") != 0) {
        *allowed = true;
        return TG_DTYPE;
    }
    if ((torch_mod || cuda_mod) && ends_with(name, "Storage")) {
        if (ckpt__dtype_from_storage_name(name) >= 0) {
            *allowed = true;
            return TG_STORAGE_CLASS;
        }
        return TG_UNKNOWN;
    }
    if ((torch_mod || cuda_mod) && ends_with(name, "Tensor")) {
        for (size_t i = 0; i < sizeof(tensor_class_prefixes) / sizeof(tensor_class_prefixes[0]);
             i++) {
            size_t pl = strlen(tensor_class_prefixes[i]);
            if (strncmp(name, tensor_class_prefixes[i], pl) == 0 &&
                strcmp(name + pl, "Tensor") == 0) {
                *allowed = true;
                return TG_TENSOR_CLASS;
            }
        }
    }
    return TG_UNKNOWN;
}

const char *ckpt__wo_reduce_refusal(int id, size_t nargs)
{
    switch (id) {
    case TG_UNKNOWN: return "call of a global outside the weights-only allowlist";
    case TG_TENSOR_CLASS:
    case TG_STORAGE_CLASS:
    case TG_TYPED_STORAGE:
    case TG_UNTYPED_STORAGE:
    case TG_QSCHEME:
    case TG_PARAMETER:
    case TG_TENSOR:
    case TG_DTYPE:
        return "weights-only mode only instantiates this class through NEWOBJ, never REDUCE";
    case TG_BYTES:
        return nargs ? "bytes() with arguments is not allowed in weights-only mode" : NULL;
    default: return NULL;
    }
}

const char *ckpt__wo_newobj_refusal(int id, int op, size_t nargs, bool has_kwargs)
{
    if (id == TG_PARAMETER && op == CKPT_OP_NEWOBJ && !has_kwargs && nargs >= 1 && nargs <= 2)
        return NULL;
    return "weights-only mode only creates nn.Parameter with NEWOBJ";
}

const char *ckpt__wo_build_dict_refusal(int dict_kind)
{
    if (dict_kind == CKPT_DICT_ORDERED)
        return NULL;
    return "BUILD on a dict that is not an OrderedDict (weights-only refuses it)";
}

uint64_t ckpt__pickle_node_budget(uint64_t pickle_bytes, uint64_t stored_bytes)
{
    const uint64_t floor = 65536, ceiling = 64ull << 20;
    uint64_t a = pickle_bytes < ceiling ? pickle_bytes * 4 : ceiling;
    uint64_t b = stored_bytes < ceiling ? stored_bytes * 64 : ceiling;
    uint64_t m = a < b ? a : b;
    m += floor;
    return m < ceiling ? m : ceiling;
}
