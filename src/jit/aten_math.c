/*
 * src/jit/aten_math.c - arithmetic, comparison, unary, activation and
 * reduction ops over the ONNX elementwise / reduce kernels, with torch's
 * type promotion (at_result_type), and the scalar forms (add.int, eq.float)
 * the bytecode interpreter calls.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/aten_internal.h"

/* ------------------------------------------------------------ binary arithmetic */

/* a OP b with both operands promoted to `dt` (0: torch's result type). */
static int bin_dt(at_args *A, const char *op, jv *a, jv *b, int dt, jv **res, ckpt_error *err)
{
    if (!dt) {
        jv *v[2] = {a, b};
        dt = at_result_type(v, 2);
    }
    jv *ca = NULL, *cb = NULL;
    int rc = at_cast(A, a, dt, &ca, err);
    if (rc == 0)
        rc = at_cast(A, b, dt, &cb, err);
    if (rc == 0)
        rc = at_binary(A, op, ca, cb, res, err);
    jv_unref(ca);
    jv_unref(cb);
    return rc;
}

static bool both_scalar(const jv *a, const jv *b)
{
    return a->kind != JV_TENSOR && b->kind != JV_TENSOR;
}

/* Python arithmetic on numbers (add.int, mul.float, floordiv...). */
static int scalar_arith(at_args *A, char op, const jv *a, const jv *b, jv **res, ckpt_error *err)
{
    bool fl = a->kind == JV_FLOAT || b->kind == JV_FLOAT;
    if (op == '/' || (op == 'p' && !fl && at_num(b) < 0)) {
        double x = at_num(a), y = at_num(b);
        *res = jv_float(op == '/' ? x / y : pow(x, y));
        return *res ? 0 : at_fail(A, err, "out of memory");
    }
    if (fl) {
        double x = at_num(a), y = at_num(b), r = 0;
        switch (op) {
        case '+': r = x + y; break;
        case '-': r = x - y; break;
        case '*': r = x * y; break;
        case 'f': r = floor(x / y); break;
        case '%': r = y != 0 ? x - floor(x / y) * y : (double)NAN; break;
        case 'p': r = pow(x, y); break;
        default: break;
        }
        *res = jv_float(r);
    } else {
        int64_t x = a->kind == JV_INT ? a->u.i : a->u.b, y = b->kind == JV_INT ? b->u.i : b->u.b;
        int64_t r = 0;
        uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
        switch (op) {
        case '+': r = (int64_t)(ux + uy); break;
        case '-': r = (int64_t)(ux - uy); break;
        case '*': r = (int64_t)(ux * uy); break;
        case 'f':
        case '%':
            if (y == 0)
                return jit_fail(A->rt, err, CKPT_E_ARG, "aten::%s: integer division by zero",
                                A->op);
            if (x == INT64_MIN && y == -1) {
                r = op == 'f' ? INT64_MIN : 0;
                break;
            }
            r = x / y;
            if ((x % y != 0) && ((x < 0) != (y < 0)))
                r--;
            if (op == '%')
                r = x - r * y;
            break;
        case 'p': {
            int64_t p = 1;
            for (int64_t k = 0; k < y && k < 64; k++)
                p = (int64_t)((uint64_t)p * (uint64_t)x);
            r = p;
            break;
        }
        default: break;
        }
        *res = jv_int(r);
    }
    return *res ? 0 : at_fail(A, err, "out of memory");
}

/* self + alpha * other (sub: negated alpha) */
static int add_like(at_args *A, const char *op, jv **res, ckpt_error *err)
{
    jv *a = A->a[0], *b = A->a[1], *alpha = A->n > 2 ? A->a[2] : NULL;
    bool unit = !alpha || at_num(alpha) == 1.0;
    if (unit)
        return bin_dt(A, op, a, b, 0, res, err);
    jv *v[3] = {a, b, alpha};
    int dt = at_result_type(v, 2);
    if (at_is_integral(dt, true) && alpha->kind == JV_FLOAT)
        return at_fail(A, err, "alpha must not be a float for an integer op");
    jv *cb = NULL, *ca = NULL, *scaled = NULL;
    int rc = at_cast(A, b, dt, &cb, err);
    if (rc == 0)
        rc = at_scalar_tensor(A, alpha, dt, &ca, err);
    if (rc == 0)
        rc = at_binary(A, "Mul", cb, ca, &scaled, err);
    jv_unref(cb);
    jv_unref(ca);
    if (rc == 0)
        rc = bin_dt(A, op, a, scaled, dt, res, err);
    jv_unref(scaled);
    return rc;
}

static int op_add(at_args *A, jv **res, ckpt_error *err)
{
    return add_like(A, "Add", res, err);
}

static int op_sub(at_args *A, jv **res, ckpt_error *err)
{
    return add_like(A, "Sub", res, err);
}

static int op_rsub(at_args *A, jv **res, ckpt_error *err)
{
    jv *t = A->a[0];
    A->a[0] = A->a[1];
    A->a[1] = t;
    return add_like(A, "Sub", res, err);
}

static int op_mul(at_args *A, jv **res, ckpt_error *err)
{
    return bin_dt(A, "Mul", A->a[0], A->a[1], 0, res, err);
}

static int op_div(at_args *A, jv **res, ckpt_error *err)
{
    jv *a = A->a[0], *b = A->a[1];
    const char *mode = A->n > 2 ? at_s(A, 2) : NULL;
    jv *v[2] = {a, b};
    int dt = at_result_type(v, 2);
    if (!mode) {
        if (at_is_integral(dt, true))
            dt = OX_FLOAT;
        return bin_dt(A, "Div", a, b, dt, res, err);
    }
    if (strcmp(mode, "trunc") && strcmp(mode, "floor"))
        return at_fail(A, err, "rounding_mode '%s' (trunc or floor)", mode);
    bool floor_m = !strcmp(mode, "floor");
    jv *ca = NULL, *cb = NULL, *q = NULL;
    int rc = at_cast(A, a, dt, &ca, err);
    if (rc == 0)
        rc = at_cast(A, b, dt, &cb, err);
    if (rc < 0)
        goto out;
    if (at_is_integral(dt, true)) {
        if (!floor_m) {
            rc = at_binary(A, "Div", ca, cb, res, err); /* C division truncates */
        } else {
            /* (a - mod(a, b)) / b is exact, mod with the divisor's sign */
            jv *m = NULL, *d = NULL;
            rc = at_binary(A, "Mod", ca, cb, &m, err);
            if (rc == 0)
                rc = at_binary(A, "Sub", ca, m, &d, err);
            if (rc == 0)
                rc = at_binary(A, "Div", d, cb, res, err);
            jv_unref(m);
            jv_unref(d);
        }
        goto out;
    }
    rc = at_binary(A, "Div", ca, cb, &q, err);
    if (rc < 0)
        goto out;
    if (floor_m) {
        rc = at_unary(A, "Floor", q, res, err);
    } else {
        /* trunc(q) = q - fmod(q, 1) */
        jv *one = NULL, *f = NULL;
        ox_attr fm = oxa_int("fmod", 1);
        rc = at_const(A, dt, 0, NULL, 1.0, &one, err);
        if (rc == 0) {
            jv *in[2] = {q, one};
            rc = at_run(A, "Mod", 0, &fm, 1, in, 2, NULL, &f, err);
        }
        if (rc == 0)
            rc = at_binary(A, "Sub", q, f, res, err);
        jv_unref(one);
        jv_unref(f);
    }
out:
    jv_unref(ca);
    jv_unref(cb);
    jv_unref(q);
    return rc;
}

