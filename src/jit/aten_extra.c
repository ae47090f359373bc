/*
 * src/jit/aten_extra.c - the ATen-level forms torch.export graphs and
 * bytecode use (native_layer_norm, _native_batch_norm_legit_no_training,
 * native_dropout, _to_copy, sym_size, the *_copy views, __range_length ...)
 * and a few more tensor ops (scatter, pixel_shuffle, isnan, dot/mv/outer),
 * each over the ops of this library or one ONNX kernel.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/aten_internal.h"

static int oom(at_args *A, ckpt_error *err)
{
    return jit_fail(A->rt, err, CKPT_E_NOMEM, "aten::%s: out of memory", A->op);
}

/* call another op of the library with this call's first n arguments */
static int forward_n(at_args *A, const char *op, int n, jv **res, ckpt_error *err)
{
    return jit_aten_call(A->rt, op, A->a, (size_t)n, NULL, NULL, 0, res, err);
}

static int empty1(at_args *A, jv **res, ckpt_error *err)
{
    int64_t z = 0;
    return at_const(A, OX_FLOAT, 1, &z, 0.0, res, err);
}

/* native_layer_norm(input, normalized_shape, weight, bias, eps) -> (out, mean, rstd) */
static int op_native_layer_norm(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0];
    const ox_val *xv = &x->u.t->t;
    int64_t ns[OX_MAX_RANK];
    int nn = at_ints(A, 1, ns, OX_MAX_RANK, 0, err);
    if (nn < 0)
        return nn;
    if (nn < 1 || nn > xv->rank)
        return at_fail(A, err, "normalized_shape of %d dims for a %d-D input", nn, xv->rank);
    jv *w = at_t(A, 2) ? jv_ref(at_t(A, 2)) : NULL, *b = at_t(A, 3);
    int rc = 0;
    if (!w)
        rc = at_const(A, xv->dtype, nn, ns, 1.0, &w, err);
    ox_attr at[2] = {oxa_int("axis", xv->rank - nn), oxa_float("epsilon", (float)at_f(A, 4))};
    jv *in[3] = {x, w, b}, *o[3] = {0};
    if (rc == 0)
        rc = at_run_n(A, "LayerNormalization", 0, at, 2, in, b ? 3 : 2, NULL, o, 3, err);
    jv_unref(w);
    if (rc < 0)
        return rc;
    *res = at_tuple3(o[0], o[1], o[2]);
    return *res ? 0 : oom(A, err);
}

/* _native_batch_norm_legit_no_training(input, weight, bias, running_mean, running_var,
 * momentum, eps) -> (out, empty, empty) */
static int op_bn_legit(at_args *A, jv **res, ckpt_error *err)
{
    jv *f = jv_bool(false), *mom = jv_float(at_f(A, 5)), *eps = jv_float(at_f(A, 6)),
       *cud = jv_bool(false), *y = NULL, *e1 = NULL, *e2 = NULL;
    jv *args[9] = {A->a[0], A->a[1], A->a[2], A->a[3], A->a[4], f, mom, eps, cud};
    int rc = mom && eps ? jit_aten_call(A->rt, "batch_norm", args, 9, NULL, NULL, 0, &y, err)
                        : oom(A, err);
    jv_unref(mom);
    jv_unref(eps);
    if (rc == 0)
        rc = empty1(A, &e1, err);
    if (rc == 0)
        rc = empty1(A, &e2, err);
    if (rc < 0) {
        jv_unref(y);
        jv_unref(e1);
        jv_unref(e2);
        return rc;
    }
    *res = at_tuple3(y, e1, e2);
    return *res ? 0 : oom(A, err);
}

/* native_batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps) */
static int op_native_batch_norm(at_args *A, jv **res, ckpt_error *err)
{
    jv *cud = jv_bool(false), *y = NULL, *e1 = NULL, *e2 = NULL;
    jv *args[9] = {A->a[0], A->a[1], A->a[2], A->a[3], A->a[4], A->a[5], A->a[6], A->a[7], cud};
    int rc = jit_aten_call(A->rt, "batch_norm", args, 9, NULL, NULL, 0, &y, err);
    if (rc == 0)
        rc = empty1(A, &e1, err);
    if (rc == 0)
        rc = empty1(A, &e2, err);
    if (rc < 0) {
        jv_unref(y);
        jv_unref(e1);
        jv_unref(e2);
        return rc;
    }
    *res = at_tuple3(y, e1, e2);
    return *res ? 0 : oom(A, err);
}

/* native_dropout(input, p, train) -> (input, mask of ones) in inference */
static int op_native_dropout(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *xv = at_tv(A, 0);
    jv *m = NULL;
    CKPT_TRY(at_const(A, OX_BOOL, xv->rank, xv->dims, 1.0, &m, err));
    *res = at_tuple2(jv_ref(A->a[0]), m);
    return *res ? 0 : oom(A, err);
}

/* _to_copy(self, *, dtype, layout, device, pin_memory, non_blocking, memory_format) */
static int op_to_copy(at_args *A, jv **res, ckpt_error *err)
{
    int dt = at_dtype_arg(A, 1, at_tv(A, 0)->dtype, err);
    if (dt < 0)
        return dt;
    if (dt != at_tv(A, 0)->dtype)
        return at_cast(A, A->a[0], dt, res, err);
    return forward_n(A, "clone", 1, res, err);
}

static int op_fwd_view(at_args *A, jv **res, ckpt_error *err)
{
    return forward_n(A, "view", 2, res, err);
}

static int op_fwd_same(at_args *A, jv **res, ckpt_error *err)
{
    /* "<op>_copy" -> "<op>" with the same arguments */
    char base[64];
    size_t l = strlen(A->op);
    if (l < 6 || l - 5 >= sizeof base)
        return at_fail(A, err, "unknown op");
    memcpy(base, A->op, l - 5);
    base[l - 5] = 0;
    return forward_n(A, base, A->n, res, err);
}

static int op_sym_size(at_args *A, jv **res, ckpt_error *err)
{
    return forward_n(A, "size", 2, res, err);
}

static int op_broadcast_to(at_args *A, jv **res, ckpt_error *err)
{
    return forward_n(A, "expand", 2, res, err);
}

/* tile(self, dims): repeat with leading ones */
static int op_tile(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *xv = at_tv(A, 0);
    int64_t r[OX_MAX_RANK], d[OX_MAX_RANK];
    int n = at_ints(A, 1, r, OX_MAX_RANK, 0, err);
    if (n < 0)
        return n;
    int m = n > xv->rank ? n : xv->rank;
    for (int i = 0; i < m; i++) {
        int k = i - (m - n);
        d[i] = k >= 0 ? r[k] : 1;
    }
    jv *l = jv_list_new((size_t)m);
    for (int i = 0; l && i < m; i++)
        if (jv_list_push(l, jv_int(d[i]), NULL) < 0) {
            jv_unref(l);
            l = NULL;
        }
    if (!l)
        return oom(A, err);
    jv *args[2] = {A->a[0], l};
    int rc = jit_aten_call(A->rt, "repeat", args, 2, NULL, NULL, 0, res, err);
    jv_unref(l);
    return rc;
}

static int op_isnan(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *xv = at_tv(A, 0);
    if (!at_is_floating(xv->dtype))
        return at_const(A, OX_BOOL, xv->rank, xv->dims, 0.0, res, err);
    return at_unary(A, "IsNaN", A->a[0], res, err);
}

static int op_isinf(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *xv = at_tv(A, 0);
    if (!at_is_floating(xv->dtype))
        return at_const(A, OX_BOOL, xv->rank, xv->dims, 0.0, res, err);
    return at_unary(A, "IsInf", A->a[0], res, err);
}

