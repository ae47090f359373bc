/* src/zip/zip_read.c - the zip reader: end records, central directory, local
 * headers, stored and deflated members (spec 1.1 - 1.11).
 *
 * Everything is validated at open: end records (zip64 aware), every central
 * entry, every local header (signature, name, data offset), names (no NUL,
 * no ".." component, no duplicates) and that no two entries overlap.  After
 * open the reader is immutable except for the inflate counter, which is
 * atomic, so several threads may look up and read at once. */
#include <libdeflate.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/zip.h"
#include "core/bytes.h"
#include "core/checked.h"
#include "core/err.h"
#include "core/mem.h"
#include "zip/zip_int.h"

#define DEFAULT_MAX_ENTRIES (16u * 1024u * 1024u)
#define DEFAULT_MAX_INFLATED (4ull * 1024u * 1024u * 1024u)
/* The first offset torch's reader (miniz 2.1, caffe2/serialize) searches for the
 * end record.  It reads 4096-byte blocks backwards, each 4093 bytes before the
 * last, and gives up after the block that reaches 65535 + 22 bytes back or the
 * start of the file; a block start under 4093 makes its next start wrap around
 * (unsigned arithmetic), so the search ends there, short of the file's start. */
static uint64_t eocd_floor(uint64_t size)
{
    if (size <= 4096)
        return 0;
    uint64_t c = size - 4096;
    while (c != 0 && size - c < CKPT_ZIP_SAT16 + CKPT_ZIP_EOCD_LEN && c >= 4093)
        c -= 4093;
    return c;
}
#define CRC_CHUNK (256u * 1024u)

struct ckpt_zip {
    const ckpt_source *src;
    ckpt_alloc alloc;
    bool has_alloc;
    ckpt_zip_entry *entries;
    size_t n, entries_cap;
    char *names; /* every name, NUL-terminated, back to back */
    size_t names_cap;
    char *prefix;
    size_t prefix_len;
    bool flat;
    uint32_t *table; /* open addressing over full names: entry index + 1, 0 = empty */
    size_t table_cap;
    uint64_t seed;
    uint64_t cd_off, cd_size;
    uint64_t end_off; /* first byte after the end record and its comment */
    uint64_t max_inflated;
    _Atomic uint64_t *inflated; /* total bytes handed to inflate so far */
};

/* The end records, as found. */
typedef struct zip_end {
    uint64_t count;
    uint64_t cd_off;
    uint64_t cd_size;
    uint64_t limit; /* the central directory must end at or before this offset */
} zip_end;

static const ckpt_alloc *zal(const ckpt_zip *z)
{
    return z->has_alloc ? &z->alloc : NULL;
}

#define FAIL_AT(err, code, off, ...)                                                             \
    CKPT_FAIL_AT((err), (code), CKPT_WHERE_FILE, NULL, (off), __VA_ARGS__)

/* `n` bytes at `off`: a pointer into the mapping, or read into `scratch`. */
static int fetch(const ckpt_source *src, uint64_t off, size_t n, uint8_t *scratch,
                 const uint8_t **out, ckpt_error *err)
{
    if (off > src->size || n > src->size - off)
        return FAIL_AT(err, CKPT_E_FORMAT, off,
                       "truncated: need %zu bytes at offset %llu, file has %llu", n,
                       (unsigned long long)off, (unsigned long long)src->size);
    if (src->base) {
        *out = src->base + off;
        return 0;
    }
    CKPT_TRY(ckpt_source_read(src, off, scratch, n, err));
    *out = scratch;
    return 0;
}

/* ---- hashing ------------------------------------------------------------- */

/* FNV-1a with a per-reader seed, finished with a 64-bit mixer.  The seed
 * comes from the reader's address (randomised by ASLR), so a hostile file
 * cannot pick names that all land in one probe chain. */
/* ASCII lower case, as miniz's MZ_TOLOWER: torch's reader finds records by a
 * case-insensitive comparison (mz_zip_reader_locate_file with flags 0). */
static uint8_t lower(char c)
{
    uint8_t u = (uint8_t)c;
    return u >= 'A' && u <= 'Z' ? (uint8_t)(u - 'A' + 'a') : u;
}

static bool same_nocase(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

static uint64_t hash_bytes(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= lower(s[i]);
        h *= 0x100000001b3ull;
    }
    return h;
}

static uint64_t hash_finish(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}

static uint64_t hash_start(const ckpt_zip *z)
{
    return 0xcbf29ce484222325ull ^ z->seed;
}

/* ---- end records ---------------------------------------------------------- */

static int find_end(ckpt_zip *z, const ckpt_zip_opts *opts, zip_end *out, ckpt_error *err)
{
    const ckpt_source *src = z->src;
    uint8_t *tailbuf = NULL;
    size_t tail_len = 0;
    int rc = 0;
    if (src->size < CKPT_ZIP_EOCD_LEN) {
        rc = FAIL_AT(err, CKPT_E_FORMAT, 0, "not a zip archive: %llu bytes is too short",
                     (unsigned long long)src->size);
        goto fail;
    }
    uint64_t tail_off = eocd_floor(src->size);
    tail_len = (size_t)(src->size - tail_off);
    const uint8_t *tail = NULL;
    if (src->base) {
        tail = src->base + tail_off;
    } else {
        tailbuf = ckpt__alloc(zal(z), tail_len);
        if (!tailbuf) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory reading the zip end record");
            goto fail;
        }
        rc = ckpt_source_read(src, tail_off, tailbuf, tail_len, err);
        if (rc < 0)
            goto fail;
        tail = tailbuf;
    }
    /* torch's reader (miniz, caffe2/serialize) takes the LAST end-record
     * signature that has at least 22 bytes after it, searching back to
     * eocd_floor(), and never looks at the comment
     * length.  Resolve the same record, so that ckpt and torch read the same
     * central directory; then refuse what could make other readers differ. */
    size_t i = tail_len - CKPT_ZIP_EOCD_LEN;
    bool found = false;
    for (;;) {
        if (ckpt_rd_u32le(tail + i) == CKPT_ZIP_SIG_EOCD) {
            found = true;
            break;
        }
        if (i == 0)
            break;
        i--;
    }
    if (!found) {
        rc = FAIL_AT(err, CKPT_E_FORMAT, tail_off,
                     "not a zip archive: no end-of-central-directory record");
        goto fail;
    }
    for (size_t k = i + 1; k + 4 <= tail_len; k++) {
        if (ckpt_rd_u32le(tail + k) == CKPT_ZIP_SIG_EOCD) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, tail_off + k,
                         "a second end-of-central-directory signature %llu bytes from the end "
                         "of the file: zip readers disagree on which end record counts",
                         (unsigned long long)(tail_len - k));
            goto fail;
        }
    }
    if (ckpt_rd_u16le(tail + i + 20) > tail_len - i - CKPT_ZIP_EOCD_LEN) {
        rc = FAIL_AT(err, CKPT_E_FORMAT, tail_off + i,
                     "the end record's comment (%u bytes) runs past the end of the file",
                     (unsigned)ckpt_rd_u16le(tail + i + 20));
        goto fail;
    }
    const uint8_t *e = tail + i;
    uint64_t eocd_off = tail_off + i;
    z->end_off = eocd_off + CKPT_ZIP_EOCD_LEN + ckpt_rd_u16le(e + 20);
    uint16_t disk = ckpt_rd_u16le(e + 4), cd_disk = ckpt_rd_u16le(e + 6);
    uint16_t n_disk = ckpt_rd_u16le(e + 8), n_total = ckpt_rd_u16le(e + 10);
    uint32_t cd_size = ckpt_rd_u32le(e + 12), cd_off = ckpt_rd_u32le(e + 16);
    bool saturated = n_disk == CKPT_ZIP_SAT16 || n_total == CKPT_ZIP_SAT16 ||
                     cd_size == CKPT_ZIP_SAT32 || cd_off == CKPT_ZIP_SAT32;
    uint8_t scratch[CKPT_ZIP_Z64_EOCD_LEN];
    const uint8_t *loc = NULL;
    if (eocd_off >= CKPT_ZIP_Z64_LOC_LEN) {
        rc = fetch(src, eocd_off - CKPT_ZIP_Z64_LOC_LEN, CKPT_ZIP_Z64_LOC_LEN, scratch, &loc,
                   err);
        if (rc < 0)
            goto fail;
        if (ckpt_rd_u32le(loc) != CKPT_ZIP_SIG_Z64_LOC)
            loc = NULL;
    }
    if (loc) {
        uint64_t loc_off = eocd_off - CKPT_ZIP_Z64_LOC_LEN;
        uint32_t z_disk = ckpt_rd_u32le(loc + 4);
        uint64_t z_off = ckpt_rd_u64le(loc + 8);
        uint32_t disks = ckpt_rd_u32le(loc + 16);
        if (z_disk != 0 || disks != 1) { /* miniz refuses a disk count other than 1 */
            rc = FAIL_AT(err, CKPT_E_UNSUPPORTED, loc_off,
                         "multi-disk zip archives are not supported (ZIP64 locator: disk %u "
                         "of %u)",
                         (unsigned)z_disk, (unsigned)disks);
            goto fail;
        }
        /* torch's reader follows the locator's offset, Python's zipfile reads the
         * 56 bytes before the locator: both must name the same record */
        uint64_t z_end;
        if (ckpt_add_u64(z_off, CKPT_ZIP_Z64_EOCD_LEN, &z_end) || z_end != loc_off) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, loc_off,
                         "ZIP64 locator points to offset %llu, not to the record just before "
                         "it (%llu)",
                         (unsigned long long)z_off,
                         (unsigned long long)(loc_off >= CKPT_ZIP_Z64_EOCD_LEN
                                                  ? loc_off - CKPT_ZIP_Z64_EOCD_LEN
                                                  : 0));
            goto fail;
        }
        const uint8_t *zr = NULL;
        rc = fetch(src, z_off, CKPT_ZIP_Z64_EOCD_LEN, scratch, &zr, err);
        if (rc < 0)
            goto fail;
        if (ckpt_rd_u32le(zr) != CKPT_ZIP_SIG_Z64_EOCD || ckpt_rd_u64le(zr + 4) < 44) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, z_off, "bad ZIP64 end-of-central-directory record");
            goto fail;
        }
        if (ckpt_rd_u32le(zr + 16) != 0 || ckpt_rd_u32le(zr + 20) != 0) {
            rc = FAIL_AT(err, CKPT_E_UNSUPPORTED, z_off,
                         "multi-disk zip archives are not supported");
            goto fail;
        }
        uint64_t zn_disk = ckpt_rd_u64le(zr + 24);
        out->count = ckpt_rd_u64le(zr + 32);
        out->cd_size = ckpt_rd_u64le(zr + 40);
        out->cd_off = ckpt_rd_u64le(zr + 48);
        out->limit = z_off;
        bool lies = zn_disk != out->count ||
                    (n_total != CKPT_ZIP_SAT16 && n_total != out->count) ||
                    (n_disk != CKPT_ZIP_SAT16 && n_disk != out->count) ||
                    (cd_size != CKPT_ZIP_SAT32 && cd_size != out->cd_size) ||
                    (cd_off != CKPT_ZIP_SAT32 && cd_off != out->cd_off);
        if (lies) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, eocd_off,
                         "end record and ZIP64 end record disagree");
            goto fail;
        }
    } else {
        if (saturated) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, eocd_off,
                         "end record needs a ZIP64 end record, which is missing");
            goto fail;
        }
        if (disk != 0 || cd_disk != 0) {
            rc = FAIL_AT(err, CKPT_E_UNSUPPORTED, eocd_off,
                         "multi-disk zip archives are not supported");
            goto fail;
        }
        if (n_disk != n_total) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, eocd_off, "end record entry counts disagree");
            goto fail;
        }
        out->count = n_total;
        out->cd_size = cd_size;
        out->cd_off = cd_off;
        out->limit = eocd_off;
    }
    uint64_t cd_end;
    if (ckpt_add_u64(out->cd_off, out->cd_size, &cd_end) || cd_end > out->limit) {
        rc = FAIL_AT(err, CKPT_E_FORMAT, eocd_off,
                     "central directory (offset %llu, %llu bytes) runs past its end record",
                     (unsigned long long)out->cd_off, (unsigned long long)out->cd_size);
        goto fail;
    }
    uint64_t max_entries = opts && opts->max_entries ? opts->max_entries : DEFAULT_MAX_ENTRIES;
    if (out->count > max_entries || out->count >= UINT32_MAX) {
        rc = FAIL_AT(err, CKPT_E_LIMIT, eocd_off, "%llu zip entries exceed the limit of %llu",
                     (unsigned long long)out->count, (unsigned long long)max_entries);
        goto fail;
    }
    if (out->count == 0) {
        rc = FAIL_AT(err, CKPT_E_FORMAT, eocd_off, "zip archive has no entries");
        goto fail;
    }
    if (out->count > out->cd_size / CKPT_ZIP_CENTRAL_LEN) {
        rc = FAIL_AT(err, CKPT_E_FORMAT, eocd_off,
                     "%llu entries cannot fit in a %llu-byte central directory",
                     (unsigned long long)out->count, (unsigned long long)out->cd_size);
        goto fail;
    }
fail:
    ckpt__free(zal(z), tailbuf, tail_len);
    return rc;
}

/* ---- central directory ---------------------------------------------------- */

static bool has_dotdot(const char *s, size_t n)
{
    size_t i = 0;
    while (i <= n) {
        size_t j = i;
        while (j < n && s[j] != '/' && s[j] != '\\')
            j++;
        if (j - i == 2 && s[i] == '.' && s[i + 1] == '.')
            return true;
        i = j + 1;
    }
    return false;
}

/* Replace saturated sizes/offset with the zip64 extra field's values.  Only
 * the fields whose classic value is 0xFFFFFFFF are present, in the order
 * uncompressed, compressed, offset. */
static int parse_extra(const uint8_t *x, size_t xlen, ckpt_zip_entry *e, uint64_t at,
                       ckpt_error *err)
{
    bool need_size = e->size == CKPT_ZIP_SAT32;
    bool need_comp = e->comp_size == CKPT_ZIP_SAT32;
    bool need_off = e->header_offset == CKPT_ZIP_SAT32;
    size_t pos = 0;
    bool seen = false;
    while (xlen - pos >= 4) {
        uint16_t id = ckpt_rd_u16le(x + pos);
        size_t len = ckpt_rd_u16le(x + pos + 2);
        const uint8_t *p = x + pos + 4;
        if (len > xlen - pos - 4)
            return FAIL_AT(err, CKPT_E_FORMAT, at, "extra field of %s overruns its entry",
                           e->name);
        if (id == CKPT_ZIP_Z64_ID && !seen) {
            seen = true;
            size_t need = 8u * ((size_t)need_size + (size_t)need_comp + (size_t)need_off);
            if (len < need)
                return FAIL_AT(err, CKPT_E_FORMAT, at, "zip64 field of %s is too short", e->name);
            if (need_size) {
                e->size = ckpt_rd_u64le(p);
                p += 8;
            }
            if (need_comp) {
                e->comp_size = ckpt_rd_u64le(p);
                p += 8;
            }
            if (need_off)
                e->header_offset = ckpt_rd_u64le(p);
        }
        pos += 4 + len;
    }
    return 0;
}

static int read_central(ckpt_zip *z, const zip_end *end, ckpt_error *err)
{
    const ckpt_source *src = z->src;
    uint8_t *buf = NULL;
    size_t cd_len = 0;
    int rc = 0;
    if (ckpt_u64_to_size(end->cd_size, &cd_len)) {
        rc = FAIL_AT(err, CKPT_E_LIMIT, end->cd_off, "central directory too large");
        goto fail;
    }
    const uint8_t *cd = NULL;
    if (src->base) {
        cd = src->base + end->cd_off;
    } else {
        buf = ckpt__alloc(zal(z), cd_len);
        if (!buf) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory reading the central directory");
            goto fail;
        }
        rc = ckpt_source_read(src, end->cd_off, buf, cd_len, err);
        if (rc < 0)
            goto fail;
        cd = buf;
    }
    size_t count = (size_t)end->count; /* <= cd_size / 46, so it fits */
    size_t bytes;
    if (ckpt_mul_size(count, sizeof(*z->entries), &bytes)) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "too many zip entries (%zu)", count);
        goto fail;
    }
    z->entries = ckpt__alloc(zal(z), bytes);
    z->entries_cap = z->entries ? count : 0;
    z->names_cap = cd_len;
    z->names = ckpt__alloc(zal(z), z->names_cap);
    if (!z->entries || !z->names) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory for %zu zip entries", count);
        goto fail;
    }
    memset(z->entries, 0, bytes);
    size_t pos = 0, npos = 0;
    for (size_t i = 0; i < count; i++) {
        uint64_t at = end->cd_off + pos;
        if (cd_len - pos < CKPT_ZIP_CENTRAL_LEN ||
            ckpt_rd_u32le(cd + pos) != CKPT_ZIP_SIG_CENTRAL) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, at, "bad central directory entry %zu", i);
            goto fail;
        }
        const uint8_t *h = cd + pos;
        size_t nlen = ckpt_rd_u16le(h + 28), xlen = ckpt_rd_u16le(h + 30);
        size_t clen = ckpt_rd_u16le(h + 32);
        size_t elen = CKPT_ZIP_CENTRAL_LEN + nlen + xlen + clen;
        if (elen > cd_len - pos) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, at, "central directory entry %zu overruns", i);
            goto fail;
        }
        const char *name = (const char *)h + CKPT_ZIP_CENTRAL_LEN;
        if (nlen == 0 || memchr(name, '\0', nlen)) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, at, "entry %zu has an empty or invalid name", i);
            goto fail;
        }
        /* names_cap = cd_len, and each entry uses > nlen + 1 bytes of it */
        char *copy = z->names + npos;
        memcpy(copy, name, nlen);
        copy[nlen] = '\0';
        npos += nlen + 1;
        ckpt_zip_entry *e = &z->entries[i];
        e->name = copy;
        if (has_dotdot(name, nlen)) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, at, "entry name contains \"..\": %s", copy);
            goto fail;
        }
        e->flags = ckpt_rd_u16le(h + 8);
        e->method = ckpt_rd_u16le(h + 10);
        e->crc32 = ckpt_rd_u32le(h + 16);
        e->comp_size = ckpt_rd_u32le(h + 20);
        e->size = ckpt_rd_u32le(h + 24);
        e->header_offset = ckpt_rd_u32le(h + 42);
        if (e->flags & 0x2061u) { /* encrypted, patch data, masked local headers */
            rc = FAIL_AT(err, CKPT_E_UNSUPPORTED, at, "entry %s is encrypted or patch data",
                         copy);
            goto fail;
        }
        rc = parse_extra(h + CKPT_ZIP_CENTRAL_LEN + nlen, xlen, e, at, err);
        if (rc < 0)
            goto fail;
        /* torch's reader hands back no bytes for a directory entry (a name ending
         * in '/' or the DOS directory attribute) but an uninitialised buffer of
         * its size: a directory that claims data is refused */
        bool dir = name[nlen - 1] == '/' || (ckpt_rd_u32le(h + 38) & 0x10u);
        if (dir && (e->size != 0 || e->comp_size != 0)) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, at,
                         "directory entry %s claims %llu bytes of data (torch reads none)", copy,
                         (unsigned long long)e->size);
            goto fail;
        }
        if (e->method == 0 && e->comp_size != e->size) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, at,
                         "stored entry %s: compressed size %llu != size %llu", copy,
                         (unsigned long long)e->comp_size, (unsigned long long)e->size);
            goto fail;
        }
        /* deflate cannot expand more than ~1032:1; a size beyond that is a lie
         * (a deflate bomb's header), refused before anything is allocated */
        if (e->method == 8 && e->size / 1032u > e->comp_size + 64u) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, at,
                         "deflated entry %s claims %llu bytes from %llu compressed: more than "
                         "deflate can produce",
                         copy, (unsigned long long)e->size, (unsigned long long)e->comp_size);
            goto fail;
        }
        pos += elen;
    }
    if (pos != cd_len) {
        rc = FAIL_AT(err, CKPT_E_FORMAT, end->cd_off + pos,
                     "central directory holds %zu bytes after its %llu entries", cd_len - pos,
                     (unsigned long long)end->count);
        goto fail;
    }
    z->n = count;
