/* src/ops/kernels_nd.h - the general N-d forms of the convolution,
 * transposed-convolution and pooling kernels (1-d, 2-d, 3-d ...), with
 * padding given per side (ONNX's asymmetric pads) and dilation everywhere.
 *
 * The 2-d kernels of ckpt/kernels.h stay the hot path for 2-d (and 1-d as
 * H = 1) work; these cover the forms they cannot express (3-d and more,
 * average pooling that counts an asymmetric padding, max pooling that
 * reports its argmax, Lp pooling).  Same conventions as ckpt/kernels.h:
 * float32, row-major, outputs written, scratch passed in, no checks.
 * Internal (the ONNX runtime is their caller); not exported. */
#ifndef CKPT_NN_KERNELS_ND_H
#define CKPT_NN_KERNELS_ND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CKPT_NN_MAX_ND 8

/* N-d convolution geometry: input (B,C,in...), weight (OC,C/G,k...),
 * output (B,OC,out...).  p: padding before each spatial dim (the padding
 * after it only changes `out`, which the caller fills).  For the transposed
 * convolution the weight is (C,OC/G,k...) and out[i] = position range of the
 * output; an input position x lands at x*s - p + t*d for tap t. */
typedef struct ckpt_nn_convnd_dims {
    int nd; /* spatial dims, 1..CKPT_NN_MAX_ND */
    int64_t b, c, oc, g;
    int64_t in[CKPT_NN_MAX_ND], k[CKPT_NN_MAX_ND], s[CKPT_NN_MAX_ND], p[CKPT_NN_MAX_ND],
        d[CKPT_NN_MAX_ND], out[CKPT_NN_MAX_ND];
} ckpt_nn_convnd_dims;

/* Scratch floats of the forward: (C/G * prod k) * prod out. */
size_t ckpt_nn_convnd_ws(const ckpt_nn_convnd_dims *d);
/* out (B,OC,out...) = conv(in, w) + b (b NULL: no bias): N-d im2col per
 * image and group, then sgemm. */
void ckpt_nn_convnd_forward(float *out, const float *in, const float *w, const float *b,
                            float *ws, const ckpt_nn_convnd_dims *d);

/* Scratch floats of the transposed forward: (OC/G * prod k) * prod in. */
size_t ckpt_nn_conv_transposend_ws(const ckpt_nn_convnd_dims *d);
/* out (B,OC,out...) = conv_transpose(in (B,C,in...), w (C,OC/G,k...)) + b:
 * sgemm w^T @ in per image and group, then N-d col2im into the bias-filled
 * output (taps landing outside [0, out) dropped). */
void ckpt_nn_conv_transposend_forward(float *out, const float *in, const float *w, const float *b,
                                      float *ws, const ckpt_nn_convnd_dims *d);

enum { CKPT_NN_POOL_MAX = 0, CKPT_NN_POOL_AVG = 1, CKPT_NN_POOL_LP = 2 };

/* N-d pooling over (BC, in...) planes.  pb / pe: padding before / after each
 * dim; out[] filled by the caller.  Max: padding is -inf, NaN propagates;
 * avg: the divisor counts the taps inside the input, or (count_pad) inside
 * [-pb, in + pe); Lp: (sum |x|^p)^(1/p) over the taps inside the input. */
typedef struct ckpt_nn_poolnd_dims {
    int nd;
    int kind; /* CKPT_NN_POOL_* */
    int64_t bc;
    int64_t in[CKPT_NN_MAX_ND], k[CKPT_NN_MAX_ND], s[CKPT_NN_MAX_ND], pb[CKPT_NN_MAX_ND],
        pe[CKPT_NN_MAX_ND], d[CKPT_NN_MAX_ND], out[CKPT_NN_MAX_ND];
    bool count_pad;
    double p; /* Lp */
} ckpt_nn_poolnd_dims;

/* out (BC, out...) from in (BC, in...), written.  idx (BC, out...): for max
 * pooling, when not NULL, the row-major index inside its plane of each
 * output's maximum (the first maximum in scan order; -1 for a window with no
 * input tap). */
void ckpt_nn_poolnd_forward(float *out, int64_t *idx, const float *in,
                            const ckpt_nn_poolnd_dims *d);

#endif
