/* tests/unit/nn/nn_oom_test.c - the OOM sweep of the module tree: a root made
 * with ckpt_module_new_alloc over an allocator that fails the N-th
 * allocation, for every N until a run succeeds.  One run builds a model with
 * every layer kind (Linear, Conv2d, BatchNorm, LayerNorm, Embedding, LSTM,
 * MultiheadAttention, TransformerEncoderLayer, a module with a C forward),
 * runs scratch forwards, a forward + backward on a tape over the same
 * allocator (twice, with ckpt_module_zero_grad and an optimizer step and
 * ckpt_optim_zero_grad between), state_dict, load_state_dict (strict with a
 * report, failing on a missing key; non-strict), module save and load.
 * Every failure must be CKPT_E_NOMEM, nothing may leak (the allocator's live
 * byte count returns to 0) and a run with err == NULL takes the same path. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "util/test.h"

typedef struct net_ctx {
    ckpt_var *idx; /* token ids for the embedding, set per step */
} net_ctx;

/* x + fc(relu(x)): a custom module with children */
static ckpt_var *block_fwd(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err)
{
    (void)ctx;
    ckpt_var *h = ckpt_f_relu(x, err);
    h = h ? ckpt_module_call_child(self, "fc", h, err) : NULL;
    return h ? ckpt_f_add(x, h, err) : NULL;
}

/* x (2,3,4,4) -> conv -> bn -> (2,8,8) -> ln -> mha -> enc -> lstm -> block
 * (+ emb(idx)) -> mean over time -> head (2,3) */
static ckpt_var *net_fwd(ckpt_module *self, ckpt_var *x, void *ctx, ckpt_error *err)
{
    net_ctx *c = ctx;
    static const char *const chain[] = {"conv", "bn"};
    static const char *const chain2[] = {"ln", "mha", "enc", "lstm", "block"};
    ckpt_var *h = x;
    for (size_t i = 0; h && i < 2; i++)
        h = ckpt_module_call_child(self, chain[i], h, err);
    const int64_t seq[3] = {2, 8, 8};
    h = h ? ckpt_f_reshape(h, 3, seq, err) : NULL;
    for (size_t i = 0; h && i < 5; i++)
        h = ckpt_module_call_child(self, chain2[i], h, err);
    ckpt_var *e = h ? ckpt_module_call_child(self, "emb", c->idx, err) : NULL;
    h = e ? ckpt_f_add(h, e, err) : NULL;
    const int dim1[1] = {1};
    h = h ? ckpt_f_mean(h, 1, dim1, false, err) : NULL;
    return h ? ckpt_module_call_child(self, "head", h, err) : NULL;
}

/* The other layer kinds, built (and saved, loaded) but not run: a ModuleDict
 * of GroupNorm, Dropout, pools, Flatten, ConvTranspose2d, GRU, a
 * TransformerEncoder stack with a final norm, a TransformerDecoderLayer. */
static bool more_layers(ckpt_module *m, ckpt_rng *r, ckpt_error *err)
{
    ckpt_module *d = ckpt_nn_module_dict(m, "more", err);
    ckpt_module *l = d ? ckpt_nn_module_list(d, "list", err) : NULL;
    ckpt_rnn_opts ro = {.num_layers = 2, .bidirectional = true};
    ckpt_transformer_opts to = {.dim_feedforward = 16, .final_norm = true};
    ckpt_pool_opts po = {.kernel = {2, 2}, .ceil_mode = true};
    ckpt_pool_opts mp = {.kernel = {2, 2}};
    return l && ckpt_nn_groupnorm(l, "0", 2, 4, NULL, err) && ckpt_nn_dropout(l, "1", 0.5, err) &&
           ckpt_nn_maxpool2d(l, "2", &mp, err) && ckpt_nn_avgpool2d(l, "3", &po, err) &&
           ckpt_nn_adaptive_avgpool2d(l, "4", 1, 1, err) && ckpt_nn_flatten(l, "5", 1, -1, err) &&
           ckpt_nn_conv_transpose2d(d, "convt", 4, 2, 2, 2, NULL, r, err) &&
           ckpt_nn_gru(d, "gru", 4, 4, &ro, r, err) &&
           ckpt_nn_transformer_encoder(d, "encoder", 8, 2, 2, &to, r, err) &&
           ckpt_nn_transformer_decoder_layer(d, "decoder", 8, 2, &to, r, err);
}

/* The model under a root made with `a`; NULL (err set) on failure. */
static ckpt_module *build(const ckpt_alloc *a, net_ctx *ctx, uint64_t seed, bool extra,
                          ckpt_error *err)
{
    ckpt_rng r;
    ckpt_rng_seed(&r, seed);
    ckpt_module *m = ckpt_module_new_alloc("Net", a, err);
    if (!m)
        return NULL;
    ckpt_conv_opts co = {.padding = {1, 1}};
    const int64_t d8[1] = {8};
    ckpt_rnn_opts ro = {.batch_first = true};
    ckpt_multihead_attention_opts mo = {.batch_first = true};
    ckpt_transformer_opts eo = {.dim_feedforward = 16, .no_dropout = true, .batch_first = true};
    ckpt_module *seq = NULL, *block = NULL;
    const int64_t ks[2] = {3, 3};
    bool ok = ckpt_nn_conv2d(m, "conv", 3, 4, 3, 3, &co, &r, err) &&
              ckpt_nn_batchnorm(m, "bn", 2, 4, NULL, err) &&
              ckpt_nn_layernorm(m, "ln", 1, d8, NULL, err) &&
              ckpt_nn_multihead_attention(m, "mha", 8, 2, &mo, &r, err) &&
              ckpt_nn_transformer_encoder_layer(m, "enc", 8, 2, &eo, &r, err) &&
              ckpt_nn_lstm(m, "lstm", 8, 8, &ro, &r, err) &&
              (block = ckpt_module_add(m, "block", "Block", err)) != NULL &&
              ckpt_nn_linear(block, "fc", 8, 8, NULL, &r, err) &&
              ckpt_module_set_forward(block, block_fwd, NULL, err) == 0 &&
              ckpt_nn_embedding(m, "emb", 10, 8, NULL, &r, err) &&
              ckpt_nn_linear(m, "head", 8, 3, NULL, &r, err) &&
              (seq = ckpt_nn_sequential(m, "seq", err)) != NULL &&
              ckpt_nn_conv2d(seq, "0", 3, 2, 3, 3, &co, &r, err) &&
              ckpt_nn_batchnorm(seq, "1", 2, 2, NULL, err) &&
              ckpt_nn_activation(seq, "2", CKPT_ACT_RELU, 0, err) &&
              ckpt_module_set_attr_ints(m, "kernel_size", 2, ks, err) == 0 &&
              ckpt_module_set_attr_str(m, "note", "oom sweep", err) == 0 &&
              ckpt_module_set_forward(m, net_fwd, ctx, err) == 0 && more_layers(m, &r, err);
    if (ok && extra)
        ok = ckpt_module_param(m, "extra", CKPT_F32, 1, d8, err) != NULL;
    if (!ok) {
        ckpt_module_free(m);
        return NULL;
    }
    return m;
}

/* The forward functions report failures through err; with err == NULL they
 * still fail, so a step's result is its return code. */
static int step(ckpt_module *m, net_ctx *ctx, ckpt_tape *t, ckpt_error *err)
{
    ckpt_tape_reset(t);
    float xs[2 * 3 * 4 * 4];
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        xs[i] = (float)((int)(i * 7 % 11) - 5) / 5.0f;
    const int64_t xshape[4] = {2, 3, 4, 4}, ishape[2] = {2, 8}, tshape[1] = {2};
    int64_t ids[16], tg[2] = {0, 2};
    for (int i = 0; i < 16; i++)
        ids[i] = i % 10;
    ckpt_var *x = ckpt_tape_tensor(t, 4, xshape, xs, err);
    ctx->idx = x ? ckpt_tape_index(t, 2, ishape, ids, err) : NULL;
    ckpt_var *target = ctx->idx ? ckpt_tape_index(t, 1, tshape, tg, err) : NULL;
    ckpt_var *y = target ? ckpt_module_call(m, x, err) : NULL;
    ckpt_var *loss = y ? ckpt_f_cross_entropy(y, target, -100, 0.0, CKPT_REDUCE_MEAN, err) : NULL;
    if (!loss)
        return CKPT_E_NOMEM;
    return ckpt_backward(loss, err);
}

/* scratch forwards (ckpt_nn_forward keeps im2col columns, batch statistics,
 * Sequential intermediates and attention buffers inside the modules) */
static int scratch_forwards(ckpt_module *m, const ckpt_alloc *a, ckpt_error *err)
{
    ckpt_nn_act in = {.alloc = a}, out = {.alloc = a}, s_in = {.alloc = a}, s_out = {.alloc = a};
    const int64_t xshape[4] = {2, 3, 4, 4}, sshape[3] = {2, 8, 8};
    int rc = ckpt_nn_act_resize(&in, 4, xshape, err);
    if (rc == 0) {
        for (size_t i = 0; i < ckpt_nn_act_numel(&in); i++)
            in.data[i] = (float)(i % 5) / 5.0f;
        rc = ckpt_nn_forward(ckpt_module_find(m, "seq"), &in, &out, NULL, err);
    }
    if (rc == 0)
        rc = ckpt_nn_act_resize(&s_in, 3, sshape, err);
    if (rc == 0) {
        for (size_t i = 0; i < ckpt_nn_act_numel(&s_in); i++)
            s_in.data[i] = (float)(i % 3) / 3.0f;
        rc = ckpt_nn_forward(ckpt_module_find(m, "enc"), &s_in, &s_out, NULL, err);
    }
    ckpt_nn_act_free(&in);
    ckpt_nn_act_free(&out);
    ckpt_nn_act_free(&s_in);
    ckpt_nn_act_free(&s_out);
    return rc;
}

static int expect(int rc, int want)
{
    return rc == want ? 0 : rc == 0 ? -99 : rc;
}

/* One life through `a`; 0 when every call succeeded, else the first
 * failure's code (which must be CKPT_E_NOMEM). */
static int life(const ckpt_alloc *a, const char *path, ckpt_error *err)
{
    net_ctx c1 = {0}, c2 = {0};
    ckpt_module *m = NULL, *m2 = NULL;
    ckpt_tape *t = NULL;
    ckpt_optim *o = NULL;
    ckpt_doc *doc = NULL;
    ckpt_state_dict_report rep, rep2;
    memset(&rep, 0, sizeof rep);
    memset(&rep2, 0, sizeof rep2);
    int rc = (m = build(a, &c1, 1, false, err)) ? 0 : CKPT_E_NOMEM;
    if (rc == 0)
        rc = scratch_forwards(m, a, err);
    if (rc == 0)
        rc = (t = ckpt_tape_new(a, err)) ? 0 : CKPT_E_NOMEM;
    if (rc == 0)
        rc = step(m, &c1, t, err);
    if (rc == 0) {
        ckpt_slot *w = ckpt_module_slot(m, "head.weight");
        rc = w && w->grad && w->alloc && w->alloc->ctx == a->ctx ? 0 : -98;
        ckpt_module_zero_grad(m, true);
        if (rc == 0 && w->grad)
            rc = -97;
    }
    if (rc == 0)
        rc = step(m, &c1, t, err);
    if (rc == 0) {
        ckpt_optim_opts oo;
        memset(&oo, 0, sizeof oo);
        oo.lr = 0.01;
        oo.alloc = a;
        o = ckpt_optim_new_for_module(CKPT_OPTIM_ADAMW, m, &oo, err);
        rc = o ? 0 : CKPT_E_NOMEM;
    }
    if (rc == 0)
        rc = ckpt_optim_step(o, err);
    if (rc == 0)
        ckpt_optim_zero_grad(o, true);
    if (rc == 0)
        rc = step(m, &c1, t, err); /* gradients again, freed with the module */
    if (rc == 0)
        rc = (doc = ckpt_doc_new(a, err)) ? 0 : CKPT_E_NOMEM;
    const ckpt_obj *sd = NULL;
    if (rc == 0)
        rc = (sd = ckpt_module_state_dict(m, doc, NULL, err)) ? 0 : CKPT_E_NOMEM;
    if (rc == 0)
        rc = (m2 = build(a, &c2, 2, true, err)) ? 0 : CKPT_E_NOMEM;
    if (rc == 0) { /* strict: "extra" is missing */
        rc = expect(ckpt_module_load_state_dict(m2, sd, NULL, &rep, err), CKPT_E_SHAPE);
        if (rc == 0 && (rep.missing_count != 1 || !rep.message))
            rc = -96;
        if (rc == 0)
            ckpt_error_clear(err); /* the expected CKPT_E_SHAPE */
    }
    if (rc == 0) {
        ckpt_load_state_dict_opts lo = {.non_strict = true};
        rc = ckpt_module_load_state_dict(m2, sd, &lo, &rep2, err);
    }
    if (rc == 0)
        rc = ckpt_module_save(m, path, err);
    if (rc == 0) {
        ckpt_load_state_dict_opts lo = {.non_strict = true};
        rc = ckpt_module_load(m2, path, &lo, NULL, err);
    }
    if (rc == 0)
        rc = step(m2, &c2, t, err);
    ckpt_optim_free(o);
    ckpt_doc_free(doc);
    ckpt_tape_free(t);
    ckpt_module_free(m2);
    ckpt_module_free(m);
    ckpt_state_dict_report_free(&rep); /* the report outlives its module */
    ckpt_state_dict_report_free(&rep2);
    return rc;
}

