/* tests/unit/optim/attach_test.c - optimizers built from a module with typed
 * options and named groups, schedulers attached to an optimizer (they write
 * the learning rates themselves and resume with no extra call), and the
 * refusal of another optimizer's state.  The expected values come from the
 * low-level path (string options, ckpt_lr_target moved by hand), which
 * tests/interop/optim_equiv.py and sched_interop.py hold equal to torch 1.13. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/nn.h"
#include "ckpt/optim.h"
#include "ckpt/sched.h"
#include "ckpt/torch.h"
#include "util/test.h"

/* Sequential(Linear(4, 3), ReLU, Linear(3, 2)) with fixed weights */
static ckpt_module *net(void)
{
    ckpt_rng r;
    ckpt_rng_seed(&r, 3);
    ckpt_module *m = ckpt_nn_sequential(NULL, NULL, NULL);
    if (!m || !ckpt_nn_linear(m, "0", 4, 3, NULL, &r, NULL) ||
        !ckpt_nn_activation(m, "1", CKPT_ACT_RELU, 0, NULL) ||
        !ckpt_nn_linear(m, "2", 3, 2, NULL, &r, NULL)) {
        ckpt_module_free(m);
        return NULL;
    }
    return m;
}

/* deterministic gradients for step `s` (exact float32 values) */
static int set_grads(void *payload, const char *key, ckpt_module *owner, ckpt_slot *sl)
{
    (void)key;
    (void)owner;
    int s = *(int *)payload;
    size_t n = sl->nbytes / sizeof(float);
    if (!sl->grad)
        sl->grad = malloc(n * sizeof(float));
    if (!sl->grad)
        return -1;
    for (size_t i = 0; i < n; i++)
        sl->grad[i] = (float)((int)((i * 7 + (size_t)s * 13) % 17) - 8) / 8.0f;
    return 0;
}

static int grads(ckpt_module *m, int s)
{
    return ckpt_module_walk(m, CKPT_WALK_PARAMS, set_grads, &s, NULL);
}

static size_t save_mem(const ckpt_obj *root, void **buf)
{
    size_t n = 0;
    ckpt_save_opts so = {.layout = CKPT_LAYOUT_TORCH13};
    if (ckpt_save_mem(root, &so, buf, &n, NULL) < 0)
        return 0;
    return n;
}

/* state dict bytes of an optimizer (torch 1.13 layout) */
static size_t optim_bytes(const ckpt_optim *o, void **buf)
{
    ckpt_doc *d = ckpt_doc_new(NULL, NULL);
    const ckpt_obj *sd = ckpt_optim_state_dict(o, d, NULL);
    size_t n = sd ? save_mem(sd, buf) : 0;
    ckpt_doc_free(d);
    return n;
}

