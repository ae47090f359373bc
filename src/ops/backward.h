/* src/ops/backward.h - raw float32 backward kernels of the layer library.
 *
 * One `ckpt_nn_<op>_backward` per forward kernel in kernels.h.  Conventions:
 * - every pointer carries its shape in a comment, row-major;
 * - gradients are ADDED into (din += ..., dw += ...), so several uses of a
 *   tensor accumulate and zero_grad is a separate call;
 * - a NULL gradient pointer means "not wanted" and is skipped;
 * - the saved forward inputs (or outputs, where torch's formula uses them)
 *   are passed back in; nothing allocates: scratch is passed in;
 * - reductions accumulate in double.
 * The losses (cross-entropy, MSE) are public: see include/ckpt/nn.h.
 */
#ifndef CKPT_NN_BACKWARD_H
#define CKPT_NN_BACKWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/nn.h"
#include "ops/kernels.h"

/* out = in @ w^T + b.  dout (N,OC), in (N,IC), w (OC,IC);
 * din (N,IC), dw (OC,IC), db (OC), each NULL when not wanted. */
void ckpt_nn_linear_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                             const float *w, int64_t n, int64_t ic, int64_t oc);

/* Scratch floats ckpt_nn_conv2d_backward needs: (C/G*KH*KW, OH*OW). */
size_t ckpt_nn_conv2d_backward_ws(const ckpt_nn_conv2d_dims *d);
/* dout (B,OC,OH,OW), in (B,C,H,W), w (OC,C/G,KH,KW); din (B,C,H,W), dw (OC,C/G,KH,KW),
 * db (OC), each NULL when not wanted; ws (C/G*KH*KW, OH*OW) scratch.  Per image and
 * group: dw += dout @ im2col(in)^T, din += col2im(w^T @ dout).  d as filled by
 * ckpt_nn_conv2d_out_size. */
void ckpt_nn_conv2d_backward(float *din, float *dw, float *db, const float *dout, const float *in,
                             const float *w, float *ws, const ckpt_nn_conv2d_dims *d);

/* din (BC,H,W) += the adjoint of ckpt_nn_pad2d_forward applied to dout
 * (BC, H+top+bottom, W+left+right). */
void ckpt_nn_pad2d_backward(float *din, const float *dout, int64_t bc, int64_t h, int64_t w,
                            int64_t top, int64_t bottom, int64_t left, int64_t right, int mode);

/* BatchNorm1d/2d: y = (x - mean) / sqrt(var + eps) * w + bias.  dout, in (B,C,S);
 * mean, var (C): the batch statistics (biased var, ckpt_nn_batchnorm_stats) when
 * `batch_stats` (training mode), else the running statistics (eval mode, where they
 * are constants); w (C) or NULL (affine=False: weight 1).  din (B,C,S), dw (C), db (C),
 * each NULL when not wanted. */
void ckpt_nn_batchnorm_backward(float *din, float *dw, float *db, const float *dout,
                                const float *in, const float *mean, const float *var,
                                const float *w, int64_t b, int64_t c, int64_t s, double eps,
                                bool batch_stats);

/* LayerNorm over the last D values of each row.  dout, in (N,D); w (D) or NULL.
 * din (N,D), dw (D), db (D), each NULL when not wanted. */
void ckpt_nn_layernorm_backward(float *din, float *dw, float *db, const float *dout,
                                const float *in, const float *w, int64_t n, int64_t d,
                                double eps);

/* Embedding: dtable (V,D) += dout rows scattered to idx (N); rows whose index equals
 * padding_idx (< 0: none) get no gradient.  dout (N,D).  Returns -1 (having added
 * the rows before it) when an index is outside [0, V), else 0. */
int ckpt_nn_embedding_backward(float *dtable, const float *dout, const int64_t *idx, int64_t n,
                               int64_t v, int64_t d, int64_t padding_idx);

/* Element-wise activations: din (N) += dout (N) * f'(x).  Those written in terms of
 * the input take in (N); tanh and sigmoid take the forward output out (N), as torch's
 * tanh_backward / sigmoid_backward do. */
void ckpt_nn_relu_backward(float *din, const float *dout, const float *in, size_t n);
void ckpt_nn_gelu_backward(float *din, const float *dout, const float *in, size_t n);
void ckpt_nn_gelu_tanh_backward(float *din, const float *dout, const float *in, size_t n);
void ckpt_nn_silu_backward(float *din, const float *dout, const float *in, size_t n);
void ckpt_nn_tanh_backward(float *din, const float *dout, const float *out, size_t n);
void ckpt_nn_sigmoid_backward(float *din, const float *dout, const float *out, size_t n);

/* Flatten (a view): din (N) += dout (N). */
void ckpt_nn_flatten_backward(float *din, const float *dout, size_t n);
/* Inverted dropout with the forward's keep mask (N) (1 kept, 0 dropped):
 * din (N) += dout (N) * mask / (1 - p); p >= 1 adds nothing. */
void ckpt_nn_dropout_backward(float *din, const float *dout, const uint8_t *mask, size_t n,
                              double p);

/* Pooling over (B*C) planes, same geometry as the forward kernels.
 * din (BC,H,W) += ..., dout (BC,OH,OW).  MaxPool recomputes the argmax from in (BC,H,W)
 * (first maximum in scan order, NaN wins, as torch) and routes dout there. */
void ckpt_nn_maxpool2d_backward(float *din, const float *dout, const float *in, int64_t bc,
                                int64_t h, int64_t w, int64_t k, int64_t s, int64_t p, int64_t oh,
                                int64_t ow);
/* Pooling with all options (geometry of ckpt_nn_pool2d_out_size).  din (BC,H,W) += ...,
 * dout (BC,OH,OW); max recomputes the argmax from in (BC,H,W) as torch picks it. */
void ckpt_nn_maxpool2d_backward_d(float *din, const float *dout, const float *in,
                                  const ckpt_nn_pool2d_dims *d);
void ckpt_nn_avgpool2d_backward_d(float *din, const float *dout, const ckpt_nn_pool2d_dims *d);
/* count_include_pad=True */
void ckpt_nn_avgpool2d_backward(float *din, const float *dout, int64_t bc, int64_t h, int64_t w,
                                int64_t k, int64_t s, int64_t p, int64_t oh, int64_t ow);
void ckpt_nn_adaptive_avgpool2d_backward(float *din, const float *dout, int64_t bc, int64_t h,
                                         int64_t w, int64_t oh, int64_t ow);

/* ------------------------------------------ backward_attn.c: the rest of the set */

/* Scratch floats ckpt_nn_conv_transpose2d_backward needs: (OC/G*KH*KW, H*W). */
size_t ckpt_nn_convt2d_backward_ws(const ckpt_nn_convt2d_dims *d);
/* ConvTranspose2d.  dout (B,OC,OH,OW), in (B,C,H,W), w (C,OC/G,KH,KW); din (B,C,H,W),
 * dw (C,OC/G,KH,KW), db (OC), each NULL when not wanted; ws (OC/G*KH*KW, H*W) scratch.
 * Per image and group: cols = im2col(dout) (the adjoint of the forward's col2im),
 * din_g += w_g @ cols, dw_g += in_g @ cols^T.  d as filled by ckpt_nn_convt2d_out_size. */
void ckpt_nn_conv_transpose2d_backward(float *din, float *dw, float *db, const float *dout,
                                       const float *in, const float *w, float *ws,
                                       const ckpt_nn_convt2d_dims *d);

/* GroupNorm: C split into G groups, statistics over (C/G, S) per image.  dout, in (B,C,S);
 * w (C) or NULL (affine=False).  din (B,C,S), dw (C), db (C), each NULL when not wanted. */
void ckpt_nn_groupnorm_backward(float *din, float *dw, float *db, const float *dout,
                                const float *in, const float *w, int64_t b, int64_t c, int64_t s,
                                int64_t g, double eps);

/* Softmax / LogSoftmax over the middle axis, from the forward output (as torch's
 * _softmax_backward_data).  din, dout, out (OUTER,D,INNER).
 * softmax: din += y * (dout - sum_d(dout * y)); log-softmax: din += dout - exp(y) * sum_d dout. */
void ckpt_nn_softmax_backward(float *din, const float *dout, const float *out, int64_t outer,
                              int64_t d, int64_t inner);
void ckpt_nn_logsoftmax_backward(float *din, const float *dout, const float *out, int64_t outer,
                                 int64_t d, int64_t inner);

/* MultiheadAttention geometry (packed in_proj, kdim = vdim = E, no masks).  Query rows
 * (T,B,E) (sequence-first) or (B,T,E) (batch_first); key/value rows likewise with length S.
 * A 2-d (L,E) input is b = 1 (either layout). */
typedef struct ckpt_nn_mha_dims {
    int64_t b, t, s; /* batch, query length, key/value length */
    int64_t e, h;    /* embed_dim, num_heads (E % H == 0) */
    bool batch_first;
} ckpt_nn_mha_dims;
/* Scratch floats ckpt_nn_mha_backward needs:
 * 2 * (B*T*E + 2*B*S*E) (projections and their gradients) + B*H*T*S (attention weights)
 * + 2 * B*T*E (head outputs and their gradient) + T*S (weight gradient). */
size_t ckpt_nn_mha_backward_ws(const ckpt_nn_mha_dims *d);
/* out = out_proj(concat_h(A_h V_h)), A_h = dropout(softmax(Q_h K_h^T / sqrt(E/H))),
 * Q = q Wq^T + bq, K = k Wk^T + bk, V = v Wv^T + bv (W = in_proj_weight rows [0,E), [E,2E),
 * [2E,3E)).  The forward is recomputed from the inputs into ws (nothing else is saved).
 * dout, q (B*T,E); k, v (B*S,E) in the layout of d; in_w (3E,E), in_b (3E) or NULL,
 * out_w (E,E), out_b (E) or NULL (bias=False: its gradient is skipped).
 * attn_mask (B,H,T,S) the attention-dropout keep mask (1 kept) with probability attn_p,
 * or NULL (eval / p = 0).  dq (B*T,E), dk, dv (B*S,E), din_w (3E,E), din_b (3E),
 * dout_w (E,E), dout_b (E): each NULL when not wanted.  Self-attention: pass the same
 * tensor as q, k, v and the same gradient as dq, dk, dv: the three parts add up there.
 * ws: ckpt_nn_mha_backward_ws(d) floats. */
void ckpt_nn_mha_backward(float *dq, float *dk, float *dv, float *din_w, float *din_b,
                          float *dout_w, float *dout_b, const float *dout, const float *q,
                          const float *k, const float *v, const float *in_w, const float *in_b,
                          const float *out_w, const float *out_b, const uint8_t *attn_mask,
                          double attn_p, float *ws, const ckpt_nn_mha_dims *d);

/* TransformerEncoderLayer (torch 1.13; self-attention, no masks).  Input (T,B,E) or
 * (B,T,E) per batch_first; FF = dim_feedforward; act CKPT_ACT_RELU or CKPT_ACT_GELU. */
typedef struct ckpt_nn_encoder_dims {
    int64_t b, t, e, h, ff;
    int act;
    double eps; /* layer_norm_eps */
    bool batch_first, norm_first;
} ckpt_nn_encoder_dims;
/* The layer's parameters, read (all required: the layer always has biases and
 * affine norms). */
typedef struct ckpt_nn_encoder_params {
    const float *in_proj_w, *in_proj_b;   /* (3E,E), (3E) */
    const float *out_proj_w, *out_proj_b; /* (E,E), (E) */
    const float *linear1_w, *linear1_b;   /* (FF,E), (FF) */
    const float *linear2_w, *linear2_b;   /* (E,FF), (E) */
    const float *norm1_w, *norm1_b;       /* (E), (E) */
    const float *norm2_w, *norm2_b;       /* (E), (E) */
} ckpt_nn_encoder_params;
/* Their gradients, same shapes, added into; any may be NULL (not wanted). */
typedef struct ckpt_nn_encoder_grads {
    float *in_proj_w, *in_proj_b;
    float *out_proj_w, *out_proj_b;
    float *linear1_w, *linear1_b;
    float *linear2_w, *linear2_b;
    float *norm1_w, *norm1_b;
    float *norm2_w, *norm2_b;
} ckpt_nn_encoder_grads;
/* Training-mode dropout keep masks (1 kept) drawn in the forward, all with probability p:
 * attn (B,H,T,T) on the attention weights, drop1 (B*T,E) after self-attention, drop
 * (B*T,FF) after the activation, drop2 (B*T,E) after linear2.  NULL (as a whole) is the
 * eval / no-dropout path. */
typedef struct ckpt_nn_encoder_masks {
    const uint8_t *attn, *drop1, *drop, *drop2;
    double p;
} ckpt_nn_encoder_masks;
/* Scratch floats ckpt_nn_encoder_backward needs:
 * ckpt_nn_mha_backward_ws + 9 * B*T*E + 4 * B*T*FF. */
size_t ckpt_nn_encoder_backward_ws(const ckpt_nn_encoder_dims *d);
/* din (B*T,E) (NULL: not wanted) and every non-NULL field of g += the gradients of
 * sum(dout * layer(in)); the forward is recomputed into ws from in (B*T,E) and p.
 * dout (B*T,E); m the dropout masks or NULL; ws ckpt_nn_encoder_backward_ws(d) floats. */
void ckpt_nn_encoder_backward(float *din, const ckpt_nn_encoder_grads *g, const float *dout,
                              const float *in, const ckpt_nn_encoder_params *p,
                              const ckpt_nn_encoder_masks *m, float *ws,
                              const ckpt_nn_encoder_dims *d);

#endif
