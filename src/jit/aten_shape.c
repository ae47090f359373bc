/*
 * src/jit/aten_shape.c - shape, indexing, creation and dtype ops over the
 * ONNX shape kernels (Reshape, Transpose, Slice, Gather, Concat, Split,
 * Expand, Tile, Where, Cast...).  select/slice/narrow/chunk/split along a
 * leading block return views of self (torch's semantics for writes through
 * them: copy_ into a slice), after the kernel computed the same values so a
 * recorder sees the call.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/aten_internal.h"

static int oom(at_args *A, ckpt_error *err)
{
    return jit_fail(A->rt, err, CKPT_E_NOMEM, "aten::%s: out of memory", A->op);
}

/* Turn `r` (a kernel's copy of a block of self) into a view of self's data at
 * element `off` when that block is contiguous there. */
static void view_of(jv *self, jv *r, int64_t off)
{
    ox_val *s = &self->u.t->t, *v = &r->u.t->t;
    if (!s->data || v->dtype != s->dtype || v->dtype == OX_STRING || r->u.t->base)
        return;
    size_t es = ox_dtype_size(s->dtype);
    free(v->buf);
    v->buf = NULL;
    v->cap = 0;
    v->data = (char *)s->data + (size_t)off * es;
    jv *owner = self->u.t->base ? self->u.t->base : self;
    r->u.t->base = jv_ref(owner);
}

/* Make `t` own its data (a clone must not share). */
static int own_data(at_args *A, jv *t, ckpt_error *err)
{
    ox_val *v = &t->u.t->t;
    if (!t->u.t->base && v->buf && v->data == v->buf)
        return 0;
    ox_val tmp = *v;
    memset(v, 0, sizeof *v);
    int rc = ox_val_copy(v, &tmp, err);
    if (tmp.buf != tmp.data)
        tmp.data = NULL;
    ox_val_clear(&tmp);
    jv_unref(t->u.t->base);
    t->u.t->base = NULL;
    return rc < 0 ? jit_fail(A->rt, err, err->code, "aten::%s: copy failed", A->op) : 0;
}

static int64_t prod(const int64_t *d, int n)
{
    int64_t p = 1;
    for (int i = 0; i < n; i++)
        p *= d[i];
    return p;
}

/* ------------------------------------------------------------ views and reshapes */

static int op_view(at_args *A, jv **res, ckpt_error *err)
{
    int64_t d[OX_MAX_RANK];
    int n = at_ints(A, 1, d, OX_MAX_RANK, 0, err);
    if (n < 0)
        return n;
    const ox_val *xv = at_tv(A, 0);
    int neg = -1;
    int64_t known = 1;
    for (int i = 0; i < n; i++) {
        if (d[i] == -1) {
            if (neg >= 0)
                return at_fail(A, err, "only one dimension can be inferred");
            neg = i;
        } else if (d[i] < 0) {
            return at_fail(A, err, "invalid shape dimension %" PRId64, d[i]);
        } else {
            known *= d[i];
        }
    }
    if (neg >= 0) {
        if (known == 0 || xv->numel % known)
            return at_fail(A, err, "shape is invalid for input of size %" PRId64, xv->numel);
        d[neg] = xv->numel / known;
    } else if (known != xv->numel) {
        return at_fail(A, err, "shape is invalid for input of size %" PRId64, xv->numel);
    }
    return at_reshape(A, A->a[0], n, d, res, err);
}

static int op_view_as(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *o = at_tv(A, 1), *x = at_tv(A, 0);
    if (o->numel != x->numel)
        return at_fail(A, err, "cannot view %" PRId64 " elements as %" PRId64, x->numel,
                       o->numel);
    return at_reshape(A, A->a[0], o->rank, o->dims, res, err);
}

static int op_flatten(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *x = at_tv(A, 0);
    if (x->rank == 0) {
        int64_t one = 1;
        return at_reshape(A, A->a[0], 1, &one, res, err);
    }
    int s, e;
    CKPT_TRY(at_dim(A, at_i(A, 1), x->rank, false, &s, err));
    CKPT_TRY(at_dim(A, at_i(A, 2), x->rank, false, &e, err));
    if (s > e)
        return at_fail(A, err, "start_dim cannot come after end_dim");
    int64_t d[OX_MAX_RANK];
    int n = 0;
    for (int i = 0; i < s; i++)
        d[n++] = x->dims[i];
    d[n++] = prod(x->dims + s, e - s + 1);
    for (int i = e + 1; i < x->rank; i++)
        d[n++] = x->dims[i];
    return at_reshape(A, A->a[0], n, d, res, err);
}

static int op_unflatten(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *x = at_tv(A, 0);
    int dim;
    CKPT_TRY(at_dim(A, at_i(A, 1), x->rank, false, &dim, err));
    int64_t sz[OX_MAX_RANK], d[OX_MAX_RANK];
    int ns = at_ints(A, 2, sz, OX_MAX_RANK, 0, err);
    if (ns < 0)
        return ns;
    if (x->rank - 1 + ns > OX_MAX_RANK)
        return at_fail(A, err, "too many dimensions");
    int64_t known = 1;
    int neg = -1;
    for (int i = 0; i < ns; i++) {
        if (sz[i] == -1)
            neg = i;
        else
            known *= sz[i];
    }
    if (neg >= 0 && known)
        sz[neg] = x->dims[dim] / known;
    int n = 0;
    for (int i = 0; i < dim; i++)
        d[n++] = x->dims[i];
    for (int i = 0; i < ns; i++)
        d[n++] = sz[i];
    for (int i = dim + 1; i < x->rank; i++)
        d[n++] = x->dims[i];
    if (prod(d, n) != x->numel)
        return at_fail(A, err, "sizes do not multiply to dimension %d", dim);
    return at_reshape(A, A->a[0], n, d, res, err);
}

static int op_permute(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *x = at_tv(A, 0);
    int64_t p[OX_MAX_RANK];
    int n = at_ints(A, 1, p, OX_MAX_RANK, 0, err);
    if (n < 0)
        return n;
    if (n != x->rank)
        return at_fail(A, err, "%d dims for a %d-D tensor", n, x->rank);
    bool seen[OX_MAX_RANK] = {false};
    for (int i = 0; i < n; i++) {
        int d;
        CKPT_TRY(at_dim(A, p[i], x->rank, false, &d, err));
        if (seen[d])
            return at_fail(A, err, "repeated dim in permute");
        seen[d] = true;
        p[i] = d;
    }
    if (n == 0)
        return at_unary(A, "Identity", A->a[0], res, err);
    return at_transpose(A, A->a[0], p, n, res, err);
}

static int transpose_dims(at_args *A, jv *x, int64_t d0, int64_t d1, jv **res, ckpt_error *err)
{
    const ox_val *xv = &x->u.t->t;
    if (xv->rank < 2)
        return at_unary(A, "Identity", x, res, err);
    int a, b;
    CKPT_TRY(at_dim(A, d0, xv->rank, false, &a, err));
    CKPT_TRY(at_dim(A, d1, xv->rank, false, &b, err));
    int64_t p[OX_MAX_RANK];
    for (int i = 0; i < xv->rank; i++)
        p[i] = i;
    p[a] = b;
    p[b] = a;
    return at_transpose(A, x, p, xv->rank, res, err);
}

static int op_transpose(at_args *A, jv **res, ckpt_error *err)
{
    return transpose_dims(A, A->a[0], at_i(A, 1), at_i(A, 2), res, err);
}

static int op_t(at_args *A, jv **res, ckpt_error *err)
{
    if (at_tv(A, 0)->rank > 2)
        return at_fail(A, err, "expects a tensor with <= 2 dimensions");
    return transpose_dims(A, A->a[0], 0, 1, res, err);
}

static int op_identity_ref(at_args *A, jv **res, ckpt_error *err)
{
    (void)err;
    *res = jv_ref(A->a[0]);
    return 0;
}

static int op_clone(at_args *A, jv **res, ckpt_error *err)
{
    CKPT_TRY(at_unary(A, "Identity", A->a[0], res, err));
    int rc = own_data(A, *res, err);
    if (rc < 0) {
        jv_unref(*res);
        *res = NULL;
    }
    return rc;
}

static int op_unsqueeze(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *x = at_tv(A, 0);
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 1), x->rank, true, &d, err));
    if (x->rank >= OX_MAX_RANK)
        return at_fail(A, err, "too many dimensions");
    int64_t nd[OX_MAX_RANK];
    int n = 0;
    for (int i = 0; i < x->rank; i++) {
        if (i == d)
            nd[n++] = 1;
        nd[n++] = x->dims[i];
    }
    if (d == x->rank)
        nd[n++] = 1;
    return at_reshape(A, A->a[0], n, nd, res, err);
}

/* squeeze(self) / squeeze(self, dim) / squeeze(self, dims) */
static int op_squeeze(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *x = at_tv(A, 0);
    bool drop[OX_MAX_RANK] = {false};
    if (A->n < 2 || at_none(A, 1)) {
        for (int i = 0; i < x->rank; i++)
            drop[i] = x->dims[i] == 1;
    } else {
        int64_t ds[OX_MAX_RANK];
        int n = at_ints(A, 1, ds, OX_MAX_RANK, 0, err);
        if (n < 0)
            return n;
        for (int k = 0; k < n; k++) {
            int d;
            CKPT_TRY(at_dim(A, ds[k], x->rank, false, &d, err));
            if (x->rank > 0 && x->dims[d] == 1)
                drop[d] = true;
        }
    }
    int64_t nd[OX_MAX_RANK];
    int n = 0;
    for (int i = 0; i < x->rank; i++)
        if (!drop[i])
            nd[n++] = x->dims[i];
    return at_reshape(A, A->a[0], n, nd, res, err);
}

static int op_expand(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *x = at_tv(A, 0);
    int64_t d[OX_MAX_RANK];
    int n;
    if (at_is_tensor(A, 1)) { /* expand_as */
        const ox_val *o = at_tv(A, 1);
        n = o->rank;
        memcpy(d, o->dims, sizeof(int64_t) * (size_t)n);
    } else {
        n = at_ints(A, 1, d, OX_MAX_RANK, 0, err);
        if (n < 0)
            return n;
    }
    if (n < x->rank)
        return at_fail(A, err, "the number of sizes (%d) must be at least the tensor's dims (%d)",
                       n, x->rank);
    for (int i = 0; i < n; i++) {
        int xi = i - (n - x->rank);
        if (d[i] == -1) {
            if (xi < 0)
                return at_fail(A, err, "-1 is not allowed in a leading, new dimension");
            d[i] = x->dims[xi];
        }
        if (xi >= 0 && x->dims[xi] != 1 && x->dims[xi] != d[i])
            return at_fail(A, err, "cannot expand size %" PRId64 " to %" PRId64 " at dim %d",
                           x->dims[xi], d[i], i);
    }
    jv *shape = NULL;
    CKPT_TRY(at_const_i64s(A, d, n, &shape, err));
    jv *in[2] = {A->a[0], shape};
    int rc = at_run(A, "Expand", 0, NULL, 0, in, 2, NULL, res, err);
    jv_unref(shape);
    return rc;
}

static int op_repeat(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *x = at_tv(A, 0);
    int64_t r[OX_MAX_RANK];
    int n = at_ints(A, 1, r, OX_MAX_RANK, 0, err);
    if (n < 0)
        return n;
    if (n < x->rank)
        return at_fail(A, err, "repeats must have at least as many entries as dims");
    jv *xr = NULL, *rv = NULL;
    int64_t d[OX_MAX_RANK];
    for (int i = 0; i < n; i++) {
        int xi = i - (n - x->rank);
        d[i] = xi >= 0 ? x->dims[xi] : 1;
        if (r[i] < 0)
            return at_fail(A, err, "negative repeat");
    }
    int rc = at_reshape(A, A->a[0], n, d, &xr, err);
    if (rc == 0)
        rc = at_const_i64s(A, r, n, &rv, err);
    if (rc == 0) {
        jv *in[2] = {xr, rv};
        rc = at_run(A, "Tile", 0, NULL, 0, in, 2, NULL, res, err);
    }
    jv_unref(xr);
    jv_unref(rv);
    return rc;
}

/* ------------------------------------------------------------ size queries */

static int op_size(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *x = at_tv(A, 0);
    jv *l = jv_list_new((size_t)x->rank);
    if (!l)
        return oom(A, err);
    for (int i = 0; i < x->rank; i++)
        if (jv_list_push(l, jv_int(x->dims[i]), err) < 0) {
            jv_unref(l);
            return -1;
        }
    *res = l;
    return 0;
}

static int op_size_dim(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *x = at_tv(A, 0);
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 1), x->rank, false, &d, err));
    if (x->rank == 0)
        return at_fail(A, err, "dimension specified as %" PRId64 " but tensor has no dimensions",
                       at_i(A, 1));
    *res = jv_int(x->dims[d]);
    return *res ? 0 : oom(A, err);
}

static int op_dim(at_args *A, jv **res, ckpt_error *err)
{
    *res = jv_int(at_tv(A, 0)->rank);
    return *res ? 0 : oom(A, err);
}

static int op_numel(at_args *A, jv **res, ckpt_error *err)
{
    *res = jv_int(at_tv(A, 0)->numel);
    return *res ? 0 : oom(A, err);
}

/* ------------------------------------------------------------ joining and splitting */

static int seq_tensors(at_args *A, int i, jv ***items, size_t *n, ckpt_error *err)
{
    jv *l = A->a[i];
    if (l->kind != JV_LIST && l->kind != JV_TUPLE)
        return at_fail(A, err, "expected a list of tensors");
    *items = l->u.seq.items;
    *n = l->u.seq.n;
    if (*n == 0)
        return at_fail(A, err, "expected a non-empty list of tensors");
    if (*n > 64)
        return at_fail(A, err, "more than 64 tensors");
    return 0;
}

static int op_cat(at_args *A, jv **res, ckpt_error *err)
{
    jv **it = NULL;
    size_t n = 0;
    CKPT_TRY(seq_tensors(A, 0, &it, &n, err));
    /* legacy: 1-D empty tensors are skipped; dtypes promote */
    jv *use[64], *cast[64] = {0};
    size_t m = 0;
    int dt = 0, rank = -1;
    for (size_t k = 0; k < n; k++) {
        const ox_val *v = &it[k]->u.t->t;
        if (v->rank == 1 && v->numel == 0)
            continue;
        dt = at_promote(dt, v->dtype);
        if (rank < 0)
            rank = v->rank;
        use[m++] = it[k];
    }
    if (m == 0)
        return at_unary(A, "Identity", it[0], res, err);
    if (rank == 0)
        return at_fail(A, err, "zero-dimensional tensor cannot be concatenated");
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 1), rank, false, &d, err));
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < m; k++) {
        rc = at_cast(A, use[k], dt, &cast[k], err);
    }
    ox_attr a = oxa_int("axis", d);
    if (rc == 0)
        rc = at_run(A, "Concat", 0, &a, 1, cast, (int)m, NULL, res, err);
    for (size_t k = 0; k < m; k++)
        jv_unref(cast[k]);
    return rc;
}

