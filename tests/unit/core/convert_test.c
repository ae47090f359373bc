/* tests/unit/core/convert_test.c - ckpt_convert_elements against torch 1.13's own
 * `.to(dtype)`: every pair of float16, bfloat16, float32 and float64, on the inputs of
 * tests/fixtures/convert (made by tools/gen/make_convert_fixtures.py: every 16-bit
 * pattern, and for float32/float64 zeros, infinities, NaNs, subnormals, ties,
 * overflow and fixed-seed random bits), compared bit for bit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/core.h"
#include "util/test.h"

static const char *const names[] = {"float16", "bfloat16", "float32", "float64"};
static const int dtypes[] = {CKPT_F16, CKPT_BF16, CKPT_F32, CKPT_F64};

/* Check one fixture; returns the number of mismatching elements (or -1 if unreadable). */
static long check_pair(int si, int di, size_t *count)
{
    char path[256];
    snprintf(path, sizeof(path), "tests/fixtures/convert/%s_to_%s.bin", names[si], names[di]);
    size_t len = 0;
    unsigned char *buf = test_read_file(path, &len);
    if (!buf) {
        fprintf(stderr, "cannot read %s (run from the source root)\n", path);
        return -1;
    }
    size_t ss = ckpt_dtype_size(dtypes[si]), ds = ckpt_dtype_size(dtypes[di]);
    size_t n = len / (ss + ds);
    long bad = -1;
    unsigned char *out = malloc(n * ds + 1);
    if (n * (ss + ds) == len && n > 0 && out &&
        ckpt_convert_elements(out, dtypes[di], buf, dtypes[si], n) == 0) {
        bad = 0;
        const unsigned char *want = buf + n * ss;
        for (size_t i = 0; i < n; i++) {
            if (memcmp(out + i * ds, want + i * ds, ds) == 0)
                continue;
            if (bad < 5) {
                uint64_t a = 0, g = 0, w = 0;
                memcpy(&a, buf + i * ss, ss);
                memcpy(&g, out + i * ds, ds);
                memcpy(&w, want + i * ds, ds);
                fprintf(stderr,
                        "%s -> %s: input 0x%" PRIx64 ": got 0x%" PRIx64 ", torch 0x%" PRIx64 "\n",
                        names[si], names[di], a, g, w);
            }
            bad++;
        }
    }
    *count = n;
    free(out);
    free(buf);
    return bad;
}

static void check_from(int si)
{
    for (int di = 0; di < 4; di++) {
        if (di == si)
            continue;
        size_t n = 0;
        long bad = check_pair(si, di, &n);
        CHECK_EQ_INT(bad, 0);
        CHECK(n >= 1000);
    }
}

TEST(test_core_convert__from_float16)
{
    check_from(0);
}

TEST(test_core_convert__from_bfloat16)
{
    check_from(1);
}

TEST(test_core_convert__from_float32)
{
    check_from(2);
}

TEST(test_core_convert__from_float64)
{
    check_from(3);
}

TEST(test_core_convert__named_values)
{
    /* a few values spelled out, independent of the fixtures */
    float in[6] = {1.0f, 65520.0f, -0.0f, 1.00390625f, 1.01171875f, 5.9604645e-8f};
    uint16_t h[6], b[6];
    CHECK_EQ_INT(ckpt_convert_elements(h, CKPT_F16, in, CKPT_F32, 6), 0);
    CHECK_EQ_INT(h[0], 0x3C00);
    CHECK_EQ_INT(h[1], 0x7C00); /* overflow to inf */
    CHECK_EQ_INT(h[2], 0x8000);
    CHECK_EQ_INT(h[5], 0x0001); /* smallest subnormal */
    CHECK_EQ_INT(ckpt_convert_elements(b, CKPT_BF16, in, CKPT_F32, 6), 0);
    CHECK_EQ_INT(b[3], 0x3F80); /* 1 + 2^-8: tie, rounds to even (down) */
    CHECK_EQ_INT(b[4], 0x3F82); /* 1 + 3*2^-8: tie, rounds to even (up) */
    double d[2];
    CHECK_EQ_INT(ckpt_convert_elements(d, CKPT_F64, h, CKPT_F16, 2), 0);
    CHECK(d[0] == 1.0);
    CHECK_EQ_INT(ckpt_convert_elements(d, CKPT_F64, in, CKPT_I32, 1), CKPT_E_UNSUPPORTED);
    CHECK_EQ_INT(ckpt_convert_elements(NULL, CKPT_F64, in, CKPT_F32, 1), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_convert_elements(NULL, CKPT_F64, NULL, CKPT_F32, 0), 0);
}

TEST_MAIN()
