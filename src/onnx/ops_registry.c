/* src/onnx/ops_registry.c - (domain, op_type, opset) -> kernel. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#include "onnx/onnx_internal.h"

static const ox_op *const tables[] = {
    ox_ops_elementwise, ox_ops_shape,   ox_ops_reduce,   ox_ops_nn,   ox_ops_rnn,   ox_ops_image,
    ox_ops_signal,      ox_ops_control, ox_ops_sequence, ox_ops_misc, ox_ops_newer, ox_ops_ml,
};

const ox_op *ox_op_find(const char *domain, const char *op_type, int opset)
{
    if (!strcmp(domain, "ai.onnx"))
        domain = "";
    for (size_t t = 0; t < sizeof tables / sizeof tables[0]; t++)
        for (const ox_op *op = tables[t]; op->op_type; op++) {
            if (strcmp(op->op_type, op_type) || strcmp(op->domain, domain))
                continue;
            if (opset < op->min_opset || (op->max_opset && opset > op->max_opset))
                continue;
            return op;
        }
    return NULL;
}

int ox_bind_kernels(ox_graph *g, ckpt_error *err)
{
    for (int i = 0; i < g->n_nodes; i++) {
        ox_node *n = &g->nodes[i];
        n->op = ox_op_find(n->domain, n->op_type, n->opset);
        if (n->op && n->op->prepare) {
            ckpt_error e;
            ckpt_error_clear(&e);
            if (n->op->prepare(n, &e) < 0) {
                n->op = NULL;
                n->prep_err = strdup(e.msg[0] ? e.msg : "invalid attributes");
                n->prep_code = e.code ? e.code : CKPT_E_FORMAT;
                if (!n->prep_err)
                    return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            }
        }
        for (int a = 0; a < n->n_attrs; a++) {
            ox_attr *at = &n->attrs[a];
            if (at->g)
                CKPT_TRY(ox_bind_kernels(at->g, err));
            for (size_t k = 0; at->graphs && k < at->n; k++)
                CKPT_TRY(ox_bind_kernels(at->graphs[k], err));
        }
    }
    return 0;
}
