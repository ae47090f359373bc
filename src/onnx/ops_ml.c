/* src/onnx/ops_ml.c - ONNX kernels: the ai.onnx.ml domain (Binarizer,
 * Scaler, Normalizer, Imputer, ArrayFeatureExtractor, LabelEncoder,
 * OneHotEncoder, FeatureVectorizer, LinearRegressor, LinearClassifier, TreeEnsemble,
 * TreeEnsembleRegressor, TreeEnsembleClassifier).  Where the spec is vague
 * (tree post_transform codes, two-class classifiers) ONNX Runtime 1.30's
 * behaviour is followed.
 *
 * Numeric inputs are read through ox_get_f64 (these ops are table look-ups
 * and per-element maps; none is a float32 hot path of the op library). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx/onnx_internal.h"

#define ML "ai.onnx.ml"

static bool is_num(int dt)
{
    return dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_INT64 ||
           dt == OX_INT32 || dt == OX_INT16 || dt == OX_INT8 || dt == OX_UINT8;
}

static int need_tensor(const ox_node *n, const ox_val *v, const char *what, ckpt_error *err)
{
    if (!v || v->kind != OX_KIND_TENSOR)
        return ox_fail(err, CKPT_E_FORMAT, n, "input %s is missing", what);
    return 0;
}

/* ------------------------------------------------------------ Binarizer */

static int binarizer_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err)
{
    const ox_val *x = in[0];
    if (need_tensor(n, x, "X", err) < 0)
        return -1;
    if (!is_num(x->dtype))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "X of type %s", ox_dtype_name(x->dtype));
    double th = (double)ox_attr_float(n, "threshold", 0.0f);
    if (ox_out(r, n, out[0], x->dtype, x->rank, x->dims, err) < 0)
        return -1;
    if (x->dtype == OX_FLOAT) {
        const float *a = x->data;
        float *y = out[0]->data;
        float t = (float)th;
        for (int64_t i = 0; i < x->numel; i++)
            y[i] = a[i] > t ? 1.0f : 0.0f;
        return 0;
    }
    for (int64_t i = 0; i < x->numel; i++)
        ox_set_f64(out[0], i, ox_get_f64(x, i) > th ? 1.0 : 0.0);
    return 0;
}

/* ------------------------------------------------------------ Scaler, Normalizer, Imputer */

/* Feature count C of an (N, C) or (C) input (the last dim). */
static int64_t last_dim(const ox_val *x)
{
    return x->rank ? x->dims[x->rank - 1] : 1;
}

static int scaler_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    const ox_val *x = in[0];
    if (need_tensor(n, x, "X", err) < 0)
        return -1;
    if (!is_num(x->dtype))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "X of type %s", ox_dtype_name(x->dtype));
    size_t no = 0, ns = 0;
    const float *off = ox_attr_floats(n, "offset", &no), *sc = ox_attr_floats(n, "scale", &ns);
    int64_t c = last_dim(x);
    if ((no && no != 1 && (int64_t)no != c) || (ns && ns != 1 && (int64_t)ns != c))
        return ox_fail(err, CKPT_E_SHAPE, n,
                       "offset (%zu) / scale (%zu) must have 1 or %lld values", no, ns,
                       (long long)c);
    if (ox_out(r, n, out[0], OX_FLOAT, x->rank, x->dims, err) < 0)
        return -1;
    float *y = out[0]->data;
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t j = c ? i % c : 0;
        float o = no ? off[no == 1 ? 0 : j] : 0.0f, s = ns ? sc[ns == 1 ? 0 : j] : 1.0f;
        y[i] = ((float)ox_get_f64(x, i) - o) * s;
    }
    return 0;
}

static int normalizer_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                          ckpt_error *err)
{
    const ox_val *x = in[0];
    if (need_tensor(n, x, "X", err) < 0)
        return -1;
    if (!is_num(x->dtype) || x->rank < 1 || x->rank > 2)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "X must be a 1-D or 2-D number tensor");
    const char *norm = ox_attr_str(n, "norm", "MAX");
    int mode = !strcmp(norm, "MAX") ? 0 : !strcmp(norm, "L1") ? 1 : !strcmp(norm, "L2") ? 2 : -1;
    if (mode < 0)
        return ox_fail(err, CKPT_E_FORMAT, n, "norm '%s' (MAX, L1 or L2)", norm);
    if (ox_out(r, n, out[0], OX_FLOAT, x->rank, x->dims, err) < 0)
        return -1;
    int64_t c = last_dim(x), rows = c ? x->numel / c : 0;
    float *y = out[0]->data;
    for (int64_t i = 0; i < rows; i++) {
        float *yr = y + i * c;
        for (int64_t j = 0; j < c; j++)
            yr[j] = (float)ox_get_f64(x, i * c + j);
        float d = mode == 0 ? -INFINITY : 0.0f;
        for (int64_t j = 0; j < c; j++) {
            if (mode == 0)
                d = yr[j] > d ? yr[j] : d;
            else if (mode == 1)
                d += fabsf(yr[j]);
            else
                d += yr[j] * yr[j];
        }
        if (mode == 2)
            d = sqrtf(d);
        if (d != 0.0f && c)
            for (int64_t j = 0; j < c; j++)
                yr[j] /= d;
    }
    return 0;
}

static int imputer_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err)
{
    const ox_val *x = in[0];
    if (need_tensor(n, x, "X", err) < 0)
        return -1;
    size_t nf = 0, ni = 0;
    const float *vf = ox_attr_floats(n, "imputed_value_floats", &nf);
    const int64_t *vi = ox_attr_ints(n, "imputed_value_int64s", &ni);
    bool fl = x->dtype == OX_FLOAT || x->dtype == OX_DOUBLE;
    if (!is_num(x->dtype) || (fl ? !nf : !ni))
        return ox_fail(err, CKPT_E_FORMAT, n, "X of type %s without matching imputed values",
                       ox_dtype_name(x->dtype));
    int64_t c = last_dim(x);
    size_t nv = fl ? nf : ni;
    if (nv != 1 && (int64_t)nv != c)
        return ox_fail(err, CKPT_E_SHAPE, n, "%zu imputed values for %lld features", nv,
                       (long long)c);
    if (ox_out(r, n, out[0], x->dtype, x->rank, x->dims, err) < 0)
        return -1;
    double rf = (double)ox_attr_float(n, "replaced_value_float", 0.0f);
    int64_t ri = ox_attr_int(n, "replaced_value_int64", 0);
    for (int64_t i = 0; i < x->numel; i++) {
        double v = ox_get_f64(x, i);
        size_t j = nv == 1 ? 0 : (size_t)(i % c);
        bool hit = fl ? (isnan(rf) ? isnan(v) : v == rf) : v == (double)ri;
        ox_set_f64(out[0], i, hit ? (fl ? (double)vf[j] : (double)vi[j]) : v);
    }
    return 0;
}

/* ------------------------------------------------------------ ArrayFeatureExtractor */

/* Y = X[..., indices]; a 1-D X gives (1, k). */
static int afe_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                   ckpt_error *err)
{
    const ox_val *x = in[0], *ix = n->n_in > 1 ? in[1] : NULL;
    if (need_tensor(n, x, "X", err) < 0 || need_tensor(n, ix, "Y", err) < 0)
        return -1;
    if (x->rank < 1 || ix->dtype != OX_INT64)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "X must have rank >= 1 and Y be int64");
    int64_t c = last_dim(x), k = ix->numel, rows = c ? x->numel / c : 0;
    const int64_t *id = ix->data;
    for (int64_t j = 0; j < k; j++)
        if (id[j] < 0 || id[j] >= c)
            return ox_fail(err, CKPT_E_SHAPE, n, "index %lld outside the last dim (%lld)",
                           (long long)id[j], (long long)c);
    int64_t dims[OX_MAX_RANK];
    int rank = x->rank;
    if (rank == 1) {
        rank = 2, dims[0] = 1, dims[1] = k;
    } else {
        memcpy(dims, x->dims, sizeof(int64_t) * (size_t)rank);
        dims[rank - 1] = k;
    }
    if (ox_out(r, n, out[0], x->dtype, rank, dims, err) < 0)
        return -1;
    size_t es = ox_dtype_size(x->dtype);
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < k; j++) {
            int64_t s = i * c + id[j], d = i * k + j;
            if (x->dtype == OX_STRING) {
                const char *src = ((char *const *)x->data)[s];
                char *cp = strdup(src ? src : "");
                if (!cp)
                    return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
                ((char **)out[0]->data)[d] = cp;
            } else {
                memcpy((char *)out[0]->data + (size_t)d * es,
                       (const char *)x->data + (size_t)s * es, es);
            }
        }
    return 0;
}

/* ------------------------------------------------------------ LabelEncoder */

enum { LK_STR, LK_INT, LK_FLT };

typedef struct le_state {
    int kkind, vkind; /* key kind; value kind (LK_*) */
    int out_dtype;    /* output element type */
    size_t n;         /* entries */
    char **kstr;      /* borrowed from the node's attributes */
    int64_t *kint;    /* owned */
    double *kflt;     /* owned */
    size_t *order;    /* entry indices sorted by key */
    char **vstr;      /* borrowed */
    int64_t *vint;    /* owned */
    double *vflt;     /* owned */
    const char *dstr; /* defaults */
    int64_t dint;
    double dflt;
    int v1_mode; /* opset 1: 1 string -> index, 2 index -> string */
} le_state;

static int le_cmp_key(const le_state *s, size_t a, size_t b)
{
    if (s->kkind == LK_STR)
        return strcmp(s->kstr[a], s->kstr[b]);
    if (s->kkind == LK_INT)
        return s->kint[a] < s->kint[b] ? -1 : s->kint[a] > s->kint[b];
    double x = s->kflt[a], y = s->kflt[b];
    if (isnan(x) || isnan(y))
        return isnan(x) - isnan(y);
    return x < y ? -1 : x > y;
}

/* Sort s->order[0, n) by key: a bottom-up merge sort through `tmp` (no
 * qsort context global, so sessions may be prepared on several threads). */
static void le_sort(le_state *s, size_t *tmp, size_t n)
{
    size_t *a = s->order, *b = tmp;
    for (size_t w = 1; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                b[k++] = le_cmp_key(s, a[j], a[i]) < 0 ? a[j++] : a[i++];
            while (i < mid)
                b[k++] = a[i++];
            while (j < hi)
                b[k++] = a[j++];
        }
        size_t *t = a;
        a = b, b = t;
    }
    if (a != s->order)
        memcpy(s->order, a, n * sizeof(size_t));
}

static void le_free(le_state *s)
{
    if (!s)
        return;
    free(s->kint);
    free(s->kflt);
    free(s->vint);
    free(s->vflt);
    free(s->order);
}

/* The state is one allocation (n->state is freed with free()): arrays live
 * after the struct. */
static int le_prepare(ox_node *n, ckpt_error *err)
{
    le_state tmp = {0};
    le_state *s = &tmp;
    const ox_attr *a;
    if (n->opset < 2) {
        a = ox_attr_get(n, "classes_strings");
        if (!a || a->type != OX_ATTR_STRINGS)
            return ox_fail(err, CKPT_E_FORMAT, n, "opset-1 LabelEncoder needs classes_strings");
        s->n = a->n, s->kstr = a->strings, s->vstr = a->strings;
        s->dstr = ox_attr_str(n, "default_string", "_Unused");
        s->dint = ox_attr_int(n, "default_int64", -1);
        s->v1_mode = 1;
        le_state *st = malloc(sizeof *st);
        if (!st)
            return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
        *st = *s;
        n->state = st;
        return 0;
    }
    /* keys */
    size_t nk = 0, nv = 0;
    const ox_val *kt = ox_attr_tensor(n, "keys_tensor"), *vt = ox_attr_tensor(n, "values_tensor");
    if ((a = ox_attr_get(n, "keys_strings")) && a->type == OX_ATTR_STRINGS)
        s->kkind = LK_STR, s->kstr = a->strings, nk = a->n;
    else if ((a = ox_attr_get(n, "keys_int64s")) && a->type == OX_ATTR_INTS)
        s->kkind = LK_INT, nk = a->n;
    else if ((a = ox_attr_get(n, "keys_floats")) && a->type == OX_ATTR_FLOATS)
        s->kkind = LK_FLT, nk = a->n;
    else if (kt && kt->dtype == OX_STRING)
        s->kkind = LK_STR, s->kstr = kt->data, nk = (size_t)kt->numel;
    else if (kt && (kt->dtype == OX_INT64 || kt->dtype == OX_INT32 || kt->dtype == OX_INT16))
        s->kkind = LK_INT, nk = (size_t)kt->numel;
    else if (kt && (kt->dtype == OX_FLOAT || kt->dtype == OX_DOUBLE))
        s->kkind = LK_FLT, nk = (size_t)kt->numel;
    else
        return ox_fail(err, CKPT_E_FORMAT, n, "no keys_* attribute");
    const ox_attr *ka = a;
    /* values */
    const ox_attr *va;
    const ox_val *dt = ox_attr_tensor(n, "default_tensor");
    if ((va = ox_attr_get(n, "values_strings")) && va->type == OX_ATTR_STRINGS)
        s->vkind = LK_STR, s->vstr = va->strings, nv = va->n, s->out_dtype = OX_STRING;
    else if ((va = ox_attr_get(n, "values_int64s")) && va->type == OX_ATTR_INTS)
        s->vkind = LK_INT, nv = va->n, s->out_dtype = OX_INT64;
    else if ((va = ox_attr_get(n, "values_floats")) && va->type == OX_ATTR_FLOATS)
        s->vkind = LK_FLT, nv = va->n, s->out_dtype = OX_FLOAT;
    else if (vt && vt->dtype == OX_STRING)
        va = NULL, s->vkind = LK_STR, s->vstr = vt->data, nv = (size_t)vt->numel,
        s->out_dtype = OX_STRING;
    else if (vt && is_num(vt->dtype))
        va = NULL, s->vkind = vt->dtype == OX_FLOAT || vt->dtype == OX_DOUBLE ? LK_FLT : LK_INT,
        nv = (size_t)vt->numel, s->out_dtype = vt->dtype;
    else
        return ox_fail(err, CKPT_E_FORMAT, n, "no values_* attribute");
    if (nk != nv)
        return ox_fail(err, CKPT_E_FORMAT, n, "%zu keys but %zu values", nk, nv);
    s->n = nk;
    size_t cnt = nk ? nk : 1;
    s->order = malloc(cnt * sizeof(size_t));
    s->kint = s->kkind == LK_INT ? malloc(cnt * sizeof(int64_t)) : NULL;
    s->kflt = s->kkind == LK_FLT ? malloc(cnt * sizeof(double)) : NULL;
    s->vint = s->vkind == LK_INT ? malloc(cnt * sizeof(int64_t)) : NULL;
    s->vflt = s->vkind == LK_FLT ? malloc(cnt * sizeof(double)) : NULL;
    if (!s->order || (s->kkind == LK_INT && !s->kint) || (s->kkind == LK_FLT && !s->kflt) ||
        (s->vkind == LK_INT && !s->vint) || (s->vkind == LK_FLT && !s->vflt)) {
        le_free(s);
        return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
    }
    for (size_t i = 0; i < nk; i++) {
        s->order[i] = i;
        if (s->kkind == LK_INT)
            s->kint[i] = ka && ka->type == OX_ATTR_INTS ? ka->ints[i]
                                                        : (int64_t)ox_get_f64(kt, (int64_t)i);
        else if (s->kkind == LK_FLT)
            s->kflt[i] = ka && ka->type == OX_ATTR_FLOATS ? (double)ka->floats[i]
                                                          : ox_get_f64(kt, (int64_t)i);
        if (s->vkind == LK_INT)
            s->vint[i] = va ? va->ints[i]
                            : (vt->dtype == OX_INT64 ? ((const int64_t *)vt->data)[i]
                                                     : (int64_t)ox_get_f64(vt, (int64_t)i));
        else if (s->vkind == LK_FLT)
            s->vflt[i] = va ? (double)va->floats[i] : ox_get_f64(vt, (int64_t)i);
    }
    size_t *work = malloc(cnt * sizeof(size_t));
    if (!work) {
        le_free(s);
        return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
    }
    le_sort(s, work, nk);
    free(work);
    /* defaults */
    s->dstr = ox_attr_str(n, "default_string", "_Unused");
    s->dint = ox_attr_int(n, "default_int64", -1);
    s->dflt = (double)ox_attr_float(n, "default_float", -0.0f);
    if (dt && dt->numel >= 1) {
        if (dt->dtype == OX_STRING)
            s->dstr = ((char *const *)dt->data)[0];
        else
            s->dint = (int64_t)ox_get_f64(dt, 0), s->dflt = ox_get_f64(dt, 0);
    }
    /* the state and its arrays: one block, so free(n->state) releases all */
    size_t szs[5] = {cnt * sizeof(size_t), s->kint ? cnt * 8 : 0, s->kflt ? cnt * 8 : 0,
                     s->vint ? cnt * 8 : 0, s->vflt ? cnt * 8 : 0};
    size_t hdr = (sizeof(le_state) + 15) & ~(size_t)15, tot = hdr;
    for (int i = 0; i < 5; i++)
        tot += szs[i];
    char *blk = malloc(tot);
    if (!blk) {
        le_free(s);
        return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
    }
    le_state *st = (le_state *)blk;
    *st = *s;
    char *p = blk + hdr;
    void *srcs[5] = {s->order, s->kint, s->kflt, s->vint, s->vflt};
    void **dsts[5] = {(void **)&st->order, (void **)&st->kint, (void **)&st->kflt,
                      (void **)&st->vint, (void **)&st->vflt};
    for (int i = 0; i < 5; i++) {
        if (szs[i]) {
            memcpy(p, srcs[i], szs[i]);
            *dsts[i] = p;
            p += szs[i];
        }
    }
    le_free(s);
    n->state = st;
    return 0;
}

