/* src/onnx/ops_image.c - ONNX kernels: image family (Resize, Upsample,
 * GridSample, RoiAlign, MaxRoiPool, NonMaxSuppression).
 *
 * Resize / Upsample are separable: each resized axis, last to first, is one
 * pass that maps every output coordinate to a few (input index, weight)
 * taps, exactly as the ONNX reference interpolates the innermost axes first
 * (so tf_crop_and_resize's extrapolation value enters the outer axes' sums
 * the same way).  Axes that keep their size under an identity mapping are
 * skipped.  Values are float32 in the passes (double / float16 / integer
 * tensors are converted in and out). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/nn2_util.h"
#include "onnx/onnx_internal.h"

/* ------------------------------------------------------------ Resize */

enum { RM_NEAREST, RM_LINEAR, RM_CUBIC };
enum {
    CT_HALF_PIXEL,
    CT_HALF_PIXEL_SYMMETRIC,
    CT_PYTORCH_HALF_PIXEL,
    CT_ALIGN_CORNERS,
    CT_ASYMMETRIC,
    CT_TF_HALF_PIXEL_FOR_NN,
    CT_TF_CROP_AND_RESIZE
};
enum { NM_ROUND_PREFER_FLOOR, NM_ROUND_PREFER_CEIL, NM_FLOOR, NM_CEIL, NM_SIMPLE };

typedef struct rs_cfg {
    int mode, ct, nm;
    float cubic_a;
    int exclude_outside;
    float extrapolation;
    int antialias;
} rs_cfg;

static double cubic_kernel(double x, double A)
{
    x = fabs(x);
    if (x <= 1.0)
        return ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    if (x < 2.0)
        return ((A * x - 5.0 * A) * x + 8.0 * A) * x - 4.0 * A;
    return 0.0;
}

/* Taps of one axis: for every output coordinate o, ntap (index, weight)
 * pairs at idx[o*ntap..], w[o*ntap..]; ext[o] = 1: write the extrapolation
 * value.  Returns the tap count per coordinate. */
static int64_t rs_taps_count(const rs_cfg *c, double scale)
{
    if (c->mode == RM_NEAREST)
        return 1;
    if (c->antialias) {
        /* PIL / ONNX Runtime: a filter of radius 1 (linear) or 2 (cubic)
         * stretched by 1/scale when downsampling */
        double support = (c->mode == RM_LINEAR ? 1.0 : 2.0) / (scale < 1.0 ? scale : 1.0);
        return (int64_t)ceil(support) * 2 + 1;
    }
    return c->mode == RM_LINEAR ? 2 : 4;
}

static void rs_axis_taps(const rs_cfg *c, int64_t in, int64_t out, double scale, double out_w,
                         double roi0, double roi1, int64_t ntap, int64_t *idx, float *w,
                         unsigned char *ext)
{
    /* float arithmetic where ONNX Runtime uses it (x_original of a nearest
     * resize sits on .5 boundaries, where float and double round apart);
     * align_corners / tf_crop_and_resize use the scaled length as the ONNX
     * reference does */
    const float fs = (float)scale;
    for (int64_t o = 0; o < out; o++) {
        double x = (double)o, xo;
        const float fx = (float)o;
        ext[o] = 0;
        switch (c->ct) {
        case CT_ALIGN_CORNERS:
            xo = out_w == 1.0 ? 0.0 : x * (double)(in - 1) / (out_w - 1.0);
            break;
        case CT_ASYMMETRIC: xo = (double)(fx / fs); break;
        case CT_TF_HALF_PIXEL_FOR_NN: xo = (double)((fx + 0.5f) / fs); break;
        case CT_TF_CROP_AND_RESIZE:
            if (out_w == 1.0)
                xo = 0.5 * (roi0 + roi1) * (double)(in - 1);
            else
                xo = roi0 * (double)(in - 1) +
                     x * (roi1 - roi0) * (double)(in - 1) / (out_w - 1.0);
            if (xo < 0.0 || xo > (double)(in - 1))
                ext[o] = 1;
            break;
        case CT_PYTORCH_HALF_PIXEL: xo = out > 1 ? (double)((fx + 0.5f) / fs - 0.5f) : 0.0; break;
        case CT_HALF_PIXEL_SYMMETRIC: {
            float adj = (float)out / (fs * (float)in);
            float center = (float)in / 2.0f;
            xo = (double)(center * (1.0f - adj) + (fx + 0.5f) / fs - 0.5f);
            break;
        }
        default: xo = (double)((fx + 0.5f) / fs - 0.5f); break;
        }
        int64_t *ix = idx + o * ntap;
        float *wx = w + o * ntap;
        if (ext[o]) {
            for (int64_t k = 0; k < ntap; k++) {
                ix[k] = 0;
                wx[k] = 0.0f;
            }
            continue;
        }
        double fl = floor(xo);
        double ratio = xo - fl;
        int64_t x0 = (int64_t)fl;
        if (c->mode == RM_NEAREST) {
            int64_t p;
            if (c->nm == NM_SIMPLE) {
                p = scale < 1.0 ? (int64_t)ceil(xo) : (int64_t)fl;
            } else if (ratio == 0.0) {
                p = x0;
            } else {
                int up;
                switch (c->nm) {
                case NM_ROUND_PREFER_CEIL: up = ratio >= 0.5; break;
                case NM_FLOOR: up = 0; break;
                case NM_CEIL: up = 1; break;
                default: up = ratio > 0.5; break;
                }
                p = x0 + up;
            }
            ix[0] = p < 0 ? 0 : (p >= in ? in - 1 : p);
            wx[0] = 1.0f;
            continue;
        }
        if (c->antialias) {
            const double sc = scale < 1.0 ? scale : 1.0;
            const double support = (c->mode == RM_LINEAR ? 1.0 : 2.0) / sc;
            const double center = xo + 0.5;
            /* taps [lo, hi) around the centre; outside ones are dropped
             * (exclude_outside, as Pillow / torch) or read the edge pixel */
            int64_t lo = (int64_t)floor(center - support + 0.5);
            int64_t hi = (int64_t)floor(center + support + 0.5);
            if (hi - lo > ntap)
                hi = lo + ntap;
            if (c->exclude_outside) {
                lo = lo < 0 ? 0 : lo;
                hi = hi > in ? in : hi;
            }
            double tot = 0.0;
            double aw[64];
            int64_t m = 0;
            for (int64_t j = lo; j < hi; j++, m++) {
                double d = ((double)j - center + 0.5) * sc, v;
                if (c->mode == RM_LINEAR) {
                    v = 1.0 - fabs(d);
                    v = v < 0.0 ? 0.0 : v;
                } else {
                    v = cubic_kernel(d, (double)c->cubic_a);
                }
                aw[m] = v;
                tot += v;
            }
            for (int64_t k = 0; k < ntap; k++) {
                int64_t p = k < m ? lo + k : 0;
                ix[k] = p < 0 ? 0 : (p >= in ? in - 1 : p);
                wx[k] = k < m ? (float)(tot != 0.0 ? aw[k] / tot : aw[k]) : 0.0f;
            }
            continue;
        }
        /* ntap neighbours x0 - ntap/2 + 1 .. x0 + ntap/2 */
        int64_t first = x0 - ntap / 2 + 1;
        double sum = 0.0;
        double cw[64];
        for (int64_t k = 0; k < ntap; k++) {
            double d = (double)(first + k) - xo; /* signed distance of the tap */
            double v;
            if (c->mode == RM_LINEAR) {
                v = k == 0 ? 1.0 - ratio : ratio;
            } else {
                v = cubic_kernel(d, (double)c->cubic_a);
            }
            int64_t p = first + k;
            if (c->exclude_outside && (p < 0 || p >= in))
                v = 0.0;
            cw[k] = v;
            sum += v;
        }
        bool norm = c->exclude_outside;
        for (int64_t k = 0; k < ntap; k++) {
            int64_t p = first + k;
            ix[k] = p < 0 ? 0 : (p >= in ? in - 1 : p);
            wx[k] = (float)(norm && sum != 0.0 ? cw[k] / sum : cw[k]);
        }
    }
}

