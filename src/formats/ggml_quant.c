/* src/formats/ggml_quant.c - ggml tensor types: ids, names, block sizes,
 * dequantization of the common block formats and the reference Q8_0 / Q4_0
 * quantizers (ckpt/formats.h).
 *
 * Facts from ggml (ggml/include/ggml.h enum ggml_type, ggml/src/ggml.c
 * type_traits, ggml/src/ggml-common.h block structs and their static_asserts,
 * gguf-py constants.py GGML_QUANT_SIZES); the code is ckpt's own.  Every block
 * is read byte by byte as little-endian, so nothing depends on the host's
 * struct layout or alignment. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "ckpt/formats.h"
#include "core/err.h"
#include "formats/formats_internal.h"

typedef struct ggml_traits {
    const char *name; /* gguf-py's GGMLQuantizationType name */
    uint32_t block;   /* elements per block (0: removed type) */
    uint32_t bytes;   /* bytes per block */
} ggml_traits;

#define QK_K 256

/* Indexed by ggml type id.  Removed ids (4, 5, 31..33, 36..38) have block 0. */
static const ggml_traits TRAITS[] = {
    [0] = {"F32", 1, 4},
    [1] = {"F16", 1, 2},
    [2] = {"Q4_0", 32, 2 + 16},
    [3] = {"Q4_1", 32, 2 + 2 + 16},
    [6] = {"Q5_0", 32, 2 + 4 + 16},
    [7] = {"Q5_1", 32, 2 + 2 + 4 + 16},
    [8] = {"Q8_0", 32, 2 + 32},
    [9] = {"Q8_1", 32, 2 + 2 + 32},
    [10] = {"Q2_K", QK_K, QK_K / 16 + QK_K / 4 + 2 + 2},
    [11] = {"Q3_K", QK_K, QK_K / 8 + QK_K / 4 + 12 + 2},
    [12] = {"Q4_K", QK_K, 2 + 2 + 12 + QK_K / 2},
    [13] = {"Q5_K", QK_K, 2 + 2 + 12 + QK_K / 8 + QK_K / 2},
    [14] = {"Q6_K", QK_K, QK_K / 2 + QK_K / 4 + QK_K / 16 + 2},
    [15] = {"Q8_K", QK_K, 4 + QK_K + QK_K / 16 * 2},
    [16] = {"IQ2_XXS", QK_K, 2 + QK_K / 8 * 2},
    [17] = {"IQ2_XS", QK_K, 2 + QK_K / 8 * 2 + QK_K / 32},
    [18] = {"IQ3_XXS", QK_K, 2 + 3 * (QK_K / 8)},
    [19] = {"IQ1_S", QK_K, 2 + QK_K / 8 + QK_K / 16},
    [20] = {"IQ4_NL", 32, 2 + 16},
    [21] = {"IQ3_S", QK_K, 2 + 13 * (QK_K / 32) + QK_K / 64},
    [22] = {"IQ2_S", QK_K, 2 + QK_K / 4 + QK_K / 16},
    [23] = {"IQ4_XS", QK_K, 2 + 2 + QK_K / 64 + QK_K / 2},
    [24] = {"I8", 1, 1},
    [25] = {"I16", 1, 2},
    [26] = {"I32", 1, 4},
    [27] = {"I64", 1, 8},
    [28] = {"F64", 1, 8},
    [29] = {"IQ1_M", QK_K, QK_K / 8 + QK_K / 16 + QK_K / 32},
    [30] = {"BF16", 1, 2},
    [34] = {"TQ1_0", QK_K, (QK_K - 4 * QK_K / 64) / 5 + QK_K / 64 + 2},
    [35] = {"TQ2_0", QK_K, QK_K / 4 + 2},
    [39] = {"MXFP4", 32, 1 + 16},
    [40] = {"NVFP4", 64, 64 / 16 + 32},
    [41] = {"Q1_0", 128, 2 + 128 / 8},
    [42] = {"Q2_0", 64, 2 + 64 / 4},
};
#define NTRAITS ((int)(sizeof(TRAITS) / sizeof(TRAITS[0])))

static const ggml_traits *traits(int t)
{
    if (t < 0 || t >= NTRAITS || !TRAITS[t].block)
        return NULL;
    return &TRAITS[t];
}

const char *ckpt_ggml_type_name(int ggml_type)
{
    const ggml_traits *tr = traits(ggml_type);
    return tr ? tr->name : NULL;
}

