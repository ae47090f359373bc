/*
 * src/jit/nn_forward.c - the forwards of torch.nn classes, for full-model
 * pickles (torch.save(model)).  A pickle names classes, not code: a module
 * runs only when its class is one of the torch.nn classes below, whose
 * forward is torch's, written here as calls into the op library
 * (jit_aten_call) with the module's hyper-attributes as arguments, in the
 * order of the aten schema.  A user's class is Python code ckpt never runs:
 * the error names it, its submodules and its state dict.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/jit_internal.h"

#define NN_PREFIX "torch.nn.modules."

typedef struct nn_ctx {
    jit_rt *rt;
    ckpt_error *err;
    const char *cls; /* qualname of the module running */
} nn_ctx;

static int fail_attr(nn_ctx *C, const char *name, const char *want)
{
    return jit_fail(C->rt, C->err, CKPT_E_FORMAT, "%s: attribute %s is missing or not %s", C->cls,
                    name, want);
}

static int call(nn_ctx *C, const char *op, jv *const *args, size_t n, jv **out)
{
    return jit_aten_call(C->rt, op, args, n, NULL, NULL, 0, out, C->err);
}

/* Attribute `name` (borrowed); NULL when absent. */
static jv *attr(const jv *self, const char *name)
{
    return jv_obj_get(self, name);
}

static bool attr_bool(const jv *self, const char *name, bool dflt)
{
    jv *v = attr(self, name);
    if (!v)
        return dflt;
    if (v->kind == JV_BOOL)
        return v->u.b;
    if (v->kind == JV_INT)
        return v->u.i != 0;
    return dflt;
}

/* An int list of `n` entries from an int or a tuple/list (torch's _pair). */
static jv *int_list(nn_ctx *C, const jv *self, const char *name, size_t n)
{
    jv *v = attr(self, name);
    if (!v) {
        fail_attr(C, name, "an int or a tuple of ints");
        return NULL;
    }
    jv *l = jv_list_new(n);
    if (!l) {
        CKPT_FAIL(C->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    if (v->kind == JV_INT) {
        for (size_t i = 0; i < n; i++)
            if (jv_list_push(l, jv_int(v->u.i), C->err) < 0) {
                jv_unref(l);
                return NULL;
            }
        return l;
    }
    if ((v->kind == JV_TUPLE || v->kind == JV_LIST) && (n == 0 || v->u.seq.n == n)) {
        for (size_t i = 0; i < v->u.seq.n; i++) {
            jv *it = v->u.seq.items[i];
            if (it->kind != JV_INT) {
                jv_unref(l);
                fail_attr(C, name, "a tuple of ints");
                return NULL;
            }
            if (jv_list_push(l, jv_ref(it), C->err) < 0) {
                jv_unref(l);
                return NULL;
            }
        }
        return l;
    }
    jv_unref(l);
    fail_attr(C, name, "an int or a tuple of ints");
    return NULL;
}

static int get_int(nn_ctx *C, const jv *self, const char *name, int64_t *out)
{
    jv *v = attr(self, name);
    if (!v || v->kind != JV_INT)
        return fail_attr(C, name, "an int");
    *out = v->u.i;
    return 0;
}

static int get_float(nn_ctx *C, const jv *self, const char *name, double *out)
{
    jv *v = attr(self, name);
    if (v && v->kind == JV_FLOAT)
        *out = v->u.f;
    else if (v && v->kind == JV_INT)
        *out = (double)v->u.i;
    else
        return fail_attr(C, name, "a number");
    return 0;
}

/* A parameter/buffer value or None (borrowed). */
static jv *tensor_or_none(const jv *self, const char *name)
{
    jv *v = attr(self, name);
    return v && v->kind == JV_TENSOR ? v : jv_none();
}

/* Runs `op` on args built by the caller; unrefs the args it owns (flags). */
typedef struct argv_ {
    jv *a[12];
    bool own[12];
    size_t n;
    bool oom;
} argv_;

static void push_b(argv_ *A, jv *v) /* borrowed */
{
    if (A->n < 12) {
        A->own[A->n] = false;
        A->a[A->n++] = v;
    }
}

static void push_o(argv_ *A, jv *v) /* owned (NULL: out of memory) */
{
    if (!v)
        A->oom = true;
    if (A->n < 12) {
        A->own[A->n] = true;
        A->a[A->n++] = v ? v : jv_none();
    }
}

static int run_args(nn_ctx *C, const char *op, argv_ *A, jv **out)
{
    int rc = A->oom ? CKPT_FAIL(C->err, CKPT_E_NOMEM, "out of memory") : 0;
    if (rc == 0)
        rc = call(C, op, A->a, A->n, out);
    for (size_t i = 0; i < A->n; i++)
        if (A->own[i])
            jv_unref(A->a[i]);
    return rc;
}

static int forward_module(nn_ctx *P, jv *self, jv *x, jv **out);

static const char *short_name(const char *q)
{
    const char *d = strrchr(q, '.');
    return d ? d + 1 : q;
}

static bool in_module(const char *q, const char *file)
{
    /* "torch.nn.modules.<file>.<Class>" */
    size_t n = strlen(NN_PREFIX);
    if (strncmp(q, NN_PREFIX, n) != 0)
        return false;
    size_t f = strlen(file);
    return strncmp(q + n, file, f) == 0 && q[n + f] == '.';
}

static int conv_forward(nn_ctx *C, jv *self, jv *x, int dims, bool transpose, jv **out)
{
    jv *pm = attr(self, "padding_mode");
    if (pm && pm->kind == JV_STR && strcmp(pm->u.str.s, "zeros") != 0)
        return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED,
                        "%s: padding_mode '%s' is not supported (only 'zeros')", C->cls,
                        pm->u.str.s);
    int64_t groups = 1;
    CKPT_TRY(get_int(C, self, "groups", &groups));
    argv_ A = {0};
    push_b(&A, x);
    push_b(&A, tensor_or_none(self, "weight"));
    push_b(&A, tensor_or_none(self, "bias"));
    push_o(&A, int_list(C, self, "stride", (size_t)dims));
    if (C->err->code) {
        run_args(C, "", &A, out);
        return C->err->code;
    }
    jv *pad = attr(self, "padding");
    if (pad && pad->kind == JV_STR)
        push_b(&A, pad);
    else
        push_o(&A, int_list(C, self, "padding", (size_t)dims));
    if (transpose) {
        push_o(&A, int_list(C, self, "output_padding", (size_t)dims));
        push_o(&A, jv_int(groups));
        push_o(&A, int_list(C, self, "dilation", (size_t)dims));
    } else {
        push_o(&A, int_list(C, self, "dilation", (size_t)dims));
        push_o(&A, jv_int(groups));
    }
    if (C->err->code) {
        run_args(C, "", &A, out);
        return C->err->code;
    }
    const char *op = transpose ? (dims == 1 ? "conv_transpose1d" : "conv_transpose2d")
                               : (dims == 1 ? "conv1d" : "conv2d");
    return run_args(C, op, &A, out);
}

static int batchnorm_forward(nn_ctx *C, jv *self, jv *x, jv **out)
{
    bool training = attr_bool(self, "training", false);
    bool track = attr_bool(self, "track_running_stats", true);
    double eps = 1e-5, momentum = 0.0;
    CKPT_TRY(get_float(C, self, "eps", &eps));
    jv *mo = attr(self, "momentum");
    if (mo && (mo->kind == JV_FLOAT || mo->kind == JV_INT))
        momentum = mo->kind == JV_FLOAT ? mo->u.f : (double)mo->u.i;
    jv *rm = tensor_or_none(self, "running_mean");
    jv *rv = tensor_or_none(self, "running_var");
    /* torch: batch statistics in training mode or without running stats;
     * the running buffers are not updated here (the file's memory is read-only) */
    bool use_batch = training || !track || rm->kind != JV_TENSOR || rv->kind != JV_TENSOR;
    argv_ A = {0};
    push_b(&A, x);
    push_b(&A, tensor_or_none(self, "weight"));
    push_b(&A, tensor_or_none(self, "bias"));
    push_b(&A, use_batch ? jv_none() : rm);
    push_b(&A, use_batch ? jv_none() : rv);
    push_o(&A, jv_bool(use_batch));
    push_o(&A, jv_float(momentum));
    push_o(&A, jv_float(eps));
    push_o(&A, jv_bool(true));
    return run_args(C, "batch_norm", &A, out);
}

static int softmax_forward(nn_ctx *C, jv *self, jv *x, const char *op, jv **out)
{
    jv *d = attr(self, "dim");
    int64_t dim;
    if (d && d->kind == JV_INT) {
        dim = d->u.i;
    } else {
        /* torch's _get_softmax_dim for dim=None (with its warning) */
        int r = x->u.t->t.rank;
        dim = (r == 0 || r == 1 || r == 3) ? 0 : 1;
    }
    argv_ A = {0};
    push_b(&A, x);
    push_o(&A, jv_int(dim));
    push_b(&A, jv_none());
    return run_args(C, op, &A, out);
}

static int sequential_forward(nn_ctx *C, jv *self, jv *x, jv **out)
{
    jv *cur = jv_ref(x);
    for (size_t i = 0; i < self->u.obj.n; i++) {
        if (self->u.obj.akind[i] != JIT_A_MODULE || self->u.obj.vals[i]->kind != JV_OBJECT)
            continue;
        jv *next = NULL;
        int rc = forward_module(C, self->u.obj.vals[i], cur, &next);
        jv_unref(cur);
        if (rc < 0)
            return rc;
        cur = next;
    }
    *out = cur;
    return 0;
}

/* ---- the recurrent layers, step by step, when the op library has no fused
 * aten::lstm / gru / rnn_*: the cell equations of torch's docs over linear,
 * chunk, sigmoid, tanh, mul, add, stack and cat. */

static jv *op1(nn_ctx *C, const char *op, jv *a)
{
    jv *r = NULL;
    return call(C, op, &a, 1, &r) < 0 ? NULL : r;
}

static jv *op2(nn_ctx *C, const char *op, jv *a, jv *b)
{
    jv *args[2] = {a, b}, *r = NULL;
    return call(C, op, args, 2, &r) < 0 ? NULL : r;
}

static jv *op_lin(nn_ctx *C, jv *x, jv *w, jv *b)
{
    jv *args[3] = {x, w, b ? b : jv_none()}, *r = NULL;
    return call(C, "linear", args, 3, &r) < 0 ? NULL : r;
}

/* op(a, int) / op(a, int, int) with int arguments */
static jv *op_i(nn_ctx *C, const char *op, jv *a, int64_t i, int64_t j, size_t n_int)
{
    jv *ii = jv_int(i), *jj = n_int > 1 ? jv_int(j) : NULL;
    jv *args[3] = {a, ii, jj}, *r = NULL;
    int rc = !ii || (n_int > 1 && !jj) ? CKPT_FAIL(C->err, CKPT_E_NOMEM, "out of memory")
                                       : call(C, op, args, 1 + n_int, &r);
    jv_unref(ii);
    jv_unref(jj);
    return rc < 0 ? NULL : r;
}

/* A list of `n` tensors (references taken) joined by stack/cat along dim. */
static jv *op_join(nn_ctx *C, const char *op, jv *const *items, size_t n, int64_t dim)
{
    jv *l = jv_list_new(n);
    if (!l) {
        CKPT_FAIL(C->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (jv_list_push(l, jv_ref(items[i]), C->err) < 0) {
            jv_unref(l);
            return NULL;
        }
    jv *r = op_i(C, op, l, dim, 0, 1);
    jv_unref(l);
    return r;
}

/* Swap in a new value: unref the old one; false when `v` is NULL (failed). */
static bool put(jv **slot, jv *v)
{
    jv_unref(*slot);
    *slot = v;
    return v != NULL;
}

/* One direction of one layer over the whole sequence `seq` (T, N, F). */
static int rnn_dir(nn_ctx *C, int mode, jv *seq, int64_t T, jv *const *w, bool bias, bool proj,
                   bool reverse, jv *h, jv *c, jv **out_seq, jv **h_n, jv **c_n)
{
    jv *w_ih = w[0], *w_hh = w[1], *b_ih = bias ? w[2] : NULL, *b_hh = bias ? w[3] : NULL;
    jv *w_hr = proj ? w[bias ? 4 : 2] : NULL;
    jv **outs = calloc((size_t)T, sizeof *outs);
    if (!outs)
        return CKPT_FAIL(C->err, CKPT_E_NOMEM, "out of memory");
    h = jv_ref(h);
    c = c ? jv_ref(c) : NULL;
    bool ok = true;
    for (int64_t k = 0; ok && k < T; k++) {
        int64_t t = reverse ? T - 1 - k : k;
        jv *xt = op_i(C, "select", seq, 0, t, 2);
        jv *gi = xt ? op_lin(C, xt, w_ih, b_ih) : NULL;
        jv *gh = gi ? op_lin(C, h, w_hh, b_hh) : NULL;
        jv_unref(xt);
        ok = gh != NULL;
        if (ok && mode == 0) { /* LSTM: i, f, g, o */
            jv *g = op2(C, "add", gi, gh), *ch = g ? op_i(C, "chunk", g, 4, 1, 2) : NULL;
            jv_unref(g);
            ok = ch && ch->kind == JV_LIST && ch->u.seq.n == 4;
            jv *ig = NULL, *fg = NULL, *gg = NULL, *og = NULL, *t1 = NULL, *t2 = NULL;
            ok = ok && put(&ig, op1(C, "sigmoid", ch->u.seq.items[0])) &&
                 put(&fg, op1(C, "sigmoid", ch->u.seq.items[1])) &&
                 put(&gg, op1(C, "tanh", ch->u.seq.items[2])) &&
                 put(&og, op1(C, "sigmoid", ch->u.seq.items[3])) &&
                 put(&t1, op2(C, "mul", fg, c)) && put(&t2, op2(C, "mul", ig, gg)) &&
                 put(&c, op2(C, "add", t1, t2)) && put(&t1, op1(C, "tanh", c)) &&
                 put(&h, op2(C, "mul", og, t1));
            if (ok && w_hr)
                ok = put(&h, op_lin(C, h, w_hr, NULL));
            jv_unref(ch);
            jv_unref(ig);
            jv_unref(fg);
            jv_unref(gg);
            jv_unref(og);
            jv_unref(t1);
            jv_unref(t2);
        } else if (ok && mode == 1) { /* GRU: r, z, n */
            jv *ci = op_i(C, "chunk", gi, 3, 1, 2),
               *chh = ci ? op_i(C, "chunk", gh, 3, 1, 2) : NULL;
            ok = ci && chh && ci->kind == JV_LIST && chh->kind == JV_LIST && ci->u.seq.n == 3 &&
                 chh->u.seq.n == 3;
            jv *r = NULL, *z = NULL, *n = NULL, *t1 = NULL;
            ok = ok && put(&t1, op2(C, "add", ci->u.seq.items[0], chh->u.seq.items[0])) &&
                 put(&r, op1(C, "sigmoid", t1)) &&
                 put(&t1, op2(C, "add", ci->u.seq.items[1], chh->u.seq.items[1])) &&
                 put(&z, op1(C, "sigmoid", t1)) &&
                 put(&t1, op2(C, "mul", r, chh->u.seq.items[2])) &&
                 put(&t1, op2(C, "add", ci->u.seq.items[2], t1)) && put(&n, op1(C, "tanh", t1)) &&
                 put(&t1, op2(C, "sub", h, n)) && put(&t1, op2(C, "mul", z, t1)) &&
                 put(&h, op2(C, "add", n, t1));
            jv_unref(ci);
            jv_unref(chh);
            jv_unref(r);
            jv_unref(z);
            jv_unref(n);
            jv_unref(t1);
        } else if (ok) { /* RNN: tanh or relu */
            jv *t1 = op2(C, "add", gi, gh);
            ok = t1 && put(&h, op1(C, mode == 2 ? "tanh" : "relu", t1));
            jv_unref(t1);
        }
        jv_unref(gi);
        jv_unref(gh);
        if (ok)
            outs[t] = jv_ref(h);
    }
    int rc = ok ? 0 : (C->err->code ? C->err->code : CKPT_E_NOMEM);
    if (rc == 0) {
        *out_seq = op_join(C, "stack", outs, (size_t)T, 0);
        if (!*out_seq)
            rc = C->err->code ? C->err->code : CKPT_E_NOMEM;
    }
    for (int64_t k = 0; k < T; k++)
        jv_unref(outs[k]);
    free(outs);
    if (rc == 0) {
        *h_n = h;
        *c_n = c;
    } else {
        jv_unref(h);
        jv_unref(c);
    }
    return rc;
}

static jv *zeros(nn_ctx *C, int dtype, int rank, const int64_t *dims);

/* The whole stack; returns the fused op's tuple: (output, h_n[, c_n]). */
static int rnn_steps(nn_ctx *C, int mode, jv *x, jv *params, bool bias, int64_t layers,
                     bool bidir, bool bf, int64_t hidden, int64_t proj, jv **res)
{
    size_t per = 2u + (bias ? 2u : 0u) + (proj > 0 ? 1u : 0u);
    size_t dirs = bidir ? 2u : 1u;
    if (params->u.seq.n != per * dirs * (size_t)layers)
        return jit_fail(C->rt, C->err, CKPT_E_FORMAT, "%s: %zu weights, expected %zu", C->cls,
                        params->u.seq.n, per * dirs * (size_t)layers);
    jv *seq = bf ? op_i(C, "transpose", x, 0, 1, 2) : jv_ref(x);
    if (!seq)
        return C->err->code;
    const ox_val *t = &seq->u.t->t;
    int64_t T = t->dims[0], N = t->dims[1];
    int64_t hd[2] = {N, proj > 0 ? proj : hidden}, cd[2] = {N, hidden};
    jv *h0 = zeros(C, t->dtype, 2, hd), *c0 = mode == 0 ? zeros(C, t->dtype, 2, cd) : NULL;
    size_t nfin = (size_t)layers * dirs;
    jv **hs = calloc(nfin, sizeof *hs), **cs = calloc(nfin, sizeof *cs);
    int rc = h0 && (mode != 0 || c0) && hs && cs
                 ? 0
                 : (C->err->code ? C->err->code
                                 : CKPT_FAIL(C->err, CKPT_E_NOMEM, "out of memory"));
    for (int64_t l = 0; rc == 0 && l < layers; l++) {
        jv *douts[2] = {NULL, NULL};
        for (size_t d = 0; rc == 0 && d < dirs; d++) {
            size_t at = (size_t)l * dirs + d;
            rc = rnn_dir(C, mode, seq, T, &params->u.seq.items[at * per], bias, proj > 0, d == 1,
                         h0, c0, &douts[d], &hs[at], &cs[at]);
        }
        if (rc == 0) {
            jv *next = dirs == 2 ? op_join(C, "cat", douts, 2, 2) : jv_ref(douts[0]);
            if (!put(&seq, next))
                rc = C->err->code ? C->err->code : CKPT_E_NOMEM;
        }
        jv_unref(douts[0]);
        jv_unref(douts[1]);
    }
    jv *out = NULL, *hn = NULL, *cn = NULL;
    if (rc == 0) {
        out = bf ? op_i(C, "transpose", seq, 0, 1, 2) : jv_ref(seq);
        hn = out ? op_join(C, "stack", hs, nfin, 0) : NULL;
        cn = hn && mode == 0 ? op_join(C, "stack", cs, nfin, 0) : NULL;
        if (!hn || (mode == 0 && !cn))
            rc = C->err->code ? C->err->code : CKPT_E_NOMEM;
    }
    if (rc == 0) {
        jv *r = jv_tuple_new(3);
        if (!r || jv_list_push(r, out, C->err) < 0 || jv_list_push(r, hn, C->err) < 0 ||
            (mode == 0 && jv_list_push(r, cn, C->err) < 0)) {
            rc = C->err->code ? C->err->code : CKPT_FAIL(C->err, CKPT_E_NOMEM, "out of memory");
            if (!r) {
                jv_unref(out);
                jv_unref(hn);
                jv_unref(cn);
            }
            jv_unref(r);
        } else {
            *res = r;
        }
    } else {
        jv_unref(out);
        jv_unref(hn);
        jv_unref(cn);
    }
    for (size_t i = 0; hs && i < nfin; i++)
        jv_unref(hs[i]);
    for (size_t i = 0; cs && i < nfin; i++)
        jv_unref(cs[i]);
    free(hs);
    free(cs);
    jv_unref(h0);
    jv_unref(c0);
    jv_unref(seq);
    return rc;
}

/* A zero tensor (the default h0/c0 of the recurrent layers): a constant. */
static jv *zeros(nn_ctx *C, int dtype, int rank, const int64_t *dims)
{
    jv *t = jv_tensor_new();
    if (!t) {
        CKPT_FAIL(C->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    if (ox_val_reshape_alloc(&t->u.t->t, dtype, rank, dims, C->err) < 0) {
        jv_unref(t);
        return NULL;
    }
    size_t nb = ox_val_nbytes(&t->u.t->t);
    if (nb)
        memset(t->u.t->t.data, 0, nb);
    return t;
}

/* nn.LSTM / nn.GRU / nn.RNN with one input and the default zero state:
 * aten::lstm / gru / rnn_tanh / rnn_relu over the _flat_weights_names order.
 * Returns (output, (h_n, c_n)) for LSTM, (output, h_n) otherwise. */
static int rnn_forward(nn_ctx *C, jv *self, jv *x, jv **out)
{
    jv *mode = attr(self, "mode");
    jv *names = attr(self, "_flat_weights_names");
    if (!mode || mode->kind != JV_STR)
        return fail_attr(C, "mode", "a str");
    if (!names || names->kind != JV_LIST)
        return fail_attr(C, "_flat_weights_names", "a list");
    const char *md = mode->u.str.s;
    bool lstm = strcmp(md, "LSTM") == 0;
    const char *op = lstm                          ? "lstm"
                     : strcmp(md, "GRU") == 0      ? "gru"
                     : strcmp(md, "RNN_TANH") == 0 ? "rnn_tanh"
                     : strcmp(md, "RNN_RELU") == 0 ? "rnn_relu"
                                                   : NULL;
    if (!op)
        return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED, "%s: mode '%s'", C->cls, md);
    int64_t layers = 1, hidden = 0, proj = 0;
    CKPT_TRY(get_int(C, self, "num_layers", &layers));
    CKPT_TRY(get_int(C, self, "hidden_size", &hidden));
    jv *pj = attr(self, "proj_size");
    if (pj && pj->kind == JV_INT)
        proj = pj->u.i;
    double dropout = 0.0;
    CKPT_TRY(get_float(C, self, "dropout", &dropout));
    bool bidir = attr_bool(self, "bidirectional", false);
    bool bf = attr_bool(self, "batch_first", false);
    bool bias = attr_bool(self, "bias", true);
    const ox_val *t = &x->u.t->t;
    if (t->rank != 3)
        return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED,
                        "%s: a %d-dim input (ckpt runs batched 3-dim inputs)", C->cls, t->rank);
    if (layers < 1 || layers > 1000 || hidden < 1 || proj < 0)
        return fail_attr(C, "num_layers/hidden_size", "in range");
    int64_t batch = bf ? t->dims[0] : t->dims[1];
    int64_t hd[3] = {layers * (bidir ? 2 : 1), batch, proj > 0 ? proj : hidden};
    int64_t cd[3] = {hd[0], batch, hidden};
    jv *params = jv_list_new(names->u.seq.n);
    jv *h0 = zeros(C, t->dtype, 3, hd);
    jv *state = NULL;
    int rc = params && h0 ? 0 : (C->err->code ? C->err->code : CKPT_E_NOMEM);
    for (size_t i = 0; rc == 0 && i < names->u.seq.n; i++) {
        jv *nm = names->u.seq.items[i];
        jv *w = nm->kind == JV_STR ? attr(self, nm->u.str.s) : NULL;
        if (!w || w->kind != JV_TENSOR)
            rc = fail_attr(C, nm->kind == JV_STR ? nm->u.str.s : "?", "a tensor");
        else
            rc = jv_list_push(params, jv_ref(w), C->err);
    }
    if (rc == 0 && lstm) {
        state = jv_list_new(2);
        jv *c0 = state ? zeros(C, t->dtype, 3, cd) : NULL;
        if (!state || !c0)
            rc = C->err->code ? C->err->code : CKPT_FAIL(C->err, CKPT_E_NOMEM, "out of memory");
        else if (jv_list_push(state, jv_ref(h0), C->err) < 0 ||
                 jv_list_push(state, c0, C->err) < 0)
            rc = C->err->code;
    }
    jv *res = NULL;
    /* proj_size runs step by step here (also when the library has it), so both paths stay tested */
    if (rc == 0 && (!jit_aten_has(op) || proj > 0)) {
        int mcode = lstm ? 0 : strcmp(md, "GRU") == 0 ? 1 : strcmp(md, "RNN_TANH") == 0 ? 2 : 3;
        rc = rnn_steps(C, mcode, x, params, bias, layers, bidir, bf, hidden, proj, &res);
    } else if (rc == 0) {
        argv_ A = {0};
        push_b(&A, x);
        push_b(&A, lstm ? state : h0);
        push_b(&A, params);
        push_o(&A, jv_bool(bias));
        push_o(&A, jv_int(layers));
        push_o(&A, jv_float(dropout));
        push_o(&A, jv_bool(false));
        push_o(&A, jv_bool(bidir));
        push_o(&A, jv_bool(bf));
        rc = run_args(C, op, &A, &res);
    }
    jv_unref(params);
    jv_unref(h0);
    jv_unref(state);
    if (rc < 0)
        return rc;
    size_t want = lstm ? 3 : 2;
    if (!res || res->kind != JV_TUPLE || res->u.seq.n != want) {
        jv_unref(res);
        return jit_fail(C->rt, C->err, CKPT_E_FORMAT, "aten::%s gave no %zu-tuple", op, want);
    }
    jv *r = jv_tuple_new(2);
    jv *hc = lstm ? jv_tuple_new(2) : NULL;
    if (!r || (lstm && !hc)) {
        jv_unref(r);
        jv_unref(res);
        return CKPT_FAIL(C->err, CKPT_E_NOMEM, "out of memory");
    }
    rc = jv_list_push(r, jv_ref(res->u.seq.items[0]), C->err);
    if (rc == 0 && lstm) {
        rc = jv_list_push(hc, jv_ref(res->u.seq.items[1]), C->err);
        if (rc == 0)
            rc = jv_list_push(hc, jv_ref(res->u.seq.items[2]), C->err);
        if (rc == 0)
            rc = jv_list_push(r, hc, C->err);
        else
            jv_unref(hc);
    } else if (rc == 0) {
        rc = jv_list_push(r, jv_ref(res->u.seq.items[1]), C->err);
    } else {
        jv_unref(hc);
    }
    jv_unref(res);
    if (rc < 0) {
        jv_unref(r);
        return rc;
    }
    *out = r;
    return 0;
}

/* ---- attention: nn.MultiheadAttention (query, key, value) and
 * nn.TransformerEncoderLayer (src) over the op library's fused
 * _native_multi_head_attention / _transformer_encoder_layer_fwd (batch first;
 * torch's eval-mode math).  No masks. */

static jv *sub_module(const jv *self, const char *name)
{
    jv *v = attr(self, name);
    return v && v->kind == JV_OBJECT ? v : NULL;
}

static int mha_check(nn_ctx *C, const jv *mha)
{
    if (!attr_bool(mha, "_qkv_same_embed_dim", true))
        return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED,
                        "%s: kdim/vdim unlike embed_dim (separate q/k/v projections) are not "
                        "supported",
                        C->cls);
    jv *bk = attr(mha, "bias_k");
    if ((bk && bk->kind == JV_TENSOR) || attr_bool(mha, "add_zero_attn", false))
        return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED,
                        "%s: add_bias_kv / add_zero_attn are not supported", C->cls);
    if (attr_bool(mha, "training", false)) {
        double p = 0.0;
        jv *pv = attr(mha, "dropout");
        if (pv && pv->kind == JV_FLOAT)
            p = pv->u.f;
        if (p != 0.0)
            return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED,
                            "%s is in training mode with dropout %g; call model.eval() before "
                            "torch.save to run it",
                            C->cls, p);
    }
    return 0;
}

/* A (E)-long zero bias when the layer has none (bias=False). */
static jv *bias_or_zeros(nn_ctx *C, jv *b, const jv *w, int64_t n)
{
    if (b && b->kind == JV_TENSOR)
        return jv_ref(b);
    return zeros(C, w->u.t->t.dtype, 1, &n);
}

static int mha_forward(nn_ctx *C, jv *self, jv *const *qkv, jv **out)
{
    CKPT_TRY(mha_check(C, self));
    int64_t E = 0, H = 0;
    CKPT_TRY(get_int(C, self, "embed_dim", &E));
    CKPT_TRY(get_int(C, self, "num_heads", &H));
    jv *w = attr(self, "in_proj_weight");
    jv *op = sub_module(self, "out_proj");
    jv *ow = op ? attr(op, "weight") : NULL;
    if (!w || w->kind != JV_TENSOR || !ow || ow->kind != JV_TENSOR)
        return fail_attr(C, "in_proj_weight/out_proj", "tensors");
    for (int i = 0; i < 3; i++)
        if (qkv[i]->kind != JV_TENSOR || qkv[i]->u.t->t.rank != 3)
            return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED,
                            "%s: query, key and value must be 3-dim tensors", C->cls);
    bool bf = attr_bool(self, "batch_first", false);
    jv *b = bias_or_zeros(C, attr(self, "in_proj_bias"), w, 3 * E);
    jv *ob = b ? bias_or_zeros(C, attr(op, "bias"), ow, E) : NULL;
    jv *in[3] = {NULL, NULL, NULL};
    int rc = b && ob ? 0 : (C->err->code ? C->err->code : CKPT_E_NOMEM);
    for (int i = 0; rc == 0 && i < 3; i++) {
        in[i] = bf ? jv_ref(qkv[i]) : op_i(C, "transpose", qkv[i], 0, 1, 2);
        if (!in[i])
            rc = C->err->code;
    }
    jv *res = NULL;
    if (rc == 0) {
        argv_ A = {0};
        push_b(&A, in[0]);
        push_b(&A, in[1]);
        push_b(&A, in[2]);
        push_o(&A, jv_int(E));
        push_o(&A, jv_int(H));
        push_b(&A, w);
        push_b(&A, b);
        push_b(&A, ow);
        push_b(&A, ob);
        push_b(&A, jv_none());
        push_o(&A, jv_bool(true));
        push_o(&A, jv_bool(true));
        rc = run_args(C, "_native_multi_head_attention", &A, &res);
    }
    for (int i = 0; i < 3; i++)
        jv_unref(in[i]);
    jv_unref(b);
    jv_unref(ob);
    if (rc < 0)
        return rc;
    if (res->kind != JV_TUPLE || res->u.seq.n != 2) {
        jv_unref(res);
        return jit_fail(C->rt, C->err, CKPT_E_FORMAT,
                        "aten::_native_multi_head_attention gave no pair");
    }
    if (!bf) {
        jv *o = op_i(C, "transpose", res->u.seq.items[0], 0, 1, 2);
        if (!o) {
            jv_unref(res);
            return C->err->code;
        }
        jv_unref(res->u.seq.items[0]);
        res->u.seq.items[0] = o;
    }
    *out = res;
    return 0;
}

static int tel_forward(nn_ctx *C, jv *self, jv *x, jv **out)
{
    jv *sa = sub_module(self, "self_attn"), *l1 = sub_module(self, "linear1");
    jv *l2 = sub_module(self, "linear2"), *n1 = sub_module(self, "norm1");
    jv *n2 = sub_module(self, "norm2");
    if (!sa || !l1 || !l2 || !n1 || !n2)
        return fail_attr(C, "self_attn/linear1/linear2/norm1/norm2", "modules");
    nn_ctx S = *C;
    S.cls = sa->u.obj.cls->qualname;
    CKPT_TRY(mha_check(&S, sa));
    if (attr_bool(self, "training", false)) {
        jv *d = sub_module(self, "dropout");
        jv *pv = d ? attr(d, "p") : NULL;
        if (pv && pv->kind == JV_FLOAT && pv->u.f != 0.0)
            return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED,
                            "%s is in training mode (random dropout); call model.eval() "
                            "before torch.save to run it",
                            C->cls);
    }
    int gelu = -1;
    jv *rg = attr(self, "activation_relu_or_gelu");
    jv *act = attr(self, "activation");
    if (rg && rg->kind == JV_INT && (rg->u.i == 1 || rg->u.i == 2))
        gelu = rg->u.i == 2;
    else if (act && act->kind == JV_STR && strcmp(act->u.str.s, "torch.nn.functional.relu") == 0)
        gelu = 0;
    else if (act && act->kind == JV_STR && strcmp(act->u.str.s, "torch.nn.functional.gelu") == 0)
        gelu = 1;
    if (gelu < 0)
        return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED,
                        "%s: an activation other than relu or gelu (Python code)", C->cls);
    int64_t E = 0, H = 0;
    CKPT_TRY(get_int(&S, sa, "embed_dim", &E));
    CKPT_TRY(get_int(&S, sa, "num_heads", &H));
    double eps = 1e-5;
    nn_ctx N = *C;
    N.cls = n1->u.obj.cls->qualname;
    CKPT_TRY(get_float(&N, n1, "eps", &eps));
    if (x->kind != JV_TENSOR || x->u.t->t.rank != 3)
        return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED, "%s: the input must be 3-dim", C->cls);
    jv *w = attr(sa, "in_proj_weight"), *op = sub_module(sa, "out_proj");
    jv *ow = op ? attr(op, "weight") : NULL;
    jv *w1 = attr(l1, "weight"), *w2 = attr(l2, "weight");
    if (!w || w->kind != JV_TENSOR || !ow || ow->kind != JV_TENSOR || !w1 ||
        w1->kind != JV_TENSOR || !w2 || w2->kind != JV_TENSOR)
        return fail_attr(C, "weights", "tensors");
    bool bf = attr_bool(sa, "batch_first", false);
    jv *tmp[8] = {NULL};
    tmp[0] = bias_or_zeros(C, attr(sa, "in_proj_bias"), w, 3 * E);
    tmp[1] = bias_or_zeros(C, attr(op, "bias"), ow, E);
    tmp[2] = bias_or_zeros(C, attr(l1, "bias"), w1, w1->u.t->t.dims[0]);
    tmp[3] = bias_or_zeros(C, attr(l2, "bias"), w2, E);
    jv *nw1 = attr(n1, "weight"), *nb1 = attr(n1, "bias"), *nw2 = attr(n2, "weight"),
       *nb2 = attr(n2, "bias");
    if (!nw1 || nw1->kind != JV_TENSOR) { /* elementwise_affine=False: ones/zeros */
        return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED,
                        "%s: LayerNorm without elementwise_affine is not supported", C->cls);
    }
    tmp[4] = bf ? jv_ref(x) : op_i(C, "transpose", x, 0, 1, 2);
    int rc = 0;
    for (int i = 0; i < 5; i++)
        if (!tmp[i])
            rc = C->err->code ? C->err->code : CKPT_FAIL(C->err, CKPT_E_NOMEM, "out of memory");
    jv *res = NULL;
    if (rc == 0) {
        jv *args[20] = {tmp[4], NULL,   NULL, w,      tmp[0],    ow,       tmp[1],
                        NULL,   NULL,   NULL, nw1,    nb1,       nw2,      nb2,
                        w1,     tmp[2], w2,   tmp[3], jv_none(), jv_none()};
        args[1] = tmp[5] = jv_int(E);
        args[2] = tmp[6] = jv_int(H);
        args[7] = jv_bool(gelu == 1);
        args[8] = jv_bool(attr_bool(self, "norm_first", false));
        args[9] = tmp[7] = jv_float(eps);
        if (!tmp[5] || !tmp[6] || !tmp[7])
            rc = CKPT_FAIL(C->err, CKPT_E_NOMEM, "out of memory");
        else
            rc = call(C, "_transformer_encoder_layer_fwd", args, 20, &res);
    }
    for (int i = 0; i < 8; i++)
        jv_unref(tmp[i]);
    if (rc < 0)
        return rc;
    if (!bf) {
        jv *o = op_i(C, "transpose", res, 0, 1, 2);
        jv_unref(res);
        if (!o)
            return C->err->code;
        res = o;
    }
    *out = res;
    return 0;
}

