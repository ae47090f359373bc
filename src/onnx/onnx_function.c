/* src/onnx/onnx_function.c - inline model-local functions (FunctionProto)
 * into the graph before it is built.
 *
 * The rewrite works on the protobuf messages: rewritten nodes, graphs,
 * attributes and value infos are shallow copies of the originals with new
 * name arrays, allocated from an arena that is freed in one go.  Everything
 * not rewritten (tensors, types, strings) stays borrowed from the parsed
 * ModelProto. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/onnx_function.h"
#include "onnx/onnx_internal.h"

/* FunctionProto fields newer than the onnx.proto the code is generated from. */
#define FN_FIELD_ATTRIBUTE_PROTO 11

typedef struct fn_info {
    const Onnx__FunctionProto *f;
    Onnx__AttributeProto **defaults; /* unpacked attribute_proto entries */
    size_t n_defaults;
} fn_info;

struct ox_fn_inline {
    void **blocks;
    size_t n_blocks, cap_blocks;
    size_t bytes, limit;
    char *chunk; /* the chunk being carved, `used` bytes gone */
    size_t used;
    fn_info *fns;
    size_t n_fns;
    Onnx__ModelProto model;
    uint64_t counter;
    size_t nodes; /* nodes written, all graphs together */
    int gdepth;   /* graphs being rewritten, nested */
    ckpt_error *err;
};

/* The renaming of one expansion: function inputs/outputs to the call's
 * names, every other name prefixed. */
typedef struct scope {
    const fn_info *fi;
    const Onnx__NodeProto *call; /* already in the caller's names */
    char *prefix;
} scope;

#define FX_CHUNK ((size_t)64 << 10)

/* Keep `p` for fx_free's sweep. */
static int fx_keep(ox_fn_inline *x, void *p)
{
    if (x->n_blocks == x->cap_blocks) {
        size_t nc = x->cap_blocks ? 2 * x->cap_blocks : 64;
        void **nb = realloc(x->blocks, nc * sizeof *nb);
        if (!nb)
            return CKPT_FAIL(x->err, CKPT_E_NOMEM, "out of memory inlining functions");
        x->blocks = nb;
        x->cap_blocks = nc;
    }
    x->blocks[x->n_blocks++] = p;
    return 0;
}

/* Zeroed memory from the arena: carved from 64 KiB chunks, big requests get
 * their own block; counted against the limit. */
static void *fx_alloc(ox_fn_inline *x, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (!n)
        n = 16;
    if (n > x->limit || x->bytes > x->limit - n) {
        CKPT_FAIL(x->err, CKPT_E_LIMIT,
                  "inlining model-local functions needs more than the %zu-byte limit", x->limit);
        return NULL;
    }
    x->bytes += n;
    if (n > FX_CHUNK / 4) {
        void *p = calloc(1, n);
        if (!p || fx_keep(x, p) < 0) {
            free(p);
            CKPT_FAIL(x->err, CKPT_E_NOMEM, "out of memory inlining functions");
            return NULL;
        }
        return p;
    }
    if (!x->chunk || FX_CHUNK - x->used < n) {
        char *c = calloc(1, FX_CHUNK);
        if (!c || fx_keep(x, c) < 0) {
            free(c);
            CKPT_FAIL(x->err, CKPT_E_NOMEM, "out of memory inlining functions");
            return NULL;
        }
        x->chunk = c;
        x->used = 0;
    }
    void *p = x->chunk + x->used;
    x->used += n;
    return p;
}

static void *fx_dup(ox_fn_inline *x, const void *src, size_t n)
{
    void *p = fx_alloc(x, n);
    if (p && n)
        memcpy(p, src, n);
    return p;
}

static const char *nz(const char *s)
{
    return s ? s : "";
}

static const char *dom_norm(const char *d)
{
    d = nz(d);
    return strcmp(d, "ai.onnx") ? d : "";
}

static const fn_info *fn_find(const ox_fn_inline *x, const Onnx__NodeProto *np)
{
    const char *d = dom_norm(np->domain);
    for (size_t i = 0; i < x->n_fns; i++) {
        const Onnx__FunctionProto *f = x->fns[i].f;
        if (!strcmp(nz(f->name), nz(np->op_type)) && !strcmp(dom_norm(f->domain), d))
            return &x->fns[i];
    }
    return NULL;
}

static char *concat(ox_fn_inline *x, const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = fx_alloc(x, la + lb + 1);
    if (p) {
        memcpy(p, a, la);
        memcpy(p + la, b, lb + 1);
    }
    return p;
}

