/* tools/ckpt/cmd_report.c - `ckpt report`: one self-contained HTML page about a
 * checkpoint or a model graph (options, dispatch, output). */
#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli_folder.h"
#include "cli_onnx.h"
#include "report.h"

static const char help[] =
    "usage: ckpt report FILE [-o OUT.html] [--no-stats] [--max-rows N] [--title T]\n"
    "                   [--shape NAME=D0,D1,...]... [--allow MODULE.NAME]... [--full]\n"
    "\n"
    "Write one self-contained HTML page about FILE: inline CSS and a little inline\n"
    "script (sorting and filtering the tables; the page reads the same without it),\n"
    "nothing fetched from anywhere.  Every text taken from the file is escaped.\n"
    "\n"
    "Checkpoints (every format ckpt reads): a summary (format, size, tensor and\n"
    "element counts, bytes by dtype, storages and the tensors sharing one), the\n"
    "safety verdict of 'ckpt scan', the format's metadata, the module tree (dotted\n"
    "key prefixes with their parameter counts and bytes), the tensor table with the\n"
    "statistics of 'ckpt stats' (min, max, mean, std, NaN, Inf, fraction of zeros),\n"
    "and the rest of a training checkpoint (epoch, optimizer, scheduler...) as a tree.\n"
    "Models (TorchScript and lite archives, .pt2, full-model pickles): a Model section\n"
    "(kind, module type, forward's signature, parameters and buffers, the module tree\n"
    "with its methods) and the tables of the module's state_dict.  ONNX models: inputs\n"
    "and outputs, opsets, producer, the op histogram, the node list (subgraphs nested),\n"
    "a layered SVG diagram (left out above 500 nodes) and the initializers' tables.\n"
    "\n"
    "  -o OUT.html    write the page there, atomically (temporary file, fsync, rename);\n"
    "                 without it the page goes to standard output\n"
    "  --no-stats     read no tensor data: header and metadata only\n"
    "  --max-rows N   show at most N rows of the tensor table and node list (default\n"
    "                 10000; the page says when it is cut)\n"
    "  --title T      the page title (default: \"ckpt report: \" and the file's name)\n"
    "  --shape NAME=D0,D1,...   models: trace the graph on a random float32 input of\n"
    "                 that shape (one per forward argument; as 'ckpt convert --to onnx'\n"
    "                 does, in ckpt's own interpreter) and show its op histogram, node\n"
    "                 list and diagram\n"
    "  --allow MODULE.NAME, --full   as for 'ckpt ls'\n"
    "\n"
    "Exit status: 0 written, 2 error (nothing is written then).\n";

const char *report_basename(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/')
        n--;
    const char *s = path;
    for (size_t i = 0; i + 1 < n; i++)
        if (path[i] == '/')
            s = path + i + 1;
    return s;
}

uint64_t report_file_size(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return (uint64_t)st.st_size;
    char **files = NULL;
    size_t n = 0;
    uint64_t sum = 0;
    if (cli_folder_files(path, &files, &n) < 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (stat(files[i], &st) == 0)
            sum += (uint64_t)st.st_size;
    cli_folder_files_free(files, n);
    return sum;
}

int cmd_report(int argc, char **argv)
{
    cli_load lo;
    memset(&lo, 0, sizeof(lo));
    report_opts o;
    memset(&o, 0, sizeof(o));
    o.max_rows = 10000;
    o.max_svg = 500;
    const char *path = NULL, *out = NULL, *title = NULL;
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
        bool val = strcmp(a, "-o") == 0 || strcmp(a, "--max-rows") == 0 ||
                   strcmp(a, "--title") == 0 || strcmp(a, "--shape") == 0;
        if (val && i + 1 >= argc) {
            fprintf(stderr, "ckpt report: %s needs a value\n", a);
            return EXIT_ERROR;
        }
        if (strcmp(a, "-o") == 0) {
            out = argv[++i];
        } else if (strcmp(a, "--shape") == 0) {
            if (o.nshapes == REPORT_MAX_SHAPES || !strchr(argv[i + 1], '=')) {
                fprintf(stderr, "ckpt report: --shape takes NAME=D0,D1,... (at most %d)\n",
                        REPORT_MAX_SHAPES);
                return EXIT_ERROR;
            }
            o.shapes[o.nshapes++] = argv[++i];
        } else if (strcmp(a, "--title") == 0) {
            title = argv[++i];
        } else if (strcmp(a, "--max-rows") == 0) {
            char *end;
            unsigned long long v = strtoull(argv[++i], &end, 10);
            if (*end || end == argv[i] || argv[i][0] == '-') {
                fprintf(stderr, "ckpt report: --max-rows takes a count\n");
                return EXIT_ERROR;
            }
            o.max_rows = (size_t)v;
        } else if (strcmp(a, "--no-stats") == 0) {
            o.no_stats = true;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "ckpt report: unknown option %s\n\n%s", a, help);
            return EXIT_ERROR;
        } else if (!path) {
            path = a;
        } else {
            fprintf(stderr, "ckpt report: one FILE only\n");
            return EXIT_ERROR;
        }
    }
    if (!path) {
        fputs(help, stderr);
        return EXIT_ERROR;
    }
    char deftitle[600];
    snprintf(deftitle, sizeof(deftitle), "ckpt report: %.500s", report_basename(path));
    rh_page page;
    memset(&page, 0, sizeof(page));
    rh_begin(&page, title ? title : deftitle);
    ckpt_error err;
    ckpt_error_clear(&err);
    int rc = cli_onnx_file(path) ? report_onnx(&page, path, &o, &err)
                                 : report_ckpt(&page, path, &lo, &o, &err);
    if (rc == 0) {
        rh_end(&page);
        rc = rh_write(&page, out, &err);
    }
    rh_free(&page);
    if (rc < 0) {
        cli_print_error("report", &err);
        return EXIT_ERROR;
    }
    return EXIT_OK;
}
