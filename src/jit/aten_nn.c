/*
 * src/jit/aten_nn.c - torch.nn layer ops (linear, conv, norms, pools,
 * resize, pad, attention, embedding) over the ONNX nn kernels: Gemm, MatMul,
 * Conv, ConvTranspose, BatchNormalization, LayerNormalization,
 * GroupNormalization, MaxPool, AveragePool, Resize, Pad, Gather.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/aten_internal.h"

/* ------------------------------------------------------------ matmul family */

static int op_matmul(at_args *A, jv **res, ckpt_error *err)
{
    jv *a = A->a[0], *b = A->a[1];
    if (a->u.t->t.dtype != b->u.t->t.dtype)
        return at_fail(A, err, "expected both operands of the same dtype, got %s and %s",
                       ox_dtype_name(a->u.t->t.dtype), ox_dtype_name(b->u.t->t.dtype));
    return at_binary(A, "MatMul", a, b, res, err);
}

static int op_mm(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *a = at_tv(A, 0), *b = at_tv(A, 1);
    bool bmm = A->op[0] == 'b';
    int want = bmm ? 3 : 2;
    if (a->rank != want || b->rank != want)
        return at_fail(A, err, "expects %d-D tensors, got %d-D and %d-D", want, a->rank, b->rank);
    return op_matmul(A, res, err);
}

/* y = x @ w.T + b */
static int op_linear(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *w = A->a[1], *b = at_t(A, 2);
    const ox_val *xv = &x->u.t->t, *wv = &w->u.t->t;
    if (wv->rank != 2 && wv->rank != 1)
        return at_fail(A, err, "weight must be 1-D or 2-D, got %d-D", wv->rank);
    if (xv->rank == 0)
        return at_fail(A, err, "input must have at least one dimension");
    if (wv->rank == 1 || xv->rank == 1) {
        jv *wt = NULL, *m = NULL;
        int rc;
        if (wv->rank == 2) {
            int64_t perm[2] = {1, 0};
            rc = at_transpose(A, w, perm, 2, &wt, err);
        } else {
            wt = jv_ref(w);
            rc = 0;
        }
        if (rc == 0)
            rc = at_binary(A, "MatMul", x, wt, b ? &m : res, err);
        if (rc == 0 && b)
            rc = at_binary(A, "Add", m, b, res, err);
        jv_unref(wt);
        jv_unref(m);
        return rc;
    }
    int64_t in_f = xv->dims[xv->rank - 1];
    if (in_f != wv->dims[1])
        return at_fail(A, err, "input has %" PRId64 " features, weight expects %" PRId64, in_f,
                       wv->dims[1]);
    ox_attr tb = oxa_int("transB", 1);
    if (xv->rank == 2) {
        jv *in[3] = {x, w, b};
        return at_run(A, "Gemm", 0, &tb, 1, in, b ? 3 : 2, NULL, res, err);
    }
    int64_t rows = in_f ? xv->numel / in_f : 0;
    int64_t d2[2] = {rows, in_f};
    jv *x2 = NULL, *y2 = NULL;
    int rc = at_reshape(A, x, 2, d2, &x2, err);
    if (rc == 0) {
        jv *in[3] = {x2, w, b};
        rc = at_run(A, "Gemm", 0, &tb, 1, in, b ? 3 : 2, NULL, &y2, err);
    }
    if (rc == 0) {
        int64_t od[OX_MAX_RANK];
        for (int i = 0; i < xv->rank - 1; i++)
            od[i] = xv->dims[i];
        od[xv->rank - 1] = wv->dims[0];
        rc = at_reshape(A, y2, xv->rank, od, res, err);
    }
    jv_unref(x2);
    jv_unref(y2);
    return rc;
}

/* beta*self + alpha*(mat1 @ mat2) */
static int op_addmm(at_args *A, jv **res, ckpt_error *err)
{
    ox_attr at[2] = {oxa_float("beta", (float)at_f(A, 3)), oxa_float("alpha", (float)at_f(A, 4))};
    jv *in[3] = {A->a[1], A->a[2], A->a[0]};
    const ox_val *m1 = at_tv(A, 1), *m2 = at_tv(A, 2);
    if (m1->rank != 2 || m2->rank != 2)
        return at_fail(A, err, "mat1 and mat2 must be 2-D");
    return at_run(A, "Gemm", 0, at, 2, in, 3, NULL, res, err);
}

static int scale_by(at_args *A, jv *x, double s, jv **res, ckpt_error *err)
{
    if (s == 1.0) {
        *res = jv_ref(x);
        return 0;
    }
    jv *k = NULL;
    CKPT_TRY(at_const(A, x->u.t->t.dtype, 0, NULL, s, &k, err));
    int rc = at_binary(A, "Mul", x, k, res, err);
    jv_unref(k);
    return rc;
}

/* beta*self + alpha*(b1 @ b2): baddbmm, addbmm-free */
static int op_baddbmm(at_args *A, jv **res, ckpt_error *err)
{
    double beta = at_f(A, 3), alpha = at_f(A, 4);
    jv *p = NULL, *ps = NULL, *s = NULL;
    int rc = at_binary(A, "MatMul", A->a[1], A->a[2], &p, err);
    if (rc == 0)
        rc = scale_by(A, p, alpha, &ps, err);
    if (rc == 0 && beta == 0.0) {
        *res = ps;
        ps = NULL;
    } else if (rc == 0) {
        rc = scale_by(A, A->a[0], beta, &s, err);
        if (rc == 0)
            rc = at_binary(A, "Add", s, ps, res, err);
    }
    jv_unref(p);
    jv_unref(ps);
    jv_unref(s);
    return rc;
}

/* ------------------------------------------------------------ convolution */

/* Batch a rank nd+1 input (unbatched) as (1, ...). */
static int batch_in(at_args *A, jv *x, int nd, jv **out, bool *unbatched, ckpt_error *err)
{
    const ox_val *xv = &x->u.t->t;
    *unbatched = false;
    if (xv->rank == nd + 2) {
        *out = jv_ref(x);
        return 0;
    }
    if (xv->rank != nd + 1)
        return at_fail(A, err, "expected a %d-D or %d-D input, got %d-D", nd + 1, nd + 2,
                       xv->rank);
    int64_t d[OX_MAX_RANK];
    d[0] = 1;
    for (int i = 0; i < xv->rank; i++)
        d[i + 1] = xv->dims[i];
    *unbatched = true;
    return at_reshape(A, x, xv->rank + 1, d, out, err);
}

