/*
 * src/jit/aten_dispatch.c - jit_aten_call: find an op's schema rows, bind the
 * call's positional and keyword arguments by the schema (names, defaults,
 * types; the first row whose types match wins: add.Tensor before
 * add.Scalar), and run the row's function.  In-place variants without a row
 * of their own ("add_", "relu_", "clamp_") run the out-of-place op and copy
 * its result into self.  Also the helpers the op files share (aten_internal.h).
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/aten_internal.h"

static const at_op *const at_tables[] = {at_ops_math, at_ops_nn,    at_ops_shape, at_ops_rnn,
                                         at_ops_attn, at_ops_quant, at_ops_extra, at_ops_misc};

/* ------------------------------------------------------------ errors */

int at_fail(at_args *A, ckpt_error *err, const char *fmt, ...)
{
    char msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return jit_fail(A->rt, err, CKPT_E_ARG, "aten::%s: %s", A->op, msg);
}

/* An error from a kernel: keep its text, add the op and the source line. */
static int at_wrap(at_args *A, ckpt_error *err, int rc)
{
    if (!err)
        return rc;
    char msg[sizeof err->msg];
    snprintf(msg, sizeof msg, "%s", err->msg);
    int code = err->code ? err->code : CKPT_E_ARG;
    ckpt_error_clear(err);
    return jit_fail(A->rt, err, code, "aten::%s: %s", A->op, msg);
}

/* ------------------------------------------------------------ schema parsing */

typedef struct at_param {
    const char *type, *name, *dflt;
    int type_len, name_len, dflt_len;
    bool kwonly;
} at_param;

static bool is_sp(char c)
{
    return c == ' ' || c == '\t';
}

/* Split "Tensor self, Scalar other, *, Scalar alpha=1" into params. */
static int parse_schema(const char *s, at_param *p, int max)
{
    int n = 0;
    bool kw = false;
    while (*s) {
        while (is_sp(*s) || *s == ',')
            s++;
        if (!*s)
            break;
        if (*s == '*') {
            kw = true;
            s++;
            continue;
        }
        if (n == max)
            return -1;
        at_param *q = &p[n];
        memset(q, 0, sizeof *q);
        q->kwonly = kw;
        q->type = s;
        while (*s && !is_sp(*s))
            s++;
        q->type_len = (int)(s - q->type);
        while (is_sp(*s))
            s++;
        q->name = s;
        while (*s && *s != '=' && *s != ',' && !is_sp(*s))
            s++;
        q->name_len = (int)(s - q->name);
        while (is_sp(*s))
            s++;
        if (*s == '=') {
            s++;
            q->dflt = s;
            int depth = 0;
            bool quote = false;
            while (*s && (quote || depth || *s != ',')) {
                if (*s == '\'')
                    quote = !quote;
                else if (!quote && *s == '[')
                    depth++;
                else if (!quote && *s == ']')
                    depth--;
                s++;
            }
            q->dflt_len = (int)(s - q->dflt);
            while (q->dflt_len && is_sp(q->dflt[q->dflt_len - 1]))
                q->dflt_len--;
        }
        n++;
    }
    return n;
}

/* A default literal: None, True, False, 1, -1.5, 'mean', [0, 0], [] */
static jv *parse_default(const char *s, int len)
{
    char buf[96];
    if (len <= 0 || len >= (int)sizeof buf)
        return jv_none();
    memcpy(buf, s, (size_t)len);
    buf[len] = 0;
    if (!strcmp(buf, "None"))
        return jv_none();
    if (!strcmp(buf, "True"))
        return jv_bool(true);
    if (!strcmp(buf, "False"))
        return jv_bool(false);
    if (buf[0] == '\'')
        return jv_str(buf + 1, len >= 2 ? (size_t)len - 2 : 0);
    if (buf[0] == '[') {
        jv *l = jv_list_new(4);
        if (!l)
            return NULL;
        char *p = buf + 1;
        while (*p && *p != ']') {
            char *e;
            long long v = strtoll(p, &e, 10);
            if (e == p)
                break;
            if (jv_list_push(l, jv_int(v), NULL) < 0) {
                jv_unref(l);
                return NULL;
            }
            p = e;
            while (*p == ',' || *p == ' ')
                p++;
        }
        return l;
    }
    if ((buf[0] >= '0' && buf[0] <= '9') || buf[0] == '-') {
        if (strpbrk(buf, ".einf"))
            return jv_float(strtod(buf, NULL));
        return jv_int(strtoll(buf, NULL, 10));
    }
    return jv_none(); /* contiguous_format, Mean ... : the op reads None */
}

static bool type_is(const at_param *p, const char *t)
{
    size_t n = strlen(t);
    return (size_t)p->type_len >= n && !strncmp(p->type, t, n);
}

static bool num_kind(int k)
{
    return k == JV_INT || k == JV_FLOAT || k == JV_BOOL;
}

/* Does value v fit the param's type? */
static bool type_ok(const at_param *p, const jv *v)
{
    bool opt = p->type[p->type_len - 1] == '?';
    if (v->kind == JV_NONE)
        return opt;
    const char *br = memchr(p->type, '[', (size_t)p->type_len);
    if (br) {
        /* list types: Tensor[], Tensor?[], int[], int[2], float[], bool[], t[] */
        bool seq = v->kind == JV_LIST || v->kind == JV_TUPLE;
        if (type_is(p, "Tensor")) {
            if (!seq)
                return false;
            bool optel = type_is(p, "Tensor?");
            for (size_t i = 0; i < v->u.seq.n; i++) {
                int k = v->u.seq.items[i]->kind;
                if (!(k == JV_TENSOR || (optel && k == JV_NONE)))
                    return false;
            }
            return true;
        }
        if (type_is(p, "int")) {
            if (v->kind == JV_INT)
                return true;
            if (!seq)
                return false;
            for (size_t i = 0; i < v->u.seq.n; i++)
                if (v->u.seq.items[i]->kind != JV_INT && v->u.seq.items[i]->kind != JV_BOOL)
                    return false;
            return true;
        }
        if (type_is(p, "float")) {
            if (num_kind(v->kind))
                return true;
            if (!seq)
                return false;
            for (size_t i = 0; i < v->u.seq.n; i++)
                if (!num_kind(v->u.seq.items[i]->kind))
                    return false;
            return true;
        }
        return seq; /* t[], bool[], str[] */
    }
    if (type_is(p, "Tensor"))
        return v->kind == JV_TENSOR;
    if (type_is(p, "Scalar"))
        return num_kind(v->kind);
    if (type_is(p, "int") || type_is(p, "ScalarType") || type_is(p, "Layout") ||
        type_is(p, "MemoryFormat"))
        return v->kind == JV_INT || v->kind == JV_BOOL;
    if (type_is(p, "float"))
        return num_kind(v->kind);
    if (type_is(p, "bool"))
        return v->kind == JV_BOOL || v->kind == JV_INT;
    if (type_is(p, "str"))
        return v->kind == JV_STR;
    if (type_is(p, "Device"))
        return v->kind == JV_DEVICE || v->kind == JV_STR || v->kind == JV_INT;
    if (type_is(p, "Num"))
        return v->kind == JV_INT || v->kind == JV_FLOAT;
    return true; /* Any, t, Generator, Storage */
}

