/* src/torch/torch_internal.h - shared pieces of the torch mapping layer. */
#ifndef CKPT_TORCH_INTERNAL_H
#define CKPT_TORCH_INTERNAL_H

#include "ckpt/pickle.h"
#include "ckpt/torch.h"
#include "ckpt/zip.h"
#include "core/obj.h"

/* Globals the torch layer knows by meaning (ids stored in GLOBAL nodes). */
typedef enum tg_id {
    TG_UNKNOWN = 0,
    TG_ORDERED_DICT,
    TG_COUNTER,
    TG_PARAMETER,
    TG_GET_LAYOUT,
    TG_SIZE,
    TG_TENSOR,
    TG_DEVICE,
    TG_CODECS_ENCODE,
    TG_BYTEARRAY,
    TG_BYTES,
    TG_SET,
    TG_FROZENSET,
    TG_COMPLEX,
    TG_DTYPE,         /* torch.<dtype>: find_class returns a DTYPE node instead */
    TG_TENSOR_CLASS,  /* torch.FloatTensor, torch.cuda.FloatTensor, ... */
    TG_STORAGE_CLASS, /* torch.FloatStorage, torch.cuda.FloatStorage, ... */
    TG_TYPED_STORAGE,
    TG_UNTYPED_STORAGE,
    TG_QSCHEME,
    TG_REBUILD_PARAMETER,
    TG_REBUILD_PARAMETER_WITH_STATE,
    TG_REBUILD_QTENSOR,
    TG_REBUILD_TENSOR,
    TG_REBUILD_TENSOR_V2,
    TG_REBUILD_TENSOR_V3,
    TG_REBUILD_SPARSE_TENSOR,
    TG_REBUILD_SPARSE_CSR_TENSOR,
    TG_REBUILD_META_TENSOR_NO_STORAGE,
    TG_REBUILD_NESTED_TENSOR,
    TG_REBUILD_WRAPPER_SUBCLASS,
    TG_REBUILD_DEVICE_TENSOR_FROM_NUMPY,
    TG_REBUILD_DEVICE_TENSOR_FROM_CPU_TENSOR,
    TG_REBUILD_FROM_TYPE_V2,
    TG_COUNT
} tg_id;

/* Classify module.name (after Python-2 name mapping).  Returns the id, or
 * TG_UNKNOWN.  *allowed: on torch 2.x's weights-only allowlist (or one of
 * ckpt's inert additions).  *blocked: module is os/sys/posix/nt. */
int ckpt__torch_global_id(const char *module, const char *name, bool *allowed, bool *blocked);
/* Map Python-2 module names as pickle's fix_imports does ("__builtin__" ->
 * "builtins", "copy_reg" -> "copyreg"); returns the module to use. */
const char *ckpt__py3_module(const char *module);

/* The weights-only call rules, shared by the loader (unpickle.c) and the
 * scanner (scan.c) so that "scan clean" implies "weights-only load accepts".
 * Each returns NULL when weights-only mode performs the operation on an
 * allowlisted global with id `id` (a tg_id), otherwise why it refuses.
 * REDUCE: callable(*args) with nargs arguments. */
const char *ckpt__wo_reduce_refusal(int id, size_t nargs);
/* NEWOBJ/NEWOBJ_EX/OBJ/INST of the class with id `id`. */
const char *ckpt__wo_newobj_refusal(int id, int op, size_t nargs, bool has_kwargs);
/* BUILD on a dict of kind `dict_kind` (a ckpt_dict_kind), or pass -1 when the
 * target is not a dict. */
const char *ckpt__wo_build_dict_refusal(int dict_kind);
/* Bounded cost, shared by the loader and the scanner: the most document nodes
 * a pickle of pickle_bytes may make when it was read from stored_bytes of the
 * file (a deflated member's compressed size).  An opcode makes at most one
 * node and the hooks a few, so 4 per pickle byte never refuses a real file;
 * 64 per stored byte bounds a deflated bomb by the file, not its inflation. */
uint64_t ckpt__pickle_node_budget(uint64_t pickle_bytes, uint64_t stored_bytes);

/* Loader context shared by the pickle hooks and the archive reader. */
typedef struct st_entry {
    const char *key;
    ckpt_storage *st;
} st_entry;

/* What a document keeps open after an mmap or lazy load. */
typedef struct held {
    ckpt_source src; /* a private copy when the loader opened the file */
    bool own_src;
    const ckpt_source *srcp;
    ckpt_zip *zip;
    bool big_endian;
    bool verify_crc;
} held;

/* Container formats the loader knows. */
typedef enum tformat {
    TF_ZIP = 0,    /* torch.save default since 1.6 */
    TF_LEGACY = 1, /* _use_new_zipfile_serialization=False: magic, protocol, sys_info, pickle,
                      keys, raw storages */
    TF_TAR = 2     /* torch <= 0.1: tar with sys_info, pickle, tensors, storages */
} tformat;

typedef struct tload {
    ckpt_doc *doc;
    const ckpt_load_opts *opts;
    ckpt_load_opts defaults;
    const ckpt_source *src;
    ckpt_zip *zip;
    const char *label;
    bool big_endian;
    int format;        /* a tformat */
    uint64_t inflated; /* bytes of deflated storages read so far */
    /* map_location of the last tag seen (tags repeat: 'cpu' for every storage) */
    const char *last_tag;
    char last_where[128];
    char *last_loc; /* arena copy shared by storages with that location */
    /* zip format: storage by record (entry index), so each pid costs one lookup */
    ckpt_storage **by_entry;
    size_t by_entry_n;
    /* records named data/<n> by their number n (torch's keys are 0, 1, 2, ...) */
    const ckpt_zip_entry **by_num;
    size_t by_num_n;
    const char *rec_dir; /* storage records: "data/" (data.pkl) or "constants/" (constants.pkl) */
    /* storage key -> storage */
    st_entry *keys;
    size_t nkeys, keys_cap;
} tload;

/* Load a non-zip torch file (legacy stream or tar) into L->doc: sets the
 * root and fills every storage (copy mode).  Implemented in legacy_load.c. */
int ckpt__legacy_load(tload *L, ckpt_error *err);
/* Name what the bytes of `src` are, by content only (detect.c).  Returns a
 * fixed kind name (listed at ckpt_detect in ckpt/torch.h): "torch-zip",
 * "torchscript", "torchscript-lite", "torch-legacy", "torch-tar",
 * "pickle", "safetensors", "gguf", "npy", "npz", "zip", "tar", "onnx",
 * "onnx-tensor", "onnx-external-data", "truncated-zip", "truncated-safetensors", "newer-version",
 * "git-lfs-pointer", "html", "gzip", "text", "torch-preview", "empty",
 * "unreadable" or "unknown"; `why` (size n) receives a sentence saying what
 * the file is ("a git-LFS pointer file ..."), and `off` (may be NULL) the
 * byte offset that sentence is about (e.g. where a truncated file ends). */
const char *ckpt__detect(const ckpt_source *src, char *why, size_t n, uint64_t *off);
/* Storage key lookup shared by the zip and legacy paths (unpickle.c). */
ckpt_storage *ckpt__tload_storage(tload *L, const char *key);

/* Pickle hooks that map torch's globals (unpickle.c). */
void ckpt__torch_hooks(ckpt_pickle_hooks *h, tload *L);
/* Resolve a saved location tag through map_location; writes the result into
 * out. Returns 0, or < 0 with err set (e.g. CUDA without CUDA support). */
int ckpt__map_location(const ckpt_load_opts *o, const char *tag, char *out, size_t n,
                       ckpt_error *err);

/* save.c: the torch.save zip of `root` through `sink` (offsets from the sink's
 * start), for writers that put several archives in one file (DCP items). */
int ckpt__save_sink(ckpt_sink *sink, const ckpt_obj *root, const ckpt_save_opts *opts,
                    ckpt_error *err);

#endif
