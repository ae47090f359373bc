/* train_tool - training runs of ckpt for the resume tests.
 *
 *   train_tool run   DATA ORDER OPT SCHED SCALER INIT START STEPS OUT
 *   train_tool exact DATA ORDER OPT SCHED SCALER K STEPS WORKDIR
 *   train_tool bench DATA ITERS
 *   train_tool bench-explicit DATA ITERS
 *   train_tool tiers DATA ITERS
 *
 * Model: Sequential(Linear(64,32), ReLU(), Linear(32,10)) on the 8x8 digits
 * (DATA: digits.csv.gz), cross-entropy, batch 32.  ORDER: one line of batch
 * row indices per step ("-": generated from a seeded ckpt_rng).  OPT: sgd
 * (lr=0.05, momentum=0.9), adam (lr=0.001) or adamw (lr=0.001,
 * weight_decay=0.01).  SCHED: step (StepLR(10, 0.5)) or onecycle (OneCycleLR,
 * max_lr 0.1 for sgd and 0.01 otherwise, total_steps TOTAL_STEPS), stepped
 * once per training step.  SCALER 1: the loss is scaled by a GradScaler
 * (growth_interval 20) and the gradients unscaled before the step (float32).
 *
 * run: start from INIT ({'step', 'model', 'optimizer', 'scheduler', 'scaler'}
 * as torch or ckpt wrote it; "-" = a fresh model seeded with 7), train steps
 * START..START+STEPS-1 and write the same dict to OUT.
 * exact: train STEPS steps uninterrupted; then K steps, save, drop
 * everything, resume from the file and train the rest; the two final
 * checkpoints must be byte-identical (every parameter and state byte).
 * bench: the demo's CNN training step with autograd (ckpt_module_call,
 * ckpt_f_cross_entropy, ckpt_backward), ITERS steps, prints ms per step.
 * bench-explicit: the same step written with the explicit kernel tier
 * (ckpt/kernels.h: forward and backward kernels over caller buffers).
 * Both bench modes print "c_ms_per_step MS" (bench/train_bench.py).
 * tiers: ITERS + 10 steps of each; the parameters must agree within 1e-5
 * relative (the two tiers are one set of kernels).
 * Training runs use autograd; everything comes from the installed headers. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ckpt/ckpt.h>

#include "digits.h"

#define B 32
#define HID 32
#define TOTAL_STEPS 70
#define MAX_STEPS 4096

static ckpt_error err;
#define OK(x)                                                                                    \
    do {                                                                                         \
        if ((x) < 0) {                                                                           \
            char buf_[512];                                                                      \
            fprintf(stderr, "train_tool: %s: %s\n", #x,                                          \
                    ckpt_error_format(&err, buf_, sizeof buf_));                                 \
            exit(1);                                                                             \
        }                                                                                        \
    } while (0)
#define NOTNULL(x) OK((x) ? 0 : -1)

typedef struct cfg {
    digits ds;
    int64_t (*order)[B]; /* per step */
    size_t nsteps;
    const char *opt, *sched;
    int scaler;
} cfg;

static void load_order(cfg *c, const char *path)
{
    c->order = malloc(MAX_STEPS * sizeof *c->order);
    NOTNULL(c->order);
    if (strcmp(path, "-") == 0) {
        int64_t *perm = malloc(c->ds.n * sizeof *perm);
        NOTNULL(perm);
        size_t per_epoch = c->ds.n / B;
        for (size_t s = 0; s < MAX_STEPS; s++) {
            if (s % per_epoch == 0)
                digits_permutation(perm, c->ds.n, 77 + s / per_epoch);
            memcpy(c->order[s], perm + (s % per_epoch) * B, sizeof c->order[s]);
        }
        c->nsteps = MAX_STEPS;
        free(perm);
        return;
    }
    FILE *f = fopen(path, "r");
    NOTNULL(f);
    size_t s = 0;
    for (; s < MAX_STEPS; s++) {
        int i = 0;
        for (; i < B; i++) {
            long long v;
            if (fscanf(f, "%lld", &v) != 1)
                break;
            NOTNULL(v >= 0 && (size_t)v < c->ds.n);
            c->order[s][i] = v;
        }
        if (i < B)
            break;
    }
    fclose(f);
    c->nsteps = s;
}

