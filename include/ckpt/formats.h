/*
 * ckpt/formats.h - checkpoint formats other than torch.save: NumPy .npy / .npz,
 * safetensors, GGUF, Hugging Face sharded checkpoints, torch.distributed.checkpoint
 * (DCP) folders, and one entry point that loads or saves any of them.
 *
 * NumPy (numpy.lib.format, format versions 1.0, 2.0 and 3.0):
 *   - a .npy file loads as a document whose root is ONE tensor (what
 *     np.load returns for it); a .npz archive (stored or deflated members,
 *     as np.savez / np.savez_compressed write) loads as a document whose root
 *     is a plain dict: member name without its ".npy" suffix -> tensor, in
 *     archive order.
 *   - dtypes: bool, int8..int64, uint8..uint64, float16/32/64, complex64/128,
 *     in either byte order (big-endian data is byte-swapped to native).  Any
 *     other dtype (object arrays, structured, strings, datetimes, long double)
 *     is refused with CKPT_E_UNSUPPORTED naming the file, member and dtype;
 *     object arrays are never unpickled.
 *   - fortran_order arrays keep their bytes and become strided tensors with
 *     column-major strides, as torch.from_numpy gives them.
 *   - 0-d and empty arrays are tensors with ndim 0 / numel 0.
 * Savers write exactly what np.save writes (format 1.0, the same header text
 * and padding): a C-contiguous tensor with fortran_order False, a tensor
 * that is column-major contiguous (and not row-major) with fortran_order True,
 * any other view copied to C order.  .npz archives have stored members
 * "<key>.npy" (as np.savez).  Files are replaced atomically (temporary file,
 * fsync, rename).
 *
 * Every function accepts err == NULL.
 */
#ifndef CKPT_FORMATS_H
#define CKPT_FORMATS_H

#include <stddef.h>

#include "ckpt/alloc.h"
#include "ckpt/core.h"
#include "ckpt/error.h"
#include "ckpt/export.h"
#include "ckpt/torch.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Load a .npy or .npz file (told apart by its first bytes).  `alloc` NULL =
 * libc.  Returns NULL on failure (CKPT_E_FORMAT for malformed input,
 * CKPT_E_UNSUPPORTED for a dtype ckpt does not map, CKPT_E_LIMIT for a shape
 * whose size overflows, CKPT_E_IO). */
CKPT_API ckpt_doc *ckpt_numpy_load(const char *path, const ckpt_alloc *alloc, ckpt_error *err);
/* Same over `n` bytes of caller memory (copied; `label` names it in errors). */
CKPT_API ckpt_doc *ckpt_numpy_load_mem(const void *buf, size_t n, const char *label,
                                       const ckpt_alloc *alloc, ckpt_error *err);

/* Write `tensor` as a .npy file at `path`, byte-identical to np.save. */
CKPT_API int ckpt_npy_save(const char *path, const ckpt_obj *tensor, ckpt_error *err);
/* Write the dict `dict` (str keys -> tensors) as a .npz archive at `path`. */
CKPT_API int ckpt_npz_save(const char *path, const ckpt_obj *dict, ckpt_error *err);

