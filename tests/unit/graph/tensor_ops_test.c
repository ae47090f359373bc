/* tests/unit/graph/tensor_ops_test.c - the tensor ops of ckpt/autograd.h
 * (element-wise with broadcasting, matmul/bmm, shape ops, sum/mean):
 *  - forward outputs and autograd gradients against torch 1.13
 *    (tests/fixtures/graph/tensor_ops.pt, made by gen_tensor_ops.py), one
 *    ctest case per op running every fixture case of that op;
 *  - gradients against central finite differences in double, per op family
 *    (catches a wrong backward even if the fixture were wrong);
 *  - a chained graph (an MLP made only of these ops) against torch;
 *  - error cases: torch's own message texts, mixed tapes, int64 inputs,
 *    no-grad mode recording nothing.
 *
 * Closeness to torch: max |c - t| / max(max |t|, 1e-6) <= 1e-5 per tensor.
 * Every case prints its measured forward and gradient error. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/autograd.h"
#include "ckpt/torch.h"
#include "graph/graph_internal.h"
#include "util/test.h"

#define FIXTURE "tests/fixtures/graph/tensor_ops.pt"
#define TOL 1e-5
#define MAXV 8

static ckpt_doc *g_doc;

static const ckpt_obj *fixture(const char *part)
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
    return ckpt_dict_get(ckpt_doc_root(g_doc), part);
}

static double rel_diff(const float *a, const float *b, int64_t n)
{
    double md = 0.0, mb = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double av = a ? (double)a[i] : 0.0; /* a NULL gradient is all zeros */
        double d = fabs(av - (double)b[i]);
        if (d > md || d != d)
            md = d != d ? HUGE_VAL : d;
        if (fabs((double)b[i]) > mb)
            mb = fabs((double)b[i]);
    }
    return md / (mb > 1e-6 ? mb : 1e-6);
}

static int tensor_of(const ckpt_obj *t, ckpt_tensor_info *ti)
{
    return t && ckpt_tensor_get_info(t, ti) == 0 && ti->contiguous && ti->dtype == CKPT_F32 ? 0
                                                                                            : -1;
}

static int64_t ival(const ckpt_obj *c, size_t i)
{
    return ckpt_obj_int(ckpt_obj_item(ckpt_dict_get(c, "i"), i));
}

/* run op `op` of case c on inputs x; outputs into y[], count into *ny */
static int dispatch(const char *op, const ckpt_obj *c, ckpt_var **x, size_t nx, ckpt_var **y,
                    size_t *ny, ckpt_error *err)
{
    const ckpt_obj *il = ckpt_dict_get(c, "i");
    size_t ni = il ? ckpt_obj_len(il) : 0;
    double f = ckpt_obj_float(ckpt_dict_get(c, "f"));
    bool keep = ckpt_dict_get(c, "keepdim") && ckpt_obj_bool(ckpt_dict_get(c, "keepdim"));
    *ny = 1;
    y[0] = NULL;
    if (!strcmp(op, "add"))
        y[0] = ckpt_f_add(x[0], x[1], err);
    else if (!strcmp(op, "sub"))
        y[0] = ckpt_f_sub(x[0], x[1], err);
    else if (!strcmp(op, "mul"))
        y[0] = ckpt_f_mul(x[0], x[1], err);
    else if (!strcmp(op, "mul_self"))
        y[0] = ckpt_f_mul(x[0], x[0], err);
    else if (!strcmp(op, "div"))
        y[0] = ckpt_f_div(x[0], x[1], err);
    else if (!strcmp(op, "add_scalar"))
        y[0] = ckpt_f_add_scalar(x[0], f, err);
    else if (!strcmp(op, "mul_scalar"))
        y[0] = ckpt_f_mul_scalar(x[0], f, err);
    else if (!strcmp(op, "pow_scalar"))
        y[0] = ckpt_f_pow_scalar(x[0], f, err);
    else if (!strcmp(op, "neg"))
        y[0] = ckpt_f_neg(x[0], err);
    else if (!strcmp(op, "exp"))
        y[0] = ckpt_f_exp(x[0], err);
    else if (!strcmp(op, "log"))
        y[0] = ckpt_f_log(x[0], err);
    else if (!strcmp(op, "sqrt"))
        y[0] = ckpt_f_sqrt(x[0], err);
    else if (!strcmp(op, "matmul"))
        y[0] = ckpt_f_matmul(x[0], x[1], err);
    else if (!strcmp(op, "matmul_self"))
        y[0] = ckpt_f_matmul(x[0], x[0], err);
    else if (!strcmp(op, "bmm"))
        y[0] = ckpt_f_bmm(x[0], x[1], err);
    else if (!strcmp(op, "reshape")) {
        int64_t s[MAXV];
        for (size_t i = 0; i < ni; i++)
            s[i] = ival(c, i);
        y[0] = ckpt_f_reshape(x[0], (int)ni, s, err);
    } else if (!strcmp(op, "flatten"))
        y[0] = ckpt_f_flatten(x[0], (int)ival(c, 0), (int)ival(c, 1), err);
    else if (!strcmp(op, "permute")) {
        int d[MAXV];
        for (size_t i = 0; i < ni; i++)
            d[i] = (int)ival(c, i);
        y[0] = ckpt_f_permute(x[0], (int)ni, d, err);
    } else if (!strcmp(op, "transpose"))
        y[0] = ckpt_f_transpose(x[0], (int)ival(c, 0), (int)ival(c, 1), err);
    else if (!strcmp(op, "contiguous"))
        y[0] = ckpt_f_contiguous(x[0], err);
    else if (!strcmp(op, "cat"))
        y[0] = ckpt_f_cat(x, nx, (int)ival(c, 0), err);
    else if (!strcmp(op, "stack"))
        y[0] = ckpt_f_stack(x, nx, (int)ival(c, 0), err);
    else if (!strcmp(op, "split"))
        return ckpt_f_split(x[0], ival(c, 0), (int)ival(c, 1), y, MAXV, ny, err);
    else if (!strcmp(op, "chunk"))
        return ckpt_f_chunk(x[0], ival(c, 0), (int)ival(c, 1), y, MAXV, ny, err);
    else if (!strcmp(op, "slice"))
        y[0] = ckpt_f_slice(x[0], (int)ival(c, 0), ival(c, 1), ival(c, 2), ival(c, 3), err);
    else if (!strcmp(op, "select"))
        y[0] = ckpt_f_select(x[0], (int)ival(c, 0), ival(c, 1), err);
    else if (!strcmp(op, "sum") || !strcmp(op, "mean")) {
        int d[MAXV];
        for (size_t i = 0; i < ni; i++)
            d[i] = (int)ival(c, i);
        y[0] = (op[0] == 's' ? ckpt_f_sum : ckpt_f_mean)(x[0], (int)ni, ni ? d : NULL, keep, err);
    } else if (!strcmp(op, "mlp")) {
        /* h = x @ w1 + b1; a = h / (h**2 + 1); z = a @ w2 + b2;
         * t = transpose(reshape(z, (2,2,3)), 0, 2);
         * loss = mean(sum(t, 1) ** 2) - mean(exp(-z)) */
        ckpt_var *h = ckpt_f_add(ckpt_f_matmul(x[0], x[1], err), x[2], err);
        ckpt_var *a = ckpt_f_div(h, ckpt_f_add_scalar(ckpt_f_pow_scalar(h, 2.0, err), 1.0, err),
                                 err);
        ckpt_var *z = ckpt_f_add(ckpt_f_matmul(a, x[3], err), x[4], err);
        ckpt_var *t = ckpt_f_transpose(ckpt_f_reshape(z, 3, (const int64_t[]){2, 2, 3}, err), 0,
                                       2, err);
        ckpt_var *s = ckpt_f_pow_scalar(ckpt_f_sum(t, 1, (const int[]){1}, false, err), 2.0, err);
        ckpt_var *e = ckpt_f_exp(ckpt_f_neg(z, err), err);
        y[0] = ckpt_f_sub(ckpt_f_mean(s, 0, NULL, false, err),
                          ckpt_f_mean(e, 0, NULL, false, err), err);
    } else {
        fprintf(stderr, "unknown op %s\n", op);
        return -1;
    }
    return y[0] ? 0 : -1;
}

