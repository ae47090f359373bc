/* tools/ckpt/cmd_scan.c - `ckpt scan`: what a file would import and call. */
#include <cjson/cJSON.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt/scan.h"
#include "cli.h"
#include "cli_folder.h"

static const char help[] =
    "usage: ckpt scan FILE... [--json] [--all] [--allow MODULE.NAME]...\n"
    "\n"
    "Scan model files for code they would run when unpickled, without running anything.\n"
    "Every pickle is read by the same VM ckpt loads with: pickles in zip members (any\n"
    "name, classified by content, TorchScript archives included), legacy torch files, raw\n"
    "pickle streams, .npy/.npz object arrays, and pickles nested inside bytes values.\n"
    "Every global is listed with the opcode and byte offset that named it and classified:\n"
    "allowed (torch's weights-only allowlist, exact module.name pairs), unknown, or\n"
    "dangerous (known to run code or reach files, processes or the network).  A call\n"
    "(REDUCE, NEWOBJ, OBJ, INST, BUILD) on anything outside the allowlist makes a file\n"
    "unsafe whatever its names say.\n"
    "\n"
    "  --json               one JSON object per file, in an array\n"
    "  --all                also list allowed globals (text output)\n"
    "  --allow MODULE.NAME  treat this global as allowed (never pickle.*, torch.load, os...)\n"
    "\n"
    "Exit status: 0 every file clean, 1 an unknown or dangerous global or call (even when\n"
    "the file also cannot be read to the end: the error is printed too), 2 a file could\n"
    "not be read to the end (never reported clean).\n";

static const char *verdict_name(int v)
{
    return v == CKPT_SCAN_CLEAN ? "clean" : v == CKPT_SCAN_UNSAFE ? "unsafe" : "unreadable";
}

static void print_text(const char *path, const ckpt_scan_report *r, bool all)
{
    printf("%s: %s, %zu pickle%s: %s\n", path, r->format[0] ? r->format : "?", r->pickles,
           r->pickles == 1 ? "" : "s", verdict_name(r->verdict));
    for (size_t i = 0; i < r->count; i++) {
        const ckpt_scan_finding *f = &r->findings[i];
        if (f->klass == CKPT_SCAN_ALLOWED && !all && strcmp(f->module, "<zip>") != 0)
            continue;
        const char *op = f->opcode ? ckpt_pickle_op_name(f->opcode) : "-";
        printf("  %-9s %s@%llu %s %s.%s%s%s%s\n", ckpt_scan_class_name(f->klass), f->stream,
               (unsigned long long)f->offset, op ? op : "?", f->module, f->name,
               f->called ? " [called]" : "", f->note[0] ? " - " : "", f->note);
    }
    if (r->verdict == CKPT_SCAN_UNREADABLE || r->error.code) { /* unsafe wins, error too */
        char buf[1024];
        printf("  error: %s\n", ckpt_error_format(&r->error, buf, sizeof(buf)));
    }
}

static cJSON *report_json(const char *path, const ckpt_scan_report *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", path);
    cJSON_AddStringToObject(o, "format", r->format);
    cJSON_AddStringToObject(o, "verdict", verdict_name(r->verdict));
    cJSON_AddNumberToObject(o, "pickles", (double)r->pickles);
    cJSON *a = cJSON_AddArrayToObject(o, "findings");
    for (size_t i = 0; i < r->count; i++) {
        const ckpt_scan_finding *f = &r->findings[i];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "stream", f->stream);
        cJSON_AddNumberToObject(x, "offset", (double)f->offset);
        const char *op = f->opcode ? ckpt_pickle_op_name(f->opcode) : NULL;
        cJSON_AddStringToObject(x, "opcode", op ? op : "");
        cJSON_AddStringToObject(x, "module", f->module);
        cJSON_AddStringToObject(x, "name", f->name);
        cJSON_AddStringToObject(x, "class", ckpt_scan_class_name(f->klass));
        cJSON_AddBoolToObject(x, "called", f->called);
        cJSON_AddStringToObject(x, "note", f->note);
        cJSON_AddItemToArray(a, x);
    }
    if (r->verdict == CKPT_SCAN_UNREADABLE || r->error.code) {
        char buf[1024];
        cJSON_AddStringToObject(o, "error", ckpt_error_format(&r->error, buf, sizeof(buf)));
    }
    return o;
}

