/* src/onnx/ops_nn.c - ONNX kernels: matrix products (MatMul, Gemm),
 * Dropout, and the table of the nn family (convolution and pooling in
 * nn_conv.c, the quantized forms in nn_quant.c).
 *
 * float32 products are one cblas_sgemm (or sgemv for a single row) over the
 * operands in place: Gemm's transA/transB become BLAS transpose flags, a
 * batched MatMul whose B is one matrix is one sgemm over all rows of A.
 * double goes to dgemm; float16/bfloat16 are widened to float32 and rounded
 * back; integer types use a plain loop.  Threads: OpenBLAS's (process-wide)
 * thread count is set to the session's before each product (nn_util.c). */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ckpt/kernels.h"
#include "core/err.h"
#include "onnx/nn_util.h"
#include "onnx/onnx_internal.h"

/* C (M,N) = op(A) op(B) * alpha + beta * C, float32, row-major */
static void sgemm(bool ta, bool tb, int64_t m, int64_t nn, int64_t k, float alpha, const float *a,
                  int64_t lda, const float *b, int64_t ldb, float beta, float *c)
{
    if (m == 1) {
        /* one row: y (N) = op(B)^T a, a contiguous whatever transA says */
        if (tb)
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)nn, (int)k, alpha, b, (int)ldb, a, 1,
                        beta, c, 1);
        else
            cblas_sgemv(CblasRowMajor, CblasTrans, (int)k, (int)nn, alpha, b, (int)ldb, a, 1,
                        beta, c, 1);
        return;
    }
    if (nn == 1) {
        /* one column: c (M) = op(A) b, b contiguous whatever transB says */
        cblas_sgemv(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, (int)(ta ? k : m),
                    (int)(ta ? m : k), alpha, a, (int)lda, b, 1, beta, c, 1);
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                (int)m, (int)nn, (int)k, alpha, a, (int)lda, b, (int)ldb, beta, c, (int)nn);
}

static bool matmul_type(int dt)
{
    switch (dt) {
    case OX_FLOAT:
    case OX_DOUBLE:
    case OX_FLOAT16:
    case OX_BFLOAT16:
    case OX_INT32:
    case OX_INT64:
    case OX_UINT32:
    case OX_UINT64: return true;
    default: return false;
    }
}

/* integer C (M,N) = A (M,K) B (K,N) with wrap-around (as the int types of
 * numpy): through int64 / uint64 */
#define INT_MM(T)                                                                                \
    do {                                                                                         \
        const T *pa = (const T *)a, *pb = (const T *)b;                                          \
        T *pc = (T *)c;                                                                          \
        for (int64_t i = 0; i < m; i++)                                                          \
            for (int64_t j = 0; j < nn; j++) {                                                   \
                uint64_t s = 0;                                                                  \
                for (int64_t q = 0; q < k; q++)                                                  \
                    s += (uint64_t)pa[i * k + q] * (uint64_t)pb[q * nn + j];                     \
                pc[i * nn + j] = (T)s;                                                           \
            }                                                                                    \
    } while (0)

static void int_mm(int dt, const void *a, const void *b, void *c, int64_t m, int64_t nn,
                   int64_t k)
{
    switch (dt) {
    case OX_INT32: INT_MM(int32_t); break;
    case OX_UINT32: INT_MM(uint32_t); break;
    case OX_INT64: INT_MM(int64_t); break;
    case OX_UINT64: INT_MM(uint64_t); break;
    default: break;
    }
}

/* Shapes of a MatMul (numpy matmul rules): A (...,M,K) or (K), B (...,K,N)
 * or (K); the batch dims broadcast.  Fills the output dims and, per output
 * batch index, nothing else: offsets are computed by the caller. */
typedef struct mm_shape {
    int64_t m, k, n;
    int br;                                   /* batch rank */
    int64_t bd[OX_MAX_RANK];                  /* batch dims */
    int64_t nb;                               /* batch count */
    int64_t sa[OX_MAX_RANK], sb[OX_MAX_RANK]; /* matrix strides of A, B per batch dim */
    int rank;
    int64_t od[OX_MAX_RANK];
    bool a_single, b_single; /* one matrix for every batch */
    bool a_full;             /* A's batch is the output batch (contiguous rows) */
} mm_shape;

static int mm_shape_of(const ox_node *n, const ox_val *a, const ox_val *b, mm_shape *s,
                       ckpt_error *err)
{
    if (a->rank < 1 || b->rank < 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "MatMul of a scalar");
    const int ra = a->rank, rb = b->rank;
    s->m = ra == 1 ? 1 : a->dims[ra - 2];
    s->k = a->dims[ra - 1];
    const int64_t kb = rb == 1 ? b->dims[0] : b->dims[rb - 2];
    s->n = rb == 1 ? 1 : b->dims[rb - 1];
    if (kb != s->k)
        return ox_fail(err, CKPT_E_SHAPE, n, "inner dims %lld and %lld differ", (long long)s->k,
                       (long long)kb);
    const int ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0;
    CKPT_TRY(ox_broadcast_shape(n, ba, a->dims, bb, b->dims, &s->br, s->bd, err));
    s->nb = ox_numel(s->br, s->bd);
    int64_t ma = 1, mb = 1;
    for (int i = s->br - 1; i >= 0; i--) {
        int ia = i - (s->br - ba), ib = i - (s->br - bb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        s->sa[i] = da == 1 ? 0 : ma;
        s->sb[i] = db == 1 ? 0 : mb;
        ma *= da;
        mb *= db;
    }
    s->a_single = ma == 1;
    s->b_single = mb == 1;
    s->a_full = ma == s->nb;
    s->rank = 0;
    for (int i = 0; i < s->br; i++)
        s->od[s->rank++] = s->bd[i];
    if (ra > 1)
        s->od[s->rank++] = s->m;
    if (rb > 1)
        s->od[s->rank++] = s->n;
    return 0;
}

/* matrix index of A and B for output batch e */
static void mm_offsets(const mm_shape *s, int64_t e, int64_t *oa, int64_t *ob)
{
    int64_t a = 0, b = 0;
    for (int i = s->br - 1; i >= 0; i--) {
        int64_t c = e % s->bd[i];
        e /= s->bd[i];
        a += c * s->sa[i];
        b += c * s->sb[i];
    }
    *oa = a;
    *ob = b;
}

static int k_matmul(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                    ckpt_error *err)
{
    const ox_val *a = in[0], *b = n->n_in > 1 ? in[1] : NULL;
    if (!a || !b || a->kind != OX_KIND_TENSOR || b->kind != OX_KIND_TENSOR)
        return ox_fail(err, CKPT_E_ARG, n, "needs two tensor inputs");
    if (a->dtype != b->dtype || !matmul_type(a->dtype))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element types %s / %s",
                       ox_dtype_name(a->dtype), ox_dtype_name(b->dtype));
    mm_shape s;
    CKPT_TRY(mm_shape_of(n, a, b, &s, err));
    const int dt = a->dtype;
    CKPT_TRY(ox_out(r, n, out[0], dt, s.rank, s.od, err));
    if (!out[0] || out[0]->numel == 0)
        return 0;
    const int64_t m = s.m, k = s.k, nn = s.n, asz = m * k, bsz = k * nn, csz = m * nn;
    CKPT_TRY(ox_nn_check_gemm(n, s.nb * m, nn, k, err));
    if (dt == OX_FLOAT || dt == OX_FLOAT16 || dt == OX_BFLOAT16) {
        const float *fa = a->data, *fb = b->data;
        float *fc = out[0]->data;
        if (dt != OX_FLOAT) {
            size_t tot = (size_t)(a->numel + b->numel + out[0]->numel);
            float *p = ox_scratch(r, tot * sizeof(float), err);
            if (!p)
                return CKPT_E_NOMEM;
            ox_nn_to_float(p, a);
            ox_nn_to_float(p + a->numel, b);
            fa = p;
            fb = p + a->numel;
            fc = p + a->numel + b->numel;
        }
        ox_nn_blas_threads_for(r, (s.b_single && s.a_full ? s.nb : 1) * m * nn * k);
        if (k == 0) {
            memset(fc, 0, (size_t)out[0]->numel * sizeof(float));
        } else if (s.b_single && s.a_full) {
            /* every batch of A against one B: one product over all rows */
            sgemm(false, false, s.nb * m, nn, k, 1.0f, fa, k, fb, nn, 0.0f, fc);
        } else {
            for (int64_t e = 0; e < s.nb; e++) {
                int64_t oa, ob;
                mm_offsets(&s, e, &oa, &ob);
                sgemm(false, false, m, nn, k, 1.0f, fa + oa * asz, k, fb + ob * bsz, nn, 0.0f,
                      fc + e * csz);
            }
        }
        if (dt != OX_FLOAT)
            ox_nn_from_float(out[0], fc);
        return 0;
    }
    if (dt == OX_DOUBLE) {
        const double *da = a->data, *db = b->data;
        double *dc = out[0]->data;
        ox_nn_blas_threads_for(r, (s.b_single && s.a_full ? s.nb : 1) * m * nn * k);
        if (k == 0) {
            memset(dc, 0, (size_t)out[0]->numel * sizeof(double));
            return 0;
        }
        for (int64_t e = 0; e < s.nb; e++) {
            int64_t oa, ob;
            mm_offsets(&s, e, &oa, &ob);
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)nn, (int)k, 1.0,
                        da + oa * asz, (int)k, db + ob * bsz, (int)nn, 0.0, dc + e * csz,
                        (int)nn);
        }
        return 0;
    }
    const size_t es = ox_dtype_size(dt);
    for (int64_t e = 0; e < s.nb; e++) {
        int64_t oa, ob;
        mm_offsets(&s, e, &oa, &ob);
        int_mm(dt, (const char *)a->data + (size_t)(oa * asz) * es,
               (const char *)b->data + (size_t)(ob * bsz) * es,
               (char *)out[0]->data + (size_t)(e * csz) * es, m, nn, k);
    }
    return 0;
}

/* ------------------------------------------------------------------ Gemm */

static int k_gemm(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    const ox_val *a = in[0], *b = n->n_in > 1 ? in[1] : NULL, *c = n->n_in > 2 ? in[2] : NULL;
    if (!a || !b || a->kind != OX_KIND_TENSOR || b->kind != OX_KIND_TENSOR)
        return ox_fail(err, CKPT_E_ARG, n, "needs inputs A and B");
    const int dt = a->dtype;
    if (b->dtype != dt || (c && c->dtype != dt) || !matmul_type(dt))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element types %s / %s",
                       ox_dtype_name(a->dtype), ox_dtype_name(b->dtype));
    if (a->rank != 2 || b->rank != 2)
        return ox_fail(err, CKPT_E_SHAPE, n, "A and B must be 2-d (ranks %d, %d)", a->rank,
                       b->rank);
    const bool ta = ox_attr_int(n, "transA", 0) != 0, tb = ox_attr_int(n, "transB", 0) != 0;
    const float alpha = ox_attr_float(n, "alpha", 1.0f), beta = ox_attr_float(n, "beta", 1.0f);
    const int64_t m = ta ? a->dims[1] : a->dims[0], k = ta ? a->dims[0] : a->dims[1];
    const int64_t kb = tb ? b->dims[1] : b->dims[0], nn = tb ? b->dims[0] : b->dims[1];
    if (k != kb)
        return ox_fail(err, CKPT_E_SHAPE, n, "inner dims %lld and %lld differ", (long long)k,
                       (long long)kb);
    /* C broadcasts to (M,N): strides 0 along its size-1 dims */
    int64_t cs0 = 0, cs1 = 0;
    if (c) {
        if (c->rank > 2)
            return ox_fail(err, CKPT_E_SHAPE, n, "C has rank %d", c->rank);
        int64_t c0 = c->rank == 2 ? c->dims[0] : 1, c1 = c->rank >= 1 ? c->dims[c->rank - 1] : 1;
        if ((c0 != 1 && c0 != m) || (c1 != 1 && c1 != nn))
            return ox_fail(err, CKPT_E_SHAPE, n, "C does not broadcast to (%lld, %lld)",
                           (long long)m, (long long)nn);
        cs1 = c1 == 1 ? 0 : 1;
        cs0 = c0 == 1 ? 0 : c1;
    }
    CKPT_TRY(ox_nn_check_gemm(n, m, nn, k, err));
    int64_t od[2] = {m, nn};
    CKPT_TRY(ox_out(r, n, out[0], dt, 2, od, err));
    if (!out[0] || out[0]->numel == 0)
        return 0;
    const bool use_c = c && beta != 0.0f;
    if (dt == OX_FLOAT || dt == OX_FLOAT16 || dt == OX_BFLOAT16) {
        const float *fa = a->data, *fb = b->data, *fc = c ? c->data : NULL;
        float *fo = out[0]->data;
        if (dt != OX_FLOAT) {
            size_t tot = (size_t)(a->numel + b->numel + (c ? c->numel : 0) + out[0]->numel);
            float *p = ox_scratch(r, tot * sizeof(float), err);
            if (!p)
                return CKPT_E_NOMEM;
            ox_nn_to_float(p, a);
            ox_nn_to_float(p + a->numel, b);
            fa = p;
            fb = p + a->numel;
            p += a->numel + b->numel;
            if (c) {
                ox_nn_to_float(p, c);
                fc = p;
                p += c->numel;
            }
            fo = p;
        }
        if (use_c) {
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < nn; j++)
                    fo[i * nn + j] = beta * fc[i * cs0 + j * cs1];
        }
        ox_nn_blas_threads_for(r, m * nn * k);
        if (k == 0) {
            if (!use_c)
                memset(fo, 0, (size_t)(m * nn) * sizeof(float));
        } else {
            sgemm(ta, tb, m, nn, k, alpha, fa, a->dims[1], fb, b->dims[1], use_c ? 1.0f : 0.0f,
                  fo);
        }
        if (dt != OX_FLOAT)
            ox_nn_from_float(out[0], fo);
        return 0;
    }
    if (dt == OX_DOUBLE) {
        const double *da = a->data, *db = b->data, *dc = c ? c->data : NULL;
        double *o = out[0]->data;
        if (use_c) {
            for (int64_t i = 0; i < m; i++)
                for (int64_t j = 0; j < nn; j++)
                    o[i * nn + j] = (double)beta * dc[i * cs0 + j * cs1];
        }
        ox_nn_blas_threads_for(r, m * nn * k);
        if (k == 0) {
            if (!use_c)
                memset(o, 0, (size_t)(m * nn) * sizeof(double));
        } else {
            cblas_dgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                        tb ? CblasTrans : CblasNoTrans, (int)m, (int)nn, (int)k, (double)alpha,
                        da, (int)a->dims[1], db, (int)b->dims[1], use_c ? 1.0 : 0.0, o, (int)nn);
        }
        return 0;
    }
    /* integers: through double, element by element */
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < nn; j++) {
            double sum = 0.0;
            for (int64_t q = 0; q < k; q++) {
                int64_t ia = ta ? q * m + i : i * k + q, ib = tb ? j * k + q : q * nn + j;
                sum += ox_get_f64(a, ia) * ox_get_f64(b, ib);
            }
            double v = (double)alpha * sum;
            if (use_c)
                v += (double)beta * ox_get_f64(c, i * cs0 + j * cs1);
            ox_set_f64(out[0], i * nn + j, v);
        }
    return 0;
}

