/*
 * src/jit/full_from_onnx.c - an ONNX graph that is a chain of layers written as
 * a full-model pickle of torch.nn classes: nn.Sequential of Linear, Conv2d,
 * BatchNorm1d/2d, activations, pools and Flatten, with the graph's weights.
 *
 * Each node must read the previous node's output (and initializers); an op
 * outside the mapping, a branch, or a weight computed at run time is refused
 * naming the node.  The module is built with the nn API and written by
 * ckpt_jit_save_full_model, so torch.load(weights_only=False) gives modules
 * whose forward is torch's own.
 */
#include <string.h>

#include "ckpt/nn.h"
#include "core/err.h"
#include "jit/jit_internal.h"

typedef struct chain {
    const ox_graph *g;
    ckpt_module *seq;
    int idx;  /* next child name */
    int rank; /* rank of the current value (-1 unknown) */
    ckpt_error *err;
} chain;

static const ox_val *init_of(const chain *c, const ox_node *n, int k)
{
    if (k >= n->n_in || n->in[k] < 0)
        return NULL;
    const ox_value *v = &c->g->values[n->in[k]];
    return v->is_initializer && v->init.dtype == OX_FLOAT ? &v->init : NULL;
}

static int fail(chain *c, const ox_node *n, const char *why)
{
    return CKPT_FAIL(c->err, CKPT_E_UNSUPPORTED,
                     "node '%s' (%s): %s; a full-model pickle is written for a chain of "
                     "Gemm/Conv/BatchNormalization/activation/pool/Flatten nodes",
                     n->name, n->op_type, why);
}

/* Copy an initializer into a layer's slot of the same element count. */
static int fill(chain *c, const ox_node *n, ckpt_module *layer, const char *slot,
                const ox_val *src)
{
    ckpt_slot *s = ckpt_module_slot(layer, slot);
    if (!s || !s->data || !src || s->nbytes != ox_val_nbytes(src))
        return fail(c, n, "a weight of another size than the layer's");
    memcpy(s->data, src->data, s->nbytes);
    return 0;
}

static const char *next_name(chain *c, char *buf, size_t cap)
{
    snprintf(buf, cap, "%d", c->idx++);
    return buf;
}