/* Index of the entry whose key equals element i of x, or -1. */
static int64_t le_find(const le_state *s, const ox_val *x, int64_t i)
{
    size_t lo = 0, hi = s->n;
    const char *ks = NULL;
    int64_t ki = 0;
    double kf = 0.0;
    if (s->kkind == LK_STR) {
        ks = ((char *const *)x->data)[i];
        if (!ks)
            ks = "";
    } else if (s->kkind == LK_INT) {
        ki = x->dtype == OX_INT64 ? ((const int64_t *)x->data)[i] : (int64_t)ox_get_f64(x, i);
    } else {
        kf = ox_get_f64(x, i);
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2, e = s->order[mid];
        int c;
        if (s->kkind == LK_STR) {
            c = strcmp(ks, s->kstr[e]);
        } else if (s->kkind == LK_INT) {
            c = ki < s->kint[e] ? -1 : ki > s->kint[e];
        } else {
            double y = s->kflt[e];
            c = isnan(kf) || isnan(y) ? isnan(kf) - isnan(y) : (kf < y ? -1 : kf > y);
        }
        if (c == 0)
            return (int64_t)e;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

static int le_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    const le_state *s = n->state;
    const ox_val *x = in[0];
    if (need_tensor(n, x, "X", err) < 0)
        return -1;
    if (s->v1_mode) {
        if (x->dtype == OX_STRING) {
            if (ox_out(r, n, out[0], OX_INT64, x->rank, x->dims, err) < 0)
                return -1;
            for (int64_t i = 0; i < x->numel; i++) {
                const char *k = ((char *const *)x->data)[i];
                int64_t v = s->dint;
                for (size_t j = 0; j < s->n; j++)
                    if (!strcmp(k ? k : "", s->kstr[j])) {
                        v = (int64_t)j;
                        break;
                    }
                ((int64_t *)out[0]->data)[i] = v;
            }
            return 0;
        }
        if (x->dtype != OX_INT64)
            return ox_fail(err, CKPT_E_UNSUPPORTED, n, "X must be string or int64");
        if (ox_out(r, n, out[0], OX_STRING, x->rank, x->dims, err) < 0)
            return -1;
        for (int64_t i = 0; i < x->numel; i++) {
            int64_t k = ((const int64_t *)x->data)[i];
            const char *v = k >= 0 && (uint64_t)k < s->n ? s->kstr[k] : s->dstr;
            if (!(((char **)out[0]->data)[i] = strdup(v)))
                return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
        }
        return 0;
    }
    bool ok = s->kkind == LK_STR ? x->dtype == OX_STRING
              : s->kkind == LK_INT
                  ? (x->dtype == OX_INT64 || x->dtype == OX_INT32 || x->dtype == OX_INT16)
                  : (x->dtype == OX_FLOAT || x->dtype == OX_DOUBLE);
    if (!ok)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "X of type %s does not match the keys",
                       ox_dtype_name(x->dtype));
    if (ox_out(r, n, out[0], s->out_dtype, x->rank, x->dims, err) < 0)
        return -1;
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t e = le_find(s, x, i);
        if (s->vkind == LK_STR) {
            const char *v = e >= 0 ? s->vstr[e] : s->dstr;
            if (!(((char **)out[0]->data)[i] = strdup(v ? v : "")))
                return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
        } else if (s->vkind == LK_INT) {
            int64_t v = e >= 0 ? s->vint[e] : s->dint;
            if (s->out_dtype == OX_INT64)
                ((int64_t *)out[0]->data)[i] = v;
            else
                ox_set_f64(out[0], i, (double)v);
        } else {
            ox_set_f64(out[0], i, e >= 0 ? s->vflt[e] : s->dflt);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ post transforms */

enum { PT_NONE, PT_SOFTMAX, PT_LOGISTIC, PT_SOFTMAX_ZERO, PT_PROBIT };

static int post_transform_code(const char *s)
{
    return !strcmp(s, "NONE")           ? PT_NONE
           : !strcmp(s, "SOFTMAX")      ? PT_SOFTMAX
           : !strcmp(s, "LOGISTIC")     ? PT_LOGISTIC
           : !strcmp(s, "SOFTMAX_ZERO") ? PT_SOFTMAX_ZERO
           : !strcmp(s, "PROBIT")       ? PT_PROBIT
                                        : -1;
}

/* erf^-1 by Newton steps on erf from a rational first guess. */
static double erfinv(double y)
{
    if (y <= -1.0)
        return -(double)INFINITY;
    if (y >= 1.0)
        return (double)INFINITY;
    double w = -log((1.0 - y) * (1.0 + y)), x;
    if (w < 5.0) {
        w -= 2.5;
        x = 2.81022636e-08;
        x = 3.43273939e-07 + x * w;
        x = -3.5233877e-06 + x * w;
        x = -4.39150654e-06 + x * w;
        x = 0.00021858087 + x * w;
        x = -0.00125372503 + x * w;
        x = -0.00417768164 + x * w;
        x = 0.246640727 + x * w;
        x = 1.50140941 + x * w;
    } else {
        w = sqrt(w) - 3.0;
        x = -0.000200214257;
        x = 0.000100950558 + x * w;
        x = 0.00134934322 + x * w;
        x = -0.00367342844 + x * w;
        x = 0.00573950773 + x * w;
        x = -0.0076224613 + x * w;
        x = 0.00943887047 + x * w;
        x = 1.00167406 + x * w;
        x = 2.83297682 + x * w;
    }
    x *= y;
    for (int i = 0; i < 2; i++)
        x -= (erf(x) - y) / (2.0 / sqrt(3.14159265358979323846) * exp(-x * x));
    return x;
}

static void post_transform(int pt, double *v, int64_t k)
{
    if (pt == PT_SOFTMAX || pt == PT_SOFTMAX_ZERO) {
        double mx = -(double)INFINITY, sum = 0.0;
        for (int64_t j = 0; j < k; j++)
            if (pt == PT_SOFTMAX || v[j] != 0.0)
                mx = v[j] > mx ? v[j] : mx;
        for (int64_t j = 0; j < k; j++) {
            if (pt == PT_SOFTMAX_ZERO && v[j] == 0.0)
                continue;
            v[j] = exp(v[j] - mx);
            sum += v[j];
        }
        for (int64_t j = 0; j < k; j++)
            if (sum > 0.0 && !(pt == PT_SOFTMAX_ZERO && v[j] == 0.0))
                v[j] /= sum;
    } else if (pt == PT_LOGISTIC) {
        for (int64_t j = 0; j < k; j++)
            v[j] = 1.0 / (1.0 + exp(-v[j]));
    } else if (pt == PT_PROBIT) {
        for (int64_t j = 0; j < k; j++)
            v[j] = 1.41421356237309504880 * erfinv(2.0 * v[j] - 1.0);
    }
}

/* ------------------------------------------------------------ LinearRegressor */

static int linreg_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    const ox_val *x = in[0];
    if (need_tensor(n, x, "X", err) < 0)
        return -1;
    if (!is_num(x->dtype) || x->rank < 1 || x->rank > 2)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "X must be a 1-D or 2-D number tensor");
    int64_t t = ox_attr_int(n, "targets", 1);
    size_t nc = 0, ni = 0;
    const float *co = ox_attr_floats(n, "coefficients", &nc);
    const float *ic = ox_attr_floats(n, "intercepts", &ni);
    int pt = post_transform_code(ox_attr_str(n, "post_transform", "NONE"));
    int64_t c = last_dim(x), rows = x->rank == 2 ? x->dims[0] : 1;
    if (t < 1 || (int64_t)nc != t * c || (ni && (int64_t)ni != t) || pt < 0)
        return ox_fail(err, CKPT_E_FORMAT, n,
                       "%zu coefficients, %zu intercepts for %lld targets of %lld features", nc,
                       ni, (long long)t, (long long)c);
    int64_t dims[2] = {rows, t};
    if (ox_out(r, n, out[0], OX_FLOAT, 2, dims, err) < 0)
        return -1;
    double *acc = ox_scratch(r, (size_t)t * sizeof(double), err);
    if (!acc)
        return -1;
    for (int64_t i = 0; i < rows; i++) {
        for (int64_t j = 0; j < t; j++) {
            double a = ni ? (double)ic[j] : 0.0;
            for (int64_t f = 0; f < c; f++)
                a += (double)co[j * c + f] * ox_get_f64(x, i * c + f);
            acc[j] = a;
        }
        post_transform(pt, acc, t);
        for (int64_t j = 0; j < t; j++)
            ((float *)out[0]->data)[i * t + j] = (float)acc[j];
    }
    return 0;
}

/* ------------------------------------------------------------ LinearClassifier */

/* scores = X coefficients^T + intercepts.  One coefficient row and two
 * labels is ONNX Runtime's binary form: label by score > 0, Z = [1 - s, s]
 * (LOGISTIC: [logistic(-s), logistic(s)]; other transforms are not applied). */
static int lincls_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    const ox_val *x = in[0];
    if (need_tensor(n, x, "X", err) < 0)
        return -1;
    if (!is_num(x->dtype) || x->rank < 1 || x->rank > 2)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "X must be a 1-D or 2-D number tensor");
    size_t nc = 0, ni = 0, nli = 0;
    const float *co = ox_attr_floats(n, "coefficients", &nc);
    const float *ic = ox_attr_floats(n, "intercepts", &ni);
    const int64_t *li = ox_attr_ints(n, "classlabels_ints", &nli);
    const ox_attr *ls = ox_attr_get(n, "classlabels_strings");
    bool str = ls && ls->type == OX_ATTR_STRINGS && ls->n;
    int64_t nl = str ? (int64_t)ls->n : (int64_t)nli;
    int pt = post_transform_code(ox_attr_str(n, "post_transform", "NONE"));
    int64_t c = last_dim(x), rows = x->rank == 2 ? x->dims[0] : 1;
    int64_t k = c > 0 ? (int64_t)nc / c : 0;
    bool binary = k == 1 && nl == 2;
    if (pt < 0 || c <= 0 || k <= 0 || k * c != (int64_t)nc || (ni && (int64_t)ni != k) ||
        (!binary && nl != k))
        return ox_fail(err, CKPT_E_FORMAT, n,
                       "%zu coefficients, %zu intercepts, %lld labels for %lld features", nc, ni,
                       (long long)nl, (long long)c);
    int64_t zc = binary ? 2 : k, dims[2] = {rows, zc};
    ox_val *yo = out[0], *zo = n->n_out > 1 ? out[1] : NULL;
    if (ox_out(r, n, yo, str ? OX_STRING : OX_INT64, 1, dims, err) < 0 ||
        ox_out(r, n, zo, OX_FLOAT, 2, dims, err) < 0)
        return -1;
    double *acc = ox_scratch(r, (size_t)(zc + 1) * sizeof(double), err);
    if (!acc)
        return -1;
    for (int64_t i = 0; i < rows; i++) {
        for (int64_t j = 0; j < k; j++) {
            float a = ni ? ic[j] : 0.0f; /* ORT sums in float */
            for (int64_t f = 0; f < c; f++)
                a += co[j * c + f] * (float)ox_get_f64(x, i * c + f);
            acc[j] = (double)a;
        }
        int64_t best = 0;
        if (binary) {
            double sc = acc[0];
            best = sc > 0 ? 1 : 0;
            if (pt == PT_LOGISTIC)
                acc[0] = 1.0 / (1.0 + exp(sc)), acc[1] = 1.0 / (1.0 + exp(-sc));
            else
                acc[0] = 1.0 - sc, acc[1] = sc;
        } else {
            for (int64_t j = 1; j < k; j++)
                if (acc[j] > acc[best])
                    best = j;
            post_transform(pt, acc, k);
        }
        for (int64_t j = 0; zo && j < zc; j++)
            ((float *)zo->data)[i * zc + j] = (float)acc[j];
        if (!yo)
            continue;
        if (str) {
            if (!(((char **)yo->data)[i] = strdup(ls->strings[best])))
                return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
        } else {
            ((int64_t *)yo->data)[i] = li[best];
        }
    }
    return 0;
}

/* ------------------------------------------------------------ tree ensembles */

enum { TM_LEQ, TM_LT, TM_GTE, TM_GT, TM_EQ, TM_NEQ, TM_MEMBER, TM_LEAF };
enum { AG_AVERAGE, AG_SUM, AG_MIN, AG_MAX };

typedef struct te_node {
    int64_t feature;
    int mode;
    bool missing_true;
    double split;
    int64_t next[2]; /* [false, true]: >= 0 a node, < 0 -(leaf + 1) */
    int64_t mem_start, mem_n;
} te_node;

typedef struct te_leaf {
    int64_t vote_start, vote_n; /* into targets / weights */
} te_leaf;

typedef struct te_state {
    int64_t n_nodes, n_leaves, n_votes, n_roots, n_mem, n_targets, n_base;
    int agg, pt;
    te_node *nodes;
    te_leaf *leaves;
    int64_t *vote_target;
    double *vote_weight;
    int64_t *roots;
    double *members;
    double *base;
    /* TreeEnsembleClassifier: labels (borrowed from the node's attributes) */
    bool clf, binary_case, all_positive;
    const int64_t *labels_i;
    char **labels_s;
} te_state;

static void te_free(te_state *s)
{
    if (!s)
        return;
    free(s->nodes);
    free(s->leaves);
    free(s->vote_target);
    free(s->vote_weight);
    free(s->roots);
    free(s->members);
    free(s->base);
    free(s);
}

/* node->state is released with a plain free(): the prepared ensemble and
 * its arrays are packed into one block. */
static te_state *te_pack(te_state *s)
{
    size_t sz[7] = {(size_t)s->n_nodes * sizeof(te_node), (size_t)s->n_leaves * sizeof(te_leaf),
                    (size_t)s->n_votes * sizeof(int64_t), (size_t)s->n_votes * sizeof(double),
                    (size_t)s->n_roots * sizeof(int64_t), (size_t)s->n_mem * sizeof(double),
                    (size_t)s->n_base * sizeof(double)};
    size_t hdr = (sizeof(te_state) + 15) & ~(size_t)15, tot = hdr;
    for (int i = 0; i < 7; i++)
        tot += (sz[i] + 15) & ~(size_t)15;
    char *blk = malloc(tot);
    if (!blk)
        return NULL;
    te_state *d = (te_state *)blk;
    *d = *s;
    void *src[7] = {s->nodes, s->leaves,  s->vote_target, s->vote_weight,
                    s->roots, s->members, s->base};
    void **dst[7] = {(void **)&d->nodes,       (void **)&d->leaves, (void **)&d->vote_target,
                     (void **)&d->vote_weight, (void **)&d->roots,  (void **)&d->members,
                     (void **)&d->base};
    char *p = blk + hdr;
    for (int i = 0; i < 7; i++) {
        *dst[i] = sz[i] ? p : NULL;
        if (sz[i])
            memcpy(p, src[i], sz[i]);
        p += (sz[i] + 15) & ~(size_t)15;
    }
    return d;
}

/* Float values of a FLOATS attribute or a TENSOR attribute (`name` or
 * `name_as_tensor`); count in *cnt; malloc'd (NULL with *cnt 0 if absent). */
static double *attr_f64s(const ox_node *n, const char *name, const char *tname, size_t *cnt)
{
    size_t k = 0;
    const float *f = ox_attr_floats(n, name, &k);
    const ox_val *t = tname ? ox_attr_tensor(n, tname) : NULL;
    if (!f && !t) {
        const ox_attr *a = ox_attr_get(n, name);
        if (a && a->type == OX_ATTR_TENSOR)
            t = a->t;
    }
    *cnt = f ? k : t ? (size_t)t->numel : 0;
    double *d = malloc((*cnt ? *cnt : 1) * sizeof(double));
    if (!d)
        return NULL;
    for (size_t i = 0; i < *cnt; i++)
        d[i] = f ? (double)f[i] : ox_get_f64(t, (int64_t)i);
    return d;
}

static bool te_check_size(const ox_node *n, size_t got, size_t want, const char *name,
                          ckpt_error *err)
{
    if (got != want) {
        ox_fail(err, CKPT_E_FORMAT, n, "%s has %zu entries, expected %zu", name, got, want);
        return false;
    }
    return true;
}

/* TreeEnsemble (ai.onnx.ml 5): nodes with true/false children that are
 * nodes or leaves (nodes_trueleafs / nodes_falseleafs), leaves (target, weight). */
static int te5_prepare(ox_node *n, ckpt_error *err)
{
    te_state *s = calloc(1, sizeof *s);
    if (!s)
        return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
    size_t nf = 0, nt = 0, nfl = 0, ntl = 0, nfi = 0, nroots = 0, nlt = 0, nmiss = 0, nsp = 0,
           nlw = 0, nmem = 0;
    const int64_t *feat = ox_attr_ints(n, "nodes_featureids", &nf);
    const int64_t *tids = ox_attr_ints(n, "nodes_truenodeids", &nt);
    const int64_t *fids = ox_attr_ints(n, "nodes_falsenodeids", &nfi);
    const int64_t *tl = ox_attr_ints(n, "nodes_trueleafs", &ntl);
    const int64_t *fl = ox_attr_ints(n, "nodes_falseleafs", &nfl);
    const int64_t *roots = ox_attr_ints(n, "tree_roots", &nroots);
    const int64_t *ltid = ox_attr_ints(n, "leaf_targetids", &nlt);
    const int64_t *miss = ox_attr_ints(n, "nodes_missing_value_tracks_true", &nmiss);
    const ox_val *modes = ox_attr_tensor(n, "nodes_modes");
    double *splits = attr_f64s(n, "nodes_splits", NULL, &nsp);
    double *lw = attr_f64s(n, "leaf_weights", NULL, &nlw);
    s->members = attr_f64s(n, "membership_values", NULL, &nmem);
    int rc = -1;
    if (!splits || !lw || !s->members) {
        ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
        goto out;
    }
    if (!modes || !te_check_size(n, (size_t)modes->numel, nf, "nodes_modes", err) ||
        !te_check_size(n, nt, nf, "nodes_truenodeids", err) ||
        !te_check_size(n, nfi, nf, "nodes_falsenodeids", err) ||
        !te_check_size(n, ntl, nf, "nodes_trueleafs", err) ||
        !te_check_size(n, nfl, nf, "nodes_falseleafs", err) ||
        !te_check_size(n, nsp, nf, "nodes_splits", err) ||
        !te_check_size(n, nlw, nlt, "leaf_weights", err) ||
        (nmiss && !te_check_size(n, nmiss, nf, "nodes_missing_value_tracks_true", err))) {
        if (!modes)
            ox_fail(err, CKPT_E_FORMAT, n, "nodes_modes is missing");
        goto out;
    }
    s->n_targets = ox_attr_int(n, "n_targets", 0);
    s->agg = (int)ox_attr_int(n, "aggregate_function", 1);
    /* the integer post_transform as ONNX Runtime 1.30 reads it (its
     * POST_EVAL_TRANSFORM order): 1 is LOGISTIC and 2 SOFTMAX */
    static const int pt5[5] = {PT_NONE, PT_LOGISTIC, PT_SOFTMAX, PT_SOFTMAX_ZERO, PT_PROBIT};
    int64_t ptv = ox_attr_int(n, "post_transform", 0);
    s->pt = ptv >= 0 && ptv <= 4 ? pt5[ptv] : -1;
    if (s->n_targets <= 0 || s->agg < 0 || s->agg > 3 || s->pt < 0) {
        ox_fail(err, CKPT_E_FORMAT, n, "n_targets / aggregate_function / post_transform");
        goto out;
    }
    s->n_nodes = (int64_t)nf, s->n_leaves = (int64_t)nlt, s->n_votes = (int64_t)nlt;
    s->n_roots = (int64_t)nroots, s->n_mem = (int64_t)nmem;
    s->nodes = calloc(nf ? nf : 1, sizeof(te_node));
    s->leaves = calloc(nlt ? nlt : 1, sizeof(te_leaf));
    s->vote_target = calloc(nlt ? nlt : 1, sizeof(int64_t));
    s->roots = calloc(nroots ? nroots : 1, sizeof(int64_t));
    if (!s->nodes || !s->leaves || !s->vote_target || !s->roots) {
        ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
        goto out;
    }
    s->vote_weight = lw, lw = NULL;
    for (size_t i = 0; i < nlt; i++) {
        if (ltid[i] < 0 || ltid[i] >= s->n_targets) {
            ox_fail(err, CKPT_E_FORMAT, n, "leaf_targetids[%zu] = %lld", i, (long long)ltid[i]);
            goto out;
        }
        s->vote_target[i] = ltid[i];
        s->leaves[i].vote_start = (int64_t)i, s->leaves[i].vote_n = 1;
    }
    int64_t mpos = 0;
    for (size_t i = 0; i < nf; i++) {
        te_node *d = &s->nodes[i];
        d->feature = feat[i];
        d->mode = (int)ox_get_f64(modes, (int64_t)i);
        d->split = splits[i];
        d->missing_true = nmiss && miss[i];
        if (d->feature < 0 || d->mode < 0 || d->mode > TM_MEMBER) {
            ox_fail(err, CKPT_E_FORMAT, n, "node %zu: feature %lld, mode %d", i,
                    (long long)d->feature, d->mode);
            goto out;
        }
        int64_t ids[2] = {fids[i], tids[i]}, lf[2] = {fl[i], tl[i]};
        for (int b = 0; b < 2; b++) {
            int64_t lim = lf[b] ? s->n_leaves : s->n_nodes;
            if (ids[b] < 0 || ids[b] >= lim) {
                ox_fail(err, CKPT_E_FORMAT, n, "node %zu: child %lld out of range", i,
                        (long long)ids[b]);
                goto out;
            }
            d->next[b] = lf[b] ? -(ids[b] + 1) : ids[b];
        }
        if (d->mode == TM_MEMBER) {
            d->mem_start = mpos;
            while (mpos < s->n_mem && !isnan(s->members[mpos]))
                mpos++;
            d->mem_n = mpos - d->mem_start;
            if (mpos < s->n_mem)
                mpos++; /* the NaN separator */
        }
    }
    for (size_t i = 0; i < nroots; i++) {
        if (roots[i] < 0 || roots[i] >= s->n_nodes) {
            ox_fail(err, CKPT_E_FORMAT, n, "tree_roots[%zu] = %lld", i, (long long)roots[i]);
            goto out;
        }
        s->roots[i] = roots[i];
    }
    te_state *p = te_pack(s);
    if (!p) {
        ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
        goto out;
    }
    n->state = p;
    rc = 0;
out:
    free(splits);
    free(lw);
    te_free(s);
    return rc;
}

static const char *const te_mode_names[] = {"BRANCH_LEQ",    "BRANCH_LT", "BRANCH_GTE",
                                            "BRANCH_GT",     "BRANCH_EQ", "BRANCH_NEQ",
                                            "BRANCH_MEMBER", "LEAF"};

typedef struct te_key {
    int64_t tree, node;
    size_t idx;
} te_key;

static int te_key_cmp(const void *a, const void *b)
{
    const te_key *x = a, *y = b;
    if (x->tree != y->tree)
        return x->tree < y->tree ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

static int64_t te_key_find(const te_key *keys, size_t n, int64_t tree, int64_t node)
{
    te_key k = {tree, node, 0};
    const te_key *f = bsearch(&k, keys, n, sizeof *keys, te_key_cmp);
    return f ? (int64_t)f->idx : -1;
}

/* TreeEnsembleRegressor (ai.onnx.ml 1, 3): nodes named by (tree id, node
 * id), LEAF nodes carrying the votes target_* name. */
static int ter_prepare(ox_node *n, ckpt_error *err)
{
    bool clf = !strcmp(n->op_type, "TreeEnsembleClassifier");
    const char *pfx = clf ? "class" : "target";
    char nm_tree[40], nm_node[40], nm_ids[40], nm_w[40], nm_wt[48];
    snprintf(nm_tree, sizeof nm_tree, "%s_treeids", pfx);
    snprintf(nm_node, sizeof nm_node, "%s_nodeids", pfx);
    snprintf(nm_ids, sizeof nm_ids, "%s_ids", pfx);
    snprintf(nm_w, sizeof nm_w, "%s_weights", pfx);
    snprintf(nm_wt, sizeof nm_wt, "%s_weights_as_tensor", pfx);
    te_state *s = calloc(1, sizeof *s);
    if (!s)
        return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
    size_t nn = 0, ntr = 0, nf = 0, nt = 0, nfi = 0, nmiss = 0, nvals = 0, ntt = 0, ntn = 0,
           nti = 0, ntw = 0, nb = 0;
    const int64_t *nid = ox_attr_ints(n, "nodes_nodeids", &nn);
    const int64_t *tid = ox_attr_ints(n, "nodes_treeids", &ntr);
    const int64_t *feat = ox_attr_ints(n, "nodes_featureids", &nf);
    const int64_t *tids = ox_attr_ints(n, "nodes_truenodeids", &nt);
    const int64_t *fids = ox_attr_ints(n, "nodes_falsenodeids", &nfi);
    const int64_t *miss = ox_attr_ints(n, "nodes_missing_value_tracks_true", &nmiss);
    const int64_t *ttree = ox_attr_ints(n, nm_tree, &ntt);
    const int64_t *tnode = ox_attr_ints(n, nm_node, &ntn);
    const int64_t *tidx = ox_attr_ints(n, nm_ids, &nti);
    const ox_attr *ma = ox_attr_get(n, "nodes_modes");
    double *vals = attr_f64s(n, "nodes_values", "nodes_values_as_tensor", &nvals);
    double *tw = attr_f64s(n, nm_w, nm_wt, &ntw);
    s->base = attr_f64s(n, "base_values", "base_values_as_tensor", &nb);
    te_key *keys = NULL;
    int64_t *leaf_of = NULL;
    int rc = -1;
    if (!vals || !tw || !s->base) {
        ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
        goto out;
    }
    if (!ma || ma->type != OX_ATTR_STRINGS || !te_check_size(n, ma->n, nn, "nodes_modes", err) ||
        !te_check_size(n, ntr, nn, "nodes_treeids", err) ||
        !te_check_size(n, nf, nn, "nodes_featureids", err) ||
        !te_check_size(n, nt, nn, "nodes_truenodeids", err) ||
        !te_check_size(n, nfi, nn, "nodes_falsenodeids", err) ||
        (nvals && !te_check_size(n, nvals, nn, "nodes_values", err)) ||
        (nmiss && !te_check_size(n, nmiss, nn, "nodes_missing_value_tracks_true", err)) ||
        !te_check_size(n, ntn, ntt, nm_node, err) || !te_check_size(n, nti, ntt, nm_ids, err) ||
        !te_check_size(n, ntw, ntt, nm_w, err)) {
        if (!ma || ma->type != OX_ATTR_STRINGS)
            ox_fail(err, CKPT_E_FORMAT, n, "nodes_modes is missing");
        goto out;
    }
    s->n_targets = ox_attr_int(n, "n_targets", 1);
    if (clf) {
        size_t nli = 0;
        const ox_attr *ls = ox_attr_get(n, "classlabels_strings");
        s->clf = true;
        s->labels_i = ox_attr_ints(n, "classlabels_int64s", &nli);
        if (ls && ls->type == OX_ATTR_STRINGS && ls->n)
            s->labels_s = ls->strings, s->n_targets = (int64_t)ls->n;
        else if (s->labels_i && nli)
            s->n_targets = (int64_t)nli;
        else {
            ox_fail(err, CKPT_E_FORMAT, n, "no classlabels_int64s / classlabels_strings");
            goto out;
        }
        if (s->n_targets < 2) {
            ox_fail(err, CKPT_E_UNSUPPORTED, n, "a classifier of %lld class label(s)",
                    (long long)s->n_targets);
            goto out;
        }
        /* ORT: two classes voted for by one class id are the binary case */
        bool seen[2] = {false, false};
        s->all_positive = true;
        for (size_t v = 0; v < ntt; v++) {
            if (tidx[v] >= 0 && tidx[v] < 2)
                seen[tidx[v]] = true;
            if (tw[v] < 0)
                s->all_positive = false;
        }
        s->binary_case = s->n_targets == 2 && seen[0] + seen[1] == 1;
    }
    const char *ag = ox_attr_str(n, "aggregate_function", "SUM");
    s->agg = !strcmp(ag, "AVERAGE") ? AG_AVERAGE
             : !strcmp(ag, "SUM")   ? AG_SUM
             : !strcmp(ag, "MIN")   ? AG_MIN
             : !strcmp(ag, "MAX")   ? AG_MAX
                                    : -1;
    s->pt = post_transform_code(ox_attr_str(n, "post_transform", "NONE"));
    s->n_base = (int64_t)nb;
    if (s->n_targets <= 0 || s->agg < 0 || s->pt < 0 ||
        (nb && (clf ? (int64_t)nb > s->n_targets : (int64_t)nb != s->n_targets))) {
        ox_fail(err, CKPT_E_FORMAT, n,
                "n_targets / aggregate_function / post_transform / base_values");
        goto out;
    }
    keys = malloc((nn ? nn : 1) * sizeof *keys);
    leaf_of = malloc((nn ? nn : 1) * sizeof *leaf_of);
    s->nodes = calloc(nn ? nn : 1, sizeof(te_node));
    s->leaves = calloc(nn ? nn : 1, sizeof(te_leaf));
    s->vote_target = malloc((ntt ? ntt : 1) * sizeof(int64_t));
    s->vote_weight = malloc((ntt ? ntt : 1) * sizeof(double));
    s->roots = malloc((nn ? nn : 1) * sizeof(int64_t));
    if (!keys || !leaf_of || !s->nodes || !s->leaves || !s->vote_target || !s->vote_weight ||
        !s->roots) {
        ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < nn; i++)
        keys[i] = (te_key){tid[i], nid[i], i};
    qsort(keys, nn, sizeof *keys, te_key_cmp);
    for (size_t i = 1; i < nn; i++)
        if (!te_key_cmp(&keys[i - 1], &keys[i])) {
            ox_fail(err, CKPT_E_FORMAT, n, "tree %lld has node %lld twice",
                    (long long)keys[i].tree, (long long)keys[i].node);
            goto out;
        }
    /* leaves get numbers in node order; votes are grouped per leaf */
    int64_t nl = 0;
    for (size_t i = 0; i < nn; i++) {
        int m = -1;
        for (int k = 0; k < 8; k++)
            if (!strcmp(ma->strings[i], te_mode_names[k]))
                m = k;
        if (m < 0 || m == TM_MEMBER) {
            ox_fail(err, CKPT_E_FORMAT, n, "nodes_modes[%zu] = '%s'", i, ma->strings[i]);
            goto out;
        }
        s->nodes[i].mode = m;
        leaf_of[i] = m == TM_LEAF ? nl++ : -1;
    }
    s->n_leaves = nl;
    /* votes: count per leaf, then place */
    for (size_t v = 0; v < ntt; v++) {
        int64_t ni = te_key_find(keys, nn, ttree[v], tnode[v]);
        if (ni < 0 || leaf_of[ni] < 0 || tidx[v] < 0 || tidx[v] >= s->n_targets) {
            ox_fail(err, CKPT_E_FORMAT, n,
                    "target %zu: tree %lld node %lld id %lld is no leaf vote", v,
                    (long long)ttree[v], (long long)tnode[v], (long long)tidx[v]);
            goto out;
        }
        s->leaves[leaf_of[ni]].vote_n++;
    }
    int64_t pos = 0;
    for (int64_t l = 0; l < nl; l++) {
        s->leaves[l].vote_start = pos;
        pos += s->leaves[l].vote_n;
        s->leaves[l].vote_n = 0;
    }
    for (size_t v = 0; v < ntt; v++) {
        int64_t l = leaf_of[te_key_find(keys, nn, ttree[v], tnode[v])];
        int64_t at = s->leaves[l].vote_start + s->leaves[l].vote_n++;
        s->vote_target[at] = tidx[v];
        s->vote_weight[at] = tw[v];
    }
    s->n_votes = (int64_t)ntt;
    s->n_nodes = (int64_t)nn;
    for (size_t i = 0; i < nn; i++) {
        te_node *d = &s->nodes[i];
        d->feature = feat[i];
        d->split = nvals ? vals[i] : 0.0;
        d->missing_true = nmiss && miss[i];
        if (d->mode == TM_LEAF) {
            d->next[0] = d->next[1] = -(leaf_of[i] + 1);
            continue;
        }
        if (d->feature < 0) {
            ox_fail(err, CKPT_E_FORMAT, n, "node %zu: feature %lld", i, (long long)d->feature);
            goto out;
        }
        int64_t ids[2] = {fids[i], tids[i]};
        for (int b = 0; b < 2; b++) {
            int64_t c = te_key_find(keys, nn, tid[i], ids[b]);
            if (c < 0 || c == (int64_t)i) {
                ox_fail(err, CKPT_E_FORMAT, n, "node %zu: child %lld not in tree %lld", i,
                        (long long)ids[b], (long long)tid[i]);
                goto out;
            }
            d->next[b] = s->nodes[c].mode == TM_LEAF && c < (int64_t)i ? -(leaf_of[c] + 1) : c;
        }
    }
    /* children that are leaves listed after their parent */
    for (size_t i = 0; i < nn; i++)
        for (int b = 0; b < 2 && s->nodes[i].mode != TM_LEAF; b++) {
            int64_t c = s->nodes[i].next[b];
            if (c >= 0 && s->nodes[c].mode == TM_LEAF)
                s->nodes[i].next[b] = -(leaf_of[c] + 1);
        }
    /* roots: the node with the smallest id of each tree */
    s->n_roots = 0;
    for (size_t i = 0; i < nn; i++)
        if (i == 0 || keys[i].tree != keys[i - 1].tree)
            s->roots[s->n_roots++] = (int64_t)keys[i].idx;
    /* a root that is a leaf: a jump to it */
    te_state *p = te_pack(s);
    if (!p) {
        ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
        goto out;
    }
    n->state = p;
    rc = 0;
out:
    free(vals);
    free(tw);
    free(keys);
    free(leaf_of);
    te_free(s);
    return rc;
}

static bool te_cond(const te_state *s, const te_node *d, double x)
{
    if (isnan(x) && d->missing_true)
        return true;
    switch (d->mode) {
    case TM_LEQ: return x <= d->split;
    case TM_LT: return x < d->split;
    case TM_GTE: return x >= d->split;
    case TM_GT: return x > d->split;
    case TM_EQ: return x == d->split;
    case TM_NEQ: return x != d->split;
    case TM_MEMBER:
        for (int64_t k = 0; k < d->mem_n; k++)
            if (s->members[d->mem_start + k] == x)
                return true;
        return false;
    default: return false;
    }
}

/* TreeEnsembleClassifier's scores and label from the summed votes, as ONNX
 * Runtime 1.30 forms them (its binary-case rules included).  `z` gets
 * n_targets scores; returns the label's class index, or -1 / -2 for ORT's
 * generic positive (1) / negative (0) label of a two-class model. */
static int64_t te_clf_finalize(const te_state *s, double *acc, bool *hit, double *z)
{
    int64_t T = s->n_targets;
    if (T > 2) {
        for (int64_t t = 0; t < s->n_base; t++) {
            acc[t] = hit[t] ? acc[t] + s->base[t] : s->base[t];
            hit[t] = true;
        }
        int64_t best = -1;
        for (int64_t t = 0; t < T; t++)
            if (hit[t] && (best < 0 || acc[t] > acc[best]))
                best = t;
        post_transform(s->pt, acc, T);
        memcpy(z, acc, (size_t)T * sizeof(double));
        return best < 0 ? 0 : best;
    }
    int64_t np = 2;
    if (s->n_base == 2) {
        if (hit[1]) {
            acc[1] = s->base[1] + acc[0];
            acc[0] = -acc[1];
        } else {
            acc[1] += s->base[1];
            acc[0] += s->base[0];
        }
    } else {
        if (s->n_base == 1)
            acc[0] += s->base[0];
        if (!hit[1])
            np = 1;
    }
    /* the label */
    double pos = np == 2 && hit[1] ? acc[1] : (hit[0] ? acc[0] : 0.0);
    int add = -1;
    int64_t label;
    if (s->binary_case) {
        if (s->all_positive)
            add = pos > 0.5 ? 0 : 1, label = pos > 0.5 ? 1 : 0;
        else
            add = pos > 0 ? 2 : 3, label = pos > 0 ? 1 : 0;
    } else {
        label = pos > 0 ? -1 : -2;
    }
    /* the scores */
    if (np == 2) {
        post_transform(s->pt, acc, 2);
        z[0] = acc[0], z[1] = acc[1];
    } else if (s->pt == PT_PROBIT) {
        post_transform(s->pt, acc, 1);
        z[0] = acc[0], z[1] = 0.0;
    } else if (add == 0 || add == 1) {
        z[1] = acc[0], z[0] = 1.0 - acc[0];
    } else {
        /* mixed weights, or two classes outside ORT's binary case */
        if (s->pt == PT_LOGISTIC)
            z[1] = 1.0 / (1.0 + exp(-acc[0])), z[0] = 1.0 / (1.0 + exp(acc[0]));
        else
            z[1] = acc[0], z[0] = -acc[0];
    }
    return label;
}

static int te_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    const te_state *s = n->state;
    const ox_val *x = in[0];
    if (need_tensor(n, x, "X", err) < 0)
        return -1;
    if (!is_num(x->dtype) || x->rank < 1 || x->rank > 2)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "X must be a 1-D or 2-D number tensor");
    int64_t c = x->rank == 2 ? x->dims[1] : x->dims[0], rows = x->rank == 2 ? x->dims[0] : 1;
    for (int64_t i = 0; i < s->n_nodes; i++)
        if (s->nodes[i].mode != TM_LEAF && s->nodes[i].feature >= c)
            return ox_fail(err, CKPT_E_SHAPE, n, "node %lld reads feature %lld of %lld",
                           (long long)i, (long long)s->nodes[i].feature, (long long)c);
    /* v5 keeps X's float type; the regressor gives float */
    int odt = !strcmp(n->op_type, "TreeEnsemble") &&
                      (x->dtype == OX_DOUBLE || x->dtype == OX_FLOAT16)
                  ? x->dtype
                  : OX_FLOAT;
    int64_t T = s->n_targets, dims[2] = {rows, T};
    ox_val *yo = s->clf ? out[0] : NULL, *zo = s->clf ? (n->n_out > 1 ? out[1] : NULL) : out[0];
    if (ox_out(r, n, zo, odt, 2, dims, err) < 0 ||
        ox_out(r, n, yo, s->labels_s ? OX_STRING : OX_INT64, 1, dims, err) < 0)
        return -1;
    double *acc = ox_scratch(r, (size_t)T * (2 * sizeof(double) + 1), err);
    if (!acc)
        return -1;
    double *zc = acc + T;
    bool f32 = x->dtype != OX_DOUBLE;
    bool *hit = (bool *)(zc + T);
    for (int64_t i = 0; i < rows; i++) {
        for (int64_t t = 0; t < T; t++)
            acc[t] = 0.0, hit[t] = false;
        for (int64_t k = 0; k < s->n_roots; k++) {
            int64_t cur = s->roots[k];
            int64_t guard = s->n_nodes + 1;
            while (cur >= 0 && s->nodes[cur].mode != TM_LEAF && guard-- > 0) {
                const te_node *d = &s->nodes[cur];
                cur = d->next[te_cond(s, d, ox_get_f64(x, i * c + d->feature)) ? 1 : 0];
            }
            if (cur >= 0 && s->nodes[cur].mode == TM_LEAF)
                cur = s->nodes[cur].next[0];
            if (cur >= 0)
                return ox_fail(err, CKPT_E_FORMAT, n, "tree %lld does not end in a leaf",
                               (long long)k);
            const te_leaf *lf = &s->leaves[-cur - 1];
            for (int64_t v = 0; v < lf->vote_n; v++) {
                int64_t t = s->vote_target[lf->vote_start + v];
                double w = s->vote_weight[lf->vote_start + v];
                if (s->agg == AG_MIN)
                    acc[t] = hit[t] && acc[t] < w ? acc[t] : w;
                else if (s->agg == AG_MAX)
                    acc[t] = hit[t] && acc[t] > w ? acc[t] : w;
                else if (f32) /* ORT sums float votes in float */
                    acc[t] = (double)((float)acc[t] + (float)w);
                else
                    acc[t] += w;
                hit[t] = true;
            }
        }
        if (s->clf) {
            int64_t lb = te_clf_finalize(s, acc, hit, zc);
            for (int64_t t = 0; zo && t < T; t++)
                ox_set_f64(zo, i * T + t, zc[t]);
            if (!yo)
                continue;
            if (s->labels_s) {
                const char *w = s->labels_s[lb >= 0 ? lb : lb == -1 ? 1 : 0];
                if (!(((char **)yo->data)[i] = strdup(w)))
                    return ox_fail(err, CKPT_E_NOMEM, n, "out of memory");
            } else {
                ((int64_t *)yo->data)[i] = lb >= 0 ? s->labels_i[lb] : lb == -1 ? 1 : 0;
            }
            continue;
        }
        /* a target no leaf voted for is 0, base value or not (ORT) */
        for (int64_t t = 0; t < T; t++) {
            if (s->agg == AG_AVERAGE && s->n_roots)
                acc[t] /= (double)s->n_roots;
            if (s->n_base)
                acc[t] += s->base[t];
            if (!hit[t])
                acc[t] = 0.0;
        }
        post_transform(s->pt, acc, T);
        for (int64_t t = 0; t < T; t++)
            ox_set_f64(out[0], i * T + t, acc[t]);
    }
    return 0;
}

/* ------------------------------------------------------------ OneHotEncoder, FeatureVectorizer */

/* Y = X.shape + [categories]: 1 at the input's category, numbers truncated
 * to int64 and looked up in cats_int64s, strings in cats_strings; an
 * unknown category is all zeros (zeros = 1) or an error. */
static int onehot_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    const ox_val *x = in[0];
    if (need_tensor(n, x, "X", err) < 0)
        return -1;
    size_t ni = 0;
    const int64_t *ci = ox_attr_ints(n, "cats_int64s", &ni);
    const ox_attr *cs = ox_attr_get(n, "cats_strings");
    bool str = x->dtype == OX_STRING;
    size_t nc = str ? (cs && cs->type == OX_ATTR_STRINGS ? cs->n : 0) : ni;
    if (!nc || (!str && !is_num(x->dtype)) || x->rank >= OX_MAX_RANK)
        return ox_fail(err, CKPT_E_FORMAT, n, "X of type %s without matching categories",
                       ox_dtype_name(x->dtype));
    bool zeros = ox_attr_int(n, "zeros", 1) != 0;
    int64_t dims[OX_MAX_RANK];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->rank);
    dims[x->rank] = (int64_t)nc;
    if (ox_out(r, n, out[0], OX_FLOAT, x->rank + 1, dims, err) < 0)
        return -1;
    float *y = out[0]->data;
    memset(y, 0, (size_t)out[0]->numel * sizeof(float));
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t hit = -1;
        if (str) {
            const char *k = ((char *const *)x->data)[i];
            for (size_t j = 0; j < nc && hit < 0; j++)
                if (!strcmp(k ? k : "", cs->strings[j]))
                    hit = (int64_t)j;
        } else {
            double v = ox_get_f64(x, i);
            int64_t k = isfinite(v) && fabs(v) < 9.2e18 ? (int64_t)v : INT64_MIN;
            for (size_t j = 0; j < nc && hit < 0; j++)
                if (ci[j] == k)
                    hit = (int64_t)j;
        }
        if (hit < 0 && !zeros)
            return ox_fail(err, CKPT_E_FORMAT, n, "element %lld is no known category",
                           (long long)i);
        if (hit >= 0)
            y[i * (int64_t)nc + hit] = 1.0f;
    }
    return 0;
}

