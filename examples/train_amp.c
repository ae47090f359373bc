/* examples/train_amp.c - mixed-precision MLP training with a GradScaler
 * (see train_amp.h). */
#include "train_amp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ckpt/kernels.h>

static int amp_fail(ckpt_error *err, int code, const char *msg)
{
    if (err) {
        ckpt_error_clear(err);
        err->code = code;
        snprintf(err->msg, sizeof err->msg, "%s", msg);
    }
    return code;
}

void amp_round(float *x, size_t n, int dtype)
{
    if (dtype == CKPT_F32)
        return;
    uint16_t tmp[256];
    for (size_t i = 0; i < n; i += 256) {
        size_t k = n - i < 256 ? n - i : 256;
        ckpt_convert_elements(tmp, dtype, x + i, CKPT_F32, k);
        ckpt_convert_elements(x + i, CKPT_F32, tmp, dtype, k);
    }
}

/* dst = src rounded to `dtype`. */
static void round_copy(float *dst, const float *src, size_t n, int dtype)
{
    memcpy(dst, src, n * sizeof *dst);
    amp_round(dst, n, dtype);
}

int amp_run_new(amp_run *r, const amp_cfg *c, ckpt_error *err)
{
    memset(r, 0, sizeof *r);
    if (c->dtype != CKPT_F16 && c->dtype != CKPT_BF16 && c->dtype != CKPT_F32)
        return amp_fail(err, CKPT_E_ARG, "dtype is not float16, bfloat16 or float32");
    r->dtype = c->dtype;
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 7);
    r->model = ckpt_nn_sequential(NULL, NULL, err);
    if (!r->model || !ckpt_nn_linear(r->model, "0", AMP_IN, AMP_HID, NULL, &rng, err) ||
        !ckpt_nn_activation(r->model, "1", CKPT_ACT_RELU, 0, err) ||
        !ckpt_nn_linear(r->model, "2", AMP_HID, AMP_OUT, NULL, &rng, err))
        goto fail;
    r->w1 = ckpt_module_slot(r->model, "0.weight");
    r->b1 = ckpt_module_slot(r->model, "0.bias");
    r->w2 = ckpt_module_slot(r->model, "2.weight");
    r->b2 = ckpt_module_slot(r->model, "2.bias");
    /* the gradients are this program's (the kernels write them), lent to the
     * slots so the optimizer finds them; taken back in amp_run_free */
    ckpt_slot *ps[4] = {r->w1, r->b1, r->w2, r->b2};
    size_t total = 0;
    for (int i = 0; i < 4; i++)
        total += ps[i]->nbytes / sizeof(float);
    if (!(r->grads = calloc(total, sizeof(float)))) {
        amp_fail(err, CKPT_E_NOMEM, "out of memory");
        goto fail;
    }
    for (int i = 0, off = 0; i < 4; off += (int)(ps[i]->nbytes / sizeof(float)), i++)
        ps[i]->grad = r->grads + off;
    bool sgd = strcmp(c->opt, "sgd") == 0;
    if (sgd)
        r->opt = ckpt_optim_new_for_module(CKPT_OPTIM_SGD, r->model,
                                           &(ckpt_optim_opts){.lr = 0.05, .momentum = 0.9}, err);
    else if (strcmp(c->opt, "adam") == 0)
        r->opt = ckpt_optim_new_for_module(CKPT_OPTIM_ADAM, r->model,
                                           &(ckpt_optim_opts){.lr = 0.001}, err);
    else
        amp_fail(err, CKPT_E_ARG, "optimizer is not sgd or adam");
    if (!r->opt)
        goto fail;
    if (strcmp(c->sched, "none") != 0) {
        ckpt_sched_config sc;
        double max_lr = sgd ? 0.1 : 0.01;
        if (strcmp(c->sched, "onecycle") == 0) {
            ckpt_sched_config_init(&sc, CKPT_SCHED_ONE_CYCLE);
            sc.max_lr = &max_lr;
            sc.total_steps = c->total_steps;
        } else if (strcmp(c->sched, "step") == 0) {
            ckpt_sched_config_init(&sc, CKPT_SCHED_STEP);
            sc.step_size = 10;
            sc.gamma = 0.5;
        } else {
            amp_fail(err, CKPT_E_ARG, "scheduler is not none, step or onecycle");
            goto fail;
        }
        r->sched = ckpt_sched_new_for_optim(r->opt, &sc, err);
        if (!r->sched)
            goto fail;
    }
    ckpt_grad_scaler_init(&r->scaler);
    r->scaler.scale = c->init_scale;
    r->scaler.growth_interval = c->growth_interval;
    return 0;
