/* src/core/sink.c - buffered sequential output to a descriptor or to memory. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/source.h"
#include "err.h"
#include "mem.h"

#define SINK_BUF (1u << 20)

struct ckpt_sink {
    ckpt_alloc alloc;
    bool has_alloc;
    int fd; /* -1 for memory sinks */
    const char *label;
    uint8_t *buf;
    size_t len, cap;
    uint64_t flushed; /* bytes already handed to fd */
};

/* Without a caller allocator the buffer is plain malloc memory, because a
 * memory sink hands it to the caller to free() (the library's default
 * allocator maps large blocks, which free() cannot release). */
static void *plain_alloc(void *ctx, size_t n)
{
    (void)ctx;
    return malloc(n);
}
static void *plain_realloc(void *ctx, void *p, size_t old_n, size_t new_n)
{
    (void)ctx;
    (void)old_n;
    return realloc(p, new_n);
}
static void plain_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    (void)n;
    free(p);
}
static const ckpt_alloc plain = {plain_alloc, plain_realloc, plain_free, NULL};

static const ckpt_alloc *al(const ckpt_sink *s)
{
    return s->has_alloc ? &s->alloc : &plain;
}

static ckpt_sink *sink_new(const ckpt_alloc *alloc, int fd, const char *label, size_t cap,
                           ckpt_error *err)
{
    if (!alloc)
        alloc = &plain;
    ckpt_sink *s = ckpt__alloc(alloc, sizeof(*s));
    if (!s) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory creating output buffer");
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    if (alloc) {
        s->alloc = *alloc;
        s->has_alloc = true;
    }
    s->fd = fd;
    s->label = label;
    s->cap = cap;
    s->buf = ckpt__alloc(alloc, cap);
    if (!s->buf) {
        ckpt__free(alloc, s, sizeof(*s));
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory creating output buffer");
        return NULL;
    }
    return s;
}

ckpt_sink *ckpt_sink_new_fd(int fd, const char *label, const ckpt_alloc *alloc, ckpt_error *err)
{
    if (fd < 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "no file descriptor (%d)", fd);
        return NULL;
    }
    return sink_new(alloc, fd, label, SINK_BUF, err);
}

ckpt_sink *ckpt_sink_new_mem(const ckpt_alloc *alloc, ckpt_error *err)
{
    return sink_new(alloc, -1, "<memory>", 4096, err);
}

static int write_all(ckpt_sink *s, const uint8_t *p, size_t n, ckpt_error *err)
{
    while (n > 0) {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        ssize_t w = write(s->fd, p, chunk);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return CKPT_FAIL_AT(err, CKPT_E_IO, CKPT_WHERE_FILE, NULL, s->flushed,
                                "write failed: %s", strerror(errno));
        }
        p += w;
        n -= (size_t)w;
        s->flushed += (uint64_t)w;
    }
    return 0;
}

int ckpt_sink_flush(ckpt_sink *s, ckpt_error *err)
{
    if (!s)
        return CKPT_FAIL(err, CKPT_E_ARG, "no sink");
    if (s->fd < 0 || s->len == 0)
        return 0;
    int rc = write_all(s, s->buf, s->len, err);
    s->len = 0;
    return rc;
}

int ckpt_sink_write(ckpt_sink *s, const void *p, size_t n, ckpt_error *err)
{
    if (!s || (!p && n))
        return CKPT_FAIL(err, CKPT_E_ARG, "no sink or no bytes to write");
    if (n == 0)
        return 0;
    if (s->fd >= 0) {
        if (n >= s->cap / 2) { /* large: flush and write straight from the caller */
            CKPT_TRY(ckpt_sink_flush(s, err));
            return write_all(s, p, n, err);
        }
        if (s->len + n > s->cap)
            CKPT_TRY(ckpt_sink_flush(s, err));
        memcpy(s->buf + s->len, p, n);
        s->len += n;
        return 0;
    }
    if (n > s->cap - s->len) {
        size_t need = s->len + n;
        if (need < s->len)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "output too large");
        size_t ncap = s->cap;
        while (ncap < need) {
            size_t nn = ncap * 2;
            if (nn < ncap) {
                ncap = need;
                break;
            }
            ncap = nn;
        }
        uint8_t *nb = ckpt__realloc(al(s), s->buf, s->cap, ncap);
        if (!nb)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory growing output (%zu bytes)", ncap);
        s->buf = nb;
        s->cap = ncap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
    return 0;
}

uint64_t ckpt_sink_offset(const ckpt_sink *s)
{
    return s ? s->flushed + s->len : 0;
}

void *ckpt_sink_take_mem(ckpt_sink *s, size_t *len)
{
    if (!s || !len || s->fd >= 0)
        return NULL;
    /* Hand over exactly `len` bytes so that free(p, len) is right.  When the
     * shrinking realloc fails, handing over the larger block would make the
     * caller free it with the wrong size: return NULL instead (out of memory)
     * and keep the block for ckpt_sink_free. */
    if (s->len != s->cap) {
        uint8_t *nb = ckpt__realloc(al(s), s->buf, s->cap, s->len ? s->len : 1);
        if (!nb)
            return NULL;
        s->buf = nb;
        s->cap = s->len ? s->len : 1;
    }
    void *b = s->buf;
    *len = s->len;
    s->buf = NULL;
    s->len = s->cap = 0;
    return b;
}

void ckpt_sink_free(ckpt_sink *s)
{
    if (!s)
        return;
    if (s->buf)
        ckpt__free(al(s), s->buf, s->cap);
    ckpt__free(al(s), s, sizeof(*s));
}
