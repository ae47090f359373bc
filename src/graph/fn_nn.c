/* src/graph/fn_nn.c - the layer ops of torch.nn.functional on the tape:
 * linear, convolutions, activations, softmax / log_softmax, dropout and
 * embedding.  Forward and backward run the kernels of src/ops. */
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "ops/backward.h"
#include "ops/kernels.h"

/* ----------------------------------------------------------------- linear */

typedef struct linear_ctx {
    int64_t rows, ic, oc;
} linear_ctx;

static int linear_bw(ckpt__node *n, ckpt_error *err)
{
    const linear_ctx *c = n->ctx;
    float *dx = NULL, *dw = NULL, *db = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    CKPT_TRY(ckpt__grad(n->in[1], &dw, err));
    if (n->nin > 2)
        CKPT_TRY(ckpt__grad(n->in[2], &db, err));
    ckpt_nn_linear_backward(dx, dw, db, n->out->grad, n->in[0]->data, n->in[1]->data, c->rows,
                            c->ic, c->oc);
    return 0;
}

ckpt_var *ckpt_f_linear(ckpt_var *x, ckpt_var *w, ckpt_var *b, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    char s1[96], s2[96];
    if (ckpt__var_check(x, CKPT_F32, NULL, "linear", "input", err) ||
        ckpt__var_check(w, CKPT_F32, x->tape, "linear", "weight", err) ||
        (b && ckpt__var_check(b, CKPT_F32, x->tape, "linear", "bias", err)))
        return NULL;
    if (x->ndim < 1 || w->ndim != 2 || x->shape[x->ndim - 1] != w->shape[1]) {
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "linear: mat1 and mat2 shapes cannot be multiplied (input %s, weight %s)",
                  ckpt__shape_str(x, s1, sizeof s1), ckpt__shape_str(w, s2, sizeof s2));
        return NULL;
    }
    const int64_t ic = w->shape[1], oc = w->shape[0];
    if (b && !(b->numel == oc && b->ndim <= 1)) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "linear: bias %s does not match %lld output features",
                  ckpt__shape_str(b, s1, sizeof s1), (long long)oc);
        return NULL;
    }
    int64_t shape[CKPT_VAR_MAX_DIMS], rows = 1;
    for (int i = 0; i < x->ndim - 1; i++) {
        shape[i] = x->shape[i];
        rows *= x->shape[i];
    }
    shape[x->ndim - 1] = oc;
    ckpt_var *y = ckpt__var_new(x->tape, CKPT_F32, x->ndim, shape, err);
    if (!y)
        return NULL;
    ckpt_nn_linear_forward(y->data, x->data, w->data, b ? b->data : NULL, rows, ic, oc);
    ckpt_var *in[3] = {x, w, b};
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, "linear", y, in, b ? 3 : 2, linear_bw, sizeof(linear_ctx), &n,
                     err) < 0)
        return NULL;
    if (n)
        *(linear_ctx *)n->ctx = (linear_ctx){rows, ic, oc};
    return y;
}

/* ------------------------------------------------------------ convolution */

static int64_t opt1(int64_t v)
{
    return v > 0 ? v : 1;
}

static int conv2d_bw(ckpt__node *n, ckpt_error *err)
{
    const ckpt_nn_conv2d_dims *d = n->ctx;
    float *dx = NULL, *dw = NULL, *db = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    CKPT_TRY(ckpt__grad(n->in[1], &dw, err));
    if (n->nin > 2)
        CKPT_TRY(ckpt__grad(n->in[2], &db, err));
    float *ws = ckpt__tape_alloc(n->out->tape, ckpt_nn_conv2d_backward_ws(d) * sizeof(float),
                                 err);
    if (!ws)
        return CKPT_E_NOMEM;
    ckpt_nn_conv2d_backward(dx, dw, db, n->out->grad, n->in[0]->data, n->in[1]->data, ws, d);
    return 0;
}

