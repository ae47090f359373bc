/*
 * ckpt/core.h - the object model: documents, values, dtypes, storages, tensors.
 *
 * A ckpt_doc owns every node (ckpt_obj) and every storage reachable from its
 * root; one ckpt_doc_free() releases them all.  Nodes may be shared (the
 * pickle memo makes DAGs, as Python's object identity does), so a node is
 * never freed alone.  Getters (`ckpt_obj_*`, `ckpt_dict_*`, `ckpt_tensor_*`)
 * return pointers borrowed from the document, valid until it is freed.
 *
 * Documents come from two places:
 *   - ckpt_load() (ckpt/torch.h): treat them as read-only; several threads
 *     may read one document at once (lazy storages excepted, see torch.h);
 *   - ckpt_doc_new() + the ckpt_new_* builders below: a mutable document a C
 *     program fills and then passes to ckpt_save().
 *
 * Values are what torch.load(weights_only=True) can return: None, bool, int
 * (64-bit), float, complex, str, bytes, bytearray, tuple, list, set, dict
 * (plain, OrderedDict, Counter; any hashable key), tensor, torch.Size,
 * dtype, device.  Two more kinds exist for files outside weights-only mode:
 * a global reference and an opaque object (class path, args, state), which
 * are recorded as data and never executed.
 */
#ifndef CKPT_CORE_H
#define CKPT_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/alloc.h"
#include "ckpt/error.h"
#include "ckpt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---------------------------------------------------------------- dtypes */

/* Element types.  Values equal c10::ScalarType, so they never change. */
typedef enum ckpt_dtype {
    CKPT_DTYPE_UNKNOWN = -1, /* "no dtype" as ckpt_obj_dtype and ckpt_dtype_from_name return it */
    CKPT_U8 = 0,
    CKPT_I8 = 1,
    CKPT_I16 = 2,
    CKPT_I32 = 3,
    CKPT_I64 = 4,
    CKPT_F16 = 5,
    CKPT_F32 = 6,
    CKPT_F64 = 7,
    CKPT_C32 = 8, /* complex32 (chalf) */
    CKPT_C64 = 9,
    CKPT_C128 = 10,
    CKPT_BOOL = 11,
    CKPT_QI8 = 12,
    CKPT_QU8 = 13,
    CKPT_QI32 = 14,
    CKPT_BF16 = 15,
    CKPT_QU4X2 = 16,
    CKPT_QU2X4 = 17,
    CKPT_BITS1X8 = 18,
    CKPT_BITS2X4 = 19,
    CKPT_BITS4X2 = 20,
    CKPT_BITS8 = 21,
    CKPT_BITS16 = 22,
    CKPT_F8E5M2 = 23,
    CKPT_F8E4M3FN = 24,
    CKPT_F8E5M2FNUZ = 25,
    CKPT_F8E4M3FNUZ = 26,
    CKPT_U16 = 27,
    CKPT_U32 = 28,
    CKPT_U64 = 29,
    /* 30..43: uint1..7, int1..7 (dtype values only; torch cannot save them) */
    CKPT_F8E8M0FNU = 44,
    CKPT_F4E2M1FNX2 = 45,
    CKPT_DTYPE_COUNT = 46
} ckpt_dtype;

/* Bytes per element (0 for dtypes without storage, e.g. uint3). */
CKPT_API size_t ckpt_dtype_size(int dtype);
/* Name as torch spells it after "torch.": "float32", "bfloat16"; NULL if unknown. */
CKPT_API const char *ckpt_dtype_name(int dtype);
/* Inverse of ckpt_dtype_name ("float32" -> CKPT_F32); also accepts torch's
 * aliases ("float", "half", "long", ...). Returns -1 if unknown. */
CKPT_API int ckpt_dtype_from_name(const char *name);
/* True for floating-point dtypes (float16/32/64, bfloat16, float8 kinds). */
CKPT_API bool ckpt_dtype_is_floating(int dtype);

