/* src/mpi/dcp_mpi.c - collective DCP save and resharding load over MPI
 * (ckpt/mpi.h).  Built on the public DCP calls only: ckpt_dcp_write_rank,
 * ckpt_dcp_write_metadata, ckpt_dcp_commit, ckpt_dcp_open/read_box. */
#define _XOPEN_SOURCE 700

#include "ckpt/mpi.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckpt/torch.h"

/* ------------------------------------------------------------------ errors */

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static int
fail(ckpt_error *err, int code, const char *fmt, ...)
{
    if (err && err->code == 0) {
        err->code = code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* dst = a + b (+ c), or -1 when it does not fit in n bytes. */
static int join3(char *dst, size_t n, const char *a, const char *b, const char *c)
{
    size_t la = strlen(a), lb = strlen(b), lc = c ? strlen(c) : 0;
    if (la + lb + lc + 1 > n)
        return -1;
    memcpy(dst, a, la);
    memcpy(dst + la, b, lb);
    if (lc)
        memcpy(dst + la + lb, c, lc);
    dst[la + lb + lc] = '\0';
    return 0;
}

static void set_file(ckpt_error *err, const char *path)
{
    if (err && err->code != 0 && err->file[0] == '\0' && path) {
        size_t l = strlen(path);
        if (l >= sizeof err->file)
            l = sizeof err->file - 1;
        memcpy(err->file, path, l);
        err->file[l] = '\0';
    }
}

/* Every rank learns whether any rank failed; if one did, every rank returns
 * the error of the lowest failing rank, its message prefixed "rank R: ". */
static int agree(MPI_Comm comm, int rc, ckpt_error *err)
{
    int rank = 0;
    MPI_Comm_rank(comm, &rank);
    int mine = rc < 0 ? rank : INT_MAX, first = INT_MAX;
    if (MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm) != MPI_SUCCESS)
        return fail(err, CKPT_E_IO, "MPI_Allreduce failed");
    if (first == INT_MAX)
        return 0;
    ckpt_error e;
    memset(&e, 0, sizeof e);
    if (rank == first) {
        e = *err;
        if (e.code == 0)
            e.code = rc;
        e.src_file = NULL; /* a pointer means nothing in another process */
    }
    if (MPI_Bcast(&e, (int)sizeof e, MPI_BYTE, first, comm) != MPI_SUCCESS)
        return fail(err, CKPT_E_IO, "MPI_Bcast failed");
    char msg[sizeof e.msg + 32];
    int pl = snprintf(msg, 32, "rank %d: ", first);
    memcpy(msg + pl, e.msg, sizeof e.msg);
    memcpy(e.msg, msg, sizeof e.msg);
    e.msg[sizeof e.msg - 1] = '\0';
    *err = e;
    return e.code;
}

/* --------------------------------------------------------------- folders */

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return (flag == FTW_DP ? rmdir(path) : unlink(path)) == 0 || errno == ENOENT ? 0 : -1;
}

static int rm_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : -1;
    return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static int fsync_dir(const char *path, ckpt_error *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return fail(err, CKPT_E_IO, "cannot open folder: %s", strerror(errno));
    int rc = fsync(fd) == 0 ? 0 : fail(err, CKPT_E_IO, "fsync of folder: %s", strerror(errno));
    close(fd);
    return rc;
}

/* `dir` without trailing slashes, split into its parent folder and name. */
static int split_dir(const char *dir, char *clean, char *parent, char *base, ckpt_error *err)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 0 || n >= PATH_MAX - 32)
        return fail(err, CKPT_E_ARG, "folder name empty or too long");
    memcpy(clean, dir, n);
    clean[n] = '\0';
    const char *slash = strrchr(clean, '/');
    if (!slash) {
        strcpy(parent, ".");
        strcpy(base, clean);
    } else {
        size_t pl = (size_t)(slash - clean);
        if (pl == 0)
            pl = 1; /* "/x" */
        memcpy(parent, clean, pl);
        parent[pl] = '\0';
        strcpy(base, slash + 1);
    }
    if (base[0] == '\0' || strcmp(base, ".") == 0 || strcmp(base, "..") == 0)
        return fail(err, CKPT_E_ARG, "'%s' does not name a folder to create", dir);
    return 0;
}

