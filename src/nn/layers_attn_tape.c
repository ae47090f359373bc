/* src/nn/layers_attn_tape.c - MultiheadAttention, TransformerEncoderLayer,
 * TransformerEncoder and TransformerDecoderLayer on the autograd tape,
 * composed from functional ops (linear, scaled_dot_product_attention,
 * layer_norm, dropout, relu/gelu, reshape/transpose/slice, add), following
 * torch 1.13's forward step by step; and the TransformerEncoder /
 * TransformerDecoderLayer constructors (torch's child names and order). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "nn/layers.h"
#include "ops/kernels.h"

/* A parameter of `m` (dotted path) as a var; NULL without error when the
 * slot is None (bias=False).  *bad set on a real error. */
static ckpt_var *pvar(ckpt_module *m, const char *path, ckpt_tape *t, bool optional, bool *bad,
                      ckpt_error *err)
{
    ckpt_slot *s = ckpt_module_slot(m, path);
    if (optional && (!s || !s->data))
        return NULL;
    ckpt_var *v = ckpt_module_var(m, path, t, err);
    if (!v)
        *bad = true;
    return v;
}

static ckpt_var *tr(ckpt_var *x, int a, int b, ckpt_error *err)
{
    return x ? ckpt_f_transpose(x, a, b, err) : NULL;
}

static ckpt_var *rs(ckpt_var *x, int nd, const int64_t *shape, ckpt_error *err)
{
    return x ? ckpt_f_reshape(x, nd, shape, err) : NULL;
}

/* ------------------------------------------------------------- masks */

/* One float mask (B, Hm, L, S) (Hm = heads for a 3-D attn_mask, else 1), or
 * the 2-D float attn_mask itself when it is the only mask; NULL (no error)
 * when there is no mask.  Bool masks (int64, nonzero = masked) become
 * -inf; float key_padding_mask values are added (torch 2.x; 1.13 does so
 * when no attn_mask is given). */
static ckpt_var *merge_masks(const ckpt_attn_masks *mk, ckpt_tape *t, int64_t B, int64_t H,
                             int64_t L, int64_t S, bool unbatched, bool *bad, ckpt_error *err)
{
    ckpt_var *am = mk ? mk->attn_mask : NULL, *kp = mk ? mk->key_padding_mask : NULL;
    if (!am && !kp)
        return NULL;
    char b1[96];
    if (am) {
        if (ckpt__var_check(am, -1, t, "MultiheadAttention", "attn_mask", err) < 0) {
            *bad = true;
            return NULL;
        }
        bool ok = (am->ndim == 2 && am->shape[0] == L && am->shape[1] == S) ||
                  (am->ndim == 3 && am->shape[0] == B * H && am->shape[1] == L &&
                   am->shape[2] == S);
        if (!ok) {
            *bad = true;
            CKPT_FAIL(err, CKPT_E_SHAPE,
                      "MultiheadAttention: attn_mask has shape %s, expected (%lld, %lld) or "
                      "(%lld, %lld, %lld)",
                      ckpt__shape_str(am, b1, sizeof b1), (long long)L, (long long)S,
                      (long long)(B * H), (long long)L, (long long)S);
            return NULL;
        }
        if (!kp && am->ndim == 2 && am->dtype == CKPT_F32)
            return am;
    }
    if (kp) {
        if (ckpt__var_check(kp, -1, t, "MultiheadAttention", "key_padding_mask", err) < 0) {
            *bad = true;
            return NULL;
        }
        bool ok = unbatched ? (kp->ndim == 1 && kp->shape[0] == S)
                            : (kp->ndim == 2 && kp->shape[0] == B && kp->shape[1] == S);
        if (!ok) {
            *bad = true;
            CKPT_FAIL(err, CKPT_E_SHAPE,
                      "MultiheadAttention: key_padding_mask has shape %s, expected (%lld, %lld)",
                      ckpt__shape_str(kp, b1, sizeof b1), (long long)B, (long long)S);
            return NULL;
        }
    }
    const int64_t Hm = am && am->ndim == 3 ? H : 1;
    ckpt_var *m = ckpt__var_new(t, CKPT_F32, 4, (int64_t[]){B, Hm, L, S}, err);
    if (!m) {
        *bad = true;
        return NULL;
    }
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < Hm; h++)
            for (int64_t i = 0; i < L; i++) {
                float *row = m->data + ((b * Hm + h) * L + i) * S;
                for (int64_t j = 0; j < S; j++) {
                    float v = 0.0f;
                    if (am) {
                        int64_t o = am->ndim == 3 ? ((b * H + h) * L + i) * S + j : i * S + j;
                        if (am->dtype == CKPT_F32)
                            v += am->data[o];
                        else if (am->idata[o])
                            v = -INFINITY;
                    }
                    if (kp) {
                        if (kp->dtype == CKPT_F32)
                            v += kp->data[b * S + j];
                        else if (kp->idata[b * S + j])
                            v = -INFINITY;
                    }
                    row[j] = v;
                }
            }
    return m;
}