/* One separable pass: src (outer, in, inner) -> dst (outer, out, inner). */
static void rs_pass(const float *src, float *dst, int64_t outer, int64_t in, int64_t out,
                    int64_t inner, int64_t ntap, const int64_t *idx, const float *w,
                    const unsigned char *ext, float extrap)
{
    if (inner == 1) {
        /* the innermost axis: one gather per output element */
        for (int64_t a = 0; a < outer; a++) {
            const float *s = src + a * in;
            float *d = dst + a * out;
            if (ntap == 1) {
                for (int64_t o = 0; o < out; o++)
                    d[o] = ext[o] ? extrap : s[idx[o]];
                continue;
            }
            for (int64_t o = 0; o < out; o++) {
                if (ext[o]) {
                    d[o] = extrap;
                    continue;
                }
                const int64_t *ix = idx + o * ntap;
                const float *wx = w + o * ntap;
                float acc = 0.0f;
                for (int64_t k = 0; k < ntap; k++)
                    acc += wx[k] * s[ix[k]];
                d[o] = acc;
            }
        }
        return;
    }
    for (int64_t a = 0; a < outer; a++) {
        const float *s = src + a * in * inner;
        float *d = dst + a * out * inner;
        for (int64_t o = 0; o < out; o++) {
            float *dr = d + o * inner;
            if (ext[o]) {
                for (int64_t j = 0; j < inner; j++)
                    dr[j] = extrap;
                continue;
            }
            const int64_t *ix = idx + o * ntap;
            const float *wx = w + o * ntap;
            if (ntap == 1) {
                memcpy(dr, s + ix[0] * inner, (size_t)inner * sizeof(float));
                continue;
            }
            for (int64_t j = 0; j < inner; j++)
                dr[j] = 0.0f;
            for (int64_t k = 0; k < ntap; k++) {
                const float *sr = s + ix[k] * inner;
                const float wk = wx[k];
                if (wk == 0.0f)
                    continue;
                for (int64_t j = 0; j < inner; j++)
                    dr[j] += wk * sr[j];
            }
        }
    }
}

