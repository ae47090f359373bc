/* tests/unit/optim/sched_test.c - LR schedulers and GradScaler (values checked
 * against torch 1.13 in tests/interop/sched_interop.py; here: rules, state
 * dict types and round trips, errors). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/optim.h"
#include "ckpt/sched.h"
#include "util/test.h"

static void two_groups(ckpt_lr_group g[2], ckpt_lr_target *t)
{
    memset(g, 0, 2 * sizeof *g);
    g[0].lr = 0.1;
    g[1].lr = 0.05;
    memset(t, 0, sizeof *t);
    t->ngroups = 2;
    t->groups = g;
    t->momentum_kind = CKPT_MOMENTUM_PLAIN;
}

TEST(test_optim_sched__steplr_rule)
{
    ckpt_lr_group g[2];
    ckpt_lr_target t;
    two_groups(g, &t);
    ckpt_sched_config c;
    ckpt_sched_config_init(&c, CKPT_SCHED_STEP);
    c.step_size = 3;
    c.gamma = 0.5;
    ckpt_error err = {0};
    ckpt_sched *s = ckpt_sched_new(&t, &c, &err);
    CHECK(s);
    CHECK(g[0].has_initial_lr && g[0].initial_lr == 0.1);
    for (int i = 0; i < 3; i++)
        CHECK_OK(ckpt_sched_step(s, &err), &err);
    size_t n;
    const double *l = ckpt_sched_last_lr(s, &n);
    CHECK_EQ_INT(n, 2);
    CHECK(l[0] == 0.1 * 0.5 && l[1] == 0.05 * 0.5 && g[0].lr == l[0]);
    CHECK_EQ_INT(ckpt_sched_last_epoch(s), 3);
    /* closed form */
    CHECK_OK(ckpt_sched_step_epoch(s, 7, &err), &err);
    CHECK(g[0].lr == 0.1 * pow(0.5, 2.0));
    ckpt_sched_free(s);
}

TEST(test_optim_sched__resume_needs_initial_lr)
{
    ckpt_lr_group g[2];
    ckpt_lr_target t;
    two_groups(g, &t);
    ckpt_sched_config c;
    ckpt_sched_config_init(&c, CKPT_SCHED_EXPONENTIAL);
    c.gamma = 0.9;
    c.last_epoch = 4;
    ckpt_error err = {0};
    CHECK(ckpt_sched_new(&t, &c, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    CHECK(strstr(err.msg, "initial_lr") != NULL);
    ckpt_sched_config_init(&c, CKPT_SCHED_CONSTANT);
    c.factor = 1.5;
    ckpt_error_clear(&err);
    CHECK(ckpt_sched_new(&t, &c, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
}

static ckpt_doc *roundtrip(const ckpt_sched *s)
{
    ckpt_error err = {0};
    ckpt_doc *d = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = d ? ckpt_sched_state_dict(s, d, &err) : NULL;
    void *buf = NULL;
    size_t len = 0;
    ckpt_save_opts so = {0};
    so.layout = CKPT_LAYOUT_TORCH13;
    int rc = sd ? ckpt_save_mem(sd, &so, &buf, &len, &err) : -1;
    ckpt_doc_free(d);
    if (rc < 0)
        return NULL;
    ckpt_load_opts lo = {0};
    lo.unsafe_full = true;
    ckpt_doc *back = ckpt_load_mem(buf, len, "mem", &lo, &err);
    free(buf);
    return back;
}

static void continue_equal(int kind, void (*setup)(ckpt_sched_config *))
{
    ckpt_lr_group g[2], h[2];
    ckpt_lr_target t, u;
    two_groups(g, &t);
    two_groups(h, &u);
    ckpt_sched_config c;
    ckpt_sched_config_init(&c, kind);
    setup(&c);
    ckpt_error err = {0};
    ckpt_sched *a = ckpt_sched_new(&t, &c, &err);
    ckpt_sched *b = ckpt_sched_new(&u, &c, &err);
    CHECK(a && b);
    for (int i = 0; i < 9; i++)
        CHECK_OK(kind == CKPT_SCHED_PLATEAU ? ckpt_sched_step_metric(a, 1.0, &err)
                                            : ckpt_sched_step(a, &err),
                 &err);
    ckpt_doc *d = roundtrip(a);
    CHECK(d);
    CHECK_OK(ckpt_sched_load_state_dict(b, ckpt_doc_root(d), &err), &err);
    ckpt_doc_free(d);
    for (size_t i = 0; i < 2; i++) {
        h[i].lr = g[i].lr;
        h[i].momentum = g[i].momentum;
    }
    for (int i = 0; i < 20; i++) {
        CHECK_OK(kind == CKPT_SCHED_PLATEAU ? ckpt_sched_step_metric(a, 1.0, &err)
                                            : ckpt_sched_step(a, &err),
                 &err);
        CHECK_OK(kind == CKPT_SCHED_PLATEAU ? ckpt_sched_step_metric(b, 1.0, &err)
                                            : ckpt_sched_step(b, &err),
                 &err);
        if (!(g[0].lr == h[0].lr && g[1].lr == h[1].lr && g[0].momentum == h[0].momentum))
            fprintf(stderr, "kind %d step %d: %a %a / %a %a\n", kind, i, g[0].lr, h[0].lr,
                    g[0].momentum, h[0].momentum);
        CHECK(g[0].lr == h[0].lr && g[1].lr == h[1].lr && g[0].momentum == h[0].momentum);
    }
    ckpt_sched_free(a);
    ckpt_sched_free(b);
}

static void setup_cos(ckpt_sched_config *c)
{
    c->T_max = 6;
    c->eta_min = 0.001;
}
static void setup_warm(ckpt_sched_config *c)
{
    c->T_0 = 3;
    c->T_mult = 2;
}
static void setup_ms(ckpt_sched_config *c)
{
    static const int64_t ms[] = {2, 5, 5, 11};
    c->milestones = ms;
    c->n_milestones = 4;
}
static void setup_oc(ckpt_sched_config *c)
{
    static const double mx[] = {0.2, 0.4};
    c->max_lr = mx;
    c->total_steps = 40;
    c->three_phase = true;
}
static void setup_pl(ckpt_sched_config *c)
{
    c->patience = 1;
    c->cooldown = 2;
}

TEST(test_optim_sched__roundtrip_continue)
{
    continue_equal(CKPT_SCHED_COSINE, setup_cos);
    continue_equal(CKPT_SCHED_COSINE_WARM_RESTARTS, setup_warm);
    continue_equal(CKPT_SCHED_MULTISTEP, setup_ms);
    continue_equal(CKPT_SCHED_ONE_CYCLE, setup_oc);
    continue_equal(CKPT_SCHED_PLATEAU, setup_pl);
}

TEST(test_optim_sched__state_dict_types)
{
    ckpt_lr_group g[2];
    ckpt_lr_target t;
    two_groups(g, &t);
    ckpt_sched_config c;
    ckpt_sched_config_init(&c, CKPT_SCHED_MULTISTEP);
    setup_ms(&c);
    ckpt_error err = {0};
    ckpt_sched *s = ckpt_sched_new(&t, &c, &err);
    CHECK(s);
    ckpt_doc *d = ckpt_doc_new(NULL, &err);
    const ckpt_obj *sd = ckpt_sched_state_dict(s, d, &err);
    CHECK(sd);
    CHECK_STR(ckpt_obj_str(ckpt_dict_key(sd, 0), NULL), "milestones");
    const ckpt_obj *ms = ckpt_dict_get(sd, "milestones");
    CHECK_EQ_INT(ckpt_dict_kind_of(ms), CKPT_DICT_COUNTER);
    CHECK_EQ_INT(ckpt_obj_len(ms), 3);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_dict_value(ms, 1)), 2);
    CHECK_EQ_INT(ckpt_obj_type(ckpt_dict_get(sd, "verbose")), CKPT_T_BOOL);
    CHECK_EQ_INT(ckpt_obj_type(ckpt_dict_get(sd, "_step_count")), CKPT_T_INT);
    CHECK_EQ_INT(ckpt_obj_type(ckpt_obj_get(sd, "base_lrs", "1", NULL)), CKPT_T_FLOAT);
    CHECK_STR(ckpt_obj_str(ckpt_dict_key(sd, ckpt_obj_len(sd) - 1), NULL), "_last_lr");
    ckpt_sched_free(s);

    ckpt_sched_config_init(&c, CKPT_SCHED_PLATEAU);
    s = ckpt_sched_new(&t, &c, &err);
    CHECK(s);
    sd = ckpt_sched_state_dict(s, d, &err);
    CHECK(sd && ckpt_dict_get(sd, "_last_lr") == NULL);
    CHECK(isinf(ckpt_obj_float(ckpt_dict_get(sd, "best"))));
    CHECK_EQ_INT(ckpt_obj_type(ckpt_obj_get(sd, "min_lrs", "0", NULL)), CKPT_T_INT);
    CHECK_STR(ckpt_obj_str(ckpt_dict_get(sd, "mode"), NULL), "min");
    ckpt_sched_free(s);
    ckpt_doc_free(d);
}

TEST(test_optim_sched__sequential)
{
    ckpt_lr_group g[2];
    ckpt_lr_target t;
    two_groups(g, &t);
    g[0].lr = 1.0;
    ckpt_sched_config a, b, c;
    ckpt_sched_config_init(&a, CKPT_SCHED_CONSTANT);
    a.factor = 0.1;
    a.total_iters = 2;
    ckpt_sched_config_init(&b, CKPT_SCHED_EXPONENTIAL);
    b.gamma = 0.9;
    ckpt_error err = {0};
    ckpt_sched *kids[2] = {ckpt_sched_new(&t, &a, &err), ckpt_sched_new(&t, &b, &err)};
    CHECK(kids[0] && kids[1]);
    static const int64_t ms[] = {2};
    ckpt_sched_config_init(&c, CKPT_SCHED_SEQUENTIAL);
    c.children = kids;
    c.n_children = 2;
    c.milestones = ms;
    c.n_milestones = 1;
    ckpt_sched *s = ckpt_sched_new(&t, &c, &err);
    CHECK(s);
    CHECK(g[0].lr == 1.0 * 0.1);
    CHECK_OK(ckpt_sched_step(s, &err), &err);
    CHECK_OK(ckpt_sched_step(s, &err), &err);
    CHECK(g[0].lr == 1.0); /* ExponentialLR.step(0): closed form base_lr * gamma ** 0 */
    CHECK_OK(ckpt_sched_step(s, &err), &err);
    CHECK(g[0].lr == 1.0 * 0.9);
    ckpt_doc *d = roundtrip(s);
    CHECK(d);
    CHECK_EQ_INT(ckpt_obj_len(ckpt_dict_get(ckpt_doc_root(d), "_schedulers")), 2);
    CHECK_OK(ckpt_sched_load_state_dict(s, ckpt_doc_root(d), &err), &err);
    ckpt_doc_free(d);
    ckpt_sched_free(s);
    /* a bad milestone count frees the children */
    ckpt_sched *k2[1] = {ckpt_sched_new(&t, &a, &err)};
    c.children = k2;
    c.n_children = 1;
    CHECK(ckpt_sched_new(&t, &c, &err) == NULL);
}

TEST(test_optim_sched__grad_scaler)
{
    ckpt_grad_scaler gs;
    ckpt_grad_scaler_init(&gs);
    gs.growth_interval = 2;
    ckpt_grad_scaler_update(&gs, false);
    CHECK(gs.scale == 65536.0f && gs.growth_tracker == 1);
    ckpt_grad_scaler_update(&gs, false);
    CHECK(gs.scale == 131072.0f && gs.growth_tracker == 0);
    ckpt_grad_scaler_update(&gs, false);
    ckpt_grad_scaler_update(&gs, true);
    CHECK(gs.scale == 65536.0f && gs.growth_tracker == 0);
    gs.scale = 3e38f; /* growth to inf is refused */
    ckpt_grad_scaler_update(&gs, false);
    ckpt_grad_scaler_update(&gs, false);
    CHECK(gs.scale == 3e38f);
    gs.scale = 4.0f;
    float grads[3] = {8.0f, -2.0f, 1.0f};
    CHECK(!ckpt_grad_scaler_unscale_f32(&gs, grads, 3));
    CHECK(grads[0] == 2.0f && grads[1] == -0.5f);
    grads[2] = NAN;
    CHECK(ckpt_grad_scaler_unscale_f32(&gs, grads, 3));

    ckpt_error err = {0};
    ckpt_doc *d = ckpt_doc_new(NULL, &err);
    const ckpt_obj *sd = ckpt_grad_scaler_state_dict(&gs, d, &err);
    CHECK(sd && ckpt_obj_len(sd) == 5);
    CHECK_STR(ckpt_obj_str(ckpt_dict_key(sd, 4), NULL), "_growth_tracker");
    CHECK_EQ_INT(ckpt_obj_type(ckpt_dict_get(sd, "growth_interval")), CKPT_T_INT);
    CHECK_EQ_INT(ckpt_obj_type(ckpt_dict_get(sd, "scale")), CKPT_T_FLOAT);
    ckpt_grad_scaler back;
    ckpt_grad_scaler_init(&back);
    CHECK_OK(ckpt_grad_scaler_load_state_dict(&back, sd, &err), &err);
    CHECK(back.scale == 4.0f && back.growth_interval == 2);
    ckpt_obj *empty = ckpt_dict_new(d, CKPT_DICT_PLAIN);
    CHECK(ckpt_grad_scaler_load_state_dict(&back, empty, &err) < 0);
    CHECK(strstr(err.msg, "disabled instance") != NULL);
    back.enabled = false;
    CHECK(ckpt_obj_len(ckpt_grad_scaler_state_dict(&back, d, &err)) == 0);
    ckpt_doc_free(d);
}

TEST(test_optim_sched__optim_adapter)
{
    ckpt_error err = {0};
    ckpt_module *m = ckpt_module_new("Net", &err);
    CHECK(m);
    CHECK(ckpt_module_param(m, "weight", CKPT_F32, 0, NULL, &err));
    ckpt_optim *o = ckpt_optim_new(CKPT_OPTIM_SGD, "lr=0.1", &err);
    CHECK(o);
    CHECK_OK(ckpt_optim_add_module(o, m, NULL, &err), &err);
    ckpt_lr_group g[4];
    ckpt_lr_target t;
    CHECK_OK(ckpt_lr_target_from_optim(&t, g, 4, o, &err), &err);
    CHECK_EQ_INT(t.ngroups, 1);
    CHECK(g[0].lr == 0.1 && !g[0].has_initial_lr);
    ckpt_sched_config c;
    ckpt_sched_config_init(&c, CKPT_SCHED_STEP);
    c.step_size = 1;
    ckpt_sched *s = ckpt_sched_new(&t, &c, &err);
    CHECK(s);
    CHECK_OK(ckpt_sched_step(s, &err), &err);
    CHECK_OK(ckpt_lr_target_to_optim(&t, o, &err), &err);
    double v = 0;
    CHECK_OK(ckpt_optim_group_get(o, 0, "lr", &v), &err);
    CHECK(v == 0.1 * 0.1);
    CHECK_OK(ckpt_optim_group_get(o, 0, "initial_lr", &v), &err);
    CHECK(v == 0.1);
    CHECK_OK(ckpt_optim_group_get(o, 0, "momentum", &v), &err); /* untouched int 0 */
    CHECK(v == 0);
    ckpt_sched_free(s);
    ckpt_optim_free(o);
    ckpt_module_free(m);
}

TEST_MAIN()
