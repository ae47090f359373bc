/* tests/unit/onnx/hostile_onnx_test.c - the hostile ONNX corpus (tests/hostile/onnx, made by
 * tools/gen/make_hostile_onnx.py): every file loads with the status its manifest names,
 * the error names the node, initializer or thing at fault, a session is refused where the
 * manifest says so, ckpt scan gives the manifest's verdict; each load runs in a child
 * process under a 1 GiB address-space limit, so a crash or an allocation bomb fails the
 * case instead of the runner. */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "ckpt/onnx.h"
#include "ckpt/scan.h"
#include "util/test.h"

#define DIR "tests/hostile/onnx/"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

typedef struct row {
    char file[96], load[32], session[32], scan[32], names[96];
} row;

static int read_manifest(row *rows, int max)
{
    FILE *f = fopen(DIR "MANIFEST.tsv", "r");
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
        char *c[5];
        c[0] = strtok_r(line, "\t\n", &save);
        for (int k = 1; k < 5; k++)
            c[k] = c[k - 1] ? strtok_r(NULL, "\t\n", &save) : NULL;
        if (!c[4])
            continue;
        snprintf(rows[n].file, sizeof(rows[n].file), "%s", c[0]);
        snprintf(rows[n].load, sizeof(rows[n].load), "%s", c[1]);
        snprintf(rows[n].session, sizeof(rows[n].session), "%s", c[2]);
        snprintf(rows[n].scan, sizeof(rows[n].scan), "%s", c[3]);
        snprintf(rows[n].names, sizeof(rows[n].names), "%s", c[4]);
        n++;
    }
    fclose(f);
    return n;
}

static const char *status_short(int code)
{
    if (code == 0)
        return "OK";
    const char *n = ckpt_status_name(code);
    return strncmp(n, "CKPT_", 5) == 0 ? n + 5 : n;
}

/* In a child: load (and create a session when it loads); write "LOAD\tSESSION\tMSG". */
static void child(const char *path, int fd)
{
#ifndef UNDER_ASAN
    struct rlimit rl = {(rlim_t)1 << 30, (rlim_t)1 << 30};
    setrlimit(RLIMIT_AS, &rl);
#endif
    ckpt_error err;
    char msg[1400] = "", out[1600];
    const char *sess = "-";
    ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, &err);
    int code = m ? 0 : err.code;
    if (!m) {
        ckpt_error_format(&err, msg, sizeof(msg));
    } else {
        ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
        sess = s ? "OK" : status_short(err.code);
        if (!s)
            ckpt_error_format(&err, msg, sizeof(msg));
        ckpt_onnx_session_free(s);
        ckpt_onnx_model_free(m);
    }
    int k = snprintf(out, sizeof(out), "%s\t%s\t%s", status_short(code), sess, msg);
    if (write(fd, out, (size_t)k) != k)
        _exit(3);
    _exit(0);
}

TEST(test_onnx_hostile__corpus)
{
    static row rows[128];
    int n = read_manifest(rows, 128);
    CHECK(n >= 30);
    int bad = 0;
    for (int i = 0; i < n; i++) {
        char path[256];
        snprintf(path, sizeof(path), DIR "%.95s", rows[i].file);
        int p[2];
        CHECK(pipe(p) == 0);
        fflush(NULL);
        pid_t pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
            close(p[0]);
            child(path, p[1]);
        }
        close(p[1]);
        char buf[1700] = "";
        size_t got = 0;
        ssize_t r;
        while (got + 1 < sizeof(buf) && (r = read(p[0], buf + got, sizeof(buf) - 1 - got)) > 0)
            got += (size_t)r;
        buf[got] = '\0';
        close(p[0]);
        int st = 0;
        waitpid(pid, &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "%s: the load crashed or ran out of memory (status %d)\n",
                    rows[i].file, st);
            bad++;
            continue;
        }
        char *save = NULL;
        char *load = strtok_r(buf, "\t", &save), *sess = strtok_r(NULL, "\t", &save);
        char *msg = strtok_r(NULL, "", &save);
        if (!msg)
            msg = (char *)"";
        if (!load || !sess || strcmp(load, rows[i].load) != 0 ||
            (strcmp(sess, rows[i].session) != 0 && strcmp(rows[i].session, "*") != 0)) {
            fprintf(stderr, "%s: load %s session %s, want %s %s: %s\n", rows[i].file,
                    load ? load : "?", sess ? sess : "?", rows[i].load, rows[i].session, msg);
            bad++;
        } else if (strcmp(rows[i].names, "-") != 0 && !strstr(msg, rows[i].names)) {
            fprintf(stderr, "%s: the error does not name '%s': %s\n", rows[i].file, rows[i].names,
                    msg);
            bad++;
        }
        ckpt_scan_report *rep = NULL;
        ckpt_error err;
        if (ckpt_scan_file(path, NULL, &rep, &err) != 0) {
            fprintf(stderr, "%s: scan failed\n", rows[i].file);
            bad++;
            continue;
        }
        const char *v = rep->verdict == CKPT_SCAN_CLEAN    ? "clean"
                        : rep->verdict == CKPT_SCAN_UNSAFE ? "unsafe"
                                                           : "unreadable";
        if (strcmp(v, rows[i].scan) != 0) {
            fprintf(stderr, "%s: scan verdict %s, want %s\n", rows[i].file, v, rows[i].scan);
            bad++;
        }
        ckpt_scan_report_free(rep);
    }
    CHECK_EQ_INT(bad, 0);
}

/* The scan names what makes a model unsafe: the custom op's domain and type, the
 * escaping location. */
TEST(test_onnx_hostile__scan_names)
{
    ckpt_scan_report *r = NULL;
    ckpt_error err;
    CHECK(ckpt_scan_file(DIR "custom_domain.onnx", NULL, &r, &err) == 0);
    CHECK_EQ_INT(r->verdict, CKPT_SCAN_UNSAFE);
    CHECK(r->count == 1);
    CHECK(strcmp(r->findings[0].module, "com.evil") == 0);
    CHECK(strcmp(r->findings[0].name, "Exfiltrate") == 0);
    CHECK(strstr(r->findings[0].stream, "evil_node") != NULL);
    ckpt_scan_report_free(r);
    const char *esc[] = {"ext_dotdot.onnx", "ext_absolute.onnx", "ext_symlink.onnx"};
    for (size_t i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof(path), DIR "%s", esc[i]);
        CHECK(ckpt_scan_file(path, NULL, &r, &err) == 0);
        CHECK_EQ_INT(r->verdict, CKPT_SCAN_UNSAFE);
        CHECK(r->count == 1);
        CHECK_EQ_INT(r->findings[0].klass, CKPT_SCAN_DANGEROUS);
        CHECK(strcmp(r->findings[0].module, "external_data") == 0);
        CHECK(strstr(r->findings[0].stream, "'W'") != NULL);
        ckpt_scan_report_free(r);
    }
}

/* Every real model of ../shared scans clean: standard domains, no external data. */
TEST(test_onnx_hostile__real_models_scan_clean)
{
    SKIP_UNLESS_DIR("../shared/fixtures/real/onnx");
    FILE *ls = popen("ls ../shared/fixtures/real/onnx/*.onnx", "r");
    CHECK(ls != NULL);
    char name[1024];
    int n = 0, bad = 0;
    while (fgets(name, sizeof(name), ls)) {
        name[strcspn(name, "\n")] = '\0';
        ckpt_scan_report *r = NULL;
        ckpt_error err;
        if (ckpt_scan_file(name, NULL, &r, &err) != 0 || r->verdict != CKPT_SCAN_CLEAN) {
            fprintf(stderr, "%s: not clean\n", name);
            bad++;
        }
        ckpt_scan_report_free(r);
        n++;
    }
    pclose(ls);
    CHECK(n >= 70);
    CHECK_EQ_INT(bad, 0);
}

TEST_MAIN()
