/*
 * src/jit/pt2.c - read torch.export archives (.pt2, torch.export.save).
 *
 * Two layouts (torch/export/__init__.py save/load; torch/export/pt2_archive/):
 *  - torch 2.1-2.7: a plain zip (Python zipfile, records at the top level)
 *    with serialized_exported_program.json, serialized_state_dict.pt (a
 *    torch.save of the state dict), serialized_constants.pt (torch.save of
 *    the constants dict), serialized_example_inputs.pt and `version`
 *    ("<major>.<minor>" of the schema).
 *  - torch 2.8+: the PT2 archive (torch/csrc/export/pt2_archive_constants.h),
 *    written by PyTorchFileWriter so every record sits under one folder:
 *    archive_format ("pt2"), archive_version, models/<name>.json (the same
 *    ExportedProgram JSON), data/weights/<name>_weights_config.json and
 *    data/constants/<name>_constants_config.json (schema.py PayloadConfig:
 *    fqn -> PayloadMeta{path_name, is_param, use_pickle, tensor_meta}), the
 *    raw storage bytes in data/weights/weight_<i> and
 *    data/constants/tensor_<i> (pt2_archive/_package.py _save_raw_tensors;
 *    a tensor is as_strided(storage, sizes, strides, storage_offset)), or
 *    the older data/weights/<name>.pt torch.save of the state dict
 *    (_package.py _load_state_dict, "legacy weight files").
 *
 * The JSON schema is torch/_export/serde/schema.py (see pt2_internal.h).
 * Nothing in the file is executed: pickles are read data-only, the graph is
 * interpreted over the op library (pt2_run.c).
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ckpt/source.h"
#include "ckpt/torch.h"
#include "ckpt/zip.h"
#include "core/err.h"
#include "core/text.h"
#include "jit/pt2_internal.h"

/* ------------------------------------------------------------ freeing */

static void arg_free(pt2_arg *a)
{
    free(a->s);
    free(a->slots);
    free(a->ints);
    free(a->floats);
    for (size_t i = 0; a->strs && i < a->n; i++)
        free(a->strs[i]);
    free(a->strs);
    memset(a, 0, sizeof *a);
}

void pt2_program_free(void *p)
{
    pt2_program *g = p;
    if (!g)
        return;
    free(g->json_record);
    free(g->schema_version);
    free(g->torch_version);
    for (size_t i = 0; i < g->n_slots; i++)
        free(g->slot_names[i]);
    free(g->slot_names);
    free(g->last_use);
    for (size_t i = 0; i < g->n_inputs; i++) {
        free(g->inputs[i].name);
        free(g->inputs[i].target);
        jv_unref(g->inputs[i].value);
    }
    free(g->inputs);
    for (size_t i = 0; i < g->n_nodes; i++) {
        pt2_node *n = &g->nodes[i];
        free(n->target);
        free(n->op);
        free(n->label);
        for (size_t k = 0; n->in && k < n->n_in; k++) {
            free(n->in[k].name);
            arg_free(&n->in[k].arg);
        }
        free(n->in);
        for (size_t k = 0; n->out && k < n->n_out; k++)
            arg_free(&n->out[k]);
        free(n->out);
    }
    free(g->nodes);
    for (size_t i = 0; i < g->n_outputs; i++)
        arg_free(&g->outputs[i].arg);
    free(g->outputs);
    ckpt_doc_free(g->const_doc);
    jv_unref(g->storages);
    free(g);
}

/* ------------------------------------------------------------ parse context */

typedef struct P {
    pt2_program *g;
    const char *rec; /* the record being parsed, for errors */
    char where[256]; /* "graph_module.graph.nodes[3] (torch.ops.aten.conv2d.default)" */
    ckpt_error *err;
    size_t cap_slots;
    int *tab; /* open addressing: slot index + 1, 0 empty */
    size_t tab_cap;
} P;

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static int
pfail(P *p, int code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (p->where[0])
        return CKPT_FAIL(p->err, code, "%s: %s: %s", p->rec, p->where, msg);
    return CKPT_FAIL(p->err, code, "%s: %s", p->rec, msg);
}