/* padded input of a convolution (the last sd dims grow) */
typedef struct pad_ctx {
    int64_t bc, h, w, top, bottom, left, right;
    int mode;
} pad_ctx;

static int pad_bw(ckpt__node *n, ckpt_error *err)
{
    const pad_ctx *c = n->ctx;
    float *dx = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    if (dx)
        ckpt_nn_pad2d_backward(dx, n->out->grad, c->bc, c->h, c->w, c->top, c->bottom, c->left,
                               c->right, c->mode);
    return 0;
}

static ckpt_var *pad_input(const char *op, ckpt_var *x, int sd, const ckpt_nn_conv_pad *p,
                           ckpt_error *err)
{
    char s1[96];
    pad_ctx c = {0};
    c.h = sd == 1 ? 1 : x->shape[x->ndim - 2];
    c.w = x->shape[x->ndim - 1];
    c.bc = c.h > 0 && c.w > 0 ? x->numel / (c.h * c.w) : 0;
    c.top = p->top, c.bottom = p->bottom, c.left = p->left, c.right = p->right, c.mode = p->mode;
    int64_t mh = c.top > c.bottom ? c.top : c.bottom, mw = c.left > c.right ? c.left : c.right;
    bool bad = (p->mode == CKPT_PADMODE_REFLECT &&
                ((mh > 0 && mh >= c.h) || (mw > 0 && mw >= c.w))) ||
               (p->mode == CKPT_PADMODE_CIRCULAR && (mh > c.h || mw > c.w)) ||
               (p->mode != CKPT_PADMODE_ZEROS && (c.h == 0 || c.w == 0));
    if (bad) {
        CKPT_FAIL(
            err, CKPT_E_SHAPE,
            "%s: padding (%lld, %lld, %lld, %lld) is too large for padding_mode %d and input "
            "%s",
            op, (long long)c.top, (long long)c.bottom, (long long)c.left, (long long)c.right,
            p->mode, ckpt__shape_str(x, s1, sizeof s1));
        return NULL;
    }
    int64_t shape[CKPT_VAR_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        shape[i] = x->shape[i];
    shape[x->ndim - 1] += c.left + c.right;
    if (sd == 2)
        shape[x->ndim - 2] += c.top + c.bottom;
    ckpt_var *y = ckpt__var_new(x->tape, CKPT_F32, x->ndim, shape, err);
    if (!y)
        return NULL;
    ckpt_nn_pad2d_forward(y->data, x->data, c.bc, c.h, c.w, c.top, c.bottom, c.left, c.right,
                          c.mode);
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, "pad", y, &x, 1, pad_bw, sizeof c, &n, err) < 0)
        return NULL;
    if (n)
        *(pad_ctx *)n->ctx = c;
    if (n) /* for a tracer */
        n->tr[0] = c.top, n->tr[1] = c.bottom, n->tr[2] = c.left, n->tr[3] = c.right,
        n->tr[4] = c.mode, n->tr[5] = sd;
    return y;
}

/* conv1d (sd 1) and conv2d (sd 2) */
static ckpt_var *conv_nd(const char *op, int sd, ckpt_var *x, ckpt_var *w, ckpt_var *b,
                         const ckpt_conv_opts *o, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    char s1[96], s2[96];
    if (ckpt__var_check(x, CKPT_F32, NULL, op, "input", err) ||
        ckpt__var_check(w, CKPT_F32, x->tape, op, "weight", err) ||
        (b && ckpt__var_check(b, CKPT_F32, x->tape, op, "bias", err)))
        return NULL;
    ckpt_conv_opts z = {0};
    if (!o)
        o = &z;
    const int64_t g = opt1(o->groups);
    const bool batched = x->ndim == sd + 2;
    if ((x->ndim != sd + 1 && !batched) || w->ndim != sd + 2) {
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "%s: expected %dD (unbatched) or %dD (batched) input and %dD "
                  "weight, got input %s and weight %s",
                  op, sd + 1, sd + 2, sd + 2, ckpt__shape_str(x, s1, sizeof s1),
                  ckpt__shape_str(w, s2, sizeof s2));
        return NULL;
    }
    const int64_t *xs = x->shape + (batched ? 1 : 0);
    ckpt_nn_conv2d_dims d = {0};
    d.b = batched ? x->shape[0] : 1;
    d.c = xs[0];
    d.h = sd == 1 ? 1 : xs[1];
    d.w = sd == 1 ? xs[1] : xs[2];
    d.oc = w->shape[0];
    d.kh = sd == 1 ? 1 : w->shape[2];
    d.kw = w->shape[sd + 1];
    d.g = g;
    if (sd == 1) {
        d.sh = 1, d.ph = 0, d.dh = 1;
        d.sw = opt1(o->stride[0]), d.pw = o->padding[0], d.dw = opt1(o->dilation[0]);
    } else {
        d.sh = opt1(o->stride[0]), d.sw = opt1(o->stride[1]);
        d.ph = o->padding[0], d.pw = o->padding[1];
        d.dh = opt1(o->dilation[0]), d.dw = opt1(o->dilation[1]);
    }
    if (d.ph < 0 || d.pw < 0 || o->stride[0] < 0 || o->stride[1] < 0 || o->dilation[0] < 0 ||
        o->dilation[1] < 0 || o->groups < 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: negative stride, padding, dilation or groups", op);
        return NULL;
    }
    if ((unsigned)o->padding_kind > CKPT_CONV_PAD_VALID ||
        (unsigned)o->padding_mode > CKPT_PADMODE_CIRCULAR) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: unknown padding kind %d or padding_mode %d", op,
                  (int)o->padding_kind, (int)o->padding_mode);
        return NULL;
    }
    if (o->padding_kind == CKPT_CONV_PAD_SAME && (d.sh != 1 || d.sw != 1)) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: padding='same' is not supported for strided convolutions",
                  op);
        return NULL;
    }
    if (d.oc % g != 0 || w->shape[1] * g != d.c) {
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "%s: weight %s with groups=%lld expects %lld input channels, but got input %s",
                  op, ckpt__shape_str(w, s2, sizeof s2), (long long)g,
                  (long long)(w->shape[1] * g), ckpt__shape_str(x, s1, sizeof s1));
        return NULL;
    }
    if (b && !(b->ndim == 1 && b->shape[0] == d.oc)) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: bias %s does not match %lld output channels", op,
                  ckpt__shape_str(b, s1, sizeof s1), (long long)d.oc);
        return NULL;
    }
    const ckpt_nn_conv_pad pad = ckpt_nn_conv_padding(o, sd, d.kh, d.kw, d.dh, d.dw);
    d.ph = pad.ph, d.pw = pad.pw;
    ckpt_var *xin = x;
    if (pad.pre) {
        x = pad_input(op, x, sd, &pad, err);
        if (!x)
            return NULL;
        d.h += pad.top + pad.bottom;
        d.w += pad.left + pad.right;
    }
    if (!ckpt_nn_conv2d_out_size(&d)) {
        x = xin;
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "%s: input %s (padded) is smaller than the (dilated) kernel of weight %s", op,
                  ckpt__shape_str(x, s1, sizeof s1), ckpt__shape_str(w, s2, sizeof s2));
        return NULL;
    }
    int64_t shape[4];
    int nd = 0;
    if (batched)
        shape[nd++] = d.b;
    shape[nd++] = d.oc;
    if (sd == 2)
        shape[nd++] = d.oh;
    shape[nd++] = d.ow;
    ckpt_var *y = ckpt__var_new(x->tape, CKPT_F32, nd, shape, err);
    if (!y)
        return NULL;
    float *ws = ckpt__tape_alloc(x->tape, ckpt_nn_conv2d_ws(&d) * sizeof(float), err);
    if (!ws)
        return NULL;
    ckpt_nn_conv2d_forward(y->data, x->data, w->data, b ? b->data : NULL, ws, &d);
    ckpt_var *in[3] = {x, w, b};
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, op, y, in, b ? 3 : 2, conv2d_bw, sizeof d, &n, err) < 0)
        return NULL;
    if (n)
        *(ckpt_nn_conv2d_dims *)n->ctx = d;
    return y;
}

