/*
 * src/optim/sched_attach.c - schedulers attached to an optimizer: the
 * optimizer's param_groups hold the learning rates (as in torch), the
 * scheduler's ckpt_lr_target is scratch filled from them before each step and
 * written back after it.
 */
#include <stdlib.h>
#include <string.h>

#include "ckpt/optim.h"
#include "core/err.h"
#include "optim/sched_internal.h"

/* read the optimizer's groups into the scheduler's target (same group count) */
static int pull(ckpt_sched *s, ckpt_error *err)
{
    size_t n = ckpt_optim_group_count(s->optim);
    if (n != s->t->ngroups)
        return CKPT_FAIL(err, CKPT_E_SHAPE,
                         "the optimizer has %zu parameter groups, its scheduler was built for %zu",
                         n, s->t->ngroups);
    return ckpt_lr_target_from_optim(s->t, s->t->groups, n, s->optim, err);
}

static int push(ckpt_sched *s, ckpt_error *err)
{
    return ckpt_lr_target_to_optim(s->t, s->optim, err);
}

int ckpt_sched_step(ckpt_sched *s, ckpt_error *err)
{
    if (!s)
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL scheduler");
    if (!s->optim)
        return ckpt__sched_step_raw(s, err);
    CKPT_TRY(pull(s, err));
    CKPT_TRY(ckpt__sched_step_raw(s, err));
    return push(s, err);
}

int ckpt_sched_step_epoch(ckpt_sched *s, int64_t epoch, ckpt_error *err)
{
    if (!s)
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL scheduler");
    if (!s->optim)
        return ckpt__sched_step_epoch_raw(s, epoch, err);
    CKPT_TRY(pull(s, err));
    CKPT_TRY(ckpt__sched_step_epoch_raw(s, epoch, err));
    return push(s, err);
}

int ckpt_sched_step_metric(ckpt_sched *s, double metric, ckpt_error *err)
{
    if (!s)
        return CKPT_FAIL(err, CKPT_E_ARG, "step_metric is for ReduceLROnPlateau");
    if (!s->optim)
        return ckpt__sched_step_metric_raw(s, metric, err);
    CKPT_TRY(pull(s, err));
    CKPT_TRY(ckpt__sched_step_metric_raw(s, metric, err));
    return push(s, err);
}

ckpt_optim *ckpt_sched_optim(const ckpt_sched *s)
{
    return s ? s->optim : NULL;
}

ckpt_sched *ckpt_sched_new_for_optim(ckpt_optim *o, const ckpt_sched_config *cfg, ckpt_error *err)
{
    size_t nchild = cfg && cfg->kind == CKPT_SCHED_SEQUENTIAL && cfg->children ? cfg->n_children
                                                                               : 0;
    ckpt_lr_target *t = NULL;
    ckpt_lr_group *groups = NULL;
    int rc = 0;
    if (!o || !cfg) {
        rc = CKPT_FAIL(err, CKPT_E_ARG, "ckpt_sched_new_for_optim: NULL optimizer or config");
        goto fail;
    }
    for (size_t i = 0; i < nchild; i++)
        if (!cfg->children[i] || cfg->children[i]->optim != o) {
            rc = CKPT_FAIL(err, CKPT_E_ARG,
                           "Sequential Schedulers expects all schedulers to belong to the same "
                           "optimizer, but got schedulers at index %zu to be different than the "
                           "optimizer passed in.",
                           i);
            goto fail;
        }
    size_t n = ckpt_optim_group_count(o);
    t = ckpt_optim__zalloc(cfg->alloc, 1, sizeof *t);
    groups = ckpt_optim__zalloc(cfg->alloc, n ? n : 1, sizeof *groups);
    if (t)
        t->groups = groups;
    if (!t || !groups) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto fail;
    }
    rc = ckpt_lr_target_from_optim(t, groups, n, o, err);
    if (rc < 0)
        goto fail;
    /* the children of a SequentialLR drive the parent's target */
    for (size_t i = 0; i < nchild; i++)
        cfg->children[i]->t = t;
    ckpt_sched *s = ckpt_sched_new(t, cfg, err); /* frees the children on failure */
    nchild = 0;
    if (!s)
        goto fail;
    s->optim = o;
    s->own_t = t;
    if (push(s, err) < 0) {
        ckpt_sched_free(s);
        return NULL;
    }
    return s;
fail:
    for (size_t i = 0; i < nchild; i++)
        ckpt_sched_free(cfg->children[i]);
    if (t)
        ckpt_optim__free(cfg->alloc, t->groups);
    else if (cfg)
        ckpt_optim__free(cfg->alloc, groups);
    ckpt_optim__free(cfg ? cfg->alloc : NULL, t);
    (void)rc;
    return NULL;
}
