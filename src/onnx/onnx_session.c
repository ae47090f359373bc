/* src/onnx/onnx_session.c - run a model: one slot per value, kept across
 * runs, kernels resolved once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef CKPT_HAVE_OPENBLAS
#include <cblas.h>
#endif

#include "core/err.h"
#include "onnx/onnx_internal.h"

/* Slots of one graph (the main graph or a subgraph body).  A subgraph's
 * slots are created on its first run and kept. */
typedef struct gslots {
    const ox_graph *g;
    ox_val *slots;
} gslots;

struct ckpt_onnx_session {
    const ckpt_onnx_model *m;
    int threads;
    size_t max_bytes;
    gslots *graphs;
    int n_graphs, cap_graphs;
    void *scratch;
    size_t scratch_cap;
    ox_val **tmp_in, **tmp_out; /* per-node pointer arrays, sized to the widest node */
    int tmp_cap;
    bool *folded;    /* main-graph nodes computed once at session creation */
    bool profile;    /* CKPT_ONNX_PROFILE set: time per node, printed by session_free */
    double *prof_ns; /* per main-graph node */
    int prof_runs;
    int n_folded;
};

struct ox_run {
    ckpt_onnx_session *s;
    const ox_graph *g;
    ox_val *slots;
    struct ox_run *parent;
    const bool *skip; /* nodes not to run (folded constants), or NULL */
};

int ox_threads(const ox_run *r)
{
    return r->s->threads;
}

void *ox_scratch(ox_run *r, size_t bytes, ckpt_error *err)
{
    ckpt_onnx_session *s = r->s;
    if (s->max_bytes && bytes > s->max_bytes) {
        CKPT_FAIL(err, CKPT_E_LIMIT, "%zu bytes of scratch pass the session limit of %zu", bytes,
                  s->max_bytes);
        return NULL;
    }
    if (bytes > s->scratch_cap) {
        void *p = malloc(bytes);
        if (!p) {
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory for %zu bytes of scratch", bytes);
            return NULL;
        }
        free(s->scratch);
        s->scratch = p;
        s->scratch_cap = bytes;
    }
    return s->scratch;
}

int ox_out(ox_run *r, const ox_node *n, ox_val *out, int dtype, int rank, const int64_t *dims,
           ckpt_error *err)
{
    if (!out)
        return 0;
    size_t es = ox_dtype_size(dtype);
    int64_t numel = ox_numel(rank, dims);
    if (numel < 0)
        return ox_fail(err, CKPT_E_SHAPE, n, "negative or overflowing output shape");
    if (r->s->max_bytes && es && (uint64_t)numel > r->s->max_bytes / es)
        return ox_fail(err, CKPT_E_LIMIT, n, "an output of %lld elements passes the limit",
                       (long long)numel);
    int rc = ox_val_reshape_alloc(out, dtype, rank, dims, err);
    if (rc < 0)
        ckpt__error_prefix_key(err, n->name);
    return rc;
}

int ox_alias(ox_run *r, const ox_node *n, ox_val *out, const ox_val *src, int rank,
             const int64_t *dims, ckpt_error *err)
{
    (void)r;
    if (!out)
        return 0;
    if (src->kind != OX_KIND_TENSOR)
        return ox_val_copy(out, src, err);
    int64_t numel = ox_numel(rank, dims);
    if (numel != src->numel)
        return ox_fail(err, CKPT_E_SHAPE, n, "cannot view %lld elements as %lld",
                       (long long)src->numel, (long long)numel);
    if (src->dtype == OX_STRING) {
        /* strings are owned per value: copy, then set the new dims */
        CKPT_TRY(ox_val_copy(out, src, err));
    } else {
        if (out->kind == OX_KIND_SEQUENCE || out->dtype == OX_STRING) {
            ox_val_clear(out);
        }
        out->kind = OX_KIND_TENSOR;
        out->dtype = src->dtype;
        out->data = src->data;
        out->numel = numel;
    }
    out->rank = rank;
    for (int i = 0; i < rank; i++)
        out->dims[i] = dims[i];
    return 0;
}

