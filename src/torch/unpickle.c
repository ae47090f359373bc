/* src/torch/unpickle.c - the pickle hooks that give torch's globals their
 * meaning: tensors, parameters, storages, OrderedDict, Size, device, bytes.
 * Nothing is executed: each allowed callable is implemented here as data
 * construction; everything else is refused (weights-only) or recorded as an
 * inert OBJECT node (full mode). */
#include <stdio.h>
#include <string.h>

#include "core/checked.h"
#include "core/err.h"
#include "core/utf8.h"
#include "torch_internal.h"

#define FAILP(L, code, op, off, ...)                                                             \
    ((void)(L), (void)(op),                                                                      \
     CKPT_FAIL_AT(err, code, CKPT_WHERE_PICKLE, "data.pkl", off, __VA_ARGS__))

static const char *op_name(int op)
{
    const char *n = ckpt_pickle_op_name(op);
    return n ? n : "?";
}

static ckpt_obj *nomem_null(ckpt_doc *doc, ckpt_error *err, uint64_t off)
{
    if (doc->mem.hit_limit)
        CKPT_FAIL_AT(err, CKPT_E_LIMIT, CKPT_WHERE_PICKLE, "data.pkl", off,
                     "allocation limit of %llu bytes reached",
                     (unsigned long long)doc->mem.limit);
    else
        CKPT_FAIL_AT(err, CKPT_E_NOMEM, CKPT_WHERE_PICKLE, "data.pkl", off, "out of memory");
    return NULL;
}

static bool full_mode(const tload *L)
{
    return L->opts->unsafe_full;
}

static bool user_allowed(const tload *L, const char *module, const char *name)
{
    size_t ml = strlen(module);
    for (size_t i = 0; i < L->opts->safe_global_count; i++) {
        const char *g = L->opts->safe_globals[i];
        if (g && strncmp(g, module, ml) == 0 && g[ml] == '.' && strcmp(g + ml + 1, name) == 0)
            return true;
    }
    return false;
}

/* ------------------------------------------------------------ find_class */

static ckpt_obj *h_find_class(void *ctx, ckpt_doc *doc, const char *module, const char *name,
                              int op, uint64_t off, ckpt_error *err)
{
    tload *L = ctx;
    const char *mod = ckpt__py3_module(module);
    bool allowed, blocked;
    int id = ckpt__torch_global_id(mod, name, &allowed, &blocked);
    if (blocked && !full_mode(L)) {
        CKPT_FAIL_AT(err, CKPT_E_UNSAFE, CKPT_WHERE_PICKLE, "data.pkl", off,
                     "%s: global %s.%s refused: module %s is blocked", op_name(op), mod, name,
                     mod);
        return NULL;
    }
    if (!allowed && !full_mode(L) && !user_allowed(L, mod, name)) {
        CKPT_FAIL_AT(err, CKPT_E_UNSAFE, CKPT_WHERE_PICKLE, "data.pkl", off,
                     "%s: unsupported global %s.%s is not on the weights-only allowlist "
                     "(allow it with add_safe_globals / --allow %s.%s only if you trust the "
                     "file)",
                     op_name(op), mod, name, mod, name);
        return NULL;
    }
    if (id == TG_DTYPE) {
        ckpt_obj *o = ckpt_dtype_new(doc, ckpt_dtype_from_name(name));
        return o ? o : nomem_null(doc, err, off);
    }
    ckpt_obj *g = ckpt_global_new(doc, mod, name);
    if (!g)
        return nomem_null(doc, err, off);
    g->u.g.id = id;
    return g;
}

/* ---------------------------------------------------------------- helpers */

static int gid(const ckpt_obj *o)
{
    return (o && o->type == CKPT_T_GLOBAL) ? o->u.g.id : -1;
}

static ckpt_obj *arg(const ckpt_obj *args, size_t i)
{
    return i < args->u.seq.n ? args->u.seq.items[i] : NULL;
}

/* tuple/list/Size of ints -> int64 array in the arena */
static int int_list(tload *L, const ckpt_obj *o, int64_t **out, int *n, const char *what,
                    uint64_t off, ckpt_error *err)
{
    uint32_t max_ndim = L->opts->limits.max_ndim ? L->opts->limits.max_ndim : 64;
    size_t cnt;
    if (o->type == CKPT_T_SIZE) {
        cnt = o->u.size.n;
    } else if (o->type == CKPT_T_TUPLE || o->type == CKPT_T_LIST) {
        cnt = o->u.seq.n;
    } else {
        return FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: tensor %s must be a tuple, got %s", what,
                     ckpt_type_name(o->type));
    }
    if (cnt > max_ndim)
        return FAILP(L, CKPT_E_LIMIT, 0, off, "REDUCE: tensor with %zu dimensions (limit %u)",
                     cnt, max_ndim);
    int64_t *v = ckpt__arena_alloc(&L->doc->arena, (cnt ? cnt : 1) * sizeof(int64_t));
    if (!v)
        return nomem_null(L->doc, err, off), CKPT_E_NOMEM;
    for (size_t i = 0; i < cnt; i++) {
        if (o->type == CKPT_T_SIZE) {
            v[i] = o->u.size.dims[i];
        } else {
            const ckpt_obj *it = o->u.seq.items[i];
            if (it->type != CKPT_T_INT)
                return FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: tensor %s item %zu is a %s", what,
                             i, ckpt_type_name(it->type));
            v[i] = it->u.i;
        }
    }
    *out = v;
    *n = (int)cnt;
    return 0;
}

