/* src/ops/rnn_kernels.h - the recurrent-layer kernels (LSTM, GRU): one
 * direction of one layer over a sequence, and its backward through time.
 * They are public, declared, documented and exported once in
 * include/ckpt/kernels.h (section "recurrent layers"). */
#ifndef CKPT_OPS_RNN_KERNELS_H
#define CKPT_OPS_RNN_KERNELS_H

#include "ckpt/kernels.h"

#endif