/* Everything a training run holds. */
typedef struct run {
    ckpt_module *model;
    ckpt_optim *opt;
    ckpt_sched *sched; /* attached to opt: ckpt_sched_step sets its lr */
    ckpt_grad_scaler scaler;
    ckpt_train_state st; /* the checkpoint's pieces, "step" as the epoch key */
    ckpt_tape *tape;
} run;

static void run_new(run *r, const cfg *c)
{
    memset(r, 0, sizeof *r);
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 7);
    r->model = ckpt_nn_sequential(NULL, NULL, &err);
    NOTNULL(r->model);
    NOTNULL(ckpt_nn_linear(r->model, "0", DIGITS_PIXELS, HID, NULL, &rng, &err));
    NOTNULL(ckpt_nn_activation(r->model, "1", CKPT_ACT_RELU, 0, &err));
    NOTNULL(ckpt_nn_linear(r->model, "2", HID, DIGITS_CLASSES, NULL, &rng, &err));
    int sgd = strcmp(c->opt, "sgd") == 0;
    ckpt_optim_opts oo = {.lr = 0.001};
    ckpt_optim_kind kind = CKPT_OPTIM_ADAM;
    if (sgd)
        kind = CKPT_OPTIM_SGD, oo.lr = 0.05, oo.momentum = 0.9;
    else if (strcmp(c->opt, "adamw") == 0)
        kind = CKPT_OPTIM_ADAMW, oo.weight_decay = 0.01;
    r->opt = ckpt_optim_new_for_module(kind, r->model, &oo, &err);
    NOTNULL(r->opt);
    ckpt_sched_config sc;
    double max_lr = sgd ? 0.1 : 0.01;
    if (strcmp(c->sched, "onecycle") == 0) {
        ckpt_sched_config_init(&sc, CKPT_SCHED_ONE_CYCLE);
        sc.max_lr = &max_lr;
        sc.total_steps = TOTAL_STEPS;
    } else {
        ckpt_sched_config_init(&sc, CKPT_SCHED_STEP);
        sc.step_size = 10;
        sc.gamma = 0.5;
    }
    r->sched = ckpt_sched_new_for_optim(r->opt, &sc, &err);
    NOTNULL(r->sched);
    ckpt_grad_scaler_init(&r->scaler);
    r->scaler.growth_interval = 20;
    r->st = (ckpt_train_state){.model = r->model,
                               .optim = r->opt,
                               .sched = r->sched,
                               .scaler = &r->scaler,
                               .epoch_key = "step"};
    r->tape = ckpt_tape_new(NULL, &err);
    NOTNULL(r->tape);
}

static void run_free(run *r)
{
    ckpt_tape_free(r->tape);
    ckpt_sched_free(r->sched);
    ckpt_optim_free(r->opt);
    ckpt_module_free(r->model);
}

static int64_t run_load(run *r, const char *path)
{
    OK(ckpt_train_load(path, &r->st, NULL, NULL, &err));
    return r->st.epoch;
}

/* {'step', 'model', 'optimizer', 'scheduler', 'scaler'}, saved to `path` or
 * (path NULL) into memory. */
static void run_save(run *r, int64_t step, const char *path, void **mem, size_t *len)
{
    ckpt_save_opts so = {.layout = CKPT_LAYOUT_TORCH13, .archive = "archive"};
    r->st.epoch = step;
    if (path) {
        OK(ckpt_train_save(path, &r->st, NULL, &so, &err));
        return;
    }
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    NOTNULL(doc);
    ckpt_obj *ck = ckpt_train_state_dict(&r->st, NULL, doc, &err);
    NOTNULL(ck);
    OK(ckpt_save_mem(ck, &so, mem, len, &err));
    ckpt_doc_free(doc);
}

/* GradScaler.unscale_ over every gradient; true when one is inf/NaN. */
static bool unscale_grads(run *r)
{
    static const char *const names[] = {"0.weight", "0.bias", "2.weight", "2.bias"};
    bool inf = false;
    for (int i = 0; i < 4; i++) {
        ckpt_slot *s = ckpt_module_slot(r->model, names[i]);
        if (s && s->grad)
            inf |= ckpt_grad_scaler_unscale_f32(&r->scaler, s->grad, s->nbytes / sizeof(float));
    }
    return inf;
}