static int parse_ct(const ox_node *n, const char *s, int *ct, ckpt_error *err)
{
    static const struct {
        const char *name;
        int v;
    } t[] = {{"half_pixel", CT_HALF_PIXEL},
             {"half_pixel_symmetric", CT_HALF_PIXEL_SYMMETRIC},
             {"pytorch_half_pixel", CT_PYTORCH_HALF_PIXEL},
             {"align_corners", CT_ALIGN_CORNERS},
             {"asymmetric", CT_ASYMMETRIC},
             {"tf_half_pixel_for_nn", CT_TF_HALF_PIXEL_FOR_NN},
             {"tf_crop_and_resize", CT_TF_CROP_AND_RESIZE}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (!strcmp(s, t[i].name)) {
            *ct = t[i].v;
            return 0;
        }
    return ox_fail(err, CKPT_E_UNSUPPORTED, n, "coordinate_transformation_mode '%s'", s);
}

/* The shared body: `scales`/`sizes` per axis already resolved (sizes may be
 * NULL), roi per axis (2*rank: starts then ends) or NULL. */
static int resize_run(ox_run *r, const ox_node *n, const ox_val *x, ox_val *y, const rs_cfg *c,
                      const double *scales, const int64_t *osz, const double *roi,
                      ckpt_error *err)
{
    const int rank = x->rank;
    int64_t od[OX_MAX_RANK];
    double outw[OX_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        od[i] = osz[i];
        outw[i] = scales[i] * (double)x->dims[i];
        if (od[i] < 0)
            return ox_fail(err, CKPT_E_SHAPE, n, "negative output size on axis %d", i);
    }
    if (x->numel == 0 && ox_numel(rank, od) != 0)
        return ox_fail(err, CKPT_E_SHAPE, n, "cannot resize an empty input to a non-empty one");
    CKPT_TRY(ox_out(r, n, y, x->dtype, rank, od, err));
    if (y->numel == 0)
        return 0;
    /* which axes need a pass, their taps */
    int64_t ntap[OX_MAX_RANK];
    bool active[OX_MAX_RANK];
    nn2_plan pl = {0, 0};
    size_t o_idx[OX_MAX_RANK], o_w[OX_MAX_RANK], o_e[OX_MAX_RANK];
    int64_t maxbuf = x->numel > y->numel ? x->numel : y->numel;
    /* pass order: tf_crop_and_resize follows the reference (innermost axis
     * first: its extrapolated values enter the outer sums); otherwise the
     * passes commute and shrinking axes go first, so no intermediate is
     * larger than X or Y */
    int order[OX_MAX_RANK];
    for (int q = 0; q < rank; q++)
        order[q] = rank - 1 - q;
    if (c->ct != CT_TF_CROP_AND_RESIZE)
        for (int q = 1; q < rank; q++)
            for (int k = q; k > 0; k--) {
                int p0 = order[k - 1], p1 = order[k];
                /* od/in ascending: od1 * in0 < od0 * in1 (doubles: no overflow) */
                if ((double)od[p1] * (double)x->dims[p0] >= (double)od[p0] * (double)x->dims[p1])
                    break;
                order[k - 1] = p1;
                order[k] = p0;
            }
    /* intermediate sizes grow/shrink axis by axis: bound by the largest */
    {
        int64_t cur[OX_MAX_RANK];
        memcpy(cur, x->dims, sizeof(int64_t) * (size_t)rank);
        for (int q = 0; q < rank; q++) {
            const int i = order[q];
            cur[i] = od[i];
            int64_t m = ox_numel(rank, cur);
            if (m < 0)
                return ox_fail(err, CKPT_E_LIMIT, n, "intermediate shape overflows");
            if (m > maxbuf)
                maxbuf = m;
        }
    }
    if (maxbuf / 16 > (x->numel > y->numel ? x->numel : y->numel))
        return ox_fail(err, CKPT_E_LIMIT, n, "an intermediate of %lld elements is too large",
                       (long long)maxbuf);
    for (int i = 0; i < rank; i++) {
        ntap[i] = rs_taps_count(c, scales[i]);
        if (ntap[i] > 64)
            return ox_fail(err, CKPT_E_LIMIT, n, "scale %g on axis %d needs too many taps",
                           scales[i], i);
        o_idx[i] = nn2_plan_add(&pl, od[i] * ntap[i], sizeof(int64_t));
        o_w[i] = nn2_plan_add(&pl, od[i] * ntap[i], sizeof(float));
        o_e[i] = nn2_plan_add(&pl, od[i], 1);
    }
    const size_t es = ox_dtype_size(x->dtype);
    const size_t bes = es > sizeof(float) ? es : sizeof(float);
    size_t o_a = nn2_plan_add(&pl, maxbuf, bes);
    size_t o_b = nn2_plan_add(&pl, maxbuf, bes);
    char *base = nn2_plan_alloc(r, n, &pl, err);
    if (!base)
        return CKPT_E_NOMEM;
    for (int i = 0; i < rank; i++) {
        int64_t *idx = (int64_t *)(void *)(base + o_idx[i]);
        float *w = (float *)(void *)(base + o_w[i]);
        unsigned char *e = (unsigned char *)(base + o_e[i]);
        rs_axis_taps(c, x->dims[i], od[i], scales[i], outw[i], roi ? roi[i] : 0.0,
                     roi ? roi[rank + i] : 1.0, ntap[i], idx, w, e);
        /* collapse to one tap when every coordinate has a single unit weight
         * (checked over all coordinates first, then rewritten in place) */
        bool single = true, ident = od[i] == x->dims[i];
        for (int64_t o = 0; o < od[i] && single; o++) {
            int nz = 0;
            for (int64_t k = 0; k < ntap[i]; k++) {
                float wk = w[o * ntap[i] + k];
                if (wk != 0.0f)
                    nz += wk == 1.0f ? 1 : 2;
            }
            if (e[o] || nz != 1)
                single = false;
        }
        if (single) {
            for (int64_t o = 0; o < od[i]; o++) {
                int64_t at = 0;
                for (int64_t k = 0; k < ntap[i]; k++)
                    if (w[o * ntap[i] + k] != 0.0f)
                        at = idx[o * ntap[i] + k];
                idx[o] = at; /* o <= o * ntap: entries still to read are not overwritten */
                if (at != o)
                    ident = false;
            }
            for (int64_t o = 0; o < od[i]; o++)
                w[o] = 1.0f;
            ntap[i] = 1;
        } else {
            ident = false;
        }
        active[i] = !(single && ident);
    }
    float *a = (float *)(void *)(base + o_a), *b = (float *)(void *)(base + o_b);
    bool gather = x->dtype != OX_FLOAT;
    for (int i = 0; i < rank; i++)
        if (active[i] && ntap[i] != 1)
            gather = false;
    if (gather) {
        /* every axis copies one source element (nearest, no extrapolation):
         * move elements of any type exactly, without a float round trip */
        const char *gs = (const char *)x->data;
        int64_t cur[OX_MAX_RANK];
        memcpy(cur, x->dims, sizeof(int64_t) * (size_t)rank);
        int last = -1;
        for (int q = 0; q < rank; q++)
            if (active[order[q]])
                last = order[q];
        for (int q = 0; q < rank; q++) {
            const int i = order[q];
            if (!active[i]) {
                cur[i] = od[i];
                continue;
            }
            int64_t outer = 1, inner = 1;
            for (int k = 0; k < i; k++)
                outer *= cur[k];
            for (int k = i + 1; k < rank; k++)
                inner *= cur[k];
            char *gd = i == last ? (char *)y->data
                                 : (gs == (const char *)a ? (char *)b : (char *)a);
            const int64_t *ix = (const int64_t *)(const void *)(base + o_idx[i]);
            const size_t row = (size_t)inner * es;
            for (int64_t u = 0; u < outer; u++)
                for (int64_t o = 0; o < od[i]; o++)
                    memcpy(gd + (size_t)(u * od[i] + o) * row,
                           gs + (size_t)(u * cur[i] + ix[o]) * row, row);
            cur[i] = od[i];
            gs = gd;
        }
        if (gs != (const char *)y->data)
            memcpy(y->data, gs, (size_t)y->numel * es);
        return 0;
    }
    /* float32 passes read X and write Y in place; other types go through a */
    const bool f32 = x->dtype == OX_FLOAT;
    const float *src = f32 ? (const float *)x->data : a;
    if (!f32)
        nn2_load_f32(a, x);
    int last = -1;
    for (int q = 0; q < rank; q++)
        if (active[order[q]])
            last = order[q];
    int64_t cur[OX_MAX_RANK];
    memcpy(cur, x->dims, sizeof(int64_t) * (size_t)rank);
    for (int q = 0; q < rank; q++) {
        const int i = order[q];
        if (!active[i]) {
            cur[i] = od[i];
            continue;
        }
        int64_t outer = 1, inner = 1;
        for (int k = 0; k < i; k++)
            outer *= cur[k];
        for (int k = i + 1; k < rank; k++)
            inner *= cur[k];
        float *dst = (i == last && f32) ? (float *)y->data : (src == a ? b : a);
        rs_pass(src, dst, outer, cur[i], od[i], inner, ntap[i],
                (const int64_t *)(const void *)(base + o_idx[i]),
                (const float *)(const void *)(base + o_w[i]),
                (const unsigned char *)(base + o_e[i]), c->extrapolation);
        cur[i] = od[i];
        src = dst;
    }
    if (f32) {
        if (src != y->data)
            memcpy(y->data, src, (size_t)y->numel * sizeof(float));
    } else {
        /* integers truncate (as ONNX Runtime casts), clamped to the type */
        double lo, hi;
        bool integer = nn2_int_range(y->dtype, &lo, &hi);
        for (int64_t i = 0; i < y->numel; i++) {
            double v = (double)src[i];
            if (integer)
                v = v != v ? 0.0 : (v < lo ? lo : (v > hi ? hi : trunc(v)));
            ox_set_f64(y, i, v);
        }
    }
    return 0;
}

static int parse_mode(const ox_node *n, const char *m, int *mode, ckpt_error *err)
{
    if (!strcmp(m, "nearest"))
        *mode = RM_NEAREST;
    else if (!strcmp(m, "linear") || !strcmp(m, "bilinear") || !strcmp(m, "trilinear"))
        *mode = RM_LINEAR;
    else if (!strcmp(m, "cubic") || !strcmp(m, "bicubic"))
        *mode = RM_CUBIC;
    else
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "mode '%s'", m);
    return 0;
}

static bool present(const ox_node *n, ox_val *const *in, int k)
{
    return k < n->n_in && in[k] && in[k]->kind == OX_KIND_TENSOR && in[k]->numel > 0;
}