static int map_node(chain *c, const ox_node *n)
{
    char nm[16];
    ckpt_error *err = c->err;
    ckpt_module *m = NULL;
    const char *op = n->op_type;
    if (!strcmp(op, "Gemm")) {
        const ox_val *w = init_of(c, n, 1), *b = init_of(c, n, 2);
        if (!w || w->rank != 2 || ox_attr_int(n, "transB", 0) != 1 ||
            ox_attr_int(n, "transA", 0) != 0 || ox_attr_float(n, "alpha", 1.0f) != 1.0f ||
            ox_attr_float(n, "beta", 1.0f) != 1.0f || (b && b->numel != w->dims[0]))
            return fail(c, n, "not a Linear (transB=1, constant weight)");
        m = ckpt_nn_linear(c->seq, next_name(c, nm, sizeof nm), w->dims[1], w->dims[0],
                           &(ckpt_linear_opts){.no_bias = !b}, NULL, err);
        if (!m)
            return err->code;
        CKPT_TRY(fill(c, n, m, "weight", w));
        if (b)
            CKPT_TRY(fill(c, n, m, "bias", b));
        c->rank = 2;
        return 0;
    }
    if (!strcmp(op, "Conv")) {
        const ox_val *w = init_of(c, n, 1), *b = init_of(c, n, 2);
        size_t np = 0, ns = 0, nd = 0;
        const int64_t *pads = ox_attr_ints(n, "pads", &np);
        const int64_t *st = ox_attr_ints(n, "strides", &ns);
        const int64_t *dil = ox_attr_ints(n, "dilations", &nd);
        const char *ap = ox_attr_str(n, "auto_pad", "NOTSET");
        if (!w || w->rank != 4 || strcmp(ap, "NOTSET") != 0 || (np && np != 4) ||
            (np && (pads[0] != pads[2] || pads[1] != pads[3])) || (ns && ns != 2) ||
            (nd && nd != 2))
            return fail(c, n, "not a Conv2d (4-d constant weight, symmetric pads)");
        int64_t groups = ox_attr_int(n, "group", 1);
        ckpt_conv_opts o = {.groups = groups, .no_bias = !b};
        for (int i = 0; i < 2; i++) {
            o.stride[i] = ns ? st[i] : 1;
            o.padding[i] = np ? pads[i] : 0;
            o.dilation[i] = nd ? dil[i] : 1;
        }
        m = ckpt_nn_conv2d(c->seq, next_name(c, nm, sizeof nm), w->dims[1] * groups, w->dims[0],
                           w->dims[2], w->dims[3], &o, NULL, err);
        if (!m)
            return err->code;
        CKPT_TRY(fill(c, n, m, "weight", w));
        if (b)
            CKPT_TRY(fill(c, n, m, "bias", b));
        c->rank = 4;
        return 0;
    }
    if (!strcmp(op, "BatchNormalization")) {
        const ox_val *sc = init_of(c, n, 1), *bi = init_of(c, n, 2), *mean = init_of(c, n, 3),
                     *var = init_of(c, n, 4);
        if (!sc || !bi || !mean || !var || n->n_out > 1)
            return fail(c, n, "not an inference BatchNorm with constant statistics");
        ckpt_norm_opts o = {.eps = (double)ox_attr_float(n, "epsilon", 1e-5f)};
        m = ckpt_nn_batchnorm(c->seq, next_name(c, nm, sizeof nm), c->rank == 4 ? 2 : 1,
                              sc->numel, &o, err);
        if (!m)
            return err->code;
        CKPT_TRY(fill(c, n, m, "weight", sc));
        CKPT_TRY(fill(c, n, m, "bias", bi));
        CKPT_TRY(fill(c, n, m, "running_mean", mean));
        CKPT_TRY(fill(c, n, m, "running_var", var));
        return 0;
    }
    static const struct {
        const char *op;
        ckpt_act_kind kind;
    } acts[] = {{"Relu", CKPT_ACT_RELU},
                {"Tanh", CKPT_ACT_TANH},
                {"Sigmoid", CKPT_ACT_SIGMOID},
                {"Softmax", CKPT_ACT_SOFTMAX},
                {"LogSoftmax", CKPT_ACT_LOGSOFTMAX}};
    for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++) {
        if (strcmp(op, acts[i].op) != 0)
            continue;
        int dim = (int)ox_attr_int(n, "axis", -1);
        if ((acts[i].kind == CKPT_ACT_SOFTMAX || acts[i].kind == CKPT_ACT_LOGSOFTMAX) &&
            n->opset < 13 && !(dim == -1 || (c->rank > 0 && dim == c->rank - 1)))
            return fail(c, n, "a Softmax before opset 13 over more than the last axis");
        m = ckpt_nn_activation(c->seq, next_name(c, nm, sizeof nm), acts[i].kind, dim, err);
        return m ? 0 : err->code;
    }
    if (!strcmp(op, "MaxPool") || !strcmp(op, "AveragePool")) {
        size_t nk = 0, np = 0, ns = 0;
        const int64_t *k = ox_attr_ints(n, "kernel_shape", &nk);
        const int64_t *pads = ox_attr_ints(n, "pads", &np);
        const int64_t *st = ox_attr_ints(n, "strides", &ns);
        if (nk != 2 || (np && (np != 4 || pads[0] != pads[2] || pads[1] != pads[3])) ||
            (ns && ns != 2) || n->n_out > 1 ||
            strcmp(ox_attr_str(n, "auto_pad", "NOTSET"), "NOTSET") != 0)
            return fail(c, n, "not a 2-d pool with symmetric pads");
        ckpt_pool_opts o = {.ceil_mode = ox_attr_int(n, "ceil_mode", 0) != 0,
                            .exclude_pad = ox_attr_int(n, "count_include_pad", 0) == 0};
        for (int i = 0; i < 2; i++) {
            o.kernel[i] = k[i];
            o.stride[i] = ns ? st[i] : 1;
            o.padding[i] = np ? pads[i] : 0;
        }
        m = op[0] == 'M' ? ckpt_nn_maxpool2d(c->seq, next_name(c, nm, sizeof nm), &o, err)
                         : ckpt_nn_avgpool2d(c->seq, next_name(c, nm, sizeof nm), &o, err);
        return m ? 0 : err->code;
    }
    if (!strcmp(op, "GlobalAveragePool")) {
        m = ckpt_nn_adaptive_avgpool2d(c->seq, next_name(c, nm, sizeof nm), 1, 1, err);
        return m ? 0 : err->code;
    }
    if (!strcmp(op, "Flatten")) {
        int axis = (int)ox_attr_int(n, "axis", 1);
        if (axis != 1)
            return fail(c, n, "a Flatten at another axis than 1");
        m = ckpt_nn_flatten(c->seq, next_name(c, nm, sizeof nm), 1, -1, err);
        c->rank = 2;
        return m ? 0 : err->code;
    }
    if (!strcmp(op, "Reshape") && n->n_in == 2 && n->in[1] >= 0 &&
        c->g->values[n->in[1]].is_initializer) {
        /* torch.flatten(x, 1) as a trace writes it: Reshape to (batch, -1 or the rest) */
        const ox_val *shp = &c->g->values[n->in[1]].init;
        const ox_type *it = &c->g->values[c->g->inputs[0]].type;
        int64_t batch = it->known && it->rank > 0 ? it->dims[0] : -2;
        if (shp->dtype == OX_INT64 && shp->rank == 1 && shp->numel == 2 && c->rank > 2) {
            const int64_t *d = shp->data;
            if (d[0] == 0 || d[0] == batch) {
                m = ckpt_nn_flatten(c->seq, next_name(c, nm, sizeof nm), 1, -1, err);
                c->rank = 2;
                return m ? 0 : err->code;
            }
        }
        return fail(c, n, "a Reshape that is not a flatten from dim 1");
    }
    return fail(c, n, "no torch.nn layer for this op");
}

