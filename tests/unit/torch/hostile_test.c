/* tests/unit/torch/hostile_test.c - the hostile corpus (tests/hostile, made by
 * tools/gen/make_hostile.py): every file gives the status its manifest names
 * in weights-only and in data-only mode, the scan verdict it names, and no
 * load allocates more than a small bound. */
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

#define MANIFEST "tests/hostile/MANIFEST.tsv"
/* a hostile file may make ckpt allocate this much at most (the largest file is ~1 MB) */
#define PEAK_BOUND (64ull << 20)

typedef struct peak_alloc {
    ckpt_alloc a;
    long long live, peak;
} peak_alloc;

static void *pa_alloc(void *ctx, size_t n)
{
    peak_alloc *p = ctx;
    void *q = malloc(n);
    if (q) {
        p->live += (long long)n;
        if (p->live > p->peak)
            p->peak = p->live;
    }
    return q;
}

static void *pa_realloc(void *ctx, void *q, size_t old_n, size_t new_n)
{
    peak_alloc *p = ctx;
    void *r = realloc(q, new_n);
    if (r) {
        p->live += (long long)new_n - (long long)old_n;
        if (p->live > p->peak)
            p->peak = p->live;
    }
    return r;
}

static void pa_free(void *ctx, void *q, size_t n)
{
    peak_alloc *p = ctx;
    if (q)
        p->live -= (long long)n;
    free(q);
}

static const char *status_short(int code)
{
    const char *n = ckpt_status_name(code);
    return strncmp(n, "CKPT_", 5) == 0 ? n + 5 : n;
}

typedef struct row {
    char file[128], load[32], full[32], scan[32];
} row;

static int read_manifest(row *rows, int max)
{
    FILE *f = fopen(MANIFEST, "r");
    if (!f)
        return -1;
    char line[2048];
    int n = 0;
    if (!fgets(line, sizeof(line), f)) {
        fclose(f);
        return -1;
    }
    while (n < max && fgets(line, sizeof(line), f)) {
        char *save = NULL;
        char *a = strtok_r(line, "\t\n", &save), *b = strtok_r(NULL, "\t\n", &save),
             *c = strtok_r(NULL, "\t\n", &save), *d = strtok_r(NULL, "\t\n", &save);
        if (!a || !b || !c || !d)
            continue;
        snprintf(rows[n].file, sizeof(rows[n].file), "%s", a);
        snprintf(rows[n].load, sizeof(rows[n].load), "%s", b);
        snprintf(rows[n].full, sizeof(rows[n].full), "%s", c);
        snprintf(rows[n].scan, sizeof(rows[n].scan), "%s", d);
        n++;
    }
    fclose(f);
    return n;
}

static int noop_visit(void *payload, const char *key, const ckpt_obj *t)
{
    (void)payload;
    (void)key;
    (void)t;
    return 0;
}

/* Load in one mode, exercising the result (walk, save) when it loads. */
static int try_load(const char *path, bool full, long long *peak, char *msg, size_t msgn)
{
    peak_alloc pa = {{pa_alloc, pa_realloc, pa_free, NULL}, 0, 0};
    pa.a.ctx = &pa;
    ckpt_load_opts o;
    memset(&o, 0, sizeof(o));
    o.unsafe_full = full;
    o.alloc = &pa.a;
    ckpt_error err;
    ckpt_doc *doc = ckpt_load(path, &o, &err);
    int code = doc ? 0 : err.code;
    if (!doc)
        ckpt_error_format(&err, msg, msgn);
    if (doc) {
        ckpt_obj_walk_tensors(ckpt_doc_root(doc), noop_visit, NULL, &err);
        void *buf = NULL;
        size_t len = 0;
        ckpt_save_opts so;
        memset(&so, 0, sizeof(so));
        so.alloc = &pa.a;
        if (ckpt_save_mem(ckpt_doc_root(doc), &so, &buf, &len, &err) == 0)
            pa_free(&pa, buf, len);
        ckpt_doc_free(doc);
    }
    *peak = pa.peak;
    if (pa.live != 0) {
        fprintf(stderr, "%s: %lld bytes leaked\n", path, pa.live);
        return -1000;
    }
    return code;
}

TEST(test_torch_hostile__corpus)
{
    static row rows[256];
    int n = read_manifest(rows, 256);
    CHECK(n >= 40);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char path[256], msg[1024] = "";
        snprintf(path, sizeof(path), "tests/hostile/%s", rows[i].file);
        for (int full = 0; full <= 1; full++) {
            long long peak = 0;
            int code = try_load(path, full, &peak, msg, sizeof(msg));
            const char *want = full ? rows[i].full : rows[i].load;
            if (code == -1000 || strcmp(status_short(code), want) != 0) {
                fprintf(stderr, "%s (%s): got %s, want %s: %s\n", rows[i].file,
                        full ? "full" : "weights-only", status_short(code), want, msg);
                bad++;
            }
            if ((unsigned long long)peak > PEAK_BOUND) {
                fprintf(stderr, "%s: allocated %lld bytes at peak\n", rows[i].file, peak);
                bad++;
            }
        }
        ckpt_scan_report *r = NULL;
        ckpt_error err;
        if (ckpt_scan_file(path, NULL, &r, &err) != 0) {
            fprintf(stderr, "%s: scan failed\n", rows[i].file);
            bad++;
            continue;
        }
        const char *v = r->verdict == CKPT_SCAN_CLEAN    ? "clean"
                        : r->verdict == CKPT_SCAN_UNSAFE ? "unsafe"
                                                         : "unreadable";
        if (strcmp(v, rows[i].scan) != 0) {
            fprintf(stderr, "%s: scan verdict %s, want %s\n", rows[i].file, v, rows[i].scan);
            bad++;
        }
        ckpt_scan_report_free(r);
    }
    CHECK_EQ_INT(bad, 0);
}

/* The scanner and the loader agree on benign files: every torch file made by torch
 * (committed fixtures, legacy fixtures, the real-world corpus) scans clean exactly
 * when a weights-only load accepts it. */
static int agree(const char *dir, int *checked)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "ls %s 2>/dev/null", dir);
    FILE *ls = popen(cmd, "r");
    if (!ls)
        return 1;
    char name[512];
    int bad = 0;
    while (fgets(name, sizeof(name), ls)) {
        name[strcspn(name, "\n")] = '\0';
        size_t l = strlen(name);
        if (l < 3 || strstr(name, ".json") || strstr(name, ".txt") || strstr(name, ".tsv") ||
            strstr(name, ".md") || strstr(name, ".expected"))
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, name);
        ckpt_error err;
        ckpt_load_opts o;
        memset(&o, 0, sizeof(o));
        o.mode = CKPT_LOAD_LAZY;
        o.keep_locations = true;
        ckpt_doc *doc = ckpt_load(path, &o, &err);
        bool loads = doc != NULL;
        ckpt_doc_free(doc);
        if (!loads && err.code != CKPT_E_UNSAFE)
            continue; /* not a weights-only question (format, unsupported) */
        ckpt_scan_report *r = NULL;
        if (ckpt_scan_file(path, NULL, &r, &err) != 0)
            return 1;
        bool clean = r->verdict == CKPT_SCAN_CLEAN;
        if (clean != loads) {
            fprintf(stderr, "%s: weights-only load %s but scan says %s\n", path,
                    loads ? "accepts it" : "refuses it", clean ? "clean" : "not clean");
            for (size_t i = 0; i < r->count && i < 5; i++)
                fprintf(stderr, "  %s %s.%s %s\n", ckpt_scan_class_name(r->findings[i].klass),
                        r->findings[i].module, r->findings[i].name, r->findings[i].note);
            bad++;
        }
        (*checked)++;
        ckpt_scan_report_free(r);
    }
    pclose(ls);
    return bad;
}

TEST(test_torch_hostile__scan_agrees_with_weights_only_load)
{
    int checked = 0, bad = 0;
    bad += agree("tests/fixtures/torch", &checked);
    bad += agree("tests/fixtures/legacy", &checked);
    printf("committed fixtures: %d files checked\n", checked);
    CHECK(checked >= 25);
    CHECK_EQ_INT(bad, 0);
    SKIP_UNLESS_DIR("../shared/fixtures/real");
    checked = 0;
    bad += agree("../shared/fixtures/real/torch_zip", &checked);
    bad += agree("../shared/fixtures/real/torch_legacy", &checked);
    bad += agree("../shared/fixtures/real/negative", &checked);
    printf("real-world corpus: %d files checked\n", checked);
    CHECK(checked >= 25);
    CHECK_EQ_INT(bad, 0);
}

/* One rule set: over every corpus and fuzz input, a file the scanner calls clean
 * is never refused as unsafe by the default (weights-only) load.  Files the
 * loader cannot read for other reasons (safetensors, .npy, format errors) are
 * outside the weights-only question and only counted. */
static int clean_implies_load(const char *dir, int *clean, int *checked)
{
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "find %s -type f 2>/dev/null | sort", dir);
    FILE *ls = popen(cmd, "r");
    if (!ls)
        return 1;
    char path[1024];
    int bad = 0;
    while (fgets(path, sizeof(path), ls)) {
        path[strcspn(path, "\n")] = '\0';
        ckpt_scan_report *r = NULL;
        ckpt_error err;
        if (ckpt_scan_file(path, NULL, &r, &err) != 0) {
            fprintf(stderr, "%s: scan made no report\n", path);
            bad++;
            continue;
        }
        (*checked)++;
        if (r->verdict == CKPT_SCAN_CLEAN) {
            (*clean)++;
            ckpt_doc *doc = ckpt_load(path, NULL, &err);
            if (!doc && err.code == CKPT_E_UNSAFE) {
                char msg[1024];
                fprintf(stderr, "%s: scan says clean, weights-only load refuses: %s\n", path,
                        ckpt_error_format(&err, msg, sizeof(msg)));
                bad++;
            }
            ckpt_doc_free(doc);
        }
        ckpt_scan_report_free(r);
    }
    pclose(ls);
    return bad;
}

TEST(test_torch_hostile__scan_clean_implies_weights_only_load)
{
    int clean = 0, checked = 0, bad = 0;
    bad += clean_implies_load("tests/fuzz/corpus", &clean, &checked);
    bad += clean_implies_load("tests/hostile", &clean, &checked);
    bad += clean_implies_load("tests/fixtures", &clean, &checked);
    bad += clean_implies_load("../shared/fixtures/real", &clean, &checked);
    fprintf(stderr, "%d files scanned, %d clean\n", checked, clean);
    CHECK(checked >= 1000);
    CHECK(clean >= 20);
    CHECK_EQ_INT(bad, 0);
}

/* Bounded cost: 2700 calls of one global (11 KB) and a deflated member of
 * 8 Mi empty lists.  CPU time is measured in a child process with a bound far
 * above linear cost (the quadratic lookup took > 20 s); memory by the child's
 * peak resident size. */
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static int child_cost(const char *path, double *cpu_s, long *maxrss_kb, int *verdict)
{
    int fd[2];
    if (pipe(fd) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        close(fd[0]);
        ckpt_scan_report *r = NULL;
        ckpt_error err;
        int v = ckpt_scan_file(path, NULL, &r, &err) == 0 ? r->verdict : -1;
        ckpt_scan_report_free(r);
        if (write(fd[1], &v, sizeof(v)) != (ssize_t)sizeof(v))
            _exit(3);
        _exit(0);
    }
    close(fd[1]);
    if (read(fd[0], verdict, sizeof(*verdict)) != (ssize_t)sizeof(*verdict))
        *verdict = -2;
    close(fd[0]);
    int status;
    struct rusage before, ru;
    getrusage(RUSAGE_CHILDREN, &before);
    if (waitpid(pid, &status, 0) < 0)
        return -1;
    getrusage(RUSAGE_CHILDREN, &ru); /* children so far: maxrss is the largest one's */
    *cpu_s = (double)(ru.ru_utime.tv_sec - before.ru_utime.tv_sec) +
             (double)(ru.ru_utime.tv_usec - before.ru_utime.tv_usec) / 1e6 +
             (double)(ru.ru_stime.tv_sec - before.ru_stime.tv_sec) +
             (double)(ru.ru_stime.tv_usec - before.ru_stime.tv_usec) / 1e6;
    *maxrss_kb = ru.ru_maxrss;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

TEST(test_torch_hostile__scan_bounded_cost)
{
    double cpu;
    long rss;
    int v;
    CHECK_EQ_INT(child_cost("tests/hostile/scan_many_calls.pt", &cpu, &rss, &v), 0);
    fprintf(stderr, "scan_many_calls.pt: %.3f s CPU, %ld KB peak, verdict %d\n", cpu, rss, v);
    CHECK_EQ_INT(v, CKPT_SCAN_UNSAFE);
    CHECK(cpu < 2.0);
    CHECK_EQ_INT(child_cost("tests/hostile/scan_many_globals.pt", &cpu, &rss, &v), 0);
    fprintf(stderr, "scan_many_globals.pt: %.3f s CPU, verdict %d\n", cpu, v);
    CHECK_EQ_INT(v, CKPT_SCAN_UNSAFE);
    CHECK(cpu < 2.0);
    CHECK_EQ_INT(child_cost("tests/hostile/scan_lists_bomb.pt", &cpu, &rss, &v), 0);
    fprintf(stderr, "scan_lists_bomb.pt: %.3f s CPU, %ld KB peak, verdict %d\n", cpu, rss, v);
    CHECK_EQ_INT(v, CKPT_SCAN_UNREADABLE);
    CHECK(rss < 96 * 1024); /* 8 KB file: 8 MB inflated + a node budget bounded by the file */
}

TEST_MAIN()
