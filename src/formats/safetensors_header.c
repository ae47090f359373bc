/* src/formats/safetensors_header.c - the ONE validation of a safetensors
 * header, shared by the scanner (ckpt__st_header_check: recognise a file by a
 * valid header, not by a byte at offset 8) and the reader (safetensors.c).
 *
 * The rules are those of huggingface/safetensors (safetensors/src/tensor.rs,
 * SafeTensors::read_metadata and Metadata::validate):
 *   - 8-byte little-endian header length N, N <= MAX_HEADER_SIZE (100_000_000),
 *     8 + N <= file size;
 *   - the N bytes are UTF-8 (str::from_utf8: no surrogates, no overlongs) and
 *     one JSON object (serde_json::from_str: whitespace may follow; the writer
 *     pads with spaces); ckpt also refuses control bytes outside tab, newline
 *     and carriage return (serde_json refuses them inside strings; cJSON would
 *     take them as whitespace between tokens);
 *   - "__metadata__" is a map str -> str (or null: serde's Option);
 *   - every other entry is {"dtype", "shape", "data_offsets": [b, e]} (other
 *     fields are ignored, as serde's derive does); the dtype one of the Dtype
 *     enum; shape dims non-negative integers whose product times the dtype's
 *     bit size cannot overflow and is a whole number of bytes;
 *   - sorted by data_offsets, the first begins at 0, each begins where the
 *     previous ended (no hole, no overlap), e >= b, e - b == the tensor's bytes;
 *   - the data area ends exactly at the last tensor's end (MetadataIncompleteBuffer).
 * A byte pass before cJSON runs measures the nesting (a JSON bomb is refused
 * there, below cJSON's own CJSON_NESTING_LIMIT of 1000) and the value count,
 * and refuses numbers that are not plain integers (serde reads shapes and
 * offsets as usize: 2.0 and 1e3 are errors there, doubles to cJSON).
 * Stricter than the library, by choice: duplicate keys anywhere (serde keeps
 * the last of two tensor entries silently), dims and offsets above 2^53 (cJSON
 * holds numbers as doubles; nothing that large can be a real tensor offset),
 * headers of more than 2^21 JSON values (ST_MAX_VALUES, CKPT_E_LIMIT), a
 * \u0000 in any string (cJSON would cut the name there), a non-integer number
 * even in a field serde would ignore. */
#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/utf8.h"
#include "formats/formats_internal.h"

#define ST_MAX_HEADER 100000000u /* safetensors' MAX_HEADER_SIZE */
#define ST_MAX_EXACT 9007199254740992.0
/* ckpt's own bound on the JSON values of one header: cJSON takes ~80 bytes a
 * value, so "[0,0,0,...]" would amplify a 100 MB header 40-fold; 2^21 values
 * are ~300,000 tensor entries, far more than any real file holds */
#define ST_MAX_VALUES (1u << 21)

/* The Dtype enum of safetensors/src/tensor.rs in its declaration order, which is
 * the order the writer sorts by (descending), with each one's size in bits and
 * the ckpt dtype it maps to (-1: none). */
static const ckpt_st_dtype ST_DTYPES[] = {
    {"BOOL", 8, CKPT_BOOL},
    {"F4", 4, -1},
    {"F6_E2M3", 6, -1},
    {"F6_E3M2", 6, -1},
    {"U8", 8, CKPT_U8},
    {"I8", 8, CKPT_I8},
    {"F8_E5M2", 8, CKPT_F8E5M2},
    {"F8_E4M3", 8, CKPT_F8E4M3FN},
    {"F8_E8M0", 8, CKPT_F8E8M0FNU},
    {"F8_E4M3FNUZ", 8, CKPT_F8E4M3FNUZ},
    {"F8_E5M2FNUZ", 8, CKPT_F8E5M2FNUZ},
    {"I16", 16, CKPT_I16},
    {"U16", 16, CKPT_U16},
    {"F16", 16, CKPT_F16},
    {"BF16", 16, CKPT_BF16},
    {"I32", 32, CKPT_I32},
    {"U32", 32, CKPT_U32},
    {"F32", 32, CKPT_F32},
    {"C64", 64, CKPT_C64},
    {"F64", 64, CKPT_F64},
    {"I64", 64, CKPT_I64},
    {"U64", 64, CKPT_U64},
};
#define ST_NDTYPES (sizeof(ST_DTYPES) / sizeof(ST_DTYPES[0]))

