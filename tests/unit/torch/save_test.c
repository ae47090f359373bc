/* tests/unit/torch/save_test.c - ckpt_save / ckpt_save_mem round trips
 * through ckpt_load_mem: every dtype (float8 / uint16/32/64 through
 * _rebuild_tensor_v3), 0-dim and empty shapes, views, shared storages,
 * Parameters, requires_grad, OrderedDict with _metadata; determinism;
 * atomic save; out-of-memory sweep. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/torch.h"
#include "util/test.h"

static ckpt_doc *roundtrip(const ckpt_obj *root, ckpt_error *err)
{
    void *buf = NULL;
    size_t len = 0;
    ckpt_error_clear(err);
    if (ckpt_save_mem(root, NULL, &buf, &len, err) != 0)
        return NULL;
    ckpt_doc *doc = ckpt_load_mem(buf, len, "roundtrip", NULL, err);
    free(buf);
    return doc;
}

TEST(test_torch_save__every_dtype_roundtrips)
{
    for (int d = 0; d < CKPT_DTYPE_COUNT; d++) {
        size_t isz = ckpt_dtype_size(d);
        if (!isz || d == CKPT_C32 || (d >= CKPT_QI8 && d <= CKPT_QI32) || d == CKPT_QU4X2 ||
            d == CKPT_QU2X4)
            continue; /* torch cannot save complex32; quantized need qparams */
        ckpt_error err = {0};
        ckpt_doc *doc = ckpt_doc_new(NULL, &err);
        uint8_t src[6 * 16];
        for (size_t i = 0; i < sizeof(src); i++)
            src[i] = (uint8_t)(i * 13 + (size_t)d);
        if (d == CKPT_BOOL)
            for (size_t i = 0; i < sizeof(src); i++)
                src[i] &= 1;
        int64_t shape[2] = {2, 3};
        ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
        ckpt_obj *t = ckpt_tensor_new_copy(doc, d, 2, shape, src, &err);
        CHECK(t);
        CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "t", t, &err), 0);
        ckpt_doc *back = roundtrip(root, &err);
        if (!back) {
            fprintf(stderr, "dtype %s: %s\n", ckpt_dtype_name(d), err.msg);
            CHECK(0);
        }
        const ckpt_obj *bt = ckpt_dict_get(ckpt_doc_root(back), "t");
        ckpt_tensor_info ti;
        CHECK_EQ_INT(ckpt_tensor_get_info(bt, &ti), 0);
        CHECK_EQ_INT(ti.dtype, d);
        CHECK(ti.ndim == 2 && ti.shape[0] == 2 && ti.shape[1] == 3);
        CHECK(memcmp(ckpt_tensor_data(bt), src, 6 * isz) == 0);
        ckpt_doc_free(back);
        ckpt_doc_free(doc);
    }
}

TEST(test_torch_save__shapes_views_sharing)
{
    ckpt_error err = {0};
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    ckpt_storage *s = ckpt_storage_new(doc, CKPT_F64, 12 * 8, &err);
    double *p = ckpt_storage_data_mut(s);
    for (int i = 0; i < 12; i++)
        p[i] = i + 0.25;
    int64_t sh[2] = {3, 4}, tsh[2] = {4, 3}, tst[2] = {1, 4}, vsh[1] = {2}, vst[1] = {5};
    ckpt_obj *full = ckpt_tensor_new(doc, s, CKPT_F64, 2, sh, NULL, 0, &err);
    ckpt_obj *tr = ckpt_tensor_new(doc, s, CKPT_F64, 2, tsh, tst, 0, &err);
    ckpt_obj *sl = ckpt_tensor_new(doc, s, CKPT_F64, 1, vsh, vst, 1, &err);
    ckpt_obj *sc = ckpt_tensor_new(doc, s, CKPT_F64, 0, NULL, NULL, 11, &err);
    int64_t esh[2] = {0, 3};
    ckpt_obj *em = ckpt_tensor_new_copy(doc, CKPT_I32, 2, esh, NULL, &err);
    CHECK(full && tr && sl && sc && em);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "full", full, &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "tr", tr, &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "slice", sl, &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "scalar", sc, &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "empty", em, &err), 0);
    ckpt_doc *back = roundtrip(root, &err);
    CHECK_OK(back ? 0 : err.code, &err);
    const ckpt_obj *r = ckpt_doc_root(back);
    CHECK_EQ_INT(ckpt_dict_kind_of(r), CKPT_DICT_ORDERED);
    CHECK_EQ_INT(ckpt_doc_storage_count(back), 2); /* one record for the shared storage */
    ckpt_tensor_info a, b, c, d, e;
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_dict_get(r, "full"), &a), 0);
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_dict_get(r, "tr"), &b), 0);
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_dict_get(r, "slice"), &c), 0);
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_dict_get(r, "scalar"), &d), 0);
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_dict_get(r, "empty"), &e), 0);
    CHECK(a.storage == b.storage && b.storage == c.storage && c.storage == d.storage);
    CHECK(b.stride[0] == 1 && b.stride[1] == 4 && !b.contiguous);
    CHECK(c.storage_offset == 1 && c.stride[0] == 5);
    CHECK(d.ndim == 0 && d.storage_offset == 11);
    CHECK(e.numel == 0 && e.shape[0] == 0 && e.shape[1] == 3);
    double out[12];
    CHECK_OK(ckpt_tensor_copy_into(ckpt_dict_get(r, "slice"), out, sizeof(out), &err), &err);
    CHECK(out[0] == 1.25 && out[1] == 6.25);
    CHECK(*(const double *)ckpt_tensor_data(ckpt_dict_get(r, "scalar")) == 11.25);
    ckpt_doc_free(back);
    ckpt_doc_free(doc);
}

