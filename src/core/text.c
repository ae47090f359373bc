/* src/core/text.c - growable text buffer (text.h). */
#include "core/text.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Room for `extra` more bytes plus the NUL; false (and oom set) when not. */
static bool reserve(ckpt__text *t, size_t extra)
{
    if (t->oom)
        return false;
    if (extra > SIZE_MAX - 1 - t->n) {
        t->oom = true;
        return false;
    }
    size_t need = t->n + extra + 1;
    if (need <= t->cap)
        return true;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(t->p, cap);
    if (!p) {
        t->oom = true;
        return false;
    }
    t->p = p;
    t->cap = cap;
    return true;
}

void ckpt__text_put(ckpt__text *t, const void *s, size_t n)
{
    if (!reserve(t, n))
        return;
    if (n)
        memcpy(t->p + t->n, s, n);
    t->n += n;
    t->p[t->n] = '\0';
}

void ckpt__text_puts(ckpt__text *t, const char *s)
{
    ckpt__text_put(t, s, strlen(s));
}

void ckpt__text_printf(ckpt__text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) {
        t->oom = true;
        return;
    }
    if (!reserve(t, (size_t)k))
        return;
    va_start(ap, fmt);
    vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    t->n += (size_t)k;
}

void ckpt__text_free(ckpt__text *t)
{
    free(t->p);
    memset(t, 0, sizeof(*t));
}
