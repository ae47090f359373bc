/* src/graph/fn_elementwise.c - element-wise tensor ops on the tape: add, sub,
 * mul, div with torch broadcasting (gradients summed back over the broadcast
 * dims), and the one-input ops add_scalar, mul_scalar, neg, exp, log, sqrt,
 * pow_scalar.  Kernels: src/ops/tensor_kernels.c. */
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "ops/tensor_kernels.h"

/* ---------------------------------------------------------------- binary */

typedef struct bin_ctx {
    ckpt_tk_binop op;
} bin_ctx;

/* strides of a and b in the output's index space */
static void bin_strides(const ckpt_var *a, const ckpt_var *b, const ckpt_var *y, int64_t *sa,
                        int64_t *sb)
{
    ckpt_tk_broadcast_strides(sa, y->ndim, y->shape, a->ndim, a->shape);
    ckpt_tk_broadcast_strides(sb, y->ndim, y->shape, b->ndim, b->shape);
}

static int binary_bw(ckpt__node *n, ckpt_error *err)
{
    const bin_ctx *c = n->ctx;
    ckpt_var *a = n->in[0], *b = n->in[1], *y = n->out;
    int64_t sa[CKPT_VAR_MAX_DIMS], sb[CKPT_VAR_MAX_DIMS];
    bin_strides(a, b, y, sa, sb);
    for (int which = 0; which < 2; which++) {
        ckpt_var *v = n->in[which];
        float *g = NULL;
        CKPT_TRY(ckpt__grad(v, &g, err));
        if (!g)
            continue;
        if (v->numel == y->numel) { /* not broadcast: same layout as y */
            ckpt_tk_binary_grad(g, true, y->grad, a->data, sa, b->data, sb, y->ndim, y->shape,
                                c->op, which);
            continue;
        }
        /* broadcast: the contribution over y's index space, summed to v's shape */
        int64_t vst[CKPT_VAR_MAX_DIMS];
        ckpt_tk_broadcast_strides(vst, y->ndim, y->shape, v->ndim, v->shape);
        double *ws = ckpt__tape_alloc(y->tape, (size_t)v->numel * sizeof(double), err);
        if (!ws)
            return CKPT_E_NOMEM;
        const float *contrib = y->grad;
        double scale = 1.0;
        if (c->op == CKPT_TK_SUB && which == 1)
            scale = -1.0;
        if (c->op == CKPT_TK_MUL || c->op == CKPT_TK_DIV) {
            float *tmp = ckpt__tape_alloc(y->tape, (size_t)y->numel * sizeof(float), err);
            if (!tmp)
                return CKPT_E_NOMEM;
            ckpt_tk_binary_grad(tmp, false, y->grad, a->data, sa, b->data, sb, y->ndim, y->shape,
                                c->op, which);
            contrib = tmp;
        }
        ckpt_tk_sum_to(g, true, contrib, y->ndim, y->shape, vst, v->numel, scale, ws);
    }
    return 0;
}

static ckpt_var *binary(const char *op, ckpt_tk_binop kind, ckpt_var *a, ckpt_var *b,
                        ckpt_error *err)
{
    if (ckpt__var_check(a, CKPT_F32, NULL, op, "a", err) < 0 ||
        ckpt__var_check(b, CKPT_F32, a->tape, op, "b", err) < 0)
        return NULL;
    int nd = 0;
    int64_t os[CKPT_VAR_MAX_DIMS];
    int bad = ckpt_tk_broadcast_shape(a->ndim, a->shape, b->ndim, b->shape, &nd, os);
    if (bad >= 0) {
        char s1[128], s2[128];
        int n = a->ndim > b->ndim ? a->ndim : b->ndim;
        int ia = bad - (n - a->ndim), ib = bad - (n - b->ndim);
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "%s: The size of tensor a (%lld) must match the size of tensor b (%lld) at "
                  "non-singleton dimension %d (shapes %s and %s)",
                  op, (long long)a->shape[ia], (long long)b->shape[ib], bad,
                  ckpt__shape_str(a, s1, sizeof s1), ckpt__shape_str(b, s2, sizeof s2));
        return NULL;
    }
    ckpt_var *y = ckpt__var_new(a->tape, CKPT_F32, nd, os, err);
    if (!y)
        return NULL;
    int64_t sa[CKPT_VAR_MAX_DIMS], sb[CKPT_VAR_MAX_DIMS];
    bin_strides(a, b, y, sa, sb);
    ckpt_tk_binary_forward(y->data, a->data, sa, b->data, sb, y->ndim, y->shape, kind);
    ckpt__node *node = NULL;
    ckpt_var *in[2] = {a, b};
    if (ckpt__record(a->tape, op, y, in, 2, binary_bw, sizeof(bin_ctx), &node, err) < 0)
        return NULL;
    if (node)
        ((bin_ctx *)node->ctx)->op = kind;
    return y;
}

ckpt_var *ckpt_f_add(ckpt_var *a, ckpt_var *b, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return binary("add", CKPT_TK_ADD, a, b, err);
}

ckpt_var *ckpt_f_sub(ckpt_var *a, ckpt_var *b, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return binary("sub", CKPT_TK_SUB, a, b, err);
}

ckpt_var *ckpt_f_mul(ckpt_var *a, ckpt_var *b, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return binary("mul", CKPT_TK_MUL, a, b, err);
}

ckpt_var *ckpt_f_div(ckpt_var *a, ckpt_var *b, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return binary("div", CKPT_TK_DIV, a, b, err);
}

/* ----------------------------------------------------------------- unary */

typedef struct un_ctx {
    ckpt_tk_unop op;
    double s;
} un_ctx;

static int unary_bw(ckpt__node *n, ckpt_error *err)
{
    const un_ctx *c = n->ctx;
    ckpt_var *x = n->in[0], *y = n->out;
    float *g = NULL;
    CKPT_TRY(ckpt__grad(x, &g, err));
    if (g)
        ckpt_tk_unary_backward(g, y->grad, x->data, y->data, (size_t)x->numel, c->op, c->s);
    return 0;
}

static ckpt_var *unary(const char *op, ckpt_tk_unop kind, double s, ckpt_var *x, ckpt_error *err)
{
    if (ckpt__var_check(x, CKPT_F32, NULL, op, "a", err) < 0)
        return NULL;
    ckpt_var *y = ckpt__var_new(x->tape, CKPT_F32, x->ndim, x->shape, err);
    if (!y)
        return NULL;
    ckpt_tk_unary_forward(y->data, x->data, (size_t)x->numel, kind, s);
    ckpt__node *node = NULL;
    if (ckpt__record(x->tape, op, y, &x, 1, unary_bw, sizeof(un_ctx), &node, err) < 0)
        return NULL;
    if (node) {
        un_ctx *c = node->ctx;
        c->op = kind;
        c->s = s;
        node->tr_s = s;
    }
    return y;
}

ckpt_var *ckpt_f_add_scalar(ckpt_var *a, double s, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return unary("add_scalar", CKPT_TK_ADD_SCALAR, s, a, err);
}

ckpt_var *ckpt_f_mul_scalar(ckpt_var *a, double s, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return unary("mul_scalar", CKPT_TK_MUL_SCALAR, s, a, err);
}

ckpt_var *ckpt_f_neg(ckpt_var *a, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return unary("neg", CKPT_TK_NEG, 0.0, a, err);
}

ckpt_var *ckpt_f_exp(ckpt_var *a, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return unary("exp", CKPT_TK_EXP, 0.0, a, err);
}

ckpt_var *ckpt_f_log(ckpt_var *a, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return unary("log", CKPT_TK_LOG, 0.0, a, err);
}

ckpt_var *ckpt_f_sqrt(ckpt_var *a, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return unary("sqrt", CKPT_TK_SQRT, 0.0, a, err);
}

ckpt_var *ckpt_f_pow_scalar(ckpt_var *a, double exponent, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return unary("pow_scalar", CKPT_TK_POW, exponent, a, err);
}
