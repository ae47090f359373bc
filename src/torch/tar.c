/* src/torch/tar.c - tar members as Python's tarfile lists them (see tar.h).
 * Written from the behaviour of /usr/lib/python3.11/tarfile.py (frombuf,
 * _proc_member, _proc_pax, _proc_gnulong, _apply_pax_info, next, getmember). */
#include "torch/tar.h"

#include <string.h>

#include "core/err.h"
#include "core/checked.h"
#include "core/mem.h"

#define BLOCK 512u
#define MAX_EXT (1u << 20) /* bytes of one extension header's data ckpt reads */
#define MAX_CHAIN 64       /* extension headers before one member */

#define FAILT(err, code, off, ...)                                                               \
    CKPT_FAIL_AT((err), (code), CKPT_WHERE_FILE, NULL, (off), __VA_ARGS__)

/* ASCII whitespace as Python's str.strip() sees it. */
static bool py_space(uint8_t c)
{
    return c == ' ' || (c >= 9 && c <= 13) || (c >= 28 && c <= 31);
}

int ckpt__tar_nti(const uint8_t *p, size_t n, int64_t *v, bool *huge)
{
    *v = 0;
    *huge = false;
    if (p[0] == 0x80 || p[0] == 0xff) { /* base-256, 0xff: negative */
        uint64_t u = 0;
        for (size_t i = 1; i < n; i++) {
            if (u >> 54)
                *huge = true;
            u = (u << 8) | p[i];
        }
        if (p[0] == 0xff) {
            *v = -1; /* -(256**(n-1) - u): negative whatever u is */
            *huge = false;
            return 0;
        }
        if (u >> 62)
            *huge = true;
        *v = *huge ? INT64_MAX : (int64_t)u;
        return 0;
    }
    size_t end = 0;
    while (end < n && p[end] != 0)
        end++;
    for (size_t i = 0; i < end; i++)
        if (p[i] >= 0x80)
            return -1; /* not ascii: UnicodeDecodeError, a ValueError */
    size_t a = 0, b = end;
    while (a < b && py_space(p[a]))
        a++;
    while (b > a && py_space(p[b - 1]))
        b--;
    if (a == b)
        return 0; /* int("0", 8) */
    bool neg = false;
    if (p[a] == '+' || p[a] == '-') {
        neg = p[a] == '-';
        a++;
    }
    if (b - a >= 2 && p[a] == '0' && (p[a + 1] == 'o' || p[a + 1] == 'O')) {
        a += 2;
        if (a < b && p[a] == '_')
            a++;
    }
    if (a == b || p[a] == '_')
        return -1;
    uint64_t u = 0;
    bool prev_us = false;
    for (size_t i = a; i < b; i++) {
        if (p[i] == '_') {
            if (prev_us)
                return -1;
            prev_us = true;
            continue;
        }
        if (p[i] < '0' || p[i] > '7')
            return -1;
        prev_us = false;
        if (u >> 58)
            *huge = true;
        u = u * 8 + (uint64_t)(p[i] - '0');
    }
    if (prev_us)
        return -1;
    if (u >> 62)
        *huge = true;
    if (*huge) {
        *v = neg ? -1 : INT64_MAX;
        *huge = !neg;
        return 0;
    }
    *v = neg ? -(int64_t)u : (int64_t)u;
    return 0;
}

bool ckpt__tar_named(const ckpt__tar_member *m, const char *s)
{
    size_t l = strlen(s);
    return m->name_len == l && memcmp(m->name, s, l) == 0;
}

void ckpt__tar_begin(ckpt__tar_walk *w, const ckpt_source *src, const ckpt_alloc *alloc)
{
    memset(w, 0, sizeof(*w));
    w->src = src;
    w->alloc = alloc;
}

static void set_name(char *dst, size_t *dst_len, const uint8_t *p, size_t n)
{
    size_t k = n < CKPT__TAR_NAME_CAP - 1 ? n : CKPT__TAR_NAME_CAP - 1;
    memmove(dst, p, k);
    dst[k] = '\0';
    *dst_len = n;
}

static size_t rstrip_slash(const uint8_t *p, size_t n)
{
    while (n > 0 && p[n - 1] == '/')
        n--;
    return n;
}

static size_t nts_len(const uint8_t *p, size_t n)
{
    const uint8_t *z = memchr(p, 0, n);
    return z ? (size_t)(z - p) : n;
}

