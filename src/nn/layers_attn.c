/* src/nn/layers_attn.c - MultiheadAttention and TransformerEncoderLayer, as
 * torch 1.13 builds and runs them (packed in_proj, out_proj child, post- or
 * pre-norm encoder layer). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "ops/kernels.h"
#include "nn/layers.h"

static const ckpt__layer_ops mha_ops;

/* ------------------------------------------------------- MultiheadAttention */

/* Geometry of a (query or key/value) sequence tensor. */
typedef struct seq_geom {
    int64_t b, t;       /* batch, length */
    int64_t row_step;   /* rows between consecutive positions of one batch entry */
    int64_t batch_step; /* rows between consecutive batch entries at one position */
} seq_geom;

static int seq_shape(const ckpt_nn_act *a, int64_t e, bool batch_first, seq_geom *g,
                     ckpt_error *err)
{
    CKPT_CHECK(a && a->data && (a->ndim == 2 || a->ndim == 3) && a->shape[a->ndim - 1] == e, err,
               CKPT_E_SHAPE,
               "MultiheadAttention: expected (L, %lld) or a 3D input ending in %lld",
               (long long)e, (long long)e);
    if (a->ndim == 2) {
        g->b = 1, g->t = a->shape[0], g->row_step = 1, g->batch_step = 0;
    } else if (batch_first) {
        g->b = a->shape[0], g->t = a->shape[1], g->row_step = 1, g->batch_step = g->t;
    } else {
        g->t = a->shape[0], g->b = a->shape[1], g->row_step = g->b, g->batch_step = 1;
    }
    return 0;
}

static int grow(ckpt_nn_act *a, size_t n, ckpt_error *err)
{
    int64_t s[1] = {(int64_t)(n ? n : 1)};
    if (a->data && a->cap >= n) {
        a->ndim = 1;
        a->shape[0] = s[0];
        return 0;
    }
    return ckpt_nn_act_resize(a, 1, s, err);
}

/* out rows (same layout as q) = MHA(q, k, v); q/k/v raw row-major (rows, E).
 * self_attn: q == k == v (one packed projection). */
static int mha_core(ckpt_module *m, const float *q, const seq_geom *gq, const float *k,
                    const float *v, const seq_geom *gk, float *out, double p, ckpt_rng *rng,
                    ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    const int64_t e = l->in, h = l->extra, hd = e / h;
    CKPT_CHECK(gq->b == gk->b, err, CKPT_E_SHAPE,
               "MultiheadAttention: query and key batch sizes differ (%lld, %lld)",
               (long long)gq->b, (long long)gk->b);
    const float *w = ckpt__nn_data(m, "in_proj_weight");
    const float *bias = ckpt__nn_data(m, "in_proj_bias");
    ckpt_module *op = ckpt_module_find(m, "out_proj");
    CKPT_CHECK(w && op, err, CKPT_E_ARG,
               "MultiheadAttention: in_proj_weight or out_proj missing");
    const int64_t rq = gq->b * gq->t, rk = gk->b * gk->t;
    const bool packed = q == k && k == v && rq == rk;
    CKPT_TRY(grow(&l->ws[0], (size_t)(packed ? rq * 3 * e : (rq + 2 * rk) * e), err));
    CKPT_TRY(grow(&l->ws[1], (size_t)(rq * e), err));
    CKPT_TRY(grow(&l->ws[2], (size_t)(gq->t * gk->t), err));
    float *pq, *pk, *pv;
    int64_t qs, kvs; /* row strides of the projections */
    if (packed) {
        /* (R, 3E) = x (R, E) @ in_proj_weight^T (E, 3E) + in_proj_bias */
        ckpt_nn_linear_forward(l->ws[0].data, q, w, bias, rq, e, 3 * e);
        pq = l->ws[0].data, pk = pq + e, pv = pq + 2 * e;
        qs = kvs = 3 * e;
    } else {
        pq = l->ws[0].data, pk = pq + rq * e, pv = pk + rk * e;
        ckpt_nn_linear_forward(pq, q, w, bias, rq, e, e);
        ckpt_nn_linear_forward(pk, k, w + e * e, bias ? bias + e : NULL, rk, e, e);
        ckpt_nn_linear_forward(pv, v, w + 2 * e * e, bias ? bias + 2 * e : NULL, rk, e, e);
        qs = kvs = e;
    }
    float *att = l->ws[1].data;
    for (int64_t bi = 0; bi < gq->b; bi++) {
        for (int64_t hi = 0; hi < h; hi++) {
            const int64_t q0 = bi * gq->batch_step, k0 = bi * gk->batch_step;
            ckpt_nn_attention_forward(att + q0 * e + hi * hd, pq + q0 * qs + hi * hd,
                                      pk + k0 * kvs + hi * hd, pv + k0 * kvs + hi * hd,
                                      l->ws[2].data, gq->t, gk->t, hd, gq->row_step * qs,
                                      gk->row_step * kvs, gk->row_step * kvs, gq->row_step * e, p,
                                      rng);
        }
    }
    return ckpt__nn_linear_rows(op, att, out, rq, err);
}

