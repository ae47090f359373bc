/* tests/unit/onnx/nn_test.c - the nn-family ONNX kernels (ops_nn.c,
 * nn_conv.c, nn_quant.c) on the forms libonnx-testdata does not cover.
 *
 * Each case is a folder of tests/fixtures/onnx_nn (model.onnx, input_K.pb,
 * output_K.pb) written by gen_onnx_nn_fixtures.py there, the expected
 * outputs computed by torch 1.13 or numpy.  Outputs are compared as the ONNX
 * backend tests compare (|got - want| <= 1e-7 + 1e-3 |want|, integers and
 * booleans exact, dtype and shape equal). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/onnx.h"
#include "onnx/onnx_internal.h"
#include "util/test.h"

#define DIR "tests/fixtures/onnx_nn/"

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(sz > 0 ? (size_t)sz : 1);
    if (b && sz > 0 && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = sz > 0 ? (size_t)sz : 0;
    return b;
}

/* 1 when tensor file `path` was read into v, 0 when absent, -1 on error */
static int read_pb(const char *path, ox_val *v)
{
    size_t n;
    char *b = slurp(path, &n);
    if (!b)
        return 0;
    ckpt_error err;
    ckpt_error_clear(&err);
    int rc = ox_tensor_from_pb(b, n, v, NULL, path, &err);
    free(b);
    if (rc < 0)
        fprintf(stderr, "%s: %s\n", path, err.msg);
    return rc < 0 ? -1 : 1;
}

/* equal as the backend tests compare; prints the first difference */
static int same(const char *what, const ox_val *got, const ox_val *want)
{
    if (got->dtype != want->dtype || got->rank != want->rank) {
        fprintf(stderr, "%s: %s rank %d, expected %s rank %d\n", what, ox_dtype_name(got->dtype),
                got->rank, ox_dtype_name(want->dtype), want->rank);
        return 0;
    }
    for (int i = 0; i < got->rank; i++)
        if (got->dims[i] != want->dims[i]) {
            fprintf(stderr, "%s: dim %d is %lld, expected %lld\n", what, i,
                    (long long)got->dims[i], (long long)want->dims[i]);
            return 0;
        }
    const bool fl = want->dtype == OX_FLOAT || want->dtype == OX_DOUBLE ||
                    want->dtype == OX_FLOAT16 || want->dtype == OX_BFLOAT16;
    for (int64_t i = 0; i < want->numel; i++) {
        double x = ox_get_f64(got, i), y = ox_get_f64(want, i);
        bool ok = fl ? (x != x && y != y) || fabs(x - y) <= 1e-7 + 1e-3 * fabs(y) : x == y;
        if (!ok) {
            fprintf(stderr, "%s[%lld]: %.9g, expected %.9g\n", what, (long long)i, x, y);
            return 0;
        }
    }
    return 1;
}

/* run case `name` with `threads`; returns 1 when every output matches */
static int run_case(const char *name, int threads)
{
    char path[512];
    snprintf(path, sizeof path, DIR "%s/model.onnx", name);
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, &err);
    if (!m) {
        fprintf(stderr, "%s: %s\n", path, err.msg);
        return 0;
    }
    ckpt_onnx_session_opts so = {.threads = threads};
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, &so, &err);
    ox_val in[12], want[4];
    memset(in, 0, sizeof in);
    memset(want, 0, sizeof want);
    int nin = 0, nout = 0, ok = s != NULL;
    if (!s)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    for (; ok && nin < 12; nin++) {
        snprintf(path, sizeof path, DIR "%s/input_%d.pb", name, nin);
        int rc = read_pb(path, &in[nin]);
        ok = rc >= 0;
        if (rc <= 0)
            break;
    }
    for (; ok && nout < 4; nout++) {
        snprintf(path, sizeof path, DIR "%s/output_%d.pb", name, nout);
        int rc = read_pb(path, &want[nout]);
        ok = rc >= 0;
        if (rc <= 0)
            break;
    }
    const ox_val *ins[12];
    for (int i = 0; i < nin; i++)
        ins[i] = &in[i];
    /* twice: the second run reuses the slots (no stale state between runs) */
    for (int rep = 0; ok && rep < 2; rep++) {
        if (ox_session_run_vals(s, ins, nin, &err) < 0) {
            fprintf(stderr, "%s: run: %s\n", name, err.msg);
            ok = 0;
            break;
        }
        const ox_graph *g = m->graph;
        ok = nout == g->n_outputs;
        for (int k = 0; ok && k < nout; k++) {
            const char *on = g->values[g->outputs[k]].name;
            const ox_val *got = ox_session_value(s, on);
            char what[300];
            snprintf(what, sizeof what, "%s: output %s", name, on);
            ok = got && same(what, got, &want[k]);
        }
    }
    for (int i = 0; i < nin; i++)
        ox_val_clear(&in[i]);
    for (int i = 0; i < nout; i++)
        ox_val_clear(&want[i]);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
    return ok;
}

