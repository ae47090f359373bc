/* tools/ckpt/cmd_ls.c - `ckpt ls`: one row per tensor in the object tree. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: ckpt ls FILE [--json] [--allow MODULE.NAME]... [--full]\n"
    "\n"
    "List every tensor reachable in the checkpoint, in the order torch would walk it:\n"
    "key path (nested containers joined with '.', e.g. model.fc1.weight or\n"
    "optimizer.state.0.exp_avg), dtype as torch names it, shape and size in bytes.\n"
    "\n"
    "  --json                one JSON array of objects with the fields key, dtype, shape,\n"
    "                        stride, storage_offset, nbytes, device\n"
    "  --allow MODULE.NAME   accept this global besides torch's weights-only allowlist\n"
    "  --full                read in data-only mode from the start (unknown classes become\n"
    "                        inert objects; nothing is executed). Without it, a file that is\n"
    "                        not weights-only is listed in data-only mode after a note.\n"
    "\n"
    "Exit status: 0 listed, 2 the file could not be read.\n";

typedef struct ls_ctx {
    const char *prefix; /* "constants." for TorchScript's constants table */
    bool json;
    bool first;
    size_t count;
    uint64_t bytes;
} ls_ctx;

static void shape_text(char *buf, size_t n, const int64_t *v, int nd)
{
    size_t o = 0;
    o += (size_t)snprintf(buf + o, n - o, "[");
    for (int i = 0; i < nd && o < n; i++)
        o += (size_t)snprintf(buf + o, n - o, "%s%" PRId64, i ? ", " : "", v[i]);
    if (o < n)
        snprintf(buf + o, n - o, "]");
}

static cJSON *int_array(const int64_t *v, int nd)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < nd; i++)
        cJSON_AddItemToArray(a, cJSON_CreateNumber((double)v[i]));
    return a;
}

static int visit(void *payload, const char *key, const ckpt_obj *t)
{
    ls_ctx *c = payload;
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) < 0)
        return -1;
    char pk[1100];
    if (c->prefix) {
        snprintf(pk, sizeof(pk), "%s%s", c->prefix, key);
        key = pk;
    }
    c->count++;
    c->bytes += ti.nbytes;
    if (!c->json) {
        char shape[512];
        shape_text(shape, sizeof(shape), ti.shape, ti.ndim);
        printf("%-48s %-10s %-22s %12" PRIu64 "\n", key, ckpt_dtype_name(ti.dtype), shape,
               ti.nbytes);
        return 0;
    }
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return -1;
    cJSON_AddStringToObject(o, "key", key);
    cJSON_AddStringToObject(o, "dtype", ckpt_dtype_name(ti.dtype));
    cJSON_AddItemToObject(o, "shape", int_array(ti.shape, ti.ndim));
    cJSON_AddItemToObject(o, "stride", int_array(ti.stride, ti.ndim));
    cJSON_AddNumberToObject(o, "storage_offset", (double)ti.storage_offset);
    cJSON_AddNumberToObject(o, "nbytes", (double)ti.nbytes);
    cJSON_AddStringToObject(o, "device", ti.device);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s)
        return -1;
    printf("%s%s", c->first ? "[\n" : ",\n", s);
    c->first = false;
    cJSON_free(s);
    return 0;
}

/* TorchScript archives (lite ones above all) keep frozen weights in their
 * constants table (constants.pkl, storages in constants/<key>): list those
 * tensors too, as constants.<index>... */
static int list_constants(const char *path, const cli_load *lo, ls_ctx *c, ckpt_error *err)
{
    char why[320];
    const char *kind = ckpt_detect_file(path, why, sizeof(why), NULL);
    if (strcmp(kind, "torchscript") != 0 && strcmp(kind, "torchscript-lite") != 0)
        return 0;
    ckpt_load_opts o;
    cli_load_fill(lo, &o);
    o.unsafe_full = true; /* TorchScript is never weights-only; nothing is executed */
    o.keep_locations = !lo->map_location;
    o.mode = CKPT_LOAD_MMAP;
    o.pickle_record = "constants.pkl";
    ckpt_error e;
    ckpt_doc *doc = ckpt_load(path, &o, &e);
    if (!doc) {
        if (strstr(e.msg, "no constants.pkl"))
            return 0;
        *err = e;
        return -1;
    }
    c->prefix = "constants.";
    int rc = ckpt_walk_tensors(ckpt_doc_root(doc), visit, c, err);
    c->prefix = NULL;
    ckpt_doc_free(doc);
    return rc;
}

int cmd_ls(int argc, char **argv)
{
    cli_load lo;
    memset(&lo, 0, sizeof(lo));
    ls_ctx c = {NULL, false, true, 0, 0};
    const char *path = NULL;
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
        if (strcmp(argv[i], "--json") == 0)
            c.json = true;
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "ckpt ls: unknown option %s\n\n%s", argv[i], help);
            return EXIT_ERROR;
        } else if (!path)
            path = argv[i];
        else {
            fprintf(stderr, "ckpt ls: one FILE only\n");
            return EXIT_ERROR;
        }
    }
    if (!path) {
        fputs(help, stderr);
        return EXIT_ERROR;
    }
    ckpt_error err;
    ckpt_doc *doc = cli_load_doc(path, &lo, CKPT_LOAD_MMAP, true, !lo.map_location, &err);
    if (!doc) {
        cli_print_error("ls", &err);
        return EXIT_ERROR;
    }
    int rc = ckpt_walk_tensors(ckpt_doc_root(doc), visit, &c, &err);
    ckpt_doc_free(doc);
    doc = NULL;
    if (rc == 0)
        rc = list_constants(path, &lo, &c, &err);
    if (c.json)
        printf("%s]\n", c.first ? "[\n" : "\n");
    else if (rc == 0)
        printf("# %zu tensors, %" PRIu64 " bytes\n", c.count, c.bytes);
    if (rc < 0) {
        cli_print_error("ls", &err);
        return EXIT_ERROR;
    }
    return EXIT_OK;
}
