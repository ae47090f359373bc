/* src/ops/tensor_kernels.c - kernels of the tensor ops (see tensor_kernels.h). */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ops/tensor_kernels.h"

/* ---------------------------------------------------------------- iterator */

/* An index space over up to 3 operands: size-1 dims dropped and adjacent dims
 * merged where every operand's strides allow, so the inner loop is as long as
 * the memory layout permits. */
typedef struct iter {
    int nd;
    int nops;
    int64_t shape[CKPT_TK_MAX_DIMS];
    int64_t st[3][CKPT_TK_MAX_DIMS];
    int64_t outer; /* product of all dims but the last */
} iter;

static void iter_init(iter *it, int ndim, const int64_t *shape, int nops,
                      const int64_t *const *st)
{
    it->nops = nops;
    it->nd = 0;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 1)
            continue;
        int last = it->nd - 1;
        bool merge = last >= 0;
        for (int k = 0; k < nops && merge; k++)
            merge = it->st[k][last] == st[k][d] * shape[d];
        if (merge) {
            it->shape[last] *= shape[d];
            for (int k = 0; k < nops; k++)
                it->st[k][last] = st[k][d];
            continue;
        }
        it->shape[it->nd] = shape[d];
        for (int k = 0; k < nops; k++)
            it->st[k][it->nd] = st[k][d];
        it->nd++;
    }
    if (it->nd == 0) {
        it->nd = 1;
        it->shape[0] = 1;
        for (int k = 0; k < nops; k++)
            it->st[k][0] = 0;
    }
    it->outer = 1;
    for (int d = 0; d < it->nd - 1; d++)
        it->outer *= it->shape[d];
}

static int64_t numel_of(int ndim, const int64_t *shape)
{
    int64_t n = 1;
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    return n;
}

/* advance the outer dims (all but the last) by one step */
static inline void iter_next(const iter *it, int64_t *idx, int64_t *off)
{
    for (int d = it->nd - 2; d >= 0; d--) {
        for (int k = 0; k < it->nops; k++)
            off[k] += it->st[k][d];
        if (++idx[d] < it->shape[d])
            return;
        for (int k = 0; k < it->nops; k++)
            off[k] -= it->st[k][d] * it->shape[d];
        idx[d] = 0;
    }
}

/* ------------------------------------------------------------ broadcasting */

int ckpt_tk_broadcast_shape(int na, const int64_t *as, int nb, const int64_t *bs, int *ond,
                            int64_t *os)
{
    int n = na > nb ? na : nb;
    for (int i = 0; i < n; i++) {
        int ia = i - (n - na), ib = i - (n - nb);
        int64_t x = ia >= 0 ? as[ia] : 1, y = ib >= 0 ? bs[ib] : 1;
        if (x != y && x != 1 && y != 1)
            return i;
        os[i] = x == 1 ? y : x;
    }
    *ond = n;
    return -1;
}

void ckpt_tk_contiguous_strides(int64_t *st, int ndim, const int64_t *shape)
{
    int64_t s = 1;
    for (int d = ndim - 1; d >= 0; d--) {
        st[d] = s;
        s *= shape[d];
    }
}

void ckpt_tk_broadcast_strides(int64_t *st, int ond, const int64_t *os, int nin,
                               const int64_t *ins)
{
    int64_t s = 1;
    for (int d = ond - 1; d >= 0; d--) {
        int id = d - (ond - nin);
        if (id < 0 || (ins[id] == 1 && os[d] != 1)) {
            st[d] = 0;
        } else {
            st[d] = s;
            s *= ins[id];
        }
    }
}

/* ------------------------------------------------------------ element-wise */

#define BIN_INNER(EXPR)                                                                          \
    do {                                                                                         \
        if (ia == 1 && ib == 1) {                                                                \
            for (int64_t j = 0; j < len; j++) {                                                  \
                float x = pa[j], y = pb[j];                                                      \
                po[j] = (EXPR);                                                                  \
            }                                                                                    \
        } else if (ib == 0) {                                                                    \
            float y = pb[0];                                                                     \
            for (int64_t j = 0; j < len; j++) {                                                  \
                float x = pa[j * ia];                                                            \
                po[j] = (EXPR);                                                                  \
            }                                                                                    \
        } else {                                                                                 \
            for (int64_t j = 0; j < len; j++) {                                                  \
                float x = pa[j * ia], y = pb[j * ib];                                            \
                po[j] = (EXPR);                                                                  \
            }                                                                                    \
        }                                                                                        \
    } while (0)

void ckpt_tk_binary_forward(float *out, const float *a, const int64_t *sa, const float *b,
                            const int64_t *sb, int ndim, const int64_t *shape, ckpt_tk_binop op)
{
    if (numel_of(ndim, shape) == 0)
        return;
    int64_t so[CKPT_TK_MAX_DIMS];
    ckpt_tk_contiguous_strides(so, ndim, shape);
    const int64_t *sts[3] = {so, sa, sb};
    iter it;
    iter_init(&it, ndim, shape, 3, sts);
    int64_t len = it.shape[it.nd - 1];
    int64_t ia = it.st[1][it.nd - 1], ib = it.st[2][it.nd - 1];
    int64_t idx[CKPT_TK_MAX_DIMS] = {0}, off[3] = {0, 0, 0};
    for (int64_t o = 0; o < it.outer; o++, iter_next(&it, idx, off)) {
        float *restrict po = out + off[0];
        const float *restrict pa = a + off[1], *restrict pb = b + off[2];
        switch (op) {
        case CKPT_TK_ADD: BIN_INNER(x + y); break;
        case CKPT_TK_SUB: BIN_INNER(x - y); break;
        case CKPT_TK_MUL: BIN_INNER(x * y); break;
        case CKPT_TK_DIV: BIN_INNER(x / y); break;
        }
    }
}

/* po[j] (+)= EXPR(g, x, y) with g = dout[j], x = a[j*ia], y = b[j*ib] */
#define GRAD_INNER(EXPR)                                                                         \
    do {                                                                                         \
        if (accumulate && ia == 1 && ib == 1) { /* the common unbroadcast case */                \
            for (int64_t j = 0; j < len; j++) {                                                  \
                float g = pg[j], x = pa[j], y = pb[j];                                           \
                (void)x;                                                                         \
                (void)y;                                                                         \
                po[j] += (EXPR);                                                                 \
            }                                                                                    \
        } else if (accumulate) {                                                                 \
            for (int64_t j = 0; j < len; j++) {                                                  \
                float g = pg[j], x = pa[j * ia], y = pb[j * ib];                                 \
                (void)x;                                                                         \
                (void)y;                                                                         \
                po[j] += (EXPR);                                                                 \
            }                                                                                    \
        } else {                                                                                 \
            for (int64_t j = 0; j < len; j++) {                                                  \
                float g = pg[j], x = pa[j * ia], y = pb[j * ib];                                 \
                (void)x;                                                                         \
                (void)y;                                                                         \
                po[j] = (EXPR);                                                                  \
            }                                                                                    \
        }                                                                                        \
    } while (0)

void ckpt_tk_binary_grad(float *dst, bool accumulate, const float *dout, const float *a,
                         const int64_t *sa, const float *b, const int64_t *sb, int ndim,
                         const int64_t *shape, ckpt_tk_binop op, int which)
{
    if (numel_of(ndim, shape) == 0)
        return;
    int64_t so[CKPT_TK_MAX_DIMS];
    ckpt_tk_contiguous_strides(so, ndim, shape);
    const int64_t *sts[3] = {so, sa, sb};
    iter it;
    iter_init(&it, ndim, shape, 3, sts);
    int64_t len = it.shape[it.nd - 1];
    int64_t ia = it.st[1][it.nd - 1], ib = it.st[2][it.nd - 1];
    int64_t idx[CKPT_TK_MAX_DIMS] = {0}, off[3] = {0, 0, 0};
    for (int64_t o = 0; o < it.outer; o++, iter_next(&it, idx, off)) {
        float *restrict po = dst + off[0];
        const float *restrict pg = dout + off[0];
        const float *restrict pa = a + off[1], *restrict pb = b + off[2];
        switch (op) {
        case CKPT_TK_ADD: GRAD_INNER(g); break;
        case CKPT_TK_SUB:
            if (which == 0)
                GRAD_INNER(g);
            else
                GRAD_INNER(-g);
            break;
        case CKPT_TK_MUL:
            if (which == 0)
                GRAD_INNER(g * y);
            else
                GRAD_INNER(g * x);
            break;
        case CKPT_TK_DIV:
            /* torch: grad / other and -grad * ((self / other) / other) */
            if (which == 0)
                GRAD_INNER(g / y);
            else
                GRAD_INNER(-g * ((x / y) / y));
            break;
        }
    }
}

