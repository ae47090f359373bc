/* src/formats/safetensors.c - safetensors read and write (ckpt/formats.h).
 *
 * Reading validates the header with the scanner's own checker
 * (safetensors_header.c, one validation for both), then makes one storage per
 * tensor: copied, a slice of the file mapping (zero copy) or read on demand.
 *
 * Writing lays the file out as huggingface/safetensors does
 * (safetensors/src/tensor.rs `prepare` / `serialize`): tensors sorted by the
 * Dtype enum's order descending (widest first), then by name (byte order);
 * the header is serde_json's compact text of a map whose first entry is
 * "__metadata__" (when given) and then each tensor {"dtype", "shape",
 * "data_offsets"} in that order; spaces pad it to a multiple of 8 bytes; the
 * 8-byte little-endian length counts the padding.  Tensors sharing memory are
 * refused as bindings/python/py_src/safetensors/torch.py
 * (_find_shared_tensors, _filter_shared_not_shared) finds them. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ckpt/formats.h"
#include "ckpt/source.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/obj.h"
#include "core/text.h"
#include "formats/formats_internal.h"

/* ------------------------------------------------------------------ load */

typedef struct st_held {
    ckpt_source src;
    bool own; /* the source is a file this document opened */
} st_held;

/* Close the file (when the document opened it) and free the holder. */
static void st_release(void *ctx)
{
    st_held *h = ctx;
    if (h->own)
        ckpt_source_close(&h->src);
    free(h);
}

#define BIG_READ (1u << 20) /* from this size on, pread straight into the storage */

/* n bytes at `off` of the source into dst: a large read goes through the file
 * descriptor (no page faults on the mapping), a small one through the source. */
static int read_bytes(const ckpt_source *src, uint64_t off, void *dst, size_t n, ckpt_error *err)
{
    if (src->fd_ >= 0 && n >= BIG_READ)
        return src->read_at(src->ctx, off, dst, n, err);
    return ckpt_source_read(src, off, dst, n, err);
}

static int st_fetch(void *ctx, ckpt_doc *doc, ckpt_storage *s, ckpt_error *err)
{
    st_held *h = ctx;
    if (h->src.base && !h->own) { /* caller memory: point into it */
        s->data = (uint8_t *)(uintptr_t)(h->src.base + s->file_offset);
        s->hold = CKPT_HOLD_BORROWED;
        return 0;
    }
    CKPT_TRY(ckpt__storage_alloc_data(doc, s, false, err));
    int rc = s->nbytes ? read_bytes(&h->src, s->file_offset, s->data, (size_t)s->nbytes, err) : 0;
    if (rc < 0) {
        ckpt__mem_free(&doc->mem, s->data, s->nbytes ? (size_t)s->nbytes : 1);
        s->data = NULL;
        s->hold = CKPT_HOLD_LAZY;
        if (err && !err->key[0] && s->key)
            snprintf(err->key, sizeof(err->key), "%s", s->key);
    }
    return rc;
}

static void set_key(ckpt_error *err, const char *key)
{
    if (err && key && key[0] && !err->key[0])
        snprintf(err->key, sizeof(err->key), "%s", key);
}

