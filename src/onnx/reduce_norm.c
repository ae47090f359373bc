/* src/onnx/reduce_norm.c - ONNX kernels of the reduce family: Softmax,
 * LogSoftmax, Hardmax and the normalisations (LayerNormalization,
 * BatchNormalization, InstanceNormalization, GroupNormalization, LRN,
 * MeanVarianceNormalization, LpNormalization).
 *
 * float32 goes through the op library (ckpt/kernels.h: softmax, log-softmax,
 * layer / batch / group norm); the other floating types are computed in
 * double and rounded back. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/kernels.h"
#include "core/err.h"
#include "onnx/onnx_internal.h"
#include "onnx/reduce_util.h"

static int need_float(const ox_node *n, const ox_val *v, int k, ckpt_error *err)
{
    if (!v || v->kind != OX_KIND_TENSOR)
        return ox_fail(err, CKPT_E_ARG, n, "input %d must be a tensor", k);
    if (!rd_is_floating(v->dtype))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "input %d: element type %s", k,
                       ox_dtype_name(v->dtype));
    return 0;
}

/* ------------------------------------------------------------ softmax family */

enum { SM_SOFT, SM_LOG, SM_HARD };

static int k_softmax_any(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         int mode, ckpt_error *err)
{
    CKPT_TRY(rd_check_io(n, in, out, err));
    const ox_val *x = in[0];
    CKPT_TRY(need_float(n, x, 0, err));
    const bool legacy = n->opset < 13;
    const int rank = x->rank;
    int ax = 0;
    if (rank > 0)
        CKPT_TRY(ox_axis(n, ox_attr_int(n, "axis", legacy ? 1 : -1), rank, false, &ax, err));
    int64_t outer = rank > 0 ? rd_prod(x->dims, 0, ax) : 1, d, inner;
    if (legacy) {
        d = rank > 0 ? rd_prod(x->dims, ax, rank) : 1;
        inner = 1;
    } else {
        d = rank > 0 ? x->dims[ax] : 1;
        inner = rank > 0 ? rd_prod(x->dims, ax + 1, rank) : 1;
    }
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, rank, x->dims, err));
    ox_val *y = out[0];
    if (x->numel == 0)
        return 0;
    if (x->dtype == OX_FLOAT && mode != SM_HARD) {
        if (mode == SM_SOFT)
            ckpt_nn_softmax_forward(y->data, x->data, outer, d, inner);
        else
            ckpt_nn_logsoftmax_forward(y->data, x->data, outer, d, inner);
        return 0;
    }
    double *v = ox_scratch(r, (size_t)x->numel * sizeof(double), err);
    if (!v)
        return RD_ERR(err);
    rd_load_f64(x, v);
    for (int64_t o = 0; o < outer; o++) {
        for (int64_t j = 0; j < inner; j++) {
            double *p = v + o * d * inner + j;
            double mx = -(double)INFINITY;
            int64_t am = 0;
            for (int64_t i = 0; i < d; i++) {
                if (p[i * inner] > mx) {
                    mx = p[i * inner];
                    am = i;
                }
            }
            if (mode == SM_HARD) {
                for (int64_t i = 0; i < d; i++)
                    p[i * inner] = i == am ? 1.0 : 0.0;
                continue;
            }
            double sum = 0.0;
            for (int64_t i = 0; i < d; i++)
                sum += exp(p[i * inner] - mx);
            if (mode == SM_LOG) {
                const double lse = mx + log(sum);
                for (int64_t i = 0; i < d; i++)
                    p[i * inner] -= lse;
            } else {
                for (int64_t i = 0; i < d; i++)
                    p[i * inner] = exp(p[i * inner] - mx) / sum;
            }
        }
    }
    rd_store_f64(y, v);
    return 0;
}

int ox_k_softmax(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err)
{
    return k_softmax_any(r, n, in, out, SM_SOFT, err);
}

int ox_k_logsoftmax(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                    ckpt_error *err)
{
    return k_softmax_any(r, n, in, out, SM_LOG, err);
}

int ox_k_hardmax(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err)
{
    return k_softmax_any(r, n, in, out, SM_HARD, err);
}

/* ------------------------------------------------------------ LayerNormalization */

/* `p` (numel pn, shape pr/pd) broadcast to the trailing shape (rank tr, dims
 * td, d elements) as doubles into dst; false when it does not broadcast. */
static bool bcast_trailing(const ox_val *p, int tr, const int64_t *td, int64_t d, double *dst)
{
    if (p->rank > tr)
        return false;
    for (int i = 0; i < p->rank; i++) {
        int64_t pd = p->dims[p->rank - 1 - i], t = td[tr - 1 - i];
        if (pd != t && pd != 1)
            return false;
    }
    int64_t ps[OX_MAX_RANK], idx[OX_MAX_RANK] = {0};
    ox_strides(p->rank, p->dims, ps);
    for (int64_t k = 0; k < d; k++) {
        int64_t off = 0;
        for (int i = 0; i < p->rank; i++) {
            int ti = tr - p->rank + i;
            if (p->dims[i] != 1)
                off += idx[ti] * ps[i];
        }
        dst[k] = ox_get_f64(p, off);
        for (int i = tr - 1; i >= 0; i--) {
            if (++idx[i] < td[i])
                break;
            idx[i] = 0;
        }
    }
    return true;
}

int ox_k_layernorm(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                   ckpt_error *err)
{
    CKPT_TRY(rd_check_io(n, in, out, err));
    const ox_val *x = in[0];
    const ox_val *sc = n->n_in > 1 ? in[1] : NULL;
    const ox_val *bi = n->n_in > 2 ? in[2] : NULL;
    CKPT_TRY(need_float(n, x, 0, err));
    if (!sc)
        return ox_fail(err, CKPT_E_ARG, n, "Scale is required");
    CKPT_TRY(need_float(n, sc, 1, err));
    if (bi)
        CKPT_TRY(need_float(n, bi, 2, err));
    const int rank = x->rank;
    if (rank < 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "X must have rank >= 1");
    int ax;
    CKPT_TRY(ox_axis(n, ox_attr_int(n, "axis", -1), rank, false, &ax, err));
    const double eps = (double)ox_attr_float(n, "epsilon", 1e-5f);
    int64_t stash = ox_attr_int(n, "stash_type", 1);
    const int udt = rd_is_floating((int)stash) ? (int)stash : OX_FLOAT;
    const int64_t rows = rd_prod(x->dims, 0, ax), d = rd_prod(x->dims, ax, rank);
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, rank, x->dims, err));
    int64_t sd[OX_MAX_RANK];
    for (int i = 0; i < rank; i++)
        sd[i] = i < ax ? x->dims[i] : 1;
    ox_val *om = n->n_out > 1 ? out[1] : NULL, *oi = n->n_out > 2 ? out[2] : NULL;
    CKPT_TRY(ox_out(r, n, om, udt, rank, sd, err));
    CKPT_TRY(ox_out(r, n, oi, udt, rank, sd, err));
    if (x->numel == 0)
        return 0;
    const bool direct = sc->numel == d && (!bi || bi->numel == d);
    const bool f32 = x->dtype == OX_FLOAT && sc->dtype == OX_FLOAT &&
                     (!bi || bi->dtype == OX_FLOAT) && direct && (!om || om->dtype == OX_FLOAT) &&
                     (!oi || oi->dtype == OX_FLOAT);
    if (f32) {
        ckpt_nn_layernorm_forward(out[0]->data, x->data, sc->data, bi ? bi->data : NULL, rows, d,
                                  eps);
        if (om || oi) {
            float *st = ox_scratch(r, (size_t)rows * 2 * sizeof(float), err);
            if (!st)
                return RD_ERR(err);
            ckpt_nn_batchnorm_stats(st, st + rows, x->data, 1, rows, d);
            for (int64_t i = 0; i < rows; i++) {
                if (om)
                    ((float *)om->data)[i] = st[i];
                if (oi)
                    ((float *)oi->data)[i] = (float)(1.0 / sqrt((double)st[rows + i] + eps));
            }
        }
        return 0;
    }
    /* generic: double throughout */
    size_t cnt = (size_t)x->numel + 2 * (size_t)d + 2 * (size_t)rows;
    double *v = ox_scratch(r, cnt * sizeof(double), err);
    if (!v)
        return RD_ERR(err);
    double *w = v + x->numel, *b = w + d, *mu = b + d, *is = mu + rows;
    rd_load_f64(x, v);
    if (!bcast_trailing(sc, rank - ax, x->dims + ax, d, w))
        return ox_fail(err, CKPT_E_SHAPE, n, "Scale does not broadcast to the normalised shape");
    if (bi) {
        if (!bcast_trailing(bi, rank - ax, x->dims + ax, d, b))
            return ox_fail(err, CKPT_E_SHAPE, n, "B does not broadcast to the normalised shape");
    } else {
        for (int64_t i = 0; i < d; i++)
            b[i] = 0.0;
    }
    const bool round_stats = udt != OX_DOUBLE;
    for (int64_t rI = 0; rI < rows; rI++) {
        double *p = v + rI * d, s = 0.0, q = 0.0;
        for (int64_t i = 0; i < d; i++)
            s += p[i];
        double m = s / (double)d;
        for (int64_t i = 0; i < d; i++)
            q += (p[i] - m) * (p[i] - m);
        double rs = 1.0 / sqrt(q / (double)d + eps);
        if (round_stats) {
            m = (double)(float)m;
            rs = (double)(float)rs;
        }
        mu[rI] = m;
        is[rI] = rs;
        for (int64_t i = 0; i < d; i++)
            p[i] = (p[i] - m) * rs * w[i] + b[i];
    }
    rd_store_f64(out[0], v);
    if (om)
        rd_store_f64(om, mu);
    if (oi)
        rd_store_f64(oi, is);
    return 0;
}

