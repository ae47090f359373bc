/* tests/unit/nn/backward_test.c - every backward kernel and loss against the
 * gradients torch 1.13 autograd produced (tests/fixtures/nn_backward/backward.pt,
 * made by tools/gen/make_backward_fixtures.py), and against finite differences.
 *
 * Closeness to torch: max |c - t| / max(max |t|, 1e-6) over each gradient tensor
 * must be <= 1e-5 (t: torch's float32 value, c: ours).
 *
 * Finite differences: each case also has a double-precision forward written here
 * (naive loops), and the objective L = sum(dout * forward(x, w, b)) (or dloss * loss)
 * is differentiated by central differences, step 1e-6, w.r.t. every input, weight
 * and bias entry at the fixture's values.  Our float32 gradient must match within
 * FD_TOL = 1e-5 relative (same measure).  Set CKPT_TEST_VERBOSE=1 to print the
 * measured differences. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/nn.h"
#include "ckpt/torch.h"
#include "ops/backward.h"
#include "ops/kernels.h"
#include "util/test.h"

#define FIXTURE "tests/fixtures/nn_backward/backward.pt"
#define TOL 1e-5
#define FD_TOL 1e-5
#define FD_STEP 1e-6

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
    const ckpt_obj *c = ckpt_dict_get(ckpt_doc_root(g_doc), name);
    if (!c)
        fprintf(stderr, "fixture case %s missing\n", name);
    return c;
}

/* data of c[key] (NULL when absent); shape and element count when asked */
static const void *tensor(const ckpt_obj *c, const char *key, const int64_t **shape, int *ndim,
                          int64_t *n)
{
    const ckpt_obj *t = c ? ckpt_dict_get(c, key) : NULL;
    ckpt_tensor_info ti;
    if (!t || ckpt_tensor_get_info(t, &ti) != 0 || !ti.contiguous)
        return NULL;
    if (shape)
        *shape = ti.shape;
    if (ndim)
        *ndim = ti.ndim;
    if (n)
        *n = ti.numel;
    return ckpt_tensor_data(t);
}

static const float *ften(const ckpt_obj *c, const char *key, int64_t *n)
{
    return tensor(c, key, NULL, NULL, n);
}

static int64_t opt(const ckpt_obj *c, size_t i)
{
    return ckpt_obj_int(ckpt_obj_item(ckpt_dict_get(c, "opts"), i));
}

static double fopt(const ckpt_obj *c, size_t i)
{
    return ckpt_obj_float(ckpt_obj_item(ckpt_dict_get(c, "fopts"), i));
}

static double rel_diff_fd(const float *got, const double *want, int64_t n)
{
    double md = 0.0, mw = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - want[i]);
        md = d > md || d != d ? (d != d ? HUGE_VAL : d) : md;
        mw = fabs(want[i]) > mw ? fabs(want[i]) : mw;
    }
    return md / (mw > 1e-6 ? mw : 1e-6);
}

static double rel_diff(const float *got, const float *want, int64_t n)
{
    double md = 0.0, mw = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        md = d > md || d != d ? (d != d ? HUGE_VAL : d) : md;
        mw = fabs((double)want[i]) > mw ? fabs((double)want[i]) : mw;
    }
    return md / (mw > 1e-6 ? mw : 1e-6);
}

static int verbose(void)
{
    const char *v = getenv("CKPT_TEST_VERBOSE");
    return v && *v && strcmp(v, "0") != 0;
}

/* one comparison; reports and counts a failure */
static int close_enough(const char *cname, const char *what, double r, double tol)
{
    if (verbose())
        printf("%-28s %-10s rel %.3g\n", cname, what, r);
    if (r <= tol)
        return 1;
    fprintf(stderr, "%s %s: relative difference %.3g > %.0e\n", cname, what, r, tol);
    test_failures++;
    return 0;
}

/* ---------------------------------------------- double-precision forwards */

enum op {
    OP_LINEAR,
    OP_CONV2D,
    OP_BN,
    OP_LN,
    OP_ACT,
    OP_FLATTEN,
    OP_DROPOUT,
    OP_MAXPOOL,
    OP_AVGPOOL,
    OP_ADAPTIVE,
    OP_EMBEDDING,
    OP_CE,
    OP_MSE
};

/* One finite-difference problem: the variables are packed as x, then w, then b. */
typedef struct fd_case {
    int op;
    int act;                /* OP_ACT: a ckpt_act_kind */
    int64_t nx, nw, nb;     /* pack layout */
    int64_t d[8];           /* dimensions, per op */
    ckpt_nn_conv2d_dims cd; /* OP_CONV2D */
    double eps, p, dloss;
    bool flag; /* BN: batch statistics; LN: affine */
    const float *dout;
    const float *aux0, *aux1; /* BN eval: running mean, var */
    const uint8_t *mask;
    const int64_t *idx; /* embedding indices, CE targets */
    double *y;          /* scratch for the forward output */
} fd_case;

static double act_f(int kind, double x)
{
    switch (kind) {
    case CKPT_ACT_RELU: return x > 0.0 ? x : 0.0;
    case CKPT_ACT_GELU: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case CKPT_ACT_GELU_TANH:
        return 0.5 * x * (1.0 + tanh(0.79788456080286535588 * (x + 0.044715 * x * x * x)));
    case CKPT_ACT_SILU: return x / (1.0 + exp(-x));
    case CKPT_ACT_TANH: return tanh(x);
    default: return 1.0 / (1.0 + exp(-x)); /* sigmoid */
    }
}

