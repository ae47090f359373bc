/*
 * src/jit/aten_rnn.c - aten::lstm / gru / rnn_tanh / rnn_relu (the .input
 * overloads with torch's flat weight list) over the ONNX LSTM, GRU and RNN
 * kernels, one kernel call per layer.  torch's gate order (LSTM i f g o, GRU
 * r z n) is permuted to ONNX's (LSTM i o f c, GRU z r h) with Split/Concat so
 * a recorder sees it; GRU runs with linear_before_reset = 1 as torch computes.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/aten_internal.h"

enum { K_LSTM, K_GRU, K_RNN_TANH, K_RNN_RELU };

/* Reorder the gate blocks of a (G*H, ...) weight or (G*H) bias, then add a leading axis. */
static int gates(at_args *A, jv *w, int kind, jv **res, ckpt_error *err)
{
    static const int lstm[4] = {0, 3, 1, 2}; /* i o f c from i f g o */
    static const int gru[3] = {1, 0, 2};     /* z r h from r z n */
    const int *ord = kind == K_LSTM ? lstm : kind == K_GRU ? gru : NULL;
    int ng = kind == K_LSTM ? 4 : kind == K_GRU ? 3 : 1;
    const ox_val *wv = &w->u.t->t;
    if (wv->rank < 1 || wv->dims[0] % ng)
        return at_fail(A, err, "weight rows (%" PRId64 ") are not %d gates",
                       wv->rank ? wv->dims[0] : 0, ng);
    jv *cat = NULL;
    int rc = 0;
    if (ord) {
        jv *parts[4] = {0}, *sz = NULL;
        int64_t s[4];
        for (int i = 0; i < ng; i++)
            s[i] = wv->dims[0] / ng;
        rc = at_const_i64s(A, s, ng, &sz, err);
        ox_attr ax = oxa_int("axis", 0);
        jv *in[2] = {w, sz};
        if (rc == 0)
            rc = at_run_n(A, "Split", 0, &ax, 1, in, 2, NULL, parts, ng, err);
        if (rc == 0) {
            jv *o[4];
            for (int i = 0; i < ng; i++)
                o[i] = parts[ord[i]];
            rc = at_run(A, "Concat", 0, &ax, 1, o, ng, NULL, &cat, err);
        }
        for (int i = 0; i < ng; i++)
            jv_unref(parts[i]);
        jv_unref(sz);
    } else {
        cat = jv_ref(w);
    }
    if (rc == 0) {
        int64_t d[OX_MAX_RANK];
        d[0] = 1;
        for (int i = 0; i < wv->rank; i++)
            d[i + 1] = wv->dims[i];
        rc = at_reshape(A, cat, wv->rank + 1, d, res, err);
    }
    jv_unref(cat);
    return rc;
}

static int concat0(at_args *A, jv **parts, int n, jv **res, ckpt_error *err)
{
    if (n == 1) {
        *res = jv_ref(parts[0]);
        return 0;
    }
    ox_attr ax = oxa_int("axis", 0);
    return at_run(A, "Concat", 0, &ax, 1, parts, n, NULL, res, err);
}

static int slice0(at_args *A, jv *x, int64_t st, int64_t en, jv **res, ckpt_error *err)
{
    jv *c[3] = {0};
    int64_t z = 0;
    int rc = at_const_i64s(A, &st, 1, &c[0], err);
    if (rc == 0)
        rc = at_const_i64s(A, &en, 1, &c[1], err);
    if (rc == 0)
        rc = at_const_i64s(A, &z, 1, &c[2], err);
    if (rc == 0) {
        jv *in[4] = {x, c[0], c[1], c[2]};
        rc = at_run(A, "Slice", 0, NULL, 0, in, 4, NULL, res, err);
    }
    for (int i = 0; i < 3; i++)
        jv_unref(c[i]);
    return rc;
}

/* op(args) through the dispatcher (borrowed args; NULL arg = out of memory) */
static int callv(at_args *A, const char *op, jv **args, size_t n, jv **res, ckpt_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!args[i])
            return jit_fail(A->rt, err, CKPT_E_NOMEM, "aten::%s: out of memory", A->op);
    return jit_aten_call(A->rt, op, args, n, NULL, NULL, 0, res, err);
}

static int call1(at_args *A, const char *op, jv *x, jv **res, ckpt_error *err)
{
    return callv(A, op, &x, 1, res, err);
}

static int call2(at_args *A, const char *op, jv *x, jv *y, jv **res, ckpt_error *err)
{
    jv *a[2] = {x, y};
    return callv(A, op, a, 2, res, err);
}

static int call_ii(at_args *A, const char *op, jv *x, int64_t i, int64_t j, jv **res,
                   ckpt_error *err)
{
    jv *a = jv_int(i), *b = jv_int(j);
    jv *args[3] = {x, a, b};
    int rc = callv(A, op, args, 3, res, err);
    jv_unref(a);
    jv_unref(b);
    return rc;
}

/* one direction of one projected-LSTM layer over x (T, B, I): outputs (T, B, P), h, c */
static int lstmp_dir(at_args *A, jv *x, jv **p, bool has_b, bool rev, jv *h0, jv *c0, jv **out,
                     jv **hn, jv **cn, ckpt_error *err)
{
    jv *w_ih = p[0], *w_hh = p[1], *b_ih = has_b ? p[2] : jv_none(),
       *b_hh = has_b ? p[3] : jv_none(), *w_hr = p[has_b ? 4 : 2];
    int64_t T = x->u.t->t.dims[0];
    if (T < 1 || T > 100000)
        return at_fail(A, err, "sequence length %" PRId64, T);
    jv *xw = NULL, *h = jv_ref(h0), *c = jv_ref(c0), *hs = jv_list_new((size_t)T);
    jv *a3[3] = {x, w_ih, b_ih};
    int rc = hs ? callv(A, "linear", a3, 3, &xw, err) : at_fail(A, err, "out of memory");
    jv **slot = calloc((size_t)T, sizeof *slot);
    if (rc == 0 && !slot)
        rc = at_fail(A, err, "out of memory");
    for (int64_t k = 0; rc == 0 && k < T; k++) {
        int64_t t = rev ? T - 1 - k : k;
        jv *xt = NULL, *hw = NULL, *g = NULL, *ch = NULL, *i = NULL, *f = NULL, *gg = NULL,
           *o = NULL, *t1 = NULL, *t2 = NULL, *nc = NULL, *tc = NULL, *m = NULL, *nh = NULL;
        jv *b3[3] = {h, w_hh, b_hh};
        rc = call_ii(A, "select", xw, 0, t, &xt, err);
        if (rc == 0)
            rc = callv(A, "linear", b3, 3, &hw, err);
        if (rc == 0)
            rc = call2(A, "add", xt, hw, &g, err);
        if (rc == 0)
            rc = call_ii(A, "chunk", g, 4, 1, &ch, err);
        if (rc == 0 && (ch->kind != JV_LIST || ch->u.seq.n != 4))
            rc = at_fail(A, err, "gate split");
        if (rc == 0)
            rc = call1(A, "sigmoid", ch->u.seq.items[0], &i, err);
        if (rc == 0)
            rc = call1(A, "sigmoid", ch->u.seq.items[1], &f, err);
        if (rc == 0)
            rc = call1(A, "tanh", ch->u.seq.items[2], &gg, err);
        if (rc == 0)
            rc = call1(A, "sigmoid", ch->u.seq.items[3], &o, err);
        if (rc == 0)
            rc = call2(A, "mul", f, c, &t1, err);
        if (rc == 0)
            rc = call2(A, "mul", i, gg, &t2, err);
        if (rc == 0)
            rc = call2(A, "add", t1, t2, &nc, err);
        if (rc == 0)
            rc = call1(A, "tanh", nc, &tc, err);
        if (rc == 0)
            rc = call2(A, "mul", o, tc, &m, err);
        if (rc == 0)
            rc = call2(A, "linear", m, w_hr, &nh, err);
        if (rc == 0) {
            jv_unref(h);
            jv_unref(c);
            h = nh;
            c = nc;
            nh = nc = NULL;
            slot[t] = jv_ref(h);
        }
        jv *all[] = {xt, hw, g, ch, i, f, gg, o, t1, t2, nc, tc, m, nh};
        for (size_t q = 0; q < sizeof all / sizeof all[0]; q++)
            jv_unref(all[q]);
    }
    for (int64_t t = 0; rc == 0 && t < T; t++) {
        rc = jv_list_push(hs, slot[t], err);
        slot[t] = NULL;
    }
    if (slot)
        for (int64_t t = 0; t < T; t++)
            jv_unref(slot[t]);
    free(slot);
    jv *z = jv_int(0);
    if (rc == 0)
        rc = call2(A, "stack", hs, z, out, err);
    jv_unref(z);
    jv_unref(hs);
    jv_unref(xw);
    if (rc < 0) {
        jv_unref(h);
        jv_unref(c);
        return rc;
    }
    *hn = h;
    *cn = c;
    return 0;
}

/* aten::lstm with proj_size (w_hr after each direction's weights): step by step */
static int lstm_proj(at_args *A, jv *x, jv *h0, jv *c0, jv *pl, bool has_b, int64_t L, int nd,
                     bool bf, jv **res, ckpt_error *err)
{
    int per = has_b ? 5 : 3;
    jv *cur = NULL, *hl = jv_list_new((size_t)(L * nd)), *cl = jv_list_new((size_t)(L * nd));
    int rc = hl && cl ? 0 : at_fail(A, err, "out of memory");
    if (rc == 0)
        rc = bf ? call_ii(A, "transpose", x, 0, 1, &cur, err) : ((cur = jv_ref(x)), 0);
    for (int64_t l = 0; rc == 0 && l < L; l++) {
        jv *outs = jv_list_new(2);
        if (!outs)
            rc = at_fail(A, err, "out of memory");
        for (int d = 0; rc == 0 && d < nd; d++) {
            int64_t idx = l * nd + d;
            jv *hi = NULL, *ci = NULL, *o = NULL, *hn = NULL, *cn = NULL;
            rc = call_ii(A, "select", h0, 0, idx, &hi, err);
            if (rc == 0)
                rc = call_ii(A, "select", c0, 0, idx, &ci, err);
            if (rc == 0)
                rc = lstmp_dir(A, cur, pl->u.seq.items + idx * per, has_b, d == 1, hi, ci, &o,
                               &hn, &cn, err);
            if (rc == 0)
                rc = jv_list_push(outs, o, err);
            if (rc == 0)
                rc = jv_list_push(hl, hn, err);
            else
                jv_unref(hn);
            if (rc == 0)
                rc = jv_list_push(cl, cn, err);
            else
                jv_unref(cn);
            jv_unref(hi);
            jv_unref(ci);
        }
        jv *next = NULL, *two = jv_int(2);
        if (rc == 0)
            rc = call2(A, "cat", outs, two, &next, err);
        jv_unref(two);
        jv_unref(outs);
        jv_unref(cur);
        cur = next;
    }
    jv *out = NULL, *hn = NULL, *cn = NULL, *z = jv_int(0);
    if (rc == 0)
        rc = bf ? call_ii(A, "transpose", cur, 0, 1, &out, err) : ((out = jv_ref(cur)), 0);
    if (rc == 0)
        rc = call2(A, "stack", hl, z, &hn, err);
    if (rc == 0)
        rc = call2(A, "stack", cl, z, &cn, err);
    jv_unref(z);
    jv_unref(cur);
    jv_unref(hl);
    jv_unref(cl);
    if (rc < 0) {
        jv_unref(out);
        jv_unref(hn);
        jv_unref(cn);
        return rc;
    }
    *res = at_tuple3(out, hn, cn);
    return *res ? 0 : at_fail(A, err, "out of memory");
}

/* args: input, hx (list for LSTM, tensor else), params, has_biases, num_layers, dropout,
 * train, bidirectional, batch_first */
static int rnn(at_args *A, int kind, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *hxl = A->a[1], *pl = A->a[2];
    bool has_b = at_b(A, 3), bidir = at_b(A, 7), bf = at_b(A, 8);
    int64_t L = at_i(A, 4);
    int nd = bidir ? 2 : 1;
    int per = has_b ? 4 : 2;
    const ox_val *xv = &x->u.t->t;
    if (xv->rank != 3)
        return at_fail(A, err, "input must be 3-D, got %d-D", xv->rank);
    if (kind == K_LSTM && L >= 1 && L <= 64 && pl->u.seq.n == (size_t)(L * nd * (per + 1)) &&
        (hxl->kind == JV_LIST || hxl->kind == JV_TUPLE) && hxl->u.seq.n == 2 &&
        hxl->u.seq.items[0]->kind == JV_TENSOR && hxl->u.seq.items[1]->kind == JV_TENSOR) {
        for (size_t k = 0; k < pl->u.seq.n; k++)
            if (pl->u.seq.items[k]->kind != JV_TENSOR)
                return at_fail(A, err, "params must be tensors");
        return lstm_proj(A, x, hxl->u.seq.items[0], hxl->u.seq.items[1], pl, has_b, L, nd, bf,
                         res, err);
    }
    if (L < 1 || L > 64 || pl->u.seq.n != (size_t)(L * nd * per))
        return at_fail(A, err, "%zu weights for %" PRId64 " layers (%d each)", pl->u.seq.n, L,
                       nd * per);
    jv *h0 = NULL, *c0 = NULL;
    if (kind == K_LSTM) {
        if (hxl->kind != JV_LIST && hxl->kind != JV_TUPLE)
            return at_fail(A, err, "hx must be a list of two tensors");
        if (hxl->u.seq.n != 2 || hxl->u.seq.items[0]->kind != JV_TENSOR ||
            hxl->u.seq.items[1]->kind != JV_TENSOR)
            return at_fail(A, err, "hx must be a list of two tensors");
        h0 = hxl->u.seq.items[0];
        c0 = hxl->u.seq.items[1];
    } else {
        h0 = hxl;
    }
    const ox_val *hv = &h0->u.t->t;
    if (hv->rank != 3 || hv->dims[0] != L * nd)
        return at_fail(A, err, "hx must be (%" PRId64 ", batch, hidden)", L * nd);
    int64_t H = hv->dims[2];
    jv *cur = NULL;
    int rc = 0;
    if (bf) {
        int64_t p[3] = {1, 0, 2};
        rc = at_transpose(A, x, p, 3, &cur, err);
    } else {
        cur = jv_ref(x);
    }
    jv *hs[128] = {0}, *cs[128] = {0};
    const char *onnx = kind == K_LSTM ? "LSTM" : kind == K_GRU ? "GRU" : "RNN";
    for (int64_t l = 0; rc == 0 && l < L; l++) {
        jv *W[2] = {0}, *R[2] = {0}, *B[2] = {0}, *Wc = NULL, *Rc = NULL, *Bc = NULL;
        jv *ih = NULL, *ic = NULL, *y[3] = {0};
        for (int d = 0; rc == 0 && d < nd; d++) {
            jv **p = pl->u.seq.items + (l * nd + d) * per;
            for (int k = 0; k < per; k++)
                if (p[k]->kind != JV_TENSOR)
                    rc = at_fail(A, err, "params must be tensors");
            if (rc == 0)
                rc = gates(A, p[0], kind, &W[d], err);
            if (rc == 0)
                rc = gates(A, p[1], kind, &R[d], err);
            if (rc == 0 && has_b) {
                jv *bi = NULL, *bh = NULL, *two[2];
                rc = gates(A, p[2], kind, &bi, err);
                if (rc == 0)
                    rc = gates(A, p[3], kind, &bh, err);
                if (rc == 0) {
                    two[0] = bi;
                    two[1] = bh;
                    ox_attr ax = oxa_int("axis", 1);
                    rc = at_run(A, "Concat", 0, &ax, 1, two, 2, NULL, &B[d], err);
                }
                jv_unref(bi);
                jv_unref(bh);
            }
        }
        if (rc == 0)
            rc = concat0(A, W, nd, &Wc, err);
        if (rc == 0)
            rc = concat0(A, R, nd, &Rc, err);
        if (rc == 0 && has_b)
            rc = concat0(A, B, nd, &Bc, err);
        if (rc == 0)
            rc = slice0(A, h0, l * nd, (l + 1) * nd, &ih, err);
        if (rc == 0 && c0)
            rc = slice0(A, c0, l * nd, (l + 1) * nd, &ic, err);
        if (rc == 0) {
            static char relu_s[] = "Relu", tanh_s[] = "Tanh";
            char *acts[2] = {kind == K_RNN_RELU ? relu_s : tanh_s,
                             kind == K_RNN_RELU ? relu_s : tanh_s};
            size_t lens[2] = {4, 4};
            ox_attr at[4] = {oxa_int("hidden_size", H),
                             oxa_str("direction", bidir ? "bidirectional" : "forward"),
                             oxa_int("linear_before_reset", 1),
                             {0}};
            int na = kind == K_GRU ? 3 : 2;
            if (kind == K_RNN_TANH || kind == K_RNN_RELU) {
                at[2] = oxa_str("activations", "");
                at[2].type = OX_ATTR_STRINGS;
                at[2].s = NULL;
                at[2].s_len = 0;
                at[2].strings = acts;
                at[2].string_lens = lens;
                at[2].n = (size_t)nd;
                na = 3;
            }
            jv *in[7] = {cur, Wc, Rc, Bc, NULL, ih, ic};
            rc = at_run_n(A, onnx, 0, at, na, in, kind == K_LSTM ? 7 : 6, NULL, y,
                          kind == K_LSTM ? 3 : 2, err);
        }
        jv *next = NULL;
        if (rc == 0) {
            /* Y (seq, nd, batch, H) -> (seq, batch, nd*H) */
            jv *yt = NULL;
            int64_t p[4] = {0, 2, 1, 3};
            rc = at_transpose(A, y[0], p, 4, &yt, err);
            const ox_val *yv = &y[0]->u.t->t;
            int64_t d3[3] = {yv->dims[0], yv->dims[2], nd * H};
            if (rc == 0)
                rc = at_reshape(A, yt, 3, d3, &next, err);
            jv_unref(yt);
        }
        if (rc == 0) {
            hs[l] = y[1];
            y[1] = NULL;
            if (kind == K_LSTM) {
                cs[l] = y[2];
                y[2] = NULL;
            }
            jv_unref(cur);
            cur = next;
        }
        jv *all[] = {W[0], W[1], R[0], R[1], B[0], B[1], Wc, Rc, Bc, ih, ic, y[0], y[1], y[2]};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            jv_unref(all[i]);
    }
    jv *out = NULL, *hn = NULL, *cn = NULL;
    if (rc == 0 && bf) {
        int64_t p[3] = {1, 0, 2};
        rc = at_transpose(A, cur, p, 3, &out, err);
    } else if (rc == 0) {
        out = jv_ref(cur);
    }
    if (rc == 0)
        rc = concat0(A, hs, (int)L, &hn, err);
    if (rc == 0 && kind == K_LSTM)
        rc = concat0(A, cs, (int)L, &cn, err);
    for (int64_t l = 0; l < L; l++) {
        jv_unref(hs[l]);
        jv_unref(cs[l]);
    }
    jv_unref(cur);
    if (rc < 0) {
        jv_unref(out);
        jv_unref(hn);
        jv_unref(cn);
        return rc;
    }
    *res = kind == K_LSTM ? at_tuple3(out, hn, cn) : at_tuple2(out, hn);
    return *res ? 0 : at_fail(A, err, "out of memory");
}