int ckpt_ggml_type_from_name(const char *name)
{
    if (!name)
        return -1;
    for (int t = 0; t < NTRAITS; t++) {
        if (!TRAITS[t].block)
            continue;
        const char *a = TRAITS[t].name, *b = name;
        while (*a && *b && (*a == *b || (*a >= 'A' && *a <= 'Z' && *a + 32 == *b))) {
            a++;
            b++;
        }
        if (!*a && !*b)
            return t;
    }
    return -1;
}

int ckpt__ggml_block(int ggml_type, uint32_t *block, uint32_t *bytes)
{
    const ggml_traits *tr = traits(ggml_type);
    if (!tr)
        return -1;
    *block = tr->block;
    *bytes = tr->bytes;
    return 0;
}

uint64_t ckpt_ggml_nbytes(int ggml_type, int64_t n)
{
    const ggml_traits *tr = traits(ggml_type);
    if (!tr || n < 0 || n % tr->block)
        return 0;
    uint64_t blocks = (uint64_t)n / tr->block;
    if (blocks > UINT64_MAX / tr->bytes)
        return 0;
    return blocks * tr->bytes;
}

/* ------------------------------------------------------------ dequantize */

static float fp16(const uint8_t *p)
{
    uint16_t h = (uint16_t)(p[0] | (p[1] << 8));
    float f;
    ckpt_convert_elements(&f, CKPT_F32, &h, CKPT_F16, 1);
    return f;
}

static float fp32(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
                 (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* One block each: x = the block bytes, y = its elements. */
static void dq_q4_0(const uint8_t *x, float *y)
{
    const float d = fp16(x);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)((x[2 + j] & 0x0F) - 8) * d;
        y[j + 16] = (float)((x[2 + j] >> 4) - 8) * d;
    }
}

static void dq_q4_1(const uint8_t *x, float *y)
{
    const float d = fp16(x), m = fp16(x + 2);
    for (int j = 0; j < 16; j++) {
        y[j] = (float)(x[4 + j] & 0x0F) * d + m;
        y[j + 16] = (float)(x[4 + j] >> 4) * d + m;
    }
}

/* The 32 five-bit quants of a Q5_0/Q5_1 block: low nibbles in qs (element j
 * and j + 16 share byte j), fifth bits in the 32-bit little-endian qh. */
static void q5_unpack(const uint8_t *qh_bytes, const uint8_t *qs, int q[32])
{
    const uint32_t qh = le32(qh_bytes);
    for (int j = 0; j < 16; j++) {
        q[j] = (qs[j] & 0x0F) | ((int)((qh >> j) << 4) & 0x10);
        q[j + 16] = (qs[j] >> 4) | ((int)(qh >> (j + 12)) & 0x10);
    }
}

static void dq_q5_0(const uint8_t *x, float *y)
{
    const float d = fp16(x);
    int q[32];
    q5_unpack(x + 2, x + 6, q);
    for (int j = 0; j < 32; j++)
        y[j] = (float)(q[j] - 16) * d;
}

static void dq_q5_1(const uint8_t *x, float *y)
{
    const float d = fp16(x), m = fp16(x + 2);
    int q[32];
    q5_unpack(x + 4, x + 8, q);
    for (int j = 0; j < 32; j++)
        y[j] = (float)q[j] * d + m;
}

static void dq_q8_0(const uint8_t *x, float *y)
{
    const float d = fp16(x);
    for (int j = 0; j < 32; j++)
        y[j] = (float)(int8_t)x[2 + j] * d;
}

