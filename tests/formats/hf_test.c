/* tests/formats/hf_test.c - Hugging Face sharded checkpoints (src/store/hf.c):
 * round trips through .bin and safetensors shards, laziness (one shard open
 * at a time, a missing shard named when read), hostile indexes, and the
 * replace/clean-up rules of ckpt_hf_save.  torch as oracle: hf_check.py. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "ckpt/formats.h"
#include "util/test.h"

unsigned long long ckpt__hf_shard_opens(const ckpt_doc *doc);

static void rm_rf(const char *p)
{
    struct stat st;
    if (lstat(p, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(p);
        struct dirent *de;
        while (d && (de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char q[1024];
            snprintf(q, sizeof(q), "%s/%s", p, de->d_name);
            rm_rf(q);
        }
        if (d)
            closedir(d);
        rmdir(p);
    } else {
        unlink(p);
    }
}

static char *tmp_dir(char *buf, size_t n)
{
    snprintf(buf, n, "hf_test_XXXXXX");
    return mkdtemp(buf);
}

static bool exists(const char *dir, const char *name)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    struct stat st;
    return stat(p, &st) == 0;
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            n++;
    if (d)
        closedir(d);
    return n;
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char p[1024];
    snprintf(p, sizeof(p), "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(text, 1, strlen(text), f);
        fclose(f);
    }
}

/* A state dict of 8 float32 tensors of 16 floats (64 bytes each), plus a view
 * sharing the first one's storage, a transposed (non-contiguous) view of its
 * own storage and an empty tensor. */
static ckpt_doc *make_sd(bool with_views)
{
    ckpt_error err;
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    int64_t shape[2] = {4, 4};
    ckpt_storage *first = NULL;
    for (int i = 0; i < 8; i++) {
        float v[16];
        for (int k = 0; k < 16; k++)
            v[k] = (float)(i * 100 + k);
        ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_F32, 2, shape, v, &err);
        ckpt_tensor_info ti;
        ckpt_tensor_get_info(t, &ti);
        if (!first)
            first = (ckpt_storage *)(uintptr_t)ti.storage;
        char k[32];
        snprintf(k, sizeof(k), "layer.%d.weight", i);
        ckpt_dict_set_str(doc, sd, k, t, &err);
    }
    if (with_views) {
        int64_t vs[1] = {4};
        ckpt_obj *row = ckpt_tensor_new(doc, first, CKPT_F32, 1, vs, NULL, 8, &err);
        ckpt_dict_set_str(doc, sd, "tied.row", row, &err);
        float w[6] = {1, 2, 3, 4, 5, 6};
        int64_t s23[2] = {2, 3};
        ckpt_obj *base = ckpt_tensor_new_copy(doc, CKPT_F32, 2, s23, w, &err);
        ckpt_tensor_info bi;
        ckpt_tensor_get_info(base, &bi);
        int64_t s32[2] = {3, 2}, st[2] = {1, 3};
        ckpt_obj *tr = ckpt_tensor_new(doc, (ckpt_storage *)(uintptr_t)bi.storage, CKPT_F32, 2,
                                       s32, st, 0, &err);
        ckpt_dict_set_str(doc, sd, "transposed", tr, &err);
        int64_t z[1] = {0};
        ckpt_dict_set_str(doc, sd, "empty", ckpt_tensor_new_copy(doc, CKPT_I64, 1, z, NULL, &err),
                          &err);
    }
    ckpt_doc_set_root(doc, sd);
    return doc;
}

