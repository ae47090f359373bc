/*
 * tests/jit/lite/lite_test.c - the lite (mobile) bytecode reader and
 * interpreter (src/jit/lite_*.c) on fixtures written by
 * tools/gen/make_jit_lite.py with torch 1.13: models saved with
 * _save_for_lite_interpreter (bytecode v8) and backported to v4-v7, their
 * inputs and the outputs torch's lite interpreter gives; hostile bytecode.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/formats.h"
#include "ckpt/jit.h"
#include "jit/lite_internal.h"
#include "util/test.h"

#define FIX "tests/fixtures/jit/lite/"
#define REAL "../shared/fixtures/real/torchscript_lite"

/* A model holding only the bytecode (no module tree): for the reader and
 * for programs whose `self` carries nothing. */
static ckpt_jit_model *bare(const char *path, ckpt_error *err)
{
    ckpt_jit_model *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->path = strdup(path);
    m->format = CKPT_JIT_LITE;
    m->listed = true;
    if (jit_read_lite(m, err) < 0) {
        ckpt_jit_free(m);
        return NULL;
    }
    return m;
}

TEST(test_jit_lite__read_versions)
{
    static const struct {
        const char *name;
        int64_t version;
        const char *fn;
    } cases[] = {
        {"mlp", 8, "__torch__.MLP.forward"},      {"mlp_v4", 4, "__torch__.MLP.forward"},
        {"mlp_v5", 5, "__torch__.MLP.forward"},   {"mlp_v6", 6, "__torch__.MLP.forward"},
        {"mlp_v7", 7, "__torch__.MLP.forward"},   {"cnn", 8, "__torch__.CNN.forward"},
        {"cnn_v5", 5, "__torch__.CNN.forward"},   {"flow", 8, "__torch__.Flow.forward"},
        {"flow_v5", 5, "__torch__.Flow.forward"}, {"mbv2", 8, "__torch__.Block.forward"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, FIX "%s.ptl", cases[i].name);
        ckpt_error err = {0};
        ckpt_jit_model *m = bare(path, &err);
        if (!m)
            fprintf(stderr, "%s: %s\n", path, err.msg);
        CHECK(m != NULL);
        const lite_prog *P = m->lite;
        CHECK_EQ_INT(P->version, cases[i].version);
        const lite_fn *f = lite_find_fn(P, cases[i].fn);
        CHECK(f != NULL);
        CHECK(f->n_ins > 0 && f->n_ops > 0 && f->reg_size > 0);
        /* every operator's argument count is known: from the file (v6+) or the schema table */
        for (size_t k = 0; k < f->n_ops; k++) {
            if (f->ops[k].n_args < 0 && !f->ops[k].argspec)
                fprintf(stderr, "%s: no argument count for %s\n", path, f->ops[k].full);
            CHECK(f->ops[k].n_args >= 0 || f->ops[k].argspec != NULL);
        }
        CHECK(f->has_schema);
        CHECK_STR(f->arg_names[0], "self");
        ckpt_jit_free(m);
    }
}

