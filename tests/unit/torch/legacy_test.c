/* tests/unit/torch/legacy_test.c - the pre-zip readers (legacy stream, tar) and
 * format detection: real files, committed fixtures (views, byte strings,
 * big-endian sys_info, protocols 1-5, whole-module ids, tar), malformed files,
 * truncation / corruption / out-of-memory sweeps, and what a file that is not
 * a torch file is called. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/zip.h"
#include "core/bytes.h"
#include "torch/torch_internal.h"
#include "util/test.h"

#define REAL "../shared/fixtures/real/torch_legacy/"
#define FIX "tests/fixtures/legacy/"

/* ---- helpers ----------------------------------------------------------- */

typedef struct cb_ctx {
    const uint8_t *b;
    size_t n;
} cb_ctx;

static int cb_read(void *ctx, uint64_t off, void *buf, size_t n, ckpt_error *err)
{
    cb_ctx *c = ctx;
    if (off > c->n || n > c->n - off) {
        err->code = CKPT_E_IO;
        return CKPT_E_IO;
    }
    memcpy(buf, c->b + off, n);
    return 0;
}

/* Load from memory (via == 0) or through a callback source without `base` (via == 1). */
static ckpt_doc *load_via(int via, const uint8_t *b, size_t n, const ckpt_load_opts *o,
                          ckpt_error *err)
{
    ckpt_error_clear(err);
    if (via == 0)
        return ckpt_load_mem(b, n, "mem", o, err);
    cb_ctx c = {b, n};
    ckpt_source src;
    ckpt_source_init_callback(&src, cb_read, &c, n, "cb");
    return ckpt_load_source(&src, o, err);
}

static void print_err(const ckpt_error *err)
{
    char buf[1024];
    fprintf(stderr, "  error: %s\n", ckpt_error_format(err, buf, sizeof(buf)));
}

/* A small legacy file written by ckpt: {"w": f32[2,3], "b": i64[3], "s": "hi"}. */
static uint8_t *small_legacy(size_t *len)
{
    ckpt_error err = {0};
    ckpt_doc *d = ckpt_doc_new(NULL, &err);
    float w[6] = {1, 2, 3, 4, 5, 6};
    int64_t b[3] = {-1, 0, 1};
    int64_t sw[2] = {2, 3}, sb[1] = {3};
    ckpt_obj *root = ckpt_dict_new(d, CKPT_DICT_ORDERED);
    ckpt_dict_set_str(d, root, "w", ckpt_tensor_new_copy(d, CKPT_F32, 2, sw, w, &err), &err);
    ckpt_dict_set_str(d, root, "b", ckpt_tensor_new_copy(d, CKPT_I64, 1, sb, b, &err), &err);
    ckpt_dict_set_str(d, root, "s", ckpt_str_new(d, "hi"), &err);
    ckpt_doc_set_root(d, root);
    ckpt_save_opts so;
    memset(&so, 0, sizeof(so));
    so.layout = CKPT_LAYOUT_LEGACY;
    void *out = NULL;
    if (ckpt_save_mem(root, &so, &out, len, &err) != 0) {
        print_err(&err);
        out = NULL;
    }
    ckpt_doc_free(d);
    return out;
}

static const ckpt_obj *tensor_at(const ckpt_doc *d, const char *key)
{
    const ckpt_obj *t = ckpt_obj_get(ckpt_doc_root(d), key, NULL);
    return t && ckpt_obj_type(t) == CKPT_T_TENSOR ? t : NULL;
}

static const ckpt_storage *storage_of(const ckpt_obj *t)
{
    ckpt_tensor_info ti;
    return ckpt_tensor_get_info(t, &ti) == 0 ? ti.storage : NULL;
}

static const uint8_t *storage_data(const ckpt_storage *s)
{
    ckpt_storage_info si;
    return ckpt_storage_get_info(s, &si) == 0 ? si.data : NULL;
}

/* Legacy header (magic, protocol 1001, sys_info) + `obj` pickle + `keys` pickle + raw. */
static uint8_t *craft(const char *obj, size_t olen, const char *keys, size_t klen,
                      const void *raw, size_t rlen, size_t *len)
{
    static const char head[] = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."
                               "\x80\x02M\xe9\x03."
                               "\x80\x02}q\x00X\x0d\x00\x00\x00little_endianq\x01\x88s.";
    size_t hl = sizeof(head) - 1;
    *len = hl + olen + klen + rlen;
    uint8_t *b = malloc(*len);
    memcpy(b, head, hl);
    memcpy(b + hl, obj, olen);
    memcpy(b + hl + olen, keys, klen);
    if (rlen)
        memcpy(b + hl + olen + klen, raw, rlen);
    return b;
}

