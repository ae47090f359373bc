/* src/onnx/shape_index.c - ONNX kernels that index: Gather, GatherElements,
 * GatherND, Scatter / ScatterElements, ScatterND, OneHot, NonZero, Compress,
 * Unique, CumSum, TopK.  Indices are checked before anything is written, so
 * a bad index leaves no borrowed string pointer in an output. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/onnx_internal.h"
#include "onnx/shape_util.h"

/* Index i of `idx` normalised into [0, dim); -1 if out of range. */
static int64_t norm_index(const ox_val *idx, int64_t i, int64_t dim)
{
    int64_t k = oxs_index(idx, i);
    if (k < 0)
        k += dim;
    return k >= 0 && k < dim ? k : -1;
}

static int check_indices(const ox_node *n, const ox_val *idx, int64_t dim, ckpt_error *err)
{
    if (!oxs_is_index_type(idx->dtype))
        return ox_fail(err, CKPT_E_ARG, n, "indices must be int32 or int64, not %s",
                       ox_dtype_name(idx->dtype));
    for (int64_t i = 0; i < idx->numel; i++)
        if (norm_index(idx, i, dim) < 0)
            return ox_fail(err, CKPT_E_SHAPE, n, "index %lld out of range for an axis of %lld",
                           (long long)oxs_index(idx, i), (long long)dim);
    return 0;
}

/* ------------------------------------------------------------ Gather family */

int oxs_gather(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
               ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    CKPT_TRY(oxs_need_tensor(n, in, 1, err));
    const ox_val *x = in[0], *idx = in[1];
    int axis;
    CKPT_TRY(ox_axis(n, ox_attr_int(n, "axis", 0), x->rank, false, &axis, err));
    int orank = x->rank - 1 + idx->rank;
    if (orank > OX_MAX_RANK)
        return ox_fail(err, CKPT_E_LIMIT, n, "output rank %d", orank);
    int64_t dim = x->dims[axis];
    CKPT_TRY(check_indices(n, idx, dim, err));
    int64_t od[OX_MAX_RANK];
    int k = 0;
    for (int i = 0; i < axis; i++)
        od[k++] = x->dims[i];
    for (int i = 0; i < idx->rank; i++)
        od[k++] = idx->dims[i];
    for (int i = axis + 1; i < x->rank; i++)
        od[k++] = x->dims[i];
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, orank, od, err));
    size_t es = ox_dtype_size(x->dtype);
    int64_t outer = oxs_prod(x->dims, 0, axis), inner = oxs_prod(x->dims, axis + 1, x->rank);
    int64_t ni = idx->numel;
    const unsigned char *s = x->data;
    unsigned char *d = out[0]->data;
    size_t blk = (size_t)inner * es;
    if (blk == 4) {
        uint32_t *dp = out[0]->data;
        const uint32_t *sp = x->data;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < ni; j++)
                *dp++ = sp[o * dim + norm_index(idx, j, dim)];
    } else if (blk) {
        for (int64_t o = 0; o < outer; o++)
            for (int64_t j = 0; j < ni; j++) {
                memcpy(d, s + (size_t)(o * dim + norm_index(idx, j, dim)) * blk, blk);
                d += blk;
            }
    }
    return oxs_own_strings(n, out[0], err);
}

/* Offset in `x` of the element at the position of flat index `e` of a
 * same-rank tensor of dims `id`, with the axis coordinate replaced by k. */
static int64_t elem_offset(int rank, const int64_t *id, const int64_t *xs, int axis, int64_t e,
                           int64_t k)
{
    int64_t off = 0;
    for (int i = rank - 1; i >= 0; i--) {
        int64_t c = e % id[i];
        e /= id[i];
        off += (i == axis ? k : c) * xs[i];
    }
    return off;
}

