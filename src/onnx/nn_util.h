/* src/onnx/nn_util.h - helpers shared by the ONNX nn kernels (ops_nn.c,
 * nn_conv.c, nn_quant.c): BLAS threading, dtype conversion to and from the
 * float32 the op library computes in, and the convolution / pooling
 * geometry of the ONNX attributes. */
#ifndef CKPT_ONNX_NN_UTIL_H
#define CKPT_ONNX_NN_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "onnx/onnx_internal.h"
#include "ops/kernels_nd.h"

/* OpenBLAS's thread count is process-global: the nn kernels set it to the
 * session's thread count before their BLAS calls (a no-op when it already
 * is); without OpenBLAS nothing is set. */
void ox_nn_blas_threads(const ox_run *r);
/* The same for one product of `macs` multiply-adds: one thread when it is small. */
void ox_nn_blas_threads_for(const ox_run *r, int64_t macs);

/* Before kernels that run BLAS from several threads of their own: OpenBLAS
 * runs each call on its caller's thread. */
void ox_nn_blas_single(void);

/* Run fn on n_jobs job records (job_size bytes apart in `jobs`), job 0 on
 * the calling thread and the others on threads started for the call
 * (a job whose thread cannot start runs on the caller afterwards).  At most
 * OX_NN_MAX_THREADS jobs. */
#define OX_NN_MAX_THREADS 64
int ox_nn_parallel(int n_jobs, void *(*fn)(void *), void *jobs, size_t job_size);

/* True for the dtypes ox_nn_to_float / ox_nn_from_float handle. */
bool ox_nn_numeric(int dtype);
/* dst (numel floats) = v's elements converted (float16/bfloat16 widened,
 * double rounded, integers converted). */
void ox_nn_to_float(float *dst, const ox_val *v);
/* v's elements = src converted to v's dtype (integers rounded to nearest
 * even and saturated, float16/bfloat16 rounded). */
void ox_nn_from_float(ox_val *v, const float *src);

/* The spatial geometry of a Conv / ConvTranspose / pooling node over `nd`
 * spatial dims of `in` (spatial sizes): kernel k, strides s, dilations d,
 * pads before pb / after pe, resolved from kernel_shape, strides,
 * dilations, pads and auto_pad.  `out` gets the output sizes
 * (conv formula; `ceil` for pooling's ceil_mode). */
typedef struct ox_nn_geom {
    int nd;
    int64_t in[CKPT_NN_MAX_ND], k[CKPT_NN_MAX_ND], s[CKPT_NN_MAX_ND], d[CKPT_NN_MAX_ND],
        pb[CKPT_NN_MAX_ND], pe[CKPT_NN_MAX_ND], out[CKPT_NN_MAX_ND];
} ox_nn_geom;
enum { OX_PAD_NOTSET = 0, OX_PAD_VALID, OX_PAD_SAME_UPPER, OX_PAD_SAME_LOWER };
/* The attributes alone: k, s, d, pb, pe (pads as given) and auto_pad
 * (OX_PAD_*) into *autopad; `out` untouched. */
int ox_nn_geom_attrs(const ox_node *n, ox_nn_geom *g, int nd, const int64_t *in,
                     const int64_t *kernel, int *autopad, ckpt_error *err);
/* kernel: the kernel sizes when known from a weight (NULL: kernel_shape is
 * required).  pool: pooling rules (ceil_mode, the window must start inside
 * the input or the leading padding). */
int ox_nn_geom_fill(const ox_node *n, ox_nn_geom *g, int nd, const int64_t *in,
                    const int64_t *kernel, bool pool, ckpt_error *err);

/* CKPT_E_LIMIT naming the node when a (M,K) x (K,N) product has a dim past
 * the int range of the BLAS interface. */
int ox_nn_check_gemm(const ox_node *n, int64_t m, int64_t nn, int64_t k, ckpt_error *err);
/* CKPT_E_LIMIT when a (rows, cols) scratch matrix (im2col columns) has a dim
 * past the int range or more than 2^40 floats. */
int ox_nn_check_ws(const ox_node *n, int64_t rows, int64_t cols, ckpt_error *err);

/* kernels in nn_conv.c / nn_quant.c, registered in ops_nn.c */
int ox_nn_conv(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
               ckpt_error *err);
int ox_nn_conv_transpose(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err);
int ox_nn_maxpool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err);
int ox_nn_avgpool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err);
int ox_nn_lppool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err);
int ox_nn_global_avgpool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err);
int ox_nn_global_maxpool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err);
int ox_nn_global_lppool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                        ckpt_error *err);
int ox_nn_maxunpool(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                    ckpt_error *err);
int ox_nn_qlinear_conv(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err);
int ox_nn_conv_integer(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err);
int ox_nn_qlinear_matmul(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err);
int ox_nn_matmul_integer(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         ckpt_error *err);

#endif
