/* tools/ckpt/cli_onnx.c - ONNX models in the ckpt command (cli_onnx.h). */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/scan.h"
#include "cli.h"
#include "cli_onnx.h"
#include "onnx/onnx_internal.h"

bool cli_onnx_file(const char *path)
{
    char why[320];
    const char *kind = ckpt_detect_file(path, why, sizeof(why), NULL);
    return kind && strcmp(kind, "onnx") == 0;
}

const char *cli_onnx_dtype_name(int elem_type)
{
    return elem_type == 0 ? "?" : ox_dtype_name(elem_type);
}

/* ------------------------------------------------------------ state dict */

/* How the Gemm nodes of the main graph read initializer `vi`: bit 0 with transB=0,
 * bit 1 with transB=1. */
static int gemm_use(const ox_graph *g, int vi)
{
    int use = 0;
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *n = &g->nodes[i];
        if (strcmp(n->op_type, "Gemm") != 0 || n->domain[0] || n->n_in < 2 || n->in[1] != vi)
            continue;
        use |= ox_attr_int(n, "transB", 0) ? 2 : 1;
    }
    return use;
}

ckpt_doc *cli_onnx_doc(const char *path, bool torch_layout, size_t *transposed, ckpt_error *err)
{
    if (transposed)
        *transposed = 0;
    ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, err);
    if (!m)
        return NULL;
    ckpt_doc *doc = ckpt_doc_new(NULL, err);
    ckpt_obj *root = doc ? ckpt_dict_new(doc, CKPT_DICT_ORDERED) : NULL;
    if (!root) {
        if (doc && err) {
            err->code = CKPT_E_NOMEM;
            snprintf(err->msg, sizeof(err->msg), "out of memory");
        }
        ckpt_doc_free(doc);
        ckpt_onnx_model_free(m);
        return NULL;
    }
    const ox_graph *g = m->graph;
    void *tmp = NULL;
    for (int i = 0; i < g->n_initializers; i++) {
        const ox_value *v = &g->values[g->initializers[i]];
        const ox_val *t = &v->init;
        int dt = ox_dtype_to_ckpt(t->dtype);
        if (dt == CKPT_DTYPE_UNKNOWN) {
            fprintf(stderr,
                    "ckpt: note: initializer '%s' is a %s tensor, which torch has no "
                    "dtype for: left out\n",
                    v->name, ox_dtype_name(t->dtype));
            continue;
        }
        int64_t dims[OX_MAX_RANK];
        memcpy(dims, t->dims, sizeof(dims));
        const void *data = t->data;
        if (torch_layout && t->rank == 2 && gemm_use(g, g->initializers[i]) == 1) {
            /* Gemm B with transB=0 is (K, N) = (in, out): torch's Linear keeps (out, in) */
            size_t es = ox_dtype_size(t->dtype), r = (size_t)t->dims[0], c = (size_t)t->dims[1];
            free(tmp);
            tmp = malloc(r * c * es + 1);
            if (!tmp) {
                err->code = CKPT_E_NOMEM;
                snprintf(err->msg, sizeof(err->msg), "out of memory transposing '%s'", v->name);
                goto fail;
            }
            for (size_t a = 0; a < r; a++)
                for (size_t b = 0; b < c; b++)
                    memcpy((char *)tmp + (b * r + a) * es, (const char *)data + (a * c + b) * es,
                           es);
            dims[0] = t->dims[1];
            dims[1] = t->dims[0];
            data = tmp;
            if (transposed)
                ++*transposed;
        }
        ckpt_obj *x = ckpt_tensor_new_copy(doc, dt, t->rank, dims, data, err);
        if (!x || ckpt_dict_set_str(doc, root, v->name, x, err) < 0)
            goto fail;
    }
    free(tmp);
    ckpt_doc_set_root(doc, root);
    ckpt_onnx_model_free(m);
    return doc;
fail:
    if (err && !err->file[0])
        snprintf(err->file, sizeof(err->file), "%.250s", path);
    free(tmp);
    ckpt_doc_free(doc);
    ckpt_onnx_model_free(m);
    return NULL;
}

/* ------------------------------------------------------------ op histogram */

typedef struct op_count {
    char key[160]; /* "Conv" or "com.microsoft:FusedConv" */
    const char *domain, *op_type;
    int opset;
    size_t n;
    size_t missing;      /* nodes without a kernel (none, or its prepare refused them) */
    bool kernel;         /* every node of this op has one */
    const char *example; /* a node of this op (one without a kernel when there is one) */
    const char *why;     /* the prepare's reason, when it refused a node */
} op_count;

typedef struct hist {
    op_count *v;
    size_t n, cap;
    size_t nodes, subgraphs;
} hist;

static void hist_add(hist *h, const ox_node *node)
{
    char key[160];
    snprintf(key, sizeof(key), "%s%s%s", node->domain, node->domain[0] ? ":" : "", node->op_type);
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->v[i].key, key) == 0 && h->v[i].opset == node->opset) {
            h->v[i].n++;
            if (!node->op) {
                if (h->v[i].kernel) {
                    h->v[i].example = node->name;
                    h->v[i].why = node->prep_err;
                }
                h->v[i].missing++;
                h->v[i].kernel = false;
            }
            return;
        }
    if (h->n == h->cap) {
        size_t nc = h->cap ? 2 * h->cap : 32;
        op_count *nv = realloc(h->v, nc * sizeof(*nv));
        if (!nv)
            return;
        h->v = nv;
        h->cap = nc;
    }
    op_count *c = &h->v[h->n++];
    memset(c, 0, sizeof(*c));
    snprintf(c->key, sizeof(c->key), "%s", key);
    c->domain = node->domain;
    c->op_type = node->op_type;
    c->opset = node->opset;
    c->n = 1;
    c->kernel = node->op != NULL; /* bound when the model was read */
    c->missing = c->kernel ? 0 : 1;
    c->example = node->name;
    c->why = node->prep_err;
}

static void hist_walk(hist *h, const ox_graph *g)
{
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *n = &g->nodes[i];
        h->nodes++;
        hist_add(h, n);
        for (int a = 0; a < n->n_attrs; a++) {
            const ox_attr *at = &n->attrs[a];
            if (at->g) {
                h->subgraphs++;
                hist_walk(h, at->g);
            }
            for (size_t k = 0; at->graphs && k < at->n; k++) {
                h->subgraphs++;
                hist_walk(h, at->graphs[k]);
            }
        }
    }
}

static int hist_cmp(const void *a, const void *b)
{
    const op_count *x = a, *y = b;
    if (x->n != y->n)
        return x->n < y->n ? 1 : -1;
    return strcmp(x->key, y->key);
}

/* ------------------------------------------------------------ show */

static void type_text(const ox_type *t, char *buf, size_t n)
{
    size_t o = 0;
    if (!t->known) {
        snprintf(buf, n, "(no type)");
        return;
    }
    const char *kind = t->kind == OX_KIND_SEQUENCE ? "sequence of "
                       : t->kind == OX_KIND_NONE   ? "optional "
                                                   : "";
    o += (size_t)snprintf(buf + o, n - o, "%s%s", kind, cli_onnx_dtype_name(t->dtype));
    if (t->rank < 0) {
        snprintf(buf + o, n - o, " (rank unknown)");
        return;
    }
    o += (size_t)snprintf(buf + o, n - o, " [");
    for (int i = 0; i < t->rank && o < n; i++) {
        if (t->dim_params[i])
            o += (size_t)snprintf(buf + o, n - o, "%s%s", i ? ", " : "", t->dim_params[i]);
        else if (t->dims[i] < 0)
            o += (size_t)snprintf(buf + o, n - o, "%s?", i ? ", " : "");
        else
            o += (size_t)snprintf(buf + o, n - o, "%s%" PRId64, i ? ", " : "", t->dims[i]);
    }
    if (o < n)
        snprintf(buf + o, n - o, "]");
}

