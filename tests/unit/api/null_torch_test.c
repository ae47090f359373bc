/* tests/unit/api/null_torch_test.c - every call of ckpt/torch.h with
 * err == NULL, NULL options, NULL out-parameters and empty buffers, on valid
 * and invalid input: the documented result (NULL / < 0, or the same success
 * as with an error record), never a crash.  The inputs include the pickle
 * that crashed the loader with err == NULL (DUP on an empty stack) and every
 * prefix of a valid file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

/* {"w": tensor([1., 2., 3.])} saved by ckpt into malloc'd memory */
static void *saved(size_t *len, int layout)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    if (!doc)
        return NULL;
    const float v[3] = {1, 2, 3};
    const int64_t shape[1] = {3};
    ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_F32, 1, shape, v, NULL);
    void *out = NULL;
    if (d && t && ckpt_dict_set_str(doc, d, "w", t, NULL) == 0) {
        ckpt_save_opts so;
        memset(&so, 0, sizeof(so));
        so.layout = layout;
        if (ckpt_save_mem(d, &so, &out, len, NULL) != 0)
            out = NULL;
    }
    ckpt_doc_free(doc);
    return out;
}

/* the same result with and without an error record, and a code when failing */
static int load_both(const void *buf, size_t n, const ckpt_load_opts *o)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_doc *a = ckpt_load_mem(buf, n, NULL, o, &err);
    ckpt_doc *b = ckpt_load_mem(buf, n, NULL, o, NULL);
    int agree = (a != NULL) == (b != NULL) && (a != NULL || err.code < 0);
    ckpt_doc_free(a);
    ckpt_doc_free(b);
    return agree ? (a != NULL) : -1;
}

