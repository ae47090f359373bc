/*
 * tests/onnx/ort_compare.c - run ONNX models in ckpt and in ONNX Runtime
 * (npm onnxruntime-node, through tests/onnx/ort_run.js) on the same
 * synthesised inputs and compare the outputs.
 *
 *   onnx_ort_compare --node-path DIR --script ort_run.js [--min-equal N]
 *                    [--report FILE.md] PATH...
 *
 * PATH is an .onnx file, or a folder whose *.onnx files and CASE/model.onnx
 * files are taken.  Inputs: float types uniform in [-1, 1) from a fixed seed,
 * integers 0, booleans false, strings tokens of a fixed pool, dynamic
 * dimensions 1; a model whose inputs are sequences or of unknown rank is
 * skipped ("inputs cannot be
 * synthesised").  Outputs are equal when dtype and shape agree and
 * max|ckpt - ort| <= 1e-4 * max|ort| (floats; 1e-4 absolute when max|ort|
 * < 1), exact for integers and booleans.
 * Each model runs in a child process.  Exit 1 when any model differs or
 * fewer than N are equal.
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
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ckpt/onnx.h"
#include "onnx/onnx_internal.h"

#define REL_TOL 1e-4

static const char *node_path, *script;
static const char *test_name = "onnx_ort_compare"; /* --name: the CTest name in SKIPPED lines */

enum { R_EQUAL, R_DIFF, R_CKPT_FAIL, R_SKIP, R_KNOWN };
static const char *rname[] = {"EQUAL", "DIFF", "CKPT-FAIL", "SKIP", "KNOWN-DIFF"};

/* --known FILE: lines "NAME-SUBSTRING reason..." of models whose outputs are
 * known to differ for a stated reason (reported, not failed) */
static char known_name[64][256], known_why[64][256];
static int n_known;

static void read_known(const char *path)
{
    FILE *f = fopen(path, "r");
    char line[600];
    while (f && n_known < 64 && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n')
            continue;
        line[strcspn(line, "\n")] = 0;
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp = 0;
        snprintf(known_name[n_known], sizeof known_name[0], "%s", line);
        snprintf(known_why[n_known], sizeof known_why[0], "%s", sp + 1);
        n_known++;
    }
    if (f)
        fclose(f);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static double rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long sz = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(sz > 0 ? (size_t)sz + 1 : 1);
    if (b && sz > 0 && fread(b, 1, (size_t)sz, f) != (size_t)sz) {
        free(b);
        b = NULL;
    }
    if (b)
        b[sz > 0 ? sz : 0] = 0;
    fclose(f);
    *n = sz > 0 ? (size_t)sz : 0;
    return b;
}

static int write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = n ? fwrite(p, 1, n, f) : 0;
    return fclose(f) == 0 && w == n ? 0 : -1;
}

static int compare_out(const ox_val *got, const cJSON *o, const char *dir, char *why, size_t wn)
{
    const char *name = cJSON_GetObjectItem(o, "name")->valuestring;
    int et = cJSON_GetObjectItem(o, "elem_type")->valueint;
    const cJSON *dims = cJSON_GetObjectItem(o, "dims");
    if (!got || got->kind != OX_KIND_TENSOR) {
        snprintf(why, wn, "output '%s': ckpt produced no tensor", name);
        return R_CKPT_FAIL;
    }
    if (got->dtype != et) {
        snprintf(why, wn, "output '%s': ckpt %s, ORT %s", name, ox_dtype_name(got->dtype),
                 ox_dtype_name(et));
        return R_DIFF;
    }
    int rank = cJSON_GetArraySize(dims);
    bool same = rank == got->rank;
    for (int i = 0; same && i < rank; i++)
        same = (int64_t)cJSON_GetArrayItem(dims, i)->valuedouble == got->dims[i];
    if (!same) {
        snprintf(why, wn, "output '%s': shapes differ (rank %d vs ORT %d)", name, got->rank,
                 rank);
        return R_DIFF;
    }
    char f[4200];
    snprintf(f, sizeof f, "%s/%s", dir, cJSON_GetObjectItem(o, "file")->valuestring);
    size_t n;
    char *b = slurp(f, &n);
    if (et == OX_STRING) { /* ORT wrote a JSON array of strings */
        cJSON *arr = b ? cJSON_Parse(b) : NULL;
        free(b);
        int res = R_EQUAL;
        if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != got->numel) {
            snprintf(why, wn, "output '%s': ORT's strings do not match the shape", name);
            res = R_DIFF;
        }
        for (int64_t i = 0; res == R_EQUAL && i < got->numel; i++) {
            const char *x = ((char *const *)got->data)[i];
            const cJSON *y = cJSON_GetArrayItem(arr, (int)i);
            if (!cJSON_IsString(y) || strcmp(x ? x : "", y->valuestring) != 0) {
                snprintf(why, wn, "output '%s'[%lld]: ckpt '%.40s', ORT '%.40s'", name,
                         (long long)i, x ? x : "", cJSON_IsString(y) ? y->valuestring : "?");
                res = R_DIFF;
            }
        }
        if (res == R_EQUAL)
            snprintf(why + strlen(why), wn - strlen(why), "%s'%s' %lld strings equal",
                     why[0] ? ", " : "", name, (long long)got->numel);
        cJSON_Delete(arr);
        return res;
    }
    if (!b || n != ox_val_nbytes(got)) {
        free(b);
        snprintf(why, wn, "output '%s': ORT wrote %zu bytes, ckpt has %zu", name, n,
                 ox_val_nbytes(got));
        return R_DIFF;
    }
    ox_val ref = *got;
    ref.data = b;
    bool fl = et == OX_FLOAT || et == OX_DOUBLE || et == OX_FLOAT16 || et == OX_BFLOAT16;
    double maxref = 0, maxdiff = 0;
    int64_t at = -1;
    for (int64_t i = 0; i < got->numel; i++) {
        double x = ox_get_f64(got, i), y = ox_get_f64(&ref, i);
        if (fl) {
            if ((isnan(x) && isnan(y)) || (isinf(y) && x == y))
                continue;
            if (isfinite(y) && fabs(y) > maxref)
                maxref = fabs(y);
            double d = fabs(x - y);
            if (!(d <= maxdiff)) {
                maxdiff = isnan(d) ? INFINITY : d;
                at = i;
            }
        } else if (x != y) {
            snprintf(why, wn, "output '%s'[%lld]: ckpt %.17g, ORT %.17g", name, (long long)i, x,
                     y);
            free(b);
            return R_DIFF;
        }
    }
    free(b);
    double tol = REL_TOL * (maxref > 1 ? maxref : 1);
    if (fl && maxdiff > tol) {
        snprintf(why, wn, "output '%s': max |diff| %.3g at %lld (max |ort| %.3g)", name, maxdiff,
                 (long long)at, maxref);
        return R_DIFF;
    }
    snprintf(why + strlen(why), wn - strlen(why), "%s'%s' max|diff| %.2g/%.2g",
             why[0] ? ", " : "", name, maxdiff, maxref);
    return R_EQUAL;
}

