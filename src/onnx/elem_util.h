/* src/onnx/elem_util.h - shared pieces of the element-wise ONNX kernels
 * (ops_elementwise.c, elem_*.c): the broadcasting iterator, float16/bfloat16
 * element conversions and the entry points of the kernels that live in the
 * elem_*.c files. */
#ifndef CKPT_ONNX_ELEM_UTIL_H
#define CKPT_ONNX_ELEM_UTIL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "onnx/onnx_internal.h"

/* ------------------------------------------------------------ broadcasting */

#define OX_EW_MAX_IN 3

/*
 * An inner loop over `n` output elements: `o` the output, `in[k]` the
 * inputs.  Bit k of `bc` is set when input k is broadcast along this run
 * (the same element for all n: read in[k][0]); otherwise input k advances
 * one element per output element.  `ctx` is the kernel's own parameter.
 */
typedef void (*ox_ew_fn)(void *o, const void *const *in, int64_t n, unsigned bc, const void *ctx);

/* One operand of the iterator: dims (broadcastable to the output's),
 * contiguous row-major data, element size in bytes. */
typedef struct ox_ew_operand {
    int rank;
    const int64_t *dims;
    const void *data;
    size_t esize;
} ox_ew_operand;

/* Run `fn` over the output (orank, odims, contiguous data `o`, element size
 * `oesize`) with `nin` inputs broadcast to it (numpy rules; the caller checked
 * that they broadcast).  Adjacent dimensions that broadcast alike are merged,
 * so a same-shape, scalar or suffix broadcast is one call (or one call per
 * outer row) of `fn`. */
void ox_ew_run(int orank, const int64_t *odims, void *o, size_t oesize, const ox_ew_operand *in,
               int nin, ox_ew_fn fn, const void *ctx);

/* An operand for tensor `v`. */
static inline ox_ew_operand ox_ew_of(const ox_val *v)
{
    ox_ew_operand op = {v->rank, v->dims, v->data, ox_dtype_size(v->dtype)};
    return op;
}

/* ------------------------------------------------------------ half types */

/* float16 -> float32 (exact). */
static inline float ox_h2f(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1Fu, m = h & 0x3FFu, u;
    if (e == 0x1F) {
        u = sign | 0x7F800000u | (m << 13);
    } else if (e == 0) {
        if (!m) {
            u = sign;
        } else {
            float f = (float)m * 5.9604644775390625e-8f; /* m * 2^-24 */
            return sign ? -f : f;
        }
    } else {
        u = sign | ((e + 112u) << 23) | (m << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* double -> float16, round to nearest even (one rounding, as numpy). */
static inline uint16_t ox_d2h(double d)
{
    uint64_t x;
    memcpy(&x, &d, 8);
    uint16_t sign = (uint16_t)((x >> 48) & 0x8000u);
    uint64_t ax = x & 0x7FFFFFFFFFFFFFFFull;
    if (ax > 0x7FF0000000000000ull)
        return (uint16_t)(sign | 0x7E00u);
    int e = (int)(ax >> 52) - 1023;
    if (e >= 16)
        return (uint16_t)(sign | 0x7C00u);
    uint64_t m = (ax & 0xFFFFFFFFFFFFFull) | (1ull << 52);
    if (e < -25)
        return sign; /* below half the smallest subnormal */
    /* value = m * 2^(e-52); half units: normal 2^(e-10), subnormal 2^-24 */
    int unit = e < -14 ? -24 : e - 10;
    unsigned s = (unsigned)(unit - (e - 52)); /* >= 42 */
    uint64_t q = m >> s, rem = m & ((1ull << s) - 1), half = 1ull << (s - 1);
    if (rem > half || (rem == half && (q & 1)))
        q++;
    /* q counts units; rebuild the bits (a carry into the next binade works out) */
    uint32_t bits;
    if (e < -14) {
        bits = (uint32_t)q; /* subnormal (q may reach 0x400 = the smallest normal) */
    } else {
        bits = (uint32_t)(((uint32_t)(e + 15) << 10) + (uint32_t)(q - 0x400u));
    }
    if (bits >= 0x7C00u)
        bits = 0x7C00u;
    return (uint16_t)(sign | bits);
}

static inline uint16_t ox_f2h(float f)
{
    return ox_d2h((double)f);
}

static inline float ox_bf2f(uint16_t b)
{
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* float -> bfloat16, round to nearest even; NaN -> 0x7FC0 with the sign. */
static inline uint16_t ox_f2bf(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u)
        return (uint16_t)(((x >> 16) & 0x8000u) | 0x7FC0u);
    return (uint16_t)((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

/* float -> bfloat16 by truncation (ONNX 1.12's Cast reference). */
static inline uint16_t ox_f2bf_trunc(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    if ((x & 0x7FFFFFFFu) > 0x7F800000u)
        return (uint16_t)(((x >> 16) & 0x8000u) | 0x7FC0u);
    return (uint16_t)(x >> 16);
}

/* n halves (OX_FLOAT16 or OX_BFLOAT16) <-> floats. */
void ox_half_load(float *dst, const uint16_t *src, int64_t n, int dtype);
void ox_half_store(uint16_t *dst, const float *src, int64_t n, int dtype);

static inline int ox_is_half(int dt)
{
    return dt == OX_FLOAT16 || dt == OX_BFLOAT16;
}
static inline int ox_is_float(int dt)
{
    return dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_BFLOAT16;
}
static inline int ox_is_int(int dt)
{
    return dt == OX_INT8 || dt == OX_UINT8 || dt == OX_INT16 || dt == OX_UINT16 ||
           dt == OX_INT32 || dt == OX_UINT32 || dt == OX_INT64 || dt == OX_UINT64;
}
static inline int ox_is_tensor(const ox_val *v)
{
    return v && v->kind == OX_KIND_TENSOR;
}

/* The session's in[]/out[] arrays hold exactly n_in / n_out entries: check
 * that a node has at least `nin` inputs and one output before reading them. */
static inline int ox_ew_need(const ox_node *n, int nin, ckpt_error *err)
{
    if (n->n_in < nin || n->n_out < 1)
        return ox_fail(err, CKPT_E_ARG, n, "needs %d input%s and an output (has %d, %d)", nin,
                       nin == 1 ? "" : "s", n->n_in, n->n_out);
    return 0;
}

/* ------------------------------------------------------------ kernels in elem_*.c */

int ox_k_cast(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
              ckpt_error *err);
int ox_k_castlike(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err);
int ox_k_quantize(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err);
int ox_k_dequantize(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                    ckpt_error *err);
int ox_k_dynquantize(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                     ckpt_error *err);
/* Convert n elements between any two non-complex types (strings included:
 * dst strings are allocated; NULL entries in a string source read as "").
 * `trunc_bf16`: float -> bfloat16 truncates.  Returns 0 or CKPT_E_NOMEM. */
int ox_convert(void *dst, int dt_dst, const void *src, int dt_src, int64_t n, int trunc_bf16);

#endif