ckpt_var *ckpt_f_conv1d(ckpt_var *x, ckpt_var *w, ckpt_var *b, const ckpt_conv_opts *o,
                        ckpt_error *err)
{
    return conv_nd("conv1d", 1, x, w, b, o, err);
}

ckpt_var *ckpt_f_conv2d(ckpt_var *x, ckpt_var *w, ckpt_var *b, const ckpt_conv_opts *o,
                        ckpt_error *err)
{
    return conv_nd("conv2d", 2, x, w, b, o, err);
}

static int convt2d_bw(ckpt__node *n, ckpt_error *err)
{
    const ckpt_nn_conv_transpose2d_dims *d = n->ctx;
    float *dx = NULL, *dw = NULL, *db = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    CKPT_TRY(ckpt__grad(n->in[1], &dw, err));
    if (n->nin > 2)
        CKPT_TRY(ckpt__grad(n->in[2], &db, err));
    float *ws = ckpt__tape_alloc(n->out->tape,
                                 ckpt_nn_conv_transpose2d_backward_ws(d) * sizeof(float), err);
    if (!ws)
        return CKPT_E_NOMEM;
    ckpt_nn_conv_transpose2d_backward(dx, dw, db, n->out->grad, n->in[0]->data, n->in[1]->data,
                                      ws, d);
    return 0;
}

