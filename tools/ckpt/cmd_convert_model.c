/* tools/ckpt/cmd_convert_model.c - `ckpt convert --to onnx|torchscript`: models, not weights. */
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_onnx.h"

static const char help[] =
    "usage: ckpt convert IN OUT --to onnx|torchscript|full-model [--input NAME=FILE.npy]...\n"
    "                    [--shape NAME=D0,D1,...]... [--freeze]\n"
    "\n"
    "Convert a model between formats:\n"
    "  --to onnx         IN is a TorchScript or lite archive, a full-model pickle of\n"
    "                    torch.nn classes or a torch.export (.pt2) archive: it is run once\n"
    "                    on the example inputs and the run is traced into an ONNX graph\n"
    "                    (what torch.onnx.export does); the graph is then checked against\n"
    "                    the model on a second input, and refused when they differ (a\n"
    "                    shape or branch that depends on the input was baked in).\n"
    "  --to torchscript  IN is an ONNX model, or any model --to onnx accepts (traced\n"
    "                    first): written as a TorchScript archive torch.jit.load runs.\n"
    "  --input NAME=FILE   an example input from a .npy file (NAME: the forward's\n"
    "                      argument name); --input FILE: the next argument in order\n"
    "  --shape NAME=DIMS   an example float32 input of that shape, with random values\n"
    "  --freeze            TorchScript: parameters inlined as constants (torch.jit.freeze)\n"
    "\n"
    "  --to full-model   IN is an ONNX model or any model --to onnx accepts (traced\n"
    "                    first) whose graph is a chain of Gemm / Conv / BatchNormalization /\n"
    "                    activation / pool / Flatten nodes: written as torch.save(model) of\n"
    "                    an nn.Sequential of torch.nn classes (torch.load runs it).\n"
    "OUT is replaced atomically.  Exit status: 0 written, 2 error.\n";

enum { MAX_IN = 32 };

typedef struct ex_input {
    ckpt_jit_value v;
    ckpt_doc *doc; /* owns a .npy's data */
    float *buf;    /* owns a random input's data */
} ex_input;

static int parse_dims(const char *s, ckpt_jit_value *v)
{
    v->ndim = 0;
    while (*s) {
        char *end;
        long long d = strtoll(s, &end, 10);
        if (end == s || d < 0 || d > (1LL << 31) || v->ndim >= CKPT_ONNX_MAX_RANK)
            return -1;
        v->shape[v->ndim++] = d;
        s = end;
        if (*s == ',')
            s++;
        else if (*s)
            return -1;
    }
    return 0;
}

static int random_input(ex_input *e, uint64_t *seed)
{
    int64_t n = 1;
    for (int d = 0; d < e->v.ndim; d++) {
        n *= e->v.shape[d];
        if (n > (1LL << 28))
            return -1;
    }
    e->buf = malloc((size_t)(n ? n : 1) * sizeof(float));
    if (!e->buf)
        return -1;
    for (int64_t i = 0; i < n; i++) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        e->buf[i] = (float)((double)(*seed >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    e->v.kind = CKPT_JIT_V_TENSOR;
    e->v.dtype = CKPT_F32;
    e->v.data = e->buf;
    return 0;
}

static int npy_input(ex_input *e, const char *file, ckpt_error *err)
{
    e->doc = ckpt_numpy_load(file, NULL, err);
    if (!e->doc)
        return -1;
    const ckpt_obj *t = ckpt_doc_root(e->doc);
    ckpt_tensor_info ti;
    if (!t || ckpt_obj_type(t) != CKPT_T_TENSOR || ckpt_tensor_get_info(t, &ti) < 0 ||
        (int)ti.ndim > CKPT_ONNX_MAX_RANK) {
        snprintf(err->msg, sizeof err->msg, "%s: not a single tensor", file);
        err->code = CKPT_E_FORMAT;
        return -1;
    }
    e->v.kind = CKPT_JIT_V_TENSOR;
    e->v.dtype = ti.dtype;
    e->v.ndim = (int)ti.ndim;
    for (int d = 0; d < (int)ti.ndim; d++)
        e->v.shape[d] = ti.shape[d];
    e->v.data = ckpt_tensor_data(t);
    return e->v.data || !ti.numel ? 0 : -1;
}

int cmd_convert_model(int argc, char **argv)
{
    const char *in = NULL, *out = NULL, *to = NULL;
    ex_input ins[MAX_IN];
    memset(ins, 0, sizeof ins);
    size_t n_in = 0;
    bool freeze = false;
    uint64_t seed = 0x5eed;
    ckpt_error err;
    ckpt_error_clear(&err);
    int code = EXIT_ERROR;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (cli_is_help(a)) {
            fputs(help, stdout);
            code = EXIT_OK;
            goto done;
        }
        bool takes = !strcmp(a, "--to") || !strcmp(a, "--input") || !strcmp(a, "--shape");
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "ckpt convert: %s needs a value\n", a);
            goto done;
        }
        if (!strcmp(a, "--to")) {
            to = argv[++i];
        } else if (!strcmp(a, "--freeze")) {
            freeze = true;
        } else if (!strcmp(a, "--input") || !strcmp(a, "--shape")) {
            const char *v = argv[++i];
            const char *eq = strchr(v, '=');
            if (!eq && a[2] == 'i' && n_in < MAX_IN) {
                /* --input FILE.npy: the next positional argument */
                if (npy_input(&ins[n_in++], v, &err) < 0) {
                    cli_print_error("convert", &err);
                    goto done;
                }
                continue;
            }
            if (!eq || eq == v || n_in >= MAX_IN) {
                fprintf(stderr, "ckpt convert: %s takes NAME=%s\n", a,
                        a[2] == 'i' ? "FILE.npy" : "D0,D1,...");
                goto done;
            }
            ex_input *e = &ins[n_in++];
            char *name = strndup(v, (size_t)(eq - v));
            if (!name)
                goto done;
            e->v.name = name;
            if (a[2] == 's') {
                if (parse_dims(eq + 1, &e->v) < 0 || random_input(e, &seed) < 0) {
                    fprintf(stderr, "ckpt convert: --shape %s: bad or too large dims\n", v);
                    goto done;
                }
            } else if (npy_input(e, eq + 1, &err) < 0) {
                cli_print_error("convert", &err);
                goto done;
            }
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ckpt convert: unknown option %s\n\n%s", a, help);
            goto done;
        } else if (!in) {
            in = a;
        } else if (!out) {
            out = a;
        } else {
            fprintf(stderr, "ckpt convert: too many arguments\n");
            goto done;
        }
    }
    if (!in || !out || !to) {
        fputs(help, stderr);
        goto done;
    }
    bool want_ts = !strcmp(to, "torchscript"), want_full = !strcmp(to, "full-model");
    if (!want_ts && !want_full && strcmp(to, "onnx") != 0) {
        fprintf(stderr,
                "ckpt convert: --to %s is not a model format (onnx, torchscript, full-model)\n",
                to);
        goto done;
    }
    ckpt_jit_save_opts so = {.freeze = freeze};
    if (cli_onnx_file(in)) {
        if (!want_ts && !want_full) {
            fprintf(stderr, "ckpt convert: %s is already ONNX\n", in);
            goto done;
        }
        ckpt_onnx_model *g = ckpt_onnx_load(in, NULL, &err);
        if (!g || (want_full ? ckpt_jit_save_onnx_full_model(g, out, &err)
                             : ckpt_jit_save_onnx(g, out, &so, &err)) < 0) {
            cli_print_error("convert", &err);
            ckpt_onnx_model_free(g);
            goto done;
        }
        ckpt_onnx_model_free(g);
        printf("%s: ONNX graph written as %s%s\n", out,
               want_full ? "a full-model pickle of torch.nn classes" : "a TorchScript archive",
               freeze && want_ts ? " (frozen)" : "");
        code = EXIT_OK;
        goto done;
    }
    ckpt_jit_model *m = ckpt_jit_load(in, NULL, &err);
    if (!m) {
        cli_print_error("convert", &err);
        goto done;
    }
    if (!n_in) {
        fprintf(stderr,
                "ckpt convert: tracing %s needs example inputs: --input NAME=FILE.npy "
                "or --shape NAME=D0,D1,...\n",
                in);
        ckpt_jit_free(m);
        goto done;
    }
    /* inputs named after the forward's arguments go in its order */
    ckpt_jit_value vals[MAX_IN];
    size_t n_args = 0;
    const char *const *names = NULL, *const *types = NULL;
    if (ckpt_jit_signature(m, "forward", &n_args, &names, &types, NULL) == 0 && n_args &&
        n_args <= MAX_IN) {
        size_t used = 0, pos = 0;
        for (size_t k = 0; k < n_args; k++) {
            size_t j = 0;
            while (j < n_in && !(ins[j].v.name && !strcmp(ins[j].v.name, names[k])))
                j++;
            if (j == n_in) /* the next positional (unnamed) input, if any */
                while (pos < n_in && ins[pos].v.name)
                    pos++;
            if (j == n_in && pos < n_in)
                j = pos++;
            if (j < n_in)
                vals[used++] = ins[j].v;
        }
        if (used != n_in) {
            fprintf(stderr, "ckpt convert: %s: forward takes", in);
            for (size_t k = 0; k < n_args; k++)
                fprintf(stderr, " %s", names[k]);
            fprintf(stderr, "; the inputs given do not match them\n");
            ckpt_jit_free(m);
            goto done;
        }
    } else {
        for (size_t j = 0; j < n_in; j++)
            vals[j] = ins[j].v;
    }
    ckpt_onnx_model *g = ckpt_jit_to_onnx(m, vals, n_in, &err);
    int rc = !g          ? -1
             : want_ts   ? ckpt_jit_save_onnx(g, out, &so, &err)
             : want_full ? ckpt_jit_save_onnx_full_model(g, out, &err)
                         : ckpt_onnx_save(g, out, &err);
    if (rc < 0) {
        cli_print_error("convert", &err);
    } else {
        printf("%s: %s model traced and written as %s%s (checked on a second input)\n", out,
               ckpt_jit_format_name(ckpt_jit_format(m)),
               want_ts     ? "TorchScript"
               : want_full ? "a full-model pickle"
                           : "ONNX",
               freeze && want_ts ? " (frozen)" : "");
        code = EXIT_OK;
    }
    ckpt_onnx_model_free(g);
    ckpt_jit_free(m);
done:
    for (size_t j = 0; j < n_in; j++) {
        free((char *)(uintptr_t)ins[j].v.name);
        free(ins[j].buf);
        ckpt_doc_free(ins[j].doc);
    }
    return code;
}