static int k_resize(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                    ckpt_error *err)
{
    const ox_val *x = in[0];
    if (!x || x->kind != OX_KIND_TENSOR || x->dtype == OX_STRING || x->dtype == OX_BOOL)
        return ox_fail(err, CKPT_E_SHAPE, n, "X must be a numeric tensor");
    const int rank = x->rank;
    rs_cfg c = {0};
    CKPT_TRY(parse_mode(n, ox_attr_str(n, "mode", "nearest"), &c.mode, err));
    const int opset = n->opset;
    if (opset < 11) {
        c.ct = CT_ASYMMETRIC;
        c.nm = NM_SIMPLE;
        c.cubic_a = -0.75f;
    } else {
        CKPT_TRY(parse_ct(n, ox_attr_str(n, "coordinate_transformation_mode", "half_pixel"),
                          &c.ct, err));
        const char *nm = ox_attr_str(n, "nearest_mode", "round_prefer_floor");
        if (!strcmp(nm, "round_prefer_floor"))
            c.nm = NM_ROUND_PREFER_FLOOR;
        else if (!strcmp(nm, "round_prefer_ceil"))
            c.nm = NM_ROUND_PREFER_CEIL;
        else if (!strcmp(nm, "floor"))
            c.nm = NM_FLOOR;
        else if (!strcmp(nm, "ceil"))
            c.nm = NM_CEIL;
        else
            return ox_fail(err, CKPT_E_UNSUPPORTED, n, "nearest_mode '%s'", nm);
        c.cubic_a = ox_attr_float(n, "cubic_coeff_a", -0.75f);
        c.exclude_outside = ox_attr_int(n, "exclude_outside", 0) != 0;
        c.extrapolation = ox_attr_float(n, "extrapolation_value", 0.0f);
        c.antialias = opset >= 18 && ox_attr_int(n, "antialias", 0) != 0;
    }
    /* axes (opset 18) */
    int axes[OX_MAX_RANK], na = rank;
    size_t nax = 0;
    const int64_t *ax = opset >= 18 ? ox_attr_ints(n, "axes", &nax) : NULL;
    if (ax) {
        if (nax > (size_t)rank)
            return ox_fail(err, CKPT_E_ARG, n, "%zu axes for rank %d", nax, rank);
        na = (int)nax;
        for (int i = 0; i < na; i++) {
            CKPT_TRY(ox_axis(n, ax[i], rank, false, &axes[i], err));
            for (int j = 0; j < i; j++)
                if (axes[j] == axes[i])
                    return ox_fail(err, CKPT_E_ARG, n, "repeated axis %d", axes[i]);
        }
    } else {
        for (int i = 0; i < rank; i++)
            axes[i] = i;
    }
    double scales[OX_MAX_RANK], roi[2 * OX_MAX_RANK];
    int64_t osz[OX_MAX_RANK];
    for (int i = 0; i < rank; i++) {
        scales[i] = 1.0;
        osz[i] = x->dims[i];
        roi[i] = 0.0;
        roi[rank + i] = 1.0;
    }
    const int k_roi = opset >= 11 ? 1 : -1, k_sc = opset >= 11 ? 2 : 1, k_sz = 3;
    bool have_roi = k_roi > 0 && present(n, in, k_roi);
    if (have_roi && c.ct == CT_TF_CROP_AND_RESIZE) {
        const ox_val *rv = in[k_roi];
        if (!nn2_is_float(rv->dtype) || rv->numel != 2 * na)
            return ox_fail(err, CKPT_E_SHAPE, n, "roi must hold %d floats", 2 * na);
        for (int i = 0; i < na; i++) {
            roi[axes[i]] = ox_get_f64(rv, i);
            roi[rank + axes[i]] = ox_get_f64(rv, na + i);
        }
    }
    if (present(n, in, k_sc)) {
        const ox_val *sv = in[k_sc];
        if (!nn2_is_float(sv->dtype) || sv->numel != na)
            return ox_fail(err, CKPT_E_SHAPE, n, "scales must hold %d floats", na);
        for (int i = 0; i < na; i++) {
            float s = (float)ox_get_f64(sv, i);
            if (!(s > 0.0f) || !isfinite(s))
                return ox_fail(err, CKPT_E_ARG, n, "scale %g must be positive and finite",
                               (double)s);
            int a = axes[i];
            scales[a] = (double)s;
            float len = (float)x->dims[a];
            if (c.ct == CT_TF_CROP_AND_RESIZE)
                len *= (float)(roi[rank + a] - roi[a]);
            osz[a] = nn2_f2i(floor((double)(len * s)));
        }
    } else if (k_sz < n->n_in && present(n, in, k_sz)) {
        int64_t sz[OX_MAX_RANK];
        int64_t got = ox_read_ints(n, in[k_sz], sz, OX_MAX_RANK, err);
        if (got < 0)
            return (int)got;
        if (got != na)
            return ox_fail(err, CKPT_E_SHAPE, n, "sizes must hold %d values", na);
        const char *pol = opset >= 18 ? ox_attr_str(n, "keep_aspect_ratio_policy", "stretch")
                                      : "stretch";
        if (strcmp(pol, "stretch")) {
            bool larger = !strcmp(pol, "not_smaller");
            if (!larger && strcmp(pol, "not_larger"))
                return ox_fail(err, CKPT_E_UNSUPPORTED, n, "keep_aspect_ratio_policy '%s'", pol);
            double s = larger ? 0.0 : (double)INFINITY;
            for (int i = 0; i < na; i++) {
                double v = (double)sz[i] / (double)x->dims[axes[i]];
                s = larger ? (v > s ? v : s) : (v < s ? v : s);
            }
            for (int i = 0; i < na; i++) {
                scales[axes[i]] = s;
                osz[axes[i]] = nn2_f2i(floor(s * (double)x->dims[axes[i]] + 0.5));
            }
        } else {
            for (int i = 0; i < na; i++) {
                if (sz[i] < 0)
                    return ox_fail(err, CKPT_E_ARG, n, "negative size");
                osz[axes[i]] = sz[i];
                scales[axes[i]] = x->dims[axes[i]] ? (double)sz[i] / (double)x->dims[axes[i]]
                                                   : 1.0;
            }
        }
    } else {
        return ox_fail(err, CKPT_E_ARG, n, "needs scales or sizes");
    }
    for (int i = 0; i < rank; i++)
        if (!(scales[i] > 0.0))
            scales[i] = 1.0;
    return resize_run(r, n, x, out[0], &c, scales, osz, roi, err);
}