TEST(test_optim_attach__opts_equal_string_defaults)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    /* the typed form and the keyword-string form give identical state dicts */
    struct {
        ckpt_optim_kind kind;
        ckpt_optim_opts opts;
        const char *src;
    } cases[] = {
        {CKPT_OPTIM_ADAMW, {.lr = 0}, ""},
        {CKPT_OPTIM_ADAMW, {.weight_decay = CKPT_OPTIM_ZERO}, "weight_decay=0.0"},
        {CKPT_OPTIM_ADAM,
         {.lr = 0.01, .betas = {0.8, 0}, .amsgrad = true},
         "lr=0.01, betas=(0.8, 0.999), amsgrad=True"},
        {CKPT_OPTIM_SGD,
         {.lr = 0.05, .momentum = 0.9, .nesterov = true},
         "lr=0.05, momentum=0.9, nesterov=True"},
        {CKPT_OPTIM_SGD, {.lr = 0}, "lr=0.001"},
        {CKPT_OPTIM_RMSPROP,
         {.alpha = 0.9, .centered = true, .momentum = 0.5},
         "momentum=0.5, alpha=0.9, centered=True"},
        {CKPT_OPTIM_ADAGRAD,
         {.lr_decay = 0.01, .initial_accumulator_value = 0.1},
         "lr_decay=0.01, initial_accumulator_value=0.1"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ckpt_module *m = net(), *m2 = net();
        CHECK(m && m2);
        ckpt_optim *a = ckpt_optim_new_for_module(cases[c].kind, m, &cases[c].opts, &err);
        CHECK(a != NULL);
        ckpt_optim *b = ckpt_optim_new(cases[c].kind, cases[c].src, &err);
        CHECK(b != NULL);
        CHECK_OK(ckpt_optim_add_module(b, m2, NULL, &err), &err);
        for (int s = 0; s < 3; s++) {
            CHECK_OK(grads(m, s), &err);
            CHECK_OK(grads(m2, s), &err);
            CHECK_OK(ckpt_optim_step(a, &err), &err);
            CHECK_OK(ckpt_optim_step(b, &err), &err);
        }
        void *ba = NULL, *bb = NULL;
        size_t na = optim_bytes(a, &ba), nb = optim_bytes(b, &bb);
        CHECK(na > 0 && na == nb && memcmp(ba, bb, na) == 0);
        const ckpt_slot *w = ckpt_module_slot(m, "2.weight"),
                        *w2 = ckpt_module_slot(m2, "2.weight");
        CHECK(memcmp(w->data, w2->data, w->nbytes) == 0);
        free(ba);
        free(bb);
        ckpt_optim_free(a);
        ckpt_optim_free(b);
        ckpt_module_free(m);
        ckpt_module_free(m2);
    }
    /* an option the optimizer lacks, a negative value, bad betas */
    ckpt_module *m = net();
    ckpt_optim_opts bad = {.nesterov = true};
    ckpt_error_clear(&err);
    CHECK(ckpt_optim_new_for_module(CKPT_OPTIM_ADAM, m, &bad, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    CHECK(strstr(err.msg, "Adam() got an unexpected keyword argument 'nesterov'") != NULL);
    ckpt_optim_opts neg = {.lr = -1};
    CHECK(ckpt_optim_new_for_module(CKPT_OPTIM_SGD, m, &neg, NULL) == NULL);
    ckpt_optim_opts nan_lr = {.lr = (double)NAN};
    CHECK(ckpt_optim_new_opts(CKPT_OPTIM_ADAM, &nan_lr, NULL) == NULL);
    ckpt_optim_opts betas = {.betas = {1.0, 0}};
    CHECK(ckpt_optim_new_opts(CKPT_OPTIM_ADAMW, &betas, NULL) == NULL);
    ckpt_optim_opts nest = {.lr = 0.1, .nesterov = true}; /* without momentum */
    CHECK(ckpt_optim_new_opts(CKPT_OPTIM_SGD, &nest, NULL) == NULL);
    CHECK(ckpt_optim_new_opts((ckpt_optim_kind)99, NULL, NULL) == NULL);
    ckpt_module *empty = ckpt_module_new("Empty", NULL);
    ckpt_error_clear(&err);
    CHECK(ckpt_optim_new_for_module(CKPT_OPTIM_ADAM, empty, NULL, &err) == NULL);
    CHECK(strstr(err.msg, "empty parameter list") != NULL);
    ckpt_module_free(empty);
    ckpt_module_free(m);
}

static bool is_bias(void *ctx, const char *key, const ckpt_slot *s)
{
    (void)ctx;
    (void)s;
    size_t n = strlen(key);
    return n >= 4 && strcmp(key + n - 4, "bias") == 0;
}

TEST(test_optim_attach__named_groups)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_module *m = net();
    CHECK(m);
    /* torch: AdamW([{'params': biases, 'weight_decay': 0.0}, {'params': rest}], lr=0.01) */
    ckpt_optim_opts d = {.lr = 0.01};
    ckpt_optim *o = ckpt_optim_new_opts(CKPT_OPTIM_ADAMW, &d, &err);
    CHECK(o);
    ckpt_optim_opts nodecay = {.weight_decay = CKPT_OPTIM_ZERO};
    CHECK_OK(ckpt_optim_add_group_where(o, m, is_bias, NULL, &nodecay, &err), &err);
    CHECK_OK(ckpt_optim_add_named_group(o, m, NULL, 0, NULL, &err), &err); /* the rest */
    CHECK_EQ_INT(ckpt_optim_group_count(o), 2);
    CHECK_EQ_INT(ckpt_optim_group_size(o, 0), 2);
    CHECK_EQ_INT(ckpt_optim_group_size(o, 1), 2);
    double v = -1;
    CHECK_OK(ckpt_optim_group_get(o, 0, "weight_decay", &v), &err);
    CHECK(v == 0.0);
    CHECK_OK(ckpt_optim_group_get(o, 1, "weight_decay", &v), &err);
    CHECK(v == 0.01);
    CHECK_OK(ckpt_optim_group_get(o, 1, "lr", &v), &err);
    CHECK(v == 0.01);
    /* same bytes as the string form with the same groups */
    ckpt_optim *b = ckpt_optim_new(CKPT_OPTIM_ADAMW, "lr=0.01", &err);
    ckpt_slot *biases[2] = {ckpt_module_slot(m, "0.bias"), ckpt_module_slot(m, "2.bias")};
    ckpt_slot *weights[2] = {ckpt_module_slot(m, "0.weight"), ckpt_module_slot(m, "2.weight")};
    CHECK_OK(ckpt_optim_add_group(b, biases, 2, "weight_decay=0.0", &err), &err);
    CHECK_OK(ckpt_optim_add_group(b, weights, 2, NULL, &err), &err);
    void *ba = NULL, *bb = NULL;
    size_t na = optim_bytes(o, &ba), nb = optim_bytes(b, &bb);
    CHECK(na > 0 && na == nb && memcmp(ba, bb, na) == 0);
    free(ba);
    free(bb);
    ckpt_optim_free(b);
    ckpt_optim_free(o);

    /* by name: a sub-module and a parameter; errors name the culprit */
    o = ckpt_optim_new_opts(CKPT_OPTIM_SGD, NULL, &err);
    const char *first[] = {"0", "2.bias"};
    CHECK_OK(ckpt_optim_add_named_group(o, m, first, 2, NULL, &err), &err);
    CHECK_EQ_INT(ckpt_optim_group_size(o, 0), 3);
    const char *again[] = {"2.bias"};
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_optim_add_named_group(o, m, again, 1, NULL, &err), CKPT_E_ARG);
    CHECK(strstr(err.msg, "'2.bias'") != NULL);
    const char *nope[] = {"3.weight"};
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_optim_add_named_group(o, m, nope, 1, NULL, &err), CKPT_E_NOT_FOUND);
    CHECK(strstr(err.msg, "'3.weight'") != NULL);
    CHECK_EQ_INT(ckpt_optim_group_count(o), 1);
    ckpt_optim_opts g2 = {.lr = 0.5};
    CHECK_OK(ckpt_optim_add_named_group(o, m, NULL, 0, &g2, &err), &err);
    CHECK_EQ_INT(ckpt_optim_group_size(o, 1), 1); /* 2.weight */
    CHECK_OK(ckpt_optim_group_get(o, 1, "lr", &v), &err);
    CHECK(v == 0.5);
    CHECK_OK(ckpt_optim_group_get(o, 0, "lr", &v), &err);
    CHECK(v == 0.001);
    ckpt_optim_free(o);
    ckpt_module_free(m);
}

