/* src/core/copy.c - ckpt_obj_copy: copy.deepcopy of a value into a document.
 *
 * Like deepcopy's memo, every node and every storage is copied once: a value
 * the source reaches twice (a tensor in two places, a string the pickle memo
 * shared, a list that contains itself) is one node of the copy reached twice,
 * and tensors that shared a storage - views, tied weights - share its copy with
 * the same shapes, strides and offsets.  So the copy saves to the same bytes. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/core.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/obj.h"

#define COPY_MAX_DEPTH 1000 /* as ckpt_walk and the savers */

typedef struct copier {
    ckpt_doc *doc;
    const void **from; /* open addressing: a source node or storage */
    void **to;         /* its copy */
    size_t cap, n;
    ckpt_error *err;
} copier;

static size_t slot_of(const copier *c, const void *s)
{
    uint64_t h = (uint64_t)(uintptr_t)s * 0x9E3779B97F4A7C15ull;
    size_t i = (size_t)(h >> 17) & (c->cap - 1);
    while (c->from[i] && c->from[i] != s)
        i = (i + 1) & (c->cap - 1);
    return i;
}

static int memo_grow(copier *c)
{
    size_t ncap = c->cap ? c->cap * 2 : 64;
    copier g = *c;
    g.cap = ncap;
    g.from = calloc(ncap, sizeof(*g.from));
    g.to = calloc(ncap, sizeof(*g.to));
    if (!g.from || !g.to) {
        free(g.from);
        free(g.to);
        return CKPT_FAIL(c->err, CKPT_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < c->cap; i++)
        if (c->from[i]) {
            size_t k = slot_of(&g, c->from[i]);
            g.from[k] = c->from[i];
            g.to[k] = c->to[i];
        }
    free(c->from);
    free(c->to);
    *c = g;
    return 0;
}

/* The copy of `src` made so far, or NULL. */
static void *memo_get(copier *c, const void *src)
{
    if (!c->cap)
        return NULL;
    size_t i = slot_of(c, src);
    return c->from[i] ? c->to[i] : NULL;
}

static int memo_put(copier *c, const void *src, void *dst)
{
    if ((c->n + 1) * 2 > c->cap && memo_grow(c) < 0)
        return -1;
    size_t i = slot_of(c, src);
    c->from[i] = src;
    c->to[i] = dst;
    c->n++;
    return 0;
}

static char *dup_in(ckpt_doc *doc, const char *s)
{
    return s ? ckpt__arena_strndup(&doc->arena, s, strlen(s)) : NULL;
}

/* The copy of storage `s`, made on first use. */
static ckpt_storage *copy_storage(copier *c, const ckpt_storage *s)
{
    ckpt_storage *done = memo_get(c, s);
    if (done)
        return done;
    bool meta = s->location && strcmp(s->location, "meta") == 0;
    if (!s->data && s->nbytes && !meta) {
        CKPT_FAIL(c->err, CKPT_E_UNSUPPORTED,
                  "a tensor whose storage holds no bytes (a lazy load: read it first)");
        return NULL;
    }
    ckpt_storage *d = ckpt__storage_new(c->doc, s->dtype, s->untyped, s->nbytes);
    if (!d || !(d->location = dup_in(c->doc, s->location ? s->location : "cpu"))) {
        CKPT_FAIL(c->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    if (!meta) {
        if (ckpt__storage_alloc_data(c->doc, d, false, c->err) < 0)
            return NULL;
        if (s->nbytes)
            memcpy(d->data, s->data, (size_t)s->nbytes);
    }
    return memo_put(c, s, d) < 0 ? NULL : d;
}

static ckpt_obj *copy(copier *c, const ckpt_obj *v, int depth);

/* An optional part of a tensor or object: NULL stays NULL. */
static bool copy_part(copier *c, const ckpt_obj *v, ckpt_obj **out, int depth)
{
    *out = NULL;
    return !v || (*out = copy(c, v, depth)) != NULL;
}

static ckpt_obj *copy_tensor(copier *c, const ckpt_obj *v, int depth)
{
    const ckpt__tensor *t = v->u.t;
    ckpt_storage *s = t->storage ? copy_storage(c, t->storage) : NULL;
    if (t->storage && !s)
        return NULL;
    ckpt_obj *r = ckpt__tensor_new(c->doc, s, t->dtype, t->ndim, t->shape, t->stride, t->offset);
    if (!r) {
        CKPT_FAIL(c->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    if (memo_put(c, v, r) < 0)
        return NULL;
    ckpt__tensor *rt = r->u.t;
    rt->requires_grad = t->requires_grad;
    rt->is_param = t->is_param;
    rt->param_requires_grad = t->param_requires_grad;
    if (!copy_part(c, t->qparams, &rt->qparams, depth + 1) ||
        !copy_part(c, t->meta, &rt->meta, depth + 1) ||
        !copy_part(c, t->param_state, &rt->param_state, depth + 1))
        return NULL;
    return r;
}

static ckpt_obj *copy_object(copier *c, const ckpt_obj *v, int depth)
{
    const ckpt__object *o = v->u.obj;
    ckpt_obj *r = ckpt__node(c->doc, CKPT_T_OBJECT);
    ckpt__object *ro = r ? ckpt__arena_calloc(&c->doc->arena, sizeof(*ro)) : NULL;
    if (!ro) {
        CKPT_FAIL(c->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    r->u.obj = ro;
    if (memo_put(c, v, r) < 0)
        return NULL;
    ro->how = o->how; /* one of the VM's static names */
    if (!copy_part(c, o->cls, &ro->cls, depth + 1) ||
        !copy_part(c, o->args, &ro->args, depth + 1) ||
        !copy_part(c, o->kwargs, &ro->kwargs, depth + 1) ||
        !copy_part(c, o->state, &ro->state, depth + 1) ||
        !copy_part(c, o->items, &ro->items, depth + 1))
        return NULL;
    return r;
}

static ckpt_obj *copy_seq(copier *c, const ckpt_obj *v, int depth)
{
    size_t n = v->u.seq.n;
    ckpt_obj *r = ckpt__node(c->doc, v->type);
    if (!r) {
        CKPT_FAIL(c->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    r->flags = v->flags;
    if (memo_put(c, v, r) < 0)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        ckpt_obj *item = copy(c, v->u.seq.items[i], depth + 1);
        if (!item) {
            char k[32];
            snprintf(k, sizeof(k), "%zu", i);
            ckpt__error_prefix_key(c->err, k);
            return NULL;
        }
        if (ckpt__seq_push(c->doc, r, item) < 0) {
            CKPT_FAIL(c->err, CKPT_E_NOMEM, "out of memory");
            return NULL;
        }
    }
    return r;
}

static ckpt_obj *copy_dict(copier *c, const ckpt_obj *v, int depth)
{
    const ckpt__dict *d = v->u.dict;
    ckpt_obj *r = ckpt_dict_new(c->doc, d->kind);
    if (!r) {
        CKPT_FAIL(c->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    if (memo_put(c, v, r) < 0)
        return NULL;
    for (size_t i = 0; i < d->n; i++) {
        ckpt_obj *k = copy(c, d->keys[i], depth + 1);
        ckpt_obj *val = k ? copy(c, d->vals[i], depth + 1) : NULL;
        if (!val) {
            char kb[128];
            ckpt_obj_repr(d->keys[i], true, kb, sizeof(kb));
            ckpt__error_prefix_key(c->err, kb);
            return NULL;
        }
        if (ckpt__dict_set(c->doc, r, k, val) < 0) {
            CKPT_FAIL(c->err, CKPT_E_NOMEM, "out of memory");
            return NULL;
        }
    }
    if (d->attrs && !copy_part(c, d->attrs, &r->u.dict->attrs, depth + 1))
        return NULL;
    return r;
}

static ckpt_obj *copy(copier *c, const ckpt_obj *v, int depth)
{
    if (depth > COPY_MAX_DEPTH) {
        CKPT_FAIL(c->err, CKPT_E_LIMIT, "the value nests deeper than %d containers",
                  COPY_MAX_DEPTH);
        return NULL;
    }
    ckpt_obj *r = memo_get(c, v);
    if (r)
        return r;
    ckpt_doc *doc = c->doc;
    switch (v->type) {
    case CKPT_T_NONE: r = ckpt_none_new(doc); break;
    case CKPT_T_BOOL: r = ckpt_bool_new(doc, v->u.b); break;
    case CKPT_T_INT: r = ckpt_int_new(doc, v->u.i); break;
    case CKPT_T_FLOAT: r = ckpt_float_new(doc, v->u.f); break;
    case CKPT_T_COMPLEX: r = ckpt_complex_new(doc, v->u.c.re, v->u.c.im); break;
    case CKPT_T_STR: r = ckpt_strn_new(doc, v->u.s.p, v->u.s.n); break;
    case CKPT_T_BYTES: r = ckpt_bytes_new(doc, v->u.s.p, v->u.s.n); break;
    case CKPT_T_BYTEARRAY: r = ckpt_bytearray_new(doc, v->u.s.p, v->u.s.n); break;
    case CKPT_T_SIZE: r = ckpt_size_new(doc, v->u.size.n, v->u.size.dims); break;
    case CKPT_T_DTYPE: r = ckpt_dtype_new(doc, v->u.dtype); break;
    case CKPT_T_DEVICE: r = ckpt_device_new(doc, v->u.dev.type, v->u.dev.index); break;
    case CKPT_T_GLOBAL: r = ckpt_global_new(doc, v->u.g.module, v->u.g.name); break;
    case CKPT_T_TUPLE:
    case CKPT_T_LIST:
    case CKPT_T_SET: return copy_seq(c, v, depth);
    case CKPT_T_DICT: return copy_dict(c, v, depth);
    case CKPT_T_TENSOR: return copy_tensor(c, v, depth);
    case CKPT_T_OBJECT: return copy_object(c, v, depth);
    case CKPT_T_STORAGE: {
        ckpt_storage *s = copy_storage(c, v->u.st);
        if (!s)
            return NULL;
        r = ckpt__node(doc, CKPT_T_STORAGE);
        if (r)
            r->u.st = s;
        break;
    }
    default:
        CKPT_FAIL(c->err, CKPT_E_UNSUPPORTED, "a value of type %s cannot be copied",
                  ckpt_type_name(v->type));
        return NULL;
    }
    if (!r) {
        CKPT_FAIL(c->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    return memo_put(c, v, r) < 0 ? NULL : r;
}

ckpt_obj *ckpt_obj_copy(ckpt_doc *doc, const ckpt_obj *v, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!doc || !v) {
        CKPT_FAIL(err, CKPT_E_ARG, "no document or no value");
        return NULL;
    }
    copier c = {.doc = doc, .err = err};
    ckpt_obj *r = copy(&c, v, 0);
    free(c.from);
    free(c.to);
    return r;
}
