/* train_demo - train a small CNN on the 8x8 digits in C, checkpointing every
 * epoch in torch's format, crash, resume, finish.  Read it top to bottom:
 * data, model, optimizer, scheduler, then the loop (forward, zero_grad,
 * backward, step) and the checkpoint.
 *
 *   train_demo [--data digits.csv.gz] [--epochs N] [--stop-after K] [--resume]
 * DIR
 *
 * DIR/last.pt is rewritten atomically (ckpt_save) after every epoch as
 *   {'epoch', 'model', 'optimizer', 'scheduler', 'scaler'}
 * and DIR/final.pt when training is over.  --stop-after K simulates a crash
 * after epoch K (the process exits without finishing); --resume continues from
 * DIR/last.pt.  The 'scaler' entry is a torch.cuda.amp.GradScaler state dict:
 * this demo trains in float32 and never scales its loss, but carries the
 * scaler's state so the checkpoint has the layout of a mixed-precision run.
 * The test indices are written to DIR/test_idx.txt and the batch that comes
 * after the last checkpoint to DIR/next_batch.txt (for examples/demo.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt/ckpt.h"
#include "ckpt/nn.h"
#include "ckpt/optim.h"
#include "ckpt/sched.h"
#include "ckpt/torch.h"
#include "digits.h"
#include "ops/backward.h"
#include "ops/kernels.h"

#define SPLIT_SEED 1234u
#define INIT_SEED 42u
#define ORDER_SEED 1000u
#define NTEST 360
#define BATCH 32
#define C1 8 /* conv channels */
#define HID (C1 * 4 * 4)

static ckpt_error err;
#define OK(x)                                                                                    \
    do {                                                                                         \
        if ((x) < 0) {                                                                           \
            char buf_[512];                                                                      \
            fprintf(stderr, "train_demo: %s: %s\n", #x,                                          \
                    ckpt_error_format(&err, buf_, sizeof buf_));                                 \
            exit(1);                                                                             \
        }                                                                                        \
    } while (0)
#define NOTNULL(x) OK((x) ? 0 : -1)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static float *zalloc(size_t n)
{
    float *p = calloc(n, sizeof *p);
    if (!p) {
        fprintf(stderr, "train_demo: out of memory\n");
        exit(1);
    }
    return p;
}

/* The network's activations for a batch of up to `cap` images. */
typedef struct acts {
    float *x, *conv, *relu, *pool, *logits;      /* forward */
    float *dconv, *drelu, *dpool, *dlogits, *ws; /* backward, im2col scratch */
} acts;

int main(int argc, char **argv)
{
    const char *data_path = NULL, *dir = NULL;
    int epochs = 10, stop_after = 0, resume = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--data") && i + 1 < argc)
            data_path = argv[++i];
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc)
            epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--stop-after") && i + 1 < argc)
            stop_after = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--resume"))
            resume = 1;
        else if (argv[i][0] != '-' && !dir)
            dir = argv[i];
        else {
            fprintf(stderr, "usage: train_demo [--data digits.csv.gz] [--epochs N] "
                            "[--stop-after K] [--resume] DIR\n");
            return 2;
        }
    }
    if (!dir || epochs < 1)
        return 2;
    char last_path[4096], final_path[4096], txt_path[4096];
    snprintf(last_path, sizeof last_path, "%s/last.pt", dir);
    snprintf(final_path, sizeof final_path, "%s/final.pt", dir);
    ckpt_error_clear(&err);

    /* ---- data: a fixed train/test split of the 1797 digits */
    digits ds;
    if (digits_load(&ds, data_path) < 0)
        return 1;
    int64_t *perm = malloc(ds.n * sizeof *perm);
    NOTNULL(perm);
    digits_permutation(perm, ds.n, SPLIT_SEED);
    const int64_t *test_idx = perm + (ds.n - NTEST);
    const size_t ntrain = ds.n - NTEST;
    snprintf(txt_path, sizeof txt_path, "%s/test_idx.txt", dir);
    FILE *tf = fopen(txt_path, "w");
    NOTNULL(tf);
    for (size_t i = 0; i < NTEST; i++)
        fprintf(tf, "%lld%c", (long long)test_idx[i], i + 1 < NTEST ? ' ' : '\n');
    fclose(tf);

    /* ---- model: Conv2d(1,8,3,padding=1) ReLU MaxPool2d(2) Flatten
   * Linear(128,10), built with the layer constructors so its keys are torch's
   * ("0.weight", ...) */
    ckpt_rng rng;
    ckpt_rng_seed(&rng, INIT_SEED);
    ckpt_module *model = ckpt_nn_sequential(NULL, NULL, &err);
    NOTNULL(model);
    ckpt_conv_opts co = {.padding = {1, 1}};
    NOTNULL(ckpt_nn_conv2d(model, "0", 1, C1, 3, 3, &co, &rng, &err));
    NOTNULL(ckpt_nn_activation(model, "1", CKPT_ACT_RELU, 0, &err));
    NOTNULL(ckpt_nn_maxpool2d(model, "2", 2, 2, 0, &err));
    NOTNULL(ckpt_nn_flatten(model, "3", 1, -1, &err));
    NOTNULL(ckpt_nn_linear(model, "4", HID, DIGITS_CLASSES, true, &rng, &err));
    ckpt_slot *cw = ckpt_module_slot(model, "0.weight"), *cb = ckpt_module_slot(model, "0.bias");
    ckpt_slot *fw = ckpt_module_slot(model, "4.weight"), *fb = ckpt_module_slot(model, "4.bias");
    ckpt_slot *params[4] = {cw, cb, fw, fb};
    for (int i = 0; i < 4; i++)
        params[i]->grad = zalloc(params[i]->nbytes / sizeof(float)); /* freed by the module */

    /* ---- optimizer, scheduler, scaler */
    ckpt_optim *opt = ckpt_optim_new(CKPT_OPTIM_SGD, "lr=0.05, momentum=0.9", &err);
    NOTNULL(opt);
    OK(ckpt_optim_add_module(opt, model, NULL, &err));
    ckpt_lr_group groups[1];
    ckpt_lr_target target;
    OK(ckpt_lr_target_from_optim(&target, groups, 1, opt, &err));
    ckpt_sched_config sc;
    ckpt_sched_config_init(&sc, CKPT_SCHED_STEP);
    sc.step_size = 4;
    sc.gamma = 0.5;
    ckpt_sched *sched = ckpt_sched_new(&target, &sc, &err);
    NOTNULL(sched);
    OK(ckpt_lr_target_to_optim(&target, opt, &err));
    ckpt_grad_scaler scaler;
    ckpt_grad_scaler_init(&scaler);

    /* ---- resume: load every state dict back from the last checkpoint */
    int start_epoch = 1;
    if (resume) {
        ckpt_doc *doc = ckpt_load(last_path, NULL, &err);
        NOTNULL(doc);
        const ckpt_obj *root = ckpt_doc_root(doc);
        OK(ckpt_module_load_state_dict(model, ckpt_dict_get(root, "model"), NULL, NULL, &err));
        OK(ckpt_optim_load_state_dict(opt, ckpt_dict_get(root, "optimizer"), &err));
        OK(ckpt_lr_target_from_optim(&target, groups, 1, opt, &err));
        OK(ckpt_sched_load_state_dict(sched, ckpt_dict_get(root, "scheduler"), &err));
        OK(ckpt_grad_scaler_load_state_dict(&scaler, ckpt_dict_get(root, "scaler"), &err));
        start_epoch = (int)ckpt_obj_int(ckpt_dict_get(root, "epoch")) + 1;
        ckpt_doc_free(doc);
        printf("resumed from %s: epoch %d done, lr %g\n", last_path, start_epoch - 1,
               groups[0].lr);
    }

    /* ---- activations for a batch of up to NTEST images */
    const size_t cap = NTEST;
    acts a = {
        .x = zalloc(cap * 64),
        .conv = zalloc(cap * C1 * 64),
        .relu = zalloc(cap * C1 * 64),
        .pool = zalloc(cap * HID),
        .logits = zalloc(cap * DIGITS_CLASSES),
        .dconv = zalloc(cap * C1 * 64),
        .drelu = zalloc(cap * C1 * 64),
        .dpool = zalloc(cap * HID),
        .dlogits = zalloc(cap * DIGITS_CLASSES),
    };
    ckpt_nn_conv2d_dims d = {.c = 1,
                             .h = 8,
                             .w = 8,
                             .oc = C1,
                             .kh = 3,
                             .kw = 3,
                             .sh = 1,
                             .sw = 1,
                             .ph = 1,
                             .pw = 1,
                             .dh = 1,
                             .dw = 1,
                             .g = 1};
    d.b = (int64_t)cap;
    ckpt_nn_conv2d_out_size(&d);
    size_t ws = ckpt_nn_conv2d_ws(&d), bws = ckpt_nn_conv2d_backward_ws(&d);
    a.ws = zalloc(ws > bws ? ws : bws);
    int64_t *y = malloc(cap * sizeof *y), *order = malloc(ntrain * sizeof *order);
    NOTNULL(y);
    NOTNULL(order);

    for (int epoch = start_epoch; epoch <= epochs; epoch++) {
        double t0 = now_ms();
        /* this epoch's batch order: a permutation seeded by the epoch, so a
     * resumed run sees exactly the batches the uninterrupted one would */
        digits_permutation(order, ntrain, ORDER_SEED + (uint64_t)epoch);
        double loss_sum = 0;
        size_t nbatches = 0;
        for (size_t off = 0; off + BATCH <= ntrain; off += BATCH) {
            const int64_t B = BATCH;
            d.b = B;
            for (int64_t i = 0; i < B; i++) {
                int64_t r = perm[order[off + (size_t)i]];
                memcpy(a.x + i * 64, ds.x + r * 64, 64 * sizeof(float));
                y[i] = ds.y[r];
            }
            /* forward */
            ckpt_nn_conv2d_forward(a.conv, a.x, cw->data, cb->data, a.ws, &d);
            ckpt_nn_relu_forward(a.relu, a.conv, (size_t)B * C1 * 64);
            ckpt_nn_maxpool2d_forward(a.pool, a.relu, B * C1, 8, 8, 2, 2, 0, 4, 4);
            ckpt_nn_linear_forward(a.logits, a.pool, fw->data, fb->data, B, HID, DIGITS_CLASSES);
            float loss;
            OK(ckpt_nn_cross_entropy_forward(&loss, a.logits, y, B, DIGITS_CLASSES, 0.0, -100,
                                             &err));
            loss_sum += (double)loss;
            nbatches++;
            /* zero_grad */
            ckpt_optim_zero_grad(opt, false);
            memset(a.dlogits, 0, (size_t)B * DIGITS_CLASSES * sizeof(float));
            memset(a.dpool, 0, (size_t)B * HID * sizeof(float));
            memset(a.drelu, 0, (size_t)B * C1 * 64 * sizeof(float));
            memset(a.dconv, 0, (size_t)B * C1 * 64 * sizeof(float));
            /* backward */
            OK(ckpt_nn_cross_entropy_backward(a.dlogits, 1.0f, a.logits, y, B, DIGITS_CLASSES,
                                              0.0, -100, &err));
            ckpt_nn_linear_backward(a.dpool, fw->grad, fb->grad, a.dlogits, a.pool, fw->data, B,
                                    HID, DIGITS_CLASSES);
            ckpt_nn_maxpool2d_backward(a.drelu, a.dpool, a.relu, B * C1, 8, 8, 2, 2, 0, 4, 4);
            ckpt_nn_relu_backward(a.dconv, a.drelu, a.conv, (size_t)B * C1 * 64);
            ckpt_nn_conv2d_backward(NULL, cw->grad, cb->grad, a.dconv, a.x, cw->data, a.ws, &d);
            /* step */
            OK(ckpt_optim_step(opt, &err));
        }
        double lr = groups[0].lr;
        OK(ckpt_sched_step(sched, &err));
        OK(ckpt_lr_target_to_optim(&target, opt, &err));

        /* evaluate on the test set */
        d.b = NTEST;
        for (size_t i = 0; i < NTEST; i++) {
            memcpy(a.x + i * 64, ds.x + test_idx[i] * 64, 64 * sizeof(float));
            y[i] = ds.y[test_idx[i]];
        }
        ckpt_nn_conv2d_forward(a.conv, a.x, cw->data, cb->data, a.ws, &d);
        ckpt_nn_relu_forward(a.relu, a.conv, (size_t)NTEST * C1 * 64);
        ckpt_nn_maxpool2d_forward(a.pool, a.relu, NTEST * C1, 8, 8, 2, 2, 0, 4, 4);
        ckpt_nn_linear_forward(a.logits, a.pool, fw->data, fb->data, NTEST, HID, DIGITS_CLASSES);
        int correct = 0;
        for (size_t i = 0; i < NTEST; i++) {
            int best = 0;
            for (int k = 1; k < DIGITS_CLASSES; k++)
                if (a.logits[i * DIGITS_CLASSES + (size_t)k] >
                    a.logits[i * DIGITS_CLASSES + (size_t)best])
                    best = k;
            correct += best == y[i];
        }

        /* checkpoint: {'epoch', 'model', 'optimizer', 'scheduler', 'scaler'},
     * atomically */
        ckpt_doc *doc = ckpt_doc_new(NULL, &err);
        NOTNULL(doc);
        ckpt_obj *ck = ckpt_new_dict(doc, CKPT_DICT_PLAIN);
        NOTNULL(ck);
        OK(ckpt_dict_set_str(doc, ck, "epoch", ckpt_new_int(doc, epoch), &err));
        OK(ckpt_dict_set_str(doc, ck, "model", ckpt_module_state_dict(model, doc, NULL, &err),
                             &err));
        OK(ckpt_dict_set_str(doc, ck, "optimizer", ckpt_optim_state_dict(opt, doc, &err), &err));
        OK(ckpt_dict_set_str(doc, ck, "scheduler", ckpt_sched_state_dict(sched, doc, &err),
                             &err));
        OK(ckpt_dict_set_str(doc, ck, "scaler", ckpt_grad_scaler_state_dict(&scaler, doc, &err),
                             &err));
        ckpt_save_opts so = {.layout = CKPT_LAYOUT_TORCH13};
        OK(ckpt_save(last_path, ck, &so, &err));
        if (epoch == epochs)
            OK(ckpt_save(final_path, ck, &so, &err));
        ckpt_doc_free(doc);
        printf("epoch %2d/%d  lr %.4f  train loss %.4f  test acc %6.2f%%  (%.0f "
               "ms)  -> %s\n",
               epoch, epochs, lr, loss_sum / (double)nbatches, 100.0 * correct / NTEST,
               now_ms() - t0, last_path);
        fflush(stdout);

        if (epoch == epochs) { /* the batch a further step would take (examples/demo.sh) */
            digits_permutation(order, ntrain, ORDER_SEED + (uint64_t)epoch + 1);
            snprintf(txt_path, sizeof txt_path, "%s/next_batch.txt", dir);
            tf = fopen(txt_path, "w");
            NOTNULL(tf);
            for (size_t i = 0; i < BATCH; i++)
                fprintf(tf, "%lld%c", (long long)perm[order[i]], i + 1 < BATCH ? ' ' : '\n');
            fclose(tf);
        }
        if (epoch == stop_after) {
            printf("simulated crash after epoch %d (the last checkpoint survives)\n", epoch);
            break; /* everything below is what a crash would skip */
        }
    }

    free(a.x), free(a.conv), free(a.relu), free(a.pool), free(a.logits);
    free(a.dconv), free(a.drelu), free(a.dpool), free(a.dlogits), free(a.ws);
    free(y), free(order), free(perm);
    ckpt_sched_free(sched);
    ckpt_optim_free(opt);
    ckpt_module_free(model);
    digits_free(&ds);
    return 0;
}
