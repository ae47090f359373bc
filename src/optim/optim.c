/* src/optim/optim.c - optimizer objects: construction, parameter groups,
 * hyperparameters kept as Python values, zero_grad, accessors. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/mem.h"
#include "optim/optim_internal.h"

/* ------------------------------------------------------------ defaults */

static const char *const k_sgd[] = {"lr",           "momentum",       "dampening",
                                    "weight_decay", "nesterov",       "maximize",
                                    "foreach",      "differentiable", NULL};
static const char *const k_adam[] = {"lr",           "betas",      "eps",
                                     "weight_decay", "amsgrad",    "maximize",
                                     "foreach",      "capturable", "differentiable",
                                     "fused",        NULL};
static const char *const k_adamw[] = {"lr",           "betas",      "eps",
                                      "weight_decay", "amsgrad",    "foreach",
                                      "maximize",     "capturable", NULL};
static const char *const k_rmsprop[] = {"lr",      "momentum", "alpha",
                                        "eps",     "centered", "weight_decay",
                                        "foreach", "maximize", "differentiable",
                                        NULL};
static const char *const k_adagrad[] = {
    "lr",      "lr_decay", "eps", "weight_decay", "initial_accumulator_value",
    "foreach", "maximize", NULL};

/* defaults as Python source, in declaration order; SGD's lr has none */
static const char *default_src(int kind)
{
    switch (kind) {
    case CKPT_OPTIM_SGD:
        return "momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False, "
               "foreach=None, differentiable=False";
    case CKPT_OPTIM_ADAM:
        return "lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=False, "
               "maximize=False, foreach=None, capturable=False, differentiable=False, "
               "fused=False";
    case CKPT_OPTIM_ADAMW:
        return "lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, amsgrad=False, "
               "foreach=None, maximize=False, capturable=False";
    case CKPT_OPTIM_RMSPROP:
        return "lr=0.01, momentum=0, alpha=0.99, eps=1e-08, centered=False, weight_decay=0, "
               "foreach=None, maximize=False, differentiable=False";
    case CKPT_OPTIM_ADAGRAD:
        return "lr=0.01, lr_decay=0, eps=1e-10, weight_decay=0, initial_accumulator_value=0, "
               "foreach=None, maximize=False";
    default: return NULL;
    }
}

const char *const *ckpt_optim__default_keys(int kind)
{
    switch (kind) {
    case CKPT_OPTIM_SGD: return k_sgd;
    case CKPT_OPTIM_ADAM: return k_adam;
    case CKPT_OPTIM_ADAMW: return k_adamw;
    case CKPT_OPTIM_RMSPROP: return k_rmsprop;
    case CKPT_OPTIM_ADAGRAD: return k_adagrad;
    default: return NULL;
    }
}

static bool known_key(int kind, const char *key)
{
    const char *const *k = ckpt_optim__default_keys(kind);
    for (; k && *k; k++)
        if (strcmp(*k, key) == 0)
            return true;
    return false;
}

/* ------------------------------------------------------ hyperparameters */

ckpt__hp *ckpt_optim__hp_find(const ckpt__hp_list *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->v[i].key, key) == 0)
            return &l->v[i];
    return NULL;
}

int ckpt_optim__hp_put(const ckpt_alloc *a, ckpt__hp_list *l, const ckpt__hp *v)
{
    ckpt__hp *have = ckpt_optim__hp_find(l, v->key);
    if (have) {
        *have = *v;
        return 0;
    }
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        ckpt__hp *nv = ckpt_optim__realloc(a, l->v, cap * sizeof(*nv));
        if (!nv)
            return CKPT_E_NOMEM;
        l->v = nv;
        l->cap = cap;
    }
    l->v[l->n++] = *v;
    return 0;
}

