/* src/ops/kernels.h - raw float32 forward kernels of the layer library.
 *
 * Free functions over raw pointers with explicit dimensions; every pointer
 * carries its shape in a comment, (B,C,H,W) meaning row-major.  Kernels call
 * cblas for matrix products and never allocate: scratch memory (im2col
 * columns, attention scores) is passed in, sized by the *_ws helpers.
 * Reductions (norm statistics, softmax sums) accumulate in double, as
 * torch's CPU kernels do for float32 (acc_type<float> is double).
 */
#ifndef CKPT_NN_KERNELS_H
#define CKPT_NN_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/nn.h"

/* out = in @ w^T + b.  out (N,OC), in (N,IC), w (OC,IC), b (OC) or NULL. */
void ckpt_nn_linear_forward(float *out, const float *in, const float *w, const float *b,
                            int64_t n, int64_t ic, int64_t oc);

/* Geometry of a 2-d convolution (Conv1d is H = KH = 1). */
typedef struct ckpt_nn_conv2d_dims {
    int64_t b, c, h, w; /* input (B,C,H,W) */
    int64_t oc, kh, kw; /* weight (OC,C/G,KH,KW) */
    int64_t sh, sw, ph, pw, dh, dw, g;
    int64_t oh, ow; /* output (B,OC,OH,OW); filled by ckpt_nn_conv2d_out_size */
} ckpt_nn_conv2d_dims;
/* Fills d->oh, d->ow (torch's formula); returns false when the output is empty. */
bool ckpt_nn_conv2d_out_size(ckpt_nn_conv2d_dims *d);
/* Scratch floats the conv2d kernel needs: (C/G*KH*KW, OH*OW). */
size_t ckpt_nn_conv2d_ws(const ckpt_nn_conv2d_dims *d);
/* out (B,OC,OH,OW), in (B,C,H,W), w (OC,C/G,KH,KW), b (OC) or NULL,
 * ws (C/G*KH*KW, OH*OW) scratch.  im2col per image and group, then sgemm. */
void ckpt_nn_conv2d_forward(float *out, const float *in, const float *w, const float *b,
                            float *ws, const ckpt_nn_conv2d_dims *d);

/* The padding a Conv1d/Conv2d with options `o` needs (sd 1 or 2 spatial dims,
 * kernel kh x kw, dilation dh x dw, defaults filled): either symmetric zero
 * padding inside the kernel (ph, pw), or an explicit pre-padding of the input
 * (top, bottom, left, right) with `mode` ('same' with an odd total, or a
 * padding_mode other than zeros), the kernel then padding nothing. */
typedef struct ckpt_nn_conv_pad {
    int64_t ph, pw;
    bool pre;
    int64_t top, bottom, left, right;
    int mode; /* ckpt_padding_mode */
} ckpt_nn_conv_pad;
ckpt_nn_conv_pad ckpt_nn_conv_padding(const ckpt_conv_opts *o, int sd, int64_t kh, int64_t kw,
                                      int64_t dh, int64_t dw);
/* out (BC, H+top+bottom, W+left+right) = in (BC,H,W) padded with `mode`
 * (ckpt_padding_mode; reflect needs pads < the size, circular <= the size). */
/* The source index of padded position i (i in [-before, n + after)) under `mode`,
 * or -1 where the padding is zero. */
int64_t ckpt_nn__pad_src(int64_t i, int64_t n, int mode);
void ckpt_nn_pad2d_forward(float *out, const float *in, int64_t bc, int64_t h, int64_t w,
                           int64_t top, int64_t bottom, int64_t left, int64_t right, int mode);

