/* tests/fuzz/pickle_fuzz.c - libFuzzer harness for the pickle VM on raw bytes.
 *
 * The first input byte chooses options (bytes_strings, small limits); the
 * rest is the pickle.  The VM runs with its default hooks (calls refused,
 * globals as GLOBAL nodes).  Invariants: a NULL result comes with a negative
 * status and a pickle offset inside the input; a result comes with `consumed`
 * inside the input; the document frees everything it allocated. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/pickle.h"

#include "fuzz_util.h"

typedef struct counter {
    long long live;
} counter;

static void *c_alloc(void *ctx, size_t n)
{
    void *p = malloc(n);
    if (p)
        ((counter *)ctx)->live += (long long)n;
    return p;
}

static void *c_realloc(void *ctx, void *p, size_t old_n, size_t new_n)
{
    void *q = realloc(p, new_n);
    if (q)
        ((counter *)ctx)->live += (long long)new_n - (long long)old_n;
    return q;
}

static void c_free(void *ctx, void *p, size_t n)
{
    if (p)
        ((counter *)ctx)->live -= (long long)n;
    free(p);
}

/* The same load with err == NULL: no crash, the same result (NULL or the
 * same number of bytes consumed), nothing leaked. */
static void run_null_err(const uint8_t *data, size_t size, const ckpt_pickle_opts *o, bool ok,
                         size_t consumed)
{
    counter c = {0};
    ckpt_alloc a = {c_alloc, c_realloc, c_free, &c};
    ckpt_doc *doc = ckpt_doc_new(&a, NULL);
    if (!doc)
        return;
    size_t used = 0;
    ckpt_obj *r = ckpt_pickle_load(doc, data, size, NULL, o, &used, NULL);
    FUZZ_ASSERT((r != NULL) == ok);
    FUZZ_ASSERT(!r || used == consumed);
    ckpt_doc_free(doc);
    FUZZ_ASSERT(c.live == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t sel = data[0];
    data++;
    size--;
    counter c = {0};
    ckpt_alloc a = {c_alloc, c_realloc, c_free, &c};
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_doc *doc = ckpt_doc_new(&a, &err);
    if (!doc)
        return 0;
    ckpt_pickle_opts o;
    memset(&o, 0, sizeof(o));
    o.bytes_strings = (sel & 1) != 0;
    if (sel & 2) {
        o.max_depth = 8;
        o.max_objects = 4096;
        o.max_stack = 256;
    } else {
        o.max_objects = 1u << 20;
    }
    size_t consumed = 0;
    ckpt_obj *r = ckpt_pickle_load(doc, data, size, NULL, &o, &consumed, &err);
    if (r) {
        FUZZ_ASSERT(consumed > 0 && consumed <= size);
        FUZZ_ASSERT(ckpt_obj_type(r) >= 0 && ckpt_obj_type(r) < CKPT_T_COUNT);
        ckpt_obj_len(r);
    } else {
        FUZZ_ASSERT(err.code < 0);
        FUZZ_ASSERT(err.where != CKPT_WHERE_PICKLE || err.offset <= size);
    }
    ckpt_doc_free(doc);
    FUZZ_ASSERT(c.live == 0);
    run_null_err(data, size, &o, r != NULL, consumed);
    return 0;
}