/* y (M) = forward of the packed variables v; returns L = sum(dout * y), or the loss */
static double objective(const fd_case *f, const double *v)
{
    const double *x = v, *w = v + f->nx, *b = f->nb ? v + f->nx + f->nw : NULL;
    double *y = f->y;
    int64_t m = 0;
    switch (f->op) {
    case OP_LINEAR: { /* d: n, ic, oc */
        int64_t n = f->d[0], ic = f->d[1], oc = f->d[2];
        for (int64_t i = 0; i < n; i++)
            for (int64_t o = 0; o < oc; o++) {
                double s = b ? b[o] : 0.0;
                for (int64_t k = 0; k < ic; k++)
                    s += x[i * ic + k] * w[o * ic + k];
                y[m++] = s;
            }
        break;
    }
    case OP_CONV2D: {
        const ckpt_nn_conv2d_dims *d = &f->cd;
        int64_t cg = d->c / d->g, ocg = d->oc / d->g;
        for (int64_t bi = 0; bi < d->b; bi++)
            for (int64_t o = 0; o < d->oc; o++)
                for (int64_t oy = 0; oy < d->oh; oy++)
                    for (int64_t ox = 0; ox < d->ow; ox++) {
                        double s = b ? b[o] : 0.0;
                        for (int64_t ci = 0; ci < cg; ci++)
                            for (int64_t ky = 0; ky < d->kh; ky++)
                                for (int64_t kx = 0; kx < d->kw; kx++) {
                                    int64_t iy = oy * d->sh - d->ph + ky * d->dh;
                                    int64_t ix = ox * d->sw - d->pw + kx * d->dw;
                                    if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w)
                                        continue;
                                    int64_t c = o / ocg * cg + ci;
                                    s += x[((bi * d->c + c) * d->h + iy) * d->w + ix] *
                                         w[((o * cg + ci) * d->kh + ky) * d->kw + kx];
                                }
                        y[m++] = s;
                    }
        break;
    }
    case OP_BN: { /* d: b, c, s */
        int64_t bn = f->d[0], c = f->d[1], s = f->d[2];
        for (int64_t ci = 0; ci < c; ci++) {
            double mu = 0.0, var = 0.0, cnt = (double)(bn * s);
            if (f->flag) {
                for (int64_t bi = 0; bi < bn; bi++)
                    for (int64_t i = 0; i < s; i++)
                        mu += x[(bi * c + ci) * s + i];
                mu /= cnt;
                for (int64_t bi = 0; bi < bn; bi++)
                    for (int64_t i = 0; i < s; i++) {
                        double e = x[(bi * c + ci) * s + i] - mu;
                        var += e * e;
                    }
                var /= cnt;
            } else {
                mu = (double)f->aux0[ci];
                var = (double)f->aux1[ci];
            }
            for (int64_t bi = 0; bi < bn; bi++)
                for (int64_t i = 0; i < s; i++) {
                    int64_t j = (bi * c + ci) * s + i;
                    double xh = (x[j] - mu) / sqrt(var + f->eps);
                    y[j] = f->nw ? xh * w[ci] + b[ci] : xh;
                }
        }
        m = bn * c * s;
        break;
    }
    case OP_LN: { /* d: n, dd */
        int64_t n = f->d[0], dd = f->d[1];
        for (int64_t r = 0; r < n; r++) {
            double mu = 0.0, var = 0.0;
            for (int64_t j = 0; j < dd; j++)
                mu += x[r * dd + j];
            mu /= (double)dd;
            for (int64_t j = 0; j < dd; j++)
                var += (x[r * dd + j] - mu) * (x[r * dd + j] - mu);
            var /= (double)dd;
            for (int64_t j = 0; j < dd; j++) {
                double xh = (x[r * dd + j] - mu) / sqrt(var + f->eps);
                y[r * dd + j] = f->nw ? xh * w[j] + b[j] : xh;
            }
        }
        m = n * dd;
        break;
    }
    case OP_ACT:
    case OP_FLATTEN:
    case OP_DROPOUT:
        for (m = 0; m < f->nx; m++) {
            if (f->op == OP_ACT)
                y[m] = act_f(f->act, x[m]);
            else if (f->op == OP_FLATTEN)
                y[m] = x[m];
            else
                y[m] = f->mask[m] ? x[m] / (1.0 - f->p) : 0.0;
        }
        break;
    case OP_MAXPOOL:
    case OP_AVGPOOL: { /* d: bc, h, w, k, s, p, oh, ow */
        int64_t bc = f->d[0], h = f->d[1], wd = f->d[2], k = f->d[3], s = f->d[4], p = f->d[5],
                oh = f->d[6], ow = f->d[7];
        for (int64_t c = 0; c < bc; c++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    double acc = f->op == OP_MAXPOOL ? -HUGE_VAL : 0.0;
                    for (int64_t ky = 0; ky < k; ky++)
                        for (int64_t kx = 0; kx < k; kx++) {
                            int64_t iy = oy * s - p + ky, ix = ox * s - p + kx;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= wd)
                                continue;
                            double t = x[(c * h + iy) * wd + ix];
                            if (f->op == OP_AVGPOOL)
                                acc += t;
                            else if (t > acc)
                                acc = t;
                        }
                    y[m++] = f->op == OP_AVGPOOL ? acc / (double)(k * k) : acc;
                }
        break;
    }
    case OP_ADAPTIVE: { /* d: bc, h, w, oh, ow */
        int64_t bc = f->d[0], h = f->d[1], wd = f->d[2], oh = f->d[3], ow = f->d[4];
        for (int64_t c = 0; c < bc; c++)
            for (int64_t oy = 0; oy < oh; oy++)
                for (int64_t ox = 0; ox < ow; ox++) {
                    int64_t y0 = (int64_t)floor((double)(oy * h) / (double)oh);
                    int64_t y1 = (int64_t)ceil((double)((oy + 1) * h) / (double)oh);
                    int64_t x0 = (int64_t)floor((double)(ox * wd) / (double)ow);
                    int64_t x1 = (int64_t)ceil((double)((ox + 1) * wd) / (double)ow);
                    double acc = 0.0;
                    for (int64_t iy = y0; iy < y1; iy++)
                        for (int64_t ix = x0; ix < x1; ix++)
                            acc += x[(c * h + iy) * wd + ix];
                    y[m++] = acc / (double)((y1 - y0) * (x1 - x0));
                }
        break;
    }
    case OP_EMBEDDING: { /* the table is x; d: n, dim, padding_idx */
        int64_t n = f->d[0], dim = f->d[1];
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < dim; j++)
                y[m++] = f->idx[i] == f->d[2] ? 0.0 : x[f->idx[i] * dim + j]; /* no grad */
        break;
    }
    case OP_CE: { /* d: n, c, ignore_index */
        int64_t n = f->d[0], c = f->d[1], cnt = 0;
        double nll = 0.0, smooth = 0.0;
        for (int64_t i = 0; i < n; i++) {
            if (f->idx[i] == f->d[2])
                continue;
            double mx = -HUGE_VAL, se = 0.0;
            for (int64_t j = 0; j < c; j++)
                mx = x[i * c + j] > mx ? x[i * c + j] : mx;
            for (int64_t j = 0; j < c; j++)
                se += exp(x[i * c + j] - mx);
            double lse = mx + log(se);
            nll += lse - x[i * c + f->idx[i]];
            for (int64_t j = 0; j < c; j++)
                smooth += (lse - x[i * c + j]) / (double)c;
            cnt++;
        }
        return f->dloss * ((1.0 - f->p) * nll + f->p * smooth) / (double)cnt;
    }
    case OP_MSE: { /* the target is packed as w */
        double s = 0.0;
        for (int64_t i = 0; i < f->nx; i++)
            s += (x[i] - w[i]) * (x[i] - w[i]);
        return f->dloss * s / (double)f->nx;
    }
    default: break;
    }
    double l = 0.0;
    for (int64_t i = 0; i < m; i++)
        l += (double)f->dout[i] * y[i];
    return l;
}

/* Central differences of the objective w.r.t. the pack (x, w, b) against ours, the
 * concatenated float gradients g (NX+NW+NB).  ymax: size of the forward output. */
static int fd_check(const char *cname, fd_case *f, const float *x, const float *w, const float *b,
                    const float *g, int64_t ymax)
{
    int64_t n = f->nx + f->nw + f->nb;
    double *v = malloc((size_t)n * sizeof(double)), *num = malloc((size_t)n * sizeof(double));
    f->y = malloc((size_t)(ymax > 0 ? ymax : 1) * sizeof(double));
    int ok = 0;
    if (v && num && f->y) {
        for (int64_t i = 0; i < f->nx; i++)
            v[i] = (double)x[i];
        for (int64_t i = 0; i < f->nw; i++)
            v[f->nx + i] = (double)w[i];
        for (int64_t i = 0; i < f->nb; i++)
            v[f->nx + f->nw + i] = (double)b[i];
        for (int64_t i = 0; i < n; i++) {
            double keep = v[i];
            v[i] = keep + FD_STEP;
            double lp = objective(f, v);
            v[i] = keep - FD_STEP;
            double lm = objective(f, v);
            v[i] = keep;
            num[i] = (lp - lm) / (2.0 * FD_STEP);
        }
        ok = close_enough(cname, "finite-diff", rel_diff_fd(g, num, n), FD_TOL);
    } else {
        fprintf(stderr, "%s: out of memory\n", cname);
        test_failures++;
    }
    free(v);
    free(num);
    free(f->y);
    f->y = NULL;
    return ok;
}

/* Compare our gradients g = (gx, gw, gb) with torch's din, dw, db where present. */
static int torch_check(const char *cname, const ckpt_obj *c, const float *g, int64_t nx,
                       int64_t nw, int64_t nb)
{
    static const char *const keys[3] = {"din", "dw", "db"};
    const int64_t sizes[3] = {nx, nw, nb};
    int64_t off = 0;
    for (int i = 0; i < 3; i++) {
        int64_t nt = 0;
        const float *t = ften(c, keys[i], &nt);
        if (sizes[i] > 0) {
            if (!t || nt != sizes[i]) {
                fprintf(stderr, "%s: fixture tensor %s missing or mis-sized\n", cname, keys[i]);
                test_failures++;
                return 0;
            }
            if (!close_enough(cname, keys[i], rel_diff(g + off, t, nt), TOL))
                return 0;
        }
        off += sizes[i];
    }
    return 1;
}

/* zeroed gradient block for the pack */
static float *grads(int64_t n)
{
    return calloc((size_t)(n > 0 ? n : 1), sizeof(float));
}

/* ----------------------------------------------------------------- linear */

static void run_linear(const char *name)
{
    const ckpt_obj *c = fixture_case(name);
    CHECK(c);
    const int64_t *xs = NULL, *ws = NULL;
    int64_t nx = 0, nw = 0, nb = 0, ny = 0;
    const float *x = tensor(c, "input", &xs, NULL, &nx), *w = tensor(c, "weight", &ws, NULL, &nw);
    const float *b = ften(c, "bias", &nb), *dout = ften(c, "dout", &ny);
    CHECK(x && w && dout);
    float *g = grads(nx + nw + nb);
    CHECK(g);
    ckpt_nn_linear_backward(g, g + nx, b ? g + nx + nw : NULL, dout, x, w, xs[0], xs[1], ws[0]);
    fd_case f = {
        .op = OP_LINEAR, .nx = nx, .nw = nw, .nb = nb, .dout = dout, .d = {xs[0], xs[1], ws[0]}};
    if (torch_check(name, c, g, nx, nw, nb))
        fd_check(name, &f, x, w, b, g, ny);
    free(g);
}

TEST(test_nn_backward__linear_bias)
{
    run_linear("linear_bias");
}
TEST(test_nn_backward__linear_nobias)
{
    run_linear("linear_nobias");
}

/* ----------------------------------------------------------------- conv2d */

static void run_conv2d(const char *name, int twice)
{
    const ckpt_obj *c = fixture_case(name);
    CHECK(c);
    const int64_t *xs = NULL, *ws = NULL;
    int64_t nx = 0, nw = 0, nb = 0, ny = 0;
    const float *x = tensor(c, "input", &xs, NULL, &nx), *w = tensor(c, "weight", &ws, NULL, &nw);
    const float *b = ften(c, "bias", &nb), *dout = ften(c, "dout", &ny);
    CHECK(x && w && dout);
    ckpt_nn_conv2d_dims d = {.b = xs[0],
                             .c = xs[1],
                             .h = xs[2],
                             .w = xs[3],
                             .oc = ws[0],
                             .kh = ws[2],
                             .kw = ws[3],
                             .sh = opt(c, 0),
                             .sw = opt(c, 1),
                             .ph = opt(c, 2),
                             .pw = opt(c, 3),
                             .dh = opt(c, 4),
                             .dw = opt(c, 5),
                             .g = opt(c, 6)};
    CHECK(ckpt_nn_conv2d_out_size(&d));
    CHECK_EQ_INT(d.b * d.oc * d.oh * d.ow, ny);
    float *g = grads(nx + nw + nb), *ws_ = malloc(ckpt_nn_conv2d_backward_ws(&d) * sizeof(float));
    if (!g || !ws_) {
        free(g);
        free(ws_);
        CHECK(!"out of memory");
    }
    for (int k = 0; k < (twice ? 2 : 1); k++)
        ckpt_nn_conv2d_backward(g, g + nx, b ? g + nx + nw : NULL, dout, x, w, ws_, &d);
    if (twice) { /* gradients accumulate: halve and compare */
        for (int64_t i = 0; i < nx + nw + nb; i++)
            g[i] *= 0.5f;
    }
    fd_case f = {.op = OP_CONV2D, .nx = nx, .nw = nw, .nb = nb, .dout = dout, .cd = d};
    if (torch_check(name, c, g, nx, nw, nb))
        fd_check(name, &f, x, w, b, g, ny);
    free(g);
    free(ws_);
}

TEST(test_nn_backward__conv2d_default)
{
    run_conv2d("conv2d_default", 0);
}
TEST(test_nn_backward__conv2d_stride_pad)
{
    run_conv2d("conv2d_stride_pad", 0);
}
TEST(test_nn_backward__conv2d_stride_asym)
{
    run_conv2d("conv2d_stride_asym", 0);
}
TEST(test_nn_backward__conv2d_dilation)
{
    run_conv2d("conv2d_dilation", 0);
}
TEST(test_nn_backward__conv2d_groups)
{
    run_conv2d("conv2d_groups", 0);
}
TEST(test_nn_backward__conv2d_depthwise)
{
    run_conv2d("conv2d_depthwise", 0);
}
TEST(test_nn_backward__conv2d_nobias)
{
    run_conv2d("conv2d_nobias", 0);
}
TEST(test_nn_backward__conv2d_all)
{
    run_conv2d("conv2d_all", 0);
}
TEST(test_nn_backward__conv2d_accumulates)
{
    run_conv2d("conv2d_all", 1);
}

/* Conv1d through the 2-d kernel: (B,C,L) is (B,C,1,L), weight (OC,C/G,1,K) */
TEST(test_nn_backward__conv1d_all)
{
    const ckpt_obj *c = fixture_case("conv1d_all");
    CHECK(c);
    const int64_t *xs = NULL, *ws = NULL;
    int64_t nx = 0, nw = 0, nb = 0, ny = 0;
    const float *x = tensor(c, "input", &xs, NULL, &nx), *w = tensor(c, "weight", &ws, NULL, &nw);
    const float *b = ften(c, "bias", &nb), *dout = ften(c, "dout", &ny);
    CHECK(x && w && b && dout);
    ckpt_nn_conv2d_dims d = {.b = xs[0],
                             .c = xs[1],
                             .h = 1,
                             .w = xs[2],
                             .oc = ws[0],
                             .kh = 1,
                             .kw = ws[2],
                             .sh = 1,
                             .sw = opt(c, 0),
                             .ph = 0,
                             .pw = opt(c, 1),
                             .dh = 1,
                             .dw = opt(c, 2),
                             .g = opt(c, 3)};
    CHECK(ckpt_nn_conv2d_out_size(&d));
    CHECK_EQ_INT(d.b * d.oc * d.oh * d.ow, ny);
    float *g = grads(nx + nw + nb + (int64_t)ckpt_nn_conv2d_backward_ws(&d));
    CHECK(g);
    ckpt_nn_conv2d_backward(g, g + nx, g + nx + nw, dout, x, w, g + nx + nw + nb, &d);
    fd_case f = {.op = OP_CONV2D, .nx = nx, .nw = nw, .nb = nb, .dout = dout, .cd = d};
    if (torch_check("conv1d_all", c, g, nx, nw, nb))
        fd_check("conv1d_all", &f, x, w, b, g, ny);
    free(g);
}

/* ------------------------------------------------------------------ norms */

static void run_batchnorm(const char *name)
{
    const ckpt_obj *c = fixture_case(name);
    CHECK(c);
    const int64_t *xs = NULL;
    int nd = 0;
    int64_t nx = 0, nw = 0, nb = 0;
    const float *x = tensor(c, "input", &xs, &nd, &nx), *w = ften(c, "weight", &nw);
    const float *b = ften(c, "bias", &nb), *dout = ften(c, "dout", NULL);
    const float *rm = ften(c, "running_mean", NULL), *rv = ften(c, "running_var", NULL);
    CHECK(x && dout && rm && rv && nd >= 2);
    int64_t bn = xs[0], ch = xs[1], s = 1;
    for (int i = 2; i < nd; i++)
        s *= xs[i];
    bool train = opt(c, 0) != 0;
    double eps = fopt(c, 0);
    float *g = grads(nx + nw + nb + 2 * ch);
    CHECK(g);
    float *mean = g + nx + nw + nb, *var = mean + ch;
    if (train)
        ckpt_nn_batchnorm_stats(mean, var, x, bn, ch, s);
    ckpt_nn_batchnorm_backward(g, w ? g + nx : NULL, b ? g + nx + nw : NULL, dout, x,
                               train ? mean : rm, train ? var : rv, w, bn, ch, s, eps, train);
    fd_case f = {.op = OP_BN,
                 .nx = nx,
                 .nw = nw,
                 .nb = nb,
                 .dout = dout,
                 .d = {bn, ch, s},
                 .eps = eps,
                 .flag = train,
                 .aux0 = rm,
                 .aux1 = rv};
    if (torch_check(name, c, g, nx, nw, nb))
        fd_check(name, &f, x, w, b, g, nx);
    free(g);
}

TEST(test_nn_backward__batchnorm_1d_train)
{
    run_batchnorm("batchnorm_1d_train");
}
TEST(test_nn_backward__batchnorm_1d_seq_train)
{
    run_batchnorm("batchnorm_1d_seq_train");
}
TEST(test_nn_backward__batchnorm_2d_train)
{
    run_batchnorm("batchnorm_2d_train");
}
TEST(test_nn_backward__batchnorm_2d_train_noaffine)
{
    run_batchnorm("batchnorm_2d_train_noaffine");
}
TEST(test_nn_backward__batchnorm_2d_eval)
{
    run_batchnorm("batchnorm_2d_eval");
}
TEST(test_nn_backward__batchnorm_1d_eval)
{
    run_batchnorm("batchnorm_1d_eval");
}

static void run_layernorm(const char *name)
{
    const ckpt_obj *c = fixture_case(name);
    CHECK(c);
    int64_t nx = 0, nw = 0, nb = 0;
    const float *x = ften(c, "input", &nx), *w = ften(c, "weight", &nw);
    const float *b = ften(c, "bias", &nb), *dout = ften(c, "dout", NULL);
    CHECK(x && dout);
    /* the fixture normalises over the last dimension (affine) or the last two (12) */
    int64_t d = w ? nw : 12, n = nx / d;
    double eps = fopt(c, 0);
    float *g = grads(nx + nw + nb);
    CHECK(g);
    ckpt_nn_layernorm_backward(g, w ? g + nx : NULL, b ? g + nx + nw : NULL, dout, x, w, n, d,
                               eps);
    fd_case f = {.op = OP_LN, .nx = nx, .nw = nw, .nb = nb, .dout = dout, .d = {n, d}, .eps = eps};
    if (torch_check(name, c, g, nx, nw, nb))
        fd_check(name, &f, x, w, b, g, nx);
    free(g);
}

TEST(test_nn_backward__layernorm)
{
    run_layernorm("layernorm");
}
TEST(test_nn_backward__layernorm_noaffine)
{
    run_layernorm("layernorm_noaffine");
}

/* ------------------------------------------------------ element-wise layers */

typedef void (*elem_bw)(float *din, const float *dout, const float *saved, size_t n);

/* with_output: the kernel takes the forward output rather than the input */
static void run_elem(const char *name, elem_bw fn, int kind, bool with_output)
{
    const ckpt_obj *c = fixture_case(name);
    CHECK(c);
    int64_t nx = 0;
    const float *x = ften(c, "input", &nx), *y = ften(c, "output", NULL);
    const float *dout = ften(c, "dout", NULL);
    CHECK(x && y && dout);
    float *g = grads(nx);
    CHECK(g);
    fn(g, dout, with_output ? y : x, (size_t)nx);
    fd_case f = {.op = OP_ACT, .act = kind, .nx = nx, .dout = dout};
    if (torch_check(name, c, g, nx, 0, 0))
        fd_check(name, &f, x, NULL, NULL, g, nx);
    free(g);
}

TEST(test_nn_backward__relu)
{
    run_elem("relu", ckpt_nn_relu_backward, CKPT_ACT_RELU, 0);
}
TEST(test_nn_backward__gelu)
{
    run_elem("gelu", ckpt_nn_gelu_backward, CKPT_ACT_GELU, 0);
}
TEST(test_nn_backward__gelu_tanh)
{
    run_elem("gelu_tanh", ckpt_nn_gelu_tanh_backward, CKPT_ACT_GELU_TANH, 0);
}
TEST(test_nn_backward__silu)
{
    run_elem("silu", ckpt_nn_silu_backward, CKPT_ACT_SILU, 0);
}
TEST(test_nn_backward__tanh)
{
    run_elem("tanh", ckpt_nn_tanh_backward, CKPT_ACT_TANH, 1);
}
TEST(test_nn_backward__sigmoid)
{
    run_elem("sigmoid", ckpt_nn_sigmoid_backward, CKPT_ACT_SIGMOID, 1);
}

TEST(test_nn_backward__flatten)
{
    const ckpt_obj *c = fixture_case("flatten");
    CHECK(c);
    int64_t nx = 0;
    const float *x = ften(c, "input", &nx), *dout = ften(c, "dout", NULL);
    CHECK(x && dout);
    float *g = grads(nx);
    CHECK(g);
    ckpt_nn_flatten_backward(g, dout, (size_t)nx);
    fd_case f = {.op = OP_FLATTEN, .nx = nx, .dout = dout};
    if (torch_check("flatten", c, g, nx, 0, 0))
        fd_check("flatten", &f, x, NULL, NULL, g, nx);
    free(g);
}

TEST(test_nn_backward__dropout)
{
    const ckpt_obj *c = fixture_case("dropout");
    CHECK(c);
    int64_t nx = 0, nm = 0;
    const float *x = ften(c, "input", &nx), *dout = ften(c, "dout", NULL);
    const uint8_t *mask = tensor(c, "mask", NULL, NULL, &nm);
    CHECK(x && dout && mask && nm == nx);
    double p = fopt(c, 0);
    float *g = grads(nx);
    CHECK(g);
    ckpt_nn_dropout_backward(g, dout, mask, (size_t)nx, p);
    fd_case f = {.op = OP_DROPOUT, .nx = nx, .dout = dout, .mask = mask, .p = p};
    if (torch_check("dropout", c, g, nx, 0, 0))
        fd_check("dropout", &f, x, NULL, NULL, g, nx);
    free(g);
}

/* ---------------------------------------------------------------- pooling */

/* fd: also check against finite differences (not at ties or NaN) */
static void run_pool(const char *name, int op, bool fd)
{
    const ckpt_obj *c = fixture_case(name);
    CHECK(c);
    const int64_t *xs = NULL, *ys = NULL;
    int64_t nx = 0, ny = 0;
    const float *x = tensor(c, "input", &xs, NULL, &nx), *dout = ften(c, "dout", NULL);
    CHECK(x && dout && tensor(c, "output", &ys, NULL, &ny));
    int64_t bc = xs[0] * xs[1], h = xs[2], w = xs[3], oh = ys[2], ow = ys[3];
    float *g = grads(nx);
    CHECK(g);
    fd_case f = {.op = op, .nx = nx, .dout = dout};
    if (op == OP_ADAPTIVE) {
        CHECK_EQ_INT(opt(c, 0), oh);
        ckpt_nn_adaptive_avgpool2d_backward(g, dout, bc, h, w, oh, ow);
        memcpy(f.d, (int64_t[5]){bc, h, w, oh, ow}, 5 * sizeof(int64_t));
    } else {
        int64_t k = opt(c, 0), s = opt(c, 1), p = opt(c, 2);
        if (op == OP_MAXPOOL)
            ckpt_nn_maxpool2d_backward(g, dout, x, bc, h, w, k, s, p, oh, ow);
        else
            ckpt_nn_avgpool2d_backward(g, dout, bc, h, w, k, s, p, oh, ow);
        memcpy(f.d, (int64_t[8]){bc, h, w, k, s, p, oh, ow}, 8 * sizeof(int64_t));
    }
    if (torch_check(name, c, g, nx, 0, 0) && fd)
        fd_check(name, &f, x, NULL, NULL, g, ny);
    free(g);
}

TEST(test_nn_backward__maxpool2d)
{
    run_pool("maxpool2d", OP_MAXPOOL, 1);
}
TEST(test_nn_backward__maxpool2d_k2)
{
    run_pool("maxpool2d_k2", OP_MAXPOOL, 1);
}
TEST(test_nn_backward__maxpool2d_ties)
{
    run_pool("maxpool2d_ties", OP_MAXPOOL, 0);
}
TEST(test_nn_backward__avgpool2d)
{
    run_pool("avgpool2d", OP_AVGPOOL, 1);
}
TEST(test_nn_backward__avgpool2d_k2)
{
    run_pool("avgpool2d_k2", OP_AVGPOOL, 1);
}
TEST(test_nn_backward__adaptive_avgpool2d)
{
    run_pool("adaptive_avgpool2d", OP_ADAPTIVE, 1);
}
TEST(test_nn_backward__adaptive_avgpool2d_up)
{
    run_pool("adaptive_avgpool2d_up", OP_ADAPTIVE, 1);
}

/* -------------------------------------------------------------- embedding */

static void run_embedding(const char *name)
{
    const ckpt_obj *c = fixture_case(name);
    CHECK(c);
    const int64_t *ts = NULL;
    int64_t nt = 0, ni = 0, ny = 0;
    const float *table = tensor(c, "weight", &ts, NULL, &nt), *dout = ften(c, "dout", &ny);
    const int64_t *idx = tensor(c, "idx", NULL, NULL, &ni);
    const float *want = ften(c, "dw", NULL);
    CHECK(table && dout && idx && want);
    int64_t pad = opt(c, 0);
    float *g = grads(nt);
    CHECK(g);
    int rc = ckpt_nn_embedding_backward(g, dout, idx, ni, ts[0], ts[1], pad);
    if (rc != 0)
        free(g);
    CHECK_EQ_INT(rc, 0);
    fd_case f = {.op = OP_EMBEDDING, .nx = nt, .dout = dout, .idx = idx, .d = {ni, ts[1], pad}};
    if (close_enough(name, "dw", rel_diff(g, want, nt), TOL))
        fd_check(name, &f, table, NULL, NULL, g, ny);
    /* an index out of range is refused */
    int64_t bad[2] = {0, ts[0]};
    rc = ckpt_nn_embedding_backward(g, dout, bad, 2, ts[0], ts[1], pad);
    free(g);
    CHECK_EQ_INT(rc, -1);
}

TEST(test_nn_backward__embedding)
{
    run_embedding("embedding");
}
TEST(test_nn_backward__embedding_padding)
{
    run_embedding("embedding_padding");
}

/* ----------------------------------------------------------------- losses */

static void run_ce(const char *name)
{
    const ckpt_obj *c = fixture_case(name);
    CHECK(c);
    const int64_t *xs = NULL;
    int64_t nx = 0;
    const float *x = tensor(c, "input", &xs, NULL, &nx), *want = ften(c, "loss", NULL);
    const int64_t *t = tensor(c, "target", NULL, NULL, NULL);
    CHECK(x && want && t);
    int64_t ignore = opt(c, 0);
    double eps = fopt(c, 0), dloss = fopt(c, 1);
    float loss = 0.0f;
    CHECK_EQ_INT(ckpt_nn_cross_entropy_forward(&loss, x, t, xs[0], xs[1], eps, ignore, NULL), 0);
    CHECK(close_enough(name, "loss", rel_diff(&loss, want, 1), TOL));
    float *g = grads(nx);
    CHECK(g);
    int rc = ckpt_nn_cross_entropy_backward(g, (float)dloss, x, t, xs[0], xs[1], eps, ignore,
                                            NULL);
    if (rc != 0)
        free(g);
    CHECK_EQ_INT(rc, 0);
    fd_case f = {
        .op = OP_CE, .nx = nx, .idx = t, .d = {xs[0], xs[1], ignore}, .p = eps, .dloss = dloss};
    if (torch_check(name, c, g, nx, 0, 0))
        fd_check(name, &f, x, NULL, NULL, g, 1);
    free(g);
}

