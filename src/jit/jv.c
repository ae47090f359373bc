/* src/jit/jv.c - the jit layer's reference-counted values (see jit_internal.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/jit_internal.h"

static jv none_v = {.kind = JV_NONE, .refs = -1};
static jv true_v = {.kind = JV_BOOL, .refs = -1, .u.b = true};
static jv false_v = {.kind = JV_BOOL, .refs = -1, .u.b = false};

static jv *jv_alloc(int kind)
{
    jv *v = calloc(1, sizeof *v);
    if (v) {
        v->kind = kind;
        v->refs = 1;
    }
    return v;
}

jv *jv_none(void)
{
    return &none_v;
}

jv *jv_bool(bool b)
{
    return b ? &true_v : &false_v;
}

jv *jv_int(int64_t i)
{
    jv *v = jv_alloc(JV_INT);
    if (v)
        v->u.i = i;
    return v;
}

jv *jv_float(double f)
{
    jv *v = jv_alloc(JV_FLOAT);
    if (v)
        v->u.f = f;
    return v;
}

jv *jv_str(const char *s, size_t len)
{
    jv *v = jv_alloc(JV_STR);
    if (!v)
        return NULL;
    v->u.str.s = malloc(len + 1);
    if (!v->u.str.s) {
        free(v);
        return NULL;
    }
    if (len)
        memcpy(v->u.str.s, s, len);
    v->u.str.s[len] = 0;
    v->u.str.len = len;
    return v;
}

jv *jv_str0(const char *s)
{
    return jv_str(s, strlen(s));
}

static jv *seq_new(int kind, size_t cap)
{
    jv *v = jv_alloc(kind);
    if (!v)
        return NULL;
    if (cap) {
        v->u.seq.items = calloc(cap, sizeof *v->u.seq.items);
        if (!v->u.seq.items) {
            free(v);
            return NULL;
        }
        v->u.seq.cap = cap;
    }
    return v;
}

jv *jv_list_new(size_t cap)
{
    return seq_new(JV_LIST, cap);
}

jv *jv_tuple_new(size_t cap)
{
    return seq_new(JV_TUPLE, cap);
}

int jv_list_push(jv *seq, jv *item, ckpt_error *err)
{
    if (!item)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    if (seq->u.seq.n == seq->u.seq.cap) {
        size_t cap = seq->u.seq.cap ? seq->u.seq.cap * 2 : 4;
        jv **p = realloc(seq->u.seq.items, cap * sizeof *p);
        if (!p) {
            jv_unref(item);
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        }
        seq->u.seq.items = p;
        seq->u.seq.cap = cap;
    }
    seq->u.seq.items[seq->u.seq.n++] = item;
    return 0;
}

jv *jv_dict_new(void)
{
    return jv_alloc(JV_DICT);
}

static long dict_index(const jv *d, const jv *key)
{
    for (size_t i = 0; i < d->u.dict.n; i++)
        if (jv_equal(d->u.dict.keys[i], key))
            return (long)i;
    return -1;
}

int jv_dict_set(jv *d, jv *key, jv *val, ckpt_error *err)
{
    if (!key || !val) {
        jv_unref(key);
        jv_unref(val);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    long i = dict_index(d, key);
    if (i >= 0) {
        jv_unref(key);
        jv_unref(d->u.dict.vals[i]);
        d->u.dict.vals[i] = val;
        return 0;
    }
    if (d->u.dict.n == d->u.dict.cap) {
        size_t cap = d->u.dict.cap ? d->u.dict.cap * 2 : 4;
        jv **k = realloc(d->u.dict.keys, cap * sizeof *k);
        if (k)
            d->u.dict.keys = k;
        jv **v = k ? realloc(d->u.dict.vals, cap * sizeof *v) : NULL;
        if (!v) {
            jv_unref(key);
            jv_unref(val);
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        }
        d->u.dict.vals = v;
        d->u.dict.cap = cap;
    }
    d->u.dict.keys[d->u.dict.n] = key;
    d->u.dict.vals[d->u.dict.n] = val;
    d->u.dict.n++;
    return 0;
}

jv *jv_dict_get(const jv *d, const jv *key)
{
    long i = dict_index(d, key);
    return i < 0 ? NULL : d->u.dict.vals[i];
}

jv *jv_dict_get_str(const jv *d, const char *key)
{
    for (size_t i = 0; i < d->u.dict.n; i++) {
        const jv *k = d->u.dict.keys[i];
        if (k->kind == JV_STR && strcmp(k->u.str.s, key) == 0)
            return d->u.dict.vals[i];
    }
    return NULL;
}

jv *jv_device(const char *type, int64_t index)
{
    jv *v = jv_alloc(JV_DEVICE);
    if (!v)
        return NULL;
    v->u.dev.type = strdup(type);
    if (!v->u.dev.type) {
        free(v);
        return NULL;
    }
    v->u.dev.index = index;
    return v;
}

jv *jv_opaque(void *p, void (*free_fn)(void *), const char *type)
{
    jv *v = jv_alloc(JV_OPAQUE);
    if (!v) {
        if (free_fn)
            free_fn(p);
        return NULL;
    }
    v->u.opaque.p = p;
    v->u.opaque.free_fn = free_fn;
    v->u.opaque.type = type;
    return v;
}

jv *jv_tensor_new(void)
{
    jv *v = jv_alloc(JV_TENSOR);
    if (!v)
        return NULL;
    v->u.t = calloc(1, sizeof *v->u.t);
    if (!v->u.t) {
        free(v);
        return NULL;
    }
    return v;
}

jv *jv_tensor_view(jv *base, int dtype, int rank, const int64_t *dims, void *data)
{
    if (rank < 0 || rank > OX_MAX_RANK)
        return NULL;
    int64_t numel = ox_numel(rank, dims);
    if (numel < 0)
        return NULL;
    jv *v = jv_tensor_new();
    if (!v)
        return NULL;
    ox_val *t = &v->u.t->t;
    t->kind = OX_KIND_TENSOR;
    t->dtype = dtype;
    t->rank = rank;
    for (int i = 0; i < rank; i++)
        t->dims[i] = dims[i];
    t->numel = numel;
    t->data = data;
    v->u.t->base = base ? jv_ref(base) : NULL;
    return v;
}

jv *jv_obj_new(jit_class *cls)
{
    jv *v = jv_alloc(JV_OBJECT);
    if (v)
        v->u.obj.cls = cls;
    return v;
}

int jv_obj_find(const jv *o, const char *name)
{
    for (size_t i = 0; i < o->u.obj.n; i++)
        if (strcmp(o->u.obj.names[i], name) == 0)
            return (int)i;
    return -1;
}

int jv_obj_set(jv *o, const char *name, int akind, jv *val, ckpt_error *err)
{
    if (!val)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    int i = jv_obj_find(o, name);
    if (i >= 0) {
        jv_unref(o->u.obj.vals[i]);
        o->u.obj.vals[i] = val;
        return 0;
    }
    if (o->u.obj.n == o->u.obj.cap) {
        size_t cap = o->u.obj.cap ? o->u.obj.cap * 2 : 8;
        char **nm = realloc(o->u.obj.names, cap * sizeof *nm);
        if (nm)
            o->u.obj.names = nm;
        jv **vs = nm ? realloc(o->u.obj.vals, cap * sizeof *vs) : NULL;
        if (vs)
            o->u.obj.vals = vs;
        uint8_t *ak = vs ? realloc(o->u.obj.akind, cap) : NULL;
        if (!ak) {
            jv_unref(val);
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        }
        o->u.obj.akind = ak;
        o->u.obj.cap = cap;
    }
    char *n = strdup(name);
    if (!n) {
        jv_unref(val);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    o->u.obj.names[o->u.obj.n] = n;
    o->u.obj.vals[o->u.obj.n] = val;
    o->u.obj.akind[o->u.obj.n] = (uint8_t)akind;
    o->u.obj.n++;
    return 0;
}

jv *jv_obj_get(const jv *o, const char *name)
{
    int i = jv_obj_find(o, name);
    return i < 0 ? NULL : o->u.obj.vals[i];
}

jv *jv_ref(jv *v)
{
    if (v && v->refs > 0)
        v->refs++;
    return v;
}

/* Free iteratively deep structures would need a worklist; values here are
 * bounded by the readers' nesting limits, so recursion depth is bounded. */
