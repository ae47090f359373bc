/*
 * src/jit/ts_interp.c - the TorchScript source interpreter: walks the tree
 * ts_parse.c builds from the archive's code/ records.  Every tensor
 * operation goes through jit_aten_call (the one op library); only integer,
 * float, bool, string, list, tuple and dict arithmetic is done here.  A
 * custom class, torch.ops.load_library or any unknown global is an error
 * naming it and the source line: nothing outside the op library is reachable.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/jit_internal.h"
#include "jit/ts_ast.h"

#define TS_MAX_STEPS 10000000ull /* statements per run: far above any real model */
#define TS_MAX_EDEPTH 2500       /* nested evaluation frames (C stack) */
#define TS_MAX_ARGS 64
#define TS_MAX_LIST 100000000 /* elements of a list built by range()/repetition */

/* ------------------------------------------------------------ per-model state */

typedef struct ts_file {
    char *record; /* "code/__torch__/foo.py" */
    char *prefix; /* "__torch__.foo" */
    const jit_source *src;
    ts_tree *tree; /* parsed on first use */
    bool failed;
    ckpt_error perr; /* the parse error, given again on each later use */
} ts_file;

typedef struct ts_state {
    ts_file *files;
    size_t n;
} ts_state;

static void ts_state_free(void *p)
{
    ts_state *st = p;
    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++) {
        free(st->files[i].record);
        free(st->files[i].prefix);
        ts_tree_free(st->files[i].tree);
    }
    free(st->files);
    free(st);
}

/* "archive/code/__torch__/a/b.py" -> "__torch__.a.b" */
static char *record_prefix(const char *rec)
{
    const char *s = rec;
    if (strncmp(s, "code/", 5) == 0)
        s += 5;
    else {
        const char *c = strstr(s, "/code/");
        if (!c)
            return NULL;
        s = c + 6;
    }
    size_t n = strlen(s);
    if (n < 3 || strcmp(s + n - 3, ".py") != 0)
        return NULL;
    char *p = malloc(n - 2);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n - 3; i++)
        p[i] = s[i] == '/' ? '.' : s[i];
    p[n - 3] = 0;
    return p;
}

static ts_state *state_get(jit_rt *rt, ckpt_error *err)
{
    if (rt->ts)
        return rt->ts;
    ts_state *st = calloc(1, sizeof *st);
    ckpt_jit_model *m = rt->m;
    if (st && m->n_sources)
        st->files = calloc(m->n_sources, sizeof *st->files);
    if (!st || (m->n_sources && !st->files)) {
        free(st);
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < m->n_sources; i++) {
        const jit_source *src = &m->sources[i];
        if (!src->record || !src->text)
            continue;
        char *pre = record_prefix(src->record);
        if (!pre)
            continue;
        ts_file *f = &st->files[st->n++];
        f->prefix = pre;
        f->record = strdup(src->record);
        f->src = src;
        if (!f->record) {
            ts_state_free(st);
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            return NULL;
        }
    }
    rt->ts = st;
    rt->ts_free = ts_state_free;
    return st;
}

static tnode *file_root(ts_file *f, ckpt_error *err)
{
    if (f->tree)
        return f->tree->root;
    if (f->failed) {
        if (err && !err->code)
            *err = f->perr;
        return NULL;
    }
    f->tree = ts_parse(f->src->text, f->src->len, f->record, 1, err);
    if (!f->tree) {
        f->failed = true;
        if (err)
            f->perr = *err;
    }
    return f->tree ? f->tree->root : NULL;
}

static ts_file *file_find(ts_state *st, const char *prefix, size_t plen)
{
    for (size_t i = 0; i < st->n; i++)
        if (strlen(st->files[i].prefix) == plen && memcmp(st->files[i].prefix, prefix, plen) == 0)
            return &st->files[i];
    return NULL;
}

static tnode *block_find(tnode *blk, int kind, const char *name)
{
    if (!blk)
        return NULL;
    for (size_t i = 0; i < blk->n; i++)
        if (blk->kids[i]->kind == kind && strcmp(blk->kids[i]->s, name) == 0)
            return blk->kids[i];
    return NULL;
}

/* A def found somewhere, with the record it lives in. */
typedef struct ts_fn {
    tnode *def;
    const char *file;
} ts_fn;

/* Cached per jit_method (jit_method.ast): the def, its record, and the tree
 * when it was parsed from jit_method.source. */
typedef struct ts_mcache {
    ts_tree *own;
    tnode *def;
    const char *file;
} ts_mcache;

static void mcache_free(void *p)
{
    ts_mcache *c = p;
    if (c)
        ts_tree_free(c->own);
    free(c);
}

/* ------------------------------------------------------------ the walker */

typedef struct frame {
    const char **names;
    jv **vals;
    size_t n, cap;
    jv *ret;
} frame;

typedef struct ctx {
    jit_rt *rt;
    ts_state *st;
    ckpt_error *err;
    int edepth;
} ctx;

enum { FL_NORMAL = 0, FL_BREAK = 1, FL_CONTINUE = 2, FL_RETURN = 3 };

static int fail(ctx *c, int line, int code, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

static int fail(ctx *c, int line, int code, const char *fmt, ...)
{
    if (line > 0)
        c->rt->line = line;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return jit_fail(c->rt, c->err, code, "%s", msg);
}

static int nomem(ctx *c)
{
    return fail(c, 0, CKPT_E_NOMEM, "out of memory");
}

static void frame_clear(frame *f)
{
    for (size_t i = 0; i < f->n; i++)
        jv_unref(f->vals[i]);
    free(f->names);
    free(f->vals);
    jv_unref(f->ret);
    memset(f, 0, sizeof *f);
}

static jv *frame_get(frame *f, const char *name)
{
    for (size_t i = f->n; i-- > 0;)
        if (strcmp(f->names[i], name) == 0)
            return f->vals[i];
    return NULL;
}

/* steals v */
static int frame_set(ctx *c, frame *f, const char *name, jv *v)
{
    for (size_t i = f->n; i-- > 0;)
        if (strcmp(f->names[i], name) == 0) {
            jv_unref(f->vals[i]);
            f->vals[i] = v;
            return 0;
        }
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        const char **nn = realloc(f->names, cap * sizeof *nn);
        if (nn)
            f->names = nn;
        jv **vv = nn ? realloc(f->vals, cap * sizeof *vv) : NULL;
        if (!vv) {
            jv_unref(v);
            return nomem(c);
        }
        f->vals = vv;
        f->cap = cap;
    }
    f->names[f->n] = name;
    f->vals[f->n++] = v;
    return 0;
}

static jv *ev(ctx *c, frame *f, tnode *n);
static int exec_block(ctx *c, frame *f, tnode *b);
static int call_value_method(ctx *c, jv *self, const char *name, jv **args, size_t n,
                             const char **kwn, jv **kwv, size_t nkw, int line, jv **res);

/* ------------------------------------------------------------ value helpers */

static bool is_num(const jv *v)
{
    return v->kind == JV_INT || v->kind == JV_BOOL || v->kind == JV_FLOAT;
}
static int64_t as_i(const jv *v)
{
    return v->kind == JV_BOOL ? (int64_t)v->u.b : v->kind == JV_INT ? v->u.i : (int64_t)v->u.f;
}
static double as_f(const jv *v)
{
    return v->kind == JV_FLOAT ? v->u.f : (double)as_i(v);
}

static jv *chk(ctx *c, jv *v)
{
    if (!v)
        nomem(c);
    return v;
}

/* Values built by the code stay shallow and acyclic: jv_unref frees
 * recursively and reference counts never free a cycle. */
#define TS_MAX_NESTING 64

static bool is_container(const jv *v)
{
    return v->kind == JV_LIST || v->kind == JV_TUPLE || v->kind == JV_DICT ||
           v->kind == JV_OBJECT;
}

static bool nest_walk(const jv *v, const jv *target, int depth, size_t *visits)
{
    if (v == target || depth > TS_MAX_NESTING || ++*visits > 1000000)
        return true;
    size_t n = v->kind == JV_DICT ? v->u.dict.n : v->kind == JV_OBJECT ? v->u.obj.n : v->u.seq.n;
    for (size_t i = 0; i < n; i++) {
        const jv *x = v->kind == JV_DICT     ? v->u.dict.vals[i]
                      : v->kind == JV_OBJECT ? v->u.obj.vals[i]
                                             : v->u.seq.items[i];
        if (is_container(x) && nest_walk(x, target, depth + 1, visits))
            return true;
    }
    return false;
}

/* 0 when `v` may be stored in `target` (NULL: a new container). */
static int nest_ok(ctx *c, int line, const jv *target, const jv *v);

/* Read a one-element tensor. */
static int tensor_scalar(ctx *c, int line, const jv *t, double *d, int64_t *i, bool *is_int)
{
    const ox_val *x = &t->u.t->t;
    if (x->numel != 1 || !x->data)
        return fail(c, line, CKPT_E_SHAPE,
                    "a tensor with %" PRId64 " elements cannot be converted to a scalar",
                    x->numel);
    const void *p = x->data;
    *is_int = true;
    switch (x->dtype) {
    case OX_FLOAT:
        *d = (double)*(const float *)p;
        *is_int = false;
        break;
    case OX_DOUBLE:
        *d = *(const double *)p;
        *is_int = false;
        break;
    case OX_INT64: *i = *(const int64_t *)p; break;
    case OX_INT32: *i = *(const int32_t *)p; break;
    case OX_INT16: *i = *(const int16_t *)p; break;
    case OX_INT8: *i = *(const int8_t *)p; break;
    case OX_UINT8: *i = *(const uint8_t *)p; break;
    case OX_BOOL: *i = *(const uint8_t *)p != 0; break;
    default: return fail(c, line, CKPT_E_UNSUPPORTED, "a scalar of tensor dtype %d", x->dtype);
    }
    if (*is_int)
        *d = (double)*i;
    else
        *i = isfinite(*d) && fabs(*d) < 9.2e18 ? (int64_t)*d : 0;
    return 0;
}

static int truth(ctx *c, int line, const jv *v, bool *out)
{
    switch (v->kind) {
    case JV_NONE: *out = false; return 0;
    case JV_BOOL: *out = v->u.b; return 0;
    case JV_INT: *out = v->u.i != 0; return 0;
    case JV_FLOAT: *out = v->u.f != 0; return 0;
    case JV_STR: *out = v->u.str.len != 0; return 0;
    case JV_LIST:
    case JV_TUPLE: *out = v->u.seq.n != 0; return 0;
    case JV_DICT: *out = v->u.dict.n != 0; return 0;
    case JV_TENSOR: {
        double d;
        int64_t i;
        bool ii;
        CKPT_TRY(tensor_scalar(c, line, v, &d, &i, &ii));
        *out = d != 0;
        return 0;
    }
    default: *out = true; return 0;
    }
}

/* A 0-dim constant tensor (prim::NumToTensor): int64 for ints and bools,
 * float64 for floats, as at::scalar_to_tensor makes them. */
static jv *scalar_tensor(ctx *c, const jv *v)
{
    jv *t = jv_tensor_new();
    if (!t)
        return chk(c, NULL);
    int dt = v->kind == JV_FLOAT ? OX_DOUBLE : v->kind == JV_BOOL ? OX_BOOL : OX_INT64;
    if (ox_val_reshape_alloc(&t->u.t->t, dt, 0, NULL, c->err) < 0) {
        jv_unref(t);
        return NULL;
    }
    void *p = t->u.t->t.data;
    if (dt == OX_DOUBLE)
        *(double *)p = v->u.f;
    else if (dt == OX_BOOL)
        *(uint8_t *)p = v->u.b;
    else
        *(int64_t *)p = v->u.i;
    return t;
}

static int nest_ok(ctx *c, int line, const jv *target, const jv *v)
{
    size_t visits = 0;
    if (!is_container(v) || !nest_walk(v, target, 1, &visits))
        return 0;
    return fail(c, line, CKPT_E_LIMIT,
                "a value nested deeper than %d, holding its own container, or too large to check",
                TS_MAX_NESTING);
}

static jv *aten(ctx *c, int line, const char *name, jv **args, size_t n, const char **kwn,
                jv **kwv, size_t nkw)
{
    if (line > 0)
        c->rt->line = line;
    for (size_t i = 0; i < n + nkw; i++) {
        const jv *v = i < n ? args[i] : kwv[i - n];
        /* a class or function name is no operand (packed-params capsules and objects are) */
        if (v->kind == JV_OPAQUE && v->u.opaque.type && !strcmp(v->u.opaque.type, "global")) {
            char d[128];
            jv_describe(v, d, sizeof d);
            fail(c, line, CKPT_E_ARG, "aten::%s: argument %zu is %s", name, i, d);
            return NULL;
        }
    }
    jv *r = NULL;
    int rc = jit_aten_call(c->rt, name, (jv *const *)args, n, (const char *const *)kwn,
                           (jv *const *)kwv, nkw, &r, c->err);
    if (rc < 0) {
        jv_unref(r);
        if (!c->err->code)
            fail(c, line, rc, "aten::%s failed", name);
        return NULL;
    }
    if (!r)
        r = jv_none();
    return r;
}

/* Append printable text of v to buf (bounded). */
static void sb_put(char *buf, size_t cap, size_t *o, const char *s, size_t n)
{
    if (*o >= cap)
        return;
    size_t room = cap - 1 - *o;
    if (n > room)
        n = room;
    memcpy(buf + *o, s, n);
    *o += n;
    buf[*o] = 0;
}

static void fmt_float(double d, char *tmp, size_t cap)
{
    if (isnan(d)) {
        snprintf(tmp, cap, "nan");
        return;
    }
    if (isinf(d)) {
        snprintf(tmp, cap, d > 0 ? "inf" : "-inf");
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(tmp, cap, "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    if (!strpbrk(tmp, ".en"))
        strncat(tmp, ".0", cap - strlen(tmp) - 1);
}

static void to_text(const jv *v, char *buf, size_t cap, size_t *o, int depth)
{
    char tmp[64];
    if (depth > 20) {
        sb_put(buf, cap, o, "...", 3);
        return;
    }
    switch (v->kind) {
    case JV_NONE: sb_put(buf, cap, o, "None", 4); break;
    case JV_BOOL: sb_put(buf, cap, o, v->u.b ? "True" : "False", v->u.b ? 4 : 5); break;
    case JV_INT:
        snprintf(tmp, sizeof tmp, "%" PRId64, v->u.i);
        sb_put(buf, cap, o, tmp, strlen(tmp));
        break;
    case JV_FLOAT:
        fmt_float(v->u.f, tmp, sizeof tmp);
        sb_put(buf, cap, o, tmp, strlen(tmp));
        break;
    case JV_STR: sb_put(buf, cap, o, v->u.str.s, v->u.str.len); break;
    case JV_LIST:
    case JV_TUPLE:
        sb_put(buf, cap, o, v->kind == JV_LIST ? "[" : "(", 1);
        for (size_t i = 0; i < v->u.seq.n; i++) {
            if (i)
                sb_put(buf, cap, o, ", ", 2);
            to_text(v->u.seq.items[i], buf, cap, o, depth + 1);
        }
        sb_put(buf, cap, o, v->kind == JV_LIST ? "]" : ")", 1);
        break;
    case JV_DEVICE: sb_put(buf, cap, o, v->u.dev.type, strlen(v->u.dev.type)); break;
    default: {
        char d[128];
        jv_describe(v, d, sizeof d);
        sb_put(buf, cap, o, d, strlen(d));
    }
    }
}

static jv *str_of(ctx *c, jv *v)
{
    if (v->kind == JV_STR)
        return jv_ref(v);
    char buf[4096];
    size_t o = 0;
    buf[0] = 0;
    to_text(v, buf, sizeof buf, &o, 0);
    return chk(c, jv_str(buf, o));
}

static bool deep_eq(const jv *a, const jv *b, int depth)
{
    if (depth > 50)
        return false;
    if ((a->kind == JV_LIST || a->kind == JV_TUPLE) && a->kind == b->kind) {
        if (a->u.seq.n != b->u.seq.n)
            return false;
        for (size_t i = 0; i < a->u.seq.n; i++)
            if (!deep_eq(a->u.seq.items[i], b->u.seq.items[i], depth + 1))
                return false;
        return true;
    }
    if (a->kind == JV_TENSOR || b->kind == JV_TENSOR || a->kind == JV_OBJECT)
        return a == b;
    return jv_equal(a, b);
}

/* ------------------------------------------------------------ arithmetic */

static const char *binop_aten(int op)
{
    switch (op) {
    case TOP_ADD: return "add";
    case TOP_SUB: return "sub";
    case TOP_MUL: return "mul";
    case TOP_DIV: return "div";
    case TOP_FLOORDIV: return "floor_divide";
    case TOP_MOD: return "remainder";
    case TOP_POW: return "pow";
    case TOP_MATMUL: return "matmul";
    case TOP_BITAND: return "bitwise_and";
    case TOP_BITOR: return "bitwise_or";
    case TOP_BITXOR: return "bitwise_xor";
    case TOP_LSHIFT: return "__lshift__";
    case TOP_RSHIFT: return "__rshift__";
    case TOP_EQ: return "eq";
    case TOP_NE: return "ne";
    case TOP_LT: return "lt";
    case TOP_LE: return "le";
    case TOP_GT: return "gt";
    case TOP_GE: return "ge";
    default: return NULL;
    }
}

static int64_t floordiv_i(int64_t a, int64_t b)
{
    if (a == INT64_MIN && b == -1)
        return INT64_MIN;
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q--;
    return q;
}

static jv *num_binop(ctx *c, int line, int op, const jv *a, const jv *b)
{
    bool flt = a->kind == JV_FLOAT || b->kind == JV_FLOAT;
    if (!flt && op != TOP_DIV) {
        int64_t x = as_i(a), y = as_i(b);
        uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
        switch (op) {
        case TOP_ADD: return chk(c, jv_int((int64_t)(ux + uy)));
        case TOP_SUB: return chk(c, jv_int((int64_t)(ux - uy)));
        case TOP_MUL: return chk(c, jv_int((int64_t)(ux * uy)));
        case TOP_FLOORDIV:
        case TOP_MOD: {
            if (y == 0) {
                fail(c, line, CKPT_E_ARG,
                     "ZeroDivisionError: integer division or modulo by zero");
                return NULL;
            }
            int64_t q = floordiv_i(x, y);
            if (op == TOP_FLOORDIV)
                return chk(c, jv_int(q));
            return chk(c, jv_int((int64_t)(ux - (uint64_t)q * uy)));
        }
        case TOP_POW: {
            if (y < 0)
                return chk(c, jv_float(pow((double)x, (double)y)));
            uint64_t r = 1, base = ux;
            for (uint64_t e = uy; e; e >>= 1) {
                if (e & 1)
                    r *= base;
                base *= base;
            }
            return chk(c, jv_int((int64_t)r));
        }
        case TOP_BITAND:
            if (a->kind == JV_BOOL && b->kind == JV_BOOL)
                return jv_bool(a->u.b && b->u.b);
            return chk(c, jv_int(x & y));
        case TOP_BITOR:
            if (a->kind == JV_BOOL && b->kind == JV_BOOL)
                return jv_bool(a->u.b || b->u.b);
            return chk(c, jv_int(x | y));
        case TOP_BITXOR:
            if (a->kind == JV_BOOL && b->kind == JV_BOOL)
                return jv_bool(a->u.b != b->u.b);
            return chk(c, jv_int(x ^ y));
        case TOP_LSHIFT:
        case TOP_RSHIFT:
            if (y < 0 || y > 63) {
                fail(c, line, CKPT_E_ARG, "shift count %" PRId64 " out of range", y);
                return NULL;
            }
            return chk(c, jv_int(op == TOP_LSHIFT ? (int64_t)(ux << y) : x >> y));
        case TOP_EQ: return jv_bool(x == y);
        case TOP_NE: return jv_bool(x != y);
        case TOP_LT: return jv_bool(x < y);
        case TOP_LE: return jv_bool(x <= y);
        case TOP_GT: return jv_bool(x > y);
        case TOP_GE: return jv_bool(x >= y);
        default: break;
        }
    } else {
        double x = as_f(a), y = as_f(b);
        switch (op) {
        case TOP_ADD: return chk(c, jv_float(x + y));
        case TOP_SUB: return chk(c, jv_float(x - y));
        case TOP_MUL: return chk(c, jv_float(x * y));
        case TOP_DIV:
            if (y == 0) {
                fail(c, line, CKPT_E_ARG, "ZeroDivisionError: division by zero");
                return NULL;
            }
            return chk(c, jv_float(x / y));
        case TOP_FLOORDIV:
        case TOP_MOD: {
            if (y == 0) {
                fail(c, line, CKPT_E_ARG, "ZeroDivisionError: float modulo");
                return NULL;
            }
            double m = fmod(x, y);
            if (m != 0 && ((m < 0) != (y < 0)))
                m += y;
            if (op == TOP_MOD)
                return chk(c, jv_float(m));
            return chk(c, jv_float(floor((x - m) / y + 0.5)));
        }
        case TOP_POW: return chk(c, jv_float(pow(x, y)));
        case TOP_EQ: return jv_bool(x == y);
        case TOP_NE: return jv_bool(x != y);
        case TOP_LT: return jv_bool(x < y);
        case TOP_LE: return jv_bool(x <= y);
        case TOP_GT: return jv_bool(x > y);
        case TOP_GE: return jv_bool(x >= y);
        default: break;
        }
    }
    fail(c, line, CKPT_E_UNSUPPORTED, "operator %d on %s and %s", op, jv_kind_name(a->kind),
         jv_kind_name(b->kind));
    return NULL;
}

static jv *seq_concat(ctx *c, const jv *a, const jv *b)
{
    jv *r = a->kind == JV_LIST ? jv_list_new(a->u.seq.n + b->u.seq.n)
                               : jv_tuple_new(a->u.seq.n + b->u.seq.n);
    if (!r)
        return chk(c, NULL);
    for (size_t i = 0; i < a->u.seq.n; i++)
        if (jv_list_push(r, jv_ref(a->u.seq.items[i]), c->err) < 0)
            goto fail;
    for (size_t i = 0; i < b->u.seq.n; i++)
        if (jv_list_push(r, jv_ref(b->u.seq.items[i]), c->err) < 0)
            goto fail;
    return r;
fail:
    jv_unref(r);
    return NULL;
}

static jv *binop(ctx *c, int line, int op, jv *a, jv *b)
{
    if (a->kind == JV_TENSOR || b->kind == JV_TENSOR) {
        const char *nm = binop_aten(op);
        if (!nm) {
            fail(c, line, CKPT_E_UNSUPPORTED, "this operator on a tensor");
            return NULL;
        }
        if (a->kind == JV_TENSOR) {
            jv *args[2] = {a, b};
            return aten(c, line, nm, args, 2, NULL, NULL, 0);
        }
        /* scalar OP tensor */
        static const int swap_from[] = {TOP_ADD,    TOP_MUL,   TOP_EQ,    TOP_NE,
                                        TOP_LT,     TOP_LE,    TOP_GT,    TOP_GE,
                                        TOP_BITAND, TOP_BITOR, TOP_BITXOR};
        static const int swap_to[] = {TOP_ADD, TOP_MUL, TOP_EQ,     TOP_NE,    TOP_GT,    TOP_GE,
                                      TOP_LT,  TOP_LE,  TOP_BITAND, TOP_BITOR, TOP_BITXOR};
        for (size_t i = 0; i < sizeof swap_from / sizeof *swap_from; i++)
            if (swap_from[i] == op) {
                jv *args[2] = {b, a};
                return aten(c, line, binop_aten(swap_to[i]), args, 2, NULL, NULL, 0);
            }
        if (op == TOP_SUB) {
            jv *args[2] = {b, a};
            return aten(c, line, "rsub", args, 2, NULL, NULL, 0);
        }
        if (!is_num(a)) {
            fail(c, line, CKPT_E_UNSUPPORTED, "%s %s Tensor", jv_kind_name(a->kind), nm);
            return NULL;
        }
        jv *ta = scalar_tensor(c, a);
        if (!ta)
            return NULL;
        jv *args[2] = {ta, b};
        jv *r = aten(c, line, nm, args, 2, NULL, NULL, 0);
        jv_unref(ta);
        return r;
    }
    if (is_num(a) && is_num(b))
        return num_binop(c, line, op, a, b);
    if (op == TOP_EQ || op == TOP_NE) {
        bool e = deep_eq(a, b, 0);
        return jv_bool(op == TOP_EQ ? e : !e);
    }
    if (a->kind == JV_STR && b->kind == JV_STR) {
        if (op == TOP_ADD) {
            size_t n = a->u.str.len + b->u.str.len;
            char *s = malloc(n + 1);
            if (!s)
                return chk(c, NULL);
            memcpy(s, a->u.str.s, a->u.str.len);
            memcpy(s + a->u.str.len, b->u.str.s, b->u.str.len);
            jv *r = jv_str(s, n);
            free(s);
            return chk(c, r);
        }
        int cmp = strcmp(a->u.str.s, b->u.str.s);
        switch (op) {
        case TOP_LT: return jv_bool(cmp < 0);
        case TOP_LE: return jv_bool(cmp <= 0);
        case TOP_GT: return jv_bool(cmp > 0);
        case TOP_GE: return jv_bool(cmp >= 0);
        default: break;
        }
    }
    if (op == TOP_ADD && (a->kind == JV_LIST || a->kind == JV_TUPLE) && a->kind == b->kind)
        return seq_concat(c, a, b);
    if (op == TOP_MUL && (a->kind == JV_LIST || a->kind == JV_TUPLE || a->kind == JV_STR) &&
        (b->kind == JV_INT || b->kind == JV_BOOL)) {
        int64_t k = as_i(b);
        if (k < 0)
            k = 0;
        size_t n = a->kind == JV_STR ? a->u.str.len : a->u.seq.n;
        if (n && (uint64_t)k > TS_MAX_LIST / n) {
            fail(c, line, CKPT_E_LIMIT, "sequence repetition too long");
            return NULL;
        }
        if (a->kind == JV_STR) {
            size_t tot = n * (size_t)k;
            char *s = malloc(tot + 1);
            if (!s)
                return chk(c, NULL);
            for (int64_t i = 0; i < k; i++)
                memcpy(s + (size_t)i * n, a->u.str.s, n);
            jv *r = jv_str(s, tot);
            free(s);
            return chk(c, r);
        }
        jv *r = a->kind == JV_LIST ? jv_list_new(n * (size_t)k) : jv_tuple_new(n * (size_t)k);
        if (!r)
            return chk(c, NULL);
        for (int64_t i = 0; i < k; i++)
            for (size_t j = 0; j < n; j++)
                if (jv_list_push(r, jv_ref(a->u.seq.items[j]), c->err) < 0) {
                    jv_unref(r);
                    return NULL;
                }
        return r;
    }
    fail(c, line, CKPT_E_UNSUPPORTED, "operator %d between %s and %s", op, jv_kind_name(a->kind),
         jv_kind_name(b->kind));
    return NULL;
}

static int contains(ctx *c, int line, jv *hay, jv *needle, bool *out)
{
    *out = false;
    switch (hay->kind) {
    case JV_LIST:
    case JV_TUPLE:
        for (size_t i = 0; i < hay->u.seq.n; i++)
            if (deep_eq(hay->u.seq.items[i], needle, 0)) {
                *out = true;
                break;
            }
        return 0;
    case JV_DICT: *out = jv_dict_get(hay, needle) != NULL; return 0;
    case JV_STR:
        if (needle->kind != JV_STR)
            break;
        *out = strstr(hay->u.str.s, needle->u.str.s) != NULL;
        return 0;
    default: break;
    }
    return fail(c, line, CKPT_E_UNSUPPORTED, "'in' on %s", jv_kind_name(hay->kind));
}

static jv *compare(ctx *c, int line, int op, jv *a, jv *b)
{
    switch (op) {
    case TOP_IS:
    case TOP_ISNOT: {
        bool same;
        if (a->kind == JV_NONE || b->kind == JV_NONE)
            same = a->kind == b->kind;
        else if (a == b)
            same = true;
        else if (is_num(a) && is_num(b))
            same = a->kind == b->kind && jv_equal(a, b);
        else
            same = false;
        return jv_bool(op == TOP_IS ? same : !same);
    }
    case TOP_IN:
    case TOP_NOTIN: {
        bool in;
        if (contains(c, line, b, a, &in) < 0)
            return NULL;
        return jv_bool(op == TOP_IN ? in : !in);
    }
    default:
        if ((a->kind == JV_NONE || b->kind == JV_NONE) && (op == TOP_EQ || op == TOP_NE) &&
            a->kind != JV_TENSOR && b->kind != JV_TENSOR) {
            bool e = a->kind == b->kind;
            return jv_bool(op == TOP_EQ ? e : !e);
        }
        return binop(c, line, op, a, b);
    }
}

/* ------------------------------------------------------------ names */

static const struct {
    const char *name;
    int64_t st;
} dtype_names[] = {
    {"torch.uint8", 0},           {"torch.int8", 1},
    {"torch.int16", 2},           {"torch.short", 2},
    {"torch.int32", 3},           {"torch.int", 3},
    {"torch.int64", 4},           {"torch.long", 4},
    {"torch.float16", 5},         {"torch.half", 5},
    {"torch.float32", 6},         {"torch.float", 6},
    {"torch.float64", 7},         {"torch.double", 7},
    {"torch.bool", 11},           {"torch.qint8", 12},
    {"torch.quint8", 13},         {"torch.qint32", 14},
    {"torch.bfloat16", 15},       {"torch.contiguous_format", 0},
    {"torch.preserve_format", 1}, {"torch.channels_last", 2},
    {"torch.strided", 0},
};

/* A node naming a global (a NAME that is not a local, or an attribute chain
 * of one): its dotted text in buf. */
static bool dotted(frame *f, tnode *n, char *buf, size_t cap, int depth)
{
    if (depth > 64)
        return false;
    if (n->kind == TN_NAME) {
        if (frame_get(f, n->s))
            return false;
        if (strlen(n->s) + 1 > cap)
            return false;
        strcpy(buf, n->s);
        return true;
    }
    if (n->kind == TN_ATTR) {
        if (!dotted(f, n->kids[0], buf, cap, depth + 1))
            return false;
        size_t l = strlen(buf);
        if (l + 1 + strlen(n->s) + 1 > cap)
            return false;
        buf[l] = '.';
        strcpy(buf + l + 1, n->s);
        return true;
    }
    return false;
}

static void free_str(void *p)
{
    free(p);
}

/* The value of a global that is not called. */
static jv *global_value(ctx *c, int line, const char *name)
{
    ckpt_jit_model *m = c->rt->m;
    if (strncmp(name, "CONSTANTS.c", 11) == 0) {
        char *end;
        long long k = strtoll(name + 11, &end, 10);
        if (*end || k < 0 || !m->constants ||
            (m->constants->kind != JV_TUPLE && m->constants->kind != JV_LIST) ||
            (size_t)k >= m->constants->u.seq.n) {
            fail(c, line, CKPT_E_FORMAT, "%s is not in constants.pkl", name);
            return NULL;
        }
        return jv_ref(m->constants->u.seq.items[k]);
    }
    for (size_t i = 0; i < sizeof dtype_names / sizeof *dtype_names; i++)
        if (strcmp(name, dtype_names[i].name) == 0)
            return chk(c, jv_int(dtype_names[i].st));
    if (!strcmp(name, "math.inf") || !strcmp(name, "inf"))
        return chk(c, jv_float((double)INFINITY));
    if (!strcmp(name, "math.nan") || !strcmp(name, "nan"))
        return chk(c, jv_float((double)NAN));
    if (!strcmp(name, "math.pi"))
        return chk(c, jv_float(3.14159265358979323846));
    if (!strcmp(name, "math.e"))
        return chk(c, jv_float(2.71828182845904523536));
    if (!strncmp(name, "torch.classes.", 14) || !strncmp(name, "__torch__.torch.classes.", 24)) {
        fail(c, line, CKPT_E_UNSUPPORTED, "custom class %s is not supported", name);
        return NULL;
    }
    if (strncmp(name, "__torch__.", 10) != 0) {
        fail(c, line, CKPT_E_UNSUPPORTED, "unknown global %s (or a name used before it is set)",
             name);
        return NULL;
    }
    /* a class or function of the archive's code, only meaningful as a callee or a type */
    char *s = strdup(name);
    jv *v = s ? jv_opaque(s, free_str, "global") : NULL;
    if (!v)
        free(s);
    return chk(c, v);
}

/* ------------------------------------------------------------ finding code */

/* Look a method of class `qualname` up in the parsed files. */
static int find_in_files(ctx *c, const char *qualname, const char *method, ts_fn *out)
{
    const char *dot = strrchr(qualname, '.');
    if (!dot)
        return 0;
    ts_file *fl = file_find(c->st, qualname, (size_t)(dot - qualname));
    if (!fl)
        return 0;
    tnode *root = file_root(fl, c->err);
    if (!root)
        return c->err->code ? c->err->code : 0;
    tnode *cls = block_find(root, TS_CLASS, dot + 1);
    if (!cls)
        return 0;
    tnode *d = block_find(cls->kids[0], TS_DEF, method);
    if (!d)
        return 0;
    out->def = d;
    out->file = fl->record;
    return 1;
}

static int find_method(ctx *c, const jit_class *cls, const char *method, ts_fn *out)
{
    jit_method *mt = NULL;
    for (size_t i = 0; i < cls->n_methods; i++)
        if (cls->methods[i].name && strcmp(cls->methods[i].name, method) == 0)
            mt = &cls->methods[i];
    if (mt && mt->ast && mt->ast_free == mcache_free) {
        ts_mcache *mc = mt->ast;
        out->def = mc->def;
        out->file = mc->file;
        return 1;
    }
    int rc = find_in_files(c, cls->qualname, method, out);
    if (rc < 0)
        return rc;
    ts_tree *own = NULL;
    if (rc == 0 && mt && mt->source) {
        own = ts_parse(mt->source, strlen(mt->source), mt->file ? mt->file : cls->qualname,
                       mt->line > 0 ? mt->line : 1, c->err);
        if (!own)
            return c->err->code;
        tnode *d = block_find(own->root, TS_DEF, method);
        if (!d && own->root->n == 1 && own->root->kids[0]->kind == TS_DEF)
            d = own->root->kids[0];
        if (!d) {
            ts_tree_free(own);
            return 0;
        }
        out->def = d;
        out->file = mt->file ? mt->file : cls->qualname;
        rc = 1;
    }
    if (rc == 1 && mt && !mt->ast) {
        ts_mcache *mc = calloc(1, sizeof *mc);
        if (mc) {
            mc->own = own;
            mc->def = out->def;
            mc->file = out->file;
            mt->ast = mc;
            mt->ast_free = mcache_free;
            own = NULL;
        }
    }
    if (own) {
        /* could not cache it: keep it alive with the state by leaking into
         * nothing -- instead fail cleanly */
        ts_tree_free(own);
        return nomem(c);
    }
    return rc;
}

/* A module-level def "prefix.name" or a class method "prefix.Class.name". */
static int find_function(ctx *c, const char *dn, ts_fn *out, bool *is_class_method)
{
    *is_class_method = false;
    const char *dot = strrchr(dn, '.');
    if (!dot)
        return 0;
    ts_file *fl = file_find(c->st, dn, (size_t)(dot - dn));
    if (fl) {
        tnode *root = file_root(fl, c->err);
        if (!root)
            return c->err->code ? c->err->code : 0;
        tnode *d = block_find(root, TS_DEF, dot + 1);
        if (d) {
            out->def = d;
            out->file = fl->record;
            return 1;
        }
    }
    /* Class.method */
    const char *d2 = dot;
    while (d2 > dn && d2[-1] != '.')
        d2--;
    if (d2 <= dn + 1)
        return 0;
    fl = file_find(c->st, dn, (size_t)(d2 - 1 - dn));
    if (!fl)
        return 0;
    tnode *root = file_root(fl, c->err);
    if (!root)
        return c->err->code ? c->err->code : 0;
    char cname[256];
    size_t cl = (size_t)(dot - d2);
    if (cl >= sizeof cname)
        return 0;
    memcpy(cname, d2, cl);
    cname[cl] = 0;
    tnode *cls = block_find(root, TS_CLASS, cname);
    tnode *d = cls ? block_find(cls->kids[0], TS_DEF, dot + 1) : NULL;
    if (!d)
        return 0;
    out->def = d;
    out->file = fl->record;
    *is_class_method = true;
    return 1;
}

/* Does the model define class `qualname` in its code? */
static bool class_defined(ctx *c, const char *qualname)
{
    if (jit_class_find(c->rt->m, qualname))
        return true;
    const char *dot = strrchr(qualname, '.');
    if (!dot)
        return false;
    ts_file *fl = file_find(c->st, qualname, (size_t)(dot - qualname));
    if (!fl)
        return false;
    ckpt_error e2 = {0};
    tnode *root = file_root(fl, &e2);
    return root && block_find(root, TS_CLASS, dot + 1);
}

/* ------------------------------------------------------------ calling code */

static int call_def(ctx *c, ts_fn *fn, jv *self, jv **args, size_t n, const char **kwn, jv **kwv,
                    size_t nkw, int line, jv **res)
{
    jit_rt *rt = c->rt;
    if (rt->depth >= JIT_MAX_DEPTH)
        return fail(c, line, CKPT_E_LIMIT, "calls nested deeper than %d", JIT_MAX_DEPTH);
    tnode *params = fn->def->kids[0];
    const char *caller_file = rt->file;
    int64_t caller_line = rt->line;
    frame f = {0};
    int rc = 0;
    size_t pi = 0;
    if (self) {
        if (params->n == 0)
            return fail(c, line, CKPT_E_FORMAT, "method %s has no self parameter", fn->def->s);
        rc = frame_set(c, &f, params->kids[0]->s, jv_ref(self));
        pi = 1;
    }
    size_t np = params->n - pi;
    if (rc == 0 && n > np)
        rc = fail(c, line, CKPT_E_ARG, "%s() takes %zu arguments, %zu given", fn->def->s, np, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = frame_set(c, &f, params->kids[pi + i]->s, jv_ref(args[i]));
    for (size_t k = 0; rc == 0 && k < nkw; k++) {
        size_t j;
        for (j = pi; j < params->n; j++)
            if (strcmp(params->kids[j]->s, kwn[k]) == 0)
                break;
        if (j == params->n)
            rc = fail(c, line, CKPT_E_ARG, "%s() has no argument '%s'", fn->def->s, kwn[k]);
        else if (j < pi + n || frame_get(&f, kwn[k]))
            rc = fail(c, line, CKPT_E_ARG, "%s(): argument '%s' given twice", fn->def->s, kwn[k]);
        else
            rc = frame_set(c, &f, params->kids[j]->s, jv_ref(kwv[k]));
    }
    rt->depth++;
    rt->file = fn->file;
    for (size_t j = pi; rc == 0 && j < params->n; j++) {
        tnode *pa = params->kids[j];
        if (frame_get(&f, pa->s))
            continue;
        if (!pa->kids[1]) {
            rc = fail(c, line, CKPT_E_ARG, "%s(): argument '%s' is missing", fn->def->s, pa->s);
            break;
        }
        jv *d = ev(c, &f, pa->kids[1]);
        rc = d ? frame_set(c, &f, pa->s, d) : c->err->code;
    }
    if (rc == 0) {
        rc = exec_block(c, &f, fn->def->kids[1]);
        if (rc >= 0) {
            *res = f.ret ? f.ret : jv_none();
            f.ret = NULL;
            rc = 0;
        }
    }
    frame_clear(&f);
    rt->depth--;
    if (rc == 0) {
        rt->file = caller_file;
        rt->line = caller_line;
    }
    return rc < 0 ? rc : 0;
}

static int call_method_of_object(ctx *c, jv *self, const char *name, jv **args, size_t n,
                                 const char **kwn, jv **kwv, size_t nkw, int line, jv **res)
{
    jit_class *cls = self->u.obj.cls;
    const char *qn = cls && cls->qualname ? cls->qualname : "?";
    if (strncmp(qn, "__torch__.torch.classes.", 24) == 0 ||
        strncmp(qn, "torch.classes.", 14) == 0)
        return fail(c, line, CKPT_E_UNSUPPORTED, "custom class %s (method %s) is not supported",
                    qn, name);
    ts_fn fn = {0};
    int rc = cls ? find_method(c, cls, name, &fn) : 0;
    if (rc < 0)
        return rc;
    if (rc == 0)
        return fail(c, line, CKPT_E_NOT_FOUND, "class %s has no method %s in the archive's code",
                    qn, name);
    return call_def(c, &fn, self, args, n, kwn, kwv, nkw, line, res);
}

/* ------------------------------------------------------------ builtins */

static jv *seq_from_iterable(ctx *c, int line, jv *v, int kind)
{
    jv *r = kind == JV_LIST ? jv_list_new(0) : jv_tuple_new(0);
    if (!r)
        return chk(c, NULL);
    if (v->kind == JV_LIST || v->kind == JV_TUPLE) {
        for (size_t i = 0; i < v->u.seq.n; i++)
            if (jv_list_push(r, jv_ref(v->u.seq.items[i]), c->err) < 0)
                goto fail;
        return r;
    }
    if (v->kind == JV_DICT) {
        for (size_t i = 0; i < v->u.dict.n; i++)
            if (jv_list_push(r, jv_ref(v->u.dict.keys[i]), c->err) < 0)
                goto fail;
        return r;
    }
    if (v->kind == JV_STR) {
        for (size_t i = 0; i < v->u.str.len; i++) {
            jv *ch = jv_str(v->u.str.s + i, 1);
            if (!ch || jv_list_push(r, ch, c->err) < 0) {
                nomem(c);
                goto fail;
            }
        }
        return r;
    }
    if (v->kind == JV_TENSOR) {
        const ox_val *t = &v->u.t->t;
        if (t->rank < 1) {
            fail(c, line, CKPT_E_SHAPE, "iteration over a 0-d tensor");
            goto fail;
        }
        for (int64_t i = 0; i < t->dims[0]; i++) {
            jv *zero = jv_int(0), *ii = jv_int(i);
            jv *args[3] = {v, zero, ii};
            jv *s = zero && ii ? aten(c, line, "select", args, 3, NULL, NULL, 0) : chk(c, NULL);
            jv_unref(zero);
            jv_unref(ii);
            if (!s || jv_list_push(r, s, c->err) < 0)
                goto fail;
        }
        return r;
    }
    fail(c, line, CKPT_E_UNSUPPORTED, "iteration over %s", jv_kind_name(v->kind));
fail:
    jv_unref(r);
    return NULL;
}

static jv *range_list(ctx *c, int line, jv **a, size_t n)
{
    int64_t lo = 0, hi, st = 1;
    for (size_t i = 0; i < n; i++)
        if (a[i]->kind != JV_INT && a[i]->kind != JV_BOOL) {
            fail(c, line, CKPT_E_ARG, "range() takes ints, got %s", jv_kind_name(a[i]->kind));
            return NULL;
        }
    if (n == 1)
        hi = as_i(a[0]);
    else if (n == 2 || n == 3) {
        lo = as_i(a[0]);
        hi = as_i(a[1]);
        if (n == 3)
            st = as_i(a[2]);
    } else {
        fail(c, line, CKPT_E_ARG, "range() takes 1 to 3 arguments");
        return NULL;
    }
    if (st == 0) {
        fail(c, line, CKPT_E_ARG, "range() step is zero");
        return NULL;
    }
    double cnt = st > 0 ? ceil(((double)hi - (double)lo) / (double)st)
                        : ceil(((double)lo - (double)hi) / (double)-st);
    if (cnt < 0)
        cnt = 0;
    if (cnt > TS_MAX_LIST) {
        fail(c, line, CKPT_E_LIMIT, "range of %.0f elements", cnt);
        return NULL;
    }
    jv *r = jv_list_new((size_t)cnt);
    if (!r)
        return chk(c, NULL);
    for (int64_t i = 0; i < (int64_t)cnt; i++) {
        jv *x = jv_int(lo + i * st);
        if (!x || jv_list_push(r, x, c->err) < 0) {
            jv_unref(r);
            return chk(c, NULL);
        }
    }
    return r;
}

static jv *fmt_string(ctx *c, int line, const jv *fmt, jv **a, size_t n)
{
    char buf[8192];
    size_t o = 0, next = 0;
    buf[0] = 0;
    const char *s = fmt->u.str.s;
    size_t L = fmt->u.str.len;
    for (size_t i = 0; i < L; i++) {
        if (s[i] == '{' && i + 1 < L && s[i + 1] == '{') {
            sb_put(buf, sizeof buf, &o, "{", 1);
            i++;
        } else if (s[i] == '}' && i + 1 < L && s[i + 1] == '}') {
            sb_put(buf, sizeof buf, &o, "}", 1);
            i++;
        } else if (s[i] == '{') {
            size_t j = i + 1;
            while (j < L && s[j] != '}')
                j++;
            if (j >= L) {
                fail(c, line, CKPT_E_FORMAT, "unterminated '{' in a format string");
                return NULL;
            }
            size_t idx = next++;
            if (j > i + 1 && s[i + 1] >= '0' && s[i + 1] <= '9')
                idx = (size_t)strtoul(s + i + 1, NULL, 10);
            if (idx >= n) {
                fail(c, line, CKPT_E_ARG, "format string needs more arguments");
                return NULL;
            }
            to_text(a[idx], buf, sizeof buf, &o, 0);
            i = j;
        } else {
            sb_put(buf, sizeof buf, &o, s + i, 1);
        }
    }
    return chk(c, jv_str(buf, o));
}

static jv *minmax(ctx *c, int line, bool is_max, jv **a, size_t n)
{
    jv **items = a;
    size_t cnt = n;
    if (n == 1 && (a[0]->kind == JV_LIST || a[0]->kind == JV_TUPLE)) {
        items = a[0]->u.seq.items;
        cnt = a[0]->u.seq.n;
    }
    if (n == 2 && (a[0]->kind == JV_TENSOR || a[1]->kind == JV_TENSOR))
        return aten(c, line, is_max ? "maximum" : "minimum", a, 2, NULL, NULL, 0);
    if (n == 1 && a[0]->kind == JV_TENSOR)
        return aten(c, line, is_max ? "max" : "min", a, 1, NULL, NULL, 0);
    if (cnt == 0) {
        fail(c, line, CKPT_E_ARG, "%s() of an empty sequence", is_max ? "max" : "min");
        return NULL;
    }
    jv *best = items[0];
    for (size_t i = 1; i < cnt; i++) {
        jv *gt = binop(c, line, is_max ? TOP_GT : TOP_LT, items[i], best);
        if (!gt)
            return NULL;
        bool t = gt->kind == JV_BOOL && gt->u.b;
        jv_unref(gt);
        if (t)
            best = items[i];
    }
    return jv_ref(best);
}

static jv *to_int(ctx *c, int line, jv *v)
{
    switch (v->kind) {
    case JV_INT: return jv_ref(v);
    case JV_BOOL: return chk(c, jv_int(v->u.b));
    case JV_FLOAT:
        if (!isfinite(v->u.f) || fabs(v->u.f) >= 9.2e18) {
            fail(c, line, CKPT_E_ARG, "int() of %g", v->u.f);
            return NULL;
        }
        return chk(c, jv_int((int64_t)v->u.f));
    case JV_STR: {
        char *end;
        long long x = strtoll(v->u.str.s, &end, 10);
        if (end == v->u.str.s || *end) {
            fail(c, line, CKPT_E_ARG, "int() of '%s'", v->u.str.s);
            return NULL;
        }
        return chk(c, jv_int(x));
    }
    case JV_TENSOR: {
        double d;
        int64_t i;
        bool ii;
        if (tensor_scalar(c, line, v, &d, &i, &ii) < 0)
            return NULL;
        return chk(c, jv_int(i));
    }
    default: fail(c, line, CKPT_E_ARG, "int() of %s", jv_kind_name(v->kind)); return NULL;
    }
}

static jv *to_float(ctx *c, int line, jv *v)
{
    switch (v->kind) {
    case JV_FLOAT: return jv_ref(v);
    case JV_INT:
    case JV_BOOL: return chk(c, jv_float((double)as_i(v)));
    case JV_STR: {
        char *end;
        double x = strtod(v->u.str.s, &end);
        if (end == v->u.str.s || *end) {
            fail(c, line, CKPT_E_ARG, "float() of '%s'", v->u.str.s);
            return NULL;
        }
        return chk(c, jv_float(x));
    }
    case JV_TENSOR: {
        double d;
        int64_t i;
        bool ii;
        if (tensor_scalar(c, line, v, &d, &i, &ii) < 0)
            return NULL;
        return chk(c, jv_float(d));
    }
    default: fail(c, line, CKPT_E_ARG, "float() of %s", jv_kind_name(v->kind)); return NULL;
    }
}

static jv *make_pairs(ctx *c, int line, jv **a, size_t n, bool enumerate)
{
    jv *lists[TS_MAX_ARGS];
    size_t cnt = SIZE_MAX;
    jv *r = NULL;
    size_t nl = enumerate ? 1 : n;
    for (size_t i = 0; i < nl; i++)
        lists[i] = NULL;
    for (size_t i = 0; i < nl; i++) {
        lists[i] = seq_from_iterable(c, line, a[i], JV_LIST);
        if (!lists[i])
            goto done;
        if (lists[i]->u.seq.n < cnt)
            cnt = lists[i]->u.seq.n;
    }
    if (cnt == SIZE_MAX)
        cnt = 0;
    int64_t start = enumerate && n > 1 ? as_i(a[1]) : 0;
    r = jv_list_new(cnt);
    if (!r) {
        nomem(c);
        goto done;
    }
    for (size_t k = 0; k < cnt; k++) {
        jv *t = jv_tuple_new(nl + 1);
        if (!t) {
            nomem(c);
            goto bad;
        }
        if (enumerate) {
            jv *ii = jv_int(start + (int64_t)k);
            if (!ii || jv_list_push(t, ii, c->err) < 0) {
                jv_unref(t);
                nomem(c);
                goto bad;
            }
        }
        for (size_t i = 0; i < nl; i++)
            if (jv_list_push(t, jv_ref(lists[i]->u.seq.items[k]), c->err) < 0) {
                jv_unref(t);
                goto bad;
            }
        if (jv_list_push(r, t, c->err) < 0)
            goto bad;
    }
    goto done;
bad:
    jv_unref(r);
    r = NULL;
done:
    for (size_t i = 0; i < nl; i++)
        jv_unref(lists[i]);
    return r;
}

/* Tensor metadata ops computed here when the op library lacks them. */
static jv *tensor_meta(ctx *c, int line, const char *name, jv **a, size_t n, bool *handled)
{
    *handled = false;
    if (n < 1 || a[0]->kind != JV_TENSOR)
        return NULL;
    const ox_val *t = &a[0]->u.t->t;
    if (!strcmp(name, "dim") && n == 1) {
        *handled = true;
        return chk(c, jv_int(t->rank));
    }
    if (!strcmp(name, "numel") && n == 1) {
        *handled = true;
        return chk(c, jv_int(t->numel));
    }
    if (!strcmp(name, "len") && n == 1) {
        *handled = true;
        if (t->rank < 1) {
            fail(c, line, CKPT_E_SHAPE, "len() of a 0-d tensor");
            return NULL;
        }
        return chk(c, jv_int(t->dims[0]));
    }
    if (!strcmp(name, "size") && (n == 1 || n == 2)) {
        *handled = true;
        if (n == 2) {
            if (a[1]->kind != JV_INT) {
                fail(c, line, CKPT_E_ARG, "size(dim): dim must be an int");
                return NULL;
            }
            int64_t d = a[1]->u.i;
            if (d < 0)
                d += t->rank;
            if (d < 0 || d >= t->rank) {
                fail(c, line, CKPT_E_SHAPE, "dimension %" PRId64 " out of range for rank %d",
                     a[1]->u.i, t->rank);
                return NULL;
            }
            return chk(c, jv_int(t->dims[d]));
        }
        jv *l = jv_list_new((size_t)t->rank);
        if (!l)
            return chk(c, NULL);
        for (int i = 0; i < t->rank; i++) {
            jv *x = jv_int(t->dims[i]);
            if (!x || jv_list_push(l, x, c->err) < 0) {
                jv_unref(l);
                return chk(c, NULL);
            }
        }
        return l;
    }
    return NULL;
}

/* An aten op, with the metadata fallbacks. */
static jv *aten_or_meta(ctx *c, int line, const char *name, jv **a, size_t n, const char **kwn,
                        jv **kwv, size_t nkw)
{
    if (!jit_aten_has(name) && nkw == 0) {
        bool handled;
        jv *r = tensor_meta(c, line, name, a, n, &handled);
        if (handled)
            return r;
        /* unsafe_chunk / unsafe_split are chunk / split without the aliasing checks */
        static const char *const unsafe[][2] = {{"unsafe_chunk", "chunk"},
                                                {"unsafe_split", "split"},
                                                {"unsafe_split_with_sizes", "split_with_sizes"}};
        for (size_t i = 0; i < sizeof unsafe / sizeof *unsafe; i++)
            if (!strcmp(name, unsafe[i][0]) && jit_aten_has(unsafe[i][1]))
                return aten(c, line, unsafe[i][1], a, n, kwn, kwv, nkw);
        /* the deprecated aten::_cast_Long(self, non_blocking) family is self.to(dtype) */
        static const struct {
            const char *name;
            int64_t st;
        } casts[] = {{"_cast_Byte", 0},  {"_cast_Char", 1},  {"_cast_Short", 2},
                     {"_cast_Int", 3},   {"_cast_Long", 4},  {"_cast_Half", 5},
                     {"_cast_Float", 6}, {"_cast_Double", 7}};
        for (size_t i = 0; i < sizeof casts / sizeof *casts; i++)
            if (!strcmp(name, casts[i].name) && n >= 1 && n <= 2 && a[0]->kind == JV_TENSOR) {
                jv *dt = jv_int(casts[i].st);
                if (!dt)
                    return chk(c, NULL);
                jv *args[2] = {a[0], dt};
                r = aten(c, line, "to", args, 2, NULL, NULL, 0);
                jv_unref(dt);
                return r;
            }
    }
    return aten(c, line, name, a, n, kwn, kwv, nkw);
}

static bool any_tensor(jv **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i]->kind == JV_TENSOR)
            return true;
    return false;
}

static int seq_index(ctx *c, int line, int64_t i, size_t n, size_t *out);
static jv *list_method(ctx *c, int line, jv *self, const char *name, jv **a, size_t n,
                       bool *handled);
static jv *dict_method(ctx *c, int line, jv *self, const char *name, jv **a, size_t n,
                       bool *handled);

/* Functions on non-tensor values that the printer writes as `torch.X` or
 * `ops.aten.X` (aten's int/float/list overloads) or as builtins. */
static jv *native_fn(ctx *c, int line, const char *name, jv **a, size_t n, bool *handled)
{
    *handled = true;
    if (!strcmp(name, "len") && n == 1) {
        if (a[0]->kind == JV_LIST || a[0]->kind == JV_TUPLE)
            return chk(c, jv_int((int64_t)a[0]->u.seq.n));
        if (a[0]->kind == JV_DICT)
            return chk(c, jv_int((int64_t)a[0]->u.dict.n));
        if (a[0]->kind == JV_STR)
            return chk(c, jv_int((int64_t)a[0]->u.str.len));
        if (a[0]->kind == JV_TENSOR) {
            bool h;
            return tensor_meta(c, line, "len", a, 1, &h);
        }
    }
    if ((!strcmp(name, "__is__") || !strcmp(name, "__isnot__")) && n == 2)
        return compare(c, line, !strcmp(name, "__is__") ? TOP_IS : TOP_ISNOT, a[0], a[1]);
    if (!strcmp(name, "__not__") && n == 1) {
        bool t;
        if (truth(c, line, a[0], &t) < 0)
            return NULL;
        return jv_bool(!t);
    }
    if ((!strcmp(name, "_unwrap_optional") || !strcmp(name, "unchecked_unwrap_optional")) &&
        n == 1) {
        if (a[0]->kind == JV_NONE) {
            fail(c, line, CKPT_E_ARG, "unwrapping an Optional that is None");
            return NULL;
        }
        return jv_ref(a[0]);
    }
    if (!strcmp(name, "__range_length") && n == 3) {
        int64_t lo = as_i(a[0]), hi = as_i(a[1]), st = as_i(a[2]);
        if (st == 0) {
            fail(c, line, CKPT_E_ARG, "range step is zero");
            return NULL;
        }
        int64_t r = st > 0 ? (lo < hi ? (hi - lo + st - 1) / st : 0)
                           : (lo > hi ? (lo - hi - st - 1) / -st : 0);
        return chk(c, jv_int(r));
    }
    if (!strcmp(name, "__derive_index") && n == 3)
        return chk(c, jv_int((int64_t)((uint64_t)as_i(a[1]) +
                                       (uint64_t)as_i(a[0]) * (uint64_t)as_i(a[2]))));
    if ((!strcmp(name, "Int") || !strcmp(name, "ScalarImplicit") ||
         !strcmp(name, "IntImplicit")) &&
        n == 1 && a[0]->kind == JV_TENSOR)
        return to_int(c, line, a[0]);
    if ((!strcmp(name, "Float") || !strcmp(name, "FloatImplicit")) && n == 1)
        return to_float(c, line, a[0]);
    if (!strcmp(name, "Bool") && n == 1) {
        bool t;
        if (truth(c, line, a[0], &t) < 0)
            return NULL;
        return jv_bool(t);
    }
    if (!strcmp(name, "warn") || !strcmp(name, "print"))
        return jv_none();
    if (!strcmp(name, "format") && n >= 1 && a[0]->kind == JV_STR)
        return fmt_string(c, line, a[0], a + 1, n - 1);
    if (!strcmp(name, "str") && n == 1)
        return str_of(c, a[0]);
    /* aten::all.bool / aten::any.bool: over a list of bools (or ints) */
    if ((!strcmp(name, "all") || !strcmp(name, "any")) && n == 1 && a[0]->kind == JV_LIST) {
        bool all = name[1] == 'l', acc = all;
        for (size_t i = 0; i < a[0]->u.seq.n; i++) {
            const jv *x = a[0]->u.seq.items[i];
            if (x->kind != JV_BOOL && x->kind != JV_INT)
                break;
            bool t = x->kind == JV_BOOL ? x->u.b : x->u.i != 0;
            acc = all ? (acc && t) : (acc || t);
            if (i + 1 == a[0]->u.seq.n || acc != all)
                return jv_bool(acc);
        }
        if (a[0]->u.seq.n == 0)
            return jv_bool(all);
    }
    /* aten::find(str self, str substr, int start=0, int end=-1): index or -1 */
    if (!strcmp(name, "find") && n >= 2 && n <= 4 && a[0]->kind == JV_STR &&
        a[1]->kind == JV_STR && (n < 3 || a[2]->kind == JV_INT) &&
        (n < 4 || a[3]->kind == JV_INT)) {
        int64_t len = (int64_t)a[0]->u.str.len;
        int64_t b = n >= 3 ? a[2]->u.i : 0, e = n >= 4 ? a[3]->u.i : len;
        if (b < 0)
            b = b + len < 0 ? 0 : b + len;
        if (e < 0)
            e = e + len < 0 ? 0 : e + len;
        if (e > len)
            e = len;
        int64_t sl = (int64_t)a[1]->u.str.len;
        for (int64_t i = b; i + sl <= e; i++)
            if (memcmp(a[0]->u.str.s + i, a[1]->u.str.s, (size_t)sl) == 0)
                return jv_int(i);
        return jv_int(-1);
    }
    if (!strcmp(name, "list") && n == 1)
        return seq_from_iterable(c, line, a[0], JV_LIST);
    if (!strcmp(name, "_set_item") && n == 3 &&
        (a[0]->kind == JV_LIST || a[0]->kind == JV_DICT)) {
        if (nest_ok(c, line, a[0], a[2]) < 0 || nest_ok(c, line, a[0], a[1]) < 0)
            return NULL;
        if (a[0]->kind == JV_DICT) {
            if (jv_dict_set(a[0], jv_ref(a[1]), jv_ref(a[2]), c->err) < 0)
                return NULL;
            return jv_none();
        }
        size_t i = 0;
        if (a[1]->kind != JV_INT || seq_index(c, line, a[1]->u.i, a[0]->u.seq.n, &i) < 0) {
            if (!c->err->code)
                fail(c, line, CKPT_E_ARG, "list index must be an int");
            return NULL;
        }
        jv_unref(a[0]->u.seq.items[i]);
        a[0]->u.seq.items[i] = jv_ref(a[2]);
        return jv_none();
    }
    if (!strcmp(name, "__contains__") && n == 2 && !any_tensor(a, 1)) {
        bool in;
        if (contains(c, line, a[0], a[1], &in) < 0)
            return NULL;
        return jv_bool(in);
    }
    if (!strcmp(name, "__getitem__") && n == 2 &&
        (a[0]->kind == JV_LIST || a[0]->kind == JV_TUPLE) && a[1]->kind == JV_INT) {
        int64_t i = a[1]->u.i, L = (int64_t)a[0]->u.seq.n;
        if (i < 0)
            i += L;
        if (i < 0 || i >= L) {
            fail(c, line, CKPT_E_ARG, "list index out of range");
            return NULL;
        }
        return jv_ref(a[0]->u.seq.items[i]);
    }
    if (!any_tensor(a, n) && n >= 1 && (a[0]->kind == JV_LIST || a[0]->kind == JV_DICT)) {
        bool h;
        jv *r = a[0]->kind == JV_LIST ? list_method(c, line, a[0], name, a + 1, n - 1, &h)
                                      : dict_method(c, line, a[0], name, a + 1, n - 1, &h);
        if (h)
            return r;
    }
    if (!any_tensor(a, n) && n >= 1 && is_num(a[0])) {
        static const struct {
            const char *name;
            double (*f)(double);
        } m1[] = {{"sqrt", sqrt},   {"exp", exp},   {"log", log},     {"sin", sin},
                  {"cos", cos},     {"tanh", tanh}, {"log10", log10}, {"log1p", log1p},
                  {"expm1", expm1}, {"tan", tan},   {"atan", atan},   {"asin", asin},
                  {"acos", acos},   {"erf", erf}};
        for (size_t i = 0; i < sizeof m1 / sizeof *m1 && n == 1; i++)
            if (!strcmp(name, m1[i].name))
                return chk(c, jv_float(m1[i].f(as_f(a[0]))));
        if ((!strcmp(name, "floor") || !strcmp(name, "ceil")) && n == 1) {
            if (a[0]->kind != JV_FLOAT)
                return chk(c, jv_int(as_i(a[0])));
            double d = name[0] == 'f' ? floor(a[0]->u.f) : ceil(a[0]->u.f);
            if (!isfinite(d) || fabs(d) >= 9.2e18) {
                fail(c, line, CKPT_E_ARG, "%s() of %g", name, a[0]->u.f);
                return NULL;
            }
            return chk(c, jv_int((int64_t)d));
        }
        if (!strcmp(name, "abs") && n == 1) {
            if (a[0]->kind == JV_FLOAT)
                return chk(c, jv_float(fabs(a[0]->u.f)));
            int64_t x = as_i(a[0]);
            return chk(c, jv_int(x < 0 ? (int64_t)(0ull - (uint64_t)x) : x));
        }
        if (!strcmp(name, "neg") && n == 1)
            return a[0]->kind == JV_FLOAT
                       ? chk(c, jv_float(-a[0]->u.f))
                       : chk(c, jv_int((int64_t)(0ull - (uint64_t)as_i(a[0]))));
        static const struct {
            const char *name;
            int op;
        } m2[] = {{"add", TOP_ADD},
                  {"sub", TOP_SUB},
                  {"mul", TOP_MUL},
                  {"div", TOP_DIV},
                  {"floordiv", TOP_FLOORDIV},
                  {"remainder", TOP_MOD},
                  {"pow", TOP_POW},
                  {"eq", TOP_EQ},
                  {"ne", TOP_NE},
                  {"lt", TOP_LT},
                  {"le", TOP_LE},
                  {"gt", TOP_GT},
                  {"ge", TOP_GE},
                  {"__and__", TOP_BITAND},
                  {"__or__", TOP_BITOR},
                  {"__xor__", TOP_BITXOR}};
        for (size_t i = 0; i < sizeof m2 / sizeof *m2 && n == 2; i++)
            if (!strcmp(name, m2[i].name) && is_num(a[1]))
                return num_binop(c, line, m2[i].op, a[0], a[1]);
        if ((!strcmp(name, "min") || !strcmp(name, "max")) && n == 2)
            return minmax(c, line, name[1] == 'a', a, n);
    }
    if ((!strcmp(name, "min") || !strcmp(name, "max")) && n == 1 &&
        (a[0]->kind == JV_LIST || a[0]->kind == JV_TUPLE))
        return minmax(c, line, name[1] == 'a', a, n);
    if (!strcmp(name, "device") && n >= 1 && a[0]->kind == JV_STR) {
        const char *s = a[0]->u.str.s;
        const char *colon = strchr(s, ':');
        char ty[32];
        size_t tl = colon ? (size_t)(colon - s) : strlen(s);
        if (tl >= sizeof ty)
            tl = sizeof ty - 1;
        memcpy(ty, s, tl);
        ty[tl] = 0;
        return chk(c, jv_device(ty, colon ? strtoll(colon + 1, NULL, 10) : -1));
    }
    *handled = false;
    return NULL;
}

static int seq_index(ctx *c, int line, int64_t i, size_t n, size_t *out)
{
    *out = 0;
    int64_t L = (int64_t)n;
    if (i < 0)
        i += L;
    if (i < 0 || i >= L)
        return fail(c, line, CKPT_E_ARG, "index %" PRId64 " out of range for length %zu", i, n);
    *out = (size_t)i;
    return 0;
}

static jv *list_method(ctx *c, int line, jv *self, const char *name, jv **a, size_t n,
                       bool *handled)
{
    *handled = true;
    if (!strcmp(name, "append") && n == 1) {
        if (nest_ok(c, line, self, a[0]) < 0 || jv_list_push(self, jv_ref(a[0]), c->err) < 0)
            return NULL;
        return jv_none();
    }
    if (!strcmp(name, "extend") && n == 1 && (a[0]->kind == JV_LIST || a[0]->kind == JV_TUPLE)) {
        size_t k = a[0]->u.seq.n;
        if (nest_ok(c, line, self, a[0]) < 0)
            return NULL;
        for (size_t i = 0; i < k; i++)
            if (jv_list_push(self, jv_ref(a[0]->u.seq.items[i]), c->err) < 0)
                return NULL;
        return jv_none();
    }
    if (!strcmp(name, "insert") && n == 2 && a[0]->kind == JV_INT) {
        int64_t i = a[0]->u.i, L = (int64_t)self->u.seq.n;
        if (i < 0)
            i += L;
        if (i < 0)
            i = 0;
        if (i > L)
            i = L;
        if (nest_ok(c, line, self, a[1]) < 0 || jv_list_push(self, jv_ref(a[1]), c->err) < 0)
            return NULL;
        jv **it = self->u.seq.items;
        jv *x = it[L];
        memmove(it + i + 1, it + i, (size_t)(L - i) * sizeof *it);
        it[i] = x;
        return jv_none();
    }
    if (!strcmp(name, "pop") && n <= 1) {
        size_t k = 0;
        if (self->u.seq.n == 0) {
            fail(c, line, CKPT_E_ARG, "pop from an empty list");
            return NULL;
        }
        if (seq_index(c, line, n ? as_i(a[0]) : -1, self->u.seq.n, &k) < 0)
            return NULL;
        jv *x = self->u.seq.items[k];
        memmove(self->u.seq.items + k, self->u.seq.items + k + 1,
                (self->u.seq.n - k - 1) * sizeof(jv *));
        self->u.seq.n--;
        return x;
    }
    if (!strcmp(name, "clear") && n == 0) {
        for (size_t i = 0; i < self->u.seq.n; i++)
            jv_unref(self->u.seq.items[i]);
        self->u.seq.n = 0;
        return jv_none();
    }
    if ((!strcmp(name, "index") || !strcmp(name, "count")) && n == 1) {
        int64_t cnt = 0;
        for (size_t i = 0; i < self->u.seq.n; i++)
            if (deep_eq(self->u.seq.items[i], a[0], 0)) {
                if (name[0] == 'i')
                    return chk(c, jv_int((int64_t)i));
                cnt++;
            }
        if (name[0] == 'i') {
            fail(c, line, CKPT_E_ARG, "list.index(x): x not in list");
            return NULL;
        }
        return chk(c, jv_int(cnt));
    }
    if (!strcmp(name, "remove") && n == 1) {
        for (size_t i = 0; i < self->u.seq.n; i++)
            if (deep_eq(self->u.seq.items[i], a[0], 0)) {
                jv_unref(self->u.seq.items[i]);
                memmove(self->u.seq.items + i, self->u.seq.items + i + 1,
                        (self->u.seq.n - i - 1) * sizeof(jv *));
                self->u.seq.n--;
                return jv_none();
            }
        fail(c, line, CKPT_E_ARG, "list.remove(x): x not in list");
        return NULL;
    }
    if (!strcmp(name, "reverse") && n == 0) {
        for (size_t i = 0, j = self->u.seq.n; i + 1 < j; i++, j--) {
            jv *t = self->u.seq.items[i];
            self->u.seq.items[i] = self->u.seq.items[j - 1];
            self->u.seq.items[j - 1] = t;
        }
        return jv_none();
    }
    if (!strcmp(name, "copy") && n == 0)
        return seq_from_iterable(c, line, self, JV_LIST);
    *handled = false;
    return NULL;
}

static jv *dict_method(ctx *c, int line, jv *self, const char *name, jv **a, size_t n,
                       bool *handled)
{
    *handled = true;
    size_t N = self->u.dict.n;
    if ((!strcmp(name, "keys") || !strcmp(name, "values") || !strcmp(name, "items")) && n == 0) {
        jv *r = jv_list_new(N);
        if (!r)
            return chk(c, NULL);
        for (size_t i = 0; i < N; i++) {
            jv *x;
            if (name[0] == 'k')
                x = jv_ref(self->u.dict.keys[i]);
            else if (name[0] == 'v')
                x = jv_ref(self->u.dict.vals[i]);
            else {
                x = jv_tuple_new(2);
                if (x && (jv_list_push(x, jv_ref(self->u.dict.keys[i]), c->err) < 0 ||
                          jv_list_push(x, jv_ref(self->u.dict.vals[i]), c->err) < 0)) {
                    jv_unref(x);
                    x = NULL;
                }
            }
            if (!x || jv_list_push(r, x, c->err) < 0) {
                jv_unref(r);
                return chk(c, NULL);
            }
        }
        return r;
    }
    if (!strcmp(name, "get") && (n == 1 || n == 2)) {
        jv *v = jv_dict_get(self, a[0]);
        return jv_ref(v ? v : n == 2 ? a[1] : jv_none());
    }
    if (!strcmp(name, "__contains__") && n == 1)
        return jv_bool(jv_dict_get(self, a[0]) != NULL);
    if (!strcmp(name, "setdefault") && n == 2) {
        jv *v = jv_dict_get(self, a[0]);
        if (v)
            return jv_ref(v);
        if (nest_ok(c, line, self, a[1]) < 0 || nest_ok(c, line, self, a[0]) < 0 ||
            jv_dict_set(self, jv_ref(a[0]), jv_ref(a[1]), c->err) < 0)
            return NULL;
        return jv_ref(a[1]);
    }
    if (!strcmp(name, "pop") && (n == 1 || n == 2)) {
        for (size_t i = 0; i < N; i++)
            if (jv_equal(self->u.dict.keys[i], a[0])) {
                jv *v = self->u.dict.vals[i];
                jv_unref(self->u.dict.keys[i]);
                memmove(self->u.dict.keys + i, self->u.dict.keys + i + 1,
                        (N - i - 1) * sizeof(jv *));
                memmove(self->u.dict.vals + i, self->u.dict.vals + i + 1,
                        (N - i - 1) * sizeof(jv *));
                self->u.dict.n--;
                return v;
            }
        if (n == 2)
            return jv_ref(a[1]);
        fail(c, line, CKPT_E_ARG, "KeyError in dict.pop");
        return NULL;
    }
    if (!strcmp(name, "update") && n == 1 && a[0]->kind == JV_DICT) {
        if (nest_ok(c, line, self, a[0]) < 0)
            return NULL;
        for (size_t i = 0; i < a[0]->u.dict.n; i++)
            if (jv_dict_set(self, jv_ref(a[0]->u.dict.keys[i]), jv_ref(a[0]->u.dict.vals[i]),
                            c->err) < 0)
                return NULL;
        return jv_none();
    }
    if (!strcmp(name, "copy") && n == 0) {
        jv *r = jv_dict_new();
        if (!r)
            return chk(c, NULL);
        for (size_t i = 0; i < N; i++)
            if (jv_dict_set(r, jv_ref(self->u.dict.keys[i]), jv_ref(self->u.dict.vals[i]),
                            c->err) < 0) {
                jv_unref(r);
                return NULL;
            }
        return r;
    }
    *handled = false;
    return NULL;
}

static jv *str_method(ctx *c, int line, jv *self, const char *name, jv **a, size_t n,
                      bool *handled)
{
    *handled = true;
    if (!strcmp(name, "format"))
        return fmt_string(c, line, self, a, n);
    if ((!strcmp(name, "startswith") || !strcmp(name, "endswith")) && n == 1 &&
        a[0]->kind == JV_STR) {
        size_t L = self->u.str.len, k = a[0]->u.str.len;
        if (k > L)
            return jv_bool(false);
        const char *p = name[0] == 's' ? self->u.str.s : self->u.str.s + L - k;
        return jv_bool(memcmp(p, a[0]->u.str.s, k) == 0);
    }
    if ((!strcmp(name, "lower") || !strcmp(name, "upper")) && n == 0) {
        jv *r = jv_str(self->u.str.s, self->u.str.len);
        if (!r)
            return chk(c, NULL);
        for (size_t i = 0; i < r->u.str.len; i++) {
            char ch = r->u.str.s[i];
            if (name[0] == 'l' && ch >= 'A' && ch <= 'Z')
                r->u.str.s[i] = (char)(ch + 32);
            if (name[0] == 'u' && ch >= 'a' && ch <= 'z')
                r->u.str.s[i] = (char)(ch - 32);
        }
        return r;
    }
    *handled = false;
    return NULL;
}

/* ------------------------------------------------------------ isinstance */

static bool type_match(ctx *c, const jv *v, tnode *t, int depth)
{
    if (depth > 20)
        return false;
    if (t->kind == TN_TUPLE) {
        for (size_t i = 0; i < t->n; i++)
            if (type_match(c, v, t->kids[i], depth + 1))
                return true;
        return false;
    }
    if (t->kind == TN_NONE)
        return v->kind == JV_NONE;
    tnode *base = t->kind == TN_SUB ? t->kids[0] : t;
    char nm[512];
    frame empty = {0};
    if (!dotted(&empty, base, nm, sizeof nm, 0))
        return false;
    const char *s = nm;
    if (!strcmp(s, "Tensor") || !strcmp(s, "torch.Tensor"))
        return v->kind == JV_TENSOR;
    if (!strcmp(s, "int"))
        return v->kind == JV_INT;
    if (!strcmp(s, "float"))
        return v->kind == JV_FLOAT;
    if (!strcmp(s, "bool"))
        return v->kind == JV_BOOL;
    if (!strcmp(s, "str"))
        return v->kind == JV_STR;
    if (!strcmp(s, "NoneType"))
        return v->kind == JV_NONE;
    if (!strcmp(s, "Optional")) {
        if (v->kind == JV_NONE)
            return true;
        return t->kind == TN_SUB && type_match(c, v, t->kids[1], depth + 1);
    }
    if (!strcmp(s, "List") || !strcmp(s, "list")) {
        if (v->kind != JV_LIST)
            return false;
        if (t->kind != TN_SUB || v->u.seq.n == 0)
            return true;
        return type_match(c, v->u.seq.items[0], t->kids[1], depth + 1);
    }
    if (!strcmp(s, "Tuple") || !strcmp(s, "tuple"))
        return v->kind == JV_TUPLE;
    if (!strcmp(s, "Dict") || !strcmp(s, "dict"))
        return v->kind == JV_DICT;
    if (!strcmp(s, "Device") || !strcmp(s, "torch.device"))
        return v->kind == JV_DEVICE;
    if (v->kind == JV_OBJECT && v->u.obj.cls && v->u.obj.cls->qualname)
        return strcmp(v->u.obj.cls->qualname, s) == 0;
    return false;
}

/* ------------------------------------------------------------ calls */

typedef struct argv_ {
    jv *pos[TS_MAX_ARGS];
    size_t n;
    const char *kwn[TS_MAX_ARGS];
    jv *kwv[TS_MAX_ARGS];
    size_t nkw;
} argv_;

static void args_clear(argv_ *a)
{
    for (size_t i = 0; i < a->n; i++)
        jv_unref(a->pos[i]);
    for (size_t i = 0; i < a->nkw; i++)
        jv_unref(a->kwv[i]);
    a->n = a->nkw = 0;
}

static int eval_args(ctx *c, frame *f, tnode *call, size_t first, argv_ *a)
{
    a->n = a->nkw = 0;
    for (size_t i = first; i < call->n; i++) {
        tnode *k = call->kids[i];
        if (k->kind == TN_KW) {
            if (a->nkw >= TS_MAX_ARGS)
                return fail(c, k->line, CKPT_E_LIMIT, "more than %d keyword arguments",
                            TS_MAX_ARGS);
            jv *v = ev(c, f, k->kids[0]);
            if (!v)
                return c->err->code;
            a->kwn[a->nkw] = k->s;
            a->kwv[a->nkw++] = v;
        } else if (k->kind == TN_STARRED) {
            jv *v = ev(c, f, k->kids[0]);
            if (!v)
                return c->err->code;
            if (v->kind != JV_LIST && v->kind != JV_TUPLE) {
                jv_unref(v);
                return fail(c, k->line, CKPT_E_ARG, "*argument must be a list or tuple");
            }
            if (v->u.seq.n > TS_MAX_ARGS - a->n) {
                jv_unref(v);
                return fail(c, k->line, CKPT_E_LIMIT, "more than %d arguments", TS_MAX_ARGS);
            }
            for (size_t j = 0; j < v->u.seq.n; j++)
                a->pos[a->n++] = jv_ref(v->u.seq.items[j]);
            jv_unref(v);
        } else {
            if (a->n >= TS_MAX_ARGS)
                return fail(c, k->line, CKPT_E_LIMIT, "more than %d arguments", TS_MAX_ARGS);
            jv *v = ev(c, f, k);
            if (!v)
                return c->err->code;
            a->pos[a->n++] = v;
        }
    }
    return 0;
}

static jv *new_object(ctx *c, int line, const char *qualname)
{
    if (!strncmp(qualname, "__torch__.torch.classes.", 24)) {
        fail(c, line, CKPT_E_UNSUPPORTED, "custom class %s is not supported", qualname);
        return NULL;
    }
    jit_class *cls = jit_class_get(c->rt->m, qualname, c->err);
    if (!cls)
        return NULL;
    return chk(c, jv_obj_new(cls));
}

/* Call a global named `dn` (dotted). */
static jv *call_global(ctx *c, frame *f, tnode *call, const char *dn)
{
    int line = call->line;
    /* forms whose arguments are types, not values */
    if (!strcmp(dn, "annotate") || !strcmp(dn, "unchecked_cast") ||
        !strcmp(dn, "torch.jit.annotate") || !strcmp(dn, "ops.prim.unchecked_cast")) {
        if (call->n != 3) {
            fail(c, line, CKPT_E_FORMAT, "%s takes a type and a value", dn);
            return NULL;
        }
        return ev(c, f, call->kids[2]);
    }
    if (!strcmp(dn, "uninitialized") || !strcmp(dn, "ops.prim.Uninitialized"))
        return jv_none();
    if (!strcmp(dn, "isinstance")) {
        if (call->n != 3) {
            fail(c, line, CKPT_E_FORMAT, "isinstance takes a value and a type");
            return NULL;
        }
        jv *v = ev(c, f, call->kids[1]);
        if (!v)
            return NULL;
        bool r = type_match(c, v, call->kids[2], 0);
        jv_unref(v);
        return jv_bool(r);
    }
    if (!strcmp(dn, "torch.ops.load_library") || !strncmp(dn, "torch.classes.", 14) ||
        !strncmp(dn, "__torch__.torch.classes.", 24) || !strcmp(dn, "torch.ops.load_library")) {
        fail(c, line, CKPT_E_UNSUPPORTED, "%s is not supported (a custom class or library)", dn);
        return NULL;
    }
    argv_ a;
    if (eval_args(c, f, call, 1, &a) < 0) {
        args_clear(&a);
        return NULL;
    }
    jv *r = NULL;
    bool handled = false;
    const char *op = NULL;
    char nsop[256];
    size_t L = strlen(dn);
    if (!strncmp(dn, "__torch__.", 10)) {
        /* Class.__new__(Class), a module-level def, a static method, a constructor */
        if (L > 8 && !strcmp(dn + L - 8, ".__new__")) {
            char qn[512];
            if (L - 8 >= sizeof qn) {
                fail(c, line, CKPT_E_LIMIT, "name too long");
                goto done;
            }
            memcpy(qn, dn, L - 8);
            qn[L - 8] = 0;
            r = new_object(c, line, qn);
            goto done;
        }
        ts_fn fn = {0};
        bool is_cm;
        int rc = find_function(c, dn, &fn, &is_cm);
        if (rc < 0)
            goto done;
        if (rc == 1) {
            if (call_def(c, &fn, NULL, a.pos, a.n, a.kwn, a.kwv, a.nkw, line, &r) < 0)
                r = NULL;
            goto done;
        }
        if (class_defined(c, dn)) {
            jv *o = new_object(c, line, dn);
            if (!o)
                goto done;
            jv *ir = NULL;
            if (call_method_of_object(c, o, "__init__", a.pos, a.n, a.kwn, a.kwv, a.nkw, line,
                                      &ir) < 0) {
                jv_unref(o);
                goto done;
            }
            jv_unref(ir);
            r = o;
            goto done;
        }
        fail(c, line, CKPT_E_UNSUPPORTED, "unknown global %s (not defined in the archive's code)",
             dn);
        goto done;
    }
    if (!strncmp(dn, "ops.prim.", 9)) {
        const char *p = dn + 9;
        if (!strcmp(p, "NumToTensor") && a.n == 1 && is_num(a.pos[0])) {
            r = scalar_tensor(c, a.pos[0]);
            goto done;
        }
        if (!strcmp(p, "dtype") && a.n == 1 && a.pos[0]->kind == JV_TENSOR) {
            r = chk(c, jv_int(jit_st_from_ox(a.pos[0]->u.t->t.dtype)));
            goto done;
        }
        if (!strcmp(p, "device") && a.n == 1) {
            r = chk(c, jv_device("cpu", -1));
            goto done;
        }
        if ((!strncmp(p, "is_", 3) || !strcmp(p, "is_quantized") || !strcmp(p, "is_sparse") ||
             !strcmp(p, "is_meta") || !strcmp(p, "is_vulkan")) &&
            a.n == 1) {
            r = jv_bool(!strcmp(p, "is_quantized") && a.pos[0]->kind == JV_TENSOR &&
                        a.pos[0]->u.t->is_quantized);
            goto done;
        }
        if ((!strcmp(p, "data") || !strcmp(p, "unchecked_unwrap_optional")) && a.n == 1) {
            r = jv_ref(a.pos[0]);
            goto done;
        }
        if (!strcmp(p, "layout") && a.n == 1) {
            r = chk(c, jv_int(0));
            goto done;
        }
        if (!strcmp(p, "RaiseException")) {
            char msg[512];
            size_t o = 0;
            msg[0] = 0;
            /* (message, "builtins.RuntimeError") */
            if (a.n >= 2 && a.pos[1]->kind == JV_STR) {
                const char *cls = a.pos[1]->u.str.s;
                const char *dot = strrchr(cls, '.');
                cls = dot ? dot + 1 : cls;
                sb_put(msg, sizeof msg, &o, cls, strlen(cls));
                sb_put(msg, sizeof msg, &o, ": ", 2);
            }
            if (a.n >= 1)
                to_text(a.pos[0], msg, sizeof msg, &o, 0);
            fail(c, line, CKPT_E_ARG, "the model raised: %s", msg);
            goto done;
        }
        if ((!strcmp(p, "min") || !strcmp(p, "max")) && !any_tensor(a.pos, a.n)) {
            r = minmax(c, line, p[1] == 'a', a.pos, a.n);
            goto done;
        }
        if (!strcmp(p, "shape") && a.n == 1) {
            bool h;
            r = tensor_meta(c, line, "size", a.pos, 1, &h);
            goto done;
        }
        r = native_fn(c, line, p, a.pos, a.n, &handled);
        if (!handled)
            fail(c, line, CKPT_E_UNSUPPORTED, "operator prim::%s is not supported", p);
        goto done;
    }
    if (!strncmp(dn, "torch.jit.", 10)) {
        const char *p = dn + 10;
        if (!strcmp(p, "_unwrap_optional")) {
            r = native_fn(c, line, "_unwrap_optional", a.pos, a.n, &handled);
            goto done;
        }
        if (!strcmp(p, "is_scripting")) {
            r = jv_bool(true);
            goto done;
        }
        if (!strcmp(p, "is_tracing")) {
            r = jv_bool(false);
            goto done;
        }
        fail(c, line, CKPT_E_UNSUPPORTED, "unknown global %s", dn);
        goto done;
    }
    if (!strncmp(dn, "ops.aten.", 9))
        op = dn + 9;
    else if (!strncmp(dn, "torch.ops.aten.", 15))
        op = dn + 15;
    else if (!strncmp(dn, "torch._C._nn.", 13))
        op = dn + 13;
    else if (!strncmp(dn, "torch.nn.functional.", 20))
        op = dn + 20;
    else if (!strncmp(dn, "torch.", 6) && !strchr(dn + 6, '.'))
        op = dn + 6;
    else if (!strncmp(dn, "math.", 5) && !strchr(dn + 5, '.')) {
        r = native_fn(c, line, dn + 5, a.pos, a.n, &handled);
        if (!handled)
            fail(c, line, CKPT_E_UNSUPPORTED, "unknown global %s", dn);
        goto done;
    } else if (!strncmp(dn, "ops.", 4) || !strncmp(dn, "torch.ops.", 10)) {
        /* ops.quantized.conv2d -> quantized::conv2d */
        const char *p = dn + (dn[0] == 'o' ? 4 : 10);
        const char *d2 = strchr(p, '.');
        if (d2 && !strchr(d2 + 1, '.') && (size_t)(d2 - p) + strlen(d2) + 2 < sizeof nsop) {
            snprintf(nsop, sizeof nsop, "%.*s::%s", (int)(d2 - p), p, d2 + 1);
            r = aten(c, line, nsop, a.pos, a.n, a.kwn, a.kwv, a.nkw);
            goto done;
        }
    }
    if (op) {
        if (a.nkw == 0) {
            r = native_fn(c, line, op, a.pos, a.n, &handled);
            if (handled)
                goto done;
        }
        r = aten_or_meta(c, line, op, a.pos, a.n, a.kwn, a.kwv, a.nkw);
        goto done;
    }
    if (!strchr(dn, '.')) {
        /* Python builtins */
        if (!strcmp(dn, "range")) {
            r = range_list(c, line, a.pos, a.n);
            goto done;
        }
        if (!strcmp(dn, "int") && a.n == 1) {
            r = to_int(c, line, a.pos[0]);
            goto done;
        }
        if (!strcmp(dn, "float") && a.n == 1) {
            r = to_float(c, line, a.pos[0]);
            goto done;
        }
        if (!strcmp(dn, "bool") && a.n == 1) {
            bool t;
            if (truth(c, line, a.pos[0], &t) == 0)
                r = jv_bool(t);
            goto done;
        }
        if (!strcmp(dn, "tuple") && a.n == 1) {
            r = seq_from_iterable(c, line, a.pos[0], JV_TUPLE);
            goto done;
        }
        if (!strcmp(dn, "dict") && a.n == 0) {
            r = chk(c, jv_dict_new());
            goto done;
        }
        if ((!strcmp(dn, "zip") || !strcmp(dn, "enumerate")) && a.n >= 1) {
            r = make_pairs(c, line, a.pos, a.n, dn[0] == 'e');
            goto done;
        }
        if ((!strcmp(dn, "getattr") || !strcmp(dn, "hasattr")) && a.n >= 2 &&
            a.pos[1]->kind == JV_STR) {
            jv *o = a.pos[0];
            jv *v = o->kind == JV_OBJECT ? jv_obj_get(o, a.pos[1]->u.str.s) : NULL;
            if (dn[0] == 'h')
                r = jv_bool(v != NULL);
            else if (v)
                r = jv_ref(v);
            else if (a.n == 3)
                r = jv_ref(a.pos[2]);
            else
                fail(c, line, CKPT_E_NOT_FOUND, "getattr: no attribute '%s'", a.pos[1]->u.str.s);
            goto done;
        }
        if ((!strcmp(dn, "min") || !strcmp(dn, "max")) && a.n >= 1) {
            r = minmax(c, line, dn[1] == 'a', a.pos, a.n);
            goto done;
        }
        if ((!strcmp(dn, "any") || !strcmp(dn, "all")) && a.n == 1 &&
            (a.pos[0]->kind == JV_LIST || a.pos[0]->kind == JV_TUPLE)) {
            bool all = dn[1] == 'l', acc = all;
            for (size_t i = 0; i < a.pos[0]->u.seq.n; i++) {
                bool t;
                if (truth(c, line, a.pos[0]->u.seq.items[i], &t) < 0)
                    goto done;
                acc = all ? acc && t : acc || t;
            }
            r = jv_bool(acc);
            goto done;
        }
        if (!strcmp(dn, "abs") && a.n == 1 && a.pos[0]->kind == JV_TENSOR) {
            r = aten(c, line, "abs", a.pos, 1, NULL, NULL, 0);
            goto done;
        }
        if (!strcmp(dn, "divmod") && a.n == 2 && is_num(a.pos[0]) && is_num(a.pos[1])) {
            jv *q = num_binop(c, line, TOP_FLOORDIV, a.pos[0], a.pos[1]);
            jv *m = q ? num_binop(c, line, TOP_MOD, a.pos[0], a.pos[1]) : NULL;
            jv *t = m ? jv_tuple_new(2) : NULL;
            if (t && jv_list_push(t, q, c->err) == 0 && jv_list_push(t, m, c->err) == 0)
                r = t;
            else {
                jv_unref(t);
                if (!t) {
                    jv_unref(q);
                    jv_unref(m);
                }
            }
            goto done;
        }
        r = native_fn(c, line, dn, a.pos, a.n, &handled);
        if (handled)
            goto done;
        static const char *const exc[] = {"Exception",      "RuntimeError",       "ValueError",
                                          "AssertionError", "TypeError",          "IndexError",
                                          "KeyError",       "NotImplementedError"};
        for (size_t i = 0; i < sizeof exc / sizeof *exc; i++)
            if (!strcmp(dn, exc[i])) {
                char msg[512];
                size_t o = 0;
                msg[0] = 0;
                sb_put(msg, sizeof msg, &o, dn, strlen(dn));
                for (size_t k = 0; k < a.n; k++) {
                    sb_put(msg, sizeof msg, &o, k ? ", " : ": ", 2);
                    to_text(a.pos[k], msg, sizeof msg, &o, 0);
                }
                r = chk(c, jv_str(msg, o));
                goto done;
            }
    }
    fail(c, line, CKPT_E_UNSUPPORTED, "unknown global %s", dn);
done:
    args_clear(&a);
    return r;
}

/* Method call on a value. */
static int call_value_method(ctx *c, jv *self, const char *name, jv **args, size_t n,
                             const char **kwn, jv **kwv, size_t nkw, int line, jv **res)
{
    bool handled = false;
    jv *r = NULL;
    switch (self->kind) {
    case JV_OBJECT:
        return call_method_of_object(c, self, name, args, n, kwn, kwv, nkw, line, res);
    case JV_TENSOR: {
        if (n + 1 > TS_MAX_ARGS)
            return fail(c, line, CKPT_E_LIMIT, "too many arguments");
        jv *all[TS_MAX_ARGS];
        all[0] = self;
        for (size_t i = 0; i < n; i++)
            all[i + 1] = args[i];
        r = aten_or_meta(c, line, name, all, n + 1, kwn, kwv, nkw);
        break;
    }
    case JV_LIST:
        if (nkw == 0)
            r = list_method(c, line, self, name, args, n, &handled);
        if (!handled)
            return fail(c, line, CKPT_E_UNSUPPORTED, "list has no method %s", name);
        break;
    case JV_DICT:
        if (nkw == 0)
            r = dict_method(c, line, self, name, args, n, &handled);
        if (!handled)
            return fail(c, line, CKPT_E_UNSUPPORTED, "dict has no method %s", name);
        break;
    case JV_STR:
        if (nkw == 0)
            r = str_method(c, line, self, name, args, n, &handled);
        if (!handled)
            return fail(c, line, CKPT_E_UNSUPPORTED, "str has no method %s", name);
        break;
    case JV_OPAQUE:
        return fail(c, line, CKPT_E_UNSUPPORTED, "%s.%s is not supported",
                    self->u.opaque.type && !strcmp(self->u.opaque.type, "global")
                        ? (const char *)self->u.opaque.p
                    : self->u.opaque.type ? self->u.opaque.type
                                          : "opaque",
                    name);
    default:
        return fail(c, line, CKPT_E_UNSUPPORTED, "%s has no method %s", jv_kind_name(self->kind),
                    name);
    }
    if (!r)
        return c->err->code ? c->err->code : nomem(c);
    *res = r;
    return 0;
}

static jv *ev_call(ctx *c, frame *f, tnode *n)
{
    tnode *callee = n->kids[0];
    char dn[512];
    c->rt->line = n->line;
    if (dotted(f, callee, dn, sizeof dn, 0)) {
        if (callee->kind == TN_ATTR) {
            /* `x.method` with x a global that names a value (CONSTANTS.c0.foo())? */
            if (!strncmp(dn, "CONSTANTS.", 10)) {
                char base[512];
                frame empty = {0};
                (void)empty;
                if (dotted(f, callee->kids[0], base, sizeof base, 0)) {
                    jv *self = global_value(c, n->line, base);
                    if (!self)
                        return NULL;
                    argv_ a;
                    jv *r = NULL;
                    if (eval_args(c, f, n, 1, &a) == 0)
                        call_value_method(c, self, callee->s, a.pos, a.n, a.kwn, a.kwv, a.nkw,
                                          n->line, &r);
                    args_clear(&a);
                    jv_unref(self);
                    return r;
                }
            }
        }
        return call_global(c, f, n, dn);
    }
    if (callee->kind == TN_ATTR) {
        jv *self = ev(c, f, callee->kids[0]);
        if (!self)
            return NULL;
        argv_ a;
        jv *r = NULL;
        if (eval_args(c, f, n, 1, &a) == 0) {
            if (self->kind == JV_OPAQUE && self->u.opaque.type &&
                !strcmp(self->u.opaque.type, "global")) {
                fail(c, n->line, CKPT_E_UNSUPPORTED, "%s.%s is not supported",
                     (const char *)self->u.opaque.p, callee->s);
            } else {
                call_value_method(c, self, callee->s, a.pos, a.n, a.kwn, a.kwv, a.nkw, n->line,
                                  &r);
            }
        }
        args_clear(&a);
        jv_unref(self);
        return r;
    }
    jv *fv = ev(c, f, callee);
    if (!fv)
        return NULL;
    if (fv->kind == JV_OPAQUE && fv->u.opaque.type && !strcmp(fv->u.opaque.type, "global")) {
        char name[512];
        snprintf(name, sizeof name, "%s", (const char *)fv->u.opaque.p);
        jv_unref(fv);
        return call_global(c, f, n, name);
    }
    char d[128];
    jv_describe(fv, d, sizeof d);
    jv_unref(fv);
    fail(c, n->line, CKPT_E_UNSUPPORTED, "%s is not callable", d);
    return NULL;
}

/* ------------------------------------------------------------ expressions */

static jv *attr_of(ctx *c, int line, jv *o, const char *name)
{
    if (o->kind == JV_OBJECT) {
        jv *v = jv_obj_get(o, name);
        if (v)
            return jv_ref(v);
        jit_class *cls = o->u.obj.cls;
        for (size_t i = 0; cls && i < cls->n_consts; i++)
            if (!strcmp(cls->consts_names[i], name))
                return jv_ref(cls->consts_vals[i]);
        if (!strcmp(name, "training"))
            return jv_bool(false);
        /* a class-level constant written in the class body */
        const char *qn = cls ? cls->qualname : NULL;
        const char *dot = qn ? strrchr(qn, '.') : NULL;
        ts_file *fl = dot ? file_find(c->st, qn, (size_t)(dot - qn)) : NULL;
        ckpt_error e2 = {0};
        tnode *root = fl ? file_root(fl, &e2) : NULL;
        tnode *cl = root ? block_find(root, TS_CLASS, dot + 1) : NULL;
        for (size_t i = 0; cl && i < cl->kids[0]->n; i++) {
            tnode *s = cl->kids[0]->kids[i];
            if (s->kind == TS_ANN && s->kids[2] && s->kids[0]->kind == TN_NAME &&
                !strcmp(s->kids[0]->s, name)) {
                frame empty = {0};
                jv *cv = ev(c, &empty, s->kids[2]);
                frame_clear(&empty);
                return cv;
            }
        }
        fail(c, line, CKPT_E_NOT_FOUND, "object of class %s has no attribute '%s'", qn ? qn : "?",
             name);
        return NULL;
    }
    if (o->kind == JV_TENSOR) {
        const ox_val *t = &o->u.t->t;
        if (!strcmp(name, "shape")) {
            jv *a[1] = {o};
            bool h;
            return tensor_meta(c, line, "size", a, 1, &h);
        }
        if (!strcmp(name, "dtype"))
            return chk(c, jv_int(jit_st_from_ox(t->dtype)));
        if (!strcmp(name, "device"))
            return chk(c, jv_device("cpu", -1));
        if (!strcmp(name, "is_cuda") || !strcmp(name, "is_sparse") || !strcmp(name, "is_mkldnn"))
            return jv_bool(false);
        if (!strcmp(name, "is_quantized"))
            return jv_bool(o->u.t->is_quantized);
        if (!strcmp(name, "requires_grad"))
            return jv_bool(o->u.t->requires_grad);
        if (!strcmp(name, "ndim"))
            return chk(c, jv_int(t->rank));
        if (!strcmp(name, "data"))
            return jv_ref(o);
        if (!strcmp(name, "T")) {
            jv *a[1] = {o};
            return aten(c, line, "numpy_T", a, 1, NULL, NULL, 0);
        }
    }
    if (o->kind == JV_DEVICE && !strcmp(name, "type"))
        return chk(c, jv_str0(o->u.dev.type));
    if (o->kind == JV_DEVICE && !strcmp(name, "index"))
        return o->u.dev.index < 0 ? jv_none() : chk(c, jv_int(o->u.dev.index));
    fail(c, line, CKPT_E_UNSUPPORTED, "attribute '%s' of %s", name, jv_kind_name(o->kind));
    return NULL;
}

static int slice_bounds(ctx *c, int line, jv *lo, jv *hi, jv *st, int64_t len, int64_t *plo,
                        int64_t *phi, int64_t *pst)
{
    *plo = *phi = 0;
    *pst = 1;
    int64_t s = st && st->kind != JV_NONE ? as_i(st) : 1;
    if (s == 0)
        return fail(c, line, CKPT_E_ARG, "slice step cannot be zero");
    int64_t l, h;
    if (s > 0) {
        l = lo && lo->kind != JV_NONE ? as_i(lo) : 0;
        h = hi && hi->kind != JV_NONE ? as_i(hi) : len;
        if (l < 0)
            l += len;
        if (h < 0)
            h += len;
        l = l < 0 ? 0 : l > len ? len : l;
        h = h < 0 ? 0 : h > len ? len : h;
    } else {
        l = lo && lo->kind != JV_NONE ? as_i(lo) : len - 1;
        h = hi && hi->kind != JV_NONE ? as_i(hi) : -len - 1;
        if (l < 0)
            l += len;
        if (h < 0)
            h += len;
        l = l < -1 ? -1 : l > len - 1 ? len - 1 : l;
        h = h < -1 ? -1 : h > len - 1 ? len - 1 : h;
    }
    *plo = l;
    *phi = h;
    *pst = s;
    return 0;
}

static jv *subscript(ctx *c, frame *f, tnode *n)
{
    jv *o = ev(c, f, n->kids[0]);
    if (!o)
        return NULL;
    tnode *ix = n->kids[1];
    jv *r = NULL;
    if (ix->kind == TN_SLICE) {
        jv *b[3] = {NULL, NULL, NULL};
        for (int i = 0; i < 3; i++)
            if (ix->kids[i] && !(b[i] = ev(c, f, ix->kids[i])))
                goto sdone;
        if (o->kind == JV_TENSOR) {
            jv *zero = jv_int(0), *one = jv_int(1);
            jv *args[5] = {o, zero, b[0] ? b[0] : jv_none(), b[1] ? b[1] : jv_none(),
                           b[2] ? b[2] : one};
            if (zero && one)
                r = aten(c, n->line, "slice", args, 5, NULL, NULL, 0);
            else
                nomem(c);
            jv_unref(zero);
            jv_unref(one);
        } else if (o->kind == JV_LIST || o->kind == JV_TUPLE || o->kind == JV_STR) {
            int64_t len = o->kind == JV_STR ? (int64_t)o->u.str.len : (int64_t)o->u.seq.n;
            int64_t lo = 0, hi = 0, st = 1;
            if (slice_bounds(c, n->line, b[0], b[1], b[2], len, &lo, &hi, &st) == 0) {
                if (o->kind == JV_STR) {
                    char *s = malloc((size_t)len + 1);
                    size_t k = 0;
                    if (s) {
                        for (int64_t i = lo; st > 0 ? i < hi : i > hi; i += st)
                            s[k++] = o->u.str.s[i];
                        r = chk(c, jv_str(s, k));
                        free(s);
                    } else
                        nomem(c);
                } else {
                    r = o->kind == JV_LIST ? jv_list_new(0) : jv_tuple_new(0);
                    if (!r)
                        nomem(c);
                    for (int64_t i = lo; r && (st > 0 ? i < hi : i > hi); i += st)
                        if (jv_list_push(r, jv_ref(o->u.seq.items[i]), c->err) < 0) {
                            jv_unref(r);
                            r = NULL;
                        }
                }
            }
        } else {
            fail(c, n->line, CKPT_E_UNSUPPORTED, "slicing %s", jv_kind_name(o->kind));
        }
sdone:
        for (int i = 0; i < 3; i++)
            jv_unref(b[i]);
        jv_unref(o);
        return r;
    }
    jv *k = ev(c, f, ix);
    if (!k) {
        jv_unref(o);
        return NULL;
    }
    switch (o->kind) {
    case JV_LIST:
    case JV_TUPLE: {
        size_t i = 0;
        if (k->kind != JV_INT && k->kind != JV_BOOL)
            fail(c, n->line, CKPT_E_ARG, "list indices must be ints, not %s",
                 jv_kind_name(k->kind));
        else if (seq_index(c, n->line, as_i(k), o->u.seq.n, &i) == 0)
            r = jv_ref(o->u.seq.items[i]);
        break;
    }
    case JV_STR: {
        size_t i = 0;
        if (k->kind == JV_INT && seq_index(c, n->line, k->u.i, o->u.str.len, &i) == 0)
            r = chk(c, jv_str(o->u.str.s + i, 1));
        else if (k->kind != JV_INT)
            fail(c, n->line, CKPT_E_ARG, "string indices must be ints");
        break;
    }
    case JV_DICT: {
        jv *v = jv_dict_get(o, k);
        if (v)
            r = jv_ref(v);
        else {
            char d[128];
            jv_describe(k, d, sizeof d);
            fail(c, n->line, CKPT_E_NOT_FOUND, "KeyError: %s", d);
        }
        break;
    }
    case JV_TENSOR:
        if (k->kind == JV_INT) {
            jv *zero = jv_int(0);
            jv *args[3] = {o, zero, k};
            r = zero ? aten(c, n->line, "select", args, 3, NULL, NULL, 0) : chk(c, NULL);
            jv_unref(zero);
        } else {
            fail(c, n->line, CKPT_E_UNSUPPORTED, "indexing a tensor with %s",
                 jv_kind_name(k->kind));
        }
        break;
    default: fail(c, n->line, CKPT_E_UNSUPPORTED, "indexing %s", jv_kind_name(o->kind));
    }
    jv_unref(k);
    jv_unref(o);
    return r;
}

static int assign(ctx *c, frame *f, tnode *t, jv *v, int depth);

static jv *comprehension(ctx *c, frame *f, tnode *n)
{
    bool dict = n->kind == TN_DICTCOMP;
    tnode *tgt = n->kids[dict ? 2 : 1], *itn = n->kids[dict ? 3 : 2],
          *cond = n->kids[dict ? 4 : 3];
    jv *it = ev(c, f, itn);
    if (!it)
        return NULL;
    jv *items = seq_from_iterable(c, n->line, it, JV_LIST);
    jv_unref(it);
    if (!items)
        return NULL;
    jv *r = dict ? jv_dict_new() : jv_list_new(items->u.seq.n);
    if (!r) {
        jv_unref(items);
        return chk(c, NULL);
    }
    for (size_t i = 0; i < items->u.seq.n; i++) {
        if (assign(c, f, tgt, jv_ref(items->u.seq.items[i]), 0) < 0)
            goto fail;
        if (cond) {
            jv *cv = ev(c, f, cond);
            bool t;
            if (!cv || truth(c, n->line, cv, &t) < 0) {
                jv_unref(cv);
                goto fail;
            }
            jv_unref(cv);
            if (!t)
                continue;
        }
        jv *e = ev(c, f, n->kids[0]);
        if (e && nest_ok(c, n->line, NULL, e) < 0) {
            jv_unref(e);
            e = NULL;
        }
        if (!e)
            goto fail;
        if (dict) {
            jv *val = ev(c, f, n->kids[1]);
            if (val && nest_ok(c, n->line, NULL, val) < 0) {
                jv_unref(val);
                val = NULL;
            }
            if (!val) {
                jv_unref(e);
                goto fail;
            }
            if (jv_dict_set(r, e, val, c->err) < 0)
                goto fail;
        } else if (jv_list_push(r, e, c->err) < 0)
            goto fail;
    }
    jv_unref(items);
    return r;
fail:
    jv_unref(items);
    jv_unref(r);
    return NULL;
}

static jv *ev_inner(ctx *c, frame *f, tnode *n)
{
    switch (n->kind) {
    case TN_INT: return chk(c, jv_int(n->i));
    case TN_FLOAT: return chk(c, jv_float(n->f));
    case TN_STR: return chk(c, jv_str(n->s, n->slen));
    case TN_NONE:
    case TN_ELLIPSIS: return jv_none();
    case TN_TRUE: return jv_bool(true);
    case TN_FALSE: return jv_bool(false);
    case TN_NAME: {
        jv *v = frame_get(f, n->s);
        if (v)
            return jv_ref(v);
        return global_value(c, n->line, n->s);
    }
    case TN_ATTR: {
        char dn[512];
        if (dotted(f, n, dn, sizeof dn, 0))
            return global_value(c, n->line, dn);
        jv *o = ev(c, f, n->kids[0]);
        if (!o)
            return NULL;
        jv *r = attr_of(c, n->line, o, n->s);
        jv_unref(o);
        return r;
    }
    case TN_CALL: return ev_call(c, f, n);
    case TN_SUB: return subscript(c, f, n);
    case TN_TUPLE:
    case TN_LIST: {
        jv *r = n->kind == TN_LIST ? jv_list_new(n->n) : jv_tuple_new(n->n);
        if (!r)
            return chk(c, NULL);
        for (size_t i = 0; i < n->n; i++) {
            jv *x = ev(c, f, n->kids[i]);
            if (x && nest_ok(c, n->line, NULL, x) < 0) {
                jv_unref(x);
                x = NULL;
            }
            if (!x || jv_list_push(r, x, c->err) < 0) {
                jv_unref(r);
                return NULL;
            }
        }
        return r;
    }
    case TN_DICT: {
        jv *r = jv_dict_new();
        if (!r)
            return chk(c, NULL);
        for (size_t i = 0; i + 1 < n->n; i += 2) {
            jv *k = ev(c, f, n->kids[i]);
            jv *v = k ? ev(c, f, n->kids[i + 1]) : NULL;
            if (v && (nest_ok(c, n->line, NULL, v) < 0 || nest_ok(c, n->line, NULL, k) < 0)) {
                jv_unref(v);
                v = NULL;
            }
            if (!v) {
                jv_unref(k);
                jv_unref(r);
                return NULL;
            }
            if (jv_dict_set(r, k, v, c->err) < 0) {
                jv_unref(r);
                return NULL;
            }
        }
        return r;
    }
    case TN_BINOP:
    case TN_CMP: {
        jv *a = ev(c, f, n->kids[0]);
        jv *b = a ? ev(c, f, n->kids[1]) : NULL;
        jv *r = NULL;
        if (b)
            r = n->kind == TN_CMP ? compare(c, n->line, n->op, a, b)
                                  : binop(c, n->line, n->op, a, b);
        jv_unref(a);
        jv_unref(b);
        return r;
    }
    case TN_UNARY: {
        jv *a = ev(c, f, n->kids[0]);
        if (!a)
            return NULL;
        jv *r = NULL;
        if (a->kind == JV_TENSOR) {
            jv *args[1] = {a};
            r = aten(c, n->line,
                     n->op == TOP_NEG      ? "neg"
                     : n->op == TOP_INVERT ? "bitwise_not"
                                           : "positive",
                     args, 1, NULL, NULL, 0);
        } else if (n->op == TOP_POS && is_num(a)) {
            r = jv_ref(a);
        } else if (n->op == TOP_NEG && a->kind == JV_FLOAT) {
            r = chk(c, jv_float(-a->u.f));
        } else if (n->op == TOP_NEG && is_num(a)) {
            r = chk(c, jv_int((int64_t)(0ull - (uint64_t)as_i(a))));
        } else if (n->op == TOP_INVERT && (a->kind == JV_INT || a->kind == JV_BOOL)) {
            r = chk(c, jv_int(~as_i(a)));
        } else {
            fail(c, n->line, CKPT_E_UNSUPPORTED, "unary operator on %s", jv_kind_name(a->kind));
        }
        jv_unref(a);
        return r;
    }
    case TN_NOT: {
        jv *a = ev(c, f, n->kids[0]);
        bool t;
        if (!a || truth(c, n->line, a, &t) < 0) {
            jv_unref(a);
            return NULL;
        }
        jv_unref(a);
        return jv_bool(!t);
    }
    case TN_AND:
    case TN_OR: {
        jv *a = ev(c, f, n->kids[0]);
        bool t;
        if (!a || truth(c, n->line, a, &t) < 0) {
            jv_unref(a);
            return NULL;
        }
        if ((n->kind == TN_AND && !t) || (n->kind == TN_OR && t))
            return a;
        jv_unref(a);
        return ev(c, f, n->kids[1]);
    }
    case TN_IFEXP: {
        jv *cv = ev(c, f, n->kids[1]);
        bool t;
        if (!cv || truth(c, n->line, cv, &t) < 0) {
            jv_unref(cv);
            return NULL;
        }
        jv_unref(cv);
        return ev(c, f, n->kids[t ? 0 : 2]);
    }
    case TN_LISTCOMP:
    case TN_DICTCOMP: return comprehension(c, f, n);
    default: fail(c, n->line, CKPT_E_UNSUPPORTED, "expression kind %d", n->kind); return NULL;
    }
}

static jv *ev(ctx *c, frame *f, tnode *n)
{
    if (++c->edepth > TS_MAX_EDEPTH) {
        c->edepth--;
        fail(c, n->line, CKPT_E_LIMIT, "evaluation nested deeper than %d", TS_MAX_EDEPTH);
        return NULL;
    }
    jv *r = ev_inner(c, f, n);
    c->edepth--;
    if (!r && !c->err->code)
        nomem(c);
    return r;
}

/* ------------------------------------------------------------ statements */

/* steals v */
static int assign(ctx *c, frame *f, tnode *t, jv *v, int depth)
{
    if (depth > 20) {
        jv_unref(v);
        return fail(c, t->line, CKPT_E_LIMIT, "assignment target nested too deeply");
    }
    switch (t->kind) {
    case TN_NAME: return frame_set(c, f, t->s, v);
    case TN_TUPLE:
    case TN_LIST: {
        if (v->kind != JV_TUPLE && v->kind != JV_LIST) {
            jv_unref(v);
            return fail(c, t->line, CKPT_E_ARG, "cannot unpack %s into %zu names",
                        jv_kind_name(v->kind), t->n);
        }
        if (v->u.seq.n != t->n) {
            size_t got = v->u.seq.n;
            jv_unref(v);
            return fail(c, t->line, CKPT_E_ARG, "cannot unpack %zu values into %zu names", got,
                        t->n);
        }
        int rc = 0;
        for (size_t i = 0; i < t->n && rc == 0; i++)
            rc = assign(c, f, t->kids[i], jv_ref(v->u.seq.items[i]), depth + 1);
        jv_unref(v);
        return rc;
    }
    case TN_ATTR: {
        jv *o = ev(c, f, t->kids[0]);
        if (!o) {
            jv_unref(v);
            return c->err->code;
        }
        int rc;
        if (o->kind != JV_OBJECT) {
            jv_unref(v);
            rc = fail(c, t->line, CKPT_E_UNSUPPORTED, "setting attribute '%s' of %s", t->s,
                      jv_kind_name(o->kind));
        } else {
            int idx = jv_obj_find(o, t->s);
            if (nest_ok(c, t->line, o, v) < 0) {
                jv_unref(v);
                jv_unref(o);
                return c->err->code;
            }
            rc = jv_obj_set(o, t->s, idx >= 0 ? o->u.obj.akind[idx] : JIT_A_ATTR, v, c->err);
        }
        jv_unref(o);
        return rc < 0 ? rc : 0;
    }
    case TN_SUB: {
        jv *o = ev(c, f, t->kids[0]);
        jv *k = o && t->kids[1]->kind != TN_SLICE ? ev(c, f, t->kids[1]) : NULL;
        int rc = 0;
        if (o && k && (nest_ok(c, t->line, o, v) < 0 || nest_ok(c, t->line, o, k) < 0)) {
            jv_unref(k);
            k = NULL;
        }
        if (!o || !k) {
            jv_unref(v);
            if (o && !k && !c->err->code)
                rc = fail(c, t->line, CKPT_E_UNSUPPORTED, "slice assignment");
            jv_unref(o);
            return rc ? rc : c->err->code;
        }
        if (o->kind == JV_LIST) {
            size_t i = 0;
            if (k->kind != JV_INT || seq_index(c, t->line, k->u.i, o->u.seq.n, &i) < 0) {
                jv_unref(v);
                rc = c->err->code ? c->err->code
                                  : fail(c, t->line, CKPT_E_ARG, "list index must be an int");
            } else {
                jv_unref(o->u.seq.items[i]);
                o->u.seq.items[i] = v;
            }
        } else if (o->kind == JV_DICT) {
            rc = jv_dict_set(o, jv_ref(k), v, c->err);
        } else {
            jv_unref(v);
            rc = fail(c, t->line, CKPT_E_UNSUPPORTED, "item assignment on %s",
                      jv_kind_name(o->kind));
        }
        jv_unref(k);
        jv_unref(o);
        return rc < 0 ? rc : 0;
    }
    default:
        jv_unref(v);
        return fail(c, t->line, CKPT_E_FORMAT, "cannot assign to this expression");
    }
}

static int step(ctx *c, int line)
{
    jit_rt *rt = c->rt;
    rt->line = line;
    if (++rt->steps > TS_MAX_STEPS || rt->steps > JIT_MAX_STEPS)
        return fail(c, line, CKPT_E_LIMIT,
                    "more than %llu statements executed (a loop that does not end?)",
                    (unsigned long long)TS_MAX_STEPS);
    return 0;
}

static int exec_stmt(ctx *c, frame *f, tnode *s);

static int exec_block(ctx *c, frame *f, tnode *b)
{
    if (++c->edepth > TS_MAX_EDEPTH) {
        c->edepth--;
        return fail(c, b->line, CKPT_E_LIMIT, "evaluation nested deeper than %d", TS_MAX_EDEPTH);
    }
    int rc = 0;
    for (size_t i = 0; i < b->n; i++) {
        rc = exec_stmt(c, f, b->kids[i]);
        if (rc != FL_NORMAL)
            break;
    }
    c->edepth--;
    return rc;
}

static int exec_loop_body(ctx *c, frame *f, tnode *body, bool *stop)
{
    int rc = exec_block(c, f, body);
    *stop = false;
    if (rc < 0 || rc == FL_RETURN) {
        *stop = true;
        return rc;
    }
    if (rc == FL_BREAK)
        *stop = true;
    return 0;
}

static int exec_stmt(ctx *c, frame *f, tnode *s)
{
    CKPT_TRY(step(c, s->line));
    switch (s->kind) {
    case TS_EXPR: {
        jv *v = ev(c, f, s->kids[0]);
        if (!v)
            return c->err->code;
        jv_unref(v);
        return 0;
    }
    case TS_ASSIGN: {
        jv *v = ev(c, f, s->kids[s->n - 1]);
        if (!v)
            return c->err->code;
        for (size_t i = 0; i + 1 < s->n; i++)
            if (assign(c, f, s->kids[i], jv_ref(v), 0) < 0) {
                jv_unref(v);
                return c->err->code;
            }
        jv_unref(v);
        return 0;
    }
    case TS_ANN: {
        if (!s->kids[2])
            return 0;
        jv *v = ev(c, f, s->kids[2]);
        if (!v)
            return c->err->code;
        return assign(c, f, s->kids[0], v, 0) < 0 ? c->err->code : 0;
    }
    case TS_AUG: {
        jv *a = ev(c, f, s->kids[0]);
        jv *b = a ? ev(c, f, s->kids[1]) : NULL;
        jv *r = b ? binop(c, s->line, s->op, a, b) : NULL;
        jv_unref(a);
        jv_unref(b);
        if (!r)
            return c->err->code;
        return assign(c, f, s->kids[0], r, 0) < 0 ? c->err->code : 0;
    }
    case TS_IF: {
        jv *cv = ev(c, f, s->kids[0]);
        bool t;
        if (!cv || truth(c, s->line, cv, &t) < 0) {
            jv_unref(cv);
            return c->err->code;
        }
        jv_unref(cv);
        if (t)
            return exec_block(c, f, s->kids[1]);
        if (!s->kids[2])
            return 0;
        if (s->kids[2]->kind == TS_IF)
            return exec_stmt(c, f, s->kids[2]);
        return exec_block(c, f, s->kids[2]);
    }
    case TS_WHILE:
        for (;;) {
            CKPT_TRY(step(c, s->line));
            jv *cv = ev(c, f, s->kids[0]);
            bool t;
            if (!cv || truth(c, s->line, cv, &t) < 0) {
                jv_unref(cv);
                return c->err->code;
            }
            jv_unref(cv);
            if (!t)
                return 0;
            bool stop;
            int rc = exec_loop_body(c, f, s->kids[1], &stop);
            if (stop)
                return rc;
        }
    case TS_FOR: {
        tnode *itn = s->kids[1];
        /* range(...) without building the list */
        if (itn->kind == TN_CALL && itn->kids[0]->kind == TN_NAME &&
            !strcmp(itn->kids[0]->s, "range") && !frame_get(f, "range") && itn->n >= 2 &&
            itn->n <= 4) {
            argv_ a;
            if (eval_args(c, f, itn, 1, &a) < 0) {
                args_clear(&a);
                return c->err->code;
            }
            int64_t lo = 0, hi = 0, st = 1;
            bool ok = a.nkw == 0;
            for (size_t i = 0; i < a.n; i++)
                ok = ok && (a.pos[i]->kind == JV_INT || a.pos[i]->kind == JV_BOOL);
            if (ok) {
                if (a.n == 1)
                    hi = as_i(a.pos[0]);
                else {
                    lo = as_i(a.pos[0]);
                    hi = as_i(a.pos[1]);
                    if (a.n == 3)
                        st = as_i(a.pos[2]);
                }
            }
            args_clear(&a);
            if (!ok)
                return fail(c, s->line, CKPT_E_ARG, "range() takes ints");
            if (st == 0)
                return fail(c, s->line, CKPT_E_ARG, "range() step is zero");
            for (int64_t i = lo; st > 0 ? i < hi : i > hi;) {
                CKPT_TRY(step(c, s->line));
                jv *iv = jv_int(i);
                if (!iv)
                    return nomem(c);
                CKPT_TRY(assign(c, f, s->kids[0], iv, 0));
                bool stop;
                int rc = exec_loop_body(c, f, s->kids[2], &stop);
                if (stop)
                    return rc;
                if ((st > 0 && i > INT64_MAX - st) || (st < 0 && i < INT64_MIN - st))
                    break;
                i += st;
            }
            return 0;
        }
        jv *it = ev(c, f, itn);
        if (!it)
            return c->err->code;
        jv *items = seq_from_iterable(c, s->line, it, JV_LIST);
        jv_unref(it);
        if (!items)
            return c->err->code;
        int rc = 0;
        for (size_t i = 0; i < items->u.seq.n; i++) {
            if ((rc = step(c, s->line)) < 0)
                break;
            if ((rc = assign(c, f, s->kids[0], jv_ref(items->u.seq.items[i]), 0)) < 0)
                break;
            bool stop;
            rc = exec_loop_body(c, f, s->kids[2], &stop);
            if (stop)
                break;
        }
        jv_unref(items);
        return rc;
    }
    case TS_BREAK: return FL_BREAK;
    case TS_CONTINUE: return FL_CONTINUE;
    case TS_RETURN: {
        jv *v = s->kids[0] ? ev(c, f, s->kids[0]) : jv_none();
        if (!v)
            return c->err->code;
        jv_unref(f->ret);
        f->ret = v;
        return FL_RETURN;
    }
    case TS_RAISE: {
        char msg[512] = "exception";
        tnode *e = s->kids[0];
        if (e) {
            jv *v = NULL;
            if (e->kind == TN_CALL) {
                char dn[256];
                argv_ a;
                size_t o = 0;
                msg[0] = 0;
                if (dotted(f, e->kids[0], dn, sizeof dn, 0))
                    sb_put(msg, sizeof msg, &o, dn, strlen(dn));
                if (eval_args(c, f, e, 1, &a) < 0) {
                    args_clear(&a);
                    return c->err->code;
                }
                for (size_t k = 0; k < a.n; k++) {
                    sb_put(msg, sizeof msg, &o, k ? ", " : ": ", 2);
                    to_text(a.pos[k], msg, sizeof msg, &o, 0);
                }
                args_clear(&a);
            } else if ((v = ev(c, f, e)) != NULL) {
                size_t o = 0;
                msg[0] = 0;
                if (v->kind == JV_OPAQUE && v->u.opaque.type &&
                    !strcmp(v->u.opaque.type, "global"))
                    sb_put(msg, sizeof msg, &o, v->u.opaque.p, strlen(v->u.opaque.p));
                else
                    to_text(v, msg, sizeof msg, &o, 0);
                jv_unref(v);
            } else {
                return c->err->code;
            }
        }
        return fail(c, s->line, CKPT_E_ARG, "the model raised: %s", msg);
    }
    case TS_ASSERT: {
        jv *cv = ev(c, f, s->kids[0]);
        bool t;
        if (!cv || truth(c, s->line, cv, &t) < 0) {
            jv_unref(cv);
            return c->err->code;
        }
        jv_unref(cv);
        if (t)
            return 0;
        char msg[512] = "";
        if (s->kids[1]) {
            jv *m = ev(c, f, s->kids[1]);
            if (!m)
                return c->err->code;
            size_t o = 0;
            to_text(m, msg, sizeof msg, &o, 0);
            jv_unref(m);
        }
        return fail(c, s->line, CKPT_E_ARG, "AssertionError%s%s", msg[0] ? ": " : "", msg);
    }
    case TS_PASS:
    case TS_IMPORT:
    case TS_DEF:
    case TS_CLASS: return 0;
    case TS_DEL: return 0;
    case TS_WITH: {
        /* `with torch.no_grad():` and the like: run the body */
        return exec_block(c, f, s->kids[1]);
    }
    case TS_BLOCK: return exec_block(c, f, s);
    default: return fail(c, s->line, CKPT_E_UNSUPPORTED, "statement kind %d", s->kind);
    }
}

/* ------------------------------------------------------------ entry */

int jit_ts_call_method(jit_rt *rt, jv *self, const char *method, jv *const *args, size_t n_args,
                       const char *const *kw_names, jv *const *kw_vals, size_t n_kw, jv **result,
                       ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    *result = NULL;
    if (!self || self->kind != JV_OBJECT)
        return jit_fail(rt, err, CKPT_E_ARG, "TorchScript: calling %s on a non-object", method);
    if (n_args > TS_MAX_ARGS || n_kw > TS_MAX_ARGS)
        return jit_fail(rt, err, CKPT_E_LIMIT, "too many arguments");
    ctx c = {.rt = rt, .err = err};
    c.st = state_get(rt, err);
    if (!c.st)
        return err->code;
    const char *file0 = rt->file;
    int64_t line0 = rt->line;
    int depth0 = rt->depth;
    if (rt->depth == 0)
        rt->steps = 0;
    jv *r = NULL;
    jv *pa[TS_MAX_ARGS], *kv[TS_MAX_ARGS];
    const char *kn[TS_MAX_ARGS];
    for (size_t i = 0; i < n_args; i++)
        pa[i] = args[i];
    for (size_t i = 0; i < n_kw; i++) {
        kn[i] = kw_names[i];
        kv[i] = kw_vals[i];
    }
    int rc = call_method_of_object(&c, self, method, pa, n_args, kn, kv, n_kw, 0, &r);
    rt->depth = depth0;
    if (rc < 0) {
        jv_unref(r);
        rt->file = file0;
        rt->line = line0;
        return rc;
    }
    rt->file = file0;
    rt->line = line0;
    *result = r;
    return 0;
}
