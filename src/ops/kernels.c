/* src/ops/kernels.c - raw float32 forward kernels (see kernels.h). */
#include "ops/kernels.h"
#include "ops/vmath.h"

#include <cblas.h>
#include <float.h>
#include <math.h>
#include <string.h>

void ckpt_nn_linear_forward(float *out, const float *in, const float *w, const float *b,
                            int64_t n, int64_t ic, int64_t oc)
{
    if (n <= 0 || oc <= 0)
        return;
    float beta = 0.0f;
    if (b) {
        for (int64_t i = 0; i < n; i++)
            memcpy(out + i * oc, b, (size_t)oc * sizeof(float));
        beta = 1.0f;
    }
    if (ic <= 0) {
        if (!b)
            memset(out, 0, (size_t)(n * oc) * sizeof(float));
        return;
    }
    /* out (N,OC) = in (N,IC) @ w^T (IC,OC) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)n, (int)oc, (int)ic, 1.0f, in,
                (int)ic, w, (int)ic, beta, out, (int)oc);
}

/* ------------------------------------------------------------ convolution */

bool ckpt_nn_conv2d_out_size(ckpt_nn_conv2d_dims *d)
{
    d->oh = (d->h + 2 * d->ph - d->dh * (d->kh - 1) - 1) / d->sh + 1;
    d->ow = (d->w + 2 * d->pw - d->dw * (d->kw - 1) - 1) / d->sw + 1;
    if (d->h + 2 * d->ph - d->dh * (d->kh - 1) - 1 < 0 ||
        d->w + 2 * d->pw - d->dw * (d->kw - 1) - 1 < 0)
        return false;
    return d->oh > 0 && d->ow > 0;
}

static bool conv_is_pointwise(const ckpt_nn_conv2d_dims *d)
{
    return d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 && d->ph == 0 && d->pw == 0;
}

size_t ckpt_nn_conv2d_ws(const ckpt_nn_conv2d_dims *d)
{
    if (conv_is_pointwise(d))
        return 0;
    return (size_t)((d->c / d->g) * d->kh * d->kw * d->oh * d->ow);
}

/* col (CG*KH*KW, OH*OW) from in (CG,H,W); per kernel column the range of
 * output columns that read inside the plane is computed once, so a row is a
 * memcpy between two zero fills */
void ckpt_nn__im2col(float *col, const float *in, int64_t cg, const ckpt_nn_conv2d_dims *d)
{
    const int64_t oh = d->oh, ow = d->ow, sw = d->sw;
    for (int64_t ci = 0; ci < cg; ci++) {
        const float *plane = in + ci * d->h * d->w;
        for (int64_t ki = 0; ki < d->kh; ki++) {
            for (int64_t kj = 0; kj < d->kw; kj++) {
                float *row = col + ((ci * d->kh + ki) * d->kw + kj) * oh * ow;
                /* ix = ox * sw + x0 is inside [0, w) for ox in [lo, hi) */
                const int64_t x0 = kj * d->dw - d->pw;
                const int64_t lo = x0 >= 0 ? 0 : (-x0 + sw - 1) / sw;
                int64_t hi = d->w - x0 <= 0 ? 0 : (d->w - x0 + sw - 1) / sw;
                hi = hi < ow ? hi : ow;
                for (int64_t oy = 0; oy < oh; oy++) {
                    int64_t iy = oy * d->sh - d->ph + ki * d->dh;
                    float *dst = row + oy * ow;
                    if (iy < 0 || iy >= d->h || hi <= lo) {
                        memset(dst, 0, (size_t)ow * sizeof(float));
                        continue;
                    }
                    const float *src = plane + iy * d->w;
                    for (int64_t ox = 0; ox < lo; ox++)
                        dst[ox] = 0.0f;
                    if (sw == 1) {
                        memcpy(dst + lo, src + lo + x0, (size_t)(hi - lo) * sizeof(float));
                    } else {
                        for (int64_t ox = lo; ox < hi; ox++)
                            dst[ox] = src[ox * sw + x0];
                    }
                    for (int64_t ox = hi; ox < ow; ox++)
                        dst[ox] = 0.0f;
                }
            }
        }
    }
}

void ckpt_nn_conv2d_forward(float *out, const float *in, const float *w, const float *b,
                            float *ws, const ckpt_nn_conv2d_dims *d)
{
    const int64_t cg = d->c / d->g, ocg = d->oc / d->g;
    const int64_t k = cg * d->kh * d->kw, n = d->oh * d->ow;
    const bool pointwise = conv_is_pointwise(d);
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
            const float *ing = in + (bi * d->c + gi * cg) * d->h * d->w;
            const float *col = ing;
            if (!pointwise) {
                ckpt_nn__im2col(ws, ing, cg, d);
                col = ws;
            }
            /* out_g (OCG, OH*OW) = w_g (OCG, K) @ col (K, OH*OW) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)ocg, (int)n, (int)k, 1.0f,
                        w + gi * ocg * k, (int)k, col, (int)n, beta, ob + gi * ocg * n, (int)n);
        }
    }
}

ckpt_nn_conv_pad ckpt_nn_conv_padding(const ckpt_conv_opts *o, int sd, int64_t kh, int64_t kw,
                                      int64_t dh, int64_t dw)
{
    ckpt_nn_conv_pad p = {0};
    p.mode = (int)o->padding_mode;
    if (o->padding_kind == CKPT_CONV_PAD_VALID)
        return p;
    int64_t th, bh, lw, rw; /* total padding split before / after */
    if (o->padding_kind == CKPT_CONV_PAD_SAME) {
        int64_t toth = sd == 1 ? 0 : dh * (kh - 1), totw = dw * (kw - 1);
        th = toth / 2, bh = toth - th, lw = totw / 2, rw = totw - lw;
    } else {
        th = bh = sd == 1 ? 0 : o->padding[0];
        lw = rw = o->padding[sd == 1 ? 0 : 1];
    }
    if (p.mode == CKPT_PADMODE_ZEROS && th == bh && lw == rw) {
        p.ph = th, p.pw = lw;
        return p;
    }
    p.pre = true;
    p.top = th, p.bottom = bh, p.left = lw, p.right = rw;
    return p;
}

int64_t ckpt_nn__pad_src(int64_t i, int64_t n, int mode)
{
    if (i >= 0 && i < n)
        return i;
    switch (mode) {
    case CKPT_PADMODE_REFLECT: return i < 0 ? -i : 2 * (n - 1) - i;
    case CKPT_PADMODE_REPLICATE: return i < 0 ? 0 : n - 1;
    case CKPT_PADMODE_CIRCULAR: return ((i % n) + n) % n;
    default: return -1;
    }
}

void ckpt_nn_pad2d_forward(float *out, const float *in, int64_t bc, int64_t h, int64_t w,
                           int64_t top, int64_t bottom, int64_t left, int64_t right, int mode)
{
    const int64_t oh = h + top + bottom, ow = w + left + right;
    for (int64_t c = 0; c < bc; c++) {
        const float *pl = in + c * h * w;
        float *q = out + c * oh * ow;
        for (int64_t y = 0; y < oh; y++) {
            int64_t sy = ckpt_nn__pad_src(y - top, h, mode);
            for (int64_t x = 0; x < ow; x++) {
                int64_t sx = ckpt_nn__pad_src(x - left, w, mode);
                q[y * ow + x] = sy >= 0 && sx >= 0 ? pl[sy * w + sx] : 0.0f;
            }
        }
    }
}

bool ckpt_nn_conv_transpose2d_out_size(ckpt_nn_conv_transpose2d_dims *d)
{
    d->oh = (d->h - 1) * d->sh - 2 * d->ph + d->dh * (d->kh - 1) + d->oph + 1;
    d->ow = (d->w - 1) * d->sw - 2 * d->pw + d->dw * (d->kw - 1) + d->opw + 1;
    return d->oh > 0 && d->ow > 0;
}

size_t ckpt_nn_conv_transpose2d_ws(const ckpt_nn_conv_transpose2d_dims *d)
{
    return (size_t)((d->oc / d->g) * d->kh * d->kw * d->h * d->w);
}

void ckpt_nn_conv_transpose2d_forward(float *out, const float *in, const float *w, const float *b,
                                      float *ws, const ckpt_nn_conv_transpose2d_dims *d)
{
    const int64_t cg = d->c / d->g, ocg = d->oc / d->g;
    const int64_t m = ocg * d->kh * d->kw, n = d->h * d->w, on = d->oh * d->ow;
    for (int64_t bi = 0; bi < d->b; bi++) {
        float *ob = out + bi * d->oc * on;
        for (int64_t o = 0; o < d->oc; o++)
            for (int64_t i = 0; i < on; i++)
                ob[o * on + i] = b ? b[o] : 0.0f;
        for (int64_t gi = 0; gi < d->g; gi++) {
            /* ws (OCG*KH*KW, H*W) = w_g^T (M, CG) @ in_g (CG, H*W) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)m, (int)n, (int)cg, 1.0f,
                        w + gi * cg * m, (int)m, in + (bi * d->c + gi * cg) * n, (int)n, 0.0f, ws,
                        (int)n);
            for (int64_t o = 0; o < ocg; o++) {
                float *plane = ob + (gi * ocg + o) * on;
                for (int64_t ki = 0; ki < d->kh; ki++) {
                    for (int64_t kj = 0; kj < d->kw; kj++) {
                        const float *row = ws + ((o * d->kh + ki) * d->kw + kj) * n;
                        for (int64_t iy = 0; iy < d->h; iy++) {
                            int64_t oy = iy * d->sh - d->ph + ki * d->dh;
                            if (oy < 0 || oy >= d->oh)
                                continue;
                            for (int64_t ix = 0; ix < d->w; ix++) {
                                int64_t ox = ix * d->sw - d->pw + kj * d->dw;
                                if (ox >= 0 && ox < d->ow)
                                    plane[oy * d->ow + ox] += row[iy * d->w + ix];
                            }
                        }
                    }
                }
            }
        }
    }
}

/* ---------------------------------------------------------- normalisation */

void ckpt_nn_batchnorm_stats(float *mean, float *var, const float *in, int64_t b, int64_t c,
                             int64_t s)
{
    const double cnt = (double)(b * s);
    for (int64_t ci = 0; ci < c; ci++) {
        double sum = 0.0;
        for (int64_t bi = 0; bi < b; bi++) {
            const float *p = in + (bi * c + ci) * s;
            for (int64_t i = 0; i < s; i++)
                sum += (double)p[i];
        }
        double mu = cnt > 0 ? sum / cnt : 0.0;
        double sq = 0.0;
        for (int64_t bi = 0; bi < b; bi++) {
            const float *p = in + (bi * c + ci) * s;
            for (int64_t i = 0; i < s; i++) {
                double dv = (double)p[i] - mu;
                sq += dv * dv;
            }
        }
        mean[ci] = (float)mu;
        var[ci] = cnt > 0 ? (float)(sq / cnt) : 0.0f;
    }
}

void ckpt_nn_batchnorm_update_running(float *rmean, float *rvar, const float *mean,
                                      const float *var, int64_t c, int64_t n, double factor)
{
    const double nn = (double)n;
    for (int64_t ci = 0; ci < c; ci++) {
        double unbiased = n > 1 ? (double)var[ci] * nn / (nn - 1.0) : (double)NAN;
        rmean[ci] = (float)(factor * (double)mean[ci] + (1.0 - factor) * (double)rmean[ci]);
        rvar[ci] = (float)(factor * unbiased + (1.0 - factor) * (double)rvar[ci]);
    }
}

void ckpt_nn_batchnorm_forward(float *out, const float *in, const float *mean, const float *var,
                               const float *w, const float *bias, int64_t b, int64_t c, int64_t s,
                               double eps)
{
    for (int64_t ci = 0; ci < c; ci++) {
        double invstd = 1.0 / sqrt((double)var[ci] + eps);
        double alpha = w ? (double)w[ci] * invstd : invstd;
        double beta = (bias ? (double)bias[ci] : 0.0) - (double)mean[ci] * alpha;
        float a = (float)alpha, be = (float)beta;
        for (int64_t bi = 0; bi < b; bi++) {
            const float *p = in + (bi * c + ci) * s;
            float *q = out + (bi * c + ci) * s;
            for (int64_t i = 0; i < s; i++)
                q[i] = p[i] * a + be;
        }
    }
}

/* max of d floats (NaN skipped, as `if (v > mx) mx = v` does); 8 running
 * maxima so the loop vectorises */
static float row_max(const float *p, int64_t d)
{
    float m8[8];
    for (int j = 0; j < 8; j++)
        m8[j] = -INFINITY;
    int64_t i = 0;
    for (; i + 8 <= d; i += 8)
        for (int j = 0; j < 8; j++)
            m8[j] = p[i + j] > m8[j] ? p[i + j] : m8[j];
    float mx = -INFINITY;
    for (int j = 0; j < 8; j++)
        mx = m8[j] > mx ? m8[j] : mx;
    for (; i < d; i++)
        mx = p[i] > mx ? p[i] : mx;
    return mx;
}

/* sum of d floats in double, 8 running sums so the loop vectorises */
static double row_sum(const float *p, int64_t d)
{
    double s8[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= d; i += 8)
        for (int j = 0; j < 8; j++)
            s8[j] += (double)p[i + j];
    double sum = ((s8[0] + s8[4]) + (s8[1] + s8[5])) + ((s8[2] + s8[6]) + (s8[3] + s8[7]));
    for (; i < d; i++)
        sum += (double)p[i];
    return sum;
}

/* sum of (p[i] - mu)^2 in double, 8 running sums */
static double row_sqdev(const float *p, int64_t d, double mu)
{
    double s8[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= d; i += 8)
        for (int j = 0; j < 8; j++) {
            double dv = (double)p[i + j] - mu;
            s8[j] += dv * dv;
        }
    double sum = ((s8[0] + s8[4]) + (s8[1] + s8[5])) + ((s8[2] + s8[6]) + (s8[3] + s8[7]));
    for (; i < d; i++) {
        double dv = (double)p[i] - mu;
        sum += dv * dv;
    }
    return sum;
}

/* mean and 1/sqrt(var + eps) of n floats (two passes, double accumulation) */
static void moments(const float *p, int64_t n, double eps, double *mean, double *invstd)
{
    double mu = n > 0 ? row_sum(p, n) / (double)n : 0.0;
    double sq = row_sqdev(p, n, mu);
    *mean = mu;
    *invstd = 1.0 / sqrt((n > 0 ? sq / (double)n : 0.0) + eps);
}

/* the rows of ckpt_nn_layernorm_forward (static: the exported symbol stays a
 * plain function, the AVX2 clone is picked behind it) */
CKPT__VEC_CLONES CKPT__FLATTEN static void layernorm_rows(float *out, const float *in,
                                                          const float *w, const float *b,
                                                          int64_t n, int64_t d, double eps)
{
    for (int64_t r = 0; r < n; r++) {
        const float *p = in + r * d;
        float *q = out + r * d;
        double mu, rs;
        moments(p, d, eps, &mu, &rs);
        for (int64_t i = 0; i < d; i++) {
            double y = ((double)p[i] - mu) * rs;
            if (w)
                y *= (double)w[i];
            if (b)
                y += (double)b[i];
            q[i] = (float)y;
        }
    }
}

void ckpt_nn_layernorm_forward(float *out, const float *in, const float *w, const float *b,
                               int64_t n, int64_t d, double eps)
{
    layernorm_rows(out, in, w, b, n, d, eps);
}

void ckpt_nn_groupnorm_forward(float *out, const float *in, const float *w, const float *b,
                               int64_t b_, int64_t c, int64_t s, int64_t g, double eps)
{
    const int64_t cg = c / g;
    for (int64_t bi = 0; bi < b_; bi++) {
        for (int64_t gi = 0; gi < g; gi++) {
            const float *p = in + (bi * c + gi * cg) * s;
            float *q = out + (bi * c + gi * cg) * s;
            double mu, rs;
            moments(p, cg * s, eps, &mu, &rs);
            for (int64_t ci = 0; ci < cg; ci++) {
                int64_t ch = gi * cg + ci;
                double sc = w ? (double)w[ch] * rs : rs;
                double sh = (b ? (double)b[ch] : 0.0) - mu * sc;
                for (int64_t i = 0; i < s; i++)
                    q[ci * s + i] = (float)((double)p[ci * s + i] * sc + sh);
            }
        }
    }
}

void ckpt_nn_lrn_forward(float *out, const float *in, int64_t b, int64_t c, int64_t s,
                         int64_t size, double alpha, double beta, double k)
{
    const int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
    const float a = (float)(alpha / (double)size), nb = (float)-beta, kk = (float)k;
    for (int64_t bi = 0; bi < b; bi++) {
        for (int64_t ci = 0; ci < c; ci++) {
            const int64_t c0 = ci - lo < 0 ? 0 : ci - lo, c1 = ci + hi >= c ? c - 1 : ci + hi;
            float *q = out + (bi * c + ci) * s;
            const float *x = in + (bi * c + ci) * s;
            for (int64_t i = 0; i < s; i++)
                q[i] = 0.0f;
            for (int64_t ch = c0; ch <= c1; ch++) {
                const float *p = in + (bi * c + ch) * s;
                for (int64_t i = 0; i < s; i++)
                    q[i] += p[i] * p[i];
            }
            for (int64_t i = 0; i < s; i++)
                q[i] = x[i] * expf(nb * logf(kk + a * q[i]));
        }
    }
}

int ckpt_nn_embedding_forward_raw(float *out, const float *table, const int64_t *idx, int64_t n,
                                  int64_t v, int64_t d)
{
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= v)
            return -1;
        memcpy(out + i * d, table + idx[i] * d, (size_t)d * sizeof(float));
    }
    return 0;
}

/* ------------------------------------------------------------ activations */

void ckpt_nn_relu_forward(float *out, const float *in, size_t n)
{
    /* branch-free select (vectorised; NaN kept, as torch) */
    for (size_t i = 0; i < n; i++) {
        float v = in[i], r = v > 0.0f ? v : 0.0f;
        out[i] = v != v ? v : r;
    }
}

void ckpt_nn_gelu_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double x = (double)in[i];
        out[i] = (float)(0.5 * x * (1.0 + erf(x * 0.70710678118654752440)));
    }
}

