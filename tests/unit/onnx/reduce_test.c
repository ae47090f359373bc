/*
 * tests/unit/onnx/reduce_test.c - the reduce family's ONNX kernels on the
 * forms libonnx-testdata 1.12 does not cover: opset 18/21 forms (Reduce* axes
 * as an input, GroupNormalization per group / per channel), empty
 * reductions, element types other than float32, training-mode
 * BatchNormalization at opset 14, general Einsum (implicit output, repeated
 * labels, ellipsis broadcast, three operands), batched and singular Det.
 *
 * Each case is a one-node model with inputs and expected outputs in
 * tests/fixtures/onnx_reduce/<case>/, written by
 * tools/gen/make_onnx_reduce_fixtures.py from numpy 1.24 / torch 1.13.
 * Outputs are compared as the ONNX backend tests do (rtol 1e-3, atol 1e-7;
 * NaN equal to NaN; integers exact; dtype and shape equal).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/onnx.h"
#include "onnx/onnx_internal.h"
#include "util/test.h"

#define DIR "tests/fixtures/onnx_reduce/"

static int load_pb(const char *path, ox_val *v)
{
    size_t n = 0;
    unsigned char *b = test_read_file(path, &n);
    if (!b)
        return -1;
    ckpt_error err;
    ckpt_error_clear(&err);
    int rc = ox_tensor_from_pb(b, n, v, NULL, path, &err);
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", path, err.msg);
    free(b);
    return rc < 0 ? -1 : 0;
}

static int same(const ox_val *got, const ox_val *want, const char *what)
{
    if (!got || got->kind != OX_KIND_TENSOR || got->dtype != want->dtype ||
        got->rank != want->rank) {
        fprintf(stderr, "%s: dtype/rank %d/%d, expected %d/%d\n", what, got ? got->dtype : -1,
                got ? got->rank : -1, want->dtype, want->rank);
        return 0;
    }
    for (int i = 0; i < want->rank; i++)
        if (got->dims[i] != want->dims[i]) {
            fprintf(stderr, "%s: dim %d is %lld, expected %lld\n", what, i,
                    (long long)got->dims[i], (long long)want->dims[i]);
            return 0;
        }
    const bool flt = want->dtype == OX_FLOAT || want->dtype == OX_DOUBLE ||
                     want->dtype == OX_FLOAT16 || want->dtype == OX_BFLOAT16;
    for (int64_t i = 0; i < want->numel; i++) {
        double g = ox_get_f64(got, i), w = ox_get_f64(want, i);
        bool ok;
        if (flt)
            ok = (isnan(g) && isnan(w)) || g == w || fabs(g - w) <= 1e-7 + 1e-3 * fabs(w);
        else if (want->dtype == OX_INT64)
            ok = ((const int64_t *)got->data)[i] == ((const int64_t *)want->data)[i];
        else
            ok = g == w;
        if (!ok) {
            fprintf(stderr, "%s: element %lld is %.9g, expected %.9g\n", what, (long long)i, g,
                    w);
            return 0;
        }
    }
    return 1;
}

static void run_case(const char *name)
{
    char path[512];
    ckpt_error err;
    ckpt_error_clear(&err);
    snprintf(path, sizeof path, DIR "%s/model.onnx", name);
    ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, &err);
    if (!m)
        fprintf(stderr, "%s: %s\n", path, err.msg);
    CHECK(m != NULL);
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
    if (!s)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    if (!s)
        ckpt_onnx_model_free(m);
    CHECK(s != NULL);
    const ox_graph *g = m->graph;
    ox_val in[8], want[8];
    const ox_val *ip[8];
    memset(in, 0, sizeof in);
    memset(want, 0, sizeof want);
    int nin = g->n_inputs, nout = g->n_outputs, ok = nin <= 8 && nout <= 8;
    for (int k = 0; ok && k < nin; k++) {
        snprintf(path, sizeof path, DIR "%s/input_%d.pb", name, k);
        ok = load_pb(path, &in[k]) == 0;
        ip[k] = &in[k];
    }
    for (int k = 0; ok && k < nout; k++) {
        snprintf(path, sizeof path, DIR "%s/output_%d.pb", name, k);
        ok = load_pb(path, &want[k]) == 0;
    }
    /* twice: the second run reuses the slots' buffers */
    for (int rep = 0; ok && rep < 2; rep++) {
        if (ox_session_run_vals(s, ip, nin, &err) < 0) {
            fprintf(stderr, "%s: run: %s\n", name, err.msg);
            ok = 0;
        }
        for (int k = 0; ok && k < nout; k++) {
            const char *on = g->values[g->outputs[k]].name;
            char what[256];
            snprintf(what, sizeof what, "%s output '%s' (run %d)", name, on, rep + 1);
            ok = same(ox_session_value(s, on), &want[k], what);
        }
    }
    for (int k = 0; k < 8; k++) {
        ox_val_clear(&in[k]);
        ox_val_clear(&want[k]);
    }
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
    CHECK(ok);
}