/* Types tarfile knows; a member of any other type is read as a regular file. */
static bool supported(char t)
{
    return t == '0' || t == '\0' || t == '1' || t == '2' || t == '5' || t == '6' || t == '7' ||
           t == '3' || t == '4' || t == 'L' || t == 'K' || t == 'S';
}

static bool carries_data(char t)
{
    return t == '0' || t == '\0' || t == '7' || !supported(t);
}

static uint64_t blocks(uint64_t n)
{
    return (n + BLOCK - 1) / BLOCK * BLOCK;
}

/* One parsed header block (frombuf). */
typedef struct hdr {
    char type;
    int64_t size;
    bool huge;
    uint8_t raw[BLOCK];
} hdr;

/* 0: parsed; 1: all zeros (EOFHeaderError); 2: empty or truncated; -1 invalid */
static int read_header(const ckpt_source *src, uint64_t pos, hdr *h, ckpt_error *err, int *io)
{
    *io = 0;
    if (pos >= src->size)
        return 2;
    if (src->size - pos < BLOCK)
        return 2;
    if (ckpt_source_read(src, pos, h->raw, BLOCK, err) < 0) {
        *io = 1;
        return -1;
    }
    const uint8_t *b = h->raw;
    bool zero = true;
    int64_t us = 256, ss = 256;
    for (size_t i = 0; i < BLOCK; i++) {
        zero = zero && b[i] == 0;
        if (i >= 148 && i < 156)
            continue;
        us += b[i];
        ss += (int8_t)b[i];
    }
    if (zero)
        return 1;
    int64_t sum, v;
    bool huge;
    if (ckpt__tar_nti(b + 148, 8, &sum, &huge) < 0 || huge || (sum != us && sum != ss))
        return -1;
    static const size_t fields[][2] = {{100, 8},  {108, 8}, {116, 8},
                                       {136, 12}, {329, 8}, {337, 8}};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (ckpt__tar_nti(b + fields[i][0], fields[i][1], &v, &huge) < 0)
            return -1;
    if (ckpt__tar_nti(b + 124, 12, &h->size, &h->huge) < 0)
        return -1;
    h->type = (char)b[156];
    if (h->type == 'S') { /* frombuf reads the old GNU sparse fields too */
        for (size_t k = 0; k < 4; k++)
            if (ckpt__tar_nti(b + 386 + 24 * k, 12, &v, &huge) < 0 ||
                ckpt__tar_nti(b + 398 + 24 * k, 12, &v, &huge) < 0)
                return -1;
        if (ckpt__tar_nti(b + 483, 12, &v, &huge) < 0)
            return -1;
    }
    return 0;
}

typedef struct layer {
    char type;
    uint64_t off;
    uint8_t *data; /* the extension data (blocks(size) bytes, or to the end of file) */
    size_t len;
    /* 'x' records that matter */
    const uint8_t *path;
    size_t path_len;
    bool has_path;
    uint64_t size;
    bool has_size;
} layer;

/* Parse PAX records as _proc_pax does; 0 ok, -1 InvalidHeaderError, -2 unsupported. */
static int pax_records(layer *L, const char **why)
{
    const uint8_t *buf = L->data;
    size_t n = L->len, pos = 0;
    while (pos < n && buf[pos] != 0) {
        size_t j = pos, digits = 0;
        uint64_t len = 0;
        while (j < n && buf[j] >= '0' && buf[j] <= '9' && digits < 20) {
            len = len * 10 + (uint64_t)(buf[j] - '0');
            j++;
            digits++;
        }
        if (digits == 0 || j >= n || buf[j] != ' ')
            return -1;
        if (len < 5 || len > n - pos)
            return -1;
        size_t last = pos + (size_t)len - 1; /* must be '\n' */
        const uint8_t *kv = buf + j + 1;
        if (j + 1 > last || buf[last] != '\n')
            return -1;
        size_t kvn = last - (j + 1);
        const uint8_t *eq = memchr(kv, '=', kvn);
        if (!eq || eq == kv)
            return -1;
        size_t kl = (size_t)(eq - kv);
        const uint8_t *val = eq + 1;
        size_t vl = kvn - kl - 1;
        if (kl >= 11 && memcmp(kv, "GNU.sparse.", 11) == 0) {
            *why = "a GNU sparse PAX record";
            return -2;
        }
        if (kl == 4 && memcmp(kv, "path", 4) == 0) {
            L->path = val;
            L->path_len = vl;
            L->has_path = true;
        } else if (kl == 4 && memcmp(kv, "size", 4) == 0) {
            uint64_t v = 0;
            if (vl == 0 || vl > 18) {
                *why = "a PAX size that is not plain decimal digits";
                return -2;
            }
            for (size_t k = 0; k < vl; k++) {
                if (val[k] < '0' || val[k] > '9') {
                    *why = "a PAX size that is not plain decimal digits";
                    return -2;
                }
                v = v * 10 + (uint64_t)(val[k] - '0');
            }
            L->size = v;
            L->has_size = true;
        }
        pos += (size_t)len;
    }
    return 0;
}

