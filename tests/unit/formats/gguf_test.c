/* tests/unit/formats/gguf_test.c - GGUF and ggml blocks (ckpt/formats.h) on
 * input that needs no Python: type table, block arithmetic, dequantize /
 * quantize argument checks, save -> load in copy/mmap/lazy modes, shapes
 * reversed, raw blocks, hostile byte images, out-of-memory sweep.  The numpy
 * cross-check of the block formats is gguf_numpy_check (tests/formats). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "ckpt/formats.h"
#include "util/test.h"

static char *tmp_path(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/ckpt_gguf_%ld_%s.gguf", (long)getpid(), tag);
    return buf;
}

TEST(test_formats_gguf__type_table)
{
    CHECK_STR(ckpt_ggml_type_name(0), "F32");
    CHECK_STR(ckpt_ggml_type_name(12), "Q4_K");
    CHECK_STR(ckpt_ggml_type_name(30), "BF16");
    CHECK_STR(ckpt_ggml_type_name(39), "MXFP4");
    CHECK(ckpt_ggml_type_name(4) == NULL);  /* Q4_2, removed */
    CHECK(ckpt_ggml_type_name(31) == NULL); /* Q4_0_4_4, removed */
    CHECK(ckpt_ggml_type_name(-1) == NULL && ckpt_ggml_type_name(1000) == NULL);
    CHECK_EQ_INT(ckpt_ggml_type_from_name("Q6_K"), 14);
    CHECK_EQ_INT(ckpt_ggml_type_from_name("q6_k"), 14);
    CHECK_EQ_INT(ckpt_ggml_type_from_name("iq2_xxs"), 16);
    CHECK_EQ_INT(ckpt_ggml_type_from_name("Q4_2"), -1);
    CHECK_EQ_INT(ckpt_ggml_type_from_name(NULL), -1);
    for (int t = 0; t < 64; t++) {
        const char *n = ckpt_ggml_type_name(t);
        if (n)
            CHECK_EQ_INT(ckpt_ggml_type_from_name(n), t);
    }
    /* ggml-common.h static_asserts */
    CHECK_EQ_INT(ckpt_ggml_nbytes(2, 64), 36);
    CHECK_EQ_INT(ckpt_ggml_nbytes(8, 32), 34);
    CHECK_EQ_INT(ckpt_ggml_nbytes(9, 32), 36);
    CHECK_EQ_INT(ckpt_ggml_nbytes(12, 256), 144);
    CHECK_EQ_INT(ckpt_ggml_nbytes(14, 512), 420);
    CHECK_EQ_INT(ckpt_ggml_nbytes(34, 256), 54);
    CHECK_EQ_INT(ckpt_ggml_nbytes(0, 3), 12);
    CHECK_EQ_INT(ckpt_ggml_nbytes(2, 33), 0);
    CHECK_EQ_INT(ckpt_ggml_nbytes(2, -32), 0);
    CHECK_EQ_INT(ckpt_ggml_nbytes(4, 32), 0);
}

