/* src/onnx/nn_conv.c - ONNX Conv, ConvTranspose and the pooling family
 * (MaxPool with Indices, AveragePool, LpPool, their Global forms,
 * MaxUnpool).
 *
 * float32 runs the op library: 1-d and 2-d go to the 2-d kernels of
 * ckpt/kernels.h (a 1-d input is H = 1; an asymmetric padding is the
 * leading pad plus an output size the caller fills, which the 2-d kernels
 * honour), the other forms to the N-d kernels of ops/kernels_nd.h.  Other
 * element types are widened to float32 in scratch, computed, and rounded
 * back (exact for float16 / int8 / uint8 pooling). */
#include <math.h>
#include <string.h>

#include "ckpt/kernels.h"
#include "core/err.h"
#include "onnx/nn_util.h"
#include "ops/kernels_nd.h"

/* The 2-d kernels' dims (a 1-d conv is a 2-d one of height 1): the same fields
 * for the convolution and the transposed convolution (which adds output padding). */
#define CONV2D_DIMS(d2, TYPE, geo, nd, batch, c, oc, g)                                          \
    do {                                                                                         \
        const int a_ = (nd)-1; /* the W axis */                                                  \
        (d2) = (TYPE){.b = (batch),                                                              \
                      .c = (c),                                                                  \
                      .h = (nd) == 2 ? (geo).in[0] : 1,                                          \
                      .w = (geo).in[a_],                                                         \
                      .oc = (oc),                                                                \
                      .kh = (nd) == 2 ? (geo).k[0] : 1,                                          \
                      .kw = (geo).k[a_],                                                         \
                      .sh = (nd) == 2 ? (geo).s[0] : 1,                                          \
                      .sw = (geo).s[a_],                                                         \
                      .ph = (nd) == 2 ? (geo).pb[0] : 0,                                         \
                      .pw = (geo).pb[a_],                                                        \
                      .dh = (nd) == 2 ? (geo).d[0] : 1,                                          \
                      .dw = (geo).d[a_],                                                         \
                      .g = (g),                                                                  \
                      .oh = (nd) == 2 ? (geo).out[0] : 1,                                        \
                      .ow = (geo).out[a_]};                                                      \
    } while (0)

/* The N-d kernels' dims. */
static void convnd_dims(ckpt_nn_convnd_dims *dn, const ox_nn_geom *geo, int nd, int64_t batch,
                        int64_t c, int64_t oc, int64_t g)
{
    dn->nd = nd;
    dn->b = batch, dn->c = c, dn->oc = oc, dn->g = g;
    for (int i = 0; i < nd; i++) {
        dn->in[i] = geo->in[i], dn->k[i] = geo->k[i], dn->s[i] = geo->s[i];
        dn->p[i] = geo->pb[i], dn->d[i] = geo->d[i], dn->out[i] = geo->out[i];
    }
}

static int64_t prod64(const int64_t *v, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= v[i];
    return p;
}

static bool float_type(int dt)
{
    return dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_BFLOAT16;
}

static int check_x(const ox_node *n, const ox_val *x, int min_rank, ckpt_error *err)
{
    if (!x || x->kind != OX_KIND_TENSOR)
        return ox_fail(err, CKPT_E_ARG, n, "input X is missing or not a tensor");
    if (x->rank < min_rank || x->rank - 2 > CKPT_NN_MAX_ND)
        return ox_fail(err, CKPT_E_SHAPE, n, "input X has rank %d (3..%d supported)", x->rank,
                       CKPT_NN_MAX_ND + 2);
    return 0;
}

/* the float32 views of up to 4 tensors and a float32 output: the data itself
 * for float32, else converted copies in one scratch block (with `extra`
 * floats of kernel scratch after them) */
typedef struct fview {
    const float *x[4];
    float *out;
    float *ws;
} fview;

