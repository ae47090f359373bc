/* tests/fuzz/ts_read_fuzz.c - libFuzzer harness for the TorchScript reader (src/jit/ts_read*.c).
 *
 * The input is the archive itself (ckpt_jit_load reads paths: it is written to one temporary
 * file, rewritten for each input).  Invariants: the load either gives a model whose every
 * listed tensor has its bytes readable to the last one, whose state dict builds, and which
 * prints, or fails with a negative status recorded in the error.  Reads are capped at
 * 256 MiB. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "ckpt/jit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(c)                                                                           \
    do {                                                                                         \
        if (!(c))                                                                                \
            abort();                                                                             \
    } while (0)

static volatile uint8_t sink;
static char path[64];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        snprintf(path, sizeof(path), "/tmp/ckpt_ts_read_fuzz_XXXXXX");
        int fd = mkstemp(path);
        FUZZ_ASSERT(fd >= 0);
        close(fd);
    }
    FILE *f = fopen(path, "wb");
    FUZZ_ASSERT(f);
    FUZZ_ASSERT(fwrite(data, 1, size, f) == size);
    FUZZ_ASSERT(fclose(f) == 0);
    ckpt_error err;
    ckpt_jit_load_opts o;
    memset(&o, 0, sizeof(o));
    o.max_bytes = (size_t)256 << 20;
    ckpt_jit_model *m = ckpt_jit_load(path, &o, &err);
    if (!m) {
        FUZZ_ASSERT(err.code < 0);
        return 0;
    }
    size_t n = ckpt_jit_tensor_count(m);
    for (size_t i = 0; i < n; i++) {
        ckpt_jit_tensor t;
        FUZZ_ASSERT(ckpt_jit_get_tensor(m, i, &t) == 0 && t.name);
        FUZZ_ASSERT(t.ndim >= 0 && t.ndim <= 8);
        if (t.nbytes) { /* first and last byte: ASan catches a buffer shorter than nbytes */
            uint8_t x = ((const uint8_t *)t.data)[0];
            x ^= ((const uint8_t *)t.data)[t.nbytes - 1];
            sink = x;
        }
    }
    FUZZ_ASSERT(ckpt_jit_get_tensor(m, n, &(ckpt_jit_tensor){0}) != 0);
    ckpt_doc *sd = ckpt_jit_state_dict(m, &err);
    FUZZ_ASSERT(sd || err.code < 0);
    ckpt_doc_free(sd);
    FILE *null = fopen("/dev/null", "w");
    if (null) {
        int rc = ckpt_jit_print(m, null, CKPT_JIT_SHOW_CODE, &err);
        FUZZ_ASSERT(rc == 0 || err.code < 0);
        fclose(null);
    }
    ckpt_jit_free(m);
    return 0;
}
