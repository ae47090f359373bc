/* tests/unit/graph/layers_test.c - the layers of real checkpoints on the
 * tape (LSTM, GRU, ...) against torch 1.13 (tests/fixtures/graph/layers.pt,
 * made by gen_layers.py): the module is built in C, loads torch's state_dict
 * strictly (names and shapes), lists the same keys in the same order, and
 * its outputs and every gradient (inputs and parameters) for the loss
 * sum_k <output_k, g_k> match torch's; plus finite differences of the
 * backward in C.
 *
 * Closeness: max |c - t| / max(max |t|, 1e-6) <= 1e-5 per tensor. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/autograd.h"
#include "ckpt/nn.h"
#include "ckpt/torch.h"
#include "graph/graph_internal.h"
#include "util/test.h"

#define FIXTURE "tests/fixtures/graph/layers.pt"
#define TOL 1e-5

static ckpt_doc *g_doc;

static const ckpt_obj *fixture_case(const char *name)
{
    if (!g_doc) {
        ckpt_error err = {0};
        g_doc = ckpt_load(FIXTURE, NULL, &err);
        if (!g_doc) {
            char b[512];
            fprintf(stderr, "cannot load %s: %s\n", FIXTURE,
                    ckpt_error_format(&err, b, sizeof b));
            return NULL;
        }
    }
    return ckpt_dict_get(ckpt_doc_root(g_doc), name);
}

static const float *tensor(const ckpt_obj *c, const char *key, ckpt_tensor_info *ti)
{
    const ckpt_obj *t = c ? ckpt_dict_get(c, key) : NULL;
    if (!t || ckpt_tensor_get_info(t, ti) != 0 || !ti->contiguous || ti->dtype != CKPT_F32)
        return NULL;
    return ckpt_tensor_data(t);
}

static int64_t opt(const ckpt_obj *c, size_t i)
{
    return ckpt_obj_int(ckpt_obj_item(ckpt_dict_get(c, "opts"), i));
}

static double rel_diff(const float *a, const float *b, int64_t n)
{
    double md = 0.0, mb = 0.0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > md || d != d)
            md = d != d ? HUGE_VAL : d;
        if (fabs((double)b[i]) > mb)
            mb = fabs((double)b[i]);
    }
    return md / (mb > 1e-6 ? mb : 1e-6);
}

static double g_worst; /* largest relative difference of the running case */

/* compare n floats with fixture tensor c[key]; 0 when close */
static int close_to(const char *cname, const char *key, const float *got, int64_t n,
                    const ckpt_obj *c)
{
    ckpt_tensor_info ti;
    const float *want = tensor(c, key, &ti);
    if (!want || !got || ti.numel != n) {
        fprintf(stderr, "%s: %s missing or of another size (%lld vs %lld)\n", cname, key,
                (long long)(want ? ti.numel : -1), (long long)n);
        return -1;
    }
    double r = rel_diff(got, want, n);
    if (r > g_worst)
        g_worst = r;
    if (!(r <= TOL)) {
        fprintf(stderr, "%s: %s relative difference %.3g > %.0e\n", cname, key, r, TOL);
        return -1;
    }
    return 0;
}

/* a leaf var holding fixture tensor c[key] (NULL when absent) */
static ckpt_var *leaf(ckpt_tape *t, const ckpt_obj *c, const char *key, bool grad)
{
    ckpt_tensor_info ti;
    const float *d = tensor(c, key, &ti);
    if (!d)
        return NULL;
    ckpt_var *v = ckpt_tape_tensor(t, ti.ndim, ti.shape, d, NULL);
    if (v && grad)
        ckpt_var_set_requires_grad(v, true, NULL);
    return v;
}

/* ---- test-local op: loss = sum_k <v_k, g_k> with constant g_k */

typedef struct dot_ctx {
    const float *g[4];
} dot_ctx;

static int dot_bw(ckpt__node *n, ckpt_error *err)
{
    const dot_ctx *c = n->ctx;
    for (size_t k = 0; k < n->nin; k++) {
        float *g = NULL;
        int rc = ckpt__grad(n->in[k], &g, err);
        if (rc < 0)
            return rc;
        if (!g)
            continue;
        for (int64_t i = 0; i < n->in[k]->numel; i++)
            g[i] += n->out->grad[0] * c->g[k][i];
    }
    return 0;
}

static ckpt_var *dot_loss(ckpt_var *const *v, const float *const *g, size_t n, ckpt_error *err)
{
    ckpt_var *y = ckpt__var_new(v[0]->tape, CKPT_F32, 0, NULL, err);
    if (!y)
        return NULL;
    double s = 0;
    for (size_t k = 0; k < n; k++)
        for (int64_t i = 0; i < v[k]->numel; i++)
            s += (double)v[k]->data[i] * (double)g[k][i];
    y->data[0] = (float)s;
    ckpt__node *node = NULL;
    if (ckpt__record(v[0]->tape, "dot", y, v, n, dot_bw, sizeof(dot_ctx), &node, err) < 0)
        return NULL;
    if (node)
        for (size_t k = 0; k < n; k++)
            ((dot_ctx *)node->ctx)->g[k] = g[k];
    return y;
}

/* ---- module state: strict load, key order, parameter grads */

typedef struct keys_acc {
    const ckpt_obj *want;
    size_t i;
    int bad;
} keys_acc;

static int key_cb(void *payload, const char *key, ckpt_module *owner, ckpt_slot *s)
{
    (void)owner;
    (void)s;
    keys_acc *a = payload;
    const ckpt_obj *w = ckpt_obj_item(a->want, a->i++);
    const char *ws = w ? ckpt_obj_str(w, NULL) : NULL;
    if (!ws || strcmp(ws, key) != 0) {
        fprintf(stderr, "state_dict key %zu: ours %s, torch's %s\n", a->i - 1, key,
                ws ? ws : "(none)");
        a->bad++;
    }
    return 0;
}

static int load_and_check_keys(ckpt_module *m, const ckpt_obj *c, const char *cname)
{
    ckpt_error err = {0};
    /* modules whose forward changes buffers start from the state before it */
    const ckpt_obj *sd = ckpt_dict_get(c, "sd_before");
    if (!sd)
        sd = ckpt_dict_get(c, "sd");
    if (ckpt_module_load_state_dict(m, sd, NULL, NULL, &err) != 0) {
        fprintf(stderr, "%s: strict load failed: %s\n", cname, err.msg);
        return -1;
    }
    keys_acc a = {.want = ckpt_dict_get(c, "keys")};
    if (ckpt_module_walk(m, CKPT_WALK_PARAMS | CKPT_WALK_BUFFERS | CKPT_WALK_PERSISTENT_ONLY,
                         key_cb, &a, &err) != 0)
        return -1;
    if (a.bad || a.i != ckpt_obj_len(a.want)) {
        fprintf(stderr, "%s: %zu keys of %zu differ\n", cname, (size_t)a.bad,
                ckpt_obj_len(a.want));
        return -1;
    }
    return 0;
}

