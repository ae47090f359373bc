/* src/core/mem.c - counting allocator and bump arena. */
#define _DEFAULT_SOURCE
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"

/*
 * The default allocator gives large blocks (tensor storages) their own
 * anonymous mapping, 2 MiB-aligned and marked MADV_HUGEPAGE: filling 1 GiB of
 * fresh memory then takes 512 times fewer page faults.  Sizes are passed back
 * on free, so the mapping length is known.
 */
#define BIG_BLOCK (8u << 20)
#define HUGE_PAGE (2u << 20)

static size_t big_len(size_t n)
{
    return (n + HUGE_PAGE - 1) & ~(size_t)(HUGE_PAGE - 1);
}

static void *big_alloc(size_t n)
{
    size_t len = big_len(n);
    /* over-allocate by one huge page to align the start */
    uint8_t *p = mmap(NULL, len + HUGE_PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                      -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)p + HUGE_PAGE - 1) & ~(uintptr_t)(HUGE_PAGE - 1);
    uint8_t *al = (uint8_t *)a;
    if (al > p)
        munmap(p, (size_t)(al - p));
    size_t tail = (size_t)((p + len + HUGE_PAGE) - (al + len));
    if (tail)
        munmap(al + len, tail);
#ifdef MADV_HUGEPAGE
    madvise(al, len, MADV_HUGEPAGE);
#endif
    return al;
}

static void *libc_alloc(void *ctx, size_t n)
{
    (void)ctx;
    return n >= BIG_BLOCK ? big_alloc(n) : malloc(n);
}
static void libc_free(void *ctx, void *p, size_t n)
{
    (void)ctx;
    if (!p)
        return;
    if (n >= BIG_BLOCK)
        munmap(p, big_len(n));
    else
        free(p);
}
static void *libc_realloc(void *ctx, void *p, size_t old_n, size_t new_n)
{
    if (old_n < BIG_BLOCK && new_n < BIG_BLOCK)
        return realloc(p, new_n);
    void *q = libc_alloc(ctx, new_n);
    if (!q)
        return NULL;
    if (p) {
        memcpy(q, p, old_n < new_n ? old_n : new_n);
        libc_free(ctx, p, old_n);
    }
    return q;
}
static const ckpt_alloc libc_allocator = {libc_alloc, libc_realloc, libc_free, NULL};

static const ckpt_alloc *pick(const ckpt_alloc *a)
{
    return (a && a->alloc && a->free) ? a : &libc_allocator;
}

void *ckpt__alloc(const ckpt_alloc *a, size_t n)
{
    a = pick(a);
    return a->alloc(a->ctx, n ? n : 1);
}

void *ckpt__realloc(const ckpt_alloc *a, void *p, size_t old_n, size_t new_n)
{
    a = pick(a);
    if (a->realloc)
        return a->realloc(a->ctx, p, old_n, new_n ? new_n : 1);
    void *q = a->alloc(a->ctx, new_n ? new_n : 1);
    if (!q)
        return NULL;
    if (p) {
        memcpy(q, p, old_n < new_n ? old_n : new_n);
        a->free(a->ctx, p, old_n);
    }
    return q;
}

void ckpt__free(const ckpt_alloc *a, void *p, size_t n)
{
    if (!p)
        return;
    a = pick(a);
    a->free(a->ctx, p, n ? n : 1);
}

void ckpt__mem_init(ckpt__mem *m, const ckpt_alloc *a, uint64_t limit)
{
    memset(m, 0, sizeof(*m));
    m->a = *pick(a);
    m->limit = limit;
}

static bool over(ckpt__mem *m, size_t add)
{
    if (m->limit && (m->used + add > m->limit || m->used + add < m->used)) {
        m->hit_limit = true;
        return true;
    }
    return false;
}

void *ckpt__mem_alloc(ckpt__mem *m, size_t n)
{
    if (over(m, n))
        return NULL;
    void *p = ckpt__alloc(&m->a, n);
    if (p) {
        m->used += n;
        if (m->used > m->peak)
            m->peak = m->used;
    }
    return p;
}

void *ckpt__mem_calloc(ckpt__mem *m, size_t n)
{
    void *p = ckpt__mem_alloc(m, n);
    if (p)
        memset(p, 0, n);
    return p;
}

void *ckpt__mem_realloc(ckpt__mem *m, void *p, size_t old_n, size_t new_n)
{
    if (new_n > old_n && over(m, new_n - old_n))
        return NULL;
    void *q = ckpt__realloc(&m->a, p, old_n, new_n);
    if (q) {
        m->used = m->used - old_n + new_n;
        if (m->used > m->peak)
            m->peak = m->used;
    }
    return q;
}

void ckpt__mem_free(ckpt__mem *m, void *p, size_t n)
{
    if (!p)
        return;
    ckpt__free(&m->a, p, n);
    m->used -= n;
}

struct ckpt__chunk {
    ckpt__chunk *next;
    size_t size; /* bytes including this header */
};

#define ARENA_CHUNK (64u * 1024u)
#define ARENA_HDR ((sizeof(ckpt__chunk) + 15u) & ~(size_t)15u)

void ckpt__arena_init(ckpt__arena *ar, ckpt__mem *mem)
{
    memset(ar, 0, sizeof(*ar));
    ar->mem = mem;
}

void *ckpt__arena_alloc(ckpt__arena *ar, size_t n)
{
    n = (n + 15u) & ~(size_t)15u;
    if (n == 0)
        n = 16;
    if (n > ar->left) {
        size_t want = ARENA_HDR + n;
        if (want < ARENA_CHUNK)
            want = ARENA_CHUNK;
        if (want < n) /* overflow */
            return NULL;
        ckpt__chunk *c = ckpt__mem_alloc(ar->mem, want);
        if (!c)
            return NULL;
        c->size = want;
        c->next = ar->head;
        ar->head = c;
        if (ARENA_HDR + n == want || n > ARENA_CHUNK / 2) {
            /* big block: give it whole, keep the old bump pointer if better */
            uint8_t *blk = (uint8_t *)c + ARENA_HDR;
            size_t rest = want - ARENA_HDR - n;
            if (rest > ar->left) {
                ar->cur = blk + n;
                ar->left = rest;
            }
            return blk;
        }
        ar->cur = (uint8_t *)c + ARENA_HDR;
        ar->left = want - ARENA_HDR;
    }
    void *p = ar->cur;
    ar->cur += n;
    ar->left -= n;
    return p;
}

void *ckpt__arena_calloc(ckpt__arena *ar, size_t n)
{
    void *p = ckpt__arena_alloc(ar, n);
    if (p)
        memset(p, 0, n);
    return p;
}

char *ckpt__arena_strndup(ckpt__arena *ar, const char *s, size_t n)
{
    if (n == SIZE_MAX)
        return NULL;
    char *p = ckpt__arena_alloc(ar, n + 1);
    if (!p)
        return NULL;
    if (n)
        memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

void ckpt__arena_free_all(ckpt__arena *ar)
{
    ckpt__chunk *c = ar->head;
    while (c) {
        ckpt__chunk *next = c->next;
        ckpt__mem_free(ar->mem, c, c->size);
        c = next;
    }
    ar->head = NULL;
    ar->cur = NULL;
    ar->left = 0;
}