/* ----------------------------------------------------------------- nodes */

typedef enum ckpt_type {
    CKPT_T_NONE = 0,
    CKPT_T_BOOL,
    CKPT_T_INT,
    CKPT_T_FLOAT,
    CKPT_T_COMPLEX,
    CKPT_T_STR,
    CKPT_T_BYTES,
    CKPT_T_BYTEARRAY,
    CKPT_T_TUPLE,
    CKPT_T_LIST,
    CKPT_T_SET,
    CKPT_T_DICT,
    CKPT_T_TENSOR,
    CKPT_T_SIZE,    /* torch.Size */
    CKPT_T_DTYPE,   /* torch.float32, ... */
    CKPT_T_DEVICE,  /* torch.device */
    CKPT_T_GLOBAL,  /* a reference to module.name, never resolved to code */
    CKPT_T_OBJECT,  /* opaque instance: class, args, state (data-only loads) */
    CKPT_T_STORAGE, /* a bare torch storage (torch.save(t.untyped_storage())) */
    CKPT_T_COUNT
} ckpt_type;

/* Dict flavours; they differ only in how they are pickled. */
typedef enum ckpt_dict_kind {
    CKPT_DICT_PLAIN = 0,   /* dict */
    CKPT_DICT_ORDERED = 1, /* collections.OrderedDict (state_dict()) */
    CKPT_DICT_COUNTER = 2  /* collections.Counter */
} ckpt_dict_kind;

typedef struct ckpt_doc ckpt_doc;
typedef struct ckpt_obj ckpt_obj;
typedef struct ckpt_storage ckpt_storage;

/* Name of a node type ("dict", "tensor", ...). */
CKPT_API const char *ckpt_type_name(int type);

/* --------------------------------------------------------------- documents */

/* New empty mutable document.  `alloc` NULL = libc. Free with ckpt_doc_free. */
CKPT_API ckpt_doc *ckpt_doc_new(const ckpt_alloc *alloc, ckpt_error *err);
/* Free a document and everything it owns (mappings included). NULL is fine. */
CKPT_API void ckpt_doc_free(ckpt_doc *doc);
/* Root object (NULL for an empty new document). Borrowed. */
CKPT_API const ckpt_obj *ckpt_doc_root(const ckpt_doc *doc);
CKPT_API ckpt_obj *ckpt_doc_root_mut(ckpt_doc *doc);
/* Set the root of a document built by hand; `obj` must belong to `doc`. */
CKPT_API void ckpt_doc_set_root(ckpt_doc *doc, ckpt_obj *obj);
/* Format-level metadata that is not part of the object tree, or NULL: a dict
 * whose layout each format documents in ckpt/formats.h (safetensors'
 * "__metadata__" string map, GGUF's key/value pairs, a sharded checkpoint's
 * index "metadata").  Converters carry it where the target format has a place
 * for it.  `obj` must belong to `doc` (NULL clears it). */
CKPT_API const ckpt_obj *ckpt_doc_metadata(const ckpt_doc *doc);
CKPT_API void ckpt_doc_set_metadata(ckpt_doc *doc, ckpt_obj *obj);
/* Number of storages owned by the document, and the i-th. */
CKPT_API size_t ckpt_doc_storage_count(const ckpt_doc *doc);
CKPT_API const ckpt_storage *ckpt_doc_storage(const ckpt_doc *doc, size_t i);
/* Bytes the document holds from its allocator right now (nodes + owned data). */
CKPT_API uint64_t ckpt_doc_bytes(const ckpt_doc *doc);

/* ------------------------------------------------------------------ getters */

