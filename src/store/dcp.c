/* src/store/dcp.c - reading DCP folders as torch 2.5's FileSystemReader
 * does (torch/distributed/checkpoint/filesystem.py read_data): each item is
 * the byte range [offset, offset + length) of its file; a tensor item is a
 * torch.save archive of one chunk (loaded weights-only), a bytes item the
 * torch.save of any value.  Chunks are reassembled by their offsets into
 * whatever box is asked for (resharding). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/zip.h"
#include "core/err.h"
#include "core/obj.h"
#include "dcp_internal.h"

#define META_MAX (1ull << 31) /* a .metadata larger than 2 GiB is refused */

typedef struct dfile {
    char *name;
    uint64_t size;
} dfile;

struct ckpt_dcp {
    char *dir;
    ckpt__dcp_meta m;
    dfile *files;
    size_t nfiles;
};

static int io_fail(ckpt_error *err, const char *what, const char *path)
{
    int rc = CKPT_FAIL(err, CKPT_E_IO, "%s: %s", what, strerror(errno));
    ckpt__error_set_file(err, path);
    return rc;
}

static int read_all(const char *path, uint64_t max, uint8_t **out, size_t *n, ckpt_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = io_fail(err, "cannot open", path);
        if (errno == ENOENT)
            err->code = CKPT_E_NOT_FOUND;
        return err->code ? err->code : rc;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size > max) {
        close(fd);
        int rc = CKPT_FAIL(err, CKPT_E_LIMIT, "file larger than %llu bytes",
                           (unsigned long long)max);
        ckpt__error_set_file(err, path);
        return rc;
    }
    size_t len = (size_t)st.st_size;
    uint8_t *buf = malloc(len ? len : 1);
    if (!buf) {
        close(fd);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    size_t got = 0;
    while (got < len) {
        ssize_t r = read(fd, buf + got, len - got);
        if (r <= 0) {
            free(buf);
            close(fd);
            return io_fail(err, "read", path);
        }
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *n = len;
    return 0;
}

/* Check every item's range against its file's size. */
static int check_loc(ckpt_dcp *d, const ckpt__dcp_loc *l, const char *fqn, ckpt_error *err)
{
    dfile *f = NULL;
    for (size_t i = 0; i < d->nfiles; i++)
        if (!strcmp(d->files[i].name, l->file))
            f = &d->files[i];
    if (!f) {
        char *p = ckpt__dcp_join(d->dir, l->file);
        struct stat st;
        int rc = 0;
        if (!p)
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        else if (stat(p, &st) < 0) {
            rc = io_fail(err, "a file the metadata names is missing", p);
            if (errno == ENOENT)
                err->code = rc = CKPT_E_NOT_FOUND;
        }
        dfile *nf = rc == 0 ? realloc(d->files, (d->nfiles + 1) * sizeof(dfile)) : NULL;
        if (rc == 0 && !nf)
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        if (rc < 0) {
            free(p);
            ckpt__error_prefix_key(err, fqn);
            return rc;
        }
        free(p);
        d->files = nf;
        f = &d->files[d->nfiles];
        f->name = strdup(l->file);
        f->size = (uint64_t)st.st_size;
        if (!f->name)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        d->nfiles++;
    }
    if (l->offset > f->size || l->length > f->size - l->offset) {
        char *p = ckpt__dcp_join(d->dir, l->file);
        CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, l->offset,
                     "item [%llu, +%llu) lies beyond the file's %llu bytes",
                     (unsigned long long)l->offset, (unsigned long long)l->length,
                     (unsigned long long)f->size);
        ckpt__error_set_file(err, p ? p : l->file);
        ckpt__error_prefix_key(err, fqn);
        free(p);
        return CKPT_E_FORMAT;
    }
    return 0;
}

void ckpt_dcp_close(ckpt_dcp *d)
{
    if (!d)
        return;
    ckpt__dcp_meta_free(&d->m);
    for (size_t i = 0; i < d->nfiles; i++)
        free(d->files[i].name);
    free(d->files);
    free(d->dir);
    free(d);
}

