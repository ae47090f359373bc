/* src/graph/tape.c - the autograd tape: an arena of vars, a list of recorded
 * nodes, and the reverse walk (see ckpt/autograd.h, graph_internal.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/err.h"
#include "core/mem.h"
#include "graph/graph_internal.h"

#define ALIGN 64u
#define MIN_CHUNK ((size_t)1 << 20)

typedef struct chunk {
    struct chunk *next;
    size_t cap;  /* usable bytes after the header */
    size_t used; /* bytes handed out */
} chunk;

#define HDR ((sizeof(chunk) + ALIGN - 1) / ALIGN * ALIGN)

struct ckpt_tape {
    ckpt_alloc a;
    chunk *chunks; /* newest first */
    size_t total;  /* capacity of all chunks */
    ckpt__node *last;
    uint64_t nodes;      /* nodes recorded since the last reset */
    uint64_t freed_upto; /* nodes with index <= this were consumed by a backward */
    bool grad_enabled;
    ckpt_rng rng;
    ckpt__tracer *tracer; /* ONNX export (graph_internal.h) */
};

void ckpt__tape_set_tracer(ckpt_tape *t, ckpt__tracer *tr)
{
    t->tracer = tr;
}

ckpt__tracer *ckpt__tape_tracer(const ckpt_tape *t)
{
    return t ? t->tracer : NULL;
}

static void *sys_alloc(const ckpt_alloc *a, size_t n)
{
    return ckpt__alloc(a, n);
}

static void chunk_free_all(ckpt_tape *t)
{
    chunk *c = t->chunks;
    while (c) {
        chunk *next = c->next;
        ckpt__free(&t->a, c, HDR + c->cap);
        c = next;
    }
    t->chunks = NULL;
    t->total = 0;
}

static chunk *chunk_new(ckpt_tape *t, size_t cap)
{
    if (cap > SIZE_MAX - HDR)
        return NULL;
    /* ckpt__alloc returns malloc alignment; keep ALIGN alignment by hand */
    chunk *c = sys_alloc(&t->a, HDR + cap);
    if (!c)
        return NULL;
    c->cap = cap;
    c->used = 0;
    c->next = t->chunks;
    t->chunks = c;
    t->total += cap;
    return c;
}

ckpt_tape *ckpt_tape_new(const ckpt_alloc *a, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_alloc al = {0};
    if (a)
        al = *a;
    ckpt_tape *t = ckpt__alloc(a, sizeof *t);
    if (!t) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "tape: out of memory");
        return NULL;
    }
    memset(t, 0, sizeof *t);
    t->a = al;
    t->grad_enabled = true;
    ckpt_rng_seed(&t->rng, 0);
    return t;
}

void ckpt_tape_free(ckpt_tape *t)
{
    if (!t)
        return;
    chunk_free_all(t);
    ckpt_alloc a = t->a;
    ckpt__free(a.alloc ? &a : NULL, t, sizeof *t);
}

void ckpt_tape_reset(ckpt_tape *t)
{
    if (!t)
        return;
    if (t->chunks && t->chunks->next) {
        /* several chunks: replace them by one that holds a whole step */
        size_t want = t->total;
        chunk_free_all(t);
        (void)chunk_new(t, want); /* on failure the next alloc retries */
    } else if (t->chunks) {
        t->chunks->used = 0;
    }
    t->last = NULL;
    t->nodes = 0;
    t->freed_upto = 0;
}

bool ckpt_tape_set_grad_enabled(ckpt_tape *t, bool enabled)
{
    if (!t)
        return false;
    bool old = t->grad_enabled;
    t->grad_enabled = enabled;
    return old;
}

bool ckpt_tape_grad_enabled(const ckpt_tape *t)
{
    return t && t->grad_enabled;
}

ckpt_rng *ckpt_tape_rng(ckpt_tape *t)
{
    return t ? &t->rng : NULL;
}

size_t ckpt_tape_bytes(const ckpt_tape *t)
{
    return t ? t->total : 0;
}

