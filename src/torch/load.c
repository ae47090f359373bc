/* src/torch/load.c - torch.load for the zip format: archive, version record,
 * data.pkl through the pickle VM, then the storages (copy, mmap or lazy). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/err.h"
#include "torch_internal.h"

#define BIG_READ (1u << 20) /* stored records from this size on are pread straight in */
/* torch.save never compresses; deflated records come from re-zipped files and
 * TorchScript code, so a modest default budget stops deflate bombs */
#define CKPT__DEFAULT_MAX_INFLATED (256ull << 20)

static void held_release(void *ctx)
{
    held *h = ctx;
    ckpt_zip_close(h->zip);
    h->zip = NULL;
    if (h->own_src)
        ckpt_source_close(&h->src);
}

/* ------------------------------------------------------------ map_location */

int ckpt__map_location(const ckpt_load_opts *o, const char *tag, char *out, size_t n,
                       ckpt_error *err)
{
    const char *target = tag;
    char buf[128];
    if (o->map_location) {
        target = o->map_location;
    } else if (o->map_pairs) {
        for (size_t i = 0; i < o->map_pair_count; i++)
            if (o->map_pairs[i].from && strcmp(o->map_pairs[i].from, tag) == 0)
                target = o->map_pairs[i].to ? o->map_pairs[i].to : tag;
    } else if (o->map_fn) {
        buf[0] = '\0';
        int rc = o->map_fn(o->map_payload, tag, buf, sizeof(buf));
        if (rc < 0)
            return CKPT_FAIL(err, CKPT_E_ARG, "map_location callback failed for tag '%s'", tag);
        if (rc > 0) {
            buf[sizeof(buf) - 1] = '\0';
            target = buf;
        }
    }
    if (strcmp(target, "cpu") == 0 || strcmp(target, "meta") == 0) {
        snprintf(out, n, "%s", target);
        return 0;
    }
    if (strncmp(target, "cuda", 4) == 0)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                         "Attempting to deserialize object on a CUDA device (storage tagged "
                         "'%s', restore to '%s') but this ckpt has no CUDA support. If you are "
                         "running on a CPU-only machine, load with map_location 'cpu' to map "
                         "your storages to the CPU.",
                         tag, target);
    return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                     "don't know how to restore data location of a storage tagged with '%s' "
                     "(restore to '%s')",
                     tag, target);
}

/* --------------------------------------------------------------- records */

static int read_small_record(const ckpt_zip *z, const ckpt_zip_entry *e, char *buf, size_t cap,
                             ckpt_error *err)
{
    if (e->size >= cap)
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, e->header_offset,
                            "record %s is %llu bytes, expected a few", e->name,
                            (unsigned long long)e->size);
    CKPT_TRY(ckpt_zip_read(z, e, buf, cap, false, err));
    buf[e->size] = '\0';
    return 0;
}

static int check_version(const ckpt_zip *z, ckpt_error *err)
{
    const ckpt_zip_entry *e = ckpt_zip_find(z, ".data/version");
    if (!e)
        e = ckpt_zip_find(z, "version");
    if (!e)
        return CKPT_FAIL(err, CKPT_E_FORMAT,
                         "archive has no 'version' record (is it a torch.save file?)");
    char buf[64];
    CKPT_TRY(read_small_record(z, e, buf, sizeof(buf), err));
    char *p = buf;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    char *end;
    unsigned long v = strtoul(p, &end, 10);
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r')
        end++;
    if (end == p || *end != '\0')
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, e->data_offset,
                            "version record is not a number: '%.20s'", buf);
    if (v < 1 || v > 10)
        return CKPT_FAIL_AT(err, CKPT_E_UNSUPPORTED, CKPT_WHERE_FILE, NULL, e->data_offset,
                            "file format version %lu is not supported (1..10): the file was "
                            "written by a newer torch than ckpt knows",
                            v);
    return 0;
}

