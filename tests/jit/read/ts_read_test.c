/* tests/jit/read/ts_read_test.c - the TorchScript reader's module tree and class table
 * (fixtures of tools/gen/make_jit_read.py; the listing itself is checked against torch by
 * check_read.py). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "jit/jit_internal.h"
#include "util/test.h"

#define FIX "tests/fixtures/jit/read/"
#define REAL "../shared/fixtures/real/torchscript/"

static const jit_class *cls(const ckpt_jit_model *m, const char *q)
{
    return jit_class_find(m, q);
}

TEST(test_jit_read__scripted_tree)
{
    ckpt_error err;
    ckpt_jit_model *m = ckpt_jit_load(FIX "scripted.pt", NULL, &err);
    CHECK(m);
    CHECK_EQ_INT(ckpt_jit_format(m), CKPT_JIT_TORCHSCRIPT);
    CHECK_STR(ckpt_jit_root_class(m), "__torch__.Net");
    CHECK(m->version >= 3);
    CHECK_EQ_INT(m->n_extra, 2);
    CHECK(m->constants && m->constants->kind == JV_TUPLE);
    CHECK(m->n_sources >= 6);
    jv *r = m->root;
    /* kinds and values of the root's attributes, in slot order */
    CHECK_STR(r->u.obj.names[0], "steps");
    CHECK_EQ_INT(r->u.obj.akind[0], JIT_A_BUFFER);
    int i = jv_obj_find(r, "anchors");
    CHECK(i >= 0);
    CHECK_EQ_INT(r->u.obj.akind[i], JIT_A_ATTR);
    CHECK_EQ_INT(r->u.obj.vals[i]->kind, JV_TENSOR);
    CHECK_EQ_INT(r->u.obj.vals[i]->u.t->t.dims[1], 3);
    const jv *labels = jv_obj_get(r, "labels");
    CHECK(labels && labels->kind == JV_LIST && labels->u.seq.n == 2);
    CHECK_STR(labels->u.seq.items[1]->u.str.s, "b");
    const jv *table = jv_obj_get(r, "table");
    CHECK(table && table->kind == JV_DICT);
    const jv *y = jv_dict_get_str(table, "y");
    CHECK(y && y->kind == JV_INT && y->u.i == 2);
    const jv *scale = jv_obj_get(r, "scale");
    CHECK(scale && scale->kind == JV_FLOAT && scale->u.f == 0.5);
    const jv *box = jv_obj_get(r, "box");
    CHECK(box && box->kind == JV_OBJECT);
    CHECK_STR(box->u.obj.cls->qualname, "__torch__.Box");
    CHECK(!box->u.obj.cls->is_module);
    CHECK_EQ_INT(r->u.obj.akind[jv_obj_find(r, "box")], JIT_A_ATTR);
    CHECK_EQ_INT(r->u.obj.akind[jv_obj_find(r, "blocks")], JIT_A_MODULE);
    /* tied weights stay one value */
    const jv *head = jv_obj_get(r, "head"), *tied = jv_obj_get(r, "tied");
    CHECK(head && tied && jv_obj_get(head, "weight") == jv_obj_get(tied, "weight"));
    CHECK(jv_obj_get(head, "bias") != jv_obj_get(tied, "bias"));
    /* class table */
    const jit_class *lin = cls(m, "__torch__.torch.nn.modules.linear.Linear");
    CHECK(lin && lin->is_module);
    CHECK_EQ_INT(lin->n_params, 2);
    CHECK_STR(lin->params[0], "weight");
    CHECK_STR(lin->file, "code/__torch__/torch/nn/modules/linear.py");
    const jit_method *f = jit_class_method(lin, "forward");
    CHECK(f && f->n_args == 1);
    CHECK_STR(f->arg_names[0], "input");
    CHECK_STR(f->arg_types[0], "Tensor");
    CHECK_STR(f->ret_type, "Tensor");
    CHECK(strncmp(f->source, "  def forward(self: __torch__.torch.nn.modules.linear.Linear,",
                  60) == 0);
    CHECK(f->end_line > f->line);
    bool in_f = false;
    for (size_t k = 0; k < lin->n_consts; k++)
        if (strcmp(lin->consts_names[k], "in_features") == 0)
            in_f = lin->consts_vals[k]->kind == JV_INT && lin->consts_vals[k]->u.i == 4;
    CHECK(in_f);
    const jit_class *net = cls(m, "__torch__.Net");
    const jit_method *fw = jit_class_method(net, "forward");
    CHECK(fw && fw->n_args == 2);
    CHECK_STR(fw->arg_names[1], "k");
    CHECK_STR(fw->arg_types[1], "int");
    CHECK_STR(fw->file, "code/__torch__.py");
    const jit_method *ds = jit_class_method(net, "describe");
    CHECK(ds && ds->ret_type && strcmp(ds->ret_type, "str") == 0);
    CHECK_EQ_INT(net->n_buffers, 2);
    const jit_class *bx = cls(m, "__torch__.Box");
    CHECK(bx && jit_class_method(bx, "clamp") && jit_class_method(bx, "__init__"));
    CHECK_EQ_INT(jit_class_method(bx, "__init__")->n_args, 2);
    /* free functions: a pseudo-class named by the module path */
    const jit_class *fn = cls(m, "__torch__.torch.nn.functional");
    CHECK(fn && !fn->is_module && fn->n_methods >= 1);
    /* source line of the def, 1-based, in its file */
    const jit_source *src = NULL;
    for (size_t k = 0; k < m->n_sources; k++)
        if (strcmp(m->sources[k].record, fw->file) == 0)
            src = &m->sources[k];
    CHECK(src);
    const char *p = src->text;
    for (int64_t ln = 1; ln < fw->line && p; ln++) {
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    CHECK(p && strncmp(p, "  def forward(", 14) == 0);
    /* the printed tree */
    char *buf = NULL;
    size_t n = 0;
    FILE *mf = open_memstream(&buf, &n);
    CHECK(mf);
    CHECK_OK(ckpt_jit_print(m, mf, CKPT_JIT_SHOW_CODE, &err), &err);
    fclose(mf);
    CHECK(strstr(buf, "__torch__.Net (module, training=False)"));
    CHECK(strstr(buf, "def forward(x: Tensor, k: int) -> Tensor    # code/__torch__.py:"));
    CHECK(strstr(buf, "anchors: tensor attribute float32 [2, 3]"));
    CHECK(strstr(buf, "# extra file: "));
    free(buf);
    ckpt_jit_free(m);
}

