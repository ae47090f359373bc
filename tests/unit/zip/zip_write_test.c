/* tests/unit/zip/zip_write_test.c - the zip writer: spec 1.13 byte for byte,
 * the zip64 layout rules of spec 1.4 - 1.7, round trips through the reader. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ckpt/zip.h"
#include "core/bytes.h"
#include "util/test.h"
#include "zip/zip_int.h"

/* data.pkl of torch.arange(6.).reshape(2,3), spec 2.9 (154 bytes). */
static const uint8_t spec_pickle[] = {
    0x80, 0x02, 'c',  't',  'o',  'r',  'c',  'h', '.',  '_',  'u',  't',  'i',  'l',  's',  '\n',
    '_',  'r',  'e',  'b',  'u',  'i',  'l',  'd', '_',  't',  'e',  'n',  's',  'o',  'r',  '_',
    'v',  '2',  '\n', 'q',  0x00, '(',  '(',  'X', 0x07, 0,    0,    0,    's',  't',  'o',  'r',
    'a',  'g',  'e',  'q',  0x01, 'c',  't',  'o', 'r',  'c',  'h',  '\n', 'F',  'l',  'o',  'a',
    't',  'S',  't',  'o',  'r',  'a',  'g',  'e', '\n', 'q',  0x02, 'X',  0x01, 0,    0,    0,
    '0',  'q',  0x03, 'X',  0x03, 0,    0,    0,   'c',  'p',  'u',  'q',  0x04, 'K',  0x06, 't',
    'q',  0x05, 'Q',  'K',  0x00, 'K',  0x02, 'K', 0x03, 0x86, 'q',  0x06, 'K',  0x03, 'K',  0x01,
    0x86, 'q',  0x07, 0x89, 'c',  'c',  'o',  'l', 'l',  'e',  'c',  't',  'i',  'o',  'n',  's',
    '\n', 'O',  'r',  'd',  'e',  'r',  'e',  'd', 'D',  'i',  'c',  't',  '\n', 'q',  0x08, ')',
    'R',  'q',  0x09, 't',  'q',  0x0A, 'R',  'q', 0x0B, '.'};

static const uint8_t spec_data0[24] = {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x3F,
                                       0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x40, 0x40,
                                       0x00, 0x00, 0x80, 0x40, 0x00, 0x00, 0xA0, 0x40};

/* Build the spec example with the writer; returns malloc'd bytes. */
static uint8_t *write_spec_example(size_t *len, bool crc)
{
    ckpt_error err = {0};
    ckpt_sink *s = ckpt_sink_new_mem(NULL, &err);
    ckpt_zip_writer *w = ckpt_zip_writer_new(s, "t", 0, crc, NULL, &err);
    uint8_t *out = NULL;
    if (!w || ckpt_zip_writer_add(w, "data.pkl", spec_pickle, sizeof(spec_pickle), &err) ||
        ckpt_zip_writer_add(w, "data/0", spec_data0, sizeof(spec_data0), &err) ||
        ckpt_zip_writer_add(w, "version", "3\n", 2, &err) || ckpt_zip_writer_finish(w, &err))
        goto done;
    out = ckpt_sink_take_mem(s, len);
done:
    ckpt_zip_writer_free(w);
    ckpt_sink_free(s);
    return out;
}

/* Expected bytes, assembled from the annotation of spec 1.13 alone. */
typedef struct exp_buf {
    uint8_t b[800];
    size_t n;
} exp_buf;

static void put(exp_buf *e, const void *p, size_t n)
{
    memcpy(e->b + e->n, p, n);
    e->n += n;
}
static void put16(exp_buf *e, unsigned v)
{
    uint8_t t[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    put(e, t, 2);
}
static void put32(exp_buf *e, uint32_t v)
{
    put16(e, v & 0xFFFF);
    put16(e, v >> 16);
}
static void put64(exp_buf *e, uint64_t v)
{
    put32(e, (uint32_t)v);
    put32(e, (uint32_t)(v >> 32));
}
static void put_local(exp_buf *e, const char *name, unsigned pad)
{
    static const uint8_t fixed[] = {0x50, 0x4B, 0x03, 0x04, 0, 0, 0x08, 0x08, 0, 0, 0, 0, 0,
                                    0,    0,    0,    0,    0, 0, 0,    0,    0, 0, 0, 0, 0};
    put(e, fixed, sizeof(fixed));
    put16(e, (unsigned)strlen(name));
    put16(e, 4 + pad);
    put(e, name, strlen(name));
    put16(e, 0x4246);
    put16(e, pad);
    for (unsigned i = 0; i < pad; i++)
        put(e, "Z", 1);
}
static void put_desc(exp_buf *e, const uint8_t crc[4], uint32_t size)
{
    static const uint8_t sig[] = {0x50, 0x4B, 0x07, 0x08};
    put(e, sig, 4);
    put(e, crc, 4);
    put32(e, size);
    put32(e, size);
}
static void put_central(exp_buf *e, const char *name, const uint8_t crc[4], uint32_t size,
                        uint32_t off)
{
    static const uint8_t fixed[] = {0x50, 0x4B, 0x01, 0x02, 0, 0, 0, 0,
                                    0x08, 0x08, 0,    0,    0, 0, 0, 0};
    put(e, fixed, sizeof(fixed));
    put(e, crc, 4);
    put32(e, size);
    put32(e, size);
    put16(e, (unsigned)strlen(name));
    put16(e, 0); /* extra */
    put16(e, 0); /* comment */
    put16(e, 0); /* disk */
    put16(e, 0); /* internal attributes */
    put32(e, 0); /* external attributes */
    put32(e, off);
    put(e, name, strlen(name));
}

static const uint8_t crc_pkl[4] = {0xC7, 0x73, 0x53, 0x27};
static const uint8_t crc_d0[4] = {0x17, 0x90, 0xE7, 0x91};
static const uint8_t crc_ver[4] = {0xD1, 0x9E, 0x67, 0x55};

TEST(test_zip_zip_write__spec_example)
{
    exp_buf e = {{0}, 0};
    put_local(&e, "t/data.pkl", 20);
    CHECK_EQ_INT(e.n, 0x40);
    put(&e, spec_pickle, sizeof(spec_pickle));
    CHECK_EQ_INT(e.n, 0xDA);
    put_desc(&e, crc_pkl, 154);
    CHECK_EQ_INT(e.n, 0xEA);
    put_local(&e, "t/data/0", 44);
    CHECK_EQ_INT(e.n, 0x140);
    put(&e, spec_data0, 24);
    put_desc(&e, crc_d0, 24);
    CHECK_EQ_INT(e.n, 0x168);
    put_local(&e, "t/version", 45);
    CHECK_EQ_INT(e.n, 0x1C0);
    put(&e, "3\n", 2);
    put_desc(&e, crc_ver, 2);
    CHECK_EQ_INT(e.n, 0x1D2);
    put_central(&e, "t/data.pkl", crc_pkl, 154, 0);
    put_central(&e, "t/data/0", crc_d0, 24, 0xEA);
    put_central(&e, "t/version", crc_ver, 2, 0x168);
    CHECK_EQ_INT(e.n, 0x277);
    put32(&e, 0x06064b50);
    put64(&e, 44);
    put16(&e, 0x031E);
    put16(&e, 45);
    put32(&e, 0);
    put32(&e, 0);
    put64(&e, 3);
    put64(&e, 3);
    put64(&e, 0xA5);
    put64(&e, 0x1D2);
    CHECK_EQ_INT(e.n, 0x2AF);
    put32(&e, 0x07064b50);
    put32(&e, 0);
    put64(&e, 0x277);
    put32(&e, 1);
    CHECK_EQ_INT(e.n, 0x2C3);
    put32(&e, 0x06054b50);
    put16(&e, 0);
    put16(&e, 0);
    put16(&e, 3);
    put16(&e, 3);
    put32(&e, 0xA5);
    put32(&e, 0x1D2);
    put16(&e, 0);
    CHECK_EQ_INT(e.n, 729);

    size_t len = 0;
    uint8_t *got = write_spec_example(&len, true);
    CHECK(got != NULL);
    CHECK_EQ_INT(len, 729);
    size_t diff = 0;
    while (diff < len && got[diff] == e.b[diff])
        diff++;
    free(got);
    CHECK_EQ_INT(diff, 729);
}

TEST(test_zip_zip_write__crc_values)
{
    CHECK_EQ_INT(ckpt_crc32(0, spec_pickle, sizeof(spec_pickle)), ckpt_rd_u32le(crc_pkl));
    CHECK_EQ_INT(ckpt_crc32(0, spec_data0, 24), ckpt_rd_u32le(crc_d0));
    CHECK_EQ_INT(ckpt_crc32(0, "3\n", 2), ckpt_rd_u32le(crc_ver));
    /* continuing a CRC over pieces equals one pass */
    uint32_t c = ckpt_crc32(0, spec_pickle, 100);
    c = ckpt_crc32(c, spec_pickle + 100, sizeof(spec_pickle) - 100);
    CHECK_EQ_INT(c, ckpt_rd_u32le(crc_pkl));
    CHECK_EQ_INT(ckpt_crc32(0, NULL, 0), 0);
}

TEST(test_zip_zip_write__crc_off)
{
    size_t len = 0;
    uint8_t *got = write_spec_example(&len, false);
    CHECK(got != NULL);
    CHECK_EQ_INT(len, 729);
    /* descriptors and central entries carry CRC 0 */
    uint32_t d1 = ckpt_rd_u32le(got + 0xDA + 4), d2 = ckpt_rd_u32le(got + 0x158 + 4);
    uint32_t c1 = ckpt_rd_u32le(got + 0x1D2 + 16);
    free(got);
    CHECK_EQ_INT(d1, 0);
    CHECK_EQ_INT(d2, 0);
    CHECK_EQ_INT(c1, 0);
}

TEST(test_zip_zip_write__layout_small)
{
    ckpt_zip__layout l;
    CHECK_EQ_INT(ckpt_zip__layout_of(&l, 0, 154, 10, 64), 0);
    CHECK_EQ_INT(l.pad, 20);
    CHECK_EQ_INT(l.extra_len, 24);
    CHECK_EQ_INT(l.data_offset, 64);
    CHECK_EQ_INT(l.z64_len, 0);
    CHECK_EQ_INT(l.desc_len, 16);
    CHECK_EQ_INT(l.flags, 0x0808);
    CHECK_EQ_INT(l.end, 64 + 154 + 16);
    /* empty record: no descriptor, flags 0x0800 */
    CHECK_EQ_INT(ckpt_zip__layout_of(&l, 0x100, 0, 8, 64), 0);
    CHECK_EQ_INT(l.flags, 0x0800);
    CHECK_EQ_INT(l.desc_len, 0);
    CHECK_EQ_INT(l.data_offset % 64, 0);
    CHECK_EQ_INT(l.end, l.data_offset);
    /* pad 0 still writes the 4-byte FB field */
    CHECK_EQ_INT(ckpt_zip__layout_of(&l, 64 - 30 - 10 - 4, 1, 10, 64), 0);
    CHECK_EQ_INT(l.pad, 0);
    CHECK_EQ_INT(l.extra_len, 4);
    /* other alignments */
    CHECK_EQ_INT(ckpt_zip__layout_of(&l, 0, 1, 10, 4096), 0);
    CHECK_EQ_INT(l.data_offset, 4096);
    CHECK_EQ_INT(ckpt_zip__layout_of(&l, 0, 1, 10, 1), 0);
    CHECK_EQ_INT(l.pad, 0);
    CHECK(ckpt_zip__layout_of(&l, 0, 1, 70000, 64) != 0);
    CHECK(ckpt_zip__layout_of(&l, 0, 1, 10, 0) != 0);
    CHECK(ckpt_zip__layout_of(&l, UINT64_MAX - 10, 1, 10, 64) != 0);
}

/* spec 1.4 worked value: a 4294967360-byte record at 0x137 named big/data/0. */
TEST(test_zip_zip_write__layout_big_record)
{
    ckpt_zip__layout l;
    uint64_t size = 4294967360ull;
    CHECK_EQ_INT(ckpt_zip__layout_of(&l, 0x137, size, 10, 64), 0);
    CHECK_EQ_INT(l.pad, 9);
    CHECK_EQ_INT(l.z64_len, 20);
    CHECK_EQ_INT(l.extra_len, 20 + 4 + 9);
    CHECK_EQ_INT(l.data_offset, 375 + 9);
    CHECK_EQ_INT(l.desc_len, 24);
    CHECK_EQ_INT(l.end, 384 + size + 24);

    uint8_t h[256];
    size_t n = ckpt_zip__put_local(h, &l, "big", 3, "data/0", 6);
    CHECK_EQ_INT(n, ckpt_zip__local_len(&l));
    CHECK_EQ_INT(0x137 + n, l.data_offset);
    CHECK_EQ_INT(ckpt_rd_u32le(h), 0x04034b50);
    CHECK_EQ_INT(ckpt_rd_u16le(h + 4), 0);      /* version needed */
    CHECK_EQ_INT(ckpt_rd_u16le(h + 6), 0x0808); /* flags */
    CHECK_EQ_INT(ckpt_rd_u32le(h + 18), 0);     /* sizes stay 0 in the local header */
    CHECK_EQ_INT(ckpt_rd_u32le(h + 22), 0);
    CHECK_EQ_INT(ckpt_rd_u16le(h + 26), 10);
    CHECK_EQ_INT(ckpt_rd_u16le(h + 28), 33);
    CHECK(memcmp(h + 30, "big/data/0", 10) == 0);
    const uint8_t *x = h + 40;
    CHECK_EQ_INT(ckpt_rd_u16le(x), 1);
    CHECK_EQ_INT(ckpt_rd_u16le(x + 2), 16);
    CHECK_EQ_INT(ckpt_rd_u64le(x + 4), size);
    CHECK_EQ_INT(ckpt_rd_u64le(x + 12), 0); /* compressed size: miniz writes 0 */
    CHECK_EQ_INT(ckpt_rd_u16le(x + 20), 0x4246);
    CHECK_EQ_INT(ckpt_rd_u16le(x + 22), 9);
    for (int i = 0; i < 9; i++)
        CHECK_EQ_INT(x[24 + i], 'Z');

    uint8_t d[24];
    CHECK_EQ_INT(ckpt_zip__put_desc(d, &l, 0x12345678), 24);
    CHECK_EQ_INT(ckpt_rd_u32le(d), 0x08074b50);
    CHECK_EQ_INT(ckpt_rd_u32le(d + 4), 0x12345678);
    CHECK_EQ_INT(ckpt_rd_u64le(d + 8), size);
    CHECK_EQ_INT(ckpt_rd_u64le(d + 16), size);

    /* central entry: sizes saturated, real ones in the zip64 field, offset small */
    uint8_t c[128];
    size_t cn = ckpt_zip__put_central(c, "big", 3, "data/0", 6, 0x137, size, 0xABCD, 0x0808);
    CHECK_EQ_INT(cn, ckpt_zip__central_len(10, 0x137, size));
    CHECK_EQ_INT(cn, 46 + 10 + 20);
    CHECK_EQ_INT(ckpt_rd_u32le(c + 20), 0xFFFFFFFF);
    CHECK_EQ_INT(ckpt_rd_u32le(c + 24), 0xFFFFFFFF);
    CHECK_EQ_INT(ckpt_rd_u16le(c + 30), 20);
    CHECK_EQ_INT(ckpt_rd_u32le(c + 42), 0x137);
    CHECK_EQ_INT(ckpt_rd_u16le(c + 56), 1);
    CHECK_EQ_INT(ckpt_rd_u16le(c + 58), 16);
    CHECK_EQ_INT(ckpt_rd_u64le(c + 60), size);
    CHECK_EQ_INT(ckpt_rd_u64le(c + 68), size);
}

/* spec 1.4 worked value: an 8-byte record at 0x1000001D8. */
TEST(test_zip_zip_write__layout_big_offset)
{
    ckpt_zip__layout l;
    uint64_t cur = 0x1000001D8ull;
    CHECK_EQ_INT(ckpt_zip__layout_of(&l, cur, 8, 10, 64), 0);
    CHECK_EQ_INT(l.pad, 48);
    CHECK_EQ_INT(l.z64_len, 12);
    CHECK_EQ_INT(l.extra_len, 12 + 4 + 48);
    CHECK_EQ_INT(l.data_offset, cur + 30 + 10 + 12 + 4 + 48);
    CHECK_EQ_INT(l.data_offset % 64, 0);
    CHECK_EQ_INT(l.desc_len, 24);

    uint8_t h[256];
    size_t n = ckpt_zip__put_local(h, &l, "big", 3, "data/1", 6);
    CHECK_EQ_INT(cur + n, l.data_offset);
    const uint8_t *x = h + 40;
    CHECK_EQ_INT(ckpt_rd_u16le(x), 1);
    CHECK_EQ_INT(ckpt_rd_u16le(x + 2), 8);
    CHECK_EQ_INT(ckpt_rd_u64le(x + 4), cur);
    CHECK_EQ_INT(ckpt_rd_u16le(x + 12), 0x4246);
    CHECK_EQ_INT(ckpt_rd_u16le(x + 14), 48);

    uint8_t d[24];
    CHECK_EQ_INT(ckpt_zip__put_desc(d, &l, 7), 24);
    CHECK_EQ_INT(ckpt_rd_u64le(d + 8), 8);

    uint8_t c[128];
    size_t cn = ckpt_zip__put_central(c, "big", 3, "data/1", 6, cur, 8, 7, 0x0808);
    CHECK_EQ_INT(cn, 46 + 10 + 12);
    CHECK_EQ_INT(ckpt_rd_u32le(c + 20), 8);
    CHECK_EQ_INT(ckpt_rd_u32le(c + 42), 0xFFFFFFFF);
    CHECK_EQ_INT(ckpt_rd_u16le(c + 58), 8);
    CHECK_EQ_INT(ckpt_rd_u64le(c + 60), cur);

    /* both large: (size, 0) then offset in the local field */
    CHECK_EQ_INT(ckpt_zip__layout_of(&l, cur, 0x100000000ull, 10, 64), 0);
    CHECK_EQ_INT(l.z64_len, 28);
    n = ckpt_zip__put_local(h, &l, "big", 3, "data/2", 6);
    CHECK_EQ_INT(ckpt_rd_u16le(x + 2), 24);
    CHECK_EQ_INT(ckpt_rd_u64le(x + 4), 0x100000000ull);
    CHECK_EQ_INT(ckpt_rd_u64le(x + 12), 0);
    CHECK_EQ_INT(ckpt_rd_u64le(x + 20), cur);
    CHECK_EQ_INT((cur + n) % 64, 0);
    cn = ckpt_zip__put_central(c, "big", 3, "data/2", 6, cur, 0x100000000ull, 7, 0x0808);
    CHECK_EQ_INT(cn, 46 + 10 + 28);
    CHECK_EQ_INT(ckpt_rd_u64le(c + 60), 0x100000000ull);
    CHECK_EQ_INT(ckpt_rd_u64le(c + 68), 0x100000000ull);
    CHECK_EQ_INT(ckpt_rd_u64le(c + 76), cur);
}

/* ">=" in spec 1.7: exactly 0xFFFFFFFF counts as large. */
TEST(test_zip_zip_write__layout_thresholds)
{
    ckpt_zip__layout l;
    CHECK_EQ_INT(ckpt_zip__layout_of(&l, 0, 0xFFFFFFFEull, 10, 64), 0);
    CHECK_EQ_INT(l.z64_len, 0);
    CHECK_EQ_INT(l.desc_len, 16);
    CHECK_EQ_INT(ckpt_zip__layout_of(&l, 0, 0xFFFFFFFFull, 10, 64), 0);
    CHECK_EQ_INT(l.z64_len, 20);
    CHECK_EQ_INT(l.desc_len, 24);
    CHECK_EQ_INT(ckpt_zip__layout_of(&l, 0xFFFFFFFEull, 1, 10, 64), 0);
    CHECK_EQ_INT(l.z64_len, 0);
    CHECK_EQ_INT(ckpt_zip__layout_of(&l, 0xFFFFFFFFull, 1, 10, 64), 0);
    CHECK_EQ_INT(l.z64_len, 12);
    CHECK_EQ_INT(l.desc_len, 24);
    /* an empty record past 4 GiB: zip64 field, still no descriptor */
    CHECK_EQ_INT(ckpt_zip__layout_of(&l, 0x100000000ull, 0, 10, 64), 0);
    CHECK_EQ_INT(l.z64_len, 12);
    CHECK_EQ_INT(l.desc_len, 0);
    CHECK_EQ_INT(l.flags, 0x0800);
}

TEST(test_zip_zip_write__end_records_saturate)
{
    uint8_t e[CKPT_ZIP_END_LEN];
    CHECK_EQ_INT(ckpt_zip__put_end(e, 70000, 0x123456789ull, 0x100000000ull), 98);
    CHECK_EQ_INT(ckpt_rd_u64le(e + 32), 70000);
    CHECK_EQ_INT(ckpt_rd_u64le(e + 40), 0x100000000ull);
    CHECK_EQ_INT(ckpt_rd_u64le(e + 48), 0x123456789ull);
    CHECK_EQ_INT(ckpt_rd_u64le(e + 56 + 8), 0x123456789ull + 0x100000000ull);
    const uint8_t *c = e + 76;
    CHECK_EQ_INT(ckpt_rd_u32le(c), 0x06054b50);
    CHECK_EQ_INT(ckpt_rd_u16le(c + 8), 0xFFFF);
    CHECK_EQ_INT(ckpt_rd_u16le(c + 10), 0xFFFF);
    CHECK_EQ_INT(ckpt_rd_u32le(c + 12), 0xFFFFFFFF);
    CHECK_EQ_INT(ckpt_rd_u32le(c + 16), 0xFFFFFFFF);
    /* just below the limits the real values are written */
    ckpt_zip__put_end(e, 65534, 0xFFFFFFFEull, 0);
    CHECK_EQ_INT(ckpt_rd_u16le(c + 8), 65534);
    CHECK_EQ_INT(ckpt_rd_u32le(c + 16), 0xFFFFFFFE);
    ckpt_zip__put_end(e, 65535, 0xFFFFFFFFull, 0);
    CHECK_EQ_INT(ckpt_rd_u16le(c + 8), 0xFFFF);
    CHECK_EQ_INT(ckpt_rd_u32le(c + 16), 0xFFFFFFFF);
}

/* Write `n` records (every 7th empty, sizes varying) and read them back. */
static void roundtrip(size_t n, const char *prefix)
{
    ckpt_error err = {0};
    ckpt_sink *s = ckpt_sink_new_mem(NULL, &err);
    CHECK(s != NULL);
    ckpt_zip_writer *w = ckpt_zip_writer_new(s, prefix, 64, true, NULL, &err);
    CHECK(w != NULL);
    uint8_t data[300];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 31 + 7);
    char name[64];
    for (size_t i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "data/%zu", i);
        size_t len = i % 7 == 0 ? 0 : (i * 13) % sizeof(data);
        CHECK_OK(ckpt_zip_writer_add(w, name, data, len, &err), &err);
    }
    CHECK_OK(ckpt_zip_writer_finish(w, &err), &err);
    ckpt_zip_writer_free(w);
    size_t len = 0;
    uint8_t *buf = ckpt_sink_take_mem(s, &len);
    ckpt_sink_free(s);
    CHECK(buf != NULL);

    ckpt_source src;
    ckpt_source_init_mem(&src, buf, len, "roundtrip");
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &err);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    if (n >= 10000)
        printf("  open of %zu entries: %.1f ms\n", n, ms);
    if (!z)
        free(buf);
    CHECK_OK(z ? 0 : -1, &err);
    CHECK_EQ_INT(ckpt_zip_count(z), n);
    CHECK_STR(ckpt_zip_prefix(z), prefix);
    int bad = 0;
    uint8_t got[300];
    for (size_t i = 0; i < n && !bad; i++) {
        snprintf(name, sizeof(name), "data/%zu", i);
        size_t want = i % 7 == 0 ? 0 : (i * 13) % sizeof(data);
        const ckpt_zip_entry *e = ckpt_zip_find(z, name);
        if (!e || e != ckpt_zip_entry_at(z, i) || e->size != want || e->data_offset % 64 != 0 ||
            strcmp(e->record, name) != 0 || e->flags != (want ? 0x0808 : 0x0800))
            bad = 1;
        else if (ckpt_zip_read(z, e, got, sizeof(got), true, &err) != 0 ||
                 memcmp(got, data, want) != 0 || ckpt_zip_data_ptr(z, e) != buf + e->data_offset)
            bad = 2;
    }
    const ckpt_zip_entry *missing = ckpt_zip_find(z, "data/x");
    ckpt_zip_close(z);
    free(buf);
    CHECK_EQ_INT(bad, 0);
    CHECK(missing == NULL);
    CHECK(ms < 1000.0); /* the 50 ms target is for optimised builds; see the bench */
}