static int op_lstm(at_args *A, jv **res, ckpt_error *err)
{
    return rnn(A, K_LSTM, res, err);
}

static int op_gru(at_args *A, jv **res, ckpt_error *err)
{
    return rnn(A, K_GRU, res, err);
}

static int op_rnn_tanh(at_args *A, jv **res, ckpt_error *err)
{
    return rnn(A, K_RNN_TANH, res, err);
}

static int op_rnn_relu(at_args *A, jv **res, ckpt_error *err)
{
    return rnn(A, K_RNN_RELU, res, err);
}

/* One step cells: lstm_cell(input, hx, w_ih, w_hh, b_ih, b_hh) -> (h, c) etc.
 * computed with Gemm/Sigmoid/Tanh. */
static int lin2(at_args *A, jv *x, jv *h, jv *wi, jv *wh, jv *bi, jv *bh, jv **res,
                ckpt_error *err)
{
    ox_attr tb = oxa_int("transB", 1);
    jv *a = NULL, *b = NULL;
    jv *in1[3] = {x, wi, bi}, *in2[3] = {h, wh, bh};
    int rc = at_run(A, "Gemm", 0, &tb, 1, in1, bi ? 3 : 2, NULL, &a, err);
    if (rc == 0)
        rc = at_run(A, "Gemm", 0, &tb, 1, in2, bh ? 3 : 2, NULL, &b, err);
    if (rc == 0)
        rc = at_binary(A, "Add", a, b, res, err);
    jv_unref(a);
    jv_unref(b);
    return rc;
}

