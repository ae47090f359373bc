/* src/ops/tensor_kernels.h - raw kernels of the tensor (non-nn) ops: torch
 * broadcasting, element-wise arithmetic, batched matrix products, strided
 * copies (permute, expand), row block moves (cat, stack, split, slice) and
 * sum reductions.
 *
 * Conventions (as kernels.h / backward.h):
 * - every pointer carries its shape in a comment, row-major and contiguous
 *   unless strides are passed;
 * - backward kernels ADD into their gradients (NULL: not wanted);
 * - nothing allocates: scratch comes from the caller;
 * - sum reductions accumulate in double;
 * - dims are at most CKPT_TK_MAX_DIMS; strides are in elements, 0 on a
 *   broadcast dim.
 * No per-element function pointers: the op is switched on outside the inner
 * loop. */
#ifndef CKPT_OPS_TENSOR_KERNELS_H
#define CKPT_OPS_TENSOR_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CKPT_TK_MAX_DIMS 8

/* ------------------------------------------------------------ broadcasting */

/* torch's broadcast of shapes a (na dims) and b (nb dims), aligned on the
 * right: writes the result into *ond / os and returns -1, or returns the
 * output dim (>= 0) where the sizes disagree (neither is 1). */
int ckpt_tk_broadcast_shape(int na, const int64_t *as, int nb, const int64_t *bs, int *ond,
                            int64_t *os);

/* Strides (elements) of a contiguous tensor of shape ins (nin <= ond dims)
 * broadcast to os (ond dims): 0 on the dims it is broadcast along. */
void ckpt_tk_broadcast_strides(int64_t *st, int ond, const int64_t *os, int nin,
                               const int64_t *ins);

/* Contiguous strides of a shape. */
void ckpt_tk_contiguous_strides(int64_t *st, int ndim, const int64_t *shape);

/* ------------------------------------------------------------ element-wise */

typedef enum ckpt_tk_binop { CKPT_TK_ADD, CKPT_TK_SUB, CKPT_TK_MUL, CKPT_TK_DIV } ckpt_tk_binop;

/* out (shape, contiguous) = a[sa] op b[sb]. */
void ckpt_tk_binary_forward(float *out, const float *a, const int64_t *sa, const float *b,
                            const int64_t *sb, int ndim, const int64_t *shape, ckpt_tk_binop op);

/* The contribution of out = a op b to the gradient of operand `which` (0: a,
 * 1: b), over the output's index space: dst (shape) (+)= dout * d(out)/d(in).
 * accumulate false writes, true adds.  a, b as in the forward (strided). */
void ckpt_tk_binary_grad(float *dst, bool accumulate, const float *dout, const float *a,
                         const int64_t *sa, const float *b, const int64_t *sb, int ndim,
                         const int64_t *shape, ckpt_tk_binop op, int which);

typedef enum ckpt_tk_unop {
    CKPT_TK_ADD_SCALAR, /* x + s */
    CKPT_TK_MUL_SCALAR, /* x * s */
    CKPT_TK_NEG,
    CKPT_TK_EXP,
    CKPT_TK_LOG,
    CKPT_TK_SQRT,
    CKPT_TK_POW /* x ** s, torch's special cases for s in {0, 1, +-0.5, +-1, 2, 3, -2} */
} ckpt_tk_unop;

/* out (N) = op(x (N), s).  out may equal x. */
void ckpt_tk_unary_forward(float *out, const float *x, size_t n, ckpt_tk_unop op, double s);
/* dx (N) += dout (N) * op'(x); x and y (the forward output) as saved. */
void ckpt_tk_unary_backward(float *dx, const float *dout, const float *x, const float *y,
                            size_t n, ckpt_tk_unop op, double s);

/* ----------------------------------------------------- strided copies, sums */

/* dst (shape, contiguous) = src[st] (copy), elements of `elsize` bytes (4 or 8). */
void ckpt_tk_gather(void *dst, const void *src, size_t elsize, int ndim, const int64_t *shape,
                    const int64_t *st);
/* dst (shape, contiguous) += scale * src[st] (float32). */
void ckpt_tk_gather_add(float *dst, const float *src, int ndim, const int64_t *shape,
                        const int64_t *st, float scale);

/* Sum of src (shape, contiguous) into dst at strides dst_st (0 on the summed
 * dims; dst holds dst_numel values): dst (+)= scale * sum, accumulated in
 * double in ws (dst_numel doubles). */
void ckpt_tk_sum_to(float *dst, bool accumulate, const float *src, int ndim, const int64_t *shape,
                    const int64_t *dst_st, int64_t dst_numel, double scale, double *ws);

/* A block move between two tensors viewed as (OUTER, ROWS, INNER): rows
 * d0 + j*dstep of dst (OUTER, DN, INNER) and rows s0 + j*sstep of src
 * (OUTER, SN, INNER), for j < len. */
typedef struct ckpt_tk_rows {
    int64_t outer, len, inner;
    int64_t dn, d0, dstep;
    int64_t sn, s0, sstep;
} ckpt_tk_rows;
/* dst rows = src rows (elements of `elsize` bytes). */
void ckpt_tk_rows_copy(void *dst, const void *src, size_t elsize, const ckpt_tk_rows *r);
/* dst rows += src rows (float32). */
void ckpt_tk_rows_add(float *dst, const float *src, const ckpt_tk_rows *r);

/* ------------------------------------------------------------------ matmul */

/* A batch of products out[i] (N,M) = a[i] (N,K) @ b[i] (K,M) over the batch
 * shape (nb dims, out contiguous), a and b addressed with batch strides sa,
 * sb in elements (0 on a broadcast batch dim).  abatch / bbatch: how many
 * distinct matrices a and b hold (1 = not batched); when b is not batched
 * and a is contiguous over the whole batch the batch folds into one gemm. */
typedef struct ckpt_tk_matmul_dims {
    int nb;
    int64_t batch[CKPT_TK_MAX_DIMS];
    int64_t sa[CKPT_TK_MAX_DIMS], sb[CKPT_TK_MAX_DIMS];
    int64_t nbatch, abatch, bbatch;
    int64_t n, k, m;
} ckpt_tk_matmul_dims;

/* out (batch, N, M) = a @ b with cblas_sgemm. */
void ckpt_tk_matmul_forward(float *out, const float *a, const float *b,
                            const ckpt_tk_matmul_dims *d);
/* da += dout @ b^T, db += a^T @ dout (transposed gemm flags, no copies);
 * broadcast batch entries accumulate.  da / db NULL when not wanted. */
void ckpt_tk_matmul_backward(float *da, float *db, const float *dout, const float *a,
                             const float *b, const ckpt_tk_matmul_dims *d);

#endif