/* Build a tensor over `st` and check its bounds. */
static ckpt_obj *make_tensor(tload *L, ckpt_obj *st, int dtype, const ckpt_obj *o_off,
                             const ckpt_obj *o_size, const ckpt_obj *o_stride, uint64_t off,
                             ckpt_error *err)
{
    if (!st || st->type != CKPT_T_STORAGE) {
        FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: tensor storage argument is a %s",
              st ? ckpt_type_name(st->type) : "missing");
        return NULL;
    }
    if (!o_off || o_off->type != CKPT_T_INT) {
        FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: tensor storage_offset must be an int");
        return NULL;
    }
    int64_t *shape, *stride;
    int nd, nd2;
    if (!o_size || !o_stride || int_list(L, o_size, &shape, &nd, "size", off, err) < 0 ||
        int_list(L, o_stride, &stride, &nd2, "stride", off, err) < 0) {
        if (!ckpt__error_is_set(err))
            FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: tensor size/stride missing");
        return NULL;
    }
    if (nd != nd2) {
        FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: tensor has %d sizes but %d strides", nd, nd2);
        return NULL;
    }
    ckpt_storage *s = st->u.st;
    if (!s->untyped && s->dtype != dtype) {
        FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: tensor dtype %s over a %s storage",
              ckpt_dtype_name(dtype), ckpt_dtype_name(s->dtype));
        return NULL;
    }
    if (s->untyped && ckpt_dtype_size(dtype) && s->nbytes % ckpt_dtype_size(dtype)) {
        FAILP(L, CKPT_E_FORMAT, 0, off,
              "REDUCE: untyped storage of %llu bytes is not a whole number of %s elements",
              (unsigned long long)s->nbytes, ckpt_dtype_name(dtype));
        return NULL;
    }
    ckpt_obj *t = ckpt__tensor_new(L->doc, s, dtype, nd, shape, stride, o_off->u.i);
    if (!t)
        return nomem_null(L->doc, err, off);
    if (ckpt__tensor_check_bounds(t->u.t, err) < 0) {
        if (err) {
            err->where = CKPT_WHERE_PICKLE;
            err->offset = off;
            snprintf(err->member, sizeof(err->member), "data.pkl");
            char tmp[sizeof(err->msg)];
            snprintf(tmp, sizeof(tmp), "REDUCE: tensor over record data/%.40s: %.180s",
                     s->key ? s->key : "?", err->msg);
            memcpy(err->msg, tmp, sizeof(tmp));
        }
        return NULL;
    }
    return t;
}

static bool is_empty_mapping(const ckpt_obj *o)
{
    return !o || o->type == CKPT_T_NONE || (o->type == CKPT_T_DICT && o->u.dict->n == 0);
}

static ckpt_obj *copy_tensor_node(ckpt_doc *doc, const ckpt_obj *src)
{
    ckpt_obj *o = ckpt__node(doc, CKPT_T_TENSOR);
    if (!o)
        return NULL;
    o->u.t = ckpt__arena_alloc(&doc->arena, sizeof(ckpt__tensor));
    if (!o->u.t)
        return NULL;
    *o->u.t = *src->u.t;
    return o;
}

static ckpt_obj *make_param(tload *L, ckpt_obj *data, const ckpt_obj *rg, uint64_t off,
                            ckpt_error *err)
{
    if (!data || data->type != CKPT_T_TENSOR) {
        FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: Parameter data is a %s",
              data ? ckpt_type_name(data->type) : "missing");
        return NULL;
    }
    ckpt_obj *p = copy_tensor_node(L->doc, data);
    if (!p)
        return nomem_null(L->doc, err, off);
    p->u.t->is_param = true;
    p->u.t->param_requires_grad = rg ? ckpt_obj_bool(rg) : true;
    return p;
}

/* bytes from _codecs.encode(text, encoding) */
static ckpt_obj *codecs_encode(tload *L, const ckpt_obj *args, uint64_t off, ckpt_error *err)
{
    const ckpt_obj *text = arg(args, 0), *enc = arg(args, 1);
    if (!text || text->type != CKPT_T_STR || (enc && enc->type != CKPT_T_STR)) {
        FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: _codecs.encode needs (str, str)");
        return NULL;
    }
    const char *e = enc ? enc->u.s.p : "utf-8";
    bool latin1 = strcmp(e, "latin1") == 0 || strcmp(e, "latin-1") == 0 ||
                  strcmp(e, "iso-8859-1") == 0 || strcmp(e, "ISO-8859-1") == 0;
    bool utf8 = strcmp(e, "utf-8") == 0 || strcmp(e, "utf8") == 0 || strcmp(e, "UTF-8") == 0;
    if (utf8)
        return ckpt_bytes_new(L->doc, text->u.s.p, text->u.s.n);
    if (!latin1) {
        FAILP(L, CKPT_E_UNSUPPORTED, 0, off, "REDUCE: _codecs.encode with encoding '%s'", e);
        return NULL;
    }
    uint8_t *buf = ckpt__arena_alloc(&L->doc->arena, text->u.s.n + 1);
    if (!buf)
        return nomem_null(L->doc, err, off);
    size_t o = 0;
    const uint8_t *p = (const uint8_t *)text->u.s.p;
    for (size_t i = 0; i < text->u.s.n;) {
        uint32_t cp;
        size_t l = ckpt_utf8_get(p + i, text->u.s.n - i, &cp);
        if (l == 0 || cp > 0xFF) {
            FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: text is not latin-1 encodable");
            return NULL;
        }
        buf[o++] = (uint8_t)cp;
        i += l;
    }
    ckpt_obj *b = ckpt__node(L->doc, CKPT_T_BYTES);
    if (!b)
        return nomem_null(L->doc, err, off);
    b->u.s.p = (char *)buf;
    buf[o] = 0;
    b->u.s.n = o;
    return b;
}

static ckpt_obj *make_device(tload *L, const ckpt_obj *args, uint64_t off, ckpt_error *err)
{
    const ckpt_obj *t = arg(args, 0), *idx = arg(args, 1);
    if (!t || t->type != CKPT_T_STR ||
        (idx && idx->type != CKPT_T_INT && idx->type != CKPT_T_NONE)) {
        FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: torch.device needs (str[, int])");
        return NULL;
    }
    char type[64];
    int64_t index = (idx && idx->type == CKPT_T_INT) ? idx->u.i : -1;
    const char *colon = strchr(t->u.s.p, ':');
    size_t tl = colon ? (size_t)(colon - t->u.s.p) : t->u.s.n;
    if (tl == 0 || tl >= sizeof(type)) {
        FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: bad device string");
        return NULL;
    }
    memcpy(type, t->u.s.p, tl);
    type[tl] = 0;
    if (colon) {
        int64_t v = 0;
        const char *q = colon + 1;
        if (!*q) {
            FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: bad device index");
            return NULL;
        }
        for (; *q; q++) {
            if (*q < '0' || *q > '9' || v > 100000000) {
                FAILP(L, CKPT_E_FORMAT, 0, off, "REDUCE: bad device index");
                return NULL;
            }
            v = v * 10 + (*q - '0');
        }
        index = v;
    }
    ckpt_obj *d = ckpt_device_new(L->doc, type, index);
    return d ? d : nomem_null(L->doc, err, off);
}

