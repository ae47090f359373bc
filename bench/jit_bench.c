/*
 * bench/jit_bench.c - time TorchScript (and other jit) models in ckpt.
 *   jit_bench load PATH REPS            -> {"load_ms": median, "min_ms": min}
 *   jit_bench run PATH D0,D1,... REPS   -> {"load_ms", "median_ms", "min_ms", "peak_kb"}
 * One thread.  Inputs: float32 uniform in [-1, 1) of the given shape (one
 * tensor argument).  peak_kb: peak resident memory (VmHWM) minus the
 * resident memory before the model was read.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "ckpt/ckpt.h"

static void fail(const char *what, const ckpt_error *err)
{
    printf("{\"error\": \"%s: %s\"}\n", what, err->msg);
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc < 4 || (strcmp(argv[1], "load") && strcmp(argv[1], "run")) ||
        (!strcmp(argv[1], "run") && argc < 5)) {
        fprintf(stderr, "usage: %s load PATH REPS | run PATH D0,D1,... REPS\n", argv[0]);
        return 2;
    }
    bool run = !strcmp(argv[1], "run");
    const char *path = argv[2];
    int reps = atoi(argv[run ? 4 : 3]);
    if (reps < 1)
        reps = 1;
    double *t = calloc((size_t)reps, sizeof *t);
    ckpt_error err;
    ckpt_error_clear(&err);
    long rss0 = status_kb("VmRSS:");
    if (!run) {
        for (int r = 0; r < reps; r++) {
            double t0 = now_ms();
            ckpt_jit_model *m = ckpt_jit_load(path, NULL, &err);
            t[r] = now_ms() - t0;
            if (!m)
                fail("load", &err);
            ckpt_jit_free(m);
        }
        qsort(t, (size_t)reps, sizeof *t, cmp_d);
        printf("{\"load_ms\": %.4f, \"min_ms\": %.4f}\n", t[reps / 2], t[0]);
        free(t);
        return 0;
    }
    ckpt_jit_value in = {.kind = CKPT_JIT_V_TENSOR, .dtype = CKPT_F32};
    int64_t n = 1;
    for (char *s = argv[3]; *s && in.ndim < CKPT_ONNX_MAX_RANK;) {
        in.shape[in.ndim] = strtoll(s, &s, 10);
        n *= in.shape[in.ndim++];
        if (*s == ',')
            s++;
    }
    float *x = malloc((size_t)n * sizeof *x);
    uint64_t seed = 42;
    for (int64_t i = 0; i < n; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        x[i] = (float)((double)(seed >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    in.data = x;
    double t0 = now_ms();
    ckpt_jit_model *m = ckpt_jit_load(path, &(ckpt_jit_load_opts){.threads = 1}, &err);
    double load_ms = now_ms() - t0;
    if (!m)
        fail("load", &err);
    const ckpt_jit_value *out;
    size_t n_out;
    for (int w = 0; w < 3; w++)
        if (ckpt_jit_run(m, NULL, &in, 1, &out, &n_out, &err) < 0)
            fail("run", &err);
    for (int r = 0; r < reps; r++) {
        double a = now_ms();
        if (ckpt_jit_run(m, NULL, &in, 1, &out, &n_out, &err) < 0)
            fail("run", &err);
        t[r] = now_ms() - a;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_d);
    printf("{\"load_ms\": %.4f, \"median_ms\": %.4f, \"min_ms\": %.4f, \"peak_kb\": %ld}\n",
           load_ms, t[reps / 2], t[0], status_kb("VmHWM:") - rss0);
    ckpt_jit_free(m);
    free(x);
    free(t);
    return 0;
}
