/* tests/unit/graph/module_call_test.c - built-in layers called on the tape
 * (ckpt_module_call) against torch 1.13: a small CNN (Conv2d, BatchNorm2d,
 * ReLU, MaxPool2d, Flatten, Linear in a Sequential) trained one step with
 * cross_entropy, and nets covering every other layer's tape forward and
 * option; the weights come from torch's state_dict
 * (tests/fixtures/graph/module_call.pt, made by gen_module_call.py).
 * Checked: output, loss, input and every parameter gradient, the buffers
 * after the step (running statistics, num_batches_tracked), and eval mode
 * with grad mode off (output equal to torch's, nothing recorded, buffers
 * untouched, and equal to the explicit ckpt_nn_forward path). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/autograd.h"
#include "ckpt/nn.h"
#include "ckpt/torch.h"
#include "util/test.h"

#define FIXTURE "tests/fixtures/graph/module_call.pt"
#define TOL 1e-5

static ckpt_doc *g_doc;

static const ckpt_obj *net_entry(const char *name)
{
    if (!g_doc) {
        ckpt_error err = {0};
        g_doc = ckpt_load(FIXTURE, NULL, &err);
        if (!g_doc) {
            fprintf(stderr, "cannot load %s: %s\n", FIXTURE, err.msg);
            return NULL;
        }
    }
    return ckpt_dict_get(ckpt_doc_root(g_doc), name);
}

static bool tinfo(const ckpt_obj *t, ckpt_tensor_info *ti)
{
    return t && ckpt_tensor_get_info(t, ti) == 0 && ti->contiguous;
}

static double rel_diff(const float *a, const float *b, int64_t n)
{
    double md = 0.0, mb = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > md || d != d)
            md = d != d ? HUGE_VAL : d;
        if (fabs((double)b[i]) > mb)
            mb = fabs((double)b[i]);
    }
    return md / (mb > 1e-6 ? mb : 1e-6);
}

static double g_worst;

#define CHECK_CLOSE(what, got, want, n)                                                          \
    do {                                                                                         \
        double r_ = rel_diff((got), (want), (n));                                                \
        if (r_ > 1e-6)                                                                           \
            fprintf(stderr, "%s: %.3g\n", (what), r_);                                           \
        if (r_ > g_worst)                                                                        \
            g_worst = r_;                                                                        \
        if (!(r_ <= TOL))                                                                        \
            fprintf(stderr, "%s: relative difference %.3g\n", (what), r_);                       \
        CHECK(r_ <= TOL);                                                                        \
    } while (0)

/* ------------------------------------------------------------------ nets */

static ckpt_module *build_cnn(ckpt_error *err)
{
    ckpt_module *s = ckpt_nn_sequential(NULL, NULL, err);
    ckpt_conv_opts pad1 = {.padding = {1, 1}, .no_bias = true};
    if (!s || !ckpt_nn_conv2d(s, "0", 3, 4, 3, 3, &pad1, NULL, err) ||
        !ckpt_nn_batchnorm(s, "1", 2, 4, NULL, err) ||
        !ckpt_nn_activation(s, "2", CKPT_ACT_RELU, 0, err) ||
        !ckpt_nn_maxpool2d(s, "3", &(ckpt_pool_opts){.kernel = {2, 2}}, err) ||
        !ckpt_nn_flatten(s, "4", 1, -1, err) || !ckpt_nn_linear(s, "5", 64, 5, NULL, NULL, err)) {
        ckpt_module_free(s);
        return NULL;
    }
    return s;
}