/* -------------------------------------------------- MultiheadAttention */

static bool is_type(const ckpt_module *m, const char *type)
{
    return m && m->type && strcmp(m->type, type) == 0 && m->layer;
}

/* (L,B,E) / (B,L,E) / (L,E) -> (B,L,E) */
static ckpt_var *to_bmajor(ckpt_var *x, bool bf, ckpt_error *err)
{
    if (x->ndim == 2)
        return rs(x, 3, (int64_t[]){1, x->shape[0], x->shape[1]}, err);
    return bf ? x : tr(x, 0, 1, err);
}

/* (B,T,E) -> (B,H,T,hd) */
static ckpt_var *split_heads(ckpt_var *x, int64_t H, ckpt_error *err)
{
    if (!x)
        return NULL;
    int64_t B = x->shape[0], T = x->shape[1], E = x->shape[2];
    return tr(rs(x, 4, (int64_t[]){B, T, H, E / H}, err), 1, 2, err);
}

/* Self-attention when no gradient is wanted (grad mode off, or nothing
 * requires grad), no masks, no dropout: the explicit path's algorithm on tape
 * memory — one packed projection (rows, 3E), the attention kernel reading q, k,
 * v and writing heads in place through row strides (no head split / merge
 * copies), the out projection.  Output has the input's layout. */
static ckpt_var *mha_self_nograd(ckpt_var *x, ckpt_var *w, ckpt_var *bias, ckpt_var *ow,
                                 ckpt_var *ob, int64_t E, int64_t H, bool bf, ckpt_error *err)
{
    int64_t nb, nt, row_step, batch_step; /* as the explicit path's seq_geom */
    if (x->ndim == 2)
        nb = 1, nt = x->shape[0], row_step = 1, batch_step = 0;
    else if (bf)
        nb = x->shape[0], nt = x->shape[1], row_step = 1, batch_step = nt;
    else
        nt = x->shape[0], nb = x->shape[1], row_step = nb, batch_step = 1;
    ckpt_var *proj = ckpt_f_linear(x, w, bias, err); /* (..., 3E) */
    ckpt_var *att = proj ? ckpt__var_new(x->tape, CKPT_F32, x->ndim, x->shape, err) : NULL;
    float *scores = att ? ckpt__tape_alloc(x->tape, (size_t)(nt * nt) * sizeof(float), err)
                        : NULL;
    if (!scores)
        return NULL;
    const int64_t hd = E / H, qs = 3 * E;
    const float *pq = proj->data, *pk = pq + E, *pv = pq + 2 * E;
    for (int64_t bi = 0; bi < nb; bi++)
        for (int64_t hi = 0; hi < H; hi++) {
            const int64_t r0 = bi * batch_step;
            ckpt_nn_attention_forward(att->data + r0 * E + hi * hd, pq + r0 * qs + hi * hd,
                                      pk + r0 * qs + hi * hd, pv + r0 * qs + hi * hd, scores, nt,
                                      nt, hd, row_step * qs, row_step * qs, row_step * qs,
                                      row_step * E, 0.0, NULL);
        }
    return ckpt_f_linear(att, ow, ob, err);
}

ckpt_var *ckpt_nn_multihead_attention_call(ckpt_module *m, ckpt_var *query, ckpt_var *key,
                                           ckpt_var *value, const ckpt_attn_masks *masks,
                                           ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!is_type(m, "MultiheadAttention")) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "ckpt_nn_multihead_attention_call: module is %s, not MultiheadAttention",
                  m ? m->type : "NULL");
        return NULL;
    }
    if (ckpt__var_check(query, CKPT_F32, NULL, "MultiheadAttention", "query", err) < 0)
        return NULL;
    ckpt_tape *t = query->tape;
    if (!key)
        key = query;
    if (!value)
        value = key;
    if (ckpt__var_check(key, CKPT_F32, t, "MultiheadAttention", "key", err) < 0 ||
        ckpt__var_check(value, CKPT_F32, t, "MultiheadAttention", "value", err) < 0)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    const int64_t E = l->in, H = l->extra;
    const bool bf = l->batch_first;
    const int nd = query->ndim;
    bool shapes_ok = (nd == 2 || nd == 3) && key->ndim == nd && value->ndim == nd &&
                     query->shape[nd - 1] == E && key->shape[nd - 1] == E &&
                     value->shape[nd - 1] == E;
    for (int i = 0; shapes_ok && i < nd - 1; i++)
        shapes_ok = key->shape[i] == value->shape[i];
    if (shapes_ok && nd == 3)
        shapes_ok = query->shape[bf ? 0 : 1] == key->shape[bf ? 0 : 1];
    if (!shapes_ok) {
        char a[96], b[96], c[96];
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "MultiheadAttention: query %s, key %s, value %s do not fit embed_dim %lld "
                  "(batch_first %d)",
                  ckpt__shape_str(query, a, sizeof a), ckpt__shape_str(key, b, sizeof b),
                  ckpt__shape_str(value, c, sizeof c), (long long)E, (int)bf);
        return NULL;
    }
    const bool unbatched = nd == 2;
    bool bad = false;
    ckpt_var *w = pvar(m, "in_proj_weight", t, false, &bad, err);
    ckpt_var *bias = pvar(m, "in_proj_bias", t, true, &bad, err);
    ckpt_var *ow = pvar(m, "out_proj.weight", t, false, &bad, err);
    ckpt_var *ob = pvar(m, "out_proj.bias", t, true, &bad, err);
    if (bad)
        return NULL;
    const bool no_masks = !masks ||
                          (!masks->attn_mask && !masks->key_padding_mask && !masks->is_causal);
    if (key == query && value == query && E % H == 0 && no_masks &&
        (!ckpt_module_training(m) || l->p == 0.0)) {
        ckpt_var *in[5] = {query, w, bias, ow, ob};
        if (!ckpt__wants_grad(t, in, 5))
            return mha_self_nograd(query, w, bias, ow, ob, E, H, bf, err);
    }
    ckpt_var *q = to_bmajor(query, bf, err);
    ckpt_var *k = key == query ? q : to_bmajor(key, bf, err);
    ckpt_var *v = value == key ? k : to_bmajor(value, bf, err);
    if (!q || !k || !v)
        return NULL;
    const int64_t B = q->shape[0], L = q->shape[1], S = k->shape[1];
    /* in-projections: rows [0,E), [E,2E), [2E,3E) of in_proj_weight/bias */
    ckpt_var *pr[3];
    ckpt_var *src[3] = {q, k, v};
    if (key == query && value == query && E % H == 0) {
        /* self-attention: one product with the whole in_proj_weight (B,L,3E),
         * then one permute to (3,B,H,L,hd): one sgemm and one copy instead
         * of three weight slices, three sgemms and three head transposes */
        ckpt_var *qkv = rs(ckpt_f_linear(q, w, bias, err), 5, (int64_t[]){B, L, 3, H, E / H},
                           err);
        qkv = qkv ? ckpt_f_permute(qkv, 5, (int[]){2, 0, 3, 1, 4}, err) : NULL;
        for (int i = 0; i < 3; i++) {
            pr[i] = qkv ? ckpt_f_select(qkv, 0, i, err) : NULL;
            if (!pr[i])
                return NULL;
        }
    }
    for (int i = 0; i < 3 && !(key == query && value == query && E % H == 0); i++) {
        ckpt_var *wi = ckpt_f_slice(w, 0, i * E, (i + 1) * E, 1, err);
        ckpt_var *bi = bias ? ckpt_f_slice(bias, 0, i * E, (i + 1) * E, 1, err) : NULL;
        if (!wi || (bias && !bi))
            return NULL;
        pr[i] = split_heads(ckpt_f_linear(src[i], wi, bi, err), H, err);
        if (!pr[i])
            return NULL;
    }
    ckpt_var *mask = merge_masks(masks, t, B, H, L, S, unbatched, &bad, err);
    if (bad)
        return NULL;
    double p = ckpt_module_training(m) ? l->p : 0.0;
    ckpt_var *o = ckpt_f_scaled_dot_product_attention(pr[0], pr[1], pr[2], mask, p,
                                                      masks && masks->is_causal, err);
    o = rs(tr(o, 1, 2, err), 3, (int64_t[]){B, L, E}, err);
    o = o ? ckpt_f_linear(o, ow, ob, err) : NULL;
    if (!o)
        return NULL;
    if (unbatched)
        return rs(o, 2, (int64_t[]){L, E}, err);
    return bf ? o : tr(o, 0, 1, err);
}

