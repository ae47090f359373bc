/* src/formats/gguf.c - GGUF read (ckpt/formats.h): versions 2 and 3,
 * little-endian files.
 *
 * Layout (ggml/src/gguf.cpp, gguf-py): "GGUF", uint32 version, uint64
 * n_tensors, uint64 n_kv; n_kv pairs (string key, uint32 value type, value);
 * n_tensors infos (string name, uint32 n_dims <= 4, int64 ne[n_dims], uint32
 * ggml type, uint64 offset relative to the data section); zero padding to
 * `general.alignment` (uint32, a power of 2, default 32); the data section.
 * A string is a uint64 length and that many bytes; an array is uint32 item
 * type, uint64 count, items.  Value types: 0 uint8, 1 int8, 2 uint16, 3
 * int16, 4 uint32, 5 int32, 6 float32, 7 bool, 8 string, 9 array, 10 uint64,
 * 11 int64, 12 float64.  Version 1 (32-bit counts) is refused, as ggml does.
 *
 * Every count and length is checked against the bytes left before anything is
 * allocated for it; tensor offsets must be multiples of the alignment, inside
 * the file and not overlapping (ggml additionally wants them packed in order:
 * ckpt reads any non-overlapping layout, and writes ggml's). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/formats.h"
#include "ckpt/source.h"
#include "core/checked.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/obj.h"
#include "core/utf8.h"
#include "formats/formats_internal.h"
#include "formats/gguf_internal.h"

#define GGUF_MAX_DEPTH 8 /* nested arrays */

const char *ckpt__gguf_vtype_name(uint32_t t)
{
    static const char *const N[] = {"uint8",  "int8",    "uint16", "int16",  "uint32",
                                    "int32",  "float32", "bool",   "string", "array",
                                    "uint64", "int64",   "float64"};
    return t < sizeof(N) / sizeof(N[0]) ? N[t] : NULL;
}

