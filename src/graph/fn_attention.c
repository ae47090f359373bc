/* src/graph/fn_attention.c - scaled_dot_product_attention on the tape (torch
 * 2.x's F.scaled_dot_product_attention, math path): softmax(q k^T / sqrt(E)
 * + mask) (dropout) @ v, products by sgemm, softmax by the src/ops kernels. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "ops/backward.h"
#include "ops/kernels.h"

typedef struct sdpa_ctx {
    int64_t b, l, s, e, ev;
    float scale;
    float *p;      /* softmax weights (B,L,S) */
    float *a;      /* after dropout (B,L,S); == p without dropout */
    uint8_t *keep; /* dropout keep mask (B,L,S) or NULL */
    double drop_p;
    /* mask broadcasting: batch dims of q and the mask's strides over (batch..., L, S) */
    int nbatch;
    int64_t bshape[CKPT_VAR_MAX_DIMS];
    int64_t mstride[CKPT_VAR_MAX_DIMS];
} sdpa_ctx;

/* element offset of the mask for flattened batch index bi */
static int64_t mask_base(const sdpa_ctx *c, int64_t bi)
{
    int64_t off = 0;
    for (int d = c->nbatch - 1; d >= 0; d--) {
        int64_t idx = bi % c->bshape[d];
        bi /= c->bshape[d];
        off += idx * c->mstride[d];
    }
    return off;
}

static int sdpa_bw(ckpt__node *n, ckpt_error *err)
{
    const sdpa_ctx *c = n->ctx;
    ckpt_var *q = n->in[0], *k = n->in[1], *v = n->in[2], *mask = n->nin > 3 ? n->in[3] : NULL;
    float *dq = NULL, *dk = NULL, *dv = NULL, *dm = NULL;
    CKPT_TRY(ckpt__grad(q, &dq, err));
    CKPT_TRY(ckpt__grad(k, &dk, err));
    CKPT_TRY(ckpt__grad(v, &dv, err));
    CKPT_TRY(ckpt__grad(mask, &dm, err));
    const int64_t L = c->l, S = c->s, E = c->e, EV = c->ev, LS = L * S;
    if (LS == 0)
        return 0;
    float *da = ckpt__tape_alloc(n->out->tape, 2 * (size_t)LS * sizeof(float), err);
    if (!da)
        return CKPT_E_NOMEM;
    float *ds = da + LS;
    const float *gout = n->out->grad;
    const float keep_scale = c->keep && c->drop_p < 1.0 ? (float)(1.0 / (1.0 - c->drop_p)) : 0.0f;
    for (int64_t bi = 0; bi < c->b; bi++) {
        const float *pb = c->p + bi * LS, *ab = c->a + bi * LS;
        const float *go = gout + bi * L * EV;
        const float *qb = q->data + bi * L * E, *kb = k->data + bi * S * E;
        const float *vb = v->data + bi * S * EV;
        /* dv (S,EV) += a^T (S,L) @ go (L,EV) */
        if (dv && EV > 0 && L > 0)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)S, (int)EV, (int)L, 1.0f,
                        ab, (int)S, go, (int)EV, 1.0f, dv + bi * S * EV, (int)EV);
        if (!dq && !dk && !dm)
            continue;
        /* da (L,S) = go (L,EV) @ v^T (EV,S) */
        if (EV > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)L, (int)S, (int)EV, 1.0f,
                        go, (int)EV, vb, (int)EV, 0.0f, da, (int)S);
        else
            memset(da, 0, (size_t)LS * sizeof(float));
        if (c->keep) {
            const uint8_t *kp = c->keep + bi * LS;
            for (int64_t i = 0; i < LS; i++)
                da[i] = kp[i] ? da[i] * keep_scale : 0.0f;
        }
        memset(ds, 0, (size_t)LS * sizeof(float));
        ckpt_nn_softmax_backward(ds, da, pb, L, S, 1);
        if (dm) {
            int64_t base = mask_base(c, bi);
            const int64_t sl = c->mstride[c->nbatch], ss = c->mstride[c->nbatch + 1];
            for (int64_t i = 0; i < L; i++)
                for (int64_t j = 0; j < S; j++)
                    dm[base + i * sl + j * ss] += ds[i * S + j];
        }
        /* dq (L,E) += scale * ds (L,S) @ k (S,E); dk (S,E) += scale * ds^T (S,L) @ q (L,E) */
        if (dq && E > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)L, (int)E, (int)S,
                        c->scale, ds, (int)S, kb, (int)E, 1.0f, dq + bi * L * E, (int)E);
        if (dk && E > 0)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)S, (int)E, (int)L, c->scale,
                        ds, (int)S, qb, (int)E, 1.0f, dk + bi * S * E, (int)E);
    }
    return 0;
}

