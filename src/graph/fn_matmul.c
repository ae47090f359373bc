/* src/graph/fn_matmul.c - torch.matmul and torch.bmm on the tape.  Every
 * product is a cblas_sgemm (src/ops/tensor_kernels.c); the backward uses the
 * transposed gemm flags, never a transposed copy. */
#include <limits.h>
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "ops/tensor_kernels.h"

typedef struct mm_ctx {
    ckpt_tk_matmul_dims d;
} mm_ctx;

static int matmul_bw(ckpt__node *n, ckpt_error *err)
{
    const mm_ctx *c = n->ctx;
    ckpt_var *a = n->in[0], *b = n->in[1];
    float *ga = NULL, *gb = NULL;
    CKPT_TRY(ckpt__grad(a, &ga, err));
    CKPT_TRY(ckpt__grad(b, &gb, err));
    /* matmul(x, x): ga == gb, both gemms accumulate into it (they read only
     * data and the output gradient) */
    ckpt_tk_matmul_backward(ga, gb, n->out->grad, a->data, b->data, &c->d);
    return 0;
}

static int too_big(int64_t x)
{
    return x > INT_MAX;
}

/* torch.matmul's rule: a 1-D a is a row (1,K) and b a column (K,1), the
 * added dim removed from the result; leading dims are batch dims that
 * broadcast. */
static ckpt_var *matmul(const char *op, ckpt_var *a, ckpt_var *b, ckpt_error *err)
{
    if (ckpt__var_check(a, CKPT_F32, NULL, op, "a", err) < 0 ||
        ckpt__var_check(b, CKPT_F32, a->tape, op, "b", err) < 0)
        return NULL;
    char s1[128], s2[128];
    ckpt__shape_str(a, s1, sizeof s1);
    ckpt__shape_str(b, s2, sizeof s2);
    if (a->ndim == 0 || b->ndim == 0) {
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "%s: both arguments need to be at least 1D, but they are %dD %s and %dD %s", op,
                  a->ndim, s1, b->ndim, s2);
        return NULL;
    }
    ckpt_tk_matmul_dims d;
    memset(&d, 0, sizeof d);
    int nba = a->ndim >= 2 ? a->ndim - 2 : 0, nbb = b->ndim >= 2 ? b->ndim - 2 : 0;
    d.n = a->ndim >= 2 ? a->shape[a->ndim - 2] : 1;
    d.k = a->shape[a->ndim - 1];
    int64_t kb = b->ndim >= 2 ? b->shape[b->ndim - 2] : b->shape[0];
    d.m = b->ndim >= 2 ? b->shape[b->ndim - 1] : 1;
    if (d.k != kb) {
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "%s: shapes %s and %s cannot be multiplied (a has %lld columns, b has %lld "
                  "rows)",
                  op, s1, s2, (long long)d.k, (long long)kb);
        return NULL;
    }
    int bad = ckpt_tk_broadcast_shape(nba, a->shape, nbb, b->shape, &d.nb, d.batch);
    if (bad >= 0) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: batch dims of %s and %s do not broadcast (dim %d)", op,
                  s1, s2, bad);
        return NULL;
    }
    ckpt_tk_broadcast_strides(d.sa, d.nb, d.batch, nba, a->shape);
    ckpt_tk_broadcast_strides(d.sb, d.nb, d.batch, nbb, b->shape);
    d.nbatch = 1;
    for (int i = 0; i < d.nb; i++) {
        d.sa[i] *= d.n * d.k;
        d.sb[i] *= d.k * d.m;
        d.nbatch *= d.batch[i];
    }
    d.abatch = 1;
    for (int i = 0; i < nba; i++)
        d.abatch *= a->shape[i];
    d.bbatch = 1;
    for (int i = 0; i < nbb; i++)
        d.bbatch *= b->shape[i];
    if (too_big(d.n * d.nbatch) || too_big(d.k) || too_big(d.m) || too_big(d.k * d.nbatch)) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: shapes %s and %s are too large for BLAS (int) sizes",
                  op, s1, s2);
        return NULL;
    }
    int64_t os[CKPT_VAR_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < d.nb; i++)
        os[nd++] = d.batch[i];
    if (a->ndim >= 2)
        os[nd++] = d.n;
    if (b->ndim >= 2)
        os[nd++] = d.m;
    ckpt_var *y = ckpt__var_new(a->tape, CKPT_F32, nd, os, err);
    if (!y)
        return NULL;
    ckpt_tk_matmul_forward(y->data, a->data, b->data, &d);
    ckpt__node *node = NULL;
    ckpt_var *in[2] = {a, b};
    if (ckpt__record(a->tape, op, y, in, 2, matmul_bw, sizeof(mm_ctx), &node, err) < 0)
        return NULL;
    if (node)
        ((mm_ctx *)node->ctx)->d = d;
    return y;
}

ckpt_var *ckpt_f_matmul(ckpt_var *a, ckpt_var *b, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return matmul("matmul", a, b, err);
}

ckpt_var *ckpt_f_bmm(ckpt_var *a, ckpt_var *b, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (ckpt__var_check(a, CKPT_F32, NULL, "bmm", "a", err) < 0 ||
        ckpt__var_check(b, CKPT_F32, a->tape, "bmm", "b", err) < 0)
        return NULL;
    char s1[128], s2[128];
    if (a->ndim != 3 || b->ndim != 3) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "bmm: both arguments must be 3D tensors, got %s and %s",
                  ckpt__shape_str(a, s1, sizeof s1), ckpt__shape_str(b, s2, sizeof s2));
        return NULL;
    }
    if (a->shape[0] != b->shape[0]) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "bmm: batch sizes of %s and %s differ (%lld and %lld)",
                  ckpt__shape_str(a, s1, sizeof s1), ckpt__shape_str(b, s2, sizeof s2),
                  (long long)a->shape[0], (long long)b->shape[0]);
        return NULL;
    }
    return matmul("bmm", a, b, err);
}
