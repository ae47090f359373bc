/* tests/unit/formats/safetensors_test.c - safetensors read and write (ckpt/formats.h):
 * the hostile corpus (tests/hostile/safetensors, MANIFEST.tsv: status, rule, key),
 * every real fixture read in the three modes with equal bytes, round trips of every
 * dtype, the library's own serialization bytes (safetensors/src/tensor.rs tests),
 * shared-memory refusal, non-contiguous views.  Values against an independent
 * reader (Python json + numpy) and torch are checked in tests/formats/st_oracle.py. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

#define HOSTILE "tests/hostile/safetensors/"
#define REAL "../shared/fixtures/real/safetensors"

static int status_of(const char *name)
{
    for (int c = 0; c > -40; c--)
        if (strlen(ckpt_status_name(c)) > 5 && strcmp(ckpt_status_name(c) + 5, name) == 0)
            return c;
    return 1;
}

TEST(test_formats_safetensors__hostile_corpus)
{
    FILE *f = fopen(HOSTILE "MANIFEST.tsv", "r");
    CHECK(f != NULL);
    char line[512];
    int n = 0, bad = 0;
    CHECK(fgets(line, sizeof(line), f) != NULL); /* header row */
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = '\0';
        char *file = strtok(line, "\t"), *code = strtok(NULL, "\t"), *rule = strtok(NULL, "\t"),
             *key = strtok(NULL, "\t");
        if (!file || !code || !rule || !key)
            continue;
        char path[256];
        snprintf(path, sizeof(path), HOSTILE "%s", file);
        int want = status_of(code);
        for (int mode = CKPT_LOAD_COPY; mode <= CKPT_LOAD_LAZY; mode++) {
            ckpt_error err;
            ckpt_doc *d = ckpt_safetensors_load(path, mode, NULL, &err);
            char msg[1024];
            ckpt_error_format(&err, msg, sizeof(msg));
            if (d || err.code != want || !strstr(err.msg, rule) ||
                (strcmp(key, "-") != 0 && strcmp(err.key, key) != 0) ||
                strcmp(err.file, path) != 0 || err.where != CKPT_WHERE_FILE) {
                fprintf(stderr, "%s (mode %d): want %s '%s' key %s, got %s\n", file, mode, code,
                        rule, key, d ? "a document" : msg);
                bad++;
            }
            ckpt_doc_free(d);
        }
        /* the scanner shares the validation: a file refused for a format rule is never
         * "clean" (it is unreadable, or names its trouble) */
        ckpt_scan_report *r = NULL;
        ckpt_error serr;
        if (ckpt_scan_file(path, NULL, &r, &serr) != 0 ||
            (want == CKPT_E_FORMAT && r->verdict == CKPT_SCAN_CLEAN)) {
            fprintf(stderr, "%s: the scanner calls it clean\n", file);
            bad++;
        }
        ckpt_scan_report_free(r);
        /* the same bytes from memory */
        size_t len;
        unsigned char *b = test_read_file(path, &len);
        CHECK(b != NULL);
        ckpt_doc *d = ckpt_safetensors_load_mem(b, len, "m", CKPT_LOAD_COPY, NULL, NULL);
        if (d) {
            fprintf(stderr, "%s: loaded from memory\n", file);
            bad++;
        }
        ckpt_doc_free(d);
        free(b);
        n++;
    }
    fclose(f);
    printf("%d hostile safetensors files refused with their rule named\n", n);
    CHECK(n >= 25);
    CHECK_EQ_INT(bad, 0);
}

/* Every tensor of two documents: same keys in the same order, dtype, shape, bytes. */
static int same_docs(ckpt_doc *a, ckpt_doc *b)
{
    const ckpt_obj *ra = ckpt_doc_root(a), *rb = ckpt_doc_root(b);
    if (ckpt_obj_len(ra) != ckpt_obj_len(rb))
        return 0;
    for (size_t i = 0; i < ckpt_obj_len(ra); i++) {
        const ckpt_obj *ta = ckpt_dict_value(ra, i), *tb = ckpt_dict_value(rb, i);
        if (strcmp(ckpt_obj_str(ckpt_dict_key(ra, i), NULL),
                   ckpt_obj_str(ckpt_dict_key(rb, i), NULL)) != 0)
            return 0;
        ckpt_tensor_info x, y;
        ckpt_tensor_get_info(ta, &x);
        ckpt_tensor_get_info(tb, &y);
        if (x.dtype != y.dtype || x.ndim != y.ndim || x.nbytes != y.nbytes)
            return 0;
        for (int d = 0; d < x.ndim; d++)
            if (x.shape[d] != y.shape[d])
                return 0;
        const void *pa = ckpt_tensor_data_load(a, ta, NULL),
                   *pb = ckpt_tensor_data_load(b, tb, NULL);
        if (x.nbytes && (!pa || !pb || memcmp(pa, pb, x.nbytes) != 0))
            return 0;
    }
    return 1;
}