/* --------------------------------------------------------------- Dropout */

/* numpy's legacy generator (MT19937 seeded by init_genrand, random_sample
 * from two 32-bit draws): the ONNX backend tests draw training-mode masks
 * with np.random.seed(seed); np.random.uniform(0, 1, shape) >= ratio */
typedef struct mt19937 {
    uint32_t mt[624];
    int pos;
} mt19937;

static void mt_seed(mt19937 *g, uint32_t s)
{
    g->mt[0] = s;
    for (uint32_t i = 1; i < 624; i++)
        g->mt[i] = 1812433253u * (g->mt[i - 1] ^ (g->mt[i - 1] >> 30)) + i;
    g->pos = 624;
}

static uint32_t mt_next(mt19937 *g)
{
    if (g->pos >= 624) {
        for (int i = 0; i < 624; i++) {
            uint32_t y = (g->mt[i] & 0x80000000u) | (g->mt[(i + 1) % 624] & 0x7fffffffu);
            g->mt[i] = g->mt[(i + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
        }
        g->pos = 0;
    }
    uint32_t y = g->mt[g->pos++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

static double mt_uniform(mt19937 *g)
{
    uint32_t a = mt_next(g) >> 5, b = mt_next(g) >> 6;
    return ((double)a * 67108864.0 + (double)b) / 9007199254740992.0;
}

static int k_dropout(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                     ckpt_error *err)
{
    const ox_val *x = in[0];
    if (!x || x->kind != OX_KIND_TENSOR)
        return ox_fail(err, CKPT_E_ARG, n, "input data is missing");
    double ratio = 0.5;
    bool training = false;
    if (n->opset >= 12) {
        if (n->n_in > 1 && in[1]) {
            if (in[1]->numel != 1)
                return ox_fail(err, CKPT_E_SHAPE, n, "ratio must be a scalar");
            ratio = ox_get_f64(in[1], 0);
        }
        if (n->n_in > 2 && in[2]) {
            if (in[2]->numel != 1)
                return ox_fail(err, CKPT_E_SHAPE, n, "training_mode must be a scalar");
            training = ox_get_f64(in[2], 0) != 0.0;
        }
    } else {
        ratio = (double)ox_attr_float(n, "ratio", 0.5f);
    }
    if (training && !(ratio >= 0.0 && ratio < 1.0))
        return ox_fail(err, CKPT_E_ARG, n, "ratio %g is outside [0, 1)", ratio);
    ox_val *mask = n->n_out > 1 ? out[1] : NULL;
    const int mask_dt = n->opset >= 10 ? OX_BOOL : x->dtype;
    if (!training || ratio == 0.0) {
        CKPT_TRY(ox_alias(r, n, out[0], x, x->rank, x->dims, err));
        if (mask) {
            CKPT_TRY(ox_out(r, n, mask, mask_dt, x->rank, x->dims, err));
            for (int64_t i = 0; i < x->numel; i++)
                ox_set_f64(mask, i, 1.0);
        }
        return 0;
    }
    if (x->dtype != OX_FLOAT && x->dtype != OX_DOUBLE && x->dtype != OX_FLOAT16 &&
        x->dtype != OX_BFLOAT16)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element type %s", ox_dtype_name(x->dtype));
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, x->dims, err));
    if (mask)
        CKPT_TRY(ox_out(r, n, mask, mask_dt, x->rank, x->dims, err));
    mt19937 g;
    mt_seed(&g, (uint32_t)ox_attr_int(n, "seed", 0));
    const double scale = 1.0 / (1.0 - ratio);
    for (int64_t i = 0; i < x->numel; i++) {
        bool keep = mt_uniform(&g) >= ratio;
        ox_set_f64(out[0], i, keep ? ox_get_f64(x, i) * scale : 0.0);
        if (mask)
            ox_set_f64(mask, i, keep ? 1.0 : 0.0);
    }
    return 0;
}

const ox_op ox_ops_nn[] = {
    {"MatMul", "", 1, 0, k_matmul, NULL},
    {"Gemm", "", 1, 0, k_gemm, NULL},
    {"Dropout", "", 1, 0, k_dropout, NULL},
    {"Conv", "", 1, 0, ox_nn_conv, NULL},
    {"ConvTranspose", "", 1, 0, ox_nn_conv_transpose, NULL},
    {"MaxPool", "", 1, 0, ox_nn_maxpool, NULL},
    {"AveragePool", "", 1, 0, ox_nn_avgpool, NULL},
    {"LpPool", "", 1, 0, ox_nn_lppool, NULL},
    {"GlobalAveragePool", "", 1, 0, ox_nn_global_avgpool, NULL},
    {"GlobalMaxPool", "", 1, 0, ox_nn_global_maxpool, NULL},
    {"GlobalLpPool", "", 1, 0, ox_nn_global_lppool, NULL},
    {"MaxUnpool", "", 1, 0, ox_nn_maxunpool, NULL},
    {"QLinearConv", "", 1, 0, ox_nn_qlinear_conv, NULL},
    {"ConvInteger", "", 1, 0, ox_nn_conv_integer, NULL},
    {"QLinearMatMul", "", 1, 0, ox_nn_qlinear_matmul, NULL},
    {"MatMulInteger", "", 1, 0, ox_nn_matmul_integer, NULL},
    {0},
};
