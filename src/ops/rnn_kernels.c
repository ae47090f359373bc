/* src/ops/rnn_kernels.c - LSTM / GRU forward and backward through time for
 * one direction of one layer (see rnn_kernels.h).  The element-wise cell
 * math follows torch's CPU cells (aten/src/ATen/native/RNN.cpp) operation by
 * operation, so float32 rounding stays close to torch's. */
#include "ops/rnn_kernels.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

int64_t ckpt_rnn_gate_mult(int kind)
{
    return kind == CKPT_RNN_GRU ? 3 : 4;
}

static inline float sigm(float v)
{
    return 1.0f / (1.0f + expf(-v));
}

/* row index of step t, batch b */
static inline int64_t row_of(const ckpt_rnn_dir *d, int64_t t, int64_t b)
{
    return d->batch_first ? b * d->T + t : t * d->B + b;
}

static void add_bias_rows(float *m, const float *bias, int64_t rows, int64_t n)
{
    if (!bias)
        return;
    for (int64_t r = 0; r < rows; r++) {
        float *p = m + r * n;
        for (int64_t j = 0; j < n; j++)
            p[j] += bias[j];
    }
}

static void col_sums(float *acc, const float *m, int64_t rows, int64_t n)
{
    if (!acc)
        return;
    for (int64_t r = 0; r < rows; r++) {
        const float *p = m + r * n;
        for (int64_t j = 0; j < n; j++)
            acc[j] += p[j];
    }
}

void ckpt_rnn_dir_forward(const ckpt_rnn_dir *d, const float *x, float *out,
                          const ckpt_rnn_saved *s, float *hh, float *h_n, float *c_n)
{
    const int64_t T = d->T, B = d->B, In = d->In, H = d->H, ow = d->out_width;
    const int64_t G = ckpt_rnn_gate_mult(d->kind) * H;
    const int64_t rs = d->batch_first ? T : 1; /* rows between batches at one step */
    const bool lstm = d->kind != CKPT_RNN_GRU;
    if (T <= 0 || B <= 0 || H <= 0)
        return;
    /* input projection of every step at once */
    if (In > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)(T * B), (int)G, (int)In, 1.0f,
                    x, (int)In, d->w_ih, (int)In, 0.0f, s->gates, (int)G);
    else
        memset(s->gates, 0, (size_t)(T * B * G) * sizeof(float));
    add_bias_rows(s->gates, d->b_ih, T * B, G);

    for (int64_t st = 0; st < T; st++) {
        const int64_t t = d->reverse ? T - 1 - st : st;
        const int64_t tp = d->reverse ? t + 1 : t - 1;
        const float *hp = NULL;
        int64_t ldh = H;
        if (st > 0) {
            hp = out + row_of(d, tp, 0) * ow + d->col;
            ldh = rs * ow;
        } else if (d->h0) {
            hp = d->h0;
        }
        if (hp && B == 1) /* one row: gemv reads W_hh in place (sgemm packs it every step) */
            cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)G, (int)H, 1.0f, d->w_hh, (int)H, hp, 1,
                        0.0f, hh, 1);
        else if (hp)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)B, (int)G, (int)H, 1.0f, hp,
                        (int)ldh, d->w_hh, (int)H, 0.0f, hh, (int)G);
        else
            memset(hh, 0, (size_t)(B * G) * sizeof(float));
        add_bias_rows(hh, d->b_hh, B, G);
        for (int64_t b = 0; b < B; b++) {
            const int64_t r = row_of(d, t, b);
            float *gr = s->gates + r * G;
            const float *hr = hh + b * G;
            float *o = out + r * ow + d->col;
            float *ax = s->aux + r * H;
            const float *hprev = hp ? hp + b * ldh : NULL;
            if (lstm) {
                const float *cp = st > 0 ? s->aux + row_of(d, tp, b) * H
                                         : (d->c0 ? d->c0 + b * H : NULL);
                for (int64_t j = 0; j < H; j++) {
                    float ig = sigm(hr[j] + gr[j]);
                    float fg = sigm(hr[H + j] + gr[H + j]);
                    float cg = tanhf(hr[2 * H + j] + gr[2 * H + j]);
                    float og = sigm(hr[3 * H + j] + gr[3 * H + j]);
                    float c = (cp ? fg * cp[j] : 0.0f) + ig * cg;
                    ax[j] = c;
                    o[j] = og * tanhf(c);
                    gr[j] = ig;
                    gr[H + j] = fg;
                    gr[2 * H + j] = cg;
                    gr[3 * H + j] = og;
                }
            } else {
                for (int64_t j = 0; j < H; j++) {
                    float rg = sigm(hr[j] + gr[j]);
                    float zg = sigm(hr[H + j] + gr[H + j]);
                    float hn = hr[2 * H + j];
                    float ng = tanhf(gr[2 * H + j] + hn * rg);
                    float h = hprev ? hprev[j] : 0.0f;
                    o[j] = (h - ng) * zg + ng;
                    ax[j] = hn;
                    gr[j] = rg;
                    gr[H + j] = zg;
                    gr[2 * H + j] = ng;
                }
            }
        }
    }
    const int64_t tl = d->reverse ? 0 : T - 1;
    for (int64_t b = 0; b < B; b++) {
        const int64_t r = row_of(d, tl, b);
        if (h_n)
            memcpy(h_n + b * H, out + r * ow + d->col, (size_t)H * sizeof(float));
        if (c_n && lstm)
            memcpy(c_n + b * H, s->aux + r * H, (size_t)H * sizeof(float));
    }
}