static int op_floor_divide(at_args *A, jv **res, ckpt_error *err)
{
    at_args B = *A;
    jv *mode = jv_str0("floor");
    if (!mode)
        return at_fail(A, err, "out of memory");
    B.a[2] = mode;
    B.n = 3;
    int rc = op_div(&B, res, err);
    jv_unref(mode);
    return rc;
}

static int op_remainder(at_args *A, jv **res, ckpt_error *err)
{
    jv *v[2] = {A->a[0], A->a[1]};
    int dt = at_result_type(v, 2);
    ox_attr fm = oxa_int("fmod", at_is_floating(dt) ? 1 : 0);
    jv *ca = NULL, *cb = NULL, *m = NULL;
    int rc = at_cast(A, A->a[0], dt, &ca, err);
    if (rc == 0)
        rc = at_cast(A, A->a[1], dt, &cb, err);
    if (rc == 0 && !at_is_floating(dt)) {
        jv *in[2] = {ca, cb};
        rc = at_run(A, "Mod", 0, &fm, 1, in, 2, NULL, res, err);
    } else if (rc == 0) {
        /* python remainder: a - floor(a / b) * b */
        jv *q = NULL, *fq = NULL;
        rc = at_binary(A, "Div", ca, cb, &q, err);
        if (rc == 0)
            rc = at_unary(A, "Floor", q, &fq, err);
        if (rc == 0)
            rc = at_binary(A, "Mul", fq, cb, &m, err);
        if (rc == 0)
            rc = at_binary(A, "Sub", ca, m, res, err);
        jv_unref(q);
        jv_unref(fq);
    }
    jv_unref(ca);
    jv_unref(cb);
    jv_unref(m);
    return rc;
}

static int op_fmod(at_args *A, jv **res, ckpt_error *err)
{
    jv *v[2] = {A->a[0], A->a[1]};
    int dt = at_result_type(v, 2);
    ox_attr fm = oxa_int("fmod", 1);
    jv *ca = NULL, *cb = NULL;
    int rc = at_cast(A, A->a[0], dt, &ca, err);
    if (rc == 0)
        rc = at_cast(A, A->a[1], dt, &cb, err);
    if (rc == 0) {
        jv *in[2] = {ca, cb};
        rc = at_run(A, "Mod", 0, &fm, 1, in, 2, NULL, res, err);
    }
    jv_unref(ca);
    jv_unref(cb);
    return rc;
}

static int op_pow(at_args *A, jv **res, ckpt_error *err)
{
    return bin_dt(A, "Pow", A->a[0], A->a[1], 0, res, err);
}

static int op_maximum(at_args *A, jv **res, ckpt_error *err)
{
    return bin_dt(A, "Max", A->a[0], A->a[1], 0, res, err);
}

static int op_minimum(at_args *A, jv **res, ckpt_error *err)
{
    return bin_dt(A, "Min", A->a[0], A->a[1], 0, res, err);
}

static int op_atan2(at_args *A, jv **res, ckpt_error *err)
{
    (void)res;
    return at_fail(A, err, "atan2 is not supported");
}

/* scalar forms */
#define SCALAR_OP(fname, ch)                                                                     \
    static int fname(at_args *A, jv **res, ckpt_error *err)                                      \
    {                                                                                            \
        return scalar_arith(A, ch, A->a[0], A->a[1], res, err);                                  \
    }
SCALAR_OP(s_add, '+')
SCALAR_OP(s_sub, '-')
SCALAR_OP(s_mul, '*')
SCALAR_OP(s_div, '/')
SCALAR_OP(s_floordiv, 'f')
SCALAR_OP(s_mod, '%')
SCALAR_OP(s_pow, 'p')

/* list + list, str + str */
static int s_concat(at_args *A, jv **res, ckpt_error *err)
{
    jv *a = A->a[0], *b = A->a[1];
    if (a->kind == JV_STR && b->kind == JV_STR) {
        size_t n = a->u.str.len + b->u.str.len;
        char *s = malloc(n + 1);
        if (!s)
            return at_fail(A, err, "out of memory");
        memcpy(s, a->u.str.s, a->u.str.len);
        memcpy(s + a->u.str.len, b->u.str.s, b->u.str.len);
        *res = jv_str(s, n);
        free(s);
        return *res ? 0 : at_fail(A, err, "out of memory");
    }
    if ((a->kind == JV_LIST || a->kind == JV_TUPLE) && b->kind == a->kind) {
        jv *l = a->kind == JV_LIST ? jv_list_new(a->u.seq.n + b->u.seq.n)
                                   : jv_tuple_new(a->u.seq.n + b->u.seq.n);
        if (!l)
            return at_fail(A, err, "out of memory");
        for (size_t i = 0; i < a->u.seq.n; i++)
            if (jv_list_push(l, jv_ref(a->u.seq.items[i]), err) < 0)
                goto fail;
        for (size_t i = 0; i < b->u.seq.n; i++)
            if (jv_list_push(l, jv_ref(b->u.seq.items[i]), err) < 0)
                goto fail;
        *res = l;
        return 0;
fail:
        jv_unref(l);
        return -1;
    }
    return at_fail(A, err, "cannot add %s and %s", jv_kind_name(a->kind), jv_kind_name(b->kind));
}

/* ------------------------------------------------------------ comparisons, logic */

static int cmp(at_args *A, const char *op, bool negate, jv **res, ckpt_error *err)
{
    jv *a = A->a[0], *b = A->a[1];
    if (both_scalar(a, b)) {
        bool r;
        if (a->kind == JV_STR || b->kind == JV_STR || a->kind == JV_NONE || b->kind == JV_NONE ||
            a->kind == JV_LIST || a->kind == JV_TUPLE || a->kind == JV_DEVICE) {
            if (strcmp(op, "Equal"))
                return at_fail(A, err, "cannot order %s and %s", jv_kind_name(a->kind),
                               jv_kind_name(b->kind));
            r = jv_equal(a, b);
        } else if (a->kind != JV_FLOAT && b->kind != JV_FLOAT) {
            int64_t x = a->kind == JV_INT ? a->u.i : a->u.b,
                    y = b->kind == JV_INT ? b->u.i : b->u.b;
            r = !strcmp(op, "Equal")         ? x == y
                : !strcmp(op, "Less")        ? x < y
                : !strcmp(op, "LessOrEqual") ? x <= y
                : !strcmp(op, "Greater")     ? x > y
                                             : x >= y;
        } else {
            double x = at_num(a), y = at_num(b);
            r = !strcmp(op, "Equal")         ? x == y
                : !strcmp(op, "Less")        ? x < y
                : !strcmp(op, "LessOrEqual") ? x <= y
                : !strcmp(op, "Greater")     ? x > y
                                             : x >= y;
        }
        *res = jv_bool(negate ? !r : r);
        return 0;
    }
    if (!negate)
        return bin_dt(A, op, a, b, 0, res, err);
    jv *e = NULL;
    CKPT_TRY(bin_dt(A, op, a, b, 0, &e, err));
    int rc = at_unary(A, "Not", e, res, err);
    jv_unref(e);
    return rc;
}

#define CMP_OP(fname, onnx, neg)                                                                 \
    static int fname(at_args *A, jv **res, ckpt_error *err)                                      \
    {                                                                                            \
        return cmp(A, onnx, neg, res, err);                                                      \
    }