void ckpt_optim__hp_list_free(const ckpt_alloc *a, ckpt__hp_list *l)
{
    ckpt_optim__free(a, l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static double hp_value(const ckpt__hp *h)
{
    switch (h->kind) {
    case HP_BOOL: return h->b ? 1.0 : 0.0;
    case HP_INT: return (double)h->i;
    case HP_FLOAT: return h->f;
    default: return 0.0;
    }
}

double ckpt_optim__num(const ckpt__group *g, const char *key)
{
    const ckpt__hp *h = ckpt_optim__hp_find(&g->hp, key);
    return h ? hp_value(h) : 0.0;
}

double ckpt_optim__item(const ckpt__group *g, const char *key, size_t i)
{
    const ckpt__hp *h = ckpt_optim__hp_find(&g->hp, key);
    if (!h || h->kind != HP_TUPLE || i >= h->n)
        return 0.0;
    return h->t[i];
}

bool ckpt_optim__truthy(const ckpt__group *g, const char *key)
{
    const ckpt__hp *h = ckpt_optim__hp_find(&g->hp, key);
    return h && hp_value(h) != 0.0;
}

/* Parse one Python number; sets *kind to HP_INT or HP_FLOAT. */
static const char *parse_num(const char *p, int *kind, int64_t *iv, double *fv)
{
    const char *q = p;
    if (*q == '+' || *q == '-')
        q++;
    bool is_float = false;
    if (strncmp(q, "inf", 3) == 0 || strncmp(q, "nan", 3) == 0) {
        is_float = true;
    } else {
        const char *r = q;
        if (!isdigit((unsigned char)*r) && *r != '.')
            return NULL;
        while (isdigit((unsigned char)*r) || *r == '.' || *r == 'e' || *r == 'E' ||
               ((*r == '+' || *r == '-') && (r[-1] == 'e' || r[-1] == 'E'))) {
            if (*r == '.' || *r == 'e' || *r == 'E')
                is_float = true;
            r++;
        }
    }
    char *end = NULL;
    if (is_float) {
        *fv = strtod(p, &end);
        *kind = HP_FLOAT;
    } else {
        *iv = (int64_t)strtoll(p, &end, 10);
        *kind = HP_INT;
    }
    return end == p ? NULL : end;
}

static const char *skip_ws(const char *p)
{
    while (*p && isspace((unsigned char)*p))
        p++;
    return p;
}

/* Parse "k=v, k=v" into `out` (in order); values keep their Python type. */
static int parse_kwargs(ckpt_optim *o, const char *src, ckpt__hp_list *out, ckpt_error *err)
{
    const char *p = src ? src : "";
    for (;;) {
        p = skip_ws(p);
        if (!*p)
            return 0;
        ckpt__hp h;
        memset(&h, 0, sizeof(h));
        size_t n = 0;
        while (isalnum((unsigned char)p[n]) || p[n] == '_')
            n++;
        if (n == 0 || n >= OPT_KEY_MAX)
            return CKPT_FAIL(err, CKPT_E_ARG, "bad keyword argument at \"%s\"", p);
        memcpy(h.key, p, n);
        h.key[n] = '\0';
        if (!known_key(o->kind, h.key))
            return CKPT_FAIL(err, CKPT_E_ARG, "unexpected keyword argument '%s'", h.key);
        p = skip_ws(p + n);
        if (*p != '=')
            return CKPT_FAIL(err, CKPT_E_ARG, "expected '=' after '%s'", h.key);
        p = skip_ws(p + 1);
        if (strncmp(p, "True", 4) == 0 || strncmp(p, "False", 5) == 0) {
            h.kind = HP_BOOL;
            h.b = p[0] == 'T';
            p += h.b ? 4 : 5;
        } else if (strncmp(p, "None", 4) == 0) {
            h.kind = HP_NONE;
            p += 4;
        } else if (*p == '(') {
            h.kind = HP_TUPLE;
            h.ident = ++o->next_ident;
            p = skip_ws(p + 1);
            while (*p != ')') {
                int64_t iv = 0;
                double fv = 0;
                int k = 0;
                if (h.n == OPT_TUPLE_MAX)
                    return CKPT_FAIL(err, CKPT_E_ARG, "tuple too long for '%s'", h.key);
                const char *e = parse_num(p, &k, &iv, &fv);
                if (!e)
                    return CKPT_FAIL(err, CKPT_E_ARG, "bad tuple item for '%s'", h.key);
                h.tk[h.n] = k;
                h.t[h.n++] = k == HP_INT ? (double)iv : fv;
                p = skip_ws(e);
                if (*p == ',')
                    p = skip_ws(p + 1);
                else if (*p != ')')
                    return CKPT_FAIL(err, CKPT_E_ARG, "bad tuple for '%s'", h.key);
            }
            p++;
        } else {
            const char *e = parse_num(p, &h.kind, &h.i, &h.f);
            if (!e)
                return CKPT_FAIL(err, CKPT_E_ARG, "bad value for '%s'", h.key);
            p = e;
        }
        if (ckpt_optim__hp_put(o->a, out, &h) < 0)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        p = skip_ws(p);
        if (*p == ',')
            p++;
        else if (*p)
            return CKPT_FAIL(err, CKPT_E_ARG, "expected ',' at \"%s\"", p);
    }
}

/* torch's constructor checks, on a complete group */
static int validate(const ckpt_optim *o, const ckpt__group *g, ckpt_error *err)
{
    const ckpt__hp *lr = ckpt_optim__hp_find(&g->hp, "lr");
    if (!lr)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "parameter group didn't specify a value of required optimization "
                         "parameter lr");
    for (size_t i = 0; i < g->hp.n; i++) {
        const ckpt__hp *h = &g->hp.v[i];
        bool tuple = strcmp(h->key, "betas") == 0;
        bool flag = strcmp(h->key, "foreach") == 0 || strcmp(h->key, "nesterov") == 0 ||
                    strcmp(h->key, "maximize") == 0 || strcmp(h->key, "amsgrad") == 0 ||
                    strcmp(h->key, "centered") == 0 || strcmp(h->key, "capturable") == 0 ||
                    strcmp(h->key, "differentiable") == 0 || strcmp(h->key, "fused") == 0;
        if (tuple && (h->kind != HP_TUPLE || h->n != 2))
            return CKPT_FAIL(err, CKPT_E_ARG, "betas must be a tuple of two numbers");
        if (!tuple && !flag && h->kind != HP_INT && h->kind != HP_FLOAT)
            return CKPT_FAIL(err, CKPT_E_ARG, "'%s' must be a number", h->key);
        if (!tuple && !flag && !(hp_value(h) >= 0.0))
            return CKPT_FAIL(err, CKPT_E_ARG, "Invalid %s value: %g", h->key, hp_value(h));
        if (flag && h->kind == HP_TUPLE)
            return CKPT_FAIL(err, CKPT_E_ARG, "'%s' must be a bool or None", h->key);
    }
    if (o->kind == CKPT_OPTIM_ADAM || o->kind == CKPT_OPTIM_ADAMW) {
        for (size_t i = 0; i < 2; i++) {
            double b = ckpt_optim__item(g, "betas", i);
            if (!(b >= 0.0 && b < 1.0))
                return CKPT_FAIL(err, CKPT_E_ARG, "Invalid beta parameter at index %zu: %g", i,
                                 b);
        }
        if (ckpt_optim__truthy(g, "fused") || ckpt_optim__truthy(g, "capturable") ||
            ckpt_optim__truthy(g, "differentiable"))
            return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                             "fused/capturable/differentiable need CUDA or autograd");
    }
    if (o->kind == CKPT_OPTIM_SGD && ckpt_optim__truthy(g, "nesterov") &&
        (ckpt_optim__num(g, "momentum") <= 0.0 || ckpt_optim__num(g, "dampening") != 0.0))
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "Nesterov momentum requires a momentum and zero dampening");
    return 0;
}

