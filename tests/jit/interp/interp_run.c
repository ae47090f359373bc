/*
 * tests/jit/interp/interp_run.c - runs a TorchScript fixture with ckpt's
 * interpreter and compares with what torch.jit.load(f)(*inputs) gave
 * (tools/gen/make_jit_interp.py), or checks that hostile code fails cleanly.
 *
 *   interp_run run DIR NAME KIND     NAME_KIND.pt on NAME_in_ARG.npy; outputs
 *                                   vs NAME_KIND_out_K.npy: |a-b| <= 1e-5 + 1e-5|b|
 *   interp_run run-or-skip ...     the same, but skipped (77) when the op library
 *                                   lacks an operator the model calls
 *   interp_run fail FILE.pt INPUT.npy TEXT
 *                                   forward(x=INPUT) fails, its message holds TEXT
 */
#include <dirent.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/formats.h"
#include "ckpt/jit.h"

#define MAXIN 16

static double get(const void *p, int dtype, size_t i)
{
    switch (dtype) {
    case CKPT_F32: return (double)((const float *)p)[i];
    case CKPT_F64: return ((const double *)p)[i];
    case CKPT_I64: return (double)((const int64_t *)p)[i];
    case CKPT_I32: return ((const int32_t *)p)[i];
    case CKPT_BOOL:
    case CKPT_U8: return ((const uint8_t *)p)[i];
    default: return (double)NAN;
    }
}

static int run(const char *dir, const char *name, const char *kind, bool skip_missing_ops)
{
    char path[4096];
    ckpt_error err;
    ckpt_error_clear(&err);
    snprintf(path, sizeof path, "%s/%s_%s.pt", dir, name, kind);
    ckpt_jit_model *m = ckpt_jit_load(path, NULL, &err);
    if (!m) {
        fprintf(stderr, "%s: load: %s\n", path, err.msg);
        return 1;
    }
    /* inputs: NAME_in_ARG.npy */
    ckpt_doc *docs[MAXIN] = {0};
    char argn[MAXIN][128];
    ckpt_jit_value in[MAXIN];
    memset(in, 0, sizeof in);
    size_t n = 0;
    int rc = 1;
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "%s: cannot list\n", dir);
        ckpt_jit_free(m);
        return 1;
    }
    char pre[256];
    snprintf(pre, sizeof pre, "%s_in_", name);
    struct dirent *e;
    while ((e = readdir(d)) != NULL && n < MAXIN) {
        size_t L = strlen(e->d_name);
        if (strncmp(e->d_name, pre, strlen(pre)) != 0 || L < 4 ||
            strcmp(e->d_name + L - 4, ".npy") != 0)
            continue;
        snprintf(argn[n], sizeof argn[n], "%.*s", (int)(L - 4 - strlen(pre)),
                 e->d_name + strlen(pre));
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        docs[n] = ckpt_numpy_load(path, NULL, &err);
        ckpt_tensor_info ti;
        if (!docs[n] || ckpt_tensor_get_info(ckpt_doc_root(docs[n]), &ti) < 0) {
            fprintf(stderr, "%s: %s\n", path, err.msg);
            goto out;
        }
        in[n].name = argn[n];
        if (ti.ndim == 0 &&
            (ti.dtype == CKPT_I64 || ti.dtype == CKPT_F64 || ti.dtype == CKPT_BOOL)) {
            /* a 0-d array stands for an int / float / bool argument */
            const void *p = ckpt_tensor_data(ckpt_doc_root(docs[n]));
            in[n].kind = ti.dtype == CKPT_I64   ? CKPT_JIT_V_INT
                         : ti.dtype == CKPT_F64 ? CKPT_JIT_V_FLOAT
                                                : CKPT_JIT_V_BOOL;
            in[n].i = ti.dtype == CKPT_I64    ? *(const int64_t *)p
                      : ti.dtype == CKPT_BOOL ? *(const uint8_t *)p
                                              : 0;
            in[n].f = ti.dtype == CKPT_F64 ? *(const double *)p : 0;
            n++;
            continue;
        }
        in[n].kind = CKPT_JIT_V_TENSOR;
        in[n].dtype = ti.dtype;
        in[n].ndim = ti.ndim;
        for (int k = 0; k < ti.ndim; k++)
            in[n].shape[k] = ti.shape[k];
        in[n].data = ckpt_tensor_data(ckpt_doc_root(docs[n]));
        n++;
    }
    closedir(d);
    d = NULL;
    const ckpt_jit_value *outs;
    size_t nout;
    if (ckpt_jit_run(m, NULL, in, n, &outs, &nout, &err) < 0) {
        if (skip_missing_ops && strstr(err.msg, "is not in ckpt's op library")) {
            printf("SKIPPED: jit_interp_%s_%s: %s\n", name, kind, err.msg);
            rc = 77;
            goto out;
        }
        fprintf(stderr, "%s_%s: run: %s\n", name, kind, err.msg);
        goto out;
    }
    size_t k;
    double worst = 0;
    for (k = 0;; k++) {
        snprintf(path, sizeof path, "%s/%s_%s_out_%zu.npy", dir, name, kind, k);
        FILE *f = fopen(path, "rb");
        if (!f)
            break;
        fclose(f);
        if (k >= nout) {
            fprintf(stderr, "%s_%s: %zu outputs, torch gave more\n", name, kind, nout);
            goto out;
        }
        ckpt_doc *ref = ckpt_numpy_load(path, NULL, &err);
        ckpt_tensor_info ti;
        if (!ref || ckpt_tensor_get_info(ckpt_doc_root(ref), &ti) < 0) {
            fprintf(stderr, "%s: %s\n", path, err.msg);
            ckpt_doc_free(ref);
            goto out;
        }
        const ckpt_jit_value *o = &outs[k];
        bool same = o->kind == CKPT_JIT_V_TENSOR && o->ndim == ti.ndim;
        for (int j = 0; same && j < ti.ndim; j++)
            same = o->shape[j] == ti.shape[j];
        if (!same) {
            fprintf(stderr, "%s_%s: output %zu: shape differs from torch's\n", name, kind, k);
            ckpt_doc_free(ref);
            goto out;
        }
        const void *rd = ckpt_tensor_data(ckpt_doc_root(ref));
        size_t numel = 1;
        for (int j = 0; j < ti.ndim; j++)
            numel *= (size_t)ti.shape[j];
        size_t bad = 0;
        for (size_t i = 0; i < numel; i++) {
            double a = get(o->data, o->dtype, i), b = get(rd, ti.dtype, i);
            double diff = fabs(a - b);
            if (!(diff <= 1e-5 + 1e-5 * fabs(b))) {
                if (bad++ < 5)
                    fprintf(stderr, "%s_%s: output %zu[%zu]: %.9g, torch %.9g\n", name, kind, k,
                            i, a, b);
            }
            if (diff > worst)
                worst = diff;
        }
        ckpt_doc_free(ref);
        if (bad) {
            fprintf(stderr, "%s_%s: output %zu: %zu of %zu values differ\n", name, kind, k, bad,
                    numel);
            goto out;
        }
    }
    if (k != nout || k == 0) {
        fprintf(stderr, "%s_%s: %zu outputs, torch gave %zu\n", name, kind, nout, k);
        goto out;
    }
    printf("%s_%s: %zu outputs equal to torch's (max abs diff %.3g)\n", name, kind, nout, worst);
    rc = 0;