TEST(test_api_null_torch__load_mem_invalid)
{
    /* the reported crash: DUP with nothing on the stack */
    CHECK(ckpt_load_mem("\x80\x02"
                        "2.",
                        4, "x", NULL, NULL) == NULL);
    const struct {
        const char *p;
        size_t n;
    } bad[] = {
        {"", 0},
        {"\x80", 1},
        {"\x80\x02", 2},
        {"\x80\x02.", 3}, /* STOP on an empty stack */
        {"\x80\x02"
         "0.",
         4},                /* POP on an empty stack */
        {"\x80\x02(1.", 5}, /* POP_MARK */
        {"\x80\x02"
         "R.",
         4}, /* REDUCE with nothing */
        {"\x80\x02"
         "b.",
         4}, /* BUILD with nothing */
        {"\x80\x02"
         "Q.",
         4},                  /* BINPERSID with nothing */
        {"\x80\x02\x81.", 4}, /* NEWOBJ with nothing */
        {"\x80\x02\x93.", 4}, /* STACK_GLOBAL with nothing */
        {"\x80\x02\x92.", 4}, /* NEWOBJ_EX with nothing */
        {"\x80\x02"
         "a.",
         4}, /* APPEND with nothing */
        {"\x80\x02"
         "s.",
         4}, /* SETITEM with nothing */
        {"\x80\x02"
         "e.",
         4}, /* APPENDS without a mark */
        {"\x80\x02"
         "u.",
         4},                   /* SETITEMS without a mark */
        {"\x80\x02\x94.", 4},  /* MEMOIZE on an empty stack */
        {"\x80\x02q\x00.", 5}, /* BINPUT on an empty stack */
        {"\x80\x02h\x05.", 5}, /* BINGET of nothing */
        {"\x80\x02"
         "cos\nsystem\n.",
         15}, /* a global the allowlist refuses */
        {"\x80\x02]\x8f(K\x01"
         "l\x90.",
         10}, /* ADDITEMS of an unhashable list */
        {"PK\x03\x04", 4},
        {"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 22},
        {"\x1f\x8b", 2},
        {"\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19", 12}, /* legacy magic, then nothing */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK(ckpt_load_mem(bad[i].p, bad[i].n, NULL, NULL, NULL) == NULL);
        if (load_both(bad[i].p, bad[i].n, NULL) != 0) {
            fprintf(stderr, "bad input %zu\n", i);
            CHECK(0);
        }
    }
    /* NULL buffer: with n == 0 an empty input, with n > 0 a broken contract */
    CHECK(ckpt_load_mem(NULL, 0, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_load_mem(NULL, 5, NULL, NULL, NULL) == NULL);
    ckpt_error err;
    ckpt_error_clear(&err);
    CHECK(ckpt_load_mem(NULL, 5, NULL, NULL, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
}

TEST(test_api_null_torch__load_mem_valid_and_every_prefix)
{
    for (int layout = CKPT_LAYOUT_TORCH13; layout <= CKPT_LAYOUT_LEGACY; layout++) {
        size_t n = 0;
        unsigned char *buf = saved(&n, layout);
        CHECK(buf && n > 0);
        ckpt_doc *doc = ckpt_load_mem(buf, n, NULL, NULL, NULL);
        CHECK(doc != NULL);
        const ckpt_obj *w = ckpt_dict_get(ckpt_doc_root(doc), "w");
        CHECK(w && ckpt_tensor_data(w) && ((const float *)ckpt_tensor_data(w))[2] == 3.0f);
        ckpt_doc_free(doc);
        /* every load mode, no error record */
        for (int mode = 0; mode < 3; mode++) {
            ckpt_load_opts o;
            memset(&o, 0, sizeof(o));
            o.mode = mode;
            doc = ckpt_load_mem(buf, n, NULL, &o, NULL);
            if (layout == CKPT_LAYOUT_LEGACY && mode == CKPT_LOAD_MMAP) {
                CHECK(doc == NULL); /* mmap needs the zip format (documented) */
                continue;
            }
            CHECK(doc != NULL);
            w = ckpt_dict_get(ckpt_doc_root(doc), "w");
            CHECK(ckpt_tensor_data_load(doc, w, NULL) != NULL);
            ckpt_doc_free(doc);
        }
        /* every prefix and every single-byte corruption: same outcome both ways */
        for (size_t k = 0; k < n; k++)
            CHECK_EQ_INT(load_both(buf, k, NULL), 0);
        for (size_t k = 0; k < n; k++) {
            unsigned char keep = buf[k];
            buf[k] = (unsigned char)(keep ^ 0xff);
            CHECK(load_both(buf, n, NULL) >= 0);
            buf[k] = keep;
        }
        free(buf);
    }
}

TEST(test_api_null_torch__load_path_and_source)
{
    CHECK(ckpt_load(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_load("", NULL, NULL) == NULL);
    CHECK(ckpt_load("/nonexistent/ckpt/api/test.pt", NULL, NULL) == NULL);
    CHECK(ckpt_load_source(NULL, NULL, NULL) == NULL);
    ckpt_source src;
    memset(&src, 0, sizeof(src));
    CHECK(ckpt_load_source(&src, NULL, NULL) == NULL); /* no read_at */
    ckpt_source_init_mem(&src,
                         "\x80\x02"
                         "2.",
                         4, NULL);
    CHECK(ckpt_load_source(&src, NULL, NULL) == NULL);
    ckpt_source_init_mem(&src, NULL, 0, NULL);
    CHECK(ckpt_load_source(&src, NULL, NULL) == NULL);
    size_t n = 0;
    void *buf = saved(&n, 0);
    CHECK(buf != NULL);
    ckpt_source_init_mem(&src, buf, n, NULL);
    ckpt_doc *doc = ckpt_load_source(&src, NULL, NULL);
    CHECK(doc != NULL);
    ckpt_doc_free(doc);
    /* through a file */
    char path[] = "/tmp/ckpt_null_torch_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, buf, n) == (ssize_t)n);
    close(fd);
    doc = ckpt_load(path, NULL, NULL);
    CHECK(doc != NULL);
    ckpt_doc_free(doc);
    CHECK_EQ_INT(ckpt_save(path, ckpt_doc_root(doc = ckpt_load(path, NULL, NULL)), NULL, NULL),
                 0);
    ckpt_doc_free(doc);
    unlink(path);
    free(buf);
}

TEST(test_api_null_torch__tensor_data_load_args)
{
    CHECK(ckpt_tensor_data_load(NULL, NULL, NULL) == NULL);
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    CHECK(doc != NULL);
    CHECK(ckpt_tensor_data_load(doc, NULL, NULL) == NULL);
    CHECK(ckpt_tensor_data_load(doc, ckpt_int_new(doc, 1), NULL) == NULL);
    const int64_t shape[1] = {0};
    ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_F32, 1, shape, NULL, NULL);
    CHECK(t != NULL);
    ckpt_tensor_data_load(doc, t, NULL); /* zero elements: no crash, whatever it returns */
    ckpt_doc_free(doc);
}

TEST(test_api_null_torch__save_args)
{
    void *out = (void *)1;
    size_t len = 1;
    CHECK(ckpt_save_mem(NULL, NULL, &out, &len, NULL) < 0);
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    CHECK(doc != NULL);
    ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK(ckpt_save_mem(root, NULL, NULL, &len, NULL) < 0);
    CHECK(ckpt_save_mem(root, NULL, &out, NULL, NULL) < 0);
    ckpt_save_opts so;
    memset(&so, 0, sizeof(so));
    so.layout = 99;
    CHECK(ckpt_save_mem(root, &so, &out, &len, NULL) < 0);
    out = NULL;
    CHECK_EQ_INT(ckpt_save_mem(root, NULL, &out, &len, NULL), 0);
    CHECK(out && len > 0);
    free(out);
    /* an object torch cannot save (a GLOBAL is fine; a node with no pickle form is not) */
    CHECK(ckpt_save(NULL, root, NULL, NULL) < 0);
    CHECK(ckpt_save("/tmp/x.pt", NULL, NULL, NULL) < 0);
    CHECK(ckpt_save("", root, NULL, NULL) < 0);
    CHECK(ckpt_save("/nonexistent/ckpt/dir/x.pt", root, NULL, NULL) < 0);
    ckpt_error err;
    ckpt_error_clear(&err);
    CHECK(ckpt_save("/nonexistent/ckpt/dir/x.pt", root, NULL, &err) < 0);
    CHECK(err.code < 0 && err.msg[0]);
    ckpt_doc_free(doc);
}

TEST_MAIN()