static cJSON *type_json(const ox_value *v)
{
    const ox_type *t = &v->type;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", v->name);
    cJSON_AddStringToObject(o, "kind",
                            !t->known                     ? "unknown"
                            : t->kind == OX_KIND_SEQUENCE ? "sequence"
                            : t->kind == OX_KIND_NONE     ? "optional"
                                                          : "tensor");
    cJSON_AddStringToObject(o, "dtype", cli_onnx_dtype_name(t->dtype));
    cJSON_AddNumberToObject(o, "elem_type", t->dtype);
    if (t->known && t->rank >= 0) {
        cJSON *s = cJSON_AddArrayToObject(o, "shape");
        for (int i = 0; i < t->rank; i++) {
            if (t->dim_params[i])
                cJSON_AddItemToArray(s, cJSON_CreateString(t->dim_params[i]));
            else if (t->dims[i] < 0)
                cJSON_AddItemToArray(s, cJSON_CreateNull());
            else
                cJSON_AddItemToArray(s, cJSON_CreateNumber((double)t->dims[i]));
        }
    } else {
        cJSON_AddNullToObject(o, "shape");
    }
    return o;
}

int cli_onnx_show(const char *path, bool json)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, &err);
    if (!m) {
        cli_print_error("show", &err);
        return EXIT_ERROR;
    }
    const ox_graph *g = m->graph;
    hist h;
    memset(&h, 0, sizeof(h));
    hist_walk(&h, g);
    qsort(h.v, h.n, sizeof(*h.v), hist_cmp);
    uint64_t ibytes = 0;
    for (int i = 0; i < g->n_initializers; i++)
        ibytes += ox_val_nbytes(&g->values[g->initializers[i]].init);
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", path);
        cJSON_AddStringToObject(o, "format", "onnx");
        cJSON_AddNumberToObject(o, "ir_version", (double)m->ir_version);
        cJSON_AddStringToObject(o, "producer_name", m->producer_name);
        cJSON_AddStringToObject(o, "producer_version", m->producer_version);
        cJSON_AddStringToObject(o, "domain", m->domain);
        cJSON_AddNumberToObject(o, "model_version", (double)m->model_version);
        cJSON_AddStringToObject(o, "graph", g->name);
        cJSON *ops = cJSON_AddArrayToObject(o, "opset_import");
        for (int i = 0; i < m->n_opsets; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "domain", m->opsets[i].domain);
            cJSON_AddNumberToObject(x, "version", (double)m->opsets[i].version);
            cJSON_AddItemToArray(ops, x);
        }
        cJSON *in = cJSON_AddArrayToObject(o, "inputs");
        for (int i = 0; i < g->n_inputs; i++)
            cJSON_AddItemToArray(in, type_json(&g->values[g->inputs[i]]));
        cJSON *out = cJSON_AddArrayToObject(o, "outputs");
        for (int i = 0; i < g->n_outputs; i++)
            cJSON_AddItemToArray(out, type_json(&g->values[g->outputs[i]]));
        cJSON_AddNumberToObject(o, "initializers", g->n_initializers);
        cJSON_AddNumberToObject(o, "initializer_bytes", (double)ibytes);
        cJSON_AddNumberToObject(o, "nodes", (double)g->n_nodes);
        cJSON_AddNumberToObject(o, "nodes_with_subgraphs", (double)h.nodes);
        cJSON_AddNumberToObject(o, "subgraphs", (double)h.subgraphs);
        cJSON *hi = cJSON_AddObjectToObject(o, "ops");
        for (size_t i = 0; i < h.n; i++) {
            cJSON *prev = cJSON_GetObjectItemCaseSensitive(hi, h.v[i].key);
            if (prev)
                cJSON_SetNumberValue(prev, prev->valuedouble + (double)h.v[i].n);
            else
                cJSON_AddNumberToObject(hi, h.v[i].key, (double)h.v[i].n);
        }
        if (m->n_meta) {
            cJSON *md = cJSON_AddObjectToObject(o, "metadata");
            for (int i = 0; i < m->n_meta; i++)
                cJSON_AddStringToObject(md, m->meta_keys[i], m->meta_values[i]);
        }
        char *s = cJSON_Print(o);
        if (s)
            printf("%s\n", s);
        cJSON_free(s);
        cJSON_Delete(o);
    } else {
        char buf[1024];
        printf("%s: ONNX model, IR version %" PRId64 "\n", path, m->ir_version);
        printf("  producer: %s%s%s\n", m->producer_name[0] ? m->producer_name : "(none)",
               m->producer_version[0] ? " " : "", m->producer_version);
        if (m->domain[0] || m->model_version)
            printf("  domain: %s, model version %" PRId64 "\n", m->domain[0] ? m->domain : "-",
                   m->model_version);
        printf("  opset import:");
        for (int i = 0; i < m->n_opsets; i++)
            printf("%s %s %" PRId64, i ? "," : "",
                   m->opsets[i].domain[0] ? m->opsets[i].domain : "ai.onnx",
                   m->opsets[i].version);
        printf("\n  graph '%s': %d nodes", g->name, g->n_nodes);
        if (h.subgraphs)
            printf(" (%zu with %zu subgraphs)", h.nodes, h.subgraphs);
        printf(", %d initializers (%" PRIu64 " bytes)\n", g->n_initializers, ibytes);
        printf("  inputs:\n");
        for (int i = 0; i < g->n_inputs; i++) {
            type_text(&g->values[g->inputs[i]].type, buf, sizeof(buf));
            printf("    %-32s %s\n", g->values[g->inputs[i]].name, buf);
        }
        printf("  outputs:\n");
        for (int i = 0; i < g->n_outputs; i++) {
            type_text(&g->values[g->outputs[i]].type, buf, sizeof(buf));
            printf("    %-32s %s\n", g->values[g->outputs[i]].name, buf);
        }
        for (int i = 0; i < m->n_meta; i++)
            printf("  metadata %s = %.200s\n", m->meta_keys[i], m->meta_values[i]);
        printf("  ops:\n");
        for (size_t i = 0; i < h.n; i++)
            printf("    %6zu  %s (opset %d)%s\n", h.v[i].n, h.v[i].key, h.v[i].opset,
                   h.v[i].kernel ? "" : "  [no kernel]");
    }
    free(h.v);
    ckpt_onnx_model_free(m);
    return EXIT_OK;
}

