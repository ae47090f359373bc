/* tests/unit/onnx/export_test.c - ckpt_onnx_export / ckpt_onnx_simplify in C:
 * initializer names are state_dict keys, Dropout disappears, LSTM weights are
 * reordered to ONNX's gate order, dynamic dims, errors, and the exported (and
 * simplified) models run in ckpt's own session with the C model's outputs
 * (within 1e-5).  torch / ONNX Runtime / onnx.checker comparisons are in
 * tests/onnx/export_check.py and simplify_check.py. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/autograd.h"
#include "ckpt/nn.h"
#include "ckpt/onnx.h"
#include "onnx/onnx_build.h"
#include "onnx/onnx_internal.h"
#include "util/test.h"

static int count_op(const ckpt_onnx_model *m, const char *op)
{
    int c = 0;
    for (int i = 0; i < m->graph->n_nodes; i++)
        c += !strcmp(m->graph->nodes[i].op_type, op);
    return c;
}

static bool has_init(const ckpt_onnx_model *m, const char *name)
{
    int v = ox_graph_find(m->graph, name);
    return v >= 0 && m->graph->values[v].is_initializer;
}

static void fill(float *p, size_t n, uint64_t seed)
{
    ckpt_rng r;
    ckpt_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)ckpt_rng_normal(&r);
}

/* max |session(m, x) - module(x)| (x of `shape`), or -1 when a step fails */
static double session_vs_module(const ckpt_onnx_model *om, ckpt_module *mod, int ndim,
                                const int64_t *shape)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    float *x = malloc(n * sizeof(float));
    fill(x, n, 7);
    ckpt_error err = {0};
    double worst = -1;
    ckpt_onnx_session *s = ckpt_onnx_session_new(om, NULL, &err);
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    if (!s || !t) {
        fprintf(stderr, "session: %s\n", err.msg);
        goto out;
    }
    ckpt_tape_set_grad_enabled(t, false);
    ckpt_var *xv = ckpt_tape_tensor(t, ndim, shape, x, &err);
    ckpt_var *y = xv ? ckpt_module_call(mod, xv, &err) : NULL;
    ckpt_onnx_tensor in = {0}, out = {0};
    in.dtype = CKPT_F32;
    in.ndim = ndim;
    memcpy(in.shape, shape, (size_t)ndim * sizeof(int64_t));
    in.data = x;
    in.nbytes = n * sizeof(float);
    if (!y || ckpt_onnx_run(s, &in, 1, &out, 1, &err) != 0) {
        fprintf(stderr, "run: %s\n", err.msg);
        goto out;
    }
    if (out.ndim != ckpt_var_ndim(y))
        goto out;
    worst = 0;
    const float *a = out.data, *b = ckpt_var_data(y);
    for (int64_t i = 0; i < ckpt_var_numel(y); i++) {
        double d = fabs((double)a[i] - (double)b[i]) / (1.0 + fabs((double)b[i]));
        if (d > worst)
            worst = d;
    }
out:
    ckpt_onnx_session_free(s);
    ckpt_tape_free(t);
    free(x);
    return worst;
}

static ckpt_module *mlp(void)
{
    ckpt_error err = {0};
    ckpt_rng r;
    ckpt_rng_seed(&r, 1);
    ckpt_module *m = ckpt_nn_sequential(NULL, "", &err);
    ckpt_nn_linear(m, "0", 6, 8, NULL, &r, &err);
    ckpt_nn_activation(m, "1", CKPT_ACT_RELU, 0, &err);
    ckpt_nn_dropout(m, "2", 0.5, &err);
    ckpt_nn_linear(m, "3", 8, 3, NULL, &r, &err);
    return m;
}