ckpt_dcp *ckpt_dcp_open(const char *dir, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!dir) {
        CKPT_FAIL(err, CKPT_E_ARG, "missing folder");
        return NULL;
    }
    ckpt_dcp *d = calloc(1, sizeof(*d));
    char *mp = ckpt__dcp_join(dir, ".metadata");
    if (!d || !mp || !(d->dir = strdup(dir))) {
        free(mp);
        ckpt_dcp_close(d);
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t n = 0;
    int rc = read_all(mp, META_MAX, &buf, &n, err);
    if (rc == 0)
        rc = ckpt__dcp_meta_parse(buf, n, mp, &d->m, err);
    free(buf);
    for (size_t i = 0; rc == 0 && i < d->m.n; i++) {
        ckpt__dcp_ent *e = &d->m.ents[i];
        if (e->pub.is_bytes)
            rc = check_loc(d, &e->bytes_loc, e->pub.fqn, err);
        for (size_t c = 0; rc == 0 && !e->pub.is_bytes && c < e->pub.nchunks; c++)
            rc = check_loc(d, &e->chunks[c].loc, e->pub.fqn, err);
    }
    free(mp);
    if (rc < 0) {
        ckpt_dcp_close(d);
        return NULL;
    }
    return d;
}

size_t ckpt_dcp_count(const ckpt_dcp *d)
{
    return d ? d->m.n : 0;
}

const ckpt_dcp_entry *ckpt_dcp_entry_at(const ckpt_dcp *d, size_t i)
{
    return d && i < d->m.n ? &d->m.ents[i].pub : NULL;
}

int ckpt_dcp_item_location(const ckpt_dcp *d, size_t i, size_t k, const char **file,
                           uint64_t *offset, uint64_t *length)
{
    if (!d || i >= d->m.n)
        return CKPT_E_ARG;
    const ckpt__dcp_ent *e = &d->m.ents[i];
    const ckpt__dcp_loc *l;
    if (e->pub.is_bytes) {
        if (k != 0)
            return CKPT_E_ARG;
        l = &e->bytes_loc;
    } else {
        if (k >= e->pub.nchunks)
            return CKPT_E_ARG;
        l = &e->chunks[k].loc;
    }
    if (file)
        *file = l->file;
    if (offset)
        *offset = l->offset;
    if (length)
        *length = l->length;
    return 0;
}

static ckpt__dcp_ent *find(const ckpt_dcp *d, const char *fqn)
{
    for (size_t i = 0; d && fqn && i < d->m.n; i++)
        if (!strcmp(d->m.ents[i].pub.fqn, fqn))
            return &d->m.ents[i];
    return NULL;
}

const ckpt_dcp_entry *ckpt_dcp_find(const ckpt_dcp *d, const char *fqn)
{
    ckpt__dcp_ent *e = find(d, fqn);
    return e ? &e->pub : NULL;
}

/* The torch.save archive of one item, loaded weights-only. */
/* keep != NULL: the document points into the item's bytes (MMAP mode over
 * memory), handed back in *keep to be freed after the document. */
static ckpt_doc *load_item(ckpt_dcp *d, const ckpt__dcp_loc *l, const char *fqn,
                           const ckpt_alloc *alloc, void **keep, ckpt_error *err)
{
    char *p = ckpt__dcp_join(d->dir, l->file);
    if (!p) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    ckpt_doc *doc = NULL;
    uint8_t *buf = malloc(l->length ? (size_t)l->length : 1);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (!buf) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory for an item of %llu bytes",
                  (unsigned long long)l->length);
    } else if (fd < 0) {
        io_fail(err, "cannot open", p);
    } else {
        size_t got = 0;
        while (got < l->length) {
            ssize_t r = pread(fd, buf + got, (size_t)l->length - got, (off_t)(l->offset + got));
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        if (got < l->length) {
            CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, l->offset + got,
                         "the file ends inside the item");
            ckpt__error_set_file(err, p);
        } else {
            char label[512];
            snprintf(label, sizeof(label), "%s@%llu", p, (unsigned long long)l->offset);
            ckpt_load_opts o = {.mode = keep ? CKPT_LOAD_MMAP : CKPT_LOAD_COPY,
                                .map_location = "cpu",
                                .alloc = alloc};
            doc = ckpt_load_mem(buf, (size_t)l->length, label, &o, err);
        }
    }
    if (fd >= 0)
        close(fd);
    if (doc && keep)
        *keep = buf;
    else
        free(buf);
    free(p);
    if (!doc)
        ckpt__error_prefix_key(err, fqn);
    return doc;
}

