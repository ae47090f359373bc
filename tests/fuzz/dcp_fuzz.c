/* tests/fuzz/dcp_fuzz.c - libFuzzer harness for DCP ".metadata" parsing and
 * ckpt's own rank plans.
 *
 * Input starting with "CKDCPPL1": a rank plan.  When it decodes, the
 * .metadata emitted for it (if the plan set is consistent) must parse back
 * with the same entries.  Any other input: a .metadata pickle, parsed with the
 * DCP allowlist.  Invariants: success gives entries whose chunks lie inside
 * their global shape with a storage location each; failure records a negative
 * code; nothing outside the allowlist is ever called. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "store/dcp_internal.h"

#include "fuzz_util.h"

static void check_meta(const ckpt__dcp_meta *m)
{
    for (size_t i = 0; i < m->n; i++) {
        const ckpt__dcp_ent *e = &m->ents[i];
        FUZZ_ASSERT(e->pub.fqn);
        if (e->pub.is_bytes) {
            FUZZ_ASSERT(e->bytes_loc.set && e->bytes_loc.file);
            continue;
        }
        FUZZ_ASSERT(e->pub.ndim >= 0 && e->pub.ndim <= 64);
        FUZZ_ASSERT(ckpt_dtype_size(e->pub.dtype) > 0);
        for (size_t c = 0; c < e->pub.nchunks; c++) {
            const ckpt__dcp_chunk *k = &e->chunks[c];
            FUZZ_ASSERT(k->loc.set && k->loc.file && !strchr(k->loc.file, '/'));
            FUZZ_ASSERT(k->loc.offset <= UINT64_MAX - k->loc.length);
            for (int d = 0; d < e->pub.ndim; d++)
                FUZZ_ASSERT(k->offsets[d] >= 0 && k->sizes[d] >= 0 &&
                            k->offsets[d] + k->sizes[d] <= e->shape[d]);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    if (size >= 8 && memcmp(data, "CKDCPPL1", 8) == 0) {
        ckpt__dcp_plan p;
        if (ckpt__dcp_plan_decode(data, size, &p, &err) < 0) {
            FUZZ_ASSERT(err.code < 0);
            return 0;
        }
        void *md = NULL;
        size_t mdn = 0;
        if (ckpt__dcp_meta_emit(&p, 1, &md, &mdn, &err) == 0) {
            ckpt__dcp_meta m;
            ckpt_error e2;
            ckpt_error_clear(&e2);
            int rc = ckpt__dcp_meta_parse(md, mdn, "emitted", &m, &e2);
            FUZZ_ASSERT(rc == 0); /* what ckpt writes, ckpt reads */
            check_meta(&m);
            size_t distinct = 0;
            for (size_t i = 0; i < p.n; i++) {
                size_t j = 0;
                while (j < i && strcmp(p.items[j].fqn, p.items[i].fqn) != 0)
                    j++;
                distinct += j == i;
            }
            FUZZ_ASSERT(m.n == distinct);
            ckpt__dcp_meta_free(&m);
            free(md);
        } else {
            FUZZ_ASSERT(err.code < 0);
        }
        ckpt__dcp_plan_free(&p);
        return 0;
    }
    ckpt__dcp_meta m;
    int rc = ckpt__dcp_meta_parse(data, size, "fuzz", &m, &err);
    if (rc < 0) {
        FUZZ_ASSERT(err.code < 0);
        return 0;
    }
    check_meta(&m);
    ckpt__dcp_meta_free(&m);
    return 0;
}