static ckpt_module *build_mix(ckpt_error *err)
{
    ckpt_module *s = ckpt_nn_sequential(NULL, NULL, err);
    ckpt_conv_opts ct = {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}};
    ckpt_pool_opts avg = {.kernel = {3, 3},
                          .stride = {2, 2},
                          .padding = {1, 1},
                          .ceil_mode = true,
                          .exclude_pad = true};
    ckpt_pool_opts mx = {.kernel = {3, 2},
                         .stride = {1, 2},
                         .padding = {1, 1},
                         .dilation = {1, 1},
                         .ceil_mode = true};
    int64_t d36 = 36, d6 = 6;
    bool ok = s && ckpt_nn_conv_transpose2d(s, "0", 3, 4, 3, 3, &ct, NULL, err) &&
              ckpt_nn_groupnorm(s, "1", 2, 4, NULL, err) &&
              ckpt_nn_activation(s, "2", CKPT_ACT_GELU_TANH, 0, err) &&
              ckpt_nn_avgpool2d(s, "3", &avg, err) && ckpt_nn_maxpool2d(s, "4", &mx, err) &&
              ckpt_nn_adaptive_avgpool2d(s, "5", 3, 3, err) &&
              ckpt_nn_flatten(s, "6", 1, -1, err) &&
              ckpt_nn_layernorm(s, "7", 1, &d36, NULL, err) &&
              ckpt_nn_dropout(s, "8", 0.0, err) &&
              ckpt_nn_linear(s, "9", 36, 8, NULL, NULL, err) &&
              ckpt_nn_activation(s, "10", CKPT_ACT_SILU, 0, err) &&
              ckpt_nn_batchnorm(s, "11", 1, 8,
                                &(ckpt_norm_opts){.momentum = CKPT_NN_MOMENTUM_NONE}, err) &&
              ckpt_nn_linear(s, "12", 8, 6, &(ckpt_linear_opts){.no_bias = true}, NULL, err) &&
              ckpt_nn_activation(s, "13", CKPT_ACT_TANH, 0, err) &&
              ckpt_nn_activation(s, "14", CKPT_ACT_SIGMOID, 0, err) &&
              ckpt_nn_activation(s, "15", CKPT_ACT_GELU, 0, err) &&
              ckpt_nn_layernorm(s, "16", 1, &d6, &(ckpt_norm_opts){.no_affine = true}, err) &&
              ckpt_nn_batchnorm(s, "17", 1, 6,
                                &(ckpt_norm_opts){.no_affine = true, .no_running_stats = true},
                                err) &&
              ckpt_nn_activation(s, "18", CKPT_ACT_SOFTMAX, 1, err) &&
              ckpt_nn_activation(s, "19", CKPT_ACT_LOGSOFTMAX, -1, err);
    if (!ok) {
        ckpt_module_free(s);
        return NULL;
    }
    return s;
}

static ckpt_module *build_conv1d(ckpt_error *err)
{
    ckpt_conv_opts o = {.stride = {2}, .padding = {1}, .dilation = {2}, .groups = 2};
    return ckpt_nn_conv1d(NULL, NULL, 4, 6, 3, &o, NULL, err);
}

static ckpt_module *build_embedding(ckpt_error *err)
{
    return ckpt_nn_embedding(NULL, NULL, 7, 5,
                             &(ckpt_embedding_opts){.has_padding_idx = true, .padding_idx = 2},
                             NULL, err);
}

static ckpt_module *build_conv2d_nobias(ckpt_error *err)
{
    ckpt_module *s = ckpt_nn_sequential(NULL, NULL, err);
    ckpt_conv_opts o = {
        .stride = {2, 1}, .padding = {1, 0}, .dilation = {1, 2}, .groups = 2, .no_bias = true};
    if (!s || !ckpt_nn_conv2d(s, "0", 2, 4, 3, 2, &o, NULL, err) ||
        !ckpt_nn_activation(s, "1", CKPT_ACT_IDENTITY, 0, err)) {
        ckpt_module_free(s);
        return NULL;
    }
    return s;
}

static ckpt_module *build_conv_pad(ckpt_error *err)
{
    ckpt_module *s = ckpt_nn_sequential(NULL, NULL, err);
    ckpt_conv_opts a = {.dilation = {1, 2},
                        .padding_kind = CKPT_CONV_PAD_SAME,
                        .padding_mode = CKPT_PADMODE_REFLECT};
    ckpt_conv_opts b = {.padding = {1, 1}, .padding_mode = CKPT_PADMODE_REPLICATE};
    ckpt_conv_opts c = {.padding_kind = CKPT_CONV_PAD_VALID};
    ckpt_conv_opts d = {.padding = {1, 2}, .padding_mode = CKPT_PADMODE_CIRCULAR};
    ckpt_conv_opts e = {.padding_kind = CKPT_CONV_PAD_SAME};
    if (!s || !ckpt_nn_conv2d(s, "0", 2, 3, 3, 4, &a, NULL, err) ||
        !ckpt_nn_conv2d(s, "1", 3, 2, 3, 3, &b, NULL, err) ||
        !ckpt_nn_conv2d(s, "2", 2, 2, 2, 2, &c, NULL, err) ||
        !ckpt_nn_conv2d(s, "3", 2, 2, 3, 3, &d, NULL, err) ||
        !ckpt_nn_conv2d(s, "4", 2, 2, 2, 2, &e, NULL, err)) {
        ckpt_module_free(s);
        return NULL;
    }
    return s;
}

static ckpt_module *build_conv1d_same_circular(ckpt_error *err)
{
    ckpt_conv_opts o = {.padding_kind = CKPT_CONV_PAD_SAME,
                        .padding_mode = CKPT_PADMODE_CIRCULAR};
    return ckpt_nn_conv1d(NULL, NULL, 3, 2, 4, &o, NULL, err);
}

/* ---------------------------------------------------------------- runner */

static void run_net(const char *name, ckpt_module *(*build)(ckpt_error *))
{
    ckpt_error err = {0};
    const ckpt_obj *e = net_entry(name);
    CHECK(e != NULL);
    ckpt_module *m = build(&err);
    if (!m)
        fprintf(stderr, "%s: build: %s\n", name, err.msg);
    CHECK(m != NULL);
    int rc = ckpt_module_load_state_dict(m, ckpt_dict_get(e, "state"), NULL, NULL, &err);
    if (rc)
        fprintf(stderr, "%s: load_state_dict: %s\n", name, err.msg);
    CHECK(rc == 0);
    CHECK(ckpt_module_training(m)); /* torch: modules start in training mode */

    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    CHECK(t != NULL);
    ckpt_tensor_info xi, ti;
    const ckpt_obj *xo = ckpt_dict_get(e, "x");
    CHECK(tinfo(xo, &xi));
    ckpt_var *x;
    if (xi.dtype == CKPT_I64) {
        x = ckpt_tape_index(t, xi.ndim, xi.shape, ckpt_tensor_data(xo), &err);
    } else {
        x = ckpt_tape_tensor(t, xi.ndim, xi.shape, ckpt_tensor_data(xo), &err);
        CHECK(x && ckpt_var_set_requires_grad(x, true, &err) == 0);
    }
    CHECK(x != NULL);
    ckpt_var *y = ckpt_module_call(m, x, &err);
    if (!y)
        fprintf(stderr, "%s: call: %s\n", name, err.msg);
    CHECK(y != NULL);
    CHECK(tinfo(ckpt_dict_get(e, "out"), &ti));
    CHECK_EQ_INT(ckpt_var_numel(y), ti.numel);
    CHECK_CLOSE("out", ckpt_var_data(y), ckpt_tensor_data(ckpt_dict_get(e, "out")), ti.numel);

    const ckpt_obj *target = ckpt_dict_get(e, "target");
    if (target) {
        CHECK(tinfo(target, &ti));
        ckpt_var *tv = ckpt_tape_index(t, ti.ndim, ti.shape, ckpt_tensor_data(target), &err);
        ckpt_var *loss = ckpt_f_cross_entropy(y, tv, -100, 0.0, CKPT_REDUCE_MEAN, &err);
        CHECK(loss != NULL);
        float want = *(const float *)ckpt_tensor_data(ckpt_dict_get(e, "loss"));
        CHECK_CLOSE("loss", ckpt_var_data(loss), &want, 1);
        CHECK(ckpt_backward(loss, &err) == 0);
    } else {
        const float *gout = ckpt_tensor_data(ckpt_dict_get(e, "gout"));
        rc = ckpt_backward_with(y, gout, &err);
        if (rc)
            fprintf(stderr, "%s: backward: %s\n", name, err.msg);
        CHECK(rc == 0);
    }
    const ckpt_obj *gx = ckpt_dict_get(e, "g_x");
    if (gx)
        CHECK_CLOSE("input grad", ckpt_var_grad(x), ckpt_tensor_data(gx), xi.numel);
    /* every parameter gradient, by state_dict key */
    const ckpt_obj *grads = ckpt_dict_get(e, "grads");
    size_t ng = ckpt_obj_len(grads);
    CHECK(ng > 0);
    for (size_t i = 0; i < ng; i++) {
        const char *key = ckpt_obj_str(ckpt_dict_key(grads, i), NULL);
        ckpt_slot *s = ckpt_module_slot(m, key);
        CHECK(s && s->is_param);
        CHECK(tinfo(ckpt_dict_value(grads, i), &ti));
        if (!s->grad)
            fprintf(stderr, "%s: no gradient for %s\n", name, key);
        CHECK(s->grad != NULL);
        CHECK_CLOSE(key, s->grad, ckpt_tensor_data(ckpt_dict_value(grads, i)), ti.numel);
    }
    /* buffers after the step */
    const ckpt_obj *after = ckpt_dict_get(e, "after");
    for (size_t i = 0; i < ckpt_obj_len(after); i++) {
        const char *key = ckpt_obj_str(ckpt_dict_key(after, i), NULL);
        ckpt_slot *s = ckpt_module_slot(m, key);
        CHECK(s && s->data);
        CHECK(tinfo(ckpt_dict_value(after, i), &ti));
        if (ti.dtype == CKPT_I64)
            CHECK_EQ_INT(*(const int64_t *)s->data,
                         *(const int64_t *)ckpt_tensor_data(ckpt_dict_value(after, i)));
        else
            CHECK_CLOSE(key, s->data, ckpt_tensor_data(ckpt_dict_value(after, i)), ti.numel);
    }

    /* eval mode, grad mode off: torch's output, nothing recorded, buffers kept */
    const ckpt_obj *eo = ckpt_dict_get(e, "eval_out");
    if (eo) {
        ckpt_module_train(m, false);
        ckpt_tape_reset(t);
        ckpt_tape_set_grad_enabled(t, false);
        float before[64] = {0};
        ckpt_slot *rm = NULL;
        for (size_t i = 0; i < ckpt_obj_len(after) && !rm; i++) {
            ckpt_slot *s = ckpt_module_slot(m, ckpt_obj_str(ckpt_dict_key(after, i), NULL));
            if (s && s->dtype == CKPT_F32 && s->nbytes <= sizeof before)
                rm = s;
        }
        if (rm)
            memcpy(before, rm->data, (size_t)rm->nbytes);
        if (xi.dtype == CKPT_I64)
            x = ckpt_tape_index(t, xi.ndim, xi.shape, ckpt_tensor_data(xo), &err);
        else
            x = ckpt_tape_tensor(t, xi.ndim, xi.shape, ckpt_tensor_data(xo), &err);
        CHECK(x != NULL);
        if (xi.dtype == CKPT_F32)
            CHECK(ckpt_var_set_requires_grad(x, true, &err) == 0);
        y = ckpt_module_call(m, x, &err);
        CHECK(y != NULL);
        CHECK(!ckpt_var_requires_grad(y));
        CHECK(ckpt_backward_with(y, ckpt_var_data(y), &err) == CKPT_E_ARG);
        CHECK(tinfo(eo, &ti));
        CHECK_CLOSE("eval out", ckpt_var_data(y), ckpt_tensor_data(eo), ti.numel);
        if (rm)
            CHECK(memcmp(before, rm->data, (size_t)rm->nbytes) == 0);
        /* the explicit forward path gives the same */
        if (xi.dtype == CKPT_F32) {
            ckpt_nn_act in = {0}, out = {0};
            CHECK(ckpt_nn_act_resize(&in, xi.ndim, xi.shape, &err) == 0);
            memcpy(in.data, ckpt_tensor_data(xo), (size_t)xi.numel * sizeof(float));
            rc = ckpt_nn_forward(m, &in, &out, NULL, &err);
            bool same = rc == 0 && rel_diff(out.data, ckpt_tensor_data(eo), ti.numel) <= TOL;
            ckpt_nn_act_free(&in);
            ckpt_nn_act_free(&out);
            CHECK(same);
        }
    }
    fprintf(stderr, "%s: worst relative difference %.2e\n", name, g_worst);
    g_worst = 0.0;
    ckpt_tape_free(t);
    ckpt_module_free(m);
}

TEST(graph_module_call__cnn_train_step_and_eval)
{
    run_net("cnn", build_cnn);
}

TEST(graph_module_call__every_layer_mix)
{
    run_net("mix", build_mix);
}

TEST(graph_module_call__conv1d)
{
    run_net("conv1d", build_conv1d);
}

TEST(graph_module_call__embedding_padding_idx)
{
    run_net("embedding", build_embedding);
}

TEST(graph_module_call__conv2d_nobias_identity)
{
    run_net("conv2d_nobias", build_conv2d_nobias);
}

TEST(graph_module_call__conv_padding_same_valid_and_modes)
{
    run_net("conv_pad", build_conv_pad);
}

TEST(graph_module_call__conv1d_same_circular)
{
    run_net("conv1d_same_circular", build_conv1d_same_circular);
}

/* a training loop with fixed shapes: after the first step the tape's arena
 * holds every step (no growth), and the parameter grads are reused */
TEST(graph_module_call__steady_state_step_allocates_nothing)
{
    ckpt_error err = {0};
    ckpt_module *m = build_mix(&err);
    CHECK(m != NULL);
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    CHECK(t != NULL);
    ckpt_rng r;
    ckpt_rng_seed(&r, 3);
    float xs[8 * 3 * 5 * 5];
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        xs[i] = (float)ckpt_rng_normal(&r);
    int64_t tg[8] = {0, 1, 2, 3, 4, 5, 0, 1};
    size_t bytes[4] = {0};
    float *g0 = NULL;
    for (int step = 0; step < 4; step++) {
        ckpt_tape_reset(t);
        ckpt_var *x = ckpt_tape_tensor_borrow(t, 4, (int64_t[]){8, 3, 5, 5}, xs, &err);
        ckpt_var *y = ckpt_module_call(m, x, &err);
        ckpt_var *tv = ckpt_tape_index(t, 1, (int64_t[]){8}, tg, &err);
        ckpt_var *loss = ckpt_f_cross_entropy(y, tv, -100, 0.1, CKPT_REDUCE_MEAN, &err);
        CHECK(loss != NULL);
        ckpt_module_zero_grad(m, false);
        CHECK(ckpt_backward(loss, &err) == 0);
        ckpt_slot *w = ckpt_module_slot(m, "0.weight");
        CHECK(w && w->grad);
        if (step == 0)
            g0 = w->grad;
        CHECK(w->grad == g0);
        bytes[step] = ckpt_tape_bytes(t);
    }
    CHECK(bytes[1] == bytes[2] && bytes[2] == bytes[3]);
    ckpt_tape_free(t);
    ckpt_module_free(m);
}

TEST(graph_module_call__layer_call_errors)
{
    ckpt_error err = {0};
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    ckpt_module *lin = ckpt_nn_linear(NULL, NULL, 4, 3, NULL, NULL, &err);
    ckpt_module *emb = ckpt_nn_embedding(NULL, NULL, 5, 2, NULL, NULL, &err);
    ckpt_module *bn = ckpt_nn_batchnorm(NULL, NULL, 2, 3, NULL, &err);
    int64_t ns[1] = {4};
    ckpt_module *ln = ckpt_nn_layernorm(NULL, NULL, 1, ns, NULL, &err);
    ckpt_module *box = ckpt_module_new("Box", &err);
    CHECK(t && lin && emb && bn && ln && box);
    ckpt_var *f = ckpt_tape_full(t, 2, (int64_t[]){2, 3}, 1.0f, &err);
    ckpt_var *i = ckpt_tape_index(t, 1, (int64_t[]){2}, (int64_t[]){1, 7}, &err);
    ckpt_error_clear(&err);
    CHECK(!ckpt_module_call(lin, f, &err) && err.code == CKPT_E_SHAPE &&
          strstr(err.msg, "linear"));
    ckpt_error_clear(&err);
    CHECK(!ckpt_module_call(lin, i, &err) && err.code == CKPT_E_ARG &&
          strstr(err.msg, "float32"));
    ckpt_error_clear(&err);
    CHECK(!ckpt_module_call(emb, f, &err) && err.code == CKPT_E_ARG && strstr(err.msg, "int64"));
    ckpt_error_clear(&err);
    CHECK(!ckpt_module_call(emb, i, &err) && err.code == CKPT_E_ARG &&
          strstr(err.msg, "out of range"));
    ckpt_error_clear(&err);
    CHECK(!ckpt_module_call(bn, f, &err) && err.code == CKPT_E_SHAPE && strstr(err.msg, "4D"));
    ckpt_error_clear(&err);
    CHECK(!ckpt_module_call(ln, f, &err) && err.code == CKPT_E_SHAPE &&
          strstr(err.msg, "normalized_shape"));
    ckpt_error_clear(&err);
    CHECK(!ckpt_module_call(box, f, &err) && err.code == CKPT_E_ARG &&
          strstr(err.msg, "no forward"));
    ckpt_module_free(lin);
    ckpt_module_free(emb);
    ckpt_module_free(bn);
    ckpt_module_free(ln);
    ckpt_module_free(box);
    ckpt_tape_free(t);
}

TEST(graph_module_call__conv_padding_attributes_and_refusals)
{
    ckpt_error err = {0};
    ckpt_module *m = build_conv_pad(&err);
    CHECK(m != NULL);
    CHECK_STR(ckpt_module_attr_str(ckpt_module_find(m, "0"), "padding"), "same");
    CHECK_STR(ckpt_module_attr_str(ckpt_module_find(m, "0"), "padding_mode"), "reflect");
    CHECK_STR(ckpt_module_attr_str(ckpt_module_find(m, "2"), "padding"), "valid");
    CHECK_STR(ckpt_module_attr_str(ckpt_module_find(m, "3"), "padding_mode"), "circular");
    ckpt_module_free(m);
    ckpt_conv_opts strided = {.stride = {2, 2}, .padding_kind = CKPT_CONV_PAD_SAME};
    CHECK(!ckpt_nn_conv2d(NULL, NULL, 2, 2, 3, 3, &strided, NULL, &err));
    CHECK(err.code == CKPT_E_ARG && strstr(err.msg, "strided"));
    ckpt_conv_opts tmode = {.padding_mode = CKPT_PADMODE_REFLECT};
    ckpt_error_clear(&err);
    CHECK(!ckpt_nn_conv_transpose2d(NULL, NULL, 2, 2, 3, 3, &tmode, NULL, &err));
    CHECK(err.code == CKPT_E_ARG && strstr(err.msg, "zeros"));
    /* reflect padding must be smaller than the input */
    ckpt_conv_opts big = {.padding = {3, 3}, .padding_mode = CKPT_PADMODE_REFLECT};
    m = ckpt_nn_conv2d(NULL, NULL, 1, 1, 3, 3, &big, NULL, &err);
    CHECK(m != NULL);
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    ckpt_var *x = ckpt_tape_full(t, 4, (int64_t[]){1, 1, 3, 3}, 1.0f, &err);
    ckpt_error_clear(&err);
    CHECK(!ckpt_module_call(m, x, &err) && err.code == CKPT_E_SHAPE);
    ckpt_error_clear(&err);
    ckpt_nn_act in = {0}, out = {0};
    CHECK(ckpt_nn_act_resize(&in, 4, (int64_t[]){1, 1, 3, 3}, &err) == 0);
    for (int i = 0; i < 9; i++)
        in.data[i] = 1.0f;
    CHECK(ckpt_nn_forward(m, &in, &out, NULL, &err) == CKPT_E_SHAPE);
    ckpt_nn_act_free(&in);
    ckpt_nn_act_free(&out);
    ckpt_tape_free(t);
    ckpt_module_free(m);
}

TEST_MAIN()
