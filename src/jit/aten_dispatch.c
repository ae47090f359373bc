/* aten_dispatch.c - placeholder until the aten work lands: every entry point reports that it is not built yet. */
#include "core/err.h"
#include "jit/jit_internal.h"

int jit_aten_call(jit_rt *rt, const char *name, jv *const *args, size_t n_args,
                  const char *const *kw_names, jv *const *kw_vals, size_t n_kw, jv **result,
                  ckpt_error *err)
{
    (void)args;
    (void)n_args;
    (void)kw_names;
    (void)kw_vals;
    (void)n_kw;
    (void)result;
    return jit_fail(rt, err, CKPT_E_UNSUPPORTED, "operator aten::%s is not in ckpt's op library",
                    name);
}

bool jit_aten_has(const char *name)
{
    (void)name;
    return false;
}