void ckpt_nn_gelu_tanh_forward(float *out, const float *in, size_t n)
{
    const double k = 0.79788456080286535588; /* sqrt(2/pi) */
    for (size_t i = 0; i < n; i++) {
        double x = (double)in[i];
        out[i] = (float)(0.5 * x * (1.0 + tanh(k * (x + 0.044715 * x * x * x))));
    }
}

void ckpt_nn_silu_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double x = (double)in[i];
        out[i] = (float)(x / (1.0 + exp(-x)));
    }
}

void ckpt_nn_tanh_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = tanhf(in[i]);
}

void ckpt_nn_sigmoid_forward(float *out, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (float)(1.0 / (1.0 + exp(-(double)in[i])));
}

/* one softmax / log_softmax row of d contiguous floats: exp in float by the
 * vectorisable ckpt__expf, the sum in double */
CKPT__VEC_CLONES CKPT__FLATTEN static void softmax_row(float *q, const float *p, int64_t d,
                                                       bool logv)
{
    const float mx = row_max(p, d);
    double sum = 0.0;
    if (logv) {
        float e[64];
        for (int64_t i0 = 0; i0 < d; i0 += 64) {
            int64_t m = d - i0 < 64 ? d - i0 : 64;
            for (int64_t i = 0; i < m; i++)
                e[i] = ckpt__expf(p[i0 + i] - mx);
            sum += row_sum(e, m);
        }
        const double lse = (double)mx + log(sum);
        for (int64_t i = 0; i < d; i++)
            q[i] = (float)((double)p[i] - lse);
        return;
    }
    for (int64_t i = 0; i < d; i++)
        q[i] = ckpt__expf(p[i] - mx);
    sum = row_sum(q, d);
    const float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < d; i++)
        q[i] *= inv;
}

static void softmax_impl(float *out, const float *in, int64_t outer, int64_t d, int64_t inner,
                         bool logv)
{
    if (inner == 1) {
        for (int64_t o = 0; o < outer; o++)
            softmax_row(out + o * d, in + o * d, d, logv);
        return;
    }
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < inner; j++) {
            const float *p = in + o * d * inner + j;
            float *q = out + o * d * inner + j;
            float mx = -INFINITY;
            for (int64_t i = 0; i < d; i++)
                if (p[i * inner] > mx)
                    mx = p[i * inner];
            double sum = 0.0;
            for (int64_t i = 0; i < d; i++)
                sum += (double)ckpt__expf(p[i * inner] - mx);
            if (logv) {
                const double lse = (double)mx + log(sum);
                for (int64_t i = 0; i < d; i++)
                    q[i * inner] = (float)((double)p[i * inner] - lse);
            } else {
                const float inv = (float)(1.0 / sum);
                for (int64_t i = 0; i < d; i++)
                    q[i * inner] = ckpt__expf(p[i * inner] - mx) * inv;
            }
        }
    }
}

void ckpt_nn_softmax_forward(float *out, const float *in, int64_t outer, int64_t d, int64_t inner)
{
    softmax_impl(out, in, outer, d, inner, false);
}

void ckpt_nn_logsoftmax_forward(float *out, const float *in, int64_t outer, int64_t d,
                                int64_t inner)
{
    softmax_impl(out, in, outer, d, inner, true);
}

void ckpt_nn_dropout_forward_mask(float *out, uint8_t *mask, const float *in, size_t n, double p,
                                  ckpt_rng *rng)
{
    if (p <= 0.0 || !rng) {
        if (out != in)
            memmove(out, in, n * sizeof(float));
        if (mask)
            memset(mask, 1, n);
        return;
    }
    if (p >= 1.0) {
        memset(out, 0, n * sizeof(float));
        if (mask)
            memset(mask, 0, n);
        return;
    }
    const float scale = (float)(1.0 / (1.0 - p));
    for (size_t i = 0; i < n; i++) {
        bool drop = ckpt_rng_uniform(rng) < p;
        out[i] = drop ? 0.0f : in[i] * scale;
        if (mask)
            mask[i] = drop ? 0 : 1;
    }
}

void ckpt_nn_dropout_forward(float *out, const float *in, size_t n, double p, ckpt_rng *rng)
{
    ckpt_nn_dropout_forward_mask(out, NULL, in, n, p, rng);
}

void ckpt_nn_add_forward(float *out, const float *a, const float *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = a[i] + b[i];
}

/* ---------------------------------------------------------------- pooling */

/* torch's pooling_output_shape */
static int64_t pool_out(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil,
                        bool ceil)
{
    int64_t num = in + 2 * pad - dil * (k - 1) - 1 + (ceil ? stride - 1 : 0);
    int64_t q = num / stride;
    if (num % stride != 0 && num < 0)
        q--; /* floor division */
    int64_t out = q + 1;
    if (ceil && (out - 1) * stride >= in + pad)
        out--;
    return out;
}

bool ckpt_nn_pool2d_out_size(ckpt_nn_pool2d_dims *d)
{
    d->oh = pool_out(d->h, d->kh, d->ph, d->sh, d->dh, d->ceil_mode);
    d->ow = pool_out(d->w, d->kw, d->pw, d->sw, d->dw, d->ceil_mode);
    return d->oh > 0 && d->ow > 0;
}

void ckpt_nn__pool_taps(int64_t o, int64_t s, int64_t p, int64_t dil, int64_t k, int64_t n,
                        int64_t *start, int64_t *k0, int64_t *k1)
{
    int64_t i0 = o * s - p; /* input index of tap 0 */
    int64_t a, b;
    if (dil == 1) {
        a = i0 < 0 ? -i0 : 0;
        b = n - i0 < 0 ? 0 : n - i0;
    } else {
        a = i0 < 0 ? (-i0 + dil - 1) / dil : 0;
        b = n - 1 - i0 < 0 ? 0 : (n - 1 - i0) / dil + 1;
    }
    *start = i0;
    *k0 = a;
    *k1 = b < k ? b : k;
}

/* the running max of a window as the scan takes it: a NaN wins */
static inline float maxpool_take(float m, float v)
{
    return v > m || v != v ? v : m;
}

void ckpt_nn_maxpool2d_forward_d(float *out, const float *in, const ckpt_nn_pool2d_dims *d)
{
    const int64_t h = d->h, w = d->w, sw = d->sw;
    /* output columns [xlo, xhi) whose whole window row lies inside [0, w):
     * there the taps need no clipping (the common 2- and 3-wide windows
     * unrolled); the border columns take the clipped path below */
    const int64_t span = (d->kw - 1) * d->dw;
    int64_t xlo = (d->pw + sw - 1) / sw, xhi = 0;
    if (w - 1 + d->pw - span >= 0)
        xhi = (w - 1 + d->pw - span) / sw + 1;
    xhi = xhi < d->ow ? xhi : d->ow;
    if (xlo > xhi)
        xlo = xhi;
    for (int64_t c = 0; c < d->bc; c++) {
        const float *pl = in + c * h * w;
        for (int64_t oy = 0; oy < d->oh; oy++) {
            int64_t y0, ky0, ky1;
            ckpt_nn__pool_taps(oy, d->sh, d->ph, d->dh, d->kh, h, &y0, &ky0, &ky1);
            float *q = out + (c * d->oh + oy) * d->ow;
            if (xhi > xlo && ky1 > ky0) {
                const float *base = pl + (y0 + ky0 * d->dh) * w - d->pw;
                const int64_t rows = ky1 - ky0, rstep = d->dh * w;
                /* the 2x2 and 3x3 windows as straight-line selects (the
                 * compiler vectorises them across output columns) */
                if (d->dw == 1 && d->kw == 2 && rows == 2) {
                    const float *r0 = base, *r1 = base + rstep;
                    for (int64_t ox = xlo; ox < xhi; ox++) {
                        const int64_t j = ox * sw;
                        q[ox] = maxpool_take(maxpool_take(maxpool_take(r0[j], r0[j + 1]), r1[j]),
                                             r1[j + 1]);
                    }
                } else if (d->dw == 1 && d->kw == 3 && rows == 3) {
                    const float *r0 = base, *r1 = base + rstep, *r2 = base + 2 * rstep;
                    for (int64_t ox = xlo; ox < xhi; ox++) {
                        const int64_t j = ox * sw;
                        float m = maxpool_take(maxpool_take(r0[j], r0[j + 1]), r0[j + 2]);
                        m = maxpool_take(maxpool_take(maxpool_take(m, r1[j]), r1[j + 1]),
                                         r1[j + 2]);
                        q[ox] = maxpool_take(maxpool_take(maxpool_take(m, r2[j]), r2[j + 1]),
                                             r2[j + 2]);
                    }
                } else {
                    for (int64_t ox = xlo; ox < xhi; ox++) {
                        const float *p = base + ox * sw;
                        float m = -INFINITY;
                        for (int64_t ky = 0; ky < rows; ky++, p += rstep)
                            for (int64_t kx = 0; kx < d->kw; kx++)
                                m = maxpool_take(m, p[kx * d->dw]);
                        q[ox] = m;
                    }
                }
            }
            for (int64_t ox = 0; ox < d->ow; ox++) {
                if (ox == xlo && xhi > xlo && ky1 > ky0) {
                    ox = xhi - 1;
                    continue;
                }
                int64_t x0, kx0, kx1;
                ckpt_nn__pool_taps(ox, d->sw, d->pw, d->dw, d->kw, w, &x0, &kx0, &kx1);
                float m = -INFINITY;
                for (int64_t ky = ky0; ky < ky1; ky++) {
                    const float *row = pl + (y0 + ky * d->dh) * w + x0;
                    for (int64_t kx = kx0; kx < kx1; kx++) {
                        float v = row[kx * d->dw], r = v > m ? v : m;
                        m = v != v ? v : r;
                    }
                }
                out[(c * d->oh + oy) * d->ow + ox] = m;
            }
        }
    }
}

