/* tests/fuzz/scan_fuzz.c - libFuzzer harness for the scanner.
 *
 * The input is a whole file.  Invariants: the scan always produces a report;
 * a report whose verdict is clean holds no unknown or dangerous finding and
 * no error; an unreadable report carries an error code. */
#include <stdint.h>
#include <stdlib.h>

#include "ckpt/scan.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ckpt_scan_report *r = NULL;
    ckpt_error err;
    ckpt_scan_opts opts = {NULL, 0, 3, 1u << 24};
    int rc = ckpt_scan_mem(data, size, "fuzz", &opts, &r, &err);
    /* again with err == NULL: no crash, the same return and verdict */
    ckpt_scan_report *r2 = NULL;
    int rc2 = ckpt_scan_mem(data, size, "fuzz", &opts, &r2, NULL);
    FUZZ_ASSERT(rc2 == rc && (r2 != NULL) == (r != NULL));
    FUZZ_ASSERT(!r || r->verdict == r2->verdict);
    ckpt_scan_report_free(r2);
    if (rc != 0)
        return 0; /* out of memory only */
    FUZZ_ASSERT(r != NULL);
    if (r->verdict == CKPT_SCAN_CLEAN) {
        FUZZ_ASSERT(r->error.code == 0);
        for (size_t i = 0; i < r->count; i++)
            FUZZ_ASSERT(r->findings[i].klass == CKPT_SCAN_ALLOWED);
    }
    if (r->verdict == CKPT_SCAN_UNREADABLE)
        FUZZ_ASSERT(r->error.code != 0);
    ckpt_scan_report_free(r);
    return 0;
}
