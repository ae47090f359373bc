/* train_ckpt_tool - the C side of tests/interop/train_ckpt_interop.py: a
 * training checkpoint (ckpt/train.h) made and resumed with the public API only.
 *
 *   train_ckpt_tool fresh  OUT K        start from the fixed initial model, train K steps, save
 *   train_ckpt_tool resume IN OUT M     restore IN (torch's or ours), train M more steps, save
 *   train_ckpt_tool msave  OUT          ckpt_module_save of the initial model
 *   train_ckpt_tool mload  IN KEY OUT   ckpt_module_load (strict, sub_key KEY, "-" = none) into a
 *                                       zeroed model, then ckpt_module_save it to OUT
 *
 * Model: Sequential(Linear(6, 5), ReLU(), Linear(5, 3)); parameter p (in
 * named_parameters order) starts at ((3 i + 5 p) % 11 - 5) / 10.  Optimizer
 * AdamW(lr=0.01) built from the model, CosineAnnealingLR(T_max=20) attached to
 * it, GradScaler state (scale 1024, growth_interval 20, tracker 3).  Step s
 * uses the gradients ((7 i + 13 s + 3 p) % 17 - 8) / 8 (exact in float32), so
 * both sides apply the same updates without a forward pass.  Extras "best"
 * (float), "note" (str) and "ema" (float32 tensor) are written by fresh and
 * carried over by resume (ema += 1 so the copy is visible).
 *
 * A first argument "groups" selects the second configuration: SGD(lr=0.05,
 * momentum=0.9, nesterov=True) over two named groups, [{'params': biases},
 * {'params': the rest, 'weight_decay': 1e-4}], and MultiStepLR([5, 12], 0.3). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/train.h"

static ckpt_error err;
static int groups_config;

static bool is_bias(void *ctx, const char *key, const ckpt_slot *s)
{
    (void)ctx;
    (void)s;
    size_t n = strlen(key);
    return n >= 4 && strcmp(key + n - 4, "bias") == 0;
}
#define OK(x)                                                                                    \
    do {                                                                                         \
        if ((x) < 0) {                                                                           \
            char b_[600];                                                                        \
            fprintf(stderr, "train_ckpt_tool: %s: %s\n", #x,                                     \
                    ckpt_error_format(&err, b_, sizeof b_));                                     \
            exit(1);                                                                             \
        }                                                                                        \
    } while (0)
#define NOTNULL(x) OK((x) ? 0 : -1)

typedef struct run {
    ckpt_module *m;
    ckpt_optim *o;
    ckpt_sched *s;
    ckpt_grad_scaler g;
    ckpt_train_state st;
} run;

typedef struct walk_ctx {
    int step; /* < 0: initialise the parameters */
    int p;
} walk_ctx;

static int fill(void *payload, const char *key, ckpt_module *owner, ckpt_slot *sl)
{
    (void)key;
    (void)owner;
    walk_ctx *w = payload;
    size_t n = sl->nbytes / sizeof(float);
    float *dst = (float *)sl->data;
    if (w->step >= 0) {
        if (!sl->grad)
            sl->grad = malloc(n * sizeof(float));
        if (!sl->grad)
            return -1;
        dst = sl->grad;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = w->step >= 0
                     ? (float)((int)((7 * i + 13 * (size_t)w->step + 3 * (size_t)w->p) % 17) -
                               8) /
                           8.0f
                     : (float)((int)((3 * i + 5 * (size_t)w->p) % 11) - 5) / 10.0f;
    w->p++;
    return 0;
}

static void run_new(run *r)
{
    memset(r, 0, sizeof *r);
    r->m = ckpt_nn_sequential(NULL, NULL, &err);
    NOTNULL(r->m);
    NOTNULL(ckpt_nn_linear(r->m, "0", 6, 5, NULL, NULL, &err));
    NOTNULL(ckpt_nn_activation(r->m, "1", CKPT_ACT_RELU, 0, &err));
    NOTNULL(ckpt_nn_linear(r->m, "2", 5, 3, NULL, NULL, &err));
    walk_ctx w = {-1, 0};
    OK(ckpt_module_walk(r->m, CKPT_WALK_PARAMS, fill, &w, &err));
    ckpt_sched_config c;
    if (groups_config) {
        ckpt_optim_opts oo = {.lr = 0.05, .momentum = 0.9, .nesterov = true};
        ckpt_optim_opts decay = {.weight_decay = 1e-4};
        r->o = ckpt_optim_new_opts(CKPT_OPTIM_SGD, &oo, &err);
        NOTNULL(r->o);
        OK(ckpt_optim_add_group_where(r->o, r->m, is_bias, NULL, NULL, &err));
        OK(ckpt_optim_add_named_group(r->o, r->m, NULL, 0, &decay, &err));
        static const int64_t ms[2] = {5, 12};
        ckpt_sched_config_init(&c, CKPT_SCHED_MULTISTEP);
        c.milestones = ms;
        c.n_milestones = 2;
        c.gamma = 0.3;
    } else {
        ckpt_optim_opts oo = {.lr = 0.01};
        r->o = ckpt_optim_new_for_module(CKPT_OPTIM_ADAMW, r->m, &oo, &err);
        NOTNULL(r->o);
        ckpt_sched_config_init(&c, CKPT_SCHED_COSINE);
        c.T_max = 20;
    }
    r->s = ckpt_sched_new_for_optim(r->o, &c, &err);
    NOTNULL(r->s);
    ckpt_grad_scaler_init(&r->g);
    r->g.scale = 1024.0f;
    r->g.growth_interval = 20;
    r->g.growth_tracker = 3;
    r->st.model = r->m;
    r->st.optim = r->o;
    r->st.sched = r->s;
    r->st.scaler = &r->g;
}

static void train(run *r, int64_t n)
{
    for (int64_t k = 0; k < n; k++) {
        walk_ctx w = {(int)r->st.epoch, 0};
        OK(ckpt_module_walk(r->m, CKPT_WALK_PARAMS, fill, &w, &err));
        OK(ckpt_optim_step(r->o, &err));
        OK(ckpt_sched_step(r->s, &err));
        r->st.epoch++;
    }
}

static void save(run *r, const char *path, double best, const char *note, const float *ema)
{
    ckpt_doc *x = ckpt_doc_new(NULL, &err);
    NOTNULL(x);
    ckpt_obj *ex = ckpt_dict_new(x, CKPT_DICT_PLAIN);
    int64_t four = 4;
    NOTNULL(ex);
    OK(ckpt_dict_set_str(x, ex, "best", ckpt_float_new(x, best), &err));
    OK(ckpt_dict_set_str(x, ex, "note", ckpt_str_new(x, note), &err));
    OK(ckpt_dict_set_str(x, ex, "ema", ckpt_tensor_new_copy(x, CKPT_F32, 1, &four, ema, &err),
                         &err));
    OK(ckpt_train_save(path, &r->st, ex, NULL, &err));
    ckpt_doc_free(x);
}

int main(int argc, char **argv)
{
    run r;
    if (argc > 1 && strcmp(argv[1], "groups") == 0) {
        groups_config = 1;
        argc--;
        argv++;
    }
    if (argc == 4 && strcmp(argv[1], "fresh") == 0) {
        run_new(&r);
        train(&r, atoll(argv[3]));
        const float ema[4] = {0.5f, -1.0f, 2.0f, 0.125f};
        save(&r, argv[2], 0.25, "from C", ema);
    } else if (argc == 5 && strcmp(argv[1], "resume") == 0) {
        run_new(&r);
        r.st.epoch = -1000; /* must come from the file */
        ckpt_doc *in = NULL;
        OK(ckpt_train_load(argv[2], &r.st, NULL, &in, &err));
        NOTNULL(!r.st.no_epoch);
        const ckpt_obj *root = ckpt_doc_root(in);
        const ckpt_obj *best = ckpt_dict_get(root, "best"), *note = ckpt_dict_get(root, "note"),
                       *ema = ckpt_dict_get(root, "ema");
        NOTNULL(best && note && ema);
        float e[4];
        OK(ckpt_tensor_copy_into(ema, e, sizeof e, &err));
        for (int i = 0; i < 4; i++)
            e[i] += 1.0f;
        train(&r, atoll(argv[4]));
        save(&r, argv[3], ckpt_obj_float(best), ckpt_obj_str(note, NULL), e);
        ckpt_doc_free(in);
    } else if (argc == 3 && strcmp(argv[1], "msave") == 0) {
        run_new(&r);
        OK(ckpt_module_save(r.m, argv[2], &err));
    } else if (argc == 5 && strcmp(argv[1], "mload") == 0) {
        run_new(&r);
        for (size_t i = 0; i < ckpt_module_slot_count(ckpt_module_child(r.m, 0)); i++) {
            ckpt_slot *sl = ckpt_module_slot_at(ckpt_module_child(r.m, 0), i);
            memset(sl->data, 0, (size_t)sl->nbytes);
        }
        ckpt_load_state_dict_opts lo = {.sub_key = strcmp(argv[3], "-") ? argv[3] : NULL};
        OK(ckpt_module_load(r.m, argv[2], &lo, NULL, &err));
        OK(ckpt_module_save(r.m, argv[4], &err));
    } else {
        fprintf(stderr, "usage: train_ckpt_tool fresh OUT K | resume IN OUT M | msave OUT | "
                        "mload IN KEY OUT\n");
        return 2;
    }
    ckpt_sched_free(r.s);
    ckpt_optim_free(r.o);
    ckpt_module_free(r.m);
    return 0;
}
