/* full_model.c - placeholder until the fullmodel work lands: every entry point reports that it is not built yet. */
#include "core/err.h"
#include "jit/jit_internal.h"

int jit_read_full_model(ckpt_jit_model *m, ckpt_error *err)
{
    (void)m;
    return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "full-model pickles are not read yet");
}

int jit_nn_forward(jit_rt *rt, jv *self, jv *const *args, size_t n_args, jv **result,
                   ckpt_error *err)
{
    (void)self;
    (void)args;
    (void)n_args;
    (void)result;
    return jit_fail(rt, err, CKPT_E_UNSUPPORTED, "torch.nn forwards are not built yet");
}

int ckpt_jit_save_full_model(const struct ckpt_module *m, const char *path, ckpt_error *err)
{
    (void)m;
    return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "%s: full-model pickles are not written yet", path);
}