CMP_OP(op_eq, "Equal", false)
CMP_OP(op_ne, "Equal", true)
CMP_OP(op_lt, "Less", false)
CMP_OP(op_le, "LessOrEqual", false)
CMP_OP(op_gt, "Greater", false)
CMP_OP(op_ge, "GreaterOrEqual", false)

static int logic(at_args *A, const char *bool_op, const char *int_op, jv **res, ckpt_error *err)
{
    jv *a = A->a[0], *b = A->a[1];
    if (both_scalar(a, b)) {
        int64_t x = (int64_t)at_num(a), y = (int64_t)at_num(b), r;
        r = bool_op[0] == 'A' ? (x & y) : bool_op[0] == 'O' ? (x | y) : (x ^ y);
        *res = a->kind == JV_BOOL && b->kind == JV_BOOL ? jv_bool(r != 0) : jv_int(r);
        return *res ? 0 : at_fail(A, err, "out of memory");
    }
    jv *v[2] = {a, b};
    int dt = at_result_type(v, 2);
    if (dt == OX_BOOL)
        return bin_dt(A, bool_op, a, b, dt, res, err);
    if (!at_is_integral(dt, false))
        return at_fail(A, err, "bitwise ops need integer or bool tensors");
    return bin_dt(A, int_op, a, b, dt, res, err);
}

static int op_and(at_args *A, jv **res, ckpt_error *err)
{
    return logic(A, "And", "BitwiseAnd", res, err);
}

static int op_or(at_args *A, jv **res, ckpt_error *err)
{
    return logic(A, "Or", "BitwiseOr", res, err);
}

static int op_xor(at_args *A, jv **res, ckpt_error *err)
{
    return logic(A, "Xor", "BitwiseXor", res, err);
}

static int logical(at_args *A, const char *op, jv **res, ckpt_error *err)
{
    return bin_dt(A, op, A->a[0], A->a[1], OX_BOOL, res, err);
}

static int op_logical_and(at_args *A, jv **res, ckpt_error *err)
{
    return logical(A, "And", res, err);
}

static int op_logical_or(at_args *A, jv **res, ckpt_error *err)
{
    return logical(A, "Or", res, err);
}

static int op_logical_xor(at_args *A, jv **res, ckpt_error *err)
{
    return logical(A, "Xor", res, err);
}

static int op_logical_not(at_args *A, jv **res, ckpt_error *err)
{
    jv *c = NULL;
    CKPT_TRY(at_cast(A, A->a[0], OX_BOOL, &c, err));
    int rc = at_unary(A, "Not", c, res, err);
    jv_unref(c);
    return rc;
}

static int op_bitwise_not(at_args *A, jv **res, ckpt_error *err)
{
    jv *t = A->a[0];
    return at_unary(A, t->u.t->t.dtype == OX_BOOL ? "Not" : "BitwiseNot", t, res, err);
}

static int s_not(at_args *A, jv **res, ckpt_error *err)
{
    (void)err;
    *res = jv_bool(at_num(A->a[0]) == 0);
    return 0;
}

/* ------------------------------------------------------------ unary */

/* float functions: integer inputs become float32 first */
static int float_unary(at_args *A, const char *op, jv **res, ckpt_error *err)
{
    jv *t = A->a[0], *c = NULL;
    int dt = t->u.t->t.dtype;
    CKPT_TRY(at_cast(A, t, at_is_floating(dt) ? dt : OX_FLOAT, &c, err));
    int rc = at_unary(A, op, c, res, err);
    jv_unref(c);
    return rc;
}

#define FLOAT_UNARY(fname, onnx)                                                                 \
    static int fname(at_args *A, jv **res, ckpt_error *err)                                      \
    {                                                                                            \
        return float_unary(A, onnx, res, err);                                                   \
    }
FLOAT_UNARY(op_exp, "Exp")
FLOAT_UNARY(op_log, "Log")
FLOAT_UNARY(op_sqrt, "Sqrt")
FLOAT_UNARY(op_sigmoid, "Sigmoid")
FLOAT_UNARY(op_tanh, "Tanh")
FLOAT_UNARY(op_sin, "Sin")
FLOAT_UNARY(op_cos, "Cos")
FLOAT_UNARY(op_tan, "Tan")
FLOAT_UNARY(op_atan, "Atan")
FLOAT_UNARY(op_asin, "Asin")
FLOAT_UNARY(op_acos, "Acos")
FLOAT_UNARY(op_sinh, "Sinh")
FLOAT_UNARY(op_cosh, "Cosh")
FLOAT_UNARY(op_erf, "Erf")
FLOAT_UNARY(op_reciprocal, "Reciprocal")
FLOAT_UNARY(op_softsign, "Softsign")

/* same-dtype functions */
#define SAME_UNARY(fname, onnx)                                                                  \
    static int fname(at_args *A, jv **res, ckpt_error *err)                                      \
    {                                                                                            \
        return at_unary(A, onnx, A->a[0], res, err);                                             \
    }
SAME_UNARY(op_neg, "Neg")
SAME_UNARY(op_abs, "Abs")
SAME_UNARY(op_sign, "Sign")
SAME_UNARY(op_relu, "Relu")

static int round_like(at_args *A, const char *op, jv **res, ckpt_error *err)
{
    jv *t = A->a[0];
    if (!at_is_floating(t->u.t->t.dtype))
        return at_unary(A, "Identity", t, res, err);
    return at_unary(A, op, t, res, err);
}

static int op_floor(at_args *A, jv **res, ckpt_error *err)
{
    if (A->a[0]->kind != JV_TENSOR) {
        *res = jv_int((int64_t)floor(at_num(A->a[0])));
        return *res ? 0 : at_fail(A, err, "out of memory");
    }
    return round_like(A, "Floor", res, err);
}

static int op_ceil(at_args *A, jv **res, ckpt_error *err)
{
    if (A->a[0]->kind != JV_TENSOR) {
        *res = jv_int((int64_t)ceil(at_num(A->a[0])));
        return *res ? 0 : at_fail(A, err, "out of memory");
    }
    return round_like(A, "Ceil", res, err);
}

static int op_round(at_args *A, jv **res, ckpt_error *err)
{
    return round_like(A, "Round", res, err);
}

static int op_trunc(at_args *A, jv **res, ckpt_error *err)
{
    jv *t = A->a[0];
    if (!at_is_floating(t->u.t->t.dtype))
        return at_unary(A, "Identity", t, res, err);
    jv *one = NULL, *f = NULL;
    ox_attr fm = oxa_int("fmod", 1);
    int rc = at_const(A, t->u.t->t.dtype, 0, NULL, 1.0, &one, err);
    if (rc == 0) {
        jv *in[2] = {t, one};
        rc = at_run(A, "Mod", 0, &fm, 1, in, 2, NULL, &f, err);
    }
    if (rc == 0)
        rc = at_binary(A, "Sub", t, f, res, err);
    jv_unref(one);
    jv_unref(f);
    return rc;
}

/* f(g(x)) chains over float */
static int chain2(at_args *A, const char *first, const char *second, jv **res, ckpt_error *err)
{
    jv *c = NULL, *m = NULL;
    int dt = A->a[0]->u.t->t.dtype;
    CKPT_TRY(at_cast(A, A->a[0], at_is_floating(dt) ? dt : OX_FLOAT, &c, err));
    int rc = at_unary(A, first, c, &m, err);
    if (rc == 0)
        rc = at_unary(A, second, m, res, err);
    jv_unref(c);
    jv_unref(m);
    return rc;
}

static int op_rsqrt(at_args *A, jv **res, ckpt_error *err)
{
    return chain2(A, "Sqrt", "Reciprocal", res, err);
}

/* x OP const, in x's float type */
static int with_const(at_args *A, jv *x, const char *op, double c, bool const_first, jv **res,
                      ckpt_error *err)
{
    jv *k = NULL;
    CKPT_TRY(at_const(A, x->u.t->t.dtype, 0, NULL, c, &k, err));
    int rc = const_first ? at_binary(A, op, k, x, res, err) : at_binary(A, op, x, k, res, err);
    jv_unref(k);
    return rc;
}

static int op_log1p(at_args *A, jv **res, ckpt_error *err)
{
    jv *c = NULL, *s = NULL;
    int dt = A->a[0]->u.t->t.dtype;
    CKPT_TRY(at_cast(A, A->a[0], at_is_floating(dt) ? dt : OX_FLOAT, &c, err));
    int rc = with_const(A, c, "Add", 1.0, false, &s, err);
    if (rc == 0)
        rc = at_unary(A, "Log", s, res, err);
    jv_unref(c);
    jv_unref(s);
    return rc;
}

static int op_expm1(at_args *A, jv **res, ckpt_error *err)
{
    jv *c = NULL, *e = NULL;
    int dt = A->a[0]->u.t->t.dtype;
    CKPT_TRY(at_cast(A, A->a[0], at_is_floating(dt) ? dt : OX_FLOAT, &c, err));
    int rc = at_unary(A, "Exp", c, &e, err);
    if (rc == 0)
        rc = with_const(A, e, "Sub", 1.0, false, res, err);
    jv_unref(c);
    jv_unref(e);
    return rc;
}

static int log_base(at_args *A, double base, jv **res, ckpt_error *err)
{
    jv *l = NULL;
    CKPT_TRY(float_unary(A, "Log", &l, err));
    int rc = with_const(A, l, "Div", log(base), false, res, err);
    jv_unref(l);
    return rc;
}

static int op_log2(at_args *A, jv **res, ckpt_error *err)
{
    return log_base(A, 2.0, res, err);
}

static int op_log10(at_args *A, jv **res, ckpt_error *err)
{
    return log_base(A, 10.0, res, err);
}

static int op_square(at_args *A, jv **res, ckpt_error *err)
{
    return at_binary(A, "Mul", A->a[0], A->a[0], res, err);
}

/* ------------------------------------------------------------ activations */

static int clip_vals(at_args *A, jv *x, const jv *lo, const jv *hi, jv **res, ckpt_error *err)
{
    int dt = x->u.t->t.dtype;
    jv *use = x, *tmp = NULL;
    /* an integer tensor clamped by float bounds becomes float (torch) */
    if ((lo && lo->kind == JV_FLOAT) || (hi && hi->kind == JV_FLOAT)) {
        if (!at_is_floating(dt)) {
            CKPT_TRY(at_cast(A, x, OX_FLOAT, &tmp, err));
            use = tmp;
            dt = OX_FLOAT;
        }
    }
    jv *in[3] = {use, NULL, NULL};
    int rc = 0;
    if (lo && lo->kind != JV_NONE)
        rc = at_scalar_tensor(A, lo, dt, &in[1], err);
    if (rc == 0 && hi && hi->kind != JV_NONE)
        rc = at_scalar_tensor(A, hi, dt, &in[2], err);
    if (rc == 0) {
        /* the Clip kernel converts float bounds to int64 as well: bounds outside that range
         * (inf, 1e300) go through Max/Min */
        bool wide = false;
        for (int k = 1; k < 3; k++)
            if (in[k] && in[k]->u.t->t.numel == 1) {
                double b = ox_get_f64(&in[k]->u.t->t, 0);
                wide = wide || !(b > -9.2e18 && b < 9.2e18);
            }
        if (in[1] && in[2] && (wide || in[1]->u.t->t.rank > 0 || in[2]->u.t->t.rank > 0)) {
            /* tensor bounds: min(max(x, lo), hi) broadcasting */
            jv *m = NULL;
            rc = at_binary(A, "Max", use, in[1], &m, err);
            if (rc == 0)
                rc = at_binary(A, "Min", m, in[2], res, err);
            jv_unref(m);
        } else if (wide || (in[1] && in[1]->u.t->t.rank > 0) ||
                   (in[2] && in[2]->u.t->t.rank > 0)) {
            rc = at_binary(A, in[1] ? "Max" : "Min", use, in[1] ? in[1] : in[2], res, err);
        } else {
            rc = at_run(A, "Clip", 0, NULL, 0, in, 3, NULL, res, err);
        }
    }
    jv_unref(in[1]);
    jv_unref(in[2]);
    jv_unref(tmp);
    return rc;
}

static int op_clamp(at_args *A, jv **res, ckpt_error *err)
{
    if (at_none(A, 1) && at_none(A, 2))
        return at_fail(A, err, "at least one of min and max must be given");
    return clip_vals(A, A->a[0], A->a[1], A->a[2], res, err);
}

static int op_clamp_min(at_args *A, jv **res, ckpt_error *err)
{
    return clip_vals(A, A->a[0], A->a[1], NULL, res, err);
}

static int op_clamp_max(at_args *A, jv **res, ckpt_error *err)
{
    return clip_vals(A, A->a[0], NULL, A->a[1], res, err);
}

static int op_hardtanh(at_args *A, jv **res, ckpt_error *err)
{
    return clip_vals(A, A->a[0], A->a[1], A->a[2], res, err);
}

static int op_relu6(at_args *A, jv **res, ckpt_error *err)
{
    jv *lo = jv_int(0), *hi = jv_int(6);
    int rc = lo && hi ? clip_vals(A, A->a[0], lo, hi, res, err)
                      : at_fail(A, err, "out of memory");
    jv_unref(lo);
    jv_unref(hi);
    return rc;
}

static int op_leaky_relu(at_args *A, jv **res, ckpt_error *err)
{
    ox_attr a = oxa_float("alpha", (float)at_f(A, 1));
    return at_run(A, "LeakyRelu", 0, &a, 1, &A->a[0], 1, NULL, res, err);
}

static int op_elu(at_args *A, jv **res, ckpt_error *err)
{
    double alpha = at_f(A, 1), scale = at_f(A, 2), iscale = at_f(A, 3);
    jv *x = A->a[0], *xs = NULL, *e = NULL;
    int rc = 0;
    if (iscale != 1.0)
        rc = with_const(A, x, "Mul", iscale, false, &xs, err);
    ox_attr a = oxa_float("alpha", (float)alpha);
    if (rc == 0) {
        jv *in = xs ? xs : x;
        rc = at_run(A, "Elu", 0, &a, 1, &in, 1, NULL, scale != 1.0 ? &e : res, err);
    }
    if (rc == 0 && scale != 1.0) {
        /* elu(x) = scale*x for x>0, scale*alpha*(exp(x*is)-1) else: Elu already has alpha */
        rc = with_const(A, e, "Mul", scale, false, res, err);
    }
    jv_unref(xs);
    jv_unref(e);
    return rc;
}

static int op_selu(at_args *A, jv **res, ckpt_error *err)
{
    return at_unary(A, "Selu", A->a[0], res, err);
}

static int op_celu(at_args *A, jv **res, ckpt_error *err)
{
    ox_attr a = oxa_float("alpha", (float)at_f(A, 1));
    return at_run(A, "Celu", 0, &a, 1, &A->a[0], 1, NULL, res, err);
}

static int op_gelu(at_args *A, jv **res, ckpt_error *err)
{
    const char *ap = at_s(A, 1);
    ox_attr a = oxa_str("approximate", ap ? ap : "none");
    return at_run(A, "Gelu", 20, &a, 1, &A->a[0], 1, NULL, res, err);
}

static int op_silu(at_args *A, jv **res, ckpt_error *err)
{
    jv *s = NULL;
    CKPT_TRY(at_unary(A, "Sigmoid", A->a[0], &s, err));
    int rc = at_binary(A, "Mul", A->a[0], s, res, err);
    jv_unref(s);
    return rc;
}

static int op_mish(at_args *A, jv **res, ckpt_error *err)
{
    return at_run(A, "Mish", 0, NULL, 0, &A->a[0], 1, NULL, res, err);
}

static int op_hardswish(at_args *A, jv **res, ckpt_error *err)
{
    return at_unary(A, "HardSwish", A->a[0], res, err);
}

static int op_hardsigmoid(at_args *A, jv **res, ckpt_error *err)
{
    ox_attr a[2] = {oxa_float("alpha", 1.0f / 6.0f), oxa_float("beta", 0.5f)};
    return at_run(A, "HardSigmoid", 0, a, 2, &A->a[0], 1, NULL, res, err);
}

static int op_softplus(at_args *A, jv **res, ckpt_error *err)
{
    /* x*beta > threshold ? x : log1p(exp(beta x)) / beta */
    double beta = at_f(A, 1), thr = at_f(A, 2);
    jv *x = A->a[0], *bx = NULL, *sp = NULL, *spb = NULL, *cond = NULL;
    int rc = with_const(A, x, "Mul", beta, false, &bx, err);
    if (rc == 0)
        rc = at_unary(A, "Softplus", bx, &sp, err);
    if (rc == 0)
        rc = with_const(A, sp, "Div", beta, false, &spb, err);
    if (rc == 0)
        rc = with_const(A, bx, "Greater", thr, false, &cond, err);
    if (rc == 0) {
        jv *in[3] = {cond, x, spb};
        rc = at_run(A, "Where", 0, NULL, 0, in, 3, NULL, res, err);
    }
    jv_unref(bx);
    jv_unref(sp);
    jv_unref(spb);
    jv_unref(cond);
    return rc;
}

static int op_threshold(at_args *A, jv **res, ckpt_error *err)
{
    /* x > threshold ? x : value */
    jv *x = A->a[0], *cond = NULL, *val = NULL;
    int rc = with_const(A, x, "Greater", at_f(A, 1), false, &cond, err);
    if (rc == 0)
        rc = at_scalar_tensor(A, A->a[2], x->u.t->t.dtype, &val, err);
    if (rc == 0) {
        jv *in[3] = {cond, x, val};
        rc = at_run(A, "Where", 0, NULL, 0, in, 3, NULL, res, err);
    }
    jv_unref(cond);
    jv_unref(val);
    return rc;
}

static int op_prelu(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *w = A->a[1], *wr = NULL;
    const ox_val *xv = &x->u.t->t, *wv = &w->u.t->t;
    int rc;
    if (wv->numel > 1 && xv->rank >= 2) {
        int64_t dims[OX_MAX_RANK];
        int r = xv->rank - 1;
        dims[0] = wv->numel;
        for (int i = 1; i < r; i++)
            dims[i] = 1;
        rc = at_reshape(A, w, r, dims, &wr, err);
    } else {
        rc = at_reshape(A, w, 0, NULL, &wr, err);
        if (rc < 0 && wv->numel == 1) {
            ckpt_error_clear(err);
            rc = 0;
            wr = jv_ref(w);
        }
    }
    if (rc == 0)
        rc = at_binary(A, "PRelu", x, wr, res, err);
    jv_unref(wr);
    return rc;
}

/* softmax family */
static int softmax_like(at_args *A, const char *op, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *c = NULL;
    int dt = at_dtype_arg(A, 2, x->u.t->t.dtype, err);
    if (dt < 0)
        return dt;
    if (!at_is_floating(dt))
        dt = OX_FLOAT;
    int ax;
    CKPT_TRY(at_dim(A, at_i(A, 1), x->u.t->t.rank, false, &ax, err));
    CKPT_TRY(at_cast(A, x, dt, &c, err));
    ox_attr a = oxa_int("axis", ax);
    int rc = at_run(A, op, 0, &a, 1, &c, 1, NULL, res, err);
    jv_unref(c);
    return rc;
}

static int op_softmax(at_args *A, jv **res, ckpt_error *err)
{
    return softmax_like(A, "Softmax", res, err);
}

static int op_log_softmax(at_args *A, jv **res, ckpt_error *err)
{
    return softmax_like(A, "LogSoftmax", res, err);
}

/* ------------------------------------------------------------ reductions */

/* dims of a reduction: int[1]? argument; none or empty = all */
static int red_axes(at_args *A, int i, const ox_val *x, int64_t *ax, ckpt_error *err)
{
    if (at_none(A, i))
        return 0;
    int64_t d[OX_MAX_RANK];
    int n = at_ints(A, i, d, OX_MAX_RANK, 0, err);
    if (n < 0)
        return n;
    for (int k = 0; k < n; k++) {
        int a;
        CKPT_TRY(at_dim(A, d[k], x->rank, false, &a, err));
        ax[k] = a;
    }
    return n;
}

static int reduce(at_args *A, const char *op, jv *x, const int64_t *axes, int n_axes, bool keep,
                  jv **res, ckpt_error *err)
{
    const ox_val *xv = &x->u.t->t;
    if (xv->rank == 0) {
        return at_unary(A, "Identity", x, res, err);
    }
    jv *ax = NULL;
    int rc = 0;
    if (n_axes > 0)
        rc = at_const_i64s(A, axes, n_axes, &ax, err);
    if (rc < 0)
        return rc;
    ox_attr a = oxa_int("keepdims", keep ? 1 : 0);
    jv *in[2] = {x, ax};
    rc = at_run(A, op, 0, &a, 1, in, ax ? 2 : 1, NULL, res, err);
    jv_unref(ax);
    return rc;
}

/* sum / mean / prod: (self, dim, keepdim, dtype) or (self, dtype) */
static int red_common(at_args *A, const char *op, bool has_dim, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *c = NULL;
    const ox_val *xv = &x->u.t->t;
    int di = has_dim ? 3 : 1;
    int dt = xv->dtype;
    if ((!strcmp(op, "ReduceSum") || !strcmp(op, "ReduceProd")) && at_is_integral(dt, true))
        dt = OX_INT64;
    dt = at_dtype_arg(A, di, dt, err);
    if (dt < 0)
        return dt;
    if (!strcmp(op, "ReduceMean") && !at_is_floating(dt))
        return at_fail(A, err, "mean needs a floating dtype, got %s", ox_dtype_name(dt));
    int64_t axes[OX_MAX_RANK];
    int na = has_dim ? red_axes(A, 1, xv, axes, err) : 0;
    if (na < 0)
        return na;
    bool keep = has_dim ? at_b(A, 2) : false;
    CKPT_TRY(at_cast(A, x, dt, &c, err));
    int rc;
    if (na == 0 && xv->rank > 0) {
        for (int k = 0; k < xv->rank; k++)
            axes[k] = k;
        rc = reduce(A, op, c, axes, xv->rank, keep, res, err);
    } else {
        rc = reduce(A, op, c, axes, na, keep, res, err);
    }
    jv_unref(c);
    return rc;
}