/* dw_hh += sum over steps with a previous hidden state of dgh_t^T h_prev_t */
static void dw_hh_accumulate(const ckpt_rnn_dir *d, const float *out, const float *dgh,
                             float *dw_hh)
{
    const int64_t T = d->T, B = d->B, H = d->H, ow = d->out_width;
    const int64_t G = ckpt_rnn_gate_mult(d->kind) * H;
    if (T > 1) {
        /* steps whose previous state is an output row: forward t >= 1 (state
         * at t-1), reverse t <= T-2 (state at t+1) */
        if (!d->batch_first) {
            const float *dg = dgh + (d->reverse ? 0 : B * G);
            const float *hp = out + (d->reverse ? B * ow : 0) + d->col;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)G, (int)H,
                        (int)((T - 1) * B), 1.0f, dg, (int)G, hp, (int)ow, 1.0f, dw_hh, (int)H);
        } else {
            for (int64_t b = 0; b < B; b++) {
                const float *dg = dgh + (b * T + (d->reverse ? 0 : 1)) * G;
                const float *hp = out + (b * T + (d->reverse ? 1 : 0)) * ow + d->col;
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)G, (int)H, (int)(T - 1),
                            1.0f, dg, (int)G, hp, (int)ow, 1.0f, dw_hh, (int)H);
            }
        }
    }
    if (d->h0) {
        const int64_t t0 = d->reverse ? T - 1 : 0;
        const int64_t rs = d->batch_first ? T : 1;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)G, (int)H, (int)B, 1.0f,
                    dgh + row_of(d, t0, 0) * G, (int)(rs * G), d->h0, (int)H, 1.0f, dw_hh,
                    (int)H);
    }
}