CKPT_API int ckpt_obj_type(const ckpt_obj *o);
CKPT_API bool ckpt_obj_bool(const ckpt_obj *o);
CKPT_API int64_t ckpt_obj_int(const ckpt_obj *o);  /* INT and BOOL */
CKPT_API double ckpt_obj_float(const ckpt_obj *o); /* FLOAT, INT, BOOL */
CKPT_API void ckpt_obj_complex(const ckpt_obj *o, double *re, double *im);
/* STR (UTF-8), BYTES, BYTEARRAY: bytes and length (NUL-terminated as well). */
CKPT_API const char *ckpt_obj_str(const ckpt_obj *o, size_t *len);
/* Number of items: TUPLE, LIST, SET, DICT, SIZE; bytes for STR/BYTES. */
CKPT_API size_t ckpt_obj_len(const ckpt_obj *o);
/* i-th item of TUPLE, LIST or SET; NULL when out of range. */
CKPT_API const ckpt_obj *ckpt_obj_item(const ckpt_obj *o, size_t i);
CKPT_API int ckpt_dict_kind_of(const ckpt_obj *dict);
CKPT_API const ckpt_obj *ckpt_dict_key(const ckpt_obj *dict, size_t i);
CKPT_API const ckpt_obj *ckpt_dict_value(const ckpt_obj *dict, size_t i);
/* Value under a str key; NULL if absent. O(1) on average. */
CKPT_API const ckpt_obj *ckpt_dict_get(const ckpt_obj *dict, const char *key);
/* Value under any hashable key node (Python equality: 1 == 1.0 == True). */
CKPT_API const ckpt_obj *ckpt_dict_find(const ckpt_obj *dict, const ckpt_obj *key);
/* Attributes applied by BUILD (OrderedDict `__dict__`, e.g. {"_metadata": ...}); NULL if none. */
CKPT_API const ckpt_obj *ckpt_dict_attrs(const ckpt_obj *dict);
/*
 * Walk nested containers: each argument is a dict key (str) or, for a list
 * or tuple, a decimal index.  The list ends with NULL.  NULL if any step is
 * missing.  Example: ckpt_obj_get(root, "model", "fc1.weight", NULL).
 */
CKPT_API const ckpt_obj *ckpt_obj_get(const ckpt_obj *o, ...);
/* torch.Size dims. */
CKPT_API const int64_t *ckpt_size_dims(const ckpt_obj *o, size_t *n);
/* DTYPE node value (a ckpt_dtype), -1 for others. */
CKPT_API int ckpt_obj_dtype(const ckpt_obj *o);
/* DEVICE: type string ("cpu", "cuda") and index (-1 when none). */
CKPT_API const char *ckpt_device_type(const ckpt_obj *o);
CKPT_API int64_t ckpt_device_index(const ckpt_obj *o);
/* GLOBAL and OBJECT: module and qualified name of the (class) global. */
CKPT_API const char *ckpt_global_module(const ckpt_obj *o);
CKPT_API const char *ckpt_global_name(const ckpt_obj *o);
/* OBJECT parts: constructor args (tuple or NULL), state (BUILD argument or NULL),
 * and how it was created ("reduce", "newobj", "newobj_ex", "obj", "inst"). */
CKPT_API const ckpt_obj *ckpt_object_args(const ckpt_obj *o);
CKPT_API const ckpt_obj *ckpt_object_state(const ckpt_obj *o);
CKPT_API const ckpt_obj *ckpt_object_items(const ckpt_obj *o); /* list/dict items appended */
CKPT_API const char *ckpt_object_how(const ckpt_obj *o);

/* STORAGE node: the storage it names. */
CKPT_API const ckpt_storage *ckpt_obj_storage(const ckpt_obj *o);

/* ----------------------------------------------------------------- tensors */

/* How a storage holds its bytes. */
typedef enum ckpt_hold {
    CKPT_HOLD_NONE = 0, /* no bytes (meta device, or a lazy storage not read yet) */
    CKPT_HOLD_OWNED,    /* allocated by the document */
    CKPT_HOLD_MAPPED,   /* a slice of a memory-mapped file */
    CKPT_HOLD_BORROWED, /* caller memory that must outlive the document */
    CKPT_HOLD_LAZY      /* read on first ckpt_tensor_data_load() */
} ckpt_hold;

