/* src/zip/zip_write.c - the zip writer, byte-compatible with torch's miniz output.
 *
 * Every record is stored (method 0) under "<prefix>/<record>", with an "FB"
 * extra field padding its data to the alignment, a data descriptor after
 * non-empty data, zip64 fields past 4 GiB, and the ZIP64 end records torch
 * always writes (spec 1.4 - 1.7). */
#include <libdeflate.h>
#include <string.h>

#include "ckpt/zip.h"
#include "core/bytes.h"
#include "core/checked.h"
#include "core/err.h"
#include "core/mem.h"
#include "zip/zip_int.h"

#define FLAGS_DESC 0x0808u  /* sizes in the data descriptor, UTF-8 names */
#define FLAGS_EMPTY 0x0800u /* UTF-8 names only */
#define Z64_EOCD_MADE_BY 0x031Eu
#define Z64_EOCD_NEEDED 0x002Du

/* One central-directory entry waiting for finish(). */
typedef struct wrec {
    uint64_t offset; /* local header offset */
    uint64_t size;   /* record size */
    size_t name_off; /* record name in w->names (NUL-terminated) */
    uint32_t crc;
    uint16_t name_len; /* record name length (without the prefix) */
    uint16_t flags;
} wrec;

enum { W_OPEN = 0, W_FINISHED = 1, W_FAILED = 2 };

struct ckpt_zip_writer {
    ckpt_sink *sink;
    ckpt_alloc alloc;
    bool has_alloc;
    bool crc;
    int state;
    uint32_t align;
    char *prefix;
    size_t prefix_len;
    wrec *recs;
    size_t n, cap;
    char *names;
    size_t names_len, names_cap;
    uint8_t *buf; /* scratch for headers */
    size_t buf_cap;
};

uint32_t ckpt_crc32(uint32_t crc, const void *p, size_t n)
{
    if (n == 0)
        return crc;
    return libdeflate_crc32(crc, p, n);
}

/* ---- layout (pure functions, see zip_int.h) ---------------------------- */

int ckpt_zip__layout_of(ckpt_zip__layout *out, uint64_t cursor, uint64_t size, size_t name_len,
                        uint32_t alignment)
{
    memset(out, 0, sizeof(*out));
    if (name_len > CKPT_ZIP_SAT16 || alignment == 0 || alignment > CKPT_ZIP_MAX_ALIGN)
        return -1;
    bool big_size = size >= CKPT_ZIP_SAT32;
    bool big_off = cursor >= CKPT_ZIP_SAT32;
    uint32_t z64 = 0;
    if (big_size || big_off)
        z64 = 4u + (big_size ? 16u : 0u) + (big_off ? 8u : 0u);
    uint32_t fixed = CKPT_ZIP_LOCAL_LEN + (uint32_t)name_len + z64 + 4u;
    uint64_t start;
    if (ckpt_add_u64(cursor, fixed, &start))
        return -1;
    uint32_t pad = (uint32_t)((alignment - start % alignment) % alignment);
    uint64_t data, end;
    uint32_t desc = size == 0 ? 0u : (z64 ? 24u : 16u);
    if (ckpt_add_u64(start, pad, &data) || ckpt_add_u64(data, size, &end) ||
        ckpt_add_u64(end, desc, &end))
        return -1;
    out->cursor = cursor;
    out->size = size;
    out->flags = (uint16_t)(size == 0 ? FLAGS_EMPTY : FLAGS_DESC);
    out->z64_len = (uint16_t)z64;
    out->pad = (uint16_t)pad;
    out->extra_len = (uint16_t)(z64 + 4u + pad);
    out->header_len = fixed + pad;
    out->desc_len = desc;
    out->data_offset = data;
    out->end = end;
    return 0;
}

size_t ckpt_zip__local_len(const ckpt_zip__layout *l)
{
    return l->header_len;
}

