/*
 * src/jit/convert.c - trace a run of any jit model (TorchScript, lite,
 * full-model pickle, torch.export) into an ONNX graph, as torch.onnx.export
 * does: every executor computes tensors only through ox_call, so a recorder on
 * the call context sees each kernel call with its inputs and outputs.
 *
 * A value is known by the address of its ox_val together with a hash of its
 * dtype, shape and bytes at the time it was produced: an address that was
 * reused for a different value no longer matches, and a value nobody recorded
 * (a parameter, a constant built in C) becomes an initializer.  Parameters
 * and buffers of the model keep their dotted names.  Integer arithmetic done
 * outside the op library is baked into the graph, as tracing bakes it; the
 * converter therefore checks the graph on a second, different input against
 * the model itself (ckpt_jit_to_onnx fails when they disagree).
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/jit_internal.h"
#include "onnx/onnx_build.h"

typedef struct tent {
    const ox_val *addr;
    uint64_t hash;
    char *name;
} tent;

typedef struct tracer {
    ob_model *b;
    tent *ents;
    size_t n, cap;
    /* the model's own tensors: data pointer -> dotted name */
    const void **mdata;
    char **mnames;
    size_t n_m;
    uint64_t uniq;
    int max_opset;
} tracer;

#define FNV_PRIME ((uint64_t)1099511628211u)

static uint64_t val_hash(const ox_val *v)
{
    uint64_t h = (uint64_t)1469598103934665603u;
    const uint8_t *p = (const uint8_t *)&v->dtype;
    for (size_t i = 0; i < sizeof v->dtype; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    for (int d = 0; d < v->rank; d++) {
        uint64_t x = (uint64_t)v->dims[d];
        for (int i = 0; i < 8; i++)
            h = (h ^ ((x >> (8 * i)) & 0xff)) * FNV_PRIME;
    }
    h = (h ^ (uint64_t)(unsigned)v->rank) * FNV_PRIME;
    size_t nb = ox_val_nbytes(v);
    const uint8_t *d = v->data;
    for (size_t i = 0; d && i < nb; i++)
        h = (h ^ d[i]) * FNV_PRIME;
    return h;
}

static const char *lookup(const tracer *t, const ox_val *v, uint64_t h)
{
    for (size_t i = t->n; i-- > 0;)
        if (t->ents[i].addr == v)
            return t->ents[i].hash == h ? t->ents[i].name : NULL;
    return NULL;
}

static int remember(tracer *t, const ox_val *v, uint64_t h, const char *name, ckpt_error *err)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->ents[i].addr == v) {
            char *nm = strdup(name);
            if (!nm)
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            free(t->ents[i].name);
            t->ents[i].name = nm;
            t->ents[i].hash = h;
            return 0;
        }
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        tent *p = realloc(t->ents, cap * sizeof *p);
        if (!p)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        t->ents = p;
        t->cap = cap;
    }
    t->ents[t->n].name = strdup(name);
    if (!t->ents[t->n].name)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    t->ents[t->n].addr = v;
    t->ents[t->n].hash = h;
    t->n++;
    return 0;
}

/* A value nobody recorded: an initializer (named after the model tensor whose
 * data it is, when it is one). */
static const char *constant(tracer *t, const ox_val *v, uint64_t h, ckpt_error *err)
{
    if (v->kind != OX_KIND_TENSOR || v->dtype == OX_STRING) {
        CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "tracing: a %s input that no traced op produced",
                  v->kind != OX_KIND_TENSOR ? "sequence" : "string");
        return NULL;
    }
    char buf[160];
    const char *name = NULL;
    for (size_t i = 0; i < t->n_m; i++)
        if (t->mdata[i] == v->data) {
            name = t->mnames[i];
            break;
        }
    if (!name || ob_find_init(t->b, name)) {
        snprintf(buf, sizeof buf, "const_%" PRIu64, t->uniq++);
        name = buf;
    }
    ob_init *in = ob_add_init(t->b, name, v->dtype, v->rank, v->dims, v->data, err);
    if (!in)
        return NULL;
    if (remember(t, v, h, in->name, err) < 0)
        return NULL;
    return in->name;
}

static int record(void *ud, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    tracer *t = ud;
    enum { MAXIO = 64 };
    const char *in_names[MAXIO];
    char *owned[MAXIO] = {0};
    const char *out_names[MAXIO];
    int rc = 0;
    if (n->n_in > MAXIO || n->n_out > MAXIO)
        return CKPT_FAIL(err, CKPT_E_LIMIT, "tracing: %s has too many inputs", n->op_type);
    for (int k = 0; k < n->n_in; k++) {
        in_names[k] = "";
        if (!in[k])
            continue;
        uint64_t h = val_hash(in[k]);
        const char *nm = lookup(t, in[k], h);
        if (!nm)
            nm = constant(t, in[k], h, err);
        if (!nm)
            return err && err->code ? err->code : CKPT_E_NOMEM;
        /* copy: `remember` below may replace the entry (in-place ops) */
        owned[k] = strdup(nm);
        if (!owned[k]) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            goto done;
        }
        in_names[k] = owned[k];
    }
    char names[MAXIO][40];
    for (int k = 0; k < n->n_out; k++) {
        out_names[k] = "";
        if (!out[k])
            continue;
        snprintf(names[k], sizeof names[k], "t%" PRIu64, t->uniq++);
        out_names[k] = names[k];
    }
    char nname[64];
    snprintf(nname, sizeof nname, "%s_%" PRIu64, n->op_type, t->uniq++);
    ob_node *bn = ob_add_node(t->b, n->op_type, nname, n->n_in, in_names, n->n_out, out_names,
                              err);
    if (!bn) {
        rc = err && err->code ? err->code : CKPT_E_NOMEM;
        goto done;
    }
    for (int a = 0; a < n->n_attrs && rc == 0; a++)
        rc = ob_attr_copy(bn, &n->attrs[a], err);
    for (int k = 0; k < n->n_out && rc == 0; k++)
        if (out[k])
            rc = remember(t, out[k], val_hash(out[k]), out_names[k], err);
    if (n->opset > t->max_opset)
        t->max_opset = n->opset;
done:
    for (int k = 0; k < n->n_in; k++)
        free(owned[k]);
    return rc;
}

static int collect_model_tensors(tracer *t, const ckpt_jit_model *m, ckpt_error *err)
{
    size_t n = ckpt_jit_tensor_count(m);
    if (!n)
        return 0;
    t->mdata = calloc(n, sizeof *t->mdata);
    t->mnames = calloc(n, sizeof *t->mnames);
    if (!t->mdata || !t->mnames)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        ckpt_jit_tensor e;
        if (ckpt_jit_get_tensor(m, i, &e) < 0)
            continue;
        t->mnames[t->n_m] = strdup(e.name);
        if (!t->mnames[t->n_m])
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        t->mdata[t->n_m++] = e.data;
    }
    return 0;
}

static void tracer_free(tracer *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->ents[i].name);
    free(t->ents);
    for (size_t i = 0; i < t->n_m; i++)
        free(t->mnames[i]);
    free(t->mnames);
    free(t->mdata);
    ob_free(t->b);
}

/* Output leaves of a result, in flattening order. */
static int leaves(jv *v, jv **dst, size_t *n, size_t cap, int depth, ckpt_error *err)
{
    if (depth > JIT_MAX_DEPTH)
        return CKPT_FAIL(err, CKPT_E_LIMIT, "result nested too deep");
    if (v->kind == JV_TUPLE || v->kind == JV_LIST) {
        for (size_t i = 0; i < v->u.seq.n; i++)
            CKPT_TRY(leaves(v->u.seq.items[i], dst, n, cap, depth + 1, err));
        return 0;
    }
    if (v->kind == JV_DICT) {
        for (size_t i = 0; i < v->u.dict.n; i++)
            CKPT_TRY(leaves(v->u.dict.vals[i], dst, n, cap, depth + 1, err));
        return 0;
    }
    if (v->kind != JV_TENSOR)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                         "tracing: the result holds a %s; ONNX graphs return tensors only",
                         jv_kind_name(v->kind));
    if (*n >= cap)
        return CKPT_FAIL(err, CKPT_E_LIMIT, "more than %zu outputs", cap);
    dst[(*n)++] = v;
    return 0;
}

