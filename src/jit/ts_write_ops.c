/*
 * ts_write_ops.c - one TorchScript statement per ONNX node: the aten call
 * torch.jit.trace would have written for the same computation.  Attributes
 * are read with ox_attr_*; shapes, ranks and constant inputs (Reshape
 * shapes, Slice bounds, axes) come from the example run (tw_value), and
 * sub-graphs of constants are folded (their values become CONSTANTS.cN or
 * literals), as tracing bakes them.  An op without a mapping is
 * CKPT_E_UNSUPPORTED naming the node.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/ts_write.h"

typedef struct nctx {
    tw_state *s;
    const ox_node *n;
    tw_buf a; /* the expression being built */
} nctx;

static int nfail(nctx *c, int code, const char *msg)
{
    return CKPT_FAIL(c->s->err, code, "node '%s' (%s, opset %d): %s",
                     c->n->name ? c->n->name : "", c->n->op_type, c->n->opset, msg);
}

static bool has_in(const nctx *c, int k)
{
    return k >= 0 && k < c->n->n_in && c->n->in[k] >= 0;
}

static bool has_out(const nctx *c, int k)
{
    return k >= 0 && k < c->n->n_out && c->n->out[k] >= 0;
}

/* operand text of input k */
static int opnd(nctx *c, int k, const char **out)
{
    if (!has_in(c, k))
        return nfail(c, CKPT_E_FORMAT, "a required input is missing");
    int rc = tw_operand(c->s, c->n->in[k], out);
    if (rc < 0)
        ckpt__error_prefix_key(c->s->err, c->n->name ? c->n->name : c->n->op_type);
    return rc;
}

static const ox_val *inval(nctx *c, int k)
{
    return has_in(c, k) ? tw_value(c->s, c->n->in[k]) : NULL;
}

static int in_rank(nctx *c, int k)
{
    const ox_val *v = inval(c, k);
    return v ? v->rank : -1;
}

/* element i as int64, exact for integer types, saturated for floats */
static int64_t get_i64(const ox_val *v, int64_t i)
{
    switch (v->dtype) {
    case OX_INT64: return ((const int64_t *)v->data)[i];
    case OX_INT32: return ((const int32_t *)v->data)[i];
    case OX_UINT64: {
        uint64_t u = ((const uint64_t *)v->data)[i];
        return u > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)u;
    }
    default: {
        double d = ox_get_f64(v, i);
        if (d != d)
            return 0;
        if (d >= 9.2233720368547758e18)
            return INT64_MAX;
        if (d <= -9.2233720368547758e18)
            return INT64_MIN;
        return (int64_t)d;
    }
    }
}

/* constant integer input k (a Reshape shape, Slice bounds, axes) */
static int const_ints(nctx *c, int k, int64_t *dst, int64_t max, int64_t *count)
{
    if (!has_in(c, k) || !c->s->folded[c->n->in[k]])
        return nfail(c, CKPT_E_UNSUPPORTED,
                     "an input that must be constant (shape, axes, bounds) is computed at run "
                     "time");
    const ox_val *v = inval(c, k);
    if (!v || v->kind != OX_KIND_TENSOR || v->numel > max)
        return nfail(c, CKPT_E_UNSUPPORTED, "constant input has an unexpected form");
    for (int64_t i = 0; i < v->numel; i++)
        dst[i] = get_i64(v, i);
    *count = v->numel;
    return 0;
}

/* A literal for a folded rank-0 constant of the same dtype family as `other`. */
static bool literal(nctx *c, int k, int other_k, char *buf, size_t n)
{
    if (!has_in(c, k) || !c->s->folded[c->n->in[k]])
        return false;
    const ox_val *v = inval(c, k), *o = inval(c, other_k);
    if (!v || !o || v->kind != OX_KIND_TENSOR || v->rank != 0 || v->numel != 1 || !v->data ||
        o->dtype != v->dtype)
        return false;
    double x = ox_get_f64(v, 0);
    if (v->dtype == OX_FLOAT || v->dtype == OX_DOUBLE) {
        if (!isfinite(x))
            return false;
        snprintf(buf, n, v->dtype == OX_FLOAT ? "%.9g" : "%.17g", x);
        if (!strpbrk(buf, ".en"))
            strncat(buf, ".", n - strlen(buf) - 1);
        return true;
    }
    if (v->dtype == OX_INT64 || v->dtype == OX_INT32) {
        snprintf(buf, n, "%" PRId64, get_i64(v, 0));
        return true;
    }
    return false;
}

static void ints(tw_buf *b, const int64_t *v, size_t n)
{
    tw_printf(b, "[");
    for (size_t i = 0; i < n; i++)
        tw_printf(b, "%s%" PRId64, i ? ", " : "", v[i]);
    tw_printf(b, "]");
}

static void fnum(tw_buf *b, double x)
{
    char t[40];
    snprintf(t, sizeof(t), "%.9g", x);
    if (!strpbrk(t, ".en"))
        strncat(t, ".", sizeof(t) - strlen(t) - 1);
    tw_printf(b, "%s", t);
}

/* `_N = <c->a>` for output k; the expression buffer is reset */
static int bind(nctx *c, int k)
{
    tw_state *s = c->s;
    if (c->a.oom)
        return CKPT_FAIL(s->err, CKPT_E_NOMEM, "out of memory");
    char name[32];
    snprintf(name, sizeof(name), "_%d", s->tmp++);
    tw_printf(&s->body, "    %s = %s\n", name, c->a.p ? c->a.p : "None");
    c->a.len = 0;
    if (c->a.p)
        c->a.p[0] = '\0';
    if (!has_out(c, k))
        return 0;
    int vi = c->n->out[k];
    free(s->expr[vi]);
    size_t n = strlen(name) + 1;
    s->expr[vi] = malloc(n);
    if (!s->expr[vi])
        return CKPT_FAIL(s->err, CKPT_E_NOMEM, "out of memory");
    memcpy(s->expr[vi], name, n);
    return 0;
}

/* out k is the same value as `e` (Identity, Dropout) */
static int alias(nctx *c, int k, const char *e)
{
    int vi = c->n->out[k];
    size_t n = strlen(e) + 1;
    free(c->s->expr[vi]);
    c->s->expr[vi] = malloc(n);
    if (!c->s->expr[vi])
        return CKPT_FAIL(c->s->err, CKPT_E_NOMEM, "out of memory");
    memcpy(c->s->expr[vi], e, n);
    return 0;
}

static int only_first_output(nctx *c)
{
    for (int k = 1; k < c->n->n_out; k++)
        if (has_out(c, k))
            return nfail(c, CKPT_E_UNSUPPORTED, "only the first output is supported");
    return 0;
}

static int norm_axis(nctx *c, int64_t a, int rank, int64_t *out)
{
    if (a < 0)
        a += rank;
    if (a < 0 || a >= rank)
        return nfail(c, CKPT_E_SHAPE, "axis out of range");
    *out = a;
    return 0;
}

static const struct {
    const char *onnx, *aten;
} unary[] = {{"Relu", "relu"},
             {"Sigmoid", "sigmoid"},
             {"Tanh", "tanh"},
             {"Exp", "exp"},
             {"Log", "log"},
             {"Sqrt", "sqrt"},
             {"Neg", "neg"},
             {"Abs", "abs"},
             {"Reciprocal", "reciprocal"},
             {"Erf", "erf"},
             {"Sin", "sin"},
             {"Cos", "cos"},
             {"Floor", "floor"},
             {"Ceil", "ceil"},
             {"Sign", "sign"},
             {"Not", "logical_not"},
             {"HardSwish", "hardswish"},
             {"Mish", "mish"},
             {"Round", "round"},
             {"IsNaN", "isnan"},
             {"Selu", "selu"},
             {NULL, NULL}};

static const struct {
    const char *onnx, *aten;
} binary[] = {{"Add", "add"},
              {"Sub", "sub"},
              {"Mul", "mul"},
              {"Div", "div"},
              {"Pow", "pow"},
              {"Equal", "eq"},
              {"Less", "lt"},
              {"Greater", "gt"},
              {"LessOrEqual", "le"},
              {"GreaterOrEqual", "ge"},
              {"And", "logical_and"},
              {"Or", "logical_or"},
              {"Xor", "logical_xor"},
              {"BitwiseAnd", "bitwise_and"},
              {"BitwiseOr", "bitwise_or"},
              {"BitwiseXor", "bitwise_xor"},
              {NULL, NULL}};

static int torch_scalar_type(int dt)
{
    switch (dt) {
    case OX_UINT8: return 0;
    case OX_INT8: return 1;
    case OX_INT16: return 2;
    case OX_INT32: return 3;
    case OX_INT64: return 4;
    case OX_FLOAT16: return 5;
    case OX_FLOAT: return 6;
    case OX_DOUBLE: return 7;
    case OX_BOOL: return 11;
    case OX_BFLOAT16: return 15;
    default: return -1;
    }
}

/* pads [b0..bn-1, e0..en-1] symmetric -> the n begin values; false otherwise */
static bool sym_pads(const int64_t *p, size_t np, size_t n, int64_t *out)
{
    for (size_t i = 0; i < n; i++) {
        int64_t b = np == 2 * n ? p[i] : 0, e = np == 2 * n ? p[n + i] : 0;
        if (b != e)
            return false;
        out[i] = b;
    }
    return true;
}

/* SAME_UPPER / SAME_LOWER pads from the example shapes */
static int auto_pads(nctx *c, size_t n, const int64_t *k, const int64_t *st, const int64_t *dl,
                     int64_t *pads)
{
    const char *ap = ox_attr_str(c->n, "auto_pad", "NOTSET");
    if (!strcmp(ap, "NOTSET"))
        return 1;
    memset(pads, 0, 2 * n * sizeof(int64_t));
    if (!strcmp(ap, "VALID"))
        return 0;
    bool upper = !strcmp(ap, "SAME_UPPER");
    if (!upper && strcmp(ap, "SAME_LOWER"))
        return nfail(c, CKPT_E_UNSUPPORTED, "unknown auto_pad");
    const ox_val *x = inval(c, 0);
    for (size_t i = 0; i < n; i++) {
        int64_t in = x->dims[2 + i];
        int64_t out = (in + st[i] - 1) / st[i];
        int64_t tot = (out - 1) * st[i] + (k[i] - 1) * dl[i] + 1 - in;
        if (tot < 0)
            tot = 0;
        int64_t small = tot / 2, big = tot - small;
        pads[i] = upper ? small : big;
        pads[n + i] = upper ? big : small;
    }
    return 0;
}

/* the spatial attributes of Conv / ConvTranspose / pools: n dims */
typedef struct spatial {
    size_t n;
    int64_t k[8], st[8], dl[8], pads[16], p[8];
    bool sym;
} spatial;

static int get_spatial(nctx *c, size_t n, const int64_t *kernel, spatial *sp)
{
    if (n < 1 || n > 3)
        return nfail(c, CKPT_E_UNSUPPORTED, "only 1-, 2- and 3-d windows are mapped");
    sp->n = n;
    size_t cnt;
    for (size_t i = 0; i < n; i++)
        sp->k[i] = kernel[i];
    const int64_t *v = ox_attr_ints(c->n, "strides", &cnt);
    for (size_t i = 0; i < n; i++)
        sp->st[i] = v && cnt == n ? v[i] : 1;
    v = ox_attr_ints(c->n, "dilations", &cnt);
    for (size_t i = 0; i < n; i++)
        sp->dl[i] = v && cnt == n ? v[i] : 1;
    int rc = auto_pads(c, n, sp->k, sp->st, sp->dl, sp->pads);
    if (rc < 0)
        return rc;
    if (rc == 1) {
        v = ox_attr_ints(c->n, "pads", &cnt);
        if (v && cnt != 2 * n)
            return nfail(c, CKPT_E_FORMAT, "pads has the wrong length");
        for (size_t i = 0; i < 2 * n; i++)
            sp->pads[i] = v ? v[i] : 0;
    }
    sp->sym = sym_pads(sp->pads, 2 * n, n, sp->p);
    return 0;
}

/* torch's constant_pad_nd order: last dim first, (begin, end) pairs */
static void torch_pads(tw_buf *b, const int64_t *pads, size_t n)
{
    tw_printf(b, "[");
    for (size_t i = 0; i < n; i++) {
        size_t d = n - 1 - i;
        tw_printf(b, "%s%" PRId64 ", %" PRId64, i ? ", " : "", pads[d], pads[n + d]);
    }
    tw_printf(b, "]");
}

static int gen_conv(nctx *c, bool transposed)
{
    const char *x, *w, *b = "None";
    CKPT_TRY(opnd(c, 0, &x));
    CKPT_TRY(opnd(c, 1, &w));
    if (has_in(c, 2))
        CKPT_TRY(opnd(c, 2, &b));
    const ox_val *wv = inval(c, 1);
    if (!wv || wv->rank < 3)
        return nfail(c, CKPT_E_SHAPE, "weight rank < 3");
    size_t n = (size_t)wv->rank - 2;
    spatial sp;
    CKPT_TRY(get_spatial(c, n, wv->dims + 2, &sp));
    int64_t g = ox_attr_int(c->n, "group", 1);
    if (transposed) {
        if (ox_attr_get(c->n, "output_shape"))
            return nfail(c, CKPT_E_UNSUPPORTED, "ConvTranspose output_shape is not mapped");
        if (!sp.sym)
            return nfail(c, CKPT_E_UNSUPPORTED, "asymmetric pads");
        size_t cnt;
        const int64_t *op = ox_attr_ints(c->n, "output_padding", &cnt);
        int64_t opad[8] = {0};
        for (size_t i = 0; op && i < n && i < cnt; i++)
            opad[i] = op[i];
        tw_printf(&c->a, "torch.conv_transpose%zud(%s, %s, %s, ", n, x, w, b);
        ints(&c->a, sp.st, n);
        tw_printf(&c->a, ", ");
        ints(&c->a, sp.p, n);
        tw_printf(&c->a, ", ");
        ints(&c->a, opad, n);
        tw_printf(&c->a, ", %" PRId64 ", ", g);
        ints(&c->a, sp.dl, n);
        tw_printf(&c->a, ")");
        return bind(c, 0);
    }
    tw_printf(&c->a, "torch.conv%zud(", n);
    if (!sp.sym) {
        tw_printf(&c->a, "torch.constant_pad_nd(%s, ", x);
        torch_pads(&c->a, sp.pads, n);
        tw_printf(&c->a, ", 0.)");
        memset(sp.p, 0, sizeof(sp.p));
    } else
        tw_printf(&c->a, "%s", x);
    tw_printf(&c->a, ", %s, %s, ", w, b);
    ints(&c->a, sp.st, n);
    tw_printf(&c->a, ", ");
    ints(&c->a, sp.p, n);
    tw_printf(&c->a, ", ");
    ints(&c->a, sp.dl, n);
    tw_printf(&c->a, ", %" PRId64 ")", g);
    return bind(c, 0);
}