/* Tensors and metadata of the validated header `h` into `doc`. */
static int build(ckpt_doc *doc, const ckpt_st_header *h, st_held *held, int mode, ckpt_error *err)
{
    ckpt_obj *root = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    if (!root)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    const ckpt_source *src = &held->src;
    for (size_t i = 0; i < h->n; i++) {
        const ckpt_st_entry *e = &h->ents[i];
        int dtype = e->dtype->ckpt;
        uint64_t off = h->data_start + e->begin;
        if (dtype < 0) {
            CKPT_FAIL_AT(err, CKPT_E_UNSUPPORTED, CKPT_WHERE_FILE, NULL, 8,
                         "safetensors dtype %s has no ckpt dtype", e->dtype->name);
            set_key(err, e->name);
            return err->code;
        }
        if (e->ndim > 64) {
            CKPT_FAIL_AT(err, CKPT_E_LIMIT, CKPT_WHERE_FILE, NULL, 8,
                         "tensor has %d dimensions, more than ckpt's 64", e->ndim);
            set_key(err, e->name);
            return err->code;
        }
        ckpt_storage *s = ckpt__storage_new(doc, dtype, false, e->nbytes);
        if (!s || !(s->location = ckpt__arena_strndup(&doc->arena, "cpu", 3)) ||
            !(s->key = ckpt__arena_strndup(&doc->arena, e->name, strlen(e->name))))
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        s->file_offset = off;
        size_t isz = ckpt_dtype_size(dtype);
        if (e->nbytes == 0) {
            if (ckpt__storage_alloc_data(doc, s, true, err) < 0)
                goto fail_key;
        } else if (mode == CKPT_LOAD_LAZY) {
            s->hold = CKPT_HOLD_LAZY;
        } else if (mode == CKPT_LOAD_MMAP && src->base && off % (isz ? isz : 1) == 0) {
            s->data = (uint8_t *)(uintptr_t)(src->base + off);
            s->hold = held->own ? CKPT_HOLD_MAPPED : CKPT_HOLD_BORROWED;
        } else {
            /* COPY, or a slice the mapping cannot give aligned */
            if (ckpt__storage_alloc_data(doc, s, false, err) < 0 ||
                read_bytes(src, off, s->data, (size_t)e->nbytes, err) < 0)
                goto fail_key;
        }
        ckpt_obj *t = ckpt_tensor_new(doc, s, dtype, e->ndim, e->shape, NULL, 0, err);
        if (!t || ckpt_dict_set_str(doc, root, e->name, t, err) < 0) {
            if (!ckpt__error_is_set(err))
                CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            goto fail_key;
        }
        continue;
fail_key:
        set_key(err, e->name);
        return err->code ? err->code : CKPT_E_FORMAT;
    }
    ckpt_doc_set_root(doc, root);
    if (h->metadata) {
        const cJSON *m = h->metadata;
        ckpt_obj *md = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
        if (!md)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        for (const cJSON *c = m->child; c; c = c->next) {
            ckpt_obj *v = ckpt_str_new(doc, c->valuestring);
            if (!v)
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            CKPT_TRY(ckpt_dict_set_str(doc, md, c->string, v, err));
        }
        ckpt_doc_set_metadata(doc, md);
    }
    return 0;
}

/* Load from `held->src` (a file opened or memory set up by the caller); the
 * holder `held` (malloc'd) is always taken over: freed, or kept by the document. */
static ckpt_doc *st_load_src(st_held *held, const char *label, int mode, const ckpt_alloc *alloc,
                             ckpt_error *err)
{
    const ckpt_source *src = &held->src;
    ckpt_st_header h;
    memset(&h, 0, sizeof(h));
    uint8_t *hbuf = NULL;
    size_t hcap = 0;
    ckpt_doc *doc = NULL;
    if (mode < CKPT_LOAD_COPY || mode > CKPT_LOAD_LAZY) {
        CKPT_FAIL(err, CKPT_E_ARG, "unknown load mode %d", mode);
        goto fail;
    }
    const uint8_t *hb = src->base;
    size_t hn = 0;
    if (hb) {
        hn = (size_t)src->size;
    } else {
        uint8_t len8[8] = {0};
        size_t first = src->size < 8 ? (size_t)src->size : 8;
        if (first && ckpt_source_read(src, 0, len8, first, err) < 0)
            goto fail;
        uint64_t hl = 0;
        for (int i = 7; i >= 0; i--)
            hl = (hl << 8) | len8[i];
        hn = first;
        if (first == 8 && hl <= 100000000u && hl <= src->size - 8)
            hn = 8 + (size_t)hl;
        hcap = hn ? hn : 1;
        hbuf = ckpt__alloc(alloc, hcap);
        if (!hbuf) {
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory for a %zu-byte header", hn);
            goto fail;
        }
        memcpy(hbuf, len8, first);
        if (hn > 8 && ckpt_source_read(src, 8, hbuf + 8, hn - 8, err) < 0)
            goto fail;
        hb = hbuf;
    }
    int st = ckpt__st_header_parse(hb, hn, src->size, &h);
    if (st != CKPT_ST_VALID) {
        CKPT_FAIL_AT(err, h.limit ? CKPT_E_LIMIT : CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, h.offset,
                     "%s%s",
                     st == CKPT_ST_NOT ? "not a safetensors file: " : "safetensors: ", h.why);
        set_key(err, h.key);
        goto fail;
    }
    if (hbuf) {
        ckpt__free(alloc, hbuf, hcap);
        hbuf = NULL;
    }
    doc = ckpt_doc_new(alloc, err);
    if (!doc)
        goto fail;
    doc->release = st_release;
    doc->release_ctx = held;
    held = NULL; /* the document's now */
    st_held *dh = doc->release_ctx;
    if (build(doc, &h, dh, mode, err) < 0)
        goto fail;
    if (mode == CKPT_LOAD_LAZY) {
        doc->fetch = st_fetch;
        doc->fetch_ctx = dh;
    } else if (mode == CKPT_LOAD_COPY) {
        st_release(dh); /* nothing points into the file any more */
        doc->release = NULL;
        doc->release_ctx = NULL;
    }
    ckpt__st_header_free(&h);
    return doc;
fail:
    if (hbuf)
        ckpt__free(alloc, hbuf, hcap);
    ckpt__st_header_free(&h);
    ckpt_doc_free(doc);
    if (held)
        st_release(held);
    ckpt__error_set_file(err, label);
    return NULL;
}

ckpt_doc *ckpt_safetensors_load_mem(const void *buf, size_t n, const char *label, int mode,
                                    const ckpt_alloc *alloc, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!label)
        label = "<memory>";
    if (!buf && n) {
        CKPT_FAIL(err, CKPT_E_ARG, "NULL buffer");
        ckpt__error_set_file(err, label);
        return NULL;
    }
    st_held *held = calloc(1, sizeof(*held));
    if (!held) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        ckpt__error_set_file(err, label);
        return NULL;
    }
    ckpt_source_init_mem(&held->src, buf ? buf : "", n, label);
    return st_load_src(held, label, mode, alloc, err);
}

ckpt_doc *ckpt_safetensors_load(const char *path, int mode, const ckpt_alloc *alloc,
                                ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!path) {
        CKPT_FAIL(err, CKPT_E_ARG, "missing path");
        return NULL;
    }
    st_held *held = calloc(1, sizeof(*held));
    if (!held) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        ckpt__error_set_file(err, path);
        return NULL;
    }
    /* map the file: the header is parsed in place and MMAP slices it */
    if (ckpt_source_open_file(&held->src, path, true, err) < 0) {
        free(held);
        ckpt__error_set_file(err, path);
        return NULL;
    }
    held->own = true;
    return st_load_src(held, path, mode, alloc, err);
}

/* ------------------------------------------------------------------ save */

/* A JSON string as serde_json writes it: '"' and '\\' escaped, control bytes
 * as \b \t \n \f \r or \u00xx (lowercase hex), everything else (UTF-8
 * included, DEL included) verbatim. */
static void jstr(ckpt__text *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    ckpt__text_put(b, "\"", 1);
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];
        if (c == '"')
            esc = "\\\"";
        else if (c == '\\')
            esc = "\\\\";
        else if (c == '\b')
            esc = "\\b";
        else if (c == '\t')
            esc = "\\t";
        else if (c == '\n')
            esc = "\\n";
        else if (c == '\f')
            esc = "\\f";
        else if (c == '\r')
            esc = "\\r";
        else if (c < 0x20) {
            memcpy(u, "\\u00", 4);
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            u[6] = '\0';
            esc = u;
        }
        if (!esc)
            continue;
        ckpt__text_put(b, s + run, i - run);
        ckpt__text_puts(b, esc);
        run = i + 1;
    }
    ckpt__text_put(b, s + run, n - run);
    ckpt__text_put(b, "\"", 1);
}

static void jnum(ckpt__text *b, uint64_t v)
{
    char t[32];
    snprintf(t, sizeof(t), "%llu", (unsigned long long)v);
    ckpt__text_puts(b, t);
}

typedef struct st_item {
    const char *name;
    size_t name_len;
    const ckpt_obj *t;
    ckpt_tensor_info ti;
    int rank;
    const char *sdt;
    const uint8_t *start, *stop; /* memory the view covers (shared-memory check) */
    const void *sptr;            /* storage bytes */
    uint64_t snbytes;
} st_item;

typedef struct st_plan {
    st_item *items;
    size_t n;
    ckpt__text hdr; /* padded header text */
} st_plan;

static int cmp_layout(const void *a, const void *b)
{
    const st_item *x = *(st_item *const *)a, *y = *(st_item *const *)b;
    if (x->rank != y->rank)
        return x->rank > y->rank ? -1 : 1; /* descending Dtype */
    return strcmp(x->name, y->name);
}

