/*
 * src/optim/sched_state.c - scheduler state_dict / load_state_dict with torch
 * 1.13's keys, order and Python types.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "optim/sched_internal.h"

/* Attribute names are interned in Python, so a nested state dict (SequentialLR)
 * repeats its parent's key objects and pickle memoizes them: share key nodes. */
typedef struct key_cache {
    const char *name[64];
    ckpt_obj *node[64];
    size_t n;
} key_cache;

typedef struct sd_builder {
    ckpt_doc *doc;
    ckpt_obj *d;
    int rc;
    key_cache *keys;
} sd_builder;

static ckpt_obj *key_node(sd_builder *b, const char *key)
{
    key_cache *kc = b->keys;
    if (!kc)
        return ckpt_str_new(b->doc, key);
    for (size_t i = 0; i < kc->n; i++)
        if (strcmp(kc->name[i], key) == 0)
            return kc->node[i];
    ckpt_obj *k = ckpt_str_new(b->doc, key);
    if (k && kc->n < 64) {
        kc->name[kc->n] = key;
        kc->node[kc->n++] = k;
    }
    return k;
}

static void put(sd_builder *b, const char *key, ckpt_obj *v)
{
    if (b->rc < 0)
        return;
    ckpt_obj *k = key_node(b, key);
    if (!v || !k || ckpt_dict_set(b->doc, b->d, k, v, NULL) < 0)
        b->rc = CKPT_E_NOMEM;
}

static void put_int(sd_builder *b, const char *key, int64_t v)
{
    put(b, key, ckpt_int_new(b->doc, v));
}

static void put_float(sd_builder *b, const char *key, double v)
{
    put(b, key, ckpt_float_new(b->doc, v));
}

static void put_bool(sd_builder *b, const char *key, bool v)
{
    put(b, key, ckpt_bool_new(b->doc, v));
}

static ckpt_obj *num(ckpt_doc *doc, double v, bool as_int)
{
    /* an "int" that is not integral was a float after all */
    if (as_int && v == floor(v) && fabs(v) < 9.2e18)
        return ckpt_int_new(doc, (int64_t)v);
    return ckpt_float_new(doc, v);
}

static ckpt_obj *float_list(ckpt_doc *doc, const double *v, size_t n, bool as_int)
{
    ckpt_obj *l = ckpt_list_new(doc);
    for (size_t i = 0; l && i < n; i++)
        if (ckpt_list_append(doc, l, num(doc, v[i], as_int), NULL) < 0)
            return NULL;
    return l;
}

static const char *const OC_NAMES[] = {"initial_lr", "max_lr", "min_lr", "max_momentum",
                                       "base_momentum"};

static ckpt_obj *phases_list(const ckpt_sched *s, ckpt_doc *doc)
{
    ckpt_obj *l = ckpt_list_new(doc);
    for (int p = 0; l && p < s->nphases; p++) {
        const oc_phase *ph = &s->phases[p];
        sd_builder b = {doc, ckpt_dict_new(doc, CKPT_DICT_PLAIN), 0, NULL};
        if (!b.d)
            return NULL;
        put(&b, "end_step", num(doc, ph->end_step, ph->end_step_is_int));
        put(&b, "start_lr", ckpt_str_new(doc, OC_NAMES[ph->start_lr]));
        put(&b, "end_lr", ckpt_str_new(doc, OC_NAMES[ph->end_lr]));
        put(&b, "start_momentum", ckpt_str_new(doc, OC_NAMES[ph->start_mom]));
        put(&b, "end_momentum", ckpt_str_new(doc, OC_NAMES[ph->end_mom]));
        if (b.rc < 0 || ckpt_list_append(doc, l, b.d, NULL) < 0)
            return NULL;
    }
    return l;
}

static void put_tail(sd_builder *b, const ckpt_sched *s)
{
    size_t n = s->t->ngroups;
    put(b, "base_lrs", float_list(b->doc, s->base_lrs, n, false));
    put_int(b, "last_epoch", s->last_epoch);
    put_bool(b, "verbose", s->verbose);
    put_int(b, "_step_count", s->step_count);
    put_bool(b, "_get_lr_called_within_step", s->get_lr_called);
    put(b, "_last_lr", float_list(b->doc, s->last_lr, n, false));
}

static ckpt_obj *state_dict(const ckpt_sched *s, ckpt_doc *doc, key_cache *kc, ckpt_error *err);

ckpt_obj *ckpt_sched_state_dict(const ckpt_sched *s, ckpt_doc *doc, ckpt_error *err)
{
    key_cache kc;
    kc.n = 0;
    return state_dict(s, doc, &kc, err);
}