/* The name `name` takes in the expansion `s` (NULL: unchanged). */
static char *map_name(ox_fn_inline *x, const scope *s, char *name)
{
    if (!s || !name || !name[0])
        return name;
    const Onnx__FunctionProto *f = s->fi->f;
    for (size_t i = 0; i < f->n_input; i++)
        if (!strcmp(nz(f->input[i]), name))
            return i < s->call->n_input ? s->call->input[i] : (char *)"";
    for (size_t i = 0; i < f->n_output; i++)
        if (!strcmp(nz(f->output[i]), name)) {
            if (i < s->call->n_output && s->call->output[i] && s->call->output[i][0])
                return s->call->output[i];
            break;
        }
    return concat(x, s->prefix, name);
}

static int map_names(ox_fn_inline *x, const scope *s, char **src, size_t n, char ***dst)
{
    *dst = src;
    if (!s || !n)
        return 0;
    char **a = fx_alloc(x, n * sizeof *a);
    if (!a)
        return CKPT_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        a[i] = map_name(x, s, src[i]);
        if (!a[i])
            return CKPT_E_NOMEM;
    }
    *dst = a;
    return 0;
}

/* A list of rewritten nodes that grows. */
typedef struct nlist {
    Onnx__NodeProto **v;
    size_t n, cap;
} nlist;

static int nl_push(ox_fn_inline *x, nlist *l, Onnx__NodeProto *np)
{
    if (++x->nodes > OX_FUNCTION_MAX_NODES)
        return CKPT_FAIL(x->err, CKPT_E_LIMIT,
                         "inlining model-local functions makes more than %d nodes",
                         OX_FUNCTION_MAX_NODES);
    if (l->n == l->cap) {
        size_t nc = l->cap ? 2 * l->cap : 16;
        Onnx__NodeProto **nv = fx_alloc(x, nc * sizeof *nv);
        if (!nv)
            return CKPT_E_NOMEM;
        if (l->n)
            memcpy(nv, l->v, l->n * sizeof *nv);
        l->v = nv; /* the old array stays in the arena */
        l->cap = nc;
    }
    l->v[l->n++] = np;
    return 0;
}

static int rewrite_graph(ox_fn_inline *x, const scope *s, const Onnx__GraphProto *g, int depth,
                         Onnx__GraphProto **out);
static int rewrite_graph_body(ox_fn_inline *x, const scope *s, const Onnx__GraphProto *g,
                              int depth, Onnx__GraphProto *c);
static int expand(ox_fn_inline *x, const fn_info *fi, const Onnx__NodeProto *call, int depth,
                  nlist *out);

static int rewrite_vis(ox_fn_inline *x, const scope *s, Onnx__ValueInfoProto **src, size_t n,
                       Onnx__ValueInfoProto ***dst)
{
    *dst = src;
    if (!s || !n)
        return 0;
    Onnx__ValueInfoProto **a = fx_alloc(x, n * sizeof *a);
    if (!a)
        return CKPT_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        a[i] = fx_dup(x, src[i], sizeof *src[i]);
        if (!a[i] || !(a[i]->name = map_name(x, s, src[i]->name)))
            return CKPT_E_NOMEM;
    }
    *dst = a;
    return 0;
}

/* A copy of attribute `a` with its subgraphs rewritten in scope `s`. */
static int rewrite_attr(ox_fn_inline *x, const scope *s, const Onnx__AttributeProto *a, int depth,
                        Onnx__AttributeProto **out)
{
    Onnx__AttributeProto *c = fx_dup(x, a, sizeof *a);
    if (!c)
        return CKPT_E_NOMEM;
    if (a->g)
        CKPT_TRY(rewrite_graph(x, s, a->g, depth, &c->g));
    if (a->n_graphs) {
        c->graphs = fx_alloc(x, a->n_graphs * sizeof *c->graphs);
        if (!c->graphs)
            return CKPT_E_NOMEM;
        for (size_t i = 0; i < a->n_graphs; i++)
            CKPT_TRY(rewrite_graph(x, s, a->graphs[i], depth, &c->graphs[i]));
    }
    *out = c;
    return 0;
}

/* The attribute a function body's `ref_attr_name` names: the call's, else the
 * function's default; NULL when neither has it (the attribute is dropped). */
static const Onnx__AttributeProto *ref_value(const scope *s, const char *ref)
{
    for (size_t i = 0; i < s->call->n_attribute; i++)
        if (!strcmp(nz(s->call->attribute[i]->name), ref))
            return s->call->attribute[i];
    for (size_t i = 0; i < s->fi->n_defaults; i++)
        if (!strcmp(nz(s->fi->defaults[i]->name), ref))
            return s->fi->defaults[i];
    return NULL;
}

/* Node `np` renamed into scope `s` (attributes substituted, subgraphs
 * rewritten), then expanded when it calls a function; appended to `out`. */
static int rewrite_node(ox_fn_inline *x, const scope *s, const Onnx__NodeProto *np, int depth,
                        nlist *out)
{
    Onnx__NodeProto *c = fx_dup(x, np, sizeof *np);
    if (!c)
        return CKPT_E_NOMEM;
    CKPT_TRY(map_names(x, s, np->input, np->n_input, &c->input));
    CKPT_TRY(map_names(x, s, np->output, np->n_output, &c->output));
    if (s && np->name && np->name[0] && !(c->name = concat(x, s->prefix, np->name)))
        return CKPT_E_NOMEM;
    if (np->n_attribute) {
        c->attribute = fx_alloc(x, np->n_attribute * sizeof *c->attribute);
        if (!c->attribute)
            return CKPT_E_NOMEM;
        c->n_attribute = 0;
        for (size_t i = 0; i < np->n_attribute; i++) {
            const Onnx__AttributeProto *a = np->attribute[i];
            Onnx__AttributeProto *na;
            if (s && a->ref_attr_name && a->ref_attr_name[0]) {
                const Onnx__AttributeProto *v = ref_value(s, a->ref_attr_name);
                if (!v)
                    continue;
                na = fx_dup(x, v, sizeof *v);
                if (!na)
                    return CKPT_E_NOMEM;
                na->name = a->name;
                na->ref_attr_name = NULL;
            } else {
                CKPT_TRY(rewrite_attr(x, s, a, depth, &na));
            }
            c->attribute[c->n_attribute++] = na;
        }
    }
    const fn_info *fi = fn_find(x, c);
    if (fi)
        return expand(x, fi, c, depth + 1, out);
    return nl_push(x, out, c);
}