static int op_stack(at_args *A, jv **res, ckpt_error *err)
{
    jv **it = NULL;
    size_t n = 0;
    CKPT_TRY(seq_tensors(A, 0, &it, &n, err));
    const ox_val *v0 = &it[0]->u.t->t;
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 1), v0->rank, true, &d, err));
    jv *u[64] = {0};
    int dt = 0;
    for (size_t k = 0; k < n; k++)
        dt = at_promote(dt, it[k]->u.t->t.dtype);
    int rc = 0;
    for (size_t k = 0; rc == 0 && k < n; k++) {
        const ox_val *v = &it[k]->u.t->t;
        if (v->rank != v0->rank)
            rc = at_fail(A, err, "stack expects each tensor to be equal size");
        int64_t nd[OX_MAX_RANK];
        int m = 0;
        for (int i = 0; rc == 0 && i <= v->rank; i++) {
            if (i == d)
                nd[m++] = 1;
            if (i < v->rank)
                nd[m++] = v->dims[i];
        }
        jv *c = NULL;
        if (rc == 0)
            rc = at_cast(A, it[k], dt, &c, err);
        if (rc == 0)
            rc = at_reshape(A, c, m, nd, &u[k], err);
        jv_unref(c);
    }
    ox_attr a = oxa_int("axis", d);
    if (rc == 0)
        rc = at_run(A, "Concat", 0, &a, 1, u, (int)n, NULL, res, err);
    for (size_t k = 0; k < n; k++)
        jv_unref(u[k]);
    return rc;
}

/* split self along d into pieces of `sizes` (views where the block is contiguous) */
static int split_sizes(at_args *A, jv *x, int d, const int64_t *sizes, int n, bool squeeze,
                       jv **res, ckpt_error *err)
{
    const ox_val *xv = &x->u.t->t;
    jv *l = jv_list_new((size_t)n);
    if (!l)
        return oom(A, err);
    int64_t inner = prod(xv->dims + d + 1, xv->rank - d - 1);
    bool lead = prod(xv->dims, d) == 1;
    int64_t start = 0;
    int rc = 0;
    for (int k = 0; rc == 0 && k < n; k++) {
        int64_t st = start, en = start + sizes[k], ax = d;
        jv *sv = NULL, *ev = NULL, *av = NULL, *piece = NULL;
        rc = at_const_i64s(A, &st, 1, &sv, err);
        if (rc == 0)
            rc = at_const_i64s(A, &en, 1, &ev, err);
        if (rc == 0)
            rc = at_const_i64s(A, &ax, 1, &av, err);
        if (rc == 0) {
            jv *in[4] = {x, sv, ev, av};
            rc = at_run(A, "Slice", 0, NULL, 0, in, 4, NULL, &piece, err);
        }
        if (rc == 0 && lead)
            view_of(x, piece, st * inner);
        if (rc == 0 && squeeze) {
            jv *sq = NULL;
            int64_t nd[OX_MAX_RANK];
            int m = 0;
            for (int i = 0; i < xv->rank; i++)
                if (i != d)
                    nd[m++] = xv->dims[i];
            rc = at_reshape(A, piece, m, nd, &sq, err);
            jv_unref(piece);
            piece = sq;
        }
        if (rc == 0)
            rc = jv_list_push(l, piece, err);
        else
            jv_unref(piece);
        jv_unref(sv);
        jv_unref(ev);
        jv_unref(av);
        start = en;
    }
    if (rc < 0) {
        jv_unref(l);
        return rc;
    }
    *res = l;
    return 0;
}

static int op_chunk(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *x = at_tv(A, 0);
    int64_t chunks = at_i(A, 1);
    if (chunks <= 0)
        return at_fail(A, err, "chunks must be positive");
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 2), x->rank, false, &d, err));
    int64_t len = x->dims[d], each = (len + chunks - 1) / chunks;
    int64_t sizes[256];
    int n = 0;
    if (each == 0) {
        sizes[n++] = 0;
    } else {
        for (int64_t s = 0; s < len; s += each) {
            if (n == 256)
                return at_fail(A, err, "more than 256 chunks");
            sizes[n++] = s + each <= len ? each : len - s;
        }
    }
    return split_sizes(A, A->a[0], d, sizes, n, false, res, err);
}

static int op_split(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *x = at_tv(A, 0);
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 2), x->rank, false, &d, err));
    int64_t sizes[256];
    int n = 0;
    int64_t len = x->dims[d];
    if (A->a[1]->kind == JV_INT) {
        int64_t s = at_i(A, 1);
        if (s <= 0 && len > 0)
            return at_fail(A, err, "split_size must be positive");
        if (len == 0)
            sizes[n++] = 0;
        for (int64_t p = 0; p < len; p += s) {
            if (n == 256)
                return at_fail(A, err, "more than 256 pieces");
            sizes[n++] = p + s <= len ? s : len - p;
        }
    } else {
        n = at_ints(A, 1, sizes, 256, 0, err);
        if (n < 0)
            return n;
        int64_t tot = 0;
        for (int k = 0; k < n; k++) {
            if (sizes[k] < 0)
                return at_fail(A, err, "negative split size");
            tot += sizes[k];
        }
        if (tot != len)
            return at_fail(A, err, "split sizes add up to %" PRId64 ", dim %d has %" PRId64, tot,
                           d, len);
    }
    return split_sizes(A, A->a[0], d, sizes, n, false, res, err);
}

static int op_unbind(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *x = at_tv(A, 0);
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 1), x->rank, false, &d, err));
    int64_t len = x->dims[d];
    if (len > 4096)
        return at_fail(A, err, "more than 4096 pieces");
    int64_t *sizes = malloc(sizeof(int64_t) * (size_t)(len ? len : 1));
    if (!sizes)
        return oom(A, err);
    for (int64_t k = 0; k < len; k++)
        sizes[k] = 1;
    int rc = split_sizes(A, A->a[0], d, sizes, (int)len, true, res, err);
    free(sizes);
    return rc;
}

/* ------------------------------------------------------------ indexing */

static int op_select(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0];
    const ox_val *xv = &x->u.t->t;
    if (xv->rank == 0)
        return at_fail(A, err, "select() cannot be applied to a 0-dim tensor");
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 1), xv->rank, false, &d, err));
    int64_t idx = at_i(A, 2), len = xv->dims[d];
    if (idx < -len || idx >= len)
        return at_fail(A, err, "index %" PRId64 " out of range for dimension %d of size %" PRId64,
                       idx, d, len);
    if (idx < 0)
        idx += len;
    jv *iv = NULL;
    CKPT_TRY(at_const(A, OX_INT64, 0, NULL, (double)idx, &iv, err));
    ox_attr a = oxa_int("axis", d);
    jv *in[2] = {x, iv};
    int rc = at_run(A, "Gather", 0, &a, 1, in, 2, NULL, res, err);
    jv_unref(iv);
    if (rc == 0 && prod(xv->dims, d) == 1)
        view_of(x, *res, idx * prod(xv->dims + d + 1, xv->rank - d - 1));
    return rc;
}

static int slice_run(at_args *A, jv *x, int d, int64_t st, int64_t en, int64_t step, jv **res,
                     ckpt_error *err)
{
    const ox_val *xv = &x->u.t->t;
    int64_t len = xv->dims[d];
    /* torch clamps like Python slicing */
    if (st < 0)
        st += len;
    if (en < 0)
        en += len;
    st = st < 0 ? 0 : st > len ? len : st;
    en = en < st ? st : en > len ? len : en;
    int64_t ax = d;
    jv *sv = NULL, *ev = NULL, *av = NULL, *pv = NULL;
    int rc = at_const_i64s(A, &st, 1, &sv, err);
    if (rc == 0)
        rc = at_const_i64s(A, &en, 1, &ev, err);
    if (rc == 0)
        rc = at_const_i64s(A, &ax, 1, &av, err);
    if (rc == 0)
        rc = at_const_i64s(A, &step, 1, &pv, err);
    if (rc == 0) {
        jv *in[5] = {x, sv, ev, av, pv};
        rc = at_run(A, "Slice", 0, NULL, 0, in, 5, NULL, res, err);
    }
    jv_unref(sv);
    jv_unref(ev);
    jv_unref(av);
    jv_unref(pv);
    if (rc == 0 && step == 1 && prod(xv->dims, d) == 1)
        view_of(x, *res, st * prod(xv->dims + d + 1, xv->rank - d - 1));
    return rc;
}

