/* tests/unit/api/null_autograd_tensor_test.c - the tensor ops of
 * ckpt/autograd.h (element-wise, matmul, shape, reductions) with NULL vars,
 * NULL lists / outputs and err == NULL: NULL or a negative code, never a
 * crash; and the same calls with an error record fill it. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

TEST(test_api_null_autograd_tensor__null_vars)
{
    ckpt_var *outs[2];
    size_t n = 0;
    CHECK(ckpt_f_add(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_f_sub(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_f_mul(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_f_div(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_f_add_scalar(NULL, 1.0, NULL) == NULL);
    CHECK(ckpt_f_mul_scalar(NULL, 1.0, NULL) == NULL);
    CHECK(ckpt_f_neg(NULL, NULL) == NULL);
    CHECK(ckpt_f_exp(NULL, NULL) == NULL);
    CHECK(ckpt_f_log(NULL, NULL) == NULL);
    CHECK(ckpt_f_sqrt(NULL, NULL) == NULL);
    CHECK(ckpt_f_pow_scalar(NULL, 2.0, NULL) == NULL);
    CHECK(ckpt_f_matmul(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_f_bmm(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_f_reshape(NULL, 0, NULL, NULL) == NULL);
    CHECK(ckpt_f_flatten(NULL, 0, -1, NULL) == NULL);
    CHECK(ckpt_f_permute(NULL, 0, NULL, NULL) == NULL);
    CHECK(ckpt_f_transpose(NULL, 0, 1, NULL) == NULL);
    CHECK(ckpt_f_contiguous(NULL, NULL) == NULL);
    CHECK(ckpt_f_cat(NULL, 0, 0, NULL) == NULL);
    CHECK(ckpt_f_cat(NULL, 2, 0, NULL) == NULL);
    CHECK(ckpt_f_stack(NULL, 0, 0, NULL) == NULL);
    CHECK(ckpt_f_cat((ckpt_var *[]){NULL, NULL}, 2, 0, NULL) == NULL);
    CHECK(ckpt_f_stack((ckpt_var *[]){NULL}, 1, 0, NULL) == NULL);
    CHECK(ckpt_f_split(NULL, 1, 0, outs, 2, &n, NULL) < 0);
    CHECK(ckpt_f_chunk(NULL, 1, 0, outs, 2, &n, NULL) < 0);
    CHECK(ckpt_f_split(NULL, 1, 0, NULL, 0, NULL, NULL) < 0);
    CHECK(ckpt_f_slice(NULL, 0, 0, 1, 1, NULL) == NULL);
    CHECK(ckpt_f_select(NULL, 0, 0, NULL) == NULL);
    CHECK(ckpt_f_sum(NULL, 0, NULL, false, NULL) == NULL);
    CHECK(ckpt_f_mean(NULL, 0, NULL, false, NULL) == NULL);
}

TEST(test_api_null_autograd_tensor__null_arguments_with_a_var)
{
    ckpt_error err = {0};
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    ckpt_var *x = ckpt_tape_full(t, 2, (const int64_t[]){2, 3}, 1.0f, &err);
    CHECK(x != NULL);
    ckpt_var *outs[4];
    size_t n = 7;
    CHECK(ckpt_f_add(x, NULL, NULL) == NULL);
    CHECK(ckpt_f_matmul(x, NULL, NULL) == NULL);
    CHECK(ckpt_f_reshape(x, 2, NULL, NULL) == NULL);
    CHECK(ckpt_f_permute(x, 2, NULL, NULL) == NULL);
    CHECK(ckpt_f_split(x, 1, 0, NULL, 4, &n, NULL) < 0);   /* outs NULL */
    CHECK(ckpt_f_chunk(x, 2, 0, outs, 4, NULL, NULL) < 0); /* n NULL */
    CHECK(ckpt_f_sum(x, 1, NULL, false, NULL) != NULL);    /* dims NULL: all */
    CHECK(ckpt_f_cat((ckpt_var *[]){x, NULL}, 2, 0, NULL) == NULL);
    CHECK(ckpt_f_add(x, NULL, &err) == NULL && err.code == CKPT_E_ARG);
    CHECK(strstr(err.msg, "add") != NULL);
    ckpt_tape_free(t);
}

TEST_MAIN()