static int op_lstm_cell(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *hx = A->a[1];
    if ((hx->kind != JV_LIST && hx->kind != JV_TUPLE) || hx->u.seq.n != 2 ||
        hx->u.seq.items[0]->kind != JV_TENSOR || hx->u.seq.items[1]->kind != JV_TENSOR)
        return at_fail(A, err, "hx must be a list of two tensors");
    jv *h = hx->u.seq.items[0], *c = hx->u.seq.items[1];
    if (x->u.t->t.rank != 2)
        return at_fail(A, err, "input must be 2-D");
    jv *g = NULL, *parts[4] = {0}, *sz = NULL;
    int rc = lin2(A, x, h, A->a[2], A->a[3], at_t(A, 4), at_t(A, 5), &g, err);
    int64_t H = h->u.t->t.rank == 2 ? h->u.t->t.dims[1] : 0;
    int64_t s[4] = {H, H, H, H};
    if (rc == 0)
        rc = at_const_i64s(A, s, 4, &sz, err);
    ox_attr ax = oxa_int("axis", 1);
    jv *in[2] = {g, sz};
    if (rc == 0)
        rc = at_run_n(A, "Split", 0, &ax, 1, in, 2, NULL, parts, 4, err);
    jv *i = NULL, *f = NULL, *gg = NULL, *o = NULL, *t1 = NULL, *t2 = NULL, *cn = NULL,
       *tc = NULL, *hn = NULL;
    if (rc == 0)
        rc = at_unary(A, "Sigmoid", parts[0], &i, err);
    if (rc == 0)
        rc = at_unary(A, "Sigmoid", parts[1], &f, err);
    if (rc == 0)
        rc = at_unary(A, "Tanh", parts[2], &gg, err);
    if (rc == 0)
        rc = at_unary(A, "Sigmoid", parts[3], &o, err);
    if (rc == 0)
        rc = at_binary(A, "Mul", f, c, &t1, err);
    if (rc == 0)
        rc = at_binary(A, "Mul", i, gg, &t2, err);
    if (rc == 0)
        rc = at_binary(A, "Add", t1, t2, &cn, err);
    if (rc == 0)
        rc = at_unary(A, "Tanh", cn, &tc, err);
    if (rc == 0)
        rc = at_binary(A, "Mul", o, tc, &hn, err);
    jv *all[] = {g, parts[0], parts[1], parts[2], parts[3], sz, i, f, gg, o, t1, t2, tc};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        jv_unref(all[k]);
    if (rc < 0) {
        jv_unref(cn);
        jv_unref(hn);
        return rc;
    }
    *res = at_tuple2(hn, cn);
    return *res ? 0 : at_fail(A, err, "out of memory");
}

const at_op at_ops_rnn[] = {
    {"lstm",
     "Tensor input, Tensor[] hx, Tensor[] params, bool has_biases, int num_layers, "
     "float dropout, bool train, bool bidirectional, bool batch_first",
     op_lstm},
    {"gru",
     "Tensor input, Tensor hx, Tensor[] params, bool has_biases, int num_layers, "
     "float dropout, bool train, bool bidirectional, bool batch_first",
     op_gru},
    {"rnn_tanh",
     "Tensor input, Tensor hx, Tensor[] params, bool has_biases, int num_layers, "
     "float dropout, bool train, bool bidirectional, bool batch_first",
     op_rnn_tanh},
    {"rnn_relu",
     "Tensor input, Tensor hx, Tensor[] params, bool has_biases, int num_layers, "
     "float dropout, bool train, bool bidirectional, bool batch_first",
     op_rnn_relu},
    {"lstm_cell",
     "Tensor input, Tensor[] hx, Tensor w_ih, Tensor w_hh, Tensor? b_ih=None, "
     "Tensor? b_hh=None",
     op_lstm_cell},
    {NULL, NULL, NULL},
};
