/* src/optim/state_dict.c - Optimizer.state_dict() / load_state_dict() in
 * torch 1.13's layout, Python types and object identities (one str node per
 * distinct key, as CPython interns them; one tuple node per tuple object). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/core.h"
#include "core/err.h"
#include "optim/optim_internal.h"

/* ------------------------------------------------------------ state_dict */

#define SD_CACHE 64

typedef struct sd_build {
    ckpt_doc *doc;
    const char *str_key[SD_CACHE];
    ckpt_obj *str_obj[SD_CACHE];
    size_t nstr;
    uint64_t tup_key[SD_CACHE];
    ckpt_obj *tup_obj[SD_CACHE];
    size_t ntup;
} sd_build;

/* the str node for `s` (shared, as CPython shares interned identifiers) */
static ckpt_obj *str_node(sd_build *b, const char *s)
{
    for (size_t i = 0; i < b->nstr; i++)
        if (strcmp(b->str_key[i], s) == 0)
            return b->str_obj[i];
    ckpt_obj *o = ckpt_str_new(b->doc, s);
    if (o && b->nstr < SD_CACHE) {
        b->str_key[b->nstr] = s;
        b->str_obj[b->nstr++] = o;
    }
    return o;
}

static ckpt_obj *num_node(ckpt_doc *doc, int kind, double v)
{
    return kind == HP_INT ? ckpt_int_new(doc, (int64_t)v) : ckpt_float_new(doc, v);
}

static ckpt_obj *hp_node(sd_build *b, const ckpt__hp *h)
{
    switch (h->kind) {
    case HP_NONE: return ckpt_none_new(b->doc);
    case HP_BOOL: return ckpt_bool_new(b->doc, h->b);
    case HP_INT: return ckpt_int_new(b->doc, h->i);
    case HP_FLOAT: return ckpt_float_new(b->doc, h->f);
    case HP_TUPLE: {
        for (size_t i = 0; i < b->ntup; i++)
            if (b->tup_key[i] == h->ident)
                return b->tup_obj[i];
        ckpt_obj *items[OPT_TUPLE_MAX];
        for (size_t i = 0; i < h->n; i++) {
            items[i] = num_node(b->doc, h->tk[i], h->t[i]);
            if (!items[i])
                return NULL;
        }
        ckpt_obj *t = ckpt_tuple_new(b->doc, h->n, items);
        if (t && b->ntup < SD_CACHE) {
            b->tup_key[b->ntup] = h->ident;
            b->tup_obj[b->ntup++] = t;
        }
        return t;
    }
    default: return NULL;
    }
}

static ckpt_obj *st_node(sd_build *b, const ckpt__st *s, ckpt_error *err)
{
    switch (s->kind) {
    case HP_NONE: return ckpt_none_new(b->doc);
    case HP_BOOL: return ckpt_bool_new(b->doc, s->b);
    case HP_INT: return ckpt_int_new(b->doc, s->i);
    case HP_FLOAT: return ckpt_float_new(b->doc, s->f);
    case HP_TENSOR:
        return ckpt_tensor_new_copy(b->doc, s->dtype, s->ndim, s->shape, s->data, err);
    default: return NULL;
    }
}

/* parameter indices in state-creation order */
static int cmp_order(const void *a, const void *b, const ckpt_optim *o)
{
    uint64_t x = o->state[*(const size_t *)a].order, y = o->state[*(const size_t *)b].order;
    return x < y ? -1 : x > y;
}