static int gen_pool(nctx *c, bool maxp)
{
    CKPT_TRY(only_first_output(c));
    const char *x;
    CKPT_TRY(opnd(c, 0, &x));
    size_t n;
    const int64_t *k = ox_attr_ints(c->n, "kernel_shape", &n);
    if (!k)
        return nfail(c, CKPT_E_FORMAT, "kernel_shape is missing");
    spatial sp;
    CKPT_TRY(get_spatial(c, n, k, &sp));
    if (!sp.sym)
        return nfail(c, CKPT_E_UNSUPPORTED, "asymmetric pads");
    bool ceil_mode = ox_attr_int(c->n, "ceil_mode", 0) != 0;
    if (maxp)
        tw_printf(&c->a, "torch.max_pool%zud(%s, ", n, x);
    else
        tw_printf(&c->a, "torch.avg_pool%zud(%s, ", n, x);
    ints(&c->a, sp.k, n);
    tw_printf(&c->a, ", ");
    ints(&c->a, sp.st, n);
    tw_printf(&c->a, ", ");
    ints(&c->a, sp.p, n);
    if (maxp) {
        tw_printf(&c->a, ", ");
        ints(&c->a, sp.dl, n);
        tw_printf(&c->a, ", %s)", ceil_mode ? "True" : "False");
    } else {
        for (size_t i = 0; i < n; i++)
            if (sp.dl[i] != 1)
                return nfail(c, CKPT_E_UNSUPPORTED, "dilated AveragePool");
        tw_printf(&c->a, ", %s, %s%s)", ceil_mode ? "True" : "False",
                  ox_attr_int(c->n, "count_include_pad", 0) ? "True" : "False",
                  n > 1 ? ", None" : "");
    }
    return bind(c, 0);
}

static int gen_gemm(nctx *c)
{
    const char *a, *b, *cc = NULL;
    CKPT_TRY(opnd(c, 0, &a));
    CKPT_TRY(opnd(c, 1, &b));
    if (has_in(c, 2))
        CKPT_TRY(opnd(c, 2, &cc));
    float alpha = ox_attr_float(c->n, "alpha", 1.0f), beta = ox_attr_float(c->n, "beta", 1.0f);
    bool ta = ox_attr_int(c->n, "transA", 0) != 0, tb = ox_attr_int(c->n, "transB", 0) != 0;
    if (alpha == 1.0f && !ta && tb && (!cc || (beta == 1.0f && in_rank(c, 2) <= 1))) {
        tw_printf(&c->a, "torch.linear(%s, %s, %s)", a, b, cc ? cc : "None");
        return bind(c, 0);
    }
    tw_printf(&c->a, "torch.matmul(");
    if (ta)
        tw_printf(&c->a, "torch.t(%s), ", a);
    else
        tw_printf(&c->a, "%s, ", a);
    if (tb)
        tw_printf(&c->a, "torch.t(%s))", b);
    else
        tw_printf(&c->a, "%s)", b);
    CKPT_TRY(bind(c, -1));
    char prev[32];
    snprintf(prev, sizeof(prev), "_%d", c->s->tmp - 1);
    if (alpha != 1.0f) {
        tw_printf(&c->a, "torch.mul(%s, ", prev);
        fnum(&c->a, (double)alpha);
        tw_printf(&c->a, ")");
        CKPT_TRY(bind(c, -1));
        snprintf(prev, sizeof(prev), "_%d", c->s->tmp - 1);
    }
    if (cc && beta != 0.0f) {
        tw_printf(&c->a, "torch.add(%s, %s, alpha=", prev, cc);
        fnum(&c->a, (double)beta);
        tw_printf(&c->a, ")");
    } else
        tw_printf(&c->a, "%s", prev);
    return bind(c, 0);
}