/* Every tensor of `a` equals (values, shape, dtype) the same key in `b` (read lazily). */
static int same_values(const ckpt_obj *a, ckpt_doc *bdoc)
{
    const ckpt_obj *b = ckpt_doc_root(bdoc);
    if (ckpt_obj_len(a) != ckpt_obj_len(b))
        return 0;
    for (size_t i = 0; i < ckpt_obj_len(a); i++) {
        const char *k = ckpt_obj_str(ckpt_dict_key(a, i), NULL);
        const ckpt_obj *x = ckpt_dict_value(a, i), *y = ckpt_dict_get(b, k);
        ckpt_tensor_info xi, yi;
        if (!y || ckpt_tensor_get_info(x, &xi) || ckpt_tensor_get_info(y, &yi))
            return 0;
        if (xi.dtype != yi.dtype || xi.ndim != yi.ndim || xi.nbytes != yi.nbytes)
            return 0;
        for (int d = 0; d < xi.ndim; d++)
            if (xi.shape[d] != yi.shape[d])
                return 0;
        ckpt_error err;
        if (yi.nbytes && !ckpt_tensor_data_load(bdoc, y, &err))
            return 0;
        unsigned char *p = malloc(xi.nbytes + 1), *q = malloc(xi.nbytes + 1);
        int ok = ckpt_tensor_copy_into(x, p, xi.nbytes, &err) == 0 &&
                 ckpt_tensor_copy_into(y, q, yi.nbytes, &err) == 0 &&
                 memcmp(p, q, xi.nbytes) == 0;
        free(p);
        free(q);
        if (!ok)
            return 0;
    }
    return 1;
}

TEST(hf_bin_round_trip)
{
    char dir[64], out[96];
    CHECK(tmp_dir(dir, sizeof(dir)));
    snprintf(out, sizeof(out), "%s/ckpt", dir);
    ckpt_doc *doc = make_sd(true);
    ckpt_error err;
    ckpt_hf_save_opts o;
    memset(&o, 0, sizeof(o));
    o.bin = true;
    o.max_shard_size = 150; /* two 64-byte storages per shard */
    o.no_fsync = true;
    CHECK_OK(ckpt_hf_save(out, ckpt_doc_root(doc), &o, &err), &err);
    CHECK(exists(out, "pytorch_model.bin.index.json"));
    CHECK(exists(out, "pytorch_model-00001-of-00005.bin"));
    CHECK(exists(out, "pytorch_model-00005-of-00005.bin"));
    CHECK(!exists(out, "pytorch_model.bin"));
    CHECK_EQ_INT(count_entries(dir), 1); /* no temporary folder left */
    ckpt_hf_report r;
    ckpt_doc *back = ckpt_hf_load_report(out, NULL, &r, &err);
    CHECK(back != NULL);
    CHECK_EQ_INT(r.format, CKPT_FMT_HF_BIN);
    CHECK_EQ_INT(r.shards, 5);
    CHECK_EQ_INT(r.tensors, 11);
    CHECK(r.has_total_size && r.total_size_ok);
    CHECK_EQ_INT(r.total_size, 8 * 64 + 24); /* hub: storage bytes, the view adds none */
    CHECK(same_values(ckpt_doc_root(doc), back));
    /* the tied row still shares layer.0.weight's storage in the loaded document */
    ckpt_tensor_info a, b;
    ckpt_tensor_get_info(ckpt_dict_get(ckpt_doc_root(back), "layer.0.weight"), &a);
    ckpt_tensor_get_info(ckpt_dict_get(ckpt_doc_root(back), "tied.row"), &b);
    CHECK(a.storage == b.storage);
    CHECK_STR(ckpt_hf_tensor_shard(back, ckpt_dict_get(ckpt_doc_root(back), "tied.row")),
              "pytorch_model-00001-of-00005.bin");
    CHECK_STR(ckpt_hf_tensor_shard(back, ckpt_dict_get(ckpt_doc_root(back), "empty")),
              "pytorch_model-00005-of-00005.bin");
    CHECK(ckpt_hf_tensor_shard(doc, ckpt_dict_get(ckpt_doc_root(doc), "empty")) == NULL);
    ckpt_doc_free(back);
    /* the index path works as well as the folder */
    char ip[160];
    snprintf(ip, sizeof(ip), "%s/pytorch_model.bin.index.json", out);
    back = ckpt_hf_load(ip, NULL, &err);
    CHECK(back != NULL);
    CHECK(same_values(ckpt_doc_root(doc), back));
    ckpt_doc_free(back);
    ckpt_doc_free(doc);
    rm_rf(dir);
}

