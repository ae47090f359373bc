/* tools/ckpt/cmd_convert.c - `ckpt convert`: other container, other floating dtype. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_onnx.h"
#include "cli_flat.h"
#include "cli_util.h"

static const char help[] =
    "usage: ckpt convert IN OUT [--to FORMAT] [--dtype bfloat16|float16|float32|float64]\n"
    "                    [--layout 1.13|2.1|2.7] [--max-shard-size SIZE] [--drop]\n"
    "                    [--duplicate-shared] [--dequantize] [--no-fsync]\n"
    "                    [--allow MODULE.NAME]... [--full]\n"
    "\n"
    "Load IN (any format below, told by its content; a folder by its index or\n"
    ".metadata) and save it to OUT in FORMAT:\n"
    "  zip           the zip format of torch.save (torch >= 1.6); --layout picks the\n"
    "                records of torch 1.13, 2.1 or 2.7 (default).  OUT .pt/.pth/.bin/.ckpt\n"
    "  legacy        torch.save(..., _use_new_zipfile_serialization=False)\n"
    "  safetensors   huggingface safetensors (OUT .safetensors)\n"
    "  gguf          llama.cpp GGUF v3 (OUT .gguf)\n"
    "  npz, npy      np.savez (a dict of tensors) / np.save (one tensor)\n"
    "  hf            a folder of model-0000i-of-0000N.safetensors shards and\n"
    "                model.safetensors.index.json, as transformers' save_pretrained\n"
    "  hf-bin        the same with pytorch_model-0000i-of-0000N.bin shards and\n"
    "                pytorch_model.bin.index.json\n"
    "  dcp           a torch.distributed.checkpoint folder (.metadata, __0_0.distcp)\n"
    "  Without --to, OUT's extension names the format.\n"
    "\n"
    "Tensor-only formats (safetensors, gguf, npz, hf, hf-bin) get every tensor under\n"
    "its key path (nested dicts and lists joined with '.'); a value that is not a\n"
    "tensor (an epoch number, optimizer hyper-parameters) is an error naming its key\n"
    "unless --drop leaves it out.  The format's own metadata (safetensors\n"
    "__metadata__, GGUF key/values, an index's metadata) is kept when IN and OUT are\n"
    "the same kind.  Tensors are written bit for bit; round trips are exact.\n"
    "  --max-shard-size SIZE  hf/hf-bin shard limit: 5GB (default; 10^9 bytes per GB),\n"
    "                500MB, 2GiB or a byte count, split as transformers splits\n"
    "  --duplicate-shared  safetensors/hf: write tensors that share storage as copies\n"
    "                (without it they are refused, as safetensors' save_file does)\n"
    "  --dequantize  GGUF IN: quantized tensors (Q4_0, Q8_0, Q4_K, ...) read as float32;\n"
    "                without it they can only be written to GGUF\n"
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
    "IN may be an ONNX model (.onnx): its main graph's initializers are written as a\n"
    "state dict (names as in the graph).  Weights are put in torch's layout: a Gemm's B\n"
    "read with transB=0 is stored (in, out) and is transposed to Linear's (out, in);\n"
    "Conv, ConvTranspose and Gemm with transB=1 already use torch's layout and MatMul\n"
    "operands are kept as stored.  String initializers are left out.\n"
    "\n"
    "Models: ckpt convert IN OUT --to onnx|torchscript|full-model (see ckpt convert --to\n"
    "onnx --help).\n"
    "\n"
    "OUT is replaced atomically (temporary file or folder, fsync, rename).\n"
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

/* "5GB" = 5 * 10^9, "5GiB" = 5 * 2^30, "200MB", "123" bytes: transformers'
 * convert_file_size_to_int spellings. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return -1;
    static const struct {
        const char *unit;
        double mult;
    } u[] = {{"", 1},
             {"B", 1},
             {"KB", 1e3},
             {"MB", 1e6},
             {"GB", 1e9},
             {"TB", 1e12},
             {"KIB", 1024.0},
             {"MIB", 1048576.0},
             {"GIB", 1073741824.0},
             {"TIB", 1099511627776.0}};
    char unit[8] = {0};
    for (size_t i = 0; end[i]; i++) {
        if (i + 1 >= sizeof(unit))
            return -1;
        unit[i] = (char)(end[i] >= 'a' && end[i] <= 'z' ? end[i] - 32 : end[i]);
    }
    for (size_t i = 0; i < sizeof(u) / sizeof(u[0]); i++)
        if (strcmp(unit, u[i].unit) == 0) {
            double b = v * u[i].mult;
            if (b < 1 || b > 1.8e19)
                return -1;
            *out = (uint64_t)b;
            return 0;
        }
    return -1;
}

/* GGUF raw quantized blocks cannot be carried into another format: name the
 * first such tensor (its ggml type from the document's metadata). */
