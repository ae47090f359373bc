/* src/onnx/onnx_export.c - a C model -> ONNX, by tracing its forward on the
 * autograd tape (see ckpt_onnx_export in ckpt/onnx.h).
 *
 * The tape gets a tracer (graph_internal.h): every functional op the forward
 * runs records a node (the tracer keeps the list, in order), and every
 * module call asks whether the module is exported as one unit: built-in
 * layers are (their ONNX form comes from the layer's own state: kernel,
 * strides, eps...), Sequential and modules with a C forward function are not
 * (their ops are traced one by one).  After the forward the events are
 * turned into ONNX nodes in order, with a name per traced var: the input,
 * initializers named by state_dict key (a leaf var whose memory is a slot's),
 * constants for other leaves, and fresh "/..." names for intermediates. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/autograd.h"
#include "ckpt/nn.h"
#include "core/err.h"
#include "ckpt/kernels.h"
#include "graph/graph_internal.h"
#include "nn/layers.h"
#include "nn/nn_internal.h"
#include "onnx/onnx_build.h"
#include "onnx/onnx_internal.h"

typedef struct ev {
    ckpt__node *n;  /* an op, or */
    ckpt_module *m; /* a module traced as a unit */
    ckpt_var *x, *y;
} ev;

typedef struct vname {
    const ckpt_var *v;
    char *name;
} vname;

typedef struct skey {
    const void *data;
    char *key;
    const ckpt_slot *slot;
} skey;

typedef struct mpre {
    const ckpt_module *m;
    char *prefix;
} mpre;

typedef struct ex {
    ckpt__tracer tr; /* first: the callbacks get it */
    ev *evs;
    size_t n_ev, cap_ev;
    bool oom;
    ob_model *b;
    int opset;
    vname *names;
    size_t n_names, cap_names;
    skey *keys;
    size_t n_keys, cap_keys;
    mpre *mods;
    size_t n_mods, cap_mods;
    ckpt_error *err;
    ckpt_var *input, *output;
    const char *output_name;
} ex;

/* ------------------------------------------------------------ tracing callbacks */

static void ev_push(ex *e, ev v)
{
    if (e->n_ev == e->cap_ev) {
        size_t nc = e->cap_ev ? 2 * e->cap_ev : 64;
        ev *p = realloc(e->evs, nc * sizeof *p);
        if (!p) {
            e->oom = true;
            return;
        }
        e->evs = p;
        e->cap_ev = nc;
    }
    e->evs[e->n_ev++] = v;
}

static void on_op(ckpt__tracer *tr, ckpt__node *n)
{
    ex *e = (ex *)tr;
    ev_push(e, (ev){n, NULL, NULL, n->out});
}

static bool is_unit_type(const ckpt_module *m)
{
    static const char *const units[] = {"Linear",
                                        "NonDynamicallyQuantizableLinear",
                                        "Conv1d",
                                        "Conv2d",
                                        "ConvTranspose2d",
                                        "BatchNorm1d",
                                        "BatchNorm2d",
                                        "LayerNorm",
                                        "Embedding",
                                        "Dropout",
                                        "ReLU",
                                        "GELU",
                                        "SiLU",
                                        "Tanh",
                                        "Sigmoid",
                                        "Softmax",
                                        "LogSoftmax",
                                        "Identity",
                                        "MaxPool2d",
                                        "AvgPool2d",
                                        "AdaptiveAvgPool2d",
                                        "Flatten",
                                        "LSTM",
                                        "GRU",
                                        NULL};
    if (m->forward_fn || !m->ops)
        return false;
    for (int i = 0; units[i]; i++)
        if (!strcmp(m->ops->type, units[i]))
            return true;
    return false;
}

static bool on_module_begin(ckpt__tracer *tr, ckpt_module *m, ckpt_var *x)
{
    (void)tr;
    (void)x;
    return is_unit_type(m);
}

static void on_module_end(ckpt__tracer *tr, ckpt_module *m, ckpt_var *x, ckpt_var *y)
{
    ex *e = (ex *)tr;
    ev_push(e, (ev){NULL, m, x, y});
}

/* ------------------------------------------------------------ names */

static int nomem(ex *e)
{
    return CKPT_FAIL(e->err, CKPT_E_NOMEM, "out of memory exporting to ONNX");
}

static const char *name_find(ex *e, const ckpt_var *v)
{
    for (size_t i = e->n_names; i-- > 0;)
        if (e->names[i].v == v)
            return e->names[i].name;
    return NULL;
}

static const char *name_set(ex *e, const ckpt_var *v, const char *name)
{
    if (e->n_names == e->cap_names) {
        size_t nc = e->cap_names ? 2 * e->cap_names : 64;
        vname *p = realloc(e->names, nc * sizeof *p);
        if (!p)
            return NULL;
        e->names = p;
        e->cap_names = nc;
    }
    char *s = strdup(name);
    if (!s)
        return NULL;
    e->names[e->n_names++] = (vname){v, s};
    return s;
}

static int slot_cb(void *payload, const char *key, ckpt_module *owner, ckpt_slot *s)
{
    (void)owner;
    ex *e = payload;
    if (!s->data)
        return 0;
    if (e->n_keys == e->cap_keys) {
        size_t nc = e->cap_keys ? 2 * e->cap_keys : 64;
        skey *p = realloc(e->keys, nc * sizeof *p);
        if (!p)
            return nomem(e);
        e->keys = p;
        e->cap_keys = nc;
    }
    char *k = strdup(key);
    if (!k)
        return nomem(e);
    e->keys[e->n_keys++] = (skey){s->data, k, s};
    return 0;
}

static int module_cb(void *payload, const char *prefix, ckpt_module *m)
{
    ex *e = payload;
    if (e->n_mods == e->cap_mods) {
        size_t nc = e->cap_mods ? 2 * e->cap_mods : 64;
        mpre *p = realloc(e->mods, nc * sizeof *p);
        if (!p)
            return nomem(e);
        e->mods = p;
        e->cap_mods = nc;
    }
    char *k = strdup(prefix);
    if (!k)
        return nomem(e);
    e->mods[e->n_mods++] = (mpre){m, k};
    return 0;
}

static const char *mod_prefix(ex *e, const ckpt_module *m)
{
    for (size_t i = 0; i < e->n_mods; i++)
        if (e->mods[i].m == m)
            return e->mods[i].prefix;
    return "";
}

static char *fresh(ex *e, const char *base, char *buf, size_t cap)
{
    char b2[96];
    snprintf(b2, sizeof b2, "/%s", base);
    return ob_fresh(e->b, b2, buf, cap);
}

/* An initializer for the slot `local` of module m, named by its state_dict
 * key; NULL when the module has no such slot (None). */
static const char *slot_init(ex *e, const ckpt_module *m, const char *local, char *buf,
                             size_t cap)
{
    const ckpt_slot *s = ckpt_module_slot(m, local);
    if (!s || !s->data)
        return NULL;
    const char *pre = mod_prefix(e, m);
    snprintf(buf, cap, "%s%s%s", pre, pre[0] ? "." : "", local);
    if (ob_find_init(e->b, buf))
        return buf;
    int dt = ox_dtype_from_ckpt((int)s->dtype);
    if (!ob_add_init(e->b, buf, dt, s->ndim, s->shape, s->data, e->err))
        return NULL;
    return buf;
}

/* The ONNX name of a traced var (leaves become initializers or constants). */
static const char *var_name(ex *e, const ckpt_var *v)
{
    const char *n = name_find(e, v);
    if (n)
        return n;
    char buf[512];
    const void *data = v->dtype == CKPT_F32 ? (const void *)v->data : (const void *)v->idata;
    for (size_t i = 0; i < e->n_keys; i++) {
        const ckpt_slot *s = e->keys[i].slot;
        if (e->keys[i].data == data && data &&
            (uint64_t)v->numel * (v->dtype == CKPT_F32 ? 4u : 8u) == s->nbytes &&
            ox_dtype_from_ckpt((int)s->dtype) == (v->dtype == CKPT_F32 ? OX_FLOAT : OX_INT64)) {
            const char *key = e->keys[i].key;
            if (!ob_find_init(e->b, key) &&
                !ob_add_init(e->b, key, v->dtype == CKPT_F32 ? OX_FLOAT : OX_INT64, v->ndim,
                             v->shape, data, e->err))
                return NULL;
            return name_set(e, v, key);
        }
    }
    fresh(e, "const", buf, sizeof buf);
    if (!ob_add_init(e->b, buf, v->dtype == CKPT_F32 ? OX_FLOAT : OX_INT64, v->ndim, v->shape,
                     data, e->err))
        return NULL;
    return name_set(e, v, buf);
}

/* The output name for a var produced now. */
static const char *out_name(ex *e, const ckpt_var *v, const char *base)
{
    char buf[256];
    if (v == e->output && !name_find(e, v) && v != e->input)
        return name_set(e, v, e->output_name);
    return name_set(e, v, fresh(e, base, buf, sizeof buf));
}

/* ------------------------------------------------------------ node helpers */

static ob_node *node(ex *e, const char *op, int n_in, const char *const *in, const char *out)
{
    char nm[160];
    snprintf(nm, sizeof nm, "/%s_%llu", op, (unsigned long long)(e->b->n_nodes));
    return ob_add_node(e->b, op, nm, n_in, in, 1, &out, e->err);
}

/* a fresh intermediate name (copied into `buf`) */
static const char *tmp(ex *e, const char *base, char *buf, size_t cap)
{
    return fresh(e, base, buf, cap);
}

static const char *cst_f(ex *e, float v, char *buf, size_t cap)
{
    fresh(e, "const", buf, cap);
    return ob_add_init(e->b, buf, OX_FLOAT, 0, NULL, &v, e->err) ? buf : NULL;
}

static const char *cst_i64(ex *e, int n, const int64_t *v, char *buf, size_t cap)
{
    fresh(e, "const", buf, cap);
    int64_t d = n;
    return ob_add_init(e->b, buf, OX_INT64, 1, &d, v, e->err) ? buf : NULL;
}

/* Unsqueeze / Squeeze / ReduceX with axes as attribute (< 13, ReduceMean < 18)
 * or input */
static ob_node *axes_node(ex *e, const char *op, const char *x, int n, const int64_t *axes,
                          bool axes_input, const char *out)
{
    if (axes_input) {
        char cb[64];
        const char *c = cst_i64(e, n, axes, cb, sizeof cb);
        if (!c)
            return NULL;
        const char *in[2] = {x, c};
        return node(e, op, 2, in, out);
    }
    ob_node *nd = node(e, op, 1, &x, out);
    if (nd && ob_attr_ints(nd, "axes", (size_t)n, axes, e->err) < 0)
        return NULL;
    return nd;
}

static ob_node *unsqueeze(ex *e, const char *x, int64_t axis, const char *out)
{
    return axes_node(e, "Unsqueeze", x, 1, &axis, e->opset >= 13, out);
}

static ob_node *squeeze(ex *e, const char *x, int64_t axis, const char *out)
{
    return axes_node(e, "Squeeze", x, 1, &axis, e->opset >= 13, out);
}

static ob_node *transpose(ex *e, const char *x, int n, const int64_t *perm, const char *out)
{
    ob_node *nd = node(e, "Transpose", 1, &x, out);
    if (nd && ob_attr_ints(nd, "perm", (size_t)n, perm, e->err) < 0)
        return NULL;
    return nd;
}

static ob_node *binop(ex *e, const char *op, const char *a, const char *b, const char *out)
{
    const char *in[2] = {a, b};
    return node(e, op, 2, in, out);
}

static int fail_op(ex *e, const char *what)
{
    return CKPT_FAIL(e->err, CKPT_E_UNSUPPORTED, "ONNX export: %s has no ONNX mapping", what);
}

#define NB 256
#define TRY_NODE(x)                                                                              \
    do {                                                                                         \
        if (!(x))                                                                                \
            return e->err->code ? e->err->code : CKPT_E_NOMEM;                                   \
    } while (0)

/* ------------------------------------------------------------ shared emitters */

/* y = x W^T + b with W (out, in) an initializer name */
static int emit_linear(ex *e, const char *x, int xrank, const char *w, const char *bias,
                       const char *y)
{
    if (xrank == 2) {
        const char *in[3] = {x, w, bias};
        ob_node *nd = node(e, "Gemm", bias ? 3 : 2, in, y);
        TRY_NODE(nd);
        return ob_attr_int(nd, "transB", 1, e->err);
    }
    /* MatMul with the transposed weight (as torch does), then Add */
    char wt[NB], mm[NB];
    ob_init *wi = ob_find_init(e->b, w);
    if (wi && wi->v.rank == 2 && wi->v.dtype == OX_FLOAT) {
        int64_t o = wi->v.dims[0], i = wi->v.dims[1];
        float *t = malloc((size_t)(o * i > 0 ? o * i : 1) * sizeof(float));
        if (!t)
            return nomem(e);
        const float *src = wi->v.data;
        for (int64_t r = 0; r < o; r++)
            for (int64_t c = 0; c < i; c++)
                t[c * o + r] = src[r * i + c];
        snprintf(wt, sizeof wt, "%s.T", w);
        int64_t d[2] = {i, o};
        ob_init *ok = ob_find_init(e->b, wt) ? ob_find_init(e->b, wt)
                                             : ob_add_init(e->b, wt, OX_FLOAT, 2, d, t, e->err);
        free(t);
        TRY_NODE(ok);
    } else {
        tmp(e, "wT", wt, sizeof wt);
        int64_t p[2] = {1, 0};
        TRY_NODE(transpose(e, w, 2, p, wt));
    }
    if (!bias)
        return binop(e, "MatMul", x, wt, y) ? 0 : CKPT_E_NOMEM;
    TRY_NODE(binop(e, "MatMul", x, wt, tmp(e, "matmul", mm, sizeof mm)));
    TRY_NODE(binop(e, "Add", mm, bias, y));
    return 0;
}

static int emit_softmax(ex *e, const char *op, const char *x, int rank, int axis, const char *y)
{
    if (e->opset >= 13 || axis == rank - 1) {
        ob_node *nd = node(e, op, 1, &x, y);
        TRY_NODE(nd);
        return ob_attr_int(nd, "axis", e->opset >= 13 ? axis : rank - 1, e->err);
    }
    /* opset < 13 flattens at axis: move the axis last, softmax, move it back */
    int64_t perm[CKPT_VAR_MAX_DIMS];
    for (int i = 0; i < rank; i++)
        perm[i] = i;
    perm[axis] = rank - 1;
    perm[rank - 1] = axis;
    char a[NB], b[NB];
    TRY_NODE(transpose(e, x, rank, perm, tmp(e, "t", a, sizeof a)));
    const char *ap = a;
    ob_node *nd = node(e, op, 1, &ap, tmp(e, "sm", b, sizeof b));
    TRY_NODE(nd);
    CKPT_TRY(ob_attr_int(nd, "axis", rank - 1, e->err));
    TRY_NODE(transpose(e, b, rank, perm, y));
    return 0;
}

static int emit_gelu(ex *e, const char *x, bool tanh_approx, const char *y)
{
    char c[4][NB], t[8][NB];
    if (!tanh_approx) { /* x * 0.5 * (1 + erf(x / sqrt(2))), torch 1.13's form */
        TRY_NODE(binop(e, "Div", x, cst_f(e, 1.41421353816986083984375f, c[0], NB),
                       tmp(e, "gelu", t[0], NB)));
        const char *a = t[0];
        TRY_NODE(node(e, "Erf", 1, &a, tmp(e, "gelu", t[1], NB)));
        TRY_NODE(binop(e, "Add", t[1], cst_f(e, 1.0f, c[1], NB), tmp(e, "gelu", t[2], NB)));
        TRY_NODE(binop(e, "Mul", x, t[2], tmp(e, "gelu", t[3], NB)));
        TRY_NODE(binop(e, "Mul", t[3], cst_f(e, 0.5f, c[2], NB), y));
        return 0;
    }
    /* 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) */
    TRY_NODE(binop(e, "Pow", x, cst_f(e, 3.0f, c[0], NB), tmp(e, "gelu", t[0], NB)));
    TRY_NODE(binop(e, "Mul", t[0], cst_f(e, 0.044715f, c[1], NB), tmp(e, "gelu", t[1], NB)));
    TRY_NODE(binop(e, "Add", x, t[1], tmp(e, "gelu", t[2], NB)));
    TRY_NODE(binop(e, "Mul", t[2], cst_f(e, 0.79788456080286535588f, c[2], NB),
                   tmp(e, "gelu", t[3], NB)));
    const char *a = t[3];
    TRY_NODE(node(e, "Tanh", 1, &a, tmp(e, "gelu", t[4], NB)));
    TRY_NODE(binop(e, "Add", t[4], cst_f(e, 1.0f, c[3], NB), tmp(e, "gelu", t[5], NB)));
    TRY_NODE(binop(e, "Mul", x, t[5], tmp(e, "gelu", t[6], NB)));
    char c5[NB];
    TRY_NODE(binop(e, "Mul", t[6], cst_f(e, 0.5f, c5, NB), y));
    return 0;
}

static int emit_act(ex *e, int kind, int dim, const char *x, int rank, const char *y)
{
    switch (kind) {
    case CKPT_ACT_RELU: return node(e, "Relu", 1, &x, y) ? 0 : CKPT_E_NOMEM;
    case CKPT_ACT_GELU: return emit_gelu(e, x, false, y);
    case CKPT_ACT_GELU_TANH: return emit_gelu(e, x, true, y);
    case CKPT_ACT_SILU: {
        char s[NB];
        TRY_NODE(node(e, "Sigmoid", 1, &x, tmp(e, "silu", s, sizeof s)));
        return binop(e, "Mul", x, s, y) ? 0 : CKPT_E_NOMEM;
    }
    case CKPT_ACT_TANH: return node(e, "Tanh", 1, &x, y) ? 0 : CKPT_E_NOMEM;
    case CKPT_ACT_SIGMOID: return node(e, "Sigmoid", 1, &x, y) ? 0 : CKPT_E_NOMEM;
    case CKPT_ACT_SOFTMAX:
    case CKPT_ACT_LOGSOFTMAX: {
        int d = dim < 0 ? dim + rank : dim;
        return emit_softmax(e, kind == CKPT_ACT_SOFTMAX ? "Softmax" : "LogSoftmax", x, rank, d,
                            y);
    }
    default: return node(e, "Identity", 1, &x, y) ? 0 : CKPT_E_NOMEM;
    }
}

/* Reshape x (shape xs) to ys; dims equal to the input's at the same position
 * are written 0 (copied at run time, so a dynamic batch stays dynamic). */
static int emit_reshape(ex *e, const char *x, int xr, const int64_t *xs, int yr,
                        const int64_t *ys, const char *y)
{
    int64_t pre = 1;
    for (int i = 1; i < xr; i++)
        pre *= xs[i];
    if (xr >= 2 && yr == 2 && ys[0] == xs[0] && ys[1] == pre) {
        ob_node *nd = node(e, "Flatten", 1, &x, y);
        TRY_NODE(nd);
        return ob_attr_int(nd, "axis", 1, e->err);
    }
    int64_t s[CKPT_VAR_MAX_DIMS];
    bool empty = false;
    for (int i = 0; i < yr; i++) {
        s[i] = (i < xr && ys[i] == xs[i] && ys[i] != 0) ? 0 : ys[i];
        empty = empty || ys[i] == 0;
    }
    /* the first dim not copied is inferred (-1): a merged dynamic dim (B*L) stays dynamic */
    for (int i = 0; i < yr && !empty; i++)
        if (s[i] != 0) {
            s[i] = -1;
            break;
        }
    char c[NB];
    const char *cn = cst_i64(e, yr, s, c, sizeof c);
    TRY_NODE(cn);
    return binop(e, "Reshape", x, cn, y) ? 0 : CKPT_E_NOMEM;
}

/* ------------------------------------------------------------ module units */

static int emit_conv(ex *e, ckpt_module *m, const char *x, const ckpt_var *xv, const char *y)
{
    nn_layer *l = ckpt__nn_state(m);
    char wb[NB], bb[NB], pb[NB];
    const char *w = slot_init(e, m, "weight", wb, sizeof wb);
    const char *b = slot_init(e, m, "bias", bb, sizeof bb);
    if (!w)
        return CKPT_FAIL(e->err, CKPT_E_ARG, "ONNX export: %s without weight", m->type);
    const ckpt_slot *ws = ckpt_module_slot(m, "weight");
    bool one = l->extra == 1, tr = l->extra == 3;
    int sd = one ? 1 : 2;
    int64_t k[2], s[2], d[2], p[4], op[2];
    if (one) {
        k[0] = ws->shape[2], s[0] = l->sw, d[0] = l->dw, p[0] = p[1] = l->pw;
    } else {
        k[0] = ws->shape[2], k[1] = ws->shape[3];
        s[0] = l->sh, s[1] = l->sw, d[0] = l->dh, d[1] = l->dw;
        p[0] = l->ph, p[1] = l->pw, p[2] = l->ph, p[3] = l->pw;
    }
    if (one)
        p[1] = l->pw;
    op[0] = l->oph, op[1] = l->opw;
    if (!tr && l->pad_kind == CKPT_CONV_PAD_VALID) {
        memset(p, 0, sizeof p);
    } else if (!tr && l->pad_kind == CKPT_CONV_PAD_SAME) {
        for (int i = 0; i < sd; i++) {
            int64_t tot = d[i] * (k[i] - 1);
            p[i] = tot / 2;
            p[i + sd] = tot - tot / 2;
        }
    }
    const char *xin = x;
    if (!tr && l->pad_mode != CKPT_PADMODE_ZEROS) {
        if (l->pad_mode == CKPT_PADMODE_CIRCULAR)
            return fail_op(e, "Conv with padding_mode='circular'");
        int64_t pads[8] = {0};
        int r = sd + 2;
        for (int i = 0; i < sd; i++) {
            pads[2 + i] = p[i];
            pads[r + 2 + i] = p[i + sd];
        }
        char c[NB];
        const char *cn = cst_i64(e, 2 * r, pads, c, sizeof c);
        TRY_NODE(cn);
        const char *in[2] = {x, cn};
        ob_node *pn = node(e, "Pad", 2, in, tmp(e, "pad", pb, sizeof pb));
        TRY_NODE(pn);
        CKPT_TRY(ob_attr_str(pn, "mode", l->pad_mode == CKPT_PADMODE_REFLECT ? "reflect" : "edge",
                             e->err));
        xin = pb;
        memset(p, 0, sizeof p);
    }
    (void)xv;
    const char *in[3] = {xin, w, b};
    ob_node *nd = node(e, tr ? "ConvTranspose" : "Conv", b ? 3 : 2, in, y);
    TRY_NODE(nd);
    CKPT_TRY(ob_attr_ints(nd, "dilations", (size_t)sd, d, e->err));
    CKPT_TRY(ob_attr_int(nd, "group", l->groups ? l->groups : 1, e->err));
    CKPT_TRY(ob_attr_ints(nd, "kernel_shape", (size_t)sd, k, e->err));
    if (tr && (op[0] || op[1]))
        CKPT_TRY(ob_attr_ints(nd, "output_padding", (size_t)sd, op, e->err));
    CKPT_TRY(ob_attr_ints(nd, "pads", (size_t)(2 * sd), p, e->err));
    return ob_attr_ints(nd, "strides", (size_t)sd, s, e->err);
}

