/* tests/unit/core/walk_test.c - ckpt_obj_walk_tensors: key paths for str, int,
 * float, bool/None, bytes and tuple keys, nested lists, OBJECT state, early
 * stop, failure, the depth limit and cycles. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/core.h"
#include "core/obj.h"
#include "util/test.h"

typedef struct seen {
    char keys[32][128];
    int n;
    int stop_at; /* return 1 at this visit (1-based), 0 = never */
    int fail_at;
} seen;

static int visit(void *payload, const char *key, const ckpt_obj *t)
{
    seen *s = payload;
    if (ckpt_obj_type(t) != CKPT_T_TENSOR)
        return -99;
    if (s->n < 32)
        snprintf(s->keys[s->n], sizeof(s->keys[0]), "%s", key);
    s->n++;
    if (s->stop_at && s->n == s->stop_at)
        return 7;
    if (s->fail_at && s->n == s->fail_at)
        return CKPT_E_SHAPE;
    return 0;
}

static ckpt_obj *tensor(ckpt_doc *doc)
{
    int64_t shape[1] = {2};
    return ckpt_tensor_new_copy(doc, CKPT_F32, 1, shape, NULL, NULL);
}

TEST(test_core_walk__key_paths)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *model = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    ckpt_obj *t = tensor(doc);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, model, "fc1.weight", t, NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "model", model, NULL), 0);
    /* optimizer state keyed by int */
    ckpt_obj *state = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *slot = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, slot, "exp_avg", tensor(doc), NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set(doc, state, ckpt_int_new(doc, 3), slot, NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "state", state, NULL), 0);
    /* nested lists and a tuple */
    ckpt_obj *outer = ckpt_list_new(doc), *inner = ckpt_list_new(doc);
    CHECK_EQ_INT(ckpt_list_append(doc, inner, ckpt_int_new(doc, 0), NULL), 0);
    CHECK_EQ_INT(ckpt_list_append(doc, inner, t, NULL), 0); /* same tensor again */
    CHECK_EQ_INT(ckpt_list_append(doc, outer, ckpt_none_new(doc), NULL), 0);
    CHECK_EQ_INT(ckpt_list_append(doc, outer, inner, NULL), 0);
    ckpt_obj *items[2] = {tensor(doc), outer};
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "lists", ckpt_tuple_new(doc, 2, items), NULL), 0);
    /* unusual keys: tuple, float, bool, None, bytes, str inside a tuple */
    ckpt_obj *odd = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_obj *tk[2] = {ckpt_int_new(doc, 1), ckpt_str_new(doc, "a'b")};
    CHECK_EQ_INT(ckpt_dict_set(doc, odd, ckpt_tuple_new(doc, 2, tk), tensor(doc), NULL), 0);
    ckpt_obj *tk1[1] = {ckpt_bytes_new(doc, "\x01z", 2)};
    CHECK_EQ_INT(ckpt_dict_set(doc, odd, ckpt_tuple_new(doc, 1, tk1), tensor(doc), NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set(doc, odd, ckpt_float_new(doc, 0.1), tensor(doc), NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set(doc, odd, ckpt_float_new(doc, 2.0), tensor(doc), NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set(doc, odd, ckpt_bool_new(doc, false), tensor(doc), NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set(doc, odd, ckpt_none_new(doc), tensor(doc), NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set(doc, odd, ckpt_int_new(doc, -5), tensor(doc), NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "odd", odd, NULL), 0);
    /* an OBJECT is entered through its state */
    ckpt_obj *o = ckpt__node(doc, CKPT_T_OBJECT);
    o->u.obj = ckpt__arena_calloc(&doc->arena, sizeof(ckpt__object));
    o->u.obj->cls = ckpt_global_new(doc, "m", "Net");
    o->u.obj->how = "newobj";
    o->u.obj->state = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, o->u.obj->state, "bias", tensor(doc), NULL), 0);
    CHECK_EQ_INT(ckpt_dict_set_str(doc, root, "net", o, NULL), 0);

    seen s;
    memset(&s, 0, sizeof(s));
    ckpt_error err = {0};
    CHECK_OK(ckpt_obj_walk_tensors(root, visit, &s, &err), &err);
    static const char *const want[] = {"model.fc1.weight", "state.3.exp_avg",  "lists.0",
                                       "lists.1.1.1",      "odd.(1, \"a'b\")", "odd.(b'\\x01z',)",
                                       "odd.0.1",          "odd.2.0",          "odd.False",
                                       "odd.None",         "odd.-5",           "net.bias"};
    CHECK_EQ_INT(s.n, 12);
    for (int i = 0; i < 12; i++)
        CHECK_STR(s.keys[i], want[i]);
    /* a tensor at the root has an empty path */
    memset(&s, 0, sizeof(s));
    CHECK_OK(ckpt_obj_walk_tensors(t, visit, &s, &err), &err);
    CHECK(s.n == 1 && s.keys[0][0] == '\0');
    /* early stop and failure */
    memset(&s, 0, sizeof(s));
    s.stop_at = 2;
    CHECK_EQ_INT(ckpt_obj_walk_tensors(root, visit, &s, &err), 7);
    CHECK_EQ_INT(s.n, 2);
    memset(&s, 0, sizeof(s));
    s.fail_at = 3;
    CHECK_EQ_INT(ckpt_obj_walk_tensors(root, visit, &s, &err), CKPT_E_SHAPE);
    CHECK_EQ_INT(ckpt_obj_walk_tensors(root, NULL, &s, &err), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_obj_walk_tensors(NULL, visit, &s, NULL), 0);
    ckpt_doc_free(doc);
}

TEST(test_core_walk__depth_limit_and_cycles)
{
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    /* 999 nested lists around a tensor: fine; 1100: CKPT_E_LIMIT */
    for (int depth = 999; depth <= 1100; depth += 101) {
        ckpt_obj *cur = tensor(doc);
        for (int i = 0; i < depth; i++) {
            ckpt_obj *l = ckpt_list_new(doc);
            CHECK_EQ_INT(ckpt_list_append(doc, l, cur, NULL), 0);
            cur = l;
        }
        seen s;
        memset(&s, 0, sizeof(s));
        ckpt_error err = {0};
        int rc = ckpt_obj_walk_tensors(cur, visit, &s, &err);
        if (depth == 999) {
            CHECK_EQ_INT(rc, 0);
            CHECK_EQ_INT(s.n, 1);
        } else {
            CHECK_EQ_INT(rc, CKPT_E_LIMIT);
            CHECK_EQ_INT(err.code, CKPT_E_LIMIT);
        }
    }
    /* a list that contains itself */
    ckpt_obj *l = ckpt_list_new(doc);
    CHECK_EQ_INT(ckpt_list_append(doc, l, tensor(doc), NULL), 0);
    CHECK_EQ_INT(ckpt_list_append(doc, l, l, NULL), 0);
    seen s;
    memset(&s, 0, sizeof(s));
    ckpt_error err = {0};
    CHECK_EQ_INT(ckpt_obj_walk_tensors(l, visit, &s, &err), CKPT_E_LIMIT);
    /* a dict whose key path grows past the key buffer */
    ckpt_obj *cur = tensor(doc);
    char key[600];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = '\0';
    for (int i = 0; i < 20; i++) {
        ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
        CHECK_EQ_INT(ckpt_dict_set_str(doc, d, key, cur, &err), 0);
        cur = d;
    }
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_obj_walk_tensors(cur, visit, &s, &err), CKPT_E_LIMIT);
    ckpt_doc_free(doc);
}

TEST_MAIN()
