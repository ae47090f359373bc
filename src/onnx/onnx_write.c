/* src/onnx/onnx_write.c - ModelProto out: a loaded model (ox_graph) or a
 * builder (ob_model) -> protobuf-c messages -> bytes -> a file written
 * atomically (temporary file in the same folder, fsync, rename).
 *
 * Tensors go out as raw_data (little-endian, the host's layout: ckpt runs on
 * little-endian hosts only), STRING tensors as string_data.  The messages
 * borrow names and tensor bytes from the IR; only the message structs are
 * allocated, in one arena freed after packing. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic.h"
#include "core/err.h"
#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_build.h"
#include "onnx/onnx_internal.h"

/* ------------------------------------------------------------ arena */

typedef struct wa {
    void **blocks;
    size_t n, cap;
    bool oom;
    Onnx__TypeProto **tps; /* unpacked type protos (TYPE_PROTO attributes) */
    size_t n_tps;
} wa;

static void *wa_alloc(wa *w, size_t bytes)
{
    if (w->oom)
        return NULL;
    if (w->n == w->cap) {
        size_t nc = w->cap ? 2 * w->cap : 256;
        void **nb = realloc(w->blocks, nc * sizeof *nb);
        if (!nb) {
            w->oom = true;
            return NULL;
        }
        w->blocks = nb;
        w->cap = nc;
    }
    void *p = calloc(1, bytes ? bytes : 1);
    if (!p) {
        w->oom = true;
        return NULL;
    }
    w->blocks[w->n++] = p;
    return p;
}

static void wa_free(wa *w)
{
    for (size_t i = 0; i < w->n; i++)
        free(w->blocks[i]);
    free(w->blocks);
    for (size_t i = 0; i < w->n_tps; i++)
        onnx__type_proto__free_unpacked(w->tps[i], NULL);
    free(w->tps);
    memset(w, 0, sizeof *w);
}

#define WA_NEW(w, T) ((T *)wa_alloc((w), sizeof(T)))
#define WA_ARR(w, T, n) ((T *)wa_alloc((w), (size_t)(n) * sizeof(T)))

/* protobuf-c wants char * for strings it only reads while packing */
static char *cs(const char *s)
{
    return (char *)(uintptr_t)(s ? s : "");
}

/* ------------------------------------------------------------ pieces */

static Onnx__TensorProto *tensor_proto(wa *w, const char *name, const ox_val *v)
{
    Onnx__TensorProto *tp = WA_NEW(w, Onnx__TensorProto);
    if (!tp)
        return NULL;
    onnx__tensor_proto__init(tp);
    tp->name = cs(name);
    tp->has_data_type = 1;
    tp->data_type = v->dtype;
    tp->n_dims = (size_t)v->rank;
    tp->dims = WA_ARR(w, int64_t, v->rank);
    if (!tp->dims)
        return NULL;
    for (int i = 0; i < v->rank; i++)
        tp->dims[i] = v->dims[i];
    if (v->dtype == OX_STRING) {
        tp->n_string_data = (size_t)v->numel;
        tp->string_data = WA_ARR(w, ProtobufCBinaryData, v->numel);
        if (!tp->string_data)
            return NULL;
        char *const *s = v->data;
        for (int64_t i = 0; i < v->numel; i++) {
            tp->string_data[i].data = (uint8_t *)cs(s[i]);
            tp->string_data[i].len = s[i] ? strlen(s[i]) : 0;
        }
    } else {
        tp->has_raw_data = 1;
        tp->raw_data.len = ox_val_nbytes(v);
        tp->raw_data.data = tp->raw_data.len ? (uint8_t *)v->data : NULL;
    }
    return tp;
}

static Onnx__TypeProto *type_proto(wa *w, const ox_type *t)
{
    Onnx__TypeProto *tp = WA_NEW(w, Onnx__TypeProto);
    Onnx__TypeProto__Tensor *tt = WA_NEW(w, Onnx__TypeProto__Tensor);
    if (!tp || !tt)
        return NULL;
    onnx__type_proto__init(tp);
    onnx__type_proto__tensor__init(tt);
    tt->has_elem_type = t->dtype > 0;
    tt->elem_type = t->dtype;
    if (t->rank >= 0) {
        Onnx__TensorShapeProto *sh = WA_NEW(w, Onnx__TensorShapeProto);
        if (!sh)
            return NULL;
        onnx__tensor_shape_proto__init(sh);
        sh->n_dim = (size_t)t->rank;
        sh->dim = WA_ARR(w, Onnx__TensorShapeProto__Dimension *, t->rank);
        if (!sh->dim)
            return NULL;
        for (int i = 0; i < t->rank; i++) {
            Onnx__TensorShapeProto__Dimension *d = WA_NEW(w, Onnx__TensorShapeProto__Dimension);
            if (!d)
                return NULL;
            onnx__tensor_shape_proto__dimension__init(d);
            if (t->dims[i] >= 0) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
                d->dim_value = t->dims[i];
            } else if (t->dim_params[i]) {
                d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
                d->dim_param = cs(t->dim_params[i]);
            }
            sh->dim[i] = d;
        }
        tt->shape = sh;
    }
    Onnx__TypeProto *inner = tp;
    if (t->kind == OX_KIND_NONE && t->optional_sequence) {
        Onnx__TypeProto__Optional *o = WA_NEW(w, Onnx__TypeProto__Optional);
        Onnx__TypeProto *e = WA_NEW(w, Onnx__TypeProto);
        Onnx__TypeProto__Sequence *s = WA_NEW(w, Onnx__TypeProto__Sequence);
        Onnx__TypeProto *e2 = WA_NEW(w, Onnx__TypeProto);
        if (!o || !e || !s || !e2)
            return NULL;
        onnx__type_proto__optional__init(o);
        onnx__type_proto__init(e);
        onnx__type_proto__sequence__init(s);
        onnx__type_proto__init(e2);
        tp->value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE;
        tp->optional_type = o;
        o->elem_type = e;
        e->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
        e->sequence_type = s;
        s->elem_type = e2;
        inner = e2;
    } else if (t->kind == OX_KIND_NONE) {
        Onnx__TypeProto__Optional *o = WA_NEW(w, Onnx__TypeProto__Optional);
        Onnx__TypeProto *e = WA_NEW(w, Onnx__TypeProto);
        if (!o || !e)
            return NULL;
        onnx__type_proto__optional__init(o);
        onnx__type_proto__init(e);
        o->elem_type = e;
        tp->value_case = ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE;
        tp->optional_type = o;
        inner = e;
    } else if (t->kind == OX_KIND_SEQUENCE) {
        Onnx__TypeProto__Sequence *s = WA_NEW(w, Onnx__TypeProto__Sequence);
        Onnx__TypeProto *e = WA_NEW(w, Onnx__TypeProto);
        if (!s || !e)
            return NULL;
        onnx__type_proto__sequence__init(s);
        onnx__type_proto__init(e);
        s->elem_type = e;
        tp->value_case = ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE;
        tp->sequence_type = s;
        inner = e;
    }
    inner->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    inner->tensor_type = tt;
    return tp;
}

static Onnx__ValueInfoProto *vi_proto(wa *w, const char *name, const ox_type *t)
{
    Onnx__ValueInfoProto *vp = WA_NEW(w, Onnx__ValueInfoProto);
    if (!vp)
        return NULL;
    onnx__value_info_proto__init(vp);
    vp->name = cs(name);
    if (t && t->known && (t->dtype > 0 || t->rank >= 0)) {
        vp->type = type_proto(w, t);
        if (!vp->type)
            return NULL;
    }
    return vp;
}

static Onnx__GraphProto *graph_proto_ox(wa *w, const ox_graph *g);

