/* src/core/text.h - a growable NUL-terminated text buffer for writers that
 * build JSON, Python source or reports in memory.  Out of memory is sticky:
 * after the first failed growth every append is a no-op and `oom` stays set,
 * so a writer appends freely and checks once at the end. */
#ifndef CKPT_CORE_TEXT_H
#define CKPT_CORE_TEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ckpt__text {
    char *p;    /* NUL-terminated once anything was appended; NULL before */
    size_t n;   /* bytes held, without the NUL */
    size_t cap; /* bytes allocated */
    bool oom;   /* a growth failed (or would overflow size_t) */
} ckpt__text;

void ckpt__text_put(ckpt__text *t, const void *s, size_t n);
void ckpt__text_puts(ckpt__text *t, const char *s);
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
void ckpt__text_printf(ckpt__text *t, const char *fmt, ...);
/* Frees the bytes and zeroes the buffer (reusable afterwards). */
void ckpt__text_free(ckpt__text *t);

#endif