ckpt_var *ckpt__mha_call1(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    return ckpt_nn_multihead_attention_call(m, x, x, x, NULL, err);
}

/* ------------------------------------------------- transformer blocks */

static ckpt_var *lin(ckpt_module *m, const char *child, ckpt_var *x, ckpt_error *err)
{
    if (!x)
        return NULL;
    char pw[64], pb[64];
    snprintf(pw, sizeof pw, "%s.weight", child);
    snprintf(pb, sizeof pb, "%s.bias", child);
    bool bad = false;
    ckpt_var *w = pvar(m, pw, x->tape, false, &bad, err);
    ckpt_var *b = pvar(m, pb, x->tape, true, &bad, err);
    return bad ? NULL : ckpt_f_linear(x, w, b, err);
}

static ckpt_var *norm(ckpt_module *m, const char *child, ckpt_var *x, ckpt_error *err)
{
    if (!x)
        return NULL;
    ckpt_module *c = ckpt_module_find(m, child);
    if (!c || !is_type(c, "LayerNorm")) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: child %s missing or not a LayerNorm", m->type, child);
        return NULL;
    }
    nn_layer *cl = ckpt__nn_state(c);
    bool bad = false;
    ckpt_var *w = pvar(c, "weight", x->tape, true, &bad, err);
    ckpt_var *b = pvar(c, "bias", x->tape, true, &bad, err);
    size_t nd = 1;
    const int64_t *ns = NULL;
    ckpt_module_attr_ints(c, "normalized_shape", &nd, &ns);
    return bad ? NULL : ckpt_f_layer_norm(x, (int)nd, w, b, cl->eps, err);
}

static ckpt_var *drop(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    if (!x || !ckpt_module_training(m) || l->p <= 0.0)
        return x;
    return ckpt_f_dropout(x, l->p, true, err);
}

static ckpt_var *add(ckpt_var *a, ckpt_var *b, ckpt_error *err)
{
    return a && b ? ckpt_f_add(a, b, err) : NULL;
}

/* dropout(linear2(dropout(act(linear1(x))))) */
static ckpt_var *ff_block(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    ckpt_var *h = lin(m, "linear1", x, err);
    if (!h)
        return NULL;
    h = l->act == CKPT_ACT_GELU ? ckpt_f_gelu(h, false, err) : ckpt_f_relu(h, err);
    return drop(m, lin(m, "linear2", drop(m, h, err), err), err);
}

static ckpt_var *attn_block(ckpt_module *m, const char *child, ckpt_var *x, ckpt_var *mem,
                            const ckpt_attn_masks *mk, ckpt_error *err)
{
    if (!x)
        return NULL;
    ckpt_module *a = ckpt_module_find(m, child);
    ckpt_var *y = ckpt_nn_multihead_attention_call(a, x, mem ? mem : x, mem ? mem : x, mk, err);
    if (!y)
        ckpt__error_prefix_key(err, child);
    return drop(m, y, err);
}

static ckpt_var *encoder_layer(ckpt_module *m, ckpt_var *x, const ckpt_attn_masks *mk,
                               ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    if (l->norm_first) {
        x = add(x, attn_block(m, "self_attn", norm(m, "norm1", x, err), NULL, mk, err), err);
        return add(x, ff_block(m, norm(m, "norm2", x, err), err), err);
    }
    x = norm(m, "norm1", add(x, attn_block(m, "self_attn", x, NULL, mk, err), err), err);
    return norm(m, "norm2", add(x, ff_block(m, x, err), err), err);
}