/* ConvTranspose2d geometry: input (B,C,H,W), weight (C,OC/G,KH,KW). */
typedef struct ckpt_nn_convt2d_dims {
    int64_t b, c, h, w;
    int64_t oc, kh, kw;
    int64_t sh, sw, ph, pw, dh, dw, oph, opw, g;
    int64_t oh, ow; /* (H-1)*S - 2P + D*(K-1) + OP + 1 */
} ckpt_nn_convt2d_dims;
bool ckpt_nn_convt2d_out_size(ckpt_nn_convt2d_dims *d);
/* Scratch floats: (OC/G*KH*KW, H*W). */
size_t ckpt_nn_convt2d_ws(const ckpt_nn_convt2d_dims *d);
/* out (B,OC,OH,OW), in (B,C,H,W), w (C,OC/G,KH,KW), b (OC) or NULL,
 * ws (OC/G*KH*KW, H*W): sgemm w^T @ in, then col2im (scatter-add). */
void ckpt_nn_conv_transpose2d_forward(float *out, const float *in, const float *w, const float *b,
                                      float *ws, const ckpt_nn_convt2d_dims *d);

/* Per-channel batch statistics: mean (C), biased var (C) of in (B,C,S). */
void ckpt_nn_batchnorm_stats(float *mean, float *var, const float *in, int64_t b, int64_t c,
                             int64_t s);
/* Running statistics of training mode: running = factor * batch + (1 - factor) *
 * running per channel (C), the variance made unbiased with n / (n - 1) (n values
 * per channel), as torch's update_stats. */
void ckpt_nn_batchnorm_update_running(float *rmean, float *rvar, const float *mean,
                                      const float *var, int64_t c, int64_t n, double factor);
/* y = (x - mean) / sqrt(var + eps) * w + bias.  out, in (B,C,S); mean, var (C);
 * w, bias (C) or NULL (affine=False). */
void ckpt_nn_batchnorm_forward(float *out, const float *in, const float *mean, const float *var,
                               const float *w, const float *bias, int64_t b, int64_t c, int64_t s,
                               double eps);
/* Normalise each row over its last D values.  out, in (N,D); w, b (D) or NULL. */
void ckpt_nn_layernorm_forward(float *out, const float *in, const float *w, const float *b,
                               int64_t n, int64_t d, double eps);
/* out, in (B,C,S) with C split into G groups; w, b (C) or NULL. */
void ckpt_nn_groupnorm_forward(float *out, const float *in, const float *w, const float *b,
                               int64_t b_, int64_t c, int64_t s, int64_t g, double eps);
/* out (N,D) = table (V,D) rows idx (N); returns -1 (and writes nothing further) when an
 * index is outside [0, V), else 0. */
int ckpt_nn_embedding_forward_raw(float *out, const float *table, const int64_t *idx, int64_t n,
                                  int64_t v, int64_t d);

/* Element-wise activations (out may equal in).  out, in (N). */
void ckpt_nn_relu_forward(float *out, const float *in, size_t n);
void ckpt_nn_gelu_forward(float *out, const float *in, size_t n);      /* erf */
void ckpt_nn_gelu_tanh_forward(float *out, const float *in, size_t n); /* tanh approx */
void ckpt_nn_silu_forward(float *out, const float *in, size_t n);
void ckpt_nn_tanh_forward(float *out, const float *in, size_t n);
void ckpt_nn_sigmoid_forward(float *out, const float *in, size_t n);
/* Softmax / log-softmax over the middle axis.  out, in (OUTER,D,INNER). */
void ckpt_nn_softmax_forward(float *out, const float *in, int64_t outer, int64_t d,
                             int64_t inner);
void ckpt_nn_logsoftmax_forward(float *out, const float *in, int64_t outer, int64_t d,
                                int64_t inner);
/* Inverted dropout: keep with probability 1-p, scale kept values by 1/(1-p);
 * p >= 1 zeroes everything.  out, in (N). */
void ckpt_nn_dropout_forward(float *out, const float *in, size_t n, double p, ckpt_rng *rng);
/* The same draws, also writing the keep mask (N) (1 kept, 0 dropped) when `mask`
 * is not NULL (p <= 0 or no rng: all kept; p >= 1: none kept). */
void ckpt_nn_dropout_forward_mask(float *out, uint8_t *mask, const float *in, size_t n, double p,
                                  ckpt_rng *rng);