int oxs_gather_elements(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                        ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    CKPT_TRY(oxs_need_tensor(n, in, 1, err));
    const ox_val *x = in[0], *idx = in[1];
    if (idx->rank != x->rank)
        return ox_fail(err, CKPT_E_SHAPE, n, "indices rank %d, data rank %d", idx->rank, x->rank);
    int axis;
    CKPT_TRY(ox_axis(n, ox_attr_int(n, "axis", 0), x->rank, false, &axis, err));
    for (int i = 0; i < x->rank; i++)
        if (i != axis && idx->dims[i] > x->dims[i])
            return ox_fail(err, CKPT_E_SHAPE, n, "indices dim %d (%lld) exceeds data's (%lld)", i,
                           (long long)idx->dims[i], (long long)x->dims[i]);
    CKPT_TRY(check_indices(n, idx, x->dims[axis], err));
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, idx->rank, idx->dims, err));
    int64_t xs[OX_MAX_RANK];
    ox_strides(x->rank, x->dims, xs);
    size_t es = ox_dtype_size(x->dtype);
    unsigned char *d = out[0]->data;
    const unsigned char *s = x->data;
    for (int64_t e = 0; e < idx->numel; e++) {
        int64_t off = elem_offset(x->rank, idx->dims, xs, axis, e,
                                  norm_index(idx, e, x->dims[axis]));
        memcpy(d + (size_t)e * es, s + (size_t)off * es, es);
    }
    return oxs_own_strings(n, out[0], err);
}

/* Offsets of the index tuples of GatherND / ScatterND: tuple t of batch b
 * starts at offs[b * per + t] (elements of data).  Checks every index. */
static int nd_offsets(const ox_node *n, const ox_val *x, const ox_val *idx, int bd, int64_t *offs,
                      ckpt_error *err)
{
    int q = idx->rank;
    int64_t m = idx->dims[q - 1];
    int64_t xs[OX_MAX_RANK];
    ox_strides(x->rank, x->dims, xs);
    int64_t nb = oxs_prod(idx->dims, 0, bd), per = oxs_prod(idx->dims, bd, q - 1);
    int64_t bstride = oxs_prod(x->dims, bd, x->rank);
    for (int64_t b = 0; b < nb; b++)
        for (int64_t t = 0; t < per; t++) {
            int64_t off = b * bstride, base = (b * per + t) * m;
            for (int64_t j = 0; j < m; j++) {
                int64_t dim = x->dims[bd + j], k = norm_index(idx, base + j, dim);
                if (k < 0)
                    return ox_fail(err, CKPT_E_SHAPE, n,
                                   "index %lld out of range for an axis of %lld",
                                   (long long)oxs_index(idx, base + j), (long long)dim);
                off += k * xs[bd + j];
            }
            offs[b * per + t] = off;
        }
    return 0;
}

int oxs_gather_nd(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    CKPT_TRY(oxs_need_tensor(n, in, 1, err));
    const ox_val *x = in[0], *idx = in[1];
    int64_t bd = n->opset >= 12 ? ox_attr_int(n, "batch_dims", 0) : 0;
    int q = idx->rank;
    if (q < 1 || !oxs_is_index_type(idx->dtype))
        return ox_fail(err, CKPT_E_ARG, n, "indices must be an integer tensor of rank >= 1");
    int64_t m = idx->dims[q - 1];
    if (bd < 0 || bd >= q || bd >= x->rank || m < 1 || bd + m > x->rank)
        return ox_fail(err, CKPT_E_SHAPE, n, "batch_dims %lld, index depth %lld, data rank %d",
                       (long long)bd, (long long)m, x->rank);
    for (int i = 0; i < bd; i++)
        if (idx->dims[i] != x->dims[i])
            return ox_fail(err, CKPT_E_SHAPE, n, "batch dim %d differs", i);
    int64_t od[OX_MAX_RANK];
    int orank = 0;
    for (int i = 0; i < q - 1; i++)
        od[orank++] = idx->dims[i];
    for (int i = (int)(bd + m); i < x->rank; i++) {
        if (orank == OX_MAX_RANK)
            return ox_fail(err, CKPT_E_LIMIT, n, "output rank too large");
        od[orank++] = x->dims[i];
    }
    int64_t nt = oxs_prod(idx->dims, 0, q - 1);
    int64_t *offs = ox_scratch(r, (size_t)(nt ? nt : 1) * sizeof *offs, err);
    if (!offs)
        return CKPT_E_NOMEM;
    CKPT_TRY(nd_offsets(n, x, idx, (int)bd, offs, err));
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, orank, od, err));
    size_t es = ox_dtype_size(x->dtype);
    size_t blk = (size_t)oxs_prod(x->dims, (int)(bd + m), x->rank) * es;
    unsigned char *d = out[0]->data;
    for (int64_t t = 0; t < nt && blk; t++)
        memcpy(d + (size_t)t * blk, (const unsigned char *)x->data + (size_t)offs[t] * es, blk);
    return oxs_own_strings(n, out[0], err);
}

