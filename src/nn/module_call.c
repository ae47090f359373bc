/* src/nn/module_call.c - module(x) on the autograd tape: a module's own
 * forward function, a layer's tape forward, or a Sequential chaining its
 * children (see ckpt_module_call in ckpt/nn.h). */
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "nn/nn_internal.h"

int ckpt_module_set_forward(ckpt_module *m, ckpt_forward_fn fn, void *ctx, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!m)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_module_set_forward: module is NULL");
    m->forward_fn = fn;
    m->forward_ctx = ctx;
    return 0;
}

static ckpt_var *call_sequential(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    for (size_t i = 0; i < m->nchildren && x; i++)
        x = ckpt_module_call(m->children[i], x, err);
    return x;
}

ckpt_var *ckpt_module_call(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!m || !x) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_module_call: module or input is NULL");
        return NULL;
    }
    ckpt_var *y = NULL;
    ckpt__tracer *tr = ckpt__tape_tracer(x->tape);
    bool unit = tr && tr->depth == 0 && tr->module_begin(tr, m, x);
    if (unit)
        tr->depth++;
    if (m->forward_fn)
        y = m->forward_fn(m, x, m->forward_ctx, err);
    else if (m->ops && m->ops->call)
        y = m->ops->call(m, x, err);
    else if ((m->ops && strcmp(m->ops->type, "Sequential") == 0) ||
             (!m->ops && strcmp(m->type, "Sequential") == 0))
        y = call_sequential(m, x, err);
    else {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "module '%s' (%s) has no forward: give it one with ckpt_module_set_forward",
                  m->name, m->type);
        if (unit)
            tr->depth--;
        return NULL;
    }
    if (unit) {
        tr->depth--;
        if (y)
            tr->module_end(tr, m, x, y);
    }
    if (!y && !ckpt__error_is_set(err))
        CKPT_FAIL(err, CKPT_E_ARG, "forward of module '%s' (%s) returned no output", m->name,
                  m->type);
    return y;
}

ckpt_var *ckpt_module_call_child(ckpt_module *m, const char *path, ckpt_var *x, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!m || !path) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_module_call_child: module or path is NULL");
        return NULL;
    }
    ckpt_module *c = ckpt_module_find(m, path);
    if (!c) {
        CKPT_FAIL(err, CKPT_E_NOT_FOUND, "%s has no submodule '%s'", m->type, path);
        return NULL;
    }
    return ckpt_module_call(c, x, err);
}
