/* src/onnx/ops_reduce.c - ONNX kernels: the Reduce* family, ArgMax / ArgMin,
 * and the element-conversion helpers the family's other files share
 * (reduce_util.h).  The op table of the whole family is at the end; the
 * softmax and normalisation kernels are in reduce_norm.c, the losses in
 * reduce_loss.c, Einsum and Det in reduce_linalg.c.
 *
 * Reductions walk the input once in memory order over its dimensions with
 * adjacent reduced / kept axes merged, so a reduction over trailing axes is a
 * row sum and one over leading axes a vectorisable column sum.  Floating
 * types accumulate in double (float32 read in place, float16 / bfloat16
 * widened first), integer types in int64. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/onnx_internal.h"
#include "onnx/reduce_util.h"

/* ------------------------------------------------------------ conversions */

int rd_check_io(const ox_node *n, ox_val *const *in, ox_val *const *out, ckpt_error *err)
{
    if (n->n_in < 1 || !in[0])
        return ox_fail(err, CKPT_E_ARG, n, "input 0 is required");
    if (n->n_out < 1 || !out[0])
        return ox_fail(err, CKPT_E_ARG, n, "output 0 is required");
    return 0;
}

bool rd_is_floating(int dt)
{
    return dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_BFLOAT16;
}

bool rd_is_integer(int dt)
{
    switch (dt) {
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

int64_t rd_prod(const int64_t *dims, int lo, int hi)
{
    int64_t p = 1;
    for (int i = lo; i < hi; i++)
        p *= dims[i];
    return p;
}

#define RD_LOAD_CASE(CODE, T, DST, CAST)                                                         \
    case CODE: {                                                                                 \
        const T *p = (const T *)v->data;                                                         \
        for (int64_t i = 0; i < n; i++)                                                          \
            DST[i] = CAST p[i];                                                                  \
        break;                                                                                   \
    }

void rd_load_f64(const ox_val *v, double *dst)
{
    const int64_t n = v->numel;
    switch (v->dtype) {
        RD_LOAD_CASE(OX_FLOAT, float, dst, (double))
        RD_LOAD_CASE(OX_DOUBLE, double, dst, (double))
        RD_LOAD_CASE(OX_INT8, int8_t, dst, (double))
        RD_LOAD_CASE(OX_UINT8, uint8_t, dst, (double))
        RD_LOAD_CASE(OX_INT16, int16_t, dst, (double))
        RD_LOAD_CASE(OX_UINT16, uint16_t, dst, (double))
        RD_LOAD_CASE(OX_INT32, int32_t, dst, (double))
        RD_LOAD_CASE(OX_UINT32, uint32_t, dst, (double))
        RD_LOAD_CASE(OX_INT64, int64_t, dst, (double))
        RD_LOAD_CASE(OX_UINT64, uint64_t, dst, (double))
        RD_LOAD_CASE(OX_BOOL, uint8_t, dst, (double))
    case OX_FLOAT16:
        for (int64_t i = 0; i < n; i++)
            dst[i] = (double)ox_half_to_float(((const uint16_t *)v->data)[i]);
        break;
    case OX_BFLOAT16:
        for (int64_t i = 0; i < n; i++)
            dst[i] = (double)ox_bf16_to_float(((const uint16_t *)v->data)[i]);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            dst[i] = 0.0;
    }
}

void rd_load_i64(const ox_val *v, int64_t *dst)
{
    const int64_t n = v->numel;
    switch (v->dtype) {
        RD_LOAD_CASE(OX_INT8, int8_t, dst, (int64_t))
        RD_LOAD_CASE(OX_UINT8, uint8_t, dst, (int64_t))
        RD_LOAD_CASE(OX_INT16, int16_t, dst, (int64_t))
        RD_LOAD_CASE(OX_UINT16, uint16_t, dst, (int64_t))
        RD_LOAD_CASE(OX_INT32, int32_t, dst, (int64_t))
        RD_LOAD_CASE(OX_UINT32, uint32_t, dst, (int64_t))
        RD_LOAD_CASE(OX_INT64, int64_t, dst, (int64_t))
        RD_LOAD_CASE(OX_UINT64, uint64_t, dst, (int64_t))
        RD_LOAD_CASE(OX_BOOL, uint8_t, dst, (int64_t))
    default:
        for (int64_t i = 0; i < n; i++)
            dst[i] = (int64_t)ox_get_f64(v, i);
    }
}

#define RD_STORE_CASE(CODE, T, SRC)                                                              \
    case CODE: {                                                                                 \
        T *p = (T *)v->data;                                                                     \
        for (int64_t i = 0; i < n; i++)                                                          \
            p[i] = (T)SRC[i];                                                                    \
        break;                                                                                   \
    }

void rd_store_f64(ox_val *v, const double *src)
{
    const int64_t n = v->numel;
    switch (v->dtype) {
        RD_STORE_CASE(OX_FLOAT, float, src)
        RD_STORE_CASE(OX_DOUBLE, double, src)
    case OX_FLOAT16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)v->data)[i] = ox_float_to_half((float)src[i]);
        break;
    case OX_BFLOAT16:
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)v->data)[i] = ox_float_to_bf16((float)src[i]);
        break;
    default:
        for (int64_t i = 0; i < n; i++)
            ox_set_f64(v, i, src[i]);
    }
}

void rd_store_i64(ox_val *v, const int64_t *src)
{
    const int64_t n = v->numel;
    switch (v->dtype) {
        RD_STORE_CASE(OX_INT8, int8_t, src)
        RD_STORE_CASE(OX_UINT8, uint8_t, src)
        RD_STORE_CASE(OX_INT16, int16_t, src)
        RD_STORE_CASE(OX_UINT16, uint16_t, src)
        RD_STORE_CASE(OX_INT32, int32_t, src)
        RD_STORE_CASE(OX_UINT32, uint32_t, src)
        RD_STORE_CASE(OX_INT64, int64_t, src)
        RD_STORE_CASE(OX_UINT64, uint64_t, src)
    default:
        for (int64_t i = 0; i < n; i++)
            ox_set_f64(v, i, (double)src[i]);
    }
}

double *rd_scratch_f64(ox_run *r, const ox_val *v, ckpt_error *err)
{
    double *d = ox_scratch(r, (size_t)(v->numel > 0 ? v->numel : 1) * sizeof(double), err);
    if (d)
        rd_load_f64(v, d);
    return d;
}

/* ------------------------------------------------------------ reduction core */

void rd_make_plan(int rank, const int64_t *dims, const bool *red, rd_plan *p)
{
    p->rank = 0;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 1)
            continue;
        if (p->rank > 0 && p->red[p->rank - 1] == red[i]) {
            p->dims[p->rank - 1] *= dims[i];
        } else {
            p->dims[p->rank] = dims[i];
            p->red[p->rank] = red[i];
            p->rank++;
        }
    }
    if (p->rank == 0) {
        p->rank = 1;
        p->dims[0] = 1;
        p->red[0] = false;
    }
    int64_t s = 1;
    for (int i = p->rank - 1; i >= 0; i--) {
        p->ostride[i] = p->red[i] ? 0 : s;
        if (!p->red[i])
            s *= p->dims[i];
    }
}

/* One innermost run of n input elements x: into acc[0] (scalar) or
 * element-wise into acc[0..n) (aux: the running maxima for RD_EXPSUM). */
#define RD_ROW(FN, T, A)                                                                         \
    static void FN(int op, A *acc, bool scalar, const A *aux, const T *x, int64_t n)             \
    {                                                                                            \
        if (scalar) {                                                                            \
            A s = acc[0];                                                                        \
            switch (op) {                                                                        \
            case RD_SUM:                                                                         \
            case RD_L1:                                                                          \
            case RD_SSQ: {                                                                       \
                /* eight independent chains (latency, not a dependent add per element) */        \
                A t[8] = {0, 0, 0, 0, 0, 0, 0, 0};                                               \
                int64_t j = 0;                                                                   \
                if (op == RD_SUM) {                                                              \
                    for (; j + 8 <= n; j += 8)                                                   \
                        for (int q = 0; q < 8; q++)                                              \
                            t[q] += (A)x[j + q];                                                 \
                    for (; j < n; j++)                                                           \
                        t[0] += (A)x[j];                                                         \
                } else if (op == RD_L1) {                                                        \
                    for (; j + 8 <= n; j += 8)                                                   \
                        for (int q = 0; q < 8; q++) {                                            \
                            A v = (A)x[j + q];                                                   \
                            t[q] += v < 0 ? -v : v;                                              \
                        }                                                                        \
                    for (; j < n; j++) {                                                         \
                        A v = (A)x[j];                                                           \
                        t[0] += v < 0 ? -v : v;                                                  \
                    }                                                                            \
                } else {                                                                         \
                    for (; j + 8 <= n; j += 8)                                                   \
                        for (int q = 0; q < 8; q++)                                              \
                            t[q] += (A)x[j + q] * (A)x[j + q];                                   \
                    for (; j < n; j++)                                                           \
                        t[0] += (A)x[j] * (A)x[j];                                               \
                }                                                                                \
                s += ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));          \
                break;                                                                           \
            }                                                                                    \
            case RD_PROD:                                                                        \
                for (int64_t j = 0; j < n; j++)                                                  \
                    s *= (A)x[j];                                                                \
                break;                                                                           \
            case RD_MAX:                                                                         \
                for (int64_t j = 0; j < n; j++) {                                                \
                    A v = (A)x[j];                                                               \
                    s = (v > s || v != v) && s == s ? v : s;                                     \
                }                                                                                \
                break;                                                                           \
            case RD_MIN:                                                                         \
                for (int64_t j = 0; j < n; j++) {                                                \
                    A v = (A)x[j];                                                               \
                    s = (v < s || v != v) && s == s ? v : s;                                     \
                }                                                                                \
                break;                                                                           \
            default:                                                                             \
                for (int64_t j = 0; j < n; j++)                                                  \
                    s += (A)exp((double)((A)x[j] - aux[0]));                                     \
                break;                                                                           \
            }                                                                                    \
            acc[0] = s;                                                                          \
            return;                                                                              \
        }                                                                                        \
        switch (op) {                                                                            \
        case RD_SUM:                                                                             \
            for (int64_t j = 0; j < n; j++)                                                      \
                acc[j] += (A)x[j];                                                               \
            break;                                                                               \
        case RD_L1:                                                                              \
            for (int64_t j = 0; j < n; j++) {                                                    \
                A v = (A)x[j];                                                                   \
                acc[j] += v < 0 ? -v : v;                                                        \
            }                                                                                    \
            break;                                                                               \
        case RD_SSQ:                                                                             \
            for (int64_t j = 0; j < n; j++)                                                      \
                acc[j] += (A)x[j] * (A)x[j];                                                     \
            break;                                                                               \
        case RD_PROD:                                                                            \
            for (int64_t j = 0; j < n; j++)                                                      \
                acc[j] *= (A)x[j];                                                               \
            break;                                                                               \
        case RD_MAX:                                                                             \
            for (int64_t j = 0; j < n; j++) {                                                    \
                A v = (A)x[j], s = acc[j];                                                       \
                acc[j] = (v > s || v != v) && s == s ? v : s;                                    \
            }                                                                                    \
            break;                                                                               \
        case RD_MIN:                                                                             \
            for (int64_t j = 0; j < n; j++) {                                                    \
                A v = (A)x[j], s = acc[j];                                                       \
                acc[j] = (v < s || v != v) && s == s ? v : s;                                    \
            }                                                                                    \
            break;                                                                               \
        default:                                                                                 \
            for (int64_t j = 0; j < n; j++)                                                      \
                acc[j] += (A)exp((double)((A)x[j] - aux[j]));                                    \
            break;                                                                               \
        }                                                                                        \
    }

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wfloat-equal"
#pragma GCC diagnostic ignored "-Wtautological-compare"
#endif
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wfloat-equal"
#pragma clang diagnostic ignored "-Wtautological-compare"
#endif
RD_ROW(rd_row_f32, float, double)
RD_ROW(rd_row_f64, double, double)
RD_ROW(rd_row_i64, int64_t, int64_t)
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

/* Walk the whole input in memory order (odometer over the plan's axes but
 * the last), feeding innermost runs to the row function. */
#define RD_WALK(FN, ROW, T, A)                                                                   \
    static void FN(int op, A *acc, const A *aux, const T *x, const rd_plan *p)                   \
    {                                                                                            \
        const int last = p->rank - 1;                                                            \
        const int64_t n = p->dims[last];                                                         \
        const bool scalar = p->red[last];                                                        \
        int64_t idx[OX_MAX_RANK] = {0};                                                          \
        int64_t rows = 1, ooff = 0;                                                              \
        for (int i = 0; i < last; i++)                                                           \
            rows *= p->dims[i];                                                                  \
        for (int64_t r = 0; r < rows; r++) {                                                     \
            ROW(op, acc + ooff, scalar, aux ? aux + ooff : NULL, x + r * n, n);                  \
            for (int i = last - 1; i >= 0; i--) {                                                \
                ooff += p->ostride[i];                                                           \
                if (++idx[i] < p->dims[i])                                                       \
                    break;                                                                       \
                ooff -= p->ostride[i] * p->dims[i];                                              \
                idx[i] = 0;                                                                      \
            }                                                                                    \
        }                                                                                        \
    }

RD_WALK(rd_walk_f32, rd_row_f32, float, double)
RD_WALK(rd_walk_f64_, rd_row_f64, double, double)
RD_WALK(rd_walk_i64, rd_row_i64, int64_t, int64_t)

void rd_walk_f64(int op, double *acc, const double *aux, const double *x, const rd_plan *p)
{
    rd_walk_f64_(op, acc, aux, x, p);
}

/* ------------------------------------------------------------ Reduce* ops */

enum { RK_SUM, RK_MEAN, RK_MAX, RK_MIN, RK_PROD, RK_L1, RK_L2, RK_LOGSUM, RK_LSE, RK_SSQ };

/* The accumulation each reduction runs. */
static int rk_acc_op(int kind)
{
    switch (kind) {
    case RK_MAX: return RD_MAX;
    case RK_MIN: return RD_MIN;
    case RK_PROD: return RD_PROD;
    case RK_L1: return RD_L1;
    case RK_L2:
    case RK_SSQ: return RD_SSQ;
    default: return RD_SUM;
    }
}

static double rk_init_f(int op)
{
    switch (op) {
    case RD_PROD: return 1.0;
    case RD_MAX: return -(double)INFINITY;
    case RD_MIN: return (double)INFINITY;
    default: return 0.0;
    }
}

static int64_t rk_init_i(int op)
{
    switch (op) {
    case RD_PROD: return 1;
    case RD_MAX: return INT64_MIN;
    case RD_MIN: return INT64_MAX;
    default: return 0;
    }
}

/* The axes a Reduce* node reduces: the attribute before the opset where they
 * became an input (13 for ReduceSum, 18 for the others).  Sets red[] and
 * returns 0.  No axes: all of them, or none with noop_with_empty_axes (each
 * element then reduced alone: x for Sum, x*x for SumSquare, |x| for L1...,
 * as ONNX Runtime does). */
static int rk_axes(const ox_node *n, ox_val *const *in, int rank, bool *red, ckpt_error *err)
{
    int64_t axes[OX_MAX_RANK];
    int64_t na = 0;
    const bool sum = !strcmp(n->op_type, "ReduceSum");
    const bool as_input = n->opset >= (sum ? 13 : 18);
    if (as_input) {
        if (n->n_in > 1 && in[1] && in[1]->kind == OX_KIND_TENSOR) {
            na = ox_read_ints(n, in[1], axes, OX_MAX_RANK, err);
            if (na < 0)
                return (int)na;
        }
    } else {
        size_t cnt = 0;
        const int64_t *a = ox_attr_ints(n, "axes", &cnt);
        if (cnt > OX_MAX_RANK)
            return ox_fail(err, CKPT_E_LIMIT, n, "%zu axes (at most %d)", cnt, OX_MAX_RANK);
        for (size_t i = 0; i < cnt; i++)
            axes[i] = a[i];
        na = (int64_t)cnt;
    }
    if (na == 0) {
        bool nop = ox_attr_int(n, "noop_with_empty_axes", 0) != 0;
        for (int i = 0; i < rank; i++)
            red[i] = !nop;
        return 0;
    }
    for (int i = 0; i < rank; i++)
        red[i] = false;
    for (int64_t i = 0; i < na; i++) {
        int ax;
        CKPT_TRY(ox_axis(n, axes[i], rank, false, &ax, err));
        if (red[ax])
            return ox_fail(err, CKPT_E_ARG, n, "axis %lld repeated", (long long)axes[i]);
        red[ax] = true;
    }
    return 0;
}

static int k_reduce(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, int kind,
                    ckpt_error *err)
{
    CKPT_TRY(rd_check_io(n, in, out, err));
    const ox_val *x = in[0];
    if (!x || x->kind != OX_KIND_TENSOR)
        return ox_fail(err, CKPT_E_ARG, n, "input 0 must be a tensor");
    if (!rd_is_floating(x->dtype) && !rd_is_integer(x->dtype))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element type %s", ox_dtype_name(x->dtype));
    /* integer L2 / LogSum / LogSumExp: computed in double, truncated */
    const bool flt = rd_is_floating(x->dtype) || kind == RK_L2 || kind == RK_LOGSUM ||
                     kind == RK_LSE;
    bool red[OX_MAX_RANK];
    CKPT_TRY(rk_axes(n, in, x->rank, red, err));
    const bool keep = ox_attr_int(n, "keepdims", 1) != 0;
    int64_t od[OX_MAX_RANK];
    int orank = 0;
    double cnt = 1.0;
    for (int i = 0; i < x->rank; i++) {
        if (red[i]) {
            cnt *= (double)x->dims[i];
            if (keep)
                od[orank++] = 1;
        } else {
            od[orank++] = x->dims[i];
        }
    }
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, orank, od, err));
    ox_val *y = out[0];
    const int64_t on = y->numel;
    if (on == 0)
        return 0;
    const int op = rk_acc_op(kind);
    rd_plan p;
    rd_make_plan(x->rank, x->dims, red, &p);
    if (flt) {
        /* one scratch block: accumulators, maxima, the input widened to double
         * when it is neither float nor double */
        const bool widen = x->dtype != OX_FLOAT && x->dtype != OX_DOUBLE && x->numel > 0;
        size_t cnt_d = (size_t)on * 2 + (widen ? (size_t)x->numel : 0);
        double *acc = ox_scratch(r, cnt_d * sizeof(double), err);
        if (!acc)
            return RD_ERR(err);
        double *mx = acc + on;
        const double *xd = NULL;
        if (widen) {
            double *t = mx + on;
            rd_load_f64(x, t);
            xd = t;
        } else if (x->dtype == OX_DOUBLE) {
            xd = (const double *)x->data;
        }
        const int first = kind == RK_LSE ? RD_MAX : op;
        for (int64_t i = 0; i < on; i++)
            acc[i] = rk_init_f(first);
        if (x->numel > 0) {
            if (xd)
                rd_walk_f64(first, acc, NULL, xd, &p);
            else
                rd_walk_f32(first, acc, NULL, (const float *)x->data, &p);
        }
        if (kind == RK_LSE) {
            for (int64_t i = 0; i < on; i++) {
                mx[i] = acc[i];
                /* an infinite (or NaN) maximum is the result itself */
                if (!isfinite(mx[i]))
                    mx[i] = 0.0;
                acc[i] = 0.0;
            }
            if (x->numel > 0) {
                if (xd)
                    rd_walk_f64(RD_EXPSUM, acc, mx, xd, &p);
                else
                    rd_walk_f32(RD_EXPSUM, acc, mx, (const float *)x->data, &p);
            }
        }
        for (int64_t i = 0; i < on; i++) {
            double v = acc[i];
            switch (kind) {
            case RK_MEAN: v = v / cnt; break;
            case RK_L2: v = sqrt(v); break;
            case RK_LOGSUM: v = log(v); break;
            case RK_LSE: v = mx[i] + log(v); break;
            default: break;
            }
            acc[i] = v;
        }
        rd_store_f64(y, acc);
        return 0;
    }
    const bool widen = x->dtype != OX_INT64 && x->dtype != OX_UINT64 && x->numel > 0;
    int64_t *acc = ox_scratch(r, ((size_t)on + (widen ? (size_t)x->numel : 0)) * sizeof(int64_t),
                              err);
    if (!acc)
        return RD_ERR(err);
    const int64_t *xi = (const int64_t *)x->data;
    if (widen) {
        rd_load_i64(x, acc + on);
        xi = acc + on;
    }
    for (int64_t i = 0; i < on; i++)
        acc[i] = rk_init_i(op);
    if (x->numel > 0)
        rd_walk_i64(op, acc, NULL, xi, &p);
    for (int64_t i = 0; i < on; i++) {
        if (kind == RK_MEAN)
            acc[i] = cnt > 0 ? acc[i] / (int64_t)cnt : 0;
        else if ((kind == RK_MAX || kind == RK_MIN) && x->numel == 0)
            acc[i] = 0;
    }
    rd_store_i64(y, acc);
    return 0;
}

#define RK_KERNEL(FN, KIND)                                                                      \
    static int FN(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,            \
                  ckpt_error *err)                                                               \
    {                                                                                            \
        return k_reduce(r, n, in, out, KIND, err);                                               \
    }
RK_KERNEL(k_reduce_sum, RK_SUM)
RK_KERNEL(k_reduce_mean, RK_MEAN)
RK_KERNEL(k_reduce_max, RK_MAX)
RK_KERNEL(k_reduce_min, RK_MIN)
RK_KERNEL(k_reduce_prod, RK_PROD)
RK_KERNEL(k_reduce_l1, RK_L1)
RK_KERNEL(k_reduce_l2, RK_L2)
RK_KERNEL(k_reduce_logsum, RK_LOGSUM)
RK_KERNEL(k_reduce_lse, RK_LSE)
RK_KERNEL(k_reduce_ssq, RK_SSQ)

/* ------------------------------------------------------------ ArgMax / ArgMin */

/* Index of the extreme along the middle axis of (outer, d, inner); the
 * first NaN wins, as numpy's argmax / argmin. */
#define ARG_SCAN(FN, T)                                                                          \
    static void FN(int64_t *y, const T *v, int64_t outer, int64_t d, int64_t inner, bool is_max, \
                   bool last)                                                                    \
    {                                                                                            \
        for (int64_t o = 0; o < outer; o++) {                                                    \
            for (int64_t j = 0; j < inner; j++) {                                                \
                const T *p = v + o * d * inner + j;                                              \
                T best = p[0];                                                                   \
                int64_t bi = 0;                                                                  \
                for (int64_t i = 1; i < d && !isnan(best); i++) {                                \
                    T c = p[i * inner];                                                          \
                    bool better = isnan(c) || (is_max ? (last ? c >= best : c > best)            \
                                                      : (last ? c <= best : c < best));          \
                    if (better) {                                                                \
                        best = c;                                                                \
                        bi = i;                                                                  \
                    }                                                                            \
                }                                                                                \
                y[o * inner + j] = bi;                                                           \
            }                                                                                    \
        }                                                                                        \
    }
ARG_SCAN(arg_scan_f32, float)
ARG_SCAN(arg_scan_f64, double)

static int k_arg(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, bool is_max,
                 ckpt_error *err)
{
    CKPT_TRY(rd_check_io(n, in, out, err));
    const ox_val *x = in[0];
    if (!x || x->kind != OX_KIND_TENSOR)
        return ox_fail(err, CKPT_E_ARG, n, "input 0 must be a tensor");
    if (!rd_is_floating(x->dtype) && !rd_is_integer(x->dtype))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element type %s", ox_dtype_name(x->dtype));
    int rank = x->rank;
    int ax;
    CKPT_TRY(ox_axis(n, ox_attr_int(n, "axis", 0), rank > 0 ? rank : 1, false, &ax, err));
    const bool keep = ox_attr_int(n, "keepdims", 1) != 0;
    const bool last = ox_attr_int(n, "select_last_index", 0) != 0;
    int64_t d = rank > 0 ? x->dims[ax] : 1;
    if (d == 0)
        return ox_fail(err, CKPT_E_SHAPE, n, "arg%s over an empty axis", is_max ? "max" : "min");
    int64_t od[OX_MAX_RANK];
    int orank = 0;
    for (int i = 0; i < rank; i++) {
        if (i == ax) {
            if (keep)
                od[orank++] = 1;
        } else {
            od[orank++] = x->dims[i];
        }
    }
    CKPT_TRY(ox_out(r, n, out[0], OX_INT64, orank, od, err));
    int64_t *y = out[0]->data;
    const int64_t outer = rank > 0 ? rd_prod(x->dims, 0, ax) : 1;
    const int64_t inner = rank > 0 ? rd_prod(x->dims, ax + 1, rank) : 1;
    if (x->numel == 0)
        return 0;
    if (x->dtype == OX_FLOAT) {
        arg_scan_f32(y, x->data, outer, d, inner, is_max, last);
        return 0;
    }
    if (rd_is_floating(x->dtype)) {
        const double *v = rd_scratch_f64(r, x, err);
        if (!v)
            return RD_ERR(err);
        arg_scan_f64(y, v, outer, d, inner, is_max, last);
        return 0;
    }
    int64_t *v = ox_scratch(r, (size_t)x->numel * sizeof(int64_t), err);
    if (!v)
        return RD_ERR(err);
    rd_load_i64(x, v);
    const bool uns = x->dtype == OX_UINT64;
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < inner; j++) {
            const int64_t *p = v + o * d * inner + j;
            int64_t best = p[0], bi = 0;
            for (int64_t i = 1; i < d; i++) {
                int64_t c = p[i * inner];
                int cmp = uns ? ((uint64_t)c > (uint64_t)best) - ((uint64_t)c < (uint64_t)best)
                              : (c > best) - (c < best);
                if (!is_max)
                    cmp = -cmp;
                if (cmp > 0 || (last && cmp == 0)) {
                    best = c;
                    bi = i;
                }
            }
            y[o * inner + j] = bi;
        }
    }
    return 0;
}

static int k_argmax(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                    ckpt_error *err)
{
    return k_arg(r, n, in, out, true, err);
}

static int k_argmin(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                    ckpt_error *err)
{
    return k_arg(r, n, in, out, false, err);
}

/* ------------------------------------------------------------ table */

const ox_op ox_ops_reduce[] = {
    {"ReduceSum", "", 1, 0, k_reduce_sum, NULL},
    {"ReduceMean", "", 1, 0, k_reduce_mean, NULL},
    {"ReduceMax", "", 1, 0, k_reduce_max, NULL},
    {"ReduceMin", "", 1, 0, k_reduce_min, NULL},
    {"ReduceProd", "", 1, 0, k_reduce_prod, NULL},
    {"ReduceL1", "", 1, 0, k_reduce_l1, NULL},
    {"ReduceL2", "", 1, 0, k_reduce_l2, NULL},
    {"ReduceLogSum", "", 1, 0, k_reduce_logsum, NULL},
    {"ReduceLogSumExp", "", 1, 0, k_reduce_lse, NULL},
    {"ReduceSumSquare", "", 1, 0, k_reduce_ssq, NULL},
    {"ArgMax", "", 1, 0, k_argmax, NULL},
    {"ArgMin", "", 1, 0, k_argmin, NULL},
    {"Softmax", "", 1, 0, ox_k_softmax, NULL},
    {"LogSoftmax", "", 1, 0, ox_k_logsoftmax, NULL},
    {"Hardmax", "", 1, 0, ox_k_hardmax, NULL},
    {"LayerNormalization", "", 1, 0, ox_k_layernorm, NULL},
    {"BatchNormalization", "", 1, 0, ox_k_batchnorm, NULL},
    {"InstanceNormalization", "", 1, 0, ox_k_instancenorm, NULL},
    {"GroupNormalization", "", 18, 0, ox_k_groupnorm, NULL},
    {"LRN", "", 1, 0, ox_k_lrn, NULL},
    {"MeanVarianceNormalization", "", 1, 0, ox_k_mvn, NULL},
    {"LpNormalization", "", 1, 0, ox_k_lpnorm, NULL},
    {"NegativeLogLikelihoodLoss", "", 12, 0, ox_k_nllloss, NULL},
    {"SoftmaxCrossEntropyLoss", "", 12, 0, ox_k_sceloss, NULL},
    {"Einsum", "", 12, 0, ox_k_einsum, NULL},
    {"Det", "", 11, 0, ox_k_det, NULL},
    {0},
};
