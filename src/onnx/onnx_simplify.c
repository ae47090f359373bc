/* src/onnx/onnx_simplify.c - onnx-simplifier's core on ckpt's own runtime
 * (see ckpt_onnx_simplify in ckpt/onnx.h).
 *
 * Shape inference and constant folding come from running the model: the
 * session runs it on zero inputs of the declared shapes, twice when an input
 * has a dynamic dim (sizes 2 and 3), and records every value.  A dim that
 * differs between the runs is dynamic.  A node is constant when every input
 * is (initializers that are not graph inputs, Constant nodes, folded
 * outputs), or when it is a Shape/Size of a value whose shape is the same in
 * both runs; its outputs then become initializers holding the recorded
 * values.  When the model cannot run (an op without a kernel, an input of
 * unknown rank) only Constant nodes fold and the structural passes still
 * apply: Identity/Dropout removal, BatchNorm folded into Conv/ConvTranspose/
 * Gemm, MatMul+Add -> Gemm on 2-D inputs, dead nodes and unused initializers
 * removed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/onnx_build.h"
#include "onnx/onnx_internal.h"

/* ------------------------------------------------------------ helpers */

static bool is_graph_output(const ob_model *b, const char *name)
{
    for (int i = 0; i < b->n_outputs; i++)
        if (!strcmp(b->outputs[i].name, name))
            return true;
    return false;
}

static bool is_graph_input(const ob_model *b, const char *name)
{
    for (int i = 0; i < b->n_inputs; i++)
        if (!strcmp(b->inputs[i].name, name))
            return true;
    return false;
}

/* names a subgraph of node n reads from the enclosing graph */
static bool subgraph_reads(const ox_graph *g, const char *name)
{
    if (!g)
        return false;
    for (int v = 0; v < g->n_values; v++)
        if (g->values[v].outer >= 0 && !strcmp(g->values[v].name, name))
            return true;
    return false;
}

static bool node_has_graphs(const ob_node *n)
{
    for (int k = 0; k < n->n_attrs; k++)
        if (n->attrs[k].g || n->attrs[k].graphs)
            return true;
    return false;
}

/* how many live nodes (and graph outputs, and subgraphs) read `name` */
static int uses(const ob_model *b, const char *name)
{
    int c = 0;
    for (int i = 0; i < b->n_nodes; i++) {
        const ob_node *n = &b->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_in; k++)
            c += !strcmp(n->in[k], name);
        for (int k = 0; k < n->n_attrs; k++) {
            const ox_attr *a = &n->attrs[k];
            if (a->g)
                c += subgraph_reads(a->g, name);
            for (size_t j = 0; a->graphs && j < a->n; j++)
                c += subgraph_reads(a->graphs[j], name);
        }
    }
    return c + is_graph_output(b, name);
}

/* does a subgraph of any live node read `name` from this graph? */
static bool read_by_subgraph(const ob_model *b, const char *name)
{
    for (int i = 0; i < b->n_nodes; i++) {
        const ob_node *n = &b->nodes[i];
        for (int k = 0; !n->dead && k < n->n_attrs; k++) {
            const ox_attr *a = &n->attrs[k];
            if (a->g && subgraph_reads(a->g, name))
                return true;
            for (size_t j = 0; a->graphs && j < a->n; j++)
                if (subgraph_reads(a->graphs[j], name))
                    return true;
        }
    }
    return false;
}

static ob_node *producer(ob_model *b, const char *name)
{
    for (int i = 0; i < b->n_nodes; i++) {
        ob_node *n = &b->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_out; k++)
            if (!strcmp(n->out[k], name))
                return n;
    }
    return NULL;
}

static ob_node *sole_consumer(ob_model *b, const char *name)
{
    if (uses(b, name) != 1)
        return NULL;
    for (int i = 0; i < b->n_nodes; i++) {
        ob_node *n = &b->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_in; k++)
            if (!strcmp(n->in[k], name))
                return n;
    }
    return NULL;
}

/* an initializer that is a constant (not overridable by a graph input) */
static ob_init *const_init(ob_model *b, const char *name)
{
    if (!name[0] || is_graph_input(b, name))
        return NULL;
    return ob_find_init(b, name);
}