/* ------------------------------------------------------------ verify */

int cli_onnx_verify(const char *path, bool json)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    char why[320];
    ckpt_detect_file(path, why, sizeof(why), NULL);
    ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, &err);
    hist h;
    memset(&h, 0, sizeof(h));
    size_t missing = 0;
    uint64_t ibytes = 0;
    if (m) {
        hist_walk(&h, m->graph);
        for (size_t i = 0; i < h.n; i++)
            missing += h.v[i].missing;
        for (int i = 0; i < m->graph->n_initializers; i++)
            ibytes += ox_val_nbytes(&m->graph->values[m->graph->initializers[i]].init);
    }
    ckpt_scan_report *r = NULL;
    ckpt_error serr;
    if (ckpt_scan_file(path, NULL, &r, &serr) < 0) {
        cli_print_error("verify", &serr);
        free(h.v);
        ckpt_onnx_model_free(m);
        return EXIT_ERROR;
    }
    bool finding = r->verdict == CKPT_SCAN_UNSAFE;
    int code = finding ? EXIT_FINDING : m ? EXIT_OK : EXIT_ERROR;
    const char *verdict = finding ? "unsafe" : m ? "ok" : "corrupt";
    char detail[400] = "", ebuf[1200];
    if (m)
        snprintf(detail, sizeof(detail),
                 "the model parses: %d nodes in the main graph (%zu with %zu subgraphs), "
                 "%d initializers (%" PRIu64 " bytes), every name defined, no cycle; "
                 "%zu node%s without a kernel",
                 m->graph->n_nodes, h.nodes, h.subgraphs, m->graph->n_initializers, ibytes,
                 missing, missing == 1 ? "" : "s");
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", path);
        cJSON_AddStringToObject(o, "format", "onnx");
        cJSON_AddStringToObject(o, "description", why);
        cJSON_AddStringToObject(o, "structure", m ? "ok" : "corrupt");
        if (m) {
            cJSON_AddStringToObject(o, "checked", detail);
            cJSON_AddNumberToObject(o, "nodes", (double)h.nodes);
            cJSON_AddNumberToObject(o, "tensors", m->graph->n_initializers);
            cJSON_AddNumberToObject(o, "tensor_bytes", (double)ibytes);
        } else {
            cJSON_AddStringToObject(o, "error", ckpt_error_format(&err, ebuf, sizeof(ebuf)));
        }
        cJSON *un = cJSON_AddArrayToObject(o, "unsupported_ops");
        for (size_t i = 0; i < h.n; i++) {
            if (h.v[i].kernel)
                continue;
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "op_type", h.v[i].op_type);
            cJSON_AddStringToObject(x, "domain", h.v[i].domain[0] ? h.v[i].domain : "ai.onnx");
            cJSON_AddNumberToObject(x, "opset", h.v[i].opset);
            cJSON_AddNumberToObject(x, "nodes", (double)h.v[i].missing);
            cJSON_AddStringToObject(x, "example_node", h.v[i].example);
            if (h.v[i].why)
                cJSON_AddStringToObject(x, "reason", h.v[i].why);
            cJSON_AddItemToArray(un, x);
        }
        cJSON *s = cJSON_AddObjectToObject(o, "scan");
        cJSON_AddStringToObject(s, "format", r->format);
        cJSON_AddStringToObject(s, "verdict",
                                r->verdict == CKPT_SCAN_CLEAN    ? "clean"
                                : r->verdict == CKPT_SCAN_UNSAFE ? "unsafe"
                                                                 : "unreadable");
        cJSON *a = cJSON_AddArrayToObject(s, "findings");
        for (size_t i = 0; i < r->count; i++) {
            const ckpt_scan_finding *f = &r->findings[i];
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "stream", f->stream);
            char gl[260];
            snprintf(gl, sizeof(gl), "%s.%s", f->module, f->name);
            cJSON_AddStringToObject(x, "global", gl);
            cJSON_AddStringToObject(x, "class", ckpt_scan_class_name(f->klass));
            cJSON_AddStringToObject(x, "note", f->note);
            cJSON_AddItemToArray(a, x);
        }
        cJSON_AddStringToObject(o, "verdict", verdict);
        char *txt = cJSON_Print(o);
        if (txt)
            printf("%s\n", txt);
        cJSON_free(txt);
        cJSON_Delete(o);
    } else {
        printf("%s: %s: onnx\n", path, verdict);
        printf("  format: %s\n", why);
        if (m)
            printf("  structure: ok: %s\n", detail);
        else
            printf("  structure: corrupt: %s\n", ckpt_error_format(&err, ebuf, sizeof(ebuf)));
        for (size_t i = 0; i < h.n; i++)
            if (!h.v[i].kernel)
                printf("  warning: no kernel for %s (domain %s, opset %d): %zu node%s, e.g. "
                       "'%s'%s%s\n",
                       h.v[i].op_type, h.v[i].domain[0] ? h.v[i].domain : "ai.onnx", h.v[i].opset,
                       h.v[i].missing, h.v[i].missing == 1 ? "" : "s", h.v[i].example,
                       h.v[i].why ? ": " : "", h.v[i].why ? h.v[i].why : "");
        printf("  scan: %s\n", r->verdict == CKPT_SCAN_CLEAN    ? "clean"
                               : r->verdict == CKPT_SCAN_UNSAFE ? "unsafe"
                                                                : "unreadable");
        for (size_t i = 0; i < r->count; i++) {
            const ckpt_scan_finding *f = &r->findings[i];
            printf("    %-9s %s %s.%s%s%s\n", ckpt_scan_class_name(f->klass), f->stream,
                   f->module, f->name, f->note[0] ? " - " : "", f->note);
        }
    }
    if (!m && !json)
        cli_print_error("verify", &err);
    ckpt_scan_report_free(r);
    free(h.v);
    ckpt_onnx_model_free(m);
    return code;
}
