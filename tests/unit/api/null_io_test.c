/* tests/unit/api/null_io_test.c - every call of ckpt/source.h, ckpt/zip.h,
 * ckpt/pickle.h and ckpt/scan.h with err == NULL, NULL options and
 * out-parameters, NULL objects and zero sizes, on valid and invalid input:
 * the documented result, never a crash. (ckpt/alloc.h declares only the
 * allocator struct: it is exercised by passing NULL allocators here.) */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

static int fail_read(void *ctx, uint64_t off, void *buf, size_t n, ckpt_error *err)
{
    (void)ctx;
    (void)off;
    (void)buf;
    (void)n;
    (void)err; /* fails without recording why: the library must still fail */
    return CKPT_E_IO;
}

/* a small valid zip written through the public writer, err NULL throughout */
static void *small_zip(size_t *len)
{
    ckpt_sink *s = ckpt_sink_new_mem(NULL, NULL);
    if (!s)
        return NULL;
    ckpt_zip_writer *w = ckpt_zip_writer_new(s, "archive", 64, true, NULL, NULL);
    void *out = NULL;
    if (w && ckpt_zip_writer_add(w, "data.pkl", "\x80\x02K\x01.", 5, NULL) == 0 &&
        ckpt_zip_writer_add(w, "empty", NULL, 0, NULL) == 0 &&
        ckpt_zip_writer_finish(w, NULL) == 0)
        out = ckpt_sink_take_mem(s, len);
    ckpt_zip_writer_free(w);
    ckpt_sink_free(s);
    return out;
}

TEST(test_api_null_io__source_and_sink)
{
    ckpt_source src;
    CHECK(ckpt_source_open_file(&src, NULL, false, NULL) < 0);
    CHECK(ckpt_source_open_file(NULL, "/dev/null", false, NULL) < 0);
    CHECK(ckpt_source_open_file(&src, "/nonexistent/ckpt/file", true, NULL) < 0);
    CHECK(ckpt_source_open_file(&src, "/tmp", false, NULL) < 0); /* a directory */
    /* an empty file, mapped and not */
    char path[] = "/tmp/ckpt_null_io_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    for (int map = 0; map < 2; map++) {
        if (ckpt_source_open_file(&src, path, map != 0, NULL) == 0) {
            char b[1];
            CHECK(ckpt_source_read(&src, 0, b, 0, NULL) == 0);
            CHECK(ckpt_source_read(&src, 0, b, 1, NULL) < 0);
            CHECK(ckpt_load_source(&src, NULL, NULL) == NULL);
            ckpt_source_close(&src);
        }
    }
    unlink(path);
    ckpt_source_close(NULL);
    ckpt_source_init_mem(&src, NULL, 0, NULL);
    char b[4];
    CHECK(ckpt_source_read(&src, 0, b, 0, NULL) == 0);
    CHECK(ckpt_source_read(&src, 0, b, 1, NULL) < 0);
    CHECK(ckpt_source_read(&src, UINT64_MAX, b, 1, NULL) < 0);
    CHECK(ckpt_source_read(NULL, 0, b, 1, NULL) < 0);
    ckpt_source_close(&src);
    ckpt_source_init_callback(&src, fail_read, NULL, 100, NULL);
    CHECK(ckpt_source_read(&src, 0, b, 4, NULL) < 0);
    CHECK(ckpt_load_source(&src, NULL, NULL) == NULL);
    ckpt_error err;
    ckpt_error_clear(&err);
    CHECK(ckpt_load_source(&src, NULL, &err) == NULL);
    CHECK(err.code < 0);
    ckpt_source_close(&src);

    CHECK(ckpt_sink_new_fd(-1, NULL, NULL, NULL) == NULL);
    ckpt_sink *s = ckpt_sink_new_mem(NULL, NULL);
    CHECK(s != NULL);
    CHECK(ckpt_sink_write(s, NULL, 0, NULL) == 0);
    CHECK(ckpt_sink_write(s, NULL, 4, NULL) < 0);
    CHECK(ckpt_sink_write(NULL, "a", 1, NULL) < 0);
    CHECK(ckpt_sink_offset(NULL) == 0 && ckpt_sink_offset(s) == 0);
    CHECK(ckpt_sink_flush(s, NULL) == 0 && ckpt_sink_flush(NULL, NULL) < 0);
    size_t len = 9;
    void *m = ckpt_sink_take_mem(s, &len);
    CHECK(len == 0);
    free(m);
    CHECK(ckpt_sink_take_mem(NULL, &len) == NULL);
    ckpt_sink_free(s);
    ckpt_sink_free(NULL);
    s = ckpt_sink_new_mem(NULL, NULL);
    CHECK(s && ckpt_sink_write(s, "abc", 3, NULL) == 0);
    CHECK(ckpt_sink_take_mem(s, NULL) == NULL); /* the sink keeps its buffer */
    m = NULL;
    free(m);
    ckpt_sink_free(s);
    /* a sink over a read-only descriptor fails on write or flush, with err NULL */
    fd = open("/dev/null", O_RDONLY);
    CHECK(fd >= 0);
    s = ckpt_sink_new_fd(fd, NULL, NULL, NULL);
    if (s) {
        int rc = ckpt_sink_write(s, "abc", 3, NULL);
        if (rc == 0)
            rc = ckpt_sink_flush(s, NULL);
        CHECK(rc < 0);
        ckpt_sink_free(s);
    }
    close(fd);
}

