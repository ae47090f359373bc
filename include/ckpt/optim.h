/*
 * ckpt/optim.h - torch.optim in C: SGD, Adam, AdamW, RMSprop and Adagrad with
 * torch 1.13's update rules, float32 arithmetic in torch's order, and
 * state_dict / load_state_dict in torch's exact layout (so torch.save of
 * torch's optimizer state and ckpt_save of ours are byte-identical).
 *
 * An optimizer holds parameter groups.  Each group is a list of ckpt_slot
 * pointers (float32 parameters of a ckpt_module tree, which must outlive the
 * optimizer) plus its hyperparameters, kept as Python values (int, float,
 * bool, None, 2-tuple) in the group dict's insertion order, exactly as torch
 * builds `param_groups`: keys the caller gave for the group first, then the
 * optimizer defaults not given, in torch's declaration order, then keys
 * added later (ckpt_optim_group_set_extra, e.g. `initial_lr`).
 *
 * Hyperparameters are written as Python keyword arguments, and their Python
 * type is kept: "lr=0.1, momentum=0.9, nesterov=True", "betas=(0.9, 0.99)".
 * "momentum=0" is the int 0 (as torch's default), "momentum=0.0" a float;
 * the difference shows in the pickled state dict.
 *
 * Keys per optimizer (1.13 declaration order):
 *   SGD      lr (required), momentum=0, dampening=0, weight_decay=0, nesterov=False,
 *            maximize=False, foreach=None, differentiable=False
 *   Adam     lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0, amsgrad=False,
 *            maximize=False, foreach=None, capturable=False, differentiable=False,
 *            fused=False
 *   AdamW    lr=0.001, betas=(0.9, 0.999), eps=1e-08, weight_decay=0.01, amsgrad=False,
 *            foreach=None, maximize=False, capturable=False
 *   RMSprop  lr=0.01, momentum=0, alpha=0.99, eps=1e-08, centered=False, weight_decay=0,
 *            foreach=None, maximize=False, differentiable=False
 *   Adagrad  lr=0.01, lr_decay=0, eps=1e-10, weight_decay=0, initial_accumulator_value=0,
 *            foreach=None, maximize=False
 * foreach/capturable/differentiable/fused are recorded for the state dict
 * only: step() always runs torch's single-tensor CPU path.
 *
 * Per-parameter state (created at the first step() in which the parameter has
 * a gradient; Adagrad: when its group is added, as torch's constructor does):
 *   SGD      momentum_buffer (tensor; None when momentum == 0, as 1.13 stores)
 *   Adam(W)  step (0-d float32 tensor), exp_avg, exp_avg_sq[, max_exp_avg_sq]
 *   RMSprop  step (Python int), square_avg[, momentum_buffer][, grad_avg]
 *   Adagrad  step (0-d float32 tensor), sum
 *
 * Gradients: a slot's `grad` (float32, numel of the parameter), a block of
 * the module tree's allocator (slot->alloc: nbytes bytes; NULL = malloc'd,
 * freed with free()), allocated by backward, freed by the module and by
 * ckpt_optim_zero_grad(set_to_none); NULL means "no gradient" (torch's grad
 * None), and such parameters are skipped by step().
 *
 * Thread-safety: an optimizer belongs to one thread at a time.  Added in 0.2.
 */
#ifndef CKPT_OPTIM_H
#define CKPT_OPTIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/alloc.h"
#include "ckpt/core.h"
#include "ckpt/error.h"
#include "ckpt/export.h"
#include "ckpt/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Optimizer algorithms. */
typedef enum ckpt_optim_kind {
    CKPT_OPTIM_SGD = 1,
    CKPT_OPTIM_ADAM = 2,
    CKPT_OPTIM_ADAMW = 3,
    CKPT_OPTIM_RMSPROP = 4,
    CKPT_OPTIM_ADAGRAD = 5
} ckpt_optim_kind;

