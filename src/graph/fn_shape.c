/* src/graph/fn_shape.c - shape ops on the tape: reshape/flatten (views that
 * share the input's data), permute/transpose (strided copies), contiguous,
 * cat/stack, split/chunk, slice/select.  float32 and int64 vars alike (int64
 * vars never need a gradient).  Kernels: src/ops/tensor_kernels.c. */
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "ops/tensor_kernels.h"

static size_t elsize(const ckpt_var *v)
{
    return v->dtype == CKPT_F32 ? sizeof(float) : sizeof(int64_t);
}

static void *vdata(const ckpt_var *v)
{
    return v->dtype == CKPT_F32 ? (void *)v->data : (void *)v->idata;
}

static int64_t prod(const int64_t *s, int from, int to)
{
    int64_t p = 1;
    for (int i = from; i < to; i++)
        p *= s[i];
    return p;
}

/* "[2, -1, 5]" as torch prints a shape list */
static const char *list_str(int n, const int64_t *s, char *buf, size_t cap)
{
    size_t off = 0;
    int w = snprintf(buf, cap, "[");
    off = w > 0 ? (size_t)w : 0;
    for (int i = 0; i < n && off < cap; i++) {
        w = snprintf(buf + off, cap - off, "%s%lld", i ? ", " : "", (long long)s[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    if (off < cap)
        snprintf(buf + off, cap - off, "]");
    return buf;
}

/* ------------------------------------------------------------------ views */

static int view_bw(ckpt__node *n, ckpt_error *err)
{
    float *g = NULL;
    CKPT_TRY(ckpt__grad(n->in[0], &g, err));
    if (g) {
        const float *go = n->out->grad;
        for (int64_t i = 0; i < n->out->numel; i++)
            g[i] += go[i];
    }
    return 0;
}

/* y: x's data seen with another shape of the same numel */
static ckpt_var *view(const char *op, ckpt_var *x, int ndim, const int64_t *shape,
                      ckpt_error *err)
{
    ckpt_var *y = ckpt__var_alias(x, ndim, shape, err);
    if (!y)
        return NULL;
    ckpt__node *node = NULL;
    if (ckpt__record(x->tape, op, y, &x, 1, view_bw, 0, &node, err) < 0)
        return NULL;
    return y;
}

ckpt_var *ckpt_f_reshape(ckpt_var *x, int ndim, const int64_t *shape, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (ckpt__var_check(x, -1, NULL, "reshape", "x", err) < 0)
        return NULL;
    if (ndim < 0 || ndim > CKPT_VAR_MAX_DIMS || (ndim > 0 && !shape)) {
        CKPT_FAIL(err, CKPT_E_ARG, "reshape: shape of %d dims (at most %d, not NULL)", ndim,
                  CKPT_VAR_MAX_DIMS);
        return NULL;
    }
    char ls[256];
    int infer = -1;
    int64_t known = 1, out[CKPT_VAR_MAX_DIMS];
    bool overflow = false;
    for (int i = 0; i < ndim; i++) {
        out[i] = shape[i];
        if (shape[i] == -1) {
            if (infer >= 0) {
                CKPT_FAIL(err, CKPT_E_SHAPE, "reshape: only one dimension can be inferred");
                return NULL;
            }
            infer = i;
        } else if (shape[i] < 0) {
            CKPT_FAIL(err, CKPT_E_SHAPE, "reshape: invalid shape dimension %lld",
                      (long long)shape[i]);
            return NULL;
        } else if (__builtin_mul_overflow(known, shape[i], &known)) {
            overflow = true;
        }
    }
    if (infer >= 0) {
        if (known == 0) {
            if (x->numel == 0) {
                CKPT_FAIL(err, CKPT_E_SHAPE,
                          "reshape: cannot reshape tensor of 0 elements into shape %s because "
                          "the unspecified dimension size -1 can be any value and is ambiguous",
                          list_str(ndim, shape, ls, sizeof ls));
                return NULL;
            }
        } else if (!overflow && x->numel % known == 0) {
            out[infer] = x->numel / known;
            known = x->numel;
        }
    }
    if (overflow || known != x->numel) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "reshape: shape '%s' is invalid for input of size %lld",
                  list_str(ndim, shape, ls, sizeof ls), (long long)x->numel);
        return NULL;
    }
    return view("reshape", x, ndim, out, err);
}

ckpt_var *ckpt_f_flatten(ckpt_var *x, int start_dim, int end_dim, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (ckpt__var_check(x, -1, NULL, "flatten", "x", err) < 0)
        return NULL;
    int s = 0, e = 0;
    if (ckpt__dim(start_dim, x->ndim, "flatten", &s, err) < 0 ||
        ckpt__dim(end_dim, x->ndim, "flatten", &e, err) < 0)
        return NULL;
    if (s > e) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "flatten: flatten() has invalid args: start_dim cannot come after end_dim");
        return NULL;
    }
    if (x->ndim == 0) /* torch: a 0-dim tensor flattens to (1,) */
        return view("flatten", x, 1, (const int64_t[]){1}, err);
    int64_t out[CKPT_VAR_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < s; i++)
        out[nd++] = x->shape[i];
    out[nd++] = prod(x->shape, s, e + 1);
    for (int i = e + 1; i < x->ndim; i++)
        out[nd++] = x->shape[i];
    return view("flatten", x, nd, out, err);
}

ckpt_var *ckpt_f_contiguous(ckpt_var *x, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (ckpt__var_check(x, -1, NULL, "contiguous", "x", err) < 0)
        return NULL;
    return x;
}

/* ---------------------------------------------------------------- permute */

typedef struct perm_ctx {
    int dims[CKPT_VAR_MAX_DIMS];
} perm_ctx;

static int permute_bw(ckpt__node *n, ckpt_error *err)
{
    const perm_ctx *c = n->ctx;
    ckpt_var *x = n->in[0], *y = n->out;
    float *g = NULL;
    CKPT_TRY(ckpt__grad(x, &g, err));
    if (!g)
        return 0;
    /* x's dim dims[i] is y's dim i: walk gx in order, read gy at y's strides */
    int64_t yst[CKPT_VAR_MAX_DIMS], st[CKPT_VAR_MAX_DIMS];
    ckpt_tk_contiguous_strides(yst, y->ndim, y->shape);
    for (int i = 0; i < y->ndim; i++)
        st[c->dims[i]] = yst[i];
    ckpt_tk_gather_add(g, y->grad, x->ndim, x->shape, st, 1.0f);
    return 0;
}

static ckpt_var *permute(const char *op, ckpt_var *x, int ndim, const int *dims, ckpt_error *err)
{
    if (ndim != x->ndim || (ndim > 0 && !dims)) {
        char s[128];
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "%s: number of dims don't match in permute: input %s has %d dims, the "
                  "ordering %d",
                  op, ckpt__shape_str(x, s, sizeof s), x->ndim, ndim);
        return NULL;
    }
    int d[CKPT_VAR_MAX_DIMS];
    bool seen[CKPT_VAR_MAX_DIMS] = {false};
    bool identity = true;
    int64_t os[CKPT_VAR_MAX_DIMS], xst[CKPT_VAR_MAX_DIMS], st[CKPT_VAR_MAX_DIMS];
    ckpt_tk_contiguous_strides(xst, x->ndim, x->shape);
    for (int i = 0; i < ndim; i++) {
        if (ckpt__dim(dims[i], ndim, op, &d[i], err) < 0)
            return NULL;
        if (seen[d[i]]) {
            CKPT_FAIL(err, CKPT_E_ARG,
                      "%s: permute(): duplicate dims are not allowed. (dim %d twice)", op,
                      dims[i]);
            return NULL;
        }
        seen[d[i]] = true;
        identity = identity && d[i] == i;
        os[i] = x->shape[d[i]];
        st[i] = xst[d[i]];
    }
    if (identity)
        return view(op, x, x->ndim, x->shape, err);
    ckpt_var *y = ckpt__var_new(x->tape, x->dtype, ndim, os, err);
    if (!y)
        return NULL;
    ckpt_tk_gather(vdata(y), vdata(x), elsize(x), ndim, os, st);
    ckpt__node *node = NULL;
    if (ckpt__record(x->tape, op, y, &x, 1, permute_bw, sizeof(perm_ctx), &node, err) < 0)
        return NULL;
    if (node)
        memcpy(((perm_ctx *)node->ctx)->dims, d, sizeof d);
    for (int i = 0; node && i < ndim; i++)
        node->tr[i] = d[i];
    return y;
}

