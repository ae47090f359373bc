/*
 * src/jit/aten_internal.h - the op library's private contract (aten_*.c).
 *
 * jit_aten_call() finds the op's schema rows (aten_dispatch.c: one compact
 * schema string per overload, argument names and defaults as in PyTorch's
 * native_functions.yaml), binds positional and keyword arguments to the
 * first row whose argument types match, and calls the row's function with
 * the bound values.  Functions compute with the ONNX kernels (ox_call)
 * through the helpers below, so every tensor they produce comes from a
 * recorded kernel call (tracing) or is a constant.
 */
#ifndef CKPT_JIT_ATEN_INTERNAL_H
#define CKPT_JIT_ATEN_INTERNAL_H

#include "jit/jit_internal.h"

#define AT_MAX_ARGS 24

/* Bound arguments of one call. */
typedef struct at_args {
    jit_rt *rt;
    const char *op;               /* the name called ("add_", "conv2d") */
    jv *a[AT_MAX_ARGS];           /* bound values, borrowed (defaults: owned in `own`) */
    jv *own[AT_MAX_ARGS];         /* defaults created by the binder */
    const char *arg[AT_MAX_ARGS]; /* argument names (pointers into the schema, not terminated) */
    int arg_len[AT_MAX_ARGS];
    int n;
} at_args;

typedef int (*at_fn)(at_args *A, jv **res, ckpt_error *err);

typedef struct at_op {
    const char *name;   /* "conv2d", "quantized::conv2d" */
    const char *schema; /* "Tensor input, Tensor weight, Tensor? bias=None, int[2] stride=1" */
    at_fn fn;
} at_op;

/* The op tables of each file (ended by a row with name NULL). */
extern const at_op at_ops_math[];
extern const at_op at_ops_nn[];
extern const at_op at_ops_shape[];
extern const at_op at_ops_misc[];
extern const at_op at_ops_rnn[];
extern const at_op at_ops_attn[];
extern const at_op at_ops_quant[];
extern const at_op at_ops_extra[];

/* ---- errors */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
int at_fail(at_args *A, ckpt_error *err, const char *fmt, ...); /* CKPT_E_ARG, "aten::OP: ..." */

/* ---- argument access (index = position in the schema) */
bool at_none(const at_args *A, int i);
bool at_is_tensor(const at_args *A, int i);
jv *at_t(const at_args *A, int i);      /* the tensor jv (NULL when None) */
ox_val *at_tv(const at_args *A, int i); /* its ox_val */
int64_t at_i(const at_args *A, int i);  /* int / bool */
double at_f(const at_args *A, int i);   /* float / int / bool */
bool at_b(const at_args *A, int i);
const char *at_s(const at_args *A, int i); /* str (NULL when None) */
/* int[] (or one int, repeated `expand` times when expand > 0): count, or < 0 with an error */
int at_ints(at_args *A, int i, int64_t *dst, int max, int expand, ckpt_error *err);
/* Scalar as double, and whether it is a float/int/bool */
bool at_scalar_is_float(const jv *v);
double at_num(const jv *v);

/* ---- dtypes (ONNX codes) */
int at_promote(int a, int b);
bool at_is_floating(int dt);
bool at_is_integral(int dt, bool with_bool);
/* torch's result_type over tensors and Python scalars (jv), float32 default */
int at_result_type(jv *const *vals, int n);
/* ScalarType int argument -> ONNX dtype, error when unknown */
int at_dtype_arg(at_args *A, int i, int dflt, ckpt_error *err);

/* ---- values */
jv *at_new(void); /* empty tensor jv (NULL: OOM) */
/* A constant tensor of `dtype` with `rank`/`dims`, every element `x` (or ix for int64). */
int at_const(at_args *A, int dtype, int rank, const int64_t *dims, double x, jv **res,
             ckpt_error *err);
int at_const_i64s(at_args *A, const int64_t *v, int64_t n, jv **res, ckpt_error *err); /* 1-D */
int at_scalar_tensor(at_args *A, const jv *s, int dtype, jv **res, ckpt_error *err);

/* ---- kernel calls: output aliasing an input becomes a view of `base` */
int at_run(at_args *A, const char *op, int opset, const ox_attr *attrs, int n_attrs,
           jv *const *in, int n_in, jv *base, jv **res, ckpt_error *err);
int at_run_n(at_args *A, const char *op, int opset, const ox_attr *attrs, int n_attrs,
             jv *const *in, int n_in, jv *base, jv **res, int n_out, ckpt_error *err);
int at_cast(at_args *A, jv *t, int dtype, jv **res, ckpt_error *err); /* new ref */
int at_reshape(at_args *A, jv *t, int rank, const int64_t *dims, jv **res, ckpt_error *err);
int at_unary(at_args *A, const char *op, jv *t, jv **res, ckpt_error *err);
int at_binary(at_args *A, const char *op, jv *a, jv *b, jv **res, ckpt_error *err);
int at_transpose(at_args *A, jv *t, const int64_t *perm, int rank, jv **res, ckpt_error *err);
/* dim in [-rank, rank) (extra: [-rank-1, rank]) */
int at_dim(at_args *A, int64_t d, int rank, bool extra, int *out, ckpt_error *err);
/* Tuple/list builders (steal items). */
jv *at_tuple2(jv *a, jv *b);
jv *at_tuple3(jv *a, jv *b, jv *c);
/* Copy `src` (broadcast and cast to self's dtype) into self's data: in-place ops. */
int at_assign(at_args *A, jv *self, jv *src, ckpt_error *err);

#endif
