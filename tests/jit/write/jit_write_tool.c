/* tests/jit/write/jit_write_tool.c - the C side of check_write.py:
 *   jit_write_tool onnx IN.onnx OUT.pt [--freeze]   ckpt_jit_save_onnx
 *   jit_write_tool module DIR                       the C models of jit_write_models.h
 *       (cmodel: a CNN, ctransformer: a transformer encoder layer) traced and
 *       written as DIR/NAME.pt and DIR/NAME_frozen.pt, with their input and
 *       ckpt's output as DIR/NAME.in.npy / NAME.out.npy
 *   jit_write_tool tensors FILE     ckpt_jit_load's tensors, one line each:
 *       NAME KIND DTYPE SHAPE FNV1A64-of-the-bytes  (the round-trip check)
 * Exit 0 on success, 1 with the error on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/core.h"
#include "ckpt/formats.h"
#include "ckpt/jit.h"
#include "ckpt/onnx.h"
#include "jit_write_models.h"

static int save_npy(const char *dir, const char *name, int ndim, const int64_t *shape,
                    const float *data, ckpt_error *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    ckpt_doc *d = ckpt_doc_new(NULL, err);
    if (!d)
        return -1;
    ckpt_obj *t = ckpt_tensor_new_copy(d, CKPT_F32, ndim, shape, data, err);
    int rc = t ? ckpt_npy_save(path, t, err) : -1;
    ckpt_doc_free(d);
    return rc;
}

static int write_module(const char *dir, const char *name, ckpt_module *m, int ndim,
                        const int64_t *shape, ckpt_error *err)
{
    size_t n = 1;
    for (int i = 0; i < ndim; i++)
        n *= (size_t)shape[i];
    float *x = malloc(n * sizeof(float));
    ckpt_tape *t = ckpt_tape_new(NULL, err);
    int rc = -1;
    if (!x || !t)
        goto out;
    jw_fill(x, n, 11);
    ckpt_tape_set_grad_enabled(t, false);
    ckpt_var *xv = ckpt_tape_tensor(t, ndim, shape, x, err);
    ckpt_var *y = xv ? ckpt_module_call(m, xv, err) : NULL;
    if (!y)
        goto out;
    char path[4096], file[256];
    snprintf(path, sizeof(path), "%s/%s.pt", dir, name);
    if (ckpt_jit_save_module(m, shape, ndim, path, NULL, err) < 0)
        goto out;
    snprintf(path, sizeof(path), "%s/%s_frozen.pt", dir, name);
    ckpt_jit_save_opts fo = {.freeze = true};
    if (ckpt_jit_save_module(m, shape, ndim, path, &fo, err) < 0)
        goto out;
    snprintf(file, sizeof(file), "%s.in.npy", name);
    if (save_npy(dir, file, ndim, shape, x, err) < 0)
        goto out;
    snprintf(file, sizeof(file), "%s.out.npy", name);
    if (save_npy(dir, file, ckpt_var_ndim(y), ckpt_var_shape(y), ckpt_var_data(y), err) < 0)
        goto out;
    rc = 0;
out:
    ckpt_tape_free(t);
    free(x);
    return rc;
}

static int cmd_module(const char *dir, ckpt_error *err)
{
    ckpt_module *m = jw_cnn(err);
    int rc = m ? write_module(dir, "cmodel", m, 4, jw_cnn_shape, err) : -1;
    ckpt_module_free(m);
    if (rc < 0)
        return rc;
    m = jw_transformer(err);
    rc = m ? write_module(dir, "ctransformer", m, 3, jw_transformer_shape, err) : -1;
    ckpt_module_free(m);
    return rc;
}

static int cmd_tensors(const char *path, ckpt_error *err)
{
    ckpt_jit_model *m = ckpt_jit_load(path, NULL, err);
    if (!m)
        return -1;
    for (size_t i = 0; i < ckpt_jit_tensor_count(m); i++) {
        ckpt_jit_tensor t;
        if (ckpt_jit_get_tensor(m, i, &t) < 0)
            continue;
        uint64_t h = 0xcbf29ce484222325ull;
        const unsigned char *p = t.data;
        for (uint64_t k = 0; p && k < t.nbytes; k++)
            h = (h ^ p[k]) * 0x100000001b3ull;
        static const char *const kinds[] = {"?", "param", "buffer", "attr", "const"};
        printf("%s %s %s [", t.name, t.kind >= 1 && t.kind <= 4 ? kinds[t.kind] : "?",
               ckpt_dtype_name(t.dtype));
        for (int d = 0; d < t.ndim; d++)
            printf("%s%lld", d ? "," : "", (long long)t.shape[d]);
        printf("] %016llx\n", (unsigned long long)h);
    }
    ckpt_jit_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    ckpt_error err = {0};
    int rc = -1;
    if (argc >= 4 && !strcmp(argv[1], "onnx")) {
        ckpt_onnx_model *m = ckpt_onnx_load(argv[2], NULL, &err);
        ckpt_jit_save_opts o = {.freeze = argc > 4 && !strcmp(argv[4], "--freeze")};
        rc = m ? ckpt_jit_save_onnx(m, argv[3], &o, &err) : -1;
        ckpt_onnx_model_free(m);
    } else if (argc == 3 && !strcmp(argv[1], "tensors")) {
        rc = cmd_tensors(argv[2], &err);
    } else if (argc == 3 && !strcmp(argv[1], "module")) {
        rc = cmd_module(argv[2], &err);
    } else {
        fprintf(stderr, "usage: jit_write_tool onnx IN OUT [--freeze] | module DIR\n");
        return 2;
    }
    if (rc < 0) {
        fprintf(stderr, "jit_write_tool: %s\n", err.msg);
        return 1;
    }
    return 0;
}
