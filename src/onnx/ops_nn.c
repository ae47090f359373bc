/* src/onnx/ops_nn.c - ONNX kernels: matrix products, convolution, pooling,
 * normalisation, recurrent layers, resampling. */
#include <cblas.h>
#include <string.h>

#include "ckpt/kernels.h"
#include "core/err.h"
#include "onnx/onnx_internal.h"

/* 2-D float MatMul (skeleton). */
static int k_matmul(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                    ckpt_error *err)
{
    const ox_val *a = in[0], *b = in[1];
    if (a->dtype != OX_FLOAT || b->dtype != OX_FLOAT || a->rank != 2 || b->rank != 2)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "only 2-D float32 (skeleton)");
    if (a->dims[1] != b->dims[0])
        return ox_fail(err, CKPT_E_SHAPE, n, "inner dims %lld and %lld differ",
                       (long long)a->dims[1], (long long)b->dims[0]);
    int64_t d[2] = {a->dims[0], b->dims[1]};
    CKPT_TRY(ox_out(r, n, out[0], OX_FLOAT, 2, d, err));
    if (out[0]->numel == 0)
        return 0;
    if (a->dims[1] == 0) {
        memset(out[0]->data, 0, (size_t)out[0]->numel * 4);
        return 0;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)d[0], (int)d[1], (int)a->dims[1],
                1.0f, a->data, (int)a->dims[1], b->data, (int)d[1], 0.0f, out[0]->data,
                (int)d[1]);
    return 0;
}

const ox_op ox_ops_nn[] = {
    {"MatMul", "", 1, 0, k_matmul, NULL},
    {0},
};
