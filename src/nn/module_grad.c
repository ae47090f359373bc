/* src/nn/module_grad.c - parameters on the autograd tape and their gradients
 * (ckpt_module_var, ckpt_module_zero_grad; see ckpt/nn.h). */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "nn/nn_internal.h"

ckpt_var *ckpt_module_var(ckpt_module *m, const char *path, ckpt_tape *t, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!m || !path || !t) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_module_var: module, path or tape is NULL");
        return NULL;
    }
    ckpt_slot *s = ckpt_module_slot(m, path);
    if (!s || !s->data) {
        CKPT_FAIL(err, CKPT_E_NOT_FOUND, "%s has no parameter or buffer '%s'%s",
                  ckpt_module_type(m), path, s ? " (it is None)" : "");
        return NULL;
    }
    if (s->dtype != CKPT_F32) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s.%s: only float32 slots go on the tape",
                  ckpt_module_type(m), path);
        return NULL;
    }
    bool rg = s->is_param && s->requires_grad;
    ckpt_var *v = ckpt__var_param(t, s->data, s->ndim, s->shape, rg ? &s->grad : NULL, rg, err);
    if (v && rg)
        v->grad_alloc = s->alloc; /* the gradient comes from the tree's allocator */
    return v;
}

/* A direct walk (no key buffer, nothing allocated, so it cannot fail): every
 * parameter slot of the tree, a slot sharing another's memory included (each
 * slot owns its own grad buffer). */
static void zero_rec(ckpt_module *m, bool set_to_none)
{
    for (size_t i = 0; i < m->nslots; i++) {
        ckpt_slot *s = m->slots[i];
        if (!s->is_param || !s->grad)
            continue;
        if (set_to_none) {
            ckpt__slot_grad_free(s);
            continue;
        }
        size_t n = 1;
        for (int d = 0; d < s->ndim; d++)
            n *= (size_t)s->shape[d];
        memset(s->grad, 0, n * sizeof(float));
    }
    for (size_t i = 0; i < m->nchildren; i++)
        zero_rec(m->children[i], set_to_none);
}

void ckpt_module_zero_grad(ckpt_module *m, bool set_to_none)
{
    if (!m)
        return;
    zero_rec(m, set_to_none);
}