static char *dupstr(const char *s)
{
    return s ? strdup(s) : NULL;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

static int slot_find(const P *p, const char *name)
{
    if (!p->tab_cap)
        return -1;
    size_t mask = p->tab_cap - 1;
    for (size_t i = (size_t)hash_str(name) & mask;; i = (i + 1) & mask) {
        int v = p->tab[i];
        if (!v)
            return -1;
        if (strcmp(p->g->slot_names[v - 1], name) == 0)
            return v - 1;
    }
}

static void tab_put(P *p, int slot)
{
    size_t mask = p->tab_cap - 1;
    size_t i = (size_t)hash_str(p->g->slot_names[slot]) & mask;
    while (p->tab[i])
        i = (i + 1) & mask;
    p->tab[i] = slot + 1;
}

/* A new value slot named `name`; a second definition is an error. */
static int slot_def(P *p, const char *name)
{
    pt2_program *g = p->g;
    if (!name[0])
        return pfail(p, CKPT_E_FORMAT, "a value with an empty name");
    if (slot_find(p, name) >= 0)
        return pfail(p, CKPT_E_FORMAT, "value '%s' is defined twice", name);
    if (g->n_slots >= (size_t)INT32_MAX / 2)
        return pfail(p, CKPT_E_LIMIT, "too many values");
    if (g->n_slots == p->cap_slots) {
        size_t cap = p->cap_slots ? p->cap_slots * 2 : 64;
        char **nm = realloc(g->slot_names, cap * sizeof *nm);
        if (!nm)
            return pfail(p, CKPT_E_NOMEM, "out of memory");
        g->slot_names = nm;
        int *lu = realloc(g->last_use, cap * sizeof *lu);
        if (!lu)
            return pfail(p, CKPT_E_NOMEM, "out of memory");
        g->last_use = lu;
        p->cap_slots = cap;
    }
    if ((g->n_slots + 1) * 2 > p->tab_cap) {
        size_t cap = p->tab_cap ? p->tab_cap * 2 : 128;
        while ((g->n_slots + 1) * 2 > cap)
            cap *= 2;
        int *t = calloc(cap, sizeof *t);
        if (!t)
            return pfail(p, CKPT_E_NOMEM, "out of memory");
        free(p->tab);
        p->tab = t;
        p->tab_cap = cap;
        for (size_t i = 0; i < g->n_slots; i++)
            tab_put(p, (int)i);
    }
    g->slot_names[g->n_slots] = strdup(name);
    if (!g->slot_names[g->n_slots])
        return pfail(p, CKPT_E_NOMEM, "out of memory");
    g->last_use[g->n_slots] = -1;
    tab_put(p, (int)g->n_slots);
    return (int)g->n_slots++;
}

/* The slot of a value read by node `user` (graph outputs: n_nodes). */
static int slot_use(P *p, const char *name, int user)
{
    int s = slot_find(p, name);
    if (s < 0)
        return pfail(p, CKPT_E_FORMAT,
                     "reads '%s', which no graph input or earlier node defines (a dangling name "
                     "or a cycle)",
                     name);
    if (p->g->last_use[s] < user)
        p->g->last_use[s] = user;
    return s;
}

/* ------------------------------------------------------------ JSON helpers */

static const cJSON *member(P *p, const cJSON *obj, const char *key, bool required)
{
    if (!cJSON_IsObject(obj)) {
        pfail(p, CKPT_E_FORMAT, "expected an object holding '%s'", key);
        return NULL;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!v && required)
        pfail(p, CKPT_E_FORMAT, "missing key '%s'", key);
    return v;
}

static const char *get_str(P *p, const cJSON *obj, const char *key)
{
    const cJSON *v = member(p, obj, key, true);
    if (!v)
        return NULL;
    if (!cJSON_IsString(v) || !v->valuestring) {
        pfail(p, CKPT_E_FORMAT, "'%s' is not a string", key);
        return NULL;
    }
    return v->valuestring;
}

static int num_int(P *p, const cJSON *v, const char *what, int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return pfail(p, CKPT_E_FORMAT, "%s is not a number", what);
    double d = v->valuedouble;
    if (!(d == floor(d)) || fabs(d) > 9007199254740992.0)
        return pfail(p, CKPT_E_FORMAT, "%s is not an integer (%g)", what, d);
    *out = (int64_t)d;
    return 0;
}

static int num_float(P *p, const cJSON *v, const char *what, double *out)
{
    if (cJSON_IsNumber(v)) {
        *out = v->valuedouble;
        return 0;
    }
    /* serialize.py _dataclass_to_dict writes infinities as strings */
    if (cJSON_IsString(v) && v->valuestring) {
        if (strcmp(v->valuestring, "Infinity") == 0)
            *out = (double)INFINITY;
        else if (strcmp(v->valuestring, "-Infinity") == 0)
            *out = -(double)INFINITY;
        else if (strcmp(v->valuestring, "NaN") == 0)
            *out = (double)NAN;
        else
            return pfail(p, CKPT_E_FORMAT, "%s is not a number ('%.40s')", what, v->valuestring);
        return 0;
    }
    return pfail(p, CKPT_E_FORMAT, "%s is not a number", what);
}

/* A union value: an object with exactly one member. */
static const cJSON *union_of(P *p, const cJSON *v, const char *what)
{
    if (!cJSON_IsObject(v)) {
        pfail(p, CKPT_E_FORMAT, "%s is not an object", what);
        return NULL;
    }
    const cJSON *c = v->child;
    if (!c || c->next || !c->string) {
        pfail(p, CKPT_E_FORMAT, "%s must have exactly one member (a union)", what);
        return NULL;
    }
    return c;
}

static int list_len(P *p, const cJSON *v, const char *what, size_t max, size_t *n)
{
    if (!cJSON_IsArray(v))
        return pfail(p, CKPT_E_FORMAT, "%s is not a list", what);
    size_t k = 0;
    for (const cJSON *c = v->child; c; c = c->next)
        if (++k > max)
            return pfail(p, CKPT_E_LIMIT, "%s has more than %zu elements", what, max);
    *n = k;
    return 0;
}

/* schema.py ScalarType -> c10 ScalarType (c10/core/ScalarType.h order). */
static int64_t scalar_type_c10(int64_t s)
{
    if (s >= 1 && s <= 12)
        return s - 1; /* BYTE..BOOL */
    if (s == 13)
        return JIT_ST_BFLOAT16;
    if (s == 28)
        return 27; /* UInt16 */
    if (s == 29)
        return 24; /* Float8_e4m3fn */
    if (s == 30)
        return 23; /* Float8_e5m2 */
    return -1;
}

/* ------------------------------------------------------------ arguments */

/* A SymInt/SymBool/SymFloat argument: {"as_name": n} or a literal. */
static int parse_sym(P *p, const cJSON *v, const char *lit_tag, int kind, pt2_arg *a, int user,
                     bool def, const char *what)
{
    const cJSON *u = union_of(p, v, what);
    if (!u)
        return p->err->code;
    a->kind = kind;
    a->slot = -1;
    if (strcmp(u->string, "as_name") == 0) {
        if (!cJSON_IsString(u) || !u->valuestring)
            return pfail(p, CKPT_E_FORMAT, "%s.as_name is not a string", what);
        int s = def ? slot_def(p, u->valuestring) : slot_use(p, u->valuestring, user);
        if (s < 0)
            return s;
        a->slot = s;
        return 0;
    }
    if (def)
        return pfail(p, CKPT_E_FORMAT, "%s: an output must be named", what);
    if (strcmp(u->string, lit_tag) != 0)
        return pfail(p, CKPT_E_FORMAT, "%s: unknown member '%.40s'", what, u->string);
    if (kind == PA_SYM_BOOL) {
        if (!cJSON_IsBool(u))
            return pfail(p, CKPT_E_FORMAT, "%s.as_bool is not a bool", what);
        a->i = cJSON_IsTrue(u);
        return 0;
    }
    if (kind == PA_SYM_FLOAT)
        return num_float(p, u, what, &a->f);
    return num_int(p, u, what, &a->i);
}

static int tensor_name(P *p, const cJSON *v, const char *what, const char **name)
{
    *name = get_str(p, v, "name");
    if (!*name)
        return p->err->code ? p->err->code : pfail(p, CKPT_E_FORMAT, "%s: no name", what);
    return 0;
}

/*
 * schema.py class Argument.  `def`: the argument defines values (a node's
 * outputs, a graph input); otherwise it reads them (as node `user`).
 */
static int parse_arg(P *p, const cJSON *v, pt2_arg *a, int user, bool def, const char *what)
{
    memset(a, 0, sizeof *a);
    a->slot = -1;
    const cJSON *u = union_of(p, v, what);
    if (!u)
        return p->err->code;
    const char *tag = u->string;
    if (strcmp(tag, "as_none") == 0) {
        a->kind = PA_NONE;
        return 0;
    }
    if (strcmp(tag, "as_tensor") == 0) {
        const char *nm;
        CKPT_TRY(tensor_name(p, u, what, &nm));
        a->kind = PA_TENSOR;
        a->slot = def ? slot_def(p, nm) : slot_use(p, nm, user);
        return a->slot < 0 ? a->slot : 0;
    }
    if (strcmp(tag, "as_sym_int") == 0)
        return parse_sym(p, u, "as_int", PA_SYM_INT, a, user, def, what);
    if (strcmp(tag, "as_sym_bool") == 0)
        return parse_sym(p, u, "as_bool", PA_SYM_BOOL, a, user, def, what);
    if (strcmp(tag, "as_sym_float") == 0)
        return parse_sym(p, u, "as_float", PA_SYM_FLOAT, a, user, def, what);
    bool list = cJSON_IsArray(u);
    size_t n = 0;
    if (list)
        CKPT_TRY(list_len(p, u, what, PT2_MAX_LIST, &n));
    a->n = n;
    if (strcmp(tag, "as_tensors") == 0 || strcmp(tag, "as_optional_tensors") == 0 ||
        strcmp(tag, "as_sym_ints") == 0) {
        if (!list)
            return pfail(p, CKPT_E_FORMAT, "%s.%s is not a list", what, tag);
        bool opt = tag[3] == 'o', sym = tag[3] == 's';
        a->kind = opt ? PA_OPT_TENSORS : sym ? PA_SYM_INTS : PA_TENSORS;
        a->slots = calloc(n ? n : 1, sizeof *a->slots);
        a->ints = sym ? calloc(n ? n : 1, sizeof *a->ints) : NULL;
        if (!a->slots || (sym && !a->ints))
            return pfail(p, CKPT_E_NOMEM, "out of memory");
        size_t k = 0;
        for (const cJSON *c = u->child; c; c = c->next, k++) {
            a->slots[k] = -1;
            if (sym) {
                pt2_arg s;
                memset(&s, 0, sizeof s);
                CKPT_TRY(parse_sym(p, c, "as_int", PA_SYM_INT, &s, user, def, what));
                a->slots[k] = s.slot;
                a->ints[k] = s.i;
                continue;
            }
            const cJSON *t = c;
            if (opt) {
                t = union_of(p, c, what);
                if (!t)
                    return p->err->code;
                if (strcmp(t->string, "as_none") == 0)
                    continue;
                if (strcmp(t->string, "as_tensor") != 0)
                    return pfail(p, CKPT_E_FORMAT, "%s[%zu]: unknown member '%.40s'", what, k,
                                 t->string);
            }
            const char *nm;
            CKPT_TRY(tensor_name(p, t, what, &nm));
            int s = def ? slot_def(p, nm) : slot_use(p, nm, user);
            if (s < 0)
                return s;
            a->slots[k] = s;
        }
        return 0;
    }
    if (def)
        return pfail(p, CKPT_E_FORMAT,
                     "%s: a value defined as '%.40s' (only tensors and named "
                     "symbols can be defined)",
                     what, tag);
    if (strcmp(tag, "as_int") == 0) {
        a->kind = PA_INT;
        return num_int(p, u, what, &a->i);
    }
    if (strcmp(tag, "as_float") == 0) {
        a->kind = PA_FLOAT;
        return num_float(p, u, what, &a->f);
    }
    if (strcmp(tag, "as_bool") == 0) {
        if (!cJSON_IsBool(u))
            return pfail(p, CKPT_E_FORMAT, "%s.as_bool is not a bool", what);
        a->kind = PA_BOOL;
        a->i = cJSON_IsTrue(u);
        return 0;
    }
    if (strcmp(tag, "as_string") == 0) {
        if (!cJSON_IsString(u) || !u->valuestring)
            return pfail(p, CKPT_E_FORMAT, "%s.as_string is not a string", what);
        a->kind = PA_STR;
        a->s = strdup(u->valuestring);
        return a->s ? 0 : pfail(p, CKPT_E_NOMEM, "out of memory");
    }
    if (strcmp(tag, "as_ints") == 0 || strcmp(tag, "as_floats") == 0 ||
        strcmp(tag, "as_bools") == 0 || strcmp(tag, "as_strings") == 0) {
        if (!list)
            return pfail(p, CKPT_E_FORMAT, "%s.%s is not a list", what, tag);
        char t = tag[3];
        a->kind = t == 'i' ? PA_INTS : t == 'f' ? PA_FLOATS : t == 'b' ? PA_BOOLS : PA_STRS;
        if (t == 'f')
            a->floats = calloc(n ? n : 1, sizeof *a->floats);
        else if (t == 's')
            a->strs = calloc(n ? n : 1, sizeof *a->strs);
        else
            a->ints = calloc(n ? n : 1, sizeof *a->ints);
        if (!a->floats && !a->strs && !a->ints)
            return pfail(p, CKPT_E_NOMEM, "out of memory");
        size_t k = 0;
        for (const cJSON *c = u->child; c; c = c->next, k++) {
            if (t == 'i')
                CKPT_TRY(num_int(p, c, what, &a->ints[k]));
            else if (t == 'f')
                CKPT_TRY(num_float(p, c, what, &a->floats[k]));
            else if (t == 'b') {
                if (!cJSON_IsBool(c))
                    return pfail(p, CKPT_E_FORMAT, "%s[%zu] is not a bool", what, k);
                a->ints[k] = cJSON_IsTrue(c);
            } else {
                if (!cJSON_IsString(c) || !c->valuestring)
                    return pfail(p, CKPT_E_FORMAT, "%s[%zu] is not a string", what, k);
                a->strs[k] = strdup(c->valuestring);
                if (!a->strs[k])
                    return pfail(p, CKPT_E_NOMEM, "out of memory");
            }
        }
        return 0;
    }
    if (strcmp(tag, "as_scalar_type") == 0) {
        int64_t s;
        CKPT_TRY(num_int(p, u, what, &s));
        a->kind = PA_SCALAR_TYPE;
        a->i = scalar_type_c10(s);
        if (a->i < 0)
            return pfail(p, CKPT_E_UNSUPPORTED, "%s: scalar type %" PRId64, what, s);
        return 0;
    }
    if (strcmp(tag, "as_memory_format") == 0) {
        /* schema MemoryFormat -> c10::MemoryFormat (Contiguous 0, Preserve 1, ChannelsLast 2, 3d 3) */
        static const int64_t mf[] = {-1, 0, 2, 3, 1};
        int64_t s;
        CKPT_TRY(num_int(p, u, what, &s));
        if (s < 1 || s > 4)
            return pfail(p, CKPT_E_FORMAT, "%s: memory format %" PRId64, what, s);
        a->kind = PA_MEMORY_FORMAT;
        a->i = mf[s];
        return 0;
    }
    if (strcmp(tag, "as_layout") == 0) {
        /* schema Layout -> c10::Layout (Strided 0, Sparse 1, Mkldnn 2, SparseCsr 3, Csc 4, Bsr 5, Bsc 6) */
        static const int64_t lay[] = {-1, 1, 3, 4, 5, 6, 2, 0};
        int64_t s;
        CKPT_TRY(num_int(p, u, what, &s));
        if (s < 1 || s > 7)
            return pfail(p, CKPT_E_FORMAT, "%s: layout %" PRId64, what, s);
        a->kind = PA_LAYOUT;
        a->i = lay[s];
        return 0;
    }
    if (strcmp(tag, "as_device") == 0) {
        const char *ty = get_str(p, u, "type");
        if (!ty)
            return p->err->code;
        const cJSON *ix = cJSON_GetObjectItemCaseSensitive(u, "index");
        a->kind = PA_DEVICE;
        a->i = -1;
        if (ix && !cJSON_IsNull(ix))
            CKPT_TRY(num_int(p, ix, what, &a->i));
        a->s = strdup(ty);
        return a->s ? 0 : pfail(p, CKPT_E_NOMEM, "out of memory");
    }
    return pfail(p, CKPT_E_UNSUPPORTED, "%s: argument kind '%.40s' is not supported", what, tag);
}

/* ------------------------------------------------------------ graph */

static int parse_target(P *p, pt2_node *n)
{
    const char *t = n->target;
    if (strncmp(t, "torch.ops.", 10) == 0) {
        const char *ns = t + 10;
        const char *dot = strchr(ns, '.');
        if (!dot || dot == ns || !dot[1])
            return pfail(p, CKPT_E_FORMAT, "target '%.80s' is not torch.ops.NS.OP.OVERLOAD", t);
        const char *op = dot + 1;
        const char *end = strchr(op, '.');
        size_t oplen = end ? (size_t)(end - op) : strlen(op);
        size_t nslen = (size_t)(dot - ns);
        if (oplen == 0 || oplen > 200 || nslen > 100)
            return pfail(p, CKPT_E_FORMAT, "target '%.80s' has no operator name", t);
        bool aten = nslen == 4 && strncmp(ns, "aten", 4) == 0;
        n->op = malloc(nslen + oplen + 3);
        if (!n->op)
            return pfail(p, CKPT_E_NOMEM, "out of memory");
        if (aten)
            snprintf(n->op, oplen + 1, "%.*s", (int)oplen, op);
        else
            snprintf(n->op, nslen + oplen + 3, "%.*s::%.*s", (int)nslen, ns, (int)oplen, op);
        return 0;
    }
    if (strcmp(t, "_operator.getitem") == 0) {
        n->special = PT2_SP_GETITEM;
        return 0;
    }
    static const char *binops[] = {"add", "sub", "mul", "floordiv", "mod", "truediv"};
    if (strncmp(t, "_operator.", 10) == 0)
        for (size_t i = 0; i < sizeof binops / sizeof *binops; i++)
            if (strcmp(t + 10, binops[i]) == 0) {
                n->special = PT2_SP_SYM_BINOP;
                n->op = strdup(binops[i]);
                return n->op ? 0 : pfail(p, CKPT_E_NOMEM, "out of memory");
            }
    /* anything else (higher-order ops, "#ns:op" extensions, Python callables)
     * is named when the graph runs: the listing still works */
    return 0;
}

static int parse_node(P *p, const cJSON *jn, size_t idx, pt2_node *n)
{
    snprintf(p->where, sizeof p->where, "graph_module.graph.nodes[%zu]", idx);
    const char *target = get_str(p, jn, "target");
    if (!target)
        return p->err->code;
    n->target = strdup(target);
    if (!n->target)
        return pfail(p, CKPT_E_NOMEM, "out of memory");
    snprintf(p->where, sizeof p->where, "graph_module.graph.nodes[%zu] (%.120s)", idx, target);
    CKPT_TRY(parse_target(p, n));
    const cJSON *ins = member(p, jn, "inputs", true);
    const cJSON *outs = ins ? member(p, jn, "outputs", true) : NULL;
    if (!outs)
        return p->err->code;
    CKPT_TRY(list_len(p, ins, "inputs", PT2_MAX_ARGS, &n->n_in));
    CKPT_TRY(list_len(p, outs, "outputs", PT2_MAX_ARGS, &n->n_out));
    n->in = calloc(n->n_in ? n->n_in : 1, sizeof *n->in);
    n->out = calloc(n->n_out ? n->n_out : 1, sizeof *n->out);
    if (!n->in || !n->out)
        return pfail(p, CKPT_E_NOMEM, "out of memory");
    size_t k = 0;
    char what[64];
    for (const cJSON *c = ins->child; c; c = c->next, k++) {
        snprintf(what, sizeof what, "inputs[%zu]", k);
        const char *nm = get_str(p, c, "name");
        const cJSON *arg = nm ? member(p, c, "arg", true) : NULL;
        if (!arg)
            return p->err->code;
        n->in[k].name = strdup(nm);
        if (!n->in[k].name)
            return pfail(p, CKPT_E_NOMEM, "out of memory");
        /* NamedArgument.kind: 1 POSITIONAL, 2 KEYWORD; absent or null (schema < 8.?): positional */
        const cJSON *kind = cJSON_GetObjectItemCaseSensitive(c, "kind");
        if (kind && !cJSON_IsNull(kind)) {
            int64_t kv = 0;
            CKPT_TRY(num_int(p, kind, "inputs[].kind", &kv));
            if (kv < 0 || kv > 2)
                return pfail(p, CKPT_E_FORMAT, "%s.kind is %" PRId64 " (0, 1 or 2)", what, kv);
            n->in[k].keyword = kv == 2;
        }
        CKPT_TRY(parse_arg(p, arg, &n->in[k].arg, (int)idx, false, what));
    }
    k = 0;
    for (const cJSON *c = outs->child; c; c = c->next, k++) {
        snprintf(what, sizeof what, "outputs[%zu]", k);
        CKPT_TRY(parse_arg(p, c, &n->out[k], (int)idx, true, what));
    }
    const char *first = "";
    if (n->n_out && n->out[0].kind == PA_TENSOR)
        first = p->g->slot_names[n->out[0].slot];
    else if (n->n_out && n->out[0].n && n->out[0].slots && n->out[0].slots[0] >= 0)
        first = p->g->slot_names[n->out[0].slots[0]];
    else if (n->n_out && n->out[0].slot >= 0)
        first = p->g->slot_names[n->out[0].slot];
    size_t len = strlen(p->rec) + strlen(first) + strlen(target) + 64;
    n->label = malloc(len);
    if (!n->label)
        return pfail(p, CKPT_E_NOMEM, "out of memory");
    snprintf(n->label, len, "%s: node '%s' (%s), graph_module.graph.nodes", p->rec, first,
             target);
    return 0;
}

/* The placeholder name an InputSpec binds, from its `arg`. */
static const char *spec_arg_name(P *p, const cJSON *spec)
{
    const cJSON *arg = member(p, spec, "arg", true);
    if (!arg)
        return NULL;
    return get_str(p, arg, "name");
}

/* A name in a legacy signature's list or dict (torch 2.1 GraphSignature:
 * inputs_to_parameters / inputs_to_buffers: dict name -> fqn, user_inputs /
 * user_outputs: lists of names). */
static const cJSON *legacy_find(const cJSON *sig, const char *key, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(sig, key);
    for (const cJSON *c = v ? v->child : NULL; c; c = c->next) {
        if (cJSON_IsObject(v) && c->string && strcmp(c->string, name) == 0)
            return c;
        if (cJSON_IsArray(v) && cJSON_IsString(c) && c->valuestring &&
            strcmp(c->valuestring, name) == 0)
            return c;
    }
    return NULL;
}

/* torch 2.1 (schema before input_specs): the graph inputs bound by name. */
static int parse_legacy_signature(P *p, const cJSON *gin, size_t n_gin, const cJSON *sig)
{
    pt2_program *g = p->g;
    static const char *keys[] = {"inputs_to_parameters", "inputs_to_buffers", "user_inputs",
                                 "user_outputs"};
    for (size_t k = 0; k < 4; k++) {
        const cJSON *v = member(p, sig, keys[k], true);
        if (!v)
            return p->err->code;
        if (k < 2 ? !cJSON_IsObject(v) : !cJSON_IsArray(v))
            return pfail(p, CKPT_E_FORMAT, "'%s' is not a %s", keys[k], k < 2 ? "dict" : "list");
    }
    g->inputs = calloc(n_gin ? n_gin : 1, sizeof *g->inputs);
    if (!g->inputs)
        return pfail(p, CKPT_E_NOMEM, "out of memory");
    size_t i = 0;
    for (const cJSON *gi = gin->child; gi; gi = gi->next, i++) {
        pt2_input *in = &g->inputs[i];
        g->n_inputs = i + 1;
        snprintf(p->where, sizeof p->where, "graph_module.graph.inputs[%zu]", i);
        const cJSON *ga = union_of(p, gi, "graph input");
        if (!ga)
            return p->err->code;
        const char *name = NULL;
        if (strcmp(ga->string, "as_tensor") == 0)
            name = get_str(p, ga, "name");
        else if (strcmp(ga->string, "as_sym_int") == 0) {
            name = get_str(p, ga, "as_name");
            in->is_sym = true;
        } else
            return pfail(p, CKPT_E_UNSUPPORTED, "graph input of kind '%.40s'", ga->string);
        if (!name)
            return p->err->code;
        const cJSON *t;
        if ((t = legacy_find(sig, "inputs_to_parameters", name)) != NULL)
            in->kind = PT2_IN_PARAM;
        else if ((t = legacy_find(sig, "inputs_to_buffers", name)) != NULL) {
            in->kind = PT2_IN_BUFFER;
            in->persistent = true;
        } else if (legacy_find(sig, "user_inputs", name))
            in->kind = PT2_IN_USER;
        else
            return pfail(p, CKPT_E_FORMAT, "graph input '%s' is in no signature list", name);
        if (t && (!cJSON_IsString(t) || !t->valuestring || !t->valuestring[0]))
            return pfail(p, CKPT_E_FORMAT, "signature target of '%s' is not a name", name);
        in->name = strdup(name);
        in->target = t ? strdup(t->valuestring) : NULL;
        if (!in->name || (t && !in->target))
            return pfail(p, CKPT_E_NOMEM, "out of memory");
        in->slot = slot_def(p, name);
        if (in->slot < 0)
            return in->slot;
    }
    return 0;
}

static int parse_signature(P *p, const cJSON *graph, const cJSON *sig)
{
    pt2_program *g = p->g;
    snprintf(p->where, sizeof p->where, "graph_module.graph.inputs");
    const cJSON *gin = member(p, graph, "inputs", true);
    if (!gin)
        return p->err->code;
    size_t n_gin = 0;
    CKPT_TRY(list_len(p, gin, "inputs", PT2_MAX_NODES, &n_gin));
    snprintf(p->where, sizeof p->where, "graph_module.signature");
    if (!cJSON_GetObjectItemCaseSensitive(sig, "input_specs") &&
        cJSON_GetObjectItemCaseSensitive(sig, "inputs_to_parameters"))
        return parse_legacy_signature(p, gin, n_gin, sig);
    const cJSON *ispecs = member(p, sig, "input_specs", true);
    if (!ispecs)
        return p->err->code;
    size_t n_specs = 0;
    CKPT_TRY(list_len(p, ispecs, "input_specs", PT2_MAX_NODES, &n_specs));
    if (n_specs != n_gin)
        return pfail(p, CKPT_E_FORMAT, "%zu input_specs for %zu graph inputs", n_specs, n_gin);
    g->inputs = calloc(n_gin ? n_gin : 1, sizeof *g->inputs);
    if (!g->inputs)
        return pfail(p, CKPT_E_NOMEM, "out of memory");
    const cJSON *gi = gin->child, *si = ispecs->child;
    for (size_t i = 0; i < n_gin; i++, gi = gi->next, si = si->next) {
        pt2_input *in = &g->inputs[i];
        g->n_inputs = i + 1;
        in->slot = -1;
        snprintf(p->where, sizeof p->where, "graph_module.signature.input_specs[%zu]", i);
        const cJSON *u = union_of(p, si, "input spec");
        if (!u)
            return p->err->code;
        const char *tag = u->string, *name = NULL, *target = NULL;
        if (strcmp(tag, "user_input") == 0) {
            in->kind = PT2_IN_USER;
            const cJSON *arg = member(p, u, "arg", true);
            const cJSON *a = arg ? union_of(p, arg, "user_input.arg") : NULL;
            if (!a)
                return p->err->code;
            if (strcmp(a->string, "as_tensor") == 0)
                name = get_str(p, a, "name");
            else if (strcmp(a->string, "as_sym_int") == 0 ||
                     strcmp(a->string, "as_sym_float") == 0) {
                name = get_str(p, a, "as_name");
                in->is_sym = true;
            } else
                in->kind = PT2_IN_CONST_VALUE; /* a specialised constant argument */
            if (!name && in->kind == PT2_IN_USER)
                return p->err->code;
        } else if (strcmp(tag, "parameter") == 0) {
            in->kind = PT2_IN_PARAM;
            name = spec_arg_name(p, u);
            target = name ? get_str(p, u, "parameter_name") : NULL;
        } else if (strcmp(tag, "buffer") == 0) {
            in->kind = PT2_IN_BUFFER;
            name = spec_arg_name(p, u);
            target = name ? get_str(p, u, "buffer_name") : NULL;
            in->persistent = true;
            const cJSON *pers = cJSON_GetObjectItemCaseSensitive(u, "persistent");
            if (pers && !cJSON_IsNull(pers)) {
                if (!cJSON_IsBool(pers))
                    return pfail(p, CKPT_E_FORMAT, "buffer.persistent is not a bool");
                in->persistent = cJSON_IsTrue(pers);
            }
        } else if (strcmp(tag, "tensor_constant") == 0) {
            in->kind = PT2_IN_CONST_TENSOR;
            name = spec_arg_name(p, u);
            target = name ? get_str(p, u, "tensor_constant_name") : NULL;
        } else if (strcmp(tag, "token") == 0) {
            in->kind = PT2_IN_TOKEN;
            name = spec_arg_name(p, u);
        } else if (strcmp(tag, "constant_input") == 0) {
            in->kind = PT2_IN_CONST_VALUE;
            name = get_str(p, u, "name");
        } else if (strcmp(tag, "custom_obj") == 0) {
            return pfail(p, CKPT_E_UNSUPPORTED,
                         "a custom class object input (torchbind) cannot be read");
        } else {
            return pfail(p, CKPT_E_FORMAT, "unknown input spec '%.40s'", tag);
        }
        if (p->err->code)
            return p->err->code;
        if ((in->kind == PT2_IN_PARAM || in->kind == PT2_IN_BUFFER ||
             in->kind == PT2_IN_CONST_TENSOR) &&
            (!target || !target[0]))
            return pfail(p, CKPT_E_FORMAT, "no target name");
        /* the graph input it binds */
        snprintf(p->where, sizeof p->where, "graph_module.graph.inputs[%zu]", i);
        const cJSON *ga = union_of(p, gi, "graph input");
        if (!ga)
            return p->err->code;
        const char *gname = NULL;
        if (strcmp(ga->string, "as_tensor") == 0 || strcmp(ga->string, "as_custom_obj") == 0)
            gname = get_str(p, ga, "name");
        else if (strcmp(ga->string, "as_sym_int") == 0 ||
                 strcmp(ga->string, "as_sym_float") == 0 ||
                 strcmp(ga->string, "as_sym_bool") == 0)
            gname = get_str(p, ga, "as_name");
        else if (in->kind == PT2_IN_CONST_VALUE) {
            /* a constant placeholder: its value is the graph input itself */
            pt2_arg lit;
            CKPT_TRY(parse_arg(p, gi, &lit, -1, false, "graph input"));
            jv *v = lit.kind == PA_INT     ? jv_int(lit.i)
                    : lit.kind == PA_FLOAT ? jv_float(lit.f)
                    : lit.kind == PA_BOOL  ? jv_bool(lit.i != 0)
                    : lit.kind == PA_STR   ? jv_str0(lit.s)
                                           : jv_none();
            arg_free(&lit);
            if (!v)
                return pfail(p, CKPT_E_NOMEM, "out of memory");
            in->value = v;
            char buf[32];
            snprintf(buf, sizeof buf, "arg%zu", i);
            gname = name ? name : buf;
            in->name = strdup(gname);
            if (!in->name)
                return pfail(p, CKPT_E_NOMEM, "out of memory");
            in->slot = slot_def(p, gname);
            if (in->slot < 0)
                return in->slot;
            continue;
        } else
            return pfail(p, CKPT_E_UNSUPPORTED, "graph input of kind '%.40s'", ga->string);
        if (!gname)
            return p->err->code;
        if (name && strcmp(name, gname) != 0)
            return pfail(p, CKPT_E_FORMAT,
                         "input spec %zu names '%s' but graph input %zu is '%s'", i, name, i,
                         gname);
        in->name = strdup(gname);
        in->target = dupstr(target);
        if (!in->name || (target && !in->target))
            return pfail(p, CKPT_E_NOMEM, "out of memory");
        in->slot = slot_def(p, gname);
        if (in->slot < 0)
            return in->slot;
    }
    return 0;
}

static int parse_outputs(P *p, const cJSON *graph, const cJSON *sig)
{
    pt2_program *g = p->g;
    snprintf(p->where, sizeof p->where, "graph_module.graph.outputs");
    const cJSON *gout = member(p, graph, "outputs", true);
    if (!gout)
        return p->err->code;
    size_t n = 0;
    CKPT_TRY(list_len(p, gout, "outputs", PT2_MAX_NODES, &n));
    snprintf(p->where, sizeof p->where, "graph_module.signature");
    if (!cJSON_GetObjectItemCaseSensitive(sig, "output_specs") &&
        cJSON_GetObjectItemCaseSensitive(sig, "user_outputs")) {
        /* torch 2.1: the graph outputs named in user_outputs are returned,
         * the others are buffer mutations */
        g->outputs = calloc(n ? n : 1, sizeof *g->outputs);
        if (!g->outputs)
            return pfail(p, CKPT_E_NOMEM, "out of memory");
        size_t i = 0;
        for (const cJSON *go = gout->child; go; go = go->next, i++) {
            snprintf(p->where, sizeof p->where, "graph_module.graph.outputs[%zu]", i);
            g->n_outputs = i + 1;
            CKPT_TRY(parse_arg(p, go, &g->outputs[i].arg, (int)g->n_nodes, false, "output"));
            const pt2_arg *a = &g->outputs[i].arg;
            g->outputs[i].kind = a->slot < 0 ||
                                         legacy_find(sig, "user_outputs", g->slot_names[a->slot])
                                     ? PT2_OUT_USER
                                     : PT2_OUT_SKIP;
        }
        return 0;
    }
    const cJSON *ospecs = member(p, sig, "output_specs", true);
    if (!ospecs)
        return p->err->code;
    size_t ns = 0;
    CKPT_TRY(list_len(p, ospecs, "output_specs", PT2_MAX_NODES, &ns));
    if (ns != n)
        return pfail(p, CKPT_E_FORMAT, "%zu output_specs for %zu graph outputs", ns, n);
    g->outputs = calloc(n ? n : 1, sizeof *g->outputs);
    if (!g->outputs)
        return pfail(p, CKPT_E_NOMEM, "out of memory");
    const cJSON *go = gout->child, *so = ospecs->child;
    for (size_t i = 0; i < n; i++, go = go->next, so = so->next) {
        snprintf(p->where, sizeof p->where, "graph_module.signature.output_specs[%zu]", i);
        const cJSON *u = union_of(p, so, "output spec");
        if (!u)
            return p->err->code;
        static const char *known[] = {"user_output",
                                      "loss_output",
                                      "buffer_mutation",
                                      "gradient_to_parameter",
                                      "gradient_to_user_input",
                                      "user_input_mutation",
                                      "token",
                                      "parameter_mutation"};
        bool ok = false;
        for (size_t k = 0; k < sizeof known / sizeof *known; k++)
            ok = ok || strcmp(u->string, known[k]) == 0;
        if (!ok)
            return pfail(p, CKPT_E_FORMAT, "unknown output spec '%.40s'", u->string);
        /* user and loss outputs are what ExportedProgram.module() returns;
         * mutations are written back by torch (a run here keeps buffers as read) */
        g->outputs[i].kind = strcmp(u->string, "user_output") == 0 ||
                                     strcmp(u->string, "loss_output") == 0
                                 ? PT2_OUT_USER
                                 : PT2_OUT_SKIP;
        g->n_outputs = i + 1;
        snprintf(p->where, sizeof p->where, "graph_module.graph.outputs[%zu]", i);
        CKPT_TRY(parse_arg(p, go, &g->outputs[i].arg, (int)g->n_nodes, false, "output"));
        /* the spec's own arg must name the same value */
        const cJSON *sarg = cJSON_GetObjectItemCaseSensitive(u, "arg");
        const cJSON *su = sarg ? sarg->child : NULL;
        if (g->outputs[i].arg.kind == PA_TENSOR && su && su->string) {
            const cJSON *nmv = cJSON_GetObjectItemCaseSensitive(
                strcmp(su->string, "as_tensor") == 0 ? su : sarg, "name");
            if (cJSON_IsString(nmv) && nmv->valuestring &&
                strcmp(nmv->valuestring, g->slot_names[g->outputs[i].arg.slot]) != 0)
                return pfail(p, CKPT_E_FORMAT,
                             "output spec names '%.80s' but graph output is '%s'",
                             nmv->valuestring, g->slot_names[g->outputs[i].arg.slot]);
        }
    }
    return 0;
}

static int parse_program(P *p, const cJSON *root)
{
    pt2_program *g = p->g;
    p->where[0] = 0;
    if (!cJSON_IsObject(root))
        return pfail(p, CKPT_E_FORMAT, "the ExportedProgram is not a JSON object");
    const cJSON *sv = member(p, root, "schema_version", true);
    if (!sv)
        return p->err->code;
    int64_t major = 0, minor = 0;
    if (cJSON_IsNumber(sv)) { /* torch 2.1: one int */
        CKPT_TRY(num_int(p, sv, "schema_version", &major));
    } else {
        const cJSON *ma = member(p, sv, "major", true);
        const cJSON *mi = ma ? member(p, sv, "minor", true) : NULL;
        if (!mi)
            return p->err->code;
        CKPT_TRY(num_int(p, ma, "schema_version.major", &major));
        CKPT_TRY(num_int(p, mi, "schema_version.minor", &minor));
    }
    char buf[64];
    snprintf(buf, sizeof buf, "%" PRId64 ".%" PRId64, major, minor);
    g->schema_version = strdup(buf);
    const cJSON *tv = cJSON_GetObjectItemCaseSensitive(root, "torch_version");
    if (cJSON_IsString(tv) && tv->valuestring)
        g->torch_version = strdup(tv->valuestring);
    /* serialize.py ExportedProgramDeserializer.deserialize: another major
     * version (0.0 excepted) is refused */
    if (major != 8 && !(major == 0 && minor == 0) && (major < 1 || major > 8))
        return pfail(p, CKPT_E_UNSUPPORTED, "schema version %s (ckpt reads 1.x to 8.x)", buf);
    const cJSON *gm = member(p, root, "graph_module", true);
    const cJSON *graph = gm ? member(p, gm, "graph", true) : NULL;
    const cJSON *sig = graph ? member(p, gm, "signature", true) : NULL;
    if (!sig)
        return p->err->code;
    CKPT_TRY(parse_signature(p, graph, sig));
    snprintf(p->where, sizeof p->where, "graph_module.graph");
    const cJSON *nodes = member(p, graph, "nodes", true);
    if (!nodes)
        return p->err->code;
    size_t n = 0;
    CKPT_TRY(list_len(p, nodes, "nodes", PT2_MAX_NODES, &n));
    g->nodes = calloc(n ? n : 1, sizeof *g->nodes);
    if (!g->nodes)
        return pfail(p, CKPT_E_NOMEM, "out of memory");
    size_t k = 0;
    for (const cJSON *c = nodes->child; c; c = c->next, k++) {
        g->n_nodes = k + 1;
        CKPT_TRY(parse_node(p, c, k, &g->nodes[k]));
    }
    g->n_nodes = n;
    CKPT_TRY(parse_outputs(p, graph, sig));
    p->where[0] = 0;
    return 0;
}

/* ------------------------------------------------------------ records */

static int read_record(ckpt_zip *z, const char *name, const ckpt_jit_model *m, char **out,
                       size_t *len, ckpt_error *err)
{
    const ckpt_zip_entry *e = ckpt_zip_find(z, name);
    if (!e)
        return CKPT_FAIL(err, CKPT_E_NOT_FOUND, "record %s is missing", name);
    if (e->size > PT2_MAX_JSON * 4ull || (m->opts.max_bytes && e->size > m->opts.max_bytes))
        return CKPT_FAIL(err, CKPT_E_LIMIT, "record %s: %" PRIu64 " bytes is past the limit",
                         name, e->size);
    char *buf = malloc((size_t)e->size + 1);
    if (!buf)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory reading %s", name);
    if (ckpt_zip_read(z, e, buf, (size_t)e->size, m->opts.verify_crc, err) < 0) {
        free(buf);
        return err->code;
    }
    buf[e->size] = 0;
    *out = buf;
    *len = (size_t)e->size;
    return 0;
}

/* A tensor of a loaded document as a jv (borrowing contiguous data). */
static jv *tensor_from_obj(const ckpt_obj *o, const char *rec, const char *key, ckpt_error *err)
{
    ckpt_tensor_info ti;
    if (ckpt_obj_type(o) != CKPT_T_TENSOR || ckpt_tensor_get_info(o, &ti) < 0) {
        CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "%s: '%s' is a %s, not a plain tensor", rec, key,
                  ckpt_type_name(ckpt_obj_type(o)));
        return NULL;
    }
    int dt = ox_dtype_from_ckpt(ti.dtype);
    if (dt <= 0 || ti.ndim < 0 || ti.ndim > OX_MAX_RANK || ti.quantized) {
        CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "%s: '%s': dtype %s, %d dims%s", rec, key,
                  ckpt_dtype_name(ti.dtype) ? ckpt_dtype_name(ti.dtype) : "?", ti.ndim,
                  ti.quantized ? ", quantized" : "");
        return NULL;
    }
    const void *data = ckpt_tensor_data(o);
    jv *t;
    if (ti.contiguous && data && ti.numel > 0) {
        void *d;
        memcpy(&d, &data, sizeof d); /* borrowed from the document, never written */
        t = jv_tensor_view(NULL, dt, ti.ndim, ti.shape, d);
        if (!t)
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    } else {
        t = jv_tensor_new();
        if (!t) {
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            return NULL;
        }
        if (ox_val_reshape_alloc(&t->u.t->t, dt, ti.ndim, ti.shape, err) < 0 ||
            (ti.numel > 0 &&
             ckpt_tensor_copy_into(o, t->u.t->t.data, ox_val_nbytes(&t->u.t->t), err) < 0)) {
            jv_unref(t);
            return NULL;
        }
    }
    if (t)
        t->u.t->requires_grad = ti.requires_grad;
    return t;
}

