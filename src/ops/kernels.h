/* src/ops/kernels.h - the library's view of its raw float32 kernels.
 *
 * The kernels are public (the explicit-control tier): every forward and
 * backward kernel is declared, documented and exported ONCE, in
 * include/ckpt/kernels.h.  This header adds only what stays internal. */
#ifndef CKPT_NN_KERNELS_H
#define CKPT_NN_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/kernels.h"
#include "ckpt/nn.h"

/* The input window [y0,y1) x [x0,x1) of avg-pool output (oy, ox), clipped to the
 * input, and its divisor (0 when the window is empty: the output is 0). */
double ckpt_nn__avgpool_window(const ckpt_nn_pool2d_dims *d, int64_t oy, int64_t ox, int64_t *y0,
                               int64_t *y1, int64_t *x0, int64_t *x1);

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
/* The source index of padded position i (i in [-before, n + after)) under `mode`,
 * or -1 where the padding is zero. */
int64_t ckpt_nn__pad_src(int64_t i, int64_t n, int mode);
/* ckpt_nn_pad2d_forward / _backward: public, in ckpt/kernels.h. */

/* The taps of pooling window o along one dim: input index of tap 0 (*start, may be
 * negative) and the taps [k0, k1) that fall inside [0, n). */
void ckpt_nn__pool_taps(int64_t o, int64_t s, int64_t p, int64_t dil, int64_t k, int64_t n,
                        int64_t *start, int64_t *k0, int64_t *k1);

/* cols (CG*KH*KW, OH*OW) = the receptive fields of one group's planes in
 * (CG,H,W), zeros where a field reaches into the padding (conv2d forward and
 * the weight gradient of its backward). */
void ckpt_nn__im2col(float *cols, const float *in, int64_t cg, const ckpt_nn_conv2d_dims *d);

/* The geometry of the square-window pooling wrappers (kernel k, stride s,
 * padding p on both dims, no dilation): one place for the four of them. */
ckpt_nn_pool2d_dims ckpt_nn__pool2d_square(int64_t bc, int64_t h, int64_t w, int64_t k, int64_t s,
                                           int64_t p, int64_t oh, int64_t ow);

#endif