static int rename_uses(ob_model *b, const char *from, const char *to, ckpt_error *err)
{
    for (int i = 0; i < b->n_nodes; i++) {
        ob_node *n = &b->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_in; k++)
            if (!strcmp(n->in[k], from))
                CKPT_TRY(ob_node_set_input(n, k, to, err));
    }
    return 0;
}

static int64_t attr_i(const ob_node *n, const char *name, int64_t d)
{
    const ox_attr *a = ob_attr_get(n, name);
    return a && a->type == OX_ATTR_INT ? a->i : d;
}

static float attr_f(const ob_node *n, const char *name, float d)
{
    const ox_attr *a = ob_attr_get(n, name);
    return a && a->type == OX_ATTR_FLOAT ? a->f : d;
}

static const float *f32_init(ob_model *b, const char *name, int64_t numel)
{
    ob_init *in = const_init(b, name);
    if (!in || in->v.dtype != OX_FLOAT || in->v.numel != numel)
        return NULL;
    return in->v.data;
}

/* ------------------------------------------------------------ BatchNorm folding */

/* Conv / ConvTranspose (group 1) / Gemm followed by BatchNormalization
 * (inference form, constant parameters) whose only reader it is. */
int ox_fold_batchnorm(ob_model *b, int *folded, ckpt_error *err)
{
    for (int i = 0; i < b->n_nodes; i++) {
        ob_node *bn = &b->nodes[i];
        if (bn->dead || strcmp(bn->op, "BatchNormalization") || bn->n_in < 5)
            continue;
        if (bn->n_out > 1 && (bn->out[1][0] || (bn->n_out > 2 && bn->out[2][0])))
            continue; /* training outputs */
        if (attr_i(bn, "training_mode", 0))
            continue;
        ob_node *p = producer(b, bn->in[0]);
        if (!p || p->n_out != 1 || uses(b, p->out[0]) != 1 || is_graph_output(b, p->out[0]))
            continue;
        bool conv = !strcmp(p->op, "Conv"), convt = !strcmp(p->op, "ConvTranspose"),
             gemm = !strcmp(p->op, "Gemm");
        if (!conv && !convt && !gemm)
            continue;
        ob_init *wi = p->n_in >= 2 ? const_init(b, p->in[1]) : NULL;
        if (!wi || wi->v.dtype != OX_FLOAT || wi->v.rank < 2 || uses(b, p->in[1]) != 1)
            continue;
        if ((convt && attr_i(p, "group", 1) != 1))
            continue;
        bool transb = gemm && attr_i(p, "transB", 0);
        if (gemm && (attr_f(p, "alpha", 1.0f) != 1.0f || attr_f(p, "beta", 1.0f) != 1.0f ||
                     wi->v.rank != 2))
            continue;
        int64_t C = conv    ? wi->v.dims[0]
                    : convt ? wi->v.dims[1]
                            : (transb ? wi->v.dims[0] : wi->v.dims[1]);
        const float *sc = f32_init(b, bn->in[1], C), *bb = f32_init(b, bn->in[2], C),
                    *mu = f32_init(b, bn->in[3], C), *var = f32_init(b, bn->in[4], C);
        if (!sc || !bb || !mu || !var)
            continue;
        const float *bias = NULL;
        if (p->n_in >= 3 && p->in[2][0]) {
            ob_init *bi = const_init(b, p->in[2]);
            if (!bi || bi->v.dtype != OX_FLOAT || bi->v.numel != C || uses(b, p->in[2]) != 1)
                continue;
            bias = bi->v.data;
        }
        double eps = (double)attr_f(bn, "epsilon", 1e-5f);
        double *s = malloc((size_t)C * sizeof(double));
        float *nb = malloc((size_t)C * sizeof(float));
        if (!s || !nb) {
            free(s), free(nb);
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory folding BatchNormalization");
        }
        for (int64_t c = 0; c < C; c++) {
            s[c] = (double)sc[c] / sqrt((double)var[c] + eps);
            nb[c] = (float)(((bias ? (double)bias[c] : 0.0) - (double)mu[c]) * s[c] +
                            (double)bb[c]);
        }
        float *w = wi->v.data;
        int64_t total = wi->v.numel;
        if (conv || (gemm && transb)) { /* rows are output channels */
            int64_t per = total / C;
            for (int64_t c = 0; c < C; c++)
                for (int64_t j = 0; j < per; j++)
                    w[c * per + j] = (float)((double)w[c * per + j] * s[c]);
        } else if (convt) { /* (Cin, Cout, k...) */
            int64_t cin = wi->v.dims[0], per = total / (cin * C);
            for (int64_t a = 0; a < cin; a++)
                for (int64_t c = 0; c < C; c++)
                    for (int64_t j = 0; j < per; j++)
                        w[(a * C + c) * per + j] = (float)((double)w[(a * C + c) * per + j] *
                                                           s[c]);
        } else { /* Gemm transB=0: (K, N) columns */
            int64_t K = wi->v.dims[0];
            for (int64_t k = 0; k < K; k++)
                for (int64_t c = 0; c < C; c++)
                    w[k * C + c] = (float)((double)w[k * C + c] * s[c]);
        }
        free(s);
        int rc = 0;
        if (bias) {
            ob_init *bi = const_init(b, p->in[2]);
            memcpy(bi->v.data, nb, (size_t)C * sizeof(float));
            if (bi->v.rank != 1) {
                bi->v.rank = 1;
                bi->v.dims[0] = C;
            }
        } else {
            /* the BatchNorm's bias name, when nothing else reads it */
            char nm[512];
            if (uses(b, bn->in[2]) == 1 && const_init(b, bn->in[2]) &&
                !is_graph_input(b, bn->in[2])) {
                ob_init *bi = const_init(b, bn->in[2]);
                snprintf(nm, sizeof nm, "%s", bn->in[2]);
                bi->dead = true;
            } else {
                ob_fresh(b, "/folded_bias", nm, sizeof nm);
            }
            if (!ob_add_init(b, nm, OX_FLOAT, 1, &C, nb, err))
                rc = err->code ? err->code : CKPT_E_NOMEM;
            /* p may have moved? no: nodes are not appended here */
            if (rc == 0) {
                char **in = realloc(p->in, 3 * sizeof(char *));
                if (!in) {
                    rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory folding BatchNormalization");
                } else {
                    p->in = in;
                    while (p->n_in < 3)
                        p->in[p->n_in++] = strdup("");
                    rc = ob_node_set_input(p, 2, nm, err);
                }
            }
        }
        free(nb);
        if (rc < 0)
            return rc;
        /* the producer now writes the BatchNorm's output */
        char *o = strdup(bn->out[0]);
        if (!o)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory folding BatchNormalization");
        free(p->out[0]);
        p->out[0] = o;
        bn->dead = true;
        (*folded)++;
    }
    return 0;
}

/* ------------------------------------------------------------ MatMul + Add -> Gemm */

static int rank_of(const ob_model *b, const char *name, const ckpt_onnx_session *s)
{
    if (s) {
        const ox_val *v = ox_session_value((ckpt_onnx_session *)(uintptr_t)s, name);
        if (v && v->kind == OX_KIND_TENSOR)
            return v->rank;
    }
    for (int i = 0; i < b->n_inputs; i++)
        if (!strcmp(b->inputs[i].name, name) && b->inputs[i].type.known)
            return b->inputs[i].type.rank;
    for (int i = 0; i < b->n_vinfo; i++)
        if (!strcmp(b->vinfo[i].name, name) && b->vinfo[i].type.known)
            return b->vinfo[i].type.rank;
    return -1;
}

static int fuse_gemm(ob_model *b, const ckpt_onnx_session *s, int *fused, ckpt_error *err)
{
    for (int i = 0; i < b->n_nodes; i++) {
        ob_node *mm = &b->nodes[i];
        if (mm->dead || strcmp(mm->op, "MatMul") || mm->n_in != 2 || mm->n_out != 1)
            continue;
        ob_init *w = const_init(b, mm->in[1]);
        if (!w || w->v.rank != 2 || w->v.dtype != OX_FLOAT || rank_of(b, mm->in[0], s) != 2)
            continue;
        if (is_graph_output(b, mm->out[0]))
            continue;
        ob_node *add = sole_consumer(b, mm->out[0]);
        if (!add || strcmp(add->op, "Add") || add->n_in != 2)
            continue;
        int other = !strcmp(add->in[0], mm->out[0]) ? 1 : 0;
        ob_init *c = const_init(b, add->in[other]);
        int64_t N = w->v.dims[1];
        if (!c || c->v.dtype != OX_FLOAT ||
            !((c->v.rank == 1 && c->v.dims[0] == N) ||
              (c->v.rank == 2 && c->v.dims[0] == 1 && c->v.dims[1] == N)))
            continue;
        char *cname = strdup(add->in[other]);
        char *oname = strdup(add->out[0]);
        char *gop = strdup("Gemm");
        char **in = realloc(mm->in, 3 * sizeof(char *));
        if (!cname || !oname || !gop || !in) {
            free(cname), free(oname), free(gop);
            if (in)
                mm->in = in;
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory fusing MatMul+Add");
        }
        mm->in = in;
        mm->in[2] = cname;
        mm->n_in = 3;
        free(mm->out[0]);
        mm->out[0] = oname;
        free(mm->op);
        mm->op = gop;
        add->dead = true;
        (*fused)++;
    }
    return 0;
}

/* ------------------------------------------------------------ Identity / Dropout */

static int drop_identities(ob_model *b, int *removed, ckpt_error *err)
{
    for (int i = 0; i < b->n_nodes; i++) {
        ob_node *n = &b->nodes[i];
        if (n->dead || n->n_in < 1 || !n->in[0][0] || n->n_out < 1)
            continue;
        bool id = !strcmp(n->op, "Identity") && n->domain[0] == 0;
        bool dr = !strcmp(n->op, "Dropout") && n->domain[0] == 0;
        if (!id && !dr)
            continue;
        if (dr) {
            if (n->n_out > 1 && n->out[1][0] && uses(b, n->out[1]) > 0)
                continue; /* the mask is read */
            if (n->n_in >= 3 && n->in[2][0]) {
                ob_init *t = const_init(b, n->in[2]);
                if (!t || t->v.numel != 1 || ((uint8_t *)t->v.data)[0] != 0)
                    continue; /* training_mode not a constant false */
            }
        }
        const char *in = n->in[0], *out = n->out[0];
        if (read_by_subgraph(b, out))
            continue; /* a subgraph names it: renaming would leave it undefined */
        if (is_graph_output(b, out)) {
            /* the producer of `in` may write the output name instead */
            ob_node *p = producer(b, in);
            if (!p || uses(b, in) != 1 || is_graph_output(b, in))
                continue;
            for (int k = 0; k < p->n_out; k++)
                if (!strcmp(p->out[k], in)) {
                    char *o = strdup(out);
                    if (!o)
                        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
                    free(p->out[k]);
                    p->out[k] = o;
                }
            n->dead = true;
            (*removed)++;
            continue;
        }
        char *from = strdup(out), *to = strdup(in);
        if (!from || !to) {
            free(from), free(to);
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        }
        n->dead = true;
        int rc = rename_uses(b, from, to, err);
        free(from), free(to);
        CKPT_TRY(rc);
        (*removed)++;
    }
    return 0;
}

/* ------------------------------------------------------------ dead code */

static int drop_dead(ob_model *b)
{
    int removed = 0;
    bool changed = true;
    while (changed) {
        changed = false;
        for (int i = b->n_nodes; i-- > 0;) {
            ob_node *n = &b->nodes[i];
            if (n->dead)
                continue;
            bool used = false;
            for (int k = 0; k < n->n_out && !used; k++)
                used = n->out[k][0] && uses(b, n->out[k]) > 0;
            if (!used) {
                n->dead = true;
                removed++;
                changed = true;
            }
        }
    }
    for (int i = 0; i < b->n_inits; i++)
        if (!b->inits[i].dead && !is_graph_input(b, b->inits[i].name) &&
            uses(b, b->inits[i].name) == 0)
            b->inits[i].dead = true;
    return removed;
}

/* ------------------------------------------------------------ constant folding */