/* ============================================================ safetensors
 *
 * The format of huggingface/safetensors: an 8-byte little-endian header
 * length N, N bytes of JSON (a UTF-8 object, no duplicate keys), then the
 * data area.  Every entry but "__metadata__" is {"dtype", "shape",
 * "data_offsets": [begin, end]} relative to the data area; the entries tile
 * the data area from 0 without hole or overlap and the file ends at the last
 * one ("entirely indexed").  The header is at most 100 MB (the library's
 * limit).  dtypes: BOOL U8 I8 U16 I16 U32 I32 U64 I64 F16 BF16 F32 F64
 * F8_E4M3 F8_E5M2 (and C64, F8_E8M0 where ckpt has the dtype).
 * ckpt maps F8_E4M3 -> float8_e4m3fn, F8_E5M2 -> float8_e5m2, F8_E8M0 ->
 * float8_e8m0fnu, F8_E4M3FNUZ / F8_E5M2FNUZ -> the fnuz kinds, C64 ->
 * complex64; the sub-byte F4 / F6_E2M3 / F6_E3M2 are valid in a file but
 * load as CKPT_E_UNSUPPORTED.  Beyond the library's rules ckpt refuses
 * duplicate keys, a \u0000 in any string, numbers that are not plain
 * integers, dims or offsets above 2^53, nesting past 1000 levels, and
 * (CKPT_E_LIMIT) headers of more than 2^21 JSON values.
 *
 * Loaded document: root is an OrderedDict name -> tensor in header order
 * (the file's order of data offsets); ckpt_doc_metadata is a dict str -> str
 * (the "__metadata__" map) or NULL when the file has none.
 * Every error names the file, the byte offset (in the header JSON: the
 * offset of the header start, 8) and the tensor key.
 */
/* mode: CKPT_LOAD_COPY (owned bytes), CKPT_LOAD_MMAP (zero copy: storages are
 * slices of a read-only private mapping, released with the document) or
 * CKPT_LOAD_LAZY (bytes read on ckpt_tensor_data_load). */
CKPT_API ckpt_doc *ckpt_safetensors_load(const char *path, int mode, const ckpt_alloc *alloc,
                                         ckpt_error *err);
/* Over caller memory: COPY copies; MMAP/LAZY point into `buf`, which must
 * outlive the document. */
CKPT_API ckpt_doc *ckpt_safetensors_load_mem(const void *buf, size_t n, const char *label,
                                             int mode, const ckpt_alloc *alloc, ckpt_error *err);

typedef struct ckpt_st_save_opts {
    /* dict str -> str written as "__metadata__" (NULL: none).  Any other
     * value type is CKPT_E_ARG. */
    const ckpt_obj *metadata;
    /* Tensors that share storage (views of one another, or tied weights):
     * false (default) refuses them with CKPT_E_UNSUPPORTED naming the keys, as
     * safetensors' save_file does; true writes each one's own copy. */
    bool duplicate_shared;
    bool no_fsync;
} ckpt_st_save_opts;

/* Save a dict str -> tensor (any dict kind; nested dicts are refused) as
 * safetensors, laid out as the safetensors library lays it out (tensors ordered
 * by dtype alignment then name, header padded with spaces to a multiple of 8).
 * Non-contiguous tensors are written contiguous.  Atomic (temporary file,
 * fsync, rename).  opts NULL = defaults.  The header is serde_json's compact
 * text ("__metadata__" first, its entries in the dict's order; the library's
 * own order for two or more metadata keys is a Rust HashMap's, i.e. random).
 * Tensors must hold their bytes (a LAZY document's: ckpt_tensor_data_load
 * first).  _save_mem: *out is malloc'd, free() it. */
CKPT_API int ckpt_safetensors_save(const char *path, const ckpt_obj *dict,
                                   const ckpt_st_save_opts *opts, ckpt_error *err);
CKPT_API int ckpt_safetensors_save_mem(const ckpt_obj *dict, const ckpt_st_save_opts *opts,
                                       void **out, size_t *out_len, ckpt_error *err);