/* one fixture case: forward and gradients against torch; errors measured */
static int run_case(const char *name, const ckpt_obj *c, double *fe, double *ge)
{
    ckpt_error err = {0};
    const char *op = ckpt_obj_str(ckpt_dict_get(c, "op"), NULL);
    const ckpt_obj *xs = ckpt_dict_get(c, "xs"), *ys = ckpt_dict_get(c, "ys");
    const ckpt_obj *gys = ckpt_dict_get(c, "gys"), *gxs = ckpt_dict_get(c, "gxs");
    int rc = -1;
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    if (!op || !xs || !ys || !gys || !gxs || !t)
        goto out;
    ckpt_var *x[MAXV], *y[MAXV];
    size_t nx = ckpt_obj_len(xs), ny = 0;
    for (size_t i = 0; i < nx; i++) {
        ckpt_tensor_info ti;
        if (tensor_of(ckpt_obj_item(xs, i), &ti) < 0)
            goto out;
        x[i] = ckpt_tape_tensor(t, ti.ndim, ti.shape, ckpt_tensor_data(ckpt_obj_item(xs, i)),
                                &err);
        if (!x[i] || ckpt_var_set_requires_grad(x[i], true, &err) < 0)
            goto out;
    }
    if (dispatch(op, c, x, nx, y, &ny, &err) < 0) {
        fprintf(stderr, "%s: %s\n", name, err.msg);
        goto out;
    }
    if (ny != ckpt_obj_len(ys)) {
        fprintf(stderr, "%s: %zu outputs, torch %zu\n", name, ny, ckpt_obj_len(ys));
        goto out;
    }
    *fe = 0;
    for (size_t j = 0; j < ny; j++) {
        ckpt_tensor_info ti;
        if (tensor_of(ckpt_obj_item(ys, j), &ti) < 0 || ti.ndim != ckpt_var_ndim(y[j]) ||
            (ti.ndim > 0 &&
             memcmp(ti.shape, ckpt_var_shape(y[j]), (size_t)ti.ndim * sizeof(int64_t)) != 0)) {
            fprintf(stderr, "%s: output %zu has another shape than torch's\n", name, j);
            goto out;
        }
        double e = rel_diff(ckpt_var_data(y[j]), ckpt_tensor_data(ckpt_obj_item(ys, j)),
                            ti.numel);
        *fe = e > *fe ? e : *fe;
    }
    for (size_t j = 0; j < ny; j++) {
        if (ckpt_backward_with(y[j], ckpt_tensor_data(ckpt_obj_item(gys, j)), &err) < 0) {
            fprintf(stderr, "%s: backward: %s\n", name, err.msg);
            goto out;
        }
    }
    *ge = 0;
    for (size_t i = 0; i < nx; i++) {
        ckpt_tensor_info ti;
        if (tensor_of(ckpt_obj_item(gxs, i), &ti) < 0 || ti.numel != ckpt_var_numel(x[i]))
            goto out;
        double e = rel_diff(ckpt_var_grad(x[i]), ckpt_tensor_data(ckpt_obj_item(gxs, i)),
                            ti.numel);
        *ge = e > *ge ? e : *ge;
    }
    printf("%-24s forward %.2e  grad %.2e\n", name, *fe, *ge);
    rc = 0;
out:
    ckpt_tape_free(t);
    return rc;
}

/* every fixture case of `op`: each within TOL of torch */
static void run_op(const char *op)
{
    const ckpt_obj *cases = fixture("cases");
    CHECK(cases != NULL);
    int found = 0;
    double wf = 0, wg = 0;
    for (size_t i = 0; i < ckpt_obj_len(cases); i++) {
        const ckpt_obj *c = ckpt_dict_value(cases, i);
        const char *name = ckpt_obj_str(ckpt_dict_key(cases, i), NULL);
        const char *cop = ckpt_obj_str(ckpt_dict_get(c, "op"), NULL);
        if (!cop || strcmp(cop, op) != 0)
            continue;
        found++;
        double fe = HUGE_VAL, ge = HUGE_VAL;
        int rc = run_case(name, c, &fe, &ge);
        if (rc != 0 || !(fe <= TOL) || !(ge <= TOL))
            fprintf(stderr, "%s: forward %.3g, grad %.3g (limit %.0e)\n", name, fe, ge, TOL);
        CHECK(rc == 0 && fe <= TOL && ge <= TOL);
        wf = fe > wf ? fe : wf;
        wg = ge > wg ? ge : wg;
    }
    printf("op %-12s %d cases, worst forward %.2e, worst grad %.2e\n", op, found, wf, wg);
    CHECK(found > 0);
}

TEST(graph_tensor_ops__add)
{
    run_op("add");
}
TEST(graph_tensor_ops__sub)
{
    run_op("sub");
}
TEST(graph_tensor_ops__mul)
{
    run_op("mul");
    run_op("mul_self");
}
TEST(graph_tensor_ops__div)
{
    run_op("div");
}
TEST(graph_tensor_ops__add_scalar)
{
    run_op("add_scalar");
}
TEST(graph_tensor_ops__mul_scalar)
{
    run_op("mul_scalar");
}
TEST(graph_tensor_ops__neg)
{
    run_op("neg");
}
TEST(graph_tensor_ops__exp)
{
    run_op("exp");
}
TEST(graph_tensor_ops__log)
{
    run_op("log");
}
TEST(graph_tensor_ops__sqrt)
{
    run_op("sqrt");
}
TEST(graph_tensor_ops__pow_scalar)
{
    run_op("pow_scalar");
}
TEST(graph_tensor_ops__matmul)
{
    run_op("matmul");
    run_op("matmul_self");
}
TEST(graph_tensor_ops__bmm)
{
    run_op("bmm");
}
TEST(graph_tensor_ops__reshape)
{
    run_op("reshape");
}
TEST(graph_tensor_ops__flatten)
{
    run_op("flatten");
}
TEST(graph_tensor_ops__permute)
{
    run_op("permute");
}
TEST(graph_tensor_ops__transpose)
{
    run_op("transpose");
}
TEST(graph_tensor_ops__contiguous)
{
    run_op("contiguous");
}
TEST(graph_tensor_ops__cat)
{
    run_op("cat");
}
TEST(graph_tensor_ops__stack)
{
    run_op("stack");
}
TEST(graph_tensor_ops__split)
{
    run_op("split");
}
TEST(graph_tensor_ops__chunk)
{
    run_op("chunk");
}
TEST(graph_tensor_ops__slice)
{
    run_op("slice");
}
TEST(graph_tensor_ops__select)
{
    run_op("select");
}
TEST(graph_tensor_ops__sum)
{
    run_op("sum");
}
TEST(graph_tensor_ops__mean)
{
    run_op("mean");
}
TEST(graph_tensor_ops__chained_mlp)
{
    run_op("mlp");
}

/* ------------------------------------------------------ finite differences */

/* an op under test: y = fn(inputs, arg) */
typedef ckpt_var *(*fd_fn)(ckpt_var **in, const void *arg, ckpt_error *err);

typedef struct fd_case {
    const char *name;
    fd_fn fn;
    const void *arg;
    int nin;
    int ndim[4];
    int64_t shape[4][6];
    bool positive; /* inputs in [0.5, 1.5] (log, sqrt, pow, divisors) */
} fd_case;

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static float frand(void)
{
    g_rng = g_rng * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((g_rng >> 40) / (double)(1ull << 24)); /* [0, 1) */
}

/* sum(y * w) in double, inputs `vals`, on a tape with grad mode off */
static double fd_eval(const fd_case *fc, float **vals, const float *w, ckpt_tape *t)
{
    ckpt_error err = {0};
    ckpt_var *in[4];
    for (int i = 0; i < fc->nin; i++)
        in[i] = ckpt_tape_tensor(t, fc->ndim[i], fc->shape[i], vals[i], &err);
    ckpt_var *y = fc->fn(in, fc->arg, &err);
    double s = 0;
    for (int64_t j = 0; y && j < ckpt_var_numel(y); j++)
        s += (double)ckpt_var_data(y)[j] * (double)w[j];
    ckpt_tape_reset(t);
    return y ? s : (double)NAN;
}

/* max relative difference between the analytic gradient and central
 * differences (step 1e-2, relative to the largest numeric gradient) */
static double fd_run(const fd_case *fc)
{
    ckpt_error err = {0};
    ckpt_tape *t = ckpt_tape_new(NULL, &err), *tn = ckpt_tape_new(NULL, &err);
    ckpt_tape_set_grad_enabled(tn, false);
    float *vals[4] = {NULL};
    ckpt_var *in[4];
    double worst = HUGE_VAL;
    for (int i = 0; i < fc->nin; i++) {
        int64_t n = 1;
        for (int d = 0; d < fc->ndim[i]; d++)
            n *= fc->shape[i][d];
        vals[i] = malloc((size_t)(n ? n : 1) * sizeof(float));
        for (int64_t j = 0; j < n; j++)
            vals[i][j] = fc->positive ? 0.5f + frand() : 2.0f * frand() - 1.0f;
        in[i] = ckpt_tape_tensor(t, fc->ndim[i], fc->shape[i], vals[i], &err);
        ckpt_var_set_requires_grad(in[i], true, &err);
    }
    ckpt_var *y = fc->fn(in, fc->arg, &err);
    float *w = NULL;
    if (!y) {
        fprintf(stderr, "%s: %s\n", fc->name, err.msg);
        goto out;
    }
    w = malloc((size_t)(ckpt_var_numel(y) ? ckpt_var_numel(y) : 1) * sizeof(float));
    for (int64_t j = 0; j < ckpt_var_numel(y); j++)
        w[j] = 2.0f * frand() - 1.0f;
    if (ckpt_backward_with(y, w, &err) < 0) {
        fprintf(stderr, "%s: %s\n", fc->name, err.msg);
        goto out;
    }
    double md = 0, mg = 0;
    const float h = 1e-2f;
    for (int i = 0; i < fc->nin; i++) {
        const float *g = ckpt_var_grad(in[i]);
        for (int64_t j = 0; j < ckpt_var_numel(in[i]); j++) {
            float v = vals[i][j];
            vals[i][j] = v + h;
            double lp = fd_eval(fc, vals, w, tn);
            vals[i][j] = v - h;
            double lm = fd_eval(fc, vals, w, tn);
            vals[i][j] = v;
            double num = (lp - lm) / (2.0 * (double)h);
            double an = g ? (double)g[j] : 0.0;
            md = fabs(an - num) > md || an != an ? (an != an ? HUGE_VAL : fabs(an - num)) : md;
            mg = fabs(num) > mg ? fabs(num) : mg;
        }
    }
    worst = md / (mg > 1e-3 ? mg : 1e-3);
out:
    printf("fd %-20s %.2e\n", fc->name, worst);
    for (int i = 0; i < fc->nin; i++)
        free(vals[i]);
    free(w);
    ckpt_tape_free(t);
    ckpt_tape_free(tn);
    return worst;
}

#define FD_TOL 1e-2

static void fd_all(const fd_case *cs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        double e = fd_run(&cs[i]);
        if (!(e <= FD_TOL))
            fprintf(stderr, "%s: finite differences differ by %.3g\n", cs[i].name, e);
        CHECK(e <= FD_TOL);
    }
}

static ckpt_var *fd_add(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    return ckpt_f_add(x[0], x[1], e);
}
static ckpt_var *fd_sub(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    return ckpt_f_sub(x[0], x[1], e);
}
static ckpt_var *fd_mul(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    return ckpt_f_mul(x[0], x[1], e);
}
static ckpt_var *fd_div(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    return ckpt_f_div(x[0], x[1], e);
}
static ckpt_var *fd_unary(ckpt_var **x, const void *a, ckpt_error *e)
{
    const double *p = a; /* {kind, scalar} */
    switch ((int)p[0]) {
    case 0: return ckpt_f_add_scalar(x[0], p[1], e);
    case 1: return ckpt_f_mul_scalar(x[0], p[1], e);
    case 2: return ckpt_f_neg(x[0], e);
    case 3: return ckpt_f_exp(x[0], e);
    case 4: return ckpt_f_log(x[0], e);
    case 5: return ckpt_f_sqrt(x[0], e);
    default: return ckpt_f_pow_scalar(x[0], p[1], e);
    }
}

TEST(graph_tensor_ops__fd_elementwise)
{
    static const double k_add[2] = {0, 0.7}, k_mul[2] = {1, -1.3}, k_neg[2] = {2, 0},
                        k_exp[2] = {3, 0}, k_log[2] = {4, 0}, k_sqrt[2] = {5, 0},
                        k_pow[2] = {6, 1.7}, k_pow2[2] = {6, -2.0}, k_pow3[2] = {6, 3.0};
    const fd_case cs[] = {
        {"add_bcast", fd_add, NULL, 2, {3, 2}, {{3, 1, 4}, {2, 4}}, false},
        {"sub_bcast", fd_sub, NULL, 2, {1, 3}, {{4}, {2, 3, 4}}, false},
        {"mul_bcast", fd_mul, NULL, 2, {3, 2}, {{2, 3, 4}, {3, 1}}, false},
        {"mul_0d", fd_mul, NULL, 2, {2, 0}, {{2, 3}, {0}}, false},
        {"div_bcast", fd_div, NULL, 2, {2, 1}, {{3, 4}, {4}}, true},
        {"div_bcast_a", fd_div, NULL, 2, {1, 2}, {{4}, {3, 4}}, true},
        {"add_scalar", fd_unary, k_add, 1, {2}, {{3, 4}}, false},
        {"mul_scalar", fd_unary, k_mul, 1, {2}, {{3, 4}}, false},
        {"neg", fd_unary, k_neg, 1, {2}, {{3, 4}}, false},
        {"exp", fd_unary, k_exp, 1, {2}, {{3, 4}}, false},
        {"log", fd_unary, k_log, 1, {2}, {{3, 4}}, true},
        {"sqrt", fd_unary, k_sqrt, 1, {2}, {{3, 4}}, true},
        {"pow_1p7", fd_unary, k_pow, 1, {2}, {{3, 4}}, true},
        {"pow_m2", fd_unary, k_pow2, 1, {2}, {{3, 4}}, true},
        {"pow_3", fd_unary, k_pow3, 1, {2}, {{3, 4}}, false},
    };
    fd_all(cs, sizeof cs / sizeof cs[0]);
}

static ckpt_var *fd_matmul(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    return ckpt_f_matmul(x[0], x[1], e);
}
static ckpt_var *fd_bmm(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    return ckpt_f_bmm(x[0], x[1], e);
}

TEST(graph_tensor_ops__fd_matmul)
{
    const fd_case cs[] = {
        {"dot", fd_matmul, NULL, 2, {1, 1}, {{5}, {5}}, false},
        {"mv", fd_matmul, NULL, 2, {2, 1}, {{3, 5}, {5}}, false},
        {"vm", fd_matmul, NULL, 2, {1, 2}, {{5}, {5, 2}}, false},
        {"mm", fd_matmul, NULL, 2, {2, 2}, {{3, 5}, {5, 2}}, false},
        {"folded", fd_matmul, NULL, 2, {3, 2}, {{2, 3, 5}, {5, 2}}, false},
        {"bcast", fd_matmul, NULL, 2, {4, 3}, {{2, 1, 3, 4}, {3, 4, 2}}, false},
        {"vec_batched", fd_matmul, NULL, 2, {1, 3}, {{4}, {2, 4, 3}}, false},
        {"bmm", fd_bmm, NULL, 2, {3, 3}, {{2, 3, 4}, {2, 4, 2}}, false},
    };
    fd_all(cs, sizeof cs / sizeof cs[0]);
}

static ckpt_var *fd_reshape_permute(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    ckpt_var *r = ckpt_f_reshape(x[0], 3, (const int64_t[]){3, -1, 4}, e);
    return ckpt_f_permute(r, 3, (const int[]){2, 0, -2}, e);
}
static ckpt_var *fd_transpose_flatten(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    return ckpt_f_flatten(ckpt_f_transpose(x[0], 0, -1, e), 1, 2, e);
}
static ckpt_var *fd_cat(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    ckpt_var *xs[3] = {x[1], x[0], x[1]}; /* x[1] twice: its gradient accumulates */
    return ckpt_f_cat(xs, 3, 1, e);
}
static ckpt_var *fd_stack(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    return ckpt_f_stack(x, 2, -1, e);
}
/* pieces joined back in reverse order, the first one scaled */
static ckpt_var *rejoin(ckpt_var **p, size_t n, ckpt_error *e)
{
    ckpt_var *r[8];
    for (size_t i = 0; i < n; i++)
        r[i] = p[n - 1 - i];
    r[n - 1] = ckpt_f_mul_scalar(r[n - 1], 3.0, e);
    return ckpt_f_cat(r, n, 0, e);
}
static ckpt_var *fd_split(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    ckpt_var *p[8];
    size_t n = 0;
    if (ckpt_f_split(x[0], 2, 0, p, 8, &n, e) < 0)
        return NULL;
    return rejoin(p, n, e);
}
static ckpt_var *fd_chunk(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    ckpt_var *p[8];
    size_t n = 0;
    if (ckpt_f_chunk(x[0], 3, 0, p, 8, &n, e) < 0)
        return NULL;
    return rejoin(p, n, e);
}
static ckpt_var *fd_slice(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    return ckpt_f_slice(x[0], -1, -6, INT64_MAX, 2, e);
}
static ckpt_var *fd_select(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    return ckpt_f_select(x[0], 1, -2, e);
}

TEST(graph_tensor_ops__fd_shape)
{
    const fd_case cs[] = {
        {"reshape_permute", fd_reshape_permute, NULL, 1, {2}, {{6, 4}}, false},
        {"transpose_flatten", fd_transpose_flatten, NULL, 1, {3}, {{2, 3, 4}}, false},
        {"cat_repeat", fd_cat, NULL, 2, {2, 2}, {{2, 3}, {2, 2}}, false},
        {"stack_last", fd_stack, NULL, 2, {2, 2}, {{2, 3}, {2, 3}}, false},
        {"split", fd_split, NULL, 1, {2}, {{5, 3}}, false},
        {"chunk", fd_chunk, NULL, 1, {2}, {{7, 2}}, false},
        {"slice_step", fd_slice, NULL, 1, {2}, {{3, 9}}, false},
        {"select", fd_select, NULL, 1, {3}, {{2, 4, 3}}, false},
    };
    fd_all(cs, sizeof cs / sizeof cs[0]);
}

static ckpt_var *fd_sum(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    return ckpt_f_sum(x[0], 2, (const int[]){-1, 1}, true, e);
}
static ckpt_var *fd_mean(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    return ckpt_f_mean(x[0], 1, (const int[]){0}, false, e);
}
static ckpt_var *fd_mean_all(ckpt_var **x, const void *a, ckpt_error *e)
{
    (void)a;
    return ckpt_f_mean(ckpt_f_mul(x[0], x[0], e), 0, NULL, false, e);
}

TEST(graph_tensor_ops__fd_reduce)
{
    const fd_case cs[] = {
        {"sum_keep", fd_sum, NULL, 1, {3}, {{2, 3, 4}}, false},
        {"mean_dim0", fd_mean, NULL, 1, {3}, {{3, 2, 2}}, false},
        {"mean_all_sq", fd_mean_all, NULL, 1, {2}, {{3, 5}}, false},
    };
    fd_all(cs, sizeof cs / sizeof cs[0]);
}

/* ------------------------------------------------------------------ errors */

/* err's message holds "<op>: " followed by torch's text for `key` */
static bool torch_text(const ckpt_error *err, const char *op, const char *key)
{
    const char *want = ckpt_obj_str(ckpt_dict_get(fixture("errors"), key), NULL);
    char buf[640];
    snprintf(buf, sizeof buf, "%s: %s", op, want ? want : "(missing)");
    if (!want || !strstr(err->msg, buf)) {
        fprintf(stderr, "%s: got \"%s\", expected it to contain \"%s\"\n", key, err->msg, buf);
        return false;
    }
    return true;
}