typedef struct ckpt_storage_info {
    int dtype;            /* element type of the storage (typed storages) */
    bool untyped;         /* torch.UntypedStorage (v3 tensors): nbytes counts bytes */
    uint64_t nbytes;      /* size in bytes */
    const void *data;     /* NULL while not held */
    int hold;             /* a ckpt_hold */
    const char *location; /* device tag after map_location: "cpu", "meta", ... */
    const char *key;      /* record key it was read from ("0", "1", ...), or NULL */
} ckpt_storage_info;

CKPT_API int ckpt_storage_get_info(const ckpt_storage *s, ckpt_storage_info *out);

typedef struct ckpt_tensor_info {
    int dtype;
    int ndim;
    const int64_t *shape;   /* ndim entries */
    const int64_t *stride;  /* ndim entries, in elements */
    int64_t storage_offset; /* in elements */
    int64_t numel;
    uint64_t nbytes; /* numel * element size */
    bool requires_grad;
    bool is_parameter;           /* nn.Parameter */
    bool contiguous;             /* C-contiguous (row-major) */
    bool quantized;              /* _rebuild_qtensor */
    const ckpt_storage *storage; /* NULL for meta tensors */
    const char *device;          /* storage location, e.g. "cpu" */
} ckpt_tensor_info;

/* Describe a TENSOR node. Returns 0, or CKPT_E_ARG if `t` is not a tensor. */
CKPT_API int ckpt_tensor_get_info(const ckpt_obj *t, ckpt_tensor_info *out);
/* Pointer to element [0,...,0] (storage data + offset), or NULL when the
 * storage holds no bytes (lazy and not loaded, or meta). Borrowed. */
CKPT_API const void *ckpt_tensor_data(const ckpt_obj *t);
/* Copy the tensor, as a C-contiguous array of its own dtype, into `dst`
 * (`dst_size` >= nbytes).  Works for any strides.  Returns 0 or < 0. */
CKPT_API int ckpt_tensor_copy_into(const ckpt_obj *t, void *dst, size_t dst_size,
                                   ckpt_error *err);

/*
 * Convert `n` elements from `src` (dtype `src_dtype`) into `dst` (dtype `dst_dtype`),
 * bit for bit as torch's CPU `.to(dtype)` does: round to nearest even, overflow to
 * infinity, subnormals kept, NaN stays NaN.  Supported dtypes: float16, bfloat16,
 * float32, float64 (same dtype: a copy).  Buffers hold packed little-endian elements
 * and need no alignment; they may not overlap unless the dtypes are equal.
 * Returns 0, CKPT_E_ARG (NULL buffer) or CKPT_E_UNSUPPORTED (another dtype).
 */
CKPT_API int ckpt_convert_elements(void *dst, int dst_dtype, const void *src, int src_dtype,
                                   size_t n);

/* ---------------------------------------------------------------- builders */
/*
 * Builders allocate a node in `doc` and return it.  The node belongs to the
 * document.  Strings are copied.  The ckpt_new_* calls below take no error
 * record because their only failures are these (none depends on data):
 *  - allocation fails (or the document's allocation limit is reached);
 *  - `doc` is NULL;
 *  - a pointer argument is NULL where a length says it holds bytes (`s`, `p`,
 *    `dims` with n > 0; `s`, `type`, `module`, `name` always), a non-NULL
 *    `items` array holds a NULL, an unknown `dtype` or dict `kind`.
 * The calls that insert into containers can also fail on the data (an
 * unhashable key, a frozen tuple, an index out of range): they take
 * `ckpt_error *err` (NULL allowed), return 0 or a negative ckpt_status and
 * record why.
 */