/* Remove "<base>.tmp-*" folders in `parent`: temporaries of saves that died. */
static void remove_stale(const char *parent, const char *base)
{
    DIR *d = opendir(parent);
    if (!d)
        return;
    char prefix[PATH_MAX];
    if (join3(prefix, sizeof prefix, base, ".tmp-", NULL) < 0) {
        closedir(d);
        return;
    }
    size_t pl = strlen(prefix);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, prefix, pl) != 0 || e->d_name[pl] == '\0')
            continue;
        char path[PATH_MAX];
        if (join3(path, sizeof path, parent, "/", e->d_name) == 0)
            rm_tree(path);
    }
    closedir(d);
}

static uint64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* ------------------------------------------------------------------ rows */

int ckpt_mpi_shard_from_name(const char *name)
{
    if (name && strcmp(name, "rows") == 0)
        return CKPT_MPI_SHARD_ROWS;
    if (name && strcmp(name, "whole") == 0)
        return CKPT_MPI_SHARD_WHOLE;
    return -1;
}

void ckpt_mpi_row_range(int64_t rows, int rank, int nranks, int64_t *begin, int64_t *end)
{
    int64_t b = 0, e = 0;
    if (rows > 0 && nranks > 0 && rank >= 0 && rank < nranks) {
        int64_t c = rows / nranks + (rows % nranks != 0); /* ceil, as torch.chunk */
        b = c * rank < rows ? c * rank : rows;
        e = rows - b < c ? rows : b + c;
    }
    if (begin)
        *begin = b;
    if (end)
        *end = e;
}

/* ------------------------------------------------------------------ save */