/* Training steps [start, start + n), with autograd. */
static void run_train(run *r, const cfg *c, size_t start, size_t n)
{
    float x[B * DIGITS_PIXELS];
    int64_t y[B];
    NOTNULL(start + n <= c->nsteps);
    for (size_t s = start; s < start + n; s++) {
        for (int i = 0; i < B; i++) {
            int64_t row = c->order[s][i];
            memcpy(x + i * DIGITS_PIXELS, c->ds.x + row * DIGITS_PIXELS,
                   sizeof(float) * DIGITS_PIXELS);
            y[i] = c->ds.y[row];
        }
        ckpt_tape_reset(r->tape);
        ckpt_var *xv = ckpt_tape_tensor(r->tape, 2, (int64_t[]){B, DIGITS_PIXELS}, x, &err);
        ckpt_var *yv = ckpt_tape_index(r->tape, 1, (int64_t[]){B}, y, &err);
        NOTNULL(xv && yv);
        ckpt_var *logits = ckpt_module_call(r->model, xv, &err);
        NOTNULL(logits);
        ckpt_var *loss = ckpt_f_cross_entropy(logits, yv, -100, 0.0, CKPT_REDUCE_MEAN, &err);
        NOTNULL(loss);
        if (c->scaler) /* scaler.scale(loss) */
            NOTNULL(loss = ckpt_f_mul_scalar(loss, (double)r->scaler.scale, &err));
        ckpt_optim_zero_grad(r->opt, true);
        OK(ckpt_backward(loss, &err));
        if (c->scaler) { /* scaler.step(opt); scaler.update() */
            bool inf = unscale_grads(r);
            if (!inf)
                OK(ckpt_optim_step(r->opt, &err));
            ckpt_grad_scaler_update(&r->scaler, inf);
        } else {
            OK(ckpt_optim_step(r->opt, &err));
        }
        OK(ckpt_sched_step(r->sched, &err));
    }
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The demo's CNN (examples/train_demo.c): Conv2d(1,8,3,padding=1) ReLU
 * MaxPool2d(2) Flatten Linear(128,10) and SGD(lr=0.05, momentum=0.9). */
static ckpt_module *bench_model(ckpt_optim **o)
{
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 42);
    ckpt_module *m = ckpt_nn_sequential(NULL, NULL, &err);
    NOTNULL(m);
    ckpt_conv_opts co = {.padding = {1, 1}};
    NOTNULL(ckpt_nn_conv2d(m, "0", 1, 8, 3, 3, &co, &rng, &err));
    NOTNULL(ckpt_nn_activation(m, "1", CKPT_ACT_RELU, 0, &err));
    NOTNULL(ckpt_nn_maxpool2d(m, "2", &(ckpt_pool_opts){.kernel = {2, 2}}, &err));
    NOTNULL(ckpt_nn_flatten(m, "3", 1, -1, &err));
    NOTNULL(ckpt_nn_linear(m, "4", 128, 10, NULL, &rng, &err));
    *o = ckpt_optim_new_for_module(CKPT_OPTIM_SGD, m,
                                   &(ckpt_optim_opts){.lr = 0.05, .momentum = 0.9}, &err);
    NOTNULL(*o);
    return m;
}

#define CNN_PARAMS (8 * 9 + 8 + 10 * 128 + 10)

/* One training step per iteration after 10 warm-up steps; explicit: the
 * kernel tier over caller buffers, else autograd.  Prints the time per step,
 * or (params not NULL) copies the trained parameters there (CNN_PARAMS floats:
 * 0.weight, 0.bias, 4.weight, 4.bias). */
static int bench(const digits *ds, int iters, bool explicit_kernels, float *params)
{
    ckpt_optim *o;
    ckpt_module *m = bench_model(&o);
    ckpt_slot *cw = ckpt_module_slot(m, "0.weight"), *cb = ckpt_module_slot(m, "0.bias");
    ckpt_slot *fw = ckpt_module_slot(m, "4.weight"), *fb = ckpt_module_slot(m, "4.bias");
    /* explicit: the gradient buffers are ours, lent to the slots for the
     * optimizer and taken back before the module is freed */
    static float gcw[8 * 9], gcb[8], gfw[10 * 128], gfb[10];
    ckpt_nn_conv2d_dims d = {.b = B,
                             .c = 1,
                             .h = 8,
                             .w = 8,
                             .oc = 8,
                             .kh = 3,
                             .kw = 3,
                             .sh = 1,
                             .sw = 1,
                             .ph = 1,
                             .pw = 1,
                             .dh = 1,
                             .dw = 1,
                             .g = 1};
    ckpt_nn_conv2d_out_size(&d);
    size_t wsn = ckpt_nn_conv2d_ws(&d), bwsn = ckpt_nn_conv2d_backward_ws(&d);
    static float x[B * 64], conv[B * 512], relu[B * 512], pool[B * 128], logits[B * 10];
    static float dconv[B * 512], drelu[B * 512], dpool[B * 128], dlogits[B * 10];
    float *ws = calloc(wsn > bwsn ? wsn : bwsn, sizeof(float));
    NOTNULL(ws);
    ckpt_tape *tape = ckpt_tape_new(NULL, &err);
    NOTNULL(tape);
    if (explicit_kernels)
        cw->grad = gcw, cb->grad = gcb, fw->grad = gfw, fb->grad = gfb;
    int64_t y[B];
    double t0 = 0;
    for (int it = -10; it < iters; it++) {
        if (it == 0)
            t0 = now_ms();
        size_t base = ((size_t)(it + 10) * B) % (ds->n - B);
        memcpy(x, ds->x + base * 64, sizeof x);
        memcpy(y, ds->y + base, sizeof y);
        if (!explicit_kernels) {
            ckpt_tape_reset(tape);
            ckpt_var *xv = ckpt_tape_tensor_borrow(tape, 4, (int64_t[]){B, 1, 8, 8}, x, &err);
            ckpt_var *yv = ckpt_tape_index(tape, 1, (int64_t[]){B}, y, &err);
            NOTNULL(xv && yv);
            ckpt_var *out = ckpt_module_call(m, xv, &err);
            NOTNULL(out);
            ckpt_var *loss = ckpt_f_cross_entropy(out, yv, -100, 0.0, CKPT_REDUCE_MEAN, &err);
            NOTNULL(loss);
            ckpt_optim_zero_grad(o, true);
            OK(ckpt_backward(loss, &err));
            OK(ckpt_optim_step(o, &err));
            continue;
        }
        /* forward */
        ckpt_nn_conv2d_forward(conv, x, cw->data, cb->data, ws, &d);
        ckpt_nn_relu_forward(relu, conv, B * 512);
        ckpt_nn_maxpool2d_forward(pool, relu, B * 8, 8, 8, 2, 2, 0, 4, 4);
        ckpt_nn_linear_forward(logits, pool, fw->data, fb->data, B, 128, 10);
        float loss;
        OK(ckpt_nn_cross_entropy_forward(&loss, logits, y, B, 10, 0.0, -100, &err));
        /* zero_grad: the backward kernels add into their gradients */
        ckpt_optim_zero_grad(o, false);
        memset(dlogits, 0, sizeof dlogits);
        memset(dpool, 0, sizeof dpool);
        memset(drelu, 0, sizeof drelu);
        memset(dconv, 0, sizeof dconv);
        /* backward, in reverse */
        OK(ckpt_nn_cross_entropy_backward(dlogits, 1.0f, logits, y, B, 10, 0.0, -100, &err));
        ckpt_nn_linear_backward(dpool, fw->grad, fb->grad, dlogits, pool, fw->data, B, 128, 10);
        ckpt_nn_maxpool2d_backward(drelu, dpool, relu, B * 8, 8, 8, 2, 2, 0, 4, 4);
        ckpt_nn_relu_backward(dconv, drelu, conv, B * 512);
        ckpt_nn_conv2d_backward(NULL, cw->grad, cb->grad, dconv, x, cw->data, ws, &d);
        OK(ckpt_optim_step(o, &err));
    }
    if (params) {
        ckpt_slot *ps[4] = {cw, cb, fw, fb};
        for (int i = 0; i < 4; i++) {
            memcpy(params, ps[i]->data, ps[i]->nbytes);
            params += ps[i]->nbytes / sizeof(float);
        }
    } else {
        printf("c_ms_per_step %.6f\n", (now_ms() - t0) / iters);
    }
    if (explicit_kernels)
        cw->grad = cb->grad = fw->grad = fb->grad = NULL;
    free(ws);
    ckpt_tape_free(tape);
    ckpt_optim_free(o);
    ckpt_module_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    ckpt_error_clear(&err);
    cfg c;
    memset(&c, 0, sizeof c);
    bool bench_explicit = argc == 4 && strcmp(argv[1], "bench-explicit") == 0;
    if (argc == 4 && (strcmp(argv[1], "bench") == 0 || bench_explicit)) {
        if (digits_load(&c.ds, argv[2]) < 0)
            return 1;
        int rc = bench(&c.ds, atoi(argv[3]), bench_explicit, NULL);
        digits_free(&c.ds);
        return rc;
    }
    if (argc == 4 && strcmp(argv[1], "tiers") == 0) {
        if (digits_load(&c.ds, argv[2]) < 0)
            return 1;
        static float pa[CNN_PARAMS], pe[CNN_PARAMS];
        int steps = atoi(argv[3]);
        bench(&c.ds, steps, false, pa);
        bench(&c.ds, steps, true, pe);
        double dmax = 0, tmax = 0;
        for (int i = 0; i < CNN_PARAMS; i++) {
            double dd = fabs((double)pa[i] - (double)pe[i]), t = fabs((double)pe[i]);
            dmax = dd > dmax || dd != dd ? dd : dmax;
            tmax = t > tmax ? t : tmax;
        }
        double rel = dmax / (tmax > 1e-6 ? tmax : 1e-6);
        int ok = rel <= 1e-5;
        printf("demo CNN, %d SGD steps: autograd vs explicit kernels, max relative parameter "
               "difference %.3e (limit 1e-5): %s\n",
               steps + 10, rel, ok ? "ok" : "FAIL");
        digits_free(&c.ds);
        return ok ? 0 : 1;
    }
    int is_run = argc == 11 && strcmp(argv[1], "run") == 0;
    int is_exact = argc == 10 && strcmp(argv[1], "exact") == 0;
    if (!is_run && !is_exact) {
        fprintf(stderr, "usage: train_tool run DATA ORDER OPT SCHED SCALER INIT START STEPS "
                        "OUT\n"
                        "       train_tool exact DATA ORDER OPT SCHED SCALER K STEPS WORKDIR\n"
                        "       train_tool bench|bench-explicit|tiers DATA ITERS\n");
        return 2;
    }
    if (digits_load(&c.ds, argv[2]) < 0)
        return 1;
    load_order(&c, argv[3]);
    c.opt = argv[4];
    c.sched = argv[5];
    c.scaler = atoi(argv[6]);
    run r;
    int rc = 0;
    if (is_run) {
        run_new(&r, &c);
        size_t start = (size_t)atol(argv[8]), steps = (size_t)atol(argv[9]);
        if (strcmp(argv[7], "-") != 0)
            NOTNULL(run_load(&r, argv[7]) == (int64_t)start);
        run_train(&r, &c, start, steps);
        run_save(&r, (int64_t)(start + steps), argv[10], NULL, NULL);
        run_free(&r);
    } else {
        size_t k = (size_t)atol(argv[7]), n = (size_t)atol(argv[8]);
        char part[4096];
        snprintf(part, sizeof part, "%s/exact_part.pt", argv[9]);
        void *full = NULL, *resumed = NULL;
        size_t full_len = 0, resumed_len = 0;
        run_new(&r, &c);
        run_train(&r, &c, 0, n);
        run_save(&r, (int64_t)n, NULL, &full, &full_len);
        run_free(&r);
        run_new(&r, &c);
        run_train(&r, &c, 0, k);
        run_save(&r, (int64_t)k, part, NULL, NULL);
        run_free(&r); /* the "crash": nothing survives but the file */
        run_new(&r, &c);
        NOTNULL(run_load(&r, part) == (int64_t)k);
        run_train(&r, &c, k, n - k);
        run_save(&r, (int64_t)n, NULL, &resumed, &resumed_len);
        run_free(&r);
        if (full_len != resumed_len || memcmp(full, resumed, full_len) != 0) {
            fprintf(stderr,
                    "train_tool: %s/%s scaler=%d: interrupted at %zu and resumed, the "
                    "checkpoint after %zu steps differs from the uninterrupted run's\n",
                    c.opt, c.sched, c.scaler, k, n);
            rc = 1;
        } else {
            printf("%s/%s scaler=%d: interrupted at step %zu of %zu, resumed: %zu "
                   "checkpoint "
                   "bytes identical to the uninterrupted run\n",
                   c.opt, c.sched, c.scaler, k, n, full_len);
        }
        free(full);
        free(resumed);
    }
    free(c.order);
    digits_free(&c.ds);
    return rc;
}
