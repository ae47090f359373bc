/* tests/unit/optim/train_ckpt_test.c - training checkpoints (ckpt/train.h):
 * an interrupted run resumed from the file ends byte-identical to the
 * uninterrupted one; extras round-trip; absent pieces; errors name the key
 * and change nothing.  torch's side: tests/interop/train_ckpt_interop.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "ckpt/train.h"
#include "util/test.h"

static ckpt_module *net(uint64_t seed)
{
    ckpt_rng r;
    ckpt_rng_seed(&r, seed);
    ckpt_module *m = ckpt_nn_sequential(NULL, NULL, NULL);
    if (!m || !ckpt_nn_linear(m, "0", 4, 3, NULL, &r, NULL) ||
        !ckpt_nn_activation(m, "1", CKPT_ACT_RELU, 0, NULL) ||
        !ckpt_nn_linear(m, "2", 3, 2, NULL, &r, NULL)) {
        ckpt_module_free(m);
        return NULL;
    }
    return m;
}

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

typedef struct run {
    ckpt_module *m;
    ckpt_optim *o;
    ckpt_sched *s;
    ckpt_grad_scaler g;
    ckpt_train_state st;
} run;

static int run_new(run *r)
{
    memset(r, 0, sizeof *r);
    r->m = net(5);
    ckpt_optim_opts oo = {.lr = 0.01};
    r->o = r->m ? ckpt_optim_new_for_module(CKPT_OPTIM_ADAMW, r->m, &oo, NULL) : NULL;
    ckpt_sched_config c;
    ckpt_sched_config_init(&c, CKPT_SCHED_COSINE);
    c.T_max = 10;
    r->s = r->o ? ckpt_sched_new_for_optim(r->o, &c, NULL) : NULL;
    ckpt_grad_scaler_init(&r->g);
    r->st.model = r->m;
    r->st.optim = r->o;
    r->st.sched = r->s;
    r->st.scaler = &r->g;
    return r->s ? 0 : -1;
}

static void run_free(run *r)
{
    ckpt_sched_free(r->s);
    ckpt_optim_free(r->o);
    ckpt_module_free(r->m);
}

static int train(run *r, int from, int to)
{
    for (int s = from; s < to; s++) {
        if (ckpt_module_walk(r->m, CKPT_WALK_PARAMS, set_grads, &s, NULL) != 0 ||
            ckpt_optim_step(r->o, NULL) < 0 || ckpt_sched_step(r->s, NULL) < 0)
            return -1;
        ckpt_grad_scaler_update(&r->g, s % 5 == 4);
        r->st.epoch = s + 1;
    }
    return 0;
}

static size_t bytes_of(run *r, void **buf)
{
    ckpt_doc *d = ckpt_doc_new(NULL, NULL);
    const ckpt_obj *root = ckpt_train_state_dict(&r->st, NULL, d, NULL);
    size_t n = 0;
    ckpt_save_opts so = {.layout = CKPT_LAYOUT_TORCH13, .archive = "x"};
    if (!root || ckpt_save_mem(root, &so, buf, &n, NULL) < 0)
        n = 0;
    ckpt_doc_free(d);
    return n;
}

TEST(test_optim_train_ckpt__resume_is_exact)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    char path[256];
    snprintf(path, sizeof path, "/tmp/ckpt_train_ckpt_%ld.pt", (long)getpid());
    run a, b;
    CHECK(run_new(&a) == 0 && run_new(&b) == 0);
    CHECK(train(&a, 0, 12) == 0);
    CHECK(train(&b, 0, 5) == 0);
    /* extras: a float, a str, an int list, a tensor */
    ckpt_doc *x = ckpt_doc_new(NULL, &err);
    ckpt_obj *ex = ckpt_dict_new(x, CKPT_DICT_PLAIN), *lst = ckpt_list_new(x);
    CHECK_OK(ckpt_dict_set_str(x, ex, "best_acc", ckpt_float_new(x, 0.75), &err), &err);
    CHECK_OK(ckpt_dict_set_str(x, ex, "arch", ckpt_str_new(x, "mlp"), &err), &err);
    CHECK_OK(ckpt_list_append(x, lst, ckpt_int_new(x, 7), &err), &err);
    CHECK_OK(ckpt_dict_set_str(x, ex, "seeds", lst, &err), &err);
    float ema[3] = {1.5f, -2.0f, 0.25f};
    int64_t three = 3;
    CHECK_OK(ckpt_dict_set_str(x, ex, "ema",
                               ckpt_tensor_new_copy(x, CKPT_F32, 1, &three, ema, &err), &err),
             &err);
    CHECK_OK(ckpt_train_save(path, &b.st, ex, NULL, &err), &err);
    ckpt_doc_free(x);
    run_free(&b);

    /* the file's top level is a torch user's dict */
    ckpt_doc *d = ckpt_load(path, NULL, &err);
    CHECK(d != NULL);
    const ckpt_obj *root = ckpt_doc_root(d);
    const char *want[] = {"epoch",    "model", "optimizer", "scheduler", "scaler",
                          "best_acc", "arch",  "seeds",     "ema"};
    CHECK_EQ_INT(ckpt_obj_len(root), 9);
    for (size_t i = 0; i < 9; i++)
        CHECK_STR(ckpt_obj_str(ckpt_dict_key(root, i), NULL), want[i]);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_dict_get(root, "epoch")), 5);
    ckpt_doc_free(d);

    /* resume into fresh objects: no other call, and the run ends identical */
    CHECK(run_new(&b) == 0);
    ckpt_doc *extras = NULL;
    CHECK_OK(ckpt_train_load(path, &b.st, NULL, &extras, &err), &err);
    CHECK(extras != NULL);
    CHECK_EQ_INT(b.st.epoch, 5);
    CHECK(!b.st.no_epoch);
    const ckpt_obj *acc = ckpt_dict_get(ckpt_doc_root(extras), "best_acc");
    CHECK(acc && ckpt_obj_float(acc) == 0.75);
    float got[3];
    CHECK_OK(ckpt_tensor_copy_into(ckpt_dict_get(ckpt_doc_root(extras), "ema"), got, sizeof got,
                                   &err),
             &err);
    CHECK(memcmp(got, ema, sizeof got) == 0);
    ckpt_doc_free(extras);
    CHECK(train(&b, 5, 12) == 0);
    void *ba = NULL, *bb = NULL;
    size_t na = bytes_of(&a, &ba), nb = bytes_of(&b, &bb);
    CHECK(na > 0 && na == nb && memcmp(ba, bb, na) == 0);
    free(ba);
    free(bb);
    run_free(&a);
    run_free(&b);
    remove(path);
}

