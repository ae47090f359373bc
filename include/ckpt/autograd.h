/*
 * ckpt/autograd.h - reverse-mode automatic differentiation: a tape that
 * records the operations a forward pass runs, and ckpt_backward() that walks
 * it in reverse, as torch.autograd does for eager code.
 *
 * The model.
 *  - A ckpt_tape owns every tensor a step creates (inputs, intermediates,
 *    their gradients) in an arena.  ckpt_tape_reset() ends the step: every
 *    ckpt_var of the tape becomes invalid and the memory is kept for the next
 *    step, so a training loop with fixed shapes allocates nothing after its
 *    first step.
 *  - A ckpt_var is a contiguous row-major tensor on a tape: float32 (values
 *    and, when it requires grad, a gradient) or int64 (indices, class
 *    targets; never differentiable).  Views (reshape, view, flatten) share
 *    the data of their input; every other op writes a new tensor.
 *  - Parameters of a module enter the tape through ckpt_module_var() (see
 *    ckpt/nn.h): the var borrows the parameter's memory and its gradient
 *    accumulates into the parameter's `grad` buffer, which the module
 *    allocates on first use (torch's `param.grad`, None until a backward).
 *  - Every differentiable op records a node only when grad mode is on and an
 *    input requires grad (torch's rule).  With grad mode off (torch.no_grad,
 *    ckpt_tape_set_grad_enabled(t, false)) nothing is recorded and nothing
 *    is saved for backward.
 *  - ckpt_backward(loss) runs once per recorded graph (retain_graph=False);
 *    a second call fails with CKPT_E_ARG.  Leaf gradients accumulate
 *    across backward calls until zeroed, as in torch.
 *
 * Functional ops (ckpt_f_*) follow torch.nn.functional / torch.* semantics
 * and names; they take their tape from their inputs (all inputs of one op
 * must share a tape), return a new var or NULL with `err` set (CKPT_E_ARG,
 * CKPT_E_SHAPE naming the op and the shapes, CKPT_E_NOMEM).  `err` may be
 * NULL.  Dims may be negative (counted from the end), as in torch.
 *
 * Thread-safety: a tape and its vars belong to one thread at a time.
 */
#ifndef CKPT_AUTOGRAD_H
#define CKPT_AUTOGRAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/alloc.h"
#include "ckpt/core.h"
#include "ckpt/error.h"
#include "ckpt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ckpt_tape ckpt_tape;
typedef struct ckpt_var ckpt_var;
struct ckpt_rng;
struct ckpt_conv_opts;

/* Most dims a var may have (torch allows more; ckpt's layers need <= 6). */
#define CKPT_VAR_MAX_DIMS 8

/* ------------------------------------------------------------------ tape */

/* A new tape; `a` NULL means libc.  Everything the tape holds (the tape
 * itself, its arena chunks: vars, their data and gradients, recorded nodes,
 * saved tensors, op scratch) comes from `a`; a step whose arena is too small
 * fails with CKPT_E_NOMEM and the tape stays usable (reset it).  Parameter
 * gradients are not the tape's: they come from the module tree's allocator
 * (ckpt_module_new_alloc in ckpt/nn.h), even on a libc tape.  Grad mode
 * starts on; the tape's generator (dropout masks) is seeded with 0. */
CKPT_API ckpt_tape *ckpt_tape_new(const ckpt_alloc *a, ckpt_error *err);
/* Free the tape and every var on it.  NULL is fine. */
CKPT_API void ckpt_tape_free(ckpt_tape *t);
/* End a step: forget every var and recorded node, keep the memory. */
CKPT_API void ckpt_tape_reset(ckpt_tape *t);
/* torch.set_grad_enabled: returns the previous mode. */
CKPT_API bool ckpt_tape_set_grad_enabled(ckpt_tape *t, bool enabled);
CKPT_API bool ckpt_tape_grad_enabled(const ckpt_tape *t);
/* The generator dropout draws from (owned by the tape; seed it with
 * ckpt_rng_seed).  Streams are ckpt's own, not torch's. */
