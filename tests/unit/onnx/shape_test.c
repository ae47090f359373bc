/*
 * tests/unit/onnx/shape_test.c - what the conformance cases of the shape
 * kernels cannot see: views share their input's data (no copy), repeated
 * runs reuse the output buffers and keep string outputs right, and hostile
 * arguments fail with an error naming the node.
 *
 * Models and expected outputs come from tests/onnx/gen_shape_cases.py
 * (numpy reference): tests/fixtures/onnx/shape/test_<case>/ and
 * tests/fixtures/onnx/shape_bad/<case>.onnx.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/onnx.h"
#include "onnx/onnx_internal.h"
#include "util/test.h"

#define CASES "tests/fixtures/onnx/shape/"
#define BAD "tests/fixtures/onnx/shape_bad/"

static int read_pb(const char *path, ox_val *v)
{
    size_t n;
    unsigned char *b = test_read_file(path, &n);
    if (!b)
        return -1;
    ckpt_error err;
    ckpt_error_clear(&err);
    memset(v, 0, sizeof *v);
    int rc = ox_tensor_from_pb(b, n, v, NULL, path, &err);
    free(b);
    return rc;
}

/* A case of tests/fixtures/onnx/shape with its single input and output. */
typedef struct {
    ckpt_onnx_model *m;
    ckpt_onnx_session *s;
    ox_val in, want;
} fixture;

static int fixture_open(fixture *f, const char *name)
{
    char p[512];
    ckpt_error err;
    ckpt_error_clear(&err);
    memset(f, 0, sizeof *f);
    snprintf(p, sizeof p, CASES "test_%s/model.onnx", name);
    f->m = ckpt_onnx_load(p, NULL, &err);
    if (!f->m)
        return -1;
    f->s = ckpt_onnx_session_new(f->m, NULL, &err);
    if (!f->s)
        return -1;
    snprintf(p, sizeof p, CASES "test_%s/test_data_set_0/input_0.pb", name);
    if (read_pb(p, &f->in) < 0)
        return -1;
    snprintf(p, sizeof p, CASES "test_%s/test_data_set_0/output_0.pb", name);
    return read_pb(p, &f->want);
}

static void fixture_close(fixture *f)
{
    ckpt_onnx_session_free(f->s);
    ckpt_onnx_model_free(f->m);
    ox_val_clear(&f->in);
    ox_val_clear(&f->want);
}

static int run(fixture *f)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    const ox_val *ip[1] = {&f->in};
    return ox_session_run_vals(f->s, ip, 1, &err);
}

/* Output y equals the expected tensor (bytes, or strings one by one). */
static int same_as_want(const ox_val *got, const ox_val *want)
{
    if (!got || got->kind != OX_KIND_TENSOR || got->dtype != want->dtype ||
        got->rank != want->rank || got->numel != want->numel)
        return 0;
    for (int i = 0; i < got->rank; i++)
        if (got->dims[i] != want->dims[i])
            return 0;
    if (got->dtype == OX_STRING) {
        for (int64_t i = 0; i < got->numel; i++)
            if (strcmp(((char **)got->data)[i], ((char **)want->data)[i]))
                return 0;
        return 1;
    }
    return !memcmp(got->data, want->data, ox_val_nbytes(got));
}

TEST(test_onnx_shape__views_share_input_data)
{
    const char *views[] = {"squeeze_13_no_axes", "unsqueeze_11_attr_negative",
                           "squeeze_13_empty_axes_input"};
    for (size_t k = 0; k < sizeof views / sizeof views[0]; k++) {
        fixture f;
        if (fixture_open(&f, views[k]) < 0) {
            fixture_close(&f);
            CHECK(!"fixture");
        }
        if (k == 2) {
            /* the second input (empty axes) is bound too */
            ox_val ax;
            CHECK(read_pb(CASES "test_squeeze_13_empty_axes_input/test_data_set_0/input_1.pb",
                          &ax) == 0);
            ckpt_error err;
            ckpt_error_clear(&err);
            const ox_val *ip[2] = {&f.in, &ax};
            int rc = ox_session_run_vals(f.s, ip, 2, &err);
            const ox_val *y = ox_session_value(f.s, "y");
            int ok = rc == 0 && same_as_want(y, &f.want) && y->data == f.in.data;
            ox_val_clear(&ax);
            fixture_close(&f);
            CHECK(ok);
            continue;
        }
        int rc = run(&f);
        const ox_val *y = ox_session_value(f.s, "y");
        int ok = rc == 0 && same_as_want(y, &f.want) && y->data == f.in.data;
        fixture_close(&f);
        CHECK(ok);
    }
}

TEST(test_onnx_shape__repeat_runs_reuse_buffers)
{
    /* numeric: the second run writes into the first run's buffer */
    fixture f;
    CHECK(fixture_open(&f, "transpose_3d_021_f32") == 0);
    CHECK(run(&f) == 0);
    const ox_val *y = ox_session_value(f.s, "y");
    void *first = y->data;
    int ok = same_as_want(y, &f.want);
    ok = ok && run(&f) == 0 && y->data == first && same_as_want(y, &f.want);
    fixture_close(&f);
    CHECK(ok);
    /* strings: each run frees the previous strings and owns new copies */
    const char *str[] = {"transpose_string", "concat_string",      "gather_string",
                         "slice_string",     "expand_string",      "identity_string",
                         "reshape_string",   "pad_string_constant"};
    for (size_t k = 0; k < sizeof str / sizeof str[0]; k++) {
        CHECK(fixture_open(&f, str[k]) == 0);
        int good = 1;
        for (int rep = 0; rep < 3 && good; rep++) {
            ckpt_error err;
            ckpt_error_clear(&err);
            /* bind every input the case has */
            ox_val extra[7];
            const ox_val *ip[8] = {&f.in};
            int nin = 1;
            for (int i = 1; i < 8; i++) {
                char p[512];
                snprintf(p, sizeof p, CASES "test_%s/test_data_set_0/input_%d.pb", str[k], i);
                if (read_pb(p, &extra[i - 1]) < 0)
                    break;
                ip[nin++] = &extra[i - 1];
            }
            good = ox_session_run_vals(f.s, ip, nin, &err) == 0 &&
                   same_as_want(ox_session_value(f.s, "y"), &f.want);
            for (int i = 1; i < nin; i++)
                ox_val_clear(&extra[i - 1]);
        }
        fixture_close(&f);
        if (!good)
            fprintf(stderr, "case %s\n", str[k]);
        CHECK(good);
    }
}

/* Load BAD<name>.onnx, run it on `inputs`, expect error `code` naming `node`. */
static int expect_error(const char *name, const ox_val *const *inputs, int n, int code,
                        const char *node)
{
    char p[512];
    snprintf(p, sizeof p, BAD "%s.onnx", name);
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(p, NULL, &err);
    if (!m) {
        fprintf(stderr, "%s: load: %s\n", name, err.msg);
        return 0;
    }
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
    int rc = s ? ox_session_run_vals(s, inputs, n, &err) : err.code;
    int ok = rc == code && strstr(err.msg, node) != NULL;
    if (!ok)
        fprintf(stderr, "%s: rc %d (want %d): %s\n", name, rc, code, err.msg);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
    return ok;
}

static ox_val tensor(int dtype, int rank, const int64_t *dims, void *data)
{
    ox_val v;
    memset(&v, 0, sizeof v);
    v.kind = OX_KIND_TENSOR;
    v.dtype = dtype;
    v.rank = rank;
    for (int i = 0; i < rank; i++)
        v.dims[i] = dims[i];
    v.numel = ox_numel(rank, dims);
    v.data = data;
    return v;
}

TEST(test_onnx_shape__hostile_arguments_name_the_node)
{
    float xf[12] = {0};
    /* an omitted output 0 is refused when the session is created */
    int64_t d23[2] = {2, 3};
    ox_val x23 = tensor(OX_FLOAT, 2, d23, xf);
    const ox_val *a1[1] = {&x23};
    CHECK(expect_error("omitted_output", a1, 1, CKPT_E_ARG, "t0"));
    /* Gather index past the axis */
    int64_t d52[2] = {5, 2}, d1[1] = {1}, idx[1] = {7};
    ox_val x52 = tensor(OX_FLOAT, 2, d52, xf), i1 = tensor(OX_INT64, 1, d1, idx);
    const ox_val *a2[2] = {&x52, &i1};
    CHECK(expect_error("gather_index", a2, 2, CKPT_E_SHAPE, "g0"));
    idx[0] = -6;
    CHECK(expect_error("gather_index", a2, 2, CKPT_E_SHAPE, "g0"));
    /* Reshape with two -1 */
    int64_t d6[1] = {6}, d2[1] = {2}, shp[2] = {-1, -1};
    ox_val x6 = tensor(OX_FLOAT, 1, d6, xf), s2 = tensor(OX_INT64, 1, d2, shp);
    const ox_val *a3[2] = {&x6, &s2};
    CHECK(expect_error("reshape_two_infer", a3, 2, CKPT_E_SHAPE, "r0"));
    /* Range whose span overflows int64 */
    int64_t lo = INT64_MIN, hi = INT64_MAX, step = 1;
    ox_val ra = tensor(OX_INT64, 0, NULL, &lo), rb = tensor(OX_INT64, 0, NULL, &hi),
           rd = tensor(OX_INT64, 0, NULL, &step);
    const ox_val *a4[3] = {&ra, &rb, &rd};
    CHECK(expect_error("range_overflow", a4, 3, CKPT_E_LIMIT, "rg"));
    /* Pad by 2^60 */
    int64_t pads[2] = {INT64_C(1) << 60, 0};
    ox_val x2 = tensor(OX_FLOAT, 1, d2, xf), p2 = tensor(OX_INT64, 1, d2, pads);
    const ox_val *a5[2] = {&x2, &p2};
    CHECK(expect_error("pad_huge", a5, 2, CKPT_E_LIMIT, "p0"));
    /* Tile whose output dim overflows */
    int64_t reps[2] = {INT64_MAX / 2 + 1, 1};
    ox_val r2 = tensor(OX_INT64, 1, d2, reps);
    const ox_val *a6[2] = {&x23, &r2};
    CHECK(expect_error("tile_overflow", a6, 2, CKPT_E_LIMIT, "t1"));
}

TEST_MAIN()
