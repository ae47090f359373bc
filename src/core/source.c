/* src/core/source.c - random-access inputs (file, mmap, memory, callback). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/source.h"
#include "err.h"

static int mem_read_at(void *ctx, uint64_t off, void *buf, size_t n, ckpt_error *err)
{
    const ckpt_source *src = ctx;
    if (off > src->size || n > src->size - off)
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, off,
                            "read of %zu bytes past the end (size %llu)", n,
                            (unsigned long long)src->size);
    if (n)
        memcpy(buf, src->base + off, n);
    return 0;
}

static int fd_read_at(void *ctx, uint64_t off, void *buf, size_t n, ckpt_error *err)
{
    const ckpt_source *src = ctx;
    uint8_t *p = buf;
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        ssize_t r = pread(src->fd_, p, chunk, (off_t)off);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return CKPT_FAIL_AT(err, CKPT_E_IO, CKPT_WHERE_FILE, NULL, off, "read failed: %s",
                                strerror(errno));
        }
        if (r == 0)
            return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, off,
                                "unexpected end of file");
        p += r;
        off += (uint64_t)r;
        n -= (size_t)r;
    }
    return 0;
}

int ckpt_source_open_file(ckpt_source *out, const char *path, bool map, ckpt_error *err)
{
    if (!out || !path) {
        if (out) { /* a closed source, safe to close again */
            memset(out, 0, sizeof(*out));
            out->fd_ = -1;
        }
        return CKPT_FAIL(err, CKPT_E_ARG, "no source or path");
    }
    memset(out, 0, sizeof(*out));
    out->fd_ = -1;
    out->label = path;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int code = errno == ENOENT ? CKPT_E_NOT_FOUND : CKPT_E_IO;
        CKPT_FAIL(err, code, "cannot open: %s", strerror(errno));
        ckpt__error_set_file(err, path);
        return code;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        CKPT_FAIL(err, CKPT_E_IO, "not a regular file");
        ckpt__error_set_file(err, path);
        return CKPT_E_IO;
    }
    out->fd_ = fd;
    out->size = (uint64_t)st.st_size;
    out->read_at = fd_read_at;
    out->ctx = out;
    if (map && st.st_size > 0 && (uint64_t)st.st_size <= (uint64_t)SIZE_MAX) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p != MAP_FAILED) {
            out->base = p;
            out->map_len_ = (size_t)st.st_size;
        }
    }
    return 0;
}

void ckpt_source_init_mem(ckpt_source *out, const void *buf, size_t n, const char *label)
{
    if (!out)
        return;
    if (!buf)
        n = 0; /* no bytes: every read past 0 fails */
    memset(out, 0, sizeof(*out));
    out->fd_ = -1;
    out->base = buf;
    out->size = n;
    out->label = label ? label : "<memory>";
    out->read_at = mem_read_at;
    out->ctx = out;
}

void ckpt_source_init_callback(ckpt_source *out, ckpt_read_at_fn fn, void *ctx, uint64_t size,
                               const char *label)
{
    if (!out)
        return;
    memset(out, 0, sizeof(*out));
    out->fd_ = -1;
    out->read_at = fn;
    out->ctx = ctx;
    out->size = size;
    out->label = label ? label : "<callback>";
}

void ckpt_source_close(ckpt_source *src)
{
    if (!src)
        return;
    if (src->map_len_)
        munmap((void *)(uintptr_t)src->base, src->map_len_);
    if (src->fd_ >= 0)
        close(src->fd_);
    src->map_len_ = 0;
    src->fd_ = -1;
    src->base = NULL;
}

int ckpt_source_read(const ckpt_source *src, uint64_t off, void *buf, size_t n, ckpt_error *err)
{
    if (!src || (!buf && n) || (!src->base && !src->read_at))
        return CKPT_FAIL(err, CKPT_E_ARG, "no source, reader or buffer");
    if (off > src->size || n > src->size - off)
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, off,
                            "truncated: need %zu bytes at offset %llu, file has %llu", n,
                            (unsigned long long)off, (unsigned long long)src->size);
    if (src->base) {
        if (n)
            memcpy(buf, src->base + off, n);
        return 0;
    }
    int rc = src->read_at(src->ctx, off, buf, n, err);
    if (rc < 0 && !ckpt__error_is_set(err)) /* a caller's reader that gave no reason */
        CKPT_FAIL_AT(err, rc, CKPT_WHERE_FILE, NULL, off, "reading %zu bytes failed (%s)", n,
                     ckpt_status_name(rc));
    return rc < 0 ? rc : 0;
}