CKPT_API struct ckpt_rng *ckpt_tape_rng(ckpt_tape *t);
/* Bytes the tape's arena holds now (for benchmarks and leak checks). */
CKPT_API size_t ckpt_tape_bytes(const ckpt_tape *t);

/* ------------------------------------------------------------- leaf vars */

/* A float32 var holding a copy of `data` (NULL: zeros), not requiring grad. */
CKPT_API ckpt_var *ckpt_tape_tensor(ckpt_tape *t, int ndim, const int64_t *shape,
                                    const float *data, ckpt_error *err);
/* A float32 var over caller memory (not copied; must outlive the step and
 * must not change before backward).  Not requiring grad. */
CKPT_API ckpt_var *ckpt_tape_tensor_borrow(ckpt_tape *t, int ndim, const int64_t *shape,
                                           float *data, ckpt_error *err);
/* An int64 var (token ids, class targets) holding a copy of `data`. */
CKPT_API ckpt_var *ckpt_tape_index(ckpt_tape *t, int ndim, const int64_t *shape,
                                   const int64_t *data, ckpt_error *err);
/* A float32 var filled with `value`. */
CKPT_API ckpt_var *ckpt_tape_full(ckpt_tape *t, int ndim, const int64_t *shape, float value,
                                  ckpt_error *err);
/* A tensor of a loaded document (ckpt_load) copied onto the tape: floating
 * dtypes (float16, bfloat16, float32, float64) become float32, integer dtypes
 * int64; any strides.  CKPT_E_UNSUPPORTED for other dtypes. */
CKPT_API ckpt_var *ckpt_tape_from_tensor(ckpt_tape *t, const ckpt_obj *tensor, ckpt_error *err);
/* requires_grad_(): only on float32 leaves (vars made by the calls above);
 * their gradient is kept on the tape and read with ckpt_var_grad. */
CKPT_API int ckpt_var_set_requires_grad(ckpt_var *v, bool requires_grad, ckpt_error *err);

/* ------------------------------------------------------------ inspection */

CKPT_API ckpt_tape *ckpt_var_tape(const ckpt_var *v);
CKPT_API int ckpt_var_dtype(const ckpt_var *v); /* CKPT_F32 or CKPT_I64 */
CKPT_API int ckpt_var_ndim(const ckpt_var *v);
/* Size of dim `d` (negative counts from the end); -1 when out of range. */
CKPT_API int64_t ckpt_var_dim(const ckpt_var *v, int d);
CKPT_API const int64_t *ckpt_var_shape(const ckpt_var *v);
CKPT_API int64_t ckpt_var_numel(const ckpt_var *v);
/* Values: float32 data (NULL for int64 vars) / int64 data (NULL for float32). */
CKPT_API float *ckpt_var_data(const ckpt_var *v);
CKPT_API int64_t *ckpt_var_index_data(const ckpt_var *v);
/* The gradient after ckpt_backward (NULL when none was computed). */
CKPT_API float *ckpt_var_grad(const ckpt_var *v);
CKPT_API bool ckpt_var_requires_grad(const ckpt_var *v);
/* The value of a one-element float32 var (NaN for anything else). */
CKPT_API float ckpt_var_item(const ckpt_var *v);

/* -------------------------------------------------------------- backward */

/* loss.backward(): `loss` must hold one element.  Fills the gradient of every
 * var that requires grad and accumulates into parameter grads. */
CKPT_API int ckpt_backward(ckpt_var *loss, ckpt_error *err);
/* y.backward(gradient): `grad_out` holds numel(y) floats. */
CKPT_API int ckpt_backward_with(ckpt_var *y, const float *grad_out, ckpt_error *err);

/* ===================================================== functional ops */

/* Reductions of losses (torch's `reduction=`). */
typedef enum ckpt_reduction {
    CKPT_REDUCE_MEAN = 0,
    CKPT_REDUCE_SUM = 1,
    CKPT_REDUCE_NONE = 2
} ckpt_reduction;

/* --- element-wise (broadcasting as torch) */
CKPT_API ckpt_var *ckpt_f_add(ckpt_var *a, ckpt_var *b, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_sub(ckpt_var *a, ckpt_var *b, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_mul(ckpt_var *a, ckpt_var *b, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_div(ckpt_var *a, ckpt_var *b, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_add_scalar(ckpt_var *a, double s, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_mul_scalar(ckpt_var *a, double s, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_neg(ckpt_var *a, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_exp(ckpt_var *a, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_log(ckpt_var *a, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_sqrt(ckpt_var *a, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_pow_scalar(ckpt_var *a, double exponent, ckpt_error *err);

/* --- activations */
CKPT_API ckpt_var *ckpt_f_relu(ckpt_var *x, ckpt_error *err);
/* approximate: false = exact (erf), true = 'tanh' */
CKPT_API ckpt_var *ckpt_f_gelu(ckpt_var *x, bool tanh_approximate, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_silu(ckpt_var *x, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_tanh(ckpt_var *x, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_sigmoid(ckpt_var *x, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_softmax(ckpt_var *x, int dim, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_log_softmax(ckpt_var *x, int dim, ckpt_error *err);
/* Dropout with the tape's generator; identity when !training or p == 0. */
CKPT_API ckpt_var *ckpt_f_dropout(ckpt_var *x, double p, bool training, ckpt_error *err);

/* --- matrix products */
/* torch.matmul: 1-D/2-D/batched with broadcast batch dims. */
CKPT_API ckpt_var *ckpt_f_matmul(ckpt_var *a, ckpt_var *b, ckpt_error *err);
/* torch.bmm: (B,N,K) x (B,K,M). */
CKPT_API ckpt_var *ckpt_f_bmm(ckpt_var *a, ckpt_var *b, ckpt_error *err);
/* F.linear: x (..., in) . w (out, in)^T + b (out); b may be NULL. */
CKPT_API ckpt_var *ckpt_f_linear(ckpt_var *x, ckpt_var *w, ckpt_var *b, ckpt_error *err);
/* F.conv1d / conv2d / conv_transpose2d; b may be NULL; `o` NULL = defaults
 * (its no_bias field is ignored: pass b = NULL).  conv1d reads entry 0 of
 * stride/padding/dilation.  conv1d/conv2d honour o->padding_kind ('same',
 * 'valid') and o->padding_mode (the input is padded first, as a Conv module
 * with that padding_mode does); conv_transpose2d takes numeric padding and
 * zeros only.  Unbatched inputs ((C,L), (C,H,W)) work as in torch. */
CKPT_API ckpt_var *ckpt_f_conv1d(ckpt_var *x, ckpt_var *w, ckpt_var *b,
                                 const struct ckpt_conv_opts *o, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_conv2d(ckpt_var *x, ckpt_var *w, ckpt_var *b,
                                 const struct ckpt_conv_opts *o, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_conv_transpose2d(ckpt_var *x, ckpt_var *w, ckpt_var *b,
                                           const struct ckpt_conv_opts *o, ckpt_error *err);

/* --- normalisation */
/* F.layer_norm over the last `ndims` dims; w and b may be NULL. */
CKPT_API ckpt_var *ckpt_f_layer_norm(ckpt_var *x, int ndims, ckpt_var *w, ckpt_var *b, double eps,
                                     ckpt_error *err);
/* F.batch_norm on (N,C,...): training uses batch statistics and updates the
 * running buffers (when not NULL) with `momentum` (< 0: cumulative average
 * using *num_batches_tracked), the variance unbiased, and adds 1 to
 * *num_batches_tracked (when not NULL), as the BatchNorm module does; eval
 * uses the running buffers; NULL running buffers (track_running_stats=False)
 * use batch statistics in eval too. */
CKPT_API ckpt_var *ckpt_f_batch_norm(ckpt_var *x, float *running_mean, float *running_var,
                                     int64_t *num_batches_tracked, ckpt_var *w, ckpt_var *b,
                                     bool training, double momentum, double eps, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_group_norm(ckpt_var *x, int64_t groups, ckpt_var *w, ckpt_var *b,
                                     double eps, ckpt_error *err);

/* --- pooling (N,C,H,W); zeros mean torch's defaults: stride = kernel,
 * padding 0, dilation 1, ceil_mode off, count_include_pad on,
 * no divisor_override. */
typedef struct ckpt_pool_opts {
    int64_t kernel[2];
    int64_t stride[2];
    int64_t padding[2];
    int64_t dilation[2]; /* max pooling only */
    bool ceil_mode;
    bool exclude_pad;         /* avg: count_include_pad=False */
    int64_t divisor_override; /* avg: 0 = none */
} ckpt_pool_opts;
CKPT_API ckpt_var *ckpt_f_max_pool2d(ckpt_var *x, const ckpt_pool_opts *o, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_avg_pool2d(ckpt_var *x, const ckpt_pool_opts *o, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_adaptive_avg_pool2d(ckpt_var *x, int64_t out_h, int64_t out_w,
                                              ckpt_error *err);

/* --- shape: float32 and int64 vars alike; every result but reshape/flatten
 * (and contiguous, which returns x) is a new contiguous copy. */
/* reshape/view: one entry may be -1.  Shares the input's data. */
CKPT_API ckpt_var *ckpt_f_reshape(ckpt_var *x, int ndim, const int64_t *shape, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_flatten(ckpt_var *x, int start_dim, int end_dim, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_permute(ckpt_var *x, int ndim, const int *dims, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_transpose(ckpt_var *x, int d0, int d1, ckpt_error *err);
/* Every var is contiguous: returns `x` itself. */
CKPT_API ckpt_var *ckpt_f_contiguous(ckpt_var *x, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_cat(ckpt_var *const *xs, size_t n, int dim, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_stack(ckpt_var *const *xs, size_t n, int dim, ckpt_error *err);
/* torch.split(x, size, dim) / torch.chunk(x, chunks, dim): writes up to
 * `cap` pieces to `outs` and their count to *n (CKPT_E_ARG when cap is too
 * small). */
CKPT_API int ckpt_f_split(ckpt_var *x, int64_t size, int dim, ckpt_var **outs, size_t cap,
                          size_t *n, ckpt_error *err);
CKPT_API int ckpt_f_chunk(ckpt_var *x, int64_t chunks, int dim, ckpt_var **outs, size_t cap,
                          size_t *n, ckpt_error *err);
/* x[..., start:end:step, ...] on `dim` (Python slice rules for negative
 * and out-of-range bounds; step >= 1; end INT64_MAX: to the end). */
CKPT_API ckpt_var *ckpt_f_slice(ckpt_var *x, int dim, int64_t start, int64_t end, int64_t step,
                                ckpt_error *err);
/* x.select(dim, index): removes `dim`. */
CKPT_API ckpt_var *ckpt_f_select(ckpt_var *x, int dim, int64_t index, ckpt_error *err);

/* --- reductions */
/* Over `ndims` dims (ndims 0 / dims NULL: all dims, giving a 0-dim var). */
CKPT_API ckpt_var *ckpt_f_sum(ckpt_var *x, int ndims, const int *dims, bool keepdim,
                              ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_mean(ckpt_var *x, int ndims, const int *dims, bool keepdim,
                               ckpt_error *err);

/* --- embedding: idx (int64, any shape) -> idx.shape + (D,); rows of
 * padding_idx (>= 0) get no gradient. */
CKPT_API ckpt_var *ckpt_f_embedding(ckpt_var *idx, ckpt_var *weight, int64_t padding_idx,
                                    ckpt_error *err);

/* --- attention: q (..., L, E), k (..., S, E), v (..., S, Ev);
 * mask NULL, or float (added to the scores, -inf masks) broadcastable to
 * (..., L, S); is_causal masks j > i.  Dropout on the weights uses the tape's
 * generator when dropout_p > 0. */
CKPT_API ckpt_var *ckpt_f_scaled_dot_product_attention(ckpt_var *q, ckpt_var *k, ckpt_var *v,
                                                       ckpt_var *mask, double dropout_p,
                                                       bool is_causal, ckpt_error *err);

/* --- losses (torch 1.13 semantics) */
/* logits (N,C), target int64 (N); label_smoothing in [0,1]; rows whose target
 * is ignore_index count nowhere (mean divides by the rows that count; all
 * ignored gives NaN, as torch 1.13).  Also (N,C,d1,...) with target
 * (N,d1,...), classes on dim 1, and (C,) with a 0-dim target, as torch. */
CKPT_API ckpt_var *ckpt_f_cross_entropy(ckpt_var *logits, ckpt_var *target, int64_t ignore_index,
                                        double label_smoothing, ckpt_reduction r,
                                        ckpt_error *err);
/* logp (N,C) (or (N,C,d1,...) / (C,), as cross_entropy) log-probabilities,
 * target int64 (N). */
CKPT_API ckpt_var *ckpt_f_nll_loss(ckpt_var *logp, ckpt_var *target, int64_t ignore_index,
                                   ckpt_reduction r, ckpt_error *err);
CKPT_API ckpt_var *ckpt_f_mse_loss(ckpt_var *x, ckpt_var *y, ckpt_reduction r, ckpt_error *err);
/* x logits, y targets in [0,1] (same shape); pos_weight may be NULL, or
 * broadcast over the last dim ((C,)), or x's shape.  Gradients flow to x and
 * y (and to pos_weight, which torch 1.13 refuses to differentiate). */
CKPT_API ckpt_var *ckpt_f_binary_cross_entropy_with_logits(ckpt_var *x, ckpt_var *y,
                                                           ckpt_var *pos_weight, ckpt_reduction r,
                                                           ckpt_error *err);

/* --- recurrent layers (torch.nn.LSTM / GRU as one fused op each) */
/* Configuration of a recurrent stack; the zero value is torch's default
 * (1 layer, with biases, (T,B,I) input, one direction, no dropout). */
typedef struct ckpt_rnn_opts {
    int64_t num_layers; /* 0 means 1 */
    bool no_bias;       /* bias=False: no bias_ih / bias_hh parameters */
    bool batch_first;   /* input and output (B,T,.) instead of (T,B,.) */
    bool bidirectional;
    double dropout; /* on the outputs of every layer but the last, in training */
} ckpt_rnn_opts;
/* torch's _VF.lstm: x (T,B,I), (B,T,I) with batch_first, or unbatched (T,I);
 * h0, c0 (num_layers*dirs, B, H) (unbatched: (num_layers*dirs, H)), both or
 * neither (NULL: zeros).  `weights` in torch's flat order (its
 * _flat_weights): per layer, per direction (forward, then reverse):
 * w_ih (4H, I_l), w_hh (4H, H) and, unless no_bias, b_ih (4H), b_hh (4H);
 * gate order i, f, g, o.  Returns the output (T,B,dirs*H) (or (B,T,..),
 * (T,..)) and, when not NULL, *h_n and *c_n (num_layers*dirs, B, H).
 * Dropout between layers uses the tape's generator when `training`. */
CKPT_API ckpt_var *ckpt_f_lstm(ckpt_var *x, ckpt_var *h0, ckpt_var *c0, ckpt_var *const *weights,
                               size_t nweights, const ckpt_rnn_opts *o, bool training,
                               ckpt_var **h_n, ckpt_var **c_n, ckpt_error *err);
/* torch's _VF.gru: as ckpt_f_lstm with 3H gates r, z, n and
 * n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); h' = (1 - z) n + z h. */
CKPT_API ckpt_var *ckpt_f_gru(ckpt_var *x, ckpt_var *h0, ckpt_var *const *weights,
                              size_t nweights, const ckpt_rnn_opts *o, bool training,
                              ckpt_var **h_n, ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif
