/* tests/jit/write/write_test.c - ckpt_jit_save_onnx / ckpt_jit_save_module
 * in C: the records torch.jit.save writes (data/N, data.pkl, code/__torch__.py,
 * constants/N, constants.pkl, version) 64-byte aligned under the archive
 * folder, the traced-style class, parameter bytes equal to the ONNX
 * initializers, freeze (no parameters, tensors in constants/), refusals (an op
 * without an aten mapping names the node and leaves no file, an existing file
 * is kept).  torch 1.13 loading and running the archives is check_write.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ckpt/jit.h"
#include "ckpt/onnx.h"
#include "ckpt/source.h"
#include "ckpt/zip.h"
#include "jit_write_models.h"
#include "onnx/onnx_build.h"
#include "onnx/onnx_internal.h"
#include "util/test.h"

#define FIX "tests/fixtures/jit/write/"

static char tmpdir[512];

static void rm_tmpdir(void)
{
    if (tmpdir[0])
        rmdir(tmpdir);
}

static const char *tmp_path(const char *name, char *buf, size_t n)
{
    if (!tmpdir[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir, sizeof(tmpdir), "%s/ckpt_jw_XXXXXX", t && *t ? t : "/tmp");
        if (!mkdtemp(tmpdir))
            tmpdir[0] = '\0';
        else
            atexit(rm_tmpdir);
    }
    snprintf(buf, n, "%s/%s", tmpdir, name);
    return buf;
}

typedef struct archive {
    ckpt_source src;
    ckpt_zip *z;
    bool open;
} archive;

static bool arc_open(archive *a, const char *path)
{
    ckpt_error err = {0};
    memset(a, 0, sizeof(*a));
    if (ckpt_source_open_file(&a->src, path, false, &err) < 0)
        return false;
    a->open = true;
    a->z = ckpt_zip_open(&a->src, NULL, NULL, &err);
    return a->z != NULL;
}

static void arc_close(archive *a)
{
    ckpt_zip_close(a->z);
    if (a->open)
        ckpt_source_close(&a->src);
}

/* a record's bytes, NUL-terminated (malloc'd) */
static char *arc_text(archive *a, const char *rec, size_t *len)
{
    const ckpt_zip_entry *e = ckpt_zip_find(a->z, rec);
    if (!e)
        return NULL;
    char *p = malloc((size_t)e->size + 1);
    ckpt_error err = {0};
    if (!p || ckpt_zip_read(a->z, e, p, (size_t)e->size, true, &err) < 0) {
        free(p);
        return NULL;
    }
    p[e->size] = '\0';
    if (len)
        *len = (size_t)e->size;
    return p;
}

static bool has_bytes(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(hay + i, needle, k))
            return true;
    return false;
}

TEST(test_jit_write__onnx_archive_records)
{
    ckpt_error err = {0};
    ckpt_onnx_model *m = ckpt_onnx_load(FIX "mlp.onnx", NULL, &err);
    CHECK(m != NULL);
    char path[1024];
    tmp_path("mlp.pt", path, sizeof(path));
    CHECK_EQ_INT(ckpt_jit_save_onnx(m, path, NULL, &err), 0);
    archive a;
    CHECK(arc_open(&a, path));
    CHECK(!strcmp(ckpt_zip_prefix(a.z), "mlp"));
    const char *need[] = {"data.pkl", "code/__torch__.py", "constants.pkl", "version", "data/0"};
    for (size_t i = 0; i < sizeof(need) / sizeof(*need); i++)
        CHECK(ckpt_zip_find(a.z, need[i]) != NULL);
    for (size_t i = 0; i < ckpt_zip_count(a.z); i++) {
        const ckpt_zip_entry *e = ckpt_zip_entry_at(a.z, i);
        CHECK_EQ_INT(e->method, 0);
        CHECK_EQ_INT(e->data_offset % 64, 0);
    }
    size_t n;
    char *code = arc_text(&a, "code/__torch__.py", &n);
    CHECK(code != NULL);
    CHECK(strstr(code, "class Model(Module):\n  __parameters__ = [") == code);
    CHECK(strstr(code, "  fc1 : __torch__.Model_fc1\n"));
    CHECK(
        strstr(code, "class Model_fc1(Module):\n  __parameters__ = [\"weight\", \"bias\", ]\n"));
    CHECK(strstr(code, "  training : bool\n"));
    CHECK(strstr(code, "  def forward(self: __torch__.Model,\n    x: Tensor) -> Tensor:\n"));
    CHECK(strstr(code, "torch.linear(x, self.fc1.weight, self.fc1.bias)"));
    CHECK(strstr(code, "torch.softmax("));
    free(code);
    char *ver = arc_text(&a, "version", NULL);
    CHECK(ver && !strcmp(ver, "3\n"));
    free(ver);
    char *pkl = arc_text(&a, "data.pkl", &n);
    CHECK(pkl && (unsigned char)pkl[0] == 0x80 && pkl[1] == 2);
    CHECK(has_bytes(pkl, n, "c__torch__\nModel\n"));
    CHECK(has_bytes(pkl, n, "ctorch\nFloatStorage\n"));
    free(pkl);
    /* every data/N record holds the bytes of one ONNX initializer */
    for (size_t i = 0; i < ckpt_zip_count(a.z); i++) {
        const ckpt_zip_entry *e = ckpt_zip_entry_at(a.z, i);
        if (strncmp(e->record, "data/", 5))
            continue;
        char *d = arc_text(&a, e->record, &n);
        bool found = false;
        for (int k = 0; d && k < m->graph->n_initializers; k++) {
            const ox_val *v = &m->graph->values[m->graph->initializers[k]].init;
            if (ox_val_nbytes(v) == n && !memcmp(v->data, d, n))
                found = true;
        }
        free(d);
        CHECK(found);
    }
    arc_close(&a);
    ckpt_onnx_model_free(m);
    unlink(path);
}

TEST(test_jit_write__freeze_inlines_constants)
{
    ckpt_error err = {0};
    ckpt_onnx_model *m = ckpt_onnx_load(FIX "cnn.onnx", NULL, &err);
    CHECK(m != NULL);
    char path[1024];
    tmp_path("cnn_frozen.pt", path, sizeof(path));
    ckpt_jit_save_opts o = {.freeze = true};
    CHECK_EQ_INT(ckpt_jit_save_onnx(m, path, &o, &err), 0);
    archive a;
    CHECK(arc_open(&a, path));
    CHECK(ckpt_zip_find(a.z, "data/0") == NULL);
    CHECK(ckpt_zip_find(a.z, "constants/0") != NULL);
    size_t n;
    char *code = arc_text(&a, "code/__torch__.py", &n);
    CHECK(code != NULL);
    CHECK(strstr(code, "__parameters__ = []\n  __buffers__ = []\n"));
    CHECK(!strstr(code, "training"));
    CHECK(strstr(code, "torch.conv2d(") && strstr(code, "CONSTANTS.c0"));
    CHECK(strstr(code, "torch.max_pool2d(") && strstr(code, "torch.batch_norm("));
    free(code);
    char *cst = arc_text(&a, "constants.pkl", &n);
    CHECK(cst && has_bytes(cst, n, "_rebuild_tensor_v2"));
    free(cst);
    arc_close(&a);
    ckpt_onnx_model_free(m);
    unlink(path);
}

TEST(test_jit_write__unmapped_op_names_node_leaves_no_file)
{
    ckpt_error err = {0};
    ckpt_onnx_model *m = ckpt_onnx_load(FIX "unsupported.onnx", NULL, &err);
    CHECK(m != NULL);
    char path[1024];
    tmp_path("bad.pt", path, sizeof(path));
    unlink(path);
    CHECK_EQ_INT(ckpt_jit_save_onnx(m, path, NULL, &err), CKPT_E_UNSUPPORTED);
    CHECK(strstr(err.msg, "DepthToSpace") != NULL);
    CHECK(access(path, F_OK) != 0);
    /* an existing file is left as it was */
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    fputs("old", f);
    fclose(f);
    CHECK_EQ_INT(ckpt_jit_save_onnx(m, path, NULL, &err), CKPT_E_UNSUPPORTED);
    size_t len = 0;
    unsigned char *b = test_read_file(path, &len);
    CHECK(b && len == 3 && !memcmp(b, "old", 3));
    free(b);
    unlink(path);
    ckpt_onnx_model_free(m);
}

TEST(test_jit_write__module_traced_and_class_name)
{
    ckpt_error err = {0};
    ckpt_module *mod = jw_cnn(&err);
    CHECK(mod != NULL);
    char path[1024];
    tmp_path("net.pt", path, sizeof(path));
    ckpt_jit_save_opts o = {.class_name = "Net"};
    CHECK_EQ_INT(ckpt_jit_save_module(mod, jw_cnn_shape, 4, path, &o, &err), 0);
    archive a;
    CHECK(arc_open(&a, path));
    size_t n;
    char *code = arc_text(&a, "code/__torch__.py", &n);
    CHECK(code && strstr(code, "class Net(Module):"));
    CHECK(strstr(code, "def forward(self: __torch__.Net,"));
    CHECK(strstr(
        code,
        "torch.conv2d(x, getattr(self, \"0\").weight, getattr(self, \"0\").bias, [1, 1], [1, 1], [1, 1], 1)"));
    CHECK(strstr(code, "torch.max_pool2d(") && strstr(code, "torch.avg_pool2d("));
    CHECK(strstr(code, "torch.linear(") && strstr(code, "torch.softmax("));
    free(code);
    char *pkl = arc_text(&a, "data.pkl", &n);
    CHECK(pkl && has_bytes(pkl, n, "c__torch__\nNet\n"));
    free(pkl);
    arc_close(&a);
    unlink(path);
    ckpt_module_free(mod);
}

TEST(test_jit_write__bad_arguments)
{
    ckpt_error err = {0};
    char path[1024];
    tmp_path("arg.pt", path, sizeof(path));
    CHECK_EQ_INT(ckpt_jit_save_onnx(NULL, path, NULL, &err), CKPT_E_ARG);
    ckpt_onnx_model *m = ckpt_onnx_load(FIX "mlp.onnx", NULL, &err);
    CHECK(m != NULL);
    ckpt_jit_save_opts o = {.class_name = "bad name"};
    CHECK_EQ_INT(ckpt_jit_save_onnx(m, path, &o, &err), CKPT_E_ARG);
    o.class_name = "9x";
    CHECK_EQ_INT(ckpt_jit_save_onnx(m, path, &o, &err), CKPT_E_ARG);
    CHECK(access(path, F_OK) != 0);
    CHECK_EQ_INT(ckpt_jit_save_module(NULL, jw_cnn_shape, 4, path, NULL, &err), CKPT_E_ARG);
    ckpt_onnx_model_free(m);
}

/* y = OP(x) over a (2, 3) float input declared with `rank` (-1: no shape) */
static ckpt_onnx_model *one_node(const char *op, const char *domain, int rank, int cast_to)
{
    ckpt_error err = {0};
    ob_model *b = ob_new(&err);
    if (!b)
        return NULL;
    int64_t dims[2] = {2, 3};
    ox_type t = ob_tensor_type(OX_FLOAT, rank, dims, NULL);
    const char *in[1] = {"x"}, *out[1] = {"y"};
    ob_node *n = NULL;
    bool ok = ob_set_opset(b, "", 17, &err) == 0 &&
              (!domain || ob_set_opset(b, domain, 1, &err) == 0) &&
              ob_add_input(b, "x", rank >= 0 ? &t : NULL, &err) == 0 &&
              (n = ob_add_node(b, op, "the_node", 1, in, 1, out, &err)) != NULL &&
              (cast_to < 0 || ob_attr_int(n, "to", cast_to, &err) == 0) &&
              ob_add_output(b, "y", NULL, &err) == 0;
    if (ok && domain) {
        free(n->domain);
        n->domain = malloc(strlen(domain) + 1);
        if (n->domain)
            memcpy(n->domain, domain, strlen(domain) + 1);
        ok = n->domain != NULL;
    }
    ckpt_onnx_model *m = ok ? ob_to_model(b, &err) : NULL;
    ob_free(b);
    return m;
}

TEST(test_jit_write__hostile_graphs_refused_cleanly)
{
    ckpt_error err = {0};
    char path[1024];
    tmp_path("hostile.pt", path, sizeof(path));
    unlink(path);
    /* a cast to a type torch has no scalar type for: the node is named */
    ckpt_onnx_model *m = one_node("Cast", NULL, 2, OX_UINT16);
    CHECK(m != NULL);
    CHECK_EQ_INT(ckpt_jit_save_onnx(m, path, NULL, &err), CKPT_E_UNSUPPORTED);
    CHECK(strstr(err.msg, "the_node") && strstr(err.msg, "Cast"));
    CHECK(access(path, F_OK) != 0);
    ckpt_onnx_model_free(m);
    /* an input without a shape: no example run, refused naming the input */
    m = one_node("Relu", NULL, -1, -1);
    CHECK(m != NULL);
    CHECK_EQ_INT(ckpt_jit_save_onnx(m, path, NULL, &err), CKPT_E_UNSUPPORTED);
    CHECK(strstr(err.msg, "'x'") != NULL);
    CHECK(access(path, F_OK) != 0);
    ckpt_onnx_model_free(m);
    /* an op ckpt maps and runs, but written: Relu works */
    m = one_node("Relu", NULL, 2, -1);
    CHECK(m != NULL);
    CHECK_EQ_INT(ckpt_jit_save_onnx(m, path, NULL, &err), 0);
    CHECK(access(path, F_OK) == 0);
    unlink(path);
    ckpt_onnx_model_free(m);
    /* a node of another domain: refused, named */
    m = one_node("Foo", "com.example", 2, -1);
    if (m) {
        CHECK(ckpt_jit_save_onnx(m, path, NULL, &err) < 0);
        CHECK(strstr(err.msg, "the_node") || strstr(err.msg, "Foo"));
        CHECK(access(path, F_OK) != 0);
        ckpt_onnx_model_free(m);
    }
}

TEST_MAIN()
