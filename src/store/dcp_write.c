/* src/store/dcp_write.c - writing DCP folders as torch 2.5's
 * FileSystemWriter does (torch/distributed/checkpoint/filesystem.py):
 * "__<rank>_0.distcp" holds each item as one torch.save archive
 * (_write_item), bytes items first then tensors (_write_files_from_queue),
 * fsynced; ".metadata" is the pickled Metadata (finish); a folder is
 * committed by one atomic rename. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ckpt/source.h"
#include "core/atomic.h"
#include "core/err.h"
#include "core/obj.h"
#include "core/utf8.h"
#include "dcp_internal.h"
#include "torch/torch_internal.h"

#ifndef RENAME_EXCHANGE
#define RENAME_EXCHANGE (1 << 1)
#endif

static int io_fail(ckpt_error *err, const char *what, const char *path)
{
    int rc = CKPT_FAIL(err, CKPT_E_IO, "%s: %s", what, strerror(errno));
    ckpt__error_set_file(err, path);
    return rc;
}

static void fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
}

/* the folder holding `path` */
static void parent_of(const char *path, char *out, size_t n)
{
    size_t len = strlen(path);
    while (len > 1 && path[len - 1] == '/')
        len--;
    const char *slash = NULL;
    for (size_t i = 0; i < len; i++)
        if (path[i] == '/')
            slash = path + i;
    if (!slash)
        snprintf(out, n, ".");
    else if (slash == path)
        snprintf(out, n, "/");
    else
        snprintf(out, n, "%.*s", (int)(slash - path), path);
}

/* A plain detached tensor over exactly the chunk's bytes (what _write_item
 * saves: the loaders clone a view whose storage is larger than it). */
static ckpt_obj *plain_chunk(ckpt_doc *doc, const ckpt_obj *t, void **owned, ckpt_error *err)
{
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) < 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "not a tensor");
        return NULL;
    }
    const void *data = ckpt_tensor_data(t);
    if (!data && ti.numel > 0) {
        CKPT_FAIL(err, CKPT_E_ARG, "the tensor's bytes are not loaded");
        return NULL;
    }
    if (ti.quantized || ckpt_dtype_size(ti.dtype) == 0) {
        CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "dtype %s cannot be a DCP tensor item",
                  ckpt_dtype_name(ti.dtype));
        return NULL;
    }
    void *p = (void *)(uintptr_t)data;
    if (!ti.contiguous && ti.numel > 0) {
        *owned = malloc((size_t)ti.nbytes);
        if (!*owned) {
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            return NULL;
        }
        if (ckpt_tensor_copy_into(t, *owned, (size_t)ti.nbytes, err) < 0)
            return NULL;
        p = *owned;
    }
    static uint8_t empty[1];
    ckpt_storage *s = ckpt_storage_new_borrow(doc, ti.dtype, ti.numel ? p : empty, ti.nbytes,
                                              err);
    return s ? ckpt_tensor_new(doc, s, ti.dtype, ti.ndim, ti.shape, NULL, 0, err) : NULL;
}

static int dup_path(ckpt__dcp_pitem *it, const ckpt__dcp_path *path)
{
    size_t np = path ? path->n : 1;
    it->path = calloc(np, sizeof(char *));
    it->path_int = calloc(np, sizeof(bool));
    if (!it->path || !it->path_int)
        return -1;
    for (size_t k = 0; k < np; k++) {
        it->path[k] = strdup(path ? path->parts[k] : it->fqn);
        it->path_int[k] = path && path->is_int && path->is_int[k];
        if (!it->path[k])
            return -1;
        it->npath = k + 1;
    }
    return 0;
}

/* Fill the plan item of `in` (shapes checked); the file offset comes later. */
static int plan_item(const ckpt_dcp_item *in, const ckpt__dcp_path *path, ckpt__dcp_pitem *it,
                     ckpt_error *err)
{
    if (!in->fqn || !!in->tensor == !!in->value)
        return CKPT_FAIL(err, CKPT_E_ARG, "an item needs a fqn and one of tensor or value");
    if (!ckpt_utf8_valid((const uint8_t *)in->fqn, strlen(in->fqn)))
        return CKPT_FAIL(err, CKPT_E_ARG, "the fqn is not valid UTF-8");
    it->fqn = strdup(in->fqn);
    if (!it->fqn || dup_path(it, path) < 0)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    if (in->value) {
        it->is_bytes = true;
        it->dtype = CKPT_DTYPE_UNKNOWN;
        it->shape = calloc(1, sizeof(int64_t));
        it->offsets = it->sizes = it->shape;
        return it->shape ? 0 : CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(in->tensor, &ti) < 0)
        return CKPT_FAIL(err, CKPT_E_ARG, "`tensor` is not a tensor");
    int nd = in->global_shape ? in->ndim : ti.ndim;
    if (nd != ti.ndim || nd < 0 || nd > 64)
        return CKPT_FAIL(err, CKPT_E_SHAPE, "the chunk has %d dims, the global tensor %d",
                         ti.ndim, nd);
    it->dtype = ti.dtype;
    it->ndim = nd;
    it->requires_grad = ti.requires_grad;
    it->shape = calloc(3 * (size_t)nd + 1, sizeof(int64_t));
    if (!it->shape)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    it->offsets = it->shape + nd;
    it->sizes = it->offsets + nd;
    for (int d = 0; d < nd; d++) {
        it->sizes[d] = ti.shape[d];
        it->shape[d] = in->global_shape ? in->global_shape[d] : ti.shape[d];
        it->offsets[d] = in->offsets ? in->offsets[d] : 0;
        if (it->offsets[d] < 0 || it->shape[d] < 0 || it->offsets[d] > it->shape[d] ||
            it->sizes[d] > it->shape[d] - it->offsets[d])
            return CKPT_FAIL(err, CKPT_E_SHAPE,
                             "dim %d: chunk [%lld, +%lld) outside the global size %lld", d,
                             (long long)it->offsets[d], (long long)it->sizes[d],
                             (long long)it->shape[d]);
    }
    return 0;
}

static int write_one(int fd, const char *path, const ckpt_obj *root, uint64_t *pos,
                     ckpt__dcp_pitem *it, ckpt_error *err)
{
    ckpt_sink *sink = ckpt_sink_new_fd(fd, path, NULL, err);
    if (!sink)
        return err->code ? err->code : CKPT_E_NOMEM;
    /* torch 2.5's torch.save: the 2.1-2.6 record set, archive "archive" (a stream) */
    ckpt_save_opts so = {.layout = CKPT_LAYOUT_TORCH21, .archive = "archive"};
    int rc = ckpt__save_sink(sink, root, &so, err);
    if (rc == 0)
        rc = ckpt_sink_flush(sink, err);
    if (rc == 0) {
        it->offset = *pos;
        it->length = ckpt_sink_offset(sink);
        *pos += it->length;
    }
    ckpt_sink_free(sink);
    return rc;
}

int ckpt__dcp_write_rank_paths(const char *dir, int rank, const ckpt_dcp_item *items,
                               const ckpt__dcp_path *paths, size_t n, void **plan,
                               size_t *plan_len, ckpt_error *err)
{
    if (!dir || rank < 0 || (!items && n) || !plan || !plan_len)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing argument");
    *plan = NULL;
    *plan_len = 0;
    ckpt__dcp_plan P = {rank, 0, calloc(n ? n : 1, sizeof(ckpt__dcp_pitem))};
    if (!P.items)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    int rc = 0;
    /* bytes items first, then tensors (_write_files_from_queue) */
    size_t *order = calloc(n ? n : 1, sizeof(size_t));
    if (!order)
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    size_t k = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (items[i].value)
            order[k++] = i;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (!items[i].value)
            order[k++] = i;
    /* plan items in the caller's order (the state dict's: create_default_local_save_plan) */
    for (size_t i = 0; rc == 0 && i < n; i++) {
        P.n++;
        rc = plan_item(&items[i], paths ? &paths[i] : NULL, &P.items[i], err);
        if (rc < 0 && items[i].fqn)
            ckpt__error_prefix_key(err, items[i].fqn);
    }
    char name[64];
    snprintf(name, sizeof(name), "__%d_0.distcp", rank);
    char *path = rc == 0 ? ckpt__dcp_join(dir, name) : NULL;
    if (rc == 0 && !path)
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    int fd = -1;
    if (rc == 0) {
        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0)
            rc = io_fail(err, "cannot create the rank file", path);
    }
    uint64_t pos = 0;
    for (size_t j = 0; rc == 0 && j < n; j++) {
        const ckpt_dcp_item *in = &items[order[j]];
        ckpt_doc *tmp = NULL;
        void *owned = NULL;
        const ckpt_obj *root = in->value;
        if (!root) {
            tmp = ckpt_doc_new(NULL, err);
            root = tmp ? plain_chunk(tmp, in->tensor, &owned, err) : NULL;
            if (!root)
                rc = err->code ? err->code : CKPT_E_NOMEM;
        }
        if (rc == 0)
            rc = write_one(fd, path, root, &pos, &P.items[order[j]], err);
        if (rc < 0)
            ckpt__error_prefix_key(err, in->fqn);
        ckpt_doc_free(tmp);
        free(owned);
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = io_fail(err, "fsync", path);
    if (fd >= 0 && close(fd) < 0 && rc == 0)
        rc = io_fail(err, "close", path);
    if (rc < 0 && fd >= 0)
        (void)unlink(path);
    if (rc == 0)
        rc = ckpt__dcp_plan_encode(&P, plan, plan_len, err);
    if (rc < 0 && err && !err->file[0] && path)
        ckpt__error_set_file(err, path);
    free(path);
    free(order);
    ckpt__dcp_plan_free(&P);
    return rc;
}

int ckpt_dcp_write_rank(const char *dir, int rank, const ckpt_dcp_item *items, size_t n,
                        void **plan, size_t *plan_len, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    return ckpt__dcp_write_rank_paths(dir, rank, items, NULL, n, plan, plan_len, err);
}

typedef struct blob {
    const void *p;
    size_t n;
} blob;

static int write_blob(ckpt_sink *sink, const void *ctx, ckpt_error *err)
{
    const blob *b = ctx;
    return ckpt_sink_write(sink, b->p, b->n, err);
}

int ckpt_dcp_write_metadata(const char *dir, const void *const *plans, const size_t *plan_lens,
                            int nranks, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!dir || nranks <= 0 || !plans || !plan_lens)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing argument");
    ckpt__dcp_plan *P = calloc((size_t)nranks, sizeof(*P));
    if (!P)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    int rc = 0;
    for (int r = 0; rc == 0 && r < nranks; r++) {
        rc = ckpt__dcp_plan_decode(plans[r], plan_lens[r], &P[r], err);
        for (int q = 0; rc == 0 && q < r; q++)
            if (P[q].rank == P[r].rank)
                rc = CKPT_FAIL(err, CKPT_E_ARG, "two plans of rank %d", P[r].rank);
        /* the rank's file holds what its plan says */
        char name[64];
        snprintf(name, sizeof(name), "__%d_0.distcp", P[r].rank);
        char *fp = rc == 0 ? ckpt__dcp_join(dir, name) : NULL;
        struct stat st;
        if (rc == 0 && !fp)
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        else if (rc == 0 && stat(fp, &st) < 0)
            rc = io_fail(err, "rank file missing", fp);
        for (size_t i = 0; rc == 0 && i < P[r].n; i++)
            if (P[r].items[i].offset + P[r].items[i].length > (uint64_t)st.st_size) {
                rc = CKPT_FAIL(err, CKPT_E_FORMAT, "the plan's item ends beyond the file");
                ckpt__error_set_file(err, fp);
                ckpt__error_prefix_key(err, P[r].items[i].fqn);
            }
        free(fp);
    }
    void *md = NULL;
    size_t mdn = 0;
    if (rc == 0)
        rc = ckpt__dcp_meta_emit(P, nranks, &md, &mdn, err);
    char *path = rc == 0 ? ckpt__dcp_join(dir, ".metadata") : NULL;
    if (rc == 0 && !path)
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    if (rc == 0) {
        blob b = {md, mdn};
        rc = ckpt__atomic_write(path, write_blob, &b, NULL, false, err);
        if (rc < 0)
            ckpt__error_set_file(err, path);
    }
    free(path);
    free(md);
    for (int r = 0; r < nranks; r++)
        ckpt__dcp_plan_free(&P[r]);
    free(P);
    return rc;
}

/* Remove a folder DCP wrote: its files, then itself (nested folders are left). */
static void remove_folder(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        int dfd = dirfd(d);
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            (void)unlinkat(dfd, de->d_name, 0);
        }
        closedir(d);
    }
    (void)rmdir(dir);
}

int ckpt_dcp_commit(const char *tmpdir, const char *dir, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!tmpdir || !dir)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing argument");
    struct stat st;
    if (stat(tmpdir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        int rc = CKPT_FAIL(err, CKPT_E_NOT_FOUND, "the new checkpoint folder is absent");
        ckpt__error_set_file(err, tmpdir);
        return rc;
    }
    char parent[4096];
    parent_of(dir, parent, sizeof(parent));
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            int rc = CKPT_FAIL(err, CKPT_E_ARG, "exists and is not a folder");
            ckpt__error_set_file(err, dir);
            return rc;
        }
        long r = syscall(SYS_renameat2, AT_FDCWD, tmpdir, AT_FDCWD, dir, RENAME_EXCHANGE);
        if (r < 0 && (errno == ENOSYS || errno == EINVAL)) {
            /* no exchange (old kernel or file system): move the old one aside first */
            size_t n = strlen(dir) + 32;
            char *aside = malloc(n);
            if (!aside)
                return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            snprintf(aside, n, "%s.old-%ld", dir, (long)getpid());
            if (rename(dir, aside) < 0) {
                free(aside);
                return io_fail(err, "cannot move the old checkpoint aside", dir);
            }
            if (rename(tmpdir, dir) < 0) {
                int rc = io_fail(err, "cannot rename the new checkpoint", tmpdir);
                (void)rename(aside, dir);
                free(aside);
                return rc;
            }
            fsync_path(parent);
            remove_folder(aside);
            free(aside);
            return 0;
        }
        if (r < 0)
            return io_fail(err, "cannot exchange the checkpoint folders", dir);
        fsync_path(parent);
        remove_folder(tmpdir); /* now the old checkpoint */
        fsync_path(parent);
        return 0;
    }
    if (rename(tmpdir, dir) < 0)
        return io_fail(err, "cannot rename the new checkpoint", tmpdir);
    fsync_path(parent);
    return 0;
}

/* ------------------------------------------------------------ one process */

typedef struct flat {
    ckpt_dcp_item *items;
    ckpt__dcp_path *paths;
    char ***pparts; /* owned copies behind paths[i].parts */
    bool **pint;
    char **fqns;
    size_t n, cap;
    /* the current path */
    const char *parts[256];
    bool is_int[256];
    char ibuf[256][24];
    size_t depth;
} flat;

static void flat_free(flat *F)
{
    for (size_t i = 0; i < F->n; i++) {
        free(F->fqns[i]);
        for (size_t k = 0; k < F->paths[i].n; k++)
            free(F->pparts[i][k]);
        free(F->pparts[i]);
        free(F->pint[i]);
    }
    free(F->pparts);
    free(F->pint);
    free(F->items);
    free(F->paths);
    free(F->fqns);
}

static int flat_leaf(flat *F, const ckpt_obj *v, ckpt_error *err)
{
    if (F->n == F->cap) {
        size_t c = F->cap ? F->cap * 2 : 16;
        ckpt_dcp_item *a = realloc(F->items, c * sizeof(*a));
        if (a)
            F->items = a;
        ckpt__dcp_path *b = realloc(F->paths, c * sizeof(*b));
        if (b)
            F->paths = b;
        char **f = realloc(F->fqns, c * sizeof(*f));
        if (f)
            F->fqns = f;
        char ***pp = realloc(F->pparts, c * sizeof(*pp));
        if (pp)
            F->pparts = pp;
        bool **pi = realloc(F->pint, c * sizeof(*pi));
        if (pi)
            F->pint = pi;
        if (!a || !b || !f || !pp || !pi)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        F->cap = c;
    }
    size_t len = 0;
    for (size_t k = 0; k < F->depth; k++)
        len += strlen(F->parts[k]) + 1;
    char *fqn = malloc(len + 1);
    char **parts = calloc(F->depth ? F->depth : 1, sizeof(char *));
    bool *isint = calloc(F->depth ? F->depth : 1, sizeof(bool));
    if (!fqn || !parts || !isint) {
        free(fqn);
        free(parts);
        free(isint);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    /* _nested_dict.flatten_state_dict: ".".ckpt__dcp_join(map(str, path)) */
    fqn[0] = '\0';
    size_t o = 0;
    for (size_t k = 0; k < F->depth; k++) {
        size_t l = strlen(F->parts[k]);
        if (k)
            fqn[o++] = '.';
        memcpy(fqn + o, F->parts[k], l);
        o += l;
        parts[k] = strdup(F->parts[k]);
        isint[k] = F->is_int[k];
    }
    fqn[o] = '\0';
    size_t i = F->n++;
    F->fqns[i] = fqn;
    F->pparts[i] = parts;
    F->pint[i] = isint;
    F->paths[i] = (ckpt__dcp_path){F->depth, (const char *const *)parts, isint};
    for (size_t k = 0; k < F->depth; k++)
        if (!parts[k])
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (size_t j = 0; j < i; j++)
        if (!strcmp(F->fqns[j], fqn)) {
            CKPT_FAIL(err, CKPT_E_ARG, "duplicated flatten key");
            ckpt__error_prefix_key(err, fqn);
            return CKPT_E_ARG;
        }
    bool t = ckpt_obj_type(v) == CKPT_T_TENSOR;
    F->items[i] = (ckpt_dcp_item){.fqn = fqn, .tensor = t ? v : NULL, .value = t ? NULL : v};
    return 0;
}

/* _traverse.traverse_state_dict's _is_terminal: a list is terminal unless it
 * holds a tensor, a mapping or a non-terminal list */
static bool is_terminal(const ckpt_obj *v, int depth)
{
    int t = ckpt_obj_type(v);
    if (t == CKPT_T_DICT)
        return false;
    if (t != CKPT_T_LIST)
        return true;
    if (depth > 200)
        return true;
    for (size_t i = 0; i < ckpt_obj_len(v); i++) {
        const ckpt_obj *e = ckpt_obj_item(v, i);
        int et = ckpt_obj_type(e);
        if ((et == CKPT_T_DICT || et == CKPT_T_LIST) && !is_terminal(e, depth + 1))
            return false;
        if (et == CKPT_T_TENSOR)
            return false;
    }
    return true;
}

static int flat_walk(flat *F, const ckpt_obj *v, ckpt_error *err)
{
    if (F->depth >= 256)
        return CKPT_FAIL(err, CKPT_E_LIMIT, "state dict nests deeper than 256");
    int t = ckpt_obj_type(v);
    if (t == CKPT_T_DICT) {
        for (size_t i = 0; i < ckpt_obj_len(v); i++) {
            const ckpt_obj *k = ckpt_dict_key(v, i);
            int kt = ckpt_obj_type(k);
            if (kt == CKPT_T_STR) {
                F->parts[F->depth] = ckpt_obj_str(k, NULL);
            } else if (kt == CKPT_T_INT) {
                snprintf(F->ibuf[F->depth], sizeof(F->ibuf[0]), "%lld",
                         (long long)ckpt_obj_int(k));
                F->parts[F->depth] = F->ibuf[F->depth];
            } else {
                return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "a state dict key of type %s",
                                 ckpt_type_name(kt));
            }
            F->is_int[F->depth] = false; /* mapping keys become str(k) */
            F->depth++;
            int rc = flat_walk(F, ckpt_dict_value(v, i), err);
            F->depth--;
            CKPT_TRY(rc);
        }
        return 0;
    }
    if (is_terminal(v, 0))
        return flat_leaf(F, v, err);
    for (size_t i = 0; i < ckpt_obj_len(v); i++) {
        snprintf(F->ibuf[F->depth], sizeof(F->ibuf[0]), "%zu", i);
        F->parts[F->depth] = F->ibuf[F->depth];
        F->is_int[F->depth] = true;
        F->depth++;
        int rc = flat_walk(F, ckpt_obj_item(v, i), err);
        F->depth--;
        CKPT_TRY(rc);
    }
    return 0;
}

int ckpt_dcp_save(const char *dir, const ckpt_obj *state_dict, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!dir || !state_dict || ckpt_obj_type(state_dict) != CKPT_T_DICT)
        return CKPT_FAIL(err, CKPT_E_ARG, "need a folder and a dict");
    flat F;
    memset(&F, 0, sizeof(F));
    int rc = flat_walk(&F, state_dict, err);
    size_t n = strlen(dir);
    char *tmp = malloc(n + 16);
    if (rc == 0 && !tmp)
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    while (tmp && n > 1 && dir[n - 1] == '/')
        n--;
    bool made = false;
    if (rc == 0) {
        snprintf(tmp, n + 16, "%.*s.tmp-XXXXXX", (int)n, dir);
        rc = ckpt__mkdir_parents(dir, err);
        if (rc == 0 && !mkdtemp(tmp))
            rc = io_fail(err, "cannot create the temporary folder", tmp);
        else if (rc == 0)
            made = true;
    }
    void *plan = NULL;
    size_t plen = 0;
    if (rc == 0)
        rc = ckpt__dcp_write_rank_paths(tmp, 0, F.items, F.paths, F.n, &plan, &plen, err);
    if (rc == 0) {
        const void *plans[1] = {plan};
        rc = ckpt_dcp_write_metadata(tmp, plans, &plen, 1, err);
    }
    if (rc == 0) {
        fsync_path(tmp);
        rc = ckpt_dcp_commit(tmp, dir, err);
    }
    if (rc < 0 && made)
        remove_folder(tmp);
    free(plan);
    free(tmp);
    flat_free(&F);
    return rc;
}