int ckpt_dcp_save_mpi(MPI_Comm comm, const char *dir, const ckpt_dcp_item *items, size_t n,
                      ckpt_mpi_stats *stats, ckpt_error *err)
{
    ckpt_error local;
    if (!err)
        err = &local;
    ckpt_error_clear(err);
    ckpt_mpi_stats st;
    memset(&st, 0, sizeof st);
    double t0 = MPI_Wtime(), t = t0;
    int rank = 0, nranks = 1;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS || MPI_Comm_size(comm, &nranks) != MPI_SUCCESS)
        return fail(err, CKPT_E_ARG, "not a valid MPI communicator");

    /* 1. rank 0 makes the temporary folder and tells everyone its name */
    char clean[PATH_MAX], parent[PATH_MAX], base[PATH_MAX], tmp[PATH_MAX];
    memset(tmp, 0, sizeof tmp);
    int rc = (!dir || (n > 0 && !items)) ? fail(err, CKPT_E_ARG, "missing folder or items")
                                         : split_dir(dir, clean, parent, base, err);
    if (rc == 0 && rank == 0) {
        remove_stale(parent, base);
        if (join3(tmp, sizeof tmp, clean, ".tmp-XXXXXX", NULL) < 0 || !mkdtemp(tmp)) {
            rc = fail(err, CKPT_E_IO, "cannot create the temporary folder: %s", strerror(errno));
            set_file(err, tmp);
            tmp[0] = '\0';
        }
    }
    rc = agree(comm, rc, err);
    if (rc == 0 && MPI_Bcast(tmp, (int)sizeof tmp, MPI_CHAR, 0, comm) != MPI_SUCCESS)
        rc = fail(err, CKPT_E_IO, "MPI_Bcast failed");
    st.t_prepare = MPI_Wtime() - t;
    t = MPI_Wtime();
    if (rc < 0)
        return rc;

    /* 2. every rank writes and fsyncs its own file */
    void *plan = NULL;
    size_t plan_len = 0;
    rc = ckpt_dcp_write_rank(tmp, rank, items, n, &plan, &plan_len, err);
    if (rc == 0 && plan_len > (size_t)INT_MAX)
        rc = fail(err, CKPT_E_LIMIT, "write plan of %zu bytes is over MPI's 2 GiB count",
                  plan_len);
    if (rc == 0) {
        char path[PATH_MAX + 64];
        snprintf(path, sizeof path, "%s/__%d_0.distcp", tmp, rank);
        st.file_bytes = file_size(path);
    }
    st.t_write = MPI_Wtime() - t;
    t = MPI_Wtime();
    rc = agree(comm, rc, err);
    st.t_agree = MPI_Wtime() - t;
    t = MPI_Wtime();

    /* 3. plans to rank 0, which writes .metadata and commits.  From here on
     * `rc` is the same on every rank until rank 0's own steps. */
    uint64_t mylen = plan_len, *lens = NULL;
    int *counts = NULL, *displs = NULL;
    char *all = NULL;
    if (rc == 0) {
        int lrc = 0;
        if (rank == 0) {
            lens = calloc((size_t)nranks, sizeof *lens);
            counts = calloc((size_t)nranks, sizeof *counts);
            displs = calloc((size_t)nranks, sizeof *displs);
            if (!lens || !counts || !displs)
                lrc = fail(err, CKPT_E_NOMEM, "out of memory");
        }
        rc = agree(comm, lrc, err);
    }
    if (rc == 0) {
        int lrc = 0;
        if (MPI_Gather(&mylen, 1, MPI_UINT64_T, lens, 1, MPI_UINT64_T, 0, comm) != MPI_SUCCESS)
            lrc = fail(err, CKPT_E_IO, "MPI_Gather failed");
        if (lrc == 0 && rank == 0) {
            uint64_t total = 0;
            for (int i = 0; i < nranks; i++) {
                displs[i] = (int)total;
                counts[i] = (int)lens[i];
                total += lens[i];
                if (total > (uint64_t)INT_MAX) {
                    lrc = fail(err, CKPT_E_LIMIT, "write plans of %d ranks are over 2 GiB",
                               nranks);
                    break;
                }
            }
            if (lrc == 0 && !(all = malloc(total ? (size_t)total : 1)))
                lrc = fail(err, CKPT_E_NOMEM, "out of memory");
        }
        rc = agree(comm, lrc, err);
    }
    if (rc == 0 && MPI_Gatherv(plan, (int)plan_len, MPI_BYTE, all, counts, displs, MPI_BYTE, 0,
                               comm) != MPI_SUCCESS)
        rc = fail(err, CKPT_E_IO, "MPI_Gatherv failed");
    st.plan_bytes = plan_len;
    free(plan);
    st.t_gather = MPI_Wtime() - t;
    t = MPI_Wtime();
    bool agreed = rc < 0; /* an error every rank already returns */
    if (rc == 0 && rank == 0) {
        const void **plans = malloc((size_t)nranks * sizeof *plans);
        size_t *plens = malloc((size_t)nranks * sizeof *plens);
        if (!plans || !plens) {
            rc = fail(err, CKPT_E_NOMEM, "out of memory");
        } else {
            for (int i = 0; i < nranks; i++) {
                plans[i] = all + displs[i];
                plens[i] = (size_t)lens[i];
            }
            rc = ckpt_dcp_write_metadata(tmp, (const void *const *)plans, plens, nranks, err);
        }
        free(plans);
        free(plens);
        char mpath[PATH_MAX + 16];
        snprintf(mpath, sizeof mpath, "%s/.metadata", tmp);
        st.metadata_bytes = rc == 0 ? file_size(mpath) : 0;
        st.t_metadata = MPI_Wtime() - t;
        t = MPI_Wtime();
        if (rc == 0)
            rc = fsync_dir(tmp, err);
        if (rc == 0)
            rc = ckpt_dcp_commit(tmp, clean, err);
        set_file(err, clean);
    }
    free(all);
    free(lens);
    free(counts);
    free(displs);
    if (!agreed)
        rc = agree(comm, rc, err);
    st.t_commit = MPI_Wtime() - t;
    if (rc < 0 && rank == 0 && tmp[0])
        rm_tree(tmp); /* a failed save leaves no temporary behind */
    st.t_total = MPI_Wtime() - t0;
    if (stats)
        *stats = st;
    return rc;
}

/* Flattened view of a state dict: fqn -> value, in order. */
typedef struct flat_ent {
    char *fqn;
    const ckpt_obj *obj;
} flat_ent;

typedef struct flat_list {
    flat_ent *v;
    size_t n, cap;
} flat_list;

static int flatten(const ckpt_obj *dict, const char *prefix, flat_list *out, int depth,
                   ckpt_error *err)
{
    if (depth > 100)
        return fail(err, CKPT_E_LIMIT, "state dict nested deeper than 100");
    size_t n = ckpt_obj_len(dict);
    for (size_t i = 0; i < n; i++) {
        const ckpt_obj *k = ckpt_dict_key(dict, i), *v = ckpt_dict_value(dict, i);
        if (ckpt_obj_type(k) != CKPT_T_STR)
            return fail(err, CKPT_E_UNSUPPORTED, "state dict key #%zu is a %s, not a str", i,
                        ckpt_type_name(ckpt_obj_type(k)));
        size_t kl = 0;
        const char *ks = ckpt_obj_str(k, &kl);
        size_t pl = prefix ? strlen(prefix) + 1 : 0;
        char *fqn = malloc(pl + kl + 1);
        if (!fqn)
            return fail(err, CKPT_E_NOMEM, "out of memory");
        if (prefix)
            snprintf(fqn, pl + kl + 1, "%s.%s", prefix, ks);
        else
            memcpy(fqn, ks, kl + 1);
        if (ckpt_obj_type(v) == CKPT_T_DICT) {
            int rc = flatten(v, fqn, out, depth + 1, err);
            free(fqn);
            if (rc < 0)
                return rc;
            continue;
        }
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 64;
            flat_ent *nv = realloc(out->v, cap * sizeof *nv);
            if (!nv) {
                free(fqn);
                return fail(err, CKPT_E_NOMEM, "out of memory");
            }
            out->v = nv;
            out->cap = cap;
        }
        out->v[out->n].fqn = fqn;
        out->v[out->n].obj = v;
        out->n++;
    }
    return 0;
}

/* A view of rows [begin, end) of tensor `t` (its bytes held) in `doc`,
 * borrowing the bytes it spans. */
static ckpt_obj *row_view(ckpt_doc *doc, const ckpt_obj *t, const ckpt_tensor_info *ti,
                          int64_t begin, int64_t end, ckpt_error *err)
{
    int64_t shape[64];
    if (ti->ndim > 64) {
        fail(err, CKPT_E_LIMIT, "tensor of %d dimensions", ti->ndim);
        return NULL;
    }
    memcpy(shape, ti->shape, (size_t)ti->ndim * sizeof *shape);
    shape[0] = end - begin;
    int64_t numel = 1;
    for (int i = 0; i < ti->ndim; i++)
        numel *= shape[i];
    if (numel == 0)
        return ckpt_tensor_new_copy(doc, ti->dtype, ti->ndim, shape, NULL, err);
    size_t es = ckpt_dtype_size(ti->dtype);
    int64_t extent = 1;
    for (int i = 0; i < ti->ndim; i++) {
        if (ti->stride[i] < 0) {
            fail(err, CKPT_E_UNSUPPORTED, "negative stride");
            return NULL;
        }
        extent += (shape[i] - 1) * ti->stride[i];
    }
    const char *base = ckpt_tensor_data(t);
    if (!base) {
        fail(err, CKPT_E_ARG, "tensor bytes not held");
        return NULL;
    }
    base += (size_t)(begin * ti->stride[0]) * es;
    ckpt_storage *s = ckpt_storage_new_borrow(doc, ti->dtype, (void *)(uintptr_t)base,
                                              (uint64_t)extent * es, err);
    return s ? ckpt_tensor_new(doc, s, ti->dtype, ti->ndim, shape, ti->stride, 0, err) : NULL;
}

int ckpt_dcp_save_mpi_doc(MPI_Comm comm, const char *dir, ckpt_doc *src, int shard,
                          ckpt_mpi_stats *stats, ckpt_error *err)
{
    ckpt_error local;
    if (!err)
        err = &local;
    ckpt_error_clear(err);
    int rank = 0, nranks = 1;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS || MPI_Comm_size(comm, &nranks) != MPI_SUCCESS)
        return fail(err, CKPT_E_ARG, "not a valid MPI communicator");
    flat_list fl = {0};
    ckpt_dcp_item *items = NULL;
    int64_t *offs = NULL;
    size_t nit = 0;
    ckpt_doc *views = NULL;
    const ckpt_obj *root = src ? ckpt_doc_root(src) : NULL;
    int rc = 0;
    if (shard != CKPT_MPI_SHARD_ROWS && shard != CKPT_MPI_SHARD_WHOLE)
        rc = fail(err, CKPT_E_ARG, "unknown shard rule %d", shard);
    else if (!root || ckpt_obj_type(root) != CKPT_T_DICT)
        rc = fail(err, CKPT_E_ARG, "the state dict to save must be a dict");
    if (rc == 0)
        rc = flatten(root, NULL, &fl, 0, err);
    if (rc == 0) {
        items = calloc(fl.n ? fl.n : 1, sizeof *items);
        offs = calloc(fl.n ? fl.n * 64 : 1, sizeof *offs);
        views = ckpt_doc_new(NULL, err);
        if (!items || !offs || !views)
            rc = fail(err, CKPT_E_NOMEM, "out of memory");
    }
    size_t tindex = 0;
    for (size_t i = 0; rc == 0 && i < fl.n; i++) {
        const ckpt_obj *v = fl.v[i].obj;
        ckpt_dcp_item *it = &items[nit];
        it->fqn = fl.v[i].fqn;
        if (ckpt_obj_type(v) != CKPT_T_TENSOR) {
            if (rank == 0) {
                it->value = v;
                nit++;
            }
            continue;
        }
        ckpt_tensor_info ti;
        ckpt_tensor_get_info(v, &ti);
        if (ti.ndim > 64) {
            rc = fail(err, CKPT_E_LIMIT, "tensor of %d dimensions", ti.ndim);
            break;
        }
        int owner_whole = shard == CKPT_MPI_SHARD_WHOLE ? (int)(tindex % (size_t)nranks) : 0;
        tindex++;
        int64_t begin = 0, end = 0;
        bool rows = shard == CKPT_MPI_SHARD_ROWS && ti.ndim > 0 && ti.shape[0] > 0;
        if (rows)
            ckpt_mpi_row_range(ti.shape[0], rank, nranks, &begin, &end);
        if (rows ? begin == end : owner_whole != rank)
            continue;
        if (ti.numel > 0 && !ckpt_tensor_data(v) && !ckpt_tensor_data_load(src, v, err)) {
            rc = err->code ? err->code : CKPT_E_IO;
            break;
        }
        it->ndim = ti.ndim;
        it->global_shape = ti.shape;
        it->offsets = offs + nit * 64;
        if (rows && (begin > 0 || end < ti.shape[0])) {
            offs[nit * 64] = begin;
            ckpt_obj *view = row_view(views, v, &ti, begin, end, err);
            if (!view || (ti.requires_grad && ckpt_tensor_set_requires_grad(view, true, err) < 0))
                rc = err->code ? err->code : CKPT_E_NOMEM;
            it->tensor = view;
        } else {
            it->tensor = v;
        }
        if (rc < 0)
            snprintf(err->key, sizeof err->key, "%s", fl.v[i].fqn);
        nit++;
    }
    /* a local failure must still meet the others in the collective */
    rc = agree(comm, rc, err);
    if (rc == 0)
        rc = ckpt_dcp_save_mpi(comm, dir, items, nit, stats, err);
    for (size_t i = 0; i < fl.n; i++)
        free(fl.v[i].fqn);
    free(fl.v);
    free(items);
    free(offs);
    ckpt_doc_free(views);
    return rc;
}

/* ------------------------------------------------------------------ load */

