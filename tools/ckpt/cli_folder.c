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

static int add_finding(ckpt_scan_report *r, const ckpt_scan_finding *f, const char *prefix)
{
    ckpt_scan_finding *g = realloc(r->findings, (r->count + 1) * sizeof(*g));
    if (!g)
        return -1;
    r->findings = g;
    g[r->count] = *f;
    snprintf(g[r->count].stream, sizeof(g[r->count].stream), "%.80s>%.100s", prefix, f->stream);
    r->count++;
    return 0;
}

static void merge(ckpt_scan_report *r, const ckpt_scan_report *x, const char *prefix)
{
    for (size_t i = 0; i < x->count; i++)
        add_finding(r, &x->findings[i], prefix);
    r->pickles += x->pickles;
    if (x->verdict == CKPT_SCAN_UNSAFE)
        r->verdict = CKPT_SCAN_UNSAFE;
    else if (x->verdict == CKPT_SCAN_UNREADABLE && r->verdict == CKPT_SCAN_CLEAN) {
        r->verdict = CKPT_SCAN_UNREADABLE;
        r->error = x->error;
    }
}

bool cli_is_dcp(const char *path)
{
    return ckpt_format_detect(path, NULL, 0) == CKPT_FMT_DCP;
}

int cli_scan_dcp(const char *dir, const ckpt_scan_opts *so, ckpt_scan_report **out,
                 ckpt_error *err)
{
    ckpt_scan_report *r = calloc(1, sizeof(*r));
    if (!r)
        return -1;
    snprintf(r->format, sizeof(r->format), "DCP folder");
    r->verdict = CKPT_SCAN_CLEAN;
    char meta[4096];
    snprintf(meta, sizeof(meta), "%s/.metadata", dir);
    ckpt_error e;
    ckpt_error_clear(&e);
    /* .metadata through the DCP reader's own allowlist (DCP's dataclasses only) */
    ckpt_dcp *d = ckpt_dcp_open(dir, &e);
    if (!d) {
        /* refused: what the generic scanner sees in it says why */
        ckpt_scan_report *x = NULL;
        if (ckpt_scan_file(meta, so, &x, err) < 0) {
            free(r);
            return -1;
        }
        merge(r, x, ".metadata");
        ckpt_scan_report_free(x);
        if (r->verdict == CKPT_SCAN_CLEAN) {
            r->verdict = e.code == CKPT_E_UNSAFE ? CKPT_SCAN_UNSAFE : CKPT_SCAN_UNREADABLE;
            r->error = e;
        }
        *out = r;
        return 0;
    }
    r->pickles++; /* .metadata, read by the allowlisted reader */
    /* every item: a torch.save archive of a chunk, or a pickled value */
    for (size_t i = 0; i < ckpt_dcp_count(d); i++) {
        const ckpt_dcp_entry *en = ckpt_dcp_entry_at(d, i);
        size_t nk = en->is_bytes ? 1 : en->nchunks;
        for (size_t k = 0; k < nk; k++) {
            const char *file;
            uint64_t off, len;
            if (ckpt_dcp_item_location(d, i, k, &file, &off, &len) < 0)
                continue;
            char p[4352], label[300];
            snprintf(p, sizeof(p), "%s/%s", dir, file);
            snprintf(label, sizeof(label), "%.120s@%llu", file, (unsigned long long)off);
            uint8_t *buf = len <= ((uint64_t)1 << 34) ? malloc(len ? (size_t)len : 1) : NULL;
            FILE *f = buf ? fopen(p, "rb") : NULL;
            bool ok = f && fseeko(f, (off_t)off, SEEK_SET) == 0 &&
                      fread(buf, 1, (size_t)len, f) == (size_t)len;
            if (f)
                fclose(f);
            ckpt_scan_report *x = NULL;
            if (ok && ckpt_scan_mem(buf, (size_t)len, label, so, &x, err) == 0) {
                merge(r, x, label);
                ckpt_scan_report_free(x);
            } else if (r->verdict == CKPT_SCAN_CLEAN) {
                r->verdict = CKPT_SCAN_UNREADABLE;
                r->error.code = CKPT_E_IO;
                snprintf(r->error.msg, sizeof(r->error.msg), "%.200s: item not readable", label);
            }
            free(buf);
        }
    }
    ckpt_dcp_close(d);
    *out = r;
    return 0;
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

typedef struct scan_tally {
    size_t scanned, unsafe, unreadable;
    cJSON *arr; /* --json: one object per file */
    bool json;
} scan_tally;

/* Count one file's scan report (and free it); say what is wrong with it. */
static void tally(scan_tally *t, const char *file, ckpt_scan_report *r)
{
    t->scanned++;
    bool bad = r->verdict == CKPT_SCAN_UNSAFE;
    for (size_t j = 0; j < r->count; j++)
        bad = bad || r->findings[j].klass != CKPT_SCAN_ALLOWED;
    bool unreadable = !bad && r->verdict == CKPT_SCAN_UNREADABLE;
    t->unsafe += bad;
    t->unreadable += unreadable;
    if (t->json) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "file", file);
        cJSON_AddStringToObject(x, "verdict",
                                bad          ? "unsafe"
                                : unreadable ? "unreadable"
                                             : "clean");
        cJSON_AddNumberToObject(x, "pickles", (double)r->pickles);
        cJSON_AddItemToArray(t->arr, x);
    } else if (bad || r->verdict != CKPT_SCAN_CLEAN) {
        printf("  scan: %s: %s\n", file,
               bad ? "unsafe (ckpt scan on it lists the findings)" : "unreadable");
    }
    ckpt_scan_report_free(r);
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
    size_t nall_files = nfiles;
    ckpt_scan_opts base;
    memset(&base, 0, sizeof(base));
    base.safe_globals = lo->allow;
    base.safe_global_count = lo->nallow;
    cJSON *arr = json ? cJSON_CreateArray() : NULL;
    if (!json) {
        printf("%s: %s\n", path, ckpt_format_name(fmt) ? ckpt_format_name(fmt) : "unknown");
        printf("  format: %s\n", why);
    }
    scan_tally t = {0, 0, 0, arr, json};
    if (fmt == CKPT_FMT_DCP) {
        ckpt_scan_report *r = NULL;
        ckpt_error se;
        if (cli_scan_dcp(path, &base, &r, &se) < 0)
            t.unreadable++;
        else
            tally(&t, path, r);
        nfiles = 0; /* the items were scanned one by one */
    }
    for (size_t i = 0; i < nfiles; i++) {
        char k[64];
        if (strcmp(ckpt_detect_file(files[i], k, sizeof(k), NULL), "safetensors") == 0)
            continue;
        size_t fl = strlen(files[i]);
        if (fl > 5 && strcmp(files[i] + fl - 5, ".json") == 0)
            continue;
        ckpt_scan_report *r = NULL;
        ckpt_error se;
        if (ckpt_scan_file(files[i], &base, &r, &se) < 0)
            t.unreadable++;
        else
            tally(&t, files[i], r);
    }
    size_t unsafe = t.unsafe, unreadable = t.unreadable, scanned = t.scanned;
    cli_folder_files_free(files, nall_files);
    const char *verdict = unsafe       ? "unsafe"
                          : structure  ? "corrupt"
                          : unreadable ? "corrupt"
                                       : "ok";
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
            printf("  structure: ok: %zu tensors, %" PRIu64 " bytes, every one read\n", v.tensors,
                   v.bytes);
        printf("  scan: %zu %s scanned, %zu unsafe, %zu unreadable\n", scanned,
               fmt == CKPT_FMT_DCP ? "DCP folder (.metadata and every item)"
                                   : "files with pickles",
               unsafe, unreadable);
        printf("  verdict: %s\n", verdict);
    }
    return code;
}
