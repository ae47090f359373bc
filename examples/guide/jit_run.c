/* examples/guide/jit_run.c - run a TorchScript model in C and take its weights out.
 *
 * usage: jit_run MODEL.pt N X.f32 Y.f32 STATE_DICT.pt
 * Reads the archive torch.jit.save wrote (nothing in it is executed by the host: its code is
 * interpreted over ckpt's operator library), lists its parameters and buffers, runs forward
 * on N images of 3x16x16 floats from X.f32, writes the logits to Y.f32, and saves what
 * module.state_dict() gives as a torch.save file. */
#include <stdio.h>
#include <stdlib.h>

#include <ckpt/ckpt.h>

static int fail(const char *what, const ckpt_error *err)
{
    fprintf(stderr, "jit_run: %s: %s (%s)\n", what, err->msg, ckpt_status_name(err->code));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: %s MODEL.pt N X.f32 Y.f32 STATE_DICT.pt\n", argv[0]);
        return 2;
    }
    int64_t n = atoll(argv[2]);
    size_t count = (size_t)n * 3 * 16 * 16;
    float *x = malloc(count * sizeof *x);
    FILE *f = fopen(argv[3], "rb");
    if (!x || !f || fread(x, sizeof *x, count, f) != count) {
        fprintf(stderr, "jit_run: cannot read %zu floats from %s\n", count, argv[3]);
        return 1;
    }
    fclose(f);

    ckpt_error err;
    ckpt_jit_model *m = ckpt_jit_load(argv[1], NULL, &err);
    if (!m)
        return fail("load", &err);
    printf("%s: %s, root class %s\n", argv[1], ckpt_jit_format_name(ckpt_jit_format(m)),
           ckpt_jit_root_class(m));
    for (size_t i = 0; i < ckpt_jit_tensor_count(m); i++) {
        ckpt_jit_tensor t;
        ckpt_jit_get_tensor(m, i, &t);
        printf("  %-28s %s %s\n", t.name, t.kind == CKPT_JIT_PARAM ? "parameter" : "buffer",
               ckpt_dtype_name(t.dtype));
    }

    /* forward(x): the argument is bound by its name in the TorchScript signature */
    ckpt_jit_value in = {.name = "x",
                         .kind = CKPT_JIT_V_TENSOR,
                         .dtype = CKPT_F32,
                         .ndim = 4,
                         .shape = {n, 3, 16, 16},
                         .data = x};
    const ckpt_jit_value *out;
    size_t n_out;
    if (ckpt_jit_run(m, "forward", &in, 1, &out, &n_out, &err) < 0)
        return fail("forward", &err);
    size_t ny = 1;
    for (int d = 0; d < out[0].ndim; d++)
        ny *= (size_t)out[0].shape[d];
    f = fopen(argv[4], "wb");
    if (!f || fwrite(out[0].data, sizeof(float), ny, f) != ny || fclose(f) != 0) {
        fprintf(stderr, "jit_run: cannot write %s\n", argv[4]);
        return 1;
    }
    printf("forward: %zu output(s), the first %lld x %lld\n", n_out, (long long)out[0].shape[0],
           (long long)out[0].shape[1]);

    /* module.state_dict(), saved as torch.save writes it */
    ckpt_doc *sd = ckpt_jit_state_dict(m, &err);
    if (!sd || ckpt_save(argv[5], ckpt_doc_root(sd), NULL, &err) < 0)
        return fail("state dict", &err);
    ckpt_doc_free(sd);
    ckpt_jit_free(m);
    free(x);
    return 0;
}