/* A torch.save'd dict (state dict / constants) into `dict` (name -> tensor). */
static int load_saved_dict(ckpt_zip *z, const char *name, ckpt_jit_model *m, ckpt_doc **doc_out,
                           jv *dict, ckpt_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    CKPT_TRY(read_record(z, name, m, &buf, &len, err));
    if (len == 0) { /* serialize_torch_artifact(None) writes b"" (deserialize: {}) */
        free(buf);
        return 0;
    }
    ckpt_load_opts lo;
    memset(&lo, 0, sizeof lo);
    lo.mode = CKPT_LOAD_COPY;
    lo.unsafe_full = true; /* data-only: nothing is executed */
    lo.verify_crc = m->opts.verify_crc;
    ckpt_doc *doc = ckpt_load_mem(buf, len, name, &lo, err);
    free(buf);
    if (!doc)
        return err->code ? err->code : CKPT_E_FORMAT;
    *doc_out = doc;
    const ckpt_obj *root = ckpt_doc_root(doc);
    if (ckpt_obj_type(root) != CKPT_T_DICT)
        return CKPT_FAIL(err, CKPT_E_FORMAT, "%s holds a %s, not a dict", name,
                         ckpt_type_name(ckpt_obj_type(root)));
    size_t n = ckpt_obj_len(root);
    for (size_t i = 0; i < n; i++) {
        const ckpt_obj *k = ckpt_dict_key(root, i);
        const char *ks = ckpt_obj_type(k) == CKPT_T_STR ? ckpt_obj_str(k, NULL) : NULL;
        if (!ks)
            return CKPT_FAIL(err, CKPT_E_FORMAT, "%s: key %zu is not a string", name, i);
        const ckpt_obj *v = ckpt_dict_value(root, i);
        if (ckpt_obj_type(v) != CKPT_T_TENSOR)
            continue; /* a custom object constant: named if the graph binds it */
        jv *t = tensor_from_obj(v, name, ks, err);
        if (!t)
            return err->code ? err->code : CKPT_E_NOMEM;
        CKPT_TRY(jv_dict_set(dict, jv_str0(ks), t, err));
    }
    return 0;
}

