/*
 * src/jit/aten_misc.c - scalar, list and dict ops the bytecode interpreter
 * calls by name (len, __getitem__, append, Int, Float, item, __is__ ...),
 * and per-tensor quantisation (quantize_per_tensor, dequantize) over
 * QuantizeLinear / DequantizeLinear.
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

static int ret_int(at_args *A, int64_t v, jv **res, ckpt_error *err)
{
    *res = jv_int(v);
    return *res ? 0 : oom(A, err);
}

static int op_len(at_args *A, jv **res, ckpt_error *err)
{
    const jv *v = A->a[0];
    switch (v->kind) {
    case JV_LIST:
    case JV_TUPLE: return ret_int(A, (int64_t)v->u.seq.n, res, err);
    case JV_STR: return ret_int(A, (int64_t)v->u.str.len, res, err);
    case JV_DICT: return ret_int(A, (int64_t)v->u.dict.n, res, err);
    case JV_TENSOR:
        if (v->u.t->t.rank == 0)
            return at_fail(A, err, "len() of a 0-d tensor");
        return ret_int(A, v->u.t->t.dims[0], res, err);
    default: return at_fail(A, err, "len() of %s", jv_kind_name(v->kind));
    }
}

static int op_getitem(at_args *A, jv **res, ckpt_error *err)
{
    jv *c = A->a[0], *k = A->a[1];
    if (c->kind == JV_DICT) {
        jv *v = jv_dict_get(c, k);
        if (!v)
            return at_fail(A, err, "key not found in dict");
        *res = jv_ref(v);
        return 0;
    }
    if (k->kind != JV_INT && k->kind != JV_BOOL)
        return at_fail(A, err, "index must be an int");
    int64_t i = k->kind == JV_INT ? k->u.i : k->u.b;
    if (c->kind == JV_STR) {
        int64_t n = (int64_t)c->u.str.len;
        if (i < 0)
            i += n;
        if (i < 0 || i >= n)
            return at_fail(A, err, "string index out of range");
        *res = jv_str(c->u.str.s + i, 1);
        return *res ? 0 : oom(A, err);
    }
    if (c->kind != JV_LIST && c->kind != JV_TUPLE)
        return at_fail(A, err, "%s is not subscriptable", jv_kind_name(c->kind));
    int64_t n = (int64_t)c->u.seq.n;
    if (i < 0)
        i += n;
    if (i < 0 || i >= n)
        return at_fail(A, err, "list index out of range");
    *res = jv_ref(c->u.seq.items[i]);
    return 0;
}

static int op_append(at_args *A, jv **res, ckpt_error *err)
{
    jv *l = A->a[0];
    if (l->kind != JV_LIST)
        return at_fail(A, err, "append to %s", jv_kind_name(l->kind));
    if (jv_list_push(l, jv_ref(A->a[1]), err) < 0)
        return oom(A, err);
    *res = jv_ref(l);
    return 0;
}

static int op_set_item(at_args *A, jv **res, ckpt_error *err)
{
    jv *c = A->a[0];
    if (c->kind == JV_DICT) {
        if (jv_dict_set(c, jv_ref(A->a[1]), jv_ref(A->a[2]), err) < 0)
            return oom(A, err);
        *res = jv_none();
        return 0;
    }
    if (c->kind != JV_LIST || A->a[1]->kind != JV_INT)
        return at_fail(A, err, "item assignment on %s", jv_kind_name(c->kind));
    int64_t i = A->a[1]->u.i, n = (int64_t)c->u.seq.n;
    if (i < 0)
        i += n;
    if (i < 0 || i >= n)
        return at_fail(A, err, "list assignment index out of range");
    jv_unref(c->u.seq.items[i]);
    c->u.seq.items[i] = jv_ref(A->a[2]);
    *res = jv_none();
    return 0;
}

static int op_contains(at_args *A, jv **res, ckpt_error *err)
{
    jv *c = A->a[0], *k = A->a[1];
    (void)err;
    bool found = false;
    if (c->kind == JV_DICT)
        found = jv_dict_get(c, k) != NULL;
    else if (c->kind == JV_LIST || c->kind == JV_TUPLE)
        for (size_t i = 0; i < c->u.seq.n && !found; i++)
            found = jv_equal(c->u.seq.items[i], k);
    else if (c->kind == JV_STR && k->kind == JV_STR)
        found = strstr(c->u.str.s, k->u.str.s) != NULL;
    *res = jv_bool(found);
    return 0;
}

static int op_list(at_args *A, jv **res, ckpt_error *err)
{
    jv *l = A->a[0];
    if (l->kind != JV_LIST && l->kind != JV_TUPLE)
        return at_fail(A, err, "list() of %s", jv_kind_name(l->kind));
    jv *o = jv_list_new(l->u.seq.n);
    if (!o)
        return oom(A, err);
    for (size_t i = 0; i < l->u.seq.n; i++)
        if (jv_list_push(o, jv_ref(l->u.seq.items[i]), err) < 0) {
            jv_unref(o);
            return oom(A, err);
        }
    *res = o;
    return 0;
}

static int op_is(at_args *A, jv **res, ckpt_error *err)
{
    (void)err;
    jv *a = A->a[0], *b = A->a[1];
    bool same = a == b || (a->kind == JV_NONE && b->kind == JV_NONE) ||
                (a->kind == JV_BOOL && b->kind == JV_BOOL && a->u.b == b->u.b);
    *res = jv_bool(A->op[2] == 'i' && A->op[4] == 'n' ? !same : same);
    return 0;
}

static int tensor_scalar(at_args *A, const jv *t, double *x, bool *is_int, ckpt_error *err)
{
    const ox_val *v = &t->u.t->t;
    if (v->numel != 1)
        return at_fail(A, err, "a Tensor with %" PRId64 " elements cannot be converted to Scalar",
                       v->numel);
    *x = ox_get_f64(v, 0);
    *is_int = at_is_integral(v->dtype, true);
    return 0;
}

static int op_item(at_args *A, jv **res, ckpt_error *err)
{
    double x = 0;
    bool ii = false;
    CKPT_TRY(tensor_scalar(A, A->a[0], &x, &ii, err));
    const ox_val *v = at_tv(A, 0);
    if (v->dtype == OX_BOOL)
        *res = jv_bool(x != 0);
    else if (v->dtype == OX_INT64)
        *res = jv_int(((const int64_t *)v->data)[0]);
    else if (ii)
        *res = jv_int((int64_t)x);
    else
        *res = jv_float(x);
    return *res ? 0 : oom(A, err);
}

static int op_Int(at_args *A, jv **res, ckpt_error *err)
{
    const jv *v = A->a[0];
    if (v->kind == JV_TENSOR) {
        double x = 0;
        bool ii = false;
        CKPT_TRY(tensor_scalar(A, v, &x, &ii, err));
        if (v->u.t->t.dtype == OX_INT64)
            return ret_int(A, ((const int64_t *)v->u.t->t.data)[0], res, err);
        return ret_int(A, (int64_t)x, res, err);
    }
    if (v->kind == JV_STR)
        return ret_int(A, strtoll(v->u.str.s, NULL, 10), res, err);
    if (v->kind == JV_FLOAT && !isfinite(v->u.f))
        return at_fail(A, err, "cannot convert float %g to integer", v->u.f);
    return ret_int(A, (int64_t)at_num(v), res, err);
}

static int op_Float(at_args *A, jv **res, ckpt_error *err)
{
    const jv *v = A->a[0];
    double x = 0;
    if (v->kind == JV_TENSOR) {
        bool ii = false;
        CKPT_TRY(tensor_scalar(A, v, &x, &ii, err));
    } else if (v->kind == JV_STR) {
        x = strtod(v->u.str.s, NULL);
    } else {
        x = at_num(v);
    }
    *res = jv_float(x);
    return *res ? 0 : oom(A, err);
}

static int op_Bool(at_args *A, jv **res, ckpt_error *err)
{
    const jv *v = A->a[0];
    double x = 0;
    if (v->kind == JV_TENSOR) {
        bool ii = false;
        CKPT_TRY(tensor_scalar(A, v, &x, &ii, err));
    } else {
        x = at_num(v);
    }
    *res = jv_bool(x != 0);
    return 0;
}

static int op_scalar_implicit(at_args *A, jv **res, ckpt_error *err)
{
    return op_item(A, res, err);
}

static int op_warn(at_args *A, jv **res, ckpt_error *err)
{
    (void)A;
    (void)err;
    *res = jv_none();
    return 0;
}

/* str.format: each "{}" takes the next argument */
static void fmt_val(const jv *v, char *buf, size_t cap)
{
    switch (v->kind) {
    case JV_STR: snprintf(buf, cap, "%s", v->u.str.s); break;
    case JV_INT: snprintf(buf, cap, "%" PRId64, v->u.i); break;
    case JV_FLOAT: snprintf(buf, cap, "%g", v->u.f); break;
    case JV_BOOL: snprintf(buf, cap, "%s", v->u.b ? "True" : "False"); break;
    case JV_NONE: snprintf(buf, cap, "None"); break;
    default: jv_describe(v, buf, cap); break;
    }
}

static int op_format(at_args *A, jv **res, ckpt_error *err)
{
    const jv *f = A->a[0], *rest = A->a[1];
    if (f->kind != JV_STR)
        return at_fail(A, err, "format string must be a str");
    size_t cap = f->u.str.len + 256, n = 0, ai = 0;
    char *out = malloc(cap);
    if (!out)
        return oom(A, err);
    for (size_t i = 0; i < f->u.str.len; i++) {
        char piece[256];
        const char *add = NULL;
        size_t al = 0;
        if (f->u.str.s[i] == '{' && i + 1 < f->u.str.len && f->u.str.s[i + 1] == '}') {
            if (rest->kind == JV_TUPLE && ai < rest->u.seq.n)
                fmt_val(rest->u.seq.items[ai++], piece, sizeof piece);
            else
                snprintf(piece, sizeof piece, "{}");
            add = piece;
            al = strlen(piece);
            i++;
        } else {
            add = f->u.str.s + i;
            al = 1;
        }
        if (n + al + 1 > cap) {
            cap = (n + al + 1) * 2;
            char *p = realloc(out, cap);
            if (!p) {
                free(out);
                return oom(A, err);
            }
            out = p;
        }
        memcpy(out + n, add, al);
        n += al;
    }
    *res = jv_str(out, n);
    free(out);
    return *res ? 0 : oom(A, err);
}

static int op_str(at_args *A, jv **res, ckpt_error *err)
{
    char buf[128];
    fmt_val(A->a[0], buf, sizeof buf);
    *res = jv_str0(buf);
    return *res ? 0 : oom(A, err);
}

static int op_device(at_args *A, jv **res, ckpt_error *err)
{
    const char *s = at_s(A, 0);
    *res = jv_device(s && !strncmp(s, "cuda", 4) ? "cuda" : "cpu", -1);
    return *res ? 0 : oom(A, err);
}

static int op_keys(at_args *A, jv **res, ckpt_error *err)
{
    jv *d = A->a[0];
    if (d->kind != JV_DICT)
        return at_fail(A, err, "keys() of %s", jv_kind_name(d->kind));
    bool vals = A->op[0] == 'v';
    jv *l = jv_list_new(d->u.dict.n);
    if (!l)
        return oom(A, err);
    for (size_t i = 0; i < d->u.dict.n; i++)
        if (jv_list_push(l, jv_ref(vals ? d->u.dict.vals[i] : d->u.dict.keys[i]), err) < 0) {
            jv_unref(l);
            return oom(A, err);
        }
    *res = l;
    return 0;
}

static int op_math_unary(at_args *A, jv **res, ckpt_error *err)
{
    double x = at_num(A->a[0]);
    const char *o = A->op;
    double r = !strcmp(o, "sqrt")  ? sqrt(x)
               : !strcmp(o, "exp") ? exp(x)
               : !strcmp(o, "log") ? log(x)
                                   : x;
    *res = jv_float(r);
    return *res ? 0 : oom(A, err);
}

static int op_neg_scalar(at_args *A, jv **res, ckpt_error *err)
{
    const jv *v = A->a[0];
    *res = v->kind == JV_FLOAT ? jv_float(-v->u.f) : jv_int(-(int64_t)at_num(v));
    return *res ? 0 : oom(A, err);
}

/* ------------------------------------------------------------ quantisation */

/* quantize_per_tensor(self, scale, zero_point, dtype) */
static int op_quantize(at_args *A, jv **res, ckpt_error *err)
{
    int64_t st = at_i(A, 3);
    if (st != JIT_ST_QUINT8 && st != JIT_ST_QINT8 && st != JIT_ST_QINT32)
        return at_fail(A, err, "dtype must be quint8, qint8 or qint32");
    int dt = jit_st_to_ox(st);
    double scale = at_f(A, 1);
    int64_t zp = at_i(A, 2);
    if (!(scale > 0) || !isfinite(scale))
        return at_fail(A, err, "scale must be positive");
    jv *s = NULL, *z = NULL;
    int rc = at_const(A, OX_FLOAT, 0, NULL, scale, &s, err);
    if (rc == 0)
        rc = at_const(A, dt, 0, NULL, (double)zp, &z, err);
    if (rc == 0) {
        jv *in[3] = {A->a[0], s, z};
        rc = at_run(A, "QuantizeLinear", 0, NULL, 0, in, 3, NULL, res, err);
    }
    jv_unref(s);
    jv_unref(z);
    if (rc == 0) {
        (*res)->u.t->is_quantized = true;
        (*res)->u.t->q_scale = (double)(float)scale;
        (*res)->u.t->q_zero_point = zp;
    }
    return rc;
}

static int op_dequantize(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0];
    if (!x->u.t->is_quantized) {
        if (x->u.t->t.dtype == OX_FLOAT) {
            *res = jv_ref(x);
            return 0;
        }
        return at_fail(A, err, "dequantize of a tensor that is not quantized");
    }
    if (!(x->u.t->q_scale > 0) || !isfinite(x->u.t->q_scale))
        return at_fail(A, err,
                       "quantized tensor without a per-tensor scale (per-channel "
                       "quantization is not supported)");
    jv *s = NULL, *z = NULL;
    int rc = at_const(A, OX_FLOAT, 0, NULL, x->u.t->q_scale, &s, err);
    if (rc == 0)
        rc = at_const(A, x->u.t->t.dtype, 0, NULL, (double)x->u.t->q_zero_point, &z, err);
    if (rc == 0) {
        jv *in[3] = {x, s, z};
        rc = at_run(A, "DequantizeLinear", 0, NULL, 0, in, 3, NULL, res, err);
    }
    jv_unref(s);
    jv_unref(z);
    return rc;
}

static int op_q_scale(at_args *A, jv **res, ckpt_error *err)
{
    if (!A->a[0]->u.t->is_quantized)
        return at_fail(A, err, "not a quantized tensor");
    *res = jv_float(A->a[0]->u.t->q_scale);
    return *res ? 0 : oom(A, err);
}

static int op_q_zero_point(at_args *A, jv **res, ckpt_error *err)
{
    if (!A->a[0]->u.t->is_quantized)
        return at_fail(A, err, "not a quantized tensor");
    return ret_int(A, A->a[0]->u.t->q_zero_point, res, err);
}

static int op_int_repr(at_args *A, jv **res, ckpt_error *err)
{
    jv *x = A->a[0];
    CKPT_TRY(at_unary(A, "Identity", x, res, err));
    return 0;
}

/* prim:: helpers an executor may route here */
static int op_prim_dtype(at_args *A, jv **res, ckpt_error *err)
{
    int64_t st = jit_st_from_ox(at_tv(A, 0)->dtype);
    if (A->a[0]->u.t->is_quantized)
        st = at_tv(A, 0)->dtype == OX_INT8    ? JIT_ST_QINT8
             : at_tv(A, 0)->dtype == OX_INT32 ? JIT_ST_QINT32
                                              : JIT_ST_QUINT8;
    if (st < 0)
        return at_fail(A, err, "dtype %s has no torch ScalarType",
                       ox_dtype_name(at_tv(A, 0)->dtype));
    return ret_int(A, st, res, err);
}

static int op_prim_device(at_args *A, jv **res, ckpt_error *err)
{
    (void)A;
    *res = jv_device("cpu", -1);
    return *res ? 0 : oom(A, err);
}

static int op_prim_false(at_args *A, jv **res, ckpt_error *err)
{
    (void)A;
    (void)err;
    *res = jv_bool(false);
    return 0;
}

static int op_prim_is_quantized(at_args *A, jv **res, ckpt_error *err)
{
    (void)err;
    *res = jv_bool(A->a[0]->u.t->is_quantized);
    return 0;
}

static int op_prim_id(at_args *A, jv **res, ckpt_error *err)
{
    (void)err;
    *res = jv_ref(A->a[0]);
    return 0;
}

/* prim::min / prim::max of a list of numbers */
static int op_prim_minmax_list(at_args *A, jv **res, ckpt_error *err)
{
    jv *l = A->a[0];
    bool is_max = strstr(A->op, "max") != NULL;
    if ((l->kind != JV_LIST && l->kind != JV_TUPLE) || l->u.seq.n == 0)
        return at_fail(A, err, "expects a non-empty list");
    jv *best = l->u.seq.items[0];
    for (size_t i = 1; i < l->u.seq.n; i++) {
        double x = at_num(l->u.seq.items[i]), b = at_num(best);
        if (is_max ? x > b : x < b)
            best = l->u.seq.items[i];
    }
    *res = jv_ref(best);
    return 0;
}

static int op_prim_minmax2(at_args *A, jv **res, ckpt_error *err)
{
    (void)err;
    bool is_max = strstr(A->op, "max") != NULL;
    double x = at_num(A->a[0]), y = at_num(A->a[1]);
    *res = jv_ref((is_max ? y > x : y < x) ? A->a[1] : A->a[0]);
    return 0;
}

static int op_grad_enabled(at_args *A, jv **res, ckpt_error *err)
{
    (void)err;
    *res = jv_bool(A->rt && A->rt->grad_enabled);
    return 0;
}

static int op_const_true(at_args *A, jv **res, ckpt_error *err)
{
    (void)A;
    (void)err;
    *res = jv_bool(true);
    return 0;
}

static int op_none(at_args *A, jv **res, ckpt_error *err)
{
    (void)A;
    (void)err;
    *res = jv_none();
    return 0;
}

/* equal(self, other): same shape and elements */
static int op_equal(at_args *A, jv **res, ckpt_error *err)
{
    const ox_val *a = at_tv(A, 0), *b = at_tv(A, 1);
    bool same = a->rank == b->rank;
    for (int i = 0; same && i < a->rank; i++)
        same = a->dims[i] == b->dims[i];
    if (!same || a->numel == 0) {
        *res = jv_bool(same);
        return 0;
    }
    jv *args[2] = {A->a[0], A->a[1]}, *e = NULL, *all = NULL;
    int rc = jit_aten_call(A->rt, "eq", args, 2, NULL, NULL, 0, &e, err);
    if (rc == 0)
        rc = jit_aten_call(A->rt, "all", &e, 1, NULL, NULL, 0, &all, err);
    if (rc == 0)
        *res = jv_bool(ox_get_f64(&all->u.t->t, 0) != 0);
    jv_unref(e);
    jv_unref(all);
    return rc;
}

/* list * int (mul.left_t), extend, pop, insert */
static int op_list_repeat(at_args *A, jv **res, ckpt_error *err)
{
    jv *l = A->a[0];
    int64_t n = at_i(A, 1);
    if (l->kind != JV_LIST)
        return at_fail(A, err, "expects a list");
    if (n < 0)
        n = 0;
    if (n > 0 && l->u.seq.n > (size_t)(1 << 24) / (size_t)n)
        return at_fail(A, err, "list too long");
    jv *o = jv_list_new(l->u.seq.n * (size_t)n);
    if (!o)
        return oom(A, err);
    for (int64_t k = 0; k < n; k++)
        for (size_t i = 0; i < l->u.seq.n; i++)
            if (jv_list_push(o, jv_ref(l->u.seq.items[i]), err) < 0) {
                jv_unref(o);
                return oom(A, err);
            }
    *res = o;
    return 0;
}

static int op_extend(at_args *A, jv **res, ckpt_error *err)
{
    jv *l = A->a[0], *m = A->a[1];
    if (l->kind != JV_LIST || (m->kind != JV_LIST && m->kind != JV_TUPLE))
        return at_fail(A, err, "expects two lists");
    size_t n = m->u.seq.n;
    for (size_t i = 0; i < n; i++)
        if (jv_list_push(l, jv_ref(m->u.seq.items[i]), err) < 0)
            return oom(A, err);
    *res = jv_none();
    return 0;
}

static int op_pop(at_args *A, jv **res, ckpt_error *err)
{
    jv *l = A->a[0];
    if (l->kind != JV_LIST)
        return at_fail(A, err, "expects a list");
    int64_t n = (int64_t)l->u.seq.n, i = at_i(A, 1);
    if (i < 0)
        i += n;
    if (i < 0 || i >= n)
        return at_fail(A, err, "pop index out of range");
    *res = l->u.seq.items[i];
    memmove(l->u.seq.items + i, l->u.seq.items + i + 1, (size_t)(n - i - 1) * sizeof(jv *));
    l->u.seq.n--;
    return 0;
}

static int op_round_num(at_args *A, jv **res, ckpt_error *err)
{
    *res = jv_float(nearbyint(at_num(A->a[0])));
    return *res ? 0 : oom(A, err);
}

static int op_abs_num(at_args *A, jv **res, ckpt_error *err)
{
    const jv *v = A->a[0];
    *res = v->kind == JV_FLOAT ? jv_float(fabs(v->u.f)) : jv_int(v->u.i < 0 ? -v->u.i : v->u.i);
    return *res ? 0 : oom(A, err);
}

const at_op at_ops_misc[] = {
    {"is_grad_enabled", "", op_grad_enabled},
    {"is_scripting", "", op_const_true},
    {"is_autocast_enabled", "", op_prim_false},
    {"is_autocast_cpu_enabled", "", op_prim_false},
    {"_assert_async", "Tensor self", op_none},
    {"_unwrap_optional", "Any optional", op_prim_id},
    {"equal", "Tensor self, Tensor other", op_equal},
    {"mul", "Any l, int n", op_list_repeat},
    {"extend", "Any self, Any other", op_extend},
    {"pop", "Any self, int idx=-1", op_pop},
    {"round", "Num a", op_round_num},
    {"abs", "Num a", op_abs_num},
    {"prim::dtype", "Tensor a", op_prim_dtype},
    {"prim::device", "Tensor a", op_prim_device},
    {"prim::is_cuda", "Tensor a", op_prim_false},
    {"prim::is_quantized", "Tensor a", op_prim_is_quantized},
    {"prim::requires_grad", "Tensor a", op_prim_false},
    {"prim::unchecked_unwrap_optional", "Any optional", op_prim_id},
    {"prim::unchecked_cast", "Any x", op_prim_id},
    {"prim::data", "Tensor a", op_prim_id},
    {"prim::min", "Any self", op_prim_minmax_list},
    {"prim::max", "Any self", op_prim_minmax_list},
    {"prim::min", "Scalar a, Scalar b", op_prim_minmax2},
    {"prim::max", "Scalar a, Scalar b", op_prim_minmax2},
    {"len", "Any a", op_len},
    {"__getitem__", "Any list, Any idx", op_getitem},
    {"append", "Any self, Any el", op_append},
    {"_set_item", "Any l, Any idx, Any el", op_set_item},
    {"__contains__", "Any self, Any key", op_contains},
    {"list", "Any l", op_list},
    {"__is__", "Any self, Any obj", op_is},
    {"__isnot__", "Any self, Any obj", op_is},
    {"item", "Tensor self", op_item},
    {"Int", "Any a", op_Int},
    {"Float", "Any a", op_Float},
    {"Bool", "Any a", op_Bool},
    {"ScalarImplicit", "Tensor a", op_scalar_implicit},
    {"warn", "Any message, int stacklevel=2", op_warn},
    {"format", "str self, Any... args", op_format},
    {"str", "Any elem", op_str},
    {"device", "str a", op_device},
    {"keys", "Any self", op_keys},
    {"values", "Any self", op_keys},
    {"sqrt", "Num a", op_math_unary},
    {"exp", "Num a", op_math_unary},
    {"log", "Num a", op_math_unary},
    {"neg", "Num a", op_neg_scalar},
    {"quantize_per_tensor", "Tensor self, float scale, int zero_point, ScalarType dtype",
     op_quantize},
    {"dequantize", "Tensor self", op_dequantize},
    {"q_scale", "Tensor self", op_q_scale},
    {"q_zero_point", "Tensor self", op_q_zero_point},
    {"int_repr", "Tensor self", op_int_repr},
    {NULL, NULL, NULL},
};
