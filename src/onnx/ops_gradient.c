/* src/onnx/ops_gradient.c - ai.onnx.preview.training Gradient: the gradient
 * of value `y` of the enclosing graph with respect to the values named in
 * `xs`, by reverse accumulation over the nodes that lead from xs to y (dy is
 * ones).  Float32/float64 tensors through element-wise Add, Sub, Mul, Div,
 * Neg, Identity, Relu, Sigmoid, Tanh, Exp, Log, Sqrt (numpy broadcasting:
 * gradients are summed back to each input's shape) and 2-D MatMul; any other
 * op on a path from xs to y is an error naming it. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/onnx_internal.h"

typedef struct gctx {
    const ox_graph *g;
    ox_run *r;
    double **grad; /* per value index, NULL when no gradient flows there */
} gctx;

static int grad_buf(gctx *c, int vi, const ox_node *n, ckpt_error *err)
{
    if (c->grad[vi])
        return 0;
    const ox_val *v = ox_run_value(c->r, vi);
    c->grad[vi] = calloc(v->numel ? (size_t)v->numel : 1, sizeof(double));
    if (!c->grad[vi])
        return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
    return 0;
}

/* Offset of out-element `e` (of out dims) in an input broadcast to them. */
static int64_t bcast_off(const ox_val *in, int orank, const int64_t *odims, int64_t e)
{
    int64_t off = 0, stride = 1;
    for (int i = orank - 1; i >= 0; i--) {
        int64_t c = e % odims[i];
        e /= odims[i];
        int ii = i - (orank - in->rank);
        if (ii >= 0) {
            if (in->dims[ii] != 1)
                off += c * stride;
            stride *= in->dims[ii];
        }
    }
    return off;
}

/* d(out)/d(input k) for one element-wise node, accumulated into grad[in[k]]. */
static int back_elementwise(gctx *c, const ox_node *n, ckpt_error *err)
{
    const ox_val *o = ox_run_value(c->r, n->out[0]);
    const double *go = c->grad[n->out[0]];
    const char *op = n->op_type;
    for (int k = 0; k < n->n_in && k < 2; k++) {
        int vi = n->in[k];
        if (vi < 0)
            continue;
        CKPT_TRY(grad_buf(c, vi, n, err));
        double *gi = c->grad[vi];
        const ox_val *a = ox_run_value(c->r, n->in[0]);
        const ox_val *b = n->n_in > 1 && n->in[1] >= 0 ? ox_run_value(c->r, n->in[1]) : NULL;
        const ox_val *self = k == 0 ? a : b;
        for (int64_t e = 0; e < o->numel; e++) {
            double av = ox_get_f64(a, bcast_off(a, o->rank, o->dims, e));
            double bv = b ? ox_get_f64(b, bcast_off(b, o->rank, o->dims, e)) : 0.0;
            double ov = ox_get_f64(o, e), d;
            if (!strcmp(op, "Add") || !strcmp(op, "Identity"))
                d = 1.0;
            else if (!strcmp(op, "Sub"))
                d = k == 0 ? 1.0 : -1.0;
            else if (!strcmp(op, "Mul"))
                d = k == 0 ? bv : av;
            else if (!strcmp(op, "Div"))
                d = k == 0 ? 1.0 / bv : -av / (bv * bv);
            else if (!strcmp(op, "Neg"))
                d = -1.0;
            else if (!strcmp(op, "Relu"))
                d = av > 0 ? 1.0 : 0.0;
            else if (!strcmp(op, "Sigmoid"))
                d = ov * (1.0 - ov);
            else if (!strcmp(op, "Tanh"))
                d = 1.0 - ov * ov;
            else if (!strcmp(op, "Exp"))
                d = ov;
            else if (!strcmp(op, "Log"))
                d = 1.0 / av;
            else /* Sqrt */
                d = 0.5 / ov;
            gi[bcast_off(self, o->rank, o->dims, e)] += go[e] * d;
        }
    }
    return 0;
}

