/* tools/ckpt/cmd_run_jit.c - `ckpt run` on TorchScript, lite, full-model and
 * .pt2 archives: inputs by the forward's argument names, outputs written as
 * output_0.npy, output_1.npy, ... in the order of the flattened result. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ckpt/ckpt.h"
#include "ckpt/formats.h"
#include "ckpt/jit.h"
#include "cli.h"
#include "cli_jit.h"

int cmd_run_jit(const char *path, const char *method, const char *const *names,
                const char *const *values, size_t n, const char *outdir, int threads,
                long long repeat, bool json, bool *not_jit);

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static bool has_suffix(const char *s, const char *suf)
{
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

/* A literal: True/False/None, an int, a float, else a string. */
static void literal(const char *v, ckpt_jit_value *out)
{
    char *end;
    if (!strcmp(v, "True") || !strcmp(v, "true")) {
        out->kind = CKPT_JIT_V_BOOL;
        out->i = 1;
        return;
    }
    if (!strcmp(v, "False") || !strcmp(v, "false")) {
        out->kind = CKPT_JIT_V_BOOL;
        out->i = 0;
        return;
    }
    if (!strcmp(v, "None")) {
        out->kind = CKPT_JIT_V_NONE;
        return;
    }
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (v[0] && !*end && !errno) {
        out->kind = CKPT_JIT_V_INT;
        out->i = x;
        return;
    }
    double d = strtod(v, &end);
    if (v[0] && !*end) {
        out->kind = CKPT_JIT_V_FLOAT;
        out->f = d;
        return;
    }
    out->kind = CKPT_JIT_V_STR;
    out->s = v;
}

static void print_value(const ckpt_jit_value *o, char *buf, size_t n)
{
    switch (o->kind) {
    case CKPT_JIT_V_INT: snprintf(buf, n, "int %" PRId64, o->i); break;
    case CKPT_JIT_V_BOOL: snprintf(buf, n, "bool %s", o->i ? "True" : "False"); break;
    case CKPT_JIT_V_FLOAT: snprintf(buf, n, "float %.17g", o->f); break;
    case CKPT_JIT_V_STR: snprintf(buf, n, "str '%.200s'", o->s ? o->s : ""); break;
    default: snprintf(buf, n, "None");
    }
}

int cmd_run_jit(const char *path, const char *method, const char *const *names,
                const char *const *values, size_t n, const char *outdir, int threads,
                long long repeat, bool json, bool *not_jit)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    *not_jit = false;
    ckpt_jit_load_opts lo = {0};
    lo.threads = threads;
    ckpt_jit_model *m = ckpt_jit_load(path, &lo, &err);
    if (!m) {
        if (!cli_jit_file(path)) {
            char why[320];
            const char *kind = ckpt_detect_file(path, why, sizeof why, NULL);
            if (strncmp(kind, "torch", 5) != 0) {
                *not_jit = true;
                return EXIT_ERROR;
            }
        }
        cli_print_error("run", &err);
        return EXIT_ERROR;
    }
    int code = EXIT_ERROR;
    ckpt_doc **docs = calloc(n ? n : 1, sizeof *docs);
    ckpt_jit_value *in = calloc(n ? n : 1, sizeof *in);
    double *times = calloc((size_t)repeat, sizeof *times);
    ckpt_doc *odoc = NULL;
    cJSON *jo = json ? cJSON_CreateObject() : NULL;
    if (!docs || !in || !times) {
        fprintf(stderr, "ckpt run: out of memory\n");
        goto out;
    }
    size_t na = 0;
    const char *const *anames = NULL, *const *atypes = NULL;
    /* a full-model pickle or a .pt2 program may declare no signature: inputs then
     * bind in the order given */
    bool sig = ckpt_jit_signature(m, method, &na, &anames, &atypes, &err) == 0;
    if (!sig &&
        (ckpt_jit_format(m) == CKPT_JIT_TORCHSCRIPT || ckpt_jit_format(m) == CKPT_JIT_LITE)) {
        cli_print_error("run", &err);
        goto out;
    }
    ckpt_error_clear(&err);
    for (size_t k = 0; sig && k < n; k++) {
        bool known = false;
        for (size_t a = 0; a < na; a++)
            known = known || !strcmp(names[k], anames[a]);
        if (!known) {
            fprintf(stderr, "ckpt run: %s: %s() has no argument '%s' (arguments:", path, method,
                    names[k]);
            for (size_t a = 0; a < na; a++)
                fprintf(stderr, " %s", anames[a]);
            fprintf(stderr, ")\n");
            goto out;
        }
    }
    for (size_t k = 0; k < n; k++) {
        const char *v = values[k];
        in[k].name = names[k];
        struct stat sb;
        if (has_suffix(v, ".npy") || (stat(v, &sb) == 0 && S_ISREG(sb.st_mode))) {
            docs[k] = ckpt_numpy_load(v, NULL, &err);
            if (!docs[k]) {
                cli_print_error("run", &err);
                goto out;
            }
            ckpt_tensor_info ti;
            const ckpt_obj *t = ckpt_doc_root(docs[k]);
            if (ckpt_tensor_get_info(t, &ti) < 0 || ti.ndim > CKPT_ONNX_MAX_RANK) {
                fprintf(stderr, "ckpt run: %s: not a single .npy array of at most %d dims\n", v,
                        CKPT_ONNX_MAX_RANK);
                goto out;
            }
            in[k].kind = CKPT_JIT_V_TENSOR;
            in[k].dtype = ti.dtype;
            in[k].ndim = ti.ndim;
            for (int d = 0; d < ti.ndim; d++)
                in[k].shape[d] = ti.shape[d];
            in[k].data = ckpt_tensor_data(t);
            if (!in[k].data && ti.nbytes) {
                fprintf(stderr, "ckpt run: %s: cannot read the array's data\n", v);
                goto out;
            }
        } else {
            literal(v, &in[k]);
        }
    }
    /* every argument after self must be given: a Tensor has no declared shape to synthesise */
    for (size_t a = 0; a < na; a++) {
        bool given = false;
        for (size_t k = 0; k < n; k++)
            given = given || !strcmp(names[k], anames[a]);
        if (!given && atypes && atypes[a] && strstr(atypes[a], "Tensor") &&
            !strstr(atypes[a], "Optional")) {
            fprintf(stderr,
                    "ckpt run: %s: %s() argument '%s' (%s) has no declared shape: give it with "
                    "--input %s=FILE.npy\n",
                    path, method, anames[a], atypes[a], anames[a]);
            goto out;
        }
    }
    const ckpt_jit_value *outs = NULL;
    size_t nout = 0;
    for (long long r = 0; r < repeat; r++) {
        double t0 = now_ms();
        if (ckpt_jit_run(m, method, in, n, &outs, &nout, &err) < 0) {
            if (!err.file[0])
                snprintf(err.file, sizeof(err.file), "%.250s", path);
            cli_print_error("run", &err);
            goto out;
        }
        times[r] = now_ms() - t0;
    }
    double mean = 0, mn = times[0];
    for (long long r = 0; r < repeat; r++) {
        mean += times[r];
        if (times[r] < mn)
            mn = times[r];
    }
    mean /= (double)repeat;
    if (outdir && mkdir(outdir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "ckpt run: cannot create %s: %s\n", outdir, strerror(errno));
        goto out;
    }
    odoc = ckpt_doc_new(NULL, &err);
    if (!odoc) {
        cli_print_error("run", &err);
        goto out;
    }
    if (json) {
        cJSON_AddStringToObject(jo, "model", path);
        cJSON_AddStringToObject(jo, "format", ckpt_jit_format_name(ckpt_jit_format(m)));
        cJSON_AddStringToObject(jo, "method", method);
        cJSON_AddNumberToObject(jo, "threads", threads);
    } else {
        printf("%s: %s, %s() with %zu input%s; %lld run%s on %d thread%s: first %.3f ms, mean "
               "%.3f ms, min %.3f ms\n",
               path, ckpt_jit_format_name(ckpt_jit_format(m)), method, n, n == 1 ? "" : "s",
               repeat, repeat == 1 ? "" : "s", threads, threads == 1 ? "" : "s", times[0], mean,
               mn);
    }
    cJSON *jout = json ? cJSON_AddArrayToObject(jo, "outputs") : NULL;
    for (size_t i = 0; i < nout; i++) {
        const ckpt_jit_value *o = &outs[i];
        char name[32], file[4400] = "", desc[300];
        snprintf(name, sizeof name, "output_%zu", i);
        if (o->kind == CKPT_JIT_V_TENSOR) {
            size_t o2 = (size_t)snprintf(desc, sizeof desc, "%s [", ckpt_dtype_name(o->dtype));
            for (int d = 0; d < o->ndim && o2 < sizeof desc; d++)
                o2 += (size_t)snprintf(desc + o2, sizeof desc - o2, "%s%" PRId64, d ? ", " : "",
                                       o->shape[d]);
            if (o2 < sizeof desc)
                snprintf(desc + o2, sizeof desc - o2, "]");
            if (outdir) {
                snprintf(file, sizeof file, "%s/%s.npy", outdir, name);
                ckpt_obj *t = ckpt_tensor_new_copy(odoc, o->dtype, o->ndim, o->shape, o->data,
                                                   &err);
                if (!t || ckpt_npy_save(file, t, &err) < 0) {
                    cli_print_error("run", &err);
                    goto out;
                }
            }
        } else {
            print_value(o, desc, sizeof desc);
        }
        if (json) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "name", name);
            cJSON_AddStringToObject(x, "value", desc);
            if (file[0])
                cJSON_AddStringToObject(x, "file", file);
            cJSON_AddItemToArray(jout, x);
        } else {
            printf("  %-12s %-30s%s%s\n", name, desc, file[0] ? "  -> " : "", file);
        }
    }
    if (json) {
        cJSON *t = cJSON_AddObjectToObject(jo, "timing_ms");
        cJSON_AddNumberToObject(t, "first", times[0]);
        cJSON_AddNumberToObject(t, "mean", mean);
        cJSON_AddNumberToObject(t, "min", mn);
        cJSON_AddNumberToObject(jo, "runs", (double)repeat);
        char *txt = cJSON_Print(jo);
        if (txt)
            printf("%s\n", txt);
        cJSON_free(txt);
    }
    code = EXIT_OK;
out:
    cJSON_Delete(jo);
    ckpt_doc_free(odoc);
    for (size_t k = 0; docs && k < n; k++)
        ckpt_doc_free(docs[k]);
    free(docs);
    free(in);
    free(times);
    ckpt_jit_free(m);
    return code;
}
