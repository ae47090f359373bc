/* tests/fuzz/load_fuzz.c - libFuzzer harness for the whole load.
 *
 * Leading byte: bits 0-1 the mode (copy, mmap, lazy), bit 2 unsafe_full,
 * bit 3 verify_crc, bit 4 keep_locations, bit 5 map_location "cpu", bit 6 a
 * small max_alloc_bytes.  The rest is the file, loaded with ckpt_load_mem.
 * Invariants: failure comes with a negative status; on success every tensor's
 * byte range lies inside its storage, a mapped storage lies inside the input,
 * and a lazy tensor's bytes can be read (or fail cleanly). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/torch.h"

#include "fuzz_util.h"

typedef struct ctx {
    ckpt_doc *doc;
    const uint8_t *base;
    size_t size;
    int mode;
} ctx;

static int visit(void *payload, const char *key, const ckpt_obj *t)
{
    (void)key;
    ctx *c = payload;
    ckpt_tensor_info ti;
    FUZZ_ASSERT(ckpt_tensor_get_info(t, &ti) == 0);
    FUZZ_ASSERT(ti.ndim >= 0 && ti.numel >= 0);
    if (!ti.storage || ti.numel == 0)
        return 0;
    ckpt_storage_info si;
    FUZZ_ASSERT(ckpt_storage_get_info(ti.storage, &si) == 0);
    size_t isz = ckpt_dtype_size(ti.dtype);
    FUZZ_ASSERT(isz > 0 && ti.storage_offset >= 0);
    uint64_t hi = (uint64_t)ti.storage_offset;
    for (int d = 0; d < ti.ndim; d++) {
        FUZZ_ASSERT(ti.shape[d] > 0 && ti.stride[d] >= 0);
        hi += (uint64_t)(ti.shape[d] - 1) * (uint64_t)ti.stride[d];
    }
    FUZZ_ASSERT((hi + 1) * isz <= si.nbytes);
    if (si.hold == CKPT_HOLD_MAPPED) {
        const uint8_t *p = si.data;
        FUZZ_ASSERT(p >= c->base && si.nbytes <= c->size &&
                    p - c->base <= (ptrdiff_t)(c->size - si.nbytes));
    }
    const uint8_t *d = ckpt_tensor_data(t);
    if (c->mode == CKPT_LOAD_LAZY && !d) {
        ckpt_error err;
        ckpt_error_clear(&err);
        d = ckpt_tensor_data_load(c->doc, t, &err);
        FUZZ_ASSERT(d || err.code < 0);
    }
    if (d) {
        /* touch the first and last element */
        volatile uint8_t sink = d[0];
        sink = d[((hi + 1) - (uint64_t)ti.storage_offset) * isz - 1];
        (void)sink;
    }
    return 0;
}

static int count_tensor(void *payload, const char *key, const ckpt_obj *t)
{
    (void)key;
    (void)t;
    ++*(size_t *)payload;
    return 0;
}

/* The same calls with err == NULL: no crash, the same success or failure.
 * 0 load failed, 1 loaded and walked, 2 loaded but the walk failed. */
static int run_null_err(const uint8_t *data, size_t size, const ckpt_load_opts *o)
{
    ckpt_doc *doc = ckpt_load_mem(data, size, "fuzz", o, NULL);
    if (!doc)
        return 0;
    size_t n = 0;
    int rc = ckpt_obj_walk_tensors(ckpt_doc_root(doc), count_tensor, &n, NULL);
    ckpt_doc_free(doc);
    return rc < 0 ? 2 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    data++;
    size--;
    ckpt_load_opts o;
    memset(&o, 0, sizeof(o));
    o.mode = sel & 3;
    if (o.mode == 3)
        o.mode = CKPT_LOAD_COPY;
    o.unsafe_full = (sel & 4) != 0;
    o.verify_crc = (sel & 8) != 0;
    o.keep_locations = (sel & 16) != 0;
    if (sel & 32)
        o.map_location = "cpu";
    if (sel & 64)
        o.limits.max_alloc_bytes = 1u << 16;
    o.limits.max_objects = 1u << 18;
    o.limits.max_inflated = 1u << 24;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_doc *doc = ckpt_load_mem(data, size, "fuzz", &o, &err);
    if (!doc) {
        FUZZ_ASSERT(err.code < 0);
        FUZZ_ASSERT(run_null_err(data, size, &o) == 0);
        return 0;
    }
    ctx c = {doc, data, size, o.mode};
    ckpt_error_clear(&err);
    int rc = ckpt_obj_walk_tensors(ckpt_doc_root(doc), visit, &c, &err);
    FUZZ_ASSERT(rc == 0 || err.code < 0);
    ckpt_doc_free(doc);
    /* the lazy visitor may fail on its own reads; the walk itself may not */
    int again = run_null_err(data, size, &o);
    FUZZ_ASSERT(again == 1 || (again == 2 && rc < 0));
    return 0;
}
