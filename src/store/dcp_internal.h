/* src/store/dcp_internal.h - torch.distributed.checkpoint (DCP) folders:
 * the parsed ".metadata" (dcp_meta.c), the reader (dcp.c) and the writer
 * (dcp_write.c).  Facts follow torch 2.5's torch/distributed/checkpoint/
 * (metadata.py, filesystem.py, default_planner.py, _traverse.py). */
#ifndef CKPT_FORMATS_DCP_INTERNAL_H
#define CKPT_FORMATS_DCP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/formats.h"

/* Where one item's bytes are: filesystem._StorageInfo. */
typedef struct ckpt__dcp_loc {
    const char *file; /* relative_path (a plain file name, checked) */
    uint64_t offset, length;
    bool set;
} ckpt__dcp_loc;

typedef struct ckpt__dcp_chunk {
    int64_t *offsets, *sizes; /* ndim each (owned by the entry's arrays) */
    ckpt__dcp_loc loc;
} ckpt__dcp_chunk;

typedef struct ckpt__dcp_ent {
    ckpt_dcp_entry pub;
    int64_t *shape;
    ckpt__dcp_chunk *chunks;
    int64_t *dims;           /* 2 * ndim * nchunks: offsets and sizes of every chunk */
    ckpt__dcp_loc bytes_loc; /* BytesStorageMetadata */
} ckpt__dcp_ent;

/* The parsed metadata: entries in state_dict_metadata order.  Strings point
 * into `doc` (the unpickled document), kept alive with it. */
typedef struct ckpt__dcp_meta {
    ckpt_doc *doc;
    ckpt__dcp_ent *ents;
    size_t n;
} ckpt__dcp_meta;

/* Unpickle ".metadata" bytes with the DCP allowlist (never executing
 * anything) and check them: every tensor chunk inside its global shape, no
 * two chunks overlapping, every chunk and bytes entry located in
 * storage_data by a plain file name.  `label` names the file in errors. */
int ckpt__dcp_meta_parse(const uint8_t *buf, size_t n, const char *label, ckpt__dcp_meta *out,
                         ckpt_error *err);
void ckpt__dcp_meta_free(ckpt__dcp_meta *m);

/* One item of a rank's plan (what write_rank wrote). */
typedef struct ckpt__dcp_pitem {
    char *fqn;
    bool is_bytes;
    bool requires_grad;
    int dtype;
    int ndim;
    int64_t *shape, *offsets, *sizes; /* ndim each */
    uint64_t offset, length;          /* in "__<rank>_0.distcp" */
    size_t npath;                     /* flatten_state_dict path (planner_data) */
    char **path;                      /* components; an int component is kept as text */
    bool *path_int;                   /* which components are ints */
} ckpt__dcp_pitem;

typedef struct ckpt__dcp_plan {
    int rank;
    size_t n;
    ckpt__dcp_pitem *items;
} ckpt__dcp_plan;

int ckpt__dcp_plan_encode(const ckpt__dcp_plan *p, void **out, size_t *out_len, ckpt_error *err);
int ckpt__dcp_plan_decode(const void *buf, size_t n, ckpt__dcp_plan *out, ckpt_error *err);
void ckpt__dcp_plan_free(ckpt__dcp_plan *p);
/* The pickle torch's FileSystemWriter.finish would write for these plans
 * (protocol 2 via src/pickle's emitter).  *out malloc'd. */
int ckpt__dcp_meta_emit(const ckpt__dcp_plan *plans, int nplans, void **out, size_t *out_len,
                        ckpt_error *err);

/* write_rank with each item's flatten path (paths[i] NULL: the fqn alone). */
typedef struct ckpt__dcp_path {
    size_t n;
    const char *const *parts;
    const bool *is_int;
} ckpt__dcp_path;
int ckpt__dcp_write_rank_paths(const char *dir, int rank, const ckpt_dcp_item *items,
                               const ckpt__dcp_path *paths, size_t n, void **plan,
                               size_t *plan_len, ckpt_error *err);

/* "dir/name", malloc'd (NULL when out of memory). */
char *ckpt__dcp_join(const char *dir, const char *name);

#endif
