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

TEST_MAIN()