ckpt_var *ckpt_f_conv_transpose2d(ckpt_var *x, ckpt_var *w, ckpt_var *b, const ckpt_conv_opts *o,
                                  ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    const char *op = "conv_transpose2d";
    char s1[96], s2[96];
    if (ckpt__var_check(x, CKPT_F32, NULL, op, "input", err) ||
        ckpt__var_check(w, CKPT_F32, x->tape, op, "weight", err) ||
        (b && ckpt__var_check(b, CKPT_F32, x->tape, op, "bias", err)))
        return NULL;
    ckpt_conv_opts z = {0};
    if (!o)
        o = &z;
    const bool batched = x->ndim == 4;
    if ((x->ndim != 3 && !batched) || w->ndim != 4) {
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "%s: expected 3D (unbatched) or 4D (batched) input and 4D weight, got input %s "
                  "and weight %s",
                  op, ckpt__shape_str(x, s1, sizeof s1), ckpt__shape_str(w, s2, sizeof s2));
        return NULL;
    }
    const int64_t *xs = x->shape + (batched ? 1 : 0);
    ckpt_nn_conv_transpose2d_dims d = {0};
    d.b = batched ? x->shape[0] : 1;
    d.c = xs[0], d.h = xs[1], d.w = xs[2];
    d.g = opt1(o->groups);
    d.oc = w->shape[1] * d.g, d.kh = w->shape[2], d.kw = w->shape[3];
    d.sh = opt1(o->stride[0]), d.sw = opt1(o->stride[1]);
    d.ph = o->padding[0], d.pw = o->padding[1];
    d.dh = opt1(o->dilation[0]), d.dw = opt1(o->dilation[1]);
    d.oph = o->output_padding[0], d.opw = o->output_padding[1];
    if (o->padding_kind != CKPT_CONV_PAD_EXPLICIT || o->padding_mode != CKPT_PADMODE_ZEROS) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "%s: only numeric padding and padding_mode 'zeros' are supported", op);
        return NULL;
    }
    if (d.ph < 0 || d.pw < 0 || d.oph < 0 || d.opw < 0 || o->stride[0] < 0 || o->stride[1] < 0 ||
        o->dilation[0] < 0 || o->dilation[1] < 0 || o->groups < 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: negative stride, padding, dilation or groups", op);
        return NULL;
    }
    if ((d.oph >= d.sh && d.oph >= d.dh) || (d.opw >= d.sw && d.opw >= d.dw)) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "%s: output padding must be smaller than either stride or dilation", op);
        return NULL;
    }
    if (w->shape[0] != d.c || d.c % d.g != 0) {
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "%s: weight %s expects %lld input channels (groups=%lld), but got input %s", op,
                  ckpt__shape_str(w, s2, sizeof s2), (long long)w->shape[0], (long long)d.g,
                  ckpt__shape_str(x, s1, sizeof s1));
        return NULL;
    }
    if (b && !(b->ndim == 1 && b->shape[0] == d.oc)) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: bias %s does not match %lld output channels", op,
                  ckpt__shape_str(b, s1, sizeof s1), (long long)d.oc);
        return NULL;
    }
    if (!ckpt_nn_conv_transpose2d_out_size(&d)) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: empty output for input %s and weight %s", op,
                  ckpt__shape_str(x, s1, sizeof s1), ckpt__shape_str(w, s2, sizeof s2));
        return NULL;
    }
    int64_t shape[4] = {d.b, d.oc, d.oh, d.ow};
    ckpt_var *y = ckpt__var_new(x->tape, CKPT_F32, batched ? 4 : 3, batched ? shape : shape + 1,
                                err);
    if (!y)
        return NULL;
    float *ws = ckpt__tape_alloc(x->tape, ckpt_nn_conv_transpose2d_ws(&d) * sizeof(float), err);
    if (!ws)
        return NULL;
    ckpt_nn_conv_transpose2d_forward(y->data, x->data, w->data, b ? b->data : NULL, ws, &d);
    ckpt_var *in[3] = {x, w, b};
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, op, y, in, b ? 3 : 2, convt2d_bw, sizeof d, &n, err) < 0)
        return NULL;
    if (n)
        *(ckpt_nn_conv_transpose2d_dims *)n->ctx = d;
    return y;
}

/* ------------------------------------------------------------ activations */

typedef void (*unary_fwd)(float *out, const float *in, size_t n);
typedef void (*unary_bwk)(float *din, const float *dout, const float *saved, size_t n);

/* the backward kernel and whether it takes the output (tanh, sigmoid) */
typedef struct unary_ctx {
    unary_bwk bw;
    bool from_out;
} unary_ctx;

static int unary_bw(ckpt__node *n, ckpt_error *err)
{
    const unary_ctx *c = n->ctx;
    float *dx = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    if (dx)
        c->bw(dx, n->out->grad, c->from_out ? n->out->data : n->in[0]->data,
              (size_t)n->out->numel);
    return 0;
}

static ckpt_var *unary(const char *op, ckpt_var *x, unary_fwd f, unary_bwk bw, bool from_out,
                       ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (ckpt__var_check(x, CKPT_F32, NULL, op, "input", err))
        return NULL;
    ckpt_var *y = ckpt__var_new(x->tape, CKPT_F32, x->ndim, x->shape, err);
    if (!y)
        return NULL;
    f(y->data, x->data, (size_t)x->numel);
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, op, y, &x, 1, unary_bw, sizeof(unary_ctx), &n, err) < 0)
        return NULL;
    if (n)
        *(unary_ctx *)n->ctx = (unary_ctx){bw, from_out};
    return y;
}

ckpt_var *ckpt_f_relu(ckpt_var *x, ckpt_error *err)
{
    return unary("relu", x, ckpt_nn_relu_forward, ckpt_nn_relu_backward, false, err);
}