/* One model, in the child. */
static int run_model(const char *model, char *why, size_t wn)
{
    char tmpl[] = "/tmp/ckpt_ort_XXXXXX";
    char *dir = mkdtemp(tmpl);
    if (!dir) {
        snprintf(why, wn, "mkdtemp: %s", strerror(errno));
        return R_SKIP;
    }
    char path[4200];
    int result = R_SKIP;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *m = ckpt_onnx_load(model, NULL, &err);
    ckpt_onnx_session *s = NULL;
    ox_val *vals = NULL;
    const ox_val **ptrs = NULL;
    cJSON *man = NULL;
    if (!m) {
        snprintf(why, wn, "ckpt load: %s", err.msg);
        result = R_CKPT_FAIL;
        goto out;
    }
    const ox_graph *g = m->graph;
    vals = calloc((size_t)g->n_inputs + 1, sizeof *vals);
    ptrs = calloc((size_t)g->n_inputs + 1, sizeof *ptrs);
    man = cJSON_CreateArray();
    for (int i = 0; i < g->n_inputs; i++) {
        const ox_value *v = &g->values[g->inputs[i]];
        if (!v->type.known || v->type.kind != OX_KIND_TENSOR || v->type.rank < 0 ||
            !ox_dtype_size(v->type.dtype) || v->type.dtype == OX_COMPLEX64 ||
            v->type.dtype == OX_COMPLEX128 || v->type.dtype == OX_BFLOAT16) {
            snprintf(why, wn, "input '%s' cannot be synthesised", v->name);
            goto out;
        }
        int64_t dims[OX_MAX_RANK];
        for (int k = 0; k < v->type.rank; k++)
            dims[k] = v->type.dims[k] >= 0 ? v->type.dims[k] : 1;
        if (ox_val_reshape_alloc(&vals[i], v->type.dtype, v->type.rank, dims, &err) < 0) {
            snprintf(why, wn, "input '%s': %s", v->name, err.msg);
            goto out;
        }
        bool fl = v->type.dtype == OX_FLOAT || v->type.dtype == OX_DOUBLE ||
                  v->type.dtype == OX_FLOAT16;
        bool str = v->type.dtype == OX_STRING;
        for (int64_t e = 0; e < vals[i].numel && !str; e++)
            ox_set_f64(&vals[i], e, fl ? rnd() : 0.0);
        ptrs[i] = &vals[i];
        char fn[64];
        snprintf(fn, sizeof fn, str ? "in_%d.json" : "in_%d.bin", i);
        snprintf(path, sizeof path, "%s/%s", dir, fn);
        if (str) {
            /* strings: short tokens drawn from a fixed pool, as a JSON array */
            static const char *const pool[] = {"a", "b", "c", "d", "", "Amy", "monday", "x y"};
            cJSON *sa = cJSON_CreateArray();
            for (int64_t e = 0; e < vals[i].numel; e++) {
                const char *w = pool[(size_t)((rnd() + 1.0) * 4.0) % 8];
                ((char **)vals[i].data)[e] = strdup(w);
                cJSON_AddItemToArray(sa, cJSON_CreateString(w));
            }
            char *sj = cJSON_PrintUnformatted(sa);
            write_file(path, sj, strlen(sj));
            free(sj);
            cJSON_Delete(sa);
        } else {
            write_file(path, vals[i].data, ox_val_nbytes(&vals[i]));
        }
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", v->name);
        cJSON_AddNumberToObject(o, "elem_type", v->type.dtype);
        cJSON *d = cJSON_AddArrayToObject(o, "dims");
        for (int k = 0; k < v->type.rank; k++)
            cJSON_AddItemToArray(d, cJSON_CreateNumber((double)dims[k]));
        cJSON_AddStringToObject(o, "file", fn);
        cJSON_AddItemToArray(man, o);
    }
    s = ckpt_onnx_session_new(m, NULL, &err);
    bool ckpt_failed = !s || ox_session_run_vals(s, ptrs, g->n_inputs, &err) < 0;
    char *js = cJSON_PrintUnformatted(man);
    snprintf(path, sizeof path, "%s/inputs.json", dir);
    write_file(path, js, strlen(js));
    free(js);
    char *real = realpath(model, NULL);
    snprintf(path, sizeof path, "%s/model.onnx", dir);
    if (!real || symlink(real, path) != 0) {
        free(real);
        snprintf(why, wn, "cannot link the model");
        goto out;
    }
    free(real);
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "NODE_PATH='%s' timeout 300 node '%s' '%s' > '%s/ort.log' 2>&1",
             node_path, script, dir, dir);
    int st = system(cmd);
    if (ckpt_failed) {
        /* both refusing the synthesised inputs (a negative scale, a zero
         * shape) is not a ckpt failure */
        bool ort_failed = !WIFEXITED(st) || WEXITSTATUS(st) != 0;
        snprintf(why, wn, "ckpt: %s%s", err.msg, ort_failed ? " (ORT fails on it too)" : "");
        result = ort_failed ? R_SKIP : R_CKPT_FAIL;
        goto out;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        size_t n;
        snprintf(path, sizeof path, "%s/ort.log", dir);
        char *log = slurp(path, &n);
        char *nl = log ? strchr(log, '\n') : NULL;
        if (nl)
            *nl = 0;
        snprintf(why, wn, "ORT: %.300s", log ? log : "failed");
        free(log);
        result = WIFEXITED(st) && WEXITSTATUS(st) == 3 ? R_SKIP : R_DIFF;
        goto out;
    }
    size_t n;
    snprintf(path, sizeof path, "%s/outputs.json", dir);
    char *oj = slurp(path, &n);
    cJSON *outs = oj ? cJSON_Parse(oj) : NULL;
    free(oj);
    result = R_EQUAL;
    why[0] = 0;
    for (int k = 0; outs && k < cJSON_GetArraySize(outs) && result == R_EQUAL; k++) {
        const cJSON *o = cJSON_GetArrayItem(outs, k);
        const ox_val *got = ox_session_value(s, cJSON_GetObjectItem(o, "name")->valuestring);
        char w[600] = "";
        result = compare_out(got, o, dir, w, sizeof w);
        if (result != R_EQUAL)
            snprintf(why, wn, "%s", w);
        else
            snprintf(why + strlen(why), wn - strlen(why), "%s%s", why[0] ? "; " : "", w);
    }
    if (!outs) {
        snprintf(why, wn, "ORT wrote no outputs.json");
        result = R_DIFF;
    }
    cJSON_Delete(outs);
out:
    if (vals)
        for (int i = 0; m && i < m->graph->n_inputs; i++)
            ox_val_clear(&vals[i]);
    free(vals);
    free(ptrs);
    cJSON_Delete(man);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
    snprintf(path, sizeof path, "rm -rf '%s'", dir);
    if (system(path) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
    return result;
}

static int run_isolated(const char *model, char *why, size_t wn)
{
    int fds[2];
    if (pipe(fds) != 0)
        return R_SKIP;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        alarm(600);
        char w[1024] = "";
        int r = run_model(model, w, sizeof w);
        char line[1100];
        snprintf(line, sizeof line, "%d %s", r, w);
        ssize_t k = write(fds[1], line, strlen(line));
        (void)k;
        _exit(0);
    }
    close(fds[1]);
    char buf[1200];
    size_t got = 0;
    ssize_t k;
    while (got < sizeof buf - 1 && (k = read(fds[0], buf + got, sizeof buf - 1 - got)) > 0)
        got += (size_t)k;
    buf[got] = 0;
    close(fds[0]);
    int st;
    waitpid(pid, &st, 0);
    if (WIFSIGNALED(st) || got < 2) {
        snprintf(why, wn, "ckpt crashed (signal %d)", WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        return R_CKPT_FAIL;
    }
    snprintf(why, wn, "%s", buf + 2);
    return buf[0] - '0';
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_path(char ***list, int *n, int *cap, const char *p)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 64;
        *list = realloc(*list, (size_t)*cap * sizeof **list);
    }
    (*list)[(*n)++] = strdup(p);
}

static void collect(const char *p, char ***list, int *n, int *cap)
{
    struct stat st;
    if (stat(p, &st) != 0)
        return;
    if (!S_ISDIR(st.st_mode)) {
        add_path(list, n, cap, p);
        return;
    }
    DIR *d = opendir(p);
    if (!d)
        return;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char q[4200];
        snprintf(q, sizeof q, "%s/%s", p, e->d_name);
        size_t l = strlen(e->d_name);
        if (l > 5 && !strcmp(e->d_name + l - 5, ".onnx")) {
            add_path(list, n, cap, q);
        } else if (stat(q, &st) == 0 && S_ISDIR(st.st_mode)) {
            char mq[4300];
            snprintf(mq, sizeof mq, "%s/model.onnx", q);
            if (stat(mq, &st) == 0)
                add_path(list, n, cap, mq);
        }
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    long min_equal = 0;
    const char *report = NULL;
    char **models = NULL;
    int n = 0, cap = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--node-path") && i + 1 < argc)
            node_path = argv[++i];
        else if (!strcmp(argv[i], "--script") && i + 1 < argc)
            script = argv[++i];
        else if (!strcmp(argv[i], "--min-equal") && i + 1 < argc)
            min_equal = strtol(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--report") && i + 1 < argc)
            report = argv[++i];
        else if (!strcmp(argv[i], "--name") && i + 1 < argc)
            test_name = argv[++i];
        else if (!strcmp(argv[i], "--known") && i + 1 < argc)
            read_known(argv[++i]);
        else
            collect(argv[i], &models, &n, &cap);
    }
    if (!node_path || !script) {
        fprintf(stderr, "usage: %s --node-path DIR --script ort_run.js PATH...\n", argv[0]);
        return 2;
    }
    struct stat st;
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/onnxruntime-node", node_path);
    if (stat(probe, &st) != 0) {
        printf("SKIPPED: %s: ONNX Runtime is not installed in %s (scripts/ort.sh)\n", test_name,
               node_path);
        return 77;
    }
    if (!n) {
        printf("SKIPPED: %s: no models found\n", test_name);
        return 77;
    }
    qsort(models, (size_t)n, sizeof *models, cmp_str);
    int count[5] = {0};
    FILE *rep = report ? fopen(report, "w") : NULL;
    if (rep)
        fprintf(rep, "| model | result | detail |\n|---|---|---|\n");
    for (int i = 0; i < n; i++) {
        char why[1024] = "";
        int r = run_isolated(models[i], why, sizeof why);
        for (int k = 0; r == R_DIFF && k < n_known; k++)
            if (strstr(models[i], known_name[k])) {
                r = R_KNOWN;
                size_t l = strlen(why);
                snprintf(why + l, sizeof why - l, " [known: %s]", known_why[k]);
            }
        count[r]++;
        const char *base = strrchr(models[i], '/');
        base = base ? base + 1 : models[i];
        if (!strcmp(base, "model.onnx")) {
            /* name the case folder */
            const char *p = models[i] + strlen(models[i]) - strlen("/model.onnx");
            const char *q = p;
            while (q > models[i] && q[-1] != '/')
                q--;
            static char nm[512];
            snprintf(nm, sizeof nm, "%.*s", (int)(p - q), q);
            base = nm;
        }
        printf("%-9s %s: %s\n", rname[r], base, why);
        if (rep) {
            fprintf(rep, "| `%s` | %s | ", base, rname[r]);
            for (const char *c = why; *c; c++)
                fputs(*c == '|' ? "\\|" : (char[]){*c, 0}, rep);
            fprintf(rep, " |\n");
        }
        free(models[i]);
    }
    free(models);
    printf("ort_compare: %d equal, %d differ, %d known differences, %d ckpt failures, %d skipped "
           "(of %d)\n",
           count[R_EQUAL], count[R_DIFF], count[R_KNOWN], count[R_CKPT_FAIL], count[R_SKIP], n);
    if (rep) {
        fprintf(rep,
                "\n%d equal, %d differ, %d known differences, %d ckpt failures, %d skipped "
                "(of %d)\n",
                count[R_EQUAL], count[R_DIFF], count[R_KNOWN], count[R_CKPT_FAIL], count[R_SKIP],
                n);
        fclose(rep);
    }
    if (count[R_DIFF] > 0 || count[R_EQUAL] < min_equal) {
        printf("FAILED: %d differ, %d equal (at least %ld required)\n", count[R_DIFF],
               count[R_EQUAL], min_equal);
        return 1;
    }
    return 0;
}
