/* tools/ckpt/main.c - the ckpt command: subcommand dispatch and shared helpers. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_onnx.h"

static const char usage[] =
    "usage: ckpt <command> [options] FILE...\n"
    "\n"
    "Read, check and copy PyTorch checkpoint files (torch.save) without Python.\n"
    "The other formats work too: safetensors, GGUF, npy/npz, Hugging Face sharded\n"
    "folders and torch.distributed.checkpoint folders; TorchScript, full-model pickles,\n"
    ".pt2 and ONNX models (.onnx) work with ls, show, verify, scan, stats, diff,\n"
    "convert and run.\n"
    "Nothing in a file is ever executed.\n"
    "\n"
    "commands:\n"
    "  ls FILE [--json]          list every tensor: key path, dtype, shape, bytes\n"
    "  verify FILE [--json]      name the format, check its structure (CRC-32s, storages,\n"
    "                            offsets, tensor bounds) and scan its pickles\n"
    "  cp IN OUT [--map-location LOC] [--layout 1.13|2.1|2.7|legacy]\n"
    "                            load, then save again as torch.save would\n"
    "  scan FILE... [--json]     list every global a file would import or call, and judge\n"
    "                            it against torch's weights-only allowlist\n"
    "  show FILE [KEY]           the object tree: containers, values, tensor summaries\n"
    "  stats FILE [KEY] [--json] per-tensor min, max, mean, std, NaN and Inf counts\n"
    "  diff A B [--tol T] [--json]\n"
    "                            keys, dtypes, shapes and values that differ\n"
    "  rename IN OUT --strip-prefix P | --add-prefix P | --map RE=REPL [--key PATH]\n"
    "                            rename the keys of a state dict\n"
    "  convert IN OUT [--to FORMAT] [--dtype DT]\n"
    "                            re-save in another format (zip, legacy, safetensors, gguf,\n"
    "                            npz, npy, hf, hf-bin, dcp; onnx, torchscript, full-model),\n"
    "                            floating tensors as DT\n"
    "  extract FILE KEY OUT      save the sub-object at KEY as a file of its own\n"
    "  simplify IN.onnx OUT.onnx simplify an ONNX model (onnx-simplifier's passes)\n"
    "  run MODEL.onnx [--input NAME=FILE.npy]... [--output-dir DIR]\n"
    "                            run an ONNX model on .npy inputs (random ones if none)\n"
    "  report FILE [-o OUT.html] one self-contained HTML page: summary, safety, module\n"
    "                            tree, tensor table with statistics; ONNX graphs\n"
    "\n"
    "Run 'ckpt <command> --help' for the options of a command.\n"
    "Exit status: 0 ok, 1 finding (e.g. differences), 2 error.\n";

bool cli_is_help(const char *a)
{
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

int cli_load_opt(cli_load *lo, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    if (strcmp(a, "--allow") == 0 || strcmp(a, "--map-location") == 0) {
        if (*i + 1 >= argc) {
            fprintf(stderr, "ckpt: %s needs a value\n", a);
            return -1;
        }
        const char *v = argv[++*i];
        if (a[2] == 'a') {
            if (lo->nallow == MAX_ALLOW) {
                fprintf(stderr, "ckpt: too many --allow options\n");
                return -1;
            }
            lo->allow[lo->nallow++] = v;
        } else {
            lo->map_location = v;
        }
        return 1;
    }
    if (strcmp(a, "--full") == 0) {
        lo->full = true;
        return 1;
    }
    if (strcmp(a, "--dequantize") == 0) {
        lo->dequantize = true;
        return 1;
    }
    if (strcmp(a, "--encoding") == 0) {
        const char *v = *i + 1 < argc ? argv[*i + 1] : NULL;
        if (!v ||
            (strcmp(v, "utf-8") != 0 && strcmp(v, "latin1") != 0 && strcmp(v, "bytes") != 0)) {
            fprintf(stderr, "ckpt: --encoding takes utf-8, latin1 or bytes\n");
            return -1;
        }
        lo->encoding = strcmp(v, "latin1") == 0 ? 1 : strcmp(v, "bytes") == 0 ? 2 : 0;
        ++*i;
        return 1;
    }
    return 0;
}

void cli_load_fill(const cli_load *lo, ckpt_load_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->unsafe_full = lo->full;
    o->safe_globals = lo->allow;
    o->safe_global_count = lo->nallow;
    o->map_location = lo->map_location;
    o->encoding = lo->encoding;
}

bool cli_numpy_file(const char *path)
{
    char why[256];
    const char *kind = ckpt_detect_file(path, why, sizeof(why), NULL);
    return kind && (strcmp(kind, "npy") == 0 || strcmp(kind, "npz") == 0);
}

ckpt_doc *cli_load_doc(const char *path, const cli_load *lo, int mode, bool fallback,
                       bool keep_locations, ckpt_error *err)
{
    /* the formats that are not torch.save (NumPy, safetensors, GGUF, sharded
     * folders, DCP folders): ckpt_load_any, mapped where the format allows */
    int fmt = ckpt_format_detect(path, NULL, 0);
    if (fmt != CKPT_FMT_ZIP && fmt != CKPT_FMT_LEGACY && fmt != CKPT_FMT_ONNX &&
        fmt != CKPT_FMT_UNKNOWN) {
        ckpt_load_opts o;
        cli_load_fill(lo, &o);
        o.mode = mode == CKPT_LOAD_MMAP ? CKPT_LOAD_MMAP : mode;
        o.keep_locations = keep_locations;
        if (lo->dequantize && fmt == CKPT_FMT_GGUF)
            return ckpt_gguf_load(path, o.mode, true, NULL, err);
        ckpt_doc *doc = ckpt_load_any(path, &o, err);
        /* sharded folders load lazily: read every shard unless the caller wants
         * the tensor table only (ls) */
        if (doc && mode != CKPT_LOAD_LAZY && ckpt_doc_load_all(doc, err) < 0) {
            ckpt_doc_free(doc);
            return NULL;
        }
        return doc;
    }
    /* ONNX: the main graph's initializers as a state dict (graph layout) */
    if (cli_onnx_file(path))
        return cli_onnx_doc(path, false, NULL, err);
    ckpt_load_opts o;
    cli_load_fill(lo, &o);
    o.mode = mode;
    o.keep_locations = keep_locations;
    if (mode == CKPT_LOAD_MMAP) {
        /* mmap works for the zip format only (as in torch): copy anything else */
        FILE *f = fopen(path, "rb");
        unsigned char head[4] = {0};
        if (f) {
            if (fread(head, 1, 4, f) != 4 || memcmp(head, "PK\x03\x04", 4) != 0)
                o.mode = CKPT_LOAD_COPY;
            fclose(f);
        }
    }
    ckpt_doc *doc = ckpt_load(path, &o, err);
    if (!doc && fallback && !lo->full && err->code == CKPT_E_UNSAFE) {
        char buf[1024];
        fprintf(stderr,
                "ckpt: note: not a weights-only file (%s); reading it in data-only "
                "mode, which executes nothing\n",
                ckpt_error_format(err, buf, sizeof(buf)));
        o.unsafe_full = true;
        doc = ckpt_load(path, &o, err);
    }
    return doc;
}

