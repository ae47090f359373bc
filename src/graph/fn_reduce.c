/* src/graph/fn_reduce.c - torch.sum / torch.mean over a list of dims (or all
 * dims), keepdim or not, on the tape.  Sums accumulate in double
 * (src/ops/tensor_kernels.c, ckpt_tk_sum_to). */
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "ops/tensor_kernels.h"

typedef struct red_ctx {
    int64_t st[CKPT_VAR_MAX_DIMS]; /* out's strides in x's index space (0: reduced) */
    float scale;
} red_ctx;

static int reduce_bw(ckpt__node *n, ckpt_error *err)
{
    const red_ctx *c = n->ctx;
    ckpt_var *x = n->in[0];
    float *g = NULL;
    CKPT_TRY(ckpt__grad(x, &g, err));
    if (g) /* the output gradient broadcast back over the reduced dims */
        ckpt_tk_gather_add(g, n->out->grad, x->ndim, x->shape, c->st, c->scale);
    return 0;
}

static ckpt_var *reduce(const char *op, bool mean, ckpt_var *x, int ndims, const int *dims,
                        bool keepdim, ckpt_error *err)
{
    if (ckpt__var_check(x, CKPT_F32, NULL, op, "x", err) < 0)
        return NULL;
    if (ndims < 0 || ndims > CKPT_VAR_MAX_DIMS) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: %d dims in the list (0 to %d)", op, ndims,
                  CKPT_VAR_MAX_DIMS);
        return NULL;
    }
    bool red[CKPT_VAR_MAX_DIMS] = {false};
    if (ndims == 0 || !dims) {
        for (int i = 0; i < x->ndim; i++)
            red[i] = true;
    } else {
        for (int i = 0; i < ndims; i++) {
            int d = 0;
            if (ckpt__dim(dims[i], x->ndim, op, &d, err) < 0)
                return NULL;
            if (x->ndim == 0) /* a 0-dim tensor accepts dim 0 / -1 */
                continue;
            if (red[d]) {
                CKPT_FAIL(err, CKPT_E_ARG,
                          "%s: dim %d appears multiple times in the list of dims", op, d);
                return NULL;
            }
            red[d] = true;
        }
    }
    int64_t keep[CKPT_VAR_MAX_DIMS], os[CKPT_VAR_MAX_DIMS], count = 1;
    int nd = 0;
    for (int i = 0; i < x->ndim; i++) {
        keep[i] = red[i] ? 1 : x->shape[i];
        if (red[i])
            count *= x->shape[i];
        if (!red[i] || keepdim)
            os[nd++] = keep[i];
    }
    ckpt_var *y = ckpt__var_new(x->tape, CKPT_F32, nd, os, err);
    if (!y)
        return NULL;
    red_ctx c;
    memset(&c, 0, sizeof c);
    ckpt_tk_broadcast_strides(c.st, x->ndim, x->shape, x->ndim, keep);
    double scale = mean ? 1.0 / (double)count : 1.0; /* mean of nothing: 0 * inf = NaN */
    c.scale = (float)scale;
    double *ws = ckpt__tape_alloc(x->tape, (size_t)y->numel * sizeof(double), err);
    if (!ws)
        return NULL;
    ckpt_tk_sum_to(y->data, false, x->data, x->ndim, x->shape, c.st, y->numel, scale, ws);
    ckpt__node *node = NULL;
    if (ckpt__record(x->tape, op, y, &x, 1, reduce_bw, sizeof(red_ctx), &node, err) < 0)
        return NULL;
    if (node)
        *(red_ctx *)node->ctx = c;
    for (int i = 0; node && i < x->ndim; i++)
        node->tr[i] = red[i];
    if (node)
        node->tr[CKPT_VAR_MAX_DIMS] = keepdim;
    return y;
}

ckpt_var *ckpt_f_sum(ckpt_var *x, int ndims, const int *dims, bool keepdim, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return reduce("sum", false, x, ndims, dims, keepdim, err);
}

ckpt_var *ckpt_f_mean(ckpt_var *x, int ndims, const int *dims, bool keepdim, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return reduce("mean", true, x, ndims, dims, keepdim, err);
}