static int cmp_area(const void *a, const void *b)
{
    /* (storage ptr, storage size) groups, then (start, stop, name) as Python's tuple sort */
    const st_item *x = *(st_item *const *)a, *y = *(st_item *const *)b;
    if (x->sptr != y->sptr)
        return (uintptr_t)x->sptr < (uintptr_t)y->sptr ? -1 : 1;
    if (x->snbytes != y->snbytes)
        return x->snbytes < y->snbytes ? -1 : 1;
    if (x->start != y->start)
        return (uintptr_t)x->start < (uintptr_t)y->start ? -1 : 1;
    if (x->stop != y->stop)
        return (uintptr_t)x->stop < (uintptr_t)y->stop ? -1 : 1;
    return strcmp(x->name, y->name);
}

/* safetensors' torch.py: tensors are grouped by (device, storage pointer,
 * storage size) -- skipping storages without bytes -- and within a group by
 * overlapping [data_ptr, end_ptr) areas; any group of two or more shares memory. */
static int check_shared(st_item **by, size_t n, ckpt_error *err)
{
    size_t cnt = 0;
    for (size_t i = 0; i < n; i++)
        if (by[i]->sptr && by[i]->snbytes)
            by[cnt++] = by[i];
    qsort(by, cnt, sizeof(*by), cmp_area);
    char msg[200];
    size_t mlen = 0, groups = 0;
    msg[0] = '\0';
    for (size_t i = 0; i < cnt;) {
        size_t j = i + 1;
        while (j < cnt && by[j]->sptr == by[i]->sptr && by[j]->snbytes == by[i]->snbytes)
            j++;
        /* [i, j) one storage; split where an area starts at or after the last stop */
        size_t g0 = i;
        const uint8_t *last_stop = by[i]->stop;
        for (size_t k = i + 1; k <= j; k++) {
            if (k == j || by[k]->start >= last_stop) {
                if (k - g0 > 1) {
                    groups++;
                    mlen += (size_t)snprintf(msg + (mlen < sizeof(msg) ? mlen : sizeof(msg)),
                                             mlen < sizeof(msg) ? sizeof(msg) - mlen : 0, "%s{",
                                             groups > 1 ? ", " : "");
                    for (size_t q = g0; q < k; q++)
                        mlen += (size_t)snprintf(msg + (mlen < sizeof(msg) ? mlen : sizeof(msg)),
                                                 mlen < sizeof(msg) ? sizeof(msg) - mlen : 0,
                                                 "%s'%s'", q > g0 ? ", " : "", by[q]->name);
                    mlen += (size_t)snprintf(msg + (mlen < sizeof(msg) ? mlen : sizeof(msg)),
                                             mlen < sizeof(msg) ? sizeof(msg) - mlen : 0, "}");
                }
                g0 = k;
            }
            if (k < j)
                last_stop = by[k]->stop;
        }
        i = j;
    }
    if (groups)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                         "some tensors share memory, which safetensors refuses (save each one's "
                         "own copy with duplicate_shared): %s%s",
                         msg, mlen >= sizeof(msg) ? "..." : "");
    return 0;
}

static void plan_free(st_plan *p)
{
    free(p->items);
    free(p->hdr.p);
    memset(p, 0, sizeof(*p));
}