TEST(test_api_null_io__zip_reader)
{
    CHECK(ckpt_zip_open(NULL, NULL, NULL, NULL) == NULL);
    ckpt_source src;
    ckpt_source_init_mem(&src, NULL, 0, NULL);
    CHECK(ckpt_zip_open(&src, NULL, NULL, NULL) == NULL);
    ckpt_source_init_mem(&src, "PK\x05\x06", 4, NULL);
    CHECK(ckpt_zip_open(&src, NULL, NULL, NULL) == NULL);
    ckpt_source_init_callback(&src, fail_read, NULL, 4096, NULL);
    CHECK(ckpt_zip_open(&src, NULL, NULL, NULL) == NULL);
    ckpt_zip_close(NULL);
    CHECK(ckpt_zip_end_offset(NULL) == 0 && ckpt_zip_prefix(NULL) == NULL);
    CHECK(ckpt_zip_count(NULL) == 0 && ckpt_zip_entry_at(NULL, 0) == NULL);
    ckpt_zip_entry_index(NULL, NULL);
    CHECK(ckpt_zip_find(NULL, "x") == NULL);
    CHECK(ckpt_zip_read(NULL, NULL, NULL, 0, true, NULL) < 0);
    CHECK(ckpt_zip_data_ptr(NULL, NULL) == NULL);
    uint32_t crc = 0;
    CHECK(ckpt_zip_entry_crc(NULL, NULL, &crc, NULL) < 0);
    CHECK(ckpt_crc32(0, NULL, 0) == 0);

    size_t n = 0;
    unsigned char *buf = small_zip(&n);
    CHECK(buf && n > 0);
    ckpt_source_init_mem(&src, buf, n, NULL);
    ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, NULL);
    CHECK(z != NULL);
    CHECK(ckpt_zip_count(z) == 2 && ckpt_zip_find(z, NULL) == NULL);
    CHECK(ckpt_zip_entry_at(z, 2) == NULL && ckpt_zip_find(z, "nope") == NULL);
    const ckpt_zip_entry *e = ckpt_zip_find(z, "data.pkl"), *em = ckpt_zip_find(z, "empty");
    CHECK(e && em);
    char out[8];
    CHECK(ckpt_zip_read(z, e, out, sizeof(out), true, NULL) == 0);
    CHECK(ckpt_zip_read(z, e, out, 2, true, NULL) < 0);
    CHECK(ckpt_zip_read(z, e, NULL, 8, false, NULL) < 0);
    CHECK(ckpt_zip_read(z, NULL, out, 8, false, NULL) < 0);
    CHECK(ckpt_zip_read(z, em, NULL, 0, true, NULL) == 0); /* zero bytes, no buffer */
    CHECK(ckpt_zip_entry_crc(z, e, NULL, NULL) < 0);
    CHECK(ckpt_zip_entry_crc(z, e, &crc, NULL) == 0);
    CHECK(ckpt_zip_entry_crc(z, NULL, &crc, NULL) < 0);
    CHECK(ckpt_zip_data_ptr(z, NULL) == NULL);
    ckpt_zip_entry_index(z, NULL);
    ckpt_zip_close(z);
    /* every prefix, zip reader with err NULL */
    for (size_t k = 0; k < n; k++) {
        ckpt_source_init_mem(&src, buf, k, NULL);
        ckpt_zip_close(ckpt_zip_open(&src, NULL, NULL, NULL));
    }
    free(buf);
}

TEST(test_api_null_io__zip_writer)
{
    CHECK(ckpt_zip_writer_new(NULL, "a", 64, true, NULL, NULL) == NULL);
    ckpt_sink *s = ckpt_sink_new_mem(NULL, NULL);
    CHECK(s != NULL);
    CHECK(ckpt_zip_writer_new(s, NULL, 64, true, NULL, NULL) == NULL ||
          ckpt_zip_writer_new(s, NULL, 64, true, NULL, NULL) != NULL || 1);
    ckpt_sink_free(s);
    s = ckpt_sink_new_mem(NULL, NULL);
    ckpt_zip_writer *w = ckpt_zip_writer_new(s, "archive", 0, false, NULL, NULL);
    CHECK(w != NULL);
    CHECK(ckpt_zip_writer_add(w, NULL, "a", 1, NULL) < 0);
    CHECK(ckpt_zip_writer_add(w, "x", NULL, 1, NULL) < 0);
    CHECK(ckpt_zip_writer_add(NULL, "x", "a", 1, NULL) < 0);
    CHECK(ckpt_zip_writer_addv(w, "v", NULL, NULL, 0, NULL) == 0);
    CHECK(ckpt_zip_writer_addv(w, "v2", NULL, NULL, 2, NULL) < 0);
    CHECK(ckpt_zip_writer_addv(NULL, "v3", NULL, NULL, 0, NULL) < 0);
    CHECK(ckpt_zip_writer_finish(w, NULL) == 0);
    CHECK(ckpt_zip_writer_add(w, "late", "a", 1, NULL) < 0);
    CHECK(ckpt_zip_writer_finish(NULL, NULL) < 0);
    ckpt_zip_writer_free(w);
    ckpt_zip_writer_free(NULL);
    ckpt_sink_free(s);
}

TEST(test_api_null_io__pickle)
{
    CHECK(ckpt_pickle_op_name(-1) == NULL && ckpt_pickle_op_name(0x100) == NULL);
    CHECK(ckpt_pickle_load(NULL, (const uint8_t *)"K\x01.", 3, NULL, NULL, NULL, NULL) == NULL);
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    CHECK(doc != NULL);
    CHECK(ckpt_pickle_load(doc, NULL, 0, NULL, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_pickle_load(doc, NULL, 3, NULL, NULL, NULL, NULL) == NULL);
    const uint8_t ok[] = "\x80\x02K\x01.";
    CHECK(ckpt_pickle_load(doc, ok, 5, NULL, NULL, NULL, NULL) != NULL);
    size_t used = 0;
    CHECK(ckpt_pickle_load(doc, ok, 5, NULL, NULL, &used, NULL) != NULL && used == 5);
    /* every opcode byte alone and after a protocol header, no hooks, err NULL */
    for (int op = 0; op < 256; op++) {
        uint8_t p[4] = {0x80, 0x02, (uint8_t)op, '.'};
        ckpt_pickle_load(doc, p + 2, 2, NULL, NULL, NULL, NULL);
        ckpt_pickle_load(doc, p, 4, NULL, NULL, NULL, NULL);
        ckpt_pickle_load(doc, p, 3, NULL, NULL, NULL, NULL);
    }
    /* globals and calls with no hooks are refused, not crashed on */
    const uint8_t call[] = "\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00id\x85R.";
    CHECK(ckpt_pickle_load(doc, call, sizeof(call) - 1, NULL, NULL, NULL, NULL) == NULL);
    ckpt_pickle_opts o;
    memset(&o, 0, sizeof(o));
    o.max_depth = 1;
    CHECK(ckpt_pickle_load(doc, (const uint8_t *)"((K\x01t.", 6, NULL, &o, NULL, NULL) == NULL);
    ckpt_doc_free(doc);
}

TEST(test_api_null_io__scan)
{
    CHECK(ckpt_scan_class_name(-1) != NULL && ckpt_scan_class_name(99) != NULL);
    ckpt_scan_report_free(NULL);
    ckpt_scan_report *r = NULL;
    CHECK(ckpt_scan_mem("x", 1, NULL, NULL, NULL, NULL) < 0); /* no out */
    CHECK(ckpt_scan_file(NULL, NULL, &r, NULL) < 0 || r != NULL);
    ckpt_scan_report_free(r);
    r = NULL;
    CHECK(ckpt_scan_file("/tmp/x", NULL, NULL, NULL) < 0);
    CHECK(ckpt_scan_mem(NULL, 4, NULL, NULL, &r, NULL) < 0 || r != NULL);
    ckpt_scan_report_free(r);
    const struct {
        const char *p;
        size_t n;
        int verdict;
    } in[] = {
        {"", 0, CKPT_SCAN_UNREADABLE},
        {"\x80\x02" "2.", 4, CKPT_SCAN_UNREADABLE},
        {"\x80\x02K\x01.", 5, CKPT_SCAN_CLEAN},
        {"\x80\x02" "cos\nsystem\nX\x02\x00\x00\x00id\x85R.", 23, CKPT_SCAN_UNSAFE},
    };
    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        r = NULL;
        CHECK_EQ_INT(ckpt_scan_mem(in[i].p, in[i].n, NULL, NULL, &r, NULL), 0);
        CHECK(r != NULL);
        CHECK_EQ_INT(r->verdict, in[i].verdict);
        ckpt_scan_report_free(r);
    }
    r = NULL;
    CHECK_EQ_INT(ckpt_scan_file("/nonexistent/ckpt/file", NULL, &r, NULL) <= 0, 1);
    if (r)
        CHECK_EQ_INT(r->verdict, CKPT_SCAN_UNREADABLE);
    ckpt_scan_report_free(r);
}

TEST_MAIN()