/* torch's defaults dict: declaration order, `given` values replacing */
static ckpt_optim *optim_new_given(int kind, const ckpt__hp_list *given, uint64_t ident,
                                   const ckpt_alloc *alloc, ckpt_error *err)
{
    ckpt_optim *o = ckpt_optim__zalloc(alloc, 1, sizeof(*o));
    ckpt__hp_list base = {0};
    if (!o) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    if (alloc) {
        o->alloc_copy = *alloc;
        o->a = &o->alloc_copy;
    }
    o->kind = kind;
    o->next_ident = ident;
    if (parse_kwargs(o, default_src(kind), &base, err) < 0)
        goto fail;
    for (const char *const *k = ckpt_optim__default_keys(kind); *k; k++) {
        const ckpt__hp *h = ckpt_optim__hp_find(given, *k);
        if (!h)
            h = ckpt_optim__hp_find(&base, *k);
        if (h && ckpt_optim__hp_put(o->a, &o->defaults, h) < 0) {
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            goto fail;
        }
    }
    ckpt_optim__hp_list_free(o->a, &base);
    return o;
fail:
    ckpt_optim__hp_list_free(o->a, &base);
    ckpt_optim_free(o);
    return NULL;
}

ckpt_optim *ckpt_optim_new(ckpt_optim_kind kind_e, const char *defaults, ckpt_error *err)
{
    int kind = (int)kind_e;
    if (!default_src(kind)) {
        CKPT_FAIL(err, CKPT_E_ARG, "unknown optimizer kind %d", kind);
        return NULL;
    }
    ckpt_optim tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.kind = kind;
    ckpt__hp_list given = {0};
    ckpt_optim *o = NULL;
    if (parse_kwargs(&tmp, defaults, &given, err) == 0)
        o = optim_new_given(kind, &given, tmp.next_ident, NULL, err);
    ckpt_optim__hp_list_free(NULL, &given);
    return o;
}

void ckpt_optim__pstate_clear(const ckpt_alloc *a, ckpt__pstate *p)
{
    for (size_t i = 0; i < p->n; i++)
        ckpt_optim__free(a, p->v[i].data);
    ckpt_optim__free(a, p->v);
    p->v = NULL;
    p->n = 0;
    p->present = false;
}

void ckpt_optim_free(ckpt_optim *o)
{
    if (!o)
        return;
    ckpt_alloc copy = o->alloc_copy;
    const ckpt_alloc *a = o->a ? &copy : NULL;
    for (size_t g = 0; g < o->ngroups; g++) {
        ckpt_optim__free(a, o->groups[g].params);
        ckpt_optim__hp_list_free(a, &o->groups[g].hp);
    }
    ckpt_optim__free(a, o->groups);
    for (size_t i = 0; i < o->nparams; i++)
        ckpt_optim__pstate_clear(a, &o->state[i]);
    ckpt_optim__free(a, o->state);
    ckpt_optim__hp_list_free(a, &o->defaults);
    ckpt_optim__free(a, o);
}

