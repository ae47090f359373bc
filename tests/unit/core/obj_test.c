/* tests/unit/core/obj_test.c - documents, builders and getters for every node
 * type, dict semantics (order, replace, numeric key equality, tuple keys,
 * 100,000 keys), ckpt_obj_get, and an out-of-memory sweep over the builders. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ckpt/core.h"
#include "core/obj.h"
#include "util/test.h"

TEST(test_core_obj__scalars)
{
    ckpt_error err = {0};
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    CHECK(doc && ckpt_doc_root(doc) == NULL);
    ckpt_obj *n = ckpt_none_new(doc), *t = ckpt_bool_new(doc, true),
             *f = ckpt_bool_new(doc, false);
    ckpt_obj *i = ckpt_int_new(doc, INT64_MIN), *d = ckpt_float_new(doc, -2.5);
    ckpt_obj *c = ckpt_complex_new(doc, 1.5, -2.0);
    CHECK(n && t && f && i && d && c);
    CHECK_EQ_INT(ckpt_obj_type(n), CKPT_T_NONE);
    CHECK(ckpt_obj_bool(t) && !ckpt_obj_bool(f));
    CHECK_EQ_INT(ckpt_obj_int(t), 1);
    CHECK(ckpt_obj_int(i) == INT64_MIN);
    CHECK(ckpt_obj_float(d) == -2.5 && ckpt_obj_float(t) == 1.0);
    CHECK(ckpt_obj_float(ckpt_int_new(doc, 7)) == 7.0);
    double re, im;
    ckpt_obj_complex(c, &re, &im);
    CHECK(re == 1.5 && im == -2.0);
    ckpt_obj_complex(d, &re, &im);
    CHECK(re == -2.5 && im == 0.0);
    /* getters on the wrong type are neutral */
    CHECK(ckpt_obj_int(d) == 0 && ckpt_obj_str(i, NULL) == NULL && ckpt_obj_len(i) == 0);
    CHECK(ckpt_obj_type(NULL) == -1 && ckpt_obj_int(NULL) == 0 && !ckpt_obj_bool(NULL));
    CHECK_STR(ckpt_type_name(CKPT_T_DICT), "dict");
    CHECK_STR(ckpt_type_name(CKPT_T_SIZE), "torch.Size");
    CHECK_STR(ckpt_type_name(99), "?");
    CHECK(ckpt_int_new(NULL, 1) == NULL);
    ckpt_doc_set_root(doc, i);
    CHECK(ckpt_doc_root(doc) == i && ckpt_doc_root_mut(doc) == i);
    CHECK(ckpt_doc_bytes(doc) > 0);
    ckpt_doc_free(doc);
    ckpt_doc_free(NULL);
}

TEST(test_core_obj__strings_and_bytes)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    size_t len = 0;
    ckpt_obj *s = ckpt_str_new(doc, "h\xc3\xa9llo");
    CHECK(s && ckpt_obj_type(s) == CKPT_T_STR);
    CHECK_STR(ckpt_obj_str(s, &len), "h\xc3\xa9llo");
    CHECK_EQ_INT(len, 6);
    CHECK_EQ_INT(ckpt_obj_len(s), 6);
    ckpt_obj *sn = ckpt_strn_new(doc, "a\0b", 3);
    CHECK(sn && ckpt_obj_len(sn) == 3 && memcmp(ckpt_obj_str(sn, NULL), "a\0b", 4) == 0);
    ckpt_obj *b = ckpt_bytes_new(doc, "\x00\xff", 2);
    CHECK(b && ckpt_obj_type(b) == CKPT_T_BYTES && ckpt_obj_len(b) == 2);
    ckpt_obj *ba = ckpt_bytearray_new(doc, "xyz", 3);
    CHECK(ba && ckpt_obj_type(ba) == CKPT_T_BYTEARRAY);
    CHECK_STR(ckpt_obj_str(ba, NULL), "xyz");
    CHECK(ckpt_bytes_new(doc, NULL, 0) != NULL);
    CHECK(ckpt_bytes_new(doc, NULL, 3) == NULL);
    CHECK(ckpt_str_new(doc, NULL) == NULL);
    ckpt_doc_free(doc);
}

TEST(test_core_obj__sequences)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    ckpt_obj *a = ckpt_int_new(doc, 1), *b = ckpt_str_new(doc, "b");
    ckpt_obj *items[2] = {a, b};
    ckpt_obj *t = ckpt_tuple_new(doc, 2, items);
    CHECK(t && ckpt_obj_type(t) == CKPT_T_TUPLE && ckpt_obj_len(t) == 2);
    CHECK(ckpt_obj_item(t, 0) == a && ckpt_obj_item(t, 1) == b && ckpt_obj_item(t, 2) == NULL);
    ckpt_obj *e = ckpt_tuple_new(doc, 0, NULL);
    CHECK(e && ckpt_obj_len(e) == 0);
    ckpt_obj *blank = ckpt_tuple_new(doc, 2, NULL);
    CHECK(blank && ckpt_obj_item(blank, 0) == NULL);
    CHECK_EQ_INT(ckpt_tuple_set(blank, 0, a, NULL), 0);
    CHECK_EQ_INT(ckpt_tuple_set(blank, 2, a, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_tuple_set(blank, 1, NULL, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_tuple_set(a, 0, a, NULL), CKPT_E_ARG);
    ckpt_obj *bad[2] = {a, NULL};
    CHECK(ckpt_tuple_new(doc, 2, bad) == NULL);

    ckpt_obj *l = ckpt_list_new(doc);
    CHECK(l && ckpt_obj_len(l) == 0);
    for (int k = 0; k < 1000; k++)
        CHECK_EQ_INT(ckpt_list_append(doc, l, ckpt_int_new(doc, k), NULL), 0);
    CHECK_EQ_INT(ckpt_obj_len(l), 1000);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_obj_item(l, 999)), 999);
    CHECK_EQ_INT(ckpt_list_append(doc, t, a, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_list_append(doc, l, NULL, NULL), CKPT_E_ARG);

    ckpt_obj *s = ckpt_set_new(doc);
    CHECK_EQ_INT(ckpt_set_add(doc, s, ckpt_int_new(doc, 1), NULL), 0);
    CHECK_EQ_INT(ckpt_set_add(doc, s, ckpt_float_new(doc, 1.0), NULL), 0); /* 1 == 1.0 */
    CHECK_EQ_INT(ckpt_set_add(doc, s, ckpt_bool_new(doc, true), NULL), 0);
    CHECK_EQ_INT(ckpt_set_add(doc, s, ckpt_str_new(doc, "x"), NULL), 0);
    CHECK_EQ_INT(ckpt_obj_len(s), 2);
    CHECK_EQ_INT(ckpt_obj_type(ckpt_obj_item(s, 0)), CKPT_T_INT); /* first object kept */
    CHECK_EQ_INT(ckpt_set_add(doc, s, l, NULL), CKPT_E_ARG);      /* unhashable */
    for (int k = 0; k < 5000; k++)
        CHECK_EQ_INT(ckpt_set_add(doc, s, ckpt_int_new(doc, k % 2500), NULL), 0);
    CHECK_EQ_INT(ckpt_obj_len(s), 2 + 2499);
    ckpt_doc_free(doc);
}

TEST(test_core_obj__torch_values)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    int64_t dims[3] = {2, 0, 5};
    ckpt_obj *sz = ckpt_size_new(doc, 3, dims);
    size_t n = 0;
    const int64_t *got = ckpt_size_dims(sz, &n);
    CHECK(got && n == 3 && got[2] == 5 && ckpt_obj_len(sz) == 3);
    ckpt_obj *sz0 = ckpt_size_new(doc, 0, NULL);
    CHECK(sz0 && ckpt_obj_len(sz0) == 0);
    CHECK(ckpt_size_new(doc, 2, NULL) == NULL);
    ckpt_obj *dt = ckpt_dtype_new(doc, CKPT_BF16);
    CHECK(dt && ckpt_obj_dtype(dt) == CKPT_BF16 && ckpt_obj_dtype(sz) == -1);
    CHECK(ckpt_dtype_new(doc, 999) == NULL);
    ckpt_obj *dev = ckpt_device_new(doc, "cuda", 1);
    CHECK_STR(ckpt_device_type(dev), "cuda");
    CHECK_EQ_INT(ckpt_device_index(dev), 1);
    CHECK_EQ_INT(ckpt_device_index(ckpt_device_new(doc, "cpu", -5)), -1);
    ckpt_obj *g = ckpt_global_new(doc, "collections", "OrderedDict");
    CHECK_STR(ckpt_global_module(g), "collections");
    CHECK_STR(ckpt_global_name(g), "OrderedDict");
    CHECK(ckpt_global_module(dev) == NULL);
    CHECK(ckpt_object_args(g) == NULL && ckpt_object_how(g) == NULL);
    CHECK(ckpt_obj_storage(g) == NULL);
    ckpt_doc_free(doc);
}

TEST(test_core_obj__dtypes)
{
    CHECK_EQ_INT(ckpt_dtype_size(CKPT_F32), 4);
    CHECK_EQ_INT(ckpt_dtype_size(CKPT_C128), 16);
    CHECK_EQ_INT(ckpt_dtype_size(CKPT_F8E4M3FN), 1);
    CHECK_EQ_INT(ckpt_dtype_size(CKPT_U64), 8);
    CHECK_EQ_INT(ckpt_dtype_size(32), 0);
    CHECK_EQ_INT(ckpt_dtype_size(-1), 0);
    CHECK_EQ_INT(ckpt_dtype_size(1000), 0);
    CHECK_STR(ckpt_dtype_name(CKPT_BF16), "bfloat16");
    CHECK(ckpt_dtype_name(-3) == NULL);
    CHECK_EQ_INT(ckpt_dtype_from_name("float32"), CKPT_F32);
    CHECK_EQ_INT(ckpt_dtype_from_name("half"), CKPT_F16);
    CHECK_EQ_INT(ckpt_dtype_from_name("long"), CKPT_I64);
    CHECK_EQ_INT(ckpt_dtype_from_name("nope"), -1);
    CHECK(ckpt_dtype_is_floating(CKPT_F8E5M2) && !ckpt_dtype_is_floating(CKPT_I32));
    for (int d = 0; d < CKPT_DTYPE_COUNT; d++) {
        const char *name = ckpt_dtype_name(d);
        if (name)
            CHECK_EQ_INT(ckpt_dtype_from_name(name), d);
    }
}

TEST(test_core_obj__dict_order_and_replace)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    CHECK(d && ckpt_dict_kind_of(d) == CKPT_DICT_ORDERED);
    CHECK(ckpt_dict_new(doc, 7) == NULL);
    const char *keys[] = {"z", "a", "m", "b"};
    for (int k = 0; k < 4; k++)
        CHECK_EQ_INT(ckpt_dict_set_str(doc, d, keys[k], ckpt_int_new(doc, k), NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, d, "a", ckpt_int_new(doc, 42), NULL), 0);
    CHECK_EQ_INT(ckpt_obj_len(d), 4);
    for (int k = 0; k < 4; k++)
        CHECK_STR(ckpt_obj_str(ckpt_dict_key(d, (size_t)k), NULL), keys[k]);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_dict_value(d, 1)), 42);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_dict_get(d, "a")), 42);
    CHECK(ckpt_dict_get(d, "q") == NULL && ckpt_dict_key(d, 4) == NULL);
    CHECK(ckpt_dict_get(d, NULL) == NULL);
    CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_list_new(doc), ckpt_none_new(doc), NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_dict_set(doc, ckpt_list_new(doc), ckpt_none_new(doc), ckpt_none_new(doc),
                               NULL),
                 CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, d, NULL, ckpt_none_new(doc), NULL), CKPT_E_ARG);
    /* attrs (BUILD state of an OrderedDict) */
    ckpt_obj *attrs = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_EQ_INT(ckpt_dict_set_attrs(d, attrs, NULL), 0);
    CHECK(ckpt_dict_attrs(d) == attrs);
    CHECK_EQ_INT(ckpt_dict_set_attrs(d, ckpt_list_new(doc), NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_dict_kind_of(attrs), CKPT_DICT_PLAIN);
    CHECK_EQ_INT(ckpt_dict_kind_of(ckpt_int_new(doc, 1)), -1);
    ckpt_doc_free(doc);
}

TEST(test_core_obj__dict_numeric_keys_are_python_equal)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    for (int big = 0; big < 2; big++) { /* small (linear) and indexed dicts */
        ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
        if (big)
            for (int k = 100; k < 140; k++)
                CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_int_new(doc, k), ckpt_none_new(doc),
                                           NULL),
                             0);
        size_t base = ckpt_obj_len(d);
        ckpt_obj *one = ckpt_int_new(doc, 1);
        CHECK_EQ_INT(ckpt_dict_set(doc, d, one, ckpt_str_new(doc, "int"), NULL), 0);
        CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_float_new(doc, 1.0), ckpt_str_new(doc, "float"),
                                   NULL),
                     0);
        CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_bool_new(doc, true), ckpt_str_new(doc, "bool"),
                                   NULL),
                     0);
        CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_complex_new(doc, 1.0, 0.0),
                                   ckpt_str_new(doc, "c"), NULL),
                     0);
        CHECK_EQ_INT(ckpt_obj_len(d), base + 1);
        CHECK(ckpt_dict_key(d, base) == one);
        CHECK_STR(ckpt_obj_str(ckpt_dict_value(d, base), NULL), "c");
        CHECK_STR(ckpt_obj_str(ckpt_dict_find(d, ckpt_float_new(doc, 1.0)), NULL), "c");
        /* 0 == False == -0.0; 0.5 is its own key; 2**53 float vs int */
        CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_bool_new(doc, false), ckpt_none_new(doc), NULL),
                     0);
        CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_float_new(doc, -0.0), ckpt_none_new(doc), NULL),
                     0);
        CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_float_new(doc, 0.5), ckpt_none_new(doc), NULL),
                     0);
        CHECK_EQ_INT(ckpt_obj_len(d), base + 3);
        CHECK(ckpt_dict_find(d, ckpt_int_new(doc, 9007199254740993LL)) == NULL);
        CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_int_new(doc, 9007199254740993LL),
                                   ckpt_none_new(doc), NULL),
                     0);
        CHECK(ckpt_dict_find(d, ckpt_float_new(doc, 9007199254740992.0)) == NULL);
        /* NaN is a key distinct from everything (Python: only by identity) */
        CHECK(ckpt_dict_find(d, ckpt_float_new(doc, (double)NAN)) == NULL);
        /* None, str vs bytes */
        CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_none_new(doc), ckpt_int_new(doc, 5), NULL), 0);
        CHECK_EQ_INT(ckpt_obj_int(ckpt_dict_find(d, ckpt_none_new(doc))), 5);
        CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_str_new(doc, "k"), ckpt_int_new(doc, 6), NULL),
                     0);
        CHECK(ckpt_dict_find(d, ckpt_bytes_new(doc, "k", 1)) == NULL);
    }
    ckpt_doc_free(doc);
}

TEST(test_core_obj__dict_tuple_and_torch_keys)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *k1[2] = {ckpt_int_new(doc, 1), ckpt_str_new(doc, "a")};
    ckpt_obj *k2[2] = {ckpt_float_new(doc, 1.0), ckpt_str_new(doc, "a")};
    CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_tuple_new(doc, 2, k1), ckpt_int_new(doc, 1), NULL),
                 0);
    CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_tuple_new(doc, 2, k2), ckpt_int_new(doc, 2), NULL),
                 0);
    CHECK_EQ_INT(ckpt_obj_len(d), 1);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_dict_find(d, ckpt_tuple_new(doc, 2, k1))), 2);
    /* a tuple holding a list is unhashable */
    ckpt_obj *k3[1] = {ckpt_list_new(doc)};
    CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_tuple_new(doc, 1, k3), ckpt_none_new(doc), NULL),
                 CKPT_E_ARG);
    CHECK(ckpt_dict_find(d, ckpt_tuple_new(doc, 1, k3)) == NULL);
    /* dtype and device keys */
    CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_dtype_new(doc, CKPT_F32), ckpt_int_new(doc, 3), NULL),
                 0);
    CHECK_EQ_INT(ckpt_dict_set(doc, d, ckpt_device_new(doc, "cuda", 0), ckpt_int_new(doc, 4),
                               NULL),
                 0);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_dict_find(d, ckpt_dtype_new(doc, CKPT_F32))), 3);
    CHECK(ckpt_dict_find(d, ckpt_device_new(doc, "cuda", 1)) == NULL);
    /* a tuple that contains itself (possible with ckpt_tuple_set) is not hashable
     * and must not send hashing into endless recursion */
    ckpt_obj *self = ckpt_tuple_new(doc, 1, NULL);
    CHECK_EQ_INT(ckpt_tuple_set(self, 0, self, NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set(doc, d, self, ckpt_none_new(doc), NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_set_add(doc, ckpt_set_new(doc), self, NULL), CKPT_E_ARG);
    ckpt_doc_free(doc);
}

TEST(test_core_obj__dict_100k_keys_constant_time)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "model", d, NULL), 0);
    char key[64];
    enum { N = 100000 };
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof(key), "layer.%d.weight", i);
        CHECK_EQ_INT(ckpt_dict_set_str(doc, d, key, ckpt_int_new(doc, i), NULL), 0);
    }
    CHECK_EQ_INT(ckpt_obj_len(d), N);
    clock_t t0 = clock();
    for (int rep = 0; rep < 3; rep++) {
        for (int i = 0; i < N; i++) {
            snprintf(key, sizeof(key), "layer.%d.weight", i);
            const ckpt_obj *v = ckpt_dict_get(d, key);
            if (!v || ckpt_obj_int(v) != i)
                CHECK(0);
            if (i % 97 == 0)
                CHECK_EQ_INT(ckpt_obj_int(ckpt_obj_get(root, "model", key, NULL)), i);
        }
    }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    /* 300,000 lookups: linear scans would take minutes */
    CHECK(secs < 5.0);
    CHECK_STR(ckpt_obj_str(ckpt_dict_key(d, N - 1), NULL), "layer.99999.weight");
    /* int keys too */
    ckpt_obj *di = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(ckpt_dict_set(doc, di, ckpt_int_new(doc, (int64_t)i * 7919),
                                   ckpt_int_new(doc, i), NULL),
                     0);
    for (int i = 0; i < N; i += 13)
        CHECK_EQ_INT(ckpt_obj_int(ckpt_dict_find(di, ckpt_float_new(doc, (double)i * 7919.0))),
                     i);
    ckpt_doc_free(doc);
}

TEST(test_core_obj__get_paths)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *lst = ckpt_list_new(doc);
    ckpt_obj *inner = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *byint = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, inner, "w", ckpt_int_new(doc, 9), NULL), 0);
    CHECK_EQ_INT(ckpt_list_append(doc, lst, ckpt_int_new(doc, 0), NULL), 0);
    CHECK_EQ_INT(ckpt_list_append(doc, lst, inner, NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "l", lst, NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set(doc, byint, ckpt_int_new(doc, 3), ckpt_str_new(doc, "three"),
                               NULL),
                 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "state", byint, NULL), 0);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_obj_get(root, "l", "1", "w", NULL)), 9);
    CHECK_STR(ckpt_obj_str(ckpt_obj_get(root, "state", "3", NULL), NULL), "three");
    CHECK(ckpt_obj_get(root, "l", "2", NULL) == NULL);
    CHECK(ckpt_obj_get(root, "l", "-1", NULL) == NULL);
    CHECK(ckpt_obj_get(root, "l", "x", NULL) == NULL);
    CHECK(ckpt_obj_get(root, "l", "", NULL) == NULL);
    CHECK(ckpt_obj_get(root, "l", "99999999999999999999999", NULL) == NULL);
    CHECK(ckpt_obj_get(root, "nope", "w", NULL) == NULL);
    CHECK(ckpt_obj_get(root, "l", "0", "deeper", NULL) == NULL);
    CHECK(ckpt_obj_get(root, NULL) == root);
    CHECK(ckpt_obj_get(NULL, "a", NULL) == NULL);
    ckpt_doc_free(doc);
}

TEST(test_core_obj__object_nodes)
{
    /* OBJECT nodes are made by the loader; build one the way it does. */
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    ckpt_obj *o = ckpt__node(doc, CKPT_T_OBJECT);
    CHECK(o);
    o->u.obj = ckpt__arena_calloc(&doc->arena, sizeof(ckpt__object));
    CHECK(o->u.obj);
    o->u.obj->cls = ckpt_global_new(doc, "mymod", "Net");
    o->u.obj->args = ckpt_tuple_new(doc, 0, NULL);
    o->u.obj->state = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    o->u.obj->how = "reduce";
    CHECK_EQ_INT(ckpt_dict_set_str(doc, o->u.obj->state, "fc", ckpt_int_new(doc, 3), NULL), 0);
    CHECK_STR(ckpt_global_module(o), "mymod");
    CHECK_STR(ckpt_global_name(o), "Net");
    CHECK_STR(ckpt_object_how(o), "reduce");
    CHECK(ckpt_object_args(o) == o->u.obj->args);
    CHECK(ckpt_object_state(o) == o->u.obj->state);
    CHECK(ckpt_object_items(o) == NULL);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_obj_get(o, "fc", NULL)), 3);
    ckpt_doc_free(doc);
}