static int op_slice(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0];
    const ox_val *xv = &x->u.t->t;
    if (xv->rank == 0)
        return at_fail(A, err, "slice() cannot be applied to a 0-dim tensor");
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 1), xv->rank, false, &d, err));
    int64_t st = at_none(A, 2) ? 0 : at_i(A, 2);
    int64_t en = at_none(A, 3) ? INT64_MAX : at_i(A, 3);
    int64_t step = at_i(A, 4);
    if (step <= 0)
        return at_fail(A, err, "slice step must be positive");
    return slice_run(A, x, d, st, en, step, res, err);
}

/* slice.t on lists, slice.str on strings */
static int op_slice_list(at_args *A, jv **res, ckpt_error *err)
{
    jv *l = A->a[0];
    int64_t n = l->kind == JV_STR ? (int64_t)l->u.str.len : (int64_t)l->u.seq.n;
    int64_t step = at_i(A, 3);
    if (step <= 0)
        return at_fail(A, err, "slice step must be positive");
    int64_t st = at_none(A, 1) ? 0 : at_i(A, 1), en = at_none(A, 2) ? n : at_i(A, 2);
    if (st < 0)
        st += n;
    if (en < 0)
        en += n;
    st = st < 0 ? 0 : st > n ? n : st;
    en = en < st ? st : en > n ? n : en;
    if (l->kind == JV_STR) {
        char *s = malloc((size_t)(en - st) + 1);
        if (!s)
            return oom(A, err);
        size_t m = 0;
        for (int64_t i = st; i < en; i += step)
            s[m++] = l->u.str.s[i];
        *res = jv_str(s, m);
        free(s);
        return *res ? 0 : oom(A, err);
    }
    jv *o = l->kind == JV_LIST ? jv_list_new(4) : jv_tuple_new(4);
    if (!o)
        return oom(A, err);
    for (int64_t i = st; i < en; i += step)
        if (jv_list_push(o, jv_ref(l->u.seq.items[i]), err) < 0) {
            jv_unref(o);
            return -1;
        }
    *res = o;
    return 0;
}

static int op_narrow(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0];
    const ox_val *xv = &x->u.t->t;
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 1), xv->rank, false, &d, err));
    int64_t st = at_i(A, 2), ln = at_i(A, 3);
    if (st < 0)
        st += xv->dims[d];
    if (st < 0 || ln < 0 || st + ln > xv->dims[d])
        return at_fail(A, err,
                       "start (%" PRId64 ") + length (%" PRId64 ") exceeds dimension size", st,
                       ln);
    return slice_run(A, x, d, st, st + ln, 1, res, err);
}

static int op_index_select(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *xv = at_tv(A, 0), *iv = at_tv(A, 2);
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 1), xv->rank, false, &d, err));
    if (!at_is_integral(iv->dtype, false) || iv->rank > 1)
        return at_fail(A, err, "index must be a 0-D or 1-D integer tensor");
    ox_attr a = oxa_int("axis", d);
    jv *in[2] = {A->a[0], A->a[2]};
    return at_run(A, "Gather", 0, &a, 1, in, 2, NULL, res, err);
}

static int op_gather(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *xv = at_tv(A, 0);
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 1), xv->rank, false, &d, err));
    ox_attr a = oxa_int("axis", d);
    jv *in[2] = {A->a[0], A->a[2]};
    return at_run(A, "GatherElements", 0, &a, 1, in, 2, NULL, res, err);
}

/* index(self, Tensor?[] indices): one boolean mask, or integer index tensors on
 * consecutive dims (broadcast together) */
static int op_index(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *l = A->a[1];
    const ox_val *xv = &x->u.t->t;
    size_t n = l->u.seq.n;
    if (n > (size_t)xv->rank)
        return at_fail(A, err, "too many indices for a %d-D tensor", xv->rank);
    int first = -1, last = -1;
    for (size_t k = 0; k < n; k++)
        if (l->u.seq.items[k]->kind == JV_TENSOR) {
            if (first < 0)
                first = (int)k;
            else if (last != (int)k - 1)
                return at_fail(A, err, "non-adjacent index tensors are not supported");
            last = (int)k;
        }
    if (first < 0)
        return at_unary(A, "Identity", x, res, err);
    jv *i0 = l->u.seq.items[first];
    const ox_val *iv = &i0->u.t->t;
    if (iv->dtype == OX_BOOL || iv->dtype == OX_UINT8) {
        if (first != last)
            return at_fail(A, err, "a mask with other indices is not supported");
        /* mask over dims first..first+r-1: flatten them, Compress */
        int r = iv->rank;
        if (first + r > xv->rank)
            return at_fail(A, err, "mask has too many dimensions");
        for (int i = 0; i < r; i++)
            if (iv->dims[i] != xv->dims[first + i])
                return at_fail(A, err, "mask shape does not match the indexed dims");
        int64_t d[OX_MAX_RANK], mn = iv->numel;
        int m = 0;
        for (int i = 0; i < first; i++)
            d[m++] = xv->dims[i];
        d[m++] = mn;
        for (int i = first + r; i < xv->rank; i++)
            d[m++] = xv->dims[i];
        jv *xf = NULL, *mf = NULL, *mb = NULL;
        int rc = at_reshape(A, x, m, d, &xf, err);
        if (rc == 0)
            rc = at_cast(A, i0, OX_BOOL, &mb, err);
        if (rc == 0)
            rc = at_reshape(A, mb, 1, &mn, &mf, err);
        ox_attr a = oxa_int("axis", first);
        if (rc == 0) {
            jv *in[2] = {xf, mf};
            rc = at_run(A, "Compress", 0, &a, 1, in, 2, NULL, res, err);
        }
        jv_unref(xf);
        jv_unref(mf);
        jv_unref(mb);
        return rc;
    }
    if (first == last) {
        if (!at_is_integral(iv->dtype, false))
            return at_fail(A, err, "indices must be integer or bool tensors");
        ox_attr a = oxa_int("axis", first);
        jv *in[2] = {x, i0};
        return at_run(A, "Gather", 0, &a, 1, in, 2, NULL, res, err);
    }
    /* several integer indices on dims first..last: broadcast, stack, GatherND on a
     * transposed view with those dims leading */
    int k = last - first + 1;
    int bshape_r = 0;
    int64_t bshape[OX_MAX_RANK];
    for (int j = first; j <= last; j++) {
        const ox_val *v = &l->u.seq.items[j]->u.t->t;
        if (!at_is_integral(v->dtype, false))
            return at_fail(A, err, "indices must be integer tensors");
        int r2;
        int64_t d2[OX_MAX_RANK];
        CKPT_TRY(ox_broadcast_shape(NULL, bshape_r, bshape, v->rank, v->dims, &r2, d2, err));
        bshape_r = r2;
        memcpy(bshape, d2, sizeof d2);
    }
    if (bshape_r + 1 > OX_MAX_RANK)
        return at_fail(A, err, "too many dimensions");
    jv *parts[OX_MAX_RANK] = {0}, *stacked = NULL, *xt = NULL, *g = NULL, *shp = NULL;
    int rc = 0;
    int64_t ed[OX_MAX_RANK];
    memcpy(ed, bshape, sizeof(int64_t) * (size_t)bshape_r);
    ed[bshape_r] = 1;
    rc = at_const_i64s(A, bshape, bshape_r, &shp, err);
    for (int j = 0; rc == 0 && j < k; j++) {
        jv *c = NULL, *e = NULL;
        rc = at_cast(A, l->u.seq.items[first + j], OX_INT64, &c, err);
        if (rc == 0) {
            jv *in[2] = {c, shp};
            rc = at_run(A, "Expand", 0, NULL, 0, in, 2, NULL, &e, err);
        }
        if (rc == 0)
            rc = at_reshape(A, e, bshape_r + 1, ed, &parts[j], err);
        jv_unref(c);
        jv_unref(e);
    }
    ox_attr ax = oxa_int("axis", bshape_r);
    if (rc == 0)
        rc = at_run(A, "Concat", 0, &ax, 1, parts, k, NULL, &stacked, err);
    int64_t perm[OX_MAX_RANK];
    int pn = 0;
    for (int i = first; i <= last; i++)
        perm[pn++] = i;
    for (int i = 0; i < xv->rank; i++)
        if (i < first || i > last)
            perm[pn++] = i;
    if (rc == 0)
        rc = at_transpose(A, x, perm, xv->rank, &xt, err);
    if (rc == 0) {
        jv *in[2] = {xt, stacked};
        rc = at_run(A, "GatherND", 0, NULL, 0, in, 2, NULL, &g, err);
    }
    /* torch: indexed dims adjacent -> the broadcast shape replaces them in place */
    if (rc == 0 && first > 0) {
        int64_t p2[OX_MAX_RANK];
        int q = 0, gr = g->u.t->t.rank;
        for (int i = 0; i < first; i++)
            p2[q++] = bshape_r + i;
        for (int i = 0; i < bshape_r; i++)
            p2[q++] = i;
        for (int i = bshape_r + first; i < gr; i++)
            p2[q++] = i;
        rc = at_transpose(A, g, p2, gr, res, err);
    } else if (rc == 0) {
        *res = jv_ref(g);
    }
    for (int j = 0; j < k; j++)
        jv_unref(parts[j]);
    jv_unref(stacked);
    jv_unref(xt);
    jv_unref(g);
    jv_unref(shp);
    return rc;
}