static Onnx__AttributeProto *attr_proto(wa *w, const ox_attr *a)
{
    Onnx__AttributeProto *ap = WA_NEW(w, Onnx__AttributeProto);
    if (!ap)
        return NULL;
    onnx__attribute_proto__init(ap);
    ap->name = cs(a->name);
    if (a->ref_attr_name)
        ap->ref_attr_name = cs(a->ref_attr_name);
    ap->has_type = 1;
    ap->type = (Onnx__AttributeProto__AttributeType)a->type;
    switch (a->type) {
    case OX_ATTR_FLOAT:
        ap->has_f = 1;
        ap->f = a->f;
        break;
    case OX_ATTR_INT:
        ap->has_i = 1;
        ap->i = a->i;
        break;
    case OX_ATTR_STRING:
        ap->has_s = 1;
        ap->s.data = (uint8_t *)cs(a->s);
        ap->s.len = a->s ? a->s_len : 0;
        break;
    case OX_ATTR_TENSOR:
        if (!a->t)
            return NULL;
        ap->t = tensor_proto(w, "", a->t);
        if (!ap->t)
            return NULL;
        break;
    case OX_ATTR_GRAPH:
        if (!a->g)
            return NULL;
        ap->g = graph_proto_ox(w, a->g);
        if (!ap->g)
            return NULL;
        break;
    case OX_ATTR_FLOATS:
        ap->n_floats = a->n;
        ap->floats = a->floats;
        break;
    case OX_ATTR_INTS:
        ap->n_ints = a->n;
        ap->ints = a->ints;
        break;
    case OX_ATTR_STRINGS:
        ap->n_strings = a->n;
        ap->strings = WA_ARR(w, ProtobufCBinaryData, a->n);
        if (!ap->strings)
            return NULL;
        for (size_t i = 0; i < a->n; i++) {
            ap->strings[i].data = (uint8_t *)cs(a->strings[i]);
            ap->strings[i].len = a->string_lens ? a->string_lens[i] : strlen(a->strings[i]);
        }
        break;
    case OX_ATTR_TENSORS:
        ap->n_tensors = a->n;
        ap->tensors = WA_ARR(w, Onnx__TensorProto *, a->n);
        if (!ap->tensors)
            return NULL;
        for (size_t i = 0; i < a->n; i++)
            if (!(ap->tensors[i] = tensor_proto(w, "", &a->tensors[i])))
                return NULL;
        break;
    case OX_ATTR_GRAPHS:
        ap->n_graphs = a->n;
        ap->graphs = WA_ARR(w, Onnx__GraphProto *, a->n);
        if (!ap->graphs)
            return NULL;
        for (size_t i = 0; i < a->n; i++)
            if (!(ap->graphs[i] = graph_proto_ox(w, a->graphs[i])))
                return NULL;
        break;
    case OX_ATTR_TYPE_PROTO: {
        /* the reader keeps the TypeProto packed in s */
        Onnx__TypeProto **tps = realloc(w->tps, (w->n_tps + 1) * sizeof *tps);
        if (!tps || !a->s) {
            if (tps)
                w->tps = tps;
            return NULL;
        }
        w->tps = tps;
        ap->has_s = 0;
        ap->tp = onnx__type_proto__unpack(NULL, a->s_len, (const uint8_t *)a->s);
        if (!ap->tp)
            return NULL;
        w->tps[w->n_tps++] = ap->tp;
        break;
    }
    default:
        /* sparse tensors are not read: the attribute keeps its name and type
         * only when it is a reference (function bodies) */
        if (!a->ref_attr_name)
            ap->has_type = 0;
        break;
    }
    return ap;
}

static Onnx__NodeProto *node_proto(wa *w, const char *op, const char *domain, const char *name,
                                   int n_in, const char *const *in, int n_out,
                                   const char *const *out, const ox_attr *attrs, int n_attrs)
{
    Onnx__NodeProto *np = WA_NEW(w, Onnx__NodeProto);
    if (!np)
        return NULL;
    onnx__node_proto__init(np);
    np->op_type = cs(op);
    if (domain && domain[0])
        np->domain = cs(domain);
    if (name && name[0] && name[0] != '#')
        np->name = cs(name);
    np->n_input = (size_t)n_in;
    np->input = WA_ARR(w, char *, n_in);
    np->n_output = (size_t)n_out;
    np->output = WA_ARR(w, char *, n_out);
    np->n_attribute = (size_t)n_attrs;
    np->attribute = WA_ARR(w, Onnx__AttributeProto *, n_attrs);
    if (!np->input || !np->output || !np->attribute)
        return NULL;
    for (int k = 0; k < n_in; k++)
        np->input[k] = cs(in[k]);
    for (int k = 0; k < n_out; k++)
        np->output[k] = cs(out[k]);
    for (int k = 0; k < n_attrs; k++)
        if (!(np->attribute[k] = attr_proto(w, &attrs[k])))
            return NULL;
    return np;
}

/* ------------------------------------------------------------ a loaded graph */

static const char *val_name(const ox_graph *g, int vi)
{
    return vi >= 0 && vi < g->n_values ? g->values[vi].name : "";
}

static Onnx__GraphProto *graph_proto_ox(wa *w, const ox_graph *g)
{
    Onnx__GraphProto *gp = WA_NEW(w, Onnx__GraphProto);
    if (!gp)
        return NULL;
    onnx__graph_proto__init(gp);
    gp->name = cs(g->name);
    gp->node = WA_ARR(w, Onnx__NodeProto *, g->n_nodes);
    if (!gp->node)
        return NULL;
    for (int i = 0; i < g->n_nodes; i++) {
        const ox_node *n = &g->nodes[i];
        const char **in = WA_ARR(w, const char *, n->n_in);
        const char **out = WA_ARR(w, const char *, n->n_out);
        if (!in || !out)
            return NULL;
        for (int k = 0; k < n->n_in; k++)
            in[k] = val_name(g, n->in[k]);
        for (int k = 0; k < n->n_out; k++)
            out[k] = val_name(g, n->out[k]);
        gp->node[i] = node_proto(w, n->op_type, n->domain, n->name, n->n_in, in, n->n_out, out,
                                 n->attrs, n->n_attrs);
        if (!gp->node[i])
            return NULL;
        gp->n_node++;
    }
    gp->initializer = WA_ARR(w, Onnx__TensorProto *, g->n_initializers);
    if (!gp->initializer)
        return NULL;
    int n_init_inputs = 0;
    for (int i = 0; i < g->n_initializers; i++) {
        const ox_value *v = &g->values[g->initializers[i]];
        if (!(gp->initializer[i] = tensor_proto(w, v->name, &v->init)))
            return NULL;
        gp->n_initializer++;
        n_init_inputs += v->is_input;
    }
    gp->input = WA_ARR(w, Onnx__ValueInfoProto *, g->n_inputs + n_init_inputs);
    gp->output = WA_ARR(w, Onnx__ValueInfoProto *, g->n_outputs);
    gp->value_info = WA_ARR(w, Onnx__ValueInfoProto *, g->n_values);
    if (!gp->input || !gp->output || !gp->value_info)
        return NULL;
    for (int i = 0; i < g->n_inputs; i++) {
        const ox_value *v = &g->values[g->inputs[i]];
        if (!(gp->input[gp->n_input++] = vi_proto(w, v->name, &v->type)))
            return NULL;
    }
    /* initializers that are also inputs (overridable defaults) */
    for (int i = 0; i < g->n_initializers; i++) {
        const ox_value *v = &g->values[g->initializers[i]];
        if (v->is_input && !(gp->input[gp->n_input++] = vi_proto(w, v->name, &v->type)))
            return NULL;
    }
    for (int i = 0; i < g->n_outputs; i++) {
        const ox_value *v = &g->values[g->outputs[i]];
        if (!(gp->output[gp->n_output++] = vi_proto(w, v->name, &v->type)))
            return NULL;
    }
    for (int i = 0; i < g->n_values; i++) {
        const ox_value *v = &g->values[i];
        if (!v->type.known || v->is_input || v->is_output || v->is_initializer || v->outer >= 0 ||
            v->producer < 0)
            continue;
        if (!(gp->value_info[gp->n_value_info++] = vi_proto(w, v->name, &v->type)))
            return NULL;
    }
    return gp;
}

static Onnx__OperatorSetIdProto **opsets_proto(wa *w, const ox_opset *o, int n)
{
    Onnx__OperatorSetIdProto **arr = WA_ARR(w, Onnx__OperatorSetIdProto *, n);
    if (!arr)
        return NULL;
    for (int i = 0; i < n; i++) {
        Onnx__OperatorSetIdProto *p = WA_NEW(w, Onnx__OperatorSetIdProto);
        if (!p)
            return NULL;
        onnx__operator_set_id_proto__init(p);
        p->domain = cs(o[i].domain);
        p->has_version = 1;
        p->version = o[i].version;
        arr[i] = p;
    }
    return arr;
}

