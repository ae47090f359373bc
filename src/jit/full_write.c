/*
 * src/jit/full_write.c - a C model (ckpt_module) written as a full-model
 * pickle: what torch.save(model) writes for a tree of torch.nn classes.
 *
 * Each module becomes NEWOBJ(torch.nn.modules.<file>.<Class>) with BUILD
 * state = the __dict__ torch 1.13 gives that class after __init__: training,
 * _parameters, _buffers, _non_persistent_buffers_set, the hook dicts,
 * _modules, then the class's hyper-attributes in torch's order and types
 * (tuples where torch's __init__ makes tuples, None where it keeps None).
 * Parameters go through torch._utils._rebuild_parameter; tensors borrow the
 * module's memory while the file is written.  The file is the zip layout
 * torch.save writes, written atomically by ckpt_save.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/nn.h"
#include "ckpt/torch.h"
#include "core/err.h"
#include "core/obj.h"
#include "jit/jit_internal.h"

/* Attribute kinds of the class tables. */
enum {
    FA_INT = 1,   /* int (required) */
    FA_FLOAT,     /* float (required) */
    FA_BOOL,      /* bool (absent: False) */
    FA_STR,       /* str (required) */
    FA_TUPLE,     /* tuple of ints (an int attribute: a 1-tuple) */
    FA_ANY,       /* int or tuple of ints as recorded; absent: None */
    FA_OPT,       /* int or float as recorded; absent: None */
    FA_NONE,      /* always None */
    FA_CONV_PAD,  /* Conv padding: str ('same'/'valid') or tuple */
    FA_CONV_RPAD, /* Conv _reversed_padding_repeated_twice (computed) */
    FA_RNN_NAMES, /* RNNBase _flat_weights_names: the parameter names in order */
    FA_RNN_ALL,   /* RNNBase _all_weights: those names per layer and direction */
    FA_RNN_FLAT   /* RNNBase _flat_weights: the parameters themselves (same objects) */
};

typedef struct fw_attr {
    const char *name;
    int kind;
} fw_attr;

typedef struct fw_class {
    const char *type; /* ckpt_module type name */
    const char *file; /* torch.nn.modules.<file> */
    const char *cls;
    fw_attr attrs[12];
} fw_class;

#define CONV_ATTRS                                                                               \
    {                                                                                            \
        {"in_channels", FA_INT}, {"out_channels", FA_INT}, {"kernel_size", FA_TUPLE},            \
            {"stride", FA_TUPLE}, {"padding", FA_CONV_PAD}, {"dilation", FA_TUPLE},              \
            {"transposed", FA_BOOL}, {"output_padding", FA_TUPLE}, {"groups", FA_INT},           \
            {"padding_mode", FA_STR},                                                            \
        {                                                                                        \
            "_reversed_padding_repeated_twice", FA_CONV_RPAD                                     \
        }                                                                                        \
    }
#define BN_ATTRS                                                                                 \
    {                                                                                            \
        {"num_features", FA_INT}, {"eps", FA_FLOAT}, {"momentum", FA_OPT}, {"affine", FA_BOOL},  \
        {                                                                                        \
            "track_running_stats", FA_BOOL                                                       \
        }                                                                                        \
    }

#define RNN_ATTRS                                                                                \
    {                                                                                            \
        {"mode", FA_STR}, {"input_size", FA_INT}, {"hidden_size", FA_INT},                       \
            {"num_layers", FA_INT}, {"bias", FA_BOOL}, {"batch_first", FA_BOOL},                 \
            {"dropout", FA_FLOAT}, {"bidirectional", FA_BOOL}, {"proj_size", FA_INT},            \
            {"_flat_weights_names", FA_RNN_NAMES}, {"_all_weights", FA_RNN_ALL},                 \
        {                                                                                        \
            "_flat_weights", FA_RNN_FLAT                                                         \
        }                                                                                        \
    }

