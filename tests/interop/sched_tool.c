/*
 * sched_tool - drive ckpt's LR schedulers and GradScaler for sched_interop.py.
 *
 *   sched_tool sched SPEC NSTEPS [--set-lr L] [--set-mom M] [--metrics M]
 *                                [--load FILE] [--save FILE] [--epochs E]
 *   sched_tool scaler INIT GROWTH BACKOFF INTERVAL FLAGS OUT
 *
 * SPEC: "key=value;..." (lists comma-separated, floats in any strtod form,
 * hex included); SequentialLR: its spec, then each child's, joined by '|'.
 * Prints one line per state (after construction/load, then after each step):
 * the group lrs as C hex floats, then " | " and the group momentums.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"

#define MAXG 8
#define MAXL 64

typedef struct spec {
    char kind[32];
    ckpt_sched_config cfg;
    double lr[MAXG], initial_lr[MAXG], max_lr[MAXG], min_lrs[MAXG], mom[MAXG];
    size_t ngroups, n_initial, n_min_lrs;
    int64_t milestones[MAXL];
    int momentum_kind;
} spec;

static size_t parse_doubles(const char *v, double *out, size_t max)
{
    size_t n = 0;
    char *end;
    while (*v && n < max) {
        out[n++] = strtod(v, &end);
        v = *end == ',' ? end + 1 : end;
        if (end == v && *end != ',')
            break;
    }
    return n;
}

static int kind_of(const char *k)
{
    static const char *const names[] = {"step",       "multistep", "exponential", "cosine",
                                        "warm",       "linear",    "constant",    "onecycle",
                                        "sequential", "plateau"};
    for (int i = 0; i < 10; i++)
        if (strcmp(k, names[i]) == 0)
            return i;
    return -1;
}

static int parse_spec(char *text, spec *s)
{
    memset(s, 0, sizeof *s);
    char *kindp = strstr(text, "kind=");
    if (!kindp)
        return -1;
    sscanf(kindp + 5, "%31[a-z]", s->kind);
    int kind = kind_of(s->kind);
    if (kind < 0)
        return -1;
    ckpt_sched_config_init(&s->cfg, kind);
    s->momentum_kind = CKPT_MOMENTUM_PLAIN;
    for (char *tok = strtok(text, ";"); tok; tok = strtok(NULL, ";")) {
        char *eq = strchr(tok, '=');
        if (!eq)
            return -1;
        *eq = 0;
        const char *k = tok, *v = eq + 1;
        double d = strtod(v, NULL);
        int64_t i = strtoll(v, NULL, 10);
        ckpt_sched_config *c = &s->cfg;
        if (!strcmp(k, "kind"))
            continue;
        else if (!strcmp(k, "lr"))
            s->ngroups = parse_doubles(v, s->lr, MAXG);
        else if (!strcmp(k, "initial_lr"))
            s->n_initial = parse_doubles(v, s->initial_lr, MAXG);
        else if (!strcmp(k, "mom"))
            s->momentum_kind = !strcmp(v, "betas")  ? CKPT_MOMENTUM_BETAS
                               : !strcmp(v, "none") ? CKPT_MOMENTUM_NONE
                                                    : CKPT_MOMENTUM_PLAIN;
        else if (!strcmp(k, "momv"))
            parse_doubles(v, s->mom, MAXG);
        else if (!strcmp(k, "last_epoch"))
            c->last_epoch = i;
        else if (!strcmp(k, "step_size"))
            c->step_size = i;
        else if (!strcmp(k, "gamma"))
            c->gamma = d;
        else if (!strcmp(k, "milestones")) {
            double tmp[MAXL];
            size_t n = parse_doubles(v, tmp, MAXL);
            for (size_t j = 0; j < n; j++)
                s->milestones[j] = (int64_t)tmp[j];
            c->n_milestones = n;
        } else if (!strcmp(k, "factor"))
            c->factor = d;
        else if (!strcmp(k, "total_iters"))
            c->total_iters = i;
        else if (!strcmp(k, "start_factor"))
            c->start_factor = d;
        else if (!strcmp(k, "end_factor"))
            c->end_factor = d;
        else if (!strcmp(k, "T_max"))
            c->T_max = i;
        else if (!strcmp(k, "eta_min"))
            c->eta_min = d;
        else if (!strcmp(k, "eta_min_float"))
            c->eta_min_is_float = i != 0;
        else if (!strcmp(k, "T_0"))
            c->T_0 = i;
        else if (!strcmp(k, "T_mult"))
            c->T_mult = i;
        else if (!strcmp(k, "max_lr"))
            parse_doubles(v, s->max_lr, MAXG);
        else if (!strcmp(k, "total_steps"))
            c->total_steps = i;
        else if (!strcmp(k, "pct_start"))
            c->pct_start = d;
        else if (!strcmp(k, "anneal"))
            c->anneal_linear = !strcmp(v, "linear");
        else if (!strcmp(k, "cycle_momentum"))
            c->cycle_momentum = i != 0;
        else if (!strcmp(k, "base_momentum"))
            c->base_momentum = d;
        else if (!strcmp(k, "max_momentum"))
            c->max_momentum = d;
        else if (!strcmp(k, "div_factor"))
            c->div_factor = d;
        else if (!strcmp(k, "final_div_factor"))
            c->final_div_factor = d;
        else if (!strcmp(k, "three_phase"))
            c->three_phase = i != 0;
        else if (!strcmp(k, "mode"))
            c->mode_max = !strcmp(v, "max");
        else if (!strcmp(k, "patience"))
            c->patience = i;
        else if (!strcmp(k, "threshold"))
            c->threshold = d;
        else if (!strcmp(k, "threshold_mode"))
            c->threshold_abs = !strcmp(v, "abs");
        else if (!strcmp(k, "cooldown"))
            c->cooldown = i;
        else if (!strcmp(k, "min_lr"))
            c->min_lr = d;
        else if (!strcmp(k, "min_lrs"))
            s->n_min_lrs = parse_doubles(v, s->min_lrs, MAXG);
        else if (!strcmp(k, "min_lr_float"))
            c->min_lr_is_float = i != 0;
        else if (!strcmp(k, "eps"))
            c->eps = d;
        else {
            fprintf(stderr, "unknown spec key %s\n", k);
            return -1;
        }
    }
    s->cfg.milestones = s->milestones;
    s->cfg.max_lr = s->max_lr;
    s->cfg.min_lrs = s->n_min_lrs ? s->min_lrs : NULL;
    return 0;
}

static void print_state(const ckpt_sched *s, const ckpt_lr_target *t)
{
    size_t n;
    const double *l = ckpt_sched_last_lr(s, &n);
    for (size_t i = 0; i < t->ngroups; i++)
        printf("%s%a", i ? " " : "", l ? l[i] : t->groups[i].lr);
    printf(" |");
    for (size_t i = 0; i < t->ngroups; i++)
        printf(" %a", t->groups[i].momentum);
    printf("\n");
}

static int fail(const char *what, const ckpt_error *err)
{
    char buf[1024];
    fprintf(stderr, "%s: %s\n", what, ckpt_error_format(err, buf, sizeof buf));
    return 1;
}

static int run_sched(int argc, char **argv)
{
    if (argc < 4)
        return 2;
    static spec specs[8];
    size_t nspec = 0;
    char *text = argv[2];
    for (char *part = text; part && nspec < 8;) {
        char *bar = strchr(part, '|');
        if (bar)
            *bar = 0;
        nspec++;
        part = bar ? bar + 1 : NULL;
    }
    /* re-walk: strtok in parse_spec needs each part separately */
    char *part = text;
    for (size_t i = 0; i < nspec; i++) {
        size_t len = strlen(part);
        if (parse_spec(part, &specs[i]) < 0) {
            fprintf(stderr, "bad spec\n");
            return 2;
        }
        part += len + 1;
    }
    int nsteps = atoi(argv[3]);
    const char *set_lr = NULL, *set_mom = NULL, *metrics = NULL, *load = NULL, *save = NULL;
    const char *epochs = NULL;
    for (int a = 4; a + 1 < argc; a += 2) {
        if (!strcmp(argv[a], "--set-lr"))
            set_lr = argv[a + 1];
        else if (!strcmp(argv[a], "--set-mom"))
            set_mom = argv[a + 1];
        else if (!strcmp(argv[a], "--metrics"))
            metrics = argv[a + 1];
        else if (!strcmp(argv[a], "--load"))
            load = argv[a + 1];
        else if (!strcmp(argv[a], "--save"))
            save = argv[a + 1];
        else if (!strcmp(argv[a], "--epochs"))
            epochs = argv[a + 1];
    }
    spec *top = &specs[0];
    spec *g0 = nspec > 1 ? &specs[1] : top;
    ckpt_lr_group groups[MAXG];
    memset(groups, 0, sizeof groups);
    ckpt_lr_target t = {g0->ngroups, groups, g0->momentum_kind, false};
    for (size_t i = 0; i < t.ngroups; i++) {
        groups[i].lr = g0->lr[i];
        groups[i].momentum = g0->mom[i];
        if (g0->n_initial) {
            groups[i].initial_lr = g0->initial_lr[i];
            groups[i].has_initial_lr = true;
        }
    }
    ckpt_error err = {0};
    ckpt_sched *s;
    if (nspec > 1) {
        ckpt_sched *kids[7];
        for (size_t i = 1; i < nspec; i++) {
            kids[i - 1] = ckpt_sched_new(&t, &specs[i].cfg, &err);
            if (!kids[i - 1])
                return fail("child", &err);
        }
        top->cfg.children = kids;
        top->cfg.n_children = nspec - 1;
        s = ckpt_sched_new(&t, &top->cfg, &err);
    } else {
        s = ckpt_sched_new(&t, &top->cfg, &err);
    }
    if (!s)
        return fail("new", &err);
    double tmp[MAXG];
    if (set_lr && parse_doubles(set_lr, tmp, MAXG) == t.ngroups)
        for (size_t i = 0; i < t.ngroups; i++)
            groups[i].lr = tmp[i];
    if (set_mom && parse_doubles(set_mom, tmp, MAXG) == t.ngroups)
        for (size_t i = 0; i < t.ngroups; i++)
            groups[i].momentum = tmp[i];
    if (load) {
        ckpt_load_opts lo = {0};
        lo.unsafe_full = true;
        ckpt_doc *d = ckpt_load(load, &lo, &err);
        if (!d || ckpt_sched_load_state_dict(s, ckpt_doc_root(d), &err) < 0) {
            ckpt_doc_free(d);
            ckpt_sched_free(s);
            return fail("load", &err);
        }
        ckpt_doc_free(d);
    }
    double mv[256], ev[256];
    size_t nm = metrics ? parse_doubles(metrics, mv, 256) : 0;
    size_t ne = epochs ? parse_doubles(epochs, ev, 256) : 0;
    print_state(s, &t);
    for (int k = 0; k < nsteps; k++) {
        int rc = top->cfg.kind == CKPT_SCHED_PLATEAU
                     ? ckpt_sched_step_metric(s, nm ? mv[(size_t)k % nm] : 1.0, &err)
                 : ne ? ckpt_sched_step_epoch(s, (int64_t)ev[(size_t)k % ne], &err)
                      : ckpt_sched_step(s, &err);
        if (rc < 0) {
            ckpt_sched_free(s);
            return fail("step", &err);
        }
        print_state(s, &t);
    }
    int rc = 0;
    if (save) {
        ckpt_doc *d = ckpt_doc_new(NULL, &err);
        ckpt_obj *sd = d ? ckpt_sched_state_dict(s, d, &err) : NULL;
        ckpt_save_opts so = {0};
        so.layout = CKPT_LAYOUT_TORCH13;
        so.no_fsync = true;
        if (!sd || ckpt_save(save, sd, &so, &err) < 0)
            rc = fail("save", &err);
        ckpt_doc_free(d);
    }
    ckpt_sched_free(s);
    return rc;
}

static int run_scaler(int argc, char **argv)
{
    if (argc < 8)
        return 2;
    ckpt_grad_scaler gs;
    ckpt_grad_scaler_init(&gs);
    gs.scale = strtof(argv[2], NULL);
    gs.growth_factor = strtod(argv[3], NULL);
    gs.backoff_factor = strtod(argv[4], NULL);
    gs.growth_interval = strtoll(argv[5], NULL, 10);
    for (const char *f = argv[6]; *f; f++) {
        ckpt_grad_scaler_update(&gs, *f == '1');
        printf("%a %d\n", (double)gs.scale, (int)gs.growth_tracker);
    }
    float g[4] = {1.0f, -2.5f, 3e-3f, 7.0f};
    bool inf = ckpt_grad_scaler_unscale_f32(&gs, g, 4);
    printf("unscale %d %a %a %a %a\n", (int)inf, (double)g[0], (double)g[1], (double)g[2],
           (double)g[3]);
    ckpt_error err = {0};
    ckpt_doc *d = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = d ? ckpt_grad_scaler_state_dict(&gs, d, &err) : NULL;
    ckpt_save_opts so = {0};
    so.layout = CKPT_LAYOUT_TORCH13;
    so.no_fsync = true;
    int rc = 0;
    if (!sd || ckpt_save(argv[7], sd, &so, &err) < 0)
        rc = fail("save", &err);
    ckpt_doc_free(d);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "sched"))
        return run_sched(argc, argv);
    if (argc >= 2 && !strcmp(argv[1], "scaler"))
        return run_scaler(argc, argv);
    fprintf(stderr, "usage: sched_tool sched SPEC NSTEPS [...] | scaler ...\n");
    return 2;
}
