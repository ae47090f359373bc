/* train_amp_scaler - the GradScaler's rules on real reduced-precision overflow
 * (issue 6; examples/train_amp.c's float16/bfloat16 path).
 *
 *   train_amp_scaler DATA
 *
 * float16, init_scale 2^24, growth_interval 5, SGD with momentum: the scaled float16
 * gradients overflow to inf (the same step in float32 does not), every such
 * step is skipped (parameters and optimizer state bit-unchanged) and backs the
 * scale off by backoff_factor; training then proceeds (the loss falls) and the
 * scale grows by growth_factor after each growth_interval clean steps.
 * bfloat16 with the same scale never overflows and only grows. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits.h"
#include "train_amp.h"

#define STEPS 60
#define INTERVAL 5

static ckpt_error err;
static int failures;

#define CHECK(cond, ...)                                                                         \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "train_amp_scaler: FAIL %s: ", #cond);                               \
            fprintf(stderr, __VA_ARGS__);                                                        \
            fputc('\n', stderr);                                                                 \
            failures++;                                                                          \
        }                                                                                        \
    } while (0)

static void die(const char *what)
{
    char buf[512];
    fprintf(stderr, "train_amp_scaler: %s: %s\n", what, ckpt_error_format(&err, buf, sizeof buf));
    exit(1);
}

/* Parameters and the optimizer's state dict, as bytes. */
typedef struct snapshot {
    float p[AMP_HID * AMP_IN + AMP_HID + AMP_OUT * AMP_HID + AMP_OUT];
    void *opt;
    size_t opt_len;
} snapshot;

static void take(snapshot *s, const amp_run *r)
{
    const ckpt_slot *ps[4] = {r->w1, r->b1, r->w2, r->b2};
    size_t off = 0;
    for (int i = 0; i < 4; i++) {
        memcpy(s->p + off, ps[i]->data, ps[i]->nbytes);
        off += ps[i]->nbytes / sizeof(float);
    }
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    if (!doc)
        die("ckpt_doc_new");
    ckpt_obj *sd = ckpt_optim_state_dict(r->opt, doc, &err);
    ckpt_save_opts so = {.layout = CKPT_LAYOUT_TORCH13, .archive = "archive"};
    if (!sd || ckpt_save_mem(sd, &so, &s->opt, &s->opt_len, &err) < 0)
        die("optimizer state dict");
    ckpt_doc_free(doc);
}

static void batch(const digits *ds, const int64_t *perm, size_t step, float *x, int64_t *y)
{
    size_t per_epoch = ds->n / AMP_B;
    for (size_t i = 0; i < AMP_B; i++) {
        int64_t row = perm[(step % per_epoch) * AMP_B + i];
        memcpy(x + i * AMP_IN, ds->x + (size_t)row * AMP_IN, sizeof(float) * AMP_IN);
        y[i] = ds->y[row];
    }
}

/* Train STEPS steps in `dtype`, checking the scaler's rules on every step. */
static void scenario(const digits *ds, const int64_t *perm, int dtype, int *skips, int *grows,
                     int *first_skip)
{
    const char *name = dtype == CKPT_F16 ? "float16" : "bfloat16";
    amp_cfg c = {.opt = "sgd",
                 .sched = "none",
                 .dtype = dtype,
                 .init_scale = 16777216.0f,
                 .growth_interval = INTERVAL};
    amp_run r;
    if (amp_run_new(&r, &c, &err) < 0)
        die("amp_run_new");
    float x[AMP_B * AMP_IN];
    int64_t y[AMP_B];
    double first_loss = 0, last_loss = 0;
    int clean_run = 0;
    *skips = *grows = 0;
    *first_skip = 0;
    for (size_t s = 0; s < STEPS; s++) {
        batch(ds, perm, s, x, y);
        snapshot before, after;
        take(&before, &r);
        float scale = r.scaler.scale;
        int32_t tracker = r.scaler.growth_tracker;
        amp_step_info info;
        if (amp_run_step(&r, x, y, &info, &err) < 0)
            die("amp_run_step");
        take(&after, &r);
        bool same = memcmp(before.p, after.p, sizeof before.p) == 0 &&
                    before.opt_len == after.opt_len &&
                    memcmp(before.opt, after.opt, before.opt_len) == 0;
        CHECK(info.scale == scale, "%s step %zu: loss scaled by %g, scale was %g", name, s,
              (double)info.scale, (double)scale);
        if (info.found_inf) {
            (*skips)++;
            if (s == 0)
                *first_skip = 1;
            CHECK(same, "%s step %zu: skipped step changed parameters or optimizer state", name,
                  s);
            CHECK(r.scaler.scale == scale * 0.5f, "%s step %zu: scale %g -> %g, not backed off",
                  name, s, (double)scale, (double)r.scaler.scale);
            CHECK(r.scaler.growth_tracker == 0, "%s step %zu: tracker not reset", name, s);
            clean_run = 0;
            printf("  %s step %2zu: scale %-10g inf/NaN gradient (dlogits overflowed: %s) -> "
                   "step skipped, scale %g\n",
                   name, s, (double)scale, info.dlogits_inf ? "yes" : "no",
                   (double)r.scaler.scale);
        } else {
            CHECK(!same, "%s step %zu: clean step left the parameters unchanged", name, s);
            clean_run++;
            CHECK(isfinite(info.loss), "%s step %zu: loss %g", name, s, (double)info.loss);
            if (clean_run % INTERVAL == 0) {
                (*grows)++;
                CHECK(r.scaler.scale == scale * 2.0f && r.scaler.growth_tracker == 0,
                      "%s step %zu: after %d clean steps scale %g -> %g (tracker %d)", name, s,
                      INTERVAL, (double)scale, (double)r.scaler.scale,
                      (int)r.scaler.growth_tracker);
                printf("  %s step %2zu: %d clean steps -> scale grows %g -> %g\n", name, s,
                       INTERVAL, (double)scale, (double)r.scaler.scale);
            } else {
                CHECK(r.scaler.scale == scale && r.scaler.growth_tracker == tracker + 1,
                      "%s step %zu: scale %g -> %g, tracker %d -> %d", name, s, (double)scale,
                      (double)r.scaler.scale, (int)tracker, (int)r.scaler.growth_tracker);
            }
            if (first_loss == 0)
                first_loss = (double)info.loss;
            last_loss = (double)info.loss;
        }
        free(before.opt);
        free(after.opt);
    }
    CHECK(last_loss < 0.75 * first_loss, "%s: loss %g -> %g, training did not proceed", name,
          first_loss, last_loss);
    printf("%s: %d skipped steps, %d growths, loss %.4f -> %.4f, final scale %g\n", name, *skips,
           *grows, first_loss, last_loss, (double)r.scaler.scale);
    amp_run_free(&r);
}

int main(int argc, char **argv)
{
    digits ds;
    if (digits_load(&ds, argc > 1 ? argv[1] : NULL) < 0)
        return 1;
    int64_t *perm = malloc(ds.n * sizeof *perm);
    if (!perm)
        return 1;
    digits_permutation(perm, ds.n, 5);

    /* the overflow is float16's: the same first step in float32 stays finite */
    {
        amp_cfg c = {.opt = "adam",
                     .sched = "none",
                     .dtype = CKPT_F32,
                     .init_scale = 16777216.0f,
                     .growth_interval = INTERVAL};
        amp_run r;
        float x[AMP_B * AMP_IN];
        int64_t y[AMP_B];
        amp_step_info info;
        batch(&ds, perm, 0, x, y);
        if (amp_run_new(&r, &c, &err) < 0 || amp_run_step(&r, x, y, &info, &err) < 0)
            die("float32 step");
        CHECK(!info.found_inf && !info.dlogits_inf, "float32 at scale 2^24 overflowed");
        amp_run_free(&r);
    }
    int skips, grows, first_skip;
    scenario(&ds, perm, CKPT_F16, &skips, &grows, &first_skip);
    CHECK(first_skip, "float16 at scale 2^24: the first step did not overflow");
    CHECK(skips >= 2, "float16: %d skipped steps, expected several backoffs", skips);
    CHECK(grows >= 1, "float16: the scale never grew");
    scenario(&ds, perm, CKPT_BF16, &skips, &grows, &first_skip);
    CHECK(skips == 0, "bfloat16 at scale 2^24: %d skipped steps (range is float32's)", skips);
    CHECK(grows == STEPS / INTERVAL, "bfloat16: %d growths, expected %d", grows,
          STEPS / INTERVAL);
    free(perm);
    digits_free(&ds);
    if (failures) {
        fprintf(stderr, "train_amp_scaler: %d failures\n", failures);
        return 1;
    }
    printf("train_amp_scaler: ok\n");
    return 0;
}