ckpt_optim_kind ckpt_optim_kind_of(const ckpt_optim *o)
{
    return o ? (ckpt_optim_kind)o->kind : (ckpt_optim_kind)0;
}

int64_t ckpt_optim__numel(const ckpt_slot *s)
{
    int64_t n = 1;
    for (int d = 0; d < s->ndim; d++)
        n *= s->shape[d];
    return n;
}

/* --------------------------------------------------------------- state */

ckpt__st *ckpt_optim__st_find(const ckpt__pstate *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].key, key) == 0)
            return &p->v[i];
    return NULL;
}

ckpt__st *ckpt_optim__st_add(const ckpt_alloc *a, ckpt__pstate *p, const char *key, int kind)
{
    ckpt__st *have = ckpt_optim__st_find(p, key);
    if (have) {
        ckpt_optim__free(a, have->data);
        memset(have, 0, sizeof(*have));
    } else {
        ckpt__st *nv = ckpt_optim__realloc(a, p->v, (p->n + 1) * sizeof(*nv));
        if (!nv)
            return NULL;
        p->v = nv;
        have = &p->v[p->n++];
        memset(have, 0, sizeof(*have));
    }
    snprintf(have->key, sizeof(have->key), "%s", key);
    have->kind = kind;
    return have;
}

int ckpt_optim__st_tensor(const ckpt_alloc *a, ckpt__st *s, int dtype, int ndim,
                          const int64_t *shape)
{
    if (ndim < 0 || ndim > 8)
        return CKPT_E_UNSUPPORTED;
    int64_t n = 1;
    for (int d = 0; d < ndim; d++) {
        s->shape[d] = shape[d];
        n *= shape[d];
    }
    s->kind = HP_TENSOR;
    s->dtype = dtype;
    s->ndim = ndim;
    s->numel = n;
    size_t bytes = (size_t)n * ckpt_dtype_size(dtype);
    s->data = ckpt_optim__zalloc(a, bytes ? bytes : 1, 1);
    return s->data ? 0 : CKPT_E_NOMEM;
}

/* -------------------------------------------------------------- groups */

static bool has_param(const ckpt_optim *o, const ckpt_slot *s)
{
    for (size_t g = 0; g < o->ngroups; g++)
        for (size_t i = 0; i < o->groups[g].n; i++)
            if (o->groups[g].params[i] == s)
                return true;
    return false;
}

static int adagrad_init(ckpt_optim *o, size_t gi, ckpt_error *err);
static int add_group_given(ckpt_optim *o, ckpt_slot *const *params, size_t n,
                           ckpt__hp_list *given, ckpt_error *err);

int ckpt_optim_add_group(ckpt_optim *o, ckpt_slot *const *params, size_t n, const char *group,
                         ckpt_error *err)
{
    if (!o || (n && !params))
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL optimizer or parameters");
    ckpt__hp_list given = {0};
    int rc = parse_kwargs(o, group, &given, err);
    if (rc < 0) {
        ckpt_optim__hp_list_free(o->a, &given);
        return rc;
    }
    return add_group_given(o, params, n, &given, err);
}

/* add a group whose given keys are `given` (taken over, also on failure) */
static int add_group_given(ckpt_optim *o, ckpt_slot *const *params, size_t n,
                           ckpt__hp_list *given, ckpt_error *err)
{
    ckpt__group g;
    memset(&g, 0, sizeof(g));
    g.hp = *given;
    memset(given, 0, sizeof(*given));
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (!params[i] || params[i]->dtype != CKPT_F32 || !params[i]->data)
            rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                           "optimizer parameters must be float32 tensors with memory");
        else if (has_param(o, params[i]))
            rc = CKPT_FAIL(err, CKPT_E_ARG,
                           "some parameters appear in more than one parameter group");
        for (size_t j = 0; j < i && rc == 0; j++)
            if (params[j] == params[i])
                rc = CKPT_FAIL(err, CKPT_E_ARG, "a parameter appears twice in a group");
    }
    if (rc < 0)
        goto fail;
    for (size_t i = 0; i < o->defaults.n; i++)
        if (!ckpt_optim__hp_find(&g.hp, o->defaults.v[i].key) &&
            ckpt_optim__hp_put(o->a, &g.hp, &o->defaults.v[i]) < 0) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            goto fail;
        }
    rc = validate(o, &g, err);
    if (rc < 0)
        goto fail;
    g.params = ckpt_optim__alloc(o->a, (n ? n : 1) * sizeof(*g.params));
    ckpt__group *ng = ckpt_optim__realloc(o->a, o->groups, (o->ngroups + 1) * sizeof(*ng));
    if (ng)
        o->groups = ng;
    ckpt__pstate *ns = ckpt_optim__realloc(o->a, o->state, (o->nparams + n + 1) * sizeof(*ns));
    if (ns)
        o->state = ns;
    if (!g.params || !ng || !ns) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto fail;
    }
    if (n)
        memcpy(g.params, params, n * sizeof(*g.params));
    g.n = n;
    g.first = o->nparams;
    memset(&o->state[o->nparams], 0, n * sizeof(*ns));
    o->nparams += n;
    o->groups[o->ngroups++] = g;
    if (o->kind == CKPT_OPTIM_ADAGRAD)
        return adagrad_init(o, o->ngroups - 1, err);
    return 0;
