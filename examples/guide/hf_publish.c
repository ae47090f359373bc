/* examples/guide/hf_publish.c - hand the weights of a torch training checkpoint
 * to Hugging Face users: save its state dict as a folder of safetensors shards
 * with an index (what transformers' save_pretrained writes), and as .bin shards
 * for older tools; then read each folder back and check every tensor against
 * the checkpoint, bit for bit.
 *
 *   hf_publish CHECKPOINT KEY OUTDIR MAX_SHARD_BYTES
 *
 * CHECKPOINT is any file ckpt reads (torch.save zip or legacy, safetensors,
 * ...); KEY names the state dict inside it ("model"), or "-" when the file is
 * the state dict itself.  Writes OUTDIR/safetensors and OUTDIR/bin.
 */
#include <ckpt/ckpt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int die(const char *what, const ckpt_error *err)
{
    char buf[1024];
    fprintf(stderr, "hf_publish: %s: %s\n", what, ckpt_error_format(err, buf, sizeof buf));
    return 1;
}

/* Every tensor of `want` is in `got` with the same dtype, shape and bytes. */
static int check_folder(const char *dir, const ckpt_obj *want)
{
    ckpt_error err;
    ckpt_hf_report rep;
    ckpt_doc *got = ckpt_hf_load_report(dir, NULL, &rep, &err); /* lazy: headers only */
    if (!got)
        return die(dir, &err);
    const ckpt_obj *root = ckpt_doc_root(got);
    int bad = 0;
    for (size_t i = 0; i < ckpt_obj_len(want) && !bad; i++) {
        const char *key = ckpt_obj_str(ckpt_dict_key(want, i), NULL);
        const ckpt_obj *a = ckpt_dict_value(want, i);
        const ckpt_obj *b = ckpt_dict_get(root, key);
        ckpt_tensor_info ia, ib;
        if (!b || ckpt_tensor_get_info(a, &ia) != 0 || ckpt_tensor_get_info(b, &ib) != 0 ||
            ia.dtype != ib.dtype || ia.ndim != ib.ndim ||
            memcmp(ia.shape, ib.shape, sizeof(int64_t) * (size_t)ia.ndim) != 0) {
            fprintf(stderr, "hf_publish: %s: %s is missing or differs\n", dir, key);
            bad = 1;
            break;
        }
        /* the shard's bytes are read now; the checkpoint's tensor may be a view */
        const void *bytes = ckpt_tensor_data_load(got, b, &err);
        void *flat = malloc(ia.nbytes ? ia.nbytes : 1);
        if (!bytes || !flat || ckpt_tensor_copy_into(a, flat, ia.nbytes, &err) != 0) {
            free(flat);
            ckpt_doc_free(got);
            return die(key, &err);
        }
        if (memcmp(flat, bytes, ia.nbytes) != 0) {
            fprintf(stderr, "hf_publish: %s: the bytes of %s differ\n", dir, key);
            bad = 1;
        }
        free(flat);
    }
    if (!bad)
        printf("%s: %s, %zu tensors in %zu shard%s, total_size %llu: all equal\n", dir,
               ckpt_format_name(rep.format), rep.tensors, rep.shards, rep.shards == 1 ? "" : "s",
               (unsigned long long)rep.total_size);
    ckpt_doc_free(got);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: hf_publish CHECKPOINT KEY OUTDIR MAX_SHARD_BYTES\n");
        return 2;
    }
    char why[256] = "";
    int fmt = ckpt_format_detect(argv[1], why, sizeof why);
    if (fmt == CKPT_FMT_UNKNOWN) {
        fprintf(stderr, "hf_publish: %s: %s\n", argv[1], why);
        return 1;
    }
    ckpt_error err;
    /* weights-only, as torch.load's default; copies the bytes (it is small) */
    ckpt_doc *doc = ckpt_load_any(argv[1], NULL, &err);
    if (!doc)
        return die(argv[1], &err);
    const ckpt_obj *sd = ckpt_doc_root(doc);
    if (strcmp(argv[2], "-") != 0)
        sd = ckpt_dict_get(sd, argv[2]);
    if (!sd || ckpt_obj_type(sd) != CKPT_T_DICT) {
        fprintf(stderr, "hf_publish: %s: no state dict under \"%s\"\n", argv[1], argv[2]);
        ckpt_doc_free(doc);
        return 1;
    }
    printf("%s: %s, state dict \"%s\" of %zu tensors\n", argv[1], ckpt_format_name(fmt), argv[2],
           ckpt_obj_len(sd));

    char st[4096], bin[4096];
    snprintf(st, sizeof st, "%s/safetensors", argv[3]);
    snprintf(bin, sizeof bin, "%s/bin", argv[3]);
    uint64_t max_shard = strtoull(argv[4], NULL, 10);
    int rc = 0;
    if (ckpt_hf_save(st, sd, &(ckpt_hf_save_opts){.max_shard_size = max_shard}, &err) != 0 ||
        ckpt_hf_save(bin, sd, &(ckpt_hf_save_opts){.max_shard_size = max_shard, .bin = true},
                     &err) != 0)
        rc = die(argv[3], &err);
    if (rc == 0)
        rc = check_folder(st, sd) || check_folder(bin, sd);
    ckpt_doc_free(doc);
    return rc;
}