/* ------------------------------------------------------------ Scatter family */

int oxs_scatter_elements(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err)
{
    for (int k = 0; k < 3; k++)
        CKPT_TRY(oxs_need_tensor(n, in, k, err));
    const ox_val *x = in[0], *idx = in[1], *up = in[2];
    int red = OXS_RED_NONE;
    if (n->opset >= 16 && !strcmp(n->op_type, "ScatterElements"))
        CKPT_TRY(oxs_reduction(n, &red, err));
    if (red != OXS_RED_NONE &&
        (x->dtype == OX_STRING || x->dtype == OX_COMPLEX64 || x->dtype == OX_COMPLEX128))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "reduction on %s", ox_dtype_name(x->dtype));
    if (idx->rank != x->rank || up->rank != idx->rank || up->dtype != x->dtype)
        return ox_fail(err, CKPT_E_SHAPE, n, "data, indices and updates disagree in rank/type");
    for (int i = 0; i < idx->rank; i++)
        if (up->dims[i] != idx->dims[i])
            return ox_fail(err, CKPT_E_SHAPE, n, "updates and indices differ in shape");
    int axis;
    CKPT_TRY(ox_axis(n, ox_attr_int(n, "axis", 0), x->rank, false, &axis, err));
    for (int i = 0; i < x->rank; i++)
        if (i != axis && idx->dims[i] > x->dims[i])
            return ox_fail(err, CKPT_E_SHAPE, n, "indices dim %d exceeds data's", i);
    CKPT_TRY(check_indices(n, idx, x->dims[axis], err));
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, x->dims, err));
    if (x->numel)
        memcpy(out[0]->data, x->data, ox_val_nbytes(x));
    int64_t xs[OX_MAX_RANK];
    ox_strides(x->rank, x->dims, xs);
    for (int64_t e = 0; e < idx->numel; e++) {
        int64_t off = elem_offset(x->rank, idx->dims, xs, axis, e,
                                  norm_index(idx, e, x->dims[axis]));
        oxs_reduce_elem(x->dtype, red, out[0]->data, off, up->data, e);
    }
    return oxs_own_strings(n, out[0], err);
}

int oxs_scatter_nd(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                   ckpt_error *err)
{
    for (int k = 0; k < 3; k++)
        CKPT_TRY(oxs_need_tensor(n, in, k, err));
    const ox_val *x = in[0], *idx = in[1], *up = in[2];
    int red = OXS_RED_NONE;
    if (n->opset >= 16)
        CKPT_TRY(oxs_reduction(n, &red, err));
    if (red != OXS_RED_NONE &&
        (x->dtype == OX_STRING || x->dtype == OX_COMPLEX64 || x->dtype == OX_COMPLEX128))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "reduction on %s", ox_dtype_name(x->dtype));
    int q = idx->rank;
    if (q < 1 || !oxs_is_index_type(idx->dtype) || up->dtype != x->dtype)
        return ox_fail(err, CKPT_E_ARG, n, "indices must be integers of rank >= 1");
    int64_t m = idx->dims[q - 1];
    if (m < 1 || m > x->rank)
        return ox_fail(err, CKPT_E_SHAPE, n, "index depth %lld for data rank %d", (long long)m,
                       x->rank);
    /* updates: indices.shape[:-1] + data.shape[m:] */
    if (up->rank != q - 1 + x->rank - (int)m)
        return ox_fail(err, CKPT_E_SHAPE, n, "updates has rank %d", up->rank);
    for (int i = 0; i < q - 1; i++)
        if (up->dims[i] != idx->dims[i])
            return ox_fail(err, CKPT_E_SHAPE, n, "updates dim %d differs from indices'", i);
    for (int i = (int)m; i < x->rank; i++)
        if (up->dims[q - 1 + i - (int)m] != x->dims[i])
            return ox_fail(err, CKPT_E_SHAPE, n, "updates dim differs from data's dim %d", i);
    int64_t nt = oxs_prod(idx->dims, 0, q - 1);
    int64_t *offs = ox_scratch(r, (size_t)(nt ? nt : 1) * sizeof *offs, err);
    if (!offs)
        return CKPT_E_NOMEM;
    CKPT_TRY(nd_offsets(n, x, idx, 0, offs, err));
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, x->dims, err));
    if (x->numel)
        memcpy(out[0]->data, x->data, ox_val_nbytes(x));
    int64_t slice = oxs_prod(x->dims, (int)m, x->rank);
    size_t es = ox_dtype_size(x->dtype);
    for (int64_t t = 0; t < nt; t++) {
        if (red == OXS_RED_NONE) {
            if (slice)
                memcpy((unsigned char *)out[0]->data + (size_t)offs[t] * es,
                       (const unsigned char *)up->data + (size_t)(t * slice) * es,
                       (size_t)slice * es);
        } else {
            for (int64_t j = 0; j < slice; j++)
                oxs_reduce_elem(x->dtype, red, out[0]->data, offs[t] + j, up->data,
                                t * slice + j);
        }
    }
    return oxs_own_strings(n, out[0], err);
}

