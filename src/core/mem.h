/* src/core/mem.h - the counting allocator wrapper and the node arena.
 *
 * ckpt__mem wraps a caller's ckpt_alloc (NULL = libc), counts live bytes and
 * refuses allocations past `limit` (CKPT_E_LIMIT is reported by callers that
 * check ckpt__mem_over_limit).  ckpt__arena is a bump allocator over chunks
 * from a ckpt__mem, used for nodes, strings and small arrays that live as
 * long as their document. */
#ifndef CKPT_CORE_MEM_H
#define CKPT_CORE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/alloc.h"

typedef struct ckpt__mem {
    ckpt_alloc a;  /* copy of the caller's allocator (or libc) */
    uint64_t used; /* live bytes */
    uint64_t peak;
    uint64_t limit; /* 0 = none */
    bool hit_limit; /* an allocation was refused because of `limit` */
} ckpt__mem;

void ckpt__mem_init(ckpt__mem *m, const ckpt_alloc *a, uint64_t limit);
void *ckpt__mem_alloc(ckpt__mem *m, size_t n);
void *ckpt__mem_calloc(ckpt__mem *m, size_t n);
void *ckpt__mem_realloc(ckpt__mem *m, void *p, size_t old_n, size_t new_n);
void ckpt__mem_free(ckpt__mem *m, void *p, size_t n);

/* Plain wrappers for objects that only need the caller's allocator. */
void *ckpt__alloc(const ckpt_alloc *a, size_t n);
void *ckpt__realloc(const ckpt_alloc *a, void *p, size_t old_n, size_t new_n);
void ckpt__free(const ckpt_alloc *a, void *p, size_t n);

typedef struct ckpt__chunk ckpt__chunk;
typedef struct ckpt__arena {
    ckpt__mem *mem;
    ckpt__chunk *head;
    uint8_t *cur;
    size_t left;
} ckpt__arena;

void ckpt__arena_init(ckpt__arena *ar, ckpt__mem *mem);
/* 16-byte aligned block of `n` bytes, or NULL. */
void *ckpt__arena_alloc(ckpt__arena *ar, size_t n);
void *ckpt__arena_calloc(ckpt__arena *ar, size_t n);
char *ckpt__arena_strndup(ckpt__arena *ar, const char *s, size_t n);
void ckpt__arena_free_all(ckpt__arena *ar);

/* Blocks whose owner frees them without a size (src/core/halloc.c): NULL =
 * malloc/calloc/realloc/free; with an allocator a 16-byte header keeps the
 * size.  hzalloc: n * size bytes, zeroed, overflow checked. */
void *ckpt__halloc(const ckpt_alloc *a, size_t n);
void *ckpt__hzalloc(const ckpt_alloc *a, size_t n, size_t size);
void *ckpt__hrealloc(const ckpt_alloc *a, void *p, size_t n);
void ckpt__hfree(const ckpt_alloc *a, void *p);
char *ckpt__hstrdup(const ckpt_alloc *a, const char *s);
/* Exact-size blocks (the owner passes the size back): NULL = calloc/realloc/
 * free, so they mix with malloc'd blocks of a libc owner.  xzalloc zeroes. */
void *ckpt__xzalloc(const ckpt_alloc *a, size_t n);
void *ckpt__xrealloc(const ckpt_alloc *a, void *p, size_t old_n, size_t new_n);
void ckpt__xfree(const ckpt_alloc *a, void *p, size_t n);

#endif
