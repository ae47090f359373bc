/* tests/unit/core/tensor_test.c - tensor views: building, bounds checks
 * (views, strides, offsets, 0-dim, empty, overflow, negative), info,
 * contiguous and strided copies, out-of-memory sweep. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/core.h"
#include "util/test.h"

static ckpt_storage *arange_f32(ckpt_doc *doc, int n)
{
    ckpt_storage *s = ckpt_storage_new(doc, CKPT_F32, (uint64_t)n * 4, NULL);
    float *p = ckpt_storage_data_mut(s);
    for (int i = 0; i < n; i++)
        p[i] = (float)i;
    return s;
}

TEST(test_core_tensor__contiguous_and_info)
{
    ckpt_error err = {0};
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_storage *s = arange_f32(doc, 6);
    int64_t shape[2] = {2, 3};
    ckpt_obj *t = ckpt_tensor_new(doc, s, CKPT_F32, 2, shape, NULL, 0, &err);
    CHECK(t && ckpt_obj_type(t) == CKPT_T_TENSOR);
    ckpt_tensor_info ti;
    CHECK_EQ_INT(ckpt_tensor_get_info(t, &ti), 0);
    CHECK(ti.ndim == 2 && ti.shape[1] == 3 && ti.stride[0] == 3 && ti.stride[1] == 1);
    CHECK(ti.numel == 6 && ti.nbytes == 24 && ti.contiguous && !ti.requires_grad);
    CHECK(ti.storage == s && !ti.is_parameter && !ti.quantized);
    CHECK_STR(ti.device, "cpu");
    CHECK(ckpt_tensor_data(t) == ckpt_storage_data_mut(s));
    CHECK_EQ_INT(ckpt_tensor_set_requires_grad(t, true, &err), 0);
    CHECK_EQ_INT(ckpt_tensor_get_info(t, &ti), 0);
    CHECK(ti.requires_grad);
    CHECK_EQ_INT(ckpt_tensor_set_parameter(t, true, false, &err), 0);
    CHECK_EQ_INT(ckpt_tensor_get_info(t, &ti), 0);
    CHECK(ti.is_parameter && !ti.requires_grad);
    CHECK_EQ_INT(ckpt_tensor_get_info(ckpt_int_new(doc, 1), &ti), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_tensor_set_requires_grad(NULL, true, &err), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_tensor_set_parameter(ckpt_none_new(doc), true, true, &err), CKPT_E_ARG);
    /* dtype must match the storage */
    CHECK(ckpt_tensor_new(doc, s, CKPT_I32, 2, shape, NULL, 0, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    ckpt_doc_free(doc);
}

TEST(test_core_tensor__zero_dim_and_empty)
{
    ckpt_error err = {0};
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_storage *s = arange_f32(doc, 4);
    ckpt_obj *scalar = ckpt_tensor_new(doc, s, CKPT_F32, 0, NULL, NULL, 3, &err);
    CHECK(scalar);
    ckpt_tensor_info ti;
    CHECK_EQ_INT(ckpt_tensor_get_info(scalar, &ti), 0);
    CHECK(ti.ndim == 0 && ti.numel == 1 && ti.nbytes == 4 && ti.contiguous);
    CHECK(*(const float *)ckpt_tensor_data(scalar) == 3.0f);
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 0, NULL, NULL, 4, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_SHAPE);
    ckpt_error_clear(&err);
    /* empty views may sit anywhere, as torch allows; never form a pointer out of bounds */
    int64_t e[2] = {0, 5};
    ckpt_obj *empty = ckpt_tensor_new(doc, s, CKPT_F32, 2, e, NULL, 1000000, &err);
    CHECK(empty);
    CHECK_EQ_INT(ckpt_tensor_get_info(empty, &ti), 0);
    CHECK(ti.numel == 0 && ti.nbytes == 0);
    float dst[1];
    CHECK_EQ_INT(ckpt_tensor_copy_into(empty, dst, 0, &err), 0);
    const uint8_t *base = ckpt_storage_data_mut(s);
    const uint8_t *p = ckpt_tensor_data(empty);
    CHECK(p >= base && p <= base + 16);
    ckpt_obj *far = ckpt_tensor_new(doc, s, CKPT_F32, 2, e, NULL, INT64_MAX / 2, &err);
    CHECK(far);
    p = ckpt_tensor_data(far);
    CHECK(p >= base && p <= base + 16);
    /* contiguous strides of a shape holding 0 and a huge dim must not overflow */
    int64_t zbig[3] = {0, INT64_MAX, 4};
    ckpt_obj *zb = ckpt_tensor_new(doc, s, CKPT_F32, 3, zbig, NULL, 0, &err);
    CHECK(zb);
    CHECK_EQ_INT(ckpt_tensor_get_info(zb, &ti), 0);
    CHECK(ti.numel == 0);
    /* an empty storage */
    ckpt_storage *s0 = ckpt_storage_new(doc, CKPT_I64, 0, &err);
    int64_t z[1] = {0};
    CHECK(ckpt_tensor_new(doc, s0, CKPT_I64, 1, z, NULL, 0, &err));
    int64_t one[1] = {1};
    CHECK(ckpt_tensor_new(doc, s0, CKPT_I64, 1, one, NULL, 0, &err) == NULL);
    ckpt_doc_free(doc);
}

TEST(test_core_tensor__bounds_checks)
{
    ckpt_error err = {0};
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_storage *s = arange_f32(doc, 12);
    int64_t sh[2] = {3, 4}, st[2] = {4, 1};
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 2, sh, st, 0, &err));
    /* one element too far */
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 2, sh, st, 1, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_SHAPE);
    /* a transposed view fits; a stride too large does not */
    int64_t tsh[2] = {4, 3}, tst[2] = {1, 4};
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 2, tsh, tst, 0, NULL));
    int64_t bst[2] = {5, 1};
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 2, sh, bst, 0, NULL) == NULL);
    /* broadcast (stride 0) views are fine */
    int64_t bsh[2] = {1000, 12}, zst[2] = {0, 1};
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 2, bsh, zst, 0, NULL));
    /* negative offset, dims and strides */
    ckpt_error_clear(&err);
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 2, sh, st, -1, &err) == NULL && err.code < 0);
    int64_t neg[2] = {-1, 4};
    ckpt_error_clear(&err);
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 2, neg, NULL, 0, &err) == NULL && err.code < 0);
    int64_t nst[2] = {-4, 1};
    ckpt_error_clear(&err);
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 2, sh, nst, 8, &err) == NULL && err.code < 0);
    /* overflow: numel, extent, offset */
    int64_t huge[2] = {INT64_MAX, 2};
    ckpt_error_clear(&err);
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 2, huge, NULL, 0, &err) == NULL && err.code < 0);
    int64_t big1[1] = {INT64_MAX / 2};
    ckpt_error_clear(&err);
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 1, big1, NULL, 0, &err) == NULL && err.code < 0);
    int64_t two[1] = {2}, bigst[1] = {INT64_MAX};
    ckpt_error_clear(&err);
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 1, two, bigst, 0, &err) == NULL && err.code < 0);
    ckpt_error_clear(&err);
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 1, two, NULL, INT64_MAX, &err) == NULL &&
          err.code < 0);
    ckpt_error_clear(&err);
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 1, two, NULL, INT64_MAX / 4 + 1, &err) == NULL &&
          err.code < 0);
    /* bad arguments */
    CHECK(ckpt_tensor_new(doc, NULL, CKPT_F32, 1, two, NULL, 0, NULL) == NULL);
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, -1, two, NULL, 0, NULL) == NULL);
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 65, two, NULL, 0, NULL) == NULL);
    CHECK(ckpt_tensor_new(doc, s, CKPT_F32, 1, NULL, NULL, 0, NULL) == NULL);
    CHECK(ckpt_tensor_new_copy(doc, CKPT_F32, 2, huge, NULL, NULL) == NULL);
    CHECK(ckpt_tensor_new_copy(doc, 40, 1, two, NULL, NULL) == NULL);
    ckpt_doc_free(doc);
}

