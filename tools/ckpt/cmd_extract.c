/* tools/ckpt/cmd_extract.c - `ckpt extract`: save a sub-object as its own file. */
#include <string.h>

#include "cli.h"
#include "cli_jit.h"
#include "cli_util.h"

static const char help[] =
    "usage: ckpt extract FILE KEY OUT [--layout 1.13|2.1|2.7|legacy] [--no-fsync]\n"
    "                    [--allow MODULE.NAME]... [--full]\n"
    "       ckpt extract --state-dict MODEL [-o] OUT [--layout V] [--no-fsync]\n"
    "\n"
    "Save the sub-object of FILE at KEY as a checkpoint of its own, written to OUT the\n"
    "way torch.save(obj[...], OUT) writes it: for example the model state dict out of a\n"
    "full training checkpoint (ckpt extract ckpt.pt model model.pt).  KEY is a key path\n"
    "as 'ckpt ls' prints it; at each dict the longest dotted prefix that is a key wins\n"
    "(model.fc1.weight finds obj['model']['fc1.weight']); list indices and int keys are\n"
    "decimal.  The sub-object keeps its kind, its OrderedDict _metadata and the sharing\n"
    "between its tensors; a tensor that is a view keeps its whole storage, as torch.save\n"
    "does.  Storage locations are kept as saved (cuda:0 stays cuda:0).\n"
    "OUT is replaced atomically (temporary file, fsync, rename).\n"
    "\n"
    "  --state-dict  MODEL is a model (TorchScript or lite archive, .pt2 archive,\n"
    "                full-model pickle): write what module.state_dict() gives, an\n"
    "                OrderedDict of its parameters and buffers in torch's order\n"
    "  -o OUT        the file to write (or give it after MODEL)\n"
    "  --layout V    records as torch V writes them (1.13, 2.1, 2.7 default, legacy)\n"
    "  --no-fsync    skip the fsync before the rename\n"
    "  --allow MODULE.NAME, --full   as for 'ckpt ls'\n"
    "\n"
    "Exit status: 0 written, 2 error (unreadable FILE, KEY not there, write failed).\n";

int cmd_extract(int argc, char **argv)
{
    cli_load lo;
    memset(&lo, 0, sizeof(lo));
    ckpt_save_opts so;
    memset(&so, 0, sizeof(so));
    const char *args[3] = {NULL, NULL, NULL};
    int nargs = 0;
    bool state_dict = false;
    const char *outp = NULL;
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
        if (strcmp(argv[i], "--layout") == 0) {
            if (i + 1 >= argc || cli_parse_layout(argv[i + 1], &so.layout) < 0) {
                fprintf(stderr, "ckpt extract: --layout needs 1.13, 2.1, 2.7 or legacy\n");
                return EXIT_ERROR;
            }
            i++;
        } else if (strcmp(argv[i], "--no-fsync") == 0) {
            so.no_fsync = true;
        } else if (strcmp(argv[i], "--state-dict") == 0) {
            state_dict = true;
        } else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc) {
            outp = argv[++i];
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ckpt extract: unknown option %s\n\n%s", argv[i], help);
            return EXIT_ERROR;
        } else if (nargs < 3) {
            args[nargs++] = argv[i];
        } else {
            fprintf(stderr, "ckpt extract: too many arguments\n");
            return EXIT_ERROR;
        }
    }
    if (state_dict) {
        if (outp && nargs == 1)
            args[1] = outp;
        else if (outp || nargs != 2) {
            fprintf(stderr, "ckpt extract: --state-dict takes MODEL and OUT (or -o OUT)\n");
            return EXIT_ERROR;
        }
        return cli_jit_state_dict(args[0], args[1], &so);
    }
    if (nargs != 3) {
        fputs(help, stderr);
        return EXIT_ERROR;
    }
    ckpt_error err;
    ckpt_doc *doc = cli_load_doc(args[0], &lo, CKPT_LOAD_MMAP, false, !lo.map_location, &err);
    if (!doc) {
        cli_print_error("extract", &err);
        return EXIT_ERROR;
    }
    char why[512];
    const ckpt_obj *o = cli_resolve(ckpt_doc_root(doc), args[1], NULL, NULL, why, sizeof(why));
    if (!o) {
        fprintf(stderr, "ckpt extract: %s: %s\n", args[0], why);
        ckpt_doc_free(doc);
        return EXIT_ERROR;
    }
    int rc = ckpt_save(args[2], o, &so, &err);
    ckpt_doc_free(doc);
    if (rc < 0) {
        cli_print_error("extract", &err);
        return EXIT_ERROR;
    }
    return EXIT_OK;
}