ckpt_var *ckpt_nn_transformer_encoder_call(ckpt_module *m, ckpt_var *src,
                                           const ckpt_attn_masks *masks, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (ckpt__var_check(src, CKPT_F32, NULL, "ckpt_nn_transformer_encoder_call", "src", err) < 0)
        return NULL;
    if (is_type(m, "TransformerEncoderLayer"))
        return encoder_layer(m, src, masks, err);
    if (!m || !m->type || strcmp(m->type, "TransformerEncoder") != 0) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "ckpt_nn_transformer_encoder_call: module is %s, not TransformerEncoder(Layer)",
                  m ? m->type : "NULL");
        return NULL;
    }
    ckpt_module *layers = ckpt_module_find(m, "layers");
    ckpt_var *x = src;
    for (size_t i = 0; layers && x && i < ckpt_module_child_count(layers); i++) {
        ckpt_module *c = ckpt_module_child(layers, i);
        if (!is_type(c, "TransformerEncoderLayer")) {
            CKPT_FAIL(err, CKPT_E_ARG, "TransformerEncoder: layers.%zu is %s", i, c->type);
            return NULL;
        }
        x = encoder_layer(c, x, masks, err);
    }
    if (x && ckpt_module_find(m, "norm"))
        x = norm(m, "norm", x, err);
    return x;
}

ckpt_var *ckpt__encoder_call1(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    return ckpt_nn_transformer_encoder_call(m, x, NULL, err);
}

ckpt_var *ckpt_nn_transformer_decoder_layer_call(ckpt_module *m, ckpt_var *tgt, ckpt_var *memory,
                                                 const ckpt_attn_masks *tgt_masks,
                                                 const ckpt_attn_masks *memory_masks,
                                                 ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!is_type(m, "TransformerDecoderLayer")) {
        CKPT_FAIL(
            err, CKPT_E_ARG,
            "ckpt_nn_transformer_decoder_layer_call: module is %s, not TransformerDecoderLayer",
            m ? m->type : "NULL");
        return NULL;
    }
    if (ckpt__var_check(tgt, CKPT_F32, NULL, "TransformerDecoderLayer", "tgt", err) < 0 ||
        ckpt__var_check(memory, CKPT_F32, tgt->tape, "TransformerDecoderLayer", "memory", err) <
            0)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    ckpt_var *x = tgt;
    if (l->norm_first) {
        x = add(x, attn_block(m, "self_attn", norm(m, "norm1", x, err), NULL, tgt_masks, err),
                err);
        x = add(x,
                attn_block(m, "multihead_attn", norm(m, "norm2", x, err), memory, memory_masks,
                           err),
                err);
        return add(x, ff_block(m, norm(m, "norm3", x, err), err), err);
    }
    x = norm(m, "norm1", add(x, attn_block(m, "self_attn", x, NULL, tgt_masks, err), err), err);
    x = norm(m, "norm2",
             add(x, attn_block(m, "multihead_attn", x, memory, memory_masks, err), err), err);
    return norm(m, "norm3", add(x, ff_block(m, x, err), err), err);
}

/* --------------------------------------------------------- constructors */

typedef struct copy_acc {
    ckpt_module *dst;
    int bad;
} copy_acc;

static int copy_slot(void *payload, const char *key, ckpt_module *owner, ckpt_slot *s)
{
    (void)owner;
    copy_acc *a = payload;
    ckpt_slot *d = ckpt_module_slot(a->dst, key);
    if (!d || !d->data || !s->data || d->nbytes != s->nbytes) {
        a->bad++;
        return 0;
    }
    memcpy(d->data, s->data, (size_t)s->nbytes);
    return 0;
}

static ckpt_var *stack_call1(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    return ckpt_nn_transformer_encoder_call(m, x, NULL, err);
}

static const ckpt__layer_ops stack_ops = {.type = "TransformerEncoder", .call = stack_call1};
static const ckpt__layer_ops decoder_ops = {.type = "TransformerDecoderLayer"};