static int op_isfinite(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *xv = at_tv(A, 0);
    if (!at_is_floating(xv->dtype))
        return at_const(A, OX_BOOL, xv->rank, xv->dims, 1.0, res, err);
    jv *a = NULL, *b = NULL, *o = NULL;
    int rc = at_unary(A, "IsNaN", A->a[0], &a, err);
    if (rc == 0)
        rc = at_unary(A, "IsInf", A->a[0], &b, err);
    if (rc == 0)
        rc = at_binary(A, "Or", a, b, &o, err);
    if (rc == 0)
        rc = at_unary(A, "Not", o, res, err);
    jv_unref(a);
    jv_unref(b);
    jv_unref(o);
    return rc;
}

static int op_dot(at_args *A, jv **res, ckpt_error *err)
{
    if (at_tv(A, 0)->rank != 1 || at_tv(A, 1)->rank != 1)
        return at_fail(A, err, "1D tensors expected");
    return at_binary(A, "MatMul", A->a[0], A->a[1], res, err);
}

static int op_mv(at_args *A, jv **res, ckpt_error *err)
{
    if (at_tv(A, 0)->rank != 2 || at_tv(A, 1)->rank != 1)
        return at_fail(A, err, "expects a matrix and a vector");
    return at_binary(A, "MatMul", A->a[0], A->a[1], res, err);
}

static int op_outer(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *a = at_tv(A, 0), *b = at_tv(A, 1);
    if (a->rank != 1 || b->rank != 1)
        return at_fail(A, err, "1D tensors expected");
    int64_t da[2] = {a->dims[0], 1}, db[2] = {1, b->dims[0]};
    jv *ra = NULL, *rb = NULL;
    int rc = at_reshape(A, A->a[0], 2, da, &ra, err);
    if (rc == 0)
        rc = at_reshape(A, A->a[1], 2, db, &rb, err);
    if (rc == 0)
        rc = at_binary(A, "Mul", ra, rb, res, err);
    jv_unref(ra);
    jv_unref(rb);
    return rc;
}

/* scatter(self, dim, index, src|value[, reduce]) / scatter_add */
static int scatter(at_args *A, const char *reduction, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *idx = A->a[2], *src = NULL, *ic = NULL;
    const ox_val *xv = &x->u.t->t, *iv = &idx->u.t->t;
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 1), xv->rank, false, &d, err));
    int rc;
    if (A->a[3]->kind == JV_TENSOR) {
        const ox_val *sv = &A->a[3]->u.t->t;
        bool same = sv->rank == iv->rank;
        for (int i = 0; same && i < iv->rank; i++)
            same = sv->dims[i] == iv->dims[i];
        jv *c = NULL;
        rc = at_cast(A, A->a[3], xv->dtype, &c, err);
        if (rc == 0 && !same) {
            /* src larger than index: its leading block */
            jv *st = NULL, *en = NULL, *ax = NULL;
            int64_t zeros[OX_MAX_RANK] = {0}, axes[OX_MAX_RANK];
            for (int i = 0; i < iv->rank; i++)
                axes[i] = i;
            rc = at_const_i64s(A, zeros, iv->rank, &st, err);
            if (rc == 0)
                rc = at_const_i64s(A, iv->dims, iv->rank, &en, err);
            if (rc == 0)
                rc = at_const_i64s(A, axes, iv->rank, &ax, err);
            if (rc == 0) {
                jv *in[4] = {c, st, en, ax};
                rc = at_run(A, "Slice", 0, NULL, 0, in, 4, NULL, &src, err);
            }
            jv_unref(st);
            jv_unref(en);
            jv_unref(ax);
            jv_unref(c);
        } else {
            src = c;
        }
    } else {
        rc = at_const(A, xv->dtype, iv->rank, iv->dims, at_num(A->a[3]), &src, err);
    }
    if (rc == 0)
        rc = at_cast(A, idx, OX_INT64, &ic, err);
    ox_attr at[2] = {oxa_int("axis", d), oxa_str("reduction", reduction)};
    if (rc == 0) {
        jv *in[3] = {x, ic, src};
        rc = at_run(A, "ScatterElements", 0, at, 2, in, 3, NULL, res, err);
    }
    jv_unref(src);
    jv_unref(ic);
    return rc;
}

static int op_scatter(at_args *A, jv **res, ckpt_error *err)
{
    const char *red = A->n > 4 ? at_s(A, 4) : NULL;
    if (red && strcmp(red, "add") && strcmp(red, "multiply"))
        return at_fail(A, err, "reduce '%s' (add or multiply)", red);
    return scatter(A, !red ? "none" : !strcmp(red, "add") ? "add" : "mul", res, err);
}

static int op_scatter_add(at_args *A, jv **res, ckpt_error *err)
{
    return scatter(A, "add", res, err);
}

/* pixel_shuffle(self, upscale_factor): DepthToSpace CRD */
static int op_pixel_shuffle(at_args *A, jv **res, ckpt_error *err)
{
    if (at_tv(A, 0)->rank != 4)
        return at_fail(A, err, "expects a 4-D input");
    ox_attr at[2] = {oxa_int("blocksize", at_i(A, 1)), oxa_str("mode", "CRD")};
    return at_run(A, "DepthToSpace", 0, at, 2, &A->a[0], 1, NULL, res, err);
}

static int op_pixel_unshuffle(at_args *A, jv **res, ckpt_error *err)
{
    if (at_tv(A, 0)->rank != 4)
        return at_fail(A, err, "expects a 4-D input");
    /* SpaceToDepth orders (bh, bw, c); torch orders (c, bh, bw): reshape/transpose instead */
    const ox_val *x = at_tv(A, 0);
    int64_t r = at_i(A, 1);
    if (r <= 0 || x->dims[2] % r || x->dims[3] % r)
        return at_fail(A, err, "spatial size not divisible by %" PRId64, r);
    int64_t d6[6] = {x->dims[0], x->dims[1], x->dims[2] / r, r, x->dims[3] / r, r};
    int64_t p[6] = {0, 1, 3, 5, 2, 4};
    int64_t d4[4] = {x->dims[0], x->dims[1] * r * r, x->dims[2] / r, x->dims[3] / r};
    jv *a = NULL, *b = NULL;
    int rc = at_reshape(A, A->a[0], 6, d6, &a, err);
    if (rc == 0)
        rc = at_transpose(A, a, p, 6, &b, err);
    if (rc == 0)
        rc = at_reshape(A, b, 4, d4, res, err);
    jv_unref(a);
    jv_unref(b);
    return rc;
}

static int op_is_floating_point(at_args *A, jv **res, ckpt_error *err)
{
    (void)err;
    *res = jv_bool(at_is_floating(at_tv(A, 0)->dtype));
    return 0;
}

static int op_true(at_args *A, jv **res, ckpt_error *err)
{
    (void)A;
    (void)err;
    *res = jv_bool(true);
    return 0;
}

/* __range_length(lo, hi, step), __derive_index(index, start, step): TorchScript for-loops */
static int op_range_length(at_args *A, jv **res, ckpt_error *err)
{
    int64_t lo = at_i(A, 0), hi = at_i(A, 1), st = at_i(A, 2), n = 0;
    if (st == 0)
        return at_fail(A, err, "range() arg 3 must not be zero");
    if (st > 0 && lo < hi)
        n = (hi - lo + st - 1) / st;
    else if (st < 0 && lo > hi)
        n = (lo - hi - st - 1) / (-st);
    *res = jv_int(n);
    return *res ? 0 : oom(A, err);
}

static int op_derive_index(at_args *A, jv **res, ckpt_error *err)
{
    *res = jv_int(at_i(A, 1) + at_i(A, 0) * at_i(A, 2));
    return *res ? 0 : oom(A, err);
}

static int op_implicit_int(at_args *A, jv **res, ckpt_error *err)
{
    return forward_n(A, "Int", 1, res, err);
}

static int op_implicit_float(at_args *A, jv **res, ckpt_error *err)
{
    return forward_n(A, "Float", 1, res, err);
}

#define TO_OPTS                                                                                  \
    "*, ScalarType? dtype=None, Layout? layout=None, Device? device=None, "                      \
    "bool? pin_memory=None, bool non_blocking=False, MemoryFormat? memory_format=None"

const at_op at_ops_extra[] = {
    {"native_layer_norm",
     "Tensor input, int[] normalized_shape, Tensor? weight, Tensor? bias, float eps",
     op_native_layer_norm},
    {"_native_batch_norm_legit_no_training",
     "Tensor input, Tensor? weight, Tensor? bias, Tensor running_mean, Tensor running_var, "
     "float momentum, float eps",
     op_bn_legit},
    {"native_batch_norm",
     "Tensor input, Tensor? weight, Tensor? bias, Tensor? running_mean, Tensor? running_var, "
     "bool training, float momentum, float eps",
     op_native_batch_norm},
    {"native_dropout", "Tensor input, float p, bool? train", op_native_dropout},
    {"_to_copy", "Tensor self, " TO_OPTS, op_to_copy},
    {"_unsafe_view", "Tensor self, int[] size", op_fwd_view},
    {"view_copy", "Tensor self, int[] size", op_fwd_same},
    {"permute_copy", "Tensor self, int[] dims", op_fwd_same},
    {"expand_copy", "Tensor self, int[] size, *, bool implicit=False", op_fwd_same},
    {"unsqueeze_copy", "Tensor self, int dim", op_fwd_same},
    {"squeeze_copy", "Tensor self", op_fwd_same},
    {"squeeze_copy", "Tensor self, int dim", op_fwd_same},
    {"squeeze_copy", "Tensor self, int[] dim", op_fwd_same},
    {"transpose_copy", "Tensor self, int dim0, int dim1", op_fwd_same},
    {"select_copy", "Tensor self, int dim, int index", op_fwd_same},
    {"slice_copy", "Tensor self, int dim=0, int? start=None, int? end=None, int step=1",
     op_fwd_same},
    {"t_copy", "Tensor self", op_fwd_same},
    {"alias_copy", "Tensor self", op_fwd_same},
    {"sym_size", "Tensor self, int dim", op_sym_size},
    {"broadcast_to", "Tensor self, int[] size", op_broadcast_to},
    {"tile", "Tensor self, int[] dims", op_tile},
    {"isnan", "Tensor self", op_isnan},
    {"isinf", "Tensor self", op_isinf},
    {"isfinite", "Tensor self", op_isfinite},
    {"dot", "Tensor self, Tensor tensor", op_dot},
    {"mv", "Tensor self, Tensor vec", op_mv},
    {"outer", "Tensor self, Tensor vec2", op_outer},
    {"ger", "Tensor self, Tensor vec2", op_outer},
    {"scatter", "Tensor self, int dim, Tensor index, Tensor src", op_scatter},
    {"scatter", "Tensor self, int dim, Tensor index, Scalar value", op_scatter},
    {"scatter", "Tensor self, int dim, Tensor index, Tensor src, *, str reduce", op_scatter},
    {"scatter", "Tensor self, int dim, Tensor index, Scalar value, *, str reduce", op_scatter},
    {"scatter_add", "Tensor self, int dim, Tensor index, Tensor src", op_scatter_add},
    {"pixel_shuffle", "Tensor self, int upscale_factor", op_pixel_shuffle},
    {"pixel_unshuffle", "Tensor self, int downscale_factor", op_pixel_unshuffle},
    {"is_floating_point", "Tensor self", op_is_floating_point},
    {"is_contiguous", "Tensor self", op_true},
    {"is_contiguous", "Tensor self, MemoryFormat memory_format", op_true},
    {"__range_length", "int lo, int hi, int step", op_range_length},
    {"__derive_index", "int index, int start, int step", op_derive_index},
    {"IntImplicit", "Tensor a", op_implicit_int},
    {"FloatImplicit", "Tensor a", op_implicit_float},
    {NULL, NULL, NULL},
};