TEST(test_formats_gguf__quantize_api)
{
    float x[64], y[64];
    uint8_t q[68];
    for (int i = 0; i < 64; i++)
        x[i] = (float)sin(i * 0.7) * 3.0f;
    ckpt_error err;
    CHECK_OK(ckpt_ggml_quantize(8, x, 64, q, sizeof(q), &err), &err);
    CHECK_OK(ckpt_ggml_dequantize(8, q, 68, y, 64, &err), &err);
    for (int i = 0; i < 64; i++)
        CHECK(fabsf(x[i] - y[i]) <= 3.0f / 127.0f);
    CHECK(ckpt_ggml_quantize(8, x, 64, q, 67, &err) == CKPT_E_ARG);
    CHECK(ckpt_ggml_quantize(8, x, 63, q, 68, &err) == CKPT_E_ARG);
    CHECK(ckpt_ggml_quantize(12, x, 256, q, 68, &err) == CKPT_E_UNSUPPORTED);
    CHECK(ckpt_ggml_dequantize(8, q, 67, y, 64, &err) == CKPT_E_ARG);
    CHECK(ckpt_ggml_dequantize(16, q, 68, y, 256, &err) == CKPT_E_UNSUPPORTED);
    CHECK(ckpt_ggml_dequantize(4, q, 68, y, 32, NULL) == CKPT_E_ARG);
    /* all-zero block: d = 0, every quant 0 (ggml's id = 0 path) */
    float z[32] = {0};
    CHECK_OK(ckpt_ggml_quantize(2, z, 32, q, 18, &err), &err);
    for (int i = 2; i < 18; i++)
        CHECK_EQ_INT(q[i], 0x88);
    /* non-finite input is not undefined behaviour */
    z[3] = NAN;
    z[4] = INFINITY;
    CHECK_OK(ckpt_ggml_quantize(8, z, 32, q, 34, &err), &err);
    CHECK_OK(ckpt_ggml_quantize(2, z, 32, q, 18, &err), &err);
}

/* dict {"a": f32 [2,3,32], "b": i16 [5], "s": f32 scalar, "q": f32 [4, 64] as Q8_0} */
static ckpt_doc *sample(ckpt_obj **meta)
{
    ckpt_doc *d = ckpt_doc_new(NULL, NULL);
    ckpt_obj *root = ckpt_dict_new(d, CKPT_DICT_ORDERED);
    int64_t sa[3] = {2, 3, 32}, sb[1] = {5}, sq[2] = {4, 64};
    float fa[192], fq[256], fs = 2.5f;
    int16_t ib[5] = {1, -2, 3, -4, 5};
    for (int i = 0; i < 192; i++)
        fa[i] = (float)i * 0.5f - 7.0f;
    for (int i = 0; i < 256; i++)
        fq[i] = (float)cos(i * 0.1);
    ckpt_dict_set_str(d, root, "a", ckpt_tensor_new_copy(d, CKPT_F32, 3, sa, fa, NULL), NULL);
    ckpt_dict_set_str(d, root, "b", ckpt_tensor_new_copy(d, CKPT_I16, 1, sb, ib, NULL), NULL);
    ckpt_dict_set_str(d, root, "s", ckpt_tensor_new_copy(d, CKPT_F32, 0, NULL, &fs, NULL), NULL);
    ckpt_dict_set_str(d, root, "q", ckpt_tensor_new_copy(d, CKPT_F32, 2, sq, fq, NULL), NULL);
    ckpt_doc_set_root(d, root);
    ckpt_obj *m = ckpt_dict_new(d, CKPT_DICT_ORDERED), *tt = ckpt_dict_new(d, CKPT_DICT_PLAIN);
    ckpt_obj *kv = ckpt_dict_new(d, CKPT_DICT_ORDERED);
    ckpt_dict_set_str(d, tt, "q", ckpt_str_new(d, "Q8_0"), NULL);
    ckpt_dict_set_str(d, kv, "general.name", ckpt_str_new(d, "x"), NULL);
    ckpt_dict_set_str(d, m, "gguf.kv", kv, NULL);
    ckpt_dict_set_str(d, m, "gguf.tensor_types", tt, NULL);
    *meta = m;
    return d;
}

TEST(test_formats_gguf__save_load_modes)
{
    ckpt_obj *meta;
    ckpt_doc *src = sample(&meta);
    char p[256];
    tmp_path(p, sizeof(p), "modes");
    ckpt_error err;
    ckpt_gguf_save_opts o = {meta, 0, true};
    CHECK_OK(ckpt_gguf_save(p, ckpt_doc_root(src), &o, &err), &err);
    for (int mode = 0; mode < 3; mode++) {
        for (int deq = 0; deq < 2; deq++) {
            ckpt_doc *d = ckpt_gguf_load(p, mode, deq, NULL, &err);
            CHECK(d);
            const ckpt_obj *r = ckpt_doc_root(d);
            CHECK_EQ_INT(ckpt_obj_len(r), 4);
            CHECK_STR(ckpt_obj_str(ckpt_dict_key(r, 0), NULL), "a");
            ckpt_tensor_info ti;
            const ckpt_obj *a = ckpt_dict_get(r, "a");
            CHECK(ckpt_tensor_get_info(a, &ti) == 0);
            CHECK(ti.ndim == 3 && ti.shape[0] == 2 && ti.shape[1] == 3 && ti.shape[2] == 32);
            const float *fa = ckpt_tensor_data_load(d, a, &err);
            CHECK(fa && fa[5] == 5 * 0.5f - 7.0f);
            CHECK(ckpt_storage_get_info(ti.storage, &(ckpt_storage_info){0}) == 0);
            ckpt_storage_info si;
            ckpt_storage_get_info(ti.storage, &si);
            CHECK_EQ_INT(si.hold, mode == 0   ? CKPT_HOLD_OWNED
                                  : mode == 1 ? CKPT_HOLD_MAPPED
                                              : CKPT_HOLD_OWNED /* fetched */);
            const ckpt_obj *s = ckpt_dict_get(r, "s");
            CHECK(ckpt_tensor_get_info(s, &ti) == 0 && ti.ndim == 0);
            const float *fs = ckpt_tensor_data_load(d, s, &err);
            CHECK(fs && *fs == 2.5f);
            const ckpt_obj *q = ckpt_dict_get(r, "q");
            CHECK(ckpt_tensor_get_info(q, &ti) == 0);
            if (deq) {
                CHECK(ti.dtype == CKPT_F32 && ti.ndim == 2 && ti.shape[0] == 4 &&
                      ti.shape[1] == 64);
                const float *fq = ckpt_tensor_data_load(d, q, &err);
                CHECK(fq && fabsf(fq[10] - (float)cos(1.0)) < 0.01f);
            } else {
                CHECK(ti.dtype == CKPT_U8 && ti.ndim == 2 && ti.shape[0] == 4 &&
                      ti.shape[1] == 68);
            }
            const ckpt_obj *m = ckpt_doc_metadata(d);
            CHECK_EQ_INT(ckpt_obj_int(ckpt_dict_get(m, "gguf.version")), 3);
            CHECK_STR(ckpt_obj_str(ckpt_obj_get(m, "gguf.tensor_types", "q", NULL), NULL),
                      "Q8_0");
            CHECK_STR(ckpt_obj_str(ckpt_obj_get(m, "gguf.kv", "general.name", NULL), NULL), "x");
            CHECK_STR(ckpt_obj_str(ckpt_obj_get(m, "gguf.kv_types", "general.name", NULL), NULL),
                      "string");
            ckpt_doc_free(d);
        }
    }
    /* memory load, MMAP points into the caller's buffer */
    size_t n;
    unsigned char *buf = test_read_file(p, &n);
    CHECK(buf);
    ckpt_doc *d = ckpt_gguf_load_mem(buf, n, "m.gguf", CKPT_LOAD_MMAP, false, NULL, &err);
    CHECK(d);
    ckpt_tensor_info ti;
    ckpt_tensor_get_info(ckpt_dict_get(ckpt_doc_root(d), "q"), &ti);
    const uint8_t *qd = ckpt_tensor_data(ckpt_dict_get(ckpt_doc_root(d), "q"));
    CHECK(qd >= buf && qd < buf + n);
    ckpt_doc_free(d);
    free(buf);
    unlink(p);
    ckpt_doc_free(src);
}

