/* tests/unit/api/null_core_test.c - every call of ckpt/core.h
 * with NULL objects, NULL optional arguments, err == NULL and
 * zero sizes: the documented neutral result (NULL, 0, -1, < 0), never a
 * crash; and the fallible builders record why they failed. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

static int visit(void *payload, const char *key, const ckpt_obj *t)
{
    (void)key;
    (void)t;
    ++*(int *)payload;
    return 0;
}

TEST(test_api_null_core__getters_on_null)
{
    CHECK(ckpt_dtype_size(-1) == 0 && ckpt_dtype_size(1000) == 0);
    CHECK(ckpt_dtype_name(-1) == NULL && ckpt_dtype_name(1000) == NULL);
    CHECK(ckpt_dtype_from_name(NULL) == -1 && ckpt_dtype_from_name("") == -1);
    CHECK(!ckpt_dtype_is_floating(-1));
    CHECK(ckpt_type_name(-1) != NULL && ckpt_type_name(CKPT_T_COUNT) != NULL);
    CHECK(ckpt_doc_root(NULL) == NULL && ckpt_doc_root_mut(NULL) == NULL);
    ckpt_doc_set_root(NULL, NULL);
    CHECK(ckpt_doc_storage_count(NULL) == 0 && ckpt_doc_storage(NULL, 0) == NULL);
    CHECK(ckpt_doc_bytes(NULL) == 0);
    ckpt_doc_free(NULL);
    CHECK(ckpt_obj_type(NULL) == -1 && !ckpt_obj_bool(NULL) && ckpt_obj_int(NULL) == 0);
    CHECK(ckpt_obj_float(NULL) == 0.0);
    double re = 5, im = 5;
    ckpt_obj_complex(NULL, &re, &im);
    ckpt_obj_complex(NULL, NULL, NULL);
    size_t len = 7;
    CHECK(ckpt_obj_str(NULL, &len) == NULL && ckpt_obj_str(NULL, NULL) == NULL);
    CHECK(ckpt_obj_len(NULL) == 0 && ckpt_obj_item(NULL, 0) == NULL);
    CHECK(ckpt_dict_kind_of(NULL) == -1);
    CHECK(ckpt_dict_key(NULL, 0) == NULL && ckpt_dict_value(NULL, 0) == NULL);
    CHECK(ckpt_dict_get(NULL, "a") == NULL && ckpt_dict_find(NULL, NULL) == NULL);
    CHECK(ckpt_dict_attrs(NULL) == NULL);
    CHECK(ckpt_obj_get(NULL, "a", NULL) == NULL && ckpt_obj_get(NULL, NULL) == NULL);
    size_t nd = 3;
    CHECK(ckpt_size_dims(NULL, &nd) == NULL && ckpt_size_dims(NULL, NULL) == NULL);
    CHECK(ckpt_obj_dtype(NULL) == -1);
    CHECK(ckpt_device_type(NULL) == NULL);
    ckpt_device_index(NULL);
    CHECK(ckpt_global_module(NULL) == NULL && ckpt_global_name(NULL) == NULL);
    CHECK(ckpt_object_args(NULL) == NULL && ckpt_object_state(NULL) == NULL);
    CHECK(ckpt_object_items(NULL) == NULL && ckpt_object_how(NULL) == NULL);
    CHECK(ckpt_obj_storage(NULL) == NULL);
    ckpt_storage_info si;
    ckpt_tensor_info ti;
    CHECK(ckpt_storage_get_info(NULL, &si) < 0 && ckpt_storage_get_info(NULL, NULL) < 0);
    CHECK(ckpt_tensor_get_info(NULL, &ti) < 0 && ckpt_tensor_get_info(NULL, NULL) < 0);
    CHECK(ckpt_tensor_data(NULL) == NULL);
    CHECK(ckpt_tensor_copy_into(NULL, NULL, 0, NULL) < 0);
    CHECK(ckpt_storage_data_mut(NULL) == NULL);
    char buf[64];
    CHECK(ckpt_obj_repr(NULL, false, buf, sizeof(buf)) != NULL);
    ckpt_obj_repr(NULL, true, NULL, 0);
    CHECK(ckpt_obj_walk_tensors(NULL, visit, NULL, NULL) <= 0);
    CHECK(ckpt_version() != NULL);
    CHECK(ckpt_convert_elements(NULL, CKPT_F32, NULL, CKPT_F32, 1) < 0);
    CHECK_EQ_INT(ckpt_convert_elements(NULL, CKPT_F32, NULL, CKPT_F32, 0) <= 0, 1);
}

TEST(test_api_null_core__builders_on_null_doc)
{
    CHECK(ckpt_none_new(NULL) == NULL && ckpt_bool_new(NULL, true) == NULL);
    CHECK(ckpt_int_new(NULL, 1) == NULL && ckpt_float_new(NULL, 1) == NULL);
    CHECK(ckpt_complex_new(NULL, 1, 2) == NULL && ckpt_str_new(NULL, "a") == NULL);
    CHECK(ckpt_strn_new(NULL, "a", 1) == NULL && ckpt_bytes_new(NULL, "a", 1) == NULL);
    CHECK(ckpt_bytearray_new(NULL, NULL, 0) == NULL && ckpt_tuple_new(NULL, 0, NULL) == NULL);
    CHECK(ckpt_list_new(NULL) == NULL && ckpt_set_new(NULL) == NULL);
    CHECK(ckpt_dict_new(NULL, CKPT_DICT_PLAIN) == NULL && ckpt_size_new(NULL, 0, NULL) == NULL);
    CHECK(ckpt_dtype_new(NULL, CKPT_F32) == NULL && ckpt_device_new(NULL, "cpu", -1) == NULL);
    CHECK(ckpt_global_new(NULL, "a", "b") == NULL);
    CHECK(ckpt_storage_new(NULL, CKPT_F32, 4, NULL) == NULL);
    CHECK(ckpt_storage_new_borrow(NULL, CKPT_F32, NULL, 0, NULL) == NULL);
    CHECK(ckpt_tensor_new(NULL, NULL, CKPT_F32, 0, NULL, NULL, 0, NULL) == NULL);
    CHECK(ckpt_tensor_new_copy(NULL, CKPT_F32, 0, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_tuple_set(NULL, 0, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_list_append(NULL, NULL, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_set_add(NULL, NULL, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_dict_set(NULL, NULL, NULL, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_dict_set_str(NULL, NULL, NULL, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_dict_set_attrs(NULL, NULL, NULL) == CKPT_E_ARG);
    CHECK(ckpt_obj_copy(NULL, NULL, NULL) == NULL);
    CHECK(ckpt_tensor_set_requires_grad(NULL, true, NULL) == CKPT_E_ARG);
    CHECK(ckpt_tensor_set_parameter(NULL, true, true, NULL) == CKPT_E_ARG);
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL); /* NULL allocator and NULL err: libc */
    CHECK(doc != NULL);
    ckpt_doc_free(doc);
}