/* index_put_(self, indices, values, accumulate): a boolean mask, or one integer index on dim 0 */
static int op_index_put(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *l = A->a[1], *vals = A->a[2];
    const ox_val *xv = &x->u.t->t;
    if (at_b(A, 3))
        return at_fail(A, err, "accumulate=True is not supported");
    if (l->u.seq.n != 1 || l->u.seq.items[0]->kind != JV_TENSOR)
        return at_fail(A, err, "only one index tensor is supported");
    jv *i0 = l->u.seq.items[0], *cv = NULL, *out = NULL;
    const ox_val *iv = &i0->u.t->t;
    int rc = at_cast(A, vals, xv->dtype, &cv, err);
    if (rc < 0)
        return rc;
    if (iv->dtype == OX_BOOL) {
        if (cv->u.t->t.numel != 1) {
            jv_unref(cv);
            return at_fail(A, err, "a mask assignment needs one value");
        }
        jv *mb = NULL;
        int64_t d[OX_MAX_RANK];
        int m = iv->rank;
        memcpy(d, iv->dims, sizeof(int64_t) * (size_t)m);
        for (int i = m; i < xv->rank; i++)
            d[i] = 1;
        rc = at_reshape(A, i0, xv->rank, d, &mb, err);
        jv *sc = NULL;
        if (rc == 0)
            rc = at_reshape(A, cv, 0, NULL, &sc, err);
        if (rc == 0) {
            jv *in[3] = {mb, sc, x};
            rc = at_run(A, "Where", 0, NULL, 0, in, 3, NULL, &out, err);
        }
        jv_unref(mb);
        jv_unref(sc);
    } else {
        /* ScatterND with indices (..., 1) */
        jv *ic = NULL, *ir = NULL, *ve = NULL, *shp = NULL;
        int64_t d[OX_MAX_RANK + 1];
        memcpy(d, iv->dims, sizeof(int64_t) * (size_t)iv->rank);
        d[iv->rank] = 1;
        rc = at_cast(A, i0, OX_INT64, &ic, err);
        if (rc == 0)
            rc = at_reshape(A, ic, iv->rank + 1, d, &ir, err);
        int64_t vd[OX_MAX_RANK];
        int vr = 0;
        for (int i = 0; i < iv->rank; i++)
            vd[vr++] = iv->dims[i];
        for (int i = 1; i < xv->rank; i++)
            vd[vr++] = xv->dims[i];
        if (rc == 0)
            rc = at_const_i64s(A, vd, vr, &shp, err);
        if (rc == 0) {
            jv *in[2] = {cv, shp};
            rc = at_run(A, "Expand", 0, NULL, 0, in, 2, NULL, &ve, err);
        }
        if (rc == 0) {
            jv *in[3] = {x, ir, ve};
            rc = at_run(A, "ScatterND", 0, NULL, 0, in, 3, NULL, &out, err);
        }
        jv_unref(ic);
        jv_unref(ir);
        jv_unref(ve);
        jv_unref(shp);
    }
    jv_unref(cv);
    if (rc == 0)
        rc = at_assign(A, x, out, err);
    jv_unref(out);
    if (rc == 0)
        *res = jv_ref(x);
    return rc;
}

static int op_masked_fill(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *mask = A->a[1], *v = NULL, *mb = NULL;
    int rc = at_scalar_tensor(A, A->a[2], x->u.t->t.dtype, &v, err);
    if (rc == 0)
        rc = at_cast(A, mask, OX_BOOL, &mb, err);
    if (rc == 0) {
        jv *in[3] = {mb, v, x};
        rc = at_run(A, "Where", 0, NULL, 0, in, 3, NULL, res, err);
    }
    jv_unref(v);
    jv_unref(mb);
    return rc;
}

static int op_where(at_args *A, jv **res, ckpt_error *err)
{
    jv *v[2] = {A->a[1], A->a[2]};
    int dt = at_result_type(v, 2);
    jv *a = NULL, *b = NULL, *c = NULL;
    int rc = at_cast(A, A->a[1], dt, &a, err);
    if (rc == 0)
        rc = at_cast(A, A->a[2], dt, &b, err);
    if (rc == 0)
        rc = at_cast(A, A->a[0], OX_BOOL, &c, err);
    if (rc == 0) {
        jv *in[3] = {c, a, b};
        rc = at_run(A, "Where", 0, NULL, 0, in, 3, NULL, res, err);
    }
    jv_unref(a);
    jv_unref(b);
    jv_unref(c);
    return rc;
}

static int op_flip(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *xv = at_tv(A, 0);
    int64_t ds[OX_MAX_RANK];
    int n = at_ints(A, 1, ds, OX_MAX_RANK, 0, err);
    if (n < 0)
        return n;
    int64_t st[OX_MAX_RANK], en[OX_MAX_RANK], ax[OX_MAX_RANK], sp[OX_MAX_RANK];
    for (int k = 0; k < n; k++) {
        int d;
        CKPT_TRY(at_dim(A, ds[k], xv->rank, false, &d, err));
        st[k] = -1;
        en[k] = INT64_MIN;
        ax[k] = d;
        sp[k] = -1;
    }
    /* nothing to reverse (the Slice kernel mis-sizes a negative step over an empty dim) */
    if (n == 0 || xv->numel == 0)
        return at_unary(A, "Identity", A->a[0], res, err);
    jv *c[4] = {0};
    int rc = at_const_i64s(A, st, n, &c[0], err);
    if (rc == 0)
        rc = at_const_i64s(A, en, n, &c[1], err);
    if (rc == 0)
        rc = at_const_i64s(A, ax, n, &c[2], err);
    if (rc == 0)
        rc = at_const_i64s(A, sp, n, &c[3], err);
    if (rc == 0) {
        jv *in[5] = {A->a[0], c[0], c[1], c[2], c[3]};
        rc = at_run(A, "Slice", 0, NULL, 0, in, 5, NULL, res, err);
    }
    for (int k = 0; k < 4; k++)
        jv_unref(c[k]);
    return rc;
}

static int op_trilu(at_args *A, jv **res, ckpt_error *err)
{
    jv *k = NULL;
    CKPT_TRY(at_const(A, OX_INT64, 0, NULL, (double)at_i(A, 1), &k, err));
    ox_attr up = oxa_int("upper", A->op[1] == 'r' && A->op[3] == 'u' ? 1 : 0);
    jv *in[2] = {A->a[0], k};
    int rc = at_run(A, "Trilu", 0, &up, 1, in, 2, NULL, res, err);
    jv_unref(k);
    return rc;
}

static int op_topk(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *xv = at_tv(A, 0);
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 2), xv->rank, false, &d, err));
    jv *k = NULL, *o[2] = {NULL, NULL};
    int64_t kk = at_i(A, 1);
    CKPT_TRY(at_const_i64s(A, &kk, 1, &k, err));
    ox_attr at[3] = {oxa_int("axis", d), oxa_int("largest", at_b(A, 3) ? 1 : 0),
                     oxa_int("sorted", 1)};
    jv *in[2] = {A->a[0], k};
    int rc = at_run_n(A, "TopK", 0, at, 3, in, 2, NULL, o, 2, err);
    jv_unref(k);
    if (rc < 0)
        return rc;
    *res = at_tuple2(o[0], o[1]);
    return *res ? 0 : oom(A, err);
}

/* sort(self, dim=-1, descending=False) as a full TopK (stable order for ties as TopK gives) */
static int op_sort(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *xv = at_tv(A, 0);
    int d;
    CKPT_TRY(at_dim(A, at_i(A, 1), xv->rank, false, &d, err));
    jv *k = NULL, *o[2] = {NULL, NULL};
    int64_t kk = xv->rank ? xv->dims[d] : 1;
    CKPT_TRY(at_const_i64s(A, &kk, 1, &k, err));
    ox_attr at[3] = {oxa_int("axis", d), oxa_int("largest", at_b(A, 2) ? 1 : 0),
                     oxa_int("sorted", 1)};
    jv *in[2] = {A->a[0], k};
    int rc = at_run_n(A, "TopK", 0, at, 3, in, 2, NULL, o, 2, err);
    jv_unref(k);
    if (rc < 0)
        return rc;
    *res = at_tuple2(o[0], o[1]);
    return *res ? 0 : oom(A, err);
}

static int op_nonzero(at_args *A, jv **res, ckpt_error *err)
{
    jv *nz = NULL;
    CKPT_TRY(at_unary(A, "NonZero", A->a[0], &nz, err));
    int64_t p[2] = {1, 0};
    int rc = at_transpose(A, nz, p, 2, res, err);
    jv_unref(nz);
    return rc;
}

static int op_einsum(at_args *A, jv **res, ckpt_error *err)
{
    jv **it = NULL;
    size_t n = 0;
    CKPT_TRY(seq_tensors(A, 1, &it, &n, err));
    ox_attr e = oxa_str("equation", at_s(A, 0));
    return at_run(A, "Einsum", 0, &e, 1, it, (int)n, NULL, res, err);
}

/* ------------------------------------------------------------ dtype, copies */

static int op_to_dtype(at_args *A, jv **res, ckpt_error *err)
{
    int dt = at_dtype_arg(A, 1, at_tv(A, 0)->dtype, err);
    if (dt < 0)
        return dt;
    if (dt == at_tv(A, 0)->dtype && !at_b(A, 3)) {
        *res = jv_ref(A->a[0]);
        return 0;
    }
    return at_cast(A, A->a[0], dt, res, err);
}

/* to.device(self, device, dtype, non_blocking, copy, memory_format) and
 * to.prim_Device(self, device?, dtype?, non_blocking, copy) */
static int op_to_device(at_args *A, jv **res, ckpt_error *err)
{
    const jv *d = A->a[1];
    if (d->kind == JV_DEVICE && strcmp(d->u.dev.type, "cpu"))
        return at_fail(A, err, "device '%s' (ckpt runs on the CPU)", d->u.dev.type);
    if (d->kind == JV_STR && strncmp(d->u.str.s, "cpu", 3))
        return at_fail(A, err, "device '%s' (ckpt runs on the CPU)", d->u.str.s);
    int dt = at_dtype_arg(A, 2, at_tv(A, 0)->dtype, err);
    if (dt < 0)
        return dt;
    if (dt == at_tv(A, 0)->dtype) {
        *res = jv_ref(A->a[0]);
        return 0;
    }
    return at_cast(A, A->a[0], dt, res, err);
}

static int op_to_other(at_args *A, jv **res, ckpt_error *err)
{
    return at_cast(A, A->a[0], at_tv(A, 1)->dtype, res, err);
}

/* to(self, *, dtype, layout, device, pin_memory, non_blocking, copy, memory_format) */
static int op_to_kw(at_args *A, jv **res, ckpt_error *err)
{
    int dt = at_dtype_arg(A, 1, at_tv(A, 0)->dtype, err);
    if (dt < 0)
        return dt;
    return at_cast(A, A->a[0], dt, res, err);
}

static int op_type_as(at_args *A, jv **res, ckpt_error *err)
{
    return at_cast(A, A->a[0], at_tv(A, 1)->dtype, res, err);
}

static int cast_to(at_args *A, int dt, jv **res, ckpt_error *err)
{
    return at_cast(A, A->a[0], dt, res, err);
}

static int op_float(at_args *A, jv **res, ckpt_error *err)
{
    return cast_to(A, OX_FLOAT, res, err);
}

static int op_long(at_args *A, jv **res, ckpt_error *err)
{
    return cast_to(A, OX_INT64, res, err);
}

static int op_copy_(at_args *A, jv **res, ckpt_error *err)
{
    CKPT_TRY(at_assign(A, A->a[0], A->a[1], err));
    *res = jv_ref(A->a[0]);
    return 0;
}

static int op_fill_(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *v = NULL;
    if (A->a[1]->kind == JV_TENSOR && A->a[1]->u.t->t.numel != 1)
        return at_fail(A, err, "fill_ only supports a 0-dimension value tensor");
    CKPT_TRY(at_scalar_tensor(A, A->a[1], x->u.t->t.dtype, &v, err));
    int rc = at_assign(A, x, v, err);
    jv_unref(v);
    if (rc == 0)
        *res = jv_ref(x);
    return rc;
}

static int op_zero_(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *v = NULL;
    CKPT_TRY(at_const(A, x->u.t->t.dtype, 0, NULL, 0.0, &v, err));
    int rc = at_assign(A, x, v, err);
    jv_unref(v);
    if (rc == 0)
        *res = jv_ref(x);
    return rc;
}

/* ------------------------------------------------------------ creation */

static int fill_dtype(const jv *v)
{
    return v->kind == JV_BOOL ? OX_BOOL : v->kind == JV_INT ? OX_INT64 : OX_FLOAT;
}

static int check_device(at_args *A, int i, ckpt_error *err)
{
    if (i >= A->n || at_none(A, i))
        return 0;
    const jv *d = A->a[i];
    if (d->kind == JV_DEVICE && strcmp(d->u.dev.type, "cpu"))
        return at_fail(A, err, "device '%s' (ckpt runs on the CPU)", d->u.dev.type);
    return 0;
}

/* zeros/ones/empty(size, *, dtype, layout, device, pin_memory) */
static int creation(at_args *A, double x, jv **res, ckpt_error *err)
{
    int64_t d[OX_MAX_RANK];
    int n = at_ints(A, 0, d, OX_MAX_RANK, 0, err);
    if (n < 0)
        return n;
    for (int i = 0; i < n; i++)
        if (d[i] < 0)
            return at_fail(A, err, "negative dimension %" PRId64, d[i]);
    int dt = at_dtype_arg(A, 1, OX_FLOAT, err);
    if (dt < 0)
        return dt;
    CKPT_TRY(check_device(A, 3, err));
    return at_const(A, dt, n, d, x, res, err);
}

static int op_zeros(at_args *A, jv **res, ckpt_error *err)
{
    return creation(A, 0.0, res, err);
}

static int op_ones(at_args *A, jv **res, ckpt_error *err)
{
    return creation(A, 1.0, res, err);
}

/* full(size, fill_value, *, dtype, layout, device, pin_memory) */
static int op_full(at_args *A, jv **res, ckpt_error *err)
{
    int64_t d[OX_MAX_RANK];
    int n = at_ints(A, 0, d, OX_MAX_RANK, 0, err);
    if (n < 0)
        return n;
    int dt = at_dtype_arg(A, 2, fill_dtype(A->a[1]), err);
    if (dt < 0)
        return dt;
    if (dt == OX_INT64 && A->a[1]->kind == JV_INT) {
        jv *t = NULL;
        CKPT_TRY(at_const(A, dt, n, d, 0, &t, err));
        int64_t *p = t->u.t->t.data;
        for (int64_t k = 0; k < t->u.t->t.numel; k++)
            p[k] = A->a[1]->u.i;
        *res = t;
        return 0;
    }
    return at_const(A, dt, n, d, at_f(A, 1), res, err);
}

