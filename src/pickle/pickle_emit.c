/* src/pickle/pickle_emit.c - protocol-2 opcode writer with CPython's memo rules. */
#include <string.h>

#include "core/bytes.h"
#include "core/mem.h"
#include "emit.h"

/* open-addressing map: key (pointer or string hash) -> memo index */
typedef struct mm_slot {
    uintptr_t key; /* 0 = empty */
    char *name;    /* owned, for name keys */
    uint32_t val;
} mm_slot;

struct ckpt__memo_map {
    mm_slot *s;
    size_t n, cap;
};

static uint64_t mixp(uintptr_t p)
{
    uint64_t h = (uint64_t)p;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h | 1; /* never 0 */
}

static bool mm_grow(ckpt__emit *e, ckpt__memo_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 256;
    mm_slot *ns = ckpt__alloc(e->alloc, ncap * sizeof(*ns));
    if (!ns)
        return false;
    memset(ns, 0, ncap * sizeof(*ns));
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->s[i].key)
            continue;
        uint64_t h = m->s[i].name ? m->s[i].key : mixp(m->s[i].key);
        size_t p = (size_t)h & (ncap - 1);
        while (ns[p].key)
            p = (p + 1) & (ncap - 1);
        ns[p] = m->s[i];
    }
    ckpt__free(e->alloc, m->s, m->cap * sizeof(*m->s));
    m->s = ns;
    m->cap = ncap;
    return true;
}

static mm_slot *mm_find(ckpt__memo_map *m, uintptr_t key, const char *name, uint64_t h)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t p = (size_t)h & mask;; p = (p + 1) & mask) {
        mm_slot *s = &m->s[p];
        if (!s->key)
            return s;
        if (s->key == key && (!name || (s->name && strcmp(s->name, name) == 0)))
            return s;
    }
}

int ckpt__emit_init(ckpt__emit *e, const ckpt_alloc *alloc)
{
    memset(e, 0, sizeof(*e));
    e->alloc = alloc;
    e->cap = 1 << 16;
    e->buf = ckpt__alloc(alloc, e->cap);
    e->by_ptr = ckpt__alloc(alloc, sizeof(ckpt__memo_map));
    if (e->by_ptr) /* zeroed at once: ckpt__emit_free reads it if what follows fails */
        memset(e->by_ptr, 0, sizeof(*e->by_ptr));
    e->by_name = ckpt__alloc(alloc, sizeof(ckpt__memo_map));
    if (e->by_name)
        memset(e->by_name, 0, sizeof(*e->by_name));
    if (!e->buf || !e->by_ptr || !e->by_name) {
        ckpt__emit_free(e);
        return -1;
    }
    return 0;
}

static void mm_free(ckpt__emit *e, ckpt__memo_map *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->cap; i++)
        if (m->s[i].name)
            ckpt__free(e->alloc, m->s[i].name, strlen(m->s[i].name) + 1);
    ckpt__free(e->alloc, m->s, m->cap * sizeof(*m->s));
    ckpt__free(e->alloc, m, sizeof(*m));
}

void ckpt__emit_free(ckpt__emit *e)
{
    ckpt__free(e->alloc, e->buf, e->cap);
    mm_free(e, e->by_ptr);
    mm_free(e, e->by_name);
    e->buf = NULL;
    e->by_ptr = e->by_name = NULL;
}

static bool reserve(ckpt__emit *e, size_t n)
{
    if (e->oom)
        return false;
    if (n <= e->cap - e->len)
        return true;
    size_t ncap = e->cap;
    while (ncap - e->len < n) {
        if (ncap > SIZE_MAX / 2) {
            e->oom = true;
            return false;
        }
        ncap *= 2;
    }
    uint8_t *nb = ckpt__realloc(e->alloc, e->buf, e->cap, ncap);
    if (!nb) {
        e->oom = true;
        return false;
    }
    e->buf = nb;
    e->cap = ncap;
    return true;
}

void ckpt__emit_byte(ckpt__emit *e, uint8_t b)
{
    if (reserve(e, 1))
        e->buf[e->len++] = b;
}

void ckpt__emit_bytes(ckpt__emit *e, const void *p, size_t n)
{
    if (n && reserve(e, n)) {
        memcpy(e->buf + e->len, p, n);
        e->len += n;
    }
}

uint32_t ckpt__emit_put(ckpt__emit *e)
{
    uint32_t idx = e->memo_next++;
    if (idx < 256) {
        uint8_t b[2] = {'q', (uint8_t)idx};
        ckpt__emit_bytes(e, b, 2);
    } else {
        uint8_t b[5] = {'r'};
        ckpt_wr_u32le(b + 1, idx);
        ckpt__emit_bytes(e, b, 5);
    }
    return idx;
}

void ckpt__emit_get(ckpt__emit *e, uint32_t idx)
{
    if (idx < 256) {
        uint8_t b[2] = {'h', (uint8_t)idx};
        ckpt__emit_bytes(e, b, 2);
    } else {
        uint8_t b[5] = {'j'};
        ckpt_wr_u32le(b + 1, idx);
        ckpt__emit_bytes(e, b, 5);
    }
}

