/* tests/unit/nn/state_dict_test.c - state_dict(), state_dict_copy() and
 * load_state_dict().  Torch's exact texts are checked live against torch in
 * tests/interop/nn_state_dict.py; here the shapes and rules are pinned. */
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "ckpt/nn.h"
#include "util/test.h"

/* Sequential(Linear(3,2), BatchNorm1d(2)) plus a non-persistent buffer */
static ckpt_module *seq(void)
{
    ckpt_module *root = ckpt_module_new("Sequential", NULL);
    ckpt_module *lin = ckpt_module_add(root, "0", "Linear", NULL);
    ckpt_module *bn = ckpt_module_add(root, "1", "BatchNorm1d", NULL);
    int64_t w[2] = {2, 3}, b[1] = {2};
    ckpt_module_param(lin, "weight", CKPT_F32, 2, w, NULL);
    ckpt_module_param(lin, "bias", CKPT_F32, 1, b, NULL);
    ckpt_module_set_version(bn, 2);
    ckpt_module_param(bn, "weight", CKPT_F32, 1, b, NULL);
    ckpt_module_param(bn, "bias", CKPT_F32, 1, b, NULL);
    ckpt_module_buffer(bn, "running_mean", CKPT_F32, 1, b, true, NULL);
    ckpt_module_buffer(bn, "running_var", CKPT_F32, 1, b, true, NULL);
    ckpt_module_buffer(bn, "num_batches_tracked", CKPT_I64, 0, NULL, true, NULL);
    ckpt_module_buffer(bn, "scratch", CKPT_F32, 1, b, false, NULL);
    return root;
}

static void fill(ckpt_module *m, float base)
{
    size_t n = ckpt_module_slot_count(m);
    for (size_t i = 0; i < n; i++) {
        ckpt_slot *s = ckpt_module_slot_at(m, i);
        if (s->data && s->dtype == CKPT_F32)
            for (uint64_t k = 0; k < s->nbytes / 4; k++)
                ((float *)s->data)[k] = base + (float)i * 10.0f + (float)k;
    }
    for (size_t i = 0; i < ckpt_module_child_count(m); i++)
        fill(ckpt_module_child(m, i), base + 100.0f * (float)(i + 1));
}

static const char *const SEQ_KEYS[] = {"0.weight",
                                       "0.bias",
                                       "1.weight",
                                       "1.bias",
                                       "1.running_mean",
                                       "1.running_var",
                                       "1.num_batches_tracked"};

TEST(test_nn_state_dict__keys_order_metadata_references)
{
    ckpt_error err = {0};
    ckpt_module *m = seq();
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = ckpt_module_state_dict(m, doc, NULL, &err);
    CHECK(sd);
    CHECK_EQ_INT(ckpt_dict_kind_of(sd), CKPT_DICT_ORDERED);
    CHECK_EQ_INT(ckpt_obj_len(sd), 7); /* non-persistent "scratch" skipped */
    for (size_t i = 0; i < 7; i++)
        CHECK_STR(ckpt_obj_str(ckpt_dict_key(sd, i), NULL), SEQ_KEYS[i]);
    /* references: the tensor's bytes are the slot's bytes */
    CHECK(ckpt_tensor_data(ckpt_dict_get(sd, "0.weight")) ==
          ckpt_module_slot(m, "0.weight")->data);
    ckpt_tensor_info ti;
    CHECK_OK(ckpt_tensor_get_info(ckpt_dict_get(sd, "1.num_batches_tracked"), &ti), &err);
    CHECK_EQ_INT(ti.ndim, 0);
    CHECK_EQ_INT(ti.dtype, CKPT_I64);
    CHECK(!ti.is_parameter && !ti.requires_grad);
    const ckpt_obj *meta = ckpt_dict_get(ckpt_dict_attrs(sd), "_metadata");
    CHECK(meta && ckpt_obj_len(meta) == 3);
    CHECK_STR(ckpt_obj_str(ckpt_dict_key(meta, 0), NULL), "");
    CHECK_STR(ckpt_obj_str(ckpt_dict_key(meta, 1), NULL), "0");
    CHECK_EQ_INT(ckpt_obj_int(ckpt_obj_get(meta, "1", "version", NULL)), 2);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_obj_get(meta, "", "version", NULL)), 1);
    /* prefix */
    ckpt_obj *sd2 = ckpt_module_state_dict(m, doc, "model.", &err);
    CHECK(sd2);
    CHECK_STR(ckpt_obj_str(ckpt_dict_key(sd2, 0), NULL), "model.0.weight");
    const ckpt_obj *meta2 = ckpt_dict_get(ckpt_dict_attrs(sd2), "_metadata");
    CHECK_STR(ckpt_obj_str(ckpt_dict_key(meta2, 0), NULL), "model");
    CHECK_STR(ckpt_obj_str(ckpt_dict_key(meta2, 1), NULL), "model.0");
    CHECK(ckpt_module_state_dict(NULL, doc, NULL, &err) == NULL);
    ckpt_doc_free(doc);
    ckpt_module_free(m);
}

