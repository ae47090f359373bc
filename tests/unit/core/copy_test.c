/* tests/unit/core/copy_test.c - ckpt_obj_copy (copy.deepcopy): a copy of a file
 * torch wrote saves to the same bytes as the file's own document (so storages
 * are shared exactly as before: views, tied weights); the copy owns its bytes;
 * lazy tensors not read yet, nesting and NULLs are refused with a key path. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

static ckpt_doc *load(const char *name, int mode)
{
    char path[256];
    snprintf(path, sizeof(path), "tests/fixtures/torch/%s.pt", name);
    ckpt_error err;
    ckpt_load_opts o = {.mode = mode, .unsafe_full = true};
    ckpt_doc *doc = ckpt_load(path, &o, &err);
    if (!doc) {
        char b[512];
        fprintf(stderr, "%s\n", ckpt_error_format(&err, b, sizeof(b)));
    }
    return doc;
}

TEST(test_core_copy__saves_the_same_bytes)
{
    static const char *names[] = {"checkpoint",     "views_shared", "seq_bn_state_dict",
                                  "dtype_bfloat16", "scalar_0dim",  "dtype_complex128",
                                  "proto4",         "empty"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        ckpt_doc *src = load(names[i], CKPT_LOAD_COPY);
        CHECK(src != NULL);
        if (!src)
            continue;
        ckpt_error err;
        ckpt_doc *dst = ckpt_doc_new(NULL, &err);
        ckpt_obj *root = ckpt_obj_copy(dst, ckpt_doc_root(src), &err);
        CHECK_OK(root ? 0 : err.code, &err);
        ckpt_doc_set_root(dst, root);
        CHECK_EQ_INT((int)ckpt_doc_storage_count(dst), (int)ckpt_doc_storage_count(src));
        void *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        CHECK_OK(ckpt_save_mem(ckpt_doc_root(src), NULL, &a, &na, &err), &err);
        ckpt_doc_free(src); /* the copy must not point into the source */
        CHECK_OK(ckpt_save_mem(root, NULL, &b, &nb, &err), &err);
        if (na != nb || memcmp(a, b, na) != 0)
            fprintf(stderr, "%s: the copy saves differently (%zu vs %zu bytes)\n", names[i], na,
                    nb);
        CHECK(na == nb && memcmp(a, b, na) == 0);
        free(a);
        free(b);
        ckpt_doc_free(dst);
    }
}

/* views of one storage stay views of one (new) storage; writes do not reach the source */
TEST(test_core_copy__views_share_the_copy)
{
    ckpt_error err;
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_storage *s = ckpt_storage_new(doc, CKPT_F32, 6 * sizeof(float), &err);
    float *p = ckpt_storage_data_mut(s);
    for (int i = 0; i < 6; i++)
        p[i] = (float)i;
    int64_t shape[2] = {2, 3}, tshape[2] = {3, 2}, tstride[2] = {1, 3};
    ckpt_obj *w = ckpt_tensor_new(doc, s, CKPT_F32, 2, shape, NULL, 0, &err);
    ckpt_obj *wt = ckpt_tensor_new(doc, s, CKPT_F32, 2, tshape, tstride, 0, &err);
    ckpt_obj *row = ckpt_tensor_new(doc, s, CKPT_F32, 1, shape + 1, NULL, 3, &err);
    CHECK(w && wt && row);
    ckpt_tensor_set_parameter(w, true, true, &err);
    ckpt_obj *l = ckpt_list_new(doc);
    CHECK_OK(ckpt_list_append(doc, l, w, &err), &err);
    CHECK_OK(ckpt_list_append(doc, l, wt, &err), &err);
    CHECK_OK(ckpt_list_append(doc, l, row, &err), &err);
    ckpt_obj *c = ckpt_obj_copy(doc, l, &err); /* into the same document */
    CHECK(c != NULL);
    ckpt_tensor_info a, b, r;
    CHECK_OK(ckpt_tensor_get_info(ckpt_obj_item(c, 0), &a), &err);
    CHECK_OK(ckpt_tensor_get_info(ckpt_obj_item(c, 1), &b), &err);
    CHECK_OK(ckpt_tensor_get_info(ckpt_obj_item(c, 2), &r), &err);
    CHECK(a.storage == b.storage && b.storage == r.storage && a.storage != (const void *)s);
    CHECK(b.stride[0] == 1 && b.stride[1] == 3 && r.storage_offset == 3);
    CHECK(a.is_parameter && a.requires_grad && !b.is_parameter);
    const float *q = ckpt_tensor_data(ckpt_obj_item(c, 0));
    CHECK(q && q[5] == 5.0f);
    p[4] = -1.0f; /* a write to the source does not reach the copy */
    CHECK(q[4] == 4.0f && ((const float *)ckpt_tensor_data(ckpt_obj_item(c, 2)))[1] == 4.0f);
    CHECK(((const float *)ckpt_tensor_data(row))[1] == -1.0f);
    ckpt_doc_free(doc);
}

TEST(test_core_copy__refusals)
{
    ckpt_error err;
    /* a lazy tensor that was not read: refused, naming its key */
    ckpt_doc *lazy = load("seq_bn_state_dict", CKPT_LOAD_LAZY);
    CHECK(lazy != NULL);
    ckpt_doc *dst = ckpt_doc_new(NULL, &err);
    if (lazy) {
        CHECK(ckpt_obj_copy(dst, ckpt_doc_root(lazy), &err) == NULL);
        CHECK_EQ_INT(err.code, CKPT_E_UNSUPPORTED);
        CHECK_STR(err.key, "0.weight");
        ckpt_doc_free(lazy);
    }
    /* 1001 nested lists */
    ckpt_obj *top = ckpt_list_new(dst), *cur = top;
    for (int i = 0; i < 1001; i++) {
        ckpt_obj *n = ckpt_list_new(dst);
        CHECK_OK(ckpt_list_append(dst, cur, n, &err), &err);
        cur = n;
    }
    CHECK(ckpt_obj_copy(dst, top, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_LIMIT);
    CHECK(ckpt_obj_copy(NULL, top, &err) == NULL && err.code == CKPT_E_ARG);
    /* a list that holds itself is copied as one (deepcopy's memo) */
    ckpt_obj *self = ckpt_list_new(dst);
    CHECK_OK(ckpt_list_append(dst, self, self, &err), &err);
    ckpt_obj *sc = ckpt_obj_copy(dst, self, &err);
    CHECK(sc && sc != self && ckpt_obj_item(sc, 0) == sc);
    CHECK(ckpt_obj_copy(dst, NULL, NULL) == NULL);
    ckpt_doc_free(dst);
}

TEST_MAIN()
