/* src/formats/gguf_write.c - GGUF v3 write (ckpt/formats.h).
 *
 * The file is laid out as ggml's gguf_write_to_file lays it out: header,
 * key/value pairs, tensor infos (n_dims = the tensor's own ndim, ne[] = torch
 * shape reversed), zero padding to the alignment, then each tensor's bytes
 * followed by zero padding to the alignment, tensor offsets packed in order.
 * Value types come from "gguf.kv_types" when the metadata has them (so a
 * loaded file is written back byte for byte), otherwise they are inferred:
 * bool, int32 (int64 outside its range), float32 (float64 when the value is
 * not exactly a float), string, array of the common item type. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/formats.h"
#include "ckpt/source.h"
#include "core/atomic.h"
#include "core/checked.h"
#include "core/err.h"
#include "formats/formats_internal.h"
#include "formats/gguf_internal.h"

#define GGUF_DEFAULT_ALIGNMENT 32

/* ------------------------------------------------------------ values */

static int vtype_from_name(const char *s, size_t l)
{
    for (uint32_t t = 0; t <= 12; t++) {
        const char *n = ckpt__gguf_vtype_name(t);
        if (strlen(n) == l && memcmp(n, s, l) == 0)
            return (int)t;
    }
    return -1;
}

static int put(ckpt_sink *s, const void *p, size_t n, ckpt_error *err)
{
    return ckpt_sink_write(s, p, n, err);
}

static int put_le(ckpt_sink *s, uint64_t v, int k, ckpt_error *err)
{
    uint8_t b[8];
    for (int i = 0; i < k; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    return put(s, b, (size_t)k, err);
}

static int put_str(ckpt_sink *s, const char *p, size_t l, ckpt_error *err)
{
    CKPT_TRY(put_le(s, l, 8, err));
    return put(s, p, l, err);
}

/* Inferred type of a value (see the file comment); *ty gets the spelling. */
static int infer(const ckpt_obj *v, char *ty, size_t tyn, const char *key, ckpt_error *err)
{
    switch (ckpt_obj_type(v)) {
    case CKPT_T_BOOL: snprintf(ty, tyn, "bool"); return 0;
    case CKPT_T_INT: {
        int64_t i = ckpt_obj_int(v);
        snprintf(ty, tyn, i >= INT32_MIN && i <= INT32_MAX ? "int32" : "int64");
        return 0;
    }
    case CKPT_T_FLOAT: {
        double d = ckpt_obj_float(v);
        snprintf(ty, tyn, (double)(float)d == d || d != d ? "float32" : "float64");
        return 0;
    }
    case CKPT_T_STR:
    case CKPT_T_BYTES: snprintf(ty, tyn, "string"); return 0;
    case CKPT_T_LIST:
    case CKPT_T_TUPLE: {
        size_t n = ckpt_obj_len(v);
        int kind = -1; /* 0 bool, 1 int32, 2 int64, 3 float32, 4 float64, 5 string, 6 array */
        for (size_t i = 0; i < n; i++) {
            char it[64];
            const ckpt_obj *x = ckpt_obj_item(v, i);
            if (ckpt_obj_type(x) == CKPT_T_LIST || ckpt_obj_type(x) == CKPT_T_TUPLE) {
                if (kind >= 0 && kind != 6)
                    goto mixed;
                kind = 6;
                continue;
            }
            CKPT_TRY(infer(x, it, sizeof(it), key, err));
            int k = strcmp(it, "bool") == 0      ? 0
                    : strcmp(it, "int32") == 0   ? 1
                    : strcmp(it, "int64") == 0   ? 2
                    : strcmp(it, "float32") == 0 ? 3
                    : strcmp(it, "float64") == 0 ? 4
                                                 : 5;
            if (kind < 0)
                kind = k;
            else if ((kind == 0) != (k == 0) || (kind == 5) != (k == 5) || kind == 6)
                goto mixed;
            else if (k > kind)
                kind = k;
        }
        if (kind == 2 || kind == 1) {
            /* ints with a float among them were promoted above; keep the widest */
        }
        static const char *const KN[] = {"bool",    "int32",  "int64", "float32",
                                         "float64", "string", "array"};
        if (kind == 3 || kind == 4) {
            /* a float array: float32 only if every item is exactly a float */
            kind = 3;
            for (size_t i = 0; i < n; i++) {
                double d = ckpt_obj_float(ckpt_obj_item(v, i));
                if ((double)(float)d != d && d == d)
                    kind = 4;
            }
        }
        snprintf(ty, tyn, "array[%s]", kind < 0 ? "int32" : KN[kind]);
        return 0;
mixed:
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                         "metadata key '%s': a GGUF array holds items of one type", key);
    }
    default:
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                         "metadata key '%s': a %s has no GGUF value type", key,
                         ckpt_type_name(ckpt_obj_type(v)));
    }
}

static int bad_value(const char *key, const char *ty, const ckpt_obj *v, ckpt_error *err)
{
    char rep[64];
    return CKPT_FAIL(err, CKPT_E_ARG, "metadata key '%s': %s does not fit GGUF type %s", key,
                     ckpt_obj_repr(v, false, rep, sizeof(rep)), ty);
}

/* Write value v of type spelling ty[0, tyl) (no type id: the caller wrote it). */
static int write_value(ckpt_sink *s, const char *ty, size_t tyl, const ckpt_obj *v,
                       const char *key, ckpt_error *err);

/* The type id of spelling ty[0, tyl); -1 if none. */
static int type_id(const char *ty, size_t tyl)
{
    if (tyl >= 6 && memcmp(ty, "array[", 6) == 0 && ty[tyl - 1] == ']')
        return 9;
    if (tyl == 5 && memcmp(ty, "array", 5) == 0)
        return 9;
    return vtype_from_name(ty, tyl);
}

static int write_array(ckpt_sink *s, const char *ty, size_t tyl, const ckpt_obj *v,
                       const char *key, ckpt_error *err)
{
    int vt = ckpt_obj_type(v);
    if (vt != CKPT_T_LIST && vt != CKPT_T_TUPLE)
        return bad_value(key, "array", v, err);
    size_t n = ckpt_obj_len(v);
    char inf[64];
    const char *it;
    size_t itl;
    if (tyl > 7 && memcmp(ty, "array[", 6) == 0) {
        it = ty + 6;
        itl = tyl - 7;
    } else {
        CKPT_TRY(infer(v, inf, sizeof(inf), key, err));
        it = inf + 6;
        itl = strlen(inf) - 7;
    }
    int id = type_id(it, itl);
    if (id < 0)
        return CKPT_FAIL(err, CKPT_E_ARG, "metadata key '%s': unknown GGUF type '%.*s'", key,
                         (int)itl, it);
    CKPT_TRY(put_le(s, (uint64_t)id, 4, err));
    CKPT_TRY(put_le(s, n, 8, err));
    for (size_t i = 0; i < n; i++) {
        const ckpt_obj *x = ckpt_obj_item(v, i);
        if (id == 9) {
            /* "array[array]": every inner array spells its own type */
            if (itl == 5) {
                CKPT_TRY(infer(x, inf, sizeof(inf), key, err));
                CKPT_TRY(write_array(s, inf, strlen(inf), x, key, err));
            } else {
                CKPT_TRY(write_array(s, it, itl, x, key, err));
            }
        } else {
            CKPT_TRY(write_value(s, it, itl, x, key, err));
        }
    }
    return 0;
}

static int write_value(ckpt_sink *s, const char *ty, size_t tyl, const ckpt_obj *v,
                       const char *key, ckpt_error *err)
{
    int id = type_id(ty, tyl);
    int vt = ckpt_obj_type(v);
    char tn[64];
    snprintf(tn, sizeof(tn), "%.*s", (int)(tyl < 60 ? tyl : 60), ty);
    if (id < 0)
        return CKPT_FAIL(err, CKPT_E_ARG, "metadata key '%s': unknown GGUF type '%s'", key, tn);
    if (id == 9)
        return write_array(s, ty, tyl, v, key, err);
    if (id == 8) {
        if (vt != CKPT_T_STR && vt != CKPT_T_BYTES)
            return bad_value(key, tn, v, err);
        size_t l = 0;
        const char *p = ckpt_obj_str(v, &l);
        return put_str(s, p, l, err);
    }
    if (id == 6 || id == 12) {
        if (vt != CKPT_T_FLOAT && vt != CKPT_T_INT && vt != CKPT_T_BOOL)
            return bad_value(key, tn, v, err);
        double d = ckpt_obj_float(v);
        if (id == 6) {
            float f = (float)d;
            uint32_t u;
            memcpy(&u, &f, 4);
            return put_le(s, u, 4, err);
        }
        uint64_t u;
        memcpy(&u, &d, 8);
        return put_le(s, u, 8, err);
    }
    if (vt != CKPT_T_INT && vt != CKPT_T_BOOL)
        return bad_value(key, tn, v, err);
    int64_t i = ckpt_obj_int(v);
    int64_t lo, hi;
    switch (id) {
    case 0: lo = 0, hi = UINT8_MAX; break;
    case 1: lo = INT8_MIN, hi = INT8_MAX; break;
    case 2: lo = 0, hi = UINT16_MAX; break;
    case 3: lo = INT16_MIN, hi = INT16_MAX; break;
    case 4: lo = 0, hi = UINT32_MAX; break;
    case 5: lo = INT32_MIN, hi = INT32_MAX; break;
    case 7: lo = 0, hi = 1; break;
    default: lo = INT64_MIN, hi = INT64_MAX; break; /* uint64: int64 bits as loaded */
    }
    if (i < lo || i > hi)
        return bad_value(key, tn, v, err);
    return put_le(s, (uint64_t)i, ckpt__gguf_vtype_size((uint32_t)id), err);
}

/* ------------------------------------------------------------- tensors */

typedef struct wt {
    const char *name;
    const ckpt_obj *src; /* the tensor */
    const char *tname;   /* its gguf.tensor_types entry, or NULL */
    int type;
    int ndim;
    int64_t ne[4];
    uint64_t nbytes, offset;
    const void *data; /* only while being written */
    void *owned;
} wt;

typedef struct wplan {
    const ckpt_obj *kv, *kvt;
    bool add_alignment;
    uint32_t alignment;
    wt *t;
    size_t n;
} wplan;

static int ggml_of_dtype(int dtype)
{
    switch (dtype) {
    case CKPT_F32: return 0;
    case CKPT_F16: return 1;
    case CKPT_BF16: return 30;
    case CKPT_F64: return 28;
    case CKPT_I8: return 24;
    case CKPT_I16: return 25;
    case CKPT_I32: return 26;
    case CKPT_I64: return 27;
    default: return -1;
    }
}

static int dtype_of_ggml(int t)
{
    for (int d = 0; d < CKPT_DTYPE_COUNT; d++)
        if (ggml_of_dtype(d) == t)
            return d;
    return -1;
}

/* Contiguous bytes of t (*owned set when a copy was made). */
static const void *contiguous(const ckpt_obj *t, const ckpt_tensor_info *ti, void **owned,
                              ckpt_error *err)
{
    const void *d = ckpt_tensor_data(t);
    *owned = NULL;
    if (ti->nbytes == 0)
        return "";
    if (d && ti->contiguous)
        return d;
    if (!ti->storage || (!d && ti->numel)) {
        CKPT_FAIL(err, CKPT_E_ARG, "tensor data is not loaded (meta or lazy tensor)");
        return NULL;
    }
    *owned = malloc((size_t)ti->nbytes);
    if (!*owned) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    if (ckpt_tensor_copy_into(t, *owned, (size_t)ti->nbytes, err) < 0) {
        free(*owned);
        *owned = NULL;
        return NULL;
    }
    return *owned;
}

static bool convertible(int dtype)
{
    return dtype == CKPT_F16 || dtype == CKPT_BF16 || dtype == CKPT_F32 || dtype == CKPT_F64;
}

/* Type, shape and byte size of tensor t as written (dry: no data made), or,
 * not dry, also its bytes in w->data (w->owned when made here; the caller
 * frees it once written: one tensor's copy at a time). */