/* torch's pow_tensor_scalar kernel: special exponents take exact forms */
static void pow_forward(float *out, const float *x, size_t n, double e)
{
    if (e == 0.0) {
        for (size_t i = 0; i < n; i++)
            out[i] = 1.0f;
    } else if (e == 1.0) {
        if (out != x)
            memmove(out, x, n * sizeof *out);
    } else if (e == 0.5) {
        for (size_t i = 0; i < n; i++)
            out[i] = sqrtf(x[i]);
    } else if (e == 2.0) {
        for (size_t i = 0; i < n; i++)
            out[i] = x[i] * x[i];
    } else if (e == 3.0) {
        for (size_t i = 0; i < n; i++)
            out[i] = x[i] * x[i] * x[i];
    } else if (e == -0.5) {
        for (size_t i = 0; i < n; i++)
            out[i] = 1.0f / sqrtf(x[i]);
    } else if (e == -1.0) {
        for (size_t i = 0; i < n; i++)
            out[i] = 1.0f / x[i];
    } else if (e == -2.0) {
        for (size_t i = 0; i < n; i++)
            out[i] = 1.0f / (x[i] * x[i]);
    } else {
        float ef = (float)e;
        for (size_t i = 0; i < n; i++)
            out[i] = powf(x[i], ef);
    }
}

void ckpt_tk_unary_forward(float *out, const float *x, size_t n, ckpt_tk_unop op, double s)
{
    float sf = (float)s;
    switch (op) {
    case CKPT_TK_ADD_SCALAR:
        for (size_t i = 0; i < n; i++)
            out[i] = x[i] + sf;
        break;
    case CKPT_TK_MUL_SCALAR:
        for (size_t i = 0; i < n; i++)
            out[i] = x[i] * sf;
        break;
    case CKPT_TK_NEG:
        for (size_t i = 0; i < n; i++)
            out[i] = -x[i];
        break;
    case CKPT_TK_EXP:
        for (size_t i = 0; i < n; i++)
            out[i] = expf(x[i]);
        break;
    case CKPT_TK_LOG:
        for (size_t i = 0; i < n; i++)
            out[i] = logf(x[i]);
        break;
    case CKPT_TK_SQRT:
        for (size_t i = 0; i < n; i++)
            out[i] = sqrtf(x[i]);
        break;
    case CKPT_TK_POW: pow_forward(out, x, n, s); break;
    }
}

void ckpt_tk_unary_backward(float *dx, const float *dout, const float *x, const float *y,
                            size_t n, ckpt_tk_unop op, double s)
{
    float sf = (float)s;
    switch (op) {
    case CKPT_TK_ADD_SCALAR:
        for (size_t i = 0; i < n; i++)
            dx[i] += dout[i];
        break;
    case CKPT_TK_MUL_SCALAR:
        for (size_t i = 0; i < n; i++)
            dx[i] += dout[i] * sf;
        break;
    case CKPT_TK_NEG:
        for (size_t i = 0; i < n; i++)
            dx[i] -= dout[i];
        break;
    case CKPT_TK_EXP:
        for (size_t i = 0; i < n; i++)
            dx[i] += dout[i] * y[i];
        break;
    case CKPT_TK_LOG:
        for (size_t i = 0; i < n; i++)
            dx[i] += dout[i] / x[i];
        break;
    case CKPT_TK_SQRT:
        for (size_t i = 0; i < n; i++)
            dx[i] += dout[i] / (2.0f * y[i]);
        break;
    case CKPT_TK_POW:
        /* torch's pow_backward: zero for exponent 0, else
         * grad * (exponent * x.pow(exponent - 1)) */
        if (s == 0.0)
            break;
        for (size_t i0 = 0; i0 < n; i0 += 256) {
            float t[256];
            size_t m = n - i0 < 256 ? n - i0 : 256;
            pow_forward(t, x + i0, m, s - 1.0);
            for (size_t i = 0; i < m; i++)
                dx[i0 + i] += dout[i0 + i] * (sf * t[i]);
        }
        break;
    }
}

/* ----------------------------------------------------- strided copies, sums */

void ckpt_tk_gather(void *dst, const void *src, size_t elsize, int ndim, const int64_t *shape,
                    const int64_t *st)
{
    if (numel_of(ndim, shape) == 0)
        return;
    int64_t so[CKPT_TK_MAX_DIMS];
    ckpt_tk_contiguous_strides(so, ndim, shape);
    const int64_t *sts[2] = {so, st};
    iter it;
    iter_init(&it, ndim, shape, 2, sts);
    int64_t len = it.shape[it.nd - 1], is = it.st[1][it.nd - 1];
    int64_t idx[CKPT_TK_MAX_DIMS] = {0}, off[3] = {0, 0, 0};
    for (int64_t o = 0; o < it.outer; o++, iter_next(&it, idx, off)) {
        if (is == 1) {
            memcpy((char *)dst + (size_t)off[0] * elsize,
                   (const char *)src + (size_t)off[1] * elsize, (size_t)len * elsize);
        } else if (elsize == 4) {
            uint32_t *d = (uint32_t *)dst + off[0];
            const uint32_t *s = (const uint32_t *)src + off[1];
            for (int64_t j = 0; j < len; j++)
                d[j] = s[j * is];
        } else {
            uint64_t *d = (uint64_t *)dst + off[0];
            const uint64_t *s = (const uint64_t *)src + off[1];
            for (int64_t j = 0; j < len; j++)
                d[j] = s[j * is];
        }
    }
}

void ckpt_tk_gather_add(float *dst, const float *src, int ndim, const int64_t *shape,
                        const int64_t *st, float scale)
{
    if (numel_of(ndim, shape) == 0)
        return;
    int64_t so[CKPT_TK_MAX_DIMS];
    ckpt_tk_contiguous_strides(so, ndim, shape);
    const int64_t *sts[2] = {so, st};
    iter it;
    iter_init(&it, ndim, shape, 2, sts);
    int64_t len = it.shape[it.nd - 1], is = it.st[1][it.nd - 1];
    int64_t idx[CKPT_TK_MAX_DIMS] = {0}, off[3] = {0, 0, 0};
    for (int64_t o = 0; o < it.outer; o++, iter_next(&it, idx, off)) {
        float *restrict d = dst + off[0];
        const float *restrict s = src + off[1];
        if (scale == 1.0f && is == 1) {
            for (int64_t j = 0; j < len; j++)
                d[j] += s[j];
        } else if (scale == 1.0f) {
            for (int64_t j = 0; j < len; j++)
                d[j] += s[j * is];
        } else if (is == 1) {
            for (int64_t j = 0; j < len; j++)
                d[j] += scale * s[j];
        } else if (is == 0) {
            float v = scale * s[0];
            for (int64_t j = 0; j < len; j++)
                d[j] += v;
        } else {
            for (int64_t j = 0; j < len; j++)
                d[j] += scale * s[j * is];
        }
    }
}

/* sum of a contiguous run in double, 8 independent lanes (vectorisable
 * without reassociating any one lane's additions) */
static double sum_run(const float *s, int64_t len)
{
    double acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t j = 0;
    for (; j + 8 <= len; j += 8)
        for (int u = 0; u < 8; u++)
            acc[u] += (double)s[j + u];
    double t = 0.0;
    for (; j < len; j++)
        t += (double)s[j];
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + t;
}

void ckpt_tk_sum_to(float *dst, bool accumulate, const float *src, int ndim, const int64_t *shape,
                    const int64_t *dst_st, int64_t dst_numel, double scale, double *ws)
{
    for (int64_t o = 0; o < dst_numel; o++)
        ws[o] = 0.0;
    if (numel_of(ndim, shape) > 0) {
        int64_t so[CKPT_TK_MAX_DIMS];
        ckpt_tk_contiguous_strides(so, ndim, shape);
        const int64_t *sts[2] = {so, dst_st};
        iter it;
        iter_init(&it, ndim, shape, 2, sts);
        int64_t len = it.shape[it.nd - 1], ds = it.st[1][it.nd - 1];
        int64_t idx[CKPT_TK_MAX_DIMS] = {0}, off[3] = {0, 0, 0};
        for (int64_t o = 0; o < it.outer; o++, iter_next(&it, idx, off)) {
            const float *restrict s = src + off[0];
            double *restrict w = ws + off[1];
            if (ds == 0) {
                w[0] += sum_run(s, len);
            } else if (ds == 1) {
                for (int64_t j = 0; j < len; j++)
                    w[j] += (double)s[j];
            } else {
                for (int64_t j = 0; j < len; j++)
                    w[j * ds] += (double)s[j];
            }
        }
    }
    for (int64_t o = 0; o < dst_numel; o++) {
        float v = (float)(ws[o] * scale);
        dst[o] = accumulate ? dst[o] + v : v;
    }
}

void ckpt_tk_rows_copy(void *dst, const void *src, size_t elsize, const ckpt_tk_rows *r)
{
    size_t row = (size_t)r->inner * elsize;
    if (row == 0 || r->len == 0)
        return;
    for (int64_t o = 0; o < r->outer; o++) {
        char *d = (char *)dst + (size_t)(o * r->dn + r->d0) * row;
        const char *s = (const char *)src + (size_t)(o * r->sn + r->s0) * row;
        if (r->dstep == 1 && r->sstep == 1) {
            memcpy(d, s, (size_t)r->len * row);
            continue;
        }
        for (int64_t j = 0; j < r->len; j++)
            memcpy(d + (size_t)(j * r->dstep) * row, s + (size_t)(j * r->sstep) * row, row);
    }
}

void ckpt_tk_rows_add(float *dst, const float *src, const ckpt_tk_rows *r)
{
    int64_t in = r->inner;
    if (r->dstep == 1 && r->sstep == 1) { /* each outer index: one contiguous run */
        int64_t run = r->len * in;
        for (int64_t o = 0; o < r->outer; o++) {
            float *restrict d = dst + (o * r->dn + r->d0) * in;
            const float *restrict s = src + (o * r->sn + r->s0) * in;
            for (int64_t i = 0; i < run; i++)
                d[i] += s[i];
        }
        return;
    }
    for (int64_t o = 0; o < r->outer; o++) {
        for (int64_t j = 0; j < r->len; j++) {
            float *restrict d = dst + (o * r->dn + r->d0 + j * r->dstep) * in;
            const float *restrict s = src + (o * r->sn + r->s0 + j * r->sstep) * in;
            for (int64_t i = 0; i < in; i++)
                d[i] += s[i];
        }
    }
}

/* ------------------------------------------------------------------ matmul */

static int ld(int64_t x)
{
    return x > 0 ? (int)x : 1;
}

/* advance a batch counter; offsets of a and b follow */
static void batch_next(const ckpt_tk_matmul_dims *d, int64_t *idx, int64_t *oa, int64_t *ob)
{
    for (int i = d->nb - 1; i >= 0; i--) {
        *oa += d->sa[i];
        *ob += d->sb[i];
        if (++idx[i] < d->batch[i])
            return;
        *oa -= d->sa[i] * d->batch[i];
        *ob -= d->sb[i] * d->batch[i];
        idx[i] = 0;
    }
}

static bool folds(const ckpt_tk_matmul_dims *d)
{
    return d->bbatch == 1 && d->abatch == d->nbatch;
}

void ckpt_tk_matmul_forward(float *out, const float *a, const float *b,
                            const ckpt_tk_matmul_dims *d)
{
    int64_t n = d->n, k = d->k, m = d->m;
    if (d->nbatch == 0 || n == 0 || m == 0)
        return;
    if (k == 0) {
        memset(out, 0, (size_t)(d->nbatch * n * m) * sizeof *out);
        return;
    }
    if (folds(d)) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(d->nbatch * n), (int)m,
                    (int)k, 1.0f, a, ld(k), b, ld(m), 0.0f, out, ld(m));
        return;
    }
    int64_t idx[CKPT_TK_MAX_DIMS] = {0}, oa = 0, ob = 0;
    for (int64_t i = 0; i < d->nbatch; i++, batch_next(d, idx, &oa, &ob))
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)m, (int)k, 1.0f,
                    a + oa, ld(k), b + ob, ld(m), 0.0f, out + i * n * m, ld(m));
}

void ckpt_tk_matmul_backward(float *da, float *db, const float *dout, const float *a,
                             const float *b, const ckpt_tk_matmul_dims *d)
{
    int64_t n = d->n, k = d->k, m = d->m;
    if (d->nbatch == 0 || n == 0 || m == 0 || k == 0)
        return; /* every contribution is empty or zero */
    if (folds(d)) {
        int64_t rows = d->nbatch * n;
        if (da) /* (B*N,K) += dout (B*N,M) @ b^T */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, (int)k, (int)m, 1.0f,
                        dout, ld(m), b, ld(m), 1.0f, da, ld(k));
        if (db) /* (K,M) += a^T (K,B*N) @ dout (B*N,M) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)m, (int)rows, 1.0f,
                        a, ld(k), dout, ld(m), 1.0f, db, ld(m));
        return;
    }
    int64_t idx[CKPT_TK_MAX_DIMS] = {0}, oa = 0, ob = 0;
    for (int64_t i = 0; i < d->nbatch; i++, batch_next(d, idx, &oa, &ob)) {
        const float *g = dout + i * n * m;
        if (da)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)k, (int)m, 1.0f, g,
                        ld(m), b + ob, ld(m), 1.0f, da + oa, ld(k));
        if (db)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)k, (int)m, (int)n, 1.0f,
                        a + oa, ld(k), g, ld(m), 1.0f, db + ob, ld(m));
    }
}
