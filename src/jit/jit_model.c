/*
 * src/jit/jit_model.c - the model container: format detection and dispatch
 * to the readers, classes, the tensor listing in torch's order, the state
 * dict, and ckpt_jit_run's argument binding and result flattening.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/source.h"
#include "ckpt/torch.h"
#include "ckpt/zip.h"
#include "core/err.h"
#include "jit/jit_internal.h"

const char *ckpt_jit_format_name(int format)
{
    switch (format) {
    case CKPT_JIT_TORCHSCRIPT: return "torchscript";
    case CKPT_JIT_LITE: return "torchscript-lite";
    case CKPT_JIT_FULL_MODEL: return "full-model";
    case CKPT_JIT_PT2: return "pt2";
    default: return "unknown";
    }
}

/* ------------------------------------------------------------ classes */

jit_class *jit_class_find(const ckpt_jit_model *m, const char *qualname)
{
    for (size_t i = 0; i < m->n_classes; i++)
        if (strcmp(m->classes[i]->qualname, qualname) == 0)
            return m->classes[i];
    return NULL;
}

jit_class *jit_class_get(ckpt_jit_model *m, const char *qualname, ckpt_error *err)
{
    jit_class *c = jit_class_find(m, qualname);
    if (c)
        return c;
    if (m->n_classes == m->cap_classes) {
        size_t cap = m->cap_classes ? m->cap_classes * 2 : 16;
        jit_class **p = realloc(m->classes, cap * sizeof *p);
        if (!p) {
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            return NULL;
        }
        m->classes = p;
        m->cap_classes = cap;
    }
    c = calloc(1, sizeof *c);
    if (c)
        c->qualname = strdup(qualname);
    if (!c || !c->qualname) {
        free(c);
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    m->classes[m->n_classes++] = c;
    return c;
}

const jit_method *jit_class_method(const jit_class *c, const char *name)
{
    for (size_t i = 0; c && i < c->n_methods; i++)
        if (strcmp(c->methods[i].name, name) == 0)
            return &c->methods[i];
    return NULL;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

void jit_class_free(jit_class *c)
{
    if (!c)
        return;
    free(c->qualname);
    free_strv(c->params, c->n_params);
    free_strv(c->buffers, c->n_buffers);
    free_strv(c->attr_names, c->n_attrs);
    free_strv(c->attr_types, c->n_attrs);
    free_strv(c->consts_names, c->n_consts);
    for (size_t i = 0; c->consts_vals && i < c->n_consts; i++)
        jv_unref(c->consts_vals[i]);
    free(c->consts_vals);
    for (size_t i = 0; i < c->n_methods; i++) {
        jit_method *mt = &c->methods[i];
        free(mt->name);
        free(mt->file);
        free(mt->source);
        free_strv(mt->arg_names, mt->n_args);
        free_strv(mt->arg_types, mt->n_args);
        free(mt->ret_type);
        if (mt->ast && mt->ast_free)
            mt->ast_free(mt->ast);
    }
    free(c->methods);
    free(c->file);
    free_strv(c->nonpersistent, c->n_nonpersistent);
    free(c);
}

/* ------------------------------------------------------------ runtime */

jit_rt *jit_rt_get(ckpt_jit_model *m, ckpt_error *err)
{
    if (m->rt)
        return m->rt;
    jit_rt *rt = calloc(1, sizeof *rt);
    if (!rt) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    rt->m = m;
    rt->max_steps = m->opts.max_steps ? m->opts.max_steps : JIT_MAX_STEPS;
    rt->ox = ox_callctx_new(m->opts.threads, m->opts.max_bytes, err);
    if (!rt->ox) {
        free(rt);
        return NULL;
    }
    m->rt = rt;
    return rt;
}

int jit_tick(jit_rt *rt, ckpt_error *err)
{
    if (++rt->steps > rt->max_steps)
        return jit_fail(rt, err, CKPT_E_LIMIT, "more than %" PRIu64 " steps: stopped",
                        rt->max_steps);
    return 0;
}

void jit_rt_free(jit_rt *rt)
{
    if (!rt)
        return;
    if (rt->ts && rt->ts_free) /* tsinterp */
        rt->ts_free(rt->ts);
    ox_callctx_free(rt->ox);
    free(rt);
}

int jit_fail(jit_rt *rt, ckpt_error *err, int code, const char *fmt, ...)
{
    if (!err || err->code)
        return err && err->code ? err->code : code;
    char msg[sizeof err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (rt && rt->file)
        ckpt__fail(err, code, __FILE__, __LINE__, "%s:%" PRId64 ": %s", rt->file, rt->line, msg);
    else
        ckpt__fail(err, code, __FILE__, __LINE__, "%s", msg);
    if (rt && rt->m && rt->m->path)
        ckpt__error_set_file(err, rt->m->path);
    return code;
}

/* ------------------------------------------------------------ loading */

/* Which of the four kinds: from the zip's records, else a pickle stream. */
static int detect(const char *path, ckpt_error *err)
{
    ckpt_source src;
    if (ckpt_source_open_file(&src, path, true, err) < 0)
        return -1;
    ckpt_error zerr = {0};
    ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &zerr);
    int fmt = CKPT_JIT_FULL_MODEL; /* a pickle stream (legacy torch.save of a module) */
    if (z) {
        if (ckpt_zip_find(z, "bytecode.pkl"))
            fmt = CKPT_JIT_LITE;
        else if (ckpt_zip_find(z, "constants.pkl") || ckpt_zip_find(z, "model.json") ||
                 ckpt_zip_find(z, "attributes.pkl"))
            fmt = CKPT_JIT_TORCHSCRIPT;
        else if (ckpt_zip_find(z, "archive_format") ||
                 ckpt_zip_find(z, "serialized_exported_program.json"))
            fmt = CKPT_JIT_PT2;
        else {
            for (size_t i = 0; i < ckpt_zip_count(z); i++) {
                const char *rec = ckpt_zip_entry_at(z, i)->record;
                if (rec && (strncmp(rec, "models/", 7) == 0 ||
                            strstr(rec, "serialized_exported_program") != NULL)) {
                    fmt = CKPT_JIT_PT2;
                    break;
                }
            }
        }
        ckpt_zip_close(z);
    } else { /* pt2 (h-pt2): torch 2.1-2.7 .pt2 files are plain zips without a folder */
        ckpt_zip_opts fo = {.flat = true};
        z = ckpt_zip_open(&src, &fo, NULL, &zerr);
        if (z && ckpt_zip_find(z, "serialized_exported_program.json"))
            fmt = CKPT_JIT_PT2;
        ckpt_zip_close(z);
    }
    ckpt_source_close(&src);
    return fmt;
}

static int build_list(ckpt_jit_model *m, ckpt_error *err);

ckpt_jit_model *ckpt_jit_load(const char *path, const ckpt_jit_load_opts *opts, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err); /* tsread: a caller's stale record would mask the first error */
    ckpt_jit_model *m = calloc(1, sizeof *m);
    if (!m) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    if (opts)
        m->opts = *opts;
    m->path = strdup(path);
    if (!m->path) {
        free(m);
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    int fmt = detect(path, err);
    int rc = fmt < 0 ? fmt : 0;
    if (rc == 0) {
        m->format = fmt;
        switch (fmt) {
        case CKPT_JIT_TORCHSCRIPT: rc = jit_read_torchscript(m, err); break;
        case CKPT_JIT_LITE:
            rc = jit_read_torchscript(m, err);
            if (rc == 0)
                rc = jit_read_lite(m, err);
            break;
        case CKPT_JIT_PT2: rc = jit_read_pt2(m, err); break;
        default: rc = jit_read_full_model(m, err); break;
        }
    }
    if (rc == 0)
        rc = build_list(m, err);
    if (rc < 0) {
        ckpt__error_set_file(err, path);
        ckpt_jit_free(m);
        return NULL;
    }
    return m;
}

void ckpt_jit_free(ckpt_jit_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_outs; i++)
        jv_unref(m->out_vals[i]);
    free(m->out_vals);
    free(m->outs);
    jit_rt_free(m->rt);
    if (m->lite && m->lite_free)
        m->lite_free(m->lite);
    if (m->pt2 && m->pt2_free)
        m->pt2_free(m->pt2);
    jv_unref(m->root);
    jv_unref(m->constants);
    for (size_t i = 0; i < m->n_classes; i++)
        jit_class_free(m->classes[i]);
    free(m->classes);
    for (size_t i = 0; i < m->n_sources; i++) {
        free(m->sources[i].record);
        free(m->sources[i].text);
    }
    free(m->sources);
    free_strv(m->extra_names, m->n_extra);
    free(m->list);
    free_strv(m->list_names, m->n_list);
    ckpt_doc_free(m->doc);
    free(m->producer);
    free(m->path);
    free(m);
}

int ckpt_jit_format(const ckpt_jit_model *m)
{
    return m ? m->format : 0;
}

const char *ckpt_jit_root_class(const ckpt_jit_model *m)
{
    if (!m || !m->root || m->root->kind != JV_OBJECT || !m->root->u.obj.cls)
        return NULL;
    return m->root->u.obj.cls->qualname;
}

/* ------------------------------------------------------------ listing */

typedef struct lister {
    ckpt_jit_model *m;
    const jv **seen; /* tensors listed (torch drops duplicates) */
    size_t n_seen, cap_seen;
    size_t cap;
    ckpt_error *err;
} lister;

static bool seen(lister *L, const jv *t)
{
    for (size_t i = 0; i < L->n_seen; i++)
        if (L->seen[i] == t)
            return true;
    return false;
}

static int add(lister *L, const char *prefix, const char *name, int kind, const jv *t)
{
    if (seen(L, t))
        return 0;
    ckpt_jit_model *m = L->m;
    if (L->n_seen == L->cap_seen) {
        size_t cap = L->cap_seen ? L->cap_seen * 2 : 32;
        const jv **p = realloc(L->seen, cap * sizeof *p);
        if (!p)
            return CKPT_FAIL(L->err, CKPT_E_NOMEM, "out of memory");
        L->seen = p;
        L->cap_seen = cap;
    }
    L->seen[L->n_seen++] = t;
    if (m->n_list == L->cap) {
        size_t cap = L->cap ? L->cap * 2 : 32;
        ckpt_jit_tensor *p = realloc(m->list, cap * sizeof *p);
        if (p)
            m->list = p;
        char **q = p ? realloc(m->list_names, cap * sizeof *q) : NULL;
        if (!q)
            return CKPT_FAIL(L->err, CKPT_E_NOMEM, "out of memory");
        m->list_names = q;
        L->cap = cap;
    }
    size_t n = strlen(prefix) + strlen(name) + 2;
    char *full = malloc(n);
    if (!full)
        return CKPT_FAIL(L->err, CKPT_E_NOMEM, "out of memory");
    snprintf(full, n, "%s%s%s", prefix, prefix[0] ? "." : "", name);
    const jv_tensor *jt = t->u.t;
    ckpt_jit_tensor *e = &m->list[m->n_list];
    memset(e, 0, sizeof *e);
    e->name = full;
    e->kind = kind;
    e->dtype = ox_dtype_to_ckpt(jt->t.dtype);
    e->ndim = jt->t.rank;
    e->shape = jt->t.dims;
    e->data = jt->t.data;
    e->nbytes = ox_val_nbytes(&jt->t);
    e->requires_grad = jt->requires_grad;
    m->list_names[m->n_list++] = full;
    return 0;
}

/* One pass per kind over the module tree in pre-order (named_modules()). */
static int walk(lister *L, const jv *o, const char *prefix, int akind, int depth)
{
    if (depth > JIT_MAX_DEPTH)
        return CKPT_FAIL(L->err, CKPT_E_LIMIT, "modules nested deeper than %d", JIT_MAX_DEPTH);
    for (size_t i = 0; i < o->u.obj.n; i++) {
        const jv *v = o->u.obj.vals[i];
        if (o->u.obj.akind[i] == akind && v->kind == JV_TENSOR)
            CKPT_TRY(add(L, prefix, o->u.obj.names[i],
                         akind == JIT_A_ATTR    ? CKPT_JIT_ATTR
                         : akind == JIT_A_PARAM ? CKPT_JIT_PARAM
                                                : CKPT_JIT_BUFFER,
                         v));
    }
    for (size_t i = 0; i < o->u.obj.n; i++) {
        const jv *v = o->u.obj.vals[i];
        if (o->u.obj.akind[i] != JIT_A_MODULE || v->kind != JV_OBJECT)
            continue;
        size_t n = strlen(prefix) + strlen(o->u.obj.names[i]) + 2;
        char *sub = malloc(n);
        if (!sub)
            return CKPT_FAIL(L->err, CKPT_E_NOMEM, "out of memory");
        snprintf(sub, n, "%s%s%s", prefix, prefix[0] ? "." : "", o->u.obj.names[i]);
        int rc = walk(L, v, sub, akind, depth + 1);
        free(sub);
        CKPT_TRY(rc);
    }
    return 0;
}

static int build_list(ckpt_jit_model *m, ckpt_error *err)
{
    if (m->listed)
        return 0;
    lister L = {.m = m, .err = err};
    int rc = 0;
    if (m->root && m->root->kind == JV_OBJECT) {
        rc = walk(&L, m->root, "", JIT_A_PARAM, 0);
        if (rc == 0)
            rc = walk(&L, m->root, "", JIT_A_BUFFER, 0);
        if (rc == 0)
            rc = walk(&L, m->root, "", JIT_A_ATTR, 0);
    }
    free(L.seen);
    if (rc == 0)
        m->listed = true;
    return rc;
}

size_t ckpt_jit_tensor_count(const ckpt_jit_model *m)
{
    return m ? m->n_list : 0;
}

int ckpt_jit_get_tensor(const ckpt_jit_model *m, size_t i, ckpt_jit_tensor *out)
{
    if (!m || i >= m->n_list)
        return CKPT_E_ARG;
    *out = m->list[i];
    return 0;
}

/* fullmodel: a buffer registered with persistent=False (not in state_dict). */
bool jit_class_nonpersistent(const jit_class *c, const char *name)
{
    for (size_t i = 0; c && i < c->n_nonpersistent; i++)
        if (strcmp(c->nonpersistent[i], name) == 0)
            return true;
    return false;
}

/* state_dict(): per module in pre-order, its parameters then its buffers
 * (duplicates kept, as torch keeps them). */
static int sd_walk(ckpt_doc *doc, ckpt_obj *dict, const jv *o, const char *prefix, int depth,
                   ckpt_error *err)
{
    if (depth > JIT_MAX_DEPTH)
        return CKPT_FAIL(err, CKPT_E_LIMIT, "modules nested deeper than %d", JIT_MAX_DEPTH);
    for (int pass = 0; pass < 2; pass++) {
        int want = pass == 0 ? JIT_A_PARAM : JIT_A_BUFFER;
        for (size_t i = 0; i < o->u.obj.n; i++) {
            const jv *v = o->u.obj.vals[i];
            if (o->u.obj.akind[i] != want || v->kind != JV_TENSOR)
                continue;
            if (want == JIT_A_BUFFER && jit_class_nonpersistent(o->u.obj.cls, o->u.obj.names[i]))
                continue;
            const ox_val *t = &v->u.t->t;
            int dt = ox_dtype_to_ckpt(t->dtype);
            if (dt < 0)
                return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "tensor %s.%s: element type %s", prefix,
                                 o->u.obj.names[i], ox_dtype_name(t->dtype));
            ckpt_obj *to = ckpt_tensor_new_copy(doc, dt, t->rank, t->dims, t->data, err);
            if (!to)
                return err && err->code ? err->code : CKPT_E_NOMEM;
            size_t n = strlen(prefix) + strlen(o->u.obj.names[i]) + 2;
            char *key = malloc(n);
            if (!key)
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            snprintf(key, n, "%s%s%s", prefix, prefix[0] ? "." : "", o->u.obj.names[i]);
            int rc = ckpt_dict_set_str(doc, dict, key, to, err);
            free(key);
            CKPT_TRY(rc);
        }
    }
    for (size_t i = 0; i < o->u.obj.n; i++) {
        const jv *v = o->u.obj.vals[i];
        if (o->u.obj.akind[i] != JIT_A_MODULE || v->kind != JV_OBJECT)
            continue;
        size_t n = strlen(prefix) + strlen(o->u.obj.names[i]) + 2;
        char *sub = malloc(n);
        if (!sub)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        snprintf(sub, n, "%s%s%s", prefix, prefix[0] ? "." : "", o->u.obj.names[i]);
        int rc = sd_walk(doc, dict, v, sub, depth + 1, err);
        free(sub);
        CKPT_TRY(rc);
    }
    return 0;
}