TEST(test_nn_oom__sweep)
{
    char path[128];
    snprintf(path, sizeof path, "/tmp/ckpt_nn_oom_%ld.pt", (long)getpid());
    /* a run that never fails counts the allocations */
    test_failing_alloc full;
    test_failing_alloc_init(&full, 0);
    CHECK_EQ_INT(life(&full.a, path, NULL), 0);
    CHECK_EQ_INT(full.live, 0);
    CHECK(full.count > 100);
    fprintf(stderr, "nn_oom: %ld allocations per run, each failed once\n", full.count);
    long k = 1;
    int ok = 0;
    for (; k <= full.count + 1 && !ok; k++) {
        test_failing_alloc fa, fb;
        test_failing_alloc_init(&fa, k);
        test_failing_alloc_init(&fb, k);
        ckpt_error err;
        ckpt_error_clear(&err);
        int ra = life(&fa.a, path, &err);
        int rb = life(&fb.a, path, NULL);
        CHECK_EQ_INT(ra, rb);
        if (ra != 0 && err.code != CKPT_E_NOMEM) {
            char b[600];
            fprintf(stderr, "k %ld: rc %d: %s\n", k, ra, ckpt_error_format(&err, b, sizeof b));
            CHECK_EQ_INT(err.code, CKPT_E_NOMEM);
        }
        if (ra != 0)
            CHECK_EQ_INT(ra, CKPT_E_NOMEM);
        if (fa.live != 0 || fb.live != 0)
            fprintf(stderr, "k %ld: live %lld / %lld bytes after the run\n", k, fa.live, fb.live);
        CHECK_EQ_INT(fa.live, 0);
        CHECK_EQ_INT(fb.live, 0);
        ok = ra == 0;
    }
    CHECK(ok);
    if (k <= full.count)
        fprintf(stderr, "run succeeded with allocation %ld of %ld failing\n", k - 1, full.count);
    CHECK(k > full.count); /* every allocation was failed once */
    unlink(path);
}

/* The libc form and the allocator form agree: same state_dict keys and
 * gradients land in buffers of the tree's allocator. */
TEST(test_nn_oom__alloc_is_the_trees)
{
    test_failing_alloc fa;
    test_failing_alloc_init(&fa, 0);
    net_ctx c = {0};
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_module *m = build(&fa.a, &c, 1, false, &err);
    CHECK(m != NULL);
    CHECK(ckpt_module_alloc(m) != NULL);
    CHECK(ckpt_module_alloc(ckpt_module_find(m, "block.fc")) != NULL);
    CHECK(fa.live > 0);
    long long built = fa.live;
    ckpt_tape *t = ckpt_tape_new(NULL, &err); /* a libc tape: gradients still the tree's */
    CHECK(t != NULL);
    CHECK_EQ_INT(step(m, &c, t, &err), 0);
    CHECK(fa.live > built);
    ckpt_module_zero_grad(m, true);
    CHECK_EQ_INT(fa.live, built);
    ckpt_tape_free(t);
    ckpt_module_free(m);
    CHECK_EQ_INT(fa.live, 0);
    ckpt_module *l = ckpt_module_new_alloc("Net", NULL, &err); /* NULL = libc */
    CHECK(l != NULL && ckpt_module_alloc(l) == NULL);
    ckpt_module_free(l);
}

TEST_MAIN()