ckpt_nn_pool2d_dims ckpt_nn__pool2d_square(int64_t bc, int64_t h, int64_t w, int64_t k, int64_t s,
                                           int64_t p, int64_t oh, int64_t ow)
{
    return (ckpt_nn_pool2d_dims){.bc = bc,
                                 .h = h,
                                 .w = w,
                                 .kh = k,
                                 .kw = k,
                                 .sh = s,
                                 .sw = s,
                                 .ph = p,
                                 .pw = p,
                                 .dh = 1,
                                 .dw = 1,
                                 .oh = oh,
                                 .ow = ow};
}

void ckpt_nn_maxpool2d_forward(float *out, const float *in, int64_t bc, int64_t h, int64_t w,
                               int64_t k, int64_t s, int64_t p, int64_t oh, int64_t ow)
{
    ckpt_nn_pool2d_dims d = ckpt_nn__pool2d_square(bc, h, w, k, s, p, oh, ow);
    ckpt_nn_maxpool2d_forward_d(out, in, &d);
}

void ckpt_nn_avgpool2d_forward_d(float *out, const float *in, const ckpt_nn_pool2d_dims *d)
{
    const int64_t h = d->h, w = d->w;
    for (int64_t c = 0; c < d->bc; c++) {
        const float *pl = in + c * h * w;
        float *q = out + c * d->oh * d->ow;
        for (int64_t oy = 0; oy < d->oh; oy++) {
            for (int64_t ox = 0; ox < d->ow; ox++) {
                int64_t y0, y1, x0, x1;
                double div = ckpt_nn__avgpool_window(d, oy, ox, &y0, &y1, &x0, &x1);
                double sum = 0.0;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++)
                        sum += (double)pl[iy * w + ix];
                q[oy * d->ow + ox] = div > 0 ? (float)(sum / div) : 0.0f;
            }
        }
    }
}

double ckpt_nn__avgpool_window(const ckpt_nn_pool2d_dims *d, int64_t oy, int64_t ox, int64_t *y0,
                               int64_t *y1, int64_t *x0, int64_t *x1)
{
    int64_t hs = oy * d->sh - d->ph, ws = ox * d->sw - d->pw;
    int64_t he = hs + d->kh < d->h + d->ph ? hs + d->kh : d->h + d->ph;
    int64_t we = ws + d->kw < d->w + d->pw ? ws + d->kw : d->w + d->pw;
    int64_t pool = (he - hs) * (we - ws);
    hs = hs < 0 ? 0 : hs;
    ws = ws < 0 ? 0 : ws;
    he = he < d->h ? he : d->h;
    we = we < d->w ? we : d->w;
    *y0 = hs, *y1 = he, *x0 = ws, *x1 = we;
    if (hs >= he || ws >= we)
        return 0.0;
    if (d->divisor)
        return (double)d->divisor;
    return d->exclude_pad ? (double)((he - hs) * (we - ws)) : (double)pool;
}

void ckpt_nn_avgpool2d_forward(float *out, const float *in, int64_t bc, int64_t h, int64_t w,
                               int64_t k, int64_t s, int64_t p, int64_t oh, int64_t ow)
{
    ckpt_nn_pool2d_dims d = ckpt_nn__pool2d_square(bc, h, w, k, s, p, oh, ow);
    ckpt_nn_avgpool2d_forward_d(out, in, &d);
}

void ckpt_nn_adaptive_avgpool2d_forward(float *out, const float *in, int64_t bc, int64_t h,
                                        int64_t w, int64_t oh, int64_t ow)
{
    for (int64_t c = 0; c < bc; c++) {
        const float *pl = in + c * h * w;
        float *q = out + c * oh * ow;
        for (int64_t oy = 0; oy < oh; oy++) {
            int64_t y0 = (oy * h) / oh, y1 = ((oy + 1) * h + oh - 1) / oh;
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t x0 = (ox * w) / ow, x1 = ((ox + 1) * w + ow - 1) / ow;
                double sum = 0.0;
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++)
                        sum += (double)pl[iy * w + ix];
                q[oy * ow + ox] = (float)(sum / (double)((y1 - y0) * (x1 - x0)));
            }
        }
    }
}

/* -------------------------------------------------------------- attention */

void ckpt_nn_attention_forward(float *out, const float *q, const float *k, const float *v,
                               float *scores, int64_t t, int64_t s, int64_t hd, int64_t qs,
                               int64_t ks, int64_t vs, int64_t os, double p, ckpt_rng *rng)
{
    const float scale = (float)(1.0 / sqrt((double)hd));
    /* scores (T,S) = q (T,HD) @ k^T (HD,S) / sqrt(HD) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)t, (int)s, (int)hd, scale, q,
                (int)qs, k, (int)ks, 0.0f, scores, (int)s);
    ckpt_nn_softmax_forward(scores, scores, t, s, 1);
    if (p > 0.0 && rng)
        ckpt_nn_dropout_forward(scores, scores, (size_t)(t * s), p, rng);
    /* out (T,HD) = scores (T,S) @ v (S,HD) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)t, (int)hd, (int)s, 1.0f, scores,
                (int)s, v, (int)vs, 0.0f, out, (int)os);
}