int ckpt__gguf_vtype_size(uint32_t t)
{
    static const int S[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
    return t < sizeof(S) / sizeof(S[0]) ? S[t] : -1;
}

/* ------------------------------------------------------------ the cursor */

typedef struct rd {
    const uint8_t *p;
    size_t n, at;
    ckpt_error *err;
} rd;

static int short_read(rd *r, size_t need, const char *what, const char *key)
{
    return CKPT_FAIL_AT(r->err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key ? key : "", r->at,
                        "truncated GGUF: %s needs %zu bytes at offset %zu, %zu left", what, need,
                        r->at, r->n - r->at);
}

static int get(rd *r, void *out, size_t k, const char *what, const char *key)
{
    if (r->n - r->at < k)
        return short_read(r, k, what, key);
    memcpy(out, r->p + r->at, k);
    r->at += k;
    return 0;
}

static uint64_t ule(const uint8_t *b, int k)
{
    uint64_t v = 0;
    for (int i = k - 1; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

static int get_u32(rd *r, uint32_t *v, const char *what, const char *key)
{
    uint8_t b[4];
    CKPT_TRY(get(r, b, 4, what, key));
    *v = (uint32_t)ule(b, 4);
    return 0;
}

static int get_u64(rd *r, uint64_t *v, const char *what, const char *key)
{
    uint8_t b[8];
    CKPT_TRY(get(r, b, 8, what, key));
    *v = ule(b, 8);
    return 0;
}

/* A string: *s points into the buffer (not NUL-terminated). */
static int get_str(rd *r, const uint8_t **s, size_t *len, const char *what, const char *key)
{
    size_t at = r->at;
    uint64_t l;
    CKPT_TRY(get_u64(r, &l, what, key));
    if (l > r->n - r->at) {
        r->at = at;
        return CKPT_FAIL_AT(r->err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key ? key : "", at,
                            "%s: string length %llu at offset %zu passes the end of the file "
                            "(%zu bytes left)",
                            what, (unsigned long long)l, at, r->n - r->at);
    }
    *s = r->p + r->at;
    *len = (size_t)l;
    r->at += (size_t)l;
    return 0;
}

/* ------------------------------------------------------------ metadata */

typedef struct ld {
    ckpt_doc *doc;
    rd r;
    char tybuf[64];
} ld;

static ckpt_obj *str_node(ckpt_doc *doc, const uint8_t *s, size_t l)
{
    /* GGUF strings are UTF-8; anything else is kept as bytes (written back as is) */
    if (ckpt_utf8_valid(s, l) && !memchr(s, 0, l))
        return ckpt_strn_new(doc, (const char *)s, l);
    return ckpt_bytes_new(doc, s, l);
}

/* One value of type t; *ty receives its type spelling ("array[int32]"). */
static ckpt_obj *read_value(ld *L, uint32_t t, const char *key, int depth, char *ty, size_t tyn)
{
    rd *r = &L->r;
    ckpt_doc *doc = L->doc;
    size_t at = r->at;
    const char *name = ckpt__gguf_vtype_name(t);
    if (!name) {
        CKPT_FAIL_AT(r->err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key, at,
                     "unknown GGUF value type %u for key '%s' (offset %zu)", t, key, at);
        return NULL;
    }
    ckpt_obj *o = NULL;
    if (t == 8) {
        const uint8_t *s;
        size_t l;
        if (get_str(r, &s, &l, "string value", key) < 0)
            return NULL;
        o = str_node(doc, s, l);
        snprintf(ty, tyn, "string");
    } else if (t == 9) {
        if (depth >= GGUF_MAX_DEPTH) {
            CKPT_FAIL_AT(r->err, CKPT_E_LIMIT, CKPT_WHERE_FILE, key, at,
                         "arrays nested deeper than %d in key '%s' (offset %zu)", GGUF_MAX_DEPTH,
                         key, at);
            return NULL;
        }
        uint32_t it;
        uint64_t cnt;
        if (get_u32(r, &it, "array item type", key) < 0 ||
            get_u64(r, &cnt, "array length", key) < 0)
            return NULL;
        const char *iname = ckpt__gguf_vtype_name(it);
        if (!iname) {
            CKPT_FAIL_AT(r->err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key, at + 4 * 0,
                         "unknown GGUF array item type %u in key '%s' (offset %zu)", it, key, at);
            return NULL;
        }
        /* every item takes at least this many bytes: a lying count stops here */
        int isz = ckpt__gguf_vtype_size(it);
        uint64_t min = isz > 0 ? (uint64_t)isz : it == 8 ? 8 : 12;
        if (cnt > (r->n - r->at) / min) {
            CKPT_FAIL_AT(r->err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key, at,
                         "array of %llu %s items in key '%s' (offset %zu) needs at least "
                         "%llu bytes, %zu left",
                         (unsigned long long)cnt, iname, key, at,
                         (unsigned long long)(cnt > UINT64_MAX / min ? UINT64_MAX : cnt * min),
                         r->n - r->at);
            return NULL;
        }
        o = ckpt_list_new(doc);
        if (!o)
            goto nomem;
        char inner[64] = "", first[64] = "";
        bool mixed = false;
        for (uint64_t i = 0; i < cnt; i++) {
            ckpt_obj *v = read_value(L, it, key, depth + 1, inner, sizeof(inner));
            if (!v)
                return NULL;
            if (ckpt_list_append(doc, o, v, r->err) < 0)
                return NULL;
            if (i == 0)
                memcpy(first, inner, sizeof(first));
            else if (strcmp(first, inner) != 0)
                mixed = true;
        }
        if (it == 9 && (cnt == 0 || mixed))
            snprintf(ty, tyn, "array[array]");
        else
            snprintf(ty, tyn, "array[%s]", it == 9 ? first : iname);
        return o;
    } else {
        int k = ckpt__gguf_vtype_size(t);
        uint8_t b[8];
        if (get(r, b, (size_t)k, "value", key) < 0)
            return NULL;
        uint64_t u = ule(b, k);
        switch (t) {
        case 0:
        case 2:
        case 4:
        case 10: o = ckpt_int_new(doc, (int64_t)u); break;
        case 1: o = ckpt_int_new(doc, (int8_t)u); break;
        case 3: o = ckpt_int_new(doc, (int16_t)u); break;
        case 5: o = ckpt_int_new(doc, (int32_t)u); break;
        case 11: o = ckpt_int_new(doc, (int64_t)u); break;
        case 7: o = ckpt_bool_new(doc, u != 0); break;
        case 6: {
            uint32_t w = (uint32_t)u;
            float f;
            memcpy(&f, &w, 4);
            o = ckpt_float_new(doc, (double)f);
            break;
        }
        default: {
            double d;
            memcpy(&d, &u, 8);
            o = ckpt_float_new(doc, d);
            break;
        }
        }
        snprintf(ty, tyn, "%s", name);
    }
    if (o)
        return o;
nomem:
    CKPT_FAIL(r->err, CKPT_E_NOMEM, "out of memory reading key '%s'", key);
    return NULL;
}

/* ------------------------------------------------------------- tensors */

typedef struct tinfo {
    char *name;
    int ndim;
    int64_t ne[4];
    uint32_t type;
    uint64_t offset, nbytes, row_bytes;
    int64_t numel;
    size_t info_at;
} tinfo;

/* What a lazy storage needs to fetch itself. */
typedef struct lazy_ref {
    uint32_t type;
    uint64_t file_off, raw_len;
    int64_t numel;
    bool deq;
} lazy_ref;

typedef struct held {
    ckpt_source src;
    bool open;
    const uint8_t *mem; /* load_mem: the caller's buffer */
    size_t mem_n;
} held;

static void held_release(void *ctx)
{
    held *h = ctx;
    if (h->open)
        ckpt_source_close(&h->src);
    h->open = false;
}

static int plain_dtype(uint32_t t)
{
    switch (t) {
    case 0: return CKPT_F32;
    case 1: return CKPT_F16;
    case 30: return CKPT_BF16;
    case 28: return CKPT_F64;
    case 24: return CKPT_I8;
    case 25: return CKPT_I16;
    case 26: return CKPT_I32;
    case 27: return CKPT_I64;
    default: return -1;
    }
}

static int fill(ckpt_doc *doc, ckpt_storage *s, const lazy_ref *lr, const uint8_t *raw,
                ckpt_error *err)
{
    if (lr->deq)
        return ckpt_ggml_dequantize((int)lr->type, raw, (size_t)lr->raw_len, (float *)s->data,
                                    lr->numel, err);
    (void)doc;
    if (lr->raw_len)
        memcpy(s->data, raw, (size_t)lr->raw_len);
    return 0;
}

static int lazy_fetch(void *ctx, ckpt_doc *doc, ckpt_storage *s, ckpt_error *err)
{
    held *h = ctx;
    const lazy_ref *lr = s->entry;
    if (!lr)
        return CKPT_FAIL(err, CKPT_E_ARG, "storage has no tensor to read from");
    CKPT_TRY(ckpt__storage_alloc_data(doc, s, false, err));
    int rc = 0;
    if (h->mem) {
        rc = fill(doc, s, lr, h->mem + lr->file_off, err);
    } else if (!h->open) {
        rc = CKPT_FAIL(err, CKPT_E_ARG, "the GGUF file is closed");
    } else if (h->src.base) {
        rc = fill(doc, s, lr, h->src.base + lr->file_off, err);
    } else if (!lr->deq) {
        rc = ckpt_source_read(&h->src, lr->file_off, s->data, (size_t)lr->raw_len, err);
    } else {
        uint8_t *tmp = malloc(lr->raw_len ? (size_t)lr->raw_len : 1);
        if (!tmp)
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        else if ((rc = ckpt_source_read(&h->src, lr->file_off, tmp, (size_t)lr->raw_len, err)) ==
                 0)
            rc = fill(doc, s, lr, tmp, err);
        free(tmp);
    }
    if (rc < 0) {
        ckpt__mem_free(&doc->mem, s->data, s->nbytes ? (size_t)s->nbytes : 1);
        s->data = NULL;
        s->hold = CKPT_HOLD_LAZY;
    }
    return rc;
}

static int cmp_off(const void *a, const void *b)
{
    const tinfo *x = *(const tinfo *const *)a, *y = *(const tinfo *const *)b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Name `key` in the error record (once). */
static int keyed(ckpt_error *err, const char *key, int rc)
{
    if (key && err && !err->key[0])
        ckpt__error_prefix_key(err, key);
    return rc;
}

static int set_meta(ckpt_doc *doc, ckpt_obj *d, const char *k, ckpt_obj *v, ckpt_error *err)
{
    if (!v)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    return ckpt_dict_set_str(doc, d, k, v, err);
}

/* Parse buf[0, n) into doc.  `h`: where lazy storages read from; file: storages
 * mapped from a file (MAPPED) rather than caller memory (BORROWED). */
static int parse(ckpt_doc *doc, const uint8_t *buf, size_t n, int mode, bool dequantize, held *h,
                 bool file, ckpt_error *err)
{
    ld L;
    memset(&L, 0, sizeof(L));
    L.doc = doc;
    L.r.p = buf;
    L.r.n = n;
    L.r.err = err;
    rd *r = &L.r;
    uint8_t magic[4];
    if (n < 4 || memcmp(buf, "GGUF", 4) != 0)
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, "", 0,
                            "not a GGUF file (no \"GGUF\" magic at offset 0)");
    CKPT_TRY(get(r, magic, 4, "magic", NULL));
    uint32_t version;
    CKPT_TRY(get_u32(r, &version, "version", NULL));
    if (version == 1)
        return CKPT_FAIL_AT(err, CKPT_E_UNSUPPORTED, CKPT_WHERE_FILE, "", 4,
                            "GGUF version 1 (32-bit counts, 2023) is not supported; ggml "
                            "refuses it too: re-convert the model");
    if (version && (version & 0xFFFF) == 0)
        return CKPT_FAIL_AT(err, CKPT_E_UNSUPPORTED, CKPT_WHERE_FILE, "", 4,
                            "GGUF version field 0x%08x: a big-endian file, which ckpt does "
                            "not read",
                            version);
    if (version != 2 && version != 3)
        return CKPT_FAIL_AT(err, CKPT_E_UNSUPPORTED, CKPT_WHERE_FILE, "", 4,
                            "GGUF version %u: ckpt reads versions 2 and 3", version);
    uint64_t n_tensors, n_kv;
    CKPT_TRY(get_u64(r, &n_tensors, "tensor count", NULL));
    CKPT_TRY(get_u64(r, &n_kv, "key/value count", NULL));
    /* smallest pair: 8-byte length + 1-byte key + type + 1-byte value;
     * smallest tensor info: 8 + 1 + n_dims + type + offset */
    if (n_kv > (n - r->at) / 14)
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, "", 16,
                            "key/value count %llu (offset 16) cannot fit in the %zu bytes left",
                            (unsigned long long)n_kv, n - r->at);
    if (n_tensors > (n - r->at) / 25)
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, "", 8,
                            "tensor count %llu (offset 8) cannot fit in the %zu bytes left",
                            (unsigned long long)n_tensors, n - r->at);

    ckpt_obj *meta = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    ckpt_obj *kv = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    ckpt_obj *kvt = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *tt = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    if (!meta || !kv || !kvt || !tt || !root)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    uint32_t alignment = 32;
    char key[512];
    for (uint64_t i = 0; i < n_kv; i++) {
        size_t at = r->at;
        const uint8_t *ks;
        size_t kl;
        CKPT_TRY(get_str(r, &ks, &kl, "key", NULL));
        snprintf(key, sizeof(key), "%.*s", (int)(kl < 400 ? kl : 400), (const char *)ks);
        if (kl == 0 || memchr(ks, 0, kl) || !ckpt_utf8_valid(ks, kl))
            return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key, at,
                                "key %llu at offset %zu is %s", (unsigned long long)i, at,
                                kl == 0 ? "empty" : "not a UTF-8 string without NUL");
        ckpt_obj *kn = ckpt_strn_new(doc, (const char *)ks, kl);
        if (!kn)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        if (ckpt_dict_find(kv, kn))
            return keyed(err, key,
                         CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key, at,
                                      "duplicate key '%s' at offset %zu", key, at));
        uint32_t t;
        size_t tat = r->at;
        int krc = get_u32(r, &t, "value type", key);
        if (krc < 0)
            return keyed(err, key, krc);
        char ty[64];
        ckpt_obj *v = read_value(&L, t, key, 0, ty, sizeof(ty));
        if (!v)
            return keyed(err, key, err->code ? err->code : CKPT_E_FORMAT);
        if (strcmp(ckpt_obj_str(kn, NULL), "general.alignment") == 0) {
            if (t != 4)
                return keyed(
                    err, key,
                    CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key, tat,
                                 "general.alignment must be a uint32, not %s (offset %zu)", ty,
                                 tat));
            int64_t a = ckpt_obj_int(v);
            if (a == 0 || (a & (a - 1)) != 0)
                return keyed(
                    err, key,
                    CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key, tat + 4,
                                 "general.alignment %lld is not a power of 2 (offset %zu)",
                                 (long long)a, tat + 4));
            if (a > GGUF_MAX_ALIGNMENT)
                return keyed(err, key,
                             CKPT_FAIL_AT(err, CKPT_E_LIMIT, CKPT_WHERE_FILE, key, tat + 4,
                                          "general.alignment %lld is above ckpt's limit of %u "
                                          "(offset %zu)",
                                          (long long)a, GGUF_MAX_ALIGNMENT, tat + 4));
            alignment = (uint32_t)a;
        }
        CKPT_TRY(ckpt_dict_set(doc, kv, kn, v, err));
        CKPT_TRY(set_meta(doc, kvt, ckpt_obj_str(kn, NULL), ckpt_str_new(doc, ty), err));
    }

    tinfo *ti = ckpt__mem_calloc(&doc->mem, (size_t)(n_tensors ? n_tensors : 1) * sizeof(*ti));
    tinfo **order = ckpt__mem_calloc(&doc->mem,
                                     (size_t)(n_tensors ? n_tensors : 1) * sizeof(*order));
    int rc = 0;
    const char *cur = NULL; /* the tensor an error is about */
    if (!ti || !order) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto out;
    }
    for (uint64_t i = 0; i < n_tensors; i++) {
        tinfo *x = &ti[i];
        x->info_at = r->at;
        const uint8_t *ns;
        size_t nl;
        if ((rc = get_str(r, &ns, &nl, "tensor name", NULL)) < 0)
            goto out;
        snprintf(key, sizeof(key), "%.*s", (int)(nl < 400 ? nl : 400), (const char *)ns);
        cur = key;
        if (memchr(ns, 0, nl) || !ckpt_utf8_valid(ns, nl)) {
            rc = CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key, x->info_at,
                              "tensor name at offset %zu is not a UTF-8 string without NUL",
                              x->info_at);
            goto out;
        }
        x->name = ckpt__arena_strndup(&doc->arena, (const char *)ns, nl);
        if (!x->name) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            goto out;
        }
        if (ckpt_dict_get(root, x->name)) {
            rc = CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key, x->info_at,
                              "duplicate tensor name '%s' at offset %zu", key, x->info_at);
            goto out;
        }
        uint32_t nd;
        size_t nd_at = r->at;
        if ((rc = get_u32(r, &nd, "n_dims", key)) < 0)
            goto out;
        if (nd > 4) {
            rc = CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key, nd_at,
                              "tensor '%s' has %u dimensions (offset %zu): ggml allows at most "
                              "4 (GGML_MAX_DIMS)",
                              key, nd, nd_at);
            goto out;
        }
        x->ndim = (int)nd;
        x->numel = 1;
        for (int j = 0; j < 4; j++) {
            x->ne[j] = 1;
            if (j >= x->ndim)
                continue;
            uint64_t u;
            size_t ne_at = r->at;
            if ((rc = get_u64(r, &u, "dimension", key)) < 0)
                goto out;
            x->ne[j] = (int64_t)u;
            if (x->ne[j] < 0) {
                rc = CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key, ne_at,
                                  "tensor '%s' dimension %d is negative (%lld, offset %zu)", key,
                                  j, (long long)x->ne[j], ne_at);
                goto out;
            }
        }
        for (int j = 0; j < 4; j++)
            if (ckpt_mul_i64(x->numel, x->ne[j], &x->numel)) {
                rc = CKPT_FAIL_AT(err, CKPT_E_LIMIT, CKPT_WHERE_FILE, key, nd_at,
                                  "tensor '%s': element count overflows 2^63 (offset %zu)", key,
                                  nd_at);
                goto out;
            }
        size_t ty_at = r->at;
        if ((rc = get_u32(r, &x->type, "ggml type", key)) < 0)
            goto out;
        uint32_t blk, bb;
        if (ckpt__ggml_block((int)x->type, &blk, &bb) < 0) {
            rc = CKPT_FAIL_AT(err, CKPT_E_UNSUPPORTED, CKPT_WHERE_FILE, key, ty_at,
                              "tensor '%s' has unknown or removed ggml type %u (offset %zu)", key,
                              x->type, ty_at);
            goto out;
        }
        if (x->ne[0] % blk || (blk > 1 && x->ndim == 0)) {
            rc = CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, key, ty_at,
                              "tensor '%s' of type %s has rows of %lld elements, not a multiple "
                              "of its block size %u (offset %zu)",
                              key, ckpt_ggml_type_name((int)x->type), (long long)x->ne[0], blk,
                              ty_at);
            goto out;
        }
        x->row_bytes = (uint64_t)(x->ne[0] / blk) * bb;
        uint64_t rows = (uint64_t)(x->ne[0] ? x->numel / x->ne[0] : 0);
        if (x->ne[0] == 0)
            rows = 0;
        if (ckpt_mul_u64(x->row_bytes, rows, &x->nbytes)) {
            rc = CKPT_FAIL_AT(err, CKPT_E_LIMIT, CKPT_WHERE_FILE, key, ty_at,
                              "tensor '%s': byte size overflows 2^64 (offset %zu)", key, ty_at);
            goto out;
        }
        if ((rc = get_u64(r, &x->offset, "tensor offset", key)) < 0)
            goto out;
        if ((rc = set_meta(doc, tt, x->name, ckpt_str_new(doc, ckpt_ggml_type_name((int)x->type)),
                           err)) < 0)
            goto out;
        /* a placeholder keeps the name for the duplicate check */
        ckpt_obj *none = ckpt_none_new(doc);
        if (!none || ckpt_dict_set_str(doc, root, x->name, none, err) < 0) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            goto out;
        }
        order[i] = x;
        cur = NULL;
    }
    uint64_t data_start = r->at;
    if (n_tensors > 0) {
        data_start = (r->at + alignment - 1) / alignment * alignment;
        if (data_start > n) {
            rc = CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, "", r->at,
                              "truncated GGUF: the data section would start at offset %llu "
                              "(aligned to %u), past the end of the %zu-byte file",
                              (unsigned long long)data_start, alignment, n);
            goto out;
        }
    }
    for (uint64_t i = 0; i < n_tensors; i++) {
        tinfo *x = &ti[i];
        cur = x->name;
        if (x->offset % alignment) {
            rc = CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, x->name, x->info_at,
                              "tensor '%s' data offset %llu is not a multiple of the alignment "
                              "%u (tensor info at offset %zu)",
                              x->name, (unsigned long long)x->offset, alignment, x->info_at);
            goto out;
        }
        uint64_t end;
        if (x->offset > n - data_start || ckpt_add_u64(x->offset, x->nbytes, &end) ||
            end > n - data_start) {
            rc = CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, x->name, x->info_at,
                              "tensor '%s' data [%llu, +%llu) from the data section at offset "
                              "%llu passes the end of the %zu-byte file (tensor info at offset "
                              "%zu)",
                              x->name, (unsigned long long)x->offset,
                              (unsigned long long)x->nbytes, (unsigned long long)data_start, n,
                              x->info_at);
            goto out;
        }
    }
    qsort(order, (size_t)n_tensors, sizeof(*order), cmp_off);
    for (uint64_t i = 1; i < n_tensors; i++) {
        const tinfo *a = order[i - 1], *b = order[i];
        cur = b->name;
        if (a->nbytes && b->nbytes && a->offset + a->nbytes > b->offset) {
            rc = CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, b->name, b->info_at,
                              "tensor '%s' data [%llu, %llu) overlaps tensor '%s' [%llu, %llu) "
                              "(tensor info at offset %zu)",
                              b->name, (unsigned long long)b->offset,
                              (unsigned long long)(b->offset + b->nbytes), a->name,
                              (unsigned long long)a->offset,
                              (unsigned long long)(a->offset + a->nbytes), b->info_at);
            goto out;
        }
    }

    /* the tensors, in tensor-info order */
    char *cpu = ckpt__arena_strndup(&doc->arena, "cpu", 3);
    if (!cpu) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto out;
    }
    for (uint64_t i = 0; i < n_tensors; i++) {
        tinfo *x = &ti[i];
        cur = x->name;
        int dtype = plain_dtype(x->type);
        bool deq = dtype < 0 && dequantize && ckpt__ggml_can_dequantize((int)x->type);
        int64_t shape[4];
        int ndim = x->ndim;
        for (int j = 0; j < ndim; j++)
            shape[j] = x->ne[ndim - 1 - j];
        uint64_t snb = x->nbytes;
        if (deq) {
            dtype = CKPT_F32;
            if (ckpt_mul_u64((uint64_t)x->numel, 4, &snb)) {
                rc = CKPT_FAIL(err, CKPT_E_LIMIT, "tensor '%s' too large to dequantize", x->name);
                goto out;
            }
        } else if (dtype < 0) {
            dtype = CKPT_U8; /* raw blocks: [..., row_bytes] */
            shape[ndim - 1] = (int64_t)x->row_bytes;
        }
        const uint8_t *raw = buf + data_start + x->offset;
        size_t isz = ckpt_dtype_size(dtype);
        ckpt_storage *s = ckpt__storage_new(doc, dtype, false, snb);
        if (!s) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            goto out;
        }
        s->location = cpu;
        s->file_offset = data_start + x->offset;
        lazy_ref *lr = ckpt__arena_calloc(&doc->arena, sizeof(*lr));
        if (!lr) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            goto out;
        }
        lr->type = x->type;
        lr->file_off = data_start + x->offset;
        lr->raw_len = x->nbytes;
        lr->numel = x->numel;
        lr->deq = deq;
        s->entry = lr;
        if (mode == CKPT_LOAD_LAZY) {
            s->hold = CKPT_HOLD_LAZY;
        } else if (mode == CKPT_LOAD_MMAP && !deq && ((uintptr_t)raw % isz) == 0) {
            s->data = (uint8_t *)(uintptr_t)raw;
            s->hold = file ? CKPT_HOLD_MAPPED : CKPT_HOLD_BORROWED;
        } else {
            if ((rc = ckpt__storage_alloc_data(doc, s, false, err)) < 0)
                goto out;
            if ((rc = fill(doc, s, lr, raw, err)) < 0)
                goto out;
        }
        ckpt_obj *t = ckpt_tensor_new(doc, s, dtype, ndim, shape, NULL, 0, err);
        if (!t) {
            rc = err->code ? err->code : CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            goto out;
        }
        if ((rc = ckpt_dict_set_str(doc, root, x->name, t, err)) < 0)
            goto out;
    }
    (void)h;
    if ((rc = set_meta(doc, meta, "gguf.version", ckpt_int_new(doc, version), err)) < 0 ||
        (rc = set_meta(doc, meta, "gguf.kv", kv, err)) < 0 ||
        (rc = set_meta(doc, meta, "gguf.kv_types", kvt, err)) < 0 ||
        (rc = set_meta(doc, meta, "gguf.tensor_types", tt, err)) < 0)
        goto out;
    cur = NULL;
    ckpt_doc_set_root(doc, root);
    ckpt_doc_set_metadata(doc, meta);