int ckpt_nn_multihead_attention_forward(ckpt_module *m, const ckpt_nn_act *q,
                                        const ckpt_nn_act *k, const ckpt_nn_act *v,
                                        ckpt_nn_act *out, ckpt_error *err)
{
    CKPT_CHECK(m && m->ops == &mha_ops && q && k && v && out, err, CKPT_E_ARG,
               "mha forward: not a MultiheadAttention or missing arguments");
    nn_layer *l = ckpt__nn_state(m);
    seq_geom gq = {0}, gk = {0}, gv = {0};
    CKPT_TRY(seq_shape(q, l->in, l->batch_first, &gq, err));
    CKPT_TRY(seq_shape(k, l->in, l->batch_first, &gk, err));
    CKPT_TRY(seq_shape(v, l->in, l->batch_first, &gv, err));
    CKPT_CHECK(gk.b == gv.b && gk.t == gv.t && q->ndim == k->ndim, err, CKPT_E_SHAPE,
               "MultiheadAttention: key and value shapes differ");
    CKPT_CHECK(out != q && out != k && out != v, err, CKPT_E_ARG,
               "MultiheadAttention: output must not alias an input");
    CKPT_TRY(ckpt_nn_act_resize(out, q->ndim, q->shape, err));
    return mha_core(m, q->data, &gq, k->data, v->data, &gk, out->data, 0.0, NULL, err);
}

static int mha_fwd(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                   ckpt_error *err)
{
    (void)rng;
    return ckpt_nn_multihead_attention_forward(m, in, in, in, out, err);
}

static const ckpt__layer_ops mha_ops = {.type = "MultiheadAttention",
                                        .forward = mha_fwd,
                                        .call = ckpt__mha_call1};