static int k_upsample(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    const ox_val *x = in[0];
    if (!x || x->kind != OX_KIND_TENSOR || x->dtype == OX_STRING || x->dtype == OX_BOOL)
        return ox_fail(err, CKPT_E_SHAPE, n, "X must be a numeric tensor");
    rs_cfg c = {0};
    CKPT_TRY(parse_mode(n, ox_attr_str(n, "mode", "nearest"), &c.mode, err));
    if (c.mode == RM_CUBIC)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "Upsample has no cubic mode");
    c.ct = CT_ASYMMETRIC;
    c.nm = NM_SIMPLE;
    const int rank = x->rank;
    double scales[OX_MAX_RANK];
    int64_t osz[OX_MAX_RANK];
    if (n->opset >= 9) {
        if (!present(n, in, 1) || in[1]->numel != rank || !nn2_is_float(in[1]->dtype))
            return ox_fail(err, CKPT_E_SHAPE, n, "scales must hold %d floats", rank);
        for (int i = 0; i < rank; i++)
            scales[i] = (double)(float)ox_get_f64(in[1], i);
    } else {
        size_t ns = 0;
        const float *s = ox_attr_floats(n, "scales", &ns);
        if (!s || ns != (size_t)rank)
            return ox_fail(err, CKPT_E_ARG, n, "scales attribute must hold %d values", rank);
        for (int i = 0; i < rank; i++)
            scales[i] = (double)s[i];
    }
    for (int i = 0; i < rank; i++) {
        if (!(scales[i] > 0.0) || !isfinite(scales[i]))
            return ox_fail(err, CKPT_E_ARG, n, "scale %g must be positive and finite", scales[i]);
        osz[i] = nn2_f2i(floor((double)((float)x->dims[i] * (float)scales[i])));
    }
    return resize_run(r, n, x, out[0], &c, scales, osz, NULL, err);
}

/* ------------------------------------------------------------ GridSample */

enum { GP_ZEROS, GP_BORDER, GP_REFLECTION };

static double gs_reflect(double v, double twice_low, double twice_high)
{
    if (twice_low == twice_high)
        return 0.0;
    double mn = twice_low / 2.0, span = (twice_high - twice_low) / 2.0;
    v = fabs(v - mn);
    double extra = fmod(v, span);
    int64_t flips = (int64_t)floor(v / span);
    return (flips % 2 == 0) ? extra + mn : span - extra + mn;
}

static double gs_compute(double v, int64_t size, int pad, int align)
{
    if (pad == GP_BORDER) {
        v = v < 0.0 ? 0.0 : (v > (double)(size - 1) ? (double)(size - 1) : v);
    } else if (pad == GP_REFLECTION) {
        if (align)
            v = gs_reflect(v, 0.0, 2.0 * (double)(size - 1));
        else
            v = gs_reflect(v, -1.0, 2.0 * (double)size - 1.0);
        v = v < 0.0 ? 0.0 : (v > (double)(size - 1) ? (double)(size - 1) : v);
    }
    return v;
}

static double gs_unnorm(double c, int64_t size, int align)
{
    return align ? (c + 1.0) / 2.0 * (double)(size - 1) : ((c + 1.0) * (double)size - 1.0) / 2.0;
}

static inline double gs_at(const float *p, int64_t H, int64_t W, int64_t yy, int64_t xx)
{
    return (yy >= 0 && yy < H && xx >= 0 && xx < W) ? (double)p[yy * W + xx] : 0.0;
}

/* Volumetric GridSample (opset 20): X (N,C,D,H,W), grid (N,Do,Ho,Wo,3) with
 * (x, y, z) indexing (W, H, D); trilinear or nearest, as torch's 3-D grid
 * sampler. */
static inline double gs_at3(const float *p, int64_t D, int64_t H, int64_t W, int64_t zz,
                            int64_t yy, int64_t xx)
{
    return (zz >= 0 && zz < D && yy >= 0 && yy < H && xx >= 0 && xx < W)
               ? (double)p[(zz * H + yy) * W + xx]
               : 0.0;
}

static int gridsample3d(ox_run *r, const ox_node *n, const ox_val *x, const ox_val *g, ox_val *y,
                        int mode, int pad, int align, ckpt_error *err)
{
    if (mode == RM_CUBIC)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "cubic sampling is 2-D only");
    const int64_t N = x->dims[0], C = x->dims[1], D = x->dims[2], H = x->dims[3], W = x->dims[4];
    const int64_t Do = g->dims[1], Ho = g->dims[2], Wo = g->dims[3];
    const int64_t od[5] = {N, C, Do, Ho, Wo};
    CKPT_TRY(ox_out(r, n, y, x->dtype, 5, od, err));
    if (y->numel == 0)
        return 0;
    nn2_plan pl = {0, 0};
    size_t o_x = nn2_plan_add(&pl, x->numel, sizeof(float));
    size_t o_g = nn2_plan_add(&pl, g->numel, sizeof(float));
    size_t o_y = nn2_plan_add(&pl, y->numel, sizeof(float));
    char *base = nn2_plan_alloc(r, n, &pl, err);
    if (!base)
        return CKPT_E_NOMEM;
    float *xf = (float *)(void *)(base + o_x), *gf = (float *)(void *)(base + o_g);
    float *yf = (float *)(void *)(base + o_y);
    nn2_load_f32(xf, x);
    nn2_load_f32(gf, g);
    const int64_t S = Do * Ho * Wo;
    for (int64_t b = 0; b < N; b++)
        for (int64_t i = 0; i < S; i++) {
            const float *gp = gf + (b * S + i) * 3;
            double sx = gs_compute(gs_unnorm((double)gp[0], W, align), W, pad, align);
            double sy = gs_compute(gs_unnorm((double)gp[1], H, align), H, pad, align);
            double sz = gs_compute(gs_unnorm((double)gp[2], D, align), D, pad, align);
            for (int64_t ch = 0; ch < C; ch++) {
                const float *p = xf + (b * C + ch) * D * H * W;
                double v;
                if (mode == RM_NEAREST) {
                    v = gs_at3(p, D, H, W, (int64_t)nearbyint(sz), (int64_t)nearbyint(sy),
                               (int64_t)nearbyint(sx));
                } else {
                    double x0 = floor(sx), y0 = floor(sy), z0 = floor(sz);
                    double lx = sx - x0, ly = sy - y0, lz = sz - z0;
                    int64_t xi = (int64_t)x0, yi = (int64_t)y0, zi = (int64_t)z0;
                    v = 0.0;
                    for (int c8 = 0; c8 < 8; c8++) {
                        int dx = c8 & 1, dy = (c8 >> 1) & 1, dz = (c8 >> 2) & 1;
                        double wgt = (dx ? lx : 1 - lx) * (dy ? ly : 1 - ly) * (dz ? lz : 1 - lz);
                        v += wgt * gs_at3(p, D, H, W, zi + dz, yi + dy, xi + dx);
                    }
                }
                yf[(b * C + ch) * S + i] = (float)v;
            }
        }
    nn2_store_f32(y, yf);
    return 0;
}

