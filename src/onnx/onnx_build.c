/* src/onnx/onnx_build.c - the mutable model builder (see onnx_build.h). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/onnx_build.h"

#define OB_STR_(x) #x
#define OB_STR(x) OB_STR_(x)
#define OB_VERSION                                                                               \
    OB_STR(CKPT_VERSION_MAJOR) "." OB_STR(CKPT_VERSION_MINOR) "." OB_STR(CKPT_VERSION_PATCH)

static char *bdup(const char *s)
{
    return strdup(s ? s : "");
}

static int nomem(ckpt_error *err)
{
    return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory building an ONNX model");
}

/* grow *arr (elements of `sz`) so that it holds at least n + 1 */
static int grow(void **arr, int *cap, int n, size_t sz)
{
    if (n < *cap)
        return 0;
    int nc = *cap ? 2 * *cap : 16;
    void *p = realloc(*arr, (size_t)nc * sz);
    if (!p)
        return -1;
    memset((char *)p + (size_t)*cap * sz, 0, (size_t)(nc - *cap) * sz);
    *arr = p;
    *cap = nc;
    return 0;
}

ob_model *ob_new(ckpt_error *err)
{
    ob_model *b = calloc(1, sizeof *b);
    if (!b) {
        nomem(err);
        return NULL;
    }
    b->ir_version = 7;
    b->producer_name = bdup("ckpt");
    b->producer_version = bdup(OB_VERSION);
    b->graph_name = bdup("ckpt");
    if (!b->producer_name || !b->producer_version || !b->graph_name) {
        ob_free(b);
        nomem(err);
        return NULL;
    }
    return b;
}

static void attr_free_owned(ox_attr *a)
{
    ox_attr_free(a, false); /* the graphs are borrowed */
}

static void node_free(ob_node *n)
{
    free(n->op);
    free(n->domain);
    free(n->name);
    for (int k = 0; k < n->n_in; k++)
        free(n->in[k]);
    for (int k = 0; k < n->n_out; k++)
        free(n->out[k]);
    free(n->in);
    free(n->out);
    for (int k = 0; k < n->n_attrs; k++)
        attr_free_owned(&n->attrs[k]);
    free(n->attrs);
}

static void vi_free(ob_vi *v)
{
    free(v->name);
    for (int i = 0; i < OX_MAX_RANK; i++)
        free(v->type.dim_params[i]);
}

void ob_free(ob_model *b)
{
    if (!b)
        return;
    free(b->producer_name);
    free(b->producer_version);
    free(b->domain);
    free(b->doc_string);
    free(b->graph_name);
    for (int i = 0; i < b->n_opsets; i++)
        free(b->opsets[i].domain);
    free(b->opsets);
    for (int i = 0; i < b->n_meta; i++) {
        free(b->meta_keys[i]);
        free(b->meta_values[i]);
    }
    free(b->meta_keys);
    free(b->meta_values);
    for (int i = 0; i < b->n_nodes; i++)
        node_free(&b->nodes[i]);
    free(b->nodes);
    for (int i = 0; i < b->n_inits; i++) {
        free(b->inits[i].name);
        ox_val_clear(&b->inits[i].v);
    }
    free(b->inits);
    for (int i = 0; i < b->n_inputs; i++)
        vi_free(&b->inputs[i]);
    for (int i = 0; i < b->n_outputs; i++)
        vi_free(&b->outputs[i]);
    for (int i = 0; i < b->n_vinfo; i++)
        vi_free(&b->vinfo[i]);
    free(b->inputs);
    free(b->outputs);
    free(b->vinfo);
    free(b);
}

