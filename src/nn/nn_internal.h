/* src/nn/nn_internal.h - the module struct shared by module.c (tree, state
 * dict) and the layer files (constructors, forward). */
#ifndef CKPT_NN_INTERNAL_H
#define CKPT_NN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "ckpt/nn.h"

/* What a layer type does; NULL members mean "not supported". */
typedef struct ckpt__layer_ops {
    const char *type;
    /* forward in the module's train/eval mode; resizes `out` */
    int (*forward)(ckpt_module *m, const ckpt_nn_act *in, ckpt_nn_act *out, ckpt_rng *rng,
                   ckpt_error *err);
    /* forward on the autograd tape (ckpt_module_call); NULL: not callable */
    ckpt_var *(*call)(ckpt_module *m, ckpt_var *x, ckpt_error *err);
} ckpt__layer_ops;

typedef enum attr_kind { ATTR_INT, ATTR_INTS, ATTR_FLOAT, ATTR_BOOL, ATTR_STR } attr_kind;

typedef struct ckpt__attr {
    char *name;
    int kind;
    int64_t i;
    double f;
    bool b;
    char *s;
    int64_t *ints;
    size_t n;
} ckpt__attr;

struct ckpt_module {
    char *type;
    char *name; /* "" for a root */
    ckpt_module *parent;
    ckpt_module **children;
    size_t nchildren, children_cap;
    ckpt_slot **slots; /* parameters and buffers, in registration order; each slot
                                is allocated on its own so returned pointers stay valid */
    size_t nslots, slots_cap;
    ckpt__attr *attrs;
    size_t nattrs, attrs_cap;
    int version; /* _metadata version (1, BatchNorm 2) */
    bool training;
    const ckpt__layer_ops *ops; /* NULL for plain containers and user modules */
    void *layer;                /* layer-private state (owned; freed with the module) */
    void (*layer_free)(void *layer);
    ckpt_forward_fn forward_fn; /* ckpt_module_set_forward; overrides ops->call */
    void *forward_ctx;
    ckpt_alloc a_copy;   /* the tree's allocator (ckpt_module_new_alloc; children inherit) */
    const ckpt_alloc *a; /* &a_copy, or NULL = libc */
    bool attr_oom;       /* an attribute set failed for lack of memory (constructors, which
                            set attributes without err, check it: ckpt__nn_done) */
};

/* The allocator of `m`'s memory (NULL = libc); see core/mem.h ckpt__h* / ckpt__x*. */
#define CKPT__MOD_ALLOC(m) ((m)->a)
/* Free slot->grad through slot->alloc (exact size: nbytes) and set it NULL. */
void ckpt__slot_grad_free(ckpt_slot *s);

/* Resize-and-forward helpers for layer files (implemented in module.c or layers). */

#endif
