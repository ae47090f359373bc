/* tests/unit/graph/nn_ops_test.c - the functional layer ops of ckpt/autograd.h
 * (linear, convolutions, activations, softmax, norms, pooling, embedding,
 * losses, attention) against torch 1.13: forward output and every gradient
 * torch autograd computed for the same upstream gradient
 * (tests/fixtures/graph/nn_ops.pt, made by gen_nn_ops.py), then the same
 * gradients against central finite differences of sum(gout * op(...)).
 *
 * Closeness to torch: max |c - t| / max(max |t|, 1e-6) <= 1e-5 per tensor. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/autograd.h"
#include "ckpt/nn.h"
#include "ckpt/torch.h"
#include "util/test.h"

#define FIXTURE "tests/fixtures/graph/nn_ops.pt"
#define TOL 1e-5
#define FD_TOL 1e-2
#define MAXIN 6

static ckpt_doc *g_doc;

static const ckpt_obj *fixture_case(const char *name)
{
    if (!g_doc) {
        ckpt_error err = {0};
        g_doc = ckpt_load(FIXTURE, NULL, &err);
        if (!g_doc) {
            char b[512];
            fprintf(stderr, "cannot load %s: %s\n", FIXTURE,
                    ckpt_error_format(&err, b, sizeof b));
            return NULL;
        }
    }
    return ckpt_dict_get(ckpt_doc_root(g_doc), name);
}

static bool tinfo(const ckpt_obj *c, const char *key, ckpt_tensor_info *ti)
{
    const ckpt_obj *t = c ? ckpt_dict_get(c, key) : NULL;
    return t && ckpt_tensor_get_info(t, ti) == 0 && ti->contiguous;
}

static const void *tdata(const ckpt_obj *c, const char *key)
{
    const ckpt_obj *t = ckpt_dict_get(c, key);
    return t ? ckpt_tensor_data(t) : NULL;
}

static double optf(const ckpt_obj *c, size_t i)
{
    return ckpt_obj_float(ckpt_obj_item(ckpt_dict_get(c, "opts"), i));
}

static int64_t opti(const ckpt_obj *c, size_t i)
{
    return (int64_t)llround(optf(c, i));
}

static double rel_diff(const float *a, const float *b, int64_t n)
{
    double md = 0.0, mb = 0.0;
    for (int64_t i = 0; i < n; i++) {
        bool an = a[i] != a[i], bn = b[i] != b[i];
        if (an || bn) {
            if (an != bn)
                return HUGE_VAL;
            continue;
        }
        if (isinf(a[i]) || isinf(b[i])) {
            if (a[i] != b[i])
                return HUGE_VAL;
            continue;
        }
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > md)
            md = d;
        if (fabs((double)b[i]) > mb)
            mb = fabs((double)b[i]);
    }
    return md / (mb > 1e-6 ? mb : 1e-6);
}

/* ---------------------------------------------------------------- runner */

typedef struct run_state {
    float rm[64], rv[64];
    int64_t nbt;
} run_state;

/* the op of case c applied to v[] (order of c["inputs"]) */
static ckpt_var *apply(const ckpt_obj *c, ckpt_var **v, run_state *rs, ckpt_error *err)
{
    const char *op = ckpt_obj_str(ckpt_dict_get(c, "op"), NULL);
    if (!strcmp(op, "linear"))
        return ckpt_f_linear(v[0], v[1], v[2], err);
    if (!strcmp(op, "conv2d") || !strcmp(op, "conv1d") || !strcmp(op, "conv_transpose2d")) {
        ckpt_conv_opts o = {.stride = {opti(c, 0), opti(c, 1)},
                            .padding = {opti(c, 2), opti(c, 3)},
                            .dilation = {opti(c, 4), opti(c, 5)},
                            .groups = opti(c, 6)};
        if (ckpt_obj_len(ckpt_dict_get(c, "opts")) > 10) { /* padding kind and mode */
            o.padding_kind = (ckpt_conv_padding)opti(c, 9);
            o.padding_mode = (ckpt_padding_mode)opti(c, 10);
        }
        if (!strcmp(op, "conv2d"))
            return ckpt_f_conv2d(v[0], v[1], v[2], &o, err);
        if (!strcmp(op, "conv1d"))
            return ckpt_f_conv1d(v[0], v[1], v[2], &o, err);
        o.output_padding[0] = opti(c, 7), o.output_padding[1] = opti(c, 8);
        return ckpt_f_conv_transpose2d(v[0], v[1], v[2], &o, err);
    }
    if (!strcmp(op, "relu"))
        return ckpt_f_relu(v[0], err);
    if (!strcmp(op, "gelu"))
        return ckpt_f_gelu(v[0], opti(c, 0) != 0, err);
    if (!strcmp(op, "silu"))
        return ckpt_f_silu(v[0], err);
    if (!strcmp(op, "tanh"))
        return ckpt_f_tanh(v[0], err);
    if (!strcmp(op, "sigmoid"))
        return ckpt_f_sigmoid(v[0], err);
    if (!strcmp(op, "softmax"))
        return ckpt_f_softmax(v[0], (int)opti(c, 0), err);
    if (!strcmp(op, "log_softmax"))
        return ckpt_f_log_softmax(v[0], (int)opti(c, 0), err);
    if (!strcmp(op, "layer_norm"))
        return ckpt_f_layer_norm(v[0], (int)opti(c, 0), v[1], v[2], optf(c, 1), err);
    if (!strcmp(op, "batch_norm")) {
        bool have = opti(c, 3) != 0;
        ckpt_tensor_info ti;
        if (!tinfo(c, "running_mean", &ti) || ti.numel > 64)
            return NULL;
        memcpy(rs->rm, tdata(c, "running_mean"), (size_t)ti.numel * sizeof(float));
        memcpy(rs->rv, tdata(c, "running_var"), (size_t)ti.numel * sizeof(float));
        rs->nbt = *(const int64_t *)tdata(c, "nbt");
        return ckpt_f_batch_norm(v[0], have ? rs->rm : NULL, have ? rs->rv : NULL,
                                 have ? &rs->nbt : NULL, v[1], v[2], opti(c, 0) != 0, optf(c, 1),
                                 optf(c, 2), err);
    }
    if (!strcmp(op, "group_norm"))
        return ckpt_f_group_norm(v[0], opti(c, 0), v[1], v[2], optf(c, 1), err);
    if (!strcmp(op, "max_pool2d") || !strcmp(op, "avg_pool2d")) {
        ckpt_pool_opts o = {{opti(c, 0), opti(c, 1)},
                            {opti(c, 2), opti(c, 3)},
                            {opti(c, 4), opti(c, 5)},
                            {opti(c, 6), opti(c, 7)},
                            opti(c, 8) != 0,
                            opti(c, 9) != 0,
                            opti(c, 10)};
        return op[0] == 'm' ? ckpt_f_max_pool2d(v[0], &o, err) : ckpt_f_avg_pool2d(v[0], &o, err);
    }
    if (!strcmp(op, "adaptive_avg_pool2d"))
        return ckpt_f_adaptive_avg_pool2d(v[0], opti(c, 0), opti(c, 1), err);
    if (!strcmp(op, "embedding"))
        return ckpt_f_embedding(v[0], v[1], opti(c, 0), err);
    if (!strcmp(op, "cross_entropy"))
        return ckpt_f_cross_entropy(v[0], v[1], opti(c, 0), optf(c, 1),
                                    (ckpt_reduction)opti(c, 2), err);
    if (!strcmp(op, "nll_loss"))
        return ckpt_f_nll_loss(v[0], v[1], opti(c, 0), (ckpt_reduction)opti(c, 2), err);
    if (!strcmp(op, "mse_loss"))
        return ckpt_f_mse_loss(v[0], v[1], (ckpt_reduction)opti(c, 0), err);
    if (!strcmp(op, "bce_logits"))
        return ckpt_f_binary_cross_entropy_with_logits(v[0], v[1], v[2],
                                                       (ckpt_reduction)opti(c, 0), err);
    if (!strcmp(op, "sdpa"))
        return ckpt_f_scaled_dot_product_attention(v[0], v[1], v[2], v[3], 0.0, opti(c, 0) != 0,
                                                   err);
    fprintf(stderr, "unknown op %s\n", op);
    return NULL;
}

/* the inputs of case c on tape t; wants[i]: torch has a gradient for input i.
 * With `perturb_in` >= 0, element perturb_at of that input gets + delta. */
static int make_inputs(ckpt_tape *t, const ckpt_obj *c, ckpt_var **v, bool *wants,
                       char names[][16], int perturb_in, int64_t perturb_at, double delta)
{
    const ckpt_obj *list = ckpt_dict_get(c, "inputs");
    int n = (int)ckpt_obj_len(list);
    for (int i = 0; i < n && i < MAXIN; i++) {
        const ckpt_obj *nm = ckpt_obj_item(list, (size_t)i);
        v[i] = NULL;
        wants[i] = false;
        names[i][0] = 0;
        if (ckpt_obj_type(nm) == CKPT_T_NONE)
            continue;
        const char *s = ckpt_obj_str(nm, NULL);
        snprintf(names[i], 16, "%s", s);
        ckpt_tensor_info ti;
        if (!tinfo(c, s, &ti))
            return -1;
        if (ti.dtype == CKPT_I64) {
            v[i] = ckpt_tape_index(t, ti.ndim, ti.shape, tdata(c, s), NULL);
        } else {
            v[i] = ckpt_tape_tensor(t, ti.ndim, ti.shape, tdata(c, s), NULL);
            if (v[i] && i == perturb_in)
                ckpt_var_data(v[i])[perturb_at] += (float)delta;
            char g[24];
            snprintf(g, sizeof g, "g_%s", s);
            wants[i] = ckpt_dict_get(c, g) != NULL;
            if (v[i] && wants[i])
                ckpt_var_set_requires_grad(v[i], true, NULL);
        }
        if (!v[i])
            return -1;
    }
    return n;
}

/* sum(gout * op(inputs with one element moved by delta)), grad mode off, in double */
static double loss_at(const ckpt_obj *c, int in, int64_t at, double delta)
{
    ckpt_tape *t = ckpt_tape_new(NULL, NULL);
    ckpt_var *v[MAXIN] = {0};
    bool wants[MAXIN];
    char names[MAXIN][16];
    run_state rs;
    double L = (double)NAN;
    ckpt_tape_set_grad_enabled(t, false);
    if (make_inputs(t, c, v, wants, names, in, at, delta) >= 0) {
        ckpt_var *y = apply(c, v, &rs, NULL);
        const float *g = tdata(c, "gout");
        if (y) {
            L = 0.0;
            for (int64_t i = 0; i < ckpt_var_numel(y); i++)
                L += (double)g[i] * (double)ckpt_var_data(y)[i];
        }
    }
    ckpt_tape_free(t);
    return L;
}

static void run_case(const char *name)
{
    const ckpt_obj *c = fixture_case(name);
    CHECK(c != NULL);
    ckpt_error err = {0};
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    ckpt_var *v[MAXIN] = {0};
    bool wants[MAXIN];
    char names[MAXIN][16];
    run_state rs;
    int n = make_inputs(t, c, v, wants, names, -1, 0, 0.0);
    CHECK(n > 0);
    ckpt_var *y = apply(c, v, &rs, &err);
    if (!y)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    CHECK(y != NULL);
    ckpt_tensor_info ti;
    CHECK(tinfo(c, "out", &ti));
    CHECK_EQ_INT(ckpt_var_ndim(y), ti.ndim);
    for (int i = 0; i < ti.ndim; i++)
        CHECK_EQ_INT(ckpt_var_dim(y, i), ti.shape[i]);
    double fwd = rel_diff(ckpt_var_data(y), tdata(c, "out"), ti.numel);
    const float *gout = tdata(c, "gout");
    int rc = ckpt_backward_with(y, gout, &err);
    if (rc)
        fprintf(stderr, "%s: backward: %s\n", name, err.msg);
    CHECK(rc == 0);
    double gmax = 0.0, fdmax = 0.0;
    for (int i = 0; i < n; i++) {
        if (!wants[i])
            continue;
        char g[24];
        snprintf(g, sizeof g, "g_%s", names[i]);
        const float *want = tdata(c, g);
        const float *got = ckpt_var_grad(v[i]);
        CHECK(want && got);
        double d = rel_diff(got, want, ckpt_var_numel(v[i]));
        if (d > TOL)
            fprintf(stderr, "%s: gradient of %s: relative difference %.3g\n", name, names[i], d);
        CHECK(d <= TOL);
        if (d > gmax)
            gmax = d;
        /* finite differences on a spread of elements */
        double scale = 0.0;
        for (int64_t k = 0; k < ckpt_var_numel(v[i]); k++)
            if (fabs((double)got[k]) > scale)
                scale = fabs((double)got[k]);
        int64_t numel = ckpt_var_numel(v[i]), step = numel / 7 + 1;
        const bool emb = !strcmp(ckpt_obj_str(ckpt_dict_get(c, "op"), NULL), "embedding");
        for (int64_t k = 0; k < numel; k += step) {
            /* padding_idx's row gets no gradient by definition (torch): no FD there */
            if (emb && i == 1 && k / ckpt_var_dim(v[1], 1) == opti(c, 0))
                continue;
            double h = 1e-3 * fmax(1.0, fabs((double)ckpt_var_data(v[i])[k]));
            double lp = loss_at(c, i, k, h), lm = loss_at(c, i, k, -h);
            double fd = (lp - lm) / (2.0 * h);
            double e = fabs(fd - (double)got[k]) / fmax(scale, 1e-3);
            if (!(e <= FD_TOL))
                fprintf(stderr, "%s: d/d%s[%lld]: finite difference %.6g, backward %.6g\n", name,
                        names[i], (long long)k, fd, (double)got[k]);
            CHECK(e <= FD_TOL);
            if (e > fdmax)
                fdmax = e;
        }
    }
    if (ckpt_dict_get(c, "running_mean_after")) {
        CHECK(tinfo(c, "running_mean_after", &ti));
        double r1 = rel_diff(rs.rm, tdata(c, "running_mean_after"), ti.numel);
        double r2 = rel_diff(rs.rv, tdata(c, "running_var_after"), ti.numel);
        fprintf(stderr, "%s: running_mean %.2e running_var %.2e\n", name, r1, r2);
        CHECK(r1 <= TOL && r2 <= TOL);
        CHECK_EQ_INT(rs.nbt, *(const int64_t *)tdata(c, "nbt_after"));
    }
    fprintf(stderr, "%s: forward %.2e, gradients %.2e (torch); finite differences %.2e\n", name,
            fwd, gmax, fdmax);
    CHECK(fwd <= TOL);
    ckpt_tape_free(t);
}

TEST(graph_nn_ops__linear_3d)
{
    run_case("linear_3d");
}

