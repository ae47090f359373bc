/* src/core/obj.c - documents, nodes, containers, builders and getters. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "err.h"
#include "obj.h"

/* ------------------------------------------------------------ documents */

ckpt_doc *ckpt__doc_new(const ckpt_alloc *alloc, uint64_t limit)
{
    ckpt__mem tmp;
    ckpt__mem_init(&tmp, alloc, limit);
    ckpt_doc *doc = ckpt__mem_calloc(&tmp, sizeof(*doc));
    if (!doc)
        return NULL;
    doc->mem = tmp;
    ckpt__arena_init(&doc->arena, &doc->mem);
    return doc;
}

ckpt_doc *ckpt_doc_new(const ckpt_alloc *alloc, ckpt_error *err)
{
    ckpt_doc *doc = ckpt__doc_new(alloc, 0);
    if (!doc)
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory creating a document");
    return doc;
}

void ckpt_doc_free(ckpt_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->nstorages; i++) {
        ckpt_storage *s = doc->storages[i];
        if (s->hold == CKPT_HOLD_OWNED && s->data)
            ckpt__mem_free(&doc->mem, s->data, s->nbytes ? (size_t)s->nbytes : 1);
    }
    if (doc->storages)
        ckpt__mem_free(&doc->mem, doc->storages, doc->storages_cap * sizeof(*doc->storages));
    if (doc->release)
        doc->release(doc->release_ctx);
    ckpt__arena_free_all(&doc->arena);
    ckpt__mem m = doc->mem;
    ckpt__mem_free(&m, doc, sizeof(*doc));
}

const ckpt_obj *ckpt_doc_root(const ckpt_doc *doc)
{
    return doc ? doc->root : NULL;
}

ckpt_obj *ckpt_doc_root_mut(ckpt_doc *doc)
{
    return doc ? doc->root : NULL;
}

void ckpt_doc_set_root(ckpt_doc *doc, ckpt_obj *obj)
{
    if (doc)
        doc->root = obj;
}

const ckpt_obj *ckpt_doc_metadata(const ckpt_doc *doc)
{
    return doc ? doc->metadata : NULL;
}

void ckpt_doc_set_metadata(ckpt_doc *doc, ckpt_obj *obj)
{
    if (doc)
        doc->metadata = obj;
}

size_t ckpt_doc_storage_count(const ckpt_doc *doc)
{
    return doc ? doc->nstorages : 0;
}

const ckpt_storage *ckpt_doc_storage(const ckpt_doc *doc, size_t i)
{
    return (doc && i < doc->nstorages) ? doc->storages[i] : NULL;
}

uint64_t ckpt_doc_bytes(const ckpt_doc *doc)
{
    return doc ? doc->mem.used : 0;
}

ckpt_obj *ckpt__node(ckpt_doc *doc, int type)
{
    ckpt_obj *o = ckpt__arena_alloc(&doc->arena, sizeof(*o));
    if (!o)
        return NULL;
    memset(o, 0, sizeof(*o));
    o->type = (uint8_t)type;
    doc->node_count++;
    return o;
}

const char *ckpt_type_name(int type)
{
    static const char *const names[CKPT_T_COUNT] = {
        "None",        "bool",         "int",    "float",  "complex", "str",    "bytes",
        "bytearray",   "tuple",        "list",   "set",    "dict",    "tensor", "torch.Size",
        "torch.dtype", "torch.device", "global", "object", "storage"};
    return (type >= 0 && type < CKPT_T_COUNT) ? names[type] : "?";
}

/* ------------------------------------------------------------- storages */

ckpt_storage *ckpt__storage_new(ckpt_doc *doc, int dtype, bool untyped, uint64_t nbytes)
{
    if (doc->nstorages == doc->storages_cap) {
        size_t ncap = doc->storages_cap ? doc->storages_cap * 2 : 16;
        ckpt_storage **ns = ckpt__mem_realloc(&doc->mem, doc->storages,
                                              doc->storages_cap * sizeof(*ns),
                                              ncap * sizeof(*ns));
        if (!ns)
            return NULL;
        doc->storages = ns;
        doc->storages_cap = ncap;
    }
    ckpt_storage *s = ckpt__arena_calloc(&doc->arena, sizeof(*s));
    if (!s)
        return NULL;
    s->dtype = dtype;
    s->untyped = untyped;
    s->nbytes = nbytes;
    s->id = (uint32_t)doc->nstorages;
    doc->storages[doc->nstorages++] = s;
    return s;
}

int ckpt__storage_alloc_data(ckpt_doc *doc, ckpt_storage *s, bool zero, ckpt_error *err)
{
    size_t n;
    if (ckpt_u64_to_size(s->nbytes, &n))
        return CKPT_FAIL(err, CKPT_E_LIMIT, "storage of %llu bytes does not fit in memory",
                         (unsigned long long)s->nbytes);
    uint8_t *p = zero ? ckpt__mem_calloc(&doc->mem, n ? n : 1)
                      : ckpt__mem_alloc(&doc->mem, n ? n : 1);
    if (!p) {
        if (doc->mem.hit_limit)
            return CKPT_FAIL(err, CKPT_E_LIMIT,
                             "storage of %zu bytes exceeds the allocation limit (%llu bytes)", n,
                             (unsigned long long)doc->mem.limit);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory for a storage of %zu bytes", n);
    }
    s->data = p;
    s->hold = CKPT_HOLD_OWNED;
    return 0;
}

static char *dup_str(ckpt_doc *doc, const char *s)
{
    return ckpt__arena_strndup(&doc->arena, s, strlen(s));
}

ckpt_storage *ckpt_storage_new(ckpt_doc *doc, int dtype, uint64_t nbytes, ckpt_error *err)
{
    size_t isz = ckpt_dtype_size(dtype);
    if (!doc || isz == 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "bad document or dtype %d", dtype);
        return NULL;
    }
    if (nbytes % isz) {
        CKPT_FAIL(err, CKPT_E_ARG, "storage size %llu is not a multiple of %zu",
                  (unsigned long long)nbytes, isz);
        return NULL;
    }
    ckpt_storage *s = ckpt__storage_new(doc, dtype, false, nbytes);
    if (!s) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    s->location = dup_str(doc, "cpu");
    if (!s->location || ckpt__storage_alloc_data(doc, s, true, err) < 0) {
        doc->nstorages--;
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    return s;
}

ckpt_storage *ckpt_storage_new_borrow(ckpt_doc *doc, int dtype, void *data, uint64_t nbytes,
                                      ckpt_error *err)
{
    size_t isz = ckpt_dtype_size(dtype);
    if (!doc || isz == 0 || (!data && nbytes) || nbytes % isz) {
        CKPT_FAIL(err, CKPT_E_ARG, "bad storage arguments (dtype %d, %llu bytes)", dtype,
                  (unsigned long long)nbytes);
        return NULL;
    }
    ckpt_storage *s = ckpt__storage_new(doc, dtype, false, nbytes);
    if (!s || !(s->location = dup_str(doc, "cpu"))) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    s->data = data;
    s->hold = CKPT_HOLD_BORROWED;
    return s;
}

void *ckpt_storage_data_mut(ckpt_storage *s)
{
    return s ? s->data : NULL;
}

int ckpt_storage_get_info(const ckpt_storage *s, ckpt_storage_info *out)
{
    if (!s || !out)
        return CKPT_E_ARG;
    out->dtype = s->dtype;
    out->untyped = s->untyped;
    out->nbytes = s->nbytes;
    out->data = s->data;
    out->hold = s->hold;
    out->location = s->location;
    out->key = s->key;
    return 0;
}

/* ---------------------------------------------------------------- scalars */

ckpt_obj *ckpt_none_new(ckpt_doc *doc)
{
    return doc ? ckpt__node(doc, CKPT_T_NONE) : NULL;
}

ckpt_obj *ckpt_bool_new(ckpt_doc *doc, bool v)
{
    ckpt_obj *o = doc ? ckpt__node(doc, CKPT_T_BOOL) : NULL;
    if (o)
        o->u.b = v;
    return o;
}

ckpt_obj *ckpt_int_new(ckpt_doc *doc, int64_t v)
{
    ckpt_obj *o = doc ? ckpt__node(doc, CKPT_T_INT) : NULL;
    if (o)
        o->u.i = v;
    return o;
}

ckpt_obj *ckpt_float_new(ckpt_doc *doc, double v)
{
    ckpt_obj *o = doc ? ckpt__node(doc, CKPT_T_FLOAT) : NULL;
    if (o)
        o->u.f = v;
    return o;
}

ckpt_obj *ckpt_complex_new(ckpt_doc *doc, double re, double im)
{
    ckpt_obj *o = doc ? ckpt__node(doc, CKPT_T_COMPLEX) : NULL;
    if (o) {
        o->u.c.re = re;
        o->u.c.im = im;
    }
    return o;
}

static ckpt_obj *new_bytes_like(ckpt_doc *doc, int type, const void *p, size_t n)
{
    if (!doc || (!p && n))
        return NULL;
    ckpt_obj *o = ckpt__node(doc, type);
    if (!o)
        return NULL;
    o->u.s.p = ckpt__arena_strndup(&doc->arena, p, n);
    if (!o->u.s.p)
        return NULL;
    o->u.s.n = n;
    return o;
}

ckpt_obj *ckpt_strn_new(ckpt_doc *doc, const char *s, size_t n)
{
    return new_bytes_like(doc, CKPT_T_STR, s, n);
}

ckpt_obj *ckpt_str_new(ckpt_doc *doc, const char *s)
{
    return s ? new_bytes_like(doc, CKPT_T_STR, s, strlen(s)) : NULL;
}

ckpt_obj *ckpt_bytes_new(ckpt_doc *doc, const void *p, size_t n)
{
    return new_bytes_like(doc, CKPT_T_BYTES, p, n);
}

ckpt_obj *ckpt_bytearray_new(ckpt_doc *doc, const void *p, size_t n)
{
    return new_bytes_like(doc, CKPT_T_BYTEARRAY, p, n);
}

ckpt_obj *ckpt_size_new(ckpt_doc *doc, size_t n, const int64_t *dims)
{
    if (!doc || (!dims && n))
        return NULL;
    ckpt_obj *o = ckpt__node(doc, CKPT_T_SIZE);
    if (!o)
        return NULL;
    size_t bytes;
    if (ckpt_mul_size(n, sizeof(int64_t), &bytes))
        return NULL;
    o->u.size.dims = ckpt__arena_alloc(&doc->arena, bytes);
    if (!o->u.size.dims)
        return NULL;
    if (n)
        memcpy(o->u.size.dims, dims, bytes);
    o->u.size.n = n;
    return o;
}

ckpt_obj *ckpt_dtype_new(ckpt_doc *doc, int dtype)
{
    if (!doc || !ckpt_dtype_name(dtype))
        return NULL;
    ckpt_obj *o = ckpt__node(doc, CKPT_T_DTYPE);
    if (o)
        o->u.dtype = dtype;
    return o;
}

ckpt_obj *ckpt_device_new(ckpt_doc *doc, const char *type, int64_t index)
{
    if (!doc || !type)
        return NULL;
    ckpt_obj *o = ckpt__node(doc, CKPT_T_DEVICE);
    if (!o || !(o->u.dev.type = dup_str(doc, type)))
        return NULL;
    o->u.dev.index = index < 0 ? -1 : index;
    return o;
}

ckpt_obj *ckpt_global_new(ckpt_doc *doc, const char *module, const char *name)
{
    if (!doc || !module || !name)
        return NULL;
    ckpt_obj *o = ckpt__node(doc, CKPT_T_GLOBAL);
    if (!o || !(o->u.g.module = dup_str(doc, module)) || !(o->u.g.name = dup_str(doc, name)))
        return NULL;
    return o;
}

/* ------------------------------------------------------------- sequences */

int ckpt__seq_push(ckpt_doc *doc, ckpt_obj *seq, ckpt_obj *item)
{
    if (seq->u.seq.n == seq->u.seq.cap) {
        size_t ncap = seq->u.seq.cap ? seq->u.seq.cap * 2 : 4;
        size_t bytes;
        if (ckpt_mul_size(ncap, sizeof(ckpt_obj *), &bytes))
            return CKPT_E_NOMEM;
        ckpt_obj **ni = ckpt__arena_alloc(&doc->arena, bytes);
        if (!ni)
            return CKPT_E_NOMEM;
        if (seq->u.seq.n)
            memcpy(ni, seq->u.seq.items, seq->u.seq.n * sizeof(ckpt_obj *));
        seq->u.seq.items = ni;
        seq->u.seq.cap = ncap;
    }
    seq->u.seq.items[seq->u.seq.n++] = item;
    return 0;
}

ckpt_obj *ckpt_tuple_new(ckpt_doc *doc, size_t n, ckpt_obj *const *items)
{
    if (!doc)
        return NULL;
    ckpt_obj *o = ckpt__node(doc, CKPT_T_TUPLE);
    if (!o)
        return NULL;
    if (n) {
        size_t bytes;
        if (ckpt_mul_size(n, sizeof(ckpt_obj *), &bytes))
            return NULL;
        o->u.seq.items = ckpt__arena_calloc(&doc->arena, bytes);
        if (!o->u.seq.items)
            return NULL;
        if (items) {
            for (size_t i = 0; i < n; i++)
                if (!items[i])
                    return NULL;
            memcpy(o->u.seq.items, items, bytes);
        }
    }
    o->u.seq.n = o->u.seq.cap = n;
    return o;
}

int ckpt_tuple_set(ckpt_obj *tuple, size_t i, ckpt_obj *item, ckpt_error *err)
{
    if (!tuple || tuple->type != CKPT_T_TUPLE || !item)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_tuple_set: needs a tuple and an item, got %s",
                         tuple ? ckpt_type_name(tuple->type) : "NULL");
    if (i >= tuple->u.seq.n)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_tuple_set: index %zu out of range for %zu items",
                         i, tuple->u.seq.n);
    if (tuple->flags & CKPT__F_FROZEN)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_tuple_set: tuple is already in use (frozen)");
    tuple->u.seq.items[i] = item;
    return 0;
}

ckpt_obj *ckpt_list_new(ckpt_doc *doc)
{
    return doc ? ckpt__node(doc, CKPT_T_LIST) : NULL;
}

int ckpt_list_append(ckpt_doc *doc, ckpt_obj *list, ckpt_obj *item, ckpt_error *err)
{
    if (!doc || !list || list->type != CKPT_T_LIST || !item)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "ckpt_list_append: needs a document, a list and an item, got %s",
                         list ? ckpt_type_name(list->type) : "NULL");
    int rc = ckpt__seq_push(doc, list, item);
    if (rc < 0)
        return CKPT_FAIL(err, rc, "ckpt_list_append: out of memory");
    return rc;
}

ckpt_obj *ckpt_set_new(ckpt_doc *doc)
{
    return doc ? ckpt__node(doc, CKPT_T_SET) : NULL;
}

/*
 * A set keeps its items in insertion order in u.seq like a list, and a hash
 * index of 2 * cap uint32 slots (item index + 1, 0 = empty) right after the
 * `cap` item pointers of the same arena block, so membership is O(1) and a
 * hostile pickle cannot make ADDITEMS quadratic.  Every item goes through
 * ckpt_set_add, which keeps the index in step.
 */
static uint32_t *set_index(const ckpt_obj *set)
{
    return (uint32_t *)(void *)(set->u.seq.items + set->u.seq.cap);
}

static void set_index_put(ckpt_obj *set, size_t entry, uint64_t h)
{
    uint32_t *ix = set_index(set);
    size_t mask = set->u.seq.cap * 2 - 1;
    size_t pos = (size_t)h & mask;
    while (ix[pos])
        pos = (pos + 1) & mask;
    ix[pos] = (uint32_t)(entry + 1);
}

static int set_grow(ckpt_doc *doc, ckpt_obj *set)
{
    size_t ncap = set->u.seq.cap ? set->u.seq.cap * 2 : 4;
    size_t bytes, ibytes;
    if (ncap > UINT32_MAX / 2 || ckpt_mul_size(ncap, sizeof(ckpt_obj *), &bytes) ||
        ckpt_mul_size(ncap * 2, sizeof(uint32_t), &ibytes) ||
        ckpt_add_size(bytes, ibytes, &bytes))
        return CKPT_E_NOMEM;
    ckpt_obj **ni = ckpt__arena_calloc(&doc->arena, bytes);
    if (!ni)
        return CKPT_E_NOMEM;
    if (set->u.seq.n)
        memcpy(ni, set->u.seq.items, set->u.seq.n * sizeof(ckpt_obj *));
    set->u.seq.items = ni;
    set->u.seq.cap = ncap;
    for (size_t i = 0; i < set->u.seq.n; i++)
        set_index_put(set, i, ckpt__obj_hash(ni[i]));
    return 0;
}

int ckpt_set_add(ckpt_doc *doc, ckpt_obj *set, ckpt_obj *item, ckpt_error *err)
{
    if (!doc || !set || set->type != CKPT_T_SET || !item)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "ckpt_set_add: needs a document, a set and an item, got %s",
                         set ? ckpt_type_name(set->type) : "NULL");
    if (!ckpt__obj_hashable(item))
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_set_add: unhashable item of type %s",
                         ckpt_type_name(item->type));
    uint64_t h = ckpt__obj_hash(item);
    if (set->u.seq.cap) {
        const uint32_t *ix = set_index(set);
        size_t mask = set->u.seq.cap * 2 - 1;
        for (size_t pos = (size_t)h & mask; ix[pos]; pos = (pos + 1) & mask)
            if (ckpt__obj_equal(set->u.seq.items[ix[pos] - 1], item))
                return 0;
    }
    if (set->u.seq.n == set->u.seq.cap && set_grow(doc, set) < 0)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "ckpt_set_add: out of memory");
    set->u.seq.items[set->u.seq.n] = item;
    set_index_put(set, set->u.seq.n, h);
    set->u.seq.n++;
    return 0;
}

/* ------------------------------------------------------- hashing (keys) */

/* Tuples nested deeper than this are treated as unhashable, so that hashing,
 * comparing and printing a key never recurses without bound (a hostile pickle
 * can nest TUPLE1 a million times; a built tuple can even contain itself). */
#define HASH_MAX_DEPTH 200
/* Nodes one hash, equality or hashability check may visit: tuples shared
 * through the memo make DAGs whose unfolding is exponential (2^64 leaves from
 * a few hundred bytes).  Past the budget a key counts as unhashable / unequal,
 * deterministically, so a hostile key costs bounded time. */
#define HASH_WORK 100000

static bool hashable_at(const ckpt_obj *o, int depth, long *work)
{
    if (--*work < 0)
        return false;
    switch (o->type) {
    case CKPT_T_NONE:
    case CKPT_T_BOOL:
    case CKPT_T_INT:
    case CKPT_T_FLOAT:
    case CKPT_T_COMPLEX:
    case CKPT_T_STR:
    case CKPT_T_BYTES:
    case CKPT_T_DTYPE:
    case CKPT_T_DEVICE:
    case CKPT_T_GLOBAL:
    case CKPT_T_TENSOR: /* hashed by identity, as Python does */
    case CKPT_T_OBJECT:
    case CKPT_T_STORAGE: return true;
    case CKPT_T_TUPLE:
    case CKPT_T_SIZE:
        if (o->type == CKPT_T_SIZE)
            return true;
        if (depth >= HASH_MAX_DEPTH)
            return false;
        for (size_t i = 0; i < o->u.seq.n; i++)
            if (!o->u.seq.items[i] || !hashable_at(o->u.seq.items[i], depth + 1, work))
                return false;
        return true;
    default: return false;
    }
}

bool ckpt__obj_hashable(const ckpt_obj *o)
{
    long work = HASH_WORK;
    return hashable_at(o, 0, &work);
}

static uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_bytes(const void *p, size_t n, uint64_t seed)
{
    const uint8_t *b = p;
    uint64_t h = 1469598103934665603ULL ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 1099511628211ULL;
    }
    return mix(h);
}

/* Numbers that compare equal must hash equal: True == 1 == 1.0. */
static uint64_t hash_number(double f, bool integral, int64_t i)
{
    if (integral)
        return mix((uint64_t)i);
    if (isfinite(f) && f == floor(f) && f >= -9.2e18 && f <= 9.2e18)
        return mix((uint64_t)(int64_t)f);
    uint64_t bits;
    memcpy(&bits, &f, sizeof(bits));
    return mix(bits ^ 0x5bd1e995ULL);
}

static uint64_t hash_at(const ckpt_obj *o, long *work)
{
    if (--*work < 0)
        return 0x5bd1e995ULL;
    switch (o->type) {
    case CKPT_T_NONE: return 0x9e3779b97f4a7c15ULL;
    case CKPT_T_BOOL: return hash_number(0, true, o->u.b ? 1 : 0);
    case CKPT_T_INT: return hash_number(0, true, o->u.i);
    case CKPT_T_FLOAT: return hash_number(o->u.f, false, 0);
    case CKPT_T_COMPLEX:
        if (o->u.c.im == 0.0)
            return hash_number(o->u.c.re, false, 0);
        return hash_number(o->u.c.re, false, 0) * 31 + hash_number(o->u.c.im, false, 0);
    case CKPT_T_STR: return hash_bytes(o->u.s.p, o->u.s.n, 1);
    case CKPT_T_BYTES: return hash_bytes(o->u.s.p, o->u.s.n, 2);
    case CKPT_T_DTYPE: return mix((uint64_t)o->u.dtype + 77);
    case CKPT_T_DEVICE:
        return hash_bytes(o->u.dev.type, strlen(o->u.dev.type), 3) ^
               mix((uint64_t)o->u.dev.index);
    case CKPT_T_GLOBAL:
        return hash_bytes(o->u.g.module, strlen(o->u.g.module), 4) ^
               hash_bytes(o->u.g.name, strlen(o->u.g.name), 5);
    case CKPT_T_TUPLE: {
        uint64_t h = 0x345678;
        for (size_t i = 0; i < o->u.seq.n; i++)
            h = mix(h * 1000003 ^ hash_at(o->u.seq.items[i], work));
        return h;
    }
    case CKPT_T_SIZE: {
        uint64_t h = 0x345678;
        for (size_t i = 0; i < o->u.size.n; i++)
            h = mix(h * 1000003 ^ hash_number(0, true, o->u.size.dims[i]));
        return h;
    }
    default: {
        uintptr_t p = (uintptr_t)o;
        return mix((uint64_t)p);
    }
    }
}

uint64_t ckpt__obj_hash(const ckpt_obj *o)
{
    long work = HASH_WORK;
    return hash_at(o, &work);
}

static bool is_number(const ckpt_obj *o)
{
    return o->type == CKPT_T_BOOL || o->type == CKPT_T_INT || o->type == CKPT_T_FLOAT ||
           o->type == CKPT_T_COMPLEX;
}

static bool numbers_equal(const ckpt_obj *a, const ckpt_obj *b)
{
    double aim = a->type == CKPT_T_COMPLEX ? a->u.c.im : 0.0;
    double bim = b->type == CKPT_T_COMPLEX ? b->u.c.im : 0.0;
    if (aim != bim)
        return false;
    bool aint = a->type != CKPT_T_FLOAT && a->type != CKPT_T_COMPLEX;
    bool bint = b->type != CKPT_T_FLOAT && b->type != CKPT_T_COMPLEX;
    if (aint && bint)
        return ckpt_obj_int(a) == ckpt_obj_int(b);
    double af = a->type == CKPT_T_COMPLEX ? a->u.c.re : ckpt_obj_float(a);
    double bf = b->type == CKPT_T_COMPLEX ? b->u.c.re : ckpt_obj_float(b);
    if (aint && (double)ckpt_obj_int(a) == bf)
        return (int64_t)bf == ckpt_obj_int(a) || !(bf >= -9.2e18 && bf <= 9.2e18);
    if (bint && (double)ckpt_obj_int(b) == af)
        return (int64_t)af == ckpt_obj_int(b) || !(af >= -9.2e18 && af <= 9.2e18);
    return af == bf;
}

static bool equal_at(const ckpt_obj *a, const ckpt_obj *b, long *work)
{
    if (a == b)
        return true;
    if (--*work < 0)
        return false;
    if (is_number(a) && is_number(b))
        return numbers_equal(a, b);
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case CKPT_T_NONE: return true;
    case CKPT_T_STR:
    case CKPT_T_BYTES: return a->u.s.n == b->u.s.n && memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0;
    case CKPT_T_DTYPE: return a->u.dtype == b->u.dtype;
    case CKPT_T_DEVICE:
        return a->u.dev.index == b->u.dev.index && strcmp(a->u.dev.type, b->u.dev.type) == 0;
    case CKPT_T_GLOBAL:
        return strcmp(a->u.g.module, b->u.g.module) == 0 && strcmp(a->u.g.name, b->u.g.name) == 0;
    case CKPT_T_TUPLE:
        if (a->u.seq.n != b->u.seq.n)
            return false;
        for (size_t i = 0; i < a->u.seq.n; i++)
            if (!equal_at(a->u.seq.items[i], b->u.seq.items[i], work))
                return false;
        return true;
    case CKPT_T_SIZE:
        return a->u.size.n == b->u.size.n &&
               (a->u.size.n == 0 ||
                memcmp(a->u.size.dims, b->u.size.dims, a->u.size.n * sizeof(int64_t)) == 0);
    default: return false; /* identity only */
    }
}

bool ckpt__obj_equal(const ckpt_obj *a, const ckpt_obj *b)
{
    long work = HASH_WORK;
    return equal_at(a, b, &work);
}

/* ------------------------------------------------------------------ dicts */

ckpt_obj *ckpt_dict_new(ckpt_doc *doc, int kind)
{
    if (!doc || kind < CKPT_DICT_PLAIN || kind > CKPT_DICT_COUNTER)
        return NULL;
    ckpt_obj *o = ckpt__node(doc, CKPT_T_DICT);
    if (!o)
        return NULL;
    o->u.dict = ckpt__arena_calloc(&doc->arena, sizeof(ckpt__dict));
    if (!o->u.dict)
        return NULL;
    o->u.dict->kind = kind;
    return o;
}

#define DICT_INDEX_MIN 9 /* build a hash index from this many entries on */

static uint32_t fold(uint64_t h)
{
    return (uint32_t)(h ^ (h >> 32));
}

/* Keys are compared only when their stored hashes agree. */
static long dict_lookup(const ckpt__dict *d, const ckpt_obj *key, uint32_t h)
{
    if (!d->index) {
        for (size_t i = 0; i < d->n; i++)
            if (d->hashes[i] == h && ckpt__obj_equal(d->keys[i], key))
                return (long)i;
        return -1;
    }
    size_t mask = d->index_cap - 1;
    for (size_t pos = (size_t)h & mask;; pos = (pos + 1) & mask) {
        uint32_t slot = d->index[pos];
        if (slot == 0)
            return -1;
        if (d->hashes[slot - 1] == h && ckpt__obj_equal(d->keys[slot - 1], key))
            return (long)(slot - 1);
    }
}

static void index_put(ckpt__dict *d, size_t entry, uint32_t h)
{
    size_t mask = d->index_cap - 1;
    size_t pos = (size_t)h & mask;
    while (d->index[pos])
        pos = (pos + 1) & mask;
    d->index[pos] = (uint32_t)(entry + 1);
}

static int dict_reindex(ckpt_doc *doc, ckpt__dict *d, size_t want_cap)
{
    size_t bytes;
    if (ckpt_mul_size(want_cap, sizeof(uint32_t), &bytes))
        return CKPT_E_NOMEM;
    uint32_t *ni = ckpt__arena_calloc(&doc->arena, bytes);
    if (!ni)
        return CKPT_E_NOMEM;
    d->index = ni;
    d->index_cap = want_cap;
    for (size_t i = 0; i < d->n; i++)
        index_put(d, i, d->hashes[i]);
    return 0;
}

int ckpt__dict_set(ckpt_doc *doc, ckpt_obj *dict, ckpt_obj *key, ckpt_obj *value)
{
    ckpt__dict *d = dict->u.dict;
    if (!ckpt__obj_hashable(key))
        return CKPT_E_ARG;
    uint32_t h = fold(ckpt__obj_hash(key));
    long at = dict_lookup(d, key, h);
    if (at >= 0) {
        d->vals[at] = value; /* Python keeps the first key object and position */
        return 0;
    }
    if (d->n >= UINT32_MAX - 1)
        return CKPT_E_LIMIT;
    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 8;
        size_t bytes;
        if (ckpt_mul_size(ncap, sizeof(ckpt_obj *), &bytes))
            return CKPT_E_NOMEM;
        ckpt_obj **nk = ckpt__arena_alloc(&doc->arena, bytes);
        ckpt_obj **nv = ckpt__arena_alloc(&doc->arena, bytes);
        uint32_t *nh = ckpt__arena_alloc(&doc->arena, ncap * sizeof(uint32_t));
        if (!nk || !nv || !nh)
            return CKPT_E_NOMEM;
        if (d->n) {
            memcpy(nk, d->keys, d->n * sizeof(ckpt_obj *));
            memcpy(nv, d->vals, d->n * sizeof(ckpt_obj *));
            memcpy(nh, d->hashes, d->n * sizeof(uint32_t));
        }
        d->keys = nk;
        d->vals = nv;
        d->hashes = nh;
        d->cap = ncap;
    }
    d->keys[d->n] = key;
    d->vals[d->n] = value;
    d->hashes[d->n] = h;
    d->n++;
    if (d->index && d->n * 2 <= d->index_cap) {
        index_put(d, d->n - 1, h);
    } else if (d->n >= DICT_INDEX_MIN) {
        size_t cap = 16;
        while (cap < d->n * 4)
            cap *= 2;
        if (dict_reindex(doc, d, cap) < 0)
            return CKPT_E_NOMEM;
    }
    return 0;
}

int ckpt_dict_set(ckpt_doc *doc, ckpt_obj *dict, ckpt_obj *key, ckpt_obj *value, ckpt_error *err)
{
    if (!doc || !dict || dict->type != CKPT_T_DICT || !key || !value)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "ckpt_dict_set: needs a document, a dict, a key and a value, got %s",
                         dict ? ckpt_type_name(dict->type) : "NULL");
    if (!ckpt__obj_hashable(key))
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_dict_set: unhashable key of type %s",
                         ckpt_type_name(key->type));
    int rc = ckpt__dict_set(doc, dict, key, value);
    if (rc == CKPT_E_LIMIT)
        return CKPT_FAIL(err, rc, "ckpt_dict_set: dict holds the most keys it can");
    if (rc < 0)
        return CKPT_FAIL(err, rc, "ckpt_dict_set: out of memory");
    return rc;
}

int ckpt_dict_set_str(ckpt_doc *doc, ckpt_obj *dict, const char *key, ckpt_obj *value,
                      ckpt_error *err)
{
    if (!key || !doc)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_dict_set_str: no key or document");
    ckpt_obj *k = ckpt_str_new(doc, key);
    if (!k)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "ckpt_dict_set_str: out of memory");
    return ckpt_dict_set(doc, dict, k, value, err);
}

int ckpt_dict_set_attrs(ckpt_obj *dict, ckpt_obj *attrs, ckpt_error *err)
{
    if (!dict || dict->type != CKPT_T_DICT || (attrs && attrs->type != CKPT_T_DICT))
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "ckpt_dict_set_attrs: needs a dict and a dict (or NULL) of attributes");
    dict->u.dict->attrs = attrs;
    return 0;
}

int ckpt_dict_kind_of(const ckpt_obj *dict)
{
    return (dict && dict->type == CKPT_T_DICT) ? dict->u.dict->kind : -1;
}

const ckpt_obj *ckpt_dict_key(const ckpt_obj *dict, size_t i)
{
    if (!dict || dict->type != CKPT_T_DICT || i >= dict->u.dict->n)
        return NULL;
    return dict->u.dict->keys[i];
}

const ckpt_obj *ckpt_dict_value(const ckpt_obj *dict, size_t i)
{
    if (!dict || dict->type != CKPT_T_DICT || i >= dict->u.dict->n)
        return NULL;
    return dict->u.dict->vals[i];
}

const ckpt_obj *ckpt_dict_find(const ckpt_obj *dict, const ckpt_obj *key)
{
    if (!dict || dict->type != CKPT_T_DICT || !key || !ckpt__obj_hashable(key))
        return NULL;
    long at = dict_lookup(dict->u.dict, key, fold(ckpt__obj_hash(key)));
    return at >= 0 ? dict->u.dict->vals[at] : NULL;
}

const ckpt_obj *ckpt_dict_get(const ckpt_obj *dict, const char *key)
{
    if (!key)
        return NULL;
    ckpt_obj k;
    memset(&k, 0, sizeof(k));
    k.type = CKPT_T_STR;
    k.u.s.p = (char *)(uintptr_t)key;
    k.u.s.n = strlen(key);
    return ckpt_dict_find(dict, &k);
}

const ckpt_obj *ckpt_dict_attrs(const ckpt_obj *dict)
{
    return (dict && dict->type == CKPT_T_DICT) ? dict->u.dict->attrs : NULL;
}

/* ---------------------------------------------------------------- getters */

int ckpt_obj_type(const ckpt_obj *o)
{
    return o ? o->type : -1;
}

bool ckpt_obj_bool(const ckpt_obj *o)
{
    if (!o)
        return false;
    if (o->type == CKPT_T_BOOL)
        return o->u.b;
    if (o->type == CKPT_T_INT)
        return o->u.i != 0;
    return false;
}

int64_t ckpt_obj_int(const ckpt_obj *o)
{
    if (!o)
        return 0;
    if (o->type == CKPT_T_INT)
        return o->u.i;
    if (o->type == CKPT_T_BOOL)
        return o->u.b ? 1 : 0;
    return 0;
}

double ckpt_obj_float(const ckpt_obj *o)
{
    if (!o)
        return 0.0;
    if (o->type == CKPT_T_FLOAT)
        return o->u.f;
    if (o->type == CKPT_T_INT)
        return (double)o->u.i;
    if (o->type == CKPT_T_BOOL)
        return o->u.b ? 1.0 : 0.0;
    return 0.0;
}

void ckpt_obj_complex(const ckpt_obj *o, double *re, double *im)
{
    double r = 0, i = 0;
    if (o && o->type == CKPT_T_COMPLEX) {
        r = o->u.c.re;
        i = o->u.c.im;
    } else {
        r = ckpt_obj_float(o);
    }
    if (re)
        *re = r;
    if (im)
        *im = i;
}

const char *ckpt_obj_str(const ckpt_obj *o, size_t *len)
{
    if (!o || (o->type != CKPT_T_STR && o->type != CKPT_T_BYTES && o->type != CKPT_T_BYTEARRAY))
        return NULL;
    if (len)
        *len = o->u.s.n;
    return o->u.s.p;
}

size_t ckpt_obj_len(const ckpt_obj *o)
{
    if (!o)
        return 0;
    switch (o->type) {
    case CKPT_T_TUPLE:
    case CKPT_T_LIST:
    case CKPT_T_SET: return o->u.seq.n;
    case CKPT_T_DICT: return o->u.dict->n;
    case CKPT_T_SIZE: return o->u.size.n;
    case CKPT_T_STR:
    case CKPT_T_BYTES:
    case CKPT_T_BYTEARRAY: return o->u.s.n;
    default: return 0;
    }
}

const ckpt_obj *ckpt_obj_item(const ckpt_obj *o, size_t i)
{
    if (!o || (o->type != CKPT_T_TUPLE && o->type != CKPT_T_LIST && o->type != CKPT_T_SET))
        return NULL;
    return i < o->u.seq.n ? o->u.seq.items[i] : NULL;
}

static bool parse_index(const char *s, size_t *out)
{
    if (!*s)
        return false;
    size_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (SIZE_MAX - 9) / 10)
            return false;
        v = v * 10 + (size_t)(*s - '0');
    }
    *out = v;
    return true;
}

const ckpt_obj *ckpt_obj_get(const ckpt_obj *o, ...)
{
    va_list ap;
    va_start(ap, o);
    const char *k;
    while (o && (k = va_arg(ap, const char *)) != NULL) {
        if (o->type == CKPT_T_DICT) {
            const ckpt_obj *v = ckpt_dict_get(o, k);
            size_t idx;
            if (!v && parse_index(k, &idx) && idx <= INT64_MAX) {
                ckpt_obj ik;
                memset(&ik, 0, sizeof(ik));
                ik.type = CKPT_T_INT;
                ik.u.i = (int64_t)idx;
                v = ckpt_dict_find(o, &ik);
            }
            o = v;
        } else if (o->type == CKPT_T_LIST || o->type == CKPT_T_TUPLE) {
            size_t idx;
            o = parse_index(k, &idx) ? ckpt_obj_item(o, idx) : NULL;
        } else if (o->type == CKPT_T_OBJECT && o->u.obj->state &&
                   o->u.obj->state->type == CKPT_T_DICT) {
            o = ckpt_dict_get(o->u.obj->state, k);
        } else {
            o = NULL;
        }
    }
    va_end(ap);
    return o;
}

const int64_t *ckpt_size_dims(const ckpt_obj *o, size_t *n)
{
    if (!o || o->type != CKPT_T_SIZE)
        return NULL;
    if (n)
        *n = o->u.size.n;
    return o->u.size.dims;
}

int ckpt_obj_dtype(const ckpt_obj *o)
{
    return (o && o->type == CKPT_T_DTYPE) ? o->u.dtype : -1;
}

const char *ckpt_device_type(const ckpt_obj *o)
{
    return (o && o->type == CKPT_T_DEVICE) ? o->u.dev.type : NULL;
}

int64_t ckpt_device_index(const ckpt_obj *o)
{
    return (o && o->type == CKPT_T_DEVICE) ? o->u.dev.index : -1;
}

const char *ckpt_global_module(const ckpt_obj *o)
{
    if (o && o->type == CKPT_T_OBJECT)
        o = o->u.obj->cls;
    return (o && o->type == CKPT_T_GLOBAL) ? o->u.g.module : NULL;
}

const char *ckpt_global_name(const ckpt_obj *o)
{
    if (o && o->type == CKPT_T_OBJECT)
        o = o->u.obj->cls;
    return (o && o->type == CKPT_T_GLOBAL) ? o->u.g.name : NULL;
}

const ckpt_obj *ckpt_object_args(const ckpt_obj *o)
{
    return (o && o->type == CKPT_T_OBJECT) ? o->u.obj->args : NULL;
}

const ckpt_obj *ckpt_object_state(const ckpt_obj *o)
{
    return (o && o->type == CKPT_T_OBJECT) ? o->u.obj->state : NULL;
}

const ckpt_obj *ckpt_object_items(const ckpt_obj *o)
{
    return (o && o->type == CKPT_T_OBJECT) ? o->u.obj->items : NULL;
}

const char *ckpt_object_how(const ckpt_obj *o)
{
    return (o && o->type == CKPT_T_OBJECT) ? o->u.obj->how : NULL;
}

const ckpt_storage *ckpt_obj_storage(const ckpt_obj *o)
{
    return (o && o->type == CKPT_T_STORAGE) ? o->u.st : NULL;
}

const char *ckpt_version(void)
{
#define CKPT__STR2(x) #x
#define CKPT__STR(x) CKPT__STR2(x)
    return CKPT__STR(CKPT_VERSION_MAJOR) "." CKPT__STR(CKPT_VERSION_MINOR) "." CKPT__STR(
        CKPT_VERSION_PATCH);
}
