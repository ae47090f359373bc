/*
 * src/jit/aten_quant.c - ops the real archives call beyond the layer set:
 * quantized:: ops on per-tensor quantized tensors (computed in float between
 * DequantizeLinear and QuantizeLinear: results can differ from torch's
 * integer kernels by one quantum), torchvision::nms / roi_align over the ONNX
 * NonMaxSuppression / RoiAlign kernels, meshgrid, rand, _cast_*.
 *
 * Packed weights (Conv2dPackedParamsBase, LinearPackedParamsBase) are objects
 * holding "__state__" as the reader stored it: linear (weight, bias), conv
 * (version, [config int16, weight, bias?] ...) with config = spatial dims,
 * stride, padding, dilation, output_padding, groups, transpose.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/aten_internal.h"

static int ac(at_args *A, const char *op, jv **args, size_t n, jv **res, ckpt_error *err)
{
    for (size_t i = 0; i < n; i++)
        if (!args[i])
            return jit_fail(A->rt, err, CKPT_E_NOMEM, "aten::%s: out of memory", A->op);
    return jit_aten_call(A->rt, op, args, n, NULL, NULL, 0, res, err);
}

/* float view of a tensor: dequantized when quantized */
static int deq(at_args *A, jv *t, jv **res, ckpt_error *err)
{
    if (!t->u.t->is_quantized) {
        if (t->u.t->t.dtype == OX_FLOAT) {
            *res = jv_ref(t);
            return 0;
        }
        return at_cast(A, t, OX_FLOAT, res, err);
    }
    jv *args[1] = {t};
    return ac(A, "dequantize", args, 1, res, err);
}

static int quant(at_args *A, jv *x, double scale, int64_t zp, int64_t st, jv **res,
                 ckpt_error *err)
{
    jv *s = jv_float(scale), *z = jv_int(zp), *d = jv_int(st);
    jv *args[4] = {x, s, z, d};
    int rc = ac(A, "quantize_per_tensor", args, 4, res, err);
    jv_unref(s);
    jv_unref(z);
    jv_unref(d);
    return rc;
}

static int64_t act_st(const jv *t)
{
    return t->u.t->t.dtype == OX_INT8 ? JIT_ST_QINT8 : JIT_ST_QUINT8;
}

/* find the tensors of a packed-params state: the config (int16) if any, weight, bias */
static void scan_state(jv *v, jv **cfg, jv **w, jv **b, int depth)
{
    if (!v || depth > 6)
        return;
    if (v->kind == JV_OBJECT) {
        scan_state(jv_obj_get(v, "__state__"), cfg, w, b, depth + 1);
        return;
    }
    if (v->kind == JV_TENSOR) {
        if (v->u.t->t.dtype == OX_INT16 && !v->u.t->is_quantized && !*cfg && !*w)
            *cfg = v;
        else if (!*w)
            *w = v;
        else if (!*b && v->u.t->t.dtype == OX_FLOAT)
            *b = v;
        return;
    }
    if (v->kind == JV_LIST || v->kind == JV_TUPLE)
        for (size_t i = 0; i < v->u.seq.n; i++)
            scan_state(v->u.seq.items[i], cfg, w, b, depth + 1);
}

static int packed(at_args *A, int i, jv **cfg, jv **w, jv **b, ckpt_error *err)
{
    *cfg = *w = *b = NULL;
    scan_state(A->a[i], cfg, w, b, 0);
    if (!*w)
        return at_fail(A, err, "packed parameters without a weight");
    return 0;
}

/* quantized::linear(X, W_prepack, Y_scale, Y_zero_point) */
static int op_qlinear(at_args *A, jv **res, ckpt_error *err)
{
    jv *cfg, *w, *b, *xf = NULL, *wf = NULL, *y = NULL, *yr = NULL;
    CKPT_TRY(packed(A, 1, &cfg, &w, &b, err));
    bool relu = strstr(A->op, "relu") != NULL;
    int rc = deq(A, A->a[0], &xf, err);
    if (rc == 0)
        rc = deq(A, w, &wf, err);
    if (rc == 0) {
        jv *args[3] = {xf, wf, b ? b : jv_none()};
        rc = ac(A, "linear", args, 3, &y, err);
    }
    if (rc == 0 && relu) {
        jv *args[1] = {y};
        rc = ac(A, "relu", args, 1, &yr, err);
    }
    if (rc == 0)
        rc = quant(A, relu ? yr : y, at_f(A, 2), at_i(A, 3), act_st(A->a[0]), res, err);
    jv_unref(xf);
    jv_unref(wf);
    jv_unref(y);
    jv_unref(yr);
    return rc;
}

/* quantized::linear_dynamic(X, W_prepack, reduce_range): float in, float out */
static int op_qlinear_dynamic(at_args *A, jv **res, ckpt_error *err)
{
    jv *cfg, *w, *b, *wf = NULL, *y = NULL;
    CKPT_TRY(packed(A, 1, &cfg, &w, &b, err));
    bool relu = strstr(A->op, "relu") != NULL;
    /* the activation goes through uint8 as torch's dynamic quantisation does */
    jv *q[3] = {0}, *xd = NULL;
    int rc = deq(A, w, &wf, err);
    if (rc == 0)
        rc = at_run_n(A, "DynamicQuantizeLinear", 0, NULL, 0, &A->a[0], 1, NULL, q, 3, err);
    if (rc == 0)
        rc = at_run(A, "DequantizeLinear", 0, NULL, 0, q, 3, NULL, &xd, err);
    for (int k = 0; k < 3; k++)
        jv_unref(q[k]);
    if (rc == 0) {
        jv *args[3] = {xd, wf, b ? b : jv_none()};
        rc = ac(A, "linear", args, 3, relu ? &y : res, err);
    }
    if (rc == 0 && relu) {
        jv *args[1] = {y};
        rc = ac(A, "relu", args, 1, res, err);
    }
    jv_unref(wf);
    jv_unref(xd);
    jv_unref(y);
    return rc;
}

/* quantized::conv2d(qx, packed, output_scale, output_zero_point) (+ _relu) */
static int op_qconv(at_args *A, jv **res, ckpt_error *err)
{
    jv *cfg, *w, *b, *xf = NULL, *wf = NULL, *y = NULL, *yr = NULL;
    CKPT_TRY(packed(A, 1, &cfg, &w, &b, err));
    if (!cfg)
        return at_fail(A, err, "packed convolution parameters without their config");
    const ox_val *cv = &cfg->u.t->t;
    int64_t c[32];
    int64_t nc = cv->numel < 32 ? cv->numel : 32;
    for (int64_t i = 0; i < nc; i++)
        c[i] = (int64_t)ox_get_f64(cv, i);
    int64_t nd = nc ? c[0] : 0;
    if (nd < 1 || nd > 3 || nc < 1 + 4 * nd + 2)
        return at_fail(A, err, "unsupported packed convolution config");
    bool relu = strstr(A->op, "relu") != NULL, transposed = c[1 + 4 * nd + 1] != 0;
    jv *lists[4] = {0};
    for (int k = 0; k < 4; k++) {
        lists[k] = jv_list_new((size_t)nd);
        for (int64_t i = 0; lists[k] && i < nd; i++)
            if (jv_list_push(lists[k], jv_int(c[1 + k * nd + i]), NULL) < 0) {
                jv_unref(lists[k]);
                lists[k] = NULL;
            }
    }
    jv *groups = jv_int(c[1 + 4 * nd]), *tr = jv_bool(transposed);
    int rc = deq(A, A->a[0], &xf, err);
    if (rc == 0)
        rc = deq(A, w, &wf, err);
    if (rc == 0) {
        /* _convolution(input, weight, bias, stride, padding, dilation, transposed,
         * output_padding, groups) */
        jv *args[9] = {xf,       wf, b ? b : jv_none(), lists[0], lists[1],
                       lists[2], tr, lists[3],          groups};
        rc = ac(A, "_convolution", args, 9, &y, err);
    }
    if (rc == 0 && relu) {
        jv *args[1] = {y};
        rc = ac(A, "relu", args, 1, &yr, err);
    }
    if (rc == 0)
        rc = quant(A, relu ? yr : y, at_f(A, 2), at_i(A, 3), act_st(A->a[0]), res, err);
    for (int k = 0; k < 4; k++)
        jv_unref(lists[k]);
    jv_unref(groups);
    jv_unref(xf);
    jv_unref(wf);
    jv_unref(y);
    jv_unref(yr);
    return rc;
}

