/* ckpt-mpi - save and load one DCP checkpoint with many MPI ranks.
 *
 *   mpirun -np N ckpt-mpi save IN.pt OUTDIR [--shard rows|whole] [options]
 *   mpirun -np M ckpt-mpi load DIR OUT_PREFIX [--shard rows|whole] [options]
 *
 * save: every rank maps IN (a torch.save file, ckpt_load in MMAP mode, so a
 * rank touches only the bytes of its share) and the ranks save their shards
 * of it together as one DCP folder (ckpt_dcp_save_mpi_doc).
 * load: every rank reads its share of DIR, whatever N wrote it, and writes it
 * as OUT_PREFIX.<rank>.npz (tensors only).
 *
 * Options:
 *   --shard rows|whole     sharding rule (ckpt/mpi.h); default rows
 *   --stats                rank 0 prints one JSON line per rank: bytes, seconds,
 *                          phase times, peak RSS (getrusage ru_maxrss)
 *   --no-write             load: read the shards, write no .npz (benchmarks)
 *   --gather OUT.pt        load: rank 0 also assembles the ranks' shards into one
 *                          torch.save file (tensors of at most 2 GiB each)
 * Testing hooks (save; the limit is RLIMIT_FSIZE, set on one rank only, after
 * MPI_Init, so the rank's own .distcp write crosses it):
 *   --die-after-bytes B    rank --on-rank (default 1) is killed by SIGXFSZ when
 *                          a write goes past B bytes: a rank dying mid-save
 *   --fail-after-bytes B   the same rank's write fails with EFBIG instead: an
 *                          I/O error every rank must report
 *   --on-rank R
 * Exit status: 0 ok, 2 error (every rank), 1 usage.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "ckpt/ckpt.h"
#include "ckpt/formats.h"
#include "ckpt/mpi.h"

static void usage(void)
{
    fprintf(stderr,
            "usage: ckpt-mpi save IN OUTDIR [--shard rows|whole] [--stats]\n"
            "                 [--die-after-bytes B | --fail-after-bytes B] [--on-rank R]\n"
            "       ckpt-mpi load DIR OUT_PREFIX [--shard rows|whole] [--stats] [--no-write]\n"
            "                 [--gather OUT.pt]\n");
}

static long maxrss_kib(void)
{
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) == 0 ? ru.ru_maxrss : -1;
}

/* Rank 0 prints every rank's line, in rank order. */
static void print_lines(MPI_Comm comm, const char *line)
{
    int rank = 0, n = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &n);
    char mine[512];
    memset(mine, 0, sizeof mine);
    snprintf(mine, sizeof mine, "%s", line);
    char *all = rank == 0 ? malloc((size_t)n * sizeof mine) : NULL;
    MPI_Gather(mine, (int)sizeof mine, MPI_CHAR, all, (int)sizeof mine, MPI_CHAR, 0, comm);
    if (rank == 0 && all) {
        for (int i = 0; i < n; i++)
            printf("%s\n", all + (size_t)i * sizeof mine);
        fflush(stdout);
    }
    free(all);
}

static uint64_t local_bytes(const ckpt_obj *root)
{
    uint64_t total = 0;
    size_t n = ckpt_obj_len(root);
    for (size_t i = 0; i < n; i++) {
        ckpt_tensor_info ti;
        if (ckpt_tensor_get_info(ckpt_dict_value(root, i), &ti) == 0)
            total += ti.nbytes;
    }
    return total;
}

/* --gather: rank 0 assembles every tensor from the ranks' shards (rows: a
 * Gatherv of each rank's rows; whole: the owner sends it) and saves them as
 * one torch.save file OUT (an OrderedDict fqn -> tensor, DCP's flattened
 * fqns).  Collective; 0 or a negative status, the same on every rank. */
static int gather_save(MPI_Comm comm, const char *dir, const ckpt_obj *local, int shard,
                       const char *out, ckpt_error *err)
{
    int rank = 0, n = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &n);
    int rc = 0;
    ckpt_dcp *d = ckpt_dcp_open(dir, err);
    ckpt_doc *doc = rank == 0 ? ckpt_doc_new(NULL, err) : NULL;
    ckpt_obj *root = doc ? ckpt_dict_new(doc, CKPT_DICT_ORDERED) : NULL;
    int *counts = calloc((size_t)n, sizeof *counts), *displs = calloc((size_t)n, sizeof *displs);
    if (!d || (rank == 0 && !root) || !counts || !displs)
        rc = err->code ? err->code : CKPT_E_NOMEM;
    int first = 0;
    MPI_Allreduce(&rc, &first, 1, MPI_INT, MPI_MIN, comm);
    rc = first;
    size_t count = rc == 0 ? ckpt_dcp_count(d) : 0, tindex = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        const ckpt_dcp_entry *e = ckpt_dcp_entry_at(d, i);
        if (e->is_bytes)
            continue;
        int owner = (int)(tindex++ % (size_t)n);
        uint64_t numel = 1;
        for (int k = 0; k < e->ndim; k++)
            numel *= (uint64_t)e->shape[k];
        size_t es = ckpt_dtype_size(e->dtype), nbytes = (size_t)numel * es;
        ckpt_storage *s = NULL;
        char *buf = NULL;
        int lrc = 0;
        if (rank == 0) {
            s = ckpt_storage_new(doc, e->dtype, nbytes, err);
            buf = s ? ckpt_storage_data_mut(s) : NULL;
            if (!s)
                lrc = err->code ? err->code : CKPT_E_NOMEM;
        }
        if (nbytes > (size_t)INT_MAX)
            lrc = CKPT_E_LIMIT; /* MPI counts are int: tensors over 2 GiB are not gathered */
        MPI_Allreduce(&lrc, &first, 1, MPI_INT, MPI_MIN, comm);
        if ((rc = first) < 0) {
            snprintf(err->msg, sizeof err->msg, "cannot gather %s", e->fqn);
            break;
        }
        const ckpt_obj *t = ckpt_dict_get(local, e->fqn);
        const void *mine = t ? ckpt_tensor_data(t) : NULL;
        if (shard == CKPT_MPI_SHARD_ROWS && e->ndim > 0) {
            size_t row = e->shape[0] ? nbytes / (size_t)e->shape[0] : 0;
            for (int r = 0; r < n; r++) {
                int64_t b, en;
                ckpt_mpi_row_range(e->shape[0], r, n, &b, &en);
                counts[r] = (int)((size_t)(en - b) * row);
                displs[r] = (int)((size_t)b * row);
            }
            MPI_Gatherv(mine, counts[rank], MPI_BYTE, buf, counts, displs, MPI_BYTE, 0, comm);
        } else if (shard == CKPT_MPI_SHARD_ROWS || owner == 0) {
            if (rank == 0 && nbytes)
                memcpy(buf, mine, nbytes);
        } else if (rank == owner) {
            MPI_Send(mine, (int)nbytes, MPI_BYTE, 0, 0, comm);
        } else if (rank == 0) {
            MPI_Recv(buf, (int)nbytes, MPI_BYTE, owner, 0, comm, MPI_STATUS_IGNORE);
        }
        if (rank == 0) {
            ckpt_obj *nt = ckpt_tensor_new(doc, s, e->dtype, e->ndim, e->shape, NULL, 0, err);
            if (!nt || (e->requires_grad && ckpt_tensor_set_requires_grad(nt, true, err) < 0) ||
                ckpt_dict_set_str(doc, root, e->fqn, nt, err) < 0)
                rc = err->code ? err->code : CKPT_E_NOMEM;
        }
    }
    if (rank == 0 && rc == 0)
        rc = ckpt_save(out, root, NULL, err);
    MPI_Allreduce(&rc, &first, 1, MPI_INT, MPI_MIN, comm);
    if (first < 0 && rc == 0)
        snprintf(err->msg, sizeof err->msg, "rank 0 could not write %s", out);
    free(counts);
    free(displs);
    ckpt_doc_free(doc);
    ckpt_dcp_close(d);
    return first;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    MPI_Comm comm = MPI_COMM_WORLD;
    int rank = 0, nranks = 1;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);

    const char *cmd = argc > 1 ? argv[1] : "";
    const char *pos[2] = {NULL, NULL};
    int npos = 0, shard = CKPT_MPI_SHARD_ROWS, on_rank = 1;
    bool stats = false, no_write = false, die = false;
    const char *gather = NULL;
    long long limit = -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--shard") == 0 && i + 1 < argc) {
            shard = ckpt_mpi_shard_from_name(argv[++i]);
        } else if (strcmp(a, "--stats") == 0) {
            stats = true;
        } else if (strcmp(a, "--gather") == 0 && i + 1 < argc) {
            gather = argv[++i];
        } else if (strcmp(a, "--no-write") == 0) {
            no_write = true;
        } else if ((strcmp(a, "--die-after-bytes") == 0 ||
                    strcmp(a, "--fail-after-bytes") == 0) &&
                   i + 1 < argc) {
            die = a[2] == 'd';
            limit = strtoll(argv[++i], NULL, 10);
        } else if (strcmp(a, "--on-rank") == 0 && i + 1 < argc) {
            on_rank = atoi(argv[++i]);
        } else if (a[0] != '-' && npos < 2) {
            pos[npos++] = a;
        } else {
            npos = -1;
            break;
        }
    }
    bool is_save = strcmp(cmd, "save") == 0, is_load = strcmp(cmd, "load") == 0;
    if ((!is_save && !is_load) || npos != 2 || shard < 0) {
        if (rank == 0)
            usage();
        MPI_Finalize();
        return 1;
    }

    ckpt_error err;
    ckpt_error_clear(&err);
    int rc = 0;
    char line[512];
    line[0] = '\0';
    if (is_save) {
        ckpt_load_opts lo = {0};
        lo.mode = CKPT_LOAD_MMAP;
        ckpt_doc *src = ckpt_load(pos[0], &lo, &err);
        /* a rank that cannot read IN still takes part, so that every rank
         * returns its error instead of waiting */
        ckpt_doc *empty = NULL;
        if (!src) {
            rc = err.code;
            empty = ckpt_doc_new(NULL, NULL);
            if (empty)
                ckpt_doc_set_root(empty, ckpt_dict_new(empty, CKPT_DICT_ORDERED));
        }
        int lrc = rc, first = 0;
        MPI_Allreduce(&lrc, &first, 1, MPI_INT, MPI_MIN, comm);
        if (first < 0) {
            if (rc == 0)
                snprintf(err.msg, sizeof err.msg, "another rank could not load %s", pos[0]);
            rc = first;
        } else {
            if (limit >= 0 && rank == on_rank) {
                if (!die)
                    signal(SIGXFSZ, SIG_IGN);
                struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
                setrlimit(RLIMIT_FSIZE, &rl);
            }
            ckpt_mpi_stats st;
            double t0 = MPI_Wtime();
            rc = ckpt_dcp_save_mpi_doc(comm, pos[1], src, shard, &st, &err);
            double t = MPI_Wtime() - t0;
            snprintf(line, sizeof line,
                     "{\"op\":\"save\",\"rank\":%d,\"nranks\":%d,\"bytes\":%llu,\"seconds\":%.6f,"
                     "\"t_prepare\":%.6f,\"t_write\":%.6f,\"t_agree\":%.6f,\"t_gather\":%.6f,"
                     "\"t_metadata\":%.6f,\"t_commit\":%.6f,\"plan_bytes\":%llu,"
                     "\"metadata_bytes\":%llu,\"maxrss_kib\":%ld}",
                     rank, nranks, (unsigned long long)st.file_bytes, t, st.t_prepare, st.t_write,
                     st.t_agree, st.t_gather, st.t_metadata, st.t_commit,
                     (unsigned long long)st.plan_bytes, (unsigned long long)st.metadata_bytes,
                     maxrss_kib());
        }
        ckpt_doc_free(src);
        ckpt_doc_free(empty);
    } else {
        double t0 = MPI_Wtime();
        ckpt_doc *doc = ckpt_dcp_load_mpi(comm, pos[0], shard, NULL, &err);
        double t = MPI_Wtime() - t0;
        rc = doc ? 0 : (err.code ? err.code : CKPT_E_IO);
        if (doc) {
            snprintf(line, sizeof line,
                     "{\"op\":\"load\",\"rank\":%d,\"nranks\":%d,\"bytes\":%llu,\"seconds\":%.6f,"
                     "\"maxrss_kib\":%ld}",
                     rank, nranks, (unsigned long long)local_bytes(ckpt_doc_root(doc)), t,
                     maxrss_kib());
        }
        if (doc && !no_write) {
            char path[4096];
            snprintf(path, sizeof path, "%s.%d.npz", pos[1], rank);
            rc = ckpt_npz_save(path, ckpt_doc_root(doc), &err);
        }
        /* the .npz writes are local: agree on them */
        int lrc = rc, first = 0;
        MPI_Allreduce(&lrc, &first, 1, MPI_INT, MPI_MIN, comm);
        if (first < 0 && rc == 0) {
            snprintf(err.msg, sizeof err.msg, "another rank failed");
            rc = first;
        }
        if (rc == 0 && gather)
            rc = gather_save(comm, pos[0], ckpt_doc_root(doc), shard, gather, &err);
        ckpt_doc_free(doc);
    }
    if (rc == 0 && stats)
        print_lines(comm, line);
    if (rc < 0 && (rank == 0 || strncmp(err.msg, "rank ", 5) != 0)) {
        char buf[1024];
        fprintf(stderr, "ckpt-mpi: rank %d: %s\n", rank,
                ckpt_error_format(&err, buf, sizeof buf));
    }
    MPI_Finalize();
    return rc < 0 ? 2 : 0;
}