TEST(test_zip_zip_write__roundtrip_small)
{
    roundtrip(1, "a");
    roundtrip(20, "archive");
    roundtrip(300, "model.with.dots");
}

TEST(test_zip_zip_write__roundtrip_65536)
{
    roundtrip(65536, "m"); /* classic end record saturated: the ZIP64 one must be used */
}

TEST(test_zip_zip_write__roundtrip_100000)
{
    roundtrip(100000, "big");
}

TEST(test_zip_zip_write__addv_pieces)
{
    ckpt_error err = {0};
    ckpt_sink *s = ckpt_sink_new_mem(NULL, &err);
    ckpt_zip_writer *w = ckpt_zip_writer_new(s, "t", 0, true, NULL, &err);
    CHECK(w != NULL);
    const void *pieces[3] = {spec_pickle, spec_pickle + 50, NULL};
    uint64_t lens[3] = {50, sizeof(spec_pickle) - 50, 0};
    CHECK_OK(ckpt_zip_writer_addv(w, "data.pkl", pieces, lens, 3, &err), &err);
    CHECK_OK(ckpt_zip_writer_addv(w, "data/0", (const void *const[]){spec_data0},
                                  (const uint64_t[]){24}, 1, &err),
             &err);
    CHECK_OK(ckpt_zip_writer_addv(w, "version", (const void *const[]){"3", "\n"},
                                  (const uint64_t[]){1, 1}, 2, &err),
             &err);
    CHECK_OK(ckpt_zip_writer_finish(w, &err), &err);
    ckpt_zip_writer_free(w);
    size_t len;
    uint8_t *a = ckpt_sink_take_mem(s, &len);
    ckpt_sink_free(s);
    size_t len2;
    uint8_t *b = write_spec_example(&len2, true);
    int same = a && b && len == len2 && memcmp(a, b, len) == 0;
    free(a);
    free(b);
    CHECK(same);
}

