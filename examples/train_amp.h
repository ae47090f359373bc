/* examples/train_amp.h - mixed-precision training of a small MLP in C, as
 * torch's CPU autocast runs it, with a GradScaler (issue 6).
 *
 * Model: Sequential(Linear(64,32), ReLU(), Linear(32,10)) on the 8x8 digits,
 * cross-entropy, batch AMP_B.  Master weights stay float32.  With a reduced
 * dtype (CKPT_F16 or CKPT_BF16) each Linear rounds its input, weight and bias
 * to that dtype, multiplies with float32 accumulation and rounds its output;
 * the ReLU works on reduced values; the loss is float32 cross-entropy on the
 * float32 copy of the reduced logits.  Backward goes through the same
 * roundings (every gradient a reduced-dtype op produces is rounded, so a
 * float16 gradient past 65504 becomes inf), the parameter gradients arrive as
 * float32 (the backward of the cast), and the loss is scaled by the scaler's
 * scale before backward.  The gradients are then unscaled (inf/NaN check),
 * the optimizer step skipped when one is not finite, and the scaler updated
 * (backoff on inf, growth after growth_interval clean steps).  CKPT_F32 gives
 * the plain float32 path.  All roundings are ckpt_convert_elements' (torch's
 * `.to(dtype)`, round to nearest even).  Forward and backward are written
 * with the explicit kernel tier (ckpt/kernels.h), since every reduced-dtype
 * op needs its own rounding; only installed headers are used. */
#ifndef CKPT_EXAMPLES_TRAIN_AMP_H
#define CKPT_EXAMPLES_TRAIN_AMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ckpt/ckpt.h>

#define AMP_B 32
#define AMP_IN 64
#define AMP_HID 32
#define AMP_OUT 10

typedef struct amp_cfg {
    const char *opt;         /* "sgd" (lr 0.05, momentum 0.9), "adam" (lr 0.001) */
    const char *sched;       /* "none", "step" (StepLR(10, 0.5)), "onecycle" */
    int64_t total_steps;     /* OneCycleLR's total_steps */
    int dtype;               /* CKPT_F16, CKPT_BF16 or CKPT_F32 */
    float init_scale;        /* GradScaler(init_scale=...) */
    int64_t growth_interval; /* GradScaler(growth_interval=...) */
} amp_cfg;

typedef struct amp_run {
    int dtype;
    ckpt_module *model; /* seeded with 7 */
    ckpt_slot *w1, *b1, *w2, *b2;
    float *grads; /* the four gradients, one block, lent to the slots' grad */
    ckpt_optim *opt;
    ckpt_sched *sched; /* NULL for "none"; attached to opt (sets its lr) */
    ckpt_grad_scaler scaler;
} amp_run;

/* What one training step saw. */
typedef struct amp_step_info {
    float loss;       /* unscaled float32 loss */
    float scale;      /* the scale the loss was multiplied by */
    bool dlogits_inf; /* the reduced-dtype gradient of the logits overflowed */
    bool found_inf;   /* a parameter gradient was inf/NaN: the step was skipped */
} amp_step_info;

/* Round `n` floats in place to `dtype` and back (no-op for CKPT_F32). */
void amp_round(float *x, size_t n, int dtype);

int amp_run_new(amp_run *r, const amp_cfg *c, ckpt_error *err);
void amp_run_free(amp_run *r);
/* Load {'epoch', 'model', 'optimizer', 'scheduler', 'scaler'}; returns epoch or < 0. */
int64_t amp_run_load(amp_run *r, const char *path, ckpt_error *err);
/* Save that dict to `path`, or (path NULL) into *mem / *len (free() it). */
int amp_run_save(const amp_run *r, int64_t epoch, const char *path, void **mem, size_t *len,
                 ckpt_error *err);
/* One training step on the batch x (AMP_B, AMP_IN), y (AMP_B); scheduler stepped too. */
int amp_run_step(amp_run *r, const float *x, const int64_t *y, amp_step_info *info,
                 ckpt_error *err);

#endif
