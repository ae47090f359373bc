/* tests/unit/formats/npy_test.c - .npy / .npz (ckpt/formats.h) on hostile and
 * hand-made input that needs no Python: truncated data, shape overflow,
 * object and unknown dtypes, bad headers, byte order, Fortran order, and
 * save/load round trips.  numpy itself is the oracle in interop_numpy_oracle. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

/* A version-1.0 .npy image: header dict `dict`, padded as numpy pads, then `data`. */
static size_t make_npy(uint8_t *out, size_t cap, const char *dict, const void *data, size_t n)
{
    size_t dl = strlen(dict);
    size_t total = 10 + dl + 1;
    total = (total + 63) / 64 * 64;
    if (total + n > cap)
        return 0;
    memcpy(out, "\x93NUMPY\x01\x00", 8);
    size_t hl = total - 10;
    out[8] = (uint8_t)hl;
    out[9] = (uint8_t)(hl >> 8);
    memset(out + 10, ' ', hl);
    memcpy(out + 10, dict, dl);
    out[total - 1] = '\n';
    if (n)
        memcpy(out + total, data, n);
    return total + n;
}

/* Load `n` bytes; expect failure with `code`; the same with err == NULL. */
static int load_fails(const uint8_t *b, size_t n, int code, const char *needle)
{
    ckpt_error err;
    ckpt_doc *d = ckpt_numpy_load_mem(b, n, "t.npy", NULL, &err);
    if (d) {
        ckpt_doc_free(d);
        fprintf(stderr, "loaded, expected %s\n", ckpt_status_name(code));
        return 0;
    }
    char buf[512];
    ckpt_error_format(&err, buf, sizeof(buf));
    if (err.code != code || (needle && !strstr(buf, needle))) {
        fprintf(stderr, "got: %s\n", buf);
        return 0;
    }
    if (strcmp(err.file, "t.npy") != 0)
        return 0;
    d = ckpt_numpy_load_mem(b, n, "t.npy", NULL, NULL);
    if (d) {
        ckpt_doc_free(d);
        return 0;
    }
    return 1;
}

TEST(test_formats_npy__truncated_data)
{
    uint8_t b[512];
    float v[10] = {0};
    size_t n = make_npy(b, sizeof(b),
                        "{'descr': '<f4', 'fortran_order': False, 'shape': (10,), }", v,
                        sizeof(v));
    CHECK(n > 0);
    CHECK(load_fails(b, n - 1, CKPT_E_FORMAT, "truncated"));
    CHECK(load_fails(b, 64, CKPT_E_FORMAT, "truncated"));
    CHECK(load_fails(b, 30, CKPT_E_FORMAT, NULL)); /* header itself cut */
    CHECK(load_fails(b, 9, CKPT_E_FORMAT, NULL));
    ckpt_doc *d = ckpt_numpy_load_mem(b, n, "t.npy", NULL, NULL);
    CHECK(d != NULL);
    ckpt_doc_free(d);
}

TEST(test_formats_npy__shape_overflow)
{
    uint8_t b[512];
    size_t n = make_npy(
        b, sizeof(b),
        "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", NULL, 0);
    CHECK(load_fails(b, n, CKPT_E_LIMIT, "overflow"));
    /* a zero dim does not hide the overflow of the others (numpy's rule) */
    n = make_npy(b, sizeof(b),
                 "{'descr': '<f8', 'fortran_order': True, 'shape': (0, 4611686018427387904, "
                 "4611686018427387904), }",
                 NULL, 0);
    CHECK(load_fails(b, n, CKPT_E_LIMIT, "overflow"));
    /* huge but empty and in range: loads with numel 0 */
    n = make_npy(b, sizeof(b),
                 "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1000000000000), }", NULL,
                 0);
    ckpt_error err;
    ckpt_doc *d = ckpt_numpy_load_mem(b, n, "t.npy", NULL, &err);
    CHECK(d != NULL);
    ckpt_tensor_info ti;
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_doc_root(d), &ti), 0);
    CHECK_EQ_INT(ti.numel, 0);
    ckpt_doc_free(d);
}

TEST(test_formats_npy__object_and_unknown_dtypes)
{
    uint8_t b[512];
    const char *objs[] = {"{'descr': '|O', 'fortran_order': False, 'shape': (3,), }",
                          "{'descr': [('a', '<i4'), ('b', '|O')], 'fortran_order': False, "
                          "'shape': (3,), }"};
    for (size_t i = 0; i < 2; i++) {
        size_t n = make_npy(b, sizeof(b), objs[i], "\x80\x03.", 3);
        CHECK(load_fails(b, n, CKPT_E_UNSUPPORTED, "object"));
    }
    const char *other[] = {"{'descr': '<U5', 'fortran_order': False, 'shape': (1,), }",
                           "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }",
                           "{'descr': '<f16', 'fortran_order': False, 'shape': (1,), }",
                           "{'descr': '<M8[s]', 'fortran_order': False, 'shape': (1,), }"};
    uint8_t zeros[32] = {0};
    for (size_t i = 0; i < 4; i++) {
        size_t n = make_npy(b, sizeof(b), other[i], zeros, sizeof(zeros));
        CHECK(load_fails(b, n, CKPT_E_UNSUPPORTED, NULL));
    }
}

