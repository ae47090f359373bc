/* src/ops/vmath.h - float math the compiler can vectorise (no libm calls in
 * the loop): exp in float for softmax-style kernels.
 *
 * ckpt__expf: range reduction x = n ln2 + r (|r| <= ln2/2, ln2 split in two
 * parts), exp(r) by a degree-7 minimax polynomial (Cephes expf), 2^n by
 * exponent bits.  Max relative error about 2 ulp (checked against double exp
 * over [-88, 88] in tests/unit/ops/vmath_test.c).  exp(-inf) = 0, exp(+inf) =
 * +inf, NaN propagates; results below FLT_MIN flush to 0 (x < -87.33). */
#ifndef CKPT_OPS_VMATH_H
#define CKPT_OPS_VMATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* CKPT__VEC_CLONES before a hot row kernel: GCC on x86-64 Linux builds it
 * twice (AVX2 and baseline) and picks one at load time (ifunc).  The two
 * give identical results: no FMA contraction (ISO C mode), same IEEE ops. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define CKPT__VEC_CLONES __attribute__((target_clones("avx2", "default")))
#define CKPT__FLATTEN __attribute__((flatten))
#else
#define CKPT__VEC_CLONES
#define CKPT__FLATTEN
#endif

static inline float ckpt__expf(float x)
{
    const float hi = 88.3762626647949f, lo = -87.3365447504f;
    /* clamp (NaN -> lo: the comparisons are false), so the conversion is defined */
    float xc = x > lo ? x : lo;
    xc = xc < hi ? xc : hi;
    /* n = round(x / ln2) by the 1.5 * 2^23 trick (round to nearest even) */
    float n = (xc * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    float y = p * (r * r) + r + 1.0f;
    int32_t e = ((int32_t)n + 127) << 23;
    float s;
    memcpy(&s, &e, sizeof s);
    y *= s;
    y = x < lo ? 0.0f : y;
    y = x > hi ? INFINITY : y;
    return x != x ? x : y;
}

#endif
