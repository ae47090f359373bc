/* tests/fuzz/gguf_fuzz.c - libFuzzer harness for the GGUF reader.
 *
 * Input: one option byte (bits 0-1: load mode copy/mmap/lazy, bit 2:
 * dequantize), then the file.  Invariants: a load either fails with a
 * negative status recorded in the error, or gives an OrderedDict of tensors
 * whose every tensor reads (lazy ones through ckpt_tensor_data_load) and
 * copies in C order, with the four metadata entries; the same input loaded
 * again with err == NULL gives the same outcome and the same tensor count.
 * A loaded document (copy mode, raw blocks) saves with its metadata, and that
 * file loads and saves again to the same bytes (the writer is canonical). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

static unsigned char *slurp(const char *p, size_t *n)
{
    FILE *f = fopen(p, "rb");
    FUZZ_ASSERT(f);
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc(l > 0 ? (size_t)l : 1);
    FUZZ_ASSERT(b && fread(b, 1, (size_t)l, f) == (size_t)l);
    fclose(f);
    *n = (size_t)l;
    return b;
}

static void resave(const ckpt_doc *doc)
{
    char a[64], b[64];
    snprintf(a, sizeof(a), "/tmp/ckpt_gguf_fuzz_%ld_a.gguf", (long)getpid());
    snprintf(b, sizeof(b), "/tmp/ckpt_gguf_fuzz_%ld_b.gguf", (long)getpid());
    ckpt_gguf_save_opts o = {ckpt_doc_metadata(doc), 0, true};
    ckpt_error err;
    if (ckpt_gguf_save(a, ckpt_doc_root(doc), &o, &err) < 0) {
        /* the only refusals: an alignment the writer cannot use is impossible
         * here (the reader checked it), so none is expected */
        FUZZ_ASSERT(err.code == CKPT_E_NOMEM || err.code == CKPT_E_IO);
        return;
    }
    ckpt_doc *d2 = ckpt_gguf_load(a, CKPT_LOAD_COPY, false, NULL, &err);
    FUZZ_ASSERT(d2);
    FUZZ_ASSERT(ckpt_obj_len(ckpt_doc_root(d2)) == ckpt_obj_len(ckpt_doc_root(doc)));
    ckpt_gguf_save_opts o2 = {ckpt_doc_metadata(d2), 0, true};
    FUZZ_ASSERT(ckpt_gguf_save(b, ckpt_doc_root(d2), &o2, &err) == 0);
    ckpt_doc_free(d2);
    size_t na, nb;
    unsigned char *ba = slurp(a, &na), *bb = slurp(b, &nb);
    FUZZ_ASSERT(na == nb && memcmp(ba, bb, na) == 0);
    free(ba);
    free(bb);
    unlink(a);
    unlink(b);
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
        if (mode == CKPT_LOAD_COPY && !deq && size <= 65536)
            resave(doc);
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