static int plan_tensor(wt *w, const char *name, const ckpt_obj *t, const char *tname, bool dry,
                       ckpt_error *err)
{
    w->src = t;
    w->tname = tname;
    ckpt_tensor_info ti;
    if (ckpt_obj_type(t) != CKPT_T_TENSOR || ckpt_tensor_get_info(t, &ti) < 0)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "a %s cannot be stored in GGUF",
                         ckpt_type_name(ckpt_obj_type(t)));
    if (ti.ndim > 4)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                         "a %d-dimensional tensor cannot be stored in GGUF (at most 4 "
                         "dimensions, GGML_MAX_DIMS)",
                         ti.ndim);
    if (ti.nbytes > SIZE_MAX)
        return CKPT_FAIL(err, CKPT_E_LIMIT, "tensor too large for this address space");
    w->name = name;
    w->ndim = ti.ndim;
    for (int j = 0; j < 4; j++)
        w->ne[j] = j < ti.ndim ? ti.shape[ti.ndim - 1 - j] : 1;
    int own = ggml_of_dtype(ti.dtype);
    int want = tname ? ckpt_ggml_type_from_name(tname) : own;
    if (tname && want < 0)
        return CKPT_FAIL(err, CKPT_E_ARG, "unknown ggml type '%s' in gguf.tensor_types", tname);
    uint32_t blk = 1, bb = 1;
    if (want >= 0)
        ckpt__ggml_block(want, &blk, &bb);
    int plain = dtype_of_ggml(want);
    if (want < 0)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                         "dtype %s has no ggml type (GGUF holds F32 F16 BF16 F64 I8 I16 I32 I64 "
                         "and ggml's quantized blocks)",
                         ckpt_dtype_name(ti.dtype) ? ckpt_dtype_name(ti.dtype) : "?");
    if (plain >= 0) {
        /* a plain type: the tensor's own, or a float converted to another float */
        w->type = want;
        if (plain != ti.dtype && (!convertible(plain) || !convertible(ti.dtype)))
            return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "cannot write a %s tensor as %s",
                             ckpt_dtype_name(ti.dtype), tname);
        uint64_t nb = (uint64_t)ti.numel * ckpt_dtype_size(plain);
        w->nbytes = nb;
        if (dry)
            return 0;
        const void *d = contiguous(t, &ti, &w->owned, err);
        if (!d)
            return err->code;
        if (plain == ti.dtype) {
            w->data = d;
            return 0;
        }
        void *cv = malloc(nb ? (size_t)nb : 1);
        if (!cv)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        if (ckpt_convert_elements(cv, plain, d, ti.dtype, (size_t)ti.numel) < 0) {
            free(cv);
            return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "cannot write a %s tensor as %s",
                             ckpt_dtype_name(ti.dtype), tname);
        }
        free(w->owned);
        w->owned = cv;
        w->data = cv;
        return 0;
    }
    /* a quantized type */
    w->type = want;
    if (ti.dtype == CKPT_U8) {
        /* raw blocks, shaped [..., row_bytes] as the reader gives them */
        if (ti.ndim == 0 || w->ne[0] % bb)
            return CKPT_FAIL(err, CKPT_E_ARG,
                             "a uint8 tensor written as %s must hold whole blocks of %u bytes "
                             "in its last dimension",
                             tname, bb);
        w->ne[0] = w->ne[0] / bb * blk;
        w->nbytes = ti.nbytes;
        if (dry)
            return 0;
        w->data = contiguous(t, &ti, &w->owned, err);
        if (!w->data)
            return err->code;
        return 0;
    }
    if (convertible(ti.dtype) && (want == 8 || want == 2)) {
        if (ti.ndim == 0 || w->ne[0] % 32)
            return CKPT_FAIL(err, CKPT_E_ARG,
                             "%s needs rows (the last dimension) of a multiple of 32 elements, "
                             "not %lld",
                             tname, ti.ndim ? (long long)w->ne[0] : 1LL);
        w->nbytes = ckpt_ggml_nbytes(want, ti.numel);
        if (dry)
            return 0;
        void *tmp;
        const void *d = contiguous(t, &ti, &tmp, err);
        if (!d)
            return err->code;
        float *f = malloc(ti.numel ? (size_t)ti.numel * 4 : 4);
        int rc = f ? ckpt_convert_elements(f, CKPT_F32, d, ti.dtype, (size_t)ti.numel) : -1;
        free(tmp);
        if (rc < 0) {
            free(f);
            return CKPT_FAIL(err, f ? CKPT_E_UNSUPPORTED : CKPT_E_NOMEM,
                             "cannot quantize a %s tensor", ckpt_dtype_name(ti.dtype));
        }
        w->owned = malloc(w->nbytes ? (size_t)w->nbytes : 1);
        if (!w->owned) {
            free(f);
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        }
        rc = ckpt_ggml_quantize(want, f, ti.numel, w->owned, (size_t)w->nbytes, err);
        free(f);
        w->data = w->owned;
        return rc;
    }
    return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                     "a %s tensor cannot be written as %s: ckpt writes quantized blocks from "
                     "uint8 raw blocks, and quantizes floats to Q8_0 and Q4_0 only",
                     ckpt_dtype_name(ti.dtype), tname);
}

static int write_gguf(ckpt_sink *s, const void *ctx, ckpt_error *err)
{
    const wplan *p = ctx;
    size_t nkv = p->kv ? ckpt_obj_len(p->kv) : 0;
    CKPT_TRY(put(s, "GGUF", 4, err));
    CKPT_TRY(put_le(s, 3, 4, err));
    CKPT_TRY(put_le(s, p->n, 8, err));
    CKPT_TRY(put_le(s, nkv + (p->add_alignment ? 1 : 0), 8, err));
    for (size_t i = 0; i < nkv; i++) {
        const ckpt_obj *k = ckpt_dict_key(p->kv, i), *v = ckpt_dict_value(p->kv, i);
        size_t kl = 0;
        const char *ks = ckpt_obj_str(k, &kl);
        const ckpt_obj *tyo = p->kvt ? ckpt_dict_get(p->kvt, ks) : NULL;
        char inf[64];
        const char *ty;
        if (tyo && ckpt_obj_type(tyo) == CKPT_T_STR) {
            ty = ckpt_obj_str(tyo, NULL);
        } else {
            CKPT_TRY(infer(v, inf, sizeof(inf), ks, err));
            ty = inf;
        }
        CKPT_TRY(put_str(s, ks, kl, err));
        int id = type_id(ty, strlen(ty));
        if (id < 0)
            return CKPT_FAIL(err, CKPT_E_ARG, "metadata key '%s': unknown GGUF type '%s'", ks,
                             ty);
        CKPT_TRY(put_le(s, (uint64_t)id, 4, err));
        if (strcmp(ks, "general.alignment") == 0) {
            if (id != 4)
                return CKPT_FAIL(err, CKPT_E_ARG, "general.alignment must be a uint32, not %s",
                                 ty);
            CKPT_TRY(put_le(s, p->alignment, 4, err));
            continue;
        }
        CKPT_TRY(write_value(s, ty, strlen(ty), v, ks, err));
    }
    if (p->add_alignment) {
        CKPT_TRY(put_str(s, "general.alignment", 17, err));
        CKPT_TRY(put_le(s, 4, 4, err));
        CKPT_TRY(put_le(s, p->alignment, 4, err));
    }
    for (size_t i = 0; i < p->n; i++) {
        const wt *w = &p->t[i];
        CKPT_TRY(put_str(s, w->name, strlen(w->name), err));
        CKPT_TRY(put_le(s, (uint64_t)w->ndim, 4, err));
        for (int j = 0; j < w->ndim; j++)
            CKPT_TRY(put_le(s, (uint64_t)w->ne[j], 8, err));
        CKPT_TRY(put_le(s, (uint64_t)w->type, 4, err));
        CKPT_TRY(put_le(s, w->offset, 8, err));
    }
    static const uint8_t zeros[256];
    uint64_t at = ckpt_sink_offset(s);
    while (at % p->alignment) {
        size_t k = (size_t)(p->alignment - at % p->alignment);
        k = k < sizeof(zeros) ? k : sizeof(zeros);
        CKPT_TRY(put(s, zeros, k, err));
        at += k;
    }
    for (size_t i = 0; i < p->n; i++) {
        const wt *w = &p->t[i];
        wt made;
        memset(&made, 0, sizeof(made));
        int rc = plan_tensor(&made, w->name, w->src, w->tname, false, err);
        if (rc == 0 && made.nbytes != w->nbytes)
            rc = CKPT_FAIL(err, CKPT_E_ARG, "tensor changed size while being written");
        if (rc == 0 && w->nbytes)
            rc = put(s, made.data, (size_t)w->nbytes, err);
        free(made.owned);
        if (rc < 0) {
            ckpt__error_prefix_key(err, w->name);
            return rc;
        }
        uint64_t pad = (p->alignment - w->nbytes % p->alignment) % p->alignment;
        while (pad) {
            size_t k = pad < sizeof(zeros) ? (size_t)pad : sizeof(zeros);
            CKPT_TRY(put(s, zeros, k, err));
            pad -= k;
        }
    }
    return 0;
}

