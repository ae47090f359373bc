/*
 * tests/onnx/conformance.c - ckpt's runner for the ONNX backend test cases
 * (Debian libonnx-testdata: <root>/<dir>/<case>/model.onnx with
 * test_data_set_N/input_K.pb and output_*.pb).
 *
 *   onnx_conformance ROOT DIR [--report FILE.md] [--min-pass N] [--filter S] [-v]
 *
 * Each case runs in a child process (a crash or a hang is a failure of that
 * case, not of the runner) with a time limit.  Outputs are compared as the
 * ONNX backend tests compare them: |got - want| <= atol + rtol * |want| with
 * rtol 1e-3, atol 1e-7, NaN equal to NaN, integers, booleans and strings
 * exact, dtype and shape equal.  Prints one line per case and a summary;
 * exits 1 when fewer than --min-pass cases pass.
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ckpt/onnx.h"
#include "onnx-data.pb-c.h"
#include "onnx/onnx_internal.h"

#define RTOL 1e-3
#define ATOL 1e-7
#define CASE_SECONDS 60

static int verbose;

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(sz > 0 ? (size_t)sz : 1);
    if (b && sz > 0 && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *n = sz > 0 ? (size_t)sz : 0;
    return b;
}

static int tensor_from_proto(const Onnx__TensorProto *tp, ox_val *v, char *why, size_t wn)
{
    size_t n = onnx__tensor_proto__get_packed_size(tp);
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        return -1;
    onnx__tensor_proto__pack(tp, b);
    ckpt_error err;
    ckpt_error_clear(&err);
    int rc = ox_tensor_from_pb(b, n, v, NULL, "tensor", &err);
    free(b);
    if (rc < 0)
        snprintf(why, wn, "test data: %s", err.msg);
    return rc;
}

static int seq_from_proto(const Onnx__SequenceProto *sp, ox_val *v, char *why, size_t wn)
{
    memset(v, 0, sizeof *v);
    v->kind = OX_KIND_SEQUENCE;
    if (sp->n_tensor_values) {
        v->items = calloc(sp->n_tensor_values, sizeof *v->items);
        if (!v->items)
            return -1;
    }
    for (size_t i = 0; i < sp->n_tensor_values; i++) {
        v->items[i] = calloc(1, sizeof(ox_val));
        if (!v->items[i])
            return -1;
        v->n_items = (int64_t)i + 1;
        if (tensor_from_proto(sp->tensor_values[i], v->items[i], why, wn) < 0)
            return -1;
        v->dtype = v->items[i]->dtype;
    }
    if (sp->n_sequence_values) {
        snprintf(why, wn, "test data: nested sequences are not supported by the runner");
        return -1;
    }
    return 0;
}

/* Decode input/output file `path` as the kind `want_kind` declares. */
static int load_pb(const char *path, int want_kind, ox_val *v, char *why, size_t wn)
{
    size_t n;
    char *b = slurp(path, &n);
    if (!b) {
        snprintf(why, wn, "cannot read %s", path);
        return -1;
    }
    int rc = -1;
    memset(v, 0, sizeof *v);
    if (want_kind == OX_KIND_SEQUENCE) {
        Onnx__SequenceProto *sp = onnx__sequence_proto__unpack(NULL, n, (const uint8_t *)b);
        if (sp) {
            rc = seq_from_proto(sp, v, why, wn);
            onnx__sequence_proto__free_unpacked(sp, NULL);
        }
    } else if (want_kind == OX_KIND_NONE) {
        Onnx__OptionalProto *op = onnx__optional_proto__unpack(NULL, n, (const uint8_t *)b);
        if (op) {
            if (op->tensor_value)
                rc = tensor_from_proto(op->tensor_value, v, why, wn);
            else if (op->sequence_value)
                rc = seq_from_proto(op->sequence_value, v, why, wn);
            else {
                v->kind = OX_KIND_NONE;
                rc = 0;
            }
            onnx__optional_proto__free_unpacked(op, NULL);
        }
    } else {
        ckpt_error err;
        ckpt_error_clear(&err);
        rc = ox_tensor_from_pb(b, n, v, NULL, path, &err);
        if (rc < 0)
            snprintf(why, wn, "test data %s: %s", path, err.msg);
    }
    if (rc < 0 && !why[0])
        snprintf(why, wn, "cannot decode %s", path);
    free(b);
    return rc;
}

static bool is_float(int dt)
{
    return dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_BFLOAT16;
}

static int compare(const ox_val *got, const ox_val *want, const char *what, char *why, size_t wn)
{
    if (!got) {
        snprintf(why, wn, "%s: not produced", what);
        return -1;
    }
    if (want->kind == OX_KIND_NONE || got->kind == OX_KIND_NONE) {
        if (want->kind != got->kind) {
            snprintf(why, wn, "%s: optional presence differs", what);
            return -1;
        }
        return 0;
    }
    if (want->kind == OX_KIND_SEQUENCE) {
        if (got->kind != OX_KIND_SEQUENCE || got->n_items != want->n_items) {
            snprintf(why, wn, "%s: sequence of %lld items expected, got %s of %lld", what,
                     (long long)want->n_items,
                     got->kind == OX_KIND_SEQUENCE ? "a sequence" : "a tensor",
                     (long long)got->n_items);
            return -1;
        }
        for (int64_t i = 0; i < want->n_items; i++) {
            char sub[160];
            snprintf(sub, sizeof sub, "%s[%lld]", what, (long long)i);
            if (compare(got->items[i], want->items[i], sub, why, wn) < 0)
                return -1;
        }
        return 0;
    }
    if (got->kind != OX_KIND_TENSOR) {
        snprintf(why, wn, "%s: a tensor expected", what);
        return -1;
    }
    if (got->dtype != want->dtype) {
        snprintf(why, wn, "%s: dtype %s, expected %s", what, ox_dtype_name(got->dtype),
                 ox_dtype_name(want->dtype));
        return -1;
    }
    bool same = got->rank == want->rank;
    for (int i = 0; same && i < got->rank; i++)
        same = got->dims[i] == want->dims[i];
    if (!same) {
        char a[128] = "", b[128] = "";
        for (int i = 0; i < got->rank; i++)
            snprintf(a + strlen(a), sizeof a - strlen(a), "%s%lld", i ? "," : "",
                     (long long)got->dims[i]);
        for (int i = 0; i < want->rank; i++)
            snprintf(b + strlen(b), sizeof b - strlen(b), "%s%lld", i ? "," : "",
                     (long long)want->dims[i]);
        snprintf(why, wn, "%s: shape (%s), expected (%s)", what, a, b);
        return -1;
    }
    for (int64_t i = 0; i < want->numel; i++) {
        if (want->dtype == OX_STRING) {
            const char *x = ((char *const *)got->data)[i], *y = ((char *const *)want->data)[i];
            if (strcmp(x ? x : "", y ? y : "")) {
                snprintf(why, wn, "%s[%lld]: '%.40s', expected '%.40s'", what, (long long)i,
                         x ? x : "", y ? y : "");
                return -1;
            }
            continue;
        }
        if (want->dtype == OX_COMPLEX64 || want->dtype == OX_COMPLEX128) {
            size_t es = ox_dtype_size(want->dtype);
            if (memcmp((const char *)got->data + (size_t)i * es,
                       (const char *)want->data + (size_t)i * es, es)) {
                /* complex: compare as two floats each */
                for (int k = 0; k < 2; k++) {
                    double x, y;
                    if (want->dtype == OX_COMPLEX64) {
                        x = ((const float *)got->data)[2 * i + k];
                        y = ((const float *)want->data)[2 * i + k];
                    } else {
                        x = ((const double *)got->data)[2 * i + k];
                        y = ((const double *)want->data)[2 * i + k];
                    }
                    if (!(fabs(x - y) <= ATOL + RTOL * fabs(y))) {
                        snprintf(why, wn, "%s[%lld]: %.9g, expected %.9g", what, (long long)i, x,
                                 y);
                        return -1;
                    }
                }
            }
            continue;
        }
        double x = ox_get_f64(got, i), y = ox_get_f64(want, i);
        if (is_float(want->dtype)) {
            if (isnan(y) && isnan(x))
                continue;
            if (isinf(y) && x == y)
                continue;
            if (!(fabs(x - y) <= ATOL + RTOL * fabs(y))) {
                snprintf(why, wn, "%s[%lld]: %.9g, expected %.9g", what, (long long)i, x, y);
                return -1;
            }
        } else {
            bool eq;
            if (want->dtype == OX_INT64)
                eq = ((const int64_t *)got->data)[i] == ((const int64_t *)want->data)[i];
            else if (want->dtype == OX_UINT64)
                eq = ((const uint64_t *)got->data)[i] == ((const uint64_t *)want->data)[i];
            else
                eq = x == y;
            if (!eq) {
                snprintf(why, wn, "%s[%lld]: %.17g, expected %.17g", what, (long long)i, x, y);
                return -1;
            }
        }
    }
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Names of the entries of `dir` starting with `prefix`, sorted. */
static char **list_dir(const char *dir, const char *prefix, int *count)
{
    DIR *d = opendir(dir);
    *count = 0;
    if (!d)
        return NULL;
    char **names = NULL;
    int cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (strncmp(e->d_name, prefix, strlen(prefix)))
            continue;
        if (*count == cap) {
            cap = cap ? 2 * cap : 64;
            names = realloc(names, (size_t)cap * sizeof *names);
        }
        names[(*count)++] = strdup(e->d_name);
    }
    closedir(d);
    if (*count)
        qsort(names, (size_t)*count, sizeof *names, cmp_str);
    return names;
}

static void free_list(char **l, int n)
{
    for (int i = 0; i < n; i++)
        free(l[i]);
    free(l);
}

/* ONNX 1.12's test data stores bfloat16 tensors as uint16 (the same bits):
 * read them as the bfloat16 the graph declares. */
static void bf16_retag(ox_val *v, const ox_type *t)
{
    if (v->kind == OX_KIND_TENSOR && v->dtype == OX_UINT16 && t->known &&
        t->kind == OX_KIND_TENSOR && t->dtype == OX_BFLOAT16)
        v->dtype = OX_BFLOAT16;
}

/* Run one case; fills `why` on failure.  Runs in the child process. */
static int run_case(const char *cdir, char *why, size_t wn)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/model.onnx", cdir);
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, &err);
    if (!m) {
        snprintf(why, wn, "load: %s", err.msg);
        return -1;
    }
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
    if (!s) {
        snprintf(why, wn, "session: %s", err.msg);
        ckpt_onnx_model_free(m);
        return -1;
    }
    int nsets;
    char **sets = list_dir(cdir, "test_data_set_", &nsets);
    int rc = 0;
    if (!nsets) {
        snprintf(why, wn, "no test_data_set_*");
        rc = -1;
    }
    const ox_graph *g = m->graph;
    for (int si = 0; si < nsets && rc == 0; si++) {
        char sdir[4096];
        snprintf(sdir, sizeof sdir, "%s/%s", cdir, sets[si]);
        int nin, nout;
        char **ins = list_dir(sdir, "input_", &nin);
        char **outs = list_dir(sdir, "output_", &nout);
        if (nout == 0) {
            snprintf(why, wn, "%s has no output_*.pb to compare", sets[si]);
            rc = -1;
        }
        ox_val *iv = calloc((size_t)nin + 1, sizeof *iv);
        const ox_val **ip = calloc((size_t)nin + 1, sizeof *ip);
        ox_val *ov = calloc((size_t)nout + 1, sizeof *ov);
        /* input_K.pb binds graph input K (in declared order, initializers excluded) */
        for (int k = 0; k < nin && rc == 0; k++) {
            char f[4200];
            snprintf(f, sizeof f, "%s/input_%d.pb", sdir, k);
            int kind = k < g->n_inputs ? g->values[g->inputs[k]].type.kind : OX_KIND_TENSOR;
            rc = load_pb(f, kind, &iv[k], why, wn);
            if (rc == 0 && k < g->n_inputs)
                bf16_retag(&iv[k], &g->values[g->inputs[k]].type);
            ip[k] = &iv[k];
        }
        for (int k = 0; k < nout && rc == 0; k++) {
            char f[4200];
            snprintf(f, sizeof f, "%s/output_%d.pb", sdir, k);
            int kind = k < g->n_outputs ? g->values[g->outputs[k]].type.kind : OX_KIND_TENSOR;
            rc = load_pb(f, kind, &ov[k], why, wn);
            if (rc == 0 && k < g->n_outputs)
                bf16_retag(&ov[k], &g->values[g->outputs[k]].type);
        }
        if (rc == 0) {
            ckpt_error_clear(&err);
            if (ox_session_run_vals(s, ip, nin, &err) < 0) {
                snprintf(why, wn, "run: %s", err.msg);
                rc = -1;
            }
        }
        for (int k = 0; k < nout && rc == 0; k++) {
            if (k >= g->n_outputs) {
                snprintf(why, wn, "output_%d.pb but the model has %d outputs", k, g->n_outputs);
                rc = -1;
                break;
            }
            const char *oname = g->values[g->outputs[k]].name;
            const ox_val *got = ox_session_value(s, oname);
            char what[200];
            snprintf(what, sizeof what, "output '%s'", oname);
            if (compare(got, &ov[k], what, why, wn) < 0)
                rc = -1;
        }
        for (int k = 0; k < nin; k++)
            ox_val_clear(&iv[k]);
        for (int k = 0; k < nout; k++)
            ox_val_clear(&ov[k]);
        free(iv);
        free(ip);
        free(ov);
        free_list(ins, nin);
        free_list(outs, nout);
    }
    free_list(sets, nsets);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
    return rc;
}

/* Fork, run, collect "ok" or the reason through a pipe. */
static int run_isolated(const char *cdir, char *why, size_t wn)
{
    int fds[2];
    if (pipe(fds) != 0) {
        snprintf(why, wn, "pipe: %s", strerror(errno));
        return -1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        alarm(CASE_SECONDS);
        char w[1024] = "";
        int rc = run_case(cdir, w, sizeof w);
        if (rc == 0)
            snprintf(w, sizeof w, "ok");
        ssize_t wr = write(fds[1], w, strlen(w));
        (void)wr;
        close(fds[1]);
        _exit(rc == 0 ? 0 : 1);
    }
    close(fds[1]);
    char buf[1024];
    size_t got = 0;
    ssize_t k;
    while (got < sizeof buf - 1 && (k = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)k;
    buf[got] = 0;
    close(fds[0]);
    int st = 0;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        snprintf(why, wn, sig == SIGALRM ? "timed out after %d s" : "crashed (signal %d)",
                 sig == SIGALRM ? CASE_SECONDS : sig);
        return -1;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    snprintf(why, wn, "%s", got ? buf : "failed without a reason");
    return -1;
}

static void md_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", f);
        else if (*s == '\n')
            fputc(' ', f);
        else
            fputc(*s, f);
    }
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr,
                "usage: %s ROOT DIR [--report FILE.md] [--min-pass N] [--filter S] [-v]\n",
                argv[0]);
        return 2;
    }
    const char *root = argv[1], *dir = argv[2], *report = NULL, *filter = NULL;
    long min_pass = -1;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--report") && i + 1 < argc)
            report = argv[++i];
        else if (!strcmp(argv[i], "--min-pass") && i + 1 < argc)
            min_pass = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--filter") && i + 1 < argc)
            filter = argv[++i];
        else if (!strcmp(argv[i], "-v"))
            verbose = 1;
        else {
            fprintf(stderr, "unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    char ddir[4096];
    snprintf(ddir, sizeof ddir, "%s/%s", root, dir);
    struct stat st;
    if (stat(ddir, &st) != 0) {
        printf("SKIPPED: %s not found (apt-get install libonnx-testdata)\n", ddir);
        return 77;
    }
    int ncases;
    char **cases = list_dir(ddir, "test_", &ncases);
    int pass = 0, total = 0;
    char **fail_name = calloc((size_t)ncases + 1, sizeof *fail_name);
    char **fail_why = calloc((size_t)ncases + 1, sizeof *fail_why);
    int nfail = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < ncases; i++) {
        if (filter && !strstr(cases[i], filter))
            continue;
        char cdir[4200];
        snprintf(cdir, sizeof cdir, "%s/%s", ddir, cases[i]);
        char why[1024] = "";
        total++;
        if (run_isolated(cdir, why, sizeof why) == 0) {
            pass++;
            if (verbose)
                printf("PASS %s/%s\n", dir, cases[i]);
        } else {
            printf("FAIL %s/%s: %s\n", dir, cases[i], why);
            fail_name[nfail] = strdup(cases[i]);
            fail_why[nfail] = strdup(why);
            nfail++;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    printf("%s: %d/%d passed (%.1f%%) in %.1f s\n", dir, pass, total,
           total ? 100.0 * pass / total : 0.0, secs);
    if (report) {
        FILE *f = fopen(report, "w");
        if (!f) {
            fprintf(stderr, "cannot write %s\n", report);
            return 2;
        }
        fprintf(f, "### `%s`: %d of %d cases pass (%.1f%%)\n\n", dir, pass, total,
                total ? 100.0 * pass / total : 0.0);
        if (nfail) {
            fprintf(f, "| case | reason |\n|---|---|\n");
            for (int i = 0; i < nfail; i++) {
                fprintf(f, "| `%s` | ", fail_name[i]);
                md_escape(f, fail_why[i]);
                fprintf(f, " |\n");
            }
            fprintf(f, "\n");
        }
        fclose(f);
    }
    for (int i = 0; i < nfail; i++) {
        free(fail_name[i]);
        free(fail_why[i]);
    }
    free(fail_name);
    free(fail_why);
    free_list(cases, ncases);
    if (min_pass >= 0 && pass < min_pass) {
        printf("FAILED: %d cases pass, the tier requires at least %ld\n", pass, min_pass);
        return 1;
    }
    return 0;
}