static int plan(const ckpt_obj *dict, const ckpt_st_save_opts *o, st_plan *p, ckpt_error *err)
{
    memset(p, 0, sizeof(*p));
    if (!dict || ckpt_obj_type(dict) != CKPT_T_DICT)
        return CKPT_FAIL(err, CKPT_E_ARG, "safetensors holds a dict of tensors, not a %s",
                         dict ? ckpt_type_name(ckpt_obj_type(dict)) : "NULL");
    const ckpt_obj *md = o ? o->metadata : NULL;
    if (md) {
        if (ckpt_obj_type(md) != CKPT_T_DICT)
            return CKPT_FAIL(err, CKPT_E_ARG,
                             "safetensors metadata must be a dict str -> str, "
                             "not a %s",
                             ckpt_type_name(ckpt_obj_type(md)));
        for (size_t i = 0; i < ckpt_obj_len(md); i++) {
            const ckpt_obj *k = ckpt_dict_key(md, i), *v = ckpt_dict_value(md, i);
            if (ckpt_obj_type(k) != CKPT_T_STR || ckpt_obj_type(v) != CKPT_T_STR) {
                CKPT_FAIL(err, CKPT_E_ARG,
                          "safetensors metadata must be a dict str -> str (entry %zu is %s -> "
                          "%s)",
                          i, ckpt_type_name(ckpt_obj_type(k)), ckpt_type_name(ckpt_obj_type(v)));
                if (ckpt_obj_type(k) == CKPT_T_STR)
                    set_key(err, ckpt_obj_str(k, NULL));
                return CKPT_E_ARG;
            }
        }
    }
    size_t n = ckpt_obj_len(dict);
    p->items = calloc(n ? n : 1, sizeof(*p->items));
    st_item **by = calloc(n ? n : 1, sizeof(*by));
    if (!p->items || !by) {
        free(by);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    p->n = n;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        st_item *it = &p->items[i];
        const ckpt_obj *k = ckpt_dict_key(dict, i), *v = ckpt_dict_value(dict, i);
        size_t kl = 0;
        const char *ks = ckpt_obj_type(k) == CKPT_T_STR ? ckpt_obj_str(k, &kl) : NULL;
        if (!ks || memchr(ks, '\0', kl)) {
            rc = CKPT_FAIL(err, CKPT_E_ARG, "safetensors keys are strings (entry %zu is a %s)", i,
                           ckpt_type_name(ckpt_obj_type(k)));
            break;
        }
        it->name = ks;
        it->name_len = kl;
        it->t = v;
        by[i] = it;
        if (strcmp(ks, "__metadata__") == 0) {
            rc = CKPT_FAIL(err, CKPT_E_ARG,
                           "a tensor cannot be named __metadata__ (the header's metadata key)");
        } else if (ckpt_obj_type(v) != CKPT_T_TENSOR) {
            rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "a %s cannot be stored in safetensors%s",
                           ckpt_type_name(ckpt_obj_type(v)),
                           ckpt_obj_type(v) == CKPT_T_DICT ? " (nested dicts are not flattened)"
                                                           : "");
        } else if (ckpt_tensor_get_info(v, &it->ti) < 0) {
            rc = CKPT_FAIL(err, CKPT_E_ARG, "not a tensor");
        } else if (it->ti.quantized) {
            rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED,
                           "quantized tensors have no safetensors dtype");
        } else {
            const ckpt_st_dtype *sd = ckpt__st_dtype_by_ckpt(it->ti.dtype, &it->rank);
            if (!sd)
                rc = CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "dtype %s has no safetensors dtype",
                               ckpt_dtype_name(it->ti.dtype) ? ckpt_dtype_name(it->ti.dtype)
                                                             : "?");
            else
                it->sdt = sd->name;
        }
        if (rc == 0 && it->ti.numel > 0 && !ckpt_tensor_data(v))
            rc = CKPT_FAIL(err, CKPT_E_ARG,
                           "tensor holds no bytes (on the meta device, or lazily loaded and not "
                           "read: call ckpt_tensor_data_load first)");
        if (rc == 0 && it->ti.nbytes > SIZE_MAX)
            rc = CKPT_FAIL(err, CKPT_E_LIMIT, "tensor too large for this address space");
        if (rc == 0 && it->ti.storage && it->ti.numel > 0) {
            ckpt_storage_info si;
            ckpt_storage_get_info(it->ti.storage, &si);
            it->sptr = si.data;
            it->snbytes = si.nbytes;
            size_t isz = ckpt_dtype_size(it->ti.dtype);
            it->start = ckpt_tensor_data(v);
            int64_t hi = 0; /* last element's offset, in elements */
            for (int d = 0; d < it->ti.ndim; d++)
                hi += (it->ti.shape[d] - 1) * (it->ti.stride[d] > 0 ? it->ti.stride[d] : 0);
            it->stop = it->start + (uint64_t)hi * isz + isz;
        } else if (rc == 0 && it->ti.storage) {
            ckpt_storage_info si;
            ckpt_storage_get_info(it->ti.storage, &si);
            it->sptr = si.data;
            it->snbytes = si.nbytes;
            it->start = it->stop = si.data ? (const uint8_t *)si.data +
                                                 (uint64_t)it->ti.storage_offset *
                                                     ckpt_dtype_size(it->ti.dtype)
                                           : NULL;
        }
        if (rc < 0)
            set_key(err, ks);
    }
    if (rc == 0 && !(o && o->duplicate_shared))
        rc = check_shared(by, n, err);
    if (rc < 0) {
        free(by);
        return rc;
    }
    for (size_t i = 0; i < n; i++)
        by[i] = &p->items[i];
    qsort(by, n, sizeof(*by), cmp_layout);
    st_item *sorted = malloc((n ? n : 1) * sizeof(*sorted));
    if (!sorted) {
        free(by);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++)
        sorted[i] = *by[i];
    free(by);
    free(p->items);
    p->items = sorted;

    /* the header: serde_json::to_string of the Metadata map */
    ckpt__text *b = &p->hdr;
    ckpt__text_put(b, "{", 1);
    bool first = true;
    if (md) {
        jstr(b, "__metadata__", 12);
        ckpt__text_put(b, ":{", 2);
        for (size_t i = 0; i < ckpt_obj_len(md); i++) {
            size_t kl, vl;
            const char *ks = ckpt_obj_str(ckpt_dict_key(md, i), &kl);
            const char *vs = ckpt_obj_str(ckpt_dict_value(md, i), &vl);
            if (i)
                ckpt__text_put(b, ",", 1);
            jstr(b, ks, kl);
            ckpt__text_put(b, ":", 1);
            jstr(b, vs, vl);
        }
        ckpt__text_put(b, "}", 1);
        first = false;
    }
    uint64_t off = 0;
    for (size_t i = 0; i < n; i++) {
        const st_item *it = &p->items[i];
        if (!first)
            ckpt__text_put(b, ",", 1);
        first = false;
        jstr(b, it->name, it->name_len);
        ckpt__text_puts(b, ":{\"dtype\":");
        jstr(b, it->sdt, strlen(it->sdt));
        ckpt__text_puts(b, ",\"shape\":[");
        for (int d = 0; d < it->ti.ndim; d++) {
            if (d)
                ckpt__text_put(b, ",", 1);
            jnum(b, (uint64_t)it->ti.shape[d]);
        }
        ckpt__text_puts(b, "],\"data_offsets\":[");
        jnum(b, off);
        ckpt__text_put(b, ",", 1);
        off += it->ti.nbytes;
        jnum(b, off);
        ckpt__text_puts(b, "]}");
    }
    ckpt__text_put(b, "}", 1);
    while (!b->oom && b->n % 8)
        ckpt__text_put(b, " ", 1);
    if (b->oom)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory for the header");
    if (b->n > 100000000u)
        return CKPT_FAIL(err, CKPT_E_LIMIT,
                         "header of %zu bytes is over safetensors' limit of 100000000 bytes",
                         b->n);
    return 0;
}

