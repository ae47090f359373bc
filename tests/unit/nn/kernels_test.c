/* tests/unit/nn/kernels_test.c - every forward kernel against values torch
 * 1.13 produced (tests/fixtures/nn/kernels.pt, made by gen_nn_fixtures.py),
 * plus the dropout mask statistics and the generator.
 *
 * Closeness: max |c - t| / max(max |t|, 1e-6) over each output tensor must be
 * <= 1e-5 (t: torch's value, c: ours). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/nn.h"
#include "ckpt/torch.h"
#include "ops/kernels.h"
#include "util/test.h"

#define FIXTURE "tests/fixtures/nn/kernels.pt"
#define TOL 1e-5

static ckpt_doc *g_doc;

static const ckpt_obj *fixture_case(const char *name)
{
    if (!g_doc) {
        ckpt_error err = {0};
        g_doc = ckpt_load(FIXTURE, NULL, &err);
        if (!g_doc) {
            char b[512];
            fprintf(stderr, "cannot load %s: %s\n", FIXTURE,
                    ckpt_error_format(&err, b, sizeof b));
            return NULL;
        }
    }
    return ckpt_dict_get(ckpt_doc_root(g_doc), name);
}

/* float32 data of c[key] (NULL when absent); shape into *shape (when non-NULL) */
static const float *tensor(const ckpt_obj *c, const char *key, const int64_t **shape, int64_t *n)
{
    const ckpt_obj *t = c ? ckpt_dict_get(c, key) : NULL;
    ckpt_tensor_info ti;
    if (!t || ckpt_tensor_get_info(t, &ti) != 0 || !ti.contiguous)
        return NULL;
    if (shape)
        *shape = ti.shape;
    if (n)
        *n = ti.numel;
    return ckpt_tensor_data(t);
}

static int64_t opt(const ckpt_obj *c, size_t i)
{
    return ckpt_obj_int(ckpt_obj_item(ckpt_dict_get(c, "opts"), i));
}

static double rel_diff(const float *a, const float *b, int64_t n)
{
    double md = 0.0, mb = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > md || d != d)
            md = d != d ? HUGE_VAL : d;
        if (fabs((double)b[i]) > mb)
            mb = fabs((double)b[i]);
    }
    return md / (mb > 1e-6 ? mb : 1e-6);
}

#define CHECK_CLOSE(got, want, n)                                                                \
    do {                                                                                         \
        double r_ = rel_diff((got), (want), (n));                                                \
        if (!(r_ <= TOL)) {                                                                      \
            fprintf(stderr, "%s:%d: relative difference %.3g > %.0e\n", __FILE__, __LINE__, r_,  \
                    TOL);                                                                        \
            test_failures++;                                                                     \
            free(buf_);                                                                          \
            return;                                                                              \
        }                                                                                        \
    } while (0)

/* --------------------------------------------------------------- conv2d */

static void run_conv2d(const char *name)
{
    const ckpt_obj *c = fixture_case(name);
    float *buf_ = NULL;
    CHECK(c);
    const int64_t *xs = NULL, *ws = NULL, *ys = NULL;
    int64_t ny = 0;
    const float *x = tensor(c, "input", &xs, NULL), *w = tensor(c, "weight", &ws, NULL);
    const float *y = tensor(c, "output", &ys, &ny), *b = tensor(c, "bias", NULL, NULL);
    CHECK(x && w && y);
    ckpt_nn_conv2d_dims d = {xs[0],     xs[1],     xs[2],     xs[3],     ws[0],     ws[2],
                             ws[3],     opt(c, 0), opt(c, 1), opt(c, 2), opt(c, 3), opt(c, 4),
                             opt(c, 5), opt(c, 6), 0,         0};
    CHECK(ckpt_nn_conv2d_out_size(&d));
    CHECK(d.oh == ys[2] && d.ow == ys[3]);
    buf_ = malloc(((size_t)ny + ckpt_nn_conv2d_ws(&d) + 1) * sizeof(float));
    CHECK(buf_);
    ckpt_nn_conv2d_forward(buf_, x, w, b, buf_ + ny, &d);
    CHECK_CLOSE(buf_, y, ny);
    free(buf_);
}