TEST(graph_nn_ops__linear_1d_nobias)
{
    run_case("linear_1d_nobias");
}

TEST(graph_nn_ops__conv2d_default)
{
    run_case("conv2d_default");
}

TEST(graph_nn_ops__conv2d_all)
{
    run_case("conv2d_all");
}

TEST(graph_nn_ops__conv2d_nobias_unbatched)
{
    run_case("conv2d_nobias_unbatched");
}

TEST(graph_nn_ops__conv2d_pointwise)
{
    run_case("conv2d_pointwise");
}

TEST(graph_nn_ops__conv2d_same_odd)
{
    run_case("conv2d_same_odd");
}

TEST(graph_nn_ops__conv2d_same_even_dilated)
{
    run_case("conv2d_same_even_dilated");
}

TEST(graph_nn_ops__conv2d_valid)
{
    run_case("conv2d_valid");
}

TEST(graph_nn_ops__conv2d_same_reflect)
{
    run_case("conv2d_same_reflect");
}

TEST(graph_nn_ops__conv2d_replicate)
{
    run_case("conv2d_replicate");
}

TEST(graph_nn_ops__conv2d_circular_groups)
{
    run_case("conv2d_circular_groups");
}

TEST(graph_nn_ops__conv1d_same_circular)
{
    run_case("conv1d_same_circular");
}

TEST(graph_nn_ops__conv1d_reflect_nobias)
{
    run_case("conv1d_reflect_nobias");
}

TEST(graph_nn_ops__conv1d_all)
{
    run_case("conv1d_all");
}

TEST(graph_nn_ops__conv1d_unbatched_nobias)
{
    run_case("conv1d_unbatched_nobias");
}

TEST(graph_nn_ops__convt2d_default)
{
    run_case("convt2d_default");
}

TEST(graph_nn_ops__convt2d_all)
{
    run_case("convt2d_all");
}

TEST(graph_nn_ops__convt2d_nobias_unbatched)
{
    run_case("convt2d_nobias_unbatched");
}

TEST(graph_nn_ops__relu)
{
    run_case("relu");
}

TEST(graph_nn_ops__gelu)
{
    run_case("gelu");
}

TEST(graph_nn_ops__gelu_tanh)
{
    run_case("gelu_tanh");
}

TEST(graph_nn_ops__silu)
{
    run_case("silu");
}

TEST(graph_nn_ops__tanh)
{
    run_case("tanh");
}

TEST(graph_nn_ops__sigmoid)
{
    run_case("sigmoid");
}

TEST(graph_nn_ops__softmax_dim0)
{
    run_case("softmax_dim0");
}

TEST(graph_nn_ops__log_softmax_dim0)
{
    run_case("log_softmax_dim0");
}

TEST(graph_nn_ops__softmax_dim1)
{
    run_case("softmax_dim1");
}

TEST(graph_nn_ops__log_softmax_dim1)
{
    run_case("log_softmax_dim1");
}

TEST(graph_nn_ops__softmax_dim_m1)
{
    run_case("softmax_dim_m1");
}

TEST(graph_nn_ops__log_softmax_dim_m1)
{
    run_case("log_softmax_dim_m1");
}

TEST(graph_nn_ops__layer_norm_affine)
{
    run_case("layer_norm_affine");
}

TEST(graph_nn_ops__layer_norm_plain)
{
    run_case("layer_norm_plain");
}

TEST(graph_nn_ops__batch_norm_train)
{
    run_case("batch_norm_train");
}

TEST(graph_nn_ops__batch_norm_train_cumulative)
{
    run_case("batch_norm_train_cumulative");
}

TEST(graph_nn_ops__batch_norm_eval)
{
    run_case("batch_norm_eval");
}

TEST(graph_nn_ops__batch_norm_no_running_1d)
{
    run_case("batch_norm_no_running_1d");
}

TEST(graph_nn_ops__batch_norm_eval_no_running)
{
    run_case("batch_norm_eval_no_running");
}

TEST(graph_nn_ops__group_norm_affine)
{
    run_case("group_norm_affine");
}

TEST(graph_nn_ops__group_norm_plain)
{
    run_case("group_norm_plain");
}

TEST(graph_nn_ops__max_pool2d_default)
{
    run_case("max_pool2d_default");
}

TEST(graph_nn_ops__max_pool2d_pad_stride)
{
    run_case("max_pool2d_pad_stride");
}

TEST(graph_nn_ops__max_pool2d_dilation)
{
    run_case("max_pool2d_dilation");
}

TEST(graph_nn_ops__max_pool2d_ceil)
{
    run_case("max_pool2d_ceil");
}

TEST(graph_nn_ops__max_pool2d_unbatched_ceil)
{
    run_case("max_pool2d_unbatched_ceil");
}

TEST(graph_nn_ops__avg_pool2d_default)
{
    run_case("avg_pool2d_default");
}

TEST(graph_nn_ops__avg_pool2d_pad_include)
{
    run_case("avg_pool2d_pad_include");
}

TEST(graph_nn_ops__avg_pool2d_pad_exclude)
{
    run_case("avg_pool2d_pad_exclude");
}

TEST(graph_nn_ops__avg_pool2d_ceil_include)
{
    run_case("avg_pool2d_ceil_include");
}

TEST(graph_nn_ops__avg_pool2d_ceil_exclude)
{
    run_case("avg_pool2d_ceil_exclude");
}

TEST(graph_nn_ops__avg_pool2d_ceil_drops_last)
{
    run_case("avg_pool2d_ceil_drops_last");
}

TEST(graph_nn_ops__max_pool2d_ceil_drops_last)
{
    run_case("max_pool2d_ceil_drops_last");
}

TEST(graph_nn_ops__avg_pool2d_divisor)
{
    run_case("avg_pool2d_divisor");
}

TEST(graph_nn_ops__adaptive_avg_pool2d)
{
    run_case("adaptive_avg_pool2d");
}

TEST(graph_nn_ops__adaptive_avg_pool2d_unbatched)
{
    run_case("adaptive_avg_pool2d_unbatched");
}

TEST(graph_nn_ops__embedding_padding)
{
    run_case("embedding_padding");
}

TEST(graph_nn_ops__embedding_plain)
{
    run_case("embedding_plain");
}

TEST(graph_nn_ops__cross_entropy_mean)
{
    run_case("cross_entropy_mean");
}

TEST(graph_nn_ops__cross_entropy_smooth_ignore_mean)
{
    run_case("cross_entropy_smooth_ignore_mean");
}

TEST(graph_nn_ops__cross_entropy_sum)
{
    run_case("cross_entropy_sum");
}

TEST(graph_nn_ops__cross_entropy_smooth_ignore_sum)
{
    run_case("cross_entropy_smooth_ignore_sum");
}

TEST(graph_nn_ops__cross_entropy_none)
{
    run_case("cross_entropy_none");
}

TEST(graph_nn_ops__cross_entropy_smooth_ignore_none)
{
    run_case("cross_entropy_smooth_ignore_none");
}

TEST(graph_nn_ops__cross_entropy_ignore_class)
{
    run_case("cross_entropy_ignore_class");
}

TEST(graph_nn_ops__cross_entropy_kdim_mean)
{
    run_case("cross_entropy_kdim_mean");
}

TEST(graph_nn_ops__cross_entropy_kdim_none)
{
    run_case("cross_entropy_kdim_none");
}

TEST(graph_nn_ops__cross_entropy_unbatched)
{
    run_case("cross_entropy_unbatched");
}

TEST(graph_nn_ops__nll_loss_2d_sum)
{
    run_case("nll_loss_2d_sum");
}

TEST(graph_nn_ops__nll_loss_mean)
{
    run_case("nll_loss_mean");
}

TEST(graph_nn_ops__nll_loss_none)
{
    run_case("nll_loss_none");
}

TEST(graph_nn_ops__mse_loss_mean)
{
    run_case("mse_loss_mean");
}

TEST(graph_nn_ops__bce_logits_mean)
{
    run_case("bce_logits_mean");
}

TEST(graph_nn_ops__bce_logits_pos_weight_mean)
{
    run_case("bce_logits_pos_weight_mean");
}

TEST(graph_nn_ops__mse_loss_sum)
{
    run_case("mse_loss_sum");
}

TEST(graph_nn_ops__bce_logits_sum)
{
    run_case("bce_logits_sum");
}

TEST(graph_nn_ops__bce_logits_pos_weight_sum)
{
    run_case("bce_logits_pos_weight_sum");
}

TEST(graph_nn_ops__mse_loss_none)
{
    run_case("mse_loss_none");
}

TEST(graph_nn_ops__bce_logits_none)
{
    run_case("bce_logits_none");
}

TEST(graph_nn_ops__bce_logits_pos_weight_none)
{
    run_case("bce_logits_pos_weight_none");
}

TEST(graph_nn_ops__sdpa_plain)
{
    run_case("sdpa_plain");
}

TEST(graph_nn_ops__sdpa_mask_broadcast)
{
    run_case("sdpa_mask_broadcast");
}

TEST(graph_nn_ops__sdpa_mask_inf_3d)
{
    run_case("sdpa_mask_inf_3d");
}

TEST(graph_nn_ops__sdpa_causal)
{
    run_case("sdpa_causal");
}

/* ------------------------------------------------------------ dropout */

TEST(graph_nn_ops__dropout_mask_scaling_and_grad)
{
    ckpt_error err = {0};
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    const int64_t n = 20000;
    ckpt_var *x = ckpt_tape_full(t, 2, (int64_t[]){100, n / 100}, 1.0f, &err);
    CHECK(x && ckpt_var_set_requires_grad(x, true, &err) == 0);
    ckpt_rng_seed(ckpt_tape_rng(t), 42);
    ckpt_var *y = ckpt_f_dropout(x, 0.3, true, &err);
    CHECK(y != NULL && y != x);
    int64_t zeros = 0;
    const float keep = (float)(1.0 / 0.7);
    for (int64_t i = 0; i < n; i++) {
        float v = ckpt_var_data(y)[i];
        CHECK(v == 0.0f || v == keep);
        zeros += v == 0.0f;
    }
    CHECK(fabs((double)zeros / (double)n - 0.3) < 0.015);
    float *g = malloc((size_t)n * sizeof(float));
    CHECK(g != NULL);
    for (int64_t i = 0; i < n; i++)
        g[i] = 2.0f;
    CHECK(ckpt_backward_with(y, g, &err) == 0);
    free(g);
    /* the saved mask: grad = gout * mask / (1 - p) = 2 * y for x = 1 */
    for (int64_t i = 0; i < n; i++)
        CHECK(ckpt_var_grad(x)[i] == 2.0f * ckpt_var_data(y)[i]);
    /* the same seed draws the same mask */
    ckpt_rng_seed(ckpt_tape_rng(t), 42);
    ckpt_var *y2 = ckpt_f_dropout(x, 0.3, true, &err);
    CHECK(y2 && memcmp(ckpt_var_data(y2), ckpt_var_data(y), (size_t)n * sizeof(float)) == 0);
    /* eval or p = 0: the input itself; p = 1: zeros and no gradient */
    CHECK(ckpt_f_dropout(x, 0.3, false, &err) == x);
    CHECK(ckpt_f_dropout(x, 0.0, true, &err) == x);
    ckpt_var *z = ckpt_f_dropout(x, 1.0, true, &err);
    CHECK(z != NULL);
    for (int64_t i = 0; i < n; i++)
        CHECK(ckpt_var_data(z)[i] == 0.0f);
    float *before = malloc((size_t)n * sizeof(float));
    CHECK(before != NULL);
    memcpy(before, ckpt_var_grad(x), (size_t)n * sizeof(float));
    g = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; g && i < n; i++)
        g[i] = 1.0f;
    CHECK(g && ckpt_backward_with(z, g, &err) == 0);
    CHECK(memcmp(before, ckpt_var_grad(x), (size_t)n * sizeof(float)) == 0);
    free(g);
    free(before);
    CHECK(ckpt_f_dropout(x, 1.5, true, &err) == NULL && err.code == CKPT_E_ARG);
    CHECK(strstr(err.msg, "dropout") != NULL);
    ckpt_tape_free(t);
}

/* sum(w * sdpa(q, k, v, mask, p = 0.25)) with the tape's generator seeded 5 */
static double sdpa_drop_loss(const float *q, const float *k, const float *v, const float *m,
                             const float *w, float **grads)
{
    ckpt_tape *t = ckpt_tape_new(NULL, NULL);
    ckpt_rng_seed(ckpt_tape_rng(t), 5);
    ckpt_var *in[4] = {
        ckpt_tape_tensor(t, 3, (int64_t[]){2, 3, 4}, q, NULL),
        ckpt_tape_tensor(t, 3, (int64_t[]){2, 5, 4}, k, NULL),
        ckpt_tape_tensor(t, 3, (int64_t[]){2, 5, 3}, v, NULL),
        ckpt_tape_tensor(t, 2, (int64_t[]){3, 5}, m, NULL),
    };
    for (int i = 0; grads && i < 4; i++)
        ckpt_var_set_requires_grad(in[i], true, NULL);
    ckpt_var *y = ckpt_f_scaled_dot_product_attention(in[0], in[1], in[2], in[3], 0.25, false,
                                                      NULL);
    double L = 0.0;
    for (int64_t i = 0; y && i < ckpt_var_numel(y); i++)
        L += (double)w[i] * (double)ckpt_var_data(y)[i];
    if (grads && y && ckpt_backward_with(y, w, NULL) == 0) {
        for (int i = 0; i < 4; i++)
            memcpy(grads[i], ckpt_var_grad(in[i]), (size_t)ckpt_var_numel(in[i]) * sizeof(float));
    }
    ckpt_tape_free(t);
    return y ? L : (double)NAN;
}

TEST(graph_nn_ops__sdpa_dropout_finite_differences)
{
    float q[24], k[40], v[30], m[15], w[18];
    float gq[24], gk[40], gv[30], gm[15];
    float *vals[4] = {q, k, v, m}, *grads[4] = {gq, gk, gv, gm};
    const int sizes[4] = {24, 40, 30, 15};
    ckpt_rng r;
    ckpt_rng_seed(&r, 11);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < sizes[i]; j++)
            vals[i][j] = (float)ckpt_rng_normal(&r);
    for (int j = 0; j < 18; j++)
        w[j] = (float)ckpt_rng_normal(&r);
    CHECK(!isnan(sdpa_drop_loss(q, k, v, m, w, grads)));
    for (int i = 0; i < 4; i++) {
        double scale = 0.0;
        for (int j = 0; j < sizes[i]; j++)
            scale = fmax(scale, fabs((double)grads[i][j]));
        CHECK(scale > 0.0);
        for (int j = 0; j < sizes[i]; j++) {
            float keep = vals[i][j];
            const float h = 1e-2f;
            vals[i][j] = keep + h;
            double lp = sdpa_drop_loss(q, k, v, m, w, NULL);
            vals[i][j] = keep - h;
            double lm = sdpa_drop_loss(q, k, v, m, w, NULL);
            vals[i][j] = keep;
            double fd = (lp - lm) / (2.0 * (double)h);
            if (!(fabs(fd - (double)grads[i][j]) <= 1e-2 * scale))
                fprintf(stderr, "input %d [%d]: fd %.6g backward %.6g\n", i, j, fd,
                        (double)grads[i][j]);
            CHECK(fabs(fd - (double)grads[i][j]) <= 1e-2 * scale);
        }
    }
}

/* NaN propagates through relu and max pooling; the pooling gradient goes to
 * the last NaN of the window (torch's CPU kernel) */
TEST(graph_nn_ops__nan_through_relu_and_max_pool)
{
    ckpt_error err = {0};
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    float xs[8] = {1.0f, NAN, NAN, 2.0f, -1.0f, -3.0f, -2.0f, -5.0f};
    ckpt_var *x = ckpt_tape_tensor(t, 4, (int64_t[]){1, 2, 2, 2}, xs, &err);
    CHECK(x && ckpt_var_set_requires_grad(x, true, &err) == 0);
    ckpt_var *r = ckpt_f_relu(x, &err);
    CHECK(r && isnan(ckpt_var_data(r)[1]) && ckpt_var_data(r)[4] == 0.0f);
    ckpt_pool_opts o = {.kernel = {2, 2}};
    ckpt_var *y = ckpt_f_max_pool2d(x, &o, &err);
    CHECK(y && isnan(ckpt_var_data(y)[0]) && ckpt_var_data(y)[1] == -1.0f);
    CHECK(ckpt_backward_with(y, (float[]){3.0f, 4.0f}, &err) == 0);
    const float *g = ckpt_var_grad(x);
    CHECK(g[0] == 0.0f && g[1] == 0.0f && g[2] == 3.0f && g[3] == 0.0f);
    CHECK(g[4] == 4.0f && g[5] == 0.0f && g[6] == 0.0f && g[7] == 0.0f);
    ckpt_tape_free(t);
}

/* ----------------------------------------------------------- error cases */

#define EXPECT_FAIL(call, code_, needle)                                                         \
    do {                                                                                         \
        ckpt_error_clear(&err);                                                                  \
        ckpt_var *r_ = (call);                                                                   \
        if (r_ || err.code != (code_) || !strstr(err.msg, (needle)))                             \
            fprintf(stderr, "%s:%d: got code %d, message \"%s\"\n", __FILE__, __LINE__,          \
                    err.code, err.msg);                                                          \
        CHECK(r_ == NULL && err.code == (code_) && strstr(err.msg, (needle)));                   \
    } while (0)

TEST(graph_nn_ops__errors_name_the_op_and_shapes)
{
    ckpt_error err = {0};
    ckpt_tape *t = ckpt_tape_new(NULL, &err), *t2 = ckpt_tape_new(NULL, &err);
    ckpt_var *x23 = ckpt_tape_full(t, 2, (int64_t[]){2, 3}, 0.5f, &err);
    ckpt_var *w44 = ckpt_tape_full(t, 2, (int64_t[]){4, 4}, 0.5f, &err);
    ckpt_var *other = ckpt_tape_full(t2, 2, (int64_t[]){4, 3}, 0.5f, &err);
    ckpt_var *img = ckpt_tape_full(t, 4, (int64_t[]){1, 3, 4, 4}, 1.0f, &err);
    ckpt_var *k2 = ckpt_tape_full(t, 4, (int64_t[]){2, 2, 3, 3}, 1.0f, &err);
    ckpt_var *k5 = ckpt_tape_full(t, 4, (int64_t[]){2, 3, 5, 5}, 1.0f, &err);
    ckpt_var *idx = ckpt_tape_index(t, 1, (int64_t[]){2}, (int64_t[]){0, 9}, &err);
    ckpt_var *tgt = ckpt_tape_index(t, 1, (int64_t[]){2}, (int64_t[]){0, 3}, &err);
    CHECK(x23 && w44 && other && img && k2 && k5 && idx && tgt);

    EXPECT_FAIL(ckpt_f_linear(x23, w44, NULL, &err), CKPT_E_SHAPE, "(2, 3)");
    EXPECT_FAIL(ckpt_f_linear(x23, other, NULL, &err), CKPT_E_ARG, "another tape");
    EXPECT_FAIL(ckpt_f_linear(NULL, w44, NULL, &err), CKPT_E_ARG, "linear");
    EXPECT_FAIL(ckpt_f_conv2d(img, k2, NULL, NULL, &err), CKPT_E_SHAPE, "conv2d");
    EXPECT_FAIL(ckpt_f_conv2d(img, k5, NULL, NULL, &err), CKPT_E_SHAPE, "smaller than");
    ckpt_conv_opts op = {.stride = {1, 1}, .output_padding = {1, 0}};
    EXPECT_FAIL(ckpt_f_conv_transpose2d(img, k2, NULL, &op, &err), CKPT_E_ARG, "output padding");
    EXPECT_FAIL(ckpt_f_softmax(x23, 2, &err), CKPT_E_ARG, "dimension out of range");
    EXPECT_FAIL(ckpt_f_layer_norm(x23, 3, NULL, NULL, 1e-5, &err), CKPT_E_SHAPE, "layer_norm");
    EXPECT_FAIL(ckpt_f_layer_norm(x23, 1, w44, NULL, 1e-5, &err), CKPT_E_SHAPE, "weight");
    float rm[3] = {0}, rv[3] = {1, 1, 1};
    ckpt_var *one = ckpt_tape_full(t, 2, (int64_t[]){1, 3}, 1.0f, &err);
    EXPECT_FAIL(ckpt_f_batch_norm(one, rm, rv, NULL, NULL, NULL, true, 0.1, 1e-5, &err),
                CKPT_E_SHAPE, "more than 1 value per channel");
    EXPECT_FAIL(ckpt_f_batch_norm(x23, rm, NULL, NULL, NULL, NULL, true, 0.1, 1e-5, &err),
                CKPT_E_ARG, "both");
    EXPECT_FAIL(ckpt_f_group_norm(img, 2, NULL, NULL, 1e-5, &err), CKPT_E_SHAPE, "num_groups");
    ckpt_pool_opts badpad = {.kernel = {2, 2}, .padding = {2, 0}};
    EXPECT_FAIL(ckpt_f_max_pool2d(img, &badpad, &err), CKPT_E_ARG, "half of kernel");
    ckpt_pool_opts big = {.kernel = {8, 8}, .padding = {1, 1}, .stride = {1, 1}};
    EXPECT_FAIL(ckpt_f_avg_pool2d(img, &big, &err), CKPT_E_SHAPE, "too small");
    EXPECT_FAIL(ckpt_f_max_pool2d(x23, &badpad, &err), CKPT_E_SHAPE, "3D or 4D");
    EXPECT_FAIL(ckpt_f_embedding(idx, w44, -1, &err), CKPT_E_ARG, "index out of range");
    EXPECT_FAIL(ckpt_f_embedding(x23, w44, -1, &err), CKPT_E_ARG, "int64");
    EXPECT_FAIL(ckpt_f_cross_entropy(x23, tgt, -100, 0.0, CKPT_REDUCE_MEAN, &err), CKPT_E_ARG,
                "out of bounds");
    EXPECT_FAIL(ckpt_f_cross_entropy(x23, idx, 9, 1.5, CKPT_REDUCE_MEAN, &err), CKPT_E_ARG,
                "label_smoothing");
    EXPECT_FAIL(ckpt_f_cross_entropy(x23, x23, -100, 0.0, CKPT_REDUCE_MEAN, &err), CKPT_E_ARG,
                "int64");
    EXPECT_FAIL(ckpt_f_cross_entropy(x23, tgt, -100, 0.0, (ckpt_reduction)7, &err), CKPT_E_ARG,
                "reduction");
    EXPECT_FAIL(ckpt_f_mse_loss(x23, w44, CKPT_REDUCE_MEAN, &err), CKPT_E_SHAPE, "same as input");
    EXPECT_FAIL(ckpt_f_binary_cross_entropy_with_logits(x23, x23, w44, CKPT_REDUCE_MEAN, &err),
                CKPT_E_SHAPE, "pos_weight");
    EXPECT_FAIL(ckpt_f_scaled_dot_product_attention(x23, w44, w44, NULL, 0.0, false, &err),
                CKPT_E_SHAPE, "scaled_dot_product_attention");
    ckpt_var *q = ckpt_tape_full(t, 2, (int64_t[]){2, 4}, 1.0f, &err);
    ckpt_var *m3 = ckpt_tape_full(t, 2, (int64_t[]){3, 4}, 0.0f, &err);
    EXPECT_FAIL(ckpt_f_scaled_dot_product_attention(q, w44, w44, m3, 0.0, false, &err),
                CKPT_E_SHAPE, "attn_mask");
    /* all rows ignored: mean is NaN, as torch */
    ckpt_var *ign = ckpt_tape_index(t, 1, (int64_t[]){2}, (int64_t[]){-100, -100}, &err);
    ckpt_var *l = ckpt_f_cross_entropy(x23, ign, -100, 0.1, CKPT_REDUCE_MEAN, &err);
    CHECK(l && isnan(ckpt_var_item(l)));
    /* grad mode off records nothing */
    CHECK(ckpt_var_set_requires_grad(x23, true, &err) == 0);
    ckpt_tape_set_grad_enabled(t, false);
    ckpt_var *y = ckpt_f_gelu(x23, false, &err);
    CHECK(y && !ckpt_var_requires_grad(y));
    ckpt_tape_set_grad_enabled(t, true);
    y = ckpt_f_gelu(x23, false, &err);
    CHECK(y && ckpt_var_requires_grad(y));
    ckpt_tape_free(t);
    ckpt_tape_free(t2);
}

TEST_MAIN()
