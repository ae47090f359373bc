/* pt2.c - placeholder until the pt2 work lands: every entry point reports that it is not built yet. */
#include "core/err.h"
#include "jit/jit_internal.h"

int jit_read_pt2(ckpt_jit_model *m, ckpt_error *err)
{
    (void)m;
    return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "torch.export archives are not read yet");
}

int jit_pt2_run(jit_rt *rt, jv *const *args, size_t n_args, jv **result, ckpt_error *err)
{
    (void)args;
    (void)n_args;
    (void)result;
    return jit_fail(rt, err, CKPT_E_UNSUPPORTED, "torch.export graphs cannot run yet");
}