TEST(test_formats_safetensors__real_files_three_modes)
{
    SKIP_UNLESS_DIR(REAL);
    DIR *dir = opendir(REAL);
    CHECK(dir != NULL);
    struct dirent *de;
    int n = 0, bad = 0;
    while ((de = readdir(dir))) {
        if (!strstr(de->d_name, ".safetensors"))
            continue;
        char path[512];
        snprintf(path, sizeof(path), REAL "/%s", de->d_name);
        ckpt_error err;
        ckpt_doc *c = ckpt_safetensors_load(path, CKPT_LOAD_COPY, NULL, &err);
        ckpt_doc *m = ckpt_safetensors_load(path, CKPT_LOAD_MMAP, NULL, &err);
        ckpt_doc *l = ckpt_safetensors_load(path, CKPT_LOAD_LAZY, NULL, &err);
        if (!c || !m || !l || !same_docs(c, m) || !same_docs(c, l)) {
            char msg[512];
            fprintf(stderr, "%s: %s\n", path, ckpt_error_format(&err, msg, sizeof(msg)));
            bad++;
        } else {
            /* mmap is zero copy: each storage is a slice of the mapping, unless the
             * data area is not aligned for the dtype (files written before the
             * library padded its header), when that one tensor is copied */
            size_t flen;
            unsigned char *fb = test_read_file(path, &flen);
            uint64_t start = 8;
            for (int i = 7; fb && flen >= 8 && i >= 0; i--)
                start += (uint64_t)fb[i] << (8 * i);
            free(fb);
            const ckpt_obj *mr = ckpt_doc_root(m);
            for (size_t i = 0; i < ckpt_obj_len(mr); i++) {
                ckpt_tensor_info ti;
                ckpt_storage_info si;
                ckpt_tensor_get_info(ckpt_dict_value(mr, i), &ti);
                ckpt_storage_get_info(ti.storage, &si);
                /* the root is in file order, the tensors tile the data area */
                bool aligned = start % ckpt_dtype_size(ti.dtype) == 0;
                start += ti.nbytes;
                if (ti.nbytes && si.hold != (aligned ? CKPT_HOLD_MAPPED : CKPT_HOLD_OWNED)) {
                    fprintf(stderr, "%s: tensor %zu held %d\n", path, i, si.hold);
                    bad++;
                }
            }
            /* the scanner's checker (the same validation) calls it valid */
            ckpt_scan_report *r = NULL;
            if (ckpt_scan_file(path, NULL, &r, &err) != 0 || r->verdict != CKPT_SCAN_CLEAN)
                bad++;
            ckpt_scan_report_free(r);
        }
        ckpt_doc_free(c);
        ckpt_doc_free(m);
        ckpt_doc_free(l);
        n++;
    }
    closedir(dir);
    printf("%d real safetensors files read alike in copy, mmap and lazy mode\n", n);
    CHECK(n >= 9);
    CHECK_EQ_INT(bad, 0);
}

static const int ALL_DTYPES[] = {CKPT_BOOL,       CKPT_U8,        CKPT_I8,     CKPT_U16,
                                 CKPT_I16,        CKPT_U32,       CKPT_I32,    CKPT_U64,
                                 CKPT_I64,        CKPT_F16,       CKPT_BF16,   CKPT_F32,
                                 CKPT_F64,        CKPT_F8E4M3FN,  CKPT_F8E5M2, CKPT_F8E4M3FNUZ,
                                 CKPT_F8E5M2FNUZ, CKPT_F8E8M0FNU, CKPT_C64};

