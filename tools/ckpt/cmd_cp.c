/* tools/ckpt/cmd_cp.c - `ckpt cp`: load, then save as torch.save would. */
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: ckpt cp IN OUT [--map-location LOC] [--layout 1.13|2.1|2.7|legacy]\n"
    "                      [--allow MODULE.NAME]... [--full] [--no-fsync]\n"
    "\n"
    "Load IN (weights-only unless --full or --allow say otherwise) and write it to OUT\n"
    "the way torch.save writes it.  OUT is replaced atomically: a temporary file in\n"
    "the same folder is written, synced and renamed, so a failed copy never damages an\n"
    "existing OUT.\n"
    "\n"
    "  --map-location LOC   restore every storage to LOC (e.g. cpu) before saving\n"
    "  --layout V           records as torch V writes them: 1.13 (data.pkl, data/*,\n"
    "                       version), 2.1 (+ byteorder), 2.7 (default: + .format_version,\n"
    "                       .storage_alignment), legacy (torch.save with\n"
    "                       _use_new_zipfile_serialization=False)\n"
    "  --no-fsync           skip the fsync before the rename\n"
    "\n"
    "Exit status: 0 copied, 2 error.\n";

int cmd_cp(int argc, char **argv)
{
    cli_load lo;
    memset(&lo, 0, sizeof(lo));
    ckpt_save_opts so;
    memset(&so, 0, sizeof(so));
    const char *in = NULL, *out = NULL;
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
        if (strcmp(argv[i], "--layout") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            if (strcmp(v, "1.13") == 0)
                so.layout = CKPT_LAYOUT_TORCH13;
            else if (strcmp(v, "2.1") == 0)
                so.layout = CKPT_LAYOUT_TORCH21;
            else if (strcmp(v, "2.7") == 0)
                so.layout = CKPT_LAYOUT_TORCH27;
            else if (strcmp(v, "legacy") == 0)
                so.layout = CKPT_LAYOUT_LEGACY;
            else {
                fprintf(stderr, "ckpt cp: unknown layout %s (1.13, 2.1, 2.7 or legacy)\n", v);
                return EXIT_ERROR;
            }
        } else if (strcmp(argv[i], "--no-fsync") == 0) {
            so.no_fsync = true;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ckpt cp: unknown option %s\n\n%s", argv[i], help);
            return EXIT_ERROR;
        } else if (!in) {
            in = argv[i];
        } else if (!out) {
            out = argv[i];
        } else {
            fprintf(stderr, "ckpt cp: too many arguments\n");
            return EXIT_ERROR;
        }
    }
    if (!in || !out) {
        fputs(help, stderr);
        return EXIT_ERROR;
    }
    ckpt_error err;
    ckpt_doc *doc = cli_load_doc(in, &lo, CKPT_LOAD_MMAP, false, false, &err);
    if (!doc) {
        cli_print_error("cp", &err);
        return EXIT_ERROR;
    }
    int rc = ckpt_save(out, ckpt_doc_root(doc), &so, &err);
    ckpt_doc_free(doc);
    if (rc < 0) {
        cli_print_error("cp", &err);
        return EXIT_ERROR;
    }
    return EXIT_OK;
}
