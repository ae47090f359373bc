/* src/store/hf.c - Hugging Face sharded checkpoints (issue 13 item 4).
 *
 * Load: a folder (model.safetensors, model.safetensors.index.json,
 * pytorch_model.bin, pytorch_model.bin.index.json: the order in which
 * transformers' from_pretrained looks for them) or an "*.index.json" file.
 * Every shard is opened once at load time to read its tensor table (the
 * safetensors header, or the torch zip's pickle in CKPT_LOAD_LAZY mode,
 * weights-only) and closed again; the document's storages are CKPT_HOLD_LAZY
 * and remember (shard, storage index in the shard's document).  A read
 * (ckpt_tensor_data_load) opens the shard again (at most ONE shard is open
 * at any time: the last one read from), checks that it is the file that was
 * indexed (device, inode, size, mtime), reads the storage through the
 * shard's own lazy reader and moves the bytes into this document.
 *
 * Save: transformers' save_pretrained, as of transformers commit 040ba146
 * (src/transformers/modeling_utils.py, PreTrainedModel.save_pretrained, the
 * v4.48 line) with huggingface_hub >= 0.24 (src/huggingface_hub/serialization/
 * _base.py split_state_dict_into_shards_factory, _torch.py
 * get_torch_storage_id / get_torch_storage_size; unchanged up to hub
 * 1.29.0.dev0, commit ee0a4510):
 *   - safetensors only: tensors that share a storage are split by
 *     _find_disjoint: views whose byte ranges do not overlap are cloned
 *     (each gets its own storage); overlapping ones are an error (transformers'
 *     "shared tensors ... mismatching the transformers base configuration")
 *     unless duplicate_shared, which clones them too;
 *   - the split walks the dict in order; a tensor whose storage id (storage
 *     identity; every zero-byte storage shares the id (cpu, 0, 0) because
 *     torch's data_ptr of an empty storage is 0) was seen before is placed
 *     later into the shard of the first one, and adds nothing to any size;
 *     otherwise its size is its STORAGE's nbytes (untyped_storage().nbytes()),
 *     a size > max_shard_size gets a shard of its own, and the current shard
 *     is closed when the size would pass max_shard_size;
 *   - names: one shard -> model.safetensors / pytorch_model.bin, no index;
 *     more -> model-%05d-of-%05d.safetensors / pytorch_model-...bin and the
 *     index json.dumps(index, indent=2, sort_keys=True) + "\n" with
 *     metadata {"total_size": sum of those sizes} (plus the caller's extra
 *     entries, total_size winning as in newer transformers'
 *     {"total_parameters": ..., **split.metadata});
 *   - each shard holds tensor.contiguous(): .bin shards are torch.save of a
 *     plain dict (a contiguous view keeps its whole storage, shared storages
 *     stay shared), safetensors shards carry metadata {"format": "pt"};
 *   - files of an earlier save that match transformers' clean-up rule
 *     (name starts with "model"/"pytorch_model", is a file, is not a new
 *     shard, and without ".bin"/".safetensors" fullmatches
 *     (.*?)-\d{5}-of-\d{5}) are removed; ckpt also removes the stale index
 *     (when the new save is unsharded) and the stale unsharded file (when it
 *     is sharded) of the same kind, which transformers leaves behind and
 *     which would shadow or break the new save.
 * Atomicity: a folder that does not exist is written as a temporary folder
 * beside it and renamed into place.  In an existing folder (which holds
 * config.json and the like, so it cannot be swapped) every file is replaced
 * atomically (temporary file, fsync, rename), the shards first, the index
 * last, stale files removed only after the index: a reader never sees an
 * index naming a shard that is not there.
 * Deviation: an empty dict is written as an empty unsharded file
 * (transformers writes no weights file at all then).
 */
#define _XOPEN_SOURCE 700
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "ckpt/formats.h"
#include "core/atomic.h"
#include "core/checked.h"
#include "core/err.h"
#include "core/obj.h"
#include "core/text.h"
#include "core/utf8.h"

#define HF_MAX_INDEX (64u << 20) /* bytes of index JSON read at most */

enum { HF_ST = 1, HF_BIN = 2 };

static const char *const ST_NAME = "model.safetensors";
static const char *const ST_INDEX = "model.safetensors.index.json";
static const char *const BIN_NAME = "pytorch_model.bin";
static const char *const BIN_INDEX = "pytorch_model.bin.index.json";

unsigned long long ckpt__hf_shard_opens(const ckpt_doc *doc);

/* ================================================================= load */

typedef struct hf_shard {
    char *name; /* as the weight_map names it */
    char *path; /* folder/name */
    int kind;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    size_t nstorages; /* storages of the shard's document */
} hf_shard;

typedef struct hf_rec {
    uint32_t shard;
    size_t index;    /* in the shard document's storages */
    const char *key; /* first tensor of this storage (errors) */
} hf_rec;

typedef struct hf_ctx {
    hf_shard *shards;
    size_t nshards;
    ckpt_load_opts opts;
    ckpt_doc *open; /* the one open shard, or NULL */
    size_t open_idx;
    unsigned long long opens; /* shard documents opened by reads (tests) */
} hf_ctx;

static void set_key(ckpt_error *err, const char *key)
{
    if (err && key && !err->key[0])
        snprintf(err->key, sizeof(err->key), "%s", key);
}

static bool ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

static char *join_path(ckpt__arena *ar, const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = ckpt__arena_alloc(ar, a + b + 2);
    if (!p)
        return NULL;
    memcpy(p, dir, a);
    size_t k = a;
    if (a && dir[a - 1] != '/')
        p[k++] = '/';
    memcpy(p + k, name, b + 1);
    return p;
}

/* A weight_map file name must stay inside the folder: relative, no ".."
 * component, no empty name, no control characters. */
static int check_shard_name(const char *name, const char *index, ckpt_error *err)
{
    if (!name[0] || name[0] == '/')
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, 0,
                            "index %s names shard \"%.100s\": %s", index, name,
                            name[0] ? "an absolute path (shards must be inside the folder)"
                                    : "an empty file name");
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == '\\')
            return CKPT_FAIL(err, CKPT_E_FORMAT,
                             "index %s names shard \"%.100s\" with a control character or "
                             "backslash",
                             index, name);
    const char *c = name;
    while (*c) {
        const char *e = strchr(c, '/');
        size_t len = e ? (size_t)(e - c) : strlen(c);
        if ((len == 2 && c[0] == '.' && c[1] == '.') || len == 0)
            return CKPT_FAIL(err, CKPT_E_FORMAT,
                             "index %s names shard \"%.100s\": a path that leaves the folder "
                             "(\"..\" or an empty component)",
                             index, name);
        c += len;
        if (*c == '/')
            c++;
    }
    return 0;
}

/* Resolve `path` and check it is a regular file under `root_real`. */
static int check_inside(const char *root_real, const char *path, const char *name,
                        const char *key, hf_shard *sh, ckpt_error *err)
{
    char real[PATH_MAX];
    if (!realpath(path, real)) {
        int e = errno;
        CKPT_FAIL(err, CKPT_E_IO, "shard %s (named by the index) is missing: %s", name,
                  strerror(e));
        ckpt__error_set_file(err, path);
        set_key(err, key);
        return CKPT_E_IO;
    }
    size_t rl = strlen(root_real);
    bool inside = strncmp(real, root_real, rl) == 0 &&
                  (real[rl] == '/' || (rl == 1 && root_real[0] == '/'));
    if (!inside) {
        CKPT_FAIL(err, CKPT_E_FORMAT,
                  "shard %s resolves to %s, outside the checkpoint folder %s (symlink escape "
                  "refused)",
                  name, real, root_real);
        ckpt__error_set_file(err, path);
        return CKPT_E_FORMAT;
    }
    struct stat st;
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        CKPT_FAIL(err, CKPT_E_FORMAT, "shard %s is not a regular file", name);
        ckpt__error_set_file(err, path);
        return CKPT_E_FORMAT;
    }
    sh->dev = st.st_dev;
    sh->ino = st.st_ino;
    sh->size = st.st_size;
    sh->mtime = st.st_mtim;
    return 0;
}

static int shard_kind(const char *path, const char *name, ckpt_error *err)
{
    char why[256];
    why[0] = '\0';
    const char *k = ckpt_detect_file(path, why, sizeof(why), NULL);
    if (strcmp(k, "safetensors") == 0)
        return HF_ST;
    if (strcmp(k, "torch-zip") == 0 || strcmp(k, "torch-legacy") == 0)
        return HF_BIN;
    CKPT_FAIL(err, CKPT_E_FORMAT, "shard %s is not a safetensors or torch.save file (%s%s%s)",
              name, k, why[0] ? ": " : "", why);
    ckpt__error_set_file(err, path);
    return -1;
}

static ckpt_doc *open_shard(const hf_ctx *c, const hf_shard *sh, ckpt_error *err)
{
    ckpt_doc *d = NULL;
    if (sh->kind == HF_ST) {
        d = ckpt_safetensors_load(sh->path, CKPT_LOAD_LAZY, c->opts.alloc, err);
    } else {
        d = ckpt_load(sh->path, &c->opts, err);
    }
    if (!d)
        return NULL;
    const ckpt_obj *r = d->root;
    if (!r || r->type != CKPT_T_DICT) {
        CKPT_FAIL(err, CKPT_E_FORMAT, "shard %s holds a %s, not a dict of tensors", sh->name,
                  r ? ckpt_type_name(r->type) : "nothing");
        ckpt__error_set_file(err, sh->path);
        ckpt_doc_free(d);
        return NULL;
    }
    return d;
}

static void hf_release(void *ctx)
{
    hf_ctx *c = ctx;
    ckpt_doc_free(c->open);
    c->open = NULL;
}

static int hf_fetch(void *ctx, ckpt_doc *doc, ckpt_storage *s, ckpt_error *err)
{
    hf_ctx *c = ctx;
    const hf_rec *r = s->entry;
    if (!r || r->shard >= c->nshards)
        return CKPT_FAIL(err, CKPT_E_ARG, "storage has no shard to read from");
    const hf_shard *sh = &c->shards[r->shard];
    if (!c->open || c->open_idx != r->shard) {
        ckpt_doc_free(c->open);
        c->open = NULL;
        struct stat st;
        if (stat(sh->path, &st) != 0) {
            int e = errno;
            CKPT_FAIL(err, CKPT_E_IO, "shard %s cannot be opened: %s", sh->name, strerror(e));
            ckpt__error_set_file(err, sh->path);
            set_key(err, r->key);
            return CKPT_E_IO;
        }
        if (st.st_dev != sh->dev || st.st_ino != sh->ino || st.st_size != sh->size ||
            st.st_mtim.tv_sec != sh->mtime.tv_sec || st.st_mtim.tv_nsec != sh->mtime.tv_nsec) {
            CKPT_FAIL(err, CKPT_E_FORMAT,
                      "shard %s changed since the checkpoint was loaded (load it again)",
                      sh->name);
            ckpt__error_set_file(err, sh->path);
            set_key(err, r->key);
            return CKPT_E_FORMAT;
        }
        ckpt_doc *d = open_shard(c, sh, err);
        if (!d) {
            set_key(err, r->key);
            return err ? err->code : CKPT_E_IO;
        }
        c->opens++;
        if (d->nstorages != sh->nstorages) {
            ckpt_doc_free(d);
            CKPT_FAIL(err, CKPT_E_FORMAT, "shard %s changed since the checkpoint was loaded",
                      sh->name);
            ckpt__error_set_file(err, sh->path);
            return CKPT_E_FORMAT;
        }
        c->open = d;
        c->open_idx = r->shard;
    }
    ckpt_doc *d = c->open;
    ckpt_storage *ss = d->storages[r->index];
    if (ss->nbytes != s->nbytes || ss->dtype != s->dtype)
        return CKPT_FAIL(err, CKPT_E_FORMAT, "shard %s changed since the checkpoint was loaded",
                         sh->name);
    if (!ss->data && ss->nbytes) {
        if (!d->fetch)
            return CKPT_FAIL(err, CKPT_E_FORMAT, "shard %s: storage %zu holds no bytes", sh->name,
                             r->index);
        int rc = d->fetch(d->fetch_ctx, d, ss, err);
        if (rc < 0) {
            ckpt__error_set_file(err, sh->path);
            set_key(err, r->key);
            return rc;
        }
    }
    size_t n;
    if (ckpt_u64_to_size(s->nbytes, &n))
        return CKPT_FAIL(err, CKPT_E_LIMIT, "storage too large");
    size_t an = n ? n : 1;
    if (ss->hold == CKPT_HOLD_OWNED && ss->data) {
        /* move the bytes: both documents allocate through the same allocator */
        if (doc->mem.limit && doc->mem.used + an > doc->mem.limit)
            return CKPT_FAIL(err, CKPT_E_LIMIT,
                             "storage of %zu bytes exceeds the allocation limit (%llu bytes)", n,
                             (unsigned long long)doc->mem.limit);
        s->data = ss->data;
        ss->data = NULL;
        ss->hold = CKPT_HOLD_NONE;
        d->mem.used -= an;
        doc->mem.used += an;
        if (doc->mem.used > doc->mem.peak)
            doc->mem.peak = doc->mem.used;
        s->hold = CKPT_HOLD_OWNED;
        return 0;
    }
    CKPT_TRY(ckpt__storage_alloc_data(doc, s, false, err));
    if (n)
        memcpy(s->data, ss->data, n);
    return 0;
}

/* ---- the index */

typedef struct wm_ent {
    const char *key;
    const char *shard;
    uint32_t shard_idx;
    bool seen;
} wm_ent;

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every object in the JSON tree: no two members with the same name (Python's
 * json keeps the last silently; a hostile index could hide a mapping). */
static int check_dups(const cJSON *o, const char *index, ckpt_error *err)
{
    if (!cJSON_IsObject(o) && !cJSON_IsArray(o))
        return 0;
    size_t n = 0;
    for (const cJSON *c = o->child; c; c = c->next)
        n++;
    if (cJSON_IsObject(o) && n > 1) {
        const char **names = malloc(n * sizeof(*names));
        if (!names)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        size_t i = 0;
        for (const cJSON *c = o->child; c; c = c->next)
            names[i++] = c->string ? c->string : "";
        qsort(names, n, sizeof(*names), cmp_str_ptr);
        for (i = 1; i < n; i++)
            if (strcmp(names[i - 1], names[i]) == 0) {
                CKPT_FAIL(err, CKPT_E_FORMAT, "index %s has the key \"%.100s\" twice", index,
                          names[i]);
                set_key(err, names[i]);
                free(names);
                return CKPT_E_FORMAT;
            }
        free(names);
    }
    for (const cJSON *c = o->child; c; c = c->next)
        CKPT_TRY(check_dups(c, index, err));
    return 0;
}

static ckpt_obj *json_to_obj(ckpt_doc *doc, const cJSON *j, int depth, ckpt_error *err)
{
    if (depth > 64) {
        CKPT_FAIL(err, CKPT_E_LIMIT, "index metadata nested too deeply");
        return NULL;
    }
    ckpt_obj *o = NULL;
    if (cJSON_IsNull(j))
        o = ckpt_none_new(doc);
    else if (cJSON_IsBool(j))
        o = ckpt_bool_new(doc, cJSON_IsTrue(j));
    else if (cJSON_IsNumber(j)) {
        double v = j->valuedouble;
        if (v == floor(v) && fabs(v) < 9007199254740992.0)
            o = ckpt_int_new(doc, (int64_t)v);
        else
            o = ckpt_float_new(doc, v);
    } else if (cJSON_IsString(j))
        o = ckpt_str_new(doc, j->valuestring);
    else if (cJSON_IsArray(j)) {
        o = ckpt_list_new(doc);
        for (const cJSON *c = j->child; o && c; c = c->next) {
            ckpt_obj *v = json_to_obj(doc, c, depth + 1, err);
            if (!v || ckpt_list_append(doc, o, v, err) < 0)
                return NULL;
        }
    } else if (cJSON_IsObject(j)) {
        o = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
        for (const cJSON *c = j->child; o && c; c = c->next) {
            ckpt_obj *v = json_to_obj(doc, c, depth + 1, err);
            if (!v || ckpt_dict_set_str(doc, o, c->string, v, err) < 0)
                return NULL;
        }
    }
    if (!o)
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    return o;
}

static char *read_small_file(const char *path, size_t max, size_t *len, ckpt_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        CKPT_FAIL(err, CKPT_E_IO, "cannot open %s: %s", path, strerror(e));
        return NULL;
    }
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            if (cap >= max) {
                free(buf);
                fclose(f);
                CKPT_FAIL(err, CKPT_E_LIMIT, "index %s is larger than %zu bytes", path, max);
                return NULL;
            }
            cap = cap * 2 > max ? max : cap * 2;
            char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    bool bad = ferror(f);
    fclose(f);
    if (!buf) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory reading %s", path);
        return NULL;
    }
    if (bad) {
        free(buf);
        CKPT_FAIL(err, CKPT_E_IO, "read error on %s", path);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

typedef struct hf_load_state {
    ckpt_doc *doc;
    hf_ctx *ctx;
    const char *folder;
    const char *index_path; /* NULL: one unsharded file */
    cJSON *json;
    wm_ent *ents;
    size_t nents;
    ckpt_obj *wm_lookup; /* dict key -> int (entry index) */
    ckpt_hf_report *rep;
} hf_load_state;

static int parse_index(hf_load_state *L, ckpt_error *err)
{
    ckpt_doc *doc = L->doc;
    size_t len = 0;
    char *text = read_small_file(L->index_path, HF_MAX_INDEX, &len, err);
    if (!text)
        return err->code;
    int rc = 0;
    if (!ckpt_utf8_valid((const uint8_t *)text, len) || strlen(text) != len) {
        free(text);
        return CKPT_FAIL(err, CKPT_E_FORMAT, "index is not UTF-8 text");
    }
    const char *nul = strstr(text, "\\u0000");
    if (nul) {
        uint64_t at = (uint64_t)(nul - text);
        free(text);
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, at,
                            "index holds a \\u0000 escape (a NUL inside a name)");
    }
    const char *end = NULL;
    L->json = cJSON_ParseWithLengthOpts(text, len + 1, &end, true); /* the NUL counts */
    if (!L->json) {
        /* cJSON sets the parse end on failure too (not its thread-unsafe global) */
        uint64_t off = end && end >= text && end <= text + len ? (uint64_t)(end - text) : 0;
        free(text);
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, off,
                            "index is not valid JSON");
    }
    free(text);
    if (!cJSON_IsObject(L->json))
        return CKPT_FAIL(err, CKPT_E_FORMAT, "index is not a JSON object");
    CKPT_TRY(check_dups(L->json, L->index_path, err));
    const cJSON *wm = cJSON_GetObjectItemCaseSensitive(L->json, "weight_map");
    if (!cJSON_IsObject(wm))
        return CKPT_FAIL(err, CKPT_E_FORMAT, "index has no \"weight_map\" object");
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(L->json, "metadata");
    if (md && !cJSON_IsObject(md))
        return CKPT_FAIL(err, CKPT_E_FORMAT, "index \"metadata\" is not an object");
    size_t n = 0;
    for (const cJSON *c = wm->child; c; c = c->next)
        n++;
    L->ents = ckpt__arena_calloc(&doc->arena, (n ? n : 1) * sizeof(*L->ents));
    L->wm_lookup = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    if (!L->ents || !L->wm_lookup)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (const cJSON *c = wm->child; c; c = c->next) {
        if (!cJSON_IsString(c)) {
            CKPT_FAIL(err, CKPT_E_FORMAT, "weight_map value of \"%.100s\" is not a file name",
                      c->string);
            set_key(err, c->string);
            return CKPT_E_FORMAT;
        }
        rc = check_shard_name(c->valuestring, L->index_path, err);
        if (rc < 0) {
            set_key(err, c->string);
            return rc;
        }
        wm_ent *e = &L->ents[L->nents];
        e->key = c->string;
        e->shard = c->valuestring;
        ckpt_obj *iv = ckpt_int_new(doc, (int64_t)L->nents);
        if (!iv || ckpt_dict_set_str(doc, L->wm_lookup, e->key, iv, err) < 0)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        L->nents++;
    }
    if (md) {
        ckpt_obj *mo = json_to_obj(doc, md, 0, err);
        if (!mo)
            return err->code;
        ckpt_doc_set_metadata(doc, mo);
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(md, "total_size");
        if (cJSON_IsNumber(ts) && ts->valuedouble >= 0 && ts->valuedouble < 1.8e19) {
            L->rep->has_total_size = true;
            L->rep->total_size = (uint64_t)ts->valuedouble;
        }
    }
    /* the shards: sorted distinct names (transformers' get_checkpoint_shard_files) */
    const char **names = malloc((n ? n : 1) * sizeof(*names));
    if (!names)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < L->nents; i++)
        names[i] = L->ents[i].shard;
    qsort(names, L->nents, sizeof(*names), cmp_str_ptr);
    size_t u = 0;
    for (size_t i = 0; i < L->nents; i++)
        if (u == 0 || strcmp(names[u - 1], names[i]) != 0)
            names[u++] = names[i];
    hf_ctx *c = L->ctx;
    c->shards = ckpt__arena_calloc(&doc->arena, (u ? u : 1) * sizeof(*c->shards));
    if (!c->shards) {
        free(names);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < u; i++) {
        c->shards[i].name = ckpt__arena_strndup(&doc->arena, names[i], strlen(names[i]));
        c->shards[i].path = join_path(&doc->arena, L->folder, names[i]);
        if (!c->shards[i].name || !c->shards[i].path) {
            free(names);
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        }
    }
    c->nshards = u;
    free(names);
    for (size_t i = 0; i < L->nents; i++) {
        size_t lo = 0, hi = u;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int k = strcmp(c->shards[mid].name, L->ents[i].shard);
            if (k == 0) {
                lo = mid;
                break;
            }
            if (k < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        L->ents[i].shard_idx = (uint32_t)lo;
    }
    return 0;
}

static int add_shard_tensors(hf_load_state *L, uint32_t si, ckpt_error *err)
{
    ckpt_doc *doc = L->doc;
    hf_ctx *c = L->ctx;
    hf_shard *sh = &c->shards[si];
    ckpt_doc *d = open_shard(c, sh, err);
    if (!d)
        return err->code;
    sh->nstorages = d->nstorages;
    int rc = 0;
    ckpt_storage **mine = NULL;
    if (d->nstorages) {
        mine = calloc(d->nstorages, sizeof(*mine));
        if (!mine) {
            ckpt_doc_free(d);
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        }
    }
    for (size_t s = 0; s < d->nstorages; s++)
        L->rep->storage_bytes += d->storages[s]->nbytes;
    const ckpt_obj *root = d->root;
    size_t n = ckpt_obj_len(root);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const ckpt_obj *k = ckpt_dict_key(root, i), *v = ckpt_dict_value(root, i);
        if (!k || k->type != CKPT_T_STR) {
            rc = CKPT_FAIL(err, CKPT_E_FORMAT, "shard %s has a key that is not a str", sh->name);
            break;
        }
        const char *key = k->u.s.p;
        if (!v || v->type != CKPT_T_TENSOR) {
            rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                           "shard %s: value of \"%.100s\" is a %s, not a tensor", sh->name, key,
                           v ? ckpt_type_name(v->type) : "nothing");
            set_key(err, key);
            break;
        }
        if (L->index_path) {
            const ckpt_obj *iv = ckpt_dict_get(L->wm_lookup, key);
            if (!iv) {
                rc = CKPT_FAIL(err, CKPT_E_FORMAT,
                               "tensor \"%.100s\" of shard %s is not in the index's weight_map",
                               key, sh->name);
                set_key(err, key);
                break;
            }
            wm_ent *e = &L->ents[iv->u.i];
            if (e->shard_idx != si) {
                rc = CKPT_FAIL(err, CKPT_E_FORMAT,
                               "tensor \"%.100s\" is in shard %s but the weight_map puts it in %s",
                               key, sh->name, e->shard);
                set_key(err, key);
                break;
            }
            e->seen = true;
        }
        const ckpt__tensor *t = v->u.t;
        if (t->qparams) {
            rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                           "shard %s: \"%.100s\" is a quantized tensor (not carried)", sh->name,
                           key);
            set_key(err, key);
            break;
        }
        ckpt_storage *ms = NULL;
        if (t->storage) {
            ckpt_storage *ss = t->storage;
            size_t sid = ss->id;
            if (sid >= d->nstorages || d->storages[sid] != ss) {
                rc = CKPT_FAIL(err, CKPT_E_FORMAT, "shard %s: storage bookkeeping", sh->name);
                break;
            }
            ms = mine[sid];
            if (!ms) {
                ms = ckpt__storage_new(doc, ss->dtype, ss->untyped, ss->nbytes);
                hf_rec *r = ckpt__arena_calloc(&doc->arena, sizeof(*r));
                const char *loc = ss->location ? ss->location : "cpu";
                if (!ms || !r ||
                    !(ms->location = ckpt__arena_strndup(&doc->arena, loc, strlen(loc))) ||
                    !(r->key = ckpt__arena_strndup(&doc->arena, key, strlen(key)))) {
                    rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
                    break;
                }
                if (ss->key &&
                    !(ms->key = ckpt__arena_strndup(&doc->arena, ss->key, strlen(ss->key)))) {
                    rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
                    break;
                }
                r->shard = si;
                r->index = sid;
                ms->entry = r;
                ms->file_offset = ss->file_offset;
                bool has = ss->hold != CKPT_HOLD_NONE || ss->data;
                ms->hold = has ? CKPT_HOLD_LAZY : CKPT_HOLD_NONE;
                mine[sid] = ms;
            }
        }
        ckpt_obj *nt = ckpt__tensor_new(doc, ms, t->dtype, t->ndim, t->shape, t->stride,
                                        t->offset);
        if (!nt) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            break;
        }
        nt->u.t->requires_grad = t->requires_grad;
        nt->u.t->is_param = t->is_param;
        nt->u.t->param_requires_grad = t->param_requires_grad;
        ckpt_tensor_info ti;
        if (ckpt_tensor_get_info(v, &ti) == 0)
            L->rep->tensor_bytes += ti.nbytes;
        if (ckpt_dict_get(doc->root, key)) {
            rc = CKPT_FAIL(err, CKPT_E_FORMAT, "tensor \"%.100s\" is in more than one shard",
                           key);
            set_key(err, key);
            break;
        }
        if (ckpt_dict_set_str(doc, doc->root, key, nt, err) < 0) {
            rc = err->code;
            break;
        }
        L->rep->tensors++;
    }
    free(mine);
    ckpt_doc_free(d);
    if (rc < 0)
        ckpt__error_set_file(err, sh->path);
    return rc;
}

static int load_body(hf_load_state *L, const char *path, ckpt_error *err)
{
    ckpt_doc *doc = L->doc;
    hf_ctx *c = L->ctx;
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        return CKPT_FAIL(err, CKPT_E_IO, "cannot open %s: %s", path, strerror(e));
    }
    char *folder;
    if (S_ISDIR(st.st_mode)) {
        folder = ckpt__arena_strndup(&doc->arena, path, strlen(path));
        if (!folder)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        /* transformers' from_pretrained order */
        const char *order[4] = {ST_NAME, ST_INDEX, BIN_NAME, BIN_INDEX};
        const char *found = NULL;
        for (int i = 0; i < 4 && !found; i++) {
            char *p = join_path(&doc->arena, folder, order[i]);
            struct stat fs;
            if (!p)
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            if (stat(p, &fs) == 0 && S_ISREG(fs.st_mode))
                found = order[i];
        }
        if (!found)
            return CKPT_FAIL(err, CKPT_E_FORMAT,
                             "folder %s has none of model.safetensors, "
                             "model.safetensors.index.json, pytorch_model.bin, "
                             "pytorch_model.bin.index.json",
                             path);
        if (ends_with(found, ".index.json")) {
            L->index_path = join_path(&doc->arena, folder, found);
        } else {
            c->shards = ckpt__arena_calloc(&doc->arena, sizeof(*c->shards));
            if (!c->shards)
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            c->shards[0].name = ckpt__arena_strndup(&doc->arena, found, strlen(found));
            c->shards[0].path = join_path(&doc->arena, folder, found);
            c->nshards = 1;
        }
    } else if (S_ISREG(st.st_mode) && ends_with(path, ".index.json")) {
        const char *slash = strrchr(path, '/');
        folder = slash ? ckpt__arena_strndup(&doc->arena, path,
                                             slash == path ? 1 : (size_t)(slash - path))
                       : ckpt__arena_strndup(&doc->arena, ".", 1);
        L->index_path = path;
        if (!folder)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    } else {
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "%s is neither a checkpoint folder nor an *.index.json file", path);
    }
    L->folder = folder;
    L->rep->sharded = L->index_path != NULL;
    if (L->index_path) {
        int rc = parse_index(L, err);
        if (rc < 0) {
            ckpt__error_set_file(err, L->index_path);
            return rc;
        }
    }
    char root_real[PATH_MAX];
    if (!realpath(folder, root_real)) {
        int e = errno;
        return CKPT_FAIL(err, CKPT_E_IO, "cannot resolve %s: %s", folder, strerror(e));
    }
    /* every shard present, inside the folder, of a known kind: before any is read */
    for (size_t i = 0; i < c->nshards; i++) {
        hf_shard *sh = &c->shards[i];
        const char *key = NULL;
        for (size_t k = 0; k < L->nents && !key; k++)
            if (L->ents[k].shard_idx == i)
                key = L->ents[k].key;
        CKPT_TRY(check_inside(root_real, sh->path, sh->name, key, sh, err));
        int kind = shard_kind(sh->path, sh->name, err);
        if (kind < 0)
            return kind;
        sh->kind = kind;
    }
    int fmt = 0;
    for (size_t i = 0; i < c->nshards; i++) {
        int f = c->shards[i].kind == HF_ST ? CKPT_FMT_HF : CKPT_FMT_HF_BIN;
        if (fmt && f != fmt)
            return CKPT_FAIL(err, CKPT_E_FORMAT,
                             "index mixes safetensors and torch.save shards (%s)",
                             c->shards[i].name);
        fmt = f;
    }
    L->rep->format = fmt ? fmt : CKPT_FMT_HF;
    L->rep->shards = c->nshards;
    doc->root = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    if (!doc->root)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < c->nshards; i++)
        CKPT_TRY(add_shard_tensors(L, (uint32_t)i, err));
    for (size_t i = 0; i < L->nents; i++)
        if (!L->ents[i].seen) {
            CKPT_FAIL(err, CKPT_E_FORMAT,
                      "the weight_map puts \"%.100s\" in shard %s, which has no such tensor",
                      L->ents[i].key, L->ents[i].shard);
            set_key(err, L->ents[i].key);
            ckpt__error_set_file(err, c->shards[L->ents[i].shard_idx].path);
            return CKPT_E_FORMAT;
        }
    L->rep->total_size_ok = !L->rep->has_total_size ||
                            L->rep->total_size == L->rep->storage_bytes ||
                            L->rep->total_size == L->rep->tensor_bytes;
    return 0;
}