static int check_param_grads(ckpt_module *m, const ckpt_obj *c, const char *cname)
{
    const ckpt_obj *gd = ckpt_dict_get(c, "grad");
    if (!gd)
        return -1;
    for (size_t i = 0; i < ckpt_obj_len(gd); i++) {
        const char *k = ckpt_obj_str(ckpt_dict_key(gd, i), NULL);
        ckpt_slot *s = ckpt_module_slot(m, k);
        if (!s || !s->grad) {
            fprintf(stderr, "%s: no gradient for %s\n", cname, k ? k : "?");
            return -1;
        }
        char key[128];
        snprintf(key, sizeof key, "%s", k);
        ckpt_tensor_info ti;
        if (ckpt_tensor_get_info(ckpt_dict_value(gd, i), &ti) != 0)
            return -1;
        double r = rel_diff(s->grad, ckpt_tensor_data(ckpt_dict_value(gd, i)), ti.numel);
        if (r > g_worst)
            g_worst = r;
        if (!(r <= TOL)) {
            fprintf(stderr, "%s: grad of %s relative difference %.3g\n", cname, key, r);
            return -1;
        }
    }
    return 0;
}

/* ------------------------------------------------------------ LSTM / GRU */

static ckpt_module *rnn_from_case(const ckpt_obj *c, bool lstm)
{
    ckpt_rnn_opts o = {.num_layers = opt(c, 2),
                       .no_bias = !opt(c, 3),
                       .batch_first = opt(c, 4) != 0,
                       .bidirectional = opt(c, 5) != 0,
                       .dropout = ckpt_obj_float(ckpt_dict_get(c, "dropout"))};
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 5);
    ckpt_error err = {0};
    ckpt_module *m = lstm ? ckpt_nn_lstm(NULL, NULL, opt(c, 0), opt(c, 1), &o, &rng, &err)
                          : ckpt_nn_gru(NULL, NULL, opt(c, 0), opt(c, 1), &o, &rng, &err);
    if (!m)
        fprintf(stderr, "constructor failed: %s\n", err.msg);
    return m;
}

static int run_rnn_case(const char *cname)
{
    const ckpt_obj *c = fixture_case(cname);
    if (!c)
        return -1;
    const char *kind = ckpt_obj_str(ckpt_dict_get(c, "kind"), NULL);
    bool lstm = kind && strcmp(kind, "LSTM") == 0;
    ckpt_module *m = rnn_from_case(c, lstm);
    int rc = -1;
    ckpt_error err = {0};
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    g_worst = 0;
    if (!m || !t || load_and_check_keys(m, c, cname) != 0)
        goto out;
    ckpt_module_train(m, false); /* torch's reference ran in eval mode */
    ckpt_var *x = leaf(t, c, "x", true);
    ckpt_var *h0 = leaf(t, c, "h0", true), *c0 = leaf(t, c, "c0", true);
    ckpt_var *hn = NULL, *cn = NULL;
    ckpt_var *y = lstm ? ckpt_nn_lstm_call(m, x, h0, c0, &hn, &cn, &err)
                       : ckpt_nn_gru_call(m, x, h0, &hn, &err);
    if (!y || !hn || (lstm && !cn)) {
        fprintf(stderr, "%s: call failed: %s\n", cname, err.msg);
        goto out;
    }
    ckpt_tensor_info ti;
    ckpt_var *outs[3] = {y, hn, cn};
    const float *gs[3] = {tensor(c, "g_out", &ti), tensor(c, "g_h_n", &ti),
                          lstm ? tensor(c, "g_c_n", &ti) : NULL};
    ckpt_var *loss = dot_loss(outs, gs, lstm ? 3 : 2, &err);
    if (!loss || ckpt_backward(loss, &err) != 0) {
        fprintf(stderr, "%s: backward failed: %s\n", cname, err.msg);
        goto out;
    }
    if (close_to(cname, "out", y->data, y->numel, c) ||
        close_to(cname, "h_n", hn->data, hn->numel, c) ||
        (lstm && close_to(cname, "c_n", cn->data, cn->numel, c)) ||
        close_to(cname, "d_x", ckpt_var_grad(x), x->numel, c) ||
        (h0 && close_to(cname, "d_h0", ckpt_var_grad(h0), h0->numel, c)) ||
        (c0 && close_to(cname, "d_c0", ckpt_var_grad(c0), c0->numel, c)) ||
        check_param_grads(m, c, cname))
        goto out;
    fprintf(stderr, "%s: max relative difference %.3g\n", cname, g_worst);
    rc = 0;
out:
    ckpt_tape_free(t);
    ckpt_module_free(m);
    return rc;
}

TEST(graph_layers__lstm_2l_bidir_h0)
{
    CHECK(run_rnn_case("lstm_2l_bidir_h0") == 0);
}
TEST(graph_layers__lstm_batch_first_no_h0)
{
    CHECK(run_rnn_case("lstm_bf_noh0") == 0);
}
TEST(graph_layers__lstm_2l_no_bias_batch_first)
{
    CHECK(run_rnn_case("lstm_2l_nobias_bf_h0") == 0);
}
TEST(graph_layers__lstm_unbatched_bidir)
{
    CHECK(run_rnn_case("lstm_unbatched_bidir") == 0);
}
TEST(graph_layers__lstm_dropout_eval_is_identity)
{
    CHECK(run_rnn_case("lstm_3l_dropout_eval") == 0);
}
TEST(graph_layers__gru_2l_bidir_h0)
{
    CHECK(run_rnn_case("gru_2l_bidir_h0") == 0);
}
TEST(graph_layers__gru_batch_first_no_h0)
{
    CHECK(run_rnn_case("gru_bf_noh0") == 0);
}
TEST(graph_layers__gru_2l_bidir_batch_first_no_bias)
{
    CHECK(run_rnn_case("gru_2l_bidir_bf_nobias") == 0);
}
TEST(graph_layers__gru_unbatched)
{
    CHECK(run_rnn_case("gru_unbatched") == 0);
}

/* ---- finite differences of the LSTM / GRU backward (2 layers,
 * bidirectional, batch_first, h0, dropout 0.3 in training with the tape's
 * generator re-seeded before every forward so the masks repeat) */

typedef struct fd_rnn {
    bool lstm;
    ckpt_module *m;
    ckpt_tape *t;
    int64_t xs[3], hs[3];
    float x[2 * 4 * 3], h0[4 * 2 * 3], c0[4 * 2 * 3];
    float gy[2 * 4 * 6], gh[4 * 2 * 3], gc[4 * 2 * 3];
    ckpt_var *vx, *vh, *vc;
} fd_rnn;