/* ------------------------------------------------------------ slots */

static ox_val *slots_of(ckpt_onnx_session *s, const ox_graph *g, ckpt_error *err)
{
    for (int i = 0; i < s->n_graphs; i++)
        if (s->graphs[i].g == g)
            return s->graphs[i].slots;
    if (s->n_graphs == s->cap_graphs) {
        int nc = s->cap_graphs ? 2 * s->cap_graphs : 4;
        gslots *ng = realloc(s->graphs, (size_t)nc * sizeof *ng);
        if (!ng) {
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            return NULL;
        }
        s->graphs = ng;
        s->cap_graphs = nc;
    }
    ox_val *slots = calloc(g->n_values ? (size_t)g->n_values : 1, sizeof *slots);
    if (!slots) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    /* initializers are views of the model's data */
    for (int i = 0; i < g->n_values; i++) {
        const ox_value *v = &g->values[i];
        if (v->is_initializer) {
            slots[i] = v->init;
            slots[i].buf = NULL;
            slots[i].cap = 0;
            slots[i].items = NULL;
            slots[i].n_items = 0;
        }
    }
    s->graphs[s->n_graphs].g = g;
    s->graphs[s->n_graphs].slots = slots;
    s->n_graphs++;
    return slots;
}

/* The slot a value index of run `r` refers to, following outer names. */
static ox_val *slot_at(ox_run *r, int vi)
{
    while (r->g->values[vi].outer >= 0 && r->parent) {
        vi = r->g->values[vi].outer;
        r = r->parent;
    }
    return &r->slots[vi];
}

const ox_graph *ox_run_graph(const ox_run *r)
{
    return r->g;
}

ox_val *ox_run_value(ox_run *r, int vi)
{
    return vi >= 0 && vi < r->g->n_values ? slot_at(r, vi) : NULL;
}

size_t ox_run_max_bytes(const ox_run *r)
{
    return r->s->max_bytes;
}

/* Initializer views of strings must not be freed by the slot. */
static void slot_reset_view(ox_val *slot, const ox_value *v)
{
    if (v->is_initializer) {
        if (slot->buf) {
            /* an input replaced the initializer in an earlier run and the slot
             * grew a buffer: keep the buffer, point back at the initializer */
        }
        void *buf = slot->buf;
        size_t cap = slot->cap;
        *slot = v->init;
        slot->buf = buf;
        slot->cap = cap;
        slot->items = NULL;
        slot->n_items = 0;
    }
}

/* ------------------------------------------------------------ kernels */

static int resolve(ckpt_onnx_session *s, const ox_graph *g, ckpt_error *err)
{
    for (int i = 0; i < g->n_nodes; i++) {
        ox_node *n = &g->nodes[i];
        if (n->n_in > s->tmp_cap || n->n_out > s->tmp_cap) {
            int c = n->n_in > n->n_out ? n->n_in : n->n_out;
            ox_val **a = realloc(s->tmp_in, (size_t)c * sizeof *a);
            if (a)
                s->tmp_in = a;
            ox_val **b = a ? realloc(s->tmp_out, (size_t)c * sizeof *b) : NULL;
            if (!a || !b)
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            s->tmp_out = b;
            s->tmp_cap = c;
        }
        if (n->prep_err)
            return CKPT_FAIL(err, n->prep_code, "%s", n->prep_err);
        if (!n->op)
            return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                             "node '%s': op %s (domain '%s', opset %d) is not supported", n->name,
                             n->op_type, n->domain[0] ? n->domain : "ai.onnx", n->opset);
        for (int a = 0; a < n->n_attrs; a++) {
            const ox_attr *at = &n->attrs[a];
            if (at->g)
                CKPT_TRY(resolve(s, at->g, err));
            for (size_t k = 0; at->graphs && k < at->n; k++)
                CKPT_TRY(resolve(s, at->graphs[k], err));
        }
    }
    return 0;
}

/* OpenBLAS's thread count is process-wide: a session sets it to its own
 * before each run (one call when it already matches). */
