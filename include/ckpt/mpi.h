/*
 * ckpt/mpi.h - one DCP checkpoint saved and loaded by many processes over MPI
 * (libckpt_mpi; built and installed only where CMake finds MPI).
 *
 * Every call here is COLLECTIVE over `comm`: each rank of the communicator
 * makes the same call with the same `dir` (and the same `shard`), and every
 * rank returns the same status.  When one rank fails, every rank returns its
 * error: code and message of the lowest failing rank, the message prefixed
 * with "rank R: ".  The folder format is torch.distributed.checkpoint's (see
 * the DCP section of ckpt/formats.h); this layer only adds the protocol.
 *
 * Save protocol (ckpt_dcp_save_mpi):
 *   1. rank 0 removes stale "<dir>.tmp-*" folders (left by saves whose
 *      processes died), creates "<dir>.tmp-XXXXXX" and broadcasts its name;
 *   2. every rank writes its own "__<rank>_0.distcp" there and fsyncs it
 *      (ckpt_dcp_write_rank); the ranks agree on success (allreduce);
 *   3. the write plans are gathered to rank 0 (MPI_Gatherv), which writes
 *      ".metadata" (ckpt_dcp_write_metadata), fsyncs the folder and replaces
 *      `dir` by it atomically (ckpt_dcp_commit); the result is broadcast.
 * On any error every rank returns it and rank 0 removes the temporary folder:
 * `dir` is either the complete old checkpoint or the complete new one.  A
 * rank that dies (killed, abort, power loss) never reaches the commit, so the
 * previous checkpoint stays intact and the new one is absent; its temporary
 * folder remains until the next save into the same `dir` removes it.  Two
 * jobs saving into the same `dir` at the same time are not supported.
 *
 * Sharding rules (ckpt_mpi_shard), the same for saving and loading:
 *   ROWS:  a tensor of ndim >= 1 is split along dim 0 as torch.chunk(t, N)
 *          splits it (and DTensor's Shard(0)): with c = ceil(rows / N), rank r
 *          holds rows [min(r*c, rows), min((r+1)*c, rows)) - trailing ranks
 *          may hold zero rows.  0-dim tensors are replicated.
 *   WHOLE: the i-th tensor (in state-dict order) belongs to rank i mod N.
 * Non-tensor values are replicated: rank 0 writes them (as DCP's planner
 * deduplicates replicated items).
 *
 * Thread-safety: MPI's rules (one thread per rank calls these, or
 * MPI_THREAD_MULTIPLE with distinct communicators).  err may be NULL.
 */
#ifndef CKPT_MPI_H
#define CKPT_MPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <mpi.h>

#include "ckpt/formats.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ckpt_mpi_shard {
    CKPT_MPI_SHARD_ROWS = 0, /* dim 0 split as torch.chunk; 0-dim tensors replicated */
    CKPT_MPI_SHARD_WHOLE = 1 /* whole tensors, tensor i on rank i mod N */
} ckpt_mpi_shard;

/* "rows" / "whole" -> CKPT_MPI_SHARD_*, -1 for anything else. */
CKPT_API int ckpt_mpi_shard_from_name(const char *name);

/* Rows [*begin, *end) of a dimension of `rows` rows that rank `rank` of
 * `nranks` holds under CKPT_MPI_SHARD_ROWS (torch.chunk's split). */
CKPT_API void ckpt_mpi_row_range(int64_t rows, int rank, int nranks, int64_t *begin,
                                 int64_t *end);

/* Where the time of one collective save went, on the calling rank (seconds,
 * MPI_Wtime), and how many bytes it moved.  For benchmarks and the scaling
 * model of docs/DCP_SCALING.md. */
typedef struct ckpt_mpi_stats {
    double t_prepare;  /* stale cleanup + temporary folder + broadcast */
    double t_write;    /* this rank's .distcp written and fsynced */
    double t_agree;    /* waiting for every rank to finish writing (allreduce) */
    double t_gather;   /* plan sizes + plans gathered to rank 0 */
    double t_metadata; /* rank 0: .metadata written (0 elsewhere) */
    double t_commit;   /* rank 0: folder fsync + atomic replace; others: waiting for it */
    double t_total;
    uint64_t file_bytes;     /* size of this rank's .distcp */
    uint64_t plan_bytes;     /* size of this rank's plan (what the gather moves per rank) */
    uint64_t metadata_bytes; /* rank 0: size of .metadata (0 elsewhere) */
} ckpt_mpi_stats;

/*
 * Collective save of one DCP checkpoint into folder `dir`: each rank passes
 * the items it holds (its chunks with their global shapes and offsets, or
 * whole values; see ckpt_dcp_item), `n` may be 0.  Chunks that several ranks
 * hold must be passed by one of them only.  `stats` (may be NULL) receives
 * this rank's timings.  Returns 0 on every rank, or the same negative
 * ckpt_status on every rank (see the protocol above).
 */
CKPT_API int ckpt_dcp_save_mpi(MPI_Comm comm, const char *dir, const ckpt_dcp_item *items,
                               size_t n, ckpt_mpi_stats *stats, ckpt_error *err);

/*
 * Collective save of a state dict that every rank can see whole (typically
 * the same torch file opened with ckpt_load in CKPT_LOAD_MMAP mode): each rank
 * contributes its share by `shard` (ckpt_mpi_shard) and reads only the bytes
 * of that share (row views of mapped or held storages; a CKPT_LOAD_LAZY
 * storage is read whole when one of its rows is needed).  The root of `src`
 * must be a dict with str keys; nested dicts of str keys are flattened with
 * '.' as DCP's flatten_state_dict does; other values are written by rank 0
 * as bytes items.
 */
CKPT_API int ckpt_dcp_save_mpi_doc(MPI_Comm comm, const char *dir, ckpt_doc *src, int shard,
                                   ckpt_mpi_stats *stats, ckpt_error *err);

/*
 * Collective, resharding load: every rank opens `dir` and reads only its
 * share of each tensor by `shard` (with ckpt_dcp_read_box), whatever number
 * of ranks wrote it.  Returns a new document (free with ckpt_doc_free) whose
 * root is an OrderedDict fqn -> local tensor, in the metadata's order:
 *   ROWS:  every tensor, with its rows of this rank (possibly zero rows;
 *          0-dim tensors whole);
 *   WHOLE: the tensors this rank owns, whole.
 * Non-tensor (bytes) entries are not returned (ckpt_dcp_load gives them).
 * `alloc` NULL = libc.  NULL on every rank when any rank fails.
 */
CKPT_API ckpt_doc *ckpt_dcp_load_mpi(MPI_Comm comm, const char *dir, int shard,
                                     const ckpt_alloc *alloc, ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif
