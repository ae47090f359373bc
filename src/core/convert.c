/* src/core/convert.c - element conversions between the floating dtypes, bit-exact with
 * torch's CPU `.to(dtype)` (torch 1.13, checked against tests/fixtures/convert).
 *
 * Rounding is to nearest, ties to even; values past a format's largest finite value
 * become infinities; subnormals are produced and read.  torch converts through float:
 * float16 <-> bfloat16 and float64 -> float16/bfloat16 go via a float32 value (the
 * double rounding of float64 -> float32 -> float16 is torch's too).  NaN stays NaN,
 * with torch's bits: float32 -> bfloat16 gives 0xFFFF (its vectorised kernel), any
 * float16 -> bfloat16 gives 0x7FC0, float64 -> bfloat16 gives 0xFFFF in whole blocks of
 * 16 elements and 0x7FC0 in the tail after the last whole block (torch's AVX2 kernel on a
 * contiguous run converted in one piece), -> float16 gives 0x7E00 with the sign kept,
 * float16 -> float32 keeps the payload and sets the quiet bit.  NaN bit patterns are
 * the one place where torch's result depends on its kernel; values never do. */
#include <math.h>
#include <string.h>

#include "ckpt/core.h"

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof(u));
    return u;
}

static float f32_from(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof(f));
    return f;
}

/* round `m` right by `s` bits (1 <= s <= 31), to nearest, ties to even */
static uint32_t shift_rne(uint32_t m, unsigned s)
{
    uint32_t q = m >> s, rem = m & ((1u << s) - 1u), half = 1u << (s - 1);
    if (rem > half || (rem == half && (q & 1u)))
        q++;
    return q;
}

static uint16_t f32_to_f16(float f)
{
    uint32_t x = f32_bits(f);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000u);
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u)
        return (uint16_t)(sign | 0x7E00u);
    if (ax >= 0x477FF000u) /* >= 65520: past the largest half (65504) by half an ulp */
        return (uint16_t)(sign | 0x7C00u);
    if (ax < 0x38800000u) { /* below 2^-14: a float16 subnormal, or zero */
        uint32_t e = ax >> 23;
        if (e < 102) /* below 2^-25: rounds to zero */
            return sign;
        uint32_t m = (ax & 0x7FFFFFu) | 0x800000u;
        return (uint16_t)(sign | shift_rne(m, 126u - e)); /* units of 2^-24 */
    }
    uint32_t r = ax - (112u << 23); /* rebias the exponent from 127 to 15 */
    return (uint16_t)(sign | shift_rne(r, 13));
}

static float f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu;
    if (e == 0x1F)
        return f32_from(m ? sign | 0x7FC00000u | (m << 13) : sign | 0x7F800000u);
    if (e == 0) {
        if (m == 0)
            return f32_from(sign);
        e = 1;
        while (!(m & 0x400u)) {
            m <<= 1;
            e--;
        }
        m &= 0x3FFu;
        return f32_from(sign | ((e + 112u) << 23) | (m << 13));
    }
    return f32_from(sign | ((e + 112u) << 23) | (m << 13));
}

/* float -> bfloat16; `nan` is the pattern NaN becomes (0xFFFF or 0x7FC0, see above) */
static uint16_t f32_to_bf16(float f, uint16_t nan)
{
    if (isnan(f))
        return nan;
    uint32_t x = f32_bits(f);
    return (uint16_t)((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

static float bf16_to_f32(uint16_t b)
{
    return f32_from((uint32_t)b << 16);
}

static bool supported(int dtype)
{
    return dtype == CKPT_F16 || dtype == CKPT_BF16 || dtype == CKPT_F32 || dtype == CKPT_F64;
}

/* element i of `src` as float (the value torch's kernels go through) */
static float load_f32(const unsigned char *p, int dtype)
{
    uint16_t h;
    float f;
    double d;
    switch (dtype) {
    case CKPT_F16: memcpy(&h, p, 2); return f16_to_f32(h);
    case CKPT_BF16: memcpy(&h, p, 2); return bf16_to_f32(h);
    case CKPT_F32: memcpy(&f, p, 4); return f;
    default: memcpy(&d, p, 8); return (float)d;
    }
}

int ckpt_convert_elements(void *dst, int dst_dtype, const void *src, int src_dtype, size_t n)
{
    if ((!dst || !src) && n)
        return CKPT_E_ARG;
    if (!supported(dst_dtype) || !supported(src_dtype))
        return CKPT_E_UNSUPPORTED;
    size_t ds = ckpt_dtype_size(dst_dtype), ss = ckpt_dtype_size(src_dtype);
    unsigned char *o = dst;
    const unsigned char *in = src;
    if (n == 0)
        return 0; /* nothing to convert; the buffers may be NULL */
    if (dst_dtype == src_dtype) {
        memmove(dst, src, n * ss);
        return 0;
    }
    size_t blocked = n / 16 * 16; /* float64 -> bfloat16: NaN pattern by position */
    for (size_t i = 0; i < n; i++, o += ds, in += ss) {
        if (dst_dtype == CKPT_F64) {
            /* float64 from float16/bfloat16/float32: exact, via float (hardware widening) */
            double d = (double)load_f32(in, src_dtype);
            memcpy(o, &d, 8);
            continue;
        }
        float f = load_f32(in, src_dtype);
        if (dst_dtype == CKPT_F32) {
            memcpy(o, &f, 4);
        } else {
            uint16_t h = dst_dtype == CKPT_F16
                             ? f32_to_f16(f)
                             : f32_to_bf16(f, src_dtype == CKPT_F32 ||
                                                      (src_dtype == CKPT_F64 && i < blocked)
                                                  ? 0xFFFFu
                                                  : 0x7FC0u);
            memcpy(o, &h, 2);
        }
    }
    return 0;
}
