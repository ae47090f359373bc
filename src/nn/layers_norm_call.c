/* src/nn/layers_norm_call.c - tape forwards (ckpt_module_call) of Embedding,
 * BatchNorm1d/2d and LayerNorm over the functional ops of src/graph: the
 * module side only (which parameters and buffers, which mode), the math is
 * ckpt_f_embedding / ckpt_f_batch_norm / ckpt_f_layer_norm. */
#include <stdio.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "nn/layers.h"

/* a parameter as a var, or NULL without error when it is None / absent */
static ckpt_var *opt_var(ckpt_module *m, const char *name, ckpt_tape *t, bool *bad,
                         ckpt_error *err)
{
    ckpt_slot *s = ckpt_module_slot(m, name);
    if (!s || !s->data)
        return NULL;
    ckpt_var *v = ckpt_module_var(m, name, t, err);
    if (!v)
        *bad = true;
    return v;
}

/* Embedding(idx): idx int64 of any shape; padding_idx rows get no gradient. */
ckpt_var *ckpt__embedding_call(ckpt_module *m, ckpt_var *idx, ckpt_error *err)
{
    if (ckpt__var_check(idx, CKPT_I64, NULL, "Embedding", "input (int64 indices)", err) < 0)
        return NULL;
    int64_t pad = -1;
    ckpt_module_attr_int(m, "padding_idx", &pad);
    ckpt_var *w = ckpt_module_var(m, "weight", idx->tape, err);
    return w ? ckpt_f_embedding(idx, w, pad, err) : NULL;
}

/* BatchNorm1d ((N,C) or (N,C,L)) / BatchNorm2d ((N,C,H,W)): batch statistics
 * in training, or always when track_running_stats=False (torch's
 * bn_training); running buffers updated in training when tracked. */
ckpt_var *ckpt__batchnorm_call(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    if (ckpt__var_check(x, CKPT_F32, NULL, m->type, "input", err) < 0)
        return NULL;
    bool ok = l->extra == 1 ? (x->ndim == 2 || x->ndim == 3) : x->ndim == l->extra + 2;
    if (!ok) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: expected %s input (got %dD input)", m->type,
                  l->extra == 1 ? "2D or 3D" : "4D", x->ndim);
        return NULL;
    }
    if (x->shape[1] != l->in) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "%s: input has %lld channels, expected num_features %lld",
                  m->type, (long long)x->shape[1], (long long)l->in);
        return NULL;
    }
    bool bad = false;
    ckpt_var *w = opt_var(m, "weight", x->tape, &bad, err);
    ckpt_var *b = opt_var(m, "bias", x->tape, &bad, err);
    if (bad)
        return NULL;
    float *rm = NULL, *rv = NULL;
    int64_t *nbt = NULL;
    if (l->track) {
        rm = ckpt__nn_data(m, "running_mean");
        rv = ckpt__nn_data(m, "running_var");
        ckpt_slot *s = ckpt_module_slot(m, "num_batches_tracked");
        if (s && s->data && s->dtype == CKPT_I64)
            nbt = s->data;
    }
    return ckpt_f_batch_norm(x, rm, rv, nbt, w, b, ckpt_module_training(m), l->momentum, l->eps,
                             err);
}

/* LayerNorm over normalized_shape, with or without elementwise_affine. */
ckpt_var *ckpt__layernorm_call(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    if (ckpt__var_check(x, CKPT_F32, NULL, "LayerNorm", "input", err) < 0)
        return NULL;
    size_t nd = 0;
    const int64_t *ns = NULL;
    ckpt_module_attr_ints(m, "normalized_shape", &nd, &ns);
    bool ok = nd >= 1 && (size_t)x->ndim >= nd;
    for (size_t i = 0; ok && i < nd; i++)
        ok = x->shape[(size_t)x->ndim - nd + i] == ns[i];
    if (!ok) {
        char b1[96];
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "LayerNorm: input %s does not end with normalized_shape (%zu dims, last %lld)",
                  ckpt__shape_str(x, b1, sizeof b1), nd, nd ? (long long)ns[nd - 1] : 0LL);
        return NULL;
    }
    bool bad = false;
    ckpt_var *w = opt_var(m, "weight", x->tape, &bad, err);
    ckpt_var *b = opt_var(m, "bias", x->tape, &bad, err);
    return bad ? NULL : ckpt_f_layer_norm(x, (int)nd, w, b, l->eps, err);
}