static const char *ones_or(ex *e, const char *have, int64_t n, float v, char *buf, size_t cap)
{
    if (have)
        return have;
    float *t = malloc((size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!t)
        return NULL;
    for (int64_t i = 0; i < n; i++)
        t[i] = v;
    fresh(e, "const", buf, cap);
    ob_init *in = ob_add_init(e->b, buf, OX_FLOAT, 1, &n, t, e->err);
    free(t);
    return in ? buf : NULL;
}

static int emit_batchnorm(ex *e, ckpt_module *m, const char *x, const char *y)
{
    nn_layer *l = ckpt__nn_state(m);
    char wb[NB], bb[NB], mb[NB], vb[NB];
    if (!l->track)
        return fail_op(e, "BatchNorm with track_running_stats=False (batch statistics in eval)");
    int64_t c = l->in;
    const char *w = ones_or(e, slot_init(e, m, "weight", wb, NB), c, 1.0f, wb, NB);
    const char *b = ones_or(e, slot_init(e, m, "bias", bb, NB), c, 0.0f, bb, NB);
    const char *mean = slot_init(e, m, "running_mean", mb, NB);
    const char *var = slot_init(e, m, "running_var", vb, NB);
    if (!w || !b || !mean || !var)
        return e->err->code ? e->err->code : CKPT_E_NOMEM;
    const char *in[5] = {x, w, b, mean, var};
    ob_node *nd = node(e, "BatchNormalization", 5, in, y);
    TRY_NODE(nd);
    CKPT_TRY(ob_attr_float(nd, "epsilon", (float)l->eps, e->err));
    if (l->momentum >= 0)
        CKPT_TRY(ob_attr_float(nd, "momentum", (float)(1.0 - l->momentum), e->err));
    return 0;
}

/* layer norm over the last nd_ dims of x (shape xs, rank `rank`); w/b names or NULL */
static int emit_ln(ex *e, const char *x, int rank, const int64_t *xs, int nd_, const char *w,
                   const char *b, double eps, const char *y)
{
    char wb[NB];
    int64_t numel = 1;
    const int64_t *shape = xs + rank - nd_;
    size_t nshape = (size_t)nd_;
    for (int i = 0; i < nd_; i++)
        numel *= shape[i];
    if (e->opset >= 17) {
        if (!w) {
            /* LayerNormalization wants a scale of normalized_shape */
            float *t = malloc((size_t)numel * sizeof(float));
            if (!t)
                return nomem(e);
            for (int64_t i = 0; i < numel; i++)
                t[i] = 1.0f;
            fresh(e, "const", wb, NB);
            ob_init *in = ob_add_init(e->b, wb, OX_FLOAT, (int)nshape, shape, t, e->err);
            free(t);
            TRY_NODE(in);
            w = wb;
        }
        const char *in[3] = {x, w, b};
        ob_node *nd = node(e, "LayerNormalization", b ? 3 : 2, in, y);
        TRY_NODE(nd);
        CKPT_TRY(ob_attr_int(nd, "axis", -nd_, e->err));
        return ob_attr_float(nd, "epsilon", (float)eps, e->err);
    }
    /* torch 1.13's decomposition below opset 17 */
    int64_t axes[CKPT_VAR_MAX_DIMS];
    for (int i = 0; i < nd_; i++)
        axes[i] = rank - nd_ + i;
    char t[8][NB], c[2][NB];
    ob_node *r1 = axes_node(e, "ReduceMean", x, nd_, axes, false, tmp(e, "ln", t[0], NB));
    TRY_NODE(r1);
    CKPT_TRY(ob_attr_int(r1, "keepdims", 1, e->err));
    TRY_NODE(binop(e, "Sub", x, t[0], tmp(e, "ln", t[1], NB)));
    TRY_NODE(binop(e, "Pow", t[1], cst_f(e, 2.0f, c[0], NB), tmp(e, "ln", t[2], NB)));
    ob_node *r2 = axes_node(e, "ReduceMean", t[2], nd_, axes, false, tmp(e, "ln", t[3], NB));
    TRY_NODE(r2);
    CKPT_TRY(ob_attr_int(r2, "keepdims", 1, e->err));
    TRY_NODE(binop(e, "Add", t[3], cst_f(e, (float)eps, c[1], NB), tmp(e, "ln", t[4], NB)));
    const char *a = t[4];
    TRY_NODE(node(e, "Sqrt", 1, &a, tmp(e, "ln", t[5], NB)));
    const char *cur = t[6];
    if (!w && !b)
        return binop(e, "Div", t[1], t[5], y) ? 0 : CKPT_E_NOMEM;
    TRY_NODE(binop(e, "Div", t[1], t[5], tmp(e, "ln", t[6], NB)));
    if (w && b) {
        TRY_NODE(binop(e, "Mul", cur, w, tmp(e, "ln", t[7], NB)));
        return binop(e, "Add", t[7], b, y) ? 0 : CKPT_E_NOMEM;
    }
    return binop(e, w ? "Mul" : "Add", cur, w ? w : b, y) ? 0 : CKPT_E_NOMEM;
}

static int emit_layernorm(ex *e, ckpt_module *m, const ckpt_var *xv, const char *x, const char *y)
{
    nn_layer *l = ckpt__nn_state(m);
    size_t nshape = 0;
    const int64_t *shape = NULL;
    ckpt_module_attr_ints(m, "normalized_shape", &nshape, &shape);
    int nd_ = nshape ? (int)nshape : (int)l->extra;
    char wb[NB], bb[NB];
    const char *w = slot_init(e, m, "weight", wb, NB);
    const char *b = slot_init(e, m, "bias", bb, NB);
    return emit_ln(e, x, xv->ndim, xv->shape, nd_, w, b, l->eps, y);
}

/* softmax(q k^T / sqrt(E) + mask [+ causal]) v */
static int emit_sdpa(ex *e, const ckpt__node *n, const char *const *in, const char *y)
{
    const ckpt_var *q = n->in[0], *k = n->in[1];
    int r = k->ndim;
    if (n->tr_s > 0)
        return fail_op(e, "scaled_dot_product_attention with dropout");
    int64_t perm[CKPT_VAR_MAX_DIMS];
    for (int i = 0; i < r; i++)
        perm[i] = i;
    perm[r - 2] = r - 1;
    perm[r - 1] = r - 2;
    char t[5][NB], c[2][NB];
    TRY_NODE(transpose(e, in[1], r, perm, tmp(e, "attn_kT", t[0], NB)));
    TRY_NODE(binop(e, "MatMul", in[0], t[0], tmp(e, "attn_s", t[1], NB)));
    int64_t E = q->shape[q->ndim - 1];
    const char *sc = cst_f(e, E > 0 ? (float)(1.0 / sqrt((double)E)) : 1.0f, c[0], NB);
    TRY_NODE(sc);
    TRY_NODE(binop(e, "Mul", t[1], sc, tmp(e, "attn_s", t[2], NB)));
    const char *cur = t[2];
    if (n->nin > 3 && n->in[3]) {
        TRY_NODE(binop(e, "Add", cur, in[3], tmp(e, "attn_s", t[3], NB)));
        cur = t[3];
    }
    if (n->tr[0]) { /* is_causal: key j > query i masked */
        int64_t L = q->shape[q->ndim - 2], S = k->shape[r - 2];
        float *mk = malloc((size_t)(L * S > 0 ? L * S : 1) * sizeof(float));
        if (!mk)
            return nomem(e);
        for (int64_t i = 0; i < L; i++)
            for (int64_t j = 0; j < S; j++)
                mk[i * S + j] = j > i ? -INFINITY : 0.0f;
        fresh(e, "causal", c[1], NB);
        int64_t d[2] = {L, S};
        ob_init *ci = ob_add_init(e->b, c[1], OX_FLOAT, 2, d, mk, e->err);
        free(mk);
        TRY_NODE(ci);
        TRY_NODE(binop(e, "Add", cur, c[1], tmp(e, "attn_s", t[4], NB)));
        cur = t[4];
    }
    char p[NB];
    CKPT_TRY(emit_softmax(e, "Softmax", cur, q->ndim, q->ndim - 1, tmp(e, "attn_p", p, NB)));
    return binop(e, "MatMul", p, in[2], y) ? 0 : CKPT_E_NOMEM;
}

static int emit_pool(ex *e, ckpt_module *m, const char *x, const ckpt_var *xv, const char *y)
{
    nn_layer *l = ckpt__nn_state(m);
    if (l->act == 2) { /* adaptive average */
        int64_t H = xv->shape[xv->ndim - 2], W = xv->shape[xv->ndim - 1];
        if (l->p2 == 1 && l->p3 == 1)
            return node(e, "GlobalAveragePool", 1, &x, y) ? 0 : CKPT_E_NOMEM;
        if (H % l->p2 || W % l->p3)
            return fail_op(e, "AdaptiveAvgPool2d with an output size that does not divide the "
                              "input");
        int64_t k[2] = {H / l->p2, W / l->p3};
        ob_node *nd = node(e, "AveragePool", 1, &x, y);
        TRY_NODE(nd);
        CKPT_TRY(ob_attr_ints(nd, "kernel_shape", 2, k, e->err));
        return ob_attr_ints(nd, "strides", 2, k, e->err);
    }
    const ckpt_pool_opts *o = &l->pool;
    int64_t k[2] = {o->kernel[0], o->kernel[1]};
    int64_t s[2] = {o->stride[0] ? o->stride[0] : k[0], o->stride[1] ? o->stride[1] : k[1]};
    int64_t p[4] = {o->padding[0], o->padding[1], o->padding[0], o->padding[1]};
    bool maxp = l->act == 0;
    if (!maxp && o->divisor_override)
        return fail_op(e, "AvgPool2d with divisor_override");
    ob_node *nd = node(e, maxp ? "MaxPool" : "AveragePool", 1, &x, y);
    TRY_NODE(nd);
    if (o->ceil_mode)
        CKPT_TRY(ob_attr_int(nd, "ceil_mode", 1, e->err));
    if (!maxp && !o->exclude_pad && (p[0] || p[1]))
        CKPT_TRY(ob_attr_int(nd, "count_include_pad", 1, e->err));
    if (maxp && ((o->dilation[0] > 1) || (o->dilation[1] > 1))) {
        int64_t d[2] = {o->dilation[0] ? o->dilation[0] : 1, o->dilation[1] ? o->dilation[1] : 1};
        CKPT_TRY(ob_attr_ints(nd, "dilations", 2, d, e->err));
    }
    CKPT_TRY(ob_attr_ints(nd, "kernel_shape", 2, k, e->err));
    CKPT_TRY(ob_attr_ints(nd, "pads", 4, p, e->err));
    return ob_attr_ints(nd, "strides", 2, s, e->err);
}

/* LSTM (G = 4) / GRU (G = 3): one ONNX node per layer. */
static int emit_rnn(ex *e, ckpt_module *m, const char *x, const ckpt_var *xv, const char *y)
{
    nn_layer *l = ckpt__nn_state(m);
    bool lstm = !strcmp(m->ops->type, "LSTM");
    int G = lstm ? 4 : 3;
    static const int lstm_perm[4] = {0, 3, 1, 2}; /* ONNX i,o,f,c from torch i,f,g,o */
    static const int gru_perm[3] = {1, 0, 2};     /* ONNX z,r,h from torch r,z,n */
    const int *perm = lstm ? lstm_perm : gru_perm;
    int64_t H = l->out, L = l->extra, D = l->groups;
    bool unbatched = xv->ndim == 2;
    char cur[NB], buf[NB];
    snprintf(cur, sizeof cur, "%s", x);
    if (unbatched) {
        TRY_NODE(unsqueeze(e, x, 1, tmp(e, "rnn_in", buf, NB)));
        snprintf(cur, sizeof cur, "%s", buf);
    } else if (l->batch_first) {
        int64_t p[3] = {1, 0, 2};
        TRY_NODE(transpose(e, x, 3, p, tmp(e, "rnn_in", buf, NB)));
        snprintf(cur, sizeof cur, "%s", buf);
    }
    const char *pre = mod_prefix(e, m);
    for (int64_t k = 0; k < L; k++) {
        int64_t I = k == 0 ? l->in : D * H;
        size_t wn = (size_t)(D * G * H * I), rn = (size_t)(D * G * H * H),
               bn = (size_t)(D * 2 * G * H);
        float *W = malloc(wn * sizeof(float)), *R = malloc(rn * sizeof(float)),
              *B = malloc(bn * sizeof(float));
        if (!W || !R || !B) {
            free(W), free(R), free(B);
            return nomem(e);
        }
        for (int64_t d = 0; d < D; d++) {
            const char *sfx = d ? "_reverse" : "";
            char nm[64];
            snprintf(nm, sizeof nm, "weight_ih_l%lld%s", (long long)k, sfx);
            const float *wih = (const float *)ckpt__nn_data(m, nm);
            snprintf(nm, sizeof nm, "weight_hh_l%lld%s", (long long)k, sfx);
            const float *whh = (const float *)ckpt__nn_data(m, nm);
            snprintf(nm, sizeof nm, "bias_ih_l%lld%s", (long long)k, sfx);
            const float *bih = l->bias ? (const float *)ckpt__nn_data(m, nm) : NULL;
            snprintf(nm, sizeof nm, "bias_hh_l%lld%s", (long long)k, sfx);
            const float *bhh = l->bias ? (const float *)ckpt__nn_data(m, nm) : NULL;
            if (!wih || !whh || (l->bias && (!bih || !bhh))) {
                free(W), free(R), free(B);
                return CKPT_FAIL(e->err, CKPT_E_ARG, "ONNX export: %s weights missing", m->type);
            }
            for (int g = 0; g < G; g++) {
                int src = perm[g];
                memcpy(W + ((d * G + g) * H) * I, wih + (src * H) * I,
                       (size_t)(H * I) * sizeof(float));
                memcpy(R + ((d * G + g) * H) * H, whh + (src * H) * H,
                       (size_t)(H * H) * sizeof(float));
                if (l->bias) {
                    memcpy(B + d * 2 * G * H + g * H, bih + src * H, (size_t)H * sizeof(float));
                    memcpy(B + d * 2 * G * H + (G + g) * H, bhh + src * H,
                           (size_t)H * sizeof(float));
                }
            }
        }
        char wname[NB], rname[NB], bname[NB];
        snprintf(wname, NB, "%s%sonnx_W_l%lld", pre, pre[0] ? "." : "", (long long)k);
        snprintf(rname, NB, "%s%sonnx_R_l%lld", pre, pre[0] ? "." : "", (long long)k);
        snprintf(bname, NB, "%s%sonnx_B_l%lld", pre, pre[0] ? "." : "", (long long)k);
        int64_t wd[3] = {D, G * H, I}, rd[3] = {D, G * H, H}, bd[2] = {D, 2 * G * H};
        bool ok = ob_add_init(e->b, wname, OX_FLOAT, 3, wd, W, e->err) &&
                  ob_add_init(e->b, rname, OX_FLOAT, 3, rd, R, e->err) &&
                  (!l->bias || ob_add_init(e->b, bname, OX_FLOAT, 2, bd, B, e->err));
        free(W), free(R), free(B);
        if (!ok)
            return e->err->code ? e->err->code : CKPT_E_NOMEM;
        const char *in[4] = {cur, wname, rname, l->bias ? bname : ""};
        char yb[NB];
        ob_node *nd = node(e, lstm ? "LSTM" : "GRU", l->bias ? 4 : 3, in,
                           tmp(e, "rnn_y", yb, NB));
        TRY_NODE(nd);
        CKPT_TRY(ob_attr_int(nd, "hidden_size", H, e->err));
        if (D == 2)
            CKPT_TRY(ob_attr_str(nd, "direction", "bidirectional", e->err));
        if (!lstm)
            CKPT_TRY(ob_attr_int(nd, "linear_before_reset", 1, e->err));
        /* Y (T, D, B, H) -> (T, B, D*H) */
        bool last = k == L - 1;
        const char *dst = last && !unbatched && !l->batch_first ? y : tmp(e, "rnn", buf, NB);
        if (D == 1) {
            TRY_NODE(squeeze(e, yb, 1, dst));
        } else {
            char tb[NB];
            int64_t p[4] = {0, 2, 1, 3};
            TRY_NODE(transpose(e, yb, 4, p, tmp(e, "rnn_t", tb, NB)));
            int64_t s[3] = {0, 0, -1};
            char c[NB];
            const char *cn = cst_i64(e, 3, s, c, NB);
            TRY_NODE(cn);
            TRY_NODE(binop(e, "Reshape", tb, cn, dst));
        }
        snprintf(cur, sizeof cur, "%s", dst);
    }
    if (unbatched)
        TRY_NODE(squeeze(e, cur, 1, y));
    else if (l->batch_first) {
        int64_t p[3] = {1, 0, 2};
        TRY_NODE(transpose(e, cur, 3, p, y));
    }
    return 0;
}

static int emit_module(ex *e, const ev *v)
{
    ckpt_module *m = v->m;
    const char *type = m->ops->type;
    nn_layer *l = ckpt__nn_state(m);
    if (v->y == v->x) /* Identity, Dropout in eval: the same var */
        return 0;
    const char *x = var_name(e, v->x);
    TRY_NODE(x);
    char xb[NB];
    snprintf(xb, sizeof xb, "%s", x);
    x = xb;
    const char *y = out_name(e, v->y, type);
    TRY_NODE(y);
    char yb[NB];
    snprintf(yb, sizeof yb, "%s", y);
    y = yb;
    int xr = v->x->ndim;
    if (!strcmp(type, "Linear") || !strcmp(type, "NonDynamicallyQuantizableLinear")) {
        char wb[NB], bb[NB];
        const char *w = slot_init(e, m, "weight", wb, NB);
        const char *b = slot_init(e, m, "bias", bb, NB);
        TRY_NODE(w);
        return emit_linear(e, x, xr, w, b, y);
    }
    if (!strncmp(type, "Conv", 4))
        return emit_conv(e, m, x, v->x, y);
    if (!strncmp(type, "BatchNorm", 9))
        return emit_batchnorm(e, m, x, y);
    if (!strcmp(type, "LayerNorm"))
        return emit_layernorm(e, m, v->x, x, y);
    if (!strcmp(type, "Embedding")) {
        char wb[NB];
        const char *w = slot_init(e, m, "weight", wb, NB);
        TRY_NODE(w);
        return binop(e, "Gather", w, x, y) ? 0 : CKPT_E_NOMEM;
    }
    if (!strcmp(type, "Dropout"))
        return node(e, "Identity", 1, &x, y) ? 0 : CKPT_E_NOMEM;
    if (!strcmp(type, "MaxPool2d") || !strcmp(type, "AvgPool2d") ||
        !strcmp(type, "AdaptiveAvgPool2d"))
        return emit_pool(e, m, x, v->x, y);
    if (!strcmp(type, "Flatten"))
        return emit_reshape(e, x, xr, v->x->shape, v->y->ndim, v->y->shape, y);
    if (!strcmp(type, "LSTM") || !strcmp(type, "GRU"))
        return emit_rnn(e, m, x, v->x, y);
    return emit_act(e, l->act, l->dim, x, xr, y);
}

/* ------------------------------------------------------------ functional ops */

/* (C) weight or bias -> (C, 1, ..., 1) to broadcast over (N, C, *) */
static const char *per_channel(ex *e, const char *v, int rank, char *buf, size_t cap)
{
    ob_init *wi = ob_find_init(e->b, v);
    int64_t dims[CKPT_VAR_MAX_DIMS];
    if (!wi || wi->v.rank != 1)
        return NULL;
    dims[0] = wi->v.dims[0];
    for (int i = 1; i < rank - 1; i++)
        dims[i] = 1;
    snprintf(buf, cap, "%s.per_channel", v);
    if (ob_find_init(e->b, buf))
        return buf;
    ox_val copy = wi->v; /* ob_add_init copies from it before wi can move */
    return ob_add_init(e->b, buf, OX_FLOAT, rank - 1, dims, copy.data, e->err) ? buf : NULL;
}

/* GroupNorm as torch exports it: Reshape (N, G, -1), InstanceNormalization,
 * Reshape back (to Shape(x)), then the per-channel affine */
static int emit_group_norm(ex *e, const ckpt__node *n, const char *const *in, int nin,
                           const char *y)
{
    const ckpt_var *x = n->in[0];
    int64_t G = n->tr[0];
    int r = x->ndim;
    bool w = nin > 1 && in[1][0], b = nin > 2 && in[2][0];
    char t[6][NB], c[4][NB];
    int64_t s3[3] = {0, G, -1};
    const char *cs = cst_i64(e, 3, s3, c[0], NB);
    TRY_NODE(cs);
    TRY_NODE(binop(e, "Reshape", in[0], cs, tmp(e, "gn", t[0], NB)));
    const char *one = ones_or(e, NULL, G, 1.0f, c[1], NB);
    const char *zero = one ? ones_or(e, NULL, G, 0.0f, c[2], NB) : NULL;
    TRY_NODE(zero);
    const char *ii[3] = {t[0], one, zero};
    ob_node *nd = node(e, "InstanceNormalization", 3, ii, tmp(e, "gn", t[1], NB));
    TRY_NODE(nd);
    CKPT_TRY(ob_attr_float(nd, "epsilon", (float)n->tr_s, e->err));
    TRY_NODE(node(e, "Shape", 1, in, tmp(e, "gn", t[2], NB)));
    const char *mid = (w || b) ? tmp(e, "gn", t[3], NB) : y;
    TRY_NODE(binop(e, "Reshape", t[1], t[2], mid));
    const char *cur = mid;
    if (w) {
        const char *wc = per_channel(e, in[1], r, c[3], NB);
        if (!wc)
            return e->err->code ? e->err->code : fail_op(e, "group_norm with a computed weight");
        const char *dst = b ? tmp(e, "gn", t[4], NB) : y;
        TRY_NODE(binop(e, "Mul", cur, wc, dst));
        cur = dst;
    }
    if (b) {
        char bb[NB];
        const char *bc = per_channel(e, in[2], r, bb, NB);
        if (!bc)
            return e->err->code ? e->err->code : fail_op(e, "group_norm with a computed bias");
        TRY_NODE(binop(e, "Add", cur, bc, y));
    }
    return 0;
}

/* functional conv / pooling / pad: geometry from the op's saved dims (the
 * public ckpt/kernels.h structs its backward keeps) or its tracer fields */
static int emit_spatial(ex *e, const ckpt__node *n, const char *const *in, int nin, const char *y)
{
    const char *op = n->op;
    const ckpt_var *x = n->in[0];
    if (!n->ctx && strcmp(op, "pad"))
        return fail_op(e, op);
    if (!strcmp(op, "pad")) {
        int sd = (int)n->tr[5], r = x->ndim;
        if (n->tr[4] == CKPT_PADMODE_CIRCULAR)
            return fail_op(e, "circular padding");
        int64_t pads[2 * CKPT_VAR_MAX_DIMS] = {0};
        if (sd == 2)
            pads[r - 2] = n->tr[0], pads[2 * r - 2] = n->tr[1];
        pads[r - 1] = n->tr[2], pads[2 * r - 1] = n->tr[3];
        char c[NB];
        const char *cn = cst_i64(e, 2 * r, pads, c, NB);
        TRY_NODE(cn);
        const char *pi[2] = {in[0], cn};
        ob_node *nd = node(e, "Pad", 2, pi, y);
        TRY_NODE(nd);
        const char *mode = n->tr[4] == CKPT_PADMODE_REFLECT     ? "reflect"
                           : n->tr[4] == CKPT_PADMODE_REPLICATE ? "edge"
                                                                : "constant";
        return ob_attr_str(nd, "mode", mode, e->err);
    }
    if (!strcmp(op, "conv1d") || !strcmp(op, "conv2d")) {
        const ckpt_nn_conv2d_dims *d = n->ctx;
        bool one = op[4] == '1';
        if (x->ndim != (one ? 3 : 4))
            return fail_op(e, "an unbatched functional convolution");
        ob_node *nd = node(e, "Conv", nin, in, y);
        TRY_NODE(nd);
        int64_t k[2] = {d->kh, d->kw}, s[2] = {d->sh, d->sw}, dl[2] = {d->dh, d->dw};
        int64_t p[4] = {d->ph, d->pw, d->ph, d->pw};
        if (one) {
            k[0] = d->kw, s[0] = d->sw, dl[0] = d->dw, p[0] = p[1] = d->pw;
        }
        size_t sd = one ? 1 : 2;
        CKPT_TRY(ob_attr_ints(nd, "dilations", sd, dl, e->err));
        CKPT_TRY(ob_attr_int(nd, "group", d->g ? d->g : 1, e->err));
        CKPT_TRY(ob_attr_ints(nd, "kernel_shape", sd, k, e->err));
        CKPT_TRY(ob_attr_ints(nd, "pads", 2 * sd, p, e->err));
        return ob_attr_ints(nd, "strides", sd, s, e->err);
    }
    if (!strcmp(op, "conv_transpose2d")) {
        const ckpt_nn_conv_transpose2d_dims *d = n->ctx;
        if (x->ndim != 4)
            return fail_op(e, "an unbatched functional transposed convolution");
        ob_node *nd = node(e, "ConvTranspose", nin, in, y);
        TRY_NODE(nd);
        int64_t k[2] = {d->kh, d->kw}, s[2] = {d->sh, d->sw}, dl[2] = {d->dh, d->dw};
        int64_t p[4] = {d->ph, d->pw, d->ph, d->pw}, op2[2] = {d->oph, d->opw};
        CKPT_TRY(ob_attr_ints(nd, "dilations", 2, dl, e->err));
        CKPT_TRY(ob_attr_int(nd, "group", d->g ? d->g : 1, e->err));
        CKPT_TRY(ob_attr_ints(nd, "kernel_shape", 2, k, e->err));
        if (op2[0] || op2[1])
            CKPT_TRY(ob_attr_ints(nd, "output_padding", 2, op2, e->err));
        CKPT_TRY(ob_attr_ints(nd, "pads", 4, p, e->err));
        return ob_attr_ints(nd, "strides", 2, s, e->err);
    }
    /* pooling: the saved dims come first in the op's context */
    const ckpt_nn_pool2d_dims *d = n->ctx;
    if (x->ndim != 4)
        return fail_op(e, "pooling of an unbatched input");
    if (!strcmp(op, "adaptive_avg_pool2d")) {
        if (d->oh == 1 && d->ow == 1)
            return node(e, "GlobalAveragePool", 1, in, y) ? 0 : CKPT_E_NOMEM;
        if (d->h % d->oh || d->w % d->ow)
            return fail_op(e, "adaptive_avg_pool2d with an output size that does not divide "
                              "the input");
        int64_t k[2] = {d->h / d->oh, d->w / d->ow};
        ob_node *nd = node(e, "AveragePool", 1, in, y);
        TRY_NODE(nd);
        CKPT_TRY(ob_attr_ints(nd, "kernel_shape", 2, k, e->err));
        return ob_attr_ints(nd, "strides", 2, k, e->err);
    }
    bool maxp = op[0] == 'm';
    if (!maxp && d->divisor)
        return fail_op(e, "avg_pool2d with divisor_override");
    ob_node *nd = node(e, maxp ? "MaxPool" : "AveragePool", 1, in, y);
    TRY_NODE(nd);
    int64_t k[2] = {d->kh, d->kw}, s[2] = {d->sh, d->sw}, dl[2] = {d->dh, d->dw};
    int64_t p[4] = {d->ph, d->pw, d->ph, d->pw};
    if (d->ceil_mode)
        CKPT_TRY(ob_attr_int(nd, "ceil_mode", 1, e->err));
    if (!maxp && !d->exclude_pad && (d->ph || d->pw))
        CKPT_TRY(ob_attr_int(nd, "count_include_pad", 1, e->err));
    if (maxp && (d->dh > 1 || d->dw > 1))
        CKPT_TRY(ob_attr_ints(nd, "dilations", 2, dl, e->err));
    CKPT_TRY(ob_attr_ints(nd, "kernel_shape", 2, k, e->err));
    CKPT_TRY(ob_attr_ints(nd, "pads", 4, p, e->err));
    return ob_attr_ints(nd, "strides", 2, s, e->err);
}

static int emit_op(ex *e, const ev *v)
{
    ckpt__node *n = v->n;
    const char *op = n->op;
    const char *in[8];
    char ib[8][NB];
    size_t nin = n->nin < 8 ? n->nin : 8;
    for (size_t k = 0; k < nin; k++) {
        const char *s = n->in[k] ? var_name(e, n->in[k]) : "";
        TRY_NODE(s);
        snprintf(ib[k], NB, "%s", s);
        in[k] = ib[k];
    }
    const ckpt_var *x = n->nin ? n->in[0] : NULL;
    char yb[NB];
    const char *y0 = out_name(e, n->out, op);
    TRY_NODE(y0);
    snprintf(yb, sizeof yb, "%s", y0);
    const char *y = yb;
    static const struct {
        const char *ckpt, *onnx;
    } same[] = {{"add", "Add"},    {"sub", "Sub"},   {"mul", "Mul"},         {"div", "Div"},
                {"neg", "Neg"},    {"exp", "Exp"},   {"log", "Log"},         {"sqrt", "Sqrt"},
                {"relu", "Relu"},  {"tanh", "Tanh"}, {"sigmoid", "Sigmoid"}, {"matmul", "MatMul"},
                {"bmm", "MatMul"}, {NULL, NULL}};
    for (int i = 0; same[i].ckpt; i++)
        if (!strcmp(op, same[i].ckpt))
            return node(e, same[i].onnx, (int)nin, in, y) ? 0 : CKPT_E_NOMEM;
    char c[NB];
    if (!strcmp(op, "add_scalar") || !strcmp(op, "mul_scalar") || !strcmp(op, "pow_scalar")) {
        const char *cn = cst_f(e, (float)n->tr_s, c, NB);
        TRY_NODE(cn);
        const char *o = op[0] == 'a' ? "Add" : op[0] == 'm' ? "Mul" : "Pow";
        return binop(e, o, in[0], cn, y) ? 0 : CKPT_E_NOMEM;
    }
    if (!strcmp(op, "gelu"))
        return emit_gelu(e, in[0], n->tr[0] != 0, y);
    if (!strcmp(op, "silu"))
        return emit_act(e, CKPT_ACT_SILU, 0, in[0], x->ndim, y);
    if (!strcmp(op, "softmax") || !strcmp(op, "log_softmax"))
        return emit_softmax(e, op[0] == 's' ? "Softmax" : "LogSoftmax", in[0], x->ndim,
                            (int)n->tr[0], y);
    if (!strcmp(op, "linear"))
        return emit_linear(e, in[0], x->ndim, in[1], nin > 2 ? in[2] : NULL, y);
    if (!strcmp(op, "reshape") || !strcmp(op, "view") || !strcmp(op, "flatten"))
        return emit_reshape(e, in[0], x->ndim, x->shape, n->out->ndim, n->out->shape, y);
    if (!strcmp(op, "permute") || !strcmp(op, "transpose"))
        return transpose(e, in[0], x->ndim, n->tr, y) ? 0 : CKPT_E_NOMEM;
    if (!strcmp(op, "cat")) {
        ob_node *nd = node(e, "Concat", (int)nin, in, y);
        TRY_NODE(nd);
        return ob_attr_int(nd, "axis", n->tr[0], e->err);
    }
    if (!strcmp(op, "stack")) {
        char ub[8][NB];
        const char *us[8];
        for (size_t k = 0; k < nin; k++) {
            TRY_NODE(unsqueeze(e, in[k], n->tr[0], tmp(e, "stack", ub[k], NB)));
            us[k] = ub[k];
        }
        ob_node *nd = node(e, "Concat", (int)nin, us, y);
        TRY_NODE(nd);
        return ob_attr_int(nd, "axis", n->tr[0], e->err);
    }
    if (!strcmp(op, "select")) {
        int64_t idx = n->tr[1];
        char cb[NB];
        fresh(e, "const", cb, NB);
        TRY_NODE(ob_add_init(e->b, cb, OX_INT64, 0, NULL, &idx, e->err));
        ob_node *nd = binop(e, "Gather", in[0], cb, y);
        TRY_NODE(nd);
        return ob_attr_int(nd, "axis", n->tr[0], e->err);
    }
    if (!strcmp(op, "slice") || !strcmp(op, "split") || !strcmp(op, "chunk")) {
        int64_t st = n->tr[1], len = n->tr[2], step = n->tr[3] ? n->tr[3] : 1;
        int64_t end = st + (len - 1) * step + 1;
        if (len == 0)
            end = st;
        int64_t ax = n->tr[0];
        char c1[NB], c2[NB], c3[NB], c4[NB];
        const char *s1 = cst_i64(e, 1, &st, c1, NB), *s2 = cst_i64(e, 1, &end, c2, NB);
        const char *s3 = cst_i64(e, 1, &ax, c3, NB), *s4 = cst_i64(e, 1, &step, c4, NB);
        if (!s1 || !s2 || !s3 || !s4)
            return e->err->code ? e->err->code : CKPT_E_NOMEM;
        const char *si[5] = {in[0], s1, s2, s3, s4};
        return node(e, "Slice", step == 1 ? 4 : 5, si, y) ? 0 : CKPT_E_NOMEM;
    }
    if (!strcmp(op, "sum") || !strcmp(op, "mean")) {
        int64_t axes[CKPT_VAR_MAX_DIMS];
        int na = 0;
        for (int i = 0; i < x->ndim; i++)
            if (n->tr[i])
                axes[na++] = i;
        bool keep = n->tr[CKPT_VAR_MAX_DIMS] != 0;
        bool sum = op[0] == 's';
        ob_node *nd = axes_node(e, sum ? "ReduceSum" : "ReduceMean", in[0], na, axes,
                                sum && e->opset >= 13, y);
        TRY_NODE(nd);
        return ob_attr_int(nd, "keepdims", keep, e->err);
    }
    if (!strcmp(op, "embedding"))
        return binop(e, "Gather", in[1], in[0], y) ? 0 : CKPT_E_NOMEM;
    if (!strcmp(op, "conv1d") || !strcmp(op, "conv2d") || !strcmp(op, "conv_transpose2d") ||
        !strcmp(op, "max_pool2d") || !strcmp(op, "avg_pool2d") ||
        !strcmp(op, "adaptive_avg_pool2d") || !strcmp(op, "pad"))
        return emit_spatial(e, n, in, (int)nin, y);
    if (!strcmp(op, "group_norm"))
        return emit_group_norm(e, n, in, (int)nin, y);
    if (!strcmp(op, "layer_norm"))
        return emit_ln(e, in[0], x->ndim, x->shape, (int)n->tr[0],
                       nin > 1 && in[1][0] ? in[1] : NULL, nin > 2 && in[2][0] ? in[2] : NULL,
                       n->tr_s, y);
    if (!strcmp(op, "scaled_dot_product_attention"))
        return emit_sdpa(e, n, in, y);
    char what[96];
    snprintf(what, sizeof what, "the tape op '%s'", op);
    return fail_op(e, what);
}

/* ------------------------------------------------------------ entry points */

static void ex_free(ex *e)
{
    free(e->evs);
    for (size_t i = 0; i < e->n_names; i++)
        free(e->names[i].name);
    free(e->names);
    for (size_t i = 0; i < e->n_keys; i++)
        free(e->keys[i].key);
    free(e->keys);
    for (size_t i = 0; i < e->n_mods; i++)
        free(e->mods[i].prefix);
    free(e->mods);
    ob_free(e->b);
}

static ob_model *export_build(ckpt_module *m, const ckpt_onnx_export_opts *o, ckpt_error *err)
{
    ckpt_onnx_export_opts d = {0};
    if (!o)
        o = &d;
    if (!m) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_onnx_export: module is NULL");
        return NULL;
    }
    int opset = o->opset ? o->opset : 13;
    if (opset < 11 || opset > 17) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_onnx_export: opset %d (11 to 17)", opset);
        return NULL;
    }
    if (o->input_ndim < 0 || o->input_ndim > CKPT_VAR_MAX_DIMS ||
        (o->input_ndim > 0 && !o->input_shape)) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_onnx_export: the example input's shape is missing");
        return NULL;
    }
    ex e;
    memset(&e, 0, sizeof e);
    e.err = err;
    e.opset = opset;
    e.output_name = o->output_name ? o->output_name : "output";
    const char *in_name = o->input_name ? o->input_name : "input";
    e.tr.op = on_op;
    e.tr.module_begin = on_module_begin;
    e.tr.module_end = on_module_end;
    e.b = ob_new(err);
    ckpt_tape *t = e.b ? ckpt_tape_new(NULL, err) : NULL;
    if (!t) {
        ex_free(&e);
        return NULL;
    }
    int rc = 0;
    if (o->producer_name) {
        free(e.b->producer_name);
        e.b->producer_name = strdup(o->producer_name);
    }
    rc = ob_set_opset(e.b, "", opset, err);
    if (rc == 0)
        rc = ckpt_module_walk(m, CKPT_WALK_PARAMS | CKPT_WALK_BUFFERS, slot_cb, &e, err);
    if (rc == 0)
        rc = ckpt_module_walk_modules(m, module_cb, &e, err);
    ckpt_var *x = NULL;
    if (rc == 0) {
        x = o->input_int64 ? ckpt_tape_index(t, o->input_ndim, o->input_shape,
                                             (const int64_t *)o->input_data, err)
                           : ckpt_tape_tensor(t, o->input_ndim, o->input_shape,
                                              (const float *)o->input_data, err);
        if (o->input_int64 && x && !o->input_data)
            memset(x->idata, 0, (size_t)x->numel * sizeof(int64_t));
        if (!x)
            rc = err->code ? err->code : CKPT_E_NOMEM;
    }
    bool was_training = ckpt_module_training(m);
    ckpt_var *y = NULL;
    if (rc == 0) {
        e.input = x;
        if (!name_set(&e, x, in_name))
            rc = nomem(&e);
    }
    if (rc == 0) {
        ckpt_module_train(m, false);
        ckpt__tape_set_tracer(t, &e.tr);
        y = ckpt_module_call(m, x, err);
        ckpt__tape_set_tracer(t, NULL);
        ckpt_module_train(m, was_training);
        if (!y)
            rc = err->code ? err->code : CKPT_E_ARG;
        else if (e.oom)
            rc = nomem(&e);
    }
    if (rc == 0) {
        e.output = y;
        for (size_t i = 0; i < e.n_ev && rc == 0; i++)
            rc = e.evs[i].m ? emit_module(&e, &e.evs[i]) : emit_op(&e, &e.evs[i]);
    }
    if (rc == 0) {
        const char *yn = var_name(&e, y);
        if (!yn)
            rc = err->code ? err->code : CKPT_E_NOMEM;
        else if (strcmp(yn, e.output_name)) {
            ob_node *id = ob_add_node(e.b, "Identity", "/Identity_out", 1, &yn, 1, &e.output_name,
                                      err);
            if (!id)
                rc = err->code ? err->code : CKPT_E_NOMEM;
        }
    }
    if (rc == 0) {
        int xt = o->input_int64 ? OX_INT64 : OX_FLOAT;
        ox_type ti = ob_tensor_type(xt, x->ndim, x->shape, o->input_dynamic);
        for (int i = 0; o->input_dynamic && i < x->ndim; i++)
            if (o->input_dynamic[i])
                ti.dims[i] = -1;
        ox_type to = ob_tensor_type(y->dtype == CKPT_F32 ? OX_FLOAT : OX_INT64, y->ndim, y->shape,
                                    o->output_dynamic);
        for (int i = 0; o->output_dynamic && i < y->ndim; i++)
            if (o->output_dynamic[i])
                to.dims[i] = -1;
        rc = ob_add_input(e.b, in_name, &ti, err);
        if (rc == 0)
            rc = ob_add_output(e.b, e.output_name, &to, err);
    }
    if (rc == 0 && !o->keep_batchnorm) {
        int nf = 0;
        rc = ox_fold_batchnorm(e.b, &nf, err);
    }
    ckpt_tape_free(t);
    ob_model *b = e.b;
    e.b = NULL;
    ex_free(&e);
    if (rc < 0) {
        ob_free(b);
        return NULL;
    }
    return b;
}

ckpt_onnx_model *ckpt_onnx_export_model(ckpt_module *m, const ckpt_onnx_export_opts *o,
                                        ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ob_model *b = export_build(m, o, err);
    if (!b)
        return NULL;
    ckpt_onnx_model *r = ob_to_model(b, err);
    ob_free(b);
    return r;
}

int ckpt_onnx_export(ckpt_module *m, const ckpt_onnx_export_opts *o, const char *path,
                     ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!path)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_onnx_export: NULL path");
    ob_model *b = export_build(m, o, err);
    if (!b) {
        ckpt__error_set_file(err, path);
        return err->code ? err->code : CKPT_E_ARG;
    }
    /* check it reads back before replacing the file */
    ckpt_onnx_model *chk = ob_to_model(b, err);
    int rc = chk ? ob_save(b, path, err) : (err->code ? err->code : CKPT_E_FORMAT);
    ckpt_onnx_model_free(chk);
    ob_free(b);
    return rc;
}
