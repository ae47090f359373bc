/* bench/formats_bench.c - one timed operation per process for
 * bench/formats_bench.sh: safetensors load (copy, mmap) against ckpt's own
 * torch-zip load and the page-cache read limit; torch zip -> safetensors
 * convert against read()+write() of the same bytes.  Prints one JSON line. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench_util.h"
#include "ckpt/ckpt.h"

static void die(const char *what, const ckpt_error *e)
{
    char buf[1200];
    fprintf(stderr, "formats_bench: %s: %s\n", what,
            e ? ckpt_error_format(e, buf, sizeof buf) : "");
    exit(2);
}

static uint64_t fsize(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* read() the whole file into one buffer, 16 MiB per call: the page-cache
 * limit of any load that hands back owned memory.  The buffer is what ckpt
 * gives a large storage (src/core/mem.c): an anonymous mapping marked
 * MADV_HUGEPAGE, so the limit and the load pay the same page faults (with
 * 4 KiB pages, faulting 1 GiB in costs this machine ~3 s by itself). */
#define CHUNK ((uint64_t)16 << 20)
static uint64_t read_all(const char *p, uint8_t **out)
{
    uint64_t n = fsize(p);
    size_t len = (size_t)((n + (2u << 20) - 1) & ~(uint64_t)((2u << 20) - 1));
    uint8_t *b = mmap(NULL, len ? len : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    int fd = open(p, O_RDONLY);
    if (b == MAP_FAILED || fd < 0)
        die("read", NULL);
#ifdef MADV_HUGEPAGE
    madvise(b, len, MADV_HUGEPAGE);
#endif
    uint64_t off = 0;
    while (off < n) {
        ssize_t r = read(fd, b + off, n - off > CHUNK ? CHUNK : n - off);
        if (r <= 0)
            die("read", NULL);
        off += (uint64_t)r;
    }
    close(fd);
    *out = b;
    return n;
}

static void free_all(uint8_t *b, uint64_t n)
{
    munmap(b, (size_t)((n + (2u << 20) - 1) & ~(uint64_t)((2u << 20) - 1)));
}

static void write_all(const char *p, const uint8_t *b, uint64_t n)
{
    int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        die("write", NULL);
    uint64_t off = 0;
    while (off < n) {
        ssize_t w = write(fd, b + off, n - off > CHUNK ? CHUNK : n - off);
        if (w <= 0)
            die("write", NULL);
        off += (uint64_t)w;
    }
    close(fd);
}

typedef struct sum {
    ckpt_doc *doc;
    uint64_t bytes, x;
} sum;

/* touch every tensor byte (8 bytes per 4 KiB page is enough to fault it in) */
static int touch(void *payload, const char *key, const ckpt_obj *t)
{
    (void)key;
    sum *s = payload;
    ckpt_tensor_info ti;
    ckpt_tensor_get_info(t, &ti);
    const uint8_t *p = ckpt_tensor_data_load(s->doc, t, NULL);
    if (!p)
        return 0;
    for (uint64_t i = 0; i < ti.nbytes; i += 4096)
        s->x += p[i];
    s->bytes += ti.nbytes;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr,
                "usage: formats_bench read-limit FILE | zip-load FILE | st-load-copy FILE |\n"
                "  st-load-mmap FILE | st-load-mmap-touch FILE | convert ZIP OUT |\n"
                "  copy-limit IN OUT\n");
        return 2;
    }
    const char *op = argv[1];
    ckpt_error err;
    ckpt_error_clear(&err);
    double t0 = now_ms(), ms;
    uint64_t bytes = 0, x = 0;
    if (strcmp(op, "read-limit") == 0) {
        uint8_t *b;
        bytes = read_all(argv[2], &b);
        ms = now_ms() - t0;
        x = b[bytes / 2];
        free_all(b, bytes);
    } else if (strcmp(op, "zip-load") == 0 || strncmp(op, "st-load", 7) == 0) {
        bool st = op[0] == 's', mm = strstr(op, "mmap") != NULL;
        ckpt_doc *doc;
        if (st) {
            doc = ckpt_safetensors_load(argv[2], mm ? CKPT_LOAD_MMAP : CKPT_LOAD_COPY, NULL,
                                        &err);
        } else {
            ckpt_load_opts o;
            memset(&o, 0, sizeof o);
            doc = ckpt_load(argv[2], &o, &err);
        }
        if (!doc)
            die(op, &err);
        sum s = {doc, 0, 0};
        if (!mm || strstr(op, "touch"))
            ckpt_obj_walk_tensors(ckpt_doc_root(doc), touch, &s, NULL);
        ms = now_ms() - t0;
        bytes = s.bytes ? s.bytes : ckpt_doc_bytes(doc);
        x = s.x;
        ckpt_doc_free(doc);
    } else if (strcmp(op, "convert") == 0 && argc >= 4) {
        ckpt_load_opts o;
        memset(&o, 0, sizeof o);
        o.mode = CKPT_LOAD_MMAP;
        ckpt_doc *doc = ckpt_load(argv[2], &o, &err);
        if (!doc)
            die("load", &err);
        ckpt_st_save_opts so;
        memset(&so, 0, sizeof so);
        so.no_fsync = true; /* the read()+write() limit does not fsync either */
        if (ckpt_safetensors_save(argv[3], ckpt_doc_root(doc), &so, &err) < 0)
            die("save", &err);
        ms = now_ms() - t0;
        ckpt_doc_free(doc);
        bytes = fsize(argv[3]);
    } else if (strcmp(op, "copy-limit") == 0 && argc >= 4) {
        uint8_t *b;
        bytes = read_all(argv[2], &b);
        write_all(argv[3], b, bytes);
        ms = now_ms() - t0;
        free_all(b, bytes);
    } else {
        fprintf(stderr, "formats_bench: unknown op %s\n", op);
        return 2;
    }
    printf("{\"op\": \"%s\", \"ms\": %.3f, \"bytes\": %llu, \"peak_rss_kb\": %ld, \"x\": %llu}\n",
           op, ms, (unsigned long long)bytes, status_kb("VmHWM"), (unsigned long long)x);
    return 0;
}