TEST(test_optim_train_ckpt__pieces_keys_and_errors)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    run a;
    CHECK(run_new(&a) == 0);
    CHECK(train(&a, 0, 3) == 0);
    ckpt_doc *d = ckpt_doc_new(NULL, &err);
    /* the tutorial's names, no scheduler, no scaler */
    ckpt_train_state st = {.epoch = 3,
                           .model = a.m,
                           .optim = a.o,
                           .model_key = "model_state_dict",
                           .optim_key = "optimizer_state_dict"};
    ckpt_obj *root = ckpt_train_state_dict(&st, NULL, d, &err);
    CHECK(root != NULL);
    CHECK_EQ_INT(ckpt_obj_len(root), 3);
    CHECK(ckpt_dict_get(root, "model_state_dict") && ckpt_dict_get(root, "optimizer_state_dict"));
    /* an extra named like a piece */
    ckpt_obj *ex = ckpt_dict_new(d, CKPT_DICT_PLAIN);
    CHECK_OK(ckpt_dict_set_str(d, ex, "epoch", ckpt_int_new(d, 1), &err), &err);
    ckpt_error_clear(&err);
    CHECK(ckpt_train_state_dict(&st, ex, d, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);

    /* loading: a missing piece is named before anything changes */
    run b;
    CHECK(run_new(&b) == 0);
    ckpt_train_state want_sched = b.st; /* default keys: "model" is absent */
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_train_load_state_dict(&want_sched, root, NULL, &err), CKPT_E_NOT_FOUND);
    CHECK_STR(err.key, "model");
    ckpt_train_state bst = {.model = b.m,
                            .optim = b.o,
                            .model_key = "model_state_dict",
                            .optim_key = "optimizer_state_dict"};
    CHECK_OK(ckpt_train_load_state_dict(&bst, root, NULL, &err), &err);
    CHECK_EQ_INT(bst.epoch, 3);
    /* another optimizer's state: the key path names the piece */
    ckpt_optim_opts so = {.lr = 0.1};
    ckpt_optim *sgd = ckpt_optim_new_for_module(CKPT_OPTIM_SGD, b.m, &so, &err);
    CHECK(sgd);
    bst.optim = sgd;
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_train_load_state_dict(&bst, root, NULL, &err), CKPT_E_ARG);
    CHECK_STR(err.key, "optimizer_state_dict.param_groups.0.momentum");
    /* no epoch in the file */
    ckpt_train_state noep = {.no_epoch = true, .model = a.m};
    ckpt_obj *r2 = ckpt_train_state_dict(&noep, NULL, d, &err);
    CHECK(r2 && ckpt_obj_len(r2) == 1);
    ckpt_train_state into = {.epoch = 9, .model = b.m};
    CHECK_OK(ckpt_train_load_state_dict(&into, r2, NULL, &err), &err);
    CHECK(into.no_epoch && into.epoch == 9);
    /* bad arguments */
    CHECK(ckpt_train_state_dict(NULL, NULL, d, NULL) == NULL);
    CHECK(ckpt_train_state_dict(&st, root /* not extras-like? it is a dict */, NULL, NULL) ==
          NULL);
    CHECK(ckpt_train_load_state_dict(&into, ckpt_int_new(d, 1), NULL, NULL) == CKPT_E_FORMAT);
    CHECK(ckpt_train_load(NULL, &into, NULL, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_train_load("/nonexistent/c.pt", &into, NULL, NULL, NULL) < 0);
    CHECK(ckpt_train_save("/nonexistent/dir/c.pt", &st, NULL, NULL, NULL) < 0);
    ckpt_optim_free(sgd);
    ckpt_doc_free(d);
    run_free(&a);
    run_free(&b);
}

