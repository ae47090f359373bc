/* tests/fuzz/gguf_fuzz.c - libFuzzer harness for the GGUF reader.
 *
 * Input: one option byte (bits 0-1: load mode copy/mmap/lazy, bit 2:
 * dequantize), then the file.  Invariants: a load either fails with a
 * negative status recorded in the error, or gives an OrderedDict of tensors
 * whose every tensor reads (lazy ones through ckpt_tensor_data_load) and
 * copies in C order, with the four metadata entries; the same input loaded
 * again with err == NULL gives the same outcome and the same tensor count. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/formats.h"

#include "fuzz_util.h"

static long check_doc(ckpt_doc *doc)
{
    const ckpt_obj *root = ckpt_doc_root(doc), *meta = ckpt_doc_metadata(doc);
    FUZZ_ASSERT(root && ckpt_obj_type(root) == CKPT_T_DICT);
    FUZZ_ASSERT(meta && ckpt_dict_get(meta, "gguf.version") && ckpt_dict_get(meta, "gguf.kv") &&
                ckpt_dict_get(meta, "gguf.kv_types") && ckpt_dict_get(meta, "gguf.tensor_types"));
    size_t n = ckpt_obj_len(root);
    for (size_t i = 0; i < n; i++) {
        const ckpt_obj *t = ckpt_dict_value(root, i);
        ckpt_tensor_info ti;
        FUZZ_ASSERT(ckpt_tensor_get_info(t, &ti) == 0);
        if (ti.nbytes > (1u << 24))
            continue;
        FUZZ_ASSERT(ckpt_tensor_data_load(doc, t, NULL) || ti.nbytes == 0);
        void *buf = malloc(ti.nbytes ? (size_t)ti.nbytes : 1);
        FUZZ_ASSERT(buf);
        FUZZ_ASSERT(ckpt_tensor_copy_into(t, buf, (size_t)ti.nbytes, NULL) == 0);
        free(buf);
    }
    return (long)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int mode = data[0] & 3;
    if (mode > CKPT_LOAD_LAZY)
        mode = CKPT_LOAD_COPY;
    bool deq = (data[0] & 4) != 0;
    data++;
    size--;
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_doc *doc = ckpt_gguf_load_mem(data, size, "fuzz", mode, deq, NULL, &err);
    long n = -1;
    if (doc) {
        n = check_doc(doc);
        ckpt_doc_free(doc);
    } else {
        FUZZ_ASSERT(err.code < 0);
    }
    ckpt_doc *again = ckpt_gguf_load_mem(data, size, "fuzz", mode, deq, NULL, NULL);
    FUZZ_ASSERT((again != NULL) == (n >= 0));
    if (again) {
        FUZZ_ASSERT(check_doc(again) == n);
        ckpt_doc_free(again);
    }
    return 0;
}