/* zeros_like/ones_like/empty_like(self, *, dtype, layout, device, pin_memory, memory_format) */
static int like(at_args *A, double x, int dt_i, jv **res, ckpt_error *err)
{
    const ox_val *s = at_tv(A, 0);
    int dt = at_dtype_arg(A, dt_i, s->dtype, err);
    if (dt < 0)
        return dt;
    return at_const(A, dt, s->rank, s->dims, x, res, err);
}

static int op_zeros_like(at_args *A, jv **res, ckpt_error *err)
{
    return like(A, 0.0, 1, res, err);
}

static int op_ones_like(at_args *A, jv **res, ckpt_error *err)
{
    return like(A, 1.0, 1, res, err);
}

static int op_full_like(at_args *A, jv **res, ckpt_error *err)
{
    return like(A, at_f(A, 1), 2, res, err);
}

/* new_zeros/new_ones/new_empty(self, size, *, dtype...) and new_full(self, size, fill, *, dtype) */
static int new_like(at_args *A, double x, int dt_i, jv **res, ckpt_error *err)
{
    int64_t d[OX_MAX_RANK];
    int n = at_ints(A, 1, d, OX_MAX_RANK, 0, err);
    if (n < 0)
        return n;
    int dt = at_dtype_arg(A, dt_i, at_tv(A, 0)->dtype, err);
    if (dt < 0)
        return dt;
    return at_const(A, dt, n, d, x, res, err);
}

static int op_new_zeros(at_args *A, jv **res, ckpt_error *err)
{
    return new_like(A, 0.0, 2, res, err);
}

static int op_new_ones(at_args *A, jv **res, ckpt_error *err)
{
    return new_like(A, 1.0, 2, res, err);
}

static int op_new_full(at_args *A, jv **res, ckpt_error *err)
{
    return new_like(A, at_f(A, 2), 3, res, err);
}

/* arange(end) / arange(start, end) / arange(start, end, step), dtype keyword */
static int arange(at_args *A, const jv *st, const jv *en, const jv *sp, int dt_i, jv **res,
                  ckpt_error *err)
{
    bool fl = st->kind == JV_FLOAT || en->kind == JV_FLOAT || sp->kind == JV_FLOAT;
    int dt = at_dtype_arg(A, dt_i, fl ? OX_FLOAT : OX_INT64, err);
    if (dt < 0)
        return dt;
    double s = at_num(st), e = at_num(en), p = at_num(sp);
    if (p == 0 || ((e - s) / p) < 0 || !isfinite(s) || !isfinite(e))
        return at_fail(A, err, "upper bound and larger bound inconsistent with step sign");
    if ((e - s) / p > 1e12)
        return at_fail(A, err, "too many elements");
    jv *c[3] = {0};
    int rc = 0;
    /* Range computes in the output type: integer args keep integer arithmetic */
    const jv *src[3] = {st, en, sp};
    for (int k = 0; rc == 0 && k < 3; k++)
        rc = at_scalar_tensor(A, src[k], fl && at_is_integral(dt, false) ? OX_DOUBLE : dt, &c[k],
                              err);
    jv *r = NULL;
    if (rc == 0)
        rc = at_run(A, "Range", 0, NULL, 0, c, 3, NULL, &r, err);
    if (rc == 0)
        rc = at_cast(A, r, dt, res, err);
    jv_unref(r);
    for (int k = 0; k < 3; k++)
        jv_unref(c[k]);
    return rc;
}

static int op_arange1(at_args *A, jv **res, ckpt_error *err)
{
    jv *z = jv_int(0), *one = jv_int(1);
    int rc = z && one ? arange(A, z, A->a[0], one, 1, res, err) : oom(A, err);
    jv_unref(z);
    jv_unref(one);
    return rc;
}

static int op_arange2(at_args *A, jv **res, ckpt_error *err)
{
    jv *one = jv_int(1);
    int rc = one ? arange(A, A->a[0], A->a[1], one, 2, res, err) : oom(A, err);
    jv_unref(one);
    return rc;
}

static int op_arange3(at_args *A, jv **res, ckpt_error *err)
{
    return arange(A, A->a[0], A->a[1], A->a[2], 3, res, err);
}

/* tensor(data, *, dtype, device, requires_grad): nested lists of numbers */
static int flat_count(const jv *v, int depth, int64_t *dims, int *rank, int64_t *n, int *kind)
{
    if (v->kind == JV_LIST || v->kind == JV_TUPLE) {
        if (depth >= OX_MAX_RANK)
            return -1;
        if (*rank <= depth) {
            *rank = depth + 1;
            dims[depth] = (int64_t)v->u.seq.n;
        } else if (dims[depth] != (int64_t)v->u.seq.n) {
            return -1;
        }
        for (size_t i = 0; i < v->u.seq.n; i++)
            if (flat_count(v->u.seq.items[i], depth + 1, dims, rank, n, kind) < 0)
                return -1;
        return 0;
    }
    if (v->kind != JV_INT && v->kind != JV_FLOAT && v->kind != JV_BOOL)
        return -1;
    if (depth != *rank && *n > 0)
        return -1;
    if (v->kind == JV_FLOAT || (*kind != JV_FLOAT && v->kind == JV_INT) || !*kind)
        *kind = *kind == JV_FLOAT ? JV_FLOAT : v->kind;
    (*n)++;
    return 0;
}

static void flat_fill(const jv *v, ox_val *t, int64_t *k)
{
    if (v->kind == JV_LIST || v->kind == JV_TUPLE) {
        for (size_t i = 0; i < v->u.seq.n; i++)
            flat_fill(v->u.seq.items[i], t, k);
        return;
    }
    if (t->dtype == OX_INT64 && v->kind == JV_INT)
        ((int64_t *)t->data)[(*k)++] = v->u.i;
    else
        ox_set_f64(t, (*k)++, at_num(v));
}

static int op_tensor(at_args *A, jv **res, ckpt_error *err)
{
    int64_t dims[OX_MAX_RANK];
    int rank = 0, kind = 0;
    int64_t n = 0;
    if (flat_count(A->a[0], 0, dims, &rank, &n, &kind) < 0)
        return at_fail(A, err, "data must be a (nested) list of numbers of regular shape");
    int dt = at_dtype_arg(A, 1,
                          kind == JV_BOOL  ? OX_BOOL
                          : kind == JV_INT ? OX_INT64
                                           : OX_FLOAT,
                          err);
    if (dt < 0)
        return dt;
    jv *t = NULL;
    CKPT_TRY(at_const(A, dt, rank, dims, 0.0, &t, err));
    int64_t k = 0;
    flat_fill(A->a[0], &t->u.t->t, &k);
    *res = t;
    return 0;
}

static int op_scalar_tensor(at_args *A, jv **res, ckpt_error *err)
{
    int dt = at_dtype_arg(A, 1, fill_dtype(A->a[0]) == OX_INT64 ? OX_FLOAT : OX_FLOAT, err);
    if (dt < 0)
        return dt;
    return at_scalar_tensor(A, A->a[0], dt, res, err);
}

static int op_tensor_scalar(at_args *A, jv **res, ckpt_error *err)
{
    int dt = at_dtype_arg(A, 1, fill_dtype(A->a[0]), err);
    if (dt < 0)
        return dt;
    return at_scalar_tensor(A, A->a[0], dt, res, err);
}

/* ------------------------------------------------------------ table */

#define TENSOR_OPTS                                                                              \
    "*, ScalarType? dtype=None, Layout? layout=None, Device? device=None, bool? pin_memory=None"