/* both thread counts: the kernels' results do not depend on the split */
static int run_both(const char *name)
{
    return run_case(name, 1) && run_case(name, 2);
}

TEST(test_onnx_nn__lppool2d_p2)
{
    CHECK(run_both("lppool2d_p2"));
}
TEST(test_onnx_nn__lppool1d_p3_pads)
{
    CHECK(run_both("lppool1d_p3_pads"));
}
TEST(test_onnx_nn__globallppool_p2)
{
    CHECK(run_both("globallppool_p2"));
}
TEST(test_onnx_nn__maxpool3d_indices)
{
    CHECK(run_both("maxpool3d_indices"));
}
TEST(test_onnx_nn__maxpool2d_indices_colmajor)
{
    CHECK(run_both("maxpool2d_indices_colmajor"));
}
TEST(test_onnx_nn__avgpool2d_asym_count_pad)
{
    CHECK(run_both("avgpool2d_asym_count_pad"));
}
TEST(test_onnx_nn__avgpool3d_ceil_count_pad)
{
    CHECK(run_both("avgpool3d_ceil_count_pad"));
}
TEST(test_onnx_nn__maxpool2d_int8)
{
    CHECK(run_both("maxpool2d_int8"));
}
TEST(test_onnx_nn__conv2d_asym_dilated_groups)
{
    CHECK(run_both("conv2d_asym_dilated_groups"));
}
TEST(test_onnx_nn__conv1d_trailing_pad_1x1)
{
    CHECK(run_both("conv1d_trailing_pad_1x1"));
}
TEST(test_onnx_nn__conv3d_asym)
{
    CHECK(run_both("conv3d_asym"));
}
TEST(test_onnx_nn__conv2d_float16)
{
    CHECK(run_both("conv2d_float16"));
}
TEST(test_onnx_nn__conv2d_double_same_lower)
{
    CHECK(run_both("conv2d_double_same_lower"));
}
TEST(test_onnx_nn__convtranspose2d_asym_groups_dilated)
{
    CHECK(run_both("convtranspose2d_asym_groups_dilated"));
}
TEST(test_onnx_nn__convtranspose1d_same_upper)
{
    CHECK(run_both("convtranspose1d_same_upper"));
}
TEST(test_onnx_nn__matmul_broadcast)
{
    CHECK(run_both("matmul_broadcast"));
}
TEST(test_onnx_nn__matmul_1d_left)
{
    CHECK(run_both("matmul_1d_left"));
}
TEST(test_onnx_nn__matmul_1d_right)
{
    CHECK(run_both("matmul_1d_right"));
}
TEST(test_onnx_nn__matmul_row_batched_b)
{
    CHECK(run_both("matmul_row_batched_b"));
}
TEST(test_onnx_nn__matmul_int32)
{
    CHECK(run_both("matmul_int32"));
}
TEST(test_onnx_nn__matmul_float16)
{
    CHECK(run_both("matmul_float16"));
}
TEST(test_onnx_nn__gemm_double_trans_a)
{
    CHECK(run_both("gemm_double_trans_a"));
}
TEST(test_onnx_nn__gemm_float16_trans_b)
{
    CHECK(run_both("gemm_float16_trans_b"));
}
TEST(test_onnx_nn__gemm_row_trans_b)
{
    CHECK(run_both("gemm_row_trans_b"));
}
TEST(test_onnx_nn__gemm_row_no_c)
{
    CHECK(run_both("gemm_row_no_c"));
}
TEST(test_onnx_nn__gemm_col_trans_a)
{
    CHECK(run_both("gemm_col_trans_a"));
}
TEST(test_onnx_nn__qlinearmatmul_per_column)
{
    CHECK(run_both("qlinearmatmul_per_column"));
}
TEST(test_onnx_nn__convinteger_per_channel)
{
    CHECK(run_both("convinteger_per_channel"));
}
TEST(test_onnx_nn__qlinearconv_per_channel_groups)
{
    CHECK(run_both("qlinearconv_per_channel_groups"));
}
TEST(test_onnx_nn__dropout_opset7_mask)
{
    CHECK(run_both("dropout_opset7_mask"));
}
TEST(test_onnx_nn__dropout_training_seeded)
{
    CHECK(run_both("dropout_training_seeded"));
}

