/* tests/unit/api/null_source_test.c - every call of ckpt/source.h (sources and sinks) with
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

TEST(test_api_null_source__source_and_sink)
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

TEST_MAIN()
