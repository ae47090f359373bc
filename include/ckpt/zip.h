/*
 * ckpt/zip.h - the zip container as torch.save writes and reads it.
 *
 * Reader: central directory (zip64 aware), archive prefix taken from the
 * first central-directory entry (as PyTorch does), stored and deflated
 * members (inflate by libdeflate), data offsets from the *local* headers,
 * CRC-32 checks on request.  Lookups by record name ("data.pkl",
 * "data/0") are O(1).
 *
 * Writer: stored members, the "FB" alignment extra field so that every
 * member's data starts at a multiple of the alignment (64), data
 * descriptors, zip64 fields past 4 GiB, and the ZIP64 end records torch
 * always writes.  Output is deterministic (zero times).
 *
 * Thread-safety: a reader may be used from several threads for lookups and
 * reads once opened; a writer belongs to one thread.
 */
#ifndef CKPT_ZIP_H
#define CKPT_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/alloc.h"
#include "ckpt/error.h"
#include "ckpt/export.h"
#include "ckpt/source.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ckpt_zip ckpt_zip;

typedef struct ckpt_zip_entry {
    const char *name;   /* full name as stored, e.g. "model/data/0" */
    const char *record; /* name after "<prefix>/", e.g. "data/0" (NULL if outside the prefix) */
    uint16_t method;    /* 0 stored, 8 deflated */
    uint16_t flags;     /* general-purpose flags */
    uint32_t crc32;     /* from the central directory */
    uint64_t comp_size; /* compressed size */
    uint64_t size;      /* uncompressed size */
    uint64_t header_offset;  /* local header offset */
    uint64_t data_offset;    /* first data byte (from the local header) */
    bool local_name_differs; /* the local header names it otherwise: read, as torch does,
                                by its central-directory name (a finding for scanners) */
} ckpt_zip_entry;

typedef struct ckpt_zip_opts {
    uint64_t max_entries;  /* 0 = default (16M) */
    uint64_t max_inflated; /* total bytes inflate may produce; 0 = default (4 GiB) */
    bool flat;             /* members need not share a folder (plain zips, .npz): the
                                  prefix is "" and every record is the full name */
} ckpt_zip_opts;

/*
 * Open the archive in `src` (which must outlive the reader).  Fails with
 * CKPT_E_FORMAT naming the byte offset when the end records, the central
 * directory or any local header is malformed, when entries overlap, are
 * duplicated (or differ only in case: lookups ignore ASCII case, as torch's
 * reader does), or a name contains "..", or when an entry is not under the
 * first entry's "<prefix>/" folder (unless opts->flat).  The end record is the
 * one torch's reader (miniz) takes: the last signature with 22 bytes after it;
 * a signature in the last 21 bytes, or a comment running past the end of the
 * file, is refused.
 */
CKPT_API ckpt_zip *ckpt_zip_open(const ckpt_source *src, const ckpt_zip_opts *opts,
                                 const ckpt_alloc *alloc, ckpt_error *err);
CKPT_API void ckpt_zip_close(ckpt_zip *z);
/* Offset of the first byte after the end record (and its comment): bytes
 * from there to the end of the input are not part of the archive. */
CKPT_API uint64_t ckpt_zip_end_offset(const ckpt_zip *z);
/* The archive folder ("model" for model/data.pkl). */
CKPT_API const char *ckpt_zip_prefix(const ckpt_zip *z);
CKPT_API size_t ckpt_zip_count(const ckpt_zip *z);
/* i-th entry in central-directory order. Borrowed. */
CKPT_API const ckpt_zip_entry *ckpt_zip_entry_at(const ckpt_zip *z, size_t i);
/* Position of an entry in central-directory order (the i of ckpt_zip_entry_at);
 * SIZE_MAX when `e` is not an entry of `z` (or either is NULL). */
CKPT_API size_t ckpt_zip_entry_index(const ckpt_zip *z, const ckpt_zip_entry *e);
/* Entry by record name (relative to the prefix); NULL if absent. */
CKPT_API const ckpt_zip_entry *ckpt_zip_find(const ckpt_zip *z, const char *record);
/*
 * Read an entry's uncompressed bytes into `dst` (`dst_size` >= e->size),
 * inflating if needed.  `check_crc`: compare CRC-32 and fail with
 * CKPT_E_FORMAT on mismatch (a stored CRC of 0 is treated as "not computed"
 * only when `check_crc` is false).
 */
CKPT_API int ckpt_zip_read(const ckpt_zip *z, const ckpt_zip_entry *e, void *dst, size_t dst_size,
                           bool check_crc, ckpt_error *err);
/* Direct pointer to a stored entry's bytes when the source is in memory
 * (mmap or buffer); NULL otherwise or when the entry is deflated. */
CKPT_API const uint8_t *ckpt_zip_data_ptr(const ckpt_zip *z, const ckpt_zip_entry *e);
/* CRC-32 of the entry's bytes, read from the source (for verify). */
CKPT_API int ckpt_zip_entry_crc(const ckpt_zip *z, const ckpt_zip_entry *e, uint32_t *out,
                                ckpt_error *err);

typedef struct ckpt_zip_writer ckpt_zip_writer;

/* A writer emitting to `sink` (which must outlive it).  `prefix` is the
 * archive folder; `alignment` 0 means 64.  `crc` false writes CRC fields as
 * 0, as torch does with compute_crc32 off. */
CKPT_API ckpt_zip_writer *ckpt_zip_writer_new(ckpt_sink *sink, const char *prefix,
                                              uint32_t alignment, bool crc,
                                              const ckpt_alloc *alloc, ckpt_error *err);
/* Append a stored record "<prefix>/<record>" holding `n` bytes of `data`. */
CKPT_API int ckpt_zip_writer_add(ckpt_zip_writer *w, const char *record, const void *data,
                                 uint64_t n, ckpt_error *err);
/* Same, with the data given as `count` pieces written back to back. */
CKPT_API int ckpt_zip_writer_addv(ckpt_zip_writer *w, const char *record,
                                  const void *const *pieces, const uint64_t *lens, size_t count,
                                  ckpt_error *err);
/* Write the central directory, ZIP64 end record, locator and end record. */
CKPT_API int ckpt_zip_writer_finish(ckpt_zip_writer *w, ckpt_error *err);
CKPT_API void ckpt_zip_writer_free(ckpt_zip_writer *w);

/* CRC-32 (zip polynomial) of a buffer, continuing from `crc` (start with 0). */
CKPT_API uint32_t ckpt_crc32(uint32_t crc, const void *p, size_t n);

#ifdef __cplusplus
}
#endif
#endif