TEST(test_formats_npy__bad_header)
{
    uint8_t b[512];
    const char *bad[] = {
        "{'descr': '<f4', 'shape': (1,), }",                                 /* key missing */
        "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }",             /* not bool */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",        /* negative */
        "{'descr': '<f4', 'fortran_order': False, 'shape': [1], }",          /* list */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1, }", /* extra key */
        "['descr', '<f4']",                                                  /* not a dict */
        "{'descr': '<zz', 'fortran_order': False, 'shape': (1,), }",         /* unknown */
        "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'descr': '<f4'}"}; /* dup */
    uint8_t zeros[8] = {0};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        size_t n = make_npy(b, sizeof(b), bad[i], zeros, sizeof(zeros));
        if (!load_fails(b, n, CKPT_E_FORMAT, NULL)) {
            fprintf(stderr, "case %zu: %s\n", i, bad[i]);
            CHECK(0);
        }
    }
    size_t n = make_npy(b, sizeof(b), "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }",
                        zeros, 4);
    b[6] = 4; /* format version 4.0 */
    CHECK(load_fails(b, n, CKPT_E_FORMAT, "version"));
    b[6] = 1;
    b[8] = 0xff; /* header length past the end */
    CHECK(load_fails(b, n, CKPT_E_FORMAT, "truncated"));
    CHECK(load_fails((const uint8_t *)"hello world", 11, CKPT_E_FORMAT, NULL));
    CHECK(load_fails((const uint8_t *)"", 0, CKPT_E_FORMAT, NULL));
    CHECK(ckpt_numpy_load_mem(NULL, 5, "x", NULL, NULL) == NULL);
    CHECK(ckpt_numpy_load(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_numpy_load("/nonexistent/x.npy", NULL, NULL) == NULL);
}

TEST(test_formats_npy__big_endian_and_fortran)
{
    uint8_t b[512];
    const uint8_t be[8] = {0, 0, 0, 1, 0xff, 0xff, 0xff, 0xfe};
    size_t n = make_npy(b, sizeof(b), "{'descr': '>i4', 'fortran_order': False, 'shape': (2,), }",
                        be, sizeof(be));
    ckpt_error err;
    ckpt_doc *d = ckpt_numpy_load_mem(b, n, "t.npy", NULL, &err);
    CHECK(d != NULL);
    int32_t v[2];
    CHECK_EQ_INT(ckpt_tensor_copy_into(ckpt_doc_root(d), v, sizeof(v), &err), 0);
    CHECK_EQ_INT(v[0], 1);
    CHECK_EQ_INT(v[1], -2);
    ckpt_doc_free(d);
    /* fortran_order: bytes kept, column-major strides (torch.from_numpy) */
    const uint8_t f[6] = {1, 4, 2, 5, 3, 6}; /* [[1,2,3],[4,5,6]] in column-major order */
    n = make_npy(b, sizeof(b), "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 3), }", f,
                 sizeof(f));
    d = ckpt_numpy_load_mem(b, n, "t.npy", NULL, &err);
    CHECK(d != NULL);
    ckpt_tensor_info ti;
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_doc_root(d), &ti), 0);
    CHECK_EQ_INT(ti.dtype, CKPT_U8);
    CHECK_EQ_INT(ti.stride[0], 1);
    CHECK_EQ_INT(ti.stride[1], 2);
    uint8_t c[6];
    CHECK_EQ_INT(ckpt_tensor_copy_into(ckpt_doc_root(d), c, sizeof(c), &err), 0);
    for (int i = 0; i < 6; i++)
        CHECK_EQ_INT(c[i], i + 1);
    /* saved back: fortran_order True and the same bytes, as np.save does */
    char path[] = "/tmp/ckpt_npy_test_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ_INT(ckpt_npy_save(path, ckpt_doc_root(d), &err), 0);
    size_t len = 0;
    unsigned char *back = test_read_file(path, &len);
    unlink(path);
    CHECK(back != NULL);
    CHECK(len == n && memcmp(back, b, 10) == 0 && memcmp(back + len - 6, f, 6) == 0);
    CHECK(strstr((const char *)back + 10, "'fortran_order': True") != NULL);
    free(back);
    ckpt_doc_free(d);
}

TEST(test_formats_npy__npz_round_trip_and_refusals)
{
    ckpt_error err;
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    CHECK(doc != NULL);
    ckpt_obj *dict = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    float w[6] = {1, 2, 3, 4, 5, -0.0f};
    int64_t shape[2] = {2, 3};
    ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_F32, 2, shape, w, &err);
    ckpt_obj *s = ckpt_tensor_new_copy(doc, CKPT_I64, 0, NULL, NULL, &err);
    CHECK(t && s);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, dict, "layer.weight", t, &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, dict, "step", s, &err), 0);
    char path[] = "/tmp/ckpt_npz_test_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ_INT(ckpt_npz_save(path, dict, NULL), 0);
    ckpt_doc *back = ckpt_numpy_load(path, NULL, &err);
    CHECK(back != NULL);
    const ckpt_obj *r = ckpt_doc_root(back);
    CHECK_EQ_INT(ckpt_obj_type(r), CKPT_T_DICT);
    CHECK_EQ_INT(ckpt_obj_len(r), 2);
    CHECK_STR(ckpt_obj_str(ckpt_dict_key(r, 0), NULL), "layer.weight");
    float got[6];
    CHECK_EQ_INT(ckpt_tensor_copy_into(ckpt_dict_get(r, "layer.weight"), got, sizeof(got), &err),
                 0);
    CHECK(memcmp(got, w, sizeof(w)) == 0);
    ckpt_tensor_info ti;
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_dict_get(r, "step"), &ti), 0);
    CHECK_EQ_INT(ti.ndim, 0);
    ckpt_doc_free(back);

    /* a truncated archive is refused, with and without a record */
    size_t len = 0;
    unsigned char *raw = test_read_file(path, &len);
    CHECK(raw && len > 100);
    CHECK(load_fails(raw, len - 30, CKPT_E_FORMAT, NULL));
    raw[len / 2] ^= 0x55; /* a flipped data byte: the CRC says so */
    CHECK(load_fails(raw, len, CKPT_E_FORMAT, NULL));
    free(raw);

    /* what numpy cannot hold is refused and the old file kept */
    ckpt_obj *bf = ckpt_tensor_new_copy(doc, CKPT_BF16, 1, shape, NULL, &err);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, dict, "half", bf, &err), 0);
    CHECK_EQ_INT(ckpt_npz_save(path, dict, &err), CKPT_E_UNSUPPORTED);
    CHECK(strstr(err.msg, "bfloat16") != NULL);
    CHECK_STR(err.key, "half");
    CHECK_EQ_INT(ckpt_npz_save(path, dict, NULL), CKPT_E_UNSUPPORTED);
    back = ckpt_numpy_load(path, NULL, NULL);
    CHECK(back != NULL && ckpt_obj_len(ckpt_doc_root(back)) == 2);
    ckpt_doc_free(back);
    ckpt_obj *dict2 = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_EQ_INT(ckpt_dict_set(doc, dict2, ckpt_int_new(doc, 3), t, &err), 0);
    CHECK_EQ_INT(ckpt_npz_save(path, dict2, &err), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_npz_save(path, t, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_npy_save(path, dict, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_npy_save(NULL, t, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_npz_save(NULL, dict, NULL), CKPT_E_ARG);
    unlink(path);
    ckpt_doc_free(doc);
}

/* 70000 members: past the 65535 entries of a plain end record, so the archive needs
 * the ZIP64 end record and locator; the zip reader must find every member. */
TEST(test_formats_npy__npz_zip64_entry_count)
{
    ckpt_error err;
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    CHECK(doc != NULL);
    ckpt_obj *dict = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK(dict != NULL);
    for (int i = 0; i < 70000; i++) {
        char key[32];
        snprintf(key, sizeof(key), "k%d", i);
        int16_t v = (int16_t)i;
        ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_I16, 0, NULL, &v, &err);
        CHECK(t != NULL);
        CHECK_EQ_INT(ckpt_dict_set_str(doc, dict, key, t, &err), 0);
    }
    char path[] = "/tmp/ckpt_npz64_test_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_EQ_INT(ckpt_npz_save(path, dict, &err), 0);
    ckpt_doc *back = ckpt_numpy_load(path, NULL, &err);
    unlink(path);
    CHECK(back != NULL);
    const ckpt_obj *r = ckpt_doc_root(back);
    CHECK_EQ_INT(ckpt_obj_len(r), 70000);
    int16_t v = 0;
    CHECK_EQ_INT(ckpt_tensor_copy_into(ckpt_dict_get(r, "k69999"), &v, sizeof(v), &err), 0);
    CHECK_EQ_INT(v, (int16_t)69999);
    ckpt_doc_free(back);
    ckpt_doc_free(doc);
}

TEST_MAIN()