/* one training run of `steps` steps; the attached form vs the hand-moved one */
TEST(test_optim_attach__sched_drives_optimizer)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    int kinds[] = {CKPT_SCHED_COSINE, CKPT_SCHED_ONE_CYCLE, CKPT_SCHED_STEP, CKPT_SCHED_PLATEAU};
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        ckpt_module *m = net(), *m2 = net();
        ckpt_optim_opts oo = {.lr = 0.01};
        ckpt_optim *a = ckpt_optim_new_for_module(CKPT_OPTIM_ADAMW, m, &oo, &err);
        ckpt_optim *b = ckpt_optim_new(CKPT_OPTIM_ADAMW, "lr=0.01", &err);
        CHECK(a && b);
        CHECK_OK(ckpt_optim_add_module(b, m2, NULL, &err), &err);
        ckpt_sched_config c;
        ckpt_sched_config_init(&c, kinds[k]);
        double max_lr = 0.05;
        c.T_max = 7;
        c.step_size = 2;
        c.max_lr = &max_lr;
        c.total_steps = 12;
        c.patience = 1;
        ckpt_sched *sa = ckpt_sched_new_for_optim(a, &c, &err);
        CHECK(sa != NULL);
        CHECK(ckpt_sched_optim(sa) == a);
        ckpt_lr_group g[1];
        ckpt_lr_target t;
        CHECK_OK(ckpt_lr_target_from_optim(&t, g, 1, b, &err), &err);
        ckpt_sched *sb = ckpt_sched_new(&t, &c, &err);
        CHECK(sb != NULL);
        CHECK_OK(ckpt_lr_target_to_optim(&t, b, &err), &err);
        for (int s = 0; s < 10; s++) {
            CHECK_OK(grads(m, s), &err);
            CHECK_OK(grads(m2, s), &err);
            CHECK_OK(ckpt_optim_step(a, &err), &err);
            CHECK_OK(ckpt_optim_step(b, &err), &err);
            if (kinds[k] == CKPT_SCHED_PLATEAU) {
                CHECK_OK(ckpt_sched_step_metric(sa, 1.0, &err), &err);
                CHECK_OK(ckpt_sched_step_metric(sb, 1.0, &err), &err);
            } else {
                CHECK_OK(ckpt_sched_step(sa, &err), &err);
                CHECK_OK(ckpt_sched_step(sb, &err), &err);
            }
            CHECK_OK(ckpt_lr_target_to_optim(&t, b, &err), &err);
            double la = 0, lb = 1;
            CHECK_OK(ckpt_optim_group_get(a, 0, "lr", &la), &err);
            CHECK_OK(ckpt_optim_group_get(b, 0, "lr", &lb), &err);
            CHECK(la == lb);
        }
        double lr = 0;
        CHECK_OK(ckpt_optim_group_get(a, 0, "lr", &lr), &err);
        CHECK(lr != 0.01); /* it moved */
        void *ba = NULL, *bb = NULL;
        size_t na = optim_bytes(a, &ba), nb = optim_bytes(b, &bb);
        CHECK(na > 0 && na == nb && memcmp(ba, bb, na) == 0);
        free(ba);
        free(bb);
        ckpt_sched_free(sa);
        ckpt_sched_free(sb);
        ckpt_optim_free(a);
        ckpt_optim_free(b);
        ckpt_module_free(m);
        ckpt_module_free(m2);
    }
}

