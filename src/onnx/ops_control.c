/* src/onnx/ops_control.c - ONNX kernels: control family. */
#include "onnx/onnx_internal.h"

const ox_op ox_ops_control[] = {
    {0},
};