/* Inert record of a call outside weights-only mode. */
static ckpt_obj *opaque(tload *L, ckpt_obj *cls, ckpt_obj *args, ckpt_obj *kwargs,
                        const char *how, uint64_t off, ckpt_error *err)
{
    ckpt_obj *o = ckpt__node(L->doc, CKPT_T_OBJECT);
    if (!o || !(o->u.obj = ckpt__arena_calloc(&L->doc->arena, sizeof(ckpt__object))))
        return nomem_null(L->doc, err, off);
    o->u.obj->cls = cls;
    o->u.obj->args = args;
    o->u.obj->kwargs = kwargs;
    o->u.obj->how = how;
    return o;
}

static ckpt_obj *refuse_call(tload *L, ckpt_obj *callable, int op, uint64_t off, ckpt_error *err)
{
    if (callable->type == CKPT_T_GLOBAL)
        FAILP(L, CKPT_E_UNSAFE, op, off, "%s: call of %s.%s is not allowed in weights-only mode",
              op_name(op), callable->u.g.module, callable->u.g.name);
    else
        FAILP(L, CKPT_E_UNSAFE, op, off, "%s: calling a %s is not allowed", op_name(op),
              ckpt_type_name(callable->type));
    return NULL;
}

/* -------------------------------------------------------------- REDUCE */

static ckpt_obj *h_reduce(void *ctx, ckpt_doc *doc, ckpt_obj *callable, ckpt_obj *args, int op,
                          uint64_t off, ckpt_error *err);

static ckpt_obj *rebuild(tload *L, int id, ckpt_obj *callable, ckpt_obj *args, int op,
                         uint64_t off, ckpt_error *err)
{
    ckpt_doc *doc = L->doc;
    size_t na = args->u.seq.n;
    ckpt_obj *t;
    switch (id) {
    case TG_ORDERED_DICT:
    case TG_COUNTER: {
        ckpt_obj *d = ckpt_dict_new(doc,
                                    id == TG_COUNTER ? CKPT_DICT_COUNTER : CKPT_DICT_ORDERED);
        if (!d)
            return nomem_null(doc, err, off);
        if (na == 0)
            return d;
        ckpt_obj *src = arg(args, 0);
        if (na == 1 && src->type == CKPT_T_DICT) {
            for (size_t i = 0; i < src->u.dict->n; i++)
                if (ckpt__dict_set(doc, d, src->u.dict->keys[i], src->u.dict->vals[i]) < 0)
                    return nomem_null(doc, err, off);
            return d;
        }
        if (na == 1 && (src->type == CKPT_T_LIST || src->type == CKPT_T_TUPLE)) {
            for (size_t i = 0; i < src->u.seq.n; i++) {
                ckpt_obj *pair = src->u.seq.items[i];
                if ((pair->type != CKPT_T_TUPLE && pair->type != CKPT_T_LIST) ||
                    pair->u.seq.n != 2 || !ckpt__obj_hashable(pair->u.seq.items[0])) {
                    FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: OrderedDict item is not a pair");
                    return NULL;
                }
                if (ckpt__dict_set(doc, d, pair->u.seq.items[0], pair->u.seq.items[1]) < 0)
                    return nomem_null(doc, err, off);
            }
            return d;
        }
        FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: unexpected arguments for %s",
              callable->u.g.name);
        return NULL;
    }
    case TG_SIZE: {
        ckpt_obj *dims = arg(args, 0);
        int64_t *v;
        int n;
        if (na != 1 || int_list(L, dims, &v, &n, "torch.Size", off, err) < 0) {
            if (!ckpt__error_is_set(err))
                FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: torch.Size needs one tuple");
            return NULL;
        }
        t = ckpt_size_new(doc, (size_t)n, v);
        return t ? t : nomem_null(doc, err, off);
    }
    case TG_DEVICE: return make_device(L, args, off, err);
    case TG_CODECS_ENCODE: return codecs_encode(L, args, off, err);
    case TG_BYTES:
        if (na != 0) {
            FAILP(L, CKPT_E_UNSAFE, op, off, "REDUCE: bytes() with arguments is not allowed");
            return NULL;
        }
        t = ckpt_bytes_new(doc, "", 0);
        return t ? t : nomem_null(doc, err, off);
    case TG_BYTEARRAY: {
        ckpt_obj *src = arg(args, 0);
        if (na == 0)
            t = ckpt_bytearray_new(doc, "", 0);
        else if (na == 1 && src->type == CKPT_T_BYTES)
            t = ckpt_bytearray_new(doc, src->u.s.p, src->u.s.n);
        else if (na == 2 && src->type == CKPT_T_STR) {
            /* protocol < 3: bytearray(latin-1 text, 'latin-1') */
            ckpt_obj *b = codecs_encode(L, args, off, err);
            if (!b)
                return NULL;
            b->type = CKPT_T_BYTEARRAY;
            return b;
        } else {
            FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: bytearray needs bytes");
            return NULL;
        }
        return t ? t : nomem_null(doc, err, off);
    }
    case TG_SET:
    case TG_FROZENSET: {
        ckpt_obj *s = ckpt_set_new(doc);
        if (!s)
            return nomem_null(doc, err, off);
        ckpt_obj *src = arg(args, 0);
        if (na == 0)
            return s;
        if (na != 1 ||
            (src->type != CKPT_T_LIST && src->type != CKPT_T_TUPLE && src->type != CKPT_T_SET)) {
            FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: set needs a list");
            return NULL;
        }
        for (size_t i = 0; i < src->u.seq.n; i++) {
            if (!ckpt__obj_hashable(src->u.seq.items[i])) {
                FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: unhashable set item");
                return NULL;
            }
            if (ckpt_set_add(doc, s, src->u.seq.items[i], err) < 0)
                return nomem_null(doc, err, off);
        }
        return s;
    }
    case TG_COMPLEX: {
        const ckpt_obj *re = arg(args, 0), *im = arg(args, 1);
        bool ok = na <= 2 && (!re || re->type == CKPT_T_FLOAT || re->type == CKPT_T_INT) &&
                  (!im || im->type == CKPT_T_FLOAT || im->type == CKPT_T_INT);
        if (!ok) {
            FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: complex needs numbers");
            return NULL;
        }
        t = ckpt_complex_new(doc, ckpt_obj_float(re), ckpt_obj_float(im));
        return t ? t : nomem_null(doc, err, off);
    }
    case TG_REBUILD_TENSOR:
    case TG_REBUILD_TENSOR_V2: {
        size_t want = id == TG_REBUILD_TENSOR ? 4 : 6;
        if (na != want && !(id == TG_REBUILD_TENSOR_V2 && na == 7)) {
            FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: %s takes %zu arguments, got %zu",
                  callable->u.g.name, want, na);
            return NULL;
        }
        ckpt_obj *st = arg(args, 0);
        int dtype = (st && st->type == CKPT_T_STORAGE) ? st->u.st->dtype : CKPT_U8;
        if (st && st->type == CKPT_T_STORAGE && st->u.st->untyped) {
            FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: %s over an untyped storage",
                  callable->u.g.name);
            return NULL;
        }
        t = make_tensor(L, st, dtype, arg(args, 1), arg(args, 2), arg(args, 3), off, err);
        if (!t)
            return NULL;
        if (id == TG_REBUILD_TENSOR_V2) {
            t->u.t->requires_grad = ckpt_obj_bool(arg(args, 4));
            if (na == 7 && !is_empty_mapping(arg(args, 6)))
                t->u.t->meta = arg(args, 6);
        }
        return t;
    }
    case TG_REBUILD_TENSOR_V3: {
        if (na != 7 && na != 8) {
            FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: _rebuild_tensor_v3 takes 7 arguments");
            return NULL;
        }
        ckpt_obj *dt = arg(args, 6);
        if (dt->type != CKPT_T_DTYPE || ckpt_dtype_size(dt->u.dtype) == 0) {
            FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: _rebuild_tensor_v3 dtype argument");
            return NULL;
        }
        t = make_tensor(L, arg(args, 0), dt->u.dtype, arg(args, 1), arg(args, 2), arg(args, 3),
                        off, err);
        if (!t)
            return NULL;
        t->u.t->requires_grad = ckpt_obj_bool(arg(args, 4));
        if (na == 8 && !is_empty_mapping(arg(args, 7)))
            t->u.t->meta = arg(args, 7);
        return t;
    }
    case TG_REBUILD_QTENSOR: {
        if (na != 7) {
            FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: _rebuild_qtensor takes 7 arguments");
            return NULL;
        }
        ckpt_obj *st = arg(args, 0);
        int dtype = (st && st->type == CKPT_T_STORAGE) ? st->u.st->dtype : CKPT_U8;
        t = make_tensor(L, st, dtype, arg(args, 1), arg(args, 2), arg(args, 3), off, err);
        if (!t)
            return NULL;
        ckpt_obj *q = arg(args, 4);
        if (q->type != CKPT_T_TUPLE || q->u.seq.n < 1 || gid(q->u.seq.items[0]) != TG_QSCHEME) {
            FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: bad quantizer parameters");
            return NULL;
        }
        t->u.t->qparams = q;
        t->u.t->requires_grad = ckpt_obj_bool(arg(args, 5));
        return t;
    }
    case TG_REBUILD_META_TENSOR_NO_STORAGE: {
        ckpt_obj *dt = arg(args, 0);
        int64_t *shape, *stride;
        int nd, nd2;
        if (na != 4 || dt->type != CKPT_T_DTYPE ||
            int_list(L, arg(args, 1), &shape, &nd, "size", off, err) < 0 ||
            int_list(L, arg(args, 2), &stride, &nd2, "stride", off, err) < 0 || nd != nd2) {
            if (!ckpt__error_is_set(err))
                FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: bad meta tensor arguments");
            return NULL;
        }
        t = ckpt__tensor_new(doc, NULL, dt->u.dtype, nd, shape, stride, 0);
        if (!t)
            return nomem_null(doc, err, off);
        if (ckpt__tensor_check_bounds(t->u.t, err) < 0)
            return NULL;
        t->u.t->requires_grad = ckpt_obj_bool(arg(args, 3));
        return t;
    }
    case TG_REBUILD_PARAMETER:
    case TG_REBUILD_PARAMETER_WITH_STATE:
        if (na != (id == TG_REBUILD_PARAMETER ? 3u : 4u)) {
            FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: %s argument count", callable->u.g.name);
            return NULL;
        }
        t = make_param(L, arg(args, 0), arg(args, 1), off, err);
        if (t && id == TG_REBUILD_PARAMETER_WITH_STATE && !is_empty_mapping(arg(args, 3)))
            t->u.t->param_state = arg(args, 3);
        return t;
    case TG_REBUILD_FROM_TYPE_V2: {
        ckpt_obj *func = arg(args, 0), *cls = arg(args, 1), *fargs = arg(args, 2);
        if (na != 4 || !fargs || fargs->type != CKPT_T_TUPLE || gid(func) <= 0) {
            FAILP(L, CKPT_E_FORMAT, op, off, "REDUCE: bad _rebuild_from_type_v2 arguments");
            return NULL;
        }
        t = h_reduce(L, doc, func, fargs, op, off, err);
        if (!t)
            return NULL;
        int cid = gid(cls);
        if (t->type == CKPT_T_TENSOR && cid == TG_PARAMETER) {
            t = make_param(L, t, NULL, off, err);
        } else if (t->type != CKPT_T_TENSOR || (cid != TG_TENSOR && cid != TG_PARAMETER)) {
            if (!full_mode(L)) {
                FAILP(L, CKPT_E_UNSAFE, op, off,
                      "REDUCE: tensor subclass %s.%s is not allowed in weights-only mode",
                      cls && cls->type == CKPT_T_GLOBAL ? cls->u.g.module : "?",
                      cls && cls->type == CKPT_T_GLOBAL ? cls->u.g.name : "?");
                return NULL;
            }
            ckpt_obj *o = opaque(L, cls, fargs, NULL, "rebuild_from_type_v2", off, err);
            if (o)
                o->u.obj->state = arg(args, 3);
            return o;
        }
        if (t && !is_empty_mapping(arg(args, 3)))
            t->u.t->param_state = arg(args, 3);
        return t;
    }
    case TG_REBUILD_SPARSE_TENSOR:
    case TG_REBUILD_SPARSE_CSR_TENSOR:
    case TG_REBUILD_NESTED_TENSOR:
    case TG_REBUILD_WRAPPER_SUBCLASS:
    case TG_REBUILD_DEVICE_TENSOR_FROM_NUMPY:
    case TG_REBUILD_DEVICE_TENSOR_FROM_CPU_TENSOR:
    case TG_GET_LAYOUT:
        if (full_mode(L))
            return opaque(L, callable, args, NULL, "reduce", off, err);
        FAILP(L, CKPT_E_UNSUPPORTED, op, off,
              "REDUCE: %s (sparse, nested, subclass or device tensors) is not supported yet",
              callable->u.g.name);
        return NULL;
    default:
        if (full_mode(L))
            return opaque(L, callable, args, NULL, "reduce", off, err);
        return refuse_call(L, callable, op, off, err);
    }
}

static ckpt_obj *h_reduce(void *ctx, ckpt_doc *doc, ckpt_obj *callable, ckpt_obj *args, int op,
                          uint64_t off, ckpt_error *err)
{
    tload *L = ctx;
    (void)doc;
    if (callable->type != CKPT_T_GLOBAL) {
        if (full_mode(L))
            return opaque(L, callable, args, NULL, "reduce", off, err);
        return refuse_call(L, callable, op, off, err);
    }
    int id = callable->u.g.id;
    /* TorchScript's list builders and type tags return their first argument
     * (torch/jit/_pickle.py): keep the value itself so its tensors stay reachable */
    if (full_mode(L) && id == TG_UNKNOWN &&
        strcmp(callable->u.g.module, "torch.jit._pickle") == 0 &&
        (strcmp(callable->u.g.name, "build_tensorlist") == 0 ||
         strcmp(callable->u.g.name, "build_intlist") == 0 ||
         strcmp(callable->u.g.name, "build_doublelist") == 0 ||
         strcmp(callable->u.g.name, "build_boollist") == 0 ||
         strcmp(callable->u.g.name, "restore_type_tag") == 0) &&
        args && args->type == CKPT_T_TUPLE && args->u.seq.n >= 1)
        return args->u.seq.items[0];
    /* a non-tuple argument counts as arguments: refused where arguments are */
    size_t nargs = (args && args->type == CKPT_T_TUPLE) ? args->u.seq.n : 1;
    if (ckpt__wo_reduce_refusal(id, nargs)) { /* the rule the scanner applies too */
        if (full_mode(L) || user_allowed(L, callable->u.g.module, callable->u.g.name))
            return opaque(L, callable, args, NULL, "reduce", off, err);
        return refuse_call(L, callable, op, off, err);
    }
    return rebuild(L, id, callable, args, op, off, err);
}

/* ------------------------------------------------------------------ NEWOBJ */

static ckpt_obj *h_newobj(void *ctx, ckpt_doc *doc, ckpt_obj *cls, ckpt_obj *args,
                          ckpt_obj *kwargs, int op, uint64_t off, ckpt_error *err)
{
    tload *L = ctx;
    (void)doc;
    size_t nargs = (args && args->type == CKPT_T_TUPLE) ? args->u.seq.n : 0;
    if (!ckpt__wo_newobj_refusal(gid(cls), op, nargs, kwargs != NULL)) { /* as the scanner */
        ckpt_obj *data = arg(args, 0);
        if (data && data->type == CKPT_T_TENSOR)
            return make_param(L, data, arg(args, 1), off, err);
    }
    bool allowed_user = cls->type == CKPT_T_GLOBAL &&
                        user_allowed(L, cls->u.g.module, cls->u.g.name);
    if (full_mode(L) || allowed_user) {
        const char *how = op == CKPT_OP_NEWOBJ      ? "newobj"
                          : op == CKPT_OP_NEWOBJ_EX ? "newobj_ex"
                          : op == CKPT_OP_OBJ       ? "obj"
                                                    : "inst";
        return opaque(L, cls, args, kwargs, how, off, err);
    }
    if (cls->type == CKPT_T_GLOBAL)
        FAILP(L, CKPT_E_UNSAFE, op, off,
              "%s: can only create nn.Parameter or allowlisted classes, not %s.%s", op_name(op),
              cls->u.g.module, cls->u.g.name);
    else
        FAILP(L, CKPT_E_UNSAFE, op, off, "%s: class argument is a %s", op_name(op),
              ckpt_type_name(cls->type));
    return NULL;
}

/* ------------------------------------------------------------------ BUILD */

static int merge_attrs(ckpt_doc *doc, ckpt_obj **slot, ckpt_obj *state)
{
    if (!*slot) {
        *slot = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
        if (!*slot)
            return CKPT_E_NOMEM;
    }
    for (size_t i = 0; i < state->u.dict->n; i++)
        if (ckpt__dict_set(doc, *slot, state->u.dict->keys[i], state->u.dict->vals[i]) < 0)
            return CKPT_E_NOMEM;
    return 0;
}

static int h_build(void *ctx, ckpt_doc *doc, ckpt_obj *obj, ckpt_obj *state, int op, uint64_t off,
                   ckpt_error *err)
{
    tload *L = ctx;
    if (obj->type == CKPT_T_DICT && !ckpt__wo_build_dict_refusal(obj->u.dict->kind)) {
        ckpt_obj *d = state;
        /* (dict, slots) form */
        if (state->type == CKPT_T_TUPLE && state->u.seq.n == 2)
            d = state->u.seq.items[0];
        if (d->type == CKPT_T_NONE)
            return 0;
        if (d->type != CKPT_T_DICT)
            return FAILP(L, CKPT_E_FORMAT, op, off, "BUILD: OrderedDict state is a %s",
                         ckpt_type_name(d->type));
        if (merge_attrs(doc, &obj->u.dict->attrs, d) < 0)
            return nomem_null(doc, err, off), CKPT_E_NOMEM;
        return 0;
    }
    if (obj->type == CKPT_T_OBJECT) {
        ckpt__object *ob = obj->u.obj;
        if (ob->state && ob->state->type == CKPT_T_DICT && state->type == CKPT_T_DICT &&
            ob->state != state) {
            if (merge_attrs(doc, &ob->state, state) < 0)
                return nomem_null(doc, err, off), CKPT_E_NOMEM;
        } else {
            ob->state = state;
        }
        return 0;
    }
    if (obj->type == CKPT_T_TENSOR && is_empty_mapping(state))
        return 0;
    if (full_mode(L) && obj->type == CKPT_T_TENSOR) {
        obj->u.t->param_state = state;
        return 0;
    }
    return FAILP(L, CKPT_E_UNSAFE, op, off,
                 "BUILD: can only build Tensor, Parameter, OrderedDict or allowlisted types, "
                 "not a %s",
                 ckpt_type_name(obj->type));
}

/* ------------------------------------------------------- persistent ids */

ckpt_storage *ckpt__tload_storage(tload *L, const char *key);

/* FNV-1a with a final mix: the decimal keys "0".."99999" spread evenly */
static size_t key_hash(const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = key; *p; p++) {
        h ^= (unsigned char)*p;
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (size_t)h;
}

static ckpt_storage *key_find(tload *L, const char *key)
{
    if (!L->keys_cap)
        return NULL;
    size_t mask = L->keys_cap - 1;
    size_t h = key_hash(key);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        if (!L->keys[i].key)
            return NULL;
        if (strcmp(L->keys[i].key, key) == 0)
            return L->keys[i].st;
    }
}

static int key_add(tload *L, const char *key, ckpt_storage *st)
{
    if ((L->nkeys + 1) * 2 > L->keys_cap) {
        size_t ncap = L->keys_cap ? L->keys_cap * 2 : 64;
        st_entry *nk = ckpt__mem_calloc(&L->doc->mem, ncap * sizeof(*nk));
        if (!nk)
            return CKPT_E_NOMEM;
        st_entry *old = L->keys;
        size_t ocap = L->keys_cap;
        L->keys = nk;
        L->keys_cap = ncap;
        L->nkeys = 0;
        for (size_t i = 0; i < ocap; i++)
            if (old[i].key)
                key_add(L, old[i].key, old[i].st);
        ckpt__mem_free(&L->doc->mem, old, ocap * sizeof(*old));
    }
    size_t mask = L->keys_cap - 1;
    size_t h = key_hash(key);
    size_t i = h & mask;
    while (L->keys[i].key)
        i = (i + 1) & mask;
    L->keys[i].key = key;
    L->keys[i].st = st;
    L->nkeys++;
    return 0;
}

ckpt_storage *ckpt__tload_storage(tload *L, const char *key)
{
    return key_find(L, key);
}

/* Legacy stream (spec 3.2): ('storage', cls, key, location, numel, view_metadata) and
 * ('module', cls, source_file, source).  Storages get no bytes here: the legacy
 * reader fills the roots from the raw section after the key list.  A view
 * storage (old view_metadata) records its root in `entry` and its byte offset
 * into the root in `file_offset` until the legacy reader points it into the
 * root's bytes.  Strings may be bytes (encoding='bytes'), as torch's
 * _maybe_decode_ascii allows. */
static bool lg_text(const ckpt_obj *o)
{
    return o && (o->type == CKPT_T_STR || o->type == CKPT_T_BYTES);
}

static ckpt_obj *lg_fail(tload *L, int code, int op, uint64_t off, ckpt_error *err,
                         const char *what)
{
    FAILP(L, code, op, off, "%s: legacy %s", op_name(op), what);
    return NULL;
}

/* A canonical decimal ("0", "17"; no sign, no leading zero) below `limit`, or -1. */
static long canonical_index(const char *s, size_t n, size_t limit)
{
    if (n == 0 || n > 12 || (n > 1 && s[0] == '0'))
        return -1;
    size_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (size_t)(s[i] - '0');
    }
    return v < limit ? (long)v : -1;
}

/* data/<n> records by n, built once per load: one array lookup per storage */
static int build_by_num(tload *L, ckpt_doc *doc)
{
    size_t n = ckpt_zip_count(L->zip);
    L->by_num_n = n;
    L->by_num = ckpt__mem_calloc(&doc->mem, (n ? n : 1) * sizeof(*L->by_num));
    if (!L->by_num)
        return CKPT_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        const ckpt_zip_entry *e = ckpt_zip_entry_at(L->zip, i);
        size_t dl = strlen(L->rec_dir);
        if (!e->record || strncmp(e->record, L->rec_dir, dl) != 0)
            continue;
        long v = canonical_index(e->record + dl, strlen(e->record + dl), n);
        if (v >= 0)
            L->by_num[v] = e;
    }
    return 0;
}

/* A new storage named `key`, restored to its map_location target (or kept at
 * its saved tag), shared by the zip and legacy persistent ids. */
static ckpt_storage *new_storage(tload *L, ckpt_doc *doc, const ckpt_obj *key,
                                 const ckpt_obj *loc, int dtype, bool untyped, uint64_t nbytes,
                                 uint64_t off, ckpt_error *err)
{
    char where[128];
    if (L->opts->keep_locations) {
        snprintf(where, sizeof(where), "%s", loc->u.s.p);
    } else if (L->last_tag && strcmp(L->last_tag, loc->u.s.p) == 0) {
        memcpy(where, L->last_where, sizeof(where)); /* same tag as the last storage */
    } else if (ckpt__map_location(L->opts, loc->u.s.p, where, sizeof(where), err) < 0) {
        if (err && err->where == CKPT_WHERE_NONE) {
            err->where = CKPT_WHERE_PICKLE;
            err->offset = off;
            snprintf(err->member, sizeof(err->member), "data.pkl");
        }
        return NULL;
    }
    if (!L->opts->keep_locations && (!L->last_tag || L->last_tag != loc->u.s.p)) {
        L->last_tag = loc->u.s.p;
        memcpy(L->last_where, where, sizeof(L->last_where));
        L->last_loc = ckpt__arena_strndup(&doc->arena, where, strlen(where));
        if (!L->last_loc) {
            nomem_null(doc, err, off);
            return NULL;
        }
    }
    ckpt_storage *st = ckpt__storage_new(doc, dtype, untyped, nbytes);
    if (!st || !(st->key = key->u.s.p) ||
        !(st->location = L->opts->keep_locations
                             ? ckpt__arena_strndup(&doc->arena, where, strlen(where))
                             : L->last_loc)) {
        nomem_null(doc, err, off);
        return NULL;
    }
    return st;
}

static ckpt_obj *legacy_persistent_load(tload *L, ckpt_doc *doc, ckpt_obj *pid, int op,
                                        uint64_t off, ckpt_error *err)
{
    if (pid->type != CKPT_T_TUPLE || pid->u.seq.n < 1 || !lg_text(pid->u.seq.items[0]))
        return lg_fail(L, CKPT_E_UNSAFE, op, off, err,
                       "persistent ids must be ('storage', ...) or ('module', ...) tuples");
    const char *tag = pid->u.seq.items[0]->u.s.p;
    if (strcmp(tag, "module") == 0) {
        ckpt_obj *cls = pid->u.seq.n == 4 ? pid->u.seq.items[1] : NULL;
        if (!cls || cls->type != CKPT_T_GLOBAL)
            return lg_fail(L, CKPT_E_FORMAT, op, off, err,
                           "module id must be ('module', <class>, source_file, source)");
        if (full_mode(L) || user_allowed(L, cls->u.g.module, cls->u.g.name))
            return cls;
        FAILP(L, CKPT_E_UNSAFE, op, off,
              "%s: whole-module pickle: class %s.%s (a 'module' persistent id) is not allowed "
              "in weights-only mode; nothing was executed",
              op_name(op), cls->u.g.module, cls->u.g.name);
        return NULL;
    }
    if (strcmp(tag, "storage") != 0) {
        FAILP(L, CKPT_E_UNSAFE, op, off, "%s: unknown legacy persistent id type '%.40s'",
              op_name(op), tag);
        return NULL;
    }
    if (pid->u.seq.n != 6) {
        FAILP(L, CKPT_E_FORMAT, op, off, "%s: legacy storage id has %zu fields, expected 6",
              op_name(op), pid->u.seq.n);
        return NULL;
    }
    ckpt_obj *cls = pid->u.seq.items[1], *key = pid->u.seq.items[2], *loc = pid->u.seq.items[3],
             *numel = pid->u.seq.items[4], *view = pid->u.seq.items[5];
    int cid = gid(cls);
    if ((cid != TG_STORAGE_CLASS && cid != TG_UNTYPED_STORAGE) || !lg_text(key) ||
        !lg_text(loc) || numel->type != CKPT_T_INT || numel->u.i < 0)
        return lg_fail(L, CKPT_E_FORMAT, op, off, err,
                       "storage id must be ('storage', <storage class>, key, location, numel, "
                       "view_metadata)");
    bool untyped = cid == TG_UNTYPED_STORAGE;
    int dtype = untyped ? CKPT_U8 : ckpt__dtype_from_storage_name(cls->u.g.name);
    size_t isz = untyped ? 1 : ckpt_dtype_size(dtype);
    uint64_t nbytes;
    if (isz == 0 || ckpt_mul_u64((uint64_t)numel->u.i, isz, &nbytes))
        return lg_fail(L, CKPT_E_FORMAT, op, off, err, "storage size overflows");
    if (nbytes > L->src->size) {
        FAILP(L, CKPT_E_FORMAT, op, off,
              "%s: storage '%.60s' declares %llu bytes (%lld elements) but the file is only "
              "%llu bytes",
              op_name(op), key->u.s.p, (unsigned long long)nbytes, (long long)numel->u.i,
              (unsigned long long)L->src->size);
        return NULL;
    }
    ckpt_storage *st = key_find(L, key->u.s.p);
    if (st) {
        if (st->entry) {
            FAILP(L, CKPT_E_FORMAT, op, off,
                  "%s: storage key '%.60s' names both a view and a root storage", op_name(op),
                  key->u.s.p);
            return NULL;
        }
        if (st->dtype != dtype || st->untyped != untyped || st->nbytes != nbytes) {
            FAILP(L, CKPT_E_FORMAT, op, off,
                  "%s: storage '%.60s' is named again with another type or size", op_name(op),
                  key->u.s.p);
            return NULL;
        }
    } else {
        st = new_storage(L, doc, key, loc, dtype, untyped, nbytes, off, err);
        if (!st || key_add(L, st->key, st) < 0)
            return st ? nomem_null(doc, err, off) : NULL;
    }
    if (view->type != CKPT_T_NONE) {
        ckpt_obj *vkey = NULL, *voff = NULL, *vsize = NULL;
        if (view->type == CKPT_T_TUPLE && view->u.seq.n == 3) {
            vkey = view->u.seq.items[0];
            voff = view->u.seq.items[1];
            vsize = view->u.seq.items[2];
        }
        if (!vkey || !lg_text(vkey) || voff->type != CKPT_T_INT || vsize->type != CKPT_T_INT ||
            voff->u.i < 0 || vsize->u.i < 0)
            return lg_fail(L, CKPT_E_FORMAT, op, off, err,
                           "view_metadata must be None or (view_key, offset, size)");
        uint64_t end;
        if (ckpt_add_u64((uint64_t)voff->u.i, (uint64_t)vsize->u.i, &end) ||
            end > (uint64_t)numel->u.i) {
            FAILP(L, CKPT_E_FORMAT, op, off,
                  "%s: view '%.60s' of storage '%.60s' covers elements %lld..%lld but the "
                  "storage has %lld",
                  op_name(op), vkey->u.s.p, key->u.s.p, (long long)voff->u.i,
                  (long long)voff->u.i + (long long)vsize->u.i, (long long)numel->u.i);
            return NULL;
        }
        uint64_t vbytes = (uint64_t)vsize->u.i * isz, vstart = (uint64_t)voff->u.i * isz;
        ckpt_storage *vs = key_find(L, vkey->u.s.p);
        if (vs) {
            if (vs->entry != st || vs->file_offset != vstart || vs->nbytes != vbytes) {
                FAILP(L, CKPT_E_FORMAT, op, off,
                      "%s: view key '%.60s' is named again with another root, offset or size",
                      op_name(op), vkey->u.s.p);
                return NULL;
            }
        } else {
            vs = ckpt__storage_new(doc, dtype, untyped, vbytes);
            if (!vs || !(vs->key = vkey->u.s.p) || key_add(L, vs->key, vs) < 0)
                return nomem_null(doc, err, off);
            vs->location = st->location;
            vs->entry = st;
            vs->file_offset = vstart;
        }
        st = vs;
    }
    ckpt_obj *o = ckpt__node(doc, CKPT_T_STORAGE);
    if (!o)
        return nomem_null(doc, err, off);
    o->u.st = st;
    return o;
}

static ckpt_obj *h_persistent_load(void *ctx, ckpt_doc *doc, ckpt_obj *pid, int op, uint64_t off,
                                   ckpt_error *err)
{
    tload *L = ctx;
    if (L->format != TF_ZIP)
        return legacy_persistent_load(L, doc, pid, op, off, err);
    if (pid->type != CKPT_T_TUPLE || pid->u.seq.n < 1 ||
        pid->u.seq.items[0]->type != CKPT_T_STR ||
        strcmp(pid->u.seq.items[0]->u.s.p, "storage") != 0) {
        FAILP(L, CKPT_E_UNSAFE, op, off,
              "%s: only persistent ids of the form ('storage', ...) are allowed", op_name(op));
        return NULL;
    }
    /* TorchScript archives of torch 1.3-1.4 add a sixth field, view metadata None
     * (torch's own TorchScript reader ignores it; torch.load would fail) */
    if (pid->u.seq.n != 5 &&
        !(pid->u.seq.n == 6 && full_mode(L) && pid->u.seq.items[5]->type == CKPT_T_NONE)) {
        FAILP(L, CKPT_E_FORMAT, op, off, "%s: storage id has %zu fields, expected 5", op_name(op),
              pid->u.seq.n);
        return NULL;
    }
    ckpt_obj *cls = pid->u.seq.items[1], *key = pid->u.seq.items[2], *loc = pid->u.seq.items[3],
             *numel = pid->u.seq.items[4];
    int cid = gid(cls);
    if ((cid != TG_STORAGE_CLASS && cid != TG_UNTYPED_STORAGE) || key->type != CKPT_T_STR ||
        loc->type != CKPT_T_STR || numel->type != CKPT_T_INT || numel->u.i < 0) {
        FAILP(L, CKPT_E_FORMAT, op, off,
              "%s: storage id must be ('storage', <storage class>, key, location, numel)",
              op_name(op));
        return NULL;
    }
    bool untyped = cid == TG_UNTYPED_STORAGE;
    int dtype = untyped ? CKPT_U8 : ckpt__dtype_from_storage_name(cls->u.g.name);
    uint64_t nbytes;
    if (ckpt_mul_u64((uint64_t)numel->u.i, ckpt_dtype_size(dtype), &nbytes)) {
        FAILP(L, CKPT_E_FORMAT, op, off, "%s: storage size overflows", op_name(op));
        return NULL;
    }
    /* zip files: find the record first and key storages by it */
    const ckpt_zip_entry *ze = NULL;
    char zrec[300];
    if (L->zip) {
        size_t dl = strlen(L->rec_dir);
        size_t kl = key->u.s.n < sizeof(zrec) - 1 - dl ? key->u.s.n : sizeof(zrec) - 1 - dl;
        memcpy(zrec, L->rec_dir, dl);
        memcpy(zrec + dl, key->u.s.p, kl);
        zrec[dl + kl] = '\0';
        if (!L->by_num && build_by_num(L, doc) < 0)
            return nomem_null(doc, err, off);
        long num = canonical_index(key->u.s.p, key->u.s.n, L->by_num_n);
        ze = num >= 0 ? L->by_num[num] : NULL;
        if (!ze)
            ze = ckpt_zip_find(L->zip, zrec);
        if (!ze) {
            FAILP(L, CKPT_E_FORMAT, op, off, "%s: storage record %s is missing from the archive",
                  op_name(op), zrec);
            return NULL;
        }
        if (!L->by_entry) {
            L->by_entry_n = ckpt_zip_count(L->zip);
            L->by_entry = ckpt__mem_calloc(&doc->mem, L->by_entry_n * sizeof(*L->by_entry));
            if (!L->by_entry)
                return nomem_null(doc, err, off);
        }
    }
    ckpt_storage *st = ze ? L->by_entry[ckpt_zip_entry_index(L->zip, ze)]
                          : key_find(L, key->u.s.p);
    if (st) {
        if (st->dtype != dtype || st->untyped != untyped || st->nbytes != nbytes) {
            FAILP(L, CKPT_E_FORMAT, op, off,
                  "%s: storage '%s' is named again with another type or size", op_name(op),
                  key->u.s.p);
            return NULL;
        }
    } else {
        const char *rec = zrec;
        const ckpt_zip_entry *e = ze;
        if (L->zip && !e) {
            FAILP(L, CKPT_E_FORMAT, op, off, "%s: storage record %s is missing from the archive",
                  op_name(op), rec);
            return NULL;
        }
        if (e && e->size < nbytes) {
            FAILP(L, CKPT_E_FORMAT, op, off,
                  "%s: storage record %s holds %llu bytes but the pickle declares %llu "
                  "(%lld elements)",
                  op_name(op), rec, (unsigned long long)e->size, (unsigned long long)nbytes,
                  (long long)numel->u.i);
            return NULL;
        }
        st = new_storage(L, doc, key, loc, dtype, untyped, nbytes, off, err);
        if (!st || (!ze && key_add(L, st->key, st) < 0))
            return st ? nomem_null(doc, err, off) : NULL;
        if (ze)
            L->by_entry[ckpt_zip_entry_index(L->zip, ze)] = st;
        st->file_offset = e ? e->data_offset : 0;
        st->entry = e;
    }
    ckpt_obj *o = ckpt__node(doc, CKPT_T_STORAGE);
    if (!o)
        return nomem_null(doc, err, off);
    o->u.st = st;
    return o;
}

static ckpt_obj *h_ext(void *ctx, ckpt_doc *doc, int64_t code, int op, uint64_t off,
                       ckpt_error *err)
{
    tload *L = ctx;
    (void)doc;
    FAILP(L, CKPT_E_UNSAFE, op, off, "%s: extension code %lld refers to an unknown global",
          op_name(op), (long long)code);
    return NULL;
}

void ckpt__torch_hooks(ckpt_pickle_hooks *h, tload *L)
{
    memset(h, 0, sizeof(*h));
    h->ctx = L;
    h->find_class = h_find_class;
    h->persistent_load = h_persistent_load;
    h->reduce = h_reduce;
    h->newobj = h_newobj;
    h->build = h_build;
    h->ext = h_ext;
}