TEST(test_nn_state_dict__none_params_and_tied_storage)
{
    ckpt_error err = {0};
    ckpt_module *m = ckpt_module_new("Net", &err);
    int64_t s[1] = {4};
    float shared[4] = {1, 2, 3, 4};
    ckpt_module *a = ckpt_module_add(m, "emb", "Embedding", &err);
    ckpt_module *b = ckpt_module_add(m, "head", "Linear", &err);
    ckpt_module_param_borrow(a, "weight", CKPT_F32, 1, s, shared, &err);
    ckpt_module_param_borrow(b, "weight", CKPT_F32, 1, s, shared, &err);
    CHECK_OK(ckpt_module_param_none(b, "bias", &err), &err);
    CHECK_OK(ckpt_module_buffer_none(b, "stat", true, &err), &err);
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = ckpt_module_state_dict(m, doc, NULL, &err);
    CHECK(sd && ckpt_obj_len(sd) == 2); /* both keys, as torch's state_dict keeps both */
    ckpt_tensor_info x, y;
    ckpt_tensor_get_info(ckpt_dict_get(sd, "emb.weight"), &x);
    ckpt_tensor_get_info(ckpt_dict_get(sd, "head.weight"), &y);
    CHECK(x.storage == y.storage); /* one storage, saved once */
    ckpt_doc_free(doc);
    ckpt_module_free(m);
}

TEST(test_nn_state_dict__copy_is_a_snapshot)
{
    ckpt_error err = {0};
    ckpt_module *m = seq();
    fill(m, 1.0f);
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = ckpt_module_state_dict_copy(m, doc, NULL, &err);
    CHECK(sd);
    const float *t = ckpt_tensor_data(ckpt_dict_get(sd, "0.weight"));
    ckpt_slot *w = ckpt_module_slot(m, "0.weight");
    CHECK(t != w->data);
    CHECK(memcmp(t, w->data, 24) == 0);
    ((float *)w->data)[0] = -5.0f;
    CHECK(t[0] != -5.0f);
    ckpt_module_free(m); /* the copy does not need the module */
    CHECK(ckpt_dict_attrs(sd) != NULL);
    ckpt_doc_free(doc);
}

TEST(test_nn_state_dict__load_roundtrip_in_place)
{
    ckpt_error err = {0};
    ckpt_module *src = seq(), *dst = seq();
    fill(src, 1.0f);
    *(int64_t *)ckpt_module_slot(src, "1.num_batches_tracked")->data = 9;
    void *before = ckpt_module_slot(dst, "0.weight")->data;
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = ckpt_module_state_dict(src, doc, NULL, &err);
    ckpt_state_dict_report rep;
    CHECK_OK(ckpt_module_load_state_dict(dst, sd, NULL, &rep, &err), &err);
    CHECK(rep.message == NULL && rep.missing_count == 0 && rep.unexpected_count == 0);
    ckpt_state_dict_report_free(&rep);
    CHECK(ckpt_module_slot(dst, "0.weight")->data == before);
    CHECK(memcmp(before, ckpt_module_slot(src, "0.weight")->data, 24) == 0);
    CHECK_EQ_INT(*(int64_t *)ckpt_module_slot(dst, "1.num_batches_tracked")->data, 9);
    /* the non-persistent buffer is left alone */
    CHECK(((float *)ckpt_module_slot(dst, "1.scratch")->data)[0] == 0.0f);
    /* loading a module's own state_dict into itself is fine */
    ckpt_obj *self = ckpt_module_state_dict(dst, doc, NULL, &err);
    CHECK_OK(ckpt_module_load_state_dict(dst, self, NULL, NULL, &err), &err);
    ckpt_doc_free(doc);
    ckpt_module_free(src);
    ckpt_module_free(dst);
}