static ckpt_doc *hf_load_impl(const char *path, const ckpt_load_opts *opts, ckpt_hf_report *rep,
                              ckpt_error *err)
{
    ckpt_hf_report local;
    if (!rep)
        rep = &local;
    memset(rep, 0, sizeof(*rep));
    if (!path) {
        CKPT_FAIL(err, CKPT_E_ARG, "no path");
        return NULL;
    }
    ckpt_load_opts o;
    if (opts)
        o = *opts;
    else
        memset(&o, 0, sizeof(o));
    o.mode = CKPT_LOAD_LAZY;
    o.pickle_record = NULL;
    ckpt_doc *doc = ckpt__doc_new(o.alloc, o.limits.max_alloc_bytes);
    if (!doc) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory creating a document");
        return NULL;
    }
    hf_ctx *c = ckpt__arena_calloc(&doc->arena, sizeof(*c));
    if (!c) {
        ckpt_doc_free(doc);
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    c->opts = o;
    hf_load_state L;
    memset(&L, 0, sizeof(L));
    L.doc = doc;
    L.ctx = c;
    L.rep = rep;
    int rc = load_body(&L, path, err);
    cJSON_Delete(L.json);
    if (rc < 0) {
        ckpt__error_set_file(err, path);
        ckpt_doc_free(doc);
        return NULL;
    }
    doc->fetch = hf_fetch;
    doc->fetch_ctx = c;
    doc->release = hf_release;
    doc->release_ctx = c;
    return doc;
}

ckpt_doc *ckpt_hf_load(const char *path, const ckpt_load_opts *opts, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    return hf_load_impl(path, opts, NULL, err);
}

ckpt_doc *ckpt_hf_load_report(const char *path, const ckpt_load_opts *opts,
                              ckpt_hf_report *report, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    return hf_load_impl(path, opts, report, err);
}

const char *ckpt_hf_tensor_shard(const ckpt_doc *doc, const ckpt_obj *tensor)
{
    if (!doc || doc->fetch != hf_fetch || !tensor || tensor->type != CKPT_T_TENSOR ||
        !tensor->u.t->storage)
        return NULL;
    const hf_ctx *c = doc->fetch_ctx;
    const hf_rec *r = tensor->u.t->storage->entry;
    return r && r->shard < c->nshards ? c->shards[r->shard].name : NULL;
}

unsigned long long ckpt__hf_shard_opens(const ckpt_doc *doc)
{
    if (!doc || doc->fetch != hf_fetch)
        return 0;
    return ((const hf_ctx *)doc->fetch_ctx)->opens;
}

/* ================================================================= save */

/* Python's json.dumps(..., indent=2, sort_keys=True) (ensure_ascii). */

static void jindent(ckpt__text *b, int level)
{
    ckpt__text_put(b, "\n", 1);
    for (int i = 0; i < level; i++)
        ckpt__text_put(b, "  ", 2);
}

static int jstr(ckpt__text *b, const char *s, size_t n, ckpt_error *err)
{
    ckpt__text_put(b, "\"", 1);
    size_t i = 0;
    while (i < n) {
        unsigned char ch = (unsigned char)s[i];
        char tmp[16];
        if (ch == '"' || ch == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)ch;
            ckpt__text_put(b, tmp, 2);
            i++;
            continue;
        }
        if (ch >= 0x20 && ch < 0x7f) {
            ckpt__text_put(b, (const char *)&s[i], 1);
            i++;
            continue;
        }
        const char *sh = ch == '\n'   ? "\\n"
                         : ch == '\r' ? "\\r"
                         : ch == '\t' ? "\\t"
                         : ch == '\b' ? "\\b"
                         : ch == '\f' ? "\\f"
                                      : NULL;
        if (sh) {
            ckpt__text_puts(b, sh);
            i++;
            continue;
        }
        uint32_t cp;
        size_t k = ckpt_utf8_get((const uint8_t *)s + i, n - i, &cp);
        if (k == 0)
            return CKPT_FAIL(err, CKPT_E_ARG, "string is not UTF-8: %.60s", s);
        i += k;
        if (cp >= 0x10000) {
            uint32_t v = cp - 0x10000;
            snprintf(tmp, sizeof(tmp), "\\u%04x\\u%04x", 0xD800 + (v >> 10),
                     0xDC00 + (v & 0x3FF));
        } else {
            snprintf(tmp, sizeof(tmp), "\\u%04x", cp);
        }
        ckpt__text_puts(b, tmp);
    }
    ckpt__text_put(b, "\"", 1);
    return 0;
}

typedef struct kv {
    const char *k;
    size_t kn;
    const ckpt_obj *v;
} kv;

static int cmp_kv(const void *a, const void *b)
{
    const kv *x = a, *y = b;
    size_t m = x->kn < y->kn ? x->kn : y->kn;
    int c = memcmp(x->k, y->k, m);
    if (c)
        return c;
    return x->kn < y->kn ? -1 : x->kn > y->kn;
}

static int jvalue(ckpt__text *b, const ckpt_obj *o, int level, ckpt_error *err)
{
    char tmp[64];
    if (level > 64)
        return CKPT_FAIL(err, CKPT_E_LIMIT, "metadata nested too deeply");
    switch (o->type) {
    case CKPT_T_NONE: ckpt__text_puts(b, "null"); return 0;
    case CKPT_T_BOOL: ckpt__text_puts(b, o->u.b ? "true" : "false"); return 0;
    case CKPT_T_INT:
        snprintf(tmp, sizeof(tmp), "%lld", (long long)o->u.i);
        ckpt__text_puts(b, tmp);
        return 0;
    case CKPT_T_FLOAT:
        if (isnan(o->u.f))
            ckpt__text_puts(b, "NaN");
        else if (isinf(o->u.f))
            ckpt__text_puts(b, o->u.f > 0 ? "Infinity" : "-Infinity");
        else {
            ckpt__float_repr(o->u.f, tmp, sizeof(tmp));
            ckpt__text_puts(b, tmp);
        }
        return 0;
    case CKPT_T_STR: return jstr(b, o->u.s.p, o->u.s.n, err);
    case CKPT_T_LIST:
    case CKPT_T_TUPLE: {
        size_t n = o->u.seq.n;
        if (n == 0) {
            ckpt__text_puts(b, "[]");
            return 0;
        }
        ckpt__text_puts(b, "[");
        for (size_t i = 0; i < n; i++) {
            jindent(b, level + 1);
            CKPT_TRY(jvalue(b, o->u.seq.items[i], level + 1, err));
            if (i + 1 < n)
                ckpt__text_puts(b, ",");
        }
        jindent(b, level);
        ckpt__text_puts(b, "]");
        return 0;
    }
    case CKPT_T_DICT: {
        size_t n = ckpt_obj_len(o);
        if (n == 0) {
            ckpt__text_puts(b, "{}");
            return 0;
        }
        kv *a = malloc(n * sizeof(*a));
        if (!a)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        for (size_t i = 0; i < n; i++) {
            const ckpt_obj *k = ckpt_dict_key(o, i);
            if (!k || k->type != CKPT_T_STR) {
                free(a);
                return CKPT_FAIL(err, CKPT_E_ARG, "index metadata keys must be str");
            }
            a[i].k = k->u.s.p;
            a[i].kn = k->u.s.n;
            a[i].v = ckpt_dict_value(o, i);
        }
        qsort(a, n, sizeof(*a), cmp_kv);
        ckpt__text_puts(b, "{");
        int rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            jindent(b, level + 1);
            rc = jstr(b, a[i].k, a[i].kn, err);
            ckpt__text_puts(b, ": ");
            if (rc == 0)
                rc = jvalue(b, a[i].v, level + 1, err);
            if (i + 1 < n)
                ckpt__text_puts(b, ",");
        }
        free(a);
        CKPT_TRY(rc);
        jindent(b, level);
        ckpt__text_puts(b, "}");
        return 0;
    }
    default:
        return CKPT_FAIL(err, CKPT_E_ARG, "index metadata cannot hold a %s",
                         ckpt_type_name(o->type));
    }
}