static const fw_class classes[] = {
    {"LSTM", "rnn", "LSTM", RNN_ATTRS},
    {"GRU", "rnn", "GRU", RNN_ATTRS},
    {"Sequential", "container", "Sequential", {{0}}},
    {"ModuleList", "container", "ModuleList", {{0}}},
    {"ModuleDict", "container", "ModuleDict", {{0}}},
    {"Linear", "linear", "Linear", {{"in_features", FA_INT}, {"out_features", FA_INT}}},
    {"NonDynamicallyQuantizableLinear",
     "linear",
     "NonDynamicallyQuantizableLinear",
     {{"in_features", FA_INT}, {"out_features", FA_INT}}},
    {"Identity", "linear", "Identity", {{0}}},
    {"Conv1d", "conv", "Conv1d", CONV_ATTRS},
    {"Conv2d", "conv", "Conv2d", CONV_ATTRS},
    {"ConvTranspose2d", "conv", "ConvTranspose2d", CONV_ATTRS},
    {"BatchNorm1d", "batchnorm", "BatchNorm1d", BN_ATTRS},
    {"BatchNorm2d", "batchnorm", "BatchNorm2d", BN_ATTRS},
    {"LayerNorm",
     "normalization",
     "LayerNorm",
     {{"normalized_shape", FA_TUPLE}, {"eps", FA_FLOAT}, {"elementwise_affine", FA_BOOL}}},
    {"GroupNorm",
     "normalization",
     "GroupNorm",
     {{"num_groups", FA_INT}, {"num_channels", FA_INT}, {"eps", FA_FLOAT}, {"affine", FA_BOOL}}},
    {"Embedding",
     "sparse",
     "Embedding",
     {{"num_embeddings", FA_INT},
      {"embedding_dim", FA_INT},
      {"padding_idx", FA_OPT},
      {"max_norm", FA_NONE},
      {"norm_type", FA_FLOAT},
      {"scale_grad_by_freq", FA_BOOL},
      {"sparse", FA_BOOL}}},
    {"Dropout", "dropout", "Dropout", {{"p", FA_FLOAT}, {"inplace", FA_BOOL}}},
    {"ReLU", "activation", "ReLU", {{"inplace", FA_BOOL}}},
    {"SiLU", "activation", "SiLU", {{"inplace", FA_BOOL}}},
    {"GELU", "activation", "GELU", {{"approximate", FA_STR}}},
    {"Tanh", "activation", "Tanh", {{0}}},
    {"Sigmoid", "activation", "Sigmoid", {{0}}},
    {"Softmax", "activation", "Softmax", {{"dim", FA_OPT}}},
    {"LogSoftmax", "activation", "LogSoftmax", {{"dim", FA_OPT}}},
    {"MaxPool2d",
     "pooling",
     "MaxPool2d",
     {{"kernel_size", FA_ANY},
      {"stride", FA_ANY},
      {"padding", FA_ANY},
      {"dilation", FA_ANY},
      {"return_indices", FA_BOOL},
      {"ceil_mode", FA_BOOL}}},
    {"AvgPool2d",
     "pooling",
     "AvgPool2d",
     {{"kernel_size", FA_ANY},
      {"stride", FA_ANY},
      {"padding", FA_ANY},
      {"ceil_mode", FA_BOOL},
      {"count_include_pad", FA_BOOL},
      {"divisor_override", FA_OPT}}},
    {"AdaptiveAvgPool2d", "pooling", "AdaptiveAvgPool2d", {{"output_size", FA_ANY}}},
    {"Flatten", "flatten", "Flatten", {{"start_dim", FA_INT}, {"end_dim", FA_INT}}},
};

typedef struct fw {
    ckpt_doc *doc;
    ckpt_error *err;
} fw;

static int nomem(fw *W)
{
    return CKPT_FAIL(W->err, CKPT_E_NOMEM, "out of memory");
}

static ckpt_obj *int_tuple(fw *W, size_t n, const int64_t *v)
{
    ckpt_obj *t = ckpt_tuple_new(W->doc, n, NULL);
    for (size_t i = 0; t && i < n; i++) {
        ckpt_obj *e = ckpt_int_new(W->doc, v[i]);
        if (!e || ckpt_tuple_set(t, i, e, W->err) < 0)
            return NULL;
    }
    return t;
}

static ckpt_obj *rnn_attr(fw *W, const ckpt_module *m, int kind, ckpt_obj *params);

static ckpt_obj *attr_value(fw *W, const ckpt_module *m, const fw_attr *a, const char *type,
                            ckpt_obj *params)
{
    int64_t i;
    double f;
    bool b;
    size_t n;
    const int64_t *v;
    const char *s;
    switch (a->kind) {
    case FA_INT:
        if (ckpt_module_attr_int(m, a->name, &i))
            return ckpt_int_new(W->doc, i);
        break;
    case FA_FLOAT:
        if (ckpt_module_attr_float(m, a->name, &f))
            return ckpt_float_new(W->doc, f);
        break;
    case FA_BOOL: return ckpt_bool_new(W->doc, ckpt_module_attr_bool(m, a->name, &b) && b);
    case FA_STR:
        if ((s = ckpt_module_attr_str(m, a->name)))
            return ckpt_str_new(W->doc, s);
        break;
    case FA_TUPLE:
        if (ckpt_module_attr_ints(m, a->name, &n, &v))
            return int_tuple(W, n, v);
        if (ckpt_module_attr_int(m, a->name, &i))
            return int_tuple(W, 1, &i);
        break;
    case FA_ANY:
        if (ckpt_module_attr_ints(m, a->name, &n, &v))
            return int_tuple(W, n, v);
        if (ckpt_module_attr_int(m, a->name, &i))
            return ckpt_int_new(W->doc, i);
        return ckpt_none_new(W->doc);
    case FA_OPT:
        if (ckpt_module_attr_int(m, a->name, &i))
            return ckpt_int_new(W->doc, i);
        if (ckpt_module_attr_float(m, a->name, &f))
            return ckpt_float_new(W->doc, f);
        return ckpt_none_new(W->doc);
    case FA_NONE: return ckpt_none_new(W->doc);
    case FA_CONV_PAD:
        if ((s = ckpt_module_attr_str(m, a->name)))
            return ckpt_str_new(W->doc, s);
        if (ckpt_module_attr_ints(m, a->name, &n, &v))
            return int_tuple(W, n, v);
        break;
    case FA_CONV_RPAD: {
        /* torch 1.13 Conv __init__: 'valid' -> zeros; 'same' -> per dim (from the
         * last) total = dilation * (kernel - 1), left = total // 2, right =
         * total - left; else the padding reversed, each entry twice */
        size_t nk, nd;
        const int64_t *k, *d;
        if (!ckpt_module_attr_ints(m, "kernel_size", &nk, &k) ||
            !ckpt_module_attr_ints(m, "dilation", &nd, &d) || nk != nd || nk > 3)
            break;
        int64_t r[6] = {0};
        const char *ps = ckpt_module_attr_str(m, "padding");
        if (ps && strcmp(ps, "same") == 0) {
            for (size_t j = 0; j < nk; j++) {
                size_t at = nk - 1 - j;
                int64_t total = d[j] * (k[j] - 1);
                r[2 * at] = total / 2;
                r[2 * at + 1] = total - total / 2;
            }
        } else if (!ps) {
            if (!ckpt_module_attr_ints(m, "padding", &n, &v) || n != nk)
                break;
            for (size_t j = 0; j < nk; j++) {
                r[2 * j] = v[nk - 1 - j];
                r[2 * j + 1] = v[nk - 1 - j];
            }
        }
        return int_tuple(W, 2 * nk, r);
    }
    case FA_RNN_NAMES:
    case FA_RNN_ALL:
    case FA_RNN_FLAT: return rnn_attr(W, m, a->kind, params);
    default: break;
    }
    CKPT_FAIL(W->err, CKPT_E_ARG, "%s: attribute %s is missing or of another type", type,
              a->name);
    return NULL;
}

/* RNNBase's weight lists, as torch 1.13's __init__ builds them: per layer and
 * direction, w_ih, w_hh[, b_ih, b_hh].  _flat_weights holds the very parameter
 * objects of _parameters (the pickle memo shares them). */