TEST(test_nn_kernels__conv2d_default)
{
    run_conv2d("conv2d_default");
}
TEST(test_nn_kernels__conv2d_stride2)
{
    run_conv2d("conv2d_stride2");
}
TEST(test_nn_kernels__conv2d_stride_asym)
{
    run_conv2d("conv2d_stride_asym");
}
TEST(test_nn_kernels__conv2d_padding)
{
    run_conv2d("conv2d_padding");
}
TEST(test_nn_kernels__conv2d_dilation)
{
    run_conv2d("conv2d_dilation");
}
TEST(test_nn_kernels__conv2d_groups)
{
    run_conv2d("conv2d_groups");
}
TEST(test_nn_kernels__conv2d_depthwise)
{
    run_conv2d("conv2d_depthwise");
}
TEST(test_nn_kernels__conv2d_nobias)
{
    run_conv2d("conv2d_nobias");
}
TEST(test_nn_kernels__conv2d_pointwise)
{
    run_conv2d("conv2d_pointwise");
}
TEST(test_nn_kernels__conv2d_all)
{
    run_conv2d("conv2d_all");
}

TEST(test_nn_kernels__conv1d_all)
{
    const ckpt_obj *c = fixture_case("conv1d_all");
    float *buf_ = NULL;
    CHECK(c);
    const int64_t *xs = NULL, *ws = NULL, *ys = NULL;
    int64_t ny = 0;
    const float *x = tensor(c, "input", &xs, NULL), *w = tensor(c, "weight", &ws, NULL);
    const float *y = tensor(c, "output", &ys, &ny), *b = tensor(c, "bias", NULL, NULL);
    CHECK(x && w && y && b);
    /* Conv1d is Conv2d over (B,C,1,L) with a (1,K) kernel */
    ckpt_nn_conv2d_dims d = {xs[0],     xs[1], 1,         xs[2], ws[0],     1,         ws[2], 1,
                             opt(c, 0), 0,     opt(c, 1), 1,     opt(c, 2), opt(c, 3), 0,     0};
    CHECK(ckpt_nn_conv2d_out_size(&d) && d.oh == 1 && d.ow == ys[2]);
    buf_ = malloc(((size_t)ny + ckpt_nn_conv2d_ws(&d) + 1) * sizeof(float));
    CHECK(buf_);
    ckpt_nn_conv2d_forward(buf_, x, w, b, buf_ + ny, &d);
    CHECK_CLOSE(buf_, y, ny);
    free(buf_);
}

static void run_convt(const char *name)
{
    const ckpt_obj *c = fixture_case(name);
    float *buf_ = NULL;
    CHECK(c);
    const int64_t *xs = NULL, *ws = NULL, *ys = NULL;
    int64_t ny = 0;
    const float *x = tensor(c, "input", &xs, NULL), *w = tensor(c, "weight", &ws, NULL);
    const float *y = tensor(c, "output", &ys, &ny), *b = tensor(c, "bias", NULL, NULL);
    CHECK(x && w && y);
    int64_t g = opt(c, 8);
    ckpt_nn_conv_transpose2d_dims d = {xs[0],     xs[1],     xs[2],     xs[3],     ws[1] * g,
                                       ws[2],     ws[3],     opt(c, 0), opt(c, 1), opt(c, 2),
                                       opt(c, 3), opt(c, 4), opt(c, 5), opt(c, 6), opt(c, 7),
                                       g,         0,         0};
    CHECK(ckpt_nn_conv_transpose2d_out_size(&d) && d.oh == ys[2] && d.ow == ys[3]);
    buf_ = malloc(((size_t)ny + ckpt_nn_conv_transpose2d_ws(&d)) * sizeof(float));
    CHECK(buf_);
    ckpt_nn_conv_transpose2d_forward(buf_, x, w, b, buf_ + ny, &d);
    CHECK_CLOSE(buf_, y, ny);
    free(buf_);
}

TEST(test_nn_kernels__convt2d_default)
{
    run_convt("convt2d_default");
}
TEST(test_nn_kernels__convt2d_all)
{
    run_convt("convt2d_all");
}
TEST(test_nn_kernels__convt2d_nobias)
{
    run_convt("convt2d_nobias");
}

static void run_linear(const char *name)
{
    const ckpt_obj *c = fixture_case(name);
    float *buf_ = NULL;
    CHECK(c);
    const int64_t *xs = NULL, *ws = NULL;
    int64_t ny = 0;
    const float *x = tensor(c, "input", &xs, NULL), *w = tensor(c, "weight", &ws, NULL);
    const float *y = tensor(c, "output", NULL, &ny), *b = tensor(c, "bias", NULL, NULL);
    CHECK(x && w && y);
    buf_ = malloc((size_t)ny * sizeof(float));
    CHECK(buf_);
    ckpt_nn_linear_forward(buf_, x, w, b, xs[0], xs[1], ws[0]);
    CHECK_CLOSE(buf_, y, ny);
    free(buf_);
}

TEST(test_nn_kernels__linear_bias)
{
    run_linear("linear_bias");
}
TEST(test_nn_kernels__linear_nobias)
{
    run_linear("linear_nobias");
}

/* ---------------------------------------------------------------- norms */

TEST(test_nn_kernels__batchnorm_eval)
{
    const ckpt_obj *c = fixture_case("batchnorm_eval");
    float *buf_ = NULL;
    CHECK(c);
    const int64_t *xs = NULL;
    int64_t ny = 0;
    const float *x = tensor(c, "input", &xs, NULL), *y = tensor(c, "output", NULL, &ny);
    const float *rm = tensor(c, "running_mean", NULL, NULL);
    const float *rv = tensor(c, "running_var", NULL, NULL);
    const float *w = tensor(c, "weight", NULL, NULL), *b = tensor(c, "bias", NULL, NULL);
    CHECK(x && y && rm && rv && w && b);
    buf_ = malloc((size_t)ny * sizeof(float));
    CHECK(buf_);
    ckpt_nn_batchnorm_forward(buf_, x, rm, rv, w, b, xs[0], xs[1], xs[2] * xs[3], 1e-5);
    CHECK_CLOSE(buf_, y, ny);
    free(buf_);
}

TEST(test_nn_kernels__batchnorm_train)
{
    const ckpt_obj *c = fixture_case("batchnorm_train");
    float *buf_ = NULL;
    CHECK(c);
    const int64_t *xs = NULL;
    int64_t ny = 0;
    const float *x = tensor(c, "input", &xs, NULL), *y = tensor(c, "output", NULL, &ny);
    const float *bm = tensor(c, "batch_mean", NULL, NULL);
    const float *bv = tensor(c, "batch_var", NULL, NULL);
    const float *w = tensor(c, "weight", NULL, NULL), *b = tensor(c, "bias", NULL, NULL);
    CHECK(x && y && bm && bv && w && b);
    buf_ = malloc(((size_t)ny + 6) * sizeof(float));
    CHECK(buf_);
    float *mean = buf_ + ny, *var = mean + 3;
    ckpt_nn_batchnorm_stats(mean, var, x, xs[0], xs[1], xs[2] * xs[3]);
    CHECK_CLOSE(mean, bm, 3);
    CHECK_CLOSE(var, bv, 3);
    ckpt_nn_batchnorm_forward(buf_, x, mean, var, w, b, xs[0], xs[1], xs[2] * xs[3], 1e-5);
    CHECK_CLOSE(buf_, y, ny);
    free(buf_);
}

