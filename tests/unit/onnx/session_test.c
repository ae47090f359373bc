/* tests/unit/onnx/session_test.c - ONNX sessions: binding by name and
 * position, dynamic batch, no allocation on a repeated shape, caller-owned
 * output buffers, errors that name what is wrong.  Models and expected
 * outputs: tools/gen/make_onnx_fixtures.py (numpy). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "onnx/onnx_internal.h"
#include "util/test.h"

#define FIX "tests/fixtures/onnx/"

static size_t read_f32(const char *path, float *dst, size_t max)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(dst, sizeof(float), max, f);
    fclose(f);
    return n;
}

static ckpt_onnx_tensor input(float *x, int64_t batch)
{
    ckpt_onnx_tensor t;
    memset(&t, 0, sizeof t);
    t.name = "x";
    t.dtype = CKPT_F32;
    t.ndim = 2;
    t.shape[0] = batch;
    t.shape[1] = 6;
    t.data = x;
    t.nbytes = (uint64_t)batch * 6 * sizeof(float);
    return t;
}

TEST(test_onnx_session__dynamic_batch_matches_numpy_and_reuses_buffers)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(FIX "mlp_dyn.onnx", NULL, &err);
    CHECK(m != NULL);
    ckpt_onnx_info info;
    CHECK(ckpt_onnx_get_info(m, &info) == 0);
    CHECK(info.n_inputs == 1 && info.n_outputs == 1 && info.n_initializers == 2);
    CHECK(!strcmp(info.producer_name, "ckpt-fixtures"));
    ckpt_onnx_value_info vi;
    CHECK(ckpt_onnx_get_input(m, 0, &vi) == 0);
    CHECK(vi.ndim == 2 && vi.shape[0] == -1 && !strcmp(vi.dim_params[0], "batch"));
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
    CHECK(s != NULL);
    float x4[24], y4[20], x8[48], y8[40];
    CHECK(read_f32(FIX "mlp_dyn_x4.f32", x4, 24) == 24 &&
          read_f32(FIX "mlp_dyn_y4.f32", y4, 20) == 20);
    CHECK(read_f32(FIX "mlp_dyn_x8.f32", x8, 48) == 48 &&
          read_f32(FIX "mlp_dyn_y8.f32", y8, 40) == 40);
    uint64_t a0 = 0;
    for (int rep = 0; rep < 3; rep++) {
        ckpt_onnx_tensor in = input(x4, 4);
        ckpt_onnx_tensor out;
        memset(&out, 0, sizeof out); /* by position, session memory */
        CHECK(ckpt_onnx_run(s, &in, 1, &out, 1, &err) == 0);
        CHECK(!strcmp(out.name, "y") && out.ndim == 2 && out.shape[0] == 4 && out.shape[1] == 5);
        CHECK(out.dtype == CKPT_F32 && out.nbytes == 80);
        for (int i = 0; i < 20; i++)
            CHECK(fabsf(((float *)out.data)[i] - y4[i]) <= 1e-6f * (1 + fabsf(y4[i])));
        if (rep == 0)
            a0 = ox_buffer_allocs();
        else
            CHECK(ox_buffer_allocs() == a0); /* repeated shape: nothing allocated */
    }
    /* a larger batch grows the buffers once, then again nothing */
    float got[40];
    for (int rep = 0; rep < 2; rep++) {
        ckpt_onnx_tensor in = input(x8, 8);
        ckpt_onnx_tensor out;
        memset(&out, 0, sizeof out);
        out.name = "y";
        out.data = got;
        out.nbytes = sizeof got;
        CHECK(ckpt_onnx_run(s, &in, 1, &out, 1, &err) == 0);
        CHECK(out.data == got && out.shape[0] == 8);
        for (int i = 0; i < 40; i++)
            CHECK(fabsf(got[i] - y8[i]) <= 1e-6f * (1 + fabsf(y8[i])));
        if (rep == 0)
            a0 = ox_buffer_allocs();
        else
            CHECK(ox_buffer_allocs() == a0);
    }
    /* a caller buffer that is too small: CKPT_E_SHAPE and the needed size */
    ckpt_onnx_tensor in = input(x8, 8);
    ckpt_onnx_tensor out;
    memset(&out, 0, sizeof out);
    out.data = got;
    out.nbytes = 16;
    ckpt_error_clear(&err);
    CHECK(ckpt_onnx_run(s, &in, 1, &out, 1, &err) == CKPT_E_SHAPE);
    CHECK(out.nbytes == 160 && strstr(err.msg, "'y'"));
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
}

