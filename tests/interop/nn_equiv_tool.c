/* tests/interop/nn_equiv_tool.c - the C side of nn_equiv.py: the test models
 * built from the layer library, forward on an input torch saved.
 *
 *   nn_equiv_tool run MODEL MODE SD.pt IN.pt OUT.pt SD_OUT.pt
 *       build MODEL, load SD.pt strictly, train() or eval() (MODE), forward
 *       IN.pt's "input", save {"output": y} to OUT.pt and the state dict after
 *       the forward (running statistics) to SD_OUT.pt
 *   nn_equiv_tool init MODEL SEED IN.pt OUT.pt SD_OUT.pt
 *       build MODEL with our own initialisation (seeded), eval forward, save
 *       the output and the state dict (ckpt_module_state_dict + ckpt_save)
 *   nn_equiv_tool bench MODEL BATCH ITERS
 *       time the eval forward (used by bench/nn_bench.py)
 *
 * Models: mlp, lenet, resnet, transformer (post-norm, relu, batch_first),
 * transformer_pre (norm_first, gelu, sequence first). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt/nn.h"
#include "ckpt/torch.h"

#define TRY(expr)                                                                                \
    do {                                                                                         \
        if ((expr) != 0)                                                                         \
            return -1;                                                                           \
    } while (0)
#define NN(expr)                                                                                 \
    do {                                                                                         \
        if (!(expr))                                                                             \
            return NULL;                                                                         \
    } while (0)

static ckpt_conv_opts conv_opts(int64_t stride, int64_t pad, bool no_bias)
{
    ckpt_conv_opts o = {.stride = {stride, stride},
                        .padding = {pad, pad},
                        .dilation = {1, 1},
                        .groups = 1,
                        .no_bias = no_bias};
    return o;
}

/* ------------------------------------------------------------- builders */

static ckpt_module *build_mlp(ckpt_rng *r, ckpt_error *e)
{
    ckpt_module *m = ckpt_nn_sequential(NULL, NULL, e);
    NN(m);
    if (!ckpt_nn_linear(m, "0", 32, 64, NULL, r, e) ||
        !ckpt_nn_activation(m, "1", CKPT_ACT_RELU, 0, e) ||
        !ckpt_nn_linear(m, "2", 64, 64, NULL, r, e) ||
        !ckpt_nn_activation(m, "3", CKPT_ACT_GELU, 0, e) ||
        !ckpt_nn_linear(m, "4", 64, 10, NULL, r, e)) {
        ckpt_module_free(m);
        return NULL;
    }
    return m;
}

static ckpt_module *build_lenet(ckpt_rng *r, ckpt_error *e)
{
    ckpt_module *m = ckpt_nn_sequential(NULL, NULL, e);
    NN(m);
    ckpt_conv_opts p2 = conv_opts(1, 2, false);
    if (!ckpt_nn_conv2d(m, "0", 1, 6, 5, 5, &p2, r, e) ||
        !ckpt_nn_batchnorm(m, "1", 2, 6, NULL, e) ||
        !ckpt_nn_activation(m, "2", CKPT_ACT_RELU, 0, e) ||
        !ckpt_nn_maxpool2d(m, "3", &(ckpt_pool_opts){.kernel = {2, 2}}, e) ||
        !ckpt_nn_conv2d(m, "4", 6, 16, 5, 5, NULL, r, e) ||
        !ckpt_nn_batchnorm(m, "5", 2, 16, NULL, e) ||
        !ckpt_nn_activation(m, "6", CKPT_ACT_RELU, 0, e) ||
        !ckpt_nn_avgpool2d(m, "7", &(ckpt_pool_opts){.kernel = {2, 2}}, e) ||
        !ckpt_nn_flatten(m, "8", 1, -1, e) || !ckpt_nn_linear(m, "9", 400, 120, NULL, r, e) ||
        !ckpt_nn_batchnorm(m, "10", 1, 120, NULL, e) ||
        !ckpt_nn_activation(m, "11", CKPT_ACT_RELU, 0, e) ||
        !ckpt_nn_linear(m, "12", 120, 84, NULL, r, e) ||
        !ckpt_nn_activation(m, "13", CKPT_ACT_SILU, 0, e) ||
        !ckpt_nn_linear(m, "14", 84, 10, NULL, r, e) ||
        !ckpt_nn_activation(m, "15", CKPT_ACT_LOGSOFTMAX, 1, e)) {
        ckpt_module_free(m);
        return NULL;
    }
    return m;
}

/* torchvision-style BasicBlock: conv1/bn1/relu/conv2/bn2 (+ downsample) */
static bool basic_block(ckpt_module *parent, const char *name, int64_t in, int64_t out,
                        int64_t stride, ckpt_rng *r, ckpt_error *e)
{
    ckpt_module *b = ckpt_module_add(parent, name, "BasicBlock", e);
    ckpt_conv_opts c1 = conv_opts(stride, 1, true), c2 = conv_opts(1, 1, true);
    ckpt_conv_opts d = conv_opts(stride, 0, true);
    if (!b || !ckpt_nn_conv2d(b, "conv1", in, out, 3, 3, &c1, r, e) ||
        !ckpt_nn_batchnorm(b, "bn1", 2, out, NULL, e) ||
        !ckpt_nn_activation(b, "relu", CKPT_ACT_RELU, 0, e) ||
        !ckpt_nn_conv2d(b, "conv2", out, out, 3, 3, &c2, r, e) ||
        !ckpt_nn_batchnorm(b, "bn2", 2, out, NULL, e))
        return false;
    if (stride != 1 || in != out) {
        ckpt_module *ds = ckpt_nn_sequential(b, "downsample", e);
        if (!ds || !ckpt_nn_conv2d(ds, "0", in, out, 1, 1, &d, r, e) ||
            !ckpt_nn_batchnorm(ds, "1", 2, out, NULL, e))
            return false;
    }
    return true;
}

static ckpt_module *build_resnet(ckpt_rng *r, ckpt_error *e)
{
    ckpt_module *m = ckpt_module_new("ResNet", e);
    NN(m);
    ckpt_conv_opts c = conv_opts(1, 1, true);
    ckpt_module *l1 = NULL, *l2 = NULL;
    if (!ckpt_nn_conv2d(m, "conv1", 3, 8, 3, 3, &c, r, e) ||
        !ckpt_nn_batchnorm(m, "bn1", 2, 8, NULL, e) ||
        !ckpt_nn_activation(m, "relu", CKPT_ACT_RELU, 0, e) ||
        !(l1 = ckpt_nn_sequential(m, "layer1", e)) || !basic_block(l1, "0", 8, 8, 1, r, e) ||
        !basic_block(l1, "1", 8, 8, 1, r, e) || !(l2 = ckpt_nn_sequential(m, "layer2", e)) ||
        !basic_block(l2, "0", 8, 16, 2, r, e) || !basic_block(l2, "1", 16, 16, 1, r, e) ||
        !ckpt_nn_adaptive_avgpool2d(m, "avgpool", 1, 1, e) ||
        !ckpt_nn_linear(m, "fc", 16, 10, NULL, r, e)) {
        ckpt_module_free(m);
        return NULL;
    }
    return m;
}

static ckpt_module *build_transformer(ckpt_rng *r, bool pre, ckpt_error *e)
{
    ckpt_module *m = ckpt_module_new("TransformerEncoder", e);
    NN(m);
    ckpt_module *layers = ckpt_nn_module_list(m, "layers", e);
    for (int i = 0; layers && i < 2; i++) {
        if (!ckpt_nn_transformer_encoder_layer(
                layers, i ? "1" : "0", 32, 4,
                &(ckpt_transformer_opts){.dim_feedforward = 64,
                                         .activation = pre ? CKPT_ACT_GELU : CKPT_ACT_RELU,
                                         .batch_first = !pre,
                                         .norm_first = pre},
                r, e))
            layers = NULL;
    }
    if (!layers) {
        ckpt_module_free(m);
        return NULL;
    }
    return m;
}

static ckpt_module *build(const char *model, ckpt_rng *r, ckpt_error *e)
{
    if (!strcmp(model, "mlp"))
        return build_mlp(r, e);
    if (!strcmp(model, "lenet"))
        return build_lenet(r, e);
    if (!strcmp(model, "resnet"))
        return build_resnet(r, e);
    if (!strcmp(model, "transformer"))
        return build_transformer(r, false, e);
    if (!strcmp(model, "transformer_pre"))
        return build_transformer(r, true, e);
    fprintf(stderr, "unknown model %s\n", model);
    return NULL;
}

/* --------------------------------------------------------------- forward */

typedef struct scratch {
    ckpt_nn_act a, b, c;
} scratch;

static int child_fwd(ckpt_module *m, const char *path, const ckpt_nn_act *in, ckpt_nn_act *out,
                     ckpt_error *e)
{
    ckpt_module *c = ckpt_module_find(m, path);
    if (!c) {
        fprintf(stderr, "no child %s\n", path);
        return -1;
    }
    return ckpt_nn_forward(c, in, out, NULL, e);
}