static ckpt_module *mha_make(ckpt_module *parent, const char *name, int64_t e, int64_t heads,
                             double dropout, bool bias, bool batch_first, ckpt_rng *rng,
                             ckpt_error *err)
{
    if (e <= 0 || heads <= 0 || e % heads) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "MultiheadAttention: embed_dim must be divisible by num_heads");
        return NULL;
    }
    ckpt_module *m = ckpt__nn_make(parent, name, "MultiheadAttention", &mha_ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    l->in = e, l->extra = heads, l->batch_first = batch_first, l->bias = bias, l->p = dropout;
    int64_t wsh[2] = {3 * e, e}, bsh = 3 * e;
    double xavier = sqrt(6.0 / (double)(e + 3 * e));
    bool ok = ckpt__nn_param_uniform(m, "in_proj_weight", 2, wsh, xavier, rng, err) &&
              ckpt_module_param_none(m, "q_proj_weight", err) == 0 &&
              ckpt_module_param_none(m, "k_proj_weight", err) == 0 &&
              ckpt_module_param_none(m, "v_proj_weight", err) == 0;
    if (ok)
        ok = bias ? ckpt_module_param(m, "in_proj_bias", CKPT_F32, 1, &bsh, err) != NULL
                  : ckpt_module_param_none(m, "in_proj_bias", err) == 0;
    ckpt_module *op = ok ? ckpt__nn_ndq_linear(m, "out_proj", e, e, bias, rng, err) : NULL;
    if (!op) {
        if (!parent)
            ckpt_module_free(m);
        return NULL;
    }
    float *ob = ckpt__nn_data(op, "bias"); /* _reset_parameters: out_proj.bias = 0 */
    if (ob)
        memset(ob, 0, (size_t)e * sizeof(float));
    ckpt_module_set_attr_int(m, "embed_dim", e, NULL);
    ckpt_module_set_attr_int(m, "kdim", e, NULL);
    ckpt_module_set_attr_int(m, "vdim", e, NULL);
    ckpt_module_set_attr_bool(m, "_qkv_same_embed_dim", true, NULL);
    ckpt_module_set_attr_int(m, "num_heads", heads, NULL);
    ckpt_module_set_attr_float(m, "dropout", dropout, NULL);
    ckpt_module_set_attr_bool(m, "batch_first", batch_first, NULL);
    ckpt_module_set_attr_int(m, "head_dim", e / heads, NULL);
    ckpt_module_set_attr_bool(m, "add_zero_attn", false, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

ckpt_module *ckpt__nn_mha_make(ckpt_module *parent, const char *name, int64_t e, int64_t heads,
                               double dropout, bool bias, bool batch_first, ckpt_rng *rng,
                               ckpt_error *err)
{
    return mha_make(parent, name, e, heads, dropout, bias, batch_first, rng, err);
}

ckpt_module *ckpt_nn_multihead_attention(ckpt_module *parent, const char *name, int64_t embed_dim,
                                         int64_t num_heads,
                                         const ckpt_multihead_attention_opts *o, ckpt_rng *rng,
                                         ckpt_error *err)
{
    const ckpt_multihead_attention_opts z = {0}, *op = o ? o : &z;
    if (!(op->dropout >= 0.0 && op->dropout <= 1.0)) {
        CKPT_FAIL(err, CKPT_E_ARG, "MultiheadAttention: dropout %g outside [0, 1]", op->dropout);
        return NULL;
    }
    return mha_make(parent, name, embed_dim, num_heads, op->dropout, !op->no_bias,
                    op->batch_first, rng, err);
}

/* ------------------------------------------------- TransformerEncoderLayer */

/* x (R,E) += dropout(block) where block is in b (R,E) */
static void residual(float *x, const float *b, size_t n)
{
    ckpt_nn_add_forward(x, x, b, n);
}

static int child_fwd(ckpt_module *m, const char *name, const ckpt_nn_act *in, ckpt_nn_act *out,
                     ckpt_rng *rng, ckpt_error *err)
{
    ckpt_module *c = ckpt_module_find(m, name);
    CKPT_CHECK(c, err, CKPT_E_ARG, "TransformerEncoderLayer: child %s missing", name);
    int rc = ckpt_nn_forward(c, in, out, rng, err);
    if (rc != 0)
        ckpt__error_prefix_key(err, name);
    return rc;
}

/* a = dropout1(self_attn(t)) */
static int sa_block(ckpt_module *m, const ckpt_nn_act *t, const seq_geom *g, ckpt_nn_act *a,
                    ckpt_rng *rng, ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    ckpt_module *sa = ckpt_module_find(m, "self_attn");
    CKPT_CHECK(sa && sa->ops == &mha_ops, err, CKPT_E_ARG,
               "TransformerEncoderLayer: self_attn missing");
    CKPT_TRY(ckpt_nn_act_resize(a, t->ndim, t->shape, err));
    bool tr = ckpt_module_training(m);
    CKPT_TRY(mha_core(sa, t->data, g, t->data, t->data, g, a->data, tr ? l->p : 0.0,
                      tr ? rng : NULL, err));
    return child_fwd(m, "dropout1", a, a, rng, err);
}

/* f = dropout2(linear2(dropout(act(linear1(t))))) */
static int ff_block(ckpt_module *m, const ckpt_nn_act *t, ckpt_nn_act *hbuf, ckpt_nn_act *f,
                    ckpt_rng *rng, ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    CKPT_TRY(child_fwd(m, "linear1", t, hbuf, rng, err));
    ckpt__nn_act_apply(l->act, hbuf->data, hbuf->data, ckpt_nn_act_numel(hbuf), 1, 1, 1);
    CKPT_TRY(child_fwd(m, "dropout", hbuf, hbuf, rng, err));
    CKPT_TRY(child_fwd(m, "linear2", hbuf, f, rng, err));
    return child_fwd(m, "dropout2", f, f, rng, err);
}

static int encoder_fwd(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                       ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    CKPT_TRY(ckpt__nn_no_alias(in, out, "TransformerEncoderLayer", err));
    seq_geom g = {0};
    CKPT_TRY(seq_shape(in, l->in, l->batch_first, &g, err));
    const size_t n = ckpt_nn_act_numel(in);
    CKPT_TRY(ckpt_nn_act_resize(out, in->ndim, in->shape, err));
    memcpy(out->data, in->data, n * sizeof(float));
    ckpt_nn_act *t = &l->ws[0], *a = &l->ws[1], *hb = &l->ws[2];
    if (l->norm_first) {
        CKPT_TRY(child_fwd(m, "norm1", out, t, rng, err));
        CKPT_TRY(sa_block(m, t, &g, a, rng, err));
        residual(out->data, a->data, n);
        CKPT_TRY(child_fwd(m, "norm2", out, t, rng, err));
        CKPT_TRY(ff_block(m, t, hb, a, rng, err));
        residual(out->data, a->data, n);
    } else {
        CKPT_TRY(sa_block(m, out, &g, a, rng, err));
        residual(out->data, a->data, n);
        CKPT_TRY(child_fwd(m, "norm1", out, out, rng, err));
        CKPT_TRY(ff_block(m, out, hb, a, rng, err));
        residual(out->data, a->data, n);
        CKPT_TRY(child_fwd(m, "norm2", out, out, rng, err));
    }
    return 0;
}

static const ckpt__layer_ops encoder_ops = {.type = "TransformerEncoderLayer",
                                            .forward = encoder_fwd,
                                            .call = ckpt__encoder_call1};

void ckpt__nn_transformer_opts(const ckpt_transformer_opts *o, ckpt_transformer_opts *n)
{
    static const ckpt_transformer_opts def = {0};
    *n = o ? *o : def;
    if (n->dim_feedforward == 0)
        n->dim_feedforward = 2048;
    if (n->no_dropout)
        n->dropout = 0.0;
    else if (n->dropout == 0.0)
        n->dropout = 0.1;
    if (n->layer_norm_eps == 0.0)
        n->layer_norm_eps = 1e-5;
}

ckpt_module *ckpt_nn_transformer_encoder_layer(ckpt_module *parent, const char *name,
                                               int64_t d_model, int64_t nhead,
                                               const ckpt_transformer_opts *o, ckpt_rng *rng,
                                               ckpt_error *err)
{
    ckpt_transformer_opts n;
    ckpt__nn_transformer_opts(o, &n);
    int64_t dim_feedforward = n.dim_feedforward;
    double dropout = n.dropout, layer_norm_eps = n.layer_norm_eps;
    ckpt_act_kind activation = n.activation;
    bool batch_first = n.batch_first, norm_first = n.norm_first;
    if ((activation != CKPT_ACT_RELU && activation != CKPT_ACT_GELU) || dim_feedforward <= 0 ||
        !(dropout >= 0.0 && dropout <= 1.0)) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "TransformerEncoderLayer: activation must be relu or gelu, dim_feedforward "
                  "> 0, dropout in [0, 1]");
        return NULL;
    }
    ckpt_module *m = ckpt__nn_make(parent, name, "TransformerEncoderLayer", &encoder_ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    l->in = d_model, l->out = dim_feedforward, l->p = dropout, l->act = (int)activation;
    l->batch_first = batch_first, l->norm_first = norm_first, l->eps = layer_norm_eps;
    bool ok = mha_make(m, "self_attn", d_model, nhead, dropout, true, batch_first, rng, err) &&
              ckpt_nn_linear(m, "linear1", d_model, dim_feedforward, NULL, rng, err) &&
              ckpt_nn_dropout(m, "dropout", dropout, err) &&
              ckpt_nn_linear(m, "linear2", dim_feedforward, d_model, NULL, rng, err) &&
              ckpt_nn_layernorm(m, "norm1", 1, &d_model, &(ckpt_norm_opts){.eps = layer_norm_eps},
                                err) &&
              ckpt_nn_layernorm(m, "norm2", 1, &d_model, &(ckpt_norm_opts){.eps = layer_norm_eps},
                                err) &&
              ckpt_nn_dropout(m, "dropout1", dropout, err) &&
              ckpt_nn_dropout(m, "dropout2", dropout, err);
    if (!ok) {
        if (!parent)
            ckpt_module_free(m);
        return NULL;
    }
    ckpt_module_set_attr_int(m, "d_model", d_model, NULL);
    ckpt_module_set_attr_int(m, "nhead", nhead, NULL);
    ckpt_module_set_attr_int(m, "dim_feedforward", dim_feedforward, NULL);
    ckpt_module_set_attr_float(m, "dropout", dropout, NULL);
    ckpt_module_set_attr_str(m, "activation", activation == CKPT_ACT_RELU ? "relu" : "gelu",
                             NULL);
    ckpt_module_set_attr_float(m, "layer_norm_eps", layer_norm_eps, NULL);
    ckpt_module_set_attr_bool(m, "batch_first", batch_first, NULL);
    ckpt_module_set_attr_bool(m, "norm_first", norm_first, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}