typedef struct blob {
    const char *p;
    size_t n;
} blob;

static int write_blob(ckpt_sink *sink, const void *ctx, ckpt_error *err)
{
    const blob *b = ctx;
    return ckpt_sink_write(sink, b->p, b->n, err);
}

/* One entry of the state dict while planning. */
typedef struct hent {
    const char *key;
    const ckpt_obj *t;
    ckpt_tensor_info info;
    const void *sid; /* storage id (NULL for none) */
    uint64_t size;   /* get_torch_storage_size */
    bool cloned;     /* safetensors: becomes its own storage */
    int shard;
    long follow;          /* index of the first entry of the same storage id, or -1 */
    long next, tail;      /* followers of a first entry, as a list */
    uint64_t start, stop; /* byte range in its storage */
} hent;

static const char ZERO_ID = 0; /* the id of every zero-byte storage */

static int cmp_hent_storage(const void *a, const void *b)
{
    const hent *x = *(hent *const *)a, *y = *(hent *const *)b;
    uintptr_t p = (uintptr_t)x->info.storage, q = (uintptr_t)y->info.storage;
    if (p != q)
        return p < q ? -1 : 1;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->stop != y->stop)
        return x->stop < y->stop ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* transformers' _find_disjoint over the groups of tensors sharing a storage
 * (safetensors only): non-overlapping views are cloned, overlapping ones are
 * refused unless duplicate_shared. */
static int resolve_shared(hent *e, size_t n, bool dup, ckpt_error *err)
{
    hent **order = malloc((n ? n : 1) * sizeof(*order));
    if (!order)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (e[i].info.storage && e[i].info.storage->nbytes)
            order[m++] = &e[i];
    qsort(order, m, sizeof(*order), cmp_hent_storage);
    int rc = 0;
    for (size_t i = 0; i < m && rc == 0;) {
        size_t j = i + 1;
        while (j < m && order[j]->info.storage == order[i]->info.storage)
            j++;
        if (j - i > 1) {
            /* areas sorted by (start, stop, name); a run of overlapping ones is shared */
            size_t g = i;
            uint64_t last_stop = order[i]->stop;
            for (size_t k = i + 1; k <= j; k++) {
                bool brk = k == j || order[k]->start >= last_stop;
                if (brk) {
                    if (k - g == 1) {
                        order[g]->cloned = true;
                    } else if (dup) {
                        for (size_t q = g; q < k; q++)
                            order[q]->cloned = true;
                    } else {
                        char names[200];
                        names[0] = '\0';
                        for (size_t q = g; q < k; q++) {
                            size_t l = strlen(names);
                            snprintf(names + l, sizeof(names) - l, "%s%s", q > g ? ", " : "",
                                     order[q]->key);
                        }
                        rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                                       "tensors share memory: %s (safetensors cannot hold "
                                       "aliases; set duplicate_shared to write copies, or save "
                                       ".bin shards)",
                                       names);
                        if (err && !err->key[0])
                            snprintf(err->key, sizeof(err->key), "%s", order[g]->key);
                        break;
                    }
                    g = k;
                }
                if (k < j)
                    last_stop = order[k]->stop;
            }
        }
        i = j;
    }
    free(order);
    return rc;
}

static bool shard_name_stale(const char *fname, const char *prefix)
{
    /* transformers: startswith(weights_no_suffix) and (.*?)-\d{5}-of-\d{5} fullmatches
     * the name with every ".bin" and then every ".safetensors" removed */
    if (strncmp(fname, prefix, strlen(prefix)) != 0)
        return false;
    char tmp[NAME_MAX + 1];
    size_t n = 0;
    const char *p = fname;
    char a[NAME_MAX + 1];
    while (*p && n < NAME_MAX) {
        if (strncmp(p, ".bin", 4) == 0) {
            p += 4;
            continue;
        }
        a[n++] = *p++;
    }
    a[n] = '\0';
    size_t m = 0;
    for (p = a; *p && m < NAME_MAX;) {
        if (strncmp(p, ".safetensors", 12) == 0) {
            p += 12;
            continue;
        }
        tmp[m++] = *p++;
    }
    tmp[m] = '\0';
    if (m < 15)
        return false;
    const char *t = tmp + m - 15;
    if (t[0] != '-' || strncmp(t + 6, "-of-", 4) != 0)
        return false;
    for (int i = 0; i < 5; i++)
        if (t[1 + i] < '0' || t[1 + i] > '9' || t[10 + i] < '0' || t[10 + i] > '9')
            return false;
    for (const char *q = tmp; q < t; q++)
        if (*q == '\n')
            return false;
    return true;
}

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* pointer -> index hash (open addressing) for the storage ids */
typedef struct ptab {
    const void **k;
    size_t *v;
    size_t cap;
} ptab;

static int ptab_init(ptab *t, size_t n)
{
    t->cap = 16;
    while (t->cap < 2 * n + 2)
        t->cap *= 2;
    t->k = calloc(t->cap, sizeof(*t->k));
    t->v = calloc(t->cap, sizeof(*t->v));
    return t->k && t->v ? 0 : -1;
}

static void ptab_free(ptab *t)
{
    free(t->k);
    free(t->v);
}

/* index of `key`, or inserts (key -> v) and returns SIZE_MAX */
static size_t ptab_get_or_put(ptab *t, const void *key, size_t v)
{
    size_t h = (size_t)(((uintptr_t)key >> 4) * 0x9E3779B97F4A7C15ull) & (t->cap - 1);
    while (t->k[h]) {
        if (t->k[h] == key)
            return t->v[h];
        h = (h + 1) & (t->cap - 1);
    }
    t->k[h] = key;
    t->v[h] = v;
    return SIZE_MAX;
}

typedef struct hf_plan {
    hent *e;
    size_t n;
    int nshards;
    uint64_t total;
} hf_plan;