TEST(test_api_null_core__builders_bad_args_and_zero_sizes)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    CHECK(doc != NULL);
    /* zero sizes are valid values */
    CHECK(ckpt_strn_new(doc, NULL, 0) != NULL && ckpt_bytes_new(doc, NULL, 0) != NULL);
    CHECK(ckpt_bytearray_new(doc, NULL, 0) != NULL);
    CHECK(ckpt_tuple_new(doc, 0, NULL) != NULL && ckpt_size_new(doc, 0, NULL) != NULL);
    CHECK(ckpt_str_new(doc, "") != NULL);
    ckpt_storage *s0 = ckpt_storage_new(doc, CKPT_F32, 0, NULL);
    CHECK(s0 != NULL);
    CHECK(ckpt_tensor_new(doc, s0, CKPT_F32, 0, NULL, NULL, 0, NULL) ==
          NULL); /* 0-dim needs 1 element */
    const int64_t zero[1] = {0};
    CHECK(ckpt_tensor_new(doc, s0, CKPT_F32, 1, zero, NULL, 0, NULL) != NULL);
    CHECK(ckpt_tensor_new_copy(doc, CKPT_F32, 1, zero, NULL, NULL) != NULL);
    CHECK(ckpt_storage_new_borrow(doc, CKPT_F32, NULL, 0, NULL) != NULL ||
          ckpt_storage_new_borrow(doc, CKPT_F32, NULL, 0, NULL) == NULL);
    /* the documented contract breaks: NULL, no crash */
    CHECK(ckpt_str_new(doc, NULL) == NULL && ckpt_strn_new(doc, NULL, 3) == NULL);
    CHECK(ckpt_bytes_new(doc, NULL, 3) == NULL && ckpt_size_new(doc, 2, NULL) == NULL);
    CHECK(ckpt_dtype_new(doc, -1) == NULL && ckpt_dtype_new(doc, 1000) == NULL);
    CHECK(ckpt_dict_new(doc, 99) == NULL && ckpt_device_new(doc, NULL, 0) == NULL);
    CHECK(ckpt_global_new(doc, NULL, "x") == NULL && ckpt_global_new(doc, "x", NULL) == NULL);
    CHECK(ckpt_storage_new(doc, -1, 4, NULL) == NULL);
    CHECK(ckpt_storage_new(doc, CKPT_F32, 3, NULL) == NULL); /* not whole elements */
    CHECK(ckpt_storage_new_borrow(doc, CKPT_F32, NULL, 8, NULL) == NULL);
    const int64_t big[1] = {INT64_MAX};
    CHECK(ckpt_tensor_new_copy(doc, CKPT_F32, 1, big, NULL, NULL) == NULL);
    CHECK(ckpt_tensor_new_copy(doc, CKPT_F32, 1, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_tensor_new_copy(doc, CKPT_F32, -1, NULL, NULL, NULL) == NULL);
    CHECK(ckpt_tensor_new(doc, NULL, CKPT_F32, 1, zero, NULL, 0, NULL) == NULL);

    /* container inserts: each failure is CKPT_E_ARG with a message */
    ckpt_obj *i1 = ckpt_int_new(doc, 1), *l = ckpt_list_new(doc), *st = ckpt_set_new(doc);
    ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_PLAIN), *tup = ckpt_tuple_new(doc, 1, NULL);
    CHECK(i1 && l && st && d && tup);
    ckpt_error err;
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_dict_set(doc, d, l, i1, &err), CKPT_E_ARG); /* unhashable key */
    CHECK(strstr(err.msg, "unhashable") != NULL);
    CHECK_EQ_INT(ckpt_dict_set(doc, d, l, i1, NULL), CKPT_E_ARG);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_dict_set(doc, l, i1, i1, &err), CKPT_E_ARG); /* not a dict */
    CHECK(strstr(err.msg, "list") != NULL);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, d, NULL, i1, &err), CKPT_E_ARG);
    CHECK(err.msg[0] != '\0');
    CHECK_EQ_INT(ckpt_dict_set_str(doc, d, "k", NULL, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, d, "", i1, NULL), 0);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_set_add(doc, st, l, &err), CKPT_E_ARG);
    CHECK(strstr(err.msg, "unhashable") != NULL);
    CHECK_EQ_INT(ckpt_set_add(doc, l, i1, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_set_add(doc, st, i1, NULL), 0);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_list_append(doc, d, i1, &err), CKPT_E_ARG);
    CHECK(strstr(err.msg, "dict") != NULL);
    CHECK_EQ_INT(ckpt_list_append(doc, l, NULL, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_list_append(doc, l, i1, NULL), 0);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_tuple_set(tup, 1, i1, &err), CKPT_E_ARG);
    CHECK(strstr(err.msg, "out of range") != NULL);
    CHECK_EQ_INT(ckpt_tuple_set(tup, 0, NULL, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_tuple_set(l, 0, i1, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_tuple_set(tup, 0, i1, NULL), 0);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_dict_set_attrs(d, l, &err), CKPT_E_ARG);
    CHECK(err.msg[0] != '\0');
    CHECK_EQ_INT(ckpt_dict_set_attrs(d, NULL, NULL), 0);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_tensor_set_requires_grad(i1, true, &err), CKPT_E_ARG);
    CHECK(strstr(err.msg, "not a tensor") != NULL);
    CHECK_EQ_INT(ckpt_tensor_set_parameter(i1, true, true, NULL), CKPT_E_ARG);

    /* getters with NULL out-parameters and out-of-range indexes */
    CHECK(ckpt_obj_item(l, 5) == NULL && ckpt_dict_key(d, 99) == NULL);
    CHECK(ckpt_dict_value(d, 99) == NULL && ckpt_dict_get(d, NULL) == NULL);
    CHECK(ckpt_dict_find(d, NULL) == NULL && ckpt_obj_get(d, "nope", NULL) == NULL);
    CHECK(ckpt_obj_str(ckpt_str_new(doc, "ab"), NULL) != NULL);
    double re, im;
    ckpt_obj_complex(i1, NULL, &im);
    ckpt_obj_complex(i1, &re, NULL);
    CHECK(ckpt_size_dims(ckpt_size_new(doc, 0, NULL), NULL) != NULL ||
          ckpt_size_dims(ckpt_size_new(doc, 0, NULL), NULL) == NULL);
    CHECK(ckpt_doc_storage(doc, 1000) == NULL);
    ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_F32, 1, zero, NULL, NULL);
    CHECK(t != NULL);
    CHECK(ckpt_tensor_get_info(t, NULL) < 0);
    CHECK(ckpt_storage_get_info(s0, NULL) < 0);
    CHECK_EQ_INT(ckpt_tensor_copy_into(t, NULL, 0, NULL), 0); /* zero bytes need no buffer */
    const int64_t two[1] = {2};
    ckpt_obj *t2 = ckpt_tensor_new_copy(doc, CKPT_F32, 1, two, NULL, NULL);
    float out[2];
    CHECK(ckpt_tensor_copy_into(t2, out, 4, NULL) < 0);
    CHECK(ckpt_tensor_copy_into(t2, NULL, 8, NULL) < 0);
    CHECK(ckpt_tensor_copy_into(i1, out, 8, NULL) < 0);
    CHECK_EQ_INT(ckpt_tensor_copy_into(t2, out, 8, NULL), 0);
    /* walking: NULL callback, NULL payload, err NULL */
    int count = 0;
    CHECK_EQ_INT(ckpt_dict_set_str(doc, d, "t", t2, NULL), 0);
    CHECK(ckpt_obj_walk_tensors(d, NULL, NULL, NULL) < 0);
    CHECK_EQ_INT(ckpt_obj_walk_tensors(d, visit, &count, NULL), 0);
    CHECK_EQ_INT(count, 1);
    char rb[8];
    CHECK(ckpt_obj_repr(d, false, rb, sizeof(rb)) == rb && strlen(rb) < sizeof(rb));
    CHECK(ckpt_obj_repr(d, false, NULL, 0) == NULL || 1);
    ckpt_doc_set_root(doc, NULL);
    ckpt_doc_set_root(doc, d);
    CHECK(ckpt_doc_root(doc) == d);
    ckpt_doc_free(doc);
}

TEST(test_api_null_core__convert_zero_and_null)
{
    float f = 1.0f;
    uint16_t h = 0;
    CHECK_EQ_INT(ckpt_convert_elements(&h, CKPT_F16, &f, CKPT_F32, 1), 0);
    CHECK(ckpt_convert_elements(NULL, CKPT_F16, &f, CKPT_F32, 1) < 0);
    CHECK(ckpt_convert_elements(&h, CKPT_F16, NULL, CKPT_F32, 1) < 0);
    CHECK(ckpt_convert_elements(&h, -1, &f, CKPT_F32, 1) < 0);
    CHECK(ckpt_convert_elements(&h, CKPT_F16, &f, 1000, 1) < 0);
}

TEST_MAIN()