void jv_unref(jv *v)
{
    if (!v || v->refs < 0)
        return;
    if (--v->refs > 0)
        return;
    switch (v->kind) {
    case JV_STR: free(v->u.str.s); break;
    case JV_TENSOR:
        if (v->u.t) {
            if (v->u.t->base || !v->u.t->t.buf) {
                /* a view: only the strings/items it may own */
                v->u.t->t.data = NULL;
            }
            ox_val_clear(&v->u.t->t);
            jv_unref(v->u.t->base);
            free(v->u.t);
        }
        break;
    case JV_LIST:
    case JV_TUPLE:
        for (size_t i = 0; i < v->u.seq.n; i++)
            jv_unref(v->u.seq.items[i]);
        free(v->u.seq.items);
        break;
    case JV_DICT:
        for (size_t i = 0; i < v->u.dict.n; i++) {
            jv_unref(v->u.dict.keys[i]);
            jv_unref(v->u.dict.vals[i]);
        }
        free(v->u.dict.keys);
        free(v->u.dict.vals);
        break;
    case JV_OBJECT:
        for (size_t i = 0; i < v->u.obj.n; i++) {
            free(v->u.obj.names[i]);
            jv_unref(v->u.obj.vals[i]);
        }
        free(v->u.obj.names);
        free(v->u.obj.vals);
        free(v->u.obj.akind);
        break;
    case JV_DEVICE: free(v->u.dev.type); break;
    case JV_OPAQUE:
        if (v->u.opaque.free_fn)
            v->u.opaque.free_fn(v->u.opaque.p);
        break;
    default: break;
    }
    free(v);
}

