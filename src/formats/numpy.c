/* src/formats/numpy.c - NumPy .npy / .npz read and write (ckpt/formats.h).
 *
 * Reading builds on the header parser of npy_header.c and the zip reader;
 * writing spells the header exactly as numpy.lib.format._write_array_header
 * does (numpy 1.24: sorted keys, repr values, 21 - len(repr(growth axis))
 * spare spaces, spaces and '\n' up to a multiple of 64 bytes) and writes the
 * .npz container itself (stored members at the top level, which the torch
 * zip writer, with its mandatory archive folder, does not make). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/formats.h"
#include "ckpt/source.h"
#include "ckpt/zip.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/mem.h"
#include "formats/formats_internal.h"

/* ------------------------------------------------------------- dtypes */

static bool host_le(void)
{
    const uint16_t one = 1;
    uint8_t b;
    memcpy(&b, &one, 1);
    return b == 1;
}

typedef struct npdt {
    const char *spell; /* kind + size as numpy's dtype.str spells it, without order */
    int dtype;
} npdt;

static const npdt NP_TYPES[] = {{"b1", CKPT_BOOL}, {"i1", CKPT_I8},   {"i2", CKPT_I16},
                                {"i4", CKPT_I32},  {"i8", CKPT_I64},  {"u1", CKPT_U8},
                                {"u2", CKPT_U16},  {"u4", CKPT_U32},  {"u8", CKPT_U64},
                                {"f2", CKPT_F16},  {"f4", CKPT_F32},  {"f8", CKPT_F64},
                                {"c8", CKPT_C64},  {"c16", CKPT_C128}};

/* Other spellings numpy's dtype() accepts in a header: one-letter codes and names. */
static const struct {
    const char *alias, *spell;
} NP_ALIASES[] = {{"?", "b1"},         {"b", "i1"},          {"B", "u1"},       {"h", "i2"},
                  {"H", "u2"},         {"i", "i4"},          {"I", "u4"},       {"l", "i8"},
                  {"L", "u8"},         {"q", "i8"},          {"Q", "u8"},       {"e", "f2"},
                  {"f", "f4"},         {"d", "f8"},          {"F", "c8"},       {"D", "c16"},
                  {"bool", "b1"},      {"int8", "i1"},       {"int16", "i2"},   {"int32", "i4"},
                  {"int64", "i8"},     {"uint8", "u1"},      {"uint16", "u2"},  {"uint32", "u4"},
                  {"uint64", "u8"},    {"float16", "f2"},    {"float32", "f4"}, {"float64", "f8"},
                  {"complex64", "c8"}, {"complex128", "c16"}};

/* descr -> ckpt dtype; *swap when the data's byte order is not the host's. */
static int descr_dtype(const char *descr, bool *swap)
{
    char order = '=';
    const char *s = descr;
    if (*s == '<' || *s == '>' || *s == '|' || *s == '=')
        order = *s++;
    for (size_t i = 0; i < sizeof(NP_ALIASES) / sizeof(NP_ALIASES[0]); i++)
        if (strcmp(s, NP_ALIASES[i].alias) == 0) {
            s = NP_ALIASES[i].spell;
            break;
        }
    for (size_t i = 0; i < sizeof(NP_TYPES) / sizeof(NP_TYPES[0]); i++)
        if (strcmp(s, NP_TYPES[i].spell) == 0) {
            bool file_le = order == '<' || (order != '>' && host_le());
            *swap = ckpt_dtype_size(NP_TYPES[i].dtype) > 1 && file_le != host_le();
            return NP_TYPES[i].dtype;
        }
    return -1;
}

/* numpy's dtype.str for a ckpt dtype ("<f4", "|b1"), or NULL. */
static bool dtype_descr(int dtype, char *out, size_t n)
{
    for (size_t i = 0; i < sizeof(NP_TYPES) / sizeof(NP_TYPES[0]); i++)
        if (NP_TYPES[i].dtype == dtype) {
            char order = ckpt_dtype_size(dtype) == 1 ? '|' : (host_le() ? '<' : '>');
            snprintf(out, n, "%c%s", order, NP_TYPES[i].spell);
            return true;
        }
    return false;
}

static void byteswap(uint8_t *p, size_t nbytes, size_t unit)
{
    for (size_t off = 0; off + unit <= nbytes; off += unit)
        for (size_t a = 0, b = unit - 1; a < b; a++, b--) {
            uint8_t t = p[off + a];
            p[off + a] = p[off + b];
            p[off + b] = t;
        }
}

/* --------------------------------------------------------------- load */

/* One .npy image -> tensor in doc.  member: the .npz member name or NULL. */
int ckpt__npy_layout(const uint8_t *buf, size_t n, const char *member, ckpt_npy_header *hp,
                     bool *swap, uint64_t *nbytes, ckpt_error *err)
{
    *swap = false;
    *nbytes = 0;
    int where = member ? CKPT_WHERE_MEMBER : CKPT_WHERE_FILE;
    const char *m = member ? member : "";
    char why[128];
    int st = ckpt__npy_header_parse(buf, n, hp, why, sizeof(why));
    if (st != CKPT_NPY_OK) {
        CKPT_FAIL_AT(err, CKPT_E_FORMAT, where, m, 0, "not a valid .npy array: %s", why);
        return -1;
    }
    if (hp->has_object) {
        CKPT_FAIL_AT(err, CKPT_E_UNSUPPORTED, where, m, 0,
                     "object array (dtype %s): its data is a pickle, which ckpt never "
                     "loads (ckpt scan inspects it)",
                     hp->descr[0] ? hp->descr : "with object fields");
        return -1;
    }
    if (!hp->descr[0]) {
        CKPT_FAIL_AT(err, CKPT_E_UNSUPPORTED, where, m, 0,
                     "structured dtype (a list of fields) has no tensor equivalent");
        return -1;
    }
    int dtype = descr_dtype(hp->descr, swap);
    if (dtype < 0) {
        CKPT_FAIL_AT(err, CKPT_E_UNSUPPORTED, where, m, 0,
                     "numpy dtype '%s' has no tensor equivalent", hp->descr);
        return -1;
    }
    size_t isz = ckpt_dtype_size(dtype);
    /* numpy's own rule: the product of the non-zero dims times the item size
     * must fit; it also keeps every stride below in range */
    uint64_t span = isz, numel = 1;
    for (int i = 0; i < hp->ndim; i++) {
        uint64_t d = (uint64_t)hp->shape[i];
        if (d && span > (uint64_t)INT64_MAX / d) {
            CKPT_FAIL_AT(err, CKPT_E_LIMIT, where, m, 0,
                         "array shape overflows: dims times item size pass 2^63");
            return -1;
        }
        span *= d ? d : 1;
        numel *= d;
    }
    *nbytes = numel * isz;
    if (*nbytes > n - hp->data_offset) {
        CKPT_FAIL_AT(err, CKPT_E_FORMAT, where, m, n,
                     "array data truncated: %llu bytes from offset %zu, the %s has %zu",
                     (unsigned long long)*nbytes, hp->data_offset, member ? "member" : "file", n);
        return -1;
    }
    return dtype;
}

static ckpt_obj *npy_tensor(ckpt_doc *doc, const uint8_t *buf, size_t n, const char *member,
                            ckpt_error *err)
{
    ckpt_npy_header h;
    bool swap;
    uint64_t nbytes;
    int dtype = ckpt__npy_layout(buf, n, member, &h, &swap, &nbytes, err);
    if (dtype < 0)
        return NULL;
    size_t isz = ckpt_dtype_size(dtype);
    ckpt_storage *s = ckpt_storage_new(doc, dtype, nbytes, err);
    if (!s)
        return NULL;
    uint8_t *dst = ckpt_storage_data_mut(s);
    if (nbytes) {
        memcpy(dst, buf + h.data_offset, (size_t)nbytes);
        if (swap)
            byteswap(dst, (size_t)nbytes,
                     dtype == CKPT_C64 || dtype == CKPT_C128 ? isz / 2 : isz);
    }
    int64_t stride[32];
    if (h.fortran_order) {
        int64_t acc = 1;
        for (int i = 0; i < h.ndim; i++) {
            stride[i] = acc;
            acc *= h.shape[i] ? h.shape[i] : 1;
        }
    }
    ckpt_obj *t = ckpt_tensor_new(doc, s, dtype, h.ndim, h.shape, h.fortran_order ? stride : NULL,
                                  0, err);
    if (!t && !ckpt__error_is_set(err))
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    return t;
}

static ckpt_obj *npz_dict(ckpt_doc *doc, const uint8_t *buf, size_t n, const char *label,
                          const ckpt_alloc *alloc, ckpt_error *err)
{
    ckpt_source src;
    ckpt_source_init_mem(&src, buf, n, label);
    ckpt_zip_opts zo = {0, 0, true};
    ckpt_zip *z = ckpt_zip_open(&src, &zo, alloc, err);
    if (!z)
        return NULL;
    ckpt_obj *dict = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    if (!dict) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < ckpt_zip_count(z); i++) {
        const ckpt_zip_entry *e = ckpt_zip_entry_at(z, i);
        size_t len = strlen(e->name);
        char key[256];
        snprintf(key, sizeof(key), "%.*s",
                 (int)(len > 4 && strcmp(e->name + len - 4, ".npy") == 0 ? len - 4 : len),
                 e->name);
        /* deflate expands at most ~1032:1: a larger claim is a lie, not an allocation */
        if (e->size > SIZE_MAX || (e->method != 0 && e->size / 1032 > e->comp_size + 1) ||
            (e->method == 0 && e->size > n)) {
            CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, e->name, e->header_offset,
                         "member size %llu is impossible for its %llu stored bytes",
                         (unsigned long long)e->size, (unsigned long long)e->comp_size);
            ckpt__error_prefix_key(err, key);
            goto fail;
        }
        uint8_t *mb = ckpt__alloc(alloc, e->size ? (size_t)e->size : 1);
        if (!mb) {
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory for member %s", e->name);
            goto fail;
        }
        int rc = ckpt_zip_read(z, e, mb, (size_t)e->size, true, err);
        ckpt_obj *t = rc < 0 ? NULL : npy_tensor(doc, mb, (size_t)e->size, e->name, err);
        ckpt__free(alloc, mb, e->size ? (size_t)e->size : 1);
        if (!t) {
            ckpt__error_prefix_key(err, key);
            goto fail;
        }
        if (ckpt_dict_get(dict, key)) {
            CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, e->name, e->header_offset,
                         "two members load under the key '%s'", key);
            goto fail;
        }
        if (ckpt_dict_set_str(doc, dict, key, t, err) < 0)
            goto fail;
    }
    ckpt_zip_close(z);
    return dict;
fail:
    ckpt_zip_close(z);
    return NULL;
}

ckpt_doc *ckpt_numpy_load_mem(const void *buf, size_t n, const char *label,
                              const ckpt_alloc *alloc, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!buf && n) {
        CKPT_FAIL(err, CKPT_E_ARG, "NULL buffer");
        return NULL;
    }
    if (!label)
        label = "<memory>";
    const uint8_t *b = buf;
    bool npy = n >= 6 && memcmp(b, "\x93NUMPY", 6) == 0;
    bool npz = n >= 4 && memcmp(b, "PK", 2) == 0;
    if (!npy && !npz) {
        CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, "", 0,
                     "neither a .npy array (\\x93NUMPY) nor a .npz archive (PK)");
        ckpt__error_set_file(err, label);
        return NULL;
    }
    ckpt_doc *doc = ckpt_doc_new(alloc, err);
    if (!doc)
        return NULL;
    ckpt_obj *root = npy ? npy_tensor(doc, b, n, NULL, err)
                         : npz_dict(doc, b, n, label, alloc, err);
    if (!root) {
        ckpt_doc_free(doc);
        ckpt__error_set_file(err, label);
        return NULL;
    }
    ckpt_doc_set_root(doc, root);
    return doc;
}

ckpt_doc *ckpt_numpy_load(const char *path, const ckpt_alloc *alloc, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!path) {
        CKPT_FAIL(err, CKPT_E_ARG, "missing path");
        return NULL;
    }
    ckpt_source src;
    if (ckpt_source_open_file(&src, path, true, err) < 0) {
        ckpt__error_set_file(err, path);
        return NULL;
    }
    ckpt_doc *doc = NULL;
    if (src.size > SIZE_MAX) {
        CKPT_FAIL(err, CKPT_E_LIMIT, "file too large for this address space");
    } else if (src.base || src.size == 0) {
        doc = ckpt_numpy_load_mem(src.base ? src.base : (const uint8_t *)"", (size_t)src.size,
                                  path, alloc, err);
    } else {
        uint8_t *tmp = ckpt__alloc(alloc, (size_t)src.size);
        if (!tmp)
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory reading the file");
        else if (ckpt_source_read(&src, 0, tmp, (size_t)src.size, err) == 0)
            doc = ckpt_numpy_load_mem(tmp, (size_t)src.size, path, alloc, err);
        if (tmp)
            ckpt__free(alloc, tmp, (size_t)src.size);
    }
    ckpt_source_close(&src);
    if (!doc)
        ckpt__error_set_file(err, path);
    return doc;
}

/* --------------------------------------------------------------- save */

/* A tensor ready to write: np.save's header, then `nbytes` at `data`. */
typedef struct npy_out {
    char hdr[2048];
    size_t hlen;
    const void *data;
    void *owned;
    size_t nbytes;
} npy_out;

static size_t put(char *out, size_t cap, size_t at, const char *s)
{
    size_t l = strlen(s);
    if (at + l < cap)
        memcpy(out + at, s, l + 1);
    return at + l;
}

static int npy_prepare(const ckpt_obj *t, npy_out *o, ckpt_error *err)
{
    memset(o, 0, sizeof(*o));
    ckpt_tensor_info ti;
    if (!t || ckpt_tensor_get_info(t, &ti) < 0)
        return CKPT_FAIL(err, CKPT_E_ARG, "not a tensor");
    char descr[16];
    if (!dtype_descr(ti.dtype, descr, sizeof(descr)))
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "dtype %s has no numpy equivalent",
                         ckpt_dtype_name(ti.dtype) ? ckpt_dtype_name(ti.dtype) : "?");
    if (ti.nbytes > SIZE_MAX)
        return CKPT_FAIL(err, CKPT_E_LIMIT, "tensor too large for this address space");
    o->nbytes = (size_t)ti.nbytes;
    const void *data = ckpt_tensor_data(t);
    /* numpy's flags: C-contiguous first; else F-contiguous writes fortran_order True */
    bool fortran = false;
    if (!ti.contiguous && data && ti.numel > 0) {
        int64_t acc = 1;
        fortran = true;
        for (int i = 0; i < ti.ndim; i++) {
            if (ti.shape[i] != 1 && ti.stride[i] != acc)
                fortran = false;
            acc *= ti.shape[i];
        }
    }
    if ((ti.contiguous || fortran) && (data || o->nbytes == 0)) {
        o->data = data;
    } else {
        o->owned = malloc(o->nbytes ? o->nbytes : 1);
        if (!o->owned)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        if (ckpt_tensor_copy_into(t, o->owned, o->nbytes, err) < 0) {
            free(o->owned);
            o->owned = NULL;
            return err && err->code ? err->code : CKPT_E_ARG;
        }
        o->data = o->owned;
    }
    /* numpy.lib.format._write_array_header */
    char *h = o->hdr + 10;
    size_t cap = sizeof(o->hdr) - 10 - 128, at = 0;
    char num[32];
    at = put(h, cap, at, "{'descr': '");
    at = put(h, cap, at, descr);
    at = put(h, cap, at, "', 'fortran_order': ");
    at = put(h, cap, at, fortran ? "True" : "False");
    at = put(h, cap, at, ", 'shape': (");
    for (int i = 0; i < ti.ndim; i++) {
        snprintf(num, sizeof(num), "%s%lld", i ? ", " : "", (long long)ti.shape[i]);
        at = put(h, cap, at, num);
    }
    at = put(h, cap, at, ti.ndim == 1 ? ",), }" : "), }");
    if (ti.ndim > 0) {
        snprintf(num, sizeof(num), "%lld", (long long)ti.shape[fortran ? ti.ndim - 1 : 0]);
        for (size_t k = strlen(num); k < 21; k++)
            at = put(h, cap, at, " ");
    }
    if (at >= cap)
        return CKPT_FAIL(err, CKPT_E_LIMIT, "npy header too long");
    size_t hl = at + 1;
    size_t pad = 64 - ((10 + hl) % 64);
    memset(h + at, ' ', pad);
    h[at + pad] = '\n';
    size_t total = at + pad + 1; /* header length field */
    if (total > 0xffff)
        return CKPT_FAIL(err, CKPT_E_LIMIT, "npy header too long for format 1.0");
    memcpy(o->hdr, "\x93NUMPY\x01\x00", 8);
    o->hdr[8] = (char)(total & 0xff);
    o->hdr[9] = (char)(total >> 8);
    o->hlen = 10 + total;
    return 0;
}

static void npy_release(npy_out *o)
{
    free(o->owned);
    o->owned = NULL;
}

static int write_npy(ckpt_sink *s, const void *ctx, ckpt_error *err)
{
    const npy_out *o = ctx;
    CKPT_TRY(ckpt_sink_write(s, o->hdr, o->hlen, err));
    if (o->nbytes)
        CKPT_TRY(ckpt_sink_write(s, o->data, o->nbytes, err));
    return 0;
}

int ckpt_npy_save(const char *path, const ckpt_obj *tensor, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!path || !tensor)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing path or tensor");
    npy_out o;
    memset(&o, 0, sizeof(o));
    int rc = ckpt_obj_type(tensor) != CKPT_T_TENSOR
                 ? CKPT_FAIL(err, CKPT_E_ARG, "a .npy file holds one tensor, not a %s",
                             ckpt_type_name(ckpt_obj_type(tensor)))
                 : npy_prepare(tensor, &o, err);
    if (rc == 0)
        rc = ckpt__atomic_write(path, write_npy, &o, NULL, false, err);
    npy_release(&o);
    if (rc < 0)
        ckpt__error_set_file(err, path);
    return rc;
}

/* ---- the .npz container: a plain zip of stored members, zip64 past 4 GiB */

typedef struct zent {
    char *name;
    uint32_t crc;
    uint64_t size, off;
} zent;