enum { MAX_ARGS = 64, MAX_OUTS = 256 };

/* Run the model once on `args` with the tracer on; build inputs/outputs. */
static int trace(jit_rt *rt, tracer *t, const char *method, jv **args, size_t n_args,
                 const ckpt_jit_value *inputs, ckpt_error *err)
{
    for (size_t i = 0; i < n_args; i++) {
        if (args[i]->kind != JV_TENSOR)
            continue; /* a literal argument is baked */
        ox_val *v = &args[i]->u.t->t;
        char buf[64];
        const char *nm = inputs[i].name;
        if (!nm) {
            snprintf(buf, sizeof buf, "input_%zu", i);
            nm = buf;
        }
        ox_type ty = ob_tensor_type(v->dtype, v->rank, v->dims, NULL);
        CKPT_TRY(ob_add_input(t->b, nm, &ty, err));
        CKPT_TRY(remember(t, v, val_hash(v), nm, err));
    }
    ox_callctx_set_recorder(rt->ox, record, t);
    jv *res = NULL;
    int rc = jit_call_root(rt, method, args, n_args, &res, err);
    ox_callctx_set_recorder(rt->ox, NULL, NULL);
    if (rc < 0) {
        jv_unref(res);
        return rc;
    }
    jv *outs[MAX_OUTS];
    size_t n_out = 0;
    rc = leaves(res, outs, &n_out, MAX_OUTS, 0, err);
    for (size_t k = 0; rc == 0 && k < n_out; k++) {
        ox_val *v = &outs[k]->u.t->t;
        uint64_t h = val_hash(v);
        const char *src = lookup(t, v, h);
        char oname[32];
        snprintf(oname, sizeof oname, "output_%zu", k);
        if (!src) {
            src = constant(t, v, h, err);
            if (!src) {
                rc = err && err->code ? err->code : CKPT_E_NOMEM;
                break;
            }
        }
        const char *in1[1] = {src};
        const char *out1[1] = {oname};
        /* an Identity names the output; ckpt simplify removes it when wanted */
        char nname[48];
        snprintf(nname, sizeof nname, "Identity_out_%zu", k);
        if (!ob_add_node(t->b, "Identity", nname, 1, in1, 1, out1, err)) {
            rc = err && err->code ? err->code : CKPT_E_NOMEM;
            break;
        }
        ox_type ty = ob_tensor_type(v->dtype, v->rank, v->dims, NULL);
        rc = ob_add_output(t->b, oname, &ty, err);
    }
    jv_unref(res);
    return rc;
}

/* A different input of the same shape: each element's sign flipped and
 * scaled, plus a fixed position-dependent offset, so branches on signs and
 * sums are taken the other way (integers: left as they are). */
