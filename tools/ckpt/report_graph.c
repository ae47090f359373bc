/* tools/ckpt/report_graph.c - `ckpt report` of an ONNX model: summary, op histogram,
 * node list (subgraphs nested) and the layered diagram (report_svg.c), from the model
 * the library reads (the same one `ckpt show` describes). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli_onnx.h"
#include "onnx/onnx_internal.h"
#include "report.h"
#include "report_svg.h"

#define GRAPH_MAX_DEPTH 16

typedef struct opn {
    char key[200];
    size_t n;
} opn;

typedef struct hist {
    opn *v;
    size_t n, cap;
    size_t nodes, subgraphs;
} hist;

static void hist_add(hist *h, const ox_node *node)
{
    char key[200];
    snprintf(key, sizeof(key), "%s%s%s", node->domain, node->domain[0] ? ":" : "", node->op_type);
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->v[i].key, key) == 0) {
            h->v[i].n++;
            return;
        }
    if (h->n == h->cap) {
        size_t nc = h->cap ? 2 * h->cap : 32;
        opn *nv = realloc(h->v, nc * sizeof(*nv));
        if (!nv)
            return;
        h->v = nv;
        h->cap = nc;
    }
    snprintf(h->v[h->n].key, sizeof(h->v[h->n].key), "%s", key);
    h->v[h->n++].n = 1;
}

static void hist_walk(hist *h, const ox_graph *g, int depth)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *n = &g->nodes[i];
        h->nodes++;
        hist_add(h, n);
        if (depth >= GRAPH_MAX_DEPTH)
            continue;
        for (int a = 0; a < n->n_attrs; a++) {
            const ox_attr *at = &n->attrs[a];
            if (at->g) {
                h->subgraphs++;
                hist_walk(h, at->g, depth + 1);
            }
            for (size_t k = 0; at->graphs && k < at->n; k++) {
                h->subgraphs++;
                hist_walk(h, at->graphs[k], depth + 1);
            }
        }
    }
}

static int hist_cmp(const void *a, const void *b)
{
    const opn *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->key, y->key);
}

static void type_html(rh_page *p, const ox_type *t)
{
    if (!t->known) {
        rh_raw(p, "(no type)");
        return;
    }
    rh_raw(p, t->kind == OX_KIND_SEQUENCE ? "sequence of "
              : t->kind == OX_KIND_NONE   ? "optional "
                                          : "");
    rh_esc(p, cli_onnx_dtype_name(t->dtype));
    if (t->rank < 0) {
        rh_raw(p, " (rank unknown)");
        return;
    }
    rh_raw(p, " [");
    for (int i = 0; i < t->rank && i < OX_MAX_RANK; i++) {
        rh_raw(p, i ? ", " : "");
        if (t->dim_params[i])
            rh_esc(p, t->dim_params[i]);
        else if (t->dims[i] < 0)
            rh_raw(p, "?");
        else
            rh_fmt(p, "%" PRId64, t->dims[i]);
    }
    rh_raw(p, "]");
}

static void values_table(rh_page *p, const ox_graph *g, const int *idx, int n, const char *pfx,
                         const char *id)
{
    rh_fmt(p, "<table id=\"%s%s\"><thead><tr><th>name</th><th>type</th></tr></thead><tbody>\n",
           pfx, id);
    for (int i = 0; i < n; i++) {
        const ox_value *v = &g->values[idx[i]];
        rh_raw(p, "<tr><td class=\"k\">");
        rh_esc(p, v->name);
        rh_raw(p, "</td><td>");
        type_html(p, &v->type);
        rh_raw(p, "</td></tr>\n");
    }
    rh_raw(p, "</tbody></table>\n");
}

static const char *vname(const ox_graph *g, int vi)
{
    return vi >= 0 && vi < g->n_values ? g->values[vi].name : "";
}

/* An attribute's value, short: ints and floats listed (at most 16), strings escaped,
 * tensors by shape, graphs by name. */
static void attr_html(rh_page *p, const ox_attr *a)
{
    rh_raw(p, "<code>");
    rh_esc(p, a->name);
    rh_raw(p, "</code>=");
    size_t shown = a->n < 16 ? a->n : 16;
    switch (a->type) {
    case OX_ATTR_FLOAT: rh_fmt(p, "%g", (double)a->f); break;
    case OX_ATTR_INT: rh_fmt(p, "%" PRId64, a->i); break;
    case OX_ATTR_STRING:
        rh_raw(p, "&quot;");
        rh_esc_n(p, a->s, a->s_len, 64);
        rh_raw(p, "&quot;");
        break;
    case OX_ATTR_FLOATS:
    case OX_ATTR_INTS:
    case OX_ATTR_STRINGS:
        rh_raw(p, "[");
        for (size_t i = 0; i < shown; i++) {
            rh_raw(p, i ? ", " : "");
            if (a->type == OX_ATTR_FLOATS)
                rh_fmt(p, "%g", (double)a->floats[i]);
            else if (a->type == OX_ATTR_INTS)
                rh_fmt(p, "%" PRId64, a->ints[i]);
            else
                rh_esc_n(p, a->strings[i], a->string_lens ? a->string_lens[i] : 0, 32);
        }
        rh_raw(p, shown < a->n ? ", \xe2\x80\xa6]" : "]");
        break;
    case OX_ATTR_TENSOR:
        if (a->t) {
            rh_esc(p, cli_onnx_dtype_name(a->t->dtype));
            rh_shape(p, a->t->dims, a->t->rank);
        } else {
            rh_raw(p, "tensor");
        }
        break;
    case OX_ATTR_GRAPH: rh_raw(p, "graph"); break;
    case OX_ATTR_GRAPHS: rh_fmt(p, "%zu graphs", a->n); break;
    default: rh_fmt(p, "(type %d)", a->type); break;
    }
}

typedef struct nl_ctx {
    size_t left, total;
    const char *pfx;  /* of element ids */
    size_t *main_row; /* row number of each main-graph node shown (NULL: no links) */
} nl_ctx;

static void node_list(rh_page *p, const ox_graph *g, int depth, nl_ctx *c);

static void node_row(rh_page *p, const ox_graph *g, int i, int depth, nl_ctx *c)
{
    const ox_node *n = &g->nodes[i];
    rh_fmt(p, "<tr id=\"%sn%zu\"><td class=\"n\">%d</td><td><code>", c->pfx, c->total, i);
    if (depth == 0 && c->main_row)
        c->main_row[i] = c->total;
    c->total++;
    if (n->domain[0]) {
        rh_esc(p, n->domain);
        rh_raw(p, ":");
    }
    rh_esc(p, n->op_type);
    rh_raw(p, "</code></td><td class=\"k\">");
    rh_esc(p, n->name);
    rh_raw(p, "</td><td class=\"k\">");
    for (int k = 0; k < n->n_in; k++) {
        rh_raw(p, k ? ", " : "");
        /* a main-graph value made by an earlier node links to that node's row */
        int vi = n->in[k];
        int pr = depth == 0 && vi >= 0 && vi < g->n_values ? g->values[vi].producer : -1;
        bool link = c->main_row && pr >= 0 && pr < i;
        if (link)
            rh_fmt(p, "<a href=\"#%sn%zu\">", c->pfx, c->main_row[pr]);
        rh_esc(p, vname(g, vi));
        if (link)
            rh_raw(p, "</a>");
    }
    rh_raw(p, "</td><td class=\"k\">");
    for (int k = 0; k < n->n_out; k++) {
        rh_raw(p, k ? ", " : "");
        rh_esc(p, vname(g, n->out[k]));
    }
    rh_raw(p, "</td><td>");
    for (int a = 0; a < n->n_attrs && a < 24; a++) {
        if (n->attrs[a].type == OX_ATTR_GRAPH || n->attrs[a].type == OX_ATTR_GRAPHS) {
            rh_raw(p, a ? "; " : "");
            rh_esc(p, n->attrs[a].name);
            rh_raw(p, ": subgraph below");
            continue;
        }
        rh_raw(p, a ? "; " : "");
        attr_html(p, &n->attrs[a]);
    }
    if (n->n_attrs > 24)
        rh_fmt(p, "; \xe2\x80\xa6 (%d attributes)", n->n_attrs);
    rh_raw(p, "</td></tr>\n");
    if (depth >= GRAPH_MAX_DEPTH)
        return;
    for (int a = 0; a < n->n_attrs; a++) {
        const ox_attr *at = &n->attrs[a];
        size_t ng = at->g ? 1 : at->graphs ? at->n : 0;
        for (size_t k = 0; k < ng; k++) {
            const ox_graph *sg = at->g ? at->g : at->graphs[k];
            rh_raw(p, "<tr><td></td><td colspan=\"5\"><details><summary>subgraph <code>");
            rh_esc(p, at->name);
            rh_raw(p, "</code> (");
            rh_esc(p, sg->name);
            rh_fmt(p, ", %d nodes)</summary>\n", sg->n_nodes);
            node_list(p, sg, depth + 1, c);
            rh_raw(p, "</details></td></tr>\n");
        }
    }
}

static void node_list(rh_page *p, const ox_graph *g, int depth, nl_ctx *c)
{
    rh_raw(p, "<table class=\"nodes\"><thead><tr><th>#</th><th>op</th><th>name</th>"
              "<th>inputs</th><th>outputs</th><th>attributes</th></tr></thead><tbody>\n");
    for (int i = 0; i < g->n_nodes && c->left; i++, c->left--)
        node_row(p, g, i, depth, c);
    rh_raw(p, "</tbody></table>\n");
}

/* Summary, inputs/outputs, histogram, diagram and node list of `m`; `path` NULL for a
 * graph traced from a model (no file rows); element ids start with `pfx`. */
