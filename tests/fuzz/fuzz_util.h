/* tests/fuzz/fuzz_util.h - what every libFuzzer harness shares. */
#ifndef CKPT_FUZZ_UTIL_H
#define CKPT_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the API: abort() so libFuzzer records the input. */
#define FUZZ_ASSERT(c)                                                                           \
    do {                                                                                         \
        if (!(c))                                                                                \
            abort();                                                                             \
    } while (0)

#endif