static ckpt_obj *state_dict(const ckpt_sched *s, ckpt_doc *doc, key_cache *kc, ckpt_error *err)
{
    if (!s || !doc) {
        CKPT_FAIL(err, CKPT_E_ARG, "NULL scheduler or document");
        return NULL;
    }
    const ckpt_sched_config *c = &s->cfg;
    size_t n = s->t->ngroups;
    sd_builder b = {doc, ckpt_dict_new(doc, CKPT_DICT_PLAIN), 0, kc};
    if (!b.d)
        b.rc = CKPT_E_NOMEM;
    switch (s->kind) {
    case CKPT_SCHED_STEP:
        put_int(&b, "step_size", c->step_size);
        put_float(&b, "gamma", c->gamma);
        break;
    case CKPT_SCHED_MULTISTEP: {
        ckpt_obj *ctr = ckpt_dict_new(doc, CKPT_DICT_COUNTER);
        for (size_t i = 0; ctr && i < s->n_ms; i++)
            if (ckpt_dict_set(doc, ctr, ckpt_int_new(doc, s->ms_epoch[i]),
                              ckpt_int_new(doc, s->ms_count[i]), err) < 0)
                ctr = NULL;
        put(&b, "milestones", ctr);
        put_float(&b, "gamma", c->gamma);
        break;
    }
    case CKPT_SCHED_EXPONENTIAL: put_float(&b, "gamma", c->gamma); break;
    case CKPT_SCHED_COSINE:
        put_int(&b, "T_max", c->T_max);
        put(&b, "eta_min", num(doc, c->eta_min, !c->eta_min_is_float));
        break;
    case CKPT_SCHED_COSINE_WARM_RESTARTS:
        put_int(&b, "T_0", c->T_0);
        put_int(&b, "T_i", s->T_i);
        put_int(&b, "T_mult", c->T_mult);
        put(&b, "eta_min", num(doc, c->eta_min, !c->eta_min_is_float));
        put(&b, "T_cur", num(doc, s->T_cur, s->T_cur_is_int));
        break;
    case CKPT_SCHED_LINEAR:
        put_float(&b, "start_factor", c->start_factor);
        put_float(&b, "end_factor", c->end_factor);
        put_int(&b, "total_iters", c->total_iters);
        break;
    case CKPT_SCHED_CONSTANT:
        put_float(&b, "factor", c->factor);
        put_int(&b, "total_iters", c->total_iters);
        break;
    case CKPT_SCHED_ONE_CYCLE:
        put_int(&b, "total_steps", s->total_steps);
        put(&b, "_schedule_phases", phases_list(s, doc));
        /* torch 1.13 pickles a bound method here; write torch 2.x's tag */
        put(&b, "_anneal_func_type", ckpt_str_new(doc, s->anneal_linear ? "linear" : "cos"));
        put_bool(&b, "cycle_momentum", s->cycle_momentum);
        if (s->cycle_momentum)
            put_bool(&b, "use_beta1", s->use_beta1);
        break;
    case CKPT_SCHED_SEQUENTIAL: {
        ckpt_obj *ms = ckpt_list_new(doc);
        for (size_t i = 0; ms && i < s->n_ms; i++)
            if (ckpt_list_append(doc, ms, ckpt_int_new(doc, s->ms_epoch[i]), err) < 0)
                ms = NULL;
        put(&b, "_milestones", ms);
        put_int(&b, "last_epoch", s->last_epoch);
        /* torch's _last_lr is the active child's own list (one object, memoized once) */
        ckpt_obj *last = float_list(doc, s->last_lr, n, false);
        put(&b, "_last_lr", last);
        size_t active = 0;
        while (active < s->n_ms && s->ms_epoch[active] <= s->last_epoch)
            active++;
        ckpt_obj *kids = ckpt_list_new(doc);
        for (size_t i = 0; kids && last && i < s->nchildren; i++) {
            ckpt_obj *k = state_dict(s->children[i], doc, kc, err);
            if (k && i == active &&
                ckpt_dict_set(doc, k, key_node(&b, "_last_lr"), last, err) < 0)
                k = NULL;
            if (!k || ckpt_list_append(doc, kids, k, err) < 0)
                kids = NULL;
        }
        put(&b, "_schedulers", kids);
        break;
    }
    case CKPT_SCHED_PLATEAU:
        put_float(&b, "factor", c->factor);
        put(&b, "min_lrs", float_list(doc, s->min_lrs, n, !c->min_lr_is_float));
        put_int(&b, "patience", c->patience);
        put_bool(&b, "verbose", s->verbose);
        put_int(&b, "cooldown", c->cooldown);
        put_int(&b, "cooldown_counter", s->cooldown_counter);
        put(&b, "mode", ckpt_str_new(doc, c->mode_max ? "max" : "min"));
        put_float(&b, "threshold", c->threshold);
        put(&b, "threshold_mode", ckpt_str_new(doc, c->threshold_abs ? "abs" : "rel"));
        put_float(&b, "best", s->best);
        put_int(&b, "num_bad_epochs", s->num_bad_epochs);
        put_float(&b, "mode_worse", s->mode_worse);
        put_float(&b, "eps", c->eps);
        put_int(&b, "last_epoch", s->last_epoch);
        if (s->has_last_lr)
            put(&b, "_last_lr", float_list(doc, s->last_lr, n, false));
        break;
    default: b.rc = CKPT_E_ARG; break;
    }
    if (s->kind != CKPT_SCHED_SEQUENTIAL && s->kind != CKPT_SCHED_PLATEAU)
        put_tail(&b, s);
    if (b.rc < 0) {
        CKPT_FAIL(err, b.rc, "cannot build the scheduler state dict");
        return NULL;
    }
    return b.d;
}