/* x (in place): relu(bn2(conv2(relu(bn1(conv1(x))))) + identity or downsample(x)) */
static int block_fwd(ckpt_module *b, ckpt_nn_act *x, scratch *s, ckpt_error *e)
{
    TRY(child_fwd(b, "conv1", x, &s->a, e));
    TRY(child_fwd(b, "bn1", &s->a, &s->a, e));
    TRY(child_fwd(b, "relu", &s->a, &s->a, e));
    TRY(child_fwd(b, "conv2", &s->a, &s->b, e));
    TRY(child_fwd(b, "bn2", &s->b, &s->b, e));
    const ckpt_nn_act *id = x;
    if (ckpt_module_find(b, "downsample")) {
        TRY(child_fwd(b, "downsample", x, &s->c, e));
        id = &s->c;
    }
    size_t n = ckpt_nn_act_numel(&s->b);
    if (n != ckpt_nn_act_numel(id))
        return -1;
    for (size_t i = 0; i < n; i++)
        s->b.data[i] += id->data[i];
    TRY(ckpt_nn_act_resize(x, s->b.ndim, s->b.shape, e));
    return child_fwd(b, "relu", &s->b, x, e);
}

static int forward(const char *model, ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out,
                   scratch *s, ckpt_error *e)
{
    if (!strcmp(model, "mlp") || !strcmp(model, "lenet"))
        return ckpt_nn_forward(m, in, out, NULL, e);
    if (!strcmp(model, "resnet")) {
        TRY(child_fwd(m, "conv1", in, out, e));
        TRY(child_fwd(m, "bn1", out, out, e));
        TRY(child_fwd(m, "relu", out, out, e));
        const char *blocks[] = {"layer1.0", "layer1.1", "layer2.0", "layer2.1"};
        for (int i = 0; i < 4; i++)
            TRY(block_fwd(ckpt_module_find(m, blocks[i]), out, s, e));
        TRY(child_fwd(m, "avgpool", out, &s->a, e));
        /* torch.flatten(x, 1) */
        int64_t fl[2] = {s->a.shape[0], s->a.shape[1]};
        s->a.ndim = 2;
        s->a.shape[0] = fl[0];
        s->a.shape[1] = fl[1];
        return child_fwd(m, "fc", &s->a, out, e);
    }
    /* TransformerEncoder: layers in turn */
    TRY(child_fwd(m, "layers.0", in, &s->a, e));
    return child_fwd(m, "layers.1", &s->a, out, e);
}

/* ------------------------------------------------------------------ files */

static int load_input(const char *path, ckpt_nn_act *x, ckpt_error *e)
{
    ckpt_doc *d = ckpt_load(path, NULL, e);
    if (!d)
        return -1;
    const ckpt_obj *t = ckpt_dict_get(ckpt_doc_root(d), "input");
    ckpt_tensor_info ti;
    int rc = -1;
    if (t && ckpt_tensor_get_info(t, &ti) == 0 && ti.dtype == CKPT_F32 && ti.contiguous &&
        ckpt_nn_act_resize(x, ti.ndim, ti.shape, e) == 0) {
        memcpy(x->data, ckpt_tensor_data(t), (size_t)ti.nbytes);
        rc = 0;
    }
    ckpt_doc_free(d);
    return rc;
}

static int save_output(const char *path, const ckpt_nn_act *y, ckpt_error *e)
{
    ckpt_doc *d = ckpt_doc_new(NULL, e);
    if (!d)
        return -1;
    size_t n = ckpt_nn_act_numel(y);
    ckpt_storage *s = ckpt_storage_new_borrow(d, CKPT_F32, y->data, n * 4, e);
    ckpt_obj *t = s ? ckpt_tensor_new(d, s, CKPT_F32, y->ndim, y->shape, NULL, 0, e) : NULL;
    ckpt_obj *root = ckpt_dict_new(d, CKPT_DICT_PLAIN);
    int rc = -1;
    if (t && root && ckpt_dict_set_str(d, root, "output", t, NULL) == 0)
        rc = ckpt_save(path, root, NULL, e);
    ckpt_doc_free(d);
    return rc;
}

static int save_state_dict(ckpt_module *m, const char *path, ckpt_error *e)
{
    ckpt_doc *d = ckpt_doc_new(NULL, e);
    if (!d)
        return -1;
    ckpt_obj *sd = ckpt_module_state_dict(m, d, NULL, e);
    int rc = sd ? ckpt_save(path, sd, NULL, e) : -1;
    ckpt_doc_free(d);
    return rc;
}

static int load_state_dict(ckpt_module *m, const char *path, ckpt_error *e)
{
    ckpt_doc *d = ckpt_load(path, NULL, e);
    if (!d)
        return -1;
    ckpt_load_state_dict_opts o = {0}; /* strict */
    int rc = ckpt_module_load_state_dict(m, ckpt_doc_root(d), &o, NULL, e);
    ckpt_doc_free(d);
    return rc;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int bench(const char *model, int batch, int iters, ckpt_error *e)
{
    ckpt_rng r;
    ckpt_rng_seed(&r, 1);
    ckpt_module *m = build(model, &r, e);
    if (!m)
        return -1;
    ckpt_module_train(m, false);
    ckpt_nn_act x = {0}, y = {0};
    scratch s = {{0}, {0}, {0}};
    int64_t shape[4];
    int nd;
    if (!strcmp(model, "mlp"))
        nd = 2, shape[0] = batch, shape[1] = 32;
    else if (!strcmp(model, "lenet"))
        nd = 4, shape[0] = batch, shape[1] = 1, shape[2] = 28, shape[3] = 28;
    else if (!strcmp(model, "resnet"))
        nd = 4, shape[0] = batch, shape[1] = 3, shape[2] = 32, shape[3] = 32;
    else if (!strcmp(model, "transformer"))
        nd = 3, shape[0] = batch, shape[1] = 16, shape[2] = 32;
    else
        nd = 3, shape[0] = 16, shape[1] = batch, shape[2] = 32;
    int rc = ckpt_nn_act_resize(&x, nd, shape, e);
    for (size_t i = 0; rc == 0 && i < ckpt_nn_act_numel(&x); i++)
        x.data[i] = (float)ckpt_rng_normal(&r);
    /* warm up, then time: best of 5 blocks of `iters` forwards */
    double best = 1e30;
    for (int k = 0; rc == 0 && k < 6; k++) {
        double t0 = now();
        for (int i = 0; rc == 0 && i < iters; i++)
            rc = forward(model, m, &x, &y, &s, e);
        double dt = (now() - t0) / iters;
        if (k > 0 && dt < best)
            best = dt;
    }
    if (rc == 0)
        printf("{\"side\":\"c\",\"model\":\"%s\",\"batch\":%d,\"sec_per_forward\":%.9g}\n", model,
               batch, best);
    ckpt_nn_act_free(&x);
    ckpt_nn_act_free(&y);
    ckpt_nn_act_free(&s.a);
    ckpt_nn_act_free(&s.b);
    ckpt_nn_act_free(&s.c);
    ckpt_module_free(m);
    return rc;
}

int main(int argc, char **argv)
{
    ckpt_error e = {0};
    int rc = -1;
    if (argc == 5 && !strcmp(argv[1], "bench")) {
        rc = bench(argv[2], atoi(argv[3]), atoi(argv[4]), &e);
    } else if (argc == 8 && (!strcmp(argv[1], "run") || !strcmp(argv[1], "init"))) {
        const bool init = !strcmp(argv[1], "init");
        const char *model = argv[2];
        ckpt_rng r;
        ckpt_rng_seed(&r, init ? strtoull(argv[3], NULL, 10) : 0);
        ckpt_module *m = build(model, init ? &r : NULL, &e);
        ckpt_nn_act x = {0}, y = {0};
        scratch s = {{0}, {0}, {0}};
        if (m && (init || load_state_dict(m, argv[4], &e) == 0)) {
            ckpt_module_train(m, !init && !strcmp(argv[3], "train"));
            if (load_input(argv[5], &x, &e) == 0 && forward(model, m, &x, &y, &s, &e) == 0 &&
                save_output(argv[6], &y, &e) == 0 && save_state_dict(m, argv[7], &e) == 0)
                rc = 0;
        }
        ckpt_nn_act_free(&x);
        ckpt_nn_act_free(&y);
        ckpt_nn_act_free(&s.a);
        ckpt_nn_act_free(&s.b);
        ckpt_nn_act_free(&s.c);
        ckpt_module_free(m);
    } else {
        fprintf(stderr, "usage: nn_equiv_tool run MODEL train|eval SD IN OUT SD_OUT\n"
                        "       nn_equiv_tool init MODEL SEED - IN OUT SD_OUT\n"
                        "       nn_equiv_tool bench MODEL BATCH ITERS\n");
        return 2;
    }
    if (rc != 0) {
        char b[1024];
        fprintf(stderr, "nn_equiv_tool: %s\n", ckpt_error_format(&e, b, sizeof b));
        return 1;
    }
    return 0;
}
