/* src/onnx/ops_rnn.c - ONNX kernels: rnn family. */
#include "onnx/onnx_internal.h"

const ox_op ox_ops_rnn[] = {
    {0},
};
