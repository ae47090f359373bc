/* src/onnx/control_util.h - helpers shared by the control-flow, sequence and
 * misc op families (ops_control.c, ops_sequence.c, ops_misc.c): slicing a
 * tensor along an axis, writing a slice back, owned value lists. */
#ifndef CKPT_ONNX_CONTROL_UTIL_H
#define CKPT_ONNX_CONTROL_UTIL_H

#include "onnx/onnx_internal.h"

/* CKPT_TRY for calls returning int64_t (ox_read_ints). */
#define CX_TRY64(expr)                                                                           \
    do {                                                                                         \
        int64_t cx_rc_ = (expr);                                                                 \
        if (cx_rc_ < 0)                                                                          \
            return (int)cx_rc_;                                                                  \
    } while (0)

/* Copy `n` elements of `dtype` (strings are duplicated; dst strings are
 * freed first when not NULL). */
int cx_copy_elems(void *dst, const void *src, int dtype, int64_t n, ckpt_error *err);

/* dst (owned buffer) = src[..., idx, ...] along `axis`: rank - 1. */
int cx_take(const ox_node *n, const ox_val *src, int axis, int64_t idx, ox_val *dst,
            ckpt_error *err);
/* dst[..., idx, ...] = src along `axis` (src has rank dst->rank - 1 and the
 * other dims of dst). */
int cx_put(const ox_node *n, ox_val *dst, int axis, int64_t idx, const ox_val *src,
           ckpt_error *err);
/* dst (owned buffer) = src[..., start:start+len, ...] along `axis`. */
int cx_range(const ox_node *n, const ox_val *src, int axis, int64_t start, int64_t len,
             ox_val *dst, ckpt_error *err);

/* A new zeroed value (NULL + error on failure); cx_val_free clears and frees. */
ox_val *cx_val_new(ckpt_error *err);
void cx_val_free(ox_val *v);
/* An array of `n` new values (NULL when n == 0 or on failure: check err). */
ox_val **cx_vals_new(int64_t n, ckpt_error *err);
void cx_vals_free(ox_val **v, int64_t n);

/* Make `out` an empty sequence of element type `dtype`. */
void cx_seq_reset(ox_val *out, int dtype);
/* Append `item` (ownership moves into the sequence) at position `pos`
 * (0..n_items). */
int cx_seq_insert(ox_val *seq, ox_val *item, int64_t pos, ckpt_error *err);
/* Move `src`'s contents into `dst` (dst cleared first; src left empty). */
void cx_val_move(ox_val *dst, ox_val *src);

/* A scalar of dtype (bool/int64) into `v`'s own buffer. */
int cx_scalar_i64(ox_val *v, int dtype, int64_t x, ckpt_error *err);

/* One-to-one Unicode case mapping (control_case.c): a code point, a UTF-8
 * string (mode 1 lower, 2 upper, 0 copy; malloc'd), case-blind equality. */
uint32_t cx_lower(uint32_t c);
uint32_t cx_upper(uint32_t c);
char *cx_utf8_case(const char *s, int mode);
bool cx_utf8_equal_nocase(const char *a, const char *b);

/* ai.onnx.preview.training Gradient (control_gradient.c). */
int ox_k_gradient(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err);

#endif
