/* examples/guide/onnx_infer.c - run an ONNX model (here: one torch.onnx.export
 * wrote) from C: read it once, open a session, run it on a batch read from a
 * raw float32 file, write the first output.
 *
 *   onnx_infer MODEL.onnx BATCH INPUT.f32 OUTPUT.f32
 */
#include <ckpt/ckpt.h>
#include <stdio.h>
#include <stdlib.h>

static int die(const ckpt_error *err)
{
    char buf[1024];
    fprintf(stderr, "onnx_infer: %s\n", ckpt_error_format(err, buf, sizeof buf));
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: onnx_infer MODEL.onnx BATCH INPUT.f32 OUTPUT.f32\n");
        return 2;
    }
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_onnx_model *model = ckpt_onnx_load(argv[1], NULL, &err);
    if (!model)
        return die(&err);
    ckpt_onnx_session_opts opts = {.threads = 1};
    ckpt_onnx_session *sess = ckpt_onnx_session_new(model, &opts, &err);
    if (!sess)
        return die(&err);

    /* the input's declared shape, with the dynamic batch dimension filled in */
    ckpt_onnx_value_info info;
    ckpt_onnx_get_input(model, 0, &info);
    ckpt_onnx_tensor in = {.name = info.name, .dtype = CKPT_F32, .ndim = info.ndim};
    size_t n = 1;
    for (int i = 0; i < info.ndim; i++) {
        in.shape[i] = info.shape[i] >= 0 ? info.shape[i] : atoll(argv[2]);
        n *= (size_t)in.shape[i];
    }
    float *x = malloc(n * sizeof *x);
    FILE *f = fopen(argv[3], "rb");
    if (!x || !f || fread(x, sizeof *x, n, f) != n) {
        fprintf(stderr, "onnx_infer: cannot read %zu floats from %s\n", n, argv[3]);
        return 1;
    }
    fclose(f);
    in.data = x;
    in.nbytes = n * sizeof *x;

    /* run: the output stays in the session's memory until the next run */
    ckpt_onnx_tensor out = {0};
    if (ckpt_onnx_run(sess, &in, 1, &out, 1, &err) < 0)
        return die(&err);
    printf("%s: float32 [", out.name);
    for (int i = 0; i < out.ndim; i++)
        printf("%s%lld", i ? ", " : "", (long long)out.shape[i]);
    printf("]\n");
    f = fopen(argv[4], "wb");
    if (!f || fwrite(out.data, 1, out.nbytes, f) != out.nbytes || fclose(f) != 0) {
        fprintf(stderr, "onnx_infer: cannot write %s\n", argv[4]);
        return 1;
    }
    free(x);
    ckpt_onnx_session_free(sess);
    ckpt_onnx_model_free(model);
    return 0;
}
