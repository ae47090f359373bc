/*
 * src/optim/scaler.c - torch.cuda.amp.GradScaler's state and update rule on
 * the CPU (the arithmetic of torch's _amp_update_scale_ and
 * _amp_foreach_non_finite_check_and_unscale_ kernels).
 */
#include <math.h>
#include <string.h>

#include "core/err.h"
#include "ckpt/sched.h"

void ckpt_grad_scaler_init(ckpt_grad_scaler *gs)
{
    if (!gs)
        return;
    gs->scale = 65536.0f;
    gs->growth_factor = 2.0;
    gs->backoff_factor = 0.5;
    gs->growth_interval = 2000;
    gs->growth_tracker = 0;
    gs->enabled = true;
}

void ckpt_grad_scaler_update(ckpt_grad_scaler *gs, bool found_inf)
{
    if (!gs || !gs->enabled)
        return;
    if (found_inf) {
        gs->scale = (float)((double)gs->scale * gs->backoff_factor);
        gs->growth_tracker = 0;
        return;
    }
    int64_t successful = (int64_t)gs->growth_tracker + 1;
    if (successful == gs->growth_interval) {
        float new_scale = (float)((double)gs->scale * gs->growth_factor);
        if (isfinite(new_scale))
            gs->scale = new_scale;
        gs->growth_tracker = 0;
    } else {
        gs->growth_tracker = (int32_t)successful;
    }
}

bool ckpt_grad_scaler_unscale_f32(const ckpt_grad_scaler *gs, float *grads, size_t n)
{
    if (!gs || (!grads && n))
        return false; /* nothing to unscale (a NULL scaler or buffer) */
    /* torch: self._scale.double().reciprocal().float() */
    float inv = (float)(1.0 / (double)gs->scale);
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(grads[i]))
            found = true;
        grads[i] = grads[i] * inv;
    }
    return found;
}

ckpt_obj *ckpt_grad_scaler_state_dict(const ckpt_grad_scaler *gs, ckpt_doc *doc, ckpt_error *err)
{
    if (!gs || !doc) {
        CKPT_FAIL(err, CKPT_E_ARG, "NULL scaler or document");
        return NULL;
    }
    ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    if (d && gs->enabled) {
        if (ckpt_dict_set_str(doc, d, "scale", ckpt_float_new(doc, (double)gs->scale), err) < 0 ||
            ckpt_dict_set_str(doc, d, "growth_factor", ckpt_float_new(doc, gs->growth_factor),
                              err) < 0 ||
            ckpt_dict_set_str(doc, d, "backoff_factor", ckpt_float_new(doc, gs->backoff_factor),
                              err) < 0 ||
            ckpt_dict_set_str(doc, d, "growth_interval", ckpt_int_new(doc, gs->growth_interval),
                              err) < 0 ||
            ckpt_dict_set_str(doc, d, "_growth_tracker", ckpt_int_new(doc, gs->growth_tracker),
                              err) < 0)
            d = NULL;
    }
    if (!d)
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    return d;
}

int ckpt_grad_scaler_load_state_dict(ckpt_grad_scaler *gs, const ckpt_obj *sd, ckpt_error *err)
{
    if (!gs || !sd || ckpt_obj_type(sd) != CKPT_T_DICT)
        return CKPT_FAIL(err, CKPT_E_ARG, "scaler state dict is not a dict");
    if (!gs->enabled)
        return 0;
    if (ckpt_obj_len(sd) == 0)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "The source state dict is empty, possibly because it was saved from a "
                         "disabled instance of GradScaler.");
    static const char *const keys[] = {"scale", "growth_factor", "backoff_factor",
                                       "growth_interval", "_growth_tracker"};
    double v[5];
    for (int i = 0; i < 5; i++) {
        const ckpt_obj *o = ckpt_dict_get(sd, keys[i]);
        int t = o ? ckpt_obj_type(o) : -1;
        if (t != CKPT_T_FLOAT && t != CKPT_T_INT && t != CKPT_T_BOOL)
            return CKPT_FAIL(err, CKPT_E_FORMAT, "scaler state '%s' is missing or not a number",
                             keys[i]);
        v[i] = ckpt_obj_float(o);
    }
    /* counts must be integers in range: a file may say anything */
    if (!(v[3] >= 1 && v[3] <= 2147483647.0) || !(v[4] >= 0 && v[4] <= 2147483647.0))
        return CKPT_FAIL(err, CKPT_E_FORMAT,
                         "scaler state: growth_interval %g or _growth_tracker %g out of range",
                         v[3], v[4]);
    gs->scale = (float)v[0];
    gs->growth_factor = v[1];
    gs->backoff_factor = v[2];
    gs->growth_interval = (int64_t)v[3];
    gs->growth_tracker = (int32_t)v[4];
    return 0;
}