const ckpt_st_dtype *ckpt__st_dtype_by_name(const char *name)
{
    for (size_t i = 0; i < ST_NDTYPES; i++)
        if (strcmp(name, ST_DTYPES[i].name) == 0)
            return &ST_DTYPES[i];
    return NULL;
}

const ckpt_st_dtype *ckpt__st_dtype_by_ckpt(int dtype, int *rank)
{
    for (size_t i = 0; i < ST_NDTYPES; i++)
        if (ST_DTYPES[i].ckpt == dtype) {
            if (rank)
                *rank = (int)i;
            return &ST_DTYPES[i];
        }
    return NULL;
}

static int fail(ckpt_st_header *h, int code, uint64_t off, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(ckpt_st_header *h, int code, uint64_t off, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->why, sizeof(h->why), fmt, ap);
    va_end(ap);
    snprintf(h->key, sizeof(h->key), "%s", key ? key : "");
    h->offset = off;
    return code;
}

static bool get_u64(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v) || !(v->valuedouble >= 0) || v->valuedouble > ST_MAX_EXACT ||
        v->valuedouble != (double)(uint64_t)v->valuedouble)
        return false;
    *out = (uint64_t)v->valuedouble;
    return true;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The first key of `obj` that appears twice, or NULL (`n` children). */
static const char *duplicate_key(const cJSON *obj, size_t n, bool *oom)
{
    *oom = false;
    if (n < 2)
        return NULL;
    if (n <= 8) {
        for (const cJSON *a = obj->child; a; a = a->next)
            for (const cJSON *b = a->next; b; b = b->next)
                if (strcmp(a->string, b->string) == 0)
                    return a->string;
        return NULL;
    }
    const char **k = malloc(n * sizeof(*k));
    if (!k) {
        *oom = true;
        return NULL;
    }
    size_t i = 0;
    for (const cJSON *a = obj->child; a && i < n; a = a->next)
        k[i++] = a->string;
    qsort(k, i, sizeof(*k), cmp_str);
    const char *dup = NULL;
    for (size_t j = 1; j < i && !dup; j++)
        if (strcmp(k[j - 1], k[j]) == 0)
            dup = k[j];
    free(k);
    return dup;
}

/* What the byte pass over the header found. */
typedef enum {
    TXT_OK = 0,
    TXT_CONTROL, /* a control byte other than tab, newline, carriage return */
    TXT_UTF8,    /* not UTF-8 as Rust's str::from_utf8 takes it (no surrogates) */
    TXT_NUL,     /* a \u0000 escape in a string (cJSON would cut the string there) */
    TXT_NUMBER   /* a number with a fraction, an exponent or a leading zero */
} txt_kind;

typedef struct txt_scan {
    txt_kind kind;
    size_t at;       /* offset in the header of the problem */
    size_t len;      /* TXT_NUMBER: the number's length */
    uint64_t values; /* upper bound of the JSON values cJSON would make a node for */
    uint64_t depth;  /* deepest nesting of arrays and objects */
} txt_scan;

static bool num_char(uint8_t c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

/* One pass over the header bytes before cJSON sees them.  Numbers must be
 * plain integers: the header's only numbers are shapes and offsets, which the
 * library reads as usize (serde_json refuses 2.0 and 1e3 there; cJSON would
 * hand both over as doubles). */
static void text_check(const uint8_t *p, size_t n, txt_scan *o)
{
    size_t i = 0;
    bool in_str = false, esc = false;
    uint64_t depth = 0;
    memset(o, 0, sizeof(*o));
    o->values = 1;
    while (i < n) {
        uint8_t c = p[i];
        if (c >= 0x80) {
            uint32_t cp;
            size_t l = ckpt_utf8_get(p + i, n - i, &cp);
            if (l == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) {
                o->kind = TXT_UTF8;
                o->at = i;
                return;
            }
            i += l;
            continue;
        }
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
            o->kind = TXT_CONTROL;
            o->at = i;
            return;
        }
        if (in_str) {
            if (esc && c == 'u' && n - i > 4 && memcmp(p + i + 1, "0000", 4) == 0) {
                o->kind = TXT_NUL;
                o->at = i - 1;
                return;
            }
            if (esc)
                esc = false;
            else if (c == '\\')
                esc = true;
            else if (c == '"')
                in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == ',') {
            o->values++;
        } else if (c == '[' || c == '{') {
            o->values++;
            if (++depth > o->depth)
                o->depth = depth;
        } else if ((c == ']' || c == '}') && depth) {
            depth--;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            size_t j = i, d = i + (c == '-');
            while (j < n && num_char(p[j]))
                j++;
            bool bad = d + 1 < j && p[d] == '0' && p[d + 1] >= '0' && p[d + 1] <= '9';
            for (size_t k = i + 1; k < j && !bad; k++)
                bad = p[k] == '.' || p[k] == 'e' || p[k] == 'E' || p[k] == '+' || p[k] == '-';
            if (bad) {
                o->kind = TXT_NUMBER;
                o->at = i;
                o->len = j - i;
                return;
            }
            i = j;
            continue;
        }
        i++;
    }
}

