/* examples/guide/resume_torch.c - resume a training checkpoint torch wrote
 * (AdamW + CosineAnnealingLR), train 40 more steps with autograd, and hand the
 * checkpoint back to torch.
 *
 *   resume_torch DIR   reads DIR/start.pt ({epoch, model, optimizer, scheduler})
 *                      and DIR/batches.pt ({"x": (40,32,16), "y": (40,32)}),
 *                      writes DIR/out.pt in the same layout
 *
 * The torch side is tests/guide/resume_torch.py (class Net: fc1, fc2, head);
 * docs/TRAINING.md walks through this file.
 * Build: cc resume_torch.c $(pkg-config --cflags --libs ckpt) */
#include <stdio.h>

#include <ckpt/ckpt.h>

/* Net.forward: head(relu(fc2(relu(fc1(x))))) */
static ckpt_var *net_forward(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err)
{
    (void)ctx;
    ckpt_var *h = ckpt_module_call_child(self, "fc1", x, err);
    h = h ? ckpt_f_relu(h, err) : NULL;
    h = h ? ckpt_module_call_child(self, "fc2", h, err) : NULL;
    h = h ? ckpt_f_relu(h, err) : NULL;
    return h ? ckpt_module_call_child(self, "head", h, err) : NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: resume_torch DIR\n");
        return 2;
    }
    char path[4096];
    ckpt_error err = {0};
    ckpt_module *net = ckpt_module_new("Net", &err);
    ckpt_optim *opt = NULL;
    ckpt_sched *sched = NULL;
    ckpt_doc *batches = NULL;
    ckpt_tape *tape = ckpt_tape_new(NULL, &err);
    int rc = 1;
    /* --- training: begin */
    if (!net || !tape || !ckpt_nn_linear(net, "fc1", 16, 64, NULL, NULL, &err) ||
        !ckpt_nn_linear(net, "fc2", 64, 64, NULL, NULL, &err) ||
        !ckpt_nn_linear(net, "head", 64, 5, NULL, NULL, &err) ||
        ckpt_module_set_forward(net, net_forward, NULL, &err) < 0)
        goto done;
    /* AdamW(model.parameters(), lr=3e-3, weight_decay=0.01) + CosineAnnealingLR(T_max=60) */
    opt = ckpt_optim_new_for_module(CKPT_OPTIM_ADAMW, net,
                                    &(ckpt_optim_opts){.lr = 3e-3, .weight_decay = 0.01}, &err);
    ckpt_sched_config cos;
    ckpt_sched_config_init(&cos, CKPT_SCHED_COSINE);
    cos.T_max = 60;
    cos.eta_min = 1e-4;
    sched = opt ? ckpt_sched_new_for_optim(opt, &cos, &err) : NULL;
    /* model, optimizer and scheduler from torch's checkpoint, strictly */
    ckpt_train_state st = {.model = net, .optim = opt, .sched = sched};
    snprintf(path, sizeof path, "%s/start.pt", argv[1]);
    if (!sched || ckpt_train_load(path, &st, NULL, NULL, &err) < 0)
        goto done;
    snprintf(path, sizeof path, "%s/batches.pt", argv[1]);
    if (!(batches = ckpt_load(path, NULL, &err)))
        goto done;
    ckpt_var *xs = ckpt_tape_from_tensor(tape, ckpt_dict_get(ckpt_doc_root(batches), "x"), &err);
    ckpt_var *ys = ckpt_tape_from_tensor(tape, ckpt_dict_get(ckpt_doc_root(batches), "y"), &err);
    if (!xs || !ys)
        goto done;
    for (int64_t i = 0; i < ckpt_var_dim(xs, 0); i++) {
        ckpt_var *x = ckpt_f_select(xs, 0, i, &err), *y = ckpt_f_select(ys, 0, i, &err);
        ckpt_var *logits = x && y ? ckpt_module_call(net, x, &err) : NULL;
        ckpt_var *loss = logits ? ckpt_f_cross_entropy(logits, y, -100, 0, CKPT_REDUCE_MEAN, &err)
                                : NULL;
        ckpt_optim_zero_grad(opt, true);
        if (!loss || ckpt_backward(loss, &err) < 0 || ckpt_optim_step(opt, &err) < 0 ||
            ckpt_sched_step(sched, &err) < 0)
            goto done;
        st.epoch++;
        if (i == 0 || i == ckpt_var_dim(xs, 0) - 1)
            printf("resume_torch: epoch %lld loss %.4f\n", (long long)st.epoch,
                   ckpt_var_item(loss));
    }
    snprintf(path, sizeof path, "%s/out.pt", argv[1]);
    if (ckpt_train_save(path, &st, NULL, NULL, &err) < 0)
        goto done;
    /* --- training: end */
    printf("resume_torch: wrote %s\n", path);
    rc = 0;
done:
    if (rc) {
        char msg[512];
        fprintf(stderr, "resume_torch: %s\n", ckpt_error_format(&err, msg, sizeof msg));
    }
    ckpt_doc_free(batches);
    ckpt_sched_free(sched);
    ckpt_optim_free(opt);
    ckpt_tape_free(tape);
    ckpt_module_free(net);
    return rc;
}
