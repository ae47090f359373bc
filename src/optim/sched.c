/*
 * src/optim/sched.c - torch 1.13's LR schedulers: construction, step() in the
 * chainable form, step(epoch) in the closed form, get_last_lr.  Each formula
 * keeps torch's operand order so results match bit for bit.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "optim/sched_internal.h"

static const double PY_PI = 3.141592653589793;

int64_t ckpt__py_mod(int64_t a, int64_t b)
{
    int64_t r = a % b;
    if (r != 0 && ((r < 0) != (b < 0)))
        r += b;
    return r;
}

int64_t ckpt__py_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        q -= 1;
    return q;
}

void ckpt_sched_config_init(ckpt_sched_config *cfg, ckpt_sched_kind kind)
{
    if (!cfg)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->kind = kind;
    cfg->last_epoch = -1;
    cfg->gamma = 0.1;
    cfg->factor = kind == CKPT_SCHED_PLATEAU ? 0.1 : 1.0 / 3;
    cfg->total_iters = 5;
    cfg->start_factor = 1.0 / 3;
    cfg->end_factor = 1.0;
    cfg->T_mult = 1;
    cfg->pct_start = 0.3;
    cfg->cycle_momentum = true;
    cfg->base_momentum = 0.85;
    cfg->max_momentum = 0.95;
    cfg->div_factor = 25.0;
    cfg->final_div_factor = 1e4;
    cfg->patience = 10;
    cfg->threshold = 1e-4;
    cfg->eps = 1e-8;
}

void ckpt_sched_free(ckpt_sched *s)
{
    if (!s)
        return;
    ckpt_alloc copy = s->alloc_copy;
    const ckpt_alloc *a = s->a ? &copy : NULL;
    for (size_t i = 0; i < s->nchildren; i++)
        ckpt_sched_free(s->children[i]);
    ckpt_optim__free(a, s->children);
    ckpt_optim__free(a, s->ms_epoch);
    ckpt_optim__free(a, s->ms_count);
    ckpt_optim__free(a, s->base_lrs);
    ckpt_optim__free(a, s->last_lr);
    ckpt_optim__free(a, s->values);
    ckpt_optim__free(a, s->min_lrs);
    if (s->own_t)
        ckpt_optim__free(a, s->own_t->groups);
    ckpt_optim__free(a, s->own_t);
    ckpt_optim__free(a, s);
}

ckpt_sched_kind ckpt_sched_kind_of(const ckpt_sched *s)
{
    return s ? (ckpt_sched_kind)s->kind : (ckpt_sched_kind)-1;
}

const double *ckpt_sched_last_lr(const ckpt_sched *s, size_t *n)
{
    if (n)
        *n = s && s->has_last_lr ? s->t->ngroups : 0;
    return s && s->has_last_lr ? s->last_lr : NULL;
}

int64_t ckpt_sched_last_epoch(const ckpt_sched *s)
{
    return s ? s->last_epoch : 0;
}

/* Counter(milestones) for MultiStepLR, first-occurrence order. */
int ckpt__sched_counter_add(ckpt_sched *s, int64_t epoch, int64_t count)
{
    for (size_t i = 0; i < s->n_ms; i++) {
        if (s->ms_epoch[i] == epoch) {
            s->ms_count[i] += count;
            return 0;
        }
    }
    int64_t *e = ckpt_optim__realloc(s->a, s->ms_epoch, (s->n_ms + 1) * sizeof *e);
    if (!e)
        return CKPT_E_NOMEM;
    s->ms_epoch = e;
    int64_t *c = ckpt_optim__realloc(s->a, s->ms_count, (s->n_ms + 1) * sizeof *c);
    if (!c)
        return CKPT_E_NOMEM;
    s->ms_count = c;
    s->ms_epoch[s->n_ms] = epoch;
    s->ms_count[s->n_ms] = count;
    s->n_ms++;
    return 0;
}

static int64_t counter_get(const ckpt_sched *s, int64_t epoch)
{
    for (size_t i = 0; i < s->n_ms; i++)
        if (s->ms_epoch[i] == epoch)
            return s->ms_count[i];
    return 0;
}

