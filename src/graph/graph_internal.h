/* src/graph/graph_internal.h - the tape's vars and nodes, for the files that
 * implement functional ops (src/graph/fn_*.c) and for nn's module forward.
 *
 * How an op is written (see fn_*.c):
 *   1. check inputs (ckpt__var_check, ckpt__dim), compute the output shape;
 *   2. out = ckpt__var_new(t, CKPT_F32, ndim, shape, err)  (arena memory);
 *   3. run the forward kernel from src/ops;
 *   4. ckpt__record(t, "op", out, in, nin, op_backward, sizeof(ctx), &node, err):
 *      records a node only when grad mode is on and an input requires grad;
 *      save what backward needs in node->ctx (arena memory, zeroed).
 * A backward function reads node->out->grad (never NULL when it is called)
 * and ADDS into each input's gradient obtained with ckpt__grad (NULL when
 * that input needs none).  Gradient buffers start zeroed. */
#ifndef CKPT_GRAPH_INTERNAL_H
#define CKPT_GRAPH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/autograd.h"
#include "ckpt/nn.h"

typedef struct ckpt__node ckpt__node;
typedef int (*ckpt__backward_fn)(ckpt__node *n, ckpt_error *err);

struct ckpt_var {
    ckpt_tape *tape;
    int dtype; /* CKPT_F32 or CKPT_I64 */
    int ndim;
    int64_t shape[CKPT_VAR_MAX_DIMS];
    int64_t numel;
    float *data;                  /* CKPT_F32 */
    int64_t *idata;               /* CKPT_I64 */
    float *grad;                  /* gradient (arena, or *grad_home for parameters) */
    float **grad_home;            /* parameters: the module's grad pointer (allocated on first
                          backward, freed by the module) */
    const ckpt_alloc *grad_alloc; /* parameters: allocator of *grad_home, an exact-size
                                     block of numel * sizeof(float) (NULL = calloc/free) */
    bool requires_grad;
    bool leaf;
    ckpt__node *creator; /* NULL for leaves and for vars made with grad mode off */
};

struct ckpt__node {
    const char *op;
    ckpt__backward_fn backward;
    ckpt_var *out;
    ckpt_var **in;
    size_t nin;
    void *ctx;
    uint64_t index; /* record order, from 1 */
    ckpt__node *prev;
    int64_t tr[CKPT_VAR_MAX_DIMS + 1]; /* the op's arguments for a tracer (ONNX export): */
    double tr_s;                       /* dims, scalar; see src/onnx/onnx_export.c */
};

/* A tracer (ONNX export): while one is set on a tape, every op records a
 * node (as if an input required grad) and `op` is called with it (its
 * ctx/tr fields are filled after the call returns: read them later); a
 * module call asks `module_begin` first: when it returns true the module is
 * traced as one unit (nothing recorded inside) and `module_end` gets its
 * output.  Non-zero from a callback stops nothing: the tracer records its
 * own failure. */
typedef struct ckpt__tracer ckpt__tracer;
struct ckpt__tracer {
    void (*op)(ckpt__tracer *tr, ckpt__node *n);
    bool (*module_begin)(ckpt__tracer *tr, ckpt_module *m, ckpt_var *x);
    void (*module_end)(ckpt__tracer *tr, ckpt_module *m, ckpt_var *x, ckpt_var *y);
    int depth; /* > 0: inside a module traced as a unit */
};
void ckpt__tape_set_tracer(ckpt_tape *t, ckpt__tracer *tr);
ckpt__tracer *ckpt__tape_tracer(const ckpt_tape *t);

/* Arena memory that lives until ckpt_tape_reset: 64-byte aligned, not
 * zeroed (calloc: zeroed).  NULL + CKPT_E_NOMEM recorded in err. */
void *ckpt__tape_alloc(ckpt_tape *t, size_t bytes, ckpt_error *err);
void *ckpt__tape_calloc(ckpt_tape *t, size_t bytes, ckpt_error *err);

/* A new var with uninitialised data of `dtype`.  Checks the shape (ndim in
 * [0, CKPT_VAR_MAX_DIMS], sizes >= 0, numel and bytes without overflow). */
ckpt_var *ckpt__var_new(ckpt_tape *t, int dtype, int ndim, const int64_t *shape, ckpt_error *err);
/* A var sharing `x`'s data with another shape of the same numel (no node). */
ckpt_var *ckpt__var_alias(ckpt_var *x, int ndim, const int64_t *shape, ckpt_error *err);
/* A var sharing x's elements [offset, offset + numel(shape)) (a contiguous
 * slice; no node).  CKPT_E_SHAPE when the range is outside x. */
ckpt_var *ckpt__var_view(ckpt_var *x, int ndim, const int64_t *shape, int64_t offset,
                         ckpt_error *err);
/* A parameter leaf: borrows `data`; its gradient accumulates into *grad_home
 * (allocated zeroed when NULL: with calloc, or through var->grad_alloc when the
 * caller sets it, numel * sizeof(float) bytes; the owner frees it). */
ckpt_var *ckpt__var_param(ckpt_tape *t, float *data, int ndim, const int64_t *shape,
                          float **grad_home, bool requires_grad, ckpt_error *err);

/* Is an input differentiable on this tape now (grad mode on, an input
 * requires grad)? */
bool ckpt__wants_grad(ckpt_tape *t, ckpt_var *const *in, size_t nin);
/* Record out = op(in...).  *node is NULL (and nothing is allocated) when no
 * gradient is wanted; otherwise node->ctx points at ctx_bytes zeroed bytes
 * (NULL when 0).  Returns 0 or CKPT_E_NOMEM. */
int ckpt__record(ckpt_tape *t, const char *op, ckpt_var *out, ckpt_var *const *in, size_t nin,
                 ckpt__backward_fn backward, size_t ctx_bytes, ckpt__node **node,
                 ckpt_error *err);
/* The gradient buffer of `v` to add into (allocated zeroed on first use), or
 * *g = NULL when `v` does not require grad.  Returns 0 or CKPT_E_NOMEM. */
int ckpt__grad(ckpt_var *v, float **g, ckpt_error *err);

/* Check a var argument of `op`: non-NULL, dtype as asked (-1: any), on tape
 * `t` when t is not NULL.  Returns 0 or CKPT_E_ARG naming op and argument. */
int ckpt__var_check(const ckpt_var *v, int dtype, ckpt_tape *t, const char *op,
                    const char *argname, ckpt_error *err);
/* Normalise a dim for a var of `ndim` dims (negative from the end); CKPT_E_ARG
 * naming the op when out of range. */
int ckpt__dim(int dim, int ndim, const char *op, int *out, ckpt_error *err);
/* "(2, 3, 4)" into buf (always NUL-terminated). */
const char *ckpt__shape_str(const ckpt_var *v, char *buf, size_t cap);

#endif