int ob_set_opset(ob_model *b, const char *domain, int64_t version, ckpt_error *err)
{
    const char *d = domain ? domain : "";
    for (int i = 0; i < b->n_opsets; i++)
        if (!strcmp(b->opsets[i].domain, d)) {
            b->opsets[i].version = version;
            return 0;
        }
    ox_opset *o = realloc(b->opsets, (size_t)(b->n_opsets + 1) * sizeof *o);
    if (!o)
        return nomem(err);
    b->opsets = o;
    o[b->n_opsets].domain = bdup(d);
    if (!o[b->n_opsets].domain)
        return nomem(err);
    o[b->n_opsets].version = version;
    b->n_opsets++;
    return 0;
}

ob_node *ob_add_node(ob_model *b, const char *op, const char *name, int n_in,
                     const char *const *in, int n_out, const char *const *out, ckpt_error *err)
{
    if (grow((void **)&b->nodes, &b->cap_nodes, b->n_nodes, sizeof *b->nodes) < 0) {
        nomem(err);
        return NULL;
    }
    ob_node *n = &b->nodes[b->n_nodes];
    memset(n, 0, sizeof *n);
    n->op = bdup(op);
    n->domain = bdup("");
    n->name = bdup(name);
    n->in = calloc((size_t)(n_in > 0 ? n_in : 1), sizeof(char *));
    n->out = calloc((size_t)(n_out > 0 ? n_out : 1), sizeof(char *));
    b->n_nodes++;
    if (!n->op || !n->domain || !n->name || !n->in || !n->out) {
        nomem(err);
        return NULL;
    }
    for (int k = 0; k < n_in; k++) {
        n->in[k] = bdup(in[k]);
        if (!n->in[k]) {
            nomem(err);
            return NULL;
        }
        n->n_in++;
    }
    for (int k = 0; k < n_out; k++) {
        n->out[k] = bdup(out[k]);
        if (!n->out[k]) {
            nomem(err);
            return NULL;
        }
        n->n_out++;
    }
    return n;
}

int ob_node_set_input(ob_node *n, int k, const char *name, ckpt_error *err)
{
    char *s = bdup(name);
    if (!s)
        return nomem(err);
    free(n->in[k]);
    n->in[k] = s;
    return 0;
}

static ox_attr *attr_new(ob_node *n, const char *name, int type, ckpt_error *err)
{
    ob_attr_remove(n, name);
    ox_attr *a = realloc(n->attrs, (size_t)(n->n_attrs + 1) * sizeof *a);
    if (!a) {
        nomem(err);
        return NULL;
    }
    n->attrs = a;
    a = &n->attrs[n->n_attrs];
    memset(a, 0, sizeof *a);
    a->name = bdup(name);
    if (!a->name) {
        nomem(err);
        return NULL;
    }
    a->type = type;
    n->n_attrs++;
    return a;
}

void ob_attr_remove(ob_node *n, const char *name)
{
    for (int k = 0; k < n->n_attrs; k++)
        if (!strcmp(n->attrs[k].name, name)) {
            attr_free_owned(&n->attrs[k]);
            memmove(&n->attrs[k], &n->attrs[k + 1],
                    (size_t)(n->n_attrs - k - 1) * sizeof *n->attrs);
            n->n_attrs--;
            return;
        }
}

const ox_attr *ob_attr_get(const ob_node *n, const char *name)
{
    for (int k = 0; k < n->n_attrs; k++)
        if (!strcmp(n->attrs[k].name, name))
            return &n->attrs[k];
    return NULL;
}

int ob_attr_int(ob_node *n, const char *name, int64_t v, ckpt_error *err)
{
    ox_attr *a = attr_new(n, name, OX_ATTR_INT, err);
    if (!a)
        return CKPT_E_NOMEM;
    a->i = v;
    return 0;
}

int ob_attr_float(ob_node *n, const char *name, float v, ckpt_error *err)
{
    ox_attr *a = attr_new(n, name, OX_ATTR_FLOAT, err);
    if (!a)
        return CKPT_E_NOMEM;
    a->f = v;
    return 0;
}

