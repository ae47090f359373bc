/* tests/unit/api/null_optim_test.c - every call of ckpt/optim.h
 * with NULL objects, NULL optional arguments, err == NULL and
 * zero sizes: the documented result, never a crash; the group setters fill
 * the error record with why they failed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

TEST(test_api_null_optim__null_optimizer)
{
    ckpt_optim_free(NULL);
    CHECK(ckpt_optim_new(999, NULL, NULL) == NULL);
    CHECK(ckpt_optim_new(CKPT_OPTIM_SGD, "lr=", NULL) == NULL);
    CHECK(ckpt_optim_new(CKPT_OPTIM_SGD, "nope=1", NULL) == NULL);
    ckpt_optim_kind_of(NULL);
    CHECK(ckpt_optim_add_group(NULL, NULL, 0, NULL, NULL) < 0);
    CHECK(ckpt_optim_add_module(NULL, NULL, NULL, NULL) < 0);
    CHECK(ckpt_optim_step(NULL, NULL) < 0);
    ckpt_optim_zero_grad(NULL, true);
    CHECK(ckpt_optim_group_count(NULL) == 0 && ckpt_optim_group_size(NULL, 0) == 0);
    double v = 0;
    CHECK(ckpt_optim_group_get(NULL, 0, "lr", &v) < 0);
    CHECK(ckpt_optim_group_set(NULL, 0, "lr", 1, NULL) == CKPT_E_ARG);
    CHECK(ckpt_optim_group_set_extra(NULL, 0, "lr", 1, NULL) == CKPT_E_ARG);
    CHECK(!ckpt_optim_group_has(NULL, 0, "lr"));
    int dt = 0;
    int64_t numel = 0;
    CHECK(ckpt_optim_state_data(NULL, 0, "exp_avg", &dt, &numel) == NULL);
    CHECK(ckpt_optim_state_dict(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_optim_load_state_dict(NULL, NULL, NULL) < 0);
}

TEST(test_api_null_optim__optimizer_with_null_optionals)
{
    ckpt_module *lin = ckpt_nn_linear(NULL, NULL, 3, 2, NULL, NULL, NULL);
    CHECK(lin != NULL);
    for (int kind = CKPT_OPTIM_SGD; kind <= CKPT_OPTIM_ADAGRAD; kind++) {
        ckpt_optim *o = ckpt_optim_new(kind, NULL, NULL);
        CHECK(o != NULL);
        CHECK(ckpt_optim_step(o, NULL) == 0); /* no groups */
        CHECK(ckpt_optim_add_group(o, NULL, 0, NULL, NULL) == 0 ||
              ckpt_optim_add_group(o, NULL, 0, NULL, NULL) < 0);
        CHECK(ckpt_optim_add_group(o, NULL, 2, NULL, NULL) < 0);
        ckpt_optim_free(o);
        o = ckpt_optim_new(kind, "", NULL);
        CHECK(o != NULL);
        if (kind == CKPT_OPTIM_SGD) { /* torch 1.13's SGD has no default lr: refused */
            CHECK(ckpt_optim_add_module(o, lin, NULL, NULL) < 0);
            ckpt_optim_free(o);
            o = ckpt_optim_new(kind, "lr=0.1", NULL);
            CHECK(o != NULL);
        }
        CHECK(ckpt_optim_add_module(o, lin, NULL, NULL) == 0);
        CHECK(ckpt_optim_add_module(o, NULL, NULL, NULL) < 0);
        CHECK(ckpt_optim_add_module(o, lin, NULL, NULL) < 0); /* already added */
        ckpt_optim_zero_grad(o, false);
        CHECK(ckpt_optim_step(o, NULL) == 0);
        ckpt_optim_zero_grad(o, true);
        CHECK(ckpt_optim_step(o, NULL) == 0); /* grads set to none: skipped */
        CHECK(ckpt_optim_group_size(o, 99) == 0);
        CHECK(ckpt_optim_group_get(o, 0, NULL, NULL) < 0);
        CHECK(ckpt_optim_group_get(o, 0, "lr", NULL) < 0);
        CHECK(ckpt_optim_group_get(o, 99, "lr", NULL) < 0);
        CHECK(!ckpt_optim_group_has(o, 0, NULL) && !ckpt_optim_group_has(o, 99, "lr"));
        CHECK(ckpt_optim_state_data(o, 0, NULL, NULL, NULL) == NULL);
        ckpt_optim_state_data(o, 0, "exp_avg", NULL, NULL);
        ckpt_optim_state_data(o, 99, "exp_avg", NULL, NULL);
        ckpt_error err;
        ckpt_error_clear(&err);
        CHECK_EQ_INT(ckpt_optim_group_set(o, 0, "no_such_key", 1.0, &err), CKPT_E_NOT_FOUND);
        CHECK(strstr(err.msg, "no_such_key") != NULL);
        ckpt_error_clear(&err);
        CHECK_EQ_INT(ckpt_optim_group_set(o, 7, "lr", 1.0, &err), CKPT_E_ARG);
        CHECK(strstr(err.msg, "group 7") != NULL);
        CHECK_EQ_INT(ckpt_optim_group_set(o, 0, NULL, 1.0, NULL), CKPT_E_ARG);
        CHECK_EQ_INT(ckpt_optim_group_set(o, 0, "lr", 0.5, NULL), 0);
        ckpt_error_clear(&err);
        char longkey[80];
        memset(longkey, 'k', sizeof(longkey) - 1);
        longkey[sizeof(longkey) - 1] = '\0';
        CHECK_EQ_INT(ckpt_optim_group_set_extra(o, 0, longkey, 1.0, &err), CKPT_E_ARG);
        CHECK(err.msg[0] != '\0');
        CHECK_EQ_INT(ckpt_optim_group_set_extra(o, 0, "initial_lr", 0.5, NULL), 0);
        CHECK_EQ_INT(ckpt_optim_group_set_extra(o, 0, NULL, 0.5, NULL), CKPT_E_ARG);
        ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
        CHECK(ckpt_optim_state_dict(o, NULL, NULL) == NULL);
        ckpt_obj *sd = ckpt_optim_state_dict(o, doc, NULL);
        CHECK(sd != NULL);
        CHECK(ckpt_optim_load_state_dict(o, sd, NULL) == 0);
        CHECK(ckpt_optim_load_state_dict(o, NULL, NULL) < 0);
        CHECK(ckpt_optim_load_state_dict(o, ckpt_dict_new(doc, CKPT_DICT_PLAIN), NULL) < 0);
        ckpt_doc_free(doc);
        ckpt_optim_free(o);
    }
    ckpt_module_free(lin);
}

static bool keep_all(void *ctx, const char *key, const ckpt_slot *s)
{
    (void)ctx;
    (void)key;
    (void)s;
    return true;
}

TEST(test_api_null_optim__typed_options_and_groups)
{
    /* NULL objects, err == NULL */
    CHECK(ckpt_optim_new_opts((ckpt_optim_kind)999, NULL, NULL) == NULL);
    CHECK(ckpt_optim_new_for_module(CKPT_OPTIM_ADAM, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_optim_add_params(NULL, NULL, 0, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_optim_add_named_group(NULL, NULL, NULL, 0, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_optim_add_group_where(NULL, NULL, NULL, NULL, NULL, NULL) == CKPT_E_ARG);
    ckpt_module *lin = ckpt_nn_linear(NULL, NULL, 3, 2, NULL, NULL, NULL);
    CHECK(lin != NULL);
    for (int kind = CKPT_OPTIM_SGD; kind <= CKPT_OPTIM_ADAGRAD; kind++) {
        /* NULL opts = torch's defaults (SGD included: lr 1e-3) */
        ckpt_optim *o = ckpt_optim_new_for_module((ckpt_optim_kind)kind, lin, NULL, NULL);
        CHECK(o != NULL);
        CHECK(ckpt_optim_group_count(o) == 1 && ckpt_optim_group_size(o, 0) == 2);
        CHECK(ckpt_optim_add_group_where(o, lin, keep_all, NULL, NULL, NULL) == 0); /* empty */
        CHECK(ckpt_optim_add_params(o, NULL, 3, NULL, NULL) == CKPT_E_ARG);
        const char *none[] = {NULL};
        CHECK(ckpt_optim_add_named_group(o, lin, none, 1, NULL, NULL) == CKPT_E_ARG);
        const char *w[] = {"weight"};
        CHECK(ckpt_optim_add_named_group(o, lin, w, 1, NULL, NULL) == CKPT_E_ARG); /* twice */
        const char *nope[] = {"nope"};
        CHECK(ckpt_optim_add_named_group(o, lin, nope, 1, NULL, NULL) == CKPT_E_NOT_FOUND);
        CHECK(ckpt_optim_add_named_group(o, NULL, w, 1, NULL, NULL) == CKPT_E_ARG);
        ckpt_optim_free(o);
        ckpt_optim_opts z;
        memset(&z, 0, sizeof z);
        o = ckpt_optim_new_opts((ckpt_optim_kind)kind, &z, NULL);
        CHECK(o != NULL);
        ckpt_optim_free(o);
    }
    ckpt_module_free(lin);
}

TEST_MAIN()
