/* src/nn/layers_rnn.c - torch.nn.LSTM and torch.nn.GRU: torch's parameter
 * names, order, shapes and default initialisation (U(-1/sqrt(H), 1/sqrt(H))
 * for every parameter), and their tape forward through ckpt_f_lstm /
 * ckpt_f_gru. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "graph/graph_internal.h"
#include "nn/layers.h"

/* nn_layer fields used: in = input_size, out = hidden_size, extra =
 * num_layers, groups = directions, bias, batch_first, p = dropout. */

static ckpt_var *lstm_call1(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    return ckpt_nn_lstm_call(m, x, NULL, NULL, NULL, NULL, err);
}

static ckpt_var *gru_call1(ckpt_module *m, ckpt_var *x, ckpt_error *err)
{
    return ckpt_nn_gru_call(m, x, NULL, NULL, err);
}

static const ckpt__layer_ops lstm_ops = {.type = "LSTM", .call = lstm_call1};
static const ckpt__layer_ops gru_ops = {.type = "GRU", .call = gru_call1};

static ckpt_module *rnn_make(ckpt_module *parent, const char *name, const char *type,
                             const ckpt__layer_ops *ops, int64_t mult, int64_t input_size,
                             int64_t hidden_size, const ckpt_rnn_opts *o, ckpt_rng *rng,
                             ckpt_error *err)
{
    const ckpt_rnn_opts def = {0};
    if (!o)
        o = &def;
    if (input_size < 0 || hidden_size < 1 || o->num_layers < 0 ||
        !(o->dropout >= 0.0 && o->dropout <= 1.0)) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "%s: input_size %lld must be >= 0, hidden_size %lld >= 1, num_layers %lld >= 1 "
                  "and dropout %g in [0, 1]",
                  type, (long long)input_size, (long long)hidden_size, (long long)o->num_layers,
                  o->dropout);
        return NULL;
    }
    if (hidden_size > INT64_MAX / 8 || input_size > INT64_MAX / 8) {
        CKPT_FAIL(err, CKPT_E_ARG, "%s: sizes too large", type);
        return NULL;
    }
    ckpt_module *m = ckpt__nn_make(parent, name, type, ops, err);
    if (!m)
        return NULL;
    nn_layer *l = ckpt__nn_state(m);
    const int64_t L = o->num_layers > 0 ? o->num_layers : 1, D = o->bidirectional ? 2 : 1;
    l->in = input_size;
    l->out = hidden_size;
    l->extra = L;
    l->groups = D;
    l->bias = !o->no_bias;
    l->batch_first = o->batch_first;
    l->p = o->dropout;
    const double bound = 1.0 / sqrt((double)hidden_size);
    const int64_t G = mult * hidden_size;
    for (int64_t k = 0; k < L; k++)
        for (int64_t d = 0; d < D; d++) {
            const char *sfx = d ? "_reverse" : "";
            char nm[64];
            int64_t ih[2] = {G, k ? D * hidden_size : input_size}, hh[2] = {G, hidden_size};
            snprintf(nm, sizeof nm, "weight_ih_l%lld%s", (long long)k, sfx);
            bool ok = ckpt__nn_param_uniform(m, nm, 2, ih, bound, rng, err) != NULL;
            snprintf(nm, sizeof nm, "weight_hh_l%lld%s", (long long)k, sfx);
            ok = ok && ckpt__nn_param_uniform(m, nm, 2, hh, bound, rng, err) != NULL;
            if (ok && l->bias) {
                snprintf(nm, sizeof nm, "bias_ih_l%lld%s", (long long)k, sfx);
                ok = ckpt__nn_param_uniform(m, nm, 1, &G, bound, rng, err) != NULL;
                snprintf(nm, sizeof nm, "bias_hh_l%lld%s", (long long)k, sfx);
                ok = ok && ckpt__nn_param_uniform(m, nm, 1, &G, bound, rng, err) != NULL;
            }
            if (!ok) {
                if (!parent)
                    ckpt_module_free(m);
                return NULL;
            }
        }
    ckpt_module_set_attr_str(m, "mode", type, NULL);
    ckpt_module_set_attr_int(m, "input_size", input_size, NULL);
    ckpt_module_set_attr_int(m, "hidden_size", hidden_size, NULL);
    ckpt_module_set_attr_int(m, "num_layers", L, NULL);
    ckpt_module_set_attr_bool(m, "bias", l->bias, NULL);
    ckpt_module_set_attr_bool(m, "batch_first", o->batch_first, NULL);
    ckpt_module_set_attr_float(m, "dropout", o->dropout, NULL);
    ckpt_module_set_attr_bool(m, "bidirectional", o->bidirectional, NULL);
    ckpt_module_set_attr_int(m, "proj_size", 0, NULL);
    return ckpt__nn_done(parent, m, err); /* attributes set without err: NOMEM check */
}

ckpt_module *ckpt_nn_lstm(ckpt_module *parent, const char *name, int64_t input_size,
                          int64_t hidden_size, const ckpt_rnn_opts *o, ckpt_rng *rng,
                          ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return rnn_make(parent, name, "LSTM", &lstm_ops, 4, input_size, hidden_size, o, rng, err);
}

ckpt_module *ckpt_nn_gru(ckpt_module *parent, const char *name, int64_t input_size,
                         int64_t hidden_size, const ckpt_rnn_opts *o, ckpt_rng *rng,
                         ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    return rnn_make(parent, name, "GRU", &gru_ops, 3, input_size, hidden_size, o, rng, err);
}

/* The module's parameters as vars on x's tape, in torch's flat order. */
static ckpt_var **rnn_weights(ckpt_module *m, ckpt_tape *t, ckpt_rnn_opts *o, size_t *nw,
                              ckpt_error *err)
{
    nn_layer *l = ckpt__nn_state(m);
    memset(o, 0, sizeof *o);
    o->num_layers = l->extra;
    o->no_bias = !l->bias;
    o->batch_first = l->batch_first;
    o->bidirectional = l->groups == 2;
    o->dropout = l->p;
    const int64_t npl = l->bias ? 4 : 2;
    *nw = (size_t)(l->extra * l->groups * npl);
    ckpt_var **w = ckpt__tape_alloc(t, (*nw ? *nw : 1) * sizeof *w, err);
    if (!w)
        return NULL;
    static const char *const base[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    size_t i = 0;
    for (int64_t k = 0; k < l->extra; k++)
        for (int64_t d = 0; d < l->groups; d++)
            for (int64_t j = 0; j < npl; j++) {
                char nm[64];
                snprintf(nm, sizeof nm, "%s_l%lld%s", base[j], (long long)k, d ? "_reverse" : "");
                if (!(w[i++] = ckpt_module_var(m, nm, t, err)))
                    return NULL;
            }
    return w;
}

static bool is_rnn(const ckpt_module *m, const ckpt__layer_ops *ops, const char *fn,
                   ckpt_error *err)
{
    if (m && m->ops == ops)
        return true;
    CKPT_FAIL(err, CKPT_E_ARG, "%s: module is %s, not %s", fn, m ? m->type : "NULL", ops->type);
    return false;
}

ckpt_var *ckpt_nn_lstm_call(ckpt_module *m, ckpt_var *x, ckpt_var *h0, ckpt_var *c0,
                            ckpt_var **h_n, ckpt_var **c_n, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (h_n)
        *h_n = NULL;
    if (c_n)
        *c_n = NULL;
    if (!is_rnn(m, &lstm_ops, "ckpt_nn_lstm_call", err) ||
        ckpt__var_check(x, CKPT_F32, NULL, "LSTM", "input", err) < 0)
        return NULL;
    ckpt_rnn_opts o;
    size_t nw = 0;
    ckpt_var **w = rnn_weights(m, x->tape, &o, &nw, err);
    if (!w)
        return NULL;
    return ckpt_f_lstm(x, h0, c0, w, nw, &o, m->training, h_n, c_n, err);
}

ckpt_var *ckpt_nn_gru_call(ckpt_module *m, ckpt_var *x, ckpt_var *h0, ckpt_var **h_n,
                           ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (h_n)
        *h_n = NULL;
    if (!is_rnn(m, &gru_ops, "ckpt_nn_gru_call", err) ||
        ckpt__var_check(x, CKPT_F32, NULL, "GRU", "input", err) < 0)
        return NULL;
    ckpt_rnn_opts o;
    size_t nw = 0;
    ckpt_var **w = rnn_weights(m, x->tape, &o, &nw, err);
    if (!w)
        return NULL;
    return ckpt_f_gru(x, h0, w, nw, &o, m->training, h_n, err);
}