static bool nondeterministic(const char *op)
{
    static const char *const ops[] = {"RandomNormal",
                                      "RandomUniform",
                                      "RandomNormalLike",
                                      "RandomUniformLike",
                                      "Multinomial",
                                      "Bernoulli",
                                      NULL};
    for (int i = 0; ops[i]; i++)
        if (!strcmp(op, ops[i]))
            return true;
    return false;
}

/* Constant node -> its value (any attribute form) */
static int constant_value(const ob_node *n, ox_val *v, ckpt_error *err)
{
    for (int k = 0; k < n->n_attrs; k++) {
        const ox_attr *a = &n->attrs[k];
        if (!strcmp(a->name, "value") && a->t)
            return ox_val_copy(v, a->t, err);
        int64_t one = 1;
        if (!strcmp(a->name, "value_float")) {
            CKPT_TRY(ox_val_reshape_alloc(v, OX_FLOAT, 0, NULL, err));
            ((float *)v->data)[0] = a->f;
            return 0;
        }
        if (!strcmp(a->name, "value_int")) {
            CKPT_TRY(ox_val_reshape_alloc(v, OX_INT64, 0, NULL, err));
            ((int64_t *)v->data)[0] = a->i;
            return 0;
        }
        if (!strcmp(a->name, "value_floats")) {
            one = (int64_t)a->n;
            CKPT_TRY(ox_val_reshape_alloc(v, OX_FLOAT, 1, &one, err));
            if (a->n)
                memcpy(v->data, a->floats, a->n * sizeof(float));
            return 0;
        }
        if (!strcmp(a->name, "value_ints")) {
            one = (int64_t)a->n;
            CKPT_TRY(ox_val_reshape_alloc(v, OX_INT64, 1, &one, err));
            if (a->n)
                memcpy(v->data, a->ints, a->n * sizeof(int64_t));
            return 0;
        }
    }
    return 1; /* sparse or string forms: left alone */
}

typedef struct runs {
    ckpt_onnx_model *model;
    ckpt_onnx_session *s[2];
    int n; /* sessions that ran */
} runs;

/* Run the model on zeros (dynamic dims `size`); 0 ran, 1 could not run. */
static int run_once(const ckpt_onnx_model *m, int64_t size, ckpt_onnx_session **out,
                    bool *has_dynamic)
{
    ckpt_error err = {0};
    const ox_graph *g = m->graph;
    *out = NULL;
    ox_val *vals = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *vals);
    const ox_val **ptrs = calloc((size_t)(g->n_inputs ? g->n_inputs : 1), sizeof *ptrs);
    int rc = 1;
    if (!vals || !ptrs)
        goto out;
    for (int i = 0; i < g->n_inputs; i++) {
        const ox_type *t = &g->values[g->inputs[i]].type;
        if (!t->known || t->kind != OX_KIND_TENSOR || t->rank < 0 || t->dtype == OX_STRING ||
            !ox_dtype_size(t->dtype))
            goto out;
        int64_t dims[OX_MAX_RANK];
        for (int d = 0; d < t->rank; d++) {
            dims[d] = t->dims[d] >= 0 ? t->dims[d] : size;
            if (t->dims[d] < 0)
                *has_dynamic = true;
        }
        if (ox_val_reshape_alloc(&vals[i], t->dtype, t->rank, dims, &err) < 0)
            goto out;
        memset(vals[i].data, 0, ox_val_nbytes(&vals[i]));
        ptrs[i] = &vals[i];
    }
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
    if (!s)
        goto out;
    if (ox_session_run_vals(s, ptrs, g->n_inputs, &err) < 0) {
        ckpt_onnx_session_free(s);
        goto out;
    }
    *out = s;
    rc = 0;
out:
    for (int i = 0; vals && i < g->n_inputs; i++)
        ox_val_clear(&vals[i]);
    free(vals);
    free(ptrs);
    return rc;
}

static bool same_shape(const ox_val *a, const ox_val *b)
{
    if (!a || !b || a->kind != OX_KIND_TENSOR || b->kind != OX_KIND_TENSOR || a->rank != b->rank)
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->dims[i] != b->dims[i])
            return false;
    return true;
}

