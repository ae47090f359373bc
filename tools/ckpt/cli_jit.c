/* tools/ckpt/cli_jit.c - `ckpt ls`, `show` and `extract --state-dict` on models the jit layer
 * reads (TorchScript and lite archives, .pt2 archives, full-model pickles): the module's
 * tensors in torch's order, its tree with methods, its state dict. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/jit.h"
#include "cli.h"
#include "cli_jit.h"

bool cli_jit_file(const char *path)
{
    char why[320];
    const char *kind = ckpt_detect_file(path, why, sizeof(why), NULL);
    if (strcmp(kind, "torchscript") == 0 || strcmp(kind, "torchscript-lite") == 0)
        return true;
    if (strcmp(kind, "zip") != 0 && strcmp(kind, "torch-zip") != 0)
        return false;
    /* torch.export archives (.pt2): a folder prefix (2.8+) or a flat zip (2.1-2.7) */
    ckpt_source src;
    if (ckpt_source_open_file(&src, path, true, NULL) < 0)
        return false;
    bool pt2 = false;
    for (int flat = 0; flat < 2 && !pt2; flat++) {
        ckpt_zip_opts zo;
        memset(&zo, 0, sizeof(zo));
        zo.flat = flat == 1;
        ckpt_zip *z = ckpt_zip_open(&src, &zo, NULL, NULL);
        if (!z)
            continue;
        pt2 = ckpt_zip_find(z, "archive_format") != NULL ||
              ckpt_zip_find(z, "serialized_exported_program.json") != NULL;
        for (size_t i = 0; !pt2 && i < ckpt_zip_count(z); i++) {
            const char *rec = ckpt_zip_entry_at(z, i)->record;
            pt2 = rec && (strncmp(rec, "models/", 7) == 0 ||
                          strstr(rec, "serialized_exported_program") != NULL);
        }
        ckpt_zip_close(z);
    }
    ckpt_source_close(&src);
    return pt2;
}

bool cli_jit_module_doc(const ckpt_doc *doc)
{
    const ckpt_obj *r = doc ? ckpt_doc_root(doc) : NULL;
    const ckpt_obj *st = r && ckpt_obj_type(r) == CKPT_T_OBJECT ? ckpt_object_state(r) : NULL;
    return st && ckpt_obj_type(st) == CKPT_T_DICT && ckpt_dict_get(st, "_modules") &&
           ckpt_dict_get(st, "_parameters");
}

static const char *kind_name(int k)
{
    return k == CKPT_JIT_PARAM    ? "parameter"
           : k == CKPT_JIT_BUFFER ? "buffer"
           : k == CKPT_JIT_ATTR   ? "attribute"
                                  : "constant";
}

static void shape_text(char *buf, size_t n, const int64_t *v, int nd)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, n - o, "[");
    for (int i = 0; i < nd && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%" PRId64, i ? ", " : "", v[i]);
    if (o < n)
        snprintf(buf + o, n - o, "]");
}

int cli_jit_ls(ckpt_jit_model *m, bool json)
{
    size_t n = ckpt_jit_tensor_count(m);
    uint64_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        ckpt_jit_tensor t;
        if (ckpt_jit_get_tensor(m, i, &t) < 0)
            return EXIT_ERROR;
        bytes += t.nbytes;
        const char *dn = ckpt_dtype_name(t.dtype);
        if (!json) {
            char shape[512];
            shape_text(shape, sizeof(shape), t.shape, t.ndim);
            printf("%-48s %-10s %-22s %12" PRIu64 "%s%s\n", t.name, dn ? dn : "?", shape,
                   t.nbytes, t.kind == CKPT_JIT_PARAM ? "" : "  ",
                   t.kind == CKPT_JIT_PARAM ? "" : kind_name(t.kind));
            continue;
        }
        cJSON *o = cJSON_CreateObject();
        cJSON *sh = cJSON_CreateArray();
        if (!o || !sh) {
            cJSON_Delete(o);
            cJSON_Delete(sh);
            return EXIT_ERROR;
        }
        for (int d = 0; d < t.ndim; d++)
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t.shape[d]));
        cJSON_AddStringToObject(o, "key", t.name);
        cJSON_AddStringToObject(o, "kind", kind_name(t.kind));
        cJSON_AddStringToObject(o, "dtype", dn ? dn : "?");
        cJSON_AddItemToObject(o, "shape", sh);
        cJSON_AddNumberToObject(o, "nbytes", (double)t.nbytes);
        cJSON_AddBoolToObject(o, "requires_grad", t.requires_grad);
        /* CRC-32 of the row-major bytes: a value check without printing them */
        uint32_t crc = t.nbytes && t.data ? ckpt_crc32(0, t.data, (size_t)t.nbytes) : 0;
        cJSON_AddNumberToObject(o, "crc32", (double)crc);
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        if (!s)
            return EXIT_ERROR;
        printf("%s%s", i ? ",\n" : "[\n", s);
        cJSON_free(s);
    }
    if (json)
        printf("%s]\n", n ? "\n" : "[\n");
    else
        printf("# %zu tensors, %" PRIu64 " bytes (%s %s)\n", n, bytes,
               ckpt_jit_format_name(ckpt_jit_format(m)),
               ckpt_jit_root_class(m) ? ckpt_jit_root_class(m) : "module");
    return EXIT_OK;
}

int cli_jit_show(ckpt_jit_model *m, bool code)
{
    ckpt_error err;
    if (ckpt_jit_print(m, stdout, code ? CKPT_JIT_SHOW_CODE : 0, &err) < 0) {
        cli_print_error("show", &err);
        return EXIT_ERROR;
    }
    return EXIT_OK;
}

int cli_jit_state_dict(const char *path, const char *out, const ckpt_save_opts *so)
{
    ckpt_error err = {0}; /* h-pt2: read uninitialized on the .pt2 path */
    ckpt_jit_model *m = ckpt_jit_load(path, NULL, &err);
    if (!m) {
        cli_print_error("extract", &err);
        return EXIT_ERROR;
    }
    ckpt_doc *sd = ckpt_jit_state_dict(m, &err);
    int rc = sd ? ckpt_save(out, ckpt_doc_root(sd), so, &err) : -1;
    ckpt_doc_free(sd);
    ckpt_jit_free(m);
    if (rc < 0) {
        cli_print_error("extract", &err);
        return EXIT_ERROR;
    }
    return EXIT_OK;
}