/* ints.ptl: loops, ifs, int arithmetic, a list, a dict, format: no tensor op. */
TEST(test_jit_lite__ints_program)
{
    ckpt_error err = {0};
    ckpt_jit_model *m = bare(FIX "ints.ptl", &err);
    CHECK(m != NULL);
    m->root = jv_obj_new(jit_class_get(m, "__torch__.Ints", &err));
    CHECK(m->root != NULL);
    ckpt_doc *ref = ckpt_numpy_load(FIX "ints.out.npy", NULL, &err);
    CHECK(ref != NULL);
    const int64_t *want = ckpt_tensor_data(ckpt_doc_root(ref));
    ckpt_jit_value in = {.kind = CKPT_JIT_V_INT, .i = want[0]};
    const ckpt_jit_value *out = NULL;
    size_t n_out = 0;
    int rc = ckpt_jit_run(m, NULL, &in, 1, &out, &n_out, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    CHECK_EQ_INT(rc, 0);
    CHECK_EQ_INT(n_out, 3);
    CHECK_EQ_INT(out[0].kind, CKPT_JIT_V_INT);
    CHECK_EQ_INT(out[0].i, want[1]);
    CHECK_EQ_INT(out[1].i, want[2]);
    size_t len = 0;
    char *txt = (char *)test_read_file(FIX "ints.out.txt", &len);
    CHECK(txt && len > 0);
    txt[len - 1] = 0; /* the newline */
    CHECK_EQ_INT(out[2].kind, CKPT_JIT_V_STR);
    CHECK_STR(out[2].s, txt);
    free(txt);
    ckpt_doc_free(ref);
    ckpt_jit_free(m);
}

static void expect_read_error(const char *name, int code, const char *needle)
{
    char path[256];
    snprintf(path, sizeof path, FIX "hostile_%s.ptl", name);
    ckpt_error err = {0};
    ckpt_jit_model *m = bare(path, &err);
    if (m || err.code != code || !strstr(err.msg, needle))
        fprintf(stderr, "%s: code %d: %s (wanted %d, \"%s\")\n", path, err.code, err.msg, code,
                needle);
    CHECK(m == NULL);
    CHECK_EQ_INT(err.code, code);
    CHECK(strstr(err.msg, needle) != NULL);
}

TEST(test_jit_lite__hostile_read)
{
    expect_read_error("reg", CKPT_E_FORMAT, "LOAD 99");
    expect_read_error("jump", CKPT_E_FORMAT, "JMP -5");
    expect_read_error("op", CKPT_E_FORMAT, "OP 7");
    expect_read_error("opcode", CKPT_E_UNSUPPORTED, "FORK_BOMB");
    char path[] = FIX "hostile_truncated.ptl";
    ckpt_error err = {0};
    ckpt_jit_model *m = bare(path, &err);
    CHECK(m == NULL);
    CHECK(err.code != 0);
}

static int run_x(ckpt_jit_model *m, ckpt_error *err)
{
    float x[8] = {0};
    int64_t shape[2] = {1, 8};
    ckpt_jit_value in = {.kind = CKPT_JIT_V_TENSOR, .dtype = CKPT_F32, .ndim = 2, .data = x};
    memcpy(in.shape, shape, sizeof shape);
    const ckpt_jit_value *out;
    size_t n;
    return ckpt_jit_run(m, NULL, &in, 1, &out, &n, err);
}

TEST(test_jit_lite__hostile_run)
{
    /* JMP 0: in range, never ends; the step limit stops it (started near the limit) */
    ckpt_error err = {0};
    ckpt_jit_model *m = bare(FIX "hostile_loop.ptl", &err);
    CHECK(m != NULL);
    m->root = jv_obj_new(jit_class_get(m, "__torch__.MLP", &err));
    jit_rt *rt = jit_rt_get(m, &err);
    CHECK(rt != NULL);
    rt->steps = JIT_MAX_STEPS - 100000;
    int rc = run_x(m, &err);
    CHECK_EQ_INT(rc, CKPT_E_LIMIT);
    CHECK(strstr(err.msg, "__torch__.MLP.forward:0:") != NULL);
    ckpt_jit_free(m);
    /* DROP on an empty stack */
    ckpt_error err2 = {0};
    m = bare(FIX "hostile_underflow.ptl", &err2);
    CHECK(m != NULL);
    m->root = jv_obj_new(jit_class_get(m, "__torch__.MLP", &err2));
    rc = run_x(m, &err2);
    CHECK_EQ_INT(rc, CKPT_E_FORMAT);
    CHECK(strstr(err2.msg, "empty stack") != NULL);
    ckpt_jit_free(m);
}

/* ---------------------------------------------------------------- whole models */

static int load_npy(const char *path, ckpt_doc **doc, ckpt_tensor_info *ti)
{
    ckpt_error err = {0};
    *doc = ckpt_numpy_load(path, NULL, &err);
    if (!*doc)
        return -1;
    return ckpt_tensor_get_info(ckpt_doc_root(*doc), ti);
}

/* Run NAME.ptl on NAME.in.npy; compare output k with NAME.out<k>.npy. */
static void run_fixture(const char *name, double *maxdiff)
{
    char path[256];
    snprintf(path, sizeof path, FIX "%s.ptl", name);
    ckpt_error err = {0};
    ckpt_jit_model *m = ckpt_jit_load(path, NULL, &err);
    if (!m)
        fprintf(stderr, "%s: %s\n", path, err.msg);
    CHECK(m != NULL);
    CHECK_EQ_INT(ckpt_jit_format(m), CKPT_JIT_LITE);
    snprintf(path, sizeof path, FIX "%s.in.npy", name);
    ckpt_doc *xd;
    ckpt_tensor_info xi;
    CHECK_EQ_INT(load_npy(path, &xd, &xi), 0);
    ckpt_jit_value in = {.kind = CKPT_JIT_V_TENSOR,
                         .dtype = xi.dtype,
                         .ndim = xi.ndim,
                         .data = ckpt_tensor_data(ckpt_doc_root(xd))};
    for (int i = 0; i < xi.ndim; i++)
        in.shape[i] = xi.shape[i];
    const ckpt_jit_value *out = NULL;
    size_t n_out = 0;
    int rc = ckpt_jit_run(m, NULL, &in, 1, &out, &n_out, &err);
    if (rc)
        fprintf(stderr, "%s: %s\n", name, err.msg);
    CHECK_EQ_INT(rc, 0);
    for (size_t k = 0; k < n_out; k++) {
        snprintf(path, sizeof path, FIX "%s.out%zu.npy", name, k);
        ckpt_doc *yd;
        ckpt_tensor_info yi;
        CHECK_EQ_INT(load_npy(path, &yd, &yi), 0);
        const void *want = ckpt_tensor_data(ckpt_doc_root(yd));
        if (out[k].kind == CKPT_JIT_V_INT) {
            CHECK_EQ_INT(yi.numel, 1);
            CHECK_EQ_INT(out[k].i, *(const int64_t *)want);
        } else {
            CHECK_EQ_INT(out[k].kind, CKPT_JIT_V_TENSOR);
            CHECK_EQ_INT(out[k].dtype, CKPT_F32);
            CHECK_EQ_INT(out[k].ndim, yi.ndim);
            for (int d = 0; d < yi.ndim; d++)
                CHECK_EQ_INT(out[k].shape[d], yi.shape[d]);
            const float *a = out[k].data, *b = want;
            for (int64_t e = 0; e < yi.numel; e++) {
                double diff = fabs((double)a[e] - (double)b[e]);
                if (diff > *maxdiff)
                    *maxdiff = diff;
                if (!(diff <= 1e-5 + 1e-5 * fabs((double)b[e]))) {
                    fprintf(stderr, "%s out%zu[%lld]: %g vs torch %g\n", name, k, (long long)e,
                            (double)a[e], (double)b[e]);
                    CHECK(0);
                }
            }
        }
        ckpt_doc_free(yd);
    }
    ckpt_doc_free(xd);
    ckpt_jit_free(m);
}

#define FIXTURE_TEST(tname, fname)                                                               \
    TEST(tname)                                                                                  \
    {                                                                                            \
        double md = 0;                                                                           \
        run_fixture(fname, &md);                                                                 \
        fprintf(stderr, "%s: max |diff| %.3g\n", fname, md);                                     \
    }

FIXTURE_TEST(test_jit_lite__run_mlp, "mlp")
FIXTURE_TEST(test_jit_lite__run_mlp_v4, "mlp_v4")
FIXTURE_TEST(test_jit_lite__run_mlp_v5, "mlp_v5")
FIXTURE_TEST(test_jit_lite__run_mlp_v6, "mlp_v6")
FIXTURE_TEST(test_jit_lite__run_mlp_v7, "mlp_v7")
FIXTURE_TEST(test_jit_lite__run_cnn, "cnn")
FIXTURE_TEST(test_jit_lite__run_cnn_v5, "cnn_v5")
FIXTURE_TEST(test_jit_lite__run_flow, "flow")
FIXTURE_TEST(test_jit_lite__run_flow_v5, "flow_v5")
FIXTURE_TEST(test_jit_lite__run_mbv2, "mbv2")

/* The real .ptl archives: bytecode read (both are version 5). */
TEST(test_jit_lite__real_read)
{
    SKIP_UNLESS_DIR(REAL);
    static const char *files[] = {
        REAL "/pytorch__android-demo-app__ASLRecognition__app__src__main__assets__asl.ptl", REAL
        "/pytorch__android-demo-app__ASLRecognition__app__src__main__assets__asl@4b717026.ptl"};
    for (size_t i = 0; i < 2; i++) {
        ckpt_error err = {0};
        ckpt_jit_model *m = bare(files[i], &err);
        if (!m)
            fprintf(stderr, "%s: %s\n", files[i], err.msg);
        CHECK(m != NULL);
        const lite_prog *P = m->lite;
        CHECK_EQ_INT(P->version, 5);
        CHECK_EQ_INT(P->n_fns, 1);
        for (size_t k = 0; k < P->fns[0].n_ops; k++)
            CHECK(P->fns[0].ops[k].argspec != NULL);
        ckpt_jit_free(m);
    }
}

/* jit_lite_test --run FILE.ptl IN.npy OUTDIR: run forward on IN, write
 * OUTDIR/output_<k>.npy (for real_vs_torch.py). */
static int run_cmd(const char *ptl, const char *in_npy, const char *outdir)
{
    ckpt_error err = {0};
    ckpt_jit_model *m = ckpt_jit_load(ptl, NULL, &err);
    if (!m) {
        fprintf(stderr, "%s\n", err.msg);
        return 2;
    }
    ckpt_doc *xd;
    ckpt_tensor_info xi;
    if (load_npy(in_npy, &xd, &xi) != 0) {
        ckpt_jit_free(m);
        return 2;
    }
    ckpt_jit_value in = {.kind = CKPT_JIT_V_TENSOR,
                         .dtype = xi.dtype,
                         .ndim = xi.ndim,
                         .data = ckpt_tensor_data(ckpt_doc_root(xd))};
    for (int i = 0; i < xi.ndim; i++)
        in.shape[i] = xi.shape[i];
    const ckpt_jit_value *out = NULL;
    size_t n_out = 0;
    int rc = ckpt_jit_run(m, NULL, &in, 1, &out, &n_out, &err);
    if (rc)
        fprintf(stderr, "%s\n", err.msg);
    for (size_t k = 0; rc == 0 && k < n_out; k++) {
        if (out[k].kind != CKPT_JIT_V_TENSOR)
            continue;
        ckpt_doc *od = ckpt_doc_new(NULL, &err);
        ckpt_obj *t = od ? ckpt_tensor_new_copy(od, out[k].dtype, out[k].ndim, out[k].shape,
                                                out[k].data, &err)
                         : NULL;
        char path[512];
        snprintf(path, sizeof path, "%s/output_%zu.npy", outdir, k);
        if (!t || ckpt_npy_save(path, t, &err) < 0) {
            fprintf(stderr, "%s\n", err.msg);
            rc = -1;
        }
        ckpt_doc_free(od);
    }
    ckpt_doc_free(xd);
    ckpt_jit_free(m);
    return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "--run") == 0)
        return run_cmd(argv[2], argv[3], argv[4]);
    return test_main(argc, argv);
}