/* ------------------------------------------------------------ OneHot / NonZero / Compress */

int oxs_onehot(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
               ckpt_error *err)
{
    for (int k = 0; k < 3; k++)
        CKPT_TRY(oxs_need_tensor(n, in, k, err));
    const ox_val *idx = in[0], *dep = in[1], *val = in[2];
    if (dep->numel != 1 || val->numel != 2)
        return ox_fail(err, CKPT_E_ARG, n, "depth must be a scalar and values hold 2 elements");
    if (idx->dtype == OX_STRING || dep->dtype == OX_STRING)
        return ox_fail(err, CKPT_E_ARG, n, "indices and depth must be numeric");
    double dd = ox_get_f64(dep, 0);
    if (!(dd >= 1) || dd > 1e12)
        return ox_fail(err, CKPT_E_ARG, n, "depth %g", dd);
    int64_t depth = (int64_t)dd;
    int orank = idx->rank + 1;
    if (orank > OX_MAX_RANK)
        return ox_fail(err, CKPT_E_LIMIT, n, "output rank %d", orank);
    int axis;
    CKPT_TRY(ox_axis(n, ox_attr_int(n, "axis", -1), orank, false, &axis, err));
    int64_t od[OX_MAX_RANK];
    for (int i = 0, k = 0; i < orank; i++)
        od[i] = i == axis ? depth : idx->dims[k++];
    CKPT_TRY(ox_out(r, n, out[0], val->dtype, orank, od, err));
    size_t es = ox_dtype_size(val->dtype);
    const unsigned char *off = val->data, *on = off + es;
    oxs_fill(out[0]->data, off, out[0]->numel, es);
    int64_t outer = oxs_prod(idx->dims, 0, axis), inner = oxs_prod(idx->dims, axis, idx->rank);
    unsigned char *d = out[0]->data;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            double v = ox_get_f64(idx, o * inner + j);
            if (!(fabs(v) < 1e15))
                continue;
            int64_t k = (int64_t)v;
            if (k < 0)
                k += depth;
            if (k >= 0 && k < depth)
                memcpy(d + (size_t)((o * depth + k) * inner + j) * es, on, es);
        }
    return oxs_own_strings(n, out[0], err);
}

static bool elem_nonzero(const ox_val *v, int64_t i)
{
    switch (v->dtype) {
    case OX_FLOAT: return ((const float *)v->data)[i] != 0.0f;
    case OX_DOUBLE: return ((const double *)v->data)[i] != 0.0;
    case OX_FLOAT16:
    case OX_BFLOAT16: return (((const uint16_t *)v->data)[i] & 0x7fff) != 0;
    case OX_STRING: {
        const char *s = ((char *const *)v->data)[i];
        return s && *s;
    }
    default: {
        size_t es = ox_dtype_size(v->dtype);
        const unsigned char *p = (const unsigned char *)v->data + (size_t)i * es;
        for (size_t b = 0; b < es; b++)
            if (p[b])
                return true;
        return false;
    }
    }
}

int oxs_nonzero(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    int64_t nnz = 0;
    for (int64_t i = 0; i < x->numel; i++)
        nnz += elem_nonzero(x, i);
    int rank = x->rank ? x->rank : 1;
    int64_t od[2] = {rank, nnz};
    CKPT_TRY(ox_out(r, n, out[0], OX_INT64, 2, od, err));
    int64_t *o = out[0]->data;
    int64_t one = 1;
    const int64_t *dims = x->rank ? x->dims : &one;
    int64_t k = 0;
    for (int64_t i = 0; i < x->numel; i++) {
        if (!elem_nonzero(x, i))
            continue;
        int64_t e = i;
        for (int a = rank - 1; a >= 0; a--) {
            o[a * nnz + k] = e % dims[a];
            e /= dims[a];
        }
        k++;
    }
    return 0;
}

int oxs_compress(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    CKPT_TRY(oxs_need_tensor(n, in, 1, err));
    const ox_val *x = in[0], *cond = in[1];
    if (cond->rank != 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "condition must be 1-D");
    const ox_attr *aa = ox_attr_get(n, "axis");
    int axis = -1;
    if (aa)
        CKPT_TRY(ox_axis(n, aa->i, x->rank, false, &axis, err));
    int64_t dim = axis < 0 ? x->numel : x->dims[axis];
    if (cond->numel > dim)
        return ox_fail(err, CKPT_E_SHAPE, n, "condition has %lld entries for %lld",
                       (long long)cond->numel, (long long)dim);
    int64_t keep = 0;
    for (int64_t i = 0; i < cond->numel; i++)
        keep += elem_nonzero(cond, i);
    int64_t od[OX_MAX_RANK];
    int orank;
    int64_t outer, inner;
    if (axis < 0) {
        orank = 1;
        od[0] = keep;
        outer = 1;
        inner = 1;
    } else {
        orank = x->rank;
        memcpy(od, x->dims, sizeof od);
        od[axis] = keep;
        outer = oxs_prod(x->dims, 0, axis);
        inner = oxs_prod(x->dims, axis + 1, x->rank);
    }
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, orank, od, err));
    size_t blk = (size_t)inner * ox_dtype_size(x->dtype);
    unsigned char *d = out[0]->data;
    for (int64_t o = 0; o < outer && blk; o++)
        for (int64_t i = 0; i < cond->numel; i++)
            if (elem_nonzero(cond, i)) {
                memcpy(d, (const unsigned char *)x->data + (size_t)(o * dim + i) * blk, blk);
                d += blk;
            }
    return oxs_own_strings(n, out[0], err);
}

/* ------------------------------------------------------------ Unique */

typedef struct {
    int dtype;
    const void *data;
    int64_t outer, dim, inner;
} uniq_ctx;

/* Lexicographic order of items (slabs along the axis). */
static int uniq_cmp(const void *c, int64_t a, int64_t b)
{
    const uniq_ctx *u = c;
    for (int64_t o = 0; o < u->outer; o++) {
        int64_t ba = (o * u->dim + a) * u->inner, bb = (o * u->dim + b) * u->inner;
        for (int64_t j = 0; j < u->inner; j++) {
            int r = oxs_cmp_elem(u->dtype, u->data, ba + j, u->data, bb + j);
            if (r)
                return r;
        }
    }
    return 0;
}

static int first_cmp(const void *c, int64_t a, int64_t b)
{
    const int64_t *first = c;
    return first[a] < first[b] ? -1 : first[a] > first[b];
}