static void blas_threads(const ckpt_onnx_session *s)
{
#ifdef CKPT_HAVE_OPENBLAS
    if (openblas_get_num_threads() != s->threads)
        openblas_set_num_threads(s->threads);
#else
    (void)s;
#endif
}

static int exec_nodes(ox_run *r, ckpt_error *err)
{
    const ox_graph *g = r->g;
    ckpt_onnx_session *s = r->s;
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *n = &g->nodes[i];
        if (r->skip && r->skip[i])
            continue;
        /* per node, on the stack (nested subgraph runs reuse nothing); padded
         * with NULL past n_in / n_out as the kernel contract promises */
        enum { PAD = 8, SMALL = 24 };
        ox_val *in_buf[SMALL], *out_buf[SMALL];
        ox_val **in = n->n_in + PAD <= SMALL ? in_buf : calloc((size_t)n->n_in + PAD, sizeof *in);
        ox_val **out = n->n_out + PAD <= SMALL ? out_buf
                                               : calloc((size_t)n->n_out + PAD, sizeof *out);
        if (!in || !out) {
            if (in != in_buf)
                free(in);
            if (out != out_buf)
                free(out);
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        }
        for (int k = 0; k < n->n_in; k++)
            in[k] = n->in[k] >= 0 ? slot_at(r, n->in[k]) : NULL;
        for (int k = n->n_in; k < n->n_in + PAD; k++)
            in[k] = NULL;
        for (int k = 0; k < n->n_out; k++)
            out[k] = n->out[k] >= 0 ? &r->slots[n->out[k]] : NULL;
        for (int k = n->n_out; k < n->n_out + PAD; k++)
            out[k] = NULL;
        struct timespec t0, t1;
        if (s->profile)
            clock_gettime(CLOCK_MONOTONIC, &t0);
        int rc = n->op->run(r, n, in, out, err);
        if (s->profile && !r->parent) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            s->prof_ns[i] += (double)(t1.tv_sec - t0.tv_sec) * 1e9 +
                             (double)(t1.tv_nsec - t0.tv_nsec);
        }
        if (in != in_buf)
            free(in);
        if (out != out_buf)
            free(out);
        if (rc < 0) {
            if (!ckpt__error_is_set(err))
                ox_fail(err, rc, n, "failed");
            return rc;
        }
    }
    (void)s;
    return 0;
}

int ox_run_subgraph(ox_run *r, const ox_graph *g, ox_val *const *inputs, int n_inputs,
                    ox_val *const *outputs, int n_outputs, ckpt_error *err)
{
    ox_val *slots = slots_of(r->s, g, err);
    if (!slots)
        return CKPT_E_NOMEM;
    if (n_inputs > g->n_inputs + g->n_initializers)
        return CKPT_FAIL(err, CKPT_E_ARG, "subgraph '%s' takes %d inputs, given %d", g->name,
                         g->n_inputs, n_inputs);
    ox_run sub = {r->s, g, slots, r, NULL};
    for (int i = 0; i < g->n_values; i++)
        slot_reset_view(&slots[i], &g->values[i]);
    for (int i = 0; i < n_inputs && i < g->n_inputs; i++) {
        ox_val *dst = &slots[g->inputs[i]];
        if (!inputs[i]) {
            ox_val_clear(dst);
            dst->kind = OX_KIND_NONE;
            continue;
        }
        CKPT_TRY(ox_val_copy(dst, inputs[i], err));
    }
    CKPT_TRY(exec_nodes(&sub, err));
    if (n_outputs > g->n_outputs)
        return CKPT_FAIL(err, CKPT_E_ARG, "subgraph '%s' has %d outputs, %d wanted", g->name,
                         g->n_outputs, n_outputs);
    for (int i = 0; i < n_outputs; i++)
        if (outputs[i])
            CKPT_TRY(ox_val_copy(outputs[i], slot_at(&sub, g->outputs[i]), err));
    return 0;
}

/* ------------------------------------------------------------ constant folding */

