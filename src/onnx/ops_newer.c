/* src/onnx/ops_newer.c - ONNX kernels: ops of opset 23 and later that the
 * older families do not cover (Attention, RMSNormalization, RotaryEmbedding).
 *
 * Every op computes in float32 (the stash type ONNX Runtime uses) and writes
 * the input's element type back (float16 / bfloat16 / double round from
 * float).  The plain float32 attention (no mask, not causal, no softcap, no
 * QK output) runs through the op library's ckpt_nn_attention_forward. */
#include <math.h>
#include <string.h>

#include "ckpt/kernels.h"
#include "onnx/onnx_internal.h"

static bool is_floating(int dt)
{
    return dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_BFLOAT16;
}

/* Kernels carve their float32 work areas from one ox_scratch block (the
 * session has one scratch buffer): `cur` walks it. */
static size_t conv_need(const ox_val *v)
{
    return v && v->dtype != OX_FLOAT ? (size_t)v->numel : 0;
}

static float *take(float **cur, size_t nf)
{
    float *p = *cur;
    *cur += nf;
    return p;
}

/* The float32 view of a floating tensor: its own data when it is float32,
 * else a converted copy carved from `cur`. */
static float *as_f32(const ox_val *v, float **cur)
{
    if (v->dtype == OX_FLOAT)
        return (float *)v->data;
    float *f = take(cur, (size_t)v->numel);
    for (int64_t i = 0; i < v->numel; i++)
        f[i] = (float)ox_get_f64(v, i);
    return f;
}

/* A float32 buffer to compute output `o` into: its data when float32, else
 * carved from `cur`, which store_f32 writes back. */
static float *out_f32(const ox_val *o, float **cur)
{
    if (o->dtype == OX_FLOAT)
        return (float *)o->data;
    return take(cur, (size_t)o->numel);
}

static void store_f32(ox_val *o, const float *f)
{
    if (o->dtype == OX_FLOAT)
        return;
    for (int64_t i = 0; i < o->numel; i++)
        ox_set_f64(o, i, (double)f[i]);
}

/* ------------------------------------------------------------ RMSNormalization */

/* Y = X / sqrt(mean(X^2 over axes [axis, rank)) + epsilon) * scale, scale
 * broadcast (numpy rules, right-aligned) to the normalised shape. */
static int rmsnorm_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err)
{
    const ox_val *x = in[0], *sc = n->n_in > 1 ? in[1] : NULL;
    if (!x || !sc || !out[0])
        return ox_fail(err, CKPT_E_FORMAT, n, "needs inputs X and scale");
    if (!is_floating(x->dtype) || !is_floating(sc->dtype))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "X and scale must be floating (got %s, %s)",
                       ox_dtype_name(x->dtype), ox_dtype_name(sc->dtype));
    if (x->rank < 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "X must have rank >= 1");
    int axis;
    if (ox_axis(n, ox_attr_int(n, "axis", -1), x->rank, false, &axis, err) < 0)
        return -1;
    double eps = (double)ox_attr_float(n, "epsilon", 1e-5f);
    int nr = x->rank - axis;
    int64_t rows = 1, cols = 1;
    for (int k = 0; k < axis; k++)
        rows *= x->dims[k];
    for (int k = axis; k < x->rank; k++)
        cols *= x->dims[k];
    /* the scale's leading dims past the normalised rank must be 1 */
    for (int k = 0; k < sc->rank - nr; k++)
        if (sc->dims[k] != 1)
            return ox_fail(err, CKPT_E_SHAPE, n,
                           "scale does not broadcast to the normalised shape");
    int64_t sstr[OX_MAX_RANK] = {0}; /* scale strides per normalised axis, 0 when broadcast */
    {
        int64_t st = 1;
        for (int k = sc->rank - 1, j = nr - 1; k >= 0 && j >= 0; k--, j--) {
            int64_t d = sc->dims[k], xd = x->dims[axis + j];
            if (d != 1 && d != xd)
                return ox_fail(err, CKPT_E_SHAPE, n,
                               "scale dim %d (%lld) does not broadcast to X dim %d (%lld)", k,
                               (long long)d, axis + j, (long long)xd);
            sstr[j] = d == 1 ? 0 : st;
            st *= d;
        }
    }
    if (ox_out(r, n, out[0], x->dtype, x->rank, x->dims, err) < 0)
        return -1;
    size_t nf = conv_need(x) + conv_need(sc) + conv_need(out[0]) + (size_t)cols + 1;
    float *cur = ox_scratch(r, nf * sizeof(float), err);
    if (!cur)
        return -1;
    const float *xf = as_f32(x, &cur), *sf = as_f32(sc, &cur);
    float *yf = out_f32(out[0], &cur), *sfull = take(&cur, (size_t)cols);
    /* the scale expanded to the normalised shape */
    for (int64_t c = 0; c < cols; c++) {
        int64_t rem = c, si = 0;
        for (int j = nr - 1; j >= 0; j--) {
            int64_t d = x->dims[axis + j];
            si += (rem % d) * sstr[j];
            rem /= d;
        }
        sfull[c] = sf[si];
    }
    for (int64_t i = 0; i < rows; i++) {
        const float *xr = xf + i * cols;
        float *yr = yf + i * cols;
        double ss = 0.0;
        for (int64_t c = 0; c < cols; c++)
            ss += (double)xr[c] * (double)xr[c];
        float inv = (float)(1.0 / sqrt(ss / (double)(cols > 0 ? cols : 1) + eps));
        for (int64_t c = 0; c < cols; c++)
            yr[c] = xr[c] * inv * sfull[c];
    }
    store_f32(out[0], yf);
    return 0;
}

/* ------------------------------------------------------------ RotaryEmbedding */

/* X (B, N, S, H) or (B, S, N*H) with num_heads; cos/sin caches (P, R/2)
 * indexed by position_ids (B, S), or (B, S, R/2) when there are none.  The
 * first R = rotary_embedding_dim (0: H) features of each head rotate: halves
 * [0,R/2) and [R/2,R), or interleaved pairs; the rest pass through. */
static int rotary_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    const ox_val *x = in[0], *cs = n->n_in > 1 ? in[1] : NULL, *sn = n->n_in > 2 ? in[2] : NULL;
    const ox_val *pos = n->n_in > 3 ? in[3] : NULL;
    if (!x || !cs || !sn || !out[0])
        return ox_fail(err, CKPT_E_FORMAT, n, "needs input, cos_cache and sin_cache");
    if (!is_floating(x->dtype) || !is_floating(cs->dtype) || !is_floating(sn->dtype))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "input and caches must be floating");
    bool interleaved = ox_attr_int(n, "interleaved", 0) != 0;
    int64_t nh = ox_attr_int(n, "num_heads", 0), rd = ox_attr_int(n, "rotary_embedding_dim", 0);
    int64_t B, N, S, H;
    /* element (b, h, s, d) is at b*sb + h*shd + s*ss + d */
    int64_t sb, shd, ss;
    if (x->rank == 4) {
        B = x->dims[0], N = x->dims[1], S = x->dims[2], H = x->dims[3];
        ss = H, shd = S * H, sb = N * S * H;
    } else if (x->rank == 3) {
        if (nh <= 0 || x->dims[2] % nh != 0)
            return ox_fail(err, CKPT_E_SHAPE, n,
                           "a 3-D input needs num_heads dividing its hidden size (%lld, %lld)",
                           (long long)nh, (long long)x->dims[2]);
        B = x->dims[0], S = x->dims[1], N = nh, H = x->dims[2] / nh;
        shd = H, ss = N * H, sb = S * N * H;
    } else {
        return ox_fail(err, CKPT_E_SHAPE, n, "input must be 3-D or 4-D (rank %d)", x->rank);
    }
    if (rd == 0)
        rd = H;
    if (rd < 0 || rd > H || rd % 2 != 0)
        return ox_fail(err, CKPT_E_SHAPE, n,
                       "rotary_embedding_dim %lld does not fit head size %lld", (long long)rd,
                       (long long)H);
    int64_t half = rd / 2;
    int64_t npos = 0;
    int64_t *pids = NULL;
    if (pos) {
        if (pos->rank != 2 || pos->dims[0] != B || pos->dims[1] != S)
            return ox_fail(err, CKPT_E_SHAPE, n, "position_ids must be (batch, sequence)");
        if (cs->rank != 2 || sn->rank != 2 || cs->dims[1] != half || sn->dims[1] != half ||
            sn->dims[0] != cs->dims[0])
            return ox_fail(err, CKPT_E_SHAPE, n,
                           "cos/sin caches must be (max_position, %lld) with position_ids",
                           (long long)half);
        npos = cs->dims[0];
    } else {
        if (cs->rank != 3 || sn->rank != 3 || cs->dims[0] != B || cs->dims[1] != S ||
            cs->dims[2] != half || memcmp(cs->dims, sn->dims, 3 * sizeof(int64_t)) != 0)
            return ox_fail(err, CKPT_E_SHAPE, n,
                           "without position_ids the caches must be (batch, sequence, %lld)",
                           (long long)half);
    }
    if (ox_out(r, n, out[0], x->dtype, x->rank, x->dims, err) < 0)
        return -1;
    /* one scratch block: the position ids, then the float32 areas */
    size_t nid = pos ? (size_t)(B * S) : 0;
    size_t nf = conv_need(x) + conv_need(cs) + conv_need(sn) + conv_need(out[0]) + 1;
    int64_t *blk = ox_scratch(r, nid * sizeof(int64_t) + nf * sizeof(float), err);
    if (!blk)
        return -1;
    float *cur = (float *)(blk + nid);
    if (pos) {
        pids = blk;
        if (ox_read_ints(n, pos, pids, B * S, err) < 0)
            return -1;
        for (int64_t i = 0; i < B * S; i++)
            if (pids[i] < 0 || pids[i] >= npos)
                return ox_fail(err, CKPT_E_SHAPE, n,
                               "position id %lld outside the cache (%lld rows)",
                               (long long)pids[i], (long long)npos);
    }
    const float *xf = as_f32(x, &cur), *cf = as_f32(cs, &cur), *sf = as_f32(sn, &cur);
    float *yf = out_f32(out[0], &cur);
    for (int64_t b = 0; b < B; b++)
        for (int64_t s = 0; s < S; s++) {
            int64_t row = pids ? pids[b * S + s] : b * S + s;
            const float *c = cf + row * half, *si = sf + row * half;
            for (int64_t h = 0; h < N; h++) {
                const float *xv = xf + b * sb + h * shd + s * ss;
                float *yv = yf + b * sb + h * shd + s * ss;
                for (int64_t i = 0; i < half; i++) {
                    int64_t i1 = interleaved ? 2 * i : i, i2 = interleaved ? 2 * i + 1 : i + half;
                    float x1 = xv[i1], x2 = xv[i2];
                    yv[i1] = x1 * c[i] - x2 * si[i];
                    yv[i2] = x2 * c[i] + x1 * si[i];
                }
                for (int64_t d = rd; d < H; d++)
                    yv[d] = xv[d];
            }
        }
    store_f32(out[0], yf);
    return 0;
}

/* ------------------------------------------------------------ Attention */

static float round_lowp(int dtype, float x)
{
    return dtype == OX_FLOAT16 ? ox_half_to_float(ox_float_to_half(x))
                               : ox_bf16_to_float(ox_float_to_bf16(x));
}

typedef struct att_geom {
    int64_t B, qN, kvN, T, S, P, L; /* batch, heads, q length, kv length, past, total L=P+S */
    int64_t hd, vhd;                /* q/k head size, v head size */
    /* Q/K/V element (b, h, t, d) at b*sb + h*sh + t*st + d */
    int64_t q_sb, q_sh, q_st, k_sb, k_sh, k_st, v_sb, v_sh, v_st;
} att_geom;

/* Geometry of a 3-D (B, L, N*HD) or 4-D (B, N, L, HD) input. */
static int att_layout(const ox_node *n, const ox_val *v, const char *what, int64_t nh_attr,
                      int64_t *B, int64_t *N, int64_t *L, int64_t *hd, int64_t *sb, int64_t *sh,
                      int64_t *st, ckpt_error *err)
{
    if (v->rank == 4) {
        *B = v->dims[0], *N = v->dims[1], *L = v->dims[2], *hd = v->dims[3];
        *st = *hd, *sh = *L * *hd, *sb = *N * *L * *hd;
        if (nh_attr > 0 && nh_attr != *N)
            return ox_fail(err, CKPT_E_SHAPE, n, "%s has %lld heads, the attribute says %lld",
                           what, (long long)*N, (long long)nh_attr);
        return 0;
    }
    if (v->rank == 3) {
        if (nh_attr <= 0 || v->dims[2] % nh_attr != 0)
            return ox_fail(err, CKPT_E_SHAPE, n,
                           "3-D %s needs q_num_heads/kv_num_heads dividing its hidden size",
                           what);
        *B = v->dims[0], *L = v->dims[1], *N = nh_attr, *hd = v->dims[2] / nh_attr;
        *sh = *hd, *st = v->dims[2], *sb = *L * v->dims[2];
        return 0;
    }
    return ox_fail(err, CKPT_E_SHAPE, n, "%s must be 3-D or 4-D (rank %d)", what, v->rank);
}

static int attention_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err)
{
    const ox_val *q = in[0], *k = n->n_in > 1 ? in[1] : NULL, *v = n->n_in > 2 ? in[2] : NULL;
    const ox_val *mask = n->n_in > 3 ? in[3] : NULL;
    const ox_val *pk = n->n_in > 4 ? in[4] : NULL, *pv = n->n_in > 5 ? in[5] : NULL;
    const ox_val *npad = n->n_in > 6 ? in[6] : NULL; /* opset 24: valid kv rows per batch */
    if (!q || !k || !v || !out[0])
        return ox_fail(err, CKPT_E_FORMAT, n, "needs Q, K and V");
    if (!is_floating(q->dtype) || k->dtype != q->dtype || v->dtype != q->dtype)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "Q, K, V must share one floating type");
    if ((pk == NULL) != (pv == NULL))
        return ox_fail(err, CKPT_E_FORMAT, n, "past_key and past_value go together");
    if (q->rank != k->rank || q->rank != v->rank)
        return ox_fail(err, CKPT_E_SHAPE, n, "Q, K, V must have one rank");
    int64_t qn_attr = ox_attr_int(n, "q_num_heads", 0),
            kvn_attr = ox_attr_int(n, "kv_num_heads", 0);
    att_geom g;
    int64_t kB, kN, vB, vN, vL, khd;
    if (att_layout(n, q, "Q", qn_attr, &g.B, &g.qN, &g.T, &g.hd, &g.q_sb, &g.q_sh, &g.q_st, err) <
            0 ||
        att_layout(n, k, "K", kvn_attr, &kB, &kN, &g.S, &khd, &g.k_sb, &g.k_sh, &g.k_st, err) <
            0 ||
        att_layout(n, v, "V", kvn_attr, &vB, &vN, &vL, &g.vhd, &g.v_sb, &g.v_sh, &g.v_st, err) <
            0)
        return -1;
    g.kvN = kN;
    if (kB != g.B || vB != g.B || vN != kN || vL != g.S || khd != g.hd)
        return ox_fail(err, CKPT_E_SHAPE, n, "Q, K, V shapes disagree");
    if (kN <= 0 || g.qN % kN != 0)
        return ox_fail(err, CKPT_E_SHAPE, n,
                       "q heads (%lld) must be a multiple of kv heads (%lld)", (long long)g.qN,
                       (long long)kN);
    g.P = 0;
    if (pk) {
        if (pk->dtype != q->dtype || pv->dtype != q->dtype || pk->rank != 4 || pv->rank != 4 ||
            pk->dims[0] != g.B || pk->dims[1] != kN || pk->dims[3] != g.hd ||
            pv->dims[0] != g.B || pv->dims[1] != kN || pv->dims[3] != g.vhd ||
            pv->dims[2] != pk->dims[2])
            return ox_fail(err, CKPT_E_SHAPE, n,
                           "past_key/past_value must be (batch, kv_heads, past, head size)");
        g.P = pk->dims[2];
    }
    g.L = g.P + g.S;
    int64_t *nonpad = NULL;
    if (npad) {
        if (pk)
            return ox_fail(err, CKPT_E_FORMAT, n, "nonpad_kv_seqlen cannot go with past_key");
        if (npad->rank != 1 || npad->dims[0] != g.B)
            return ox_fail(err, CKPT_E_SHAPE, n, "nonpad_kv_seqlen must be (batch)");
    }
    int64_t is_causal = ox_attr_int(n, "is_causal", 0);
    float softcap = ox_attr_float(n, "softcap", 0.0f);
    const ox_attr *sa = ox_attr_get(n, "scale");
    float scale = sa ? sa->f : (float)(1.0 / sqrt((double)(g.hd > 0 ? g.hd : 1)));
    int64_t qk_mode = ox_attr_int(n, "qk_matmul_output_mode", 0);
    if (qk_mode < 0 || qk_mode > 3)
        return ox_fail(err, CKPT_E_FORMAT, n, "qk_matmul_output_mode %lld", (long long)qk_mode);
    /* the mask broadcasts to (B, qN, T, L); a shorter last dim pads with -inf */
    int64_t mstr[4] = {0, 0, 0, 0}, mlast = 0;
    if (mask) {
        if (mask->dtype != OX_BOOL && mask->dtype != q->dtype)
            return ox_fail(err, CKPT_E_UNSUPPORTED, n, "attn_mask must be bool or Q's type");
        if (mask->rank < 2 || mask->rank > 4)
            return ox_fail(err, CKPT_E_SHAPE, n, "attn_mask must have rank 2..4");
        int64_t full[4] = {g.B, g.qN, g.T, g.L};
        int64_t st = 1;
        for (int a = mask->rank - 1, j = 3; a >= 0; a--, j--) {
            int64_t d = mask->dims[a];
            bool ok = j == 3 ? d <= g.L : (d == 1 || d == full[j]);
            if (!ok)
                return ox_fail(err, CKPT_E_SHAPE, n,
                               "attn_mask dim %d (%lld) does not fit (%lld)", a, (long long)d,
                               (long long)full[j]);
            mstr[j] = d == 1 && j != 3 ? 0 : st;
            st *= d;
        }
        mlast = mask->dims[mask->rank - 1];
        if (mlast == 1 && g.L != 1)
            mstr[3] = 0, mlast = g.L; /* a broadcast last dim */
    }
    /* outputs */
    int64_t ydims[4];
    int yr = q->rank;
    if (yr == 4)
        ydims[0] = g.B, ydims[1] = g.qN, ydims[2] = g.T, ydims[3] = g.vhd;
    else
        ydims[0] = g.B, ydims[1] = g.T, ydims[2] = g.qN * g.vhd;
    if (ox_out(r, n, out[0], q->dtype, yr, ydims, err) < 0)
        return -1;
    ox_val *pko = n->n_out > 1 ? out[1] : NULL, *pvo = n->n_out > 2 ? out[2] : NULL;
    ox_val *qko = n->n_out > 3 ? out[3] : NULL;
    int64_t pkd[4] = {g.B, kN, g.L, g.hd}, pvd[4] = {g.B, kN, g.L, g.vhd};
    int64_t qkd[4] = {g.B, g.qN, g.T, g.L};
    if ((pko && ox_out(r, n, pko, q->dtype, 4, pkd, err) < 0) ||
        (pvo && ox_out(r, n, pvo, q->dtype, 4, pvd, err) < 0) ||
        (qko && ox_out(r, n, qko, q->dtype, 4, qkd, err) < 0))
        return -1;
    bool kv_copy = pk || pko || pvo;
    size_t kan = (size_t)(g.B * kN * g.L * g.hd), van = (size_t)(g.B * kN * g.L * g.vhd);
    size_t nf = conv_need(q) + conv_need(k) + conv_need(v) + conv_need(out[0]) + conv_need(pk) +
                conv_need(pv) + conv_need(qko) + (size_t)(g.T * g.L) + 1;
    if (kv_copy)
        nf += (pko ? conv_need(pko) : kan) + (pvo ? conv_need(pvo) : van);
    size_t nnp = npad ? (size_t)g.B : 0;
    int64_t *blk = ox_scratch(r, nnp * sizeof(int64_t) + nf * sizeof(float), err);
    if (!blk)
        return -1;
    float *cur = (float *)(blk + nnp);
    if (npad) {
        nonpad = blk;
        if (ox_read_ints(n, npad, nonpad, g.B, err) < 0)
            return -1;
    }
    const float *qf = as_f32(q, &cur), *kf = as_f32(k, &cur), *vf = as_f32(v, &cur);
    float *yf = out_f32(out[0], &cur);
    float *scores = take(&cur, (size_t)(g.T * g.L));
    float *qkf = qko ? out_f32(qko, &cur) : NULL;
    /* full keys/values (B, kvN, L, d): the past then the new rows */
    const float *kall = kf, *vall = vf;
    int64_t ka_sb = g.k_sb, ka_sh = g.k_sh, ka_st = g.k_st;
    int64_t va_sb = g.v_sb, va_sh = g.v_sh, va_st = g.v_st;
    if (kv_copy) {
        const float *pkf = pk ? as_f32(pk, &cur) : NULL;
        const float *pvf = pk ? as_f32(pv, &cur) : NULL;
        float *ka = pko ? out_f32(pko, &cur) : take(&cur, kan);
        float *va = pvo ? out_f32(pvo, &cur) : take(&cur, van);
        for (int64_t b = 0; b < g.B; b++)
            for (int64_t h = 0; h < kN; h++) {
                for (int64_t l = 0; l < g.L; l++) {
                    float *kd = ka + ((b * kN + h) * g.L + l) * g.hd;
                    float *vd = va + ((b * kN + h) * g.L + l) * g.vhd;
                    if (l < g.P) {
                        memcpy(kd, pkf + ((b * kN + h) * g.P + l) * g.hd,
                               (size_t)g.hd * sizeof(float));
                        memcpy(vd, pvf + ((b * kN + h) * g.P + l) * g.vhd,
                               (size_t)g.vhd * sizeof(float));
                    } else {
                        memcpy(kd, kf + b * g.k_sb + h * g.k_sh + (l - g.P) * g.k_st,
                               (size_t)g.hd * sizeof(float));
                        memcpy(vd, vf + b * g.v_sb + h * g.v_sh + (l - g.P) * g.v_st,
                               (size_t)g.vhd * sizeof(float));
                    }
                }
            }
        kall = ka, vall = va;
        ka_st = g.hd, ka_sh = g.L * g.hd, ka_sb = kN * g.L * g.hd;
        va_st = g.vhd, va_sh = g.L * g.vhd, va_sb = kN * g.L * g.vhd;
        if (pko)
            store_f32(pko, ka);
        if (pvo)
            store_f32(pvo, va);
    }
    int64_t y_sb, y_sh, y_st;
    if (yr == 4)
        y_st = g.vhd, y_sh = g.T * g.vhd, y_sb = g.qN * g.T * g.vhd;
    else
        y_sh = g.vhd, y_st = g.qN * g.vhd, y_sb = g.T * g.qN * g.vhd;
    int64_t grp = g.qN / kN;
    /* float16 / bfloat16: ORT rounds the scaled scores and the softmax
     * weights to the input type */
    bool lowp = q->dtype == OX_FLOAT16 || q->dtype == OX_BFLOAT16;
    bool plain = !mask && !nonpad && !is_causal && softcap == 0.0f && !qko && !lowp &&
                 g.vhd == g.hd && fabsf(scale * sqrtf((float)g.hd) - 1.0f) < 1e-7f && g.L > 0;
    for (int64_t b = 0; b < g.B; b++)
        for (int64_t h = 0; h < g.qN; h++) {
            int64_t kh = h / grp;
            const float *qb = qf + b * g.q_sb + h * g.q_sh;
            const float *kb = kall + b * ka_sb + kh * ka_sh;
            const float *vb = vall + b * va_sb + kh * va_sh;
            float *yb = yf + b * y_sb + h * y_sh;
            if (plain) {
                ckpt_nn_attention_forward(yb, qb, kb, vb, scores, g.T, g.L, g.hd, g.q_st, ka_st,
                                          va_st, y_st, 0.0, NULL);
                continue;
            }
            for (int64_t t = 0; t < g.T; t++) {
                float *sr = scores + t * g.L;
                const float *qr = qb + t * g.q_st;
                for (int64_t l = 0; l < g.L; l++) {
                    const float *kr = kb + l * ka_st;
                    float acc = 0.0f;
                    for (int64_t d = 0; d < g.hd; d++)
                        acc += qr[d] * kr[d];
                    sr[l] = acc * scale;
                }
                /* ONNX Runtime's order: scale, softcap, then the mask and the
                 * causal cut; the QK output modes follow that order */
                if (lowp)
                    for (int64_t l = 0; l < g.L; l++)
                        sr[l] = round_lowp(q->dtype, sr[l]);
                if (qko && qk_mode == 0)
                    memcpy(qkf + ((b * g.qN + h) * g.T + t) * g.L, sr,
                           (size_t)g.L * sizeof(float));
                if (softcap > 0.0f)
                    for (int64_t l = 0; l < g.L; l++)
                        sr[l] = softcap * tanhf(sr[l] / softcap);
                if (qko && qk_mode == 1)
                    memcpy(qkf + ((b * g.qN + h) * g.T + t) * g.L, sr,
                           (size_t)g.L * sizeof(float));
                if (is_causal)
                    for (int64_t l = 0; l < g.L; l++)
                        if (l > t + g.P)
                            sr[l] = -INFINITY;
                if (nonpad)
                    for (int64_t l = nonpad[b] < 0 ? 0 : nonpad[b]; l < g.L; l++)
                        sr[l] = -INFINITY;
                if (mask) {
                    int64_t mo = b * mstr[0] + h * mstr[1] + t * mstr[2];
                    for (int64_t l = 0; l < g.L; l++) {
                        if (l >= mlast) {
                            sr[l] = -INFINITY;
                            continue;
                        }
                        int64_t mi = mo + l * mstr[3];
                        if (mask->dtype == OX_BOOL)
                            sr[l] = ((const uint8_t *)mask->data)[mi] ? sr[l] : -INFINITY;
                        else
                            sr[l] += (float)ox_get_f64(mask, mi);
                    }
                }
                if (qko && qk_mode == 2)
                    memcpy(qkf + ((b * g.qN + h) * g.T + t) * g.L, sr,
                           (size_t)g.L * sizeof(float));
                float mx = -INFINITY;
                for (int64_t l = 0; l < g.L; l++)
                    mx = sr[l] > mx ? sr[l] : mx;
                double sum = 0.0;
                for (int64_t l = 0; l < g.L; l++) {
                    float e = mx == -INFINITY ? 0.0f : expf(sr[l] - mx);
                    sr[l] = e;
                    sum += (double)e;
                }
                float inv = sum > 0.0 ? (float)(1.0 / sum) : 0.0f;
                for (int64_t l = 0; l < g.L; l++)
                    sr[l] = lowp ? round_lowp(q->dtype, sr[l] * inv) : sr[l] * inv;
                if (qko && qk_mode == 3)
                    memcpy(qkf + ((b * g.qN + h) * g.T + t) * g.L, sr,
                           (size_t)g.L * sizeof(float));
                float *yrow = yb + t * y_st;
                for (int64_t d = 0; d < g.vhd; d++)
                    yrow[d] = 0.0f;
                for (int64_t l = 0; l < g.L; l++) {
                    float w = sr[l];
                    if (w == 0.0f)
                        continue;
                    const float *vr = vb + l * va_st;
                    for (int64_t d = 0; d < g.vhd; d++)
                        yrow[d] += w * vr[d];
                }
            }
        }
    store_f32(out[0], yf);
    if (qko)
        store_f32(qko, qkf);
    return 0;
}

const ox_op ox_ops_newer[] = {
    {"Attention", "", 23, 0, attention_run, NULL},
    {"RMSNormalization", "", 23, 0, rmsnorm_run, NULL},
    {"RotaryEmbedding", "", 23, 0, rotary_run, NULL},
    {0},
};