static int fview_make(ox_run *r, const ox_node *n, fview *fv, const ox_val *const *ins, int nin,
                      ox_val *out, size_t extra, ckpt_error *err)
{
    (void)n;
    bool conv = out && out->dtype != OX_FLOAT;
    size_t total = extra + 16;
    for (int i = 0; i < nin; i++)
        if (ins[i] && ins[i]->dtype != OX_FLOAT)
            total += (size_t)ins[i]->numel;
    if (conv)
        total += (size_t)out->numel;
    float *p = ox_scratch(r, total * sizeof(float), err);
    if (!p)
        return CKPT_E_NOMEM;
    fv->ws = p;
    float *q = fv->ws + extra;
    for (int i = 0; i < nin; i++) {
        fv->x[i] = NULL;
        if (!ins[i])
            continue;
        if (ins[i]->dtype == OX_FLOAT) {
            fv->x[i] = ins[i]->data;
        } else {
            ox_nn_to_float(q, ins[i]);
            fv->x[i] = q;
            q += ins[i]->numel;
        }
    }
    fv->out = conv ? q : (out ? out->data : NULL);
    return 0;
}

static void fview_done(const fview *fv, ox_val *out)
{
    if (out && out->dtype != OX_FLOAT)
        ox_nn_from_float(out, fv->out);
}

/* ------------------------------------------------------------------ Conv */

/* A batch split over the session's threads: each job convolves its own
 * images with its own scratch, BLAS single-threaded inside (one sgemm per
 * image is too narrow to split well; whole images are not). */
typedef struct conv_job {
    float *out, *ws;
    const float *in, *w, *b;
    ckpt_nn_conv2d_dims d2;
    ckpt_nn_convnd_dims dn;
    bool use2d;
} conv_job;

static void *conv_job_run(void *p)
{
    conv_job *j = p;
    if (j->use2d)
        ckpt_nn_conv2d_forward(j->out, j->in, j->w, j->b, j->ws, &j->d2);
    else
        ckpt_nn_convnd_forward(j->out, j->in, j->w, j->b, j->ws, &j->dn);
    return NULL;
}

/* how many ways to split a batch of `b` images of `macs` products each */
static int conv_split(const ox_run *r, int64_t b, int64_t macs)
{
    int64_t t = ox_threads(r);
    if (t > OX_NN_MAX_THREADS)
        t = OX_NN_MAX_THREADS;
    if (t > b)
        t = b;
    /* below ~4M products a thread start costs more than it saves */
    if (t < 2 || b * macs < (INT64_C(1) << 22))
        return 1;
    return (int)t;
}

