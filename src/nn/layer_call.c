/* src/nn/layer_call.c - the tape forward (ckpt__layer_ops.call, reached
 * through ckpt_module_call) of every built-in layer but the attention
 * ones: each takes its parameters with ckpt_module_var and runs the
 * functional op of ckpt/autograd.h in the module's train/eval mode. */
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "nn/layers.h"
#include "ops/backward.h"

/* the parameter `name` of m on x's tape, or NULL (with *fail set) */
static ckpt_var *param(ckpt_module *m, const char *name, ckpt_var *x, bool *fail, ckpt_error *err)
{
    ckpt_var *v = ckpt_module_var(m, name, x->tape, err);
    if (!v)
        *fail = true;
    return v;
}

/* the parameter when the module has it (not None), else NULL */
static ckpt_var *opt_param(ckpt_module *m, const char *name, ckpt_var *x, bool *fail,
                           ckpt_error *err)
{
    if (!ckpt__nn_data(m, name))
        return NULL;
    return param(m, name, x, fail, err);
}

static int input_f32(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    if (ckpt_var_dtype(x) != CKPT_F32)
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: expected a float32 input", ckpt_module_type(m));
    return 0;
}

ckpt_var *ckpt__nn_linear_call(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    bool fail = false;
    if (input_f32(m, x, err))
        return NULL;
    ckpt_var *w = param(m, "weight", x, &fail, err);
    ckpt_var *b = fail ? NULL : opt_param(m, "bias", x, &fail, err);
    return fail ? NULL : ckpt_f_linear(x, w, b, err);
}

ckpt_var *ckpt__nn_conv_call(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    bool fail = false;
    if (input_f32(m, x, err))
        return NULL;
    ckpt_var *w = param(m, "weight", x, &fail, err);
    ckpt_var *b = fail ? NULL : opt_param(m, "bias", x, &fail, err);
    if (fail)
        return NULL;
    ckpt_conv_opts o = {0};
    o.groups = l->groups;
    o.padding_kind = (ckpt_conv_padding)l->pad_kind;
    o.padding_mode = (ckpt_padding_mode)l->pad_mode;
    if (l->extra == 1) {
        o.stride[0] = l->sw, o.padding[0] = l->pw, o.dilation[0] = l->dw;
        return ckpt_f_conv1d(x, w, b, &o, err);
    }
    o.stride[0] = l->sh, o.stride[1] = l->sw, o.padding[0] = l->ph, o.padding[1] = l->pw;
    o.dilation[0] = l->dh, o.dilation[1] = l->dw;
    if (l->extra == 3) {
        o.output_padding[0] = l->oph, o.output_padding[1] = l->opw;
        return ckpt_f_conv_transpose2d(x, w, b, &o, err);
    }
    return ckpt_f_conv2d(x, w, b, &o, err);
}

ckpt_var *ckpt__nn_batchnorm_call(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    const char *type = ckpt_module_type(m);
    bool fail = false;
    if (input_f32(m, x, err))
        return NULL;
    int nd = ckpt_var_ndim(x);
    if (l->extra == 1 ? (nd != 2 && nd != 3) : nd != 4) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: expected %s input (got %dD input)", type,
                  l->extra == 1 ? "2D or 3D" : "4D", nd);
        return NULL;
    }
    if (ckpt_var_dim(x, 1) != l->in) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: input has %lld channels, expected %lld", type,
                  (long long)ckpt_var_dim(x, 1), (long long)l->in);
        return NULL;
    }
    ckpt_var *w = opt_param(m, "weight", x, &fail, err);
    ckpt_var *b = fail ? NULL : opt_param(m, "bias", x, &fail, err);
    if (fail)
        return NULL;
    float *rm = ckpt__nn_data(m, "running_mean"), *rv = ckpt__nn_data(m, "running_var");
    int64_t *nbt = NULL;
    ckpt_slot *s = ckpt_module_slot(m, "num_batches_tracked");
    if (s && s->data && s->dtype == CKPT_I64)
        nbt = s->data;
    const bool track = l->track && rm && rv;
    return ckpt_f_batch_norm(x, track ? rm : NULL, track ? rv : NULL, track ? nbt : NULL, w, b,
                             ckpt_module_training(m), l->momentum, l->eps, err);
}

ckpt_var *ckpt__nn_layernorm_call(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    bool fail = false;
    if (input_f32(m, x, err))
        return NULL;
    size_t nd = 0;
    const int64_t *ns = NULL;
    ckpt_module_attr_ints(m, "normalized_shape", &nd, &ns);
    bool ok = nd >= 1 && (size_t)ckpt_var_ndim(x) >= nd;
    for (size_t i = 0; ok && i < nd; i++)
        ok = ckpt_var_dim(x, (int)i - (int)nd) == ns[i];
    if (!ok) {
        char s1[96];
        CKPT_FAIL(err, CKPT_E_SHAPE, "LayerNorm: input %s does not end with normalized_shape",
                  ckpt__shape_str(x, s1, sizeof s1));
        return NULL;
    }
    ckpt_var *w = opt_param(m, "weight", x, &fail, err);
    ckpt_var *b = fail ? NULL : opt_param(m, "bias", x, &fail, err);
    return fail ? NULL : ckpt_f_layer_norm(x, (int)nd, w, b, l->eps, err);
}

ckpt_var *ckpt__nn_groupnorm_call(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    bool fail = false;
    if (input_f32(m, x, err))
        return NULL;
    if (ckpt_var_ndim(x) < 2 || ckpt_var_dim(x, 1) != l->in) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "GroupNorm: expected input (N, %lld, *)", (long long)l->in);
        return NULL;
    }
    ckpt_var *w = opt_param(m, "weight", x, &fail, err);
    ckpt_var *b = fail ? NULL : opt_param(m, "bias", x, &fail, err);
    return fail ? NULL : ckpt_f_group_norm(x, l->groups, w, b, l->eps, err);
}

ckpt_var *ckpt__nn_embedding_call(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    bool fail = false;
    if (ckpt_var_dtype(x) != CKPT_I64) {
        CKPT_FAIL(err, CKPT_E_ARG, "Embedding: expected an int64 index input (ckpt_tape_index)");
        return NULL;
    }
    ckpt_var *w = param(m, "weight", x, &fail, err);
    if (fail)
        return NULL;
    int64_t pad = -1;
    if (!ckpt_module_attr_int(m, "padding_idx", &pad))
        pad = -1;
    return ckpt_f_embedding(x, w, pad, err);
}

ckpt_var *ckpt__nn_dropout_call(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    if (input_f32(m, x, err))
        return NULL;
    return ckpt_f_dropout(x, ckpt__nn_state(m)->p, ckpt_module_training(m), err);
}

ckpt_var *ckpt__nn_activation_call(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    if (input_f32(m, x, err))
        return NULL;
    switch (l->act) {
    case CKPT_ACT_RELU: return ckpt_f_relu(x, err);
    case CKPT_ACT_GELU: return ckpt_f_gelu(x, false, err);
    case CKPT_ACT_GELU_TANH: return ckpt_f_gelu(x, true, err);
    case CKPT_ACT_SILU: return ckpt_f_silu(x, err);
    case CKPT_ACT_TANH: return ckpt_f_tanh(x, err);
    case CKPT_ACT_SIGMOID: return ckpt_f_sigmoid(x, err);
    case CKPT_ACT_SOFTMAX: return ckpt_f_softmax(x, l->dim, err);
    case CKPT_ACT_LOGSOFTMAX: return ckpt_f_log_softmax(x, l->dim, err);
    default: return x; /* Identity */
    }
}

ckpt_var *ckpt__nn_pool_call(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    if (input_f32(m, x, err))
        return NULL;
    if (l->act == 2)
        return ckpt_f_adaptive_avg_pool2d(x, l->p2, l->p3, err);
    if (l->act == 0)
        return ckpt_f_max_pool2d(x, &l->pool, err);
    return ckpt_f_avg_pool2d(x, &l->pool, err);
}

/* Flatten: torch.flatten(x, start_dim, end_dim), a view */
ckpt_var *ckpt__nn_flatten_call(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    return ckpt_f_flatten(x, (int)l->p2, (int)l->p3, err);
}
