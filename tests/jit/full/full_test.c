/* tests/jit/full/full_test.c - full-model pickles (torch.save(model)): read
 * them (listing, state dict and class tree equal to what torch 1.13 reports,
 * tools/gen/make_jit_full.py), run them (outputs equal to torch's within
 * 1e-5), refuse a user's class with its submodules named, never execute a
 * hostile pickle, and write C models as full-model pickles (checked by
 * torch.load in tests/jit/full/torch_load_check.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "ckpt/formats.h"
#include "ckpt/jit.h"
#include "ckpt/nn.h"
#include "jit/jit_internal.h"
#include "util/test.h"

#define DIR "tests/fixtures/jit/full/"

static char *read_text(const char *path)
{
    size_t n;
    unsigned char *b = test_read_file(path, &n);
    if (!b)
        return NULL;
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, b, n);
        s[n] = 0;
    }
    free(b);
    return s;
}

static void shape_str(int ndim, const int64_t *shape, char *buf, size_t cap)
{
    size_t u = 0;
    buf[0] = 0;
    if (ndim == 0)
        snprintf(buf, cap, "-");
    for (int i = 0; i < ndim; i++)
        u += (size_t)snprintf(buf + u, cap - u, "%s%lld", i ? "x" : "", (long long)shape[i]);
}

/* The module at dotted path `p` ("-" = root) of the jv tree. */
static const jv *module_at(const jv *root, const char *p)
{
    if (strcmp(p, "-") == 0)
        return root;
    char buf[256];
    snprintf(buf, sizeof buf, "%s", p);
    const jv *cur = root;
    for (char *tok = strtok(buf, "."); tok && cur; tok = strtok(NULL, ".")) {
        const jv *v = jv_obj_get(cur, tok);
        cur = v && v->kind == JV_OBJECT ? v : NULL;
    }
    return cur;
}

/* Listing (named_parameters + named_buffers), state_dict keys and the class
 * of every named module, against torch's NAME.list.txt. */
static void check_read(const char *name)
{
    char path[256], lpath[256];
    snprintf(path, sizeof path, DIR "%s.pt", name);
    snprintf(lpath, sizeof lpath, DIR "%s.list.txt", name);
    ckpt_error err = {0};
    ckpt_jit_model *m = ckpt_jit_load(path, NULL, &err);
    CHECK_OK(m ? 0 : -1, &err);
    CHECK_EQ_INT(ckpt_jit_format(m), CKPT_JIT_FULL_MODEL);
    char *text = read_text(lpath);
    CHECK(text);
    ckpt_doc *sd = ckpt_jit_state_dict(m, &err);
    CHECK(sd);
    const ckpt_obj *sdr = ckpt_doc_root(sd);
    size_t li = 0, si = 0, bad = 0;
    char *save = NULL;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char kind = line[0];
        const char *rest = line + 2;
        if (kind == 'P' || kind == 'B') {
            char nm[200], shp[64];
            int rg = -1;
            int got = kind == 'P' ? sscanf(rest, "%199s %63s %d", nm, shp, &rg)
                                  : sscanf(rest, "%199s %63s", nm, shp);
            ckpt_jit_tensor t;
            if (got < 2 || ckpt_jit_get_tensor(m, li++, &t) != 0) {
                fprintf(stderr, "%s: listing has no entry for %s\n", name, rest);
                bad++;
                continue;
            }
            char s2[64];
            shape_str(t.ndim, t.shape, s2, sizeof s2);
            if (strcmp(t.name, nm) != 0 || strcmp(s2, shp) != 0 ||
                t.kind != (kind == 'P' ? CKPT_JIT_PARAM : CKPT_JIT_BUFFER) ||
                (kind == 'P' && (int)t.requires_grad != rg)) {
                fprintf(stderr, "%s: entry %zu is %s %s kind %d rg %d, torch: %s\n", name, li - 1,
                        t.name, s2, t.kind, (int)t.requires_grad, line);
                bad++;
            }
        } else if (kind == 'S') {
            const ckpt_obj *k = ckpt_dict_key(sdr, si++);
            if (!k || strcmp(ckpt_obj_str(k, NULL), rest) != 0) {
                fprintf(stderr, "%s: state dict key %zu is %s, torch: %s\n", name, si - 1,
                        k ? ckpt_obj_str(k, NULL) : "(none)", rest);
                bad++;
            }
        } else if (kind == 'C') {
            char p[200], cls[200];
            if (sscanf(rest, "%199s %199s", p, cls) != 2)
                continue;
            const jv *mo = module_at(m->root, p);
            if (!mo || strcmp(mo->u.obj.cls->qualname, cls) != 0) {
                fprintf(stderr, "%s: module %s is %s, torch: %s\n", name, p,
                        mo ? mo->u.obj.cls->qualname : "(none)", cls);
                bad++;
            }
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK_EQ_INT(ckpt_jit_tensor_count(m), li);
    CHECK_EQ_INT(ckpt_obj_len(sdr), si);
    free(text);
    ckpt_doc_free(sd);
    ckpt_jit_free(m);
}

TEST(test_jit_full__read_mlp)
{
    check_read("mlp");
}
TEST(test_jit_full__read_cnn)
{
    check_read("cnn");
}
TEST(test_jit_full__read_acts)
{
    check_read("acts");
}
TEST(test_jit_full__read_conv1d)
{
    check_read("conv1d");
}
TEST(test_jit_full__read_convt)
{
    check_read("convt");
}
TEST(test_jit_full__read_embed)
{
    check_read("embed");
}
TEST(test_jit_full__read_user_net)
{
    check_read("user_net");
}
TEST(test_jit_full__read_lstm)
{
    check_read("lstm");
}
TEST(test_jit_full__read_gru)
{
    check_read("gru");
}
TEST(test_jit_full__read_transformer)
{
    check_read("transformer");
}
TEST(test_jit_full__read_transformer_enc)
{
    check_read("transformer_enc");
}
TEST(test_jit_full__read_mha)
{
    check_read("mha");
}
TEST(test_jit_full__read_lstm_proj)
{
    check_read("lstm_proj");
}
TEST(test_jit_full__read_rnn_relu)
{
    check_read("rnn_relu");
}
TEST(test_jit_full__read_mlp_legacy)
{
    check_read("mlp_legacy");
}
TEST(test_jit_full__read_cnn_legacy)
{
    check_read("cnn_legacy");
}
TEST(test_jit_full__read_cnn_torch2)
{
    check_read("cnn_torch2");
}
TEST(test_jit_full__read_mlp_training)
{
    check_read("mlp_training");
}

/* Hyper-attributes keep their Python types and the training flag. */
TEST(test_jit_full__attributes)
{
    ckpt_error err = {0};
    ckpt_jit_model *m = ckpt_jit_load(DIR "cnn.pt", NULL, &err);
    CHECK_OK(m ? 0 : -1, &err);
    CHECK_STR(ckpt_jit_root_class(m), "torch.nn.modules.container.Sequential");
    const jv *conv = module_at(m->root, "4");
    CHECK(conv);
    const jv *st = jv_obj_get(conv, "dilation");
    CHECK(st && st->kind == JV_TUPLE && st->u.seq.n == 2 && st->u.seq.items[0]->u.i == 2);
    const jv *g = jv_obj_get(conv, "groups");
    CHECK(g && g->kind == JV_INT && g->u.i == 2);
    const jv *bias = jv_obj_get(conv, "bias");
    CHECK(bias && bias->kind == JV_NONE);
    const jv *tr = jv_obj_get(conv, "training");
    CHECK(tr && tr->kind == JV_BOOL && !tr->u.b);
    const jv *bn = module_at(m->root, "1");
    const jv *eps = jv_obj_get(bn, "eps");
    CHECK(eps && eps->kind == JV_FLOAT && eps->u.f == 1e-5);
    CHECK_EQ_INT(bn->u.obj.akind[jv_obj_find(bn, "running_mean")], JIT_A_BUFFER);
    CHECK_EQ_INT(bn->u.obj.akind[jv_obj_find(bn, "weight")], JIT_A_PARAM);
    /* the run binding knows torch.nn's forward(input) */
    size_t n;
    const char *const *names, *const *types;
    CHECK_OK(ckpt_jit_signature(m, NULL, &n, &names, &types, &err), &err);
    CHECK_EQ_INT(n, 1);
    CHECK_STR(names[0], "input");
    ckpt_jit_free(m);
    m = ckpt_jit_load(DIR "mlp_training.pt", NULL, &err);
    CHECK_OK(m ? 0 : -1, &err);
    tr = jv_obj_get(module_at(m->root, "0"), "training");
    CHECK(tr && tr->kind == JV_BOOL && tr->u.b);
    ckpt_jit_free(m);
}

static ckpt_doc *npy(const char *path)
{
    ckpt_error err = {0};
    ckpt_doc *d = ckpt_numpy_load(path, NULL, &err);
    if (!d)
        fprintf(stderr, "%s: %s\n", path, err.msg);
    return d;
}

static bool op_missing(const ckpt_error *err)
{
    return strstr(err->msg, "not in ckpt's op library") != NULL ||
           strstr(err->msg, "not built yet") != NULL;
}

static void check_run(const char *name)
{
    char path[256], ipath[256], opath[256];
    snprintf(path, sizeof path, DIR "%s.pt", name);
    snprintf(ipath, sizeof ipath, DIR "%s.in.npy", name);
    snprintf(opath, sizeof opath, DIR "%s.out.npy", name);
    ckpt_error err = {0};
    ckpt_jit_model *m = ckpt_jit_load(path, NULL, &err);
    CHECK_OK(m ? 0 : -1, &err);
    ckpt_doc *in = npy(ipath), *want = npy(opath);
    CHECK(in && want);
    ckpt_tensor_info ti, wi;
    CHECK_OK(ckpt_tensor_get_info(ckpt_doc_root(in), &ti), &err);
    CHECK_OK(ckpt_tensor_get_info(ckpt_doc_root(want), &wi), &err);
    /* forward(input), forward(src) or MultiheadAttention's forward(query, key, value)
     * (self-attention: the three are the same tensor), bound by name */
    size_t n_args = 0;
    const char *const *names, *const *types;
    CHECK_OK(ckpt_jit_signature(m, NULL, &n_args, &names, &types, &err), &err);
    CHECK(n_args >= 1 && n_args <= 3);
    ckpt_jit_value v[3];
    for (size_t k = 0; k < n_args; k++) {
        memset(&v[k], 0, sizeof v[k]);
        v[k].name = names[k];
        v[k].kind = CKPT_JIT_V_TENSOR;
        v[k].dtype = ti.dtype;
        v[k].ndim = ti.ndim;
        v[k].data = ckpt_tensor_data(ckpt_doc_root(in));
        for (int i = 0; i < ti.ndim; i++)
            v[k].shape[i] = ti.shape[i];
    }
    const ckpt_jit_value *outs;
    size_t n_outs;
    int rc = ckpt_jit_run(m, NULL, v, n_args, &outs, &n_outs, &err);
    if (rc != 0 && op_missing(&err)) {
        char why[300];
        snprintf(why, sizeof why, "the op library lacks an operator: %.200s", err.msg);
        ckpt_doc_free(in);
        ckpt_doc_free(want);
        ckpt_jit_free(m);
        test_skip(why);
        return;
    }
    CHECK_OK(rc, &err);
    size_t k = 0;
    for (; k < n_outs; k++) {
        if (k > 0) {
            ckpt_doc_free(want);
            snprintf(opath, sizeof opath, DIR "%s.out%zu.npy", name, k);
            want = npy(opath);
            CHECK(want);
            CHECK_OK(ckpt_tensor_get_info(ckpt_doc_root(want), &wi), &err);
        }
        CHECK_EQ_INT(outs[k].dtype, CKPT_F32);
        CHECK_EQ_INT(outs[k].ndim, wi.ndim);
        for (int i = 0; i < wi.ndim; i++)
            CHECK_EQ_INT(outs[k].shape[i], wi.shape[i]);
        const float *a = outs[k].data, *b = ckpt_tensor_data(ckpt_doc_root(want));
        double maxd = 0;
        size_t bad = 0;
        for (int64_t i = 0; i < wi.numel; i++) {
            double d = fabs((double)a[i] - (double)b[i]);
            if (d > maxd)
                maxd = d;
            if (!(d <= 1e-5 + 1e-5 * fabs((double)b[i])))
                bad++;
        }
        printf("%s output %zu: max |ckpt - torch| = %.3g over %lld values\n", name, k, maxd,
               (long long)wi.numel);
        CHECK_EQ_INT(bad, 0);
    }
    /* as many outputs as torch gave */
    snprintf(opath, sizeof opath, DIR "%s.out%zu.npy", name, k);
    CHECK(access(opath, F_OK) != 0);
    ckpt_doc_free(in);
    ckpt_doc_free(want);
    ckpt_jit_free(m);
}

TEST(test_jit_full__run_mlp)
{
    check_run("mlp");
}
TEST(test_jit_full__run_cnn)
{
    check_run("cnn");
}
TEST(test_jit_full__run_acts)
{
    check_run("acts");
}
TEST(test_jit_full__run_conv1d)
{
    check_run("conv1d");
}
TEST(test_jit_full__run_convt)
{
    check_run("convt");
}
TEST(test_jit_full__run_embed)
{
    check_run("embed");
}
TEST(test_jit_full__run_lstm)
{
    check_run("lstm");
}
TEST(test_jit_full__run_gru)
{
    check_run("gru");
}
TEST(test_jit_full__run_transformer)
{
    check_run("transformer");
}
TEST(test_jit_full__run_transformer_enc)
{
    check_run("transformer_enc");
}
TEST(test_jit_full__run_mha)
{
    check_run("mha");
}
TEST(test_jit_full__run_lstm_proj)
{
    check_run("lstm_proj");
}
TEST(test_jit_full__run_rnn_relu)
{
    check_run("rnn_relu");
}
TEST(test_jit_full__run_mlp_legacy)
{
    check_run("mlp_legacy");
}
TEST(test_jit_full__run_cnn_legacy)
{
    check_run("cnn_legacy");
}
TEST(test_jit_full__run_cnn_torch2)
{
    check_run("cnn_torch2");
}
TEST(test_jit_full__run_mlp_training)
{
    check_run("mlp_training");
}

/* A user's class: its forward is Python code; the error names the class, its
 * submodules and the size of its state dict. */
TEST(test_jit_full__user_class)
{
    ckpt_error err = {0};
    ckpt_jit_model *m = ckpt_jit_load(DIR "user_net.pt", NULL, &err);
    CHECK_OK(m ? 0 : -1, &err);
    CHECK_STR(ckpt_jit_root_class(m), "__main__.Net");
    float x[36] = {0};
    ckpt_jit_value v = {.kind = CKPT_JIT_V_TENSOR,
                        .dtype = CKPT_F32,
                        .ndim = 4,
                        .shape = {1, 1, 6, 6},
                        .data = x};
    const ckpt_jit_value *outs;
    size_t n;
    int rc = ckpt_jit_run(m, NULL, &v, 1, &outs, &n, &err);
    CHECK_EQ_INT(rc, CKPT_E_UNSUPPORTED);
    printf("%s\n", err.msg);
    CHECK(strstr(err.msg, "class __main__.Net's forward is Python code"));
    CHECK(strstr(err.msg, "conv (Conv2d), head (Sequential)"));
    CHECK(strstr(err.msg, "5 tensors"));
    CHECK(strstr(err.file, "user_net.pt"));
    /* its tensors are still there: 4 parameters, a buffer and a non-persistent buffer
     * (listed by named_buffers, not in state_dict: check_read("user_net")) */
    CHECK_EQ_INT(ckpt_jit_tensor_count(m), 6);
    ckpt_jit_free(m);
}

/* A pickle whose object __reduce__s to os.system: read as inert data, never called. */
TEST(test_jit_full__hostile_reduce)
{
    unlink("ckpt_fullmodel_pwned");
    ckpt_error err = {0};
    ckpt_jit_model *m = ckpt_jit_load(DIR "hostile_reduce.pt", NULL, &err);
    CHECK_OK(m ? 0 : -1, &err);
    const jv *p = jv_obj_get(m->root, "payload");
    CHECK(p && p->kind == JV_OBJECT);
    CHECK(strstr(p->u.obj.cls->qualname, "system") != NULL);
    CHECK(access("ckpt_fullmodel_pwned", F_OK) != 0);
    ckpt_jit_free(m);
    /* a module containing itself: refused (a reference cycle), not looped over */
    m = ckpt_jit_load(DIR "hostile_cycle.pt", NULL, &err);
    CHECK(m == NULL);
    CHECK(strstr(err.msg, "contains itself"));
    memset(&err, 0, sizeof err);
    m = ckpt_jit_load(DIR "hostile_root.pt", NULL, &err);
    CHECK(m == NULL);
    printf("%s\n", err.msg);
    CHECK(access("ckpt_fullmodel_pwned", F_OK) != 0);
}

/* Malformed module state: errors naming the slot, never a crash. */
TEST(test_jit_full__hostile_state)
{
    static const struct {
        const char *file, *want;
        int code;
    } cases[] = {
        {"hostile_param_str.pt", "_parameters['weight']: a str, not a tensor", CKPT_E_FORMAT},
        {"hostile_module_int.pt", "_modules['1']: a int, not a module", CKPT_E_FORMAT},
        {"hostile_deep.pt", "nested deeper than", CKPT_E_LIMIT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256];
        snprintf(path, sizeof path, DIR "%s", cases[i].file);
        ckpt_error err = {0};
        ckpt_jit_model *m = ckpt_jit_load(path, NULL, &err);
        if (m || err.code != cases[i].code || !strstr(err.msg, cases[i].want))
            fprintf(stderr, "%s: code %d: %s\n", cases[i].file, err.code, err.msg);
        CHECK(m == NULL);
        CHECK_EQ_INT(err.code, cases[i].code);
        CHECK(strstr(err.msg, cases[i].want));
    }
}

/* ------------------------------------------------------------ writing */

static void fill(ckpt_module *m, const char *slot, double lo, double hi, uint64_t seed)
{
    ckpt_slot *s = ckpt_module_slot(m, slot);
    if (!s || !s->data)
        return;
    ckpt_rng r;
    ckpt_rng_seed(&r, seed);
    float *f = s->data;
    for (uint64_t i = 0; i < s->nbytes / 4; i++)
        f[i] = (float)(lo + (hi - lo) * ckpt_rng_uniform(&r));
}

typedef struct wmodel {
    const char *name;
    ckpt_module *m;
    int ndim;
    int64_t shape[4];
} wmodel;

static ckpt_module *build(const char *which, ckpt_error *err)
{
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 7);
    ckpt_module *s = ckpt_nn_sequential(NULL, NULL, err);
    if (!s)
        return NULL;
    if (strcmp(which, "mlp") == 0) {
        ckpt_nn_linear(s, "0", 8, 16, NULL, &rng, err);
        ckpt_nn_activation(s, "1", CKPT_ACT_RELU, 0, err);
        ckpt_nn_linear(s, "2", 16, 4, NULL, &rng, err);
        ckpt_nn_activation(s, "3", CKPT_ACT_SOFTMAX, 1, err);
    } else if (strcmp(which, "cnn") == 0) {
        ckpt_conv_opts c1 = {.padding = {1, 1}};
        ckpt_nn_conv2d(s, "0", 3, 8, 3, 3, &c1, &rng, err);
        ckpt_nn_batchnorm(s, "1", 2, 8, NULL, err);
        ckpt_nn_activation(s, "2", CKPT_ACT_RELU, 0, err);
        ckpt_pool_opts mp = {.kernel = {2, 2}};
        ckpt_nn_maxpool2d(s, "3", &mp, err);
        ckpt_conv_opts c2 = {.padding = {2, 2}, .dilation = {2, 2}, .groups = 2, .no_bias = true};
        ckpt_nn_conv2d(s, "4", 8, 8, 3, 3, &c2, &rng, err);
        ckpt_pool_opts ap = {.kernel = {2, 2}};
        ckpt_nn_avgpool2d(s, "5", &ap, err);
        ckpt_nn_adaptive_avgpool2d(s, "6", 2, 2, err);
        ckpt_nn_flatten(s, "7", 1, -1, err);
        ckpt_nn_linear(s, "8", 32, 10, NULL, &rng, err);
        ckpt_nn_activation(s, "9", CKPT_ACT_GELU, 0, err);
        int64_t ns[1] = {10};
        ckpt_nn_layernorm(s, "10", 1, ns, NULL, err);
        ckpt_nn_dropout(s, "11", 0.2, err);
        ckpt_nn_activation(s, "12", CKPT_ACT_TANH, 0, err);
        fill(s, "1.running_mean", -0.5, 0.5, 1);
        fill(s, "1.running_var", 0.5, 1.5, 2);
        fill(s, "1.weight", 0.5, 1.5, 3);
        fill(s, "1.bias", -0.5, 0.5, 4);
        fill(s, "10.weight", 0.5, 1.5, 5);
        fill(s, "10.bias", -0.5, 0.5, 6);
    } else if (strcmp(which, "seq1d") == 0) {
        ckpt_conv_opts c1 = {.stride = {2, 2}, .padding = {1, 1}};
        ckpt_nn_conv1d(s, "0", 4, 6, 3, &c1, &rng, err);
        ckpt_nn_batchnorm(s, "1", 1, 6, NULL, err);
        ckpt_nn_groupnorm(s, "2", 3, 6, NULL, err);
        ckpt_nn_activation(s, "3", CKPT_ACT_SILU, 0, err);
        ckpt_nn_flatten(s, "4", 1, -1, err);
        ckpt_nn_linear(s, "5", 30, 5, NULL, &rng, err);
        ckpt_nn_activation(s, "6", CKPT_ACT_SIGMOID, 0, err);
        ckpt_nn_activation(s, "7", CKPT_ACT_LOGSOFTMAX, -1, err);
        fill(s, "1.running_mean", -0.5, 0.5, 11);
        fill(s, "1.running_var", 0.5, 1.5, 12);
        fill(s, "2.weight", 0.5, 1.5, 13);
    } else if (strcmp(which, "convt") == 0) {
        ckpt_conv_opts c = {.stride = {2, 2}, .padding = {1, 1}, .output_padding = {1, 1}};
        ckpt_nn_conv_transpose2d(s, "0", 3, 4, 3, 3, &c, &rng, err);
        ckpt_nn_activation(s, "1", CKPT_ACT_IDENTITY, 0, err);
        ckpt_nn_activation(s, "2", CKPT_ACT_GELU_TANH, 0, err);
    }
    if (err->code) {
        ckpt_module_free(s);
        return NULL;
    }
    ckpt_module_train(s, false);
    return s;
}

static void write_one(const char *which, int ndim, const int64_t *shape, const char *outdir)
{
    ckpt_error err = {0};
    ckpt_module *m = build(which, &err);
    CHECK_OK(m ? 0 : -1, &err);
    ckpt_nn_act in = {0}, out = {0};
    CHECK_OK(ckpt_nn_act_resize(&in, ndim, shape, &err), &err);
    ckpt_rng r;
    ckpt_rng_seed(&r, 99);
    for (size_t i = 0; i < ckpt_nn_act_numel(&in); i++)
        in.data[i] = (float)ckpt_rng_normal(&r);
    CHECK_OK(ckpt_nn_forward(m, &in, &out, NULL, &err), &err);
    char path[512];
    snprintf(path, sizeof path, "%s/%s.pt", outdir, which);
    CHECK_OK(ckpt_jit_save_full_model(m, path, &err), &err);
    /* the inputs and ckpt's outputs, for torch_load_check.py */
    ckpt_doc *d = ckpt_doc_new(NULL, &err);
    CHECK(d);
    ckpt_obj *ti = ckpt_tensor_new_copy(d, CKPT_F32, in.ndim, in.shape, in.data, &err);
    ckpt_obj *to = ckpt_tensor_new_copy(d, CKPT_F32, out.ndim, out.shape, out.data, &err);
    CHECK(ti && to);
    char p2[512];
    snprintf(p2, sizeof p2, "%s/%s.in.npy", outdir, which);
    CHECK_OK(ckpt_npy_save(p2, ti, &err), &err);
    snprintf(p2, sizeof p2, "%s/%s.out.npy", outdir, which);
    CHECK_OK(ckpt_npy_save(p2, to, &err), &err);
    /* ckpt reads its own file back: same classes, same state dict */
    ckpt_jit_model *jm = ckpt_jit_load(path, NULL, &err);
    CHECK_OK(jm ? 0 : -1, &err);
    CHECK_STR(ckpt_jit_root_class(jm), "torch.nn.modules.container.Sequential");
    ckpt_doc *sd = ckpt_doc_new(NULL, &err);
    ckpt_obj *want = ckpt_module_state_dict(m, sd, NULL, &err);
    CHECK(want);
    CHECK_EQ_INT(ckpt_jit_tensor_count(jm), ckpt_obj_len(want));
    ckpt_doc *got = ckpt_jit_state_dict(jm, &err);
    CHECK(got);
    const ckpt_obj *gr = ckpt_doc_root(got);
    CHECK_EQ_INT(ckpt_obj_len(gr), ckpt_obj_len(want));
    for (size_t i = 0; i < ckpt_obj_len(want); i++) {
        const char *k = ckpt_obj_str(ckpt_dict_key(want, i), NULL);
        CHECK_STR(ckpt_obj_str(ckpt_dict_key(gr, i), NULL), k);
        ckpt_tensor_info a, b;
        CHECK_OK(ckpt_tensor_get_info(ckpt_dict_value(gr, i), &a), &err);
        CHECK_OK(ckpt_tensor_get_info(ckpt_dict_value(want, i), &b), &err);
        CHECK(a.nbytes == b.nbytes && a.dtype == b.dtype);
        CHECK(memcmp(ckpt_tensor_data(ckpt_dict_value(gr, i)),
                     ckpt_tensor_data(ckpt_dict_value(want, i)), a.nbytes) == 0);
    }
    ckpt_doc_free(got);
    /* and runs it as the C model does */
    ckpt_jit_value v = {.kind = CKPT_JIT_V_TENSOR,
                        .dtype = CKPT_F32,
                        .ndim = in.ndim,
                        .data = in.data};
    memcpy(v.shape, in.shape, sizeof(int64_t) * (size_t)in.ndim);
    const ckpt_jit_value *outs;
    size_t n;
    int rc = ckpt_jit_run(jm, NULL, &v, 1, &outs, &n, &err);
    if (rc == 0) {
        CHECK_EQ_INT(n, 1);
        CHECK_EQ_INT(outs[0].ndim, out.ndim);
        for (int i = 0; i < out.ndim; i++)
            CHECK_EQ_INT(outs[0].shape[i], out.shape[i]);
        double maxd = 0;
        const float *a = outs[0].data;
        for (size_t i = 0; i < ckpt_nn_act_numel(&out); i++) {
            double dd = fabs((double)a[i] - (double)out.data[i]);
            maxd = dd > maxd ? dd : maxd;
            CHECK(dd <= 1e-5 + 1e-5 * fabs((double)out.data[i]));
        }
        printf("%s: ckpt run of the written file vs the C model: max diff %.3g\n", which, maxd);
    } else {
        CHECK(op_missing(&err));
        printf("%s: not run (%s)\n", which, err.msg);
    }
    ckpt_jit_free(jm);
    ckpt_doc_free(sd);
    ckpt_doc_free(d);
    ckpt_nn_act_free(&in);
    ckpt_nn_act_free(&out);
    ckpt_module_free(m);
}

