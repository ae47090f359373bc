/* src/onnx/reduce_util.h - helpers shared by the reduce family's files
 * (ops_reduce.c, reduce_norm.c, reduce_loss.c, reduce_linalg.c): whole-tensor
 * element conversion for the non-float32 paths, and the outer/axis/inner
 * split most of the family iterates over. */
#ifndef CKPT_ONNX_REDUCE_UTIL_H
#define CKPT_ONNX_REDUCE_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "onnx/onnx_internal.h"

/* The code of the error ox_scratch / ox_out just recorded. */
#define RD_ERR(err) ((err) && (err)->code ? (err)->code : CKPT_E_NOMEM)
/* Note: ox_scratch hands out ONE buffer per kernel call (a second call may
 * free the first): each kernel takes one block and partitions it. */

/* Input 0 and output 0 are present (the runtime's pointer arrays hold
 * n_in / n_out entries: nothing past them may be read). */
int rd_check_io(const ox_node *n, ox_val *const *in, ox_val *const *out, ckpt_error *err);

/* float, double, float16, bfloat16 */
bool rd_is_floating(int dtype);
/* the signed and unsigned integer types (not bool) */
bool rd_is_integer(int dtype);
/* All v->numel elements of a numeric tensor as double / int64 (uint64 wraps). */
void rd_load_f64(const ox_val *v, double *dst);
void rd_load_i64(const ox_val *v, int64_t *dst);
/* Store v->numel values into v's data in v's dtype (C conversion; halves
 * rounded to nearest even). */
void rd_store_f64(ox_val *v, const double *src);
void rd_store_i64(ox_val *v, const int64_t *src);
/* The input of a floating kernel as double in scratch memory (float32 too). */
double *rd_scratch_f64(ox_run *r, const ox_val *v, ckpt_error *err);
/* Product of dims[lo, hi). */
int64_t rd_prod(const int64_t *dims, int lo, int hi);

/* Accumulations of the reduction walker. */
enum { RD_SUM, RD_L1, RD_SSQ, RD_PROD, RD_MAX, RD_MIN, RD_EXPSUM };

/* A tensor's dims with size-1 axes dropped and adjacent axes of the same
 * kind (reduced / kept) merged; ostride: offsets into the reduced output
 * (0 on reduced axes). */
typedef struct rd_plan {
    int rank;
    int64_t dims[OX_MAX_RANK];
    bool red[OX_MAX_RANK];
    int64_t ostride[OX_MAX_RANK];
} rd_plan;
void rd_make_plan(int rank, const int64_t *dims, const bool *red, rd_plan *p);
/* Accumulate every element of x (the plan's shape) into acc (the reduced
 * shape) with `op` (RD_*; RD_EXPSUM adds exp(x - aux[o])). */
void rd_walk_f64(int op, double *acc, const double *aux, const double *x, const rd_plan *p);

/* the family's kernels outside ops_reduce.c */
int ox_k_softmax(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);
int ox_k_logsoftmax(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);
int ox_k_hardmax(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);
int ox_k_layernorm(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);
int ox_k_batchnorm(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);
int ox_k_instancenorm(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);
int ox_k_groupnorm(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);
int ox_k_lrn(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);
int ox_k_mvn(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);
int ox_k_lpnorm(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);
int ox_k_nllloss(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);
int ox_k_sceloss(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);
int ox_k_einsum(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);
int ox_k_det(ox_run *, const ox_node *, ox_val *const *, ox_val *const *, ckpt_error *);

#endif
