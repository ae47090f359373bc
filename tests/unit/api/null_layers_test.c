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

TEST_MAIN()