TEST(test_formats_safetensors__roundtrip_every_dtype)
{
    ckpt_error err;
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    CHECK(doc != NULL);
    ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    uint32_t seed = 12345;
    size_t nd = sizeof(ALL_DTYPES) / sizeof(ALL_DTYPES[0]);
    for (size_t i = 0; i < nd; i++) {
        int64_t shape[2] = {3, (int64_t)i % 4 + 1};
        size_t nb = (size_t)(shape[0] * shape[1]) * ckpt_dtype_size(ALL_DTYPES[i]);
        unsigned char buf[256];
        for (size_t k = 0; k < nb; k++) {
            seed = seed * 1103515245u + 12345u;
            buf[k] = (unsigned char)(seed >> 16);
            if (ALL_DTYPES[i] == CKPT_BOOL)
                buf[k] &= 1;
        }
        ckpt_obj *t = ckpt_tensor_new_copy(doc, ALL_DTYPES[i], 2, shape, buf, &err);
        CHECK(t != NULL);
        char key[64];
        snprintf(key, sizeof(key), "layer.%s", ckpt_dtype_name(ALL_DTYPES[i]));
        CHECK_OK(ckpt_dict_set_str(doc, root, key, t, &err), &err);
    }
    int64_t zshape[2] = {0, 5};
    CHECK_OK(ckpt_dict_set_str(doc, root, "empty",
                               ckpt_tensor_new_copy(doc, CKPT_F32, 2, zshape, NULL, &err), &err),
             &err);
    CHECK_OK(ckpt_dict_set_str(doc, root, "scalar",
                               ckpt_tensor_new_copy(doc, CKPT_I64, 0, NULL, NULL, &err), &err),
             &err);
    ckpt_obj *md = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_OK(ckpt_dict_set_str(doc, md, "format", ckpt_str_new(doc, "pt"), &err), &err);
    CHECK_OK(ckpt_dict_set_str(doc, md, "note \"q\"\n\x01", ckpt_str_new(doc, "h\xc3\xa9"), &err),
             &err);
    ckpt_st_save_opts o = {md, false, true};
    void *mem = NULL;
    size_t len = 0;
    CHECK_OK(ckpt_safetensors_save_mem(root, &o, &mem, &len, &err), &err);
    /* the file form is the same bytes */
    char path[] = "/tmp/ckpt_st_rtXXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(ckpt_safetensors_save(path, root, &o, &err), &err);
    size_t flen;
    unsigned char *fb = test_read_file(path, &flen);
    CHECK(fb && flen == len && memcmp(fb, mem, len) == 0);
    free(fb);
    /* header length a multiple of 8, the data area 8-aligned */
    uint64_t hl = 0;
    for (int i = 7; i >= 0; i--)
        hl = (hl << 8) | ((unsigned char *)mem)[i];
    CHECK_EQ_INT(hl % 8, 0);
    int bad = 0;
    for (int mode = CKPT_LOAD_COPY; mode <= CKPT_LOAD_LAZY; mode++) {
        ckpt_doc *back = ckpt_safetensors_load(path, mode, NULL, &err);
        ckpt_doc *backm = ckpt_safetensors_load_mem(mem, len, "mem", mode, NULL, &err);
        CHECK(back != NULL && backm != NULL);
        const ckpt_obj *r2 = ckpt_doc_root(back);
        CHECK_EQ_INT(ckpt_obj_len(r2), nd + 2);
        /* every tensor bit-exact under its key (the file order is the writer's) */
        for (size_t i = 0; i < ckpt_obj_len(root); i++) {
            const char *k = ckpt_obj_str(ckpt_dict_key(root, i), NULL);
            const ckpt_obj *a = ckpt_dict_value(root, i), *b = ckpt_dict_get(r2, k);
            ckpt_tensor_info x, y;
            if (!b || ckpt_tensor_get_info(a, &x) < 0 || ckpt_tensor_get_info(b, &y) < 0 ||
                x.dtype != y.dtype || x.ndim != y.ndim || x.nbytes != y.nbytes ||
                (x.nbytes && memcmp(ckpt_tensor_data(a), ckpt_tensor_data_load(back, b, &err),
                                    x.nbytes) != 0)) {
                fprintf(stderr, "mode %d: %s differs\n", mode, k);
                bad++;
            }
        }
        CHECK(same_docs(back, backm));
        const ckpt_obj *m2 = ckpt_doc_metadata(back);
        CHECK(m2 != NULL && ckpt_obj_len(m2) == 2);
        CHECK_STR(ckpt_obj_str(ckpt_dict_get(m2, "format"), NULL), "pt");
        CHECK_STR(ckpt_obj_str(ckpt_dict_get(m2, "note \"q\"\n\x01"), NULL), "h\xc3\xa9");
        ckpt_doc_free(back);
        ckpt_doc_free(backm);
    }
    CHECK_EQ_INT(bad, 0);
    /* saving what was read gives the same bytes again */
    ckpt_doc *back = ckpt_safetensors_load_mem(mem, len, "mem", CKPT_LOAD_MMAP, NULL, &err);
    CHECK(back != NULL);
    ckpt_st_save_opts o2 = {ckpt_doc_metadata(back), false, true};
    void *mem2 = NULL;
    size_t len2 = 0;
    CHECK_OK(ckpt_safetensors_save_mem(ckpt_doc_root(back), &o2, &mem2, &len2, &err), &err);
    CHECK(len2 == len && memcmp(mem, mem2, len) == 0);
    ckpt_doc_free(back);
    free(mem2);
    free(mem);
    unlink(path);
    ckpt_doc_free(doc);
}

/* The bytes safetensors' own tests expect (safetensors/src/tensor.rs:
 * test_serialization, test_empty, test_serialization_forced_alignement). */
TEST(test_formats_safetensors__library_serialization_bytes)
{
    static const unsigned char want1[] = {64,  0,   0,   0,   0,   0,   0,   0,   123, 34,  97,
                                          116, 116, 110, 46,  48,  34,  58,  123, 34,  100, 116,
                                          121, 112, 101, 34,  58,  34,  70,  51,  50,  34,  44,
                                          34,  115, 104, 97,  112, 101, 34,  58,  91,  49,  44,
                                          50,  44,  51,  93,  44,  34,  100, 97,  116, 97,  95,
                                          111, 102, 102, 115, 101, 116, 115, 34,  58,  91,  48,
                                          44,  50,  52,  93,  125, 125, 0,   0,   0,   0,   0,
                                          0,   128, 63,  0,   0,   0,   64,  0,   0,   64,  64,
                                          0,   0,   128, 64,  0,   0,   160, 64};
    static const unsigned char want2[] = {
        72,  0,   0,   0,   0,   0,   0,   0,   123, 34, 97, 116, 116, 110, 48,  34,  58,  123,
        34,  100, 116, 121, 112, 101, 34,  58,  34,  70, 51, 50,  34,  44,  34,  115, 104, 97,
        112, 101, 34,  58,  91,  49,  44,  49,  44,  50, 44, 51,  93,  44,  34,  100, 97,  116,
        97,  95,  111, 102, 102, 115, 101, 116, 115, 34, 58, 91,  48,  44,  50,  52,  93,  125,
        125, 32,  32,  32,  32,  32,  32,  32,  0,   0,  0,  0,   0,   0,   128, 63,  0,   0,
        0,   64,  0,   0,   64,  64,  0,   0,   128, 64, 0,  0,   160, 64};
    static const unsigned char want_empty[] = {8,   0,   0,  0,  0,  0,  0,  0,
                                               123, 125, 32, 32, 32, 32, 32, 32};
    static const unsigned char want_meta[] = {40,  0,   0,   0,   0,   0,  0,   0,   123, 34,
                                              95,  95,  109, 101, 116, 97, 100, 97,  116, 97,
                                              95,  95,  34,  58,  123, 34, 102, 114, 97,  109,
                                              101, 119, 111, 114, 107, 34, 58,  34,  112, 116,
                                              34,  125, 125, 32,  32,  32, 32,  32};
    ckpt_error err;
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    float v[6] = {0, 1, 2, 3, 4, 5};
    int64_t s1[3] = {1, 2, 3}, s2[4] = {1, 1, 2, 3};
    ckpt_obj *d1 = ckpt_dict_new(doc, CKPT_DICT_PLAIN), *d2 = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_OK(ckpt_dict_set_str(doc, d1, "attn.0",
                               ckpt_tensor_new_copy(doc, CKPT_F32, 3, s1, v, &err), &err),
             &err);
    CHECK_OK(ckpt_dict_set_str(doc, d2, "attn0",
                               ckpt_tensor_new_copy(doc, CKPT_F32, 4, s2, v, &err), &err),
             &err);
    void *m;
    size_t n;
    CHECK_OK(ckpt_safetensors_save_mem(d1, NULL, &m, &n, &err), &err);
    CHECK(n == sizeof(want1) && memcmp(m, want1, n) == 0);
    free(m);
    CHECK_OK(ckpt_safetensors_save_mem(d2, NULL, &m, &n, &err), &err);
    CHECK(n == sizeof(want2) && memcmp(m, want2, n) == 0);
    free(m);
    ckpt_obj *e = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_OK(ckpt_safetensors_save_mem(e, NULL, &m, &n, &err), &err);
    CHECK(n == sizeof(want_empty) && memcmp(m, want_empty, n) == 0);
    free(m);
    ckpt_obj *md = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_OK(ckpt_dict_set_str(doc, md, "framework", ckpt_str_new(doc, "pt"), &err), &err);
    ckpt_st_save_opts o = {md, false, true};
    CHECK_OK(ckpt_safetensors_save_mem(e, &o, &m, &n, &err), &err);
    CHECK(n == sizeof(want_meta) && memcmp(m, want_meta, n) == 0);
    free(m);
    ckpt_doc_free(doc);
}

/* Order: Dtype enum descending (U64 I64 F64 C64 F32 U32 I32 BF16 F16 U16 I16 ... BOOL),
 * then name; shared memory refused naming the keys; disjoint slices are not shared. */
TEST(test_formats_safetensors__order_shared_noncontiguous)
{
    ckpt_error err;
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    int64_t s[1] = {2};
    const char *names[] = {"b", "a", "c", "z", "y"};
    const int dts[] = {CKPT_U8, CKPT_U8, CKPT_F64, CKPT_BOOL, CKPT_BF16};
    for (int i = 0; i < 5; i++)
        CHECK_OK(ckpt_dict_set_str(doc, d, names[i],
                                   ckpt_tensor_new_copy(doc, dts[i], 1, s, NULL, &err), &err),
                 &err);
    void *m;
    size_t n;
    CHECK_OK(ckpt_safetensors_save_mem(d, NULL, &m, &n, &err), &err);
    ckpt_doc *back = ckpt_safetensors_load_mem(m, n, "m", CKPT_LOAD_COPY, NULL, &err);
    CHECK(back != NULL);
    const char *order[] = {"c", "y", "a", "b", "z"};
    for (int i = 0; i < 5; i++)
        CHECK_STR(ckpt_obj_str(ckpt_dict_key(ckpt_doc_root(back), (size_t)i), NULL), order[i]);
    ckpt_doc_free(back);
    free(m);

    /* a storage of 12 floats; views: whole, a tied copy of whole, row 0, row 1, a column */
    ckpt_storage *st = ckpt_storage_new(doc, CKPT_F32, 48, &err);
    float *f = ckpt_storage_data_mut(st);
    for (int i = 0; i < 12; i++)
        f[i] = (float)i;
    int64_t s34[2] = {3, 4}, s4[1] = {4}, s3[1] = {3}, col_stride[1] = {4};
    ckpt_obj *w = ckpt_tensor_new(doc, st, CKPT_F32, 2, s34, NULL, 0, &err);
    ckpt_obj *tied = ckpt_tensor_new(doc, st, CKPT_F32, 2, s34, NULL, 0, &err);
    ckpt_obj *r0 = ckpt_tensor_new(doc, st, CKPT_F32, 1, s4, NULL, 0, &err);
    ckpt_obj *r1 = ckpt_tensor_new(doc, st, CKPT_F32, 1, s4, NULL, 4, &err);
    ckpt_obj *col = ckpt_tensor_new(doc, st, CKPT_F32, 1, s3, col_stride, 1, &err);
    CHECK(w && tied && r0 && r1 && col);
    ckpt_obj *sh = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    CHECK_OK(ckpt_dict_set_str(doc, sh, "lm_head.weight", tied, &err), &err);
    CHECK_OK(ckpt_dict_set_str(doc, sh, "embed.weight", w, &err), &err);
    CHECK(ckpt_safetensors_save_mem(sh, NULL, &m, &n, &err) == CKPT_E_UNSUPPORTED);
    CHECK(strstr(err.msg, "share memory") && strstr(err.msg, "'embed.weight'") &&
          strstr(err.msg, "'lm_head.weight'"));
    ckpt_st_save_opts dup = {NULL, true, true};
    CHECK_OK(ckpt_safetensors_save_mem(sh, &dup, &m, &n, &err), &err);
    back = ckpt_safetensors_load_mem(m, n, "m", CKPT_LOAD_COPY, NULL, &err);
    CHECK(back && ckpt_obj_len(ckpt_doc_root(back)) == 2);
    ckpt_doc_free(back);
    free(m);
    /* rows 0 and 1 do not overlap: not shared (torch.py _filter_shared_not_shared) */
    ckpt_obj *rows = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    CHECK_OK(ckpt_dict_set_str(doc, rows, "r1", r1, &err), &err);
    CHECK_OK(ckpt_dict_set_str(doc, rows, "r0", r0, &err), &err);
    CHECK_OK(ckpt_safetensors_save_mem(rows, NULL, &m, &n, &err), &err);
    free(m);
    /* the column overlaps row 0: shared */
    CHECK_OK(ckpt_dict_set_str(doc, rows, "col", col, &err), &err);
    CHECK(ckpt_safetensors_save_mem(rows, NULL, &m, &n, &err) == CKPT_E_UNSUPPORTED);
    CHECK(strstr(err.msg, "'col'") && strstr(err.msg, "'r0'"));
    /* alone, the strided column is written contiguous */
    ckpt_obj *one = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    CHECK_OK(ckpt_dict_set_str(doc, one, "col", col, &err), &err);
    CHECK_OK(ckpt_safetensors_save_mem(one, NULL, &m, &n, &err), &err);
    back = ckpt_safetensors_load_mem(m, n, "m", CKPT_LOAD_COPY, NULL, &err);
    CHECK(back != NULL);
    const float *cv = ckpt_tensor_data(ckpt_dict_get(ckpt_doc_root(back), "col"));
    CHECK(cv && cv[0] == 1.0f && cv[1] == 5.0f && cv[2] == 9.0f);
    ckpt_doc_free(back);
    free(m);
    /* not a flat dict of tensors: named */
    ckpt_obj *nest = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_OK(ckpt_dict_set_str(doc, nest, "opt", ckpt_dict_new(doc, CKPT_DICT_PLAIN), &err),
             &err);
    CHECK(ckpt_safetensors_save_mem(nest, NULL, &m, &n, &err) == CKPT_E_UNSUPPORTED);
    CHECK_STR(err.key, "opt");
    ckpt_obj *badmd = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_OK(ckpt_dict_set_str(doc, badmd, "epoch", ckpt_int_new(doc, 3), &err), &err);
    ckpt_st_save_opts ob = {badmd, false, true};
    CHECK(ckpt_safetensors_save_mem(one, &ob, &m, &n, &err) == CKPT_E_ARG);
    CHECK_STR(err.key, "epoch");
    ckpt_doc_free(doc);
}

/* mmap of an unaligned data area still loads (copied), and lazy reads on demand */
TEST(test_formats_safetensors__unaligned_and_lazy)
{
    /* the safetensors samples' layout: a header whose length is not a multiple of 8 */
    const char *h = "{\"d\":{\"dtype\":\"F64\",\"shape\":[2],\"data_offsets\":[0,16]}}";
    size_t hl = strlen(h);
    unsigned char b[128];
    memset(b, 0, sizeof(b));
    b[0] = (unsigned char)hl;
    memcpy(b + 8, h, hl);
    double v[2] = {1.5, -2.25};
    memcpy(b + 8 + hl, v, 16);
    size_t n = 8 + hl + 16;
    ckpt_error err;
    for (int mode = CKPT_LOAD_COPY; mode <= CKPT_LOAD_LAZY; mode++) {
        ckpt_doc *d = ckpt_safetensors_load_mem(b, n, "u", mode, NULL, &err);
        CHECK(d != NULL);
        const ckpt_obj *t = ckpt_dict_get(ckpt_doc_root(d), "d");
        if (mode == CKPT_LOAD_LAZY)
            CHECK(ckpt_tensor_data(t) == NULL);
        const double *p = ckpt_tensor_data_load(d, t, &err);
        CHECK(p && memcmp(p, v, 16) == 0);
        CHECK(ckpt_doc_metadata(d) == NULL);
        ckpt_doc_free(d);
    }
    /* a file shorter than 8 bytes, an empty file, NULL */
    CHECK(ckpt_safetensors_load_mem(b, 5, "s", CKPT_LOAD_COPY, NULL, &err) == NULL);
    CHECK(strstr(err.msg, "shorter than"));
    CHECK(ckpt_safetensors_load_mem(NULL, 0, "s", CKPT_LOAD_COPY, NULL, &err) == NULL);
    CHECK(ckpt_safetensors_load(NULL, CKPT_LOAD_COPY, NULL, NULL) == NULL);
    CHECK(ckpt_safetensors_load("/nonexistent/x.safetensors", CKPT_LOAD_COPY, NULL, &err) ==
          NULL);
    CHECK(err.code != 0 && strcmp(err.file, "/nonexistent/x.safetensors") == 0);
}

/* A header of millions of tiny JSON values ("[0,0,0,...]", 2 bytes each) would
 * make cJSON allocate ~40 times its size: refused before parsing (CKPT_E_LIMIT),
 * and a 1000-deep nesting refused by cJSON's nesting limit, both cheaply. */
TEST(test_formats_safetensors__json_bombs_cheap)
{
    size_t vals = 3u << 20, hl = 2 * vals + 64;
    unsigned char *b = malloc(8 + hl);
    CHECK(b != NULL);
    size_t at = 8;
    at += (size_t)sprintf((char *)b + at, "{\"__metadata__\":[");
    for (size_t i = 0; i < vals; i++) {
        b[at++] = '0';
        b[at++] = ',';
    }
    b[at - 1] = ']';
    b[at++] = '}';
    while (at < 8 + hl)
        b[at++] = ' ';
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    test_failing_alloc fa;
    ckpt_error err;
    ckpt_doc *d = ckpt_safetensors_load_mem(b, 8 + hl, "wide", CKPT_LOAD_COPY, NULL, &err);
    CHECK(d == NULL && err.code == CKPT_E_LIMIT && strstr(err.msg, "JSON values"));
    /* deep: 2000 nested lists inside a valid-looking header */
    at = 8;
    at += (size_t)sprintf((char *)b + at, "{\"__metadata__\":");
    for (int i = 0; i < 2000; i++)
        b[at++] = '[';
    for (int i = 0; i < 2000; i++)
        b[at++] = ']';
    b[at++] = '}';
    hl = at - 8;
    for (int i = 0; i < 8; i++)
        b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    test_failing_alloc_init(&fa, 0);
    d = ckpt_safetensors_load_mem(b, at, "deep", CKPT_LOAD_COPY, &fa.a, &err);
    CHECK(d == NULL && err.code == CKPT_E_FORMAT && strstr(err.msg, "nesting"));
    free(b);
}

/* Out of memory at every allocation of a load and a save: a clean failure, no leak. */
TEST(test_formats_safetensors__out_of_memory_sweep)
{
    const char *h = "{\"__metadata__\":{\"k\":\"v\"},\"a\":{\"dtype\":\"F32\",\"shape\":[2],"
                    "\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"U8\",\"shape\":[3],"
                    "\"data_offsets\":[8,11]}}";
    unsigned char buf[256];
    size_t hl = strlen(h);
    memset(buf, 0, sizeof(buf));
    buf[0] = (unsigned char)hl;
    memcpy(buf + 8, h, hl);
    size_t n = 8 + hl + 11;
    int ok = 0;
    for (long k = 1; k < 200 && !ok; k++) {
        for (int mode = CKPT_LOAD_COPY; mode <= CKPT_LOAD_LAZY; mode++) {
            test_failing_alloc fa;
            test_failing_alloc_init(&fa, k);
            ckpt_error err;
            ckpt_doc *d = ckpt_safetensors_load_mem(buf, n, "oom", mode, &fa.a, &err);
            if (d) {
                ok = mode == CKPT_LOAD_LAZY;
                ckpt_doc_free(d);
            } else {
                CHECK(err.code == CKPT_E_NOMEM || err.code == CKPT_E_LIMIT);
            }
            CHECK_EQ_INT(fa.live, 0);
        }
    }
    CHECK(ok);
}

TEST_MAIN()