TEST(test_formats_gguf__save_refusals)
{
    ckpt_doc *d = ckpt_doc_new(NULL, NULL);
    ckpt_obj *root = ckpt_dict_new(d, CKPT_DICT_PLAIN);
    int64_t s5[5] = {1, 1, 1, 1, 2}, s1[1] = {3};
    ckpt_dict_set_str(d, root, "five", ckpt_tensor_new_copy(d, CKPT_F32, 5, s5, NULL, NULL),
                      NULL);
    char p[256];
    tmp_path(p, sizeof(p), "refuse");
    ckpt_error err;
    char b[512];
    CHECK(ckpt_gguf_save(p, root, NULL, &err) == CKPT_E_UNSUPPORTED);
    CHECK(strstr(ckpt_error_format(&err, b, sizeof(b)), "five"));
    root = ckpt_dict_new(d, CKPT_DICT_PLAIN);
    ckpt_dict_set_str(d, root, "u", ckpt_tensor_new_copy(d, CKPT_BOOL, 1, s1, NULL, NULL), NULL);
    CHECK(ckpt_gguf_save(p, root, NULL, &err) == CKPT_E_UNSUPPORTED);
    CHECK(strstr(ckpt_error_format(&err, b, sizeof(b)), "'u'") ||
          strstr(ckpt_error_format(&err, b, sizeof(b)), "u"));
    /* Q8_0 of a row that is not whole blocks */
    root = ckpt_dict_new(d, CKPT_DICT_PLAIN);
    ckpt_dict_set_str(d, root, "r", ckpt_tensor_new_copy(d, CKPT_F32, 1, s1, NULL, NULL), NULL);
    ckpt_obj *m = ckpt_dict_new(d, CKPT_DICT_PLAIN), *tt = ckpt_dict_new(d, CKPT_DICT_PLAIN);
    ckpt_dict_set_str(d, tt, "r", ckpt_str_new(d, "Q8_0"), NULL);
    ckpt_dict_set_str(d, m, "gguf.tensor_types", tt, NULL);
    ckpt_gguf_save_opts o = {m, 0, true};
    CHECK(ckpt_gguf_save(p, root, &o, &err) == CKPT_E_ARG);
    /* Q4_K from floats: ckpt does not quantize it */
    ckpt_dict_set_str(d, tt, "r", ckpt_str_new(d, "Q4_K"), NULL);
    CHECK(ckpt_gguf_save(p, root, &o, &err) == CKPT_E_UNSUPPORTED);
    /* bad alignment */
    ckpt_gguf_save_opts o2 = {NULL, 48, true};
    CHECK(ckpt_gguf_save(p, root, &o2, &err) == CKPT_E_ARG);
    CHECK(access(p, F_OK) != 0);
    ckpt_doc_free(d);
}

/* Header + one kv + one F32 tensor, built by hand. */
static size_t image(uint8_t *b, uint32_t version, uint64_t nt, uint64_t nkv, uint32_t ndims,
                    uint32_t type, uint64_t off)
{
    size_t at = 0;
#define PUT(v, k)                                                                                \
    do {                                                                                         \
        uint64_t v_ = (uint64_t)(v);                                                             \
        for (int i_ = 0; i_ < (k); i_++)                                                         \
            b[at++] = (uint8_t)(v_ >> (8 * i_));                                                 \
    } while (0)
    memcpy(b, "GGUF", 4);
    at = 4;
    PUT(version, 4);
    PUT(nt, 8);
    PUT(nkv, 8);
    PUT(5, 8);
    memcpy(b + at, "k.key", 5);
    at += 5;
    PUT(4, 4);
    PUT(1, 4);
    PUT(1, 8);
    b[at++] = 'w';
    PUT(ndims, 4);
    for (uint32_t i = 0; i < ndims && i < 6; i++)
        PUT(i == 0 ? 8 : 1, 8);
    PUT(type, 4);
    PUT(off, 8);
    while (at % 32)
        b[at++] = 0;
    memset(b + at, 0, 64);
    return at + 32;
#undef PUT
}

static int refused(const uint8_t *b, size_t n, const char *needle)
{
    ckpt_error err;
    ckpt_doc *d = ckpt_gguf_load_mem(b, n, "h.gguf", CKPT_LOAD_COPY, true, NULL, &err);
    if (d) {
        ckpt_doc_free(d);
        fprintf(stderr, "loaded, expected a refusal naming %s\n", needle);
        return 0;
    }
    char buf[512];
    ckpt_error_format(&err, buf, sizeof(buf));
    if (!strstr(buf, needle) || !strstr(buf, "h.gguf")) {
        fprintf(stderr, "got: %s (wanted %s)\n", buf, needle);
        return 0;
    }
    return ckpt_gguf_load_mem(b, n, "h.gguf", CKPT_LOAD_LAZY, false, NULL, NULL) == NULL;
}

TEST(test_formats_gguf__hostile_images)
{
    uint8_t b[512];
    size_t n = image(b, 3, 1, 1, 1, 0, 0);
    ckpt_error err;
    ckpt_doc *d = ckpt_gguf_load_mem(b, n, "ok.gguf", CKPT_LOAD_COPY, false, NULL, &err);
    CHECK(d);
    ckpt_doc_free(d);
    CHECK(refused(b, n - 1, "passes the end"));
    n = image(b, 1, 1, 1, 1, 0, 0);
    CHECK(refused(b, n, "version 1"));
    n = image(b, 4, 1, 1, 1, 0, 0);
    CHECK(refused(b, n, "version 4"));
    n = image(b, 3, UINT64_MAX, 1, 1, 0, 0);
    CHECK(refused(b, n, "tensor count"));
    n = image(b, 3, 1, UINT64_MAX / 2, 1, 0, 0);
    CHECK(refused(b, n, "key/value count"));
    n = image(b, 3, 1, 1, 5, 0, 0);
    CHECK(refused(b, n, "GGML_MAX_DIMS"));
    n = image(b, 3, 1, 1, 1, 99, 0);
    CHECK(refused(b, n, "unknown or removed ggml type 99"));
    n = image(b, 3, 1, 1, 1, 0, 16);
    CHECK(refused(b, n, "multiple of the alignment"));
    n = image(b, 3, 1, 1, 1, 0, 1u << 30);
    CHECK(refused(b, n, "passes the end"));
    n = image(b, 3, 1, 1, 1, 8, 0); /* Q8_0 row of 8 elements */
    CHECK(refused(b, n, "block size"));
    CHECK(refused((const uint8_t *)"GGUF", 4, "truncated"));
    CHECK(refused((const uint8_t *)"GGML\3\0\0\0", 8, "magic"));
}

TEST(test_formats_gguf__oom_sweep)
{
    ckpt_obj *meta;
    ckpt_doc *src = sample(&meta);
    char p[256];
    tmp_path(p, sizeof(p), "oom");
    ckpt_error err;
    ckpt_gguf_save_opts o = {meta, 0, true};
    CHECK_OK(ckpt_gguf_save(p, ckpt_doc_root(src), &o, &err), &err);
    ckpt_doc_free(src);
    size_t n;
    unsigned char *buf = test_read_file(p, &n);
    unlink(p);
    CHECK(buf);
    int ok = 0;
    for (long k = 1; k < 400 && !ok; k++) {
        test_failing_alloc fa;
        test_failing_alloc_init(&fa, k);
        ckpt_doc *d = ckpt_gguf_load_mem(buf, n, "o.gguf", CKPT_LOAD_COPY, true, &fa.a, &err);
        if (d) {
            ckpt_doc_free(d);
            ok = 1;
        } else {
            CHECK(err.code == CKPT_E_NOMEM || err.code == CKPT_E_LIMIT);
        }
        CHECK_EQ_INT(fa.live, 0);
    }
    CHECK(ok);
    free(buf);
}

TEST_MAIN()