/* Ops whose result is not a function of their inputs alone. */
static bool op_foldable(const ox_node *n)
{
    static const char *const never[] = {"RandomUniform",
                                        "RandomNormal",
                                        "RandomUniformLike",
                                        "RandomNormalLike",
                                        "Bernoulli",
                                        "Multinomial",
                                        NULL};
    for (int i = 0; never[i]; i++)
        if (!strcmp(n->op_type, never[i]))
            return false;
    for (int a = 0; a < n->n_attrs; a++)
        if (n->attrs[a].g || n->attrs[a].graphs)
            return false;
    return true;
}

/* Most bytes one folded output or scratch buffer may take: folding is an
 * optimisation, and a node that would make more (a hostile ConstantOfShape of
 * 2^50 elements) is left to run time, where the session's own limit applies. */
#define OX_FOLD_MAX_BYTES ((size_t)64 << 20)

/* Run, once, every main-graph node whose inputs are all constants
 * (initializers the caller cannot override, or outputs of folded nodes); its
 * outputs stay in their slots and the node is skipped by every run.  A node
 * whose kernel fails here is left to run time (where the error is reported). */
static int fold_constants(ckpt_onnx_session *s, ckpt_error *err)
{
    const ox_graph *g = s->m->graph;
    ox_val *slots = slots_of(s, g, err);
    if (!slots)
        return CKPT_E_NOMEM;
    bool *isconst = calloc((size_t)g->n_values + 1, 1);
    s->folded = calloc((size_t)g->n_nodes + 1, 1);
    if (!isconst || !s->folded) {
        free(isconst);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    for (int v = 0; v < g->n_values; v++)
        isconst[v] = g->values[v].is_initializer && !g->values[v].is_input;
    ox_run r = {s, g, slots, NULL, NULL};
    for (int i = 0; i < g->n_nodes; i++) {
        ox_node *n = &g->nodes[i];
        bool ok = op_foldable(n) && n->n_out <= 16 && n->n_in <= 16;
        for (int k = 0; ok && k < n->n_in; k++)
            ok = n->in[k] < 0 || isconst[n->in[k]];
        for (int k = 0; ok && k < n->n_out; k++)
            ok = n->out[k] < 0 || !g->values[n->out[k]].is_output;
        if (!ok)
            continue;
        ox_val *in[24] = {NULL}, *out[24] = {NULL};
        for (int k = 0; k < n->n_in; k++)
            in[k] = n->in[k] >= 0 ? &slots[n->in[k]] : NULL;
        for (int k = 0; k < n->n_out; k++)
            out[k] = n->out[k] >= 0 ? &slots[n->out[k]] : NULL;
        ckpt_error e2;
        ckpt_error_clear(&e2);
        size_t limit = s->max_bytes;
        if (!limit || limit > OX_FOLD_MAX_BYTES)
            s->max_bytes = OX_FOLD_MAX_BYTES;
        int rc = n->op->run(&r, n, in, out, &e2);
        s->max_bytes = limit;
        if (rc < 0)
            continue;
        s->folded[i] = true;
        s->n_folded++;
        for (int k = 0; k < n->n_out; k++)
            if (n->out[k] >= 0)
                isconst[n->out[k]] = true;
    }
    free(isconst);
    return 0;
}

/* ------------------------------------------------------------ public */

ckpt_onnx_session *ckpt_onnx_session_new(const ckpt_onnx_model *m,
                                         const ckpt_onnx_session_opts *opts, ckpt_error *err)
{
    if (!m) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_onnx_session_new: NULL model");
        return NULL;
    }
    ckpt_onnx_session *s = calloc(1, sizeof *s);
    if (!s) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    s->m = m;
    s->threads = opts && opts->threads > 1 ? opts->threads : 1;
    s->max_bytes = opts ? opts->max_bytes : 0;
    const char *prof = getenv("CKPT_ONNX_PROFILE");
    if (prof && *prof && strcmp(prof, "0")) {
        s->prof_ns = calloc((size_t)m->graph->n_nodes + 1, sizeof *s->prof_ns);
        s->profile = s->prof_ns != NULL;
    }
    if (resolve(s, m->graph, err) < 0 || !slots_of(s, m->graph, err) ||
        fold_constants(s, err) < 0) {
        ckpt__error_set_file(err, m->path);
        ckpt_onnx_session_free(s);
        return NULL;
    }
    return s;
}

