/* src/onnx/ops_registry.c - (domain, op_type, opset) -> kernel. */
#include <string.h>

#include "onnx/onnx_internal.h"

static const ox_op *const tables[] = {ox_ops_elementwise, ox_ops_shape,   ox_ops_reduce,
                                      ox_ops_nn,          ox_ops_control, ox_ops_misc,
                                      ox_ops_sequence};

const ox_op *ox_op_find(const char *domain, const char *op_type, int opset)
{
    if (!strcmp(domain, "ai.onnx"))
        domain = "";
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const ox_op *op = tables[t]; op->op_type; op++) {
            if (strcmp(op->op_type, op_type) || strcmp(op->domain, domain))
                continue;
            if (opset < op->min_opset || (op->max_opset && opset > op->max_opset))
                continue;
            return op;
        }
    return NULL;
}