static void le16(uint8_t *p, uint64_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static void le32(uint8_t *p, uint64_t v)
{
    le16(p, v);
    le16(p + 2, v >> 16);
}
static void le64(uint8_t *p, uint64_t v)
{
    le32(p, v);
    le32(p + 4, v >> 32);
}

#define Z32 0xffffffffu
#define DOS_DATE 0x21 /* 1980-01-01 */

static int zip_local(ckpt_sink *s, const zent *e, ckpt_error *err)
{
    uint8_t h[30 + 20];
    size_t nl = strlen(e->name);
    bool z64 = e->size >= Z32;
    le32(h, 0x04034b50);
    le16(h + 4, z64 ? 45 : 20);
    le16(h + 6, 0);
    le16(h + 8, 0);
    le16(h + 10, 0);
    le16(h + 12, DOS_DATE);
    le32(h + 14, e->crc);
    le32(h + 18, z64 ? Z32 : e->size);
    le32(h + 22, z64 ? Z32 : e->size);
    le16(h + 26, nl);
    le16(h + 28, z64 ? 20 : 0);
    CKPT_TRY(ckpt_sink_write(s, h, 30, err));
    CKPT_TRY(ckpt_sink_write(s, e->name, nl, err));
    if (z64) {
        le16(h, 1);
        le16(h + 2, 16);
        le64(h + 4, e->size);
        le64(h + 12, e->size);
        CKPT_TRY(ckpt_sink_write(s, h, 20, err));
    }
    return 0;
}

static int zip_central(ckpt_sink *s, const zent *e, ckpt_error *err)
{
    uint8_t h[46], x[4 + 24];
    size_t nl = strlen(e->name), xl = 4;
    bool zs = e->size >= Z32, zo = e->off >= Z32;
    if (zs) {
        le64(x + xl, e->size);
        le64(x + xl + 8, e->size);
        xl += 16;
    }
    if (zo) {
        le64(x + xl, e->off);
        xl += 8;
    }
    le16(x, 1);
    le16(x + 2, xl - 4);
    if (xl == 4)
        xl = 0;
    le32(h, 0x02014b50);
    le16(h + 4, xl ? 45 : 20);
    le16(h + 6, xl ? 45 : 20);
    le16(h + 8, 0);
    le16(h + 10, 0);
    le16(h + 12, 0);
    le16(h + 14, DOS_DATE);
    le32(h + 16, e->crc);
    le32(h + 20, zs ? Z32 : e->size);
    le32(h + 24, zs ? Z32 : e->size);
    le16(h + 28, nl);
    le16(h + 30, xl);
    le16(h + 32, 0);
    le16(h + 34, 0);
    le16(h + 36, 0);
    le32(h + 38, 0);
    le32(h + 42, zo ? Z32 : e->off);
    CKPT_TRY(ckpt_sink_write(s, h, 46, err));
    CKPT_TRY(ckpt_sink_write(s, e->name, nl, err));
    if (xl)
        CKPT_TRY(ckpt_sink_write(s, x, xl, err));
    return 0;
}

static int zip_end(ckpt_sink *s, uint64_t count, uint64_t cd_off, uint64_t cd_size,
                   ckpt_error *err)
{
    uint8_t h[56 + 20 + 22];
    if (count >= 0xffff || cd_off >= Z32 || cd_size >= Z32) {
        uint64_t at = ckpt_sink_offset(s);
        le32(h, 0x06064b50);
        le64(h + 4, 44);
        le16(h + 12, 45);
        le16(h + 14, 45);
        le32(h + 16, 0);
        le32(h + 20, 0);
        le64(h + 24, count);
        le64(h + 32, count);
        le64(h + 40, cd_size);
        le64(h + 48, cd_off);
        le32(h + 56, 0x07064b50);
        le32(h + 60, 0);
        le64(h + 64, at);
        le32(h + 72, 1);
        CKPT_TRY(ckpt_sink_write(s, h, 76, err));
    }
    le32(h, 0x06054b50);
    le16(h + 4, 0);
    le16(h + 6, 0);
    le16(h + 8, count >= 0xffff ? 0xffff : count);
    le16(h + 10, count >= 0xffff ? 0xffff : count);
    le32(h + 12, cd_size >= Z32 ? Z32 : cd_size);
    le32(h + 16, cd_off >= Z32 ? Z32 : cd_off);
    le16(h + 20, 0);
    return ckpt_sink_write(s, h, 22, err);
}

static int write_npz(ckpt_sink *s, const void *ctx, ckpt_error *err)
{
    const ckpt_obj *dict = ctx;
    size_t n = ckpt_obj_len(dict);
    zent *ents = calloc(n ? n : 1, sizeof(*ents));
    if (!ents)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    int rc = 0;
    size_t i = 0;
    for (; i < n && rc == 0; i++) {
        const ckpt_obj *k = ckpt_dict_key(dict, i), *v = ckpt_dict_value(dict, i);
        size_t kl = 0;
        const char *ks = ckpt_obj_type(k) == CKPT_T_STR ? ckpt_obj_str(k, &kl) : NULL;
        char rep[128];
        if (!ks || memchr(ks, '\0', kl) || kl > 0xffff - 5) {
            rc = CKPT_FAIL(err, CKPT_E_ARG, ".npz keys must be strings (got %s)",
                           ckpt_obj_repr(k, false, rep, sizeof(rep)));
            break;
        }
        if (ckpt_obj_type(v) != CKPT_T_TENSOR) {
            rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "a %s cannot be stored in .npz",
                           ckpt_type_name(ckpt_obj_type(v)));
            ckpt__error_prefix_key(err, ks);
            break;
        }
        npy_out o;
        rc = npy_prepare(v, &o, err);
        if (rc == 0) {
            ents[i].name = malloc(kl + 5);
            if (!ents[i].name)
                rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            else
                snprintf(ents[i].name, kl + 5, "%s.npy", ks);
        }
        if (rc == 0) {
            ents[i].size = o.hlen + o.nbytes;
            ents[i].off = ckpt_sink_offset(s);
            ents[i].crc = ckpt_crc32(ckpt_crc32(0, o.hdr, o.hlen), o.data, o.nbytes);
            rc = zip_local(s, &ents[i], err);
            if (rc == 0)
                rc = write_npy(s, &o, err);
        }
        npy_release(&o);
        if (rc < 0)
            ckpt__error_prefix_key(err, ks);
    }
    uint64_t cd_off = ckpt_sink_offset(s);
    for (size_t j = 0; j < n && rc == 0; j++)
        rc = zip_central(s, &ents[j], err);
    if (rc == 0)
        rc = zip_end(s, n, cd_off, ckpt_sink_offset(s) - cd_off, err);
    for (size_t j = 0; j < n; j++)
        free(ents[j].name);
    free(ents);
    return rc;
}

int ckpt_npz_save(const char *path, const ckpt_obj *dict, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!path || !dict)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing path or dict");
    int rc = ckpt_obj_type(dict) != CKPT_T_DICT
                 ? CKPT_FAIL(err, CKPT_E_ARG, ".npz needs a dict of tensors, not a %s",
                             ckpt_type_name(ckpt_obj_type(dict)))
                 : ckpt__atomic_write(path, write_npz, dict, NULL, false, err);
    if (rc < 0)
        ckpt__error_set_file(err, path);
    return rc;
}
