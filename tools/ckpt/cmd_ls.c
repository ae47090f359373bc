/* tools/ckpt/cmd_ls.c - `ckpt ls`: one row per tensor in the object tree. */
#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "cli_folder.h"
#include "cli_jit.h"
#include "cli_util.h"

static const char help[] =
    "usage: ckpt ls FILE [--json] [--raw] [--allow MODULE.NAME]... [--full]\n"
    "\n"
    "List every tensor reachable in the checkpoint, in the order torch would walk it:\n"
    "key path (nested containers joined with '.', e.g. model.fc1.weight or\n"
    "optimizer.state.0.exp_avg), dtype as torch names it, shape and size in bytes.\n"
    "\n"
    "  --json                one JSON array of objects with the fields key, dtype, shape,\n"
    "                        stride, storage_offset, nbytes, device (and path: the raw key\n"
    "                        path of a packed quantized weight or bias, see below)\n"
    "  --allow MODULE.NAME   accept this global besides torch's weights-only allowlist\n"
    "  --full                read in data-only mode from the start (unknown classes become\n"
    "                        inert objects; nothing is executed). Without it, a file that is\n"
    "                        not weights-only is listed in data-only mode after a note.\n"
    "\n"
    "Models (TorchScript and lite archives, torch.export .pt2 archives, full-model\n"
    "pickles) list what torch.jit.load(FILE).named_parameters() and named_buffers()\n"
    "report, in that order, then tensor attributes marked 'attribute'; --json adds the\n"
    "fields kind (parameter, buffer, attribute), requires_grad and crc32 (CRC-32 of the\n"
    "row-major bytes).\n"
    "\n"
    "  --raw                 list a TorchScript archive's pickles as stored instead: the\n"
    "                        tensors of data.pkl, then those of its constants table\n"
    "                        (constants.pkl: the frozen weights of optimized and lite\n"
    "                        models) as constants.<i>...  Packed quantized Conv/Linear\n"
    "                        parameters are named as torch.ao's state_dict names them:\n"
    "                        <layer>.weight, <layer>.bias.\n"
    "\n"
    "Exit status: 0 listed, 2 the file could not be read.\n";

typedef struct ls_ctx {
    const ckpt_obj *root;
    const char *prefix; /* "constants." for TorchScript's constants table */
    bool json;
    bool first;
    size_t count;
    uint64_t bytes;
} ls_ctx;

/* A class of torch's quantized modules (torch.ao.nn.quantized..., scripted or not)? */
static bool qclass(const ckpt_obj *o, const char *name)
{
    if (ckpt_obj_type(o) != CKPT_T_OBJECT)
        return false;
    const char *m = ckpt_global_module(o), *n = ckpt_global_name(o);
    return m && n && strstr(m, "quantized") && strcmp(n, name) == 0;
}