static ckpt_obj *rnn_attr(fw *W, const ckpt_module *m, int kind, ckpt_obj *params)
{
    int64_t layers = 0;
    bool bias = false, bidir = false;
    if (!ckpt_module_attr_int(m, "num_layers", &layers) || layers < 1 || layers > 100000) {
        CKPT_FAIL(W->err, CKPT_E_ARG, "RNN: num_layers missing");
        return NULL;
    }
    ckpt_module_attr_bool(m, "bias", &bias);
    ckpt_module_attr_bool(m, "bidirectional", &bidir);
    static const char *const parts[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    size_t per = bias ? 4u : 2u;
    ckpt_obj *out = ckpt_list_new(W->doc);
    for (int64_t l = 0; out && l < layers; l++) {
        for (int d = 0; d < (bidir ? 2 : 1); d++) {
            ckpt_obj *group = kind == FA_RNN_ALL ? ckpt_list_new(W->doc) : out;
            if (!group)
                return NULL;
            for (size_t k = 0; k < per; k++) {
                char nm[64];
                snprintf(nm, sizeof nm, "%s_l%lld%s", parts[k], (long long)l,
                         d ? "_reverse" : "");
                ckpt_obj *v;
                if (kind == FA_RNN_FLAT) {
                    v = (ckpt_obj *)(uintptr_t)ckpt_dict_get(params, nm);
                    if (!v) {
                        CKPT_FAIL(W->err, CKPT_E_ARG, "RNN: no parameter %s", nm);
                        return NULL;
                    }
                } else {
                    v = ckpt_str_new(W->doc, nm);
                }
                if (!v || ckpt_list_append(W->doc, group, v, W->err) < 0)
                    return NULL;
            }
            if (kind == FA_RNN_ALL && ckpt_list_append(W->doc, out, group, W->err) < 0)
                return NULL;
        }
    }
    return out;
}

static ckpt_obj *empty_od(fw *W)
{
    return ckpt_dict_new(W->doc, CKPT_DICT_ORDERED);
}

static ckpt_obj *slot_tensor(fw *W, const ckpt_slot *s, const char *type)
{
    if (!s->data)
        return ckpt_none_new(W->doc);
    ckpt_storage *st = ckpt_storage_new_borrow(W->doc, s->dtype, s->data, s->nbytes, W->err);
    if (!st)
        return NULL;
    ckpt_obj *t = ckpt_tensor_new(W->doc, st, s->dtype, s->ndim, s->shape, NULL, 0, W->err);
    if (!t)
        return NULL;
    if (s->is_param && ckpt_tensor_set_parameter(t, true, s->requires_grad, W->err) < 0)
        return NULL;
    (void)type;
    return t;
}

static ckpt_obj *write_module(fw *W, ckpt_module *m, int depth);

static int set(fw *W, ckpt_obj *d, const char *k, ckpt_obj *v)
{
    if (!v)
        return W->err && W->err->code ? W->err->code : nomem(W);
    return ckpt_dict_set_str(W->doc, d, k, v, W->err);
}

static ckpt_obj *write_module(fw *W, ckpt_module *m, int depth)
{
    const char *type = ckpt_module_type(m);
    if (depth > JIT_MAX_DEPTH) {
        CKPT_FAIL(W->err, CKPT_E_LIMIT, "modules nested deeper than %d", JIT_MAX_DEPTH);
        return NULL;
    }
    const fw_class *c = NULL;
    for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(classes[i].type, type) == 0)
            c = &classes[i];
    if (!c) {
        CKPT_FAIL(
            W->err, CKPT_E_UNSUPPORTED,
            "module '%s' of type %s has no torch.nn class ckpt writes (Sequential, "
            "ModuleList, ModuleDict, Linear, Identity, Conv1d, Conv2d, ConvTranspose2d, LSTM, GRU, "
            "BatchNorm1d/2d, LayerNorm, GroupNorm, Embedding, Dropout, ReLU, SiLU, GELU, "
            "Tanh, Sigmoid, Softmax, LogSoftmax, MaxPool2d, AvgPool2d, "
            "AdaptiveAvgPool2d, Flatten)",
            ckpt_module_name(m), type);
        return NULL;
    }
    char modname[96];
    snprintf(modname, sizeof modname, "torch.nn.modules.%s", c->file);
    ckpt_obj *o = ckpt__node(W->doc, CKPT_T_OBJECT);
    if (!o || !(o->u.obj = ckpt__arena_calloc(&W->doc->arena, sizeof(ckpt__object)))) {
        nomem(W);
        return NULL;
    }
    ckpt__object *ob = o->u.obj;
    ob->cls = ckpt_global_new(W->doc, modname, c->cls);
    ob->args = ckpt_tuple_new(W->doc, 0, NULL);
    ob->how = "newobj";
    ckpt_obj *st = ckpt_dict_new(W->doc, CKPT_DICT_PLAIN);
    ob->state = st;
    if (!ob->cls || !ob->args || !st) {
        nomem(W);
        return NULL;
    }
    ckpt_obj *params = empty_od(W), *bufs = empty_od(W), *nonp = ckpt_set_new(W->doc);
    ckpt_obj *mods = empty_od(W);
    int rc = (params && bufs && nonp && mods) ? 0 : nomem(W);
    for (size_t i = 0; rc == 0 && i < ckpt_module_slot_count(m); i++) {
        ckpt_slot *s = ckpt_module_slot_at(m, i);
        ckpt_obj *t = slot_tensor(W, s, type);
        if (!t) {
            rc = W->err->code ? W->err->code : nomem(W);
            break;
        }
        rc = ckpt_dict_set_str(W->doc, s->is_param ? params : bufs, s->name, t, W->err);
        if (rc == 0 && !s->is_param && !s->persistent) {
            ckpt_obj *k = ckpt_str_new(W->doc, s->name);
            rc = k ? ckpt_set_add(W->doc, nonp, k, W->err) : nomem(W);
        }
    }
    for (size_t i = 0; rc == 0 && i < ckpt_module_child_count(m); i++) {
        ckpt_module *ch = ckpt_module_child(m, i);
        ckpt_obj *co = write_module(W, ch, depth + 1);
        rc = co ? ckpt_dict_set_str(W->doc, mods, ckpt_module_name(ch), co, W->err)
                : (W->err->code ? W->err->code : nomem(W));
    }
    if (rc == 0)
        rc = set(W, st, "training", ckpt_bool_new(W->doc, ckpt_module_training(m)));
    if (rc == 0)
        rc = set(W, st, "_parameters", params);
    if (rc == 0)
        rc = set(W, st, "_buffers", bufs);
    if (rc == 0)
        rc = set(W, st, "_non_persistent_buffers_set", nonp);
    if (rc == 0)
        rc = set(W, st, "_backward_hooks", empty_od(W));
    if (rc == 0)
        rc = set(W, st, "_is_full_backward_hook", ckpt_none_new(W->doc));
    static const char *const hooks[] = {"_forward_hooks", "_forward_pre_hooks",
                                        "_state_dict_hooks", "_load_state_dict_pre_hooks",
                                        "_load_state_dict_post_hooks"};
    for (size_t i = 0; rc == 0 && i < sizeof hooks / sizeof hooks[0]; i++)
        rc = set(W, st, hooks[i], empty_od(W));
    if (rc == 0)
        rc = set(W, st, "_modules", mods);
    for (size_t i = 0; rc == 0 && i < sizeof c->attrs / sizeof c->attrs[0] && c->attrs[i].name;
         i++)
        rc = set(W, st, c->attrs[i].name, attr_value(W, m, &c->attrs[i], type, params));
    return rc == 0 ? o : NULL;
}

int ckpt_jit_save_full_model(const struct ckpt_module *m, const char *path, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!m || !path)
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL module or path");
    ckpt_doc *doc = ckpt_doc_new(NULL, err);
    if (!doc)
        return err->code ? err->code : CKPT_E_NOMEM;
    fw W = {.doc = doc, .err = err};
    /* the tree is only read; the walk API takes a mutable pointer */
    ckpt_obj *root = write_module(&W, (ckpt_module *)(uintptr_t)m, 0);
    int rc = root ? 0 : (err->code ? err->code : CKPT_E_NOMEM);
    if (rc == 0) {
        ckpt_doc_set_root(doc, root);
        rc = ckpt_save(path, root, NULL, err);
    }
    ckpt_doc_free(doc);
    if (rc < 0)
        ckpt__error_set_file(err, path);
    return rc;
}