int oxs_unique(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
               ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    bool sorted = ox_attr_int(n, "sorted", 1) != 0;
    const ox_attr *aa = ox_attr_get(n, "axis");
    int axis = -1;
    if (aa)
        CKPT_TRY(ox_axis(n, aa->i, x->rank, false, &axis, err));
    uniq_ctx u = {x->dtype, x->data, 1, x->numel, 1};
    if (axis >= 0) {
        u.outer = oxs_prod(x->dims, 0, axis);
        u.dim = x->dims[axis];
        u.inner = oxs_prod(x->dims, axis + 1, x->rank);
    }
    int64_t N = u.dim;
    /* scratch: order, tmp, group of each item, first item and count of each group, rank */
    int64_t *sc = ox_scratch(r, (size_t)(6 * (N ? N : 1)) * sizeof *sc, err);
    if (!sc)
        return CKPT_E_NOMEM;
    int64_t *ord = sc, *tmp = sc + N, *grp = sc + 2 * N, *first = sc + 3 * N, *cnt = sc + 4 * N,
            *pos = sc + 5 * N;
    for (int64_t i = 0; i < N; i++)
        ord[i] = i;
    oxs_msort(ord, tmp, N, uniq_cmp, &u);
    int64_t G = 0;
    for (int64_t i = 0; i < N; i++) {
        if (i == 0 || uniq_cmp(&u, ord[i - 1], ord[i])) {
            first[G] = ord[i]; /* stable: the lowest index of the group */
            cnt[G] = 0;
            G++;
        }
        grp[ord[i]] = G - 1;
        cnt[G - 1]++;
    }
    /* pos[g] = output position of group g */
    if (sorted) {
        for (int64_t g = 0; g < G; g++)
            pos[g] = g;
    } else {
        for (int64_t g = 0; g < G; g++)
            ord[g] = g;
        oxs_msort(ord, tmp, G, first_cmp, first);
        for (int64_t g = 0; g < G; g++)
            pos[ord[g]] = g;
    }
    int64_t od[OX_MAX_RANK];
    int orank;
    if (axis < 0) {
        orank = 1;
        od[0] = G;
    } else {
        orank = x->rank;
        memcpy(od, x->dims, sizeof od);
        od[axis] = G;
    }
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, orank, od, err));
    size_t blk = (size_t)u.inner * ox_dtype_size(x->dtype);
    unsigned char *d = out[0]->data;
    for (int64_t o = 0; o < u.outer && blk; o++)
        for (int64_t g = 0; g < G; g++)
            memcpy(d + (size_t)(o * G + pos[g]) * blk,
                   (const unsigned char *)x->data + (size_t)(o * u.dim + first[g]) * blk, blk);
    CKPT_TRY(oxs_own_strings(n, out[0], err));
    ox_val *o1 = n->n_out > 1 ? out[1] : NULL, *o2 = n->n_out > 2 ? out[2] : NULL,
           *o3 = n->n_out > 3 ? out[3] : NULL;
    if (o1) {
        CKPT_TRY(ox_out(r, n, o1, OX_INT64, 1, &G, err));
        for (int64_t g = 0; g < G; g++)
            ((int64_t *)o1->data)[pos[g]] = first[g];
    }
    if (o2) {
        CKPT_TRY(ox_out(r, n, o2, OX_INT64, 1, &N, err));
        for (int64_t i = 0; i < N; i++)
            ((int64_t *)o2->data)[i] = pos[grp[i]];
    }
    if (o3) {
        CKPT_TRY(ox_out(r, n, o3, OX_INT64, 1, &G, err));
        for (int64_t g = 0; g < G; g++)
            ((int64_t *)o3->data)[pos[g]] = cnt[g];
    }
    return 0;
}

/* ------------------------------------------------------------ CumSum */

#define CUMSUM(T, A, LOAD, STORE)                                                                \
    do {                                                                                         \
        const T *xp = x->data;                                                                   \
        T *op = out[0]->data;                                                                    \
        for (int64_t o = 0; o < outer; o++)                                                      \
            for (int64_t j = 0; j < inner; j++) {                                                \
                A acc = 0;                                                                       \
                for (int64_t t0 = 0; t0 < dim; t0++) {                                           \
                    int64_t t = rev ? dim - 1 - t0 : t0;                                         \
                    int64_t e = (o * dim + t) * inner + j;                                       \
                    A v = LOAD(xp[e]);                                                           \
                    if (excl) {                                                                  \
                        op[e] = STORE(acc);                                                      \
                        acc = (A)(acc + v);                                                      \
                    } else {                                                                     \
                        acc = (A)(acc + v);                                                      \
                        op[e] = STORE(acc);                                                      \
                    }                                                                            \
                }                                                                                \
            }                                                                                    \
    } while (0)
#define ID(v) (v)

