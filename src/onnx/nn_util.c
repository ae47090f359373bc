/* src/onnx/nn_util.c - helpers shared by the ONNX nn kernels (nn_util.h). */
#include <cblas.h>
#include <pthread.h>
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "onnx/nn_util.h"

void ox_nn_blas_threads(const ox_run *r)
{
#ifdef OPENBLAS_VERSION
    int t = ox_threads(r);
    if (openblas_get_num_threads() != t)
        openblas_set_num_threads(t);
#else
    (void)r;
#endif
}

void ox_nn_blas_threads_for(const ox_run *r, int64_t macs)
{
    /* below ~4M multiply-adds a second OpenBLAS thread costs more to start
     * than it saves (a CNN's per-image products at batch 1 ran 2.3x slower) */
    if (macs < ((int64_t)1 << 22))
        ox_nn_blas_single();
    else
        ox_nn_blas_threads(r);
}

void ox_nn_blas_single(void)
{
#ifdef OPENBLAS_VERSION
    if (openblas_get_num_threads() != 1)
        openblas_set_num_threads(1);
#endif
}

int ox_nn_parallel(int n_jobs, void *(*fn)(void *), void *jobs, size_t job_size)
{
    if (n_jobs <= 1) {
        if (n_jobs == 1)
            fn(jobs);
        return 0;
    }
    pthread_t tid[OX_NN_MAX_THREADS];
    bool started[OX_NN_MAX_THREADS] = {false};
    if (n_jobs > OX_NN_MAX_THREADS)
        n_jobs = OX_NN_MAX_THREADS;
    for (int i = 1; i < n_jobs; i++)
        started[i] = pthread_create(&tid[i], NULL, fn, (char *)jobs + (size_t)i * job_size) == 0;
    fn(jobs);
    for (int i = 1; i < n_jobs; i++) {
        if (started[i])
            pthread_join(tid[i], NULL);
        else
            fn((char *)jobs + (size_t)i * job_size); /* no thread: run it here */
    }
    return 0;
}

bool ox_nn_numeric(int dtype)
{
    switch (dtype) {
    case OX_FLOAT:
    case OX_DOUBLE:
    case OX_FLOAT16:
    case OX_BFLOAT16:
    case OX_INT8:
    case OX_UINT8:
    case OX_INT16:
    case OX_UINT16:
    case OX_INT32:
    case OX_UINT32:
    case OX_INT64:
    case OX_UINT64: return true;
    default: return false;
    }
}

#define OX_TO_FLOAT(T)                                                                           \
    do {                                                                                         \
        const T *p = v->data;                                                                    \
        for (int64_t i = 0; i < n; i++)                                                          \
            dst[i] = (float)p[i];                                                                \
    } while (0)

void ox_nn_to_float(float *dst, const ox_val *v)
{
    const int64_t n = v->numel;
    switch (v->dtype) {
    case OX_FLOAT: memcpy(dst, v->data, (size_t)n * sizeof(float)); break;
    case OX_DOUBLE: OX_TO_FLOAT(double); break;
    case OX_INT8: OX_TO_FLOAT(int8_t); break;
    case OX_UINT8: OX_TO_FLOAT(uint8_t); break;
    case OX_INT16: OX_TO_FLOAT(int16_t); break;
    case OX_UINT16: OX_TO_FLOAT(uint16_t); break;
    case OX_INT32: OX_TO_FLOAT(int32_t); break;
    case OX_UINT32: OX_TO_FLOAT(uint32_t); break;
    case OX_INT64: OX_TO_FLOAT(int64_t); break;
    case OX_UINT64: OX_TO_FLOAT(uint64_t); break;
    case OX_FLOAT16: {
        const uint16_t *p = v->data;
        for (int64_t i = 0; i < n; i++)
            dst[i] = ox_half_to_float(p[i]);
        break;
    }
    case OX_BFLOAT16: {
        const uint16_t *p = v->data;
        for (int64_t i = 0; i < n; i++)
            dst[i] = ox_bf16_to_float(p[i]);
        break;
    }
    default: memset(dst, 0, (size_t)n * sizeof(float)); break;
    }
}

#define OX_FROM_FLOAT_INT(T, LO, HI)                                                             \
    do {                                                                                         \
        T *p = v->data;                                                                          \
        for (int64_t i = 0; i < n; i++) {                                                        \
            double x = nearbyint((double)src[i]);                                                \
            p[i] = x != x ? (T)0 : x <= (double)(LO) ? (LO) : x >= (double)(HI) ? (HI) : (T)x;   \
        }                                                                                        \
    } while (0)

void ox_nn_from_float(ox_val *v, const float *src)
{
    const int64_t n = v->numel;
    switch (v->dtype) {
    case OX_FLOAT: memcpy(v->data, src, (size_t)n * sizeof(float)); break;
    case OX_DOUBLE: {
        double *p = v->data;
        for (int64_t i = 0; i < n; i++)
            p[i] = (double)src[i];
        break;
    }
    case OX_INT8: OX_FROM_FLOAT_INT(int8_t, INT8_MIN, INT8_MAX); break;
    case OX_UINT8: OX_FROM_FLOAT_INT(uint8_t, 0, UINT8_MAX); break;
    case OX_INT16: OX_FROM_FLOAT_INT(int16_t, INT16_MIN, INT16_MAX); break;
    case OX_UINT16: OX_FROM_FLOAT_INT(uint16_t, 0, UINT16_MAX); break;
    case OX_INT32: OX_FROM_FLOAT_INT(int32_t, INT32_MIN, INT32_MAX); break;
    case OX_UINT32: OX_FROM_FLOAT_INT(uint32_t, 0, UINT32_MAX); break;
    case OX_INT64: OX_FROM_FLOAT_INT(int64_t, INT64_MIN, INT64_MAX); break;
    case OX_UINT64: OX_FROM_FLOAT_INT(uint64_t, 0, UINT64_MAX); break;
    case OX_FLOAT16: {
        uint16_t *p = v->data;
        for (int64_t i = 0; i < n; i++)
            p[i] = ox_float_to_half(src[i]);
        break;
    }
    case OX_BFLOAT16: {
        uint16_t *p = v->data;
        for (int64_t i = 0; i < n; i++)
            p[i] = ox_float_to_bf16(src[i]);
        break;
    }
    default: break;
    }
}

static int read_dims(const ox_node *n, const char *name, int64_t *dst, int cnt, int64_t dflt,
                     int64_t min, ckpt_error *err)
{
    size_t c;
    const int64_t *v = ox_attr_ints(n, name, &c);
    if (!v) {
        for (int i = 0; i < cnt; i++)
            dst[i] = dflt;
        return 0;
    }
    if (c != (size_t)cnt)
        return ox_fail(err, CKPT_E_SHAPE, n, "%s has %zu values, expected %d", name, c, cnt);
    for (int i = 0; i < cnt; i++) {
        if (v[i] < min || v[i] > INT32_MAX)
            return ox_fail(err, CKPT_E_SHAPE, n, "%s[%d] = %lld is out of range", name, i,
                           (long long)v[i]);
        dst[i] = v[i];
    }
    return 0;
}

int ox_nn_geom_attrs(const ox_node *n, ox_nn_geom *g, int nd, const int64_t *in,
                     const int64_t *kernel, int *autopad, ckpt_error *err)
{
    if (nd < 1 || nd > CKPT_NN_MAX_ND)
        return ox_fail(err, CKPT_E_SHAPE, n, "%d spatial dims (1..%d supported)", nd,
                       CKPT_NN_MAX_ND);
    memset(g, 0, sizeof *g);
    g->nd = nd;
    for (int i = 0; i < nd; i++)
        g->in[i] = in[i];
    size_t nk;
    const int64_t *ks = ox_attr_ints(n, "kernel_shape", &nk);
    if (ks || !kernel) {
        if (!ks)
            return ox_fail(err, CKPT_E_ARG, n, "kernel_shape is required");
        CKPT_TRY(read_dims(n, "kernel_shape", g->k, nd, 1, 1, err));
    } else {
        for (int i = 0; i < nd; i++)
            g->k[i] = kernel[i];
    }
    CKPT_TRY(read_dims(n, "strides", g->s, nd, 1, 1, err));
    CKPT_TRY(read_dims(n, "dilations", g->d, nd, 1, 1, err));
    int64_t pads[2 * CKPT_NN_MAX_ND];
    CKPT_TRY(read_dims(n, "pads", pads, 2 * nd, 0, INT32_MIN, err));
    for (int i = 0; i < nd; i++) {
        g->pb[i] = pads[i];
        g->pe[i] = pads[nd + i];
    }
    const char *ap = ox_attr_str(n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "NOTSET") || !*ap)
        *autopad = OX_PAD_NOTSET;
    else if (!strcmp(ap, "VALID"))
        *autopad = OX_PAD_VALID;
    else if (!strcmp(ap, "SAME_UPPER"))
        *autopad = OX_PAD_SAME_UPPER;
    else if (!strcmp(ap, "SAME_LOWER"))
        *autopad = OX_PAD_SAME_LOWER;
    else
        return ox_fail(err, CKPT_E_ARG, n, "unknown auto_pad '%s'", ap);
    return 0;
}

int ox_nn_geom_fill(const ox_node *n, ox_nn_geom *g, int nd, const int64_t *in,
                    const int64_t *kernel, bool pool, ckpt_error *err)
{
    int ap;
    CKPT_TRY(ox_nn_geom_attrs(n, g, nd, in, kernel, &ap, err));
    const bool ceil = pool && ox_attr_int(n, "ceil_mode", 0) != 0;
    for (int i = 0; i < nd; i++) {
        const int64_t dk = (g->k[i] - 1) * g->d[i] + 1, s = g->s[i];
        if (g->pb[i] < 0 || g->pe[i] < 0)
            return ox_fail(err, CKPT_E_SHAPE, n, "negative pads");
        if (ap == OX_PAD_SAME_UPPER || ap == OX_PAD_SAME_LOWER) {
            int64_t o = (in[i] + s - 1) / s;
            int64_t tot = (o - 1) * s + dk - in[i];
            tot = tot < 0 ? 0 : tot;
            g->pb[i] = ap == OX_PAD_SAME_UPPER ? tot / 2 : tot - tot / 2;
            g->pe[i] = tot - g->pb[i];
            g->out[i] = o;
            continue;
        }
        if (ap == OX_PAD_VALID)
            g->pb[i] = g->pe[i] = 0;
        int64_t num = in[i] + g->pb[i] + g->pe[i] - dk;
        if (num < 0)
            return ox_fail(err, CKPT_E_SHAPE, n,
                           "spatial dim %d: input %lld with padding is smaller than the kernel "
                           "extent %lld",
                           i, (long long)in[i], (long long)dk);
        int64_t o = (ceil ? (num + s - 1) / s : num / s) + 1;
        if (ceil && (o - 1) * s >= in[i] + g->pb[i])
            o--;
        g->out[i] = o;
    }
    return 0;
}

int ox_nn_check_gemm(const ox_node *n, int64_t m, int64_t nn, int64_t k, ckpt_error *err)
{
    if (m > INT32_MAX || nn > INT32_MAX || k > INT32_MAX)
        return ox_fail(err, CKPT_E_LIMIT, n,
                       "a product of (%lld x %lld) by (%lld x %lld) passes the BLAS int range",
                       (long long)m, (long long)k, (long long)k, (long long)nn);
    return 0;
}

int ox_nn_check_ws(const ox_node *n, int64_t rows, int64_t cols, ckpt_error *err)
{
    if (rows > INT32_MAX || cols > INT32_MAX || (rows > 0 && cols > (INT64_C(1) << 40) / rows))
        return ox_fail(err, CKPT_E_LIMIT, n, "scratch of %lld x %lld floats passes the limit",
                       (long long)rows, (long long)cols);
    return 0;
}