/* Forward of one module (a torch.nn class); `x` borrowed, *out a new reference. */
static int forward_one(nn_ctx *C, jv *self, jv *x, jv **out)
{
    const char *q = C->cls, *n = short_name(q);
    if (x->kind != JV_TENSOR && strcmp(n, "Sequential") != 0 && strcmp(n, "Identity") != 0)
        return jit_fail(C->rt, C->err, CKPT_E_ARG, "%s: the input is a %s, not a tensor", q,
                        jv_kind_name(x->kind));
    argv_ A = {0};
    if (in_module(q, "container")) {
        if (strcmp(n, "Sequential") == 0)
            return sequential_forward(C, self, x, out);
    } else if (in_module(q, "linear")) {
        if (strcmp(n, "Identity") == 0) {
            *out = jv_ref(x);
            return 0;
        }
        if (strcmp(n, "Linear") == 0 || strcmp(n, "NonDynamicallyQuantizableLinear") == 0) {
            push_b(&A, x);
            push_b(&A, tensor_or_none(self, "weight"));
            push_b(&A, tensor_or_none(self, "bias"));
            return run_args(C, "linear", &A, out);
        }
    } else if (in_module(q, "conv")) {
        if (strcmp(n, "Conv1d") == 0)
            return conv_forward(C, self, x, 1, false, out);
        if (strcmp(n, "Conv2d") == 0)
            return conv_forward(C, self, x, 2, false, out);
        if (strcmp(n, "ConvTranspose1d") == 0)
            return conv_forward(C, self, x, 1, true, out);
        if (strcmp(n, "ConvTranspose2d") == 0)
            return conv_forward(C, self, x, 2, true, out);
    } else if (in_module(q, "batchnorm")) {
        if (strcmp(n, "BatchNorm1d") == 0 || strcmp(n, "BatchNorm2d") == 0 ||
            strcmp(n, "BatchNorm3d") == 0)
            return batchnorm_forward(C, self, x, out);
    } else if (in_module(q, "normalization")) {
        double eps = 1e-5;
        CKPT_TRY(get_float(C, self, "eps", &eps));
        if (strcmp(n, "LayerNorm") == 0) {
            push_b(&A, x);
            push_o(&A, int_list(C, self, "normalized_shape", 0));
            push_b(&A, tensor_or_none(self, "weight"));
            push_b(&A, tensor_or_none(self, "bias"));
            push_o(&A, jv_float(eps));
            push_o(&A, jv_bool(true));
            if (C->err->code) {
                run_args(C, "", &A, out);
                return C->err->code;
            }
            return run_args(C, "layer_norm", &A, out);
        }
        if (strcmp(n, "GroupNorm") == 0) {
            int64_t g = 1;
            CKPT_TRY(get_int(C, self, "num_groups", &g));
            push_b(&A, x);
            push_o(&A, jv_int(g));
            push_b(&A, tensor_or_none(self, "weight"));
            push_b(&A, tensor_or_none(self, "bias"));
            push_o(&A, jv_float(eps));
            push_o(&A, jv_bool(true));
            return run_args(C, "group_norm", &A, out);
        }
    } else if (in_module(q, "activation")) {
        push_b(&A, x);
        if (strcmp(n, "ReLU") == 0)
            return run_args(C, "relu", &A, out);
        if (strcmp(n, "Sigmoid") == 0)
            return run_args(C, "sigmoid", &A, out);
        if (strcmp(n, "Tanh") == 0)
            return run_args(C, "tanh", &A, out);
        if (strcmp(n, "SiLU") == 0)
            return run_args(C, "silu", &A, out);
        if (strcmp(n, "Hardswish") == 0)
            return run_args(C, "hardswish", &A, out);
        if (strcmp(n, "Hardsigmoid") == 0)
            return run_args(C, "hardsigmoid", &A, out);
        if (strcmp(n, "ReLU6") == 0 || strcmp(n, "Hardtanh") == 0) {
            double lo = 0.0, hi = 6.0;
            if (strcmp(n, "Hardtanh") == 0) {
                CKPT_TRY(get_float(C, self, "min_val", &lo));
                CKPT_TRY(get_float(C, self, "max_val", &hi));
            }
            push_o(&A, jv_float(lo));
            push_o(&A, jv_float(hi));
            return run_args(C, "hardtanh", &A, out);
        }
        if (strcmp(n, "LeakyReLU") == 0) {
            double s = 0.0;
            CKPT_TRY(get_float(C, self, "negative_slope", &s));
            push_o(&A, jv_float(s));
            return run_args(C, "leaky_relu", &A, out);
        }
        if (strcmp(n, "ELU") == 0) {
            double alpha = 1.0;
            CKPT_TRY(get_float(C, self, "alpha", &alpha));
            push_o(&A, jv_float(alpha));
            push_o(&A, jv_float(1.0));
            push_o(&A, jv_float(1.0));
            return run_args(C, "elu", &A, out);
        }
        if (strcmp(n, "GELU") == 0) {
            jv *ap = attr(self, "approximate");
            const char *kw[1] = {"approximate"};
            jv *kv[1] = {ap && ap->kind == JV_STR ? ap : NULL};
            jv *none_s = NULL;
            if (!kv[0]) {
                none_s = jv_str0("none");
                kv[0] = none_s;
            }
            int rc = kv[0] ? jit_aten_call(C->rt, "gelu", A.a, 1, kw, kv, 1, out, C->err)
                           : CKPT_FAIL(C->err, CKPT_E_NOMEM, "out of memory");
            jv_unref(none_s);
            return rc;
        }
        if (strcmp(n, "Softmax") == 0)
            return softmax_forward(C, self, x, "softmax", out);
        if (strcmp(n, "LogSoftmax") == 0)
            return softmax_forward(C, self, x, "log_softmax", out);
        A.n = 0;
    } else if (in_module(q, "dropout")) {
        if (attr_bool(self, "training", false)) {
            double p = 0.0;
            jv *pv = attr(self, "p");
            if (pv && pv->kind == JV_FLOAT)
                p = pv->u.f;
            if (p != 0.0)
                return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED,
                                "%s is in training mode (random masks); call model.eval() "
                                "before torch.save to run it",
                                q);
        }
        *out = jv_ref(x);
        return 0;
    } else if (in_module(q, "pooling")) {
        if (strcmp(n, "MaxPool2d") == 0 || strcmp(n, "MaxPool1d") == 0) {
            if (attr_bool(self, "return_indices", false))
                return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED,
                                "%s: return_indices=True is not supported", q);
            size_t d = strcmp(n, "MaxPool2d") == 0 ? 2 : 1;
            push_b(&A, x);
            push_o(&A, int_list(C, self, "kernel_size", d));
            jv *st = attr(self, "stride");
            if (st && st->kind != JV_NONE)
                push_o(&A, int_list(C, self, "stride", d));
            else
                push_o(&A, int_list(C, self, "kernel_size", d));
            push_o(&A, int_list(C, self, "padding", d));
            push_o(&A, int_list(C, self, "dilation", d));
            push_o(&A, jv_bool(attr_bool(self, "ceil_mode", false)));
            if (C->err->code) {
                run_args(C, "", &A, out);
                return C->err->code;
            }
            return run_args(C, d == 2 ? "max_pool2d" : "max_pool1d", &A, out);
        }
        if (strcmp(n, "AvgPool2d") == 0 || strcmp(n, "AvgPool1d") == 0) {
            size_t d = strcmp(n, "AvgPool2d") == 0 ? 2 : 1;
            push_b(&A, x);
            push_o(&A, int_list(C, self, "kernel_size", d));
            jv *st = attr(self, "stride");
            if (st && st->kind != JV_NONE)
                push_o(&A, int_list(C, self, "stride", d));
            else
                push_o(&A, int_list(C, self, "kernel_size", d));
            push_o(&A, int_list(C, self, "padding", d));
            push_o(&A, jv_bool(attr_bool(self, "ceil_mode", false)));
            push_o(&A, jv_bool(attr_bool(self, "count_include_pad", true)));
            if (d == 2) {
                jv *dv = attr(self, "divisor_override");
                push_b(&A, dv ? dv : jv_none());
            }
            if (C->err->code) {
                run_args(C, "", &A, out);
                return C->err->code;
            }
            return run_args(C, d == 2 ? "avg_pool2d" : "avg_pool1d", &A, out);
        }
        if (strcmp(n, "AdaptiveAvgPool2d") == 0) {
            jv *os = attr(self, "output_size");
            const ox_val *t = &x->u.t->t;
            if (t->rank < 2)
                return jit_fail(C->rt, C->err, CKPT_E_ARG, "%s: input of %d dims", q, t->rank);
            jv *l = jv_list_new(2);
            for (int i = 0; l && i < 2; i++) {
                jv *e = os && os->kind == JV_INT ? os
                        : os && (os->kind == JV_TUPLE || os->kind == JV_LIST) && os->u.seq.n == 2
                            ? os->u.seq.items[i]
                            : NULL;
                if (!e || (e->kind != JV_INT && e->kind != JV_NONE)) {
                    jv_unref(l);
                    return fail_attr(C, "output_size", "an int or a pair");
                }
                int64_t v = e->kind == JV_INT ? e->u.i : t->dims[t->rank - 2 + i];
                if (jv_list_push(l, jv_int(v), C->err) < 0) {
                    jv_unref(l);
                    return C->err->code;
                }
            }
            push_b(&A, x);
            push_o(&A, l);
            return run_args(C, "adaptive_avg_pool2d", &A, out);
        }
    } else if (in_module(q, "flatten")) {
        if (strcmp(n, "Flatten") == 0) {
            int64_t s = 0, e = 0;
            CKPT_TRY(get_int(C, self, "start_dim", &s));
            CKPT_TRY(get_int(C, self, "end_dim", &e));
            push_b(&A, x);
            push_o(&A, jv_int(s));
            push_o(&A, jv_int(e));
            return run_args(C, "flatten", &A, out);
        }
        if (strcmp(n, "Unflatten") == 0) {
            int64_t d = 0;
            CKPT_TRY(get_int(C, self, "dim", &d));
            push_b(&A, x);
            push_o(&A, jv_int(d));
            push_o(&A, int_list(C, self, "unflattened_size", 0));
            if (C->err->code) {
                run_args(C, "", &A, out);
                return C->err->code;
            }
            return run_args(C, "unflatten", &A, out);
        }
    } else if (in_module(q, "transformer")) {
        if (strcmp(n, "TransformerEncoderLayer") == 0)
            return tel_forward(C, self, x, out);
        if (strcmp(n, "TransformerEncoder") == 0) {
            jv *layers = attr(self, "layers");
            if (!layers || layers->kind != JV_OBJECT)
                return fail_attr(C, "layers", "a ModuleList");
            jv *cur = jv_ref(x);
            for (size_t i = 0; i < layers->u.obj.n; i++) {
                if (layers->u.obj.akind[i] != JIT_A_MODULE ||
                    layers->u.obj.vals[i]->kind != JV_OBJECT)
                    continue;
                jv *next = NULL;
                int rc = forward_module(C, layers->u.obj.vals[i], cur, &next);
                jv_unref(cur);
                if (rc < 0)
                    return rc;
                cur = next;
            }
            jv *norm = attr(self, "norm");
            if (norm && norm->kind == JV_OBJECT) {
                jv *next = NULL;
                int rc = forward_module(C, norm, cur, &next);
                jv_unref(cur);
                if (rc < 0)
                    return rc;
                cur = next;
            }
            *out = cur;
            return 0;
        }
    } else if (in_module(q, "rnn")) {
        if (strcmp(n, "LSTM") == 0 || strcmp(n, "GRU") == 0 || strcmp(n, "RNN") == 0)
            return rnn_forward(C, self, x, out);
    } else if (in_module(q, "sparse")) {
        if (strcmp(n, "Embedding") == 0) {
            jv *mn = attr(self, "max_norm");
            if (mn && mn->kind != JV_NONE)
                return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED,
                                "%s: max_norm renormalises the weight in place; not supported",
                                q);
            jv *pi = attr(self, "padding_idx");
            push_b(&A, tensor_or_none(self, "weight"));
            push_b(&A, x);
            push_o(&A, jv_int(pi && pi->kind == JV_INT ? pi->u.i : -1));
            push_o(&A, jv_bool(attr_bool(self, "scale_grad_by_freq", false)));
            push_o(&A, jv_bool(attr_bool(self, "sparse", false)));
            return run_args(C, "embedding", &A, out);
        }
    }
    return jit_fail(
        C->rt, C->err, CKPT_E_UNSUPPORTED,
        "class %s has no forward in ckpt (the torch.nn classes ckpt runs: "
        "Sequential, Linear, Identity, Conv1d/2d, ConvTranspose1d/2d, BatchNorm1d/2d/3d, "
        "LayerNorm, GroupNorm, the activations, Dropout, pooling, Flatten, "
        "Unflatten, Embedding, LSTM, GRU, RNN, MultiheadAttention, "
        "TransformerEncoderLayer, TransformerEncoder)",
        q);
}

/* "conv, head" and the tensor count of the state dict, for the user-class error. */
static size_t count_state(const jv *o, int depth)
{
    size_t n = 0;
    if (depth > JIT_MAX_DEPTH)
        return 0;
    for (size_t i = 0; i < o->u.obj.n; i++) {
        const jv *v = o->u.obj.vals[i];
        int k = o->u.obj.akind[i];
        if ((k == JIT_A_PARAM || k == JIT_A_BUFFER) && v->kind == JV_TENSOR &&
            !(k == JIT_A_BUFFER && jit_class_nonpersistent(o->u.obj.cls, o->u.obj.names[i])))
            n++;
        else if (k == JIT_A_MODULE && v->kind == JV_OBJECT)
            n += count_state(v, depth + 1);
    }
    return n;
}

static int user_class_error(nn_ctx *C, jv *self)
{
    char subs[160];
    size_t used = 0;
    subs[0] = 0;
    for (size_t i = 0; i < self->u.obj.n; i++) {
        if (self->u.obj.akind[i] != JIT_A_MODULE || self->u.obj.vals[i]->kind != JV_OBJECT)
            continue;
        int w = snprintf(subs + used, sizeof subs - used, "%s%s (%s)", used ? ", " : "",
                         self->u.obj.names[i],
                         short_name(self->u.obj.vals[i]->u.obj.cls->qualname));
        if (w < 0 || (size_t)w >= sizeof subs - used) {
            snprintf(subs + (sizeof subs - 5), 5, "...");
            break;
        }
        used += (size_t)w;
    }
    return jit_fail(C->rt, C->err, CKPT_E_UNSUPPORTED,
                    "class %s's forward is Python code (not in the file, never run); submodules: "
                    "%s; state dict: %zu tensors (ckpt extract --state-dict)",
                    C->cls, used ? subs : "(none)", count_state(self, 0));
}