TEST(test_jit_full__write)
{
    const char *outdir = getenv("CKPT_JIT_FULL_OUT");
    char tmpl[] = "/tmp/ckpt_jit_full_XXXXXX";
    if (!outdir || !*outdir)
        outdir = mkdtemp(tmpl);
    CHECK(outdir);
    int64_t s_mlp[2] = {3, 8}, s_cnn[4] = {2, 3, 16, 16}, s_1d[3] = {2, 4, 10},
            s_ct[4] = {1, 3, 5, 5};
    write_one("mlp", 2, s_mlp, outdir);
    write_one("cnn", 4, s_cnn, outdir);
    write_one("seq1d", 3, s_1d, outdir);
    write_one("convt", 4, s_ct, outdir);
}

/* A single layer as the root: Embedding (int64 input) with a padding row. */
TEST(test_jit_full__write_embedding)
{
    const char *outdir = getenv("CKPT_JIT_FULL_OUT");
    char tmpl[] = "/tmp/ckpt_jit_full_XXXXXX";
    if (!outdir || !*outdir)
        outdir = mkdtemp(tmpl);
    CHECK(outdir);
    ckpt_error err = {0};
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 3);
    ckpt_embedding_opts eo = {.has_padding_idx = true, .padding_idx = 1};
    ckpt_module *m = ckpt_nn_embedding(NULL, NULL, 10, 4, &eo, &rng, &err);
    CHECK_OK(m ? 0 : -1, &err);
    ckpt_module_train(m, false);
    int64_t idx[6] = {1, 2, 9, 0, 3, 1}, ishape[2] = {2, 3};
    ckpt_nn_act out = {0};
    CHECK_OK(ckpt_nn_embedding_forward(m, idx, 2, ishape, &out, &err), &err);
    char path[512];
    snprintf(path, sizeof path, "%s/embed.pt", outdir);
    CHECK_OK(ckpt_jit_save_full_model(m, path, &err), &err);
    ckpt_doc *d = ckpt_doc_new(NULL, &err);
    ckpt_obj *ti = ckpt_tensor_new_copy(d, CKPT_I64, 2, ishape, idx, &err);
    ckpt_obj *to = ckpt_tensor_new_copy(d, CKPT_F32, out.ndim, out.shape, out.data, &err);
    CHECK(ti && to);
    snprintf(path, sizeof path, "%s/embed.in.npy", outdir);
    CHECK_OK(ckpt_npy_save(path, ti, &err), &err);
    snprintf(path, sizeof path, "%s/embed.out.npy", outdir);
    CHECK_OK(ckpt_npy_save(path, to, &err), &err);
    snprintf(path, sizeof path, "%s/embed.pt", outdir);
    ckpt_jit_model *jm = ckpt_jit_load(path, NULL, &err);
    CHECK_OK(jm ? 0 : -1, &err);
    CHECK_STR(ckpt_jit_root_class(jm), "torch.nn.modules.sparse.Embedding");
    const jv *pi = jv_obj_get(jm->root, "padding_idx");
    CHECK(pi && pi->kind == JV_INT && pi->u.i == 1);
    ckpt_jit_free(jm);
    ckpt_doc_free(d);
    ckpt_nn_act_free(&out);
    ckpt_module_free(m);
}

