/*
 * ckpt/alloc.h - the allocator interface.
 *
 * An allocator is given once, when an object (document, zip reader, writer)
 * is created, and every allocation that object makes goes through it.  NULL
 * means libc.  Sizes are passed to realloc and free so that arenas and
 * accounting are cheap.  The library wraps the allocator to count bytes,
 * which is how the "bytes allocated" load limit is enforced.
 */
#ifndef CKPT_ALLOC_H
#define CKPT_ALLOC_H

#include <stddef.h>

#include "ckpt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ckpt_alloc {
    void *(*alloc)(void *ctx, size_t n);
    void *(*realloc)(void *ctx, void *p, size_t old_n, size_t new_n);
    void (*free)(void *ctx, void *p, size_t n);
    void *ctx;
} ckpt_alloc;

#ifdef __cplusplus
}
#endif
#endif
