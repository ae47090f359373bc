/* src/core/obj.h - internal layout of documents, nodes, storages and tensors.
 *
 * Shared by the layers above core (pickle, torch) for speed; the public API
 * in include/ckpt/core.h is the only way in for the CLI and users. */
#ifndef CKPT_CORE_OBJ_H
#define CKPT_CORE_OBJ_H

#include <stdbool.h>
#include <stdint.h>

#include "ckpt/core.h"
#include "mem.h"

typedef struct ckpt__dict {
    ckpt_obj **keys;
    ckpt_obj **vals;
    size_t n, cap;
    uint32_t *hashes; /* per entry: its key's hash (folded to 32 bits) */
    uint32_t *index;  /* open addressing: entry index + 1, 0 = empty; NULL while small */
    size_t index_cap;
    ckpt_obj *attrs; /* BUILD state applied to an OrderedDict (a plain dict) */
    int kind;        /* ckpt_dict_kind */
} ckpt__dict;

typedef struct ckpt__tensor {
    int dtype;
    int ndim;
    int64_t *shape;
    int64_t *stride;
    int64_t offset;
    ckpt_storage *storage;
    bool requires_grad;
    bool is_param;
    bool param_requires_grad;
    ckpt_obj *qparams;     /* _rebuild_qtensor quantizer params (tuple), else NULL */
    ckpt_obj *meta;        /* _rebuild_tensor_v2/v3 7th argument when non-empty, else NULL */
    ckpt_obj *param_state; /* _rebuild_parameter_with_state state, else NULL */
} ckpt__tensor;

typedef struct ckpt__object {
    ckpt_obj *cls;    /* GLOBAL node */
    ckpt_obj *args;   /* tuple or NULL */
    ckpt_obj *kwargs; /* NEWOBJ_EX kwargs or NULL */
    ckpt_obj *state;  /* BUILD argument or NULL */
    ckpt_obj *items;  /* list or dict of APPEND/SETITEM items, or NULL */
    const char *how;
} ckpt__object;

struct ckpt_obj {
    uint8_t type;  /* ckpt_type */
    uint8_t flags; /* CKPT__F_* */
    union {
        bool b;
        int64_t i;
        double f;
        struct {
            double re, im;
        } c;
        struct {
            char *p; /* NUL-terminated copy */
            size_t n;
        } s;
        struct {
            ckpt_obj **items;
            size_t n, cap;
        } seq; /* TUPLE, LIST, SET */
        ckpt__dict *dict;
        ckpt__tensor *t;
        struct {
            int64_t *dims;
            size_t n;
        } size;
        int dtype;
        struct {
            char *type;
            int64_t index;
        } dev;
        struct {
            char *module;
            char *name;
            int id; /* torch layer's known-global id, 0 = unknown */
        } g;
        ckpt__object *obj;
        ckpt_storage *st;
    } u;
};

/* node flags */
#define CKPT__F_FROZEN 0x01 /* built by the VM's TUPLE opcodes: immutable */

struct ckpt_storage {
    int dtype;
    bool untyped;
    uint64_t nbytes;
    uint8_t *data;
    int hold;             /* ckpt_hold */
    char *key;            /* record key it came from */
    char *location;       /* device tag after map_location */
    uint64_t file_offset; /* where the bytes are in the file (data offset of the record) */
    const void *entry;    /* loader's record handle (a ckpt_zip_entry), or NULL */
    uint32_t id;          /* index in doc->storages */
};

/* Fetches a lazy storage's bytes (set by the loader). */
typedef int (*ckpt__fetch_fn)(void *ctx, ckpt_doc *doc, ckpt_storage *s, ckpt_error *err);

struct ckpt_doc {
    ckpt__mem mem;
    ckpt__arena arena;
    ckpt_obj *root;
    ckpt_obj *metadata; /* format-level metadata (ckpt_doc_metadata), or NULL */
    ckpt_storage **storages;
    size_t nstorages, storages_cap;
    uint64_t node_count;
    /* resources released with the document (file mapping etc.) */
    void (*release)(void *ctx);
    void *release_ctx;
    ckpt__fetch_fn fetch;
    void *fetch_ctx;
};

ckpt_doc *ckpt__doc_new(const ckpt_alloc *alloc, uint64_t limit);
ckpt_obj *ckpt__node(ckpt_doc *doc, int type);
/* Register an existing storage struct allocated in the arena. */
ckpt_storage *ckpt__storage_new(ckpt_doc *doc, int dtype, bool untyped, uint64_t nbytes);
/* Owned bytes for a storage (counted against the doc's limit). */
int ckpt__storage_alloc_data(ckpt_doc *doc, ckpt_storage *s, bool zero, ckpt_error *err);
/* Tensor node with shape/stride copied; no bounds check. */
ckpt_obj *ckpt__tensor_new(ckpt_doc *doc, ckpt_storage *s, int dtype, int ndim,
                           const int64_t *shape, const int64_t *stride, int64_t offset);
/* Check a view against its storage: returns 0 or CKPT_E_SHAPE/FORMAT with a message. */
int ckpt__tensor_check_bounds(const ckpt__tensor *t, ckpt_error *err);
/* Hash and equality of hashable nodes (Python semantics for numbers). */
bool ckpt__obj_hashable(const ckpt_obj *o);
uint64_t ckpt__obj_hash(const ckpt_obj *o);
bool ckpt__obj_equal(const ckpt_obj *a, const ckpt_obj *b);
/* Append for LIST/SET/TUPLE under construction. */
int ckpt__seq_push(ckpt_doc *doc, ckpt_obj *seq, ckpt_obj *item);
/* dict insert returning CKPT_E_NOMEM/ARG. */
int ckpt__dict_set(ckpt_doc *doc, ckpt_obj *dict, ckpt_obj *key, ckpt_obj *value);
/* Element count of shape (checked); false on overflow or negative dims. */
bool ckpt__numel(int ndim, const int64_t *shape, int64_t *out);
/* Python repr of a float into buf (shortest round-trip). */
void ckpt__float_repr(double v, char *buf, size_t n);
/* Dtype storage class name ("FloatStorage") or NULL for v3 dtypes. */
const char *ckpt__dtype_storage_name(int dtype);
int ckpt__dtype_from_storage_name(const char *name);
bool ckpt__dtype_is_quantized(int dtype);

#endif