typedef struct ckpt_optim ckpt_optim;

/*
 * New optimizer of `kind` with no groups.  `defaults`: keyword arguments that
 * replace the optimizer's defaults ("lr=0.1, momentum=0.9"; NULL or "" = none).
 * Unknown keys, wrong types and values torch rejects (negative lr, nesterov
 * without momentum, betas outside [0, 1)) are CKPT_E_ARG.  Free with
 * ckpt_optim_free.
 */
CKPT_API ckpt_optim *ckpt_optim_new(ckpt_optim_kind kind, const char *defaults, ckpt_error *err);
/* Free the optimizer and its state (not the parameters).  NULL is fine. */
CKPT_API void ckpt_optim_free(ckpt_optim *o);
/* The kind it was made with (0 for NULL). */
CKPT_API ckpt_optim_kind ckpt_optim_kind_of(const ckpt_optim *o);

/*
 * add_param_group: a group over `n` float32 parameter slots (borrowed: they
 * must outlive the optimizer) with per-group keyword overrides (`group`, as in
 * ckpt_optim_new; NULL = none).  A slot already in the optimizer is
 * CKPT_E_ARG ("some parameters appear in more than one parameter group").
 * SGD without an lr anywhere is CKPT_E_ARG.  Returns 0 or < 0.
 */
CKPT_API int ckpt_optim_add_group(ckpt_optim *o, ckpt_slot *const *params, size_t n,
                                  const char *group, ckpt_error *err);
/* Same, with every parameter of `m` in named_parameters() order. */
CKPT_API int ckpt_optim_add_module(ckpt_optim *o, ckpt_module *m, const char *group,
                                   ckpt_error *err);

/* ------------------------------------------------------ typed options */

/*
 * An explicit zero for an option whose torch default is not zero
 * (`.weight_decay = CKPT_OPTIM_ZERO` for AdamW without weight decay,
 * `.betas = {CKPT_OPTIM_ZERO, 0.99}`): a negative zero, stored as the Python
 * float 0.0.  A plain 0 always means "the default".
 */
#define CKPT_OPTIM_ZERO (-0.0)

/*
 * Hyperparameters as a struct.  The zero value of every field means torch's
 * default for the optimizer (in ckpt_optim_new_opts / _new_for_module), or
 * the optimizer's default (in a parameter group: the key is not given for
 * the group, torch's `param_group.setdefault`).  Numbers given are Python
 * floats in the state dict, flags Python bools; keys not given keep torch's
 * default value and type (an int 0 stays an int).  A non-zero field the
 * optimizer does not have (nesterov for Adam) is CKPT_E_ARG, as torch's
 * "unexpected keyword argument".  foreach/capturable/differentiable/fused
 * always keep torch's defaults (None/False).
 *
 *   field                      SGD     Adam          AdamW         RMSprop  Adagrad
 *   lr                         1e-3*   1e-3          1e-3          1e-2     1e-2
 *   momentum                   0       -             -             0        -
 *   dampening                  0       -             -             -        -
 *   weight_decay               0       0             1e-2          0        0
 *   nesterov                   False   -             -             -        -
 *   betas[2]                   -       (0.9, 0.999)  (0.9, 0.999)  -        -
 *   eps                        -       1e-8          1e-8          1e-8     1e-10
 *   amsgrad                    -       False         False         -        -
 *   alpha                      -       -             -             0.99     -
 *   centered                   -       -             -             False    -
 *   lr_decay                   -       -             -             -        0
 *   initial_accumulator_value  -       -             -             -        0
 *   maximize                   False   False         False         False    False
 *
 * (*) torch 1.13's SGD has no default lr (it is required); ckpt uses torch
 * 2.x's default 1e-3 here, which gives the same state dict as torch 1.13's
 * SGD(params, lr=1e-3).  The string constructor ckpt_optim_new keeps 1.13's
 * rule (SGD without an lr is CKPT_E_ARG).
 */
typedef struct ckpt_optim_opts {
    double lr;
    double momentum;
    double dampening;
    double weight_decay;
    bool nesterov;
    double betas[2];
    double eps;
    bool amsgrad;
    double alpha;
    bool centered;
    double lr_decay;
    double initial_accumulator_value;
    bool maximize;
    /* constructor only (ignored in a group's options): every allocation the
     * optimizer makes (groups, per-parameter state, state_dict scratch) goes
     * through it; it must outlive the optimizer's use (copied).  NULL = libc.
     * Gradients (ckpt_slot.grad) belong to the module, not to this allocator. */
    const ckpt_alloc *alloc;
} ckpt_optim_opts;

/* New optimizer with no groups; `defaults` NULL = torch's defaults.  Checks as
 * ckpt_optim_new (CKPT_E_ARG for an unknown kind, a negative value, betas
 * outside [0, 1), nesterov without momentum, an option the kind lacks). */
CKPT_API ckpt_optim *ckpt_optim_new_opts(ckpt_optim_kind kind, const ckpt_optim_opts *defaults,
                                         ckpt_error *err);
/* torch.optim.X(model.parameters(), **opts): an optimizer whose one group
 * holds every parameter of `m` in named_parameters() order (`m` must outlive
 * it).  NULL `opts` = torch's defaults.  A module without parameters is
 * CKPT_E_ARG ("optimizer got an empty parameter list", as torch). */
CKPT_API ckpt_optim *ckpt_optim_new_for_module(ckpt_optim_kind kind, ckpt_module *m,
                                               const ckpt_optim_opts *opts, ckpt_error *err);
/* add_param_group({'params': params, **group}) with typed options (NULL =
 * the optimizer's defaults for every key).  Errors as ckpt_optim_add_group. */
CKPT_API int ckpt_optim_add_params(ckpt_optim *o, ckpt_slot *const *params, size_t n,
                                   const ckpt_optim_opts *group, ckpt_error *err);
/*
 * A group of named parameters of `root`: each of `names` is a parameter's
 * dotted key ("fc.bias") or a sub-module ("encoder", "" = `root`: all its
 * parameters, named_parameters() order); the group lists them in the order
 * named.  A name that is neither is CKPT_E_NOT_FOUND naming it; a parameter
 * already in a group is CKPT_E_ARG naming it.  `names` NULL (or n == 0):
 * every parameter of `root` that is in no group yet ("the rest").
 */
CKPT_API int ckpt_optim_add_named_group(ckpt_optim *o, ckpt_module *root,
                                        const char *const *names, size_t n,
                                        const ckpt_optim_opts *group, ckpt_error *err);
/* Decides membership of a parameter by its full key ("layer1.0.bias"). */
typedef bool (*ckpt_param_filter_fn)(void *ctx, const char *key, const ckpt_slot *s);
/* A group of every parameter of `root` (named_parameters() order) that is in
 * no group yet and for which `keep` returns true (`keep` NULL = all): e.g.
 * "no weight decay for biases", then the rest. */
CKPT_API int ckpt_optim_add_group_where(ckpt_optim *o, ckpt_module *root,
                                        ckpt_param_filter_fn keep, void *ctx,
                                        const ckpt_optim_opts *group, ckpt_error *err);

/* One optimization step over every parameter with a gradient.  Returns 0 or < 0
 * (CKPT_E_NOMEM creating state). */
CKPT_API int ckpt_optim_step(ckpt_optim *o, ckpt_error *err);
/* zero_grad: zero every parameter's gradient, or free it and set it to NULL
 * (`set_to_none`; torch 1.13's default is false). */
CKPT_API void ckpt_optim_zero_grad(ckpt_optim *o, bool set_to_none);

/* ------------------------------------------------------ hyperparameters */

/* Number of parameter groups. */
CKPT_API size_t ckpt_optim_group_count(const ckpt_optim *o);
/* Number of parameters in group `g` (0 if out of range). */
CKPT_API size_t ckpt_optim_group_size(const ckpt_optim *o, size_t g);
/*
 * Numeric hyperparameter `key` of group `g` into *out: int, float and bool
 * values ("lr", "momentum", "initial_lr", "nesterov" -> 0/1).  The items of a
 * tuple are "<key>0", "<key>1" ("betas0", "betas1").  Returns 0, or
 * CKPT_E_NOT_FOUND (no such key, or a None value) / CKPT_E_ARG (bad `g`).
 */
CKPT_API int ckpt_optim_group_get(const ckpt_optim *o, size_t g, const char *key, double *out);
/*
 * Set an existing numeric hyperparameter (as above, "betas0" for a tuple item)
 * to the Python float `v`, as `group[key] = v` does (the key keeps its
 * position; a tuple is replaced by a new one).  CKPT_E_NOT_FOUND if absent,
 * CKPT_E_ARG for a bad `g` or NULL key; recorded in `err`.
 */
CKPT_API int ckpt_optim_group_set(ckpt_optim *o, size_t g, const char *key, double v,
                                  ckpt_error *err);
/*
 * Set `key` to the float `v`, appending it after the existing keys when it is
 * new (`group.setdefault`/`group[key] = v` for keys torch adds later, such as
 * the schedulers' "initial_lr").  Returns 0 or < 0: CKPT_E_ARG (bad `g`,
 * NULL key or one of 48+ bytes), CKPT_E_NOMEM; recorded in `err`.
 */
CKPT_API int ckpt_optim_group_set_extra(ckpt_optim *o, size_t g, const char *key, double v,
                                        ckpt_error *err);
/* True when group `g` has `key` (tuple items as "betas0"). */
CKPT_API bool ckpt_optim_group_has(const ckpt_optim *o, size_t g, const char *key);

/* --------------------------------------------------------------- state */

/*
 * Per-parameter state tensor `key` ("exp_avg", "step", ...) of the parameter
 * with state-dict index `index` (counting across groups), or NULL when absent
 * (or not a tensor).  *dtype and *numel (either may be NULL) describe it.
 * Borrowed; valid until the next step/load/free.
 */
CKPT_API const void *ckpt_optim_state_data(const ckpt_optim *o, size_t index, const char *key,
                                           int *dtype, int64_t *numel);

/*
 * state_dict(): {'state': {index: {...}}, 'param_groups': [{..., 'params': [...]}]}
 * built in `doc` (tensors are copies) in torch 1.13's layout and Python types;
 * returns the root dict (owned by `doc`) or NULL.  Save it with ckpt_save
 * (CKPT_LAYOUT_TORCH13 for 1.13-identical bytes) or nest it in a checkpoint.
 */
CKPT_API ckpt_obj *ckpt_optim_state_dict(const ckpt_optim *o, ckpt_doc *doc, ckpt_error *err);
/*
 * load_state_dict(sd) as torch does: same number of groups and group sizes
 * (CKPT_E_SHAPE with torch's messages and the counts; err->key
 * "param_groups" / "param_groups.<g>.params"), groups matched by position,
 * saved hyperparameters replace the current ones ('params' kept), state
 * copied and floating tensors cast to the parameter's dtype ('step' left
 * alone).  Stricter than torch, before anything changes: the state dict must
 * be this optimizer's (every group has the keys its constructor always
 * writes, every per-parameter state key is one it keeps: AdamW's state into
 * SGD is CKPT_E_ARG with err->key "param_groups.0.momentum" or
 * "state.3.exp_avg"; Adam and AdamW load into each other, as in torch), and
 * each state tensor has its parameter's shape (CKPT_E_SHAPE, err->key
 * "state.<i>.<name>").  On failure the optimizer is unchanged.  Returns 0 or < 0.
 */
CKPT_API int ckpt_optim_load_state_dict(ckpt_optim *o, const ckpt_obj *sd, ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif
