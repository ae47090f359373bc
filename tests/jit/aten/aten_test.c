/* tests/jit/aten/aten_test.c - the op library (src/jit/aten_*.c) against torch.
 *
 * tests/fixtures/jit/aten/cases.txt (written by tools/gen/make_jit_aten.py with
 * torch 1.13 through torch.ops.aten, which binds arguments and picks overloads
 * as TorchScript does) gives each case's operator, positional and keyword
 * arguments and torch's result; every case is called through jit_aten_call and
 * compared: floats within |a-b| <= 1e-5 + 1e-5|b|, integers and booleans exactly
 * (quantized results within one quantum of torch's integer kernels), dtypes and
 * shapes equal.  Also: an unknown operator names itself, wrong
 * argument types are errors (no crash). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/error.h"
#include "jit/jit_internal.h"
#include "util/test.h"

#define DIR "tests/fixtures/jit/aten/"

typedef struct tinfo {
    int dtype, rank;
    int64_t dims[OX_MAX_RANK];
    size_t off, n;
} tinfo;

static tinfo *g_t;
static size_t g_nt;
static unsigned char *g_blob;
static size_t g_blob_n;

static jit_rt *rt_new(void)
{
    jit_rt *rt = calloc(1, sizeof *rt);
    ckpt_error e;
    ckpt_error_clear(&e);
    if (rt)
        rt->ox = ox_callctx_new(1, 0, &e);
    return rt;
}

static void rt_free(jit_rt *rt)
{
    if (rt) {
        ox_callctx_free(rt->ox);
        free(rt);
    }
}

static int dtype_of(const char *s)
{
    static const struct {
        const char *n;
        int d;
    } m[] = {{"f32", OX_FLOAT}, {"f64", OX_DOUBLE}, {"i64", OX_INT64}, {"i32", OX_INT32},
             {"u8", OX_UINT8},  {"i8", OX_INT8},    {"bool", OX_BOOL}, {"i16", OX_INT16}};
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (!strcmp(m[i].n, s))
            return m[i].d;
    return -1;
}

static jv *make_tensor(size_t k)
{
    if (k >= g_nt)
        return NULL;
    const tinfo *t = &g_t[k];
    jv *v = jv_tensor_new();
    ckpt_error e;
    ckpt_error_clear(&e);
    if (!v || ox_val_reshape_alloc(&v->u.t->t, t->dtype, t->rank, t->dims, &e) < 0 ||
        ox_val_nbytes(&v->u.t->t) != t->n || t->off + t->n > g_blob_n) {
        jv_unref(v);
        return NULL;
    }
    if (t->n)
        memcpy(v->u.t->t.data, g_blob + t->off, t->n);
    return v;
}

/* Parse one value token (and the tokens it owns) from *tok. */
static jv *parse_val(char ***tok)
{
    char *s = **tok;
    if (!s)
        return NULL;
    (*tok)++;
    switch (s[0]) {
    case 'T': return make_tensor((size_t)strtoul(s + 1, NULL, 10));
    case 'I': return jv_int(strtoll(s + 1, NULL, 10));
    case 'F': return jv_float(strtod(s + 1, NULL));
    case 'B': return jv_bool(s[1] == '1');
    case 'N': return jv_none();
    case 'Q': { /* Q<scale>,<zero_point>,<ScalarType> then the integer tensor */
        char *c1 = strchr(s, ','), *c2 = c1 ? strchr(c1 + 1, ',') : NULL;
        jv *t = c2 ? parse_val(tok) : NULL;
        if (!t || t->kind != JV_TENSOR) {
            jv_unref(t);
            return NULL;
        }
        t->u.t->is_quantized = true;
        t->u.t->q_scale = strtod(s + 1, NULL);
        t->u.t->q_zero_point = strtoll(c1 + 1, NULL, 10);
        return t;
    }
    case 'P': { /* packed parameters: an object holding __state__ */
        jv *st = parse_val(tok), *o = st ? jv_obj_new(NULL) : NULL;
        if (!o || jv_obj_set(o, "__state__", JIT_A_ATTR, st, NULL) < 0) {
            if (!o)
                jv_unref(st);
            jv_unref(o);
            return NULL;
        }
        return o;
    }
    case 'S': return jv_str0(s + 1);
    case 'L':
    case 'U': {
        long n = strtol(s + 1, NULL, 10);
        jv *l = s[0] == 'L' ? jv_list_new((size_t)n) : jv_tuple_new((size_t)n);
        for (long i = 0; l && i < n; i++) {
            jv *e = parse_val(tok);
            if (!e || jv_list_push(l, e, NULL) < 0) {
                jv_unref(l);
                return NULL;
            }
        }
        return l;
    }
    default: return NULL;
    }
}

static bool is_float_dt(int dt)
{
    return dt == OX_FLOAT || dt == OX_DOUBLE;
}

/* 1 when equal; else prints why */
static int same(const char *name, const jv *got, const jv *want, const char *path)
{
    if (want->kind == JV_TENSOR) {
        if (got->kind != JV_TENSOR) {
            fprintf(stderr, "%s%s: got %s, expected a tensor\n", name, path,
                    jv_kind_name(got->kind));
            return 0;
        }
        const ox_val *g = &got->u.t->t, *w = &want->u.t->t;
        if (g->dtype != w->dtype) {
            fprintf(stderr, "%s%s: dtype %s, expected %s\n", name, path, ox_dtype_name(g->dtype),
                    ox_dtype_name(w->dtype));
            return 0;
        }
        bool shp = g->rank == w->rank;
        for (int i = 0; shp && i < g->rank; i++)
            shp = g->dims[i] == w->dims[i];
        if (!shp) {
            char a[96], b[96];
            jv_describe(got, a, sizeof a);
            jv_describe(want, b, sizeof b);
            fprintf(stderr, "%s%s: shape %s, expected %s\n", name, path, a, b);
            return 0;
        }
        for (int64_t i = 0; i < w->numel; i++) {
            if (is_float_dt(w->dtype)) {
                double x = ox_get_f64(g, i), y = ox_get_f64(w, i);
                if (isnan(y) ? !isnan(x)
                             : !(fabs(x - y) <= 1e-5 + 1e-5 * fabs(y)) && !(isinf(y) && x == y)) {
                    fprintf(stderr, "%s%s: element %lld = %.9g, expected %.9g\n", name, path,
                            (long long)i, x, y);
                    return 0;
                }
            } else if (w->dtype == OX_INT64) {
                int64_t x = ((const int64_t *)g->data)[i], y = ((const int64_t *)w->data)[i];
                if (x != y) {
                    fprintf(stderr, "%s%s: element %lld = %lld, expected %lld\n", name, path,
                            (long long)i, (long long)x, (long long)y);
                    return 0;
                }
            } else if (want->u.t->is_quantized) {
                /* torch's integer kernels vs dequantize-compute-quantize: one quantum */
                if (!got->u.t->is_quantized || fabs(ox_get_f64(g, i) - ox_get_f64(w, i)) > 1.0) {
                    fprintf(stderr, "%s%s: quantized element %lld = %g, expected %g\n", name,
                            path, (long long)i, ox_get_f64(g, i), ox_get_f64(w, i));
                    return 0;
                }
            } else if (ox_get_f64(g, i) != ox_get_f64(w, i)) {
                fprintf(stderr, "%s%s: element %lld = %g, expected %g\n", name, path,
                        (long long)i, ox_get_f64(g, i), ox_get_f64(w, i));
                return 0;
            }
        }
        return 1;
    }
    if (want->kind == JV_LIST || want->kind == JV_TUPLE) {
        if ((got->kind != JV_LIST && got->kind != JV_TUPLE) || got->u.seq.n != want->u.seq.n) {
            char a[96];
            jv_describe(got, a, sizeof a);
            fprintf(stderr, "%s%s: got %s, expected a sequence of %zu\n", name, path, a,
                    want->u.seq.n);
            return 0;
        }
        for (size_t i = 0; i < want->u.seq.n; i++) {
            char p[64];
            snprintf(p, sizeof p, "%s[%zu]", path, i);
            if (!same(name, got->u.seq.items[i], want->u.seq.items[i], p))
                return 0;
        }
        return 1;
    }
    if (want->kind == JV_FLOAT) {
        if (got->kind != JV_FLOAT || fabs(got->u.f - want->u.f) > 1e-12) {
            fprintf(stderr, "%s%s: scalar mismatch\n", name, path);
            return 0;
        }
        return 1;
    }
    if (got->kind != want->kind || !jv_equal(got, want)) {
        char a[96], b[96];
        jv_describe(got, a, sizeof a);
        jv_describe(want, b, sizeof b);
        fprintf(stderr, "%s%s: got %s, expected %s\n", name, path, a, b);
        return 0;
    }
    return 1;
}

static int load_tensors(char *text)
{
    size_t cap = 0;
    for (char *l = text; l && *l;) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = 0;
        if (!strncmp(l, "tensor ", 7)) {
            if (g_nt == cap) {
                cap = cap ? cap * 2 : 256;
                tinfo *p = realloc(g_t, cap * sizeof *p);
                if (!p)
                    return -1;
                g_t = p;
            }
            tinfo *t = &g_t[g_nt++];
            char dt[16];
            int k, used;
            if (sscanf(l, "tensor %d %15s %d%n", &k, dt, &t->rank, &used) != 3 ||
                (size_t)k != g_nt - 1 || t->rank < 0 || t->rank > OX_MAX_RANK)
                return -1;
            t->dtype = dtype_of(dt);
            char *p = l + used;
            for (int i = 0; i < t->rank; i++)
                t->dims[i] = strtoll(p, &p, 10);
            t->off = (size_t)strtoull(p, &p, 10);
            t->n = (size_t)strtoull(p, &p, 10);
        }
        if (nl)
            *nl = '\n';
        l = nl ? nl + 1 : NULL;
    }
    return 0;
}

TEST(jit_aten_cases)
{
    size_t tn = 0;
    char *text = (char *)test_read_file(DIR "cases.txt", &tn);
    g_blob = test_read_file(DIR "tensors.bin", &g_blob_n);
    CHECK(text && g_blob);
    char *t2 = realloc(text, tn + 1);
    CHECK(t2);
    text = t2;
    text[tn] = 0;
    CHECK(load_tensors(text) == 0);
    jit_rt *rt = rt_new();
    CHECK(rt && rt->ox);
    int n_cases = 0, n_fail = 0;
    for (char *l = text; l && *l;) {
        char *nl = strchr(l, '\n');
        if (nl)
            *nl = 0;
        if (!strncmp(l, "case ", 5)) {
            n_cases++;
            char *toks[4096];
            size_t nt = 0;
            for (char *s = strtok(l + 5, " "); s && nt + 1 < 4096; s = strtok(NULL, " "))
                toks[nt++] = s;
            toks[nt] = NULL;
            const char *name = toks[0], *op = toks[1];
            char **p = toks + 2;
            long na = strtol(*p++, NULL, 10);
            jv *args[32] = {0}, *kwv[16] = {0};
            const char *kwn[16];
            bool ok = na >= 0 && na <= 32;
            for (long i = 0; ok && i < na; i++)
                ok = (args[i] = parse_val(&p)) != NULL;
            long nk = ok && *p ? strtol(*p++, NULL, 10) : -1;
            ok = ok && nk >= 0 && nk <= 16;
            for (long i = 0; ok && i < nk; i++) {
                kwn[i] = *p++;
                ok = kwn[i] && (kwv[i] = parse_val(&p)) != NULL;
            }
            jv *want = ok ? parse_val(&p) : NULL;
            if (!want) {
                fprintf(stderr, "%s: malformed case line\n", name);
                n_fail++;
            } else {
                ckpt_error e;
                ckpt_error_clear(&e);
                jv *got = NULL;
                int rc = jit_aten_call(rt, op, args, (size_t)na, kwn, kwv, (size_t)nk, &got, &e);
                if (rc != 0) {
                    char b[1024];
                    fprintf(stderr, "%s: aten::%s failed: %s\n", name, op,
                            ckpt_error_format(&e, b, sizeof b));
                    n_fail++;
                } else if (!same(name, got, want, "")) {
                    n_fail++;
                }
                jv_unref(got);
            }
            for (long i = 0; i < 32; i++)
                jv_unref(args[i]);
            for (long i = 0; i < 16; i++)
                jv_unref(kwv[i]);
            jv_unref(want);
        }
        l = nl ? nl + 1 : NULL;
    }
    fprintf(stderr, "%d cases, %d failed\n", n_cases, n_fail);
    rt_free(rt);
    free(text);
    free(g_blob);
    free(g_t);
    g_t = NULL;
    g_nt = 0;
    CHECK(n_cases > 150);
    CHECK_EQ_INT(n_fail, 0);
}

