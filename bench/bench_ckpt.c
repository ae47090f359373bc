/*
 * bench/bench_ckpt.c - the C side of `make bench`.
 *
 * One operation per invocation (a fresh process each time, as the torch side
 * does); every result is one JSON line on stdout:
 *   {"side":"ckpt","op":"load-copy","file":"...","n":5,"median_s":...,"runs":[...],...}
 *
 * Subcommands (N = timed runs; one untimed warm-up run precedes them):
 *   load-copy FILE N [TAG]    ckpt_load, CKPT_LOAD_COPY (owned memory)
 *   load-mmap FILE N [TAG]    ckpt_load, CKPT_LOAD_MMAP
 *                             (TAG, e.g. "thp", is appended to the op name to
 *                             label a variant run: same code, other
 * environment) save FILE OUT N MODE [L]  load FILE once (copy), then ckpt_save
 * it to OUT; MODE fsync|nofsync; L = layout 13 (torch 1.6-2.0, the bytes
 * torch 1.13 writes; default) or 27. OUT is unlinked and sync(2) is called
 * before each run, outside the timed region. read FILE N [TAG]         physical
 * limit: open + read() the whole file into a fresh malloc'd buffer (page faults
 * included, as a copy load pays them), and into a pre-faulted buffer write OUT
 * BYTES N         physical limit of a save: write() BYTES from a pre-faulted
 * buffer into a new file (unlink + sync before each run), without and with
 * fsync memcpy BYTES N            physical limit: memcpy BYTES into a
 * pre-faulted buffer, and into a fresh malloc'd one rss-copy FILE peak RSS of a
 * copy load in a fresh child process rss-mmap FILE [touch]     peak RSS of an
 * mmap load (optionally reading every tensor byte afterwards) in a fresh child
 * process crc FILE                  CRC-32 of all tensor bytes in walk order
 * (checks that ckpt and torch see the same data; not timed) make-small OUT N
 * build N small float32 tensors with the builders (keys layer.{i}.weight, 4..64
 * elements) and save them; prints the build and save times
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ckpt/core.h"
#include "ckpt/torch.h"
#include "ckpt/zip.h"

#define MAX_RUNS 64

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(const double *t, int n)
{
    double s[MAX_RUNS];
    memcpy(s, t, (size_t)n * sizeof(*t));
    qsort(s, (size_t)n, sizeof(*s), cmp_double);
    return n % 2 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
}

static void die(const char *what, const ckpt_error *err)
{
    if (err && err->code)
        fprintf(stderr, "bench_ckpt: %s: %s (%s) [%s]\n", what, err->msg,
                ckpt_status_name(err->code), err->file);
    else
        fprintf(stderr, "bench_ckpt: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int parse_n(const char *s)
{
    int n = atoi(s);
    if (n < 1 || n > MAX_RUNS) {
        fprintf(stderr, "bench_ckpt: N must be 1..%d\n", MAX_RUNS);
        exit(2);
    }
    return n;
}

/* {"side":"ckpt","op":OP,"file":FILE,"n":N,"median_s":..,"min_s":..,"max_s":..,"runs":[..]
 * EXTRA} */
static void emit(const char *op, const char *file, const double *t, int n, const char *extra)
{
    double lo = t[0], hi = t[0];
    for (int i = 1; i < n; i++) {
        lo = t[i] < lo ? t[i] : lo;
        hi = t[i] > hi ? t[i] : hi;
    }
    printf("{\"side\":\"ckpt\",\"op\":\"%s\",\"file\":\"%s\",\"n\":%d,\"median_"
           "s\":%.6f,"
           "\"min_s\":%.6f,\"max_s\":%.6f,\"runs\":[",
           op, file ? file : "", n, median(t, n), lo, hi);
    for (int i = 0; i < n; i++)
        printf("%s%.6f", i ? "," : "", t[i]);
    printf("]%s%s}\n", extra && *extra ? "," : "", extra ? extra : "");
    fflush(stdout);
}

/* ------------------------------------------------------------ tensor walk */

typedef struct walk_acc {
    uint64_t tensors, bytes;
    uint64_t not_owned, not_mapped, no_data;
    uint32_t crc;
    bool do_crc;
    volatile uint64_t sink; /* touch: sum of one byte per 4 KiB page */
    bool touch;
} walk_acc;

static int visit(void *payload, const char *key, const ckpt_obj *t)
{
    (void)key;
    walk_acc *a = payload;
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) < 0)
        return -1;
    a->tensors++;
    a->bytes += ti.nbytes;
    const uint8_t *d = ckpt_tensor_data(t);
    if (!d && ti.nbytes) {
        a->no_data++;
        return 0;
    }
    ckpt_storage_info si;
    if (ti.storage && ckpt_storage_get_info(ti.storage, &si) == 0) {
        if (si.hold != CKPT_HOLD_OWNED)
            a->not_owned++;
        if (si.hold != CKPT_HOLD_MAPPED)
            a->not_mapped++;
    }
    if (a->do_crc)
        a->crc = ckpt_crc32(a->crc, d, (size_t)ti.nbytes);
    if (a->touch) {
        uint64_t s = 0;
        for (uint64_t i = 0; i < ti.nbytes; i += 4096)
            s += d[i];
        a->sink += s;
    }
    return 0;
}

static walk_acc walk(const ckpt_doc *doc, bool crc, bool touch)
{
    walk_acc a;
    memset(&a, 0, sizeof(a));
    a.do_crc = crc;
    a.touch = touch;
    ckpt_error err;
    if (ckpt_obj_walk_tensors(ckpt_doc_root(doc), visit, &a, &err) < 0)
        die("walk", &err);
    return a;
}

/* ------------------------------------------------------------------ loads */

static int cmd_load(const char *file, int n, int mode, const char *tag)
{
    char op[64];
    snprintf(op, sizeof(op), "%s%s%s", mode == CKPT_LOAD_MMAP ? "load-mmap" : "load-copy",
             tag ? "-" : "", tag ? tag : "");
    ckpt_load_opts o;
    memset(&o, 0, sizeof(o));
    o.mode = mode;
    ckpt_error err;
    double t[MAX_RUNS], tf[MAX_RUNS];
    walk_acc a;
    memset(&a, 0, sizeof(a));
    for (int i = -1; i < n; i++) {
        double t0 = now();
        ckpt_doc *doc = ckpt_load(file, &o, &err);
        double t1 = now();
        if (!doc)
            die("ckpt_load", &err);
        if (i < 0) { /* warm-up run: check what the load produced */
            a = walk(doc, false, false);
            if (a.no_data || (mode == CKPT_LOAD_COPY && a.not_owned) ||
                (mode == CKPT_LOAD_MMAP && a.not_mapped)) {
                fprintf(stderr,
                        "bench_ckpt: %s: %" PRIu64 " tensors without data, %" PRIu64
                        " not owned, %" PRIu64 " not mapped\n",
                        op, a.no_data, a.not_owned, a.not_mapped);
                return 1;
            }
        }
        double t2 = now();
        ckpt_doc_free(doc);
        double t3 = now();
        if (i >= 0) {
            t[i] = t1 - t0;
            tf[i] = t3 - t2;
        }
    }
    char extra[256];
    snprintf(extra, sizeof(extra),
             "\"tensors\":%" PRIu64 ",\"tensor_bytes\":%" PRIu64 ",\"free_median_s\":%.6f",
             a.tensors, a.bytes, median(tf, n));
    emit(op, file, t, n, extra);
    return 0;
}

/* ------------------------------------------------------------------- save */

