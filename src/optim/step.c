/* src/optim/step.c - torch 1.13's single-tensor update rules, element by
 * element in float32 with torch's CPU kernels' rounding:
 *   add(a, b, alpha)       fma(b, alpha, a)            (one rounding)
 *   mul(a, s)              a * s
 *   addcmul(a, b, c, v)    fma(v * b, c, a)
 *   addcdiv(a, b, c, v)    a + (v * b) / c
 *   div(a, s)              a / s
 * Python scalars (doubles) are computed in double as Python does, then
 * rounded to float32 where the kernel takes them.  Every float operation is
 * its own statement so no compiler contracts two roundings into one. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "optim/optim_internal.h"

/* a + alpha * b with one rounding (torch's vectorised add with alpha) */
static float k_add(float a, float b, float alpha)
{
    return fmaf(b, alpha, a);
}

/* a + v * b * c as torch's addcmul: fma(v * b, c, a) */
static float k_addcmul(float a, float b, float c, float v)
{
    float vb = v * b;
    return fmaf(vb, c, a);
}

/* a + (v * b) / c as torch's addcdiv */
static float k_addcdiv(float a, float b, float c, float v)
{
    float vb = v * b;
    float q = vb / c;
    return a + q;
}

static float k_max(float a, float b)
{
    if (isnan(a) || isnan(b))
        return NAN;
    return a > b ? a : b;
}

/* the state entry `key` of `p` as a float tensor shaped like `s`, created zeroed
 * when absent */
static float *state_like(const ckpt_alloc *a, ckpt__pstate *p, const char *key,
                         const ckpt_slot *s, int *rc)
{
    ckpt__st *st = ckpt_optim__st_find(p, key);
    if (st && st->kind == HP_TENSOR && st->dtype == CKPT_F32)
        return st->data;
    if (st) {
        *rc = CKPT_E_UNSUPPORTED;
        return NULL;
    }
    st = ckpt_optim__st_add(a, p, key, HP_TENSOR);
    if (!st || ckpt_optim__st_tensor(a, st, CKPT_F32, s->ndim, s->shape) < 0) {
        *rc = CKPT_E_NOMEM;
        return NULL;
    }
    return st->data;
}

/* step_t += 1 on a 0-d tensor (float32/float64/int64) or a Python number;
 * returns step_t.item() as a double */
static int step_inc(ckpt__st *st, double *out)
{
    if (st->kind == HP_INT) {
        st->i += 1;
        *out = (double)st->i;
        return 0;
    }
    if (st->kind == HP_FLOAT) {
        st->f += 1.0;
        *out = st->f;
        return 0;
    }
    if (st->kind != HP_TENSOR || st->numel != 1)
        return CKPT_E_UNSUPPORTED;
    switch (st->dtype) {
    case CKPT_F32: {
        float v;
        memcpy(&v, st->data, 4);
        v = v + 1.0f;
        memcpy(st->data, &v, 4);
        *out = (double)v;
        return 0;
    }
    case CKPT_F64: {
        double v;
        memcpy(&v, st->data, 8);
        v += 1.0;
        memcpy(st->data, &v, 8);
        *out = v;
        return 0;
    }
    case CKPT_I64: {
        int64_t v;
        memcpy(&v, st->data, 8);
        v += 1;
        memcpy(st->data, &v, 8);
        *out = (double)v;
        return 0;
    }
    default: return CKPT_E_UNSUPPORTED;
    }
}

static void mark(ckpt_optim *o, ckpt__pstate *p)
{
    if (!p->present) {
        p->present = true;
        p->order = o->next_order++;
    }
}

/* ---------------------------------------------------------------- SGD */

