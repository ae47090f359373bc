/* src/onnx/ops_ml.c - ONNX kernels: ml family. */
#include "onnx/onnx_internal.h"

const ox_op ox_ops_ml[] = {
    {0},
};