/* A Reduce* node whose axes name the same axis twice is refused, naming the node. */
TEST(test_onnx_reduce__repeated_axis_refused)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(DIR "reduce_max_18_two_axes/model.onnx", NULL, &err);
    CHECK(m != NULL);
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
    CHECK(s != NULL);
    ox_val x, axes;
    memset(&x, 0, sizeof x);
    memset(&axes, 0, sizeof axes);
    int64_t xd[3] = {2, 3, 4}, ad[1] = {2};
    CHECK(ox_val_reshape_alloc(&x, OX_FLOAT, 3, xd, &err) == 0);
    memset(x.data, 0, 24 * sizeof(float));
    CHECK(ox_val_reshape_alloc(&axes, OX_INT64, 1, ad, &err) == 0);
    ((int64_t *)axes.data)[0] = 1;
    ((int64_t *)axes.data)[1] = -2;
    const ox_val *ip[2] = {&x, &axes};
    int rc = ox_session_run_vals(s, ip, 2, &err);
    ox_val_clear(&x);
    ox_val_clear(&axes);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
    CHECK(rc == CKPT_E_ARG);
    CHECK(strstr(err.msg, "ReduceMax") != NULL);
    CHECK(strstr(err.msg, "repeated") != NULL);
}

/* A node whose input 0 is missing is refused by the kernel, naming the node
 * (the runtime's input array holds only n_in entries: nothing past them is read). */
TEST(test_onnx_reduce__missing_input_refused)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(DIR "malformed_softmax_no_input/model.onnx", NULL, &err);
    CHECK(m != NULL);
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
    if (!s)
        ckpt_onnx_model_free(m);
    CHECK(s != NULL);
    int rc = ox_session_run_vals(s, NULL, 0, &err);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
    CHECK(rc == CKPT_E_ARG);
    CHECK(strstr(err.msg, "'sm' (Softmax)") != NULL);
    CHECK(strstr(err.msg, "input 0 is required") != NULL);
}

TEST(test_onnx_reduce__argmax_int32_last_index)
{
    run_case("argmax_int32_last_index");
}

TEST(test_onnx_reduce__argmax_f32_nan)
{
    run_case("argmax_f32_nan");
}

TEST(test_onnx_reduce__argmin_f32_nan_axis0)
{
    run_case("argmin_f32_nan_axis0");
}

TEST(test_onnx_reduce__argmin_f64_axis0)
{
    run_case("argmin_f64_axis0");
}

TEST(test_onnx_reduce__batchnorm_14_training)
{
    run_case("batchnorm_14_training");
}

TEST(test_onnx_reduce__batchnorm_7_spatial0)
{
    run_case("batchnorm_7_spatial0");
}

TEST(test_onnx_reduce__batchnorm_9_f64_eval)
{
    run_case("batchnorm_9_f64_eval");
}

TEST(test_onnx_reduce__det_batched)
{
    run_case("det_batched");
}

TEST(test_onnx_reduce__det_singular_f64)
{
    run_case("det_singular_f64");
}

TEST(test_onnx_reduce__einsum_attention_scores)
{
    run_case("einsum_attention_scores");
}

TEST(test_onnx_reduce__einsum_a_transposed)
{
    run_case("einsum_a_transposed");
}

TEST(test_onnx_reduce__einsum_both_transposed_f64)
{
    run_case("einsum_both_transposed_f64");
}

TEST(test_onnx_reduce__einsum_heads_attention)
{
    run_case("einsum_heads_attention");
}

TEST(test_onnx_reduce__einsum_diagonal)
{
    run_case("einsum_diagonal");
}

TEST(test_onnx_reduce__einsum_dot)
{
    run_case("einsum_dot");
}

TEST(test_onnx_reduce__einsum_ellipsis_broadcast)
{
    run_case("einsum_ellipsis_broadcast");
}

TEST(test_onnx_reduce__einsum_implicit_batch)
{
    run_case("einsum_implicit_batch");
}

TEST(test_onnx_reduce__einsum_int32)
{
    run_case("einsum_int32");
}

TEST(test_onnx_reduce__einsum_matmul_f32)
{
    run_case("einsum_matmul_f32");
}

TEST(test_onnx_reduce__einsum_outer)
{
    run_case("einsum_outer");
}

TEST(test_onnx_reduce__einsum_repeated_three)
{
    run_case("einsum_repeated_three");
}

TEST(test_onnx_reduce__einsum_sum_private)
{
    run_case("einsum_sum_private");
}