ckpt_obj *ckpt_optim_state_dict(const ckpt_optim *o, ckpt_doc *doc, ckpt_error *err)
{
    if (!o || !doc) {
        CKPT_FAIL(err, CKPT_E_ARG, "NULL optimizer or document");
        return NULL;
    }
    sd_build *b = ckpt_optim__zalloc(o->a, 1, sizeof(*b));
    size_t *idx = ckpt_optim__alloc(o->a, (o->nparams + 1) * sizeof(*idx));
    ckpt_obj *root = NULL;
    if (!b || !idx)
        goto oom;
    b->doc = doc;
    /* insertion sort by creation order (small n, stable) */
    size_t n = 0;
    for (size_t i = 0; i < o->nparams; i++) {
        if (!o->state[i].present)
            continue;
        size_t j = n++;
        while (j > 0 && cmp_order(&idx[j - 1], &i, o) > 0) {
            idx[j] = idx[j - 1];
            j--;
        }
        idx[j] = i;
    }
    root = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *state = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    if (!root || !state || ckpt_dict_set(doc, root, str_node(b, "state"), state, err) < 0)
        goto oom;
    for (size_t k = 0; k < n; k++) {
        const ckpt__pstate *p = &o->state[idx[k]];
        ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
        if (!d || ckpt_dict_set(doc, state, ckpt_int_new(doc, (int64_t)idx[k]), d, err) < 0)
            goto oom;
        for (size_t e = 0; e < p->n; e++) {
            ckpt_obj *v = st_node(b, &p->v[e], err);
            if (!v || ckpt_dict_set(doc, d, str_node(b, p->v[e].key), v, err) < 0)
                goto oom;
        }
    }
    ckpt_obj *groups = ckpt_list_new(doc);
    if (!groups || ckpt_dict_set(doc, root, str_node(b, "param_groups"), groups, err) < 0)
        goto oom;
    for (size_t gi = 0; gi < o->ngroups; gi++) {
        const ckpt__group *g = &o->groups[gi];
        ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
        if (!d || ckpt_list_append(doc, groups, d, err) < 0)
            goto oom;
        for (size_t e = 0; e < g->hp.n; e++) {
            ckpt_obj *v = hp_node(b, &g->hp.v[e]);
            if (!v || ckpt_dict_set(doc, d, str_node(b, g->hp.v[e].key), v, err) < 0)
                goto oom;
        }
        ckpt_obj *pl = ckpt_list_new(doc);
        if (!pl || ckpt_dict_set(doc, d, str_node(b, "params"), pl, err) < 0)
            goto oom;
        for (size_t i = 0; i < g->n; i++)
            if (ckpt_list_append(doc, pl, ckpt_int_new(doc, (int64_t)(g->first + i)), err) < 0)
                goto oom;
    }
    ckpt_optim__free(o->a, b);
    ckpt_optim__free(o->a, idx);
    return root;
oom:
    ckpt_optim__free(o->a, b);
    ckpt_optim__free(o->a, idx);
    CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory building the optimizer state_dict");
    return NULL;
}

/* ------------------------------------------------------- load_state_dict */

typedef struct ld_ctx {
    const ckpt_obj *tup_src[SD_CACHE];
    uint64_t tup_id[SD_CACHE];
    size_t ntup;
} ld_ctx;

static int num_of(const ckpt_obj *v, int *kind, double *out)
{
    int t = ckpt_obj_type(v);
    if (t == CKPT_T_INT) {
        *kind = HP_INT;
        *out = (double)ckpt_obj_int(v);
        return 0;
    }
    if (t == CKPT_T_FLOAT) {
        *kind = HP_FLOAT;
        *out = ckpt_obj_float(v);
        return 0;
    }
    return CKPT_E_UNSUPPORTED;
}

static int load_hp(ckpt_optim *o, ld_ctx *c, const char *key, const ckpt_obj *v, ckpt__hp *h,
                   ckpt_error *err)
{
    memset(h, 0, sizeof(*h));
    if (strlen(key) >= OPT_KEY_MAX)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "param_groups key '%s' too long", key);
    strcpy(h->key, key);
    switch (ckpt_obj_type(v)) {
    case CKPT_T_NONE: h->kind = HP_NONE; return 0;
    case CKPT_T_BOOL:
        h->kind = HP_BOOL;
        h->b = ckpt_obj_bool(v);
        return 0;
    case CKPT_T_INT:
        h->kind = HP_INT;
        h->i = ckpt_obj_int(v);
        return 0;
    case CKPT_T_FLOAT:
        h->kind = HP_FLOAT;
        h->f = ckpt_obj_float(v);
        return 0;
    case CKPT_T_TUPLE: {
        h->kind = HP_TUPLE;
        h->n = ckpt_obj_len(v);
        if (h->n > OPT_TUPLE_MAX)
            break;
        for (size_t i = 0; i < h->n; i++)
            if (num_of(ckpt_obj_item(v, i), &h->tk[i], &h->t[i]) < 0)
                return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                                 "param_groups '%s': tuple items must be numbers", key);
        for (size_t i = 0; i < c->ntup; i++)
            if (c->tup_src[i] == v)
                h->ident = c->tup_id[i];
        if (!h->ident) {
            h->ident = ++o->next_ident;
            if (c->ntup < SD_CACHE) {
                c->tup_src[c->ntup] = v;
                c->tup_id[c->ntup++] = h->ident;
            }
        }
        return 0;
    }
    default: break;
    }
    return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "param_groups '%s': unsupported value type %s", key,
                     ckpt_type_name(ckpt_obj_type(v)));
}

