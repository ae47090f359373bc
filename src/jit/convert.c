/* convert.c - placeholder until the convert work lands: every entry point reports that it is not built yet. */
#include "core/err.h"
#include "jit/jit_internal.h"

ckpt_onnx_model *ckpt_jit_to_onnx(ckpt_jit_model *m, const ckpt_jit_value *inputs,
                                  size_t n_inputs, ckpt_error *err)
{
    (void)m;
    (void)inputs;
    (void)n_inputs;
    CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "tracing to ONNX is not built yet");
    return NULL;
}
