/* tests/unit/zip/zip_read_test.c - the zip reader: sources (memory, file,
 * callback), a zipfile-made fixture with deflate and another prefix, zip64
 * end records and fields, hostile archives, truncation / corruption / I/O /
 * out-of-memory sweeps. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/zip.h"
#include "core/bytes.h"
#include "util/test.h"
#include "zip/zip_int.h"

#define FIXTURE "tests/fixtures/zip/deflated.zip"
#define FIXTURE_LIST "tests/fixtures/zip/deflated.txt"

/* ---- helpers ----------------------------------------------------------- */

/* Records "<prefix>/<names[i]>" holding bytes (i * 37 + j) for j < lens[i]. */
static uint8_t *make_zip(const char *prefix, const char *const *names, const size_t *lens,
                         size_t n, size_t *len)
{
    ckpt_error err = {0};
    ckpt_sink *s = ckpt_sink_new_mem(NULL, &err);
    ckpt_zip_writer *w = ckpt_zip_writer_new(s, prefix, 0, true, NULL, &err);
    uint8_t data[512];
    uint8_t *out = NULL;
    if (!w)
        goto done;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < lens[i]; j++)
            data[j] = (uint8_t)(i * 37 + j);
        if (ckpt_zip_writer_add(w, names[i], data, lens[i], &err) != 0)
            goto done;
    }
    if (ckpt_zip_writer_finish(w, &err) == 0)
        out = ckpt_sink_take_mem(s, len);
done:
    ckpt_zip_writer_free(w);
    ckpt_sink_free(s);
    return out;
}

static uint8_t *make_small(size_t *len)
{
    static const char *const names[] = {"data.pkl", "data/0", "version"};
    static const size_t lens[] = {154, 24, 2};
    return make_zip("t", names, lens, 3, len);
}

/* Offset of the i-th central-directory entry (classic end record). */
static size_t cd_entry(const uint8_t *b, size_t len, size_t i)
{
    size_t pos = ckpt_rd_u32le(b + len - 22 + 16);
    for (size_t k = 0; k < i; k++)
        pos += 46u + ckpt_rd_u16le(b + pos + 28) + ckpt_rd_u16le(b + pos + 30) +
               ckpt_rd_u16le(b + pos + 32);
    return pos;
}

/* Open `b` from memory and expect failure with `code`; 1 when so. */
static int open_fails(const uint8_t *b, size_t len, int code, const char *msg_part)
{
    ckpt_source src;
    ckpt_source_init_mem(&src, b, len, "hostile");
    ckpt_error err = {0};
    ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &err);
    if (z) {
        ckpt_zip_close(z);
        fprintf(stderr, "  open succeeded, expected %s\n", ckpt_status_name(code));
        return 0;
    }
    if (err.code != code || err.where != CKPT_WHERE_FILE ||
        (msg_part && !strstr(err.msg, msg_part))) {
        char buf[512];
        fprintf(stderr, "  got: %s\n", ckpt_error_format(&err, buf, sizeof(buf)));
        return 0;
    }
    return 1;
}

/* A callback source over a buffer that fails reads touching [fail_at, ...). */
typedef struct cb_ctx {
    const uint8_t *buf;
    size_t len;
    uint64_t fail_at;
    long reads;
} cb_ctx;

static int cb_read(void *ctx, uint64_t off, void *buf, size_t n, ckpt_error *err)
{
    cb_ctx *c = ctx;
    c->reads++;
    if (off + n > c->fail_at) {
        if (err && err->code == 0) {
            err->code = CKPT_E_IO;
            snprintf(err->msg, sizeof(err->msg), "injected I/O failure");
        }
        return CKPT_E_IO;
    }
    if (off > c->len || n > c->len - off)
        return CKPT_E_IO;
    memcpy(buf, c->buf + off, n);
    return 0;
}

/* Open and read everything (with CRC) and the entry CRCs; returns 0 or the
 * first error code. */
static int open_read_all(const ckpt_source *src, const ckpt_zip_opts *opts,
                         const ckpt_alloc *alloc, ckpt_error *err)
{
    ckpt_zip *z = ckpt_zip_open(src, opts, alloc, err);
    if (!z)
        return err->code ? err->code : -100;
    int rc = 0;
    for (size_t i = 0; i < ckpt_zip_count(z) && rc == 0; i++) {
        const ckpt_zip_entry *e = ckpt_zip_entry_at(z, i);
        if (e->size > (1u << 24))
            continue;
        uint8_t *buf = malloc(e->size ? (size_t)e->size : 1);
        rc = ckpt_zip_read(z, e, buf, (size_t)e->size, true, err);
        uint32_t crc = 0;
        if (rc == 0)
            rc = ckpt_zip_entry_crc(z, e, &crc, err);
        if (rc == 0 && crc != e->crc32)
            rc = -101;
        free(buf);
    }
    ckpt_zip_close(z);
    return rc;
}

