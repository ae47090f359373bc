/* src/nn/act.c - caller-owned float32 activations. */
#include <stdlib.h>

#include "core/err.h"
#include "core/mem.h"
#include "ckpt/nn.h"

size_t ckpt_nn_act_numel(const ckpt_nn_act *a)
{
    if (!a)
        return 0;
    size_t n = 1;
    for (int i = 0; i < a->ndim; i++)
        n *= (size_t)a->shape[i];
    return n;
}

int ckpt_nn_act_resize(ckpt_nn_act *a, int ndim, const int64_t *shape, ckpt_error *err)
{
    CKPT_CHECK(a && ndim >= 0 && ndim <= CKPT_NN_MAX_DIMS && (ndim == 0 || shape), err,
               CKPT_E_ARG, "activation resize: bad arguments (ndim %d)", ndim);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        CKPT_CHECK(shape[i] >= 0, err, CKPT_E_ARG, "activation resize: negative dim %d", i);
        if (shape[i] != 0 && n > SIZE_MAX / sizeof(float) / (size_t)shape[i])
            return CKPT_FAIL(err, CKPT_E_LIMIT, "activation resize: too many elements");
        n *= (size_t)shape[i];
    }
    if (n > a->cap || !a->data) {
        size_t cap = n ? n : 1;
        float *p = ckpt__xrealloc(a->alloc, a->data, a->data ? a->cap * sizeof(float) : 0,
                                  cap * sizeof(float));
        if (!p)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "activation resize: out of memory (%zu floats)",
                             cap);
        a->data = p;
        a->cap = cap;
    }
    a->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        a->shape[i] = shape[i];
    return 0;
}

void ckpt_nn_act_free(ckpt_nn_act *a)
{
    if (!a)
        return;
    ckpt__xfree(a->alloc, a->data, a->cap * sizeof(float));
    a->data = NULL;
    a->cap = 0;
    a->ndim = 0;
}
