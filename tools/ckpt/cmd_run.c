/* tools/ckpt/cmd_run.c - `ckpt run`: run an ONNX model on .npy inputs. */
#define _GNU_SOURCE
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "cli_onnx.h"
#include "onnx/onnx_internal.h"

static const char help[] =
    "usage: ckpt run MODEL.onnx [--input NAME=FILE.npy]... [--output-dir DIR] [--threads N]\n"
    "                [--repeat N] [--seed S] [--json]\n"
    "       ckpt run MODEL.pt [--input ARG=FILE.npy|ARG=LITERAL]... [--method NAME] [...]\n"
    "\n"
    "Run an ONNX model with ckpt's own runtime (no Python, no ONNX Runtime) and print,\n"
    "for each graph output, its name, dtype, shape and the time of the run.\n"
    "TorchScript, lite, full-model (torch.save(model)) and torch.export (.pt2) files\n"
    "run their forward (or --method) with inputs named by its arguments: a .npy file\n"
    "for a tensor, a literal (16000, 0.5, True, None, text) otherwise; the flattened\n"
    "result is written as DIR/output_0.npy, output_1.npy, ...  A Tensor argument has no\n"
    "declared shape, so it must be given.\n"
    "\n"
    "  --input NAME=FILE  the value of graph input NAME: a .npy file (np.save), or a\n"
    "                     serialized ONNX TensorProto (.pb, as in ONNX's test data).  The\n"
    "                     dtype must be the input's (float16/32/64 are converted into\n"
    "                     each other).  Inputs not given are random, of the declared\n"
    "                     dtype and shape, a dynamic dimension taken as 1: floats\n"
    "                     uniform in [-1, 1), integers in [0, 4), bools 0/1; the seed\n"
    "                     is printed so a run can be repeated\n"
    "  --output-dir DIR   write each output as DIR/<output name>.npy (characters other\n"
    "                     than letters, digits, '.', '-' and '_' become '_'); DIR is\n"
    "                     created if missing\n"
    "  --threads N        kernels split their work N ways (default 1)\n"
    "  --repeat N         run N times (default 1); the timing line gives the first run,\n"
    "                     and the mean and fastest of all N\n"
    "  --seed S           seed of the random inputs (default: from the clock)\n"
    "  --json             one JSON object: model, seed, inputs, outputs (name, dtype,\n"
    "                     shape, file), timing_ms {first, mean, min}, runs\n"
    "\n"
    "Exit status: 0 the model ran, 2 error (unreadable model, an op without a kernel,\n"
    "a missing or mismatched input, a kernel's error naming the node).\n";

#define MAX_INPUTS 256

/* TorchScript / lite / full-model / .pt2 (cmd_run_jit.c); *not_jit when the file is none of them */
int cmd_run_jit(const char *path, const char *method, const char *const *names,
                const char *const *values, size_t n, const char *outdir, int threads,
                long long repeat, bool json, bool *not_jit);

typedef struct given {
    const char *name, *file;
} given;

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static bool is_float(int et)
{
    return et == OX_FLOAT || et == OX_DOUBLE || et == OX_FLOAT16 || et == OX_BFLOAT16;
}

/* A random tensor of the declared type of `v`. */
static int random_input(const ox_value *v, uint64_t *seed, ox_val *out, char *msg, size_t mn)
{
    const ox_type *t = &v->type;
    if (!t->known || t->kind != OX_KIND_TENSOR || t->rank < 0) {
        snprintf(msg, mn,
                 "input '%s' has no declared tensor type and shape: give it with --input",
                 v->name);
        return -1;
    }
    if (t->dtype == OX_STRING || !ox_dtype_size(t->dtype) || t->dtype == OX_COMPLEX64 ||
        t->dtype == OX_COMPLEX128) {
        snprintf(msg, mn, "input '%s' is %s: give it with --input", v->name,
                 cli_onnx_dtype_name(t->dtype));
        return -1;
    }
    int64_t dims[OX_MAX_RANK];
    for (int i = 0; i < t->rank; i++)
        dims[i] = t->dims[i] < 0 ? 1 : t->dims[i];
    ckpt_error e;
    ckpt_error_clear(&e);
    if (ox_val_reshape_alloc(out, t->dtype, t->rank, dims, &e) < 0 || out->numel > (1 << 28)) {
        snprintf(msg, mn, "input '%s': cannot make a random tensor of that shape", v->name);
        return -1;
    }
    for (int64_t i = 0; i < out->numel; i++) {
        uint64_t r = rng_next(seed);
        double x;
        if (is_float(t->dtype))
            x = (double)(r >> 11) * (1.0 / 9007199254740992.0) * 2.0 - 1.0;
        else if (t->dtype == OX_BOOL)
            x = (double)(r & 1);
        else
            x = (double)(r & 3);
        ox_set_f64(out, i, x);
    }
    return 0;
}

/* An input from a file: .npy (numpy) or a TensorProto (.pb). */
static int file_input(const char *file, int want, ox_val *out, ckpt_error *err)
{
    char why[320];
    const char *kind = ckpt_detect_file(file, why, sizeof(why), NULL);
    if (strcmp(kind, "onnx-tensor") == 0) {
        FILE *f = fopen(file, "rb");
        if (!f) {
            err->code = CKPT_E_IO;
            snprintf(err->msg, sizeof(err->msg), "%s: %s", file, strerror(errno));
            return -1;
        }
        long sz = -1;
        if (fseek(f, 0, SEEK_END) == 0)
            sz = ftell(f);
        void *buf = sz > 0 && fseek(f, 0, SEEK_SET) == 0 ? malloc((size_t)sz) : NULL;
        int rc = -1;
        if (buf && fread(buf, 1, (size_t)sz, f) == (size_t)sz)
            rc = ox_tensor_from_pb(buf, (size_t)sz, out, NULL, file, err);
        else {
            err->code = CKPT_E_IO;
            snprintf(err->msg, sizeof(err->msg), "%s: cannot read", file);
        }
        free(buf);
        fclose(f);
        return rc;
    }
    ckpt_doc *doc = ckpt_numpy_load(file, NULL, err);
    if (!doc)
        return -1;
    const ckpt_obj *t = ckpt_doc_root(doc);
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) < 0 || ti.ndim > OX_MAX_RANK) {
        err->code = CKPT_E_FORMAT;
        snprintf(err->msg, sizeof(err->msg), "%s: not a single .npy array of at most %d dims",
                 file, OX_MAX_RANK);
        ckpt_doc_free(doc);
        return -1;
    }
    int et = ox_dtype_from_ckpt(ti.dtype);
    if (!et) {
        err->code = CKPT_E_UNSUPPORTED;
        snprintf(err->msg, sizeof(err->msg), "%s: dtype %s has no ONNX element type", file,
                 ckpt_dtype_name(ti.dtype));
        ckpt_doc_free(doc);
        return -1;
    }
    int rc = ox_val_reshape_alloc(out, et, ti.ndim, ti.shape, err);
    if (rc == 0)
        rc = ckpt_tensor_copy_into(t, out->data, ox_val_nbytes(out), err);
    ckpt_doc_free(doc);
    if (rc < 0)
        return -1;
    (void)want;
    return 0;
}

/* Convert between float16/bfloat16/float32/float64 when the model wants another one. */
static int coerce(ox_val *v, int want, const char *name, ckpt_error *err)
{
    if (!want || v->dtype == want)
        return 0;
    if (!is_float(v->dtype) || !is_float(want)) {
        err->code = CKPT_E_ARG;
        snprintf(err->msg, sizeof(err->msg), "input '%s' is %s but the model declares %s", name,
                 ox_dtype_name(v->dtype), ox_dtype_name(want));
        return -1;
    }
    ox_val t;
    memset(&t, 0, sizeof(t));
    if (ox_val_reshape_alloc(&t, want, v->rank, v->dims, err) < 0)
        return -1;
    ckpt_convert_elements(t.data, ox_dtype_to_ckpt(want), v->data, ox_dtype_to_ckpt(v->dtype),
                          (size_t)v->numel);
    ox_val_clear(v);
    *v = t;
    return 0;
}

static void shape_text(char *buf, size_t n, const int64_t *v, int nd)
{
    size_t o = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < nd && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%" PRId64, i ? ", " : "", v[i]);
    if (o < n)
        snprintf(buf + o, n - o, "]");
}

static void safe_name(const char *s, char *out, size_t n)
{
    size_t k = 0;
    for (; *s && k + 1 < n; s++) {
        char c = *s;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        out[k++] = ok ? c : '_';
    }
    out[k] = '\0';
    if (k == 0 || strcmp(out, ".") == 0 || strcmp(out, "..") == 0)
        snprintf(out, n, "output_%zu", k);
}

static int parse_int(const char *opt, const char *v, long long lo, long long hi, long long *out)
{
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (!v[0] || *end || errno || x < lo || x > hi) {
        fprintf(stderr, "ckpt run: %s takes an integer in [%lld, %lld], not '%s'\n", opt, lo, hi,
                v);
        return -1;
    }
    *out = x;
    return 0;
}

int cmd_run(int argc, char **argv)
{
    const char *path = NULL, *outdir = NULL, *method = "forward";
    given gv[MAX_INPUTS];
    size_t ng = 0;
    long long threads = 1, repeat = 1, seed_arg = -1;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(help, stdout);
            return EXIT_OK;
        }
        bool takes = strcmp(a, "--input") == 0 || strcmp(a, "--output-dir") == 0 ||
                     strcmp(a, "--threads") == 0 || strcmp(a, "--repeat") == 0 ||
                     strcmp(a, "--seed") == 0 || strcmp(a, "--method") == 0;
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "ckpt run: %s needs a value\n", a);
            return EXIT_ERROR;
        }
        if (strcmp(a, "--input") == 0) {
            const char *v = argv[++i];
            const char *eq = strrchr(v, '=');
            if (!eq || eq == v || !eq[1] || ng == MAX_INPUTS) {
                fprintf(stderr, "ckpt run: --input takes NAME=FILE, not '%s'\n", v);
                return EXIT_ERROR;
            }
            gv[ng].name = v;
            gv[ng].file = eq + 1;
            ng++;
        } else if (strcmp(a, "--method") == 0) {
            method = argv[++i];
        } else if (strcmp(a, "--output-dir") == 0) {
            outdir = argv[++i];
        } else if (strcmp(a, "--threads") == 0) {
            if (parse_int(a, argv[++i], 1, 1024, &threads) < 0)
                return EXIT_ERROR;
        } else if (strcmp(a, "--repeat") == 0) {
            if (parse_int(a, argv[++i], 1, 100000000, &repeat) < 0)
                return EXIT_ERROR;
        } else if (strcmp(a, "--seed") == 0) {
            if (parse_int(a, argv[++i], 0, INT64_MAX, &seed_arg) < 0)
                return EXIT_ERROR;
        } else if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ckpt run: unknown option %s\n\n%s", a, help);
            return EXIT_ERROR;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr, "ckpt run: one MODEL only\n");
            return EXIT_ERROR;
        }
    }
    if (!path) {
        fputs(help, stderr);
        return EXIT_ERROR;
    }
    uint64_t seed = seed_arg >= 0
                        ? (uint64_t)seed_arg
                        : ((uint64_t)time(NULL) ^ ((uint64_t)clock() << 20)) % 1000000000ull;
    uint64_t rs = seed;
    ckpt_error err;
    ckpt_error_clear(&err);
    char why[320];
    if (strncmp(ckpt_detect_file(path, why, sizeof(why), NULL), "onnx", 4) != 0) {
        const char *names[MAX_INPUTS], *values[MAX_INPUTS];
        char nbuf[MAX_INPUTS][128];
        for (size_t k = 0; k < ng; k++) {
            snprintf(nbuf[k], sizeof(nbuf[k]), "%.*s", (int)(gv[k].file - 1 - gv[k].name),
                     gv[k].name);
            names[k] = nbuf[k];
            values[k] = gv[k].file;
        }
        bool not_jit = false;
        int jc = cmd_run_jit(path, method, names, values, ng, outdir, (int)threads, repeat, json,
                             &not_jit);
        if (!not_jit)
            return jc;
    }
    ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, &err);
    if (!m) {
        cli_print_error("run", &err);
        return EXIT_ERROR;
    }
    const ox_graph *g = m->graph;
    int code = EXIT_ERROR;
    ckpt_onnx_session *s = NULL;
    ckpt_doc *odoc = NULL;
    int ni = g->n_inputs;
    ox_val *vals = calloc((size_t)(ni ? ni : 1), sizeof(*vals));
    const ox_val **vp = calloc((size_t)(ni ? ni : 1), sizeof(*vp));
    bool *random = calloc((size_t)(ni ? ni : 1), sizeof(*random));
    double *times = calloc((size_t)repeat, sizeof(double));
    cJSON *jo = json ? cJSON_CreateObject() : NULL;
    if (!vals || !vp || !random || !times) {
        fprintf(stderr, "ckpt run: out of memory\n");
        goto out;
    }
    /* every --input names a graph input */
    for (size_t k = 0; k < ng; k++) {
        size_t nl = (size_t)(gv[k].file - 1 - gv[k].name);
        bool found = false;
        for (int i = 0; i < ni && !found; i++)
            found = strlen(g->values[g->inputs[i]].name) == nl &&
                    strncmp(g->values[g->inputs[i]].name, gv[k].name, nl) == 0;
        if (!found) {
            fprintf(stderr, "ckpt run: %s: the model has no input '%.*s' (inputs:", path, (int)nl,
                    gv[k].name);
            for (int i = 0; i < ni; i++)
                fprintf(stderr, " %s", g->values[g->inputs[i]].name);
            fprintf(stderr, ")\n");
            goto out;
        }
    }
    for (int i = 0; i < ni; i++) {
        const ox_value *v = &g->values[g->inputs[i]];
        const char *file = NULL;
        for (size_t k = 0; k < ng; k++) {
            size_t nl = (size_t)(gv[k].file - 1 - gv[k].name);
            if (strlen(v->name) == nl && strncmp(v->name, gv[k].name, nl) == 0)
                file = gv[k].file;
        }
        if (file) {
            if (file_input(file, v->type.dtype, &vals[i], &err) < 0 ||
                coerce(&vals[i], v->type.known ? v->type.dtype : 0, v->name, &err) < 0) {
                cli_print_error("run", &err);
                goto out;
            }
        } else {
            char msg[400];
            if (random_input(v, &rs, &vals[i], msg, sizeof(msg)) < 0) {
                fprintf(stderr, "ckpt run: %s: %s\n", path, msg);
                goto out;
            }
            random[i] = true;
        }
        vp[i] = &vals[i];
    }
    ckpt_onnx_session_opts so = {(int)threads, 0};
    s = ckpt_onnx_session_new(m, &so, &err);
    if (!s) {
        cli_print_error("run", &err);
        goto out;
    }
    for (long long r = 0; r < repeat; r++) {
        double t0 = now_ms();
        if (ox_session_run_vals(s, vp, ni, &err) < 0) {
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
        cJSON_AddNumberToObject(jo, "seed", (double)seed);
        cJSON_AddNumberToObject(jo, "threads", (double)threads);
        cJSON *ji = cJSON_AddArrayToObject(jo, "inputs");
        for (int i = 0; i < ni; i++) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "name", g->values[g->inputs[i]].name);
            cJSON_AddStringToObject(x, "dtype", ox_dtype_name(vals[i].dtype));
            cJSON *sh = cJSON_AddArrayToObject(x, "shape");
            for (int d = 0; d < vals[i].rank; d++)
                cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)vals[i].dims[d]));
            cJSON_AddBoolToObject(x, "random", random[i]);
            cJSON_AddItemToArray(ji, x);
        }
    } else {
        printf("%s: %d input%s", path, ni, ni == 1 ? "" : "s");
        bool any = false;
        for (int i = 0; i < ni; i++)
            any = any || random[i];
        if (any)
            printf(", random ones with seed %" PRIu64, seed);
        printf("; %lld run%s on %lld thread%s: first %.3f ms, mean %.3f ms, min %.3f ms\n",
               repeat, repeat == 1 ? "" : "s", threads, threads == 1 ? "" : "s", times[0], mean,
               mn);
    }
    cJSON *jout = json ? cJSON_AddArrayToObject(jo, "outputs") : NULL;
    for (int i = 0; i < g->n_outputs; i++) {
        const char *name = g->values[g->outputs[i]].name;
        const ox_val *v = ox_session_value(s, name);
        char shape[512], file[4400] = "";
        if (!v || v->kind != OX_KIND_TENSOR) {
            const char *what = !v                        ? "no value"
                               : v->kind == OX_KIND_NONE ? "an empty optional"
                                                         : "a sequence";
            if (json) {
                cJSON *x = cJSON_CreateObject();
                cJSON_AddStringToObject(x, "name", name);
                cJSON_AddStringToObject(x, "kind", what);
                cJSON_AddItemToArray(jout, x);
            } else {
                printf("  %-32s %s (not written)\n", name, what);
            }
            continue;
        }
        shape_text(shape, sizeof(shape), v->dims, v->rank);
        if (outdir) {
            int cdt = ox_dtype_to_ckpt(v->dtype);
            char sn[256];
            safe_name(name, sn, sizeof(sn));
            snprintf(file, sizeof(file), "%s/%s.npy", outdir, sn);
            if (cdt == CKPT_DTYPE_UNKNOWN) {
                fprintf(stderr, "ckpt run: output '%s' is a %s tensor: not written\n", name,
                        ox_dtype_name(v->dtype));
                file[0] = '\0';
            } else {
                ckpt_obj *t = ckpt_tensor_new_copy(odoc, cdt, v->rank, v->dims, v->data, &err);
                if (!t || ckpt_npy_save(file, t, &err) < 0) {
                    cli_print_error("run", &err);
                    goto out;
                }
            }
        }
        if (json) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "name", name);
            cJSON_AddStringToObject(x, "dtype", ox_dtype_name(v->dtype));
            cJSON *sh = cJSON_AddArrayToObject(x, "shape");
            for (int d = 0; d < v->rank; d++)
                cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)v->dims[d]));
            if (file[0])
                cJSON_AddStringToObject(x, "file", file);
            cJSON_AddNumberToObject(x, "ms", mean);
            cJSON_AddItemToArray(jout, x);
        } else {
            printf("  %-32s %-9s %-20s %10.3f ms%s%s\n", name, ox_dtype_name(v->dtype), shape,
                   mean, file[0] ? "  -> " : "", file);
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
    ckpt_onnx_session_free(s);
    for (int i = 0; vals && i < ni; i++)
        ox_val_clear(&vals[i]);
    free(vals);
    free(vp);
    free(random);
    free(times);
    ckpt_onnx_model_free(m);
    return code;
}
