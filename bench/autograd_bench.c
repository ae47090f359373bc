/* bench/autograd_bench.c - training and inference steps driven by the autograd
 * tape, for bench/autograd_bench.py (which times torch eager on the same
 * models and batch sizes, one thread each).
 *
 *   autograd_bench MODEL MODE ITERS
 *     MODEL: cnn | resnet | transformer
 *     MODE:  train   (forward + backward + SGD momentum step, tape reset)
 *            infer   (forward only, grad mode off, on the tape)
 *            explicit (forward only through ckpt_nn_forward, the layer
 *                      library's explicit-kernel path; cnn and transformer)
 *   prints "us_per_step X" (best of 3 runs of ITERS steps after 10 warm-up steps)
 *
 * The models are the ones of bench/autograd_bench.py; weights come from ckpt's
 * own initialisation (timing does not depend on values).  Inputs are
 * deterministic pseudo-random data. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt/ckpt.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static void die(const char *what, const ckpt_error *err)
{
    char b[512];
    fprintf(stderr, "autograd_bench: %s: %s\n", what, ckpt_error_format(err, b, sizeof b));
    exit(2);
}

/* ---------------------------------------------------------------- models */

static ckpt_module *cnn(ckpt_rng *rng, ckpt_error *err)
{
    ckpt_module *root = ckpt_module_new("Net", err);
    ckpt_module *m = root ? ckpt_nn_sequential(root, "body", err) : NULL;
    ckpt_conv_opts co = {.padding = {1, 1}};
    if (!m || !ckpt_nn_conv2d(m, "0", 1, 8, 3, 3, &co, rng, err) ||
        !ckpt_nn_activation(m, "1", CKPT_ACT_RELU, 0, err) ||
        !ckpt_nn_maxpool2d(m, "2", &(ckpt_pool_opts){.kernel = {2, 2}}, err) ||
        !ckpt_nn_flatten(m, "3", 1, -1, err) || !ckpt_nn_linear(m, "4", 128, 10, NULL, rng, err))
        die("cnn", err);
    return root;
}

/* ResNet-style: tests/guide/resnet_torch.py's Net, with C = 8 */
static ckpt_var *block_fwd(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err)
{
    (void)ctx;
    ckpt_var *y = ckpt_module_call_child(self, "conv1", x, err);
    y = y ? ckpt_module_call_child(self, "bn1", y, err) : NULL;
    y = y ? ckpt_f_relu(y, err) : NULL;
    y = y ? ckpt_module_call_child(self, "conv2", y, err) : NULL;
    y = y ? ckpt_module_call_child(self, "bn2", y, err) : NULL;
    y = y ? ckpt_f_add(x, y, err) : NULL;
    return y ? ckpt_f_relu(y, err) : NULL;
}

static ckpt_var *resnet_fwd(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err)
{
    (void)ctx;
    ckpt_var *y = ckpt_module_call_child(self, "stem", x, err);
    y = y ? ckpt_module_call_child(self, "blocks", y, err) : NULL;
    y = y ? ckpt_module_call_child(self, "pool", y, err) : NULL;
    y = y ? ckpt_f_flatten(y, 2, -1, err) : NULL;
    y = y ? ckpt_f_transpose(y, 1, 2, err) : NULL;
    y = y ? ckpt_module_call_child(self, "head", y, err) : NULL;
    y = y ? ckpt_f_mean(y, 1, (int[]){1}, false, err) : NULL;
    return y ? ckpt_module_call_child(self, "fc", y, err) : NULL;
}

static ckpt_module *resnet(ckpt_rng *rng, ckpt_error *err)
{
    const int64_t c = 8;
    ckpt_conv_opts co = {.padding = {1, 1}, .no_bias = true};
    ckpt_module *m = ckpt_module_new("Net", err);
    ckpt_module *stem = m ? ckpt_nn_sequential(m, "stem", err) : NULL;
    if (!stem || !ckpt_nn_conv2d(stem, "0", 1, c, 3, 3, &co, rng, err) ||
        !ckpt_nn_batchnorm(stem, "1", 2, c, NULL, err) ||
        !ckpt_nn_activation(stem, "2", CKPT_ACT_RELU, 0, err))
        die("resnet stem", err);
    ckpt_module *blocks = ckpt_nn_sequential(m, "blocks", err);
    for (int i = 0; i < 2 && blocks; i++) {
        char name[4];
        snprintf(name, sizeof name, "%d", i);
        ckpt_module *b = ckpt_module_add(blocks, name, "Block", err);
        if (!b || !ckpt_nn_conv2d(b, "conv1", c, c, 3, 3, &co, rng, err) ||
            !ckpt_nn_batchnorm(b, "bn1", 2, c, NULL, err) ||
            !ckpt_nn_conv2d(b, "conv2", c, c, 3, 3, &co, rng, err) ||
            !ckpt_nn_batchnorm(b, "bn2", 2, c, NULL, err) ||
            ckpt_module_set_forward(b, block_fwd, NULL, err) < 0)
            die("resnet block", err);
    }
    if (!blocks || !ckpt_nn_maxpool2d(m, "pool", &(ckpt_pool_opts){.kernel = {2, 2}}, err) ||
        !ckpt_nn_transformer_encoder_layer(m, "head", c, 2,
                                           &(ckpt_transformer_opts){.dim_feedforward = 32,
                                                                    .no_dropout = true,
                                                                    .activation = CKPT_ACT_GELU,
                                                                    .batch_first = true},
                                           rng, err) ||
        !ckpt_nn_linear(m, "fc", c, 10, NULL, rng, err) ||
        ckpt_module_set_forward(m, resnet_fwd, NULL, err) < 0)
        die("resnet", err);
    return m;
}

/* 2 encoder layers (d_model 128, 4 heads, ff 512, post-norm relu, no dropout),
 * mean over the sequence, Linear(128, 10) */
static ckpt_var *tf_fwd(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err)
{
    (void)ctx;
    ckpt_var *y = ckpt_module_call_child(self, "layers.0", x, err);
    y = y ? ckpt_module_call_child(self, "layers.1", y, err) : NULL;
    y = y ? ckpt_f_mean(y, 1, (int[]){1}, false, err) : NULL;
    return y ? ckpt_module_call_child(self, "fc", y, err) : NULL;
}

static ckpt_module *transformer(ckpt_rng *rng, ckpt_error *err)
{
    ckpt_module *m = ckpt_module_new("Net", err);
    ckpt_module *layers = m ? ckpt_nn_module_list(m, "layers", err) : NULL;
    if (!layers ||
        !ckpt_nn_transformer_encoder_layer(layers, "0", 128, 4,
                                           &(ckpt_transformer_opts){.dim_feedforward = 512,
                                                                    .no_dropout = true,
                                                                    .batch_first = true},
                                           rng, err) ||
        !ckpt_nn_transformer_encoder_layer(layers, "1", 128, 4,
                                           &(ckpt_transformer_opts){.dim_feedforward = 512,
                                                                    .no_dropout = true,
                                                                    .batch_first = true},
                                           rng, err) ||
        !ckpt_nn_linear(m, "fc", 128, 10, NULL, rng, err) ||
        ckpt_module_set_forward(m, tf_fwd, NULL, err) < 0)
        die("transformer", err);
    return m;
}

/* ------------------------------------------------------------------ run */

typedef struct bench {
    ckpt_module *m;
    ckpt_tape *tape;
    ckpt_optim *opt;
    int ndim;
    int64_t shape[4];
    float *x;
    int64_t *y;
    int64_t batch;
    bool train;
} bench;

static void step(bench *b, ckpt_error *err)
{
    ckpt_tape_reset(b->tape);
    ckpt_var *x = ckpt_tape_tensor_borrow(b->tape, b->ndim, b->shape, b->x, err);
    ckpt_module *body = ckpt_module_find(b->m, "body");
    ckpt_var *out = x ? ckpt_module_call(body ? body : b->m, x, err) : NULL;
    if (!out)
        die("forward", err);
    if (!b->train)
        return;
    ckpt_var *y = ckpt_tape_index(b->tape, 1, (int64_t[]){b->batch}, b->y, err);
    ckpt_var *loss = y ? ckpt_f_cross_entropy(out, y, -100, 0.0, CKPT_REDUCE_MEAN, err) : NULL;
    ckpt_module_zero_grad(b->m, true);
    if (!loss || ckpt_backward(loss, err) < 0 || ckpt_optim_step(b->opt, err) < 0)
        die("train step", err);
}