static int expand(ox_fn_inline *x, const fn_info *fi, const Onnx__NodeProto *call, int depth,
                  nlist *out)
{
    const Onnx__FunctionProto *f = fi->f;
    if (depth > OX_FUNCTION_MAX_DEPTH)
        return CKPT_FAIL(x->err, CKPT_E_LIMIT,
                         "node '%s': function '%s' calls nest deeper than %d (recursive?)",
                         nz(call->name), nz(f->name), OX_FUNCTION_MAX_DEPTH);
    if (call->n_input > f->n_input || call->n_output > f->n_output)
        return CKPT_FAIL(x->err, CKPT_E_FORMAT,
                         "node '%s': %zu inputs, %zu outputs for function '%s' of %zu, %zu",
                         nz(call->name), call->n_input, call->n_output, nz(f->name), f->n_input,
                         f->n_output);
    char pre[96];
    snprintf(pre, sizeof pre, "%.60s#%llu/", nz(f->name), (unsigned long long)++x->counter);
    scope s = {fi, call, fx_dup(x, pre, strlen(pre) + 1)};
    if (!s.prefix)
        return CKPT_E_NOMEM;
    for (size_t i = 0; i < f->n_node; i++) {
        int rc = rewrite_node(x, &s, f->node[i], depth, out);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int rewrite_graph(ox_fn_inline *x, const scope *s, const Onnx__GraphProto *g, int depth,
                         Onnx__GraphProto **out)
{
    if (x->gdepth >= OX_MAX_SUBGRAPH_DEPTH)
        return CKPT_FAIL(x->err, CKPT_E_LIMIT, "graph '%s': subgraphs nested deeper than %d",
                         nz(g->name), OX_MAX_SUBGRAPH_DEPTH);
    Onnx__GraphProto *c = fx_dup(x, g, sizeof *g);
    if (!c)
        return CKPT_E_NOMEM;
    x->gdepth++;
    int rc = rewrite_graph_body(x, s, g, depth, c);
    x->gdepth--;
    *out = c;
    return rc;
}

static int rewrite_graph_body(ox_fn_inline *x, const scope *s, const Onnx__GraphProto *g,
                              int depth, Onnx__GraphProto *c)
{
    CKPT_TRY(rewrite_vis(x, s, g->input, g->n_input, &c->input));
    CKPT_TRY(rewrite_vis(x, s, g->output, g->n_output, &c->output));
    CKPT_TRY(rewrite_vis(x, s, g->value_info, g->n_value_info, &c->value_info));
    if (s && g->n_initializer) {
        c->initializer = fx_alloc(x, g->n_initializer * sizeof *c->initializer);
        if (!c->initializer)
            return CKPT_E_NOMEM;
        for (size_t i = 0; i < g->n_initializer; i++) {
            c->initializer[i] = fx_dup(x, g->initializer[i], sizeof *g->initializer[i]);
            if (!c->initializer[i] ||
                !(c->initializer[i]->name = map_name(x, s, g->initializer[i]->name)))
                return CKPT_E_NOMEM;
        }
    }
    nlist l = {NULL, 0, 0};
    for (size_t i = 0; i < g->n_node; i++)
        CKPT_TRY(rewrite_node(x, s, g->node[i], depth, &l));
    c->node = l.v;
    c->n_node = l.n;
    return 0;
}

/* Unpack the attribute_proto entries protobuf-c kept as unknown fields. */
static int read_defaults(ox_fn_inline *x, fn_info *fi)
{
    const ProtobufCMessage *b = &fi->f->base;
    for (unsigned i = 0; i < b->n_unknown_fields; i++) {
        const ProtobufCMessageUnknownField *u = &b->unknown_fields[i];
        if (u->tag != FN_FIELD_ATTRIBUTE_PROTO ||
            u->wire_type != PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED)
            continue;
        /* protobuf-c keeps the field's length prefix with its bytes */
        const uint8_t *d = u->data;
        size_t len = u->len, pl = 0;
        uint64_t v = 0;
        for (int sh = 0; pl < len && pl < 10; sh += 7) {
            v |= (uint64_t)(d[pl] & 0x7f) << sh;
            if (!(d[pl++] & 0x80))
                break;
        }
        if (pl < len && v == len - pl) {
            d += pl;
            len -= pl;
        }
        Onnx__AttributeProto *a = onnx__attribute_proto__unpack(NULL, len, d);
        if (!a)
            return CKPT_FAIL(x->err, CKPT_E_FORMAT,
                             "function '%s': an attribute default is not an AttributeProto",
                             nz(fi->f->name));
        Onnx__AttributeProto **na = realloc(fi->defaults,
                                            (fi->n_defaults + 1) * sizeof *fi->defaults);
        if (!na) {
            onnx__attribute_proto__free_unpacked(a, NULL);
            return CKPT_FAIL(x->err, CKPT_E_NOMEM, "out of memory");
        }
        fi->defaults = na;
        fi->defaults[fi->n_defaults++] = a;
    }
    return 0;
}

int ox_functions_inline(const Onnx__ModelProto *mp, size_t limit, const Onnx__ModelProto **out,
                        ox_fn_inline **state, ckpt_error *err)
{
    *out = mp;
    *state = NULL;
    if (!mp->n_functions)
        return 0;
    ox_fn_inline *x = calloc(1, sizeof *x);
    if (!x)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    *state = x;
    x->limit = limit;
    x->err = err;
    x->fns = calloc(mp->n_functions, sizeof *x->fns);
    if (!x->fns)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < mp->n_functions; i++) {
        const Onnx__FunctionProto *f = mp->functions[i];
        if (!f->name || !f->name[0])
            return CKPT_FAIL(err, CKPT_E_FORMAT, "model-local function %zu has no name", i);
        for (size_t j = 0; j < x->n_fns; j++)
            if (!strcmp(x->fns[j].f->name, f->name) &&
                !strcmp(dom_norm(x->fns[j].f->domain), dom_norm(f->domain)))
                return CKPT_FAIL(err, CKPT_E_FORMAT, "function '%s' (domain '%s') defined twice",
                                 f->name, dom_norm(f->domain));
        x->fns[x->n_fns].f = f;
        x->n_fns++;
        CKPT_TRY(read_defaults(x, &x->fns[x->n_fns - 1]));
    }
    x->model = *mp;
    x->model.n_functions = 0;
    x->model.functions = NULL;
    /* the model's opset imports, then the functions' for domains it lacks */
    size_t no = mp->n_opset_import;
    for (size_t i = 0; i < mp->n_functions; i++)
        no += mp->functions[i]->n_opset_import;
    Onnx__OperatorSetIdProto **ops = fx_alloc(x, (no ? no : 1) * sizeof *ops);
    if (!ops)
        return CKPT_E_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < mp->n_opset_import; i++)
        ops[k++] = mp->opset_import[i];
    for (size_t i = 0; i < mp->n_functions; i++)
        for (size_t j = 0; j < mp->functions[i]->n_opset_import; j++) {
            Onnx__OperatorSetIdProto *o = mp->functions[i]->opset_import[j];
            bool have = false;
            for (size_t q = 0; q < k && !have; q++)
                have = !strcmp(dom_norm(ops[q]->domain), dom_norm(o->domain));
            if (!have)
                ops[k++] = o;
        }
    x->model.opset_import = ops;
    x->model.n_opset_import = k;
    if (mp->graph)
        CKPT_TRY(rewrite_graph(x, NULL, mp->graph, 0, &x->model.graph));
    *out = &x->model;
    return 0;
}

void ox_functions_free(ox_fn_inline *x)
{
    if (!x)
        return;
    for (size_t i = 0; i < x->n_blocks; i++)
        free(x->blocks[i]);
    free(x->blocks);
    for (size_t i = 0; x->fns && i < x->n_fns; i++) {
        for (size_t j = 0; j < x->fns[i].n_defaults; j++)
            onnx__attribute_proto__free_unpacked(x->fns[i].defaults[j], NULL);
        free(x->fns[i].defaults);
    }
    free(x->fns);
    free(x);
}