#define PID_HEAD                                                                                 \
    "\x80\x02(X\x07\x00\x00\x00storagectorch\nFloatStorage\nX\x01\x00\x00\x00"                   \
    "0X\x03\x00\x00\x00"                                                                         \
    "cpu"
#define KEYS0                                                                                    \
    "\x80\x02]X\x01\x00\x00\x00"                                                                 \
    "0a."

/* Load a crafted file; expect failure with `code` and `part` in the message. */
static int crafted_fails(const char *obj, size_t olen, const char *keys, size_t klen,
                         const void *raw, size_t rlen, int code, const char *part)
{
    size_t len;
    uint8_t *b = craft(obj, olen, keys, klen, raw, rlen, &len);
    int ok = 1;
    for (int via = 0; via < 2; via++) {
        ckpt_error err;
        ckpt_load_opts o;
        memset(&o, 0, sizeof(o));
        o.limits.max_alloc_bytes = 1 << 20;
        ckpt_doc *d = load_via(via, b, len, &o, &err);
        if (d || err.code != code || (part && !strstr(err.msg, part))) {
            fprintf(stderr, "  via %d: expected %s containing '%s'\n", via,
                    ckpt_status_name(code), part ? part : "");
            if (!d)
                print_err(&err);
            ok = 0;
        }
        ckpt_doc_free(d);
    }
    free(b);
    return ok;
}

/* ---- real files and fixtures ------------------------------------------- */

TEST(test_torch_legacy__real_files)
{
    static const struct {
        const char *name;
        int dtype;
        size_t nbytes;
    } files[] = {
        {"nlpodyssey__gopickle__pytorch__testdata__tensor_float32_proto1.pt", CKPT_F32, 16},
        {"nlpodyssey__gopickle__pytorch__testdata__tensor_float64_proto1.pt", CKPT_F64, 32},
        {"nlpodyssey__gopickle__pytorch__testdata__tensor_float16_proto2.pt", CKPT_F16, 8},
        {"nlpodyssey__gopickle__pytorch__testdata__tensor_bfloat16_proto3.pt", CKPT_BF16, 8},
        {"nlpodyssey__gopickle__pytorch__testdata__tensor_int64_proto4.pt", CKPT_I64, 32},
        {"nlpodyssey__gopickle__pytorch__testdata__tensor_bool_proto5.pt", CKPT_BOOL, 4},
    };
    SKIP_UNLESS_DIR(REAL);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        char path[512];
        snprintf(path, sizeof(path), REAL "%s", files[i].name);
        size_t len;
        uint8_t *b = test_read_file(path, &len);
        CHECK(b != NULL);
        for (int via = 0; via < 2; via++) {
            ckpt_error err;
            ckpt_doc *d = load_via(via, b, len, NULL, &err);
            if (!d)
                print_err(&err);
            CHECK(d != NULL);
            ckpt_tensor_info ti;
            CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_doc_root(d), &ti), 0);
            CHECK_EQ_INT(ti.dtype, files[i].dtype);
            CHECK_EQ_INT(ti.nbytes, files[i].nbytes);
            if (i == 0) {
                const float *f = ckpt_tensor_data(ckpt_doc_root(d));
                CHECK(f[0] == 1.2f && f[1] == -3.4f && f[2] == 5.6f && f[3] == -7.8f);
            }
            ckpt_doc_free(d);
        }
        free(b);
    }
    ckpt_error err;
    ckpt_doc *d = ckpt_load(REAL "mmaitre314__picklescan__tests__data__pytorch_model.bin", NULL,
                            &err);
    CHECK(d != NULL);
    CHECK_EQ_INT(ckpt_obj_len(ckpt_doc_root(d)), 38);
    ckpt_doc_free(d);
    d = ckpt_load(REAL "IronySuzumiya__pytorch-admm-pruning__mnist_cnn.pt", NULL, &err);
    CHECK(d != NULL);
    CHECK_EQ_INT(ckpt_obj_len(ckpt_doc_root(d)), 8);
    ckpt_doc_free(d);
}

TEST(test_torch_legacy__roundtrip_small)
{
    size_t len;
    uint8_t *b = small_legacy(&len);
    CHECK(b != NULL);
    for (int via = 0; via < 2; via++) {
        ckpt_error err;
        ckpt_doc *d = load_via(via, b, len, NULL, &err);
        CHECK(d != NULL);
        const float *w = ckpt_tensor_data(tensor_at(d, "w"));
        const int64_t *bb = ckpt_tensor_data(tensor_at(d, "b"));
        CHECK(w && bb);
        CHECK(w[0] == 1 && w[5] == 6 && bb[0] == -1 && bb[2] == 1);
        CHECK_STR(ckpt_obj_str(ckpt_obj_get(ckpt_doc_root(d), "s", NULL), NULL), "hi");
        ckpt_doc_free(d);
    }
    free(b);
}

