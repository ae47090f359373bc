/* src/ops/backward.c - backward kernels and losses (see backward.h, ckpt/nn.h).
 *
 * Each kernel adds into its gradients and never allocates.  Reductions over
 * a batch (bias and weight sums of norms, loss sums) accumulate in double. */
#include "ops/backward.h"

#include <cblas.h>
#include <math.h>

#include "ckpt/error.h"
#include "core/err.h"

/* ----------------------------------------------------------------- linear */

void ckpt_nn_linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                             const float *w, int64_t n, int64_t ic, int64_t oc)
{
    /* din (N,IC) += dout (N,OC) @ w (OC,IC) */
    if (din && n > 0 && ic > 0 && oc > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)n, (int)ic, (int)oc, 1.0f,
                    dout, (int)oc, w, (int)ic, 1.0f, din, (int)ic);
    /* dw (OC,IC) += dout^T (OC,N) @ in (N,IC) */
    if (dw && n > 0 && ic > 0 && oc > 0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)oc, (int)ic, (int)n, 1.0f, dout,
                    (int)oc, in, (int)ic, 1.0f, dw, (int)ic);
    if (db) {
        /* column sums in blocks of 256 columns, rows in order (each column's
         * sum is the same sequence of double adds as a per-column loop) */
        for (int64_t o0 = 0; o0 < oc; o0 += 256) {
            const int64_t m = oc - o0 < 256 ? oc - o0 : 256;
            double acc[256];
            for (int64_t j = 0; j < m; j++)
                acc[j] = 0.0;
            for (int64_t i = 0; i < n; i++)
                for (int64_t j = 0; j < m; j++)
                    acc[j] += (double)dout[i * oc + o0 + j];
            for (int64_t j = 0; j < m; j++)
                db[o0 + j] += (float)acc[j];
        }
    }
}

/* ----------------------------------------------------------------- conv2d */

size_t ckpt_nn_conv2d_backward_ws(const ckpt_nn_conv2d_dims *d)
{
    return (size_t)(d->c / d->g * d->kh * d->kw) * (size_t)(d->oh * d->ow);
}

/* dx (CG,H,W) += the columns cols (CG*KH*KW, OH*OW) scattered back (adjoint
 * of ckpt_nn__im2col; the same in-plane column range per kernel column) */
static void col2im_add(float *dx, const float *cols, int64_t cg, const ckpt_nn_conv2d_dims *d)
{
    const int64_t np = d->oh * d->ow, sw = d->sw;
    for (int64_t ci = 0; ci < cg; ci++) {
        for (int64_t ky = 0; ky < d->kh; ky++) {
            for (int64_t kx = 0; kx < d->kw; kx++) {
                const float *row = cols + ((ci * d->kh + ky) * d->kw + kx) * np;
                const int64_t x0 = kx * d->dw - d->pw;
                const int64_t lo = x0 >= 0 ? 0 : (-x0 + sw - 1) / sw;
                int64_t hi = d->w - x0 <= 0 ? 0 : (d->w - x0 + sw - 1) / sw;
                hi = hi < d->ow ? hi : d->ow;
                for (int64_t oy = 0; oy < d->oh; oy++) {
                    int64_t iy = oy * d->sh - d->ph + ky * d->dh;
                    if (iy < 0 || iy >= d->h)
                        continue;
                    float *dst = dx + (ci * d->h + iy) * d->w;
                    const float *src = row + oy * d->ow;
                    if (sw == 1) {
                        for (int64_t ox = lo; ox < hi; ox++)
                            dst[ox + x0] += src[ox];
                    } else {
                        for (int64_t ox = lo; ox < hi; ox++)
                            dst[ox * sw + x0] += src[ox];
                    }
                }
            }
        }
    }
}

void ckpt_nn_conv2d_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                             const float *w, float *ws, const ckpt_nn_conv2d_dims *d)
{
    const int64_t cg = d->c / d->g, ocg = d->oc / d->g;
    const int64_t kk = cg * d->kh * d->kw, np = d->oh * d->ow;
    if (db) {
        for (int64_t o = 0; o < d->oc; o++) {
            double acc = 0.0;
            for (int64_t bi = 0; bi < d->b; bi++)
                for (int64_t i = 0; i < np; i++)
                    acc += (double)dout[(bi * d->oc + o) * np + i];
            db[o] += (float)acc;
        }
    }
    if ((!din && !dw) || kk == 0 || np == 0 || ocg == 0)
        return;
    for (int64_t bi = 0; bi < d->b; bi++) {
        for (int64_t gi = 0; gi < d->g; gi++) {
            const float *x = in + (bi * d->c + gi * cg) * d->h * d->w;
            const float *go = dout + (bi * d->oc + gi * ocg) * np; /* (OCG, OH*OW) */
            const float *wg = w + gi * ocg * kk;                   /* (OCG, KK) */
            if (dw) {
                /* dw_g (OCG,KK) += go (OCG,NP) @ cols^T (NP,KK) */
                ckpt_nn__im2col(ws, x, cg, d);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)ocg, (int)kk, (int)np,
                            1.0f, go, (int)np, ws, (int)np, 1.0f, dw + gi * ocg * kk, (int)kk);
            }
            if (din) {
                /* cols (KK,NP) = wg^T (KK,OCG) @ go (OCG,NP); then scatter into din */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)kk, (int)np, (int)ocg,
                            1.0f, wg, (int)kk, go, (int)np, 0.0f, ws, (int)np);
                col2im_add(din + (bi * d->c + gi * cg) * d->h * d->w, ws, cg, d);
            }
        }
    }
}

/* -------------------------------------------------------------------- pad */

void ckpt_nn_pad2d_backward(float *din, const float *dout, int64_t bc, int64_t h, int64_t w,
                            int64_t top, int64_t bottom, int64_t left, int64_t right, int mode)
{
    const int64_t oh = h + top + bottom, ow = w + left + right;
    for (int64_t c = 0; c < bc; c++) {
        float *pl = din + c * h * w;
        const float *g = dout + c * oh * ow;
        for (int64_t y = 0; y < oh; y++) {
            int64_t sy = ckpt_nn__pad_src(y - top, h, mode);
            if (sy < 0)
                continue;
            for (int64_t x = 0; x < ow; x++) {
                int64_t sx = ckpt_nn__pad_src(x - left, w, mode);
                if (sx >= 0)
                    pl[sy * w + sx] += g[y * ow + x];
            }
        }
    }
}

/* ------------------------------------------------------------------ norms */

void ckpt_nn_batchnorm_backward(float *din, float *dw, float *db, const float *dout,
                                const float *in, const float *mean, const float *var,
                                const float *w, int64_t b, int64_t c, int64_t s, double eps,
                                bool batch_stats)
{
    const double m = (double)(b * s);
    for (int64_t ci = 0; ci < c; ci++) {
        const double mu = (double)mean[ci];
        const double invstd = 1.0 / sqrt((double)var[ci] + eps);
        const double wc = w ? (double)w[ci] : 1.0;
        double sum_g = 0.0, sum_gx = 0.0; /* sum dout, sum dout * xhat */
        for (int64_t bi = 0; bi < b; bi++) {
            const float *x = in + (bi * c + ci) * s, *g = dout + (bi * c + ci) * s;
            for (int64_t i = 0; i < s; i++) {
                sum_g += (double)g[i];
                sum_gx += (double)g[i] * ((double)x[i] - mu) * invstd;
            }
        }
        if (db)
            db[ci] += (float)sum_g;
        if (dw)
            dw[ci] += (float)sum_gx;
        if (!din)
            continue;
        for (int64_t bi = 0; bi < b; bi++) {
            const float *x = in + (bi * c + ci) * s, *g = dout + (bi * c + ci) * s;
            float *dx = din + (bi * c + ci) * s;
            for (int64_t i = 0; i < s; i++) {
                double v;
                if (batch_stats) {
                    /* the statistics depend on x: subtract the mean gradient and the
                     * projection onto xhat */
                    double xhat = ((double)x[i] - mu) * invstd;
                    v = ((double)g[i] - sum_g / m - xhat * sum_gx / m) * invstd * wc;
                } else {
                    v = (double)g[i] * invstd * wc;
                }
                dx[i] += (float)v;
            }
        }
    }
}

void ckpt_nn_layernorm_backward(float *din, float *dw, float *db, const float *dout,
                                const float *in, const float *w, int64_t n, int64_t d, double eps)
{
    for (int64_t r = 0; r < n; r++) {
        const float *x = in + r * d, *g = dout + r * d;
        double mu = 0.0, var = 0.0;
        for (int64_t j = 0; j < d; j++)
            mu += (double)x[j];
        mu /= (double)d;
        for (int64_t j = 0; j < d; j++)
            var += ((double)x[j] - mu) * ((double)x[j] - mu);
        var /= (double)d;
        const double rstd = 1.0 / sqrt(var + eps);
        double sum_a = 0.0, sum_ax = 0.0; /* a = dout * w: gradient w.r.t. xhat */
        for (int64_t j = 0; j < d; j++) {
            double xhat = ((double)x[j] - mu) * rstd;
            double a = (double)g[j] * (w ? (double)w[j] : 1.0);
            sum_a += a;
            sum_ax += a * xhat;
            if (dw)
                dw[j] += (float)((double)g[j] * xhat);
            if (db)
                db[j] += g[j];
        }
        if (!din)
            continue;
        for (int64_t j = 0; j < d; j++) {
            double xhat = ((double)x[j] - mu) * rstd;
            double a = (double)g[j] * (w ? (double)w[j] : 1.0);
            din[r * d + j] += (float)((a - sum_a / (double)d - xhat * sum_ax / (double)d) * rstd);
        }
    }
}

/* -------------------------------------------------------------- embedding */

int ckpt_nn_embedding_backward(float *dtable, const float *dout, const int64_t *idx, int64_t n,
                               int64_t v, int64_t d, int64_t padding_idx)
{
    for (int64_t i = 0; i < n; i++) {
        if (idx[i] < 0 || idx[i] >= v)
            return -1;
        if (padding_idx >= 0 && idx[i] == padding_idx)
            continue;
        float *row = dtable + idx[i] * d;
        for (int64_t j = 0; j < d; j++)
            row[j] += dout[i * d + j];
    }
    return 0;
}

/* ------------------------------------------------------------ activations */

void ckpt_nn_relu_backward(float *din, const float *dout, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const float g = dout[i], x = in[i];
        din[i] += x > 0.0f ? g : 0.0f;
    }
}

void ckpt_nn_gelu_backward(float *din, const float *dout, const float *in, size_t n)
{
    /* d/dx x*Phi(x) = Phi(x) + x*phi(x) */
    const double inv_sqrt2 = 0.70710678118654752440, inv_sqrt_2pi = 0.39894228040143267794;
    for (size_t i = 0; i < n; i++) {
        double x = (double)in[i];
        double cdf = 0.5 * (1.0 + erf(x * inv_sqrt2));
        double pdf = exp(-0.5 * x * x) * inv_sqrt_2pi;
        din[i] += (float)((double)dout[i] * (cdf + x * pdf));
    }
}

void ckpt_nn_gelu_tanh_backward(float *din, const float *dout, const float *in, size_t n)
{
    /* y = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3) */
    const double beta = 0.79788456080286535588, kappa = 0.044715;
    for (size_t i = 0; i < n; i++) {
        double x = (double)in[i];
        double t = tanh(beta * (x + kappa * x * x * x));
        double du = beta * (1.0 + 3.0 * kappa * x * x);
        double dy = 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du;
        din[i] += (float)((double)dout[i] * dy);
    }
}

void ckpt_nn_silu_backward(float *din, const float *dout, const float *in, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double x = (double)in[i];
        double sg = 1.0 / (1.0 + exp(-x));
        din[i] += (float)((double)dout[i] * sg * (1.0 + x * (1.0 - sg)));
    }
}

void ckpt_nn_tanh_backward(float *din, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double y = (double)out[i];
        din[i] += (float)((double)dout[i] * (1.0 - y * y));
    }
}

void ckpt_nn_sigmoid_backward(float *din, const float *dout, const float *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double y = (double)out[i];
        din[i] += (float)((double)dout[i] * y * (1.0 - y));
    }
}

void ckpt_nn_flatten_backward(float *din, const float *dout, size_t n)
{
    for (size_t i = 0; i < n; i++)
        din[i] += dout[i];
}

void ckpt_nn_dropout_backward(float *din, const float *dout, const uint8_t *mask, size_t n,
                              double p)
{
    if (p >= 1.0)
        return;
    const float scale = (float)(1.0 / (1.0 - p));
    for (size_t i = 0; i < n; i++)
        if (mask[i])
            din[i] += dout[i] * scale;
}

/* ---------------------------------------------------------------- pooling */

void ckpt_nn_maxpool2d_backward_d(float *din, const float *dout, const float *in,
                                  const ckpt_nn_pool2d_dims *d)
{
    const int64_t h = d->h, w = d->w;
    for (int64_t c = 0; c < d->bc; c++) {
        const float *pl = in + c * h * w;
        float *dpl = din + c * h * w;
        const float *g = dout + c * d->oh * d->ow;
        for (int64_t oy = 0; oy < d->oh; oy++) {
            int64_t y0, ky0, ky1;
            ckpt_nn__pool_taps(oy, d->sh, d->ph, d->dh, d->kh, h, &y0, &ky0, &ky1);
            for (int64_t ox = 0; ox < d->ow; ox++) {
                int64_t x0, kx0, kx1;
                ckpt_nn__pool_taps(ox, d->sw, d->pw, d->dw, d->kw, w, &x0, &kx0, &kx1);
                if (ky0 >= ky1 || kx0 >= kx1)
                    continue;
                /* the first tap, then any larger value or NaN (the last NaN wins) */
                int64_t arg = (y0 + ky0 * d->dh) * w + x0 + kx0 * d->dw;
                float m = pl[arg];
                for (int64_t ky = ky0; ky < ky1; ky++) {
                    const int64_t rowi = (y0 + ky * d->dh) * w + x0;
                    for (int64_t kx = kx0; kx < kx1; kx++) {
                        const int64_t idx = rowi + kx * d->dw;
                        float v = pl[idx];
                        bool take = (v > m) | (v != v);
                        m = take ? v : m;
                        arg = take ? idx : arg;
                    }
                }
                dpl[arg] += g[oy * d->ow + ox];
            }
        }
    }
}

void ckpt_nn_maxpool2d_backward(float *din, const float *dout, const float *in, int64_t bc,
                                int64_t h, int64_t w, int64_t k, int64_t s, int64_t p, int64_t oh,
                                int64_t ow)
{
    ckpt_nn_pool2d_dims d = ckpt_nn__pool2d_square(bc, h, w, k, s, p, oh, ow);
    ckpt_nn_maxpool2d_backward_d(din, dout, in, &d);
}

void ckpt_nn_avgpool2d_backward_d(float *din, const float *dout, const ckpt_nn_pool2d_dims *d)
{
    const int64_t w = d->w;
    for (int64_t c = 0; c < d->bc; c++) {
        float *dpl = din + c * d->h * w;
        for (int64_t oy = 0; oy < d->oh; oy++) {
            for (int64_t ox = 0; ox < d->ow; ox++) {
                int64_t y0, y1, x0, x1;
                double div = ckpt_nn__avgpool_window(d, oy, ox, &y0, &y1, &x0, &x1);
                if (div <= 0)
                    continue;
                float g = (float)((double)dout[(c * d->oh + oy) * d->ow + ox] / div);
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++)
                        dpl[iy * w + ix] += g;
            }
        }
    }
}

void ckpt_nn_avgpool2d_backward(float *din, const float *dout, int64_t bc, int64_t h, int64_t w,
                                int64_t k, int64_t s, int64_t p, int64_t oh, int64_t ow)
{
    ckpt_nn_pool2d_dims d = ckpt_nn__pool2d_square(bc, h, w, k, s, p, oh, ow);
    ckpt_nn_avgpool2d_backward_d(din, dout, &d);
}

void ckpt_nn_adaptive_avgpool2d_backward(float *din, const float *dout, int64_t bc, int64_t h,
                                         int64_t w, int64_t oh, int64_t ow)
{
    for (int64_t c = 0; c < bc; c++) {
        float *dpl = din + c * h * w;
        for (int64_t oy = 0; oy < oh; oy++) {
            int64_t y0 = (oy * h) / oh, y1 = ((oy + 1) * h + oh - 1) / oh;
            for (int64_t ox = 0; ox < ow; ox++) {
                int64_t x0 = (ox * w) / ow, x1 = ((ox + 1) * w + ow - 1) / ow;
                float g = (float)((double)dout[(c * oh + oy) * ow + ox] /
                                  (double)((y1 - y0) * (x1 - x0)));
                for (int64_t iy = y0; iy < y1; iy++)
                    for (int64_t ix = x0; ix < x1; ix++)
                        dpl[iy * w + ix] += g;
            }
        }
    }
}

/* ----------------------------------------------------------------- losses */

/* max and log(sum exp(z - max)) of one row z (C) */
static void row_lse(const float *z, int64_t c, double *mx, double *lse)
{
    double m = -HUGE_VAL, sum = 0.0;
    for (int64_t j = 0; j < c; j++)
        if ((double)z[j] > m)
            m = (double)z[j];
    for (int64_t j = 0; j < c; j++)
        sum += exp((double)z[j] - m);
    *mx = m;
    *lse = log(sum);
}