ckpt_var *ckpt_f_gelu(ckpt_var *x, bool tanh_approximate, ckpt_error *err)
{
    if (tanh_approximate) {
        ckpt_var *y = unary("gelu", x, ckpt_nn_gelu_tanh_forward, ckpt_nn_gelu_tanh_backward,
                            false, err);
        if (y && y->creator)
            y->creator->tr[0] = 1; /* approximate='tanh', for a tracer */
        return y;
    }
    return unary("gelu", x, ckpt_nn_gelu_forward, ckpt_nn_gelu_backward, false, err);
}

ckpt_var *ckpt_f_silu(ckpt_var *x, ckpt_error *err)
{
    return unary("silu", x, ckpt_nn_silu_forward, ckpt_nn_silu_backward, false, err);
}

ckpt_var *ckpt_f_tanh(ckpt_var *x, ckpt_error *err)
{
    return unary("tanh", x, ckpt_nn_tanh_forward, ckpt_nn_tanh_backward, true, err);
}

ckpt_var *ckpt_f_sigmoid(ckpt_var *x, ckpt_error *err)
{
    return unary("sigmoid", x, ckpt_nn_sigmoid_forward, ckpt_nn_sigmoid_backward, true, err);
}

/* ---------------------------------------------------------------- softmax */

typedef struct softmax_ctx {
    int64_t outer, d, inner;
    bool logv;
} softmax_ctx;

static int softmax_bw(ckpt__node *n, ckpt_error *err)
{
    const softmax_ctx *c = n->ctx;
    float *dx = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    if (!dx)
        return 0;
    if (c->logv)
        ckpt_nn_logsoftmax_backward(dx, n->out->grad, n->out->data, c->outer, c->d, c->inner);
    else
        ckpt_nn_softmax_backward(dx, n->out->grad, n->out->data, c->outer, c->d, c->inner);
    return 0;
}

static ckpt_var *softmax_any(const char *op, ckpt_var *x, int dim, bool logv, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    int d = 0;
    if (ckpt__var_check(x, CKPT_F32, NULL, op, "input", err) ||
        ckpt__dim(dim, x->ndim, op, &d, err))
        return NULL;
    softmax_ctx c = {1, 1, 1, logv};
    for (int i = 0; i < x->ndim; i++) {
        if (i < d)
            c.outer *= x->shape[i];
        else if (i == d)
            c.d = x->shape[i];
        else
            c.inner *= x->shape[i];
    }
    ckpt_var *y = ckpt__var_new(x->tape, CKPT_F32, x->ndim, x->shape, err);
    if (!y)
        return NULL;
    if (logv)
        ckpt_nn_logsoftmax_forward(y->data, x->data, c.outer, c.d, c.inner);
    else
        ckpt_nn_softmax_forward(y->data, x->data, c.outer, c.d, c.inner);
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, op, y, &x, 1, softmax_bw, sizeof c, &n, err) < 0)
        return NULL;
    if (n)
        *(softmax_ctx *)n->ctx = c;
    if (n)
        n->tr[0] = d;
    return y;
}

ckpt_var *ckpt_f_softmax(ckpt_var *x, int dim, ckpt_error *err)
{
    return softmax_any("softmax", x, dim, false, err);
}

ckpt_var *ckpt_f_log_softmax(ckpt_var *x, int dim, ckpt_error *err)
{
    return softmax_any("log_softmax", x, dim, true, err);
}

/* ---------------------------------------------------------------- dropout */

typedef struct dropout_ctx {
    uint8_t *mask;
    double p;
} dropout_ctx;

static int dropout_bw(ckpt__node *n, ckpt_error *err)
{
    const dropout_ctx *c = n->ctx;
    float *dx = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &dx, err));
    if (dx)
        ckpt_nn_dropout_backward(dx, n->out->grad, c->mask, (size_t)n->out->numel, c->p);
    return 0;
}