int oxs_cumsum(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
               ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    CKPT_TRY(oxs_need_tensor(n, in, 1, err));
    const ox_val *x = in[0];
    if (in[1]->numel != 1)
        return ox_fail(err, CKPT_E_ARG, n, "axis must be a scalar");
    int64_t a64;
    int64_t c = ox_read_ints(n, in[1], &a64, 1, err);
    if (c < 0)
        return (int)c;
    int axis;
    CKPT_TRY(ox_axis(n, a64, x->rank, false, &axis, err));
    bool excl = ox_attr_int(n, "exclusive", 0) != 0, rev = ox_attr_int(n, "reverse", 0) != 0;
    int64_t outer = oxs_prod(x->dims, 0, axis), dim = x->dims[axis],
            inner = oxs_prod(x->dims, axis + 1, x->rank);
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, x->dims, err));
    switch (x->dtype) {
    case OX_FLOAT: CUMSUM(float, float, ID, ID); break;
    case OX_DOUBLE: CUMSUM(double, double, ID, ID); break;
    case OX_INT32: CUMSUM(int32_t, int32_t, ID, ID); break;
    case OX_INT64: CUMSUM(int64_t, int64_t, ID, ID); break;
    case OX_UINT32: CUMSUM(uint32_t, uint32_t, ID, ID); break;
    case OX_UINT64: CUMSUM(uint64_t, uint64_t, ID, ID); break;
    case OX_FLOAT16: CUMSUM(uint16_t, float, ox_half_to_float, ox_float_to_half); break;
    case OX_BFLOAT16: CUMSUM(uint16_t, float, ox_bf16_to_float, ox_float_to_bf16); break;
    default:
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element type %s", ox_dtype_name(x->dtype));
    }
    return 0;
}

/* ------------------------------------------------------------ TopK */

typedef struct {
    int dtype;
    const unsigned char *base;
    int64_t stride;
    bool largest;
} topk_ctx;

static int topk_cmp(const void *c, int64_t a, int64_t b)
{
    const topk_ctx *t = c;
    int r = oxs_cmp_elem(t->dtype, t->base, a * t->stride, t->base, b * t->stride);
    return t->largest ? -r : r;
}

int oxs_topk(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    int64_t k;
    if (n->opset < 10) {
        k = ox_attr_int(n, "k", -1);
    } else {
        CKPT_TRY(oxs_need_tensor(n, in, 1, err));
        if (in[1]->numel != 1)
            return ox_fail(err, CKPT_E_ARG, n, "K must hold one value");
        int64_t c = ox_read_ints(n, in[1], &k, 1, err);
        if (c < 0)
            return (int)c;
    }
    int axis;
    CKPT_TRY(ox_axis(n, ox_attr_int(n, "axis", -1), x->rank, false, &axis, err));
    int64_t dim = x->dims[axis];
    if (k < 0 || k > dim)
        return ox_fail(err, CKPT_E_ARG, n, "k = %lld for an axis of %lld", (long long)k,
                       (long long)dim);
    if (x->dtype == OX_STRING)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "string input");
    topk_ctx t = {x->dtype, NULL, oxs_prod(x->dims, axis + 1, x->rank),
                  n->opset < 11 || ox_attr_int(n, "largest", 1) != 0};
    int64_t outer = oxs_prod(x->dims, 0, axis), inner = t.stride;
    int64_t od[OX_MAX_RANK];
    memcpy(od, x->dims, sizeof od);
    od[axis] = k;
    int64_t *sc = ox_scratch(r, (size_t)(2 * (dim ? dim : 1)) * sizeof *sc, err);
    if (!sc)
        return CKPT_E_NOMEM;
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, od, err));
    ox_val *oi = n->n_out > 1 ? out[1] : NULL;
    CKPT_TRY(ox_out(r, n, oi, OX_INT64, x->rank, od, err));
    size_t es = ox_dtype_size(x->dtype);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0; j < inner; j++) {
            int64_t base = o * dim * inner + j;
            t.base = (const unsigned char *)x->data + (size_t)base * es;
            for (int64_t i = 0; i < dim; i++)
                sc[i] = i;
            oxs_msort(sc, sc + dim, dim, topk_cmp, &t);
            int64_t ob = o * k * inner + j;
            for (int64_t i = 0; i < k; i++) {
                int64_t e = ob + i * inner;
                if (out[0])
                    memcpy((unsigned char *)out[0]->data + (size_t)e * es,
                           t.base + (size_t)(sc[i] * inner) * es, es);
                if (oi)
                    ((int64_t *)oi->data)[e] = sc[i];
            }
        }
    return 0;
}