const char *jv_kind_name(int kind)
{
    static const char *names[JV_KIND_COUNT] = {"None", "bool",   "int",    "float",
                                               "str",  "Tensor", "list",   "tuple",
                                               "dict", "object", "Device", "opaque"};
    return kind >= 0 && kind < JV_KIND_COUNT ? names[kind] : "?";
}

bool jv_equal(const jv *a, const jv *b)
{
    if (a == b)
        return true;
    bool an = a->kind == JV_INT || a->kind == JV_BOOL || a->kind == JV_FLOAT;
    bool bn = b->kind == JV_INT || b->kind == JV_BOOL || b->kind == JV_FLOAT;
    if (an && bn) {
        double x = a->kind == JV_FLOAT ? a->u.f : a->kind == JV_INT ? (double)a->u.i : a->u.b;
        double y = b->kind == JV_FLOAT ? b->u.f : b->kind == JV_INT ? (double)b->u.i : b->u.b;
        if (a->kind != JV_FLOAT && b->kind != JV_FLOAT) {
            int64_t p = a->kind == JV_INT ? a->u.i : a->u.b;
            int64_t q = b->kind == JV_INT ? b->u.i : b->u.b;
            return p == q;
        }
        return x == y;
    }
    if (a->kind != b->kind)
        return false;
    switch (a->kind) {
    case JV_NONE: return true;
    case JV_STR:
        return a->u.str.len == b->u.str.len && memcmp(a->u.str.s, b->u.str.s, a->u.str.len) == 0;
    case JV_TUPLE:
    case JV_LIST:
        if (a->u.seq.n != b->u.seq.n)
            return false;
        for (size_t i = 0; i < a->u.seq.n; i++)
            if (!jv_equal(a->u.seq.items[i], b->u.seq.items[i]))
                return false;
        return true;
    case JV_DEVICE:
        return strcmp(a->u.dev.type, b->u.dev.type) == 0 && a->u.dev.index == b->u.dev.index;
    default: return false; /* identity only */
    }
}