/* Expected content of the fixture records (see tools/gen/make_zip_fixtures.py). */
static void fixture_content(const char *record, uint8_t *out, size_t n)
{
    if (strcmp(record, "data.pkl") == 0) {
        for (size_t i = 0; i < n; i++)
            out[i] = (uint8_t)(i & 255);
    } else if (strcmp(record, "data/0") == 0) {
        const float v[6] = {0.0f, 1.0f, 2.0f, 3.0f, 4.0f, 5.0f};
        memcpy(out, v, n < sizeof(v) ? n : sizeof(v));
    } else if (strcmp(record, "data/1") == 0) {
        for (size_t i = 0; i < n; i++)
            out[i] = (uint8_t)((i * 7 + i / 1000) % 251);
    } else if (strcmp(record, "data/3") == 0) {
        memcpy(out, "stored bytes, not deflated\n", n);
    } else if (strcmp(record, "data/4") == 0) {
        memset(out, 'x', n);
    } else if (strcmp(record, "version") == 0) {
        memcpy(out, "3\n", n);
    }
}

/* Check the fixture through `src` against the listing the script printed. */
static int check_fixture(const ckpt_source *src)
{
    ckpt_error err = {0};
    size_t list_len;
    uint8_t *raw = test_read_file(FIXTURE_LIST, &list_len);
    char *list = raw ? malloc(list_len + 1) : NULL;
    if (!list) {
        free(raw);
        fprintf(stderr, "  cannot read %s (run from the repository root)\n", FIXTURE_LIST);
        return 0;
    }
    memcpy(list, raw, list_len);
    list[list_len] = '\0';
    free(raw);
    ckpt_zip *z = ckpt_zip_open(src, NULL, NULL, &err);
    int ok = z != NULL && strcmp(ckpt_zip_prefix(z), "weird_prefix") == 0;
    if (!z) {
        char b[512];
        fprintf(stderr, "  open: %s\n", ckpt_error_format(&err, b, sizeof(b)));
    }
    size_t i = 0;
    char *save = NULL;
    for (char *line = strtok_r(list, "\n", &save); ok && line;
         line = strtok_r(NULL, "\n", &save), i++) {
        char name[128];
        unsigned method;
        unsigned long long size;
        unsigned crc;
        ok = sscanf(line, "%127s %u %llu %x", name, &method, &size, &crc) == 4;
        const ckpt_zip_entry *e = ckpt_zip_entry_at(z, i);
        ok = ok && e && strcmp(e->name, name) == 0 && e->method == method && e->size == size &&
             e->crc32 == crc && ckpt_zip_find(z, e->record) == e;
        if (!ok)
            break;
        uint8_t *got = malloc(size + 1), *want = malloc(size + 1);
        uint32_t c2 = 0;
        fixture_content(e->record, want, (size_t)size);
        ok = got && want && ckpt_zip_read(z, e, got, (size_t)size, true, &err) == 0 &&
             memcmp(got, want, (size_t)size) == 0 && ckpt_zip_entry_crc(z, e, &c2, &err) == 0 &&
             c2 == crc;
        const uint8_t *p = ckpt_zip_data_ptr(z, e);
        if (method == 8 || !src->base)
            ok = ok && p == NULL;
        else
            ok = ok && p == src->base + e->data_offset && memcmp(p, want, (size_t)size) == 0;
        free(got);
        free(want);
    }
    ok = ok && i == ckpt_zip_count(z);
    ckpt_zip_close(z);
    free(list);
    return ok;
}

/* ---- valid inputs -------------------------------------------------------- */

TEST(test_zip_zip_read__fixture_memory)
{
    size_t len;
    uint8_t *b = test_read_file(FIXTURE, &len);
    CHECK(b != NULL);
    ckpt_source src;
    ckpt_source_init_mem(&src, b, len, FIXTURE);
    int ok = check_fixture(&src);
    free(b);
    CHECK(ok);
}

TEST(test_zip_zip_read__fixture_file)
{
    for (int map = 0; map < 2; map++) {
        ckpt_error err = {0};
        ckpt_source src;
        CHECK_OK(ckpt_source_open_file(&src, FIXTURE, map != 0, &err), &err);
        int ok = check_fixture(&src);
        ckpt_source_close(&src);
        CHECK(ok);
    }
}

TEST(test_zip_zip_read__fixture_callback)
{
    size_t len;
    uint8_t *b = test_read_file(FIXTURE, &len);
    CHECK(b != NULL);
    cb_ctx c = {b, len, UINT64_MAX, 0};
    ckpt_source src;
    ckpt_source_init_callback(&src, cb_read, &c, len, "callback");
    int ok = check_fixture(&src);
    free(b);
    CHECK(ok);
}

