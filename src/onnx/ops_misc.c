/* src/onnx/ops_misc.c - ONNX kernels: misc family. */
#include "onnx/onnx_internal.h"

const ox_op ox_ops_misc[] = {
    {0},
};
