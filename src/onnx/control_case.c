/* src/onnx/control_case.c - one-to-one Unicode case mapping of UTF-8 text
 * for StringNormalizer, without the process locale: ASCII, Latin-1,
 * Latin Extended-A and Additional, Greek, Cyrillic, Armenian and the
 * fullwidth Latin letters (what towlower/towupper map one to one in those
 * blocks).  Bytes that are not valid UTF-8 pass through unchanged. */
#include <stdlib.h>
#include <string.h>

#include "onnx/control_util.h"

/* Pairs upper = even, lower = odd in [lo, hi]. */
static bool pair_even(uint32_t c, uint32_t lo, uint32_t hi)
{
    return c >= lo && c <= hi;
}

uint32_t cx_lower(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if ((c >= 0xC0 && c <= 0xDE && c != 0xD7))
        return c + 32;
    if (c == 0x178)
        return 0xFF;
    if (pair_even(c, 0x100, 0x12F) || pair_even(c, 0x132, 0x137) || pair_even(c, 0x14A, 0x177) ||
        pair_even(c, 0x460, 0x481) || pair_even(c, 0x48A, 0x4BF) || pair_even(c, 0x4D0, 0x52F) ||
        pair_even(c, 0x1E00, 0x1E95) || pair_even(c, 0x1EA0, 0x1EFF))
        return (c & 1) ? c : c + 1;
    if (pair_even(c, 0x139, 0x148) || pair_even(c, 0x179, 0x17E) || pair_even(c, 0x4C1, 0x4CE))
        return (c & 1) ? c + 1 : c;
    if (c >= 0x391 && c <= 0x3A9 && c != 0x3A2)
        return c + 32;
    if (c == 0x386)
        return 0x3AC;
    if (c >= 0x388 && c <= 0x38A)
        return c + 37;
    if (c == 0x38C)
        return 0x3CC;
    if (c == 0x38E || c == 0x38F)
        return c + 63;
    if (c >= 0x410 && c <= 0x42F)
        return c + 32;
    if (c >= 0x400 && c <= 0x40F)
        return c + 80;
    if (c >= 0x531 && c <= 0x556)
        return c + 48;
    if (c >= 0xFF21 && c <= 0xFF3A)
        return c + 32;
    return c;
}

uint32_t cx_upper(uint32_t c)
{
    if (c < 0x80)
        return c >= 'a' && c <= 'z' ? c - 32 : c;
    if (c >= 0xE0 && c <= 0xFE && c != 0xF7)
        return c - 32;
    if (c == 0xFF)
        return 0x178;
    if (pair_even(c, 0x100, 0x12F) || pair_even(c, 0x132, 0x137) || pair_even(c, 0x14A, 0x177) ||
        pair_even(c, 0x460, 0x481) || pair_even(c, 0x48A, 0x4BF) || pair_even(c, 0x4D0, 0x52F) ||
        pair_even(c, 0x1E00, 0x1E95) || pair_even(c, 0x1EA0, 0x1EFF))
        return (c & 1) ? c - 1 : c;
    if (pair_even(c, 0x139, 0x148) || pair_even(c, 0x179, 0x17E) || pair_even(c, 0x4C1, 0x4CE))
        return (c & 1) ? c : c - 1;
    if (c >= 0x3B1 && c <= 0x3C9 && c != 0x3C2)
        return c - 32;
    if (c == 0x3C2)
        return 0x3A3;
    if (c == 0x3AC)
        return 0x386;
    if (c >= 0x3AD && c <= 0x3AF)
        return c - 37;
    if (c == 0x3CC)
        return 0x38C;
    if (c == 0x3CD || c == 0x3CE)
        return c - 63;
    if (c >= 0x430 && c <= 0x44F)
        return c - 32;
    if (c >= 0x450 && c <= 0x45F)
        return c - 80;
    if (c >= 0x561 && c <= 0x586)
        return c - 48;
    if (c >= 0xFF41 && c <= 0xFF5A)
        return c - 32;
    return c;
}

/* Decode one code point at s (len bytes of a valid sequence in *n);
 * an invalid byte decodes as itself with *n = 1 and *ok = false. */
static uint32_t utf8_next(const unsigned char *s, int *n, bool *ok)
{
    *ok = true;
    uint32_t c = s[0];
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (len == 1) {
        *n = 1;
        return c;
    }
    if (len == 0)
        goto bad;
    c &= 0x7Fu >> len;
    for (int i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            goto bad;
        c = (c << 6) | (s[i] & 0x3Fu);
    }
    static const uint32_t minv[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < minv[len] || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        goto bad;
    *n = len;
    return c;
bad:
    *ok = false;
    *n = 1;
    return s[0];
}

static int utf8_put(uint32_t c, char *d)
{
    if (c < 0x80) {
        d[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        d[0] = (char)(0xC0 | (c >> 6));
        d[1] = (char)(0x80 | (c & 0x3F));
        return 2;
    }
    if (c < 0x10000) {
        d[0] = (char)(0xE0 | (c >> 12));
        d[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        d[2] = (char)(0x80 | (c & 0x3F));
        return 3;
    }
    d[0] = (char)(0xF0 | (c >> 18));
    d[1] = (char)(0x80 | ((c >> 12) & 0x3F));
    d[2] = (char)(0x80 | ((c >> 6) & 0x3F));
    d[3] = (char)(0x80 | (c & 0x3F));
    return 4;
}

char *cx_utf8_case(const char *s, int mode)
{
    size_t n = strlen(s);
    /* every mapping here keeps or shortens... except 2-byte <-> 2-byte and
     * 0xFF <-> 0x178 (2 bytes both): the length never grows past 2x */
    char *d = malloc(2 * n + 1);
    if (!d)
        return NULL;
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        int len;
        bool ok;
        uint32_t c = utf8_next(p, &len, &ok);
        if (!ok || !mode) {
            memcpy(d + o, p, (size_t)len);
            o += (size_t)len;
        } else {
            o += (size_t)utf8_put(mode == 1 ? cx_lower(c) : cx_upper(c), d + o);
        }
        p += len;
    }
    d[o] = 0;
    return d;
}

bool cx_utf8_equal_nocase(const char *a, const char *b)
{
    const unsigned char *p = (const unsigned char *)a, *q = (const unsigned char *)b;
    while (*p && *q) {
        int la, lb;
        bool oa, ob;
        uint32_t ca = utf8_next(p, &la, &oa), cb = utf8_next(q, &lb, &ob);
        if (oa != ob || (oa ? cx_lower(ca) != cx_lower(cb) : ca != cb))
            return false;
        p += la;
        q += lb;
    }
    return !*p && !*q;
}