/* bisect_right(sorted(Counter.elements()), x) = number of elements <= x */
static int64_t counter_bisect_right(const ckpt_sched *s, int64_t x)
{
    int64_t n = 0;
    for (size_t i = 0; i < s->n_ms; i++)
        if (s->ms_epoch[i] <= x && s->ms_count[i] > 0)
            n += s->ms_count[i];
    return n;
}

static double anneal(const ckpt_sched *s, double start, double end, double pct)
{
    if (s->anneal_linear)
        return (end - start) * pct + start;
    double cos_out = cos(PY_PI * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
}

static double onecycle_key(const ckpt_lr_group *g, int key)
{
    switch (key) {
    case OC_INITIAL_LR: return g->initial_lr;
    case OC_MAX_LR: return g->max_lr;
    case OC_MIN_LR: return g->min_lr;
    case OC_MAX_MOMENTUM: return g->max_momentum;
    default: return g->base_momentum;
    }
}

/* get_lr(): the chainable form, into s->values. */
static int get_lr(ckpt_sched *s, ckpt_error *err)
{
    ckpt_lr_target *t = s->t;
    const ckpt_sched_config *c = &s->cfg;
    int64_t le = s->last_epoch;
    for (size_t i = 0; i < t->ngroups; i++) {
        double lr = t->groups[i].lr;
        double base = s->base_lrs[i];
        double v = lr;
        switch (s->kind) {
        case CKPT_SCHED_STEP:
            if (!(le == 0 || ckpt__py_mod(le, c->step_size) != 0))
                v = lr * c->gamma;
            break;
        case CKPT_SCHED_MULTISTEP: {
            int64_t n = counter_get(s, le);
            bool in = false;
            for (size_t k = 0; k < s->n_ms; k++)
                in = in || s->ms_epoch[k] == le;
            if (in)
                v = lr * pow(c->gamma, (double)n);
            break;
        }
        case CKPT_SCHED_EXPONENTIAL:
            if (le != 0)
                v = lr * c->gamma;
            break;
        case CKPT_SCHED_CONSTANT:
            if (le == 0)
                v = lr * c->factor;
            else if (le > c->total_iters || le != c->total_iters)
                v = lr;
            else
                v = lr * (1.0 / c->factor);
            break;
        case CKPT_SCHED_LINEAR:
            if (le == 0)
                v = lr * c->start_factor;
            else if (le > c->total_iters)
                v = lr;
            else
                v = lr * (1. + (c->end_factor - c->start_factor) /
                                   ((double)c->total_iters * c->start_factor +
                                    (double)(le - 1) * (c->end_factor - c->start_factor)));
            break;
        case CKPT_SCHED_COSINE: {
            double em = c->eta_min, tm = (double)c->T_max;
            if (le == 0)
                v = lr;
            else if (s->step_count == 1 && le > 0)
                v = em + (base - em) * (1 + cos((double)le * PY_PI / tm)) / 2;
            else if (ckpt__py_mod(le - 1 - c->T_max, 2 * c->T_max) == 0)
                v = lr + (base - em) * (1 - cos(PY_PI / tm)) / 2;
            else
                v = (1 + cos(PY_PI * (double)le / tm)) /
                        (1 + cos(PY_PI * (double)(le - 1) / tm)) * (lr - em) +
                    em;
            break;
        }
        case CKPT_SCHED_COSINE_WARM_RESTARTS:
            v = c->eta_min +
                (base - c->eta_min) * (1 + cos(PY_PI * s->T_cur / (double)s->T_i)) / 2;
            break;
        case CKPT_SCHED_ONE_CYCLE: {
            if (le > s->total_steps)
                return CKPT_FAIL(err, CKPT_E_ARG,
                                 "Tried to step %lld times. The specified number of total steps "
                                 "is %lld",
                                 (long long)(le + 1), (long long)s->total_steps);
            ckpt_lr_group *g = &t->groups[i];
            double start_step = 0, mom = 0;
            for (int p = 0; p < s->nphases; p++) {
                double end_step = s->phases[p].end_step;
                if ((double)le <= end_step || p == s->nphases - 1) {
                    double pct = ((double)le - start_step) / (end_step - start_step);
                    v = anneal(s, onecycle_key(g, s->phases[p].start_lr),
                               onecycle_key(g, s->phases[p].end_lr), pct);
                    if (s->cycle_momentum)
                        mom = anneal(s, onecycle_key(g, s->phases[p].start_mom),
                                     onecycle_key(g, s->phases[p].end_mom), pct);
                    break;
                }
                start_step = end_step;
            }
            if (s->cycle_momentum)
                g->momentum = mom;
            break;
        }
        default: break;
        }
        s->values[i] = v;
    }
    return 0;
}

/* _get_closed_form_lr(); false when the scheduler has none. */
static bool closed_form(ckpt_sched *s)
{
    const ckpt_sched_config *c = &s->cfg;
    int64_t le = s->last_epoch;
    for (size_t i = 0; i < s->t->ngroups; i++) {
        double base = s->base_lrs[i], v;
        switch (s->kind) {
        case CKPT_SCHED_STEP:
            v = base * pow(c->gamma, (double)ckpt__py_floordiv(le, c->step_size));
            break;
        case CKPT_SCHED_MULTISTEP:
            v = base * pow(c->gamma, (double)counter_bisect_right(s, le));
            break;
        case CKPT_SCHED_EXPONENTIAL: v = base * pow(c->gamma, (double)le); break;
        case CKPT_SCHED_CONSTANT:
            v = base * (c->factor + (le >= c->total_iters ? (1 - c->factor) : 0.0));
            break;
        case CKPT_SCHED_LINEAR: {
            int64_t m = c->total_iters < le ? c->total_iters : le;
            v = base * (c->start_factor +
                        (c->end_factor - c->start_factor) * (double)m / (double)c->total_iters);
            break;
        }
        case CKPT_SCHED_COSINE:
            v = c->eta_min +
                (base - c->eta_min) * (1 + cos(PY_PI * (double)le / (double)c->T_max)) / 2;
            break;
        default: return false;
        }
        s->values[i] = v;
    }
    return true;
}

static void apply_values(ckpt_sched *s)
{
    for (size_t i = 0; i < s->t->ngroups; i++)
        s->t->groups[i].lr = s->values[i];
    for (size_t i = 0; i < s->t->ngroups; i++)
        s->last_lr[i] = s->t->groups[i].lr;
    s->has_last_lr = true;
}

/* CosineAnnealingWarmRestarts.step(epoch); has_epoch false = step(). */
static int warm_step(ckpt_sched *s, bool has_epoch, int64_t epoch, ckpt_error *err)
{
    const ckpt_sched_config *c = &s->cfg;
    if (!has_epoch && s->last_epoch < 0) {
        has_epoch = true;
        epoch = 0;
    }
    if (!has_epoch) {
        epoch = s->last_epoch + 1;
        s->T_cur = s->T_cur + 1;
        if (s->T_cur >= (double)s->T_i) {
            s->T_cur = s->T_cur - (double)s->T_i;
            s->T_i = s->T_i * c->T_mult;
        }
    } else {
        if (epoch < 0)
            return CKPT_FAIL(err, CKPT_E_ARG, "Expected non-negative epoch, but got %lld",
                             (long long)epoch);
        if (epoch >= c->T_0) {
            if (c->T_mult == 1) {
                s->T_cur = (double)ckpt__py_mod(epoch, c->T_0);
                s->T_cur_is_int = true;
            } else {
                double x = (double)epoch / (double)c->T_0 * (double)(c->T_mult - 1) + 1;
                int64_t n = (int64_t)(log(x) / log((double)c->T_mult));
                int64_t p = 1;
                for (int64_t k = 0; k < n; k++)
                    p *= c->T_mult;
                s->T_cur = (double)epoch - (double)(c->T_0 * (p - 1)) / (double)(c->T_mult - 1);
                s->T_cur_is_int = false;
                s->T_i = c->T_0 * p;
            }
        } else {
            s->T_i = c->T_0;
            s->T_cur = (double)epoch;
            s->T_cur_is_int = true;
        }
    }
    s->last_epoch = epoch;
    s->get_lr_called = true;
    int rc = get_lr(s, err);
    s->get_lr_called = false;
    if (rc < 0)
        return rc;
    apply_values(s);
    return 0;
}

static int base_step(ckpt_sched *s, bool has_epoch, int64_t epoch, ckpt_error *err)
{
    if (s->kind == CKPT_SCHED_COSINE_WARM_RESTARTS)
        return warm_step(s, has_epoch, epoch, err);
    s->step_count += 1;
    s->get_lr_called = true;
    int rc = 0;
    if (!has_epoch) {
        s->last_epoch += 1;
        rc = get_lr(s, err);
    } else {
        s->last_epoch = epoch;
        if (!closed_form(s))
            rc = get_lr(s, err);
    }
    s->get_lr_called = false;
    if (rc < 0)
        return rc;
    apply_values(s);
    return 0;
}

static int sequential_step(ckpt_sched *s, ckpt_error *err)
{
    s->last_epoch += 1;
    size_t idx = 0;
    while (idx < s->n_ms && s->ms_epoch[idx] <= s->last_epoch)
        idx++;
    ckpt_sched *child = s->children[idx];
    int rc;
    if (idx > 0 && s->ms_epoch[idx - 1] == s->last_epoch)
        rc = base_step(child, true, 0, err);
    else
        rc = base_step(child, false, 0, err);
    if (rc < 0)
        return rc;
    memcpy(s->last_lr, child->last_lr, s->t->ngroups * sizeof *s->last_lr);
    s->has_last_lr = true;
    return 0;
}

int ckpt__sched_step_raw(ckpt_sched *s, ckpt_error *err)
{
    if (!s)
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL scheduler");
    if (s->kind == CKPT_SCHED_PLATEAU)
        return CKPT_FAIL(err, CKPT_E_ARG, "ReduceLROnPlateau steps with a metric");
    if (s->kind == CKPT_SCHED_SEQUENTIAL)
        return sequential_step(s, err);
    return base_step(s, false, 0, err);
}

int ckpt__sched_step_epoch_raw(ckpt_sched *s, int64_t epoch, ckpt_error *err)
{
    if (!s)
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL scheduler");
    if (s->kind == CKPT_SCHED_PLATEAU || s->kind == CKPT_SCHED_SEQUENTIAL)
        return CKPT_FAIL(err, CKPT_E_ARG, "this scheduler has no step(epoch)");
    return base_step(s, true, epoch, err);
}

static bool plateau_better(const ckpt_sched *s, double a, double best)
{
    const ckpt_sched_config *c = &s->cfg;
    if (!c->mode_max && !c->threshold_abs)
        return a < best * (1. - c->threshold);
    if (!c->mode_max)
        return a < best - c->threshold;
    if (!c->threshold_abs)
        return a > best * (c->threshold + 1.);
    return a > best + c->threshold;
}

int ckpt__sched_step_metric_raw(ckpt_sched *s, double current, ckpt_error *err)
{
    if (!s || s->kind != CKPT_SCHED_PLATEAU)
        return CKPT_FAIL(err, CKPT_E_ARG, "step_metric is for ReduceLROnPlateau");
    const ckpt_sched_config *c = &s->cfg;
    s->last_epoch = s->last_epoch + 1;
    if (plateau_better(s, current, s->best)) {
        s->best = current;
        s->num_bad_epochs = 0;
    } else {
        s->num_bad_epochs += 1;
    }
    if (s->cooldown_counter > 0) {
        s->cooldown_counter -= 1;
        s->num_bad_epochs = 0;
    }
    if (s->num_bad_epochs > c->patience) {
        for (size_t i = 0; i < s->t->ngroups; i++) {
            double old_lr = s->t->groups[i].lr;
            double new_lr = old_lr * c->factor;
            if (s->min_lrs[i] > new_lr)
                new_lr = s->min_lrs[i];
            if (old_lr - new_lr > c->eps)
                s->t->groups[i].lr = new_lr;
        }
        s->cooldown_counter = c->cooldown;
        s->num_bad_epochs = 0;
    }
    for (size_t i = 0; i < s->t->ngroups; i++)
        s->last_lr[i] = s->t->groups[i].lr;
    s->has_last_lr = true;
    return 0;
}

static int alloc_arrays(ckpt_sched *s, ckpt_error *err)
{
    size_t n = s->t->ngroups ? s->t->ngroups : 1;
    s->base_lrs = ckpt_optim__zalloc(s->a, n, sizeof *s->base_lrs);
    s->last_lr = ckpt_optim__zalloc(s->a, n, sizeof *s->last_lr);
    s->values = ckpt_optim__zalloc(s->a, n, sizeof *s->values);
    s->min_lrs = ckpt_optim__zalloc(s->a, n, sizeof *s->min_lrs);
    if (!s->base_lrs || !s->last_lr || !s->values || !s->min_lrs)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    return 0;
}

static int onecycle_init(ckpt_sched *s, ckpt_error *err)
{
    const ckpt_sched_config *c = &s->cfg;
    ckpt_lr_target *t = s->t;
    CKPT_CHECK(c->total_steps > 0, err, CKPT_E_ARG,
               "Expected positive integer total_steps, but got %lld", (long long)c->total_steps);
    s->total_steps = c->total_steps;
    double ts = (double)c->total_steps;
    if (c->three_phase) {
        s->nphases = 3;
        s->phases[0] = (oc_phase){c->pct_start * ts - 1, false,
                                  OC_INITIAL_LR,         OC_MAX_LR,
                                  OC_MAX_MOMENTUM,       OC_BASE_MOMENTUM};
        s->phases[1] =
            (oc_phase){2 * c->pct_start * ts - 2, false,          OC_MAX_LR, OC_INITIAL_LR,
                       OC_BASE_MOMENTUM,          OC_MAX_MOMENTUM};
        s->phases[2] = (oc_phase){(double)(c->total_steps - 1),
                                  true,
                                  OC_INITIAL_LR,
                                  OC_MIN_LR,
                                  OC_MAX_MOMENTUM,
                                  OC_MAX_MOMENTUM};
    } else {
        s->nphases = 2;
        s->phases[0] = (oc_phase){c->pct_start * ts - 1, false,
                                  OC_INITIAL_LR,         OC_MAX_LR,
                                  OC_MAX_MOMENTUM,       OC_BASE_MOMENTUM};
        s->phases[1] = (oc_phase){(double)(c->total_steps - 1),
                                  true,
                                  OC_MAX_LR,
                                  OC_MIN_LR,
                                  OC_BASE_MOMENTUM,
                                  OC_MAX_MOMENTUM};
    }
    CKPT_CHECK(c->pct_start >= 0 && c->pct_start <= 1, err, CKPT_E_ARG,
               "Expected float between 0 and 1 pct_start, but got %g", c->pct_start);
    s->anneal_linear = c->anneal_linear;
    CKPT_CHECK(c->max_lr != NULL, err, CKPT_E_ARG, "OneCycleLR needs max_lr");
    if (c->last_epoch == -1) {
        t->onecycle_keys = true;
        for (size_t i = 0; i < t->ngroups; i++) {
            t->groups[i].initial_lr = c->max_lr[i] / c->div_factor;
            t->groups[i].has_initial_lr = true;
            t->groups[i].max_lr = c->max_lr[i];
            t->groups[i].min_lr = t->groups[i].initial_lr / c->final_div_factor;
        }
    }
    s->cycle_momentum = c->cycle_momentum;
    if (s->cycle_momentum) {
        CKPT_CHECK(t->momentum_kind != CKPT_MOMENTUM_NONE, err, CKPT_E_ARG,
                   "optimizer must support momentum with `cycle_momentum` option enabled");
        s->use_beta1 = t->momentum_kind == CKPT_MOMENTUM_BETAS;
        if (c->last_epoch == -1) {
            for (size_t i = 0; i < t->ngroups; i++) {
                t->groups[i].momentum = c->max_momentum;
                t->groups[i].max_momentum = c->max_momentum;
                t->groups[i].base_momentum = c->base_momentum;
            }
        }
    }
    return 0;
}

/* _LRScheduler.__init__ after the subclass fields. */
static int base_init(ckpt_sched *s, ckpt_error *err)
{
    ckpt_lr_target *t = s->t;
    if (s->cfg.last_epoch == -1) {
        for (size_t i = 0; i < t->ngroups; i++) {
            if (!t->groups[i].has_initial_lr) {
                t->groups[i].initial_lr = t->groups[i].lr;
                t->groups[i].has_initial_lr = true;
            }
        }
    } else {
        for (size_t i = 0; i < t->ngroups; i++)
            CKPT_CHECK(t->groups[i].has_initial_lr, err, CKPT_E_ARG,
                       "param 'initial_lr' is not specified in param_groups[%zu] when resuming "
                       "an optimizer",
                       i);
    }
    for (size_t i = 0; i < t->ngroups; i++)
        s->base_lrs[i] = t->groups[i].initial_lr;
    s->last_epoch = s->cfg.last_epoch;
    s->verbose = false;
    s->step_count = 0; /* _initial_step */
    return base_step(s, false, 0, err);
}

static int sched_init(ckpt_sched *s, ckpt_error *err)
{
    ckpt_sched_config *c = &s->cfg;
    CKPT_TRY(alloc_arrays(s, err));
    switch (s->kind) {
    case CKPT_SCHED_STEP:
        CKPT_CHECK(c->step_size != 0, err, CKPT_E_ARG, "StepLR needs step_size");
        break;
    case CKPT_SCHED_MULTISTEP:
        for (size_t i = 0; i < c->n_milestones; i++)
            if (ckpt__sched_counter_add(s, c->milestones[i], 1) < 0)
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        break;
    case CKPT_SCHED_CONSTANT:
        CKPT_CHECK(c->factor <= 1.0 && c->factor >= 0, err, CKPT_E_ARG,
                   "Constant multiplicative factor expected to be between 0 and 1.");
        break;
    case CKPT_SCHED_LINEAR:
        CKPT_CHECK(c->start_factor <= 1.0 && c->start_factor >= 0, err, CKPT_E_ARG,
                   "Starting multiplicative factor expected to be between 0 and 1.");
        CKPT_CHECK(c->end_factor <= 1.0 && c->end_factor >= 0, err, CKPT_E_ARG,
                   "Ending multiplicative factor expected to be between 0 and 1.");
        break;
    case CKPT_SCHED_COSINE:
        CKPT_CHECK(c->T_max != 0, err, CKPT_E_ARG, "CosineAnnealingLR needs T_max");
        break;
    case CKPT_SCHED_COSINE_WARM_RESTARTS:
        CKPT_CHECK(c->T_0 > 0, err, CKPT_E_ARG, "Expected positive integer T_0, but got %lld",
                   (long long)c->T_0);
        CKPT_CHECK(c->T_mult >= 1, err, CKPT_E_ARG, "Expected integer T_mult >= 1, but got %lld",
                   (long long)c->T_mult);
        s->T_i = c->T_0;
        s->T_cur = (double)c->last_epoch;
        s->T_cur_is_int = true;
        break;
    case CKPT_SCHED_ONE_CYCLE: CKPT_TRY(onecycle_init(s, err)); break;
    case CKPT_SCHED_EXPONENTIAL: break;
    default: return CKPT_FAIL(err, CKPT_E_ARG, "unknown scheduler kind %d", s->kind);
    }
    return base_init(s, err);
}

static int sequential_init(ckpt_sched *s, ckpt_error *err)
{
    ckpt_sched_config *c = &s->cfg;
    CKPT_TRY(alloc_arrays(s, err));
    CKPT_CHECK(s->nchildren >= 1, err, CKPT_E_ARG, "SequentialLR needs schedulers");
    for (size_t i = 0; i < s->nchildren; i++) {
        CKPT_CHECK(s->children[i] && s->children[i]->t == s->t, err, CKPT_E_ARG,
                   "Sequential Schedulers expects all schedulers to belong to the same "
                   "optimizer, but got schedulers at index %zu to be different than the "
                   "optimizer passed in.",
                   i);
        CKPT_CHECK(s->children[i]->kind != CKPT_SCHED_PLATEAU &&
                       s->children[i]->kind != CKPT_SCHED_SEQUENTIAL,
                   err, CKPT_E_UNSUPPORTED,
                   "SequentialLR of ReduceLROnPlateau or SequentialLR is not supported");
    }
    CKPT_CHECK(c->n_milestones == s->nchildren - 1, err, CKPT_E_ARG,
               "Sequential Schedulers expects number of schedulers provided to be one more than "
               "the number of milestone points, but got number of schedulers %zu and the number "
               "of milestones to be equal to %zu",
               s->nchildren, c->n_milestones);
    s->ms_epoch = ckpt_optim__zalloc(s->a, c->n_milestones + 1, sizeof *s->ms_epoch);
    if (!s->ms_epoch)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    if (c->n_milestones)
        memcpy(s->ms_epoch, c->milestones, c->n_milestones * sizeof *s->ms_epoch);
    s->n_ms = c->n_milestones;
    s->last_epoch = c->last_epoch + 1;
    for (size_t i = 0; i < s->t->ngroups; i++)
        s->t->groups[i].lr = s->t->groups[i].initial_lr;
    for (size_t i = 0; i < s->nchildren; i++)
        s->children[i]->last_epoch -= 1;
    ckpt_sched *first = s->children[0];
    first->step_count = 0;
    CKPT_TRY(base_step(first, false, 0, err));
    memcpy(s->last_lr, first->last_lr, s->t->ngroups * sizeof *s->last_lr);
    s->has_last_lr = true;
    return 0;
}

static int plateau_init(ckpt_sched *s, ckpt_error *err)
{
    ckpt_sched_config *c = &s->cfg;
    CKPT_TRY(alloc_arrays(s, err));
    CKPT_CHECK(c->factor < 1.0, err, CKPT_E_ARG, "Factor should be < 1.0.");
    for (size_t i = 0; i < s->t->ngroups; i++)
        s->min_lrs[i] = c->min_lrs ? c->min_lrs[i] : c->min_lr;
    s->verbose = false;
    s->cooldown_counter = 0;
    s->mode_worse = c->mode_max ? -HUGE_VAL : HUGE_VAL;
    s->best = s->mode_worse;
    s->num_bad_epochs = 0;
    s->last_epoch = 0;
    s->has_last_lr = false;
    return 0;
}

ckpt_sched *ckpt_sched_new(ckpt_lr_target *target, const ckpt_sched_config *cfg, ckpt_error *err)
{
    size_t nchild = cfg && cfg->kind == CKPT_SCHED_SEQUENTIAL ? cfg->n_children : 0;
    const ckpt_alloc *alloc = cfg ? cfg->alloc : NULL;
    ckpt_sched *s = ckpt_optim__zalloc(alloc, 1, sizeof *s);
    if (s && alloc) {
        s->alloc_copy = *alloc;
        s->a = &s->alloc_copy;
    }
    if (s && nchild) {
        s->children = ckpt_optim__zalloc(s->a, nchild, sizeof *s->children);
        if (s->children) {
            for (size_t i = 0; i < nchild; i++)
                s->children[i] = cfg->children ? cfg->children[i] : NULL;
            s->nchildren = nchild;
        }
    }
    if (!s || (nchild && !s->children)) {
        if (!s || !s->children)
            for (size_t i = 0; i < nchild && cfg->children; i++)
                ckpt_sched_free(cfg->children[i]);
        ckpt_sched_free(s);
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    if (!target || !cfg || (target->ngroups && !target->groups)) {
        ckpt_sched_free(s);
        CKPT_FAIL(err, CKPT_E_ARG, "NULL target or config");
        return NULL;
    }
    s->t = target;
    s->cfg = *cfg;
    s->cfg.milestones = NULL;
    s->cfg.children = NULL;
    s->cfg.max_lr = NULL;
    s->cfg.min_lrs = NULL;
    s->cfg.alloc = NULL;
    s->kind = (int)cfg->kind;
    int rc;
    if (s->kind == CKPT_SCHED_SEQUENTIAL) {
        s->cfg.milestones = cfg->milestones;
        rc = sequential_init(s, err);
        s->cfg.milestones = NULL;
    } else if (s->kind == CKPT_SCHED_PLATEAU) {
        s->cfg.min_lrs = cfg->min_lrs;
        rc = plateau_init(s, err);
        s->cfg.min_lrs = NULL;
    } else {
        s->cfg.milestones = cfg->milestones;
        s->cfg.max_lr = cfg->max_lr;
        rc = sched_init(s, err);
        s->cfg.milestones = NULL;
        s->cfg.max_lr = NULL;
    }
    if (rc < 0) {
        ckpt_sched_free(s);
        return NULL;
    }
    return s;
}
