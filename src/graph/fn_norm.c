/* src/graph/fn_norm.c - layer_norm, batch_norm and group_norm on the tape
 * (torch.nn.functional semantics; kernels from src/ops). */
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "ops/backward.h"
#include "ops/kernels.h"

/* w / b of a norm: NULL, or float32 on x's tape with `numel` values */
static int affine_check(const char *op, ckpt_var *x, ckpt_var *v, const char *name, int64_t numel,
                        ckpt_error *err)
{
    char s1[96];
    if (!v)
        return 0;
    CKPT_TRY(ckpt__var_check(v, CKPT_F32, x->tape, op, name, err));
    if (v->numel != numel)
        return CKPT_FAIL(err, CKPT_E_SHAPE, "%s: %s %s should have %lld elements", op, name,
                         ckpt__shape_str(v, s1, sizeof s1), (long long)numel);
    return 0;
}

/* ------------------------------------------------------------- layer_norm */

typedef struct layer_norm_ctx {
    int64_t rows, d;
    double eps;
} layer_norm_ctx;

static int layer_norm_bw(ckpt__node *n, ckpt_error *err)
{
    const layer_norm_ctx *c = n->ctx;
    ckpt_var *w = n->in[1], *b = n->in[2];
    float *dx = NULL, *dw = NULL, *db = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    CKPT_TRY(ckpt__grad(w, &dw, err));
    CKPT_TRY(ckpt__grad(b, &db, err));
    ckpt_nn_layernorm_backward(dx, dw, db, n->out->grad, n->in[0]->data, w ? w->data : NULL,
                               c->rows, c->d, c->eps);
    return 0;
}

ckpt_var *ckpt_f_layer_norm(ckpt_var *x, int ndims, ckpt_var *w, ckpt_var *b, double eps,
                            ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    char s1[96];
    if (ckpt__var_check(x, CKPT_F32, NULL, "layer_norm", "input", err))
        return NULL;
    if (ndims < 1 || ndims > x->ndim) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "layer_norm: cannot normalise the last %d dims of input %s",
                  ndims, ckpt__shape_str(x, s1, sizeof s1));
        return NULL;
    }
    if (!(eps >= 0)) {
        CKPT_FAIL(err, CKPT_E_ARG, "layer_norm: eps %g is negative", eps);
        return NULL;
    }
    int64_t d = 1;
    for (int i = x->ndim - ndims; i < x->ndim; i++)
        d *= x->shape[i];
    if (affine_check("layer_norm", x, w, "weight", d, err) ||
        affine_check("layer_norm", x, b, "bias", d, err))
        return NULL;
    ckpt_var *y = ckpt__var_new(x->tape, CKPT_F32, x->ndim, x->shape, err);
    if (!y)
        return NULL;
    const int64_t rows = d ? x->numel / d : 0;
    ckpt_nn_layernorm_forward(y->data, x->data, w ? w->data : NULL, b ? b->data : NULL, rows, d,
                              eps);
    ckpt_var *in[3] = {x, w, b};
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, "layer_norm", y, in, 3, layer_norm_bw, sizeof(layer_norm_ctx), &n,
                     err) < 0)
        return NULL;
    if (n)
        *(layer_norm_ctx *)n->ctx = (layer_norm_ctx){rows, d, eps};
    if (n)
        n->tr[0] = ndims, n->tr_s = eps; /* for a tracer */
    return y;
}

/* ------------------------------------------------------------- batch_norm */

typedef struct batch_norm_ctx {
    float *mean, *var; /* the statistics the forward normalised with (copies) */
    int64_t b, c, s;
    double eps;
    bool batch_stats;
} batch_norm_ctx;

static int batch_norm_bw(ckpt__node *n, ckpt_error *err)
{
    const batch_norm_ctx *c = n->ctx;
    ckpt_var *w = n->in[1], *b = n->in[2];
    float *dx = NULL, *dw = NULL, *db = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    CKPT_TRY(ckpt__grad(w, &dw, err));
    CKPT_TRY(ckpt__grad(b, &db, err));
    ckpt_nn_batchnorm_backward(dx, dw, db, n->out->grad, n->in[0]->data, c->mean, c->var,
                               w ? w->data : NULL, c->b, c->c, c->s, c->eps, c->batch_stats);
    return 0;
}

