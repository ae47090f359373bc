/* ts_read.c - placeholder until the tsread work lands: every entry point reports that it is not built yet. */
#include "core/err.h"
#include "jit/jit_internal.h"

int jit_read_torchscript(ckpt_jit_model *m, ckpt_error *err)
{
    (void)m;
    return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "TorchScript archives are not read yet");
}

int ckpt_jit_print(const ckpt_jit_model *m, FILE *f, int flags, ckpt_error *err)
{
    (void)m;
    (void)f;
    (void)flags;
    return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "printing is not built yet");
}
