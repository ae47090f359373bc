/* train_demo - train a small CNN on the 8x8 digits in C, checkpointing every
 * epoch in torch's format, crash, resume, finish.  Read it top to bottom:
 * data, model, optimizer and scheduler, then the loop (forward on the
 * autograd tape, zero_grad, backward, step), evaluation and the checkpoint.
 * It uses the installed headers only (<ckpt/ckpt.h>):
 *
 *   cc train_demo.c digits.c $(pkg-config --cflags --libs ckpt)
 *
 *   train_demo [--data digits.csv.gz] [--epochs N] [--stop-after K] [--resume] DIR
 *
 * DIR/last.pt is rewritten atomically after every epoch (ckpt_train_save) as
 *   {'epoch', 'model', 'optimizer', 'scheduler', 'scaler'}
 * and DIR/final.pt when training is over.  --stop-after K simulates a crash
 * after epoch K (the process exits without finishing); --resume continues from
 * DIR/last.pt (ckpt_train_load).  The 'scaler' entry is a
 * torch.cuda.amp.GradScaler state dict: this demo trains in float32 and never
 * scales its loss, but carries the scaler's state so the checkpoint has the
 * layout of a mixed-precision run.  The test indices are written to
 * DIR/test_idx.txt and the batch that comes after the last checkpoint to
 * DIR/next_batch.txt (for examples/demo.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ckpt/ckpt.h>

#include "digits.h"

#define SPLIT_SEED 1234u
#define INIT_SEED 42u
#define ORDER_SEED 1000u
#define NTEST 360
#define BATCH 32
#define C1 8 /* conv channels */
#define HID (C1 * 4 * 4)

static ckpt_error err;
/* every library call is checked; a failure prints ckpt's message and exits */
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

/* Images rows[0..n) of the data set as a (n,1,8,8) var and their labels (n)
 * on the tape. */
static void batch_vars(ckpt_tape *tape, const digits *ds, const int64_t *rows, int64_t n,
                       float *xbuf, int64_t *ybuf, ckpt_var **x, ckpt_var **y)
{
    for (int64_t i = 0; i < n; i++) {
        memcpy(xbuf + i * DIGITS_PIXELS, ds->x + rows[i] * DIGITS_PIXELS,
               DIGITS_PIXELS * sizeof(float));
        ybuf[i] = ds->y[rows[i]];
    }
    NOTNULL(*x = ckpt_tape_tensor(tape, 4, (int64_t[]){n, 1, 8, 8}, xbuf, &err));
    NOTNULL(*y = ckpt_tape_index(tape, 1, (int64_t[]){n}, ybuf, &err));
}

static void write_indices(const char *dir, const char *name, const int64_t *idx, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    NOTNULL(f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%lld%c", (long long)idx[i], i + 1 < n ? ' ' : '\n');
    fclose(f);
}

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
    char last_path[4096], final_path[4096];
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
    write_indices(dir, "test_idx.txt", test_idx, NTEST);

    /* ---- model: Sequential(Conv2d(1,8,3,padding=1), ReLU(), MaxPool2d(2),
     * Flatten(), Linear(128,10)), built with the layer constructors so its
     * keys are torch's ("0.weight", ...) */
    ckpt_rng rng;
    ckpt_rng_seed(&rng, INIT_SEED);
    ckpt_module *model = ckpt_nn_sequential(NULL, NULL, &err);
    NOTNULL(model);
    ckpt_conv_opts co = {.padding = {1, 1}};
    NOTNULL(ckpt_nn_conv2d(model, "0", 1, C1, 3, 3, &co, &rng, &err));
    NOTNULL(ckpt_nn_activation(model, "1", CKPT_ACT_RELU, 0, &err));
    NOTNULL(ckpt_nn_maxpool2d(model, "2", &(ckpt_pool_opts){.kernel = {2, 2}}, &err));
    NOTNULL(ckpt_nn_flatten(model, "3", 1, -1, &err));
    NOTNULL(ckpt_nn_linear(model, "4", HID, DIGITS_CLASSES, NULL, &rng, &err));

    /* ---- optimizer: SGD(model.parameters(), lr=0.05, momentum=0.9);
     * scheduler: StepLR(optimizer, step_size=4, gamma=0.5), attached to it
     * (ckpt_sched_step writes the new lr into the optimizer); a GradScaler */
    ckpt_optim *opt = ckpt_optim_new_for_module(CKPT_OPTIM_SGD, model,
                                                &(ckpt_optim_opts){.lr = 0.05, .momentum = 0.9},
                                                &err);
    NOTNULL(opt);
    ckpt_sched_config sc;
    ckpt_sched_config_init(&sc, CKPT_SCHED_STEP);
    sc.step_size = 4;
    sc.gamma = 0.5;
    ckpt_sched *sched = ckpt_sched_new_for_optim(opt, &sc, &err);
    NOTNULL(sched);
    ckpt_grad_scaler scaler;
    ckpt_grad_scaler_init(&scaler);
    ckpt_train_state st = {.model = model, .optim = opt, .sched = sched, .scaler = &scaler};

    /* ---- resume: every state dict back from the last checkpoint */
    if (resume) {
        OK(ckpt_train_load(last_path, &st, NULL, NULL, &err));
        double lr;
        OK(ckpt_optim_group_get(opt, 0, "lr", &lr));
        printf("resumed from %s: epoch %lld done, lr %g\n", last_path, (long long)st.epoch, lr);
    }

    /* ---- the tape that records each step's forward for ckpt_backward */
    ckpt_tape *tape = ckpt_tape_new(NULL, &err);
    NOTNULL(tape);
    float *xbuf = malloc(NTEST * DIGITS_PIXELS * sizeof *xbuf);
    int64_t *ybuf = malloc(NTEST * sizeof *ybuf), *order = malloc(ntrain * sizeof *order),
            *rows = malloc(ntrain * sizeof *rows);
    NOTNULL(xbuf && ybuf && order && rows);

    for (int epoch = (int)st.epoch + 1; epoch <= epochs; epoch++) {
        double t0 = now_ms();
        /* this epoch's batch order: a permutation seeded by the epoch, so a
         * resumed run sees exactly the batches the uninterrupted one would */
        digits_permutation(order, ntrain, ORDER_SEED + (uint64_t)epoch);
        for (size_t i = 0; i < ntrain; i++)
            rows[i] = perm[order[i]];
        double lr, loss_sum = 0;
        size_t nbatches = 0;
        OK(ckpt_optim_group_get(opt, 0, "lr", &lr));
        ckpt_module_train(model, true);
        for (size_t off = 0; off + BATCH <= ntrain; off += BATCH) {
            ckpt_tape_reset(tape); /* forget the last step, keep its memory */
            ckpt_var *x, *y;
            batch_vars(tape, &ds, rows + off, BATCH, xbuf, ybuf, &x, &y);
            /* forward: logits = model(x); loss = cross_entropy(logits, y) */
            ckpt_var *logits = ckpt_module_call(model, x, &err);
            NOTNULL(logits);
            ckpt_var *loss = ckpt_f_cross_entropy(logits, y, -100, 0.0, CKPT_REDUCE_MEAN, &err);
            NOTNULL(loss);
            loss_sum += (double)ckpt_var_item(loss);
            nbatches++;
            /* optimizer.zero_grad(); loss.backward(); optimizer.step() */
            ckpt_optim_zero_grad(opt, true);
            OK(ckpt_backward(loss, &err));
            OK(ckpt_optim_step(opt, &err));
        }
        OK(ckpt_sched_step(sched, &err)); /* scheduler.step(): sets the optimizer's lr */

        /* evaluate on the test set: model.eval(), torch.no_grad() */
        ckpt_module_train(model, false);
        ckpt_tape_reset(tape);
        bool was = ckpt_tape_set_grad_enabled(tape, false);
        ckpt_var *x, *y;
        batch_vars(tape, &ds, test_idx, NTEST, xbuf, ybuf, &x, &y);
        ckpt_var *logits = ckpt_module_call(model, x, &err);
        NOTNULL(logits);
        const float *lg = ckpt_var_data(logits);
        int correct = 0;
        for (size_t i = 0; i < NTEST; i++) {
            int best = 0;
            for (int k = 1; k < DIGITS_CLASSES; k++)
                if (lg[i * DIGITS_CLASSES + (size_t)k] > lg[i * DIGITS_CLASSES + (size_t)best])
                    best = k;
            correct += best == ybuf[i];
        }
        ckpt_tape_set_grad_enabled(tape, was);

        /* checkpoint: {'epoch', 'model', 'optimizer', 'scheduler', 'scaler'},
         * atomically, with torch 1.13's record layout */
        st.epoch = epoch;
        ckpt_save_opts so = {.layout = CKPT_LAYOUT_TORCH13};
        OK(ckpt_train_save(last_path, &st, NULL, &so, &err));
        if (epoch == epochs)
            OK(ckpt_train_save(final_path, &st, NULL, &so, &err));
        printf("epoch %2d/%d  lr %.4f  train loss %.4f  test acc %6.2f%%  (%.0f ms)  -> %s\n",
               epoch, epochs, lr, loss_sum / (double)nbatches, 100.0 * correct / NTEST,
               now_ms() - t0, last_path);
        fflush(stdout);

        if (epoch == epochs) { /* the batch a further step would take (examples/demo.sh) */
            digits_permutation(order, ntrain, ORDER_SEED + (uint64_t)epoch + 1);
            for (size_t i = 0; i < BATCH; i++)
                rows[i] = perm[order[i]];
            write_indices(dir, "next_batch.txt", rows, BATCH);
        }
        if (epoch == stop_after) {
            printf("simulated crash after epoch %d (the last checkpoint survives)\n", epoch);
            break; /* everything below is what a crash would skip */
        }
    }

    free(xbuf), free(ybuf), free(order), free(rows), free(perm);
    ckpt_tape_free(tape);
    ckpt_sched_free(sched);
    ckpt_optim_free(opt);
    ckpt_module_free(model);
    digits_free(&ds);
    return 0;
}
