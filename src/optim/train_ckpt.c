/*
 * src/optim/train_ckpt.c - training checkpoints {epoch, model, optimizer,
 * scheduler, scaler, extras} in a torch user's layout (ckpt/train.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/train.h"
#include "core/err.h"
#include "optim/sched_internal.h"

static const char *key_or(const char *k, const char *dflt)
{
    return k ? k : dflt;
}

static int put(ckpt_doc *doc, ckpt_obj *d, const char *key, ckpt_obj *v, ckpt_error *err)
{
    if (!v)
        return err->code ? err->code : CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    int rc = ckpt_dict_set_str(doc, d, key, v, err);
    if (rc < 0)
        ckpt__error_prefix_key(err, key);
    return rc;
}

ckpt_obj *ckpt_train_state_dict(const ckpt_train_state *st, const ckpt_obj *extras, ckpt_doc *doc,
                                ckpt_error *err)
{
    if (!st || !doc) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_train_state_dict: NULL state or document");
        return NULL;
    }
    if (extras && ckpt_obj_type(extras) != CKPT_T_DICT) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_train_state_dict: extras must be a dict, not a %s",
                  ckpt_type_name(ckpt_obj_type(extras)));
        return NULL;
    }
    CKPT__ERR_LOCAL(err);
    const char *keys[5] = {key_or(st->epoch_key, "epoch"), key_or(st->model_key, "model"),
                           key_or(st->optim_key, "optimizer"), key_or(st->sched_key, "scheduler"),
                           key_or(st->scaler_key, "scaler")};
    for (size_t i = 0; extras && i < ckpt_obj_len(extras); i++) {
        const ckpt_obj *k = ckpt_dict_key(extras, i);
        const char *ks = ckpt_obj_type(k) == CKPT_T_STR ? ckpt_obj_str(k, NULL) : NULL;
        for (int j = 0; ks && j < 5; j++)
            if (strcmp(ks, keys[j]) == 0) {
                CKPT_FAIL(err, CKPT_E_ARG,
                          "extra '%s' has the key of a checkpoint piece; rename it", ks);
                return NULL;
            }
    }
    ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    int rc = d ? 0 : CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    if (rc == 0 && !st->no_epoch)
        rc = put(doc, d, keys[0], ckpt_int_new(doc, st->epoch), err);
    if (rc == 0 && st->model)
        rc = put(doc, d, keys[1], ckpt_module_state_dict(st->model, doc, NULL, err), err);
    if (rc == 0 && st->optim)
        rc = put(doc, d, keys[2], ckpt_optim_state_dict(st->optim, doc, err), err);
    if (rc == 0 && st->sched)
        rc = put(doc, d, keys[3], ckpt_sched_state_dict(st->sched, doc, err), err);
    if (rc == 0 && st->scaler)
        rc = put(doc, d, keys[4], ckpt_grad_scaler_state_dict(st->scaler, doc, err), err);
    for (size_t i = 0; rc == 0 && extras && i < ckpt_obj_len(extras); i++) {
        ckpt_obj *k = ckpt_obj_copy(doc, ckpt_dict_key(extras, i), err);
        ckpt_obj *v = k ? ckpt_obj_copy(doc, ckpt_dict_value(extras, i), err) : NULL;
        rc = v ? ckpt_dict_set(doc, d, k, v, err) : (err->code ? err->code : CKPT_E_NOMEM);
        if (rc < 0) {
            const ckpt_obj *ko = ckpt_dict_key(extras, i);
            if (ckpt_obj_type(ko) == CKPT_T_STR)
                ckpt__error_prefix_key(err, ckpt_obj_str(ko, NULL));
        }
    }
    return rc == 0 ? d : NULL;
}

int ckpt_train_save(const char *path, const ckpt_train_state *st, const ckpt_obj *extras,
                    const ckpt_save_opts *opts, ckpt_error *err)
{
    if (!path || !st)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_train_save: NULL path or state");
    CKPT__ERR_LOCAL(err);
    ckpt_doc *doc = ckpt_doc_new(NULL, err);
    if (!doc)
        return err->code;
    const ckpt_obj *root = ckpt_train_state_dict(st, extras, doc, err);
    int rc = root ? ckpt_save(path, root, opts, err) : err->code;
    if (rc < 0 && !err->file[0])
        snprintf(err->file, sizeof err->file, "%s", path);
    ckpt_doc_free(doc);
    return rc < 0 ? rc : 0;
}

/* the dict under `key`, or an error naming it */
static int need_dict(const ckpt_obj *root, const char *key, const ckpt_obj **out, ckpt_error *err)
{
    const ckpt_obj *v = ckpt_dict_get(root, key);
    if (!v) {
        CKPT_FAIL(err, CKPT_E_NOT_FOUND, "the checkpoint has no '%s'", key);
        ckpt__error_prefix_key(err, key);
        return CKPT_E_NOT_FOUND;
    }
    if (ckpt_obj_type(v) != CKPT_T_DICT) {
        CKPT_FAIL(err, CKPT_E_FORMAT, "checkpoint '%s' is a %s, not a state dict", key,
                  ckpt_type_name(ckpt_obj_type(v)));
        ckpt__error_prefix_key(err, key);
        return CKPT_E_FORMAT;
    }
    *out = v;
    return 0;
}