/* The chunk's elements, C-contiguous: *data points into the saved tensor
 * (over *raw, the item's bytes, kept with *keep_doc) when it is contiguous,
 * else into a copy in *raw.  The caller frees *keep_doc, then *raw. */
static int load_chunk(ckpt_dcp *d, const ckpt__dcp_ent *e, const ckpt__dcp_chunk *k, void **raw,
                      ckpt_doc **keep_doc, const void **data, ckpt_error *err)
{
    void *item = NULL;
    ckpt_doc *doc = load_item(d, &k->loc, e->pub.fqn, NULL, &item, err);
    if (!doc)
        return err->code ? err->code : CKPT_E_FORMAT;
    const ckpt_obj *t = ckpt_doc_root(doc);
    ckpt_tensor_info ti;
    int rc = 0;
    if (ckpt_tensor_get_info(t, &ti) < 0 || ti.dtype != e->pub.dtype || ti.ndim != e->pub.ndim ||
        (ti.ndim > 0 && memcmp(ti.shape, k->sizes, (size_t)ti.ndim * sizeof(int64_t)) != 0)) {
        rc = CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, k->loc.offset,
                          "the item is not a %s tensor of the chunk's sizes",
                          ckpt_dtype_name(e->pub.dtype));
        char *p = ckpt__dcp_join(d->dir, k->loc.file);
        ckpt__error_set_file(err, p ? p : k->loc.file);
        free(p);
        ckpt__error_prefix_key(err, e->pub.fqn);
    }
    void *buf = NULL;
    if (rc == 0 && ti.contiguous && ckpt_tensor_data(t)) {
        *data = ckpt_tensor_data(t); /* zero copy: the bytes of the item */
        *raw = item;
        *keep_doc = doc; /* freed after the copy, before `item` */
        return 0;
    }
    if (rc == 0) {
        buf = malloc(ti.nbytes ? (size_t)ti.nbytes : 1);
        if (!buf)
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        else if (ti.nbytes)
            rc = ckpt_tensor_copy_into(t, buf, (size_t)ti.nbytes, err);
    }
    ckpt_doc_free(doc);
    free(item);
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *raw = buf;
    *data = buf;
    return 0;
}

/* Copy the part of chunk `k` (contiguous at `src`) inside the box. */
static uint64_t copy_overlap(const ckpt__dcp_ent *e, const ckpt__dcp_chunk *k, const void *src,
                             const int64_t *bo, const int64_t *bs, void *dst)
{
    int nd = e->pub.ndim;
    size_t es = ckpt_dtype_size(e->pub.dtype);
    if (nd == 0) {
        memcpy(dst, src, es);
        return 1;
    }
    int64_t lo[64], hi[64], idx[64];
    for (int i = 0; i < nd; i++) {
        lo[i] = bo[i] > k->offsets[i] ? bo[i] : k->offsets[i];
        int64_t a = bo[i] + bs[i], b = k->offsets[i] + k->sizes[i];
        hi[i] = a < b ? a : b;
        if (lo[i] >= hi[i])
            return 0;
        idx[i] = lo[i];
    }
    uint64_t vol = 1;
    for (int i = 0; i < nd; i++)
        vol *= (uint64_t)(hi[i] - lo[i]);
    size_t row = (size_t)(hi[nd - 1] - lo[nd - 1]) * es;
    for (;;) {
        int64_t so = 0, dof = 0;
        for (int i = 0; i < nd; i++) {
            so = so * k->sizes[i] + (idx[i] - k->offsets[i]);
            dof = dof * bs[i] + (idx[i] - bo[i]);
        }
        memcpy((uint8_t *)dst + (size_t)dof * es, (const uint8_t *)src + (size_t)so * es, row);
        int i = nd - 2;
        while (i >= 0 && ++idx[i] == hi[i]) {
            idx[i] = lo[i];
            i--;
        }
        if (i < 0)
            break;
    }
    return vol;
}