static int cmp_ent(const void *a, const void *b)
{
    const ckpt_st_entry *x = a, *y = b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end)
        return x->end < y->end ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order; /* stable */
}

void ckpt__st_header_free(ckpt_st_header *h)
{
    if (!h)
        return;
    cJSON_Delete(h->root);
    free(h->ents);
    free(h->dims);
    h->root = NULL;
    h->ents = NULL;
    h->dims = NULL;
    h->n = 0;
}

static bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int ckpt__st_header_parse(const uint8_t *buf, size_t n, uint64_t file_size, ckpt_st_header *h)
{
    memset(h, 0, sizeof(*h));
    if (!buf || n < 8 || file_size < 8)
        return fail(h, CKPT_ST_NOT, 0, NULL,
                    "file is %llu bytes: shorter than the 8-byte header length",
                    (unsigned long long)file_size);
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = (hl << 8) | buf[i];
    h->header_len = hl;
    if (hl > ST_MAX_HEADER)
        return fail(h, CKPT_ST_NOT, 0, NULL,
                    "header length %llu is over the limit of %u bytes (safetensors' "
                    "MAX_HEADER_SIZE)",
                    (unsigned long long)hl, ST_MAX_HEADER);
    if (file_size > 8 && n > 8 && buf[8] != '{')
        return fail(h, CKPT_ST_NOT, 8, NULL, "no JSON object after the 8-byte length");
    if (hl < 2)
        return fail(h, CKPT_ST_NOT, 0, NULL, "header length %llu cannot hold a JSON object",
                    (unsigned long long)hl);
    if (hl > file_size - 8)
        return fail(h, CKPT_ST_TRUNCATED, 0, NULL,
                    "header length %llu runs past the end of the %llu-byte file",
                    (unsigned long long)hl, (unsigned long long)file_size);
    if (n - 8 < hl)
        return fail(h, CKPT_ST_TRUNCATED, 0, NULL, "header bytes not all given (%zu of %llu)",
                    n - 8, (unsigned long long)hl);
    const uint8_t *hp = buf + 8;
    txt_scan ts;
    text_check(hp, (size_t)hl, &ts);
    if (ts.kind == TXT_NUL)
        return fail(h, CKPT_ST_INVALID, 8 + ts.at, NULL,
                    "header string holds \\u0000 (a NUL character), which ckpt's names and "
                    "metadata cannot carry");
    if (ts.kind == TXT_NUMBER)
        return fail(h, CKPT_ST_INVALID, 8 + ts.at, NULL,
                    "header number '%.*s' is not a plain integer (shapes and offsets are usize)",
                    (int)(ts.len < 24 ? ts.len : 24), (const char *)hp + ts.at);
    if (ts.kind != TXT_OK)
        return fail(h, CKPT_ST_INVALID, 8 + ts.at, NULL,
                    ts.kind == TXT_UTF8 ? "header is not valid UTF-8 (byte 0x%02x)"
                                        : "header holds control byte 0x%02x outside JSON "
                                          "whitespace",
                    hp[ts.at]);
    uint64_t values = ts.values, depth = ts.depth;
    if (depth > CJSON_NESTING_LIMIT)
        return fail(h, CKPT_ST_INVALID, 8, NULL,
                    "header nesting is %llu levels deep, past cJSON's limit of %d (a JSON bomb; "
                    "a safetensors header nests 3)",
                    (unsigned long long)depth, CJSON_NESTING_LIMIT);
    if (values > ST_MAX_VALUES) {
        h->limit = true;
        return fail(h, CKPT_ST_INVALID, 8, NULL,
                    "header holds about %llu JSON values, over ckpt's limit of %u (a header "
                    "that wide would take gigabytes to parse)",
                    (unsigned long long)values, ST_MAX_VALUES);
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)hp, (size_t)hl, &end, 0);
    if (!root || !cJSON_IsObject(root)) {
        /* cJSON sets the parse end to the error position on failure (its global
         * cJSON_GetErrorPtr is not thread-safe) */
        const char *ep = root ? NULL : end;
        uint64_t at = ep && ep >= (const char *)hp && ep <= (const char *)hp + hl
                          ? 8 + (uint64_t)(ep - (const char *)hp)
                          : 8;
        cJSON_Delete(root);
        return fail(h, CKPT_ST_INVALID, at, NULL, "header is not a JSON object (syntax error)");
    }
    h->root = root;
    for (const char *p = end; p && p < (const char *)hp + hl; p++)
        if (!is_ws((uint8_t)*p))
            return fail(h, CKPT_ST_INVALID, 8 + (uint64_t)(p - (const char *)hp), NULL,
                        "bytes after the JSON header object (only whitespace may pad it)");
    h->data_start = 8 + hl;
    uint64_t data = file_size - 8 - hl;
    size_t cnt = 0, ndims = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        cnt++;
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        for (const cJSON *d = cJSON_IsArray(sh) ? sh->child : NULL; d; d = d->next)
            ndims++;
    }
    bool oom;
    const char *dup = duplicate_key(root, cnt, &oom);
    if (oom)
        return fail(h, CKPT_ST_INVALID, 8, NULL, "out of memory checking the header");
    if (dup)
        return fail(h, CKPT_ST_INVALID, 8, dup, "duplicate key \"%.100s\" in the header", dup);
    h->ents = calloc(cnt ? cnt : 1, sizeof(*h->ents));
    h->dims = calloc(ndims ? ndims : 1, sizeof(*h->dims));
    if (!h->ents || !h->dims)
        return fail(h, CKPT_ST_INVALID, 8, NULL, "out of memory for %zu header entries", cnt);
    size_t k = 0, dk = 0;
    for (const cJSON *e = root->child; e; e = e->next) {
        const char *key = e->string;
        if (strcmp(key, "__metadata__") == 0) {
            if (cJSON_IsNull(e))
                continue;
            if (!cJSON_IsObject(e))
                return fail(h, CKPT_ST_INVALID, 8, key,
                            "__metadata__ is not a map of strings to strings");
            size_t mn = 0;
            for (const cJSON *m = e->child; m; m = m->next, mn++)
                if (!cJSON_IsString(m))
                    return fail(h, CKPT_ST_INVALID, 8, m->string,
                                "__metadata__ value of \"%.100s\" is not a string "
                                "(the map is str -> str)",
                                m->string);
            dup = duplicate_key(e, mn, &oom);
            if (dup || oom)
                return fail(h, CKPT_ST_INVALID, 8, dup,
                            oom ? "out of memory" : "duplicate key in __metadata__");
            h->metadata = e;
            continue;
        }
        if (!cJSON_IsObject(e))
            return fail(h, CKPT_ST_INVALID, 8, key, "tensor entry is not a JSON object");
        size_t fields = 0;
        for (const cJSON *f = e->child; f; f = f->next)
            fields++;
        dup = duplicate_key(e, fields, &oom);
        if (dup || oom)
            return fail(h, CKPT_ST_INVALID, 8, key,
                        oom ? "out of memory" : "tensor entry has field \"%.40s\" twice",
                        dup ? dup : "");
        const cJSON *dt = cJSON_GetObjectItemCaseSensitive(e, "dtype");
        const cJSON *sh = cJSON_GetObjectItemCaseSensitive(e, "shape");
        const cJSON *of = cJSON_GetObjectItemCaseSensitive(e, "data_offsets");
        if (!dt || !sh || !of)
            return fail(h, CKPT_ST_INVALID, 8, key, "tensor entry without %s",
                        !dt   ? "dtype"
                        : !sh ? "shape"
                              : "data_offsets");
        const ckpt_st_dtype *sd = cJSON_IsString(dt) ? ckpt__st_dtype_by_name(dt->valuestring)
                                                     : NULL;
        if (!sd)
            return fail(h, CKPT_ST_INVALID, 8, key, "unknown dtype %s%.40s%s",
                        cJSON_IsString(dt) ? "\"" : "",
                        cJSON_IsString(dt) ? dt->valuestring : "(not a string)",
                        cJSON_IsString(dt) ? "\"" : "");
        if (!cJSON_IsArray(sh))
            return fail(h, CKPT_ST_INVALID, 8, key, "shape is not a list");
        ckpt_st_entry *en = &h->ents[k];
        en->name = key;
        en->dtype = sd;
        en->order = k;
        en->shape = h->dims + dk;
        uint64_t numel = 1;
        bool over = false;
        for (const cJSON *d = sh->child; d; d = d->next) {
            uint64_t v;
            if (!get_u64(d, &v))
                return fail(h, CKPT_ST_INVALID, 8, key,
                            cJSON_IsNumber(d) && d->valuedouble < 0
                                ? "shape has a negative dimension"
                                : "shape dimension is not a non-negative integer (<= 2^53)");
            if (v && numel > UINT64_MAX / v)
                over = true;
            numel *= v;
            h->dims[dk++] = (int64_t)v;
            en->ndim++;
        }
        if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 ||
            !get_u64(of->child, &en->begin) || !get_u64(of->child->next, &en->end))
            return fail(h, CKPT_ST_INVALID, 8, key,
                        "data_offsets is not [begin, end] of non-negative integers");
        /* the library multiplies the dims in usize, then by the bit size */
        if (over || numel > UINT64_MAX / sd->bits)
            return fail(h, CKPT_ST_INVALID, 8, key,
                        "shape overflows: the product of its dimensions times the dtype size "
                        "passes 2^64 (ValidationOverflow)");
        if ((numel * sd->bits) % 8)
            return fail(h, CKPT_ST_INVALID, 8, key,
                        "%llu elements of %s are not a whole number of bytes (MisalignedSlice)",
                        (unsigned long long)numel, sd->name);
        en->numel = numel;
        en->nbytes = numel * sd->bits / 8;
        k++;
    }
    h->n = k;
    qsort(h->ents, k, sizeof(*h->ents), cmp_ent);
    uint64_t at = 0;
    for (size_t i = 0; i < k; i++) {
        ckpt_st_entry *en = &h->ents[i];
        if (en->end < en->begin)
            return fail(h, CKPT_ST_INVALID, 8, en->name,
                        "data_offsets [%llu, %llu] end before they begin (InvalidOffset)",
                        (unsigned long long)en->begin, (unsigned long long)en->end);
        if (en->begin < at)
            return fail(h, CKPT_ST_INVALID, h->data_start + en->begin, en->name,
                        "data_offsets [%llu, %llu] overlap the previous tensor, which ends at "
                        "%llu (InvalidOffset)",
                        (unsigned long long)en->begin, (unsigned long long)en->end,
                        (unsigned long long)at);
        if (en->begin > at)
            return fail(h, CKPT_ST_INVALID, h->data_start + at, en->name,
                        "data_offsets [%llu, %llu] leave a gap: data bytes from %llu on "
                        "are covered by no tensor (InvalidOffset)",
                        (unsigned long long)en->begin, (unsigned long long)en->end,
                        (unsigned long long)at);
        if (en->end - en->begin != en->nbytes)
            return fail(h, CKPT_ST_INVALID, 8, en->name,
                        "data_offsets [%llu, %llu] hold %llu bytes, dtype %s and the shape need "
                        "%llu (TensorInvalidInfo)",
                        (unsigned long long)en->begin, (unsigned long long)en->end,
                        (unsigned long long)(en->end - en->begin), en->dtype->name,
                        (unsigned long long)en->nbytes);
        at = en->end;
    }
    h->data_len = at;
    if (at > data)
        return fail(h, CKPT_ST_TRUNCATED, file_size, k ? h->ents[k - 1].name : NULL,
                    "file ends %llu bytes before the last tensor's data ends "
                    "(MetadataIncompleteBuffer)",
                    (unsigned long long)(at - data));
    if (at < data)
        return fail(h, CKPT_ST_INVALID, h->data_start + at, NULL,
                    "%llu bytes after the last tensor's data: the data area must be entirely "
                    "indexed (MetadataIncompleteBuffer)",
                    (unsigned long long)(data - at));
    return CKPT_ST_VALID;
}

int ckpt__st_header_check(const uint8_t *buf, size_t n, size_t *tensors, char *why, size_t whyn)
{
    if (tensors)
        *tensors = 0;
    ckpt_st_header h;
    int rc = ckpt__st_header_parse(buf, n, n, &h);
    if (tensors)
        *tensors = h.n;
    if (rc != CKPT_ST_VALID && why && whyn) {
        if (h.key[0])
            snprintf(why, whyn, "%s (tensor \"%s\")", h.why, h.key);
        else
            snprintf(why, whyn, "%s", h.why);
    }
    ckpt__st_header_free(&h);
    return rc;
}