/* axes from the attribute (old opsets) or input k */
static int get_axes(nctx *c, int k, int64_t *axes, int64_t *n)
{
    size_t cnt;
    const int64_t *v = ox_attr_ints(c->n, "axes", &cnt);
    if (v) {
        if (cnt > OX_MAX_RANK)
            return nfail(c, CKPT_E_FORMAT, "too many axes");
        memcpy(axes, v, cnt * sizeof(int64_t));
        *n = (int64_t)cnt;
        return 0;
    }
    if (has_in(c, k))
        return const_ints(c, k, axes, OX_MAX_RANK, n);
    *n = -1; /* none given */
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int gen_reduce(nctx *c, const char *fn)
{
    const char *x;
    CKPT_TRY(opnd(c, 0, &x));
    int r = in_rank(c, 0);
    int64_t axes[OX_MAX_RANK], n;
    CKPT_TRY(get_axes(c, 1, axes, &n));
    if (n <= 0) {
        if (n == 0 && ox_attr_int(c->n, "noop_with_empty_axes", 0))
            return alias(c, 0, x);
        for (int i = 0; i < r; i++)
            axes[i] = i;
        n = r;
    }
    for (int64_t i = 0; i < n; i++)
        CKPT_TRY(norm_axis(c, axes[i], r, &axes[i]));
    bool keep = ox_attr_int(c->n, "keepdims", 1) != 0;
    tw_printf(&c->a, "torch.%s(%s, ", fn, x);
    ints(&c->a, axes, (size_t)n);
    tw_printf(&c->a, ", %s)", keep ? "True" : "False");
    return bind(c, 0);
}

static int gen_node(nctx *c)
{
    const ox_node *n = c->n;
    const char *op = n->op_type;
    const char *x, *y;
    char lit[64];
    if (n->domain && n->domain[0])
        return nfail(c, CKPT_E_UNSUPPORTED, "no aten mapping for this domain");
    for (int i = 0; unary[i].onnx; i++)
        if (!strcmp(op, unary[i].onnx)) {
            CKPT_TRY(opnd(c, 0, &x));
            tw_printf(&c->a, "torch.%s(%s)", unary[i].aten, x);
            return bind(c, 0);
        }
    for (int i = 0; binary[i].onnx; i++)
        if (!strcmp(op, binary[i].onnx)) {
            if (ox_attr_int(n, "broadcast", 0) && ox_attr_get(n, "axis"))
                return nfail(c, CKPT_E_UNSUPPORTED, "legacy broadcast with an axis");
            CKPT_TRY(opnd(c, 0, &x));
            if (literal(c, 1, 0, lit, sizeof(lit)))
                y = lit;
            else
                CKPT_TRY(opnd(c, 1, &y));
            const ox_val *a = inval(c, 0);
            bool intdiv = !strcmp(op, "Div") && a && a->dtype != OX_FLOAT &&
                          a->dtype != OX_DOUBLE && a->dtype != OX_FLOAT16 &&
                          a->dtype != OX_BFLOAT16;
            tw_printf(&c->a, "torch.%s(%s, %s%s)", binary[i].aten, x, y,
                      intdiv ? ", rounding_mode=\"trunc\"" : "");
            return bind(c, 0);
        }
    if (!strcmp(op, "Identity") || !strcmp(op, "Dropout")) {
        CKPT_TRY(only_first_output(c));
        CKPT_TRY(opnd(c, 0, &x));
        return alias(c, 0, x);
    }
    if (!strcmp(op, "Max") || !strcmp(op, "Min") || !strcmp(op, "Sum")) {
        const char *fn = op[1] == 'a' ? "maximum" : op[1] == 'i' ? "minimum" : "add";
        CKPT_TRY(opnd(c, 0, &x));
        tw_printf(&c->a, "%s", x);
        for (int k = 1; k < n->n_in; k++) {
            CKPT_TRY(opnd(c, k, &y));
            char *prev = c->a.p ? strdup(c->a.p) : NULL;
            if (!prev)
                return CKPT_FAIL(c->s->err, CKPT_E_NOMEM, "out of memory");
            c->a.len = 0;
            tw_printf(&c->a, "torch.%s(%s, %s)", fn, prev, y);
            free(prev);
        }
        return bind(c, 0);
    }
    if (!strcmp(op, "MatMul")) {
        CKPT_TRY(opnd(c, 0, &x));
        CKPT_TRY(opnd(c, 1, &y));
        tw_printf(&c->a, "torch.matmul(%s, %s)", x, y);
        return bind(c, 0);
    }
    if (!strcmp(op, "Gemm"))
        return gen_gemm(c);
    if (!strcmp(op, "Conv"))
        return gen_conv(c, false);
    if (!strcmp(op, "ConvTranspose"))
        return gen_conv(c, true);
    if (!strcmp(op, "MaxPool"))
        return gen_pool(c, true);
    if (!strcmp(op, "AveragePool"))
        return gen_pool(c, false);
    if (!strcmp(op, "GlobalAveragePool") || !strcmp(op, "GlobalMaxPool")) {
        CKPT_TRY(opnd(c, 0, &x));
        int r = in_rank(c, 0);
        int64_t axes[OX_MAX_RANK];
        for (int i = 2; i < r; i++)
            axes[i - 2] = i;
        tw_printf(&c->a, "torch.%s(%s, ", op[6] == 'A' ? "mean" : "amax", x);
        ints(&c->a, axes, (size_t)(r > 2 ? r - 2 : 0));
        tw_printf(&c->a, ", True)");
        return bind(c, 0);
    }
    if (!strcmp(op, "BatchNormalization")) {
        if (ox_attr_int(n, "training_mode", 0))
            return nfail(c, CKPT_E_UNSUPPORTED, "training_mode BatchNormalization");
        CKPT_TRY(only_first_output(c));
        const char *p[5];
        for (int k = 3; k < 5; k++) /* running statistics: buffers, as in torch */
            if (has_in(c, k))
                c->s->buffer[n->in[k]] = true;
        for (int k = 0; k < 5; k++)
            CKPT_TRY(opnd(c, k, &p[k]));
        tw_printf(&c->a, "torch.batch_norm(%s, %s, %s, %s, %s, False, ", p[0], p[1], p[2], p[3],
                  p[4]);
        fnum(&c->a, 1.0 - (double)ox_attr_float(n, "momentum", 0.9f));
        tw_printf(&c->a, ", ");
        fnum(&c->a, (double)ox_attr_float(n, "epsilon", 1e-5f));
        tw_printf(&c->a, ", True)");
        return bind(c, 0);
    }
    if (!strcmp(op, "InstanceNormalization")) {
        const char *p[3];
        for (int k = 0; k < 3; k++)
            CKPT_TRY(opnd(c, k, &p[k]));
        tw_printf(&c->a, "torch.instance_norm(%s, %s, %s, None, None, True, 0.1, ", p[0], p[1],
                  p[2]);
        fnum(&c->a, (double)ox_attr_float(n, "epsilon", 1e-5f));
        tw_printf(&c->a, ", True)");
        return bind(c, 0);
    }
    if (!strcmp(op, "LayerNormalization")) {
        CKPT_TRY(only_first_output(c));
        const char *w, *b = "None";
        CKPT_TRY(opnd(c, 0, &x));
        CKPT_TRY(opnd(c, 1, &w));
        if (has_in(c, 2))
            CKPT_TRY(opnd(c, 2, &b));
        const ox_val *xv = inval(c, 0);
        int64_t ax = 0;
        CKPT_TRY(norm_axis(c, ox_attr_int(n, "axis", -1), xv->rank, &ax));
        tw_printf(&c->a, "torch.layer_norm(%s, ", x);
        ints(&c->a, xv->dims + ax, (size_t)(xv->rank - ax));
        tw_printf(&c->a, ", %s, %s, ", w, b);
        fnum(&c->a, (double)ox_attr_float(n, "epsilon", 1e-5f));
        tw_printf(&c->a, ", True)");
        return bind(c, 0);
    }
    if (!strcmp(op, "Flatten")) {
        CKPT_TRY(opnd(c, 0, &x));
        int r = in_rank(c, 0);
        int64_t ax = ox_attr_int(n, "axis", 1);
        if (ax < 0)
            ax += r;
        if (ax < 0 || ax > r)
            return nfail(c, CKPT_E_SHAPE, "axis out of range");
        if (ax == 0)
            tw_printf(&c->a, "torch.reshape(%s, [1, -1])", x);
        else if (ax == r)
            tw_printf(&c->a, "torch.unsqueeze(torch.flatten(%s), 1)", x);
        else if (ax == 1)
            tw_printf(&c->a, "torch.flatten(%s, 1)", x);
        else
            tw_printf(&c->a, "torch.flatten(torch.flatten(%s, %" PRId64 "), 0, %" PRId64 ")", x,
                      ax, ax - 1);
        return bind(c, 0);
    }
    if (!strcmp(op, "Reshape")) {
        CKPT_TRY(opnd(c, 0, &x));
        if (has_in(c, 1) && !c->s->folded[n->in[1]]) {
            CKPT_TRY(opnd(c, 1, &y));
            tw_printf(&c->a, "torch.reshape(%s, annotate(List[int], (%s).tolist()))", x, y);
            return bind(c, 0);
        }
        int64_t shp[OX_MAX_RANK], cnt;
        CKPT_TRY(const_ints(c, 1, shp, OX_MAX_RANK, &cnt));
        bool allowzero = ox_attr_int(n, "allowzero", 0) != 0;
        tw_printf(&c->a, "torch.reshape(%s, [", x);
        for (int64_t i = 0; i < cnt; i++) {
            if (shp[i] == 0 && !allowzero)
                tw_printf(&c->a, "%storch.size(%s, %" PRId64 ")", i ? ", " : "", x, i);
            else
                tw_printf(&c->a, "%s%" PRId64, i ? ", " : "", shp[i]);
        }
        tw_printf(&c->a, "])");
        return bind(c, 0);
    }
    if (!strcmp(op, "Transpose")) {
        CKPT_TRY(opnd(c, 0, &x));
        int r = in_rank(c, 0);
        size_t cnt;
        const int64_t *perm = ox_attr_ints(n, "perm", &cnt);
        int64_t p[OX_MAX_RANK];
        for (int i = 0; i < r; i++)
            p[i] = perm && cnt == (size_t)r ? perm[i] : r - 1 - i;
        tw_printf(&c->a, "torch.permute(%s, ", x);
        ints(&c->a, p, (size_t)r);
        tw_printf(&c->a, ")");
        return bind(c, 0);
    }
    if (!strcmp(op, "Softmax") || !strcmp(op, "LogSoftmax")) {
        CKPT_TRY(opnd(c, 0, &x));
        int r = in_rank(c, 0);
        int64_t ax = 0;
        CKPT_TRY(norm_axis(c, ox_attr_int(n, "axis", n->opset < 13 ? 1 : -1), r, &ax));
        const char *fn = op[0] == 'L' ? "log_softmax" : "softmax";
        if (n->opset < 13 && ax != r - 1)
            tw_printf(&c->a,
                      "(torch.%s(torch.flatten(%s, %" PRId64 "), -1, None)).reshape_as(%s)", fn,
                      x, ax, x);
        else
            tw_printf(&c->a, "torch.%s(%s, %" PRId64 ", None)", fn, x, ax);
        return bind(c, 0);
    }
    if (!strcmp(op, "Concat")) {
        int r = -1;
        tw_buf list = {0};
        tw_printf(&list, "[");
        for (int k = 0; k < n->n_in; k++) {
            int rc = opnd(c, k, &y);
            if (rc < 0) {
                tw_buf_free(&list);
                return rc;
            }
            tw_printf(&list, "%s%s", k ? ", " : "", y);
            r = in_rank(c, k);
        }
        tw_printf(&list, "]");
        int64_t ax = 0;
        int rc = norm_axis(c, ox_attr_int(n, "axis", 0), r, &ax);
        if (rc == 0)
            tw_printf(&c->a, "torch.cat(%s, %" PRId64 ")", list.oom ? "" : list.p, ax);
        tw_buf_free(&list);
        return rc < 0 ? rc : bind(c, 0);
    }
    if (!strcmp(op, "Unsqueeze") || !strcmp(op, "Squeeze")) {
        bool un = op[0] == 'U';
        CKPT_TRY(opnd(c, 0, &x));
        int r = in_rank(c, 0);
        int64_t axes[OX_MAX_RANK], cnt;
        CKPT_TRY(get_axes(c, 1, axes, &cnt));
        if (cnt < 0 && un)
            return nfail(c, CKPT_E_FORMAT, "axes are missing");
        if (cnt <= 0) {
            tw_printf(&c->a, "torch.squeeze(%s)", x);
            return bind(c, 0);
        }
        int out_r = un ? r + (int)cnt : r;
        for (int64_t i = 0; i < cnt; i++)
            CKPT_TRY(norm_axis(c, axes[i], out_r, &axes[i]));
        qsort(axes, (size_t)cnt, sizeof(int64_t), cmp_i64);
        tw_buf e = {0};
        tw_printf(&e, "%s", x);
        for (int64_t i = 0; i < cnt; i++) {
            int64_t a = un ? axes[i] : axes[cnt - 1 - i];
            c->a.len = 0;
            tw_printf(&c->a, "torch.%s(%s, %" PRId64 ")", un ? "unsqueeze" : "squeeze",
                      e.oom ? "" : e.p, a);
            e.len = 0;
            tw_printf(&e, "%s", c->a.oom ? "" : c->a.p);
        }
        tw_buf_free(&e);
        return bind(c, 0);
    }
    if (!strcmp(op, "ReduceMean"))
        return gen_reduce(c, "mean");
    if (!strcmp(op, "ReduceSum"))
        return gen_reduce(c, "sum");
    if (!strcmp(op, "ReduceMax"))
        return gen_reduce(c, "amax");
    if (!strcmp(op, "ReduceMin"))
        return gen_reduce(c, "amin");
    if (!strcmp(op, "Gather")) {
        CKPT_TRY(opnd(c, 0, &x));
        int r = in_rank(c, 0);
        int64_t ax = 0;
        CKPT_TRY(norm_axis(c, ox_attr_int(n, "axis", 0), r, &ax));
        const ox_val *iv = inval(c, 1);
        if (!iv)
            return nfail(c, CKPT_E_FORMAT, "indices are missing");
        if (c->s->folded[n->in[1]] && iv->rank == 0) {
            tw_printf(&c->a, "torch.select(%s, %" PRId64 ", %" PRId64 ")", x, ax, get_i64(iv, 0));
            return bind(c, 0);
        }
        CKPT_TRY(opnd(c, 1, &y));
        if (iv->rank == 1)
            tw_printf(&c->a, "torch.index_select(%s, %" PRId64 ", %s)", x, ax, y);
        else if (ax == 0 && r == 2)
            tw_printf(&c->a, "torch.embedding(%s, %s, -1, False, False)", x, y);
        else
            return nfail(c, CKPT_E_UNSUPPORTED, "Gather with these index ranks");
        return bind(c, 0);
    }
    if (!strcmp(op, "Slice")) {
        CKPT_TRY(opnd(c, 0, &x));
        int r = in_rank(c, 0);
        int64_t st[OX_MAX_RANK], en[OX_MAX_RANK], ax[OX_MAX_RANK], sp[OX_MAX_RANK];
        int64_t cnt, c2, c3, c4;
        size_t na, nb, nc;
        if (n->opset < 10) {
            const int64_t *a = ox_attr_ints(n, "starts", &na);
            const int64_t *b = ox_attr_ints(n, "ends", &nb);
            if (!a || !b || na > OX_MAX_RANK || nb != na)
                return nfail(c, CKPT_E_FORMAT, "starts/ends");
            cnt = (int64_t)na;
            memcpy(st, a, na * sizeof(int64_t));
            memcpy(en, b, na * sizeof(int64_t));
            const int64_t *aa = ox_attr_ints(n, "axes", &nc);
            for (int64_t i = 0; i < cnt; i++)
                ax[i] = aa && nc == na ? aa[i] : i;
            for (int64_t i = 0; i < cnt; i++)
                sp[i] = 1;
        } else {
            CKPT_TRY(const_ints(c, 1, st, OX_MAX_RANK, &cnt));
            CKPT_TRY(const_ints(c, 2, en, OX_MAX_RANK, &c2));
            if (c2 != cnt)
                return nfail(c, CKPT_E_FORMAT, "starts/ends lengths differ");
            if (has_in(c, 3)) {
                CKPT_TRY(const_ints(c, 3, ax, OX_MAX_RANK, &c3));
                if (c3 != cnt)
                    return nfail(c, CKPT_E_FORMAT, "axes length");
            } else
                for (int64_t i = 0; i < cnt; i++)
                    ax[i] = i;
            if (has_in(c, 4)) {
                CKPT_TRY(const_ints(c, 4, sp, OX_MAX_RANK, &c4));
                if (c4 != cnt)
                    return nfail(c, CKPT_E_FORMAT, "steps length");
            } else
                for (int64_t i = 0; i < cnt; i++)
                    sp[i] = 1;
        }
        tw_buf e = {0};
        tw_printf(&e, "%s", x);
        for (int64_t i = 0; i < cnt; i++) {
            int64_t a = 0;
            int rc = norm_axis(c, ax[i], r, &a);
            if (rc == 0 && sp[i] <= 0)
                rc = nfail(c, CKPT_E_UNSUPPORTED, "a step <= 0");
            if (rc < 0) {
                tw_buf_free(&e);
                return rc;
            }
            c->a.len = 0;
            tw_printf(&c->a,
                      "torch.slice(%s, %" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64 ")",
                      e.oom ? "" : e.p, a, st[i], en[i], sp[i]);
            e.len = 0;
            tw_printf(&e, "%s", c->a.oom ? "" : c->a.p);
        }
        if (cnt == 0)
            tw_printf(&c->a, "%s", x);
        tw_buf_free(&e);
        return bind(c, 0);
    }
    if (!strcmp(op, "Split")) {
        CKPT_TRY(opnd(c, 0, &x));
        const ox_val *xv = inval(c, 0);
        int64_t ax = 0;
        CKPT_TRY(norm_axis(c, ox_attr_int(n, "axis", 0), xv->rank, &ax));
        int64_t sizes[64], cnt = n->n_out;
        if (cnt > 64)
            return nfail(c, CKPT_E_UNSUPPORTED, "more than 64 outputs");
        for (int k = 0; k < n->n_out; k++) {
            const ox_val *ov = has_out(c, k) ? tw_value(c->s, n->out[k]) : NULL;
            if (!ov || ov->rank != xv->rank)
                return nfail(c, CKPT_E_UNSUPPORTED, "an omitted Split output");
            sizes[k] = ov->dims[ax];
        }
        tw_printf(&c->a, "torch.split_with_sizes(%s, ", x);
        ints(&c->a, sizes, (size_t)cnt);
        tw_printf(&c->a, ", %" PRId64 ")", ax);
        CKPT_TRY(bind(c, -1));
        int list = c->s->tmp - 1;
        for (int k = 0; k < n->n_out; k++) {
            char e[48];
            snprintf(e, sizeof(e), "_%d[%d]", list, k);
            CKPT_TRY(alias(c, k, e));
        }
        return 0;
    }
    if (!strcmp(op, "Cast")) {
        CKPT_TRY(opnd(c, 0, &x));
        int st = torch_scalar_type((int)ox_attr_int(n, "to", 0));
        if (st < 0)
            return nfail(c, CKPT_E_UNSUPPORTED, "Cast to a type torch has no scalar type for");
        tw_printf(&c->a, "torch.to(%s, %d, False, False, None)", x, st);
        return bind(c, 0);
    }
    if (!strcmp(op, "Clip")) {
        CKPT_TRY(opnd(c, 0, &x));
        tw_printf(&c->a, "torch.clamp(%s, ", x);
        if (n->opset < 11) {
            fnum(&c->a, (double)ox_attr_float(n, "min", -INFINITY));
            tw_printf(&c->a, ", ");
            fnum(&c->a, (double)ox_attr_float(n, "max", INFINITY));
            if (!isfinite(ox_attr_float(n, "min", 0)) || !isfinite(ox_attr_float(n, "max", 0)))
                return nfail(c, CKPT_E_UNSUPPORTED, "Clip without both bounds (opset < 11)");
        } else {
            for (int k = 1; k <= 2; k++) {
                if (!has_in(c, k))
                    tw_printf(&c->a, "None");
                else if (literal(c, k, 0, lit, sizeof(lit)))
                    tw_printf(&c->a, "%s", lit);
                else {
                    CKPT_TRY(opnd(c, k, &y));
                    tw_printf(&c->a, "%s", y);
                }
                if (k == 1)
                    tw_printf(&c->a, ", ");
            }
        }
        tw_printf(&c->a, ")");
        return bind(c, 0);
    }
    if (!strcmp(op, "LeakyRelu") || !strcmp(op, "Elu")) {
        CKPT_TRY(opnd(c, 0, &x));
        bool leaky = op[0] == 'L';
        tw_printf(&c->a, "torch.%s(%s, ", leaky ? "leaky_relu" : "elu", x);
        fnum(&c->a, (double)ox_attr_float(n, "alpha", leaky ? 0.01f : 1.0f));
        tw_printf(&c->a, ")");
        return bind(c, 0);
    }
    if (!strcmp(op, "HardSigmoid")) {
        CKPT_TRY(opnd(c, 0, &x));
        tw_printf(&c->a, "torch.clamp(torch.add(torch.mul(%s, ", x);
        fnum(&c->a, (double)ox_attr_float(n, "alpha", 0.2f));
        tw_printf(&c->a, "), ");
        fnum(&c->a, (double)ox_attr_float(n, "beta", 0.5f));
        tw_printf(&c->a, "), 0., 1.)");
        return bind(c, 0);
    }
    if (!strcmp(op, "Softplus")) {
        CKPT_TRY(opnd(c, 0, &x));
        tw_printf(&c->a, "torch.softplus(%s, 1, 20)", x);
        return bind(c, 0);
    }
    if (!strcmp(op, "Gelu")) {
        CKPT_TRY(opnd(c, 0, &x));
        /* gelu's approximate argument needs file format 10 (torch's gelu_0_9 upgrader) */
        if (!strcmp(ox_attr_str(n, "approximate", "none"), "tanh")) {
            tw_printf(&c->a, "torch.gelu(%s, approximate=\"tanh\")", x);
            if (c->s->version < 10)
                c->s->version = 10;
        } else
            tw_printf(&c->a, "torch.gelu(%s)", x);
        return bind(c, 0);
    }
    if (!strcmp(op, "Where")) {
        const char *cond;
        CKPT_TRY(opnd(c, 0, &cond));
        CKPT_TRY(opnd(c, 1, &x));
        CKPT_TRY(opnd(c, 2, &y));
        tw_printf(&c->a, "torch.where(%s, %s, %s)", cond, x, y);
        return bind(c, 0);
    }
    if (!strcmp(op, "Shape")) {
        CKPT_TRY(opnd(c, 0, &x));
        int r = in_rank(c, 0);
        int64_t s0 = ox_attr_int(n, "start", 0), e0 = ox_attr_int(n, "end", r);
        if (s0 != 0 || e0 != r)
            tw_printf(&c->a,
                      "torch.slice(torch._shape_as_tensor(%s), 0, %" PRId64 ", %" PRId64 ", 1)",
                      x, s0, e0);
        else
            tw_printf(&c->a, "torch._shape_as_tensor(%s)", x);
        return bind(c, 0);
    }
    if (!strcmp(op, "Expand")) {
        CKPT_TRY(opnd(c, 0, &x));
        const ox_val *xv = inval(c, 0), *ov = tw_value(c->s, n->out[0]);
        int st = torch_scalar_type(ov ? ov->dtype : 0);
        if (!xv || !ov || st < 0)
            return nfail(c, CKPT_E_UNSUPPORTED, "Expand of this type");
        if (has_in(c, 1) && !c->s->folded[n->in[1]]) {
            /* a computed shape: ONNX's two-way broadcast as a product with ones */
            CKPT_TRY(opnd(c, 1, &y));
            tw_printf(&c->a,
                      "torch.mul(%s, torch.ones(annotate(List[int], (%s).tolist()), dtype=%d))",
                      x, y, st);
            return bind(c, 0);
        }
        int64_t shp[OX_MAX_RANK], cnt, dims[OX_MAX_RANK];
        CKPT_TRY(const_ints(c, 1, shp, OX_MAX_RANK, &cnt));
        /* torch's expand keeps a dim given as -1; ONNX's shape entry 1 keeps x's dim */
        int r = ov->rank;
        for (int i = 0; i < r; i++) {
            int64_t si = i - (r - (int)cnt) >= 0 ? shp[i - (r - (int)cnt)] : 1;
            bool x_has = i - (r - xv->rank) >= 0;
            dims[i] = si == 1 ? (x_has ? -1 : 1) : si;
        }
        tw_printf(&c->a, "torch.broadcast_to(%s, ", x);
        ints(&c->a, dims, (size_t)r);
        tw_printf(&c->a, ")");
        return bind(c, 0);
    }
    if (!strcmp(op, "ConstantOfShape")) {
        const ox_val *val = ox_attr_tensor(n, "value");
        int dt = val ? val->dtype : OX_FLOAT;
        int st = torch_scalar_type(dt);
        if (st < 0 || (val && val->numel != 1))
            return nfail(c, CKPT_E_UNSUPPORTED, "ConstantOfShape of this type");
        double v = val ? ox_get_f64(val, 0) : 0.0;
        CKPT_TRY(opnd(c, 0, &y));
        tw_printf(&c->a, "torch.full(annotate(List[int], (%s).tolist()), ", y);
        if (dt == OX_BOOL)
            tw_printf(&c->a, "%s", v != 0 ? "True" : "False");
        else if (dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_BFLOAT16) {
            if (!isfinite(v))
                return nfail(c, CKPT_E_UNSUPPORTED, "a non-finite fill value");
            fnum(&c->a, v);
        } else
            tw_printf(&c->a, "%" PRId64, get_i64(val, 0));
        tw_printf(&c->a, ", dtype=%d)", st);
        return bind(c, 0);
    }
    if (!strcmp(op, "Tile")) {
        CKPT_TRY(opnd(c, 0, &x));
        int64_t reps[OX_MAX_RANK], cnt;
        CKPT_TRY(const_ints(c, 1, reps, OX_MAX_RANK, &cnt));
        tw_printf(&c->a, "torch.tile(%s, ", x);
        ints(&c->a, reps, (size_t)cnt);
        tw_printf(&c->a, ")");
        return bind(c, 0);
    }
    if (!strcmp(op, "Pad")) {
        if (strcmp(ox_attr_str(n, "mode", "constant"), "constant"))
            return nfail(c, CKPT_E_UNSUPPORTED, "only constant Pad is mapped");
        CKPT_TRY(opnd(c, 0, &x));
        int r = in_rank(c, 0);
        int64_t pads[2 * OX_MAX_RANK], cnt;
        double val = 0;
        if (n->opset < 11) {
            size_t np;
            const int64_t *p = ox_attr_ints(n, "pads", &np);
            if (!p || np != (size_t)(2 * r))
                return nfail(c, CKPT_E_FORMAT, "pads");
            memcpy(pads, p, np * sizeof(int64_t));
            val = (double)ox_attr_float(n, "value", 0.0f);
        } else {
            CKPT_TRY(const_ints(c, 1, pads, 2 * OX_MAX_RANK, &cnt));
            if (cnt != 2 * r || has_in(c, 3))
                return nfail(c, CKPT_E_UNSUPPORTED, "Pad with axes or a partial pads list");
            if (has_in(c, 2)) {
                if (!c->s->folded[n->in[2]] || inval(c, 2)->numel != 1)
                    return nfail(c, CKPT_E_UNSUPPORTED, "a computed pad value");
                val = ox_get_f64(inval(c, 2), 0);
            }
        }
        tw_printf(&c->a, "torch.constant_pad_nd(%s, ", x);
        torch_pads(&c->a, pads, (size_t)r);
        tw_printf(&c->a, ", ");
        fnum(&c->a, val);
        tw_printf(&c->a, ")");
        return bind(c, 0);
    }
    if (!strcmp(op, "Einsum")) {
        tw_buf list = {0};
        for (int k = 0; k < n->n_in; k++) {
            int rc = opnd(c, k, &y);
            if (rc < 0) {
                tw_buf_free(&list);
                return rc;
            }
            tw_printf(&list, "%s%s", k ? ", " : "", y);
        }
        const char *eq = ox_attr_str(n, "equation", "");
        for (const char *p = eq; *p; p++)
            if (*p == '"' || *p == '\\' || *p == '\n') {
                tw_buf_free(&list);
                return nfail(c, CKPT_E_FORMAT, "bad equation");
            }
        tw_printf(&c->a, "torch.einsum(\"%s\", [%s])", eq, list.oom || !list.p ? "" : list.p);
        tw_buf_free(&list);
        return bind(c, 0);
    }
    if (!strcmp(op, "ArgMax") || !strcmp(op, "ArgMin")) {
        CKPT_TRY(opnd(c, 0, &x));
        if (ox_attr_int(n, "select_last_index", 0))
            return nfail(c, CKPT_E_UNSUPPORTED, "select_last_index");
        int64_t ax = 0;
        CKPT_TRY(norm_axis(c, ox_attr_int(n, "axis", 0), in_rank(c, 0), &ax));
        tw_printf(&c->a, "torch.%s(%s, %" PRId64 ", %s)",
                  op[3] == 'M' && op[4] == 'a' ? "argmax" : "argmin", x, ax,
                  ox_attr_int(n, "keepdims", 1) ? "True" : "False");
        return bind(c, 0);
    }
    if (!strcmp(op, "Mod")) {
        CKPT_TRY(opnd(c, 0, &x));
        CKPT_TRY(opnd(c, 1, &y));
        tw_printf(&c->a, "torch.%s(%s, %s)", ox_attr_int(n, "fmod", 0) ? "fmod" : "remainder", x,
                  y);
        return bind(c, 0);
    }
    if (!strcmp(op, "Mean")) {
        CKPT_TRY(opnd(c, 0, &x));
        const ox_val *xv = inval(c, 0);
        if (!xv || (xv->dtype != OX_FLOAT && xv->dtype != OX_DOUBLE))
            return nfail(c, CKPT_E_UNSUPPORTED, "Mean of a type other than float32/float64");
        tw_printf(&c->a, "%s", x);
        for (int k = 1; k < n->n_in; k++) {
            CKPT_TRY(opnd(c, k, &y));
            char *prev = c->a.p ? strdup(c->a.p) : NULL;
            if (!prev)
                return CKPT_FAIL(c->s->err, CKPT_E_NOMEM, "out of memory");
            c->a.len = 0;
            tw_printf(&c->a, "torch.add(%s, %s)", prev, y);
            free(prev);
        }
        char *prev = c->a.p ? strdup(c->a.p) : NULL;
        if (!prev)
            return CKPT_FAIL(c->s->err, CKPT_E_NOMEM, "out of memory");
        c->a.len = 0;
        tw_printf(&c->a, "torch.div(%s, %d.)", prev, n->n_in);
        free(prev);
        return bind(c, 0);
    }
    if (!strcmp(op, "PRelu")) {
        CKPT_TRY(opnd(c, 0, &x));
        CKPT_TRY(opnd(c, 1, &y));
        tw_printf(&c->a, "torch.where(torch.lt(%s, 0.), torch.mul(%s, %s), %s)", x, x, y, x);
        return bind(c, 0);
    }
    if (!strcmp(op, "TopK")) {
        CKPT_TRY(opnd(c, 0, &x));
        int64_t k, cnt, ax = 0;
        CKPT_TRY(const_ints(c, 1, &k, 1, &cnt));
        if (cnt != 1)
            return nfail(c, CKPT_E_FORMAT, "K must hold one value");
        CKPT_TRY(norm_axis(c, ox_attr_int(n, "axis", -1), in_rank(c, 0), &ax));
        tw_printf(&c->a, "torch.topk(%s, %" PRId64 ", %" PRId64 ", %s, %s)", x, k, ax,
                  ox_attr_int(n, "largest", 1) ? "True" : "False",
                  ox_attr_int(n, "sorted", 1) ? "True" : "False");
        CKPT_TRY(bind(c, -1));
        int t = c->s->tmp - 1;
        for (int o = 0; o < 2 && o < n->n_out; o++)
            if (has_out(c, o)) {
                char e[48];
                snprintf(e, sizeof(e), "_%d[%d]", t, o);
                CKPT_TRY(alias(c, o, e));
            }
        return 0;
    }
    if (!strcmp(op, "Trilu")) {
        CKPT_TRY(opnd(c, 0, &x));
        int64_t k = 0, cnt;
        if (has_in(c, 1))
            CKPT_TRY(const_ints(c, 1, &k, 1, &cnt));
        tw_printf(&c->a, "torch.%s(%s, %" PRId64 ")",
                  ox_attr_int(n, "upper", 1) ? "triu" : "tril", x, k);
        return bind(c, 0);
    }
    if (!strcmp(op, "CumSum")) {
        CKPT_TRY(opnd(c, 0, &x));
        if (ox_attr_int(n, "exclusive", 0) || ox_attr_int(n, "reverse", 0))
            return nfail(c, CKPT_E_UNSUPPORTED, "exclusive or reverse CumSum");
        int64_t a, cnt, ax = 0;
        CKPT_TRY(const_ints(c, 1, &a, 1, &cnt));
        CKPT_TRY(norm_axis(c, a, in_rank(c, 0), &ax));
        tw_printf(&c->a, "torch.cumsum(%s, %" PRId64 ", None)", x, ax);
        return bind(c, 0);
    }
    if (!strcmp(op, "GatherElements") || !strcmp(op, "ScatterElements")) {
        bool sc = op[0] == 'S';
        const char *u = NULL;
        CKPT_TRY(opnd(c, 0, &x));
        CKPT_TRY(opnd(c, 1, &y));
        if (sc)
            CKPT_TRY(opnd(c, 2, &u));
        int64_t ax = 0;
        CKPT_TRY(norm_axis(c, ox_attr_int(n, "axis", 0), in_rank(c, 0), &ax));
        const char *red = ox_attr_str(n, "reduction", "none");
        char idx[600];
        const ox_val *iv = inval(c, 1);
        if (iv && iv->dtype != OX_INT64) /* torch indexes with int64 only */
            snprintf(idx, sizeof(idx), "torch.to(%s, 4, False, False, None)", y);
        else
            snprintf(idx, sizeof(idx), "%s", y);
        if (strlen(y) > 500)
            return nfail(c, CKPT_E_UNSUPPORTED, "index expression too long");
        y = idx;
        if (!sc)
            tw_printf(&c->a, "torch.gather(%s, %" PRId64 ", %s, sparse_grad=False)", x, ax, y);
        else if (!strcmp(red, "none"))
            tw_printf(&c->a, "torch.scatter(%s, %" PRId64 ", %s, %s)", x, ax, y, u);
        else if (!strcmp(red, "add"))
            tw_printf(&c->a, "torch.scatter_add(%s, %" PRId64 ", %s, %s)", x, ax, y, u);
        else
            return nfail(c, CKPT_E_UNSUPPORTED, "this ScatterElements reduction");
        return bind(c, 0);
    }
    if (!strcmp(op, "NonZero")) {
        CKPT_TRY(opnd(c, 0, &x));
        tw_printf(&c->a, "torch.permute(torch.nonzero(%s), [1, 0])", x);
        return bind(c, 0);
    }
    if (!strcmp(op, "CastLike")) {
        CKPT_TRY(opnd(c, 0, &x));
        const ox_val *tv = inval(c, 1);
        int st = torch_scalar_type(tv ? tv->dtype : 0);
        if (st < 0)
            return nfail(c, CKPT_E_UNSUPPORTED,
                         "CastLike to a type torch has no scalar type for");
        tw_printf(&c->a, "torch.to(%s, %d, False, False, None)", x, st);
        return bind(c, 0);
    }
    return nfail(c, CKPT_E_UNSUPPORTED, "no aten mapping for this op");
}

static bool random_op(const char *op)
{
    return !strncmp(op, "Random", 6) || !strcmp(op, "Bernoulli") || !strcmp(op, "Multinomial");
}

int tw_gen_nodes(tw_state *s)
{
    const ox_graph *g = s->g;
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *n = &g->nodes[i];
        bool fold = !random_op(n->op_type) && (!n->domain || !n->domain[0]);
        /* a subgraph may read outer values that are not constant */
        for (int a = 0; fold && a < n->n_attrs; a++)
            if (n->attrs[a].type == OX_ATTR_GRAPH || n->attrs[a].type == OX_ATTR_GRAPHS)
                fold = false;
        for (int k = 0; fold && k < n->n_in; k++)
            if (n->in[k] >= 0 && !s->folded[n->in[k]])
                fold = false;
        if (fold) {
            for (int k = 0; k < n->n_out; k++)
                if (n->out[k] >= 0) {
                    const ox_val *v = tw_value(s, n->out[k]);
                    if (!v || v->kind != OX_KIND_TENSOR)
                        fold = false;
                }
        }
        if (fold) {
            for (int k = 0; k < n->n_out; k++)
                if (n->out[k] >= 0)
                    s->folded[n->out[k]] = true;
            continue;
        }
        nctx c = {.s = s, .n = n};
        int rc = gen_node(&c);
        tw_buf_free(&c.a);
        if (rc < 0)
            return rc;
    }
    return 0;
}
