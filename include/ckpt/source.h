/*
 * ckpt/source.h - where bytes come from and where they go.
 *
 * A ckpt_source gives random access to an input (a file, a buffer, or a
 * caller callback).  When the whole input is addressable in memory (a
 * buffer, or a file mapped with mmap) `base` points at it and parsers use it
 * directly; otherwise they call read_at.  Tests use the callback form to
 * inject short reads and I/O failures.
 *
 * A ckpt_sink is the output side: buffered sequential writes to a file
 * descriptor or to a growing memory buffer.
 */
#ifndef CKPT_SOURCE_H
#define CKPT_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/alloc.h"
#include "ckpt/error.h"
#include "ckpt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Read exactly `n` bytes at `off` into `buf`; return 0, or a negative
 * ckpt_status after filling `err` (which may be NULL; a failure left without
 * a reason is recorded by the library as "reading N bytes failed"). */
typedef int (*ckpt_read_at_fn)(void *ctx, uint64_t off, void *buf, size_t n, ckpt_error *err);

typedef struct ckpt_source {
    ckpt_read_at_fn read_at; /* always set */
    void *ctx;
    const uint8_t *base; /* whole input in memory, or NULL */
    uint64_t size;       /* total size in bytes */
    const char *label;   /* file name or caller label, for errors */
    /* private to ckpt_source_open_file / ckpt_source_close */
    int fd_;
    size_t map_len_;
    const ckpt_alloc *alloc_;
} ckpt_source;

/*
 * Open a file.  `map`: also mmap it read-only (MAP_PRIVATE) and set `base`;
 * falls back to plain reads when mapping fails (pipes, empty files).
 * Returns 0 or < 0.  Close with ckpt_source_close.
 */
CKPT_API int ckpt_source_open_file(ckpt_source *out, const char *path, bool map, ckpt_error *err);
/* A source over caller memory (not copied; must outlive the source).  A NULL
 * `buf` makes an empty source whatever `n` says.  NULL `out`: nothing done. */
CKPT_API void ckpt_source_init_mem(ckpt_source *out, const void *buf, size_t n,
                                   const char *label);
/* A source over a callback. */
CKPT_API void ckpt_source_init_callback(ckpt_source *out, ckpt_read_at_fn fn, void *ctx,
                                        uint64_t size, const char *label);
/* Release what open_file acquired; safe on any initialised source. */
CKPT_API void ckpt_source_close(ckpt_source *src);
/* Read with bounds check against `size` (offset + n must fit). */
CKPT_API int ckpt_source_read(const ckpt_source *src, uint64_t off, void *buf, size_t n,
                              ckpt_error *err);

typedef struct ckpt_sink ckpt_sink;

/* Buffered sink over a file descriptor (not closed by the sink); fd >= 0. */
CKPT_API ckpt_sink *ckpt_sink_new_fd(int fd, const char *label, const ckpt_alloc *alloc,
                                     ckpt_error *err);
/* Sink into a growing memory buffer; take it with ckpt_sink_take_mem. */
CKPT_API ckpt_sink *ckpt_sink_new_mem(const ckpt_alloc *alloc, ckpt_error *err);
CKPT_API int ckpt_sink_write(ckpt_sink *s, const void *p, size_t n, ckpt_error *err);
/* Bytes written so far (the current output offset). */
CKPT_API uint64_t ckpt_sink_offset(const ckpt_sink *s);
/* Flush buffered bytes to the descriptor. */
CKPT_API int ckpt_sink_flush(ckpt_sink *s, ckpt_error *err);
/* Memory sinks: hand over the buffer of exactly *len bytes (free it with the
 * same allocator, or with free() when alloc was NULL); the sink keeps
 * nothing.  NULL when out of memory (the sink still owns its buffer), or
 * when `s` is NULL or not a memory sink, or `len` is NULL. */
CKPT_API void *ckpt_sink_take_mem(ckpt_sink *s, size_t *len);
CKPT_API void ckpt_sink_free(ckpt_sink *s);

#ifdef __cplusplus
}
#endif
#endif
