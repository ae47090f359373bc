/* tests/formats/st_tool.c - the C side of tests/formats/st_oracle.py.
 *
 *   st_tool dump FILE [copy|mmap|lazy]  "meta\tKEY\tVALUE" lines (hex of the UTF-8 bytes),
 *                                       then per tensor in file order
 *                                       "KEY\tDTYPE\tSHAPE\tHEX" (KEY as hex of its bytes)
 *   st_tool resave IN OUT               load IN (safetensors), save it as OUT with its metadata
 *   st_tool torch2st IN OUT [dup]       ckpt_load IN (torch.save), its state dict (root dict,
 *                                       or root["state_dict"]) saved as OUT safetensors
 *   st_tool check FILE                  load; exit 0, or 1 with the formatted error
 * Exit status 0, or 1 with the formatted ckpt error on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"

static int fail(const ckpt_error *err)
{
    char buf[1024];
    fprintf(stderr, "%s\n", ckpt_error_format(err, buf, sizeof(buf)));
    return 1;
}

static void hex(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
}

static int mode_of(const char *s)
{
    if (!s || strcmp(s, "copy") == 0)
        return CKPT_LOAD_COPY;
    if (strcmp(s, "mmap") == 0)
        return CKPT_LOAD_MMAP;
    return CKPT_LOAD_LAZY;
}

static int dump(const char *path, int mode)
{
    ckpt_error err;
    ckpt_doc *d = ckpt_safetensors_load(path, mode, NULL, &err);
    if (!d)
        return fail(&err);
    const ckpt_obj *md = ckpt_doc_metadata(d);
    for (size_t i = 0; md && i < ckpt_obj_len(md); i++) {
        size_t kl, vl;
        const char *k = ckpt_obj_str(ckpt_dict_key(md, i), &kl);
        const char *v = ckpt_obj_str(ckpt_dict_value(md, i), &vl);
        printf("meta\t");
        hex(k, kl);
        printf("\t");
        hex(v, vl);
        printf("\n");
    }
    const ckpt_obj *root = ckpt_doc_root(d);
    for (size_t i = 0; i < ckpt_obj_len(root); i++) {
        size_t kl;
        const char *k = ckpt_obj_str(ckpt_dict_key(root, i), &kl);
        const ckpt_obj *t = ckpt_dict_value(root, i);
        ckpt_tensor_info ti;
        if (ckpt_tensor_get_info(t, &ti) < 0 || !ckpt_tensor_data_load(d, t, &err)) {
            ckpt_doc_free(d);
            return fail(&err);
        }
        hex(k, kl);
        printf("\t%s\t", ckpt_dtype_name(ti.dtype));
        for (int j = 0; j < ti.ndim; j++)
            printf("%s%lld", j ? "," : "", (long long)ti.shape[j]);
        printf("\t");
        hex(ckpt_tensor_data(t), (size_t)ti.nbytes);
        printf("\n");
    }
    ckpt_doc_free(d);
    return 0;
}

static int resave(const char *in, const char *out)
{
    ckpt_error err;
    ckpt_doc *d = ckpt_safetensors_load(in, CKPT_LOAD_MMAP, NULL, &err);
    if (!d)
        return fail(&err);
    ckpt_st_save_opts o = {0};
    o.metadata = ckpt_doc_metadata(d);
    o.no_fsync = true;
    int rc = ckpt_safetensors_save(out, ckpt_doc_root(d), &o, &err);
    ckpt_doc_free(d);
    return rc < 0 ? fail(&err) : 0;
}

static int torch2st(const char *in, const char *out, bool dup)
{
    ckpt_error err;
    ckpt_doc *d = ckpt_load(in, NULL, &err);
    if (!d)
        return fail(&err);
    const ckpt_obj *root = ckpt_doc_root(d);
    const ckpt_obj *sd = ckpt_dict_get(root, "state_dict");
    ckpt_st_save_opts o = {0};
    o.duplicate_shared = dup;
    o.no_fsync = true;
    int rc = ckpt_safetensors_save(out, sd ? sd : root, &o, &err);
    ckpt_doc_free(d);
    return rc < 0 ? fail(&err) : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && strcmp(argv[1], "dump") == 0)
        return dump(argv[2], mode_of(argc > 3 ? argv[3] : NULL));
    if (argc == 4 && strcmp(argv[1], "resave") == 0)
        return resave(argv[2], argv[3]);
    if (argc >= 4 && strcmp(argv[1], "torch2st") == 0)
        return torch2st(argv[2], argv[3], argc > 4 && strcmp(argv[4], "dup") == 0);
    if (argc == 3 && strcmp(argv[1], "check") == 0) {
        ckpt_error err;
        ckpt_doc *d = ckpt_safetensors_load(argv[2], CKPT_LOAD_COPY, NULL, &err);
        if (!d)
            return fail(&err);
        ckpt_doc_free(d);
        return 0;
    }
    fprintf(stderr, "usage: st_tool dump FILE [copy|mmap|lazy] | resave IN OUT | "
                    "torch2st IN OUT [dup] | check FILE\n");
    return 2;
}