out:
    if (d)
        closedir(d);
    for (size_t i = 0; i < n; i++)
        ckpt_doc_free(docs[i]);
    ckpt_jit_free(m);
    return rc;
}

static int must_fail(const char *file, const char *input, const char *text)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_jit_model *m = ckpt_jit_load(file, NULL, &err);
    if (!m) {
        fprintf(stderr, "%s: load: %s\n", file, err.msg);
        return 1;
    }
    ckpt_doc *doc = ckpt_numpy_load(input, NULL, &err);
    ckpt_tensor_info ti;
    if (!doc || ckpt_tensor_get_info(ckpt_doc_root(doc), &ti) < 0) {
        fprintf(stderr, "%s: %s\n", input, err.msg);
        ckpt_jit_free(m);
        ckpt_doc_free(doc);
        return 1;
    }
    ckpt_jit_value in;
    memset(&in, 0, sizeof in);
    in.name = "x";
    in.kind = CKPT_JIT_V_TENSOR;
    in.dtype = ti.dtype;
    in.ndim = ti.ndim;
    for (int k = 0; k < ti.ndim; k++)
        in.shape[k] = ti.shape[k];
    in.data = ckpt_tensor_data(ckpt_doc_root(doc));
    const ckpt_jit_value *outs;
    size_t nout;
    int rc = ckpt_jit_run(m, NULL, &in, 1, &outs, &nout, &err);
    /* a second run after the failure must fail the same way (state is clean) */
    ckpt_error err2;
    ckpt_error_clear(&err2);
    int rc2 = ckpt_jit_run(m, NULL, &in, 1, &outs, &nout, &err2);
    ckpt_jit_free(m);
    ckpt_doc_free(doc);
    if (rc >= 0 || rc2 >= 0) {
        fprintf(stderr, "%s: ran, expected an error holding '%s'\n", file, text);
        return 1;
    }
    if (!strstr(err.msg, text) || strcmp(err.msg, err2.msg) != 0) {
        fprintf(stderr, "%s: error '%s' (second run '%s'), expected one holding '%s'\n", file,
                err.msg, err2.msg, text);
        return 1;
    }
    printf("%s: %s\n", file, err.msg);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && !strcmp(argv[1], "run"))
        return run(argv[2], argv[3], argv[4], false);
    if (argc == 5 && !strcmp(argv[1], "run-or-skip"))
        return run(argv[2], argv[3], argv[4], true);
    if (argc == 5 && !strcmp(argv[1], "fail"))
        return must_fail(argv[2], argv[3], argv[4]);
    fprintf(stderr, "usage: interp_run run DIR NAME KIND | fail FILE.pt INPUT.npy TEXT\n");
    return 2;
}