size_t ckpt_zip__put_local(uint8_t *out, const ckpt_zip__layout *l, const char *prefix,
                           size_t prefix_len, const char *record, size_t record_len)
{
    size_t name_len = prefix_len + 1 + record_len;
    uint8_t *p = out;
    memset(p, 0, CKPT_ZIP_LOCAL_LEN);
    ckpt_wr_u32le(p, CKPT_ZIP_SIG_LOCAL);
    /* version needed 0 (stored), method 0, time/date/CRC/sizes 0 */
    ckpt_wr_u16le(p + 6, l->flags);
    ckpt_wr_u16le(p + 26, (uint16_t)name_len);
    ckpt_wr_u16le(p + 28, l->extra_len);
    p += CKPT_ZIP_LOCAL_LEN;
    memcpy(p, prefix, prefix_len);
    p[prefix_len] = '/';
    memcpy(p + prefix_len + 1, record, record_len);
    p += name_len;
    if (l->z64_len) {
        ckpt_wr_u16le(p, CKPT_ZIP_Z64_ID);
        ckpt_wr_u16le(p + 2, (uint16_t)(l->z64_len - 4u));
        p += 4;
        if (l->size >= CKPT_ZIP_SAT32) {
            ckpt_wr_u64le(p, l->size); /* uncompressed */
            ckpt_wr_u64le(p + 8, 0);   /* compressed: miniz writes 0 here */
            p += 16;
        }
        if (l->cursor >= CKPT_ZIP_SAT32) {
            ckpt_wr_u64le(p, l->cursor);
            p += 8;
        }
    }
    ckpt_wr_u16le(p, CKPT_ZIP_FB_ID);
    ckpt_wr_u16le(p + 2, l->pad);
    p += 4;
    memset(p, 'Z', l->pad);
    p += l->pad;
    return (size_t)(p - out);
}

size_t ckpt_zip__put_desc(uint8_t *out, const ckpt_zip__layout *l, uint32_t crc)
{
    if (l->desc_len == 0)
        return 0;
    ckpt_wr_u32le(out, CKPT_ZIP_SIG_DESC);
    ckpt_wr_u32le(out + 4, crc);
    if (l->desc_len == 24) {
        ckpt_wr_u64le(out + 8, l->size);
        ckpt_wr_u64le(out + 16, l->size);
    } else {
        ckpt_wr_u32le(out + 8, (uint32_t)l->size);
        ckpt_wr_u32le(out + 12, (uint32_t)l->size);
    }
    return l->desc_len;
}

/* ---- writer -------------------------------------------------------------- */

static const ckpt_alloc *wal(const ckpt_zip_writer *w)
{
    return w->has_alloc ? &w->alloc : NULL;
}

ckpt_zip_writer *ckpt_zip_writer_new(ckpt_sink *sink, const char *prefix, uint32_t alignment,
                                     bool crc, const ckpt_alloc *alloc, ckpt_error *err)
{
    ckpt_zip_writer *w = NULL;
    if (!sink || !prefix) {
        CKPT_FAIL(err, CKPT_E_ARG, "zip writer: sink and prefix are required");
        goto fail;
    }
    size_t plen = strlen(prefix);
    if (plen == 0 || plen > CKPT_ZIP_SAT16 - 2u || memchr(prefix, '/', plen)) {
        CKPT_FAIL(err, CKPT_E_ARG, "zip writer: invalid archive prefix \"%s\"", prefix);
        goto fail;
    }
    if (alignment == 0)
        alignment = 64;
    if (alignment > CKPT_ZIP_MAX_ALIGN) {
        CKPT_FAIL(err, CKPT_E_ARG, "zip writer: alignment %u above %u", alignment,
                  CKPT_ZIP_MAX_ALIGN);
        goto fail;
    }
    w = ckpt__alloc(alloc, sizeof(*w));
    if (!w) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory creating zip writer");
        goto fail;
    }
    memset(w, 0, sizeof(*w));
    if (alloc) {
        w->alloc = *alloc;
        w->has_alloc = true;
    }
    w->sink = sink;
    w->crc = crc;
    w->align = alignment;
    w->prefix_len = plen;
    w->prefix = ckpt__alloc(alloc, plen + 1);
    if (!w->prefix) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory creating zip writer");
        goto fail;
    }
    memcpy(w->prefix, prefix, plen + 1);
    return w;
