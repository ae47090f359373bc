/* src/onnx/nn_quant.c - ONNX's integer and quantized products:
 * MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv.
 *
 * The operands are 8-bit; their zero points are subtracted into int32
 * copies in scratch and the products accumulate exactly in int32 (a plain
 * loop, and a direct convolution over the Conv geometry of nn_util.c).
 * Requantisation is ORT's: acc * (scale_a * scale_b / scale_y) in float32,
 * rounded half to even, plus the output zero point, saturated. */
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "onnx/nn_util.h"

static bool q8(const ox_val *v)
{
    return v && v->kind == OX_KIND_TENSOR && (v->dtype == OX_UINT8 || v->dtype == OX_INT8);
}

static int32_t q_get(const ox_val *v, int64_t i)
{
    return v->dtype == OX_UINT8 ? (int32_t)((const uint8_t *)v->data)[i]
                                : (int32_t)((const int8_t *)v->data)[i];
}

/* zero point / scale index for element group g: a scalar (or a 1-element
 * tensor) is shared, otherwise one per group */
static int check_param(const ox_node *n, const ox_val *p, const char *what, int64_t groups,
                       ckpt_error *err)
{
    if (!p)
        return 0;
    if (p->kind != OX_KIND_TENSOR || p->dtype == OX_STRING || p->numel < 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "%s must be a numeric tensor", what);
    if (p->numel != 1 && p->numel != groups)
        return ox_fail(err, CKPT_E_SHAPE, n, "%s has %lld values, expected 1 or %lld", what,
                       (long long)p->numel, (long long)groups);
    return 0;
}

static int64_t pidx(const ox_val *p, int64_t g)
{
    return p->numel == 1 ? 0 : g;
}

static int32_t zp(const ox_val *p, int64_t g)
{
    return p ? q_get(p, pidx(p, g)) : 0;
}

static float scale_of(const ox_val *p, int64_t g)
{
    return (float)ox_get_f64(p, pidx(p, g));
}

static void requant(ox_val *y, int64_t i, int32_t acc, float mult, int32_t yzp)
{
    float v = nearbyintf((float)acc * mult) + (float)yzp;
    if (isnan(v)) /* a zero, inf or NaN scale: converting NaN to an integer is undefined */
        v = (float)yzp;
    if (y->dtype == OX_UINT8)
        ((uint8_t *)y->data)[i] = (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
    else
        ((int8_t *)y->data)[i] = (int8_t)(v < -128.0f ? -128.0f : v > 127.0f ? 127.0f : v);
}

/* ---------------------------------------------------------------- MatMul */

/* numpy-matmul shapes of A (...,M,K) and B (...,K,N), batch broadcast */
typedef struct qmm {
    int64_t m, k, n, nb;
    int br;
    int64_t bd[OX_MAX_RANK], sa[OX_MAX_RANK], sb[OX_MAX_RANK];
    int rank;
    int64_t od[OX_MAX_RANK];
} qmm;

static int qmm_shape(const ox_node *n, const ox_val *a, const ox_val *b, qmm *s, ckpt_error *err)
{
    if (a->rank < 1 || b->rank < 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "product of a scalar");
    const int ra = a->rank, rb = b->rank;
    s->m = ra == 1 ? 1 : a->dims[ra - 2];
    s->k = a->dims[ra - 1];
    int64_t kb = rb == 1 ? b->dims[0] : b->dims[rb - 2];
    s->n = rb == 1 ? 1 : b->dims[rb - 1];
    if (kb != s->k)
        return ox_fail(err, CKPT_E_SHAPE, n, "inner dims %lld and %lld differ", (long long)s->k,
                       (long long)kb);
    const int ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0;
    CKPT_TRY(ox_broadcast_shape(n, ba, a->dims, bb, b->dims, &s->br, s->bd, err));
    s->nb = ox_numel(s->br, s->bd);
    int64_t ma = 1, mb = 1;
    for (int i = s->br - 1; i >= 0; i--) {
        int ia = i - (s->br - ba), ib = i - (s->br - bb);
        int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;
        s->sa[i] = da == 1 ? 0 : ma;
        s->sb[i] = db == 1 ? 0 : mb;
        ma *= da;
        mb *= db;
    }
    s->rank = 0;
    for (int i = 0; i < s->br; i++)
        s->od[s->rank++] = s->bd[i];
    if (ra > 1)
        s->od[s->rank++] = s->m;
    if (rb > 1)
        s->od[s->rank++] = s->n;
    return 0;
}

/* acc (nb*M*N) = (A - za) (B - zb): za per row of M, zb per column of N */
static void qmm_run(int32_t *acc, const qmm *s, const ox_val *a, const ox_val *za,
                    const ox_val *b, const ox_val *zb)
{
    const int64_t m = s->m, k = s->k, nn = s->n;
    for (int64_t e = 0; e < s->nb; e++) {
        int64_t oa = 0, ob = 0, rem = e;
        for (int i = s->br - 1; i >= 0; i--) {
            int64_t c = rem % s->bd[i];
            rem /= s->bd[i];
            oa += c * s->sa[i];
            ob += c * s->sb[i];
        }
        for (int64_t i = 0; i < m; i++) {
            const int32_t zai = zp(za, i);
            for (int64_t j = 0; j < nn; j++) {
                const int32_t zbj = zp(zb, j);
                int32_t sum = 0;
                for (int64_t q = 0; q < k; q++)
                    sum += (q_get(a, oa * m * k + i * k + q) - zai) *
                           (q_get(b, ob * k * nn + q * nn + j) - zbj);
                acc[(e * m + i) * nn + j] = sum;
            }
        }
    }
}

int ox_nn_matmul_integer(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err)
{
    const ox_val *a = in[0], *b = n->n_in > 1 ? in[1] : NULL;
    const ox_val *za = n->n_in > 2 ? in[2] : NULL, *zb = n->n_in > 3 ? in[3] : NULL;
    if (!q8(a) || !q8(b) || (za && !q8(za)) || (zb && !q8(zb)))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "inputs must be int8 / uint8");
    qmm s;
    CKPT_TRY(qmm_shape(n, a, b, &s, err));
    CKPT_TRY(check_param(n, za, "a_zero_point", s.m, err));
    CKPT_TRY(check_param(n, zb, "b_zero_point", s.n, err));
    CKPT_TRY(ox_out(r, n, out[0], OX_INT32, s.rank, s.od, err));
    qmm_run(out[0]->data, &s, a, za, b, zb);
    return 0;
}

int ox_nn_qlinear_matmul(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err)
{
    if (n->n_in < 8)
        return ox_fail(err, CKPT_E_ARG, n, "needs 8 inputs");
    const ox_val *a = in[0], *as = in[1], *za = in[2], *b = in[3], *bs = in[4], *zb = in[5];
    const ox_val *ys = in[6], *zy = in[7];
    if (!q8(a) || !q8(b) || !q8(za) || !q8(zb) || !q8(zy) || !as || !bs || !ys)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "operands must be int8 / uint8");
    qmm s;
    CKPT_TRY(qmm_shape(n, a, b, &s, err));
    CKPT_TRY(check_param(n, za, "a_zero_point", s.m, err));
    CKPT_TRY(check_param(n, as, "a_scale", s.m, err));
    CKPT_TRY(check_param(n, zb, "b_zero_point", s.n, err));
    CKPT_TRY(check_param(n, bs, "b_scale", s.n, err));
    CKPT_TRY(check_param(n, ys, "y_scale", 1, err));
    CKPT_TRY(check_param(n, zy, "y_zero_point", 1, err));
    CKPT_TRY(ox_out(r, n, out[0], zy->dtype, s.rank, s.od, err));
    if (!out[0] || out[0]->numel == 0)
        return 0;
    int32_t *acc = ox_scratch(r, (size_t)out[0]->numel * sizeof(int32_t), err);
    if (!acc)
        return CKPT_E_NOMEM;
    qmm_run(acc, &s, a, za, b, zb);
    const float y_scale = scale_of(ys, 0);
    const int32_t yzp = zp(zy, 0);
    for (int64_t e = 0; e < out[0]->numel; e++) {
        int64_t j = e % s.n, i = (e / s.n) % s.m;
        float mult = scale_of(as, i) * scale_of(bs, j) / y_scale;
        requant(out[0], e, acc[e], mult, yzp);
    }
    return 0;
}

/* ------------------------------------------------------------------ Conv */

/* acc (B,OC,out...) = direct convolution of x - xz with w - wz (per output
 * channel zero point), int32 */
static int conv_int(ox_run *r, const ox_node *n, const ox_val *x, const ox_val *xz,
                    const ox_val *w, const ox_val *wz, int32_t **acc_out, ox_nn_geom *geo,
                    int64_t *od, ckpt_error *err)
{
    if (x->rank < 3 || x->rank - 2 > CKPT_NN_MAX_ND || w->rank != x->rank)
        return ox_fail(err, CKPT_E_SHAPE, n, "X rank %d, W rank %d", x->rank, w->rank);
    const int nd = x->rank - 2;
    const int64_t g = ox_attr_int(n, "group", 1), c = x->dims[1], oc = w->dims[0];
    if (g < 1 || g > INT32_MAX || c % g || oc % g || w->dims[1] * g != c)
        return ox_fail(err, CKPT_E_SHAPE, n,
                       "X has %lld channels, W (%lld, %lld, ...) group %lld", (long long)c,
                       (long long)oc, (long long)w->dims[1], (long long)g);
    CKPT_TRY(check_param(n, xz, "x_zero_point", 1, err));
    CKPT_TRY(check_param(n, wz, "w_zero_point", oc, err));
    CKPT_TRY(ox_nn_geom_fill(n, geo, nd, x->dims + 2, w->dims + 2, false, err));
    for (int i = 0; i < nd; i++)
        if (geo->k[i] != w->dims[2 + i])
            return ox_fail(err, CKPT_E_SHAPE, n, "kernel_shape disagrees with W");
    od[0] = x->dims[0];
    od[1] = oc;
    for (int i = 0; i < nd; i++)
        od[2 + i] = geo->out[i];
    int64_t on = ox_numel(x->rank, od);
    size_t tot = (size_t)(x->numel + w->numel + on);
    int32_t *p = ox_scratch(r, (tot ? tot : 1) * sizeof(int32_t), err);
    if (!p)
        return CKPT_E_NOMEM;
    int32_t *xi = p, *wi = p + x->numel, *acc = wi + w->numel;
    const int32_t xzp = zp(xz, 0);
    for (int64_t i = 0; i < x->numel; i++)
        xi[i] = q_get(x, i) - xzp;
    const int64_t wper = w->numel / (oc ? oc : 1);
    for (int64_t i = 0; i < w->numel; i++)
        wi[i] = q_get(w, i) - zp(wz, i / wper);
    const int64_t cg = c / g, ocg = oc / g;
    int64_t isz = 1, osz = 1, ksz = 1;
    for (int i = 0; i < nd; i++) {
        isz *= geo->in[i];
        osz *= geo->out[i];
        ksz *= geo->k[i];
    }
    for (int64_t bi = 0; bi < x->dims[0]; bi++)
        for (int64_t o = 0; o < oc; o++) {
            const int64_t gi = o / ocg;
            int64_t oc_[CKPT_NN_MAX_ND] = {0};
            for (int64_t q = 0; q < osz; q++) {
                int32_t sum = 0;
                for (int64_t ci = 0; ci < cg; ci++) {
                    const int32_t *xp = xi + (bi * c + gi * cg + ci) * isz;
                    const int32_t *wp = wi + (o * cg + ci) * ksz;
                    int64_t kc[CKPT_NN_MAX_ND] = {0};
                    for (int64_t t = 0; t < ksz; t++) {
                        int64_t off = 0;
                        bool inside = true;
                        for (int i = 0; i < nd && inside; i++) {
                            int64_t ii = oc_[i] * geo->s[i] - geo->pb[i] + kc[i] * geo->d[i];
                            inside = ii >= 0 && ii < geo->in[i];
                            off = off * geo->in[i] + ii;
                        }
                        if (inside)
                            sum += xp[off] * wp[t];
                        for (int i = nd - 1; i >= 0; i--) {
                            if (++kc[i] < geo->k[i])
                                break;
                            kc[i] = 0;
                        }
                    }
                }
                acc[(bi * oc + o) * osz + q] = sum;
                for (int i = nd - 1; i >= 0; i--) {
                    if (++oc_[i] < geo->out[i])
                        break;
                    oc_[i] = 0;
                }
            }
        }
    *acc_out = acc;
    return 0;
}

int ox_nn_conv_integer(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err)
{
    const ox_val *x = in[0], *w = n->n_in > 1 ? in[1] : NULL;
    const ox_val *xz = n->n_in > 2 ? in[2] : NULL, *wz = n->n_in > 3 ? in[3] : NULL;
    if (!q8(x) || !q8(w) || (xz && !q8(xz)) || (wz && !q8(wz)))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "inputs must be int8 / uint8");
    ox_nn_geom geo;
    int64_t od[OX_MAX_RANK];
    int32_t *acc;
    CKPT_TRY(conv_int(r, n, x, xz, w, wz, &acc, &geo, od, err));
    CKPT_TRY(ox_out(r, n, out[0], OX_INT32, x->rank, od, err));
    memcpy(out[0]->data, acc, (size_t)out[0]->numel * sizeof(int32_t));
    return 0;
}

int ox_nn_qlinear_conv(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err)
{
    if (n->n_in < 8)
        return ox_fail(err, CKPT_E_ARG, n, "needs 8 or 9 inputs");
    const ox_val *x = in[0], *xs = in[1], *xz = in[2], *w = in[3], *ws = in[4], *wz = in[5];
    const ox_val *ys = in[6], *yz = in[7], *bias = n->n_in > 8 ? in[8] : NULL;
    if (!q8(x) || !q8(w) || !q8(xz) || !q8(wz) || !q8(yz) || !xs || !ws || !ys)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "operands must be int8 / uint8");
    const int64_t oc = w->rank > 0 ? w->dims[0] : 0;
    CKPT_TRY(check_param(n, xs, "x_scale", 1, err));
    CKPT_TRY(check_param(n, ws, "w_scale", oc, err));
    CKPT_TRY(check_param(n, ys, "y_scale", 1, err));
    if (bias && (bias->dtype != OX_INT32 || bias->numel != oc))
        return ox_fail(err, CKPT_E_SHAPE, n, "B must be int32 (%lld)", (long long)oc);
    ox_nn_geom geo;
    int64_t od[OX_MAX_RANK];
    int32_t *acc;
    CKPT_TRY(conv_int(r, n, x, xz, w, wz, &acc, &geo, od, err));
    CKPT_TRY(ox_out(r, n, out[0], yz->dtype, x->rank, od, err));
    if (!out[0] || out[0]->numel == 0)
        return 0;
    const int64_t osz = out[0]->numel / (od[0] * oc);
    const float xsc = scale_of(xs, 0), ysc = scale_of(ys, 0);
    const int32_t yzp = zp(yz, 0);
    for (int64_t e = 0; e < out[0]->numel; e++) {
        const int64_t o = (e / osz) % oc;
        int32_t a = acc[e] + (bias ? ((const int32_t *)bias->data)[o] : 0);
        requant(out[0], e, a, xsc * scale_of(ws, o) / ysc, yzp);
    }
    return 0;
}
