/* src/graph/fn_loss.c - the losses of torch.nn.functional (torch 1.13
 * semantics) on the tape: cross_entropy (= nll over log_softmax, with
 * label smoothing and ignore_index), nll_loss, mse_loss and
 * binary_cross_entropy_with_logits. */
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "ops/backward.h"
#include "ops/kernels.h"

static int reduction_check(const char *op, ckpt_reduction r, ckpt_error *err)
{
    if (r != CKPT_REDUCE_MEAN && r != CKPT_REDUCE_SUM && r != CKPT_REDUCE_NONE)
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: unknown reduction %d", op, (int)r);
    return 0;
}

/* the upstream gradient of element i of a loss reduced with r over `count` */
static double reduced_grad(const float *g, ckpt_reduction r, int64_t i, double count)
{
    if (r == CKPT_REDUCE_NONE)
        return (double)g[i];
    if (r == CKPT_REDUCE_SUM)
        return (double)g[0];
    return (double)g[0] / count;
}

/* ------------------------------------------------- nll (with smoothing) */

/* input (N, C, d1..dk) with target (N, d1..dk), or input (C,) with a 0-dim
 * target: N, C and the positions per row (d1*..*dk) */
static int nll_shapes(const char *op, const ckpt_var *x, const ckpt_var *t, int64_t *n,
                      int64_t *c, int64_t *inner, ckpt_error *err)
{
    char s1[96], s2[96];
    bool ok;
    if (x->ndim == 1) {
        ok = t->ndim == 0;
        *n = 1, *c = x->shape[0], *inner = 1;
    } else {
        ok = x->ndim >= 2 && t->ndim == x->ndim - 1 && t->shape[0] == x->shape[0];
        *n = x->ndim >= 2 ? x->shape[0] : 0, *c = x->ndim >= 2 ? x->shape[1] : 0, *inner = 1;
        for (int i = 2; ok && i < x->ndim; i++) {
            ok = t->shape[i - 1] == x->shape[i];
            *inner *= x->shape[i];
        }
    }
    if (!ok)
        return CKPT_FAIL(err, CKPT_E_SHAPE,
                         "%s: expected input (N, C, d1, ...) and target (N, d1, ...) or input "
                         "(C,) and a 0-dim target, got %s and %s",
                         op, ckpt__shape_str(x, s1, sizeof s1),
                         ckpt__shape_str(t, s2, sizeof s2));
    return 0;
}

typedef struct nll_ctx {
    int64_t n, c, inner, m; /* rows, classes, positions per row, positions that count */
    int64_t ignore_index;
    double smoothing;
    ckpt_reduction r;
} nll_ctx;

static int nll_bw(ckpt__node *n, ckpt_error *err)
{
    const nll_ctx *c = n->ctx;
    const int64_t *t = n->in[1]->idata;
    float *dx = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    if (!dx)
        return 0;
    const double off = c->smoothing / (double)c->c;
    const int64_t in = c->inner;
    for (int64_t i = 0; i < c->n; i++) {
        for (int64_t j = 0; j < in; j++) {
            const int64_t p = i * in + j, tv = t[p];
            if (tv == c->ignore_index)
                continue;
            double g = reduced_grad(n->out->grad, c->r, p, (double)c->m);
            float *base = dx + i * c->c * in + j; /* class k at base[k * in] */
            base[tv * in] -= (float)((1.0 - c->smoothing) * g);
            if (off != 0.0)
                for (int64_t k = 0; k < c->c; k++)
                    base[k * in] -= (float)(off * g);
        }
    }
    return 0;
}

/* loss over log-probabilities logp (N,C,...) and target (N,...) */
static ckpt_var *nll_any(const char *op, ckpt_var *logp, ckpt_var *target, int64_t ignore_index,
                         double smoothing, ckpt_reduction r, ckpt_error *err)
{
    if (reduction_check(op, r, err))
        return NULL;
    nll_ctx c = {0};
    if (nll_shapes(op, logp, target, &c.n, &c.c, &c.inner, err))
        return NULL;
    if (!(smoothing >= 0.0 && smoothing <= 1.0)) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: label_smoothing must be between 0.0 and 1.0, got %g", op,
                  smoothing);
        return NULL;
    }
    c.ignore_index = ignore_index, c.smoothing = smoothing, c.r = r;
    const int64_t *t = target->idata, in = c.inner, npos = c.n * c.inner;
    for (int64_t p = 0; p < npos; p++) {
        if (t[p] == ignore_index)
            continue;
        if (t[p] < 0 || t[p] >= c.c) {
            CKPT_FAIL(err, CKPT_E_ARG,
                      "%s: target %lld (element %lld) is out of bounds for %lld classes", op,
                      (long long)t[p], (long long)p, (long long)c.c);
            return NULL;
        }
        c.m++;
    }
    ckpt_var *y = ckpt__var_new(logp->tape, CKPT_F32, r == CKPT_REDUCE_NONE ? target->ndim : 0,
                                target->shape, err);
    if (!y)
        return NULL;
    double total = 0.0;
    for (int64_t i = 0; i < c.n; i++) {
        for (int64_t j = 0; j < in; j++) {
            const int64_t p = i * in + j;
            double li = 0.0;
            if (t[p] != ignore_index) {
                const float *base = logp->data + i * c.c * in + j;
                li = -(1.0 - smoothing) * (double)base[t[p] * in];
                if (smoothing > 0.0) {
                    double sum = 0.0;
                    for (int64_t k = 0; k < c.c; k++)
                        sum += (double)base[k * in];
                    li -= smoothing / (double)c.c * sum;
                }
            }
            if (r == CKPT_REDUCE_NONE)
                y->data[p] = (float)li;
            total += li;
        }
    }
    if (r == CKPT_REDUCE_SUM)
        y->data[0] = (float)total;
    else if (r == CKPT_REDUCE_MEAN)
        y->data[0] = (float)(total / (double)c.m); /* M = 0: NaN, as torch */
    ckpt_var *ins[2] = {logp, target};
    ckpt__node *n = NULL;
    if (ckpt__record(logp->tape, op, y, ins, 2, nll_bw, sizeof c, &n, err) < 0)
        return NULL;
    if (n)
        *(nll_ctx *)n->ctx = c;
    return y;
}

ckpt_var *ckpt_f_nll_loss(ckpt_var *logp, ckpt_var *target, int64_t ignore_index,
                          ckpt_reduction r, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (ckpt__var_check(logp, CKPT_F32, NULL, "nll_loss", "input", err) ||
        ckpt__var_check(target, CKPT_I64, logp->tape, "nll_loss", "target", err))
        return NULL;
    return nll_any("nll_loss", logp, target, ignore_index, 0.0, r, err);
}

ckpt_var *ckpt_f_cross_entropy(ckpt_var *logits, ckpt_var *target, int64_t ignore_index,
                               double label_smoothing, ckpt_reduction r, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    int64_t n, c, inner;
    if (ckpt__var_check(logits, CKPT_F32, NULL, "cross_entropy", "input", err) ||
        ckpt__var_check(target, CKPT_I64, logits->tape, "cross_entropy", "target", err) ||
        nll_shapes("cross_entropy", logits, target, &n, &c, &inner, err))
        return NULL;
    /* torch: nll_loss(log_softmax(input, class dim)) plus the smoothing term */
    ckpt_var *logp = ckpt_f_log_softmax(logits, logits->ndim == 1 ? 0 : 1, err);
    if (!logp)
        return NULL;
    return nll_any("cross_entropy", logp, target, ignore_index, label_smoothing, r, err);
}

/* ------------------------------------------------------------------ mse */

typedef struct elem_loss_ctx {
    ckpt_reduction r;
} elem_loss_ctx;

static ckpt_var *loss_out(ckpt_var *x, ckpt_reduction r, ckpt_error *err)
{
    return ckpt__var_new(x->tape, CKPT_F32, r == CKPT_REDUCE_NONE ? x->ndim : 0, x->shape, err);
}

static int mse_bw(ckpt__node *n, ckpt_error *err)
{
    const elem_loss_ctx *c = n->ctx;
    ckpt_var *x = n->in[0], *y = n->in[1];
    float *dx = NULL, *dy = NULL;
    CKPT_TRY(ckpt__grad(x, &dx, err));
    CKPT_TRY(ckpt__grad(y, &dy, err));
    if (c->r == CKPT_REDUCE_MEAN) {
        ckpt_nn_mse_loss_backward(dx, dy, n->out->grad[0], x->data, y->data, (size_t)x->numel);
        return 0;
    }
    for (int64_t i = 0; i < x->numel; i++) {
        double e = 2.0 * reduced_grad(n->out->grad, c->r, i, 1.0) *
                   ((double)x->data[i] - (double)y->data[i]);
        if (dx)
            dx[i] += (float)e;
        if (dy)
            dy[i] -= (float)e;
    }
    return 0;
}

static int same_shape(const char *op, ckpt_var *x, ckpt_var *y, ckpt_error *err)
{
    char s1[96], s2[96];
    bool same = x->ndim == y->ndim;
    for (int i = 0; same && i < x->ndim; i++)
        same = x->shape[i] == y->shape[i];
    if (!same)
        return CKPT_FAIL(err, CKPT_E_SHAPE,
                         "%s: target size %s must be the same as input size %s", op,
                         ckpt__shape_str(y, s2, sizeof s2), ckpt__shape_str(x, s1, sizeof s1));
    return 0;
}

