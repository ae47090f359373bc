/*
 * src/jit/aten_attn.c - the fused attention ops torch 1.13's scripted
 * nn.MultiheadAttention / nn.TransformerEncoderLayer reach on their inference
 * fast path: _native_multi_head_attention and _transformer_encoder_layer_fwd,
 * composed from the library's own ops (linear, matmul, softmax, layer_norm),
 * so every tensor still comes from an ONNX kernel call.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/aten_internal.h"

/* op(args...) through the dispatcher; ints/floats given as jv temporaries */
static int ac(at_args *A, const char *op, jv **args, size_t n, jv **res, ckpt_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!args[i])
            return jit_fail(A->rt, err, CKPT_E_NOMEM, "aten::%s: out of memory", A->op);
    return jit_aten_call(A->rt, op, args, n, NULL, NULL, 0, res, err);
}

static int call_i(at_args *A, const char *op, jv *x, int64_t a, int64_t b, int nints, jv **res,
                  ckpt_error *err)
{
    jv *ia = jv_int(a), *ib = jv_int(b);
    jv *args[3] = {x, ia, ib};
    int rc = ac(A, op, args, (size_t)(1 + nints), res, err);
    jv_unref(ia);
    jv_unref(ib);
    return rc;
}

static int call_shape(at_args *A, const char *op, jv *x, const int64_t *d, int n, jv **res,
                      ckpt_error *err)
{
    jv *l = jv_list_new((size_t)n);
    for (int i = 0; l && i < n; i++)
        if (jv_list_push(l, jv_int(d[i]), NULL) < 0) {
            jv_unref(l);
            l = NULL;
            break;
        }
    jv *args[2] = {x, l};
    int rc = ac(A, op, args, 2, res, err);
    jv_unref(l);
    return rc;
}

static int rows(at_args *A, jv *w, int64_t st, int64_t en, jv **res, ckpt_error *err)
{
    jv *d = jv_int(0), *s = jv_int(st), *e = jv_int(en), *one = jv_int(1);
    jv *args[5] = {w, d, s, e, one};
    int rc = ac(A, "slice", args, 5, res, err);
    jv_unref(d);
    jv_unref(s);
    jv_unref(e);
    jv_unref(one);
    return rc;
}

static int lin(at_args *A, jv *x, jv *w, jv *b, jv **res, ckpt_error *err)
{
    jv *args[3] = {x, w, b ? b : jv_none()};
    return ac(A, "linear", args, 3, res, err);
}

/* (B, L, E) -> (B, nh, L, D) */
static int heads(at_args *A, jv *x, int64_t nh, jv **res, ckpt_error *err)
{
    const ox_val *v = &x->u.t->t;
    int64_t d[4] = {v->dims[0], v->dims[1], nh, v->dims[2] / nh};
    jv *r = NULL;
    CKPT_TRY(call_shape(A, "reshape", x, d, 4, &r, err));
    int rc = call_i(A, "transpose", r, 1, 2, 2, res, err);
    jv_unref(r);
    return rc;
}

/* multi-head attention, batch first; mask True = masked out; weights NULL when not wanted */
static int mha(at_args *A, jv *q_in, jv *k_in, jv *v_in, int64_t E, int64_t nh, jv *qkv_w,
               jv *qkv_b, jv *pw, jv *pb, jv *mask, int64_t mask_type, bool avg, jv **out,
               jv **weights, ckpt_error *err)
{
    const ox_val *qv = &q_in->u.t->t;
    if (qv->rank != 3 || nh <= 0 || E % nh || qv->dims[2] != E)
        return at_fail(A, err, "query must be (batch, len, %" PRId64 ") with %" PRId64 " heads",
                       E, nh);
    jv *w[3] = {0}, *b[3] = {0}, *p[3] = {0}, *h[3] = {0}, *in[3] = {q_in, k_in, v_in};
    int rc = 0;
    for (int i = 0; rc == 0 && i < 3; i++) {
        rc = rows(A, qkv_w, i * E, (i + 1) * E, &w[i], err);
        if (rc == 0)
            rc = rows(A, qkv_b, i * E, (i + 1) * E, &b[i], err);
        if (rc == 0)
            rc = lin(A, in[i], w[i], b[i], &p[i], err);
        if (rc == 0)
            rc = heads(A, p[i], nh, &h[i], err);
    }
    jv *kt = NULL, *s = NULL, *ss = NULL, *sm = NULL, *pr = NULL, *o = NULL, *ot = NULL,
       *o3 = NULL, *sc = NULL, *mk = NULL, *mr = NULL;
    if (rc == 0)
        rc = call_i(A, "transpose", h[1], -2, -1, 2, &kt, err);
    jv *qk[2] = {h[0], kt};
    if (rc == 0)
        rc = ac(A, "matmul", qk, 2, &s, err);
    if (rc == 0) {
        sc = jv_float(1.0 / sqrt((double)(E / nh)));
        jv *a2[2] = {s, sc};
        rc = ac(A, "mul", a2, 2, &ss, err);
    }
    jv *cur = ss;
    if (rc == 0 && mask) {
        const ox_val *mv = &mask->u.t->t;
        jv *m4 = NULL;
        if (mask_type == 1 && mv->rank == 2) {
            int64_t d[4] = {mv->dims[0], 1, 1, mv->dims[1]};
            rc = call_shape(A, "reshape", mask, d, 4, &m4, err);
        } else {
            m4 = jv_ref(mask);
        }
        if (rc == 0 && mv->dtype == OX_BOOL) {
            jv *ninf = jv_float(-(double)INFINITY);
            jv *a3[3] = {cur, m4, ninf};
            rc = ac(A, "masked_fill", a3, 3, &mk, err);
            jv_unref(ninf);
        } else if (rc == 0) {
            jv *a2[2] = {cur, m4};
            rc = ac(A, "add", a2, 2, &mk, err);
        }
        jv_unref(m4);
        if (rc == 0)
            cur = mk;
    }
    if (rc == 0)
        rc = call_i(A, "softmax", cur, -1, 0, 1, &sm, err);
    jv *pv[2] = {sm, h[2]};
    if (rc == 0)
        rc = ac(A, "matmul", pv, 2, &o, err);
    if (rc == 0)
        rc = call_i(A, "transpose", o, 1, 2, 2, &ot, err);
    if (rc == 0) {
        int64_t d[3] = {qv->dims[0], qv->dims[1], E};
        rc = call_shape(A, "reshape", ot, d, 3, &o3, err);
    }
    if (rc == 0)
        rc = lin(A, o3, pw, pb, out, err);
    if (rc == 0 && weights) {
        if (avg) {
            jv *dl = jv_list_new(1), *f = jv_bool(false);
            if (dl && jv_list_push(dl, jv_int(1), NULL) < 0) {
                jv_unref(dl);
                dl = NULL;
            }
            jv *a3[3] = {sm, dl, f};
            rc = ac(A, "mean", a3, 3, weights, err);
            jv_unref(dl);
        } else {
            *weights = jv_ref(sm);
        }
    }
    jv *all[] = {w[0], w[1], w[2], b[0], b[1], b[2], p[0], p[1], p[2], h[0], h[1], h[2],
                 kt,   s,    ss,   sm,   pr,   o,    ot,   o3,   sc,   mk,   mr};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        jv_unref(all[i]);
    return rc;
}

/* _native_multi_head_attention(query, key, value, embed_dim, num_head, qkv_weight, qkv_bias,
 * proj_weight, proj_bias, mask, need_weights, average_attn_weights, mask_type) */
static int op_native_mha(at_args *A, jv **res, ckpt_error *err)
{
    bool need = at_b(A, 10);
    jv *out = NULL, *wts = NULL;
    int64_t mt = at_none(A, 12) ? (at_t(A, 9) && at_tv(A, 9)->rank == 2 ? 0 : 2) : at_i(A, 12);
    CKPT_TRY(mha(A, A->a[0], A->a[1], A->a[2], at_i(A, 3), at_i(A, 4), A->a[5], A->a[6], A->a[7],
                 A->a[8], at_t(A, 9), mt, at_b(A, 11), &out, need ? &wts : NULL, err));
    if (!wts) {
        int rc = at_const(A, OX_FLOAT, 1, (int64_t[]){0}, 0.0, &wts, err);
        if (rc < 0) {
            jv_unref(out);
            return rc;
        }
    }
    *res = at_tuple2(out, wts);
    return *res ? 0 : at_fail(A, err, "out of memory");
}

static int ln(at_args *A, jv *x, jv *w, jv *b, double eps, jv **res, ckpt_error *err)
{
    const ox_val *v = &x->u.t->t;
    jv *ns = jv_list_new(1), *e = jv_float(eps);
    if (ns && jv_list_push(ns, jv_int(v->dims[v->rank - 1]), NULL) < 0) {
        jv_unref(ns);
        ns = NULL;
    }
    jv *args[5] = {x, ns, w, b, e};
    int rc = ac(A, "layer_norm", args, 5, res, err);
    jv_unref(ns);
    jv_unref(e);
    return rc;
}

static int add2(at_args *A, jv *a, jv *b, jv **res, ckpt_error *err)
{
    jv *args[2] = {a, b};
    return ac(A, "add", args, 2, res, err);
}

/* _transformer_encoder_layer_fwd(src, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight,
 * proj_bias, use_gelu, norm_first, eps, norm_weight_1, norm_bias_1, norm_weight_2,
 * norm_bias_2, ffn_weight_1, ffn_bias_1, ffn_weight_2, ffn_bias_2, mask, mask_type) */
static int op_tel_fwd(at_args *A, jv **res, ckpt_error *err)
{
    jv *src = A->a[0];
    bool gelu = at_b(A, 7), nf = at_b(A, 8);
    double eps = at_f(A, 9);
    int64_t E = at_i(A, 1), nh = at_i(A, 2);
    jv *mask = at_t(A, 18);
    int64_t mt = at_none(A, 19) ? (mask && mask->u.t->t.rank == 2 &&
                                           mask->u.t->t.dims[0] == src->u.t->t.dims[0] &&
                                           mask->u.t->t.dims[1] == src->u.t->t.dims[1]
                                       ? 1
                                       : 0)
                                : at_i(A, 19);
    jv *t[12] = {0};
    int rc = 0;
    /* attention block */
    jv *ain = src;
    if (nf) {
        rc = ln(A, src, A->a[10], A->a[11], eps, &t[0], err);
        ain = t[0];
    }
    if (rc == 0)
        rc = mha(A, ain, ain, ain, E, nh, A->a[3], A->a[4], A->a[5], A->a[6], mask, mt, true,
                 &t[1], NULL, err);
    if (rc == 0)
        rc = add2(A, src, t[1], &t[2], err);
    jv *x = t[2];
    if (rc == 0 && !nf) {
        rc = ln(A, t[2], A->a[10], A->a[11], eps, &t[3], err);
        x = t[3];
    }
    /* feed-forward block */
    jv *fin = x;
    if (rc == 0 && nf) {
        rc = ln(A, x, A->a[12], A->a[13], eps, &t[4], err);
        fin = t[4];
    }
    if (rc == 0)
        rc = lin(A, fin, A->a[14], A->a[15], &t[5], err);
    if (rc == 0) {
        jv *a1[1] = {t[5]};
        rc = ac(A, gelu ? "gelu" : "relu", a1, 1, &t[6], err);
    }
    if (rc == 0)
        rc = lin(A, t[6], A->a[16], A->a[17], &t[7], err);
    if (rc == 0)
        rc = add2(A, x, t[7], nf ? res : &t[8], err);
    if (rc == 0 && !nf)
        rc = ln(A, t[8], A->a[12], A->a[13], eps, res, err);
    for (int i = 0; i < 12; i++)
        jv_unref(t[i]);
    return rc;
}

const at_op at_ops_attn[] = {
    {"_native_multi_head_attention",
     "Tensor query, Tensor key, Tensor value, int embed_dim, int num_head, Tensor qkv_weight, "
     "Tensor qkv_bias, Tensor proj_weight, Tensor proj_bias, Tensor? mask=None, "
     "bool need_weights=True, bool average_attn_weights=True, int? mask_type=None",
     op_native_mha},
    {"_transformer_encoder_layer_fwd",
     "Tensor src, int embed_dim, int num_heads, Tensor qkv_weight, Tensor qkv_bias, "
     "Tensor proj_weight, Tensor proj_bias, bool use_gelu, bool norm_first, float eps, "
     "Tensor norm_weight_1, Tensor norm_bias_1, Tensor norm_weight_2, Tensor norm_bias_2, "
     "Tensor ffn_weight_1, Tensor ffn_bias_1, Tensor ffn_weight_2, Tensor ffn_bias_2, "
     "Tensor? mask=None, int? mask_type=None",
     op_tel_fwd},
    {NULL, NULL, NULL},
};
