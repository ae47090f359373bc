/* tests/unit/optim/oom_test.c - the OOM sweep of optimizers and schedulers:
 * with an allocator (ckpt_optim_opts.alloc, ckpt_sched_config.alloc) that
 * fails the N-th allocation, for every N until a run succeeds, each call
 * fails cleanly with CKPT_E_NOMEM (or succeeds), nothing leaks (the
 * allocator's live byte count returns to 0), and a run with err == NULL
 * takes the same path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

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

static int set_grads(void *payload, const char *key, ckpt_module *owner, ckpt_slot *sl)
{
    (void)payload;
    (void)key;
    (void)owner;
    size_t n = sl->nbytes / sizeof(float);
    if (!sl->grad)
        sl->grad = malloc(n * sizeof(float));
    if (!sl->grad)
        return -1;
    for (size_t i = 0; i < n; i++)
        sl->grad[i] = (float)((int)(i % 5) - 2) / 4.0f;
    return 0;
}

/* One life of an optimizer and a scheduler through `a`; 0 when every call
 * succeeded, else the first failure's code (which must be CKPT_E_NOMEM). */
static int life(ckpt_module *m, int kind, int sched_kind, const ckpt_alloc *a, ckpt_error *err)
{
    ckpt_optim_opts oo;
    memset(&oo, 0, sizeof oo);
    oo.lr = 0.01;
    oo.momentum = kind == CKPT_OPTIM_SGD || kind == CKPT_OPTIM_RMSPROP ? 0.9 : 0.0;
    oo.alloc = a;
    ckpt_sched_config c;
    ckpt_sched_config_init(&c, (ckpt_sched_kind)sched_kind);
    double max_lr[3] = {0.1, 0.1, 0.2};
    int64_t ms[2] = {2, 4};
    c.T_max = 5;
    c.max_lr = max_lr;
    c.total_steps = 10;
    c.milestones = ms;
    c.n_milestones = 2;
    c.alloc = a;
    ckpt_optim *o = NULL, *o2 = NULL;
    ckpt_sched *s = NULL, *s2 = NULL;
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    int rc = doc ? 0 : -1;
    const char *first[] = {"0"};
    if (rc == 0) {
        o = ckpt_optim_new_opts((ckpt_optim_kind)kind, &oo, err);
        rc = o ? 0 : CKPT_E_NOMEM;
    }
    if (rc == 0)
        rc = ckpt_optim_add_named_group(o, m, first, 1, NULL, err);
    if (rc == 0)
        rc = ckpt_optim_add_named_group(o, m, NULL, 0, NULL, err);
    if (rc == 0)
        rc = ckpt_optim_add_group(o, NULL, 0, "lr=0.5", err);
    if (rc == 0) {
        s = ckpt_sched_new_for_optim(o, &c, err);
        rc = s ? 0 : CKPT_E_NOMEM;
    }
    for (int i = 0; i < 3 && rc == 0; i++) {
        rc = ckpt_optim_step(o, err);
        if (rc == 0)
            rc = ckpt_sched_step(s, err);
    }
    const ckpt_obj *osd = NULL, *ssd = NULL;
    if (rc == 0) {
        osd = ckpt_optim_state_dict(o, doc, err);
        ssd = osd ? ckpt_sched_state_dict(s, doc, err) : NULL;
        rc = ssd ? 0 : CKPT_E_NOMEM;
    }
    if (rc == 0) {
        o2 = ckpt_optim_new_for_module((ckpt_optim_kind)kind, m, &oo, err);
        rc = o2 ? 0 : CKPT_E_NOMEM;
    }
    if (rc == 0) {
        rc = ckpt_optim_load_state_dict(o2, osd, err) == CKPT_E_SHAPE ? 0
                                                                      : -99; /* 1 vs 3 groups */
        ckpt_error_clear(err);
    }
    if (rc == 0) {
        ckpt_optim_free(o2);
        o2 = ckpt_optim_new_opts((ckpt_optim_kind)kind, &oo, err);
        rc = o2 ? 0 : CKPT_E_NOMEM;
        if (rc == 0)
            rc = ckpt_optim_add_named_group(o2, m, first, 1, NULL, err);
        if (rc == 0)
            rc = ckpt_optim_add_named_group(o2, m, NULL, 0, NULL, err);
        if (rc == 0)
            rc = ckpt_optim_add_params(o2, NULL, 0, NULL, err);
    }
    if (rc == 0)
        rc = ckpt_optim_load_state_dict(o2, osd, err);
    if (rc == 0) {
        c.last_epoch = -1;
        s2 = ckpt_sched_new_for_optim(o2, &c, err);
        rc = s2 ? 0 : CKPT_E_NOMEM;
    }
    if (rc == 0)
        rc = ckpt_sched_load_state_dict(s2, ssd, err);
    if (rc == 0)
        rc = ckpt_optim_step(o2, err);
    if (rc == 0)
        rc = ckpt_sched_step(s2, err);
    ckpt_sched_free(s2);
    ckpt_sched_free(s);
    ckpt_optim_free(o2);
    ckpt_optim_free(o);
    ckpt_doc_free(doc);
    return rc;
}

TEST(test_optim_oom__sweep)
{
    ckpt_module *m = net();
    CHECK(m != NULL);
    CHECK(ckpt_module_walk(m, CKPT_WALK_PARAMS, set_grads, NULL, NULL) == 0);
    int scheds[] = {CKPT_SCHED_COSINE, CKPT_SCHED_MULTISTEP, CKPT_SCHED_ONE_CYCLE};
    for (int kind = CKPT_OPTIM_SGD; kind <= CKPT_OPTIM_ADAGRAD; kind++) {
        for (size_t si = 0; si < sizeof scheds / sizeof scheds[0]; si++) {
            int sk = scheds[si];
            if (sk == CKPT_SCHED_ONE_CYCLE && kind == CKPT_OPTIM_ADAGRAD)
                continue; /* no momentum to cycle */
            int ok = 0;
            long k = 1;
            for (; k < 5000 && !ok; k++) {
                test_failing_alloc fa, fb;
                test_failing_alloc_init(&fa, k);
                test_failing_alloc_init(&fb, k);
                ckpt_error err;
                ckpt_error_clear(&err);
                int ra = life(m, kind, sk, &fa.a, &err);
                int rb = life(m, kind, sk, &fb.a, NULL);
                CHECK_EQ_INT(ra, rb);
                if (ra != 0 && err.code != CKPT_E_NOMEM) {
                    char b[600];
                    fprintf(stderr, "kind %d sched %d k %ld: %s\n", kind, sk, k,
                            ckpt_error_format(&err, b, sizeof b));
                    CHECK_EQ_INT(err.code, CKPT_E_NOMEM);
                }
                CHECK_EQ_INT(fa.live, 0);
                CHECK_EQ_INT(fb.live, 0);
                ok = ra == 0;
            }
            CHECK(ok);
            CHECK(k > 10); /* the sweep went through allocations */
        }
    }
    ckpt_module_free(m);
}

TEST_MAIN()