static int unbatch(at_args *A, jv *y, bool unbatched, jv **res, ckpt_error *err)
{
    if (!unbatched) {
        *res = jv_ref(y);
        return 0;
    }
    const ox_val *v = &y->u.t->t;
    return at_reshape(A, y, v->rank - 1, v->dims + 1, res, err);
}

typedef struct conv_p {
    int nd;
    int64_t stride[3], pad_b[3], pad_e[3], dil[3], out_pad[3];
    int64_t groups;
    bool transposed;
} conv_p;

static int conv_run(at_args *A, jv *x, jv *w, jv *b, const conv_p *p, jv **res, ckpt_error *err)
{
    jv *xb = NULL, *y = NULL;
    bool ub;
    CKPT_TRY(batch_in(A, x, p->nd, &xb, &ub, err));
    int64_t pads[6];
    for (int i = 0; i < p->nd; i++) {
        pads[i] = p->pad_b[i];
        pads[p->nd + i] = p->pad_e[i];
    }
    size_t nd = (size_t)p->nd;
    ox_attr at[5] = {oxa_ints("strides", p->stride, nd), oxa_ints("pads", pads, 2 * nd),
                     oxa_ints("dilations", p->dil, nd), oxa_int("group", p->groups),
                     oxa_ints("output_padding", p->out_pad, nd)};
    jv *in[3] = {xb, w, b};
    int rc = 0;
    if (w->u.t->t.rank != p->nd + 2)
        rc = at_fail(A, err, "weight must be %d-D, got %d-D", p->nd + 2, w->u.t->t.rank);
    if (rc == 0)
        rc = at_run(A, p->transposed ? "ConvTranspose" : "Conv", 0, at, p->transposed ? 5 : 4, in,
                    b ? 3 : 2, NULL, &y, err);
    if (rc == 0)
        rc = unbatch(A, y, ub, res, err);
    jv_unref(xb);
    jv_unref(y);
    return rc;
}

static int conv_ints(at_args *A, int i, int nd, int64_t *dst, int64_t dflt, ckpt_error *err)
{
    int64_t tmp[8];
    int n = at_ints(A, i, tmp, 8, nd, err);
    if (n < 0)
        return n;
    if (n == 0) {
        for (int k = 0; k < nd; k++)
            dst[k] = dflt;
        return 0;
    }
    if (n != nd)
        return at_fail(A, err, "argument '%.*s' has %d values, expected %d", A->arg_len[i],
                       A->arg[i], n, nd);
    for (int k = 0; k < nd; k++)
        dst[k] = tmp[k];
    return 0;
}

/* conv1d/2d/3d(input, weight, bias, stride, padding, dilation, groups); padding int[] or str */
static int op_conv(at_args *A, jv **res, ckpt_error *err)
{
    conv_p p;
    memset(&p, 0, sizeof p);
    p.nd = A->op[4] - '0';
    if (p.nd < 1 || p.nd > 3)
        return at_fail(A, err, "unknown convolution");
    CKPT_TRY(conv_ints(A, 3, p.nd, p.stride, 1, err));
    CKPT_TRY(conv_ints(A, 5, p.nd, p.dil, 1, err));
    p.groups = at_i(A, 6);
    const ox_val *wv = at_tv(A, 1);
    if (wv->rank != p.nd + 2)
        return at_fail(A, err, "weight must be %d-D, got %d-D", p.nd + 2, wv->rank);
    if (A->a[4]->kind == JV_STR) {
        const char *m = at_s(A, 4);
        if (!strcmp(m, "same")) {
            for (int i = 0; i < p.nd; i++) {
                int64_t total = p.dil[i] * (wv->dims[2 + i] - 1);
                p.pad_b[i] = total / 2;
                p.pad_e[i] = total - total / 2;
            }
        } else if (strcmp(m, "valid")) {
            return at_fail(A, err, "padding '%s' (same or valid)", m);
        }
    } else {
        CKPT_TRY(conv_ints(A, 4, p.nd, p.pad_b, 0, err));
        memcpy(p.pad_e, p.pad_b, sizeof p.pad_b);
    }
    return conv_run(A, A->a[0], A->a[1], at_t(A, 2), &p, res, err);
}

/* conv_transpose1d/2d/3d(input, weight, bias, stride, padding, output_padding, groups, dilation) */
static int op_conv_transpose(at_args *A, jv **res, ckpt_error *err)
{
    conv_p p;
    memset(&p, 0, sizeof p);
    size_t l = strlen(A->op);
    p.nd = A->op[l - 2] - '0';
    if (p.nd < 1 || p.nd > 3)
        return at_fail(A, err, "unknown convolution");
    p.transposed = true;
    CKPT_TRY(conv_ints(A, 3, p.nd, p.stride, 1, err));
    CKPT_TRY(conv_ints(A, 4, p.nd, p.pad_b, 0, err));
    memcpy(p.pad_e, p.pad_b, sizeof p.pad_b);
    CKPT_TRY(conv_ints(A, 5, p.nd, p.out_pad, 0, err));
    p.groups = at_i(A, 6);
    CKPT_TRY(conv_ints(A, 7, p.nd, p.dil, 1, err));
    return conv_run(A, A->a[0], A->a[1], at_t(A, 2), &p, res, err);
}

/* _convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
 * groups, ...) and convolution(...) */
static int op__convolution(at_args *A, jv **res, ckpt_error *err)
{
    conv_p p;
    memset(&p, 0, sizeof p);
    const ox_val *wv = at_tv(A, 1);
    p.nd = wv->rank - 2;
    if (p.nd < 1 || p.nd > 3)
        return at_fail(A, err, "weight must be 3-D to 5-D, got %d-D", wv->rank);
    CKPT_TRY(conv_ints(A, 3, p.nd, p.stride, 1, err));
    CKPT_TRY(conv_ints(A, 4, p.nd, p.pad_b, 0, err));
    memcpy(p.pad_e, p.pad_b, sizeof p.pad_b);
    CKPT_TRY(conv_ints(A, 5, p.nd, p.dil, 1, err));
    p.transposed = at_b(A, 6);
    CKPT_TRY(conv_ints(A, 7, p.nd, p.out_pad, 0, err));
    p.groups = at_i(A, 8);
    return conv_run(A, A->a[0], A->a[1], at_t(A, 2), &p, res, err);
}