TEST(test_nn_backward__ce_plain)
{
    run_ce("ce_plain");
}
TEST(test_nn_backward__ce_smoothing)
{
    run_ce("ce_smoothing");
}
TEST(test_nn_backward__ce_ignore)
{
    run_ce("ce_ignore");
}
TEST(test_nn_backward__ce_smoothing_ignore)
{
    run_ce("ce_smoothing_ignore");
}
TEST(test_nn_backward__ce_ignore_class)
{
    run_ce("ce_ignore_class");
}
TEST(test_nn_backward__ce_smoothing_full)
{
    run_ce("ce_smoothing_full");
}

TEST(test_nn_backward__ce_bad_target)
{
    const float logits[6] = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f};
    const int64_t t[2] = {1, 3};
    float loss = 0.0f, g[6] = {0};
    CHECK_EQ_INT(ckpt_nn_cross_entropy_forward(&loss, logits, t, 2, 3, 0.0, -100, NULL),
                 CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_nn_cross_entropy_backward(g, 1.0f, logits, t, 2, 3, 0.0, -100, NULL),
                 CKPT_E_ARG);
    for (int i = 0; i < 6; i++)
        CHECK(g[i] == 0.0f);
    /* the failure says why: which row, which value, which range */
    ckpt_error err = {0};
    char buf[512];
    CHECK_EQ_INT(ckpt_nn_cross_entropy_forward(&loss, logits, t, 2, 3, 0.0, -100, &err),
                 CKPT_E_ARG);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    CHECK(strstr(err.msg, "target[1] = 3") != NULL);
    CHECK(strstr(err.msg, "[0, 3)") != NULL);
    CHECK(strcmp(ckpt_error_format(&err, buf, sizeof(buf)), "no error") != 0);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_nn_cross_entropy_backward(g, 1.0f, logits, t, 2, 3, 0.0, -100, &err),
                 CKPT_E_ARG);
    CHECK(strstr(err.msg, "backward") != NULL && strstr(err.msg, "target[1] = 3") != NULL);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_nn_cross_entropy_forward(&loss, logits, t, 2, 0, 0.0, -100, &err),
                 CKPT_E_SHAPE);
    CHECK(strstr(err.msg, "shape") != NULL);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_nn_cross_entropy_forward(&loss, logits, t, 2, 3, 1.5, -100, &err),
                 CKPT_E_ARG);
    CHECK(strstr(err.msg, "label_smoothing") != NULL);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_nn_cross_entropy_forward(NULL, logits, t, 2, 3, 0.0, -100, &err),
                 CKPT_E_ARG);
    CHECK(err.msg[0] != '\0');
}

TEST(test_nn_backward__mse)
{
    const ckpt_obj *c = fixture_case("mse");
    CHECK(c);
    int64_t nx = 0;
    const float *x = ften(c, "input", &nx), *y = ften(c, "target", NULL);
    const float *want = ften(c, "loss", NULL), *dx = ften(c, "din", NULL);
    const float *dy = ften(c, "dtarget", NULL);
    CHECK(x && y && want && dx && dy);
    double dloss = fopt(c, 0);
    float loss = ckpt_nn_mse_loss_forward(x, y, (size_t)nx);
    CHECK(close_enough("mse", "loss", rel_diff(&loss, want, 1), TOL));
    float *g = grads(2 * nx);
    CHECK(g);
    ckpt_nn_mse_loss_backward(g, g + nx, (float)dloss, x, y, (size_t)nx);
    fd_case f = {.op = OP_MSE, .nx = nx, .nw = nx, .dloss = dloss};
    if (close_enough("mse", "din", rel_diff(g, dx, nx), TOL) &&
        close_enough("mse", "dtarget", rel_diff(g + nx, dy, nx), TOL))
        fd_check("mse", &f, x, y, NULL, g, 1);
    free(g);
}

/* ============================================ backward_attn.c (backward_attn.pt) */

#define FIXTURE_ATTN "tests/fixtures/nn_backward/backward_attn.pt"

static ckpt_doc *g_doc_attn;

static const ckpt_obj *attn_case(const char *name)
{
    if (!g_doc_attn) {
        ckpt_error err = {0};
        g_doc_attn = ckpt_load(FIXTURE_ATTN, NULL, &err);
        if (!g_doc_attn) {
            char b[512];
            fprintf(stderr, "cannot load %s: %s\n", FIXTURE_ATTN,
                    ckpt_error_format(&err, b, sizeof b));
            return NULL;
        }
    }
    const ckpt_obj *c = ckpt_dict_get(ckpt_doc_root(g_doc_attn), name);
    if (!c)
        fprintf(stderr, "fixture case %s missing\n", name);
    return c;
}

enum akind { K_CONVT, K_GN, K_SM, K_LSM, K_MHA, K_ENC };

#define MAXV 16

/* A finite-difference problem over several variables (each a float tensor of the
 * fixture), packed one after another into a double vector. */
typedef struct av_case {
    int kind;
    int nv;
    int64_t size[MAXV];
    bool has[MAXV];                   /* variable present (optional biases, norm affines) */
    ckpt_nn_conv_transpose2d_dims cd; /* K_CONVT */
    int64_t d[4];                     /* K_GN: b, c, s, g; K_SM: outer, d, inner */
    double eps, p;
    ckpt_nn_multihead_attention_dims md;       /* K_MHA */
    bool self_attn;                            /* K_MHA: q is also k and v */
    ckpt_nn_transformer_encoder_layer_dims ed; /* K_ENC */
    const uint8_t *mask[4];                    /* K_ENC: attn, drop1, drop, drop2 */
    const float *dout;
    int64_t ny;
} av_case;

/* variable i of the pack v (NULL when absent) */
static const double *var_at(const av_case *f, const double *v, int i)
{
    int64_t off = 0;
    for (int j = 0; j < i; j++)
        off += f->size[j];
    return f->has[i] ? v + off : NULL;
}

/* y (N,OC) = x (N,IC) w^T + b */
static void dlinear(double *y, const double *x, const double *w, const double *b, int64_t n,
                    int64_t ic, int64_t oc)
{
    for (int64_t i = 0; i < n; i++)
        for (int64_t o = 0; o < oc; o++) {
            double s = b ? b[o] : 0.0;
            for (int64_t k = 0; k < ic; k++)
                s += x[i * ic + k] * w[o * ic + k];
            y[i * oc + o] = s;
        }
}

static void dlayernorm(double *y, const double *x, const double *w, const double *b, int64_t n,
                       int64_t d, double eps)
{
    for (int64_t r = 0; r < n; r++) {
        double mu = 0.0, var = 0.0;
        for (int64_t j = 0; j < d; j++)
            mu += x[r * d + j];
        mu /= (double)d;
        for (int64_t j = 0; j < d; j++)
            var += (x[r * d + j] - mu) * (x[r * d + j] - mu);
        var /= (double)d;
        for (int64_t j = 0; j < d; j++)
            y[r * d + j] = (x[r * d + j] - mu) / sqrt(var + eps) * w[j] + b[j];
    }
}

/* out (RQ,E) = MultiheadAttention in double; mask (B,H,T,S) or NULL */
static void dmha(double *out, const double *q, const double *k, const double *v, const double *iw,
                 const double *ib, const double *ow, const double *ob, const uint8_t *mask,
                 double p, const ckpt_nn_multihead_attention_dims *d)
{
    const int64_t e = d->e, hd = e / d->h, rq = d->b * d->t, rk = d->b * d->s;
    double *pq = malloc((size_t)((rq * 2 + rk * 2) * e + d->s) * sizeof(double));
    if (!pq)
        abort();
    double *pk = pq + rq * e, *pv = pk + rk * e, *att = pv + rk * e, *sc = att + rq * e;
    dlinear(pq, q, iw, ib, rq, e, e);
    dlinear(pk, k, iw + e * e, ib ? ib + e : NULL, rk, e, e);
    dlinear(pv, v, iw + 2 * e * e, ib ? ib + 2 * e : NULL, rk, e, e);
    for (int64_t bi = 0; bi < d->b; bi++)
        for (int64_t hi = 0; hi < d->h; hi++)
            for (int64_t i = 0; i < d->t; i++) {
                int64_t qr = d->batch_first ? bi * d->t + i : i * d->b + bi;
                double mx = -HUGE_VAL, sum = 0.0;
                for (int64_t j = 0; j < d->s; j++) {
                    int64_t kr = d->batch_first ? bi * d->s + j : j * d->b + bi;
                    double acc = 0.0;
                    for (int64_t c = 0; c < hd; c++)
                        acc += pq[qr * e + hi * hd + c] * pk[kr * e + hi * hd + c];
                    sc[j] = acc / sqrt((double)hd);
                    mx = sc[j] > mx ? sc[j] : mx;
                }
                for (int64_t j = 0; j < d->s; j++)
                    sum += exp(sc[j] - mx);
                for (int64_t j = 0; j < d->s; j++) {
                    sc[j] = exp(sc[j] - mx) / sum;
                    if (mask)
                        sc[j] = mask[((bi * d->h + hi) * d->t + i) * d->s + j] ? sc[j] / (1 - p)
                                                                               : 0.0;
                }
                for (int64_t c = 0; c < hd; c++) {
                    double acc = 0.0;
                    for (int64_t j = 0; j < d->s; j++) {
                        int64_t kr = d->batch_first ? bi * d->s + j : j * d->b + bi;
                        acc += sc[j] * pv[kr * e + hi * hd + c];
                    }
                    att[qr * e + hi * hd + c] = acc;
                }
            }
    dlinear(out, att, ow, ob, rq, e, e);
    free(pq);
}

static void ddrop(double *y, const uint8_t *mask, int64_t n, double p)
{
    for (int64_t i = 0; mask && i < n; i++)
        y[i] = mask[i] ? y[i] / (1.0 - p) : 0.0;
}

/* y (R,E) = TransformerEncoderLayer in double; the pack is x then the 12 parameters in
 * ckpt_nn_transformer_encoder_layer_params order */
static void dencoder(double *y, const av_case *f, const double *v)
{
    const ckpt_nn_transformer_encoder_layer_dims *d = &f->ed;
    const int64_t r = d->b * d->t, e = d->e, ff = d->ff;
    const double *x = var_at(f, v, 0), *prm[12];
    for (int i = 0; i < 12; i++)
        prm[i] = var_at(f, v, i + 1);
    ckpt_nn_multihead_attention_dims md = {
        .b = d->b, .t = d->t, .s = d->t, .e = e, .h = d->h, .batch_first = d->batch_first};
    double *t = malloc((size_t)(3 * r * e + r * ff) * sizeof(double));
    if (!t)
        abort();
    double *a = t + r * e, *r1 = a + r * e, *hh = r1 + r * e;
    const double *sa = x;
    if (d->norm_first) {
        dlayernorm(t, x, prm[8], prm[9], r, e, d->eps);
        sa = t;
    }
    dmha(a, sa, sa, sa, prm[0], prm[1], prm[2], prm[3], f->mask[0], f->p, &md);
    ddrop(a, f->mask[1], r * e, f->p);
    for (int64_t i = 0; i < r * e; i++)
        r1[i] = x[i] + a[i];
    const double *fin = r1;
    if (d->norm_first) {
        dlayernorm(t, r1, prm[10], prm[11], r, e, d->eps);
        fin = t;
    } else {
        dlayernorm(t, r1, prm[8], prm[9], r, e, d->eps);
        memcpy(r1, t, (size_t)(r * e) * sizeof(double)); /* the residual is y1 */
    }
    dlinear(hh, fin, prm[4], prm[5], r, e, ff);
    for (int64_t i = 0; i < r * ff; i++)
        hh[i] = d->act == CKPT_ACT_RELU ? (hh[i] > 0 ? hh[i] : 0.0)
                                        : 0.5 * hh[i] * (1.0 + erf(hh[i] / sqrt(2.0)));
    ddrop(hh, f->mask[2], r * ff, f->p);
    dlinear(a, hh, prm[6], prm[7], r, ff, e);
    ddrop(a, f->mask[3], r * e, f->p);
    for (int64_t i = 0; i < r * e; i++)
        r1[i] += a[i];
    if (d->norm_first)
        memcpy(y, r1, (size_t)(r * e) * sizeof(double));
    else
        dlayernorm(y, r1, prm[10], prm[11], r, e, d->eps);
    free(t);
}

static double av_objective(const av_case *f, const double *v, double *y)
{
    const double *x = var_at(f, v, 0), *w = f->nv > 1 ? var_at(f, v, 1) : NULL;
    const double *b = f->nv > 2 ? var_at(f, v, 2) : NULL;
    switch (f->kind) {
    case K_CONVT: {
        const ckpt_nn_conv_transpose2d_dims *d = &f->cd;
        const int64_t cg = d->c / d->g, ocg = d->oc / d->g;
        for (int64_t bi = 0; bi < d->b; bi++)
            for (int64_t o = 0; o < d->oc; o++)
                for (int64_t i = 0; i < d->oh * d->ow; i++)
                    y[(bi * d->oc + o) * d->oh * d->ow + i] = b ? b[o] : 0.0;
        for (int64_t bi = 0; bi < d->b; bi++)
            for (int64_t ci = 0; ci < d->c; ci++)
                for (int64_t iy = 0; iy < d->h; iy++)
                    for (int64_t ix = 0; ix < d->w; ix++)
                        for (int64_t o = 0; o < ocg; o++)
                            for (int64_t ky = 0; ky < d->kh; ky++)
                                for (int64_t kx = 0; kx < d->kw; kx++) {
                                    int64_t oy = iy * d->sh - d->ph + ky * d->dh;
                                    int64_t ox = ix * d->sw - d->pw + kx * d->dw;
                                    if (oy < 0 || oy >= d->oh || ox < 0 || ox >= d->ow)
                                        continue;
                                    int64_t oc = ci / cg * ocg + o;
                                    y[((bi * d->oc + oc) * d->oh + oy) * d->ow + ox] +=
                                        x[((bi * d->c + ci) * d->h + iy) * d->w + ix] *
                                        w[((ci * ocg + o) * d->kh + ky) * d->kw + kx];
                                }
        break;
    }
    case K_GN: {
        const int64_t bn = f->d[0], c = f->d[1], s = f->d[2], g = f->d[3], cg = c / g;
        for (int64_t bi = 0; bi < bn; bi++)
            for (int64_t gi = 0; gi < g; gi++) {
                const double *p = x + (bi * c + gi * cg) * s;
                double mu = 0.0, var = 0.0;
                for (int64_t i = 0; i < cg * s; i++)
                    mu += p[i];
                mu /= (double)(cg * s);
                for (int64_t i = 0; i < cg * s; i++)
                    var += (p[i] - mu) * (p[i] - mu);
                var /= (double)(cg * s);
                for (int64_t i = 0; i < cg * s; i++) {
                    int64_t ch = gi * cg + i / s;
                    double xh = (p[i] - mu) / sqrt(var + f->eps);
                    y[(bi * c + gi * cg) * s + i] = w ? xh * w[ch] + b[ch] : xh;
                }
            }
        break;
    }
    case K_SM:
    case K_LSM: {
        const int64_t outer = f->d[0], dd = f->d[1], inner = f->d[2];
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < inner; j++) {
                const int64_t base = o * dd * inner + j;
                double mx = -HUGE_VAL, sum = 0.0;
                for (int64_t i = 0; i < dd; i++)
                    mx = x[base + i * inner] > mx ? x[base + i * inner] : mx;
                for (int64_t i = 0; i < dd; i++)
                    sum += exp(x[base + i * inner] - mx);
                for (int64_t i = 0; i < dd; i++) {
                    double z = x[base + i * inner] - mx;
                    y[base + i * inner] = f->kind == K_LSM ? z - log(sum) : exp(z) / sum;
                }
            }
        break;
    }
    case K_MHA: { /* pack: q, k, v, in_w, in_b, out_w, out_b */
        const double *q = var_at(f, v, 0);
        const double *k = f->self_attn ? q : var_at(f, v, 1);
        const double *vv = f->self_attn ? q : var_at(f, v, 2);
        dmha(y, q, k, vv, var_at(f, v, 3), var_at(f, v, 4), var_at(f, v, 5), var_at(f, v, 6),
             NULL, 0.0, &f->md);
        break;
    }
    case K_ENC: dencoder(y, f, v); break;
    default: break;
    }
    double l = 0.0;
    for (int64_t i = 0; i < f->ny; i++)
        l += (double)f->dout[i] * y[i];
    return l;
}

/* central differences over every present variable against ours, g[i] (size[i]) each */
static void av_fd_check(const char *cname, const av_case *f, const float *const *vars,
                        float *const *g)
{
    int64_t n = 0;
    for (int i = 0; i < f->nv; i++)
        n += f->size[i];
    double *v = malloc((size_t)n * sizeof(double)), *num = malloc((size_t)n * sizeof(double));
    double *y = malloc((size_t)f->ny * sizeof(double));
    float *ours = malloc((size_t)n * sizeof(float));
    if (!v || !num || !y || !ours) {
        fprintf(stderr, "%s: out of memory\n", cname);
        test_failures++;
    } else {
        int64_t off = 0;
        for (int i = 0; i < f->nv; i++) {
            for (int64_t j = 0; j < f->size[i]; j++) {
                v[off + j] = f->has[i] ? (double)vars[i][j] : 0.0;
                ours[off + j] = f->has[i] ? g[i][j] : 0.0f;
            }
            off += f->size[i];
        }
        for (int64_t i = 0; i < n; i++) {
            double keep = v[i];
            v[i] = keep + FD_STEP;
            double lp = av_objective(f, v, y);
            v[i] = keep - FD_STEP;
            double lm = av_objective(f, v, y);
            v[i] = keep;
            num[i] = (lp - lm) / (2.0 * FD_STEP);
        }
        close_enough(cname, "finite-diff", rel_diff_fd(ours, num, n), FD_TOL);
    }
    free(v);
    free(num);
    free(y);
    free(ours);
}

/* our gradient g (n) against the fixture's key */
static void torch_cmp(const char *cname, const ckpt_obj *c, const char *key, const float *g,
                      int64_t n)
{
    int64_t nt = 0;
    const float *t = ften(c, key, &nt);
    if (!t || nt != n) {
        fprintf(stderr, "%s: fixture tensor %s missing or mis-sized\n", cname, key);
        test_failures++;
        return;
    }
    close_enough(cname, key, rel_diff(g, t, n), TOL);
}

/* ------------------------------------------------------- conv_transpose2d */

static void run_convt(const char *name, int twice)
{
    const ckpt_obj *c = attn_case(name);
    CHECK(c);
    const int64_t *xs = NULL, *ws = NULL;
    int64_t nx = 0, nw = 0, nb = 0, ny = 0;
    const float *x = tensor(c, "input", &xs, NULL, &nx), *w = tensor(c, "weight", &ws, NULL, &nw);
    const float *b = ften(c, "bias", &nb), *dout = ften(c, "dout", &ny);
    CHECK(x && w && dout);
    ckpt_nn_conv_transpose2d_dims d = {.b = xs[0],
                                       .c = xs[1],
                                       .h = xs[2],
                                       .w = xs[3],
                                       .oc = ws[1] * opt(c, 8),
                                       .kh = ws[2],
                                       .kw = ws[3],
                                       .sh = opt(c, 0),
                                       .sw = opt(c, 1),
                                       .ph = opt(c, 2),
                                       .pw = opt(c, 3),
                                       .oph = opt(c, 4),
                                       .opw = opt(c, 5),
                                       .dh = opt(c, 6),
                                       .dw = opt(c, 7),
                                       .g = opt(c, 8)};
    CHECK(ckpt_nn_conv_transpose2d_out_size(&d));
    CHECK_EQ_INT(d.b * d.oc * d.oh * d.ow, ny);
    float *g = grads(nx + nw + nb + (int64_t)ckpt_nn_conv_transpose2d_backward_ws(&d));
    CHECK(g);
    for (int k = 0; k < (twice ? 2 : 1); k++)
        ckpt_nn_conv_transpose2d_backward(g, g + nx, b ? g + nx + nw : NULL, dout, x, w,
                                          g + nx + nw + nb, &d);
    for (int64_t i = 0; twice && i < nx + nw + nb; i++)
        g[i] *= 0.5f;
    torch_cmp(name, c, "dinput", g, nx);
    torch_cmp(name, c, "dweight", g + nx, nw);
    if (b)
        torch_cmp(name, c, "dbias", g + nx + nw, nb);
    av_case f = {.kind = K_CONVT,
                 .nv = 3,
                 .size = {nx, nw, nb},
                 .has = {1, 1, b != NULL},
                 .cd = d,
                 .dout = dout,
                 .ny = ny};
    av_fd_check(name, &f, (const float *const[]){x, w, b},
                (float *const[]){g, g + nx, g + nx + nw});
    free(g);
}

TEST(test_nn_backward__convt2d_default)
{
    run_convt("convt2d_default", 0);
}
TEST(test_nn_backward__convt2d_stride_pad_outpad)
{
    run_convt("convt2d_stride_pad_outpad", 0);
}
TEST(test_nn_backward__convt2d_dilation_groups)
{
    run_convt("convt2d_dilation_groups", 0);
}
TEST(test_nn_backward__convt2d_all)
{
    run_convt("convt2d_all", 0);
}
TEST(test_nn_backward__convt2d_nobias_depthwise)
{
    run_convt("convt2d_nobias_depthwise", 0);
}
TEST(test_nn_backward__convt2d_accumulates)
{
    run_convt("convt2d_all", 1);
}

/* -------------------------------------------------------------- groupnorm */

static void run_groupnorm(const char *name)
{
    const ckpt_obj *c = attn_case(name);
    CHECK(c);
    const int64_t *xs = NULL;
    int nd = 0;
    int64_t nx = 0, nw = 0, nb = 0, ny = 0;
    const float *x = tensor(c, "input", &xs, &nd, &nx), *w = ften(c, "weight", &nw);
    const float *b = ften(c, "bias", &nb), *dout = ften(c, "dout", &ny);
    CHECK(x && dout && nd >= 2);
    int64_t s = 1;
    for (int i = 2; i < nd; i++)
        s *= xs[i];
    const int64_t grp = opt(c, 0);
    const double eps = fopt(c, 0);
    float *g = grads(nx + nw + nb);
    CHECK(g);
    ckpt_nn_groupnorm_backward(g, w ? g + nx : NULL, b ? g + nx + nw : NULL, dout, x, w, xs[0],
                               xs[1], s, grp, eps);
    torch_cmp(name, c, "dinput", g, nx);
    if (w) {
        torch_cmp(name, c, "dweight", g + nx, nw);
        torch_cmp(name, c, "dbias", g + nx + nw, nb);
    }
    av_case f = {.kind = K_GN,
                 .nv = 3,
                 .size = {nx, nw, nb},
                 .has = {1, w != NULL, b != NULL},
                 .d = {xs[0], xs[1], s, grp},
                 .eps = eps,
                 .dout = dout,
                 .ny = ny};
    av_fd_check(name, &f, (const float *const[]){x, w, b},
                (float *const[]){g, g + nx, g + nx + nw});
    free(g);
}

TEST(test_nn_backward__groupnorm_2d)
{
    run_groupnorm("groupnorm_2d");
}
TEST(test_nn_backward__groupnorm_1d_noaffine)
{
    run_groupnorm("groupnorm_1d_noaffine");
}
TEST(test_nn_backward__groupnorm_one_group)
{
    run_groupnorm("groupnorm_one_group");
}
TEST(test_nn_backward__groupnorm_per_channel)
{
    run_groupnorm("groupnorm_per_channel");
}

/* ---------------------------------------------------------------- softmax */

static void run_softmax(const char *name, bool logv)
{
    const ckpt_obj *c = attn_case(name);
    CHECK(c);
    const int64_t *xs = NULL;
    int nd = 0;
    int64_t nx = 0;
    const float *x = tensor(c, "input", &xs, &nd, &nx), *y = ften(c, "output", NULL);
    const float *dout = ften(c, "dout", NULL);
    CHECK(x && y && dout);
    const int64_t dim = opt(c, 0);
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < dim; i++)
        outer *= xs[i];
    for (int i = (int)dim + 1; i < nd; i++)
        inner *= xs[i];
    float *g = grads(nx);
    CHECK(g);
    if (logv)
        ckpt_nn_logsoftmax_backward(g, dout, y, outer, xs[dim], inner);
    else
        ckpt_nn_softmax_backward(g, dout, y, outer, xs[dim], inner);
    torch_cmp(name, c, "dinput", g, nx);
    av_case f = {.kind = logv ? K_LSM : K_SM,
                 .nv = 1,
                 .size = {nx},
                 .has = {1},
                 .d = {outer, xs[dim], inner},
                 .dout = dout,
                 .ny = nx};
    av_fd_check(name, &f, (const float *const[]){x}, (float *const[]){g});
    free(g);
}

TEST(test_nn_backward__softmax_dim0)
{
    run_softmax("softmax_dim0", 0);
}
TEST(test_nn_backward__softmax_dim1)
{
    run_softmax("softmax_dim1", 0);
}
TEST(test_nn_backward__softmax_dim2)
{
    run_softmax("softmax_dim2", 0);
}
TEST(test_nn_backward__logsoftmax_dim0)
{
    run_softmax("logsoftmax_dim0", 1);
}
TEST(test_nn_backward__logsoftmax_dim1)
{
    run_softmax("logsoftmax_dim1", 1);
}
TEST(test_nn_backward__logsoftmax_dim2)
{
    run_softmax("logsoftmax_dim2", 1);
}

/* ----------------------------------------------------- MultiheadAttention */

