/* examples/guide/resnet_train.c - a ResNet-style network with custom residual
 * blocks (a C forward function per block), BatchNorm and a GELU transformer
 * head, trained 50 steps with autograd from torch's initial state.
 *
 *   resnet_train DIR   reads DIR/init.pt (torch's model.state_dict()) and
 *                      DIR/batches.pt ({"x": (50,16,1,8,8), "y": (50,16)}),
 *                      writes DIR/out.pt ({"model": ..., "losses": ...})
 *
 * The torch class is Net in tests/guide/resnet_torch.py; docs/MODELS.md walks
 * through this file.  Build: cc resnet_train.c $(pkg-config --cflags --libs ckpt) */
#include <stdio.h>
#include <stdlib.h>

#include <ckpt/ckpt.h>

#define C 8
#define STEPS 50

/* Block.forward: relu(x + bn2(conv2(relu(bn1(conv1(x)))))) */
static ckpt_var *block_forward(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err)
{
    (void)ctx;
    ckpt_var *y = ckpt_module_call_child(self, "conv1", x, err);
    if (y)
        y = ckpt_module_call_child(self, "bn1", y, err);
    if (y)
        y = ckpt_f_relu(y, err);
    if (y)
        y = ckpt_module_call_child(self, "conv2", y, err);
    if (y)
        y = ckpt_module_call_child(self, "bn2", y, err);
    if (y)
        y = ckpt_f_add(x, y, err);
    return y ? ckpt_f_relu(y, err) : NULL;
}

/* Net.forward: pool(blocks(stem(x))) as 16 tokens of C channels -> encoder
 * layer -> mean over tokens -> fc */
static ckpt_var *net_forward(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err)
{
    (void)ctx;
    ckpt_var *y = ckpt_module_call_child(self, "stem", x, err);
    if (y)
        y = ckpt_module_call_child(self, "blocks", y, err);
    if (y)
        y = ckpt_module_call_child(self, "pool", y, err);
    if (y)
        y = ckpt_f_flatten(y, 2, -1, err); /* (B, C, 16) */
    if (y)
        y = ckpt_f_transpose(y, 1, 2, err); /* (B, 16, C) */
    if (y)
        y = ckpt_module_call_child(self, "head", y, err);
    if (y)
        y = ckpt_f_mean(y, 1, (int[]){1}, false, err);
    return y ? ckpt_module_call_child(self, "fc", y, err) : NULL;
}

static ckpt_module *build(ckpt_error *err)
{
    ckpt_conv_opts conv = {.padding = {1, 1}, .no_bias = true};
    ckpt_transformer_opts head = {.dim_feedforward = 32,
                                  .no_dropout = true,
                                  .activation = CKPT_ACT_GELU,
                                  .batch_first = true};
    ckpt_pool_opts pool = {.kernel = {2, 2}};
    ckpt_module *net = ckpt_module_new("Net", err);
    ckpt_module *stem = net ? ckpt_nn_sequential(net, "stem", err) : NULL;
    if (!stem || !ckpt_nn_conv2d(stem, "0", 1, C, 3, 3, &conv, NULL, err) ||
        !ckpt_nn_batchnorm(stem, "1", 2, C, NULL, err) ||
        !ckpt_nn_activation(stem, "2", CKPT_ACT_RELU, 0, err))
        goto fail;
    ckpt_module *blocks = ckpt_nn_sequential(net, "blocks", err);
    for (int i = 0; blocks && i < 2; i++) {
        ckpt_module *b = ckpt_module_add(blocks, i ? "1" : "0", "Block", err);
        if (!b || !ckpt_nn_conv2d(b, "conv1", C, C, 3, 3, &conv, NULL, err) ||
            !ckpt_nn_batchnorm(b, "bn1", 2, C, NULL, err) ||
            !ckpt_nn_conv2d(b, "conv2", C, C, 3, 3, &conv, NULL, err) ||
            !ckpt_nn_batchnorm(b, "bn2", 2, C, NULL, err) ||
            ckpt_module_set_forward(b, block_forward, NULL, err) < 0)
            goto fail;
    }
    if (!blocks || !ckpt_nn_maxpool2d(net, "pool", &pool, err) ||
        !ckpt_nn_transformer_encoder_layer(net, "head", C, 2, &head, NULL, err) ||
        !ckpt_nn_linear(net, "fc", C, 10, NULL, NULL, err) ||
        ckpt_module_set_forward(net, net_forward, NULL, err) < 0)
        goto fail;
    return net;
fail:
    ckpt_module_free(net);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: resnet_train DIR\n");
        return 2;
    }
    char path[4096], msg[512];
    ckpt_error err = {0};
    int rc = 1;
    ckpt_module *net = build(&err);
    ckpt_doc *batches = NULL, *out = NULL;
    ckpt_optim *opt = NULL;
    ckpt_tape *tape = ckpt_tape_new(NULL, &err);
    float losses[STEPS];
    if (!net || !tape)
        goto done;

    /* torch's initial weights, strictly (every key and shape must match) */
    snprintf(path, sizeof path, "%s/init.pt", argv[1]);
    if (ckpt_module_load(net, path, NULL, NULL, &err) < 0)
        goto done;
    snprintf(path, sizeof path, "%s/batches.pt", argv[1]);
    batches = ckpt_load(path, NULL, &err);
    if (!batches)
        goto done;
    const ckpt_obj *xs = ckpt_dict_get(ckpt_doc_root(batches), "x");
    const ckpt_obj *ys = ckpt_dict_get(ckpt_doc_root(batches), "y");
    if (!xs || !ys) {
        fprintf(stderr, "resnet_train: %s lacks x or y\n", path);
        goto done;
    }
    ckpt_var *xall = ckpt_tape_from_tensor(tape, xs, &err);
    ckpt_var *yall = xall ? ckpt_tape_from_tensor(tape, ys, &err) : NULL;
    if (!yall)
        goto done;

    /* torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4) */
    opt = ckpt_optim_new_for_module(
        CKPT_OPTIM_SGD, net,
        &(ckpt_optim_opts){.lr = 0.02, .momentum = 0.9, .weight_decay = 1e-4}, &err);
    if (!opt)
        goto done;
    ckpt_module_train(net, true);
    for (int i = 0; i < STEPS; i++) {
        ckpt_var *x = ckpt_f_select(xall, 0, i, &err);
        ckpt_var *y = x ? ckpt_f_select(yall, 0, i, &err) : NULL;
        ckpt_var *logits = y ? ckpt_module_call(net, x, &err) : NULL;
        ckpt_var *loss = logits
                             ? ckpt_f_cross_entropy(logits, y, -100, 0.0, CKPT_REDUCE_MEAN, &err)
                             : NULL;
        if (!loss)
            goto done;
        ckpt_optim_zero_grad(opt, true);
        if (ckpt_backward(loss, &err) < 0 || ckpt_optim_step(opt, &err) < 0)
            goto done;
        losses[i] = ckpt_var_item(loss);
    }
    printf("resnet_train: loss %.4f -> %.4f over %d steps\n", losses[0], losses[STEPS - 1],
           STEPS);

    /* {"model": model.state_dict(), "losses": tensor} */
    out = ckpt_doc_new(NULL, &err);
    ckpt_obj *root = out ? ckpt_dict_new(out, CKPT_DICT_PLAIN) : NULL;
    ckpt_obj *sd = root ? ckpt_module_state_dict(net, out, NULL, &err) : NULL;
    ckpt_obj *lt = sd ? ckpt_tensor_new_copy(out, CKPT_F32, 1, (int64_t[]){STEPS}, losses, &err)
                      : NULL;
    snprintf(path, sizeof path, "%s/out.pt", argv[1]);
    if (!lt || ckpt_dict_set_str(out, root, "model", sd, &err) < 0 ||
        ckpt_dict_set_str(out, root, "losses", lt, &err) < 0 ||
        ckpt_save(path, root, NULL, &err) < 0)
        goto done;
    printf("resnet_train: wrote %s\n", path);
    rc = 0;
done:
    if (rc)
        fprintf(stderr, "resnet_train: %s\n", ckpt_error_format(&err, msg, sizeof msg));
    ckpt_doc_free(out);
    ckpt_doc_free(batches);
    ckpt_optim_free(opt);
    ckpt_tape_free(tape);
    ckpt_module_free(net);
    return rc;
}