/* quantized::add(qa, qb, scale, zero_point) (+ add_relu), quantized::mul */
static int op_qadd(at_args *A, jv **res, ckpt_error *err)
{
    jv *a = NULL, *b = NULL, *s = NULL, *r = NULL;
    bool relu = strstr(A->op, "relu") != NULL, mul = strstr(A->op, "mul") != NULL;
    int rc = deq(A, A->a[0], &a, err);
    if (rc == 0)
        rc = A->a[1]->kind == JV_TENSOR ? deq(A, A->a[1], &b, err)
                                        : at_scalar_tensor(A, A->a[1], OX_FLOAT, &b, err);
    if (rc == 0) {
        jv *args[2] = {a, b};
        rc = ac(A, mul ? "mul" : "add", args, 2, &s, err);
    }
    if (rc == 0 && relu) {
        jv *args[1] = {s};
        rc = ac(A, "relu", args, 1, &r, err);
    }
    if (rc == 0 && A->n >= 4)
        rc = quant(A, relu ? r : s, at_f(A, 2), at_i(A, 3), act_st(A->a[0]), res, err);
    else if (rc == 0) /* add_scalar: keep the input's quantisation */
        rc = quant(A, relu ? r : s, A->a[0]->u.t->q_scale, A->a[0]->u.t->q_zero_point,
                   act_st(A->a[0]), res, err);
    jv_unref(a);
    jv_unref(b);
    jv_unref(s);
    jv_unref(r);
    return rc;
}

/* quantized::cat(qx list, dim, scale, zero_point) */
static int op_qcat(at_args *A, jv **res, ckpt_error *err)
{
    jv *l = A->a[0];
    jv *fl = jv_list_new(l->u.seq.n), *c = NULL;
    int rc = fl ? 0 : at_fail(A, err, "out of memory");
    for (size_t i = 0; rc == 0 && i < l->u.seq.n; i++) {
        jv *f = NULL;
        rc = deq(A, l->u.seq.items[i], &f, err);
        if (rc == 0)
            rc = jv_list_push(fl, f, err);
    }
    jv *d = jv_int(at_i(A, 1));
    if (rc == 0) {
        jv *args[2] = {fl, d};
        rc = ac(A, "cat", args, 2, &c, err);
    }
    if (rc == 0)
        rc = quant(A, c, at_f(A, 2), at_i(A, 3),
                   l->u.seq.n ? act_st(l->u.seq.items[0]) : JIT_ST_QUINT8, res, err);
    jv_unref(fl);
    jv_unref(d);
    jv_unref(c);
    return rc;
}

/* torchvision::nms(boxes, scores, iou_threshold) -> kept indices, by decreasing score */
static int op_nms(at_args *A, jv **res, ckpt_error *err)
{
    jv *boxes = A->a[0], *scores = A->a[1];
    const ox_val *bv = &boxes->u.t->t, *sv = &scores->u.t->t;
    if (bv->rank != 2 || bv->dims[1] != 4 || sv->rank != 1 || sv->dims[0] != bv->dims[0])
        return at_fail(A, err, "boxes must be (N, 4) and scores (N)");
    int64_t N = bv->dims[0];
    int64_t db[3] = {1, N, 4}, ds[3] = {1, 1, N};
    jv *b3 = NULL, *s3 = NULL, *mx = NULL, *th = NULL, *sel = NULL, *col = NULL, *two = NULL;
    int rc = at_reshape(A, boxes, 3, db, &b3, err);
    if (rc == 0)
        rc = at_reshape(A, scores, 3, ds, &s3, err);
    if (rc == 0)
        rc = at_const_i64s(A, &N, 1, &mx, err);
    if (rc == 0)
        rc = at_const(A, OX_FLOAT, 1, (int64_t[]){1}, at_f(A, 2), &th, err);
    if (rc == 0) {
        jv *in[4] = {b3, s3, mx, th};
        rc = at_run(A, "NonMaxSuppression", 0, NULL, 0, in, 4, NULL, &sel, err);
    }
    if (rc == 0)
        rc = at_const(A, OX_INT64, 0, NULL, 2.0, &two, err);
    if (rc == 0) {
        ox_attr ax = oxa_int("axis", 1);
        jv *in[2] = {sel, two};
        rc = at_run(A, "Gather", 0, &ax, 1, in, 2, NULL, res, err);
    }
    jv *all[] = {b3, s3, mx, th, sel, col, two};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        jv_unref(all[i]);
    return rc;
}

