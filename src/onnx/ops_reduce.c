/* src/onnx/ops_reduce.c - ONNX kernels: reduce family. */
#include "onnx/onnx_internal.h"

const ox_op ox_ops_reduce[] = {
    {0},
};