/* one forward (and backward when `grad`); returns the loss */
static double fd_eval(fd_rnn *f, bool grad)
{
    ckpt_error err = {0};
    ckpt_tape_reset(f->t);
    ckpt_rng_seed(ckpt_tape_rng(f->t), 99);
    f->vx = ckpt_tape_tensor(f->t, 3, f->xs, f->x, &err);
    f->vh = ckpt_tape_tensor(f->t, 3, f->hs, f->h0, &err);
    f->vc = ckpt_tape_tensor(f->t, 3, f->hs, f->c0, &err);
    if (grad) {
        ckpt_var_set_requires_grad(f->vx, true, &err);
        ckpt_var_set_requires_grad(f->vh, true, &err);
        ckpt_var_set_requires_grad(f->vc, true, &err);
    }
    bool prev = ckpt_tape_set_grad_enabled(f->t, grad);
    ckpt_var *hn = NULL, *cn = NULL;
    ckpt_var *y = f->lstm ? ckpt_nn_lstm_call(f->m, f->vx, f->vh, f->vc, &hn, &cn, &err)
                          : ckpt_nn_gru_call(f->m, f->vx, f->vh, &hn, &err);
    double s = (double)NAN;
    if (y && hn) {
        ckpt_var *outs[3] = {y, hn, cn};
        const float *gs[3] = {f->gy, f->gh, f->gc};
        ckpt_var *loss = dot_loss(outs, gs, f->lstm ? 3 : 2, &err);
        if (loss) {
            s = 0;
            for (int k = 0; k < (f->lstm ? 3 : 2); k++)
                for (int64_t i = 0; i < outs[k]->numel; i++)
                    s += (double)outs[k]->data[i] * (double)gs[k][i];
            if (grad && ckpt_backward(loss, &err) != 0)
                s = (double)NAN;
        }
    }
    ckpt_tape_set_grad_enabled(f->t, prev);
    if (s != s)
        fprintf(stderr, "fd forward failed: %s\n", err.msg);
    return s;
}

/* max |fd - analytic| / max |analytic| over n entries of p (perturbed in place) */
static double fd_check(fd_rnn *f, float *p, const float *an, size_t n)
{
    double md = 0, ma = 0;
    const float eps = 1e-2f;
    for (size_t i = 0; i < n; i++) {
        float keep = p[i];
        p[i] = keep + eps;
        double lp = fd_eval(f, false);
        p[i] = keep - eps;
        double lm = fd_eval(f, false);
        p[i] = keep;
        double fd = (lp - lm) / (2.0 * (double)eps);
        if (fabs(fd - (double)an[i]) > md)
            md = fabs(fd - (double)an[i]);
        if (fabs((double)an[i]) > ma)
            ma = fabs((double)an[i]);
    }
    return md / (ma > 1e-6 ? ma : 1e-6);
}

static int run_fd(bool lstm)
{
    fd_rnn f = {.lstm = lstm, .xs = {2, 4, 3}, .hs = {4, 2, 3}};
    ckpt_error err = {0};
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 11);
    ckpt_rnn_opts o = {.num_layers = 2,
                       .batch_first = true,
                       .bidirectional = true,
                       .dropout = 0.3};
    f.m = lstm ? ckpt_nn_lstm(NULL, NULL, 3, 3, &o, &rng, &err)
               : ckpt_nn_gru(NULL, NULL, 3, 3, &o, &rng, &err);
    f.t = ckpt_tape_new(NULL, &err);
    if (!f.m || !f.t)
        return -1;
    /* larger weights than the default init make the gates saturate less evenly */
    for (size_t i = 0; i < ckpt_module_slot_count(f.m); i++) {
        ckpt_slot *s = ckpt_module_slot_at(f.m, i);
        float *d = s->data;
        for (uint64_t j = 0; j < s->nbytes / 4; j++)
            d[j] = (float)(ckpt_rng_normal(&rng) * 0.6);
    }
    float *arrs[6] = {f.x, f.h0, f.c0, f.gy, f.gh, f.gc};
    size_t lens[6] = {24, 24, 24, 48, 24, 24};
    for (int k = 0; k < 6; k++)
        for (size_t i = 0; i < lens[k]; i++)
            arrs[k][i] = (float)ckpt_rng_normal(&rng);
    int rc = -1;
    double loss = fd_eval(&f, true);
    float gx[24], gh0[24], gc0[24];
    if (loss != loss || !ckpt_var_grad(f.vx) || !ckpt_var_grad(f.vh))
        goto out;
    memcpy(gx, ckpt_var_grad(f.vx), sizeof gx);
    memcpy(gh0, ckpt_var_grad(f.vh), sizeof gh0);
    if (lstm)
        memcpy(gc0, ckpt_var_grad(f.vc), sizeof gc0);
    /* dropout really acts in training: eval differs */
    ckpt_module_train(f.m, false);
    double eval_loss = fd_eval(&f, false);
    ckpt_module_train(f.m, true);
    if (!(fabs(eval_loss - loss) > 1e-3)) {
        fprintf(stderr, "dropout had no effect in training (%g vs %g)\n", loss, eval_loss);
        goto out;
    }
    double worst = fd_check(&f, f.x, gx, 24);
    double r = fd_check(&f, f.h0, gh0, 24);
    worst = r > worst ? r : worst;
    if (lstm) {
        r = fd_check(&f, f.c0, gc0, 24);
        worst = r > worst ? r : worst;
    }
    for (size_t i = 0; i < ckpt_module_slot_count(f.m); i++) {
        ckpt_slot *s = ckpt_module_slot_at(f.m, i);
        size_t n = (size_t)(s->nbytes / 4);
        float *an = malloc(n * sizeof(float));
        if (!an || !s->grad) {
            free(an);
            goto out;
        }
        memcpy(an, s->grad, n * sizeof(float));
        r = fd_check(&f, s->data, an, n);
        free(an);
        if (r > worst)
            worst = r;
    }
    fprintf(stderr, "%s finite differences: max relative difference %.3g\n",
            lstm ? "LSTM" : "GRU", worst);
    rc = worst <= 1e-2 ? 0 : -1;
out:
    ckpt_tape_free(f.t);
    ckpt_module_free(f.m);
    return rc;
}

TEST(graph_layers__lstm_finite_differences)
{
    CHECK(run_fd(true) == 0);
}
TEST(graph_layers__gru_finite_differences)
{
    CHECK(run_fd(false) == 0);
}

/* torch's init: every parameter U(-1/sqrt(H), 1/sqrt(H)); module(x) gives
 * the output alone, equal to the full call's */