/* schema ScalarType -> ONNX dtype code */
static int st_to_ox(int64_t s)
{
    int64_t c = scalar_type_c10(s);
    return c < 0 ? OX_UNDEFINED : jit_st_to_ox(c);
}

static int sym_list(P *p, const cJSON *v, const char *what, int64_t *out, size_t max, size_t *n)
{
    CKPT_TRY(list_len(p, v, what, max, n));
    size_t k = 0;
    for (const cJSON *c = v->child; c; c = c->next, k++) {
        const cJSON *u = union_of(p, c, what);
        if (!u)
            return p->err->code;
        if (strcmp(u->string, "as_int") != 0)
            return pfail(p, CKPT_E_UNSUPPORTED, "%s: a symbolic size ('%.40s')", what, u->string);
        CKPT_TRY(num_int(p, u, what, &out[k]));
    }
    return 0;
}

/*
 * The PT2 archive's payload config (pt2_archive/_package.py
 * _package_state_dict / _build_file_map / _load_state_dict): each fqn's
 * storage record under `dir`, viewed with its TensorMeta.
 */
static int load_payload(ckpt_zip *z, ckpt_jit_model *m, pt2_program *g, const char *cfg_rec,
                        const char *dir, jv *dict, ckpt_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    CKPT_TRY(read_record(z, cfg_rec, m, &buf, &len, err));
    cJSON *root = cJSON_ParseWithLength(buf, len);
    free(buf);
    P p = {.g = g, .rec = cfg_rec, .err = err};
    if (!root)
        return pfail(&p, CKPT_E_FORMAT, "not valid JSON");
    int rc = 0;
    jv *files = jv_dict_new(); /* path_name -> storage (uint8 tensor) */
    const cJSON *cfg = member(&p, root, "config", true);
    if (!files)
        rc = pfail(&p, CKPT_E_NOMEM, "out of memory");
    else if (!cfg)
        rc = err->code;
    else if (!cJSON_IsObject(cfg))
        rc = pfail(&p, CKPT_E_FORMAT, "'config' is not an object");
    for (const cJSON *e = cfg && rc == 0 ? cfg->child : NULL; e && rc == 0; e = e->next) {
        snprintf(p.where, sizeof p.where, "config['%.120s']", e->string ? e->string : "");
        const char *path = get_str(&p, e, "path_name");
        const cJSON *up = path ? member(&p, e, "use_pickle", true) : NULL;
        if (!up) {
            rc = err->code;
            break;
        }
        if (!path[0] || strstr(path, "..") || strchr(path, '/')) {
            rc = pfail(&p, CKPT_E_FORMAT, "path_name '%.80s' is not a file name", path);
            break;
        }
        size_t nl = strlen(dir) + strlen(path) + 1;
        char *rname = malloc(nl);
        if (!rname) {
            rc = pfail(&p, CKPT_E_NOMEM, "out of memory");
            break;
        }
        snprintf(rname, nl, "%s%s", dir, path);
        const cJSON *tm = cJSON_GetObjectItemCaseSensitive(e, "tensor_meta");
        if (cJSON_IsTrue(up)) {
            /* a pickled payload: a tensor subclass or a custom object */
            free(rname);
            if (!tm || cJSON_IsNull(tm))
                continue; /* a custom object: named if the graph binds it */
            rc = pfail(&p, CKPT_E_UNSUPPORTED, "a pickled tensor payload (a tensor subclass)");
            break;
        }
        if (!tm || !cJSON_IsObject(tm)) {
            free(rname);
            rc = pfail(&p, CKPT_E_FORMAT, "'tensor_meta' is missing");
            break;
        }
        int64_t dts = 0, dims[OX_MAX_RANK], strides[OX_MAX_RANK], off = 0;
        size_t nd = 0, ns = 0;
        const cJSON *dtv = member(&p, tm, "dtype", true);
        const cJSON *sz = dtv ? member(&p, tm, "sizes", true) : NULL;
        const cJSON *st = sz ? member(&p, tm, "strides", true) : NULL;
        const cJSON *so = st ? member(&p, tm, "storage_offset", true) : NULL;
        if (!so || num_int(&p, dtv, "dtype", &dts) < 0 ||
            sym_list(&p, sz, "sizes", dims, OX_MAX_RANK, &nd) < 0 ||
            sym_list(&p, st, "strides", strides, OX_MAX_RANK, &ns) < 0) {
            free(rname);
            rc = err->code;
            break;
        }
        const cJSON *sou = union_of(&p, so, "storage_offset");
        if (!sou || strcmp(sou->string, "as_int") != 0 ||
            num_int(&p, sou, "storage_offset", &off) < 0) {
            free(rname);
            rc = err->code ? err->code : pfail(&p, CKPT_E_UNSUPPORTED, "symbolic storage offset");
            break;
        }
        const cJSON *lay = cJSON_GetObjectItemCaseSensitive(tm, "layout");
        int64_t layv = 7;
        if (lay && num_int(&p, lay, "layout", &layv) < 0) {
            free(rname);
            rc = err->code;
            break;
        }
        int dt = st_to_ox(dts);
        size_t es = dt ? ox_dtype_size(dt) : 0;
        if (!es || layv != 7 || nd != ns || off < 0) {
            free(rname);
            rc = pfail(&p, CKPT_E_UNSUPPORTED,
                       "tensor_meta: dtype %" PRId64 ", layout %" PRId64
                       ", %zu sizes, %zu strides, offset %" PRId64,
                       dts, layv, nd, ns, off);
            break;
        }
        /* the storage record, read once per path */
        jv *stor = jv_dict_get_str(files, path);
        if (!stor) {
            const ckpt_zip_entry *ze = ckpt_zip_find(z, rname);
            if (!ze) {
                rc = pfail(&p, CKPT_E_NOT_FOUND, "record %s is missing", rname);
                free(rname);
                break;
            }
            if (m->opts.max_bytes && ze->size > m->opts.max_bytes) {
                rc = pfail(&p, CKPT_E_LIMIT, "record %s is past the byte limit", rname);
                free(rname);
                break;
            }
            stor = jv_tensor_new();
            int64_t nbytes = (int64_t)ze->size;
            if (!stor || ox_val_reshape_alloc(&stor->u.t->t, OX_UINT8, 1, &nbytes, err) < 0 ||
                (nbytes && ckpt_zip_read(z, ze, stor->u.t->t.data, (size_t)nbytes,
                                         m->opts.verify_crc, err) < 0)) {
                jv_unref(stor);
                rc = err->code ? err->code : pfail(&p, CKPT_E_NOMEM, "out of memory");
                free(rname);
                break;
            }
            rc = jv_dict_set(files, jv_str0(path), stor, err);
            if (rc < 0) {
                free(rname);
                break;
            }
            rc = jv_list_push(g->storages, jv_ref(stor), err);
            if (rc < 0) {
                free(rname);
                break;
            }
        }
        uint64_t sbytes = ox_val_nbytes(&stor->u.t->t);
        if (sbytes % es) {
            rc = pfail(&p, CKPT_E_FORMAT, "record %s: %" PRIu64 " bytes is not a multiple of %zu",
                       rname, sbytes, es);
            free(rname);
            break;
        }
        uint64_t snumel = sbytes / es;
        int64_t numel = 1, maxoff = off;
        bool contig = true;
        int64_t expect = 1;
        for (size_t d = nd; d-- > 0;) {
            if (dims[d] < 0 || strides[d] < 0) {
                rc = pfail(&p, CKPT_E_FORMAT, "negative size or stride");
                break;
            }
            if (dims[d] > 0 && numel > INT64_MAX / dims[d]) {
                rc = pfail(&p, CKPT_E_LIMIT, "too many elements");
                break;
            }
            numel *= dims[d];
            if (dims[d] > 1) {
                if (strides[d] != expect)
                    contig = false;
                if (strides[d] > 0 && dims[d] - 1 > (INT64_MAX - maxoff) / strides[d]) {
                    rc = pfail(&p, CKPT_E_LIMIT, "stride overflow");
                    break;
                }
                maxoff += (dims[d] - 1) * strides[d];
            }
            expect *= dims[d] ? dims[d] : 1;
        }
        if (rc < 0) {
            free(rname);
            break;
        }
        jv *t = NULL;
        if (numel == 0 || sbytes == 0) {
            if (numel != 0 && sbytes == 0) { /* _build_file_map: an empty record is zeros */
                t = jv_tensor_new();
                if (t && ox_val_reshape_alloc(&t->u.t->t, dt, (int)nd, dims, err) == 0)
                    memset(t->u.t->t.data, 0, ox_val_nbytes(&t->u.t->t));
                else {
                    jv_unref(t);
                    t = NULL;
                }
            } else {
                t = jv_tensor_new();
                if (t && ox_val_reshape_alloc(&t->u.t->t, dt, (int)nd, dims, err) < 0) {
                    jv_unref(t);
                    t = NULL;
                }
            }
        } else if ((uint64_t)maxoff >= snumel) {
            rc = pfail(&p, CKPT_E_FORMAT,
                       "sizes/strides/offset reach element %" PRId64 " of %" PRIu64 " in %s",
                       maxoff, snumel, rname);
            free(rname);
            break;
        } else if (contig) {
            t = jv_tensor_view(stor, dt, (int)nd, dims,
                               (uint8_t *)stor->u.t->t.data + (size_t)off * es);
        } else {
            t = jv_tensor_new();
            if (t && ox_val_reshape_alloc(&t->u.t->t, dt, (int)nd, dims, err) == 0) {
                const uint8_t *src = stor->u.t->t.data;
                uint8_t *dst = t->u.t->t.data;
                int64_t idx[OX_MAX_RANK] = {0};
                for (int64_t e2 = 0; e2 < numel; e2++) {
                    int64_t so2 = off;
                    for (size_t d = 0; d < nd; d++)
                        so2 += idx[d] * strides[d];
                    memcpy(dst + (size_t)e2 * es, src + (size_t)so2 * es, es);
                    for (size_t d = nd; d-- > 0;) {
                        if (++idx[d] < dims[d])
                            break;
                        idx[d] = 0;
                    }
                }
            } else {
                jv_unref(t);
                t = NULL;
            }
        }
        free(rname);
        if (!t) {
            rc = err->code ? err->code : pfail(&p, CKPT_E_NOMEM, "out of memory");
            break;
        }
        const cJSON *rg = cJSON_GetObjectItemCaseSensitive(tm, "requires_grad");
        t->u.t->requires_grad = cJSON_IsTrue(rg);
        rc = jv_dict_set(dict, jv_str0(e->string ? e->string : ""), t, err);
    }
    jv_unref(files);
    cJSON_Delete(root);
    return rc;
}