TEST(test_torch_legacy__views_share_root)
{
    ckpt_error err;
    ckpt_doc *d = ckpt_load(FIX "stream_views.pt", NULL, &err);
    if (!d)
        print_err(&err);
    CHECK(d != NULL);
    const ckpt_storage *root = storage_of(tensor_at(d, "whole"));
    const ckpt_storage *v1 = storage_of(tensor_at(d, "v1"));
    const ckpt_storage *v1t = storage_of(tensor_at(d, "v1_tail"));
    const ckpt_storage *v2 = storage_of(tensor_at(d, "v2"));
    CHECK(root && v1 && v2 && v1 != root && v1 == v1t && v2 != v1);
    CHECK(storage_data(v1) == storage_data(root) + 8);
    CHECK(storage_data(v2) == storage_data(root));
    ckpt_storage_info si;
    CHECK_EQ_INT(ckpt_storage_get_info(v1, &si), 0);
    CHECK_EQ_INT(si.nbytes, 12);
    CHECK_EQ_INT(si.hold, CKPT_HOLD_BORROWED);
    const float *t = ckpt_tensor_data(tensor_at(d, "v1_tail"));
    CHECK(t[0] == 3 && t[1] == 4);
    const int64_t *o = ckpt_tensor_data(tensor_at(d, "other"));
    CHECK(o[0] == -8 && o[1] == 9);
    CHECK_EQ_INT(ckpt_doc_storage_count(d), 4);
    ckpt_doc_free(d);
}

static int check_state_dict(const char *path)
{
    ckpt_error err;
    ckpt_doc *d = ckpt_load(path, NULL, &err);
    if (!d) {
        print_err(&err);
        return 0;
    }
    const float *w = ckpt_tensor_data(tensor_at(d, "weight"));
    const int64_t *ix = ckpt_tensor_data(tensor_at(d, "index"));
    const char *name = ckpt_obj_str(ckpt_obj_get(ckpt_doc_root(d), "name", NULL), NULL);
    int ok = w && ix && name && w[0] == 1.5f && w[1] == -2.25f && w[3] == 0.125f && ix[2] == 3 &&
             strncmp(name, "caf\xc3\xa9 xxx", 9) == 0 && strlen(name) == 306 &&
             ckpt_obj_int(ckpt_obj_get(ckpt_doc_root(d), "n", NULL)) == 3;
    ckpt_doc_free(d);
    if (!ok)
        fprintf(stderr, "  %s: wrong contents\n", path);
    return ok;
}

TEST(test_torch_legacy__bytestrings_protocols_bigendian)
{
    CHECK(check_state_dict(FIX "stream_bytestrings.pt"));
    CHECK(check_state_dict(FIX "stream_bigendian.pt"));
    CHECK(check_state_dict(FIX "stream_proto1.pt"));
    CHECK(check_state_dict(FIX "stream_proto4.pt"));
    CHECK(check_state_dict(FIX "stream_proto5.pt"));
}

TEST(test_torch_legacy__module_ids)
{
    ckpt_error err;
    ckpt_doc *d = ckpt_load(FIX "stream_module.pt", NULL, &err);
    CHECK(d == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_UNSAFE);
    CHECK(strstr(err.msg, "Linear") != NULL);
    ckpt_load_opts o;
    memset(&o, 0, sizeof(o));
    o.unsafe_full = true;
    d = ckpt_load(FIX "stream_module.pt", &o, &err);
    CHECK(d != NULL);
    const ckpt_obj *r = ckpt_doc_root(d);
    CHECK_EQ_INT(ckpt_obj_type(r), CKPT_T_OBJECT);
    CHECK_STR(ckpt_global_name(r), "Linear");
    const ckpt_obj *w = ckpt_obj_get(ckpt_object_state(r), "_parameters", "weight", NULL);
    ckpt_tensor_info ti;
    CHECK_EQ_INT(ckpt_tensor_get_info(w, &ti), 0);
    CHECK(ti.is_parameter && ti.nbytes == 16);
    ckpt_doc_free(d);
    /* a user allowlist entry lets the class through, as add_safe_globals would */
    static const char *const allow[] = {"torch.nn.modules.linear.Linear"};
    memset(&o, 0, sizeof(o));
    o.safe_globals = allow;
    o.safe_global_count = 1;
    d = ckpt_load(FIX "stream_module.pt", &o, &err);
    CHECK(d != NULL);
    ckpt_doc_free(d);
}