/* LSTM and GRU roots: the _flat_weights lists torch's RNNBase needs. */
static void write_rnn(const char *which, const char *outdir)
{
    ckpt_error err = {0};
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 5);
    ckpt_rnn_opts o = {.num_layers = 2, .bidirectional = true, .batch_first = true};
    ckpt_module *m = strcmp(which, "lstm") == 0 ? ckpt_nn_lstm(NULL, NULL, 3, 4, &o, &rng, &err)
                                                : ckpt_nn_gru(NULL, NULL, 3, 4, &o, &rng, &err);
    CHECK_OK(m ? 0 : -1, &err);
    ckpt_module_train(m, false);
    ckpt_tape *tp = ckpt_tape_new(NULL, &err);
    CHECK(tp);
    int64_t shp[3] = {2, 5, 3};
    float x[30];
    ckpt_rng r;
    ckpt_rng_seed(&r, 9);
    for (int i = 0; i < 30; i++)
        x[i] = (float)ckpt_rng_normal(&r);
    ckpt_var *xv = ckpt_tape_tensor(tp, 3, shp, x, &err);
    CHECK(xv);
    ckpt_var *y = strcmp(which, "lstm") == 0
                      ? ckpt_nn_lstm_call(m, xv, NULL, NULL, NULL, NULL, &err)
                      : ckpt_nn_gru_call(m, xv, NULL, NULL, &err);
    CHECK_OK(y ? 0 : -1, &err);
    char path[512];
    snprintf(path, sizeof path, "%s/%s.pt", outdir, which);
    CHECK_OK(ckpt_jit_save_full_model(m, path, &err), &err);
    ckpt_doc *d = ckpt_doc_new(NULL, &err);
    ckpt_obj *ti = ckpt_tensor_new_copy(d, CKPT_F32, 3, shp, x, &err);
    ckpt_obj *to = ckpt_tensor_new_copy(d, CKPT_F32, ckpt_var_ndim(y), ckpt_var_shape(y),
                                        ckpt_var_data(y), &err);
    CHECK(ti && to);
    snprintf(path, sizeof path, "%s/%s.in.npy", outdir, which);
    CHECK_OK(ckpt_npy_save(path, ti, &err), &err);
    snprintf(path, sizeof path, "%s/%s.out.npy", outdir, which);
    CHECK_OK(ckpt_npy_save(path, to, &err), &err);
    /* read back: the flat weights are the parameters themselves */
    snprintf(path, sizeof path, "%s/%s.pt", outdir, which);
    ckpt_jit_model *jm = ckpt_jit_load(path, NULL, &err);
    CHECK_OK(jm ? 0 : -1, &err);
    const jv *fw = jv_obj_get(jm->root, "_flat_weights");
    CHECK(fw && fw->kind == JV_LIST && fw->u.seq.n == 16);
    CHECK(fw->u.seq.items[0] == jv_obj_get(jm->root, "weight_ih_l0"));
    CHECK_EQ_INT(ckpt_jit_tensor_count(jm), 16);
    ckpt_jit_value v = {
        .kind = CKPT_JIT_V_TENSOR, .dtype = CKPT_F32, .ndim = 3, .shape = {2, 5, 3}, .data = x};
    const ckpt_jit_value *outs;
    size_t n;
    int rc = ckpt_jit_run(jm, NULL, &v, 1, &outs, &n, &err);
    if (rc == 0) {
        CHECK_EQ_INT(n, strcmp(which, "lstm") == 0 ? 3 : 2);
        const float *a = outs[0].data, *b = ckpt_var_data(y);
        double maxd = 0;
        for (int64_t i = 0; i < ckpt_var_numel(y); i++) {
            double dd = fabs((double)a[i] - (double)b[i]);
            maxd = dd > maxd ? dd : maxd;
        }
        printf("%s: ckpt run of the written file vs the C model: max diff %.3g\n", which, maxd);
        CHECK(maxd <= 1e-5);
    } else {
        CHECK(op_missing(&err));
    }
    ckpt_jit_free(jm);
    ckpt_doc_free(d);
    ckpt_tape_free(tp);
    ckpt_module_free(m);
}

TEST(test_jit_full__write_rnn)
{
    const char *outdir = getenv("CKPT_JIT_FULL_OUT");
    char tmpl[] = "/tmp/ckpt_jit_full_XXXXXX";
    if (!outdir || !*outdir)
        outdir = mkdtemp(tmpl);
    CHECK(outdir);
    write_rnn("lstm", outdir);
    write_rnn("gru", outdir);
}

/* A module type with no torch.nn class is refused, naming it. */
TEST(test_jit_full__write_unknown_type)
{
    ckpt_error err = {0};
    ckpt_module *m = ckpt_module_new("Net", &err);
    CHECK(m);
    int rc = ckpt_jit_save_full_model(m, "/nonexistent-dir/x.pt", &err);
    CHECK_EQ_INT(rc, CKPT_E_UNSUPPORTED);
    CHECK(strstr(err.msg, "type Net"));
    ckpt_module_free(m);
}

TEST_MAIN()
