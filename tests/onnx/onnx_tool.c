/*
 * tests/onnx/onnx_tool.c - the C side of the ONNX export/simplify/write
 * checks (tests/onnx/export_check.py, simplify_check.py, write_check.py).
 *
 *   onnx_tool resave IN.onnx OUT.onnx
 *   onnx_tool export KIND WEIGHTS.pt OUT.onnx IN.f32 SHAPE OUT.f32 [--opset N] [--keep-bn]
 *             [--int64]
 *             [--dynamic-batch]
 *       builds the C model KIND (mlp, cnn, lstm, gru, transformer[_nf], embed, fconv, custom) with the
 *       torch-written weights, exports it, and writes the C model's output on
 *       the input (raw float32, SHAPE "2,3,8,8"); prints "nodes N".
 *   onnx_tool simplify IN.onnx OUT.onnx       prints the report
 *   onnx_tool run MODEL.onnx IN.f32 SHAPE OUT.f32   ckpt's session on one input
 *   onnx_tool nodes MODEL.onnx                 prints the node count
 */
#define _XOPEN_SOURCE 700
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/autograd.h"
#include "ckpt/nn.h"
#include "ckpt/onnx.h"

static int die(const char *what, const ckpt_error *err)
{
    char b[1024];
    fprintf(stderr, "onnx_tool: %s: %s\n", what, err ? ckpt_error_format(err, b, sizeof b) : "");
    return 2;
}

static int parse_shape(const char *s, int64_t *shape)
{
    int n = 0;
    while (*s && n < 8) {
        char *end;
        shape[n++] = strtoll(s, &end, 10);
        s = *end == ',' ? end + 1 : end;
    }
    return n;
}

static float *read_f32(const char *path, size_t n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    float *p = malloc(n * sizeof(float) + 1);
    if (p && fread(p, sizeof(float), n, f) != n) {
        free(p);
        p = NULL;
    }
    fclose(f);
    return p;
}

static int write_f32(const char *path, const float *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(p, sizeof(float), n, f);
    fclose(f);
    return w == n ? 0 : -1;
}

/* ------------------------------------------------------------ the C models */

typedef struct net {
    ckpt_module *root;
} net;

/* lstm/gru: y = fc(rnn(x)[:, -1]) (batch_first) */
static ckpt_var *rnn_forward(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err)
{
    (void)ctx;
    ckpt_var *y = ckpt_module_call_child(self, "rnn", x, err);
    if (!y)
        return NULL;
    y = ckpt_f_select(y, 1, -1, err);
    return y ? ckpt_module_call_child(self, "fc", y, err) : NULL;
}

/* custom: h = relu(fc1(x)); h = h * 2 + 1; h = cat([h, sigmoid(h)], -1);
 * h = h.reshape(B, 2, -1).sum(1); softmax(fc2(h), -1) */
static ckpt_var *custom_forward(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err)
{
    (void)ctx;
    ckpt_tape *t = ckpt_var_tape(x);
    ckpt_var *w = ckpt_module_var(self, "fc1.weight", t, err);
    ckpt_var *b = ckpt_module_var(self, "fc1.bias", t, err);
    if (!w || !b)
        return NULL;
    ckpt_var *h = ckpt_f_linear(x, w, b, err);
    h = h ? ckpt_f_relu(h, err) : NULL;
    h = h ? ckpt_f_mul_scalar(h, 2.0, err) : NULL;
    h = h ? ckpt_f_add_scalar(h, 1.0, err) : NULL;
    if (!h)
        return NULL;
    ckpt_var *s = ckpt_f_sigmoid(h, err);
    if (!s)
        return NULL;
    ckpt_var *pair[2] = {h, s};
    h = ckpt_f_cat(pair, 2, -1, err);
    if (!h)
        return NULL;
    int64_t shp[3] = {ckpt_var_dim(h, 0), 2, -1};
    h = ckpt_f_reshape(h, 3, shp, err);
    int d1 = 1;
    h = h ? ckpt_f_sum(h, 1, &d1, false, err) : NULL;
    h = h ? ckpt_module_call_child(self, "fc2", h, err) : NULL;
    return h ? ckpt_f_softmax(h, -1, err) : NULL;
}

/* embed: fc(mean(emb(idx), 1)) on int64 token ids */
static ckpt_var *embed_forward(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err)
{
    (void)ctx;
    ckpt_var *e = ckpt_module_call_child(self, "emb", x, err);
    int d1 = 1;
    e = e ? ckpt_f_mean(e, 1, &d1, false, err) : NULL;
    return e ? ckpt_module_call_child(self, "fc", e, err) : NULL;
}

/* fconv: functional conv/pool ops on the children's weights:
 * c1 (3x3 'same', reflect) -> relu -> GroupNorm(2, 8) -> max_pool2d(3, 2, 1) -> c2 (stride 2, pad 1,
 * groups 2) -> avg_pool2d(2, ceil_mode) -> adaptive_avg_pool2d(1) -> flatten -> fc */
static ckpt_var *fconv_forward(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err)
{
    (void)ctx;
    ckpt_tape *t = ckpt_var_tape(x);
    ckpt_var *w1 = ckpt_module_var(self, "c1.weight", t, err);
    ckpt_var *b1 = ckpt_module_var(self, "c1.bias", t, err);
    ckpt_var *w2 = ckpt_module_var(self, "c2.weight", t, err);
    ckpt_var *b2 = ckpt_module_var(self, "c2.bias", t, err);
    if (!w1 || !b1 || !w2 || !b2)
        return NULL;
    ckpt_conv_opts o1 = {0};
    o1.padding_kind = CKPT_CONV_PAD_SAME;
    o1.padding_mode = CKPT_PADMODE_REFLECT;
    ckpt_var *h = ckpt_f_conv2d(x, w1, b1, &o1, err);
    h = h ? ckpt_f_relu(h, err) : NULL;
    h = h ? ckpt_module_call_child(self, "gn", h, err) : NULL;
    ckpt_pool_opts p1 = {{3, 3}, {2, 2}, {1, 1}, {1, 1}, false, false, 0};
    h = h ? ckpt_f_max_pool2d(h, &p1, err) : NULL;
    ckpt_conv_opts o2 = {0};
    o2.stride[0] = o2.stride[1] = 2;
    o2.padding[0] = o2.padding[1] = 1;
    o2.groups = 2;
    h = h ? ckpt_f_conv2d(h, w2, b2, &o2, err) : NULL;
    ckpt_pool_opts p2 = {{2, 2}, {0, 0}, {0, 0}, {0, 0}, true, false, 0};
    h = h ? ckpt_f_avg_pool2d(h, &p2, err) : NULL;
    h = h ? ckpt_f_adaptive_avg_pool2d(h, 1, 1, err) : NULL;
    h = h ? ckpt_f_flatten(h, 1, -1, err) : NULL;
    return h ? ckpt_module_call_child(self, "fc", h, err) : NULL;
}

static ckpt_module *build(const char *kind, ckpt_error *err)
{
    ckpt_module *m = NULL;
    if (!strcmp(kind, "mlp")) {
        m = ckpt_nn_sequential(NULL, "", err);
        ckpt_nn_linear(m, "0", 32, 64, NULL, NULL, err);
        ckpt_nn_activation(m, "1", CKPT_ACT_RELU, 0, err);
        ckpt_nn_dropout(m, "2", 0.1, err);
        ckpt_nn_linear(m, "3", 64, 64, NULL, NULL, err);
        ckpt_nn_activation(m, "4", CKPT_ACT_GELU, 0, err);
        ckpt_nn_linear(m, "5", 64, 10, NULL, NULL, err);
        ckpt_nn_activation(m, "6", CKPT_ACT_SOFTMAX, -1, err);
    } else if (!strcmp(kind, "cnn")) {
        ckpt_conv_opts co = {0};
        co.padding[0] = co.padding[1] = 1;
        ckpt_pool_opts po = {0};
        po.kernel[0] = po.kernel[1] = 2;
        m = ckpt_nn_sequential(NULL, "", err);
        ckpt_nn_conv2d(m, "0", 3, 8, 3, 3, &co, NULL, err);
        ckpt_nn_batchnorm(m, "1", 2, 8, NULL, err);
        ckpt_nn_activation(m, "2", CKPT_ACT_RELU, 0, err);
        ckpt_nn_maxpool2d(m, "3", &po, err);
        ckpt_nn_conv2d(m, "4", 8, 16, 3, 3, &co, NULL, err);
        ckpt_nn_batchnorm(m, "5", 2, 16, NULL, err);
        ckpt_nn_activation(m, "6", CKPT_ACT_RELU, 0, err);
        ckpt_nn_adaptive_avgpool2d(m, "7", 1, 1, err);
        ckpt_nn_flatten(m, "8", 1, -1, err);
        ckpt_nn_linear(m, "9", 16, 10, NULL, NULL, err);
    } else if (!strcmp(kind, "lstm") || !strcmp(kind, "gru")) {
        m = ckpt_module_new("Net", err);
        ckpt_rnn_opts o = {0};
        o.batch_first = true;
        if (kind[0] == 'l') {
            o.num_layers = 2;
            ckpt_nn_lstm(m, "rnn", 8, 16, &o, NULL, err);
            ckpt_nn_linear(m, "fc", 16, 4, NULL, NULL, err);
        } else {
            o.bidirectional = true;
            ckpt_nn_gru(m, "rnn", 8, 16, &o, NULL, err);
            ckpt_nn_linear(m, "fc", 32, 4, NULL, NULL, err);
        }
        ckpt_module_set_forward(m, rnn_forward, NULL, err);
    } else if (!strcmp(kind, "transformer") || !strcmp(kind, "transformer_nf")) {
        /* TransformerEncoder(TransformerEncoderLayer(32, 4, 64[, gelu, norm_first]), 2) */
        ckpt_transformer_opts o = {0};
        o.dim_feedforward = 64;
        if (kind[11]) {
            o.activation = CKPT_ACT_GELU;
            o.norm_first = true;
        }
        m = ckpt_nn_transformer_encoder(NULL, "", 32, 4, 2, &o, NULL, err);
    } else if (!strcmp(kind, "fconv")) {
        m = ckpt_module_new("Net", err);
        ckpt_conv_opts o1 = {0};
        o1.padding_kind = CKPT_CONV_PAD_SAME;
        o1.padding_mode = CKPT_PADMODE_REFLECT;
        ckpt_nn_conv2d(m, "c1", 3, 8, 3, 3, &o1, NULL, err);
        ckpt_nn_groupnorm(m, "gn", 2, 8, NULL, err);
        ckpt_conv_opts o2 = {0};
        o2.stride[0] = o2.stride[1] = 2;
        o2.padding[0] = o2.padding[1] = 1;
        o2.groups = 2;
        ckpt_nn_conv2d(m, "c2", 8, 8, 3, 3, &o2, NULL, err);
        ckpt_nn_linear(m, "fc", 8, 4, NULL, NULL, err);
        ckpt_module_set_forward(m, fconv_forward, NULL, err);
    } else if (!strcmp(kind, "embed")) {
        m = ckpt_module_new("Net", err);
        ckpt_nn_embedding(m, "emb", 50, 16, NULL, NULL, err);
        ckpt_nn_linear(m, "fc", 16, 3, NULL, NULL, err);
        ckpt_module_set_forward(m, embed_forward, NULL, err);
    } else if (!strcmp(kind, "custom")) {
        m = ckpt_module_new("Net", err);
        ckpt_nn_linear(m, "fc1", 16, 24, NULL, NULL, err);
        ckpt_nn_linear(m, "fc2", 24, 5, NULL, NULL, err);
        ckpt_module_set_forward(m, custom_forward, NULL, err);
    }
    if (m && err->code) {
        ckpt_module_free(m);
        return NULL;
    }
    return m;
}

static int cmd_export(int argc, char **argv)
{
    if (argc < 7)
        return die("usage: export KIND WEIGHTS OUT.onnx IN.f32 SHAPE OUT.f32 [...]", NULL);
    ckpt_error err = {0};
    ckpt_onnx_export_opts o = {0};
    int64_t shape[8];
    o.input_ndim = parse_shape(argv[5], shape);
    o.input_shape = shape;
    const char *dyn[8] = {"batch"};
    const char *odyn[8] = {"batch"};
    for (int i = 7; i < argc; i++) {
        if (!strcmp(argv[i], "--opset") && i + 1 < argc)
            o.opset = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--keep-bn"))
            o.keep_batchnorm = true;
        else if (!strcmp(argv[i], "--int64"))
            o.input_int64 = true;
        else if (!strcmp(argv[i], "--dynamic-batch")) {
            o.input_dynamic = dyn;
            o.output_dynamic = odyn;
        }
    }
    ckpt_module *m = build(argv[1], &err);
    if (!m)
        return die("build", &err);
    if (ckpt_module_load(m, argv[2], NULL, NULL, &err) != 0)
        return die("load weights", &err);
    ckpt_module_train(m, false);
    size_t n = 1;
    for (int i = 0; i < o.input_ndim; i++)
        n *= (size_t)shape[i];
    /* int64 ids are read as pairs of float-sized words */
    float *x = read_f32(argv[4], o.input_int64 ? 2 * n : n);
    if (!x)
        return die("read input", NULL);
    o.input_data = x;
    if (ckpt_onnx_export(m, &o, argv[3], &err) != 0)
        return die("export", &err);
    ckpt_onnx_model *om = ckpt_onnx_load(argv[3], NULL, &err);
    if (!om)
        return die("reload", &err);
    ckpt_onnx_info info;
    ckpt_onnx_get_info(om, &info);
    printf("nodes %zu\n", info.n_nodes);
    ckpt_onnx_model_free(om);
    /* the C model's own output, grad mode off */
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    ckpt_tape_set_grad_enabled(t, false);
    ckpt_var *xv = o.input_int64
                       ? ckpt_tape_index(t, o.input_ndim, shape, (const int64_t *)(void *)x, &err)
                       : ckpt_tape_tensor(t, o.input_ndim, shape, x, &err);
    ckpt_var *y = xv ? ckpt_module_call(m, xv, &err) : NULL;
    if (!y)
        return die("forward", &err);
    if (write_f32(argv[6], ckpt_var_data(y), (size_t)ckpt_var_numel(y)) != 0)
        return die("write output", NULL);
    ckpt_tape_free(t);
    ckpt_module_free(m);
    free(x);
    return 0;
}

static int cmd_simplify(int argc, char **argv)
{
    if (argc < 3)
        return die("usage: simplify IN OUT", NULL);
    ckpt_error err = {0};
    ckpt_onnx_model *m = ckpt_onnx_load(argv[1], NULL, &err);
    if (!m)
        return die("load", &err);
    ckpt_onnx_simplify_report r;
    ckpt_onnx_model *s = ckpt_onnx_simplify(m, NULL, &r, &err);
    if (!s)
        return die("simplify", &err);
    if (ckpt_onnx_save(s, argv[2], &err) != 0)
        return die("save", &err);
    printf("nodes_before %d\nnodes_after %d\nfolded %d\nidentities %d\nbatchnorms %d\ngemms %d\n"
           "dead %d\nran %d\n",
           r.nodes_before, r.nodes_after, r.folded, r.identities_removed, r.batchnorms_folded,
           r.gemms_fused, r.dead_removed, r.ran);
    ckpt_onnx_model_free(s);
    ckpt_onnx_model_free(m);
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    if (argc < 5)
        return die("usage: run MODEL IN.f32 SHAPE OUT.f32", NULL);
    ckpt_error err = {0};
    ckpt_onnx_model *m = ckpt_onnx_load(argv[1], NULL, &err);
    if (!m)
        return die("load", &err);
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
    if (!s)
        return die("session", &err);
    ckpt_onnx_tensor in = {0}, out = {0};
    in.ndim = parse_shape(argv[3], in.shape);
    in.dtype = CKPT_F32;
    size_t n = 1;
    for (int i = 0; i < in.ndim; i++)
        n *= (size_t)in.shape[i];
    in.data = read_f32(argv[2], n);
    in.nbytes = n * sizeof(float);
    if (!in.data)
        return die("read input", NULL);
    if (ckpt_onnx_run(s, &in, 1, &out, 1, &err) != 0)
        return die("run", &err);
    size_t on = 1;
    for (int i = 0; i < out.ndim; i++)
        on *= (size_t)out.shape[i];
    if (write_f32(argv[4], out.data, on) != 0)
        return die("write", NULL);
    free(in.data);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return die("usage: onnx_tool resave|export|simplify|run|nodes ...", NULL);
    ckpt_error err = {0};
    if (!strcmp(argv[1], "resave") && argc >= 4) {
        ckpt_onnx_model *m = ckpt_onnx_load(argv[2], NULL, &err);
        if (!m)
            return die("load", &err);
        int rc = ckpt_onnx_save(m, argv[3], &err);
        ckpt_onnx_model_free(m);
        return rc ? die("save", &err) : 0;
    }
    if (!strcmp(argv[1], "nodes") && argc >= 3) {
        ckpt_onnx_model *m = ckpt_onnx_load(argv[2], NULL, &err);
        if (!m)
            return die("load", &err);
        ckpt_onnx_info info;
        ckpt_onnx_get_info(m, &info);
        printf("%zu\n", info.n_nodes);
        ckpt_onnx_model_free(m);
        return 0;
    }
    if (!strcmp(argv[1], "export"))
        return cmd_export(argc - 1, argv + 1);
    if (!strcmp(argv[1], "simplify"))
        return cmd_simplify(argc - 1, argv + 1);
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    return die("unknown command", NULL);
}