void cli_print_error(const char *cmd, const ckpt_error *err)
{
    char buf[1200];
    fprintf(stderr, "ckpt %s: %s\n", cmd, ckpt_error_format(err, buf, sizeof(buf)));
}

int main(int argc, char **argv)
{
    if (argc < 2 || cli_is_help(argv[1])) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? EXIT_ERROR : EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ckpt %s\n", ckpt_version());
        return EXIT_OK;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "ls") == 0)
        return cmd_ls(argc - 1, argv + 1);
    if (strcmp(cmd, "verify") == 0)
        return cmd_verify(argc - 1, argv + 1);
    if (strcmp(cmd, "cp") == 0)
        return cmd_cp(argc - 1, argv + 1);
    if (strcmp(cmd, "scan") == 0)
        return cmd_scan(argc - 1, argv + 1);
    if (strcmp(cmd, "show") == 0)
        return cmd_show(argc - 1, argv + 1);
    if (strcmp(cmd, "stats") == 0)
        return cmd_stats(argc - 1, argv + 1);
    if (strcmp(cmd, "diff") == 0)
        return cmd_diff(argc - 1, argv + 1);
    if (strcmp(cmd, "rename") == 0)
        return cmd_rename(argc - 1, argv + 1);
    if (strcmp(cmd, "convert") == 0)
        return cmd_convert(argc - 1, argv + 1);
    if (strcmp(cmd, "extract") == 0)
        return cmd_extract(argc - 1, argv + 1);
    if (strcmp(cmd, "simplify") == 0)
        return cmd_simplify(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0)
        return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0)
        return cmd_report(argc - 1, argv + 1);
    fprintf(stderr, "ckpt: unknown command '%s'\n\n%s", cmd, usage);
    return EXIT_ERROR;
}