static int op_sum(at_args *A, jv **res, ckpt_error *err)
{
    return red_common(A, "ReduceSum", false, res, err);
}

static int op_sum_dim(at_args *A, jv **res, ckpt_error *err)
{
    return red_common(A, "ReduceSum", true, res, err);
}

static int op_mean(at_args *A, jv **res, ckpt_error *err)
{
    return red_common(A, "ReduceMean", false, res, err);
}

static int op_mean_dim(at_args *A, jv **res, ckpt_error *err)
{
    return red_common(A, "ReduceMean", true, res, err);
}

static int op_prod(at_args *A, jv **res, ckpt_error *err)
{
    return red_common(A, "ReduceProd", false, res, err);
}

static int op_prod_dim(at_args *A, jv **res, ckpt_error *err)
{
    /* prod.dim_int(self, int dim, bool keepdim, dtype) */
    return red_common(A, "ReduceProd", true, res, err);
}

static int all_axes(const ox_val *x, int64_t *axes)
{
    for (int k = 0; k < x->rank; k++)
        axes[k] = k;
    return x->rank;
}

static int op_amax(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *xv = at_tv(A, 0);
    int64_t axes[OX_MAX_RANK];
    int na = red_axes(A, 1, xv, axes, err);
    if (na < 0)
        return na;
    if (na == 0)
        na = all_axes(xv, axes);
    return reduce(A, !strncmp(A->op, "amin", 4) ? "ReduceMin" : "ReduceMax", A->a[0], axes, na,
                  at_b(A, 2), res, err);
}

/* max() / min(): all elements */
static int op_max_all(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *xv = at_tv(A, 0);
    if (xv->numel == 0)
        return at_fail(A, err, "max/min of an empty tensor");
    int64_t axes[OX_MAX_RANK];
    int na = all_axes(xv, axes);
    return reduce(A, A->op[1] == 'i' ? "ReduceMin" : "ReduceMax", A->a[0], axes, na, false, res,
                  err);
}

/* max.dim / min.dim -> (values, indices) */
static int op_max_dim(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0];
    const ox_val *xv = &x->u.t->t;
    bool is_min = A->op[1] == 'i';
    int ax;
    CKPT_TRY(at_dim(A, at_i(A, 1), xv->rank, false, &ax, err));
    bool keep = at_b(A, 2);
    jv *vals = NULL, *idx = NULL;
    int64_t a64 = ax;
    if (xv->rank == 0) {
        CKPT_TRY(at_unary(A, "Identity", x, &vals, err));
        int rc = at_const(A, OX_INT64, 0, NULL, 0, &idx, err);
        if (rc < 0) {
            jv_unref(vals);
            return rc;
        }
    } else {
        CKPT_TRY(reduce(A, is_min ? "ReduceMin" : "ReduceMax", x, &a64, 1, keep, &vals, err));
        ox_attr at[2] = {oxa_int("axis", ax), oxa_int("keepdims", keep ? 1 : 0)};
        int rc = at_run(A, is_min ? "ArgMin" : "ArgMax", 0, at, 2, &x, 1, NULL, &idx, err);
        if (rc < 0) {
            jv_unref(vals);
            return rc;
        }
    }
    *res = at_tuple2(vals, idx);
    return *res ? 0 : at_fail(A, err, "out of memory");
}

/* max.other / min.other */
static int op_max_other(at_args *A, jv **res, ckpt_error *err)
{
    return bin_dt(A, A->op[1] == 'i' ? "Min" : "Max", A->a[0], A->a[1], 0, res, err);
}

/* python max(a, b) on numbers */
static int s_max(at_args *A, jv **res, ckpt_error *err)
{
    bool is_min = A->op[1] == 'i';
    double x = at_num(A->a[0]), y = at_num(A->a[1]);
    jv *pick = (is_min ? y < x : y > x) ? A->a[1] : A->a[0];
    (void)err;
    *res = jv_ref(pick);
    return 0;
}

static int op_argmax(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *flat = NULL;
    const ox_val *xv = &x->u.t->t;
    bool is_min = A->op[3] == 'm' && A->op[4] == 'i';
    bool keep = at_b(A, 2);
    int rc;
    if (at_none(A, 1)) {
        int64_t n = xv->numel;
        CKPT_TRY(at_reshape(A, x, 1, &n, &flat, err));
        ox_attr at[2] = {oxa_int("axis", 0), oxa_int("keepdims", 0)};
        jv *r = NULL;
        rc = at_run(A, is_min ? "ArgMin" : "ArgMax", 0, at, 2, &flat, 1, NULL, &r, err);
        jv_unref(flat);
        if (rc < 0)
            return rc;
        if (keep && xv->rank > 0) {
            int64_t ones[OX_MAX_RANK];
            for (int k = 0; k < xv->rank; k++)
                ones[k] = 1;
            rc = at_reshape(A, r, xv->rank, ones, res, err);
            jv_unref(r);
            return rc;
        }
        *res = r;
        return 0;
    }
    int ax;
    CKPT_TRY(at_dim(A, at_i(A, 1), xv->rank, false, &ax, err));
    if (xv->rank == 0)
        return at_const(A, OX_INT64, 0, NULL, 0, res, err);
    ox_attr at[2] = {oxa_int("axis", ax), oxa_int("keepdims", keep ? 1 : 0)};
    return at_run(A, is_min ? "ArgMin" : "ArgMax", 0, at, 2, &x, 1, NULL, res, err);
}

/* var / std: (self, dim, unbiased, keepdim) -- mean of squared deviations */
static int var_std(at_args *A, int dim_i, bool unbiased, bool keep, bool is_std, jv **res,
                   ckpt_error *err)
{
    jv *x = A->a[0], *c = NULL, *m = NULL, *d = NULL, *sq = NULL, *s = NULL, *v = NULL;
    const ox_val *xv = &x->u.t->t;
    int64_t axes[OX_MAX_RANK];
    int na = dim_i >= 0 ? red_axes(A, dim_i, xv, axes, err) : 0;
    if (na < 0)
        return na;
    if (na == 0)
        na = all_axes(xv, axes);
    int64_t cnt = 1;
    for (int k = 0; k < na; k++)
        cnt *= xv->dims[axes[k]];
    int dt = at_is_floating(xv->dtype) ? xv->dtype : OX_FLOAT;
    int rc = at_cast(A, x, dt, &c, err);
    if (rc == 0)
        rc = reduce(A, "ReduceMean", c, axes, na, true, &m, err);
    if (rc == 0)
        rc = at_binary(A, "Sub", c, m, &d, err);
    if (rc == 0)
        rc = at_binary(A, "Mul", d, d, &sq, err);
    if (rc == 0)
        rc = reduce(A, "ReduceSum", sq, axes, na, keep, &s, err);
    double den = (double)(unbiased ? cnt - 1 : cnt);
    if (rc == 0)
        rc = with_const(A, s, "Div", den, false, is_std ? &v : res, err);
    if (rc == 0 && is_std)
        rc = at_unary(A, "Sqrt", v, res, err);
    jv_unref(c);
    jv_unref(m);
    jv_unref(d);
    jv_unref(sq);
    jv_unref(s);
    jv_unref(v);
    return rc;
}

static int op_var(at_args *A, jv **res, ckpt_error *err)
{
    return var_std(A, -1, at_b(A, 1), false, A->op[0] == 's', res, err);
}

static int op_var_dim(at_args *A, jv **res, ckpt_error *err)
{
    return var_std(A, 1, at_b(A, 2), at_b(A, 3), A->op[0] == 's', res, err);
}