/* train 12 steps; or 5, save both state dicts, rebuild fresh objects, load them
 * (optimizer first, or scheduler first), train 7: identical lrs and bytes */
TEST(test_optim_attach__resume_with_no_extra_call)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    for (int order = 0; order < 2; order++) {
        ckpt_module *m = net(), *m2 = net();
        ckpt_sched_config c;
        ckpt_sched_config_init(&c, CKPT_SCHED_COSINE);
        c.T_max = 9;
        ckpt_optim *a = ckpt_optim_new_for_module(CKPT_OPTIM_ADAMW, m, NULL, &err);
        ckpt_sched *sa = ckpt_sched_new_for_optim(a, &c, &err);
        ckpt_optim *b = ckpt_optim_new_for_module(CKPT_OPTIM_ADAMW, m2, NULL, &err);
        ckpt_sched *sb = ckpt_sched_new_for_optim(b, &c, &err);
        CHECK(a && sa && b && sb);
        for (int s = 0; s < 12; s++) {
            if (s == 5) { /* b: drop the optimizer and scheduler, restore from state dicts */
                ckpt_doc *d = ckpt_doc_new(NULL, &err);
                const ckpt_obj *osd = ckpt_optim_state_dict(b, d, &err);
                const ckpt_obj *ssd = ckpt_sched_state_dict(sb, d, &err);
                CHECK(osd && ssd);
                ckpt_sched_free(sb);
                ckpt_optim_free(b);
                b = ckpt_optim_new_for_module(CKPT_OPTIM_ADAMW, m2, NULL, &err);
                sb = ckpt_sched_new_for_optim(b, &c, &err);
                CHECK(b && sb);
                if (order == 0) {
                    CHECK_OK(ckpt_optim_load_state_dict(b, osd, &err), &err);
                    CHECK_OK(ckpt_sched_load_state_dict(sb, ssd, &err), &err);
                } else {
                    CHECK_OK(ckpt_sched_load_state_dict(sb, ssd, &err), &err);
                    CHECK_OK(ckpt_optim_load_state_dict(b, osd, &err), &err);
                }
                ckpt_doc_free(d);
            }
            CHECK_OK(grads(m, s), &err);
            CHECK_OK(grads(m2, s), &err);
            CHECK_OK(ckpt_optim_step(a, &err), &err);
            CHECK_OK(ckpt_optim_step(b, &err), &err);
            CHECK_OK(ckpt_sched_step(sa, &err), &err);
            CHECK_OK(ckpt_sched_step(sb, &err), &err);
        }
        void *ba = NULL, *bb = NULL;
        size_t na = optim_bytes(a, &ba), nb = optim_bytes(b, &bb);
        CHECK(na > 0 && na == nb && memcmp(ba, bb, na) == 0);
        free(ba);
        free(bb);
        size_t n1 = 0, n2 = 0;
        const double *l1 = ckpt_sched_last_lr(sa, &n1), *l2 = ckpt_sched_last_lr(sb, &n2);
        CHECK(n1 == 1 && n2 == 1 && l1[0] == l2[0]);
        const ckpt_slot *w = ckpt_module_slot(m, "0.weight"),
                        *w2 = ckpt_module_slot(m2, "0.weight");
        CHECK(memcmp(w->data, w2->data, w->nbytes) == 0);
        ckpt_sched_free(sa);
        ckpt_sched_free(sb);
        ckpt_optim_free(a);
        ckpt_optim_free(b);
        ckpt_module_free(m);
        ckpt_module_free(m2);
    }
}

TEST(test_optim_attach__sequential_and_group_changes)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_module *m = net(), *m2 = net();
    ckpt_optim *a = ckpt_optim_new_for_module(CKPT_OPTIM_SGD, m, NULL, &err);
    ckpt_optim *other = ckpt_optim_new_for_module(CKPT_OPTIM_SGD, m2, NULL, &err);
    CHECK(a && other);
    ckpt_sched_config lin, cos_, seq;
    ckpt_sched_config_init(&lin, CKPT_SCHED_LINEAR);
    lin.total_iters = 3;
    ckpt_sched_config_init(&cos_, CKPT_SCHED_COSINE);
    cos_.T_max = 5;
    ckpt_sched *ch[2] = {ckpt_sched_new_for_optim(a, &lin, &err),
                         ckpt_sched_new_for_optim(a, &cos_, &err)};
    CHECK(ch[0] && ch[1]);
    int64_t ms[1] = {3};
    ckpt_sched_config_init(&seq, CKPT_SCHED_SEQUENTIAL);
    seq.children = ch;
    seq.n_children = 2;
    seq.milestones = ms;
    seq.n_milestones = 1;
    ckpt_sched *s = ckpt_sched_new_for_optim(a, &seq, &err);
    CHECK(s != NULL);
    /* expected lrs: the same schedule on a hand-moved target */
    ckpt_lr_group g = {.lr = 0.001};
    ckpt_lr_target t = {.ngroups = 1, .groups = &g};
    ckpt_sched *ct[2] = {ckpt_sched_new(&t, &lin, &err), ckpt_sched_new(&t, &cos_, &err)};
    seq.children = ct;
    ckpt_sched *st = ckpt_sched_new(&t, &seq, &err);
    CHECK(st != NULL);
    for (int i = 0; i < 8; i++) {
        CHECK_OK(ckpt_sched_step(s, &err), &err);
        CHECK_OK(ckpt_sched_step(st, &err), &err);
        double v = 0;
        CHECK_OK(ckpt_optim_group_get(a, 0, "lr", &v), &err);
        CHECK(v == g.lr);
    }
    /* a child attached to another optimizer: refused, children freed */
    ckpt_sched *bad[2] = {ckpt_sched_new_for_optim(a, &lin, &err),
                          ckpt_sched_new_for_optim(other, &cos_, &err)};
    CHECK(bad[0] && bad[1]);
    seq.children = bad;
    ckpt_error_clear(&err);
    CHECK(ckpt_sched_new_for_optim(a, &seq, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    /* a group added after the scheduler: the next step says so */
    CHECK_OK(ckpt_optim_add_params(a, NULL, 0, NULL, &err), &err);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_sched_step(s, &err), CKPT_E_SHAPE);
    CHECK(strstr(err.msg, "2 parameter groups") != NULL);
    ckpt_sched_free(s);
    ckpt_sched_free(st);
    ckpt_optim_free(a);
    ckpt_optim_free(other);
    ckpt_module_free(m);
    ckpt_module_free(m2);
}

/* another optimizer's state, wrong group count, size and shape: errors that name the
 * key path, and nothing changed */
TEST(test_optim_attach__load_mismatch_names_key)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_module *m = net();
    ckpt_optim *adamw = ckpt_optim_new_for_module(CKPT_OPTIM_ADAMW, m, NULL, &err);
    CHECK(adamw);
    for (int s = 0; s < 2; s++) {
        CHECK_OK(grads(m, s), &err);
        CHECK_OK(ckpt_optim_step(adamw, &err), &err);
    }
    ckpt_doc *d = ckpt_doc_new(NULL, &err);
    const ckpt_obj *sd = ckpt_optim_state_dict(adamw, d, &err);
    CHECK(sd);

    ckpt_optim_opts so = {.lr = 0.1, .momentum = 0.9};
    ckpt_optim *sgd = ckpt_optim_new_for_module(CKPT_OPTIM_SGD, m, &so, &err);
    CHECK(sgd);
    CHECK_OK(ckpt_optim_step(sgd, &err), &err); /* momentum buffers exist */
    void *before = NULL, *after = NULL;
    size_t nb = optim_bytes(sgd, &before);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_optim_load_state_dict(sgd, sd, &err), CKPT_E_ARG);
    CHECK_STR(err.key, "param_groups.0.momentum");
    CHECK(strstr(err.msg, "not a SGD optimizer's") != NULL);
    size_t na = optim_bytes(sgd, &after);
    CHECK(na == nb && memcmp(before, after, na) == 0);
    free(after);
    after = NULL;

    /* groups that look like SGD's but AdamW's per-parameter state */
    ckpt_doc *d2 = ckpt_doc_new(NULL, &err);
    ckpt_obj *mixed = ckpt_optim_state_dict(sgd, d2, &err);
    CHECK(mixed);
    ckpt_obj *st = ckpt_dict_new(d2, CKPT_DICT_PLAIN), *p0 = ckpt_dict_new(d2, CKPT_DICT_PLAIN);
    int64_t shp[2] = {3, 4};
    CHECK_OK(ckpt_dict_set_str(d2, p0, "step",
                               ckpt_tensor_new_copy(d2, CKPT_F32, 0, NULL, NULL, &err), &err),
             &err);
    CHECK_OK(ckpt_dict_set_str(d2, p0, "exp_avg",
                               ckpt_tensor_new_copy(d2, CKPT_F32, 2, shp, NULL, &err), &err),
             &err);
    CHECK_OK(ckpt_dict_set(d2, st, ckpt_int_new(d2, 0), p0, &err), &err);
    CHECK_OK(ckpt_dict_set_str(d2, mixed, "state", st, &err), &err);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_optim_load_state_dict(sgd, mixed, &err), CKPT_E_ARG);
    CHECK_STR(err.key, "state.0.step");
    na = optim_bytes(sgd, &after);
    CHECK(na == nb && memcmp(before, after, na) == 0);
    free(after);
    after = NULL;
    free(before);

    /* AdamW state into an AdamW over a model of other shapes */
    ckpt_module *m3 = ckpt_nn_sequential(NULL, NULL, &err);
    CHECK(ckpt_nn_linear(m3, "0", 3, 4, NULL, NULL, &err));
    CHECK(ckpt_nn_activation(m3, "1", CKPT_ACT_RELU, 0, &err));
    CHECK(ckpt_nn_linear(m3, "2", 3, 2, NULL, NULL, &err));
    ckpt_optim *a3 = ckpt_optim_new_for_module(CKPT_OPTIM_ADAMW, m3, NULL, &err);
    CHECK(a3);
    nb = optim_bytes(a3, &before);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_optim_load_state_dict(a3, sd, &err), CKPT_E_SHAPE);
    CHECK_STR(err.key, "state.0.exp_avg");
    CHECK(strstr(err.msg, "[3, 4]") != NULL && strstr(err.msg, "[4, 3]") != NULL);
    na = optim_bytes(a3, &after);
    CHECK(na == nb && memcmp(before, after, na) == 0);
    free(before);
    free(after);

    ckpt_doc_free(d2);
    ckpt_doc_free(d);
    ckpt_optim_free(a3);
    ckpt_optim_free(sgd);
    ckpt_optim_free(adamw);
    ckpt_module_free(m3);
    ckpt_module_free(m);
}

TEST_MAIN()