static int read_byteorder(const ckpt_zip *z, bool *big, ckpt_error *err)
{
    *big = false;
    const ckpt_zip_entry *e = ckpt_zip_find(z, "byteorder");
    if (!e)
        return 0; /* torch 2.x assumes little-endian when the record is absent */
    char buf[16];
    CKPT_TRY(read_small_record(z, e, buf, sizeof(buf), err));
    if (strcmp(buf, "little") == 0)
        return 0;
    if (strcmp(buf, "big") == 0) {
        *big = true;
        return 0;
    }
    return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, e->data_offset,
                        "byteorder record is '%.10s', expected 'little' or 'big'", buf);
}

/* Swap each element of a storage from big- to little-endian. */
static void byteswap(uint8_t *p, uint64_t nbytes, int dtype)
{
    size_t w = ckpt_dtype_size(dtype);
    if (dtype == CKPT_C32 || dtype == CKPT_C64 || dtype == CKPT_C128)
        w /= 2;
    if (w <= 1)
        return;
    for (uint64_t i = 0; i + w <= nbytes; i += w)
        for (size_t a = 0, b = w - 1; a < b; a++, b--) {
            uint8_t t = p[i + a];
            p[i + a] = p[i + b];
            p[i + b] = t;
        }
}

/* Read the first s->nbytes of record `e` into s->data. */
static int fill_storage(const ckpt_source *src, const ckpt_zip *z, const ckpt_zip_entry *e,
                        ckpt_doc *doc, ckpt_storage *s, bool verify_crc, ckpt_error *err)
{
    size_t n = (size_t)s->nbytes;
    if (e->method == 0) {
        if (n > 0) {
            int rc;
            if (src->fd_ >= 0 && n >= BIG_READ)
                rc = src->read_at(src->ctx, e->data_offset, s->data, n, err);
            else
                rc = ckpt_source_read(src, e->data_offset, s->data, n, err);
            CKPT_TRY(rc);
        }
        if (verify_crc) {
            uint32_t crc;
            if (n == e->size)
                crc = ckpt_crc32(0, s->data, n);
            else
                CKPT_TRY(ckpt_zip_entry_crc(z, e, &crc, err));
            if (crc != e->crc32)
                return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, e->data_offset,
                                    "CRC-32 mismatch in record %s: stored %08x, computed %08x",
                                    e->name, e->crc32, crc);
        }
        return 0;
    }
    if (n == e->size)
        return ckpt_zip_read(z, e, s->data, n, verify_crc, err);
    size_t full;
    if (ckpt_u64_to_size(e->size, &full))
        return CKPT_FAIL(err, CKPT_E_LIMIT, "record too large");
    uint8_t *tmp = ckpt__mem_alloc(&doc->mem, full ? full : 1);
    if (!tmp)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory inflating %s", e->name);
    int rc = ckpt_zip_read(z, e, tmp, full, verify_crc, err);
    if (rc == 0 && n)
        memcpy(s->data, tmp, n);
    ckpt__mem_free(&doc->mem, tmp, full ? full : 1);
    return rc;
}

static int cmp_offset(const void *a, const void *b)
{
    const ckpt_storage *x = *(ckpt_storage *const *)a, *y = *(ckpt_storage *const *)b;
    return x->file_offset < y->file_offset ? -1 : x->file_offset > y->file_offset;
}

static int lazy_fetch(void *ctx, ckpt_doc *doc, ckpt_storage *s, ckpt_error *err)
{
    held *h = ctx;
    const ckpt_zip_entry *e = s->entry;
    if (!e || !h->zip)
        return CKPT_FAIL(err, CKPT_E_ARG, "storage has no record to read from");
    CKPT_TRY(ckpt__storage_alloc_data(doc, s, false, err));
    int rc = fill_storage(h->srcp, h->zip, e, doc, s, h->verify_crc, err);
    if (rc < 0) {
        ckpt__mem_free(&doc->mem, s->data, s->nbytes ? (size_t)s->nbytes : 1);
        s->data = NULL;
        s->hold = CKPT_HOLD_LAZY;
        return rc;
    }
    if (h->big_endian)
        byteswap(s->data, s->nbytes, s->dtype);
    return 0;
}