ckpt_module *ckpt_nn_transformer_encoder(ckpt_module *parent, const char *name, int64_t d_model,
                                         int64_t nhead, int64_t num_layers,
                                         const ckpt_transformer_opts *o, ckpt_rng *rng,
                                         ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_transformer_opts n;
    ckpt__nn_transformer_opts(o, &n);
    if (num_layers < 1) {
        CKPT_FAIL(err, CKPT_E_ARG, "TransformerEncoder: num_layers %lld must be >= 1",
                  (long long)num_layers);
        return NULL;
    }
    ckpt_module *m = ckpt__nn_make(parent, name, "TransformerEncoder", &stack_ops, err);
    if (!m)
        return NULL;
    ckpt_module *list = ckpt_nn_module_list(m, "layers", err);
    bool ok = list != NULL;
    ckpt_module *first = NULL;
    for (int64_t i = 0; ok && i < num_layers; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "%lld", (long long)i);
        ckpt_module *c = ckpt_nn_transformer_encoder_layer(list, nm, d_model, nhead, &n,
                                                           i == 0 ? rng : NULL, err);
        ok = c != NULL;
        if (!ok)
            break;
        if (i == 0) {
            first = c;
            continue;
        }
        /* torch deep-copies one layer: every layer starts equal */
        copy_acc a = {.dst = c};
        ok = ckpt_module_walk(first, CKPT_WALK_PARAMS | CKPT_WALK_BUFFERS, copy_slot, &a, err) ==
                 0 &&
             a.bad == 0;
    }
    if (ok && n.final_norm)
        ok = ckpt_nn_layernorm(m, "norm", 1, &d_model, &(ckpt_norm_opts){.eps = n.layer_norm_eps},
                               err) != NULL;
    if (!ok) {
        if (!parent)
            ckpt_module_free(m);
        return NULL;
    }
    ckpt_module_set_attr_int(m, "num_layers", num_layers, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

ckpt_module *ckpt_nn_transformer_decoder_layer(ckpt_module *parent, const char *name,
                                               int64_t d_model, int64_t nhead,
                                               const ckpt_transformer_opts *o, ckpt_rng *rng,
                                               ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_transformer_opts n;
    ckpt__nn_transformer_opts(o, &n);
    if ((n.activation != CKPT_ACT_RELU && n.activation != CKPT_ACT_GELU) ||
        n.dim_feedforward < 1 || !(n.dropout >= 0.0 && n.dropout <= 1.0)) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "TransformerDecoderLayer: activation must be relu or gelu, dim_feedforward "
                  "> 0, dropout in [0, 1]");
        return NULL;
    }
    ckpt_module *m = ckpt__nn_make(parent, name, "TransformerDecoderLayer", &decoder_ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    l->in = d_model, l->out = n.dim_feedforward, l->p = n.dropout, l->act = (int)n.activation;
    l->batch_first = n.batch_first, l->norm_first = n.norm_first, l->eps = n.layer_norm_eps;
    bool ok = ckpt__nn_mha_make(m, "self_attn", d_model, nhead, n.dropout, true, n.batch_first,
                                rng, err) &&
              ckpt__nn_mha_make(m, "multihead_attn", d_model, nhead, n.dropout, true,
                                n.batch_first, rng, err) &&
              ckpt_nn_linear(m, "linear1", d_model, n.dim_feedforward, NULL, rng, err) &&
              ckpt_nn_dropout(m, "dropout", n.dropout, err) &&
              ckpt_nn_linear(m, "linear2", n.dim_feedforward, d_model, NULL, rng, err) &&
              ckpt_nn_layernorm(m, "norm1", 1, &d_model,
                                &(ckpt_norm_opts){.eps = n.layer_norm_eps}, err) &&
              ckpt_nn_layernorm(m, "norm2", 1, &d_model,
                                &(ckpt_norm_opts){.eps = n.layer_norm_eps}, err) &&
              ckpt_nn_layernorm(m, "norm3", 1, &d_model,
                                &(ckpt_norm_opts){.eps = n.layer_norm_eps}, err) &&
              ckpt_nn_dropout(m, "dropout1", n.dropout, err) &&
              ckpt_nn_dropout(m, "dropout2", n.dropout, err) &&
              ckpt_nn_dropout(m, "dropout3", n.dropout, err);
    if (!ok) {
        if (!parent)
            ckpt_module_free(m);
        return NULL;
    }
    ckpt_module_set_attr_int(m, "d_model", d_model, NULL);
    ckpt_module_set_attr_int(m, "nhead", nhead, NULL);
    ckpt_module_set_attr_int(m, "dim_feedforward", n.dim_feedforward, NULL);
    ckpt_module_set_attr_float(m, "dropout", n.dropout, NULL);
    ckpt_module_set_attr_str(m, "activation", n.activation == CKPT_ACT_RELU ? "relu" : "gelu",
                             NULL);
    ckpt_module_set_attr_float(m, "layer_norm_eps", n.layer_norm_eps, NULL);
    ckpt_module_set_attr_bool(m, "batch_first", n.batch_first, NULL);
    ckpt_module_set_attr_bool(m, "norm_first", n.norm_first, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}
