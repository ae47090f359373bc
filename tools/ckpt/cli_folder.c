/* tools/ckpt/cli_folder.c - verify and scan checkpoints that are folders. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "cli_folder.h"

bool cli_is_folder(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return false;
    if (S_ISDIR(st.st_mode))
        return true;
    size_t n = strlen(path);
    return n > 11 && strcmp(path + n - 11, ".index.json") == 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_folder_files(const char *path, char ***files, size_t *n)
{
    *files = NULL;
    *n = 0;
    char dir[4096];
    struct stat st;
    if (stat(path, &st) != 0)
        return -1;
    snprintf(dir, sizeof(dir), "%s", path);
    if (!S_ISDIR(st.st_mode)) {
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        else
            snprintf(dir, sizeof(dir), ".");
    }
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    size_t cap = 0;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        char p[4352];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        if (stat(p, &st) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            char **g = realloc(*files, cap * sizeof(*g));
            if (!g) {
                rc = -1;
                break;
            }
            *files = g;
        }
        if (!((*files)[*n] = strdup(p))) {
            rc = -1;
            break;
        }
        ++*n;
    }
    closedir(d);
    if (rc < 0) {
        cli_folder_files_free(*files, *n);
        *files = NULL;
        *n = 0;
        return -1;
    }
    if (*n)
        qsort(*files, *n, sizeof(**files), cmp_str);
    return 0;
}

void cli_folder_files_free(char **files, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    free(files);
}

/* torch/distributed/checkpoint/metadata.py and filesystem.py (torch 2.x): the
 * classes a .metadata pickle is built from, and what they hold */
static const char *const dcp_globals[] = {
    "torch.distributed.checkpoint.metadata.Metadata",
    "torch.distributed.checkpoint.metadata.TensorStorageMetadata",
    "torch.distributed.checkpoint.metadata.BytesStorageMetadata",
    "torch.distributed.checkpoint.metadata.ChunkStorageMetadata",
    "torch.distributed.checkpoint.metadata.TensorProperties",
    "torch.distributed.checkpoint.metadata.MetadataIndex",
    "torch.distributed.checkpoint.metadata.StorageMeta",
    "torch.distributed.checkpoint.filesystem._StorageInfo",
    "torch.distributed.checkpoint.planner.LoadItemType",
    "torch.distributed.checkpoint.planner.WriteItemType",
    "torch.distributed.checkpoint._nested_dict.FLATTEN_MAPPING",
    "torch.Size",
    "torch.strided",
    "torch.contiguous_format",
    "torch.channels_last",
    "torch.preserve_format",
    "collections.OrderedDict",
    "copyreg.__newobj__",
    "builtins.set",
};

void cli_folder_scan_opts(const char *file, const ckpt_scan_opts *base, ckpt_scan_opts *out,
                          const char **buf, size_t cap)
{
    *out = *base;
    size_t n = strlen(file);
    if (n < 10 || strcmp(file + n - 10, "/.metadata") != 0)
        return;
    size_t k = 0;
    for (size_t i = 0; i < base->safe_global_count && k < cap; i++)
        buf[k++] = base->safe_globals[i];
    for (size_t i = 0; i < sizeof(dcp_globals) / sizeof(dcp_globals[0]) && k < cap; i++)
        buf[k++] = dcp_globals[i];
    out->safe_globals = buf;
    out->safe_global_count = k;
}

typedef struct fv {
    ckpt_doc *doc;
    size_t tensors;
    uint64_t bytes;
} fv;

static int read_one(void *payload, const char *key, const ckpt_obj *t)
{
    (void)key;
    fv *v = payload;
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) < 0)
        return -1;
    ckpt_error e;
    ckpt_error_clear(&e);
    if (ti.numel > 0 && !ckpt_tensor_data_load(v->doc, t, &e))
        return -1;
    v->tensors++;
    v->bytes += ti.nbytes;
    return 0;
}

int cli_verify_folder(const char *path, const cli_load *lo, bool json)
{
    char why[400];
    int fmt = ckpt_format_detect(path, why, sizeof(why));
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_load_opts o;
    cli_load_fill(lo, &o);
    o.mode = CKPT_LOAD_LAZY;
    o.keep_locations = true;
    fv v = {NULL, 0, 0};
    int structure = 1;
    if (fmt == CKPT_FMT_UNKNOWN) {
        err.code = CKPT_E_FORMAT;
        snprintf(err.file, sizeof(err.file), "%.250s", path);
        snprintf(err.msg, sizeof(err.msg), "%.250s", why);
    } else if ((v.doc = ckpt_load_any(path, &o, &err)) != NULL) {
        /* every tensor's bytes: each shard opened and each item read */
        if (ckpt_obj_walk_tensors(ckpt_doc_root(v.doc), read_one, &v, &err) == 0)
            structure = 0;
        if (structure && !err.code) {
            err.code = CKPT_E_FORMAT;
            snprintf(err.msg, sizeof(err.msg), "a tensor's bytes could not be read");
        }
    }
    ckpt_doc_free(v.doc);
    /* every member file through the scanner (safetensors files hold no pickle) */
    char **files = NULL;
    size_t nfiles = 0;
    cli_folder_files(path, &files, &nfiles);
    ckpt_scan_opts base;
    memset(&base, 0, sizeof(base));
    base.safe_globals = lo->allow;
    base.safe_global_count = lo->nallow;
    size_t unsafe = 0, unreadable = 0, scanned = 0;
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (!json) {
        printf("%s: %s\n", path, ckpt_format_name(fmt) ? ckpt_format_name(fmt) : "unknown");
        printf("  format: %s\n", why);
    }
    for (size_t i = 0; i < nfiles; i++) {
        char k[64];
        if (strcmp(ckpt_detect_file(files[i], k, sizeof(k), NULL), "safetensors") == 0)
            continue;
        size_t fl = strlen(files[i]);
        if (fl > 5 && strcmp(files[i] + fl - 5, ".json") == 0)
            continue;
        const char *buf[MAX_ALLOW + 32];
        ckpt_scan_opts so;
        cli_folder_scan_opts(files[i], &base, &so, buf, sizeof(buf) / sizeof(buf[0]));
        ckpt_scan_report *r = NULL;
        ckpt_error se;
        if (ckpt_scan_file(files[i], &so, &r, &se) < 0) {
            unreadable++;
            continue;
        }
        scanned++;
        bool bad = r->verdict == CKPT_SCAN_UNSAFE;
        for (size_t j = 0; j < r->count; j++)
            bad = bad || r->findings[j].klass != CKPT_SCAN_ALLOWED;
        unsafe += bad;
        unreadable += !bad && r->verdict == CKPT_SCAN_UNREADABLE;
        if (json) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddStringToObject(x, "file", files[i]);
            cJSON_AddStringToObject(x, "verdict", bad ? "unsafe"
                                                      : r->verdict == CKPT_SCAN_UNREADABLE
                                                          ? "unreadable"
                                                          : "clean");
            cJSON_AddNumberToObject(x, "pickles", (double)r->pickles);
            cJSON_AddItemToArray(arr, x);
        } else if (bad || r->verdict != CKPT_SCAN_CLEAN) {
            printf("  scan: %s: %s\n", files[i],
                   bad ? "unsafe (run ckpt scan on it for the findings)" : "unreadable");
        }
        ckpt_scan_report_free(r);
    }
    cli_folder_files_free(files, nfiles);
    const char *verdict = unsafe ? "unsafe" : structure ? "corrupt" : unreadable ? "corrupt" : "ok";
    int code = unsafe ? EXIT_FINDING : (structure || unreadable) ? EXIT_ERROR : EXIT_OK;
    char ebuf[1200];
    if (json) {
        cJSON *o2 = cJSON_CreateObject();
        cJSON_AddStringToObject(o2, "file", path);
        cJSON_AddStringToObject(o2, "format",
                                ckpt_format_name(fmt) ? ckpt_format_name(fmt) : "unknown");
        cJSON_AddStringToObject(o2, "description", why);
        cJSON_AddStringToObject(o2, "structure", structure ? "corrupt" : "ok");
        cJSON_AddNumberToObject(o2, "tensors", (double)v.tensors);
        cJSON_AddNumberToObject(o2, "tensor_bytes", (double)v.bytes);
        if (structure)
            cJSON_AddStringToObject(o2, "error", ckpt_error_format(&err, ebuf, sizeof(ebuf)));
        cJSON_AddItemToObject(o2, "scan", arr);
        cJSON_AddStringToObject(o2, "verdict", verdict);
        char *txt = cJSON_Print(o2);
        if (txt)
            printf("%s\n", txt);
        cJSON_free(txt);
        cJSON_Delete(o2);
    } else {
        if (structure)
            printf("  structure: corrupt: %s\n", ckpt_error_format(&err, ebuf, sizeof(ebuf)));
        else
            printf("  structure: ok: %zu tensors, %" PRIu64 " bytes, every one read\n",
                   v.tensors, v.bytes);
        printf("  scan: %zu files with pickles scanned, %zu unsafe, %zu unreadable\n", scanned,
               unsafe, unreadable);
        printf("  verdict: %s\n", verdict);
    }
    return code;
}