static int load_storages(tload *L, held *h, int mode, ckpt_error *err)
{
    ckpt_doc *doc = L->doc;
    size_t n = doc->nstorages;
    if (n == 0)
        return 0;
    ckpt_storage **order = ckpt__mem_alloc(&doc->mem, n * sizeof(*order));
    if (!order)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    memcpy(order, doc->storages, n * sizeof(*order));
    /* file order matters only for large reads through the descriptor */
    bool big = false;
    for (size_t i = 0; i < n && !big; i++)
        big = order[i]->nbytes >= BIG_READ || !L->src->base;
    if (big)
        qsort(order, n, sizeof(*order), cmp_offset);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        ckpt_storage *s = order[i];
        const ckpt_zip_entry *e = s->entry;
        if (strcmp(s->location, "meta") == 0 || !e) {
            s->hold = CKPT_HOLD_NONE;
            continue;
        }
        if (mode == CKPT_LOAD_LAZY) {
            s->hold = CKPT_HOLD_LAZY;
            continue;
        }
        size_t isz = ckpt_dtype_size(s->dtype);
        if (mode == CKPT_LOAD_MMAP && L->src->base && e->method == 0 && !L->big_endian &&
            (e->data_offset % (isz ? isz : 1)) == 0) {
            if (L->opts->verify_crc) {
                uint32_t crc = ckpt_crc32(0, L->src->base + e->data_offset, (size_t)e->size);
                if (crc != e->crc32) {
                    rc = CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, e->data_offset,
                                      "CRC-32 mismatch in record %s: stored %08x, computed %08x",
                                      e->name, e->crc32, crc);
                    break;
                }
            }
            s->data = (uint8_t *)(uintptr_t)(L->src->base + e->data_offset);
            s->hold = CKPT_HOLD_MAPPED;
            continue;
        }
        if (e->method != 0) {
            uint64_t budget = L->opts->limits.max_inflated ? L->opts->limits.max_inflated
                                                           : CKPT__DEFAULT_MAX_INFLATED;
            L->inflated += e->size;
            if (L->inflated > budget || L->inflated < e->size) {
                rc = CKPT_FAIL_AT(err, CKPT_E_LIMIT, CKPT_WHERE_FILE, NULL, e->header_offset,
                                  "deflated record %s would inflate to %llu bytes: over the "
                                  "limit of %llu (limits.max_inflated)",
                                  e->name, (unsigned long long)e->size,
                                  (unsigned long long)budget);
                break;
            }
        }
        rc = ckpt__storage_alloc_data(doc, s, false, err);
        if (rc == 0)
            rc = fill_storage(L->src, L->zip, e, doc, s, L->opts->verify_crc, err);
        if (rc == 0 && L->big_endian)
            byteswap(s->data, s->nbytes, s->dtype);
        if (rc < 0 && err && !err->key[0] && s->key)
            snprintf(err->key, sizeof(err->key), "storage %s", s->key);
    }
    ckpt__mem_free(&doc->mem, order, n * sizeof(*order));
    (void)h;
    return rc;
}

/* ------------------------------------------------------------------ load */

static const ckpt_load_opts *resolve_opts(const ckpt_load_opts *opts, ckpt_load_opts *tmp)
{
    if (opts)
        return opts;
    memset(tmp, 0, sizeof(*tmp));
    return tmp;
}

static int sniff(const ckpt_source *src, ckpt_error *err)
{
    uint8_t head[16] = {0};
    size_t n = src->size < sizeof(head) ? (size_t)src->size : sizeof(head);
    if (n < 4)
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, 0,
                            "file is %zu bytes: too small to be a checkpoint", n);
    CKPT_TRY(ckpt_source_read(src, 0, head, n, err));
    if (memcmp(head, "PK\x03\x04", 4) == 0)
        return 0;
    if (n >= 8 && memcmp(head, "PYTORCH1", 8) == 0)
        return CKPT_FAIL_AT(err, CKPT_E_UNSUPPORTED, CKPT_WHERE_FILE, NULL, 0,
                            "file is an unsupported archive format from the preview release");
    /* anything else may be a legacy stream or a tar file: the legacy loader
     * decides, and names what the file really is when it is neither */
    return 1;
}

/* Where the bytes come from: a memory buffer (kept by the document), a
 * caller source (must outlive the document), or a path (given separately). */
typedef struct in_spec {
    const ckpt_source *src;
    const void *buf;
    size_t n;
    const char *label;
} in_spec;

static ckpt_doc *load_impl(const in_spec *in, const char *path, const ckpt_load_opts *opts,
                           ckpt_error *err)
{
    ckpt_load_opts tmp;
    opts = resolve_opts(opts, &tmp);
    if (opts->mode < CKPT_LOAD_COPY || opts->mode > CKPT_LOAD_LAZY) {
        CKPT_FAIL(err, CKPT_E_ARG, "unknown load mode %d", opts->mode);
        return NULL;
    }
    ckpt_doc *doc = ckpt__doc_new(opts->alloc, opts->limits.max_alloc_bytes);
    if (!doc) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory creating a document");
        return NULL;
    }
    held *h = ckpt__arena_calloc(&doc->arena, sizeof(*h));
    if (!h) {
        ckpt_doc_free(doc);
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    h->verify_crc = opts->verify_crc;
    doc->release = held_release;
    doc->release_ctx = h;
    if (path) {
        if (ckpt_source_open_file(&h->src, path, true, err) < 0) {
            ckpt_doc_free(doc);
            return NULL;
        }
        h->own_src = true;
        h->srcp = &h->src;
    } else if (in->src) {
        h->srcp = in->src;
    } else {
        ckpt_source_init_mem(&h->src, in->buf, in->n, in->label);
        h->srcp = &h->src;
    }
    const ckpt_source *src = h->srcp;

    tload L;
    memset(&L, 0, sizeof(L));
    L.doc = doc;
    L.opts = opts;
    L.src = src;
    L.label = src->label;
    L.rec_dir = "data/";

    uint8_t *pkl_buf = NULL;
    size_t pkl_cap = 0;
    const uint8_t *pkl;
    ckpt_obj *root = NULL;
    int kind = sniff(src, err);
    if (kind < 0)
        goto fail;
    if (kind == 1) {
        if (opts->mode == CKPT_LOAD_MMAP) {
            CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                      "mmap can only be used with files saved in the zip format (torch.save's "
                      "default since 1.6)");
            goto fail;
        }
        L.format = TF_LEGACY;
        if (ckpt__legacy_load(&L, err) < 0)
            goto fail;
        if (L.keys)
            ckpt__mem_free(&doc->mem, L.keys, L.keys_cap * sizeof(*L.keys));
        if (L.by_entry)
            ckpt__mem_free(&doc->mem, L.by_entry, L.by_entry_n * sizeof(*L.by_entry));
        if (L.by_num)
            ckpt__mem_free(&doc->mem, L.by_num,
                           (L.by_num_n ? L.by_num_n : 1) * sizeof(*L.by_num));
        held_release(h);
        doc->release = NULL;
        return doc;
    }
    ckpt_zip_opts zo = {0,
                        opts->limits.max_inflated ? opts->limits.max_inflated
                                                  : CKPT__DEFAULT_MAX_INFLATED,
                        false};
    L.zip = h->zip = ckpt_zip_open(src, &zo, opts->alloc, err);
    if (!L.zip) {
        /* say what the file is when the zip is cut short (an interrupted download) */
        char why[256];
        uint64_t at = 0;
        const char *what = ckpt__detect(src, why, sizeof(why), &at);
        if (what && strstr(what, "truncated") && err) {
            ckpt_error_clear(err);
            CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, at, "%s", why);
        }
        goto fail;
    }
    if (ckpt_zip_find(L.zip, "constants.pkl") && !opts->unsafe_full) {
        CKPT_FAIL(err, CKPT_E_UNSAFE,
                  "file is a TorchScript archive (it has constants.pkl): refused in weights-only "
                  "mode, as torch 2.6+ does (CVE-2025-32434); nothing was executed");
        goto fail;
    }
    if (check_version(L.zip, err) < 0 || read_byteorder(L.zip, &L.big_endian, err) < 0)
        goto fail;
    h->big_endian = L.big_endian;
    const char *pkl_rec = opts->pickle_record ? opts->pickle_record : "data.pkl";
    /* bytecode.pkl (lite interpreter): its tensors live in constants/ too */
    L.rec_dir = strcmp(pkl_rec, "data.pkl") == 0 ? "data/" : "constants/";
    if (strcmp(pkl_rec, "data.pkl") != 0 && strcmp(pkl_rec, "constants.pkl") != 0 &&
        strcmp(pkl_rec, "bytecode.pkl") != 0) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "pickle_record must be data.pkl, constants.pkl or bytecode.pkl, not %.100s",
                  pkl_rec);
        goto fail;
    }
    const ckpt_zip_entry *pe = ckpt_zip_find(L.zip, pkl_rec);
    if (!pe) {
        CKPT_FAIL(err, CKPT_E_FORMAT, "archive has no %s record", pkl_rec);
        goto fail;
    }
    pkl = ckpt_zip_data_ptr(L.zip, pe);
    if (!pkl) {
        if (ckpt_u64_to_size(pe->size, &pkl_cap)) {
            CKPT_FAIL(err, CKPT_E_LIMIT, "data.pkl too large");
            goto fail;
        }
        pkl_buf = ckpt__mem_alloc(&doc->mem, pkl_cap ? pkl_cap : 1);
        if (!pkl_buf) {
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory reading data.pkl (%zu bytes)", pkl_cap);
            goto fail;
        }
        if (ckpt_zip_read(L.zip, pe, pkl_buf, pkl_cap, opts->verify_crc, err) < 0)
            goto fail;
        pkl = pkl_buf;
    } else if (opts->verify_crc && ckpt_crc32(0, pkl, (size_t)pe->size) != pe->crc32) {
        CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, pe->data_offset,
                     "CRC-32 mismatch in record %s", pe->name);
        goto fail;
    }
    ckpt_pickle_hooks hooks;
    ckpt__torch_hooks(&hooks, &L);
    ckpt_pickle_opts po;
    memset(&po, 0, sizeof(po));
    po.name = pkl_rec;
    po.latin1_strings = opts->encoding == 1;
    po.bytes_strings = opts->encoding == 2;
    po.max_depth = opts->limits.max_depth;
    po.max_objects = opts->limits.max_objects;
    if (!po.max_objects || po.max_objects > ckpt__pickle_node_budget(pe->size, pe->comp_size))
        po.max_objects = ckpt__pickle_node_budget(pe->size, pe->comp_size); /* bounded cost */
    root = ckpt_pickle_load(doc, pkl, (size_t)pe->size, &hooks, &po, NULL, err);
    if (!root)
        goto fail;
    doc->root = root;
    if (load_storages(&L, h, opts->mode, err) < 0)
        goto fail;
    if (pkl_buf)
        ckpt__mem_free(&doc->mem, pkl_buf, pkl_cap ? pkl_cap : 1);
    if (L.keys)
        ckpt__mem_free(&doc->mem, L.keys, L.keys_cap * sizeof(*L.keys));
    if (L.by_entry)
        ckpt__mem_free(&doc->mem, L.by_entry, L.by_entry_n * sizeof(*L.by_entry));
    if (L.by_num)
        ckpt__mem_free(&doc->mem, L.by_num, (L.by_num_n ? L.by_num_n : 1) * sizeof(*L.by_num));
    if (opts->mode == CKPT_LOAD_LAZY) {
        doc->fetch = lazy_fetch;
        doc->fetch_ctx = h;
    } else if (opts->mode == CKPT_LOAD_COPY) {
        held_release(h); /* nothing points into the file any more */
        doc->release = NULL;
    }
    return doc;

fail:
    if (pkl_buf)
        ckpt__mem_free(&doc->mem, pkl_buf, pkl_cap ? pkl_cap : 1);
    if (L.keys)
        ckpt__mem_free(&doc->mem, L.keys, L.keys_cap * sizeof(*L.keys));
    if (L.by_entry)
        ckpt__mem_free(&doc->mem, L.by_entry, L.by_entry_n * sizeof(*L.by_entry));
    if (L.by_num)
        ckpt__mem_free(&doc->mem, L.by_num, (L.by_num_n ? L.by_num_n : 1) * sizeof(*L.by_num));
    ckpt__error_set_file(err, src->label);
    ckpt_doc_free(doc);
    return NULL;
}

ckpt_doc *ckpt_load(const char *path, const ckpt_load_opts *opts, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!path) {
        CKPT_FAIL(err, CKPT_E_ARG, "no path");
        return NULL;
    }
    ckpt_doc *doc = load_impl(NULL, path, opts, err);
    if (!doc)
        ckpt__error_set_file(err, path);
    return doc;
}

ckpt_doc *ckpt_load_source(const ckpt_source *src, const ckpt_load_opts *opts, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!src || !src->read_at) {
        CKPT_FAIL(err, CKPT_E_ARG, "no source");
        return NULL;
    }
    in_spec in = {src, NULL, 0, src->label};
    return load_impl(&in, NULL, opts, err);
}