/* CKPT_ONNX_PROFILE: per op type, total time over the runs (stderr). */
static void profile_print(const ckpt_onnx_session *s)
{
    const ox_graph *g = s->m->graph;
    double total = 0;
    for (int i = 0; i < g->n_nodes; i++)
        total += s->prof_ns[i];
    fprintf(stderr, "ckpt onnx profile: %d runs, %.3f ms per run in kernels\n", s->prof_runs,
            s->prof_runs ? total / 1e6 / s->prof_runs : 0.0);
    bool *done = calloc((size_t)g->n_nodes + 1, 1);
    for (int i = 0; done && i < g->n_nodes; i++) {
        if (done[i])
            continue;
        double t = 0;
        int cnt = 0;
        for (int j = i; j < g->n_nodes; j++)
            if (!done[j] && !strcmp(g->nodes[j].op_type, g->nodes[i].op_type)) {
                done[j] = true;
                t += s->prof_ns[j];
                cnt++;
            }
        fprintf(stderr, "  %-24s %4d nodes %9.4f ms/run %5.1f%%\n", g->nodes[i].op_type, cnt,
                s->prof_runs ? t / 1e6 / s->prof_runs : 0.0, total > 0 ? 100 * t / total : 0.0);
    }
    free(done);
}

void ckpt_onnx_session_free(ckpt_onnx_session *s)
{
    if (!s)
        return;
    if (s->profile)
        profile_print(s);
    free(s->prof_ns);
    for (int i = 0; i < s->n_graphs; i++) {
        const ox_graph *g = s->graphs[i].g;
        ox_val *slots = s->graphs[i].slots;
        for (int v = 0; v < g->n_values; v++) {
            if (g->values[v].is_initializer && !slots[v].buf) {
                continue; /* a view of the model */
            }
            if (g->values[v].is_initializer)
                slots[v].data = slots[v].buf; /* only the slot's own buffer is freed */
            ox_val_clear(&slots[v]);
        }
        free(slots);
    }
    free(s->graphs);
    free(s->folded);
    free(s->scratch);
    free(s->tmp_in);
    free(s->tmp_out);
    free(s);
}

static int find_io(const ox_graph *g, const int *list, int n, const char *name, size_t pos)
{
    if (!name)
        return pos < (size_t)n ? list[pos] : -1;
    for (int i = 0; i < n; i++)
        if (!strcmp(g->values[list[i]].name, name))
            return list[i];
    return -1;
}

