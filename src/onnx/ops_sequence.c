/* src/onnx/ops_sequence.c - ONNX kernels: sequence family. */
#include "onnx/onnx_internal.h"

const ox_op ox_ops_sequence[] = {
    {0},
};