fail:
    amp_run_free(r);
    return err && err->code ? err->code : CKPT_E_ARG;
}

void amp_run_free(amp_run *r)
{
    ckpt_slot *ps[4] = {r->w1, r->b1, r->w2, r->b2};
    for (int i = 0; i < 4; i++)
        if (ps[i])
            ps[i]->grad = NULL; /* ours, not the module's */
    free(r->grads);
    ckpt_sched_free(r->sched);
    ckpt_optim_free(r->opt);
    ckpt_module_free(r->model);
    memset(r, 0, sizeof *r);
}

int64_t amp_run_load(amp_run *r, const char *path, ckpt_error *err)
{
    ckpt_doc *doc = ckpt_load(path, NULL, err);
    if (!doc)
        return err->code ? err->code : CKPT_E_IO;
    const ckpt_obj *root = ckpt_doc_root(doc);
    const ckpt_obj *ep = ckpt_dict_get(root, "epoch");
    int64_t rc = 0;
    if (!ep || ckpt_obj_type(ep) != CKPT_T_INT)
        rc = amp_fail(err, CKPT_E_FORMAT, "checkpoint has no int 'epoch'");
    if (rc == 0)
        rc = ckpt_module_load_state_dict(r->model, ckpt_dict_get(root, "model"), NULL, NULL, err);
    if (rc == 0)
        rc = ckpt_optim_load_state_dict(r->opt, ckpt_dict_get(root, "optimizer"), err);
    if (rc == 0 && r->sched)
        rc = ckpt_sched_load_state_dict(r->sched, ckpt_dict_get(root, "scheduler"), err);
    if (rc == 0)
        rc = ckpt_grad_scaler_load_state_dict(&r->scaler, ckpt_dict_get(root, "scaler"), err);
    if (rc == 0)
        rc = ckpt_obj_int(ep);
    ckpt_doc_free(doc);
    return rc;
}

int amp_run_save(const amp_run *r, int64_t epoch, const char *path, void **mem, size_t *len,
                 ckpt_error *err)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, err);
    if (!doc)
        return err->code ? err->code : CKPT_E_NOMEM;
    int rc = -1;
    ckpt_obj *ck = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *sched = r->sched ? ckpt_sched_state_dict(r->sched, doc, err)
                               : ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    if (ck && sched && ckpt_dict_set_str(doc, ck, "epoch", ckpt_int_new(doc, epoch), err) == 0 &&
        ckpt_dict_set_str(doc, ck, "model", ckpt_module_state_dict(r->model, doc, NULL, err),
                          err) == 0 &&
        ckpt_dict_set_str(doc, ck, "optimizer", ckpt_optim_state_dict(r->opt, doc, err), err) ==
            0 &&
        ckpt_dict_set_str(doc, ck, "scheduler", sched, err) == 0 &&
        ckpt_dict_set_str(doc, ck, "scaler", ckpt_grad_scaler_state_dict(&r->scaler, doc, err),
                          err) == 0) {
        ckpt_save_opts so = {.layout = CKPT_LAYOUT_TORCH13, .archive = "archive"};
        rc = path ? ckpt_save(path, ck, &so, err) : ckpt_save_mem(ck, &so, mem, len, err);
    } else if (!err->code) {
        amp_fail(err, CKPT_E_NOMEM, "out of memory");
    }
    ckpt_doc_free(doc);
    return rc < 0 ? (err->code ? err->code : rc) : 0;
}

static bool any_nonfinite(const float *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i]))
            return true;
    return false;
}

int amp_run_step(amp_run *r, const float *x, const int64_t *y, amp_step_info *info,
                 ckpt_error *err)
{
    enum { B = AMP_B, I = AMP_IN, H = AMP_HID, O = AMP_OUT };
    const int dt = r->dtype;
    float xr[B * I], w1r[H * I], b1r[H], w2r[O * H], b2r[O];
    float h[B * H], logits[B * O], dlogits[B * O], dh[B * H];
    /* forward: Linear in the reduced dtype (autocast casts input, weight, bias),
     * ReLU on reduced values, float32 loss on the upcast logits */
    round_copy(xr, x, B * I, dt);
    round_copy(w1r, r->w1->data, H * I, dt);
    round_copy(b1r, r->b1->data, H, dt);
    round_copy(w2r, r->w2->data, O * H, dt);
    round_copy(b2r, r->b2->data, O, dt);
    ckpt_nn_linear_forward(h, xr, w1r, b1r, B, I, H);
    amp_round(h, B * H, dt);
    ckpt_nn_relu_forward(h, h, B * H); /* h now holds relu(h) (exact in any dtype) */
    ckpt_nn_linear_forward(logits, h, w2r, b2r, B, H, O);
    amp_round(logits, B * O, dt);
    float loss;
    int rc = ckpt_nn_cross_entropy_forward(&loss, logits, y, B, O, 0.0, -100, err);
    if (rc < 0)
        return amp_fail(err, rc, "cross_entropy: a target is out of range");
    /* backward of loss * scale; each reduced op's gradient output is rounded */
    ckpt_optim_zero_grad(r->opt, false);
    float scale = r->scaler.scale;
    memset(dlogits, 0, sizeof dlogits);
    memset(dh, 0, sizeof dh);
    ckpt_nn_cross_entropy_backward(dlogits, scale, logits, y, B, O, 0.0, -100, err);
    amp_round(dlogits, B * O, dt); /* the backward of the logits' upcast */
    ckpt_nn_linear_backward(dh, r->w2->grad, r->b2->grad, dlogits, h, w2r, B, H, O);
    amp_round(dh, B * H, dt);
    amp_round(r->w2->grad, O * H, dt);
    amp_round(r->b2->grad, O, dt);
    for (size_t i = 0; i < B * H; i++) /* ReLU backward: the output's mask */
        if (!(h[i] > 0.0f))
            dh[i] = 0.0f;
    ckpt_nn_linear_backward(NULL, r->w1->grad, r->b1->grad, dh, xr, w1r, B, I, H);
    amp_round(r->w1->grad, H * I, dt);
    amp_round(r->b1->grad, H, dt);
    /* scaler.unscale_, step (skipped on inf/NaN), update; scheduler */
    ckpt_slot *ps[4] = {r->w1, r->b1, r->w2, r->b2};
    bool found = false;
    for (int i = 0; i < 4; i++)
        found |= ckpt_grad_scaler_unscale_f32(&r->scaler, ps[i]->grad,
                                              ps[i]->nbytes / sizeof(float));
    if (!found && (rc = ckpt_optim_step(r->opt, err)) < 0)
        return rc;
    ckpt_grad_scaler_update(&r->scaler, found);
    if (r->sched) {
        if ((rc = ckpt_sched_step(r->sched, err)) < 0)
            return rc;
    }
    if (info) {
        info->loss = loss;
        info->scale = scale;
        info->dlogits_inf = any_nonfinite(dlogits, B * O);
        info->found_inf = found;
    }
    return 0;
}