TEST(test_jit_read__quantized_packed_params)
{
    ckpt_error err;
    ckpt_jit_model *m = ckpt_jit_load(FIX "quant_static.pt", NULL, &err);
    CHECK(m);
    /* the quantized Linear keeps its packed params as an object with the pickled state */
    const jv *fc = jv_obj_get(m->root, "fc");
    CHECK(fc && fc->kind == JV_OBJECT);
    const jv *pp = jv_obj_get(fc, "_packed_params");
    CHECK(pp && pp->kind == JV_OBJECT);
    const jv *lp = jv_obj_get(pp, "_packed_params");
    CHECK(lp && lp->kind == JV_OBJECT);
    CHECK(strstr(lp->u.obj.cls->qualname, "LinearPackedParamsBase"));
    const jv *st = jv_obj_get(lp, "__state__");
    CHECK(st && st->kind == JV_TUPLE && st->u.seq.n >= 1);
    const jv *w = st->u.seq.items[0];
    CHECK(w->kind == JV_TENSOR && w->u.t->is_quantized && w->u.t->q_scale > 0);
    ckpt_jit_free(m);
}

TEST(test_jit_read__format1_mnist)
{
    SKIP_UNLESS_DIR(REAL);
    ckpt_error err;
    ckpt_jit_model *m = ckpt_jit_load(REAL "abc3698__Libtorch_MNIST__mnist_cnn.pt", NULL, &err);
    CHECK(m);
    CHECK_EQ_INT(m->version, 1);
    CHECK_STR(ckpt_jit_root_class(m), "__torch__.mnist_cnn");
    const jv *c1 = jv_obj_get(m->root, "conv1");
    CHECK(c1 && c1->kind == JV_OBJECT);
    CHECK_STR(c1->u.obj.cls->qualname, "__torch__.mnist_cnn.conv1");
    CHECK_EQ_INT(c1->u.obj.akind[0], JIT_A_PARAM);
    CHECK_EQ_INT(ckpt_jit_tensor_count(m), 8);
    ckpt_jit_tensor t;
    CHECK_OK(ckpt_jit_get_tensor(m, 0, &t), &err);
    CHECK_STR(t.name, "conv1.weight");
    CHECK_EQ_INT(t.ndim, 4);
    CHECK(t.requires_grad);
    const jit_method *f = jit_class_method(m->root->u.obj.cls, "forward");
    CHECK(f && f->n_args == 1);
    CHECK_STR(f->arg_names[0], "input");
    CHECK_STR(f->file, "code/mnist_cnn.py");
    ckpt_jit_free(m);
}

TEST(test_jit_read__six_field_storage_ids)
{
    SKIP_UNLESS_DIR(REAL);
    ckpt_error err;
    ckpt_jit_model *m = ckpt_jit_load(
        REAL "pytorch__ios-demo-app__PyTorchDemo__PyTorchDemo__NLP__model__reddit.pt", NULL,
        &err);
    CHECK(m);
    CHECK_EQ_INT(ckpt_jit_tensor_count(m), 13);
    /* weights-only torch.load semantics are unchanged: 6 fields stay refused there */
    ckpt_doc *d =
        ckpt_load(REAL "pytorch__ios-demo-app__PyTorchDemo__PyTorchDemo__NLP__model__reddit.pt",
                  NULL, &err);
    CHECK(!d);
    ckpt_jit_free(m);
}

TEST(test_jit_read__not_an_archive)
{
    char path[] = "/tmp/ckpt_tsread_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    fputs("PK\x03\x04 this is not a zip", f);
    fclose(f);
    ckpt_error err;
    ckpt_jit_model *m = ckpt_jit_load(path, NULL, &err);
    remove(path);
    CHECK(!m);
    CHECK(err.code < 0);
    CHECK(strstr(err.file, "ckpt_tsread_") != NULL);
}

TEST_MAIN()