int ckpt_train_load_state_dict(ckpt_train_state *st, const ckpt_obj *ckpt,
                               const ckpt_load_state_dict_opts *model_opts, ckpt_error *err)
{
    if (!st || !ckpt)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_train_load_state_dict: NULL state or checkpoint");
    if (ckpt_obj_type(ckpt) != CKPT_T_DICT)
        return CKPT_FAIL(err, CKPT_E_FORMAT, "the checkpoint is a %s, not a dict",
                         ckpt_type_name(ckpt_obj_type(ckpt)));
    CKPT__ERR_LOCAL(err);
    const char *ek = key_or(st->epoch_key, "epoch"), *mk = key_or(st->model_key, "model"),
               *ok = key_or(st->optim_key, "optimizer"), *sk = key_or(st->sched_key, "scheduler"),
               *gk = key_or(st->scaler_key, "scaler");
    const ckpt_obj *msd = NULL, *osd = NULL, *ssd = NULL, *gsd = NULL;
    if (st->model)
        CKPT_TRY(need_dict(ckpt, mk, &msd, err));
    if (st->optim)
        CKPT_TRY(need_dict(ckpt, ok, &osd, err));
    if (st->sched)
        CKPT_TRY(need_dict(ckpt, sk, &ssd, err));
    if (st->scaler)
        CKPT_TRY(need_dict(ckpt, gk, &gsd, err));
    const ckpt_obj *ep = ckpt_dict_get(ckpt, ek);
    if (ep && ckpt_obj_type(ep) != CKPT_T_INT) {
        CKPT_FAIL(err, CKPT_E_FORMAT, "checkpoint '%s' is a %s, not an int", ek,
                  ckpt_type_name(ckpt_obj_type(ep)));
        ckpt__error_prefix_key(err, ek);
        return CKPT_E_FORMAT;
    }
    int rc = 0;
    if (msd) {
        ckpt_load_state_dict_opts mo;
        memset(&mo, 0, sizeof mo);
        if (model_opts)
            mo = *model_opts;
        mo.sub_key = NULL;
        rc = ckpt_module_load_state_dict(st->model, msd, &mo, NULL, err);
        if (rc < 0) {
            ckpt__error_prefix_key(err, mk);
            return rc;
        }
    }
    if (osd && (rc = ckpt_optim_load_state_dict(st->optim, osd, err)) < 0) {
        ckpt__error_prefix_key(err, ok);
        return rc;
    }
    if (ssd) {
        rc = ckpt_sched_load_state_dict(st->sched, ssd, err);
        if (rc < 0) {
            ckpt__error_prefix_key(err, sk);
            return rc;
        }
        ckpt_sched *s = st->sched;
        if (!s->optim && st->optim && s->t && s->t->groups &&
            s->t->ngroups == ckpt_optim_group_count(st->optim)) {
            rc = ckpt_lr_target_from_optim(s->t, s->t->groups, s->t->ngroups, st->optim, err);
            if (rc < 0)
                return rc;
        }
    }
    if (gsd && (rc = ckpt_grad_scaler_load_state_dict(st->scaler, gsd, err)) < 0) {
        ckpt__error_prefix_key(err, gk);
        return rc;
    }
    if (ep) {
        st->epoch = ckpt_obj_int(ep);
        st->no_epoch = false;
    } else {
        st->no_epoch = true;
    }
    return 0;
}

int ckpt_train_load(const char *path, ckpt_train_state *st,
                    const ckpt_load_state_dict_opts *model_opts, ckpt_doc **doc_out,
                    ckpt_error *err)
{
    if (doc_out)
        *doc_out = NULL;
    if (!path || !st)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_train_load: NULL path or state");
    CKPT__ERR_LOCAL(err);
    ckpt_doc *doc = ckpt_load(path, NULL, err);
    if (!doc)
        return err->code;
    int rc = ckpt_train_load_state_dict(st, ckpt_doc_root(doc), model_opts, err);
    if (rc < 0 && !err->file[0])
        snprintf(err->file, sizeof err->file, "%s", path);
    if (rc == 0 && doc_out)
        *doc_out = doc;
    else
        ckpt_doc_free(doc);
    return rc;
}
