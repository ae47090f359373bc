/* tests/fuzz/hf_fuzz.c - libFuzzer harness for the Hugging Face index reader
 * (src/store/hf.c).
 *
 * Once per process a folder is made (under $TMPDIR) holding a small state dict
 * saved by ckpt_hf_save as two .bin shards and a symlink that leads out of it;
 * each input is written as the folder's pytorch_model.bin.index.json and the
 * folder is loaded.  Invariants: a load fails with a negative status recorded
 * in the error, or gives a dict of at most the 4 saved tensors, each readable
 * (lazily) and equal to what was saved; no file outside the folder is read. */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/ckpt.h"
#include "ckpt/formats.h"

#include "fuzz_util.h"

static char g_dir[512];

static void cleanup(void)
{
    DIR *d = opendir(g_dir);
    struct dirent *de;
    while (d && (de = readdir(d)) != NULL) {
        char p[800];
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            snprintf(p, sizeof(p), "%s/%s", g_dir, de->d_name);
            unlink(p);
        }
    }
    if (d)
        closedir(d);
    rmdir(g_dir);
}

static void setup(void)
{
    const char *t = getenv("TMPDIR");
    snprintf(g_dir, sizeof(g_dir), "%s/ckpt_hf_fuzz_XXXXXX", t && t[0] ? t : "/tmp");
    FUZZ_ASSERT(mkdtemp(g_dir));
    atexit(cleanup);
    ckpt_doc *doc = ckpt_doc_new(NULL, NULL);
    ckpt_obj *sd = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    for (int i = 0; i < 4; i++) {
        float v[4] = {(float)i, 1, 2, 3};
        int64_t n = 4;
        char k[16];
        snprintf(k, sizeof(k), "w%d", i);
        ckpt_dict_set_str(doc, sd, k, ckpt_tensor_new_copy(doc, CKPT_F32, 1, &n, v, NULL), NULL);
    }
    ckpt_hf_save_opts o;
    memset(&o, 0, sizeof(o));
    o.bin = true;
    o.max_shard_size = 32;
    o.no_fsync = true;
    FUZZ_ASSERT(ckpt_hf_save(g_dir, sd, &o, NULL) == 0);
    ckpt_doc_free(doc);
    char ln[600];
    snprintf(ln, sizeof(ln), "%s/out.bin", g_dir);
    if (symlink("../../../../../../../../../etc/hostname", ln) != 0) {
        /* not fatal: the escape case is simply not available */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_dir[0])
        setup();
    char p[600];
    snprintf(p, sizeof(p), "%s/pytorch_model.bin.index.json", g_dir);
    FILE *f = fopen(p, "wb");
    FUZZ_ASSERT(f);
    if (size)
        FUZZ_ASSERT(fwrite(data, 1, size, f) == size);
    fclose(f);
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_doc *doc = ckpt_hf_load(g_dir, NULL, &err);
    if (!doc) {
        FUZZ_ASSERT(err.code < 0);
        return 0;
    }
    const ckpt_obj *root = ckpt_doc_root(doc);
    FUZZ_ASSERT(ckpt_obj_type(root) == CKPT_T_DICT && ckpt_obj_len(root) <= 4);
    for (size_t i = 0; i < ckpt_obj_len(root); i++) {
        const char *k = ckpt_obj_str(ckpt_dict_key(root, i), NULL);
        FUZZ_ASSERT(k && k[0] == 'w' && k[1] >= '0' && k[1] <= '3' && !k[2]);
        const float *v = ckpt_tensor_data_load(doc, ckpt_dict_value(root, i), &err);
        FUZZ_ASSERT(v && v[0] == (float)(k[1] - '0') && v[3] == 3.0f);
    }
    ckpt_doc_free(doc);
    return 0;
}