TEST(test_torch_save__parameters_and_metadata)
{
    ckpt_error err = {0};
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    int64_t sh[1] = {3};
    ckpt_obj *w = ckpt_tensor_new_copy(doc, CKPT_F32, 1, sh, NULL, &err);
    ckpt_obj *g = ckpt_tensor_new_copy(doc, CKPT_F32, 1, sh, NULL, &err);
    ckpt_obj *frozen = ckpt_tensor_new_copy(doc, CKPT_F32, 1, sh, NULL, &err);
    CHECK_EQ_INT(ckpt_tensor_set_parameter(w, true, true, &err), 0);
    CHECK_EQ_INT(ckpt_tensor_set_requires_grad(g, true, &err), 0);
    CHECK_EQ_INT(ckpt_tensor_set_parameter(frozen, true, false, &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, sd, "fc.weight", w, &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, sd, "grad", g, &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, sd, "frozen", frozen, &err), 0);
    ckpt_obj *attrs = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *meta = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    ckpt_obj *v = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, v, "version", ckpt_int_new(doc, 1), &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, meta, "", v, &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, meta, "fc", v, &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, attrs, "_metadata", meta, &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_attrs(sd, attrs, &err), 0);
    ckpt_doc *back = roundtrip(sd, &err);
    CHECK_OK(back ? 0 : err.code, &err);
    const ckpt_obj *r = ckpt_doc_root(back);
    ckpt_tensor_info ti;
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_dict_get(r, "fc.weight"), &ti), 0);
    CHECK(ti.is_parameter && ti.requires_grad);
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_dict_get(r, "grad"), &ti), 0);
    CHECK(!ti.is_parameter && ti.requires_grad);
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_dict_get(r, "frozen"), &ti), 0);
    CHECK(ti.is_parameter && !ti.requires_grad);
    const ckpt_obj *ba = ckpt_dict_attrs(r);
    CHECK(ba);
    const ckpt_obj *bm = ckpt_dict_get(ba, "_metadata");
    CHECK(bm && ckpt_dict_kind_of(bm) == CKPT_DICT_ORDERED && ckpt_obj_len(bm) == 2);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_obj_get(bm, "fc", "version", NULL)), 1);
    ckpt_doc_free(back);
    ckpt_doc_free(doc);
}

