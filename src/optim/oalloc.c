/* src/optim/oalloc.c - the optimizer's and scheduler's memory through the
 * caller's ckpt_alloc (ckpt_optim_opts.alloc, ckpt_sched_config.alloc).
 * NULL = libc, called directly; with an allocator each block carries its size
 * in a 16-byte header, because ckpt_alloc's realloc and free take sizes. */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "optim/optim_internal.h"

#define HDR 16

void *ckpt_optim__alloc(const ckpt_alloc *a, size_t n)
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

void *ckpt_optim__zalloc(const ckpt_alloc *a, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    if (!a)
        return calloc(n ? n : 1, size ? size : 1);
    void *p = ckpt_optim__alloc(a, n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *ckpt_optim__realloc(const ckpt_alloc *a, void *p, size_t n)
{
    if (!a)
        return realloc(p, n ? n : 1);
    if (!p)
        return ckpt_optim__alloc(a, n);
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

void ckpt_optim__free(const ckpt_alloc *a, void *p)
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