int cmd_scan(int argc, char **argv)
{
    const char *allow[MAX_ALLOW];
    size_t nallow = 0;
    bool json = false, all = false;
    const char **files = calloc((size_t)argc, sizeof(*files));
    size_t nfiles = 0;
    if (!files)
        return EXIT_ERROR;
    for (int i = 1; i < argc; i++) {
        if (cli_is_help(argv[i])) {
            fputs(help, stdout);
            free(files);
            return EXIT_OK;
        }
        if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (strcmp(argv[i], "--all") == 0)
            all = true;
        else if (strcmp(argv[i], "--allow") == 0 && i + 1 < argc && nallow < MAX_ALLOW)
            allow[nallow++] = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ckpt scan: unknown option %s\n\n%s", argv[i], help);
            free(files);
            return EXIT_ERROR;
        } else
            files[nfiles++] = argv[i];
    }
    if (nfiles == 0) {
        fputs(help, stderr);
        free(files);
        return EXIT_ERROR;
    }
    ckpt_scan_opts so;
    memset(&so, 0, sizeof(so));
    so.safe_globals = allow;
    so.safe_global_count = nallow;
    int worst = EXIT_OK;
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    /* a folder (sharded or distributed checkpoint) is scanned file by file */
    size_t nall = 0, cap = nfiles;
    char **owned = NULL;
    for (size_t i = 0; i < nfiles; i++) {
        char **sub = NULL;
        size_t nsub = 0;
        struct stat st;
        if (stat(files[i], &st) != 0 || !S_ISDIR(st.st_mode) || cli_is_dcp(files[i]) ||
            cli_folder_files(files[i], &sub, &nsub) < 0)
            continue; /* a DCP folder is scanned as one (cli_scan_dcp) */
        char **g = realloc(owned, (nall + nsub) * sizeof(*g));
        const char **h = realloc(files, (cap + nsub) * sizeof(*h));
        if (!g || !h) {
            free(g ? g : owned);
            free(h ? (void *)h : (void *)files);
            cli_folder_files_free(sub, nsub);
            return EXIT_ERROR;
        }
        owned = g;
        files = h;
        for (size_t j = 0; j < nsub; j++) {
            owned[nall++] = sub[j];
            files[cap++] = sub[j];
        }
        free(sub);
        files[i] = NULL; /* the folder itself is not a file */
    }
    nfiles = cap;
    for (size_t i = 0; i < nfiles; i++) {
        if (!files[i])
            continue;
        ckpt_scan_report *r = NULL;
        ckpt_error err;
        if ((cli_is_dcp(files[i]) ? cli_scan_dcp(files[i], &so, &r, &err)
                                  : ckpt_scan_file(files[i], &so, &r, &err)) < 0) {
            cli_print_error("scan", &err);
            worst = EXIT_ERROR;
            continue;
        }
        int code = r->verdict == CKPT_SCAN_CLEAN    ? EXIT_OK
                   : r->verdict == CKPT_SCAN_UNSAFE ? EXIT_FINDING
                                                    : EXIT_ERROR;
        if (code > worst)
            worst = code;
        if (json)
            cJSON_AddItemToArray(arr, report_json(files[i], r));
        else
            print_text(files[i], r, all);
        ckpt_scan_report_free(r);
    }
    if (json) {
        char *s = cJSON_Print(arr);
        if (s) {
            printf("%s\n", s);
            cJSON_free(s);
        }
        cJSON_Delete(arr);
    }
    cli_folder_files_free(owned, nall);
    free(files);
    return worst;
}