int ckpt_jit_save_onnx_full_model(const ckpt_onnx_model *g, const char *path, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    const ox_graph *gr = g->graph;
    if (gr->n_inputs != 1 || gr->n_outputs != 1)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                         "%s: a full-model pickle is written for graphs with one input and one "
                         "output (%d and %d)",
                         path, gr->n_inputs, gr->n_outputs);
    ckpt_module *root = ckpt_module_new("Sequential", err);
    if (!root)
        return err->code ? err->code : CKPT_E_NOMEM;
    ckpt_module *seq = ckpt_nn_sequential(root, "model", err);
    const ox_type *it = &gr->values[gr->inputs[0]].type;
    chain c = {.g = gr, .seq = seq, .rank = it->known ? it->rank : -1, .err = err};
    int cur = gr->inputs[0];
    int rc = seq ? 0 : (err->code ? err->code : CKPT_E_NOMEM);
    for (int i = 0; rc == 0 && i < gr->n_nodes; i++) {
        const ox_node *n = &gr->nodes[i];
        if (n->n_in < 1 || n->in[0] != cur || n->n_out < 1) {
            rc = fail(&c, n,
                      "the graph is not a chain (this node does not read the previous "
                      "node's output)");
            break;
        }
        if (strcmp(n->op_type, "Identity") != 0 && strcmp(n->op_type, "Dropout") != 0)
            rc = map_node(&c, n);
        cur = n->out[0];
    }
    if (rc == 0 && cur != gr->outputs[0])
        rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                       "%s: the chain does not end at the graph's output", path);
    if (rc == 0) {
        ckpt_module_train(seq, false); /* an inference graph: eval mode, as exported */
        rc = ckpt_jit_save_full_model(seq, path, err);
    }
    ckpt_module_free(root);
    return rc;
}