/* ==================================================================== GGUF
 *
 * llama.cpp's GGUF (versions 2 and 3 read, 3 written; little-endian files).
 * Loaded document: root is an OrderedDict tensor name -> tensor in the file's
 * tensor-info order.  Shapes are torch's order (GGUF's ne[] reversed).
 * ckpt_doc_metadata is an OrderedDict:
 *   "gguf.version"       -> int
 *   "gguf.kv"            -> OrderedDict key -> value, in file order: ints
 *                           (every integer type), floats, bools, strs, and
 *                           lists of those (arrays; nested arrays are lists);
 *   "gguf.kv_types"      -> dict key -> str, the GGUF value type name of each
 *                           key ("uint32", "float32", "array[string]", ...) so
 *                           that a re-save writes the same types;
 *   "gguf.tensor_types"  -> dict tensor name -> ggml type name ("F32", "Q4_K")
 *                           for every tensor.
 * F32/F16/BF16/F64/I8/I16/I32/I64 tensors load as those dtypes.  Quantized
 * ggml types load as their raw blocks: a uint8 tensor of shape
 * [d0, ..., d(n-2), row_bytes] (rows of the last torch dimension packed in
 * blocks), unless `dequantize` is set and ckpt can dequantize the type
 * (Q8_0 Q4_0 Q4_1 Q5_0 Q5_1 Q4_K Q6_K ...), in which case it loads as float32
 * of the logical shape.
 * ckpt dequantizes Q4_0 Q4_1 Q5_0 Q5_1 Q8_0 Q2_K Q3_K Q4_K Q5_K Q6_K Q8_K
 * (every other ggml type stays raw blocks even with `dequantize`).  Metadata
 * details: a uint64 value above INT64_MAX loads as the int with its bits
 * (negative) and is written back as the same uint64; a string that is not
 * UTF-8 loads as bytes; a nested array's type is spelled
 * "array[array[int32]]" ("array[array]" when the inner arrays' types differ
 * or it is empty: each inner array's type is then inferred on save).
 * general.alignment must be a power of 2 of at most 1 MiB (more is
 * CKPT_E_LIMIT, on load and on save: ggml accepts any power of 2, but a huge
 * one only pads).  Tensor offsets must be multiples of the alignment, inside
 * the file and not overlapping (any order).  Every error names the file, the byte offset and
 * the key or tensor.  MMAP over a file gives CKPT_HOLD_MAPPED storages (over
 * ckpt_gguf_load_mem: CKPT_HOLD_BORROWED); dequantized tensors, and tensors
 * whose data is not aligned for their dtype (general.alignment < 8), are
 * copied.
 */
CKPT_API ckpt_doc *ckpt_gguf_load(const char *path, int mode, bool dequantize,
                                  const ckpt_alloc *alloc, ckpt_error *err);
CKPT_API ckpt_doc *ckpt_gguf_load_mem(const void *buf, size_t n, const char *label, int mode,
                                      bool dequantize, const ckpt_alloc *alloc, ckpt_error *err);

typedef struct ckpt_gguf_save_opts {
    /* the "gguf.kv" / "gguf.kv_types" / "gguf.tensor_types" metadata layout
     * above (NULL: general.alignment only).  A tensor typed Q8_0 or Q4_0 there
     * that is a floating tensor is quantized; a uint8 raw-block tensor is
     * written as the type named. */
    const ckpt_obj *metadata;
    uint32_t alignment; /* 0 = 32, or general.alignment from metadata */
    bool no_fsync;
} ckpt_gguf_save_opts;

/* Save a dict str -> tensor as GGUF v3, laid out as ggml's gguf_write_to_file
 * (tensor infos in dict order, n_dims = the tensor's ndim <= 4, offsets packed
 * in order, zero padding to the alignment after the header and after every
 * tensor).  Value types come from "gguf.kv_types"; a key without one is
 * written as bool / int32 (int64 outside its range) / float32 (float64 when
 * not exactly a float) / string / array of those.  Tensor types: the
 * tensor's dtype (F32 F16 BF16 F64 I8 I16 I32 I64; other dtypes are
 * CKPT_E_UNSUPPORTED naming the key), or "gguf.tensor_types" (a float tensor
 * converted to another float type or quantized to Q8_0/Q4_0; a uint8 tensor
 * of raw blocks written as the named type).  Tensor data must be in memory
 * (a LAZY tensor not yet read is CKPT_E_ARG).  A load -> save of a file whose
 * layout is ggml's is byte-identical.  Atomic. */
CKPT_API int ckpt_gguf_save(const char *path, const ckpt_obj *dict,
                            const ckpt_gguf_save_opts *opts, ckpt_error *err);

/* ggml type ids (ggml.h's enum ggml_type), names and sizes. */
CKPT_API const char *ckpt_ggml_type_name(int ggml_type); /* NULL if unknown */
CKPT_API int ckpt_ggml_type_from_name(const char *name); /* -1 if unknown */
/* Bytes of `n` elements of the type (n a multiple of its block size), or 0. */
CKPT_API uint64_t ckpt_ggml_nbytes(int ggml_type, int64_t n);
/* Dequantize `n` elements (a multiple of the block size) from `src`
 * (`src_len` bytes, checked) into `dst`.  CKPT_E_UNSUPPORTED for a type ckpt
 * cannot dequantize. */
CKPT_API int ckpt_ggml_dequantize(int ggml_type, const void *src, size_t src_len, float *dst,
                                  int64_t n, ckpt_error *err);
/* Quantize n float32 values to Q8_0 or Q4_0 as ggml's reference quantizer. */
CKPT_API int ckpt_ggml_quantize(int ggml_type, const float *src, int64_t n, void *dst,
                                size_t dst_len, ckpt_error *err);

/* ================================================ Hugging Face sharded
 *
 * A folder (or its index file) of shards, as transformers' save_pretrained
 * writes it: "model.safetensors.index.json" (or "pytorch_model.bin.index.json")
 * = {"metadata": {"total_size": N, ...}, "weight_map": {key: shard file}} next
 * to model-00001-of-0000N.safetensors (pytorch_model-00001-of-0000N.bin) shards,
 * or a folder with one unsharded model.safetensors / pytorch_model.bin.
 * Loaded document: root is an OrderedDict key -> tensor (shard by shard, in
 * each shard's order); ckpt_doc_metadata is the index's "metadata" dict.
 * Loading reads every shard's header (its tensor table) and no tensor bytes:
 * storages are CKPT_HOLD_LAZY, a shard is opened when one of its tensors is
 * read (ckpt_tensor_data_load).  A weight_map that names a missing shard, a
 * key not in its shard, or a shard key not in the weight_map is an error.
 */
/* opts: weights-only, map_location, limits, alloc as ckpt_load; the mode is
 * always LAZY (at most one shard is open at a time: the last one read from).
 * A shard replaced after the load is refused when read (device, inode, size,
 * mtime).  Index shard names must stay inside the folder (no absolute path,
 * no "..", no symlink leading out); duplicate JSON keys and "\u0000" are
 * refused.  Quantized tensors are refused; legacy (pre-1.6) .bin files load
 * eagerly at first read of the shard. */
CKPT_API ckpt_doc *ckpt_hf_load(const char *path, const ckpt_load_opts *opts, ckpt_error *err);

typedef struct ckpt_hf_save_opts {
    uint64_t max_shard_size;  /* bytes; 0 = 5 GB (transformers' "5GB" = 5 * 10^9) */
    bool bin;                 /* pytorch_model-*.bin shards (torch zip) instead of safetensors */
    const ckpt_obj *metadata; /* extra index "metadata" entries (dict str -> value) */
    bool duplicate_shared;    /* as ckpt_st_save_opts */
    bool no_fsync;
    /* added by h-hf: */
    /* the document that owns `dict`'s tensors, when some are lazy (an HF or
     * torch LAZY load): their bytes are read while their shard is written and
     * dropped again after it, so a conversion holds about one shard in memory.
     * NULL: every tensor must hold its bytes. */
    ckpt_doc *source;
    const ckpt_save_opts *torch; /* .bin shards: layout etc. (NULL = ckpt_save defaults) */
} ckpt_hf_save_opts;

/* Save a dict str -> tensor into folder `dir` (created if missing) sharded
 * and named exactly as transformers' save_pretrained does (src/store/hf.c
 * cites the versions): the huggingface_hub split (state-dict order, a tensor
 * over max_shard_size alone, tensors sharing a storage together, sizes =
 * storage bytes), "model-00001-of-00003.safetensors" with {"format": "pt"}
 * or "pytorch_model-00001-of-00003.bin" (torch.save of a plain dict of
 * contiguous tensors), the index as json.dumps(indent=2, sort_keys=True) +
 * "\n" with metadata {"total_size": ...}; one shard: model.safetensors /
 * pytorch_model.bin and no index.  safetensors: tensors that share memory
 * with overlapping bytes are CKPT_E_UNSUPPORTED unless duplicate_shared
 * (disjoint views are written as copies, as transformers clones them).
 * A new folder appears whole (written beside it, renamed); in an existing
 * folder each file is replaced atomically, shards first, the index last, then
 * the files of an earlier save are removed (transformers' rule, plus the
 * stale index / unsharded file of the same kind). */
CKPT_API int ckpt_hf_save(const char *dir, const ckpt_obj *dict, const ckpt_hf_save_opts *opts,
                          ckpt_error *err);

/* What a load found (added by h-hf), for `ckpt verify` / `ckpt show`. */
typedef struct ckpt_hf_report {
    int format;   /* CKPT_FMT_HF or CKPT_FMT_HF_BIN */
    bool sharded; /* read through an index */
    size_t shards, tensors;
    bool has_total_size; /* the index's metadata.total_size is a number */
    uint64_t total_size;
    uint64_t storage_bytes; /* sum of the shards' storage bytes (what hub >= 0.24 writes) */
    uint64_t tensor_bytes;  /* sum of numel x element size (what older hub wrote) */
    /* total_size absent or equal to one of the two sums.  transformers ignores
     * total_size on load, and so does ckpt_hf_load: a mismatch is only this note */
    bool total_size_ok;
} ckpt_hf_report;

/* ckpt_hf_load that also fills *report (may be NULL). */
CKPT_API ckpt_doc *ckpt_hf_load_report(const char *path, const ckpt_load_opts *opts,
                                       ckpt_hf_report *report, ckpt_error *err);
/* The shard file (as the weight_map names it) a tensor of a document from
 * ckpt_hf_load is read from; NULL for other documents or tensors. */
CKPT_API const char *ckpt_hf_tensor_shard(const ckpt_doc *doc, const ckpt_obj *tensor);

/* ==================================== torch.distributed.checkpoint (DCP)
 *
 * A DCP folder as torch 2.x's FileSystemWriter writes it: ".metadata" (a
 * pickle of torch.distributed.checkpoint.metadata.Metadata, read with an
 * allowlist of those dataclasses only) and "__<rank>_<i>.distcp" files whose
 * items (each a torch.save archive of one tensor chunk, or raw bytes) are
 * located by offset and length.
 *
 * ckpt follows torch 2.5's torch/distributed/checkpoint (metadata.py,
 * filesystem.py, default_planner.py, _traverse.py):
 *   - ".metadata" is unpickled by ckpt's own VM with an allowlist of exactly
 *     Metadata, TensorStorageMetadata, BytesStorageMetadata,
 *     ChunkStorageMetadata, TensorProperties (also its torch <= 2.1 path),
 *     MetadataIndex, StorageMeta, _MEM_FORMAT_ENCODING (called with its value,
 *     or named through builtins.getattr as Python >= 3.11 pickles an Enum),
 *     filesystem._StorageInfo, torch.Size, torch dtypes, torch layouts (also as
 *     torch.serialization._get_layout("torch.strided")) and memory formats,
 *     pathlib.PosixPath (StorageMeta.checkpoint_id).  Anything else is
 *     CKPT_E_UNSAFE; nothing is ever called.
 *   - every chunk must lie inside its tensor's size, chunks must not overlap,
 *     every item needs a storage_data entry whose relative_path is a plain
 *     file name in the folder and whose [offset, offset + length) lies inside
 *     that file (CKPT_E_FORMAT naming the file, offset and fqn); items with
 *     transform_descriptors (torch >= 2.7 compression) are CKPT_E_UNSUPPORTED.
 *   - writing: "__<rank>_0.distcp" holds bytes items first, then tensor
 *     chunks, each a torch.save archive (ckpt's TORCH21 record set, archive
 *     name "archive"); ".metadata" is a protocol-2 pickle with torch's class
 *     paths and field order (Metadata: state_dict_metadata, planner_data
 *     (fqn -> flatten path tuple), storage_data (MetadataIndex(fqn, index,
 *     offset) -> _StorageInfo), storage_meta), written atomically.
 * The plan of ckpt_dcp_write_rank is ckpt's own little-endian blob ("CKDCPPL1",
 * rank, items with fqn, dtype, global shape, chunk offsets/sizes, file range
 * and flatten path), checked when decoded.
 */
typedef struct ckpt_dcp ckpt_dcp;

/* One entry of the metadata's state_dict_metadata. */
typedef struct ckpt_dcp_entry {
    const char *fqn;
    bool is_bytes; /* BytesStorageMetadata: a torch.save'd non-tensor value */
    int dtype;     /* tensors (CKPT_DTYPE_UNKNOWN for bytes entries) */
    int ndim;
    const int64_t *shape; /* global size */
    size_t nchunks;       /* chunks of the global tensor stored in the files */
    bool requires_grad;
} ckpt_dcp_entry;

CKPT_API ckpt_dcp *ckpt_dcp_open(const char *dir, ckpt_error *err);
CKPT_API void ckpt_dcp_close(ckpt_dcp *d);
CKPT_API size_t ckpt_dcp_count(const ckpt_dcp *d);
CKPT_API const ckpt_dcp_entry *ckpt_dcp_entry_at(const ckpt_dcp *d, size_t i);
CKPT_API const ckpt_dcp_entry *ckpt_dcp_find(const ckpt_dcp *d, const char *fqn);
/* Where the bytes of entry i's chunk k lie (k = 0 for a bytes entry): the file
 * name inside the folder, the offset and the length (checked against the file
 * when the folder was opened).  Returns 0 or CKPT_E_ARG. */
CKPT_API int ckpt_dcp_item_location(const ckpt_dcp *d, size_t i, size_t k, const char **file,
                                    uint64_t *offset, uint64_t *length);
/* Read the box [offsets, offsets + sizes) of tensor `fqn` (global coordinates)
 * into `dst` as a C-contiguous array of its dtype, assembled from whatever
 * chunks cover it (resharding).  A box not fully covered is CKPT_E_FORMAT. */
CKPT_API int ckpt_dcp_read_box(ckpt_dcp *d, const char *fqn, const int64_t *offsets,
                               const int64_t *sizes, void *dst, size_t dst_size, ckpt_error *err);
/* The whole checkpoint as one state dict: OrderedDict fqn -> tensor (global
 * shape, chunks reassembled) or -> the unpickled value of a bytes entry
 * (weights-only).  Nested state dicts keep DCP's flattened dotted fqns. */
CKPT_API ckpt_doc *ckpt_dcp_load(const char *dir, const ckpt_alloc *alloc, ckpt_error *err);

/* One item a rank contributes to a save: a tensor chunk, or a whole value. */
typedef struct ckpt_dcp_item {
    const char *fqn;
    const ckpt_obj *tensor;      /* this rank's chunk (any strides), or NULL for `value` */
    int ndim;                    /* of the global tensor */
    const int64_t *global_shape; /* NULL = the chunk is the whole tensor */
    const int64_t *offsets;      /* chunk offset in the global tensor; NULL = zeros */
    const ckpt_obj *value;       /* non-tensor value (torch.save'd as a bytes item) */
} ckpt_dcp_item;

/* Write rank `rank`'s file "__<rank>_0.distcp" into `dir` (fsynced) and return
 * in *plan (malloc'd, *plan_len bytes; free()) an opaque description of what
 * it wrote, to be gathered to one process.  Items whose fqn and chunk another
 * rank also writes are the caller's business (DCP's planner dedups them). */
CKPT_API int ckpt_dcp_write_rank(const char *dir, int rank, const ckpt_dcp_item *items, size_t n,
                                 void **plan, size_t *plan_len, ckpt_error *err);
