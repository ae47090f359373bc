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

/* Loss of log-probabilities lp (N,C,S) (read through ox_get_f64) against
 * targets t (N*S); w (C) or NULL; l: N*S doubles of scratch.  Writes `y`
 * (dtype ydt; the target's shape for none, a scalar otherwise). */
static int nll_core(ox_run *r, const ox_node *n, const ox_val *lp, const int64_t *t,
                    const ox_val *w, int64_t nb, int64_t c, int64_t s, const ox_val *target,
                    int ydt, ox_val *y, double *l, ckpt_error *err)
{
    int red = RED_MEAN;
    CKPT_TRY(loss_reduction(n, &red, err));
    const bool has_ii = ox_attr_get(n, "ignore_index") != NULL;
    const int64_t ii = ox_attr_int(n, "ignore_index", 0);
    if (w && w->numel != c)
        return ox_fail(err, CKPT_E_SHAPE, n, "weight has %lld values, %lld classes",
                       (long long)w->numel, (long long)c);
    if (red == RED_NONE)
        CKPT_TRY(ox_out(r, n, y, ydt, target->rank, target->dims, err));
    else
        CKPT_TRY(ox_out(r, n, y, ydt, 0, NULL, err));
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
    if (red == RED_NONE)
        rd_store_f64(y, l);
    else
        ox_set_f64(y, 0, red == RED_SUM ? tot : tot / wsum);
    return 0;
}

static int check_inputs(const ox_node *n, ox_val *const *in, ckpt_error *err)
{
    const ox_val *x = in[0], *t = n->n_in > 1 ? in[1] : NULL, *w = n->n_in > 2 ? in[2] : NULL;
    if (!x || x->kind != OX_KIND_TENSOR || !rd_is_floating(x->dtype))
        return ox_fail(err, CKPT_E_ARG, n, "input 0 must be a floating tensor");
    if (w && (w->kind != OX_KIND_TENSOR || !rd_is_floating(w->dtype)))
        return ox_fail(err, CKPT_E_ARG, n, "weights must be a floating tensor");
    if (!t || t->kind != OX_KIND_TENSOR || !rd_is_integer(t->dtype))
        return ox_fail(err, CKPT_E_ARG, n, "target must be an integer tensor");
    if (x->rank < 2 || t->rank != x->rank - 1 || t->dims[0] != x->dims[0])
        return ox_fail(err, CKPT_E_SHAPE, n, "input (N,C,d...) and target (N,d...) disagree");
    for (int i = 1; i < t->rank; i++)
        if (t->dims[i] != x->dims[i + 1])
            return ox_fail(err, CKPT_E_SHAPE, n, "target dim %d is %lld, input's %lld", i,
                           (long long)t->dims[i], (long long)x->dims[i + 1]);
    return 0;
}

/* One scratch block: l (m doubles), targets (m int64), then `extra` bytes. */
static void *loss_scratch(ox_run *r, int64_t m, size_t extra, ckpt_error *err)
{
    size_t mm = (size_t)(m > 0 ? m : 1);
    return ox_scratch(r, mm * (sizeof(double) + sizeof(int64_t)) + extra, err);
}

int ox_k_nllloss(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err)
{
    CKPT_TRY(rd_check_io(n, in, out, err));
    CKPT_TRY(check_inputs(n, in, err));
    const ox_val *x = in[0], *w = n->n_in > 2 ? in[2] : NULL;
    const int64_t nb = x->dims[0], c = x->dims[1], s = rd_prod(x->dims, 2, x->rank);
    double *l = loss_scratch(r, nb * s, 0, err);
    if (!l)
        return RD_ERR(err);
    int64_t *t = (int64_t *)(void *)(l + (nb * s > 0 ? nb * s : 1));
    rd_load_i64(in[1], t);
    return nll_core(r, n, x, t, w, nb, c, s, in[1], x->dtype, out[0], l, err);
}

int ox_k_sceloss(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err)
{
    CKPT_TRY(rd_check_io(n, in, out, err));
    CKPT_TRY(check_inputs(n, in, err));
    const ox_val *x = in[0], *w = n->n_in > 2 ? in[2] : NULL;
    const int64_t nb = x->dims[0], c = x->dims[1], s = rd_prod(x->dims, 2, x->rank);
    const int64_t m = nb * s, mm = m > 0 ? m : 1;
    ox_val *lpo = n->n_out > 1 ? out[1] : NULL;
    CKPT_TRY(ox_out(r, n, lpo, x->dtype, x->rank, x->dims, err));
    /* float32: log-probabilities by the op library, in the log_prob output or
     * in scratch; other types: in double (scratch), rounded into log_prob */
    const bool f32 = x->dtype == OX_FLOAT;
    size_t extra = (size_t)x->numel * (f32 ? (lpo ? 0 : sizeof(float)) : sizeof(double));
    double *l = loss_scratch(r, m, extra, err);
    if (!l)
        return RD_ERR(err);
    int64_t *t = (int64_t *)(void *)(l + mm);
    void *tail = t + mm;
    rd_load_i64(in[1], t);
    ox_val lp;
    memset(&lp, 0, sizeof lp);
    lp.kind = OX_KIND_TENSOR;
    lp.rank = x->rank;
    memcpy(lp.dims, x->dims, sizeof lp.dims);
    lp.numel = x->numel;
    if (f32) {
        lp.dtype = OX_FLOAT;
        lp.data = lpo ? lpo->data : tail;
        if (x->numel > 0)
            ckpt_nn_logsoftmax_forward(lp.data, x->data, nb, c, s);
    } else {
        double *v = tail;
        lp.dtype = OX_DOUBLE;
        lp.data = v;
        rd_load_f64(x, v);
        for (int64_t bI = 0; bI < nb; bI++)
            for (int64_t i = 0; i < s; i++) {
                double *p = v + bI * c * s + i, mx = -(double)INFINITY, sum = 0.0;
                for (int64_t k = 0; k < c; k++)
                    mx = p[k * s] > mx ? p[k * s] : mx;
                for (int64_t k = 0; k < c; k++)
                    sum += exp(p[k * s] - mx);
                double lse = mx + log(sum);
                for (int64_t k = 0; k < c; k++)
                    p[k * s] -= lse;
            }
        if (lpo)
            rd_store_f64(lpo, v);
    }
    return nll_core(r, n, &lp, t, w, nb, c, s, in[1], x->dtype, out[0], l, err);
}