int ob_attr_str(ob_node *n, const char *name, const char *v, ckpt_error *err)
{
    ox_attr *a = attr_new(n, name, OX_ATTR_STRING, err);
    if (!a)
        return CKPT_E_NOMEM;
    a->s = bdup(v);
    if (!a->s)
        return nomem(err);
    a->s_len = strlen(a->s);
    return 0;
}

int ob_attr_ints(ob_node *n, const char *name, size_t cnt, const int64_t *v, ckpt_error *err)
{
    ox_attr *a = attr_new(n, name, OX_ATTR_INTS, err);
    if (!a)
        return CKPT_E_NOMEM;
    a->ints = malloc((cnt ? cnt : 1) * sizeof(int64_t));
    if (!a->ints)
        return nomem(err);
    if (cnt)
        memcpy(a->ints, v, cnt * sizeof(int64_t));
    a->n = cnt;
    return 0;
}

int ob_attr_floats(ob_node *n, const char *name, size_t cnt, const float *v, ckpt_error *err)
{
    ox_attr *a = attr_new(n, name, OX_ATTR_FLOATS, err);
    if (!a)
        return CKPT_E_NOMEM;
    a->floats = malloc((cnt ? cnt : 1) * sizeof(float));
    if (!a->floats)
        return nomem(err);
    if (cnt)
        memcpy(a->floats, v, cnt * sizeof(float));
    a->n = cnt;
    return 0;
}

int ob_attr_tensor(ob_node *n, const char *name, const ox_val *t, ckpt_error *err)
{
    ox_attr *a = attr_new(n, name, OX_ATTR_TENSOR, err);
    if (!a)
        return CKPT_E_NOMEM;
    a->t = calloc(1, sizeof *a->t);
    if (!a->t)
        return nomem(err);
    return ox_val_copy(a->t, t, err);
}

int ob_attr_copy(ob_node *n, const ox_attr *src, ckpt_error *err)
{
    ox_attr *a = attr_new(n, src->name, src->type, err);
    if (!a)
        return CKPT_E_NOMEM;
    a->f = src->f;
    a->i = src->i;
    a->n = src->n;
    if (src->ref_attr_name && !(a->ref_attr_name = bdup(src->ref_attr_name)))
        return nomem(err);
    if (src->s) {
        a->s = malloc(src->s_len + 1);
        if (!a->s)
            return nomem(err);
        memcpy(a->s, src->s, src->s_len + 1);
        a->s_len = src->s_len;
    }
    size_t cnt = src->n ? src->n : 1;
    if (src->floats) {
        if (!(a->floats = malloc(cnt * sizeof(float))))
            return nomem(err);
        memcpy(a->floats, src->floats, src->n * sizeof(float));
    }
    if (src->ints) {
        if (!(a->ints = malloc(cnt * sizeof(int64_t))))
            return nomem(err);
        memcpy(a->ints, src->ints, src->n * sizeof(int64_t));
    }
    if (src->strings) {
        a->strings = calloc(cnt, sizeof(char *));
        a->string_lens = calloc(cnt, sizeof(size_t));
        if (!a->strings || !a->string_lens)
            return nomem(err);
        for (size_t i = 0; i < src->n; i++) {
            size_t len = src->string_lens ? src->string_lens[i] : strlen(src->strings[i]);
            if (!(a->strings[i] = malloc(len + 1)))
                return nomem(err);
            memcpy(a->strings[i], src->strings[i], len);
            a->strings[i][len] = 0;
            a->string_lens[i] = len;
        }
    }
    if (src->t) {
        if (!(a->t = calloc(1, sizeof *a->t)))
            return nomem(err);
        CKPT_TRY(ox_val_copy(a->t, src->t, err));
    }
    if (src->tensors) {
        if (!(a->tensors = calloc(cnt, sizeof *a->tensors)))
            return nomem(err);
        for (size_t i = 0; i < src->n; i++)
            CKPT_TRY(ox_val_copy(&a->tensors[i], &src->tensors[i], err));
    }
    a->g = src->g;
    if (src->graphs) {
        if (!(a->graphs = calloc(cnt, sizeof *a->graphs)))
            return nomem(err);
        memcpy(a->graphs, src->graphs, src->n * sizeof *a->graphs);
    }
    return 0;
}

