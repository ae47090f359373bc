/* tests/unit/torch/load_test.c - ckpt_load_mem / ckpt_load: the three modes,
 * map_location forms, weights-only refusals on hand-built archives (os.system,
 * short storage records, views out of bounds, TorchScript), and truncation /
 * byte-flip / out-of-memory sweeps over a small saved file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/torch.h"
#include "ckpt/zip.h"
#include "util/test.h"

/* ---- helpers ----------------------------------------------------------- */

/* An archive "<prefix>/data.pkl" + records, written by ckpt's zip writer. */
static uint8_t *make_archive(const char *pkl, size_t pkl_len, const char *const *names,
                             const void *const *datas, const size_t *lens, size_t n,
                             size_t *out_len)
{
    ckpt_error err = {0};
    ckpt_sink *s = ckpt_sink_new_mem(NULL, &err);
    ckpt_zip_writer *w = ckpt_zip_writer_new(s, "archive", 0, true, NULL, &err);
    uint8_t *out = NULL;
    if (!w || ckpt_zip_writer_add(w, "data.pkl", pkl, pkl_len, &err) != 0)
        goto done;
    for (size_t i = 0; i < n; i++)
        if (ckpt_zip_writer_add(w, names[i], datas[i], lens[i], &err) != 0)
            goto done;
    if (ckpt_zip_writer_add(w, "version", "3\n", 2, &err) != 0)
        goto done;
    if (ckpt_zip_writer_finish(w, &err) == 0)
        out = ckpt_sink_take_mem(s, out_len);
done:
    ckpt_zip_writer_free(w);
    ckpt_sink_free(s);
    return out;
}

/* data.pkl of _rebuild_tensor_v2(storage(FloatStorage, key '0', 'cpu', numel),
 * offset, (size,), (1,), False, OrderedDict()) - as torch writes it. */
static size_t tensor_pickle(uint8_t *p, int numel, int offset, int size, const char *loc)
{
    size_t n = 0;
#define PUT(s) (memcpy(p + n, (s), sizeof(s) - 1), n += sizeof(s) - 1)
    PUT("\x80\x02"
        "ctorch._utils\n_rebuild_tensor_v2\nq\x00((X\x07\x00\x00\x00storageq\x01"
        "ctorch\nFloatStorage\nq\x02X\x01\x00\x00\x00"
        "0q\x03X");
    uint32_t ll = (uint32_t)strlen(loc);
    memcpy(p + n, &ll, 4);
    n += 4;
    memcpy(p + n, loc, ll);
    n += ll;
    p[n++] = 'q';
    p[n++] = 4;
    p[n++] = 'J';
    memcpy(p + n, &numel, 4);
    n += 4;
    PUT("tq\x05QJ");
    memcpy(p + n, &offset, 4);
    n += 4;
    p[n++] = 'J';
    memcpy(p + n, &size, 4);
    n += 4;
    PUT("\x85q\x06K\x01\x85q\x07\x89"
        "ccollections\nOrderedDict\nq\x08)Rq\x09tq\x0aRq\x0b.");
#undef PUT
    return n;
}

static uint8_t *tensor_archive(int numel, int offset, int size, size_t record_bytes,
                               const char *loc, size_t *len)
{
    uint8_t pkl[512];
    size_t pl = tensor_pickle(pkl, numel, offset, size, loc);
    float data[64];
    for (int i = 0; i < 64; i++)
        data[i] = (float)i;
    const char *names[1] = {"data/0"};
    const void *datas[1] = {data};
    size_t lens[1] = {record_bytes};
    return make_archive((const char *)pkl, pl, names, datas, lens, 1, len);
}

static ckpt_doc *load(const void *buf, size_t n, const ckpt_load_opts *o, ckpt_error *err)
{
    ckpt_error_clear(err);
    return ckpt_load_mem(buf, n, "test.pt", o, err);
}

/* ---- basics ------------------------------------------------------------ */

TEST(test_torch_load__hand_built_tensor)
{
    size_t len;
    uint8_t *a = tensor_archive(6, 1, 4, 24, "cpu", &len);
    CHECK(a);
    ckpt_error err;
    ckpt_doc *doc = load(a, len, NULL, &err);
    CHECK_OK(doc ? 0 : err.code, &err);
    ckpt_tensor_info ti;
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_doc_root(doc), &ti), 0);
    CHECK(ti.dtype == CKPT_F32 && ti.ndim == 1 && ti.shape[0] == 4 && ti.storage_offset == 1);
    const float *f = ckpt_tensor_data(ckpt_doc_root(doc));
    CHECK(f && f[0] == 1.0f && f[3] == 4.0f);
    CHECK_EQ_INT(ckpt_doc_storage_count(doc), 1);
    ckpt_doc_free(doc);
    free(a);
}