TEST(test_onnx_session__input_errors_name_the_input)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(FIX "mlp_dyn.onnx", NULL, &err);
    CHECK(m != NULL);
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
    CHECK(s != NULL);
    float x[12] = {0};
    ckpt_onnx_tensor out;
    memset(&out, 0, sizeof out);
    /* a static dim that disagrees */
    ckpt_onnx_tensor in = input(x, 2);
    in.shape[1] = 5;
    CHECK(ckpt_onnx_run(s, &in, 1, &out, 1, &err) == CKPT_E_SHAPE);
    CHECK(strstr(err.msg, "input 'x'") && strstr(err.msg, "dim 1"));
    /* wrong dtype */
    ckpt_error_clear(&err);
    in = input(x, 2);
    in.dtype = CKPT_F64;
    CHECK(ckpt_onnx_run(s, &in, 1, &out, 1, &err) == CKPT_E_SHAPE);
    CHECK(strstr(err.msg, "float64") && strstr(err.msg, "float32"));
    /* unknown name, too few bytes, missing input */
    ckpt_error_clear(&err);
    in = input(x, 2);
    in.name = "nope";
    CHECK(ckpt_onnx_run(s, &in, 1, &out, 1, &err) == CKPT_E_NOT_FOUND);
    CHECK(strstr(err.msg, "'nope'") != NULL);
    ckpt_error_clear(&err);
    in = input(x, 2);
    in.nbytes = 8;
    CHECK(ckpt_onnx_run(s, &in, 1, &out, 1, &err) == CKPT_E_SHAPE);
    ckpt_error_clear(&err);
    CHECK(ckpt_onnx_run(s, NULL, 0, &out, 1, &err) == CKPT_E_ARG);
    CHECK(strstr(err.msg, "'x' was not given") != NULL);
    CHECK(strstr(err.file, "mlp_dyn.onnx") != NULL);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
}

TEST(test_onnx_session__unknown_op_names_node_domain_and_opset)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(FIX "custom_op.onnx", NULL, &err);
    CHECK(m != NULL); /* reading works: ls / show need no kernels */
    const char *op, *dom, *name;
    CHECK(ckpt_onnx_get_node(m, 0, &op, &dom, &name) == 0);
    CHECK(!strcmp(op, "Frobnicate") && !strcmp(dom, "com.example") && !strcmp(name, "mystery"));
    CHECK(ckpt_onnx_session_new(m, NULL, &err) == NULL);
    CHECK(err.code == CKPT_E_UNSUPPORTED);
    CHECK(strstr(err.msg, "'mystery'") && strstr(err.msg, "Frobnicate") &&
          strstr(err.msg, "com.example") && strstr(err.msg, "opset 3"));
    ckpt_onnx_model_free(m);
}

TEST(test_onnx_session__not_a_model)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    const char junk[] = "\xff\xff\xff\xff not protobuf";
    CHECK(ckpt_onnx_load_buffer(junk, sizeof junk, "junk", NULL, &err) == NULL);
    CHECK(err.code == CKPT_E_FORMAT && !strcmp(err.file, "junk"));
    ckpt_error_clear(&err);
    CHECK(ckpt_onnx_load("tests/fixtures/onnx/does_not_exist.onnx", NULL, &err) == NULL);
    CHECK(err.code == CKPT_E_NOT_FOUND);
}

TEST_MAIN()