TEST(hf_lazy_one_shard_at_a_time)
{
    char dir[64];
    CHECK(tmp_dir(dir, sizeof(dir)));
    ckpt_doc *doc = make_sd(false);
    ckpt_error err;
    ckpt_hf_save_opts o;
    memset(&o, 0, sizeof(o));
    o.bin = true;
    o.max_shard_size = 64; /* one tensor per shard: 8 shards */
    o.no_fsync = true;
    CHECK_OK(ckpt_hf_save(dir, ckpt_doc_root(doc), &o, &err), &err);
    ckpt_doc *back = ckpt_hf_load(dir, NULL, &err);
    CHECK(back != NULL);
    for (size_t i = 0; i < ckpt_doc_storage_count(back); i++) {
        ckpt_storage_info si;
        ckpt_storage_get_info(ckpt_doc_storage(back, i), &si);
        CHECK_EQ_INT(si.hold, CKPT_HOLD_LAZY);
        CHECK(si.data == NULL);
    }
    CHECK_EQ_INT(ckpt__hf_shard_opens(back), 0);
    /* a shard that disappears after the load: the others still read */
    char p[256], q[256];
    snprintf(p, sizeof(p), "%s/pytorch_model-00003-of-00008.bin", dir);
    snprintf(q, sizeof(q), "%s/moved-away", dir);
    CHECK(rename(p, q) == 0);
    const ckpt_obj *root = ckpt_doc_root(back);
    const float *f = ckpt_tensor_data_load(back, ckpt_dict_get(root, "layer.1.weight"), &err);
    CHECK(f != NULL);
    CHECK(f[3] == 103.0f);
    CHECK(ckpt_tensor_data_load(back, ckpt_dict_get(root, "layer.1.weight"), &err) == f);
    CHECK_EQ_INT(ckpt__hf_shard_opens(back), 1);
    ckpt_error_clear(&err);
    CHECK(ckpt_tensor_data_load(back, ckpt_dict_get(root, "layer.2.weight"), &err) == NULL);
    CHECK(strstr(err.msg, "pytorch_model-00003-of-00008.bin") != NULL);
    CHECK_STR(err.key, "layer.2.weight");
    f = ckpt_tensor_data_load(back, ckpt_dict_get(root, "layer.7.weight"), &err);
    CHECK(f != NULL && f[0] == 700.0f);
    /* a shard replaced after the load is refused, not read */
    CHECK(rename(q, p) == 0);
    snprintf(p, sizeof(p), "%s/pytorch_model-00005-of-00008.bin", dir);
    FILE *fp = fopen(p, "ab");
    CHECK(fp != NULL);
    fputc(0, fp);
    fclose(fp);
    ckpt_error_clear(&err);
    CHECK(ckpt_tensor_data_load(back, ckpt_dict_get(root, "layer.4.weight"), &err) == NULL);
    CHECK(strstr(err.msg, "changed") != NULL);
    ckpt_doc_free(back);
    ckpt_doc_free(doc);
    rm_rf(dir);
}

/* a good sharded folder, then each hostile index in its place */
TEST(hf_hostile_indexes)
{
    char dir[64], outside[64];
    CHECK(tmp_dir(dir, sizeof(dir)));
    CHECK(tmp_dir(outside, sizeof(outside)));
    ckpt_doc *doc = make_sd(false);
    ckpt_error err;
    ckpt_hf_save_opts o;
    memset(&o, 0, sizeof(o));
    o.bin = true;
    o.max_shard_size = 128; /* 4 shards of 2 */
    o.no_fsync = true;
    CHECK_OK(ckpt_hf_save(dir, ckpt_doc_root(doc), &o, &err), &err);
    CHECK_OK(ckpt_hf_save(outside, ckpt_doc_root(doc), &o, &err), &err);
    char ln[256], target[256];
    snprintf(ln, sizeof(ln), "%s/escape.bin", dir);
    snprintf(target, sizeof(target), "../%s/pytorch_model-00001-of-00004.bin", outside);
    CHECK(symlink(target, ln) == 0);
    static const char *S1 = "pytorch_model-00001-of-00004.bin";
    struct {
        const char *json;
        int code;
        const char *what;
    } cases[] = {
        {"{\"weight_map\": {\"layer.0.weight\": \"../x.bin\"}}", CKPT_E_FORMAT, "leaves"},
        {"{\"weight_map\": {\"layer.0.weight\": \"/etc/passwd\"}}", CKPT_E_FORMAT, "absolute"},
        {"{\"weight_map\": {\"layer.0.weight\": \"sub/../../x\"}}", CKPT_E_FORMAT, "leaves"},
        {"{\"weight_map\": {\"layer.0.weight\": \"escape.bin\", \"layer.1.weight\": "
         "\"escape.bin\"}}",
         CKPT_E_FORMAT, "outside"},
        {"{\"weight_map\": {\"layer.0.weight\": \"pytorch_model-00009-of-00009.bin\"}}",
         CKPT_E_IO, "pytorch_model-00009-of-00009.bin"},
        {"{\"weight_map\": {\"layer.0.weight\": \"a\", \"layer.0.weight\": \"b\"}}",
         CKPT_E_FORMAT, "twice"},
        {"[]", CKPT_E_FORMAT, "not a JSON object"},
        {"{\"weight_map\": \"pytorch_model-00001-of-00004.bin\"}", CKPT_E_FORMAT, "weight_map"},
        {"{\"weight_map\": {\"layer.0.weight\": 3}}", CKPT_E_FORMAT, "not a file name"},
        {"{\"metadata\": [], \"weight_map\": {}}", CKPT_E_FORMAT, "metadata"},
        {"{\"weight_map\": {\"layer.0.weight\": \"x\\u0000y\"}}", CKPT_E_FORMAT, "u0000"},
        {"{\"weight_map\": {\"layer.0.weight\": \"\xff\"}}", CKPT_E_FORMAT, "UTF-8"},
        {"{\"weight_map\": {", CKPT_E_FORMAT, "JSON"},
        /* layer.1.weight is in shard 1 but missing from the map */
        {"{\"weight_map\": {\"layer.0.weight\": \"pytorch_model-00001-of-00004.bin\"}}",
         CKPT_E_FORMAT, "not in the index"},
        /* a key the shard does not have */
        {"{\"weight_map\": {\"layer.0.weight\": \"pytorch_model-00001-of-00004.bin\", "
         "\"layer.1.weight\": \"pytorch_model-00001-of-00004.bin\", \"ghost\": "
         "\"pytorch_model-00001-of-00004.bin\"}}",
         CKPT_E_FORMAT, "no such tensor"},
        /* a key put in the wrong shard */
        {"{\"weight_map\": {\"layer.0.weight\": \"pytorch_model-00002-of-00004.bin\", "
         "\"layer.1.weight\": \"pytorch_model-00001-of-00004.bin\", \"layer.2.weight\": "
         "\"pytorch_model-00002-of-00004.bin\", \"layer.3.weight\": "
         "\"pytorch_model-00002-of-00004.bin\"}}",
         CKPT_E_FORMAT, "weight_map puts it"},
    };
    (void)S1;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        write_text(dir, "pytorch_model.bin.index.json", cases[i].json);
        ckpt_error_clear(&err);
        ckpt_doc *d = ckpt_hf_load(dir, NULL, &err);
        if (d || err.code != cases[i].code || !strstr(err.msg, cases[i].what)) {
            fprintf(stderr, "case %zu: %s -> code %d msg %s\n", i, cases[i].json, err.code,
                    err.msg);
            ckpt_doc_free(d);
        }
        CHECK(d == NULL);
        CHECK_EQ_INT(err.code, cases[i].code);
        CHECK(strstr(err.msg, cases[i].what) != NULL);
    }
    /* a folder with nothing to load */
    char empty[64];
    CHECK(tmp_dir(empty, sizeof(empty)));
    ckpt_error_clear(&err);
    CHECK(ckpt_hf_load(empty, NULL, &err) == NULL);
    CHECK(strstr(err.msg, "model.safetensors") != NULL);
    rm_rf(empty);
    ckpt_doc_free(doc);
    rm_rf(dir);
    rm_rf(outside);
}

