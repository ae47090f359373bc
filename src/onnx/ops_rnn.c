/* src/onnx/ops_rnn.c - ONNX kernels: rnn family (RNN, GRU, LSTM).
 *
 * ONNX keeps gates in its own order (LSTM i,o,f,c; GRU z,r,h) with the
 * biases of W and R packed as B = [Wb, Rb].  Two paths:
 *  - float32 LSTM and GRU with the torch-equivalent attributes (default
 *    activations, no clip, no peepholes, no input_forget, GRU with
 *    linear_before_reset = 1, every sequence full length) permute the
 *    weights into torch's gate order (LSTM i,f,g,o; GRU r,z,n) and run the
 *    op library's ckpt_rnn_dir_forward, one call per direction;
 *  - everything else (plain RNN, GRU with the ONNX default
 *    linear_before_reset = 0, peepholes, clip, other activations, ragged
 *    sequence_lens, float16 / double) runs the general recurrence below:
 *    the input projection of all steps is one sgemm, then one sgemm per
 *    step for the recurrent projection and the element-wise cell math.
 * Both work in time-major float32 internally; layout = 1 (opset 14) and other
 * element types are converted on the way in and out. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ckpt/kernels.h"
#include "core/err.h"
#include "onnx/nn2_util.h"
#include "onnx/onnx_internal.h"

enum { K_RNN = 0, K_GRU = 1, K_LSTM = 2 };

enum {
    A_SIGMOID,
    A_TANH,
    A_RELU,
    A_AFFINE,
    A_LEAKYRELU,
    A_THRESHOLDEDRELU,
    A_SCALEDTANH,
    A_HARDSIGMOID,
    A_ELU,
    A_SOFTSIGN,
    A_SOFTPLUS
};

typedef struct rnn_act {
    int fn;
    float a, b;
} rnn_act;

static const struct {
    const char *name;
    int fn;
    int uses_a, uses_b;
    float da, db;
} act_names[] = {
    {"sigmoid", A_SIGMOID, 0, 0, 0.0f, 0.0f},
    {"tanh", A_TANH, 0, 0, 0.0f, 0.0f},
    {"relu", A_RELU, 0, 0, 0.0f, 0.0f},
    {"affine", A_AFFINE, 1, 1, 1.0f, 0.0f},
    {"leakyrelu", A_LEAKYRELU, 1, 0, 0.01f, 0.0f},
    {"thresholdedrelu", A_THRESHOLDEDRELU, 1, 0, 1.0f, 0.0f},
    {"scaledtanh", A_SCALEDTANH, 1, 1, 1.0f, 1.0f},
    {"hardsigmoid", A_HARDSIGMOID, 1, 1, 0.2f, 0.5f},
    {"elu", A_ELU, 1, 0, 1.0f, 0.0f},
    {"softsign", A_SOFTSIGN, 0, 0, 0.0f, 0.0f},
    {"softplus", A_SOFTPLUS, 0, 0, 0.0f, 0.0f},
};

static float act_apply(const rnn_act *f, float x)
{
    switch (f->fn) {
    case A_SIGMOID: return 1.0f / (1.0f + expf(-x));
    case A_TANH: return tanhf(x);
    case A_RELU: return x > 0.0f ? x : 0.0f;
    case A_AFFINE: return f->a * x + f->b;
    case A_LEAKYRELU: return x >= 0.0f ? x : f->a * x;
    case A_THRESHOLDEDRELU: return x > f->a ? x : 0.0f;
    case A_SCALEDTANH: return f->a * tanhf(f->b * x);
    case A_HARDSIGMOID: {
        float v = f->a * x + f->b;
        return v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    }
    case A_ELU: return x >= 0.0f ? x : f->a * (expf(x) - 1.0f);
    case A_SOFTSIGN: return x / (1.0f + fabsf(x));
    case A_SOFTPLUS: return log1pf(expf(x));
    default: return x;
    }
}

static int name_eq_ci(const char *a, size_t alen, const char *b)
{
    size_t i = 0;
    for (; i < alen && b[i]; i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != b[i])
            return 0;
    }
    return i == alen && !b[i];
}

/* Parse `activations` / `activation_alpha` / `activation_beta` into acts[D*nf]
 * (direction-major).  *is_default: every activation is the op's default. */
