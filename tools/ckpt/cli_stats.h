/* tools/ckpt/cli_stats.h - the per-tensor statistics of `ckpt stats` (cmd_stats.c),
 * shared with `ckpt report`. */
#ifndef CKPT_CLI_STATS_H
#define CKPT_CLI_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "ckpt/ckpt.h"

typedef struct tstats {
    int64_t count, finite, nan, inf;
    int64_t zero; /* elements equal to 0 (-0.0 included) */
    double min, max, mean, std;
    bool has; /* a numeric dtype whose bytes are there */
} tstats;

/* Statistics of tensor `t` (described by `ti`) over its view, in double precision;
 * NaN and Inf counted apart and left out of min, max, mean and std (sample std). */
void cli_stats_compute(const ckpt_obj *t, const ckpt_tensor_info *ti, tstats *s);

#endif
