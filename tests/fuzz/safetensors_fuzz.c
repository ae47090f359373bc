/* tests/fuzz/safetensors_fuzz.c - libFuzzer harness for the safetensors reader
 * and writer.
 *
 * The input is the file itself.  Invariants: the load either gives a document
 * (an OrderedDict of tensors, each readable) or fails with a negative status
 * recorded in the error; the copy, mmap and lazy loads agree on the outcome
 * and the bytes; the scanner's header check (the same validation) calls the
 * input valid when it loads and invalid when the load says CKPT_E_FORMAT;
 * a loaded document saves, the saved bytes load again to the same tensors
 * and metadata, and saving that reload gives the same bytes (the writer's
 * layout is a fixed point). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "formats/formats_internal.h"

#include "fuzz_util.h"

/* Same keys, dtypes, shapes and bytes (b may be in another order when
 * `any_order`: the writer re-lays the file out). */
static void same(ckpt_doc *a, ckpt_doc *b, bool any_order)
{
    const ckpt_obj *ra = ckpt_doc_root(a), *rb = ckpt_doc_root(b);
    FUZZ_ASSERT(ckpt_obj_len(ra) == ckpt_obj_len(rb));
    for (size_t i = 0; i < ckpt_obj_len(ra); i++) {
        const char *k = ckpt_obj_str(ckpt_dict_key(ra, i), NULL);
        const ckpt_obj *ta = ckpt_dict_value(ra, i);
        const ckpt_obj *tb = any_order ? ckpt_dict_get(rb, k) : ckpt_dict_value(rb, i);
        FUZZ_ASSERT(tb);
        if (!any_order)
            FUZZ_ASSERT(strcmp(k, ckpt_obj_str(ckpt_dict_key(rb, i), NULL)) == 0);
        ckpt_tensor_info x, y;
        FUZZ_ASSERT(ckpt_tensor_get_info(ta, &x) == 0 && ckpt_tensor_get_info(tb, &y) == 0);
        FUZZ_ASSERT(x.dtype == y.dtype && x.ndim == y.ndim && x.nbytes == y.nbytes);
        for (int d = 0; d < x.ndim; d++)
            FUZZ_ASSERT(x.shape[d] == y.shape[d]);
        const void *pa = ckpt_tensor_data_load(a, ta, NULL);
        const void *pb = ckpt_tensor_data_load(b, tb, NULL);
        FUZZ_ASSERT(!x.nbytes || (pa && pb && memcmp(pa, pb, (size_t)x.nbytes) == 0));
    }
    const ckpt_obj *ma = ckpt_doc_metadata(a), *mb = ckpt_doc_metadata(b);
    FUZZ_ASSERT((ma == NULL) == (mb == NULL));
    for (size_t i = 0; ma && i < ckpt_obj_len(ma); i++) {
        const ckpt_obj *v = ckpt_dict_get(mb, ckpt_obj_str(ckpt_dict_key(ma, i), NULL));
        FUZZ_ASSERT(
            v && strcmp(ckpt_obj_str(v, NULL), ckpt_obj_str(ckpt_dict_value(ma, i), NULL)) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ckpt_error err;
    ckpt_doc *d[3];
    int code = 0;
    for (int m = 0; m < 3; m++) {
        ckpt_error_clear(&err);
        d[m] = ckpt_safetensors_load_mem(data, size, "fuzz", CKPT_LOAD_COPY + m, NULL, &err);
        if (!d[m])
            FUZZ_ASSERT(err.code < 0 && err.file[0]);
        if (m == 0)
            code = err.code;
        else
            FUZZ_ASSERT(err.code == code && (d[m] != NULL) == (d[0] != NULL));
    }
    int st = ckpt__st_header_check(data, size, NULL, NULL, 0);
    if (d[0])
        FUZZ_ASSERT(st == CKPT_ST_VALID);
    if (code == CKPT_E_FORMAT)
        FUZZ_ASSERT(st != CKPT_ST_VALID);
    if (d[0]) {
        same(d[0], d[1], false);
        same(d[0], d[2], false);
        ckpt_st_save_opts o = {ckpt_doc_metadata(d[0]), false, true};
        void *out = NULL, *out2 = NULL;
        size_t n = 0, n2 = 0;
        FUZZ_ASSERT(ckpt_safetensors_save_mem(ckpt_doc_root(d[0]), &o, &out, &n, &err) == 0);
        FUZZ_ASSERT(ckpt__st_header_check(out, n, NULL, NULL, 0) == CKPT_ST_VALID);
        ckpt_doc *back = ckpt_safetensors_load_mem(out, n, "re", CKPT_LOAD_MMAP, NULL, &err);
        FUZZ_ASSERT(back);
        same(d[0], back, true);
        ckpt_st_save_opts o2 = {ckpt_doc_metadata(back), false, true};
        FUZZ_ASSERT(ckpt_safetensors_save_mem(ckpt_doc_root(back), &o2, &out2, &n2, &err) == 0);
        FUZZ_ASSERT(n == n2 && memcmp(out, out2, n) == 0);
        ckpt_doc_free(back);
        free(out);
        free(out2);
    }
    for (int m = 0; m < 3; m++)
        ckpt_doc_free(d[m]);
    return 0;
}