fail:
    ckpt__free(zal(z), buf, cd_len);
    return rc;
}

static int set_prefix(ckpt_zip *z, bool flat, ckpt_error *err)
{
    const char *first = z->entries[0].name;
    const char *slash = strchr(first, '/');
    if (flat) {
        z->prefix_len = 0;
        z->prefix = ckpt__alloc(zal(z), 1);
        if (!z->prefix)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory (zip prefix)");
        z->prefix[0] = '\0';
        z->flat = true;
        for (size_t i = 0; i < z->n; i++)
            z->entries[i].record = z->entries[i].name;
        return 0;
    }
    if (!slash)
        return FAIL_AT(err, CKPT_E_FORMAT, z->cd_off,
                       "file in archive is not in a subdirectory: %s", first);
    z->prefix_len = (size_t)(slash - first);
    z->prefix = ckpt__alloc(zal(z), z->prefix_len + 1);
    if (!z->prefix)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory (zip prefix)");
    memcpy(z->prefix, first, z->prefix_len);
    z->prefix[z->prefix_len] = '\0';
    /* torch.load lists the records (PyTorchStreamReader::getAllRecords), which
     * throws for any name not under "<prefix>/" byte for byte */
    for (size_t i = 0; i < z->n; i++) {
        ckpt_zip_entry *e = &z->entries[i];
        bool under = strncmp(e->name, z->prefix, z->prefix_len) == 0 &&
                     e->name[z->prefix_len] == '/';
        if (!under)
            return FAIL_AT(err, CKPT_E_FORMAT, e->header_offset,
                           "file in archive is not in a subdirectory %s/: %s", z->prefix,
                           e->name);
        e->record = e->name + z->prefix_len + 1;
    }
    return 0;
}

/* ---- local headers ---------------------------------------------------------- */

static int read_locals(ckpt_zip *z, ckpt_error *err)
{
    const ckpt_source *src = z->src;
    uint8_t *scratch = NULL;
    size_t scratch_len = CKPT_ZIP_LOCAL_LEN + CKPT_ZIP_SAT16;
    int rc = 0;
    if (!src->base) {
        scratch = ckpt__alloc(zal(z), scratch_len);
        if (!scratch) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory reading local headers");
            goto fail;
        }
    }
    for (size_t i = 0; i < z->n; i++) {
        ckpt_zip_entry *e = &z->entries[i];
        uint64_t at = e->header_offset;
        size_t nlen = strlen(e->name);
        const uint8_t *h = NULL;
        if (at >= z->cd_off || z->cd_off - at < CKPT_ZIP_LOCAL_LEN) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, at, "local header of %s lies outside the data area",
                         e->name);
            goto fail;
        }
        rc = fetch(src, at, CKPT_ZIP_LOCAL_LEN, scratch, &h, err);
        if (rc < 0)
            goto fail;
        if (ckpt_rd_u32le(h) != CKPT_ZIP_SIG_LOCAL) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, at, "bad local header signature for %s", e->name);
            goto fail;
        }
        if (ckpt_rd_u16le(h + 8) != e->method) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, at,
                         "local header method differs from central directory for %s", e->name);
            goto fail;
        }
        /* torch's reader (miniz) takes the name from the central directory and
         * skips the local header by its own name and extra lengths; a local name
         * that differs is read the same way and reported (local_name_differs) */
        size_t lnlen = ckpt_rd_u16le(h + 26), lxlen = ckpt_rd_u16le(h + 28);
        uint64_t data, data_end;
        bool bad = ckpt_add_u64(at, CKPT_ZIP_LOCAL_LEN + lnlen + lxlen, &data) ||
                   ckpt_add_u64(data, e->comp_size, &data_end) || data_end > z->cd_off;
        if (bad) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, at,
                         "data of %s (%llu bytes) runs past the data area", e->name,
                         (unsigned long long)e->comp_size);
            goto fail;
        }
        if (lnlen != nlen) {
            e->local_name_differs = true;
        } else {
            rc = fetch(src, at, CKPT_ZIP_LOCAL_LEN + nlen, scratch, &h, err);
            if (rc < 0)
                goto fail;
            e->local_name_differs = memcmp(h + CKPT_ZIP_LOCAL_LEN, e->name, nlen) != 0;
        }
        e->data_offset = data;
    }