TEST(hf_total_size_is_a_note)
{
    char dir[64];
    CHECK(tmp_dir(dir, sizeof(dir)));
    ckpt_doc *doc = make_sd(false);
    ckpt_error err;
    ckpt_hf_save_opts o;
    memset(&o, 0, sizeof(o));
    o.bin = true;
    o.max_shard_size = 256;
    o.no_fsync = true;
    CHECK_OK(ckpt_hf_save(dir, ckpt_doc_root(doc), &o, &err), &err);
    write_text(dir, "pytorch_model.bin.index.json",
               "{\"metadata\": {\"total_size\": 12, \"format\": \"x\"}, \"weight_map\": {"
               "\"layer.0.weight\": \"pytorch_model-00001-of-00002.bin\", \"layer.1.weight\": "
               "\"pytorch_model-00001-of-00002.bin\", \"layer.2.weight\": "
               "\"pytorch_model-00001-of-00002.bin\", \"layer.3.weight\": "
               "\"pytorch_model-00001-of-00002.bin\", \"layer.4.weight\": "
               "\"pytorch_model-00002-of-00002.bin\", \"layer.5.weight\": "
               "\"pytorch_model-00002-of-00002.bin\", \"layer.6.weight\": "
               "\"pytorch_model-00002-of-00002.bin\", \"layer.7.weight\": "
               "\"pytorch_model-00002-of-00002.bin\"}}");
    ckpt_hf_report r;
    ckpt_doc *back = ckpt_hf_load_report(dir, NULL, &r, &err);
    CHECK(back != NULL);
    CHECK(r.has_total_size && !r.total_size_ok);
    CHECK_EQ_INT(r.storage_bytes, 512);
    const ckpt_obj *md = ckpt_doc_metadata(back);
    CHECK(md != NULL);
    CHECK_STR(ckpt_obj_str(ckpt_dict_get(md, "format"), NULL), "x");
    CHECK_EQ_INT(ckpt_obj_int(ckpt_dict_get(md, "total_size")), 12);
    ckpt_doc_free(back);
    ckpt_doc_free(doc);
    rm_rf(dir);
}

/* Saving over an earlier save: the new index (or unsharded file) wins, what the
 * earlier one left is removed, other files stay. */