fail:
    ckpt_zip_writer_free(w);
    return NULL;
}

void ckpt_zip_writer_free(ckpt_zip_writer *w)
{
    if (!w)
        return;
    ckpt_alloc copy = w->alloc; /* w itself is freed last, with this copy */
    const ckpt_alloc *a = w->has_alloc ? &copy : NULL;
    if (w->prefix)
        ckpt__free(a, w->prefix, w->prefix_len + 1);
    ckpt__free(a, w->recs, w->cap * sizeof(*w->recs));
    ckpt__free(a, w->names, w->names_cap);
    ckpt__free(a, w->buf, w->buf_cap);
    ckpt__free(a, w, sizeof(*w));
}

static int ensure_buf(ckpt_zip_writer *w, size_t need, ckpt_error *err)
{
    if (need <= w->buf_cap)
        return 0;
    size_t ncap = w->buf_cap ? w->buf_cap : 256;
    while (ncap < need)
        ncap *= 2;
    uint8_t *nb = ckpt__realloc(wal(w), w->buf, w->buf_cap, ncap);
    if (!nb)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory (zip header buffer)");
    w->buf = nb;
    w->buf_cap = ncap;
    return 0;
}

/* Make room for one more record and `name_len + 1` name bytes. */
static int reserve_rec(ckpt_zip_writer *w, size_t name_len, ckpt_error *err)
{
    if (w->n == w->cap) {
        size_t ncap = w->cap ? w->cap * 2 : 16;
        size_t bytes;
        if (ckpt_mul_size(ncap, sizeof(*w->recs), &bytes))
            return CKPT_FAIL(err, CKPT_E_NOMEM, "too many zip records");
        wrec *nr = ckpt__realloc(wal(w), w->recs, w->cap * sizeof(*w->recs), bytes);
        if (!nr)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory (zip directory)");
        w->recs = nr;
        w->cap = ncap;
    }
    size_t need = w->names_len + name_len + 1;
    if (need > w->names_cap) {
        size_t ncap = w->names_cap ? w->names_cap : 1024;
        while (ncap < need)
            ncap *= 2;
        char *nn = ckpt__realloc(wal(w), w->names, w->names_cap, ncap);
        if (!nn)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory (zip names)");
        w->names = nn;
        w->names_cap = ncap;
    }
    return 0;
}

static int check_open(const ckpt_zip_writer *w, ckpt_error *err)
{
    if (!w)
        return CKPT_FAIL(err, CKPT_E_ARG, "zip writer is NULL");
    if (w->state == W_FINISHED)
        return CKPT_FAIL(err, CKPT_E_ARG, "zip writer already finished");
    if (w->state == W_FAILED)
        return CKPT_FAIL(err, CKPT_E_ARG, "zip writer failed earlier");
    return 0;
}