static Onnx__StringStringEntryProto **meta_proto(wa *w, char **k, char **v, int n)
{
    Onnx__StringStringEntryProto **arr = WA_ARR(w, Onnx__StringStringEntryProto *, n);
    if (!arr)
        return NULL;
    for (int i = 0; i < n; i++) {
        Onnx__StringStringEntryProto *e = WA_NEW(w, Onnx__StringStringEntryProto);
        if (!e)
            return NULL;
        onnx__string_string_entry_proto__init(e);
        e->key = cs(k[i]);
        e->value = cs(v[i]);
        arr[i] = e;
    }
    return arr;
}

static int pack_model(Onnx__ModelProto *mp, wa *w, void **out, size_t *len, const char *label,
                      ckpt_error *err)
{
    if (w->oom || !mp)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory building the ModelProto of %s", label);
    size_t n = onnx__model_proto__get_packed_size(mp);
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory: %zu bytes for %s", n, label);
    size_t got = onnx__model_proto__pack(mp, buf);
    if (got != n) {
        free(buf);
        return CKPT_FAIL(err, CKPT_E_FORMAT, "protobuf pack of %s wrote %zu of %zu bytes", label,
                         got, n);
    }
    *out = buf;
    *len = n;
    return 0;
}

static Onnx__ModelProto *model_proto_ox(wa *w, const ckpt_onnx_model *m)
{
    Onnx__ModelProto *mp = WA_NEW(w, Onnx__ModelProto);
    if (!mp)
        return NULL;
    onnx__model_proto__init(mp);
    mp->has_ir_version = 1;
    mp->ir_version = m->ir_version;
    mp->producer_name = cs(m->producer_name);
    mp->producer_version = cs(m->producer_version);
    mp->domain = cs(m->domain);
    mp->doc_string = cs(m->doc_string);
    mp->has_model_version = m->model_version != 0;
    mp->model_version = m->model_version;
    mp->n_opset_import = (size_t)m->n_opsets;
    mp->opset_import = opsets_proto(w, m->opsets, m->n_opsets);
    mp->n_metadata_props = (size_t)m->n_meta;
    mp->metadata_props = meta_proto(w, m->meta_keys, m->meta_values, m->n_meta);
    mp->graph = graph_proto_ox(w, m->graph);
    if (!mp->opset_import || !mp->metadata_props || !mp->graph)
        return NULL;
    return mp;
}

/* ------------------------------------------------------------ a builder */

static Onnx__ModelProto *model_proto_ob(wa *w, const ob_model *b)
{
    Onnx__ModelProto *mp = WA_NEW(w, Onnx__ModelProto);
    Onnx__GraphProto *gp = WA_NEW(w, Onnx__GraphProto);
    if (!mp || !gp)
        return NULL;
    onnx__model_proto__init(mp);
    onnx__graph_proto__init(gp);
    mp->has_ir_version = 1;
    mp->ir_version = b->ir_version;
    mp->producer_name = cs(b->producer_name);
    mp->producer_version = cs(b->producer_version);
    if (b->domain && b->domain[0])
        mp->domain = cs(b->domain);
    if (b->doc_string && b->doc_string[0])
        mp->doc_string = cs(b->doc_string);
    mp->has_model_version = b->model_version != 0;
    mp->model_version = b->model_version;
    mp->n_opset_import = (size_t)b->n_opsets;
    mp->opset_import = opsets_proto(w, b->opsets, b->n_opsets);
    mp->n_metadata_props = (size_t)b->n_meta;
    mp->metadata_props = meta_proto(w, b->meta_keys, b->meta_values, b->n_meta);
    mp->graph = gp;
    gp->name = cs(b->graph_name ? b->graph_name : "ckpt");
    gp->node = WA_ARR(w, Onnx__NodeProto *, b->n_nodes);
    gp->initializer = WA_ARR(w, Onnx__TensorProto *, b->n_inits);
    gp->input = WA_ARR(w, Onnx__ValueInfoProto *, b->n_inputs);
    gp->output = WA_ARR(w, Onnx__ValueInfoProto *, b->n_outputs);
    gp->value_info = WA_ARR(w, Onnx__ValueInfoProto *, b->n_vinfo);
    if (!mp->opset_import || !mp->metadata_props || !gp->node || !gp->initializer || !gp->input ||
        !gp->output || !gp->value_info)
        return NULL;
    for (int i = 0; i < b->n_nodes; i++) {
        const ob_node *n = &b->nodes[i];
        if (n->dead)
            continue;
        Onnx__NodeProto *np = node_proto(w, n->op, n->domain, n->name, n->n_in,
                                         (const char *const *)n->in, n->n_out,
                                         (const char *const *)n->out, n->attrs, n->n_attrs);
        if (!np)
            return NULL;
        gp->node[gp->n_node++] = np;
    }
    for (int i = 0; i < b->n_inits; i++) {
        if (b->inits[i].dead)
            continue;
        Onnx__TensorProto *tp = tensor_proto(w, b->inits[i].name, &b->inits[i].v);
        if (!tp)
            return NULL;
        gp->initializer[gp->n_initializer++] = tp;
    }
    for (int i = 0; i < b->n_inputs; i++)
        if (!(gp->input[gp->n_input++] = vi_proto(w, b->inputs[i].name, &b->inputs[i].type)))
            return NULL;
    for (int i = 0; i < b->n_outputs; i++)
        if (!(gp->output[gp->n_output++] = vi_proto(w, b->outputs[i].name, &b->outputs[i].type)))
            return NULL;
    for (int i = 0; i < b->n_vinfo; i++)
        if (!(gp->value_info[gp->n_value_info++] = vi_proto(w, b->vinfo[i].name,
                                                            &b->vinfo[i].type)))
            return NULL;
    return mp;
}