static int op_logsumexp(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *xv = at_tv(A, 0);
    int64_t axes[OX_MAX_RANK];
    int na = red_axes(A, 1, xv, axes, err);
    if (na < 0)
        return na;
    return reduce(A, "ReduceLogSumExp", A->a[0], axes, na, at_b(A, 2), res, err);
}

static int op_all_any(at_args *A, bool all, bool has_dim, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *c = NULL, *r = NULL;
    const ox_val *xv = &x->u.t->t;
    int64_t axes[OX_MAX_RANK];
    int na;
    bool keep = false;
    if (has_dim) {
        int ax;
        CKPT_TRY(at_dim(A, at_i(A, 1), xv->rank, false, &ax, err));
        axes[0] = ax;
        na = 1;
        keep = at_b(A, 2);
    } else {
        na = all_axes(xv, axes);
    }
    int rc = at_cast(A, x, OX_BOOL, &c, err);
    jv *ci = NULL;
    if (rc == 0)
        rc = at_cast(A, c, OX_INT32, &ci, err);
    if (rc == 0)
        rc = reduce(A, all ? "ReduceMin" : "ReduceMax", ci, axes, na, keep, &r, err);
    if (rc == 0)
        rc = at_cast(A, r, OX_BOOL, res, err);
    jv_unref(c);
    jv_unref(ci);
    jv_unref(r);
    return rc;
}

static int op_all(at_args *A, jv **res, ckpt_error *err)
{
    return op_all_any(A, true, false, res, err);
}

static int op_any(at_args *A, jv **res, ckpt_error *err)
{
    return op_all_any(A, false, false, res, err);
}

static int op_all_dim(at_args *A, jv **res, ckpt_error *err)
{
    return op_all_any(A, true, true, res, err);
}

static int op_any_dim(at_args *A, jv **res, ckpt_error *err)
{
    return op_all_any(A, false, true, res, err);
}

static int op_cumsum(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0], *c = NULL, *ax = NULL;
    int a;
    CKPT_TRY(at_dim(A, at_i(A, 1), x->u.t->t.rank, false, &a, err));
    int dt = x->u.t->t.dtype;
    if (at_is_integral(dt, true))
        dt = OX_INT64;
    dt = at_dtype_arg(A, 2, dt, err);
    if (dt < 0)
        return dt;
    int rc = at_cast(A, x, dt, &c, err);
    if (rc == 0)
        rc = at_const(A, OX_INT64, 0, NULL, (double)a, &ax, err);
    if (rc == 0) {
        jv *in[2] = {c, ax};
        rc = at_run(A, "CumSum", 0, NULL, 0, in, 2, NULL, res, err);
    }
    jv_unref(c);
    jv_unref(ax);
    return rc;
}

static int op_norm(at_args *A, jv **res, ckpt_error *err)
{
    /* norm.ScalarOpt_dim(self, Scalar? p, int[1] dim, bool keepdim=False): p = 2 or 1 */
    const ox_val *xv = at_tv(A, 0);
    double p = at_none(A, 1) ? 2.0 : at_f(A, 1);
    int64_t axes[OX_MAX_RANK];
    int na = A->n > 2 ? red_axes(A, 2, xv, axes, err) : 0;
    if (na < 0)
        return na;
    if (na == 0)
        na = all_axes(xv, axes);
    if (p != 1.0 && p != 2.0)
        return at_fail(A, err, "norm with p=%g (1 or 2 only)", p);
    return reduce(A, p == 1.0 ? "ReduceL1" : "ReduceL2", A->a[0], axes, na,
                  A->n > 3 ? at_b(A, 3) : false, res, err);
}

/* ------------------------------------------------------------ table */