TEST(test_zip_zip_read__writer_output)
{
    size_t len;
    uint8_t *b = make_small(&len);
    CHECK(b != NULL);
    ckpt_source src;
    ckpt_source_init_mem(&src, b, len, "small");
    ckpt_error err = {0};
    ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &err);
    if (!z)
        free(b);
    CHECK_OK(z ? 0 : -1, &err);
    const ckpt_zip_entry *e = ckpt_zip_find(z, "data/0");
    int ok = ckpt_zip_count(z) == 3 && strcmp(ckpt_zip_prefix(z), "t") == 0 && e &&
             e->header_offset == 0xEA && e->data_offset == 0x140 && e->size == 24 &&
             e->comp_size == 24 && e->method == 0 && e->flags == 0x0808 &&
             strcmp(e->name, "t/data/0") == 0 && strcmp(e->record, "data/0") == 0 &&
             ckpt_zip_find(z, "t/data/0") == NULL && ckpt_zip_find(z, "data") == NULL &&
             ckpt_zip_find(z, "") == NULL && ckpt_zip_find(z, NULL) == NULL &&
             ckpt_zip_entry_at(z, 3) == NULL;
    uint8_t small[8];
    int rc = ckpt_zip_read(z, e, small, sizeof(small), false, &err);
    ckpt_zip_close(z);
    free(b);
    CHECK(ok);
    CHECK_EQ_INT(rc, CKPT_E_ARG);
}

/* A central directory whose fields are all saturated, with the real values
 * in zip64 fields, behind a saturated classic end record. */
TEST(test_zip_zip_read__zip64_fields)
{
    size_t len;
    uint8_t *b = make_small(&len);
    CHECK(b != NULL);
    size_t cd = ckpt_rd_u32le(b + len - 22 + 16);
    uint8_t *o = malloc(len + 3 * 24 + 64);
    CHECK(o != NULL);
    memcpy(o, b, cd);
    size_t pos = cd;
    for (size_t i = 0; i < 3; i++) {
        const uint8_t *c = b + cd_entry(b, len, i);
        size_t nlen = ckpt_rd_u16le(c + 28);
        memcpy(o + pos, c, 46 + nlen);
        uint32_t size = ckpt_rd_u32le(c + 24), off = ckpt_rd_u32le(c + 42);
        ckpt_wr_u32le(o + pos + 20, 0xFFFFFFFF);
        ckpt_wr_u32le(o + pos + 24, 0xFFFFFFFF);
        ckpt_wr_u32le(o + pos + 42, 0xFFFFFFFF);
        ckpt_wr_u16le(o + pos + 30, 28);
        uint8_t *x = o + pos + 46 + nlen;
        ckpt_wr_u16le(x, 1);
        ckpt_wr_u16le(x + 2, 24);
        ckpt_wr_u64le(x + 4, size);
        ckpt_wr_u64le(x + 12, size);
        ckpt_wr_u64le(x + 20, off);
        pos += 46 + nlen + 28;
    }
    size_t end_len = ckpt_zip__put_end(o + pos, 3, cd, pos - cd);
    uint8_t *eocd = o + pos + end_len - 22;
    ckpt_wr_u16le(eocd + 8, 0xFFFF);
    ckpt_wr_u16le(eocd + 10, 0xFFFF);
    ckpt_wr_u32le(eocd + 12, 0xFFFFFFFF);
    ckpt_wr_u32le(eocd + 16, 0xFFFFFFFF);
    size_t olen = pos + end_len;

    ckpt_source src;
    ckpt_source_init_mem(&src, o, olen, "zip64");
    ckpt_error err = {0};
    int rc = open_read_all(&src, NULL, NULL, &err);
    ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &err);
    const ckpt_zip_entry *e = z ? ckpt_zip_find(z, "version") : NULL;
    int ok = e && e->size == 2 && e->comp_size == 2 && e->header_offset == 0x168 &&
             e->data_offset == 0x1C0;
    ckpt_zip_close(z);

    /* the same classic record without the ZIP64 records: refused */
    memmove(o + pos, eocd, 22);
    int refused = open_fails(o, pos + 22, CKPT_E_FORMAT, "ZIP64");
    free(o);
    free(b);
    CHECK_EQ_INT(rc, 0);
    CHECK(ok);
    CHECK(refused);
}

TEST(test_zip_zip_read__trailing_comment)
{
    size_t len;
    uint8_t *b = make_small(&len);
    CHECK(b != NULL);
    uint8_t *o = malloc(len + 300);
    CHECK(o != NULL);
    memcpy(o, b, len);
    ckpt_wr_u16le(o + len - 2, 300);
    memset(o + len, 'c', 300);
    ckpt_source src;
    ckpt_source_init_mem(&src, o, len + 300, "comment");
    ckpt_error err = {0};
    int rc = open_read_all(&src, NULL, NULL, &err);
    /* a comment length that runs past the end is not an end record */
    int bad = open_fails(o, len + 299, CKPT_E_FORMAT, NULL);
    free(o);
    free(b);
    CHECK_EQ_INT(rc, 0);
    CHECK(bad);
}

/* ---- hostile inputs -------------------------------------------------------- */

TEST(test_zip_zip_read__duplicate_names)
{
    static const char *const names[] = {"data.pkl", "data/0", "data/0"};
    static const size_t lens[] = {3, 4, 5};
    size_t len;
    uint8_t *b = make_zip("t", names, lens, 3, &len);
    CHECK(b != NULL);
    int ok = open_fails(b, len, CKPT_E_FORMAT, "duplicate");
    free(b);
    CHECK(ok);
}