static int cmd_save(const char *file, const char *out, int n, const char *mode, int layout)
{
    bool fsync_on;
    if (strcmp(mode, "fsync") == 0)
        fsync_on = true;
    else if (strcmp(mode, "nofsync") == 0)
        fsync_on = false;
    else {
        fprintf(stderr, "bench_ckpt: save mode must be fsync or nofsync\n");
        return 2;
    }
    ckpt_error err;
    ckpt_doc *doc = ckpt_load(file, NULL, &err);
    if (!doc)
        die("ckpt_load", &err);
    walk_acc a = walk(doc, false, false);
    ckpt_save_opts so;
    memset(&so, 0, sizeof(so));
    so.layout = layout == 27 ? CKPT_LAYOUT_TORCH27 : CKPT_LAYOUT_TORCH13;
    so.no_fsync = !fsync_on;
    double t[MAX_RUNS];
    for (int i = -1; i < n; i++) {
        unlink(out);
        sync();
        double t0 = now();
        if (ckpt_save(out, ckpt_doc_root(doc), &so, &err) < 0)
            die("ckpt_save", &err);
        double t1 = now();
        if (i >= 0)
            t[i] = t1 - t0;
    }
    sync(); /* leave no dirty pages behind for the next measurement */
    struct stat st;
    if (stat(out, &st) != 0)
        die("stat output", NULL);
    char op[64], extra[256];
    snprintf(op, sizeof(op), "save-%s%s", mode, layout == 27 ? "-l27" : "");
    snprintf(extra, sizeof(extra),
             "\"out\":\"%s\",\"out_bytes\":%lld,\"tensors\":%" PRIu64
             ",\"tensor_bytes\":%" PRIu64,
             out, (long long)st.st_size, a.tensors, a.bytes);
    emit(op, file, t, n, extra);
    ckpt_doc_free(doc);
    return 0;
}

/* ------------------------------------------------------- physical limits */

