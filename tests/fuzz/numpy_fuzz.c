/* tests/fuzz/numpy_fuzz.c - libFuzzer harness for the .npy / .npz reader.
 *
 * The input is the file itself.  Invariants: a load either gives a document
 * whose root is a tensor (.npy) or a dict of tensors (.npz), every tensor
 * copyable in C order, or fails with a negative status recorded in the error;
 * the same input run a second time with err == NULL gives the same outcome
 * and the same number of tensors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"

#include "fuzz_util.h"

static long check_doc(const ckpt_doc *doc)
{
    const ckpt_obj *root = ckpt_doc_root(doc);
    FUZZ_ASSERT(root);
    size_t n = ckpt_obj_type(root) == CKPT_T_TENSOR ? 1 : ckpt_obj_len(root);
    FUZZ_ASSERT(ckpt_obj_type(root) == CKPT_T_TENSOR || ckpt_obj_type(root) == CKPT_T_DICT);
    for (size_t i = 0; i < n; i++) {
        const ckpt_obj *t = ckpt_obj_type(root) == CKPT_T_TENSOR ? root
                                                                 : ckpt_dict_value(root, i);
        ckpt_tensor_info ti;
        FUZZ_ASSERT(ckpt_tensor_get_info(t, &ti) == 0);
        if (ti.nbytes > (1u << 24))
            continue;
        void *buf = malloc(ti.nbytes ? (size_t)ti.nbytes : 1);
        FUZZ_ASSERT(buf);
        FUZZ_ASSERT(ckpt_tensor_copy_into(t, buf, (size_t)ti.nbytes, NULL) == 0);
        free(buf);
    }
    return (long)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_doc *doc = ckpt_numpy_load_mem(data, size, "fuzz", NULL, &err);
    long n = -1;
    if (doc) {
        n = check_doc(doc);
        ckpt_doc_free(doc);
    } else {
        FUZZ_ASSERT(err.code < 0);
    }
    ckpt_doc *again = ckpt_numpy_load_mem(data, size, "fuzz", NULL, NULL);
    FUZZ_ASSERT((again != NULL) == (n >= 0));
    if (again) {
        FUZZ_ASSERT(check_doc(again) == n);
        ckpt_doc_free(again);
    }
    return 0;
}
