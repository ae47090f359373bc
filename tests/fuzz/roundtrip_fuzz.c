/* tests/fuzz/roundtrip_fuzz.c - load, save_mem, load again, compare.
 *
 * Leading byte: bit 0 unsafe_full for the first load, bits 1-2 the save
 * layout.  Whatever loads and saves must load again with the same listing:
 * the same tensors by key path, dtype, shape and bytes (in C order). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/torch.h"

#include "fuzz_util.h"

#define MAX_ITEMS 256

typedef struct item {
    char key[96];
    int dtype, ndim;
    int64_t shape[8];
    uint64_t nbytes;
    uint32_t sum; /* FNV-1a of the C-order bytes */
} item;

typedef struct listing {
    item it[MAX_ITEMS];
    int n;
    bool overflow;
} listing;

static int collect(void *payload, const char *key, const ckpt_obj *t)
{
    listing *l = payload;
    if (l->n == MAX_ITEMS) {
        l->overflow = true;
        return 1;
    }
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) != 0)
        return -1;
    item *x = &l->it[l->n++];
    memset(x, 0, sizeof(*x));
    snprintf(x->key, sizeof(x->key), "%s", key);
    x->dtype = ti.dtype;
    x->ndim = ti.ndim;
    for (int d = 0; d < ti.ndim && d < 8; d++)
        x->shape[d] = ti.shape[d];
    x->nbytes = ti.nbytes;
    x->sum = 2166136261u;
    if (ti.nbytes && ti.nbytes <= (1u << 22)) {
        uint8_t *buf = malloc((size_t)ti.nbytes);
        if (buf && ckpt_tensor_copy_into(t, buf, (size_t)ti.nbytes, NULL) == 0)
            for (uint64_t i = 0; i < ti.nbytes; i++)
                x->sum = (x->sum ^ buf[i]) * 16777619u;
        free(buf);
    }
    return 0;
}

/* The load and save again with err == NULL: no crash, the same success or
 * failure at each step (-1 load failed, 0 save failed, 1 saved). */
static int run_null_err(const uint8_t *data, size_t size, const ckpt_load_opts *lo,
                        const ckpt_save_opts *so)
{
    ckpt_doc *a = ckpt_load_mem(data, size, "fuzz", lo, NULL);
    if (!a)
        return -1;
    void *out = NULL;
    size_t out_len = 0;
    int rc = ckpt_save_mem(ckpt_doc_root(a), so, &out, &out_len, NULL);
    ckpt_doc_free(a);
    free(out);
    return rc == 0 ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    data++;
    size--;
    ckpt_load_opts lo;
    memset(&lo, 0, sizeof(lo));
    lo.unsafe_full = (sel & 1) != 0;
    lo.keep_locations = true;
    lo.limits.max_objects = 1u << 16;
    lo.limits.max_inflated = 1u << 24;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_doc *a = ckpt_load_mem(data, size, "fuzz", &lo, &err);
    if (!a) {
        FUZZ_ASSERT(err.code < 0);
        FUZZ_ASSERT(ckpt_load_mem(data, size, "fuzz", &lo, NULL) == NULL);
        return 0;
    }
    static listing la, lb;
    la.n = lb.n = 0;
    la.overflow = lb.overflow = false;
    if (ckpt_obj_walk_tensors(ckpt_doc_root(a), collect, &la, NULL) < 0 || la.overflow) {
        ckpt_doc_free(a);
        return 0;
    }
    ckpt_save_opts so;
    memset(&so, 0, sizeof(so));
    so.layout = (sel >> 1) & 3;
    void *out = NULL;
    size_t out_len = 0;
    ckpt_error_clear(&err);
    int rc = ckpt_save_mem(ckpt_doc_root(a), &so, &out, &out_len, &err);
    if (rc != 0) {
        FUZZ_ASSERT(err.code < 0);
        ckpt_doc_free(a);
        FUZZ_ASSERT(run_null_err(data, size, &lo, &so) == 0);
        return 0;
    }
    FUZZ_ASSERT(out != NULL);
    ckpt_error_clear(&err);
    ckpt_doc *b = ckpt_load_mem(out, out_len, "resaved", &lo, &err);
    FUZZ_ASSERT(b != NULL); /* what ckpt writes, ckpt must read */
    FUZZ_ASSERT(ckpt_obj_walk_tensors(ckpt_doc_root(b), collect, &lb, NULL) >= 0);
    FUZZ_ASSERT(la.n == lb.n);
    for (int i = 0; i < la.n; i++)
        FUZZ_ASSERT(memcmp(&la.it[i], &lb.it[i], sizeof(item)) == 0);
    ckpt_doc_free(b);
    free(out);
    ckpt_doc_free(a);
    FUZZ_ASSERT(run_null_err(data, size, &lo, &so) == 1);
    return 0;
}