TEST(test_torch_legacy__tar)
{
    size_t len;
    uint8_t *b = test_read_file(FIX "tar_basic.pt", &len);
    CHECK(b != NULL);
    for (int via = 0; via < 2; via++) {
        ckpt_error err;
        ckpt_doc *d = load_via(via, b, len, NULL, &err);
        if (!d)
            print_err(&err);
        CHECK(d != NULL);
        const ckpt_obj *a = tensor_at(d, "a");
        CHECK(a && a == tensor_at(d, "again")); /* one tensor, two references */
        const ckpt_storage *root = storage_of(a), *view = storage_of(tensor_at(d, "view"));
        CHECK(view != root && storage_data(view) == storage_data(root) + 8);
        const float *v = ckpt_tensor_data(tensor_at(d, "view"));
        CHECK(v[0] == 3 && v[2] == 5);
        ckpt_tensor_info ti;
        CHECK_EQ_INT(ckpt_tensor_get_info(tensor_at(d, "strided"), &ti), 0);
        CHECK(ti.stride[0] == 2 && ti.storage_offset == 1 &&
              storage_of(tensor_at(d, "strided")) == root);
        const int64_t *l = ckpt_tensor_data(tensor_at(d, "long_tail"));
        CHECK(l[0] == 0 && l[1] == ((int64_t)1 << 40));
        CHECK_EQ_INT(ckpt_obj_len(ckpt_obj_get(ckpt_doc_root(d), "meta", NULL)), 3);
        ckpt_doc_free(d);
    }
    free(b);
    ckpt_error err;
    ckpt_doc *d = ckpt_load(FIX "tar_module.pt", NULL, &err);
    CHECK(d == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_UNSAFE);
    CHECK(strstr(err.msg, "OrderedDict") != NULL);
    ckpt_load_opts o;
    memset(&o, 0, sizeof(o));
    o.unsafe_full = true;
    d = ckpt_load(FIX "tar_module.pt", &o, &err);
    CHECK(d != NULL);
    CHECK_EQ_INT(ckpt_obj_type(ckpt_obj_get(ckpt_doc_root(d), "cls", NULL)), CKPT_T_GLOBAL);
    ckpt_doc_free(d);
}

/* ---- malformed --------------------------------------------------------- */

TEST(test_torch_legacy__wrong_byte_size)
{
    size_t len;
    uint8_t *b = small_legacy(&len);
    CHECK(b != NULL);
    /* the last storage is "w" (key "0" sorts first? keys are "0","1": w then b): b is last */
    size_t cnt_off = len - 24 - 8;
    CHECK_EQ_INT(ckpt_rd_u64le(b + cnt_off), 3);
    ckpt_wr_u64le(b + cnt_off, 4);
    for (int via = 0; via < 2; via++) {
        ckpt_error err;
        ckpt_doc *d = load_via(via, b, len, NULL, &err);
        CHECK(d == NULL);
        CHECK_EQ_INT(err.code, CKPT_E_FORMAT);
        CHECK(strstr(err.msg, "wrong byte size") != NULL);
        CHECK_EQ_INT(err.where, CKPT_WHERE_FILE);
        CHECK_EQ_INT(err.offset, cnt_off);
    }
    free(b);
}

TEST(test_torch_legacy__bad_header_pickles)
{
    size_t len;
    uint8_t *b = small_legacy(&len);
    CHECK(b != NULL);
    CHECK(memcmp(b + 15, "\x80\x02M\xe9\x03.", 6) == 0);
    b[19] = 0x04; /* 1001 -> 1257 */
    ckpt_error err;
    ckpt_doc *d = load_via(0, b, len, NULL, &err);
    CHECK(d == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_UNSUPPORTED);
    if (!strstr(err.msg, "1257"))
        print_err(&err);
    CHECK(strstr(err.msg, "1257") != NULL);
    b[19] = 0x03;
    b[5] ^= 1; /* magic number changed: no longer a torch file */
    d = load_via(0, b, len, NULL, &err);
    CHECK(d == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_FORMAT);
    CHECK(strstr(err.msg, "plain pickle") != NULL);
    free(b);
}

TEST(test_torch_legacy__crafted)
{
    static const uint8_t raw[8 + 8] = {2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0x3f, 0, 0, 0, 0x40};
    /* baseline: a bare storage of 2 floats loads */
    static const char ok_obj[] = PID_HEAD "K\x02Nt"
                                          "Q.";
    size_t len;
    uint8_t *b = craft(ok_obj, sizeof(ok_obj) - 1, KEYS0, sizeof(KEYS0) - 1, raw, 16, &len);
    ckpt_error err;
    ckpt_doc *d = load_via(1, b, len, NULL, &err);
    if (!d)
        print_err(&err);
    CHECK(d != NULL);
    CHECK_EQ_INT(ckpt_obj_type(ckpt_doc_root(d)), CKPT_T_STORAGE);
    ckpt_doc_free(d);
    free(b);
    /* a numel far beyond the file: refused before anything is allocated */
    static const char huge[] = PID_HEAD "\x8a\x06\x00\x00\x00\x00\x00\x01Nt"
                                        "Q.";
    CHECK(crafted_fails(huge, sizeof(huge) - 1, KEYS0, sizeof(KEYS0) - 1, raw, 16, CKPT_E_FORMAT,
                        "but the file is only"));
    /* key list: missing, twice, unknown, not a list */
    CHECK(crafted_fails(ok_obj, sizeof(ok_obj) - 1, "\x80\x02].", 4, raw, 16, CKPT_E_FORMAT,
                        "missing from the storage key list"));
    static const char twice[] = "\x80\x02](X\x01\x00\x00\x00"
                                "0X\x01\x00\x00\x00"
                                "0e.";
    CHECK(crafted_fails(ok_obj, sizeof(ok_obj) - 1, twice, sizeof(twice) - 1, raw, 16,
                        CKPT_E_FORMAT, "twice"));
    static const char unknown[] = "\x80\x02]X\x01\x00\x00\x00"
                                  "9a.";
    CHECK(crafted_fails(ok_obj, sizeof(ok_obj) - 1, unknown, sizeof(unknown) - 1, raw, 16,
                        CKPT_E_FORMAT, "never references"));
    CHECK(crafted_fails(ok_obj, sizeof(ok_obj) - 1, "\x80\x02K\x01.", 5, raw, 16, CKPT_E_FORMAT,
                        "expected a list"));
    /* raw data shorter than declared */
    CHECK(crafted_fails(ok_obj, sizeof(ok_obj) - 1, KEYS0, sizeof(KEYS0) - 1, raw, 12,
                        CKPT_E_FORMAT, "truncated"));
    /* views: out of the root's range, and a view key reused as a root */
    static const char vbad[] = PID_HEAD "K\x02X\x01\x00\x00\x00vK\x01K\x02\x87t"
                                        "Q.";
    CHECK(crafted_fails(vbad, sizeof(vbad) - 1, KEYS0, sizeof(KEYS0) - 1, raw, 16, CKPT_E_FORMAT,
                        "covers elements"));
    static const char vgood[] = PID_HEAD "K\x02X\x01\x00\x00\x00vK\x01K\x01\x87t"
                                         "Q.";
    b = craft(vgood, sizeof(vgood) - 1, KEYS0, sizeof(KEYS0) - 1, raw, 16, &len);
    d = load_via(0, b, len, NULL, &err);
    CHECK(d != NULL);
    const ckpt_storage *vs = ckpt_obj_storage(ckpt_doc_root(d));
    ckpt_storage_info si;
    CHECK_EQ_INT(ckpt_storage_get_info(vs, &si), 0);
    CHECK(si.nbytes == 4 && ((const float *)si.data)[0] == 2.0f);
    ckpt_doc_free(d);
    free(b);
    static const char vkey[] = "\x80\x02]X\x01\x00\x00\x00va.";
    CHECK(crafted_fails(vgood, sizeof(vgood) - 1, vkey, sizeof(vkey) - 1, raw, 16, CKPT_E_FORMAT,
                        "uses as a view"));
    /* persistent ids: wrong arity, unknown tag, module id with a non-class */
    static const char five[] = PID_HEAD "K\x02t"
                                        "Q.";
    CHECK(crafted_fails(five, sizeof(five) - 1, KEYS0, sizeof(KEYS0) - 1, raw, 16, CKPT_E_FORMAT,
                        "expected 6"));
    static const char tag[] = "\x80\x02(X\x04\x00\x00\x00"
                              "evalK\x01tQ.";
    CHECK(crafted_fails(tag, sizeof(tag) - 1, KEYS0, sizeof(KEYS0) - 1, raw, 16, CKPT_E_UNSAFE,
                        "unknown legacy persistent id"));
    static const char mod[] = "\x80\x02(X\x06\x00\x00\x00moduleK\x01NNtQ.";
    CHECK(crafted_fails(mod, sizeof(mod) - 1, KEYS0, sizeof(KEYS0) - 1, raw, 16, CKPT_E_FORMAT,
                        "module id"));
    /* an unlisted global in the object pickle: refused, named */
    static const char evil[] = "\x80\x02"
                               "c__builtin__\neval\nX\x01\x00\x00\x00"
                               "1\x85R.";
    CHECK(crafted_fails(evil, sizeof(evil) - 1, KEYS0, sizeof(KEYS0) - 1, raw, 16, CKPT_E_UNSAFE,
                        "eval"));
}

/* Cut a file at every length: a clean error (or, for a tar, success once the
 * members are complete), never a crash; ASan builds check for leaks. */
static int sweep_truncation(const uint8_t *b, size_t len, bool may_succeed_late, size_t step)
{
    int bad = 0;
    for (size_t n = 0; n < len; n += step) {
        for (int via = 0; via < 2; via++) {
            ckpt_error err;
            ckpt_doc *d = load_via(via, b, n, NULL, &err);
            if (d) {
                if (!may_succeed_late) {
                    fprintf(stderr, "  cut at %zu/%zu (via %d) loaded\n", n, len, via);
                    bad++;
                }
                ckpt_doc_free(d);
            } else if (err.code == 0 || !err.msg[0]) {
                fprintf(stderr, "  cut at %zu: no error recorded\n", n);
                bad++;
            }
        }
    }
    return bad;
}

TEST(test_torch_legacy__truncation_sweep)
{
    size_t len;
    uint8_t *b = small_legacy(&len);
    CHECK(b != NULL);
    CHECK_EQ_INT(sweep_truncation(b, len, false, 1), 0);
    free(b);
    b = test_read_file(FIX "stream_views.pt", &len);
    CHECK(b != NULL);
    CHECK_EQ_INT(sweep_truncation(b, len, false, 1), 0);
    free(b);
    b = test_read_file(FIX "tar_basic.pt", &len);
    CHECK(b != NULL);
    CHECK_EQ_INT(sweep_truncation(b, len, true, 7), 0);
    free(b);
    SKIP_UNLESS_DIR(REAL);
    b = test_read_file(REAL "nlpodyssey__gopickle__pytorch__testdata__tensor_float32_proto1.pt",
                       &len);
    CHECK(b != NULL);
    CHECK_EQ_INT(sweep_truncation(b, len, false, 1), 0);
    free(b);
}

TEST(test_torch_legacy__corruption_sweep)
{
    static const char *const files[] = {FIX "stream_views.pt", FIX "tar_basic.pt"};
    size_t len;
    int loaded = 0;
    uint8_t *s = small_legacy(&len);
    CHECK(s != NULL);
    for (size_t f = 0; f < 3; f++) {
        uint8_t *b = f == 0 ? s : test_read_file(files[f - 1], &len);
        CHECK(b != NULL);
        size_t lim = len < 4096 ? len : 4096; /* tar: headers and members */
        for (size_t i = 0; i < lim; i++) {
            for (int k = 0; k < 2; k++) {
                uint8_t old = b[i];
                b[i] = k ? (uint8_t)(old ^ 0xff) : (uint8_t)(old + 1);
                ckpt_error err;
                ckpt_doc *d = load_via((int)(i & 1), b, len, NULL, &err);
                if (d) {
                    loaded++;
                    ckpt_doc_free(d);
                } else {
                    CHECK(err.code != 0);
                }
                b[i] = old;
            }
        }
        free(b);
    }
    CHECK(loaded > 0); /* some flips only change values */
}

TEST(test_torch_legacy__oom_sweep)
{
    static const char *const files[] = {FIX "stream_views.pt", FIX "tar_basic.pt"};
    int bad = 0;
    for (size_t f = 0; f < 2; f++) {
        size_t len;
        uint8_t *b = test_read_file(files[f], &len);
        CHECK(b != NULL);
        for (int via = 0; via < 2; via++) {
            int done = 0;
            for (long k = 1; k < 400 && !done; k++) {
                test_failing_alloc fa;
                test_failing_alloc_init(&fa, k);
                ckpt_load_opts o;
                memset(&o, 0, sizeof(o));
                o.alloc = &fa.a;
                ckpt_error err;
                ckpt_doc *d = load_via(via, b, len, &o, &err);
                if (d) {
                    done = 1;
                    ckpt_doc_free(d);
                } else if (err.code != CKPT_E_NOMEM && err.code != CKPT_E_LIMIT) {
                    fprintf(stderr, "  %s alloc %ld: %s\n", files[f], k,
                            ckpt_status_name(err.code));
                    print_err(&err);
                    bad++;
                }
                if (fa.live != 0) {
                    fprintf(stderr, "  %s alloc %ld: %lld bytes leaked\n", files[f], k, fa.live);
                    bad++;
                }
            }
            if (!done)
                bad++;
        }
        free(b);
    }
    CHECK_EQ_INT(bad, 0);
}

/* ---- detection --------------------------------------------------------- */

static const char *detect(const void *b, size_t n, char *why, size_t wn, uint64_t *off)
{
    ckpt_source src;
    ckpt_source_init_mem(&src, b, n, "d");
    return ckpt__detect(&src, why, wn, off);
}

