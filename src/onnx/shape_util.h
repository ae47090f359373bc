/*
 * src/onnx/shape_util.h - helpers shared by the shape / indexing / data
 * movement kernels (ops_shape.c, shape_*.c).
 *
 * These kernels are type-agnostic: they move elements by their byte size.
 * STRING tensors are moved the same way (as `char *` values borrowed from
 * the inputs) and then made owned with oxs_own_strings() before the kernel
 * returns, so every kernel handles strings with one extra call.
 */
#ifndef CKPT_ONNX_SHAPE_UTIL_H
#define CKPT_ONNX_SHAPE_UTIL_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "onnx/onnx_internal.h"

/* Largest rank of a strided view (Tile views a rank-r tensor as 2r dims). */
#define OXS_MAX_VIEW (2 * OX_MAX_RANK)

/* Replace each `char *` of a STRING tensor (borrowed from another value, or
 * NULL) by an owned copy; no-op for other types.  On failure the pointers
 * not yet copied are set to NULL so the slot never frees borrowed memory. */
int oxs_own_strings(const ox_node *n, ox_val *v, ckpt_error *err);

/* dst (contiguous, row-major over dims) <- src viewed with element strides
 * `sstr` (0 = broadcast).  Adjacent dims are merged, runs are memcpy'd, a
 * transposed inner pair is copied in cache tiles.  rank <= OXS_MAX_VIEW. */
void oxs_strided_copy(void *dst, const void *src, int rank, const int64_t *dims,
                      const int64_t *sstr, size_t es);

/* Fill n elements of size es at dst with the element at val. */
void oxs_fill(void *dst, const void *val, int64_t n, size_t es);

/* Stable merge sort of idx[0..n) by cmp(ctx, a, b) (< 0: a first);
 * tmp holds n entries. */
typedef int (*oxs_cmp_fn)(const void *ctx, int64_t a, int64_t b);
void oxs_msort(int64_t *idx, int64_t *tmp, int64_t n, oxs_cmp_fn cmp, const void *ctx);

/* Compare element a of pa with element b of pb, both of `dtype`
 * (numeric order; strings by strcmp; NaN after every number). */
int oxs_cmp_elem(int dtype, const void *pa, int64_t a, const void *pb, int64_t b);

/* Reductions of the Scatter family. */
enum { OXS_RED_NONE = 0, OXS_RED_ADD, OXS_RED_MUL, OXS_RED_MAX, OXS_RED_MIN };
/* Parse the `reduction` attribute; CKPT_E_ARG / _UNSUPPORTED on bad values. */
int oxs_reduction(const ox_node *n, int *red, ckpt_error *err);
/* dst[di] = dst[di] (op) src[si] for a numeric dtype (OXS_RED_NONE: copy). */
void oxs_reduce_elem(int dtype, int red, void *dst, int64_t di, const void *src, int64_t si);

/* The integer value of an index tensor element (int32 or int64). */
static inline int64_t oxs_index(const ox_val *v, int64_t i)
{
    if (v->dtype == OX_INT32)
        return ((const int32_t *)v->data)[i];
    int64_t x;
    memcpy(&x, (const int64_t *)v->data + i, sizeof x);
    return x;
}

static inline bool oxs_is_index_type(int dtype)
{
    return dtype == OX_INT32 || dtype == OX_INT64;
}

/* Product of dims[lo..hi), saturated at INT64_MAX (a tensor with a zero dim
 * elsewhere may carry dims whose partial product overflows). */
static inline int64_t oxs_prod(const int64_t *dims, int lo, int hi)
{
    int64_t p = 1;
    for (int i = lo; i < hi; i++)
        if (__builtin_mul_overflow(p, dims[i], &p))
            return INT64_MAX;
    return p;
}

/* A tensor input k (present, a tensor); fails naming the node. */
int oxs_need_tensor(const ox_node *n, ox_val *const *in, int k, ckpt_error *err);
/* prepare(): the node names its output 0 (every kernel here writes it). */
int oxs_prepare_out0(ox_node *n, ckpt_error *err);

/* Kernels defined in shape_move.c / shape_index.c (table in ops_shape.c). */
#define OXS_KERNEL(name)                                                                         \
    int name(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, ckpt_error *err)
OXS_KERNEL(oxs_transpose);
OXS_KERNEL(oxs_concat);
OXS_KERNEL(oxs_split);
OXS_KERNEL(oxs_slice);
OXS_KERNEL(oxs_expand);
OXS_KERNEL(oxs_tile);
OXS_KERNEL(oxs_pad);
OXS_KERNEL(oxs_depth_to_space);
OXS_KERNEL(oxs_space_to_depth);
OXS_KERNEL(oxs_trilu);
OXS_KERNEL(oxs_reverse_sequence);
OXS_KERNEL(oxs_gather);
OXS_KERNEL(oxs_gather_elements);
OXS_KERNEL(oxs_gather_nd);
OXS_KERNEL(oxs_scatter_elements);
OXS_KERNEL(oxs_scatter_nd);
OXS_KERNEL(oxs_onehot);
OXS_KERNEL(oxs_nonzero);
OXS_KERNEL(oxs_compress);
OXS_KERNEL(oxs_unique);
OXS_KERNEL(oxs_cumsum);
OXS_KERNEL(oxs_topk);

#endif