TEST(test_zip_zip_read__dotdot_names)
{
    static const char *const bad[] = {"../evil", "data/../../x", "..", "a/..", "..\\x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *names[2] = {"data.pkl", bad[i]};
        static const size_t lens[] = {3, 4};
        size_t len;
        uint8_t *b = make_zip("t", names, lens, 2, &len);
        CHECK(b != NULL);
        int ok = open_fails(b, len, CKPT_E_FORMAT, "..");
        free(b);
        CHECK(ok);
    }
    /* ".." inside a component is fine */
    static const char *const names[] = {"data.pkl", "a..b", "..c"};
    static const size_t lens[] = {3, 4, 5};
    size_t len;
    uint8_t *b = make_zip("t", names, lens, 3, &len);
    CHECK(b != NULL);
    ckpt_source src;
    ckpt_source_init_mem(&src, b, len, "dots");
    ckpt_error err = {0};
    int rc = open_read_all(&src, NULL, NULL, &err);
    free(b);
    CHECK_EQ_INT(rc, 0);
}

TEST(test_zip_zip_read__overlapping_entries)
{
    size_t len;
    uint8_t *b = make_small(&len);
    CHECK(b != NULL);
    /* entry 0's data now runs into entry 1's local header */
    size_t c0 = cd_entry(b, len, 0);
    ckpt_wr_u32le(b + c0 + 20, 154 + 40);
    ckpt_wr_u32le(b + c0 + 24, 154 + 40);
    int ok1 = open_fails(b, len, CKPT_E_FORMAT, "overlaps");
    free(b);
    /* two central entries for one local header (names made equal in length) */
    static const char *const names[] = {"aa", "ab", "ac"};
    static const size_t lens[] = {10, 10, 10};
    b = make_zip("t", names, lens, 3, &len);
    CHECK(b != NULL);
    size_t c1 = cd_entry(b, len, 1), c2 = cd_entry(b, len, 2);
    ckpt_wr_u32le(b + c2 + 42, ckpt_rd_u32le(b + c1 + 42)); /* ac -> ab's header */
    ckpt_wr_u32le(b + c2 + 16, ckpt_rd_u32le(b + c1 + 16));
    memcpy(b + c2 + 46, "t/ab", 4);
    int ok2 = open_fails(b, len, CKPT_E_FORMAT, NULL); /* duplicate or overlap */
    free(b);
    CHECK(ok1);
    CHECK(ok2);
}

/* Central-directory order need not follow the local headers' order. */
TEST(test_zip_zip_read__unordered_central_directory)
{
    size_t len;
    uint8_t *b = make_small(&len);
    CHECK(b != NULL);
    size_t c0 = cd_entry(b, len, 0), c1 = cd_entry(b, len, 1), c2 = cd_entry(b, len, 2);
    size_t c3 = cd_entry(b, len, 3);
    uint8_t *o = malloc(len);
    CHECK(o != NULL);
    memcpy(o, b, len);
    /* order: version, data.pkl, data/0 */
    memcpy(o + c0, b + c2, c3 - c2);
    memcpy(o + c0 + (c3 - c2), b + c0, c2 - c0);
    (void)c1;
    ckpt_source src;
    ckpt_source_init_mem(&src, o, len, "unordered");
    ckpt_error err = {0};
    int rc = open_read_all(&src, NULL, NULL, &err);
    ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &err);
    const ckpt_zip_entry *e0 = z ? ckpt_zip_entry_at(z, 0) : NULL;
    int ok = e0 && strcmp(e0->record, "version") == 0 && e0->header_offset == 0x168 &&
             ckpt_zip_find(z, "data/0") == ckpt_zip_entry_at(z, 2);
    ckpt_zip_close(z);
    free(o);
    free(b);
    CHECK_EQ_INT(rc, 0);
    CHECK(ok);
}