static const char *shape_str(int ndim, const int64_t *shape, char *buf, size_t n)
{
    size_t off = 0;
    int w = snprintf(buf, n, "[");
    off = w > 0 ? (size_t)w : 0;
    for (int d = 0; d < ndim && off < n; d++) {
        w = snprintf(buf + off, n - off, d ? ", %lld" : "%lld", (long long)shape[d]);
        off += w > 0 ? (size_t)w : 0;
    }
    if (off < n)
        snprintf(buf + off, n - off, "]");
    return buf;
}

static const char *kind_name(int kind)
{
    switch (kind) {
    case CKPT_OPTIM_SGD: return "SGD";
    case CKPT_OPTIM_ADAM: return "Adam";
    case CKPT_OPTIM_ADAMW: return "AdamW";
    case CKPT_OPTIM_RMSPROP: return "RMSprop";
    default: return "Adagrad";
    }
}

/* Which optimizer a state dict comes from, before anything is changed: every
 * group has the keys the optimizer's constructor always writes (those its
 * __setstate__ does not add), and every per-parameter state key is one the
 * optimizer keeps.  Adam and AdamW share both (torch loads one into the other). */
static int check_kind(const ckpt_optim *o, const ckpt_obj *groups, const ckpt_obj *state,
                      ckpt_error *err)
{
    static const char *const req_sgd[] = {"lr", "momentum", "dampening", "weight_decay", NULL};
    static const char *const req_adam[] = {"lr", "betas", "eps", "weight_decay", NULL};
    static const char *const req_rms[] = {"lr", "alpha", "eps", "weight_decay", NULL};
    static const char *const req_ada[] = {
        "lr", "lr_decay", "eps", "weight_decay", "initial_accumulator_value", NULL};
    static const char *const st_sgd[] = {"momentum_buffer", NULL};
    static const char *const st_adam[] = {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq",
                                          NULL};
    static const char *const st_rms[] = {"step", "square_avg", "momentum_buffer", "grad_avg",
                                         NULL};
    static const char *const st_ada[] = {"step", "sum", NULL};
    const char *const *req, *const *st;
    switch (o->kind) {
    case CKPT_OPTIM_SGD: req = req_sgd, st = st_sgd; break;
    case CKPT_OPTIM_ADAM:
    case CKPT_OPTIM_ADAMW: req = req_adam, st = st_adam; break;
    case CKPT_OPTIM_RMSPROP: req = req_rms, st = st_rms; break;
    default: req = req_ada, st = st_ada; break;
    }
    char key[96];
    for (size_t g = 0; g < ckpt_obj_len(groups); g++) {
        const ckpt_obj *sg = ckpt_obj_item(groups, g);
        for (const char *const *k = req; *k; k++) {
            if (ckpt_dict_get(sg, *k))
                continue;
            snprintf(key, sizeof key, "param_groups.%zu.%s", g, *k);
            CKPT_FAIL(err, CKPT_E_ARG,
                      "the state dict is not a %s optimizer's: param group %zu has no '%s'",
                      kind_name(o->kind), g, *k);
            ckpt__error_prefix_key(err, key);
            return CKPT_E_ARG;
        }
    }
    for (size_t i = 0; i < ckpt_obj_len(state); i++) {
        const ckpt_obj *k = ckpt_dict_key(state, i);
        const ckpt_obj *v = ckpt_dict_value(state, i);
        if (ckpt_obj_type(k) != CKPT_T_INT || ckpt_obj_type(v) != CKPT_T_DICT)
            continue;
        for (size_t e = 0; e < ckpt_obj_len(v); e++) {
            const ckpt_obj *sk = ckpt_dict_key(v, e);
            const char *ks = ckpt_obj_type(sk) == CKPT_T_STR ? ckpt_obj_str(sk, NULL) : NULL;
            bool ok = false;
            for (const char *const *a = st; ks && *a && !ok; a++)
                ok = strcmp(*a, ks) == 0;
            if (ok || !ks)
                continue;
            snprintf(key, sizeof key, "state.%lld.%.40s", (long long)ckpt_obj_int(k), ks);
            CKPT_FAIL(err, CKPT_E_ARG,
                      "the state dict is not a %s optimizer's: %s keeps no per-parameter '%s'",
                      kind_name(o->kind), kind_name(o->kind), ks);
            ckpt__error_prefix_key(err, key);
            return CKPT_E_ARG;
        }
    }
    return 0;
}