/* ckpt_load_mem fails with `code` and `part` in the message. */
static int load_says(const void *b, size_t n, int code, const char *part)
{
    ckpt_error err;
    ckpt_doc *d = load_via(0, b, n, NULL, &err);
    int ok = !d && err.code == code && strstr(err.msg, part) != NULL;
    if (!ok) {
        fprintf(stderr, "  expected %s with '%s'\n", ckpt_status_name(code), part);
        if (!d)
            print_err(&err);
    }
    ckpt_doc_free(d);
    return ok;
}

TEST(test_torch_legacy__detect_kinds)
{
    char why[300];
    uint64_t off;
    static const char lfs[] = "version https://git-lfs.github.com/spec/v1\n"
                              "oid sha256:4d7a2146\nsize 1725612\n";
    CHECK_STR(detect(lfs, sizeof(lfs) - 1, why, sizeof(why), &off), "git-lfs-pointer");
    CHECK(strstr(why, "1725612") && strstr(why, "git lfs pull"));
    CHECK(load_says(lfs, sizeof(lfs) - 1, CKPT_E_FORMAT, "git-LFS pointer"));
    static const char html[] = "\n  <!DOCTYPE html><html><body>Not found</body></html>";
    CHECK_STR(detect(html, sizeof(html) - 1, why, sizeof(why), &off), "html");
    CHECK(load_says(html, sizeof(html) - 1, CKPT_E_FORMAT, "HTML page"));
    uint8_t st[64] = {0};
    st[0] = 20;
    memcpy(st + 8, "{\"__metadata__\":{}} ", 20);
    CHECK_STR(detect(st, 28, why, sizeof(why), &off), "safetensors");
    CHECK(load_says(st, 28, CKPT_E_UNSUPPORTED, "safetensors"));
    CHECK_STR(detect(st, 20, why, sizeof(why), &off), "truncated-safetensors");
    uint8_t gg[24] = {'G', 'G', 'U', 'F', 3};
    CHECK_STR(detect(gg, sizeof(gg), why, sizeof(why), &off), "gguf");
    gg[4] = 9;
    CHECK_STR(detect(gg, sizeof(gg), why, sizeof(why), &off), "newer-version");
    CHECK(strstr(why, "version 9") != NULL && off == 4);
    CHECK(load_says(gg, sizeof(gg), CKPT_E_UNSUPPORTED, "newer than ckpt knows"));
    static const char npy[] = "\x93NUMPY\x01\x00v\x00{'descr': '<f4'}";
    CHECK_STR(detect(npy, sizeof(npy) - 1, why, sizeof(why), &off), "npy");
    static const char pk[] = "\x80\x02}q\x00.";
    CHECK_STR(detect(pk, sizeof(pk) - 1, why, sizeof(why), &off), "pickle");
    CHECK(load_says(pk, sizeof(pk) - 1, CKPT_E_FORMAT, "plain pickle stream (protocol 2)"));
    static const char p0[] = "(dp0\nS'a'\np1\nI1\ns.";
    CHECK_STR(detect(p0, sizeof(p0) - 1, why, sizeof(why), &off), "pickle");
    static const char evil[] = "\x80\x02"
                               "c__builtin__\neval\nX\x01\x00\x00\x00"
                               "1\x85R.";
    CHECK(load_says(evil, sizeof(evil) - 1, CKPT_E_UNSAFE, "eval"));
    static const char gz[] = "\x1f\x8b\x08\x00\x00\x00\x00\x00";
    CHECK_STR(detect(gz, 8, why, sizeof(why), &off), "gzip");
    static const char txt[] = "Entry not found\n";
    CHECK_STR(detect(txt, sizeof(txt) - 1, why, sizeof(why), &off), "text");
    CHECK(load_says(txt, sizeof(txt) - 1, CKPT_E_FORMAT, "text file"));
    CHECK_STR(detect(txt, 0, why, sizeof(why), &off), "empty");
    static const uint8_t bin[8] = {1, 2, 3, 0, 0xfe, 0, 0, 7};
    CHECK_STR(detect(bin, 8, why, sizeof(why), &off), "unknown");
    CHECK(load_says(bin, 8, CKPT_E_FORMAT, "first bytes 01 02 03 00"));
    size_t len;
    uint8_t *b = small_legacy(&len);
    CHECK(b != NULL);
    CHECK_STR(detect(b, len, why, sizeof(why), &off), "torch-legacy");
    free(b);
    b = test_read_file(FIX "tar_basic.pt", &len);
    CHECK(b != NULL);
    CHECK_STR(detect(b, len, why, sizeof(why), &off), "torch-tar");
    free(b);
    /* real files: without the corpus the reads return NULL, which must never reach detect() */
    SKIP_UNLESS_DIR(REAL);
    b = test_read_file(REAL "nlpodyssey__gopickle__pytorch__testdata__tensor_float32_proto1.pt",
                       &len);
    CHECK(b != NULL);
    CHECK_STR(detect(b, len, why, sizeof(why), &off), "torch-legacy");
    free(b);
    b = test_read_file(REAL "nlpodyssey__gopickle__pytorch__testdata__tensor_bool_proto5.pt",
                       &len);
    CHECK(b != NULL);
    CHECK_STR(detect(b, len, why, sizeof(why), &off), "torch-legacy");
    free(b);
}