/* 0: bound; 1: no match (why in `why`); < 0: out of memory */
static int bind(at_args *A, const char *schema, jv *const *args, size_t n_args,
                const char *const *kw_names, jv *const *kw_vals, size_t n_kw, char *why,
                size_t why_cap)
{
    at_param p[AT_MAX_ARGS];
    int np = parse_schema(schema, p, AT_MAX_ARGS);
    if (np < 0) {
        snprintf(why, why_cap, "schema too long");
        return 1;
    }
    A->n = np;
    for (int i = 0; i < np; i++) {
        A->a[i] = NULL;
        A->own[i] = NULL;
        A->arg[i] = p[i].name;
        A->arg_len[i] = p[i].name_len;
    }
    int npos = 0;
    while (npos < np && !p[npos].kwonly)
        npos++;
    /* "Any... args": the remaining positional arguments as a tuple */
    if (npos > 0 && type_is(&p[npos - 1], "Any...")) {
        size_t first = (size_t)npos - 1;
        jv *t = jv_tuple_new(n_args > first ? n_args - first : 1);
        if (!t)
            return -1;
        for (size_t i = first; i < n_args; i++)
            if (jv_list_push(t, jv_ref(args[i]), NULL) < 0) {
                jv_unref(t);
                return -1;
            }
        A->own[first] = t;
        A->a[first] = t;
        for (size_t i = 0; i < first && i < n_args; i++)
            A->a[i] = args[i];
        n_args = n_args < first ? n_args : first;
        if (n_args < first) {
            snprintf(why, why_cap, "missing arguments");
            return 1;
        }
        for (int i = 0; i < np; i++)
            if (!A->a[i] && !p[i].dflt) {
                snprintf(why, why_cap, "missing argument '%.*s'", p[i].name_len, p[i].name);
                return 1;
            }
        return 0;
    }
    if (n_args > (size_t)npos) {
        snprintf(why, why_cap, "%zu positional arguments, at most %d", n_args, npos);
        return 1;
    }
    for (size_t i = 0; i < n_args; i++)
        A->a[i] = args[i];
    for (size_t k = 0; k < n_kw; k++) {
        int j = 0;
        size_t kl = strlen(kw_names[k]);
        while (j < np && !((size_t)p[j].name_len == kl && !strncmp(p[j].name, kw_names[k], kl)))
            j++;
        if (j == np) {
            snprintf(why, why_cap, "no argument named '%s'", kw_names[k]);
            return 1;
        }
        if (A->a[j]) {
            snprintf(why, why_cap, "argument '%s' given twice", kw_names[k]);
            return 1;
        }
        A->a[j] = kw_vals[k];
    }
    for (int i = 0; i < np; i++) {
        if (!A->a[i]) {
            if (!p[i].dflt) {
                snprintf(why, why_cap, "missing argument '%.*s'", p[i].name_len, p[i].name);
                return 1;
            }
            A->own[i] = parse_default(p[i].dflt, p[i].dflt_len);
            if (!A->own[i])
                return -1;
            A->a[i] = A->own[i];
            continue; /* defaults are trusted */
        }
        if (!type_ok(&p[i], A->a[i])) {
            char d[80];
            jv_describe(A->a[i], d, sizeof d);
            snprintf(why, why_cap, "argument '%.*s' expects %.*s, got %s", p[i].name_len,
                     p[i].name, p[i].type_len, p[i].type, d);
            return 1;
        }
    }
    return 0;
}

static void unbind(at_args *A)
{
    for (int i = 0; i < A->n; i++) {
        jv_unref(A->own[i]);
        A->own[i] = NULL;
    }
    A->n = 0;
}

static const at_op *find_first(const char *name)
{
    for (size_t t = 0; t < sizeof at_tables / sizeof at_tables[0]; t++)
        for (const at_op *o = at_tables[t]; o->name; o++)
            if (!strcmp(o->name, name))
                return o;
    return NULL;
}

/* "aten::add" -> "add"; other namespaces kept */
static const char *strip_ns(const char *name)
{
    if (!strncmp(name, "aten::", 6))
        return name + 6;
    return name;
}

/* The in-place base: "add_" -> "add" (not "_convolution", not "__and__"). */
static bool inplace_base(const char *name, char *base, size_t cap)
{
    size_t n = strlen(name);
    if (n < 2 || n >= cap || name[n - 1] != '_' || name[n - 2] == '_' || strchr(name, ':'))
        return false;
    memcpy(base, name, n - 1);
    base[n - 1] = 0;
    return find_first(base) != NULL;
}

bool jit_aten_has(const char *name)
{
    if (!name)
        return false;
    name = strip_ns(name);
    char plain[96];
    const char *dot = strchr(name, '.');
    if (dot && (size_t)(dot - name) < sizeof plain) {
        memcpy(plain, name, (size_t)(dot - name));
        plain[dot - name] = 0;
        name = plain;
    }
    char base[64];
    return find_first(name) || inplace_base(name, base, sizeof base);
}

static int call_rows(jit_rt *rt, const char *name, const char *shown, jv *const *args,
                     size_t n_args, const char *const *kw_names, jv *const *kw_vals, size_t n_kw,
                     jv **result, ckpt_error *err)
{
    at_args A;
    memset(&A, 0, sizeof A);
    A.rt = rt;
    A.op = shown;
    char why[256] = "", first[256] = "";
    int tried = 0;
    for (size_t t = 0; t < sizeof at_tables / sizeof at_tables[0]; t++)
        for (const at_op *o = at_tables[t]; o->name; o++) {
            if (strcmp(o->name, name))
                continue;
            int rc = bind(&A, o->schema, args, n_args, kw_names, kw_vals, n_kw, why, sizeof why);
            if (rc < 0) {
                unbind(&A);
                return jit_fail(rt, err, CKPT_E_NOMEM, "out of memory");
            }
            if (rc > 0) {
                if (!tried++)
                    snprintf(first, sizeof first, "%s", why);
                unbind(&A);
                continue;
            }
            jv *res = NULL;
            rc = o->fn(&A, &res, err);
            unbind(&A);
            if (rc < 0 || (err && err->code)) {
                jv_unref(res);
                if (err && !err->code)
                    return jit_fail(rt, err, CKPT_E_ARG, "aten::%s failed", shown);
                return err ? err->code : rc;
            }
            *result = res ? res : jv_none();
            return 0;
        }
    if (!tried)
        return jit_fail(rt, err, CKPT_E_UNSUPPORTED,
                        "operator aten::%s is not in ckpt's op library", shown);
    char d[400] = "";
    size_t k = 0;
    for (size_t i = 0; i < n_args && k + 2 < sizeof d; i++) {
        char one[80];
        jv_describe(args[i], one, sizeof one);
        int w = snprintf(d + k, sizeof d - k, "%s%s", i ? ", " : "", one);
        if (w < 0)
            break;
        k += (size_t)w;
        if (k >= sizeof d)
            k = sizeof d - 1;
    }
    return jit_fail(rt, err, CKPT_E_ARG, "aten::%s(%s): arguments match no overload (%s)", shown,
                    d, tried > 1 ? first : why);
}

int jit_aten_call(jit_rt *rt, const char *name, jv *const *args, size_t n_args,
                  const char *const *kw_names, jv *const *kw_vals, size_t n_kw, jv **result,
                  ckpt_error *err)
{
    *result = NULL;
    if (!name)
        return jit_fail(rt, err, CKPT_E_ARG, "operator without a name");
    const char *nm = strip_ns(name);
    /* an overload name ("add.Tensor", "aten::size.int") is tolerated: rows bind by type */
    char plain[96];
    const char *dot = strchr(nm, '.');
    if (dot && (size_t)(dot - nm) < sizeof plain) {
        memcpy(plain, nm, (size_t)(dot - nm));
        plain[dot - nm] = 0;
        nm = plain;
    }
    for (size_t i = 0; i < n_args; i++)
        if (!args[i])
            return jit_fail(rt, err, CKPT_E_ARG, "aten::%s: argument %zu is missing", nm, i);
    for (size_t i = 0; i < n_kw; i++)
        if (!kw_vals[i] || !kw_names[i])
            return jit_fail(rt, err, CKPT_E_ARG, "aten::%s: keyword argument %zu is missing", nm,
                            i);
    if (find_first(nm))
        return call_rows(rt, nm, nm, args, n_args, kw_names, kw_vals, n_kw, result, err);
    char base[64];
    if (!inplace_base(nm, base, sizeof base))
        return jit_fail(rt, err, CKPT_E_UNSUPPORTED,
                        "operator aten::%s is not in ckpt's op library", nm);
    /* in place: the out-of-place op, then its result copied into self */
    jv *self = n_args ? args[0] : NULL;
    for (size_t i = 0; !self && i < n_kw; i++)
        if (!strcmp(kw_names[i], "self"))
            self = kw_vals[i];
    if (!self || self->kind != JV_TENSOR)
        return jit_fail(rt, err, CKPT_E_ARG, "aten::%s: self must be a Tensor", nm);
    jv *r = NULL;
    CKPT_TRY(call_rows(rt, base, nm, args, n_args, kw_names, kw_vals, n_kw, &r, err));
    if (r->kind != JV_TENSOR) {
        jv_unref(r);
        return jit_fail(rt, err, CKPT_E_ARG, "aten::%s: %s gives no tensor", nm, base);
    }
    at_args A;
    memset(&A, 0, sizeof A);
    A.rt = rt;
    A.op = nm;
    int rc = r == self ? 0 : at_assign(&A, self, r, err);
    jv_unref(r);
    if (rc < 0)
        return rc;
    *result = jv_ref(self);
    return 0;
}

/* ------------------------------------------------------------ argument access */

bool at_none(const at_args *A, int i)
{
    return i >= A->n || A->a[i]->kind == JV_NONE;
}

