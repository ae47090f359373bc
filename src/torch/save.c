/* src/torch/save.c - torch.save: the object tree to a protocol-2 pickle with
 * CPython's memo behaviour, storages to data/<key> records, all in a zip laid
 * out as torch writes it; atomic replacement of the target file. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/atomic.h"
#include "core/checked.h"
#include "core/err.h"
#include "core/utf8.h"
#include "pickle/emit.h"
#include "torch_internal.h"

#define MAX_SAVE_DEPTH 1000

typedef struct tsave {
    ckpt__emit e;
    ckpt_error *err;
    /* storages in first-reference order; key = index as decimal */
    const ckpt_storage **st;
    size_t nst, st_cap;
    ckpt__memo_map *unused;
    int depth;
    bool legacy; /* 6-field persistent ids (legacy stream format) */
    /* addresses used as memo keys for CPython's shared constants */
    char k_storage, k_cpu, k_latin1, k_meta;
    /* CPython shares one object for '' and for each 1-character str with a code
     * point below 256 (and likewise for b'' and 1-byte bytes): memoize those
     * by value, as identity would */
    char k_char[257];
    char k_byte[257];
} tsave;

/* memo key of a str that CPython keeps as a singleton, or NULL */
static const void *str_singleton(tsave *S, const char *p, size_t n)
{
    if (n == 0)
        return &S->k_char[256];
    uint32_t cp = 0;
    size_t l = ckpt_utf8_get((const uint8_t *)p, n, &cp);
    if (l == n && cp < 256)
        return &S->k_char[cp];
    return NULL;
}

static const void *bytes_singleton(tsave *S, const char *p, size_t n)
{
    if (n == 0)
        return &S->k_byte[256];
    if (n == 1)
        return &S->k_byte[(uint8_t)p[0]];
    return NULL;
}

static int s_obj(tsave *S, const ckpt_obj *o);

static int oom(tsave *S)
{
    return CKPT_FAIL(S->err, CKPT_E_NOMEM, "out of memory while pickling");
}

/* memoize `key` (node identity) after its opcodes */
static void memo(tsave *S, const void *key)
{
    ckpt__emit_memoize(&S->e, key);
}

static bool try_get(tsave *S, const void *key)
{
    uint32_t idx;
    if (ckpt__emit_memo_get(&S->e, key, &idx)) {
        ckpt__emit_get(&S->e, idx);
        return true;
    }
    return false;
}

/* a constant string CPython shares between calls ('storage', 'cpu', 'latin1') */
static void const_str(tsave *S, const void *key, const char *s)
{
    if (try_get(S, key))
        return;
    ckpt__emit_str(&S->e, s, strlen(s));
    memo(S, key);
}

static const char *py2_module(const char *m)
{
    if (strcmp(m, "builtins") == 0)
        return "__builtin__";
    if (strcmp(m, "copyreg") == 0)
        return "copy_reg";
    return m;
}

static void global(tsave *S, const char *module, const char *name)
{
    ckpt__emit_global(&S->e, py2_module(module), name);
}

/* ------------------------------------------------------------- storages */

static int storage_index(tsave *S, const ckpt_storage *st, size_t *out)
{
    /* linear ids: storages remember their position through a map keyed by pointer */
    uint32_t idx;
    const void *key = (const char *)st + 1; /* distinct from any node address */
    if (ckpt__emit_memo_get(&S->e, key, &idx)) {
        *out = idx;
        return 0;
    }
    if (S->nst == S->st_cap) {
        size_t ncap = S->st_cap ? S->st_cap * 2 : 64;
        const ckpt_storage **ns = ckpt__realloc(S->e.alloc, S->st, S->st_cap * sizeof(*ns),
                                                ncap * sizeof(*ns));
        if (!ns)
            return oom(S);
        S->st = ns;
        S->st_cap = ncap;
    }
    S->st[S->nst] = st;
    ckpt__emit_memo_set(&S->e, key, (uint32_t)S->nst);
    *out = S->nst++;
    return 0;
}

/* persistent id of a storage: MARK 'storage' <class> key location numel TUPLE BINPUT BINPERSID */
static int s_storage_pid(tsave *S, const ckpt_storage *st, bool untyped)
{
    size_t idx = 0;
    CKPT_TRY(storage_index(S, st, &idx));
    ckpt__emit_byte(&S->e, '(');
    const_str(S, &S->k_storage, "storage");
    uint64_t numel;
    if (untyped || st->untyped) {
        global(S, "torch.storage", "UntypedStorage");
        numel = st->nbytes;
    } else {
        const char *cls = ckpt__dtype_storage_name(st->dtype);
        if (!cls)
            return CKPT_FAIL(S->err, CKPT_E_UNSUPPORTED, "no storage class for dtype %s",
                             ckpt_dtype_name(st->dtype));
        global(S, "torch", cls);
        numel = st->nbytes / ckpt_dtype_size(st->dtype);
    }
    /* the key string is created once per storage: literal, then BINGET */
    const void *kkey = (const char *)st + 2;
    if (!try_get(S, kkey)) {
        char k[32];
        int n = snprintf(k, sizeof(k), "%zu", idx);
        ckpt__emit_str(&S->e, k, (size_t)n);
        memo(S, kkey);
    }
    const char *loc = st->location ? st->location : "cpu";
    if (strcmp(loc, "cpu") == 0) {
        const_str(S, &S->k_cpu, "cpu");
    } else if (strcmp(loc, "meta") == 0) {
        const_str(S, &S->k_meta, "meta");
    } else { /* 'cuda:N' is built per call in torch: a fresh string each time */
        ckpt__emit_str(&S->e, loc, strlen(loc));
        ckpt__emit_put(&S->e);
    }
    ckpt__emit_int(&S->e, (int64_t)numel);
    if (S->legacy)
        ckpt__emit_byte(&S->e, 'N'); /* view_metadata */
    ckpt__emit_byte(&S->e, 't');
    ckpt__emit_put(&S->e);
    ckpt__emit_byte(&S->e, 'Q');
    return 0;
}

/* --------------------------------------------------------------- tensors */

static void int_tuple(tsave *S, const int64_t *v, int n)
{
    if (n == 0) {
        ckpt__emit_byte(&S->e, ')');
        return;
    }
    if (n > 3)
        ckpt__emit_byte(&S->e, '(');
    for (int i = 0; i < n; i++)
        ckpt__emit_int(&S->e, v[i]);
    ckpt__emit_byte(&S->e, n == 1 ? 0x85 : n == 2 ? 0x86 : n == 3 ? 0x87 : 't');
    ckpt__emit_put(&S->e);
}

static void empty_ordered_dict(tsave *S)
{
    global(S, "collections", "OrderedDict");
    ckpt__emit_byte(&S->e, ')');
    ckpt__emit_byte(&S->e, 'R');
    ckpt__emit_put(&S->e);
}

/* the tensor's data as _rebuild_tensor_v2/v3/qtensor/meta; memoized by node */
static int s_tensor_data(tsave *S, const void *key, const ckpt__tensor *t)
{
    bool meta = !t->storage || (t->storage->location &&
                                strcmp(t->storage->location, "meta") == 0 && !t->storage->data);
    if (meta) {
        /* _rebuild_meta_tensor_no_storage(dtype, size, stride, requires_grad) */
        global(S, "torch._utils", "_rebuild_meta_tensor_no_storage");
        ckpt__emit_byte(&S->e, '(');
        global(S, "torch", ckpt_dtype_name(t->dtype));
        int_tuple(S, t->shape, t->ndim);
        int_tuple(S, t->stride, t->ndim);
        ckpt__emit_byte(&S->e, t->requires_grad ? 0x88 : 0x89);
        ckpt__emit_byte(&S->e, 't');
        ckpt__emit_put(&S->e);
        ckpt__emit_byte(&S->e, 'R');
        memo(S, key);
        return 0;
    }
    bool v3 = ckpt__dtype_storage_name(t->dtype) == NULL || t->storage->untyped;
    bool q = t->qparams != NULL;
    if (q)
        global(S, "torch._utils", "_rebuild_qtensor");
    else
        global(S, "torch._utils", v3 ? "_rebuild_tensor_v3" : "_rebuild_tensor_v2");
    ckpt__emit_byte(&S->e, '(');
    CKPT_TRY(s_storage_pid(S, t->storage, v3 && !q));
    ckpt__emit_int(&S->e, t->offset);
    int_tuple(S, t->shape, t->ndim);
    int_tuple(S, t->stride, t->ndim);
    if (q)
        CKPT_TRY(s_obj(S, t->qparams));
    ckpt__emit_byte(&S->e, t->requires_grad ? 0x88 : 0x89);
    empty_ordered_dict(S);
    if (v3 && !q)
        global(S, "torch", ckpt_dtype_name(t->dtype));
    if (t->meta && !q)
        CKPT_TRY(s_obj(S, t->meta));
    ckpt__emit_byte(&S->e, 't');
    ckpt__emit_put(&S->e);
    ckpt__emit_byte(&S->e, 'R');
    memo(S, key);
    return 0;
}

static int s_tensor(tsave *S, const ckpt_obj *o)
{
    const ckpt__tensor *t = o->u.t;
    if (!t->is_param)
        return s_tensor_data(S, o, t);
    /* Parameter: (_rebuild_parameter, (data, requires_grad, OrderedDict())) where
     * data is a fresh tensor object (param.data) */
    bool with_state = t->param_state != NULL;
    global(S, "torch._utils",
           with_state ? "_rebuild_parameter_with_state" : "_rebuild_parameter");
    if (with_state)
        ckpt__emit_byte(&S->e, '(');
    ckpt__tensor data = *t;
    data.is_param = false;
    data.requires_grad = false;
    /* the fresh data tensor gets a memo slot no later object can hit */
    CKPT_TRY(s_tensor_data(S, (const char *)o + 3, &data));
    ckpt__emit_byte(&S->e, t->param_requires_grad ? 0x88 : 0x89);
    empty_ordered_dict(S);
    if (with_state) {
        CKPT_TRY(s_obj(S, t->param_state));
        ckpt__emit_byte(&S->e, 't');
    } else {
        ckpt__emit_byte(&S->e, 0x87);
    }
    ckpt__emit_put(&S->e);
    ckpt__emit_byte(&S->e, 'R');
    memo(S, o);
    return 0;
}

/* ------------------------------------------------------------ containers */

static int s_items(tsave *S, ckpt_obj *const *items, size_t n)
{
    for (size_t i = 0; i < n; i++)
        CKPT_TRY(s_obj(S, items[i]));
    return 0;
}

/*
 * Batching as CPython's C pickler does it.  Exact lists and dicts (batch_list_exact,
 * batch_dict_exact): a single item uses APPEND/SETITEM; otherwise MARK ... APPENDS /
 * SETITEMS in batches of 1000, and for dicts a full last batch is followed by an
 * empty MARK SETITEMS.  Items from an iterator (OrderedDict, object items): batches
 * of 1000, a lone trailing item uses APPEND/SETITEM.
 */
static int s_appends(tsave *S, ckpt_obj *const *items, size_t n, bool exact)
{
    if (n == 0)
        return 0;
    if (n == 1 || !exact) {
        for (size_t i = 0; i < n; i += 1000) {
            size_t k = n - i < 1000 ? n - i : 1000;
            if (k == 1) {
                CKPT_TRY(s_obj(S, items[i]));
                ckpt__emit_byte(&S->e, 'a');
            } else {
                ckpt__emit_byte(&S->e, '(');
                CKPT_TRY(s_items(S, items + i, k));
                ckpt__emit_byte(&S->e, 'e');
            }
        }
        return 0;
    }
    for (size_t i = 0; i < n; i += 1000) {
        size_t k = n - i < 1000 ? n - i : 1000;
        ckpt__emit_byte(&S->e, '(');
        CKPT_TRY(s_items(S, items + i, k));
        ckpt__emit_byte(&S->e, 'e');
    }
    return 0;
}

static int s_pairs(tsave *S, const ckpt__dict *d, size_t from, size_t k)
{
    for (size_t j = from; j < from + k; j++) {
        CKPT_TRY(s_obj(S, d->keys[j]));
        CKPT_TRY(s_obj(S, d->vals[j]));
    }
    return 0;
}

static int s_setitems(tsave *S, const ckpt__dict *d, bool exact)
{
    size_t n = d->n;
    if (n == 0)
        return 0;
    if (n == 1 || !exact) {
        for (size_t i = 0; i < n; i += 1000) {
            size_t k = n - i < 1000 ? n - i : 1000;
            if (k == 1) {
                CKPT_TRY(s_pairs(S, d, i, 1));
                ckpt__emit_byte(&S->e, 's');
            } else {
                ckpt__emit_byte(&S->e, '(');
                CKPT_TRY(s_pairs(S, d, i, k));
                ckpt__emit_byte(&S->e, 'u');
            }
        }
        return 0;
    }
    size_t i = 0, k;
    do {
        k = n - i < 1000 ? n - i : 1000;
        ckpt__emit_byte(&S->e, '(');
        CKPT_TRY(s_pairs(S, d, i, k));
        ckpt__emit_byte(&S->e, 'u');
        i += k;
    } while (k == 1000);
    return 0;
}

/* An instance __dict__ after BUILD: CPython interns its str keys, so equal
 * keys across objects are one object (memo by value, "\x01" prefix keeps
 * them apart from global names). */
static int s_attr_dict(tsave *S, const ckpt_obj *o)
{
    if (try_get(S, o))
        return 0;
    const ckpt__dict *d = o->u.dict;
    ckpt__emit_byte(&S->e, '}');
    memo(S, o);
    size_t n = d->n;
    if (n == 0)
        return 0;
    size_t i = 0, k;
    do {
        k = n - i < 1000 ? n - i : 1000;
        if (n > 1)
            ckpt__emit_byte(&S->e, '(');
        for (size_t j = i; j < i + k; j++) {
            const ckpt_obj *key = d->keys[j];
            if (key->type == CKPT_T_STR && !memchr(key->u.s.p, 0, key->u.s.n) &&
                key->u.s.n < 4000 && !str_singleton(S, key->u.s.p, key->u.s.n)) {
                char name[4096];
                name[0] = '\x01';
                memcpy(name + 1, key->u.s.p, key->u.s.n + 1);
                uint32_t idx;
                if (ckpt__emit_memo_get_str(&S->e, name, &idx)) {
                    ckpt__emit_get(&S->e, idx);
                } else {
                    ckpt__emit_str(&S->e, key->u.s.p, key->u.s.n);
                    ckpt__emit_memo_set_str(&S->e, name, ckpt__emit_put(&S->e));
                }
            } else {
                CKPT_TRY(s_obj(S, key));
            }
            CKPT_TRY(s_obj(S, d->vals[j]));
        }
        ckpt__emit_byte(&S->e, n > 1 ? 'u' : 's');
        i += k;
    } while (k == 1000);
    return 0;
}

static int s_dict(tsave *S, const ckpt_obj *o)
{
    const ckpt__dict *d = o->u.dict;
    if (d->kind == CKPT_DICT_PLAIN) {
        ckpt__emit_byte(&S->e, '}');
        memo(S, o);
        return s_setitems(S, d, true);
    }
    if (d->kind == CKPT_DICT_COUNTER) {
        /* Counter.__reduce__ -> (Counter, (dict(self),)) */
        global(S, "collections", "Counter");
        ckpt__emit_byte(&S->e, '}');
        ckpt__emit_put(&S->e);
        CKPT_TRY(s_setitems(S, d, true));
        ckpt__emit_byte(&S->e, 0x85);
        ckpt__emit_put(&S->e);
        ckpt__emit_byte(&S->e, 'R');
        memo(S, o);
        return 0;
    }
    /* OrderedDict.__reduce__ -> (OrderedDict, (), state, None, items) */
    global(S, "collections", "OrderedDict");
    ckpt__emit_byte(&S->e, ')');
    ckpt__emit_byte(&S->e, 'R');
    memo(S, o);
    CKPT_TRY(s_setitems(S, d, false));
    if (d->attrs && d->attrs->u.dict->n > 0) {
        CKPT_TRY(s_attr_dict(S, d->attrs));
        ckpt__emit_byte(&S->e, 'b');
    }
    return 0;
}

static int s_tuple(tsave *S, const ckpt_obj *o)
{
    size_t n = o->u.seq.n;
    if (n == 0) {
        ckpt__emit_byte(&S->e, ')');
        return 0;
    }
    if (n > 3)
        ckpt__emit_byte(&S->e, '(');
    CKPT_TRY(s_items(S, o->u.seq.items, n));
    uint32_t idx;
    if (ckpt__emit_memo_get(&S->e, o, &idx))
        return CKPT_FAIL(S->err, CKPT_E_UNSUPPORTED, "a tuple that contains itself");
    ckpt__emit_byte(&S->e, n == 1 ? 0x85 : n == 2 ? 0x86 : n == 3 ? 0x87 : 't');
    memo(S, o);
    return 0;
}

/* bytes under protocol 2 (CPython save_bytes): _codecs.encode(latin1 text, 'latin1') */
static int s_bytes_value(tsave *S, const char *p, size_t n)
{
    if (n == 0) {
        global(S, "builtins", "bytes");
        ckpt__emit_byte(&S->e, ')');
        ckpt__emit_byte(&S->e, 'R');
        return 0;
    }
    global(S, "_codecs", "encode");
    size_t cap;
    if (ckpt_mul_size(n, 2, &cap))
        return oom(S);
    uint8_t *u = ckpt__alloc(S->e.alloc, cap);
    if (!u)
        return oom(S);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        m += ckpt_utf8_put((uint8_t)p[i], u + m);
    const void *k = n == 1 ? &S->k_char[(uint8_t)p[0]] : NULL;
    if (!k || !try_get(S, k)) {
        ckpt__emit_str(&S->e, (const char *)u, m);
        if (k)
            memo(S, k);
        else
            ckpt__emit_put(&S->e);
    }
    ckpt__free(S->e.alloc, u, cap);
    const_str(S, &S->k_latin1, "latin1");
    ckpt__emit_byte(&S->e, 0x86);
    ckpt__emit_put(&S->e);
    ckpt__emit_byte(&S->e, 'R');
    return 0;
}

static int s_object(tsave *S, const ckpt_obj *o)
{
    const ckpt__object *ob = o->u.obj;
    bool newobj = ob->how && strcmp(ob->how, "newobj") == 0;
    CKPT_TRY(s_obj(S, ob->cls));
    if (ob->args)
        CKPT_TRY(s_obj(S, ob->args));
    else
        ckpt__emit_byte(&S->e, ')');
    ckpt__emit_byte(&S->e, newobj ? 0x81 : 'R');
    memo(S, o);
    if (ob->items && ob->items->type == CKPT_T_LIST)
        CKPT_TRY(s_appends(S, ob->items->u.seq.items, ob->items->u.seq.n, false));
    else if (ob->items && ob->items->type == CKPT_T_DICT)
        CKPT_TRY(s_setitems(S, ob->items->u.dict, false));
    if (ob->state) {
        if (ob->state->type == CKPT_T_DICT && ob->state->u.dict->kind == CKPT_DICT_PLAIN)
            CKPT_TRY(s_attr_dict(S, ob->state));
        else
            CKPT_TRY(s_obj(S, ob->state));
        ckpt__emit_byte(&S->e, 'b');
    }
    return 0;
}

static int s_obj(tsave *S, const ckpt_obj *o)
{
    if (!o)
        return CKPT_FAIL(S->err, CKPT_E_ARG, "NULL object in the tree");
    if (S->e.oom)
        return oom(S);
    if (++S->depth > MAX_SAVE_DEPTH) {
        S->depth--;
        return CKPT_FAIL(S->err, CKPT_E_LIMIT, "object nested deeper than %d", MAX_SAVE_DEPTH);
    }
    int rc = 0;
    switch (o->type) {
    case CKPT_T_NONE: ckpt__emit_byte(&S->e, 'N'); break;
    case CKPT_T_BOOL: ckpt__emit_byte(&S->e, o->u.b ? 0x88 : 0x89); break;
    case CKPT_T_INT: ckpt__emit_int(&S->e, o->u.i); break;
    case CKPT_T_FLOAT: ckpt__emit_float(&S->e, o->u.f); break;
    default:
        /* everything else is memoized by identity */
        if (try_get(S, o))
            break;
        switch (o->type) {
        case CKPT_T_COMPLEX:
            global(S, "builtins", "complex");
            ckpt__emit_float(&S->e, o->u.c.re);
            ckpt__emit_float(&S->e, o->u.c.im);
            ckpt__emit_byte(&S->e, 0x86);
            ckpt__emit_put(&S->e);
            ckpt__emit_byte(&S->e, 'R');
            memo(S, o);
            break;
        case CKPT_T_STR: {
            const void *k = str_singleton(S, o->u.s.p, o->u.s.n);
            if (k && try_get(S, k))
                break;
            ckpt__emit_str(&S->e, o->u.s.p, o->u.s.n);
            memo(S, k ? k : (const void *)o);
            break;
        }
        case CKPT_T_BYTES: {
            const void *k = bytes_singleton(S, o->u.s.p, o->u.s.n);
            if (k && try_get(S, k))
                break;
            rc = s_bytes_value(S, o->u.s.p, o->u.s.n);
            if (rc == 0)
                memo(S, k ? k : (const void *)o);
            break;
        }
        case CKPT_T_BYTEARRAY: {
            /* CPython 3 under protocol 2: bytearray() or bytearray(<bytes>) */
            global(S, "builtins", "bytearray");
            if (o->u.s.n == 0) {
                ckpt__emit_byte(&S->e, ')');
            } else {
                /* the bytes copy made by bytearray's reduce is a fresh object */
                rc = s_bytes_value(S, o->u.s.p, o->u.s.n);
                if (rc == 0)
                    ckpt__emit_put(&S->e);
                ckpt__emit_byte(&S->e, 0x85);
                ckpt__emit_put(&S->e);
            }
            ckpt__emit_byte(&S->e, 'R');
            memo(S, o);
            break;
        }
        case CKPT_T_TUPLE: rc = s_tuple(S, o); break;
        case CKPT_T_LIST:
            ckpt__emit_byte(&S->e, ']');
            memo(S, o);
            rc = s_appends(S, o->u.seq.items, o->u.seq.n, true);
            break;
        case CKPT_T_SET:
            global(S, "builtins", "set");
            ckpt__emit_byte(&S->e, ']');
            ckpt__emit_put(&S->e);
            rc = s_appends(S, o->u.seq.items, o->u.seq.n, true);
            ckpt__emit_byte(&S->e, 0x85);
            ckpt__emit_put(&S->e);
            ckpt__emit_byte(&S->e, 'R');
            memo(S, o);
            break;
        case CKPT_T_DICT: rc = s_dict(S, o); break;
        case CKPT_T_TENSOR: rc = s_tensor(S, o); break;
        case CKPT_T_SIZE:
            global(S, "torch", "Size");
            int_tuple(S, o->u.size.dims, (int)o->u.size.n);
            ckpt__emit_byte(&S->e, 0x85);
            ckpt__emit_put(&S->e);
            ckpt__emit_byte(&S->e, 'R');
            memo(S, o);
            break;
        case CKPT_T_DTYPE: global(S, "torch", ckpt_dtype_name(o->u.dtype)); break;
        case CKPT_T_DEVICE:
            global(S, "torch", "device");
            ckpt__emit_str(&S->e, o->u.dev.type, strlen(o->u.dev.type));
            ckpt__emit_put(&S->e);
            if (o->u.dev.index >= 0) {
                ckpt__emit_int(&S->e, o->u.dev.index);
                ckpt__emit_byte(&S->e, 0x86);
            } else {
                ckpt__emit_byte(&S->e, 0x85);
            }
            ckpt__emit_put(&S->e);
            ckpt__emit_byte(&S->e, 'R');
            memo(S, o);
            break;
        case CKPT_T_GLOBAL: global(S, o->u.g.module, o->u.g.name); break;
        case CKPT_T_OBJECT: rc = s_object(S, o); break;
        case CKPT_T_STORAGE: rc = s_storage_pid(S, o->u.st, o->u.st->untyped); break;
        default: rc = CKPT_FAIL(S->err, CKPT_E_ARG, "unknown node type %d", o->type); break;
        }
    }
    S->depth--;
    if (rc == 0 && S->e.oom)
        rc = oom(S);
    return rc;
}

/* ----------------------------------------------------------------- layout */

/* Records sorted as strings ("0", "1", "10", "11", ..., "2"): compare the
 * decimal spellings of two indices without formatting them. */
static int cmp_key_str(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    char dx[24], dy[24];
    int nx = 0, ny = 0;
    do {
        dx[nx++] = (char)('0' + x % 10);
        x /= 10;
    } while (x);
    do {
        dy[ny++] = (char)('0' + y % 10);
        y /= 10;
    } while (y);
    for (int i = nx - 1, j = ny - 1; i >= 0 && j >= 0; i--, j--)
        if (dx[i] != dy[j])
            return dx[i] < dy[j] ? -1 : 1;
    return nx < ny ? -1 : nx > ny;
}

/* The legacy stream: magic, protocol, sys_info, the object pickle, the sorted
 * storage keys, then each storage as LE int64 element count + bytes. */
static int write_legacy(ckpt_sink *sink, const tsave *S, const ckpt_alloc *alloc, ckpt_error *err)
{
    static const uint8_t magic[] = {0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46,
                                    0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e};
    static const uint8_t proto[] = {0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e};
    static const char sys_info[] =
        "\x80\x02}q\x00(X\x10\x00\x00\x00protocol_versionq\x01M\xe9\x03X\x0d\x00\x00\x00"
        "little_endianq\x02\x88X\x0a\x00\x00\x00type_sizesq\x03}q\x04(X\x05\x00\x00\x00"
        "shortq\x05K\x02X\x03\x00\x00\x00intq\x06K\x04X\x04\x00\x00\x00longq\x07K\x04uu.";
    CKPT_TRY(ckpt_sink_write(sink, magic, sizeof(magic), err));
    CKPT_TRY(ckpt_sink_write(sink, proto, sizeof(proto), err));
    CKPT_TRY(ckpt_sink_write(sink, sys_info, sizeof(sys_info) - 1, err));
    CKPT_TRY(ckpt_sink_write(sink, S->e.buf, S->e.len, err));
    size_t *order = NULL;
    if (S->nst) {
        order = ckpt__alloc(alloc, S->nst * sizeof(*order));
        if (!order)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        for (size_t i = 0; i < S->nst; i++)
            order[i] = i;
        qsort(order, S->nst, sizeof(*order), cmp_key_str);
    }
    /* the key list: an exact list pickled on its own (fresh memo) */
    ckpt__emit ke;
    int rc = 0;
    if (ckpt__emit_init(&ke, alloc) < 0) {
        ckpt__free(alloc, order, S->nst * sizeof(*order));
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    ckpt__emit_byte(&ke, 0x80);
    ckpt__emit_byte(&ke, 2);
    ckpt__emit_byte(&ke, ']');
    ckpt__emit_put(&ke);
    for (size_t i = 0; i < S->nst; i += 1000) {
        size_t k = S->nst - i < 1000 ? S->nst - i : 1000;
        if (S->nst > 1)
            ckpt__emit_byte(&ke, '(');
        for (size_t j = i; j < i + k; j++) {
            char key[32];
            int n = snprintf(key, sizeof(key), "%zu", order[j]);
            ckpt__emit_str(&ke, key, (size_t)n);
            ckpt__emit_put(&ke);
        }
        ckpt__emit_byte(&ke, S->nst > 1 ? 'e' : 'a');
    }
    ckpt__emit_byte(&ke, '.');
    if (ke.oom)
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    if (rc == 0)
        rc = ckpt_sink_write(sink, ke.buf, ke.len, err);
    ckpt__emit_free(&ke);
    for (size_t i = 0; rc == 0 && i < S->nst; i++) {
        const ckpt_storage *st = S->st[order[i]];
        size_t isz = st->untyped ? 1 : ckpt_dtype_size(st->dtype);
        uint8_t cnt[8];
        uint64_t numel = st->nbytes / (isz ? isz : 1);
        for (int b = 0; b < 8; b++)
            cnt[b] = (uint8_t)(numel >> (8 * b));
        if (st->nbytes && !st->data) {
            rc = CKPT_FAIL(err, CKPT_E_ARG, "storage %zu holds no bytes", order[i]);
            break;
        }
        rc = ckpt_sink_write(sink, cnt, 8, err);
        if (rc == 0 && st->nbytes)
            rc = ckpt_sink_write(sink, st->data, (size_t)st->nbytes, err);
    }
    if (order)
        ckpt__free(alloc, order, S->nst * sizeof(*order));
    return rc;
}

static int write_archive(ckpt_sink *sink, const char *archive, const tsave *S, int layout,
                         bool crc, const ckpt_alloc *alloc, ckpt_error *err)
{
    if (layout == CKPT_LAYOUT_LEGACY)
        return write_legacy(sink, S, alloc, err);
    ckpt_zip_writer *w = ckpt_zip_writer_new(sink, archive, 64, crc, alloc, err);
    if (!w)
        return err ? err->code : CKPT_E_NOMEM;
    int rc = ckpt_zip_writer_add(w, "data.pkl", S->e.buf, S->e.len, err);
    if (rc == 0 && layout == CKPT_LAYOUT_TORCH27) {
        rc = ckpt_zip_writer_add(w, ".format_version", "1", 1, err);
        if (rc == 0)
            rc = ckpt_zip_writer_add(w, ".storage_alignment", "64", 2, err);
    }
    if (rc == 0 && (layout == CKPT_LAYOUT_TORCH21 || layout == CKPT_LAYOUT_TORCH27))
        rc = ckpt_zip_writer_add(w, "byteorder", "little", 6, err);
    size_t *order = NULL;
    if (rc == 0 && S->nst) {
        order = ckpt__alloc(alloc, S->nst * sizeof(*order));
        if (!order)
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        else {
            for (size_t i = 0; i < S->nst; i++)
                order[i] = i;
            if (layout != CKPT_LAYOUT_TORCH27)
                qsort(order, S->nst, sizeof(*order), cmp_key_str);
        }
    }
    for (size_t i = 0; rc == 0 && i < S->nst; i++) {
        const ckpt_storage *st = S->st[order[i]];
        char rec[40];
        snprintf(rec, sizeof(rec), "data/%zu", order[i]);
        if (st->nbytes && !st->data) {
            rc = CKPT_FAIL(err, CKPT_E_ARG,
                           "storage %zu holds no bytes (lazy and not loaded, or meta)", order[i]);
            break;
        }
        rc = ckpt_zip_writer_add(w, rec, st->data, st->nbytes, err);
    }
    if (order)
        ckpt__free(alloc, order, S->nst * sizeof(*order));
    if (rc == 0)
        rc = ckpt_zip_writer_add(w, "version", "3\n", 2, err);
    if (rc == 0)
        rc = ckpt_zip_writer_finish(w, err);
    ckpt_zip_writer_free(w);
    return rc;
}

static int pickle_root(tsave *S, const ckpt_obj *root, bool legacy, const ckpt_alloc *alloc,
                       ckpt_error *err)
{
    memset(S, 0, sizeof(*S));
    S->err = err;
    S->legacy = legacy;
    if (ckpt__emit_init(&S->e, alloc) < 0)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    ckpt__emit_byte(&S->e, 0x80);
    ckpt__emit_byte(&S->e, 2);
    int rc = s_obj(S, root);
    if (rc == 0)
        ckpt__emit_byte(&S->e, '.');
    if (rc == 0 && S->e.oom)
        rc = oom(S);
    return rc;
}

static void tsave_free(tsave *S, const ckpt_alloc *alloc)
{
    ckpt__emit_free(&S->e);
    ckpt__free(alloc, S->st, S->st_cap * sizeof(*S->st));
}

/* "dir/model.pt" -> "model" (torch: basename without its last extension) */
static int archive_name(const char *path, char *out, size_t n, ckpt_error *err)
{
    const char *base = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    const char *dot = strrchr(base, '.');
    size_t len = dot ? (size_t)(dot - base) : strlen(base);
    if (len == 0)
        return CKPT_FAIL(err, CKPT_E_ARG, "invalid file name: %s", base);
    if (len >= n)
        len = n - 1;
    memcpy(out, base, len);
    out[len] = '\0';
    return 0;
}

static int resolve_layout(const ckpt_save_opts *o)
{
    int l = o ? o->layout : 0;
    return l == CKPT_LAYOUT_DEFAULT ? CKPT_LAYOUT_TORCH27 : l;
}

int ckpt_save_mem(const ckpt_obj *root, const ckpt_save_opts *opts, void **out, size_t *out_len,
                  ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!root || !out || !out_len)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing argument");
    const ckpt_alloc *alloc = opts ? opts->alloc : NULL;
    int layout = resolve_layout(opts);
    if (layout < CKPT_LAYOUT_TORCH13 || layout > CKPT_LAYOUT_LEGACY)
        return CKPT_FAIL(err, CKPT_E_ARG, "unknown layout %d", layout);
    tsave S;
    int rc = pickle_root(&S, root, layout == CKPT_LAYOUT_LEGACY, alloc, err);
    ckpt_sink *sink = NULL;
    if (rc == 0) {
        sink = ckpt_sink_new_mem(alloc, err);
        if (!sink)
            rc = CKPT_E_NOMEM;
    }
    if (rc == 0)
        rc = write_archive(sink, opts && opts->archive ? opts->archive : "archive", &S, layout,
                           !(opts && opts->no_crc), alloc, err);
    if (rc == 0) {
        *out = ckpt_sink_take_mem(sink, out_len);
        if (!*out)
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    ckpt_sink_free(sink);
    tsave_free(&S, alloc);
    return rc;
}

/* what ckpt__atomic_write calls to fill the temporary file */
typedef struct archive_job {
    const char *archive;
    const tsave *S;
    int layout;
    bool crc;
    const ckpt_alloc *alloc;
} archive_job;

static int write_archive_job(ckpt_sink *sink, const void *ctx, ckpt_error *err)
{
    const archive_job *J = ctx;
    return write_archive(sink, J->archive, J->S, J->layout, J->crc, J->alloc, err);
}

int ckpt_save(const char *path, const ckpt_obj *root, const ckpt_save_opts *opts, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!path || !root)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing path or object");
    const ckpt_alloc *alloc = opts ? opts->alloc : NULL;
    int layout = resolve_layout(opts);
    if (layout < CKPT_LAYOUT_TORCH13 || layout > CKPT_LAYOUT_LEGACY)
        return CKPT_FAIL(err, CKPT_E_ARG, "unknown layout %d", layout);
    char archive[256];
    if (opts && opts->archive)
        snprintf(archive, sizeof(archive), "%s", opts->archive);
    else if (archive_name(path, archive, sizeof(archive), err) < 0)
        return err ? err->code : CKPT_E_ARG;

    /* pickle first: nothing touches the disk until the object is known to be savable */
    tsave S;
    int rc = pickle_root(&S, root, layout == CKPT_LAYOUT_LEGACY, alloc, err);
    if (rc < 0) {
        tsave_free(&S, alloc);
        ckpt__error_set_file(err, path);
        return rc;
    }
    archive_job J = {archive, &S, layout, !(opts && opts->no_crc), alloc};
    rc = ckpt__atomic_write(path, write_archive_job, &J, alloc, opts && opts->no_fsync, err);
    tsave_free(&S, alloc);
    if (rc < 0)
        ckpt__error_set_file(err, path);
    return rc;
}

/* The torch.save zip of `root` through `sink`, its offsets counted from the
 * sink's start (DCP's _write_item: one archive per item in a shared file). */
int ckpt__save_sink(ckpt_sink *sink, const ckpt_obj *root, const ckpt_save_opts *opts,
                    ckpt_error *err)
{
    const ckpt_alloc *alloc = opts ? opts->alloc : NULL;
    int layout = resolve_layout(opts);
    if (!sink || !root || layout < CKPT_LAYOUT_TORCH13 || layout >= CKPT_LAYOUT_LEGACY)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing sink or object, or a legacy layout");
    tsave S;
    int rc = pickle_root(&S, root, false, alloc, err);
    if (rc == 0)
        rc = write_archive(sink, opts && opts->archive ? opts->archive : "archive", &S, layout,
                           !(opts && opts->no_crc), alloc, err);
    tsave_free(&S, alloc);
    return rc;
}