static int bind_input(ckpt_onnx_session *s, ox_val *slots, const ckpt_onnx_tensor *t, size_t pos,
                      ckpt_error *err)
{
    const ox_graph *g = s->m->graph;
    int vi = find_io(g, g->inputs, g->n_inputs, t->name, pos);
    if (vi < 0 && t->name) {
        /* an initializer that is also a graph input may be overridden */
        int j = ox_graph_find(g, t->name);
        if (j >= 0 && g->values[j].is_input)
            vi = j;
    }
    if (vi < 0)
        return CKPT_FAIL(err, CKPT_E_NOT_FOUND, "input '%s' is not an input of the model",
                         t->name ? t->name : "(by position)");
    const ox_value *v = &g->values[vi];
    int dtype = t->elem_type ? t->elem_type : ox_dtype_from_ckpt(t->dtype);
    if (!ox_dtype_size(dtype))
        return CKPT_FAIL(err, CKPT_E_ARG, "input '%s': unknown element type", v->name);
    if (v->type.known && v->type.dtype && v->type.dtype != dtype)
        return CKPT_FAIL(err, CKPT_E_SHAPE, "input '%s': %s given, the model declares %s",
                         v->name, ox_dtype_name(dtype), ox_dtype_name(v->type.dtype));
    if (t->ndim < 0 || t->ndim > CKPT_ONNX_MAX_RANK)
        return CKPT_FAIL(err, CKPT_E_ARG, "input '%s': rank %d", v->name, t->ndim);
    if (v->type.known && v->type.rank >= 0) {
        if (v->type.rank != t->ndim)
            return CKPT_FAIL(err, CKPT_E_SHAPE,
                             "input '%s': rank %d given, the model declares %d", v->name, t->ndim,
                             v->type.rank);
        for (int k = 0; k < t->ndim; k++)
            if (v->type.dims[k] >= 0 && v->type.dims[k] != t->shape[k])
                return CKPT_FAIL(err, CKPT_E_SHAPE,
                                 "input '%s': dim %d is %lld, the model declares %lld", v->name,
                                 k, (long long)t->shape[k], (long long)v->type.dims[k]);
    }
    int64_t numel = ox_numel(t->ndim, t->shape);
    size_t es = ox_dtype_size(dtype);
    if (numel < 0 || (uint64_t)numel > SIZE_MAX / es || (size_t)numel * es > t->nbytes ||
        (numel && !t->data))
        return CKPT_FAIL(err, CKPT_E_SHAPE, "input '%s': %llu bytes for %lld elements of %s",
                         v->name, (unsigned long long)t->nbytes, (long long)numel,
                         ox_dtype_name(dtype));
    ox_val *slot = &slots[vi];
    if (slot->kind == OX_KIND_SEQUENCE || (slot->dtype == OX_STRING && slot->data == slot->buf)) {
        /* keep nothing from a previous value of another kind */
        if (!g->values[vi].is_initializer)
            ox_val_clear(slot);
    }
    slot->kind = OX_KIND_TENSOR;
    slot->dtype = dtype;
    slot->rank = t->ndim;
    for (int k = 0; k < t->ndim; k++)
        slot->dims[k] = t->shape[k];
    slot->numel = numel;
    if (dtype == OX_STRING) {
        /* strings are copied (slots own their strings) */
        ox_val tmp = *slot;
        tmp.data = t->data;
        tmp.buf = NULL;
        tmp.cap = 0;
        CKPT_TRY(ox_val_copy(slot, &tmp, err));
    } else {
        slot->data = t->data; /* read-only view of the caller's buffer */
    }
    return 0;
}

int ckpt_onnx_run(ckpt_onnx_session *s, const ckpt_onnx_tensor *inputs, size_t n_inputs,
                  ckpt_onnx_tensor *outputs, size_t n_outputs, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!s || (n_inputs && !inputs) || (n_outputs && !outputs))
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_onnx_run: NULL argument");
    const ox_graph *g = s->m->graph;
    ox_val *slots = slots_of(s, g, err);
    if (!slots)
        return CKPT_E_NOMEM;
    for (int i = 0; i < g->n_values; i++)
        slot_reset_view(&slots[i], &g->values[i]);
    bool *seen = calloc((size_t)g->n_values + 1, 1);
    if (!seen)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < n_inputs && rc == 0; i++) {
        rc = bind_input(s, slots, &inputs[i], i, err);
        if (rc == 0) {
            int vi = find_io(g, g->inputs, g->n_inputs, inputs[i].name, i);
            if (vi < 0 && inputs[i].name)
                vi = ox_graph_find(g, inputs[i].name);
            if (vi >= 0)
                seen[vi] = true;
        }
    }
    for (int i = 0; i < g->n_inputs && rc == 0; i++) {
        int vi = g->inputs[i];
        if (!seen[vi]) {
            if (g->values[vi].type.kind == OX_KIND_NONE) {
                ox_val_clear(&slots[vi]);
                slots[vi].kind = OX_KIND_NONE;
            } else {
                rc = CKPT_FAIL(err, CKPT_E_ARG, "input '%s' was not given", g->values[vi].name);
            }
        }
    }
    free(seen);
    if (rc < 0)
        goto fail;
    ox_run r = {s, g, slots, NULL, s->folded};
    blas_threads(s);
    s->prof_runs++;
    rc = exec_nodes(&r, err);
    if (rc < 0)
        goto fail;
    for (size_t i = 0; i < n_outputs; i++) {
        ckpt_onnx_tensor *o = &outputs[i];
        int vi = find_io(g, g->outputs, g->n_outputs, o->name, i);
        if (vi < 0) {
            rc = CKPT_FAIL(err, CKPT_E_NOT_FOUND, "output '%s' is not an output of the model",
                           o->name ? o->name : "(by position)");
            goto fail;
        }
        const ox_val *v = &slots[vi];
        if (v->kind != OX_KIND_TENSOR) {
            rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                           "output '%s' is a sequence or optional (read it with the internal API)",
                           g->values[vi].name);
            goto fail;
        }
        if (!o->name)
            o->name = g->values[vi].name;
        o->elem_type = v->dtype;
        o->dtype = ox_dtype_to_ckpt(v->dtype);
        o->ndim = v->rank;
        for (int k = 0; k < v->rank; k++)
            o->shape[k] = v->dims[k];
        size_t nb = ox_val_nbytes(v);
        if (o->data) {
            if (o->nbytes < nb) {
                o->nbytes = nb;
                rc = CKPT_FAIL(err, CKPT_E_SHAPE,
                               "output '%s' needs %zu bytes, the buffer has fewer",
                               g->values[vi].name, nb);
                goto fail;
            }
            if (nb)
                memcpy(o->data, v->data, nb);
        } else {
            o->data = v->data;
        }
        o->nbytes = nb;
    }
    return 0;