/* ------------------------------------------------ direct reads of a chunk
 *
 * A chunk stored as a contiguous tensor in an uncompressed record (what
 * torch.save writes) is read straight from the file into the caller's box:
 * the item's archive is opened lazily over its byte range (its directory and
 * data.pkl only), then each contiguous run of the overlap is one pread into
 * `dst`.  No copy of the item is held: a rank's memory is its box. */

typedef struct item_src {
    int fd;
    uint64_t base;
} item_src;

static int item_read_at(void *ctx, uint64_t off, void *buf, size_t n, ckpt_error *err)
{
    const item_src *is = ctx;
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(is->fd, (uint8_t *)buf + got, n - got, (off_t)(is->base + off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return CKPT_FAIL(err, r < 0 ? CKPT_E_IO : CKPT_E_FORMAT,
                             "reading %zu bytes at %llu: %s", n,
                             (unsigned long long)(is->base + off),
                             r < 0 ? strerror(errno) : "the file ends");
        got += (size_t)r;
    }
    return 0;
}

/* pending run of bytes to read: [src, src + len) of the file -> dst + doff */
typedef struct run {
    uint64_t src, doff, len;
} run;

static int flush_run(int fd, run *r, void *dst, ckpt_error *err)
{
    if (!r->len)
        return 0;
    item_src is = {fd, 0};
    int rc = item_read_at(&is, r->src, (uint8_t *)dst + r->doff, (size_t)r->len, err);
    r->len = 0;
    return rc;
}

/* 1: the overlap of chunk k with the box was read into dst (*got elements);
 * 0: the chunk is not a contiguous stored tensor (the caller reads it whole);
 * < 0: an error. */
static int read_direct(ckpt_dcp *d, const ckpt__dcp_ent *e, const ckpt__dcp_chunk *k,
                       const int64_t *bo, const int64_t *bs, void *dst, uint64_t *got,
                       ckpt_error *err)
{
    char *p = ckpt__dcp_join(d->dir, k->loc.file);
    if (!p)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int rc = io_fail(err, "cannot open", p);
        free(p);
        return rc;
    }
    char label[512];
    snprintf(label, sizeof(label), "%s@%llu", p, (unsigned long long)k->loc.offset);
    item_src is = {fd, k->loc.offset};
    ckpt_source src;
    ckpt_source_init_callback(&src, item_read_at, &is, k->loc.length, label);
    ckpt_load_opts o = {.mode = CKPT_LOAD_LAZY, .map_location = "cpu"};
    ckpt_doc *doc = ckpt_load_source(&src, &o, err);
    int rc = 0;
    if (!doc) {
        rc = err->code ? err->code : CKPT_E_FORMAT;
        ckpt__error_prefix_key(err, e->pub.fqn);
        goto out;
    }
    const ckpt_obj *t = ckpt_doc_root(doc);
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) < 0 || ti.dtype != e->pub.dtype || ti.ndim != e->pub.ndim ||
        (ti.ndim > 0 && memcmp(ti.shape, k->sizes, (size_t)ti.ndim * sizeof(int64_t)) != 0)) {
        rc = CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, k->loc.offset,
                          "the item is not a %s tensor of the chunk's sizes",
                          ckpt_dtype_name(e->pub.dtype));
        ckpt__error_set_file(err, p);
        ckpt__error_prefix_key(err, e->pub.fqn);
        goto out;
    }
    const ckpt_storage *st = t->u.t->storage;
    const ckpt_zip_entry *ze = st ? st->entry : NULL;
    size_t es = ckpt_dtype_size(e->pub.dtype);
    if (!ti.contiguous || !ze || ze->method != 0 || st->hold != CKPT_HOLD_LAZY ||
        st->file_offset > k->loc.length || (uint64_t)ti.storage_offset > st->nbytes / es ||
        ti.nbytes > st->nbytes - (uint64_t)ti.storage_offset * es ||
        st->nbytes > k->loc.length - st->file_offset)
        goto out; /* rc 0: not for the direct path */
    uint64_t base = k->loc.offset + st->file_offset + (uint64_t)ti.storage_offset * es;
    int nd = e->pub.ndim;
    if (nd == 0) {
        run r = {base, 0, es};
        rc = flush_run(fd, &r, dst, err);
        *got = rc == 0;
        rc = rc < 0 ? rc : 1;
        goto out;
    }
    int64_t lo[64], hi[64], idx[64];
    for (int i = 0; i < nd; i++) {
        lo[i] = bo[i] > k->offsets[i] ? bo[i] : k->offsets[i];
        int64_t a = bo[i] + bs[i], b = k->offsets[i] + k->sizes[i];
        hi[i] = a < b ? a : b;
        if (lo[i] >= hi[i]) {
            rc = 1; /* no overlap */
            goto out;
        }
        idx[i] = lo[i];
    }
    uint64_t vol = 1;
    for (int i = 0; i < nd; i++)
        vol *= (uint64_t)(hi[i] - lo[i]);
    uint64_t row = (uint64_t)(hi[nd - 1] - lo[nd - 1]) * es;
    run r = {0, 0, 0};
    for (;;) {
        int64_t so = 0, dof = 0;
        for (int i = 0; i < nd; i++) {
            so = so * k->sizes[i] + (idx[i] - k->offsets[i]);
            dof = dof * bs[i] + (idx[i] - bo[i]);
        }
        uint64_t s0 = base + (uint64_t)so * es, d0 = (uint64_t)dof * es;
        if (r.len && r.src + r.len == s0 && r.doff + r.len == d0 && r.len < ((uint64_t)1 << 30)) {
            r.len += row; /* the rows follow each other in the file and in the box */
        } else {
            if ((rc = flush_run(fd, &r, dst, err)) < 0)
                goto out;
            r = (run){s0, d0, row};
        }
        int i = nd - 2;
        while (i >= 0 && ++idx[i] == hi[i]) {
            idx[i] = lo[i];
            i--;
        }
        if (i < 0)
            break;
    }
    if ((rc = flush_run(fd, &r, dst, err)) < 0) {
        ckpt__error_set_file(err, p);
        goto out;
    }
    *got = vol;
    rc = 1;
out:
    ckpt_doc_free(doc);
    close(fd);
    free(p);
    return rc;
}

int ckpt_dcp_read_box(ckpt_dcp *d, const char *fqn, const int64_t *offsets, const int64_t *sizes,
                      void *dst, size_t dst_size, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    ckpt__dcp_ent *e = find(d, fqn);
    if (!e) {
        int rc = CKPT_FAIL(err, CKPT_E_NOT_FOUND, "no such entry in the checkpoint");
        if (fqn)
            ckpt__error_prefix_key(err, fqn);
        return rc;
    }
    if (e->pub.is_bytes) {
        int rc = CKPT_FAIL(err, CKPT_E_ARG, "a bytes entry has no box");
        ckpt__error_prefix_key(err, fqn);
        return rc;
    }
    int nd = e->pub.ndim;
    if (nd > 0 && (!offsets || !sizes))
        return CKPT_FAIL(err, CKPT_E_ARG, "missing offsets or sizes");
    uint64_t vol = 1;
    for (int i = 0; i < nd; i++) {
        if (offsets[i] < 0 || sizes[i] < 0 || offsets[i] > e->shape[i] ||
            sizes[i] > e->shape[i] - offsets[i]) {
            int rc = CKPT_FAIL(err, CKPT_E_SHAPE, "dim %d: box [%lld, +%lld) outside size %lld",
                               i, (long long)offsets[i], (long long)sizes[i],
                               (long long)e->shape[i]);
            ckpt__error_prefix_key(err, fqn);
            return rc;
        }
        vol *= (uint64_t)sizes[i]; /* bounded by the checked global numel */
    }
    size_t es = ckpt_dtype_size(e->pub.dtype);
    if (vol == 0)
        return 0;
    if (!dst || dst_size / es < vol) {
        int rc = CKPT_FAIL(err, CKPT_E_ARG, "destination of %zu bytes for %llu elements",
                           dst_size, (unsigned long long)vol);
        ckpt__error_prefix_key(err, fqn);
        return rc;
    }
    uint64_t got = 0;
    for (size_t c = 0; c < e->pub.nchunks; c++) {
        const ckpt__dcp_chunk *k = &e->chunks[c];
        bool hit = true;
        for (int i = 0; i < nd && hit; i++)
            if (k->offsets[i] >= offsets[i] + sizes[i] ||
                offsets[i] >= k->offsets[i] + k->sizes[i])
                hit = false;
        if (!hit)
            continue;
        uint64_t n = 0;
        int direct = read_direct(d, e, k, offsets, sizes, dst, &n, err);
        if (direct < 0)
            return direct;
        if (direct > 0) {
            got += n;
            continue;
        }
        void *raw = NULL;
        ckpt_doc *kd = NULL;
        const void *src = NULL;
        CKPT_TRY(load_chunk(d, e, k, &raw, &kd, &src, err));
        got += copy_overlap(e, k, src, offsets, sizes, dst);
        ckpt_doc_free(kd);
        free(raw);
    }
    if (got != vol) {
        int rc = CKPT_FAIL(err, CKPT_E_FORMAT,
                           "the checkpoint's chunks cover %llu of the box's %llu elements",
                           (unsigned long long)got, (unsigned long long)vol);
        ckpt__error_prefix_key(err, fqn);
        return rc;
    }
    return 0;
}

ckpt_doc *ckpt_dcp_load(const char *dir, const ckpt_alloc *alloc, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_dcp *d = ckpt_dcp_open(dir, err);
    if (!d)
        return NULL;
    ckpt_doc *doc = ckpt_doc_new(alloc, err);
    ckpt_obj *root = doc ? ckpt_dict_new(doc, CKPT_DICT_ORDERED) : NULL;
    int rc = root ? 0 : CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < d->m.n; i++) {
        ckpt__dcp_ent *e = &d->m.ents[i];
        ckpt_obj *v = NULL;
        if (e->pub.is_bytes) {
            ckpt_doc *vd = load_item(d, &e->bytes_loc, e->pub.fqn, NULL, NULL, err);
            if (vd) {
                v = ckpt_obj_copy(doc, ckpt_doc_root(vd), err);
                if (!v)
                    ckpt__error_prefix_key(err, e->pub.fqn);
            }
            ckpt_doc_free(vd);
        } else {
            v = ckpt_tensor_new_copy(doc, e->pub.dtype, e->pub.ndim, e->shape, NULL, err);
            if (v) {
                ckpt_tensor_info ti;
                ckpt_tensor_get_info(v, &ti);
                int64_t zero[64] = {0};
                if (ckpt_dcp_read_box(d, e->pub.fqn, zero, e->shape,
                                      ckpt_storage_data_mut(v->u.t->storage), (size_t)ti.nbytes,
                                      err) < 0 ||
                    (e->pub.requires_grad && ckpt_tensor_set_requires_grad(v, true, err) < 0))
                    v = NULL;
            }
        }
        if (!v)
            rc = err->code ? err->code : CKPT_E_NOMEM;
        else
            rc = ckpt_dict_set_str(doc, root, e->pub.fqn, v, err);
    }
    ckpt_dcp_close(d);
    if (rc < 0) {
        ckpt_doc_free(doc);
        return NULL;
    }
    ckpt_doc_set_root(doc, root);
    return doc;
}