out:
    if (rc < 0)
        keyed(err, cur, rc);
    if (ti)
        ckpt__mem_free(&doc->mem, ti, (size_t)(n_tensors ? n_tensors : 1) * sizeof(*ti));
    if (order)
        ckpt__mem_free(&doc->mem, order, (size_t)(n_tensors ? n_tensors : 1) * sizeof(*order));
    return rc;
}

static ckpt_doc *load_common(const uint8_t *buf, size_t n, const char *label, int mode,
                             bool dequantize, const ckpt_alloc *alloc, held *proto, bool file,
                             ckpt_error *err)
{
    if (mode < CKPT_LOAD_COPY || mode > CKPT_LOAD_LAZY) {
        CKPT_FAIL(err, CKPT_E_ARG, "unknown load mode %d", mode);
        return NULL;
    }
    ckpt_doc *doc = ckpt_doc_new(alloc, err);
    if (!doc)
        return NULL;
    held *h = ckpt__arena_calloc(&doc->arena, sizeof(*h));
    if (!h) {
        ckpt_doc_free(doc);
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    *h = *proto;
    if (proto->src.ctx == &proto->src) /* a file source points at itself */
        h->src.ctx = &h->src;
    proto->open = false; /* the document owns the source now */
    if (h->open && mode != CKPT_LOAD_COPY) {
        doc->release = held_release;
        doc->release_ctx = h;
    }
    if (mode == CKPT_LOAD_LAZY) {
        doc->fetch = lazy_fetch;
        doc->fetch_ctx = h;
    }
    int rc = parse(doc, buf, n, mode, dequantize, h, file, err);
    if (h->open && mode == CKPT_LOAD_COPY)
        held_release(h);
    if (rc < 0) {
        ckpt__error_set_file(err, label);
        ckpt_doc_free(doc);
        return NULL;
    }
    return doc;
}

ckpt_doc *ckpt_gguf_load_mem(const void *buf, size_t n, const char *label, int mode,
                             bool dequantize, const ckpt_alloc *alloc, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!buf && n) {
        CKPT_FAIL(err, CKPT_E_ARG, "NULL buffer");
        return NULL;
    }
    held proto;
    memset(&proto, 0, sizeof(proto));
    proto.mem = buf ? buf : (const void *)"";
    proto.mem_n = n;
    return load_common(proto.mem, n, label ? label : "<memory>", mode, dequantize, alloc, &proto,
                       false, err);
}

ckpt_doc *ckpt_gguf_load(const char *path, int mode, bool dequantize, const ckpt_alloc *alloc,
                         ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!path) {
        CKPT_FAIL(err, CKPT_E_ARG, "missing path");
        return NULL;
    }
    held proto;
    memset(&proto, 0, sizeof(proto));
    if (ckpt_source_open_file(&proto.src, path, true, err) < 0) {
        ckpt__error_set_file(err, path);
        return NULL;
    }
    proto.open = true;
    ckpt_doc *doc = NULL;
    if (proto.src.size > SIZE_MAX) {
        CKPT_FAIL(err, CKPT_E_LIMIT, "file too large for this address space");
    } else if (proto.src.base) {
        doc = load_common(proto.src.base, (size_t)proto.src.size, path, mode, dequantize, alloc,
                          &proto, true, err);
    } else {
        /* not mappable (empty file, pipe): read it whole and copy */
        size_t sz = (size_t)proto.src.size;
        uint8_t *tmp = malloc(sz ? sz : 1);
        if (!tmp)
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory reading the file");
        else if (ckpt_source_read(&proto.src, 0, tmp, sz, err) == 0)
            doc = load_common(tmp, sz, path, CKPT_LOAD_COPY, dequantize, alloc, &proto, false,
                              err);
        free(tmp);
    }
    if (proto.open)
        ckpt_source_close(&proto.src);
    if (!doc)
        ckpt__error_set_file(err, path);
    return doc;
}