const at_op at_ops_shape[] = {
    {"view", "Tensor self, int[] size", op_view},
    {"reshape", "Tensor self, int[] shape", op_view},
    {"_reshape_alias", "Tensor self, int[] size, int[] stride", op_view},
    {"view_as", "Tensor self, Tensor other", op_view_as},
    {"reshape_as", "Tensor self, Tensor other", op_view_as},
    {"flatten", "Tensor self, int start_dim=0, int end_dim=-1", op_flatten},
    {"unflatten", "Tensor self, int dim, int[] sizes", op_unflatten},
    {"permute", "Tensor self, int[] dims", op_permute},
    {"transpose", "Tensor self, int dim0, int dim1", op_transpose},
    {"swapaxes", "Tensor self, int axis0, int axis1", op_transpose},
    {"t", "Tensor self", op_t},
    {"numpy_T", "Tensor self", op_t},
    {"contiguous", "Tensor self, *, MemoryFormat memory_format=contiguous_format",
     op_identity_ref},
    {"detach", "Tensor self", op_identity_ref},
    {"detach_", "Tensor self", op_identity_ref},
    {"alias", "Tensor self", op_identity_ref},
    {"lift_fresh", "Tensor self", op_identity_ref},
    {"requires_grad_", "Tensor self, bool requires_grad=True", op_identity_ref},
    {"clone", "Tensor self, *, MemoryFormat? memory_format=None", op_clone},
    {"unsqueeze", "Tensor self, int dim", op_unsqueeze},
    {"squeeze", "Tensor self", op_squeeze},
    {"squeeze", "Tensor self, int dim", op_squeeze},
    {"squeeze", "Tensor self, int[] dim", op_squeeze},
    {"expand", "Tensor self, int[] size, *, bool implicit=False", op_expand},
    {"expand_as", "Tensor self, Tensor other", op_expand},
    {"repeat", "Tensor self, int[] repeats", op_repeat},
    {"size", "Tensor self", op_size},
    {"size", "Tensor self, int dim", op_size_dim},
    {"dim", "Tensor self", op_dim},
    {"numel", "Tensor self", op_numel},
    {"cat", "Tensor[] tensors, int dim=0", op_cat},
    {"concat", "Tensor[] tensors, int dim=0", op_cat},
    {"concatenate", "Tensor[] tensors, int dim=0", op_cat},
    {"stack", "Tensor[] tensors, int dim=0", op_stack},
    {"chunk", "Tensor self, int chunks, int dim=0", op_chunk},
    {"split", "Tensor self, int split_size, int dim=0", op_split},
    {"split", "Tensor self, int[] split_size, int dim=0", op_split},
    {"split_with_sizes", "Tensor self, int[] split_sizes, int dim=0", op_split},
    {"unbind", "Tensor self, int dim=0", op_unbind},
    {"select", "Tensor self, int dim, int index", op_select},
    {"slice", "Tensor self, int dim=0, int? start=None, int? end=None, int step=1", op_slice},
    {"slice", "Any l, int? start=None, int? end=None, int step=1", op_slice_list},
    {"narrow", "Tensor self, int dim, int start, int length", op_narrow},
    {"index_select", "Tensor self, int dim, Tensor index", op_index_select},
    {"gather", "Tensor self, int dim, Tensor index, *, bool sparse_grad=False", op_gather},
    {"index", "Tensor self, Tensor?[] indices", op_index},
    {"index_put_", "Tensor self, Tensor?[] indices, Tensor values, bool accumulate=False",
     op_index_put},
    {"index_put", "Tensor self, Tensor?[] indices, Tensor values, bool accumulate=False",
     op_index_put},
    {"masked_fill", "Tensor self, Tensor mask, Scalar value", op_masked_fill},
    {"masked_fill", "Tensor self, Tensor mask, Tensor value", op_masked_fill},
    {"where", "Tensor condition, Tensor self, Tensor other", op_where},
    {"where", "Tensor condition, Scalar self, Tensor other", op_where},
    {"where", "Tensor condition, Tensor self, Scalar other", op_where},
    {"where", "Tensor condition, Scalar self, Scalar other", op_where},
    {"flip", "Tensor self, int[] dims", op_flip},
    {"tril", "Tensor self, int diagonal=0", op_trilu},
    {"triu", "Tensor self, int diagonal=0", op_trilu},
    {"topk", "Tensor self, int k, int dim=-1, bool largest=True, bool sorted=True", op_topk},
    {"sort", "Tensor self, int dim=-1, bool descending=False", op_sort},
    {"nonzero", "Tensor self", op_nonzero},
    {"einsum", "str equation, Tensor[] tensors, *, int[]? path=None", op_einsum},
    {"to",
     "Tensor self, ScalarType dtype, bool non_blocking=False, bool copy=False, "
     "MemoryFormat? memory_format=None",
     op_to_dtype},
    {"to",
     "Tensor self, Device? device, ScalarType? dtype=None, bool non_blocking=False, "
     "bool copy=False, MemoryFormat? memory_format=None",
     op_to_device},
    {"to",
     "Tensor self, Tensor other, bool non_blocking=False, bool copy=False, "
     "MemoryFormat? memory_format=None",
     op_to_other},
    {"to",
     "Tensor self, *, ScalarType? dtype=None, Layout? layout=None, Device? device=None, "
     "bool? pin_memory=None, bool non_blocking=False, bool copy=False, "
     "MemoryFormat? memory_format=None",
     op_to_kw},
    {"type_as", "Tensor self, Tensor other", op_type_as},
    {"float", "Tensor self", op_float},
    {"long", "Tensor self", op_long},
    {"copy_", "Tensor self, Tensor src, bool non_blocking=False", op_copy_},
    {"fill_", "Tensor self, Scalar value", op_fill_},
    {"fill_", "Tensor self, Tensor value", op_fill_},
    {"zero_", "Tensor self", op_zero_},
    {"zeros", "int[] size, " TENSOR_OPTS, op_zeros},
    {"ones", "int[] size, " TENSOR_OPTS, op_ones},
    {"empty", "int[] size, " TENSOR_OPTS ", MemoryFormat? memory_format=None", op_zeros},
    {"full", "int[] size, Scalar fill_value, " TENSOR_OPTS, op_full},
    {"zeros_like", "Tensor self, " TENSOR_OPTS ", MemoryFormat? memory_format=None",
     op_zeros_like},
    {"ones_like", "Tensor self, " TENSOR_OPTS ", MemoryFormat? memory_format=None", op_ones_like},
    {"empty_like", "Tensor self, " TENSOR_OPTS ", MemoryFormat? memory_format=None",
     op_zeros_like},
    {"full_like",
     "Tensor self, Scalar fill_value, " TENSOR_OPTS ", MemoryFormat? memory_format=None",
     op_full_like},
    {"new_zeros", "Tensor self, int[] size, " TENSOR_OPTS, op_new_zeros},
    {"new_ones", "Tensor self, int[] size, " TENSOR_OPTS, op_new_ones},
    {"new_empty", "Tensor self, int[] size, " TENSOR_OPTS, op_new_zeros},
    {"new_full", "Tensor self, int[] size, Scalar fill_value, " TENSOR_OPTS, op_new_full},
    {"arange", "Scalar end, " TENSOR_OPTS, op_arange1},
    {"arange", "Scalar start, Scalar end, " TENSOR_OPTS, op_arange2},
    {"arange", "Scalar start, Scalar end, Scalar step=1, " TENSOR_OPTS, op_arange3},
    {"tensor",
     "Any data, *, ScalarType? dtype=None, Device? device=None, bool requires_grad=False",
     op_tensor},
    {"scalar_tensor", "Scalar s, " TENSOR_OPTS, op_scalar_tensor},
    {"as_tensor", "Any data, *, ScalarType? dtype=None, Device? device=None", op_tensor},
    {"NumToTensor", "Scalar a", op_tensor_scalar},
    {"prim::NumToTensor", "Scalar a", op_tensor_scalar},
    {"prim::shape", "Tensor self", op_size},
    {NULL, NULL, NULL},
};
