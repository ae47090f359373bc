/* src/onnx/ops_newer.c - ONNX kernels: newer family. */
#include "onnx/onnx_internal.h"

const ox_op ox_ops_newer[] = {
    {0},
};
