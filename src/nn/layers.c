/* src/nn/layers.c - torch.nn layers: constructors (torch's parameter names,
 * shapes, default initialisation and attributes) and forward dispatch.
 * Attention layers live in layers_attn.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "ops/kernels.h"
#include "nn/layers.h"

/* ----------------------------------------------------------------- helpers */

static void layer_free(void *p)
{
    nn_layer *l = p;
    if (!l)
        return;
    for (size_t i = 0; i < sizeof(l->ws) / sizeof(l->ws[0]); i++)
        ckpt_nn_act_free(&l->ws[i]);
    ckpt__hfree(l->a, l);
}

ckpt_module *ckpt__nn_make(ckpt_module *parent, const char *name, const char *type,
                           const ckpt__layer_ops *ops, ckpt_error *err)
{
    ckpt_module *m;
    if (parent)
        m = ckpt_module_add(parent, name ? name : "", type, err);
    else
        m = ckpt_module_new(type, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__hzalloc(m->a, 1, sizeof(*l));
    if (!l) {
        ckpt_module_free(m); /* detaches it from `parent` */
        CKPT_FAIL(err, CKPT_E_NOMEM, "%s: out of memory", type);
        return NULL;
    }
    l->a = m->a;
    for (size_t i = 0; i < sizeof(l->ws) / sizeof(l->ws[0]); i++)
        l->ws[i].alloc = m->a;
    m->ops = ops;
    m->layer = l;
    m->layer_free = layer_free;
    return m;
}

ckpt_module *ckpt__nn_done(ckpt_module *parent, ckpt_module *m, ckpt_error *err)
{
    (void)parent; /* ckpt_module_free detaches a child from its parent */
    if (!m->attr_oom)
        return m;
    CKPT_FAIL(err, CKPT_E_NOMEM, "%s: out of memory setting its attributes", m->type);
    ckpt_module_free(m);
    return NULL;
}

nn_layer *ckpt__nn_state(const ckpt_module *m)
{
    return m ? (nn_layer *)m->layer : NULL;
}

float *ckpt__nn_data(const ckpt_module *m, const char *name)
{
    ckpt_slot *s = ckpt_module_slot(m, name);
    if (!s || !s->data || s->dtype != CKPT_F32)
        return NULL;
    return s->data;
}

void ckpt__nn_uniform(float *p, size_t n, double bound, ckpt_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (float)((2.0 * ckpt_rng_uniform(rng) - 1.0) * bound);
}

static size_t shape_numel(int ndim, const int64_t *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    return n;
}

float *ckpt__nn_param_uniform(ckpt_module *m, const char *name, int ndim, const int64_t *shape,
                              double bound, ckpt_rng *rng, ckpt_error *err)
{
    ckpt_slot *s = ckpt_module_param(m, name, CKPT_F32, ndim, shape, err);
    if (!s)
        return NULL;
    if (rng)
        ckpt__nn_uniform(s->data, shape_numel(ndim, shape), bound, rng);
    return s->data;
}

static int fill_const(ckpt_slot *s, float v)
{
    if (!s)
        return -1;
    float *p = s->data;
    size_t n = shape_numel(s->ndim, s->shape);
    for (size_t i = 0; i < n; i++)
        p[i] = v;
    return 0;
}

int ckpt__nn_no_alias(const ckpt_nn_act *in, const ckpt_nn_act *out, const char *what,
                      ckpt_error *err)
{
    CKPT_CHECK(in && out && in->data, err, CKPT_E_ARG, "%s forward: missing input or output",
               what);
    CKPT_CHECK(in != out && in->data != out->data, err, CKPT_E_ARG,
               "%s forward: input and output must be different activations", what);
    return 0;
}

/* Failure helper for constructors: free a half-built root, return NULL. */
static ckpt_module *undo(ckpt_module *parent, ckpt_module *m)
{
    if (!parent)
        ckpt_module_free(m);
    return NULL;
}

#define SET_INTS(m, name, ...)                                                                   \
    do {                                                                                         \
        const int64_t v_[] = {__VA_ARGS__};                                                      \
        ckpt_module_set_attr_ints((m), (name), sizeof(v_) / sizeof(v_[0]), v_, NULL);            \
    } while (0)

/* ------------------------------------------------------------------ Linear */

int ckpt__nn_linear_rows(ckpt_module *lin, const float *in, float *out, int64_t rows,
                         ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(lin);
    const float *w = ckpt__nn_data(lin, "weight");
    CKPT_CHECK(w, err, CKPT_E_ARG, "Linear: weight is missing or not float32");
    ckpt_nn_linear_forward(out, in, w, ckpt__nn_data(lin, "bias"), rows, l->in, l->out);
    return 0;
}

static int linear_fwd(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                      ckpt_error *err)
{
    (void)rng;
    nn_layer *l = ckpt__nn_state(m);
    CKPT_TRY(ckpt__nn_no_alias(in, out, "Linear", err));
    CKPT_CHECK(in->ndim >= 1 && in->shape[in->ndim - 1] == l->in, err, CKPT_E_SHAPE,
               "Linear: input's last dim is %lld, expected in_features %lld",
               in->ndim ? (long long)in->shape[in->ndim - 1] : 0LL, (long long)l->in);
    int64_t shape[CKPT_NN_MAX_DIMS];
    memcpy(shape, in->shape, sizeof(shape));
    shape[in->ndim - 1] = l->out;
    CKPT_TRY(ckpt_nn_act_resize(out, in->ndim, shape, err));
    int64_t rows = (int64_t)(ckpt_nn_act_numel(in) / (size_t)(l->in ? l->in : 1));
    return ckpt__nn_linear_rows(m, in->data, out->data, rows, err);
}

static const ckpt__layer_ops linear_ops = {.type = "Linear",
                                           .forward = linear_fwd,
                                           .call = ckpt__nn_linear_call};
static const ckpt__layer_ops ndq_linear_ops = {.type = "NonDynamicallyQuantizableLinear",
                                               .forward = linear_fwd,
                                               .call = ckpt__nn_linear_call};

static ckpt_module *linear_typed(ckpt_module *parent, const char *name, const char *type,
                                 const ckpt__layer_ops *ops, int64_t in_f, int64_t out_f,
                                 bool bias, ckpt_rng *rng, ckpt_error *err)
{
    if (in_f < 0 || out_f < 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "Linear: negative features (%lld, %lld)", (long long)in_f,
                  (long long)out_f);
        return NULL;
    }
    ckpt_module *m = ckpt__nn_make(parent, name, type, ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    l->in = in_f;
    l->out = out_f;
    l->bias = bias;
    double bound = in_f > 0 ? 1.0 / sqrt((double)in_f) : 0.0;
    int64_t ws[2] = {out_f, in_f};
    if (!ckpt__nn_param_uniform(m, "weight", 2, ws, bound, rng, err))
        return undo(parent, m);
    if (bias) {
        if (!ckpt__nn_param_uniform(m, "bias", 1, &out_f, bound, rng, err))
            return undo(parent, m);
    } else if (ckpt_module_param_none(m, "bias", err) != 0) {
        return undo(parent, m);
    }
    ckpt_module_set_attr_int(m, "in_features", in_f, NULL);
    ckpt_module_set_attr_int(m, "out_features", out_f, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

ckpt_module *ckpt_nn_linear(ckpt_module *parent, const char *name, int64_t in_features,
                            int64_t out_features, const ckpt_linear_opts *o, ckpt_rng *rng,
                            ckpt_error *err)
{
    return linear_typed(parent, name, "Linear", &linear_ops, in_features, out_features,
                        !(o && o->no_bias), rng, err);
}

ckpt_module *ckpt__nn_ndq_linear(ckpt_module *parent, const char *name, int64_t in_f,
                                 int64_t out_f, bool bias, ckpt_rng *rng, ckpt_error *err)
{
    return linear_typed(parent, name, "NonDynamicallyQuantizableLinear", &ndq_linear_ops, in_f,
                        out_f, bias, rng, err);
}

/* ------------------------------------------------------------ convolutions */

static int conv_fwd(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                    ckpt_error *err)
{
    (void)rng;
    nn_layer *l = ckpt__nn_state(m);
    const bool one_d = l->extra == 1;
    const char *type = one_d ? "Conv1d" : "Conv2d";
    CKPT_TRY(ckpt__nn_no_alias(in, out, type, err));
    const int sd = one_d ? 1 : 2; /* spatial dims */
    CKPT_CHECK(in->ndim == sd + 1 || in->ndim == sd + 2, err, CKPT_E_SHAPE,
               "%s: expected a %dD or %dD input, got %dD", type, sd + 1, sd + 2, in->ndim);
    const bool batched = in->ndim == sd + 2;
    const int64_t *s = in->shape + (batched ? 1 : 0);
    ckpt_nn_conv2d_dims d = {0};
    d.b = batched ? in->shape[0] : 1;
    d.c = s[0];
    d.h = one_d ? 1 : s[1];
    d.w = one_d ? s[1] : s[2];
    d.oc = l->out;
    d.kh = l->kh, d.kw = l->kw, d.sh = l->sh, d.sw = l->sw, d.ph = l->ph, d.pw = l->pw;
    d.dh = l->dh, d.dw = l->dw, d.g = l->groups;
    CKPT_CHECK(d.c == l->in, err, CKPT_E_SHAPE, "%s: input has %lld channels, expected %lld",
               type, (long long)d.c, (long long)l->in);
    /* 'same' / padding_mode: pad the input into scratch, the kernel pads nothing */
    ckpt_conv_opts po = {.padding = {one_d ? l->pw : l->ph, l->pw},
                         .padding_kind = (ckpt_conv_padding)l->pad_kind,
                         .padding_mode = (ckpt_padding_mode)l->pad_mode};
    const ckpt_nn_conv_pad pad = ckpt_nn_conv_padding(&po, sd, d.kh, d.kw, d.dh, d.dw);
    d.ph = pad.ph, d.pw = pad.pw;
    const float *src = in->data;
    if (pad.pre) {
        int64_t mh = pad.top > pad.bottom ? pad.top : pad.bottom;
        int64_t mw = pad.left > pad.right ? pad.left : pad.right;
        CKPT_CHECK(pad.mode == CKPT_PADMODE_ZEROS || pad.mode == CKPT_PADMODE_REPLICATE ||
                       (pad.mode == CKPT_PADMODE_REFLECT ? (mh == 0 || mh < d.h) && mw < d.w
                                                         : mh <= d.h && mw <= d.w),
                   err, CKPT_E_SHAPE, "%s: padding too large for padding_mode and input", type);
        CKPT_CHECK(d.h > 0 && d.w > 0, err, CKPT_E_SHAPE, "%s: empty input", type);
        int64_t ph = d.h + pad.top + pad.bottom, pw = d.w + pad.left + pad.right;
        int64_t pshape[1] = {d.b * d.c * ph * pw};
        CKPT_TRY(ckpt_nn_act_resize(&l->ws[1], 1, pshape, err));
        ckpt_nn_pad2d_forward(l->ws[1].data, in->data, d.b * d.c, d.h, d.w, pad.top, pad.bottom,
                              pad.left, pad.right, pad.mode);
        src = l->ws[1].data;
        d.h = ph, d.w = pw;
    }
    CKPT_CHECK(ckpt_nn_conv2d_out_size(&d), err, CKPT_E_SHAPE,
               "%s: input (%lld x %lld) is smaller than the kernel", type, (long long)d.h,
               (long long)d.w);
    const float *w = ckpt__nn_data(m, "weight");
    CKPT_CHECK(w, err, CKPT_E_ARG, "%s: weight is missing or not float32", type);
    int64_t shape[4];
    int nd = 0;
    if (batched)
        shape[nd++] = d.b;
    shape[nd++] = d.oc;
    if (!one_d)
        shape[nd++] = d.oh;
    shape[nd++] = d.ow;
    CKPT_TRY(ckpt_nn_act_resize(out, nd, shape, err));
    size_t ws = ckpt_nn_conv2d_ws(&d);
    if (ws) {
        int64_t wshape[1] = {(int64_t)ws};
        if (l->ws[0].cap < ws)
            CKPT_TRY(ckpt_nn_act_resize(&l->ws[0], 1, wshape, err));
    }
    ckpt_nn_conv2d_forward(out->data, src, w, ckpt__nn_data(m, "bias"), l->ws[0].data, &d);
    return 0;
}

static const ckpt__layer_ops conv1d_ops = {.type = "Conv1d",
                                           .forward = conv_fwd,
                                           .call = ckpt__nn_conv_call};
static const ckpt__layer_ops conv2d_ops = {.type = "Conv2d",
                                           .forward = conv_fwd,
                                           .call = ckpt__nn_conv_call};

static int64_t def1(int64_t v)
{
    return v > 0 ? v : 1;
}

/* dims: 1 (Conv1d), 2 (Conv2d), 3 (ConvTranspose2d) */
static ckpt_module *conv_make(ckpt_module *parent, const char *name, int dims, int64_t in_ch,
                              int64_t out_ch, int64_t kh, int64_t kw, const ckpt_conv_opts *o,
                              ckpt_rng *rng, ckpt_error *err);

ckpt_module *ckpt_nn_conv1d(ckpt_module *parent, const char *name, int64_t in_ch, int64_t out_ch,
                            int64_t kernel, const ckpt_conv_opts *o, ckpt_rng *rng,
                            ckpt_error *err)
{
    return conv_make(parent, name, 1, in_ch, out_ch, 1, kernel, o, rng, err);
}

ckpt_module *ckpt_nn_conv2d(ckpt_module *parent, const char *name, int64_t in_ch, int64_t out_ch,
                            int64_t kh, int64_t kw, const ckpt_conv_opts *o, ckpt_rng *rng,
                            ckpt_error *err)
{
    return conv_make(parent, name, 2, in_ch, out_ch, kh, kw, o, rng, err);
}

static int convt_fwd(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                     ckpt_error *err)
{
    (void)rng;
    nn_layer *l = ckpt__nn_state(m);
    CKPT_TRY(ckpt__nn_no_alias(in, out, "ConvTranspose2d", err));
    CKPT_CHECK(in->ndim == 3 || in->ndim == 4, err, CKPT_E_SHAPE,
               "ConvTranspose2d: expected a 3D or 4D input, got %dD", in->ndim);
    const bool batched = in->ndim == 4;
    const int64_t *s = in->shape + (batched ? 1 : 0);
    ckpt_nn_conv_transpose2d_dims d = {0};
    d.b = batched ? in->shape[0] : 1;
    d.c = s[0], d.h = s[1], d.w = s[2];
    d.oc = l->out, d.kh = l->kh, d.kw = l->kw, d.sh = l->sh, d.sw = l->sw;
    d.ph = l->ph, d.pw = l->pw, d.dh = l->dh, d.dw = l->dw, d.oph = l->oph, d.opw = l->opw;
    d.g = l->groups;
    CKPT_CHECK(d.c == l->in, err, CKPT_E_SHAPE,
               "ConvTranspose2d: input has %lld channels, expected %lld", (long long)d.c,
               (long long)l->in);
    CKPT_CHECK(ckpt_nn_conv_transpose2d_out_size(&d), err, CKPT_E_SHAPE,
               "ConvTranspose2d: empty output");
    const float *w = ckpt__nn_data(m, "weight");
    CKPT_CHECK(w, err, CKPT_E_ARG, "ConvTranspose2d: weight is missing or not float32");
    int64_t shape[4] = {d.b, d.oc, d.oh, d.ow};
    CKPT_TRY(ckpt_nn_act_resize(out, batched ? 4 : 3, batched ? shape : shape + 1, err));
    size_t ws = ckpt_nn_conv_transpose2d_ws(&d);
    int64_t wshape[1] = {(int64_t)(ws ? ws : 1)};
    if (l->ws[0].cap < ws || !l->ws[0].data)
        CKPT_TRY(ckpt_nn_act_resize(&l->ws[0], 1, wshape, err));
    ckpt_nn_conv_transpose2d_forward(out->data, in->data, w, ckpt__nn_data(m, "bias"),
                                     l->ws[0].data, &d);
    return 0;
}

static const ckpt__layer_ops convt2d_ops = {.type = "ConvTranspose2d",
                                            .forward = convt_fwd,
                                            .call = ckpt__nn_conv_call};

ckpt_module *ckpt_nn_conv_transpose2d(ckpt_module *parent, const char *name, int64_t in_ch,
                                      int64_t out_ch, int64_t kh, int64_t kw,
                                      const ckpt_conv_opts *o, ckpt_rng *rng, ckpt_error *err)
{
    return conv_make(parent, name, 3, in_ch, out_ch, kh, kw, o, rng, err);
}

static ckpt_module *conv_make(ckpt_module *parent, const char *name, int dims, int64_t in_ch,
                              int64_t out_ch, int64_t kh, int64_t kw, const ckpt_conv_opts *o,
                              ckpt_rng *rng, ckpt_error *err)
{
    static const char *const types[] = {"", "Conv1d", "Conv2d", "ConvTranspose2d"};
    const ckpt__layer_ops *ops = dims == 1 ? &conv1d_ops : dims == 2 ? &conv2d_ops : &convt2d_ops;
    ckpt_conv_opts z = {0};
    if (!o)
        o = &z;
    int64_t g = def1(o->groups);
    if (in_ch <= 0 || out_ch <= 0 || kh <= 0 || kw <= 0 || in_ch % g || out_ch % g ||
        o->stride[0] < 0 || o->stride[1] < 0 || o->padding[0] < 0 || o->padding[1] < 0 ||
        o->dilation[0] < 0 || o->dilation[1] < 0 || o->output_padding[0] < 0 ||
        o->output_padding[1] < 0) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "%s: bad arguments (in %lld, out %lld, kernel %lldx%lld, groups %lld)",
                  types[dims], (long long)in_ch, (long long)out_ch, (long long)kh, (long long)kw,
                  (long long)g);
        return NULL;
    }
    ckpt_module *m = ckpt__nn_make(parent, name, types[dims], ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    l->extra = dims;
    l->in = in_ch, l->out = out_ch, l->kh = kh, l->kw = kw, l->groups = g;
    l->bias = !o->no_bias;
    if (dims == 1) { /* Conv1d: the one spatial dim is the second entry */
        l->sh = 1, l->ph = 0, l->dh = 1;
        l->sw = def1(o->stride[0]), l->pw = o->padding[0], l->dw = def1(o->dilation[0]);
    } else {
        l->sh = def1(o->stride[0]), l->sw = def1(o->stride[1]);
        l->ph = o->padding[0], l->pw = o->padding[1];
        l->dh = def1(o->dilation[0]), l->dw = def1(o->dilation[1]);
        l->oph = o->output_padding[0], l->opw = o->output_padding[1];
    }
    l->pad_kind = (int)o->padding_kind, l->pad_mode = (int)o->padding_mode;
    if ((unsigned)o->padding_kind > CKPT_CONV_PAD_VALID ||
        (unsigned)o->padding_mode > CKPT_PADMODE_CIRCULAR ||
        (dims == 3 &&
         (o->padding_kind != CKPT_CONV_PAD_EXPLICIT || o->padding_mode != CKPT_PADMODE_ZEROS))) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: unsupported padding (kind %d, padding_mode %d)%s",
                  types[dims], (int)o->padding_kind, (int)o->padding_mode,
                  dims == 3 ? ": only numeric padding and 'zeros' padding_mode" : "");
        return undo(parent, m);
    }
    if (o->padding_kind == CKPT_CONV_PAD_SAME && (l->sh != 1 || l->sw != 1)) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: padding='same' is not supported for strided convolutions",
                  types[dims]);
        return undo(parent, m);
    }
    if (o->padding_kind != CKPT_CONV_PAD_EXPLICIT)
        l->ph = l->pw = 0;
    if (dims == 3 && (l->oph >= l->sh && l->oph >= l->dh)) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "ConvTranspose2d: output padding must be smaller than either stride or "
                  "dilation");
        return undo(parent, m);
    }
    /* weight: (OC, C/G, KH, KW); transposed: (C, OC/G, KH, KW).  fan_in is dim 1
     * times the receptive field, as torch's _calculate_fan_in_and_fan_out. */
    int64_t wsh[4] = {dims == 3 ? in_ch : out_ch, dims == 3 ? out_ch / g : in_ch / g, kh, kw};
    int64_t fan_in = wsh[1] * kh * kw;
    double bound = 1.0 / sqrt((double)fan_in);
    int wnd = dims == 1 ? 3 : 4;
    if (dims == 1)
        wsh[2] = kw;
    if (!ckpt__nn_param_uniform(m, "weight", wnd, wsh, bound, rng, err))
        return undo(parent, m);
    if (l->bias) {
        if (!ckpt__nn_param_uniform(m, "bias", 1, &out_ch, bound, rng, err))
            return undo(parent, m);
    } else if (ckpt_module_param_none(m, "bias", err) != 0) {
        return undo(parent, m);
    }
    ckpt_module_set_attr_int(m, "in_channels", in_ch, NULL);
    ckpt_module_set_attr_int(m, "out_channels", out_ch, NULL);
    if (dims == 1) {
        SET_INTS(m, "kernel_size", kw);
        SET_INTS(m, "stride", l->sw);
        if (l->pad_kind == CKPT_CONV_PAD_EXPLICIT)
            SET_INTS(m, "padding", l->pw);
        SET_INTS(m, "dilation", l->dw);
        SET_INTS(m, "output_padding", 0);
    } else {
        SET_INTS(m, "kernel_size", kh, kw);
        SET_INTS(m, "stride", l->sh, l->sw);
        if (l->pad_kind == CKPT_CONV_PAD_EXPLICIT)
            SET_INTS(m, "padding", l->ph, l->pw);
        SET_INTS(m, "dilation", l->dh, l->dw);
        SET_INTS(m, "output_padding", l->oph, l->opw);
    }
    ckpt_module_set_attr_bool(m, "transposed", dims == 3, NULL);
    ckpt_module_set_attr_int(m, "groups", g, NULL);
    static const char *const modes[] = {"zeros", "reflect", "replicate", "circular"};
    if (l->pad_kind != CKPT_CONV_PAD_EXPLICIT)
        ckpt_module_set_attr_str(m, "padding",
                                 l->pad_kind == CKPT_CONV_PAD_SAME ? "same" : "valid", NULL);
    ckpt_module_set_attr_str(m, "padding_mode", modes[l->pad_mode], NULL);
    ckpt_module_set_attr_bool(m, "bias", l->bias, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

/* --------------------------------------------------------------- BatchNorm */

static int batchnorm_fwd(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                         ckpt_error *err)
{
    (void)rng;
    nn_layer *l = ckpt__nn_state(m);
    const char *type = l->extra == 1 ? "BatchNorm1d" : "BatchNorm2d";
    CKPT_CHECK(in && out && in->data, err, CKPT_E_ARG, "%s forward: missing input", type);
    if (l->extra == 1)
        CKPT_CHECK(in->ndim == 2 || in->ndim == 3, err, CKPT_E_SHAPE,
                   "BatchNorm1d: expected 2D or 3D input (got %dD input)", in->ndim);
    else
        CKPT_CHECK(in->ndim == 4, err, CKPT_E_SHAPE,
                   "BatchNorm2d: expected 4D input (got %dD input)", in->ndim);
    const int64_t b = in->shape[0], c = in->shape[1];
    CKPT_CHECK(c == l->in, err, CKPT_E_SHAPE, "%s: input has %lld channels, expected %lld", type,
               (long long)c, (long long)l->in);
    int64_t s = 1;
    for (int i = 2; i < in->ndim; i++)
        s *= in->shape[i];
    float *rmean = ckpt__nn_data(m, "running_mean");
    float *rvar = ckpt__nn_data(m, "running_var");
    const bool training = ckpt_module_training(m);
    const bool use_batch = training || !rmean || !rvar;
    const float *mean = rmean, *var = rvar;
    if (use_batch) {
        CKPT_CHECK(b * s > 1, err, CKPT_E_SHAPE,
                   "%s: expected more than 1 value per channel when training", type);
        int64_t wshape[1] = {2 * c};
        CKPT_TRY(ckpt_nn_act_resize(&l->ws[0], 1, wshape, err));
        float *bm = l->ws[0].data, *bv = l->ws[0].data + c;
        ckpt_nn_batchnorm_stats(bm, bv, in->data, b, c, s);
        mean = bm;
        var = bv;
    }
    if (in != out)
        CKPT_TRY(ckpt_nn_act_resize(out, in->ndim, in->shape, err));
    ckpt_nn_batchnorm_forward(out->data, in->data, mean, var, ckpt__nn_data(m, "weight"),
                              ckpt__nn_data(m, "bias"), b, c, s, l->eps);
    if (training && l->track && rmean && rvar) {
        ckpt_slot *nbt = ckpt_module_slot(m, "num_batches_tracked");
        double factor = l->momentum;
        if (nbt && nbt->data && nbt->dtype == CKPT_I64) {
            int64_t *cnt = nbt->data;
            *cnt += 1;
            if (l->momentum < 0)
                factor = 1.0 / (double)*cnt;
        } else if (l->momentum < 0) {
            factor = 0.0;
        }
        ckpt_nn_batchnorm_update_running(rmean, rvar, mean, var, c, b * s, factor);
    }
    return 0;
}

static const ckpt__layer_ops bn1d_ops = {.type = "BatchNorm1d",
                                         .forward = batchnorm_fwd,
                                         .call = ckpt__nn_batchnorm_call};
static const ckpt__layer_ops bn2d_ops = {.type = "BatchNorm2d",
                                         .forward = batchnorm_fwd,
                                         .call = ckpt__nn_batchnorm_call};

/* an option's value: zero = `def`, CKPT_NN_ZERO (-0.0) = 0 */
static double opt_or(double v, double def)
{
    if (v == 0.0)
        return signbit(v) ? 0.0 : def;
    return v;
}

ckpt_module *ckpt_nn_batchnorm(ckpt_module *parent, const char *name, int dims,
                               int64_t num_features, const ckpt_norm_opts *o, ckpt_error *err)
{
    const ckpt_norm_opts z = {0}, *op = o ? o : &z;
    double eps = opt_or(op->eps, 1e-5), momentum = opt_or(op->momentum, 0.1);
    bool affine = !op->no_affine, track_running_stats = !op->no_running_stats;
    if ((dims != 1 && dims != 2) || num_features <= 0 || !(eps >= 0)) {
        CKPT_FAIL(err, CKPT_E_ARG, "BatchNorm: bad arguments (dims %d, features %lld)", dims,
                  (long long)num_features);
        return NULL;
    }
    const char *type = dims == 1 ? "BatchNorm1d" : "BatchNorm2d";
    ckpt_module *m = ckpt__nn_make(parent, name, type, dims == 1 ? &bn1d_ops : &bn2d_ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    l->extra = dims, l->in = num_features, l->eps = eps, l->momentum = momentum;
    l->affine = affine, l->track = track_running_stats;
    if (affine) {
        if (fill_const(ckpt_module_param(m, "weight", CKPT_F32, 1, &num_features, err), 1.0f) ||
            !ckpt_module_param(m, "bias", CKPT_F32, 1, &num_features, err))
            return undo(parent, m);
    } else if (ckpt_module_param_none(m, "weight", err) ||
               ckpt_module_param_none(m, "bias", err)) {
        return undo(parent, m);
    }
    /* track_running_stats=False registers the buffers as None: not saved, not expected */
    if (track_running_stats) {
        if (!ckpt_module_buffer(m, "running_mean", CKPT_F32, 1, &num_features, true, err) ||
            fill_const(ckpt_module_buffer(m, "running_var", CKPT_F32, 1, &num_features, true,
                                          err),
                       1.0f) ||
            !ckpt_module_buffer(m, "num_batches_tracked", CKPT_I64, 0, NULL, true, err))
            return undo(parent, m);
    } else if (ckpt_module_buffer_none(m, "running_mean", true, err) ||
               ckpt_module_buffer_none(m, "running_var", true, err) ||
               ckpt_module_buffer_none(m, "num_batches_tracked", true, err)) {
        return undo(parent, m);
    }
    ckpt_module_set_version(m, 2);
    ckpt_module_set_attr_int(m, "num_features", num_features, NULL);
    ckpt_module_set_attr_float(m, "eps", eps, NULL);
    if (momentum >= 0) /* momentum=None: no attribute */
        ckpt_module_set_attr_float(m, "momentum", momentum, NULL);
    ckpt_module_set_attr_bool(m, "affine", affine, NULL);
    ckpt_module_set_attr_bool(m, "track_running_stats", track_running_stats, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

/* --------------------------------------------------------------- LayerNorm */

static int layernorm_fwd(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                         ckpt_error *err)
{
    (void)rng;
    nn_layer *l = ckpt__nn_state(m);
    CKPT_CHECK(in && out && in->data, err, CKPT_E_ARG, "LayerNorm forward: missing input");
    size_t nd = 0;
    const int64_t *ns = NULL;
    ckpt_module_attr_ints(m, "normalized_shape", &nd, &ns);
    CKPT_CHECK((size_t)in->ndim >= nd, err, CKPT_E_SHAPE,
               "LayerNorm: input has fewer dims than normalized_shape");
    for (size_t i = 0; i < nd; i++)
        CKPT_CHECK(in->shape[(size_t)in->ndim - nd + i] == ns[i], err, CKPT_E_SHAPE,
                   "LayerNorm: input shape does not end with normalized_shape");
    if (in != out)
        CKPT_TRY(ckpt_nn_act_resize(out, in->ndim, in->shape, err));
    int64_t d = l->extra;
    int64_t n = d ? (int64_t)(ckpt_nn_act_numel(in) / (size_t)d) : 0;
    ckpt_nn_layernorm_forward(out->data, in->data, ckpt__nn_data(m, "weight"),
                              ckpt__nn_data(m, "bias"), n, d, l->eps);
    return 0;
}

static const ckpt__layer_ops layernorm_ops = {.type = "LayerNorm",
                                              .forward = layernorm_fwd,
                                              .call = ckpt__nn_layernorm_call};

ckpt_module *ckpt_nn_layernorm(ckpt_module *parent, const char *name, int ndims,
                               const int64_t *normalized_shape, const ckpt_norm_opts *o,
                               ckpt_error *err)
{
    double eps = opt_or(o ? o->eps : 0.0, 1e-5);
    bool elementwise_affine = !(o && o->no_affine);
    int64_t d = 1;
    for (int i = 0; normalized_shape && i < ndims; i++)
        d *= normalized_shape[i];
    if (ndims < 1 || ndims > CKPT_NN_MAX_DIMS || !normalized_shape || d <= 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "LayerNorm: bad normalized_shape");
        return NULL;
    }
    ckpt_module *m = ckpt__nn_make(parent, name, "LayerNorm", &layernorm_ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    l->extra = d, l->eps = eps, l->affine = elementwise_affine;
    if (elementwise_affine) {
        if (fill_const(ckpt_module_param(m, "weight", CKPT_F32, ndims, normalized_shape, err),
                       1.0f) ||
            !ckpt_module_param(m, "bias", CKPT_F32, ndims, normalized_shape, err))
            return undo(parent, m);
    } else if (ckpt_module_param_none(m, "weight", err) ||
               ckpt_module_param_none(m, "bias", err)) {
        return undo(parent, m);
    }
    ckpt_module_set_attr_ints(m, "normalized_shape", (size_t)ndims, normalized_shape, NULL);
    ckpt_module_set_attr_float(m, "eps", eps, NULL);
    ckpt_module_set_attr_bool(m, "elementwise_affine", elementwise_affine, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

/* --------------------------------------------------------------- GroupNorm */

static int groupnorm_fwd(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                         ckpt_error *err)
{
    (void)rng;
    nn_layer *l = ckpt__nn_state(m);
    CKPT_CHECK(in && out && in->data, err, CKPT_E_ARG, "GroupNorm forward: missing input");
    CKPT_CHECK(in->ndim >= 2 && in->shape[1] == l->in, err, CKPT_E_SHAPE,
               "GroupNorm: expected input (N, %lld, *)", (long long)l->in);
    int64_t s = 1;
    for (int i = 2; i < in->ndim; i++)
        s *= in->shape[i];
    if (in != out)
        CKPT_TRY(ckpt_nn_act_resize(out, in->ndim, in->shape, err));
    ckpt_nn_groupnorm_forward(out->data, in->data, ckpt__nn_data(m, "weight"),
                              ckpt__nn_data(m, "bias"), in->shape[0], l->in, s, l->groups,
                              l->eps);
    return 0;
}

static const ckpt__layer_ops groupnorm_ops = {.type = "GroupNorm",
                                              .forward = groupnorm_fwd,
                                              .call = ckpt__nn_groupnorm_call};

ckpt_module *ckpt_nn_groupnorm(ckpt_module *parent, const char *name, int64_t num_groups,
                               int64_t num_channels, const ckpt_norm_opts *o, ckpt_error *err)
{
    double eps = opt_or(o ? o->eps : 0.0, 1e-5);
    bool affine = !(o && o->no_affine);
    if (num_groups <= 0 || num_channels <= 0 || num_channels % num_groups) {
        CKPT_FAIL(err, CKPT_E_ARG, "GroupNorm: num_channels must be divisible by num_groups");
        return NULL;
    }
    ckpt_module *m = ckpt__nn_make(parent, name, "GroupNorm", &groupnorm_ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    l->in = num_channels, l->groups = num_groups, l->eps = eps, l->affine = affine;
    if (affine) {
        if (fill_const(ckpt_module_param(m, "weight", CKPT_F32, 1, &num_channels, err), 1.0f) ||
            !ckpt_module_param(m, "bias", CKPT_F32, 1, &num_channels, err))
            return undo(parent, m);
    } else if (ckpt_module_param_none(m, "weight", err) ||
               ckpt_module_param_none(m, "bias", err)) {
        return undo(parent, m);
    }
    ckpt_module_set_attr_int(m, "num_groups", num_groups, NULL);
    ckpt_module_set_attr_int(m, "num_channels", num_channels, NULL);
    ckpt_module_set_attr_float(m, "eps", eps, NULL);
    ckpt_module_set_attr_bool(m, "affine", affine, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

/* --------------------------------------------------------------- Embedding */

static const ckpt__layer_ops embedding_ops = {.type = "Embedding",
                                              .forward = NULL,
                                              .call = ckpt__nn_embedding_call};

ckpt_module *ckpt_nn_embedding(ckpt_module *parent, const char *name, int64_t num_embeddings,
                               int64_t embedding_dim, const ckpt_embedding_opts *o, ckpt_rng *rng,
                               ckpt_error *err)
{
    /* padding_idx: -1 internally for None; a negative index counts from the end */
    int64_t padding_idx = o && o->has_padding_idx ? o->padding_idx : -1;
    if (o && o->has_padding_idx && padding_idx < 0)
        padding_idx = padding_idx >= -num_embeddings ? padding_idx + num_embeddings
                                                     : num_embeddings;
    if (num_embeddings <= 0 || embedding_dim <= 0 || padding_idx >= num_embeddings) {
        CKPT_FAIL(err, CKPT_E_ARG, "Embedding: bad arguments (%lld, %lld, padding_idx %lld)",
                  (long long)num_embeddings, (long long)embedding_dim, (long long)padding_idx);
        return NULL;
    }
    ckpt_module *m = ckpt__nn_make(parent, name, "Embedding", &embedding_ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    l->in = num_embeddings, l->out = embedding_dim;
    int64_t shape[2] = {num_embeddings, embedding_dim};
    ckpt_slot *s = ckpt_module_param(m, "weight", CKPT_F32, 2, shape, err);
    if (!s)
        return undo(parent, m);
    float *w = s->data;
    if (rng) {
        for (int64_t i = 0; i < num_embeddings * embedding_dim; i++)
            w[i] = (float)ckpt_rng_normal(rng);
    }
    if (padding_idx >= 0)
        memset(w + padding_idx * embedding_dim, 0, (size_t)embedding_dim * sizeof(float));
    ckpt_module_set_attr_int(m, "num_embeddings", num_embeddings, NULL);
    ckpt_module_set_attr_int(m, "embedding_dim", embedding_dim, NULL);
    if (padding_idx >= 0)
        ckpt_module_set_attr_int(m, "padding_idx", padding_idx, NULL);
    ckpt_module_set_attr_float(m, "norm_type", 2.0, NULL);
    ckpt_module_set_attr_bool(m, "scale_grad_by_freq", false, NULL);
    ckpt_module_set_attr_bool(m, "sparse", false, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

int ckpt_nn_embedding_forward(ckpt_module *m, const int64_t *idx, int idx_ndim,
                              const int64_t *idx_shape, ckpt_nn_act *out, ckpt_error *err)
{
    CKPT_CHECK(m && m->ops == &embedding_ops && out && (idx || idx_ndim >= 0), err, CKPT_E_ARG,
               "embedding forward: not an Embedding or missing arguments");
    nn_layer *l = ckpt__nn_state(m);
    CKPT_CHECK(idx_ndim >= 0 && idx_ndim < CKPT_NN_MAX_DIMS && (idx_ndim == 0 || idx_shape), err,
               CKPT_E_ARG, "embedding forward: bad index shape");
    int64_t shape[CKPT_NN_MAX_DIMS];
    int64_t n = 1;
    for (int i = 0; i < idx_ndim; i++) {
        shape[i] = idx_shape[i];
        n *= idx_shape[i];
    }
    int nd = idx_ndim;
    if (nd == 0) { /* plain list of n indices: idx_shape[0] when given, else 1 */
        n = idx_shape ? idx_shape[0] : 1;
        shape[0] = n;
        nd = 1;
    }
    shape[nd] = l->out;
    CKPT_TRY(ckpt_nn_act_resize(out, nd + 1, shape, err));
    const float *w = ckpt__nn_data(m, "weight");
    CKPT_CHECK(w, err, CKPT_E_ARG, "Embedding: weight is missing or not float32");
    if (ckpt_nn_embedding_forward_raw(out->data, w, idx, n, l->in, l->out) != 0)
        return CKPT_FAIL(err, CKPT_E_ARG, "Embedding: index out of range [0, %lld)",
                         (long long)l->in);
    return 0;
}

/* ----------------------------------------------------------------- Dropout */

static int dropout_fwd(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                       ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    CKPT_CHECK(in && out && in->data, err, CKPT_E_ARG, "Dropout forward: missing input");
    if (in != out)
        CKPT_TRY(ckpt_nn_act_resize(out, in->ndim, in->shape, err));
    ckpt_nn_dropout_forward(out->data, in->data, ckpt_nn_act_numel(in), l->p,
                            ckpt_module_training(m) ? rng : NULL);
    return 0;
}

static const ckpt__layer_ops dropout_ops = {.type = "Dropout",
                                            .forward = dropout_fwd,
                                            .call = ckpt__nn_dropout_call};

ckpt_module *ckpt_nn_dropout(ckpt_module *parent, const char *name, double p, ckpt_error *err)
{
    if (!(p >= 0.0 && p <= 1.0)) {
        CKPT_FAIL(err, CKPT_E_ARG, "Dropout: p must be in [0, 1], got %g", p);
        return NULL;
    }
    ckpt_module *m = ckpt__nn_make(parent, name, "Dropout", &dropout_ops, err);
    if (!m)
        return NULL;
    ckpt__nn_state(m)->p = p;
    ckpt_module_set_attr_float(m, "p", p, NULL);
    ckpt_module_set_attr_bool(m, "inplace", false, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

/* ------------------------------------------------------------- activations */

void ckpt__nn_act_apply(int kind, float *out, const float *in, size_t n, int64_t outer, int64_t d,
                        int64_t inner)
{
    switch (kind) {
    case CKPT_ACT_RELU: ckpt_nn_relu_forward(out, in, n); break;
    case CKPT_ACT_GELU: ckpt_nn_gelu_forward(out, in, n); break;
    case CKPT_ACT_GELU_TANH: ckpt_nn_gelu_tanh_forward(out, in, n); break;
    case CKPT_ACT_SILU: ckpt_nn_silu_forward(out, in, n); break;
    case CKPT_ACT_TANH: ckpt_nn_tanh_forward(out, in, n); break;
    case CKPT_ACT_SIGMOID: ckpt_nn_sigmoid_forward(out, in, n); break;
    case CKPT_ACT_SOFTMAX: ckpt_nn_softmax_forward(out, in, outer, d, inner); break;
    case CKPT_ACT_LOGSOFTMAX: ckpt_nn_logsoftmax_forward(out, in, outer, d, inner); break;
    default:
        if (out != in)
            memmove(out, in, n * sizeof(float));
        break;
    }
}

static int activation_fwd(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                          ckpt_error *err)
{
    (void)rng;
    nn_layer *l = ckpt__nn_state(m);
    CKPT_CHECK(in && out && in->data, err, CKPT_E_ARG, "%s forward: missing input",
               ckpt_module_type(m));
    int64_t outer = 1, d = 1, inner = 1;
    if (l->act == CKPT_ACT_SOFTMAX || l->act == CKPT_ACT_LOGSOFTMAX) {
        int dim = l->dim < 0 ? l->dim + (in->ndim ? in->ndim : 1) : l->dim;
        CKPT_CHECK(dim >= 0 && dim < (in->ndim ? in->ndim : 1), err, CKPT_E_SHAPE,
                   "%s: dim %d out of range for a %dD input", ckpt_module_type(m), l->dim,
                   in->ndim);
        for (int i = 0; i < in->ndim; i++) {
            if (i < dim)
                outer *= in->shape[i];
            else if (i == dim)
                d = in->shape[i];
            else
                inner *= in->shape[i];
        }
    }
    if (in != out)
        CKPT_TRY(ckpt_nn_act_resize(out, in->ndim, in->shape, err));
    ckpt__nn_act_apply(l->act, out->data, in->data, ckpt_nn_act_numel(in), outer, d, inner);
    return 0;
}

static const ckpt__layer_ops act_ops[] = {
    {.type = "ReLU", .forward = activation_fwd, .call = ckpt__nn_activation_call},
    {.type = "GELU", .forward = activation_fwd, .call = ckpt__nn_activation_call},
    {.type = "GELU", .forward = activation_fwd, .call = ckpt__nn_activation_call},
    {.type = "SiLU", .forward = activation_fwd, .call = ckpt__nn_activation_call},
    {.type = "Tanh", .forward = activation_fwd, .call = ckpt__nn_activation_call},
    {.type = "Sigmoid", .forward = activation_fwd, .call = ckpt__nn_activation_call},
    {.type = "Softmax", .forward = activation_fwd, .call = ckpt__nn_activation_call},
    {.type = "LogSoftmax", .forward = activation_fwd, .call = ckpt__nn_activation_call},
    {.type = "Identity", .forward = activation_fwd, .call = ckpt__nn_activation_call},
};

ckpt_module *ckpt_nn_activation(ckpt_module *parent, const char *name, ckpt_act_kind kind,
                                int dim, ckpt_error *err)
{
    if ((int)kind < CKPT_ACT_RELU || (int)kind > CKPT_ACT_IDENTITY) {
        CKPT_FAIL(err, CKPT_E_ARG, "activation: unknown kind %d", (int)kind);
        return NULL;
    }
    const ckpt__layer_ops *ops = &act_ops[kind];
    ckpt_module *m = ckpt__nn_make(parent, name, ops->type, ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    l->act = (int)kind, l->dim = dim;
    if (kind == CKPT_ACT_SOFTMAX || kind == CKPT_ACT_LOGSOFTMAX)
        ckpt_module_set_attr_int(m, "dim", dim, NULL);
    else if (kind == CKPT_ACT_GELU || kind == CKPT_ACT_GELU_TANH)
        ckpt_module_set_attr_str(m, "approximate", kind == CKPT_ACT_GELU ? "none" : "tanh", NULL);
    else if (kind == CKPT_ACT_RELU || kind == CKPT_ACT_SILU)
        ckpt_module_set_attr_bool(m, "inplace", false, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

/* ----------------------------------------------------------------- pooling */

/* the kernel geometry of a MaxPool2d / AvgPool2d over planes (BC,H,W) */
static ckpt_nn_pool2d_dims pool_dims(const nn_layer *l, int64_t bc, int64_t h, int64_t w)
{
    const ckpt_pool_opts *o = &l->pool;
    ckpt_nn_pool2d_dims d = {.bc = bc,
                             .h = h,
                             .w = w,
                             .kh = o->kernel[0],
                             .kw = o->kernel[1],
                             .sh = o->stride[0],
                             .sw = o->stride[1],
                             .ph = o->padding[0],
                             .pw = o->padding[1],
                             .dh = o->dilation[0],
                             .dw = o->dilation[1],
                             .ceil_mode = o->ceil_mode,
                             .exclude_pad = o->exclude_pad,
                             .divisor = o->divisor_override};
    return d;
}

static int pool_fwd(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                    ckpt_error *err)
{
    (void)rng;
    nn_layer *l = ckpt__nn_state(m);
    const char *type = ckpt_module_type(m);
    CKPT_TRY(ckpt__nn_no_alias(in, out, type, err));
    CKPT_CHECK(in->ndim == 3 || in->ndim == 4, err, CKPT_E_SHAPE,
               "%s: expected a 3D or 4D input, got %dD", type, in->ndim);
    const int64_t h = in->shape[in->ndim - 2], w = in->shape[in->ndim - 1];
    const int64_t bc = (int64_t)(ckpt_nn_act_numel(in) / (size_t)(h * w > 0 ? h * w : 1));
    ckpt_nn_pool2d_dims d = pool_dims(l, bc, h, w);
    if (l->act == 2) { /* adaptive */
        d.oh = l->p2, d.ow = l->p3;
    } else {
        CKPT_CHECK(ckpt_nn_pool2d_out_size(&d), err, CKPT_E_SHAPE,
                   "%s: input (%lld x %lld) smaller than the kernel", type, (long long)h,
                   (long long)w);
    }
    int64_t shape[CKPT_NN_MAX_DIMS];
    memcpy(shape, in->shape, sizeof(shape));
    shape[in->ndim - 2] = d.oh;
    shape[in->ndim - 1] = d.ow;
    CKPT_TRY(ckpt_nn_act_resize(out, in->ndim, shape, err));
    if (l->act == 0)
        ckpt_nn_maxpool2d_forward_d(out->data, in->data, &d);
    else if (l->act == 1)
        ckpt_nn_avgpool2d_forward_d(out->data, in->data, &d);
    else
        ckpt_nn_adaptive_avgpool2d_forward(out->data, in->data, bc, h, w, d.oh, d.ow);
    return 0;
}

static const ckpt__layer_ops maxpool_ops = {.type = "MaxPool2d",
                                            .forward = pool_fwd,
                                            .call = ckpt__nn_pool_call};
static const ckpt__layer_ops avgpool_ops = {.type = "AvgPool2d",
                                            .forward = pool_fwd,
                                            .call = ckpt__nn_pool_call};
static const ckpt__layer_ops adaptive_ops = {.type = "AdaptiveAvgPool2d",
                                             .forward = pool_fwd,
                                             .call = ckpt__nn_pool_call};

/* an int attribute when both entries agree (torch's int argument), else a pair */
static void set_pair(ckpt_module *m, const char *name, const int64_t *v, bool as_int)
{
    if (as_int && v[0] == v[1])
        ckpt_module_set_attr_int(m, name, v[0], NULL);
    else
        ckpt_module_set_attr_ints(m, name, 2, v, NULL);
}

static ckpt_module *pool_make(ckpt_module *parent, const char *name, int kind,
                              const ckpt_pool_opts *opts, bool as_int, ckpt_error *err)
{
    const ckpt__layer_ops *ops = kind == 0 ? &maxpool_ops : &avgpool_ops;
    if (!opts) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: options are NULL", ops->type);
        return NULL;
    }
    ckpt_pool_opts o = *opts;
    bool bad = false;
    for (int i = 0; i < 2; i++) {
        if (o.stride[i] <= 0)
            o.stride[i] = o.kernel[i]; /* stride=None */
        if (o.dilation[i] <= 0 || kind == 1)
            o.dilation[i] = 1;
        bad = bad || o.kernel[i] <= 0 || o.padding[i] < 0 || o.padding[i] > o.kernel[i] / 2 ||
              opts->dilation[i] < 0;
    }
    if (kind == 0) {
        o.exclude_pad = false;
        o.divisor_override = 0;
    }
    if (bad || o.divisor_override < 0) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "%s: bad arguments (kernel (%lld, %lld), padding (%lld, %lld); padding should "
                  "be at most half of kernel size)",
                  ops->type, (long long)o.kernel[0], (long long)o.kernel[1],
                  (long long)o.padding[0], (long long)o.padding[1]);
        return NULL;
    }
    ckpt_module *m = ckpt__nn_make(parent, name, ops->type, ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    l->act = kind, l->pool = o;
    l->extra = o.kernel[0], l->p2 = o.stride[0], l->p3 = o.padding[0];
    set_pair(m, "kernel_size", o.kernel, as_int);
    set_pair(m, "stride", o.stride, as_int);
    set_pair(m, "padding", o.padding, as_int);
    ckpt_module_set_attr_bool(m, "ceil_mode", o.ceil_mode, NULL);
    if (kind == 0) {
        set_pair(m, "dilation", o.dilation, as_int);
        ckpt_module_set_attr_bool(m, "return_indices", false, NULL);
    } else {
        ckpt_module_set_attr_bool(m, "count_include_pad", !o.exclude_pad, NULL);
        if (o.divisor_override) /* None: no attribute */
            ckpt_module_set_attr_int(m, "divisor_override", o.divisor_override, NULL);
    }
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

ckpt_module *ckpt_nn_maxpool2d(ckpt_module *parent, const char *name, const ckpt_pool_opts *o,
                               ckpt_error *err)
{
    return pool_make(parent, name, 0, o, true, err);
}

ckpt_module *ckpt_nn_avgpool2d(ckpt_module *parent, const char *name, const ckpt_pool_opts *o,
                               ckpt_error *err)
{
    return pool_make(parent, name, 1, o, true, err);
}

ckpt_module *ckpt_nn_adaptive_avgpool2d(ckpt_module *parent, const char *name, int64_t out_h,
                                        int64_t out_w, ckpt_error *err)
{
    if (out_h <= 0 || out_w <= 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "AdaptiveAvgPool2d: bad output size");
        return NULL;
    }
    ckpt_module *m = ckpt__nn_make(parent, name, "AdaptiveAvgPool2d", &adaptive_ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    l->act = 2, l->p2 = out_h, l->p3 = out_w;
    SET_INTS(m, "output_size", out_h, out_w);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

/* ----------------------------------------------------------------- Flatten */

static int flatten_fwd(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                       ckpt_error *err)
{
    (void)rng;
    nn_layer *l = ckpt__nn_state(m);
    CKPT_CHECK(in && out && in->data, err, CKPT_E_ARG, "Flatten forward: missing input");
    int nd = in->ndim ? in->ndim : 1;
    int s = (int)(l->p2 < 0 ? l->p2 + nd : l->p2), e = (int)(l->p3 < 0 ? l->p3 + nd : l->p3);
    CKPT_CHECK(s >= 0 && e < nd && s <= e, err, CKPT_E_SHAPE,
               "Flatten: dims (%lld, %lld) out of range for a %dD input", (long long)l->p2,
               (long long)l->p3, in->ndim);
    int64_t shape[CKPT_NN_MAX_DIMS];
    int k = 0;
    for (int i = 0; i < in->ndim; i++) {
        if (i <= s || i > e)
            shape[k++] = in->shape[i];
        else
            shape[k - 1] *= in->shape[i];
    }
    if (in->ndim == 0)
        shape[k++] = 1;
    if (in == out) {
        out->ndim = k;
        memcpy(out->shape, shape, (size_t)k * sizeof(int64_t));
        return 0;
    }
    CKPT_TRY(ckpt_nn_act_resize(out, k, shape, err));
    memcpy(out->data, in->data, ckpt_nn_act_numel(in) * sizeof(float));
    return 0;
}

static const ckpt__layer_ops flatten_ops = {.type = "Flatten",
                                            .forward = flatten_fwd,
                                            .call = ckpt__nn_flatten_call};

ckpt_module *ckpt_nn_flatten(ckpt_module *parent, const char *name, int start_dim, int end_dim,
                             ckpt_error *err)
{
    ckpt_module *m = ckpt__nn_make(parent, name, "Flatten", &flatten_ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    l->p2 = start_dim, l->p3 = end_dim;
    ckpt_module_set_attr_int(m, "start_dim", start_dim, NULL);
    ckpt_module_set_attr_int(m, "end_dim", end_dim, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

/* -------------------------------------------------------------- containers */

static int sequential_fwd(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                          ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    size_t n = ckpt_module_child_count(m);
    CKPT_CHECK(in && out && in->data, err, CKPT_E_ARG, "Sequential forward: missing input");
    if (n == 0) {
        if (in != out) {
            CKPT_TRY(ckpt_nn_act_resize(out, in->ndim, in->shape, err));
            memcpy(out->data, in->data, ckpt_nn_act_numel(in) * sizeof(float));
        }
        return 0;
    }
    const ckpt_nn_act *cur = in;
    for (size_t i = 0; i < n; i++) {
        ckpt_nn_act *dst = i + 1 == n ? out : &l->ws[i % 2];
        if (dst == cur) /* `out` aliases the input: go through scratch */
            dst = &l->ws[2];
        ckpt_module *c = ckpt_module_child(m, i);
        int rc = ckpt_nn_forward(c, cur, dst, rng, err);
        if (rc != 0) {
            ckpt__error_prefix_key(err, ckpt_module_name(c));
            return rc;
        }
        cur = dst;
    }
    if (cur != out) {
        CKPT_TRY(ckpt_nn_act_resize(out, cur->ndim, cur->shape, err));
        memcpy(out->data, cur->data, ckpt_nn_act_numel(cur) * sizeof(float));
    }
    return 0;
}

static const ckpt__layer_ops sequential_ops = {.type = "Sequential", .forward = sequential_fwd};
static const ckpt__layer_ops module_list_ops = {.type = "ModuleList", .forward = NULL};
static const ckpt__layer_ops module_dict_ops = {.type = "ModuleDict", .forward = NULL};

ckpt_module *ckpt_nn_sequential(ckpt_module *parent, const char *name, ckpt_error *err)
{
    return ckpt__nn_make(parent, name, "Sequential", &sequential_ops, err);
}

ckpt_module *ckpt_nn_module_list(ckpt_module *parent, const char *name, ckpt_error *err)
{
    return ckpt__nn_make(parent, name, "ModuleList", &module_list_ops, err);
}

ckpt_module *ckpt_nn_module_dict(ckpt_module *parent, const char *name, ckpt_error *err)
{
    return ckpt__nn_make(parent, name, "ModuleDict", &module_dict_ops, err);
}

/* ----------------------------------------------------------------- forward */

int ckpt_nn_forward(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                    ckpt_error *err)
{
    CKPT_CHECK(m && in && out, err, CKPT_E_ARG, "forward: NULL module or activation");
    CKPT_CHECK(m->ops && m->ops->forward, err, CKPT_E_UNSUPPORTED,
               "forward: module of type %s has no forward here%s", ckpt_module_type(m),
               m->ops == &embedding_ops ? " (use ckpt_nn_embedding_forward)" : "");
    return m->ops->forward(m, in, out, rng, err);
}