fail:
    ckpt__free(zal(z), scratch, scratch_len);
    return rc;
}

typedef struct span {
    uint64_t start, end;
} span;

static int cmp_span(const void *a, const void *b)
{
    const span *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->end < y->end ? -1 : (x->end > y->end);
}

static int check_overlap(ckpt_zip *z, ckpt_error *err)
{
    span *s = NULL;
    size_t bytes = 0;
    int rc = 0;
    if (!ckpt_mul_size(z->n, sizeof(*s), &bytes))
        s = ckpt__alloc(zal(z), bytes);
    if (!s) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory checking zip entries");
        goto fail;
    }
    bool sorted = true;
    for (size_t i = 0; i < z->n; i++) {
        s[i].start = z->entries[i].header_offset;
        s[i].end = z->entries[i].data_offset + z->entries[i].comp_size; /* checked earlier */
        if (i > 0 && s[i].start < s[i - 1].start)
            sorted = false;
    }
    if (!sorted)
        qsort(s, z->n, sizeof(*s), cmp_span);
    for (size_t i = 1; i < z->n; i++) {
        if (s[i].start < s[i - 1].end) {
            rc = FAIL_AT(err, CKPT_E_FORMAT, s[i].start,
                         "zip entry at %llu overlaps the entry at %llu",
                         (unsigned long long)s[i].start, (unsigned long long)s[i - 1].start);
            goto fail;
        }
    }
fail:
    ckpt__free(zal(z), s, bytes);
    return rc;
}

static int build_index(ckpt_zip *z, ckpt_error *err)
{
    size_t cap = 16;
    while (cap / 2 < z->n && cap < SIZE_MAX / 2 / sizeof(*z->table))
        cap *= 2;
    if (cap / 2 < z->n)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "too many zip entries (%zu)", z->n);
    z->table = ckpt__alloc(zal(z), cap * sizeof(*z->table));
    if (!z->table)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory (zip index)");
    memset(z->table, 0, cap * sizeof(*z->table));
    z->table_cap = cap;
    for (size_t i = 0; i < z->n; i++) {
        const char *name = z->entries[i].name;
        size_t slot = (size_t)hash_finish(hash_bytes(hash_start(z), name, strlen(name)));
        slot &= cap - 1;
        size_t nl = strlen(name);
        while (z->table[slot]) {
            const ckpt_zip_entry *o = &z->entries[z->table[slot] - 1];
            if (strcmp(o->name, name) == 0)
                return FAIL_AT(err, CKPT_E_FORMAT, z->entries[i].header_offset,
                               "duplicate zip entry %s", name);
            if (strlen(o->name) == nl && same_nocase(o->name, name, nl))
                return FAIL_AT(err, CKPT_E_FORMAT, z->entries[i].header_offset,
                               "zip entries %s and %s differ only in case: torch's reader "
                               "matches names without case, so which one it reads is "
                               "undefined",
                               o->name, name);
            slot = (slot + 1) & (cap - 1);
        }
        z->table[slot] = (uint32_t)(i + 1);
    }
    return 0;
}

/* ---- public API ---------------------------------------------------------------- */

ckpt_zip *ckpt_zip_open(const ckpt_source *src, const ckpt_zip_opts *opts,
                        const ckpt_alloc *alloc, ckpt_error *err)
{
    ckpt_zip *z = NULL;
    if (!src || !src->read_at) {
        CKPT_FAIL(err, CKPT_E_ARG, "zip open: no source");
        goto fail;
    }
    z = ckpt__alloc(alloc, sizeof(*z));
    if (!z) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory opening zip");
        goto fail;
    }
    memset(z, 0, sizeof(*z));
    if (alloc) {
        z->alloc = *alloc;
        z->has_alloc = true;
    }
    z->src = src;
    z->seed = hash_finish((uint64_t)(uintptr_t)z ^ 0x9e3779b97f4a7c15ull);
    z->max_inflated = opts && opts->max_inflated ? opts->max_inflated : DEFAULT_MAX_INFLATED;
    z->inflated = ckpt__alloc(alloc, sizeof(*z->inflated));
    if (!z->inflated) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory opening zip");
        goto fail;
    }
    atomic_init(z->inflated, 0);
    zip_end end = {0, 0, 0, 0};
    if (find_end(z, opts, &end, err) < 0)
        goto fail;
    z->cd_off = end.cd_off;
    z->cd_size = end.cd_size;
    if (read_central(z, &end, err) < 0 || set_prefix(z, opts && opts->flat, err) < 0 ||
        read_locals(z, err) < 0 || check_overlap(z, err) < 0 || build_index(z, err) < 0)
        goto fail;
    return z;
fail:
    if (src)
        ckpt__error_set_file(err, src->label);
    ckpt_zip_close(z);
    return NULL;
}

void ckpt_zip_close(ckpt_zip *z)
{
    if (!z)
        return;
    ckpt_alloc copy = z->alloc; /* z itself is freed last, with this copy */
    const ckpt_alloc *a = z->has_alloc ? &copy : NULL;
    ckpt__free(a, z->entries, z->entries_cap * sizeof(*z->entries));
    ckpt__free(a, z->names, z->names_cap);
    ckpt__free(a, z->prefix, z->prefix_len + 1);
    ckpt__free(a, z->table, z->table_cap * sizeof(*z->table));
    ckpt__free(a, z->inflated, sizeof(*z->inflated));
    ckpt__free(a, z, sizeof(*z));
}

size_t ckpt_zip_entry_index(const ckpt_zip *z, const ckpt_zip_entry *e)
{
    if (!z || !e || e < z->entries || e >= z->entries + z->n)
        return SIZE_MAX; /* not an entry of this archive */
    return (size_t)(e - z->entries);
}

uint64_t ckpt_zip_end_offset(const ckpt_zip *z)
{
    return z ? z->end_off : 0;
}

const char *ckpt_zip_prefix(const ckpt_zip *z)
{
    return z ? z->prefix : NULL;
}

size_t ckpt_zip_count(const ckpt_zip *z)
{
    return z ? z->n : 0;
}

const ckpt_zip_entry *ckpt_zip_entry_at(const ckpt_zip *z, size_t i)
{
    return z && i < z->n ? &z->entries[i] : NULL;
}

const ckpt_zip_entry *ckpt_zip_find(const ckpt_zip *z, const char *record)
{
    if (!z || !record)
        return NULL;
    uint64_t h = hash_bytes(hash_start(z), z->prefix, z->prefix_len);
    if (!z->flat)
        h = hash_bytes(h, "/", 1);
    h = hash_finish(hash_bytes(h, record, strlen(record)));
    size_t slot = (size_t)h & (z->table_cap - 1);
    size_t rl = strlen(record), full = z->prefix_len + (z->flat ? 0 : 1) + rl;
    while (z->table[slot]) {
        const ckpt_zip_entry *e = &z->entries[z->table[slot] - 1];
        /* the full name, compared without case as torch's reader does */
        if (strlen(e->name) == full && same_nocase(e->name, z->prefix, z->prefix_len) &&
            (z->flat || e->name[z->prefix_len] == '/') &&
            same_nocase(e->name + full - rl, record, rl))
            return e;
        slot = (slot + 1) & (z->table_cap - 1);
    }
    return NULL;
}

const uint8_t *ckpt_zip_data_ptr(const ckpt_zip *z, const ckpt_zip_entry *e)
{
    if (!z || !e || !z->src->base || e->method != 0)
        return NULL;
    return z->src->base + e->data_offset;
}

static int inflate_entry(const ckpt_zip *z, const ckpt_zip_entry *e, void *dst, size_t n,
                         ckpt_error *err)
{
    uint8_t *cbuf = NULL;
    size_t clen = 0;
    struct libdeflate_decompressor *d = NULL;
    bool reserved = false;
    int rc = 0;
    uint64_t cur = atomic_load(z->inflated);
    do {
        if (e->size > z->max_inflated || cur > z->max_inflated - e->size) {
            rc = FAIL_AT(err, CKPT_E_LIMIT, e->header_offset,
                         "inflating %s (%llu bytes) exceeds the limit of %llu inflated bytes",
                         e->name, (unsigned long long)e->size,
                         (unsigned long long)z->max_inflated);
            goto fail;
        }
    } while (!atomic_compare_exchange_weak(z->inflated, &cur, cur + e->size));
    reserved = true;
    if (ckpt_u64_to_size(e->comp_size, &clen)) {
        rc = FAIL_AT(err, CKPT_E_LIMIT, e->header_offset, "entry %s too large", e->name);
        goto fail;
    }
    const uint8_t *in = NULL;
    if (z->src->base) {
        in = z->src->base + e->data_offset;
    } else {
        cbuf = ckpt__alloc(zal(z), clen);
        if (!cbuf) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory reading %s", e->name);
            goto fail;
        }
        rc = ckpt_source_read(z->src, e->data_offset, cbuf, clen, err);
        if (rc < 0)
            goto fail;
        in = cbuf;
    }
    d = libdeflate_alloc_decompressor();
    if (!d) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory (inflate state)");
        goto fail;
    }
    uint8_t dummy = 0;
    size_t got = 0;
    enum libdeflate_result r = libdeflate_deflate_decompress(d, in, clen, n ? dst : &dummy, n,
                                                             &got);
    if (r == LIBDEFLATE_INSUFFICIENT_SPACE) {
        rc = FAIL_AT(err, CKPT_E_FORMAT, e->data_offset,
                     "%s inflates to more than its declared %zu bytes", e->name, n);
        goto fail;
    }
    if (r != LIBDEFLATE_SUCCESS) {
        rc = FAIL_AT(err, CKPT_E_FORMAT, e->data_offset, "%s: corrupt deflate data", e->name);
        goto fail;
    }
    if (got != n) {
        rc = FAIL_AT(err, CKPT_E_FORMAT, e->data_offset, "%s inflates to %zu bytes, declared %zu",
                     e->name, got, n);
        goto fail;
    }
    reserved = false; /* success: the bytes stay counted */
