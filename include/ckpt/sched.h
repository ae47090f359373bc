/*
 * ckpt/sched.h - learning-rate schedulers and the AMP GradScaler, as torch 1.13.
 *
 * The usual form: ckpt_sched_new_for_optim attaches a scheduler to a
 * ckpt_optim, whose param_groups then hold the learning rates as in torch
 * (every step reads and writes them; nothing else to call, resumes
 * included).  The low-level form below works on numbers the caller moves.
 *
 * Schedulers act on a ckpt_lr_target: per-group numbers the caller owns (the
 * "lr", "initial_lr", momentum and OneCycleLR keys of an optimizer's
 * param_groups).  They compute exactly what torch.optim.lr_scheduler computes
 * (same formulas in the same floating-point order), and their state dicts have
 * torch 1.13's keys, order and Python types, so ckpt_save() of one loads in
 * torch and a torch-saved one loads here.
 *
 * OneCycleLR: torch 1.13 pickles `anneal_func` as a bound method (which drags
 * the whole scheduler object into the pickle).  ckpt writes what torch 2.x
 * writes instead, the string `_anneal_func_type` ("cos" or "linear"), in the
 * same position; loading accepts both forms.
 */
#ifndef CKPT_SCHED_H
#define CKPT_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/alloc.h"
#include "ckpt/core.h"
#include "ckpt/error.h"
#include "ckpt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One param group as a scheduler sees it. */
typedef struct ckpt_lr_group {
    double lr;
    double initial_lr; /* valid when has_initial_lr */
    bool has_initial_lr;
    double momentum; /* group["momentum"], or group["betas"][0] */
    /* OneCycleLR's extra group keys (set by it when last_epoch == -1) */
    double max_lr, min_lr, max_momentum, base_momentum;
} ckpt_lr_group;

typedef enum ckpt_momentum_kind {
    CKPT_MOMENTUM_NONE = 0,  /* the optimizer has neither "momentum" nor "betas" */
    CKPT_MOMENTUM_PLAIN = 1, /* "momentum" (SGD, RMSprop) */
    CKPT_MOMENTUM_BETAS = 2  /* "betas" (Adam family): OneCycleLR's use_beta1 */
} ckpt_momentum_kind;

/* The groups a scheduler drives; the caller owns `groups` and keeps it alive. */
typedef struct ckpt_lr_target {
    size_t ngroups;
    ckpt_lr_group *groups;
    ckpt_momentum_kind momentum_kind;
    bool onecycle_keys; /* groups hold OneCycleLR's keys (set by OneCycleLR) */
} ckpt_lr_target;

/* ------------------------------------------------- optimizer adapters */

struct ckpt_optim; /* ckpt/optim.h */

/*
 * Fill `t` from an optimizer's param_groups: lr, initial_lr (when present),
 * "momentum" or "betas"[0], and OneCycleLR's max_lr/min_lr/max_momentum/
 * base_momentum when present.  `groups` has room for `cap` groups.
 */
CKPT_API int ckpt_lr_target_from_optim(ckpt_lr_target *t, ckpt_lr_group *groups, size_t cap,
                                       const struct ckpt_optim *o, ckpt_error *err);
/*
 * Write `t` back as torch's schedulers write param_groups: "lr" (a float),
 * "initial_lr" appended when new (setdefault), OneCycleLR's keys in torch's
 * order, and the momentum (or betas[0]) only where it changed (so an int
 * momentum=0 stays an int).
 */
CKPT_API int ckpt_lr_target_to_optim(const ckpt_lr_target *t, struct ckpt_optim *o,
                                     ckpt_error *err);

typedef enum ckpt_sched_kind {
    CKPT_SCHED_STEP = 0,
    CKPT_SCHED_MULTISTEP,
    CKPT_SCHED_EXPONENTIAL,
    CKPT_SCHED_COSINE,
    CKPT_SCHED_COSINE_WARM_RESTARTS,
    CKPT_SCHED_LINEAR,
    CKPT_SCHED_CONSTANT,
    CKPT_SCHED_ONE_CYCLE,
    CKPT_SCHED_SEQUENTIAL,
    CKPT_SCHED_PLATEAU
} ckpt_sched_kind;