TEST(graph_layers__rnn_init_and_module_call)
{
    ckpt_error err = {0};
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 3);
    ckpt_rnn_opts o = {.num_layers = 2, .bidirectional = true};
    ckpt_module *m = ckpt_nn_lstm(NULL, NULL, 6, 16, &o, &rng, &err);
    CHECK(m != NULL && ckpt_module_slot_count(m) == 16);
    CHECK(strcmp(ckpt_module_slot_at(m, 4)->name, "weight_ih_l0_reverse") == 0);
    CHECK(ckpt_module_slot_at(m, 8)->shape[1] == 32); /* weight_ih_l1: 2*H wide */
    double lo = 0, hi = 0, sum = 0;
    size_t n = 0;
    for (size_t i = 0; i < ckpt_module_slot_count(m); i++) {
        ckpt_slot *s = ckpt_module_slot_at(m, i);
        for (uint64_t j = 0; j < s->nbytes / 4; j++) {
            double v = (double)((float *)s->data)[j];
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
            sum += v;
            n++;
        }
    }
    CHECK(lo >= -0.25 && hi <= 0.25 && lo < -0.24 && hi > 0.24 && fabs(sum / (double)n) < 0.01);
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    ckpt_var *x = ckpt_tape_full(t, 3, (int64_t[]){3, 2, 6}, 0.5f, &err);
    ckpt_var *y1 = ckpt_module_call(m, x, &err);
    ckpt_var *y2 = ckpt_nn_lstm_call(m, x, NULL, NULL, NULL, NULL, &err);
    CHECK(y1 && y2 && y1->numel == 3 * 2 * 32 && y1->ndim == 3);
    CHECK(memcmp(y1->data, y2->data, (size_t)y1->numel * sizeof(float)) == 0);
    /* the wrong kind of module, wrong input width, h0 without c0 */
    CHECK(ckpt_nn_gru_call(m, x, NULL, NULL, &err) == NULL && err.code == CKPT_E_ARG);
    ckpt_var *bad = ckpt_tape_full(t, 3, (int64_t[]){3, 2, 5}, 0.5f, &err);
    ckpt_error_clear(&err);
    CHECK(ckpt_module_call(m, bad, &err) == NULL && err.code == CKPT_E_SHAPE);
    CHECK(strstr(err.msg, "weight_ih_l0") != NULL);
    ckpt_var *h0 = ckpt_tape_full(t, 3, (int64_t[]){4, 2, 16}, 0.0f, &err);
    ckpt_error_clear(&err);
    CHECK(ckpt_nn_lstm_call(m, x, h0, NULL, NULL, NULL, &err) == NULL && err.code == CKPT_E_ARG);
    ckpt_tape_free(t);
    ckpt_module_free(m);
}

/* ------------------------------------------------------------- attention */

/* a mask from the fixture: float32 or int64 (torch's bool) */
static ckpt_var *mask_leaf(ckpt_tape *t, const ckpt_obj *c, const char *key)
{
    const ckpt_obj *o = c ? ckpt_dict_get(c, key) : NULL;
    ckpt_tensor_info ti;
    if (!o || ckpt_tensor_get_info(o, &ti) != 0 || !ti.contiguous)
        return NULL;
    if (ti.dtype == CKPT_I64)
        return ckpt_tape_index(t, ti.ndim, ti.shape, ckpt_tensor_data(o), NULL);
    return ckpt_tape_tensor(t, ti.ndim, ti.shape, ckpt_tensor_data(o), NULL);
}

static ckpt_module *attn_from_case(const ckpt_obj *c, const char *kind)
{
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 7);
    ckpt_error err = {0};
    ckpt_module *m = NULL;
    if (strcmp(kind, "MultiheadAttention") == 0) {
        m = ckpt_nn_multihead_attention(
            NULL, NULL, opt(c, 0), opt(c, 1),
            &(ckpt_multihead_attention_opts){.no_bias = opt(c, 6) == 0,
                                             .batch_first = opt(c, 2) != 0},
            &rng, &err);
    } else {
        ckpt_transformer_opts o = {.dim_feedforward = opt(c, 2),
                                   .no_dropout = true,
                                   .activation = opt(c, 4) ? CKPT_ACT_GELU : CKPT_ACT_RELU,
                                   .batch_first = opt(c, 5) != 0,
                                   .norm_first = opt(c, 6) != 0,
                                   .final_norm = opt(c, 7) != 0};
        if (strcmp(kind, "TransformerEncoder") == 0)
            m = ckpt_nn_transformer_encoder(NULL, NULL, opt(c, 0), opt(c, 1), opt(c, 3), &o, &rng,
                                            &err);
        else if (strcmp(kind, "TransformerEncoderLayer") == 0)
            m = ckpt_nn_transformer_encoder_layer(
                NULL, NULL, opt(c, 0), opt(c, 1),
                &(ckpt_transformer_opts){.dim_feedforward = opt(c, 2),
                                         .no_dropout = true,
                                         .activation = o.activation,
                                         .batch_first = o.batch_first,
                                         .norm_first = o.norm_first},
                &rng, &err);
        else
            m = ckpt_nn_transformer_decoder_layer(NULL, NULL, opt(c, 0), opt(c, 1), &o, &rng,
                                                  &err);
    }
    if (!m)
        fprintf(stderr, "%s constructor failed: %s\n", kind, err.msg);
    return m;
}