fail:
    ckpt_optim__free(o->a, g.params);
    ckpt_optim__hp_list_free(o->a, &g.hp);
    return rc;
}

/* Adagrad's constructor: step = tensor(0.), sum = full_like(p, init) */
static int adagrad_init(ckpt_optim *o, size_t gi, ckpt_error *err)
{
    const ckpt__group *g = &o->groups[gi];
    const ckpt__hp *iv = ckpt_optim__hp_find(&o->defaults, "initial_accumulator_value");
    float init = iv ? (float)hp_value(iv) : 0.0f;
    for (size_t i = 0; i < g->n; i++) {
        ckpt__pstate *p = &o->state[g->first + i];
        ckpt__st *st = ckpt_optim__st_add(o->a, p, "step", HP_TENSOR);
        if (!st || ckpt_optim__st_tensor(o->a, st, CKPT_F32, 0, NULL) < 0)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        const ckpt_slot *s = g->params[i];
        ckpt__st *sum = ckpt_optim__st_add(o->a, p, "sum", HP_TENSOR);
        if (!sum || ckpt_optim__st_tensor(o->a, sum, CKPT_F32, s->ndim, s->shape) < 0)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        float *d = sum->data;
        for (int64_t k = 0; k < sum->numel; k++)
            d[k] = init;
        p->present = true;
        p->order = o->next_order++;
    }
    return 0;
}

typedef struct collect {
    ckpt_slot **v;
    size_t n, cap;
    const ckpt_alloc *a;
} collect;

static int collect_fn(void *payload, const char *key, ckpt_module *owner, ckpt_slot *s)
{
    (void)key;
    (void)owner;
    collect *c = payload;
    if (!s->data)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        ckpt_slot **nv = ckpt_optim__realloc(c->a, c->v, cap * sizeof(*nv));
        if (!nv)
            return CKPT_E_NOMEM;
        c->v = nv;
        c->cap = cap;
    }
    c->v[c->n++] = s;
    return 0;
}

int ckpt_optim_add_module(ckpt_optim *o, ckpt_module *m, const char *group, ckpt_error *err)
{
    if (!o || !m)
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL optimizer or module");
    collect c = {NULL, 0, 0, o->a};
    int rc = ckpt_module_walk(m, CKPT_WALK_PARAMS, collect_fn, &c, err);
    if (rc != 0) {
        ckpt_optim__free(o->a, c.v);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    rc = ckpt_optim_add_group(o, c.v, c.n, group, err);
    ckpt_optim__free(o->a, c.v);
    return rc;
}

void ckpt_optim_zero_grad(ckpt_optim *o, bool set_to_none)
{
    if (!o)
        return;
    for (size_t g = 0; g < o->ngroups; g++) {
        for (size_t i = 0; i < o->groups[g].n; i++) {
            ckpt_slot *s = o->groups[g].params[i];
            if (!s->grad)
                continue;
            if (set_to_none) {
                ckpt__xfree(s->alloc, s->grad, (size_t)s->nbytes); /* the module's block */
                s->grad = NULL;
            } else {
                memset(s->grad, 0, (size_t)ckpt_optim__numel(s) * sizeof(float));
            }
        }
    }
}

/* ------------------------------------------------------------ accessors */

size_t ckpt_optim_group_count(const ckpt_optim *o)
{
    return o ? o->ngroups : 0;
}

size_t ckpt_optim_group_size(const ckpt_optim *o, size_t g)
{
    return o && g < o->ngroups ? o->groups[g].n : 0;
}

/* "betas1" -> the tuple "betas", item 1 */
static ckpt__hp *lookup(const ckpt_optim *o, size_t g, const char *key, size_t *item)
{
    ckpt__hp_list *l = &o->groups[g].hp;
    *item = SIZE_MAX;
    ckpt__hp *h = ckpt_optim__hp_find(l, key);
    if (h)
        return h;
    size_t n = strlen(key);
    if (n < 2 || n > OPT_KEY_MAX || !isdigit((unsigned char)key[n - 1]))
        return NULL;
    char base[OPT_KEY_MAX];
    memcpy(base, key, n - 1);
    base[n - 1] = '\0';
    h = ckpt_optim__hp_find(l, base);
    if (!h || h->kind != HP_TUPLE || (size_t)(key[n - 1] - '0') >= h->n)
        return NULL;
    *item = (size_t)(key[n - 1] - '0');
    return h;
}

int ckpt_optim_group_get(const ckpt_optim *o, size_t g, const char *key, double *out)
{
    if (!o || !key || !out || g >= o->ngroups)
        return CKPT_E_ARG;
    size_t item;
    const ckpt__hp *h = lookup(o, g, key, &item);
    if (!h || h->kind == HP_NONE || (h->kind == HP_TUPLE && item == SIZE_MAX))
        return CKPT_E_NOT_FOUND;
    *out = h->kind == HP_TUPLE ? h->t[item] : hp_value(h);
    return 0;
}

int ckpt_optim_group_set(ckpt_optim *o, size_t g, const char *key, double v, ckpt_error *err)
{
    if (!o || !key || g >= o->ngroups)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "ckpt_optim_group_set: no optimizer or key, or group %zu of %zu", g,
                         o ? o->ngroups : 0);
    size_t item;
    ckpt__hp *h = lookup(o, g, key, &item);
    if (!h || (h->kind == HP_TUPLE && item == SIZE_MAX))
        return CKPT_FAIL(err, CKPT_E_NOT_FOUND,
                         "ckpt_optim_group_set: group %zu has no numeric hyperparameter '%s'", g,
                         key);
    if (h->kind == HP_TUPLE) {
        h->tk[item] = HP_FLOAT;
        h->t[item] = v;
        h->ident = ++o->next_ident; /* a new tuple object */
    } else {
        h->kind = HP_FLOAT;
        h->f = v;
    }
    return 0;
}