static void run_mha(const char *name)
{
    const ckpt_obj *c = attn_case(name);
    CHECK(c);
    const int64_t *qs = NULL, *ks = NULL;
    int nd = 0;
    int64_t nq = 0, nk = 0, niw = 0, nib = 0, now_ = 0, nob = 0, ny = 0;
    const bool self = opt(c, 2) != 0, bf = opt(c, 1) != 0;
    const float *q = tensor(c, "query", &qs, &nd, &nq);
    const float *k = self ? q : tensor(c, "key", &ks, NULL, &nk);
    const float *v = self ? q : ften(c, "value", NULL);
    const float *iw = ften(c, "in_proj_weight", &niw), *ib = ften(c, "in_proj_bias", &nib);
    const float *ow = ften(c, "out_proj_weight", &now_), *ob = ften(c, "out_proj_bias", &nob);
    const float *dout = ften(c, "dout", &ny);
    CHECK(q && k && v && iw && ow && dout);
    if (self)
        ks = qs, nk = nq;
    ckpt_nn_multihead_attention_dims d = {.h = opt(c, 0), .batch_first = bf, .e = qs[nd - 1]};
    if (nd == 2) {
        d.b = 1, d.t = qs[0], d.s = ks[0];
    } else {
        d.b = bf ? qs[0] : qs[1], d.t = bf ? qs[1] : qs[0], d.s = bf ? ks[1] : ks[0];
    }
    const int64_t nvk = self ? 0 : nk;
    float *g = grads(nq + 2 * nvk + niw + nib + now_ + nob +
                     (int64_t)ckpt_nn_multihead_attention_backward_ws(&d));
    CHECK(g);
    float *gq = g, *gk = self ? g : g + nq, *gv = self ? g : gk + nvk;
    float *giw = g + nq + 2 * nvk, *gib = giw + niw, *gow = gib + nib, *gob = gow + now_;
    ckpt_nn_multihead_attention_backward(gq, gk, gv, giw, ib ? gib : NULL, gow, ob ? gob : NULL,
                                         dout, q, k, v, iw, ib, ow, ob, NULL, 0.0, gob + nob, &d);
    torch_cmp(name, c, "dquery", gq, nq);
    if (!self) {
        torch_cmp(name, c, "dkey", gk, nk);
        torch_cmp(name, c, "dvalue", gv, nk);
    }
    torch_cmp(name, c, "din_proj_weight", giw, niw);
    torch_cmp(name, c, "dout_proj_weight", gow, now_);
    if (ib) {
        torch_cmp(name, c, "din_proj_bias", gib, nib);
        torch_cmp(name, c, "dout_proj_bias", gob, nob);
    }
    av_case f = {.kind = K_MHA,
                 .nv = 7,
                 .size = {nq, nvk, nvk, niw, nib, now_, nob},
                 .has = {1, !self, !self, 1, ib != NULL, 1, ob != NULL},
                 .md = d,
                 .self_attn = self,
                 .dout = dout,
                 .ny = ny};
    av_fd_check(name, &f, (const float *const[]){q, k, v, iw, ib, ow, ob},
                (float *const[]){gq, gk, gv, giw, gib, gow, gob});
    free(g);
}

TEST(test_nn_backward__mha_self_seq)
{
    run_mha("mha_self_seq");
}
TEST(test_nn_backward__mha_self_batch_first)
{
    run_mha("mha_self_batch_first");
}
TEST(test_nn_backward__mha_cross_seq)
{
    run_mha("mha_cross_seq");
}
TEST(test_nn_backward__mha_cross_batch_first)
{
    run_mha("mha_cross_batch_first");
}
TEST(test_nn_backward__mha_cross_unbatched)
{
    run_mha("mha_cross_unbatched");
}
TEST(test_nn_backward__mha_self_nobias)
{
    run_mha("mha_self_nobias");
}

/* ------------------------------------------------ TransformerEncoderLayer */

static const char *const enc_keys[12] = {"self_attn_in_proj_weight",
                                         "self_attn_in_proj_bias",
                                         "self_attn_out_proj_weight",
                                         "self_attn_out_proj_bias",
                                         "linear1_weight",
                                         "linear1_bias",
                                         "linear2_weight",
                                         "linear2_bias",
                                         "norm1_weight",
                                         "norm1_bias",
                                         "norm2_weight",
                                         "norm2_bias"};

static void run_encoder(const char *name)
{
    const ckpt_obj *c = attn_case(name);
    CHECK(c);
    const int64_t *xs = NULL;
    int64_t nx = 0, ny = 0, np[12] = {0};
    const float *x = tensor(c, "input", &xs, NULL, &nx), *dout = ften(c, "dout", &ny);
    const float *prm[12];
    bool ok = x && dout;
    for (int i = 0; i < 12; i++) {
        prm[i] = ften(c, enc_keys[i], &np[i]);
        ok = ok && prm[i];
    }
    CHECK(ok);
    const bool bf = opt(c, 3) != 0;
    ckpt_nn_transformer_encoder_layer_dims d = {.b = bf ? xs[0] : xs[1],
                                                .t = bf ? xs[1] : xs[0],
                                                .e = xs[2],
                                                .h = opt(c, 0),
                                                .ff = opt(c, 1),
                                                .act = opt(c, 2) ? CKPT_ACT_RELU : CKPT_ACT_GELU,
                                                .eps = fopt(c, 0),
                                                .batch_first = bf,
                                                .norm_first = opt(c, 4) != 0};
    const double p = fopt(c, 1);
    ckpt_nn_transformer_encoder_layer_masks m = {.attn = tensor(c, "mask_attn", NULL, NULL, NULL),
                                                 .drop1 = tensor(c, "mask_drop1", NULL, NULL,
                                                                 NULL),
                                                 .drop = tensor(c, "mask_drop", NULL, NULL, NULL),
                                                 .drop2 = tensor(c, "mask_drop2", NULL, NULL,
                                                                 NULL),
                                                 .p = p};
    CHECK(p == 0.0 || (m.attn && m.drop1 && m.drop && m.drop2));
    int64_t ntot = nx;
    for (int i = 0; i < 12; i++)
        ntot += np[i];
    float *g = grads(ntot + (int64_t)ckpt_nn_transformer_encoder_layer_backward_ws(&d));
    CHECK(g);
    float *gp[13];
    gp[0] = g;
    for (int i = 0; i < 12; i++)
        gp[i + 1] = gp[i] + (i == 0 ? nx : np[i - 1]);
    ckpt_nn_transformer_encoder_layer_params pp = {prm[0], prm[1], prm[2],  prm[3],
                                                   prm[4], prm[5], prm[6],  prm[7],
                                                   prm[8], prm[9], prm[10], prm[11]};
    ckpt_nn_transformer_encoder_layer_grads gg = {gp[1], gp[2], gp[3], gp[4],  gp[5],  gp[6],
                                                  gp[7], gp[8], gp[9], gp[10], gp[11], gp[12]};
    ckpt_nn_transformer_encoder_layer_backward(g, &gg, dout, x, &pp, p > 0.0 ? &m : NULL,
                                               g + ntot, &d);
    torch_cmp(name, c, "dinput", g, nx);
    for (int i = 0; i < 12; i++) {
        char key[64];
        snprintf(key, sizeof key, "d%s", enc_keys[i]);
        torch_cmp(name, c, key, gp[i + 1], np[i]);
    }
    av_case f = {.kind = K_ENC,
                 .nv = 13,
                 .ed = d,
                 .p = p,
                 .dout = dout,
                 .ny = ny,
                 .mask = {p > 0.0 ? m.attn : NULL, p > 0.0 ? m.drop1 : NULL,
                          p > 0.0 ? m.drop : NULL, p > 0.0 ? m.drop2 : NULL}};
    const float *vars[13];
    vars[0] = x;
    f.size[0] = nx;
    f.has[0] = true;
    for (int i = 0; i < 12; i++) {
        vars[i + 1] = prm[i];
        f.size[i + 1] = np[i];
        f.has[i + 1] = true;
    }
    av_fd_check(name, &f, vars, gp);
    free(g);
}

TEST(test_nn_backward__encoder_post_relu_seq)
{
    run_encoder("encoder_post_relu_seq");
}
TEST(test_nn_backward__encoder_post_gelu_batch_first)
{
    run_encoder("encoder_post_gelu_batch_first");
}
TEST(test_nn_backward__encoder_pre_relu_batch_first)
{
    run_encoder("encoder_pre_relu_batch_first");
}
TEST(test_nn_backward__encoder_pre_gelu_seq)
{
    run_encoder("encoder_pre_gelu_seq");
}
TEST(test_nn_backward__encoder_post_relu_train)
{
    run_encoder("encoder_post_relu_train");
}
TEST(test_nn_backward__encoder_pre_gelu_train_batch_first)
{
    run_encoder("encoder_pre_gelu_train_batch_first");
}

__attribute__((destructor)) static void free_fixture(void)
{
    ckpt_doc_free(g_doc);
    ckpt_doc_free(g_doc_attn);
}

TEST_MAIN()