typedef struct ckpt_sched ckpt_sched;

/* Constructor arguments; ckpt_sched_config_init fills torch's defaults. */
typedef struct ckpt_sched_config {
    ckpt_sched_kind kind;
    int64_t last_epoch;        /* -1: fresh; >= 0: resume (groups need initial_lr) */
    int64_t step_size;         /* StepLR */
    double gamma;              /* StepLR, MultiStepLR (0.1), ExponentialLR */
    const int64_t *milestones; /* MultiStepLR, SequentialLR */
    size_t n_milestones;
    double factor;                   /* ConstantLR (1/3), ReduceLROnPlateau (0.1) */
    int64_t total_iters;             /* ConstantLR, LinearLR (5) */
    double start_factor, end_factor; /* LinearLR (1/3, 1.0) */
    int64_t T_max;                   /* CosineAnnealingLR */
    double eta_min;                  /* CosineAnnealingLR, warm restarts (0) */
    bool eta_min_is_float;           /* Python type of eta_min: false = int (torch's default 0;
                                 a non-integral value is written as a float regardless) */
    int64_t T_0, T_mult;             /* CosineAnnealingWarmRestarts (T_mult 1) */
    /* OneCycleLR */
    const double *max_lr; /* per group (ngroups values) */
    int64_t total_steps;
    double pct_start;                    /* 0.3 */
    bool anneal_linear;                  /* false = 'cos' */
    bool cycle_momentum;                 /* true */
    double base_momentum, max_momentum;  /* 0.85, 0.95 */
    double div_factor, final_div_factor; /* 25.0, 1e4 */
    bool three_phase;
    /* SequentialLR: children built on the same target; the SequentialLR
     * takes ownership of them (also on failure) */
    ckpt_sched *const *children;
    size_t n_children;
    /* ReduceLROnPlateau */
    bool mode_max;         /* false = 'min' */
    int64_t patience;      /* 10 */
    double threshold;      /* 1e-4 */
    bool threshold_abs;    /* false = 'rel' */
    int64_t cooldown;      /* 0 */
    const double *min_lrs; /* per group; NULL = min_lr for all */
    double min_lr;         /* 0 */
    bool min_lr_is_float;  /* Python type of min_lr(s): false = int (default 0) */
    double eps;            /* 1e-8 */
    /* every allocation of the scheduler goes through it (copied; NULL = libc) */
    const ckpt_alloc *alloc;
} ckpt_sched_config;

CKPT_API void ckpt_sched_config_init(ckpt_sched_config *cfg, ckpt_sched_kind kind);

/* Build a scheduler (performs torch's initial step, which sets every group's lr). */
CKPT_API ckpt_sched *ckpt_sched_new(ckpt_lr_target *target, const ckpt_sched_config *cfg,
                                    ckpt_error *err);
/*
 * A scheduler attached to an optimizer, as torch's schedulers are: the
 * optimizer's param_groups are the only copy of the learning rates.
 * Construction does what torch's constructor does to them (initial_lr set
 * when last_epoch == -1 or required when resuming, OneCycleLR's keys, the
 * initial step's lr); every ckpt_sched_step / _step_epoch / _step_metric
 * reads the groups' current values and writes the new ones back itself.  So
 * ckpt_optim_load_state_dict then ckpt_sched_load_state_dict resume with no
 * further call, in either order.  SequentialLR: `cfg->children` must be
 * schedulers attached to the same optimizer (CKPT_E_ARG otherwise; they are
 * owned by the SequentialLR, also on failure).  `o` must outlive the
 * scheduler; adding or removing groups afterwards makes the next step fail
 * with CKPT_E_SHAPE.  ckpt_lr_target / ckpt_sched_new below remain the
 * low-level path (the caller moves values with ckpt_lr_target_from_optim /
 * ckpt_lr_target_to_optim).
 */