ckpt_var *ckpt_f_permute(ckpt_var *x, int ndim, const int *dims, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (ckpt__var_check(x, -1, NULL, "permute", "x", err) < 0)
        return NULL;
    return permute("permute", x, ndim, dims, err);
}

ckpt_var *ckpt_f_transpose(ckpt_var *x, int d0, int d1, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (ckpt__var_check(x, -1, NULL, "transpose", "x", err) < 0)
        return NULL;
    int a = 0, b = 0;
    if (ckpt__dim(d0, x->ndim, "transpose", &a, err) < 0 ||
        ckpt__dim(d1, x->ndim, "transpose", &b, err) < 0)
        return NULL;
    int dims[CKPT_VAR_MAX_DIMS];
    for (int i = 0; i < x->ndim; i++)
        dims[i] = i;
    if (x->ndim > 0) {
        dims[a] = b;
        dims[b] = a;
    }
    return permute("transpose", x, x->ndim, dims, err);
}

/* ------------------------------------------------------------- cat, stack */

typedef struct join_ctx {
    int64_t outer, inner, total; /* out viewed as (outer, total, inner) */
    int dim, ndim;
    bool stack;
} join_ctx;

/* torch.cat skips legacy empty 1-D tensors (shape (0,)) beside others */
static bool cat_skips(const ckpt_var *x, int ndim)
{
    return x->ndim == 1 && x->shape[0] == 0 && ndim != 1;
}

static int64_t join_len(const join_ctx *c, const ckpt_var *x)
{
    if (c->stack)
        return 1;
    return cat_skips(x, c->ndim) ? 0 : x->shape[c->dim];
}

static int join_bw(ckpt__node *n, ckpt_error *err)
{
    const join_ctx *c = n->ctx;
    int64_t off = 0;
    for (size_t i = 0; i < n->nin; i++) {
        ckpt_var *x = n->in[i];
        int64_t len = join_len(c, x);
        float *g = NULL;
        CKPT_TRY(ckpt__grad(x, &g, err));
        if (g) {
            ckpt_tk_rows r = {c->outer, len, c->inner, len, 0, 1, c->total, off, 1};
            ckpt_tk_rows_add(g, n->out->grad, &r);
        }
        off += len;
    }
    return 0;
}

/* out = the inputs joined along `dim` of a (outer, total, inner) view */
static ckpt_var *join(const char *op, ckpt_var *const *xs, size_t n, join_ctx *c, int ndim,
                      const int64_t *os, ckpt_error *err)
{
    ckpt_tape *t = xs[0]->tape;
    ckpt_var *y = ckpt__var_new(t, xs[0]->dtype, ndim, os, err);
    if (!y)
        return NULL;
    int64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t len = join_len(c, xs[i]);
        ckpt_tk_rows r = {c->outer, len, c->inner, c->total, off, 1, len, 0, 1};
        ckpt_tk_rows_copy(vdata(y), vdata(xs[i]), elsize(y), &r);
        off += len;
    }
    ckpt__node *node = NULL;
    if (ckpt__record(t, op, y, xs, n, join_bw, sizeof(join_ctx), &node, err) < 0)
        return NULL;
    if (node)
        *(join_ctx *)node->ctx = *c;
    if (node)
        node->tr[0] = c->dim;
    return y;
}

static int check_list(const char *op, ckpt_var *const *xs, size_t n, ckpt_error *err)
{
    if (!xs || n == 0)
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: expected a non-empty list of Tensors", op);
    char name[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof name, "tensor %zu", i);
        CKPT_TRY(
            ckpt__var_check(xs[i], i ? xs[0]->dtype : -1, i ? xs[0]->tape : NULL, op, name, err));
    }
    return 0;
}

ckpt_var *ckpt_f_cat(ckpt_var *const *xs, size_t n, int dim, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (check_list("cat", xs, n, err) < 0)
        return NULL;
    char s1[128], s2[128];
    const ckpt_var *x0 = xs[0];
    for (size_t i = 0; i < n; i++) { /* the first tensor not skipped sets the shape */
        if (!(xs[i]->ndim == 1 && xs[i]->shape[0] == 0)) {
            x0 = xs[i];
            break;
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (xs[i]->ndim == 0) {
            CKPT_FAIL(err, CKPT_E_SHAPE,
                      "cat: zero-dimensional tensor (at position %zu) cannot be concatenated", i);
            return NULL;
        }
    }
    int d = 0;
    if (ckpt__dim(dim, x0->ndim, "cat", &d, err) < 0)
        return NULL;
    int64_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const ckpt_var *x = xs[i];
        if (cat_skips(x, x0->ndim))
            continue;
        if (x->ndim != x0->ndim) {
            CKPT_FAIL(err, CKPT_E_SHAPE,
                      "cat: Tensors must have same number of dimensions: got %d and %d (shapes %s "
                      "and %s, tensor number %zu)",
                      x0->ndim, x->ndim, ckpt__shape_str(x0, s1, sizeof s1),
                      ckpt__shape_str(x, s2, sizeof s2), i);
            return NULL;
        }
        for (int j = 0; j < x0->ndim; j++) {
            if (j != d && x->shape[j] != x0->shape[j]) {
                CKPT_FAIL(err, CKPT_E_SHAPE,
                          "cat: Sizes of tensors must match except in dimension %d. Expected size "
                          "%lld but got size %lld for tensor number %zu in the list. (shapes "
                          "%s and %s)",
                          d, (long long)x0->shape[j], (long long)x->shape[j], i,
                          ckpt__shape_str(x0, s1, sizeof s1), ckpt__shape_str(x, s2, sizeof s2));
                return NULL;
            }
        }
        if (__builtin_add_overflow(total, x->shape[d], &total)) {
            CKPT_FAIL(err, CKPT_E_SHAPE, "cat: result size overflows");
            return NULL;
        }
    }
    int64_t os[CKPT_VAR_MAX_DIMS];
    memcpy(os, x0->shape, sizeof os);
    os[d] = total;
    join_ctx c = {
        prod(x0->shape, 0, d), prod(x0->shape, d + 1, x0->ndim), total, d, x0->ndim, false};
    return join("cat", xs, n, &c, x0->ndim, os, err);
}

ckpt_var *ckpt_f_stack(ckpt_var *const *xs, size_t n, int dim, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (check_list("stack", xs, n, err) < 0)
        return NULL;
    const ckpt_var *x0 = xs[0];
    char s1[128], s2[128];
    if (x0->ndim >= CKPT_VAR_MAX_DIMS) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "stack: result would have more than %d dims",
                  CKPT_VAR_MAX_DIMS);
        return NULL;
    }
    int d = 0;
    if (ckpt__dim(dim, x0->ndim + 1, "stack", &d, err) < 0)
        return NULL;
    for (size_t i = 1; i < n; i++) {
        const ckpt_var *x = xs[i];
        bool same = x->ndim == x0->ndim;
        for (int j = 0; same && j < x0->ndim; j++)
            same = x->shape[j] == x0->shape[j];
        if (!same) {
            CKPT_FAIL(err, CKPT_E_SHAPE,
                      "stack: stack expects each tensor to be equal size, but got %s at entry 0 "
                      "and %s at entry %zu",
                      list_str(x0->ndim, x0->shape, s1, sizeof s1),
                      list_str(x->ndim, x->shape, s2, sizeof s2), i);
            return NULL;
        }
    }
    if ((uint64_t)n > (uint64_t)INT64_MAX) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "stack: too many tensors");
        return NULL;
    }
    int64_t os[CKPT_VAR_MAX_DIMS];
    int nd = 0;
    for (int j = 0; j < d; j++)
        os[nd++] = x0->shape[j];
    os[nd++] = (int64_t)n;
    for (int j = d; j < x0->ndim; j++)
        os[nd++] = x0->shape[j];
    join_ctx c = {
        prod(x0->shape, 0, d), prod(x0->shape, d, x0->ndim), (int64_t)n, d, x0->ndim, true};
    return join("stack", xs, n, &c, nd, os, err);
}

/* ------------------------------------------------- slice, select, split */

typedef struct slice_ctx {
    int dim;
    int64_t start, len, step;
} slice_ctx;

static ckpt_tk_rows slice_rows(const ckpt_var *x, const slice_ctx *c)
{
    ckpt_tk_rows r = {prod(x->shape, 0, c->dim),
                      c->len,
                      prod(x->shape, c->dim + 1, x->ndim),
                      c->len,
                      0,
                      1,
                      x->shape[c->dim],
                      c->start,
                      c->step};
    return r;
}

static int slice_bw(ckpt__node *n, ckpt_error *err)
{
    const slice_ctx *c = n->ctx;
    ckpt_var *x = n->in[0];
    float *g = NULL;
    CKPT_TRY(ckpt__grad(x, &g, err));
    if (g) {
        ckpt_tk_rows f = slice_rows(x, c); /* forward: y rows <- x rows; back: swap */
        ckpt_tk_rows r = {f.outer, f.len, f.inner, f.sn, f.s0, f.sstep, f.dn, f.d0, f.dstep};
        ckpt_tk_rows_add(g, n->out->grad, &r);
    }
    return 0;
}

/* y = rows start, start+step, ... (len of them) of x's dim `dim` */
static ckpt_var *slice_core(const char *op, ckpt_var *x, int dim, int64_t start, int64_t len,
                            int64_t step, bool drop_dim, ckpt_error *err)
{
    int64_t os[CKPT_VAR_MAX_DIMS];
    int nd = 0;
    for (int j = 0; j < x->ndim; j++) {
        if (j != dim)
            os[nd++] = x->shape[j];
        else if (!drop_dim)
            os[nd++] = len;
    }
    /* one contiguous block when every dim before `dim` has size 1 and the
     * rows are consecutive: a view of x (as torch's), no copy */
    int64_t outer = 1, inner = 1;
    for (int j = 0; j < dim; j++)
        outer *= x->shape[j];
    for (int j = dim + 1; j < x->ndim; j++)
        inner *= x->shape[j];
    const bool contiguous = outer == 1 && (step == 1 || len <= 1);
    ckpt_var *y = contiguous ? ckpt__var_view(x, nd, os, start * inner, err)
                             : ckpt__var_new(x->tape, x->dtype, nd, os, err);
    if (!y)
        return NULL;
    slice_ctx c = {dim, start, len, step};
    if (!contiguous) {
        ckpt_tk_rows r = slice_rows(x, &c);
        ckpt_tk_rows_copy(vdata(y), vdata(x), elsize(x), &r);
    }
    ckpt__node *node = NULL;
    if (ckpt__record(x->tape, op, y, &x, 1, slice_bw, sizeof(slice_ctx), &node, err) < 0)
        return NULL;
    if (node)
        *(slice_ctx *)node->ctx = c;
    if (node)
        node->tr[0] = dim, node->tr[1] = start, node->tr[2] = len, node->tr[3] = step;
    return y;
}

ckpt_var *ckpt_f_slice(ckpt_var *x, int dim, int64_t start, int64_t end, int64_t step,
                       ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (ckpt__var_check(x, -1, NULL, "slice", "x", err) < 0)
        return NULL;
    if (x->ndim == 0) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "slice: slice() cannot be applied to a 0-dim tensor");
        return NULL;
    }
    int d = 0;
    if (ckpt__dim(dim, x->ndim, "slice", &d, err) < 0)
        return NULL;
    if (step < 1) {
        CKPT_FAIL(err, CKPT_E_ARG, "slice: slice step must be positive, got %lld",
                  (long long)step);
        return NULL;
    }
    int64_t L = x->shape[d];
    /* Python's rules: negative bounds count from the end, then clamp */
    if (start < 0)
        start = start + L < 0 ? 0 : start + L;
    if (end < 0)
        end = end + L < 0 ? 0 : end + L;
    if (start > L)
        start = L;
    if (end > L)
        end = L;
    if (end < start)
        end = start;
    int64_t len = (end - start + step - 1) / step;
    return slice_core("slice", x, d, start, len, step, false, err);
}

