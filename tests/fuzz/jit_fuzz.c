/* tests/fuzz/jit_fuzz.c - libFuzzer harness for the jit readers (TorchScript, lite,
 * full-model pickles, torch.export archives).
 *
 * The input is the file itself, written to an anonymous in-memory file (the readers take a
 * path).  Invariants: ckpt_jit_load either gives a model whose every inspection call
 * answers within bounds (format, root class, every listed tensor's bytes readable to the
 * last one, the state dict, the printed tree) or fails with a negative status recorded in
 * the error.  Loads are capped at 256 MiB. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "ckpt/jit.h"

#include "fuzz_util.h"

static volatile uint8_t sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("jit_fuzz", 0);
    if (fd < 0)
        return 0;
    size_t done = 0;
    while (done < size) {
        ssize_t w = write(fd, data + done, size - done);
        if (w <= 0)
            break;
        done += (size_t)w;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_jit_load_opts o = {.max_bytes = (size_t)256 << 20};
    ckpt_jit_model *m = ckpt_jit_load(path, &o, &err);
    if (!m) {
        FUZZ_ASSERT(err.code < 0);
        close(fd);
        return 0;
    }
    int fmt = ckpt_jit_format(m);
    FUZZ_ASSERT(fmt >= CKPT_JIT_TORCHSCRIPT && fmt <= CKPT_JIT_PT2);
    (void)ckpt_jit_root_class(m);
    size_t n = ckpt_jit_tensor_count(m);
    for (size_t i = 0; i < n; i++) {
        ckpt_jit_tensor t;
        FUZZ_ASSERT(ckpt_jit_get_tensor(m, i, &t) == 0 && t.name);
        if (t.nbytes && t.data)
            sink ^= ((const uint8_t *)t.data)[0] ^ ((const uint8_t *)t.data)[t.nbytes - 1];
    }
    ckpt_doc *sd = ckpt_jit_state_dict(m, &err);
    ckpt_doc_free(sd);
    FILE *devnull = fopen("/dev/null", "w");
    if (devnull) {
        ckpt_error perr;
        ckpt_error_clear(&perr);
        (void)ckpt_jit_print(m, devnull, CKPT_JIT_SHOW_CODE, &perr);
        fclose(devnull);
    }
    ckpt_jit_free(m);
    close(fd);
    return 0;
}