static int forward_module(nn_ctx *P, jv *self, jv *x, jv **out)
{
    if (P->rt->depth >= JIT_MAX_DEPTH)
        return jit_fail(P->rt, P->err, CKPT_E_LIMIT, "modules nested deeper than %d",
                        JIT_MAX_DEPTH);
    nn_ctx C = *P;
    C.cls = self->u.obj.cls ? self->u.obj.cls->qualname : "?";
    if (strncmp(C.cls, "torch.nn.", 9) != 0)
        return user_class_error(&C, self);
    P->rt->depth++;
    int rc = forward_one(&C, self, x, out);
    P->rt->depth--;
    return rc;
}

int jit_nn_forward(jit_rt *rt, jv *self, jv *const *args, size_t n_args, jv **result,
                   ckpt_error *err)
{
    if (!self || self->kind != JV_OBJECT)
        return jit_fail(rt, err, CKPT_E_ARG, "no module to run");
    nn_ctx C = {.rt = rt, .err = err, .cls = self->u.obj.cls ? self->u.obj.cls->qualname : "?"};
    if (strncmp(C.cls, "torch.nn.", 9) != 0)
        return user_class_error(&C, self);
    rt->file = NULL;
    if (strcmp(C.cls, NN_PREFIX "activation.MultiheadAttention") == 0) {
        if (n_args != 3)
            return jit_fail(rt, err, CKPT_E_ARG,
                            "%s.forward takes query, key and value, %zu given", C.cls, n_args);
        return mha_forward(&C, self, args, result);
    }
    if (n_args != 1)
        return jit_fail(rt, err, CKPT_E_ARG, "%s.forward takes one input, %zu given", C.cls,
                        n_args);
    return forward_module(&C, self, args[0], result);
}
