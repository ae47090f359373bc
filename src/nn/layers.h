/* src/nn/layers.h - what the layer files share: per-layer state, the
 * constructor helpers and the forward helpers. */
#ifndef CKPT_NN_LAYERS_H
#define CKPT_NN_LAYERS_H

#include "nn/nn_internal.h"

/* Per-layer configuration and scratch (module->layer).  Only the fields a
 * layer type uses are meaningful.  Scratch activations grow on first use and
 * are reused by later calls (freed with the module). */
typedef struct nn_layer {
    int64_t in, out; /* features / channels */
    int64_t kh, kw, sh, sw, ph, pw, dh, dw, oph, opw, groups;
    int64_t extra;  /* BatchNorm dims, LayerNorm D, pool kernel, heads ... */
    int64_t p2, p3; /* pool stride/padding, adaptive out size, flatten dims */
    double eps, momentum, p;
    int act, dim;
    bool bias, affine, track, batch_first, norm_first;
    ckpt_pool_opts pool;    /* MaxPool2d / AvgPool2d: every option, torch's defaults filled in */
    int pad_kind, pad_mode; /* Conv: ckpt_conv_padding, ckpt_padding_mode */
    ckpt_nn_act ws[4];
    const ckpt_alloc *a; /* the module's allocator: this struct and ws[] come from it */
} nn_layer;

/* parent ? ckpt_module_add : ckpt_module_new, then attach fresh state. */
ckpt_module *ckpt__nn_make(ckpt_module *parent, const char *name, const char *type,
                           const ckpt__layer_ops *ops, ckpt_error *err);
nn_layer *ckpt__nn_state(const ckpt_module *m);
/* A constructor's last step: `m`, or NULL with CKPT_E_NOMEM (a half-built
 * root freed, a child removed) when setting one of its attributes ran out of
 * memory. */
ckpt_module *ckpt__nn_done(ckpt_module *parent, ckpt_module *m, ckpt_error *err);
/* float32 parameter/buffer data by local name; NULL when absent or None. */
float *ckpt__nn_data(const ckpt_module *m, const char *name);
/* U(-bound, bound) fill. */
void ckpt__nn_uniform(float *p, size_t n, double bound, ckpt_rng *rng);
/* A float32 parameter filled by U(-bound, bound) (rng) or zeros. */
float *ckpt__nn_param_uniform(ckpt_module *m, const char *name, int ndim, const int64_t *shape,
                              double bound, ckpt_rng *rng, ckpt_error *err);
/* Run one activation kind in place over n floats, or over (outer,d,inner) for softmax. */
void ckpt__nn_act_apply(int kind, float *out, const float *in, size_t n, int64_t outer, int64_t d,
                        int64_t inner);
int ckpt__nn_linear_rows(ckpt_module *lin, const float *in, float *out, int64_t rows,
                         ckpt_error *err);
/* Linear typed "NonDynamicallyQuantizableLinear" (MultiheadAttention.out_proj). */
ckpt_module *ckpt__nn_ndq_linear(ckpt_module *parent, const char *name, int64_t in_f,
                                 int64_t out_f, bool bias, ckpt_rng *rng, ckpt_error *err);
/* Fails when in and out are the same activation (non element-wise layers). */
int ckpt__nn_no_alias(const ckpt_nn_act *in, const ckpt_nn_act *out, const char *what,
                      ckpt_error *err);

/* Tape forwards of the built-in layers (layer_call.c): ckpt__layer_ops.call. */
ckpt_var *ckpt__nn_linear_call(ckpt_module *m, ckpt_var *x, ckpt_error *err);
ckpt_var *ckpt__nn_conv_call(ckpt_module *m, ckpt_var *x, ckpt_error *err); /* 1d, 2d, T2d */
ckpt_var *ckpt__nn_batchnorm_call(ckpt_module *m, ckpt_var *x, ckpt_error *err);
ckpt_var *ckpt__nn_layernorm_call(ckpt_module *m, ckpt_var *x, ckpt_error *err);
ckpt_var *ckpt__nn_groupnorm_call(ckpt_module *m, ckpt_var *x, ckpt_error *err);
ckpt_var *ckpt__nn_embedding_call(ckpt_module *m, ckpt_var *x, ckpt_error *err);
ckpt_var *ckpt__nn_dropout_call(ckpt_module *m, ckpt_var *x, ckpt_error *err);
ckpt_var *ckpt__nn_activation_call(ckpt_module *m, ckpt_var *x, ckpt_error *err);
ckpt_var *ckpt__nn_pool_call(ckpt_module *m, ckpt_var *x, ckpt_error *err); /* max/avg/adaptive */
ckpt_var *ckpt__nn_flatten_call(ckpt_module *m, ckpt_var *x, ckpt_error *err);
/* MultiheadAttention constructor with a dropout on the weights (layers_attn.c). */
/* ckpt_transformer_opts with torch's defaults filled in (zero fields). */
void ckpt__nn_transformer_opts(const ckpt_transformer_opts *o, ckpt_transformer_opts *n);
ckpt_module *ckpt__nn_mha_make(ckpt_module *parent, const char *name, int64_t e, int64_t heads,
                               double dropout, bool bias, bool batch_first, ckpt_rng *rng,
                               ckpt_error *err);
/* Tape forwards (layers_attn_tape.c) of MultiheadAttention (self-attention)
 * and TransformerEncoderLayer, without masks: their ckpt__layer_ops.call. */
ckpt_var *ckpt__mha_call1(ckpt_module *m, ckpt_var *x, ckpt_error *err);
ckpt_var *ckpt__encoder_call1(ckpt_module *m, ckpt_var *x, ckpt_error *err);

#endif