/* ----------------------------------------------------------------- arena */

void *ckpt__tape_alloc(ckpt_tape *t, size_t bytes, ckpt_error *err)
{
    size_t n = (bytes + ALIGN - 1) / ALIGN * ALIGN;
    if (n < bytes) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "tape: allocation of %zu bytes overflows", bytes);
        return NULL;
    }
    if (n == 0)
        n = ALIGN;
    chunk *c = t->chunks;
    if (!c || c->cap - c->used < n) {
        size_t cap = t->total > MIN_CHUNK ? t->total : MIN_CHUNK;
        if (cap < n)
            cap = n;
        c = chunk_new(t, cap);
        if (!c) {
            CKPT_FAIL(err, CKPT_E_NOMEM, "tape: out of memory (%zu bytes)", bytes);
            return NULL;
        }
    }
    uint8_t *base = (uint8_t *)c + HDR;
    uintptr_t p = (uintptr_t)(base + c->used);
    size_t pad = (size_t)((ALIGN - p % ALIGN) % ALIGN);
    if (c->cap - c->used < n + pad) {
        c = chunk_new(t, n + ALIGN > MIN_CHUNK ? n + ALIGN : MIN_CHUNK);
        if (!c) {
            CKPT_FAIL(err, CKPT_E_NOMEM, "tape: out of memory (%zu bytes)", bytes);
            return NULL;
        }
        base = (uint8_t *)c + HDR;
        p = (uintptr_t)base;
        pad = (size_t)((ALIGN - p % ALIGN) % ALIGN);
    }
    c->used += pad + n;
    return (void *)(p + pad);
}

void *ckpt__tape_calloc(ckpt_tape *t, size_t bytes, ckpt_error *err)
{
    void *p = ckpt__tape_alloc(t, bytes, err);
    if (p)
        memset(p, 0, bytes);
    return p;
}

/* ------------------------------------------------------------------ vars */

static int shape_numel(int ndim, const int64_t *shape, int64_t *numel, ckpt_error *err)
{
    if (ndim < 0 || ndim > CKPT_VAR_MAX_DIMS)
        return CKPT_FAIL(err, CKPT_E_SHAPE, "tensor with %d dims (at most %d)", ndim,
                         CKPT_VAR_MAX_DIMS);
    if (ndim > 0 && !shape)
        return CKPT_FAIL(err, CKPT_E_ARG, "tensor shape is NULL");
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0)
            return CKPT_FAIL(err, CKPT_E_SHAPE, "negative size %lld in dim %d",
                             (long long)shape[i], i);
        if (ckpt_mul_i64(n, shape[i], &n) || n > (int64_t)(SIZE_MAX / 8))
            return CKPT_FAIL(err, CKPT_E_SHAPE, "tensor size overflows");
    }
    *numel = n;
    return 0;
}

static ckpt_var *var_header(ckpt_tape *t, int dtype, int ndim, const int64_t *shape,
                            ckpt_error *err)
{
    int64_t numel = 0;
    if (shape_numel(ndim, shape, &numel, err) < 0)
        return NULL;
    ckpt_var *v = ckpt__tape_calloc(t, sizeof *v, err);
    if (!v)
        return NULL;
    v->tape = t;
    v->dtype = dtype;
    v->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        v->shape[i] = shape[i];
    v->numel = numel;
    v->leaf = true;
    return v;
}

ckpt_var *ckpt__var_new(ckpt_tape *t, int dtype, int ndim, const int64_t *shape, ckpt_error *err)
{
    if (dtype != CKPT_F32 && dtype != CKPT_I64) {
        CKPT_FAIL(err, CKPT_E_ARG, "tape tensors are float32 or int64");
        return NULL;
    }
    ckpt_var *v = var_header(t, dtype, ndim, shape, err);
    if (!v)
        return NULL;
    size_t el = dtype == CKPT_F32 ? sizeof(float) : sizeof(int64_t);
    void *d = ckpt__tape_alloc(t, (size_t)v->numel * el, err);
    if (!d)
        return NULL;
    if (dtype == CKPT_F32)
        v->data = d;
    else
        v->idata = d;
    return v;
}

ckpt_var *ckpt__var_alias(ckpt_var *x, int ndim, const int64_t *shape, ckpt_error *err)
{
    ckpt_var *v = var_header(x->tape, x->dtype, ndim, shape, err);
    if (!v)
        return NULL;
    if (v->numel != x->numel) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "view of %lld elements as %lld", (long long)x->numel,
                  (long long)v->numel);
        return NULL;
    }
    v->data = x->data;
    v->idata = x->idata;
    return v;
}

ckpt_var *ckpt__var_view(ckpt_var *x, int ndim, const int64_t *shape, int64_t offset,
                         ckpt_error *err)
{
    ckpt_var *v = var_header(x->tape, x->dtype, ndim, shape, err);
    if (!v)
        return NULL;
    if (offset < 0 || offset > x->numel || v->numel > x->numel - offset) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "view of %lld elements at %lld of %lld", (long long)v->numel,
                  (long long)offset, (long long)x->numel);
        return NULL;
    }
    v->data = x->data ? x->data + offset : NULL;
    v->idata = x->idata ? x->idata + offset : NULL;
    return v;
}

ckpt_var *ckpt__var_param(ckpt_tape *t, float *data, int ndim, const int64_t *shape,
                          float **grad_home, bool requires_grad, ckpt_error *err)
{
    ckpt_var *v = var_header(t, CKPT_F32, ndim, shape, err);
    if (!v)
        return NULL;
    v->data = data;
    v->grad_home = grad_home;
    v->requires_grad = requires_grad;
    return v;
}

ckpt_var *ckpt_tape_tensor(ckpt_tape *t, int ndim, const int64_t *shape, const float *data,
                           ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!t) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_tape_tensor: tape is NULL");
        return NULL;
    }
    ckpt_var *v = ckpt__var_new(t, CKPT_F32, ndim, shape, err);
    if (!v)
        return NULL;
    if (data)
        memcpy(v->data, data, (size_t)v->numel * sizeof(float));
    else
        memset(v->data, 0, (size_t)v->numel * sizeof(float));
    return v;
}

ckpt_var *ckpt_tape_tensor_borrow(ckpt_tape *t, int ndim, const int64_t *shape, float *data,
                                  ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!t || (!data && ndim > 0)) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_tape_tensor_borrow: tape or data is NULL");
        return NULL;
    }
    ckpt_var *v = var_header(t, CKPT_F32, ndim, shape, err);
    if (!v)
        return NULL;
    if (!data && v->numel > 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_tape_tensor_borrow: data is NULL");
        return NULL;
    }
    v->data = data;
    return v;
}

ckpt_var *ckpt_tape_index(ckpt_tape *t, int ndim, const int64_t *shape, const int64_t *data,
                          ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!t) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_tape_index: tape is NULL");
        return NULL;
    }
    ckpt_var *v = ckpt__var_new(t, CKPT_I64, ndim, shape, err);
    if (!v)
        return NULL;
    if (v->numel > 0 && !data) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_tape_index: data is NULL");
        return NULL;
    }
    if (v->numel > 0)
        memcpy(v->idata, data, (size_t)v->numel * sizeof(int64_t));
    return v;
}

ckpt_var *ckpt_tape_full(ckpt_tape *t, int ndim, const int64_t *shape, float value,
                         ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!t) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_tape_full: tape is NULL");
        return NULL;
    }
    ckpt_var *v = ckpt__var_new(t, CKPT_F32, ndim, shape, err);
    if (!v)
        return NULL;
    for (int64_t i = 0; i < v->numel; i++)
        v->data[i] = value;
    return v;
}

int ckpt_var_set_requires_grad(ckpt_var *v, bool requires_grad, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!v)
        return CKPT_FAIL(err, CKPT_E_ARG, "requires_grad_: var is NULL");
    if (v->dtype != CKPT_F32)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "requires_grad_: only floating point tensors can require gradients");
    if (!v->leaf || v->creator)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "requires_grad_: you can only change requires_grad flags of leaf "
                         "variables");
    v->requires_grad = requires_grad;
    return 0;
}

