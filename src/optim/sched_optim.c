/*
 * src/optim/sched_optim.c - move a scheduler's view of the param groups
 * (ckpt_lr_target) in and out of a ckpt_optim.
 */
#include <string.h>

#include "ckpt/optim.h"
#include "ckpt/sched.h"
#include "core/err.h"

static double get_or(const ckpt_optim *o, size_t g, const char *key, double dflt, bool *has)
{
    double v;
    bool ok = ckpt_optim_group_get(o, g, key, &v) == 0;
    if (has)
        *has = ok;
    return ok ? v : dflt;
}

int ckpt_lr_target_from_optim(ckpt_lr_target *t, ckpt_lr_group *groups, size_t cap,
                              const ckpt_optim *o, ckpt_error *err)
{
    if (!t || !o || (cap && !groups))
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL target, groups or optimizer");
    size_t n = ckpt_optim_group_count(o);
    CKPT_CHECK(n <= cap, err, CKPT_E_ARG, "the optimizer has %zu groups, room for %zu", n, cap);
    memset(t, 0, sizeof *t);
    t->groups = groups;
    t->ngroups = n;
    t->momentum_kind = CKPT_MOMENTUM_NONE;
    for (size_t g = 0; g < n; g++) {
        ckpt_lr_group *q = &groups[g];
        memset(q, 0, sizeof *q);
        bool has;
        q->lr = get_or(o, g, "lr", 0, &has);
        CKPT_CHECK(has, err, CKPT_E_NOT_FOUND, "param group %zu has no numeric lr", g);
        q->initial_lr = get_or(o, g, "initial_lr", 0, &q->has_initial_lr);
        if (ckpt_optim_group_has(o, g, "betas0")) {
            t->momentum_kind = CKPT_MOMENTUM_BETAS;
            q->momentum = get_or(o, g, "betas0", 0, NULL);
        } else if (ckpt_optim_group_has(o, g, "momentum")) {
            t->momentum_kind = CKPT_MOMENTUM_PLAIN;
            q->momentum = get_or(o, g, "momentum", 0, NULL);
        }
        q->max_lr = get_or(o, g, "max_lr", 0, &has);
        t->onecycle_keys = t->onecycle_keys || has;
        q->min_lr = get_or(o, g, "min_lr", 0, NULL);
        q->max_momentum = get_or(o, g, "max_momentum", 0, NULL);
        q->base_momentum = get_or(o, g, "base_momentum", 0, NULL);
    }
    return 0;
}

static int set_changed(ckpt_optim *o, size_t g, const char *key, double v, bool extra)
{
    double cur;
    if (ckpt_optim_group_get(o, g, key, &cur) == 0 && cur == v && memcmp(&cur, &v, sizeof v) == 0)
        return 0;
    return extra ? ckpt_optim_group_set_extra(o, g, key, v, NULL)
                 : ckpt_optim_group_set(o, g, key, v, NULL);
}

int ckpt_lr_target_to_optim(const ckpt_lr_target *t, ckpt_optim *o, ckpt_error *err)
{
    if (!t || !o)
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL target or optimizer");
    CKPT_CHECK(ckpt_optim_group_count(o) == t->ngroups, err, CKPT_E_SHAPE,
               "the optimizer has %zu groups, the scheduler %zu", ckpt_optim_group_count(o),
               t->ngroups);
    for (size_t g = 0; g < t->ngroups; g++) {
        const ckpt_lr_group *q = &t->groups[g];
        int rc = ckpt_optim_group_set(o, g, "lr", q->lr, err);
        if (rc >= 0 && q->has_initial_lr)
            rc = set_changed(o, g, "initial_lr", q->initial_lr, true);
        if (rc >= 0 && t->onecycle_keys) {
            rc = set_changed(o, g, "max_lr", q->max_lr, true);
            if (rc >= 0)
                rc = set_changed(o, g, "min_lr", q->min_lr, true);
        }
        if (rc >= 0 && t->momentum_kind != CKPT_MOMENTUM_NONE)
            rc = set_changed(o, g,
                             t->momentum_kind == CKPT_MOMENTUM_BETAS ? "betas0" : "momentum",
                             q->momentum, false);
        if (rc >= 0 && t->onecycle_keys && t->momentum_kind != CKPT_MOMENTUM_NONE) {
            rc = set_changed(o, g, "max_momentum", q->max_momentum, true);
            if (rc >= 0)
                rc = set_changed(o, g, "base_momentum", q->base_momentum, true);
        }
        if (rc < 0)
            return CKPT_FAIL(err, rc, "cannot set the hyperparameters of param group %zu", g);
    }
    return 0;
}