/* ------------------------------------------------------------------ load */

static int want_num(const ckpt_obj *v, const char *key, ckpt_error *err)
{
    int t = ckpt_obj_type(v);
    if (t != CKPT_T_INT && t != CKPT_T_FLOAT && t != CKPT_T_BOOL)
        return CKPT_FAIL(err, CKPT_E_FORMAT, "scheduler state '%s' is a %s, not a number", key,
                         ckpt_type_name(t));
    return 0;
}

static int load_list(const ckpt_obj *v, const char *key, double *dst, size_t n, bool *is_int,
                     ckpt_error *err)
{
    if (ckpt_obj_type(v) != CKPT_T_LIST || ckpt_obj_len(v) != n)
        return CKPT_FAIL(err, CKPT_E_SHAPE, "scheduler state '%s' is not a list of %zu numbers",
                         key, n);
    for (size_t i = 0; i < n; i++) {
        CKPT_TRY(want_num(ckpt_obj_item(v, i), key, err));
        dst[i] = ckpt_obj_float(ckpt_obj_item(v, i));
        if (is_int)
            *is_int = ckpt_obj_type(ckpt_obj_item(v, i)) != CKPT_T_FLOAT;
    }
    return 0;
}

static int oc_name(const ckpt_obj *v, int *out, ckpt_error *err)
{
    const char *sv = ckpt_obj_type(v) == CKPT_T_STR ? ckpt_obj_str(v, NULL) : "";
    for (int i = 0; i < 5; i++) {
        if (strcmp(sv, OC_NAMES[i]) == 0) {
            *out = i;
            return 0;
        }
    }
    return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "OneCycleLR phase key '%s' is not supported", sv);
}

static int load_phases(ckpt_sched *s, const ckpt_obj *v, ckpt_error *err)
{
    size_t n = ckpt_obj_len(v);
    CKPT_CHECK(ckpt_obj_type(v) == CKPT_T_LIST && n >= 1 && n <= 3, err, CKPT_E_FORMAT,
               "OneCycleLR _schedule_phases is not a list of 1 to 3 dicts");
    oc_phase ph[3];
    for (size_t p = 0; p < n; p++) {
        const ckpt_obj *d = ckpt_obj_item(v, p);
        CKPT_CHECK(ckpt_obj_type(d) == CKPT_T_DICT, err, CKPT_E_FORMAT,
                   "OneCycleLR phase %zu is not a dict", p);
        const ckpt_obj *e = ckpt_dict_get(d, "end_step");
        CKPT_CHECK(e != NULL, err, CKPT_E_FORMAT, "OneCycleLR phase %zu lacks end_step", p);
        CKPT_TRY(want_num(e, "end_step", err));
        ph[p].end_step = ckpt_obj_float(e);
        ph[p].end_step_is_int = ckpt_obj_type(e) != CKPT_T_FLOAT;
        CKPT_TRY(oc_name(ckpt_dict_get(d, "start_lr"), &ph[p].start_lr, err));
        CKPT_TRY(oc_name(ckpt_dict_get(d, "end_lr"), &ph[p].end_lr, err));
        CKPT_TRY(oc_name(ckpt_dict_get(d, "start_momentum"), &ph[p].start_mom, err));
        CKPT_TRY(oc_name(ckpt_dict_get(d, "end_momentum"), &ph[p].end_mom, err));
    }
    memcpy(s->phases, ph, n * sizeof *ph);
    s->nphases = (int)n;
    return 0;
}