TEST(test_onnx_export__mlp_names_and_run)
{
    ckpt_module *m = mlp();
    CHECK(m != NULL);
    int64_t shape[2] = {2, 6};
    ckpt_onnx_export_opts o = {0};
    o.input_ndim = 2;
    o.input_shape = shape;
    ckpt_error err = {0};
    ckpt_onnx_model *om = ckpt_onnx_export_model(m, &o, &err);
    CHECK(om != NULL);
    CHECK(has_init(om, "0.weight") && has_init(om, "0.bias"));
    CHECK(has_init(om, "3.weight") && has_init(om, "3.bias"));
    CHECK_EQ_INT(om->graph->n_initializers, 4);
    CHECK_EQ_INT(count_op(om, "Dropout"), 0);
    CHECK_EQ_INT(count_op(om, "Gemm"), 2);
    CHECK_EQ_INT(om->graph->n_nodes, 3);
    CHECK_EQ_INT(ox_model_opset(om, ""), 13);
    CHECK(ckpt_module_training(m)); /* train mode restored */
    ckpt_module_train(m, false);
    double d = session_vs_module(om, m, 2, shape);
    CHECK(d >= 0 && d <= 1e-5);
    ckpt_onnx_model_free(om);
    ckpt_module_free(m);
}

TEST(test_onnx_export__dynamic_batch)
{
    ckpt_module *m = mlp();
    int64_t shape[2] = {2, 6};
    const char *dyn[2] = {"batch", NULL};
    ckpt_onnx_export_opts o = {0};
    o.input_ndim = 2;
    o.input_shape = shape;
    o.input_dynamic = dyn;
    o.output_dynamic = dyn;
    o.input_name = "x";
    o.output_name = "y";
    ckpt_error err = {0};
    ckpt_onnx_model *om = ckpt_onnx_export_model(m, &o, &err);
    CHECK(om != NULL);
    ckpt_onnx_value_info vi;
    CHECK_OK(ckpt_onnx_get_input(om, 0, &vi), &err);
    CHECK_STR(vi.name, "x");
    CHECK_EQ_INT(vi.shape[0], -1);
    CHECK_STR(vi.dim_params[0], "batch");
    CHECK_EQ_INT(vi.shape[1], 6);
    CHECK_OK(ckpt_onnx_get_output(om, 0, &vi), &err);
    CHECK_STR(vi.name, "y");
    CHECK_STR(vi.dim_params[0], "batch");
    ckpt_module_train(m, false);
    int64_t other[2] = {5, 6};
    double d = session_vs_module(om, m, 2, other);
    CHECK(d >= 0 && d <= 1e-5);
    ckpt_onnx_model_free(om);
    ckpt_module_free(m);
}

TEST(test_onnx_export__lstm_gate_order)
{
    ckpt_error err = {0};
    ckpt_rng r;
    ckpt_rng_seed(&r, 3);
    ckpt_module *m = ckpt_nn_lstm(NULL, "", 3, 4, NULL, &r, &err);
    CHECK(m != NULL);
    int64_t shape[3] = {5, 2, 3};
    ckpt_onnx_export_opts o = {0};
    o.input_ndim = 3;
    o.input_shape = shape;
    ckpt_onnx_model *om = ckpt_onnx_export_model(m, &o, &err);
    CHECK(om != NULL);
    CHECK_EQ_INT(count_op(om, "LSTM"), 1);
    int v = ox_graph_find(om->graph, "onnx_W_l0");
    CHECK(v >= 0);
    const ox_val *W = &om->graph->values[v].init;
    CHECK_EQ_INT(W->rank, 3);
    CHECK_EQ_INT(W->dims[1], 16);
    const ckpt_slot *s = ckpt_module_slot(m, "weight_ih_l0");
    const float *w = s->data, *ow = W->data;
    /* ONNX i, o, f, c = torch blocks 0, 3, 1, 2 (each H x I = 4 x 3) */
    static const int perm[4] = {0, 3, 1, 2};
    for (int g = 0; g < 4; g++)
        CHECK(memcmp(ow + g * 12, w + perm[g] * 12, 12 * sizeof(float)) == 0);
    ckpt_onnx_model_free(om);
    ckpt_module_free(m);
}

static ckpt_var *ln_forward(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err)
{
    (void)self;
    (void)ctx;
    return ckpt_f_mse_loss(x, x, CKPT_REDUCE_MEAN, err);
}