int ckpt_optim_group_set_extra(ckpt_optim *o, size_t g, const char *key, double v,
                               ckpt_error *err)
{
    if (!o || !key || g >= o->ngroups || strlen(key) >= OPT_KEY_MAX)
        return CKPT_FAIL(
            err, CKPT_E_ARG,
            "ckpt_optim_group_set_extra: no optimizer or key, a key of %d+ bytes, or group %zu of %zu",
            OPT_KEY_MAX, g, o ? o->ngroups : 0);
    if (ckpt_optim_group_has(o, g, key))
        return ckpt_optim_group_set(o, g, key, v, err);
    ckpt__hp h;
    memset(&h, 0, sizeof(h));
    snprintf(h.key, sizeof(h.key), "%s", key);
    h.kind = HP_FLOAT;
    h.f = v;
    int rc = ckpt_optim__hp_put(o->a, &o->groups[g].hp, &h);
    if (rc < 0)
        return CKPT_FAIL(err, rc, "ckpt_optim_group_set_extra: out of memory adding '%s'", key);
    return rc;
}

bool ckpt_optim_group_has(const ckpt_optim *o, size_t g, const char *key)
{
    if (!o || !key || g >= o->ngroups)
        return false;
    size_t item;
    return lookup(o, g, key, &item) != NULL;
}

const void *ckpt_optim_state_data(const ckpt_optim *o, size_t index, const char *key, int *dtype,
                                  int64_t *numel)
{
    if (!o || !key || index >= o->nparams)
        return NULL;
    const ckpt__st *s = ckpt_optim__st_find(&o->state[index], key);
    if (!s || s->kind != HP_TENSOR)
        return NULL;
    if (dtype)
        *dtype = s->dtype;
    if (numel)
        *numel = s->numel;
    return s->data;
}

/* __setstate__'s group.setdefault(...) keys per optimizer, with class defaults */
int ckpt_optim__setdefaults(const ckpt_optim *o, ckpt__hp_list *hp)
{
    static const char *const sd_sgd[] = {"nesterov", "maximize", "foreach", "differentiable",
                                         NULL};
    static const char *const sd_adam[] = {"amsgrad",        "maximize", "foreach", "capturable",
                                          "differentiable", "fused",    NULL};
    static const char *const sd_adamw[] = {"amsgrad", "maximize", "foreach", "capturable", NULL};
    static const char *const sd_rms[] = {"momentum", "centered",       "foreach",
                                         "maximize", "differentiable", NULL};
    static const char *const sd_ada[] = {"foreach", "maximize", NULL};
    const char *const *keys = o->kind == CKPT_OPTIM_SGD       ? sd_sgd
                              : o->kind == CKPT_OPTIM_ADAM    ? sd_adam
                              : o->kind == CKPT_OPTIM_ADAMW   ? sd_adamw
                              : o->kind == CKPT_OPTIM_RMSPROP ? sd_rms
                                                              : sd_ada;
    ckpt_optim tmp;
    memset(&tmp, 0, sizeof(tmp));
    tmp.kind = o->kind;
    tmp.a = o->a;
    ckpt__hp_list base = {0};
    int rc = parse_kwargs(&tmp, default_src(o->kind), &base, NULL);
    for (; rc == 0 && *keys; keys++) {
        const ckpt__hp *h = ckpt_optim__hp_find(&base, *keys);
        if (h && !ckpt_optim__hp_find(hp, *keys))
            rc = ckpt_optim__hp_put(o->a, hp, h);
    }
    ckpt_optim__hp_list_free(o->a, &base);
    return rc;
}