/* cast(param, value, key): floating tensors to the parameter's dtype (float32)
 * except 'step'; others copied as they are */
static int load_st(const ckpt_alloc *a, const char *key, const ckpt_obj *v, const ckpt_slot *slot,
                   ckpt__st *s, ckpt_error *err)
{
    int64_t numel = ckpt_optim__numel(slot);
    memset(s, 0, sizeof(*s));
    if (strlen(key) >= OPT_KEY_MAX)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "state key '%s' too long", key);
    strcpy(s->key, key);
    switch (ckpt_obj_type(v)) {
    case CKPT_T_NONE: s->kind = HP_NONE; return 0;
    case CKPT_T_BOOL:
        s->kind = HP_BOOL;
        s->b = ckpt_obj_bool(v);
        return 0;
    case CKPT_T_INT:
        s->kind = HP_INT;
        s->i = ckpt_obj_int(v);
        return 0;
    case CKPT_T_FLOAT:
        s->kind = HP_FLOAT;
        s->f = ckpt_obj_float(v);
        return 0;
    case CKPT_T_TENSOR: break;
    default:
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "state '%s': unsupported value type %s", key,
                         ckpt_type_name(ckpt_obj_type(v)));
    }
    ckpt_tensor_info ti;
    int rc = ckpt_tensor_get_info(v, &ti);
    if (rc < 0)
        return CKPT_FAIL(err, rc, "state '%s': not a tensor", key);
    if (!ckpt_tensor_data(v))
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "state '%s': tensor has no data loaded", key);
    bool is_step = strcmp(key, "step") == 0;
    bool cast = !is_step && ckpt_dtype_is_floating(ti.dtype);
    bool same_shape = ti.numel == numel && ti.ndim == slot->ndim;
    for (int d = 0; same_shape && d < ti.ndim; d++)
        same_shape = ti.shape[d] == slot->shape[d];
    if (!is_step && !same_shape) {
        char sa[160], sb[160];
        return CKPT_FAIL(err, CKPT_E_SHAPE,
                         "state '%s' has shape %s (%lld elements), the parameter %s (%lld)", key,
                         shape_str(ti.ndim, ti.shape, sa, sizeof sa), (long long)ti.numel,
                         shape_str(slot->ndim, slot->shape, sb, sizeof sb), (long long)numel);
    }
    if (cast && ti.dtype != CKPT_F32 && ti.dtype != CKPT_F64 && ti.dtype != CKPT_F16 &&
        ti.dtype != CKPT_BF16)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "state '%s': cannot cast from %s", key,
                         ckpt_dtype_name(ti.dtype));
    rc = ckpt_optim__st_tensor(a, s, cast ? CKPT_F32 : ti.dtype, ti.ndim, ti.shape);
    if (rc < 0)
        return CKPT_FAIL(err, rc, "state '%s': cannot hold the tensor", key);
    size_t src_bytes = (size_t)ti.nbytes;
    void *tmp = cast && ti.dtype != CKPT_F32 ? ckpt_optim__alloc(a, src_bytes ? src_bytes : 1)
                                             : s->data;
    if (!tmp)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    rc = ckpt_tensor_copy_into(v, tmp, src_bytes, err);
    if (rc == 0 && tmp != s->data)
        rc = ckpt_convert_elements(s->data, CKPT_F32, tmp, ti.dtype, (size_t)ti.numel);
    if (tmp != s->data)
        ckpt_optim__free(a, tmp);
    if (rc < 0)
        return CKPT_FAIL(err, rc, "state '%s': cannot copy the tensor", key);
    return 0;
}

static void free_states(const ckpt_alloc *a, ckpt__pstate *st, size_t n)
{
    for (size_t i = 0; st && i < n; i++)
        ckpt_optim__pstate_clear(a, &st[i]);
    ckpt_optim__free(a, st);
}