/* M, the number of targets that count; < 0 (recorded in `err`, naming the
 * row and the bad target) when an argument is wrong */
static int64_t ce_count(const void *out, const float *logits, const int64_t *target, int64_t n,
                        int64_t c, double label_smoothing, int64_t ignore_index, const char *fn,
                        ckpt_error *err)
{
    if (n < 0 || c <= 0)
        return CKPT_FAIL(err, CKPT_E_SHAPE,
                         "%s: logits shape (%lld, %lld) is not (N >= 0, C >= 1)", fn,
                         (long long)n, (long long)c);
    if (!out || (n > 0 && (!logits || !target)))
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: output, logits or target is NULL", fn);
    if (!(label_smoothing >= 0.0 && label_smoothing <= 1.0))
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: label_smoothing %g is not in [0, 1]", fn,
                         label_smoothing);
    int64_t m = 0;
    for (int64_t i = 0; i < n; i++) {
        if (target[i] == ignore_index)
            continue;
        if (target[i] < 0 || target[i] >= c)
            return CKPT_FAIL(err, CKPT_E_ARG,
                             "%s: target[%lld] = %lld is out of range [0, %lld) and is not "
                             "ignore_index (%lld)",
                             fn, (long long)i, (long long)target[i], (long long)c,
                             (long long)ignore_index);
        m++;
    }
    return m;
}

int ckpt_nn_cross_entropy_forward(float *loss, const float *logits, const int64_t *target,
                                  int64_t n, int64_t c, double label_smoothing,
                                  int64_t ignore_index, ckpt_error *err)
{
    int64_t m = ce_count(loss, logits, target, n, c, label_smoothing, ignore_index,
                         "cross_entropy forward", err);
    if (m < 0)
        return (int)m;
    double nll = 0.0, smooth = 0.0;
    for (int64_t i = 0; i < n; i++) {
        if (target[i] == ignore_index)
            continue;
        const float *z = logits + i * c;
        double mx = 0.0, lse = 0.0;
        row_lse(z, c, &mx, &lse);
        nll -= (double)z[target[i]] - mx - lse;
        if (label_smoothing > 0.0) {
            double s = 0.0; /* sum over classes of -log p */
            for (int64_t j = 0; j < c; j++)
                s -= (double)z[j] - mx - lse;
            smooth += s / (double)c;
        }
    }
    *loss = (float)(((1.0 - label_smoothing) * nll + label_smoothing * smooth) / (double)m);
    return 0;
}

int ckpt_nn_cross_entropy_backward(float *dlogits, float dloss, const float *logits,
                                   const int64_t *target, int64_t n, int64_t c,
                                   double label_smoothing, int64_t ignore_index, ckpt_error *err)
{
    int64_t m = ce_count(dlogits, logits, target, n, c, label_smoothing, ignore_index,
                         "cross_entropy backward", err);
    if (m < 0)
        return (int)m;
    /* d/dz_j = (p_j - (1-eps) [j == t] - eps / C) / M */
    const double g = (double)dloss / (double)m, off = label_smoothing / (double)c;
    for (int64_t i = 0; i < n; i++) {
        if (target[i] == ignore_index)
            continue;
        const float *z = logits + i * c;
        float *dz = dlogits + i * c;
        double mx = 0.0, lse = 0.0;
        row_lse(z, c, &mx, &lse);
        for (int64_t j = 0; j < c; j++) {
            double pj = exp((double)z[j] - mx - lse);
            double t = j == target[i] ? 1.0 - label_smoothing : 0.0;
            dz[j] += (float)(g * (pj - t - off));
        }
    }
    return 0;
}

float ckpt_nn_mse_loss_forward(const float *x, const float *y, size_t n)
{
    double acc = 0.0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)x[i] - (double)y[i];
        acc += e * e;
    }
    return (float)(acc / (double)n);
}

void ckpt_nn_mse_loss_backward(float *dx, float *dy, float dloss, const float *x, const float *y,
                               size_t n)
{
    const double g = 2.0 * (double)dloss / (double)n;
    for (size_t i = 0; i < n; i++) {
        double e = g * ((double)x[i] - (double)y[i]);
        if (dx)
            dx[i] += (float)e;
        if (dy)
            dy[i] -= (float)e;
    }
}