/* a state dict with the given keys, each a float32 tensor of `shape` */
static ckpt_obj *make_sd(ckpt_doc *doc, const char *const *keys, int n, int ndim,
                         const int64_t *shape)
{
    ckpt_obj *sd = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    for (int i = 0; i < n; i++)
        ckpt_dict_set_str(doc, sd, keys[i],
                          ckpt_tensor_new_copy(doc, CKPT_F32, ndim, shape, NULL, NULL), NULL);
    return sd;
}

TEST(test_nn_state_dict__missing_unexpected_message)
{
    ckpt_error err = {0};
    ckpt_module *m = ckpt_module_new("Net", &err);
    ckpt_module *fc = ckpt_module_add(m, "fc", "Linear", &err);
    int64_t w[2] = {3, 2}, b[1] = {3};
    ckpt_module_param(fc, "weight", CKPT_F32, 2, w, &err);
    ckpt_module_param(fc, "bias", CKPT_F32, 1, b, &err);
    ckpt_module_param(m, "a", CKPT_F32, 1, b, &err);
    ckpt_module_param(m, "b", CKPT_F32, 1, b, &err);
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    int64_t ws[2] = {2, 3};
    ckpt_dict_set_str(doc, sd, "c", ckpt_tensor_new_copy(doc, CKPT_F32, 1, b, NULL, NULL), &err);
    ckpt_dict_set_str(doc, sd, "fc.weight",
                      ckpt_tensor_new_copy(doc, CKPT_F32, 2, ws, NULL, NULL), &err);
    ckpt_dict_set_str(doc, sd, "fc.bias", ckpt_tensor_new_copy(doc, CKPT_F32, 1, b, NULL, NULL),
                      &err);
    ckpt_state_dict_report rep;
    int rc = ckpt_module_load_state_dict(m, sd, NULL, &rep, &err);
    CHECK_EQ_INT(rc, CKPT_E_SHAPE);
    CHECK_STR(rep.message,
              "Error(s) in loading state_dict for Net:\n\tMissing key(s) in state_dict: \"a\", "
              "\"b\". \n\tUnexpected key(s) in state_dict: \"c\". \n\tsize mismatch for "
              "fc.weight: copying a param with shape torch.Size([2, 3]) from checkpoint, the "
              "shape in current model is torch.Size([3, 2]).");
    CHECK_EQ_INT(rep.missing_count, 2);
    CHECK_EQ_INT(rep.unexpected_count, 1);
    CHECK_EQ_INT(rep.error_count, 1);
    CHECK(strncmp(err.msg, "Error(s) in loading state_dict for Net:", 39) == 0);
    ckpt_state_dict_report_free(&rep);
    /* non-strict: the lists, and the size mismatch is still an error */
    ckpt_error_clear(&err);
    rc = ckpt_module_load_state_dict(m, sd, &(ckpt_load_state_dict_opts){.non_strict = true},
                                     &rep, &err);
    CHECK_EQ_INT(rc, CKPT_E_SHAPE);
    CHECK_STR(rep.message, "Error(s) in loading state_dict for Net:\n\tsize mismatch for "
                           "fc.weight: copying a param with shape torch.Size([2, 3]) from "
                           "checkpoint, the shape in current model is torch.Size([3, 2]).");
    CHECK_STR(rep.missing[1], "b");
    ckpt_state_dict_report_free(&rep);
    /* the bias was copied even though the load failed, as torch does */
    ckpt_doc_free(doc);
    ckpt_module_free(m);
}

TEST(test_nn_state_dict__unexpected_rules_2x)
{
    ckpt_error err = {0};
    ckpt_module *m = ckpt_module_new("Net", &err);
    ckpt_module *fc = ckpt_module_add(m, "fc", "Linear", &err);
    int64_t s[1] = {2};
    ckpt_module_param(fc, "weight", CKPT_F32, 1, s, &err);
    ckpt_module_param_none(fc, "bias", &err);
    ckpt_module_buffer(fc, "tmp", CKPT_F32, 1, s, false, &err);
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    /* "fc": no dot but names a child; "fc.weight.x": a dot after a parameter;
     * "fc.bias": a None parameter; "fc.tmp": a non-persistent buffer;
     * "_extra_state" keys come first for their module */
    const char *keys[] = {"fc.weight", "fc", "fc.weight.x",    "fc.bias",
                          "fc.tmp",    "zz", "fc._extra_state"};
    ckpt_obj *sd = make_sd(doc, keys, 7, 1, s);
    ckpt_state_dict_report rep;
    CHECK_EQ_INT(ckpt_module_load_state_dict(m, sd, NULL, &rep, &err), CKPT_E_SHAPE);
    CHECK_EQ_INT(rep.missing_count, 0);
    CHECK_EQ_INT(rep.unexpected_count, 6);
    CHECK_STR(rep.unexpected[0], "fc");
    CHECK_STR(rep.unexpected[1], "zz");
    CHECK_STR(rep.unexpected[2], "fc._extra_state");
    CHECK_STR(rep.unexpected[3], "fc.weight.x");
    CHECK_STR(rep.unexpected[4], "fc.bias");
    CHECK_STR(rep.unexpected[5], "fc.tmp");
    ckpt_state_dict_report_free(&rep);
    ckpt_doc_free(doc);
    ckpt_module_free(m);
}

TEST(test_nn_state_dict__dtype_conversion)
{
    ckpt_error err = {0};
    ckpt_module *m = ckpt_module_new("Net", &err);
    int64_t s[1] = {4};
    ckpt_slot *a = ckpt_module_param(m, "a", CKPT_F32, 1, s, &err);
    ckpt_slot *b = ckpt_module_param(m, "b", CKPT_F32, 1, s, &err);
    ckpt_slot *c = ckpt_module_buffer(m, "c", CKPT_I64, 1, s, true, &err);
    ckpt_slot *d = ckpt_module_buffer(m, "d", CKPT_BOOL, 1, s, true, &err);
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    uint16_t bf[4] = {0x3f80, 0x4000, 0xbf80, 0x3fc0}; /* 1, 2, -1, 1.5 */
    int64_t iv[4] = {-3, 0, 7, 1 << 24};
    float fv[4] = {-2.7f, 0.5f, 3.9f, 100.0f};
    ckpt_dict_set_str(doc, sd, "a", ckpt_tensor_new_copy(doc, CKPT_BF16, 1, s, bf, NULL), &err);
    ckpt_dict_set_str(doc, sd, "b", ckpt_tensor_new_copy(doc, CKPT_I64, 1, s, iv, NULL), &err);
    ckpt_dict_set_str(doc, sd, "c", ckpt_tensor_new_copy(doc, CKPT_F32, 1, s, fv, NULL), &err);
    ckpt_dict_set_str(doc, sd, "d", ckpt_tensor_new_copy(doc, CKPT_F32, 1, s, fv, NULL), &err);
    CHECK_OK(ckpt_module_load_state_dict(m, sd, NULL, NULL, &err), &err);
    const float *af = a->data, *bfp = b->data;
    CHECK(af[0] == 1.0f && af[1] == 2.0f && af[2] == -1.0f && af[3] == 1.5f);
    CHECK(bfp[0] == -3.0f && bfp[3] == 16777216.0f);
    const int64_t *ci = c->data;
    CHECK(ci[0] == -2 && ci[1] == 0 && ci[2] == 3 && ci[3] == 100); /* truncation */
    const unsigned char *db = d->data;
    CHECK(db[0] == 1 && db[1] == 1);
    ckpt_doc_free(doc);
    ckpt_module_free(m);
}

TEST(test_nn_state_dict__non_contiguous_source)
{
    ckpt_error err = {0};
    ckpt_module *m = ckpt_module_new("Linear", &err);
    int64_t ws[2] = {2, 3};
    ckpt_slot *w = ckpt_module_param(m, "weight", CKPT_F32, 2, ws, &err);
    ckpt_module *m2 = ckpt_module_new("Linear", &err);
    ckpt_slot *w2 = ckpt_module_param(m2, "weight", CKPT_BF16, 2, ws, &err);
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    /* storage holds the 3x2 transpose; the view (2,3) has strides (1,2) */
    float raw[6] = {0, 3, 1, 4, 2, 5};
    ckpt_storage *st = ckpt_storage_new_borrow(doc, CKPT_F32, raw, sizeof(raw), &err);
    int64_t stride[2] = {1, 2};
    ckpt_obj *t = ckpt_tensor_new(doc, st, CKPT_F32, 2, ws, stride, 0, &err);
    CHECK(t);
    ckpt_obj *sd = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    ckpt_dict_set_str(doc, sd, "weight", t, &err);
    CHECK_OK(ckpt_module_load_state_dict(m, sd, NULL, NULL, &err), &err);
    const float *wf = w->data;
    for (int i = 0; i < 6; i++)
        CHECK(wf[i] == (float)i);
    CHECK_OK(ckpt_module_load_state_dict(m2, sd, NULL, NULL, &err), &err);
    const uint16_t *wb = w2->data;
    CHECK(wb[1] == 0x3f80 && wb[5] == 0x40a0); /* 1.0, 5.0 in bfloat16 */
    /* assign refuses a strided view */
    ckpt_error_clear(&err);
    CHECK_EQ_INT(ckpt_module_load_state_dict(m, sd, &(ckpt_load_state_dict_opts){.assign = true},
                                             NULL, &err),
                 CKPT_E_UNSUPPORTED);
    ckpt_doc_free(doc);
    ckpt_module_free(m);
    ckpt_module_free(m2);
}

TEST(test_nn_state_dict__assign_and_mmap)
{
    ckpt_error err = {0};
    ckpt_module *src = seq();
    fill(src, 3.0f);
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = ckpt_module_state_dict(src, doc, NULL, &err);
    char path[] = "/tmp/ckpt_nn_sd_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    CHECK_OK(ckpt_save(path, sd, NULL, &err), &err);
    ckpt_doc_free(doc);
    ckpt_doc *mapped = ckpt_load(path, &(ckpt_load_opts){.mode = CKPT_LOAD_MMAP}, &err);
    unlink(path);
    CHECK(mapped);
    const ckpt_obj *root = ckpt_doc_root(mapped);
    /* copy straight from the mapping */
    ckpt_module *dst = seq();
    CHECK_OK(ckpt_module_load_state_dict(dst, root, NULL, NULL, &err), &err);
    CHECK(memcmp(ckpt_module_slot(dst, "1.running_var")->data,
                 ckpt_module_slot(src, "1.running_var")->data, 8) == 0);
    /* assign: the slots point into the document (which must outlive the module) */
    ckpt_module *as = seq();
    CHECK_OK(ckpt_module_load_state_dict(as, root, &(ckpt_load_state_dict_opts){.assign = true},
                                         NULL, &err),
             &err);
    ckpt_slot *w = ckpt_module_slot(as, "0.weight");
    CHECK(w->data == ckpt_tensor_data(ckpt_dict_get(root, "0.weight")) && !w->owned);
    CHECK(memcmp(w->data, ckpt_module_slot(src, "0.weight")->data, 24) == 0);
    /* assign with a dtype mismatch is an error */
    ckpt_module *bad = ckpt_module_new("Sequential", &err);
    ckpt_module *lin = ckpt_module_add(bad, "0", "Linear", &err);
    int64_t ws[2] = {2, 3};
    ckpt_module_param(lin, "weight", CKPT_F64, 2, ws, &err);
    ckpt_state_dict_report rep;
    CHECK(ckpt_module_load_state_dict(bad, root,
                                      &(ckpt_load_state_dict_opts){.assign = true,
                                                                   .non_strict = true},
                                      &rep, &err) < 0);
    CHECK(rep.error_count == 1 && strstr(rep.errors[0], "assign=True") != NULL);
    ckpt_state_dict_report_free(&rep);
    ckpt_module_free(bad);
    ckpt_module_free(as);
    ckpt_module_free(dst);
    ckpt_module_free(src);
    ckpt_doc_free(mapped);
}

TEST(test_nn_state_dict__key_rules_and_prefix)
{
    ckpt_error err = {0};
    ckpt_module *m = seq();
    ckpt_module *src = seq();
    fill(src, 2.0f);
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    /* DataParallel: "module." keys */
    ckpt_obj *dp = ckpt_module_state_dict(src, doc, "module.", &err);
    CHECK_EQ_INT(ckpt_module_load_state_dict(m, dp, NULL, NULL, &err), CKPT_E_SHAPE);
    ckpt_key_rule strip = {CKPT_KEY_STRIP_PREFIX, "module.", NULL};
    ckpt_error_clear(&err);
    CHECK_OK(ckpt_module_load_state_dict(m, dp,
                                         &(ckpt_load_state_dict_opts){.rules = &strip,
                                                                      .rule_count = 1},
                                         NULL, &err),
             &err);
    CHECK(memcmp(ckpt_module_slot(m, "1.bias")->data, ckpt_module_slot(src, "1.bias")->data, 8) ==
          0);
    /* a checkpoint without the prefix, loaded into a model saved with it */
    ckpt_obj *plain = ckpt_module_state_dict(src, doc, NULL, &err);
    ckpt_module *wrapped = ckpt_module_new("DataParallel", &err);
    CHECK_OK(ckpt_module_adopt(wrapped, "module", seq(), &err), &err);
    ckpt_key_rule add = {CKPT_KEY_ADD_PREFIX, NULL, "module."};
    CHECK_OK(ckpt_module_load_state_dict(wrapped, plain,
                                         &(ckpt_load_state_dict_opts){.rules = &add,
                                                                      .rule_count = 1},
                                         NULL, &err),
             &err);
    /* regex: "enc.N.x" -> "N.x", and a prefix selecting a sub-dict */
    ckpt_obj *enc = ckpt_module_state_dict(src, doc, "enc.", &err);
    ckpt_key_rule re = {CKPT_KEY_REGEX, "^enc\\.([0-9]+)\\.", "\\1."};
    CHECK_OK(ckpt_module_load_state_dict(
                 m, enc, &(ckpt_load_state_dict_opts){.rules = &re, .rule_count = 1}, NULL, &err),
             &err);
    ckpt_obj *mixed = ckpt_module_state_dict(src, doc, "model.", &err);
    ckpt_dict_set_str(doc, mixed, "optimizer.lr", ckpt_float_new(doc, 0.1), &err);
    CHECK_OK(ckpt_module_load_state_dict(m, mixed,
                                         &(ckpt_load_state_dict_opts){.prefix = "model."}, NULL,
                                         &err),
             &err);
    /* bad rules */
    ckpt_key_rule bad = {CKPT_KEY_REGEX, "([", "x"};
    CHECK_EQ_INT(ckpt_module_load_state_dict(m, plain,
                                             &(ckpt_load_state_dict_opts){.rules = &bad,
                                                                          .rule_count = 1},
                                             NULL, &err),
                 CKPT_E_ARG);
    ckpt_key_rule unk = {7, "a", "b"};
    CHECK_EQ_INT(ckpt_module_load_state_dict(m, plain,
                                             &(ckpt_load_state_dict_opts){.rules = &unk,
                                                                          .rule_count = 1},
                                             NULL, NULL),
                 CKPT_E_ARG);
    ckpt_doc_free(doc);
    ckpt_module_free(wrapped);
    ckpt_module_free(m);
    ckpt_module_free(src);
}

TEST(test_nn_state_dict__batchnorm_version1)
{
    ckpt_error err = {0};
    ckpt_module *m = seq();
    *(int64_t *)ckpt_module_slot(m, "1.num_batches_tracked")->data = 5;
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    const char *keys[] = {"0.weight", "0.bias"};
    int64_t ws[2] = {2, 3}, b[1] = {2};
    ckpt_obj *sd = make_sd(doc, keys, 1, 2, ws);
    const char *bk[] = {"0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var"};
    for (int i = 0; i < 5; i++)
        ckpt_dict_set_str(doc, sd, bk[i], ckpt_tensor_new_copy(doc, CKPT_F32, 1, b, NULL, NULL),
                          &err);
    (void)keys;
    /* no _metadata at all: version None -> num_batches_tracked = 0, not missing */
    ckpt_state_dict_report rep;
    CHECK_OK(ckpt_module_load_state_dict(m, sd, NULL, &rep, &err), &err);
    CHECK_EQ_INT(rep.missing_count, 0);
    ckpt_state_dict_report_free(&rep);
    CHECK_EQ_INT(*(int64_t *)ckpt_module_slot(m, "1.num_batches_tracked")->data, 0);
    /* _metadata saying version 2: now it is missing */
    ckpt_obj *meta = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    ckpt_obj *v2 = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_dict_set_str(doc, v2, "version", ckpt_int_new(doc, 2), &err);
    ckpt_dict_set_str(doc, meta, "1", v2, &err);
    ckpt_obj *attrs = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_dict_set_str(doc, attrs, "_metadata", meta, &err);
    ckpt_dict_set_attrs(sd, attrs, &err);
    CHECK_EQ_INT(ckpt_module_load_state_dict(m, sd, NULL, &rep, &err), CKPT_E_SHAPE);
    CHECK_EQ_INT(rep.missing_count, 1);
    CHECK_STR(rep.missing[0], "1.num_batches_tracked");
    ckpt_state_dict_report_free(&rep);
    /* version 1 in _metadata: filled again */
    ckpt_dict_set_str(doc, v2, "version", ckpt_int_new(doc, 1), &err);
    ckpt_error_clear(&err);
    CHECK_OK(ckpt_module_load_state_dict(m, sd, NULL, NULL, &err), &err);
    ckpt_doc_free(doc);
    ckpt_module_free(m);
}

TEST(test_nn_state_dict__zero_d_from_one_element)
{
    ckpt_error err = {0};
    ckpt_module *m = ckpt_module_new("Net", &err);
    ckpt_slot *s = ckpt_module_param(m, "t", CKPT_F32, 0, NULL, &err);
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *sd = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    int64_t one[1] = {3};
    float v[3] = {4.5f, 1, 2};
    ckpt_dict_set_str(doc, sd, "t", ckpt_tensor_new_copy(doc, CKPT_F32, 1, one, v, NULL), &err);
    CHECK_OK(ckpt_module_load_state_dict(m, sd, NULL, NULL, &err), &err);
    CHECK(*(float *)s->data == 4.5f);
    int64_t zero[1] = {0};
    ckpt_dict_set_str(doc, sd, "t", ckpt_tensor_new_copy(doc, CKPT_F32, 1, zero, NULL, NULL),
                      &err);
    CHECK_EQ_INT(ckpt_module_load_state_dict(m, sd, NULL, NULL, &err), CKPT_E_SHAPE);
    ckpt_doc_free(doc);
    ckpt_module_free(m);
}

TEST(test_nn_state_dict__bad_arguments)
{
    ckpt_error err = {0};
    ckpt_module *m = seq();
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *list = ckpt_list_new(doc);
    CHECK_EQ_INT(ckpt_module_load_state_dict(m, list, NULL, NULL, &err), CKPT_E_ARG);
    CHECK_STR(err.msg, "Expected state_dict to be dict-like, got <class 'list'>.");
    CHECK_EQ_INT(ckpt_module_load_state_dict(NULL, list, NULL, NULL, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_module_load_state_dict(m, NULL, NULL, NULL, NULL), CKPT_E_ARG);
    ckpt_obj *d = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    ckpt_dict_set(doc, d, ckpt_int_new(doc, 1), ckpt_int_new(doc, 2), &err);
    CHECK_EQ_INT(ckpt_module_load_state_dict(m, d, NULL, NULL, NULL), CKPT_E_ARG);
    CHECK_EQ_INT(ckpt_module_load_state_dict(m, d, &(ckpt_load_state_dict_opts){.rule_count = 1},
                                             NULL, NULL),
                 CKPT_E_ARG);
    CHECK(ckpt_module_state_dict_copy(m, NULL, NULL, NULL) == NULL);
    ckpt_state_dict_report_free(NULL);
    ckpt_doc_free(doc);
    ckpt_module_free(m);
}

TEST_MAIN()
