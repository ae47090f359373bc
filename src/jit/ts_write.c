/* ts_write.c - placeholder until the tswrite work lands: every entry point reports that it is not built yet. */
#include "core/err.h"
#include "jit/jit_internal.h"

int ckpt_jit_save_onnx(const ckpt_onnx_model *g, const char *path,
                       const ckpt_jit_save_opts *opts, ckpt_error *err)
{
    (void)g;
    (void)opts;
    return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "%s: TorchScript is not written yet", path);
}

int ckpt_jit_save_module(struct ckpt_module *m, const int64_t *input_shape, int ndim,
                         const char *path, const ckpt_jit_save_opts *opts, ckpt_error *err)
{
    (void)m;
    (void)input_shape;
    (void)ndim;
    (void)opts;
    return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "%s: TorchScript is not written yet", path);
}
