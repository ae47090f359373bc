/* tests/unit/nn/module_io_test.c - ckpt_module_save / ckpt_module_load and
 * ckpt_load_state_dict_opts.sub_key (nested dicts) next to the flat `prefix`.
 * torch's side of the same files: tests/interop/train_ckpt_interop.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "ckpt/nn.h"
#include "ckpt/torch.h"
#include "util/test.h"

static ckpt_module *net(uint64_t seed)
{
    ckpt_rng r;
    ckpt_rng_seed(&r, seed);
    ckpt_module *m = ckpt_nn_sequential(NULL, NULL, NULL);
    if (!m || !ckpt_nn_linear(m, "0", 4, 3, NULL, &r, NULL) ||
        !ckpt_nn_activation(m, "1", CKPT_ACT_RELU, 0, NULL) ||
        !ckpt_nn_linear(m, "2", 3, 2, NULL, &r, NULL)) {
        ckpt_module_free(m);
        return NULL;
    }
    return m;
}

static int same(ckpt_module *a, ckpt_module *b)
{
    const char *keys[] = {"0.weight", "0.bias", "2.weight", "2.bias"};
    for (int i = 0; i < 4; i++) {
        const ckpt_slot *x = ckpt_module_slot(a, keys[i]), *y = ckpt_module_slot(b, keys[i]);
        if (!x || !y || x->nbytes != y->nbytes || memcmp(x->data, y->data, x->nbytes) != 0)
            return 0;
    }
    return 1;
}

static void tmpname(char *buf, size_t n, const char *tag)
{
    snprintf(buf, n, "/tmp/ckpt_module_io_%s_%ld.pt", tag, (long)getpid());
}

TEST(test_nn_module_io__save_load_roundtrip)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    char path[256];
    tmpname(path, sizeof path, "rt");
    ckpt_module *a = net(1), *b = net(2);
    CHECK(a && b && !same(a, b));
    CHECK_OK(ckpt_module_save(a, path, &err), &err);
    /* the file is torch.save(model.state_dict()): an OrderedDict with _metadata */
    ckpt_doc *d = ckpt_load(path, NULL, &err);
    CHECK(d != NULL);
    CHECK_EQ_INT(ckpt_dict_kind_of(ckpt_doc_root(d)), CKPT_DICT_ORDERED);
    CHECK(ckpt_dict_get(ckpt_doc_root(d), "2.bias") != NULL);
    ckpt_doc_free(d);
    CHECK_OK(ckpt_module_load(b, path, NULL, NULL, NULL), &err);
    CHECK(same(a, b));
    /* strict: a model with another layout fails naming the keys, with the file */
    ckpt_module *c = ckpt_nn_sequential(NULL, NULL, &err);
    CHECK(ckpt_nn_linear(c, "0", 4, 3, NULL, NULL, &err));
    ckpt_state_dict_report rep;
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_module_load(c, path, NULL, &rep, &err), CKPT_E_SHAPE);
    CHECK(strstr(err.msg, "Unexpected key(s) in state_dict: \"2.weight\"") != NULL);
    CHECK_STR(err.file, path);
    CHECK_EQ_INT(rep.unexpected_count, 2);
    ckpt_state_dict_report_free(&rep);
    ckpt_load_state_dict_opts loose = {.non_strict = true};
    CHECK_OK(ckpt_module_load(c, path, &loose, NULL, &err), &err);
    /* assign cannot outlive the document here */
    ckpt_load_state_dict_opts asg = {.assign = true};
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_module_load(b, path, &asg, NULL, &err), CKPT_E_ARG);
    CHECK(ckpt_module_load(b, "/nonexistent/x.pt", NULL, NULL, NULL) < 0);
    CHECK(ckpt_module_save(a, "/nonexistent/dir/x.pt", NULL) < 0);
    CHECK(ckpt_module_save(NULL, path, NULL) == CKPT_E_ARG);
    CHECK(ckpt_module_load(NULL, path, NULL, NULL, NULL) == CKPT_E_ARG);
    remove(path);
    ckpt_module_free(a);
    ckpt_module_free(b);
    ckpt_module_free(c);
}

TEST(test_nn_module_io__sub_key_and_prefix)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_module *a = net(1), *b = net(2);
    ckpt_doc *d = ckpt_doc_new(NULL, &err);
    /* {"epoch": 3, "model": sd, "ckpt": {"model": sd, "ema.model": sd}, "flat": {"enc.0.weight":..}} */
    ckpt_obj *root = ckpt_dict_new(d, CKPT_DICT_PLAIN),
             *inner = ckpt_dict_new(d, CKPT_DICT_PLAIN);
    CHECK_OK(ckpt_dict_set_str(d, root, "epoch", ckpt_int_new(d, 3), &err), &err);
    CHECK_OK(ckpt_dict_set_str(d, root, "model", ckpt_module_state_dict(a, d, NULL, &err), &err),
             &err);
    CHECK_OK(ckpt_dict_set_str(d, inner, "model", ckpt_module_state_dict(a, d, NULL, &err), &err),
             &err);
    CHECK_OK(ckpt_dict_set_str(d, inner, "ema.model", ckpt_module_state_dict(a, d, NULL, &err),
                               &err),
             &err);
    CHECK_OK(ckpt_dict_set_str(d, root, "ckpt", inner, &err), &err);
    CHECK_OK(ckpt_dict_set_str(d, root, "flat", ckpt_module_state_dict(a, d, "enc.", &err), &err),
             &err);
    ckpt_load_state_dict_opts o = {.sub_key = "model"};
    CHECK_OK(ckpt_module_load_state_dict(b, root, &o, NULL, &err), &err);
    CHECK(same(a, b));
    ckpt_module_free(b);
    b = net(2);
    o.sub_key = "ckpt.model";
    CHECK_OK(ckpt_module_load_state_dict(b, root, &o, NULL, &err), &err);
    CHECK(same(a, b));
    ckpt_module_free(b);
    b = net(2);
    o.sub_key = "ckpt.ema.model"; /* a key with a dot, matched whole */
    CHECK_OK(ckpt_module_load_state_dict(b, root, &o, NULL, &err), &err);
    CHECK(same(a, b));
    ckpt_module_free(b);
    b = net(2);
    /* sub_key then the flat prefix */
    o.sub_key = "flat";
    o.prefix = "enc.";
    CHECK_OK(ckpt_module_load_state_dict(b, root, &o, NULL, &err), &err);
    CHECK(same(a, b));
    /* prefix alone does not enter a nested dict */
    ckpt_load_state_dict_opts p = {.prefix = "model."};
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_module_load_state_dict(b, root, &p, NULL, &err), CKPT_E_SHAPE);
    CHECK(strstr(err.msg, "Missing key(s)") != NULL);
    /* errors name the key and list what is there */
    o.prefix = NULL;
    o.sub_key = "modle";
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_module_load_state_dict(b, root, &o, NULL, &err), CKPT_E_NOT_FOUND);
    CHECK_STR(err.key, "modle");
    CHECK(strstr(err.msg, "'epoch', 'model', 'ckpt', 'flat'") != NULL);
    o.sub_key = "epoch";
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_module_load_state_dict(b, root, &o, NULL, &err), CKPT_E_ARG);
    CHECK(strstr(err.msg, "holds a value of type int") != NULL);
    o.sub_key = "ckpt.nope";
    CHECK_EQ_INT(ckpt_module_load_state_dict(b, root, &o, NULL, NULL), CKPT_E_NOT_FOUND);
    ckpt_doc_free(d);
    ckpt_module_free(a);
    ckpt_module_free(b);
}

TEST_MAIN()
