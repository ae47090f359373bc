/* tests/unit/api/null_sched_test.c - every call of ckpt/sched.h (schedulers, lr targets, grad scaler) with NULL objects, NULL
 * optional arguments, err == NULL and zero sizes: the documented result,
 * never a crash. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

TEST(test_api_null_sched__schedulers_and_scaler)
{
    ckpt_sched_config_init(NULL, CKPT_SCHED_STEP);
    ckpt_sched_free(NULL);
    ckpt_sched_kind_of(NULL);
    CHECK(ckpt_sched_new(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_sched_step(NULL, NULL) < 0 && ckpt_sched_step_epoch(NULL, 1, NULL) < 0);
    CHECK(ckpt_sched_step_metric(NULL, 1.0, NULL) < 0);
    size_t n = 9;
    CHECK(ckpt_sched_last_lr(NULL, &n) == NULL && ckpt_sched_last_lr(NULL, NULL) == NULL);
    ckpt_sched_last_epoch(NULL);
    CHECK(ckpt_sched_state_dict(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_sched_load_state_dict(NULL, NULL, NULL) < 0);
    CHECK(ckpt_lr_target_from_optim(NULL, NULL, 0, NULL, NULL) < 0);
    CHECK(ckpt_lr_target_to_optim(NULL, NULL, NULL) < 0);

    ckpt_module *lin = ckpt_nn_linear(NULL, NULL, 3, 2, NULL, NULL, NULL);
    ckpt_optim *o = ckpt_optim_new(CKPT_OPTIM_SGD, "lr=0.1, momentum=0.9", NULL);
    CHECK(lin && o && ckpt_optim_add_module(o, lin, NULL, NULL) == 0);
    ckpt_lr_target t;
    ckpt_lr_group g[2];
    CHECK(ckpt_lr_target_from_optim(&t, g, 0, o, NULL) < 0); /* no room */
    CHECK(ckpt_lr_target_from_optim(&t, NULL, 2, o, NULL) < 0);
    CHECK(ckpt_lr_target_from_optim(&t, g, 2, NULL, NULL) < 0);
    CHECK(ckpt_lr_target_from_optim(&t, g, 2, o, NULL) == 0);
    for (int kind = CKPT_SCHED_STEP; kind <= CKPT_SCHED_PLATEAU; kind++) {
        ckpt_sched_config cfg;
        ckpt_sched_config_init(&cfg, kind);
        CHECK(ckpt_sched_new(&t, NULL, NULL) == NULL);
        CHECK(ckpt_sched_new(NULL, &cfg, NULL) == NULL);
        /* defaults alone: either a scheduler or a refusal, never a crash */
        ckpt_sched *s = ckpt_sched_new(&t, &cfg, NULL);
        if (!s)
            continue;
        ckpt_sched_step(s, NULL);
        ckpt_sched_step_epoch(s, 0, NULL);
        ckpt_sched_step_metric(s, 1.0, NULL);
        CHECK(ckpt_sched_last_lr(s, NULL) != NULL || 1);
        ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
        CHECK(ckpt_sched_state_dict(s, NULL, NULL) == NULL);
        ckpt_obj *sd = ckpt_sched_state_dict(s, doc, NULL);
        CHECK(sd != NULL);
        CHECK(ckpt_sched_load_state_dict(s, sd, NULL) == 0);
        CHECK(ckpt_sched_load_state_dict(s, NULL, NULL) < 0);
        CHECK(ckpt_sched_load_state_dict(s, ckpt_int_new(doc, 1), NULL) < 0);
        ckpt_doc_free(doc);
        ckpt_sched_free(s);
    }
    CHECK(ckpt_lr_target_to_optim(&t, o, NULL) == 0);
    CHECK(ckpt_lr_target_to_optim(&t, NULL, NULL) < 0);
    ckpt_optim_free(o);
    ckpt_module_free(lin);

    ckpt_grad_scaler gs;
    ckpt_grad_scaler_init(&gs);
    ckpt_grad_scaler_init(NULL);
    ckpt_grad_scaler_update(NULL, true);
    ckpt_grad_scaler_unscale_f32(NULL, NULL, 0);
    CHECK(!ckpt_grad_scaler_unscale_f32(&gs, NULL, 0));
    CHECK(ckpt_grad_scaler_state_dict(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_grad_scaler_state_dict(&gs, NULL, NULL) == NULL);
    CHECK(ckpt_grad_scaler_load_state_dict(NULL, NULL, NULL) < 0);
    CHECK(ckpt_grad_scaler_load_state_dict(&gs, NULL, NULL) < 0);
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    ckpt_obj *sd = ckpt_grad_scaler_state_dict(&gs, doc, NULL);
    CHECK(sd != NULL && ckpt_grad_scaler_load_state_dict(&gs, sd, NULL) == 0);
    ckpt_doc_free(doc);
}

TEST(test_api_null_sched__attached_to_optimizer)
{
    ckpt_sched_config c;
    ckpt_sched_config_init(&c, CKPT_SCHED_STEP);
    c.step_size = 1;
    CHECK(ckpt_sched_new_for_optim(NULL, &c, NULL) == NULL);
    CHECK(ckpt_sched_optim(NULL) == NULL);
    ckpt_module *lin = ckpt_nn_linear(NULL, NULL, 3, 2, NULL, NULL, NULL);
    ckpt_optim *o = ckpt_optim_new_for_module(CKPT_OPTIM_SGD, lin, NULL, NULL);
    CHECK(o != NULL);
    CHECK(ckpt_sched_new_for_optim(o, NULL, NULL) == NULL);
    ckpt_sched *s = ckpt_sched_new_for_optim(o, &c, NULL);
    CHECK(s != NULL && ckpt_sched_optim(s) == o);
    CHECK(ckpt_sched_step(s, NULL) == 0);
    CHECK(ckpt_sched_step_epoch(s, 3, NULL) == 0);
    CHECK(ckpt_sched_step_metric(s, 1.0, NULL) < 0); /* not a plateau scheduler */
    ckpt_sched_free(s);
    /* a SequentialLR with NULL children, err == NULL */
    ckpt_sched_config q;
    ckpt_sched_config_init(&q, CKPT_SCHED_SEQUENTIAL);
    ckpt_sched *kids[1] = {NULL};
    q.children = kids;
    q.n_children = 1;
    CHECK(ckpt_sched_new_for_optim(o, &q, NULL) == NULL);
    ckpt_optim_free(o);
    ckpt_module_free(lin);
}

TEST_MAIN()
