/* tests/formats/hf_tool.c - driver for hf_check.py.
 *   hf_tool save IN.pt DIR MAX bin|st [dup]   ckpt_load IN (a torch.save dict),
 *                                             ckpt_hf_save into DIR
 *   hf_tool load PATH OUT.pt                  ckpt_hf_load PATH (folder or index),
 *                                             every tensor read, ckpt_save'd to OUT
 *   hf_tool resave SRC DST MAX bin|st         ckpt_hf_load SRC, ckpt_hf_save DST with
 *                                             opts.source (streaming, shard by shard)
 *   hf_tool report PATH                       ckpt_hf_load_report: one line of numbers
 *   hf_tool has-st                            exit 0 when safetensors is built in
 * Exit 0 on success, 1 with the error on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/formats.h"

static int fail(const ckpt_error *err)
{
    char b[1024];
    fprintf(stderr, "error: %s\n", ckpt_error_format(err, b, sizeof(b)));
    return 1;
}

int main(int argc, char **argv)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    if (argc >= 2 && strcmp(argv[1], "has-st") == 0)
        return 0;
    if (argc >= 6 && strcmp(argv[1], "save") == 0) {
        ckpt_doc *doc = ckpt_load(argv[2], NULL, &err);
        if (!doc)
            return fail(&err);
        ckpt_hf_save_opts o;
        memset(&o, 0, sizeof(o));
        o.max_shard_size = strtoull(argv[4], NULL, 10);
        o.bin = strcmp(argv[5], "bin") == 0;
        o.duplicate_shared = argc >= 7 && strcmp(argv[6], "dup") == 0;
        o.no_fsync = true;
        int rc = ckpt_hf_save(argv[3], ckpt_doc_root(doc), &o, &err);
        ckpt_doc_free(doc);
        return rc ? fail(&err) : 0;
    }
    if (argc >= 4 && strcmp(argv[1], "load") == 0) {
        ckpt_doc *doc = ckpt_hf_load(argv[2], NULL, &err);
        if (!doc)
            return fail(&err);
        const ckpt_obj *root = ckpt_doc_root(doc);
        for (size_t i = 0; i < ckpt_obj_len(root); i++) {
            const ckpt_obj *t = ckpt_dict_value(root, i);
            ckpt_tensor_info ti;
            ckpt_tensor_get_info(t, &ti);
            if (ti.nbytes && !ckpt_tensor_data_load(doc, t, &err)) {
                ckpt_doc_free(doc);
                return fail(&err);
            }
        }
        ckpt_save_opts so;
        memset(&so, 0, sizeof(so));
        so.no_fsync = true;
        int rc = ckpt_save(argv[3], root, &so, &err);
        ckpt_doc_free(doc);
        return rc ? fail(&err) : 0;
    }
    if (argc >= 6 && strcmp(argv[1], "resave") == 0) {
        /* HF folder -> HF folder, streaming: about one shard in memory */
        ckpt_doc *doc = ckpt_hf_load(argv[2], NULL, &err);
        if (!doc)
            return fail(&err);
        ckpt_hf_save_opts o;
        memset(&o, 0, sizeof(o));
        o.max_shard_size = strtoull(argv[4], NULL, 10);
        o.bin = strcmp(argv[5], "bin") == 0;
        o.no_fsync = true;
        o.source = doc;
        int rc = ckpt_hf_save(argv[3], ckpt_doc_root(doc), &o, &err);
        ckpt_doc_free(doc);
        return rc ? fail(&err) : 0;
    }
    if (argc >= 3 && strcmp(argv[1], "report") == 0) {
        ckpt_hf_report r;
        ckpt_doc *doc = ckpt_hf_load_report(argv[2], NULL, &r, &err);
        if (!doc)
            return fail(&err);
        printf("format=%s sharded=%d shards=%zu tensors=%zu has_total=%d total=%llu "
               "storage_bytes=%llu tensor_bytes=%llu ok=%d\n",
               r.format == CKPT_FMT_HF       ? "hf"
               : r.format == CKPT_FMT_HF_BIN ? "hf-bin"
                                             : "?",
               r.sharded, r.shards, r.tensors, r.has_total_size, (unsigned long long)r.total_size,
               (unsigned long long)r.storage_bytes, (unsigned long long)r.tensor_bytes,
               r.total_size_ok);
        ckpt_doc_free(doc);
        return 0;
    }
    fprintf(stderr, "usage: hf_tool save IN DIR MAX bin|st [dup] | load PATH OUT | report PATH "
                    "| has-st\n");
    return 2;
}