ckpt_doc *ckpt_dcp_load_mpi(MPI_Comm comm, const char *dir, int shard, const ckpt_alloc *alloc,
                            ckpt_error *err)
{
    ckpt_error local;
    if (!err)
        err = &local;
    ckpt_error_clear(err);
    int rank = 0, nranks = 1;
    if (MPI_Comm_rank(comm, &rank) != MPI_SUCCESS ||
        MPI_Comm_size(comm, &nranks) != MPI_SUCCESS) {
        fail(err, CKPT_E_ARG, "not a valid MPI communicator");
        return NULL;
    }
    int rc = 0;
    ckpt_dcp *d = NULL;
    ckpt_doc *doc = NULL;
    ckpt_obj *root = NULL;
    if (shard != CKPT_MPI_SHARD_ROWS && shard != CKPT_MPI_SHARD_WHOLE)
        rc = fail(err, CKPT_E_ARG, "unknown shard rule %d", shard);
    else if (!dir)
        rc = fail(err, CKPT_E_ARG, "missing folder");
    if (rc == 0 && !(d = ckpt_dcp_open(dir, err)))
        rc = err->code ? err->code : CKPT_E_IO;
    if (rc == 0 &&
        (!(doc = ckpt_doc_new(alloc, err)) || !(root = ckpt_dict_new(doc, CKPT_DICT_ORDERED))))
        rc = fail(err, CKPT_E_NOMEM, "out of memory");
    size_t count = d ? ckpt_dcp_count(d) : 0, tindex = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const ckpt_dcp_entry *e = ckpt_dcp_entry_at(d, i);
        if (!e || e->is_bytes)
            continue;
        int owner_whole = shard == CKPT_MPI_SHARD_WHOLE ? (int)(tindex % (size_t)nranks) : rank;
        tindex++;
        if (owner_whole != rank)
            continue;
        if (e->ndim < 0 || e->ndim > 64) {
            rc = fail(err, CKPT_E_LIMIT, "tensor of %d dimensions", e->ndim);
            break;
        }
        int64_t offs[64], sizes[64];
        uint64_t numel = 1;
        for (int k = 0; k < e->ndim; k++) {
            offs[k] = 0;
            sizes[k] = e->shape[k];
        }
        if (shard == CKPT_MPI_SHARD_ROWS && e->ndim > 0)
            ckpt_mpi_row_range(e->shape[0], rank, nranks, &offs[0], &sizes[0]);
        if (shard == CKPT_MPI_SHARD_ROWS && e->ndim > 0)
            sizes[0] -= offs[0];
        for (int k = 0; k < e->ndim; k++) {
            if (sizes[k] < 0 || (sizes[k] > 0 && numel > UINT64_MAX / (uint64_t)sizes[k])) {
                rc = fail(err, CKPT_E_LIMIT, "shape overflows");
                break;
            }
            numel *= (uint64_t)sizes[k];
        }
        size_t es = ckpt_dtype_size(e->dtype);
        if (rc == 0 && (es == 0 || numel > (uint64_t)SIZE_MAX / es))
            rc = fail(err, CKPT_E_UNSUPPORTED, "dtype %d / size not loadable", e->dtype);
        ckpt_storage *s = NULL;
        ckpt_obj *t = NULL;
        if (rc == 0 && !(s = ckpt_storage_new(doc, e->dtype, numel * es, err)))
            rc = err->code ? err->code : CKPT_E_NOMEM;
        if (rc == 0 && numel > 0)
            rc = ckpt_dcp_read_box(d, e->fqn, offs, sizes, ckpt_storage_data_mut(s),
                                   (size_t)(numel * es), err);
        if (rc == 0 && !(t = ckpt_tensor_new(doc, s, e->dtype, e->ndim, sizes, NULL, 0, err)))
            rc = err->code ? err->code : CKPT_E_NOMEM;
        if (rc == 0 && e->requires_grad)
            rc = ckpt_tensor_set_requires_grad(t, true, err);
        if (rc == 0)
            rc = ckpt_dict_set_str(doc, root, e->fqn, t, err);
        if (rc < 0 && err->key[0] == '\0')
            snprintf(err->key, sizeof err->key, "%s", e->fqn);
    }
    if (rc == 0)
        ckpt_doc_set_root(doc, root);
    set_file(err, dir);
    ckpt_dcp_close(d);
    rc = agree(comm, rc, err);
    if (rc < 0) {
        ckpt_doc_free(doc);
        return NULL;
    }
    return doc;
}