static int run_attn_case(const char *cname)
{
    const ckpt_obj *c = fixture_case(cname);
    if (!c)
        return -1;
    const char *kind = ckpt_obj_str(ckpt_dict_get(c, "kind"), NULL);
    if (!kind)
        return -1;
    ckpt_module *m = attn_from_case(c, kind);
    int rc = -1;
    ckpt_error err = {0};
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    g_worst = 0;
    if (!m || !t || load_and_check_keys(m, c, cname) != 0)
        goto out;
    ckpt_module_train(m, false);
    const char *names[3] = {0};
    ckpt_var *in[3] = {0};
    ckpt_var *y = NULL;
    if (strcmp(kind, "MultiheadAttention") == 0) {
        names[0] = "q", names[1] = "k", names[2] = "v";
        for (int i = 0; i < 3; i++)
            in[i] = leaf(t, c, names[i], true);
        ckpt_attn_masks mk = {.attn_mask = mask_leaf(t, c, "attn_mask"),
                              .key_padding_mask = mask_leaf(t, c, "kpm"),
                              .is_causal = opt(c, 5) != 0};
        y = ckpt_nn_multihead_attention_call(m, in[0], in[1], in[2], &mk, &err);
    } else if (strcmp(kind, "TransformerDecoderLayer") == 0) {
        names[0] = "x", names[1] = "mem";
        in[0] = leaf(t, c, "x", true);
        in[1] = leaf(t, c, "mem", true);
        /* torch got an explicit triangular bool tgt_mask; we say is_causal */
        ckpt_attn_masks tm = {.key_padding_mask = mask_leaf(t, c, "tkpm"), .is_causal = true};
        ckpt_attn_masks mm = {.attn_mask = mask_leaf(t, c, "mem_mask"),
                              .key_padding_mask = mask_leaf(t, c, "mkpm")};
        y = ckpt_nn_transformer_decoder_layer_call(m, in[0], in[1], &tm, &mm, &err);
    } else {
        names[0] = "x";
        in[0] = leaf(t, c, "x", true);
        ckpt_attn_masks mk = {.attn_mask = mask_leaf(t, c, "attn_mask"),
                              .key_padding_mask = mask_leaf(t, c, "kpm"),
                              .is_causal = opt(c, 8) != 0};
        y = ckpt_nn_transformer_encoder_call(m, in[0], &mk, &err);
    }
    if (!y) {
        fprintf(stderr, "%s: call failed: %s\n", cname, err.msg);
        goto out;
    }
    ckpt_tensor_info ti;
    const float *g = tensor(c, "g_out", &ti);
    ckpt_var *loss = g ? dot_loss(&y, &g, 1, &err) : NULL;
    if (!loss || ckpt_backward(loss, &err) != 0) {
        fprintf(stderr, "%s: backward failed: %s\n", cname, err.msg);
        goto out;
    }
    if (close_to(cname, "out", y->data, y->numel, c))
        goto out;
    for (int i = 0; i < 3; i++) {
        char dk[16];
        if (!in[i])
            continue;
        snprintf(dk, sizeof dk, "d_%s", names[i]);
        if (close_to(cname, dk, ckpt_var_grad(in[i]), in[i]->numel, c))
            goto out;
    }
    if (check_param_grads(m, c, cname))
        goto out;
    fprintf(stderr, "%s: max relative difference %.3g\n", cname, g_worst);
    rc = 0;
out:
    ckpt_tape_free(t);
    ckpt_module_free(m);
    return rc;
}

TEST(graph_layers__mha_self_float_mask_bool_key_padding)
{
    CHECK(run_attn_case("mha_self_float2d_kpm_bool") == 0);
}
TEST(graph_layers__mha_cross_bool_3d_mask_batch_first)
{
    CHECK(run_attn_case("mha_cross_bool3d_bf") == 0);
}
TEST(graph_layers__mha_is_causal_equals_triangular_mask)
{
    CHECK(run_attn_case("mha_self_causal") == 0);
}
TEST(graph_layers__mha_cross_float_3d_mask)
{
    CHECK(run_attn_case("mha_cross_float3d") == 0);
}
TEST(graph_layers__mha_cross_float_key_padding)
{
    CHECK(run_attn_case("mha_cross_kpm_float") == 0);
}
TEST(graph_layers__mha_unbatched_no_bias)
{
    CHECK(run_attn_case("mha_unbatched_nobias") == 0);
}
TEST(graph_layers__encoder_stack_gelu_final_norm_causal)
{
    CHECK(run_attn_case("enc_stack_gelu_bf_norm_causal") == 0);
}
TEST(graph_layers__encoder_stack_prenorm_float_mask)
{
    CHECK(run_attn_case("enc_stack_relu_prenorm_float_mask") == 0);
}
TEST(graph_layers__encoder_layer_key_padding)
{
    CHECK(run_attn_case("enc_layer_relu_kpm") == 0);
}
TEST(graph_layers__decoder_layer_postnorm_all_masks)
{
    CHECK(run_attn_case("dec_layer_relu_postnorm") == 0);
}
TEST(graph_layers__decoder_layer_prenorm_gelu_batch_first)
{
    CHECK(run_attn_case("dec_layer_gelu_prenorm_bf") == 0);
}

/* ------------------------------- Embedding, BatchNorm, LayerNorm (module side) */

static int run_small_case(const char *cname)
{
    const ckpt_obj *c = fixture_case(cname);
    if (!c)
        return -1;
    const char *kind = ckpt_obj_str(ckpt_dict_get(c, "kind"), NULL);
    if (!kind)
        return -1;
    ckpt_error err = {0};
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 1);
    ckpt_module *m = NULL;
    bool training = false;
    if (strcmp(kind, "Embedding") == 0) {
        ckpt_embedding_opts eo = {.has_padding_idx = opt(c, 2) >= 0, .padding_idx = opt(c, 2)};
        m = ckpt_nn_embedding(NULL, NULL, opt(c, 0), opt(c, 1), &eo, &rng, &err);
    } else if (strcmp(kind, "BatchNorm") == 0) {
        double mom = opt(c, 4) < 0 ? CKPT_NN_MOMENTUM_NONE
                                   : ckpt_obj_float(ckpt_dict_get(c, "momentum"));
        if (mom == 0.0)
            mom = CKPT_NN_ZERO;
        ckpt_norm_opts no = {.momentum = mom,
                             .no_affine = opt(c, 2) == 0,
                             .no_running_stats = opt(c, 3) == 0};
        m = ckpt_nn_batchnorm(NULL, NULL, (int)opt(c, 0), opt(c, 1), &no, &err);
        training = opt(c, 5) != 0;
    } else {
        int nd = (int)opt(c, 0);
        int64_t ns[4] = {0};
        for (int i = 0; i < nd && i < 4; i++)
            ns[i] = opt(c, (size_t)(1 + i));
        m = ckpt_nn_layernorm(NULL, NULL, nd, ns,
                              &(ckpt_norm_opts){.no_affine = opt(c, (size_t)(1 + nd)) == 0},
                              &err);
    }
    int rc = -1;
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    g_worst = 0;
    if (!m || !t || load_and_check_keys(m, c, cname) != 0)
        goto out;
    ckpt_module_train(m, training);
    ckpt_var *x = leaf(t, c, "x", true);
    if (!x) {
        const ckpt_obj *io = ckpt_dict_get(c, "idx");
        ckpt_tensor_info ti;
        if (!io || ckpt_tensor_get_info(io, &ti) != 0)
            goto out;
        x = ckpt_tape_index(t, ti.ndim, ti.shape, ckpt_tensor_data(io), &err);
    }
    ckpt_var *y = ckpt_module_call(m, x, &err);
    if (!y) {
        fprintf(stderr, "%s: call failed: %s\n", cname, err.msg);
        goto out;
    }
    ckpt_tensor_info ti;
    const float *g = tensor(c, "g_out", &ti);
    ckpt_var *loss = g ? dot_loss(&y, &g, 1, &err) : NULL;
    if (!loss || ckpt_backward(loss, &err) != 0) {
        fprintf(stderr, "%s: backward failed: %s\n", cname, err.msg);
        goto out;
    }
    if (close_to(cname, "out", y->data, y->numel, c) ||
        (x->dtype == CKPT_F32 && close_to(cname, "d_x", ckpt_var_grad(x), x->numel, c)) ||
        check_param_grads(m, c, cname))
        goto out;
    /* buffers after the forward (running statistics) equal torch's */
    const ckpt_obj *sd = ckpt_dict_get(c, "sd");
    for (size_t i = 0; i < ckpt_obj_len(sd); i++) {
        const char *k = ckpt_obj_str(ckpt_dict_key(sd, i), NULL);
        ckpt_slot *s = ckpt_module_slot(m, k);
        if (!s || s->is_param)
            continue;
        if (s->dtype == CKPT_I64) {
            int64_t want = *(const int64_t *)ckpt_tensor_data(ckpt_dict_value(sd, i));
            if (*(int64_t *)s->data != want) {
                fprintf(stderr, "%s: %s is %lld, torch %lld\n", cname, k,
                        (long long)*(int64_t *)s->data, (long long)want);
                goto out;
            }
            continue;
        }
        ckpt_tensor_get_info(ckpt_dict_value(sd, i), &ti);
        double r = rel_diff(s->data, ckpt_tensor_data(ckpt_dict_value(sd, i)), ti.numel);
        if (!(r <= TOL)) {
            fprintf(stderr, "%s: buffer %s relative difference %.3g\n", cname, k, r);
            goto out;
        }
        if (r > g_worst)
            g_worst = r;
    }
    fprintf(stderr, "%s: max relative difference %.3g\n", cname, g_worst);
    rc = 0;