static int check_quantized(const ckpt_doc *doc, ckpt_error *err)
{
    const ckpt_obj *m = ckpt_doc_metadata(doc);
    const ckpt_obj *types = m ? ckpt_dict_get(m, "gguf.tensor_types") : NULL;
    size_t n = types ? ckpt_obj_len(types) : 0;
    for (size_t i = 0; i < n; i++) {
        const char *k = ckpt_obj_str(ckpt_dict_key(types, i), NULL);
        const char *t = ckpt_obj_str(ckpt_dict_value(types, i), NULL);
        if (!k || !t)
            continue;
        static const char *const plain[] = {"F32", "F16", "BF16", "F64",
                                            "I8",  "I16", "I32",  "I64"};
        bool ok = false;
        for (size_t j = 0; j < sizeof(plain) / sizeof(plain[0]); j++)
            ok = ok || strcmp(t, plain[j]) == 0;
        if (!ok) {
            err->code = CKPT_E_UNSUPPORTED;
            snprintf(err->key, sizeof(err->key), "%.250s", k);
            snprintf(err->msg, sizeof(err->msg),
                     "%.80s is ggml %.12s raw blocks: only a GGUF file holds them (--dequantize "
                     "reads it as float32)",
                     k, t);
            return -1;
        }
    }
    return 0;
}