/* K-quants: 6-bit scale and min j of the 12-byte packed table. */
static void scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m)
{
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (uint8_t)((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
        *m = (uint8_t)((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
    }
}

static void dq_q2_k(const uint8_t *x, float *y)
{
    const uint8_t *scales = x, *q = x + 16;
    const float d = fp16(x + 16 + 64), dmin = fp16(x + 16 + 64 + 2);
    int is = 0;
    for (int n = 0; n < QK_K; n += 128) {
        int shift = 0;
        for (int j = 0; j < 4; j++) {
            for (int half = 0; half < 2; half++) {
                uint8_t sc = scales[is++];
                float dl = d * (float)(sc & 0xF), ml = dmin * (float)(sc >> 4);
                for (int l = 0; l < 16; l++)
                    *y++ = dl * (float)((q[l + 16 * half] >> shift) & 3) - ml;
            }
            shift += 2;
        }
        q += 32;
    }
}

static void dq_q3_k(const uint8_t *x, float *y)
{
    const uint8_t *hm = x, *q = x + 32, *packed = x + 32 + 64;
    const float d_all = fp16(x + 32 + 64 + 12);
    /* 16 signed 6-bit scales: low 4 bits from bytes 0..7, high 2 bits from 8..11 */
    int8_t scales[16];
    for (int i = 0; i < 16; i++) {
        int lo = i < 8 ? packed[i] & 0xF : packed[i - 8] >> 4;
        int hi = (packed[8 + (i % 4)] >> (2 * (i / 4))) & 3;
        scales[i] = (int8_t)((lo | (hi << 4)) - 32);
    }
    int is = 0;
    uint8_t m = 1;
    for (int n = 0; n < QK_K; n += 128) {
        int shift = 0;
        for (int j = 0; j < 4; j++) {
            for (int half = 0; half < 2; half++) {
                float dl = d_all * (float)scales[is++];
                for (int l = 0; l < 16; l++) {
                    int k = l + 16 * half;
                    int v = ((q[k] >> shift) & 3) - ((hm[k] & m) ? 0 : 4);
                    *y++ = dl * (float)v;
                }
            }
            shift += 2;
            m = (uint8_t)(m << 1);
        }
        q += 32;
    }
}

static void dq_q4_k(const uint8_t *x, float *y)
{
    const float d = fp16(x), dmin = fp16(x + 2);
    const uint8_t *sc12 = x + 4, *q = x + 16;
    int is = 0;
    for (int j = 0; j < QK_K; j += 64) {
        uint8_t sc, m;
        scale_min_k4(is, sc12, &sc, &m);
        const float d1 = d * (float)sc, m1 = dmin * (float)m;
        scale_min_k4(is + 1, sc12, &sc, &m);
        const float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++)
            *y++ = d1 * (float)(q[l] & 0xF) - m1;
        for (int l = 0; l < 32; l++)
            *y++ = d2 * (float)(q[l] >> 4) - m2;
        q += 32;
        is += 2;
    }
}

static void dq_q5_k(const uint8_t *x, float *y)
{
    const float d = fp16(x), dmin = fp16(x + 2);
    const uint8_t *sc12 = x + 4, *qh = x + 16, *ql = x + 16 + 32;
    int is = 0;
    uint8_t u1 = 1, u2 = 2;
    for (int j = 0; j < QK_K; j += 64) {
        uint8_t sc, m;
        scale_min_k4(is, sc12, &sc, &m);
        const float d1 = d * (float)sc, m1 = dmin * (float)m;
        scale_min_k4(is + 1, sc12, &sc, &m);
        const float d2 = d * (float)sc, m2 = dmin * (float)m;
        for (int l = 0; l < 32; l++)
            *y++ = d1 * (float)((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
        for (int l = 0; l < 32; l++)
            *y++ = d2 * (float)((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
        ql += 32;
        is += 2;
        u1 = (uint8_t)(u1 << 2);
        u2 = (uint8_t)(u2 << 2);
    }
}

static void dq_q6_k(const uint8_t *x, float *y)
{
    const uint8_t *ql = x, *qh = x + 128;
    const int8_t *sc = (const int8_t *)(x + 128 + 64);
    const float d = fp16(x + 128 + 64 + 16);
    for (int n = 0; n < QK_K; n += 128) {
        for (int l = 0; l < 32; l++) {
            int is = l / 16;
            int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * (float)sc[is] * (float)q1;
            y[l + 32] = d * (float)sc[is + 2] * (float)q2;
            y[l + 64] = d * (float)sc[is + 4] * (float)q3;
            y[l + 96] = d * (float)sc[is + 6] * (float)q4;
        }
        y += 128;
        ql += 64;
        qh += 32;
        sc += 8;
    }
}

static void dq_q8_k(const uint8_t *x, float *y)
{
    const float d = fp32(x);
    for (int j = 0; j < QK_K; j++)
        y[j] = d * (float)(int8_t)x[4 + j];
}

typedef void (*dq_fn)(const uint8_t *x, float *y);

static dq_fn dequantizer(int t)
{
    switch (t) {
    case 2: return dq_q4_0;
    case 3: return dq_q4_1;
    case 6: return dq_q5_0;
    case 7: return dq_q5_1;
    case 8: return dq_q8_0;
    case 10: return dq_q2_k;
    case 11: return dq_q3_k;
    case 12: return dq_q4_k;
    case 13: return dq_q5_k;
    case 14: return dq_q6_k;
    case 15: return dq_q8_k;
    default: return NULL;
    }
}

bool ckpt__ggml_can_dequantize(int ggml_type)
{
    return dequantizer(ggml_type) != NULL;
}

int ckpt_ggml_dequantize(int ggml_type, const void *src, size_t src_len, float *dst, int64_t n,
                         ckpt_error *err)
{
    const ggml_traits *tr = traits(ggml_type);
    if (!tr)
        return CKPT_FAIL(err, CKPT_E_ARG, "unknown ggml type %d", ggml_type);
    dq_fn fn = dequantizer(ggml_type);
    if (!fn)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "ckpt cannot dequantize ggml type %s",
                         tr->name);
    if (n < 0 || n % tr->block)
        return CKPT_FAIL(err, CKPT_E_ARG, "%lld elements are not whole %s blocks of %u",
                         (long long)n, tr->name, tr->block);
    uint64_t need = ckpt_ggml_nbytes(ggml_type, n);
    if ((n && !need) || need > src_len)
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: %lld elements need %llu bytes, the source has %zu",
                         tr->name, (long long)n, (unsigned long long)need, src_len);
    if (n && (!src || !dst))
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL buffer");
    const uint8_t *x = src;
    for (int64_t b = 0; b < n / tr->block; b++)
        fn(x + (size_t)b * tr->bytes, dst + (size_t)b * tr->block);
    return 0;
}

/* -------------------------------------------------------------- quantize */

static void fp16_put(uint8_t *p, float f)
{
    uint16_t h;
    ckpt_convert_elements(&h, CKPT_F16, &f, CKPT_F32, 1);
    p[0] = (uint8_t)h;
    p[1] = (uint8_t)(h >> 8);
}

/* (int8_t)v, truncating as C does; values C leaves undefined (NaN, out of
 * range: only from non-finite inputs) saturate, NaN gives 0. */
static int8_t to_i8(float v)
{
    if (!(v == v))
        return 0;
    if (v <= -128.0f)
        return -128;
    if (v >= 127.0f)
        return 127;
    return (int8_t)v;
}

/* quantize_row_q8_0_ref: d = amax / 127, q = roundf(x / d) */
static void q_q8_0(const float *x, uint8_t *y)
{
    float amax = 0.0f;
    for (int j = 0; j < 32; j++)
        amax = fmaxf(amax, fabsf(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    fp16_put(y, d);
    for (int j = 0; j < 32; j++)
        y[2 + j] = (uint8_t)to_i8(roundf(x[j] * id));
}

/* quantize_row_q4_0_ref: d = (value of largest magnitude) / -8,
 * q = min(15, (int8_t)(x / d + 8.5)) */
static void q_q4_0(const float *x, uint8_t *y)
{
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; j++)
        if (amax < fabsf(x[j])) {
            amax = fabsf(x[j]);
            max = x[j];
        }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    fp16_put(y, d);
    for (int j = 0; j < 16; j++) {
        int8_t a = to_i8(x[j] * id + 8.5f), b = to_i8(x[j + 16] * id + 8.5f);
        uint8_t q0 = (uint8_t)(a < 15 ? a : 15), q1 = (uint8_t)(b < 15 ? b : 15);
        y[2 + j] = (uint8_t)(q0 | (q1 << 4));
    }
}

int ckpt_ggml_quantize(int ggml_type, const float *src, int64_t n, void *dst, size_t dst_len,
                       ckpt_error *err)
{
    void (*fn)(const float *, uint8_t *) = ggml_type == 8   ? q_q8_0
                                           : ggml_type == 2 ? q_q4_0
                                                            : NULL;
    const ggml_traits *tr = traits(ggml_type);
    if (!fn)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "ckpt quantizes to Q8_0 and Q4_0 only, not %s",
                         tr ? tr->name : "an unknown ggml type");
    if (n < 0 || n % 32)
        return CKPT_FAIL(err, CKPT_E_ARG, "%lld elements are not whole %s blocks of 32",
                         (long long)n, tr->name);
    uint64_t need = ckpt_ggml_nbytes(ggml_type, n);
    if (need > dst_len)
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: %lld elements need %llu bytes, the buffer has %zu",
                         tr->name, (long long)n, (unsigned long long)need, dst_len);
    if (n && (!src || !dst))
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL buffer");
    uint8_t *y = dst;
    for (int64_t b = 0; b < n / 32; b++)
        fn(src + (size_t)b * 32, y + (size_t)b * tr->bytes);
    return 0;
}