int ob_pack(const ob_model *b, void **out, size_t *len, ckpt_error *err)
{
    wa w = {0};
    Onnx__ModelProto *mp = model_proto_ob(&w, b);
    int rc = pack_model(mp, &w, out, len, "the built model", err);
    wa_free(&w);
    return rc;
}

ckpt_onnx_model *ob_to_model(const ob_model *b, ckpt_error *err)
{
    void *buf = NULL;
    size_t len = 0;
    if (ob_pack(b, &buf, &len, err) < 0)
        return NULL;
    ckpt_onnx_model *m = ckpt_onnx_load_buffer(buf, len, "<built model>", NULL, err);
    free(buf);
    return m;
}

/* ------------------------------------------------------------ files */

typedef struct wbytes {
    const void *p;
    size_t n;
} wbytes;

static int write_bytes(ckpt_sink *s, const void *ctx, ckpt_error *err)
{
    const wbytes *b = ctx;
    return ckpt_sink_write(s, b->p, b->n, err);
}

static int save_bytes(const void *p, size_t n, const char *path, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    wbytes b = {p, n};
    int rc = ckpt__atomic_write(path, write_bytes, &b, NULL, false, err);
    if (rc < 0)
        ckpt__error_set_file(err, path);
    return rc;
}

int ob_save(const ob_model *b, const char *path, ckpt_error *err)
{
    void *buf = NULL;
    size_t len = 0;
    CKPT_TRY(ob_pack(b, &buf, &len, err));
    int rc = save_bytes(buf, len, path, err);
    free(buf);
    return rc;
}

int ckpt_onnx_save_buffer(const ckpt_onnx_model *m, void **data, size_t *size, ckpt_error *err)
{
    if (!m || !m->graph || !data || !size)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_onnx_save_buffer: NULL argument");
    *data = NULL;
    *size = 0;
    wa w = {0};
    Onnx__ModelProto *mp = model_proto_ox(&w, m);
    int rc = pack_model(mp, &w, data, size, m->path ? m->path : "the model", err);
    wa_free(&w);
    return rc;
}

int ckpt_onnx_save(const ckpt_onnx_model *m, const char *path, ckpt_error *err)
{
    if (!path)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_onnx_save: NULL path");
    void *buf = NULL;
    size_t len = 0;
    int rc = ckpt_onnx_save_buffer(m, &buf, &len, err);
    if (rc < 0) {
        ckpt__error_set_file(err, path);
        return rc;
    }
    rc = save_bytes(buf, len, path, err);
    free(buf);
    return rc;
}
