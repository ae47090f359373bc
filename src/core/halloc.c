/* src/core/halloc.c - caller-allocator helpers for objects that free without
 * knowing sizes (the module tree, state_dict temporaries, optimizers).
 *
 * ckpt__h*: NULL = libc (malloc/realloc/free called directly); with an
 * allocator each block carries its size in a 16-byte header, because
 * ckpt_alloc's realloc and free take sizes.
 * ckpt__x*: exact-size blocks (tensor data, gradients, activations) whose
 * size the owner knows: no header, the allocator's own alignment; NULL =
 * calloc/realloc/free, so such a block mixes with malloc'd ones of a libc
 * owner. */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define HDR 16

void *ckpt__halloc(const ckpt_alloc *a, size_t n)
{
    if (!a)
        return malloc(n ? n : 1);
    if (n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *p = ckpt__alloc(a, n + HDR);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof n);
    return p + HDR;
}

void *ckpt__hzalloc(const ckpt_alloc *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (!a)
        return calloc(n ? n : 1, size ? size : 1);
    void *p = ckpt__halloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *ckpt__hrealloc(const ckpt_alloc *a, void *p, size_t n)
{
    if (!a)
        return realloc(p, n ? n : 1);
    if (!p)
        return ckpt__halloc(a, n);
    if (n > SIZE_MAX - HDR)
        return NULL;
    unsigned char *b = (unsigned char *)p - HDR;
    size_t old;
    memcpy(&old, b, sizeof old);
    unsigned char *q = ckpt__realloc(a, b, old + HDR, n + HDR);
    if (!q)
        return NULL;
    memcpy(q, &n, sizeof n);
    return q + HDR;
}

void ckpt__hfree(const ckpt_alloc *a, void *p)
{
    if (!p)
        return;
    if (!a) {
        free(p);
        return;
    }
    unsigned char *b = (unsigned char *)p - HDR;
    size_t n;
    memcpy(&n, b, sizeof n);
    ckpt__free(a, b, n + HDR);
}

char *ckpt__hstrdup(const ckpt_alloc *a, const char *s)
{
    size_t n = strlen(s);
    char *p = ckpt__halloc(a, n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

void *ckpt__xzalloc(const ckpt_alloc *a, size_t n)
{
    if (!a)
        return calloc(1, n ? n : 1);
    void *p = ckpt__alloc(a, n);
    if (p)
        memset(p, 0, n ? n : 1);
    return p;
}

void *ckpt__xrealloc(const ckpt_alloc *a, void *p, size_t old_n, size_t new_n)
{
    if (!a)
        return realloc(p, new_n ? new_n : 1);
    return p ? ckpt__realloc(a, p, old_n, new_n) : ckpt__alloc(a, new_n);
}

void ckpt__xfree(const ckpt_alloc *a, void *p, size_t n)
{
    if (!a)
        free(p);
    else
        ckpt__free(a, p, n);
}