void ckpt__emit_int(ckpt__emit *e, int64_t v)
{
    uint8_t b[10];
    if (v >= 0 && v <= 0xFF) {
        b[0] = 'K';
        b[1] = (uint8_t)v;
        ckpt__emit_bytes(e, b, 2);
    } else if (v >= 0 && v <= 0xFFFF) {
        b[0] = 'M';
        b[1] = (uint8_t)v;
        b[2] = (uint8_t)(v >> 8);
        ckpt__emit_bytes(e, b, 3);
    } else if (v >= INT32_MIN && v <= INT32_MAX) {
        b[0] = 'J';
        ckpt_wr_u32le(b + 1, (uint32_t)(int32_t)v);
        ckpt__emit_bytes(e, b, 5);
    } else {
        /* LONG1 with the minimal two's-complement length (CPython encode_long) */
        uint64_t u;
        memcpy(&u, &v, sizeof(u));
        size_t n = 8;
        while (n > 1) {
            uint8_t top = (uint8_t)(u >> (8 * (n - 1)));
            uint8_t next = (uint8_t)(u >> (8 * (n - 2)));
            if ((top == 0x00 && !(next & 0x80)) || (top == 0xFF && (next & 0x80)))
                n--;
            else
                break;
        }
        b[0] = 0x8a;
        b[1] = (uint8_t)n;
        for (size_t i = 0; i < n; i++)
            b[2 + i] = (uint8_t)(u >> (8 * i));
        ckpt__emit_bytes(e, b, 2 + n);
    }
}

void ckpt__emit_float(ckpt__emit *e, double v)
{
    uint8_t b[9] = {'G'};
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    ckpt_wr_u64be(b + 1, bits);
    ckpt__emit_bytes(e, b, 9);
}

void ckpt__emit_str(ckpt__emit *e, const char *s, size_t n)
{
    uint8_t b[5] = {'X'};
    ckpt_wr_u32le(b + 1, (uint32_t)n);
    ckpt__emit_bytes(e, b, 5);
    ckpt__emit_bytes(e, s, n);
}

bool ckpt__emit_memo_get(ckpt__emit *e, const void *key, uint32_t *idx)
{
    mm_slot *s = mm_find(e->by_ptr, (uintptr_t)key, NULL, mixp((uintptr_t)key));
    if (!s || !s->key)
        return false;
    *idx = s->val;
    return true;
}

void ckpt__emit_memo_set(ckpt__emit *e, const void *key, uint32_t idx)
{
    ckpt__memo_map *m = e->by_ptr;
    if ((m->n + 1) * 2 > m->cap && !mm_grow(e, m)) {
        e->oom = true;
        return;
    }
    mm_slot *s = mm_find(m, (uintptr_t)key, NULL, mixp((uintptr_t)key));
    if (!s->key) {
        s->key = (uintptr_t)key;
        m->n++;
    }
    s->val = idx;
}

void ckpt__emit_memoize(ckpt__emit *e, const void *key)
{
    ckpt__emit_memo_set(e, key, ckpt__emit_put(e));
}

void ckpt__emit_global(ckpt__emit *e, const char *module, const char *name)
{
    size_t ml = strlen(module), nl = strlen(name);
    char stackbuf[256];
    char *full = stackbuf;
    if (ml + nl + 2 > sizeof(stackbuf)) {
        full = ckpt__alloc(e->alloc, ml + nl + 2);
        if (!full) {
            e->oom = true;
            return;
        }
    }
    memcpy(full, module, ml);
    full[ml] = '\n';
    memcpy(full + ml + 1, name, nl + 1);
    uint64_t h = hash_str(full);
    ckpt__memo_map *m = e->by_name;
    mm_slot *s = mm_find(m, (uintptr_t)h, full, h);
    if (s && s->key) {
        ckpt__emit_get(e, s->val);
    } else {
        ckpt__emit_byte(e, 'c');
        ckpt__emit_bytes(e, full, ml + nl + 1);
        ckpt__emit_byte(e, '\n');
        uint32_t idx = ckpt__emit_put(e);
        if ((m->n + 1) * 2 > m->cap && !mm_grow(e, m)) {
            e->oom = true;
        } else {
            s = mm_find(m, (uintptr_t)h, full, h);
            char *copy = ckpt__alloc(e->alloc, ml + nl + 2);
            if (!copy) {
                e->oom = true;
            } else {
                memcpy(copy, full, ml + nl + 2);
                s->key = (uintptr_t)h;
                s->name = copy;
                s->val = idx;
                m->n++;
            }
        }
    }
    if (full != stackbuf)
        ckpt__free(e->alloc, full, ml + nl + 2);
}

bool ckpt__emit_memo_get_str(ckpt__emit *e, const char *key, uint32_t *idx)
{
    uint64_t h = hash_str(key);
    mm_slot *s = mm_find(e->by_name, (uintptr_t)h, key, h);
    if (!s || !s->key)
        return false;
    *idx = s->val;
    return true;
}

void ckpt__emit_memo_set_str(ckpt__emit *e, const char *key, uint32_t idx)
{
    ckpt__memo_map *m = e->by_name;
    if ((m->n + 1) * 2 > m->cap && !mm_grow(e, m)) {
        e->oom = true;
        return;
    }
    uint64_t h = hash_str(key);
    mm_slot *s = mm_find(m, (uintptr_t)h, key, h);
    if (s->key) {
        s->val = idx;
        return;
    }
    size_t n = strlen(key);
    char *copy = ckpt__alloc(e->alloc, n + 1);
    if (!copy) {
        e->oom = true;
        return;
    }
    memcpy(copy, key, n + 1);
    s->key = (uintptr_t)h;
    s->name = copy;
    s->val = idx;
    m->n++;
}