static int fold_constants(ob_model *b, runs *r, size_t max_bytes, int *folded, ckpt_error *err)
{
    /* names known constant: initializers (not inputs) and what gets folded */
    for (int i = 0; i < b->n_nodes; i++) {
        ob_node *n = &b->nodes[i];
        if (n->dead || n->n_out < 1 || !n->domain || n->domain[0])
            continue;
        if (!strcmp(n->op, "Constant")) {
            ox_val v = {0};
            int c = constant_value(n, &v, err);
            if (c < 0)
                return c;
            if (c == 0 && n->out[0][0] && !is_graph_output(b, n->out[0])) {
                ob_init *in = ob_add_init(b, n->out[0], v.dtype, v.rank, v.dims, v.data, err);
                ox_val_clear(&v);
                n = &b->nodes[i];
                if (!in)
                    return err->code ? err->code : CKPT_E_NOMEM;
                n->dead = true;
                (*folded)++;
            } else {
                ox_val_clear(&v);
            }
            continue;
        }
        if (!r->n || nondeterministic(n->op) || node_has_graphs(n))
            continue;
        bool shape_op = !strcmp(n->op, "Shape") || !strcmp(n->op, "Size");
        bool all_const = true;
        for (int k = 0; k < n->n_in && all_const; k++)
            all_const = !n->in[k][0] || const_init(b, n->in[k]);
        if (!all_const && shape_op && n->n_in >= 1) {
            const ox_val *a = ox_session_value(r->s[0], n->in[0]);
            const ox_val *c = r->n > 1 ? ox_session_value(r->s[1], n->in[0]) : a;
            all_const = same_shape(a, c);
        }
        if (!all_const || n->n_in == 0)
            continue;
        bool ok = true;
        size_t in_bytes = 0, out_bytes = 0;
        for (int k = 0; k < n->n_in; k++) {
            ob_init *ci = n->in[k][0] ? ob_find_init(b, n->in[k]) : NULL;
            if (ci)
                in_bytes += ox_val_nbytes(&ci->v);
        }
        for (int k = 0; k < n->n_out && ok; k++) {
            if (!n->out[k][0])
                continue;
            const ox_val *v = ox_session_value(r->s[0], n->out[k]);
            ok = v && v->kind == OX_KIND_TENSOR && !is_graph_output(b, n->out[k]);
            if (ok)
                out_bytes += ox_val_nbytes(v);
        }
        /* a fold that would only grow the file a lot (Expand, Tile, ConstantOfShape) stays */
        if (!ok || (out_bytes > max_bytes && out_bytes > 2 * in_bytes))
            continue;
        for (int k = 0; k < n->n_out; k++) {
            if (!b->nodes[i].out[k][0])
                continue;
            char name[1024];
            snprintf(name, sizeof name, "%s", b->nodes[i].out[k]);
            const ox_val *v = ox_session_value(r->s[0], name);
            if (!ob_add_init(b, name, v->dtype, v->rank, v->dims, v->data, err))
                return err->code ? err->code : CKPT_E_NOMEM;
        }
        b->nodes[i].dead = true;
        (*folded)++;
    }
    return 0;
}

