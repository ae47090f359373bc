/* tests/unit/onnx/control_test.c - model-local functions the reader must refuse
 * (tests/fixtures/onnx/control_bad, made by tools/gen/make_onnx_function_fixtures.py):
 * a function calling itself, two calling each other, and a chain whose
 * inlining would write 2^24 nodes.  The accepted forms (calls, nesting,
 * attribute references and defaults, subgraphs, control flow) run as the
 * onnx_conformance_control tier over tests/fixtures/onnx/control. */
#include <string.h>

#include "ckpt/error.h"
#include "ckpt/onnx.h"
#include "util/test.h"

static void expect_refused(const char *path, int code, const char *words)
{
    ckpt_error err;
    memset(&err, 0, sizeof err);
    ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, &err);
    if (m)
        ckpt_onnx_model_free(m);
    CHECK(m == NULL);
    CHECK_EQ_INT(err.code, code);
    if (!strstr(err.msg, words))
        fprintf(stderr, "message: %s\n", err.msg);
    CHECK(strstr(err.msg, words) != NULL);
}

TEST(test_onnx_control__function_recursive)
{
    expect_refused("tests/fixtures/onnx/control_bad/recursive.onnx", CKPT_E_LIMIT,
                   "function 'Rec' calls nest deeper than");
}

TEST(test_onnx_control__function_mutual)
{
    expect_refused("tests/fixtures/onnx/control_bad/mutual.onnx", CKPT_E_LIMIT,
                   "calls nest deeper than");
}

TEST(test_onnx_control__function_bomb)
{
    expect_refused("tests/fixtures/onnx/control_bad/bomb.onnx", CKPT_E_LIMIT, "nodes");
}

TEST(test_onnx_control__function_deep_subgraphs)
{
    expect_refused("tests/fixtures/onnx/control_bad/deep.onnx", CKPT_E_LIMIT,
                   "subgraphs nested deeper than");
}

/* Loop scan outputs gathered across iterations respect the session's value
 * cap: 3 iterations of 3 floats (36 bytes) pass a 32-byte cap, 2 do not. */
static int run_loop(int64_t trips, size_t max_bytes, ckpt_error *err)
{
    ckpt_onnx_model *m = ckpt_onnx_load(
        "tests/fixtures/onnx/control/test_loop_passthrough_3/model.onnx", NULL, err);
    if (!m)
        return -100;
    ckpt_onnx_session_opts o = {1, max_bytes};
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, &o, err);
    int rc = -101;
    if (s) {
        float v[3] = {1, 2, 3}, w[3] = {0, 0, 0};
        ckpt_onnx_tensor in[3];
        memset(in, 0, sizeof in);
        in[0] = (ckpt_onnx_tensor){"M", 0, 7, 0, {0}, &trips, sizeof trips};
        in[1] = (ckpt_onnx_tensor){"v", 0, 1, 1, {3}, v, sizeof v};
        in[2] = (ckpt_onnx_tensor){"w", 0, 1, 1, {3}, w, sizeof w};
        ckpt_onnx_tensor out[3];
        memset(out, 0, sizeof out);
        rc = ckpt_onnx_run(s, in, 3, out, 3, err);
        if (rc == 0 && (out[2].ndim != 2 || out[2].shape[0] != trips ||
                        ((const float *)out[1].data)[2] != 3.0f * (float)trips))
            rc = -102;
        ckpt_onnx_session_free(s);
    }
    ckpt_onnx_model_free(m);
    return rc;
}

TEST(test_onnx_control__loop_scan_outputs_capped)
{
    ckpt_error err;
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(run_loop(2, 32, &err), 0);
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(run_loop(3, 32, &err), CKPT_E_LIMIT);
    CHECK(strstr(err.msg, "scan outputs of 3 iterations") != NULL);
    memset(&err, 0, sizeof err);
    CHECK_EQ_INT(run_loop(3, 0, &err), 0);
}

TEST_MAIN()