int ckpt_gguf_save(const char *path, const ckpt_obj *dict, const ckpt_gguf_save_opts *opts,
                   ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!path || !dict)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing path or dict");
    if (ckpt_obj_type(dict) != CKPT_T_DICT) {
        int rc = CKPT_FAIL(err, CKPT_E_ARG, "GGUF needs a dict of tensors, not a %s",
                           ckpt_type_name(ckpt_obj_type(dict)));
        ckpt__error_set_file(err, path);
        return rc;
    }
    ckpt_gguf_save_opts dflt;
    memset(&dflt, 0, sizeof(dflt));
    if (!opts)
        opts = &dflt;
    wplan p;
    memset(&p, 0, sizeof(p));
    const ckpt_obj *tt = NULL;
    int rc = 0;
    if (opts->metadata) {
        if (ckpt_obj_type(opts->metadata) != CKPT_T_DICT) {
            rc = CKPT_FAIL(err, CKPT_E_ARG, "GGUF metadata must be a dict");
            goto out;
        }
        p.kv = ckpt_dict_get(opts->metadata, "gguf.kv");
        p.kvt = ckpt_dict_get(opts->metadata, "gguf.kv_types");
        tt = ckpt_dict_get(opts->metadata, "gguf.tensor_types");
        if ((p.kv && ckpt_obj_type(p.kv) != CKPT_T_DICT) ||
            (p.kvt && ckpt_obj_type(p.kvt) != CKPT_T_DICT) ||
            (tt && ckpt_obj_type(tt) != CKPT_T_DICT)) {
            rc = CKPT_FAIL(err, CKPT_E_ARG,
                           "GGUF metadata: gguf.kv, gguf.kv_types and gguf.tensor_types must "
                           "be dicts");
            goto out;
        }
        for (size_t i = 0; p.kv && i < ckpt_obj_len(p.kv); i++)
            if (ckpt_obj_type(ckpt_dict_key(p.kv, i)) != CKPT_T_STR) {
                rc = CKPT_FAIL(err, CKPT_E_ARG, "GGUF metadata keys must be strings");
                goto out;
            }
    }
    const ckpt_obj *al = p.kv ? ckpt_dict_get(p.kv, "general.alignment") : NULL;
    uint64_t a = opts->alignment                         ? opts->alignment
                 : al && ckpt_obj_type(al) == CKPT_T_INT ? (uint64_t)ckpt_obj_int(al)
                                                         : GGUF_DEFAULT_ALIGNMENT;
    if (a == 0 || a > UINT32_MAX || (a & (a - 1))) {
        rc = CKPT_FAIL(err, CKPT_E_ARG, "GGUF alignment %llu is not a power of 2",
                       (unsigned long long)a);
        goto out;
    }
    if (a > GGUF_MAX_ALIGNMENT) {
        rc = CKPT_FAIL(err, CKPT_E_LIMIT, "GGUF alignment %llu is above ckpt's limit of %u",
                       (unsigned long long)a, GGUF_MAX_ALIGNMENT);
        goto out;
    }
    p.alignment = (uint32_t)a;
    /* no metadata: general.alignment alone; otherwise only when it is not the default */
    p.add_alignment = !al && (!opts->metadata || p.alignment != GGUF_DEFAULT_ALIGNMENT);
    p.n = ckpt_obj_len(dict);
    p.t = calloc(p.n ? p.n : 1, sizeof(*p.t));
    if (!p.t) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto out;
    }
    uint64_t off = 0;
    for (size_t i = 0; i < p.n; i++) {
        const ckpt_obj *k = ckpt_dict_key(dict, i);
        size_t kl = 0;
        const char *ks = ckpt_obj_type(k) == CKPT_T_STR ? ckpt_obj_str(k, &kl) : NULL;
        if (!ks || memchr(ks, 0, kl)) {
            char rep[64];
            rc = CKPT_FAIL(err, CKPT_E_ARG, "GGUF tensor names must be strings (got %s)",
                           ckpt_obj_repr(k, false, rep, sizeof(rep)));
            goto out;
        }
        const ckpt_obj *tn = tt ? ckpt_dict_get(tt, ks) : NULL;
        rc = plan_tensor(&p.t[i], ks, ckpt_dict_value(dict, i),
                         tn && ckpt_obj_type(tn) == CKPT_T_STR ? ckpt_obj_str(tn, NULL) : NULL,
                         true, err);
        if (rc < 0) {
            ckpt__error_prefix_key(err, ks);
            goto out;
        }
        p.t[i].offset = off;
        uint64_t padded = (p.t[i].nbytes + p.alignment - 1) / p.alignment * p.alignment;
        if (ckpt_add_u64(off, padded, &off)) {
            rc = CKPT_FAIL(err, CKPT_E_LIMIT, "GGUF data section overflows");
            goto out;
        }
    }
    rc = ckpt__atomic_write(path, write_gguf, &p, NULL, opts->no_fsync, err);
out:
    for (size_t i = 0; p.t && i < p.n; i++)
        free(p.t[i].owned);
    free(p.t);
    if (rc < 0)
        ckpt__error_set_file(err, path);
    return rc;
}
