/* train_amp_tool - mixed-precision training runs of ckpt for the torch interop
 * test (tests/interop/train_amp_interop.py; examples/train_amp.c's path).
 *
 *   train_amp_tool DATA ORDER DTYPE OPT SCHED TOTAL INIT_SCALE INTERVAL INIT START STEPS OUT
 *
 * DTYPE: float16, bfloat16 or float32.  OPT, SCHED, TOTAL: see train_amp.h.
 * INIT_SCALE, INTERVAL: GradScaler(init_scale, growth_interval).  ORDER: one
 * line of AMP_B batch row indices per step.  Start from INIT ({'epoch',
 * 'model', 'optimizer', 'scheduler', 'scaler'}; "-" = a fresh model seeded with
 * 7), train steps START..START+STEPS-1 and write the same dict to OUT.  Prints
 * one line per step: step, loss, scale used, skipped (0/1). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits.h"
#include "train_amp.h"

#define MAX_STEPS 4096

int main(int argc, char **argv)
{
    if (argc != 13) {
        fprintf(stderr, "usage: train_amp_tool DATA ORDER DTYPE OPT SCHED TOTAL INIT_SCALE "
                        "INTERVAL INIT START STEPS OUT\n");
        return 2;
    }
    ckpt_error err;
    ckpt_error_clear(&err);
    digits ds;
    if (digits_load(&ds, argv[1]) < 0)
        return 1;
    int64_t(*order)[AMP_B] = malloc(MAX_STEPS * sizeof *order);
    FILE *f = fopen(argv[2], "r");
    if (!order || !f) {
        fprintf(stderr, "train_amp_tool: cannot read %s\n", argv[2]);
        return 1;
    }
    size_t nsteps = 0;
    for (; nsteps < MAX_STEPS; nsteps++) {
        int i = 0;
        for (; i < AMP_B; i++) {
            long long v;
            if (fscanf(f, "%lld", &v) != 1)
                break;
            if (v < 0 || (size_t)v >= ds.n) {
                fprintf(stderr, "train_amp_tool: row %lld out of range\n", v);
                return 1;
            }
            order[nsteps][i] = v;
        }
        if (i < AMP_B)
            break;
    }
    fclose(f);
    amp_cfg c = {.opt = argv[4],
                 .sched = argv[5],
                 .total_steps = atol(argv[6]),
                 .init_scale = strtof(argv[7], NULL),
                 .growth_interval = atol(argv[8])};
    c.dtype = strcmp(argv[3], "float16") == 0    ? CKPT_F16
              : strcmp(argv[3], "bfloat16") == 0 ? CKPT_BF16
              : strcmp(argv[3], "float32") == 0  ? CKPT_F32
                                                 : -1;
    size_t start = (size_t)atol(argv[10]), steps = (size_t)atol(argv[11]);
    amp_run r;
    char buf[512];
    int rc = 1;
    if (amp_run_new(&r, &c, &err) < 0)
        goto out;
    if (strcmp(argv[9], "-") != 0) {
        int64_t ep = amp_run_load(&r, argv[9], &err);
        if (ep < 0)
            goto out_run;
        if (ep != (int64_t)start) {
            fprintf(stderr, "train_amp_tool: %s holds epoch %lld, not %zu\n", argv[9],
                    (long long)ep, start);
            amp_run_free(&r);
            return 1;
        }
    }
    if (start + steps > nsteps) {
        fprintf(stderr, "train_amp_tool: ORDER has %zu steps\n", nsteps);
        amp_run_free(&r);
        return 1;
    }
    for (size_t s = start; s < start + steps; s++) {
        float x[AMP_B * AMP_IN];
        int64_t y[AMP_B];
        for (int i = 0; i < AMP_B; i++) {
            memcpy(x + i * AMP_IN, ds.x + order[s][i] * AMP_IN, sizeof(float) * AMP_IN);
            y[i] = ds.y[order[s][i]];
        }
        amp_step_info info;
        if (amp_run_step(&r, x, y, &info, &err) < 0)
            goto out_run;
        printf("%zu %.9g %.9g %d\n", s, (double)info.loss, (double)info.scale,
               info.found_inf ? 1 : 0);
    }
    if (amp_run_save(&r, (int64_t)(start + steps), argv[12], NULL, NULL, &err) < 0)
        goto out_run;
    rc = 0;
out_run:
    amp_run_free(&r);
out:
    if (rc)
        fprintf(stderr, "train_amp_tool: %s\n", ckpt_error_format(&err, buf, sizeof buf));
    free(order);
    digits_free(&ds);
    return rc;
}