ckpt_var *ckpt_f_select(ckpt_var *x, int dim, int64_t index, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (ckpt__var_check(x, -1, NULL, "select", "x", err) < 0)
        return NULL;
    if (x->ndim == 0) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "select: select() cannot be applied to a 0-dim tensor.");
        return NULL;
    }
    int d = 0;
    if (ckpt__dim(dim, x->ndim, "select", &d, err) < 0)
        return NULL;
    int64_t L = x->shape[d];
    if (index < -L || index >= L) {
        char s[256];
        CKPT_FAIL(err, CKPT_E_ARG,
                  "select: select(): index %lld out of range for tensor of size %s at "
                  "dimension %d",
                  (long long)index, list_str(x->ndim, x->shape, s, sizeof s), d);
        return NULL;
    }
    if (index < 0)
        index += L;
    return slice_core("select", x, d, index, 1, 1, true, err);
}

/* pieces of sizes `size` (the last one what is left) along dim d; `count` of
 * them (chunk's empty case: count pieces of size 0) */
static int split_core(const char *op, ckpt_var *x, int d, int64_t size, int64_t count,
                      ckpt_var **outs, size_t cap, size_t *n, ckpt_error *err)
{
    if ((uint64_t)count > (uint64_t)cap)
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: %lld pieces do not fit in outs (cap %zu)", op,
                         (long long)count, cap);
    if (count > 0 && !outs)
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: outs is NULL", op);
    int64_t L = x->shape[d];
    for (int64_t i = 0; i < count; i++) {
        int64_t start = i * size < L ? i * size : L;
        int64_t len = L - start < size ? L - start : size;
        outs[i] = slice_core(op, x, d, start, len, 1, false, err);
        if (!outs[i])
            return err->code ? err->code : CKPT_E_NOMEM;
    }
    *n = (size_t)count;
    return 0;
}

static int split_args(const char *op, ckpt_var *x, int dim, size_t *n, int *d, ckpt_error *err)
{
    if (!n)
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: n is NULL", op);
    *n = 0;
    CKPT_TRY(ckpt__var_check(x, -1, NULL, op, "x", err));
    if (x->ndim == 0)
        return CKPT_FAIL(err, CKPT_E_SHAPE, "%s: %s expects at least a 1-dimensional tensor", op,
                         op);
    return ckpt__dim(dim, x->ndim, op, d, err);
}

int ckpt_f_split(ckpt_var *x, int64_t size, int dim, ckpt_var **outs, size_t cap, size_t *n,
                 ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    int d = 0;
    CKPT_TRY(split_args("split", x, dim, n, &d, err));
    int64_t L = x->shape[d];
    if (size < 0)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "split: split expects split_size be non-negative, but got "
                         "split_size=%lld",
                         (long long)size);
    if (size == 0 && L != 0)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "split: split_size can only be 0 if dimension size is 0, but got "
                         "dimension size of %lld",
                         (long long)L);
    int64_t count = 1;
    if (size != 0) {
        count = L / size + (L % size != 0);
        if (count < 1)
            count = 1;
    }
    return split_core("split", x, d, size, count, outs, cap, n, err);
}

int ckpt_f_chunk(ckpt_var *x, int64_t chunks, int dim, ckpt_var **outs, size_t cap, size_t *n,
                 ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    int d = 0;
    CKPT_TRY(split_args("chunk", x, dim, n, &d, err));
    if (chunks <= 0)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "chunk: chunk expects `chunks` to be greater than 0, got: %lld",
                         (long long)chunks);
    int64_t L = x->shape[d];
    /* torch: split_size = ceil(L / chunks); when both are 0, `chunks` empty pieces */
    int64_t size = L / chunks + (L % chunks != 0);
    if (size == 0)
        return split_core("chunk", x, d, 0, chunks, outs, cap, n, err);
    int64_t count = L / size + (L % size != 0);
    return split_core("chunk", x, d, size, count, outs, cap, n, err);
}