fail:
    ckpt__error_set_file(err, s->m->path);
    return rc;
}

/* ------------------------------------------------------------ internal access */

int ox_session_run_vals(ckpt_onnx_session *s, const ox_val *const *inputs, int n_inputs,
                        ckpt_error *err)
{
    const ox_graph *g = s->m->graph;
    ox_val *slots = slots_of(s, g, err);
    if (!slots)
        return CKPT_E_NOMEM;
    if (n_inputs > g->n_inputs)
        return CKPT_FAIL(err, CKPT_E_ARG, "%d inputs given, the model has %d", n_inputs,
                         g->n_inputs);
    for (int i = 0; i < g->n_values; i++)
        slot_reset_view(&slots[i], &g->values[i]);
    for (int i = 0; i < g->n_inputs; i++) {
        ox_val *dst = &slots[g->inputs[i]];
        const ox_val *src = i < n_inputs ? inputs[i] : NULL;
        if (!src || src->kind == OX_KIND_NONE) {
            ox_val_clear(dst);
            dst->kind = OX_KIND_NONE;
            if (src)
                dst->dtype = src->dtype;
            continue;
        }
        if (src->kind == OX_KIND_TENSOR && src->dtype != OX_STRING) {
            if (dst->kind == OX_KIND_SEQUENCE || dst->dtype == OX_STRING)
                ox_val_clear(dst);
            void *buf = dst->buf;
            size_t cap = dst->cap;
            *dst = *src;
            dst->buf = buf;
            dst->cap = cap;
            dst->items = NULL;
            dst->n_items = 0;
        } else {
            CKPT_TRY(ox_val_copy(dst, src, err));
        }
    }
    ox_run r = {s, g, slots, NULL, s->folded};
    blas_threads(s);
    int rc = exec_nodes(&r, err);
    if (rc < 0)
        ckpt__error_set_file(err, s->m->path);
    return rc;
}

const ckpt_onnx_model *ox_session_model(const ckpt_onnx_session *s)
{
    return s->m;
}

const ox_val *ox_session_value(ckpt_onnx_session *s, const char *name)
{
    const ox_graph *g = s->m->graph;
    int vi = ox_graph_find(g, name);
    if (vi < 0 || !s->n_graphs)
        return NULL;
    return &s->graphs[0].slots[vi];
}

/* ------------------------------------------------------------ standalone kernel calls */

/* The kernel contract's node fields are not const; ox_call lends borrowed
 * names and attributes for the duration of one call and never writes them. */
static void *unconst(const void *p)
{
    union {
        const void *c;
        void *m;
    } u = {.c = p};
    return u.m;
}