fail:
    if (reserved)
        atomic_fetch_sub(z->inflated, e->size);
    if (d)
        libdeflate_free_decompressor(d);
    ckpt__free(zal(z), cbuf, clen);
    return rc;
}

int ckpt_zip_read(const ckpt_zip *z, const ckpt_zip_entry *e, void *dst, size_t dst_size,
                  bool check_crc, ckpt_error *err)
{
    CKPT_CHECK(z && e, err, CKPT_E_ARG, "zip read: no archive or entry");
    size_t n;
    CKPT_CHECK(!ckpt_u64_to_size(e->size, &n) && dst_size >= n && (dst || n == 0), err,
               CKPT_E_ARG, "zip read: buffer of %zu bytes too small for %s (%llu bytes)",
               dst_size, e->name, (unsigned long long)e->size);
    if (e->method == 0) {
        CKPT_TRY(ckpt_source_read(z->src, e->data_offset, dst, n, err));
    } else if (e->method == 8) {
        CKPT_TRY(inflate_entry(z, e, dst, n, err));
    } else {
        return FAIL_AT(err, CKPT_E_UNSUPPORTED, e->header_offset,
                       "%s: compression method %u is not supported", e->name, e->method);
    }
    if (check_crc) {
        uint32_t crc = ckpt_crc32(0, dst, n);
        if (crc != e->crc32)
            return FAIL_AT(err, CKPT_E_FORMAT, e->data_offset,
                           "CRC-32 mismatch in %s: stored %08X, computed %08X", e->name,
                           (unsigned)e->crc32, (unsigned)crc);
    }
    return 0;
}

int ckpt_zip_entry_crc(const ckpt_zip *z, const ckpt_zip_entry *e, uint32_t *out, ckpt_error *err)
{
    CKPT_CHECK(z && e && out, err, CKPT_E_ARG, "zip crc: missing argument");
    uint8_t *buf = NULL;
    size_t buf_len = 0;
    uint32_t crc = 0;
    int rc = 0;
    if (e->method == 0 && z->src->base) {
        size_t n;
        if (ckpt_u64_to_size(e->size, &n)) {
            rc = FAIL_AT(err, CKPT_E_LIMIT, e->header_offset, "entry %s too large", e->name);
            goto fail;
        }
        crc = ckpt_crc32(0, z->src->base + e->data_offset, n);
    } else if (e->method == 0) {
        buf_len = e->size < CRC_CHUNK ? (size_t)e->size : CRC_CHUNK;
        buf = ckpt__alloc(zal(z), buf_len);
        if (!buf) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory computing CRC of %s", e->name);
            goto fail;
        }
        for (uint64_t done = 0; done < e->size;) {
            size_t k = e->size - done < buf_len ? (size_t)(e->size - done) : buf_len;
            rc = ckpt_source_read(z->src, e->data_offset + done, buf, k, err);
            if (rc < 0)
                goto fail;
            crc = ckpt_crc32(crc, buf, k);
            done += k;
        }
    } else {
        if (ckpt_u64_to_size(e->size, &buf_len)) {
            rc = FAIL_AT(err, CKPT_E_LIMIT, e->header_offset, "entry %s too large", e->name);
            goto fail;
        }
        buf = ckpt__alloc(zal(z), buf_len);
        if (!buf) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory computing CRC of %s", e->name);
            goto fail;
        }
        rc = ckpt_zip_read(z, e, buf, buf_len, false, err);
        if (rc < 0)
            goto fail;
        crc = ckpt_crc32(0, buf, buf_len);
    }
    *out = crc;
fail:
    ckpt__free(zal(z), buf, buf_len);
    return rc;
}