int ckpt__tar_next(ckpt__tar_walk *w, ckpt__tar_member *m, ckpt_error *err)
{
    const ckpt_source *src = w->src;
    w->read_error = false;
    if (w->done)
        return 0;
    if (w->offset != w->tell) {
        /* tarfile seeks to offset - 1 and needs one byte there */
        if (w->offset > src->size) {
            w->done = true;
            w->read_error = true;
            return FAILT(err, CKPT_E_FORMAT, src->size,
                         "tar: a member's data and padding run to offset %llu, past the end "
                         "of the file (%llu bytes)",
                         (unsigned long long)w->offset, (unsigned long long)src->size);
        }
        w->tell = w->offset;
    }
    const uint64_t start = w->offset;
    layer chain[MAX_CHAIN];
    size_t depth = 0;
    uint64_t pos = start;
    int rc = 0;
    hdr h;
    bool seen_x = false;
    for (;;) {
        int io = 0;
        int r = read_header(src, pos, &h, err, &io);
        if (io) {
            rc = err ? err->code : CKPT_E_IO;
            goto out;
        }
        if (r != 0) {
            /* the first header of a listing step: tarfile stops quietly, except at
             * offset 0 (ReadError, but an all-zero block is an empty archive);
             * a header after an extension header: always ReadError */
            if (depth == 0 && (start > 0 || r == 1)) {
                w->done = true;
                rc = 0;
                goto out;
            }
            w->done = true;
            w->read_error = true;
            rc = FAILT(err, CKPT_E_FORMAT, pos,
                       "tar: %s header at offset %llu (Python's tarfile raises ReadError)",
                       r == 1   ? "an all-zero"
                       : r == 2 ? "a truncated"
                                : "an invalid",
                       (unsigned long long)pos);
            goto out;
        }
        char t = h.type;
        bool ext = t == 'L' || t == 'K' || t == 'x' || t == 'X' || t == 'g';
        if (t == 'S') {
            w->done = true;
            rc = FAILT(err, CKPT_E_UNSUPPORTED, pos, "tar: sparse member at offset %llu",
                       (unsigned long long)pos);
            goto out;
        }
        if (!ext)
            break;
        if (depth == MAX_CHAIN || h.size < 0 || h.huge || (uint64_t)h.size > MAX_EXT ||
            (t == 'g' && seen_x)) {
            w->done = true;
            rc = FAILT(err, CKPT_E_UNSUPPORTED, pos,
                       "tar: extension header at offset %llu that ckpt does not read (%s)",
                       (unsigned long long)pos,
                       depth == MAX_CHAIN   ? "too many in a row"
                       : t == 'g' && seen_x ? "a global header after an extended one"
                                            : "negative or over 1 MiB");
            goto out;
        }
        layer *L = &chain[depth];
        memset(L, 0, sizeof(*L));
        L->type = t;
        L->off = pos;
        uint64_t want = blocks((uint64_t)h.size), avail = src->size - (pos + BLOCK);
        L->len = (size_t)(want < avail ? want : avail); /* tarfile reads what there is */
        L->data = ckpt__alloc(w->alloc, L->len ? L->len : 1);
        if (!L->data) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory reading a tar extension header");
            goto out;
        }
        depth++;
        if (L->len && ckpt_source_read(src, pos + BLOCK, L->data, L->len, err) < 0) {
            rc = err ? err->code : CKPT_E_IO;
            goto out;
        }
        if (t == 'x' || t == 'X' || t == 'g') {
            const char *why = NULL;
            int pr = pax_records(L, &why);
            if (pr == -2) {
                w->done = true;
                rc = FAILT(err, CKPT_E_UNSUPPORTED, pos, "tar: PAX header at offset %llu has %s",
                           (unsigned long long)pos, why);
                goto out;
            }
            if (pr < 0) {
                w->done = true;
                if (depth == 1 && start > 0) {
                    rc = 0; /* InvalidHeaderError at a listing step: the listing ends */
                    goto out;
                }
                w->read_error = true;
                rc = FAILT(err, CKPT_E_FORMAT, pos,
                           "tar: malformed PAX record in the header at offset %llu (Python's "
                           "tarfile raises ReadError)",
                           (unsigned long long)pos);
                goto out;
            }
            if (t == 'g') {
                if (L->has_size) {
                    w->done = true;
                    rc = FAILT(err, CKPT_E_UNSUPPORTED, pos,
                               "tar: global PAX header at offset %llu sets a size",
                               (unsigned long long)pos);
                    goto out;
                }
                if (L->has_path) {
                    size_t pl = rstrip_slash(L->path, L->path_len);
                    set_name(w->gpath, &w->gpath_len, L->path, pl);
                    w->has_gpath = true;
                }
            } else {
                seen_x = true;
            }
        }
        pos = pos + BLOCK + L->len;
    }
    /* the member itself (frombuf, then _proc_builtin) */
    memset(m, 0, sizeof(*m));
    m->type = h.type;
    m->header_off = start;
    m->data_off = pos + BLOCK;
    const uint8_t *b = h.raw;
    size_t nl = nts_len(b, 100);
    bool dir = h.type == '5' || (h.type == '\0' && nl > 0 && b[nl - 1] == '/');
    if (dir) {
        m->type = '5';
        nl = rstrip_slash(b, nl);
    }
    size_t pl = nts_len(b + 345, 155);
    if (pl > 0) { /* the ustar prefix, joined with or without the magic */
        uint8_t full[256];
        memcpy(full, b + 345, pl);
        full[pl] = '/';
        memcpy(full + pl + 1, b, nl);
        set_name(m->name, &m->name_len, full, pl + 1 + nl);
    } else {
        set_name(m->name, &m->name_len, b, nl);
    }
    m->data = carries_data(m->type);
    if (m->data && (h.size < 0)) {
        w->done = true;
        rc = FAILT(err, CKPT_E_UNSUPPORTED, pos, "tar: member at offset %llu has a negative size",
                   (unsigned long long)pos);
        goto out;
    }
    m->size = h.size < 0 ? 0 : h.huge ? (uint64_t)INT64_MAX : (uint64_t)h.size;
    w->tell = m->data_off;
    uint64_t next = m->data_off;
    if (m->data && ckpt_add_u64(next, blocks(m->size), &next))
        next = UINT64_MAX;
    if (w->has_gpath) {
        memcpy(m->name, w->gpath, sizeof(m->name));
        m->name_len = w->gpath_len;
    }
    /* the extension headers, innermost first, as tarfile's recursion unwinds */
    for (size_t k = depth; k-- > 0;) {
        layer *L = &chain[k];
        if (L->type == 'L') {
            size_t ln = nts_len(L->data, L->len);
            if (m->type == '5' && ln > 0 && L->data[ln - 1] == '/')
                ln--;
            set_name(m->name, &m->name_len, L->data, ln);
        } else if (L->type == 'x' || L->type == 'X') {
            if (L->has_path) {
                set_name(m->name, &m->name_len, L->path, rstrip_slash(L->path, L->path_len));
            } else if (w->has_gpath) {
                memcpy(m->name, w->gpath, sizeof(m->name));
                m->name_len = w->gpath_len;
            }
            if (L->has_size) {
                m->size = L->size;
                next = m->data_off;
                if (m->data && ckpt_add_u64(next, blocks(m->size), &next))
                    next = UINT64_MAX;
            }
        }
    }
    w->offset = next;
    rc = 1;
out:
    for (size_t k = 0; k < depth; k++)
        ckpt__free(w->alloc, chain[k].data, chain[k].len ? chain[k].len : 1);
    return rc;
}

int ckpt__tar_probe(const ckpt_source *src)
{
    ckpt__tar_walk w;
    ckpt__tar_member m;
    ckpt_error e;
    ckpt_error_clear(&e);
    ckpt__tar_begin(&w, src, NULL);
    int r = ckpt__tar_next(&w, &m, &e);
    if (r == 1)
        return CKPT__TAR_YES;
    if (r == 0)
        return CKPT__TAR_EMPTY;
    return w.read_error || e.code == CKPT_E_IO || e.code == CKPT_E_NOMEM ? CKPT__TAR_NOT
                                                                         : CKPT__TAR_YES;
}