TEST(test_onnx_nn__qlinearconv_empty_batch)
{
    CHECK(run_both("qlinearconv_empty_batch"));
}

/* kernel_shape 2x2 against 3x3 weights: refused (it once read past W) */
TEST(test_onnx_nn__convinteger_kernel_shape_mismatch)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(DIR "err_convinteger_kernel_shape/model.onnx", NULL,
                                        &err);
    CHECK(m != NULL);
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
    CHECK(s != NULL);
    ox_val x = {0};
    CHECK(read_pb(DIR "err_convinteger_kernel_shape/input_0.pb", &x) == 1);
    ox_val w = {0};
    CHECK(read_pb(DIR "err_convinteger_kernel_shape/input_1.pb", &w) == 1);
    const ox_val *ins[2] = {&x, &w};
    CHECK(ox_session_run_vals(s, ins, 2, &err) == CKPT_E_SHAPE);
    CHECK(strstr(err.msg, "ConvInteger") != NULL);
    CHECK(strstr(err.msg, "kernel_shape") != NULL);
    ox_val_clear(&x);
    ox_val_clear(&w);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
}

/* A case the shape rules refuse names the node. */
TEST(test_onnx_nn__conv_channel_mismatch_names_node)
{
    /* conv2d_asym_dilated_groups's model with an input of 3 channels, not 4 */
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(DIR "conv2d_asym_dilated_groups/model.onnx", NULL, &err);
    CHECK(m != NULL);
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
    CHECK(s != NULL);
    ox_val x = {0};
    int64_t d[4] = {1, 3, 7, 6};
    CHECK(ox_val_reshape_alloc(&x, OX_FLOAT, 4, d, &err) == 0);
    memset(x.data, 0, ox_val_nbytes(&x));
    const ox_val *ins[1] = {&x};
    CHECK(ox_session_run_vals(s, ins, 1, &err) == CKPT_E_SHAPE);
    CHECK(strstr(err.msg, "Conv") != NULL);
    CHECK(strstr(err.msg, "channels") != NULL);
    ox_val_clear(&x);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
}

/* A batch large enough for Conv to split its images over the session's
 * threads gives the single-thread result (the split path; the fixture cases
 * are too small to take it). */
static int run_conv_big(int threads, ox_val *y)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(DIR "conv2d_asym_dilated_groups/model.onnx", NULL, &err);
    if (!m)
        return 0;
    ckpt_onnx_session_opts so = {.threads = threads};
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, &so, &err);
    ox_val x = {0};
    int64_t d[4] = {16, 4, 128, 128};
    int ok = s && ox_val_reshape_alloc(&x, OX_FLOAT, 4, d, &err) == 0;
    if (ok) {
        float *p = x.data;
        for (int64_t i = 0; i < x.numel; i++)
            p[i] = (float)((i * 7919) % 1000) / 500.0f - 1.0f;
        const ox_val *ins[1] = {&x};
        ok = ox_session_run_vals(s, ins, 1, &err) == 0;
        const ox_val *out = ok ? ox_session_value(s, "y") : NULL;
        ok = out && ox_val_copy(y, out, &err) == 0;
    }
    if (!ok)
        fprintf(stderr, "conv big, %d threads: %s\n", threads, err.msg);
    ox_val_clear(&x);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
    return ok;
}

TEST(test_onnx_nn__conv_batch_split_over_threads)
{
    ox_val y1 = {0}, y3 = {0};
    CHECK(run_conv_big(1, &y1));
    CHECK(run_conv_big(3, &y3));
    CHECK_EQ_INT(y1.numel, y3.numel);
    CHECK(y1.numel ==
          16 * 6 * 127 * 64); /* (128 + 3 - 5) + 1 rows, (128 + 1 - 3) / 2 + 1 columns */
    const float *a = y1.data, *b = y3.data;
    int64_t bad = -1;
    for (int64_t i = 0; i < y1.numel && bad < 0; i++)
        if (!(fabsf(a[i] - b[i]) <= 1e-5f * (1.0f + fabsf(a[i]))))
            bad = i;
    ox_val_clear(&y1);
    ox_val_clear(&y3);
    CHECK_EQ_INT(bad, -1);
}

TEST_MAIN()