out:
    ckpt_tape_free(t);
    ckpt_module_free(m);
    return rc;
}

TEST(graph_layers__embedding_padding_idx_gets_no_grad)
{
    CHECK(run_small_case("emb_padding_idx") == 0);
}
TEST(graph_layers__batchnorm1d_no_running_stats_train)
{
    CHECK(run_small_case("bn1d_notrack_train") == 0);
}
TEST(graph_layers__batchnorm2d_no_running_stats_eval_uses_batch)
{
    CHECK(run_small_case("bn2d_notrack_eval") == 0);
}
TEST(graph_layers__batchnorm1d_no_affine_tracks_2d_input)
{
    CHECK(run_small_case("bn1d_noaffine_track_train_2d") == 0);
}
TEST(graph_layers__batchnorm2d_momentum_none)
{
    CHECK(run_small_case("bn2d_momentum_none_train") == 0);
}
TEST(graph_layers__batchnorm2d_eval_running_stats)
{
    CHECK(run_small_case("bn2d_track_eval") == 0);
}
TEST(graph_layers__layernorm_no_affine_two_dims)
{
    CHECK(run_small_case("ln_no_affine_2dims") == 0);
}
TEST(graph_layers__layernorm_affine)
{
    CHECK(run_small_case("ln_affine") == 0);
}

/* ---- finite differences through the composed transformer layers in
 * training mode (dropout 0.1 on attention weights and activations, the
 * tape's generator re-seeded before every forward so the masks repeat),
 * with a causal self-attention, bool key padding and a float memory mask */

typedef struct fd_tf {
    ckpt_module *m;
    bool decoder;
    ckpt_tape *t;
    float x[4 * 2 * 8], mem[3 * 2 * 8], g[4 * 2 * 8];
    ckpt_var *vx, *vm;
} fd_tf;

static double tf_eval(fd_tf *f, bool grad)
{
    ckpt_error err = {0};
    ckpt_tape_reset(f->t);
    ckpt_rng_seed(ckpt_tape_rng(f->t), 5);
    f->vx = ckpt_tape_tensor(f->t, 3, (int64_t[]){4, 2, 8}, f->x, &err);
    f->vm = ckpt_tape_tensor(f->t, 3, (int64_t[]){3, 2, 8}, f->mem, &err);
    if (grad) {
        ckpt_var_set_requires_grad(f->vx, true, &err);
        ckpt_var_set_requires_grad(f->vm, true, &err);
    }
    bool prev = ckpt_tape_set_grad_enabled(f->t, grad);
    int64_t kp[8] = {0, 0, 1, 0, 0, 1, 0, 0};
    float mm[4 * 3];
    for (int i = 0; i < 12; i++)
        mm[i] = (float)((i * 7) % 5) * 0.3f - 0.6f;
    ckpt_attn_masks tm = {.key_padding_mask = ckpt_tape_index(f->t, 2, (int64_t[]){2, 4}, kp,
                                                              &err),
                          .is_causal = true};
    ckpt_attn_masks mmk = {.attn_mask = ckpt_tape_tensor(f->t, 2, (int64_t[]){4, 3}, mm, &err)};
    ckpt_var *y = f->decoder ? ckpt_nn_transformer_decoder_layer_call(f->m, f->vx, f->vm, &tm,
                                                                      &mmk, &err)
                             : ckpt_nn_transformer_encoder_call(f->m, f->vx, &tm, &err);
    double s = (double)NAN;
    if (y) {
        const float *g = f->g;
        ckpt_var *loss = dot_loss(&y, &g, 1, &err);
        s = 0;
        for (int64_t i = 0; i < y->numel; i++)
            s += (double)y->data[i] * (double)f->g[i];
        if (!loss || (grad && ckpt_backward(loss, &err) != 0))
            s = (double)NAN;
    }
    ckpt_tape_set_grad_enabled(f->t, prev);
    if (s != s)
        fprintf(stderr, "transformer forward failed: %s\n", err.msg);
    return s;
}

static double tf_check(fd_tf *f, float *p, const float *an, size_t n)
{
    double md = 0, ma = 0;
    const float eps = 1e-2f;
    for (size_t i = 0; i < n; i++) {
        float keep = p[i];
        p[i] = keep + eps;
        double lp = tf_eval(f, false);
        p[i] = keep - eps;
        double lm = tf_eval(f, false);
        p[i] = keep;
        double fd = (lp - lm) / (2.0 * (double)eps);
        if (fabs(fd - (double)an[i]) > md)
            md = fabs(fd - (double)an[i]);
        if (fabs((double)an[i]) > ma)
            ma = fabs((double)an[i]);
    }
    return md / (ma > 1e-6 ? ma : 1e-6);
}