static jv *perturbed(const jv *a, ckpt_error *err)
{
    jv *c = jv_tensor_new();
    if (!c || ox_val_copy(&c->u.t->t, &a->u.t->t, err) < 0) {
        jv_unref(c);
        if (err && !err->code)
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    ox_val *v = &c->u.t->t;
    if (v->dtype == OX_FLOAT || v->dtype == OX_DOUBLE)
        for (int64_t i = 0; i < v->numel; i++) {
            double x = ox_get_f64(v, i);
            ox_set_f64(v, i, -0.5 * x + 0.25 * sin((double)i + 1.0));
        }
    return c;
}

static int check_second_input(ckpt_jit_model *m, jit_rt *rt, const char *method,
                              const ckpt_onnx_model *g, jv **args, size_t n_args, ckpt_error *err)
{
    jv *a2[MAX_ARGS] = {0};
    int rc = 0;
    const ox_val *feeds[MAX_ARGS];
    int n_feeds = 0;
    for (size_t i = 0; i < n_args && rc == 0; i++) {
        if (args[i]->kind == JV_TENSOR) {
            a2[i] = perturbed(args[i], err);
            if (!a2[i])
                rc = err && err->code ? err->code : CKPT_E_NOMEM;
            else
                feeds[n_feeds++] = &a2[i]->u.t->t;
        } else {
            a2[i] = jv_ref(args[i]);
        }
    }
    jv *res = NULL;
    if (rc == 0)
        rc = jit_call_root(rt, method, a2, n_args, &res, err);
    ckpt_onnx_session *s = NULL;
    if (rc == 0) {
        s = ckpt_onnx_session_new(g, &(ckpt_onnx_session_opts){.threads = 1}, err);
        if (!s)
            rc = err && err->code ? err->code : CKPT_E_NOMEM;
    }
    if (rc == 0)
        rc = ox_session_run_vals(s, feeds, n_feeds, err);
    jv *outs[MAX_OUTS];
    size_t n_out = 0;
    if (rc == 0)
        rc = leaves(res, outs, &n_out, MAX_OUTS, 0, err);
    for (size_t k = 0; rc == 0 && k < n_out; k++) {
        char oname[32];
        snprintf(oname, sizeof oname, "output_%zu", k);
        const ox_val *gv = ox_session_value(s, oname);
        const ox_val *jvv = &outs[k]->u.t->t;
        if (!gv || gv->numel != jvv->numel || gv->dtype != jvv->dtype) {
            rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                           "%s: the traced graph's output %zu has another shape or type on a "
                           "second input: the model's control flow or shapes depend on its input",
                           m->path, k);
            break;
        }
        for (int64_t i = 0; i < gv->numel; i++) {
            double x = ox_get_f64(gv, i), y = ox_get_f64(jvv, i);
            if (!(fabs(x - y) <= 1e-4 + 1e-4 * fabs(y)) && !(isnan(x) && isnan(y))) {
                rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                               "%s: the traced graph differs from the model on a second input "
                               "(output %zu element %" PRId64 ": %g vs %g): a value the trace "
                               "baked in depends on the input",
                               m->path, k, i, x, y);
                break;
            }
        }
    }
    ckpt_onnx_session_free(s);
    jv_unref(res);
    for (size_t i = 0; i < n_args; i++)
        jv_unref(a2[i]);
    return rc;
}

ckpt_onnx_model *ckpt_jit_to_onnx(ckpt_jit_model *m, const ckpt_jit_value *inputs,
                                  size_t n_inputs, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (n_inputs > MAX_ARGS) {
        CKPT_FAIL(err, CKPT_E_ARG, "%zu inputs (at most %d)", n_inputs, MAX_ARGS);
        return NULL;
    }
    jit_rt *rt = jit_rt_get(m, err);
    if (!rt)
        return NULL;
    tracer t = {0};
    jv *args[MAX_ARGS] = {0};
    ckpt_onnx_model *g = NULL;
    int rc = 0;
    t.b = ob_new(err);
    if (!t.b)
        rc = err->code ? err->code : CKPT_E_NOMEM;
    if (rc == 0)
        rc = collect_model_tensors(&t, m, err);
    for (size_t i = 0; rc == 0 && i < n_inputs; i++) {
        args[i] = jit_value_to_jv(&inputs[i], err);
        if (!args[i])
            rc = err->code ? err->code : CKPT_E_NOMEM;
    }
    if (rc == 0)
        rc = trace(rt, &t, "forward", args, n_inputs, inputs, err);
    if (rc == 0) {
        free(t.b->graph_name);
        t.b->graph_name = strdup(ckpt_jit_root_class(m) ? ckpt_jit_root_class(m) : "model");
        if (!t.b->graph_name)
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    if (rc == 0)
        rc = ob_set_opset(t.b, "", t.max_opset > 0 ? t.max_opset : OX_CALL_OPSET, err);
    if (rc == 0) {
        g = ob_to_model(t.b, err);
        if (!g)
            rc = err->code ? err->code : CKPT_E_NOMEM;
    }
    if (rc == 0)
        rc = check_second_input(m, rt, "forward", g, args, n_inputs, err);
    for (size_t i = 0; i < n_inputs; i++)
        jv_unref(args[i]);
    tracer_free(&t);
    if (rc < 0) {
        ckpt_onnx_model_free(g);
        ckpt__error_set_file(err, m->path);
        return NULL;
    }
    return g;
}