static void graph_body(rh_page *p, const ckpt_onnx_model *m, const char *path,
                       const report_opts *o, const char *pfx)
{
    const ox_graph *g = m->graph;
    uint64_t ibytes = 0, inumel = 0;
    for (int i = 0; i < g->n_initializers; i++) {
        const ox_val *t = &g->values[g->initializers[i]].init;
        ibytes += ox_val_nbytes(t);
        inumel += (uint64_t)(t->numel > 0 ? t->numel : 0);
    }
    hist h;
    memset(&h, 0, sizeof(h));
    hist_walk(&h, g, 0);
    qsort(h.v, h.n, sizeof(*h.v), hist_cmp);

    rh_fmt(p, "<h2 id=\"%ssummary\">%s</h2>\n<table id=\"%ssummary-table\"><tbody>\n", pfx,
           path ? "Summary" : "Traced graph", pfx);
    if (path) {
        rh_raw(p, "<tr><th>file</th><td><code>");
        rh_esc(p, report_basename(path));
        rh_raw(p, "</code></td></tr>\n<tr><th>format</th><td>ONNX model</td></tr>\n");
        rh_raw(p, "<tr><th>file size</th><td>");
        rh_bytes(p, report_file_size(path));
        rh_raw(p, "</td></tr>\n");
    }
    rh_fmt(p, "<tr><th>IR version</th><td>%" PRId64 "</td></tr>\n", m->ir_version);
    rh_raw(p, "<tr><th>opset import</th><td>");
    for (int i = 0; i < m->n_opsets; i++) {
        rh_raw(p, i ? ", " : "");
        rh_esc(p, m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx");
        rh_fmt(p, " %" PRId64, m->opsets[i].version);
    }
    rh_raw(p, "</td></tr>\n<tr><th>producer</th><td>");
    rh_esc(p, m->producer_name[0] ? m->producer_name : "(none)");
    rh_raw(p, " ");
    rh_esc(p, m->producer_version);
    rh_raw(p, "</td></tr>\n<tr><th>graph</th><td><code>");
    rh_esc(p, g->name);
    rh_fmt(p,
           "</code></td></tr>\n<tr><th>nodes</th><td id=\"%sn-nodes\">%d (%zu with subgraphs, "
           "%zu subgraphs)</td></tr>\n",
           pfx, g->n_nodes, h.nodes, h.subgraphs);
    rh_fmt(p, "<tr><th>initializers</th><td id=\"%sn-init\">%d tensors, %" PRIu64 " elements, ",
           pfx, g->n_initializers, inumel);
    rh_bytes(p, ibytes);
    rh_raw(p, "</td></tr>\n");
    for (int i = 0; i < m->n_meta; i++) {
        rh_raw(p, "<tr><th>metadata <code>");
        rh_esc(p, m->meta_keys[i]);
        rh_raw(p, "</code></th><td>");
        rh_esc(p, m->meta_values[i]);
        rh_raw(p, "</td></tr>\n");
    }
    rh_raw(p, "</tbody></table>\n<h3>Inputs</h3>\n");
    values_table(p, g, g->inputs, g->n_inputs, pfx, "inputs");
    rh_raw(p, "<h3>Outputs</h3>\n");
    values_table(p, g, g->outputs, g->n_outputs, pfx, "outputs");

    rh_fmt(p,
           "<h2 id=\"%sops\">Op histogram</h2>\n<table class=\"sort\" id=\"%shist\"><thead>"
           "<tr><th>op</th><th>count</th></tr></thead><tbody>\n",
           pfx, pfx);
    for (size_t i = 0; i < h.n; i++) {
        rh_raw(p, "<tr><td><code>");
        rh_esc(p, h.v[i].key);
        rh_fmt(p, "</code></td><td class=\"n\" data-v=\"%zu\">%zu</td></tr>\n", h.v[i].n,
               h.v[i].n);
    }
    rh_raw(p, "</tbody></table>\n");

    rh_fmt(p, "<h2 id=\"%sdiagram\">Diagram</h2>\n", pfx);
    report_svg(p, g, o->max_svg, pfx);

    rh_fmt(p, "<h2 id=\"%snodes\">Nodes</h2>\n", pfx);
    nl_ctx c = {o->max_rows, 0, pfx, calloc((size_t)g->n_nodes + 1, sizeof(size_t))};
    if ((size_t)h.nodes > o->max_rows)
        rh_fmt(p,
               "<p class=\"bad\" id=\"%snodes-capped\">The list shows the first %zu of %zu "
               "nodes (--max-rows).</p>\n",
               pfx, o->max_rows, h.nodes);
    node_list(p, g, 0, &c);
    free(c.main_row);
    free(h.v);
}

int report_onnx(rh_page *p, const char *path, const report_opts *o, ckpt_error *err)
{
    ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, err);
    if (!m)
        return -1;
    graph_body(p, m, path, o, "");
    ckpt_onnx_model_free(m);
    return report_weights(p, path, o, err);
}

void report_graph_traced(rh_page *p, const ckpt_onnx_model *m, const report_opts *o)
{
    graph_body(p, m, NULL, o, "g-");
}