struct ox_callctx {
    ckpt_onnx_session s; /* no model: threads, max_bytes and scratch only */
    ox_record_fn rec;
    void *rec_ud;
};

ox_callctx *ox_callctx_new(int threads, size_t max_bytes, ckpt_error *err)
{
    ox_callctx *c = calloc(1, sizeof *c);
    if (!c) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    c->s.threads = threads > 1 ? threads : 1;
    c->s.max_bytes = max_bytes;
    return c;
}

void ox_callctx_free(ox_callctx *c)
{
    if (!c)
        return;
    free(c->s.scratch);
    free(c);
}

void ox_callctx_set_recorder(ox_callctx *c, ox_record_fn fn, void *ud)
{
    c->rec = fn;
    c->rec_ud = ud;
}

int ox_call(ox_callctx *c, const char *op_type, int opset, const ox_attr *attrs, int n_attrs,
            ox_val *const *in, int n_in, ox_val *const *out, int n_out, ckpt_error *err)
{
    enum { PAD = 8, MAXIO = 64 };
    if (n_in < 0 || n_out < 0 || n_in > MAXIO || n_out > MAXIO || n_attrs < 0)
        return CKPT_FAIL(err, CKPT_E_ARG, "%s: %d inputs, %d outputs (at most %d)", op_type, n_in,
                         n_out, MAXIO);
    if (opset <= 0)
        opset = OX_CALL_OPSET;
    const ox_op *op = ox_op_find("", op_type, opset);
    if (!op)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "op %s (opset %d) has no kernel", op_type,
                         opset);
    ox_val *inb[MAXIO + PAD] = {0}, *outb[MAXIO + PAD] = {0};
    int in_idx[MAXIO + 1], out_idx[MAXIO + 1];
    for (int k = 0; k < n_in; k++) {
        inb[k] = in[k];
        in_idx[k] = in[k] ? k : -1;
    }
    for (int k = 0; k < n_out; k++) {
        outb[k] = out[k];
        out_idx[k] = out[k] ? k : -1;
    }
    ox_node n = {0};
    n.name = unconst(op_type);
    n.op_type = unconst(op_type);
    n.domain = unconst("");
    n.opset = opset;
    n.n_in = n_in;
    n.n_out = n_out;
    n.in = in_idx;
    n.out = out_idx;
    n.attrs = unconst(attrs);
    n.n_attrs = n_attrs;
    n.op = op;
    if (op->prepare && op->prepare(&n, err) < 0) {
        free(n.state);
        return err && err->code ? err->code : CKPT_E_ARG;
    }
    ox_run r = {.s = &c->s};
    blas_threads(&c->s);
    int rc = op->run(&r, &n, inb, outb, err);
    if (rc >= 0 && c->rec)
        rc = c->rec(c->rec_ud, &n, inb, outb, err);
    free(n.state);
    return rc < 0 ? rc : 0;
}

ox_attr oxa_int(const char *name, int64_t v)
{
    return (ox_attr){.name = unconst(name), .type = OX_ATTR_INT, .i = v};
}

ox_attr oxa_float(const char *name, float v)
{
    return (ox_attr){.name = unconst(name), .type = OX_ATTR_FLOAT, .f = v};
}

ox_attr oxa_str(const char *name, const char *v)
{
    return (ox_attr){.name = unconst(name),
                     .type = OX_ATTR_STRING,
                     .s = unconst(v),
                     .s_len = strlen(v)};
}

ox_attr oxa_ints(const char *name, const int64_t *v, size_t n)
{
    return (ox_attr){.name = unconst(name), .type = OX_ATTR_INTS, .ints = unconst(v), .n = n};
}

ox_attr oxa_floats(const char *name, const float *v, size_t n)
{
    return (ox_attr){.name = unconst(name), .type = OX_ATTR_FLOATS, .floats = unconst(v), .n = n};
}

ox_attr oxa_tensor(const char *name, ox_val *t)
{
    return (ox_attr){.name = unconst(name), .type = OX_ATTR_TENSOR, .t = t};
}
