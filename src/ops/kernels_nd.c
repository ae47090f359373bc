/* src/ops/kernels_nd.c - N-d convolution, transposed convolution and
 * pooling kernels with per-side padding (see kernels_nd.h). */
#include "ops/kernels_nd.h"
#include "ops/kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

static int64_t prod(const int64_t *v, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= v[i];
    return p;
}

/* row-major strides of dims[0..n) */
static void strides(int64_t *st, const int64_t *dims, int n)
{
    int64_t s = 1;
    for (int i = n - 1; i >= 0; i--) {
        st[i] = s;
        s *= dims[i];
    }
}

/* advance the counter c over dims[0..n) (last fastest) */
static void bump(int64_t *c, const int64_t *dims, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        if (++c[i] < dims[i])
            return;
        c[i] = 0;
    }
}

/* [lo, hi): the output positions along one dim whose tap at offset x0 (input
 * index o * s + x0) falls inside [0, n), clipped to [0, on) */
static void tap_range(int64_t x0, int64_t s, int64_t n, int64_t on, int64_t *lo, int64_t *hi)
{
    int64_t a = x0 >= 0 ? 0 : (-x0 + s - 1) / s;
    int64_t b = n - x0 <= 0 ? 0 : (n - x0 + s - 1) / s;
    *lo = a;
    *hi = b < on ? b : on;
}

/* ------------------------------------------------------------ convolution */

size_t ckpt_nn_convnd_ws(const ckpt_nn_convnd_dims *d)
{
    return (size_t)((d->c / d->g) * prod(d->k, d->nd) * prod(d->out, d->nd));
}

/* col (CG*prod k, prod out) from in (CG, in...): the N-d receptive fields,
 * zero where a tap reaches into the padding; along the last dim a row is a
 * copy between two zero fills, as ckpt_nn__im2col does in 2-d */
static void im2col_nd(float *col, const float *in, int64_t cg, const ckpt_nn_convnd_dims *d)
{
    const int nd = d->nd, L = nd - 1;
    const int64_t ksz = prod(d->k, nd), isz = prod(d->in, nd), osz = prod(d->out, nd);
    const int64_t ow = d->out[L], outer = osz / ow, sw = d->s[L];
    int64_t ist[CKPT_NN_MAX_ND];
    strides(ist, d->in, nd);
    for (int64_t ci = 0; ci < cg; ci++) {
        const float *plane = in + ci * isz;
        int64_t kc[CKPT_NN_MAX_ND] = {0};
        for (int64_t kk = 0; kk < ksz; kk++, bump(kc, d->k, nd)) {
            float *row = col + (ci * ksz + kk) * osz;
            const int64_t x0 = kc[L] * d->d[L] - d->p[L];
            int64_t lo, hi;
            tap_range(x0, sw, d->in[L], ow, &lo, &hi);
            int64_t oc[CKPT_NN_MAX_ND] = {0};
            for (int64_t o = 0; o < outer; o++, bump(oc, d->out, L)) {
                float *dst = row + o * ow;
                int64_t off = 0;
                bool inside = hi > lo;
                for (int i = 0; i < L && inside; i++) {
                    int64_t ii = oc[i] * d->s[i] - d->p[i] + kc[i] * d->d[i];
                    inside = ii >= 0 && ii < d->in[i];
                    off += ii * ist[i];
                }
                if (!inside) {
                    memset(dst, 0, (size_t)ow * sizeof(float));
                    continue;
                }
                const float *src = plane + off;
                for (int64_t x = 0; x < lo; x++)
                    dst[x] = 0.0f;
                if (sw == 1)
                    memcpy(dst + lo, src + lo + x0, (size_t)(hi - lo) * sizeof(float));
                else
                    for (int64_t x = lo; x < hi; x++)
                        dst[x] = src[x * sw + x0];
                for (int64_t x = hi; x < ow; x++)
                    dst[x] = 0.0f;
            }
        }
    }
}

void ckpt_nn_convnd_forward(float *out, const float *in, const float *w, const float *b,
                            float *ws, const ckpt_nn_convnd_dims *d)
{
    const int64_t cg = d->c / d->g, ocg = d->oc / d->g;
    const int64_t isz = prod(d->in, d->nd), k = cg * prod(d->k, d->nd), n = prod(d->out, d->nd);
    for (int64_t bi = 0; bi < d->b; bi++) {
        float *ob = out + bi * d->oc * n;
        float beta = 0.0f;
        if (b) {
            for (int64_t o = 0; o < d->oc; o++)
                for (int64_t i = 0; i < n; i++)
                    ob[o * n + i] = b[o];
            beta = 1.0f;
        }
        for (int64_t gi = 0; gi < d->g; gi++) {
            im2col_nd(ws, in + (bi * d->c + gi * cg) * isz, cg, d);
            /* out_g (OCG, N) = w_g (OCG, K) @ col (K, N) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)ocg, (int)n, (int)k, 1.0f,
                        w + gi * ocg * k, (int)k, ws, (int)n, beta, ob + gi * ocg * n, (int)n);
        }
    }
}

/* ------------------------------------------------- transposed convolution */

size_t ckpt_nn_conv_transposend_ws(const ckpt_nn_convnd_dims *d)
{
    return (size_t)((d->oc / d->g) * prod(d->k, d->nd) * prod(d->in, d->nd));
}

/* plane (out...) += the columns col (OCG*prod k rows for one output channel:
 * ksz rows of prod in) scattered to x*s - p + t*d */
static void col2im_nd(float *plane, const float *col, const ckpt_nn_convnd_dims *d)
{
    const int nd = d->nd, L = nd - 1;
    const int64_t ksz = prod(d->k, nd), isz = prod(d->in, nd);
    const int64_t iw = d->in[L], outer = isz / iw, sw = d->s[L];
    int64_t ost[CKPT_NN_MAX_ND];
    strides(ost, d->out, nd);
    int64_t kc[CKPT_NN_MAX_ND] = {0};
    for (int64_t kk = 0; kk < ksz; kk++, bump(kc, d->k, nd)) {
        const float *row = col + kk * isz;
        const int64_t x0 = kc[L] * d->d[L] - d->p[L];
        /* input x lands at x*sw + x0, inside [0, out[L]) for x in [lo, hi) */
        int64_t lo, hi;
        tap_range(x0, sw, d->out[L], iw, &lo, &hi);
        if (hi <= lo)
            continue;
        int64_t ic[CKPT_NN_MAX_ND] = {0};
        for (int64_t o = 0; o < outer; o++, bump(ic, d->in, L)) {
            int64_t off = 0;
            bool inside = true;
            for (int i = 0; i < L && inside; i++) {
                int64_t oo = ic[i] * d->s[i] - d->p[i] + kc[i] * d->d[i];
                inside = oo >= 0 && oo < d->out[i];
                off += oo * ost[i];
            }
            if (!inside)
                continue;
            float *dst = plane + off + x0;
            const float *src = row + o * iw;
            for (int64_t x = lo; x < hi; x++)
                dst[x * sw] += src[x];
        }
    }
}

void ckpt_nn_conv_transposend_forward(float *out, const float *in, const float *w, const float *b,
                                      float *ws, const ckpt_nn_convnd_dims *d)
{
    const int64_t cg = d->c / d->g, ocg = d->oc / d->g, ksz = prod(d->k, d->nd);
    const int64_t m = ocg * ksz, n = prod(d->in, d->nd), on = prod(d->out, d->nd);
    for (int64_t bi = 0; bi < d->b; bi++) {
        float *ob = out + bi * d->oc * on;
        for (int64_t o = 0; o < d->oc; o++)
            for (int64_t i = 0; i < on; i++)
                ob[o * on + i] = b ? b[o] : 0.0f;
        for (int64_t gi = 0; gi < d->g; gi++) {
            /* ws (OCG*prod k, prod in) = w_g^T (M, CG) @ in_g (CG, prod in) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)n, (int)cg, 1.0f,
                        w + gi * cg * m, (int)m, in + (bi * d->c + gi * cg) * n, (int)n, 0.0f, ws,
                        (int)n);
            for (int64_t o = 0; o < ocg; o++)
                col2im_nd(ob + (gi * ocg + o) * on, ws + o * ksz * n, d);
        }
    }
}

/* ---------------------------------------------------------------- pooling */

void ckpt_nn_poolnd_forward(float *out, int64_t *idx, const float *in,
                            const ckpt_nn_poolnd_dims *d)
{
    const int nd = d->nd;
    const int64_t isz = prod(d->in, nd), osz = prod(d->out, nd);
    int64_t ist[CKPT_NN_MAX_ND];
    strides(ist, d->in, nd);
    for (int64_t c = 0; c < d->bc; c++) {
        const float *pl = in + c * isz;
        int64_t oc[CKPT_NN_MAX_ND] = {0};
        for (int64_t o = 0; o < osz; o++, bump(oc, d->out, nd)) {
            int64_t st[CKPT_NN_MAX_ND], k0[CKPT_NN_MAX_ND], k1[CKPT_NN_MAX_ND],
                span[CKPT_NN_MAX_ND];
            bool empty = false;
            double pad_count = 1.0;
            for (int i = 0; i < nd; i++) {
                ckpt_nn__pool_taps(oc[i], d->s[i], d->pb[i], d->d[i], d->k[i], d->in[i], &st[i],
                                   &k0[i], &k1[i]);
                span[i] = k1[i] - k0[i];
                empty = empty || span[i] <= 0;
                /* taps inside [-pb, in + pe) */
                int64_t lim = d->in[i] + d->pe[i] - st[i], t = 0;
                if (lim > 0)
                    t = (lim - 1) / d->d[i] + 1;
                pad_count *= (double)(t < d->k[i] ? t : d->k[i]);
            }
            float res;
            int64_t arg = -1;
            if (empty) {
                res = d->kind == CKPT_NN_POOL_MAX ? -INFINITY : 0.0f;
            } else {
                /* walk the taps inside the input */
                int64_t tc[CKPT_NN_MAX_ND] = {0};
                int64_t n_taps = prod(span, nd);
                float m = -INFINITY;
                double sum = 0.0;
                for (int64_t t = 0; t < n_taps; t++, bump(tc, span, nd)) {
                    int64_t off = 0;
                    for (int i = 0; i < nd; i++)
                        off += (st[i] + (k0[i] + tc[i]) * d->d[i]) * ist[i];
                    float v = pl[off];
                    if (d->kind == CKPT_NN_POOL_MAX) {
                        if (arg < 0 || v > m || (v != v && m == m)) {
                            m = v;
                            arg = off;
                        }
                    } else if (d->kind == CKPT_NN_POOL_AVG) {
                        sum += (double)v;
                    } else {
                        double a = fabs((double)v);
                        sum += d->p == 2.0 ? a * a : d->p == 1.0 ? a : pow(a, d->p);
                    }
                }
                if (d->kind == CKPT_NN_POOL_MAX)
                    res = m;
                else if (d->kind == CKPT_NN_POOL_AVG)
                    res = (float)(sum / (d->count_pad ? pad_count : (double)n_taps));
                else
                    res = (float)(d->p == 2.0   ? sqrt(sum)
                                  : d->p == 1.0 ? sum
                                                : pow(sum, 1.0 / d->p));
            }
            out[c * osz + o] = res;
            if (idx)
                idx[c * osz + o] = arg;
        }
    }
}