static void read_whole(const char *file, uint8_t *buf, size_t size)
{
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        die("open", NULL);
    size_t done = 0;
    while (done < size) {
        size_t chunk = size - done > (1u << 30) ? (1u << 30) : size - done;
        ssize_t r = read(fd, buf + done, chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            die("read", NULL);
        done += (size_t)r;
    }
    close(fd);
}

static int cmd_read(const char *file, int n, const char *tag)
{
    char op[64];
    struct stat st;
    if (stat(file, &st) != 0)
        die("stat", NULL);
    size_t size = (size_t)st.st_size;
    double t[MAX_RUNS];
    /* fresh buffer each run: faults its pages in, as an owning load does */
    for (int i = -1; i < n; i++) {
        double t0 = now();
        uint8_t *buf = malloc(size);
        if (!buf)
            die("malloc", NULL);
        read_whole(file, buf, size);
        double t1 = now();
        free(buf);
        if (i >= 0)
            t[i] = t1 - t0;
    }
    char extra[128];
    snprintf(extra, sizeof(extra), "\"bytes\":%zu", size);
    snprintf(op, sizeof(op), "read-fresh%s%s", tag ? "-" : "", tag ? tag : "");
    emit(op, file, t, n, extra);
    /* pre-faulted buffer: the copy out of the page cache alone */
    uint8_t *buf = malloc(size);
    if (!buf)
        die("malloc", NULL);
    memset(buf, 1, size);
    for (int i = -1; i < n; i++) {
        double t0 = now();
        read_whole(file, buf, size);
        double t1 = now();
        if (i >= 0)
            t[i] = t1 - t0;
    }
    free(buf);
    snprintf(op, sizeof(op), "read-prefaulted%s%s", tag ? "-" : "", tag ? tag : "");
    emit(op, file, t, n, extra);
    return 0;
}

static int cmd_memcpy(size_t size, int n)
{
    uint8_t *src = malloc(size), *dst = malloc(size);
    if (!src || !dst)
        die("malloc", NULL);
    memset(src, 7, size);
    memset(dst, 1, size);
    double t[MAX_RUNS];
    for (int i = -1; i < n; i++) {
        double t0 = now();
        memcpy(dst, src, size);
        double t1 = now();
        if (i >= 0)
            t[i] = t1 - t0;
    }
    if (dst[size - 1] != 7)
        return 1;
    char extra[128];
    snprintf(extra, sizeof(extra), "\"bytes\":%zu", size);
    emit("memcpy-prefaulted", NULL, t, n, extra);
    free(dst);
    for (int i = -1; i < n; i++) {
        double t0 = now();
        uint8_t *d = malloc(size);
        if (!d)
            die("malloc", NULL);
        memcpy(d, src, size);
        double t1 = now();
        if (d[size / 2] != 7)
            return 1;
        free(d);
        if (i >= 0)
            t[i] = t1 - t0;
    }
    emit("memcpy-fresh", NULL, t, n, extra);
    free(src);
    return 0;
}

/* write() BYTES from a pre-faulted buffer into a new file OUT, as a save
 * does (same unlink + sync before each run); without and with fsync */
static int cmd_write(const char *out, size_t size, int n)
{
    uint8_t *buf = malloc(size);
    if (!buf)
        die("malloc", NULL);
    memset(buf, 3, size);
    double t[MAX_RUNS];
    char extra[128];
    snprintf(extra, sizeof(extra), "\"bytes\":%zu", size);
    for (int with_fsync = 0; with_fsync < 2; with_fsync++) {
        for (int i = -1; i < n; i++) {
            unlink(out);
            sync();
            double t0 = now();
            int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            if (fd < 0)
                die("open", NULL);
            size_t done = 0;
            while (done < size) {
                size_t chunk = size - done > (1u << 30) ? (1u << 30) : size - done;
                ssize_t w = write(fd, buf + done, chunk);
                if (w < 0 && errno == EINTR)
                    continue;
                if (w <= 0)
                    die("write", NULL);
                done += (size_t)w;
            }
            if (with_fsync && fsync(fd) != 0)
                die("fsync", NULL);
            close(fd);
            double t1 = now();
            if (i >= 0)
                t[i] = t1 - t0;
        }
        emit(with_fsync ? "write-fsync" : "write-nofsync", out, t, n, extra);
    }
    unlink(out);
    sync();
    free(buf);
    return 0;
}

/* -------------------------------------------------------------- peak RSS */

static long self_maxrss_kib(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

/* runs in a freshly exec'd child: load, maybe touch, report */
static int cmd_rss_child(const char *what, const char *file)
{
    long before = self_maxrss_kib();
    ckpt_load_opts o;
    memset(&o, 0, sizeof(o));
    bool touch = strcmp(what, "mmap-touch") == 0;
    o.mode = strcmp(what, "copy") == 0 ? CKPT_LOAD_COPY : CKPT_LOAD_MMAP;
    ckpt_error err;
    ckpt_doc *doc = ckpt_load(file, &o, &err);
    if (!doc)
        die("ckpt_load", &err);
    walk_acc a = walk(doc, false, touch);
    long after = self_maxrss_kib();
    printf("{\"side\":\"ckpt\",\"op\":\"rss-%s\",\"file\":\"%s\",\"maxrss_before_"
           "kib\":%ld,"
           "\"maxrss_kib\":%ld,\"tensors\":%" PRIu64 ",\"tensor_bytes\":%" PRIu64
           ",\"doc_bytes\":%" PRIu64 "}\n",
           what, file, before, after, a.tensors, a.bytes, ckpt_doc_bytes(doc));
    fflush(stdout);
    ckpt_doc_free(doc);
    return 0;
}

static int cmd_rss(const char *what, const char *file)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork", NULL);
    if (pid == 0) {
        execl("/proc/self/exe", "bench_ckpt", "rss-child", what, file, (char *)NULL);
        _exit(127);
    }
    int status;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) < 0)
        die("wait4", NULL);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "bench_ckpt: rss child failed\n");
        return 1;
    }
    /* the child printed its own line; this one is the parent's view of it */
    printf("{\"side\":\"ckpt\",\"op\":\"rss-%s-wait4\",\"file\":\"%s\",\"maxrss_"
           "kib\":%ld}\n",
           what, file, ru.ru_maxrss);
    return 0;
}

/* ------------------------------------------------------------------- crc */

static int cmd_crc(const char *file)
{
    ckpt_error err;
    ckpt_doc *doc = ckpt_load(file, NULL, &err);
    if (!doc)
        die("ckpt_load", &err);
    walk_acc a = walk(doc, true, false);
    printf("{\"side\":\"ckpt\",\"op\":\"crc\",\"file\":\"%s\",\"crc\":%u,"
           "\"tensors\":%" PRIu64 ",\"tensor_bytes\":%" PRIu64 "}\n",
           file, a.crc, a.tensors, a.bytes);
    ckpt_doc_free(doc);
    return 0;
}

/* ------------------------------------------------------------ make-small */

static int cmd_make_small(const char *out, long count)
{
    ckpt_error err;
    double t0 = now();
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    if (!doc)
        die("ckpt_doc_new", &err);
    ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    float vals[64];
    for (long i = 0; i < count; i++) {
        int64_t numel = 4 + (i * 7919) % 61; /* 4..64 */
        for (int64_t k = 0; k < numel; k++)
            vals[k] = (float)(i + k) * 0.001f;
        char key[64];
        snprintf(key, sizeof(key), "layer.%ld.weight", i);
        ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_F32, 1, &numel, vals, &err);
        if (!t || ckpt_dict_set_str(doc, d, key, t, &err) < 0)
            die("build", &err);
    }
    ckpt_doc_set_root(doc, d);
    double t1 = now();
    ckpt_save_opts so;
    memset(&so, 0, sizeof(so));
    so.layout = CKPT_LAYOUT_TORCH13;
    so.no_fsync = true;
    if (ckpt_save(out, d, &so, &err) < 0)
        die("ckpt_save", &err);
    double t2 = now();
    printf("{\"side\":\"ckpt\",\"op\":\"make-small\",\"file\":\"%s\",\"tensors\":"
           "%ld,"
           "\"build_s\":%.6f,\"save_s\":%.6f}\n",
           out, count, t1 - t0, t2 - t1);
    ckpt_doc_free(doc);
    return 0;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_ckpt load-copy|load-mmap FILE N [TAG] | save "
                    "FILE OUT N fsync|nofsync "
                    "[13|27] | read FILE N [TAG] | write OUT BYTES N | memcpy "
                    "BYTES N | rss-copy FILE | rss-mmap FILE "
                    "[touch] | crc FILE | make-small OUT COUNT\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage();
    const char *c = argv[1];
    const char *tag = argc == 5 ? argv[4] : NULL; /* labels a variant run, e.g. "thp" */
    if (strcmp(c, "load-copy") == 0 && (argc == 4 || argc == 5))
        return cmd_load(argv[2], parse_n(argv[3]), CKPT_LOAD_COPY, tag);
    if (strcmp(c, "load-mmap") == 0 && (argc == 4 || argc == 5))
        return cmd_load(argv[2], parse_n(argv[3]), CKPT_LOAD_MMAP, tag);
    if (strcmp(c, "save") == 0 && (argc == 6 || argc == 7))
        return cmd_save(argv[2], argv[3], parse_n(argv[4]), argv[5],
                        argc == 7 ? atoi(argv[6]) : 13);
    if (strcmp(c, "read") == 0 && (argc == 4 || argc == 5))
        return cmd_read(argv[2], parse_n(argv[3]), tag);
    if (strcmp(c, "write") == 0 && argc == 5)
        return cmd_write(argv[2], (size_t)strtoull(argv[3], NULL, 10), parse_n(argv[4]));
    if (strcmp(c, "memcpy") == 0 && argc == 4)
        return cmd_memcpy((size_t)strtoull(argv[2], NULL, 10), parse_n(argv[3]));
    if (strcmp(c, "rss-copy") == 0 && argc == 3)
        return cmd_rss("copy", argv[2]);
    if (strcmp(c, "rss-mmap") == 0 && (argc == 3 || argc == 4))
        return cmd_rss(argc == 4 && strcmp(argv[3], "touch") == 0 ? "mmap-touch" : "mmap",
                       argv[2]);
    if (strcmp(c, "rss-child") == 0 && argc == 4)
        return cmd_rss_child(argv[2], argv[3]);
    if (strcmp(c, "crc") == 0 && argc == 3)
        return cmd_crc(argv[2]);
    if (strcmp(c, "make-small") == 0 && argc == 4)
        return cmd_make_small(argv[2], atol(argv[3]));
    return usage();
}
