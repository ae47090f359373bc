/* src/optim/oalloc.c - the optimizer's and scheduler's memory through the
 * caller's ckpt_alloc (ckpt_optim_opts.alloc, ckpt_sched_config.alloc).
 * NULL = libc, called directly; with an allocator each block carries its size
 * in a 16-byte header, because ckpt_alloc's realloc and free take sizes. */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "optim/optim_internal.h"

/* the header scheme lives in src/core/halloc.c, shared with the module tree */

void *ckpt_optim__alloc(const ckpt_alloc *a, size_t n)
{
    return ckpt__halloc(a, n);
}

void *ckpt_optim__zalloc(const ckpt_alloc *a, size_t n, size_t size)
{
    return ckpt__hzalloc(a, n, size);
}

void *ckpt_optim__realloc(const ckpt_alloc *a, void *p, size_t n)
{
    return ckpt__hrealloc(a, p, n);
}

void ckpt_optim__free(const ckpt_alloc *a, void *p)
{
    ckpt__hfree(a, p);
}
