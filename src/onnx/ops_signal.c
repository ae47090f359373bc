/* src/onnx/ops_signal.c - ONNX kernels: signal family. */
#include "onnx/onnx_internal.h"

const ox_op ox_ops_signal[] = {
    {0},
};