/* ------------------------------------------------------------ source text */

static void sb_double(ckpt__text *b, double v)
{
    char t[40];
    snprintf(t, sizeof t, "%.15g", v); /* shortest of 15/17 digits that reads back */
    if (strtod(t, NULL) != v)
        snprintf(t, sizeof t, "%.17g", v);
    ckpt__text_printf(b, "%s", t);
}

static void sb_arg(ckpt__text *b, const pt2_program *g, const pt2_arg *a)
{
    switch (a->kind) {
    case PA_NONE: ckpt__text_printf(b, "None"); return;
    case PA_TENSOR:
    case PA_SYM_INT:
    case PA_SYM_BOOL:
    case PA_SYM_FLOAT:
        if (a->slot >= 0)
            ckpt__text_printf(b, "%s", g->slot_names[a->slot]);
        else if (a->kind == PA_SYM_FLOAT)
            sb_double(b, a->f);
        else if (a->kind == PA_SYM_BOOL)
            ckpt__text_printf(b, "%s", a->i ? "True" : "False");
        else
            ckpt__text_printf(b, "%" PRId64, a->i);
        return;
    case PA_INT:
    case PA_SCALAR_TYPE:
    case PA_MEMORY_FORMAT:
    case PA_LAYOUT: ckpt__text_printf(b, "%" PRId64, a->i); return;
    case PA_FLOAT: sb_double(b, a->f); return;
    case PA_BOOL: ckpt__text_printf(b, "%s", a->i ? "True" : "False"); return;
    case PA_STR: ckpt__text_printf(b, "'%s'", a->s); return;
    case PA_DEVICE: ckpt__text_printf(b, "device('%s')", a->s); return;
    default: break;
    }
    ckpt__text_printf(b, "[");
    for (size_t k = 0; k < a->n; k++) {
        if (k)
            ckpt__text_printf(b, ", ");
        if (a->kind == PA_INTS)
            ckpt__text_printf(b, "%" PRId64, a->ints[k]);
        else if (a->kind == PA_BOOLS)
            ckpt__text_printf(b, "%s", a->ints[k] ? "True" : "False");
        else if (a->kind == PA_FLOATS)
            sb_double(b, a->floats[k]);
        else if (a->kind == PA_STRS)
            ckpt__text_printf(b, "'%s'", a->strs[k]);
        else if (a->slots[k] >= 0)
            ckpt__text_printf(b, "%s", g->slot_names[a->slots[k]]);
        else if (a->kind == PA_SYM_INTS)
            ckpt__text_printf(b, "%" PRId64, a->ints[k]);
        else
            ckpt__text_printf(b, "None");
    }
    ckpt__text_printf(b, "]");
}