int cmd_convert(int argc, char **argv)
{
    cli_load lo;
    memset(&lo, 0, sizeof(lo));
    ckpt_save_opts so;
    memset(&so, 0, sizeof(so));
    ckpt_save_any_opts ao;
    memset(&ao, 0, sizeof(ao));
    const char *in = NULL, *out = NULL, *to = NULL;
    int dtype = -1, layout = CKPT_LAYOUT_DEFAULT;
    bool have_layout = false, drop = false;
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], "--to") == 0 &&
            (strcmp(argv[i + 1], "onnx") == 0 || strcmp(argv[i + 1], "torchscript") == 0 ||
             strcmp(argv[i + 1], "full-model") == 0))
            return cmd_convert_model(argc, argv);
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
                     strcmp(a, "--layout") == 0 || strcmp(a, "--max-shard-size") == 0;
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "ckpt convert: %s needs a value\n", a);
            return EXIT_ERROR;
        }
        if (strcmp(a, "--to") == 0) {
            to = argv[++i];
            int f = ckpt_format_from_name(to);
            if (f == CKPT_FMT_UNKNOWN || f == CKPT_FMT_ONNX) {
                fprintf(stderr,
                        "ckpt convert: --to takes zip, legacy, safetensors, gguf, npz, npy, hf, "
                        "hf-bin, dcp, onnx, torchscript or full-model, not '%s'\n",
                        to);
                return EXIT_ERROR;
            }
            ao.format = f;
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
        } else if (strcmp(a, "--max-shard-size") == 0) {
            if (parse_size(argv[++i], &ao.max_shard_size) < 0) {
                fprintf(stderr,
                        "ckpt convert: --max-shard-size takes a size such as 5GB, "
                        "500MB, 2GiB or a byte count, not '%s'\n",
                        argv[i]);
                return EXIT_ERROR;
            }
        } else if (strcmp(a, "--drop") == 0) {
            drop = true;
        } else if (strcmp(a, "--duplicate-shared") == 0) {
            ao.duplicate_shared = true;
        } else if (strcmp(a, "--no-fsync") == 0) {
            so.no_fsync = true;
            ao.no_fsync = true;
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
    if (!in || !out) {
        fputs(help, stderr);
        return EXIT_ERROR;
    }
    if (ao.format == CKPT_FMT_UNKNOWN)
        ao.format = ckpt_format_from_extension(out);
    int fmt = ao.format;
    if (fmt == CKPT_FMT_UNKNOWN || fmt == CKPT_FMT_ONNX) {
        fprintf(stderr, "ckpt convert: OUT's name does not say the format (.pt/.pth/.bin, "
                        ".safetensors, .gguf, .npz, .npy): give --to "
                        "zip|legacy|safetensors|gguf|npz|npy|hf|hf-bin|dcp\n");
        return EXIT_ERROR;
    }
    if (have_layout && fmt != CKPT_FMT_ZIP) {
        fprintf(stderr, "ckpt convert: --layout applies to --to zip only\n");
        return EXIT_ERROR;
    }
    if (ao.max_shard_size && fmt != CKPT_FMT_HF && fmt != CKPT_FMT_HF_BIN) {
        fprintf(stderr, "ckpt convert: --max-shard-size applies to --to hf and hf-bin only\n");
        return EXIT_ERROR;
    }
    so.layout = fmt == CKPT_FMT_LEGACY ? CKPT_LAYOUT_LEGACY : layout;
    ao.torch = &so;
    ckpt_error err;
    ckpt_error_clear(&err);
    size_t transposed = 0, dropped = 0;
    int in_fmt = ckpt_format_detect(in, NULL, 0);
    bool onnx_in = in_fmt == CKPT_FMT_ONNX || cli_onnx_file(in);
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
    ckpt_doc *fdoc = NULL;
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
    if (fmt != CKPT_FMT_GGUF && in_fmt == CKPT_FMT_GGUF && !lo.dequantize &&
        check_quantized(doc, &err) < 0) {
        cli_print_error("convert", &err);
        goto out;
    }
    bool flat_fmt = fmt == CKPT_FMT_SAFETENSORS || fmt == CKPT_FMT_GGUF || fmt == CKPT_FMT_NPZ ||
                    fmt == CKPT_FMT_HF || fmt == CKPT_FMT_HF_BIN;
    if (flat_fmt) {
        fdoc = ckpt_doc_new(NULL, &err);
        nroot = fdoc ? cli_flatten(fdoc, nroot, ckpt_format_name(fmt), drop, &dropped, &err)
                     : NULL;
        if (!nroot && !err.file[0])
            snprintf(err.file, sizeof(err.file), "%.250s", in);
        if (!nroot) {
            cli_print_error("convert", &err);
            goto out;
        }
    }
    /* the format's own metadata travels when the target is the same kind of file */
    if (fmt == in_fmt && dtype < 0)
        ao.metadata = ckpt_doc_metadata(doc);
    if (ao.metadata && fmt == CKPT_FMT_GGUF && lo.dequantize && fdoc) {
        /* dequantized tensors are float32 now: keep the key/values, not the
         * ggml types they were read from */
        const ckpt_obj *m = ao.metadata;
        ckpt_obj *nm = ckpt_dict_new(fdoc, CKPT_DICT_ORDERED);
        for (size_t i = 0; nm && i < ckpt_obj_len(m); i++) {
            const char *k = ckpt_obj_str(ckpt_dict_key(m, i), NULL);
            if (k && strcmp(k, "gguf.tensor_types") == 0)
                continue;
            if (ckpt_dict_set(fdoc, nm, cli_mut(ckpt_dict_key(m, i)),
                              cli_mut(ckpt_dict_value(m, i)), &err) < 0)
                nm = NULL;
        }
        if (!nm) {
            cli_print_error("convert", &err);
            goto out;
        }
        ao.metadata = nm;
    }
    if (ckpt_save_any(out, nroot, &ao, &err) < 0) {
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
    if (dropped)
        printf("%zu values that are not tensors left out (--drop)\n", dropped);
    code = EXIT_OK;
out:
    pfree(&c.nodes);
    pfree(&c.storages);
    ckpt_doc_free(fdoc);
    ckpt_doc_free(c.doc);
    ckpt_doc_free(doc);
    return code;
}
