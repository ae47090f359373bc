/* src/onnx/ops_misc.c - ONNX kernels: strings (StringNormalizer,
 * TfIdfVectorizer, StringConcat, StringSplit, RegexFullMatch), the
 * ai.onnx.preview.training optimizers (Adagrad, Adam, Momentum) and the
 * random generators (RandomUniform/Normal[Like], Bernoulli, Multinomial). */
#define _POSIX_C_SOURCE 200809L
#include <ctype.h>
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "onnx/control_util.h"

/* A float attribute widened to double. */
static double attr_f64(const ox_node *n, const char *name, float dflt)
{
    return (double)ox_attr_float(n, name, dflt);
}

/* ------------------------------------------------------------ StringNormalizer */

static int k_strnorm(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                     ckpt_error *err)
{
    const ox_val *x = in[0];
    if (!x || x->kind != OX_KIND_TENSOR || x->dtype != OX_STRING)
        return ox_fail(err, CKPT_E_ARG, n, "input must be a string tensor");
    if (x->rank != 1 && !(x->rank == 2 && x->dims[0] == 1))
        return ox_fail(err, CKPT_E_SHAPE, n, "input must be [C] or [1, C]");
    const char *act = ox_attr_str(n, "case_change_action", "NONE");
    int mode = !strcmp(act, "LOWER") ? 1 : !strcmp(act, "UPPER") ? 2 : 0;
    if (!mode && strcmp(act, "NONE"))
        return ox_fail(err, CKPT_E_FORMAT, n, "case_change_action '%s'", act);
    bool sens = ox_attr_int(n, "is_case_sensitive", 0) != 0;
    const ox_attr *sw = ox_attr_get(n, "stopwords");
    char *const *xs = x->data;
    bool *keep = ox_scratch(r, (size_t)x->numel + 1, err);
    if (!keep)
        return CKPT_E_NOMEM;
    int64_t kept = 0;
    for (int64_t i = 0; i < x->numel; i++) {
        const char *s = xs[i] ? xs[i] : "";
        keep[i] = true;
        for (size_t k = 0; sw && k < sw->n; k++)
            if (sens ? !strcmp(s, sw->strings[k]) : cx_utf8_equal_nocase(s, sw->strings[k]))
                keep[i] = false;
        kept += keep[i];
    }
    int64_t dims[2];
    int rank = x->rank;
    if (rank == 1)
        dims[0] = kept ? kept : 1;
    else
        dims[0] = 1, dims[1] = kept ? kept : 1;
    CKPT_TRY(ox_out(r, n, out[0], OX_STRING, rank, dims, err));
    if (!out[0])
        return 0;
    char **ys = out[0]->data;
    int64_t j = 0;
    for (int64_t i = 0; i < x->numel; i++) {
        if (!keep[i])
            continue;
        ys[j] = cx_utf8_case(xs[i] ? xs[i] : "", mode);
        if (!ys[j])
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        j++;
    }
    if (!kept) {
        ys[0] = strdup("");
        if (!ys[0])
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    return 0;
}

/* ------------------------------------------------------------ TfIdfVectorizer */

static bool tok_eq(const ox_val *x, int64_t i, const ox_attr *pool, size_t j)
{
    if (x->dtype == OX_STRING) {
        const char *s = ((char *const *)x->data)[i];
        return !strcmp(s ? s : "", pool->strings[j]);
    }
    int64_t v = x->dtype == OX_INT32 ? ((const int32_t *)x->data)[i]
                                     : ((const int64_t *)x->data)[i];
    return v == pool->ints[j];
}

static int k_tfidf(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                   ckpt_error *err)
{
    const ox_val *x = in[0];
    if (!x || x->kind != OX_KIND_TENSOR ||
        (x->dtype != OX_STRING && x->dtype != OX_INT32 && x->dtype != OX_INT64))
        return ox_fail(err, CKPT_E_ARG, n, "input must be a string, int32 or int64 tensor");
    if (x->rank != 1 && x->rank != 2)
        return ox_fail(err, CKPT_E_SHAPE, n, "input must be [C] or [N, C]");
    int64_t minn = ox_attr_int(n, "min_gram_length", 1);
    int64_t maxn = ox_attr_int(n, "max_gram_length", 1);
    int64_t skip = ox_attr_int(n, "max_skip_count", 0);
    const char *mode = ox_attr_str(n, "mode", "TF");
    int md = !strcmp(mode, "TF") ? 0 : !strcmp(mode, "IDF") ? 1 : !strcmp(mode, "TFIDF") ? 2 : -1;
    const ox_attr *pool = ox_attr_get(n, x->dtype == OX_STRING ? "pool_strings" : "pool_int64s");
    size_t ncnt = 0, nidx = 0, nw = 0;
    const int64_t *cnt = ox_attr_ints(n, "ngram_counts", &ncnt);
    const int64_t *idx = ox_attr_ints(n, "ngram_indexes", &nidx);
    const float *w = ox_attr_floats(n, "weights", &nw);
    if (md < 0 || minn < 1 || maxn < minn || skip < 0 || !pool || !cnt || !idx ||
        (int64_t)ncnt < maxn)
        return ox_fail(err, CKPT_E_FORMAT, n, "bad attributes (mode, gram lengths, pool)");
    size_t psize = pool->n;
    if (w && nw != nidx)
        return ox_fail(err, CKPT_E_FORMAT, n, "%zu weights for %zu n-grams", nw, nidx);
    int64_t width = 0;
    for (size_t i = 0; i < nidx; i++) {
        if (idx[i] < 0)
            return ox_fail(err, CKPT_E_FORMAT, n, "negative ngram index");
        if (idx[i] + 1 > width)
            width = idx[i] + 1;
    }
    int64_t rows = x->rank == 2 ? x->dims[0] : 1, c = x->dims[x->rank - 1];
    int64_t dims[2] = {rows, width};
    if (x->rank == 1)
        dims[0] = width;
    CKPT_TRY(ox_out(r, n, out[0], OX_FLOAT, x->rank, dims, err));
    if (!out[0])
        return 0;
    float *y = out[0]->data;
    memset(y, 0, ox_val_nbytes(out[0]));
    for (int64_t b = 0; b < rows; b++) {
        float *yr = y + b * width;
        size_t gbase = 0; /* global n-gram index of the first n-gram of length g */
        for (int64_t g = 1; g <= maxn; g++) {
            size_t start = (size_t)cnt[g - 1];
            size_t end = g < (int64_t)ncnt ? (size_t)cnt[g] : psize;
            if (start > end || end > psize || (end - start) % (size_t)g)
                return ox_fail(err, CKPT_E_FORMAT, n, "ngram_counts do not fit the pool");
            size_t count = (end - start) / (size_t)g;
            if (g >= minn) {
                int64_t smax = g == 1 ? 0 : (skip < c ? skip : c); /* wider never fits */
                for (int64_t s = 0; s <= smax; s++)
                    for (int64_t i = 0; i + (g - 1) * (s + 1) < c; i++)
                        for (size_t e = 0; e < count; e++) {
                            bool m = true;
                            for (int64_t k = 0; k < g && m; k++)
                                m = tok_eq(x, b * c + i + k * (s + 1), pool,
                                           start + e * (size_t)g + (size_t)k);
                            if (!m)
                                continue;
                            if (gbase + e >= nidx)
                                return ox_fail(err, CKPT_E_FORMAT, n,
                                               "more n-grams than ngram_indexes");
                            yr[idx[gbase + e]] += 1.0f;
                        }
            }
            gbase += count;
        }
        for (size_t e = 0; e < nidx; e++) {
            float *v = &yr[idx[e]];
            float wt = w ? w[e] : 1.0f;
            if (md == 1)
                *v = *v > 0 ? wt : 0.0f;
            else if (md == 2)
                *v *= wt;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ opset 20 strings */

static int k_strconcat(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err)
{
    const ox_val *a = in[0], *b = n->n_in > 1 ? in[1] : NULL;
    if (!a || !b || a->dtype != OX_STRING || b->dtype != OX_STRING)
        return ox_fail(err, CKPT_E_ARG, n, "needs two string tensors");
    int rank;
    int64_t dims[OX_MAX_RANK], so[OX_MAX_RANK];
    CKPT_TRY(ox_broadcast_shape(n, a->rank, a->dims, b->rank, b->dims, &rank, dims, err));
    CKPT_TRY(ox_out(r, n, out[0], OX_STRING, rank, dims, err));
    if (!out[0])
        return 0;
    ox_strides(rank, dims, so);
    char *const *pa = a->data, *const *pb = b->data;
    char **po = out[0]->data;
    for (int64_t e = 0; e < out[0]->numel; e++) {
        int64_t rem = e, oa = 0, ob = 0, sa = 1, sb = 1;
        int64_t cs[OX_MAX_RANK];
        for (int i = 0; i < rank; i++) {
            cs[i] = rem / so[i];
            rem -= cs[i] * so[i];
        }
        for (int i = rank - 1; i >= 0; i--) {
            int ia = i - (rank - a->rank), ib = i - (rank - b->rank);
            if (ia >= 0) {
                if (a->dims[ia] != 1)
                    oa += cs[i] * sa;
                sa *= a->dims[ia];
            }
            if (ib >= 0) {
                if (b->dims[ib] != 1)
                    ob += cs[i] * sb;
                sb *= b->dims[ib];
            }
        }
        const char *x = pa[oa] ? pa[oa] : "", *y = pb[ob] ? pb[ob] : "";
        size_t lx = strlen(x), ly = strlen(y);
        po[e] = malloc(lx + ly + 1);
        if (!po[e])
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        memcpy(po[e], x, lx);
        memcpy(po[e] + lx, y, ly + 1);
    }
    return 0;
}

/* Pieces of `s` split at `delim` (whitespace runs when delim is empty), at
 * most `maxsplit` splits (< 0: no limit).  Calls fn(ctx, start, len) per piece. */
static int64_t split_str(const char *s, const char *delim, int64_t maxsplit,
                         int (*fn)(void *, const char *, size_t), void *ctx)
{
    int64_t np = 0, splits = 0;
    size_t dl = strlen(delim);
    if (!dl) {
        const char *p = s;
        while (*p) {
            while (*p && isspace((unsigned char)*p))
                p++;
            if (!*p)
                break;
            const char *q = p;
            if (maxsplit >= 0 && splits >= maxsplit) {
                q = p + strlen(p);
                while (q > p && isspace((unsigned char)q[-1]))
                    q--;
            } else {
                while (*q && !isspace((unsigned char)*q))
                    q++;
            }
            if (fn && fn(ctx, p, (size_t)(q - p)) < 0)
                return -1;
            np++;
            splits++;
            p = q;
        }
        return np;
    }
    const char *p = s;
    for (;;) {
        const char *q = maxsplit >= 0 && splits >= maxsplit ? NULL : strstr(p, delim);
        size_t len = q ? (size_t)(q - p) : strlen(p);
        if (fn && fn(ctx, p, len) < 0)
            return -1;
        np++;
        if (!q)
            break;
        splits++;
        p = q + dl;
    }
    return np;
}

typedef struct split_ctx {
    char **dst;
    int64_t k;
} split_ctx;

static int split_put(void *p, const char *s, size_t len)
{
    split_ctx *c = p;
    char *d = malloc(len + 1);
    if (!d)
        return -1;
    memcpy(d, s, len);
    d[len] = 0;
    c->dst[c->k++] = d;
    return 0;
}

static int k_strsplit(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    const ox_val *x = in[0];
    if (!x || x->dtype != OX_STRING)
        return ox_fail(err, CKPT_E_ARG, n, "needs a string tensor");
    if (x->rank + 1 > OX_MAX_RANK)
        return ox_fail(err, CKPT_E_LIMIT, n, "rank");
    const char *delim = ox_attr_str(n, "delimiter", "");
    int64_t maxsplit = ox_attr_int(n, "maxsplit", -1);
    char *const *xs = x->data;
    int64_t width = 0;
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t c = split_str(xs[i] ? xs[i] : "", delim, maxsplit, NULL, NULL);
        if (c > width)
            width = c;
    }
    int64_t dims[OX_MAX_RANK];
    memcpy(dims, x->dims, (size_t)x->rank * sizeof *dims);
    dims[x->rank] = width;
    CKPT_TRY(ox_out(r, n, out[0], OX_STRING, x->rank + 1, dims, err));
    if (n->n_out > 1)
        CKPT_TRY(ox_out(r, n, out[1], OX_INT64, x->rank, x->dims, err));
    for (int64_t i = 0; i < x->numel; i++) {
        split_ctx c = {out[0] ? (char **)out[0]->data + i * width : NULL, 0};
        int64_t np = split_str(xs[i] ? xs[i] : "", delim, maxsplit, out[0] ? split_put : NULL,
                               &c);
        if (np < 0)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        if (out[0])
            for (int64_t k = np; k < width; k++) {
                c.dst[k] = strdup("");
                if (!c.dst[k])
                    return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            }
        if (n->n_out > 1 && out[1])
            ((int64_t *)out[1]->data)[i] = np;
    }
    return 0;
}

/* RE2 syntax is approximated by POSIX extended expressions (the common
 * subset: classes, alternation, repetition, anchors). */
static int k_regex_full(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                        ckpt_error *err)
{
    const ox_val *x = in[0];
    if (!x || x->dtype != OX_STRING)
        return ox_fail(err, CKPT_E_ARG, n, "needs a string tensor");
    const char *pat = ox_attr_str(n, "pattern", NULL);
    if (!pat)
        return ox_fail(err, CKPT_E_FORMAT, n, "no pattern");
    size_t pl = strlen(pat);
    char *full = malloc(pl + 5);
    if (!full)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    memcpy(full, "^(", 2);
    memcpy(full + 2, pat, pl);
    memcpy(full + 2 + pl, ")$", 3);
    regex_t re;
    int rc = regcomp(&re, full, REG_EXTENDED | REG_NOSUB);
    free(full);
    if (rc != 0)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "pattern '%s' is not a POSIX regex", pat);
    rc = ox_out(r, n, out[0], OX_BOOL, x->rank, x->dims, err);
    if (rc == 0 && out[0]) {
        char *const *xs = x->data;
        uint8_t *y = out[0]->data;
        for (int64_t i = 0; i < x->numel; i++)
            y[i] = regexec(&re, xs[i] ? xs[i] : "", 0, NULL, 0) == 0;
    }
    regfree(&re);
    return rc;
}

/* ------------------------------------------------------------ training optimizers */

/* Inputs R, T, then `groups` groups of `nt` tensors each. */
static int train_check(const ox_node *n, ox_val *const *in, int groups, int *nt, double *rr,
                       int64_t *t, ckpt_error *err)
{
    if (n->n_in < 2 + groups || (n->n_in - 2) % groups)
        return ox_fail(err, CKPT_E_ARG, n, "%d inputs do not form R, T and %d groups", n->n_in,
                       groups);
    *nt = (n->n_in - 2) / groups;
    if (!in[0] || in[0]->numel != 1 || !in[1] || in[1]->numel != 1)
        return ox_fail(err, CKPT_E_ARG, n, "R and T must be scalars");
    if (in[0]->dtype != OX_FLOAT && in[0]->dtype != OX_DOUBLE)
        return ox_fail(err, CKPT_E_ARG, n, "R must be float or double");
    *rr = ox_get_f64(in[0], 0);
    CX_TRY64(ox_read_ints(n, in[1], t, 1, err));
    for (int k = 2; k < n->n_in; k++) {
        const ox_val *v = in[k];
        if (!v || v->kind != OX_KIND_TENSOR || (v->dtype != OX_FLOAT && v->dtype != OX_DOUBLE))
            return ox_fail(err, CKPT_E_ARG, n, "input %d must be a float or double tensor", k);
        const ox_val *x0 = in[2 + (k - 2) % *nt];
        if (v->numel != x0->numel || v->dtype != x0->dtype)
            return ox_fail(err, CKPT_E_SHAPE, n, "input %d differs from its X in shape", k);
    }
    return 0;
}

static int k_adagrad(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                     ckpt_error *err)
{
    int nt;
    double rate;
    int64_t t;
    CKPT_TRY(train_check(n, in, 3, &nt, &rate, &t, err));
    double decay = attr_f64(n, "decay_factor", 0.0f);
    double eps = attr_f64(n, "epsilon", 0.0f);
    double norm = attr_f64(n, "norm_coefficient", 0.0f);
    double rt = rate / (1.0 + (double)t * decay);
    for (int k = 0; k < nt; k++) {
        const ox_val *x = in[2 + k], *g = in[2 + nt + k], *h = in[2 + 2 * nt + k];
        ox_val *xo = k < n->n_out ? out[k] : NULL, *ho = nt + k < n->n_out ? out[nt + k] : NULL;
        CKPT_TRY(ox_out(r, n, xo, x->dtype, x->rank, x->dims, err));
        CKPT_TRY(ox_out(r, n, ho, x->dtype, x->rank, x->dims, err));
        for (int64_t i = 0; i < x->numel; i++) {
            double xv = ox_get_f64(x, i);
            double gr = norm * xv + ox_get_f64(g, i);
            double hn = ox_get_f64(h, i) + gr * gr;
            if (ho)
                ox_set_f64(ho, i, hn);
            if (xo)
                ox_set_f64(xo, i, xv - rt * gr / (sqrt(hn) + eps));
        }
    }
    return 0;
}

static int k_momentum(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    int nt;
    double rate;
    int64_t t;
    CKPT_TRY(train_check(n, in, 3, &nt, &rate, &t, err));
    double alpha = attr_f64(n, "alpha", 0.0f);
    double beta = attr_f64(n, "beta", 0.0f);
    double norm = attr_f64(n, "norm_coefficient", 0.0f);
    const char *mode = ox_attr_str(n, "mode", "standard");
    bool nesterov = !strcmp(mode, "nesterov");
    if (!nesterov && strcmp(mode, "standard"))
        return ox_fail(err, CKPT_E_FORMAT, n, "mode '%s'", mode);
    double bt = t > 0 ? beta : 1.0;
    for (int k = 0; k < nt; k++) {
        const ox_val *x = in[2 + k], *g = in[2 + nt + k], *v = in[2 + 2 * nt + k];
        ox_val *xo = k < n->n_out ? out[k] : NULL, *vo = nt + k < n->n_out ? out[nt + k] : NULL;
        CKPT_TRY(ox_out(r, n, xo, x->dtype, x->rank, x->dims, err));
        CKPT_TRY(ox_out(r, n, vo, x->dtype, x->rank, x->dims, err));
        for (int64_t i = 0; i < x->numel; i++) {
            double xv = ox_get_f64(x, i);
            double gr = norm * xv + ox_get_f64(g, i);
            double vn = alpha * ox_get_f64(v, i) + bt * gr;
            if (vo)
                ox_set_f64(vo, i, vn);
            if (xo)
                ox_set_f64(xo, i, nesterov ? xv - rate * (gr + alpha * vn) : xv - rate * vn);
        }
    }
    return 0;
}

static int k_adam(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    int nt;
    double rate;
    int64_t t;
    CKPT_TRY(train_check(n, in, 4, &nt, &rate, &t, err));
    double alpha = attr_f64(n, "alpha", 0.9f);
    double beta = attr_f64(n, "beta", 0.999f);
    double eps = attr_f64(n, "epsilon", 1e-6f);
    double norm = attr_f64(n, "norm_coefficient", 0.0f);
    double post = attr_f64(n, "norm_coefficient_post", 0.0f);
    double ra = rate;
    if (t > 0)
        ra = rate * sqrt(1.0 - pow(beta, (double)t)) / (1.0 - pow(alpha, (double)t));
    for (int k = 0; k < nt; k++) {
        const ox_val *x = in[2 + k], *g = in[2 + nt + k], *v = in[2 + 2 * nt + k],
                     *h = in[2 + 3 * nt + k];
        ox_val *xo = k < n->n_out ? out[k] : NULL;
        ox_val *vo = nt + k < n->n_out ? out[nt + k] : NULL;
        ox_val *ho = 2 * nt + k < n->n_out ? out[2 * nt + k] : NULL;
        CKPT_TRY(ox_out(r, n, xo, x->dtype, x->rank, x->dims, err));
        CKPT_TRY(ox_out(r, n, vo, x->dtype, x->rank, x->dims, err));
        CKPT_TRY(ox_out(r, n, ho, x->dtype, x->rank, x->dims, err));
        for (int64_t i = 0; i < x->numel; i++) {
            double xv = ox_get_f64(x, i);
            double gr = norm * xv + ox_get_f64(g, i);
            double vn = alpha * ox_get_f64(v, i) + (1.0 - alpha) * gr;
            double hn = beta * ox_get_f64(h, i) + (1.0 - beta) * gr * gr;
            if (vo)
                ox_set_f64(vo, i, vn);
            if (ho)
                ox_set_f64(ho, i, hn);
            if (xo)
                ox_set_f64(xo, i, (1.0 - post) * (xv - ra * (vn / (sqrt(hn) + eps))));
        }
    }
    return 0;
}

/* ------------------------------------------------------------ random */

/* splitmix64 seeded from the `seed` attribute, or from the clock and a
 * counter when there is none (the spec leaves unseeded output unspecified). */
typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *g)
{
    uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double rng_unit(rng *g) /* [0, 1) */
{
    return (double)(rng_next(g) >> 11) * (1.0 / 9007199254740992.0);
}

static double rng_normal(rng *g)
{
    double u1 = rng_unit(g), u2 = rng_unit(g);
    if (u1 < 1e-300)
        u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

static void rng_init(rng *g, const ox_node *n)
{
    static uint64_t counter;
    const ox_attr *a = ox_attr_get(n, "seed");
    if (a) {
        double s = (double)a->f;
        uint64_t bits;
        memcpy(&bits, &s, sizeof bits);
        g->s = bits ^ 0x5eedull;
    } else {
        g->s = (uint64_t)time(NULL) ^ (++counter * 0x2545f4914f6cdd1dull) ^
               (uint64_t)(uintptr_t)n;
    }
}

static bool float_type(int dt)
{
    return dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_BFLOAT16;
}

/* Shape from the `shape` attribute (RandomUniform/Normal) or the input (*Like). */
static int random_common(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         bool like, ckpt_error *err)
{
    int dtype;
    int rank;
    int64_t dims[OX_MAX_RANK];
    if (like) {
        if (!in[0] || in[0]->kind != OX_KIND_TENSOR)
            return ox_fail(err, CKPT_E_ARG, n, "needs an input tensor");
        dtype = (int)ox_attr_int(n, "dtype", in[0]->dtype);
        rank = in[0]->rank;
        memcpy(dims, in[0]->dims, sizeof dims);
    } else {
        dtype = (int)ox_attr_int(n, "dtype", OX_FLOAT);
        size_t c = 0;
        const int64_t *s = ox_attr_ints(n, "shape", &c);
        if (!s || c > OX_MAX_RANK)
            return ox_fail(err, CKPT_E_FORMAT, n, "the shape attribute is required");
        rank = (int)c;
        memcpy(dims, s, c * sizeof *dims);
    }
    if (!float_type(dtype))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "dtype %s", ox_dtype_name(dtype));
    CKPT_TRY(ox_out(r, n, out[0], dtype, rank, dims, err));
    return 0;
}

static int k_random_uniform_any(ox_run *r, const ox_node *n, ox_val *const *in,
                                ox_val *const *out, bool like, ckpt_error *err)
{
    CKPT_TRY(random_common(r, n, in, out, like, err));
    if (!out[0])
        return 0;
    double lo = attr_f64(n, "low", 0.0f), hi = attr_f64(n, "high", 1.0f);
    rng g;
    rng_init(&g, n);
    for (int64_t i = 0; i < out[0]->numel; i++)
        ox_set_f64(out[0], i, lo + (hi - lo) * rng_unit(&g));
    return 0;
}

static int k_random_normal_any(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                               bool like, ckpt_error *err)
{
    CKPT_TRY(random_common(r, n, in, out, like, err));
    if (!out[0])
        return 0;
    double mean = attr_f64(n, "mean", 0.0f), scale = attr_f64(n, "scale", 1.0f);
    rng g;
    rng_init(&g, n);
    for (int64_t i = 0; i < out[0]->numel; i++)
        ox_set_f64(out[0], i, mean + scale * rng_normal(&g));
    return 0;
}

static int k_random_uniform(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                            ckpt_error *err)
{
    return k_random_uniform_any(r, n, in, out, false, err);
}

static int k_random_uniform_like(ox_run *r, const ox_node *n, ox_val *const *in,
                                 ox_val *const *out, ckpt_error *err)
{
    return k_random_uniform_any(r, n, in, out, true, err);
}

static int k_random_normal(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                           ckpt_error *err)
{
    return k_random_normal_any(r, n, in, out, false, err);
}

static int k_random_normal_like(ox_run *r, const ox_node *n, ox_val *const *in,
                                ox_val *const *out, ckpt_error *err)
{
    return k_random_normal_any(r, n, in, out, true, err);
}

static int k_bernoulli(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err)
{
    const ox_val *x = in[0];
    if (!x || x->kind != OX_KIND_TENSOR || !float_type(x->dtype))
        return ox_fail(err, CKPT_E_ARG, n, "needs a float tensor of probabilities");
    int dtype = (int)ox_attr_int(n, "dtype", x->dtype);
    if (!ox_dtype_size(dtype) || dtype == OX_STRING)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "dtype %d", dtype);
    CKPT_TRY(ox_out(r, n, out[0], dtype, x->rank, x->dims, err));
    if (!out[0])
        return 0;
    rng g;
    rng_init(&g, n);
    for (int64_t i = 0; i < x->numel; i++) {
        double v = rng_unit(&g) < ox_get_f64(x, i) ? 1.0 : 0.0;
        if (dtype == OX_BOOL)
            ((uint8_t *)out[0]->data)[i] = v != 0;
        else
            ox_set_f64(out[0], i, v);
    }
    return 0;
}

static int k_multinomial(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err)
{
    const ox_val *x = in[0];
    if (!x || x->kind != OX_KIND_TENSOR || !float_type(x->dtype) || x->rank != 2)
        return ox_fail(err, CKPT_E_ARG, n, "needs [batch, classes] float log-probabilities");
    int dtype = (int)ox_attr_int(n, "dtype", OX_INT32);
    int64_t ss = ox_attr_int(n, "sample_size", 1);
    if ((dtype != OX_INT32 && dtype != OX_INT64) || ss < 0)
        return ox_fail(err, CKPT_E_FORMAT, n, "dtype %d, sample_size %lld", dtype, (long long)ss);
    int64_t dims[2] = {x->dims[0], ss}, k = x->dims[1];
    CKPT_TRY(ox_out(r, n, out[0], dtype, 2, dims, err));
    if (!out[0] || !k)
        return 0;
    rng g;
    rng_init(&g, n);
    for (int64_t b = 0; b < dims[0]; b++) {
        double mx = -(double)INFINITY, tot = 0;
        for (int64_t c = 0; c < k; c++)
            mx = fmax(mx, ox_get_f64(x, b * k + c));
        for (int64_t c = 0; c < k; c++)
            tot += exp(ox_get_f64(x, b * k + c) - mx);
        for (int64_t s = 0; s < ss; s++) {
            double u = rng_unit(&g) * tot, acc = 0;
            int64_t c = 0;
            for (; c < k - 1; c++) {
                acc += exp(ox_get_f64(x, b * k + c) - mx);
                if (u < acc)
                    break;
            }
            ox_set_f64(out[0], b * ss + s, (double)c);
        }
    }
    return 0;
}

const ox_op ox_ops_misc[] = {
    {"StringNormalizer", "", 10, 0, k_strnorm, NULL},
    {"TfIdfVectorizer", "", 9, 0, k_tfidf, NULL},
    {"StringConcat", "", 20, 0, k_strconcat, NULL},
    {"StringSplit", "", 20, 0, k_strsplit, NULL},
    {"RegexFullMatch", "", 20, 0, k_regex_full, NULL},
    {"Adagrad", "ai.onnx.preview.training", 1, 0, k_adagrad, NULL},
    {"Momentum", "ai.onnx.preview.training", 1, 0, k_momentum, NULL},
    {"Adam", "ai.onnx.preview.training", 1, 0, k_adam, NULL},
    {"Gradient", "ai.onnx.preview.training", 1, 0, ox_k_gradient, NULL},
    {"RandomUniform", "", 1, 0, k_random_uniform, NULL},
    {"RandomUniformLike", "", 1, 0, k_random_uniform_like, NULL},
    {"RandomNormal", "", 1, 0, k_random_normal, NULL},
    {"RandomNormalLike", "", 1, 0, k_random_normal_like, NULL},
    {"Bernoulli", "", 15, 0, k_bernoulli, NULL},
    {"Multinomial", "", 7, 0, k_multinomial, NULL},
    {0},
};
