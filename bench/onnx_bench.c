/*
 * bench/onnx_bench.c MODEL BATCH THREADS REPS - time one ONNX model in a ckpt
 * session: session creation (load + session_new), then REPS runs after a
 * warm-up; prints one JSON line {create_ms, median_ms, min_ms, peak_kb}.
 * Inputs: a dynamic first dimension = BATCH, other dynamic dims 1, floats
 * uniform in [-1, 1), integers 0.  peak_kb: peak resident memory (VmHWM)
 * minus the resident memory before the model was read.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "ckpt/ckpt.h"

/* OpenBLAS (the library's GEMM): the core it picked, for the report */
char *openblas_get_corename(void);

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s MODEL BATCH THREADS REPS\n", argv[0]);
        return 2;
    }
    const char *path = argv[1];
    int64_t batch = atoll(argv[2]);
    int threads = atoi(argv[3]), reps = atoi(argv[4]);
    long rss0 = status_kb("VmRSS:");
    ckpt_error err;
    ckpt_error_clear(&err);
    double t0 = now_ms();
    ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, &err);
    ckpt_onnx_session_opts so = {threads, 0};
    ckpt_onnx_session *s = m ? ckpt_onnx_session_new(m, &so, &err) : NULL;
    double create = now_ms() - t0;
    if (!s) {
        char buf[1024];
        fprintf(stderr, "onnx_bench: %s\n", ckpt_error_format(&err, buf, sizeof buf));
        return 1;
    }
    ckpt_onnx_info info;
    ckpt_onnx_get_info(m, &info);
    ckpt_onnx_tensor *in = calloc(info.n_inputs + 1, sizeof *in);
    uint64_t seed = 42;
    for (size_t i = 0; i < info.n_inputs; i++) {
        ckpt_onnx_value_info vi;
        ckpt_onnx_get_input(m, i, &vi);
        in[i].name = vi.name;
        in[i].elem_type = vi.elem_type;
        in[i].ndim = vi.ndim;
        int64_t n = 1;
        for (int k = 0; k < vi.ndim; k++) {
            in[i].shape[k] = vi.shape[k] >= 0 ? vi.shape[k] : (k == 0 ? batch : 1);
            n *= in[i].shape[k];
        }
        size_t es = vi.elem_type == 1 ? 4 : vi.elem_type == 7 ? 8 : vi.elem_type == 11 ? 8 : 4;
        in[i].nbytes = (uint64_t)n * es;
        in[i].data = calloc((size_t)n + 1, es);
        if (vi.elem_type == 1)
            for (int64_t e = 0; e < n; e++) {
                seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                ((float *)in[i].data)[e] = (float)((double)(seed >> 11) / 9007199254740992.0 * 2 -
                                                   1);
            }
    }
    size_t nout = info.n_outputs;
    ckpt_onnx_tensor *out = calloc(nout + 1, sizeof *out);
    double *t = calloc((size_t)reps + 1, sizeof *t);
    for (int w = 0; w < 3 + reps; w++) {
        memset(out, 0, (nout + 1) * sizeof *out);
        double a = now_ms();
        if (ckpt_onnx_run(s, in, info.n_inputs, out, nout, &err) < 0) {
            char buf[1024];
            fprintf(stderr, "onnx_bench: %s\n", ckpt_error_format(&err, buf, sizeof buf));
            return 1;
        }
        double b = now_ms();
        if (w >= 3)
            t[w - 3] = b - a;
    }
    qsort(t, (size_t)reps, sizeof *t, cmp_d);
    long peak = status_kb("VmHWM:");
    printf("{\"create_ms\": %.3f, \"median_ms\": %.4f, \"min_ms\": %.4f, \"peak_kb\": %ld, "
           "\"blas_core\": \"%s\"}\n",
           create, t[reps / 2], t[0], peak - rss0, openblas_get_corename());
    for (size_t i = 0; i < info.n_inputs; i++)
        free(in[i].data);
    free(in);
    free(out);
    free(t);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
    return 0;
}
