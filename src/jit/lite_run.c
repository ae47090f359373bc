/* lite_run.c - placeholder until the lite work lands: every entry point reports that it is not built yet. */
#include "core/err.h"
#include "jit/jit_internal.h"

int jit_read_lite(ckpt_jit_model *m, ckpt_error *err)
{
    (void)m;
    return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "lite bytecode is not read yet");
}

int jit_lite_call_method(jit_rt *rt, jv *self, const char *method, jv *const *args,
                         size_t n_args, jv **result, ckpt_error *err)
{
    (void)self;
    (void)method;
    (void)args;
    (void)n_args;
    (void)result;
    return jit_fail(rt, err, CKPT_E_UNSUPPORTED, "lite bytecode cannot run yet");
}