static int sgd_group(ckpt_optim *o, const ckpt__group *g)
{
    const double lr = ckpt_optim__num(g, "lr");
    const double momentum = ckpt_optim__num(g, "momentum");
    const double dampening = ckpt_optim__num(g, "dampening");
    const double wd = ckpt_optim__num(g, "weight_decay");
    const bool nesterov = ckpt_optim__truthy(g, "nesterov");
    const bool maximize = ckpt_optim__truthy(g, "maximize");
    const float f_wd = (float)wd, f_mom = (float)momentum;
    const float f_damp = (float)(1.0 - dampening), f_nlr = (float)(-lr);
    for (size_t i = 0; i < g->n; i++) {
        ckpt_slot *s = g->params[i];
        if (!s->grad)
            continue;
        ckpt__pstate *p = &o->state[g->first + i];
        mark(o, p);
        const int64_t n = ckpt_optim__numel(s);
        float *x = s->data;
        const float *gr = s->grad;
        float *buf = NULL;
        bool fresh = false;
        if (momentum != 0.0) {
            ckpt__st *st = ckpt_optim__st_find(p, "momentum_buffer");
            if (st && st->kind == HP_TENSOR && st->dtype == CKPT_F32) {
                buf = st->data;
            } else {
                int rc = 0;
                if (st)
                    st->kind = HP_NONE; /* None -> replaced by a clone of d_p */
                if (st) {
                    if (ckpt_optim__st_tensor(o->a, st, CKPT_F32, s->ndim, s->shape) < 0)
                        return CKPT_E_NOMEM;
                    buf = st->data;
                } else {
                    buf = state_like(o->a, p, "momentum_buffer", s, &rc);
                }
                if (!buf)
                    return rc ? rc : CKPT_E_NOMEM;
                fresh = true;
            }
        } else {
            ckpt__st *st = ckpt_optim__st_find(p, "momentum_buffer");
            if (!st && !ckpt_optim__st_add(o->a, p, "momentum_buffer", HP_NONE))
                return CKPT_E_NOMEM;
        }
        for (int64_t k = 0; k < n; k++) {
            float d = maximize ? -gr[k] : gr[k];
            if (wd != 0.0)
                d = k_add(d, x[k], f_wd);
            if (momentum != 0.0) {
                if (fresh) {
                    buf[k] = d;
                } else {
                    float m = buf[k] * f_mom;
                    buf[k] = k_add(m, d, f_damp);
                }
                if (nesterov)
                    d = k_add(d, buf[k], f_mom);
                else
                    d = buf[k];
            }
            x[k] = k_add(x[k], d, f_nlr);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ Adam(W) */

static int adam_group(ckpt_optim *o, const ckpt__group *g, bool decoupled)
{
    const double lr = ckpt_optim__num(g, "lr");
    const double beta1 = ckpt_optim__item(g, "betas", 0);
    const double beta2 = ckpt_optim__item(g, "betas", 1);
    const double eps = ckpt_optim__num(g, "eps");
    const double wd = ckpt_optim__num(g, "weight_decay");
    const bool amsgrad = ckpt_optim__truthy(g, "amsgrad");
    const bool maximize = ckpt_optim__truthy(g, "maximize");
    const float f_b1 = (float)beta1, f_b2 = (float)beta2;
    const float f_1b1 = (float)(1.0 - beta1), f_1b2 = (float)(1.0 - beta2);
    const float f_eps = (float)eps, f_wd = (float)wd;
    const float f_decay = (float)(1.0 - lr * wd);
    for (size_t i = 0; i < g->n; i++) {
        ckpt_slot *s = g->params[i];
        if (!s->grad)
            continue;
        ckpt__pstate *p = &o->state[g->first + i];
        int rc = 0;
        if (!p->present || p->n == 0) {
            mark(o, p);
            ckpt__st *st = ckpt_optim__st_add(o->a, p, "step", HP_TENSOR);
            if (!st || ckpt_optim__st_tensor(o->a, st, CKPT_F32, 0, NULL) < 0)
                return CKPT_E_NOMEM;
            if (!state_like(o->a, p, "exp_avg", s, &rc) ||
                !state_like(o->a, p, "exp_avg_sq", s, &rc))
                return rc;
            if (amsgrad && !state_like(o->a, p, "max_exp_avg_sq", s, &rc))
                return rc;
        }
        float *m = state_like(o->a, p, "exp_avg", s, &rc);
        float *v = m ? state_like(o->a, p, "exp_avg_sq", s, &rc) : NULL;
        float *vmax = amsgrad && v ? state_like(o->a, p, "max_exp_avg_sq", s, &rc) : NULL;
        ckpt__st *st = ckpt_optim__st_find(p, "step");
        if (!m || !v || (amsgrad && !vmax))
            return rc;
        double step = 0;
        if (!st || step_inc(st, &step) < 0)
            return CKPT_E_UNSUPPORTED;
        const double bc1 = 1.0 - pow(beta1, step);
        const double bc2 = 1.0 - pow(beta2, step);
        const double step_size = lr / bc1;
        const float f_bc2s = (float)sqrt(bc2);
        const float f_nss = (float)(-step_size);
        const int64_t n = ckpt_optim__numel(s);
        float *x = s->data;
        const float *gr = s->grad;
        for (int64_t k = 0; k < n; k++) {
            float gk = maximize ? -gr[k] : gr[k];
            if (decoupled)
                x[k] = x[k] * f_decay;
            else if (wd != 0.0)
                gk = k_add(gk, x[k], f_wd);
            float mk = m[k] * f_b1;
            m[k] = k_add(mk, gk, f_1b1);
            float vk = v[k] * f_b2;
            v[k] = k_addcmul(vk, gk, gk, f_1b2);
            float src = v[k];
            if (amsgrad) {
                vmax[k] = k_max(vmax[k], v[k]);
                src = vmax[k];
            }
            float den = sqrtf(src);
            den = den / f_bc2s;
            den = den + f_eps;
            x[k] = k_addcdiv(x[k], m[k], den, f_nss);
        }
    }
    return 0;
}

/* ------------------------------------------------------------ RMSprop */

static int rmsprop_group(ckpt_optim *o, const ckpt__group *g)
{
    const double lr = ckpt_optim__num(g, "lr");
    const double alpha = ckpt_optim__num(g, "alpha");
    const double eps = ckpt_optim__num(g, "eps");
    const double wd = ckpt_optim__num(g, "weight_decay");
    const double momentum = ckpt_optim__num(g, "momentum");
    const bool centered = ckpt_optim__truthy(g, "centered");
    const bool maximize = ckpt_optim__truthy(g, "maximize");
    const float f_a = (float)alpha, f_1a = (float)(1.0 - alpha), f_eps = (float)eps;
    const float f_wd = (float)wd, f_mom = (float)momentum, f_nlr = (float)(-lr);
    for (size_t i = 0; i < g->n; i++) {
        ckpt_slot *s = g->params[i];
        if (!s->grad)
            continue;
        ckpt__pstate *p = &o->state[g->first + i];
        int rc = 0;
        if (!p->present || p->n == 0) {
            mark(o, p);
            ckpt__st *st = ckpt_optim__st_add(o->a, p, "step", HP_INT);
            if (!st || !state_like(o->a, p, "square_avg", s, &rc))
                return rc ? rc : CKPT_E_NOMEM;
            if (momentum > 0.0 && !state_like(o->a, p, "momentum_buffer", s, &rc))
                return rc;
            if (centered && !state_like(o->a, p, "grad_avg", s, &rc))
                return rc;
        }
        float *sq = state_like(o->a, p, "square_avg", s, &rc);
        float *buf = momentum > 0.0 && sq ? state_like(o->a, p, "momentum_buffer", s, &rc) : NULL;
        float *ga = centered && sq ? state_like(o->a, p, "grad_avg", s, &rc) : NULL;
        if (!sq || (momentum > 0.0 && !buf) || (centered && !ga))
            return rc;
        ckpt__st *st = ckpt_optim__st_find(p, "step");
        double step;
        if (!st || step_inc(st, &step) < 0)
            return CKPT_E_UNSUPPORTED;
        const int64_t n = ckpt_optim__numel(s);
        float *x = s->data;
        const float *gr = s->grad;
        for (int64_t k = 0; k < n; k++) {
            float gk = maximize ? -gr[k] : gr[k];
            if (wd != 0.0)
                gk = k_add(gk, x[k], f_wd);
            float sk = sq[k] * f_a;
            sq[k] = k_addcmul(sk, gk, gk, f_1a);
            float avg;
            if (centered) {
                float gak = ga[k] * f_a;
                ga[k] = k_add(gak, gk, f_1a);
                avg = k_addcmul(sq[k], ga[k], ga[k], -1.0f);
                avg = sqrtf(avg);
            } else {
                avg = sqrtf(sq[k]);
            }
            avg = avg + f_eps;
            if (momentum > 0.0) {
                float bk = buf[k] * f_mom;
                buf[k] = k_addcdiv(bk, gk, avg, 1.0f);
                x[k] = k_add(x[k], buf[k], f_nlr);
            } else {
                x[k] = k_addcdiv(x[k], gk, avg, f_nlr);
            }
        }
    }
    return 0;
}

/* ------------------------------------------------------------ Adagrad */

static int adagrad_group(ckpt_optim *o, const ckpt__group *g)
{
    const double lr = ckpt_optim__num(g, "lr");
    const double lr_decay = ckpt_optim__num(g, "lr_decay");
    const double eps = ckpt_optim__num(g, "eps");
    const double wd = ckpt_optim__num(g, "weight_decay");
    const bool maximize = ckpt_optim__truthy(g, "maximize");
    const float f_eps = (float)eps, f_wd = (float)wd;
    for (size_t i = 0; i < g->n; i++) {
        ckpt_slot *s = g->params[i];
        if (!s->grad)
            continue;
        ckpt__pstate *p = &o->state[g->first + i];
        int rc = 0;
        mark(o, p);
        ckpt__st *st = ckpt_optim__st_find(p, "step");
        float *sum = state_like(o->a, p, "sum", s, &rc);
        if (!sum)
            return rc;
        double step;
        if (!st || step_inc(st, &step) < 0)
            return CKPT_E_UNSUPPORTED;
        const double clr = lr / (1.0 + (step - 1.0) * lr_decay);
        const float f_nclr = (float)(-clr);
        const int64_t n = ckpt_optim__numel(s);
        float *x = s->data;
        const float *gr = s->grad;
        for (int64_t k = 0; k < n; k++) {
            float gk = maximize ? -gr[k] : gr[k];
            if (wd != 0.0)
                gk = k_add(gk, x[k], f_wd);
            sum[k] = k_addcmul(sum[k], gk, gk, 1.0f);
            float sd = sqrtf(sum[k]);
            sd = sd + f_eps;
            x[k] = k_addcdiv(x[k], gk, sd, f_nclr);
        }
    }
    return 0;
}

int ckpt_optim_step(ckpt_optim *o, ckpt_error *err)
{
    if (!o)
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL optimizer");
    for (size_t gi = 0; gi < o->ngroups; gi++) {
        const ckpt__group *g = &o->groups[gi];
        int rc = 0;
        switch (o->kind) {
        case CKPT_OPTIM_SGD: rc = sgd_group(o, g); break;
        case CKPT_OPTIM_ADAM: rc = adam_group(o, g, false); break;
        case CKPT_OPTIM_ADAMW: rc = adam_group(o, g, true); break;
        case CKPT_OPTIM_RMSPROP: rc = rmsprop_group(o, g); break;
        case CKPT_OPTIM_ADAGRAD: rc = adagrad_group(o, g); break;
        default: rc = CKPT_E_ARG; break;
        }
        if (rc < 0)
            return CKPT_FAIL(err, rc, "optimizer step failed in group %zu (%s)", gi,
                             ckpt_status_name(rc));
    }
    return 0;
}