/* Inputs (N, C_k) (a 1-D input is (1, C_k)) side by side as float (N, sum of
 * inputdimensions): each input cut or zero-padded to its declared width. */
static int featvec_run(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err)
{
    size_t nd = 0;
    const int64_t *idim = ox_attr_ints(n, "inputdimensions", &nd);
    if ((int)nd != n->n_in || nd == 0)
        return ox_fail(err, CKPT_E_FORMAT, n, "inputdimensions has %zu entries for %d inputs", nd,
                       n->n_in);
    int64_t rows = -1, tot = 0;
    for (int k = 0; k < n->n_in; k++) {
        const ox_val *x = in[k];
        if (need_tensor(n, x, "X", err) < 0)
            return -1;
        if (!is_num(x->dtype) || x->rank < 1 || x->rank > 2 || idim[k] < 0)
            return ox_fail(err, CKPT_E_UNSUPPORTED, n,
                           "input %d must be a 1-D or 2-D number tensor", k);
        int64_t rk = x->rank == 2 ? x->dims[0] : 1;
        if (rows >= 0 && rk != rows)
            return ox_fail(err, CKPT_E_SHAPE, n, "input %d has %lld rows, not %lld", k,
                           (long long)rk, (long long)rows);
        rows = rk;
        tot += idim[k];
    }
    int64_t dims[2] = {rows, tot};
    if (ox_out(r, n, out[0], OX_FLOAT, 2, dims, err) < 0)
        return -1;
    float *y = out[0]->data;
    int64_t off = 0;
    for (int k = 0; k < n->n_in; k++) {
        const ox_val *x = in[k];
        int64_t c = last_dim(x);
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < idim[k]; j++)
                y[i * tot + off + j] = j < c ? (float)ox_get_f64(x, i * c + j) : 0.0f;
        off += idim[k];
    }
    return 0;
}

const ox_op ox_ops_ml[] = {
    {"OneHotEncoder", ML, 1, 0, onehot_run, NULL},
    {"FeatureVectorizer", ML, 1, 0, featvec_run, NULL},
    {"Binarizer", ML, 1, 0, binarizer_run, NULL},
    {"Scaler", ML, 1, 0, scaler_run, NULL},
    {"Normalizer", ML, 1, 0, normalizer_run, NULL},
    {"Imputer", ML, 1, 0, imputer_run, NULL},
    {"ArrayFeatureExtractor", ML, 1, 0, afe_run, NULL},
    {"LabelEncoder", ML, 1, 0, le_run, le_prepare},
    {"LinearRegressor", ML, 1, 0, linreg_run, NULL},
    {"LinearClassifier", ML, 1, 0, lincls_run, NULL},
    {"TreeEnsemble", ML, 5, 0, te_run, te5_prepare},
    {"TreeEnsembleRegressor", ML, 1, 0, te_run, ter_prepare},
    {"TreeEnsembleClassifier", ML, 1, 0, te_run, ter_prepare},
    {0},
};
