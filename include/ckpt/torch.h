/*
 * ckpt/torch.h - torch.save / torch.load.
 *
 * ckpt_load reads what torch.save writes (zip format) into a ckpt_doc;
 * ckpt_save writes a document the way torch.save does, byte for byte.
 *
 * Loading is weights-only by default: only the globals on torch 2.x's
 * weights-only allowlist are accepted, anything else is CKPT_E_UNSAFE with
 * an error naming the global, the opcode and the byte offset.  Nothing in
 * a file is ever executed.
 *
 * Storage bytes are, by the `mode` option: copied into memory the document
 * owns (default), mapped zero-copy from the file (CKPT_LOAD_MMAP: tensors
 * point into a private read-only mapping held by the document), or left in
 * the file until asked for (CKPT_LOAD_LAZY: ckpt_tensor_data_load reads
 * them; a lazy document is not safe for concurrent first reads).
 */
#ifndef CKPT_TORCH_H
#define CKPT_TORCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/core.h"
#include "ckpt/source.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ckpt_load_mode {
    CKPT_LOAD_COPY = 0, /* read every storage into owned memory */
    CKPT_LOAD_MMAP = 1, /* storages are slices of a private file mapping */
    CKPT_LOAD_LAZY = 2  /* storages are read on first ckpt_tensor_data_load */
} ckpt_load_mode;

/*
 * map_location callback: given a storage's saved location tag ("cpu",
 * "cuda:0"), write the location to restore to into `out` (size `n`) and
 * return 1, or return 0 to keep the tag.  Return < 0 to fail the load.
 */
typedef int (*ckpt_map_location_fn)(void *payload, const char *tag, char *out, size_t n);

/* One old -> new location pair of a map_location dict. */
typedef struct ckpt_location_pair {
    const char *from;
    const char *to;
} ckpt_location_pair;

/* Load limits; 0 means the default written next to each field (docs/LIMITS.md). */
typedef struct ckpt_limits {
    uint64_t max_alloc_bytes; /* nodes and copied tensor bytes the document may hold; default: none
                                 beyond what the file's bytes back */
    uint32_t max_depth;       /* nesting of containers in the pickle; default 1000 */
    uint64_t max_objects;     /* nodes the pickle may create; default 64M */
    uint64_t max_inflated;    /* total bytes inflated from deflated members; default 256 MiB */
    uint32_t max_ndim;        /* dimensions of one tensor; default 64 */
} ckpt_limits;

typedef struct ckpt_load_opts {
    int mode;         /* a ckpt_load_mode */
    bool unsafe_full; /* false (default): weights-only allowlist.  true: accept unknown
                                  globals as inert GLOBAL/OBJECT nodes (never executed) */
    bool verify_crc;  /* check every record's CRC-32 while reading (torch never does) */
    /* how Python-2 byte strings in the pickle are decoded (torch.load's `encoding`):
     * 0 = utf-8 (torch's default), 1 = latin1, 2 = bytes (keep them as bytes) */
    int encoding;
    /* map_location: at most one of the three forms is used, in this order */
    const char *map_location;            /* every storage goes to this location ("cpu") */
    const ckpt_location_pair *map_pairs; /* tag -> location pairs */
    size_t map_pair_count;
    ckpt_map_location_fn map_fn;
    void *map_payload;
    /* keep each storage's saved location tag (e.g. "cuda:0") as its device and
     * read its bytes into CPU memory without requiring that device: for
     * inspection and conversion tools (ckpt ls, verify).  map_location is
     * ignored when set. */
    bool keep_locations;
    /* extra allowed globals ("module.name"), as torch's add_safe_globals */
    const char *const *safe_globals;
    size_t safe_global_count;
    ckpt_limits limits;
    const ckpt_alloc *alloc; /* NULL = libc */
    /* which pickle of a zip archive is the document: NULL or "data.pkl" (default), or
     * "constants.pkl" (TorchScript's constants table, storages from constants/<key>:
     * the frozen weights of an optimized or lite-interpreter model), or "bytecode.pkl"
     * (lite bytecode, storages from constants/<key>); needs unsafe_full */
    const char *pickle_record;
} ckpt_load_opts;