static int k_gridsample(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                        ckpt_error *err)
{
    const ox_val *x = in[0], *g = n->n_in > 1 ? in[1] : NULL;
    if (!x || !g || !nn2_is_float(x->dtype) || !nn2_is_float(g->dtype))
        return ox_fail(err, CKPT_E_SHAPE, n, "X and grid must be float tensors");
    const bool vol = x->rank == 5 && n->opset >= 20;
    if (vol ? (g->rank != 5 || g->dims[4] != 3 || g->dims[0] != x->dims[0])
            : (x->rank != 4 || g->rank != 4 || g->dims[3] != 2 || g->dims[0] != x->dims[0]))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n,
                       "X (N,C,H,W) with grid (N,Ho,Wo,2), or from opset 20 X (N,C,D,H,W) "
                       "with grid (N,Do,Ho,Wo,3)");
    const char *ms = ox_attr_str(n, "mode", n->opset >= 20 ? "linear" : "bilinear");
    int mode;
    if (!strcmp(ms, "bilinear") || !strcmp(ms, "linear"))
        mode = RM_LINEAR;
    else if (!strcmp(ms, "nearest"))
        mode = RM_NEAREST;
    else if (!strcmp(ms, "bicubic") || !strcmp(ms, "cubic"))
        mode = RM_CUBIC;
    else
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "mode '%s'", ms);
    const char *ps = ox_attr_str(n, "padding_mode", "zeros");
    int pad;
    if (!strcmp(ps, "zeros"))
        pad = GP_ZEROS;
    else if (!strcmp(ps, "border"))
        pad = GP_BORDER;
    else if (!strcmp(ps, "reflection"))
        pad = GP_REFLECTION;
    else
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "padding_mode '%s'", ps);
    const int align = ox_attr_int(n, "align_corners", 0) != 0;
    if (vol)
        return gridsample3d(r, n, x, g, out[0], mode, pad, align, err);
    const int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    const int64_t Ho = g->dims[1], Wo = g->dims[2];
    const int64_t od[4] = {N, C, Ho, Wo};
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, 4, od, err));
    if (!out[0] || out[0]->numel == 0)
        return 0;
    nn2_plan pl = {0, 0};
    size_t o_x = nn2_plan_add(&pl, x->numel, sizeof(float));
    size_t o_g = nn2_plan_add(&pl, g->numel, sizeof(float));
    size_t o_y = nn2_plan_add(&pl, out[0]->numel, sizeof(float));
    char *base = nn2_plan_alloc(r, n, &pl, err);
    if (!base)
        return CKPT_E_NOMEM;
    float *xf = (float *)(void *)(base + o_x), *gf = (float *)(void *)(base + o_g);
    float *yf = (float *)(void *)(base + o_y);
    nn2_load_f32(xf, x);
    nn2_load_f32(gf, g);
    for (int64_t b = 0; b < N; b++)
        for (int64_t i = 0; i < Ho * Wo; i++) {
            const float *gp = gf + (b * Ho * Wo + i) * 2;
            double gx = (double)gp[0], gy = (double)gp[1];
            double ix = gs_unnorm(gx, W, align), iy = gs_unnorm(gy, H, align);
            for (int64_t ch = 0; ch < C; ch++) {
                const float *p = xf + (b * C + ch) * H * W;
                double v;
                if (mode == RM_CUBIC) {
                    double x0 = floor(ix), y0 = floor(iy), tx = ix - x0, ty = iy - y0;
                    double wx[4], wy[4];
                    for (int k = 0; k < 4; k++) {
                        wx[k] = cubic_kernel(tx - (double)(k - 1), -0.75);
                        wy[k] = cubic_kernel(ty - (double)(k - 1), -0.75);
                    }
                    v = 0.0;
                    for (int ky = 0; ky < 4; ky++) {
                        double row = 0.0;
                        for (int kx = 0; kx < 4; kx++) {
                            double cx = gs_compute(x0 - 1.0 + kx, W, pad, align);
                            double cy = gs_compute(y0 - 1.0 + ky, H, pad, align);
                            row += wx[kx] * gs_at(p, H, W, (int64_t)cy, (int64_t)cx);
                        }
                        v += wy[ky] * row;
                    }
                } else {
                    double sx = gs_compute(ix, W, pad, align), sy = gs_compute(iy, H, pad, align);
                    if (mode == RM_NEAREST) {
                        v = gs_at(p, H, W, (int64_t)nearbyint(sy), (int64_t)nearbyint(sx));
                    } else {
                        double x0 = floor(sx), y0 = floor(sy);
                        double lx = sx - x0, ly = sy - y0;
                        int64_t xi = (int64_t)x0, yi = (int64_t)y0;
                        v = gs_at(p, H, W, yi, xi) * (1 - lx) * (1 - ly) +
                            gs_at(p, H, W, yi, xi + 1) * lx * (1 - ly) +
                            gs_at(p, H, W, yi + 1, xi) * (1 - lx) * ly +
                            gs_at(p, H, W, yi + 1, xi + 1) * lx * ly;
                    }
                }
                yf[(b * C + ch) * Ho * Wo + i] = (float)v;
            }
        }
    nn2_store_f32(out[0], yf);
    return 0;
}

/* ------------------------------------------------------------ RoiAlign */

static int k_roialign(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    const ox_val *x = in[0], *rois = n->n_in > 1 ? in[1] : NULL, *bi = n->n_in > 2 ? in[2] : NULL;
    if (!x || !rois || !bi || !nn2_is_float(x->dtype) || x->rank != 4)
        return ox_fail(err, CKPT_E_SHAPE, n, "needs float X (N,C,H,W), rois, batch_indices");
    if (rois->rank != 2 || rois->dims[1] != 4 || !nn2_is_float(rois->dtype))
        return ox_fail(err, CKPT_E_SHAPE, n, "rois must be (num_rois, 4) floats");
    const int64_t R = rois->dims[0];
    if (bi->numel != R || (bi->dtype != OX_INT64 && bi->dtype != OX_INT32))
        return ox_fail(err, CKPT_E_SHAPE, n, "batch_indices must hold %lld integers",
                       (long long)R);
    const char *ms = ox_attr_str(n, "mode", "avg");
    int is_max;
    if (!strcmp(ms, "avg"))
        is_max = 0;
    else if (!strcmp(ms, "max"))
        is_max = 1;
    else
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "mode '%s'", ms);
    const char *cts = ox_attr_str(n, "coordinate_transformation_mode",
                                  n->opset >= 16 ? "half_pixel" : "output_half_pixel");
    int half;
    if (!strcmp(cts, "half_pixel"))
        half = 1;
    else if (!strcmp(cts, "output_half_pixel"))
        half = 0;
    else
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "coordinate_transformation_mode '%s'", cts);
    const int64_t PH = ox_attr_int(n, "output_height", 1), PW = ox_attr_int(n, "output_width", 1);
    const int64_t sr = ox_attr_int(n, "sampling_ratio", 0);
    const float ss = ox_attr_float(n, "spatial_scale", 1.0f);
    if (PH < 1 || PW < 1 || sr < 0)
        return ox_fail(err, CKPT_E_ARG, n, "bad output size or sampling_ratio");
    const int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    const int64_t od[4] = {R, C, PH, PW};
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, 4, od, err));
    if (!out[0] || out[0]->numel == 0)
        return 0;
    nn2_plan pl = {0, 0};
    size_t o_x = nn2_plan_add(&pl, x->numel, sizeof(float));
    size_t o_y = nn2_plan_add(&pl, out[0]->numel, sizeof(float));
    char *base = nn2_plan_alloc(r, n, &pl, err);
    if (!base)
        return CKPT_E_NOMEM;
    float *xf = (float *)(void *)(base + o_x), *yf = (float *)(void *)(base + o_y);
    nn2_load_f32(xf, x);
    const float off = half ? 0.5f : 0.0f;
    for (int64_t ri = 0; ri < R; ri++) {
        int64_t b = nn2_f2i(ox_get_f64(bi, ri));
        if (b < 0 || b >= N)
            return ox_fail(err, CKPT_E_ARG, n, "batch index %lld out of range", (long long)b);
        float x1 = (float)ox_get_f64(rois, ri * 4) * ss - off;
        float y1 = (float)ox_get_f64(rois, ri * 4 + 1) * ss - off;
        float x2 = (float)ox_get_f64(rois, ri * 4 + 2) * ss - off;
        float y2 = (float)ox_get_f64(rois, ri * 4 + 3) * ss - off;
        float rw = x2 - x1, rh = y2 - y1;
        if (!half) {
            rw = rw > 1.0f ? rw : 1.0f;
            rh = rh > 1.0f ? rh : 1.0f;
        }
        const float bh = rh / (float)PH, bw = rw / (float)PW;
        const int64_t gh = sr > 0 ? sr : nn2_f2i(ceil((double)(rh / (float)PH)));
        const int64_t gw = sr > 0 ? sr : nn2_f2i(ceil((double)(rw / (float)PW)));
        const float count = (float)(gh * gw > 1 ? gh * gw : 1);
        if (gh > 4096 || gw > 4096)
            return ox_fail(err, CKPT_E_LIMIT, n, "roi %lld needs too many samples",
                           (long long)ri);
        for (int64_t ch = 0; ch < C; ch++) {
            const float *p = xf + (b * C + ch) * H * W;
            for (int64_t ph = 0; ph < PH; ph++)
                for (int64_t pw = 0; pw < PW; pw++) {
                    float acc = 0.0f;
                    int first = 1;
                    for (int64_t iy = 0; iy < gh; iy++) {
                        float yy = y1 + (float)ph * bh + ((float)iy + 0.5f) * bh / (float)gh;
                        for (int64_t ix = 0; ix < gw; ix++) {
                            float xx = x1 + (float)pw * bw + ((float)ix + 0.5f) * bw / (float)gw;
                            float w1 = 0, w2 = 0, w3 = 0, w4 = 0;
                            int64_t yl = 0, yh = 0, xl = 0, xh = 0;
                            if (!(yy < -1.0f || yy > (float)H || xx < -1.0f || xx > (float)W)) {
                                float y = yy <= 0 ? 0 : yy, xq = xx <= 0 ? 0 : xx;
                                yl = (int64_t)y;
                                if (yl >= H - 1) {
                                    yh = yl = H - 1;
                                    y = (float)yl;
                                } else {
                                    yh = yl + 1;
                                }
                                xl = (int64_t)xq;
                                if (xl >= W - 1) {
                                    xh = xl = W - 1;
                                    xq = (float)xl;
                                } else {
                                    xh = xl + 1;
                                }
                                float ly = y - (float)yl, lx = xq - (float)xl;
                                float hy = 1.0f - ly, hx = 1.0f - lx;
                                w1 = hy * hx;
                                w2 = hy * lx;
                                w3 = ly * hx;
                                w4 = ly * lx;
                            }
                            float v1 = w1 * p[yl * W + xl], v2 = w2 * p[yl * W + xh];
                            float v3 = w3 * p[yh * W + xl], v4 = w4 * p[yh * W + xh];
                            if (is_max) {
                                float m = fmaxf(fmaxf(v1, v2), fmaxf(v3, v4));
                                acc = first ? m : fmaxf(acc, m);
                                first = 0;
                            } else {
                                acc += v1 + v2 + v3 + v4;
                            }
                        }
                    }
                    yf[((ri * C + ch) * PH + ph) * PW + pw] = is_max ? acc : acc / count;
                }
        }
    }
    nn2_store_f32(out[0], yf);
    return 0;
}

/* ------------------------------------------------------------ MaxRoiPool */

static int k_maxroipool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                        ckpt_error *err)
{
    const ox_val *x = in[0], *rois = n->n_in > 1 ? in[1] : NULL;
    if (!x || !rois || !nn2_is_float(x->dtype) || x->rank != 4 || rois->rank != 2 ||
        rois->dims[1] != 5 || !nn2_is_float(rois->dtype))
        return ox_fail(err, CKPT_E_SHAPE, n, "needs float X (N,C,H,W) and rois (R,5)");
    size_t np = 0;
    const int64_t *ps = ox_attr_ints(n, "pooled_shape", &np);
    if (!ps || np != 2 || ps[0] < 1 || ps[1] < 1)
        return ox_fail(err, CKPT_E_ARG, n, "pooled_shape must be two positive ints");
    const float ss = ox_attr_float(n, "spatial_scale", 1.0f);
    const int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    const int64_t R = rois->dims[0], PH = ps[0], PW = ps[1];
    const int64_t od[4] = {R, C, PH, PW};
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, 4, od, err));
    for (int64_t ri = 0; ri < R; ri++) {
        int64_t b = nn2_f2i(ox_get_f64(rois, ri * 5));
        if (b < 0 || b >= N)
            return ox_fail(err, CKPT_E_ARG, n, "roi batch index %lld out of range", (long long)b);
        int64_t sw = nn2_f2i(round((double)((float)ox_get_f64(rois, ri * 5 + 1) * ss)));
        int64_t sh = nn2_f2i(round((double)((float)ox_get_f64(rois, ri * 5 + 2) * ss)));
        int64_t ew = nn2_f2i(round((double)((float)ox_get_f64(rois, ri * 5 + 3) * ss)));
        int64_t eh = nn2_f2i(round((double)((float)ox_get_f64(rois, ri * 5 + 4) * ss)));
        int64_t rh = eh - sh + 1 > 1 ? eh - sh + 1 : 1, rw = ew - sw + 1 > 1 ? ew - sw + 1 : 1;
        float bh = (float)rh / (float)PH, bw = (float)rw / (float)PW;
        for (int64_t ch = 0; ch < C; ch++)
            for (int64_t ph = 0; ph < PH; ph++)
                for (int64_t pw = 0; pw < PW; pw++) {
                    int64_t hs = (int64_t)floorf((float)ph * bh) + sh;
                    int64_t he = (int64_t)ceilf((float)(ph + 1) * bh) + sh;
                    int64_t ws = (int64_t)floorf((float)pw * bw) + sw;
                    int64_t we = (int64_t)ceilf((float)(pw + 1) * bw) + sw;
                    hs = hs < 0 ? 0 : (hs > H ? H : hs);
                    he = he < 0 ? 0 : (he > H ? H : he);
                    ws = ws < 0 ? 0 : (ws > W ? W : ws);
                    we = we < 0 ? 0 : (we > W ? W : we);
                    double m = 0.0;
                    if (he > hs && we > ws) {
                        m = -(double)INFINITY;
                        for (int64_t yy = hs; yy < he; yy++)
                            for (int64_t xx = ws; xx < we; xx++) {
                                double v = ox_get_f64(x, ((b * C + ch) * H + yy) * W + xx);
                                if (v > m)
                                    m = v;
                            }
                    }
                    ox_set_f64(out[0], ((ri * C + ch) * PH + ph) * PW + pw, m);
                }
    }
    return 0;
}

/* ------------------------------------------------------------ NonMaxSuppression */

typedef struct nms_cand {
    float score;
    int64_t index;
} nms_cand;

static int nms_cmp(const void *a, const void *b)
{
    const nms_cand *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->index < y->index ? -1 : (x->index > y->index);
}

/* (y1, x1, y2, x2) with min/max ordered */
static void nms_box(const ox_val *bx, int64_t off, int center, float *o)
{
    float a = (float)ox_get_f64(bx, off), b = (float)ox_get_f64(bx, off + 1);
    float c = (float)ox_get_f64(bx, off + 2), d = (float)ox_get_f64(bx, off + 3);
    if (center) {
        /* x_center, y_center, width, height */
        o[0] = b - d / 2.0f;
        o[2] = b + d / 2.0f;
        o[1] = a - c / 2.0f;
        o[3] = a + c / 2.0f;
    } else {
        o[0] = fminf(a, c);
        o[2] = fmaxf(a, c);
        o[1] = fminf(b, d);
        o[3] = fmaxf(b, d);
    }
}

static int nms_suppress(const float *p, const float *q, float thr)
{
    float ymin = fmaxf(p[0], q[0]), xmin = fmaxf(p[1], q[1]);
    float ymax = fminf(p[2], q[2]), xmax = fminf(p[3], q[3]);
    float inter = fmaxf(ymax - ymin, 0.0f) * fmaxf(xmax - xmin, 0.0f);
    float a1 = (p[2] - p[0]) * (p[3] - p[1]), a2 = (q[2] - q[0]) * (q[3] - q[1]);
    if (a1 <= 0.0f || a2 <= 0.0f)
        return 0;
    float uni = a1 + a2 - inter;
    if (uni <= 0.0f)
        return 0;
    return inter / uni > thr;
}

static int k_nms(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err)
{
    const ox_val *bx = in[0], *sc = n->n_in > 1 ? in[1] : NULL;
    if (!bx || !sc || !nn2_is_float(bx->dtype) || !nn2_is_float(sc->dtype) || bx->rank != 3 ||
        bx->dims[2] != 4 || sc->rank != 3 || sc->dims[0] != bx->dims[0] ||
        sc->dims[2] != bx->dims[1])
        return ox_fail(err, CKPT_E_SHAPE, n,
                       "boxes must be (B, n, 4) and scores (B, C, n), float");
    int64_t maxo = 0;
    float iou = 0.0f, sthr = 0.0f;
    bool use_sthr = false;
    if (present(n, in, 2)) {
        int64_t v[1];
        int64_t got = ox_read_ints(n, in[2], v, 1, err);
        if (got < 0)
            return (int)got;
        maxo = v[0];
    }
    if (present(n, in, 3))
        iou = (float)ox_get_f64(in[3], 0);
    if (present(n, in, 4)) {
        sthr = (float)ox_get_f64(in[4], 0);
        use_sthr = true;
    }
    if (iou < 0.0f || iou > 1.0f)
        return ox_fail(err, CKPT_E_ARG, n, "iou_threshold %g outside [0, 1]", (double)iou);
    const int center = ox_attr_int(n, "center_point_box", 0) != 0;
    const int64_t B = bx->dims[0], NB = bx->dims[1], C = sc->dims[1];
    if (maxo < 0)
        maxo = 0;
    int64_t cap_sel = maxo < NB ? maxo : NB;
    nn2_plan pl = {0, 0};
    size_t o_c = nn2_plan_add(&pl, NB, sizeof(nms_cand));
    size_t o_s = nn2_plan_add(&pl, cap_sel, sizeof(int64_t));
    size_t o_r = nn2_plan_add(&pl, B * C * cap_sel * 3, sizeof(int64_t));
    size_t o_b = nn2_plan_add(&pl, NB * 4, sizeof(float));
    char *base = nn2_plan_alloc(r, n, &pl, err);
    if (!base)
        return CKPT_E_NOMEM;
    nms_cand *cand = (nms_cand *)(void *)(base + o_c);
    int64_t *sel = (int64_t *)(void *)(base + o_s), *res = (int64_t *)(void *)(base + o_r);
    float *boxes = (float *)(void *)(base + o_b);
    int64_t nres = 0;
    for (int64_t b = 0; b < B; b++) {
        for (int64_t i = 0; i < NB; i++)
            nms_box(bx, (b * NB + i) * 4, center, boxes + i * 4);
        for (int64_t c = 0; c < C && maxo > 0; c++) {
            int64_t nc = 0;
            for (int64_t i = 0; i < NB; i++) {
                float s = (float)ox_get_f64(sc, (b * C + c) * NB + i);
                if (use_sthr && !(s > sthr))
                    continue;
                cand[nc].score = s;
                cand[nc].index = i;
                nc++;
            }
            qsort(cand, (size_t)nc, sizeof *cand, nms_cmp);
            int64_t ns = 0;
            for (int64_t k = 0; k < nc && ns < cap_sel; k++) {
                const float *p = boxes + cand[k].index * 4;
                int keep = 1;
                for (int64_t j = 0; j < ns && keep; j++)
                    if (nms_suppress(boxes + sel[j] * 4, p, iou))
                        keep = 0;
                if (!keep)
                    continue;
                sel[ns++] = cand[k].index;
                res[nres * 3] = b;
                res[nres * 3 + 1] = c;
                res[nres * 3 + 2] = cand[k].index;
                nres++;
            }
        }
    }
    const int64_t od[2] = {nres, 3};
    CKPT_TRY(ox_out(r, n, out[0], OX_INT64, 2, od, err));
    if (nres)
        memcpy(out[0]->data, res, (size_t)(nres * 3) * sizeof(int64_t));
    return 0;
}

const ox_op ox_ops_image[] = {
    {"Resize", "", 10, 0, k_resize, NULL},
    {"Upsample", "", 7, 9, k_upsample, NULL},
    {"GridSample", "", 16, 0, k_gridsample, NULL},
    {"RoiAlign", "", 10, 0, k_roialign, NULL},
    {"MaxRoiPool", "", 1, 0, k_maxroipool, NULL},
    {"NonMaxSuppression", "", 10, 0, k_nms, NULL},
    {0},
};