TEST(graph_tensor_ops__errors_match_torch)
{
    ckpt_error err = {0};
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    CHECK(fixture("errors") != NULL);
    ckpt_var *z23 = ckpt_tape_tensor(t, 2, (const int64_t[]){2, 3}, NULL, &err);
    ckpt_var *z4 = ckpt_tape_tensor(t, 1, (const int64_t[]){4}, NULL, &err);
    ckpt_var *z34 = ckpt_tape_tensor(t, 2, (const int64_t[]){3, 4}, NULL, &err);
    ckpt_var *z3 = ckpt_tape_tensor(t, 1, (const int64_t[]){3}, NULL, &err);
    ckpt_var *z32 = ckpt_tape_tensor(t, 2, (const int64_t[]){3, 2}, NULL, &err);
    ckpt_var *z03 = ckpt_tape_tensor(t, 2, (const int64_t[]){0, 3}, NULL, &err);
    ckpt_var *z0d = ckpt_tape_tensor(t, 0, NULL, NULL, &err);
    ckpt_var *z234 = ckpt_tape_tensor(t, 3, (const int64_t[]){2, 3, 4}, NULL, &err);
    CHECK(z23 && z4 && z34 && z3 && z32 && z03 && z0d && z234);

    ckpt_error_clear(&err);
    CHECK(ckpt_f_reshape(z23, 2, (const int64_t[]){5, -1}, &err) == NULL);
    CHECK(err.code == CKPT_E_SHAPE && torch_text(&err, "reshape", "reshape_bad"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_reshape(z23, 2, (const int64_t[]){4, 2}, &err) == NULL);
    CHECK(torch_text(&err, "reshape", "reshape_bad_noinfer"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_reshape(z23, 2, (const int64_t[]){-1, -1}, &err) == NULL);
    CHECK(torch_text(&err, "reshape", "reshape_two_infer"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_reshape(z23, 2, (const int64_t[]){-2, 3}, &err) == NULL);
    CHECK(torch_text(&err, "reshape", "reshape_negative"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_reshape(z03, 2, (const int64_t[]){-1, 0}, &err) == NULL);
    CHECK(torch_text(&err, "reshape", "reshape_ambiguous"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_add(z23, z4, &err) == NULL);
    CHECK(err.code == CKPT_E_SHAPE && torch_text(&err, "add", "add_broadcast"));
    CHECK(strstr(err.msg, "(2, 3)") && strstr(err.msg, "(4,)"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_cat((ckpt_var *[]){z23, z34}, 2, 1, &err) == NULL);
    CHECK(torch_text(&err, "cat", "cat_sizes") && strstr(err.msg, "(3, 4)"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_cat((ckpt_var *[]){z23, z3}, 2, 0, &err) == NULL);
    CHECK(torch_text(&err, "cat", "cat_ndim"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_stack((ckpt_var *[]){z23, z32}, 2, 0, &err) == NULL);
    CHECK(torch_text(&err, "stack", "stack_sizes"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_select(z23, -1, 5, &err) == NULL);
    CHECK(torch_text(&err, "select", "select_range"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_select(z0d, 0, 0, &err) == NULL);
    CHECK(torch_text(&err, "select", "select_0d"));
    ckpt_var *outs[4];
    size_t n = 99;
    ckpt_error_clear(&err);
    CHECK(ckpt_f_chunk(z23, 0, 0, outs, 4, &n, &err) < 0 && n == 0);
    CHECK(torch_text(&err, "chunk", "chunk_zero"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_split(z23, 0, 1, outs, 4, &n, &err) < 0);
    CHECK(torch_text(&err, "split", "split_zero"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_split(z23, -1, 1, outs, 4, &n, &err) < 0);
    CHECK(torch_text(&err, "split", "split_negative"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_permute(z23, 2, (const int[]){0, 0}, &err) == NULL);
    CHECK(torch_text(&err, "permute", "permute_dup"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_sum(z23, 2, (const int[]){0, -2}, false, &err) == NULL);
    CHECK(torch_text(&err, "sum", "sum_dup"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_flatten(z234, 2, 1, &err) == NULL);
    CHECK(torch_text(&err, "flatten", "flatten_order"));
    ckpt_tape_free(t);
}

TEST(graph_tensor_ops__errors_shapes_tapes_dtypes)
{
    ckpt_error err = {0};
    ckpt_tape *t = ckpt_tape_new(NULL, &err), *t2 = ckpt_tape_new(NULL, &err);
    ckpt_var *a = ckpt_tape_tensor(t, 2, (const int64_t[]){2, 3}, NULL, &err);
    ckpt_var *b = ckpt_tape_tensor(t, 2, (const int64_t[]){4, 5}, NULL, &err);
    ckpt_var *o = ckpt_tape_tensor(t2, 2, (const int64_t[]){2, 3}, NULL, &err);
    ckpt_var *i = ckpt_tape_index(t, 2, (const int64_t[]){2, 3},
                                  (const int64_t[]){1, 2, 3, 4, 5, 6}, &err);
    CHECK(a && b && o && i);
    /* shape mismatches name the op and both shapes */
    ckpt_error_clear(&err);
    CHECK(ckpt_f_matmul(a, b, &err) == NULL && err.code == CKPT_E_SHAPE);
    CHECK(strstr(err.msg, "matmul") && strstr(err.msg, "(2, 3)") && strstr(err.msg, "(4, 5)"));
    ckpt_var *a3 = ckpt_tape_tensor(t, 3, (const int64_t[]){2, 2, 3}, NULL, &err);
    ckpt_var *b3 = ckpt_tape_tensor(t, 3, (const int64_t[]){3, 3, 4}, NULL, &err);
    ckpt_error_clear(&err);
    CHECK(ckpt_f_matmul(a3, b3, &err) == NULL && strstr(err.msg, "(2, 2, 3)") &&
          strstr(err.msg, "(3, 3, 4)") && strstr(err.msg, "batch"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_bmm(a3, b3, &err) == NULL && strstr(err.msg, "bmm") &&
          strstr(err.msg, "(2, 2, 3)"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_bmm(a, b3, &err) == NULL && strstr(err.msg, "bmm") && strstr(err.msg, "3D"));
    ckpt_var *s0 = ckpt_tape_tensor(t, 0, NULL, NULL, &err);
    ckpt_error_clear(&err);
    CHECK(ckpt_f_matmul(s0, a, &err) == NULL && strstr(err.msg, "at least 1D"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_mul(a, b, &err) == NULL && strstr(err.msg, "mul") && strstr(err.msg, "(4, 5)"));
    /* mixed tapes */
    ckpt_error_clear(&err);
    CHECK(ckpt_f_add(a, o, &err) == NULL && err.code == CKPT_E_ARG);
    CHECK(strstr(err.msg, "add") && strstr(err.msg, "another tape"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_matmul(a, o, &err) == NULL && strstr(err.msg, "another tape"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_cat((ckpt_var *[]){a, o}, 2, 0, &err) == NULL &&
          strstr(err.msg, "another tape"));
    /* int64 where float32 is needed */
    ckpt_error_clear(&err);
    CHECK(ckpt_f_add(a, i, &err) == NULL && err.code == CKPT_E_ARG && strstr(err.msg, "float32"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_exp(i, &err) == NULL && strstr(err.msg, "exp") && strstr(err.msg, "float32"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_matmul(i, a, &err) == NULL && strstr(err.msg, "float32"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_sum(i, 0, NULL, false, &err) == NULL && strstr(err.msg, "sum"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_cat((ckpt_var *[]){a, i}, 2, 0, &err) == NULL && strstr(err.msg, "cat"));
    /* shape ops carry int64 vars (targets, token ids) */
    ckpt_var *it = ckpt_f_transpose(i, 0, 1, &err);
    CHECK(it && ckpt_var_dtype(it) == CKPT_I64 && ckpt_var_index_data(it)[1] == 4);
    ckpt_var *is = ckpt_f_slice(i, 1, 1, INT64_MAX, 1, &err);
    CHECK(is && ckpt_var_index_data(is)[2] == 5);
    ckpt_var *ir = ckpt_f_reshape(i, 1, (const int64_t[]){-1}, &err);
    CHECK(ir && ckpt_var_index_data(ir) == ckpt_var_index_data(i));
    /* too few output slots for split */
    ckpt_var *outs[2];
    size_t n = 0;
    ckpt_error_clear(&err);
    CHECK(ckpt_f_split(a, 1, 1, outs, 2, &n, &err) == CKPT_E_ARG && n == 0);
    /* out-of-range dims and bad steps */
    ckpt_error_clear(&err);
    CHECK(ckpt_f_transpose(a, 0, 2, &err) == NULL && strstr(err.msg, "out of range"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_slice(a, 0, 0, 2, 0, &err) == NULL && strstr(err.msg, "step"));
    ckpt_error_clear(&err);
    CHECK(ckpt_f_stack((ckpt_var *[]){a, a}, 2, 3, &err) == NULL);
    ckpt_error_clear(&err);
    CHECK(ckpt_f_cat(NULL, 0, 0, &err) == NULL && strstr(err.msg, "non-empty"));
    ckpt_tape_free(t);
    ckpt_tape_free(t2);
}

TEST(graph_tensor_ops__views_share_data_and_no_grad_records_nothing)
{
    ckpt_error err = {0};
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    ckpt_var *x = ckpt_tape_full(t, 2, (const int64_t[]){2, 3}, 1.5f, &err);
    CHECK(ckpt_var_set_requires_grad(x, true, &err) == 0);
    ckpt_var *v = ckpt_f_reshape(x, 1, (const int64_t[]){-1}, &err);
    CHECK(v && ckpt_var_data(v) == ckpt_var_data(x) && ckpt_var_requires_grad(v));
    CHECK(ckpt_f_flatten(x, 0, -1, &err) && ckpt_f_contiguous(x, &err) == x);
    ckpt_var *one = ckpt_f_flatten(ckpt_tape_full(t, 0, NULL, 2.0f, &err), 0, -1, &err);
    CHECK(one && ckpt_var_ndim(one) == 1 && ckpt_var_dim(one, 0) == 1);
    /* a 0-dim sum of everything */
    ckpt_var *s = ckpt_f_sum(x, 0, NULL, false, &err);
    CHECK(s && ckpt_var_ndim(s) == 0 && fabsf(ckpt_var_item(s) - 9.0f) < 1e-6f);
    ckpt_var *m = ckpt_f_mean(x, 0, NULL, true, &err);
    CHECK(m && ckpt_var_ndim(m) == 2 && ckpt_var_dim(m, 0) == 1 && ckpt_var_dim(m, 1) == 1);
    /* no-grad mode: outputs do not require grad, nothing recorded */
    ckpt_tape_set_grad_enabled(t, false);
    ckpt_var *ops[] = {
        ckpt_f_add(x, x, &err),
        ckpt_f_exp(x, &err),
        ckpt_f_matmul(x, ckpt_f_transpose(x, 0, 1, &err), &err),
        ckpt_f_reshape(x, 1, (const int64_t[]){6}, &err),
        ckpt_f_cat((ckpt_var *[]){x, x}, 2, 0, &err),
        ckpt_f_slice(x, 1, 0, 2, 1, &err),
        ckpt_f_sum(x, 1, (const int[]){0}, false, &err),
    };
    for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
        CHECK(ops[k] && !ckpt_var_requires_grad(ops[k]) && ops[k]->creator == NULL);
    ckpt_tape_free(t);
}

/* ------------------------------------------------------- steady state */

static void *count_alloc(void *ctx, size_t n)
{
    ++*(int *)ctx;
    return malloc(n);
}
static void *count_realloc(void *ctx, void *p, size_t o, size_t n)
{
    (void)o;
    ++*(int *)ctx;
    return realloc(p, n);
}
static void count_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    free(p);
}

/* a training-like step of every op family; after the first step, a reset
 * tape serves the same step with no allocation at all */
TEST(graph_tensor_ops__steady_state_allocates_nothing)
{
    int allocs = 0;
    ckpt_alloc a = {count_alloc, count_realloc, count_free, &allocs};
    ckpt_error err = {0};
    ckpt_tape *t = ckpt_tape_new(&a, &err);
    CHECK(t != NULL);
    int before_step[4] = {0};
    for (int step = 0; step < 4; step++) {
        ckpt_tape_reset(t);
        before_step[step] = allocs;
        ckpt_var *x = ckpt_tape_full(t, 3, (const int64_t[]){4, 8, 16}, 0.25f, &err);
        ckpt_var *w = ckpt_tape_full(t, 2, (const int64_t[]){16, 16}, 0.5f, &err);
        ckpt_var *b = ckpt_tape_full(t, 1, (const int64_t[]){16}, 0.1f, &err);
        CHECK(ckpt_var_set_requires_grad(w, true, &err) == 0 &&
              ckpt_var_set_requires_grad(b, true, &err) == 0);
        ckpt_var *h = ckpt_f_mul(ckpt_f_add(ckpt_f_matmul(x, w, &err), b, &err), b, &err);
        ckpt_var *p[4];
        size_t n = 0;
        CHECK(ckpt_f_chunk(ckpt_f_transpose(h, 1, 2, &err), 2, 1, p, 4, &n, &err) == 0);
        ckpt_var *c = ckpt_f_cat((ckpt_var *[]){p[1], p[0]}, 2, -1, &err);
        ckpt_var *l = ckpt_f_mean(ckpt_f_exp(ckpt_f_slice(c, 2, 1, INT64_MAX, 2, &err), &err), 0,
                                  NULL, false, &err);
        CHECK(l != NULL && ckpt_backward(l, &err) == 0);
    }
    CHECK(before_step[1] > before_step[0]); /* the first step did allocate */
    CHECK_EQ_INT(before_step[3] - before_step[2], 0);
    CHECK_EQ_INT(allocs - before_step[3], 0);
    ckpt_tape_free(t);
}

TEST_MAIN()
