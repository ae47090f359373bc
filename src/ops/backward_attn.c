/* src/ops/backward_attn.c - backward kernels for ConvTranspose2d, GroupNorm, Softmax,
 * LogSoftmax, MultiheadAttention and TransformerEncoderLayer (see backward.h).
 *
 * Same conventions as backward.c: gradients are added into, NULL means "not wanted",
 * scratch is passed in, reductions accumulate in double.  MultiheadAttention and the
 * encoder layer recompute their forward into the scratch from the inputs and the
 * parameters, the same way the forward kernels compute it. */
#include "ops/backward.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* ------------------------------------------------------- conv_transpose2d */

size_t ckpt_nn_conv_transpose2d_backward_ws(const ckpt_nn_conv_transpose2d_dims *d)
{
    return (size_t)(d->oc / d->g * d->kh * d->kw) * (size_t)(d->h * d->w);
}

/* cols (OCG*KH*KW, H*W): the output values y (OCG,OH,OW) each input position scattered
 * to in the forward (zero where it fell outside) - the adjoint of the forward's col2im */
static void convt_gather(float *cols, const float *y, int64_t ocg,
                         const ckpt_nn_conv_transpose2d_dims *d)
{
    const int64_t n = d->h * d->w;
    for (int64_t o = 0; o < ocg; o++) {
        const float *plane = y + o * d->oh * d->ow;
        for (int64_t ki = 0; ki < d->kh; ki++) {
            for (int64_t kj = 0; kj < d->kw; kj++) {
                float *row = cols + ((o * d->kh + ki) * d->kw + kj) * n;
                for (int64_t iy = 0; iy < d->h; iy++) {
                    int64_t oy = iy * d->sh - d->ph + ki * d->dh;
                    for (int64_t ix = 0; ix < d->w; ix++) {
                        int64_t ox = ix * d->sw - d->pw + kj * d->dw;
                        bool inside = oy >= 0 && oy < d->oh && ox >= 0 && ox < d->ow;
                        row[iy * d->w + ix] = inside ? plane[oy * d->ow + ox] : 0.0f;
                    }
                }
            }
        }
    }
}

void ckpt_nn_conv_transpose2d_backward(float *din, float *dw, float *db, const float *dout,
                                       const float *in, const float *w, float *ws,
                                       const ckpt_nn_conv_transpose2d_dims *d)
{
    const int64_t cg = d->c / d->g, ocg = d->oc / d->g;
    const int64_t m = ocg * d->kh * d->kw, n = d->h * d->w, on = d->oh * d->ow;
    if (db) {
        for (int64_t o = 0; o < d->oc; o++) {
            double acc = 0.0;
            for (int64_t bi = 0; bi < d->b; bi++)
                for (int64_t i = 0; i < on; i++)
                    acc += (double)dout[(bi * d->oc + o) * on + i];
            db[o] += (float)acc;
        }
    }
    if ((!din && !dw) || m == 0 || n == 0 || cg == 0)
        return;
    for (int64_t bi = 0; bi < d->b; bi++) {
        for (int64_t gi = 0; gi < d->g; gi++) {
            const float *x = in + (bi * d->c + gi * cg) * n; /* (CG, H*W) */
            convt_gather(ws, dout + (bi * d->oc + gi * ocg) * on, ocg, d);
            if (din) /* din_g (CG,N) += w_g (CG,M) @ cols (M,N) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)cg, (int)n, (int)m,
                            1.0f, w + gi * cg * m, (int)m, ws, (int)n, 1.0f,
                            din + (bi * d->c + gi * cg) * n, (int)n);
            if (dw) /* dw_g (CG,M) += x (CG,N) @ cols^T (N,M) */
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)cg, (int)m, (int)n,
                            1.0f, x, (int)n, ws, (int)n, 1.0f, dw + gi * cg * m, (int)m);
        }
    }
}

/* -------------------------------------------------------------- groupnorm */

void ckpt_nn_groupnorm_backward(float *din, float *dw, float *db, const float *dout,
                                const float *in, const float *w, int64_t b, int64_t c, int64_t s,
                                int64_t g, double eps)
{
    const int64_t cg = c / g, cnt = cg * s;
    for (int64_t bi = 0; bi < b; bi++) {
        for (int64_t gi = 0; gi < g; gi++) {
            const float *x = in + (bi * c + gi * cg) * s, *gy = dout + (bi * c + gi * cg) * s;
            double mu = 0.0, var = 0.0;
            for (int64_t i = 0; i < cnt; i++)
                mu += (double)x[i];
            mu = cnt > 0 ? mu / (double)cnt : 0.0;
            for (int64_t i = 0; i < cnt; i++)
                var += ((double)x[i] - mu) * ((double)x[i] - mu);
            var = cnt > 0 ? var / (double)cnt : 0.0;
            const double rstd = 1.0 / sqrt(var + eps);
            double sum_a = 0.0, sum_ax = 0.0; /* a = dout * w: gradient w.r.t. xhat */
            for (int64_t ci = 0; ci < cg; ci++) {
                const int64_t ch = gi * cg + ci;
                const double wc = w ? (double)w[ch] : 1.0;
                double sg = 0.0, sgx = 0.0;
                for (int64_t i = 0; i < s; i++) {
                    double gv = (double)gy[ci * s + i];
                    double xhat = ((double)x[ci * s + i] - mu) * rstd;
                    sg += gv;
                    sgx += gv * xhat;
                }
                sum_a += sg * wc;
                sum_ax += sgx * wc;
                if (dw)
                    dw[ch] += (float)sgx;
                if (db)
                    db[ch] += (float)sg;
            }
            if (!din || cnt == 0)
                continue;
            float *dx = din + (bi * c + gi * cg) * s;
            for (int64_t ci = 0; ci < cg; ci++) {
                const double wc = w ? (double)w[gi * cg + ci] : 1.0;
                for (int64_t i = 0; i < s; i++) {
                    double xhat = ((double)x[ci * s + i] - mu) * rstd;
                    double a = (double)gy[ci * s + i] * wc;
                    dx[ci * s + i] +=
                        (float)((a - sum_a / (double)cnt - xhat * sum_ax / (double)cnt) * rstd);
                }
            }
        }
    }
}

/* ---------------------------------------------------------------- softmax */

static void softmax_bw_impl(float *din, const float *dout, const float *out, int64_t outer,
                            int64_t d, int64_t inner, bool logv)
{
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < inner; j++) {
            const int64_t base = o * d * inner + j;
            double sum = 0.0;
            for (int64_t i = 0; i < d; i++) {
                double gv = (double)dout[base + i * inner];
                sum += logv ? gv : gv * (double)out[base + i * inner];
            }
            for (int64_t i = 0; i < d; i++) {
                double gv = (double)dout[base + i * inner], y = (double)out[base + i * inner];
                din[base + i * inner] += (float)(logv ? gv - exp(y) * sum : y * (gv - sum));
            }
        }
    }
}

void ckpt_nn_softmax_backward(float *din, const float *dout, const float *out, int64_t outer,
                              int64_t d, int64_t inner)
{
    softmax_bw_impl(din, dout, out, outer, d, inner, false);
}

void ckpt_nn_logsoftmax_backward(float *din, const float *dout, const float *out, int64_t outer,
                                 int64_t d, int64_t inner)
{
    softmax_bw_impl(din, dout, out, outer, d, inner, true);
}

/* ----------------------------------------------------- MultiheadAttention */

size_t ckpt_nn_multihead_attention_backward_ws(const ckpt_nn_multihead_attention_dims *d)
{
    const int64_t rq = d->b * d->t, rk = d->b * d->s;
    return (size_t)(2 * (rq + 2 * rk) * d->e + d->b * d->h * d->t * d->s + 2 * rq * d->e +
                    d->t * d->s);
}

/* the scratch of the MultiheadAttention backward, carved from ws */
typedef struct mha_ws {
    float *pq, *pk, *pv; /* projections (RQ,E), (RK,E), (RK,E) */
    float *gq, *gk, *gv; /* their gradients */
    float *p;            /* attention weights before dropout (B,H,T,S) */
    float *att;          /* concatenated head outputs (RQ,E) */
    float *gatt;         /* its gradient */
    float *ts;           /* (T,S) */
} mha_ws;

static mha_ws mha_carve(float *ws, const ckpt_nn_multihead_attention_dims *d)
{
    const int64_t rq = d->b * d->t, rk = d->b * d->s, e = d->e;
    mha_ws w;
    w.pq = ws, w.pk = w.pq + rq * e, w.pv = w.pk + rk * e;
    w.gq = w.pv + rk * e, w.gk = w.gq + rq * e, w.gv = w.gk + rk * e;
    w.p = w.gv + rk * e;
    w.att = w.p + d->b * d->h * d->t * d->s;
    w.gatt = w.att + rq * e;
    w.ts = w.gatt + rq * e;
    return w;
}

/* row layout of a sequence of length len: rows between positions and between batch entries */
static void seq_steps(const ckpt_nn_multihead_attention_dims *d, int64_t len, int64_t *row_step,
                      int64_t *batch_step)
{
    *row_step = d->batch_first ? 1 : d->b;
    *batch_step = d->batch_first ? len : 1;
}

/* A (T,S) = P (T,S) with the dropout keep mask applied (as the forward's inverted dropout) */
static void apply_mask(float *a, const float *p, const uint8_t *mask, size_t n, double prob)
{
    const float scale = prob >= 1.0 ? 0.0f : (float)(1.0 / (1.0 - prob));
    for (size_t i = 0; i < n; i++)
        a[i] = mask[i] ? p[i] * scale : 0.0f;
}

/* Recompute the forward into w: projections, attention weights, head outputs; and
 * out (RQ,E) = out_proj(att) when out is non-NULL. */
static void mha_recompute(float *out, const mha_ws *w, const float *q, const float *k,
                          const float *v, const float *in_w, const float *in_b,
                          const float *out_w, const float *out_b, const uint8_t *mask,
                          double prob, const ckpt_nn_multihead_attention_dims *d)
{
    const int64_t e = d->e, hd = e / d->h, rq = d->b * d->t, rk = d->b * d->s;
    const float scale = (float)(1.0 / sqrt((double)hd));
    ckpt_nn_linear_forward(w->pq, q, in_w, in_b, rq, e, e);
    ckpt_nn_linear_forward(w->pk, k, in_w + e * e, in_b ? in_b + e : NULL, rk, e, e);
    ckpt_nn_linear_forward(w->pv, v, in_w + 2 * e * e, in_b ? in_b + 2 * e : NULL, rk, e, e);
    int64_t qrs, qbs, krs, kbs;
    seq_steps(d, d->t, &qrs, &qbs);
    seq_steps(d, d->s, &krs, &kbs);
    const int ldq = (int)(qrs * e), ldk = (int)(krs * e);
    for (int64_t bi = 0; bi < d->b; bi++) {
        for (int64_t hi = 0; hi < d->h; hi++) {
            const int64_t qo = bi * qbs * e + hi * hd, ko = bi * kbs * e + hi * hd;
            const int64_t po = (bi * d->h + hi) * d->t * d->s;
            float *p = w->p + po;
            /* scores (T,S) = Q (T,HD) @ K^T (HD,S) / sqrt(HD), then softmax over S */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)d->t, (int)d->s, (int)hd,
                        scale, w->pq + qo, ldq, w->pk + ko, ldk, 0.0f, p, (int)d->s);
            ckpt_nn_softmax_forward(p, p, d->t, d->s, 1);
            const float *a = p;
            if (mask) {
                apply_mask(w->ts, p, mask + po, (size_t)(d->t * d->s), prob);
                a = w->ts;
            }
            /* att (T,HD) = A (T,S) @ V (S,HD) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d->t, (int)hd, (int)d->s,
                        1.0f, a, (int)d->s, w->pv + ko, ldk, 0.0f, w->att + qo, ldq);
        }
    }
    if (out)
        ckpt_nn_linear_forward(out, w->att, out_w, out_b, rq, e, e);
}

void ckpt_nn_multihead_attention_backward(float *dq, float *dk, float *dv, float *din_w,
                                          float *din_b, float *dout_w, float *dout_b,
                                          const float *dout, const float *q, const float *k,
                                          const float *v, const float *in_w, const float *in_b,
                                          const float *out_w, const float *out_b,
                                          const uint8_t *attn_mask, double attn_p, float *ws,
                                          const ckpt_nn_multihead_attention_dims *d)
{
    const int64_t e = d->e, hd = e / d->h, rq = d->b * d->t, rk = d->b * d->s;
    if (rq <= 0 || rk <= 0 || e <= 0)
        return;
    const mha_ws w = mha_carve(ws, d);
    const float scale = (float)(1.0 / sqrt((double)hd));
    const float keep = attn_p >= 1.0 ? 0.0f : (float)(1.0 / (1.0 - attn_p));
    mha_recompute(NULL, &w, q, k, v, in_w, in_b, out_w, out_b, attn_mask, attn_p, d);
    /* out_proj: gatt (RQ,E) = dout @ out_w */
    memset(w.gatt, 0, (size_t)(rq * e) * sizeof(float));
    ckpt_nn_linear_backward(w.gatt, dout_w, out_b ? dout_b : NULL, dout, w.att, out_w, rq, e, e);
    memset(w.gq, 0, (size_t)((rq + 2 * rk) * e) * sizeof(float)); /* gq, gk, gv */
    int64_t qrs, qbs, krs, kbs;
    seq_steps(d, d->t, &qrs, &qbs);
    seq_steps(d, d->s, &krs, &kbs);
    const int ldq = (int)(qrs * e), ldk = (int)(krs * e), t = (int)d->t, s = (int)d->s;
    for (int64_t bi = 0; bi < d->b; bi++) {
        for (int64_t hi = 0; hi < d->h; hi++) {
            const int64_t qo = bi * qbs * e + hi * hd, ko = bi * kbs * e + hi * hd;
            const int64_t po = (bi * d->h + hi) * d->t * d->s;
            const float *p = w.p + po;
            const uint8_t *mk = attn_mask ? attn_mask + po : NULL;
            const float *a = p;
            if (mk) {
                apply_mask(w.ts, p, mk, (size_t)(d->t * d->s), attn_p);
                a = w.ts;
            }
            /* gV (S,HD) += A^T (S,T) @ gatt (T,HD) */
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s, (int)hd, t, 1.0f, a, s,
                        w.gatt + qo, ldq, 1.0f, w.gv + ko, ldk);
            /* gA (T,S) = gatt (T,HD) @ V^T (HD,S), through the dropout mask */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, t, s, (int)hd, 1.0f, w.gatt + qo,
                        ldq, w.pv + ko, ldk, 0.0f, w.ts, s);
            if (mk)
                for (int64_t i = 0; i < d->t * d->s; i++)
                    w.ts[i] = mk[i] ? w.ts[i] * keep : 0.0f;
            /* softmax backward in place: gS = P * (gA - rowsum(gA * P)) */
            for (int64_t i = 0; i < d->t; i++) {
                float *gr = w.ts + i * d->s;
                const float *pr = p + i * d->s;
                double sum = 0.0;
                for (int64_t j = 0; j < d->s; j++)
                    sum += (double)gr[j] * (double)pr[j];
                for (int64_t j = 0; j < d->s; j++)
                    gr[j] = (float)((double)pr[j] * ((double)gr[j] - sum));
            }
            /* gQ (T,HD) += scale gS (T,S) @ K (S,HD); gK (S,HD) += scale gS^T @ Q (T,HD) */
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, t, (int)hd, s, scale, w.ts, s,
                        w.pk + ko, ldk, 1.0f, w.gq + qo, ldq);
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, s, (int)hd, t, scale, w.ts, s,
                        w.pq + qo, ldq, 1.0f, w.gk + ko, ldk);
        }
    }
    /* the three input projections */
    const bool wb = in_b && din_b;
    ckpt_nn_linear_backward(dq, din_w, wb ? din_b : NULL, w.gq, q, in_w, rq, e, e);
    ckpt_nn_linear_backward(dk, din_w ? din_w + e * e : NULL, wb ? din_b + e : NULL, w.gk, k,
                            in_w + e * e, rk, e, e);
    ckpt_nn_linear_backward(dv, din_w ? din_w + 2 * e * e : NULL, wb ? din_b + 2 * e : NULL, w.gv,
                            v, in_w + 2 * e * e, rk, e, e);
}

/* ------------------------------------------------ TransformerEncoderLayer */

static ckpt_nn_multihead_attention_dims enc_mha_dims(
    const ckpt_nn_transformer_encoder_layer_dims *d)
{
    ckpt_nn_multihead_attention_dims m = {
        .b = d->b, .t = d->t, .s = d->t, .e = d->e, .h = d->h, .batch_first = d->batch_first};
    return m;
}

size_t ckpt_nn_transformer_encoder_layer_backward_ws(
    const ckpt_nn_transformer_encoder_layer_dims *d)
{
    const ckpt_nn_multihead_attention_dims m = enc_mha_dims(d);
    const int64_t r = d->b * d->t;
    return ckpt_nn_multihead_attention_backward_ws(&m) + (size_t)(9 * r * d->e + 4 * r * d->ff);
}

/* y (N) = x * mask / (1 - p) in place, as the forward's inverted dropout; no-op without mask */
static void drop_fwd(float *y, const uint8_t *mask, size_t n, double p)
{
    if (!mask)
        return;
    const float scale = p >= 1.0 ? 0.0f : (float)(1.0 / (1.0 - p));
    for (size_t i = 0; i < n; i++)
        y[i] = mask[i] ? y[i] * scale : 0.0f;
}

/* din (N) = dout through the dropout mask (a copy without one) */
static void drop_bwd(float *din, const float *dout, const uint8_t *mask, size_t n, double p)
{
    memset(din, 0, n * sizeof(float));
    if (mask)
        ckpt_nn_dropout_backward(din, dout, mask, n, p);
    else
        ckpt_nn_flatten_backward(din, dout, n);
}

void ckpt_nn_transformer_encoder_layer_backward(float *din,
                                                const ckpt_nn_transformer_encoder_layer_grads *g,
                                                const float *dout, const float *in,
                                                const ckpt_nn_transformer_encoder_layer_params *p,
                                                const ckpt_nn_transformer_encoder_layer_masks *m,
                                                float *ws,
                                                const ckpt_nn_transformer_encoder_layer_dims *d)
{
    const ckpt_nn_multihead_attention_dims md = enc_mha_dims(d);
    const int64_t r = d->b * d->t, e = d->e, ff = d->ff;
    const size_t ne = (size_t)(r * e), nf = (size_t)(r * ff);
    if (r <= 0 || e <= 0)
        return;
    const double prob = m ? m->p : 0.0;
    const uint8_t *m_attn = m ? m->attn : NULL, *m1 = m ? m->drop1 : NULL;
    const uint8_t *mf = m ? m->drop : NULL, *m2 = m ? m->drop2 : NULL;
    const bool relu = d->act == CKPT_ACT_RELU;
    float *mws = ws;
    float *a = ws + ckpt_nn_multihead_attention_backward_ws(&md);
    float *r1 = a + ne, *y1 = r1 + ne, *r2 = y1 + ne;
    float *g1 = r2 + ne, *g2 = g1 + ne, *g3 = g2 + ne, *g4 = g3 + ne, *g5 = g4 + ne;
    float *hp = g5 + ne, *hd = hp + nf, *gh = hd + nf, *gh2 = gh + nf;
    const mha_ws mw = mha_carve(mws, &md);
    /* the feed-forward input: y1 = norm1(r1) (post-norm) or t2 = norm2(r1) (norm_first),
     * kept in r2 for norm_first, y1 for post-norm */
    const float *sa_in = in;
    if (d->norm_first) {
        ckpt_nn_layernorm_forward(y1, in, p->norm1_w, p->norm1_b, r, e, d->eps); /* t1 */
        sa_in = y1;
    }
    mha_recompute(a, &mw, sa_in, sa_in, sa_in, p->in_proj_w, p->in_proj_b, p->out_proj_w,
                  p->out_proj_b, m_attn, prob, &md);
    drop_fwd(a, m1, ne, prob);
    ckpt_nn_add_forward(r1, in, a, ne);
    float *ffin = d->norm_first ? r2 : y1;
    if (d->norm_first)
        ckpt_nn_layernorm_forward(r2, r1, p->norm2_w, p->norm2_b, r, e, d->eps); /* t2 */
    else
        ckpt_nn_layernorm_forward(y1, r1, p->norm1_w, p->norm1_b, r, e, d->eps);
    ckpt_nn_linear_forward(hp, ffin, p->linear1_w, p->linear1_b, r, e, ff);
    if (relu)
        ckpt_nn_relu_forward(hd, hp, nf);
    else
        ckpt_nn_gelu_forward(hd, hp, nf);
    drop_fwd(hd, mf, nf, prob);
    float *out2 = NULL; /* post-norm: r2 = y1 + dropout2(linear2(hd)) */
    if (!d->norm_first) {
        ckpt_nn_linear_forward(a, hd, p->linear2_w, p->linear2_b, r, ff, e);
        drop_fwd(a, m2, ne, prob);
        ckpt_nn_add_forward(r2, y1, a, ne);
        out2 = r2;
    }

    /* backward.  gffo: gradient at the feed-forward block's output (g3 after dropout2) */
    float *gffin = g2; /* gradient at the feed-forward input */
    memset(g2, 0, ne * sizeof(float));
    memset(g4, 0, ne * sizeof(float)); /* gradient at r1 */
    if (d->norm_first) {
        memcpy(g4, dout, ne * sizeof(float));
        drop_bwd(g3, dout, m2, ne, prob);
    } else {
        memset(g1, 0, ne * sizeof(float)); /* gradient at r2 */
        ckpt_nn_layernorm_backward(g1, g->norm2_w, g->norm2_b, dout, out2, p->norm2_w, r, e,
                                   d->eps);
        memcpy(g2, g1, ne * sizeof(float)); /* residual into y1 */
        drop_bwd(g3, g1, m2, ne, prob);
    }
    memset(gh, 0, nf * sizeof(float));
    ckpt_nn_linear_backward(gh, g->linear2_w, g->linear2_b, g3, hd, p->linear2_w, r, ff, e);
    drop_bwd(gh2, gh, mf, nf, prob);
    memset(gh, 0, nf * sizeof(float));
    if (relu)
        ckpt_nn_relu_backward(gh, gh2, hp, nf);
    else
        ckpt_nn_gelu_backward(gh, gh2, hp, nf);
    ckpt_nn_linear_backward(gffin, g->linear1_w, g->linear1_b, gh, ffin, p->linear1_w, r, e, ff);
    if (d->norm_first)
        ckpt_nn_layernorm_backward(g4, g->norm2_w, g->norm2_b, gffin, r1, p->norm2_w, r, e,
                                   d->eps);
    else
        ckpt_nn_layernorm_backward(g4, g->norm1_w, g->norm1_b, gffin, r1, p->norm1_w, r, e,
                                   d->eps);
    /* r1 = in + dropout1(self_attn(sa_in)) */
    if (din)
        ckpt_nn_flatten_backward(din, g4, ne);
    drop_bwd(g5, g4, m1, ne, prob);
    if (d->norm_first) {
        memset(g1, 0, ne * sizeof(float)); /* gradient at t1 */
        ckpt_nn_multihead_attention_backward(g1, g1, g1, g->in_proj_w, g->in_proj_b,
                                             g->out_proj_w, g->out_proj_b, g5, sa_in, sa_in,
                                             sa_in, p->in_proj_w, p->in_proj_b, p->out_proj_w,
                                             p->out_proj_b, m_attn, prob, mws, &md);
        if (din || g->norm1_w || g->norm1_b)
            ckpt_nn_layernorm_backward(din, g->norm1_w, g->norm1_b, g1, in, p->norm1_w, r, e,
                                       d->eps);
    } else {
        ckpt_nn_multihead_attention_backward(din, din, din, g->in_proj_w, g->in_proj_b,
                                             g->out_proj_w, g->out_proj_b, g5, in, in, in,
                                             p->in_proj_w, p->in_proj_b, p->out_proj_w,
                                             p->out_proj_b, m_attn, prob, mws, &md);
    }
}