/* The graph as Python-like text (what `ckpt show --code` prints): the
 * placeholders' bindings as comments, one line per node, the return. */
static char *render_source(const pt2_program *g, int64_t *lines)
{
    ckpt__text b = {0};
    int64_t n = 2;
    ckpt__text_printf(&b, "def forward(self");
    for (size_t i = 0; i < g->n_inputs; i++)
        if (g->inputs[i].kind == PT2_IN_USER)
            ckpt__text_printf(&b, ", %s", g->inputs[i].name);
    ckpt__text_printf(&b, "):\n");
    for (size_t i = 0; i < g->n_inputs; i++) {
        const pt2_input *in = &g->inputs[i];
        const char *k = in->kind == PT2_IN_PARAM          ? "parameter"
                        : in->kind == PT2_IN_BUFFER       ? "buffer"
                        : in->kind == PT2_IN_CONST_TENSOR ? "tensor constant"
                        : in->kind == PT2_IN_TOKEN        ? "token"
                        : in->kind == PT2_IN_CONST_VALUE  ? "constant"
                                                          : NULL;
        if (k) {
            ckpt__text_printf(&b, "    # %s: %s %s\n", in->name, k, in->target ? in->target : "");
            n++;
        }
    }
    for (size_t i = 0; i < g->n_nodes; i++) {
        const pt2_node *nd = &g->nodes[i];
        ckpt__text_printf(&b, "    ");
        for (size_t k = 0; k < nd->n_out; k++) {
            if (k)
                ckpt__text_printf(&b, ", ");
            sb_arg(&b, g, &nd->out[k]);
        }
        ckpt__text_printf(&b, "%s%s(", nd->n_out ? " = " : "", nd->target);
        for (size_t k = 0; k < nd->n_in; k++) {
            if (k)
                ckpt__text_printf(&b, ", ");
            if (nd->in[k].keyword)
                ckpt__text_printf(&b, "%s=", nd->in[k].name);
            sb_arg(&b, g, &nd->in[k].arg);
        }
        ckpt__text_printf(&b, ")\n");
        n++;
    }
    ckpt__text_printf(&b, "    return (");
    for (size_t i = 0; i < g->n_outputs; i++) {
        if (i)
            ckpt__text_printf(&b, ", ");
        sb_arg(&b, g, &g->outputs[i].arg);
    }
    ckpt__text_printf(&b, ")\n");
    if (b.oom) {
        free(b.p);
        return NULL;
    }
    *lines = n;
    return b.p;
}

