/* tests/interop/zip64_tool.c OUT - writes {'big': a uint8 tensor of 4 GiB + 64 bytes
 * (zeros, last byte 7), 'small': int64 [1, 2, 3]} with ckpt_save (torch 1.13 layout),
 * then reads it back in mmap mode.  tests/interop/zip64_big.sh compares the file
 * with torch.save's for the same object, byte for byte. */
#define _DEFAULT_SOURCE
#include <ckpt/ckpt.h>
#include <stdio.h>
#include <sys/mman.h>
int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    uint64_t n = 4294967360ull;
    unsigned char *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
                            MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return 1;
    p[n - 1] = 7;
    ckpt_error e;
    ckpt_doc *d = ckpt_doc_new(NULL, &e);
    ckpt_storage *s = ckpt_storage_new_borrow(d, CKPT_U8, p, n, &e);
    int64_t shape[1] = {(int64_t)n};
    ckpt_obj *t = ckpt_tensor_new(d, s, CKPT_U8, 1, shape, NULL, 0, &e);
    int64_t v[3] = {1, 2, 3}, sh3[1] = {3};
    ckpt_obj *t2 = ckpt_tensor_new_copy(d, CKPT_I64, 1, sh3, v, &e);
    ckpt_obj *root = ckpt_dict_new(d, CKPT_DICT_PLAIN);
    ckpt_dict_set_str(d, root, "big", t, &e);
    ckpt_dict_set_str(d, root, "small", t2, &e);
    ckpt_save_opts so = {0};
    so.layout = CKPT_LAYOUT_TORCH13;
    so.no_fsync = 1;
    if (ckpt_save(argv[1], root, &so, &e)) {
        char b[512];
        printf("%s\n", ckpt_error_format(&e, b, sizeof b));
        return 1;
    }
    /* read back with ckpt in mmap mode */
    ckpt_load_opts lo = {0};
    lo.mode = CKPT_LOAD_MMAP;
    ckpt_doc *r = ckpt_load(argv[1], &lo, &e);
    if (!r) {
        char b[512];
        printf("load: %s\n", ckpt_error_format(&e, b, sizeof b));
        return 1;
    }
    const unsigned char *bd = ckpt_tensor_data(ckpt_obj_get(ckpt_doc_root(r), "big", NULL));
    const int64_t *sd = ckpt_tensor_data(ckpt_obj_get(ckpt_doc_root(r), "small", NULL));
    printf("ckpt reads back: last byte %d, small %lld %lld %lld\n", bd[n - 1], (long long)sd[0],
           (long long)sd[1], (long long)sd[2]);
    ckpt_doc_free(r);
    ckpt_doc_free(d);
    return 0;
}