int ckpt_zip_writer_addv(ckpt_zip_writer *w, const char *record, const void *const *pieces,
                         const uint64_t *lens, size_t count, ckpt_error *err)
{
    /* Argument errors leave the writer usable; once bytes are written, any
     * failure poisons it (the output is then incomplete). */
    CKPT_TRY(check_open(w, err));
    CKPT_CHECK(record && (count == 0 || (pieces && lens)), err, CKPT_E_ARG,
               "zip writer: record name and pieces are required");
    size_t rlen = strlen(record);
    size_t name_len = w->prefix_len + 1 + rlen;
    CKPT_CHECK(rlen <= CKPT_ZIP_SAT16 && name_len <= CKPT_ZIP_SAT16, err, CKPT_E_ARG,
               "zip writer: record name too long (%zu bytes)", rlen);
    uint64_t size = 0;
    for (size_t i = 0; i < count; i++) {
        size_t dummy;
        bool bad = ckpt_add_u64(size, lens[i], &size) || ckpt_u64_to_size(lens[i], &dummy) ||
                   (lens[i] > 0 && !pieces[i]);
        CKPT_CHECK(!bad, err, CKPT_E_ARG, "zip writer: bad piece %zu of record %s", i, record);
    }
    ckpt_zip__layout l;
    uint64_t cursor = ckpt_sink_offset(w->sink);
    CKPT_CHECK(ckpt_zip__layout_of(&l, cursor, size, name_len, w->align) == 0, err, CKPT_E_LIMIT,
               "zip writer: record %s does not fit (offset %llu)", record,
               (unsigned long long)cursor);
    CKPT_TRY(reserve_rec(w, rlen, err));
    CKPT_TRY(ensure_buf(w, ckpt_zip__local_len(&l), err));
    int rc;
    size_t hl = ckpt_zip__put_local(w->buf, &l, w->prefix, w->prefix_len, record, rlen);
    rc = ckpt_sink_write(w->sink, w->buf, hl, err);
    if (rc < 0)
        goto fail;
    uint32_t crc = 0;
    for (size_t i = 0; i < count; i++) {
        size_t n = (size_t)lens[i];
        if (n == 0)
            continue;
        if (w->crc)
            crc = ckpt_crc32(crc, pieces[i], n);
        rc = ckpt_sink_write(w->sink, pieces[i], n, err);
        if (rc < 0)
            goto fail;
    }
    uint8_t desc[24];
    size_t dl = ckpt_zip__put_desc(desc, &l, crc);
    rc = ckpt_sink_write(w->sink, desc, dl, err);
    if (rc < 0)
        goto fail;
    if (ckpt_sink_offset(w->sink) != l.end) {
        rc = CKPT_FAIL(err, CKPT_E_IO, "zip writer: output offset out of step");
        goto fail;
    }
    wrec *r = &w->recs[w->n++];
    r->offset = cursor;
    r->size = size;
    r->crc = crc;
    r->flags = l.flags;
    r->name_len = (uint16_t)rlen;
    r->name_off = w->names_len;
    memcpy(w->names + w->names_len, record, rlen + 1);
    w->names_len += rlen + 1;
    return 0;
fail:
    w->state = W_FAILED;
    return rc;
}

int ckpt_zip_writer_add(ckpt_zip_writer *w, const char *record, const void *data, uint64_t n,
                        ckpt_error *err)
{
    const void *pieces[1] = {data};
    uint64_t lens[1] = {n};
    return ckpt_zip_writer_addv(w, record, pieces, lens, 1, err);
}

static uint16_t central_z64_len(uint64_t offset, uint64_t size)
{
    bool big_size = size >= CKPT_ZIP_SAT32;
    bool big_off = offset >= CKPT_ZIP_SAT32;
    if (!big_size && !big_off)
        return 0;
    return (uint16_t)(4u + (big_size ? 16u : 0u) + (big_off ? 8u : 0u));
}

size_t ckpt_zip__central_len(size_t name_len, uint64_t offset, uint64_t size)
{
    return CKPT_ZIP_CENTRAL_LEN + name_len + central_z64_len(offset, size);
}

size_t ckpt_zip__put_central(uint8_t *out, const char *prefix, size_t prefix_len,
                             const char *record, size_t record_len, uint64_t offset,
                             uint64_t size, uint32_t crc, uint16_t flags)
{
    bool big_size = size >= CKPT_ZIP_SAT32;
    bool big_off = offset >= CKPT_ZIP_SAT32;
    uint16_t z64 = central_z64_len(offset, size);
    size_t name_len = prefix_len + 1 + record_len;
    uint8_t *p = out;
    memset(p, 0, CKPT_ZIP_CENTRAL_LEN);
    ckpt_wr_u32le(p, CKPT_ZIP_SIG_CENTRAL);
    /* made by 0, needed 0, method 0, time/date 0, attributes 0 */
    ckpt_wr_u16le(p + 8, flags);
    ckpt_wr_u32le(p + 16, crc);
    uint32_t s32 = big_size ? CKPT_ZIP_SAT32 : (uint32_t)size;
    ckpt_wr_u32le(p + 20, s32);
    ckpt_wr_u32le(p + 24, s32);
    ckpt_wr_u16le(p + 28, (uint16_t)name_len);
    ckpt_wr_u16le(p + 30, z64);
    ckpt_wr_u32le(p + 42, big_off ? CKPT_ZIP_SAT32 : (uint32_t)offset);
    p += CKPT_ZIP_CENTRAL_LEN;
    memcpy(p, prefix, prefix_len);
    p[prefix_len] = '/';
    memcpy(p + prefix_len + 1, record, record_len);
    p += name_len;
    if (z64) {
        ckpt_wr_u16le(p, CKPT_ZIP_Z64_ID);
        ckpt_wr_u16le(p + 2, (uint16_t)(z64 - 4u));
        p += 4;
        if (big_size) {
            ckpt_wr_u64le(p, size);
            ckpt_wr_u64le(p + 8, size);
            p += 16;
        }
        if (big_off) {
            ckpt_wr_u64le(p, offset);
            p += 8;
        }
    }
    return (size_t)(p - out);
}