/* ------------------------------------------------------------ normalisation */

/* 1-D constant of n elements */
static int vec_const(at_args *A, int dtype, int64_t n, double x, jv **res, ckpt_error *err)
{
    return at_const(A, dtype, 1, &n, x, res, err);
}

/* reshape a (C,) vector to (C, 1, ..., 1) for rank-r broadcasting from dim 1 */
static int chan_view(at_args *A, jv *v, int r, jv **res, ckpt_error *err)
{
    int64_t d[OX_MAX_RANK];
    d[0] = v->u.t->t.numel;
    for (int i = 1; i < r - 1; i++)
        d[i] = 1;
    return at_reshape(A, v, r > 1 ? r - 1 : 1, d, res, err);
}

/* batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn) */
static int op_batch_norm(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0];
    const ox_val *xv = &x->u.t->t;
    if (xv->rank < 2)
        return at_fail(A, err, "input must be at least 2-D, got %d-D", xv->rank);
    int64_t C = xv->dims[1];
    int dt = xv->dtype;
    bool training = at_b(A, 5);
    double mom = at_f(A, 6), eps = at_f(A, 7);
    jv *w = NULL, *b = NULL;
    int rc = 0;
    w = at_t(A, 1) ? jv_ref(at_t(A, 1)) : NULL;
    b = at_t(A, 2) ? jv_ref(at_t(A, 2)) : NULL;
    if (!w)
        rc = vec_const(A, dt, C, 1.0, &w, err);
    if (rc == 0 && !b)
        rc = vec_const(A, dt, C, 0.0, &b, err);
    jv *rm = at_t(A, 3), *rv = at_t(A, 4);
    if (rc == 0 && !training && rm && rv) {
        ox_attr e = oxa_float("epsilon", (float)eps);
        jv *in[5] = {x, w, b, rm, rv};
        rc = at_run(A, "BatchNormalization", 0, &e, 1, in, 5, NULL, res, err);
        jv_unref(w);
        jv_unref(b);
        return rc;
    }
    /* batch statistics over every dim but 1 */
    int64_t axes[OX_MAX_RANK];
    int na = 0;
    for (int i = 0; i < xv->rank; i++)
        if (i != 1)
            axes[na++] = i;
    jv *ax = NULL, *m = NULL, *d = NULL, *sq = NULL, *v = NULL, *ve = NULL, *sd = NULL,
       *nrm = NULL, *wr = NULL, *br = NULL, *sc = NULL;
    ox_attr keep = oxa_int("keepdims", 1);
    if (rc == 0)
        rc = at_const_i64s(A, axes, na, &ax, err);
    if (rc == 0) {
        jv *in[2] = {x, ax};
        rc = at_run(A, "ReduceMean", 0, &keep, 1, in, 2, NULL, &m, err);
    }
    if (rc == 0)
        rc = at_binary(A, "Sub", x, m, &d, err);
    if (rc == 0)
        rc = at_binary(A, "Mul", d, d, &sq, err);
    if (rc == 0) {
        jv *in[2] = {sq, ax};
        rc = at_run(A, "ReduceMean", 0, &keep, 1, in, 2, NULL, &v, err);
    }
    jv *ek = NULL;
    if (rc == 0)
        rc = at_const(A, dt, 0, NULL, eps, &ek, err);
    if (rc == 0)
        rc = at_binary(A, "Add", v, ek, &ve, err);
    if (rc == 0)
        rc = at_unary(A, "Sqrt", ve, &sd, err);
    if (rc == 0)
        rc = at_binary(A, "Div", d, sd, &nrm, err);
    if (rc == 0)
        rc = chan_view(A, w, xv->rank, &wr, err);
    if (rc == 0)
        rc = chan_view(A, b, xv->rank, &br, err);
    if (rc == 0)
        rc = at_binary(A, "Mul", nrm, wr, &sc, err);
    if (rc == 0)
        rc = at_binary(A, "Add", sc, br, res, err);
    /* running statistics: (1 - momentum) * running + momentum * batch (unbiased var) */
    if (rc == 0 && training && rm && rv) {
        int64_t cnt = C ? xv->numel / C : 0;
        jv *mf = NULL, *vf = NULL, *t1 = NULL, *t2 = NULL, *nm = NULL, *k1 = NULL, *k2 = NULL,
           *ku = NULL, *vu = NULL;
        rc = at_reshape(A, m, 1, &C, &mf, err);
        if (rc == 0)
            rc = at_reshape(A, v, 1, &C, &vf, err);
        if (rc == 0)
            rc = at_const(A, dt, 0, NULL, 1.0 - mom, &k1, err);
        if (rc == 0)
            rc = at_const(A, dt, 0, NULL, mom, &k2, err);
        if (rc == 0)
            rc = at_const(A, dt, 0, NULL, cnt > 1 ? (double)cnt / (double)(cnt - 1) : 1.0, &ku,
                          err);
        for (int pass = 0; rc == 0 && pass < 2; pass++) {
            jv *run = pass ? rv : rm, *bat = pass ? vf : mf;
            if (pass) {
                rc = at_binary(A, "Mul", vf, ku, &vu, err);
                bat = vu;
            }
            if (rc == 0)
                rc = at_binary(A, "Mul", run, k1, &t1, err);
            if (rc == 0)
                rc = at_binary(A, "Mul", bat, k2, &t2, err);
            if (rc == 0)
                rc = at_binary(A, "Add", t1, t2, &nm, err);
            if (rc == 0)
                rc = at_assign(A, run, nm, err);
            jv_unref(t1);
            jv_unref(t2);
            jv_unref(nm);
            t1 = t2 = nm = NULL;
        }
        jv_unref(mf);
        jv_unref(vf);
        jv_unref(k1);
        jv_unref(k2);
        jv_unref(ku);
        jv_unref(vu);
    }
    jv *all[] = {w, b, ax, m, d, sq, v, ve, sd, nrm, wr, br, sc, ek};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        jv_unref(all[i]);
    return rc;
}

/* layer_norm(input, normalized_shape, weight, bias, eps, cudnn_enable) */
static int op_layer_norm(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0];
    const ox_val *xv = &x->u.t->t;
    int64_t ns[OX_MAX_RANK];
    int nn = at_ints(A, 1, ns, OX_MAX_RANK, 0, err);
    if (nn < 0)
        return nn;
    if (nn < 1 || nn > xv->rank)
        return at_fail(A, err, "normalized_shape of %d dims for a %d-D input", nn, xv->rank);
    for (int i = 0; i < nn; i++)
        if (ns[i] != xv->dims[xv->rank - nn + i])
            return at_fail(A, err, "normalized_shape does not match the input's trailing dims");
    jv *w = at_t(A, 2) ? jv_ref(at_t(A, 2)) : NULL, *b = at_t(A, 3);
    int rc = 0;
    if (!w)
        rc = at_const(A, xv->dtype, nn, ns, 1.0, &w, err);
    ox_attr at[2] = {oxa_int("axis", xv->rank - nn), oxa_float("epsilon", (float)at_f(A, 4))};
    jv *in[3] = {x, w, b};
    if (rc == 0)
        rc = at_run(A, "LayerNormalization", 0, at, 2, in, b ? 3 : 2, NULL, res, err);
    jv_unref(w);
    return rc;
}

/* group_norm(input, num_groups, weight, bias, eps, cudnn_enabled) */
static int op_group_norm(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0];
    const ox_val *xv = &x->u.t->t;
    if (xv->rank < 2)
        return at_fail(A, err, "input must be at least 2-D");
    int64_t C = xv->dims[1], g = at_i(A, 1);
    if (g <= 0 || C % g)
        return at_fail(A, err, "%" PRId64 " channels in %" PRId64 " groups", C, g);
    jv *w = at_t(A, 2) ? jv_ref(at_t(A, 2)) : NULL, *b = at_t(A, 3) ? jv_ref(at_t(A, 3)) : NULL;
    int rc = 0;
    if (!w)
        rc = vec_const(A, xv->dtype, C, 1.0, &w, err);
    if (rc == 0 && !b)
        rc = vec_const(A, xv->dtype, C, 0.0, &b, err);
    ox_attr at[2] = {oxa_int("num_groups", g), oxa_float("epsilon", (float)at_f(A, 4))};
    jv *in[3] = {x, w, b};
    if (rc == 0)
        rc = at_run(A, "GroupNormalization", 21, at, 2, in, 3, NULL, res, err);
    jv_unref(w);
    jv_unref(b);
    return rc;
}

/* instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
 * cudnn_enabled) */
static int op_instance_norm(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0];
    const ox_val *xv = &x->u.t->t;
    if (xv->rank < 3)
        return at_fail(A, err, "input must be at least 3-D");
    if (!at_b(A, 5))
        return at_fail(A, err, "use_input_stats=False is not supported");
    int64_t C = xv->dims[1];
    jv *w = at_t(A, 1) ? jv_ref(at_t(A, 1)) : NULL, *b = at_t(A, 2) ? jv_ref(at_t(A, 2)) : NULL;
    int rc = 0;
    if (!w)
        rc = vec_const(A, xv->dtype, C, 1.0, &w, err);
    if (rc == 0 && !b)
        rc = vec_const(A, xv->dtype, C, 0.0, &b, err);
    ox_attr e = oxa_float("epsilon", (float)at_f(A, 7));
    jv *in[3] = {x, w, b};
    if (rc == 0)
        rc = at_run(A, "InstanceNormalization", 0, &e, 1, in, 3, NULL, res, err);
    jv_unref(w);
    jv_unref(b);
    return rc;
}

/* ------------------------------------------------------------ pooling */

static int pool_nd(const char *op)
{
    const char *p = strstr(op, "pool");
    return p && p[4] >= '1' && p[4] <= '3' ? p[4] - '0' : 0;
}

/* max_poolNd(self, kernel_size, stride, padding, dilation, ceil_mode) and
 * avg_poolNd(self, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override) */
static int pool(at_args *A, bool is_max, bool with_idx, jv **res, ckpt_error *err)
{
    int nd = pool_nd(A->op);
    if (!nd)
        return at_fail(A, err, "unknown pooling");
    int64_t k[3], s[3], p[6], d[3] = {1, 1, 1};
    CKPT_TRY(conv_ints(A, 1, nd, k, 1, err));
    int64_t tmp[8];
    int ns = at_ints(A, 2, tmp, 8, nd, err);
    if (ns < 0)
        return ns;
    CKPT_TRY(conv_ints(A, 2, nd, s, 1, err));
    if (ns == 0)
        memcpy(s, k, sizeof k);
    CKPT_TRY(conv_ints(A, 3, nd, p, 0, err));
    for (int i = 0; i < nd; i++)
        p[nd + i] = p[i];
    bool ceil_m;
    if (is_max) {
        CKPT_TRY(conv_ints(A, 4, nd, d, 1, err));
        ceil_m = at_b(A, 5);
    } else {
        ceil_m = at_b(A, 4);
        if (A->n > 6 && !at_none(A, 6))
            return at_fail(A, err, "divisor_override is not supported");
    }
    for (int i = 0; i < nd; i++)
        if (p[i] * 2 > k[i])
            return at_fail(A, err, "pad should be at most half of the kernel size");
    jv *xb = NULL, *y[2] = {NULL, NULL};
    bool ub;
    CKPT_TRY(batch_in(A, A->a[0], nd, &xb, &ub, err));
    size_t n = (size_t)nd;
    ox_attr at[5] = {oxa_ints("kernel_shape", k, n), oxa_ints("strides", s, n),
                     oxa_ints("pads", p, 2 * n), oxa_int("ceil_mode", ceil_m ? 1 : 0),
                     is_max ? oxa_ints("dilations", d, n)
                            : oxa_int("count_include_pad", at_b(A, 5) ? 1 : 0)};
    int rc = at_run_n(A, is_max ? "MaxPool" : "AveragePool", 0, at, 5, &xb, 1, NULL, y,
                      with_idx ? 2 : 1, err);
    jv *out = NULL;
    if (rc == 0)
        rc = unbatch(A, y[0], ub, &out, err);
    if (rc == 0 && with_idx) {
        /* ONNX indices count over the whole tensor; torch's over each plane */
        const ox_val *xv = &xb->u.t->t;
        int64_t plane = 1;
        for (int i = 2; i < xv->rank; i++)
            plane *= xv->dims[i];
        jv *pk = NULL, *mi = NULL, *idx = NULL;
        rc = at_const(A, OX_INT64, 0, NULL, (double)plane, &pk, err);
        if (rc == 0)
            rc = at_binary(A, "Mod", y[1], pk, &mi, err);
        if (rc == 0)
            rc = unbatch(A, mi, ub, &idx, err);
        jv_unref(pk);
        jv_unref(mi);
        if (rc == 0) {
            *res = at_tuple2(out, idx);
            out = NULL;
            if (!*res)
                rc = at_fail(A, err, "out of memory");
        }
    } else if (rc == 0) {
        *res = out;
        out = NULL;
    }
    jv_unref(out);
    jv_unref(xb);
    jv_unref(y[0]);
    jv_unref(y[1]);
    return rc;
}

static int op_max_pool(at_args *A, jv **res, ckpt_error *err)
{
    return pool(A, true, strstr(A->op, "with_indices") != NULL, res, err);
}

static int op_avg_pool(at_args *A, jv **res, ckpt_error *err)
{
    return pool(A, false, false, res, err);
}

/* adaptive pooling: separable per spatial dim, windows [floor(j n/o), ceil((j+1) n/o)) */
static int adaptive(at_args *A, bool is_max, jv **res, ckpt_error *err)
{
    int nd = pool_nd(A->op);
    if (!nd)
        return at_fail(A, err, "unknown pooling");
    jv *x = A->a[0];
    const ox_val *xv = &x->u.t->t;
    if (xv->rank != nd + 1 && xv->rank != nd + 2)
        return at_fail(A, err, "expected a %d-D or %d-D input", nd + 1, nd + 2);
    int64_t o[3];
    int no = at_ints(A, 1, o, 3, nd, err);
    if (no < 0)
        return no;
    if (no != nd)
        return at_fail(A, err, "output_size needs %d values", nd);
    int off = xv->rank - nd;
    bool uniform = true;
    for (int i = 0; i < nd; i++) {
        if (o[i] <= 0 && o[i] != -1)
            return at_fail(A, err, "output_size must be positive");
        if (o[i] == -1)
            o[i] = xv->dims[off + i];
        if (xv->dims[off + i] % o[i])
            uniform = false;
    }
    bool want_idx = is_max;
    if (uniform) {
        jv *xb = NULL, *y[2] = {NULL, NULL};
        bool ub;
        CKPT_TRY(batch_in(A, x, nd, &xb, &ub, err));
        int64_t k[3], pz[6] = {0};
        for (int i = 0; i < nd; i++)
            k[i] = xv->dims[off + i] / o[i];
        size_t n = (size_t)nd;
        ox_attr at[3] = {oxa_ints("kernel_shape", k, n), oxa_ints("strides", k, n),
                         oxa_ints("pads", pz, 2 * n)};
        int rc = at_run_n(A, is_max ? "MaxPool" : "AveragePool", 0, at, 3, &xb, 1, NULL, y,
                          want_idx ? 2 : 1, err);
        jv *out = NULL, *idx = NULL;
        if (rc == 0)
            rc = unbatch(A, y[0], ub, &out, err);
        if (rc == 0 && want_idx) {
            const ox_val *bv = &xb->u.t->t;
            int64_t plane = 1;
            for (int i = 2; i < bv->rank; i++)
                plane *= bv->dims[i];
            jv *pk = NULL, *mi = NULL;
            rc = at_const(A, OX_INT64, 0, NULL, (double)plane, &pk, err);
            if (rc == 0)
                rc = at_binary(A, "Mod", y[1], pk, &mi, err);
            if (rc == 0)
                rc = unbatch(A, mi, ub, &idx, err);
            jv_unref(pk);
            jv_unref(mi);
        }
        jv_unref(xb);
        jv_unref(y[0]);
        jv_unref(y[1]);
        if (rc < 0) {
            jv_unref(out);
            jv_unref(idx);
            return rc;
        }
        *res = want_idx ? at_tuple2(out, idx) : out;
        return *res ? 0 : at_fail(A, err, "out of memory");
    }
    jv *cur = jv_ref(x);
    int rc = 0;
    for (int i = 0; rc == 0 && i < nd; i++) {
        int ax = off + i;
        int64_t n = cur->u.t->t.dims[ax];
        jv *parts = jv_list_new((size_t)o[i]);
        if (!parts) {
            rc = at_fail(A, err, "out of memory");
            break;
        }
        for (int64_t j = 0; rc == 0 && j < o[i]; j++) {
            int64_t st = (j * n) / o[i], en = ((j + 1) * n + o[i] - 1) / o[i];
            jv *sv = NULL, *ev = NULL, *av = NULL, *sl = NULL, *r = NULL;
            int64_t axv = ax;
            rc = at_const_i64s(A, &st, 1, &sv, err);
            if (rc == 0)
                rc = at_const_i64s(A, &en, 1, &ev, err);
            if (rc == 0)
                rc = at_const_i64s(A, &axv, 1, &av, err);
            if (rc == 0) {
                jv *in[4] = {cur, sv, ev, av};
                rc = at_run(A, "Slice", 0, NULL, 0, in, 4, NULL, &sl, err);
            }
            if (rc == 0) {
                ox_attr keep = oxa_int("keepdims", 1);
                jv *in[2] = {sl, av};
                rc = at_run(A, is_max ? "ReduceMax" : "ReduceMean", 0, &keep, 1, in, 2, NULL, &r,
                            err);
            }
            if (rc == 0)
                rc = jv_list_push(parts, r, err);
            jv_unref(sv);
            jv_unref(ev);
            jv_unref(av);
            jv_unref(sl);
        }
        jv *next = NULL;
        if (rc == 0) {
            ox_attr a = oxa_int("axis", ax);
            rc = at_run(A, "Concat", 0, &a, 1, parts->u.seq.items, (int)parts->u.seq.n, NULL,
                        &next, err);
        }
        jv_unref(parts);
        jv_unref(cur);
        cur = next;
    }
    if (rc < 0) {
        jv_unref(cur);
        return rc;
    }
    if (want_idx) {
        /* indices of a non-uniform adaptive max pool are not computed: -1 */
        jv *idx = NULL;
        rc = at_const(A, OX_INT64, cur->u.t->t.rank, cur->u.t->t.dims, -1.0, &idx, err);
        if (rc < 0) {
            jv_unref(cur);
            return rc;
        }
        *res = at_tuple2(cur, idx);
        return *res ? 0 : at_fail(A, err, "out of memory");
    }
    *res = cur;
    return 0;
}

static int op_adaptive_avg(at_args *A, jv **res, ckpt_error *err)
{
    return adaptive(A, false, res, err);
}

static int op_adaptive_max(at_args *A, jv **res, ckpt_error *err)
{
    return adaptive(A, true, res, err);
}

/* ------------------------------------------------------------ dropout, embedding */

static int op_dropout(at_args *A, jv **res, ckpt_error *err)
{
    (void)err;
    /* inference: identity (training-mode dropout draws random masks; not reproduced) */
    *res = jv_ref(A->a[0]);
    return 0;
}

/* embedding(weight, indices, padding_idx, scale_grad_by_freq, sparse) */
static int op_embedding(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *iv = at_tv(A, 1);
    if (!at_is_integral(iv->dtype, false))
        return at_fail(A, err, "indices must be an integer tensor, got %s",
                       ox_dtype_name(iv->dtype));
    ox_attr a = oxa_int("axis", 0);
    jv *in[2] = {A->a[0], A->a[1]};
    return at_run(A, "Gather", 0, &a, 1, in, 2, NULL, res, err);
}

/* ------------------------------------------------------------ resize */

/* mode: "nearest" / "linear" / "cubic"; sizes or scales over the spatial dims */
static int resize(at_args *A, jv *x, const char *mode, const char *ctm, const int64_t *osz,
                  const double *scales, int nsp, jv **res, ckpt_error *err)
{
    const ox_val *xv = &x->u.t->t;
    if (xv->rank != nsp + 2)
        return at_fail(A, err, "expected a %d-D input, got %d-D", nsp + 2, xv->rank);
    jv *sz = NULL, *sc = NULL;
    int rc = 0;
    if (osz) {
        int64_t d[OX_MAX_RANK];
        d[0] = xv->dims[0];
        d[1] = xv->dims[1];
        for (int i = 0; i < nsp; i++)
            d[2 + i] = osz[i];
        rc = at_const_i64s(A, d, xv->rank, &sz, err);
    } else {
        int64_t r = xv->rank;
        rc = at_const(A, OX_FLOAT, 1, &r, 1.0, &sc, err);
        if (rc == 0) {
            float *f = sc->u.t->t.data;
            for (int i = 0; i < nsp; i++)
                f[2 + i] = (float)scales[i];
        }
    }
    ox_attr at[5] = {oxa_str("mode", mode), oxa_str("coordinate_transformation_mode", ctm),
                     oxa_str("nearest_mode", "floor"), oxa_float("cubic_coeff_a", -0.75f),
                     oxa_int("exclude_outside", 0)};
    jv *in[4] = {x, NULL, sc, sz};
    if (rc == 0)
        rc = at_run(A, "Resize", 0, at, 5, in, 4, NULL, res, err);
    jv_unref(sz);
    jv_unref(sc);
    return rc;
}

/* upsample_*(self, output_size, [align_corners,] scales...) and the .vec forms
 * (input, output_size?, [align_corners,] scale_factors?) */
static int upsample(at_args *A, bool vec, jv **res, ckpt_error *err)
{
    const char *op = A->op;
    int nsp = strstr(op, "1d") ? 1 : strstr(op, "3d") ? 3 : 2;
    bool nearest = strstr(op, "nearest") != NULL;
    const char *mode = nearest ? "nearest" : strstr(op, "bicubic") ? "cubic" : "linear";
    int ai = nearest ? -1 : 2; /* align_corners */
    bool align = ai > 0 && at_b(A, ai);
    const char *ctm = nearest ? "asymmetric" : align ? "align_corners" : "half_pixel";
    int64_t osz[3];
    double sc[3];
    if (vec) {
        int si = nearest ? 2 : 3;
        if (!at_none(A, 1)) {
            int n = at_ints(A, 1, osz, 3, nsp, err);
            if (n < 0)
                return n;
            if (n != nsp)
                return at_fail(A, err, "output_size needs %d values", nsp);
            return resize(A, A->a[0], mode, ctm, osz, NULL, nsp, res, err);
        }
        if (at_none(A, si))
            return at_fail(A, err, "either output_size or scale_factors must be given");
        const jv *l = A->a[si];
        if (l->kind != JV_LIST && l->kind != JV_TUPLE) {
            for (int i = 0; i < nsp; i++)
                sc[i] = at_num(l);
        } else {
            if (l->u.seq.n != (size_t)nsp)
                return at_fail(A, err, "scale_factors needs %d values", nsp);
            for (int i = 0; i < nsp; i++)
                sc[i] = at_num(l->u.seq.items[i]);
        }
        return resize(A, A->a[0], mode, ctm, NULL, sc, nsp, res, err);
    }
    int n = at_ints(A, 1, osz, 3, nsp, err);
    if (n < 0)
        return n;
    if (n != nsp)
        return at_fail(A, err, "output_size needs %d values", nsp);
    return resize(A, A->a[0], mode, ctm, osz, NULL, nsp, res, err);
}

static int op_upsample(at_args *A, jv **res, ckpt_error *err)
{
    return upsample(A, false, res, err);
}

static int op_upsample_vec(at_args *A, jv **res, ckpt_error *err)
{
    return upsample(A, true, res, err);
}

/* ------------------------------------------------------------ pad */

static int pad_common(at_args *A, jv *x, const char *mode, const jv *value, jv **res,
                      ckpt_error *err)
{
    const ox_val *xv = &x->u.t->t;
    int64_t p[2 * OX_MAX_RANK];
    int np = at_ints(A, 1, p, 2 * OX_MAX_RANK, 0, err);
    if (np < 0)
        return np;
    if (np % 2 || np / 2 > xv->rank)
        return at_fail(A, err, "pad of %d values for a %d-D input", np, xv->rank);
    int64_t pads[2 * OX_MAX_RANK] = {0};
    for (int i = 0; i < np / 2; i++) {
        int d = xv->rank - 1 - i;
        pads[d] = p[2 * i];
        pads[xv->rank + d] = p[2 * i + 1];
    }
    const char *om = !strcmp(mode, "constant")    ? "constant"
                     : !strcmp(mode, "reflect")   ? "reflect"
                     : !strcmp(mode, "replicate") ? "edge"
                     : !strcmp(mode, "circular")  ? "wrap"
                                                  : NULL;
    if (!om)
        return at_fail(A, err, "padding mode '%s'", mode);
    jv *pv = NULL, *cv = NULL;
    int rc = at_const_i64s(A, pads, 2 * xv->rank, &pv, err);
    if (rc == 0 && value && value->kind != JV_NONE)
        rc = at_scalar_tensor(A, value, xv->dtype, &cv, err);
    ox_attr m = oxa_str("mode", om);
    jv *in[3] = {x, pv, cv};
    if (rc == 0)
        rc = at_run(A, "Pad", !strcmp(om, "wrap") ? 19 : 0, &m, 1, in, cv ? 3 : 2, NULL, res,
                    err);
    jv_unref(pv);
    jv_unref(cv);
    return rc;
}

static int op_constant_pad_nd(at_args *A, jv **res, ckpt_error *err)
{
    return pad_common(A, A->a[0], "constant", A->a[2], res, err);
}

static int op_pad(at_args *A, jv **res, ckpt_error *err)
{
    const char *mode = at_s(A, 2);
    return pad_common(A, A->a[0], mode ? mode : "constant", A->a[3], res, err);
}

static int op_reflection_pad(at_args *A, jv **res, ckpt_error *err)
{
    return pad_common(A, A->a[0], strstr(A->op, "reflection") ? "reflect" : "replicate", NULL,
                      res, err);
}

/* ------------------------------------------------------------ attention */

/* scaled_dot_product_attention(query, key, value, attn_mask, dropout_p, is_causal, scale) */
static int op_sdpa(at_args *A, jv **res, ckpt_error *err)
{
    jv *q = A->a[0], *k = A->a[1], *v = A->a[2], *mask = at_t(A, 3);
    const ox_val *qv = &q->u.t->t, *kv = &k->u.t->t;
    if (qv->rank < 2 || kv->rank < 2)
        return at_fail(A, err, "query and key must be at least 2-D");
    int64_t L = qv->dims[qv->rank - 2], S = kv->dims[kv->rank - 2], E = qv->dims[qv->rank - 1];
    double scale = at_none(A, 6) ? 1.0 / sqrt((double)E) : at_f(A, 6);
    int64_t perm[OX_MAX_RANK];
    for (int i = 0; i < kv->rank; i++)
        perm[i] = i;
    perm[kv->rank - 2] = kv->rank - 1;
    perm[kv->rank - 1] = kv->rank - 2;
    jv *kt = NULL, *s = NULL, *ss = NULL, *sm = NULL, *p = NULL, *mk = NULL;
    int rc = at_transpose(A, k, perm, kv->rank, &kt, err);
    if (rc == 0)
        rc = at_binary(A, "MatMul", q, kt, &s, err);
    if (rc == 0)
        rc = scale_by(A, s, scale, &ss, err);
    jv *cur = ss;
    if (rc == 0 && at_b(A, 5)) {
        /* causal: keep j <= i */
        int64_t d2[2] = {L, S};
        jv *ones = NULL, *tri = NULL, *kk = NULL;
        rc = at_const(A, OX_BOOL, 2, d2, 1.0, &ones, err);
        if (rc == 0)
            rc = at_const_i64s(A, (int64_t[]){0}, 1, &kk, err);
        if (rc == 0) {
            kk->u.t->t.rank = 0;
            ox_attr up = oxa_int("upper", 0);
            jv *in[2] = {ones, kk};
            rc = at_run(A, "Trilu", 0, &up, 1, in, 2, NULL, &tri, err);
        }
        jv *ninf = NULL;
        if (rc == 0)
            rc = at_const(A, cur->u.t->t.dtype, 0, NULL, -(double)INFINITY, &ninf, err);
        if (rc == 0) {
            jv *in[3] = {tri, cur, ninf};
            rc = at_run(A, "Where", 0, NULL, 0, in, 3, NULL, &mk, err);
        }
        jv_unref(ones);
        jv_unref(tri);
        jv_unref(kk);
        jv_unref(ninf);
        if (rc == 0)
            cur = mk;
    }
    jv *masked = NULL;
    if (rc == 0 && mask) {
        if (mask->u.t->t.dtype == OX_BOOL) {
            jv *ninf = NULL;
            rc = at_const(A, cur->u.t->t.dtype, 0, NULL, -(double)INFINITY, &ninf, err);
            if (rc == 0) {
                jv *in[3] = {mask, cur, ninf};
                rc = at_run(A, "Where", 0, NULL, 0, in, 3, NULL, &masked, err);
            }
            jv_unref(ninf);
        } else {
            rc = at_binary(A, "Add", cur, mask, &masked, err);
        }
        if (rc == 0)
            cur = masked;
    }
    ox_attr ax = oxa_int("axis", -1);
    if (rc == 0)
        rc = at_run(A, "Softmax", 0, &ax, 1, &cur, 1, NULL, &sm, err);
    if (rc == 0)
        rc = at_binary(A, "MatMul", sm, v, res, err);
    jv *all[] = {kt, s, ss, sm, p, mk, masked};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        jv_unref(all[i]);
    return rc;
}

/* ------------------------------------------------------------ table */

#define CONV_ARGS                                                                                \
    "Tensor input, Tensor weight, Tensor? bias=None, int[] stride=1, int[] padding=0, "          \
    "int[] dilation=1, int groups=1"
#define CONV_ARGS_STR                                                                            \
    "Tensor input, Tensor weight, Tensor? bias=None, int[] stride=1, str padding='valid', "      \
    "int[] dilation=1, int groups=1"
#define CONVT_ARGS                                                                               \
    "Tensor input, Tensor weight, Tensor? bias=None, int[] stride=1, int[] padding=0, "          \
    "int[] output_padding=0, int groups=1, int[] dilation=1"
#define MAXPOOL_ARGS                                                                             \
    "Tensor self, int[] kernel_size, int[] stride=[], int[] padding=0, int[] dilation=1, "       \
    "bool ceil_mode=False"
#define AVGPOOL_ARGS                                                                             \
    "Tensor self, int[] kernel_size, int[] stride=[], int[] padding=0, bool ceil_mode=False, "   \
    "bool count_include_pad=True, int? divisor_override=None"

const at_op at_ops_nn[] = {
    {"matmul", "Tensor self, Tensor other", op_matmul},
    {"mm", "Tensor self, Tensor mat2", op_mm},
    {"bmm", "Tensor self, Tensor mat2", op_mm},
    {"linear", "Tensor input, Tensor weight, Tensor? bias=None", op_linear},
    {"addmm", "Tensor self, Tensor mat1, Tensor mat2, *, Scalar beta=1, Scalar alpha=1",
     op_addmm},
    {"baddbmm", "Tensor self, Tensor batch1, Tensor batch2, *, Scalar beta=1, Scalar alpha=1",
     op_baddbmm},
    {"conv1d", CONV_ARGS, op_conv},
    {"conv2d", CONV_ARGS, op_conv},
    {"conv3d", CONV_ARGS, op_conv},
    {"conv1d", CONV_ARGS_STR, op_conv},
    {"conv2d", CONV_ARGS_STR, op_conv},
    {"conv3d", CONV_ARGS_STR, op_conv},
    {"conv_transpose1d", CONVT_ARGS, op_conv_transpose},
    {"conv_transpose2d", CONVT_ARGS, op_conv_transpose},
    {"conv_transpose3d", CONVT_ARGS, op_conv_transpose},
    {"_convolution",
     "Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, int[] dilation, "
     "bool transposed, int[] output_padding, int groups, bool benchmark=False, "
     "bool deterministic=False, bool cudnn_enabled=True, bool allow_tf32=True",
     op__convolution},
    {"convolution",
     "Tensor input, Tensor weight, Tensor? bias, int[] stride, int[] padding, int[] dilation, "
     "bool transposed, int[] output_padding, int groups",
     op__convolution},
    {"batch_norm",
     "Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, "
     "bool training, float momentum, float eps, bool cudnn_enabled",
     op_batch_norm},
    {"layer_norm",
     "Tensor input, int[] normalized_shape, Tensor? weight=None, Tensor? bias=None, "
     "float eps=1e-05, bool cudnn_enable=True",
     op_layer_norm},
    {"group_norm",
     "Tensor input, int num_groups, Tensor? weight=None, Tensor? bias=None, float eps=1e-05, "
     "bool cudnn_enabled=True",
     op_group_norm},
    {"instance_norm",
     "Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, "
     "bool use_input_stats, float momentum, float eps, bool cudnn_enabled",
     op_instance_norm},
    {"max_pool1d", MAXPOOL_ARGS, op_max_pool},
    {"max_pool2d", MAXPOOL_ARGS, op_max_pool},
    {"max_pool3d", MAXPOOL_ARGS, op_max_pool},
    {"max_pool1d_with_indices", MAXPOOL_ARGS, op_max_pool},
    {"max_pool2d_with_indices", MAXPOOL_ARGS, op_max_pool},
    {"max_pool3d_with_indices", MAXPOOL_ARGS, op_max_pool},
    {"avg_pool1d", AVGPOOL_ARGS, op_avg_pool},
    {"avg_pool2d", AVGPOOL_ARGS, op_avg_pool},
    {"avg_pool3d", AVGPOOL_ARGS, op_avg_pool},
    {"adaptive_avg_pool1d", "Tensor self, int[1] output_size", op_adaptive_avg},
    {"adaptive_avg_pool2d", "Tensor self, int[2] output_size", op_adaptive_avg},
    {"adaptive_avg_pool3d", "Tensor self, int[3] output_size", op_adaptive_avg},
    {"_adaptive_avg_pool2d", "Tensor self, int[2] output_size", op_adaptive_avg},
    {"adaptive_max_pool1d", "Tensor self, int[1] output_size", op_adaptive_max},
    {"adaptive_max_pool2d", "Tensor self, int[2] output_size", op_adaptive_max},
    {"adaptive_max_pool3d", "Tensor self, int[3] output_size", op_adaptive_max},
    {"dropout", "Tensor input, float p, bool train", op_dropout},
    {"feature_dropout", "Tensor input, float p, bool train", op_dropout},
    {"alpha_dropout", "Tensor input, float p, bool train", op_dropout},
    {"feature_alpha_dropout", "Tensor input, float p, bool train", op_dropout},
    {"embedding",
     "Tensor weight, Tensor indices, int padding_idx=-1, bool scale_grad_by_freq=False, "
     "bool sparse=False",
     op_embedding},
    {"upsample_nearest1d", "Tensor self, int[1] output_size, float? scales=None", op_upsample},
    {"upsample_nearest1d", "Tensor input, int[]? output_size, float[]? scale_factors",
     op_upsample_vec},
    {"upsample_nearest2d",
     "Tensor self, int[2] output_size, float? scales_h=None, float? scales_w=None", op_upsample},
    {"upsample_nearest2d", "Tensor input, int[]? output_size, float[]? scale_factors",
     op_upsample_vec},
    {"upsample_linear1d",
     "Tensor self, int[1] output_size, bool align_corners, float? scales=None", op_upsample},
    {"upsample_linear1d",
     "Tensor input, int[]? output_size, bool align_corners, float[]? scale_factors",
     op_upsample_vec},
    {"upsample_bilinear2d",
     "Tensor self, int[2] output_size, bool align_corners, float? scales_h=None, "
     "float? scales_w=None",
     op_upsample},
    {"upsample_bilinear2d",
     "Tensor input, int[]? output_size, bool align_corners, float[]? scale_factors",
     op_upsample_vec},
    {"upsample_bicubic2d",
     "Tensor self, int[2] output_size, bool align_corners, float? scales_h=None, "
     "float? scales_w=None",
     op_upsample},
    {"upsample_bicubic2d",
     "Tensor input, int[]? output_size, bool align_corners, float[]? scale_factors",
     op_upsample_vec},
    {"constant_pad_nd", "Tensor self, int[] pad, Scalar value=0", op_constant_pad_nd},
    {"pad", "Tensor self, int[] pad, str mode='constant', float? value=None", op_pad},
    {"reflection_pad1d", "Tensor self, int[2] padding", op_reflection_pad},
    {"reflection_pad2d", "Tensor self, int[4] padding", op_reflection_pad},
    {"replication_pad1d", "Tensor self, int[2] padding", op_reflection_pad},
    {"replication_pad2d", "Tensor self, int[4] padding", op_reflection_pad},
    {"replication_pad3d", "Tensor self, int[6] padding", op_reflection_pad},
    {"scaled_dot_product_attention",
     "Tensor query, Tensor key, Tensor value, Tensor? attn_mask=None, float dropout_p=0.0, "
     "bool is_causal=False, *, float? scale=None",
     op_sdpa},
    {NULL, NULL, NULL},
};