CKPT_API ckpt_sched *ckpt_sched_new_for_optim(struct ckpt_optim *o, const ckpt_sched_config *cfg,
                                              ckpt_error *err);
/* The optimizer a scheduler is attached to (NULL for ckpt_sched_new's). */
CKPT_API struct ckpt_optim *ckpt_sched_optim(const ckpt_sched *s);
CKPT_API void ckpt_sched_free(ckpt_sched *s);
/* The kind (-1 for NULL). */
CKPT_API ckpt_sched_kind ckpt_sched_kind_of(const ckpt_sched *s);

/* scheduler.step(): the chainable form (ReduceLROnPlateau: use step_metric). */
CKPT_API int ckpt_sched_step(ckpt_sched *s, ckpt_error *err);
/* scheduler.step(epoch): the closed form where torch has one (StepLR,
 * MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, ConstantLR),
 * get_lr() otherwise; warm restarts use their own epoch rule (integer epochs). */
CKPT_API int ckpt_sched_step_epoch(ckpt_sched *s, int64_t epoch, ckpt_error *err);
/* ReduceLROnPlateau.step(metrics). */
CKPT_API int ckpt_sched_step_metric(ckpt_sched *s, double metric, ckpt_error *err);
/* get_last_lr(): ngroups values (NULL before the first step of ReduceLROnPlateau). */
CKPT_API const double *ckpt_sched_last_lr(const ckpt_sched *s, size_t *n);
CKPT_API int64_t ckpt_sched_last_epoch(const ckpt_sched *s);

/* state_dict() as a new dict node of `doc` (torch 1.13's keys and types). */
CKPT_API ckpt_obj *ckpt_sched_state_dict(const ckpt_sched *s, ckpt_doc *doc, ckpt_error *err);
/* load_state_dict(): a dict update; keys ckpt does not use (newer torch
 * bookkeeping such as _is_initial) are ignored and not saved back. */
CKPT_API int ckpt_sched_load_state_dict(ckpt_sched *s, const ckpt_obj *sd, ckpt_error *err);

/* ------------------------------------------------------------ GradScaler */

/* torch.cuda.amp.GradScaler's state (enabled), CPU arithmetic. */
typedef struct ckpt_grad_scaler {
    float scale;             /* a float32 tensor in torch */
    double growth_factor;    /* 2.0 */
    double backoff_factor;   /* 0.5 */
    int64_t growth_interval; /* 2000 */
    int32_t growth_tracker;  /* an int32 tensor in torch */
    bool enabled;
} ckpt_grad_scaler;

/* init_scale 65536.0, growth 2.0, backoff 0.5, interval 2000, enabled. */
CKPT_API void ckpt_grad_scaler_init(ckpt_grad_scaler *gs);
/* update(): on found_inf multiply scale by backoff_factor and reset the tracker;
 * else count a clean step and after growth_interval of them multiply by
 * growth_factor (kept only if finite) and reset. */
CKPT_API void ckpt_grad_scaler_update(ckpt_grad_scaler *gs, bool found_inf);
/* unscale_: multiply `n` float32 grads by 1/scale (float32 reciprocal, as torch)
 * and return true when any grad is inf or NaN (false, nothing done, for a NULL
 * scaler or a NULL `grads` with n > 0).  NULL `gs` is ignored by init/update. */
CKPT_API bool ckpt_grad_scaler_unscale_f32(const ckpt_grad_scaler *gs, float *grads, size_t n);
/* {scale, growth_factor, backoff_factor, growth_interval, _growth_tracker}; {} if disabled. */
CKPT_API ckpt_obj *ckpt_grad_scaler_state_dict(const ckpt_grad_scaler *gs, ckpt_doc *doc,
                                               ckpt_error *err);
CKPT_API int ckpt_grad_scaler_load_state_dict(ckpt_grad_scaler *gs, const ckpt_obj *sd,
                                              ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif
