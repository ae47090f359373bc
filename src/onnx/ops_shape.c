/* src/onnx/ops_shape.c - ONNX kernels: shapes, indexing, data movement. */
#include <string.h>

#include "core/err.h"
#include "onnx/onnx_internal.h"

static int k_identity(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    if (!in[0])
        return ox_fail(err, CKPT_E_ARG, n, "missing input");
    if (in[0]->kind != OX_KIND_TENSOR)
        return ox_val_copy(out[0], in[0], err);
    return ox_alias(r, n, out[0], in[0], in[0]->rank, in[0]->dims, err);
}

static int k_constant(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    (void)in;
    const ox_val *t = ox_attr_tensor(n, "value");
    if (!t)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "only the 'value' attribute (skeleton)");
    return ox_alias(r, n, out[0], t, t->rank, t->dims, err);
}

const ox_op ox_ops_shape[] = {
    {"Identity", "", 1, 0, k_identity, NULL},
    {"Constant", "", 1, 0, k_constant, NULL},
    {0},
};
