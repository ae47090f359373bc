/* tests/unit/api/null_alloc_test.c - ckpt/alloc.h declares only the
 * allocator struct; every call that takes one is run here with an allocator
 * that fails the N-th allocation, for every N, and err == NULL: the out-of-
 * memory paths are where a missing error record used to be read back.  Each
 * run must fail cleanly (NULL / < 0) or succeed, leak nothing, and agree with
 * the same run made with an error record (which must then hold a code). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

static void *saved(size_t *len, int layout)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    if (!doc)
        return NULL;
    const float v[3] = {1, 2, 3};
    const int64_t shape[1] = {3};
    ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    ckpt_obj *l = ckpt_list_new(doc);
    ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_F32, 1, shape, v, NULL);
    void *out = NULL;
    if (d && l && t && ckpt_dict_set_str(doc, d, "w", t, NULL) == 0 &&
        ckpt_list_append(doc, l, ckpt_str_new(doc, "x"), NULL) == 0 &&
        ckpt_dict_set_str(doc, d, "l", l, NULL) == 0) {
        ckpt_save_opts so;
        memset(&so, 0, sizeof(so));
        so.layout = layout;
        if (ckpt_save_mem(d, &so, &out, len, NULL) != 0)
            out = NULL;
    }
    ckpt_doc_free(doc);
    return out;
}

TEST(test_api_null_alloc__load_oom_sweep_err_null)
{
    for (int layout = CKPT_LAYOUT_TORCH13; layout <= CKPT_LAYOUT_LEGACY; layout++) {
        size_t n = 0;
        void *buf = saved(&n, layout);
        CHECK(buf != NULL);
        int succeeded = 0, sweeps = 0;
        for (long k = 1; k < 10000 && !succeeded; k++, sweeps++) {
            test_failing_alloc fa, fb;
            test_failing_alloc_init(&fa, k);
            test_failing_alloc_init(&fb, k);
            ckpt_load_opts o;
            memset(&o, 0, sizeof(o));
            o.alloc = &fa.a;
            ckpt_doc *a = ckpt_load_mem(buf, n, NULL, &o, NULL);
            o.alloc = &fb.a;
            ckpt_error err;
            ckpt_error_clear(&err);
            ckpt_doc *b = ckpt_load_mem(buf, n, NULL, &o, &err);
            CHECK((a != NULL) == (b != NULL));
            CHECK(b != NULL || err.code == CKPT_E_NOMEM || err.code == CKPT_E_LIMIT);
            succeeded = a != NULL;
            ckpt_doc_free(a);
            ckpt_doc_free(b);
            CHECK(fa.live == 0 && fb.live == 0);
        }
        CHECK(succeeded);
        fprintf(stderr, "layout %d: %d allocation failure points\n", layout, sweeps);
        CHECK(sweeps > 5); /* the load allocates: early allocations did fail */
        free(buf);
    }
}

TEST(test_api_null_alloc__save_and_build_oom_sweep_err_null)
{
    int succeeded = 0, sweeps = 0;
    for (long k = 1; k < 10000 && !succeeded; k++, sweeps++) {
        test_failing_alloc fa;
        test_failing_alloc_init(&fa, k);
        ckpt_doc *doc = ckpt_doc_new(&fa.a, NULL);
        if (!doc) {
            CHECK(fa.live == 0);
            continue;
        }
        const int64_t shape[2] = {2, 2};
        ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
        ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_F32, 2, shape, NULL, NULL);
        ckpt_obj *s = ckpt_set_new(doc);
        int rc = (d && t && s) ? 0 : -1;
        for (int i = 0; rc == 0 && i < 40; i++) {
            char key[16];
            snprintf(key, sizeof(key), "k%d", i);
            rc = ckpt_dict_set_str(doc, d, key, t, NULL);
            if (rc == 0)
                rc = ckpt_set_add(doc, s, ckpt_int_new(doc, i), NULL);
        }
        if (rc == 0)
            rc = ckpt_dict_set_str(doc, d, "set", s, NULL);
        void *out = NULL;
        size_t len = 0;
        if (rc == 0) {
            ckpt_save_opts so;
            memset(&so, 0, sizeof(so));
            so.alloc = &fa.a;
            rc = ckpt_save_mem(d, &so, &out, &len, NULL);
            CHECK(rc <= 0);
            if (rc == 0) {
                CHECK(out != NULL);
                fa.a.free(fa.a.ctx, out, len);
                succeeded = 1;
            }
        }
        ckpt_doc_free(doc);
        CHECK(fa.live == 0);
    }
    CHECK(succeeded);
    CHECK(sweeps > 20);
    fprintf(stderr, "build+save: %d allocation failure points\n", sweeps);
}

TEST_MAIN()