TEST(test_torch_load__short_storage_record_refused)
{
    /* CVE-2026-24747 pattern: the pid claims 64 floats, the record holds 6 */
    size_t len;
    uint8_t *a = tensor_archive(64, 0, 64, 24, "cpu", &len);
    ckpt_error err;
    for (int mode = 0; mode < 3; mode++) {
        ckpt_load_opts o = {0};
        o.mode = mode;
        ckpt_doc *doc = load(a, len, &o, &err);
        if (doc && mode == CKPT_LOAD_LAZY)
            CHECK(ckpt_tensor_data_load(doc, ckpt_doc_root(doc), &err) == NULL);
        CHECK(doc == NULL || mode == CKPT_LOAD_LAZY);
        CHECK(err.code == CKPT_E_FORMAT || err.code == CKPT_E_SHAPE);
        ckpt_doc_free(doc);
    }
    free(a);
}

TEST(test_torch_load__view_out_of_storage_refused)
{
    size_t len;
    uint8_t *a = tensor_archive(6, 3, 4, 24, "cpu", &len); /* offset 3 + 4 > 6 */
    ckpt_error err;
    ckpt_doc *doc = load(a, len, NULL, &err);
    CHECK(!doc && (err.code == CKPT_E_SHAPE || err.code == CKPT_E_FORMAT));
    free(a);
    a = tensor_archive(6, -1, 4, 24, "cpu", &len);
    doc = load(a, len, NULL, &err);
    CHECK(!doc && err.code < 0);
    free(a);
    a = tensor_archive(6, 0, -4, 24, "cpu", &len);
    doc = load(a, len, NULL, &err);
    CHECK(!doc && err.code < 0);
    free(a);
}

TEST(test_torch_load__os_system_refused)
{
    static const char pkl[] = "\x80\x02"
                              "cos\nsystem\nq\x00X\x04\x00\x00\x00"
                              "echo\x85q\x01Rq\x02.";
    size_t len;
    uint8_t *a = make_archive(pkl, sizeof(pkl) - 1, NULL, NULL, NULL, 0, &len);
    CHECK(a);
    ckpt_error err;
    ckpt_doc *doc = load(a, len, NULL, &err);
    CHECK(!doc);
    CHECK_EQ_INT(err.code, CKPT_E_UNSAFE);
    CHECK(strstr(err.msg, "os.system") != NULL);
    CHECK_EQ_INT(err.where, CKPT_WHERE_PICKLE);
    CHECK_EQ_INT(err.offset, 2);
    /* unsafe_full: an inert OBJECT, nothing runs */
    ckpt_load_opts o = {0};
    o.unsafe_full = true;
    doc = load(a, len, &o, &err);
    CHECK_OK(doc ? 0 : err.code, &err);
    const ckpt_obj *r = ckpt_doc_root(doc);
    CHECK_EQ_INT(ckpt_obj_type(r), CKPT_T_OBJECT);
    CHECK_STR(ckpt_global_module(r), "os");
    CHECK_STR(ckpt_global_name(r), "system");
    CHECK_STR(ckpt_object_how(r), "reduce");
    CHECK_STR(ckpt_obj_str(ckpt_obj_item(ckpt_object_args(r), 0), NULL), "echo");
    ckpt_doc_free(doc);
    free(a);
}

TEST(test_torch_load__safe_globals)
{
    static const char pkl[] = "\x80\x02"
                              "cmymod\nThing\nq\x00)\x81q\x01}q\x02X\x01\x00\x00\x00"
                              "aK\x01sbq\x03.";
    size_t len;
    uint8_t *a = make_archive(pkl, sizeof(pkl) - 1, NULL, NULL, NULL, 0, &len);
    ckpt_error err;
    ckpt_doc *doc = load(a, len, NULL, &err);
    CHECK(!doc && err.code == CKPT_E_UNSAFE && strstr(err.msg, "mymod.Thing"));
    const char *const allow[] = {"mymod.Thing"};
    ckpt_load_opts o = {0};
    o.safe_globals = allow;
    o.safe_global_count = 1;
    doc = load(a, len, &o, &err);
    CHECK_OK(doc ? 0 : err.code, &err);
    CHECK_EQ_INT(ckpt_obj_type(ckpt_doc_root(doc)), CKPT_T_OBJECT);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_obj_get(ckpt_doc_root(doc), "a", NULL)), 1);
    ckpt_doc_free(doc);
    /* os stays blocked even when listed */
    static const char pkl2[] = "\x80\x02"
                               "cos\nsystem\n.";
    uint8_t *b = make_archive(pkl2, sizeof(pkl2) - 1, NULL, NULL, NULL, 0, &len);
    const char *const allow2[] = {"os.system"};
    o.safe_globals = allow2;
    doc = load(b, len, &o, &err);
    CHECK(!doc && err.code == CKPT_E_UNSAFE);
    free(a);
    free(b);
}

TEST(test_torch_load__setitem_on_tensor_refused)
{
    /* CVE-2026-24747 second half: SETITEM applied to a tensor */
    uint8_t pkl[600];
    size_t n = tensor_pickle(pkl, 6, 0, 6, "cpu");
    n--; /* drop STOP */
    memcpy(pkl + n, "K\x01K\x02s.", 6);
    n += 6;
    float data[6] = {0};
    const char *names[1] = {"data/0"};
    const void *datas[1] = {data};
    size_t lens[1] = {24};
    size_t len;
    uint8_t *a = make_archive((const char *)pkl, n, names, datas, lens, 1, &len);
    ckpt_error err;
    ckpt_doc *doc = load(a, len, NULL, &err);
    CHECK(!doc && err.code == CKPT_E_UNSAFE);
    free(a);
}

TEST(test_torch_load__torchscript_refused)
{
    static const char pkl[] = "\x80\x02}.";
    const char *names[1] = {"constants.pkl"};
    const void *datas[1] = {pkl};
    size_t lens[1] = {sizeof(pkl) - 1};
    size_t len;
    uint8_t *a = make_archive(pkl, sizeof(pkl) - 1, names, datas, lens, 1, &len);
    ckpt_error err;
    ckpt_doc *doc = load(a, len, NULL, &err);
    CHECK(!doc && err.code == CKPT_E_UNSAFE && strstr(err.msg, "TorchScript"));
    free(a);
}

/* ---- modes and map_location --------------------------------------------- */

static uint8_t *saved_pair(size_t *len)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    float v[12];
    for (int i = 0; i < 12; i++)
        v[i] = (float)i * 0.5f;
    int64_t shape[2] = {3, 4};
    ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_F32, 2, shape, v, NULL);
    ckpt_dict_set_str(doc, root, "w", t, NULL);
    int64_t b[1] = {5};
    ckpt_dict_set_str(doc, root, "b", ckpt_tensor_new_copy(doc, CKPT_I64, 1, b, NULL, NULL),
                      NULL);
    void *out = NULL;
    ckpt_error err = {0};
    int rc = ckpt_save_mem(root, NULL, &out, len, &err);
    ckpt_doc_free(doc);
    return rc == 0 ? out : NULL;
}

TEST(test_torch_load__three_modes)
{
    size_t len;
    uint8_t *a = saved_pair(&len);
    CHECK(a);
    ckpt_error err;
    /* COPY */
    ckpt_doc *doc = load(a, len, NULL, &err);
    CHECK_OK(doc ? 0 : err.code, &err);
    const ckpt_obj *w = ckpt_dict_get(ckpt_doc_root(doc), "w");
    ckpt_tensor_info ti;
    CHECK_EQ_INT(ckpt_tensor_get_info(w, &ti), 0);
    ckpt_storage_info si;
    CHECK_EQ_INT(ckpt_storage_get_info(ti.storage, &si), 0);
    CHECK_EQ_INT(si.hold, CKPT_HOLD_OWNED);
    CHECK(((const float *)ckpt_tensor_data(w))[11] == 5.5f);
    ckpt_doc_free(doc);
    /* MMAP from memory: tensors point into the buffer */
    ckpt_load_opts o = {0};
    o.mode = CKPT_LOAD_MMAP;
    doc = load(a, len, &o, &err);
    CHECK_OK(doc ? 0 : err.code, &err);
    w = ckpt_dict_get(ckpt_doc_root(doc), "w");
    const uint8_t *p = ckpt_tensor_data(w);
    CHECK(p >= a && p + 48 <= a + len);
    CHECK(((const float *)(const void *)p)[11] == 5.5f);
    ckpt_doc_free(doc);
    /* MMAP from a file */
    char path[] = "/tmp/ckpt_load_test_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, a, len) == (ssize_t)len);
    close(fd);
    doc = ckpt_load(path, &o, &err);
    CHECK_OK(doc ? 0 : err.code, &err);
    w = ckpt_dict_get(ckpt_doc_root(doc), "w");
    CHECK_EQ_INT(ckpt_tensor_get_info(w, &ti), 0);
    CHECK_EQ_INT(ckpt_storage_get_info(ti.storage, &si), 0);
    CHECK_EQ_INT(si.hold, CKPT_HOLD_MAPPED);
    CHECK(((const float *)ckpt_tensor_data(w))[11] == 5.5f);
    ckpt_doc_free(doc);
    /* LAZY from the file */
    o.mode = CKPT_LOAD_LAZY;
    doc = ckpt_load(path, &o, &err);
    CHECK_OK(doc ? 0 : err.code, &err);
    w = ckpt_dict_get(ckpt_doc_root(doc), "w");
    CHECK(ckpt_tensor_data(w) == NULL);
    const float *f = ckpt_tensor_data_load(doc, w, &err);
    CHECK(f && f[11] == 5.5f);
    CHECK(ckpt_tensor_data(w) == f);
    CHECK(ckpt_tensor_data_load(doc, w, &err) == f);
    ckpt_doc_free(doc);
    /* a lazy doc from memory */
    doc = load(a, len, &o, &err);
    CHECK_OK(doc ? 0 : err.code, &err);
    const ckpt_obj *bt = ckpt_dict_get(ckpt_doc_root(doc), "b");
    const int64_t *bi = ckpt_tensor_data_load(doc, bt, &err);
    CHECK(bi && bi[4] == 0);
    ckpt_doc_free(doc);
    unlink(path);
    free(a);
}

static int map_fn(void *payload, const char *tag, char *out, size_t n)
{
    int *calls = payload;
    (*calls)++;
    if (strcmp(tag, "cuda:1") == 0) {
        snprintf(out, n, "cpu");
        return 1;
    }
    return 0;
}

TEST(test_torch_load__map_location)
{
    size_t len;
    uint8_t *a = tensor_archive(6, 0, 6, 24, "cuda:1", &len);
    ckpt_error err;
    ckpt_doc *doc = load(a, len, NULL, &err);
    CHECK(!doc && err.code == CKPT_E_UNSUPPORTED);
    CHECK(strstr(err.msg, "CUDA") && strstr(err.msg, "map_location"));
    ckpt_load_opts o = {0};
    o.map_location = "cpu";
    doc = load(a, len, &o, &err);
    CHECK_OK(doc ? 0 : err.code, &err);
    ckpt_tensor_info ti;
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_doc_root(doc), &ti), 0);
    CHECK_STR(ti.device, "cpu");
    ckpt_doc_free(doc);
    /* pairs */
    memset(&o, 0, sizeof(o));
    ckpt_location_pair pairs[2] = {{"cuda:0", "cuda:1"}, {"cuda:1", "cpu"}};
    o.map_pairs = pairs;
    o.map_pair_count = 2;
    doc = load(a, len, &o, &err);
    CHECK_OK(doc ? 0 : err.code, &err);
    ckpt_doc_free(doc);
    o.map_pair_count = 1; /* cuda:1 not mapped */
    doc = load(a, len, &o, &err);
    CHECK(!doc && err.code == CKPT_E_UNSUPPORTED);
    /* a string naming CUDA */
    memset(&o, 0, sizeof(o));
    o.map_location = "cuda:0";
    doc = load(a, len, &o, &err);
    CHECK(!doc && err.code == CKPT_E_UNSUPPORTED);
    /* callback */
    memset(&o, 0, sizeof(o));
    int calls = 0;
    o.map_fn = map_fn;
    o.map_payload = &calls;
    doc = load(a, len, &o, &err);
    CHECK_OK(doc ? 0 : err.code, &err);
    CHECK(calls >= 1);
    ckpt_doc_free(doc);
    /* keep_locations */
    memset(&o, 0, sizeof(o));
    o.keep_locations = true;
    doc = load(a, len, &o, &err);
    CHECK_OK(doc ? 0 : err.code, &err);
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_doc_root(doc), &ti), 0);
    CHECK_STR(ti.device, "cuda:1");
    CHECK(((const float *)ckpt_tensor_data(ckpt_doc_root(doc)))[5] == 5.0f);
    ckpt_doc_free(doc);
    free(a);
}

/* ---- sweeps --------------------------------------------------------------- */

/* Every non-empty tensor's byte range lies inside its storage. */
static int check_tensor(void *payload, const char *key, const ckpt_obj *t)
{
    (void)key;
    int *bad = payload;
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) != 0) {
        (*bad)++;
        return 0;
    }
    if (ti.numel == 0 || !ti.storage)
        return 0;
    ckpt_storage_info si;
    ckpt_storage_get_info(ti.storage, &si);
    uint64_t hi = (uint64_t)ti.storage_offset;
    for (int d = 0; d < ti.ndim; d++)
        hi += (uint64_t)(ti.shape[d] - 1) * (uint64_t)ti.stride[d];
    if ((hi + 1) * ckpt_dtype_size(ti.dtype) > si.nbytes)
        (*bad)++;
    return 0;
}

