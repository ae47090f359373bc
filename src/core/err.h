/* src/core/err.h - internal error helpers (zstd RETURN_ERROR_IF style). */
#ifndef CKPT_CORE_ERR_H
#define CKPT_CORE_ERR_H

#include <stdarg.h>

#include "ckpt/error.h"

#if defined(__GNUC__) || defined(__clang__)
#define CKPT__PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CKPT__PRINTF(a, b)
#endif

/* Record an error unless one is already recorded (first error wins).
 * Returns `code` so callers can `return ckpt__fail(...)`. */
int ckpt__fail(ckpt_error *err, int code, const char *src_file, int src_line, const char *fmt,
               ...) CKPT__PRINTF(5, 6);
/* Same, and also record the stream and offset the error refers to. */
int ckpt__fail_at(ckpt_error *err, int code, int where, const char *member, uint64_t offset,
                  const char *src_file, int src_line, const char *fmt, ...) CKPT__PRINTF(8, 9);
/* Outer layers: fill the file label if it is still empty. */
void ckpt__error_set_file(ckpt_error *err, const char *file);
/* Outer layers: prefix the key path with `component` (joined with '.'). */
void ckpt__error_prefix_key(ckpt_error *err, const char *component);
/* True when an error is recorded. */
int ckpt__error_is_set(const ckpt_error *err);

/* Public entry points whose internals read the record back (err->code after
 * a failed step) call this first: when the caller passed NULL, `err` then
 * points at a record local to the entry point, so no layer below ever sees
 * NULL and failure is detected the same way with or without a record. */
#define CKPT__ERR_LOCAL(err)                                                                     \
    ckpt_error ckpt__local_err_;                                                                 \
    if (!(err)) {                                                                                \
        ckpt_error_clear(&ckpt__local_err_);                                                     \
        (err) = &ckpt__local_err_;                                                               \
    }

#define CKPT_FAIL(err, code, ...) ckpt__fail((err), (code), __FILE__, __LINE__, __VA_ARGS__)
#define CKPT_FAIL_AT(err, code, where, member, off, ...)                                         \
    ckpt__fail_at((err), (code), (where), (member), (off), __FILE__, __LINE__, __VA_ARGS__)
#define CKPT_CHECK(cond, err, code, ...)                                                         \
    do {                                                                                         \
        if (!(cond))                                                                             \
            return CKPT_FAIL((err), (code), __VA_ARGS__);                                        \
    } while (0)
#define CKPT_TRY(expr)                                                                           \
    do {                                                                                         \
        int ckpt__rc = (expr);                                                                   \
        if (ckpt__rc < 0)                                                                        \
            return ckpt__rc;                                                                     \
    } while (0)

#endif
