/* src/nn/backward.h - raw float32 backward kernels of the layer library.
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
#include "nn/kernels.h"

/* out = in @ w^T + b.  dout (N,OC), in (N,IC), w (OC,IC);
 * din (N,IC), dw (OC,IC), db (OC), each NULL when not wanted. */
void ckpt_nn_linear_backward(float *din, float *dw, float *db, const float *dout,
                             const float *in, const float *w, int64_t n, int64_t ic, int64_t oc);

/* Scratch floats ckpt_nn_conv2d_backward needs: (C/G*KH*KW, OH*OW). */
size_t ckpt_nn_conv2d_backward_ws(const ckpt_nn_conv2d_dims *d);
/* dout (B,OC,OH,OW), in (B,C,H,W), w (OC,C/G,KH,KW); din (B,C,H,W), dw (OC,C/G,KH,KW),
 * db (OC), each NULL when not wanted; ws (C/G*KH*KW, OH*OW) scratch.  Per image and
 * group: dw += dout @ im2col(in)^T, din += col2im(w^T @ dout).  d as filled by
 * ckpt_nn_conv2d_out_size. */
void ckpt_nn_conv2d_backward(float *din, float *dw, float *db, const float *dout,
                             const float *in, const float *w, float *ws,
                             const ckpt_nn_conv2d_dims *d);

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
                                int64_t h, int64_t w, int64_t k, int64_t s, int64_t p,
                                int64_t oh, int64_t ow);
/* count_include_pad=True */
void ckpt_nn_avgpool2d_backward(float *din, const float *dout, int64_t bc, int64_t h,
                                int64_t w, int64_t k, int64_t s, int64_t p, int64_t oh,
                                int64_t ow);
void ckpt_nn_adaptive_avgpool2d_backward(float *din, const float *dout, int64_t bc, int64_t h,
                                         int64_t w, int64_t oh, int64_t ow);

#endif