static uint8_t *zip_of(const char *const *names, const char *const *data, size_t n, size_t *len)
{
    ckpt_error err = {0};
    ckpt_sink *s = ckpt_sink_new_mem(NULL, &err);
    ckpt_zip_writer *w = ckpt_zip_writer_new(s, "archive", 64, true, NULL, &err);
    for (size_t i = 0; i < n; i++)
        ckpt_zip_writer_add(w, names[i], data[i], strlen(data[i]), &err);
    uint8_t *out = NULL;
    if (ckpt_zip_writer_finish(w, &err) == 0)
        out = ckpt_sink_take_mem(s, len);
    ckpt_zip_writer_free(w);
    ckpt_sink_free(s);
    return out;
}

TEST(test_torch_legacy__detect_zips)
{
    char why[300];
    uint64_t off;
    size_t len;
    static const char *const tn[] = {"data.pkl", "data/0", "version"};
    static const char *const td[] = {"\x80\x02}q\x00.", "0123456789abcdef0123456789", "3\n"};
    uint8_t *z = zip_of(tn, td, 3, &len);
    CHECK(z != NULL);
    CHECK_STR(detect(z, len, why, sizeof(why), &off), "torch-zip");
    /* cut inside a record: the local header tells the size it needed */
    size_t cut = 150;
    if (strcmp(detect(z, cut, why, sizeof(why), &off), "truncated-zip") != 0)
        fprintf(stderr, "  %s\n", why);
    CHECK_STR(detect(z, cut, why, sizeof(why), &off), "truncated-zip");
    CHECK(strstr(why, "truncated at byte 150") != NULL && strstr(why, "data/0") != NULL);
    CHECK_EQ_INT(off, cut);
    /* cut right before the central directory */
    size_t cd = ckpt_rd_u32le(z + len - 22 + 16);
    CHECK_STR(detect(z, cd, why, sizeof(why), &off), "truncated-zip");
    CHECK(strstr(why, "3 complete records") != NULL);
    if (strcmp(detect(z, len - 10, why, sizeof(why), &off), "truncated-zip") != 0)
        fprintf(stderr, "  %s\n", why);
    CHECK_STR(detect(z, len - 10, why, sizeof(why), &off), "truncated-zip");
    free(z);
    /* sizes in the local header (zipfile, most tools): the expected size is known */
    uint8_t lh[80] = {'P', 'K', 3, 4};
    ckpt_wr_u32le(lh + 18, 100);
    ckpt_wr_u32le(lh + 22, 100);
    ckpt_wr_u16le(lh + 26, 8);
    memcpy(lh + 30, "data.pkl", 8);
    CHECK_STR(detect(lh, sizeof(lh), why, sizeof(why), &off), "truncated-zip");
    CHECK(strstr(why, "truncated at byte 80 of at least 138") != NULL);
    static const char *const vd[] = {"\x80\x02}q\x00.", "", "99\n"};
    z = zip_of(tn, vd, 3, &len);
    CHECK_STR(detect(z, len, why, sizeof(why), &off), "newer-version");
    CHECK(strstr(why, "version 99") != NULL);
    free(z);
    static const char *const sn[] = {"data.pkl", "constants.pkl", "version"};
    static const char *const sd[] = {"\x80\x02}q\x00.", "\x80\x02).", "3\n"};
    z = zip_of(sn, sd, 3, &len);
    CHECK_STR(detect(z, len, why, sizeof(why), &off), "torchscript");
    free(z);
    static const char *const nn[] = {"a.npy", "b.npy"};
    static const char *const nd[] = {"\x93NUMPY", "\x93NUMPY"};
    z = zip_of(nn, nd, 2, &len);
    CHECK_STR(detect(z, len, why, sizeof(why), &off), "npz");
    free(z);
    /* an empty zip (end record only) reaches the legacy loader: named, refused */
    static const uint8_t empty_zip[22] = {'P', 'K', 5, 6};
    CHECK(load_says(empty_zip, 22, CKPT_E_FORMAT, "zip archive"));
}

TEST_MAIN()