TEST(test_zip_zip_write__empty_archive_and_empty_record)
{
    ckpt_error err = {0};
    ckpt_sink *s = ckpt_sink_new_mem(NULL, &err);
    ckpt_zip_writer *w = ckpt_zip_writer_new(s, "e", 0, true, NULL, &err);
    CHECK(w != NULL);
    CHECK_OK(ckpt_zip_writer_add(w, "data/0", NULL, 0, &err), &err);
    CHECK_OK(ckpt_zip_writer_finish(w, &err), &err);
    ckpt_zip_writer_free(w);
    size_t len;
    uint8_t *a = ckpt_sink_take_mem(s, &len);
    ckpt_sink_free(s);
    CHECK(a != NULL);
    /* local header: flags 0x0800, data at 64, then directly the central directory */
    uint16_t flags = ckpt_rd_u16le(a + 6);
    uint32_t c_off = ckpt_rd_u32le(a + len - 22 + 16);
    free(a);
    CHECK_EQ_INT(flags, 0x0800);
    CHECK_EQ_INT(c_off, 64);
    CHECK_EQ_INT(len, 64 + 46 + 8 + 98);

    s = ckpt_sink_new_mem(NULL, &err);
    w = ckpt_zip_writer_new(s, "e", 0, true, NULL, &err);
    CHECK_OK(ckpt_zip_writer_finish(w, &err), &err);
    ckpt_zip_writer_free(w);
    a = ckpt_sink_take_mem(s, &len);
    ckpt_sink_free(s);
    free(a);
    CHECK_EQ_INT(len, 98);
}

TEST(test_zip_zip_write__bad_arguments)
{
    ckpt_error err = {0};
    ckpt_sink *s = ckpt_sink_new_mem(NULL, &err);
    CHECK(ckpt_zip_writer_new(s, "", 0, true, NULL, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    ckpt_error_clear(&err);
    CHECK(ckpt_zip_writer_new(s, "a/b", 0, true, NULL, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    ckpt_error_clear(&err);
    CHECK(ckpt_zip_writer_new(s, "a", 65536, true, NULL, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    ckpt_error_clear(&err);
    CHECK(ckpt_zip_writer_new(NULL, "a", 0, true, NULL, &err) == NULL);
    ckpt_error_clear(&err);
    ckpt_zip_writer *w = ckpt_zip_writer_new(s, "a", 0, true, NULL, &err);
    CHECK(w != NULL);
    char *longname = malloc(70000);
    CHECK(longname != NULL);
    memset(longname, 'n', 69999);
    longname[69999] = '\0';
    int rc = ckpt_zip_writer_add(w, longname, "x", 1, &err);
    free(longname);
    CHECK_EQ_INT(rc, CKPT_E_ARG);
    ckpt_error_clear(&err);
    /* an argument error leaves the writer usable */
    CHECK_OK(ckpt_zip_writer_add(w, "ok", "x", 1, &err), &err);
    CHECK_EQ_INT(ckpt_zip_writer_add(w, NULL, "x", 1, &err), CKPT_E_ARG);
    ckpt_error_clear(&err);
    CHECK_OK(ckpt_zip_writer_finish(w, &err), &err);
    CHECK_EQ_INT(ckpt_zip_writer_add(w, "late", "x", 1, &err), CKPT_E_ARG);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_zip_writer_finish(w, &err), CKPT_E_ARG);
    ckpt_zip_writer_free(w);
    ckpt_zip_writer_free(NULL);
    ckpt_sink_free(s);
}

/* Fail allocation N = 1, 2, ... : clean NOMEM, nothing leaked, then success. */
TEST(test_zip_zip_write__oom_sweep)
{
    size_t ref_len = 0;
    uint8_t *ref = write_spec_example(&ref_len, true);
    CHECK(ref != NULL);
    int done = 0;
    for (long k = 1; k < 200 && !done; k++) {
        test_failing_alloc fa;
        test_failing_alloc_init(&fa, k);
        ckpt_error err = {0};
        ckpt_sink *s = ckpt_sink_new_mem(NULL, &err); /* the sink is not under test */
        ckpt_zip_writer *w = ckpt_zip_writer_new(s, "t", 0, true, &fa.a, &err);
        int rc = w ? 0 : err.code;
        if (rc == 0)
            rc = ckpt_zip_writer_add(w, "data.pkl", spec_pickle, sizeof(spec_pickle), &err);
        if (rc == 0)
            rc = ckpt_zip_writer_add(w, "data/0", spec_data0, 24, &err);
        if (rc == 0)
            rc = ckpt_zip_writer_add(w, "version", "3\n", 2, &err);
        if (rc == 0)
            rc = ckpt_zip_writer_finish(w, &err);
        ckpt_zip_writer_free(w);
        size_t len;
        uint8_t *out = ckpt_sink_take_mem(s, &len);
        ckpt_sink_free(s);
        if (rc == 0) {
            done = 1;
            CHECK(len == ref_len && memcmp(out, ref, len) == 0);
        } else {
            CHECK_EQ_INT(rc, CKPT_E_NOMEM);
        }
        free(out);
        CHECK_EQ_INT(fa.live, 0);
    }
    free(ref);
    CHECK(done);
}

/* Through a file descriptor sink, read back through a file source. */
TEST(test_zip_zip_write__fd_sink_and_file_source)
{
    char path[] = "/tmp/ckpt_zip_write_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    ckpt_error err = {0};
    ckpt_sink *s = ckpt_sink_new_fd(fd, path, NULL, &err);
    ckpt_zip_writer *w = ckpt_zip_writer_new(s, "t", 0, true, NULL, &err);
    /* one record larger than the sink buffer goes straight from our buffer */
    size_t big_n = 3u << 20;
    uint8_t *big = malloc(big_n);
    CHECK(big != NULL);
    for (size_t i = 0; i < big_n; i++)
        big[i] = (uint8_t)(i ^ (i >> 8));
    int rc = ckpt_zip_writer_add(w, "data.pkl", spec_pickle, sizeof(spec_pickle), &err);
    if (rc == 0)
        rc = ckpt_zip_writer_add(w, "data/0", big, big_n, &err);
    if (rc == 0)
        rc = ckpt_zip_writer_add(w, "version", "3\n", 2, &err);
    if (rc == 0)
        rc = ckpt_zip_writer_finish(w, &err);
    ckpt_zip_writer_free(w);
    ckpt_sink_free(s);
    close(fd);
    if (rc != 0) {
        free(big);
        unlink(path);
    }
    CHECK_OK(rc, &err);
    for (int map = 0; map < 2; map++) {
        ckpt_source src;
        CHECK_OK(ckpt_source_open_file(&src, path, map != 0, &err), &err);
        ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, &err);
        const ckpt_zip_entry *e = z ? ckpt_zip_find(z, "data/0") : NULL;
        uint8_t *got = malloc(big_n);
        uint32_t crc = 0;
        int ok = e && got && ckpt_zip_read(z, e, got, big_n, true, &err) == 0 &&
                 memcmp(got, big, big_n) == 0 && ckpt_zip_entry_crc(z, e, &crc, &err) == 0 &&
                 crc == e->crc32 && (ckpt_zip_data_ptr(z, e) != NULL) == (map != 0);
        free(got);
        ckpt_zip_close(z);
        ckpt_source_close(&src);
        if (!ok) {
            free(big);
            unlink(path);
        }
        CHECK(ok);
    }
    free(big);
    unlink(path);
}

TEST_MAIN()