/* ------------------------------------------------------------ module tree */

/* The object holding dotted name `fqn` (submodules created on the way). */
static jv *owner_of(ckpt_jit_model *m, jv *root, const char *fqn, const char **leaf,
                    ckpt_error *err)
{
    jv *o = root;
    const char *s = fqn;
    int depth = 0;
    for (const char *dot; (dot = strchr(s, '.')) != NULL; s = dot + 1) {
        if (++depth > JIT_MAX_DEPTH) {
            CKPT_FAIL(err, CKPT_E_LIMIT, "'%.80s' is nested deeper than %d", fqn, JIT_MAX_DEPTH);
            return NULL;
        }
        size_t n = (size_t)(dot - s);
        char name[256];
        if (n == 0 || n >= sizeof name) {
            CKPT_FAIL(err, CKPT_E_FORMAT, "'%.80s' is not a dotted name", fqn);
            return NULL;
        }
        memcpy(name, s, n);
        name[n] = 0;
        jv *sub = jv_obj_get(o, name);
        if (!sub) {
            jit_class *c = jit_class_get(m, "torch.nn.Module", err);
            if (!c)
                return NULL;
            c->is_module = true;
            sub = jv_obj_new(c);
            if (jv_obj_set(o, name, JIT_A_MODULE, sub, err) < 0)
                return NULL;
        } else if (sub->kind != JV_OBJECT) {
            CKPT_FAIL(err, CKPT_E_FORMAT, "'%.80s': '%s' is both a tensor and a module", fqn,
                      name);
            return NULL;
        }
        o = sub;
    }
    if (!*s) {
        CKPT_FAIL(err, CKPT_E_FORMAT, "'%.80s' is not a dotted name", fqn);
        return NULL;
    }
    *leaf = s;
    return o;
}

static int build_tree(ckpt_jit_model *m, pt2_program *g, jv *sd, jv *consts, ckpt_error *err)
{
    jit_class *rc = jit_class_get(m, "torch.export.ExportedProgram", err);
    if (!rc)
        return err->code;
    rc->is_module = true;
    m->root = jv_obj_new(rc);
    if (!m->root)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    /* forward(user inputs) */
    size_t n_user = 0;
    for (size_t i = 0; i < g->n_inputs; i++)
        n_user += g->inputs[i].kind == PT2_IN_USER;
    rc->methods = calloc(1, sizeof *rc->methods);
    if (!rc->methods)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    rc->n_methods = 1;
    jit_method *mt = &rc->methods[0];
    mt->name = strdup("forward");
    mt->file = strdup(g->json_record);
    mt->ret_type = strdup("Tuple");
    mt->line = 1;
    mt->source = render_source(g, &mt->end_line);
    mt->arg_names = calloc(n_user ? n_user : 1, sizeof *mt->arg_names);
    mt->arg_types = calloc(n_user ? n_user : 1, sizeof *mt->arg_types);
    if (!mt->name || !mt->file || !mt->ret_type || !mt->source || !mt->arg_names ||
        !mt->arg_types)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < g->n_inputs; i++) {
        pt2_input *in = &g->inputs[i];
        if (in->kind == PT2_IN_USER) {
            mt->arg_names[mt->n_args] = strdup(in->name);
            mt->arg_types[mt->n_args] = strdup(in->is_sym ? "int" : "Tensor");
            mt->n_args++;
            if (!mt->arg_names[mt->n_args - 1] || !mt->arg_types[mt->n_args - 1])
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            continue;
        }
        if (in->kind != PT2_IN_PARAM && in->kind != PT2_IN_BUFFER &&
            in->kind != PT2_IN_CONST_TENSOR)
            continue;
        /* parameters and persistent buffers are in the state dict; tensor
         * constants and non-persistent buffers in the constants
         * (ExportedProgram.state_dict / .constants) */
        bool in_sd = in->kind == PT2_IN_PARAM || (in->kind == PT2_IN_BUFFER && in->persistent);
        jv *t = jv_dict_get_str(in_sd ? sd : consts, in->target);
        if (!t)
            t = jv_dict_get_str(in_sd ? consts : sd, in->target);
        if (!t)
            return CKPT_FAIL(err, CKPT_E_FORMAT,
                             "%s: input '%s' binds %s '%s', which the %s does not hold",
                             g->json_record, in->name,
                             in->kind == PT2_IN_PARAM    ? "parameter"
                             : in->kind == PT2_IN_BUFFER ? "buffer"
                                                         : "tensor constant",
                             in->target, in_sd ? "state dict" : "constants");
        in->value = jv_ref(t);
        const char *leaf;
        jv *o = owner_of(m, m->root, in->target, &leaf, err);
        if (!o)
            return err->code ? err->code : CKPT_E_NOMEM;
        if (jv_obj_find(o, leaf) >= 0)
            continue; /* bound twice (tied weights): listed once */
        int ak = in->kind == PT2_IN_PARAM    ? JIT_A_PARAM
                 : in->kind == PT2_IN_BUFFER ? JIT_A_BUFFER
                                             : JIT_A_ATTR;
        CKPT_TRY(jv_obj_set(o, leaf, ak, jv_ref(t), err));
    }
    return 0;
}

/* ------------------------------------------------------------ entry */

static int read_json(ckpt_zip *z, ckpt_jit_model *m, pt2_program *g, ckpt_error *err)
{
    char *buf = NULL;
    size_t len = 0;
    CKPT_TRY(read_record(z, g->json_record, m, &buf, &len, err));
    cJSON *root = cJSON_ParseWithLength(buf, len);
    P p = {.g = g, .rec = g->json_record, .err = err};
    if (!root) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= buf && at <= buf + len ? (size_t)(at - buf) : 0;
        free(buf);
        return pfail(&p, CKPT_E_FORMAT, "not valid JSON (near byte %zu)", off);
    }
    free(buf);
    int rc = parse_program(&p, root);
    free(p.tab);
    cJSON_Delete(root);
    return rc;
}

int jit_read_pt2(ckpt_jit_model *m, ckpt_error *err)
{
    /* the parsers test err->code after a failed step: start from a clear record
     * (ckpt__fail keeps the first error, so a caller's uninitialised record would win) */
    ckpt_error_clear(err);
    ckpt_source src;
    CKPT_TRY(ckpt_source_open_file(&src, m->path, true, err));
    ckpt_zip_opts zo;
    memset(&zo, 0, sizeof zo);
    zo.flat = true; /* the 2.1-2.7 layout has no folder; the PT2 archive has one */
    ckpt_zip *z = ckpt_zip_open(&src, &zo, NULL, err);
    if (!z) {
        ckpt_source_close(&src);
        return err->code;
    }
    int rc = 0;
    pt2_program *g = calloc(1, sizeof *g);
    m->pt2 = g;
    m->pt2_free = pt2_program_free;
    jv *sd = jv_dict_new(), *consts = jv_dict_new();
    if (!g || !sd || !consts || !(g->storages = jv_list_new(0))) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto done;
    }
    /* which layout */
    const char *root = NULL;
    size_t rootlen = 0;
    if (ckpt_zip_find(z, "serialized_exported_program.json")) {
        g->layout = 1;
        g->json_record = strdup("serialized_exported_program.json");
    } else {
        for (size_t i = 0; i < ckpt_zip_count(z); i++) {
            const char *nm = ckpt_zip_entry_at(z, i)->name;
            const char *sl = nm ? strchr(nm, '/') : NULL;
            if (sl && strcmp(sl + 1, "archive_format") == 0) {
                root = nm;
                rootlen = (size_t)(sl - nm) + 1;
                break;
            }
        }
        if (!root) {
            rc = CKPT_FAIL(err, CKPT_E_FORMAT,
                           "neither serialized_exported_program.json nor <folder>/archive_format: "
                           "not a torch.export archive");
            goto done;
        }
        g->layout = 2;
    }
    if (g->layout == 2) {
        char name[512];
        snprintf(name, sizeof name, "%.*sarchive_format", (int)rootlen, root);
        char *fmt = NULL;
        size_t flen = 0;
        if ((rc = read_record(z, name, m, &fmt, &flen, err)) < 0)
            goto done;
        bool ok = flen == 3 && memcmp(fmt, "pt2", 3) == 0;
        free(fmt);
        if (!ok) {
            rc = CKPT_FAIL(err, CKPT_E_FORMAT, "%s is not \"pt2\"", name);
            goto done;
        }
        /* the model: models/<name>.json ("model" for torch.export.save) */
        char model[256] = "";
        for (size_t i = 0; i < ckpt_zip_count(z); i++) {
            const char *nm = ckpt_zip_entry_at(z, i)->name;
            if (!nm || strncmp(nm, root, rootlen) != 0 || strncmp(nm + rootlen, "models/", 7))
                continue;
            const char *base = nm + rootlen + 7;
            size_t bl = strlen(base);
            if (bl > 5 && bl < sizeof model && strcmp(base + bl - 5, ".json") == 0 &&
                !strchr(base, '/') && (!model[0] || strncmp(base, "model.json", 11) == 0)) {
                snprintf(model, sizeof model, "%.*s", (int)(bl - 5), base);
            }
        }
        if (!model[0]) {
            rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                           "the PT2 archive holds no models/<name>.json (an AOTInductor-only "
                           "package cannot be run here)");
            goto done;
        }
        snprintf(name, sizeof name, "%.*smodels/%s.json", (int)rootlen, root, model);
        g->json_record = strdup(name);
        if (!g->json_record) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            goto done;
        }
        if ((rc = read_json(z, m, g, err)) < 0)
            goto done;
        /* weights: the payload config, or the legacy data/weights/<model>.pt */
        char cfg[512], dir[512];
        snprintf(cfg, sizeof cfg, "%.*sdata/weights/%s_weights_config.json", (int)rootlen, root,
                 model);
        snprintf(dir, sizeof dir, "%.*sdata/weights/", (int)rootlen, root);
        snprintf(name, sizeof name, "%.*sdata/weights/%s.pt", (int)rootlen, root, model);
        if (ckpt_zip_find(z, name))
            rc = load_saved_dict(z, name, m, &m->doc, sd, err);
        else if (ckpt_zip_find(z, cfg))
            rc = load_payload(z, m, g, cfg, dir, sd, err);
        if (rc < 0)
            goto done;
        snprintf(cfg, sizeof cfg, "%.*sdata/constants/%s_constants_config.json", (int)rootlen,
                 root, model);
        snprintf(dir, sizeof dir, "%.*sdata/constants/", (int)rootlen, root);
        snprintf(name, sizeof name, "%.*sdata/constants/%s.pt", (int)rootlen, root, model);
        if (ckpt_zip_find(z, name))
            rc = load_saved_dict(z, name, m, &g->const_doc, consts, err);
        else if (ckpt_zip_find(z, cfg))
            rc = load_payload(z, m, g, cfg, dir, consts, err);
        if (rc < 0)
            goto done;
        snprintf(name, sizeof name, "%.*sarchive_version", (int)rootlen, root);
        const ckpt_zip_entry *ve = ckpt_zip_find(z, name);
        if (ve && ve->size < 32) {
            char *vb = NULL;
            size_t vl = 0;
            if (read_record(z, name, m, &vb, &vl, err) == 0) {
                m->version = strtoll(vb, NULL, 10);
                free(vb);
            }
        }
    } else {
        if (!g->json_record) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            goto done;
        }
        if ((rc = read_json(z, m, g, err)) < 0)
            goto done;
        /* torch 2.1 named the same torch.save bytes *.json (export/__init__.py load:
         * "This version of file is deprecated") */
        const char *sdn = ckpt_zip_find(z, "serialized_state_dict.pt") ||
                                  !ckpt_zip_find(z, "serialized_state_dict.json")
                              ? "serialized_state_dict.pt"
                              : "serialized_state_dict.json";
        const char *cn = ckpt_zip_find(z, "serialized_constants.pt") ? "serialized_constants.pt"
                         : ckpt_zip_find(z, "serialized_constants.json")
                             ? "serialized_constants.json"
                             : NULL;
        if ((rc = load_saved_dict(z, sdn, m, &m->doc, sd, err)) < 0)
            goto done;
        if (cn && (rc = load_saved_dict(z, cn, m, &g->const_doc, consts, err)) < 0)
            goto done;
    }
    free(m->producer);
    m->producer = NULL;
    if (g->torch_version) {
        size_t n = strlen(g->torch_version) + 64;
        m->producer = malloc(n);
        if (m->producer)
            snprintf(m->producer, n, "torch %s (export schema %s)", g->torch_version,
                     g->schema_version ? g->schema_version : "?");
    }
    rc = build_tree(m, g, sd, consts, err);
done:
    jv_unref(sd);
    jv_unref(consts);
    ckpt_zip_close(z);
    ckpt_source_close(&src);
    return rc;
}