static bool tensors_in_bounds(const ckpt_doc *doc)
{
    int bad = 0;
    ckpt_obj_walk_tensors(ckpt_doc_root(doc), check_tensor, &bad, NULL);
    return bad == 0;
}

TEST(test_torch_load__truncation_every_offset)
{
    size_t len;
    uint8_t *a = saved_pair(&len);
    CHECK(a);
    int bad = 0;
    for (size_t cut = 0; cut < len; cut++) {
        uint8_t *c = malloc(cut ? cut : 1);
        memcpy(c, a, cut);
        for (int mode = 0; mode < 3; mode++) {
            ckpt_load_opts o = {0};
            o.mode = mode;
            ckpt_error err;
            ckpt_doc *doc = load(c, cut, &o, &err);
            if (doc) {
                if (!tensors_in_bounds(doc))
                    bad++;
            } else if (err.code >= 0) {
                fprintf(stderr, "cut %zu mode %d: NULL without an error\n", cut, mode);
                bad++;
            }
            ckpt_doc_free(doc);
        }
        free(c);
    }
    free(a);
    CHECK_EQ_INT(bad, 0);
}

TEST(test_torch_load__byte_flips_sampled)
{
    size_t len;
    uint8_t *a = saved_pair(&len);
    CHECK(a);
    uint8_t *c = malloc(len);
    uint32_t rng = 99;
    int bad = 0;
    for (int s = 0; s < 1500; s++) {
        rng = rng * 1103515245u + 12345u;
        size_t off = (rng >> 8) % len;
        memcpy(c, a, len);
        c[off] ^= (uint8_t)(1u << (s % 8));
        ckpt_load_opts o = {0};
        o.mode = s % 3;
        o.verify_crc = (s & 4) != 0;
        ckpt_error err;
        ckpt_doc *doc = load(c, len, &o, &err);
        if (doc) {
            if (!tensors_in_bounds(doc))
                bad++;
            const ckpt_obj *w = ckpt_dict_get(ckpt_doc_root(doc), "w");
            if (w && o.mode == CKPT_LOAD_LAZY)
                ckpt_tensor_data_load(doc, w, &err);
        } else if (err.code >= 0) {
            bad++;
        }
        ckpt_doc_free(doc);
    }
    free(c);
    free(a);
    CHECK_EQ_INT(bad, 0);
}

TEST(test_torch_load__out_of_memory_sweep)
{
    size_t len;
    uint8_t *a = saved_pair(&len);
    CHECK(a);
    int bad = 0;
    long n;
    for (n = 1; n < 5000; n++) {
        test_failing_alloc fa;
        test_failing_alloc_init(&fa, n);
        ckpt_load_opts o = {0};
        o.alloc = &fa.a;
        ckpt_error err;
        ckpt_doc *doc = load(a, len, &o, &err);
        int rc = doc ? 0 : err.code;
        ckpt_doc_free(doc);
        if (fa.live) {
            fprintf(stderr, "allocation %ld failed: %lld bytes leaked\n", n, fa.live);
            bad++;
        }
        if (rc == 0)
            break;
        if (rc != CKPT_E_NOMEM) {
            fprintf(stderr, "allocation %ld failed: %s (%s)\n", n, ckpt_status_name(rc), err.msg);
            bad++;
        }
    }
    CHECK(n > 2 && n < 5000);
    free(a);
    CHECK_EQ_INT(bad, 0);
}

TEST(test_torch_load__committed_fixtures)
{
    static const char *const names[] = {"checkpoint", "scalar_0dim",    "empty",
                                        "proto4",     "dtype_bfloat16", "dtype_complex128",
                                        "dtype_bool"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        char path[256];
        snprintf(path, sizeof(path), "tests/fixtures/torch/%s.pt", names[i]);
        ckpt_error err = {0};
        for (int mode = 0; mode < 3; mode++) {
            ckpt_load_opts o = {0};
            o.mode = mode;
            ckpt_doc *doc = ckpt_load(path, &o, &err);
            if (!doc && err.code == CKPT_E_UNSAFE)
                continue; /* floats in optimizer state etc. are fine to refuse here */
            CHECK_OK(doc ? 0 : err.code, &err);
            ckpt_doc_free(doc);
        }
    }
}

TEST_MAIN()
