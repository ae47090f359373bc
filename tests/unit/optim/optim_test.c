/* tests/unit/optim/optim_test.c - groups, hyperparameter accessors, state_dict
 * layout and load_state_dict checks (numerics: tests/interop/optim_equiv.py). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/nn.h"
#include "ckpt/optim.h"
#include "util/test.h"

static ckpt_slot *param(ckpt_module *m, const char *name, int64_t n, float v)
{
    ckpt_slot *s = ckpt_module_param(m, name, CKPT_F32, 1, &n, NULL);
    if (s) {
        float *d = s->data;
        for (int64_t i = 0; i < n; i++)
            d[i] = v;
    }
    return s;
}

static void set_grad(ckpt_slot *s, int64_t n, float v)
{
    if (!s->grad)
        s->grad = malloc((size_t)n * sizeof(float));
    for (int64_t i = 0; i < n; i++)
        s->grad[i] = v;
}

TEST(test_optim_optim__group_accessors)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_module *m = ckpt_module_new("Net", &err);
    ckpt_slot *a = param(m, "a", 3, 1.0f), *b = param(m, "b", 2, 1.0f);
    ckpt_optim *o = ckpt_optim_new(CKPT_OPTIM_ADAM, "lr=0.01", &err);
    CHECK(o != NULL);
    CHECK_OK(ckpt_optim_add_group(o, &a, 1, "betas=(0.8, 0.9)", &err), &err);
    CHECK_OK(ckpt_optim_add_group(o, &b, 1, NULL, &err), &err);
    CHECK_EQ_INT(ckpt_optim_group_count(o), 2);
    double v = 0;
    CHECK_OK(ckpt_optim_group_get(o, 0, "betas0", &v), &err);
    CHECK(v == 0.8);
    CHECK_OK(ckpt_optim_group_get(o, 1, "betas1", &v), &err);
    CHECK(v == 0.999);
    CHECK_OK(ckpt_optim_group_get(o, 1, "lr", &v), &err);
    CHECK(v == 0.01);
    CHECK_EQ_INT(ckpt_optim_group_get(o, 0, "initial_lr", &v), CKPT_E_NOT_FOUND);
    CHECK_EQ_INT(ckpt_optim_group_get(o, 0, "foreach", &v), CKPT_E_NOT_FOUND); /* None */
    CHECK_EQ_INT(ckpt_optim_group_set(o, 0, "initial_lr", 1.0, &err), CKPT_E_NOT_FOUND);
    CHECK_OK(ckpt_optim_group_set_extra(o, 0, "initial_lr", 0.5, &err), &err);
    CHECK_OK(ckpt_optim_group_set(o, 0, "lr", 0.25, &err), &err);
    CHECK_OK(ckpt_optim_group_set(o, 0, "betas0", 0.7, &err), &err);
    CHECK_OK(ckpt_optim_group_get(o, 0, "betas0", &v), &err);
    CHECK(v == 0.7);

    /* packed group: user keys first, defaults, then initial_lr, then params */
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    const ckpt_obj *sd = ckpt_optim_state_dict(o, doc, &err);
    CHECK(sd != NULL);
    const ckpt_obj *g0 = ckpt_obj_item(ckpt_dict_get(sd, "param_groups"), 0);
    const char *want[] = {"betas",          "lr",       "eps",        "weight_decay",
                          "amsgrad",        "maximize", "foreach",    "capturable",
                          "differentiable", "fused",    "initial_lr", "params"};
    CHECK_EQ_INT(ckpt_obj_len(g0), 12);
    for (size_t i = 0; i < 12; i++)
        CHECK_STR(ckpt_obj_str(ckpt_dict_key(g0, i), NULL), want[i]);
    CHECK_EQ_INT(ckpt_obj_type(ckpt_dict_get(g0, "weight_decay")), CKPT_T_INT);
    CHECK_EQ_INT(ckpt_obj_type(ckpt_dict_get(g0, "foreach")), CKPT_T_NONE);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_obj_item(
                     ckpt_dict_get(ckpt_obj_item(ckpt_dict_get(sd, "param_groups"), 1), "params"),
                     0)),
                 1);
    ckpt_doc_free(doc);
    ckpt_optim_free(o);
    ckpt_module_free(m);
}

TEST(test_optim_optim__sgd_state_and_zero_grad)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_module *m = ckpt_module_new("Net", &err);
    ckpt_slot *a = param(m, "a", 2, 1.0f), *b = param(m, "b", 2, 1.0f);
    ckpt_optim *o = ckpt_optim_new(CKPT_OPTIM_SGD, NULL, &err);
    CHECK(o != NULL);
    ckpt_slot *ps[2] = {a, b};
    CHECK_EQ_INT(ckpt_optim_add_group(o, ps, 2, NULL, &err), CKPT_E_ARG); /* no lr */
    CHECK_OK(ckpt_optim_add_group(o, ps, 2, "lr=0.5", &err), &err);
    CHECK_EQ_INT(ckpt_optim_add_group(o, ps, 1, "lr=0.5", NULL), CKPT_E_ARG); /* twice */
    set_grad(b, 2, 2.0f);
    CHECK_OK(ckpt_optim_step(o, &err), &err);
    CHECK(((float *)a->data)[0] == 1.0f);
    CHECK(((float *)b->data)[0] == 0.0f);
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    const ckpt_obj *sd = ckpt_optim_state_dict(o, doc, &err);
    const ckpt_obj *st = ckpt_dict_get(sd, "state");
    CHECK_EQ_INT(ckpt_obj_len(st), 1); /* only b stepped: {1: {'momentum_buffer': None}} */
    CHECK_EQ_INT(ckpt_obj_int(ckpt_dict_key(st, 0)), 1);
    CHECK_EQ_INT(ckpt_obj_type(ckpt_dict_get(ckpt_dict_value(st, 0), "momentum_buffer")),
                 CKPT_T_NONE);
    ckpt_optim_zero_grad(o, false);
    CHECK(b->grad && b->grad[1] == 0.0f);
    ckpt_optim_zero_grad(o, true);
    CHECK(b->grad == NULL);
    ckpt_doc_free(doc);
    ckpt_optim_free(o);
    ckpt_module_free(m);
}

TEST(test_optim_optim__load_checks)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_module *m = ckpt_module_new("Net", &err);
    ckpt_slot *a = param(m, "a", 4, 1.0f), *b = param(m, "b", 3, 1.0f);
    ckpt_optim *o = ckpt_optim_new(CKPT_OPTIM_ADAM, "lr=0.1", &err);
    CHECK_OK(ckpt_optim_add_group(o, &a, 1, NULL, &err), &err);
    CHECK_OK(ckpt_optim_add_group(o, &b, 1, NULL, &err), &err);
    set_grad(a, 4, 0.5f);
    set_grad(b, 3, -0.5f);
    CHECK_OK(ckpt_optim_step(o, &err), &err);
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    const ckpt_obj *sd = ckpt_optim_state_dict(o, doc, &err);
    CHECK(sd != NULL);

    /* same shape: loads; state step stays a float32 0-d tensor */
    ckpt_optim *o2 = ckpt_optim_new(CKPT_OPTIM_ADAM, NULL, &err);
    CHECK_OK(ckpt_optim_add_group(o2, &a, 1, NULL, &err), &err);
    CHECK_OK(ckpt_optim_add_group(o2, &b, 1, NULL, &err), &err);
    CHECK_OK(ckpt_optim_load_state_dict(o2, sd, &err), &err);
    double lr = 0;
    CHECK_OK(ckpt_optim_group_get(o2, 1, "lr", &lr), &err);
    CHECK(lr == 0.1);
    int dt = -1;
    int64_t n = 0;
    const float *step = ckpt_optim_state_data(o2, 1, "step", &dt, &n);
    CHECK(step && dt == CKPT_F32 && n == 1 && step[0] == 1.0f);

    /* one group: torch's messages */
    ckpt_optim *o3 = ckpt_optim_new(CKPT_OPTIM_ADAM, NULL, &err);
    ckpt_slot *ab[2] = {a, b};
    CHECK_OK(ckpt_optim_add_group(o3, ab, 2, NULL, &err), &err);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_optim_load_state_dict(o3, sd, &err), CKPT_E_SHAPE);
    CHECK_STR(err.msg, "loaded state dict has a different number of parameter groups (file: 2, "
                       "optimizer: 1)");
    CHECK_STR(err.key, "param_groups");
    ckpt_optim *o4 = ckpt_optim_new(CKPT_OPTIM_ADAM, NULL, &err);
    CHECK_OK(ckpt_optim_add_group(o4, ab, 2, NULL, &err), &err);
    CHECK_OK(ckpt_optim_add_group(o4, NULL, 0, NULL, &err), &err);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_optim_load_state_dict(o4, sd, &err), CKPT_E_SHAPE);
    CHECK_STR(err.msg, "loaded state dict contains a parameter group that doesn't match the "
                       "size of optimizer's group (group 0: file 1 parameters, optimizer 2)");
    CHECK_STR(err.key, "param_groups.0.params");
    ckpt_optim_free(o4);
    ckpt_optim_free(o3);
    ckpt_optim_free(o2);
    ckpt_doc_free(doc);
    ckpt_optim_free(o);
    ckpt_module_free(m);
}

TEST_MAIN()