ckpt_var *ckpt_f_scaled_dot_product_attention(ckpt_var *q, ckpt_var *k, ckpt_var *v,
                                              ckpt_var *mask, double dropout_p, bool is_causal,
                                              ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    const char *op = "scaled_dot_product_attention";
    char s1[96], s2[96], s3[96];
    if (ckpt__var_check(q, CKPT_F32, NULL, op, "query", err) ||
        ckpt__var_check(k, CKPT_F32, q->tape, op, "key", err) ||
        ckpt__var_check(v, CKPT_F32, q->tape, op, "value", err) ||
        (mask && ckpt__var_check(mask, CKPT_F32, q->tape, op, "attn_mask", err)))
        return NULL;
    if (!(dropout_p >= 0.0 && dropout_p <= 1.0)) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: dropout_p must be in [0, 1], got %g", op, dropout_p);
        return NULL;
    }
    const int nd = q->ndim;
    bool ok = nd >= 2 && k->ndim == nd && v->ndim == nd && q->shape[nd - 1] == k->shape[nd - 1] &&
              k->shape[nd - 2] == v->shape[nd - 2];
    for (int i = 0; ok && i < nd - 2; i++)
        ok = q->shape[i] == k->shape[i] && q->shape[i] == v->shape[i];
    if (!ok) {
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "%s: expected query (..., L, E), key (..., S, E) and value (..., S, Ev) with "
                  "the same batch dims, got %s, %s and %s",
                  op, ckpt__shape_str(q, s1, sizeof s1), ckpt__shape_str(k, s2, sizeof s2),
                  ckpt__shape_str(v, s3, sizeof s3));
        return NULL;
    }
    sdpa_ctx c = {0};
    c.l = q->shape[nd - 2], c.e = q->shape[nd - 1], c.s = k->shape[nd - 2];
    c.ev = v->shape[nd - 1];
    c.b = 1;
    c.nbatch = nd - 2;
    for (int i = 0; i < nd - 2; i++) {
        c.b *= q->shape[i];
        c.bshape[i] = q->shape[i];
    }
    c.scale = c.e > 0 ? (float)(1.0 / sqrt((double)c.e)) : 1.0f;
    c.drop_p = dropout_p;
    if (mask) {
        /* right-aligned broadcast of the mask to (batch..., L, S) */
        ok = mask->ndim <= nd;
        int64_t stride = 1;
        for (int d = nd - 1; ok && d >= 0; d--) {
            int md = d - (nd - mask->ndim);
            int64_t want = d == nd - 1 ? c.s : d == nd - 2 ? c.l : q->shape[d];
            if (md < 0) {
                c.mstride[d] = 0;
                continue;
            }
            int64_t have = mask->shape[md];
            if (have == want) {
                c.mstride[d] = want == 1 ? 0 : stride;
            } else if (have == 1) {
                c.mstride[d] = 0;
            } else {
                ok = false;
            }
            stride *= have;
        }
        if (!ok) {
            CKPT_FAIL(err, CKPT_E_SHAPE,
                      "%s: attn_mask %s does not broadcast to the attention weights (..., %lld, "
                      "%lld) of query %s",
                      op, ckpt__shape_str(mask, s1, sizeof s1), (long long)c.l, (long long)c.s,
                      ckpt__shape_str(q, s2, sizeof s2));
            return NULL;
        }
    }
    int64_t oshape[CKPT_VAR_MAX_DIMS];
    for (int i = 0; i < nd; i++)
        oshape[i] = q->shape[i];
    oshape[nd - 1] = c.ev;
    ckpt_var *y = ckpt__var_new(q->tape, CKPT_F32, nd, oshape, err);
    if (!y)
        return NULL;
    const int64_t L = c.l, S = c.s, E = c.e, EV = c.ev, LS = L * S;
    const bool drop = dropout_p > 0.0;
    c.p = ckpt__tape_alloc(q->tape, (size_t)(c.b * LS) * sizeof(float) * (drop ? 2 : 1), err);
    if (!c.p)
        return NULL;
    c.a = drop ? c.p + c.b * LS : c.p;
    if (drop) {
        c.keep = ckpt__tape_alloc(q->tape, (size_t)(c.b * LS), err);
        if (!c.keep)
            return NULL;
    }
    for (int64_t bi = 0; bi < c.b; bi++) {
        float *pb = c.p + bi * LS;
        const float *qb = q->data + bi * L * E, *kb = k->data + bi * S * E;
        if (LS == 0)
            continue;
        /* scores (L,S) = scale * q (L,E) @ k^T (E,S) */
        if (E > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)L, (int)S, (int)E, c.scale,
                        qb, (int)E, kb, (int)E, 0.0f, pb, (int)S);
        else
            memset(pb, 0, (size_t)LS * sizeof(float));
        if (mask) {
            int64_t base = mask_base(&c, bi);
            const int64_t sl = c.mstride[nd - 2], ss = c.mstride[nd - 1];
            for (int64_t i = 0; i < L; i++)
                for (int64_t j = 0; j < S; j++)
                    pb[i * S + j] += mask->data[base + i * sl + j * ss];
        }
        if (is_causal)
            for (int64_t i = 0; i < L; i++)
                for (int64_t j = i + 1; j < S; j++)
                    pb[i * S + j] = -INFINITY;
        ckpt_nn_softmax_forward(pb, pb, L, S, 1);
        if (drop)
            ckpt_nn_dropout_forward_mask(c.a + bi * LS, c.keep + bi * LS, pb, (size_t)LS,
                                         dropout_p, ckpt_tape_rng(q->tape));
    }
    for (int64_t bi = 0; bi < c.b; bi++) {
        float *ob = y->data + bi * L * EV;
        /* out (L,EV) = a (L,S) @ v (S,EV) */
        if (L > 0 && EV > 0) {
            if (S > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)L, (int)EV, (int)S,
                            1.0f, c.a + bi * LS, (int)S, v->data + bi * S * EV, (int)EV, 0.0f, ob,
                            (int)EV);
            else
                memset(ob, 0, (size_t)(L * EV) * sizeof(float));
        }
    }
    ckpt_var *in[4] = {q, k, v, mask};
    ckpt__node *n = NULL;
    if (ckpt__record(q->tape, op, y, in, mask ? 4 : 3, sdpa_bw, sizeof c, &n, err) < 0)
        return NULL;
    if (n)
        *(sdpa_ctx *)n->ctx = c;
    if (n)
        n->tr[0] = is_causal, n->tr_s = dropout_p; /* for a tracer */
    return y;
}