static void explicit_step(bench *b, ckpt_nn_act *in, ckpt_nn_act *out, ckpt_nn_act *tmp, bool tf,
                          ckpt_error *err)
{
    if (!tf) {
        if (ckpt_nn_forward(ckpt_module_find(b->m, "body"), in, out, NULL, err) < 0)
            die("explicit forward", err);
        return;
    }
    /* the two layers, then mean and fc by hand (what the explicit path needs) */
    if (ckpt_nn_forward(ckpt_module_find(b->m, "layers.0"), in, tmp, NULL, err) < 0 ||
        ckpt_nn_forward(ckpt_module_find(b->m, "layers.1"), tmp, out, NULL, err) < 0)
        die("explicit forward", err);
    int64_t bt = out->shape[0], t = out->shape[1], d = out->shape[2];
    if (ckpt_nn_act_resize(tmp, 2, (int64_t[]){bt, d}, err) < 0)
        die("resize", err);
    for (int64_t i = 0; i < bt; i++)
        for (int64_t j = 0; j < d; j++) {
            float s = 0;
            for (int64_t k = 0; k < t; k++)
                s += out->data[(i * t + k) * d + j];
            tmp->data[i * d + j] = s / (float)t;
        }
    if (ckpt_nn_forward(ckpt_module_find(b->m, "fc"), tmp, out, NULL, err) < 0)
        die("explicit fc", err);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr,
                "usage: autograd_bench cnn|resnet|transformer train|infer|explicit ITERS\n");
        return 2;
    }
    const char *model = argv[1], *mode = argv[2];
    int iters = atoi(argv[3]);
    ckpt_error err = {0};
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 7);
    bench b = {.train = strcmp(mode, "train") == 0};
    bool tf = false;
    if (strcmp(model, "cnn") == 0) {
        b.m = cnn(&rng, &err);
        b.batch = 32;
        b.ndim = 4;
        memcpy(b.shape, (int64_t[]){32, 1, 8, 8}, sizeof b.shape);
    } else if (strcmp(model, "resnet") == 0) {
        b.m = resnet(&rng, &err);
        b.batch = 32;
        b.ndim = 4;
        memcpy(b.shape, (int64_t[]){32, 1, 8, 8}, sizeof b.shape);
    } else if (strcmp(model, "transformer") == 0) {
        b.m = transformer(&rng, &err);
        b.batch = 32;
        b.ndim = 3;
        memcpy(b.shape, (int64_t[]){32, 64, 128, 0}, sizeof b.shape);
        tf = true;
    } else {
        fprintf(stderr, "autograd_bench: unknown model %s\n", model);
        return 2;
    }
    size_t n = 1;
    for (int i = 0; i < b.ndim; i++)
        n *= (size_t)b.shape[i];
    b.x = malloc(n * sizeof(float));
    b.y = malloc((size_t)b.batch * sizeof(int64_t));
    if (!b.x || !b.y)
        return 2;
    for (size_t i = 0; i < n; i++)
        b.x[i] = (float)(ckpt_rng_uniform(&rng) * 2 - 1);
    for (int64_t i = 0; i < b.batch; i++)
        b.y[i] = i % 10;
    b.tape = ckpt_tape_new(NULL, &err);
    b.opt = ckpt_optim_new(CKPT_OPTIM_SGD, "lr=0.01, momentum=0.9", &err);
    if (!b.tape || !b.opt || ckpt_optim_add_module(b.opt, b.m, NULL, &err) < 0)
        die("setup", &err);
    ckpt_module_train(b.m, b.train);
    ckpt_tape_set_grad_enabled(b.tape, b.train);
    bool expl = strcmp(mode, "explicit") == 0;
    ckpt_nn_act in = {0}, out = {0}, tmp = {0};
    if (expl) {
        if (ckpt_nn_act_resize(&in, b.ndim, b.shape, &err) < 0)
            die("act", &err);
        memcpy(in.data, b.x, n * sizeof(float));
    }
    double best = 1e30;
    for (int rep = 0; rep < 3; rep++) {
        for (int i = 0; i < 10; i++)
            expl ? explicit_step(&b, &in, &out, &tmp, tf, &err) : step(&b, &err);
        double t0 = now_us();
        for (int i = 0; i < iters; i++)
            expl ? explicit_step(&b, &in, &out, &tmp, tf, &err) : step(&b, &err);
        double us = (now_us() - t0) / iters;
        if (us < best)
            best = us;
    }
    printf("us_per_step %.2f\n", best);
    ckpt_nn_act_free(&in);
    ckpt_nn_act_free(&out);
    ckpt_nn_act_free(&tmp);
    ckpt_optim_free(b.opt);
    ckpt_tape_free(b.tape);
    ckpt_module_free(b.m);
    free(b.x);
    free(b.y);
    return 0;
}