TEST(test_nn_kernels__layernorm)
{
    const ckpt_obj *c = fixture_case("layernorm");
    float *buf_ = NULL;
    CHECK(c);
    int64_t ny = 0;
    const float *x = tensor(c, "input", NULL, NULL), *y = tensor(c, "output", NULL, &ny);
    const float *w = tensor(c, "weight", NULL, NULL), *b = tensor(c, "bias", NULL, NULL);
    CHECK(x && y && w && b);
    buf_ = malloc((size_t)ny * sizeof(float));
    CHECK(buf_);
    ckpt_nn_layernorm_forward(buf_, x, w, b, ny / 10, 10, 1e-5);
    CHECK_CLOSE(buf_, y, ny);
    /* no affine: y * w + b undone */
    ckpt_nn_layernorm_forward(buf_, x, NULL, NULL, ny / 10, 10, 1e-5);
    for (int64_t i = 0; i < ny; i++)
        buf_[i] = buf_[i] * w[i % 10] + b[i % 10];
    CHECK_CLOSE(buf_, y, ny);
    free(buf_);
}

TEST(test_nn_kernels__groupnorm)
{
    const ckpt_obj *c = fixture_case("groupnorm");
    float *buf_ = NULL;
    CHECK(c);
    const int64_t *xs = NULL;
    int64_t ny = 0;
    const float *x = tensor(c, "input", &xs, NULL), *y = tensor(c, "output", NULL, &ny);
    const float *w = tensor(c, "weight", NULL, NULL), *b = tensor(c, "bias", NULL, NULL);
    CHECK(x && y && w && b);
    buf_ = malloc((size_t)ny * sizeof(float));
    CHECK(buf_);
    ckpt_nn_groupnorm_forward(buf_, x, w, b, xs[0], xs[1], xs[2] * xs[3], opt(c, 0), 1e-5);
    CHECK_CLOSE(buf_, y, ny);
    free(buf_);
}

TEST(test_nn_kernels__embedding)
{
    const ckpt_obj *c = fixture_case("embedding");
    float *buf_ = NULL;
    CHECK(c);
    const int64_t *ts = NULL;
    int64_t ny = 0, ni = 0;
    const float *tbl = tensor(c, "weight", &ts, NULL), *y = tensor(c, "output", NULL, &ny);
    const int64_t *idx = (const int64_t *)(const void *)tensor(c, "index", NULL, &ni);
    CHECK(tbl && y && idx);
    buf_ = malloc((size_t)ny * sizeof(float));
    CHECK(buf_);
    CHECK_EQ_INT(ckpt_nn_embedding_forward_raw(buf_, tbl, idx, ni, ts[0], ts[1]), 0);
    CHECK_CLOSE(buf_, y, ny);
    int64_t bad = ts[0];
    CHECK_EQ_INT(ckpt_nn_embedding_forward_raw(buf_, tbl, &bad, 1, ts[0], ts[1]), -1);
    free(buf_);
}

/* ----------------------------------------------------------- activations */

typedef void (*elem_fn)(float *, const float *, size_t);

static void run_elem(const char *name, elem_fn fn)
{
    const ckpt_obj *c = fixture_case(name);
    float *buf_ = NULL;
    CHECK(c);
    int64_t ny = 0;
    const float *x = tensor(c, "input", NULL, NULL), *y = tensor(c, "output", NULL, &ny);
    CHECK(x && y);
    buf_ = malloc((size_t)ny * sizeof(float));
    CHECK(buf_);
    fn(buf_, x, (size_t)ny);
    CHECK_CLOSE(buf_, y, ny);
    memcpy(buf_, x, (size_t)ny * sizeof(float)); /* in place */
    fn(buf_, buf_, (size_t)ny);
    CHECK_CLOSE(buf_, y, ny);
    free(buf_);
}

TEST(test_nn_kernels__relu)
{
    run_elem("relu", ckpt_nn_relu_forward);
}
TEST(test_nn_kernels__gelu)
{
    run_elem("gelu", ckpt_nn_gelu_forward);
}
TEST(test_nn_kernels__gelu_tanh)
{
    run_elem("gelu_tanh", ckpt_nn_gelu_tanh_forward);
}
TEST(test_nn_kernels__silu)
{
    run_elem("silu", ckpt_nn_silu_forward);
}
TEST(test_nn_kernels__tanh)
{
    run_elem("tanh", ckpt_nn_tanh_forward);
}
TEST(test_nn_kernels__sigmoid)
{
    run_elem("sigmoid", ckpt_nn_sigmoid_forward);
}

static void run_softmax(const char *name, bool logv)
{
    const ckpt_obj *c = fixture_case(name);
    float *buf_ = NULL;
    CHECK(c);
    const int64_t *xs = NULL;
    int64_t ny = 0;
    const float *x = tensor(c, "input", &xs, NULL), *y = tensor(c, "output", NULL, &ny);
    CHECK(x && y);
    int64_t dim = opt(c, 0), outer = 1, inner = 1;
    for (int64_t i = 0; i < dim; i++)
        outer *= xs[i];
    for (int64_t i = dim + 1; i < 3; i++)
        inner *= xs[i];
    buf_ = malloc((size_t)ny * sizeof(float));
    CHECK(buf_);
    if (logv)
        ckpt_nn_logsoftmax_forward(buf_, x, outer, xs[dim], inner);
    else
        ckpt_nn_softmax_forward(buf_, x, outer, xs[dim], inner);
    CHECK_CLOSE(buf_, y, ny);
    free(buf_);
}

TEST(test_nn_kernels__softmax_dim1)
{
    run_softmax("softmax_dim1", false);
}
TEST(test_nn_kernels__softmax_dim2)
{
    run_softmax("softmax_dim2", false);
}
TEST(test_nn_kernels__logsoftmax_dim1)
{
    run_softmax("logsoftmax_dim1", true);
}

/* --------------------------------------------------------------- pooling */

static void run_pool(const char *name, int kind)
{
    const ckpt_obj *c = fixture_case(name);
    float *buf_ = NULL;
    CHECK(c);
    const int64_t *xs = NULL, *ys = NULL;
    int64_t ny = 0;
    const float *x = tensor(c, "input", &xs, NULL), *y = tensor(c, "output", &ys, &ny);
    CHECK(x && y);
    buf_ = malloc((size_t)ny * sizeof(float));
    CHECK(buf_);
    int64_t bc = xs[0] * xs[1];
    if (kind == 0)
        ckpt_nn_maxpool2d_forward(buf_, x, bc, xs[2], xs[3], opt(c, 0), opt(c, 1), opt(c, 2),
                                  ys[2], ys[3]);
    else if (kind == 1)
        ckpt_nn_avgpool2d_forward(buf_, x, bc, xs[2], xs[3], opt(c, 0), opt(c, 1), opt(c, 2),
                                  ys[2], ys[3]);
    else
        ckpt_nn_adaptive_avgpool2d_forward(buf_, x, bc, xs[2], xs[3], opt(c, 0), opt(c, 1));
    CHECK_CLOSE(buf_, y, ny);
    free(buf_);
}

TEST(test_nn_kernels__maxpool2d)
{
    run_pool("maxpool2d", 0);
}
TEST(test_nn_kernels__maxpool2d_plain)
{
    run_pool("maxpool2d_plain", 0);
}
TEST(test_nn_kernels__avgpool2d)
{
    run_pool("avgpool2d", 1);
}
TEST(test_nn_kernels__avgpool2d_plain)
{
    run_pool("avgpool2d_plain", 1);
}
TEST(test_nn_kernels__adaptive_avgpool2d)
{
    run_pool("adaptive_avgpool2d", 2);
}

TEST(test_nn_kernels__attention)
{
    const ckpt_obj *c = fixture_case("attention");
    float *buf_ = NULL;
    CHECK(c);
    const int64_t *qs = NULL, *ks = NULL;
    int64_t ny = 0;
    const float *q = tensor(c, "q", &qs, NULL), *k = tensor(c, "k", &ks, NULL);
    const float *v = tensor(c, "v", NULL, NULL), *y = tensor(c, "output", NULL, &ny);
    CHECK(q && k && v && y);
    buf_ = malloc(((size_t)ny + (size_t)(qs[0] * ks[0])) * sizeof(float));
    CHECK(buf_);
    ckpt_nn_attention_forward(buf_, q, k, v, buf_ + ny, qs[0], ks[0], qs[1], qs[1], ks[1], ks[1],
                              qs[1], 0.0, NULL);
    CHECK_CLOSE(buf_, y, ny);
    free(buf_);
}

/* ------------------------------------------------------- dropout and rng */

/* torch's generator cannot be reproduced, so dropout is checked by its
 * statistics: the kept fraction is 1-p within 5 sigma, kept values are
 * scaled by exactly 1/(1-p), p=0 and rng=NULL are the identity, p=1 zeroes. */
TEST(test_nn_kernels__dropout_statistics)
{
    const size_t n = 200000;
    float *in = malloc(n * sizeof(float)), *out = malloc(n * sizeof(float));
    CHECK(in && out);
    for (size_t i = 0; i < n; i++)
        in[i] = 1.0f + (float)(i % 7);
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 42);
    const double p = 0.3;
    ckpt_nn_dropout_forward(out, in, n, p, &rng);
    size_t kept = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (out[i] != 0.0f) {
            kept++;
            if (out[i] != in[i] * (float)(1.0 / (1.0 - p)))
                bad++;
        }
    }
    double frac = (double)kept / (double)n, sigma = sqrt(p * (1 - p) / (double)n);
    int ok = fabs(frac - (1 - p)) < 5 * sigma && bad == 0;
    ckpt_nn_dropout_forward(out, in, n, 0.0, &rng);
    ok = ok && memcmp(out, in, n * sizeof(float)) == 0;
    ckpt_nn_dropout_forward(out, in, n, 0.5, NULL);
    ok = ok && memcmp(out, in, n * sizeof(float)) == 0;
    ckpt_nn_dropout_forward(out, in, n, 1.0, &rng);
    for (size_t i = 0; i < n; i++)
        ok = ok && out[i] == 0.0f;
    free(in);
    free(out);
    CHECK(ok);
}

TEST(test_nn_kernels__rng)
{
    ckpt_rng a, b;
    ckpt_rng_seed(&a, 7);
    ckpt_rng_seed(&b, 7);
    double s = 0, s2 = 0, ns = 0, ns2 = 0;
    const int n = 100000;
    for (int i = 0; i < n; i++) {
        double u = ckpt_rng_uniform(&a);
        CHECK(u == ckpt_rng_uniform(&b));
        CHECK(u >= 0.0 && u < 1.0);
        s += u;
        s2 += u * u;
        double z = ckpt_rng_normal(&a);
        (void)ckpt_rng_normal(&b);
        ns += z;
        ns2 += z * z;
    }
    CHECK(fabs(s / n - 0.5) < 0.01 && fabs(s2 / n - 1.0 / 3) < 0.01);
    CHECK(fabs(ns / n) < 0.02 && fabs(ns2 / n - 1.0) < 0.03);
    ckpt_rng_seed(&b, 8);
    ckpt_rng_seed(&a, 7);
    CHECK(ckpt_rng_uniform(&a) != ckpt_rng_uniform(&b));
}

TEST(test_nn_kernels__act_resize)
{
    ckpt_error err = {0};
    ckpt_nn_act a = {0};
    int64_t s1[2] = {3, 4}, s2[1] = {5}, bad[1] = {-1};
    CHECK_OK(ckpt_nn_act_resize(&a, 2, s1, &err), &err);
    CHECK(a.data && a.cap >= 12 && ckpt_nn_act_numel(&a) == 12);
    float *p = a.data;
    CHECK_OK(ckpt_nn_act_resize(&a, 1, s2, &err), &err);
    CHECK(a.data == p && ckpt_nn_act_numel(&a) == 5); /* shrinking keeps the buffer */
    CHECK(ckpt_nn_act_resize(&a, 1, bad, &err) == CKPT_E_ARG);
    CHECK(ckpt_nn_act_resize(&a, CKPT_NN_MAX_DIMS + 1, s1, &err) == CKPT_E_ARG);
    ckpt_nn_act_free(&a);
    CHECK(a.data == NULL && a.cap == 0);
}

__attribute__((destructor)) static void free_fixture(void)
{
    ckpt_doc_free(g_doc);
}

TEST_MAIN()
