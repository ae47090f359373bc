/*
 * src/jit/full_model.c - torch.save(model) full-model pickles, read in
 * data-only mode into the jit module tree.
 *
 * ckpt_load with `unsafe_full` turns the pickle into inert nodes: each module
 * is an OBJECT (class module + name, NEWOBJ args, BUILD state = the module's
 * __dict__).  Nothing is executed: the class is only a name.  This file maps
 * that state onto jv objects: `_parameters` entries become JIT_A_PARAM,
 * `_buffers` JIT_A_BUFFER, `_modules` JIT_A_MODULE (in order), `training`
 * and the hyper-attributes (in_features, stride, eps, ...) JIT_A_ATTR.
 * torch 1.x pickles the containers as OrderedDict, 2.x as dict; both are
 * dict nodes here.  Tensors borrow the document's storage when contiguous.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/torch.h"
#include "core/err.h"
#include "jit/jit_internal.h"

/* ckpt_obj -> jv, so a module or tensor reached twice stays one value (torch
 * removes duplicates from named_parameters by identity). */
typedef struct fm_memo {
    const ckpt_obj **keys;
    jv **vals;
    size_t n, cap; /* cap: power of two */
} fm_memo;

typedef struct fm_reader {
    ckpt_jit_model *m;
    fm_memo memo;
    uint64_t nodes;                            /* values built (bounded) */
    const ckpt_obj *active[JIT_MAX_DEPTH + 8]; /* modules being built (a cycle is refused) */
    int n_active;
    ckpt_error *err;
} fm_reader;

#define FM_MAX_NODES 50000000u

static size_t ptr_hash(const void *p, size_t cap)
{
    uint64_t h = (uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull;
    return (size_t)(h >> 20) & (cap - 1);
}

static jv *memo_get(const fm_memo *mm, const ckpt_obj *o)
{
    if (!mm->cap)
        return NULL;
    for (size_t i = ptr_hash(o, mm->cap);; i = (i + 1) & (mm->cap - 1)) {
        if (!mm->keys[i])
            return NULL;
        if (mm->keys[i] == o)
            return mm->vals[i];
    }
}

/* Stores a borrowed pointer: the value is owned by the tree. */
static int memo_put(fm_memo *mm, const ckpt_obj *o, jv *v, ckpt_error *err)
{
    if ((mm->n + 1) * 2 > mm->cap) {
        size_t cap = mm->cap ? mm->cap * 2 : 64;
        const ckpt_obj **k = calloc(cap, sizeof *k);
        jv **vv = calloc(cap, sizeof *vv);
        if (!k || !vv) {
            free(k);
            free(vv);
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < mm->cap; i++) {
            if (!mm->keys[i])
                continue;
            size_t j = ptr_hash(mm->keys[i], cap);
            while (k[j])
                j = (j + 1) & (cap - 1);
            k[j] = mm->keys[i];
            vv[j] = mm->vals[i];
        }
        free(mm->keys);
        free(mm->vals);
        mm->keys = k;
        mm->vals = vv;
        mm->cap = cap;
    }
    size_t j = ptr_hash(o, mm->cap);
    while (mm->keys[j])
        j = (j + 1) & (mm->cap - 1);
    mm->keys[j] = o;
    mm->vals[j] = v;
    mm->n++;
    return 0;
}

static jv *nomem(fm_reader *R)
{
    CKPT_FAIL(R->err, CKPT_E_NOMEM, "out of memory");
    return NULL;
}

/* A tensor node as a JV_TENSOR: borrowing the document's bytes when contiguous. */
static jv *conv_tensor(fm_reader *R, const ckpt_obj *o, const char *where)
{
    jv *done = memo_get(&R->memo, o);
    if (done)
        return jv_ref(done);
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(o, &ti) < 0) {
        CKPT_FAIL(R->err, CKPT_E_FORMAT, "%s: not a tensor", where);
        return NULL;
    }
    if (ti.quantized) {
        CKPT_FAIL(R->err, CKPT_E_UNSUPPORTED,
                  "%s: quantized tensors in full-model pickles are not read", where);
        return NULL;
    }
    int dt = jit_st_to_ox(ti.dtype);
    if (dt == OX_UNDEFINED || ti.ndim > OX_MAX_RANK) {
        CKPT_FAIL(R->err, CKPT_E_UNSUPPORTED, "%s: a %s tensor of %d dims", where,
                  ckpt_dtype_name(ti.dtype) ? ckpt_dtype_name(ti.dtype) : "?", ti.ndim);
        return NULL;
    }
    const void *data = ckpt_tensor_data(o);
    if (!data && ti.numel > 0) {
        CKPT_FAIL(R->err, CKPT_E_UNSUPPORTED, "%s: tensor has no bytes (device %s)", where,
                  ti.device ? ti.device : "?");
        return NULL;
    }
    jv *t;
    if (ti.contiguous || ti.numel == 0) {
        t = jv_tensor_view(NULL, dt, ti.ndim, ti.shape, (void *)(uintptr_t)data);
        if (!t)
            return nomem(R);
    } else {
        t = jv_tensor_new();
        if (!t)
            return nomem(R);
        if (ox_val_reshape_alloc(&t->u.t->t, dt, ti.ndim, ti.shape, R->err) < 0 ||
            ckpt_tensor_copy_into(o, t->u.t->t.data, ox_val_nbytes(&t->u.t->t), R->err) < 0) {
            jv_unref(t);
            return NULL;
        }
    }
    t->u.t->requires_grad = ti.requires_grad;
    if (memo_put(&R->memo, o, t, R->err) < 0) {
        jv_unref(t);
        return NULL;
    }
    return t;
}

static jv *conv_module(fm_reader *R, const ckpt_obj *o, const char *where, int depth);
static jv *conv_module_body(fm_reader *R, const ckpt_obj *o, const char *where, int depth);

/* Any other attribute value (hyper-attributes: ints, floats, tuples, strs). */
static jv *conv_value(fm_reader *R, const ckpt_obj *o, const char *where, int depth)
{
    if (depth > JIT_MAX_DEPTH) {
        CKPT_FAIL(R->err, CKPT_E_LIMIT, "%s: nested deeper than %d", where, JIT_MAX_DEPTH);
        return NULL;
    }
    if (++R->nodes > FM_MAX_NODES) {
        CKPT_FAIL(R->err, CKPT_E_LIMIT, "%s: more than %u values", where, FM_MAX_NODES);
        return NULL;
    }
    jv *v = NULL;
    switch (ckpt_obj_type(o)) {
    case CKPT_T_NONE: return jv_none();
    case CKPT_T_BOOL: return jv_bool(ckpt_obj_bool(o));
    case CKPT_T_INT: v = jv_int(ckpt_obj_int(o)); break;
    case CKPT_T_FLOAT: v = jv_float(ckpt_obj_float(o)); break;
    case CKPT_T_STR:
    case CKPT_T_BYTES:
    case CKPT_T_BYTEARRAY: {
        size_t n;
        const char *s = ckpt_obj_str(o, &n);
        v = jv_str(s, n);
        break;
    }
    case CKPT_T_TENSOR: return conv_tensor(R, o, where);
    case CKPT_T_TUPLE:
    case CKPT_T_LIST:
    case CKPT_T_SET:
    case CKPT_T_SIZE: {
        bool tup = ckpt_obj_type(o) != CKPT_T_LIST;
        size_t n = ckpt_obj_len(o);
        v = tup ? jv_tuple_new(n) : jv_list_new(n);
        if (!v)
            return nomem(R);
        size_t nd = 0;
        const int64_t *dims = ckpt_obj_type(o) == CKPT_T_SIZE ? ckpt_size_dims(o, &nd) : NULL;
        for (size_t i = 0; i < n; i++) {
            jv *it = dims ? jv_int(dims[i])
                          : conv_value(R, ckpt_obj_item(o, i), where, depth + 1);
            if (!it && R->err->code) {
                jv_unref(v);
                return NULL;
            }
            if (jv_list_push(v, it, R->err) < 0) {
                jv_unref(v);
                return NULL;
            }
        }
        return v;
    }
    case CKPT_T_DICT: {
        v = jv_dict_new();
        if (!v)
            return nomem(R);
        for (size_t i = 0; i < ckpt_obj_len(o); i++) {
            jv *k = conv_value(R, ckpt_dict_key(o, i), where, depth + 1);
            jv *val = k ? conv_value(R, ckpt_dict_value(o, i), where, depth + 1) : NULL;
            if (!k || !val) {
                jv_unref(k);
                jv_unref(v);
                return NULL;
            }
            if (jv_dict_set(v, k, val, R->err) < 0) {
                jv_unref(v);
                return NULL;
            }
        }
        return v;
    }
    case CKPT_T_DTYPE: v = jv_int(ckpt_obj_dtype(o)); break;
    case CKPT_T_DEVICE: v = jv_device(ckpt_device_type(o), ckpt_device_index(o)); break;
    case CKPT_T_GLOBAL: {
        /* a function or class reference (TransformerEncoderLayer.activation): its name */
        char buf[512];
        snprintf(buf, sizeof buf, "%s.%s", ckpt_global_module(o), ckpt_global_name(o));
        v = jv_str0(buf);
        break;
    }
    case CKPT_T_OBJECT: return conv_module(R, o, where, depth + 1);
    default: {
        char buf[64];
        snprintf(buf, sizeof buf, "<%s>", ckpt_type_name(ckpt_obj_type(o)));
        v = jv_str0(buf);
        break;
    }
    }
    return v ? v : nomem(R);
}

/* Entries of a module's __dict__ that are torch's bookkeeping, not attributes. */
static bool is_internal(const char *k)
{
    static const char *const names[] = {"_non_persistent_buffers_set", "_is_full_backward_hook",
                                        "_version", "_compiled_call_impl", NULL};
    for (size_t i = 0; names[i]; i++)
        if (strcmp(k, names[i]) == 0)
            return true;
    return k[0] == '_' && strstr(k, "hooks") != NULL;
}

static int set_entries(fm_reader *R, jv *obj, const ckpt_obj *d, int akind, const char *qual,
                       const char *what, int depth)
{
    if (!d || ckpt_obj_type(d) == CKPT_T_NONE)
        return 0;
    if (ckpt_obj_type(d) != CKPT_T_DICT)
        return CKPT_FAIL(R->err, CKPT_E_FORMAT, "class %s: %s is a %s, not a dict", qual, what,
                         ckpt_type_name(ckpt_obj_type(d)));
    for (size_t i = 0; i < ckpt_obj_len(d); i++) {
        const ckpt_obj *k = ckpt_dict_key(d, i);
        if (ckpt_obj_type(k) != CKPT_T_STR)
            return CKPT_FAIL(R->err, CKPT_E_FORMAT, "class %s: a %s key of %s", qual,
                             ckpt_type_name(ckpt_obj_type(k)), what);
        const char *name = ckpt_obj_str(k, NULL);
        const ckpt_obj *val = ckpt_dict_value(d, i);
        char where[300];
        snprintf(where, sizeof where, "%.160s %.20s['%.90s']", qual, what, name);
        jv *v;
        int t = ckpt_obj_type(val);
        if (akind == JIT_A_MODULE) {
            if (t != CKPT_T_OBJECT && t != CKPT_T_NONE)
                return CKPT_FAIL(R->err, CKPT_E_FORMAT, "%s: a %s, not a module", where,
                                 ckpt_type_name(t));
            v = t == CKPT_T_NONE ? jv_none() : conv_module(R, val, where, depth + 1);
        } else if (t == CKPT_T_NONE) {
            v = jv_none();
        } else if (t == CKPT_T_TENSOR) {
            v = conv_tensor(R, val, where);
        } else {
            return CKPT_FAIL(R->err, CKPT_E_FORMAT, "%s: a %s, not a tensor", where,
                             ckpt_type_name(t));
        }
        if (!v)
            return R->err->code ? R->err->code : CKPT_E_NOMEM;
        CKPT_TRY(jv_obj_set(obj, name, akind, v, R->err));
    }
    return 0;
}

static int add_forward(jit_class *c, const char *const *args, size_t n, ckpt_error *err)
{
    c->methods = calloc(1, sizeof *c->methods);
    if (!c->methods)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    c->n_methods = 1;
    jit_method *mt = &c->methods[0];
    mt->name = strdup("forward");
    mt->arg_names = calloc(n, sizeof *mt->arg_names);
    mt->arg_types = calloc(n, sizeof *mt->arg_types);
    mt->ret_type = strdup("Tensor");
    if (!mt->name || !mt->arg_names || !mt->arg_types || !mt->ret_type)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        mt->arg_names[i] = strdup(args[i]);
        mt->arg_types[i] = strdup("Tensor");
        mt->n_args = i + 1;
        if (!mt->arg_names[i] || !mt->arg_types[i])
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    return 0;
}

/* Names kept for the class table: the instance's parameters and buffers. */
static int class_names(jit_class *c, const jv *obj, ckpt_error *err)
{
    if (c->n_params || c->n_buffers)
        return 0;
    size_t np = 0, nb = 0;
    for (size_t i = 0; i < obj->u.obj.n; i++) {
        np += obj->u.obj.akind[i] == JIT_A_PARAM;
        nb += obj->u.obj.akind[i] == JIT_A_BUFFER;
    }
    if (np && !(c->params = calloc(np, sizeof *c->params)))
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    if (nb && !(c->buffers = calloc(nb, sizeof *c->buffers)))
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < obj->u.obj.n; i++) {
        char **slot = obj->u.obj.akind[i] == JIT_A_PARAM    ? &c->params[c->n_params++]
                      : obj->u.obj.akind[i] == JIT_A_BUFFER ? &c->buffers[c->n_buffers++]
                                                            : NULL;
        if (slot && !(*slot = strdup(obj->u.obj.names[i])))
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    return 0;
}

static jv *conv_module(fm_reader *R, const ckpt_obj *o, const char *where, int depth)
{
    if (depth > JIT_MAX_DEPTH) {
        CKPT_FAIL(R->err, CKPT_E_LIMIT, "%s: modules nested deeper than %d", where,
                  JIT_MAX_DEPTH);
        return NULL;
    }
    for (int i = 0; i < R->n_active; i++)
        if (R->active[i] == o) {
            CKPT_FAIL(R->err, CKPT_E_FORMAT, "%s: the object contains itself (a reference cycle)",
                      where);
            return NULL;
        }
    jv *done = memo_get(&R->memo, o);
    if (done)
        return jv_ref(done);
    if (R->n_active >= (int)(sizeof R->active / sizeof R->active[0])) {
        CKPT_FAIL(R->err, CKPT_E_LIMIT, "%s: objects nested deeper than %d", where,
                  JIT_MAX_DEPTH);
        return NULL;
    }
    R->active[R->n_active++] = o;
    jv *res = conv_module_body(R, o, where, depth);
    R->n_active--;
    return res;
}

/* The module's _non_persistent_buffers_set, recorded on its class (the
 * instances of one class register the same buffers). */
static int nonpersistent(jit_class *c, const ckpt_obj *set, ckpt_error *err)
{
    if (!set || (ckpt_obj_type(set) != CKPT_T_SET && ckpt_obj_type(set) != CKPT_T_LIST))
        return 0;
    for (size_t i = 0; i < ckpt_obj_len(set); i++) {
        const ckpt_obj *k = ckpt_obj_item(set, i);
        if (ckpt_obj_type(k) != CKPT_T_STR)
            continue;
        const char *name = ckpt_obj_str(k, NULL);
        if (jit_class_nonpersistent(c, name))
            continue;
        char **p = realloc(c->nonpersistent, (c->n_nonpersistent + 1) * sizeof *p);
        if (!p)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        c->nonpersistent = p;
        if (!(p[c->n_nonpersistent] = strdup(name)))
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        c->n_nonpersistent++;
    }
    return 0;
}

static jv *conv_module_body(fm_reader *R, const ckpt_obj *o, const char *where, int depth)
{
    const char *mod = ckpt_global_module(o), *name = ckpt_global_name(o);
    if (!mod || !name) {
        CKPT_FAIL(R->err, CKPT_E_FORMAT, "%s: an object without a class", where);
        return NULL;
    }
    char qual[512];
    int qn = snprintf(qual, sizeof qual, "%s.%s", mod, name);
    if (qn < 0 || (size_t)qn >= sizeof qual) {
        CKPT_FAIL(R->err, CKPT_E_LIMIT, "%s: class name longer than %zu bytes", where,
                  sizeof qual - 1);
        return NULL;
    }
    const ckpt_obj *st = ckpt_object_state(o);
    /* __getstate__ returning (dict, slots) */
    if (st && ckpt_obj_type(st) == CKPT_T_TUPLE && ckpt_obj_len(st) == 2 &&
        ckpt_obj_type(ckpt_obj_item(st, 0)) == CKPT_T_DICT)
        st = ckpt_obj_item(st, 0);
    bool module = st && ckpt_obj_type(st) == CKPT_T_DICT && ckpt_dict_get(st, "_modules") &&
                  ckpt_dict_get(st, "_parameters");
    jit_class *c = jit_class_get(R->m, qual, R->err);
    if (!c)
        return NULL;
    jv *obj = jv_obj_new(c);
    if (!obj)
        return nomem(R);
    if (memo_put(&R->memo, o, obj, R->err) < 0) {
        jv_unref(obj);
        return NULL;
    }
    int rc = 0;
    if (module) {
        c->is_module = true;
        const ckpt_obj *tr = ckpt_dict_get(st, "training");
        rc = jv_obj_set(obj, "training", JIT_A_ATTR,
                        jv_bool(tr && ckpt_obj_type(tr) == CKPT_T_BOOL && ckpt_obj_bool(tr)),
                        R->err);
        if (rc == 0)
            rc = set_entries(R, obj, ckpt_dict_get(st, "_parameters"), JIT_A_PARAM, qual,
                             "_parameters", depth);
        if (rc == 0)
            rc = set_entries(R, obj, ckpt_dict_get(st, "_buffers"), JIT_A_BUFFER, qual,
                             "_buffers", depth);
        if (rc == 0)
            rc = set_entries(R, obj, ckpt_dict_get(st, "_modules"), JIT_A_MODULE, qual,
                             "_modules", depth);
    }
    /* every other entry of __dict__: hyper-attributes (objects that are not
     * modules keep their state as attributes) */
    for (size_t i = 0; rc == 0 && st && ckpt_obj_type(st) == CKPT_T_DICT && i < ckpt_obj_len(st);
         i++) {
        const ckpt_obj *k = ckpt_dict_key(st, i);
        if (ckpt_obj_type(k) != CKPT_T_STR)
            continue;
        const char *kn = ckpt_obj_str(k, NULL);
        if (module &&
            (strcmp(kn, "training") == 0 || strcmp(kn, "_parameters") == 0 ||
             strcmp(kn, "_buffers") == 0 || strcmp(kn, "_modules") == 0 || is_internal(kn)))
            continue;
        if (jv_obj_find(obj, kn) >= 0)
            continue;
        char w[300];
        snprintf(w, sizeof w, "%.200s.%.90s", qual, kn);
        jv *v = conv_value(R, ckpt_dict_value(st, i), w, depth + 1);
        if (!v) {
            rc = R->err->code ? R->err->code : CKPT_E_NOMEM;
            break;
        }
        rc = jv_obj_set(obj, kn, JIT_A_ATTR, v, R->err);
    }
    if (rc == 0 && module)
        rc = class_names(c, obj, R->err);
    if (rc == 0 && module)
        rc = nonpersistent(c, ckpt_dict_get(st, "_non_persistent_buffers_set"), R->err);
    if (rc == 0 && module && !c->n_methods && strncmp(qual, "torch.nn.", 9) == 0) {
        /* torch.nn's forward argument names, for binding by name */
        static const char *const mha[] = {"query", "key", "value"};
        static const char *const src[] = {"src"};
        static const char *const inp[] = {"input"};
        bool is_mha = strcmp(qual, "torch.nn.modules.activation.MultiheadAttention") == 0;
        bool is_tr = strncmp(qual, "torch.nn.modules.transformer.", 29) == 0;
        rc = add_forward(c, is_mha ? mha : is_tr ? src : inp, is_mha ? 3 : 1, R->err);
    }
    if (rc < 0) {
        /* the memo holds a borrowed pointer: drop it with the object */
        jv_unref(obj);
        return NULL;
    }
    return obj;
}

int jit_read_full_model(ckpt_jit_model *m, ckpt_error *err)
{
    ckpt_load_opts lo = {0};
    lo.unsafe_full = true;
    lo.verify_crc = m->opts.verify_crc;
    lo.limits.max_alloc_bytes = m->opts.max_bytes;
    m->doc = ckpt_load(m->path, &lo, err);
    if (!m->doc)
        return err && err->code ? err->code : CKPT_E_IO;
    const ckpt_obj *root = ckpt_doc_root(m->doc);
    if (!root || ckpt_obj_type(root) != CKPT_T_OBJECT) {
        int t = root ? ckpt_obj_type(root) : CKPT_T_NONE;
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                         "the pickle holds a %s, not a module (torch.save(model)); a state dict "
                         "or checkpoint is read with ckpt ls",
                         ckpt_type_name(t));
    }
    fm_reader R = {.m = m, .err = err};
    jv *r = conv_module(&R, root, "root", 0);
    free(R.memo.keys);
    free(R.memo.vals);
    if (!r)
        return err->code ? err->code : CKPT_E_NOMEM;
    if (!r->u.obj.cls->is_module) {
        int rc =
            CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                      "the pickle holds an object of class %s, which is not a torch.nn.Module "
                      "(no _parameters/_modules in its state); nothing was called",
                      r->u.obj.cls->qualname);
        jv_unref(r);
        return rc;
    }
    m->root = r;
    return 0;
}