ckpt_var *ckpt_f_dropout(ckpt_var *x, double p, bool training, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (ckpt__var_check(x, CKPT_F32, NULL, "dropout", "input", err))
        return NULL;
    if (!(p >= 0.0 && p <= 1.0)) {
        CKPT_FAIL(err, CKPT_E_ARG, "dropout: probability has to be between 0 and 1, but got %g",
                  p);
        return NULL;
    }
    if (!training || p == 0.0)
        return x;
    ckpt_var *y = ckpt__var_new(x->tape, CKPT_F32, x->ndim, x->shape, err);
    if (!y)
        return NULL;
    ckpt__node *n = NULL;
    if (ckpt__record(x->tape, "dropout", y, &x, 1, dropout_bw, sizeof(dropout_ctx), &n, err) < 0)
        return NULL;
    uint8_t *mask = NULL;
    if (n) {
        mask = ckpt__tape_alloc(x->tape, (size_t)x->numel, err);
        if (!mask)
            return NULL;
        *(dropout_ctx *)n->ctx = (dropout_ctx){mask, p};
    }
    ckpt_nn_dropout_forward_mask(y->data, mask, x->data, (size_t)x->numel, p,
                                 ckpt_tape_rng(x->tape));
    return y;
}

/* -------------------------------------------------------------- embedding */

typedef struct embedding_ctx {
    int64_t padding_idx;
} embedding_ctx;

static int embedding_bw(ckpt__node *n, ckpt_error *err)
{
    const embedding_ctx *c = n->ctx;
    ckpt_var *idx = n->in[0], *w = n->in[1];
    float *dw = NULL;
    CKPT_TRY(ckpt__grad(w, &dw, err));
    if (dw && ckpt_nn_embedding_backward(dw, n->out->grad, idx->idata, idx->numel, w->shape[0],
                                         w->shape[1], c->padding_idx) != 0)
        return CKPT_FAIL(err, CKPT_E_ARG, "embedding: index out of range in self");
    return 0;
}

ckpt_var *ckpt_f_embedding(ckpt_var *idx, ckpt_var *weight, int64_t padding_idx, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    char s1[96];
    if (ckpt__var_check(idx, CKPT_I64, NULL, "embedding", "indices", err) ||
        ckpt__var_check(weight, CKPT_F32, idx->tape, "embedding", "weight", err))
        return NULL;
    if (weight->ndim != 2) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "embedding: weight must be 2-D, got %s",
                  ckpt__shape_str(weight, s1, sizeof s1));
        return NULL;
    }
    if (idx->ndim >= CKPT_VAR_MAX_DIMS) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "embedding: indices with %d dims (at most %d)", idx->ndim,
                  CKPT_VAR_MAX_DIMS - 1);
        return NULL;
    }
    if (padding_idx >= weight->shape[0]) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "embedding: padding_idx %lld must be within num_embeddings %lld",
                  (long long)padding_idx, (long long)weight->shape[0]);
        return NULL;
    }
    int64_t shape[CKPT_VAR_MAX_DIMS];
    for (int i = 0; i < idx->ndim; i++)
        shape[i] = idx->shape[i];
    shape[idx->ndim] = weight->shape[1];
    ckpt_var *y = ckpt__var_new(idx->tape, CKPT_F32, idx->ndim + 1, shape, err);
    if (!y)
        return NULL;
    if (ckpt_nn_embedding_forward_raw(y->data, weight->data, idx->idata, idx->numel,
                                      weight->shape[0], weight->shape[1]) != 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "embedding: index out of range in self (num_embeddings %lld)",
                  (long long)weight->shape[0]);
        return NULL;
    }
    ckpt_var *in[2] = {idx, weight};
    ckpt__node *n = NULL;
    if (ckpt__record(idx->tape, "embedding", y, in, 2, embedding_bw, sizeof(embedding_ctx), &n,
                     err) < 0)
        return NULL;
    if (n)
        ((embedding_ctx *)n->ctx)->padding_idx = padding_idx < 0 ? -1 : padding_idx;
    return y;
}
