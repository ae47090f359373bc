/* src/ops/backward.h - the backward kernels of the layer library.
 *
 * They are public: declared, documented and exported once in
 * include/ckpt/kernels.h (gradients are ADDED into; NULL = not wanted;
 * nothing allocates).  The losses (cross-entropy, MSE) are in
 * include/ckpt/nn.h.  This header stays so the library's sources keep one
 * include for "the backward kernels". */
#ifndef CKPT_NN_BACKWARD_H
#define CKPT_NN_BACKWARD_H

#include "ckpt/kernels.h"
#include "ckpt/nn.h"
#include "ops/kernels.h"

#endif
