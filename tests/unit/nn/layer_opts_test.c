/* tests/unit/nn/layer_opts_test.c - the layer option structs: a NULL or zero
 * options struct gives torch's defaults, the negated flags and the
 * CKPT_NN_ZERO / CKPT_NN_MOMENTUM_NONE sentinels give the other values.
 * Expected defaults are torch 1.13's (python3 -c "import torch.nn as nn;
 * b = nn.BatchNorm1d(4); print(b.eps, b.momentum)" -> 1e-05 0.1;
 * nn.Embedding(5, 3, padding_idx=-1).padding_idx -> 4, padding_idx=-6 raises;
 * nn.TransformerEncoderLayer(8, 2): linear1.out_features 2048, dropout 0.1,
 * norm1.eps 1e-05; nn.MaxPool2d(2): kernel_size 2, stride 2). */
#include <stdint.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

static bool is_none(const ckpt_module *m, const char *path)
{
    ckpt_slot *s = ckpt_module_slot(m, path);
    return s && s->data == NULL;
}

static bool is_set(const ckpt_module *m, const char *path)
{
    ckpt_slot *s = ckpt_module_slot(m, path);
    return s && s->data != NULL;
}

TEST(test_nn_layer_opts__linear_bias)
{
    ckpt_module *a = ckpt_nn_linear(NULL, NULL, 3, 2, NULL, NULL, NULL);
    ckpt_module *b = ckpt_nn_linear(NULL, NULL, 3, 2, &(ckpt_linear_opts){.no_bias = true}, NULL,
                                    NULL);
    CHECK(a && is_set(a, "bias"));
    CHECK(b && is_none(b, "bias") && is_set(b, "weight"));
    ckpt_module_free(a);
    ckpt_module_free(b);
}

TEST(test_nn_layer_opts__batchnorm)
{
    double v = -1;
    bool f = false;
    ckpt_module *m = ckpt_nn_batchnorm(NULL, NULL, 1, 4, NULL, NULL);
    CHECK(m && ckpt_module_attr_float(m, "eps", &v) && v == 1e-5);
    CHECK(ckpt_module_attr_float(m, "momentum", &v) && v == 0.1);
    CHECK(ckpt_module_attr_bool(m, "affine", &f) && f);
    CHECK(is_set(m, "weight") && is_set(m, "running_mean"));
    ckpt_module_free(m);

    ckpt_norm_opts zero = {.eps = CKPT_NN_ZERO, .momentum = CKPT_NN_ZERO};
    m = ckpt_nn_batchnorm(NULL, NULL, 1, 4, &zero, NULL);
    CHECK(m && ckpt_module_attr_float(m, "eps", &v) && v == 0.0);
    CHECK(ckpt_module_attr_float(m, "momentum", &v) && v == 0.0);
    ckpt_module_free(m);

    ckpt_norm_opts none = {.eps = 1e-3,
                           .momentum = CKPT_NN_MOMENTUM_NONE,
                           .no_affine = true,
                           .no_running_stats = true};
    m = ckpt_nn_batchnorm(NULL, NULL, 2, 4, &none, NULL);
    CHECK(m && ckpt_module_attr_float(m, "eps", &v) && v == 1e-3);
    CHECK(!ckpt_module_attr_float(m, "momentum", &v)); /* momentum=None */
    CHECK(is_none(m, "weight") && is_none(m, "bias"));
    CHECK(is_none(m, "running_mean") && is_none(m, "num_batches_tracked"));
    CHECK(ckpt_module_attr_bool(m, "track_running_stats", &f) && !f);
    ckpt_module_free(m);
}

TEST(test_nn_layer_opts__layernorm_groupnorm)
{
    double v = -1;
    bool f = true;
    int64_t d = 4;
    ckpt_module *ln = ckpt_nn_layernorm(NULL, NULL, 1, &d, &(ckpt_norm_opts){.no_affine = true},
                                        NULL);
    CHECK(ln && ckpt_module_attr_bool(ln, "elementwise_affine", &f) && !f);
    CHECK(is_none(ln, "weight") && ckpt_module_attr_float(ln, "eps", &v) && v == 1e-5);
    ckpt_module *gn = ckpt_nn_groupnorm(NULL, NULL, 2, 4, &(ckpt_norm_opts){.eps = 1e-3}, NULL);
    CHECK(gn && ckpt_module_attr_float(gn, "eps", &v) && v == 1e-3 && is_set(gn, "weight"));
    ckpt_module_free(ln);
    ckpt_module_free(gn);
}

TEST(test_nn_layer_opts__embedding_padding_idx)
{
    int64_t p = -1;
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 3);
    ckpt_module *m = ckpt_nn_embedding(NULL, NULL, 5, 3, NULL, &rng, NULL);
    CHECK(m && !ckpt_module_attr_int(m, "padding_idx", &p));
    ckpt_module_free(m);
    /* padding_idx 0 is a real index (has_padding_idx tells it from "none") */
    m = ckpt_nn_embedding(NULL, NULL, 5, 3,
                          &(ckpt_embedding_opts){.has_padding_idx = true, .padding_idx = 0}, &rng,
                          NULL);
    CHECK(m && ckpt_module_attr_int(m, "padding_idx", &p) && p == 0);
    const float *w = m ? ckpt_module_slot(m, "weight")->data : NULL;
    CHECK(w && w[0] == 0.0f && w[1] == 0.0f && w[2] == 0.0f && w[3] != 0.0f);
    ckpt_module_free(m);
    /* negative counts from the end and is stored normalised, as torch */
    m = ckpt_nn_embedding(NULL, NULL, 5, 3,
                          &(ckpt_embedding_opts){.has_padding_idx = true, .padding_idx = -1},
                          NULL, NULL);
    CHECK(m && ckpt_module_attr_int(m, "padding_idx", &p) && p == 4);
    ckpt_module_free(m);
    CHECK(!ckpt_nn_embedding(NULL, NULL, 5, 3,
                             &(ckpt_embedding_opts){.has_padding_idx = true, .padding_idx = -6},
                             NULL, NULL));
    CHECK(!ckpt_nn_embedding(NULL, NULL, 5, 3,
                             &(ckpt_embedding_opts){.has_padding_idx = true, .padding_idx = 5},
                             NULL, NULL));
}

TEST(test_nn_layer_opts__attention_transformer)
{
    ckpt_module *a = ckpt_nn_multihead_attention(NULL, NULL, 4, 2, NULL, NULL, NULL);
    CHECK(a && is_set(a, "in_proj_bias") && is_set(a, "out_proj.bias"));
    ckpt_module_free(a);
    a = ckpt_nn_multihead_attention(NULL, NULL, 4, 2,
                                    &(ckpt_multihead_attention_opts){.no_bias = true}, NULL,
                                    NULL);
    CHECK(a && is_none(a, "in_proj_bias") && is_none(a, "out_proj.bias"));
    ckpt_module_free(a);
    CHECK(!ckpt_nn_multihead_attention(NULL, NULL, 4, 2,
                                       &(ckpt_multihead_attention_opts){.dropout = 1.5}, NULL,
                                       NULL));

    int64_t ff = 0;
    double v = -1;
    ckpt_module *e = ckpt_nn_transformer_encoder_layer(NULL, NULL, 8, 2, NULL, NULL, NULL);
    CHECK(e && ckpt_module_attr_int(e, "dim_feedforward", &ff) && ff == 2048);
    CHECK(ckpt_module_attr_float(e, "dropout", &v) && v == 0.1);
    CHECK(ckpt_module_attr_float(e, "layer_norm_eps", &v) && v == 1e-5);
    CHECK_STR(ckpt_module_attr_str(e, "activation"), "relu");
    ckpt_module_free(e);
    e = ckpt_nn_transformer_encoder_layer(NULL, NULL, 8, 2,
                                          &(ckpt_transformer_opts){.dim_feedforward = 16,
                                                                   .no_dropout = true,
                                                                   .activation = CKPT_ACT_GELU},
                                          NULL, NULL);
    CHECK(e && ckpt_module_attr_int(e, "dim_feedforward", &ff) && ff == 16);
    CHECK(ckpt_module_attr_float(e, "dropout", &v) && v == 0.0);
    CHECK_STR(ckpt_module_attr_str(e, "activation"), "gelu");
    ckpt_module_free(e);
}

TEST(test_nn_layer_opts__pooling)
{
    int64_t k = 0;
    size_t n = 0;
    const int64_t *v = NULL;
    ckpt_module *m = ckpt_nn_maxpool2d(NULL, NULL, &(ckpt_pool_opts){.kernel = {2, 2}}, NULL);
    CHECK(m && ckpt_module_attr_int(m, "kernel_size", &k) && k == 2);
    CHECK(ckpt_module_attr_int(m, "stride", &k) && k == 2); /* stride=None: the kernel */
    ckpt_module_free(m);
    m = ckpt_nn_avgpool2d(NULL, NULL, &(ckpt_pool_opts){.kernel = {2, 3}}, NULL);
    CHECK(m && ckpt_module_attr_ints(m, "kernel_size", &n, &v) && n == 2 && v[0] == 2 &&
          v[1] == 3);
    ckpt_module_free(m);
    CHECK(!ckpt_nn_maxpool2d(NULL, NULL, NULL, NULL));
    CHECK(!ckpt_nn_avgpool2d(NULL, NULL, &(ckpt_pool_opts){0}, NULL)); /* no kernel */
}

TEST_MAIN()