static int make_plan(const ckpt_obj *dict, const ckpt_hf_save_opts *o, hf_plan *P,
                     ckpt_error *err)
{
    size_t n = ckpt_obj_len(dict);
    P->e = calloc(n ? n : 1, sizeof(*P->e));
    if (!P->e)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    P->n = n;
    for (size_t i = 0; i < n; i++) {
        const ckpt_obj *k = ckpt_dict_key(dict, i), *v = ckpt_dict_value(dict, i);
        hent *e = &P->e[i];
        e->follow = e->next = e->tail = -1;
        if (!k || k->type != CKPT_T_STR)
            return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                             "a sharded checkpoint needs str keys (key %zu is a %s)", i,
                             k ? ckpt_type_name(k->type) : "nothing");
        e->key = k->u.s.p;
        if (!v || v->type != CKPT_T_TENSOR) {
            CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                      "a sharded checkpoint holds tensors only: \"%.100s\" is a %s", e->key,
                      v ? ckpt_type_name(v->type) : "nothing");
            set_key(err, e->key);
            return CKPT_E_UNSUPPORTED;
        }
        e->t = v;
        ckpt_tensor_get_info(v, &e->info);
        if (e->info.quantized) {
            CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "\"%.100s\" is a quantized tensor", e->key);
            set_key(err, e->key);
            return CKPT_E_UNSUPPORTED;
        }
        const ckpt_storage *st = e->info.storage;
        bool lazy_ok = o->source && st && st->hold == CKPT_HOLD_LAZY;
        if (e->info.nbytes && (!st || (!st->data && !lazy_ok))) {
            CKPT_FAIL(err, CKPT_E_ARG,
                      "\"%.100s\" holds no bytes (a lazy tensor not read yet, or meta)", e->key);
            set_key(err, e->key);
            return CKPT_E_ARG;
        }
        size_t isz = ckpt_dtype_size(e->info.dtype);
        uint64_t start = (uint64_t)e->info.storage_offset * isz, stop = start;
        if (e->info.numel) {
            int64_t last = e->info.storage_offset;
            for (int d = 0; d < e->info.ndim; d++)
                last += (e->info.shape[d] - 1) * e->info.stride[d];
            stop = (uint64_t)last * isz + isz;
        }
        e->start = start;
        e->stop = stop;
    }
    if (!o->bin)
        CKPT_TRY(resolve_shared(P->e, n, o->duplicate_shared, err));
    for (size_t i = 0; i < n; i++) {
        hent *e = &P->e[i];
        const ckpt_storage *s = e->info.storage;
        if (e->cloned) {
            e->size = e->info.nbytes;
            e->sid = e->size ? (const void *)e : (const void *)&ZERO_ID;
        } else if (s) {
            e->size = s->nbytes;
            e->sid = s->nbytes ? (const void *)s : (const void *)&ZERO_ID;
        } else {
            e->size = e->info.nbytes; /* no storage: no id (hub's meta tensors) */
        }
    }
    /* split_state_dict_into_shards_factory */
    uint64_t max = o->max_shard_size ? o->max_shard_size : 5000000000ull;
    ptab tab;
    if (ptab_init(&tab, n) < 0) {
        ptab_free(&tab);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    int nsh = 0;
    uint64_t cur_size = 0, total = 0;
    size_t pend_first = SIZE_MAX; /* entries of the open shard carry shard -1 */
    for (size_t i = 0; i < n; i++) {
        hent *e = &P->e[i];
        e->shard = -2;
        if (e->sid) {
            size_t f = ptab_get_or_put(&tab, e->sid, i);
            if (f != SIZE_MAX) {
                e->follow = (long)f;
                hent *h = &P->e[f];
                if (h->tail < 0)
                    h->next = (long)i;
                else
                    P->e[h->tail].next = (long)i;
                h->tail = (long)i;
                continue;
            }
        }
        uint64_t sz = e->size;
        if (sz > max) {
            total += sz;
            e->shard = nsh++;
            continue;
        }
        if (cur_size + sz > max && pend_first != SIZE_MAX) {
            int id = nsh++;
            for (size_t j = pend_first; j < i; j++)
                if (P->e[j].shard == -1)
                    P->e[j].shard = id;
            pend_first = SIZE_MAX;
            cur_size = 0;
        }
        e->shard = -1;
        if (pend_first == SIZE_MAX)
            pend_first = i;
        cur_size += sz;
        total += sz;
    }
    if (pend_first != SIZE_MAX) {
        int id = nsh++;
        for (size_t j = pend_first; j < n; j++)
            if (P->e[j].shard == -1)
                P->e[j].shard = id;
    }
    ptab_free(&tab);
    for (size_t i = 0; i < n; i++)
        if (P->e[i].follow >= 0)
            P->e[i].shard = P->e[P->e[i].follow].shard;
    P->nshards = nsh;
    P->total = total;
    return 0;
}

/* The shard's dict order: its own entries in state-dict order, then for each
 * storage (first-seen order) whose first tensor is in it, the other tensors. */
static size_t shard_order(const hf_plan *P, int s, size_t *out)
{
    size_t m = 0;
    for (size_t i = 0; i < P->n; i++)
        if (P->e[i].shard == s && P->e[i].follow < 0)
            out[m++] = i;
    for (size_t i = 0; i < P->n; i++)
        if (P->e[i].shard == s && P->e[i].follow < 0)
            for (long j = P->e[i].next; j >= 0; j = P->e[j].next)
                out[m++] = (size_t)j;
    return m;
}

static void shard_name(char *buf, size_t n, bool bin, int i, int count)
{
    if (count <= 1)
        snprintf(buf, n, "%s", bin ? BIN_NAME : ST_NAME);
    else if (bin)
        snprintf(buf, n, "pytorch_model-%05d-of-%05d.bin", i + 1, count);
    else
        snprintf(buf, n, "model-%05d-of-%05d.safetensors", i + 1, count);
}

static int write_shard(const char *dir, const char *name, const hf_plan *P, const size_t *idx,
                       size_t m, const ckpt_hf_save_opts *o, ckpt_error *err)
{
    ckpt_doc *sc = ckpt_doc_new(NULL, err);
    if (!sc)
        return err->code;
    char *path = NULL;
    ckpt_storage **fetched = calloc(m ? m : 1, sizeof(*fetched));
    size_t nf = 0;
    int rc = 0;
    ckpt_obj *dict = ckpt_dict_new(sc, CKPT_DICT_PLAIN);
    size_t dl = strlen(dir), nl = strlen(name);
    path = malloc(dl + nl + 2);
    if (!dict || !path || !fetched) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto out;
    }
    snprintf(path, dl + nl + 2, "%s/%s", dir, name);
    for (size_t q = 0; q < m && rc == 0; q++) {
        const hent *e = &P->e[idx[q]];
        ckpt_obj *t = (ckpt_obj *)(uintptr_t)e->t;
        ckpt_storage *st = (ckpt_storage *)(uintptr_t)e->info.storage;
        if (o->source && st && st->hold == CKPT_HOLD_LAZY && !st->data && e->info.nbytes) {
            if (!ckpt_tensor_data_load(o->source, t, err)) {
                set_key(err, e->key);
                rc = err->code;
                break;
            }
            fetched[nf++] = st;
        }
        if (o->bin && !e->info.contiguous) {
            /* tensor.contiguous(): a compact copy with a storage of its own */
            ckpt_obj *c = ckpt_tensor_new_copy(sc, e->info.dtype, e->info.ndim, e->info.shape,
                                               NULL, err);
            if (!c) {
                rc = err->code;
                break;
            }
            void *dst = (void *)(uintptr_t)ckpt_tensor_data(c);
            rc = ckpt_tensor_copy_into(t, dst, (size_t)e->info.nbytes, err);
            if (rc < 0)
                break;
            t = c;
        }
        rc = ckpt_dict_set_str(sc, dict, e->key, t, err);
    }
    if (rc == 0 && o->bin) {
        ckpt_save_opts so;
        if (o->torch)
            so = *o->torch;
        else
            memset(&so, 0, sizeof(so));
        so.no_fsync = so.no_fsync || o->no_fsync;
        rc = ckpt_save(path, dict, &so, err);
    } else if (rc == 0) {
        ckpt_obj *md = ckpt_dict_new(sc, CKPT_DICT_PLAIN);
        ckpt_obj *pt = ckpt_str_new(sc, "pt");
        if (!md || !pt || ckpt_dict_set_str(sc, md, "format", pt, err) < 0) {
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        } else {
            ckpt_st_save_opts sto;
            memset(&sto, 0, sizeof(sto));
            sto.metadata = md;
            sto.duplicate_shared = true; /* aliasing was judged above, as transformers does */
            sto.no_fsync = o->no_fsync;
            rc = ckpt_safetensors_save(path, dict, &sto, err);
        }
    }
out:
    /* streaming saves: drop the bytes read for this shard again */
    for (size_t i = 0; i < nf; i++) {
        ckpt_storage *st = fetched[i];
        if (st->hold == CKPT_HOLD_OWNED && st->data) {
            ckpt__mem_free(&o->source->mem, st->data, st->nbytes ? (size_t)st->nbytes : 1);
            st->data = NULL;
            st->hold = CKPT_HOLD_LAZY;
        }
    }
    if (rc < 0)
        ckpt__error_set_file(err, path ? path : name);
    free(fetched);
    free(path);
    ckpt_doc_free(sc);
    return rc;
}

static int build_index(const hf_plan *P, const ckpt_hf_save_opts *o, ckpt__text *jb,
                       ckpt_error *err)
{
    ckpt_doc *sc = ckpt_doc_new(NULL, err);
    if (!sc)
        return err->code;
    int rc = 0;
    ckpt_obj *root = ckpt_dict_new(sc, CKPT_DICT_PLAIN);
    ckpt_obj *md = ckpt_dict_new(sc, CKPT_DICT_PLAIN);
    ckpt_obj *wm = ckpt_dict_new(sc, CKPT_DICT_PLAIN);
    ckpt_obj **names = calloc((size_t)P->nshards, sizeof(*names));
    if (!root || !md || !wm || !names) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto out;
    }
    if (o->metadata) {
        if (o->metadata->type != CKPT_T_DICT) {
            rc = CKPT_FAIL(err, CKPT_E_ARG, "index metadata must be a dict");
            goto out;
        }
        for (size_t i = 0; i < ckpt_obj_len(o->metadata) && rc == 0; i++) {
            const ckpt_obj *k = ckpt_dict_key(o->metadata, i);
            if (!k || k->type != CKPT_T_STR) {
                rc = CKPT_FAIL(err, CKPT_E_ARG, "index metadata keys must be str");
                break;
            }
            rc = ckpt_dict_set_str(sc, md, k->u.s.p,
                                   (ckpt_obj *)(uintptr_t)ckpt_dict_value(o->metadata, i), err);
        }
    }
    ckpt_obj *ts = ckpt_int_new(sc, (int64_t)P->total);
    if (rc == 0 && (!ts || ckpt_dict_set_str(sc, md, "total_size", ts, err) < 0))
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (int i = 0; rc == 0 && i < P->nshards; i++) {
        char nm[64];
        shard_name(nm, sizeof(nm), o->bin, i, P->nshards);
        names[i] = ckpt_str_new(sc, nm);
        if (!names[i])
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < P->n; i++)
        rc = ckpt_dict_set_str(sc, wm, P->e[i].key, names[P->e[i].shard], err);
    if (rc == 0 && (ckpt_dict_set_str(sc, root, "metadata", md, err) < 0 ||
                    ckpt_dict_set_str(sc, root, "weight_map", wm, err) < 0))
        rc = err->code;
    if (rc == 0)
        rc = jvalue(jb, root, 0, err);
    ckpt__text_puts(jb, "\n");
    if (rc == 0 && jb->oom)
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
out:
    free(names);
    ckpt_doc_free(sc);
    return rc;
}

static void remove_stale(const char *dir, const ckpt_hf_save_opts *o, int nshards)
{
    const char *prefix = o->bin ? "pytorch_model" : "model";
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    size_t dl = strlen(dir);
    while ((de = readdir(d)) != NULL) {
        const char *nm = de->d_name;
        if (!shard_name_stale(nm, prefix))
            continue;
        bool mine = false;
        for (int i = 0; i < nshards && !mine; i++) {
            char b[64];
            shard_name(b, sizeof(b), o->bin, i, nshards);
            mine = strcmp(b, nm) == 0;
        }
        if (mine)
            continue;
        char *p = malloc(dl + strlen(nm) + 2);
        if (!p)
            continue;
        sprintf(p, "%s/%s", dir, nm);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
            unlink(p);
        free(p);
    }
    closedir(d);
}

static void unlink_in(const char *dir, const char *name)
{
    char *p = malloc(strlen(dir) + strlen(name) + 2);
    if (!p)
        return;
    sprintf(p, "%s/%s", dir, name);
    struct stat st;
    if (stat(p, &st) == 0 && S_ISREG(st.st_mode))
        unlink(p);
    free(p);
}

int ckpt_hf_save(const char *dir, const ckpt_obj *dict, const ckpt_hf_save_opts *opts,
                 ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    ckpt_hf_save_opts o;
    if (opts)
        o = *opts;
    else
        memset(&o, 0, sizeof(o));
    if (!dir || !dir[0] || !dict)
        return CKPT_FAIL(err, CKPT_E_ARG, "no folder or no dict");
    if (dict->type != CKPT_T_DICT)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                         "a sharded checkpoint needs a dict of tensors, not a %s",
                         ckpt_type_name(dict->type));
    hf_plan P;
    memset(&P, 0, sizeof(P));
    ckpt__text jb;
    memset(&jb, 0, sizeof(jb));
    char *tmpdir = NULL;
    size_t *idx = NULL;
    int rc = make_plan(dict, &o, &P, err);
    int count = P.nshards ? P.nshards : 1; /* an empty dict: one empty file */
    if (rc == 0 && P.nshards > 1)
        rc = build_index(&P, &o, &jb, err);
    struct stat st;
    bool exists = stat(dir, &st) == 0;
    if (rc == 0 && exists && !S_ISDIR(st.st_mode))
        rc = CKPT_FAIL(err, CKPT_E_ARG, "%s exists and is not a folder", dir);
    const char *target = dir;
    if (rc == 0 && !exists) {
        size_t n = strlen(dir);
        while (n > 1 && dir[n - 1] == '/')
            n--;
        tmpdir = malloc(n + 16);
        if (!tmpdir)
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        else {
            memcpy(tmpdir, dir, n);
            memcpy(tmpdir + n, ".tmp-XXXXXX", 12);
            if ((rc = ckpt__mkdir_parents(dir, err)) != 0) {
                free(tmpdir);
                tmpdir = NULL;
            } else if (!mkdtemp(tmpdir)) {
                int e = errno;
                rc = CKPT_FAIL(err, CKPT_E_IO, "cannot create a folder beside %s: %s", dir,
                               strerror(e));
                free(tmpdir);
                tmpdir = NULL;
            } else {
                target = tmpdir;
            }
        }
    }
    idx = malloc((P.n ? P.n : 1) * sizeof(*idx));
    if (rc == 0 && !idx)
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (int s = 0; rc == 0 && s < count; s++) {
        char nm[64];
        shard_name(nm, sizeof(nm), o.bin, s, count);
        size_t m = P.nshards ? shard_order(&P, s, idx) : 0;
        rc = write_shard(target, nm, &P, idx, m, &o, err);
    }
    if (rc == 0 && P.nshards > 1) {
        const char *iname = o.bin ? BIN_INDEX : ST_INDEX;
        char *ip = malloc(strlen(target) + strlen(iname) + 2);
        if (!ip)
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        else {
            sprintf(ip, "%s/%s", target, iname);
            blob b = {jb.p, jb.n};
            rc = ckpt__atomic_write(ip, write_blob, &b, NULL, o.no_fsync, err);
            if (rc < 0)
                ckpt__error_set_file(err, ip);
            free(ip);
        }
    }
    if (tmpdir) {
        if (rc == 0 && rename(tmpdir, dir) != 0) {
            int e = errno;
            rc = CKPT_FAIL(err, CKPT_E_IO, "cannot rename %s to %s: %s", tmpdir, dir,
                           strerror(e));
        }
        if (rc < 0) {
            for (int s = 0; s < count; s++) {
                char nm[64];
                shard_name(nm, sizeof(nm), o.bin, s, count);
                unlink_in(tmpdir, nm);
            }
            unlink_in(tmpdir, o.bin ? BIN_INDEX : ST_INDEX);
            rmdir(tmpdir);
        } else if (!o.no_fsync) {
            char *parent = strdup(dir);
            if (parent) {
                char *sl = strrchr(parent, '/');
                if (sl && sl != parent)
                    *sl = '\0';
                else if (sl)
                    sl[1] = '\0';
                fsync_dir(sl ? parent : ".");
                free(parent);
            }
        }
    } else if (rc == 0) {
        /* an existing folder: the new index (or unsharded file) is in place;
         * now what an earlier save left is removed */
        if (P.nshards > 1)
            unlink_in(dir, o.bin ? BIN_NAME : ST_NAME);
        else
            unlink_in(dir, o.bin ? BIN_INDEX : ST_INDEX);
        remove_stale(dir, &o, count);
        if (!o.no_fsync)
            fsync_dir(dir);
    }
    free(idx);
    free(tmpdir);
    free(jb.p);
    free(P.e);
    return rc;
}
