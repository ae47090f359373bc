/* tests/unit/api/null_layers_test.c - the recurrent and attention layer
 * calls (ckpt_f_lstm / ckpt_f_gru, ckpt_nn_lstm / ckpt_nn_gru and their
 * _call functions) with NULL arguments and err == NULL: an error, never a
 * crash; and the outputs they promise to clear are cleared. */
#include <stdint.h>
#include <stdio.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

TEST(test_api_null_layers__rnn)
{
    ckpt_var *hn = (ckpt_var *)1, *cn = (ckpt_var *)1;
    CHECK(ckpt_f_lstm(NULL, NULL, NULL, NULL, 0, NULL, false, &hn, &cn, NULL) == NULL);
    CHECK(hn == NULL && cn == NULL);
    CHECK(ckpt_f_gru(NULL, NULL, NULL, 0, NULL, true, NULL, NULL) == NULL);
    CHECK(ckpt_nn_lstm_call(NULL, NULL, NULL, NULL, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_nn_gru_call(NULL, NULL, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_nn_lstm(NULL, NULL, -1, 4, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_nn_gru(NULL, NULL, 3, 0, NULL, NULL, NULL) == NULL);
    ckpt_rnn_opts bad = {.dropout = 2.0};
    CHECK(ckpt_nn_gru(NULL, NULL, 3, 4, &bad, NULL, NULL) == NULL);
    /* a module with NULL opts and rng: torch's defaults, zero weights */
    ckpt_module *m = ckpt_nn_gru(NULL, NULL, 3, 4, NULL, NULL, NULL);
    CHECK(m != NULL && ckpt_module_slot_count(m) == 4);
    ckpt_tape *t = ckpt_tape_new(NULL, NULL);
    ckpt_var *x = ckpt_tape_full(t, 3, (int64_t[]){2, 1, 3}, 1.0f, NULL);
    /* weights missing from the array: an error, not a read past it */
    ckpt_var *w[1] = {x};
    CHECK(ckpt_f_gru(x, NULL, w, 1, NULL, false, NULL, NULL) == NULL);
    CHECK(ckpt_f_gru(x, NULL, NULL, 4, NULL, false, NULL, NULL) == NULL);
    CHECK(ckpt_nn_gru_call(m, x, NULL, NULL, NULL) != NULL);
    CHECK(ckpt_nn_lstm_call(m, x, NULL, NULL, NULL, NULL, NULL) == NULL);
    ckpt_tape_free(t);
    ckpt_module_free(m);
}

TEST(test_api_null_layers__attention)
{
    CHECK(ckpt_nn_multihead_attention_call(NULL, NULL, NULL, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_nn_transformer_encoder_call(NULL, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_nn_transformer_decoder_layer_call(NULL, NULL, NULL, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_nn_transformer_encoder(NULL, NULL, 8, 2, 0, NULL, NULL, NULL) == NULL);
    ckpt_transformer_opts bad = {.activation = CKPT_ACT_TANH};
    CHECK(ckpt_nn_transformer_decoder_layer(NULL, NULL, 8, 2, &bad, NULL, NULL) == NULL);
    CHECK(ckpt_nn_transformer_decoder_layer(NULL, NULL, 8, 3, NULL, NULL, NULL) == NULL);
    /* NULL opts: torch's defaults (dim_feedforward 2048, dropout 0.1) */
    ckpt_module *d = ckpt_nn_transformer_decoder_layer(NULL, NULL, 8, 2, NULL, NULL, NULL);
    ckpt_module *e = ckpt_nn_transformer_encoder(NULL, NULL, 8, 2, 2, NULL, NULL, NULL);
    CHECK(d != NULL && e != NULL);
    int64_t ff = 0;
    CHECK(ckpt_module_attr_int(d, "dim_feedforward", &ff) && ff == 2048);
    CHECK(ckpt_module_find(e, "norm") == NULL && ckpt_module_find(e, "layers.1") != NULL);
    ckpt_tape *t = ckpt_tape_new(NULL, NULL);
    ckpt_var *x = ckpt_tape_full(t, 3, (int64_t[]){3, 2, 8}, 1.0f, NULL);
    /* decoder without memory, module_call on a decoder (needs memory), wrong module kinds */
    CHECK(ckpt_nn_transformer_decoder_layer_call(d, x, NULL, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_module_call(d, x, NULL) == NULL);
    CHECK(ckpt_nn_multihead_attention_call(e, x, NULL, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_nn_transformer_encoder_call(d, x, NULL, NULL) == NULL);
    /* a mask of the wrong shape */
    ckpt_var *bad_mask = ckpt_tape_full(t, 2, (int64_t[]){2, 2}, 0.0f, NULL);
    ckpt_attn_masks mk = {.attn_mask = bad_mask};
    CHECK(ckpt_nn_transformer_encoder_call(e, x, &mk, NULL) == NULL);
    CHECK(ckpt_nn_transformer_encoder_call(e, x, NULL, NULL) != NULL);
    CHECK(ckpt_module_call(e, x, NULL) != NULL);
    ckpt_tape_free(t);
    ckpt_module_free(d);
    ckpt_module_free(e);
}

TEST(test_api_null_layers__norm_calls)
{
    ckpt_module *emb = ckpt_nn_embedding(NULL, NULL, 5, 3,
                                         &(ckpt_embedding_opts){.has_padding_idx = true,
                                                                .padding_idx = 1},
                                         NULL, NULL);
    ckpt_module *bn = ckpt_nn_batchnorm(NULL, NULL, 2, 3,
                                        &(ckpt_norm_opts){.no_running_stats = true}, NULL);
    ckpt_module *ln = ckpt_nn_layernorm(NULL, NULL, 1, (int64_t[]){4},
                                        &(ckpt_norm_opts){.no_affine = true}, NULL);
    CHECK(emb && bn && ln);
    ckpt_tape *t = ckpt_tape_new(NULL, NULL);
    ckpt_var *f = ckpt_tape_full(t, 2, (int64_t[]){2, 3}, 1.0f, NULL);
    CHECK(ckpt_module_call(emb, f, NULL) == NULL); /* float indices */
    CHECK(ckpt_module_call(bn, f, NULL) == NULL);  /* BatchNorm2d wants 4-D */
    CHECK(ckpt_module_call(ln, f, NULL) == NULL);  /* last dim 3, not 4 */
    CHECK(ckpt_module_call(NULL, f, NULL) == NULL);
    ckpt_tape_free(t);
    ckpt_module_free(emb);
    ckpt_module_free(bn);
    ckpt_module_free(ln);
}

TEST_MAIN()
