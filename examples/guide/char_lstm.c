/* examples/guide/char_lstm.c - a character-level LSTM language model trained
 * in C with autograd, saved as a training checkpoint torch can resume.
 *
 *   char_lstm TEXT DIR   trains on the ASCII file TEXT (the tests use
 *                        /usr/share/common-licenses/GPL-3 from Debian's
 *                        base-files) and writes DIR/out.pt:
 *                        {"epoch", "model", "optimizer", "losses", "eval_loss"}
 *
 * The torch class is CharLM in tests/guide/char_lstm_torch.py (Embedding ->
 * 2-layer LSTM, batch_first -> Linear); docs/TRAINING.md walks through it.
 * Build: cc char_lstm.c $(pkg-config --cflags --libs ckpt) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ckpt/ckpt.h>

enum { V = 128, E = 32, H = 64, B = 16, T = 32, STEPS = 200 };

static ckpt_var *lm_forward(ckpt_module *self, ckpt_var *idx, void *ctx, ckpt_error *err)
{
    (void)ctx;
    ckpt_var *y = ckpt_module_call_child(self, "embed", idx, err); /* (B, T, E) */
    if (y)
        y = ckpt_module_call_child(self, "lstm", y, err); /* (B, T, H) */
    if (y)
        y = ckpt_module_call_child(self, "out", y, err); /* (B, T, V) */
    return y ? ckpt_f_reshape(y, 2, (int64_t[]){-1, V}, err) : NULL;
}

static ckpt_module *build(ckpt_rng *rng, ckpt_error *err)
{
    ckpt_module *m = ckpt_module_new("CharLM", err);
    if (!m || !ckpt_nn_embedding(m, "embed", V, E, NULL, rng, err) ||
        !ckpt_nn_lstm(m, "lstm", E, H, &(ckpt_rnn_opts){.num_layers = 2, .batch_first = true},
                      rng, err) ||
        !ckpt_nn_linear(m, "out", H, V, NULL, rng, err) ||
        ckpt_module_set_forward(m, lm_forward, NULL, err) < 0) {
        ckpt_module_free(m);
        return NULL;
    }
    return m;
}

/* rows b of a batch read T+1 bytes at offs[b]: inputs text[o..o+T), targets shifted by one */
static void batch(const unsigned char *text, const size_t *offs, int64_t *x, int64_t *y)
{
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            x[b * T + t] = text[offs[b] + (size_t)t];
            y[b * T + t] = text[offs[b] + (size_t)t + 1];
        }
}

static ckpt_var *loss_of(ckpt_module *m, ckpt_tape *tape, const int64_t *x, const int64_t *y,
                         ckpt_error *err)
{
    ckpt_var *xi = ckpt_tape_index(tape, 2, (int64_t[]){B, T}, x, err);
    ckpt_var *yi = xi ? ckpt_tape_index(tape, 1, (int64_t[]){B * T}, y, err) : NULL;
    ckpt_var *logits = yi ? ckpt_module_call(m, xi, err) : NULL;
    return logits ? ckpt_f_cross_entropy(logits, yi, -100, 0.0, CKPT_REDUCE_MEAN, err) : NULL;
}

static unsigned char *read_text(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    if (f && fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        if (len > T + 1 && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)len)) &&
            fread(buf, 1, (size_t)len, f) == (size_t)len)
            *n = (size_t)len;
        else {
            free(buf);
            buf = NULL;
        }
    }
    if (f)
        fclose(f);
    for (size_t i = 0; buf && i < *n; i++)
        if (buf[i] >= V) {
            fprintf(stderr, "char_lstm: %s is not ASCII (byte %zu)\n", path, i);
            free(buf);
            return NULL;
        }
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: char_lstm TEXT DIR\n");
        return 2;
    }
    size_t n = 0;
    unsigned char *text = read_text(argv[1], &n);
    if (!text) {
        fprintf(stderr, "char_lstm: cannot read %s\n", argv[1]);
        return 1;
    }
    ckpt_error err = {0};
    ckpt_rng rng;
    ckpt_rng_seed(&rng, 0);
    ckpt_module *m = build(&rng, &err);
    ckpt_tape *tape = ckpt_tape_new(NULL, &err);
    ckpt_optim *opt = m ? ckpt_optim_new_for_module(CKPT_OPTIM_ADAM, m,
                                                    &(ckpt_optim_opts){.lr = 3e-3}, &err)
                        : NULL;
    static int64_t x[B * T], y[B * T];
    size_t offs[B];
    float losses[STEPS], eval_loss = 0;
    ckpt_doc *doc = NULL;
    int rc = 1;
    if (!tape || !opt)
        goto done;

    for (int i = 0; i < STEPS; i++) {
        for (int b = 0; b < B; b++)
            offs[b] = ((size_t)(i * B + b) * 7919) % (n - T - 1);
        batch(text, offs, x, y);
        ckpt_tape_reset(tape);
        ckpt_var *loss = loss_of(m, tape, x, y, &err);
        ckpt_optim_zero_grad(opt, true);
        if (!loss || ckpt_backward(loss, &err) < 0 || ckpt_optim_step(opt, &err) < 0)
            goto done;
        losses[i] = ckpt_var_item(loss);
        if (i % 50 == 0 || i == STEPS - 1)
            printf("char_lstm: step %3d loss %.4f\n", i, losses[i]);
    }

    /* the evaluation batch, in eval mode with grad mode off (torch.no_grad) */
    for (int b = 0; b < B; b++)
        offs[b] = (size_t)b * 4099 % (n - T - 1);
    batch(text, offs, x, y);
    ckpt_tape_reset(tape);
    ckpt_module_train(m, false);
    ckpt_tape_set_grad_enabled(tape, false);
    ckpt_var *ev = loss_of(m, tape, x, y, &err);
    if (!ev)
        goto done;
    eval_loss = ckpt_var_item(ev);
    printf("char_lstm: eval loss %.5f\n", eval_loss);

    /* torch.save({"epoch": ..., "model": ..., "optimizer": ..., "losses": ...,
     *             "eval_loss": ...}, DIR/out.pt): the pieces plus two extras */
    char path[4096];
    snprintf(path, sizeof path, "%s/out.pt", argv[2]);
    doc = ckpt_doc_new(NULL, &err);
    ckpt_obj *extras = doc ? ckpt_dict_new(doc, CKPT_DICT_PLAIN) : NULL;
    ckpt_train_state st = {.epoch = STEPS, .model = m, .optim = opt};
    if (!extras ||
        ckpt_dict_set_str(doc, extras, "losses",
                          ckpt_tensor_new_copy(doc, CKPT_F32, 1, (int64_t[]){STEPS}, losses,
                                               &err),
                          &err) < 0 ||
        ckpt_dict_set_str(doc, extras, "eval_loss", ckpt_float_new(doc, eval_loss), &err) < 0 ||
        ckpt_train_save(path, &st, extras, NULL, &err) < 0)
        goto done;
    printf("char_lstm: wrote %s\n", path);
    rc = 0;
done:
    if (rc) {
        char msg[512];
        fprintf(stderr, "char_lstm: %s\n", ckpt_error_format(&err, msg, sizeof msg));
    }
    ckpt_doc_free(doc);
    ckpt_optim_free(opt);
    ckpt_tape_free(tape);
    ckpt_module_free(m);
    free(text);
    return rc;
}