void jv_describe(const jv *v, char *buf, size_t cap)
{
    if (!cap)
        return;
    switch (v->kind) {
    case JV_BOOL: snprintf(buf, cap, "bool %s", v->u.b ? "True" : "False"); break;
    case JV_INT: snprintf(buf, cap, "int %" PRId64, v->u.i); break;
    case JV_FLOAT: snprintf(buf, cap, "float %g", v->u.f); break;
    case JV_STR: snprintf(buf, cap, "str '%.40s'", v->u.str.s); break;
    case JV_TENSOR: {
        const ox_val *t = &v->u.t->t;
        int k = snprintf(buf, cap, "Tensor[%s, (", ox_dtype_name(t->dtype));
        for (int i = 0; i < t->rank && k > 0 && (size_t)k < cap; i++)
            k += snprintf(buf + k, cap - (size_t)k, i ? ", %" PRId64 : "%" PRId64, t->dims[i]);
        if (k > 0 && (size_t)k < cap)
            snprintf(buf + k, cap - (size_t)k, ")]");
        break;
    }
    case JV_LIST:
    case JV_TUPLE: snprintf(buf, cap, "%s of %zu", jv_kind_name(v->kind), v->u.seq.n); break;
    case JV_DICT: snprintf(buf, cap, "dict of %zu", v->u.dict.n); break;
    case JV_OBJECT:
        snprintf(buf, cap, "%s object", v->u.obj.cls ? v->u.obj.cls->qualname : "?");
        break;
    case JV_OPAQUE:
        snprintf(buf, cap, "%s", v->u.opaque.type ? v->u.opaque.type : "opaque");
        break;
    default: snprintf(buf, cap, "%s", jv_kind_name(v->kind)); break;
    }
}

int jit_st_to_ox(int64_t st)
{
    switch (st) {
    case JIT_ST_UINT8:
    case JIT_ST_QUINT8: return OX_UINT8;
    case JIT_ST_INT8:
    case JIT_ST_QINT8: return OX_INT8;
    case JIT_ST_INT16: return OX_INT16;
    case JIT_ST_INT32:
    case JIT_ST_QINT32: return OX_INT32;
    case JIT_ST_INT64: return OX_INT64;
    case JIT_ST_HALF: return OX_FLOAT16;
    case JIT_ST_FLOAT: return OX_FLOAT;
    case JIT_ST_DOUBLE: return OX_DOUBLE;
    case JIT_ST_COMPLEX_FLOAT: return OX_COMPLEX64;
    case JIT_ST_COMPLEX_DOUBLE: return OX_COMPLEX128;
    case JIT_ST_BOOL: return OX_BOOL;
    case JIT_ST_BFLOAT16: return OX_BFLOAT16;
    default: return OX_UNDEFINED;
    }
}

int64_t jit_st_from_ox(int dtype)
{
    switch (dtype) {
    case OX_UINT8: return JIT_ST_UINT8;
    case OX_INT8: return JIT_ST_INT8;
    case OX_INT16: return JIT_ST_INT16;
    case OX_INT32: return JIT_ST_INT32;
    case OX_INT64: return JIT_ST_INT64;
    case OX_FLOAT16: return JIT_ST_HALF;
    case OX_FLOAT: return JIT_ST_FLOAT;
    case OX_DOUBLE: return JIT_ST_DOUBLE;
    case OX_COMPLEX64: return JIT_ST_COMPLEX_FLOAT;
    case OX_COMPLEX128: return JIT_ST_COMPLEX_DOUBLE;
    case OX_BOOL: return JIT_ST_BOOL;
    case OX_BFLOAT16: return JIT_ST_BFLOAT16;
    default: return -1;
    }
}