TEST(hf_resave_replaces)
{
    char dir[64];
    CHECK(tmp_dir(dir, sizeof(dir)));
    write_text(dir, "config.json", "{}");
    write_text(dir, "model-notes.txt", "keep");
    ckpt_doc *doc = make_sd(false);
    ckpt_error err;
    ckpt_hf_save_opts o;
    memset(&o, 0, sizeof(o));
    o.bin = true;
    o.max_shard_size = 128;
    o.no_fsync = true;
    CHECK_OK(ckpt_hf_save(dir, ckpt_doc_root(doc), &o, &err), &err);
    CHECK_EQ_INT(count_entries(dir), 2 + 4 + 1);
    o.max_shard_size = 0; /* 5 GB: unsharded */
    CHECK_OK(ckpt_hf_save(dir, ckpt_doc_root(doc), &o, &err), &err);
    CHECK(exists(dir, "pytorch_model.bin"));
    CHECK(!exists(dir, "pytorch_model.bin.index.json"));
    CHECK_EQ_INT(count_entries(dir), 2 + 1);
    ckpt_doc *back = ckpt_hf_load(dir, NULL, &err);
    CHECK(back && same_values(ckpt_doc_root(doc), back));
    ckpt_doc_free(back);
    o.max_shard_size = 300;
    CHECK_OK(ckpt_hf_save(dir, ckpt_doc_root(doc), &o, &err), &err);
    CHECK(!exists(dir, "pytorch_model.bin"));
    CHECK(exists(dir, "pytorch_model-00002-of-00002.bin"));
    CHECK_EQ_INT(count_entries(dir), 2 + 2 + 1);
    CHECK(exists(dir, "config.json") && exists(dir, "model-notes.txt"));
    back = ckpt_hf_load(dir, NULL, &err);
    CHECK(back && same_values(ckpt_doc_root(doc), back));
    ckpt_doc_free(back);
    /* refusals leave the folder as it was */
    ckpt_obj *bad = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_dict_set_str(doc, bad, "x", ckpt_int_new(doc, 3), &err);
    ckpt_error_clear(&err);
    CHECK(ckpt_hf_save(dir, bad, &o, &err) == CKPT_E_UNSUPPORTED);
    CHECK_STR(err.key, "x");
    CHECK_EQ_INT(count_entries(dir), 2 + 2 + 1);
    char nd[128];
    snprintf(nd, sizeof(nd), "%s/new", dir);
    CHECK(ckpt_hf_save(nd, bad, &o, &err) < 0);
    CHECK(!exists(dir, "new"));
    ckpt_doc_free(doc);
    rm_rf(dir);
}

/* Missing parent folders are created, as save_pretrained's os.makedirs does; a
 * parent that is a file is an error naming it, and nothing is left behind. */
TEST(hf_save_makes_parents)
{
    char dir[64], nested[160], blocked[160];
    CHECK(tmp_dir(dir, sizeof(dir)));
    ckpt_doc *doc = make_sd(false);
    ckpt_error err;
    ckpt_hf_save_opts o;
    memset(&o, 0, sizeof(o));
    o.max_shard_size = 128;
    o.no_fsync = true;
    snprintf(nested, sizeof(nested), "%s/a/b/model", dir);
    CHECK_OK(ckpt_hf_save(nested, ckpt_doc_root(doc), &o, &err), &err);
    CHECK(exists(nested, "model.safetensors.index.json"));
    ckpt_doc *back = ckpt_hf_load(nested, NULL, &err);
    CHECK(back && same_values(ckpt_doc_root(doc), back));
    ckpt_doc_free(back);
    write_text(dir, "file", "x");
    snprintf(blocked, sizeof(blocked), "%s/file/sub/model", dir);
    ckpt_error_clear(&err);
    CHECK(ckpt_hf_save(blocked, ckpt_doc_root(doc), &o, &err) == CKPT_E_IO);
    CHECK(strstr(err.msg, "/file is not a folder") != NULL);
    snprintf(blocked, sizeof(blocked), "%s/file", dir);
    struct stat st;
    CHECK(stat(blocked, &st) == 0 && S_ISREG(st.st_mode));
    /* DCP too (FileSystemWriter's os.makedirs) */
    snprintf(nested, sizeof(nested), "%s/c/d/dcp", dir);
    CHECK_OK(ckpt_dcp_save(nested, ckpt_doc_root(doc), &err), &err);
    CHECK(exists(nested, ".metadata"));
    ckpt_doc_free(doc);
    rm_rf(dir);
}

/* A lazy document saved again: bytes are read shard by shard and dropped. */
TEST(hf_streaming_resave)
{
    char dir[64], d1[96], d2[96];
    CHECK(tmp_dir(dir, sizeof(dir)));
    snprintf(d1, sizeof(d1), "%s/a", dir);
    snprintf(d2, sizeof(d2), "%s/b", dir);
    ckpt_doc *doc = make_sd(true);
    ckpt_error err;
    ckpt_hf_save_opts o;
    memset(&o, 0, sizeof(o));
    o.bin = true;
    o.max_shard_size = 64;
    o.no_fsync = true;
    CHECK_OK(ckpt_hf_save(d1, ckpt_doc_root(doc), &o, &err), &err);
    ckpt_doc *lazy = ckpt_hf_load(d1, NULL, &err);
    CHECK(lazy != NULL);
    ckpt_error_clear(&err);
    CHECK(ckpt_hf_save(d2, ckpt_doc_root(lazy), &o, &err) == CKPT_E_ARG);
    o.source = lazy;
    o.max_shard_size = 200;
    CHECK_OK(ckpt_hf_save(d2, ckpt_doc_root(lazy), &o, &err), &err);
    for (size_t i = 0; i < ckpt_doc_storage_count(lazy); i++) {
        ckpt_storage_info si;
        ckpt_storage_get_info(ckpt_doc_storage(lazy, i), &si);
        CHECK(si.data == NULL);
    }
    ckpt_doc *back = ckpt_hf_load(d2, NULL, &err);
    CHECK(back && same_values(ckpt_doc_root(doc), back));
    ckpt_doc_free(back);
    ckpt_doc_free(lazy);
    ckpt_doc_free(doc);
    rm_rf(dir);
}

TEST(hf_safetensors_round_trip)
{
    char dir[64], out[96];
    CHECK(tmp_dir(dir, sizeof(dir)));
    snprintf(out, sizeof(out), "%s/st", dir);
    ckpt_doc *doc = make_sd(true);
    ckpt_error err;
    ckpt_hf_save_opts o;
    memset(&o, 0, sizeof(o));
    o.max_shard_size = 150;
    o.no_fsync = true;
    /* tied.row overlaps layer.0.weight: refused as transformers refuses it */
    ckpt_error_clear(&err);
    CHECK(ckpt_hf_save(out, ckpt_doc_root(doc), &o, &err) == CKPT_E_UNSUPPORTED);
    CHECK(strstr(err.msg, "layer.0.weight") && strstr(err.msg, "tied.row"));
    CHECK(!exists(dir, "st"));
    o.duplicate_shared = true;
    CHECK_OK(ckpt_hf_save(out, ckpt_doc_root(doc), &o, &err), &err);
    CHECK(exists(out, "model.safetensors.index.json"));
    CHECK(exists(out, "model-00001-of-00005.safetensors"));
    ckpt_hf_report r;
    ckpt_doc *back = ckpt_hf_load_report(out, NULL, &r, &err);
    CHECK(back != NULL);
    CHECK_EQ_INT(r.format, CKPT_FMT_HF);
    CHECK(same_values(ckpt_doc_root(doc), back));
    ckpt_doc_free(back);
    /* unsharded, next to a pytorch_model.bin: safetensors is preferred, as
     * transformers' from_pretrained prefers it */
    o.max_shard_size = 0;
    CHECK_OK(ckpt_hf_save(out, ckpt_doc_root(doc), &o, &err), &err);
    CHECK(exists(out, "model.safetensors") && !exists(out, "model.safetensors.index.json"));
    CHECK_EQ_INT(count_entries(out), 1);
    ckpt_doc *one = make_sd(false);
    o.bin = true;
    CHECK_OK(ckpt_hf_save(out, ckpt_doc_root(one), &o, &err), &err);
    CHECK_EQ_INT(count_entries(out), 2);
    back = ckpt_hf_load_report(out, NULL, &r, &err);
    CHECK(back != NULL);
    CHECK_EQ_INT(r.format, CKPT_FMT_HF);
    CHECK(!r.sharded);
    CHECK(same_values(ckpt_doc_root(doc), back));
    ckpt_doc_free(back);
    ckpt_doc_free(one);
    ckpt_doc_free(doc);
    rm_rf(dir);
}

TEST_MAIN()
