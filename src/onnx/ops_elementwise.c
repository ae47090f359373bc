/* src/onnx/ops_elementwise.c - ONNX kernels: element-wise math, comparisons,
 * activations, casts (every element type the spec allows). */
#include <math.h>
#include <string.h>

#include "ckpt/kernels.h"
#include "core/err.h"
#include "onnx/onnx_internal.h"

/* out = a + b with numpy broadcasting, float32 only (skeleton). */
static int k_add(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err)
{
    const ox_val *a = in[0], *b = in[1];
    if (!a || !b || a->dtype != b->dtype)
        return ox_fail(err, CKPT_E_ARG, n, "needs two inputs of one type");
    if (a->dtype != OX_FLOAT)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element type %s", ox_dtype_name(a->dtype));
    int rank;
    int64_t dims[OX_MAX_RANK];
    CKPT_TRY(ox_broadcast_shape(n, a->rank, a->dims, b->rank, b->dims, &rank, dims, err));
    CKPT_TRY(ox_out(r, n, out[0], a->dtype, rank, dims, err));
    int64_t sa[OX_MAX_RANK], sb[OX_MAX_RANK], so[OX_MAX_RANK];
    ox_strides(rank, dims, so);
    for (int i = 0; i < rank; i++) {
        int ia = i - (rank - a->rank), ib = i - (rank - b->rank);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        sa[i] = 0;
        sb[i] = 0;
        if (da != 1) {
            int64_t s = 1;
            for (int k = ia + 1; k < a->rank; k++)
                s *= a->dims[k];
            sa[i] = s;
        }
        if (db != 1) {
            int64_t s = 1;
            for (int k = ib + 1; k < b->rank; k++)
                s *= b->dims[k];
            sb[i] = s;
        }
    }
    const float *pa = a->data, *pb = b->data;
    float *po = out[0]->data;
    for (int64_t e = 0; e < out[0]->numel; e++) {
        int64_t rem = e, oa = 0, ob = 0;
        for (int i = 0; i < rank; i++) {
            int64_t c = rem / so[i];
            rem -= c * so[i];
            oa += c * sa[i];
            ob += c * sb[i];
        }
        po[e] = pa[oa] + pb[ob];
    }
    return 0;
}

static int k_relu(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    if (in[0]->dtype != OX_FLOAT)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element type %s",
                       ox_dtype_name(in[0]->dtype));
    CKPT_TRY(ox_out(r, n, out[0], OX_FLOAT, in[0]->rank, in[0]->dims, err));
    ckpt_nn_relu_forward(out[0]->data, in[0]->data, (size_t)in[0]->numel);
    return 0;
}

const ox_op ox_ops_elementwise[] = {
    {"Add", "", 1, 0, k_add, NULL},
    {"Relu", "", 1, 0, k_relu, NULL},
    {0},
};
