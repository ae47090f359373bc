/* src/onnx/reduce_loss.c - ONNX kernels of the reduce family: the losses
 * NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (class weights,
 * ignore_index, reduction none / sum / mean, SCE's optional log_prob output).
 * The log-softmax of float32 scores is the op library's kernel; the loss
 * itself is summed in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/kernels.h"
#include "core/err.h"
#include "onnx/onnx_internal.h"
#include "onnx/reduce_util.h"

enum { RED_NONE, RED_SUM, RED_MEAN };

static int loss_reduction(const ox_node *n, int *red, ckpt_error *err)
{
    const char *s = ox_attr_str(n, "reduction", "mean");
    if (!strcmp(s, "none"))
        *red = RED_NONE;
    else if (!strcmp(s, "sum"))
        *red = RED_SUM;
    else if (!strcmp(s, "mean"))
        *red = RED_MEAN;
    else
        return ox_fail(err, CKPT_E_ARG, n, "unknown reduction '%s'", s);
    return 0;
}

/* Loss of log-probabilities lp (N,C,S) (read through get(lp, i)) against
 * targets t (N*S); w (C) or NULL.  Writes `y` (dtype of the input; shape
 * (N, d1..dk) for none, a scalar otherwise). */
static int nll_core(ox_run *r, const ox_node *n, const ox_val *lp, const int64_t *t,
                    const ox_val *w, int64_t nb, int64_t c, int64_t s, const ox_val *target,
                    ox_val *y, ckpt_error *err)
{
    int red = RED_MEAN;
    CKPT_TRY(loss_reduction(n, &red, err));
    const bool has_ii = ox_attr_get(n, "ignore_index") != NULL;
    const int64_t ii = ox_attr_int(n, "ignore_index", 0);
    if (w && w->numel != c)
        return ox_fail(err, CKPT_E_SHAPE, n, "weight has %lld values, %lld classes",
                       (long long)w->numel, (long long)c);
    if (red == RED_NONE)
        CKPT_TRY(ox_out(r, n, y, lp->dtype, target->rank, target->dims, err));
    else
        CKPT_TRY(ox_out(r, n, y, lp->dtype, 0, NULL, err));
    const int64_t m = nb * s;
    double *l = ox_scratch(r, (size_t)(m > 0 ? m : 1) * sizeof(double), err);
    if (!l)
        return RD_ERR(err);
    double tot = 0.0, wsum = 0.0;
    for (int64_t bI = 0; bI < nb; bI++)
        for (int64_t i = 0; i < s; i++) {
            int64_t k = bI * s + i, cls = t[k];
            if (has_ii && cls == ii) {
                l[k] = 0.0;
                continue;
            }
            if (cls < 0 || cls >= c)
                return ox_fail(err, CKPT_E_SHAPE, n, "target %lld outside [0, %lld)",
                               (long long)cls, (long long)c);
            double wt = w ? ox_get_f64(w, cls) : 1.0;
            l[k] = -ox_get_f64(lp, (bI * c + cls) * s + i) * wt;
            tot += l[k];
            wsum += wt;
        }
    if (red == RED_NONE) {
        rd_store_f64(y, l);
    } else {
        double v = red == RED_SUM ? tot : tot / wsum;
        ox_set_f64(y, 0, v);
    }
    return 0;
}

static int read_targets(ox_run *r, const ox_node *n, const ox_val *x, const ox_val *t,
                        int64_t **dst, ckpt_error *err)
{
    if (!t || t->kind != OX_KIND_TENSOR || !rd_is_integer(t->dtype))
        return ox_fail(err, CKPT_E_ARG, n, "target must be an integer tensor");
    if (x->rank < 2 || t->rank != x->rank - 1 || t->dims[0] != x->dims[0])
        return ox_fail(err, CKPT_E_SHAPE, n, "input (N,C,d...) and target (N,d...) disagree");
    for (int i = 1; i < t->rank; i++)
        if (t->dims[i] != x->dims[i + 1])
            return ox_fail(err, CKPT_E_SHAPE, n, "target dim %d is %lld, input's %lld", i,
                           (long long)t->dims[i], (long long)x->dims[i + 1]);
    (void)r;
    int64_t *p = malloc((size_t)(t->numel > 0 ? t->numel : 1) * sizeof(int64_t));
    if (!p)
        return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
    rd_load_i64(t, p);
    *dst = p;
    return 0;
}

static int check_float(const ox_node *n, const ox_val *v, int k, ckpt_error *err)
{
    if (!v || v->kind != OX_KIND_TENSOR || !rd_is_floating(v->dtype))
        return ox_fail(err, CKPT_E_ARG, n, "input %d must be a floating tensor", k);
    return 0;
}

int ox_k_nllloss(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err)
{
    const ox_val *x = in[0], *w = n->n_in > 2 ? in[2] : NULL;
    CKPT_TRY(check_float(n, x, 0, err));
    if (w)
        CKPT_TRY(check_float(n, w, 2, err));
    int64_t *t = NULL;
    CKPT_TRY(read_targets(r, n, x, n->n_in > 1 ? in[1] : NULL, &t, err));
    int rc = nll_core(r, n, x, t, w, x->dims[0], x->dims[1], rd_prod(x->dims, 2, x->rank), in[1],
                      out[0], err);
    free(t);
    return rc;
}

int ox_k_sceloss(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err)
{
    const ox_val *x = in[0], *w = n->n_in > 2 ? in[2] : NULL;
    CKPT_TRY(check_float(n, x, 0, err));
    if (w)
        CKPT_TRY(check_float(n, w, 2, err));
    int64_t *t = NULL;
    CKPT_TRY(read_targets(r, n, x, n->n_in > 1 ? in[1] : NULL, &t, err));
    const int64_t nb = x->dims[0], c = x->dims[1], s = rd_prod(x->dims, 2, x->rank);
    /* log_prob: the optional output, or a temporary value */
    ox_val tmp;
    memset(&tmp, 0, sizeof tmp);
    ox_val *lp = n->n_out > 1 && out[1] ? out[1] : &tmp;
    int rc = lp == &tmp ? ox_val_reshape_alloc(lp, x->dtype, x->rank, x->dims, err)
                        : ox_out(r, n, lp, x->dtype, x->rank, x->dims, err);
    if (rc >= 0 && x->numel > 0) {
        if (x->dtype == OX_FLOAT) {
            ckpt_nn_logsoftmax_forward(lp->data, x->data, nb, c, s);
        } else {
            double *v = malloc((size_t)x->numel * sizeof(double));
            if (!v) {
                rc = ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
            } else {
                rd_load_f64(x, v);
                for (int64_t bI = 0; bI < nb; bI++)
                    for (int64_t i = 0; i < s; i++) {
                        double *p = v + bI * c * s + i, mx = -INFINITY, sum = 0.0;
                        for (int64_t k = 0; k < c; k++)
                            mx = p[k * s] > mx ? p[k * s] : mx;
                        for (int64_t k = 0; k < c; k++)
                            sum += exp(p[k * s] - mx);
                        double lse = mx + log(sum);
                        for (int64_t k = 0; k < c; k++)
                            p[k * s] -= lse;
                    }
                rd_store_f64(lp, v);
                free(v);
            }
        }
    }
    if (rc >= 0)
        rc = nll_core(r, n, lp, t, w, nb, c, s, in[1], out[0], err);
    ox_val_clear(&tmp);
    free(t);
    return rc;
}