static jv *ones(int rank, const int64_t *dims)
{
    jv *v = jv_tensor_new();
    ckpt_error e;
    ckpt_error_clear(&e);
    if (!v || ox_val_reshape_alloc(&v->u.t->t, OX_FLOAT, rank, dims, &e) < 0) {
        jv_unref(v);
        return NULL;
    }
    for (int64_t i = 0; i < v->u.t->t.numel; i++)
        ((float *)v->u.t->t.data)[i] = 1.0f;
    return v;
}

TEST(jit_aten_unsupported)
{
    jit_rt *rt = rt_new();
    CHECK(rt && rt->ox);
    rt->file = "code/__torch__.py";
    rt->line = 12;
    int64_t d[2] = {2, 2};
    jv *x = ones(2, d), *r = NULL;
    CHECK(x);
    ckpt_error e;
    ckpt_error_clear(&e);
    int rc = jit_aten_call(rt, "frobnicate", &x, 1, NULL, NULL, 0, &r, &e);
    CHECK(rc == CKPT_E_UNSUPPORTED);
    CHECK(strstr(e.msg, "aten::frobnicate") && strstr(e.msg, "code/__torch__.py:12"));
    CHECK(!jit_aten_has("frobnicate"));
    CHECK(jit_aten_has("conv2d") && jit_aten_has("aten::add_") && jit_aten_has("relu_"));
    CHECK(jit_aten_has("aten::add.Tensor") && jit_aten_has("quantized::conv2d"));
    CHECK(!jit_aten_has("quantized::frob") && !jit_aten_has("_") && !jit_aten_has(""));
    jv_unref(x);
    rt_free(rt);
}

TEST(jit_aten_bad_args)
{
    jit_rt *rt = rt_new();
    CHECK(rt && rt->ox);
    int64_t d[4] = {1, 2, 4, 4};
    jv *x = ones(4, d), *s = jv_str0("weight"), *r = NULL, *l = jv_list_new(2);
    CHECK(x && s && l);
    ckpt_error e;
    /* a str where a Tensor goes */
    jv *a1[2] = {x, s};
    ckpt_error_clear(&e);
    CHECK(jit_aten_call(rt, "conv2d", a1, 2, NULL, NULL, 0, &r, &e) == CKPT_E_ARG);
    CHECK(strstr(e.msg, "conv2d") != NULL);
    /* too many arguments, an unknown keyword, a missing one */
    jv *a2[3] = {x, x, x};
    ckpt_error_clear(&e);
    CHECK(jit_aten_call(rt, "relu", a2, 3, NULL, NULL, 0, &r, &e) == CKPT_E_ARG);
    const char *kn[1] = {"bogus"};
    ckpt_error_clear(&e);
    CHECK(jit_aten_call(rt, "relu", a2, 1, kn, a2, 1, &r, &e) == CKPT_E_ARG);
    ckpt_error_clear(&e);
    CHECK(jit_aten_call(rt, "linear", a2, 1, NULL, NULL, 0, &r, &e) == CKPT_E_ARG);
    /* shapes that do not fit: kernel errors come back named */
    int64_t d2[2] = {3, 5};
    jv *w = ones(2, d2);
    jv *a3[2] = {x, w};
    ckpt_error_clear(&e);
    CHECK(jit_aten_call(rt, "linear", a3, 2, NULL, NULL, 0, &r, &e) != 0);
    ckpt_error_clear(&e);
    CHECK(jit_aten_call(rt, "mm", a3, 2, NULL, NULL, 0, &r, &e) != 0);
    /* view with a bad size, a list of non-ints, an out-of-range dim */
    jv *bad = jv_int(7);
    jv *a4[2] = {x, bad};
    ckpt_error_clear(&e);
    CHECK(jit_aten_call(rt, "view", a4, 2, NULL, NULL, 0, &r, &e) == CKPT_E_ARG);
    CHECK(jv_list_push(l, jv_str0("a"), NULL) == 0);
    jv *a5[2] = {x, l};
    ckpt_error_clear(&e);
    CHECK(jit_aten_call(rt, "permute", a5, 2, NULL, NULL, 0, &r, &e) == CKPT_E_ARG);
    jv *a6[3] = {x, bad, bad};
    ckpt_error_clear(&e);
    CHECK(jit_aten_call(rt, "transpose", a6, 3, NULL, NULL, 0, &r, &e) == CKPT_E_ARG);
    /* in place on a non-tensor */
    jv *a7[2] = {bad, x};
    ckpt_error_clear(&e);
    CHECK(jit_aten_call(rt, "add_", a7, 2, NULL, NULL, 0, &r, &e) != 0);
    CHECK(r == NULL);
    jv_unref(x);
    jv_unref(s);
    jv_unref(l);
    jv_unref(w);
    jv_unref(bad);
    rt_free(rt);
}

/* writes through a leading-block view reach the base (copy_ into a slice) */
TEST(jit_aten_view_write)
{
    jit_rt *rt = rt_new();
    CHECK(rt && rt->ox);
    int64_t d[2] = {3, 2}, d1[1] = {2};
    jv *x = ones(2, d), *src = ones(1, d1), *zero = jv_int(0), *one = jv_int(1), *r = NULL,
       *r2 = NULL;
    CHECK(x && src && zero && one);
    ((float *)src->u.t->t.data)[0] = 5.0f;
    ((float *)src->u.t->t.data)[1] = 6.0f;
    ckpt_error e;
    ckpt_error_clear(&e);
    jv *a[3] = {x, zero, one};
    CHECK_OK(jit_aten_call(rt, "select", a, 3, NULL, NULL, 0, &r, &e), &e);
    jv *b[2] = {r, src};
    CHECK_OK(jit_aten_call(rt, "copy_", b, 2, NULL, NULL, 0, &r2, &e), &e);
    const float *p = x->u.t->t.data;
    CHECK(p[0] == 1.0f && p[2] == 5.0f && p[3] == 6.0f && p[4] == 1.0f);
    jv_unref(r);
    jv_unref(r2);
    jv_unref(x);
    jv_unref(src);
    jv_unref(zero);
    jv_unref(one);
    rt_free(rt);
}

/* in-place ops on a tensor borrowing read-only storage (a model's mapped file)
 * write a private copy, never the storage */
static const float ro_data[4] = {1.0f, 2.0f, 3.0f, 4.0f};

TEST(jit_aten_inplace_borrowed)
{
    jit_rt *rt = rt_new();
    CHECK(rt && rt->ox);
    int64_t d[2] = {2, 2};
    void *p;
    const float *src = ro_data;
    memcpy(&p, &src, sizeof p);
    jv *x = jv_tensor_view(NULL, OX_FLOAT, 2, d, p), *two = jv_float(2.0), *r = NULL,
       *zero = jv_int(0), *one = jv_int(1), *row = NULL, *r2 = NULL;
    CHECK(x && two && zero && one);
    ckpt_error e;
    ckpt_error_clear(&e);
    jv *a[2] = {x, two};
    CHECK_OK(jit_aten_call(rt, "mul_", a, 2, NULL, NULL, 0, &r, &e), &e);
    CHECK(r == x && ro_data[0] == 1.0f && ((const float *)x->u.t->t.data)[3] == 8.0f);
    /* a view of a borrowed tensor, written through */
    jv *y = jv_tensor_view(NULL, OX_FLOAT, 2, d, p);
    jv *b[3] = {y, zero, one};
    CHECK_OK(jit_aten_call(rt, "select", b, 3, NULL, NULL, 0, &row, &e), &e);
    jv *c[2] = {row, two};
    CHECK_OK(jit_aten_call(rt, "add_", c, 2, NULL, NULL, 0, &r2, &e), &e);
    CHECK(ro_data[2] == 3.0f && ((const float *)y->u.t->t.data)[2] == 5.0f);
    jv_unref(r);
    jv_unref(r2);
    jv_unref(row);
    jv_unref(y);
    jv_unref(x);
    jv_unref(two);
    jv_unref(zero);
    jv_unref(one);
    rt_free(rt);
}

/* every op of the library with argument lists of the wrong shapes and kinds: an error or a
 * result, never a crash or a leak (run under ASan) */
#include "jit/aten_internal.h"

static jv *tensor_of(int dtype, int rank, const int64_t *dims, double x)
{
    jv *v = jv_tensor_new();
    ckpt_error e;
    ckpt_error_clear(&e);
    if (!v || ox_val_reshape_alloc(&v->u.t->t, dtype, rank, dims, &e) < 0) {
        jv_unref(v);
        return NULL;
    }
    for (int64_t i = 0; i < v->u.t->t.numel; i++)
        ox_set_f64(&v->u.t->t, i, x + (double)(i % 3));
    return v;
}

TEST(jit_aten_every_op_garbage)
{
    jit_rt *rt = rt_new();
    CHECK(rt && rt->ox);
    int64_t d23[2] = {2, 3}, d4[4] = {1, 2, 3, 3}, d0[2] = {0, 3}, d3[3] = {2, 2, 3};
    jv *t = tensor_of(OX_FLOAT, 2, d23, 0.5), *t4 = tensor_of(OX_FLOAT, 4, d4, 0.25),
       *te = tensor_of(OX_FLOAT, 2, d0, 0), *ti = tensor_of(OX_INT64, 2, d23, 1),
       *tb = tensor_of(OX_BOOL, 2, d23, 0), *t3 = tensor_of(OX_FLOAT, 3, d3, 0.1),
       *s0 = tensor_of(OX_FLOAT, 0, NULL, 2.0), *i1 = jv_int(1), *i0 = jv_int(0),
       *im = jv_int(-7), *big = jv_int(INT64_MAX), *f = jv_float(0.5), *str = jv_str0("x"),
       *l = jv_list_new(2), *lt = jv_list_new(2), *none = jv_none(), *tr = jv_bool(true);
    CHECK(t && t4 && te && ti && tb && t3 && s0 && i1 && i0 && im && big && f && str && l && lt);
    CHECK(jv_list_push(l, jv_int(2), NULL) == 0 && jv_list_push(l, jv_int(3), NULL) == 0);
    CHECK(jv_list_push(lt, jv_ref(t), NULL) == 0 && jv_list_push(lt, jv_ref(t), NULL) == 0);
    jv *sets[][9] = {
        {NULL},
        {t},
        {t, t},
        {t, i1},
        {t, i1, i1},
        {t, im, big},
        {t, l},
        {t, f, f},
        {t, str},
        {t4, t4, none, l, l, l, i1},
        {t4, t4, t, i1, i0, i1, tr, l, i1},
        {t4, l, l, l, l, tr},
        {te, i0},
        {te, te},
        {ti, ti, i1},
        {tb, t, t},
        {t3, lt, lt, tr, i1, f, tr, tr, tr},
        {t3, t3, lt, tr, i1, f, tr, tr, tr},
        {s0, i1},
        {lt, i1},
        {l, i1},
        {i1, i1},
        {f, i0},
        {str, lt},
        {none, none},
        {t, none, none, none, none, tr, f, f, tr},
        {te},
        {te, l},
        {te, i1, i1},
        {te, i0, i0, i1},
        {ti},
        {tb},
        {t4, l},
        {t4, i1},
        {t4, l, tr},
        {t3, i1},
        {t3, t3, t3},
        {s0},
        {s0, s0},
        {t, i0, i0, i1},
        {t, im, i1, i1},
        {ti, i0, ti},
        {t, tb, f},
        {t, i1, ti, t},
    };
    const at_op *const tables[] = {at_ops_math, at_ops_nn,    at_ops_shape, at_ops_rnn,
                                   at_ops_attn, at_ops_quant, at_ops_extra, at_ops_misc};
    int calls = 0, ok = 0;
    for (size_t tb_i = 0; tb_i < sizeof tables / sizeof tables[0]; tb_i++)
        for (const at_op *o = tables[tb_i]; o->name; o++) {
            if (o > tables[tb_i] && !strcmp(o[-1].name, o->name))
                continue; /* overloads: one pass per name */
            for (size_t k = 0; k < sizeof sets / sizeof sets[0]; k++) {
                size_t n = 0;
                while (n < 9 && sets[k][n])
                    n++;
                ckpt_error e;
                ckpt_error_clear(&e);
                jv *r = NULL;
                int rc = jit_aten_call(rt, o->name, sets[k], n, NULL, NULL, 0, &r, &e);
                calls++;
                if (rc == 0) {
                    ok++;
                    CHECK(r != NULL);
                } else {
                    CHECK(r == NULL && e.code != 0 && e.msg[0]);
                }
                jv_unref(r);
            }
        }
    fprintf(stderr, "%d calls, %d returned a value\n", calls, ok);
    CHECK(calls > 2000);
    jv *all[] = {t, t4, te, ti, tb, t3, s0, i1, i0, im, big, f, str, l, lt};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        jv_unref(all[i]);
    rt_free(rt);
}

TEST_MAIN()