static int run_tf_fd(bool decoder)
{
    fd_tf f = {.decoder = decoder};
    ckpt_error err = {0};
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 21);
    ckpt_transformer_opts o = {.dim_feedforward = 12,
                               .dropout = 0.1,
                               .activation = CKPT_ACT_GELU,
                               .norm_first = decoder,
                               .final_norm = true};
    f.m = decoder ? ckpt_nn_transformer_decoder_layer(NULL, NULL, 8, 2, &o, &rng, &err)
                  : ckpt_nn_transformer_encoder(NULL, NULL, 8, 2, 2, &o, &rng, &err);
    f.t = ckpt_tape_new(NULL, &err);
    if (!f.m || !f.t)
        return -1;
    for (size_t i = 0; i < sizeof f.x / sizeof f.x[0]; i++) {
        f.x[i] = (float)ckpt_rng_normal(&rng);
        f.g[i] = (float)ckpt_rng_normal(&rng);
    }
    for (size_t i = 0; i < sizeof f.mem / sizeof f.mem[0]; i++)
        f.mem[i] = (float)ckpt_rng_normal(&rng);
    typedef struct pref {
        ckpt_slot *s;
        float *an;
    } pref;
    int rc = -1;
    double loss = tf_eval(&f, true);
    float gx[64], gm[48];
    if (loss != loss || !ckpt_var_grad(f.vx))
        goto out;
    memcpy(gx, ckpt_var_grad(f.vx), sizeof gx);
    if (decoder)
        memcpy(gm, ckpt_var_grad(f.vm), sizeof gm);
    ckpt_module_train(f.m, false);
    double eval_loss = tf_eval(&f, false);
    ckpt_module_train(f.m, true);
    if (!(fabs(eval_loss - loss) > 1e-4) || !(fabs(tf_eval(&f, false) - loss) < 1e-6)) {
        fprintf(stderr, "dropout not applied in training, or not repeatable\n");
        goto out;
    }
    double worst = tf_check(&f, f.x, gx, 64);
    if (decoder) {
        double r = tf_check(&f, f.mem, gm, 48);
        worst = r > worst ? r : worst;
    }
    /* every parameter of the tree */
    size_t np = 0;
    pref ps[64];
    ckpt_module *stack[64];
    size_t top = 0;
    stack[top++] = f.m;
    while (top) {
        ckpt_module *mm = stack[--top];
        for (size_t i = 0; i < ckpt_module_slot_count(mm) && np < 64; i++) {
            ckpt_slot *s = ckpt_module_slot_at(mm, i);
            if (s->is_param && s->data)
                ps[np++] = (pref){s, NULL};
        }
        for (size_t i = 0; i < ckpt_module_child_count(mm) && top < 64; i++)
            stack[top++] = ckpt_module_child(mm, i);
    }
    for (size_t k = 0; k < np; k++) {
        ckpt_slot *s = ps[k].s;
        size_t n = (size_t)(s->nbytes / 4);
        if (!s->grad) {
            fprintf(stderr, "parameter %s got no gradient\n", s->name);
            goto out;
        }
        float *an = malloc(n * sizeof(float));
        if (!an)
            goto out;
        memcpy(an, s->grad, n * sizeof(float));
        double r = tf_check(&f, s->data, an, n);
        free(an);
        if (r > worst)
            worst = r;
    }
    fprintf(stderr, "%s finite differences over %zu parameters: max relative difference %.3g\n",
            decoder ? "TransformerDecoderLayer" : "TransformerEncoder", np, worst);
    rc = worst <= 1e-2 ? 0 : -1;
out:
    ckpt_tape_free(f.t);
    ckpt_module_free(f.m);
    return rc;
}

TEST(graph_layers__encoder_stack_training_finite_differences)
{
    CHECK(run_tf_fd(false) == 0);
}
TEST(graph_layers__decoder_layer_training_finite_differences)
{
    CHECK(run_tf_fd(true) == 0);
}

/* ---- an LSTM language model (Embedding with padding_idx, 2-layer LSTM,
 * Linear, cross-entropy) trained 15 plain SGD steps from torch's initial
 * state on torch's batches: every loss and every final parameter equal to
 * torch's run */

typedef struct lm_net {
    int64_t V, T;
} lm_net;

static ckpt_var *lm_forward(ckpt_module *self, ckpt_var *idx, void *ctx, ckpt_error *err)
{
    const lm_net *n = ctx;
    ckpt_var *h = ckpt_module_call_child(self, "emb", idx, err);
    h = h ? ckpt_nn_lstm_call(ckpt_module_find(self, "rnn"), h, NULL, NULL, NULL, NULL, err)
          : NULL;
    h = h ? ckpt_module_call_child(self, "fc", h, err) : NULL;
    return h ? ckpt_f_reshape(h, 2, (int64_t[]){-1, n->V}, err) : NULL;
}

TEST(graph_layers__lstm_language_model_trains_like_torch)
{
    const ckpt_obj *c = fixture_case("lstm_lm_sgd");
    CHECK(c != NULL);
    const int64_t V = opt(c, 0), E = opt(c, 1), H = opt(c, 2), B = opt(c, 3), T = opt(c, 4),
                  steps = opt(c, 5);
    const float lr = (float)ckpt_obj_float(ckpt_dict_get(c, "lr"));
    ckpt_error err = {0};
    ckpt_module *net = ckpt_module_new("LM", &err);
    ckpt_rnn_opts ro = {.num_layers = 2, .batch_first = true};
    CHECK(net &&
          ckpt_nn_embedding(net, "emb", V, E,
                            &(ckpt_embedding_opts){.has_padding_idx = true, .padding_idx = 0},
                            NULL, &err) &&
          ckpt_nn_lstm(net, "rnn", E, H, &ro, NULL, &err) &&
          ckpt_nn_linear(net, "fc", H, V, NULL, NULL, &err));
    lm_net ctx = {V, T};
    CHECK(ckpt_module_set_forward(net, lm_forward, &ctx, &err) == 0);
    CHECK(load_and_check_keys(net, c, "lstm_lm_sgd") == 0);
    const ckpt_obj *tok = ckpt_dict_get(c, "tokens");
    ckpt_tensor_info ti;
    CHECK(tok && ckpt_tensor_get_info(tok, &ti) == 0 && ti.dtype == CKPT_I64);
    const int64_t *all = ckpt_tensor_data(tok);
    const float *losses = tensor(c, "losses", &ti);
    CHECK(losses != NULL);
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    int64_t x[64], y[64];
    CHECK(B * T <= 64);
    double worst_loss = 0;
    for (int64_t st = 0; st < steps; st++) {
        for (int64_t b = 0; b < B; b++)
            for (int64_t i = 0; i < T; i++) {
                x[b * T + i] = all[(st * B + b) * (T + 1) + i];
                y[b * T + i] = all[(st * B + b) * (T + 1) + i + 1];
            }
        ckpt_tape_reset(t);
        ckpt_var *xv = ckpt_tape_index(t, 2, (int64_t[]){B, T}, x, &err);
        ckpt_var *yv = ckpt_tape_index(t, 1, (int64_t[]){B * T}, y, &err);
        ckpt_var *logits = ckpt_module_call(net, xv, &err);
        ckpt_var *loss = logits
                             ? ckpt_f_cross_entropy(logits, yv, -100, 0.0, CKPT_REDUCE_MEAN, &err)
                             : NULL;
        if (!loss)
            fprintf(stderr, "step %lld: %s\n", (long long)st, err.msg);
        CHECK(loss != NULL);
        double d = fabs((double)ckpt_var_item(loss) - (double)losses[st]) /
                   fabs((double)losses[st]);
        worst_loss = d > worst_loss ? d : worst_loss;
        ckpt_module_zero_grad(net, true);
        CHECK(ckpt_backward(loss, &err) == 0);
        static const char *const names[] = {"emb.weight",       "rnn.weight_ih_l0",
                                            "rnn.weight_hh_l0", "rnn.bias_ih_l0",
                                            "rnn.bias_hh_l0",   "rnn.weight_ih_l1",
                                            "rnn.weight_hh_l1", "rnn.bias_ih_l1",
                                            "rnn.bias_hh_l1",   "fc.weight",
                                            "fc.bias"};
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
            ckpt_slot *s = ckpt_module_slot(net, names[k]);
            CHECK(s && s->grad);
            float *p = s->data;
            for (uint64_t i = 0; i < s->nbytes / 4; i++)
                p[i] -= lr * s->grad[i];
        }
    }
    /* final parameters */
    const ckpt_obj *fin = ckpt_dict_get(c, "sd_final");
    double worst = 0;
    for (size_t i = 0; i < ckpt_obj_len(fin); i++) {
        const char *k = ckpt_obj_str(ckpt_dict_key(fin, i), NULL);
        ckpt_slot *s = ckpt_module_slot(net, k);
        CHECK(s && ckpt_tensor_get_info(ckpt_dict_value(fin, i), &ti) == 0);
        double r = rel_diff(s->data, ckpt_tensor_data(ckpt_dict_value(fin, i)), ti.numel);
        worst = r > worst ? r : worst;
    }
    fprintf(stderr, "LSTM LM, %lld SGD steps: losses within %.3g, parameters within %.3g\n",
            (long long)steps, worst_loss, worst);
    CHECK(worst_loss <= 1e-5 && worst <= 1e-5);
    ckpt_tape_free(t);
    ckpt_module_free(net);
}

