/* src/core/atomic.h - replace a file so that a failure leaves the old one:
 * a temporary file beside it, written, flushed, fsync'd, renamed over it, and
 * the folder fsync'd.  One implementation for every writer (torch.save files,
 * .npy/.npz, and the formats to come). */
#ifndef CKPT_CORE_ATOMIC_H
#define CKPT_CORE_ATOMIC_H

#include <stdbool.h>

#include "ckpt/alloc.h"
#include "ckpt/error.h"
#include "ckpt/source.h"

/* Writes the whole file through the sink; 0 or a negative ckpt_errc with err set. */
typedef int (*ckpt__write_fn)(ckpt_sink *sink, const void *ctx, ckpt_error *err);

/* 0, or a negative code with err set (err must not be NULL: entry points pass a
 * local record).  The new file keeps the mode of the one it replaces (0644 when
 * there is none).  no_fsync skips both fsyncs (tests and benchmarks only). */
int ckpt__atomic_write(const char *path, ckpt__write_fn fn, const void *ctx,
                       const ckpt_alloc *alloc, bool no_fsync, ckpt_error *err);

/* Create every missing folder above `path` (not `path` itself), as
 * os.makedirs(dirname(path), exist_ok=True) does: transformers' save_pretrained
 * and torch.distributed.checkpoint's FileSystemWriter create their folder with
 * its parents.  0, or a negative code naming the folder that could not be made. */
int ckpt__mkdir_parents(const char *path, ckpt_error *err);

#endif