static bool qconv(const ckpt_obj *o)
{
    static const char *const names[] = {"Conv1d",          "Conv2d",          "Conv3d",
                                        "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
                                        "ConvReLU1d",      "ConvReLU2d",      "ConvReLU3d"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (qclass(o, names[i]))
            return true;
    return false;
}

/*
 * Packed quantized parameters, as the eager state_dict names them: a quantized
 * Conv's pickled state is a tuple whose items 10 and 11 are its weight and bias
 * (torch.ao's _ConvNd.__getstate__), a quantized Linear keeps (weight, bias) in
 * its LinearPackedParams.  `key` is the walker's raw path; on a match `out`
 * gets "<layer>.weight" or "<layer>.bias".
 */
static bool quant_name(const ckpt_obj *root, const char *key, char *out, size_t n)
{
    size_t kl = strlen(key);
    if (!root ||
        (!strstr(key, "_packed_params") &&
         !(kl > 3 && (strcmp(key + kl - 3, ".10") == 0 || strcmp(key + kl - 3, ".11") == 0))))
        return false;
    static cli_step steps[CLI_MAX_STEPS];
    size_t ns = 0;
    char why[128];
    if (!cli_resolve(root, key, steps, &ns, why, sizeof(why)) || ns == 0)
        return false;
    const cli_step *last = &steps[ns - 1];
    if (ckpt_obj_type(last->container) != CKPT_T_TUPLE &&
        ckpt_obj_type(last->container) != CKPT_T_LIST)
        return false;
    char prefix[1024] = "", layer[1024] = "", t[512];
    bool linear = false;
    for (size_t i = 0; i < ns; i++) {
        const ckpt_obj *c = steps[i].container;
        if (ckpt_obj_type(c) == CKPT_T_OBJECT) {
            if (qconv(c) && i + 2 == ns && (last->index == 10 || last->index == 11)) {
                snprintf(out, n, "%s%s%s", prefix, prefix[0] ? "." : "",
                         last->index == 10 ? "weight" : "bias");
                return true;
            }
            if (qclass(c, "LinearPackedParams") && linear && last->index <= 1) {
                snprintf(out, n, "%s%s%s", layer, layer[0] ? "." : "",
                         last->index == 0 ? "weight" : "bias");
                return true;
            }
            /* torch.classes.quantized.Conv{2,3}dPackedParamsBase: state (version,
             * tensors, optionals); version "2": ([config, weight], [bias]),
             * version "3": (config, [weight, bias]) */
            const char *cn = ckpt_global_name(c);
            if (i + 3 == ns && cn && strstr(cn, "PackedParamsBase") &&
                strncmp(cn, "Conv", 4) == 0) {
                size_t slot = steps[i + 1].index, item = last->index;
                const ckpt_obj *st = ckpt_object_state(c);
                const ckpt_obj *ver = st ? ckpt_obj_item(st, 0) : NULL;
                const char *v = ver && ckpt_obj_type(ver) == CKPT_T_STR ? ckpt_obj_str(ver, NULL)
                                                                        : "";
                const char *what = NULL;
                if (strcmp(v, "2") == 0)
                    what = slot == 1 && item == 1   ? "weight"
                           : slot == 2 && item == 0 ? "bias"
                                                    : NULL;
                else if (strcmp(v, "3") == 0 && slot == 2)
                    what = item == 0 ? "weight" : item == 1 ? "bias" : NULL;
                if (!what)
                    return false;
                /* the layer: "<layer>._packed_params", or the hoisted attribute
                 * "_jit_pass_hoist_conv_packed_params.<layer>._packed_params.<n>" */
                static const char hoist[] = "_jit_pass_hoist_conv_packed_params.";
                char *pp = strstr(prefix, "._packed_params");
                const char *ly = prefix;
                size_t lp = strlen(prefix);
                char *dot = strrchr(prefix, '.');
                if (strncmp(prefix, hoist, sizeof(hoist) - 1) == 0 && dot) {
                    ly = prefix + sizeof(hoist) - 1;
                    pp = strstr(ly, "._packed_params");
                }
                if (!pp)
                    return false;
                lp = (size_t)(pp - ly);
                snprintf(out, n, "%.*s.%s", (int)lp, ly, what);
                return true;
            }
            if (qclass(c, "Linear") || qclass(c, "LinearReLU")) {
                linear = true;
                snprintf(layer, sizeof(layer), "%s", prefix);
            }
            continue;
        }
        if (ckpt_obj_type(c) == CKPT_T_DICT)
            cli_key_text(ckpt_dict_key(c, steps[i].index), t, sizeof(t));
        else
            snprintf(t, sizeof(t), "%zu", steps[i].index);
        size_t pl = strlen(prefix);
        snprintf(prefix + pl, sizeof(prefix) - pl, "%s%s", pl ? "." : "", t);
    }
    return false;
}

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
    char pk[1100], qn[1100];
    const char *raw = NULL;
    if (quant_name(c->root, key, qn, sizeof(qn))) {
        raw = key;
        key = qn;
    }
    if (c->prefix) {
        snprintf(pk, sizeof(pk), "%s%s", c->prefix, key);
        if (raw) {
            snprintf(qn, sizeof(qn), "%s%s", c->prefix, raw);
            raw = qn;
        }
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
    if (raw) /* the walker's own path, where key is the eager state_dict name */
        cJSON_AddStringToObject(o, "path", raw);
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
    c->root = ckpt_doc_root(doc);
    int rc = ckpt_obj_walk_tensors(ckpt_doc_root(doc), visit, c, err);
    c->prefix = NULL;
    c->root = NULL;
    ckpt_doc_free(doc);
    return rc;
}

int cmd_ls(int argc, char **argv)
{
    cli_load lo;
    memset(&lo, 0, sizeof(lo));
    ls_ctx c = {NULL, NULL, false, true, 0, 0};
    const char *path = NULL;
    bool raw = false;
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
        else if (strcmp(argv[i], "--raw") == 0)
            raw = true;
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
    ckpt_error err = {0};             /* h-pt2: the reader saw garbage codes */
    if (!raw && cli_jit_file(path)) { /* the module's tensors, as torch.jit.load lists them */
        ckpt_jit_model *m = ckpt_jit_load(path, NULL, &err);
        if (!m) {
            cli_print_error("ls", &err);
            return EXIT_ERROR;
        }
        int jr = cli_jit_ls(m, c.json);
        ckpt_jit_free(m);
        return jr;
    }
    /* a folder of shards: the tensor table only, no shard's bytes */
    ckpt_doc *doc = cli_load_doc(path, &lo, cli_is_folder(path) ? CKPT_LOAD_LAZY : CKPT_LOAD_MMAP,
                                 true, !lo.map_location, &err);
    if (!doc) {
        cli_print_error("ls", &err);
        return EXIT_ERROR;
    }
    if (!raw && cli_jit_module_doc(doc)) { /* torch.save(model): its module, when read */
        ckpt_jit_model *m = ckpt_jit_load(path, NULL, NULL);
        if (m) {
            ckpt_doc_free(doc);
            int jr = cli_jit_ls(m, c.json);
            ckpt_jit_free(m);
            return jr;
        }
    }
    c.root = ckpt_doc_root(doc);
    int rc = ckpt_obj_walk_tensors(ckpt_doc_root(doc), visit, &c, &err);
    c.root = NULL;
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