/* value_info from the runs: static dims where both runs agree */
static int infer_vinfo(ob_model *b, runs *r, ckpt_error *err)
{
    if (!r->n)
        return 0;
    for (int i = 0; i < b->n_vinfo; i++) {
        free(b->vinfo[i].name);
        for (int d = 0; d < OX_MAX_RANK; d++)
            free(b->vinfo[i].type.dim_params[d]);
    }
    b->n_vinfo = 0;
    for (int i = 0; i < b->n_nodes; i++) {
        const ob_node *n = &b->nodes[i];
        if (n->dead)
            continue;
        for (int k = 0; k < n->n_out; k++) {
            const char *nm = n->out[k];
            if (!nm[0] || is_graph_output(b, nm))
                continue;
            const ox_val *a = ox_session_value(r->s[0], nm);
            const ox_val *c = r->n > 1 ? ox_session_value(r->s[1], nm) : a;
            if (!a || !c || a->kind != OX_KIND_TENSOR || c->kind != OX_KIND_TENSOR ||
                a->rank != c->rank)
                continue;
            ox_type t = ob_tensor_type(a->dtype, a->rank, a->dims, NULL);
            for (int d = 0; d < a->rank; d++)
                if (a->dims[d] != c->dims[d])
                    t.dims[d] = -1;
            CKPT_TRY(ob_add_vinfo(b, nm, &t, err));
        }
    }
    /* graph outputs: fill a missing shape */
    for (int i = 0; i < b->n_outputs; i++) {
        ob_vi *o = &b->outputs[i];
        if (o->type.known && o->type.rank >= 0)
            continue;
        const ox_val *a = ox_session_value(r->s[0], o->name);
        const ox_val *c = r->n > 1 ? ox_session_value(r->s[1], o->name) : a;
        if (!a || !c || a->kind != OX_KIND_TENSOR || a->rank != c->rank)
            continue;
        ox_type t = ob_tensor_type(a->dtype, a->rank, a->dims, NULL);
        for (int d = 0; d < a->rank; d++)
            if (a->dims[d] != c->dims[d])
                t.dims[d] = -1;
        o->type = t;
    }
    return 0;
}

/* ------------------------------------------------------------ entry point */

static int live_nodes(const ob_model *b)
{
    int c = 0;
    for (int i = 0; i < b->n_nodes; i++)
        c += !b->nodes[i].dead;
    return c;
}

ckpt_onnx_model *ckpt_onnx_simplify(const ckpt_onnx_model *m, const ckpt_onnx_simplify_opts *o,
                                    ckpt_onnx_simplify_report *rep, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_onnx_simplify_opts d = {0};
    if (!o)
        o = &d;
    ckpt_onnx_simplify_report local = {0};
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof *rep);
    if (!m || !m->graph) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_onnx_simplify: model is NULL");
        return NULL;
    }
    rep->nodes_before = m->graph->n_nodes;
    size_t max_bytes = o->max_fold_bytes ? o->max_fold_bytes : (size_t)1 << 20;
    ckpt_onnx_model *cur = NULL;
    const ckpt_onnx_model *src = m;
    for (int round = 0; round < 4; round++) {
        ob_model *b = ob_from_model(src, err);
        if (!b)
            goto fail;
        int before = live_nodes(b);
        runs r = {0};
        if (!o->no_shape_inference) {
            bool dyn = false;
            if (run_once(src, 2, &r.s[0], &dyn) == 0) {
                r.n = 1;
                if (dyn && run_once(src, 3, &r.s[1], &dyn) == 0)
                    r.n = 2;
                else if (dyn) {
                    ckpt_onnx_session_free(r.s[0]);
                    r.s[0] = NULL;
                    r.n = 0;
                }
            }
        }
        rep->ran = rep->ran || r.n > 0;
        int f = 0, idn = 0, bn = 0, gm = 0;
        int rc = fold_constants(b, &r, max_bytes, &f, err);
        if (rc == 0)
            rc = drop_identities(b, &idn, err);
        if (rc == 0 && !o->no_fold_batchnorm)
            rc = ox_fold_batchnorm(b, &bn, err);
        if (rc == 0 && !o->no_fuse_gemm)
            rc = fuse_gemm(b, r.n ? r.s[0] : NULL, &gm, err);
        int dead = rc == 0 ? drop_dead(b) : 0;
        if (rc == 0)
            rc = infer_vinfo(b, &r, err);
        for (int i = 0; i < 2; i++)
            ckpt_onnx_session_free(r.s[i]);
        rep->folded += f;
        rep->identities_removed += idn;
        rep->batchnorms_folded += bn;
        rep->gemms_fused += gm;
        rep->dead_removed += dead;
        if (rc < 0) {
            ob_free(b);
            goto fail;
        }
        int after = live_nodes(b);
        ckpt_onnx_model *next = ob_to_model(b, err);
        ob_free(b);
        if (!next)
            goto fail;
        ckpt_onnx_model_free(cur);
        cur = next;
        src = cur;
        if (after == before && round > 0)
            break;
    }
    rep->nodes_after = cur->graph->n_nodes;
    return cur;
fail:
    ckpt_onnx_model_free(cur);
    return NULL;
}
