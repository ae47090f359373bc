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

#endif
