/* tests/unit/api/null_nn_test.c - every call of ckpt/nn.h with NULL modules,
 * NULL optional arguments (rng, opts, report, prefix, payload), err == NULL
 * and zero sizes: the documented result, never a crash; and the calls that
 * gained an error record (attributes, walks, cross-entropy) fill it. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

static int count_slot(void *payload, const char *key, ckpt_module *owner, ckpt_slot *s)
{
    (void)key;
    (void)owner;
    (void)s;
    if (payload)
        ++*(int *)payload;
    return 0;
}

static int count_module(void *payload, const char *prefix, ckpt_module *m)
{
    (void)prefix;
    (void)m;
    if (payload)
        ++*(int *)payload;
    return 0;
}

TEST(test_api_null_nn__null_module)
{
    CHECK(ckpt_module_new(NULL, NULL) == NULL || 1);
    ckpt_module_free(NULL);
    CHECK(ckpt_module_add(NULL, "a", "Linear", NULL) == NULL);
    CHECK(ckpt_module_adopt(NULL, "a", NULL, NULL) < 0);
    CHECK(ckpt_module_type(NULL) == NULL || 1);
    CHECK(ckpt_module_name(NULL) == NULL || 1);
    CHECK(ckpt_module_parent(NULL) == NULL && ckpt_module_child_count(NULL) == 0);
    CHECK(ckpt_module_child(NULL, 0) == NULL && ckpt_module_find(NULL, "a") == NULL);
    ckpt_module_set_version(NULL, 2);
    ckpt_module_version(NULL);
    ckpt_module_train(NULL, true);
    CHECK(!ckpt_module_training(NULL));
    CHECK(ckpt_module_set_attr_int(NULL, "a", 1, NULL) == CKPT_E_ARG);
    CHECK(ckpt_module_set_attr_ints(NULL, "a", 0, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_module_set_attr_float(NULL, "a", 1, NULL) == CKPT_E_ARG);
    CHECK(ckpt_module_set_attr_bool(NULL, "a", 1, NULL) == CKPT_E_ARG);
    CHECK(ckpt_module_set_attr_str(NULL, "a", "b", NULL) == CKPT_E_ARG);
    int64_t i = 5;
    double f = 5;
    bool b = true;
    size_t n = 5;
    const int64_t *v = NULL;
    CHECK(!ckpt_module_attr_int(NULL, "a", &i) && !ckpt_module_attr_float(NULL, "a", &f));
    CHECK(!ckpt_module_attr_bool(NULL, "a", &b) && !ckpt_module_attr_ints(NULL, "a", &n, &v));
    CHECK(ckpt_module_attr_str(NULL, "a") == NULL && ckpt_module_attr_count(NULL) == 0);
    CHECK(ckpt_module_attr_name(NULL, 0) == NULL);
    const int64_t shape[1] = {2};
    CHECK(ckpt_module_param(NULL, "w", CKPT_F32, 1, shape, NULL) == NULL);
    CHECK(ckpt_module_param_borrow(NULL, "w", CKPT_F32, 1, shape, NULL, NULL) == NULL);
    CHECK(ckpt_module_buffer(NULL, "w", CKPT_F32, 1, shape, true, NULL) == NULL);
    CHECK(ckpt_module_buffer_borrow(NULL, "w", CKPT_F32, 1, shape, NULL, true, NULL) == NULL);
    CHECK(ckpt_module_param_none(NULL, "w", NULL) < 0);
    CHECK(ckpt_module_buffer_none(NULL, "w", true, NULL) < 0);
    CHECK(ckpt_module_slot(NULL, "w") == NULL && ckpt_module_slot_count(NULL) == 0);
    CHECK(ckpt_module_slot_at(NULL, 0) == NULL);
    CHECK(ckpt_module_walk(NULL, CKPT_WALK_PARAMS, count_slot, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_module_walk_modules(NULL, count_module, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_module_state_dict(NULL, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_module_state_dict_copy(NULL, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_module_load_state_dict(NULL, NULL, NULL, NULL, NULL) < 0);
    ckpt_state_dict_report_free(NULL);
    CHECK(ckpt_nn_act_resize(NULL, 1, shape, NULL) < 0);
    ckpt_nn_act_free(NULL);
    CHECK(ckpt_nn_act_numel(NULL) == 0);
    CHECK(ckpt_nn_forward(NULL, NULL, NULL, NULL, NULL) < 0);
    CHECK(ckpt_nn_embedding_forward(NULL, NULL, 0, NULL, NULL, NULL) < 0);
    CHECK(ckpt_nn_multihead_attention_forward(NULL, NULL, NULL, NULL, NULL, NULL) < 0);
}

TEST(test_api_null_nn__layers_without_parent_rng_or_opts)
{
    /* a NULL parent makes a root (freed by ckpt_module_free); a NULL rng and
     * NULL opts are defaults; err NULL throughout */
    ckpt_module *ms[] = {
        ckpt_nn_linear(NULL, NULL, 3, 2, NULL, NULL, NULL),
        ckpt_nn_conv1d(NULL, NULL, 2, 2, 3, NULL, NULL, NULL),
        ckpt_nn_conv2d(NULL, NULL, 2, 2, 3, 3, NULL, NULL, NULL),
        ckpt_nn_conv_transpose2d(NULL, NULL, 2, 2, 3, 3, NULL, NULL, NULL),
        ckpt_nn_batchnorm(NULL, NULL, 2, 4, NULL, NULL),
        ckpt_nn_layernorm(NULL, NULL, 1, (const int64_t[]){4}, NULL, NULL),
        ckpt_nn_groupnorm(NULL, NULL, 2, 4, NULL, NULL),
        ckpt_nn_embedding(NULL, NULL, 5, 3, NULL, NULL, NULL),
        ckpt_nn_dropout(NULL, NULL, 0.5, NULL),
        ckpt_nn_activation(NULL, NULL, CKPT_ACT_RELU, -1, NULL),
        ckpt_nn_maxpool2d(NULL, NULL, &(ckpt_pool_opts){.kernel = {2, 2}}, NULL),
        ckpt_nn_avgpool2d(NULL, NULL, &(ckpt_pool_opts){.kernel = {2, 2}}, NULL),
        ckpt_nn_adaptive_avgpool2d(NULL, NULL, 1, 1, NULL),
        ckpt_nn_flatten(NULL, NULL, 1, -1, NULL),
        ckpt_nn_sequential(NULL, NULL, NULL),
        ckpt_nn_module_list(NULL, NULL, NULL),
        ckpt_nn_module_dict(NULL, NULL, NULL),
        ckpt_nn_multihead_attention(NULL, NULL, 4, 2,
                                    &(ckpt_multihead_attention_opts){.batch_first = true}, NULL,
                                    NULL),
        ckpt_nn_transformer_encoder_layer(NULL, NULL, 4, 2,
                                          &(ckpt_transformer_opts){.dim_feedforward = 8,
                                                                   .no_dropout = true,
                                                                   .batch_first = true},
                                          NULL, NULL),
    };
    for (size_t k = 0; k < sizeof(ms) / sizeof(ms[0]); k++) {
        /* whether a layer may be a root is the layer's rule; no crash either way */
        if (!ms[k])
            continue;
        int cnt = 0;
        CHECK(ckpt_module_walk(ms[k], CKPT_WALK_PARAMS | CKPT_WALK_BUFFERS, count_slot, NULL,
                               NULL) == 0);
        CHECK(ckpt_module_walk_modules(ms[k], count_module, &cnt, NULL) == 0 && cnt >= 1);
        ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
        ckpt_obj *sd = ckpt_module_state_dict(ms[k], doc, NULL, NULL);
        CHECK(sd != NULL);
        CHECK(ckpt_module_load_state_dict(ms[k], sd, NULL, NULL, NULL) == 0);
        CHECK(ckpt_module_state_dict_copy(ms[k], doc, NULL, NULL) != NULL);
        CHECK(ckpt_module_load_state_dict(ms[k], NULL, NULL, NULL, NULL) < 0);
        ckpt_doc_free(doc);
        ckpt_module_free(ms[k]);
    }
    /* bad sizes: NULL, no crash */
    CHECK(ckpt_nn_linear(NULL, NULL, -1, 2, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_nn_conv2d(NULL, NULL, 0, 0, 0, 0, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_nn_layernorm(NULL, NULL, 1, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_nn_groupnorm(NULL, NULL, 3, 4, NULL, NULL) == NULL);
    CHECK(ckpt_nn_multihead_attention(NULL, NULL, 5, 2,
                                      &(ckpt_multihead_attention_opts){.batch_first = true}, NULL,
                                      NULL) == NULL);
    CHECK(ckpt_nn_activation(NULL, NULL, 999, 0, NULL) == NULL);
}

TEST(test_api_null_nn__module_calls_with_null_optionals)
{
    ckpt_module *root = ckpt_module_new("Net", NULL);
    CHECK(root != NULL);
    CHECK(ckpt_module_add(root, NULL, "Linear", NULL) == NULL);
    CHECK(ckpt_module_add(root, "x", NULL, NULL) == NULL || 1);
    CHECK(ckpt_module_adopt(root, "y", NULL, NULL) < 0);
    CHECK(ckpt_module_find(root, NULL) == NULL && ckpt_module_find(root, "") != NULL);
    CHECK(ckpt_module_child(root, 99) == NULL && ckpt_module_attr_name(root, 99) == NULL);
    ckpt_error err;
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_module_set_attr_int(root, "", 1, &err), CKPT_E_ARG);
    CHECK(strstr(err.msg, "set_attr_int") != NULL);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_module_set_attr_str(root, "s", NULL, &err), CKPT_E_ARG);
    CHECK(err.msg[0] != '\0');
    CHECK_EQ_INT(ckpt_module_set_attr_ints(root, "k", 0, NULL, NULL), 0);
    CHECK_EQ_INT(ckpt_module_set_attr_ints(root, "k", 2, NULL, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_module_set_attr_float(root, "f", (double)NAN, NULL), 0);
    size_t n = 9;
    const int64_t *v = (const int64_t *)&n;
    CHECK(ckpt_module_attr_ints(root, "k", &n, &v) && n == 0);
    CHECK(ckpt_module_attr_int(root, NULL, NULL) == false);
    CHECK(ckpt_module_attr_str(root, NULL) == NULL);
    int64_t i;
    CHECK(!ckpt_module_attr_int(root, "f", &i)); /* wrong kind */
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_module_walk(root, CKPT_WALK_PARAMS, NULL, NULL, &err), CKPT_E_ARG);
    CHECK(strstr(err.msg, "callback") != NULL);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_module_walk_modules(root, NULL, NULL, &err), CKPT_E_ARG);
    CHECK(err.msg[0] != '\0');
    /* zero-size parameters and None slots */
    const int64_t zero[1] = {0};
    CHECK(ckpt_module_param(root, "z", CKPT_F32, 1, zero, NULL) != NULL);
    CHECK(ckpt_module_param(root, "bad", CKPT_F32, 1, NULL, NULL) == NULL);
    CHECK(ckpt_module_param(root, NULL, CKPT_F32, 0, NULL, NULL) == NULL);
    CHECK(ckpt_module_param_borrow(root, "zb", CKPT_F32, 1, zero, NULL, NULL) != NULL ||
          ckpt_module_param_borrow(root, "zb2", CKPT_F32, 1, zero, NULL, NULL) == NULL);
    CHECK(ckpt_module_param_none(root, "pn", NULL) == 0);
    CHECK(ckpt_module_buffer_none(root, "bn", false, NULL) == 0);
    CHECK(ckpt_module_param_none(root, NULL, NULL) < 0);
    CHECK(ckpt_module_slot(root, NULL) == NULL && ckpt_module_slot_at(root, 99) == NULL);
    int cnt = 0;
    CHECK_EQ_INT(ckpt_module_walk(root, CKPT_WALK_PARAMS | CKPT_WALK_BUFFERS, count_slot, &cnt,
                                  NULL),
                 0);
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    ckpt_obj *sd = ckpt_module_state_dict(root, doc, NULL, NULL);
    CHECK(sd != NULL);
    CHECK(ckpt_module_state_dict(root, NULL, NULL, NULL) == NULL);
    ckpt_state_dict_report rep;
    memset(&rep, 0, sizeof(rep));
    ckpt_load_state_dict_opts lo;
    memset(&lo, 0, sizeof(lo));
    lo.non_strict = true;
    ckpt_obj *empty = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    CHECK(ckpt_module_load_state_dict(root, empty, &lo, &rep, NULL) == 0);
    ckpt_state_dict_report_free(&rep);
    CHECK(ckpt_module_load_state_dict(root, empty, NULL, NULL, NULL) < 0); /* strict: missing */
    CHECK(ckpt_module_load_state_dict(root, ckpt_int_new(doc, 1), NULL, NULL, NULL) < 0);
    ckpt_doc_free(doc);
    ckpt_module_free(root);
}

TEST(test_api_null_nn__kernels_and_losses)
{
    ckpt_rng r;
    ckpt_rng_seed(&r, 1);
    ckpt_rng_seed(NULL, 1);
    CHECK(ckpt_rng_uniform(&r) < 1.0);
    ckpt_rng_uniform(NULL);
    ckpt_rng_normal(NULL);
    ckpt_nn_act a;
    memset(&a, 0, sizeof(a));
    const int64_t zero[1] = {0};
    CHECK(ckpt_nn_act_resize(&a, 1, zero, NULL) == 0 && ckpt_nn_act_numel(&a) == 0);
    CHECK(ckpt_nn_act_resize(&a, 1, NULL, NULL) < 0);
    CHECK(ckpt_nn_act_resize(&a, -1, zero, NULL) < 0);
    CHECK(ckpt_nn_act_resize(&a, 99, zero, NULL) < 0);
    ckpt_nn_act_free(&a);
    ckpt_nn_act_free(&a); /* twice */
    ckpt_module *lin = ckpt_nn_linear(NULL, NULL, 3, 2, NULL, NULL, NULL);
    CHECK(lin != NULL);
    ckpt_nn_act in, out;
    memset(&in, 0, sizeof(in));
    memset(&out, 0, sizeof(out));
    CHECK(ckpt_nn_forward(lin, NULL, &out, NULL, NULL) < 0);
    CHECK(ckpt_nn_forward(lin, &in, NULL, NULL, NULL) < 0);
    CHECK(ckpt_nn_forward(lin, &in, &out, NULL, NULL) < 0); /* 0-dim input */
    const int64_t s0[2] = {0, 3};
    CHECK(ckpt_nn_act_resize(&in, 2, s0, NULL) == 0);
    CHECK(ckpt_nn_forward(lin, &in, &out, NULL, NULL) == 0 && ckpt_nn_act_numel(&out) == 0);
    const int64_t bad[2] = {1, 4};
    CHECK(ckpt_nn_act_resize(&in, 2, bad, NULL) == 0);
    ckpt_error err;
    ckpt_error_clear(&err);
    CHECK(ckpt_nn_forward(lin, &in, &out, NULL, &err) < 0);
    CHECK(err.code < 0 && err.msg[0]);
    CHECK(ckpt_nn_forward(lin, &in, &out, NULL, NULL) < 0);
    CHECK(ckpt_nn_embedding_forward(lin, NULL, 0, NULL, &out, NULL) < 0); /* not an Embedding */
    CHECK(ckpt_nn_multihead_attention_forward(lin, &in, &in, &in, &out, NULL) < 0);
    ckpt_nn_act_free(&in);
    ckpt_nn_act_free(&out);
    ckpt_module_free(lin);

    /* cross-entropy: zero rows (NaN, as torch), NULL pointers, err NULL */
    float loss = 0;
    CHECK_EQ_INT(ckpt_nn_cross_entropy_forward(&loss, NULL, NULL, 0, 3, 0.0, -100, NULL), 0);
    CHECK(isnan((double)loss));
    CHECK_EQ_INT(ckpt_nn_cross_entropy_backward(NULL, 1.0f, NULL, NULL, 0, 3, 0.0, -100, NULL),
                 CKPT_E_ARG);
    float dl[3] = {0};
    CHECK_EQ_INT(ckpt_nn_cross_entropy_backward(dl, 1.0f, NULL, NULL, 0, 3, 0.0, -100, NULL), 0);
    CHECK_EQ_INT(ckpt_nn_cross_entropy_forward(&loss, NULL, NULL, 2, 3, 0.0, -100, NULL),
                 CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_nn_cross_entropy_forward(&loss, dl, (const int64_t[]){0}, -1, 3, 0.0, -100,
                                               NULL),
                 CKPT_E_SHAPE);
    CHECK(isnan((double)ckpt_nn_mse_loss_forward(NULL, NULL, 0)));
    ckpt_nn_mse_loss_backward(NULL, NULL, 1.0f, NULL, NULL, 0);
}

TEST(test_api_null_nn__module_save_load_sub_key)
{
    ckpt_module *lin = ckpt_nn_linear(NULL, NULL, 3, 2, NULL, NULL, NULL);
    CHECK(lin != NULL);
    CHECK(ckpt_module_save(NULL, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_module_save(lin, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_module_load(NULL, NULL, NULL, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_module_load(lin, NULL, NULL, NULL, NULL) == CKPT_E_ARG);
    ckpt_state_dict_report rep;
    CHECK(ckpt_module_load(lin, "/nonexistent/x.pt", NULL, &rep, NULL) < 0);
    CHECK(rep.message == NULL && rep.missing_count == 0);
    ckpt_doc *d = ckpt_doc_new(NULL, NULL);
    ckpt_obj *sd = ckpt_module_state_dict(lin, d, NULL, NULL);
    ckpt_load_state_dict_opts o = {.sub_key = ""};
    CHECK(ckpt_module_load_state_dict(lin, sd, &o, NULL, NULL) == CKPT_E_NOT_FOUND);
    o.sub_key = "weight"; /* a tensor, not a dict */
    CHECK(ckpt_module_load_state_dict(lin, sd, &o, NULL, NULL) == CKPT_E_ARG);
    ckpt_doc_free(d);
    ckpt_module_free(lin);
}

/* ckpt_module_new_alloc: NULL type, NULL allocator (libc), an allocator
 * without functions (libc), err == NULL; ckpt_module_alloc(NULL). */
TEST(test_api_null_nn__module_new_alloc)
{
    CHECK(ckpt_module_new_alloc(NULL, NULL, NULL) == NULL);
    ckpt_error err;
    ckpt_error_clear(&err);
    CHECK(ckpt_module_new_alloc("", NULL, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    CHECK(ckpt_module_alloc(NULL) == NULL);
    ckpt_alloc empty = {0};
    ckpt_module *m = ckpt_module_new_alloc("Net", &empty, NULL);
    CHECK(m != NULL);
    CHECK(ckpt_module_alloc(m) == NULL);
    ckpt_module_free(m);
    ckpt_state_dict_report r;
    memset(&r, 0, sizeof r);
    ckpt_state_dict_report_free(&r); /* zero allocator = libc */
    ckpt_nn_act a = {0};
    ckpt_nn_act_free(&a);
}

TEST_MAIN()