size_t ckpt_zip__put_end(uint8_t *out, uint64_t count, uint64_t cd_off, uint64_t cd_size)
{
    uint64_t z64_off = cd_off + cd_size;
    uint8_t *p = out;
    memset(p, 0, CKPT_ZIP_END_LEN);
    ckpt_wr_u32le(p, CKPT_ZIP_SIG_Z64_EOCD);
    ckpt_wr_u64le(p + 4, CKPT_ZIP_Z64_EOCD_LEN - 12u);
    ckpt_wr_u16le(p + 12, Z64_EOCD_MADE_BY);
    ckpt_wr_u16le(p + 14, Z64_EOCD_NEEDED);
    ckpt_wr_u64le(p + 24, count);
    ckpt_wr_u64le(p + 32, count);
    ckpt_wr_u64le(p + 40, cd_size);
    ckpt_wr_u64le(p + 48, cd_off);
    p += CKPT_ZIP_Z64_EOCD_LEN;
    ckpt_wr_u32le(p, CKPT_ZIP_SIG_Z64_LOC);
    ckpt_wr_u64le(p + 8, z64_off);
    ckpt_wr_u32le(p + 16, 1);
    p += CKPT_ZIP_Z64_LOC_LEN;
    uint16_t n16 = count >= CKPT_ZIP_SAT16 ? (uint16_t)CKPT_ZIP_SAT16 : (uint16_t)count;
    ckpt_wr_u32le(p, CKPT_ZIP_SIG_EOCD);
    ckpt_wr_u16le(p + 8, n16);
    ckpt_wr_u16le(p + 10, n16);
    ckpt_wr_u32le(p + 12, cd_size >= CKPT_ZIP_SAT32 ? CKPT_ZIP_SAT32 : (uint32_t)cd_size);
    ckpt_wr_u32le(p + 16, cd_off >= CKPT_ZIP_SAT32 ? CKPT_ZIP_SAT32 : (uint32_t)cd_off);
    return CKPT_ZIP_END_LEN;
}

int ckpt_zip_writer_finish(ckpt_zip_writer *w, ckpt_error *err)
{
    CKPT_TRY(check_open(w, err));
    CKPT_TRY(ensure_buf(w, CKPT_ZIP_CENTRAL_LEN + CKPT_ZIP_SAT16 + 28u, err));
    int rc;
    uint64_t cd_off = ckpt_sink_offset(w->sink);
    for (size_t i = 0; i < w->n; i++) {
        const wrec *r = &w->recs[i];
        size_t len = ckpt_zip__put_central(w->buf, w->prefix, w->prefix_len,
                                           w->names + r->name_off, r->name_len, r->offset,
                                           r->size, r->crc, r->flags);
        rc = ckpt_sink_write(w->sink, w->buf, len, err);
        if (rc < 0)
            goto fail;
    }
    uint64_t cd_size = ckpt_sink_offset(w->sink) - cd_off;
    uint8_t end[CKPT_ZIP_END_LEN];
    size_t len = ckpt_zip__put_end(end, (uint64_t)w->n, cd_off, cd_size);
    rc = ckpt_sink_write(w->sink, end, len, err);
    if (rc < 0)
        goto fail;
    rc = ckpt_sink_flush(w->sink, err);
    if (rc < 0)
        goto fail;
    w->state = W_FINISHED;
    return 0;
fail:
    w->state = W_FAILED;
    return rc;
}