/* Combine every rank's plan and write "<dir>/.metadata" (fsynced). */
CKPT_API int ckpt_dcp_write_metadata(const char *dir, const void *const *plans,
                                     const size_t *plan_lens, int nranks, ckpt_error *err);
/* Replace folder `dir` by the finished folder `tmpdir` atomically
 * (renameat2 RENAME_EXCHANGE when `dir` exists, then the old one is removed;
 * plain rename otherwise), fsyncing the parent. */
CKPT_API int ckpt_dcp_commit(const char *tmpdir, const char *dir, ckpt_error *err);
/* One process: a state dict (dict str -> tensor or value; nested dicts are
 * flattened with '.' as DCP's flatten_state_dict does) as a DCP folder written
 * by one rank, atomically (temporary folder, commit). */
CKPT_API int ckpt_dcp_save(const char *dir, const ckpt_obj *state_dict, ckpt_error *err);

/* ========================================================= any format */

typedef enum ckpt_format {
    CKPT_FMT_UNKNOWN = 0,
    CKPT_FMT_ZIP,         /* torch.save zip (torch >= 1.6) */
    CKPT_FMT_LEGACY,      /* torch.save legacy (and tar) */
    CKPT_FMT_SAFETENSORS, /* .safetensors */
    CKPT_FMT_GGUF,        /* .gguf */
    CKPT_FMT_NPY,         /* .npy */
    CKPT_FMT_NPZ,         /* .npz */
    CKPT_FMT_HF,          /* folder of safetensors shards + model.safetensors.index.json */
    CKPT_FMT_HF_BIN,      /* folder of .bin shards + pytorch_model.bin.index.json */
    CKPT_FMT_DCP,         /* torch.distributed.checkpoint folder */
    CKPT_FMT_ONNX,        /* .onnx (initializers; read only here) */
    CKPT_FMT_COUNT
} ckpt_format;

/* "zip", "legacy", "safetensors", "gguf", "npy", "npz", "hf", "hf-bin", "dcp",
 * "onnx"; NULL for an unknown value. */
CKPT_API const char *ckpt_format_name(int format);
CKPT_API int ckpt_format_from_name(const char *name); /* CKPT_FMT_UNKNOWN if none */
/* What is at `path`, by content: a file by ckpt_detect, a folder by its index
 * file or ".metadata", an "*.index.json" file as its folder.  CKPT_FMT_UNKNOWN
 * with *why set when none. */
CKPT_API int ckpt_format_detect(const char *path, char *why, size_t whyn);
/* The format a path to be written names by its extension (.pt/.pth/.bin/.ckpt
 * -> zip, .safetensors, .gguf, .npy, .npz), CKPT_FMT_UNKNOWN otherwise. */
CKPT_API int ckpt_format_from_extension(const char *path);

/* Load any of the formats above (ckpt_format_detect); `opts` as ckpt_load
 * (NULL = defaults: weights-only, copy; mode MMAP/LAZY where the format has
 * it).  ckpt_doc_metadata carries the format's metadata. */
CKPT_API ckpt_doc *ckpt_load_any(const char *path, const ckpt_load_opts *opts, ckpt_error *err);

typedef struct ckpt_save_any_opts {
    int format;                  /* a ckpt_format; UNKNOWN = from the path's extension */
    const ckpt_save_opts *torch; /* zip/legacy options (NULL = defaults) */
    const ckpt_obj *metadata;    /* the format's metadata (ckpt_doc_metadata layout) */
    uint64_t max_shard_size;     /* hf, hf-bin */
    bool duplicate_shared;       /* safetensors, hf */
    bool no_fsync;
} ckpt_save_any_opts;

/* Save `root` in the chosen format.  A root the format cannot hold (not a
 * flat dict of tensors for safetensors/GGUF/npz/hf, a non-tensor value...) is
 * CKPT_E_UNSUPPORTED naming the first key that cannot be carried. */
CKPT_API int ckpt_save_any(const char *path, const ckpt_obj *root, const ckpt_save_any_opts *opts,
                           ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif
