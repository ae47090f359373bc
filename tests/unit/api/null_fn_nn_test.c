/* tests/unit/api/null_fn_nn_test.c - the functional layer ops of
 * ckpt/autograd.h and the pooling constructors with NULL arguments and a
 * NULL error: no crash, NULL returned. */
#include "ckpt/autograd.h"
#include "ckpt/nn.h"
#include "util/test.h"

TEST(test_api_null_fn_nn__all_null)
{
    CHECK(!ckpt_f_linear(NULL, NULL, NULL, NULL));
    CHECK(!ckpt_f_conv1d(NULL, NULL, NULL, NULL, NULL));
    CHECK(!ckpt_f_conv2d(NULL, NULL, NULL, NULL, NULL));
    CHECK(!ckpt_f_conv_transpose2d(NULL, NULL, NULL, NULL, NULL));
    CHECK(!ckpt_f_relu(NULL, NULL));
    CHECK(!ckpt_f_gelu(NULL, true, NULL));
    CHECK(!ckpt_f_silu(NULL, NULL));
    CHECK(!ckpt_f_tanh(NULL, NULL));
    CHECK(!ckpt_f_sigmoid(NULL, NULL));
    CHECK(!ckpt_f_softmax(NULL, 0, NULL));
    CHECK(!ckpt_f_log_softmax(NULL, -1, NULL));
    CHECK(!ckpt_f_dropout(NULL, 0.5, true, NULL));
    CHECK(!ckpt_f_layer_norm(NULL, 1, NULL, NULL, 1e-5, NULL));
    CHECK(!ckpt_f_batch_norm(NULL, NULL, NULL, NULL, NULL, NULL, true, 0.1, 1e-5, NULL));
    CHECK(!ckpt_f_group_norm(NULL, 1, NULL, NULL, 1e-5, NULL));
    CHECK(!ckpt_f_max_pool2d(NULL, NULL, NULL));
    CHECK(!ckpt_f_avg_pool2d(NULL, NULL, NULL));
    CHECK(!ckpt_f_adaptive_avg_pool2d(NULL, 1, 1, NULL));
    CHECK(!ckpt_f_embedding(NULL, NULL, -1, NULL));
    CHECK(!ckpt_f_cross_entropy(NULL, NULL, -100, 0.0, CKPT_REDUCE_MEAN, NULL));
    CHECK(!ckpt_f_nll_loss(NULL, NULL, -100, CKPT_REDUCE_MEAN, NULL));
    CHECK(!ckpt_f_mse_loss(NULL, NULL, CKPT_REDUCE_MEAN, NULL));
    CHECK(!ckpt_f_binary_cross_entropy_with_logits(NULL, NULL, NULL, CKPT_REDUCE_MEAN, NULL));
    CHECK(!ckpt_f_scaled_dot_product_attention(NULL, NULL, NULL, NULL, 0.0, false, NULL));
    CHECK(!ckpt_nn_maxpool2d(NULL, NULL, NULL, NULL));
    CHECK(!ckpt_nn_avgpool2d(NULL, NULL, NULL, NULL));
}

TEST(test_api_null_fn_nn__one_null_among_valid)
{
    ckpt_tape *t = ckpt_tape_new(NULL, NULL);
    CHECK(t != NULL);
    ckpt_var *x = ckpt_tape_full(t, 4, (int64_t[]){1, 2, 4, 4}, 1.0f, NULL);
    ckpt_var *w = ckpt_tape_full(t, 2, (int64_t[]){3, 4}, 1.0f, NULL);
    ckpt_var *i = ckpt_tape_index(t, 1, (int64_t[]){1}, (int64_t[]){0}, NULL);
    CHECK(x && w && i);
    CHECK(!ckpt_f_linear(x, NULL, NULL, NULL));
    CHECK(!ckpt_f_conv2d(x, NULL, NULL, NULL, NULL));
    CHECK(!ckpt_f_embedding(i, NULL, -1, NULL));
    CHECK(!ckpt_f_cross_entropy(w, NULL, -100, 0.0, CKPT_REDUCE_MEAN, NULL));
    CHECK(!ckpt_f_mse_loss(w, NULL, CKPT_REDUCE_SUM, NULL));
    CHECK(!ckpt_f_scaled_dot_product_attention(w, NULL, w, NULL, 0.0, true, NULL));
    CHECK(!ckpt_f_max_pool2d(x, NULL, NULL));
    ckpt_tape_free(t);
}

TEST_MAIN()