ckpt_var *ckpt_f_batch_norm(ckpt_var *x, float *running_mean, float *running_var,
                            int64_t *num_batches_tracked, ckpt_var *w, ckpt_var *b, bool training,
                            double momentum, double eps, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    char s1[96];
    const char *op = "batch_norm";
    if (ckpt__var_check(x, CKPT_F32, NULL, op, "input", err))
        return NULL;
    if (x->ndim < 2) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: expected input (N, C, ...), got %s", op,
                  ckpt__shape_str(x, s1, sizeof s1));
        return NULL;
    }
    if (!running_mean != !running_var) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "%s: running_mean and running_var must both be given or both "
                  "be NULL",
                  op);
        return NULL;
    }
    if (!(eps >= 0)) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: eps %g is negative", op, eps);
        return NULL;
    }
    batch_norm_ctx c = {0};
    c.b = x->shape[0], c.c = x->shape[1], c.s = 1, c.eps = eps;
    for (int i = 2; i < x->ndim; i++)
        c.s *= x->shape[i];
    if (affine_check(op, x, w, "weight", c.c, err) || affine_check(op, x, b, "bias", c.c, err))
        return NULL;
    c.batch_stats = training || !running_mean;
    if (c.batch_stats && c.b * c.s <= 1) {
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "%s: expected more than 1 value per channel when training, got input %s", op,
                  ckpt__shape_str(x, s1, sizeof s1));
        return NULL;
    }
    ckpt_var *y = ckpt__var_new(x->tape, CKPT_F32, x->ndim, x->shape, err);
    if (!y)
        return NULL;
    c.mean = ckpt__tape_alloc(x->tape, 2 * (size_t)c.c * sizeof(float), err);
    if (!c.mean)
        return NULL;
    c.var = c.mean + c.c;
    if (c.batch_stats) {
        ckpt_nn_batchnorm_stats(c.mean, c.var, x->data, c.b, c.c, c.s);
    } else {
        memcpy(c.mean, running_mean, (size_t)c.c * sizeof(float));
        memcpy(c.var, running_var, (size_t)c.c * sizeof(float));
    }
    ckpt_nn_batchnorm_forward(y->data, x->data, c.mean, c.var, w ? w->data : NULL,
                              b ? b->data : NULL, c.b, c.c, c.s, eps);
    if (training && running_mean) {
        double factor = momentum;
        if (num_batches_tracked) {
            *num_batches_tracked += 1;
            if (momentum < 0)
                factor = 1.0 / (double)*num_batches_tracked;
        } else if (momentum < 0) {
            factor = 0.0;
        }
        ckpt_nn_batchnorm_update_running(running_mean, running_var, c.mean, c.var, c.c, c.b * c.s,
                                         factor);
    }
    ckpt_var *in[3] = {x, w, b};
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, op, y, in, 3, batch_norm_bw, sizeof c, &n, err) < 0)
        return NULL;
    if (n)
        *(batch_norm_ctx *)n->ctx = c;
    return y;
}

/* ------------------------------------------------------------- group_norm */

typedef struct group_norm_ctx {
    int64_t b, c, s, g;
    double eps;
} group_norm_ctx;

static int group_norm_bw(ckpt__node *n, ckpt_error *err)
{
    const group_norm_ctx *c = n->ctx;
    ckpt_var *w = n->in[1], *b = n->in[2];
    float *dx = NULL, *dw = NULL, *db = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    CKPT_TRY(ckpt__grad(w, &dw, err));
    CKPT_TRY(ckpt__grad(b, &db, err));
    ckpt_nn_groupnorm_backward(dx, dw, db, n->out->grad, n->in[0]->data, w ? w->data : NULL, c->b,
                               c->c, c->s, c->g, c->eps);
    return 0;
}

ckpt_var *ckpt_f_group_norm(ckpt_var *x, int64_t groups, ckpt_var *w, ckpt_var *b, double eps,
                            ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    char s1[96];
    const char *op = "group_norm";
    if (ckpt__var_check(x, CKPT_F32, NULL, op, "input", err))
        return NULL;
    if (x->ndim < 2 || groups <= 0 || x->shape[1] % groups != 0) {
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "%s: expected input (N, C, ...) with C divisible by num_groups=%lld, got %s",
                  op, (long long)groups, ckpt__shape_str(x, s1, sizeof s1));
        return NULL;
    }
    if (!(eps >= 0)) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: eps %g is negative", op, eps);
        return NULL;
    }
    group_norm_ctx c = {x->shape[0], x->shape[1], 1, groups, eps};
    for (int i = 2; i < x->ndim; i++)
        c.s *= x->shape[i];
    if (affine_check(op, x, w, "weight", c.c, err) || affine_check(op, x, b, "bias", c.c, err))
        return NULL;
    ckpt_var *y = ckpt__var_new(x->tape, CKPT_F32, x->ndim, x->shape, err);
    if (!y)
        return NULL;
    ckpt_nn_groupnorm_forward(y->data, x->data, w ? w->data : NULL, b ? b->data : NULL, c.b, c.c,
                              c.s, c.g, eps);
    ckpt_var *in[3] = {x, w, b};
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, op, y, in, 3, group_norm_bw, sizeof c, &n, err) < 0)
        return NULL;
    if (n)
        *(group_norm_ctx *)n->ctx = c;
    if (n)
        n->tr[0] = groups, n->tr_s = eps; /* for a tracer */
    return y;
}