/* module(x) of MultiheadAttention and TransformerEncoderLayer on the tape
 * equals the explicit-kernel path ckpt_nn_forward (eval mode) */
TEST(graph_layers__attention_tape_equals_explicit_path)
{
    ckpt_error err = {0};
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 4);
    ckpt_module *mha = ckpt_nn_multihead_attention(NULL, NULL, 8, 2, NULL, &rng, &err);
    ckpt_module *enc =
        ckpt_nn_transformer_encoder_layer(NULL, NULL, 8, 2,
                                          &(ckpt_transformer_opts){.dim_feedforward = 16,
                                                                   .activation = CKPT_ACT_GELU,
                                                                   .batch_first = true,
                                                                   .norm_first = true},
                                          &rng, &err);
    CHECK(mha && enc);
    float *ob = ckpt_module_slot(mha, "out_proj.bias")->data;
    for (int i = 0; i < 8; i++)
        ob[i] = 0.1f * (float)i;
    ckpt_module_train(mha, false);
    ckpt_module_train(enc, false);
    float xs[5 * 3 * 8];
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++)
        xs[i] = (float)ckpt_rng_normal(&rng);
    ckpt_tape *t = ckpt_tape_new(NULL, &err);
    ckpt_module *mods[2] = {mha, enc};
    for (int k = 0; k < 2; k++) {
        ckpt_nn_act in = {0}, out = {0};
        int64_t shape[3] = {5, 3, 8};
        CHECK(ckpt_nn_act_resize(&in, 3, shape, &err) == 0);
        memcpy(in.data, xs, sizeof xs);
        CHECK(ckpt_nn_forward(mods[k], &in, &out, NULL, &err) == 0);
        ckpt_var *x = ckpt_tape_tensor(t, 3, shape, xs, &err);
        ckpt_var *y = ckpt_module_call(mods[k], x, &err);
        CHECK(y && y->numel == (int64_t)ckpt_nn_act_numel(&out));
        double r = rel_diff(y->data, out.data, y->numel);
        fprintf(stderr, "%s: tape vs explicit path %.3g\n", ckpt_module_type(mods[k]), r);
        CHECK(r <= TOL);
        /* grad mode off: self-attention takes the no-gradient path (packed
         * projection, strided heads); batch-first, sequence-first, unbatched */
        ckpt_tape_set_grad_enabled(t, false);
        ckpt_var *y0 = ckpt_module_call(mods[k], ckpt_tape_tensor(t, 3, shape, xs, &err), &err);
        CHECK(y0 && !ckpt_var_requires_grad(y0));
        r = rel_diff(y0->data, out.data, y0->numel);
        fprintf(stderr, "%s: grad-off tape vs explicit path %.3g\n", ckpt_module_type(mods[k]),
                r);
        CHECK(r <= TOL);
        ckpt_var *u = ckpt_tape_tensor(t, 2, (int64_t[]){5, 8}, xs, &err);
        ckpt_var *u0 = ckpt_module_call(mods[k], u, &err);
        ckpt_tape_set_grad_enabled(t, true);
        ckpt_var *u1 = ckpt_module_call(mods[k], u, &err);
        CHECK(u0 && u1 && u0->numel == 40 && u1->numel == 40);
        r = rel_diff(u0->data, u1->data, 40);
        fprintf(stderr, "%s: unbatched, grad off vs on %.3g\n", ckpt_module_type(mods[k]), r);
        CHECK(r <= TOL);
        ckpt_nn_act_free(&in);
        ckpt_nn_act_free(&out);
    }
    /* sequence-first (L, B, E) through the grad-off path equals the recorded path */
    ckpt_module *sf = ckpt_nn_multihead_attention(NULL, NULL, 8, 2, NULL, &rng, &err);
    CHECK(sf != NULL);
    ckpt_module_train(sf, false);
    ckpt_var *xv = ckpt_tape_tensor(t, 3, (int64_t[]){5, 3, 8}, xs, &err);
    ckpt_var *g1 = ckpt_module_call(sf, xv, &err);
    ckpt_tape_set_grad_enabled(t, false);
    ckpt_var *g0 = ckpt_module_call(sf, xv, &err);
    ckpt_tape_set_grad_enabled(t, true);
    CHECK(g0 && g1 && g1->creator != NULL && g0->creator == NULL);
    CHECK(rel_diff(g0->data, g1->data, g0->numel) <= TOL);
    ckpt_module_free(sf);
    ckpt_tape_free(t);
    ckpt_module_free(mha);
    ckpt_module_free(enc);
}

TEST_MAIN()