const at_op at_ops_math[] = {
    {"add", "Tensor self, Tensor other, *, Scalar alpha=1", op_add},
    {"add", "Tensor self, Scalar other, Scalar alpha=1", op_add},
    {"add", "Scalar self, Tensor other, Scalar alpha=1", op_add},
    {"add", "Num a, Num b", s_add},
    {"add", "Scalar a, Scalar b", s_add},
    {"add", "Any a, Any b", s_concat},
    {"sub", "Tensor self, Tensor other, *, Scalar alpha=1", op_sub},
    {"sub", "Tensor self, Scalar other, Scalar alpha=1", op_sub},
    {"sub", "Scalar self, Tensor other, Scalar alpha=1", op_sub},
    {"sub", "Scalar a, Scalar b", s_sub},
    {"rsub", "Tensor self, Tensor other, *, Scalar alpha=1", op_rsub},
    {"rsub", "Tensor self, Scalar other, Scalar alpha=1", op_rsub},
    {"mul", "Tensor self, Tensor other", op_mul},
    {"mul", "Tensor self, Scalar other", op_mul},
    {"mul", "Scalar self, Tensor other", op_mul},
    {"mul", "Scalar a, Scalar b", s_mul},
    {"div", "Tensor self, Tensor other, *, str? rounding_mode=None", op_div},
    {"div", "Tensor self, Scalar other, *, str? rounding_mode=None", op_div},
    {"div", "Scalar self, Tensor other, *, str? rounding_mode=None", op_div},
    {"div", "Scalar a, Scalar b", s_div},
    {"true_divide", "Tensor self, Tensor other", op_div},
    {"true_divide", "Tensor self, Scalar other", op_div},
    {"floor_divide", "Tensor self, Tensor other", op_floor_divide},
    {"floor_divide", "Tensor self, Scalar other", op_floor_divide},
    {"floordiv", "Scalar a, Scalar b", s_floordiv},
    {"remainder", "Tensor self, Tensor other", op_remainder},
    {"remainder", "Tensor self, Scalar other", op_remainder},
    {"remainder", "Scalar a, Scalar b", s_mod},
    {"fmod", "Tensor self, Tensor other", op_fmod},
    {"fmod", "Tensor self, Scalar other", op_fmod},
    {"pow", "Tensor self, Tensor exponent", op_pow},
    {"pow", "Tensor self, Scalar exponent", op_pow},
    {"pow", "Scalar self, Tensor exponent", op_pow},
    {"pow", "Scalar a, Scalar b", s_pow},
    {"maximum", "Tensor self, Tensor other", op_maximum},
    {"minimum", "Tensor self, Tensor other", op_minimum},
    {"atan2", "Tensor self, Tensor other", op_atan2},
    {"eq", "Tensor self, Tensor other", op_eq},
    {"eq", "Tensor self, Scalar other", op_eq},
    {"eq", "Any a, Any b", op_eq},
    {"ne", "Tensor self, Tensor other", op_ne},
    {"ne", "Tensor self, Scalar other", op_ne},
    {"ne", "Any a, Any b", op_ne},
    {"lt", "Tensor self, Tensor other", op_lt},
    {"lt", "Tensor self, Scalar other", op_lt},
    {"lt", "Scalar a, Scalar b", op_lt},
    {"le", "Tensor self, Tensor other", op_le},
    {"le", "Tensor self, Scalar other", op_le},
    {"le", "Scalar a, Scalar b", op_le},
    {"gt", "Tensor self, Tensor other", op_gt},
    {"gt", "Tensor self, Scalar other", op_gt},
    {"gt", "Scalar a, Scalar b", op_gt},
    {"ge", "Tensor self, Tensor other", op_ge},
    {"ge", "Tensor self, Scalar other", op_ge},
    {"ge", "Scalar a, Scalar b", op_ge},
    {"__and__", "Tensor self, Tensor other", op_and},
    {"__and__", "Tensor self, Scalar other", op_and},
    {"__and__", "Scalar a, Scalar b", op_and},
    {"__or__", "Tensor self, Tensor other", op_or},
    {"__or__", "Tensor self, Scalar other", op_or},
    {"__or__", "Scalar a, Scalar b", op_or},
    {"__xor__", "Tensor self, Tensor other", op_xor},
    {"__xor__", "Tensor self, Scalar other", op_xor},
    {"__xor__", "Scalar a, Scalar b", op_xor},
    {"bitwise_and", "Tensor self, Tensor other", op_and},
    {"bitwise_and", "Tensor self, Scalar other", op_and},
    {"bitwise_or", "Tensor self, Tensor other", op_or},
    {"bitwise_or", "Tensor self, Scalar other", op_or},
    {"bitwise_xor", "Tensor self, Tensor other", op_xor},
    {"bitwise_not", "Tensor self", op_bitwise_not},
    {"logical_and", "Tensor self, Tensor other", op_logical_and},
    {"logical_or", "Tensor self, Tensor other", op_logical_or},
    {"logical_xor", "Tensor self, Tensor other", op_logical_xor},
    {"logical_not", "Tensor self", op_logical_not},
    {"__not__", "Scalar self", s_not},
    {"exp", "Tensor self", op_exp},
    {"log", "Tensor self", op_log},
    {"log2", "Tensor self", op_log2},
    {"log10", "Tensor self", op_log10},
    {"log1p", "Tensor self", op_log1p},
    {"expm1", "Tensor self", op_expm1},
    {"sqrt", "Tensor self", op_sqrt},
    {"rsqrt", "Tensor self", op_rsqrt},
    {"sigmoid", "Tensor self", op_sigmoid},
    {"tanh", "Tensor self", op_tanh},
    {"sin", "Tensor self", op_sin},
    {"cos", "Tensor self", op_cos},
    {"tan", "Tensor self", op_tan},
    {"atan", "Tensor self", op_atan},
    {"asin", "Tensor self", op_asin},
    {"acos", "Tensor self", op_acos},
    {"sinh", "Tensor self", op_sinh},
    {"cosh", "Tensor self", op_cosh},
    {"erf", "Tensor self", op_erf},
    {"reciprocal", "Tensor self", op_reciprocal},
    {"softsign", "Tensor self", op_softsign},
    {"neg", "Tensor self", op_neg},
    {"negative", "Tensor self", op_neg},
    {"abs", "Tensor self", op_abs},
    {"sign", "Tensor self", op_sign},
    {"floor", "Tensor self", op_floor},
    {"floor", "Scalar a", op_floor},
    {"ceil", "Tensor self", op_ceil},
    {"ceil", "Scalar a", op_ceil},
    {"round", "Tensor self", op_round},
    {"trunc", "Tensor self", op_trunc},
    {"square", "Tensor self", op_square},
    {"relu", "Tensor self", op_relu},
    {"relu6", "Tensor self", op_relu6},
    {"hardtanh", "Tensor self, Scalar min_val=-1, Scalar max_val=1", op_hardtanh},
    {"clamp", "Tensor self, Scalar? min=None, Scalar? max=None", op_clamp},
    {"clamp", "Tensor self, Tensor? min=None, Tensor? max=None", op_clamp},
    {"clip", "Tensor self, Scalar? min=None, Scalar? max=None", op_clamp},
    {"clip", "Tensor self, Tensor? min=None, Tensor? max=None", op_clamp},
    {"clamp_min", "Tensor self, Scalar min", op_clamp_min},
    {"clamp_min", "Tensor self, Tensor min", op_clamp_min},
    {"clamp_max", "Tensor self, Scalar max", op_clamp_max},
    {"clamp_max", "Tensor self, Tensor max", op_clamp_max},
    {"leaky_relu", "Tensor self, Scalar negative_slope=0.01", op_leaky_relu},
    {"elu", "Tensor self, Scalar alpha=1, Scalar scale=1, Scalar input_scale=1", op_elu},
    {"selu", "Tensor self", op_selu},
    {"celu", "Tensor self, Scalar alpha=1.0", op_celu},
    {"gelu", "Tensor self, *, str approximate='none'", op_gelu},
    {"silu", "Tensor self", op_silu},
    {"mish", "Tensor self", op_mish},
    {"hardswish", "Tensor self", op_hardswish},
    {"hardsigmoid", "Tensor self", op_hardsigmoid},
    {"softplus", "Tensor self, Scalar beta=1, Scalar threshold=20", op_softplus},
    {"threshold", "Tensor self, Scalar threshold, Scalar value", op_threshold},
    {"prelu", "Tensor self, Tensor weight", op_prelu},
    {"softmax", "Tensor self, int dim, ScalarType? dtype=None", op_softmax},
    {"_softmax", "Tensor self, int dim, bool half_to_float", op_softmax},
    {"log_softmax", "Tensor self, int dim, ScalarType? dtype=None", op_log_softmax},
    {"_log_softmax", "Tensor self, int dim, bool half_to_float", op_log_softmax},
    {"sum", "Tensor self, *, ScalarType? dtype=None", op_sum},
    {"sum", "Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None",
     op_sum_dim},
    {"mean", "Tensor self, *, ScalarType? dtype=None", op_mean},
    {"mean", "Tensor self, int[1]? dim, bool keepdim=False, *, ScalarType? dtype=None",
     op_mean_dim},
    {"prod", "Tensor self, *, ScalarType? dtype=None", op_prod},
    {"prod", "Tensor self, int dim, bool keepdim=False, *, ScalarType? dtype=None", op_prod_dim},
    {"amax", "Tensor self, int[1] dim=[], bool keepdim=False", op_amax},
    {"amin", "Tensor self, int[1] dim=[], bool keepdim=False", op_amax},
    {"max", "Tensor self", op_max_all},
    {"max", "Tensor self, int dim, bool keepdim=False", op_max_dim},
    {"max", "Tensor self, Tensor other", op_max_other},
    {"max", "Scalar a, Scalar b", s_max},
    {"min", "Tensor self", op_max_all},
    {"min", "Tensor self, int dim, bool keepdim=False", op_max_dim},
    {"min", "Tensor self, Tensor other", op_max_other},
    {"min", "Scalar a, Scalar b", s_max},
    {"argmax", "Tensor self, int? dim=None, bool keepdim=False", op_argmax},
    {"argmin", "Tensor self, int? dim=None, bool keepdim=False", op_argmax},
    {"var", "Tensor self, bool unbiased=True", op_var},
    {"var", "Tensor self, int[1]? dim, bool unbiased=True, bool keepdim=False", op_var_dim},
    {"std", "Tensor self, bool unbiased=True", op_var},
    {"std", "Tensor self, int[1]? dim, bool unbiased=True, bool keepdim=False", op_var_dim},
    {"logsumexp", "Tensor self, int[1] dim, bool keepdim=False", op_logsumexp},
    {"all", "Tensor self", op_all},
    {"all", "Tensor self, int dim, bool keepdim=False", op_all_dim},
    {"any", "Tensor self", op_any},
    {"any", "Tensor self, int dim, bool keepdim=False", op_any_dim},
    {"cumsum", "Tensor self, int dim, *, ScalarType? dtype=None", op_cumsum},
    {"norm", "Tensor self, Scalar? p=2", op_norm},
    {"norm", "Tensor self, Scalar? p, int[1] dim, bool keepdim=False", op_norm},
    {NULL, NULL, NULL},
};