static void free_hps(const ckpt_alloc *a, ckpt__hp_list *hp, size_t n)
{
    for (size_t i = 0; hp && i < n; i++)
        ckpt_optim__hp_list_free(a, &hp[i]);
    ckpt_optim__free(a, hp);
}

int ckpt_optim_load_state_dict(ckpt_optim *o, const ckpt_obj *sd, ckpt_error *err)
{
    if (!o || !sd)
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL optimizer or state dict");
    const ckpt_obj *state = ckpt_obj_type(sd) == CKPT_T_DICT ? ckpt_dict_get(sd, "state") : NULL;
    const ckpt_obj *groups = ckpt_obj_type(sd) == CKPT_T_DICT ? ckpt_dict_get(sd, "param_groups")
                                                              : NULL;
    if (!state || ckpt_obj_type(state) != CKPT_T_DICT || !groups ||
        (ckpt_obj_type(groups) != CKPT_T_LIST && ckpt_obj_type(groups) != CKPT_T_TUPLE))
        return CKPT_FAIL(err, CKPT_E_FORMAT,
                         "not an optimizer state dict (needs 'state' and 'param_groups')");
    if (ckpt_obj_len(groups) != o->ngroups) {
        CKPT_FAIL(err, CKPT_E_SHAPE,
                  "loaded state dict has a different number of parameter groups (file: %zu, "
                  "optimizer: %zu)",
                  ckpt_obj_len(groups), o->ngroups);
        ckpt__error_prefix_key(err, "param_groups");
        return CKPT_E_SHAPE;
    }
    for (size_t g = 0; g < o->ngroups; g++) {
        const ckpt_obj *sg = ckpt_obj_item(groups, g);
        const ckpt_obj *pl = ckpt_obj_type(sg) == CKPT_T_DICT ? ckpt_dict_get(sg, "params")
                                                              : NULL;
        if (!pl || ckpt_obj_type(pl) != CKPT_T_LIST)
            return CKPT_FAIL(err, CKPT_E_FORMAT, "param_groups[%zu] has no 'params' list", g);
        if (ckpt_obj_len(pl) != o->groups[g].n) {
            char key[48];
            snprintf(key, sizeof(key), "param_groups.%zu.params", g);
            CKPT_FAIL(err, CKPT_E_SHAPE,
                      "loaded state dict contains a parameter group that doesn't match the "
                      "size of optimizer's group (group %zu: file %zu parameters, optimizer %zu)",
                      g, ckpt_obj_len(pl), o->groups[g].n);
            ckpt__error_prefix_key(err, key);
            return CKPT_E_SHAPE;
        }
    }
    int krc = check_kind(o, groups, state, err);
    if (krc < 0)
        return krc;
    int rc = 0;
    ld_ctx ctx;
    memset(&ctx, 0, sizeof(ctx));
    ckpt__pstate *nst = ckpt_optim__zalloc(o->a, o->nparams + 1, sizeof(*nst));
    ckpt__hp_list *nhp = ckpt_optim__zalloc(o->a, o->ngroups + 1, sizeof(*nhp));
    uint64_t order = 0;
    if (!nst || !nhp) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto done;
    }
    /* hyperparameters: the saved group replaces the live one, 'params' kept */
    for (size_t g = 0; g < o->ngroups && rc == 0; g++) {
        const ckpt_obj *sg = ckpt_obj_item(groups, g);
        for (size_t i = 0; i < ckpt_obj_len(sg) && rc == 0; i++) {
            const ckpt_obj *k = ckpt_dict_key(sg, i);
            const char *ks = ckpt_obj_type(k) == CKPT_T_STR ? ckpt_obj_str(k, NULL) : NULL;
            if (!ks) {
                rc = CKPT_FAIL(err, CKPT_E_FORMAT, "param_groups[%zu]: non-str key", g);
                break;
            }
            if (strcmp(ks, "params") == 0)
                continue;
            ckpt__hp h;
            rc = load_hp(o, &ctx, ks, ckpt_dict_value(sg, i), &h, err);
            if (rc == 0 && ckpt_optim__hp_put(o->a, &nhp[g], &h) < 0)
                rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        }
        if (rc == 0 && ckpt_optim__setdefaults(o, &nhp[g]) < 0)
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    /* state: saved ids map positionally onto the live parameters */
    for (size_t i = 0; i < ckpt_obj_len(state) && rc == 0; i++) {
        const ckpt_obj *k = ckpt_dict_key(state, i);
        const ckpt_obj *v = ckpt_dict_value(state, i);
        if (ckpt_obj_type(k) != CKPT_T_INT)
            continue; /* state not assigned to a parameter: torch keeps it, we drop it */
        int64_t id = ckpt_obj_int(k);
        size_t pos = SIZE_MAX, base = 0;
        for (size_t g = 0; g < o->ngroups && pos == SIZE_MAX; g++) {
            const ckpt_obj *pl = ckpt_dict_get(ckpt_obj_item(groups, g), "params");
            for (size_t j = 0; j < ckpt_obj_len(pl); j++) {
                const ckpt_obj *e = ckpt_obj_item(pl, j);
                if (ckpt_obj_type(e) == CKPT_T_INT && ckpt_obj_int(e) == id) {
                    pos = base + j;
                    break;
                }
            }
            base += ckpt_obj_len(pl);
        }
        if (pos == SIZE_MAX)
            continue;
        if (ckpt_obj_type(v) != CKPT_T_DICT) {
            rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "state[%lld] is not a dict", (long long)id);
            break;
        }
        /* find the live slot at position `pos` */
        const ckpt_slot *slot = NULL;
        for (size_t g = 0; g < o->ngroups; g++)
            if (pos >= o->groups[g].first && pos < o->groups[g].first + o->groups[g].n)
                slot = o->groups[g].params[pos - o->groups[g].first];
        ckpt__pstate *p = &nst[pos];
        ckpt_optim__pstate_clear(o->a, p);
        p->v = ckpt_optim__zalloc(o->a, ckpt_obj_len(v) + 1, sizeof(*p->v));
        if (!p->v) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            break;
        }
        p->present = true;
        p->order = order++;
        for (size_t e = 0; e < ckpt_obj_len(v) && rc == 0; e++) {
            const ckpt_obj *sk = ckpt_dict_key(v, e);
            if (ckpt_obj_type(sk) != CKPT_T_STR) {
                rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "state[%lld]: non-str key",
                               (long long)id);
                break;
            }
            rc = load_st(o->a, ckpt_obj_str(sk, NULL), ckpt_dict_value(v, e), slot, &p->v[p->n],
                         err);
            if (rc == 0) {
                p->n++;
            } else {
                ckpt_optim__free(o->a, p->v[p->n].data);
                ckpt__error_prefix_key(err, ckpt_obj_str(sk, NULL));
            }
        }
        if (rc < 0) {
            char key[32];
            snprintf(key, sizeof(key), "%lld", (long long)id);
            ckpt__error_prefix_key(err, key);
            ckpt__error_prefix_key(err, "state");
        }
        /* Adam/AdamW/Adagrad __setstate__: a Python-number step becomes tensor(float(step)) */
        ckpt__st *st = rc == 0 && o->kind != CKPT_OPTIM_SGD && o->kind != CKPT_OPTIM_RMSPROP
                           ? ckpt_optim__st_find(p, "step")
                           : NULL;
        if (st && (st->kind == HP_INT || st->kind == HP_FLOAT)) {
            float f = (float)(st->kind == HP_INT ? (double)st->i : st->f);
            if (ckpt_optim__st_tensor(o->a, st, CKPT_F32, 0, NULL) < 0) {
                rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
                break;
            }
            memcpy(st->data, &f, sizeof(f));
        }
    }
    if (rc == 0) {
        /* commit */
        for (size_t i = 0; i < o->nparams; i++) {
            ckpt_optim__pstate_clear(o->a, &o->state[i]);
            o->state[i] = nst[i];
        }
        for (size_t g = 0; g < o->ngroups; g++) {
            ckpt_optim__hp_list_free(o->a, &o->groups[g].hp);
            o->groups[g].hp = nhp[g];
        }
        o->next_order = order;
        ckpt_optim__free(o->a, nst);
        ckpt_optim__free(o->a, nhp);
        return 0;
    }
done:
    free_states(o->a, nst, o->nparams);
    free_hps(o->a, nhp, o->ngroups);
    return rc;
}