TEST(test_core_obj__storages)
{
    ckpt_error err = {0};
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_storage *s = ckpt_storage_new(doc, CKPT_F32, 16, &err);
    CHECK(s);
    ckpt_storage_info si;
    CHECK_EQ_INT(ckpt_storage_get_info(s, &si), 0);
    CHECK(si.dtype == CKPT_F32 && si.nbytes == 16 && si.hold == CKPT_HOLD_OWNED && !si.untyped);
    CHECK_STR(si.location, "cpu");
    const uint8_t *p = si.data;
    for (int i = 0; i < 16; i++)
        CHECK_EQ_INT(p[i], 0);
    CHECK(ckpt_storage_data_mut(s) == si.data);
    CHECK(ckpt_storage_new(doc, CKPT_F32, 6, &err) == NULL && err.code == CKPT_E_ARG);
    ckpt_error_clear(&err);
    CHECK(ckpt_storage_new(doc, 33, 6, &err) == NULL && err.code == CKPT_E_ARG);
    uint8_t mine[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    ckpt_storage *b = ckpt_storage_new_borrow(doc, CKPT_U8, mine, 8, &err);
    CHECK(b && ckpt_storage_data_mut(b) == mine);
    CHECK_EQ_INT(ckpt_storage_get_info(b, &si), 0);
    CHECK_EQ_INT(si.hold, CKPT_HOLD_BORROWED);
    CHECK(ckpt_storage_new_borrow(doc, CKPT_U8, NULL, 8, NULL) == NULL);
    CHECK_EQ_INT(ckpt_doc_storage_count(doc), 2);
    CHECK(ckpt_doc_storage(doc, 1) == b && ckpt_doc_storage(doc, 2) == NULL);
    CHECK_EQ_INT(ckpt_storage_get_info(NULL, &si), CKPT_E_ARG);
    ckpt_doc_free(doc);
}

/* Build a small document of every node kind; returns 0 or a negative status. */
static int build_everything(const ckpt_alloc *a, ckpt_doc **out)
{
    ckpt_error err = {0};
    ckpt_doc *doc = ckpt_doc_new(a, &err);
    *out = doc;
    if (!doc)
        return err.code;
    ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    if (!root)
        return CKPT_E_NOMEM;
    ckpt_doc_set_root(doc, root);
    char key[32];
    for (int i = 0; i < 40; i++) { /* enough to build the dict index */
        snprintf(key, sizeof(key), "k%d", i);
        ckpt_obj *v = ckpt_int_new(doc, i);
        if (!v)
            return CKPT_E_NOMEM;
        int rc = ckpt_dict_set_str(doc, root, key, v, &err);
        if (rc)
            return rc;
    }
    ckpt_obj *l = ckpt_list_new(doc), *s = ckpt_set_new(doc);
    if (!l || !s)
        return CKPT_E_NOMEM;
    for (int i = 0; i < 20; i++) {
        ckpt_obj *v = ckpt_float_new(doc, i * 0.5);
        if (!v || ckpt_list_append(doc, l, v, &err) || ckpt_set_add(doc, s, v, &err))
            return CKPT_E_NOMEM;
    }
    int64_t shape[2] = {3, 4};
    ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_F32, 2, shape, NULL, &err);
    if (!t)
        return err.code;
    ckpt_obj *items[4] = {l, s, t, ckpt_str_new(doc, "some string")};
    if (!items[3])
        return CKPT_E_NOMEM;
    ckpt_obj *tup = ckpt_tuple_new(doc, 4, items);
    if (!tup)
        return CKPT_E_NOMEM;
    int rc = ckpt_dict_set_str(doc, root, "tuple", tup, &err);
    if (rc)
        return rc;
    ckpt_obj *sz = ckpt_size_new(doc, 2, shape), *dev = ckpt_device_new(doc, "cpu", -1);
    ckpt_obj *g = ckpt_global_new(doc, "m", "n"), *by = ckpt_bytes_new(doc, "ab", 2);
    if (!sz || !dev || !g || !by)
        return CKPT_E_NOMEM;
    return ckpt_dict_set_str(doc, root, "size", sz, &err);
}

TEST(test_core_obj__out_of_memory_sweep)
{
    int failures = 0;
    long n;
    for (n = 1; n < 10000; n++) {
        test_failing_alloc fa;
        test_failing_alloc_init(&fa, n);
        ckpt_doc *doc = NULL;
        int rc = build_everything(&fa.a, &doc);
        ckpt_doc_free(doc);
        if (fa.live != 0) {
            fprintf(stderr, "allocation %ld failed: %lld bytes leaked\n", n, fa.live);
            failures++;
        }
        if (rc == 0)
            break;
        if (rc != CKPT_E_NOMEM) {
            fprintf(stderr, "allocation %ld failed: status %d\n", n, rc);
            failures++;
        }
    }
    CHECK(n > 3 && n < 10000);
    CHECK_EQ_INT(failures, 0);
}

TEST_MAIN()