TEST(test_zip_zip_read__lying_central_directory)
{
    size_t len;
    uint8_t *b = make_small(&len);
    CHECK(b != NULL);
    uint8_t *o = malloc(len);
    CHECK(o != NULL);
    size_t c1 = cd_entry(b, len, 1);
    size_t z64 = len - 98;
    int ok = 1;

    /* entry size past the data area */
    memcpy(o, b, len);
    ckpt_wr_u32le(o + c1 + 20, 0x7FFFFFF0);
    ckpt_wr_u32le(o + c1 + 24, 0x7FFFFFF0);
    ok &= open_fails(o, len, CKPT_E_FORMAT, "data area");
    /* stored entry whose sizes disagree */
    memcpy(o, b, len);
    ckpt_wr_u32le(o + c1 + 24, 25);
    ok &= open_fails(o, len, CKPT_E_FORMAT, "compressed size");
    /* local header offset into the middle of data */
    memcpy(o, b, len);
    ckpt_wr_u32le(o + c1 + 42, 0xEA + 70);
    ok &= open_fails(o, len, CKPT_E_FORMAT, "signature");
    /* local header offset past the file */
    memcpy(o, b, len);
    ckpt_wr_u32le(o + c1 + 42, 0x7FFFFFF0);
    ok &= open_fails(o, len, CKPT_E_FORMAT, NULL);
    /* local header offset inside the central directory */
    memcpy(o, b, len);
    ckpt_wr_u32le(o + c1 + 42, (uint32_t)cd_entry(b, len, 0));
    ok &= open_fails(o, len, CKPT_E_FORMAT, NULL);
    /* central directory size: classic and ZIP64 records disagree */
    memcpy(o, b, len);
    ckpt_wr_u32le(o + len - 22 + 12, 0xA6);
    ok &= open_fails(o, len, CKPT_E_FORMAT, "disagree");
    /* both say one byte more: runs into the ZIP64 end record */
    ckpt_wr_u64le(o + z64 + 40, 0xA6);
    ok &= open_fails(o, len, CKPT_E_FORMAT, NULL);
    /* both say one byte less */
    memcpy(o, b, len);
    ckpt_wr_u32le(o + len - 22 + 12, 0xA4);
    ckpt_wr_u64le(o + z64 + 40, 0xA4);
    ok &= open_fails(o, len, CKPT_E_FORMAT, NULL);
    /* central directory offset moved */
    memcpy(o, b, len);
    ckpt_wr_u32le(o + len - 22 + 16, 0x1D3);
    ckpt_wr_u64le(o + z64 + 48, 0x1D3);
    ok &= open_fails(o, len, CKPT_E_FORMAT, NULL);
    /* entry counts: too many to fit, too few */
    memcpy(o, b, len);
    ckpt_wr_u16le(o + len - 22 + 8, 4);
    ckpt_wr_u16le(o + len - 22 + 10, 4);
    ckpt_wr_u64le(o + z64 + 24, 4);
    ckpt_wr_u64le(o + z64 + 32, 4);
    ok &= open_fails(o, len, CKPT_E_FORMAT, NULL);
    memcpy(o, b, len);
    ckpt_wr_u16le(o + len - 22 + 8, 2);
    ckpt_wr_u16le(o + len - 22 + 10, 2);
    ckpt_wr_u64le(o + z64 + 24, 2);
    ckpt_wr_u64le(o + z64 + 32, 2);
    ok &= open_fails(o, len, CKPT_E_FORMAT, NULL);
    /* zero entries */
    memcpy(o, b, len);
    ckpt_wr_u16le(o + len - 22 + 8, 0);
    ckpt_wr_u16le(o + len - 22 + 10, 0);
    ckpt_wr_u64le(o + z64 + 24, 0);
    ckpt_wr_u64le(o + z64 + 32, 0);
    ok &= open_fails(o, len, CKPT_E_FORMAT, "no entries");
    /* ZIP64 locator pointing nowhere */
    memcpy(o, b, len);
    ckpt_wr_u64le(o + len - 42 + 8, 0x7FFFFFFF);
    ok &= open_fails(o, len, CKPT_E_FORMAT, "ZIP64");
    /* extra field overrunning its entry */
    memcpy(o, b, len);
    ckpt_wr_u16le(o + c1 + 30, 4);
    ok &= open_fails(o, len, CKPT_E_FORMAT, NULL);
    /* multi-disk */
    memcpy(o, b, len);
    ckpt_wr_u32le(o + z64 + 16, 1);
    ok &= open_fails(o, len, CKPT_E_UNSUPPORTED, NULL);
    /* encrypted entry */
    memcpy(o, b, len);
    ckpt_wr_u16le(o + c1 + 8, 0x0809);
    ok &= open_fails(o, len, CKPT_E_UNSUPPORTED, NULL);
    /* not a zip at all */
    ok &= open_fails((const uint8_t *)"hello", 5, CKPT_E_FORMAT, NULL);
    memset(o, 0, len);
    ok &= open_fails(o, len, CKPT_E_FORMAT, NULL);
    free(o);
    free(b);
    CHECK(ok);
}

/* torch's reader (miniz) never compares the local name with the central one:
 * it skips the local header by the local lengths.  ckpt reads the same bytes
 * and flags the entry (local_name_differs) for the scanner to report. */
static const ckpt_zip_entry *open_entry(const uint8_t *b, size_t len, const char *rec,
                                        ckpt_zip **zp)
{
    static ckpt_source src;
    ckpt_source_init_mem(&src, b, len, "local");
    ckpt_error err = {0};
    *zp = ckpt_zip_open(&src, NULL, NULL, &err);
    if (!*zp) {
        char buf[512];
        fprintf(stderr, "  open failed: %s\n", ckpt_error_format(&err, buf, sizeof(buf)));
        return NULL;
    }
    return ckpt_zip_find(*zp, rec);
}

TEST(test_zip_zip_read__local_name_mismatch)
{
    size_t len;
    uint8_t *b = make_small(&len);
    CHECK(b != NULL);
    ckpt_zip *z = NULL;
    const ckpt_zip_entry *e = open_entry(b, len, "data/0", &z);
    uint64_t data0 = e ? e->data_offset : 0;
    int ok0 = e && !e->local_name_differs;
    ckpt_zip_close(z);
    b[0xEA + 30 + 2] = 'D'; /* t/Data/0 locally, t/data/0 centrally */
    e = open_entry(b, len, "data/0", &z);
    int ok1 = e && e->local_name_differs && e->data_offset == data0 &&
              !ckpt_zip_find(z, "data.pkl")->local_name_differs;
    ckpt_zip_close(z);
    b[0xEA + 30 + 2] = 'd';
    ckpt_wr_u16le(b + 0xEA + 26, 7); /* a shorter local name: the data starts a byte early */
    e = open_entry(b, len, "data/0", &z);
    int ok2 = e && e->local_name_differs && e->data_offset == data0 - 1;
    ckpt_zip_close(z);
    ckpt_wr_u16le(b + 0xEA + 26, 8);
    ckpt_wr_u16le(b + 0xEA + 8, 8); /* local method differs */
    int ok3 = open_fails(b, len, CKPT_E_FORMAT, "method");
    free(b);
    CHECK(ok0);
    CHECK(ok1);
    CHECK(ok2);
    CHECK(ok3);
}

TEST(test_zip_zip_read__prefix_rules)
{
    size_t len;
    uint8_t *b = make_small(&len);
    CHECK(b != NULL);
    size_t c0 = cd_entry(b, len, 0), c1 = cd_entry(b, len, 1), c2 = cd_entry(b, len, 2);
    /* the first entry outside any folder */
    b[30 + 1] = '_';
    b[c0 + 46 + 1] = '_';
    int ok1 = open_fails(b, len, CKPT_E_FORMAT, "not in a subdirectory: t_data.pkl");
    b[30 + 1] = '/';
    b[c0 + 46 + 1] = '/';
    /* lookups ignore ASCII case, as torch's reader does */
    ckpt_zip *z = NULL;
    const ckpt_zip_entry *e = open_entry(b, len, "DATA/0", &z);
    int ok2 = e && strcmp(e->name, "t/data/0") == 0 && ckpt_zip_find(z, "Version") &&
              !ckpt_zip_find(z, "data/00");
    ckpt_zip_close(z);
    /* names that differ only in case are refused */
    static const char *const dup[] = {"data.pkl", "data/0", "Data.PKL"};
    static const size_t dup_lens[] = {4, 8, 4};
    size_t dlen;
    uint8_t *d = make_zip("t", dup, dup_lens, 3, &dlen);
    int ok3 = d && open_fails(d, dlen, CKPT_E_FORMAT, "differ only in case");
    free(d);
    (void)c1;
    free(b);
    b = make_small(&len);
    CHECK(b != NULL);
    /* a later entry under another folder: torch.load's record listing throws */
    b[0x168 + 30] = 'u';
    b[c2 + 46] = 'u';
    int ok4 = open_fails(b, len, CKPT_E_FORMAT, "not in a subdirectory t/: u/version");
    free(b);
    CHECK(ok1);
    CHECK(ok2);
    CHECK(ok3);
    CHECK(ok4);
}

TEST(test_zip_zip_read__crc_mismatch)
{
    size_t len;
    uint8_t *b = make_small(&len);
    CHECK(b != NULL);
    b[0x140 + 5] ^= 0x40;
    ckpt_source src;
    ckpt_source_init_mem(&src, b, len, "crc");
    ckpt_error err = {0};
    ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &err);
    const ckpt_zip_entry *e = z ? ckpt_zip_find(z, "data/0") : NULL;
    uint8_t buf[24];
    uint32_t crc = 0;
    int rc_off = e ? ckpt_zip_read(z, e, buf, sizeof(buf), false, &err) : -100;
    int rc_crc = e ? ckpt_zip_entry_crc(z, e, &crc, &err) : -100;
    int rc_on = e ? ckpt_zip_read(z, e, buf, sizeof(buf), true, &err) : -100;
    int where = err.where;
    uint64_t off = err.offset;
    int ok = e && crc != e->crc32 && buf[5] == (uint8_t)(b[0x140 + 5]);
    ckpt_zip_close(z);
    free(b);
    CHECK_EQ_INT(rc_off, 0);
    CHECK_EQ_INT(rc_crc, 0);
    CHECK_EQ_INT(rc_on, CKPT_E_FORMAT);
    CHECK_EQ_INT(where, CKPT_WHERE_FILE);
    CHECK_EQ_INT(off, 0x140);
    CHECK(ok);
}

/* A stored CRC of 0 (torch with CRC computation off) reads fine without checks. */
TEST(test_zip_zip_read__crc_zero)
{
    size_t len;
    uint8_t *b = make_small(&len);
    CHECK(b != NULL);
    ckpt_wr_u32le(b + cd_entry(b, len, 1) + 16, 0);
    ckpt_source src;
    ckpt_source_init_mem(&src, b, len, "crc0");
    ckpt_error err = {0};
    ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &err);
    const ckpt_zip_entry *e = z ? ckpt_zip_find(z, "data/0") : NULL;
    uint8_t buf[24];
    int rc_off = e ? ckpt_zip_read(z, e, buf, sizeof(buf), false, &err) : -100;
    int rc_on = e ? ckpt_zip_read(z, e, buf, sizeof(buf), true, &err) : -100;
    ckpt_zip_close(z);
    free(b);
    CHECK_EQ_INT(rc_off, 0);
    CHECK_EQ_INT(rc_on, CKPT_E_FORMAT);
}

