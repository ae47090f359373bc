/* src/onnx/nn2_util.h - helpers shared by the rnn, image and signal kernel
 * families (ops_rnn.c, ops_image.c, ops_signal.c): carving one scratch
 * block into several arrays, and float32 views of any float input. */
#ifndef CKPT_ONNX_NN2_UTIL_H
#define CKPT_ONNX_NN2_UTIL_H

#include <stdint.h>
#include <string.h>

#include "onnx/onnx_internal.h"

/* A scratch plan: sizes are added first (nn2_plan_add returns the offset),
 * then one ox_scratch call serves them all (ox_scratch hands out a single
 * block per kernel call). */
typedef struct nn2_plan {
    size_t total;
    int overflow;
} nn2_plan;

static inline size_t nn2_plan_add(nn2_plan *p, int64_t count, size_t elem)
{
    size_t off = (p->total + 63) & ~(size_t)63;
    if (count < 0 || (elem && (uint64_t)count > (SIZE_MAX - off - 64) / elem)) {
        p->overflow = 1;
        return 0;
    }
    p->total = off + (size_t)count * elem;
    return off;
}

/* The block of a finished plan (at least 64 bytes); NULL + error on failure. */
static inline char *nn2_plan_alloc(ox_run *r, const ox_node *n, nn2_plan *p, ckpt_error *err)
{
    if (p->overflow) {
        ox_fail(err, CKPT_E_LIMIT, n, "scratch size overflows");
        return NULL;
    }
    return ox_scratch(r, p->total + 64, err);
}

/* A double to int64 without undefined behaviour: NaN -> 0, clamped to
 * +-2^52 (callers check ranges after). */
static inline int64_t nn2_f2i(double v)
{
    if (!(v == v))
        return 0;
    if (v > 4503599627370496.0)
        return INT64_C(4503599627370496);
    if (v < -4503599627370496.0)
        return -INT64_C(4503599627370496);
    return (int64_t)v;
}

static inline int nn2_is_float(int dt)
{
    return dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_BFLOAT16;
}

/* The value range of an integer type (true), false for other types. */
static inline bool nn2_int_range(int dt, double *lo, double *hi)
{
    switch (dt) {
    case OX_UINT8: *lo = 0.0, *hi = 255.0; return true;
    case OX_INT8: *lo = -128.0, *hi = 127.0; return true;
    case OX_UINT16: *lo = 0.0, *hi = 65535.0; return true;
    case OX_INT16: *lo = -32768.0, *hi = 32767.0; return true;
    case OX_UINT32: *lo = 0.0, *hi = 4294967295.0; return true;
    case OX_INT32: *lo = -2147483648.0, *hi = 2147483647.0; return true;
    case OX_UINT64:
        *lo = 0.0, *hi = 18446744073709549568.0; /* the largest double below 2^64 */
        return true;
    case OX_INT64: *lo = -9223372036854775808.0, *hi = 9223372036854774784.0; return true;
    default: return false;
    }
}

/* Convert numel elements of float-type `v` into dst (float32). */
static inline void nn2_load_f32(float *dst, const ox_val *v)
{
    if (v->dtype == OX_FLOAT) {
        memcpy(dst, v->data, (size_t)v->numel * sizeof(float));
        return;
    }
    for (int64_t i = 0; i < v->numel; i++)
        dst[i] = (float)ox_get_f64(v, i);
}

/* Write numel float32 values of src into tensor `v` of its own dtype. */
static inline void nn2_store_f32(ox_val *v, const float *src)
{
    if (v->dtype == OX_FLOAT) {
        memcpy(v->data, src, (size_t)v->numel * sizeof(float));
        return;
    }
    for (int64_t i = 0; i < v->numel; i++)
        ox_set_f64(v, i, (double)src[i]);
}

#endif
