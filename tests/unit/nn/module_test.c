/* tests/unit/nn/module_test.c - module tree, slots, attributes, walks. */
#include "ckpt/ckpt.h"
#include "ckpt/nn.h"
#include "util/test.h"

TEST(test_nn_module__tree)
{
    ckpt_error err = {0};
    ckpt_module *root = ckpt_module_new("Net", &err);
    CHECK(root);
    CHECK_STR(ckpt_module_name(root), "");
    CHECK_STR(ckpt_module_type(root), "Net");
    CHECK_EQ_INT(ckpt_module_version(root), 1);
    ckpt_module *l1 = ckpt_module_add(root, "layer1", "Sequential", &err);
    ckpt_module *b0 = ckpt_module_add(l1, "0", "BasicBlock", &err);
    ckpt_module *c1 = ckpt_module_add(b0, "conv1", "Conv2d", &err);
    CHECK(l1 && b0 && c1);
    CHECK(ckpt_module_find(root, "layer1.0.conv1") == c1);
    CHECK(ckpt_module_find(root, "") == root);
    CHECK(ckpt_module_find(root, "layer1.1") == NULL);
    CHECK(ckpt_module_find(root, "layer1.0.conv") == NULL);
    CHECK(ckpt_module_parent(c1) == b0);
    CHECK_EQ_INT(ckpt_module_child_count(root), 1);
    CHECK(ckpt_module_child(l1, 0) == b0);
    CHECK(ckpt_module_child(l1, 1) == NULL);
    /* torch's name rules */
    CHECK(ckpt_module_add(root, "layer1", "X", &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    ckpt_error_clear(&err);
    CHECK(ckpt_module_add(root, "a.b", "X", &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    ckpt_error_clear(&err);
    CHECK(ckpt_module_add(root, "", "X", &err) == NULL);
    CHECK(ckpt_module_add(NULL, "x", "X", NULL) == NULL);
    CHECK(ckpt_module_param(c1, "weight", CKPT_F32, 0, NULL, NULL));
    CHECK(ckpt_module_add(c1, "weight", "X", NULL) == NULL); /* attribute exists */
    ckpt_module_free(root);
}

TEST(test_nn_module__adopt)
{
    ckpt_error err = {0};
    ckpt_module *root = ckpt_module_new("Net", &err);
    ckpt_module *sub = ckpt_module_new("Encoder", &err);
    ckpt_module *leaf = ckpt_module_add(sub, "fc", "Linear", &err);
    CHECK(root && sub && leaf);
    CHECK_OK(ckpt_module_adopt(root, "enc", sub, &err), &err);
    CHECK_STR(ckpt_module_name(sub), "enc");
    CHECK(ckpt_module_find(root, "enc.fc") == leaf);
    /* a second parent, or a cycle, is refused */
    ckpt_module *other = ckpt_module_new("Other", &err);
    CHECK_EQ_INT(ckpt_module_adopt(other, "x", sub, &err), CKPT_E_ARG);
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_module_adopt(leaf, "x", root, &err), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_module_adopt(NULL, "x", other, NULL), CKPT_E_ARG);
    ckpt_module_free(other);
    ckpt_module_free(root); /* frees sub and leaf */
}

TEST(test_nn_module__slots_owned_and_borrowed)
{
    ckpt_error err = {0};
    ckpt_module *m = ckpt_module_new("Linear", &err);
    int64_t ws[2] = {2, 3};
    ckpt_slot *w = ckpt_module_param(m, "weight", CKPT_F32, 2, ws, &err);
    CHECK(w);
    CHECK(w->owned && w->is_param && w->persistent && w->requires_grad);
    CHECK_EQ_INT(w->nbytes, 24);
    CHECK_STR(w->name, "weight");
    const float *wd = w->data;
    for (int i = 0; i < 6; i++)
        CHECK(wd[i] == 0.0f);
    float bias[2] = {1, 2};
    int64_t bs[1] = {2};
    ckpt_slot *b = ckpt_module_param_borrow(m, "bias", CKPT_F32, 1, bs, bias, &err);
    CHECK(b && b->data == bias && !b->owned);
    /* many more slots: earlier pointers stay valid */
    char name[32];
    for (int i = 0; i < 100; i++) {
        snprintf(name, sizeof(name), "buf%d", i);
        CHECK(ckpt_module_buffer(m, name, CKPT_I64, 0, NULL, i % 2 == 0, &err));
    }
    CHECK(ckpt_module_slot(m, "weight") == w);
    CHECK_STR(w->name, "weight");
    CHECK_EQ_INT(w->shape[1], 3);
    CHECK_EQ_INT(ckpt_module_slot_count(m), 102);
    CHECK(ckpt_module_slot_at(m, 1) == b);
    CHECK(!ckpt_module_slot_at(m, 3)->persistent);
    /* duplicates, dots, bad shapes, NULL data */
    CHECK(ckpt_module_param(m, "weight", CKPT_F32, 2, ws, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    int64_t neg[1] = {-1};
    CHECK(ckpt_module_param(m, "n", CKPT_F32, 1, neg, NULL) == NULL);
    CHECK(ckpt_module_param(m, "n", CKPT_F32, 1, NULL, NULL) == NULL);
    CHECK(ckpt_module_param(m, "a.b", CKPT_F32, 0, NULL, NULL) == NULL);
    CHECK(ckpt_module_param_borrow(m, "n", CKPT_F32, 1, bs, NULL, NULL) == NULL);
    CHECK(ckpt_module_param(m, "n", 99, 0, NULL, NULL) == NULL);
    CHECK_OK(ckpt_module_param_none(m, "extra", &err), &err);
    ckpt_slot *none = ckpt_module_slot(m, "extra");
    CHECK(none && none->data == NULL);
    /* zero-size slots still have memory */
    int64_t z[1] = {0};
    ckpt_slot *e = ckpt_module_buffer(m, "empty", CKPT_F32, 1, z, true, &err);
    CHECK(e && e->data && e->nbytes == 0);
    ckpt_module_free(m);
}

TEST(test_nn_module__slot_path)
{
    ckpt_error err = {0};
    ckpt_module *root = ckpt_module_new("Net", &err);
    ckpt_module *bn = ckpt_module_add(ckpt_module_add(root, "layer1", "Sequential", &err), "0",
                                      "BatchNorm2d", &err);
    int64_t s[1] = {4};
    ckpt_slot *rm = ckpt_module_buffer(bn, "running_mean", CKPT_F32, 1, s, true, &err);
    CHECK(rm);
    CHECK(ckpt_module_slot(root, "layer1.0.running_mean") == rm);
    CHECK(ckpt_module_slot(root, "layer1.1.running_mean") == NULL);
    CHECK(ckpt_module_slot(root, "layer1.0.nope") == NULL);
    CHECK(ckpt_module_slot(root, "running_mean") == NULL);
    ckpt_module_free(root);
}

TEST(test_nn_module__attributes)
{
    ckpt_module *m = ckpt_module_new("Conv2d", NULL);
    CHECK(m);
    CHECK_OK(ckpt_module_set_attr_int(m, "in_channels", 3, NULL), NULL);
    int64_t st[2] = {2, 2};
    CHECK_OK(ckpt_module_set_attr_ints(m, "stride", 2, st, NULL), NULL);
    CHECK_OK(ckpt_module_set_attr_float(m, "eps", 1e-5, NULL), NULL);
    CHECK_OK(ckpt_module_set_attr_bool(m, "bias", true, NULL), NULL);
    CHECK_OK(ckpt_module_set_attr_str(m, "padding_mode", "zeros", NULL), NULL);
    st[0] = 9; /* copied */
    int64_t v = 0;
    CHECK(ckpt_module_attr_int(m, "in_channels", &v) && v == 3);
    size_t n = 0;
    const int64_t *p = NULL;
    CHECK(ckpt_module_attr_ints(m, "stride", &n, &p) && n == 2 && p[0] == 2);
    double f = 0;
    CHECK(ckpt_module_attr_float(m, "eps", &f) && f == 1e-5);
    bool b = false;
    CHECK(ckpt_module_attr_bool(m, "bias", &b) && b);
    CHECK_STR(ckpt_module_attr_str(m, "padding_mode"), "zeros");
    /* replace, with a new kind */
    CHECK_OK(ckpt_module_set_attr_str(m, "in_channels", "three", NULL), NULL);
    CHECK(!ckpt_module_attr_int(m, "in_channels", &v));
    CHECK_STR(ckpt_module_attr_str(m, "in_channels"), "three");
    CHECK_EQ_INT(ckpt_module_attr_count(m), 5);
    CHECK_STR(ckpt_module_attr_name(m, 0), "in_channels");
    CHECK(ckpt_module_attr_name(m, 5) == NULL);
    CHECK(!ckpt_module_attr_float(m, "missing", &f));
    CHECK_EQ_INT(ckpt_module_set_attr_int(NULL, "x", 1, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_module_set_attr_ints(m, "x", 2, NULL, NULL), CKPT_E_ARG);
    ckpt_module_free(m);
}

TEST(test_nn_module__train_eval)
{
    ckpt_module *root = ckpt_module_new("Net", NULL);
    ckpt_module *a = ckpt_module_add(root, "a", "Seq", NULL);
    ckpt_module *b = ckpt_module_add(a, "b", "Dropout", NULL);
    CHECK(ckpt_module_training(root) && ckpt_module_training(b));
    ckpt_module_train(root, false);
    CHECK(!ckpt_module_training(root) && !ckpt_module_training(a) && !ckpt_module_training(b));
    ckpt_module *c = ckpt_module_add(a, "c", "X", NULL); /* inherits the parent's mode */
    CHECK(!ckpt_module_training(c));
    ckpt_module_train(a, true);
    CHECK(!ckpt_module_training(root) && ckpt_module_training(b));
    ckpt_module_free(root);
}

typedef struct seen {
    char keys[16][64];
    int n;
    int stop_at;
} seen;

static int on_slot(void *payload, const char *key, ckpt_module *owner, ckpt_slot *s)
{
    (void)owner;
    (void)s;
    seen *v = payload;
    snprintf(v->keys[v->n++], 64, "%s", key);
    return v->n == v->stop_at ? 42 : 0;
}

static int on_module(void *payload, const char *prefix, ckpt_module *m)
{
    seen *v = payload;
    snprintf(v->keys[v->n++], 64, "%s:%s", prefix, ckpt_module_type(m));
    return 0;
}

TEST(test_nn_module__walk)
{
    ckpt_error err = {0};
    ckpt_module *root = ckpt_module_new("Net", &err);
    int64_t s[1] = {2};
    float shared[2];
    CHECK(ckpt_module_buffer(root, "scale", CKPT_F32, 1, s, true, &err));
    CHECK(ckpt_module_buffer(root, "cache", CKPT_F32, 1, s, false, &err));
    CHECK(ckpt_module_param(root, "alpha", CKPT_F32, 0, NULL, &err));
    ckpt_module *enc = ckpt_module_add(root, "enc", "Linear", &err);
    CHECK(ckpt_module_param_borrow(enc, "weight", CKPT_F32, 1, s, shared, &err));
    CHECK_OK(ckpt_module_param_none(enc, "bias", &err), &err);
    ckpt_module *dec = ckpt_module_add(root, "dec", "Linear", &err);
    /* tied weight: same memory, visited once */
    CHECK(ckpt_module_param_borrow(dec, "weight", CKPT_F32, 1, s, shared, &err));
    CHECK(ckpt_module_param(dec, "bias", CKPT_F32, 1, s, &err));

    seen v = {0};
    CHECK_EQ_INT(ckpt_module_walk(root, CKPT_WALK_PARAMS, on_slot, &v, &err), 0);
    CHECK_EQ_INT(v.n, 3);
    CHECK_STR(v.keys[0], "alpha");
    CHECK_STR(v.keys[1], "enc.weight");
    CHECK_STR(v.keys[2], "dec.bias");

    memset(&v, 0, sizeof(v));
    CHECK_EQ_INT(ckpt_module_walk(root, CKPT_WALK_BUFFERS, on_slot, &v, &err), 0);
    CHECK_EQ_INT(v.n, 2);
    CHECK_STR(v.keys[1], "cache");
    memset(&v, 0, sizeof(v));
    CHECK_EQ_INT(ckpt_module_walk(root, CKPT_WALK_BUFFERS | CKPT_WALK_PERSISTENT_ONLY, on_slot,
                                  &v, &err),
                 0);
    CHECK_EQ_INT(v.n, 1);
    /* both kinds: per module params then buffers */
    memset(&v, 0, sizeof(v));
    CHECK_EQ_INT(ckpt_module_walk(root, CKPT_WALK_PARAMS | CKPT_WALK_BUFFERS, on_slot, &v, &err),
                 0);
    CHECK_EQ_INT(v.n, 5);
    CHECK_STR(v.keys[0], "alpha");
    CHECK_STR(v.keys[1], "scale");
    /* early stop returns the callback's value */
    memset(&v, 0, sizeof(v));
    v.stop_at = 2;
    CHECK_EQ_INT(ckpt_module_walk(root, CKPT_WALK_PARAMS, on_slot, &v, &err), 42);
    CHECK_EQ_INT(v.n, 2);

    memset(&v, 0, sizeof(v));
    ckpt_module_add(enc, "act", "ReLU", &err);
    CHECK_EQ_INT(ckpt_module_walk_modules(root, on_module, &v, &err), 0);
    CHECK_EQ_INT(v.n, 4);
    CHECK_STR(v.keys[0], ":Net");
    CHECK_STR(v.keys[1], "enc:Linear");
    CHECK_STR(v.keys[2], "enc.act:ReLU");
    CHECK_STR(v.keys[3], "dec:Linear");
    CHECK_EQ_INT(ckpt_module_walk(NULL, 1, on_slot, &v, &err), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_module_walk_modules(root, NULL, &v, &err), CKPT_E_ARG);
    ckpt_module_free(root);
}

TEST(test_nn_module__version_and_null_getters)
{
    ckpt_module *m = ckpt_module_new("BatchNorm1d", NULL);
    ckpt_module_set_version(m, 2);
    CHECK_EQ_INT(ckpt_module_version(m), 2);
    CHECK(ckpt_module_new(NULL, NULL) == NULL);
    CHECK(ckpt_module_type(NULL) == NULL);
    CHECK_EQ_INT(ckpt_module_child_count(NULL), 0);
    CHECK(ckpt_module_slot(NULL, "x") == NULL);
    ckpt_module_free(NULL);
    /* freeing a child detaches it from its parent */
    ckpt_module *c = ckpt_module_add(m, "c", "X", NULL);
    ckpt_module_free(c);
    CHECK_EQ_INT(ckpt_module_child_count(m), 0);
    ckpt_module_free(m);
}

TEST_MAIN()