void ckpt_rnn_dir_backward(const ckpt_rnn_dir *d, const float *x, const float *out,
                           const ckpt_rnn_saved *s, const float *dout, const float *dh_n,
                           const float *dc_n, float *dgx, float *dgh, float *dh, float *dc,
                           const ckpt_rnn_dir_grads *g)
{
    const int64_t T = d->T, B = d->B, In = d->In, H = d->H, ow = d->out_width;
    const int64_t G = ckpt_rnn_gate_mult(d->kind) * H;
    const int64_t rs = d->batch_first ? T : 1;
    const bool lstm = d->kind != CKPT_RNN_GRU;
    if (T <= 0 || B <= 0 || H <= 0)
        return;
    if (lstm)
        dgh = dgx;
    if (dh_n)
        memcpy(dh, dh_n, (size_t)(B * H) * sizeof(float));
    else
        memset(dh, 0, (size_t)(B * H) * sizeof(float));
    if (lstm) {
        if (dc_n)
            memcpy(dc, dc_n, (size_t)(B * H) * sizeof(float));
        else
            memset(dc, 0, (size_t)(B * H) * sizeof(float));
    }
    for (int64_t st = T - 1; st >= 0; st--) {
        const int64_t t = d->reverse ? T - 1 - st : st;
        const int64_t tp = d->reverse ? t + 1 : t - 1;
        for (int64_t b = 0; b < B; b++) {
            const int64_t r = row_of(d, t, b);
            const float *gr = s->gates + r * G;
            const float *ax = s->aux + r * H;
            const float *go = dout ? dout + r * ow + d->col : NULL;
            float *dx_ = dgx + r * G;
            float *dh_ = dh + b * H;
            if (lstm) {
                const float *cp = st > 0 ? s->aux + row_of(d, tp, b) * H
                                         : (d->c0 ? d->c0 + b * H : NULL);
                float *dc_ = dc + b * H;
                for (int64_t j = 0; j < H; j++) {
                    float ig = gr[j], fg = gr[H + j], cg = gr[2 * H + j], og = gr[3 * H + j];
                    float dht = dh_[j] + (go ? go[j] : 0.0f);
                    float tc = tanhf(ax[j]);
                    float dct = dc_[j] + dht * og * (1.0f - tc * tc);
                    float c_prev = cp ? cp[j] : 0.0f;
                    dx_[j] = dct * cg * ig * (1.0f - ig);
                    dx_[H + j] = dct * c_prev * fg * (1.0f - fg);
                    dx_[2 * H + j] = dct * ig * (1.0f - cg * cg);
                    dx_[3 * H + j] = dht * tc * og * (1.0f - og);
                    dc_[j] = dct * fg;
                }
            } else {
                const float *hprev = NULL;
                if (st > 0)
                    hprev = out + row_of(d, tp, b) * ow + d->col;
                else if (d->h0)
                    hprev = d->h0 + b * H;
                float *dgh_ = dgh + r * G;
                for (int64_t j = 0; j < H; j++) {
                    float rg = gr[j], zg = gr[H + j], ng = gr[2 * H + j], hn = ax[j];
                    float hpv = hprev ? hprev[j] : 0.0f;
                    float dht = dh_[j] + (go ? go[j] : 0.0f);
                    float dn = dht * (1.0f - zg);
                    float dz = dht * (hpv - ng);
                    float dan = dn * (1.0f - ng * ng);
                    float dar = dan * hn * rg * (1.0f - rg);
                    float daz = dz * zg * (1.0f - zg);
                    dx_[j] = dar;
                    dx_[H + j] = daz;
                    dx_[2 * H + j] = dan;
                    dgh_[j] = dar;
                    dgh_[H + j] = daz;
                    dgh_[2 * H + j] = dan * rg;
                    dh_[j] = dht * zg;
                }
            }
        }
        /* gradient into the previous hidden state through W_hh */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)B, (int)H, (int)G, 1.0f,
                    dgh + row_of(d, t, 0) * G, (int)(rs * G), d->w_hh, (int)H, lstm ? 0.0f : 1.0f,
                    dh, (int)H);
    }
    if (g->dh0)
        for (int64_t i = 0; i < B * H; i++)
            g->dh0[i] += dh[i];
    if (g->dc0 && lstm)
        for (int64_t i = 0; i < B * H; i++)
            g->dc0[i] += dc[i];
    if (g->dx && In > 0)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)(T * B), (int)In, (int)G,
                    1.0f, dgx, (int)G, d->w_ih, (int)In, 1.0f, g->dx, (int)In);
    if (g->dw_ih && In > 0)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)G, (int)In, (int)(T * B), 1.0f,
                    dgx, (int)G, x, (int)In, 1.0f, g->dw_ih, (int)In);
    col_sums(g->db_ih, dgx, T * B, G);
    col_sums(g->db_hh, dgh, T * B, G);
    if (g->dw_hh)
        dw_hh_accumulate(d, out, dgh, g->dw_hh);
}
