/* src/optim/sched_internal.h - the scheduler object shared by sched*.c. */
#ifndef CKPT_OPTIM_SCHED_INTERNAL_H
#define CKPT_OPTIM_SCHED_INTERNAL_H

#include "ckpt/sched.h"
#include "optim/optim_internal.h"

enum { OC_INITIAL_LR, OC_MAX_LR, OC_MIN_LR, OC_MAX_MOMENTUM, OC_BASE_MOMENTUM };

typedef struct oc_phase {
    double end_step;
    bool end_step_is_int;
    int start_lr, end_lr, start_mom, end_mom; /* OC_* group keys */
} oc_phase;

struct ckpt_sched {
    int kind;
    ckpt_lr_target *t;
    ckpt_sched_config cfg; /* scalar arguments (pointer fields cleared) */
    /* MultiStepLR Counter (epoch -> count), or SequentialLR _milestones */
    int64_t *ms_epoch;
    int64_t *ms_count;
    size_t n_ms;
    double *base_lrs;
    double *last_lr;
    bool has_last_lr;
    double *values; /* scratch: get_lr() output */
    int64_t last_epoch;
    int64_t step_count;
    bool verbose;
    bool get_lr_called;
    /* CosineAnnealingWarmRestarts */
    int64_t T_i;
    double T_cur;
    bool T_cur_is_int;
    /* OneCycleLR */
    int64_t total_steps;
    oc_phase phases[3];
    int nphases;
    bool anneal_linear;
    bool cycle_momentum;
    bool use_beta1;
    /* SequentialLR */
    ckpt_sched **children;
    size_t nchildren;
    /* ReduceLROnPlateau */
    double *min_lrs;
    double best;
    double mode_worse;
    int64_t num_bad_epochs;
    int64_t cooldown_counter;
    /* attached to an optimizer (ckpt_sched_new_for_optim): its param_groups are
     * read into `t` before every step and written back after it; `own_t` is the
     * target storage this scheduler owns (NULL for ckpt_sched_new) */
    struct ckpt_optim *optim;
    ckpt_lr_target *own_t;
    ckpt_alloc alloc_copy; /* cfg->alloc, copied */
    const ckpt_alloc *a;   /* &alloc_copy or NULL (libc) */
};

int64_t ckpt__py_mod(int64_t a, int64_t b);
int64_t ckpt__py_floordiv(int64_t a, int64_t b);
int ckpt__sched_counter_add(ckpt_sched *s, int64_t epoch, int64_t count);
/* the steps on `t` alone (sched.c); the public calls (sched_attach.c) move the
 * values of an attached optimizer in and out around them */
int ckpt__sched_step_raw(ckpt_sched *s, ckpt_error *err);
int ckpt__sched_step_epoch_raw(ckpt_sched *s, int64_t epoch, ckpt_error *err);
int ckpt__sched_step_metric_raw(ckpt_sched *s, double metric, ckpt_error *err);

#endif