TEST(test_onnx_reduce__einsum_three_operands)
{
    run_case("einsum_three_operands");
}

TEST(test_onnx_reduce__einsum_trace)
{
    run_case("einsum_trace");
}

TEST(test_onnx_reduce__einsum_transpose_ellipsis)
{
    run_case("einsum_transpose_ellipsis");
}

TEST(test_onnx_reduce__einsum_uppercase_mixed)
{
    run_case("einsum_uppercase_mixed");
}

TEST(test_onnx_reduce__groupnorm_18_per_group)
{
    run_case("groupnorm_18_per_group");
}

TEST(test_onnx_reduce__groupnorm_21_per_channel)
{
    run_case("groupnorm_21_per_channel");
}

TEST(test_onnx_reduce__hardmax_11_coerce_axis2)
{
    run_case("hardmax_11_coerce_axis2");
}

TEST(test_onnx_reduce__instancenorm_f64)
{
    run_case("instancenorm_f64");
}

TEST(test_onnx_reduce__layernorm_f64_axis1)
{
    run_case("layernorm_f64_axis1");
}

TEST(test_onnx_reduce__logsoftmax_f16)
{
    run_case("logsoftmax_f16");
}

TEST(test_onnx_reduce__lpnorm_p1_axis0)
{
    run_case("lpnorm_p1_axis0");
}

TEST(test_onnx_reduce__lpnorm_p2_default)
{
    run_case("lpnorm_p2_default");
}

TEST(test_onnx_reduce__lrn_size3)
{
    run_case("lrn_size3");
}

TEST(test_onnx_reduce__mvn_f64_axes23)
{
    run_case("mvn_f64_axes23");
}

TEST(test_onnx_reduce__nll_f64_int32_target_none)
{
    run_case("nll_f64_int32_target_none");
}

TEST(test_onnx_reduce__reduce_empty_set_l1)
{
    run_case("reduce_empty_set_l1");
}

TEST(test_onnx_reduce__reduce_empty_set_logsum)
{
    run_case("reduce_empty_set_logsum");
}

TEST(test_onnx_reduce__reduce_empty_set_max)
{
    run_case("reduce_empty_set_max");
}

TEST(test_onnx_reduce__reduce_empty_set_min)
{
    run_case("reduce_empty_set_min");
}

TEST(test_onnx_reduce__reduce_empty_set_prod)
{
    run_case("reduce_empty_set_prod");
}

TEST(test_onnx_reduce__reduce_empty_set_sum)
{
    run_case("reduce_empty_set_sum");
}

TEST(test_onnx_reduce__reduce_empty_set_sumsquare)
{
    run_case("reduce_empty_set_sumsquare");
}

TEST(test_onnx_reduce__reduce_l2_18_no_axes)
{
    run_case("reduce_l2_18_no_axes");
}

TEST(test_onnx_reduce__reduce_logsumexp_f64_large)
{
    run_case("reduce_logsumexp_f64_large");
}

TEST(test_onnx_reduce__reduce_max_18_two_axes)
{
    run_case("reduce_max_18_two_axes");
}

TEST(test_onnx_reduce__reduce_max_int64)
{
    run_case("reduce_max_int64");
}

TEST(test_onnx_reduce__reduce_max_nan)
{
    run_case("reduce_max_nan");
}

TEST(test_onnx_reduce__reduce_mean_18_axes_input)
{
    run_case("reduce_mean_18_axes_input");
}

TEST(test_onnx_reduce__reduce_mean_f16_middle)
{
    run_case("reduce_mean_f16_middle");
}

TEST(test_onnx_reduce__reduce_min_uint8)
{
    run_case("reduce_min_uint8");
}

TEST(test_onnx_reduce__reduce_noop_sumsquare)
{
    run_case("reduce_noop_sumsquare");
}

TEST(test_onnx_reduce__reduce_noop_l1)
{
    run_case("reduce_noop_l1");
}

TEST(test_onnx_reduce__reduce_noop_logsum)
{
    run_case("reduce_noop_logsum");
}

TEST(test_onnx_reduce__reduce_prod_int64)
{
    run_case("reduce_prod_int64");
}

TEST(test_onnx_reduce__reduce_sum_int32)
{
    run_case("reduce_sum_int32");
}

TEST(test_onnx_reduce__sce_f16_sum)
{
    run_case("sce_f16_sum");
}

TEST(test_onnx_reduce__sce_f64_weight_ii_log_prob)
{
    run_case("sce_f64_weight_ii_log_prob");
}

TEST(test_onnx_reduce__softmax_11_coerce_axis2)
{
    run_case("softmax_11_coerce_axis2");
}

TEST(test_onnx_reduce__softmax_f64_axis1)
{
    run_case("softmax_f64_axis1");
}

TEST_MAIN()