ob_init *ob_add_init(ob_model *b, const char *name, int dtype, int rank, const int64_t *dims,
                     const void *data, ckpt_error *err)
{
    if (grow((void **)&b->inits, &b->cap_inits, b->n_inits, sizeof *b->inits) < 0) {
        nomem(err);
        return NULL;
    }
    ob_init *in = &b->inits[b->n_inits];
    memset(in, 0, sizeof *in);
    in->name = bdup(name);
    if (!in->name) {
        nomem(err);
        return NULL;
    }
    b->n_inits++;
    ox_val src = {0};
    src.kind = OX_KIND_TENSOR;
    src.dtype = dtype;
    src.rank = rank;
    for (int i = 0; i < rank; i++)
        src.dims[i] = dims[i];
    src.numel = ox_numel(rank, dims);
    src.data = (void *)(uintptr_t)data;
    if (src.numel < 0) {
        CKPT_FAIL(err, CKPT_E_SHAPE, "initializer '%s': bad shape", name);
        return NULL;
    }
    static const char zero[16];
    if (!data && src.numel == 0)
        src.data = (void *)(uintptr_t)zero;
    if (ox_val_copy(&in->v, &src, err) < 0)
        return NULL;
    return in;
}

ob_init *ob_find_init(ob_model *b, const char *name)
{
    for (int i = 0; i < b->n_inits; i++)
        if (!b->inits[i].dead && !strcmp(b->inits[i].name, name))
            return &b->inits[i];
    return NULL;
}

static int vi_add(ob_vi **arr, int *n, int *cap, const char *name, const ox_type *t,
                  ckpt_error *err)
{
    if (grow((void **)arr, cap, *n, sizeof **arr) < 0)
        return nomem(err);
    ob_vi *v = &(*arr)[*n];
    memset(v, 0, sizeof *v);
    v->type.rank = -1;
    v->name = bdup(name);
    if (!v->name)
        return nomem(err);
    (*n)++;
    if (t) {
        v->type = *t;
        for (int i = 0; i < OX_MAX_RANK; i++) {
            v->type.dim_params[i] = NULL;
            if (i < t->rank && t->dim_params[i] &&
                !(v->type.dim_params[i] = bdup(t->dim_params[i])))
                return nomem(err);
        }
    }
    return 0;
}

int ob_add_input(ob_model *b, const char *name, const ox_type *t, ckpt_error *err)
{
    return vi_add(&b->inputs, &b->n_inputs, &b->cap_inputs, name, t, err);
}

int ob_add_output(ob_model *b, const char *name, const ox_type *t, ckpt_error *err)
{
    return vi_add(&b->outputs, &b->n_outputs, &b->cap_outputs, name, t, err);
}

int ob_add_vinfo(ob_model *b, const char *name, const ox_type *t, ckpt_error *err)
{
    return vi_add(&b->vinfo, &b->n_vinfo, &b->cap_vinfo, name, t, err);
}

ox_type ob_tensor_type(int dtype, int rank, const int64_t *dims, const char *const *dim_params)
{
    ox_type t;
    memset(&t, 0, sizeof t);
    t.known = true;
    t.kind = OX_KIND_TENSOR;
    t.dtype = dtype;
    t.rank = rank;
    for (int i = 0; i < rank && i < OX_MAX_RANK; i++) {
        t.dims[i] = dims ? dims[i] : -1;
        t.dim_params[i] = dim_params ? (char *)(uintptr_t)dim_params[i] : NULL;
    }
    return t;
}

char *ob_fresh(ob_model *b, const char *base, char *buf, size_t cap)
{
    snprintf(buf, cap, "%s_%llu", base, (unsigned long long)++b->uniq);
    return buf;
}

ob_model *ob_from_model(const ckpt_onnx_model *m, ckpt_error *err)
{
    ob_model *b = ob_new(err);
    if (!b)
        return NULL;
    const ox_graph *g = m->graph;
    free(b->producer_name);
    free(b->producer_version);
    free(b->graph_name);
    b->producer_name = bdup(m->producer_name);
    b->producer_version = bdup(m->producer_version);
    b->graph_name = bdup(g->name);
    b->domain = bdup(m->domain);
    b->doc_string = bdup(m->doc_string);
    b->ir_version = m->ir_version;
    b->model_version = m->model_version;
    if (!b->producer_name || !b->producer_version || !b->graph_name || !b->domain ||
        !b->doc_string)
        goto oom;
    for (int i = 0; i < m->n_opsets; i++)
        if (ob_set_opset(b, m->opsets[i].domain, m->opsets[i].version, err) < 0)
            goto fail;
    if (m->n_meta) {
        b->meta_keys = calloc((size_t)m->n_meta, sizeof(char *));
        b->meta_values = calloc((size_t)m->n_meta, sizeof(char *));
        if (!b->meta_keys || !b->meta_values)
            goto oom;
        for (int i = 0; i < m->n_meta; i++) {
            b->meta_keys[i] = bdup(m->meta_keys[i]);
            b->meta_values[i] = bdup(m->meta_values[i]);
            b->n_meta++;
            if (!b->meta_keys[i] || !b->meta_values[i])
                goto oom;
        }
    }
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *n = &g->nodes[i];
        const char *in[4096], *out[4096];
        if (n->n_in > 4096 || n->n_out > 4096) {
            CKPT_FAIL(err, CKPT_E_LIMIT, "node '%s': too many inputs", n->name);
            goto fail;
        }
        for (int k = 0; k < n->n_in; k++)
            in[k] = n->in[k] >= 0 ? g->values[n->in[k]].name : "";
        for (int k = 0; k < n->n_out; k++)
            out[k] = n->out[k] >= 0 ? g->values[n->out[k]].name : "";
        ob_node *bn = ob_add_node(b, n->op_type, n->name[0] == '#' ? "" : n->name, n->n_in, in,
                                  n->n_out, out, err);
        if (!bn)
            goto fail;
        free(bn->domain);
        if (!(bn->domain = bdup(n->domain)))
            goto oom;
        for (int k = 0; k < n->n_attrs; k++)
            if (ob_attr_copy(bn, &n->attrs[k], err) < 0)
                goto fail;
    }
    for (int i = 0; i < g->n_initializers; i++) {
        const ox_value *v = &g->values[g->initializers[i]];
        if (!ob_add_init(b, v->name, v->init.dtype, v->init.rank, v->init.dims, v->init.data,
                         err))
            goto fail;
    }
    for (int i = 0; i < g->n_inputs; i++) {
        const ox_value *v = &g->values[g->inputs[i]];
        if (ob_add_input(b, v->name, &v->type, err) < 0)
            goto fail;
    }
    for (int i = 0; i < g->n_initializers; i++) {
        const ox_value *v = &g->values[g->initializers[i]];
        if (v->is_input && ob_add_input(b, v->name, &v->type, err) < 0)
            goto fail;
    }
    for (int i = 0; i < g->n_outputs; i++) {
        const ox_value *v = &g->values[g->outputs[i]];
        if (ob_add_output(b, v->name, &v->type, err) < 0)
            goto fail;
    }
    for (int i = 0; i < g->n_values; i++) {
        const ox_value *v = &g->values[i];
        if (!v->type.known || v->is_input || v->is_output || v->is_initializer || v->outer >= 0 ||
            v->producer < 0)
            continue;
        if (ob_add_vinfo(b, v->name, &v->type, err) < 0)
            goto fail;
    }
    return b;
oom:
    nomem(err);
fail:
    ob_free(b);
    return NULL;
}