TEST(test_torch_save__plain_values_roundtrip)
{
    ckpt_error err = {0};
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "epoch", ckpt_int_new(doc, 1LL << 40), &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "neg", ckpt_int_new(doc, -300), &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "flag", ckpt_bool_new(doc, true), &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "none", ckpt_none_new(doc), &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "name", ckpt_str_new(doc, "r\xc3\xa9sum\xc3\xa9"),
                                   &err),
                 0);
    ckpt_obj *l = ckpt_list_new(doc);
    for (int i = 0; i < 1500; i++) /* more than one APPENDS batch */
        CHECK_EQ_INT(ckpt_list_append(doc, l, ckpt_int_new(doc, i), &err), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "list", l, &err), 0);
    ckpt_obj *st = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_EQ_INT(ckpt_dict_set(doc, st, ckpt_int_new(doc, 0), ckpt_str_new(doc, "zero"), &err),
                 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "state", st, &err), 0);
    int64_t dims[2] = {2, 3};
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "size", ckpt_size_new(doc, 2, dims), &err), 0);
    ckpt_doc *back = roundtrip(root, &err);
    CHECK_OK(back ? 0 : err.code, &err);
    const ckpt_obj *r = ckpt_doc_root(back);
    CHECK(ckpt_obj_int(ckpt_dict_get(r, "epoch")) == (1LL << 40));
    CHECK_EQ_INT(ckpt_obj_int(ckpt_dict_get(r, "neg")), -300);
    CHECK_EQ_INT(ckpt_obj_type(ckpt_dict_get(r, "flag")), CKPT_T_BOOL);
    CHECK_EQ_INT(ckpt_obj_type(ckpt_dict_get(r, "none")), CKPT_T_NONE);
    CHECK_STR(ckpt_obj_str(ckpt_dict_get(r, "name"), NULL), "r\xc3\xa9sum\xc3\xa9");
    CHECK_EQ_INT(ckpt_obj_len(ckpt_dict_get(r, "list")), 1500);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_obj_get(r, "list", "1499", NULL)), 1499);
    CHECK_STR(ckpt_obj_str(ckpt_obj_get(r, "state", "0", NULL), NULL), "zero");
    size_t n = 0;
    const int64_t *sd = ckpt_size_dims(ckpt_dict_get(r, "size"), &n);
    CHECK(sd && n == 2 && sd[1] == 3);
    ckpt_doc_free(back);
    ckpt_doc_free(doc);
}

static ckpt_doc *sample_doc(void)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    for (int i = 0; i < 5; i++) {
        char k[16];
        snprintf(k, sizeof(k), "p%d", i);
        int64_t sh[2] = {i + 1, 2};
        float v[12] = {0};
        v[0] = (float)i;
        ckpt_dict_set_str(doc, root, k, ckpt_tensor_new_copy(doc, CKPT_F32, 2, sh, v, NULL),
                          NULL);
    }
    ckpt_doc_set_root(doc, root);
    return doc;
}

TEST(test_torch_save__deterministic)
{
    ckpt_doc *d1 = sample_doc(), *d2 = sample_doc();
    void *b1 = NULL, *b2 = NULL, *b3 = NULL;
    size_t l1, l2, l3;
    ckpt_error err = {0};
    CHECK_OK(ckpt_save_mem(ckpt_doc_root(d1), NULL, &b1, &l1, &err), &err);
    CHECK_OK(ckpt_save_mem(ckpt_doc_root(d1), NULL, &b2, &l2, &err), &err);
    CHECK_OK(ckpt_save_mem(ckpt_doc_root(d2), NULL, &b3, &l3, &err), &err);
    CHECK(l1 == l2 && l1 == l3 && memcmp(b1, b2, l1) == 0 && memcmp(b1, b3, l1) == 0);
    /* each layout is deterministic too */
    for (int layout = CKPT_LAYOUT_TORCH13; layout <= CKPT_LAYOUT_TORCH27; layout++) {
        ckpt_save_opts o = {0};
        o.layout = layout;
        void *x = NULL, *y = NULL;
        size_t lx, ly;
        CHECK_OK(ckpt_save_mem(ckpt_doc_root(d1), &o, &x, &lx, &err), &err);
        CHECK_OK(ckpt_save_mem(ckpt_doc_root(d2), &o, &y, &ly, &err), &err);
        CHECK(lx == ly && memcmp(x, y, lx) == 0);
        ckpt_doc *back = ckpt_load_mem(x, lx, "x", NULL, &err);
        CHECK_OK(back ? 0 : err.code, &err);
        ckpt_doc_free(back);
        free(x);
        free(y);
    }
    free(b1);
    free(b2);
    free(b3);
    ckpt_doc_free(d1);
    ckpt_doc_free(d2);
}

static int count_tmp_files(const char *dir, const char *stem)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strncmp(e->d_name, stem, strlen(stem)) == 0 && strstr(e->d_name, ".tmp-"))
            n++;
    if (d)
        closedir(d);
    return n;
}

TEST(test_torch_save__atomic_on_failure)
{
    char dir[] = "/tmp/ckpt_save_test_XXXXXX";
    CHECK(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof(path), "%s/model.pt", dir);
    ckpt_doc *good = sample_doc();
    ckpt_error err = {0};
    CHECK_OK(ckpt_save(path, ckpt_doc_root(good), NULL, &err), &err);
    size_t l0;
    uint8_t *before = test_read_file(path, &l0);
    CHECK(before);
    /* (1) a NULL root */
    CHECK(ckpt_save(path, NULL, NULL, &err) < 0);
    /* (2) a tuple that contains itself */
    ckpt_doc *bad = ckpt_doc_new(NULL, NULL);
    ckpt_obj *self = ckpt_tuple_new(bad, 1, NULL);
    CHECK_EQ_INT(ckpt_tuple_set(self, 0, self, &err), 0);
    ckpt_error_clear(&err);
    CHECK(ckpt_save(path, self, NULL, &err) < 0 && err.code < 0);
    /* (3) a tuple slot never filled */
    ckpt_obj *hole = ckpt_tuple_new(bad, 2, NULL);
    ckpt_error_clear(&err);
    CHECK(ckpt_save(path, hole, NULL, &err) < 0 && err.code < 0);
    /* (4) a lazy storage with no bytes */
    size_t sl;
    void *sbuf = NULL;
    CHECK_OK(ckpt_save_mem(ckpt_doc_root(good), NULL, &sbuf, &sl, &err), &err);
    ckpt_load_opts lo = {0};
    lo.mode = CKPT_LOAD_LAZY;
    ckpt_doc *lazy = ckpt_load_mem(sbuf, sl, "lazy", &lo, &err);
    CHECK(lazy);
    ckpt_error_clear(&err);
    int rc = ckpt_save(path, ckpt_doc_root(lazy), NULL, &err);
    /* either it reads the bytes on demand and succeeds, or it fails cleanly */
    CHECK(rc == 0 || err.code < 0);
    if (rc == 0) {
        size_t l1;
        uint8_t *after = test_read_file(path, &l1);
        CHECK(after && l1 == l0 && memcmp(after, before, l0) == 0);
        free(after);
    }
    size_t l2;
    uint8_t *after = test_read_file(path, &l2);
    CHECK(after && l2 == l0 && memcmp(after, before, l0) == 0);
    CHECK_EQ_INT(count_tmp_files(dir, "model.pt"), 0);
    /* a folder that does not exist */
    char nodir[300];
    snprintf(nodir, sizeof(nodir), "%s/missing/x.pt", dir);
    ckpt_error_clear(&err);
    CHECK(ckpt_save(nodir, ckpt_doc_root(good), NULL, &err) < 0 && err.code == CKPT_E_IO);
    free(after);
    free(before);
    free(sbuf);
    ckpt_doc_free(lazy);
    ckpt_doc_free(bad);
    ckpt_doc_free(good);
    unlink(path);
    rmdir(dir);
}

TEST(test_torch_save__out_of_memory_sweep)
{
    ckpt_doc *doc = sample_doc();
    int bad = 0;
    long n;
    for (n = 1; n < 5000; n++) {
        test_failing_alloc fa;
        test_failing_alloc_init(&fa, n);
        ckpt_save_opts o = {0};
        o.alloc = &fa.a;
        void *buf = NULL;
        size_t len = 0;
        ckpt_error err = {0};
        int rc = ckpt_save_mem(ckpt_doc_root(doc), &o, &buf, &len, &err);
        if (rc == 0 && !buf) {
            /* success must hand over a buffer (ckpt_sink_take_mem returns NULL when
             * it cannot shrink the block: save.c must report CKPT_E_NOMEM then) */
            fprintf(stderr, "save: allocation %ld failed: success without a buffer\n", n);
            bad++;
            continue;
        }
        if (rc == 0)
            fa.a.free(fa.a.ctx, buf, len);
        if (fa.live) {
            fprintf(stderr, "save: allocation %ld failed: %lld bytes leaked\n", n, fa.live);
            bad++;
        }
        if (rc == 0)
            break;
        if (rc != CKPT_E_NOMEM) {
            fprintf(stderr, "save: allocation %ld failed: %s\n", n, ckpt_status_name(rc));
            bad++;
        }
    }
    CHECK(n > 1 && n < 5000);
    ckpt_doc_free(doc);
    CHECK_EQ_INT(bad, 0);
}

TEST_MAIN()
