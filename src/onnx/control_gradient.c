/* src/onnx/control_gradient.c - ai.onnx.preview.training Gradient: the
 * derivatives of the graph value named by `y` with respect to the values
 * named by `xs`, by reverse-mode differentiation over the nodes of the graph
 * the Gradient node sits in, at the values of the current run.
 *
 * Differentiable here: Add, Sub, Mul, Div (numpy broadcasting), Neg,
 * Identity, Relu, Sigmoid, Tanh, Exp, Log, Sqrt, and 2-D MatMul; another op on
 * the path from xs to y is an error naming it.  The forward values must be
 * computed before the Gradient node runs (it follows y in the node order). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/control_util.h"

static bool is_float(int dt)
{
    return dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_BFLOAT16;
}

/* Flat index into `v` of output element `e` of shape (rank, dims) under
 * numpy broadcasting. */
static int64_t bindex(const ox_val *v, int rank, const int64_t *dims, int64_t e)
{
    int64_t idx = 0, stride = 1;
    for (int i = rank - 1; i >= 0; i--) {
        int64_t c = e % dims[i];
        e /= dims[i];
        int iv = i - (rank - v->rank);
        if (iv < 0)
            continue;
        if (v->dims[iv] != 1)
            idx += c * stride;
        stride *= v->dims[iv];
    }
    return idx;
}

typedef struct gctx {
    ox_run *r;
    const ox_graph *g;
    const ox_node *n;
    double **gr; /* gradient of each value (NULL: none reaches it) */
    ckpt_error *err;
} gctx;

/* The gradient buffer of value `vi` (zeroed on first use). */
static double *grad_of(gctx *c, int vi)
{
    if (c->gr[vi])
        return c->gr[vi];
    const ox_val *v = ox_run_value(c->r, vi);
    c->gr[vi] = calloc(v && v->numel > 0 ? (size_t)v->numel : 1, sizeof(double));
    if (!c->gr[vi])
        CKPT_FAIL(c->err, CKPT_E_NOMEM, "out of memory");
    return c->gr[vi];
}

static int back_node(gctx *c, const ox_node *f)
{
    const char *op = f->op_type;
    if (f->domain[0] || f->n_out < 1 || f->out[0] < 0)
        return ox_fail(c->err, CKPT_E_UNSUPPORTED, c->n, "cannot differentiate %s (%s)", op,
                       f->name);
    const ox_val *y = ox_run_value(c->r, f->out[0]);
    const double *gy = c->gr[f->out[0]];
    const ox_val *a = f->n_in > 0 && f->in[0] >= 0 ? ox_run_value(c->r, f->in[0]) : NULL;
    const ox_val *b = f->n_in > 1 && f->in[1] >= 0 ? ox_run_value(c->r, f->in[1]) : NULL;
    if (!a || a->kind != OX_KIND_TENSOR || !is_float(a->dtype) || !y || y->kind != OX_KIND_TENSOR)
        return ox_fail(c->err, CKPT_E_UNSUPPORTED, c->n, "%s (%s): not a float tensor op", op,
                       f->name);
    bool binary = !strcmp(op, "Add") || !strcmp(op, "Sub") || !strcmp(op, "Mul") ||
                  !strcmp(op, "Div");
    if (binary) {
        if (!b || b->kind != OX_KIND_TENSOR || !is_float(b->dtype))
            return ox_fail(c->err, CKPT_E_UNSUPPORTED, c->n, "%s (%s): not a float tensor op", op,
                           f->name);
        double *ga = grad_of(c, f->in[0]), *gb = grad_of(c, f->in[1]);
        if (!ga || !gb)
            return CKPT_E_NOMEM;
        for (int64_t e = 0; e < y->numel; e++) {
            int64_t ia = bindex(a, y->rank, y->dims, e), ib = bindex(b, y->rank, y->dims, e);
            double av = ox_get_f64(a, ia), bv = ox_get_f64(b, ib), g = gy[e];
            switch (op[0]) {
            case 'A': ga[ia] += g, gb[ib] += g; break;
            case 'S': ga[ia] += g, gb[ib] -= g; break;
            case 'M': ga[ia] += g * bv, gb[ib] += g * av; break;
            default: ga[ia] += g / bv, gb[ib] -= g * av / (bv * bv); break;
            }
        }
        return 0;
    }
    if (!strcmp(op, "MatMul")) {
        if (!b || a->rank != 2 || b->rank != 2 || !is_float(b->dtype))
            return ox_fail(c->err, CKPT_E_UNSUPPORTED, c->n, "MatMul (%s): only 2-D", f->name);
        int64_t m = a->dims[0], k = a->dims[1], nn = b->dims[1];
        double *ga = grad_of(c, f->in[0]), *gb = grad_of(c, f->in[1]);
        if (!ga || !gb)
            return CKPT_E_NOMEM;
        for (int64_t i = 0; i < m; i++)
            for (int64_t j = 0; j < nn; j++) {
                double g = gy[i * nn + j];
                for (int64_t q = 0; q < k; q++) {
                    ga[i * k + q] += g * ox_get_f64(b, q * nn + j);
                    gb[q * nn + j] += g * ox_get_f64(a, i * k + q);
                }
            }
        return 0;
    }
    double *ga = grad_of(c, f->in[0]);
    if (!ga)
        return CKPT_E_NOMEM;
    if (a->numel != y->numel)
        return ox_fail(c->err, CKPT_E_SHAPE, c->n, "%s (%s): shapes differ", op, f->name);
    for (int64_t e = 0; e < y->numel; e++) {
        double g = gy[e], x = ox_get_f64(a, e), o = ox_get_f64(y, e);
        if (!strcmp(op, "Identity"))
            ga[e] += g;
        else if (!strcmp(op, "Neg"))
            ga[e] -= g;
        else if (!strcmp(op, "Relu"))
            ga[e] += x > 0 ? g : 0;
        else if (!strcmp(op, "Sigmoid"))
            ga[e] += g * o * (1 - o);
        else if (!strcmp(op, "Tanh"))
            ga[e] += g * (1 - o * o);
        else if (!strcmp(op, "Exp"))
            ga[e] += g * o;
        else if (!strcmp(op, "Log"))
            ga[e] += g / x;
        else if (!strcmp(op, "Sqrt"))
            ga[e] += g / (2 * o);
        else
            return ox_fail(c->err, CKPT_E_UNSUPPORTED, c->n, "cannot differentiate %s (%s)", op,
                           f->name);
    }
    return 0;
}

int ox_k_gradient(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    (void)in;
    const ox_graph *g = ox_run_graph(r);
    const ox_attr *xs = ox_attr_get(n, "xs");
    const char *yname = ox_attr_str(n, "y", NULL);
    if (!xs || xs->type != OX_ATTR_STRINGS || !yname)
        return ox_fail(err, CKPT_E_FORMAT, n, "needs the xs and y attributes");
    if ((size_t)n->n_out > xs->n)
        return ox_fail(err, CKPT_E_FORMAT, n, "%d outputs for %zu xs", n->n_out, xs->n);
    int vy = ox_graph_find(g, yname);
    if (vy < 0)
        return ox_fail(err, CKPT_E_FORMAT, n, "y '%s' is not a value of the graph", yname);
    const ox_val *yv = ox_run_value(r, vy);
    int py = g->values[vy].producer;
    if (py >= n->index)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "y '%s' is computed after the Gradient node",
                       yname);
    if (!yv || yv->kind != OX_KIND_TENSOR || !is_float(yv->dtype))
        return ox_fail(err, CKPT_E_ARG, n, "y '%s' is not a float tensor", yname);
    gctx c = {r, g, n, calloc((size_t)g->n_values + 1, sizeof(double *)), err};
    if (!c.gr)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    int rc = 0;
    double *gy = grad_of(&c, vy);
    if (!gy)
        rc = CKPT_E_NOMEM;
    for (int64_t e = 0; rc == 0 && e < yv->numel; e++)
        gy[e] = 1.0;
    /* reverse topological order: every consumer of a value runs before it */
    for (int i = py; rc == 0 && i >= 0; i--) {
        const ox_node *f = &g->nodes[i];
        bool any = false;
        for (int k = 0; k < f->n_out; k++)
            any = any || (f->out[k] >= 0 && c.gr[f->out[k]]);
        if (any)
            rc = back_node(&c, f);
    }
    for (int k = 0; rc == 0 && k < n->n_out; k++) {
        if (!out[k])
            continue;
        int vx = ox_graph_find(g, xs->strings[k]);
        const ox_val *xv = vx >= 0 ? ox_run_value(r, vx) : NULL;
        if (!xv || xv->kind != OX_KIND_TENSOR || !is_float(xv->dtype)) {
            rc = ox_fail(err, CKPT_E_ARG, n, "x '%s' is not a float tensor of the graph",
                         xs->strings[k]);
            break;
        }
        if ((rc = ox_out(r, n, out[k], xv->dtype, xv->rank, xv->dims, err)) < 0)
            break;
        for (int64_t e = 0; e < xv->numel; e++)
            ox_set_f64(out[k], e, c.gr[vx] ? c.gr[vx][e] : 0.0);
    }
    for (int v = 0; v < g->n_values; v++)
        free(c.gr[v]);
    free(c.gr);
    return rc;
}