/* ------------------------------------------------------------ inspection */

ckpt_tape *ckpt_var_tape(const ckpt_var *v)
{
    return v ? v->tape : NULL;
}
int ckpt_var_dtype(const ckpt_var *v)
{
    return v ? v->dtype : -1;
}
int ckpt_var_ndim(const ckpt_var *v)
{
    return v ? v->ndim : -1;
}
int64_t ckpt_var_dim(const ckpt_var *v, int d)
{
    if (!v)
        return -1;
    if (d < 0)
        d += v->ndim;
    if (d < 0 || d >= v->ndim)
        return -1;
    return v->shape[d];
}
const int64_t *ckpt_var_shape(const ckpt_var *v)
{
    return v ? v->shape : NULL;
}
int64_t ckpt_var_numel(const ckpt_var *v)
{
    return v ? v->numel : 0;
}
float *ckpt_var_data(const ckpt_var *v)
{
    return v ? v->data : NULL;
}
int64_t *ckpt_var_index_data(const ckpt_var *v)
{
    return v ? v->idata : NULL;
}
float *ckpt_var_grad(const ckpt_var *v)
{
    if (!v)
        return NULL;
    return v->grad_home ? *v->grad_home : v->grad;
}
bool ckpt_var_requires_grad(const ckpt_var *v)
{
    return v && v->requires_grad;
}
float ckpt_var_item(const ckpt_var *v)
{
    if (!v || v->numel != 1 || v->dtype != CKPT_F32)
        return NAN;
    return v->data[0];
}

/* -------------------------------------------------------------- recording */

bool ckpt__wants_grad(ckpt_tape *t, ckpt_var *const *in, size_t nin)
{
    if (t->tracer)
        return t->tracer->depth == 0;
    if (!t->grad_enabled)
        return false;
    for (size_t i = 0; i < nin; i++)
        if (in[i] && in[i]->requires_grad)
            return true;
    return false;
}

int ckpt__record(ckpt_tape *t, const char *op, ckpt_var *out, ckpt_var *const *in, size_t nin,
                 ckpt__backward_fn backward, size_t ctx_bytes, ckpt__node **node, ckpt_error *err)
{
    *node = NULL;
    if (!ckpt__wants_grad(t, in, nin))
        return 0;
    ckpt__node *n = ckpt__tape_calloc(t, sizeof *n, err);
    if (!n)
        return CKPT_E_NOMEM;
    n->in = ckpt__tape_alloc(t, (nin ? nin : 1) * sizeof *n->in, err);
    if (!n->in)
        return CKPT_E_NOMEM;
    for (size_t i = 0; i < nin; i++)
        n->in[i] = in[i];
    if (ctx_bytes) {
        n->ctx = ckpt__tape_calloc(t, ctx_bytes, err);
        if (!n->ctx)
            return CKPT_E_NOMEM;
    }
    n->op = op;
    n->backward = backward;
    n->nin = nin;
    n->out = out;
    n->index = ++t->nodes;
    n->prev = t->last;
    t->last = n;
    out->requires_grad = true;
    out->leaf = false;
    out->creator = n;
    *node = n;
    if (t->tracer)
        t->tracer->op(t->tracer, n);
    return 0;
}

int ckpt__grad(ckpt_var *v, float **g, ckpt_error *err)
{
    *g = NULL;
    if (!v || !v->requires_grad || v->dtype != CKPT_F32)
        return 0;
    if (v->grad_home) {
        if (!*v->grad_home) {
            *v->grad_home = ckpt__xzalloc(v->grad_alloc, (size_t)v->numel * sizeof(float));
            if (!*v->grad_home)
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory for a parameter gradient");
        }
        *g = *v->grad_home;
        return 0;
    }
    if (!v->grad) {
        v->grad = ckpt__tape_calloc(v->tape, (size_t)v->numel * sizeof(float), err);
        if (!v->grad)
            return CKPT_E_NOMEM;
    }
    *g = v->grad;
    return 0;
}

/* -------------------------------------------------------------- backward */

static int run_backward(ckpt_var *y, const float *seed, ckpt_error *err)
{
    ckpt_tape *t = y->tape;
    if (!y->requires_grad)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "backward: element 0 of tensors does not require grad and does not "
                         "have a grad_fn");
    ckpt__node *root = y->creator;
    if (root && root->index <= t->freed_upto)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "backward: trying to backward through the graph a second time (the "
                         "tape keeps one backward per recorded graph)");
    float *g = NULL;
    CKPT_TRY(ckpt__grad(y, &g, err));
    for (int64_t i = 0; i < y->numel; i++)
        g[i] += seed ? seed[i] : 1.0f;
    if (!root)
        return 0; /* a leaf: its gradient is the seed */
    for (ckpt__node *n = t->last; n; n = n->prev) {
        if (n->index > root->index)
            continue;
        if (n->index <= t->freed_upto)
            break;
        if (!n->out->grad)
            continue; /* no gradient reached this node */
        int rc = n->backward(n, err);
        if (rc < 0) {
            char tmp[sizeof err->msg];
            snprintf(tmp, sizeof tmp, "%s", err->msg);
            ckpt_error_clear(err);
            CKPT_FAIL(err, rc, "backward of %s: %s", n->op, tmp);
            return rc;
        }
    }
    t->freed_upto = root->index;
    return 0;
}

int ckpt_backward(ckpt_var *loss, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!loss)
        return CKPT_FAIL(err, CKPT_E_ARG, "backward: loss is NULL");
    if (loss->numel != 1)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "backward: grad can be implicitly created only for scalar outputs "
                         "(this tensor has %lld elements)",
                         (long long)loss->numel);
    return run_backward(loss, NULL, err);
}

int ckpt_backward_with(ckpt_var *y, const float *grad_out, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!y || (!grad_out && y->numel > 0))
        return CKPT_FAIL(err, CKPT_E_ARG, "backward: tensor or gradient is NULL");
    return run_backward(y, grad_out, err);
}

/* ---------------------------------------------------------------- checks */

int ckpt__var_check(const ckpt_var *v, int dtype, ckpt_tape *t, const char *op,
                    const char *argname, ckpt_error *err)
{
    if (!v)
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: %s is NULL", op, argname);
    if (dtype >= 0 && v->dtype != dtype)
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: %s must be %s", op, argname,
                         dtype == CKPT_F32 ? "float32" : "int64");
    if (t && v->tape != t)
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: %s is on another tape", op, argname);
    return 0;
}

int ckpt__dim(int dim, int ndim, const char *op, int *out, ckpt_error *err)
{
    int n = ndim > 0 ? ndim : 1; /* a 0-dim tensor takes dim 0 or -1, as in torch */
    int d = dim < 0 ? dim + n : dim;
    if (d < 0 || d >= n)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "%s: dimension out of range (expected to be in range of [%d, %d], but "
                         "got %d)",
                         op, ndim > 0 ? -ndim : -1, ndim > 0 ? ndim - 1 : 0, dim);
    *out = d;
    return 0;
}

const char *ckpt__shape_str(const ckpt_var *v, char *buf, size_t cap)
{
    size_t off = 0;
    if (!cap)
        return buf;
    buf[0] = 0;
    int w = snprintf(buf, cap, "(");
    off = w > 0 ? (size_t)w : 0;
    for (int i = 0; v && i < v->ndim && off < cap; i++) {
        w = snprintf(buf + off, cap - off, "%s%lld", i ? ", " : "", (long long)v->shape[i]);
        if (w < 0)
            break;
        off += (size_t)w;
    }
    if (off < cap)
        snprintf(buf + off, cap - off, v && v->ndim == 1 ? ",)" : ")");
    return buf;
}
