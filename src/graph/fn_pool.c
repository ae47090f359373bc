/* src/graph/fn_pool.c - max_pool2d, avg_pool2d and adaptive_avg_pool2d on
 * the tape, with torch's options (ckpt_pool_opts; kernels from src/ops). */
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "ops/backward.h"
#include "ops/kernels.h"

typedef struct pool_ctx {
    ckpt_nn_pool2d_dims d;
    bool max;
} pool_ctx;

static int pool_bw(ckpt__node *n, ckpt_error *err)
{
    const pool_ctx *c = n->ctx;
    float *dx = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    if (!dx)
        return 0;
    if (c->max)
        ckpt_nn_maxpool2d_backward_d(dx, n->out->grad, n->in[0]->data, &c->d);
    else
        ckpt_nn_avgpool2d_backward_d(dx, n->out->grad, &c->d);
    return 0;
}

/* the output var: x's shape with (OH, OW) last */
static ckpt_var *pool_out(ckpt_var *x, const ckpt_nn_pool2d_dims *d, ckpt_error *err)
{
    int64_t shape[4];
    for (int i = 0; i < x->ndim; i++)
        shape[i] = x->shape[i];
    shape[x->ndim - 2] = d->oh;
    shape[x->ndim - 1] = d->ow;
    return ckpt__var_new(x->tape, CKPT_F32, x->ndim, shape, err);
}

static int pool_input(const char *op, ckpt_var *x, ckpt_nn_pool2d_dims *d, ckpt_error *err)
{
    char s1[96];
    CKPT_TRY(ckpt__var_check(x, CKPT_F32, NULL, op, "input", err));
    if (x->ndim != 3 && x->ndim != 4)
        return CKPT_FAIL(err, CKPT_E_SHAPE, "%s: expected 3D or 4D input, got %s", op,
                         ckpt__shape_str(x, s1, sizeof s1));
    d->h = x->shape[x->ndim - 2];
    d->w = x->shape[x->ndim - 1];
    d->bc = x->shape[x->ndim - 3] * (x->ndim == 4 ? x->shape[0] : 1);
    return 0;
}

static ckpt_var *pool(const char *op, bool max, ckpt_var *x, const ckpt_pool_opts *o,
                      ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    char s1[96];
    ckpt_nn_pool2d_dims d = {0};
    if (pool_input(op, x, &d, err))
        return NULL;
    if (!o) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: options (kernel size) are NULL", op);
        return NULL;
    }
    d.kh = o->kernel[0], d.kw = o->kernel[1];
    d.sh = o->stride[0] ? o->stride[0] : d.kh;
    d.sw = o->stride[1] ? o->stride[1] : d.kw;
    d.ph = o->padding[0], d.pw = o->padding[1];
    d.dh = max && o->dilation[0] ? o->dilation[0] : 1;
    d.dw = max && o->dilation[1] ? o->dilation[1] : 1;
    d.ceil_mode = o->ceil_mode;
    d.exclude_pad = !max && o->exclude_pad;
    d.divisor = max ? 0 : o->divisor_override;
    if (d.kh <= 0 || d.kw <= 0 || d.sh <= 0 || d.sw <= 0 || d.dh <= 0 || d.dw <= 0) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "%s: kernel (%lld, %lld), stride (%lld, %lld) and dilation must be positive",
                  op, (long long)d.kh, (long long)d.kw, (long long)d.sh, (long long)d.sw);
        return NULL;
    }
    if (d.ph < 0 || d.pw < 0 || d.ph > d.kh / 2 || d.pw > d.kw / 2) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "%s: pad should be at least 0 and at most half of kernel size, but got "
                  "padding (%lld, %lld) and kernel (%lld, %lld)",
                  op, (long long)d.ph, (long long)d.pw, (long long)d.kh, (long long)d.kw);
        return NULL;
    }
    if (!max && o->divisor_override < 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: divisor must be not zero (got %lld)", op,
                  (long long)o->divisor_override);
        return NULL;
    }
    if (!ckpt_nn_pool2d_out_size(&d)) {
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "%s: output size is too small for input %s (output %lldx%lld)", op,
                  ckpt__shape_str(x, s1, sizeof s1), (long long)d.oh, (long long)d.ow);
        return NULL;
    }
    ckpt_var *y = pool_out(x, &d, err);
    if (!y)
        return NULL;
    if (max)
        ckpt_nn_maxpool2d_forward_d(y->data, x->data, &d);
    else
        ckpt_nn_avgpool2d_forward_d(y->data, x->data, &d);
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, op, y, &x, 1, pool_bw, sizeof(pool_ctx), &n, err) < 0)
        return NULL;
    if (n)
        *(pool_ctx *)n->ctx = (pool_ctx){d, max};
    return y;
}

ckpt_var *ckpt_f_max_pool2d(ckpt_var *x, const ckpt_pool_opts *o, ckpt_error *err)
{
    return pool("max_pool2d", true, x, o, err);
}

ckpt_var *ckpt_f_avg_pool2d(ckpt_var *x, const ckpt_pool_opts *o, ckpt_error *err)
{
    return pool("avg_pool2d", false, x, o, err);
}

static int adaptive_bw(ckpt__node *n, ckpt_error *err)
{
    const ckpt_nn_pool2d_dims *d = n->ctx;
    float *dx = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    if (dx)
        ckpt_nn_adaptive_avgpool2d_backward(dx, n->out->grad, d->bc, d->h, d->w, d->oh, d->ow);
    return 0;
}

ckpt_var *ckpt_f_adaptive_avg_pool2d(ckpt_var *x, int64_t out_h, int64_t out_w, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    const char *op = "adaptive_avg_pool2d";
    ckpt_nn_pool2d_dims d = {0};
    if (pool_input(op, x, &d, err))
        return NULL;
    if (out_h <= 0 || out_w <= 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: output size (%lld, %lld) must be positive", op,
                  (long long)out_h, (long long)out_w);
        return NULL;
    }
    if (d.h <= 0 || d.w <= 0) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: empty input plane (%lld x %lld)", op, (long long)d.h,
                  (long long)d.w);
        return NULL;
    }
    d.oh = out_h, d.ow = out_w;
    ckpt_var *y = pool_out(x, &d, err);
    if (!y)
        return NULL;
    ckpt_nn_adaptive_avgpool2d_forward(y->data, x->data, d.bc, d.h, d.w, d.oh, d.ow);
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, op, y, &x, 1, adaptive_bw, sizeof d, &n, err) < 0)
        return NULL;
    if (n)
        *(ckpt_nn_pool2d_dims *)n->ctx = d;
    return y;
}