bool at_is_tensor(const at_args *A, int i)
{
    return i < A->n && A->a[i]->kind == JV_TENSOR;
}

jv *at_t(const at_args *A, int i)
{
    return at_is_tensor(A, i) ? A->a[i] : NULL;
}

ox_val *at_tv(const at_args *A, int i)
{
    return at_is_tensor(A, i) ? &A->a[i]->u.t->t : NULL;
}

double at_num(const jv *v)
{
    switch (v->kind) {
    case JV_INT: return (double)v->u.i;
    case JV_FLOAT: return v->u.f;
    case JV_BOOL: return v->u.b ? 1.0 : 0.0;
    case JV_TENSOR: return v->u.t->t.numel >= 1 ? ox_get_f64(&v->u.t->t, 0) : 0.0;
    default: return 0.0;
    }
}

bool at_scalar_is_float(const jv *v)
{
    return v->kind == JV_FLOAT;
}

int64_t at_i(const at_args *A, int i)
{
    const jv *v = A->a[i];
    if (v->kind == JV_INT)
        return v->u.i;
    if (v->kind == JV_BOOL)
        return v->u.b;
    if (v->kind == JV_FLOAT)
        return (int64_t)v->u.f;
    return 0;
}

double at_f(const at_args *A, int i)
{
    return at_num(A->a[i]);
}

bool at_b(const at_args *A, int i)
{
    const jv *v = A->a[i];
    return v->kind == JV_BOOL ? v->u.b : v->kind == JV_INT ? v->u.i != 0 : false;
}

const char *at_s(const at_args *A, int i)
{
    return A->a[i]->kind == JV_STR ? A->a[i]->u.str.s : NULL;
}

int at_ints(at_args *A, int i, int64_t *dst, int max, int expand, ckpt_error *err)
{
    const jv *v = A->a[i];
    if (v->kind == JV_INT || v->kind == JV_BOOL) {
        int n = expand > 0 ? expand : 1;
        if (n > max)
            return at_fail(A, err, "argument '%.*s': too many values", A->arg_len[i], A->arg[i]);
        for (int k = 0; k < n; k++)
            dst[k] = at_i(A, i);
        return n;
    }
    if (v->kind == JV_NONE)
        return 0;
    if (v->kind != JV_LIST && v->kind != JV_TUPLE)
        return at_fail(A, err, "argument '%.*s' must be a list of ints", A->arg_len[i],
                       A->arg[i]);
    if (v->u.seq.n > (size_t)max)
        return at_fail(A, err, "argument '%.*s': %zu values (at most %d)", A->arg_len[i],
                       A->arg[i], v->u.seq.n, max);
    int n = (int)v->u.seq.n;
    for (int k = 0; k < n; k++) {
        const jv *e = v->u.seq.items[k];
        if (e->kind != JV_INT && e->kind != JV_BOOL)
            return at_fail(A, err, "argument '%.*s' must be a list of ints", A->arg_len[i],
                           A->arg[i]);
        dst[k] = e->kind == JV_INT ? e->u.i : e->u.b;
    }
    if (n == 1 && expand > 1) {
        if (expand > max)
            return at_fail(A, err, "argument '%.*s': too many values", A->arg_len[i], A->arg[i]);
        for (int k = 1; k < expand; k++)
            dst[k] = dst[0];
        n = expand;
    }
    return n;
}

int at_dim(at_args *A, int64_t d, int rank, bool extra, int *out, ckpt_error *err)
{
    int r = rank + (extra ? 1 : 0);
    int lim = r > 0 ? r : 1; /* a 0-d tensor takes dim 0 / -1 */
    if (d < -lim || d >= lim)
        return at_fail(A, err, "dimension %" PRId64 " out of range for %d dimensions", d, rank);
    *out = (int)(d < 0 ? d + lim : d);
    return 0;
}

/* ------------------------------------------------------------ dtypes */

bool at_is_floating(int dt)
{
    return dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_BFLOAT16;
}

bool at_is_integral(int dt, bool with_bool)
{
    switch (dt) {
    case OX_UINT8:
    case OX_INT8:
    case OX_INT16:
    case OX_INT32:
    case OX_INT64:
    case OX_UINT16:
    case OX_UINT32:
    case OX_UINT64: return true;
    case OX_BOOL: return with_bool;
    default: return false;
    }
}