/* out (N) = a (N) + b (N). */
void ckpt_nn_add_forward(float *out, const float *a, const float *b, size_t n);

/* Pooling geometry with torch's options (rectangular kernel, stride, padding,
 * dilation (max only), ceil_mode, count_include_pad, divisor_override). */
typedef struct ckpt_nn_pool2d_dims {
    int64_t bc, h, w; /* input planes (BC,H,W) */
    int64_t kh, kw, sh, sw, ph, pw, dh, dw;
    bool ceil_mode;
    bool exclude_pad; /* avg: count_include_pad=False */
    int64_t divisor;  /* avg: divisor_override, 0 = none */
    int64_t oh, ow;   /* filled by ckpt_nn_pool2d_out_size */
} ckpt_nn_pool2d_dims;
/* torch's pooling_output_shape for both dims (with ceil_mode the last window
 * must start inside the input or the left padding); false when empty. */
bool ckpt_nn_pool2d_out_size(ckpt_nn_pool2d_dims *d);
/* out (BC,OH,OW), in (BC,H,W).  Max: -inf padding, NaN propagates; avg: torch's
 * divisor rule (window clipped to input + padding; then to the input when
 * exclude_pad; divisor when set). */
void ckpt_nn_maxpool2d_forward_d(float *out, const float *in, const ckpt_nn_pool2d_dims *d);
/* The taps of pooling window o along one dim: input index of tap 0 (*start, may be
 * negative) and the taps [k0, k1) that fall inside [0, n). */
void ckpt_nn__pool_taps(int64_t o, int64_t s, int64_t p, int64_t dil, int64_t k, int64_t n,
                        int64_t *start, int64_t *k0, int64_t *k1);
void ckpt_nn_avgpool2d_forward_d(float *out, const float *in, const ckpt_nn_pool2d_dims *d);
/* The input window [y0,y1) x [x0,x1) of avg-pool output (oy, ox), clipped to the
 * input, and its divisor (0 when the window is empty: the output is 0). */
double ckpt_nn__avgpool_window(const ckpt_nn_pool2d_dims *d, int64_t oy, int64_t ox, int64_t *y0,
                               int64_t *y1, int64_t *x0, int64_t *x1);

/* Square-kernel forms (no dilation, floor mode, count_include_pad).
 * Pooling over (B*C) planes.  out (BC,OH,OW), in (BC,H,W); OH = (H + 2P - K)/S + 1.
 * MaxPool pads with -inf; AvgPool counts the padding (count_include_pad=True). */
void ckpt_nn_maxpool2d_forward(float *out, const float *in, int64_t bc, int64_t h, int64_t w,
                               int64_t k, int64_t s, int64_t p, int64_t oh, int64_t ow);
void ckpt_nn_avgpool2d_forward(float *out, const float *in, int64_t bc, int64_t h, int64_t w,
                               int64_t k, int64_t s, int64_t p, int64_t oh, int64_t ow);
/* out (BC,OH,OW), in (BC,H,W): window [floor(i*H/OH), ceil((i+1)*H/OH)). */
void ckpt_nn_adaptive_avgpool2d_forward(float *out, const float *in, int64_t bc, int64_t h,
                                        int64_t w, int64_t oh, int64_t ow);

/* Scaled dot-product attention for one (batch, head) pair, strided rows:
 * q (T,HD) with row stride qs, k (S,HD) row stride ks, v (S,HD) row stride vs,
 * out (T,HD) row stride os, scores (T,S) scratch.  out = softmax(q k^T / sqrt(HD)) v.
 * When p > 0 and rng is non-NULL, dropout is applied to the attention weights. */
void ckpt_nn_attention_forward(float *out, const float *q, const float *k, const float *v,
                               float *scores, int64_t t, int64_t s, int64_t hd, int64_t qs,
                               int64_t ks, int64_t vs, int64_t os, double p, ckpt_rng *rng);

#endif