/* Load a torch.save file.  `opts` NULL = defaults (copy, weights-only). */
CKPT_API ckpt_doc *ckpt_load(const char *path, const ckpt_load_opts *opts, ckpt_error *err);
/* Load from memory (`buf` must outlive the document in MMAP/LAZY modes;
 * MMAP mode points tensors into `buf`). `label` names it in errors. */
CKPT_API ckpt_doc *ckpt_load_mem(const void *buf, size_t n, const char *label,
                                 const ckpt_load_opts *opts, ckpt_error *err);
/* Load from any source (file, memory or callback); the source must
 * outlive the document in MMAP/LAZY modes. */
CKPT_API ckpt_doc *ckpt_load_source(const ckpt_source *src, const ckpt_load_opts *opts,
                                    ckpt_error *err);
/*
 * Name what a file is by its content, never by its extension.  Returns a
 * static kind name, never NULL: "torch-zip", "torchscript", "torchscript-lite"
 * (bytecode.pkl), "torch-legacy", "torch-tar", "pickle", "safetensors",
 * "gguf", "npy", "npz", "zip", "tar", "onnx" (protobuf ModelProto),
 * "onnx-tensor" (TensorProto), "onnx-external-data" (raw bytes named as a
 * location by an .onnx file in the same folder), "truncated-zip",
 * "truncated-safetensors", "newer-version", "git-lfs-pointer", "html", "gzip",
 * "text", "torch-preview", "empty", "unreadable" or "unknown".  `why` (size
 * `n`; may be NULL) receives a sentence saying what the file is, `offset`
 * (may be NULL) the byte offset that sentence is about.
 */
CKPT_API const char *ckpt_detect(const ckpt_source *src, char *why, size_t n, uint64_t *offset);
/* ckpt_detect on a file ("unreadable" when it cannot be opened). */
CKPT_API const char *ckpt_detect_file(const char *path, char *why, size_t n, uint64_t *offset);

/* Bytes of a tensor, reading a lazy storage first if needed. */
CKPT_API const void *ckpt_tensor_data_load(ckpt_doc *doc, const ckpt_obj *t, ckpt_error *err);
/* Read every lazy storage of `doc` that is not read yet (savers and converters
 * need the bytes: ckpt_save and the format writers refuse a storage that holds
 * none).  Returns 0 or < 0 with `err` naming the storage's file. */
CKPT_API int ckpt_doc_load_all(ckpt_doc *doc, ckpt_error *err);

/* Which set of records a save writes. */
typedef enum ckpt_layout {
    CKPT_LAYOUT_DEFAULT = 0, /* = CKPT_LAYOUT_TORCH27 */
    CKPT_LAYOUT_TORCH13 = 1, /* torch 1.6-2.0: data.pkl, data/<k> in string order, version */
    CKPT_LAYOUT_TORCH21 = 2, /* torch 2.1-2.6: + byteorder after data.pkl */
    CKPT_LAYOUT_TORCH27 = 3, /* torch 2.7+: + .format_version, .storage_alignment, byteorder;
                                data/<k> in numeric order */
    CKPT_LAYOUT_LEGACY = 4   /* _use_new_zipfile_serialization=False: five pickles (magic,
                                protocol 1001, sys_info, object, storage keys) and the raw
                                storages */
} ckpt_layout;

typedef struct ckpt_save_opts {
    int layout;          /* a ckpt_layout */
    const char *archive; /* archive folder name; NULL = derived from the path as torch does
                               ("dir/model.pt" -> "model"), "archive" for memory saves */
    bool no_fsync;       /* skip fsync before the rename (faster, not crash-safe) */
    bool no_crc;         /* write CRC fields as 0 (torch's compute_crc32=False) */
    const ckpt_alloc *alloc;
} ckpt_save_opts;

/*
 * Save `root` (an object of any document) to `path` as torch.save does.
 * Atomic: writes "<path>.tmp-XXXXXX" in the same folder, fsyncs, renames;
 * on failure the temporary file is removed and an existing `path` is
 * untouched.  Returns 0 or < 0.
 */
CKPT_API int ckpt_save(const char *path, const ckpt_obj *root, const ckpt_save_opts *opts,
                       ckpt_error *err);
/* Save into a new memory buffer (free with free(), or with opts->alloc). */
CKPT_API int ckpt_save_mem(const ckpt_obj *root, const ckpt_save_opts *opts, void **out,
                           size_t *out_len, ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif
