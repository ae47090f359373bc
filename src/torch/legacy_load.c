/* src/torch/legacy_load.c - torch.load of the pre-zip formats.
 *
 * Legacy stream (spec 3.1/3.2): five pickles (magic number, protocol 1001,
 * sys_info, the object, the storage keys) and then the raw storages in
 * key-list order, each an LE int64 element count and its bytes.  Tar
 * (spec 3.3, torch <= 0.1): members `storages`, `tensors` and `pickle`.
 * Anything else is named by ckpt__detect (detect.c) and refused.
 *
 * Every length is checked against the file before anything is allocated,
 * so the bytes a file makes us allocate are bytes the file holds.  Storage
 * data is always little-endian (torch's writer converts on big-endian
 * hosts, and torch.load ignores sys_info's little_endian). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/bytes.h"
#include "core/checked.h"
#include "core/err.h"
#include "torch/tar.h"
#include "torch_internal.h"

#define MAGIC_LEN 10
static const uint8_t legacy_magic[MAGIC_LEN] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                                0x20, 0x6a, 0xa8, 0x50, 0x19};

#define FAILF(err, code, off, ...)                                                               \
    CKPT_FAIL_AT((err), (code), CKPT_WHERE_FILE, NULL, (off), __VA_ARGS__)

/* ------------------------------------------------- pickle extent (no base) */

/* Without the whole file in memory, find where a pickle ends by walking its
 * opcodes (no values are built), so exactly its bytes are read. */
typedef struct scan {
    const ckpt_source *src;
    uint64_t pos, limit;
    uint64_t boff; /* file offset of buf[0] */
    size_t blen;
    uint8_t buf[4096];
} scan;

static int sc_fail(scan *s, const char *name, ckpt_error *err)
{
    return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, s->pos,
                        "%s is truncated: the file (or member) ends at offset %llu before its "
                        "STOP opcode",
                        name, (unsigned long long)s->limit);
}

static int sc_byte(scan *s, uint8_t *b, const char *name, ckpt_error *err)
{
    if (s->pos >= s->limit)
        return sc_fail(s, name, err);
    if (s->pos < s->boff || s->pos >= s->boff + s->blen) {
        uint64_t left = s->limit - s->pos;
        size_t n = left < sizeof(s->buf) ? (size_t)left : sizeof(s->buf);
        CKPT_TRY(ckpt_source_read(s->src, s->pos, s->buf, n, err));
        s->boff = s->pos;
        s->blen = n;
    }
    *b = s->buf[s->pos - s->boff];
    s->pos++;
    return 0;
}

static int sc_skip(scan *s, uint64_t n, const char *name, ckpt_error *err)
{
    if (n > s->limit - s->pos)
        return sc_fail(s, name, err);
    s->pos += n;
    return 0;
}

static int sc_uint(scan *s, int w, uint64_t *v, const char *name, ckpt_error *err)
{
    *v = 0;
    for (int i = 0; i < w; i++) {
        uint8_t b;
        CKPT_TRY(sc_byte(s, &b, name, err));
        *v |= (uint64_t)b << (8 * i);
    }
    return 0;
}

static int sc_line(scan *s, const char *name, ckpt_error *err)
{
    uint8_t b = 0;
    while (b != '\n')
        CKPT_TRY(sc_byte(s, &b, name, err));
    return 0;
}

static int pickle_extent(const ckpt_source *src, uint64_t start, uint64_t limit, uint64_t *stop,
                         const char *name, ckpt_error *err)
{
    scan *s = calloc(1, sizeof(*s));
    if (!s)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    s->src = src;
    s->pos = start;
    s->limit = limit;
    int rc = 0;
    for (;;) {
        uint8_t op;
        uint64_t len = 0;
        int fixed = -1, lenw = 0, lines = 0;
        if ((rc = sc_byte(s, &op, name, err)) < 0)
            break;
        switch (op) {
        case CKPT_OP_STOP:
            *stop = s->pos;
            free(s);
            return 0;
        case CKPT_OP_PROTO:
        case CKPT_OP_BININT1:
        case CKPT_OP_BINGET:
        case CKPT_OP_BINPUT:
        case CKPT_OP_EXT1: fixed = 1; break;
        case CKPT_OP_BININT2:
        case CKPT_OP_EXT2: fixed = 2; break;
        case CKPT_OP_BININT:
        case CKPT_OP_LONG_BINGET:
        case CKPT_OP_LONG_BINPUT:
        case CKPT_OP_EXT4: fixed = 4; break;
        case CKPT_OP_BINFLOAT:
        case CKPT_OP_FRAME: fixed = 8; break;
        case CKPT_OP_LONG1:
        case CKPT_OP_SHORT_BINSTRING:
        case CKPT_OP_SHORT_BINUNICODE:
        case CKPT_OP_SHORT_BINBYTES: lenw = 1; break;
        case CKPT_OP_LONG4:
        case CKPT_OP_BINSTRING:
        case CKPT_OP_BINUNICODE:
        case CKPT_OP_BINBYTES: lenw = 4; break;
        case CKPT_OP_BINUNICODE8:
        case CKPT_OP_BINBYTES8:
        case CKPT_OP_BYTEARRAY8: lenw = 8; break;
        case CKPT_OP_INT:
        case CKPT_OP_LONG:
        case CKPT_OP_FLOAT:
        case CKPT_OP_STRING:
        case CKPT_OP_UNICODE:
        case CKPT_OP_GET:
        case CKPT_OP_PUT:
        case CKPT_OP_PERSID: lines = 1; break;
        case CKPT_OP_GLOBAL:
        case CKPT_OP_INST: lines = 2; break;
        default:
            if (!ckpt_pickle_op_name(op)) {
                uint64_t at = s->pos - 1;
                free(s);
                return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, at,
                                    "%s: unknown pickle opcode 0x%02x", name, op);
            }
            break; /* no argument */
        }
        if (fixed > 0)
            rc = sc_skip(s, (uint64_t)fixed, name, err);
        else if (lenw > 0 && (rc = sc_uint(s, lenw, &len, name, err)) == 0)
            rc = sc_skip(s, len, name, err);
        for (int i = 0; rc == 0 && i < lines; i++)
            rc = sc_line(s, name, err);
        if (rc < 0)
            break;
    }
    free(s);
    return rc;
}

/* ------------------------------------------------------------ pickles */

/* Run the pickle that starts at `start` (ending before `limit`); *next gets
 * the offset after its STOP. */
static ckpt_obj *run_pickle(tload *L, const ckpt_pickle_hooks *hk, uint64_t start, uint64_t limit,
                            const char *what, bool big_ints, uint64_t *next, ckpt_error *err)
{
    char name[96];
    snprintf(name, sizeof(name), "%s at file offset %llu", what, (unsigned long long)start);
    if (start >= limit) {
        CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, start,
                     "truncated: the file (or member) ends at offset %llu where the %s should "
                     "begin",
                     (unsigned long long)limit, what);
        return NULL;
    }
    const uint8_t *buf;
    uint8_t *tmp = NULL;
    size_t n = 0;
    uint64_t stop = limit;
    if (!L->src->base && pickle_extent(L->src, start, limit, &stop, name, err) < 0)
        return NULL;
    if (ckpt_u64_to_size(stop - start, &n)) {
        CKPT_FAIL(err, CKPT_E_LIMIT, "%s does not fit in memory", name);
        return NULL;
    }
    if (L->src->base) {
        buf = L->src->base + start;
    } else {
        tmp = ckpt__mem_alloc(&L->doc->mem, n);
        if (!tmp) {
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory reading %s (%zu bytes)", name, n);
            return NULL;
        }
        if (ckpt_source_read(L->src, start, tmp, n, err) < 0) {
            ckpt__mem_free(&L->doc->mem, tmp, n);
            return NULL;
        }
        buf = tmp;
    }
    ckpt_pickle_opts po;
    memset(&po, 0, sizeof(po));
    po.name = name;
    po.max_depth = L->opts->limits.max_depth;
    po.max_objects = L->opts->limits.max_objects;
    po.big_ints = big_ints;
    po.latin1_strings = L->opts->encoding == 1;
    po.bytes_strings = L->opts->encoding == 2;
    size_t used = 0;
    ckpt_obj *o = ckpt_pickle_load(L->doc, buf, n, hk, &po, &used, err);
    if (tmp)
        ckpt__mem_free(&L->doc->mem, tmp, n);
    if (!o) {
        /* the torch hooks label their errors data.pkl: say which pickle it was */
        if (err && err->where == CKPT_WHERE_PICKLE && strcmp(err->member, "data.pkl") == 0)
            snprintf(err->member, sizeof(err->member), "%s", name);
        return NULL;
    }
    *next = start + used;
    return o;
}

static bool is_magic(const ckpt_obj *o)
{
    if (!o || o->type != CKPT_T_OBJECT || !o->u.obj->how || strcmp(o->u.obj->how, "bigint") != 0)
        return false;
    const ckpt_obj *a = o->u.obj->args;
    if (!a || a->type != CKPT_T_TUPLE || a->u.seq.n != 1)
        return false;
    const ckpt_obj *b = a->u.seq.items[0];
    return b->type == CKPT_T_BYTES && b->u.s.n == MAGIC_LEN &&
           memcmp(b->u.s.p, legacy_magic, MAGIC_LEN) == 0;
}

static const char *value_kind(const ckpt_obj *o)
{
    if (o->type == CKPT_T_OBJECT && o->u.obj->how && strcmp(o->u.obj->how, "bigint") == 0)
        return "a big integer";
    return ckpt_type_name(o->type);
}

static int read_raw_count(tload *L, uint64_t pos, uint64_t limit, int64_t *count, const char *key,
                          ckpt_error *err)
{
    uint8_t b[8];
    if (pos > limit || limit - pos < 8)
        return FAILF(err, CKPT_E_FORMAT, pos,
                     "truncated: storage '%.60s' needs an 8-byte element count at offset %llu "
                     "but the data ends at offset %llu",
                     key, (unsigned long long)pos, (unsigned long long)limit);
    CKPT_TRY(ckpt_source_read(L->src, pos, b, 8, err));
    uint64_t u = ckpt_rd_u64le(b);
    if (u > (uint64_t)INT64_MAX)
        return FAILF(err, CKPT_E_FORMAT, pos,
                     "storage '%.60s' has a negative element count at offset %llu", key,
                     (unsigned long long)pos);
    *count = (int64_t)u;
    return 0;
}

/* Read `s->nbytes` bytes at `pos` into freshly allocated storage data. */
static int fill_raw(tload *L, ckpt_storage *s, uint64_t pos, uint64_t limit, ckpt_error *err)
{
    if (pos > limit || s->nbytes > limit - pos)
        return FAILF(err, CKPT_E_FORMAT, pos,
                     "truncated: storage '%.60s' needs %llu bytes from offset %llu but the "
                     "data ends before",
                     s->key ? s->key : "?", (unsigned long long)s->nbytes,
                     (unsigned long long)pos);
    CKPT_TRY(ckpt__storage_alloc_data(L->doc, s, false, err));
    if (s->nbytes)
        CKPT_TRY(ckpt_source_read(L->src, pos, s->data, (size_t)s->nbytes, err));
    s->file_offset = pos;
    return 0;
}

/* ------------------------------------------------------- legacy stream */

static int check_sys_info(const ckpt_obj *si, uint64_t off, ckpt_error *err)
{
    if (si->type != CKPT_T_DICT)
        return FAILF(err, CKPT_E_FORMAT, off,
                     "legacy sys_info pickle at offset %llu is a %s, expected a dict",
                     (unsigned long long)off, ckpt_type_name(si->type));
    const ckpt_obj *le = ckpt_dict_get(si, "little_endian");
    if (le && le->type != CKPT_T_BOOL && le->type != CKPT_T_INT)
        return FAILF(err, CKPT_E_FORMAT, off,
                     "legacy sys_info at offset %llu: little_endian is not a bool",
                     (unsigned long long)off);
    /* A big-endian writer still wrote little-endian data (the C++ writer
     * converts), and torch.load never looks at this flag: nothing to swap. */
    return 0;
}

static int load_stream(tload *L, ckpt_error *err)
{
    const ckpt_source *src = L->src;
    uint64_t size = src->size, pos = 0, next;
    ckpt_pickle_hooks hooks;
    ckpt__torch_hooks(&hooks, L);

    ckpt_obj *magic = run_pickle(L, &hooks, pos, size, "magic number pickle", true, &next, err);
    if (!magic)
        return err ? err->code : CKPT_E_FORMAT;
    if (!is_magic(magic)) {
        char why[200];
        ckpt__detect(src, why, sizeof(why), NULL);
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, 0,
                            "not a torch.save file: %s; its first pickle holds %s, not torch's "
                            "magic number (torch.load: \"Invalid magic number; corrupt file?\")",
                            why, value_kind(magic));
    }
    pos = next;
    ckpt_obj *proto = run_pickle(L, &hooks, pos, size, "protocol version pickle", true, &next,
                                 err);
    if (!proto)
        return err ? err->code : CKPT_E_FORMAT;
    if (proto->type != CKPT_T_INT || proto->u.i != 1001)
        return CKPT_FAIL_AT(err, proto->type == CKPT_T_INT ? CKPT_E_UNSUPPORTED : CKPT_E_FORMAT,
                            CKPT_WHERE_FILE, NULL, pos,
                            "invalid legacy protocol version at offset %llu: %lld (%s), ckpt "
                            "knows 1001",
                            (unsigned long long)pos,
                            proto->type == CKPT_T_INT ? (long long)proto->u.i : 0LL,
                            value_kind(proto));
    pos = next;
    ckpt_obj *si = run_pickle(L, &hooks, pos, size, "sys_info pickle", false, &next, err);
    if (!si)
        return err ? err->code : CKPT_E_FORMAT;
    CKPT_TRY(check_sys_info(si, pos, err));
    pos = next;
    ckpt_obj *root = run_pickle(L, &hooks, pos, size, "object pickle", false, &next, err);
    if (!root)
        return err ? err->code : CKPT_E_FORMAT;
    pos = next;
    ckpt_obj *keys = run_pickle(L, &hooks, pos, size, "storage key list pickle", false, &next,
                                err);
    if (!keys)
        return err ? err->code : CKPT_E_FORMAT;
    if (keys->type != CKPT_T_LIST)
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, pos,
                            "legacy storage key list at offset %llu is a %s, expected a list",
                            (unsigned long long)pos, ckpt_type_name(keys->type));
    uint64_t klist = pos;
    pos = next;
    for (size_t i = 0; i < keys->u.seq.n; i++) {
        const ckpt_obj *k = keys->u.seq.items[i];
        if (k->type != CKPT_T_STR && k->type != CKPT_T_BYTES)
            return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, klist,
                                "legacy storage key list item %zu is a %s, expected a str", i,
                                ckpt_type_name(k->type));
        ckpt_storage *s = ckpt__tload_storage(L, k->u.s.p);
        if (!s || s->entry)
            return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, klist,
                                "legacy storage key list names '%.60s', which the object pickle "
                                "%s",
                                k->u.s.p,
                                s ? "uses as a view, not a root storage" : "never references");
        if (s->data)
            return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, klist,
                                "legacy storage key list names '%.60s' twice", k->u.s.p);
        int64_t count;
        CKPT_TRY(read_raw_count(L, pos, size, &count, s->key, err));
        size_t isz = s->untyped ? 1 : ckpt_dtype_size(s->dtype);
        uint64_t got;
        if (ckpt_mul_u64((uint64_t)count, isz, &got) || got != s->nbytes) {
            int rc = CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, pos,
                                  "storage '%.60s' has wrong byte size at offset %llu: the "
                                  "pickle declares %llu bytes, the data header says %lld "
                                  "elements of %zu bytes",
                                  s->key, (unsigned long long)pos, (unsigned long long)s->nbytes,
                                  (long long)count, isz);
            if (err && !err->key[0])
                snprintf(err->key, sizeof(err->key), "storage %.200s", s->key);
            return rc;
        }
        CKPT_TRY(fill_raw(L, s, pos + 8, size, err));
        pos += 8 + s->nbytes;
    }
    /* every root must have had its bytes; views now point into their root */
    ckpt_doc *doc = L->doc;
    for (size_t i = 0; i < doc->nstorages; i++) {
        ckpt_storage *s = doc->storages[i];
        if (!s->entry && !s->data)
            return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, klist,
                                "storage '%.60s' is used by the object pickle but missing from "
                                "the storage key list at offset %llu",
                                s->key ? s->key : "?", (unsigned long long)klist);
    }
    for (size_t i = 0; i < doc->nstorages; i++) {
        ckpt_storage *s = doc->storages[i];
        if (!s->entry)
            continue;
        ckpt_storage *r = (ckpt_storage *)(uintptr_t)s->entry;
        s->data = r->data + s->file_offset;
        s->file_offset += r->file_offset;
        s->hold = CKPT_HOLD_BORROWED; /* the root owns the bytes */
        s->entry = NULL;
    }
    doc->root = root;
    return 0;
}

/* ------------------------------------------------------------------ tar */

typedef struct tar_member {
    uint64_t off, size;
    bool found;
} tar_member;

typedef struct tar_ent {
    int64_t key;
    ckpt_obj *obj; /* STORAGE or TENSOR node */
} tar_ent;

typedef struct tar_ctx {
    tload *L;
    ckpt_pickle_hooks inner; /* the torch hooks, ctx = L */
    tar_ent *tab;            /* open addressing on key; obj NULL = empty */
    size_t n, cap;
} tar_ctx;

static size_t tar_hash(int64_t k, size_t mask)
{
    uint64_t h = (uint64_t)k * 0x9e3779b97f4a7c15ull;
    return (size_t)(h >> 17) & mask;
}

static ckpt_obj *tar_find(const tar_ctx *t, int64_t key)
{
    if (!t->cap)
        return NULL;
    size_t mask = t->cap - 1;
    for (size_t i = tar_hash(key, mask);; i = (i + 1) & mask) {
        if (!t->tab[i].obj)
            return NULL;
        if (t->tab[i].key == key)
            return t->tab[i].obj;
    }
}

static int tar_add(tar_ctx *t, int64_t key, ckpt_obj *obj, uint64_t off, ckpt_error *err)
{
    ckpt__mem *m = &t->L->doc->mem;
    if (tar_find(t, key))
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, off,
                            "tar: key %lld is defined twice", (long long)key);
    if ((t->n + 1) * 2 > t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 64;
        tar_ent *nt = ckpt__mem_calloc(m, ncap * sizeof(*nt));
        if (!nt)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        for (size_t i = 0; i < t->cap; i++)
            if (t->tab[i].obj) {
                size_t j = tar_hash(t->tab[i].key, ncap - 1);
                while (nt[j].obj)
                    j = (j + 1) & (ncap - 1);
                nt[j] = t->tab[i];
            }
        if (t->tab)
            ckpt__mem_free(m, t->tab, t->cap * sizeof(*t->tab));
        t->tab = nt;
        t->cap = ncap;
    }
    size_t mask = t->cap - 1, i = tar_hash(key, mask);
    while (t->tab[i].obj)
        i = (i + 1) & mask;
    t->tab[i].key = key;
    t->tab[i].obj = obj;
    t->n++;
    return 0;
}

/* Hook wrappers: the torch hooks with the tar persistent ids. */
static ckpt_obj *tw_find_class(void *ctx, ckpt_doc *doc, const char *module, const char *name,
                               int op, uint64_t off, ckpt_error *err)
{
    tar_ctx *t = ctx;
    return t->inner.find_class(t->inner.ctx, doc, module, name, op, off, err);
}

static ckpt_obj *tw_reduce(void *ctx, ckpt_doc *doc, ckpt_obj *callable, ckpt_obj *args, int op,
                           uint64_t off, ckpt_error *err)
{
    tar_ctx *t = ctx;
    return t->inner.reduce(t->inner.ctx, doc, callable, args, op, off, err);
}

static ckpt_obj *tw_newobj(void *ctx, ckpt_doc *doc, ckpt_obj *cls, ckpt_obj *args,
                           ckpt_obj *kwargs, int op, uint64_t off, ckpt_error *err)
{
    tar_ctx *t = ctx;
    return t->inner.newobj(t->inner.ctx, doc, cls, args, kwargs, op, off, err);
}

static int tw_build(void *ctx, ckpt_doc *doc, ckpt_obj *obj, ckpt_obj *state, int op,
                    uint64_t off, ckpt_error *err)
{
    tar_ctx *t = ctx;
    return t->inner.build(t->inner.ctx, doc, obj, state, op, off, err);
}

static ckpt_obj *tw_ext(void *ctx, ckpt_doc *doc, int64_t code, int op, uint64_t off,
                        ckpt_error *err)
{
    tar_ctx *t = ctx;
    return t->inner.ext(t->inner.ctx, doc, code, op, off, err);
}

static bool parse_i64(const char *s, int64_t *out)
{
    bool neg = *s == '-';
    uint64_t v = 0;
    if (neg)
        s++;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (uint64_t)INT64_MAX / 10)
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v > (uint64_t)INT64_MAX)
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

/* tar persistent ids: a decimal key of a storage or tensor, or a 3-tuple
 * (container class, source_file, source). */
static ckpt_obj *tw_persistent_load(void *ctx, ckpt_doc *doc, ckpt_obj *pid, int op, uint64_t off,
                                    ckpt_error *err)
{
    tar_ctx *t = ctx;
    (void)doc;
    const char *opn = ckpt_pickle_op_name(op) ? ckpt_pickle_op_name(op) : "?";
    if (pid->type == CKPT_T_STR || pid->type == CKPT_T_BYTES) {
        int64_t key;
        ckpt_obj *o = parse_i64(pid->u.s.p, &key) ? tar_find(t, key) : NULL;
        if (!o)
            CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_PICKLE, "pickle", off,
                         "%s: persistent id '%.40s' names no storage or tensor of the tar file",
                         opn, pid->u.s.p);
        return o;
    }
    if (pid->type == CKPT_T_TUPLE && pid->u.seq.n == 3 &&
        pid->u.seq.items[0]->type == CKPT_T_GLOBAL) {
        ckpt_obj *cls = pid->u.seq.items[0];
        if (t->L->opts->unsafe_full)
            return cls;
        CKPT_FAIL_AT(err, CKPT_E_UNSAFE, CKPT_WHERE_PICKLE, "pickle", off,
                     "%s: whole-module pickle: container class %s.%s is not allowed in "
                     "weights-only mode; nothing was executed",
                     opn, cls->u.g.module, cls->u.g.name);
        return NULL;
    }
    CKPT_FAIL_AT(err, CKPT_E_UNSAFE, CKPT_WHERE_PICKLE, "pickle", off,
                 "%s: tar persistent ids must be a decimal key or (class, source_file, source), "
                 "not a %s",
                 opn, ckpt_type_name(pid->type));
    return NULL;
}

/* The storages, tensors and pickle members, found as torch finds them: Python's
 * tarfile lists every member first (tar.h), then getmember takes a name
 * exactly.  Returns 1 when tarfile raises ReadError while listing: torch then
 * abandons the tar and reads the file as a pickle stream from byte 0. */
static int tar_members(tload *L, tar_member *m, ckpt_error *err)
{
    static const char *const names[3] = {"storages", "tensors", "pickle"};
    ckpt__tar_walk w;
    ckpt__tar_member tm;
    ckpt__tar_begin(&w, L->src, L->opts->alloc);
    int r;
    while ((r = ckpt__tar_next(&w, &tm, err)) == 1) {
        for (int k = 0; k < 3; k++) {
            if (!ckpt__tar_named(&tm, names[k]))
                continue;
            if (!tm.data)
                return FAILF(err, CKPT_E_UNSUPPORTED, tm.header_off,
                             "tar member '%s' at offset %llu is a link, directory or device "
                             "(type '%c'), not data",
                             names[k], (unsigned long long)tm.header_off,
                             tm.type ? tm.type : '0');
            if (m[k].found)
                return FAILF(err, CKPT_E_FORMAT, tm.header_off,
                             "tar file has two '%s' members (the second at offset %llu)",
                             names[k], (unsigned long long)tm.header_off);
            m[k].found = true;
            m[k].off = tm.data_off;
            m[k].size = tm.size;
        }
    }
    if (r < 0)
        return w.read_error ? 1 : r;
    for (int k = 0; k < 3; k++)
        if (!m[k].found)
            return FAILF(err, CKPT_E_FORMAT, L->src->size,
                         "tar file has no '%s' member (torch <= 0.1 files have storages, "
                         "tensors and pickle)",
                         names[k]);
    return 0;
}

static int want_int(const ckpt_obj *o, uint64_t off, const char *what, int64_t *v,
                    ckpt_error *err)
{
    if (!o || o->type != CKPT_T_INT || o->u.i < 0)
        return FAILF(err, CKPT_E_FORMAT, off,
                     "tar: %s at offset %llu is not a non-negative "
                     "int",
                     what, (unsigned long long)off);
    *v = o->u.i;
    return 0;
}

static int tar_storages(tar_ctx *t, const ckpt_pickle_hooks *hk, const tar_member *m,
                        ckpt_error *err)
{
    tload *L = t->L;
    ckpt_doc *doc = L->doc;
    uint64_t pos = m->off, end = m->off + m->size, next;
    int64_t count;
    ckpt_obj *o = run_pickle(L, hk, pos, end, "tar storages count pickle", false, &next, err);
    if (!o)
        return err ? err->code : CKPT_E_FORMAT;
    CKPT_TRY(want_int(o, pos, "storage count", &count, err));
    pos = next;
    for (int64_t i = 0; i < count; i++) {
        ckpt_obj *a = run_pickle(L, hk, pos, end, "tar storage header pickle", false, &next, err);
        if (!a)
            return err ? err->code : CKPT_E_FORMAT;
        ckpt_obj *key = NULL, *loc = NULL, *cls = NULL;
        if (a->type == CKPT_T_TUPLE && a->u.seq.n == 3) {
            key = a->u.seq.items[0];
            loc = a->u.seq.items[1];
            cls = a->u.seq.items[2];
        }
        int cid = cls && cls->type == CKPT_T_GLOBAL ? cls->u.g.id : -1;
        if (!key || key->type != CKPT_T_INT ||
            (loc->type != CKPT_T_STR && loc->type != CKPT_T_BYTES) ||
            (cid != TG_STORAGE_CLASS && cid != TG_UNTYPED_STORAGE))
            return FAILF(err, CKPT_E_FORMAT, pos,
                         "tar: storage header at offset %llu must be (key, location, "
                         "storage class)",
                         (unsigned long long)pos);
        bool untyped = cid == TG_UNTYPED_STORAGE;
        int dtype = untyped ? CKPT_U8 : ckpt__dtype_from_storage_name(cls->u.g.name);
        size_t isz = untyped ? 1 : ckpt_dtype_size(dtype);
        pos = next;
        int64_t cnt;
        char kbuf[32];
        snprintf(kbuf, sizeof(kbuf), "%lld", (long long)key->u.i);
        CKPT_TRY(read_raw_count(L, pos, end, &cnt, kbuf, err));
        uint64_t nbytes;
        if (isz == 0 || ckpt_mul_u64((uint64_t)cnt, isz, &nbytes) || nbytes > end - pos - 8)
            return FAILF(err, CKPT_E_FORMAT, pos,
                         "truncated: tar storage %s at offset %llu declares %llu elements "
                         "past the end of member 'storages'",
                         kbuf, (unsigned long long)pos, (unsigned long long)cnt);
        char where[128];
        if (L->opts->keep_locations)
            snprintf(where, sizeof(where), "%s", loc->u.s.p);
        else
            CKPT_TRY(ckpt__map_location(L->opts, loc->u.s.p, where, sizeof(where), err));
        ckpt_storage *s = ckpt__storage_new(doc, dtype, untyped, nbytes);
        ckpt_obj *so = s ? ckpt__node(doc, CKPT_T_STORAGE) : NULL;
        if (!so || !(s->key = ckpt__arena_strndup(&doc->arena, kbuf, strlen(kbuf))) ||
            !(s->location = ckpt__arena_strndup(&doc->arena, where, strlen(where))))
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        so->u.st = s;
        CKPT_TRY(fill_raw(L, s, pos + 8, end, err));
        CKPT_TRY(tar_add(t, key->u.i, so, pos, err));
        pos += 8 + nbytes;
    }
    ckpt_obj *views = run_pickle(L, hk, pos, end, "tar storage views pickle", false, &next, err);
    if (!views)
        return err ? err->code : CKPT_E_FORMAT;
    if (views->type != CKPT_T_LIST && views->type != CKPT_T_TUPLE)
        return FAILF(err, CKPT_E_FORMAT, pos,
                     "tar: storage views at offset %llu are not a "
                     "list",
                     (unsigned long long)pos);
    for (size_t i = 0; i < views->u.seq.n; i++) {
        const ckpt_obj *v = views->u.seq.items[i];
        int64_t f[4];
        if ((v->type != CKPT_T_TUPLE && v->type != CKPT_T_LIST) || v->u.seq.n != 4)
            return FAILF(err, CKPT_E_FORMAT, pos,
                         "tar: storage view at offset %llu is not "
                         "(target, root, offset, numel)",
                         (unsigned long long)pos);
        for (int k = 0; k < 4; k++) {
            if (v->u.seq.items[k]->type != CKPT_T_INT || (k >= 2 && v->u.seq.items[k]->u.i < 0))
                return FAILF(err, CKPT_E_FORMAT, pos,
                             "tar: storage view at offset %llu "
                             "has a bad field",
                             (unsigned long long)pos);
            f[k] = v->u.seq.items[k]->u.i;
        }
        ckpt_obj *ro = tar_find(t, f[1]);
        if (!ro || ro->type != CKPT_T_STORAGE)
            return FAILF(err, CKPT_E_FORMAT, pos,
                         "tar: storage view at offset %llu names "
                         "unknown root %lld",
                         (unsigned long long)pos, (unsigned long long)f[1]);
        ckpt_storage *r = ro->u.st;
        size_t isz = r->untyped ? 1 : ckpt_dtype_size(r->dtype);
        uint64_t vb, vo, ve;
        if (ckpt_mul_u64((uint64_t)f[2], isz, &vo) || ckpt_mul_u64((uint64_t)f[3], isz, &vb) ||
            ckpt_add_u64(vo, vb, &ve) || ve > r->nbytes)
            return FAILF(err, CKPT_E_FORMAT, pos,
                         "tar: storage view at offset %llu runs "
                         "past its root (%llu bytes)",
                         (unsigned long long)pos, (unsigned long long)r->nbytes);
        ckpt_storage *s = ckpt__storage_new(doc, r->dtype, r->untyped, vb);
        ckpt_obj *so = s ? ckpt__node(doc, CKPT_T_STORAGE) : NULL;
        char kbuf[32];
        snprintf(kbuf, sizeof(kbuf), "%lld", (long long)f[0]);
        if (!so || !(s->key = ckpt__arena_strndup(&doc->arena, kbuf, strlen(kbuf))))
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        s->location = r->location;
        s->data = r->data + vo;
        s->hold = CKPT_HOLD_BORROWED;
        s->file_offset = r->file_offset + vo;
        so->u.st = s;
        CKPT_TRY(tar_add(t, f[0], so, pos, err));
    }
    return 0;
}

static int tar_tensors(tar_ctx *t, const ckpt_pickle_hooks *hk, const tar_member *m,
                       ckpt_error *err)
{
    tload *L = t->L;
    uint64_t pos = m->off, end = m->off + m->size, next;
    uint32_t max_ndim = L->opts->limits.max_ndim ? L->opts->limits.max_ndim : 64;
    int64_t count;
    ckpt_obj *o = run_pickle(L, hk, pos, end, "tar tensors count pickle", false, &next, err);
    if (!o)
        return err ? err->code : CKPT_E_FORMAT;
    CKPT_TRY(want_int(o, pos, "tensor count", &count, err));
    pos = next;
    int64_t dims[2 * 64 + 1];
    uint8_t raw[8 * (2 * 64 + 1)];
    if (max_ndim > 64)
        max_ndim = 64;
    for (int64_t i = 0; i < count; i++) {
        ckpt_obj *a = run_pickle(L, hk, pos, end, "tar tensor header pickle", false, &next, err);
        if (!a)
            return err ? err->code : CKPT_E_FORMAT;
        if (a->type != CKPT_T_TUPLE || a->u.seq.n != 3 || a->u.seq.items[0]->type != CKPT_T_INT ||
            a->u.seq.items[1]->type != CKPT_T_INT)
            return FAILF(err, CKPT_E_FORMAT, pos,
                         "tar: tensor header at offset %llu must "
                         "be (key, storage key, tensor type)",
                         (unsigned long long)pos);
        int64_t key = a->u.seq.items[0]->u.i, skey = a->u.seq.items[1]->u.i;
        ckpt_obj *so = tar_find(t, skey);
        if (!so || so->type != CKPT_T_STORAGE)
            return FAILF(err, CKPT_E_FORMAT, pos,
                         "tar: tensor at offset %llu names unknown "
                         "storage %lld",
                         (unsigned long long)pos, (unsigned long long)skey);
        pos = next;
        if (end - pos < 8)
            return FAILF(err, CKPT_E_FORMAT, pos,
                         "truncated: tar tensor dims at offset "
                         "%llu need 8 bytes (member ends at %llu)",
                         (unsigned long long)pos, (unsigned long long)end);
        uint8_t nb[8];
        CKPT_TRY(ckpt_source_read(L->src, pos, nb, 8, err));
        int32_t nd;
        uint32_t u = ckpt_rd_u32le(nb);
        memcpy(&nd, &u, sizeof(nd));
        if (nd < 0 || (uint32_t)nd > max_ndim)
            return FAILF(err, nd < 0 ? CKPT_E_FORMAT : CKPT_E_LIMIT, pos,
                         "tar tensor at offset %llu has %lld dimensions", (unsigned long long)pos,
                         (unsigned long long)(long long)nd);
        size_t need = 8u * (2u * (size_t)nd + 1u);
        if (end - pos - 8 < need)
            return FAILF(err, CKPT_E_FORMAT, pos,
                         "truncated: tar tensor at offset %llu "
                         "needs %llu bytes of sizes and strides",
                         (unsigned long long)pos, (unsigned long long)need);
        CKPT_TRY(ckpt_source_read(L->src, pos + 8, raw, need, err));
        for (size_t k = 0; k < 2u * (size_t)nd + 1u; k++) {
            uint64_t w = ckpt_rd_u64le(raw + 8 * k);
            memcpy(&dims[k], &w, sizeof(w));
        }
        ckpt_storage *s = so->u.st;
        int dtype = s->untyped ? CKPT_U8 : s->dtype;
        ckpt_obj *to = ckpt__tensor_new(L->doc, s, dtype, nd, dims, dims + nd, dims[2 * nd]);
        if (!to)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        if (ckpt__tensor_check_bounds(to->u.t, err) < 0) {
            if (err && err->where == CKPT_WHERE_NONE) {
                err->where = CKPT_WHERE_FILE;
                err->offset = pos;
            }
            return err ? err->code : CKPT_E_FORMAT;
        }
        CKPT_TRY(tar_add(t, key, to, pos, err));
        pos += 8 + need;
    }
    return 0;
}

static int load_tar(tload *L, ckpt_error *err)
{
    tar_member m[3];
    memset(m, 0, sizeof(m));
    int found = tar_members(L, m, err);
    if (found == 1) { /* torch.load catches the TarError and reads a pickle stream */
        ckpt_error_clear(err);
        L->format = TF_LEGACY;
        return load_stream(L, err);
    }
    CKPT_TRY(found);
    tar_ctx t;
    memset(&t, 0, sizeof(t));
    t.L = L;
    ckpt__torch_hooks(&t.inner, L);
    ckpt_pickle_hooks plain = t.inner; /* storage/tensor headers: no persistent ids */
    plain.persistent_load = NULL;
    ckpt_pickle_hooks hk;
    memset(&hk, 0, sizeof(hk));
    hk.ctx = &t;
    hk.find_class = tw_find_class;
    hk.persistent_load = tw_persistent_load;
    hk.reduce = tw_reduce;
    hk.newobj = tw_newobj;
    hk.build = tw_build;
    hk.ext = tw_ext;
    int rc = tar_storages(&t, &plain, &m[0], err);
    if (rc == 0)
        rc = tar_tensors(&t, &plain, &m[1], err);
    if (rc == 0) {
        uint64_t next;
        ckpt_obj *root = run_pickle(L, &hk, m[2].off, m[2].off + m[2].size, "tar object pickle",
                                    false, &next, err);
        if (root)
            L->doc->root = root;
        else
            rc = err ? err->code : CKPT_E_FORMAT;
    }
    if (t.tab)
        ckpt__mem_free(&L->doc->mem, t.tab, t.cap * sizeof(*t.tab));
    return rc < 0 ? rc : 0;
}

/* ------------------------------------------------------------------ entry */

int ckpt__legacy_load(tload *L, ckpt_error *err)
{
    char why[256];
    uint64_t off = 0;
    const char *kind = ckpt__detect(L->src, why, sizeof(why), &off);
    int rc;
    if (strcmp(kind, "torch-legacy") == 0 || strcmp(kind, "pickle") == 0) {
        /* a plain pickle gets its first pickle run, so a hostile one is named by the
         * weights-only rules and a benign one is told apart from a legacy file */
        L->format = TF_LEGACY;
        rc = load_stream(L, err);
    } else if (strcmp(kind, "torch-tar") == 0 || strcmp(kind, "tar") == 0) {
        L->format = TF_TAR;
        rc = load_tar(L, err);
    } else {
        bool other = strcmp(kind, "safetensors") == 0 || strcmp(kind, "gguf") == 0 ||
                     strcmp(kind, "npy") == 0 || strcmp(kind, "npz") == 0 ||
                     strcmp(kind, "newer-version") == 0 || strcmp(kind, "torchscript") == 0 ||
                     strcmp(kind, "torch-preview") == 0;
        return CKPT_FAIL_AT(err, other ? CKPT_E_UNSUPPORTED : CKPT_E_FORMAT, CKPT_WHERE_FILE,
                            NULL, off, "not a torch.save file: the file is %s", why);
    }
    if (rc < 0) {
        /* views may still name their root in `entry`: clear it (not a zip entry) */
        for (size_t i = 0; i < L->doc->nstorages; i++)
            if (!L->doc->storages[i]->data)
                L->doc->storages[i]->entry = NULL;
        return rc;
    }
    return 0;
}