TEST(test_core_tensor__copy_into_views)
{
    ckpt_error err = {0};
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_storage *s = arange_f32(doc, 24);
    float out[24];
    ckpt_tensor_info ti;
    /* transpose of a (3,4) -> (4,3) */
    int64_t sh[2] = {4, 3}, st[2] = {1, 4};
    ckpt_obj *t = ckpt_tensor_new(doc, s, CKPT_F32, 2, sh, st, 0, &err);
    CHECK(t);
    CHECK_EQ_INT(ckpt_tensor_get_info(t, &ti), 0);
    CHECK(!ti.contiguous);
    CHECK_OK(ckpt_tensor_copy_into(t, out, sizeof(out), &err), &err);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            CHECK(out[i * 3 + j] == (float)(j * 4 + i));
    /* a slice with offset and step: x[1:, ::2] of a (4,6) */
    int64_t sh2[2] = {3, 3}, st2[2] = {6, 2};
    ckpt_obj *v = ckpt_tensor_new(doc, s, CKPT_F32, 2, sh2, st2, 6, &err);
    CHECK(v);
    CHECK_OK(ckpt_tensor_copy_into(v, out, 9 * 4, &err), &err);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            CHECK(out[i * 3 + j] == (float)(6 + i * 6 + j * 2));
    /* 3-d with an inner contiguous run and a size-1 dim */
    int64_t sh3[3] = {2, 1, 4}, st3[3] = {12, 99, 1};
    ckpt_obj *w = ckpt_tensor_new(doc, s, CKPT_F32, 3, sh3, st3, 2, &err);
    CHECK(w);
    CHECK_OK(ckpt_tensor_copy_into(w, out, 8 * 4, &err), &err);
    CHECK(out[0] == 2.0f && out[3] == 5.0f && out[4] == 14.0f && out[7] == 17.0f);
    /* broadcast */
    int64_t sh4[2] = {3, 2}, st4[2] = {0, 1};
    ckpt_obj *b = ckpt_tensor_new(doc, s, CKPT_F32, 2, sh4, st4, 5, &err);
    CHECK_OK(ckpt_tensor_copy_into(b, out, 6 * 4, &err), &err);
    CHECK(out[0] == 5.0f && out[1] == 6.0f && out[4] == 5.0f && out[5] == 6.0f);
    /* destination too small, not a tensor */
    CHECK_EQ_INT(ckpt_tensor_copy_into(t, out, 47, &err), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_tensor_copy_into(ckpt_none_new(doc), out, 4, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_tensor_copy_into(t, NULL, 48, NULL), CKPT_E_ARG);
    ckpt_doc_free(doc);
}

TEST(test_core_tensor__copy_every_dtype)
{
    ckpt_error err = {0};
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    for (int d = 0; d < CKPT_DTYPE_COUNT; d++) {
        size_t isz = ckpt_dtype_size(d);
        if (!isz)
            continue;
        uint8_t src[64 * 16], out[64 * 16];
        for (size_t i = 0; i < sizeof(src); i++)
            src[i] = (uint8_t)(i * 7 + (size_t)d);
        int64_t shape[2] = {4, 8};
        ckpt_obj *t = ckpt_tensor_new_copy(doc, d, 2, shape, src, &err);
        CHECK(t);
        CHECK_OK(ckpt_tensor_copy_into(t, out, sizeof(out), &err), &err);
        CHECK(memcmp(src, out, 32 * isz) == 0);
        ckpt_tensor_info ti;
        CHECK_EQ_INT(ckpt_tensor_get_info(t, &ti), 0);
        CHECK(ti.dtype == d && ti.nbytes == 32 * isz);
    }
    ckpt_doc_free(doc);
}

TEST(test_core_tensor__out_of_memory_sweep)
{
    int bad = 0;
    long n;
    for (n = 1; n < 1000; n++) {
        test_failing_alloc fa;
        test_failing_alloc_init(&fa, n);
        ckpt_error err = {0};
        ckpt_doc *doc = ckpt_doc_new(&fa.a, &err);
        int rc = doc ? 0 : err.code;
        for (int i = 0; i < 20 && rc == 0; i++) {
            int64_t shape[3] = {2, 3, i + 1};
            ckpt_error_clear(&err);
            if (!ckpt_tensor_new_copy(doc, CKPT_F64, 3, shape, NULL, &err))
                rc = err.code;
        }
        ckpt_doc_free(doc);
        if (fa.live) {
            fprintf(stderr, "leak at allocation %ld\n", n);
            bad++;
        }
        if (rc == 0)
            break;
        if (rc != CKPT_E_NOMEM) {
            fprintf(stderr, "allocation %ld: %s\n", n, ckpt_status_name(rc));
            bad++;
        }
    }
    CHECK(n > 2 && n < 1000);
    CHECK_EQ_INT(bad, 0);
}

TEST_MAIN()