ckpt_doc *ckpt_load_mem(const void *buf, size_t n, const char *label, const ckpt_load_opts *opts,
                        ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!buf && n) {
        CKPT_FAIL(err, CKPT_E_ARG, "no buffer");
        return NULL;
    }
    in_spec in = {NULL, buf, n, label ? label : "<memory>"};
    return load_impl(&in, NULL, opts, err);
}

int ckpt_doc_load_all(ckpt_doc *doc, ckpt_error *err)
{
    if (!doc)
        return CKPT_FAIL(err, CKPT_E_ARG, "NULL document");
    for (size_t i = 0; i < doc->nstorages; i++) {
        ckpt_storage *s = doc->storages[i];
        if (s->hold != CKPT_HOLD_LAZY || s->data)
            continue;
        if (!doc->fetch)
            return CKPT_FAIL(err, CKPT_E_ARG, "document has no lazy reader");
        CKPT_TRY(doc->fetch(doc->fetch_ctx, doc, s, err));
    }
    return 0;
}

const void *ckpt_tensor_data_load(ckpt_doc *doc, const ckpt_obj *t, ckpt_error *err)
{
    if (!doc || !t || t->type != CKPT_T_TENSOR) {
        CKPT_FAIL(err, CKPT_E_ARG, "not a tensor");
        return NULL;
    }
    ckpt_storage *s = t->u.t->storage;
    if (s && s->hold == CKPT_HOLD_LAZY && !s->data) {
        if (!doc->fetch) {
            CKPT_FAIL(err, CKPT_E_ARG, "document has no lazy reader");
            return NULL;
        }
        if (doc->fetch(doc->fetch_ctx, doc, s, err) < 0)
            return NULL;
    }
    return ckpt_tensor_data(t);
}
