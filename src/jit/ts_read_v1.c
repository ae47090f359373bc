/*
 * src/jit/ts_read_v1.c - format-1 TorchScript archives (torch 1.0-1.2):
 * `model.json` (a JSON-encoded caffe2 ModelDef: the module tree, its
 * parameters by tensor id, attributes by index into attributes.pkl, and the
 * tensor table), `attributes.pkl` (a tuple of attribute values; tensors as
 * torch.jit._pickle.build_tensor_from_id(i)), `tensors/<i>` (raw storages)
 * and one `code/<name>.py` per module with its methods at column 0.
 *
 * Class names: format 1 stores none; a module is named "__torch__." followed
 * by the dotted names from the root ("__torch__.mnist_cnn.conv1").  Slot
 * order is the importer's: submodules, then parameters, then attributes.
 * torch 1.13 no longer reads these archives ("Legacy model format is not
 * supported on mobile"), so they are checked against model.json alone.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/pickle.h"
#include "core/err.h"
#include "jit/ts_read.h"

typedef struct v1 {
    ckpt_jit_model *m;
    ckpt_zip *z;
    cJSON *tensors; /* array of TensorDef */
    jv **tv;        /* built tensors, by id */
    size_t nt;
    const ckpt_obj **ids; /* attributes.pkl nodes that are tensor ids */
    size_t nids, cap_ids;
    ckpt_error *err;
} v1;

static int v1_fail(v1 *V, const char *what, const char *name)
{
    CKPT_FAIL(V->err, CKPT_E_FORMAT, "model.json: %s%s", what, name ? name : "");
    if (V->err)
        snprintf(V->err->member, sizeof V->err->member, "model.json");
    return CKPT_E_FORMAT;
}

/* proto3 JSON writes int64 as strings */
static bool j_int(const cJSON *j, int64_t *out)
{
    if (cJSON_IsNumber(j)) {
        double d = j->valuedouble;
        if (d < -9.2e18 || d > 9.2e18 || d != (double)(int64_t)d)
            return false;
        *out = (int64_t)d;
        return true;
    }
    if (cJSON_IsString(j) && j->valuestring[0]) {
        char *end;
        long long v = strtoll(j->valuestring, &end, 10);
        if (*end)
            return false;
        *out = v;
        return true;
    }
    return false;
}

static int dtype_of(const cJSON *j)
{
    static const struct {
        const char *name;
        int code, ox;
    } map[] = {{"FLOAT", 1, OX_FLOAT},      {"INT32", 2, OX_INT32},   {"BYTE", 3, OX_UINT8},
               {"BOOL", 5, OX_BOOL},        {"UINT8", 6, OX_UINT8},   {"INT8", 7, OX_INT8},
               {"UINT16", 8, OX_UINT16},    {"INT16", 9, OX_INT16},   {"INT64", 10, OX_INT64},
               {"FLOAT16", 12, OX_FLOAT16}, {"DOUBLE", 13, OX_DOUBLE}};
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if ((cJSON_IsString(j) && strcmp(j->valuestring, map[i].name) == 0) ||
            (cJSON_IsNumber(j) && j->valueint == map[i].code))
            return map[i].ox;
    return OX_UNDEFINED;
}

static jv *tensor_at(v1 *V, int64_t id)
{
    if (id < 0 || (size_t)id >= V->nt) {
        char b[64];
        snprintf(b, sizeof b, "%lld", (long long)id);
        v1_fail(V, "no tensor with id ", b);
        return NULL;
    }
    if (V->tv[id])
        return jv_ref(V->tv[id]);
    const cJSON *t = cJSON_GetArrayItem(V->tensors, (int)id);
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(t, "dims");
    const cJSON *strides = cJSON_GetObjectItemCaseSensitive(t, "strides");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(t, "data");
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(data, "key");
    int dt = dtype_of(cJSON_GetObjectItemCaseSensitive(t, "dataType"));
    int64_t off = 0;
    const cJSON *oj = cJSON_GetObjectItemCaseSensitive(t, "offset");
    if (oj && !j_int(oj, &off))
        off = -1;
    int nd = dims ? cJSON_GetArraySize(dims) : 0;
    if (dt == OX_UNDEFINED || !cJSON_IsString(key) || off < 0 || nd > OX_MAX_RANK ||
        (strides && cJSON_GetArraySize(strides) != nd)) {
        char b[64];
        snprintf(b, sizeof b, "%lld", (long long)id);
        v1_fail(V, "malformed tensor (dims, strides, offset, dataType or data.key) ", b);
        return NULL;
    }
    int64_t shape[OX_MAX_RANK], stride[OX_MAX_RANK];
    int64_t numel = 1, last = off;
    for (int i = 0; i < nd; i++) {
        if (!j_int(cJSON_GetArrayItem(dims, i), &shape[i]) || shape[i] < 0 ||
            (strides && (!j_int(cJSON_GetArrayItem(strides, i), &stride[i]) || stride[i] < 0))) {
            v1_fail(V, "a tensor's dims or strides are not counts: ", key->valuestring);
            return NULL;
        }
        if (!strides)
            stride[i] = 0;
        if (shape[i] && numel > INT64_MAX / shape[i]) {
            v1_fail(V, "tensor size overflows: ", key->valuestring);
            return NULL;
        }
        numel *= shape[i];
    }
    if (!strides) { /* contiguous */
        int64_t s = 1;
        for (int i = nd; i-- > 0;) {
            stride[i] = s;
            s *= shape[i] ? shape[i] : 1;
        }
    }
    for (int i = 0; numel && i < nd; i++) {
        if (stride[i] && shape[i] - 1 > (INT64_MAX - last) / stride[i]) {
            v1_fail(V, "tensor extent overflows: ", key->valuestring);
            return NULL;
        }
        last += (shape[i] - 1) * stride[i];
    }
    size_t es = ox_dtype_size(dt);
    const ckpt_zip_entry *e = ckpt_zip_find(V->z, key->valuestring);
    if (!e) {
        CKPT_FAIL(V->err, CKPT_E_FORMAT, "model.json: tensor %lld names record %s, absent",
                  (long long)id, key->valuestring);
        return NULL;
    }
    if (numel && ((uint64_t)last + 1 > e->size / es)) {
        CKPT_FAIL_AT(V->err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, e->header_offset,
                     "model.json: tensor %lld reaches element %lld of record %s, which holds %llu "
                     "bytes",
                     (long long)id, (long long)last, e->name, (unsigned long long)e->size);
        return NULL;
    }
    jv *v = jv_tensor_new();
    if (!v || ox_val_reshape_alloc(&v->u.t->t, dt, nd, shape, V->err) < 0) {
        jv_unref(v);
        if (V->err && !V->err->code)
            CKPT_FAIL(V->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    if (numel) {
        char *raw = NULL;
        size_t rn = 0;
        uint64_t lim = V->m->opts.max_bytes ? V->m->opts.max_bytes : UINT64_MAX;
        if (tsr_read_record(V->z, e, lim, &raw, &rn, V->err) < 0) {
            jv_unref(v);
            return NULL;
        }
        uint8_t *dst = v->u.t->t.data;
        int64_t idx[OX_MAX_RANK] = {0};
        for (int64_t k = 0; k < numel; k++) {
            int64_t src = off;
            for (int i = 0; i < nd; i++)
                src += idx[i] * stride[i];
            memcpy(dst + (size_t)k * es, raw + (size_t)src * es, es);
            for (int i = nd; i-- > 0;) {
                if (++idx[i] < shape[i])
                    break;
                idx[i] = 0;
            }
        }
        free(raw);
    }
    const cJSON *rg = cJSON_GetObjectItemCaseSensitive(t, "requiresGrad");
    v->u.t->requires_grad = cJSON_IsTrue(rg);
    V->tv[id] = v;
    return jv_ref(v);
}

/* ------------------------------------------------------------ attributes.pkl */

static ckpt_obj *h_reduce(void *ctx, ckpt_doc *doc, ckpt_obj *callable, ckpt_obj *args, int op,
                          uint64_t off, ckpt_error *err)
{
    v1 *V = ctx;
    (void)op;
    const char *mod = ckpt_global_module(callable), *name = ckpt_global_name(callable);
    if (mod && strcmp(mod, "torch.jit._pickle") == 0 && ckpt_obj_type(args) == CKPT_T_TUPLE &&
        ckpt_obj_len(args) >= 1) {
        const ckpt_obj *a0 = ckpt_obj_item(args, 0);
        if (strcmp(name, "build_tensor_from_id") == 0 && ckpt_obj_type(a0) == CKPT_T_INT) {
            ckpt_obj *n = ckpt_int_new(doc, ckpt_obj_int(a0));
            if (!n || V->nids == V->cap_ids) {
                size_t cap = V->cap_ids ? V->cap_ids * 2 : 16;
                const ckpt_obj **p = n ? realloc(V->ids, cap * sizeof *p) : NULL;
                if (!p) {
                    CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
                    return NULL;
                }
                V->ids = p;
                V->cap_ids = cap;
            }
            V->ids[V->nids++] = n;
            return n;
        }
        if (strncmp(name, "build_", 6) == 0 || strcmp(name, "restore_type_tag") == 0) {
            ckpt_obj *r;
            memcpy(&r, &a0, sizeof r); /* the list itself */
            return r;
        }
    }
    CKPT_FAIL_AT(err, CKPT_E_UNSUPPORTED, CKPT_WHERE_PICKLE, "attributes.pkl", off,
                 "attributes.pkl: a call to %s.%s", mod ? mod : "?", name ? name : "?");
    return NULL;
}

static jv *attr_value(v1 *V, const ckpt_obj *o, int depth)
{
    if (depth > 100) {
        CKPT_FAIL(V->err, CKPT_E_LIMIT, "attributes.pkl: values nested deeper than 100");
        return NULL;
    }
    for (size_t i = 0; i < V->nids; i++)
        if (V->ids[i] == o)
            return tensor_at(V, ckpt_obj_int(o));
    jv *v = NULL;
    switch (ckpt_obj_type(o)) {
    case CKPT_T_NONE: return jv_none();
    case CKPT_T_BOOL: return jv_bool(ckpt_obj_bool(o));
    case CKPT_T_INT: v = jv_int(ckpt_obj_int(o)); break;
    case CKPT_T_FLOAT: v = jv_float(ckpt_obj_float(o)); break;
    case CKPT_T_STR: {
        size_t n;
        const char *s = ckpt_obj_str(o, &n);
        v = jv_str(s, n);
        break;
    }
    case CKPT_T_TUPLE:
    case CKPT_T_LIST:
        v = ckpt_obj_type(o) == CKPT_T_TUPLE ? jv_tuple_new(0) : jv_list_new(0);
        for (size_t i = 0; v && i < ckpt_obj_len(o); i++) {
            jv *it = attr_value(V, ckpt_obj_item(o, i), depth + 1);
            if (!it || jv_list_push(v, it, V->err) < 0) {
                jv_unref(v);
                return NULL;
            }
        }
        break;
    case CKPT_T_DICT:
        v = jv_dict_new();
        for (size_t i = 0; v && i < ckpt_obj_len(o); i++) {
            jv *k = attr_value(V, ckpt_dict_key(o, i), depth + 1);
            jv *x = k ? attr_value(V, ckpt_dict_value(o, i), depth + 1) : NULL;
            if (!x || jv_dict_set(v, k, x, V->err) < 0) {
                if (!x)
                    jv_unref(k);
                jv_unref(v);
                return NULL;
            }
        }
        break;
    default:
        CKPT_FAIL(V->err, CKPT_E_UNSUPPORTED, "attributes.pkl: a value of type %s",
                  ckpt_type_name(ckpt_obj_type(o)));
        return NULL;
    }
    if (!v && V->err && !V->err->code)
        CKPT_FAIL(V->err, CKPT_E_NOMEM, "out of memory");
    return v;
}

/* ------------------------------------------------------------ modules */

static const jit_source *find_source(const ckpt_jit_model *m, const char *rec, size_t *idx)
{
    for (size_t i = 0; i < m->n_sources; i++)
        if (strcmp(m->sources[i].record, rec) == 0) {
            *idx = i;
            return &m->sources[i];
        }
    return NULL;
}

static jv *module(v1 *V, const cJSON *def, const char *qual, const ckpt_obj *attrs, int depth)
{
    if (depth > JIT_MAX_DEPTH) {
        v1_fail(V, "modules nested too deeply", NULL);
        return NULL;
    }
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(def, "name");
    if (!cJSON_IsString(name) || !name->valuestring[0] || strchr(name->valuestring, '.')) {
        v1_fail(V, "a module without a valid name under ", qual);
        return NULL;
    }
    size_t ql = strlen(qual) + strlen(name->valuestring) + 2;
    char *qn = malloc(ql);
    if (!qn) {
        CKPT_FAIL(V->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(qn, ql, "%s.%s", qual, name->valuestring);
    jit_class *c = jit_class_get(V->m, qn, V->err);
    jv *o = c ? jv_obj_new(c) : NULL;
    if (!o) {
        free(qn);
        if (V->err && !V->err->code)
            CKPT_FAIL(V->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    bool fresh = !c->is_module;
    c->is_module = true;
    int rc = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(def, "submodules"))
    {
        jv *sub = module(V, it, qn, attrs, depth + 1);
        const cJSON *sn = cJSON_GetObjectItemCaseSensitive(it, "name");
        if (!sub || (rc = jv_obj_set(o, sn->valuestring, JIT_A_MODULE, sub, V->err)) < 0) {
            rc = -1;
            break;
        }
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(def, "parameters"))
    {
        if (rc < 0)
            break;
        const cJSON *pn = cJSON_GetObjectItemCaseSensitive(it, "name");
        int64_t tid;
        if (!cJSON_IsString(pn) ||
            !j_int(cJSON_GetObjectItemCaseSensitive(it, "tensorId"), &tid)) {
            rc = v1_fail(V, "a parameter without name or tensorId in module ", qn);
            break;
        }
        bool buf = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(it, "isBuffer"));
        if (fresh)
            rc = buf ? tsr_strv_push(&c->buffers, &c->n_buffers, pn->valuestring,
                                     strlen(pn->valuestring), V->err)
                     : tsr_strv_push(&c->params, &c->n_params, pn->valuestring,
                                     strlen(pn->valuestring), V->err);
        jv *t = rc == 0 ? tensor_at(V, tid) : NULL;
        if (!t || jv_obj_set(o, pn->valuestring, buf ? JIT_A_BUFFER : JIT_A_PARAM, t, V->err) < 0)
            rc = -1;
    }
    cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(def, "attributes"))
    {
        if (rc < 0)
            break;
        const cJSON *an = cJSON_GetObjectItemCaseSensitive(it, "name");
        int64_t id;
        if (!cJSON_IsString(an) || !j_int(cJSON_GetObjectItemCaseSensitive(it, "id"), &id) ||
            id < 0 || !attrs || (uint64_t)id >= ckpt_obj_len(attrs)) {
            rc = v1_fail(V,
                         "an attribute without name or with an id outside attributes.pkl in "
                         "module ",
                         qn);
            break;
        }
        jv *av = attr_value(V, ckpt_obj_item(attrs, (size_t)id), 0);
        if (!av || jv_obj_set(o, an->valuestring, JIT_A_ATTR, av, V->err) < 0)
            rc = -1;
    }
    const cJSON *arena = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(def, "torchscriptArena"), "key");
    if (rc == 0 && fresh && cJSON_IsString(arena)) {
        size_t si;
        if (!find_source(V->m, arena->valuestring, &si))
            rc = v1_fail(V, "torchscriptArena names an absent record ", arena->valuestring);
        else {
            rc = tsr_scan_source(V->m, si, c, V->err);
            if (rc == 0 && !c->file)
                c->file = strdup(arena->valuestring);
        }
    }
    free(qn);
    if (rc < 0) {
        jv_unref(o);
        if (V->err && !V->err->code)
            CKPT_FAIL(V->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    return o;
}

int tsr_read_v1(ckpt_jit_model *m, ckpt_zip *z, ckpt_error *err)
{
    v1 V = {.m = m, .z = z, .err = err};
    const ckpt_zip_entry *je = ckpt_zip_find(z, "model.json");
    char *txt = NULL;
    size_t n = 0;
    CKPT_TRY(tsr_read_record(z, je, TSR_MAX_TEXT, &txt, &n, err));
    cJSON *root = cJSON_ParseWithLength(txt, n);
    free(txt);
    if (!root)
        return v1_fail(&V, "not valid JSON", NULL);
    int rc = 0;
    ckpt_doc *adoc = NULL;
    const ckpt_obj *attrs = NULL;
    V.tensors = cJSON_GetObjectItemCaseSensitive(root, "tensors");
    V.nt = cJSON_IsArray(V.tensors) ? (size_t)cJSON_GetArraySize(V.tensors) : 0;
    V.tv = calloc(V.nt ? V.nt : 1, sizeof *V.tv);
    if (!V.tv)
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    const cJSON *pv = cJSON_GetObjectItemCaseSensitive(root, "producerVersion");
    const cJSON *pn = cJSON_GetObjectItemCaseSensitive(root, "producerName");
    if (rc == 0 && cJSON_IsString(pn)) {
        size_t l = strlen(pn->valuestring) + (cJSON_IsString(pv) ? strlen(pv->valuestring) : 0) +
                   2;
        m->producer = malloc(l);
        if (m->producer)
            snprintf(m->producer, l, "%s%s%s", pn->valuestring, cJSON_IsString(pv) ? " " : "",
                     cJSON_IsString(pv) ? pv->valuestring : "");
    }
    const ckpt_zip_entry *ae = ckpt_zip_find(z, "attributes.pkl");
    if (rc == 0 && ae) {
        char *pk = NULL;
        size_t pn2 = 0;
        rc = tsr_read_record(z, ae, TSR_MAX_TEXT, &pk, &pn2, err);
        if (rc == 0) {
            adoc = ckpt_doc_new(NULL, err);
            ckpt_pickle_hooks h;
            memset(&h, 0, sizeof h);
            h.ctx = &V;
            h.reduce = h_reduce;
            ckpt_pickle_opts po;
            memset(&po, 0, sizeof po);
            po.name = "attributes.pkl";
            po.max_objects = (uint64_t)pn2 + 64;
            attrs = adoc ? ckpt_pickle_load(adoc, (const uint8_t *)pk, pn2, &h, &po, NULL, err)
                         : NULL;
            if (!attrs)
                rc = err->code ? err->code : CKPT_E_FORMAT;
            else if (ckpt_obj_type(attrs) != CKPT_T_TUPLE)
                rc = CKPT_FAIL(err, CKPT_E_FORMAT, "attributes.pkl: not a tuple");
        }
        free(pk);
    }
    if (rc == 0) {
        const cJSON *mm = cJSON_GetObjectItemCaseSensitive(root, "mainModule");
        m->root = cJSON_IsObject(mm) ? module(&V, mm, "__torch__", attrs, 0) : NULL;
        if (!m->root)
            rc = err->code ? err->code : v1_fail(&V, "no mainModule", NULL);
    }
    for (size_t i = 0; i < V.nt; i++)
        jv_unref(V.tv[i]);
    free(V.tv);
    free(V.ids);
    ckpt_doc_free(adoc);
    cJSON_Delete(root);
    if (rc < 0 && err && !err->member[0])
        snprintf(err->member, sizeof err->member, "model.json");
    return rc;
}