/* Patch the fixture's central entry for `record`; returns its offset. */
static size_t fixture_cd(const uint8_t *b, size_t len, const char *name)
{
    for (size_t i = 0; i < 7; i++) {
        size_t c = cd_entry(b, len, i);
        size_t nlen = ckpt_rd_u16le(b + c + 28);
        if (nlen == strlen(name) && memcmp(b + c + 46, name, nlen) == 0)
            return c;
    }
    return 0;
}

TEST(test_zip_zip_read__inflate_errors)
{
    size_t len;
    uint8_t *b = test_read_file(FIXTURE, &len);
    CHECK(b != NULL);
    size_t c = fixture_cd(b, len, "weird_prefix/data/0");
    CHECK(c != 0);
    int codes[4];
    for (int k = 0; k < 4; k++) {
        uint8_t *o = malloc(len);
        memcpy(o, b, len);
        if (k == 0)
            ckpt_wr_u32le(o + c + 24, 25); /* declared larger than it inflates */
        else if (k == 1)
            ckpt_wr_u32le(o + c + 24, 23); /* declared smaller */
        else if (k == 2)
            o[ckpt_rd_u32le(o + c + 42) + 30 + 19 + 0] ^= 0xFF; /* corrupt stream */
        else {
            ckpt_wr_u16le(o + c + 10, 12); /* bzip2: unsupported */
            ckpt_wr_u16le(o + ckpt_rd_u32le(o + c + 42) + 8, 12);
        }
        ckpt_source src;
        ckpt_source_init_mem(&src, o, len, "inflate");
        ckpt_error err = {0};
        ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &err);
        const ckpt_zip_entry *e = z ? ckpt_zip_find(z, "data/0") : NULL;
        uint8_t buf[32];
        codes[k] = e ? ckpt_zip_read(z, e, buf, sizeof(buf), false, &err) : -100;
        ckpt_zip_close(z);
        free(o);
    }
    free(b);
    CHECK_EQ_INT(codes[0], CKPT_E_FORMAT);
    CHECK_EQ_INT(codes[1], CKPT_E_FORMAT);
    CHECK(codes[2] == CKPT_E_FORMAT || codes[2] == 0); /* a flipped bit may still inflate */
    CHECK_EQ_INT(codes[3], CKPT_E_UNSUPPORTED);
}

TEST(test_zip_zip_read__max_inflated)
{
    size_t len;
    uint8_t *b = test_read_file(FIXTURE, &len);
    CHECK(b != NULL);
    ckpt_source src;
    ckpt_source_init_mem(&src, b, len, FIXTURE);
    ckpt_error err = {0};
    ckpt_zip_opts opts = {.max_inflated = 1000};
    ckpt_zip *z = ckpt_zip_open(&src, &opts, NULL, &err);
    const ckpt_zip_entry *big = z ? ckpt_zip_find(z, "data/1") : NULL;
    const ckpt_zip_entry *pkl = z ? ckpt_zip_find(z, "data.pkl") : NULL;
    const ckpt_zip_entry *x = z ? ckpt_zip_find(z, "data/4") : NULL;
    const ckpt_zip_entry *st = z ? ckpt_zip_find(z, "data/3") : NULL;
    uint8_t *buf = malloc(100000);
    int rc_big = big ? ckpt_zip_read(z, big, buf, 100000, true, &err) : -100;
    int code_big = err.code;
    ckpt_error_clear(&err);
    int rc_pkl = pkl ? ckpt_zip_read(z, pkl, buf, 100000, true, &err) : -100; /* 512 */
    int rc_x = x ? ckpt_zip_read(z, x, buf, 100000, true, &err) : -100;       /* +1000 */
    ckpt_error_clear(&err);
    int rc_st = st ? ckpt_zip_read(z, st, buf, 100000, true, &err) : -100; /* stored */
    ckpt_zip_close(z);
    free(buf);
    free(b);
    CHECK_EQ_INT(rc_big, CKPT_E_LIMIT);
    CHECK_EQ_INT(code_big, CKPT_E_LIMIT);
    CHECK_EQ_INT(rc_pkl, 0);
    CHECK_EQ_INT(rc_x, CKPT_E_LIMIT);
    CHECK_EQ_INT(rc_st, 0);
}

TEST(test_zip_zip_read__max_entries)
{
    size_t len;
    uint8_t *b = make_small(&len);
    CHECK(b != NULL);
    ckpt_source src;
    ckpt_source_init_mem(&src, b, len, "limit");
    ckpt_error err = {0};
    ckpt_zip_opts opts = {.max_entries = 2};
    ckpt_zip *z = ckpt_zip_open(&src, &opts, NULL, &err);
    free(b);
    CHECK(z == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_LIMIT);
}

/* ---- sweeps ----------------------------------------------------------------- */

TEST(test_zip_zip_read__truncation_sweep)
{
    size_t lens[2];
    uint8_t *bufs[2] = {make_small(&lens[0]), test_read_file(FIXTURE, &lens[1])};
    int bad = 0;
    for (int f = 0; f < 2; f++) {
        if (!bufs[f]) {
            bad++;
            continue;
        }
        for (size_t cut = 0; cut < lens[f]; cut++) {
            uint8_t *t = malloc(cut ? cut : 1); /* exact size so ASan sees over-reads */
            memcpy(t, bufs[f], cut);
            for (int kind = 0; kind < 2; kind++) {
                ckpt_source src;
                cb_ctx c = {t, cut, UINT64_MAX, 0};
                if (kind == 0)
                    ckpt_source_init_mem(&src, t, cut, "truncated");
                else
                    ckpt_source_init_callback(&src, cb_read, &c, cut, "truncated");
                ckpt_error err = {0};
                ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &err);
                if (z || err.code != CKPT_E_FORMAT) {
                    fprintf(stderr, "  file %d cut %zu kind %d: code %d\n", f, cut, kind,
                            err.code);
                    bad++;
                }
                ckpt_zip_close(z);
            }
            free(t);
        }
        free(bufs[f]);
    }
    CHECK_EQ_INT(bad, 0);
}

TEST(test_zip_zip_read__corruption_sweep)
{
    size_t lens[2];
    uint8_t *bufs[2] = {make_small(&lens[0]), test_read_file(FIXTURE, &lens[1])};
    static const uint8_t flips[] = {0x01, 0x80, 0xFF};
    int bad = 0, opened = 0;
    for (int f = 0; f < 2; f++) {
        if (!bufs[f]) {
            bad++;
            continue;
        }
        uint8_t *t = malloc(lens[f]);
        for (size_t i = 0; i < lens[f]; i++) {
            for (size_t k = 0; k < sizeof(flips); k++) {
                memcpy(t, bufs[f], lens[f]);
                t[i] ^= flips[k];
                for (int kind = 0; kind < 2; kind++) {
                    ckpt_source src;
                    cb_ctx c = {t, lens[f], UINT64_MAX, 0};
                    if (kind == 0)
                        ckpt_source_init_mem(&src, t, lens[f], "flipped");
                    else
                        ckpt_source_init_callback(&src, cb_read, &c, lens[f], "flipped");
                    ckpt_error err = {0};
                    int rc = open_read_all(&src, NULL, NULL, &err);
                    if (rc == 0)
                        opened++;
                    else if (rc != CKPT_E_FORMAT && rc != CKPT_E_UNSUPPORTED &&
                             rc != CKPT_E_LIMIT)
                        bad++;
                }
            }
        }
        free(t);
        free(bufs[f]);
    }
    printf("  %d corrupted inputs still read\n", opened);
    CHECK_EQ_INT(bad, 0);
}

/* The callback source fails at every offset in turn. */
TEST(test_zip_zip_read__io_failure_sweep)
{
    size_t lens[2];
    uint8_t *bufs[2] = {make_small(&lens[0]), test_read_file(FIXTURE, &lens[1])};
    int bad = 0, succeeded = 0;
    for (int f = 0; f < 2; f++) {
        if (!bufs[f]) {
            bad++;
            continue;
        }
        for (size_t at = 0; at <= lens[f]; at++) {
            cb_ctx c = {bufs[f], lens[f], at, 0};
            ckpt_source src;
            ckpt_source_init_callback(&src, cb_read, &c, lens[f], "io");
            ckpt_error err = {0};
            int rc = open_read_all(&src, NULL, NULL, &err);
            if (rc == 0)
                succeeded++;
            if ((rc != 0 && rc != CKPT_E_IO) || (rc == 0) != (at == lens[f]))
                bad++;
        }
        free(bufs[f]);
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(succeeded, 2);
}

/* Fail allocation N = 1, 2, ...: clean NOMEM, nothing leaked, then success. */
TEST(test_zip_zip_read__oom_sweep)
{
    size_t len;
    uint8_t *b = test_read_file(FIXTURE, &len);
    CHECK(b != NULL);
    int bad = 0;
    for (int kind = 0; kind < 2; kind++) {
        int done = 0;
        for (long k = 1; k < 100 && !done; k++) {
            test_failing_alloc fa;
            test_failing_alloc_init(&fa, k);
            cb_ctx c = {b, len, UINT64_MAX, 0};
            ckpt_source src;
            if (kind == 0)
                ckpt_source_init_mem(&src, b, len, "oom");
            else
                ckpt_source_init_callback(&src, cb_read, &c, len, "oom");
            ckpt_error err = {0};
            int rc = open_read_all(&src, NULL, &fa.a, &err);
            if (rc == 0)
                done = 1;
            else if (rc != CKPT_E_NOMEM)
                bad++;
            if (fa.live != 0)
                bad++;
        }
        if (!done)
            bad++;
    }
    free(b);
    CHECK_EQ_INT(bad, 0);
}

TEST_MAIN()
