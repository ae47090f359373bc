/* tools/ckpt/cmd_convert.c - `ckpt convert`: other container, other floating dtype. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/jit.h"
#include "ckpt/onnx.h"
#include "cli.h"
#include "cli_onnx.h"
#include "cli_util.h"

static const char help[] =
    "usage: ckpt convert IN OUT --to zip|legacy|npz|npy [--dtype bfloat16|float16|float32|float64]\n"
    "                    [--layout 1.13|2.1|2.7] [--no-fsync] [--allow MODULE.NAME]... [--full]\n"
    "\n"
    "Load IN and save it to OUT in the chosen container:\n"
    "  --to zip      the zip format of torch.save (torch >= 1.6); --layout picks the\n"
    "                records of torch 1.13, 2.1 or 2.7 (default)\n"
    "  --to legacy   torch.save(..., _use_new_zipfile_serialization=False)\n"
    "  --to npz      np.savez: a dict of tensors, one stored NAME.npy member each\n"
    "                (the default when OUT ends in .npz)\n"
    "  --to npy      np.save: a single tensor (the default when OUT ends in .npy)\n"
    "  --to torchscript  IN an ONNX model: its graph written as a TorchScript archive\n"
    "                that torch.jit.load runs (one aten call per node); --freeze inlines\n"
    "                the weights as constants as torch.jit.freeze does\n"
    "  IN may be a .npy or .npz file as well (numpy dtypes that torch has); then\n"
    "  an OUT ending in .pt, .pth or .bin means --to zip.\n"
    "  IN may be an ONNX model (.onnx): its main graph's initializers are written as a\n"
    "  state dict (an OrderedDict, names as in the graph; an OUT ending in .pt, .pth or\n"
    "  .bin means --to zip).  Weights are put in torch's layout: a Gemm's B read with\n"
    "  transB=0 is stored (in, out) and is transposed to Linear's (out, in); Conv,\n"
    "  ConvTranspose and Gemm with transB=1 already use torch's layout and MatMul\n"
    "  operands are kept as stored.  String initializers are left out.\n"
    "\n"
    "  --dtype DT    convert floating tensors (float16, bfloat16, float32, float64) to DT;\n"
    "                integer, bool, complex, quantized and float8 tensors are untouched.\n"
    "                The conversion is storage by storage: every storage holding\n"
    "                floating data is converted whole, and each tensor keeps its shape,\n"
    "                strides and offset into it, so views stay views and tensors that\n"
    "                shared a storage still share one.  Elements round as torch's\n"
    "                .to(DT) does, bit for bit: to nearest, ties to even; NaN stays NaN;\n"
    "                values beyond float16's range become inf; subnormals are kept.\n"
    "                Parameter and requires_grad flags are kept; converted storages are\n"
    "                saved with the location cpu.  Tensors inside opaque objects (--full\n"
    "                loads of non-weights-only files) are left as they are.\n"
    "  --no-fsync    skip the fsync before the rename of the temporary file\n"
    "  --allow MODULE.NAME, --full   as for 'ckpt ls'\n"
    "\n"
    "OUT is replaced atomically (temporary file, fsync, rename).\n"
    "\n"
    "Exit status: 0 written, 2 error.\n";

/* pointer -> pointer map (open addressing) */
typedef struct pmap {
    const void **k;
    void **v;
    int *tag;
    size_t cap, n;
} pmap;

static size_t slot(const pmap *m, const void *k)
{
    size_t h = (size_t)(((uintptr_t)k >> 4) * 0x9E3779B97F4A7C15ULL) & (m->cap - 1);
    while (m->k[h] && m->k[h] != k)
        h = (h + 1) & (m->cap - 1);
    return h;
}

static void *pget(const pmap *m, const void *k, int *tag)
{
    if (!m->cap)
        return NULL;
    size_t h = slot(m, k);
    if (tag && m->k[h])
        *tag = m->tag[h];
    return m->k[h] ? m->v[h] : NULL;
}

static int pput(pmap *m, const void *k, void *v, int tag)
{
    if ((m->n + 1) * 2 > m->cap) {
        pmap g = {NULL, NULL, NULL, m->cap ? m->cap * 2 : 256, 0};
        g.k = calloc(g.cap, sizeof(*g.k));
        g.v = calloc(g.cap, sizeof(*g.v));
        g.tag = calloc(g.cap, sizeof(*g.tag));
        if (!g.k || !g.v || !g.tag) {
            free(g.k);
            free(g.v);
            free(g.tag);
            return -1;
        }
        for (size_t i = 0; i < m->cap; i++)
            if (m->k[i])
                pput(&g, m->k[i], m->v[i], m->tag[i]);
        free(m->k);
        free(m->v);
        free(m->tag);
        *m = g;
    }
    size_t h = slot(m, k);
    if (!m->k[h])
        m->n++;
    m->k[h] = k;
    m->v[h] = v;
    m->tag[h] = tag;
    return 0;
}

static void pfree(pmap *m)
{
    free(m->k);
    free(m->v);
    free(m->tag);
}

typedef struct conv {
    ckpt_doc *doc;
    int dtype;
    pmap nodes, storages;
    size_t tensors, nstorages, skipped_objects;
    uint64_t done, total;
    cli_progress prog;
    ckpt_error *err;
} conv;

static bool convertible(int dtype)
{
    return dtype == CKPT_F16 || dtype == CKPT_BF16 || dtype == CKPT_F32 || dtype == CKPT_F64;
}

static int set_err(ckpt_error *err, int code, const char *msg)
{
    if (err && !err->code) {
        err->code = code;
        snprintf(err->msg, sizeof(err->msg), "%s", msg);
    }
    return -1;
}

static ckpt_storage *convert_storage(conv *c, const ckpt_tensor_info *ti)
{
    int src_dtype = -1;
    ckpt_storage *ns = pget(&c->storages, ti->storage, &src_dtype);
    if (ns) {
        if (src_dtype != ti->dtype) {
            set_err(c->err, CKPT_E_UNSUPPORTED,
                    "one storage is viewed as two dtypes; cannot convert it");
            return NULL;
        }
        return ns;
    }
    ckpt_storage_info si;
    if (ckpt_storage_get_info(ti->storage, &si) < 0 || !si.data) {
        set_err(c->err, CKPT_E_UNSUPPORTED, "a storage holds no bytes (meta or not loaded)");
        return NULL;
    }
    size_t es = ckpt_dtype_size(ti->dtype), n = (size_t)(si.nbytes / es);
    ns = ckpt_storage_new(c->doc, c->dtype, (uint64_t)n * ckpt_dtype_size(c->dtype), c->err);
    if (!ns)
        return NULL;
    if (ckpt_convert_elements(ckpt_storage_data_mut(ns), c->dtype, si.data, ti->dtype, n) < 0) {
        set_err(c->err, CKPT_E_UNSUPPORTED, "element conversion failed");
        return NULL;
    }
    c->nstorages++;
    c->done += si.nbytes;
    cli_progress_step(&c->prog, c->done);
    if (pput(&c->storages, ti->storage, ns, ti->dtype) < 0) {
        set_err(c->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    return ns;
}

static ckpt_obj *convert_tensor(conv *c, const ckpt_obj *t)
{
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) < 0)
        return NULL;
    if (!convertible(ti.dtype) || ti.dtype == c->dtype || ti.quantized || !ti.storage)
        return cli_mut(t);
    ckpt_storage *ns = convert_storage(c, &ti);
    if (!ns)
        return NULL;
    ckpt_obj *nt = ckpt_tensor_new(c->doc, ns, c->dtype, ti.ndim, ti.shape, ti.stride,
                                   ti.storage_offset, c->err);
    if (!nt)
        return NULL;
    int rc = ti.is_parameter ? ckpt_tensor_set_parameter(nt, true, ti.requires_grad, NULL)
                             : ckpt_tensor_set_requires_grad(nt, ti.requires_grad, NULL);
    if (rc < 0)
        return NULL;
    c->tensors++;
    return nt;
}

static ckpt_obj *map_node(conv *c, const ckpt_obj *o, int depth)
{
    void *known = pget(&c->nodes, o, NULL);
    if (known)
        return known;
    if (depth > 1000) {
        set_err(c->err, CKPT_E_LIMIT, "nesting deeper than 1000");
        return NULL;
    }
    int t = ckpt_obj_type(o);
    ckpt_obj *r = cli_mut(o);
    size_t n = (t == CKPT_T_DICT || t == CKPT_T_LIST || t == CKPT_T_TUPLE) ? ckpt_obj_len(o) : 0;
    if (t == CKPT_T_TENSOR) {
        r = convert_tensor(c, o);
    } else if (t == CKPT_T_OBJECT) {
        c->skipped_objects++;
    } else if (n > 0) {
        ckpt_obj **kids = malloc(n * sizeof(*kids));
        bool changed = false;
        if (!kids) {
            set_err(c->err, CKPT_E_NOMEM, "out of memory");
            return NULL;
        }
        for (size_t i = 0; i < n; i++) {
            const ckpt_obj *child = t == CKPT_T_DICT ? ckpt_dict_value(o, i)
                                                     : ckpt_obj_item(o, i);
            kids[i] = map_node(c, child, depth + 1);
            if (!kids[i]) {
                free(kids);
                return NULL;
            }
            changed |= kids[i] != child;
        }
        if (changed) {
            int rc = 0;
            if (t == CKPT_T_DICT) {
                r = ckpt_dict_new(c->doc, ckpt_dict_kind_of(o));
                for (size_t i = 0; r && rc == 0 && i < n; i++)
                    rc = ckpt_dict_set(c->doc, r, cli_mut(ckpt_dict_key(o, i)), kids[i], NULL);
                if (r && rc == 0 && ckpt_dict_attrs(o))
                    rc = ckpt_dict_set_attrs(r, cli_mut(ckpt_dict_attrs(o)), NULL);
            } else if (t == CKPT_T_LIST) {
                r = ckpt_list_new(c->doc);
                for (size_t i = 0; r && rc == 0 && i < n; i++)
                    rc = ckpt_list_append(c->doc, r, kids[i], NULL);
            } else {
                r = ckpt_tuple_new(c->doc, n, kids);
            }
            if (rc < 0)
                r = NULL;
            if (!r)
                set_err(c->err, CKPT_E_NOMEM, "out of memory");
        }
        free(kids);
    }
    if (r && pput(&c->nodes, o, r, 0) < 0) {
        set_err(c->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    return r;
}

static int sum_storage_bytes(void *payload, const char *key, const ckpt_obj *t)
{
    (void)key;
    ckpt_tensor_info ti;
    ckpt_storage_info si;
    if (ckpt_tensor_get_info(t, &ti) == 0 && ti.storage &&
        ckpt_storage_get_info(ti.storage, &si) == 0)
        *(uint64_t *)payload += si.nbytes;
    return 0;
}

/* tswrite: --to torchscript (an ONNX graph as a TorchScript archive) */
static int convert_torchscript(const char *in, const char *out, bool freeze)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    if (!cli_onnx_file(in)) {
        fprintf(stderr, "ckpt convert: --to torchscript takes an ONNX model (.onnx) as IN\n");
        return EXIT_ERROR;
    }
    ckpt_onnx_model *m = ckpt_onnx_load(in, NULL, &err);
    ckpt_jit_save_opts o = {.freeze = freeze};
    if (!m || ckpt_jit_save_onnx(m, out, &o, &err) < 0) {
        cli_print_error("convert", &err);
        ckpt_onnx_model_free(m);
        return EXIT_ERROR;
    }
    ckpt_onnx_model_free(m);
    printf("%s written as a TorchScript archive%s\n", in, freeze ? " (frozen)" : "");
    return EXIT_OK;
}

int cmd_convert(int argc, char **argv)
{
    cli_load lo;
    memset(&lo, 0, sizeof(lo));
    ckpt_save_opts so;
    memset(&so, 0, sizeof(so));
    const char *in = NULL, *out = NULL, *to = NULL;
    int dtype = -1, layout = CKPT_LAYOUT_DEFAULT;
    bool have_layout = false, freeze = false;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            return EXIT_OK;
        }
        int r = cli_load_opt(&lo, argc, argv, &i);
        if (r < 0)
            return EXIT_ERROR;
        if (r > 0)
            continue;
        const char *a = argv[i];
        bool takes = strcmp(a, "--to") == 0 || strcmp(a, "--dtype") == 0 ||
                     strcmp(a, "--layout") == 0;
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "ckpt convert: %s needs a value\n", a);
            return EXIT_ERROR;
        }
        if (strcmp(a, "--to") == 0) {
            to = argv[++i];
            if (strcmp(to, "zip") != 0 && strcmp(to, "legacy") != 0 && strcmp(to, "npz") != 0 &&
                strcmp(to, "npy") != 0 && strcmp(to, "torchscript") != 0) {
                fprintf(stderr, "ckpt convert: --to takes zip, legacy, npz or npy, not '%s'\n",
                        to);
                return EXIT_ERROR;
            }
        } else if (strcmp(a, "--dtype") == 0) {
            dtype = ckpt_dtype_from_name(argv[++i]);
            if (!convertible(dtype)) {
                fprintf(stderr,
                        "ckpt convert: --dtype takes bfloat16, float16, float32 or "
                        "float64, not '%s'\n",
                        argv[i]);
                return EXIT_ERROR;
            }
        } else if (strcmp(a, "--layout") == 0) {
            if (cli_parse_layout(argv[++i], &layout) < 0 || layout == CKPT_LAYOUT_LEGACY) {
                fprintf(stderr, "ckpt convert: --layout takes 1.13, 2.1 or 2.7 (use --to "
                                "legacy for the legacy format)\n");
                return EXIT_ERROR;
            }
            have_layout = true;
        } else if (strcmp(a, "--freeze") == 0) {
            freeze = true;
        } else if (strcmp(a, "--no-fsync") == 0) {
            so.no_fsync = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ckpt convert: unknown option %s\n\n%s", a, help);
            return EXIT_ERROR;
        } else if (!in) {
            in = a;
        } else if (!out) {
            out = a;
        } else {
            fprintf(stderr, "ckpt convert: too many arguments\n");
            return EXIT_ERROR;
        }
    }
    size_t olen = out ? strlen(out) : 0;
    if (!to && olen > 4 && strcmp(out + olen - 4, ".npz") == 0)
        to = "npz";
    else if (!to && olen > 4 && strcmp(out + olen - 4, ".npy") == 0)
        to = "npy";
    else if (!to && in && (cli_numpy_file(in) || cli_onnx_file(in)) &&
             ((olen > 3 && strcmp(out + olen - 3, ".pt") == 0) ||
              (olen > 4 &&
               (strcmp(out + olen - 4, ".pth") == 0 || strcmp(out + olen - 4, ".bin") == 0))))
        to = "zip"; /* numpy in, torch out: the zip format unless told otherwise */
    bool numpy_out = to && (strcmp(to, "npz") == 0 || strcmp(to, "npy") == 0);
    if (numpy_out && have_layout) {
        fprintf(stderr, "ckpt convert: --layout applies to --to zip only\n");
        return EXIT_ERROR;
    }
    if (!in || !out || !to) {
        if (in && out && !to)
            fprintf(stderr, "ckpt convert: --to zip|legacy|npz|npy is required\n\n");
        fputs(help, stderr);
        return EXIT_ERROR;
    }
    if (strcmp(to, "torchscript") == 0)
        return convert_torchscript(in, out, freeze);
    if (strcmp(to, "legacy") == 0 && have_layout) {
        fprintf(stderr, "ckpt convert: --layout applies to --to zip only\n");
        return EXIT_ERROR;
    }
    so.layout = strcmp(to, "legacy") == 0 ? CKPT_LAYOUT_LEGACY : layout;
    ckpt_error err;
    ckpt_error_clear(&err);
    size_t transposed = 0;
    bool onnx_in = cli_onnx_file(in);
    ckpt_doc *doc = onnx_in
                        ? cli_onnx_doc(in, true, &transposed, &err)
                        : cli_load_doc(in, &lo, CKPT_LOAD_MMAP, false, !lo.map_location, &err);
    if (!doc) {
        cli_print_error("convert", &err);
        return EXIT_ERROR;
    }
    conv c;
    memset(&c, 0, sizeof(c));
    c.dtype = dtype;
    c.err = &err;
    const ckpt_obj *root = ckpt_doc_root(doc);
    ckpt_obj *nroot = cli_mut(root);
    int code = EXIT_ERROR;
    if (dtype >= 0) {
        c.doc = ckpt_doc_new(NULL, &err);
        ckpt_obj_walk_tensors(root, sum_storage_bytes, &c.total, NULL);
        cli_progress_init(&c.prog, "ckpt convert", c.total);
        nroot = c.doc ? map_node(&c, root, 0) : NULL;
        cli_progress_done(&c.prog);
        if (!nroot) {
            cli_print_error("convert", &err);
            goto out;
        }
    }
    if (numpy_out ? (strcmp(to, "npz") == 0 ? ckpt_npz_save(out, nroot, &err)
                                            : ckpt_npy_save(out, nroot, &err)) < 0
                  : ckpt_save(out, nroot, &so, &err) < 0) {
        cli_print_error("convert", &err);
        goto out;
    }
    if (dtype >= 0)
        printf("%zu tensors in %zu storages converted to %s%s\n", c.tensors, c.nstorages,
               ckpt_dtype_name(dtype),
               c.skipped_objects ? " (tensors inside opaque objects left as they are)" : "");
    if (onnx_in)
        printf("%zu initializers written as a state dict (%zu Gemm weights transposed to "
               "torch's (out, in))\n",
               ckpt_obj_len(ckpt_doc_root(doc)), transposed);
    code = EXIT_OK;
out:
    pfree(&c.nodes);
    pfree(&c.storages);
    ckpt_doc_free(c.doc);
    ckpt_doc_free(doc);
    return code;
}