/* a scheduler built on a hand-moved target (ckpt_sched_new): the restore
 * refreshes the target from the loaded optimizer */
TEST(test_optim_train_ckpt__low_level_scheduler_refreshed)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    run a;
    CHECK(run_new(&a) == 0);
    CHECK(train(&a, 0, 6) == 0);
    ckpt_doc *d = ckpt_doc_new(NULL, &err);
    const ckpt_obj *root = ckpt_train_state_dict(&a.st, NULL, d, &err);
    CHECK(root != NULL);
    ckpt_module *m = net(5);
    ckpt_optim_opts oo = {.lr = 0.01};
    ckpt_optim *o = ckpt_optim_new_for_module(CKPT_OPTIM_ADAMW, m, &oo, &err);
    CHECK(o);
    ckpt_lr_group g[1];
    ckpt_lr_target t;
    CHECK_OK(ckpt_lr_target_from_optim(&t, g, 1, o, &err), &err);
    ckpt_sched_config c;
    ckpt_sched_config_init(&c, CKPT_SCHED_COSINE);
    c.T_max = 10;
    ckpt_sched *s = ckpt_sched_new(&t, &c, &err);
    CHECK(s);
    ckpt_train_state st = {.model = m, .optim = o, .sched = s};
    CHECK_OK(ckpt_train_load_state_dict(&st, root, NULL, &err), &err);
    double lr = 0;
    CHECK_OK(ckpt_optim_group_get(o, 0, "lr", &lr), &err);
    CHECK(g[0].lr == lr && g[0].has_initial_lr && g[0].initial_lr == 0.01);
    CHECK_OK(ckpt_sched_step(s, &err), &err);
    CHECK_OK(ckpt_sched_step(a.s, &err), &err);
    double want = 0;
    CHECK_OK(ckpt_optim_group_get(a.o, 0, "lr", &want), &err);
    CHECK(g[0].lr == want);
    ckpt_sched_free(s);
    ckpt_optim_free(o);
    ckpt_module_free(m);
    ckpt_doc_free(d);
    run_free(&a);
}

TEST_MAIN()
