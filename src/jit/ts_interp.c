/* ts_interp.c - placeholder until the tsinterp work lands: every entry point reports that it is not built yet. */
#include "core/err.h"
#include "jit/jit_internal.h"

int jit_ts_call_method(jit_rt *rt, jv *self, const char *method, jv *const *args, size_t n_args,
                       const char *const *kw_names, jv *const *kw_vals, size_t n_kw,
                       jv **result, ckpt_error *err)
{
    (void)self;
    (void)method;
    (void)args;
    (void)n_args;
    (void)kw_names;
    (void)kw_vals;
    (void)n_kw;
    (void)result;
    return jit_fail(rt, err, CKPT_E_UNSUPPORTED, "TorchScript code cannot run yet");
}