ckpt_doc *ckpt_jit_state_dict(const ckpt_jit_model *m, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_doc *doc = ckpt_doc_new(NULL, err);
    if (!doc)
        return NULL;
    ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    if (!d) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        ckpt_doc_free(doc);
        return NULL;
    }
    ckpt_doc_set_root(doc, d);
    if (m->root && m->root->kind == JV_OBJECT && sd_walk(doc, d, m->root, "", 0, err) < 0) {
        ckpt_doc_free(doc);
        return NULL;
    }
    return doc;
}

/* ------------------------------------------------------------ running */

int ckpt_jit_signature(const ckpt_jit_model *m, const char *method, size_t *n_args,
                       const char *const **names, const char *const **types, ckpt_error *err)
{
    if (!method)
        method = "forward";
    const jit_class *c = m->root && m->root->kind == JV_OBJECT ? m->root->u.obj.cls : NULL;
    const jit_method *mt = jit_class_method(c, method);
    if (!mt)
        return CKPT_FAIL(err, CKPT_E_NOT_FOUND, "the root module has no method '%s'", method);
    *n_args = mt->n_args;
    *names = (const char *const *)mt->arg_names;
    *types = (const char *const *)mt->arg_types;
    return 0;
}

jv *jit_value_to_jv(const ckpt_jit_value *v, ckpt_error *err)
{
    switch (v->kind) {
    case CKPT_JIT_V_NONE: return jv_none();
    case CKPT_JIT_V_INT: return jv_int(v->i);
    case CKPT_JIT_V_FLOAT: return jv_float(v->f);
    case CKPT_JIT_V_BOOL: return jv_bool(v->i != 0);
    case CKPT_JIT_V_STR: return jv_str0(v->s ? v->s : "");
    case CKPT_JIT_V_TENSOR: {
        int dt = ox_dtype_from_ckpt(v->dtype);
        if (dt <= 0 || v->ndim < 0 || v->ndim > OX_MAX_RANK) {
            CKPT_FAIL(err, CKPT_E_ARG, "input %s: dtype %d, %d dims", v->name ? v->name : "",
                      v->dtype, v->ndim);
            return NULL;
        }
        jv *t = jv_tensor_new();
        if (!t || ox_val_reshape_alloc(&t->u.t->t, dt, v->ndim, v->shape, err) < 0) {
            jv_unref(t);
            return NULL;
        }
        size_t nb = ox_val_nbytes(&t->u.t->t);
        if (nb)
            memcpy(t->u.t->t.data, v->data, nb);
        return t;
    }
    default: CKPT_FAIL(err, CKPT_E_ARG, "input kind %d", v->kind); return NULL;
    }
}

static int flatten(ckpt_jit_model *m, jv *v, size_t *cap, int depth, ckpt_error *err)
{
    if (depth > JIT_MAX_DEPTH)
        return CKPT_FAIL(err, CKPT_E_LIMIT, "result nested deeper than %d", JIT_MAX_DEPTH);
    if (v->kind == JV_TUPLE || v->kind == JV_LIST) {
        for (size_t i = 0; i < v->u.seq.n; i++)
            CKPT_TRY(flatten(m, v->u.seq.items[i], cap, depth + 1, err));
        return 0;
    }
    if (v->kind == JV_DICT) {
        for (size_t i = 0; i < v->u.dict.n; i++)
            CKPT_TRY(flatten(m, v->u.dict.vals[i], cap, depth + 1, err));
        return 0;
    }
    if (m->n_outs == *cap) {
        size_t c = *cap ? *cap * 2 : 8;
        ckpt_jit_value *p = realloc(m->outs, c * sizeof *p);
        if (p)
            m->outs = p;
        jv **q = p ? realloc(m->out_vals, c * sizeof *q) : NULL;
        if (!q)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        m->out_vals = q;
        *cap = c;
    }
    ckpt_jit_value *o = &m->outs[m->n_outs];
    memset(o, 0, sizeof *o);
    switch (v->kind) {
    case JV_TENSOR: {
        const ox_val *t = &v->u.t->t;
        o->kind = CKPT_JIT_V_TENSOR;
        o->dtype = ox_dtype_to_ckpt(t->dtype);
        o->ndim = t->rank;
        for (int i = 0; i < t->rank; i++)
            o->shape[i] = t->dims[i];
        o->data = t->data;
        break;
    }
    case JV_INT:
        o->kind = CKPT_JIT_V_INT;
        o->i = v->u.i;
        break;
    case JV_BOOL:
        o->kind = CKPT_JIT_V_BOOL;
        o->i = v->u.b;
        break;
    case JV_FLOAT:
        o->kind = CKPT_JIT_V_FLOAT;
        o->f = v->u.f;
        break;
    case JV_STR:
        o->kind = CKPT_JIT_V_STR;
        o->s = v->u.str.s;
        break;
    case JV_NONE: o->kind = CKPT_JIT_V_NONE; break;
    default:
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "a result of kind %s", jv_kind_name(v->kind));
    }
    m->out_vals[m->n_outs++] = jv_ref(v);
    return 0;
}

int jit_call_root(jit_rt *rt, const char *method, jv *const *args, size_t n_args, jv **res,
                  ckpt_error *err)
{
    ckpt_jit_model *m = rt->m;
    rt->steps = 0;
    rt->depth = 0;
    switch (m->format) {
    case CKPT_JIT_TORCHSCRIPT:
        return jit_ts_call_method(rt, m->root, method, args, n_args, NULL, NULL, 0, res, err);
    case CKPT_JIT_LITE: return jit_lite_call_method(rt, m->root, method, args, n_args, res, err);
    case CKPT_JIT_FULL_MODEL: return jit_nn_forward(rt, m->root, args, n_args, res, err);
    case CKPT_JIT_PT2: return jit_pt2_run(rt, args, n_args, res, err);
    default: return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "format %d cannot run", m->format);
    }
}

int ckpt_jit_run(ckpt_jit_model *m, const char *method, const ckpt_jit_value *inputs,
                 size_t n_inputs, const ckpt_jit_value **outputs, size_t *n_outputs,
                 ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!method)
        method = "forward";
    for (size_t i = 0; i < m->n_outs; i++)
        jv_unref(m->out_vals[i]);
    m->n_outs = 0;
    if (n_inputs > 256)
        return CKPT_FAIL(err, CKPT_E_ARG, "%zu inputs (at most 256)", n_inputs);
    jit_rt *rt = jit_rt_get(m, err);
    if (!rt)
        return err->code;
    /* bind: positional first, then by the method's argument names */
    const jit_class *c = m->root && m->root->kind == JV_OBJECT ? m->root->u.obj.cls : NULL;
    const jit_method *mt = jit_class_method(c, method);
    jv *args[256] = {0};
    size_t n_args = 0;
    int rc = 0;
    if (mt) {
        n_args = mt->n_args;
        if (n_args > 256)
            return CKPT_FAIL(err, CKPT_E_LIMIT, "method %s has %zu arguments", method, n_args);
    }
    size_t pos = 0;
    for (size_t i = 0; i < n_inputs && rc == 0; i++) {
        size_t slot = pos;
        if (inputs[i].name && mt) {
            slot = SIZE_MAX;
            for (size_t k = 0; k < mt->n_args; k++)
                if (strcmp(mt->arg_names[k], inputs[i].name) == 0)
                    slot = k;
            if (slot == SIZE_MAX) {
                rc = CKPT_FAIL(err, CKPT_E_ARG, "%s() has no argument '%s'", method,
                               inputs[i].name);
                break;
            }
        } else {
            pos++;
        }
        if (slot >= 256) {
            rc = CKPT_FAIL(err, CKPT_E_ARG, "too many inputs");
            break;
        }
        if (args[slot]) {
            rc = CKPT_FAIL(err, CKPT_E_ARG, "argument %zu given twice", slot);
            break;
        }
        args[slot] = jit_value_to_jv(&inputs[i], err);
        if (!args[slot])
            rc = err->code ? err->code : CKPT_E_NOMEM;
        if (slot + 1 > n_args)
            n_args = slot + 1;
    }
    /* lite (h-lite): trailing arguments left out take the schema's defaults in the executor */
    while (rc == 0 && m->format == CKPT_JIT_LITE && n_args > 0 && !args[n_args - 1])
        n_args--;
    for (size_t k = 0; rc == 0 && k < n_args; k++)
        if (!args[k])
            rc = CKPT_FAIL(err, CKPT_E_ARG, "%s(): argument '%s' is missing", method,
                           mt && k < mt->n_args ? mt->arg_names[k] : "?");
    jv *res = NULL;
    if (rc == 0)
        rc = jit_call_root(rt, method, args, n_args, &res, err);
    for (size_t k = 0; k < 256; k++)
        jv_unref(args[k]);
    if (rc == 0) {
        size_t cap = 0;
        rc = flatten(m, res, &cap, 0, err);
        /* the flattened copies hold their own references */
    }
    jv_unref(res);
    if (rc < 0) {
        ckpt__error_set_file(err, m->path);
        return rc;
    }
    *outputs = m->outs;
    *n_outputs = m->n_outs;
    return 0;
}