/* ------------------------------------------------------ typed options */

static const char *class_name(int kind)
{
    switch (kind) {
    case CKPT_OPTIM_SGD: return "SGD";
    case CKPT_OPTIM_ADAM: return "Adam";
    case CKPT_OPTIM_ADAMW: return "AdamW";
    case CKPT_OPTIM_RMSPROP: return "RMSprop";
    case CKPT_OPTIM_ADAGRAD: return "Adagrad";
    default: return "?";
    }
}

/* a field is given when it is not +0 (CKPT_OPTIM_ZERO, -0.0, is an explicit 0) */
static bool given_num(double v)
{
    return v != 0.0 || signbit(v);
}

typedef struct opt_field {
    const char *key;
    double v;
    bool is_bool;
} opt_field;

/* The keys `op` gives, in the declaration order of `kind`, as Python values.
 * `defaults`: the constructor's (SGD then gets lr=1e-3 when none is given). */
static int opts_given(int kind, const ckpt_optim_opts *op, bool defaults, uint64_t *ident,
                      const ckpt_alloc *a, ckpt__hp_list *out, ckpt_error *err)
{
    static const ckpt_optim_opts zero;
    if (!op)
        op = &zero;
    const opt_field f[] = {
        {"lr", op->lr, false},
        {"momentum", op->momentum, false},
        {"dampening", op->dampening, false},
        {"weight_decay", op->weight_decay, false},
        {"nesterov", op->nesterov ? 1.0 : 0.0, true},
        {"betas", given_num(op->betas[0]) || given_num(op->betas[1]) ? 1.0 : 0.0, false},
        {"eps", op->eps, false},
        {"amsgrad", op->amsgrad ? 1.0 : 0.0, true},
        {"alpha", op->alpha, false},
        {"centered", op->centered ? 1.0 : 0.0, true},
        {"lr_decay", op->lr_decay, false},
        {"initial_accumulator_value", op->initial_accumulator_value, false},
        {"maximize", op->maximize ? 1.0 : 0.0, true},
    };
    const size_t nf = sizeof(f) / sizeof(f[0]);
    for (size_t i = 0; i < nf; i++)
        if (given_num(f[i].v) && !known_key(kind, f[i].key))
            return CKPT_FAIL(err, CKPT_E_ARG,
                             "%s() got an unexpected keyword argument '%s' (a field of "
                             "ckpt_optim_opts this optimizer does not have is set)",
                             class_name(kind), f[i].key);
    for (const char *const *k = ckpt_optim__default_keys(kind); *k; k++) {
        const opt_field *fi = NULL;
        for (size_t i = 0; i < nf && !fi; i++)
            if (strcmp(f[i].key, *k) == 0)
                fi = &f[i];
        bool sgd_lr = defaults && kind == CKPT_OPTIM_SGD && strcmp(*k, "lr") == 0;
        if ((!fi || !given_num(fi->v)) && !sgd_lr)
            continue;
        ckpt__hp h;
        memset(&h, 0, sizeof(h));
        snprintf(h.key, sizeof(h.key), "%s", *k);
        if (strcmp(*k, "betas") == 0) {
            static const double dflt[2] = {0.9, 0.999};
            h.kind = HP_TUPLE;
            h.n = 2;
            h.ident = ++*ident;
            for (size_t i = 0; i < 2; i++) {
                h.tk[i] = HP_FLOAT;
                h.t[i] = given_num(op->betas[i]) ? op->betas[i] + 0.0 : dflt[i];
            }
        } else if (fi && fi->is_bool) {
            h.kind = HP_BOOL;
            h.b = true;
        } else {
            h.kind = HP_FLOAT;
            h.f = fi && given_num(fi->v) ? fi->v + 0.0 : 1e-3; /* + 0.0: -0.0 -> 0.0 */
        }
        if (ckpt_optim__hp_put(a, out, &h) < 0)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    return 0;
}

ckpt_optim *ckpt_optim_new_opts(ckpt_optim_kind kind, const ckpt_optim_opts *defaults,
                                ckpt_error *err)
{
    if (!default_src((int)kind)) {
        CKPT_FAIL(err, CKPT_E_ARG, "unknown optimizer kind %d", (int)kind);
        return NULL;
    }
    ckpt__hp_list given = {0};
    uint64_t ident = 0;
    ckpt_optim *o = NULL;
    const ckpt_alloc *alloc = defaults ? defaults->alloc : NULL;
    if (opts_given((int)kind, defaults, true, &ident, alloc, &given, err) == 0)
        o = optim_new_given((int)kind, &given, ident, alloc, err);
    ckpt_optim__hp_list_free(alloc, &given);
    if (o) {
        /* validate the defaults as torch's constructor does (a group over nothing) */
        ckpt__group g;
        memset(&g, 0, sizeof(g));
        g.hp = o->defaults;
        if (validate(o, &g, err) < 0) {
            ckpt_optim_free(o);
            return NULL;
        }
    }
    return o;
}

int ckpt_optim_add_params(ckpt_optim *o, ckpt_slot *const *params, size_t n,
                          const ckpt_optim_opts *group, ckpt_error *err)
{
    if (!o || (n && !params))
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL optimizer or parameters");
    ckpt__hp_list given = {0};
    int rc = opts_given(o->kind, group, false, &o->next_ident, o->a, &given, err);
    if (rc < 0) {
        ckpt_optim__hp_list_free(o->a, &given);
        return rc;
    }
    return add_group_given(o, params, n, &given, err);
}

ckpt_optim *ckpt_optim_new_for_module(ckpt_optim_kind kind, ckpt_module *m,
                                      const ckpt_optim_opts *opts, ckpt_error *err)
{
    if (!m) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_optim_new_for_module: NULL module");
        return NULL;
    }
    CKPT__ERR_LOCAL(err);
    ckpt_optim *o = ckpt_optim_new_opts(kind, opts, err);
    if (o && ckpt_optim_add_group_where(o, m, NULL, NULL, NULL, err) < 0) {
        ckpt_optim_free(o);
        o = NULL;
    }
    if (o && o->nparams == 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "optimizer got an empty parameter list (%s has no parameters)",
                  ckpt_module_type(m));
        ckpt_optim_free(o);
        o = NULL;
    }
    return o;
}

typedef struct where_ctx {
    const ckpt_optim *o;
    ckpt_param_filter_fn keep;
    void *ctx;
    collect c;
} where_ctx;

static int where_fn(void *payload, const char *key, ckpt_module *owner, ckpt_slot *s)
{
    (void)owner;
    where_ctx *w = payload;
    if (!s->data || has_param(w->o, s) || (w->keep && !w->keep(w->ctx, key, s)))
        return 0;
    return collect_fn(&w->c, key, owner, s);
}

int ckpt_optim_add_group_where(ckpt_optim *o, ckpt_module *root, ckpt_param_filter_fn keep,
                               void *ctx, const ckpt_optim_opts *group, ckpt_error *err)
{
    if (!o || !root)
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL optimizer or module");
    CKPT__ERR_LOCAL(err);
    where_ctx w = {o, keep, ctx, {NULL, 0, 0, o->a}};
    int rc = ckpt_module_walk(root, CKPT_WALK_PARAMS, where_fn, &w, err);
    if (rc != 0)
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory collecting parameters");
    if (rc == 0)
        rc = ckpt_optim_add_params(o, w.c.v, w.c.n, group, err);
    ckpt_optim__free(o->a, w.c.v);
    return rc;
}

static int collect_all_fn(void *payload, const char *key, ckpt_module *owner, ckpt_slot *s)
{
    return collect_fn(payload, key, owner, s);
}

int ckpt_optim_add_named_group(ckpt_optim *o, ckpt_module *root, const char *const *names,
                               size_t n, const ckpt_optim_opts *group, ckpt_error *err)
{
    if (!o || !root)
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL optimizer or module");
    if (!names || n == 0)
        return ckpt_optim_add_group_where(o, root, NULL, NULL, group, err);
    CKPT__ERR_LOCAL(err);
    collect c = {NULL, 0, 0, o->a};
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const char *name = names[i];
        if (!name) {
            rc = CKPT_FAIL(err, CKPT_E_ARG, "parameter group name %zu is NULL", i);
            break;
        }
        ckpt_module *sub = name[0] ? ckpt_module_find(root, name) : root;
        ckpt_slot *s = sub ? NULL : ckpt_module_slot(root, name);
        size_t before = c.n;
        if (sub) {
            rc = ckpt_module_walk(sub, CKPT_WALK_PARAMS, collect_all_fn, &c, err);
            if (rc != 0)
                rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory collecting parameters");
        } else if (s && s->is_param && s->data) {
            rc = collect_fn(&c, name, NULL, s) < 0
                     ? CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory collecting parameters")
                     : 0;
        } else {
            rc = CKPT_FAIL(err, CKPT_E_NOT_FOUND,
                           "'%s' is neither a parameter nor a sub-module of %s", name,
                           ckpt_module_type(root));
        }
        for (size_t j = before; j < c.n && rc == 0; j++) {
            bool dup = has_param(o, c.v[j]);
            for (size_t k = 0; k < j && !dup; k++)
                dup = c.v[k] == c.v[j];
            if (dup)
                rc = CKPT_FAIL(err, CKPT_E_ARG,
                               "'%s': some parameters appear in more than one parameter group",
                               name);
        }
    }
    if (rc == 0)
        rc = ckpt_optim_add_params(o, c.v, c.n, group, err);
    ckpt_optim__free(o->a, c.v);
    return rc;
}