TEST(test_onnx_export__errors)
{
    ckpt_module *m = mlp();
    int64_t shape[2] = {2, 6};
    ckpt_onnx_export_opts o = {0};
    o.input_ndim = 2;
    o.input_shape = shape;
    o.opset = 10;
    ckpt_error err = {0};
    CHECK(ckpt_onnx_export_model(m, &o, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    o.opset = 0;
    o.input_shape = NULL;
    CHECK(ckpt_onnx_export_model(m, &o, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
    ckpt_module_free(m);
    /* a functional op without a mapping names the op */
    m = ckpt_module_new("Net", &err);
    CHECK_OK(ckpt_module_set_forward(m, ln_forward, NULL, &err), &err);
    o.input_shape = shape;
    ckpt_error_clear(&err);
    CHECK(ckpt_onnx_export_model(m, &o, &err) == NULL);
    CHECK_EQ_INT(err.code, CKPT_E_UNSUPPORTED);
    CHECK(strstr(err.msg, "mse_loss") != NULL);
    /* the file is not created */
    CHECK(ckpt_onnx_export(m, &o, "/tmp/ckpt_export_never.onnx", &err) < 0);
    FILE *f = fopen("/tmp/ckpt_export_never.onnx", "rb");
    CHECK(f == NULL);
    ckpt_module_free(m);
}

static ckpt_module *cnn(void)
{
    ckpt_error err = {0};
    ckpt_rng r;
    ckpt_rng_seed(&r, 5);
    ckpt_conv_opts co = {0};
    co.padding[0] = co.padding[1] = 1;
    ckpt_module *m = ckpt_nn_sequential(NULL, "", &err);
    ckpt_nn_conv2d(m, "0", 2, 4, 3, 3, &co, &r, &err);
    ckpt_module *bn = ckpt_nn_batchnorm(m, "1", 2, 4, NULL, &err);
    ckpt_nn_activation(m, "2", CKPT_ACT_RELU, 0, &err);
    ckpt_nn_adaptive_avgpool2d(m, "3", 1, 1, &err);
    ckpt_nn_flatten(m, "4", 1, -1, &err);
    ckpt_nn_linear(m, "5", 4, 3, NULL, &r, &err);
    /* running statistics that matter */
    float *mean = ckpt_module_slot(bn, "running_mean")->data;
    float *var = ckpt_module_slot(bn, "running_var")->data;
    float *w = ckpt_module_slot(bn, "weight")->data;
    for (int i = 0; i < 4; i++) {
        mean[i] = 0.1f * (float)i - 0.2f;
        var[i] = 0.5f + 0.25f * (float)i;
        w[i] = 1.0f + 0.1f * (float)i;
    }
    ckpt_module_train(m, false);
    return m;
}

TEST(test_onnx_export__batchnorm_fold_and_simplify)
{
    ckpt_module *m = cnn();
    int64_t shape[4] = {2, 2, 6, 6};
    ckpt_onnx_export_opts o = {0};
    o.input_ndim = 4;
    o.input_shape = shape;
    o.keep_batchnorm = true;
    ckpt_error err = {0};
    ckpt_onnx_model *kept = ckpt_onnx_export_model(m, &o, &err);
    CHECK(kept != NULL);
    CHECK_EQ_INT(count_op(kept, "BatchNormalization"), 1);
    CHECK(has_init(kept, "1.running_mean") && has_init(kept, "1.running_var"));
    double d = session_vs_module(kept, m, 4, shape);
    CHECK(d >= 0 && d <= 1e-5);
    o.keep_batchnorm = false;
    ckpt_onnx_model *folded = ckpt_onnx_export_model(m, &o, &err);
    CHECK(folded != NULL);
    CHECK_EQ_INT(count_op(folded, "BatchNormalization"), 0);
    CHECK_EQ_INT(folded->graph->n_nodes, kept->graph->n_nodes - 1);
    d = session_vs_module(folded, m, 4, shape);
    CHECK(d >= 0 && d <= 1e-5);
    /* simplify does the same fold on the kept model */
    ckpt_onnx_simplify_report rep;
    ckpt_onnx_model *simple = ckpt_onnx_simplify(kept, NULL, &rep, &err);
    CHECK(simple != NULL);
    CHECK(rep.ran);
    CHECK_EQ_INT(rep.batchnorms_folded, 1);
    CHECK_EQ_INT(rep.nodes_before, kept->graph->n_nodes);
    CHECK_EQ_INT(rep.nodes_after, simple->graph->n_nodes);
    CHECK_EQ_INT(count_op(simple, "BatchNormalization"), 0);
    d = session_vs_module(simple, m, 4, shape);
    CHECK(d >= 0 && d <= 1e-5);
    ckpt_onnx_model_free(simple);
    ckpt_onnx_model_free(folded);
    ckpt_onnx_model_free(kept);
    ckpt_module_free(m);
}

TEST(test_onnx_export__simplify_structural)
{
    /* Identity chains, a Constant, a dead branch and MatMul+Add, without running */
    ckpt_module *m = mlp();
    int64_t shape[2] = {2, 6};
    ckpt_onnx_export_opts o = {0};
    o.input_ndim = 2;
    o.input_shape = shape;
    ckpt_error err = {0};
    ckpt_onnx_model *om = ckpt_onnx_export_model(m, &o, &err);
    CHECK(om != NULL);
    ckpt_onnx_simplify_opts so = {0};
    so.no_shape_inference = true;
    ckpt_onnx_simplify_report rep;
    ckpt_onnx_model *s = ckpt_onnx_simplify(om, &so, &rep, &err);
    CHECK(s != NULL);
    CHECK(!rep.ran);
    CHECK_EQ_INT(rep.nodes_after, 3); /* already minimal */
    ckpt_onnx_model_free(s);
    ckpt_onnx_model_free(om);
    ckpt_module_free(m);
}

/* x (2,6) -> Identity -> MatMul W (6,4) -> Add b (4) -> Reshape to
 * Concat(Unsqueeze(Gather(Shape(x), 0)), [-1]) -> Dropout -> y; plus a
 * Constant and a dead Relu.  Simplified: Gemm, Reshape with a constant shape. */
static ckpt_onnx_model *chain_model(ckpt_error *err)
{
    ob_model *b = ob_new(err);
    if (!b)
        return NULL;
    ob_set_opset(b, "", 13, err);
    float w[24], bias[4];
    fill(w, 24, 11);
    fill(bias, 4, 12);
    int64_t wd[2] = {6, 4}, bd = 4, one = 1, zero = 0, minus1 = -1;
    ob_add_init(b, "W", OX_FLOAT, 2, wd, w, err);
    ob_add_init(b, "b", OX_FLOAT, 1, &bd, bias, err);
    ob_add_init(b, "zero", OX_INT64, 0, NULL, &zero, err);
    ob_add_init(b, "axes0", OX_INT64, 1, &one, &zero, err);
    const char *in_x[] = {"x"}, *o_id[] = {"xi"};
    ob_add_node(b, "Identity", "id", 1, in_x, 1, o_id, err);
    const char *mm_in[] = {"xi", "W"}, *mm_out[] = {"mm"};
    ob_add_node(b, "MatMul", "mm", 2, mm_in, 1, mm_out, err);
    const char *add_in[] = {"mm", "b"}, *add_out[] = {"lin"};
    ob_add_node(b, "Add", "add", 2, add_in, 1, add_out, err);
    const char *sh_out[] = {"shape"};
    ob_add_node(b, "Shape", "shape", 1, in_x, 1, sh_out, err);
    const char *ga_in[] = {"shape", "zero"}, *ga_out[] = {"n"};
    ob_add_node(b, "Gather", "gather", 2, ga_in, 1, ga_out, err);
    const char *un_in[] = {"n", "axes0"}, *un_out[] = {"n1"};
    ob_add_node(b, "Unsqueeze", "unsq", 2, un_in, 1, un_out, err);
    const char *k_out[] = {"m1"};
    ob_node *k = ob_add_node(b, "Constant", "const", 0, NULL, 1, k_out, err);
    ox_val mv = {0};
    mv.kind = OX_KIND_TENSOR;
    mv.dtype = OX_INT64;
    mv.rank = 1;
    mv.dims[0] = 1;
    mv.numel = 1;
    mv.data = &minus1;
    if (k)
        ob_attr_tensor(k, "value", &mv, err);
    const char *cc_in[] = {"n1", "m1"}, *cc_out[] = {"target"};
    ob_node *cc = ob_add_node(b, "Concat", "concat", 2, cc_in, 1, cc_out, err);
    if (cc)
        ob_attr_int(cc, "axis", 0, err);
    const char *rs_in[] = {"lin", "target"}, *rs_out[] = {"r"};
    ob_add_node(b, "Reshape", "reshape", 2, rs_in, 1, rs_out, err);
    const char *dr_in[] = {"r"}, *dr_out[] = {"y"};
    ob_add_node(b, "Dropout", "drop", 1, dr_in, 1, dr_out, err);
    const char *dead_out[] = {"unused"};
    ob_add_node(b, "Relu", "dead", 1, in_x, 1, dead_out, err);
    int64_t xd[2] = {2, 6}, yd[2] = {2, 4};
    ox_type tx = ob_tensor_type(OX_FLOAT, 2, xd, NULL),
            ty = ob_tensor_type(OX_FLOAT, 2, yd, NULL);
    ob_add_input(b, "x", &tx, err);
    ob_add_output(b, "y", &ty, err);
    ckpt_onnx_model *m = err->code ? NULL : ob_to_model(b, err);
    ob_free(b);
    return m;
}

static int run_xy(const ckpt_onnx_model *m, const float *x, float *y)
{
    ckpt_error err = {0};
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
    if (!s)
        return -1;
    ckpt_onnx_tensor in = {0}, out = {0};
    in.dtype = CKPT_F32;
    in.ndim = 2;
    in.shape[0] = 2, in.shape[1] = 6;
    in.data = (void *)(uintptr_t)x;
    in.nbytes = 12 * sizeof(float);
    out.data = y;
    out.nbytes = 8 * sizeof(float);
    int rc = ckpt_onnx_run(s, &in, 1, &out, 1, &err);
    ckpt_onnx_session_free(s);
    return rc;
}

TEST(test_onnx_export__simplify_passes)
{
    ckpt_error err = {0};
    ckpt_onnx_model *m = chain_model(&err);
    if (!m)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(m != NULL);
    CHECK_EQ_INT(m->graph->n_nodes, 11);
    ckpt_onnx_simplify_report rep;
    ckpt_onnx_model *s = ckpt_onnx_simplify(m, NULL, &rep, &err);
    if (!s)
        fprintf(stderr, "%s\n", err.msg);
    CHECK(s != NULL);
    CHECK(rep.ran);
    /* Gemm + Reshape(constant shape) remain */
    CHECK_EQ_INT(s->graph->n_nodes, 2);
    CHECK_EQ_INT(count_op(s, "Gemm"), 1);
    CHECK_EQ_INT(count_op(s, "Reshape"), 1);
    CHECK_EQ_INT(rep.gemms_fused, 1);
    CHECK(rep.identities_removed >= 2 && rep.folded >= 4 && rep.dead_removed >= 1);
    /* the Reshape's target became an initializer holding (2, -1) */
    int t = ox_graph_find(s->graph, "target");
    CHECK(t >= 0 && s->graph->values[t].is_initializer);
    const int64_t *tv = s->graph->values[t].init.data;
    CHECK(tv[0] == 2 && tv[1] == -1);
    float x[12], y0[8], y1[8];
    fill(x, 12, 13);
    CHECK_EQ_INT(run_xy(m, x, y0), 0);
    CHECK_EQ_INT(run_xy(s, x, y1), 0);
    for (int i = 0; i < 8; i++)
        CHECK(fabs((double)y0[i] - (double)y1[i]) <= 1e-5 * (1.0 + fabs((double)y0[i])));
    ckpt_onnx_model_free(s);
    ckpt_onnx_model_free(m);
}

TEST_MAIN()
