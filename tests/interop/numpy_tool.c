/* tests/interop/numpy_tool.c - the C side of tests/interop/numpy_oracle.py.
 *
 *   numpy_tool dump FILE          one line per array: key, dtype, shape, C-order hex bytes
 *                                 (a .npy prints key "-")
 *   numpy_tool roundtrip IN OUT   load IN (.npy or .npz) and save it as OUT
 *   numpy_tool noncontig OUT      save arange(24, int32).reshape(4, 6)[:, ::2] as .npy
 *   numpy_tool transposed OUT     save arange(6, float64).reshape(2, 3).T as .npy
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

static int dump_one(const char *key, const ckpt_obj *t)
{
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) < 0)
        return 1;
    printf("%s\t%s\t", key, ckpt_dtype_name(ti.dtype));
    for (int i = 0; i < ti.ndim; i++)
        printf("%s%lld", i ? "," : "", (long long)ti.shape[i]);
    printf("\t");
    unsigned char *b = malloc(ti.nbytes ? ti.nbytes : 1);
    ckpt_error err;
    if (!b || ckpt_tensor_copy_into(t, b, ti.nbytes, &err) < 0) {
        free(b);
        return 1;
    }
    for (uint64_t i = 0; i < ti.nbytes; i++)
        printf("%02x", b[i]);
    printf("\n");
    free(b);
    return 0;
}

static int view_save(const char *out, int dtype, int64_t n, int ndim, const int64_t *shape,
                     const int64_t *stride)
{
    ckpt_error err;
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    if (!doc)
        return fail(&err);
    size_t isz = ckpt_dtype_size(dtype);
    ckpt_storage *s = ckpt_storage_new(doc, dtype, (uint64_t)n * isz, &err);
    if (!s)
        return fail(&err);
    unsigned char *p = ckpt_storage_data_mut(s);
    for (int64_t i = 0; i < n; i++) {
        if (dtype == CKPT_I32) {
            int32_t v = (int32_t)i;
            memcpy(p + (size_t)i * isz, &v, isz);
        } else {
            double v = (double)i;
            memcpy(p + (size_t)i * isz, &v, isz);
        }
    }
    ckpt_obj *t = ckpt_tensor_new(doc, s, dtype, ndim, shape, stride, 0, &err);
    int rc = t && ckpt_npy_save(out, t, &err) == 0 ? 0 : fail(&err);
    ckpt_doc_free(doc);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: numpy_tool dump FILE | roundtrip IN OUT | noncontig OUT\n");
        return 2;
    }
    ckpt_error err;
    if (strcmp(argv[1], "noncontig") == 0) {
        int64_t shape[2] = {4, 3}, stride[2] = {6, 2};
        return view_save(argv[2], CKPT_I32, 24, 2, shape, stride);
    }
    if (strcmp(argv[1], "transposed") == 0) {
        int64_t shape[2] = {3, 2}, stride[2] = {1, 3};
        return view_save(argv[2], CKPT_F64, 6, 2, shape, stride);
    }
    ckpt_doc *doc = ckpt_numpy_load(argv[2], NULL, &err);
    if (!doc)
        return fail(&err);
    /* the same call with err == NULL must agree */
    ckpt_doc *again = ckpt_numpy_load(argv[2], NULL, NULL);
    if (!again) {
        fprintf(stderr, "load with err == NULL failed where it succeeded with a record\n");
        ckpt_doc_free(doc);
        return 1;
    }
    ckpt_doc_free(again);
    const ckpt_obj *root = ckpt_doc_root(doc);
    int rc = 0;
    if (strcmp(argv[1], "dump") == 0) {
        if (ckpt_obj_type(root) == CKPT_T_TENSOR)
            rc = dump_one("-", root);
        else
            for (size_t i = 0; i < ckpt_obj_len(root) && rc == 0; i++)
                rc = dump_one(ckpt_obj_str(ckpt_dict_key(root, i), NULL),
                              ckpt_dict_value(root, i));
    } else if (strcmp(argv[1], "roundtrip") == 0 && argc > 3) {
        if (ckpt_obj_type(root) == CKPT_T_TENSOR)
            rc = ckpt_npy_save(argv[3], root, &err) == 0 ? 0 : fail(&err);
        else
            rc = ckpt_npz_save(argv[3], root, &err) == 0 ? 0 : fail(&err);
    } else {
        rc = 2;
    }
    ckpt_doc_free(doc);
    return rc;
}