int ox_nn_conv(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
               ckpt_error *err)
{
    const ox_val *x = in[0], *w = n->n_in > 1 ? in[1] : NULL, *b = n->n_in > 2 ? in[2] : NULL;
    CKPT_TRY(check_x(n, x, 3, err));
    if (!w || w->kind != OX_KIND_TENSOR || w->rank != x->rank)
        return ox_fail(err, CKPT_E_SHAPE, n, "weight W must have the rank of X (%d)", x->rank);
    if (!float_type(x->dtype) || w->dtype != x->dtype || (b && b->dtype != x->dtype))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element types %s / %s",
                       ox_dtype_name(x->dtype), ox_dtype_name(w->dtype));
    const int nd = x->rank - 2;
    const int64_t g = ox_attr_int(n, "group", 1), c = x->dims[1], oc = w->dims[0];
    if (g < 1 || g > INT32_MAX || c % g || oc % g || w->dims[1] * g != c)
        return ox_fail(err, CKPT_E_SHAPE, n,
                       "X has %lld channels, W (%lld, %lld, ...) with group %lld", (long long)c,
                       (long long)oc, (long long)w->dims[1], (long long)g);
    if (b && (b->rank != 1 || b->dims[0] != oc))
        return ox_fail(err, CKPT_E_SHAPE, n, "bias B must be (%lld)", (long long)oc);
    ox_nn_geom geo;
    CKPT_TRY(ox_nn_geom_fill(n, &geo, nd, x->dims + 2, w->dims + 2, false, err));
    for (int i = 0; i < nd; i++)
        if (geo.k[i] != w->dims[2 + i])
            return ox_fail(err, CKPT_E_SHAPE, n, "kernel_shape disagrees with W");
    int64_t od[OX_MAX_RANK] = {x->dims[0], oc};
    for (int i = 0; i < nd; i++)
        od[2 + i] = geo.out[i];
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, od, err));
    if (!out[0] || out[0]->numel == 0)
        return 0;

    const int64_t kcols = w->numel / (oc ? oc : 1), npos = prod64(geo.out, nd);
    CKPT_TRY(ox_nn_check_ws(n, kcols, npos, err));
    CKPT_TRY(ox_nn_check_gemm(n, oc / g, npos, kcols, err));
    bool pe_zero = true, pb_zero = true, k1 = true, s1 = true;
    for (int i = 0; i < nd; i++) {
        pe_zero = pe_zero && geo.pe[i] == 0;
        pb_zero = pb_zero && geo.pb[i] == 0;
        k1 = k1 && geo.k[i] == 1;
        s1 = s1 && geo.s[i] == 1;
    }
    /* the 2-d kernel reads a 1x1 stride-1 unpadded conv straight from X:
     * only right when no trailing padding widens the output */
    const bool use2d = nd <= 2 && !(k1 && s1 && pb_zero && !pe_zero);
    ckpt_nn_conv2d_dims d2 = {0};
    ckpt_nn_convnd_dims dn = {0};
    size_t ws;
    if (use2d) {
        CONV2D_DIMS(d2, ckpt_nn_conv2d_dims, geo, nd, x->dims[0], c, oc, g);
        ws = ckpt_nn_conv2d_ws(&d2);
    } else {
        convnd_dims(&dn, &geo, nd, x->dims[0], c, oc, g);
        ws = ckpt_nn_convnd_ws(&dn);
    }
    const int split = conv_split(r, x->dims[0], kcols * npos * (oc / g) * g);
    fview fv;
    const ox_val *ins[3] = {x, w, b};
    CKPT_TRY(fview_make(r, n, &fv, ins, 3, out[0], ws * (size_t)split, err));
    ox_nn_blas_threads_for(r, kcols * npos * (oc / g)); /* one image's product per group */
    if (c != 0 && split > 1) {
        conv_job jobs[OX_NN_MAX_THREADS];
        const int64_t nb = x->dims[0], per_in = x->numel / nb, per_out = out[0]->numel / nb;
        for (int t = 0; t < split; t++) {
            const int64_t b0 = nb * t / split, b1 = nb * (t + 1) / split;
            jobs[t] = (conv_job){.out = fv.out + b0 * per_out,
                                 .ws = fv.ws + (size_t)t * ws,
                                 .in = fv.x[0] + b0 * per_in,
                                 .w = fv.x[1],
                                 .b = fv.x[2],
                                 .d2 = d2,
                                 .dn = dn,
                                 .use2d = use2d};
            jobs[t].d2.b = jobs[t].dn.b = b1 - b0;
        }
        ox_nn_blas_single();
        ox_nn_parallel(split, conv_job_run, jobs, sizeof jobs[0]);
    } else if (c == 0) {
        for (int64_t bi = 0; bi < od[0]; bi++)
            for (int64_t o = 0; o < oc; o++) {
                int64_t sz = prod64(geo.out, nd);
                for (int64_t i = 0; i < sz; i++)
                    fv.out[(bi * oc + o) * sz + i] = fv.x[2] ? fv.x[2][o] : 0.0f;
            }
    } else if (use2d) {
        ckpt_nn_conv2d_forward(fv.out, fv.x[0], fv.x[1], fv.x[2], fv.ws, &d2);
    } else {
        ckpt_nn_convnd_forward(fv.out, fv.x[0], fv.x[1], fv.x[2], fv.ws, &dn);
    }
    fview_done(&fv, out[0]);
    return 0;
}

/* --------------------------------------------------------- ConvTranspose */

int ox_nn_conv_transpose(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err)
{
    const ox_val *x = in[0], *w = n->n_in > 1 ? in[1] : NULL, *b = n->n_in > 2 ? in[2] : NULL;
    CKPT_TRY(check_x(n, x, 3, err));
    if (!w || w->kind != OX_KIND_TENSOR || w->rank != x->rank)
        return ox_fail(err, CKPT_E_SHAPE, n, "weight W must have the rank of X (%d)", x->rank);
    if (!float_type(x->dtype) || w->dtype != x->dtype || (b && b->dtype != x->dtype))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element types %s / %s",
                       ox_dtype_name(x->dtype), ox_dtype_name(w->dtype));
    const int nd = x->rank - 2;
    const int64_t g = ox_attr_int(n, "group", 1), c = x->dims[1];
    int64_t oc;
    if (g < 1 || c % g || w->dims[0] != c || __builtin_mul_overflow(w->dims[1], g, &oc))
        return ox_fail(err, CKPT_E_SHAPE, n, "X has %lld channels, W (%lld, ...) group %lld",
                       (long long)c, (long long)w->dims[0], (long long)g);
    if (b && (b->rank != 1 || b->dims[0] != oc))
        return ox_fail(err, CKPT_E_SHAPE, n, "bias B must be (%lld)", (long long)oc);
    ox_nn_geom geo;
    int ap;
    CKPT_TRY(ox_nn_geom_attrs(n, &geo, nd, x->dims + 2, w->dims + 2, &ap, err));
    int64_t opad[CKPT_NN_MAX_ND] = {0}, oshape[CKPT_NN_MAX_ND];
    size_t cnt;
    const int64_t *v = ox_attr_ints(n, "output_padding", &cnt);
    if (v) {
        if (cnt != (size_t)nd)
            return ox_fail(err, CKPT_E_SHAPE, n, "output_padding has %zu values", cnt);
        memcpy(opad, v, (size_t)nd * sizeof *opad);
    }
    const int64_t *os = ox_attr_ints(n, "output_shape", &cnt);
    if (os) {
        if (cnt == (size_t)nd + 2)
            os += 2;
        else if (cnt != (size_t)nd)
            return ox_fail(err, CKPT_E_SHAPE, n, "output_shape has %zu values", cnt);
        memcpy(oshape, os, (size_t)nd * sizeof *oshape);
    }
    for (int i = 0; i < nd; i++) {
        const int64_t dk = (geo.k[i] - 1) * geo.d[i] + 1, s = geo.s[i];
        int64_t full;
        if (__builtin_mul_overflow(s, geo.in[i] > 0 ? geo.in[i] - 1 : 0, &full) ||
            __builtin_add_overflow(full, opad[i] + dk, &full))
            return ox_fail(err, CKPT_E_LIMIT, n, "output size overflows in spatial dim %d", i);
        if (os || ap == OX_PAD_SAME_UPPER || ap == OX_PAD_SAME_LOWER) {
            int64_t o = os ? oshape[i] : geo.in[i] * s;
            int64_t tot = full - o;
            if (!os && tot < 0)
                tot = 0;
            /* floor division: a negative total (an output_shape larger than
             * the natural size) extends the end, as the ONNX reference does */
            const int64_t half = tot >= 0 ? tot / 2 : -((-tot + 1) / 2);
            if (ap == OX_PAD_SAME_UPPER) {
                geo.pb[i] = half;
                geo.pe[i] = tot - half;
            } else {
                geo.pb[i] = tot - half;
                geo.pe[i] = half;
            }
            geo.out[i] = o;
        } else {
            if (ap == OX_PAD_VALID)
                geo.pb[i] = geo.pe[i] = 0;
            geo.out[i] = full - geo.pb[i] - geo.pe[i];
        }
        if (geo.out[i] < 0)
            return ox_fail(err, CKPT_E_SHAPE, n, "negative output size in spatial dim %d", i);
    }
    int64_t od[OX_MAX_RANK] = {x->dims[0], oc};
    for (int i = 0; i < nd; i++)
        od[2 + i] = geo.out[i];
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, od, err));
    if (!out[0] || out[0]->numel == 0)
        return 0;
    const int64_t mrows = w->numel / (c ? c : 1), npos = prod64(geo.in, nd);
    CKPT_TRY(ox_nn_check_ws(n, mrows, npos, err));
    CKPT_TRY(ox_nn_check_gemm(n, mrows, npos, c / g, err));
    ckpt_nn_conv_transpose2d_dims d2 = {0};
    ckpt_nn_convnd_dims dn = {0};
    size_t ws;
    const bool use2d = nd <= 2;
    if (use2d) {
        CONV2D_DIMS(d2, ckpt_nn_conv_transpose2d_dims, geo, nd, x->dims[0], c, oc, g);
        ws = ckpt_nn_conv_transpose2d_ws(&d2);
    } else {
        convnd_dims(&dn, &geo, nd, x->dims[0], c, oc, g);
        ws = ckpt_nn_conv_transposend_ws(&dn);
    }
    fview fv;
    const ox_val *ins[3] = {x, w, b};
    CKPT_TRY(fview_make(r, n, &fv, ins, 3, out[0], ws, err));
    ox_nn_blas_threads(r);
    if (c == 0 || x->numel == 0) {
        int64_t sz = prod64(geo.out, nd);
        for (int64_t bi = 0; bi < od[0]; bi++)
            for (int64_t o = 0; o < oc; o++)
                for (int64_t i = 0; i < sz; i++)
                    fv.out[(bi * oc + o) * sz + i] = fv.x[2] ? fv.x[2][o] : 0.0f;
    } else if (use2d) {
        ckpt_nn_conv_transpose2d_forward(fv.out, fv.x[0], fv.x[1], fv.x[2], fv.ws, &d2);
    } else {
        ckpt_nn_conv_transposend_forward(fv.out, fv.x[0], fv.x[1], fv.x[2], fv.ws, &dn);
    }
    fview_done(&fv, out[0]);
    return 0;
}

/* --------------------------------------------------------------- pooling */

static bool pool_type(int dt)
{
    return float_type(dt) || dt == OX_INT8 || dt == OX_UINT8;
}

static int pool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, int kind,
                ckpt_error *err)
{
    const ox_val *x = in[0];
    CKPT_TRY(check_x(n, x, 3, err));
    if (!(kind == CKPT_NN_POOL_MAX ? pool_type(x->dtype) : float_type(x->dtype)))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element type %s", ox_dtype_name(x->dtype));
    const int nd = x->rank - 2;
    ox_nn_geom geo;
    CKPT_TRY(ox_nn_geom_fill(n, &geo, nd, x->dims + 2, NULL, true, err));
    const bool count_pad = kind == CKPT_NN_POOL_AVG && ox_attr_int(n, "count_include_pad", 0);
    double p = 2.0;
    if (kind == CKPT_NN_POOL_LP) {
        const ox_attr *pa = ox_attr_get(n, "p");
        if (pa)
            p = pa->type == OX_ATTR_FLOAT ? (double)pa->f : (double)pa->i;
        if (!(p > 0.0))
            return ox_fail(err, CKPT_E_ARG, n, "p must be positive");
    }
    int64_t od[OX_MAX_RANK] = {x->dims[0], x->dims[1]};
    for (int i = 0; i < nd; i++)
        od[2 + i] = geo.out[i];
    ox_val *ind = kind == CKPT_NN_POOL_MAX && n->n_out > 1 ? out[1] : NULL;
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, od, err));
    if (ind)
        CKPT_TRY(ox_out(r, n, ind, OX_INT64, x->rank, od, err));
    if (!out[0] || out[0]->numel == 0)
        return 0;
    const int64_t bc = x->dims[0] * x->dims[1];
    bool d1 = true, sym = true;
    for (int i = 0; i < nd; i++) {
        d1 = d1 && geo.d[i] == 1;
        sym = sym && geo.pb[i] == geo.pe[i];
    }
    bool use2d = nd <= 2 && !ind && kind != CKPT_NN_POOL_LP;
    if (kind == CKPT_NN_POOL_AVG)
        use2d = use2d && d1 && (!count_pad || sym);
    fview fv;
    const ox_val *ins[1] = {x};
    CKPT_TRY(fview_make(r, n, &fv, ins, 1, out[0], 0, err));
    if (use2d) {
        const int a = nd - 1;
        ckpt_nn_pool2d_dims d = {.bc = bc,
                                 .h = nd == 2 ? geo.in[0] : 1,
                                 .w = geo.in[a],
                                 .kh = nd == 2 ? geo.k[0] : 1,
                                 .kw = geo.k[a],
                                 .sh = nd == 2 ? geo.s[0] : 1,
                                 .sw = geo.s[a],
                                 .ph = nd == 2 ? geo.pb[0] : 0,
                                 .pw = geo.pb[a],
                                 .dh = nd == 2 ? geo.d[0] : 1,
                                 .dw = geo.d[a],
                                 .exclude_pad = !count_pad,
                                 .oh = nd == 2 ? geo.out[0] : 1,
                                 .ow = geo.out[a]};
        if (kind == CKPT_NN_POOL_MAX)
            ckpt_nn_maxpool2d_forward_d(fv.out, fv.x[0], &d);
        else
            ckpt_nn_avgpool2d_forward_d(fv.out, fv.x[0], &d);
    } else {
        ckpt_nn_poolnd_dims d = {.nd = nd, .kind = kind, .bc = bc, .count_pad = count_pad, .p = p};
        for (int i = 0; i < nd; i++) {
            d.in[i] = geo.in[i], d.k[i] = geo.k[i], d.s[i] = geo.s[i], d.pb[i] = geo.pb[i];
            d.pe[i] = geo.pe[i], d.d[i] = geo.d[i], d.out[i] = geo.out[i];
        }
        int64_t *idx = ind ? ind->data : NULL;
        ckpt_nn_poolnd_forward(fv.out, idx, fv.x[0], &d);
        if (idx) {
            /* plane offsets -> indices into the whole of X, in the storage
             * order asked for (1: column-major spatial dims) */
            const bool colmajor = ox_attr_int(n, "storage_order", 0) == 1;
            const int64_t isz = prod64(geo.in, nd), osz = prod64(geo.out, nd);
            for (int64_t ci = 0; ci < bc; ci++)
                for (int64_t o = 0; o < osz; o++) {
                    int64_t v = idx[ci * osz + o];
                    if (v < 0)
                        v = 0;
                    if (colmajor) {
                        int64_t rem = v, cm = 0, mul = 1;
                        int64_t coord[CKPT_NN_MAX_ND];
                        for (int i = nd - 1; i >= 0; i--) {
                            coord[i] = rem % geo.in[i];
                            rem /= geo.in[i];
                        }
                        for (int i = 0; i < nd; i++) {
                            cm += coord[i] * mul;
                            mul *= geo.in[i];
                        }
                        v = cm;
                    }
                    idx[ci * osz + o] = ci * isz + v;
                }
        }
    }
    fview_done(&fv, out[0]);
    return 0;
}

int ox_nn_maxpool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    return pool(r, n, in, out, CKPT_NN_POOL_MAX, err);
}

int ox_nn_avgpool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    return pool(r, n, in, out, CKPT_NN_POOL_AVG, err);
}

int ox_nn_lppool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err)
{
    return pool(r, n, in, out, CKPT_NN_POOL_LP, err);
}

/* Global pools: (N,C,spatial...) -> (N,C,1,...,1), one reduction per plane */
static int global_pool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       int kind, ckpt_error *err)
{
    const ox_val *x = in[0];
    CKPT_TRY(check_x(n, x, 2, err));
    if (!(kind == CKPT_NN_POOL_MAX ? pool_type(x->dtype) : float_type(x->dtype)))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element type %s", ox_dtype_name(x->dtype));
    double p = 2.0;
    if (kind == CKPT_NN_POOL_LP) {
        const ox_attr *pa = ox_attr_get(n, "p");
        if (pa)
            p = pa->type == OX_ATTR_FLOAT ? (double)pa->f : (double)pa->i;
    }
    int64_t od[OX_MAX_RANK];
    for (int i = 0; i < x->rank; i++)
        od[i] = i < 2 ? x->dims[i] : 1;
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, od, err));
    if (!out[0] || out[0]->numel == 0)
        return 0;
    const int64_t bc = x->dims[0] * x->dims[1], sz = prod64(x->dims + 2, x->rank - 2);
    fview fv;
    const ox_val *ins[1] = {x};
    CKPT_TRY(fview_make(r, n, &fv, ins, 1, out[0], 0, err));
    for (int64_t c = 0; c < bc; c++) {
        const float *pl = fv.x[0] + c * sz;
        if (kind == CKPT_NN_POOL_MAX) {
            float m = -INFINITY;
            for (int64_t i = 0; i < sz; i++) {
                float v = pl[i], t = v > m ? v : m;
                m = v != v ? v : t;
            }
            fv.out[c] = m;
        } else if (kind == CKPT_NN_POOL_AVG) {
            double s = 0.0;
            for (int64_t i = 0; i < sz; i++)
                s += (double)pl[i];
            fv.out[c] = sz ? (float)(s / (double)sz) : NAN;
        } else {
            double s = 0.0;
            for (int64_t i = 0; i < sz; i++) {
                double a = fabs((double)pl[i]);
                s += p == 2.0 ? a * a : pow(a, p);
            }
            fv.out[c] = (float)(p == 2.0 ? sqrt(s) : pow(s, 1.0 / p));
        }
    }
    fview_done(&fv, out[0]);
    return 0;
}

int ox_nn_global_avgpool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err)
{
    return global_pool(r, n, in, out, CKPT_NN_POOL_AVG, err);
}

int ox_nn_global_maxpool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err)
{
    return global_pool(r, n, in, out, CKPT_NN_POOL_MAX, err);
}

int ox_nn_global_lppool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                        ckpt_error *err)
{
    return global_pool(r, n, in, out, CKPT_NN_POOL_LP, err);
}

/* ------------------------------------------------------------- MaxUnpool */

int ox_nn_maxunpool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                    ckpt_error *err)
{
    const ox_val *x = in[0], *ix = n->n_in > 1 ? in[1] : NULL,
                 *shape = n->n_in > 2 ? in[2] : NULL;
    CKPT_TRY(check_x(n, x, 3, err));
    if (!ix || ix->dtype != OX_INT64 || ix->numel != x->numel)
        return ox_fail(err, CKPT_E_SHAPE, n, "indices I must be int64 of X's shape");
    const int nd = x->rank - 2;
    ox_nn_geom geo;
    int ap;
    CKPT_TRY(ox_nn_geom_attrs(n, &geo, nd, x->dims + 2, NULL, &ap, err));
    /* the indices address the unpooled shape the attributes give (dd); an
     * output_shape places those positions into a larger grid */
    int64_t od[OX_MAX_RANK] = {x->dims[0], x->dims[1]},
            dd[OX_MAX_RANK] = {x->dims[0], x->dims[1]};
    for (int i = 0; i < nd; i++)
        dd[2 + i] = (geo.in[i] - 1) * geo.s[i] + geo.k[i] - geo.pb[i] - geo.pe[i];
    if (shape) {
        int64_t cnt = ox_read_ints(n, shape, od, OX_MAX_RANK, err);
        if (cnt < 0)
            return (int)cnt;
        if (cnt != x->rank)
            return ox_fail(err, CKPT_E_SHAPE, n, "output_shape has %lld values, X rank %d",
                           (long long)cnt, x->rank);
    } else {
        for (int i = 0; i < nd; i++)
            od[2 + i] = (geo.in[i] - 1) * geo.s[i] + geo.k[i] - geo.pb[i] - geo.pe[i];
    }
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, od, err));
    const size_t es = ox_dtype_size(x->dtype);
    if (x->dtype == OX_STRING || !es)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element type %s", ox_dtype_name(x->dtype));
    memset(out[0]->data, 0, (size_t)out[0]->numel * es);
    const int64_t *iv = ix->data;
    const char *src = x->data;
    char *dst = out[0]->data;
    const int64_t dn = ox_numel(x->rank, dd);
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t v = iv[i], o = 0, mul = 1;
        bool ok = v >= 0 && v < dn;
        for (int a = x->rank - 1; a >= 0 && ok; a--) {
            int64_t c = v % dd[a];
            v /= dd[a];
            ok = c < od[a];
            o += c * mul;
            mul *= od[a];
        }
        if (!ok)
            return ox_fail(err, CKPT_E_SHAPE, n, "index %lld at %lld is outside the output",
                           (long long)iv[i], (long long)i);
        memcpy(dst + (size_t)o * es, src + (size_t)i * es, es);
    }
    return 0;
}