static int back_matmul(gctx *c, const ox_node *n, ckpt_error *err)
{
    const ox_val *a = ox_run_value(c->r, n->in[0]), *b = ox_run_value(c->r, n->in[1]);
    if (a->rank != 2 || b->rank != 2)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "Gradient through MatMul needs 2-D operands");
    int64_t M = a->dims[0], K = a->dims[1], N = b->dims[1];
    const double *go = c->grad[n->out[0]];
    CKPT_TRY(grad_buf(c, n->in[0], n, err));
    CKPT_TRY(grad_buf(c, n->in[1], n, err));
    double *ga = c->grad[n->in[0]], *gb = c->grad[n->in[1]];
    for (int64_t i = 0; i < M; i++)
        for (int64_t j = 0; j < N; j++)
            for (int64_t k = 0; k < K; k++) {
                ga[i * K + k] += go[i * N + j] * ox_get_f64(b, k * N + j);
                gb[k * N + j] += go[i * N + j] * ox_get_f64(a, i * K + k);
            }
    return 0;
}

static bool elementwise(const char *op)
{
    static const char *const ops[] = {"Add",     "Sub",  "Mul", "Div", "Neg",  "Identity", "Relu",
                                      "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", NULL};
    for (int i = 0; ops[i]; i++)
        if (!strcmp(op, ops[i]))
            return true;
    return false;
}

static int k_gradient(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    (void)in;
    const ox_graph *g = ox_run_graph(r);
    const ox_attr *xs = ox_attr_get(n, "xs");
    const char *yname = ox_attr_str(n, "y", NULL);
    if (!xs || xs->type != OX_ATTR_STRINGS || !yname)
        return ox_fail(err, CKPT_E_FORMAT, n, "needs attributes xs (strings) and y (string)");
    if ((int)xs->n != n->n_out)
        return ox_fail(err, CKPT_E_FORMAT, n, "%zu xs for %d outputs", xs->n, n->n_out);
    int yi = ox_graph_find(g, yname);
    if (yi < 0 || g->values[yi].producer < 0 || g->values[yi].producer >= n->index)
        return ox_fail(err, CKPT_E_FORMAT, n, "y '%s' is not computed before the Gradient node",
                       yname);
    gctx c = {g, r, calloc((size_t)g->n_values, sizeof(double *))};
    if (!c.grad)
        return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
    int rc = 0;
    const ox_val *yv = ox_run_value(r, yi);
    if (yv->kind != OX_KIND_TENSOR || (yv->dtype != OX_FLOAT && yv->dtype != OX_DOUBLE)) {
        rc = ox_fail(err, CKPT_E_UNSUPPORTED, n, "y must be a float tensor");
        goto out;
    }
    rc = grad_buf(&c, yi, n, err);
    for (int64_t e = 0; rc == 0 && e < yv->numel; e++)
        c.grad[yi][e] = 1.0;
    for (int i = g->values[yi].producer; rc == 0 && i >= 0; i--) {
        const ox_node *p = &g->nodes[i];
        if (p->n_out < 1 || p->out[0] < 0 || !c.grad[p->out[0]])
            continue;
        if (elementwise(p->op_type))
            rc = back_elementwise(&c, p, err);
        else if (!strcmp(p->op_type, "MatMul"))
            rc = back_matmul(&c, p, err);
        else
            rc = ox_fail(err, CKPT_E_UNSUPPORTED, n, "no gradient for node '%s' (%s)", p->name,
                         p->op_type);
    }
    for (int k = 0; rc == 0 && k < n->n_out; k++) {
        int xi = ox_graph_find(g, xs->strings[k]);
        if (xi < 0) {
            rc = ox_fail(err, CKPT_E_FORMAT, n, "xs '%s' is not a value of the graph",
                         xs->strings[k]);
            break;
        }
        const ox_val *xv = ox_run_value(r, xi);
        rc = ox_out(r, n, out[k], xv->dtype, xv->rank, xv->dims, err);
        for (int64_t e = 0; rc == 0 && out[k] && e < xv->numel; e++)
            ox_set_f64(out[k], e, c.grad[xi] ? c.grad[xi][e] : 0.0);
    }
out:
    for (int v = 0; v < g->n_values; v++)
        free(c.grad[v]);
    free(c.grad);
    return rc;
}

const ox_op ox_ops_gradient[] = {
    {"Gradient", "ai.onnx.preview.training", 1, 0, k_gradient, NULL},
    {0},
};
