/*
 * ckpt/train.h - training checkpoints in one call: save and restore
 * {epoch, model, optimizer, scheduler, scaler} plus user extras, in the
 * layout a torch user's
 *
 *     torch.save({'epoch': epoch, 'model': model.state_dict(),
 *                 'optimizer': optimizer.state_dict(),
 *                 'scheduler': scheduler.state_dict(),
 *                 'scaler': scaler.state_dict(), **extras}, path)
 *
 * writes, so either side resumes the other's file (model.load_state_dict
 * strict, optimizer/scheduler/scaler.load_state_dict).  Any piece may be
 * absent (NULL): it is neither written nor read.  Key names can be changed
 * (the PyTorch tutorial's "model_state_dict"/"optimizer_state_dict").
 *
 * Thread-safety: as the objects it saves and restores.  Added in 0.3.
 */
#ifndef CKPT_TRAIN_H
#define CKPT_TRAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/core.h"
#include "ckpt/error.h"
#include "ckpt/export.h"
#include "ckpt/nn.h"
#include "ckpt/optim.h"
#include "ckpt/sched.h"
#include "ckpt/torch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What a training checkpoint holds; every object is borrowed.  The zero value
 * (plus the pieces you have) is the common case. */
typedef struct ckpt_train_state {
    int64_t epoch;            /* "epoch" (a Python int) */
    bool no_epoch;            /* save: write no epoch.  load: set when the file has none
                                 (epoch then left alone) */
    ckpt_module *model;       /* "model": model.state_dict(); NULL = absent */
    ckpt_optim *optim;        /* "optimizer": optimizer.state_dict() */
    ckpt_sched *sched;        /* "scheduler": scheduler.state_dict() */
    ckpt_grad_scaler *scaler; /* "scaler": GradScaler.state_dict() */
    /* key names; NULL = "epoch", "model", "optimizer", "scheduler", "scaler" */
    const char *epoch_key, *model_key, *optim_key, *sched_key, *scaler_key;
} ckpt_train_state;

/*
 * The checkpoint dict as a new node of `doc`: the pieces of `st` in the order
 * epoch, model, optimizer, scheduler, scaler, then the items of `extras` (a
 * dict of any document, or NULL) deep-copied in their order: None, bool,
 * int, float, complex, str, bytes, tensors (copied contiguous) and tuples,
 * lists and dicts of them; anything else is CKPT_E_UNSUPPORTED naming the key.
 * An extra whose key is one of the pieces' is CKPT_E_ARG.  The model's
 * tensors borrow its memory: save before changing or freeing the model.
 * Returns the dict (owned by `doc`) or NULL.
 */
CKPT_API ckpt_obj *ckpt_train_state_dict(const ckpt_train_state *st, const ckpt_obj *extras,
                                         ckpt_doc *doc, ckpt_error *err);
/* ckpt_train_state_dict saved to `path` with ckpt_save (`opts` NULL = its
 * defaults; CKPT_LAYOUT_TORCH13 for torch 1.13's exact records). */
CKPT_API int ckpt_train_save(const char *path, const ckpt_train_state *st, const ckpt_obj *extras,
                             const ckpt_save_opts *opts, ckpt_error *err);
/*
 * Restore from a checkpoint dict.  First, before anything changes: `ckpt` is
 * a dict, every non-NULL piece of `st` has its key there holding a dict, and
 * "epoch", when present, is an int (CKPT_E_NOT_FOUND / CKPT_E_FORMAT naming
 * the key).  Then, in this order: model (ckpt_module_load_state_dict with
 * `model_opts`, NULL = strict; its sub_key is ignored), optimizer (all or
 * nothing: another optimizer's state, group or shape mismatches are refused
 * before it changes), scheduler, scaler, epoch.  A failing piece stops the
 * restore (the pieces before it are restored) and err->key starts with its
 * key ("optimizer.state.3.exp_avg").  A scheduler attached to the optimizer
 * (ckpt_sched_new_for_optim) needs nothing more; one built with
 * ckpt_sched_new on a target whose group count matches the optimizer's gets
 * its target refreshed from the loaded optimizer (ckpt_lr_target_from_optim).
 */
CKPT_API int ckpt_train_load_state_dict(ckpt_train_state *st, const ckpt_obj *ckpt,
                                        const ckpt_load_state_dict_opts *model_opts,
                                        ckpt_error *err);
/*
 * ckpt_load(path) (weights-only) then ckpt_train_load_state_dict.  A torch
 * 1.13 OneCycleLR state dict pickles a bound method, which weights-only
 * refuses (CKPT_E_UNSAFE): load such a file with ckpt_load and
 * `unsafe_full` (nothing is executed; the method is kept as an inert node
 * ckpt_sched_load_state_dict understands) and call
 * ckpt_train_load_state_dict.  `doc_out`
 * (may be NULL) receives the loaded document so the extras can be read
 * (ckpt_dict_get(ckpt_doc_root(*doc_out), "best_acc")); free it with
 * ckpt_doc_free.  On failure *doc_out is NULL.
 */
CKPT_API int ckpt_train_load(const char *path, ckpt_train_state *st,
                             const ckpt_load_state_dict_opts *model_opts, ckpt_doc **doc_out,
                             ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif
