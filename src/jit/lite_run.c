/*
 * src/jit/lite_run.c - the lite (mobile) bytecode interpreter: a stack of
 * values plus per-call registers 1..register_size, as
 * torch/csrc/jit/mobile/interpreter.cpp runs them.  Operators go to the op
 * library (jit_aten_call) with "aten::" and the overload name stripped;
 * the prim ops and the list/scalar built-ins the bytecode uses are here.
 * Indices were checked when the bytecode was read (lite_read.c); the stack
 * depth, value kinds and step count are checked as it runs.  Errors name
 * the function and the instruction index ("__torch__.M.forward:12: ...").
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/lite_internal.h"

#define LITE_MAX_STACK (1u << 20)

typedef struct vstack {
    jv **v;
    size_t n, cap;
} vstack;

typedef struct frame {
    jit_rt *rt;
    const lite_fn *f;
    vstack *st;
    jv **regs; /* 1..reg_size (index 0 unused) */
    size_t pc;
    ckpt_error *err;
} frame;

static int fail(frame *F, int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

static int fail(frame *F, int code, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return jit_fail(F->rt, F->err, code, "%s", msg);
}

static int push(frame *F, jv *v)
{
    vstack *s = F->st;
    if (!v)
        return fail(F, CKPT_E_NOMEM, "out of memory");
    if (s->n == s->cap) {
        if (s->cap >= LITE_MAX_STACK) {
            jv_unref(v);
            return fail(F, CKPT_E_LIMIT, "value stack deeper than %u", LITE_MAX_STACK);
        }
        size_t cap = s->cap ? s->cap * 2 : 64;
        jv **p = realloc(s->v, cap * sizeof *p);
        if (!p) {
            jv_unref(v);
            return fail(F, CKPT_E_NOMEM, "out of memory");
        }
        s->v = p;
        s->cap = cap;
    }
    s->v[s->n++] = v;
    return 0;
}

/* Pop one value (a reference the caller owns), NULL on underflow (error set). */
static jv *pop(frame *F)
{
    if (F->st->n == 0) {
        fail(F, CKPT_E_FORMAT, "%s pops an empty stack", lite_opcode_name(F->f->ins[F->pc].op));
        return NULL;
    }
    return F->st->v[--F->st->n];
}

static int need(frame *F, size_t n)
{
    if (F->st->n < n)
        return fail(F, CKPT_E_FORMAT, "%s needs %zu values, the stack holds %zu",
                    lite_opcode_name(F->f->ins[F->pc].op), n, F->st->n);
    return 0;
}

static void drop_n(frame *F, size_t n)
{
    for (size_t i = 0; i < n && F->st->n; i++)
        jv_unref(F->st->v[--F->st->n]);
}

static bool truthy(const jv *v, bool *ok)
{
    *ok = true;
    switch (v->kind) {
    case JV_BOOL: return v->u.b;
    case JV_INT: return v->u.i != 0;
    case JV_FLOAT: return v->u.f != 0.0;
    case JV_NONE: return false;
    case JV_TENSOR:
        if (v->u.t->t.numel == 1 && v->u.t->t.data) {
            const ox_val *t = &v->u.t->t;
            if (t->dtype == OX_BOOL || t->dtype == OX_UINT8 || t->dtype == OX_INT8)
                return *(const uint8_t *)t->data != 0;
            if (t->dtype == OX_INT64)
                return *(const int64_t *)t->data != 0;
            if (t->dtype == OX_INT32)
                return *(const int32_t *)t->data != 0;
            if (t->dtype == OX_FLOAT)
                return *(const float *)t->data != 0.0f;
            if (t->dtype == OX_DOUBLE)
                return *(const double *)t->data != 0.0;
        }
        break;
    default: break;
    }
    *ok = false;
    return false;
}

static jv *seq_from(frame *F, bool tuple, jv **items, size_t n)
{
    jv *s = tuple ? jv_tuple_new(n) : jv_list_new(n);
    if (!s) {
        for (size_t i = 0; i < n; i++)
            jv_unref(items[i]);
        fail(F, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < n; i++)
        if (jv_list_push(s, items[i], F->err) < 0) {
            for (size_t k = i + 1; k < n; k++)
                jv_unref(items[k]);
            jv_unref(s);
            return NULL;
        }
    return s;
}

/* Pop n values into a new sequence, bottom first. */
static jv *pop_seq(frame *F, size_t n, bool tuple)
{
    if (need(F, n) < 0)
        return NULL;
    jv **base = F->st->v + F->st->n - n;
    jv *s = seq_from(F, tuple, base, n);
    F->st->n -= n; /* the references moved into s (or were released) */
    return s;
}

/* ------------------------------------------------------------ scalar built-ins */

static bool is_num(const jv *v)
{
    return v->kind == JV_INT || v->kind == JV_FLOAT || v->kind == JV_BOOL;
}

static double num(const jv *v)
{
    return v->kind == JV_FLOAT ? v->u.f : v->kind == JV_INT ? (double)v->u.i : (double)v->u.b;
}

static int64_t inum(const jv *v)
{
    return v->kind == JV_INT ? v->u.i : v->kind == JV_BOOL ? (int64_t)v->u.b : (int64_t)v->u.f;
}

static int str_append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t c = (*len + n + 1) * 2;
        if (c > (64u << 20))
            return -1;
        char *p = realloc(*buf, c);
        if (!p)
            return -1;
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = 0;
    return 0;
}

static void value_str(const jv *v, char *out, size_t cap)
{
    switch (v->kind) {
    case JV_STR: snprintf(out, cap, "%s", v->u.str.s); break;
    case JV_INT: snprintf(out, cap, "%" PRId64, v->u.i); break;
    case JV_FLOAT: snprintf(out, cap, "%.17g", v->u.f); break;
    case JV_BOOL: snprintf(out, cap, "%s", v->u.b ? "True" : "False"); break;
    case JV_NONE: snprintf(out, cap, "None"); break;
    default: jv_describe(v, out, cap);
    }
}

/* aten::format / FORMAT: "{}" replaced by the arguments in order. */
static jv *do_format(frame *F, jv *const *a, size_t n)
{
    if (n < 1 || a[0]->kind != JV_STR) {
        fail(F, CKPT_E_FORMAT, "format: the first input is not a string");
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, k = 1;
    const char *s = a[0]->u.str.s;
    bool ok = str_append(&buf, &len, &cap, "", 0) == 0;
    for (size_t i = 0; ok && s[i]; i++) {
        if (s[i] == '{' && s[i + 1] == '}') {
            char tmp[256] = "";
            if (k < n)
                value_str(a[k++], tmp, sizeof tmp);
            ok = str_append(&buf, &len, &cap, tmp, strlen(tmp)) == 0;
            i++;
        } else {
            ok = str_append(&buf, &len, &cap, s + i, 1) == 0;
        }
    }
    jv *r = ok ? jv_str(buf, len) : NULL;
    free(buf);
    if (!r)
        fail(F, CKPT_E_NOMEM, "out of memory");
    return r;
}

static jv *num_result(bool flt, double d, int64_t i)
{
    return flt ? jv_float(d) : jv_int(i);
}

static int64_t floordiv_i(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

/*
 * The built-ins on ints, floats, bools, strings and lists that the bytecode
 * calls as operators.  Returns 1 when handled (*out set), 0 when the call is
 * for the op library, < 0 on error.
 */
static int builtin(frame *F, const char *name, jv *const *a, size_t n, jv **out)
{
    bool any_tensor = false;
    for (size_t i = 0; i < n; i++)
        if (a[i]->kind == JV_TENSOR)
            any_tensor = true;
    *out = NULL;
    if (strcmp(name, "prim::RaiseException") == 0 || strcmp(name, "prim::RaiseException") == 0) {
        char msg[256] = "";
        if (n >= 1)
            value_str(a[0], msg, sizeof msg);
        return fail(F, CKPT_E_ARG, "the model raised an exception: %s", msg);
    }
    if (strcmp(name, "prim::Uninitialized") == 0) {
        *out = jv_none();
        return 1;
    }
    if (strcmp(name, "prim::unchecked_cast") == 0 ||
        strcmp(name, "prim::unchecked_unwrap_optional") == 0) {
        if (n < 1)
            return fail(F, CKPT_E_FORMAT, "%s without an argument", name);
        *out = jv_ref(a[0]);
        return 1;
    }
    if (strcmp(name, "format") == 0) {
        *out = do_format(F, a, n);
        return *out ? 1 : F->err->code;
    }
    if (strcmp(name, "warn") == 0 || strcmp(name, "prim::warn") == 0) {
        *out = jv_none();
        return 1;
    }
    if ((strcmp(name, "__is__") == 0 || strcmp(name, "__isnot__") == 0) && n == 2) {
        bool same = a[0] == a[1] || (a[0]->kind == JV_NONE && a[1]->kind == JV_NONE);
        *out = jv_bool(name[2] == 'i' && name[4] == 'n' ? !same : same);
        return 1;
    }
    if (strcmp(name, "__not__") == 0 && n == 1) {
        bool ok;
        bool b = truthy(a[0], &ok);
        if (!ok)
            return fail(F, CKPT_E_ARG, "not: a %s", jv_kind_name(a[0]->kind));
        *out = jv_bool(!b);
        return 1;
    }
    if (strcmp(name, "prim::device") == 0 && n == 1) {
        *out = jv_device("cpu", -1);
        return 1;
    }
    if (strcmp(name, "prim::is_cuda") == 0 && n == 1) {
        *out = jv_bool(false);
        return 1;
    }
    if (strcmp(name, "prim::dtype") == 0 && n == 1 && a[0]->kind == JV_TENSOR) {
        *out = jv_int(jit_st_from_ox(a[0]->u.t->t.dtype));
        return 1;
    }
    if (strcmp(name, "dim") == 0 && n == 1 && a[0]->kind == JV_TENSOR) {
        *out = jv_int(a[0]->u.t->t.rank);
        return 1;
    }
    if (strcmp(name, "len") == 0 && n == 1) {
        const jv *s = a[0];
        if (s->kind == JV_LIST || s->kind == JV_TUPLE)
            *out = jv_int((int64_t)s->u.seq.n);
        else if (s->kind == JV_DICT)
            *out = jv_int((int64_t)s->u.dict.n);
        else if (s->kind == JV_STR)
            *out = jv_int((int64_t)s->u.str.len);
        else if (s->kind == JV_TENSOR && s->u.t->t.rank > 0)
            *out = jv_int(s->u.t->t.dims[0]);
        else
            return fail(F, CKPT_E_ARG, "len() of a %s", jv_kind_name(s->kind));
        return 1;
    }
    if ((strcmp(name, "__getitem__") == 0 || strcmp(name, "prim::TupleIndex") == 0) && n == 2 &&
        (a[0]->kind == JV_LIST || a[0]->kind == JV_TUPLE || a[0]->kind == JV_DICT)) {
        if (a[0]->kind == JV_DICT) {
            jv *v = jv_dict_get(a[0], a[1]);
            if (!v)
                return fail(F, CKPT_E_ARG, "dict has no such key");
            *out = jv_ref(v);
            return 1;
        }
        if (a[1]->kind != JV_INT && a[1]->kind != JV_BOOL)
            return fail(F, CKPT_E_ARG, "index of a %s", jv_kind_name(a[1]->kind));
        int64_t i = inum(a[1]), len = (int64_t)a[0]->u.seq.n;
        if (i < 0)
            i += len;
        if (i < 0 || i >= len)
            return fail(F, CKPT_E_ARG, "list index %" PRId64 " out of range (%" PRId64 ")",
                        inum(a[1]), len);
        *out = jv_ref(a[0]->u.seq.items[i]);
        return 1;
    }
    if (strcmp(name, "append") == 0 && n == 2 && a[0]->kind == JV_LIST) {
        if (jv_list_push(a[0], jv_ref(a[1]), F->err) < 0)
            return F->err->code;
        *out = jv_ref(a[0]);
        return 1;
    }
    if (strcmp(name, "list") == 0 && n == 1 &&
        (a[0]->kind == JV_LIST || a[0]->kind == JV_TUPLE)) {
        jv *l = jv_list_new(a[0]->u.seq.n);
        for (size_t i = 0; l && i < a[0]->u.seq.n; i++)
            if (jv_list_push(l, jv_ref(a[0]->u.seq.items[i]), F->err) < 0) {
                jv_unref(l);
                return F->err->code;
            }
        *out = l;
        return l ? 1 : fail(F, CKPT_E_NOMEM, "out of memory");
    }
    if (n == 1 && a[0]->kind == JV_TENSOR && a[0]->u.t->t.numel == 1 &&
        (strcmp(name, "Bool") == 0 || strcmp(name, "Int") == 0 || strcmp(name, "Float") == 0)) {
        /* a one-element tensor's value as a Python scalar (baked when tracing) */
        const ox_val *t = &a[0]->u.t->t;
        double d = 0;
        if (!t->data)
            return fail(F, CKPT_E_ARG, "%s of a tensor without data", name);
        switch (t->dtype) {
        case OX_FLOAT: d = *(const float *)t->data; break;
        case OX_DOUBLE: d = *(const double *)t->data; break;
        case OX_INT64: d = (double)*(const int64_t *)t->data; break;
        case OX_INT32: d = *(const int32_t *)t->data; break;
        case OX_BOOL:
        case OX_UINT8: d = *(const uint8_t *)t->data; break;
        default: return 0;
        }
        if (name[0] == 'B')
            *out = jv_bool(d != 0.0);
        else if (name[0] == 'I')
            *out = jv_int(t->dtype == OX_INT64 ? *(const int64_t *)t->data : (int64_t)d);
        else
            *out = jv_float(d);
        return *out ? 1 : fail(F, CKPT_E_NOMEM, "out of memory");
    }
    if (any_tensor)
        return 0;
    /* numbers */
    if (n == 1 && is_num(a[0])) {
        if (strcmp(name, "Int") == 0 || strcmp(name, "int") == 0) {
            *out = jv_int(inum(a[0]));
            return 1;
        }
        if (strcmp(name, "Float") == 0 || strcmp(name, "float") == 0) {
            *out = jv_float(num(a[0]));
            return 1;
        }
        if (strcmp(name, "Bool") == 0) {
            *out = jv_bool(num(a[0]) != 0.0);
            return 1;
        }
        if (strcmp(name, "neg") == 0) {
            *out = num_result(a[0]->kind == JV_FLOAT, -num(a[0]), -inum(a[0]));
            return 1;
        }
    }
    if (n == 3 && a[0]->kind == JV_INT && a[1]->kind == JV_INT && a[2]->kind == JV_INT) {
        int64_t lo = a[0]->u.i, hi = a[1]->u.i, st = a[2]->u.i;
        if (strcmp(name, "__range_length") == 0) {
            if (st == 0)
                return fail(F, CKPT_E_ARG, "range() step is zero");
            int64_t len = 0;
            if (st > 0 && lo < hi)
                len = (int64_t)(((uint64_t)hi - (uint64_t)lo - 1) / (uint64_t)st + 1);
            else if (st < 0 && lo > hi)
                len = (int64_t)(((uint64_t)lo - (uint64_t)hi - 1) / (0 - (uint64_t)st) + 1);
            *out = jv_int(len);
            return *out ? 1 : fail(F, CKPT_E_NOMEM, "out of memory");
        }
        if (strcmp(name, "__derive_index") == 0) {
            *out = jv_int((int64_t)((uint64_t)a[1]->u.i + (uint64_t)lo * (uint64_t)st));
            return *out ? 1 : fail(F, CKPT_E_NOMEM, "out of memory");
        }
    }
    if (n == 2 && is_num(a[0]) && is_num(a[1])) {
        bool flt = a[0]->kind == JV_FLOAT || a[1]->kind == JV_FLOAT;
        double x = num(a[0]), y = num(a[1]);
        int64_t i = inum(a[0]), j = inum(a[1]);
        if (strcmp(name, "add") == 0)
            *out = num_result(flt, x + y, (int64_t)((uint64_t)i + (uint64_t)j));
        else if (strcmp(name, "sub") == 0)
            *out = num_result(flt, x - y, (int64_t)((uint64_t)i - (uint64_t)j));
        else if (strcmp(name, "mul") == 0)
            *out = num_result(flt, x * y, (int64_t)((uint64_t)i * (uint64_t)j));
        else if (strcmp(name, "div") == 0)
            *out = jv_float(x / y);
        else if (strcmp(name, "floordiv") == 0) {
            if (!flt && j == 0)
                return fail(F, CKPT_E_ARG, "integer division by zero");
            if (!flt && i == INT64_MIN && j == -1)
                return fail(F, CKPT_E_ARG, "integer division overflows");
            *out = num_result(flt, floor(x / y), flt ? 0 : floordiv_i(i, j));
        } else if (strcmp(name, "remainder") == 0 || strcmp(name, "mod") == 0) {
            if (!flt && j == 0)
                return fail(F, CKPT_E_ARG, "integer modulo by zero");
            if (!flt && i == INT64_MIN && j == -1)
                *out = jv_int(0);
            else
                *out = num_result(flt, x - floor(x / y) * y, flt ? 0 : i - floordiv_i(i, j) * j);
        } else if (strcmp(name, "gt") == 0)
            *out = jv_bool(flt ? x > y : i > j);
        else if (strcmp(name, "lt") == 0)
            *out = jv_bool(flt ? x < y : i < j);
        else if (strcmp(name, "ge") == 0)
            *out = jv_bool(flt ? x >= y : i >= j);
        else if (strcmp(name, "le") == 0)
            *out = jv_bool(flt ? x <= y : i <= j);
        else if (strcmp(name, "eq") == 0)
            *out = jv_bool(flt ? x == y : i == j);
        else if (strcmp(name, "ne") == 0)
            *out = jv_bool(flt ? x != y : i != j);
        else if (strcmp(name, "prim::min") == 0 || strcmp(name, "min") == 0)
            *out = num_result(flt, x < y ? x : y, i < j ? i : j);
        else if (strcmp(name, "prim::max") == 0 || strcmp(name, "max") == 0)
            *out = num_result(flt, x > y ? x : y, i > j ? i : j);
        else
            return 0;
        return *out ? 1 : fail(F, CKPT_E_NOMEM, "out of memory");
    }
    if (n == 2 && (strcmp(name, "eq") == 0 || strcmp(name, "ne") == 0) && a[0]->kind == JV_STR &&
        a[1]->kind == JV_STR) {
        bool eq = jv_equal(a[0], a[1]);
        *out = jv_bool(name[0] == 'e' ? eq : !eq);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ operators */

/* The state tuple of an xnnpack op context constant (optimize_for_mobile):
 * Conv2dOpContext (weight, bias, stride, padding, dilation, groups, min, max),
 * LinearOpContext (weight, bias, min, max). */
static const jv *ctx_state(const jv *ctx, size_t want)
{
    const jv *st = ctx->kind == JV_OBJECT ? jv_obj_get(ctx, "__state__") : NULL;
    if (!st || st->kind != JV_TUPLE || st->u.seq.n != want)
        return NULL;
    return st;
}

/*
 * prepacked::conv2d_clamp_run / linear_clamp_run when the op library has no
 * prepacked ops: conv2d / linear on the context's tensors, then clamp to the
 * fused output range.  Returns 1 when handled, 0 when not applicable.
 */
static int prepacked(frame *F, const char *name, jv *const *a, size_t n, jv **out)
{
    bool conv = strcmp(name, "prepacked::conv2d_clamp_run") == 0;
    bool lin = strcmp(name, "prepacked::linear_clamp_run") == 0;
    if ((!conv && !lin) || jit_aten_has(name) || n != 2)
        return 0;
    const jv *st = ctx_state(a[1], conv ? 8 : 4);
    if (!st)
        return fail(F, CKPT_E_FORMAT, "%s: the op context is not a %s state tuple", name,
                    conv ? "Conv2dOpContext" : "LinearOpContext");
    jv *const *it = st->u.seq.items;
    jv *args[7] = {a[0]};
    size_t na = conv ? 7 : 3;
    for (size_t i = 1; i < na; i++)
        args[i] = it[i - 1];
    jv *y = NULL;
    int rc = jit_aten_call(F->rt, conv ? "conv2d" : "linear", args, na, NULL, NULL, 0, &y,
                           F->err);
    if (rc < 0)
        return rc;
    const jv *lo = it[conv ? 6 : 2], *hi = it[conv ? 7 : 3];
    if (lo->kind != JV_NONE || hi->kind != JV_NONE) {
        jv *cargs[3] = {y, (jv *)(uintptr_t)lo, (jv *)(uintptr_t)hi};
        jv *z = NULL;
        rc = jit_aten_call(F->rt, "clamp", cargs, 3, NULL, NULL, 0, &z, F->err);
        jv_unref(y);
        if (rc < 0)
            return rc;
        y = z;
    }
    *out = y;
    return 1;
}

/* Split the popped arguments by the schema: keyword-only ones by name. */
static int call_op(frame *F, const lite_opref *op, size_t n_in)
{
    if (need(F, n_in) < 0)
        return F->err->code;
    jv **a = F->st->v + F->st->n - n_in;
    jv *res = NULL;
    int rc = builtin(F, op->name, a, n_in, &res);
    if (rc == 0)
        rc = prepacked(F, op->name, a, n_in, &res);
    if (rc == 0) {
        if (strncmp(op->name, "prim::", 6) == 0 && strcmp(op->name, "prim::NumToTensor") != 0) {
            rc = fail(F, CKPT_E_UNSUPPORTED,
                      "operator %s is not supported by ckpt's lite interpreter", op->full);
        } else {
            const char *nm = strcmp(op->name, "prim::NumToTensor") == 0 ? "scalar_tensor"
                                                                        : op->name;
            const char *kwn[32];
            jv *kwv[32];
            char names[32][48];
            size_t npos = n_in, nkw = 0;
            if (op->argspec) {
                /* positions of keyword-only arguments */
                const char *p = op->argspec;
                size_t k = 0;
                while (*p && k < n_in) {
                    const char *e = strchr(p, ',');
                    size_t l = e ? (size_t)(e - p) : strlen(p);
                    if (*p == '*' && nkw < 32) {
                        if (npos == n_in)
                            npos = k;
                        size_t cl = l - 1 < 47 ? l - 1 : 47;
                        memcpy(names[nkw], p + 1, cl);
                        names[nkw][cl] = 0;
                        kwn[nkw] = names[nkw];
                        kwv[nkw] = a[k];
                        nkw++;
                    }
                    k++;
                    p = e ? e + 1 : p + l;
                }
                if (npos + nkw !=
                    n_in) { /* positional after keyword-only: pass all positionally */
                    npos = n_in;
                    nkw = 0;
                }
            }
            rc = jit_aten_call(F->rt, nm, a, npos, nkw ? kwn : NULL, nkw ? kwv : NULL, nkw, &res,
                               F->err);
            if (rc == 0 && !res)
                rc = fail(F, CKPT_E_FORMAT, "operator %s returned nothing", op->full);
        }
    }
    drop_n(F, n_in);
    if (rc < 0) {
        jv_unref(res);
        return rc;
    }
    if (op->n_ret == 0) {
        jv_unref(res);
        return 0;
    }
    if (op->n_ret > 1) {
        if (res->kind != JV_TUPLE || res->u.seq.n != (size_t)op->n_ret) {
            jv_unref(res);
            return fail(F, CKPT_E_FORMAT, "operator %s: expected %d results", op->full,
                        op->n_ret);
        }
        for (size_t i = 0; i < res->u.seq.n; i++)
            if (push(F, jv_ref(res->u.seq.items[i])) < 0) {
                jv_unref(res);
                return F->err->code;
            }
        jv_unref(res);
        return 0;
    }
    return push(F, res);
}

static int run_fn(jit_rt *rt, const lite_fn *f, vstack *st, ckpt_error *err);

static const char *class_of(const jv *o)
{
    return o->kind == JV_OBJECT && o->u.obj.cls ? o->u.obj.cls->qualname : NULL;
}

/* Call method `name` of the object `n_in` values below the top (self and its arguments). */
static int call_method(frame *F, const char *name, size_t n_in)
{
    if (need(F, n_in) < 0 || n_in == 0)
        return n_in == 0 ? fail(F, CKPT_E_FORMAT, "a method call without self") : F->err->code;
    const jv *self = F->st->v[F->st->n - n_in];
    const char *cls = class_of(self);
    if (!cls)
        return fail(F, CKPT_E_ARG, "method %s called on a %s", name, jv_kind_name(self->kind));
    char qn[600];
    snprintf(qn, sizeof qn, "%s.%s", cls, name);
    const lite_fn *g = lite_find_fn(F->rt->m->lite, qn);
    if (!g)
        return fail(F, CKPT_E_UNSUPPORTED, "no bytecode for method %s", qn);
    vstack sub = {0};
    sub.v = malloc(n_in * sizeof *sub.v + 1);
    if (!sub.v)
        return fail(F, CKPT_E_NOMEM, "out of memory");
    sub.cap = n_in;
    memcpy(sub.v, F->st->v + F->st->n - n_in, n_in * sizeof *sub.v);
    sub.n = n_in;
    F->st->n -= n_in;
    const char *file = F->rt->file;
    int64_t line = F->rt->line;
    int rc = run_fn(F->rt, g, &sub, F->err);
    F->rt->file = file;
    F->rt->line = line;
    jv *res = NULL;
    if (rc == 0) {
        if (sub.n != 1)
            rc = fail(F, CKPT_E_FORMAT, "method %s left %zu values", qn, sub.n);
        else
            res = sub.v[--sub.n];
    }
    for (size_t i = 0; i < sub.n; i++)
        jv_unref(sub.v[i]);
    free(sub.v);
    return rc < 0 ? rc : push(F, res);
}

static bool isinstance_of(const jv *v, const char *t)
{
    if (strncmp(t, "Optional[", 9) == 0 && v->kind == JV_NONE)
        return true;
    switch (v->kind) {
    case JV_TENSOR: return strcmp(t, "Tensor") == 0;
    case JV_INT: return strcmp(t, "int") == 0;
    case JV_FLOAT: return strcmp(t, "float") == 0;
    case JV_BOOL: return strcmp(t, "bool") == 0;
    case JV_STR: return strcmp(t, "str") == 0;
    case JV_NONE: return strcmp(t, "NoneType") == 0;
    case JV_LIST: return strncmp(t, "List[", 5) == 0;
    case JV_TUPLE: return strncmp(t, "Tuple[", 6) == 0;
    case JV_DICT: return strncmp(t, "Dict[", 5) == 0;
    case JV_OBJECT: return class_of(v) && strcmp(class_of(v), t) == 0;
    default: return false;
    }
}

static jv *tensor_scalar(frame *F, const jv *v)
{
    jv *t = jv_tensor_new();
    int64_t dims[1] = {0};
    int dt = v->kind == JV_FLOAT ? OX_FLOAT : v->kind == JV_BOOL ? OX_BOOL : OX_INT64;
    if (v->kind == JV_FLOAT)
        dt = OX_DOUBLE; /* torch: a Python float becomes a double 0-dim tensor */
    if (!t || ox_val_reshape_alloc(&t->u.t->t, dt, 0, dims, F->err) < 0) {
        jv_unref(t);
        if (!F->err->code)
            fail(F, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    if (dt == OX_DOUBLE)
        *(double *)t->u.t->t.data = num(v);
    else if (dt == OX_BOOL)
        *(uint8_t *)t->u.t->t.data = v->u.b;
    else
        *(int64_t *)t->u.t->t.data = inum(v);
    return t;
}

static int step(frame *F, const lite_ins *in)
{
    const lite_fn *f = F->f;
    jv *v, *w;
    switch (in->op) {
    case LITE_OP:
    case LITE_OPN: {
        const lite_opref *op = &f->ops[in->x];
        if (in->op == LITE_OPN)
            CKPT_TRY(push(F, jv_int(in->n)));
        int64_t n = op->n_args;
        if (in->op == LITE_OPN)
            n = in->n + 1; /* vararg: N values + the count */
        if (n < 0) {
            if (!op->argspec)
                return fail(
                    F, CKPT_E_UNSUPPORTED,
                    "operator %s: bytecode v%d does not say how many arguments it takes and ckpt has no schema for it",
                    op->full, (int)((lite_prog *)F->rt->m->lite)->version);
            n = op->argspec[0] ? 1 : 0;
            for (const char *p = op->argspec; *p; p++)
                n += *p == ',';
        }
        if (in->op == LITE_OPN) {
            /* vararg operators take their inputs + the count: only the built-ins */
            jv *cnt = pop(F);
            jv_unref(cnt);
            n = in->n;
        }
        F->pc++;
        size_t save = F->pc;
        F->pc--;
        int rc = call_op(F, op, (size_t)n);
        F->pc = save;
        return rc;
    }
    case LITE_LOAD: F->pc++; return push(F, jv_ref(F->regs[in->x] ? F->regs[in->x] : jv_none()));
    case LITE_MOVE:
        v = F->regs[in->x] ? F->regs[in->x] : jv_none();
        F->regs[in->x] = NULL;
        F->pc++;
        return push(F, v);
    case LITE_STORE:
        if (!(v = pop(F)))
            return F->err->code;
        jv_unref(F->regs[in->x]);
        F->regs[in->x] = v;
        F->pc++;
        return 0;
    case LITE_STOREN:
        CKPT_TRY(need(F, (size_t)in->n));
        for (int32_t i = in->n; i > 0; i--) {
            v = pop(F);
            jv_unref(F->regs[in->x + i - 1]);
            F->regs[in->x + i - 1] = v;
        }
        F->pc++;
        return 0;
    case LITE_DROP:
        if (!(v = pop(F)))
            return F->err->code;
        jv_unref(v);
        F->pc++;
        return 0;
    case LITE_DROPR:
        jv_unref(F->regs[in->x]);
        F->regs[in->x] = NULL;
        F->pc++;
        return 0;
    case LITE_LOADC: F->pc++; return push(F, jv_ref(f->consts[in->x]));
    case LITE_JF: {
        if (!(v = pop(F)))
            return F->err->code;
        bool ok;
        bool b = truthy(v, &ok);
        jv_unref(v);
        if (!ok)
            return fail(F, CKPT_E_ARG, "JF on a value that is not a bool");
        F->pc = b ? F->pc + 1 : (size_t)((int64_t)F->pc + in->x);
        return 0;
    }
    case LITE_JMP: F->pc = (size_t)((int64_t)F->pc + in->x); return 0;
    case LITE_LOOP: {
        CKPT_TRY(need(F, (size_t)in->n + 1));
        jv **fr = F->st->v + F->st->n - (size_t)in->n - 1;
        if (fr[0]->kind != JV_INT || fr[1]->kind != JV_INT)
            return fail(F, CKPT_E_ARG, "LOOP: the trip counts are not ints");
        bool ok;
        bool cond = truthy(fr[2], &ok);
        if (!ok)
            return fail(F, CKPT_E_ARG, "LOOP: the condition is not a bool");
        int64_t trip = fr[0]->u.i, max = fr[1]->u.i;
        if (trip < max && cond) {
            jv *a = jv_int(trip), *b = jv_int(trip + 1);
            if (!a || !b) {
                jv_unref(a);
                jv_unref(b);
                return fail(F, CKPT_E_NOMEM, "out of memory");
            }
            jv_unref(fr[2]);
            fr[2] = a;
            jv_unref(fr[0]);
            fr[0] = b;
            F->pc++;
        } else {
            size_t carried = (size_t)in->n - 2;
            for (int k = 0; k < 3; k++)
                jv_unref(fr[k]);
            memmove(fr, fr + 3, carried * sizeof *fr);
            F->st->n -= 3;
            F->pc = (size_t)((int64_t)F->pc + in->x);
        }
        return 0;
    }
    case LITE_GET_ATTR:
        if (!(v = pop(F)))
            return F->err->code;
        if (v->kind != JV_OBJECT || (size_t)in->x >= v->u.obj.n || in->x < 0) {
            char d[96];
            jv_describe(v, d, sizeof d);
            jv_unref(v);
            return fail(F, CKPT_E_FORMAT, "GET_ATTR %d of %s", (int)in->x, d);
        }
        w = jv_ref(v->u.obj.vals[in->x]);
        jv_unref(v);
        F->pc++;
        return push(F, w);
    case LITE_SET_ATTR: {
        if (!(w = pop(F)))
            return F->err->code;
        if (!(v = pop(F))) {
            jv_unref(w);
            return F->err->code;
        }
        int rc = 0;
        if (v->kind != JV_OBJECT || in->x < 0 || (size_t)in->x > v->u.obj.n) {
            rc = fail(F, CKPT_E_FORMAT, "SET_ATTR %d of a %s", (int)in->x, jv_kind_name(v->kind));
            jv_unref(w);
        } else if ((size_t)in->x == v->u.obj.n) {
            char nm[24];
            snprintf(nm, sizeof nm, "%d", (int)in->x);
            rc = jv_obj_set(v, nm, JIT_A_ATTR, w, F->err);
        } else {
            jv_unref(v->u.obj.vals[in->x]);
            v->u.obj.vals[in->x] = w;
        }
        jv_unref(v);
        F->pc++;
        return rc;
    }
    case LITE_LIST_CONSTRUCT:
    case LITE_TUPLE_CONSTRUCT:
    case LITE_NAMED_TUPLE_CONSTRUCT: {
        size_t n = (size_t)(in->op == LITE_TUPLE_CONSTRUCT ? in->x : in->n);
        if (in->op == LITE_TUPLE_CONSTRUCT && in->x < 0)
            return fail(F, CKPT_E_FORMAT, "TUPLE_CONSTRUCT of %d", (int)in->x);
        v = pop_seq(F, n, in->op != LITE_LIST_CONSTRUCT);
        F->pc++;
        return v ? push(F, v) : F->err->code;
    }
    case LITE_LIST_UNPACK: {
        if (!(v = pop(F)))
            return F->err->code;
        if ((v->kind != JV_LIST && v->kind != JV_TUPLE) || in->x < 0 ||
            v->u.seq.n != (size_t)in->x) {
            size_t have = v->kind == JV_LIST || v->kind == JV_TUPLE ? v->u.seq.n : 0;
            jv_unref(v);
            return fail(F, CKPT_E_ARG, "LIST_UNPACK of %d items: the value has %zu", (int)in->x,
                        have);
        }
        int rc = 0;
        for (size_t i = 0; rc == 0 && i < v->u.seq.n; i++)
            rc = push(F, jv_ref(v->u.seq.items[i]));
        jv_unref(v);
        F->pc++;
        return rc;
    }
    case LITE_TUPLE_SLICE: {
        if (!(v = pop(F)))
            return F->err->code;
        if (v->kind != JV_TUPLE || in->x < 0 || in->n < 0 ||
            (size_t)in->x + (size_t)in->n > v->u.seq.n) {
            jv_unref(v);
            return fail(F, CKPT_E_ARG, "TUPLE_SLICE [%d, %d) out of range", (int)in->x,
                        (int)(in->x + in->n));
        }
        w = jv_tuple_new((size_t)in->n);
        for (int32_t i = 0; w && i < in->n; i++)
            if (jv_list_push(w, jv_ref(v->u.seq.items[in->x + i]), F->err) < 0) {
                jv_unref(w);
                jv_unref(v);
                return F->err->code;
            }
        jv_unref(v);
        F->pc++;
        return push(F, w);
    }
    case LITE_DICT_CONSTRUCT: {
        if (in->n % 2)
            return fail(F, CKPT_E_FORMAT, "DICT_CONSTRUCT of %d values", (int)in->n);
        CKPT_TRY(need(F, (size_t)in->n));
        jv *d = jv_dict_new();
        if (!d)
            return fail(F, CKPT_E_NOMEM, "out of memory");
        jv **b = F->st->v + F->st->n - (size_t)in->n;
        int rc = 0;
        for (int32_t i = 0; i < in->n; i += 2) {
            if (rc == 0)
                rc = jv_dict_set(d, b[i], b[i + 1], F->err);
            else {
                jv_unref(b[i]);
                jv_unref(b[i + 1]);
            }
        }
        F->st->n -= (size_t)in->n;
        F->pc++;
        if (rc < 0) {
            jv_unref(d);
            return rc;
        }
        return push(F, d);
    }
    case LITE_DICT_INDEX:
    case LITE_TUPLE_INDEX: {
        CKPT_TRY(need(F, 2));
        jv **b = F->st->v + F->st->n - 2;
        jv *res = NULL;
        int rc = builtin(F, "__getitem__", b, 2, &res);
        if (rc == 0)
            rc = fail(F, CKPT_E_ARG, "%s on a %s", lite_opcode_name(in->op),
                      jv_kind_name(b[0]->kind));
        drop_n(F, 2);
        F->pc++;
        return rc < 0 ? rc : push(F, res);
    }
    case LITE_CREATE_OBJECT: {
        jit_class *c = jit_class_get(F->rt->m, f->types[in->x], F->err);
        if (!c)
            return F->err->code;
        F->pc++;
        return push(F, jv_obj_new(c));
    }
    case LITE_ISINSTANCE: {
        if (!(v = pop(F)))
            return F->err->code;
        bool r = false;
        for (int32_t i = 0; i < in->n; i++)
            r = r || isinstance_of(v, f->types[in->x + i]);
        jv_unref(v);
        F->pc++;
        return push(F, jv_bool(r));
    }
    case LITE_RAISE_EXCEPTION: {
        jv *cls = pop(F);
        jv *msg = cls ? pop(F) : NULL;
        char m[256] = "", c[128] = "";
        if (msg)
            value_str(msg, m, sizeof m);
        if (cls && cls->kind == JV_STR)
            snprintf(c, sizeof c, "%s: ", cls->u.str.s);
        jv_unref(cls);
        jv_unref(msg);
        return fail(F, CKPT_E_ARG, "the model raised an exception: %s%s", c, m);
    }
    case LITE_WARN:
        /* the message (and stacklevel) are dropped: nothing is printed by the library */
        CKPT_TRY(need(F, 2));
        drop_n(F, 2);
        F->pc++;
        return 0;
    case LITE_UNCHECKED_CAST: F->pc++; return 0;
    case LITE_IS:
    case LITE_ISNOT:
    case LITE_NOT:
    case LITE_DEVICE:
    case LITE_DTYPE:
    case LITE_DIM:
    case LITE_IS_CUDA:
    case LITE_FORMAT: {
        static const lite_opref
            is = {.name = "__is__", .full = "aten::__is__", .n_ret = 1},
            isnot = {.name = "__isnot__", .full = "aten::__isnot__", .n_ret = 1},
            not_ = {.name = "__not__", .full = "aten::__not__", .n_ret = 1},
            dev = {.name = "prim::device", .full = "prim::device", .n_ret = 1},
            dt = {.name = "prim::dtype", .full = "prim::dtype", .n_ret = 1},
            dim = {.name = "dim", .full = "aten::dim", .n_ret = 1},
            cuda = {.name = "prim::is_cuda", .full = "prim::is_cuda", .n_ret = 1},
            fmt = {.name = "format", .full = "aten::format", .n_ret = 1};
        const lite_opref *op = in->op == LITE_IS        ? &is
                               : in->op == LITE_ISNOT   ? &isnot
                               : in->op == LITE_NOT     ? &not_
                               : in->op == LITE_DEVICE  ? &dev
                               : in->op == LITE_DTYPE   ? &dt
                               : in->op == LITE_DIM     ? &dim
                               : in->op == LITE_IS_CUDA ? &cuda
                                                        : &fmt;
        size_t n = in->op == LITE_IS || in->op == LITE_ISNOT ? 2
                   : in->op == LITE_FORMAT                   ? (size_t)in->x
                                                             : 1;
        int rc = call_op(F, op, n);
        F->pc++;
        return rc;
    }
    case LITE_UN_INITIALIZED: F->pc++; return push(F, jv_none());
    case LITE_NUM_TO_TENSOR: {
        if (!(v = pop(F)))
            return F->err->code;
        if (!is_num(v)) {
            jv_unref(v);
            return fail(F, CKPT_E_ARG, "NUM_TO_TENSOR of a %s", jv_kind_name(v->kind));
        }
        w = tensor_scalar(F, v);
        jv_unref(v);
        F->pc++;
        return w ? push(F, w) : F->err->code;
    }
    case LITE_INTERFACE_CALL: {
        const jv *nm = f->consts[in->x];
        if (nm->kind != JV_STR)
            return fail(F, CKPT_E_FORMAT, "INTERFACE_CALL: constant %d is not a method name",
                        (int)in->x);
        int rc = call_method(F, nm->u.str.s, (size_t)in->n);
        F->pc++;
        return rc;
    }
    case LITE_ENTER:
    case LITE_EXIT:
    case LITE_CALL:
    case LITE_TO_LIST:
    default:
        return fail(F, CKPT_E_UNSUPPORTED,
                    "instruction %s is not supported by ckpt's lite interpreter",
                    lite_opcode_name(in->op));
    }
}

/* Run `f` on the stack `st` (its inputs on entry, its result on return). */
static int run_fn(jit_rt *rt, const lite_fn *f, vstack *st, ckpt_error *err)
{
    if (rt->depth >= JIT_MAX_DEPTH)
        return jit_fail(rt, err, CKPT_E_LIMIT, "calls nested deeper than %d", JIT_MAX_DEPTH);
    frame F = {.rt = rt, .f = f, .st = st, .err = err};
    F.regs = calloc((size_t)f->reg_size + 1, sizeof *F.regs);
    if (!F.regs)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    rt->depth++;
    int rc = 0;
    rt->file = f->qualname;
    while (rc == 0) {
        if (F.pc >= f->n_ins) {
            rc = fail(&F, CKPT_E_FORMAT, "ran past the last instruction");
            break;
        }
        if (++rt->steps > JIT_MAX_STEPS) {
            rc = fail(&F, CKPT_E_LIMIT, "more than %llu instructions executed",
                      (unsigned long long)JIT_MAX_STEPS);
            break;
        }
        rt->file = f->qualname;
        rt->line = (int64_t)F.pc;
        const lite_ins *in = &f->ins[F.pc];
        if (in->op == LITE_RET)
            break;
        rc = step(&F, in);
    }
    for (int64_t i = 0; i <= f->reg_size; i++)
        jv_unref(F.regs[i]);
    free(F.regs);
    rt->depth--;
    return rc;
}

int jit_lite_call_method(jit_rt *rt, jv *self, const char *method, jv *const *args, size_t n_args,
                         jv **result, ckpt_error *err)
{
    *result = NULL;
    const lite_prog *P = rt->m->lite;
    const char *cls = self ? class_of(self) : NULL;
    if (!P || !cls)
        return jit_fail(rt, err, CKPT_E_ARG, "the model has no lite bytecode or no root module");
    char qn[600];
    snprintf(qn, sizeof qn, "%s.%s", cls, method);
    const lite_fn *f = lite_find_fn(P, qn);
    if (!f)
        return jit_fail(rt, err, CKPT_E_NOT_FOUND, "bytecode.pkl has no function %s", qn);
    vstack st = {0};
    frame F0 = {.rt = rt, .f = f, .st = &st, .err = err};
    int rc = push(&F0, jv_ref(self));
    for (size_t i = 0; rc == 0 && i < n_args; i++)
        rc = push(&F0, jv_ref(args[i]));
    /* defaults of the arguments not given (schema, bytecode v5+) */
    for (size_t i = n_args + 1; rc == 0 && f->has_schema && i < f->n_args; i++) {
        if (!f->arg_defaults[i]) {
            rc = jit_fail(rt, err, CKPT_E_ARG, "%s: argument '%s' is missing", qn,
                          f->arg_names[i]);
            break;
        }
        rc = push(&F0, jv_ref(f->arg_defaults[i]));
    }
    if (rc == 0 && f->has_schema && n_args + 1 > f->n_args)
        rc = jit_fail(rt, err, CKPT_E_ARG, "%s takes %zu arguments, %zu given", qn,
                      f->n_args ? f->n_args - 1 : 0, n_args);
    if (rc == 0)
        rc = run_fn(rt, f, &st, err);
    if (rc == 0) {
        if (st.n != 1)
            rc = jit_fail(rt, err, CKPT_E_FORMAT, "%s returned with %zu values on the stack", qn,
                          st.n);
        else
            *result = st.v[--st.n];
    }
    for (size_t i = 0; i < st.n; i++)
        jv_unref(st.v[i]);
    free(st.v);
    return rc;
}