ckpt_var *ckpt_f_mse_loss(ckpt_var *x, ckpt_var *y, ckpt_reduction r, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    const char *op = "mse_loss";
    if (ckpt__var_check(x, CKPT_F32, NULL, op, "input", err) ||
        ckpt__var_check(y, CKPT_F32, x->tape, op, "target", err) || reduction_check(op, r, err) ||
        same_shape(op, x, y, err))
        return NULL;
    ckpt_var *out = loss_out(x, r, err);
    if (!out)
        return NULL;
    if (r == CKPT_REDUCE_MEAN) {
        out->data[0] = ckpt_nn_mse_loss_forward(x->data, y->data, (size_t)x->numel);
    } else {
        double acc = 0.0;
        for (int64_t i = 0; i < x->numel; i++) {
            double e = (double)x->data[i] - (double)y->data[i];
            if (r == CKPT_REDUCE_NONE)
                out->data[i] = (float)(e * e);
            acc += e * e;
        }
        if (r == CKPT_REDUCE_SUM)
            out->data[0] = (float)acc;
    }
    ckpt_var *in[2] = {x, y};
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, op, out, in, 2, mse_bw, sizeof(elem_loss_ctx), &n, err) < 0)
        return NULL;
    if (n)
        ((elem_loss_ctx *)n->ctx)->r = r;
    return out;
}

/* -------------------------------------------------------- bce with logits */

/* log(1 + exp(-x)) without overflow */
static double softplus_neg(double x)
{
    return (x < 0 ? -x : 0.0) + log1p(exp(-fabs(x)));
}

static int bce_bw(ckpt__node *n, ckpt_error *err)
{
    const elem_loss_ctx *c = n->ctx;
    ckpt_var *x = n->in[0], *y = n->in[1], *pw = n->nin > 2 ? n->in[2] : NULL;
    float *dx = NULL, *dy = NULL, *dpw = NULL;
    CKPT_TRY(ckpt__grad(x, &dx, err));
    CKPT_TRY(ckpt__grad(y, &dy, err));
    CKPT_TRY(ckpt__grad(pw, &dpw, err));
    const double cnt = (double)x->numel;
    for (int64_t i = 0; i < x->numel; i++) {
        double g = reduced_grad(n->out->grad, c->r, i, cnt);
        double xv = (double)x->data[i], yv = (double)y->data[i];
        double p = pw ? (double)pw->data[i % pw->numel] : 1.0;
        double sig = 1.0 / (1.0 + exp(-xv));
        if (dx) {
            double t = p * yv;
            dx[i] += (float)(g * ((t + 1.0 - yv) * sig - t));
        }
        if (dy)
            dy[i] += (float)(g * (-xv + (p - 1.0) * softplus_neg(xv)));
        if (dpw)
            dpw[i % pw->numel] += (float)(g * yv * softplus_neg(xv));
    }
    return 0;
}

ckpt_var *ckpt_f_binary_cross_entropy_with_logits(ckpt_var *x, ckpt_var *y, ckpt_var *pos_weight,
                                                  ckpt_reduction r, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    const char *op = "binary_cross_entropy_with_logits";
    char s1[96], s2[96];
    if (ckpt__var_check(x, CKPT_F32, NULL, op, "input", err) ||
        ckpt__var_check(y, CKPT_F32, x->tape, op, "target", err) ||
        (pos_weight && ckpt__var_check(pos_weight, CKPT_F32, x->tape, op, "pos_weight", err)) ||
        reduction_check(op, r, err) || same_shape(op, x, y, err))
        return NULL;
    if (pos_weight) {
        /* broadcast over the last dim (C,) or the whole shape */
        bool ok = pos_weight->numel == x->numel ||
                  (x->ndim >= 1 && pos_weight->ndim <= 1 &&
                   pos_weight->numel == x->shape[x->ndim - 1]) ||
                  pos_weight->numel == 1;
        if (!ok || pos_weight->numel == 0) {
            CKPT_FAIL(err, CKPT_E_SHAPE, "%s: pos_weight %s does not broadcast to input %s", op,
                      ckpt__shape_str(pos_weight, s2, sizeof s2),
                      ckpt__shape_str(x, s1, sizeof s1));
            return NULL;
        }
    }
    ckpt_var *out = loss_out(x, r, err);
    if (!out)
        return NULL;
    double acc = 0.0;
    for (int64_t i = 0; i < x->numel; i++) {
        double xv = (double)x->data[i], yv = (double)y->data[i];
        double lw = pos_weight
                        ? 1.0 + ((double)pos_weight->data[i % pos_weight->numel] - 1.0) * yv
                        : 1.0;
        double l = (1.0 - yv) * xv + lw * softplus_neg(xv);
        if (r == CKPT_REDUCE_NONE)
            out->data[i] = (float)l;
        acc += l;
    }
    if (r == CKPT_REDUCE_SUM)
        out->data[0] = (float)acc;
    else if (r == CKPT_REDUCE_MEAN)
        out->data[0] = (float)(acc / (double)x->numel);
    ckpt_var *in[3] = {x, y, pos_weight};
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, op, out, in, pos_weight ? 3 : 2, bce_bw, sizeof(elem_loss_ctx), &n,
                     err) < 0)
        return NULL;
    if (n)
        ((elem_loss_ctx *)n->ctx)->r = r;
    return out;
}