static int cat_of(int dt)
{
    if (dt == OX_BOOL)
        return 0;
    if (at_is_integral(dt, false))
        return 1;
    if (at_is_floating(dt))
        return 2;
    if (dt == OX_COMPLEX64 || dt == OX_COMPLEX128)
        return 3;
    return -1;
}

static int int_rank(int dt)
{
    switch (dt) {
    case OX_INT8: return 1;
    case OX_INT16: return 2;
    case OX_INT32: return 3;
    case OX_INT64: return 4;
    default: return 0;
    }
}

int at_promote(int a, int b)
{
    if (a == b || !b)
        return a;
    if (!a)
        return b;
    int ca = cat_of(a), cb = cat_of(b);
    if (ca != cb)
        return ca > cb ? a : b;
    if (ca == 1) {
        if (a == OX_UINT8 || b == OX_UINT8) {
            int o = a == OX_UINT8 ? b : a;
            return o == OX_INT8 ? OX_INT16 : o;
        }
        return int_rank(a) > int_rank(b) ? a : b;
    }
    if (ca == 2) {
        if ((a == OX_FLOAT16 && b == OX_BFLOAT16) || (a == OX_BFLOAT16 && b == OX_FLOAT16))
            return OX_FLOAT;
        size_t sa = ox_dtype_size(a), sb = ox_dtype_size(b);
        return sa >= sb ? a : b;
    }
    if (ca == 3)
        return a == OX_COMPLEX128 || b == OX_COMPLEX128 ? OX_COMPLEX128 : OX_COMPLEX64;
    return a;
}

static int combine(int higher, int lower)
{
    if (!higher)
        return lower;
    int ch = cat_of(higher);
    if (ch >= 2)
        return higher;
    if (higher == OX_BOOL || (lower && cat_of(lower) >= 2))
        return at_promote(higher, lower);
    return higher;
}

int at_result_type(jv *const *vals, int n)
{
    int dimr = 0, zr = 0, wr = 0;
    for (int i = 0; i < n; i++) {
        const jv *v = vals[i];
        if (!v)
            continue;
        if (v->kind == JV_TENSOR) {
            const ox_val *t = &v->u.t->t;
            if (t->rank > 0)
                dimr = at_promote(dimr, t->dtype);
            else
                zr = at_promote(zr, t->dtype);
        } else if (v->kind == JV_FLOAT) {
            wr = at_promote(wr, OX_FLOAT);
        } else if (v->kind == JV_INT) {
            wr = at_promote(wr, OX_INT64);
        } else if (v->kind == JV_BOOL) {
            wr = at_promote(wr, OX_BOOL);
        }
    }
    int r = combine(dimr, combine(zr, wr));
    return r ? r : OX_FLOAT;
}

int at_dtype_arg(at_args *A, int i, int dflt, ckpt_error *err)
{
    if (at_none(A, i))
        return dflt;
    int64_t st = at_i(A, i);
    int dt = jit_st_to_ox(st);
    if (dt == OX_UNDEFINED)
        return at_fail(A, err, "unsupported dtype (ScalarType %" PRId64 ")", st);
    return dt;
}

/* ------------------------------------------------------------ values */

jv *at_new(void)
{
    return jv_tensor_new();
}

static int oom(at_args *A, ckpt_error *err)
{
    return jit_fail(A->rt, err, CKPT_E_NOMEM, "aten::%s: out of memory", A->op);
}

int at_const(at_args *A, int dtype, int rank, const int64_t *dims, double x, jv **res,
             ckpt_error *err)
{
    jv *t = at_new();
    if (!t)
        return oom(A, err);
    ox_val *v = &t->u.t->t;
    if (ox_val_reshape_alloc(v, dtype, rank, dims, err) < 0) {
        jv_unref(t);
        return at_wrap(A, err, -1);
    }
    if (dtype == OX_INT64) {
        int64_t *p = v->data;
        for (int64_t k = 0; k < v->numel; k++)
            p[k] = (int64_t)x;
    } else {
        for (int64_t k = 0; k < v->numel; k++)
            ox_set_f64(v, k, x);
    }
    *res = t;
    return 0;
}

int at_const_i64s(at_args *A, const int64_t *vals, int64_t n, jv **res, ckpt_error *err)
{
    jv *t = at_new();
    if (!t)
        return oom(A, err);
    ox_val *v = &t->u.t->t;
    if (ox_val_reshape_alloc(v, OX_INT64, 1, &n, err) < 0) {
        jv_unref(t);
        return at_wrap(A, err, -1);
    }
    if (n)
        memcpy(v->data, vals, (size_t)n * sizeof *vals);
    *res = t;
    return 0;
}

int at_scalar_tensor(at_args *A, const jv *s, int dtype, jv **res, ckpt_error *err)
{
    if (s->kind == JV_TENSOR) {
        jv *m;
        memcpy(&m, &s, sizeof m); /* at_cast takes a reference, never writes */
        return at_cast(A, m, dtype, res, err);
    }
    if (s->kind == JV_INT && dtype == OX_INT64) {
        int64_t x = s->u.i;
        jv *t = NULL;
        CKPT_TRY(at_const_i64s(A, &x, 1, &t, err));
        t->u.t->t.rank = 0;
        *res = t;
        return 0;
    }
    return at_const(A, dtype, 0, NULL, at_num(s), res, err);
}

/* ------------------------------------------------------------ kernel calls */

int at_run_n(at_args *A, const char *op, int opset, const ox_attr *attrs, int n_attrs,
             jv *const *in, int n_in, jv *base, jv **res, int n_out, ckpt_error *err)
{
    ox_val *iv[16] = {0}, *ov[8] = {0};
    if (n_in > 16 || n_out > 8)
        return at_fail(A, err, "too many kernel operands");
    for (int k = 0; k < n_in; k++)
        iv[k] = in[k] && in[k]->kind == JV_TENSOR ? &in[k]->u.t->t : NULL;
    for (int k = 0; k < n_out; k++) {
        res[k] = at_new();
        if (!res[k]) {
            for (int j = 0; j < k; j++) {
                jv_unref(res[j]);
                res[j] = NULL;
            }
            return oom(A, err);
        }
        ov[k] = &res[k]->u.t->t;
    }
    int rc = ox_call(A->rt->ox, op, opset, attrs, n_attrs, iv, n_in, ov, n_out, err);
    if (rc < 0) {
        for (int k = 0; k < n_out; k++) {
            jv_unref(res[k]);
            res[k] = NULL;
        }
        return at_wrap(A, err, rc);
    }
    for (int k = 0; k < n_out; k++) {
        ox_val *o = ov[k];
        if (o->data && o->data != o->buf) {
            /* a view of an input: keep that input alive */
            jv *src = base;
            if (!src)
                for (int j = 0; j < n_in && !src; j++)
                    if (in[j] && in[j]->kind == JV_TENSOR && in[j]->u.t->t.data == o->data)
                        src = in[j];
            if (src) {
                /* the base of a view is the owner, so chains stay short */
                jv *owner = src->u.t->base ? src->u.t->base : src;
                res[k]->u.t->base = jv_ref(owner);
            } else {
                /* unknown owner: copy */
                ox_val tmp = *o;
                memset(o, 0, sizeof *o);
                if (ox_val_copy(o, &tmp, err) < 0) {
                    tmp.data = NULL;
                    ox_val_clear(&tmp);
                    for (int j = 0; j < n_out; j++) {
                        jv_unref(res[j]);
                        res[j] = NULL;
                    }
                    return at_wrap(A, err, -1);
                }
                tmp.data = NULL;
                ox_val_clear(&tmp);
            }
        }
    }
    return 0;
}

int at_run(at_args *A, const char *op, int opset, const ox_attr *attrs, int n_attrs,
           jv *const *in, int n_in, jv *base, jv **res, ckpt_error *err)
{
    return at_run_n(A, op, opset, attrs, n_attrs, in, n_in, base, res, 1, err);
}

int at_cast(at_args *A, jv *t, int dtype, jv **res, ckpt_error *err)
{
    if (t->kind != JV_TENSOR)
        return at_scalar_tensor(A, t, dtype, res, err);
    if (t->u.t->t.dtype == dtype) {
        *res = jv_ref(t);
        return 0;
    }
    ox_attr a = oxa_int("to", dtype);
    return at_run(A, "Cast", 0, &a, 1, &t, 1, NULL, res, err);
}

int at_reshape(at_args *A, jv *t, int rank, const int64_t *dims, jv **res, ckpt_error *err)
{
    jv *shape = NULL;
    CKPT_TRY(at_const_i64s(A, dims, rank, &shape, err));
    jv *in[2] = {t, shape};
    int rc = at_run(A, "Reshape", 0, NULL, 0, in, 2, t, res, err);
    jv_unref(shape);
    return rc;
}

int at_unary(at_args *A, const char *op, jv *t, jv **res, ckpt_error *err)
{
    return at_run(A, op, 0, NULL, 0, &t, 1, NULL, res, err);
}

int at_binary(at_args *A, const char *op, jv *a, jv *b, jv **res, ckpt_error *err)
{
    jv *in[2] = {a, b};
    return at_run(A, op, 0, NULL, 0, in, 2, NULL, res, err);
}

int at_transpose(at_args *A, jv *t, const int64_t *perm, int rank, jv **res, ckpt_error *err)
{
    ox_attr a = oxa_ints("perm", perm, (size_t)rank);
    return at_run(A, "Transpose", 0, &a, 1, &t, 1, NULL, res, err);
}

jv *at_tuple2(jv *a, jv *b)
{
    jv *t = jv_tuple_new(2);
    if (!t || jv_list_push(t, a, NULL) < 0) {
        if (!t)
            jv_unref(a);
        jv_unref(b);
        jv_unref(t);
        return NULL;
    }
    if (jv_list_push(t, b, NULL) < 0) {
        jv_unref(t);
        return NULL;
    }
    return t;
}

jv *at_tuple3(jv *a, jv *b, jv *c)
{
    jv *t = at_tuple2(a, b);
    if (!t) {
        jv_unref(c);
        return NULL;
    }
    if (jv_list_push(t, c, NULL) < 0) {
        jv_unref(t);
        return NULL;
    }
    return t;
}

/* Give a tensor that borrows the model's (read-only, mapped) storage its own
 * copy before a write: data-only tensors are never written in place. */
static int own_copy(at_args *A, jv *t, ckpt_error *err)
{
    ox_val *v = &t->u.t->t;
    size_t nb = ox_val_nbytes(v);
    void *p = malloc(nb ? nb : 1);
    if (!p)
        return jit_fail(A->rt, err, CKPT_E_NOMEM, "aten::%s: out of memory", A->op);
    if (nb)
        memcpy(p, v->data, nb);
    v->buf = p;
    v->cap = nb ? nb : 1;
    v->data = p;
    return 0;
}

int at_assign(at_args *A, jv *self, jv *src, ckpt_error *err)
{
    ox_val *d = &self->u.t->t;
    jv *owner = self->u.t->base;
    if (owner && owner->kind == JV_TENSOR && !owner->u.t->base && !owner->u.t->t.buf &&
        owner->u.t->t.data && d->data) {
        char *old = owner->u.t->t.data;
        size_t off = (size_t)((char *)d->data - old);
        CKPT_TRY(own_copy(A, owner, err));
        d->data = (char *)owner->u.t->t.data + off;
    } else if (!owner && !d->buf && d->data && d->dtype != OX_STRING) {
        CKPT_TRY(own_copy(A, self, err));
    }
    jv *c = NULL;
    CKPT_TRY(at_cast(A, src, d->dtype, &c, err));
    ox_val *s = &c->u.t->t;
    bool same = s->rank == d->rank;
    for (int i = 0; same && i < d->rank; i++)
        same = s->dims[i] == d->dims[i];
    if (!same && s->numel != d->numel) {
        /* broadcast src to self's shape */
        jv *shape = NULL, *e = NULL;
        int rc = at_const_i64s(A, d->dims, d->rank, &shape, err);
        if (rc == 0) {
            jv *in[2] = {c, shape};
            rc = at_run(A, "Expand", 0, NULL, 0, in, 2, NULL, &e, err);
        }
        jv_unref(shape);
        jv_unref(c);
        if (rc < 0)
            return rc;
        c = e;
        s = &c->u.t->t;
        if (s->numel != d->numel) {
            jv_unref(c);
            return at_fail(A, err, "result shape does not fit self");
        }
    } else if (!same) {
        /* same count, new shape (unsqueeze_, t_, transpose_): self takes it */
        d->rank = s->rank;
        for (int i = 0; i < s->rank; i++)
            d->dims[i] = s->dims[i];
    }
    size_t nb = ox_val_nbytes(s);
    if (nb && d->data != s->data)
        memmove(d->data, s->data, nb);
    jv_unref(c);
    return 0;
}
