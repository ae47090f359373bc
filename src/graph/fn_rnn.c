/* src/graph/fn_rnn.c - ckpt_f_lstm / ckpt_f_gru on the tape: the whole
 * stack (layers, directions, dropout between layers) is one node whose
 * backward runs BPTT with the kernels of src/ops/rnn_kernels.c.
 *
 * Several outputs (output, h_n, c_n) come from one node: the node writes a
 * packed var P = [output | h_n | c_n], and each returned var is a copy of
 * its section with a small node that adds its gradient into P's.  Those are
 * recorded after P's node, so the reverse walk runs them first. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "ops/rnn_kernels.h"

typedef struct rnn_ctx {
    int kind;
    int64_t L, D, T, B, In, H, G, npl;
    bool bf;
    int64_t out_n, hn_n;   /* floats in P's output and h_n sections */
    const float **lin;     /* [L] layer inputs (lin[0]: x) */
    float **lout;          /* [L] layer outputs (lout[L-1]: P's output section) */
    float **mask;          /* [L] dropout scales from lout[l] to lin[l+1], or NULL */
    ckpt_rnn_saved *saved; /* [L*D] */
} rnn_ctx;

/* in[0] x, in[1] h0, in[2] c0, in[3..] weights in torch's flat order */
static void dir_setup(const rnn_ctx *c, ckpt_var *const *in, int64_t l, int64_t d,
                      ckpt_rnn_dir *dir)
{
    memset(dir, 0, sizeof *dir);
    dir->kind = c->kind;
    dir->T = c->T;
    dir->B = c->B;
    dir->In = l ? c->D * c->H : c->In;
    dir->H = c->H;
    dir->out_width = c->D * c->H;
    dir->col = d * c->H;
    dir->batch_first = c->bf;
    dir->reverse = d == 1;
    ckpt_var *const *w = in + 3 + (l * c->D + d) * c->npl;
    dir->w_ih = w[0]->data;
    dir->w_hh = w[1]->data;
    if (c->npl == 4) {
        dir->b_ih = w[2]->data;
        dir->b_hh = w[3]->data;
    }
    int64_t off = (l * c->D + d) * c->B * c->H;
    dir->h0 = in[1] ? in[1]->data + off : NULL;
    dir->c0 = in[2] ? in[2]->data + off : NULL;
}

static int rnn_backward(ckpt__node *n, ckpt_error *err)
{
    const rnn_ctx *c = *(rnn_ctx **)n->ctx;
    ckpt_tape *t = n->out->tape;
    const int64_t L = c->L, D = c->D, T = c->T, B = c->B, H = c->H, G = c->G;
    const float *gp = n->out->grad;
    const float *dout = gp, *dhn = gp + c->out_n, *dcn = gp + c->out_n + c->hn_n;
    float *dx = NULL, *dh0 = NULL, *dc0 = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    CKPT_TRY(ckpt__grad(n->in[1], &dh0, err));
    CKPT_TRY(ckpt__grad(n->in[2], &dc0, err));
    size_t rows = (size_t)(T * B);
    float *dgx = ckpt__tape_alloc(t, rows * (size_t)G * sizeof(float), err);
    float *dgh = c->kind == CKPT_RNN_GRU
                     ? ckpt__tape_alloc(t, rows * (size_t)G * sizeof(float), err)
                     : dgx;
    float *dh = ckpt__tape_alloc(t, (size_t)(B * H + 1) * sizeof(float), err);
    float *dc = ckpt__tape_alloc(t, (size_t)(B * H + 1) * sizeof(float), err);
    if (!dgx || !dgh || !dh || !dc)
        return CKPT_E_NOMEM;
    const float *dnext = dout;
    for (int64_t l = L - 1; l >= 0; l--) {
        float *din = dx;
        if (l > 0) {
            din = ckpt__tape_calloc(t, rows * (size_t)(D * H) * sizeof(float), err);
            if (!din)
                return CKPT_E_NOMEM;
        }
        for (int64_t d = 0; d < D; d++) {
            ckpt_rnn_dir dir;
            dir_setup(c, n->in, l, d, &dir);
            ckpt_var *const *w = n->in + 3 + (l * D + d) * c->npl;
            ckpt_rnn_dir_grads g = {.dx = din};
            CKPT_TRY(ckpt__grad(w[0], &g.dw_ih, err));
            CKPT_TRY(ckpt__grad(w[1], &g.dw_hh, err));
            if (c->npl == 4) {
                CKPT_TRY(ckpt__grad(w[2], &g.db_ih, err));
                CKPT_TRY(ckpt__grad(w[3], &g.db_hh, err));
            }
            int64_t off = (l * D + d) * B * H;
            g.dh0 = dh0 ? dh0 + off : NULL;
            g.dc0 = dc0 ? dc0 + off : NULL;
            ckpt_rnn_dir_backward(&dir, c->lin[l], c->lout[l], &c->saved[l * D + d], dnext,
                                  dhn + off, c->kind == CKPT_RNN_LSTM ? dcn + off : NULL, dgx,
                                  dgh, dh, dc, &g);
        }
        if (l > 0) {
            const float *m = c->mask[l - 1];
            if (m)
                for (size_t i = 0; i < rows * (size_t)(D * H); i++)
                    din[i] *= m[i];
            dnext = din;
        }
    }
    return 0;
}

static int piece_backward(ckpt__node *n, ckpt_error *err)
{
    float *g = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &g, err));
    if (!g)
        return 0;
    int64_t off = *(const int64_t *)n->ctx;
    for (int64_t i = 0; i < n->out->numel; i++)
        g[off + i] += n->out->grad[i];
    return 0;
}

/* A var holding P[off : off + numel(shape)], whose gradient flows into P. */
static ckpt_var *piece(ckpt_var *p, int64_t off, int ndim, const int64_t *shape, const char *op,
                       ckpt_error *err)
{
    ckpt_var *v = ckpt__var_new(p->tape, CKPT_F32, ndim, shape, err);
    if (!v)
        return NULL;
    if (v->numel)
        memcpy(v->data, p->data + off, (size_t)v->numel * sizeof(float));
    ckpt__node *n = NULL;
    if (ckpt__record(p->tape, op, v, &p, 1, piece_backward, sizeof(int64_t), &n, err) < 0)
        return NULL;
    if (n)
        *(int64_t *)n->ctx = off;
    return v;
}

static int check_shape(const ckpt_var *v, int ndim, const int64_t *want, const char *op,
                       const char *what, ckpt_error *err)
{
    bool ok = v->ndim == ndim;
    for (int i = 0; ok && i < ndim; i++)
        ok = v->shape[i] == want[i];
    if (ok)
        return 0;
    char got[96], exp[96];
    ckpt_var tmp = {0};
    tmp.ndim = ndim;
    for (int i = 0; i < ndim; i++)
        tmp.shape[i] = want[i];
    return CKPT_FAIL(err, CKPT_E_SHAPE, "%s: %s has shape %s, expected %s", op, what,
                     ckpt__shape_str(v, got, sizeof got), ckpt__shape_str(&tmp, exp, sizeof exp));
}

static ckpt_var *rnn_run(int kind, ckpt_var *x, ckpt_var *h0, ckpt_var *c0,
                         ckpt_var *const *weights, size_t nw, const ckpt_rnn_opts *o,
                         bool training, ckpt_var **h_n, ckpt_var **c_n, ckpt_error *err)
{
    const char *op = kind == CKPT_RNN_LSTM ? "lstm" : "gru";
    const ckpt_rnn_opts def = {0};
    if (!o)
        o = &def;
    if (h_n)
        *h_n = NULL;
    if (c_n)
        *c_n = NULL;
    if (ckpt__var_check(x, CKPT_F32, NULL, op, "input", err) < 0)
        return NULL;
    ckpt_tape *t = x->tape;
    if (x->ndim != 2 && x->ndim != 3) {
        char b[96];
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: input must be 2-D (unbatched) or 3-D, got %s", op,
                  ckpt__shape_str(x, b, sizeof b));
        return NULL;
    }
    if (o->num_layers < 0 || !(o->dropout >= 0.0 && o->dropout <= 1.0)) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: num_layers %lld must be >= 1 and dropout %g in [0, 1]",
                  op, (long long)o->num_layers, o->dropout);
        return NULL;
    }
    rnn_ctx cx = {0};
    cx.kind = kind;
    cx.L = o->num_layers > 0 ? o->num_layers : 1;
    cx.D = o->bidirectional ? 2 : 1;
    cx.npl = o->no_bias ? 2 : 4;
    const bool unbatched = x->ndim == 2;
    cx.bf = !unbatched && o->batch_first;
    cx.T = unbatched ? x->shape[0] : (cx.bf ? x->shape[1] : x->shape[0]);
    cx.B = unbatched ? 1 : (cx.bf ? x->shape[0] : x->shape[1]);
    cx.In = x->shape[x->ndim - 1];
    const int64_t mult = ckpt_rnn_gate_mult(kind);
    if ((size_t)(cx.L * cx.D * cx.npl) != nw || !weights) {
        CKPT_FAIL(
            err, CKPT_E_ARG,
            "%s: %zu weights given, expected %lld (num_layers %lld x %lld directions x %lld)", op,
            nw, (long long)(cx.L * cx.D * cx.npl), (long long)cx.L, (long long)cx.D,
            (long long)cx.npl);
        return NULL;
    }
    for (size_t i = 0; i < nw; i++) {
        char name[32];
        snprintf(name, sizeof name, "weights[%zu]", i);
        if (ckpt__var_check(weights[i], CKPT_F32, t, op, name, err) < 0)
            return NULL;
    }
    if (weights[1]->ndim != 2 || weights[1]->shape[1] < 1) {
        char b[96];
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: weight_hh_l0 has shape %s, expected (%lld*H, H)", op,
                  ckpt__shape_str(weights[1], b, sizeof b), (long long)mult);
        return NULL;
    }
    cx.H = weights[1]->shape[1];
    cx.G = mult * cx.H;
    for (int64_t l = 0; l < cx.L; l++)
        for (int64_t d = 0; d < cx.D; d++) {
            ckpt_var *const *w = weights + (l * cx.D + d) * cx.npl;
            int64_t in_l = l ? cx.D * cx.H : cx.In;
            char what[48];
            const char *sfx = d ? "_reverse" : "";
            snprintf(what, sizeof what, "weight_ih_l%lld%s", (long long)l, sfx);
            if (check_shape(w[0], 2, (int64_t[]){cx.G, in_l}, op, what, err) < 0)
                return NULL;
            snprintf(what, sizeof what, "weight_hh_l%lld%s", (long long)l, sfx);
            if (check_shape(w[1], 2, (int64_t[]){cx.G, cx.H}, op, what, err) < 0)
                return NULL;
            for (int k = 2; k < cx.npl; k++) {
                snprintf(what, sizeof what, "bias_%s_l%lld%s", k == 2 ? "ih" : "hh", (long long)l,
                         sfx);
                if (check_shape(w[k], 1, &cx.G, op, what, err) < 0)
                    return NULL;
            }
        }
    if (kind == CKPT_RNN_LSTM && (!h0) != (!c0)) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: h0 and c0 must be given together (or neither)", op);
        return NULL;
    }
    if (kind == CKPT_RNN_GRU)
        c0 = NULL;
    int64_t hshape[3] = {cx.L * cx.D, cx.B, cx.H};
    if (unbatched)
        hshape[1] = cx.H;
    const int hnd = unbatched ? 2 : 3;
    ckpt_var *hv[2] = {h0, c0};
    for (int k = 0; k < 2; k++) {
        if (!hv[k])
            continue;
        if (ckpt__var_check(hv[k], CKPT_F32, t, op, k ? "c0" : "h0", err) < 0 ||
            check_shape(hv[k], hnd, hshape, op, k ? "c0" : "h0", err) < 0)
            return NULL;
    }
    if (cx.T < 1) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: expected sequence length to be larger than 0", op);
        return NULL;
    }

    /* every product below (and each BLAS dimension / leading dimension, an
     * int) stays under INT_MAX: rows * widest row, with rows = T*B */
    {
        int64_t wide = cx.G > cx.In ? cx.G : cx.In;
        if (cx.D * cx.H > wide)
            wide = cx.D * cx.H;
        if (cx.B > 0 && (cx.T > INT_MAX / cx.B || cx.T * cx.B > INT_MAX / (wide ? wide : 1) ||
                         cx.L * cx.D * cx.B * cx.H > INT_MAX / 2)) {
            CKPT_FAIL(err, CKPT_E_SHAPE,
                      "%s: sequence %lld x batch %lld x width %lld exceeds the %d elements one "
                      "BLAS call can address",
                      op, (long long)cx.T, (long long)cx.B, (long long)wide, INT_MAX);
            return NULL;
        }
    }
    const int64_t rows = cx.T * cx.B, DH = cx.D * cx.H;
    cx.out_n = rows * DH;
    cx.hn_n = cx.L * cx.D * cx.B * cx.H;
    int64_t pn = cx.out_n + cx.hn_n * (kind == CKPT_RNN_LSTM ? 2 : 1);
    ckpt_var *p = ckpt__var_new(t, CKPT_F32, 1, &pn, err);
    rnn_ctx *c = ckpt__tape_alloc(t, sizeof *c, err);
    if (!p || !c)
        return NULL;
    *c = cx;
    c->lin = ckpt__tape_calloc(t, (size_t)c->L * sizeof *c->lin, err);
    c->lout = ckpt__tape_calloc(t, (size_t)c->L * sizeof *c->lout, err);
    c->mask = ckpt__tape_calloc(t, (size_t)c->L * sizeof *c->mask, err);
    c->saved = ckpt__tape_calloc(t, (size_t)(c->L * c->D) * sizeof *c->saved, err);
    float *hh = ckpt__tape_alloc(t, (size_t)(c->B * c->G + 1) * sizeof(float), err);
    size_t nin = 3 + nw;
    ckpt_var **in = ckpt__tape_alloc(t, nin * sizeof *in, err);
    if (!c->lin || !c->lout || !c->mask || !c->saved || !hh || !in)
        return NULL;
    in[0] = x;
    in[1] = h0;
    in[2] = c0;
    memcpy(in + 3, weights, nw * sizeof *in);
    const bool drop = training && o->dropout > 0.0 && c->L > 1;
    const float scale = o->dropout < 1.0 ? (float)(1.0 / (1.0 - o->dropout)) : 0.0f;
    c->lin[0] = x->data;
    for (int64_t l = 0; l < c->L; l++) {
        float *out = l == c->L - 1
                         ? p->data
                         : ckpt__tape_alloc(t, (size_t)(rows * DH) * sizeof(float), err);
        if (!out)
            return NULL;
        c->lout[l] = out;
        for (int64_t d = 0; d < c->D; d++) {
            ckpt_rnn_saved *s = &c->saved[l * c->D + d];
            s->gates = ckpt__tape_alloc(t, (size_t)(rows * c->G + 1) * sizeof(float), err);
            s->aux = ckpt__tape_alloc(t, (size_t)(rows * c->H + 1) * sizeof(float), err);
            if (!s->gates || !s->aux)
                return NULL;
            ckpt_rnn_dir dir;
            dir_setup(c, in, l, d, &dir);
            int64_t off = (l * c->D + d) * c->B * c->H;
            ckpt_rnn_dir_forward(&dir, c->lin[l], out, s, hh, p->data + c->out_n + off,
                                 kind == CKPT_RNN_LSTM ? p->data + c->out_n + c->hn_n + off
                                                       : NULL);
        }
        if (l == c->L - 1)
            break;
        if (!drop) {
            c->lin[l + 1] = out;
            continue;
        }
        float *m = ckpt__tape_alloc(t, (size_t)(rows * DH) * sizeof(float), err);
        float *nx = ckpt__tape_alloc(t, (size_t)(rows * DH) * sizeof(float), err);
        if (!m || !nx)
            return NULL;
        ckpt_rng *rng = ckpt_tape_rng(t);
        for (int64_t i = 0; i < rows * DH; i++) {
            m[i] = ckpt_rng_uniform(rng) < o->dropout ? 0.0f : scale;
            nx[i] = out[i] * m[i];
        }
        c->mask[l] = m;
        c->lin[l + 1] = nx;
    }
    ckpt__node *node = NULL;
    if (ckpt__record(t, op, p, in, nin, rnn_backward, sizeof(rnn_ctx *), &node, err) < 0)
        return NULL;
    if (node)
        *(rnn_ctx **)node->ctx = c;

    int64_t oshape[3];
    int ond = unbatched ? 2 : 3;
    if (unbatched) {
        oshape[0] = c->T;
        oshape[1] = DH;
    } else {
        oshape[0] = x->shape[0];
        oshape[1] = x->shape[1];
        oshape[2] = DH;
    }
    ckpt_var *y = piece(p, 0, ond, oshape, "rnn_output", err);
    if (!y)
        return NULL;
    if (h_n && !(*h_n = piece(p, c->out_n, hnd, hshape, "rnn_h_n", err)))
        return NULL;
    if (c_n && kind == CKPT_RNN_LSTM &&
        !(*c_n = piece(p, c->out_n + c->hn_n, hnd, hshape, "rnn_c_n", err)))
        return NULL;
    return y;
}

ckpt_var *ckpt_f_lstm(ckpt_var *x, ckpt_var *h0, ckpt_var *c0, ckpt_var *const *weights,
                      size_t nweights, const ckpt_rnn_opts *o, bool training, ckpt_var **h_n,
                      ckpt_var **c_n, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return rnn_run(CKPT_RNN_LSTM, x, h0, c0, weights, nweights, o, training, h_n, c_n, err);
}

ckpt_var *ckpt_f_gru(ckpt_var *x, ckpt_var *h0, ckpt_var *const *weights, size_t nweights,
                     const ckpt_rnn_opts *o, bool training, ckpt_var **h_n, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return rnn_run(CKPT_RNN_GRU, x, h0, NULL, weights, nweights, o, training, h_n, NULL, err);
}
