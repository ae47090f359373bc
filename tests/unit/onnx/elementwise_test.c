/* tests/unit/onnx/elementwise_test.c - what the element-wise conformance
 * cases (libonnx-testdata and tests/fixtures/onnx/elementwise) do not show:
 * the broadcasting iterator against direct index arithmetic over random
 * shapes, malformed nodes refused with an error naming the node
 * (tests/fixtures/onnx/elementwise_bad, from tests/onnx/gen_elementwise.py),
 * and a second run on the same shapes reusing the output buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/onnx.h"
#include "onnx/elem_util.h"
#include "onnx/onnx_internal.h"
#include "util/test.h"

/* o = a * 1e6 + b * 1e3 + c, each operand's value being its own flat index */
static void tag3(void *o_, const void *const *in, int64_t n, unsigned bc, const void *ctx)
{
    double *o = o_;
    const double *a = in[0], *b = in[1], *c = in[2];
    (void)ctx;
    for (int64_t i = 0; i < n; i++)
        o[i] = a[(bc & 1u) ? 0 : i] * 1e6 + b[(bc & 2u) ? 0 : i] * 1e3 + c[(bc & 4u) ? 0 : i];
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static int rnd(int n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (int)(rng_state % (uint64_t)n);
}

TEST(test_onnx_elementwise__broadcast_iterator_random_shapes)
{
    static double data[3][1024], out[1024];
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 1024; i++)
            data[k][i] = i;
    for (int trial = 0; trial < 3000; trial++) {
        int orank = rnd(6);
        int64_t od[OX_MAX_RANK], dims[3][OX_MAX_RANK];
        int rank[3];
        int64_t total = 1;
        for (int i = 0; i < orank; i++) {
            od[i] = 1 + rnd(4);
            total *= od[i];
        }
        for (int k = 0; k < 3; k++) {
            rank[k] = orank ? rnd(orank + 1) : 0;
            for (int i = 0; i < rank[k]; i++)
                dims[k][i] = rnd(3) ? od[orank - rank[k] + i] : 1;
        }
        ox_ew_operand ops[3];
        for (int k = 0; k < 3; k++)
            ops[k] = (ox_ew_operand){rank[k], dims[k], data[k], sizeof(double)};
        memset(out, 0, sizeof out);
        ox_ew_run(orank, od, out, sizeof(double), ops, 3, tag3, NULL);
        for (int64_t e = 0; e < total; e++) {
            /* the multi-index of e, then each operand's flat index */
            int64_t idx[OX_MAX_RANK], rem = e;
            for (int i = orank - 1; i >= 0; i--) {
                idx[i] = rem % od[i];
                rem /= od[i];
            }
            double want = 0, scale[3] = {1e6, 1e3, 1};
            for (int k = 0; k < 3; k++) {
                int64_t f = 0;
                for (int i = 0; i < rank[k]; i++) {
                    int64_t d = dims[k][i], x = d == 1 ? 0 : idx[orank - rank[k] + i];
                    f = f * d + x;
                }
                want += (double)f * scale[k];
            }
            if (out[e] != want) {
                fprintf(stderr, "trial %d element %lld: %.0f, expected %.0f\n", trial,
                        (long long)e, out[e], want);
                CHECK(out[e] == want);
            }
        }
    }
}

static const struct {
    const char *model;
    const char *msg;
} bad[] = {
    {"add_one_input", "needs 2 inputs"},
    {"relu_no_input", "needs 1 input"},
    {"where_two_inputs", "needs 3 inputs"},
    {"max_no_input", "needs 1 input"},
    {"quantize_no_scale", "needs 2 inputs"},
    {"pow_one_input", "needs 2 inputs"},
    {"add_mixed_types", "different types"},
    {"add_no_broadcast", "do not broadcast"},
    {"clip_vector_min", "must be a scalar"},
    {"cast_no_to", "needs attribute 'to'"},
    {"cast_to_complex", "float32 -> complex64"},
    {"bitshift_direction", "direction 'UP'"},
    {"gelu_approximate", "approximate 'fast'"},
    {"sqrt_int32", "element type int32"},
    {"where_int_condition", "condition of type int32"},
    {"dequantize_axis_size", "3 scales for axis 0 of size 4"},
};

TEST(test_onnx_elementwise__malformed_nodes_name_the_node)
{
    float x[3] = {1, 2, 3};
    int32_t iv[4] = {1, 2, 3, 4};
    ox_val vx = {0}, vi = {0};
    vx.kind = vi.kind = OX_KIND_TENSOR;
    vx.dtype = OX_FLOAT;
    vx.rank = 1;
    vx.dims[0] = vx.numel = 3;
    vx.data = x;
    vi.dtype = OX_INT32;
    vi.rank = 1;
    vi.dims[0] = vi.numel = 4;
    vi.data = iv;
    const ox_val *ins[2] = {&vx, &vi};
    for (size_t c = 0; c < sizeof bad / sizeof bad[0]; c++) {
        char path[256];
        snprintf(path, sizeof path, "tests/fixtures/onnx/elementwise_bad/%s.onnx", bad[c].model);
        ckpt_error err;
        ckpt_error_clear(&err);
        ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, &err);
        CHECK(m != NULL);
        ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
        int rc = s ? ox_session_run_vals(s, ins, 2, &err) : -1;
        if (rc >= 0 || !strstr(err.msg, "'bad'") || !strstr(err.msg, bad[c].msg))
            fprintf(stderr, "%s: rc %d, '%s' (expected '%s')\n", bad[c].model, rc, err.msg,
                    bad[c].msg);
        ckpt_onnx_session_free(s);
        ckpt_onnx_model_free(m);
        CHECK(rc < 0);
        CHECK(strstr(err.msg, "'bad'") != NULL);
        CHECK(strstr(err.msg, bad[c].msg) != NULL);
    }
}

static int read_pb(const char *path, ox_val *v)
{
    size_t n;
    unsigned char *b = test_read_file(path, &n);
    if (!b)
        return -1;
    ckpt_error err;
    ckpt_error_clear(&err);
    int rc = ox_tensor_from_pb(b, n, v, NULL, path, &err);
    free(b);
    return rc;
}

TEST(test_onnx_elementwise__rerun_reuses_output_buffer)
{
    const char *dir = "tests/fixtures/onnx/elementwise/test_add_bcast_mid";
    char path[512];
    ox_val a = {0}, b = {0}, want = {0};
    snprintf(path, sizeof path, "%s/test_data_set_0/input_0.pb", dir);
    CHECK(read_pb(path, &a) == 0);
    snprintf(path, sizeof path, "%s/test_data_set_0/input_1.pb", dir);
    CHECK(read_pb(path, &b) == 0);
    snprintf(path, sizeof path, "%s/test_data_set_0/output_0.pb", dir);
    CHECK(read_pb(path, &want) == 0);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, &err);
    CHECK(m != NULL);
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
    CHECK(s != NULL);
    const ox_val *ins[2] = {&a, &b};
    CHECK_OK(ox_session_run_vals(s, ins, 2, &err), &err);
    const ox_val *y = ox_session_value(s, "y0");
    CHECK(y != NULL);
    const void *first = y->data;
    CHECK_OK(ox_session_run_vals(s, ins, 2, &err), &err);
    y = ox_session_value(s, "y0");
    CHECK(y->data == first);
    CHECK_EQ_INT(y->numel, want.numel);
    CHECK(memcmp(y->data, want.data, (size_t)want.numel * sizeof(float)) == 0);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
    ox_val_clear(&a);
    ox_val_clear(&b);
    ox_val_clear(&want);
}

TEST_MAIN()