/* torch 1.13's anneal_func: a pickled bound method getattr(scheduler, "_annealing_cos"). */
static int load_anneal_method(ckpt_sched *s, const ckpt_obj *v, ckpt_error *err)
{
    const ckpt_obj *args = ckpt_obj_type(v) == CKPT_T_OBJECT ? ckpt_object_args(v) : NULL;
    const ckpt_obj *name = args && ckpt_obj_len(args) == 2 ? ckpt_obj_item(args, 1) : NULL;
    const char *sv = name && ckpt_obj_type(name) == CKPT_T_STR ? ckpt_obj_str(name, NULL) : "";
    if (strcmp(sv, "_annealing_cos") == 0)
        s->anneal_linear = false;
    else if (strcmp(sv, "_annealing_linear") == 0)
        s->anneal_linear = true;
    else
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "OneCycleLR anneal_func is not recognised");
    return 0;
}

static int load_one(ckpt_sched *s, const char *k, const ckpt_obj *v, ckpt_error *err)
{
    ckpt_sched_config *c = &s->cfg;
    size_t n = s->t->ngroups;
    int t = ckpt_obj_type(v);
    bool is_num = t == CKPT_T_INT || t == CKPT_T_FLOAT || t == CKPT_T_BOOL;
    double f = is_num ? ckpt_obj_float(v) : 0;
    /* a float value only becomes an int where it fits (best may be inf) */
    int64_t i = t == CKPT_T_INT || t == CKPT_T_BOOL       ? ckpt_obj_int(v)
                : (f >= -9.2e18 && f <= 9.2e18 && f == f) ? (int64_t)f
                                                          : 0;

#define NUMKEY(name, stmt)                                                                       \
    if (strcmp(k, name) == 0) {                                                                  \
        CKPT_TRY(want_num(v, k, err));                                                           \
        stmt;                                                                                    \
        return 0;                                                                                \
    }
    if (strcmp(k, "base_lrs") == 0)
        return load_list(v, k, s->base_lrs, n, NULL, err);
    if (strcmp(k, "_last_lr") == 0) {
        CKPT_TRY(load_list(v, k, s->last_lr, n, NULL, err));
        s->has_last_lr = true;
        return 0;
    }
    if (strcmp(k, "min_lrs") == 0 && s->kind == CKPT_SCHED_PLATEAU) {
        CKPT_TRY(load_list(v, k, s->min_lrs, n, NULL, err));
        c->min_lr_is_float = n && ckpt_obj_type(ckpt_obj_item(v, 0)) == CKPT_T_FLOAT;
        return 0;
    }
    NUMKEY("last_epoch", s->last_epoch = i)
    NUMKEY("verbose", s->verbose = f != 0)
    NUMKEY("_step_count", s->step_count = i)
    NUMKEY("_get_lr_called_within_step", s->get_lr_called = f != 0)
    NUMKEY("step_size", c->step_size = i)
    NUMKEY("gamma", c->gamma = f)
    NUMKEY("T_max", c->T_max = i)
    NUMKEY("eta_min", (c->eta_min = f, c->eta_min_is_float = t == CKPT_T_FLOAT))
    NUMKEY("T_0", c->T_0 = i)
    NUMKEY("T_i", s->T_i = i)
    NUMKEY("T_mult", c->T_mult = i)
    NUMKEY("T_cur", (s->T_cur = f, s->T_cur_is_int = t != CKPT_T_FLOAT))
    NUMKEY("start_factor", c->start_factor = f)
    NUMKEY("end_factor", c->end_factor = f)
    NUMKEY("total_iters", c->total_iters = i)
    NUMKEY("factor", c->factor = f)
    NUMKEY("total_steps", s->total_steps = i)
    NUMKEY("cycle_momentum", s->cycle_momentum = f != 0)
    NUMKEY("use_beta1", s->use_beta1 = f != 0)
    NUMKEY("patience", c->patience = i)
    NUMKEY("cooldown", c->cooldown = i)
    NUMKEY("cooldown_counter", s->cooldown_counter = i)
    NUMKEY("threshold", c->threshold = f)
    NUMKEY("best", s->best = f)
    NUMKEY("num_bad_epochs", s->num_bad_epochs = i)
    NUMKEY("mode_worse", s->mode_worse = f)
    NUMKEY("eps", c->eps = f)
#undef NUMKEY
    if (strcmp(k, "milestones") == 0 && s->kind == CKPT_SCHED_MULTISTEP) {
        CKPT_CHECK(t == CKPT_T_DICT, err, CKPT_E_FORMAT, "milestones is not a Counter");
        s->n_ms = 0;
        for (size_t j = 0; j < ckpt_obj_len(v); j++) {
            const ckpt_obj *kk = ckpt_dict_key(v, j), *vv = ckpt_dict_value(v, j);
            CKPT_CHECK(ckpt_obj_type(kk) == CKPT_T_INT && ckpt_obj_type(vv) == CKPT_T_INT, err,
                       CKPT_E_FORMAT, "milestones holds a non-int entry");
            if (ckpt__sched_counter_add(s, ckpt_obj_int(kk), ckpt_obj_int(vv)) < 0)
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        }
        return 0;
    }
    if (strcmp(k, "_milestones") == 0 && s->kind == CKPT_SCHED_SEQUENTIAL) {
        CKPT_CHECK((t == CKPT_T_LIST || t == CKPT_T_TUPLE) && ckpt_obj_len(v) == s->n_ms, err,
                   CKPT_E_SHAPE, "_milestones is not a list of %zu ints", s->n_ms);
        for (size_t j = 0; j < s->n_ms; j++) {
            CKPT_TRY(want_num(ckpt_obj_item(v, j), k, err));
            s->ms_epoch[j] = ckpt_obj_int(ckpt_obj_item(v, j));
        }
        return 0;
    }
    if (strcmp(k, "_schedulers") == 0 && s->kind == CKPT_SCHED_SEQUENTIAL) {
        CKPT_CHECK(t == CKPT_T_LIST && ckpt_obj_len(v) == s->nchildren, err, CKPT_E_SHAPE,
                   "_schedulers is not a list of %zu state dicts", s->nchildren);
        for (size_t j = 0; j < s->nchildren; j++)
            CKPT_TRY(ckpt_sched_load_state_dict(s->children[j], ckpt_obj_item(v, j), err));
        return 0;
    }
    if (strcmp(k, "_schedule_phases") == 0)
        return load_phases(s, v, err);
    if (strcmp(k, "_anneal_func_type") == 0) {
        const char *sv = t == CKPT_T_STR ? ckpt_obj_str(v, NULL) : "";
        CKPT_CHECK(strcmp(sv, "cos") == 0 || strcmp(sv, "linear") == 0, err, CKPT_E_FORMAT,
                   "_anneal_func_type '%s' is neither 'cos' nor 'linear'", sv);
        s->anneal_linear = strcmp(sv, "linear") == 0;
        return 0;
    }
    if (strcmp(k, "anneal_func") == 0)
        return load_anneal_method(s, v, err);
    if (strcmp(k, "mode") == 0 || strcmp(k, "threshold_mode") == 0) {
        const char *sv = t == CKPT_T_STR ? ckpt_obj_str(v, NULL) : "";
        bool second = strcmp(sv, k[0] == 'm' ? "max" : "abs") == 0;
        CKPT_CHECK(second || strcmp(sv, k[0] == 'm' ? "min" : "rel") == 0, err, CKPT_E_FORMAT,
                   "%s '%s' is unknown!", k, sv);
        if (k[0] == 'm')
            c->mode_max = second;
        else
            c->threshold_abs = second;
        return 0;
    }
    return 0; /* other keys (newer torch bookkeeping) are ignored */
}

int ckpt_sched_load_state_dict(ckpt_sched *s, const ckpt_obj *sd, ckpt_error *err)
{
    if (!s || !sd || ckpt_obj_type(sd) != CKPT_T_DICT)
        return CKPT_FAIL(err, CKPT_E_ARG, "scheduler state dict is not a dict");
    for (size_t j = 0; j < ckpt_obj_len(sd); j++) {
        const ckpt_obj *k = ckpt_dict_key(sd, j);
        if (ckpt_obj_type(k) != CKPT_T_STR)
            continue;
        const char *ks = ckpt_obj_str(k, NULL);
        int rc = load_one(s, ks, ckpt_dict_value(sd, j), err);
        if (rc < 0) {
            ckpt__error_prefix_key(err, ks);
            return rc;
        }
    }
    if (s->kind == CKPT_SCHED_PLATEAU) /* _init_is_better */
        s->mode_worse = s->cfg.mode_max ? -HUGE_VAL : HUGE_VAL;
    return 0;
}
