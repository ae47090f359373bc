/* src/onnx/ops_image.c - ONNX kernels: image family. */
#include "onnx/onnx_internal.h"

const ox_op ox_ops_image[] = {
    {0},
};