/* torchvision::roi_align(input, rois, spatial_scale, pooled_height, pooled_width,
 * sampling_ratio, aligned) */
static int op_roi_align(at_args *A, jv **res, ckpt_error *err)
{
    jv *rois = A->a[1];
    const ox_val *rv = &rois->u.t->t;
    if (rv->rank != 2 || rv->dims[1] != 5)
        return at_fail(A, err, "rois must be (K, 5)");
    jv *parts[2] = {0}, *sz = NULL, *idx = NULL, *idf = NULL, *idv = NULL;
    int64_t s[2] = {1, 4};
    int rc = at_const_i64s(A, s, 2, &sz, err);
    ox_attr ax = oxa_int("axis", 1);
    jv *in[2] = {rois, sz};
    if (rc == 0)
        rc = at_run_n(A, "Split", 0, &ax, 1, in, 2, NULL, parts, 2, err);
    int64_t K = rv->dims[0];
    if (rc == 0)
        rc = at_reshape(A, parts[0], 1, &K, &idf, err);
    if (rc == 0)
        rc = at_cast(A, idf, OX_INT64, &idx, err);
    int64_t sr = at_i(A, 5);
    ox_attr at[6] = {oxa_str("mode", "avg"),
                     oxa_int("output_height", at_i(A, 3)),
                     oxa_int("output_width", at_i(A, 4)),
                     oxa_int("sampling_ratio", sr < 0 ? 0 : sr),
                     oxa_float("spatial_scale", (float)at_f(A, 2)),
                     oxa_str("coordinate_transformation_mode",
                             at_b(A, 6) ? "half_pixel" : "output_half_pixel")};
    if (rc == 0) {
        jv *in3[3] = {A->a[0], parts[1], idx};
        rc = at_run(A, "RoiAlign", 16, at, 6, in3, 3, NULL, res, err);
    }
    jv *all[] = {parts[0], parts[1], sz, idx, idf, idv};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        jv_unref(all[i]);
    return rc;
}

/* meshgrid(tensors, indexing='ij') */
static int op_meshgrid(at_args *A, jv **res, ckpt_error *err)
{
    jv *l = A->a[0];
    const char *ix = A->n > 1 ? at_s(A, 1) : NULL;
    bool xy = ix && !strcmp(ix, "xy");
    size_t n = l->u.seq.n;
    if (n == 0 || n > 8)
        return at_fail(A, err, "meshgrid of %zu tensors", n);
    int64_t shape[8];
    for (size_t i = 0; i < n; i++) {
        const ox_val *v = &l->u.seq.items[i]->u.t->t;
        if (v->rank > 1)
            return at_fail(A, err, "meshgrid expects 0-D or 1-D tensors");
        shape[i] = v->numel;
    }
    if (xy && n >= 2) {
        int64_t t = shape[0];
        shape[0] = shape[1];
        shape[1] = t;
    }
    jv *out = jv_list_new(n), *shp = NULL;
    int rc = out ? at_const_i64s(A, shape, (int64_t)n, &shp, err) : at_fail(A, err, "oom");
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int64_t d[8];
        size_t pos = i;
        if (xy && n >= 2 && i < 2)
            pos = 1 - i;
        for (size_t k = 0; k < n; k++)
            d[k] = k == pos ? shape[k] : 1;
        jv *r = NULL, *e = NULL;
        rc = at_reshape(A, l->u.seq.items[i], (int)n, d, &r, err);
        if (rc == 0) {
            jv *in[2] = {r, shp};
            rc = at_run(A, "Expand", 0, NULL, 0, in, 2, NULL, &e, err);
        }
        jv_unref(r);
        if (rc == 0)
            rc = jv_list_push(out, e, err);
    }
    jv_unref(shp);
    if (rc < 0) {
        jv_unref(out);
        return rc;
    }
    *res = out;
    return 0;
}

/* rand(size, *, dtype...) / rand_like / randn: the ONNX random kernels */
static int op_rand(at_args *A, jv **res, ckpt_error *err)
{
    bool like = A->a[0]->kind == JV_TENSOR;
    int64_t d[OX_MAX_RANK];
    int n;
    if (like) {
        const ox_val *v = at_tv(A, 0);
        n = v->rank;
        memcpy(d, v->dims, sizeof(int64_t) * (size_t)n);
    } else {
        n = at_ints(A, 0, d, OX_MAX_RANK, 0, err);
        if (n < 0)
            return n;
    }
    int dt = at_dtype_arg(A, 1, like ? at_tv(A, 0)->dtype : OX_FLOAT, err);
    if (dt < 0)
        return dt;
    bool normal = strstr(A->op, "randn") != NULL;
    ox_attr at[2] = {oxa_int("dtype", dt), oxa_ints("shape", d, (size_t)n)};
    return at_run(A, normal ? "RandomNormal" : "RandomUniform", 0, at, 2, NULL, 0, NULL, res,
                  err);
}

/* _cast_Float(self, non_blocking) etc. */
static int op_cast_named(at_args *A, jv **res, ckpt_error *err)
{
    const char *t = A->op + 6;
    int dt = !strcmp(t, "Float")    ? OX_FLOAT
             : !strcmp(t, "Double") ? OX_DOUBLE
             : !strcmp(t, "Long")   ? OX_INT64
             : !strcmp(t, "Int")    ? OX_INT32
             : !strcmp(t, "Short")  ? OX_INT16
             : !strcmp(t, "Char")   ? OX_INT8
             : !strcmp(t, "Byte")   ? OX_UINT8
             : !strcmp(t, "Half")   ? OX_FLOAT16
                                    : -1;
    if (dt < 0)
        return at_fail(A, err, "unknown cast");
    return at_cast(A, A->a[0], dt, res, err);
}

/* xnnpack op contexts: state (weight, bias, [stride, padding, dilation, groups,] min, max) */
static jv *ctx_state(jv *v, int depth)
{
    if (!v || depth > 4)
        return NULL;
    if (v->kind == JV_OBJECT)
        return ctx_state(jv_obj_get(v, "__state__"), depth + 1);
    if ((v->kind == JV_TUPLE || v->kind == JV_LIST) && v->u.seq.n) {
        if (v->u.seq.items[0]->kind == JV_TENSOR)
            return v;
        return ctx_state(v->u.seq.items[0], depth + 1);
    }
    return NULL;
}

static int clamp_out(at_args *A, jv *y, jv *lo, jv *hi, jv **res, ckpt_error *err)
{
    if ((!lo || lo->kind == JV_NONE) && (!hi || hi->kind == JV_NONE)) {
        *res = jv_ref(y);
        return 0;
    }
    jv *args[3] = {y, lo ? lo : jv_none(), hi ? hi : jv_none()};
    return ac(A, "clamp", args, 3, res, err);
}

/* prepacked::conv2d_clamp_run(X, W_prepack) */
static int op_conv2d_clamp_run(at_args *A, jv **res, ckpt_error *err)
{
    jv *st = ctx_state(A->a[1], 0), *y = NULL;
    if (!st || st->u.seq.n < 8)
        return at_fail(A, err,
                       "Conv2dOpContext state must be (weight, bias, stride, padding, "
                       "dilation, groups, output_min, output_max)");
    jv **it = st->u.seq.items;
    jv *args[7] = {A->a[0], it[0], it[1], it[2], it[3], it[4], it[5]};
    int rc = ac(A, "conv2d", args, 7, &y, err);
    if (rc == 0)
        rc = clamp_out(A, y, it[6], it[7], res, err);
    jv_unref(y);
    return rc;
}

/* prepacked::linear_clamp_run(X, W_prepack) */
static int op_linear_clamp_run(at_args *A, jv **res, ckpt_error *err)
{
    jv *st = ctx_state(A->a[1], 0), *y = NULL;
    if (!st || st->u.seq.n < 4)
        return at_fail(A, err,
                       "LinearOpContext state must be (weight, bias, output_min, output_max)");
    jv **it = st->u.seq.items;
    jv *args[3] = {A->a[0], it[0], it[1]};
    int rc = ac(A, "linear", args, 3, &y, err);
    if (rc == 0)
        rc = clamp_out(A, y, it[2], it[3], res, err);
    jv_unref(y);
    return rc;
}

#define RAND_OPTS                                                                                \
    "*, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None"

const at_op at_ops_quant[] = {
    {"quantized::linear", "Tensor X, Any W_prepack, float Y_scale_i, int Y_zero_point_i",
     op_qlinear},
    {"quantized::linear_relu", "Tensor X, Any W_prepack, float Y_scale_i, int Y_zero_point_i",
     op_qlinear},
    {"quantized::linear_dynamic", "Tensor X, Any W_prepack, bool reduce_range=False",
     op_qlinear_dynamic},
    {"quantized::linear_relu_dynamic", "Tensor X, Any W_prepack, bool reduce_range=False",
     op_qlinear_dynamic},
    {"quantized::conv2d",
     "Tensor qx, Any packed_weight, float output_scale, int output_zero_point", op_qconv},
    {"quantized::conv2d_relu",
     "Tensor qx, Any packed_weight, float output_scale, int output_zero_point", op_qconv},
    {"quantized::conv1d",
     "Tensor qx, Any packed_weight, float output_scale, int output_zero_point", op_qconv},
    {"quantized::conv1d_relu",
     "Tensor qx, Any packed_weight, float output_scale, int output_zero_point", op_qconv},
    {"quantized::add", "Tensor qa, Tensor qb, float scale, int zero_point", op_qadd},
    {"quantized::add_relu", "Tensor qa, Tensor qb, float scale, int zero_point", op_qadd},
    {"quantized::mul", "Tensor qa, Tensor qb, float scale, int zero_point", op_qadd},
    {"quantized::add_scalar", "Tensor qa, Scalar b", op_qadd},
    {"quantized::cat", "Tensor[] qx, int dim, float? scale, int? zero_point", op_qcat},
    {"prepacked::conv2d_clamp_run", "Tensor X, Any W_prepack", op_conv2d_clamp_run},
    {"prepacked::linear_clamp_run", "Tensor X, Any W_prepack", op_linear_clamp_run},
    {"torchvision::nms", "Tensor dets, Tensor scores, float iou_threshold", op_nms},
    {"torchvision::roi_align",
     "Tensor input, Tensor rois, float spatial_scale, int pooled_height, int pooled_width, "
     "int sampling_ratio, bool aligned",
     op_roi_align},
    {"meshgrid", "Tensor[] tensors", op_meshgrid},
    {"meshgrid", "Tensor[] tensors, *, str indexing", op_meshgrid},
    {"rand", "int[] size, " RAND_OPTS, op_rand},
    {"randn", "int[] size, " RAND_OPTS, op_rand},
    {"rand_like", "Tensor self, " RAND_OPTS ", MemoryFormat? memory_format=None", op_rand},
    {"randn_like", "Tensor self, " RAND_OPTS ", MemoryFormat? memory_format=None", op_rand},
    {"_cast_Float", "Tensor self, bool non_blocking=False", op_cast_named},
    {"_cast_Double", "Tensor self, bool non_blocking=False", op_cast_named},
    {"_cast_Long", "Tensor self, bool non_blocking=False", op_cast_named},
    {"_cast_Int", "Tensor self, bool non_blocking=False", op_cast_named},
    {"_cast_Short", "Tensor self, bool non_blocking=False", op_cast_named},
    {"_cast_Char", "Tensor self, bool non_blocking=False", op_cast_named},
    {"_cast_Byte", "Tensor self, bool non_blocking=False", op_cast_named},
    {"_cast_Half", "Tensor self, bool non_blocking=False", op_cast_named},
    {NULL, NULL, NULL},
};