static int parse_acts(const ox_node *n, int kind, int D, rnn_act *acts, bool *is_default,
                      ckpt_error *err)
{
    const int nf = kind == K_LSTM ? 3 : (kind == K_GRU ? 2 : 1);
    static const int dflt[3][3] = {{A_TANH, 0, 0},
                                   {A_SIGMOID, A_TANH, 0},
                                   {A_SIGMOID, A_TANH, A_TANH}};
    const ox_attr *a = ox_attr_get(n, "activations");
    size_t na = 0, nb = 0;
    const float *alpha = ox_attr_floats(n, "activation_alpha", &na);
    const float *beta = ox_attr_floats(n, "activation_beta", &nb);
    size_t ia = 0, ib = 0;
    *is_default = true;
    if (a && a->type == OX_ATTR_STRINGS && a->n > 0) {
        if (a->n != (size_t)nf && a->n != (size_t)(nf * D))
            return ox_fail(err, CKPT_E_ARG, n, "%zu activations, expected %d", a->n, nf * D);
        for (int k = 0; k < nf * D; k++) {
            size_t src = (size_t)k % a->n;
            const char *s = a->strings[src];
            size_t len = a->string_lens ? a->string_lens[src] : strlen(s);
            size_t m = 0;
            for (; m < sizeof act_names / sizeof act_names[0]; m++)
                if (name_eq_ci(s, len, act_names[m].name))
                    break;
            if (m == sizeof act_names / sizeof act_names[0])
                return ox_fail(err, CKPT_E_UNSUPPORTED, n, "activation '%s' is not supported", s);
            acts[k].fn = act_names[m].fn;
            acts[k].a = act_names[m].da;
            acts[k].b = act_names[m].db;
            if (act_names[m].uses_a && ia < na)
                acts[k].a = alpha[ia++];
            if (act_names[m].uses_b && ib < nb)
                acts[k].b = beta[ib++];
            if (acts[k].fn != dflt[kind][k % nf])
                *is_default = false;
        }
    } else {
        for (int k = 0; k < nf * D; k++) {
            acts[k].fn = dflt[kind][k % nf];
            acts[k].a = acts[k].b = 0.0f;
        }
    }
    return 0;
}

static inline float clipf(float x, float c)
{
    return x > c ? c : (x < -c ? -c : x);
}

/* Write float32 `v` at element index i of tensor o (o's dtype). */
static inline void put(ox_val *o, int64_t i, float v)
{
    if (o->dtype == OX_FLOAT)
        ((float *)o->data)[i] = v;
    else
        ox_set_f64(o, i, (double)v);
}

static int rnn_common(ox_run *r, const ox_node *n, ox_val *const *in, int n_in,
                      ox_val *const *out, int n_out, int kind, ckpt_error *err)
{
    const int G = kind == K_LSTM ? 4 : (kind == K_GRU ? 3 : 1);
    const ox_val *X = in[0], *W = n_in > 1 ? in[1] : NULL, *R = n_in > 2 ? in[2] : NULL;
    const ox_val *Bv = n_in > 3 ? in[3] : NULL, *SL = n_in > 4 ? in[4] : NULL;
    const ox_val *H0 = n_in > 5 ? in[5] : NULL, *C0 = kind == K_LSTM && n_in > 6 ? in[6] : NULL;
    const ox_val *P = kind == K_LSTM && n_in > 7 ? in[7] : NULL;
    if (!X || !W || !R)
        return ox_fail(err, CKPT_E_ARG, n, "needs inputs X, W and R");
    const int dt = X->dtype;
    if (!nn2_is_float(dt) || W->dtype != dt || R->dtype != dt)
        return ox_fail(err, CKPT_E_SHAPE, n, "X, W, R must share one float type (got %s, %s, %s)",
                       ox_dtype_name(X->dtype), ox_dtype_name(W->dtype), ox_dtype_name(R->dtype));
    const ox_val *opt[4] = {Bv, H0, C0, P};
    for (int k = 0; k < 4; k++)
        if (opt[k] && (opt[k]->kind != OX_KIND_TENSOR || opt[k]->dtype != dt))
            return ox_fail(err, CKPT_E_SHAPE, n, "optional inputs must be %s tensors",
                           ox_dtype_name(dt));
    const int layout = n->opset >= 14 ? (int)ox_attr_int(n, "layout", 0) : 0;
    if (layout != 0 && layout != 1)
        return ox_fail(err, CKPT_E_ARG, n, "layout %d", layout);
    if (X->rank != 3 || W->rank != 3 || R->rank != 3)
        return ox_fail(err, CKPT_E_SHAPE, n, "X, W, R must be 3-D");
    const int64_t T = layout ? X->dims[1] : X->dims[0];
    const int64_t Bn = layout ? X->dims[0] : X->dims[1];
    const int64_t In = X->dims[2];
    const char *dir = ox_attr_str(n, "direction", "forward");
    int D, rev_only = 0;
    if (!strcmp(dir, "forward"))
        D = 1;
    else if (!strcmp(dir, "reverse"))
        D = 1, rev_only = 1;
    else if (!strcmp(dir, "bidirectional"))
        D = 2;
    else
        return ox_fail(err, CKPT_E_ARG, n, "direction '%s'", dir);
    int64_t H = ox_attr_int(n, "hidden_size", R->dims[2]);
    const int64_t GH = G * H;
    if (H <= 0 || R->dims[0] != D || R->dims[1] != GH || R->dims[2] != H)
        return ox_fail(err, CKPT_E_SHAPE, n, "R must be (%d, %lld, %lld)", D, (long long)GH,
                       (long long)H);
    if (W->dims[0] != D || W->dims[1] != GH || W->dims[2] != In)
        return ox_fail(err, CKPT_E_SHAPE, n, "W must be (%d, %lld, %lld)", D, (long long)GH,
                       (long long)In);
    if (Bv && (Bv->rank != 2 || Bv->dims[0] != D || Bv->dims[1] != 2 * GH))
        return ox_fail(err, CKPT_E_SHAPE, n, "B must be (%d, %lld)", D, (long long)(2 * GH));
    const int64_t sdims[3] = {layout ? Bn : D, layout ? D : Bn, H};
    const ox_val *st3[2] = {H0, C0};
    for (int k = 0; k < 2; k++)
        if (st3[k] && (st3[k]->rank != 3 || st3[k]->dims[0] != sdims[0] ||
                       st3[k]->dims[1] != sdims[1] || st3[k]->dims[2] != H))
            return ox_fail(err, CKPT_E_SHAPE, n, "initial state must be (%lld, %lld, %lld)",
                           (long long)sdims[0], (long long)sdims[1], (long long)H);
    if (P && (P->rank != 2 || P->dims[0] != D || P->dims[1] != 3 * H))
        return ox_fail(err, CKPT_E_SHAPE, n, "P must be (%d, %lld)", D, (long long)(3 * H));
    if (SL && (SL->kind != OX_KIND_TENSOR || SL->numel != Bn))
        return ox_fail(err, CKPT_E_SHAPE, n, "sequence_lens must hold %lld values",
                       (long long)Bn);
    rnn_act acts[6];
    bool acts_default;
    CKPT_TRY(parse_acts(n, kind, D, acts, &acts_default, err));
    const ox_attr *clip_attr = ox_attr_get(n, "clip");
    const bool has_clip = clip_attr != NULL;
    const float clip = has_clip ? clip_attr->f : 0.0f;
    if (has_clip && !(clip > 0.0f))
        return ox_fail(err, CKPT_E_ARG, n, "clip must be positive");
    const bool input_forget = kind == K_LSTM && ox_attr_int(n, "input_forget", 0) != 0;
    const bool lbr = kind == K_GRU && ox_attr_int(n, "linear_before_reset", 0) != 0;

    /* outputs */
    const int64_t ydims[4] = {layout ? Bn : T, layout ? T : D, layout ? D : Bn, H};
    ox_val *Y = n_out > 0 ? out[0] : NULL, *YH = n_out > 1 ? out[1] : NULL;
    ox_val *YC = kind == K_LSTM && n_out > 2 ? out[2] : NULL;
    CKPT_TRY(ox_out(r, n, Y, dt, 4, ydims, err));
    CKPT_TRY(ox_out(r, n, YH, dt, 3, sdims, err));
    CKPT_TRY(ox_out(r, n, YC, dt, 3, sdims, err));

    /* scratch (dims come from tensors, but an empty X may carry huge T, B) */
    {
        const int64_t d1[3] = {T, Bn, GH}, d2[3] = {T, Bn, In > D * H ? In : D * H};
        if (ox_numel(3, d1) < 0 || ox_numel(3, d2) < 0)
            return ox_fail(err, CKPT_E_LIMIT, n, "sequence buffers overflow");
    }
    const int64_t TB = T * Bn, BH = Bn * H;
    nn2_plan pl = {0, 0};
    size_t o_lens = nn2_plan_add(&pl, Bn, sizeof(int64_t));
    size_t o_x = nn2_plan_add(&pl, TB * In, 4);
    size_t o_w = nn2_plan_add(&pl, D * GH * In, 4);
    size_t o_r = nn2_plan_add(&pl, D * GH * H, 4);
    size_t o_b = nn2_plan_add(&pl, D * 2 * GH, 4);
    size_t o_p = nn2_plan_add(&pl, D * 3 * H, 4);
    size_t o_h0 = nn2_plan_add(&pl, D * BH, 4);
    size_t o_c0 = nn2_plan_add(&pl, D * BH, 4);
    size_t o_y = nn2_plan_add(&pl, TB * D * H, 4);
    size_t o_yh = nn2_plan_add(&pl, D * BH, 4);
    size_t o_yc = nn2_plan_add(&pl, D * BH, 4);
    size_t o_xw = nn2_plan_add(&pl, TB * GH, 4); /* general: x W^T; fast: gates */
    size_t o_hh = nn2_plan_add(&pl, Bn * GH, 4);
    size_t o_h = nn2_plan_add(&pl, BH > GH ? BH : GH, 4); /* general: h; fast: b_ih */
    size_t o_c = nn2_plan_add(&pl, BH > GH ? BH : GH, 4);
    size_t o_rh = nn2_plan_add(&pl, (BH > GH ? BH : GH), 4);
    size_t o_z = nn2_plan_add(&pl, TB * H > BH ? TB * H : BH, 4); /* fast: aux */
    size_t o_yd = nn2_plan_add(&pl, D > 1 ? TB * H : 0, 4);
    size_t o_wp = nn2_plan_add(&pl, GH * In, 4);
    size_t o_rp = nn2_plan_add(&pl, GH * H, 4);
    char *base = nn2_plan_alloc(r, n, &pl, err);
    if (!base)
        return CKPT_E_NOMEM;
    int64_t *lens = (int64_t *)(void *)(base + o_lens);
    float *x32 = (float *)(void *)(base + o_x), *w32 = (float *)(void *)(base + o_w);
    float *r32 = (float *)(void *)(base + o_r), *b32 = (float *)(void *)(base + o_b);
    float *p32 = (float *)(void *)(base + o_p), *h0 = (float *)(void *)(base + o_h0);
    float *c0 = (float *)(void *)(base + o_c0), *y = (float *)(void *)(base + o_y);
    float *yh = (float *)(void *)(base + o_yh), *yc = (float *)(void *)(base + o_yc);
    float *xw = (float *)(void *)(base + o_xw), *hh = (float *)(void *)(base + o_hh);
    float *hs = (float *)(void *)(base + o_h), *cs = (float *)(void *)(base + o_c);
    float *rh = (float *)(void *)(base + o_rh), *zb = (float *)(void *)(base + o_z);
    float *yd = (float *)(void *)(base + o_yd), *wp = (float *)(void *)(base + o_wp);
    float *rp = (float *)(void *)(base + o_rp);

    bool full = true;
    for (int64_t b = 0; b < Bn; b++) {
        lens[b] = T;
        if (SL) {
            lens[b] = nn2_f2i(ox_get_f64(SL, b));
            if (SL->dtype != OX_INT32 && SL->dtype != OX_INT64)
                return ox_fail(err, CKPT_E_SHAPE, n, "sequence_lens must be int32");
            if (lens[b] < 0 || lens[b] > T)
                return ox_fail(err, CKPT_E_ARG, n, "sequence_lens[%lld] = %lld outside [0, %lld]",
                               (long long)b, (long long)lens[b], (long long)T);
            if (lens[b] != T)
                full = false;
        }
    }
    /* inputs as time-major float32 */
    const float *xp;
    if (dt == OX_FLOAT && layout == 0) {
        xp = X->data;
    } else {
        for (int64_t t = 0; t < T; t++)
            for (int64_t b = 0; b < Bn; b++) {
                int64_t src = (layout ? b * T + t : t * Bn + b) * In;
                float *d = x32 + (t * Bn + b) * In;
                if (dt == OX_FLOAT)
                    memcpy(d, (const float *)X->data + src, (size_t)In * 4);
                else
                    for (int64_t i = 0; i < In; i++)
                        d[i] = (float)ox_get_f64(X, src + i);
            }
        xp = x32;
    }
    nn2_load_f32(w32, W);
    nn2_load_f32(r32, R);
    if (Bv)
        nn2_load_f32(b32, Bv);
    else
        memset(b32, 0, (size_t)(D * 2 * GH) * 4);
    if (P)
        nn2_load_f32(p32, P);
    const ox_val *sv[2] = {H0, C0};
    float *sd[2] = {h0, c0};
    for (int k = 0; k < 2; k++) {
        if (!sv[k]) {
            memset(sd[k], 0, (size_t)(D * BH) * 4);
            continue;
        }
        for (int d = 0; d < D; d++)
            for (int64_t b = 0; b < Bn; b++)
                for (int64_t j = 0; j < H; j++) {
                    int64_t src = layout ? (b * D + d) * H + j : (d * Bn + b) * H + j;
                    sd[k][(d * Bn + b) * H + j] = (float)ox_get_f64(sv[k], src);
                }
    }

    const bool fast = dt == OX_FLOAT && kind != K_RNN && acts_default && !has_clip && !P &&
                      !input_forget && (kind != K_GRU || lbr) && full && T > 0;
    memset(y, 0, (size_t)(TB * D * H) * 4);
    for (int d = 0; d < D; d++) {
        const bool reverse = rev_only || d == 1;
        const float *Wd = w32 + d * GH * In, *Rd = r32 + d * GH * H;
        const float *Wb = b32 + d * 2 * GH, *Rb = Wb + GH;
        const rnn_act *ac = acts + d * (kind == K_LSTM ? 3 : (kind == K_GRU ? 2 : 1));
        if (fast) {
            /* torch gate order: block k of torch = block map[k] of ONNX */
            static const int lstm_map[4] = {0, 2, 3, 1}, gru_map[3] = {1, 0, 2};
            const int *map = kind == K_LSTM ? lstm_map : gru_map;
            float *bih = hs, *bhh = cs; /* GH each (sized max(BH, GH)) */
            for (int k = 0; k < G; k++) {
                memcpy(wp + k * H * In, Wd + map[k] * H * In, (size_t)(H * In) * 4);
                memcpy(rp + k * H * H, Rd + map[k] * H * H, (size_t)(H * H) * 4);
                memcpy(bih + k * H, Wb + map[k] * H, (size_t)H * 4);
                memcpy(bhh + k * H, Rb + map[k] * H, (size_t)H * 4);
            }
            ckpt_rnn_dir dd = {.kind = kind == K_LSTM ? CKPT_RNN_LSTM : CKPT_RNN_GRU,
                               .T = T,
                               .B = Bn,
                               .In = In,
                               .H = H,
                               .out_width = H,
                               .col = 0,
                               .batch_first = false,
                               .reverse = reverse,
                               .w_ih = wp,
                               .w_hh = rp,
                               .b_ih = bih,
                               .b_hh = bhh,
                               .h0 = h0 + d * BH,
                               .c0 = kind == K_LSTM ? c0 + d * BH : NULL};
            ckpt_rnn_saved sv2 = {.gates = xw, .aux = zb};
            float *od = D == 1 ? y : yd;
            ckpt_rnn_dir_forward(&dd, xp, od, &sv2, hh, yh + d * BH,
                                 kind == K_LSTM ? yc + d * BH : NULL);
            if (D > 1)
                for (int64_t t = 0; t < T; t++)
                    memcpy(y + (t * D + d) * BH, yd + t * BH, (size_t)BH * 4);
            continue;
        }
        /* general recurrence */
        if (TB > 0 && In > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)TB, (int)GH, (int)In, 1.0f,
                        xp, (int)In, Wd, (int)In, 0.0f, xw, (int)GH);
        else
            memset(xw, 0, (size_t)(TB * GH) * 4);
        /* biases folded into the input projection (GRU with
         * linear_before_reset keeps Rb_h inside the reset product) */
        for (int64_t row = 0; row < TB; row++) {
            float *p = xw + row * GH;
            for (int64_t j = 0; j < GH; j++)
                p[j] += Wb[j] + ((kind == K_GRU && lbr && j >= 2 * H) ? 0.0f : Rb[j]);
        }
        memcpy(hs, h0 + d * BH, (size_t)BH * 4);
        if (kind == K_LSTM)
            memcpy(cs, c0 + d * BH, (size_t)BH * 4);
        const float *pi = p32 + d * 3 * H, *po = pi + H, *pf = pi + 2 * H;
        const int64_t ghh = kind == K_GRU && !lbr ? 2 * H : GH; /* recurrent gates in hh */
        for (int64_t s = 0; s < T; s++) {
            if (Bn == 1) /* gemv reads R in place (sgemm packs it every step) */
                cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)ghh, (int)H, 1.0f, Rd, (int)H, hs,
                            1, 0.0f, hh, 1);
            else if (Bn > 0)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Bn, (int)ghh, (int)H,
                            1.0f, hs, (int)H, Rd, (int)H, 0.0f, hh, (int)ghh);
            for (int64_t b = 0; b < Bn; b++) {
                if (s >= lens[b])
                    continue;
                const int64_t t = reverse ? lens[b] - 1 - s : s;
                const float *xr = xw + (t * Bn + b) * GH, *hr = hh + b * ghh;
                float *h = hs + b * H;
                float *yo = y + ((t * D + d) * Bn + b) * H;
                if (kind == K_RNN) {
                    for (int64_t j = 0; j < H; j++) {
                        float v = xr[j] + hr[j];
                        if (has_clip)
                            v = clipf(v, clip);
                        h[j] = yo[j] = act_apply(&ac[0], v);
                    }
                } else if (kind == K_LSTM) {
                    float *c = cs + b * H;
                    for (int64_t j = 0; j < H; j++) {
                        float gi = xr[j] + hr[j], go = xr[H + j] + hr[H + j];
                        float gf = xr[2 * H + j] + hr[2 * H + j];
                        float gc = xr[3 * H + j] + hr[3 * H + j];
                        if (P) {
                            gi += pi[j] * c[j];
                            gf += pf[j] * c[j];
                        }
                        if (has_clip) {
                            gi = clipf(gi, clip);
                            gf = clipf(gf, clip);
                            gc = clipf(gc, clip);
                        }
                        float ig = act_apply(&ac[0], gi);
                        float fg = input_forget ? 1.0f - ig : act_apply(&ac[0], gf);
                        float cg = act_apply(&ac[1], gc);
                        float cn = fg * c[j] + ig * cg;
                        if (P)
                            go += po[j] * cn;
                        if (has_clip)
                            go = clipf(go, clip);
                        float og = act_apply(&ac[0], go);
                        c[j] = cn;
                        h[j] = yo[j] = og * act_apply(&ac[2], cn);
                    }
                } else {
                    float *z = zb + b * H;
                    for (int64_t j = 0; j < H; j++) {
                        float gz = xr[j] + hr[j], gr = xr[H + j] + hr[H + j];
                        if (has_clip) {
                            gz = clipf(gz, clip);
                            gr = clipf(gr, clip);
                        }
                        z[j] = act_apply(&ac[0], gz);
                        float rg = act_apply(&ac[0], gr);
                        if (lbr) {
                            float gh = xr[2 * H + j] + rg * (hr[2 * H + j] + Rb[2 * H + j]);
                            if (has_clip)
                                gh = clipf(gh, clip);
                            float hc = act_apply(&ac[1], gh);
                            h[j] = yo[j] = (1.0f - z[j]) * hc + z[j] * h[j];
                        } else {
                            rh[b * H + j] = rg * h[j];
                        }
                    }
                }
            }
            if (kind == K_GRU && !lbr) {
                /* (r . h) R_h^T, then the candidate and the update */
                if (Bn == 1)
                    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)H, (int)H, 1.0f, Rd + 2 * H * H,
                                (int)H, rh, 1, 0.0f, hh, 1);
                else if (Bn > 0)
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)Bn, (int)H, (int)H,
                                1.0f, rh, (int)H, Rd + 2 * H * H, (int)H, 0.0f, hh, (int)H);
                for (int64_t b = 0; b < Bn; b++) {
                    if (s >= lens[b])
                        continue;
                    const int64_t t = reverse ? lens[b] - 1 - s : s;
                    const float *xr = xw + (t * Bn + b) * GH, *z = zb + b * H;
                    float *h = hs + b * H;
                    float *yo = y + ((t * D + d) * Bn + b) * H;
                    for (int64_t j = 0; j < H; j++) {
                        float gh = xr[2 * H + j] + hh[b * H + j];
                        if (has_clip)
                            gh = clipf(gh, clip);
                        float hc = act_apply(&ac[1], gh);
                        h[j] = yo[j] = (1.0f - z[j]) * hc + z[j] * h[j];
                    }
                }
            }
        }
        memcpy(yh + d * BH, hs, (size_t)BH * 4);
        if (kind == K_LSTM)
            memcpy(yc + d * BH, cs, (size_t)BH * 4);
        /* an empty sequence has zero final states (as ONNX Runtime) */
        for (int64_t b = 0; b < Bn; b++)
            if (lens[b] == 0) {
                memset(yh + d * BH + b * H, 0, (size_t)H * 4);
                if (kind == K_LSTM)
                    memset(yc + d * BH + b * H, 0, (size_t)H * 4);
            }
    }

    /* outputs in the requested layout and element type */
    if (Y) {
        if (layout == 0 && dt == OX_FLOAT)
            memcpy(Y->data, y, (size_t)(TB * D * H) * 4);
        else
            for (int64_t t = 0; t < T; t++)
                for (int d = 0; d < D; d++)
                    for (int64_t b = 0; b < Bn; b++)
                        for (int64_t j = 0; j < H; j++) {
                            int64_t dst = layout ? ((b * T + t) * D + d) * H + j
                                                 : ((t * D + d) * Bn + b) * H + j;
                            put(Y, dst, y[((t * D + d) * Bn + b) * H + j]);
                        }
    }
    ox_val *so[2] = {YH, YC};
    const float *ss[2] = {yh, yc};
    for (int k = 0; k < 2; k++) {
        if (!so[k])
            continue;
        for (int d = 0; d < D; d++)
            for (int64_t b = 0; b < Bn; b++)
                for (int64_t j = 0; j < H; j++) {
                    int64_t dst = layout ? (b * D + d) * H + j : (d * Bn + b) * H + j;
                    put(so[k], dst, ss[k][(d * Bn + b) * H + j]);
                }
    }
    return 0;
}

static int k_rnn(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err)
{
    return rnn_common(r, n, in, n->n_in, out, n->n_out, K_RNN, err);
}

static int k_gru(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err)
{
    return rnn_common(r, n, in, n->n_in, out, n->n_out, K_GRU, err);
}

static int k_lstm(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    return rnn_common(r, n, in, n->n_in, out, n->n_out, K_LSTM, err);
}

const ox_op ox_ops_rnn[] = {
    {"RNN", "", 1, 0, k_rnn, NULL},
    {"GRU", "", 1, 0, k_gru, NULL},
    {"LSTM", "", 1, 0, k_lstm, NULL},
    {0},
};
