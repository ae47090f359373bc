/* bench/dcp_meta_bench.c - rank 0's share of a DCP save at scale, without MPI:
 * NRANKS plans of K chunks each (every rank holding rows of the same K tensors,
 * as a row-sharded save writes them) made with ckpt_dcp_write_rank over tiny
 * tensors, then ckpt_dcp_write_metadata over all of them timed.  Prints one JSON
 * line: ranks, chunks, plan bytes (what the gather moves), .metadata bytes and
 * seconds.  For the scaling model (docs/DCP_SCALING.md).
 *   dcp_meta_bench DIR NRANKS K */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ckpt/ckpt.h"
#include "ckpt/formats.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: dcp_meta_bench DIR NRANKS K\n");
        return 2;
    }
    const char *dir = argv[1];
    int nranks = atoi(argv[2]), k = atoi(argv[3]);
    if (nranks < 1 || k < 1)
        return 2;
    mkdir(dir, 0755);
    ckpt_error err;
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    int64_t shape[2] = {1, 4};
    ckpt_obj *t = ckpt_tensor_new_copy(doc, CKPT_F32, 2, shape, NULL, &err);
    ckpt_dcp_item *items = calloc((size_t)k, sizeof *items);
    char(*names)[32] = calloc((size_t)k, sizeof *names);
    int64_t gshape[2] = {nranks, 4};
    int64_t *offs = calloc((size_t)k * 2, sizeof *offs);
    void **plans = calloc((size_t)nranks, sizeof *plans);
    size_t *lens = calloc((size_t)nranks, sizeof *lens), plan_total = 0;
    if (!t || !items || !names || !offs || !plans || !lens)
        return 1;
    double t0 = now();
    for (int r = 0; r < nranks; r++) {
        for (int i = 0; i < k; i++) {
            snprintf(names[i], sizeof names[i], "layers.%d.weight", i);
            offs[2 * i] = r;
            items[i] = (ckpt_dcp_item){.fqn = names[i],
                                       .tensor = t,
                                       .ndim = 2,
                                       .global_shape = gshape,
                                       .offsets = offs + 2 * i};
        }
        if (ckpt_dcp_write_rank(dir, r, items, (size_t)k, &plans[r], &lens[r], &err) < 0) {
            fprintf(stderr, "write_rank: %s\n", err.msg);
            return 1;
        }
        plan_total += lens[r];
    }
    double t1 = now();
    if (ckpt_dcp_write_metadata(dir, (const void *const *)plans, lens, nranks, &err) < 0) {
        fprintf(stderr, "write_metadata: %s\n", err.msg);
        return 1;
    }
    double t2 = now();
    char path[4096];
    snprintf(path, sizeof path, "%s/.metadata", dir);
    struct stat st;
    long long mbytes = stat(path, &st) == 0 ? (long long)st.st_size : -1;
    printf("{\"ranks\":%d,\"chunks_per_rank\":%d,\"chunks\":%lld,\"plan_bytes_per_rank\":%.1f,"
           "\"metadata_bytes\":%lld,\"t_metadata\":%.6f,\"t_write_ranks\":%.6f}\n",
           nranks, k, (long long)nranks * k, (double)plan_total / nranks, mbytes, t2 - t1,
           t1 - t0);
    for (int r = 0; r < nranks; r++)
        free(plans[r]);
    free(plans);
    free(lens);
    free(offs);
    free(names);
    free(items);
    ckpt_doc_free(doc);
    return 0;
}