/* ------------------------------------------------------------ BatchNormalization */

int ox_k_batchnorm(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                   ckpt_error *err)
{
    CKPT_TRY(rd_check_io(n, in, out, err));
    if (n->n_in < 5)
        return ox_fail(err, CKPT_E_ARG, n, "needs X, scale, B, mean and var");
    for (int k = 0; k < 5; k++)
        CKPT_TRY(need_float(n, in[k], k, err));
    const ox_val *x = in[0];
    if (x->rank < 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "X must have rank >= 1");
    const int64_t b = x->dims[0];
    int64_t c = x->rank > 1 ? x->dims[1] : 1;
    int64_t s = x->rank > 2 ? rd_prod(x->dims, 2, x->rank) : 1;
    /* opset < 9 with spatial=0: statistics per (C, D1..Dn) element */
    if (n->opset < 9 && ox_attr_int(n, "spatial", 1) == 0) {
        c *= s;
        s = 1;
    }
    for (int k = 1; k < 5; k++)
        if (in[k]->numel != c)
            return ox_fail(err, CKPT_E_SHAPE, n, "input %d has %lld values, expected %lld", k,
                           (long long)in[k]->numel, (long long)c);
    const double eps = (double)ox_attr_float(n, "epsilon", 1e-5f);
    const double mom = (double)ox_attr_float(n, "momentum", 0.9f);
    bool training;
    if (n->opset >= 14)
        training = ox_attr_int(n, "training_mode", 0) != 0;
    else if (n->opset < 7)
        training = ox_attr_int(n, "is_test", 0) == 0 && n->n_out > 1 && out[1];
    else
        training = n->n_out > 1 && out[1];
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, x->dims, err));
    ox_val *rm = NULL, *rv = NULL, *sm = NULL, *sv = NULL;
    if (training) {
        int64_t cd[1] = {c};
        rm = n->n_out > 1 ? out[1] : NULL;
        rv = n->n_out > 2 ? out[2] : NULL;
        sm = n->n_out > 3 ? out[3] : NULL;
        sv = n->n_out > 4 ? out[4] : NULL;
        CKPT_TRY(ox_out(r, n, rm, in[3]->dtype, 1, cd, err));
        CKPT_TRY(ox_out(r, n, rv, in[4]->dtype, 1, cd, err));
        CKPT_TRY(ox_out(r, n, sm, in[3]->dtype, 1, cd, err));
        CKPT_TRY(ox_out(r, n, sv, in[4]->dtype, 1, cd, err));
    }
    bool f32 = true;
    for (int k = 0; k < 5; k++)
        f32 = f32 && in[k]->dtype == OX_FLOAT;
    if (f32 && !training) {
        ckpt_nn_batchnorm_forward(out[0]->data, x->data, in[3]->data, in[4]->data, in[1]->data,
                                  in[2]->data, b, c, s, eps);
        return 0;
    }
    /* double path (training statistics, other types) */
    size_t cnt = (size_t)x->numel + 6 * (size_t)c;
    double *v = ox_scratch(r, cnt * sizeof(double), err);
    if (!v)
        return RD_ERR(err);
    double *w = v + x->numel, *bb = w + c, *mu = bb + c, *var = mu + c, *bm = var + c,
           *bv = bm + c;
    rd_load_f64(x, v);
    rd_load_f64(in[1], w);
    rd_load_f64(in[2], bb);
    rd_load_f64(in[3], mu);
    rd_load_f64(in[4], var);
    if (training) {
        const double nn = (double)(b * s);
        for (int64_t ci = 0; ci < c; ci++) {
            double sum = 0.0, q = 0.0;
            for (int64_t bI = 0; bI < b; bI++)
                for (int64_t i = 0; i < s; i++)
                    sum += v[(bI * c + ci) * s + i];
            double m = nn > 0 ? sum / nn : 0.0;
            for (int64_t bI = 0; bI < b; bI++)
                for (int64_t i = 0; i < s; i++) {
                    double dv = v[(bI * c + ci) * s + i] - m;
                    q += dv * dv;
                }
            bm[ci] = m;
            bv[ci] = nn > 0 ? q / nn : 0.0;
        }
    }
    const double *um = training ? bm : mu, *uv = training ? bv : var;
    for (int64_t bI = 0; bI < b; bI++)
        for (int64_t ci = 0; ci < c; ci++) {
            double k = w[ci] / sqrt(uv[ci] + eps), sh = bb[ci] - um[ci] * k;
            double *p = v + (bI * c + ci) * s;
            for (int64_t i = 0; i < s; i++)
                p[i] = p[i] * k + sh;
        }
    rd_store_f64(out[0], v);
    if (training) {
        if (sm)
            rd_store_f64(sm, bm);
        if (sv)
            rd_store_f64(sv, bv);
        for (int64_t ci = 0; ci < c; ci++) {
            mu[ci] = mu[ci] * mom + bm[ci] * (1.0 - mom);
            var[ci] = var[ci] * mom + bv[ci] * (1.0 - mom);
        }
        if (rm)
            rd_store_f64(rm, mu);
        if (rv)
            rd_store_f64(rv, var);
    }
    return 0;
}

/* ------------------------------------------------------------ Instance / Group norm */

/* x (B,C,S) normalised per (image, group of C/G channels), then per-channel
 * affine w, bb (C). */
static int group_norm(ox_run *r, const ox_node *n, const ox_val *x, const ox_val *sc,
                      const ox_val *bi, int64_t g, bool per_group, double eps, ox_val *y,
                      ckpt_error *err)
{
    if (x->rank < 2)
        return ox_fail(err, CKPT_E_SHAPE, n, "X must have rank >= 2");
    const int64_t b = x->dims[0], c = x->dims[1], s = rd_prod(x->dims, 2, x->rank);
    if (g <= 0 || c % g)
        return ox_fail(err, CKPT_E_ARG, n, "%lld groups do not divide %lld channels",
                       (long long)g, (long long)c);
    const int64_t want = per_group ? g : c;
    if (sc->numel != want || bi->numel != want)
        return ox_fail(err, CKPT_E_SHAPE, n, "scale and bias need %lld values (got %lld, %lld)",
                       (long long)want, (long long)sc->numel, (long long)bi->numel);
    CKPT_TRY(ox_out(r, n, y, x->dtype, x->rank, x->dims, err));
    if (x->numel == 0)
        return 0;
    if (x->dtype == OX_FLOAT && sc->dtype == OX_FLOAT && bi->dtype == OX_FLOAT) {
        const float *w = sc->data, *bb = bi->data;
        if (per_group && g != c) {
            float *t = ox_scratch(r, (size_t)c * 2 * sizeof(float), err);
            if (!t)
                return RD_ERR(err);
            for (int64_t ci = 0; ci < c; ci++) {
                t[ci] = w[ci / (c / g)];
                t[c + ci] = bb[ci / (c / g)];
            }
            w = t;
            bb = t + c;
        }
        ckpt_nn_groupnorm_forward(y->data, x->data, w, bb, b, c, s, g, eps);
        return 0;
    }
    size_t cnt = (size_t)x->numel + 2 * (size_t)want;
    double *v = ox_scratch(r, cnt * sizeof(double), err);
    if (!v)
        return RD_ERR(err);
    double *w = v + x->numel, *bb = w + want;
    rd_load_f64(x, v);
    rd_load_f64(sc, w);
    rd_load_f64(bi, bb);
    const int64_t cg = c / g, m = cg * s;
    for (int64_t bI = 0; bI < b; bI++)
        for (int64_t gi = 0; gi < g; gi++) {
            double *p = v + (bI * c + gi * cg) * s, sum = 0.0, q = 0.0;
            for (int64_t i = 0; i < m; i++)
                sum += p[i];
            double mu = m > 0 ? sum / (double)m : 0.0;
            for (int64_t i = 0; i < m; i++)
                q += (p[i] - mu) * (p[i] - mu);
            double rs = 1.0 / sqrt((m > 0 ? q / (double)m : 0.0) + eps);
            for (int64_t ci = 0; ci < cg; ci++) {
                int64_t ch = per_group ? gi : gi * cg + ci;
                for (int64_t i = 0; i < s; i++)
                    p[ci * s + i] = (p[ci * s + i] - mu) * rs * w[ch] + bb[ch];
            }
        }
    rd_store_f64(y, v);
    return 0;
}

int ox_k_instancenorm(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    CKPT_TRY(rd_check_io(n, in, out, err));
    if (n->n_in < 3)
        return ox_fail(err, CKPT_E_ARG, n, "needs input, scale and B");
    for (int k = 0; k < 3; k++)
        CKPT_TRY(need_float(n, in[k], k, err));
    const double eps = (double)ox_attr_float(n, "epsilon", 1e-5f);
    int64_t c = in[0]->rank >= 2 ? in[0]->dims[1] : 0;
    return group_norm(r, n, in[0], in[1], in[2], c, false, eps, out[0], err);
}

int ox_k_groupnorm(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                   ckpt_error *err)
{
    CKPT_TRY(rd_check_io(n, in, out, err));
    if (n->n_in < 3)
        return ox_fail(err, CKPT_E_ARG, n, "needs X, scale and bias");
    for (int k = 0; k < 3; k++)
        CKPT_TRY(need_float(n, in[k], k, err));
    const double eps = (double)ox_attr_float(n, "epsilon", 1e-5f);
    const int64_t g = ox_attr_int(n, "num_groups", 0);
    const int64_t c = in[0]->rank >= 2 ? in[0]->dims[1] : 0;
    /* opset 18: scale / bias per group; 21: per channel */
    bool per_group = n->opset < 21 && in[1]->numel == g && g != c;
    return group_norm(r, n, in[0], in[1], in[2], g, per_group, eps, out[0], err);
}

/* ------------------------------------------------------------ LRN */

int ox_k_lrn(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, ckpt_error *err)
{
    CKPT_TRY(rd_check_io(n, in, out, err));
    const ox_val *x = in[0];
    CKPT_TRY(need_float(n, x, 0, err));
    if (x->rank < 2)
        return ox_fail(err, CKPT_E_SHAPE, n, "X must have rank >= 2");
    const int64_t size = ox_attr_int(n, "size", 0);
    if (size <= 0)
        return ox_fail(err, CKPT_E_ARG, n, "size must be positive");
    const double alpha = (double)ox_attr_float(n, "alpha", 1e-4f);
    const double beta = (double)ox_attr_float(n, "beta", 0.75f);
    const double bias = (double)ox_attr_float(n, "bias", 1.0f);
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, x->dims, err));
    const int64_t b = x->dims[0], c = x->dims[1], s = rd_prod(x->dims, 2, x->rank);
    const int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
    if (x->numel == 0)
        return 0;
    if (x->dtype == OX_FLOAT) {
        ckpt_nn_lrn_forward(out[0]->data, x->data, b, c, s, size, alpha, beta, bias);
        return 0;
    }
    double *v = ox_scratch(r, (size_t)x->numel * 2 * sizeof(double), err);
    if (!v)
        return RD_ERR(err);
    double *y = v + x->numel;
    rd_load_f64(x, v);
    for (int64_t bI = 0; bI < b; bI++)
        for (int64_t ci = 0; ci < c; ci++) {
            int64_t c0 = ci - lo < 0 ? 0 : ci - lo, c1 = ci + hi >= c ? c - 1 : ci + hi;
            for (int64_t i = 0; i < s; i++) {
                double sq = 0.0;
                for (int64_t k = c0; k <= c1; k++) {
                    double t = v[(bI * c + k) * s + i];
                    sq += t * t;
                }
                y[(bI * c + ci) * s + i] = v[(bI * c + ci) * s + i] /
                                           pow(bias + alpha / (double)size * sq, beta);
            }
        }
    rd_store_f64(out[0], y);
    return 0;
}

/* ------------------------------------------------------------ MVN, LpNormalization */

int ox_k_mvn(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, ckpt_error *err)
{
    CKPT_TRY(rd_check_io(n, in, out, err));
    const ox_val *x = in[0];
    CKPT_TRY(need_float(n, x, 0, err));
    const int rank = x->rank;
    bool red[OX_MAX_RANK] = {false};
    size_t na = 0;
    const int64_t *axes = ox_attr_ints(n, "axes", &na);
    static const int64_t dflt[3] = {0, 2, 3};
    if (!axes) {
        axes = dflt;
        na = 3;
    }
    for (size_t i = 0; i < na; i++) {
        int ax;
        CKPT_TRY(ox_axis(n, axes[i], rank, false, &ax, err));
        red[ax] = true;
    }
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, rank, x->dims, err));
    if (x->numel == 0)
        return 0;
    int64_t on = 1;
    double cnt = 1.0;
    for (int i = 0; i < rank; i++) {
        if (red[i])
            cnt *= (double)x->dims[i];
        else
            on *= x->dims[i];
    }
    size_t tot = (size_t)x->numel * 2 + 2 * (size_t)on;
    double *v = ox_scratch(r, tot * sizeof(double), err);
    if (!v)
        return RD_ERR(err);
    double *sq = v + x->numel, *mu = sq + x->numel, *m2 = mu + on;
    rd_load_f64(x, v);
    for (int64_t i = 0; i < x->numel; i++)
        sq[i] = v[i] * v[i];
    for (int64_t i = 0; i < on; i++)
        mu[i] = m2[i] = 0.0;
    rd_plan p;
    rd_make_plan(rank, x->dims, red, &p);
    rd_walk_f64(RD_SUM, mu, NULL, v, &p);
    rd_walk_f64(RD_SUM, m2, NULL, sq, &p);
    for (int64_t i = 0; i < on; i++) {
        mu[i] /= cnt;
        m2[i] = sqrt(m2[i] / cnt - mu[i] * mu[i]) + 1e-9;
    }
    /* broadcast back: walk the input in order with the plan's output offsets */
    int64_t idx[OX_MAX_RANK] = {0}, ooff = 0;
    const int last = p.rank - 1;
    for (int64_t i = 0; i < x->numel; i++) {
        v[i] = (v[i] - mu[ooff]) / m2[ooff];
        for (int k = last; k >= 0; k--) {
            ooff += p.ostride[k];
            if (++idx[k] < p.dims[k])
                break;
            ooff -= p.ostride[k] * p.dims[k];
            idx[k] = 0;
        }
    }
    rd_store_f64(out[0], v);
    return 0;
}

int ox_k_lpnorm(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                ckpt_error *err)
{
    CKPT_TRY(rd_check_io(n, in, out, err));
    const ox_val *x = in[0];
    CKPT_TRY(need_float(n, x, 0, err));
    const int rank = x->rank;
    if (rank < 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "input must have rank >= 1");
    int ax;
    CKPT_TRY(ox_axis(n, ox_attr_int(n, "axis", -1), rank, false, &ax, err));
    const int64_t pw = ox_attr_int(n, "p", 2);
    if (pw != 1 && pw != 2)
        return ox_fail(err, CKPT_E_ARG, n, "p must be 1 or 2 (got %lld)", (long long)pw);
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, rank, x->dims, err));
    if (x->numel == 0)
        return 0;
    const int64_t outer = rd_prod(x->dims, 0, ax), d = x->dims[ax],
                  inner = rd_prod(x->dims, ax + 1, rank);
    double *v = ox_scratch(r, (size_t)x->numel * sizeof(double), err);
    if (!v)
        return RD_ERR(err);
    rd_load_f64(x, v);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            double *p = v + o * d * inner + j, s = 0.0;
            for (int64_t i = 0; i < d; i++)
                s += pw == 1 ? fabs(p[i * inner]) : p[i * inner] * p[i * inner];
            if (pw == 2)
                s = sqrt(s);
            for (int64_t i = 0; i < d; i++)
                p[i * inner] = s != 0.0 ? p[i * inner] / s : 0.0;
        }
    rd_store_f64(out[0], v);
    return 0;
}