CKPT_API ckpt_obj *ckpt_none_new(ckpt_doc *doc);
CKPT_API ckpt_obj *ckpt_bool_new(ckpt_doc *doc, bool v);
CKPT_API ckpt_obj *ckpt_int_new(ckpt_doc *doc, int64_t v);
CKPT_API ckpt_obj *ckpt_float_new(ckpt_doc *doc, double v);
CKPT_API ckpt_obj *ckpt_complex_new(ckpt_doc *doc, double re, double im);
CKPT_API ckpt_obj *ckpt_str_new(ckpt_doc *doc, const char *s);
CKPT_API ckpt_obj *ckpt_strn_new(ckpt_doc *doc, const char *s, size_t n);
CKPT_API ckpt_obj *ckpt_bytes_new(ckpt_doc *doc, const void *p, size_t n);
CKPT_API ckpt_obj *ckpt_bytearray_new(ckpt_doc *doc, const void *p, size_t n);
/* Tuple of `n` items (items may be NULL only if `items` is NULL: then fill
 * with ckpt_tuple_set before use).  ckpt_tuple_set: CKPT_E_ARG for a
 * non-tuple, a NULL item, `i` out of range or a tuple already in use. */
CKPT_API ckpt_obj *ckpt_tuple_new(ckpt_doc *doc, size_t n, ckpt_obj *const *items);
CKPT_API int ckpt_tuple_set(ckpt_obj *tuple, size_t i, ckpt_obj *item, ckpt_error *err);
CKPT_API ckpt_obj *ckpt_list_new(ckpt_doc *doc);
/* CKPT_E_ARG (not a list, NULL item), CKPT_E_NOMEM. */
CKPT_API int ckpt_list_append(ckpt_doc *doc, ckpt_obj *list, ckpt_obj *item, ckpt_error *err);
CKPT_API ckpt_obj *ckpt_set_new(ckpt_doc *doc);
/* Adds `item` unless an equal one is there.  CKPT_E_ARG (not a set, NULL or
 * unhashable item), CKPT_E_NOMEM. */
CKPT_API int ckpt_set_add(ckpt_doc *doc, ckpt_obj *set, ckpt_obj *item, ckpt_error *err);
CKPT_API ckpt_obj *ckpt_dict_new(ckpt_doc *doc, int kind);
/* Insert or replace (keeps the first insertion position, as Python does).
 * The key must be hashable: None, bool, int, float, complex, str, bytes,
 * dtype, device, tuple of hashables.  CKPT_E_ARG (not a dict, NULL
 * key/value, unhashable key), CKPT_E_NOMEM, CKPT_E_LIMIT (2^32 - 2 keys). */
CKPT_API int ckpt_dict_set(ckpt_doc *doc, ckpt_obj *dict, ckpt_obj *key, ckpt_obj *value,
                           ckpt_error *err);
CKPT_API int ckpt_dict_set_str(ckpt_doc *doc, ckpt_obj *dict, const char *key, ckpt_obj *value,
                               ckpt_error *err);
/* Attach BUILD attributes (a plain dict, e.g. {"_metadata": OrderedDict}).
 * CKPT_E_ARG when `dict` is not a dict or `attrs` is neither NULL nor a dict. */
CKPT_API int ckpt_dict_set_attrs(ckpt_obj *dict, ckpt_obj *attrs, ckpt_error *err);
CKPT_API ckpt_obj *ckpt_size_new(ckpt_doc *doc, size_t n, const int64_t *dims);
CKPT_API ckpt_obj *ckpt_dtype_new(ckpt_doc *doc, int dtype);
/* torch.device(type[, index]); index < 0 means none. */
CKPT_API ckpt_obj *ckpt_device_new(ckpt_doc *doc, const char *type, int64_t index);
CKPT_API ckpt_obj *ckpt_global_new(ckpt_doc *doc, const char *module, const char *name);

/* A zero-filled storage owned by the document. `nbytes` must be a multiple
 * of the element size. Write through ckpt_storage_data_mut(). */
CKPT_API ckpt_storage *ckpt_storage_new(ckpt_doc *doc, int dtype, uint64_t nbytes,
                                        ckpt_error *err);
/* A storage over caller memory, which must outlive the document and every
 * save of it. Not copied. */
CKPT_API ckpt_storage *ckpt_storage_new_borrow(ckpt_doc *doc, int dtype, void *data,
                                               uint64_t nbytes, ckpt_error *err);
CKPT_API void *ckpt_storage_data_mut(ckpt_storage *s);

/*
 * A tensor view of `storage`: `dtype` must equal the storage dtype (or the
 * storage must be untyped); `stride` NULL means C-contiguous.  The view is
 * bounds-checked against the storage (CKPT_E_SHAPE).  0-dim: ndim 0.
 */
CKPT_API ckpt_obj *ckpt_tensor_new(ckpt_doc *doc, ckpt_storage *storage, int dtype, int ndim,
                                   const int64_t *shape, const int64_t *stride,
                                   int64_t storage_offset, ckpt_error *err);
/* Convenience: a new contiguous tensor with its own storage, bytes copied
 * from `data` (NULL = zeros). */
CKPT_API ckpt_obj *ckpt_tensor_new_copy(ckpt_doc *doc, int dtype, int ndim, const int64_t *shape,
                                        const void *data, ckpt_error *err);
/* Both: CKPT_E_ARG when `t` is not a tensor. */
CKPT_API int ckpt_tensor_set_requires_grad(ckpt_obj *t, bool on, ckpt_error *err);
/* Mark as nn.Parameter (saved through torch._utils._rebuild_parameter).
 * `requires_grad` is the parameter's flag (True for most parameters). */
CKPT_API int ckpt_tensor_set_parameter(ckpt_obj *t, bool is_param, bool requires_grad,
                                       ckpt_error *err);

/*
 * copy.deepcopy of `v` (from any document, `doc` included) into `doc`.  As
 * deepcopy's memo does, each node and each storage is copied once: what the
 * source reaches twice (tied weights, views of one storage, a value the pickle
 * memo shared, a list holding itself) is reached twice in the copy, tensors
 * keep shape, strides, offset, requires_grad and nn.Parameter, and the copy
 * saves to the same bytes as the source.  A meta tensor stays without bytes.
 * Errors (key path in err->key): CKPT_E_UNSUPPORTED for a lazy tensor not read
 * yet, CKPT_E_LIMIT beyond 1000 nested containers, CKPT_E_NOMEM.
 */
CKPT_API ckpt_obj *ckpt_obj_copy(ckpt_doc *doc, const ckpt_obj *v, ckpt_error *err);

/* ------------------------------------------------------------------ walking */

/*
 * Call `fn` for every tensor reachable from `root`, in pre-order (dict
 * insertion order, list/tuple/set order), with its key path: the keys of
 * the containers on the way joined with '.'.  A str key is used as is, an
 * int key or list/tuple index in decimal, True/False/None as Python spells
 * them, a float as Python's repr, a tuple key as Python's repr ("(1, 'a')").
 * An OBJECT node is entered through its state (BUILD argument); its dict
 * keys are attribute names.  A tensor reached by two paths is reported twice.
 * `fn` returns 0 to go on, > 0 to stop early (returned as is), < 0 to fail
 * (returned as is; `err` then names the key, and says so if `fn` did not).
 * Cycles and nesting deeper than 1000 fail with CKPT_E_LIMIT.
 */
/*
 * Python's repr of a value into `buf` (truncated to `n` bytes): 1.0, 'a', (1, 'x'),
 * torch.float32, ... With `bare_str` a str is written without quotes - the
 * spelling of one key-path component.  Returns `buf`.
 */
CKPT_API const char *ckpt_obj_repr(const ckpt_obj *o, bool bare_str, char *buf, size_t n);

typedef int (*ckpt_tensor_visit_fn)(void *payload, const char *key, const ckpt_obj *tensor);
CKPT_API int ckpt_obj_walk_tensors(const ckpt_obj *root, ckpt_tensor_visit_fn fn, void *payload,
                                   ckpt_error *err);

/* --------------------------------------------------------------- version */
CKPT_API const char *ckpt_version(void);

#ifdef __cplusplus
}
#endif
#endif