static int write_st(ckpt_sink *s, const void *ctx, ckpt_error *err)
{
    const st_plan *p = ctx;
    uint8_t len8[8];
    uint64_t hl = p->hdr.n;
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)(hl >> (8 * i));
    CKPT_TRY(ckpt_sink_write(s, len8, 8, err));
    CKPT_TRY(ckpt_sink_write(s, p->hdr.p, p->hdr.n, err));
    for (size_t i = 0; i < p->n; i++) {
        const st_item *it = &p->items[i];
        size_t nb = (size_t)it->ti.nbytes;
        if (nb == 0)
            continue;
        if (it->ti.contiguous) {
            CKPT_TRY(ckpt_sink_write(s, ckpt_tensor_data(it->t), nb, err));
            continue;
        }
        void *tmp = malloc(nb);
        if (!tmp)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory making '%s' contiguous", it->name);
        int rc = ckpt_tensor_copy_into(it->t, tmp, nb, err);
        if (rc == 0)
            rc = ckpt_sink_write(s, tmp, nb, err);
        free(tmp);
        if (rc < 0) {
            set_key(err, it->name);
            return rc;
        }
    }
    return 0;
}

int ckpt_safetensors_save(const char *path, const ckpt_obj *dict, const ckpt_st_save_opts *opts,
                          ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!path)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing path");
    st_plan p;
    int rc = plan(dict, opts, &p, err);
    if (rc == 0)
        rc = ckpt__atomic_write(path, write_st, &p, NULL, opts && opts->no_fsync, err);
    plan_free(&p);
    if (rc < 0)
        ckpt__error_set_file(err, path);
    return rc;
}

int ckpt_safetensors_save_mem(const ckpt_obj *dict, const ckpt_st_save_opts *opts, void **out,
                              size_t *out_len, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!out || !out_len)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing output pointers");
    *out = NULL;
    *out_len = 0;
    st_plan p;
    int rc = plan(dict, opts, &p, err);
    ckpt_sink *s = NULL;
    if (rc == 0) {
        s = ckpt_sink_new_mem(NULL, err);
        if (!s)
            rc = err->code ? err->code : CKPT_E_NOMEM;
    }
    if (rc == 0)
        rc = write_st(s, &p, err);
    if (rc == 0) {
        *out = ckpt_sink_take_mem(s, out_len);
        if (!*out)
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    ckpt_sink_free(s);
    plan_free(&p);
    return rc;
}
