/* src/store/dcp_meta.c - the ".metadata" pickle of a DCP folder: read with
 * a dedicated allowlist (the Metadata dataclasses of torch 2.5's
 * torch/distributed/checkpoint/metadata.py and filesystem._StorageInfo,
 * torch.Size, torch dtypes and layouts; nothing else), never executing
 * anything; and written as torch's FileSystemWriter.finish would pickle it.
 * Also the rank plans (ckpt_dcp_write_rank's opaque blob). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/err.h"
#include "core/mem.h"
#include "core/obj.h"
#include "core/utf8.h"
#include "ckpt/pickle.h"
#include "dcp_internal.h"
#include "pickle/emit.h"

#define MOD_MD "torch.distributed.checkpoint.metadata"
#define MOD_FS "torch.distributed.checkpoint.filesystem"
/* torch <= 2.1 kept TensorProperties here (same __getstate__) */
#define MOD_OLD_TP "torch.distributed._shard.sharded_tensor.metadata"

/* ------------------------------------------------------------- allowlist */

enum {
    K_NONE = 0,
    K_METADATA,
    K_TSM,      /* TensorStorageMetadata */
    K_BSM,      /* BytesStorageMetadata */
    K_CHUNK,    /* ChunkStorageMetadata */
    K_TPROPS,   /* TensorProperties */
    K_INDEX,    /* MetadataIndex */
    K_SMETA,    /* StorageMeta */
    K_SINFO,    /* filesystem._StorageInfo */
    K_MEMFMT,   /* _MEM_FORMAT_ENCODING (an Enum: called with its value) */
    K_SIZE,     /* torch.Size */
    K_LAYOUT,   /* torch.strided ... (an inert global) */
    K_MEMORY,   /* torch.contiguous_format ... */
    K_PATH,     /* pathlib.PosixPath (StorageMeta.checkpoint_id) */
    K_GETATTR,  /* builtins.getattr(_MEM_FORMAT_ENCODING, "TORCH_..."): how Python >= 3.11
                   pickles an Enum member (Enum.__reduce_ex__); refused on anything else */
    K_GETLAYOUT /* torch.serialization._get_layout("torch.strided"): how torch 2.x
                   pickles a torch.layout (copyreg.pickle in serialization.py) */
};

static const struct {
    const char *module, *name;
    int kind;
} allow[] = {
    {MOD_MD, "Metadata", K_METADATA},
    {MOD_MD, "TensorStorageMetadata", K_TSM},
    {MOD_MD, "BytesStorageMetadata", K_BSM},
    {MOD_MD, "ChunkStorageMetadata", K_CHUNK},
    {MOD_MD, "TensorProperties", K_TPROPS},
    {MOD_MD, "MetadataIndex", K_INDEX},
    {MOD_MD, "StorageMeta", K_SMETA},
    {MOD_MD, "_MEM_FORMAT_ENCODING", K_MEMFMT},
    {MOD_OLD_TP, "TensorProperties", K_TPROPS},
    {MOD_OLD_TP, "MEM_FORMAT_ENCODING", K_MEMFMT},
    {MOD_FS, "_StorageInfo", K_SINFO},
    {"torch", "Size", K_SIZE},
    {"torch", "strided", K_LAYOUT},
    {"torch", "sparse_coo", K_LAYOUT},
    {"torch", "sparse_csr", K_LAYOUT},
    {"torch", "_mkldnn", K_LAYOUT},
    {"torch", "contiguous_format", K_MEMORY},
    {"torch", "channels_last", K_MEMORY},
    {"torch", "preserve_format", K_MEMORY},
    {"torch.serialization", "_get_layout", K_GETLAYOUT},
    {"builtins", "getattr", K_GETATTR},
    {"__builtin__", "getattr", K_GETATTR}, /* protocol < 3 (pickle's fix_imports) */
    {"pathlib", "PosixPath", K_PATH},
    {"pathlib", "PurePosixPath", K_PATH},
};

typedef struct mctx {
    const char *label;
} mctx;

static int kind_of_global(const ckpt_obj *g)
{
    if (!g || g->type != CKPT_T_GLOBAL)
        return K_NONE;
    for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
        if (!strcmp(g->u.g.module, allow[i].module) && !strcmp(g->u.g.name, allow[i].name))
            return allow[i].kind;
    return K_NONE;
}

static ckpt_obj *h_find_class(void *ctx, ckpt_doc *doc, const char *module, const char *name,
                              int op, uint64_t off, ckpt_error *err)
{
    mctx *M = ctx;
    (void)op;
    if (!strcmp(module, "torch")) {
        int dt = ckpt_dtype_from_name(name);
        if (dt >= 0 && strcmp(name, "Size") != 0)
            return ckpt_dtype_new(doc, dt);
    }
    for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
        if (!strcmp(module, allow[i].module) && !strcmp(name, allow[i].name))
            return ckpt_global_new(doc, module, name);
    CKPT_FAIL_AT(err, CKPT_E_UNSAFE, CKPT_WHERE_PICKLE, M->label, off,
                 "global %s.%s is not allowed in a DCP .metadata", module, name);
    return NULL;
}

static ckpt_obj *new_object(ckpt_doc *doc, ckpt_obj *cls, ckpt_obj *args, const char *how)
{
    ckpt_obj *o = ckpt__node(doc, CKPT_T_OBJECT);
    if (!o || !(o->u.obj = ckpt__arena_calloc(&doc->arena, sizeof(ckpt__object))))
        return NULL;
    o->u.obj->cls = cls;
    o->u.obj->args = args;
    o->u.obj->how = how;
    return o;
}

static ckpt_obj *h_newobj(void *ctx, ckpt_doc *doc, ckpt_obj *cls, ckpt_obj *args,
                          ckpt_obj *kwargs, int op, uint64_t off, ckpt_error *err)
{
    mctx *M = ctx;
    int k = kind_of_global(cls);
    if (op != CKPT_OP_NEWOBJ || kwargs || k < K_METADATA || k > K_SINFO ||
        ckpt_obj_len(args) != 0) {
        CKPT_FAIL_AT(err, CKPT_E_UNSAFE, CKPT_WHERE_PICKLE, M->label, off,
                     "%s of %s is not a DCP dataclass instance", ckpt_pickle_op_name(op),
                     cls->type == CKPT_T_GLOBAL ? cls->u.g.name : ckpt_type_name(cls->type));
        return NULL;
    }
    ckpt_obj *o = new_object(doc, cls, args, "newobj");
    if (!o)
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    return o;
}

static bool all_ints(const ckpt_obj *t)
{
    for (size_t i = 0; i < ckpt_obj_len(t); i++)
        if (ckpt_obj_item(t, i)->type != CKPT_T_INT)
            return false;
    return true;
}

static ckpt_obj *h_reduce(void *ctx, ckpt_doc *doc, ckpt_obj *callable, ckpt_obj *args, int op,
                          uint64_t off, ckpt_error *err)
{
    mctx *M = ctx;
    (void)op;
    int k = kind_of_global(callable);
    size_t na = ckpt_obj_len(args);
    if (k == K_SIZE && na == 1) {
        const ckpt_obj *t = ckpt_obj_item(args, 0);
        if ((t->type == CKPT_T_TUPLE || t->type == CKPT_T_LIST) && all_ints(t) &&
            ckpt_obj_len(t) <= 64) {
            int64_t dims[64];
            for (size_t i = 0; i < ckpt_obj_len(t); i++)
                dims[i] = ckpt_obj_int(ckpt_obj_item(t, i));
            ckpt_obj *s = ckpt_size_new(doc, ckpt_obj_len(t), dims);
            if (!s)
                CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            return s;
        }
    } else if (k == K_MEMFMT && na == 1 && ckpt_obj_item(args, 0)->type == CKPT_T_INT) {
        ckpt_obj *o = ckpt_int_new(doc, ckpt_obj_int(ckpt_obj_item(args, 0)));
        if (!o)
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return o;
    } else if (k == K_GETATTR && na == 2 && kind_of_global(ckpt_obj_item(args, 0)) == K_MEMFMT &&
               ckpt_obj_item(args, 1)->type == CKPT_T_STR) {
        static const char *const members[] = {"TORCH_CONTIGUOUS_FORMAT", "TORCH_CHANNELS_LAST",
                                              "TORCH_PRESERVE_FORMAT"};
        const char *s = ckpt_obj_str(ckpt_obj_item(args, 1), NULL);
        for (int i = 0; i < 3; i++)
            if (!strcmp(s, members[i])) {
                ckpt_obj *o = ckpt_int_new(doc, i);
                if (!o)
                    CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
                return o;
            }
    } else if (k == K_GETLAYOUT && na == 1 && ckpt_obj_item(args, 0)->type == CKPT_T_STR) {
        const char *s = ckpt_obj_str(ckpt_obj_item(args, 0), NULL);
        for (size_t i = 0; i < sizeof(allow) / sizeof(allow[0]); i++)
            if (allow[i].kind == K_LAYOUT && !strncmp(s, "torch.", 6) &&
                !strcmp(s + 6, allow[i].name)) {
                ckpt_obj *o = ckpt_global_new(doc, "torch", allow[i].name);
                if (!o)
                    CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
                return o;
            }
    } else if (k == K_PATH) {
        for (size_t i = 0; i < na; i++)
            if (ckpt_obj_item(args, i)->type != CKPT_T_STR)
                goto refuse;
        ckpt_obj *o = new_object(doc, callable, args, "path");
        if (!o)
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return o;
    }
refuse:
    CKPT_FAIL_AT(err, CKPT_E_UNSAFE, CKPT_WHERE_PICKLE, M->label, off,
                 "call of %s is not allowed in a DCP .metadata",
                 callable->type == CKPT_T_GLOBAL ? callable->u.g.name
                                                 : ckpt_type_name(callable->type));
    return NULL;
}

static int h_build(void *ctx, ckpt_doc *doc, ckpt_obj *obj, ckpt_obj *state, int op, uint64_t off,
                   ckpt_error *err)
{
    mctx *M = ctx;
    (void)doc;
    (void)op;
    if (obj->type != CKPT_T_OBJECT || obj->u.obj->state || !obj->u.obj->how ||
        strcmp(obj->u.obj->how, "newobj") != 0)
        return CKPT_FAIL_AT(err, CKPT_E_UNSAFE, CKPT_WHERE_PICKLE, M->label, off,
                            "BUILD of a %s is not allowed", ckpt_type_name(obj->type));
    int k = kind_of_global(obj->u.obj->cls);
    bool ok = state->type == CKPT_T_DICT || (k == K_TPROPS && state->type == CKPT_T_TUPLE);
    if (!ok)
        return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_PICKLE, M->label, off,
                            "state of %s is a %s", obj->u.obj->cls->u.g.name,
                            ckpt_type_name(state->type));
    obj->u.obj->state = state;
    return 0;
}

/* ------------------------------------------------------------ interpret */

typedef struct interp {
    const char *label;
    ckpt_error *err;
    ckpt__dcp_meta *m;
} interp;

static int bad_finish(interp *I, const char *fqn, int rc)
{
    ckpt__error_set_file(I->err, I->label);
    if (fqn)
        ckpt__error_prefix_key(I->err, fqn);
    return rc;
}
#define BAD(I, fqn, ...)                                                                         \
    bad_finish((I), (fqn),                                                                       \
               CKPT_FAIL_AT((I)->err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, 0, __VA_ARGS__))

static const ckpt_obj *field(const ckpt_obj *o, const char *name)
{
    const ckpt_obj *st = ckpt_object_state(o);
    return st && st->type == CKPT_T_DICT ? ckpt_dict_get(st, name) : NULL;
}

static bool is_kind(const ckpt_obj *o, int k)
{
    return o && o->type == CKPT_T_OBJECT && kind_of_global(o->u.obj->cls) == k;
}

/* a torch.Size (or a tuple/list of ints) of `want` dims (-1: any) */
static int dims_of(const ckpt_obj *o, int want, int64_t *out, int *ndim)
{
    size_t n;
    if (!o)
        return -1;
    if (o->type == CKPT_T_SIZE) {
        const int64_t *d = ckpt_size_dims(o, &n);
        if (n > 64 || (want >= 0 && (size_t)want != n))
            return -1;
        if (n)
            memcpy(out, d, n * sizeof(int64_t));
    } else if ((o->type == CKPT_T_TUPLE || o->type == CKPT_T_LIST) && all_ints(o)) {
        n = ckpt_obj_len(o);
        if (n > 64 || (want >= 0 && (size_t)want != n))
            return -1;
        for (size_t i = 0; i < n; i++)
            out[i] = ckpt_obj_int(ckpt_obj_item(o, i));
    } else {
        return -1;
    }
    *ndim = (int)n;
    return 0;
}

static bool plain_file_name(const char *s, size_t n)
{
    if (n == 0 || n > 255 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '/' || s[i] == '\0' || s[i] == '\\')
            return false;
    return true;
}

static ckpt__dcp_ent *find_ent(ckpt__dcp_meta *m, const char *fqn)
{
    for (size_t i = 0; i < m->n; i++)
        if (!strcmp(m->ents[i].pub.fqn, fqn))
            return &m->ents[i];
    return NULL;
}

static int tensor_entry(interp *I, ckpt__dcp_ent *e, const ckpt_obj *v)
{
    const char *fqn = e->pub.fqn;
    const ckpt_obj *props = field(v, "properties");
    const ckpt_obj *size = field(v, "size");
    const ckpt_obj *chunks = field(v, "chunks");
    if (!is_kind(props, K_TPROPS) || !size || !chunks || chunks->type != CKPT_T_LIST)
        return BAD(I, fqn, "TensorStorageMetadata lacks %s", "properties, size or chunks");
    const ckpt_obj *ps = ckpt_object_state(props);
    const ckpt_obj *dt = NULL, *rg = NULL;
    if (ps && ps->type == CKPT_T_TUPLE && ckpt_obj_len(ps) >= 3) {
        dt = ckpt_obj_item(ps, 0);
        rg = ckpt_obj_item(ps, 2);
    } else if (ps && ps->type == CKPT_T_DICT) {
        dt = ckpt_dict_get(ps, "dtype");
        rg = ckpt_dict_get(ps, "requires_grad");
    }
    if (!dt || dt->type != CKPT_T_DTYPE)
        return BAD(I, fqn, "TensorProperties has no %s", "torch dtype");
    e->pub.dtype = ckpt_obj_dtype(dt);
    if (ckpt_dtype_size(e->pub.dtype) == 0)
        return BAD(I, fqn, "dtype %s has no element size", ckpt_dtype_name(e->pub.dtype));
    e->pub.requires_grad = rg && rg->type == CKPT_T_BOOL && ckpt_obj_bool(rg);
    int64_t shape[64];
    int ndim;
    if (dims_of(size, -1, shape, &ndim) < 0)
        return BAD(I, fqn, "the global size is not a %s", "torch.Size of at most 64 dims");
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 0)
            return BAD(I, fqn, "the global size has a %s", "negative dimension");
    int64_t numel;
    if (!ckpt__numel(ndim, shape, &numel) ||
        (uint64_t)numel > UINT64_MAX / 2 / ckpt_dtype_size(e->pub.dtype))
        return BAD(I, fqn, "the global size %s", "overflows");
    size_t nc = ckpt_obj_len(chunks);
    e->pub.ndim = ndim;
    e->pub.nchunks = nc;
    size_t cnt;
    if (ckpt_mul_size(nc, 2 * (size_t)ndim + 1, &cnt))
        return BAD(I, fqn, "%s", "too many chunks");
    e->shape = calloc((size_t)ndim + 1, sizeof(int64_t));
    e->dims = calloc(cnt ? cnt : 1, sizeof(int64_t));
    e->chunks = calloc(nc ? nc : 1, sizeof(ckpt__dcp_chunk));
    if (!e->shape || !e->dims || !e->chunks)
        return CKPT_FAIL(I->err, CKPT_E_NOMEM, "out of memory");
    memcpy(e->shape, shape, (size_t)ndim * sizeof(int64_t));
    e->pub.shape = e->shape;
    for (size_t c = 0; c < nc; c++) {
        const ckpt_obj *ch = ckpt_obj_item(chunks, c);
        ckpt__dcp_chunk *k = &e->chunks[c];
        k->offsets = e->dims + c * 2 * (size_t)ndim;
        k->sizes = k->offsets + ndim;
        int n1, n2;
        if (!is_kind(ch, K_CHUNK) || dims_of(field(ch, "offsets"), ndim, k->offsets, &n1) < 0 ||
            dims_of(field(ch, "sizes"), ndim, k->sizes, &n2) < 0)
            return BAD(I, fqn, "chunk is not a ChunkStorageMetadata of %s",
                       "the tensor's dimensions");
        for (int d = 0; d < ndim; d++)
            if (k->offsets[d] < 0 || k->sizes[d] < 0 || k->offsets[d] > shape[d] ||
                k->sizes[d] > shape[d] - k->offsets[d])
                return BAD(I, fqn, "a chunk lies %s", "outside the global size");
    }
    /* no two chunks overlap (default_planner._validate_global_plan's rule) */
    for (size_t a = 0; a < nc; a++)
        for (size_t b = a + 1; b < nc && ndim > 0; b++) {
            bool overlap = true;
            for (int d = 0; d < ndim && overlap; d++) {
                const ckpt__dcp_chunk *x = &e->chunks[a], *y = &e->chunks[b];
                if (x->offsets[d] >= y->offsets[d] + y->sizes[d] ||
                    y->offsets[d] >= x->offsets[d] + x->sizes[d])
                    overlap = false;
            }
            if (overlap)
                return BAD(I, fqn, "two chunks %s", "overlap");
        }
    if (ndim == 0 && nc > 1)
        return BAD(I, fqn, "a 0-d tensor has %s", "more than one chunk");
    return 0;
}

static int storage_entry(interp *I, const ckpt_obj *key, const ckpt_obj *val)
{
    const ckpt_obj *fq = field(key, "fqn");
    if (!is_kind(key, K_INDEX) || !fq || fq->type != CKPT_T_STR)
        return BAD(I, NULL, "a storage_data key is not a %s", "MetadataIndex");
    const char *fqn = ckpt_obj_str(fq, NULL);
    ckpt__dcp_ent *e = find_ent(I->m, fqn);
    if (!e)
        return BAD(I, fqn, "storage_data names %s", "a key not in state_dict_metadata");
    const ckpt_obj *rp = field(val, "relative_path"), *of = field(val, "offset"),
                   *ln = field(val, "length");
    size_t rlen = 0;
    const char *rs = rp && rp->type == CKPT_T_STR ? ckpt_obj_str(rp, &rlen) : NULL;
    if (!is_kind(val, K_SINFO) || !rs || !of || of->type != CKPT_T_INT || !ln ||
        ln->type != CKPT_T_INT)
        return BAD(I, fqn, "a storage_data value is not a %s", "_StorageInfo");
    /* torch >= 2.7: _StorageInfo.transform_descriptors (pickled only when set)
     * names transforms (compression...) applied to the item's bytes */
    const ckpt_obj *td = field(val, "transform_descriptors");
    if (td && td->type != CKPT_T_NONE &&
        !((td->type == CKPT_T_LIST || td->type == CKPT_T_TUPLE) && ckpt_obj_len(td) == 0))
        return bad_finish(I, fqn,
                          CKPT_FAIL_AT(I->err, CKPT_E_UNSUPPORTED, CKPT_WHERE_FILE, NULL, 0,
                                       "the item's bytes are transformed "
                                       "(_StorageInfo.transform_descriptors)"));
    if (!plain_file_name(rs, rlen))
        return BAD(I, fqn, "relative_path \"%s\" is not a plain file name", rs);
    if (ckpt_obj_int(of) < 0 || ckpt_obj_int(ln) < 0)
        return BAD(I, fqn, "_StorageInfo has a %s", "negative offset or length");
    ckpt__dcp_loc loc = {rs, (uint64_t)ckpt_obj_int(of), (uint64_t)ckpt_obj_int(ln), true};
    if (loc.offset > UINT64_MAX - loc.length)
        return BAD(I, fqn, "_StorageInfo offset + length %s", "overflows");
    if (e->pub.is_bytes) {
        if (e->bytes_loc.set)
            return BAD(I, fqn, "%s", "bytes entry stored twice");
        e->bytes_loc = loc;
        return 0;
    }
    const ckpt_obj *off = field(key, "offset");
    int64_t o[64];
    int nd;
    if (dims_of(off, e->pub.ndim, o, &nd) < 0)
        return BAD(I, fqn, "MetadataIndex offset is not %s", "a torch.Size of the tensor's dims");
    for (size_t c = 0; c < e->pub.nchunks; c++) {
        ckpt__dcp_chunk *k = &e->chunks[c];
        if (nd > 0 && memcmp(k->offsets, o, (size_t)nd * sizeof(int64_t)) != 0)
            continue;
        if (k->loc.set)
            return BAD(I, fqn, "%s", "a chunk is stored twice");
        k->loc = loc;
        return 0;
    }
    return BAD(I, fqn, "storage_data names %s", "a chunk offset the tensor does not have");
}

static int interpret(interp *I, const ckpt_obj *root)
{
    if (!is_kind(root, K_METADATA))
        return BAD(I, NULL, "the pickle is not a %s", "torch.distributed.checkpoint Metadata");
    const ckpt_obj *sdm = field(root, "state_dict_metadata");
    const ckpt_obj *sd = field(root, "storage_data");
    if (!sdm || sdm->type != CKPT_T_DICT)
        return BAD(I, NULL, "Metadata.state_dict_metadata is not %s", "a dict");
    if (!sd || sd->type != CKPT_T_DICT)
        return BAD(I, NULL, "Metadata.storage_data is not %s (not a FileSystemWriter folder)",
                   "a dict");
    size_t n = ckpt_obj_len(sdm);
    I->m->ents = calloc(n ? n : 1, sizeof(ckpt__dcp_ent));
    if (!I->m->ents)
        return CKPT_FAIL(I->err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const ckpt_obj *k = ckpt_dict_key(sdm, i), *v = ckpt_dict_value(sdm, i);
        if (k->type != CKPT_T_STR)
            return BAD(I, NULL, "a state_dict_metadata key is not %s", "a str");
        ckpt__dcp_ent *e = &I->m->ents[I->m->n++];
        e->pub.fqn = ckpt_obj_str(k, NULL);
        e->pub.dtype = CKPT_DTYPE_UNKNOWN;
        if (is_kind(v, K_BSM)) {
            e->pub.is_bytes = true;
            continue;
        }
        if (!is_kind(v, K_TSM))
            return BAD(I, e->pub.fqn, "value is not a %s",
                       "TensorStorageMetadata or BytesStorageMetadata");
        CKPT_TRY(tensor_entry(I, e, v));
    }
    for (size_t i = 0; i < ckpt_obj_len(sd); i++)
        CKPT_TRY(storage_entry(I, ckpt_dict_key(sd, i), ckpt_dict_value(sd, i)));
    for (size_t i = 0; i < I->m->n; i++) {
        ckpt__dcp_ent *e = &I->m->ents[i];
        if (e->pub.is_bytes && !e->bytes_loc.set)
            return BAD(I, e->pub.fqn, "%s", "bytes entry has no storage_data");
        for (size_t c = 0; !e->pub.is_bytes && c < e->pub.nchunks; c++)
            if (!e->chunks[c].loc.set)
                return BAD(I, e->pub.fqn, "%s", "a chunk has no storage_data");
    }
    return 0;
}

void ckpt__dcp_meta_free(ckpt__dcp_meta *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n; i++) {
        free(m->ents[i].shape);
        free(m->ents[i].dims);
        free(m->ents[i].chunks);
    }
    free(m->ents);
    ckpt_doc_free(m->doc);
    memset(m, 0, sizeof(*m));
}

int ckpt__dcp_meta_parse(const uint8_t *buf, size_t n, const char *label, ckpt__dcp_meta *out,
                         ckpt_error *err)
{
    memset(out, 0, sizeof(*out));
    out->doc = ckpt_doc_new(NULL, err);
    if (!out->doc)
        return err->code ? err->code : CKPT_E_NOMEM;
    mctx M = {label};
    ckpt_pickle_hooks hooks = {.ctx = &M,
                               .find_class = h_find_class,
                               .newobj = h_newobj,
                               .reduce = h_reduce,
                               .build = h_build};
    ckpt_pickle_opts po = {.name = label, .max_depth = 200, .max_objects = 1u << 26};
    size_t used = 0;
    ckpt_obj *root = ckpt_pickle_load(out->doc, buf, n, &hooks, &po, &used, err);
    int rc = 0;
    if (!root) {
        rc = err->code ? err->code : CKPT_E_FORMAT;
        ckpt__error_set_file(err, label);
    } else {
        interp I = {label, err, out};
        rc = interpret(&I, root);
    }
    if (rc < 0)
        ckpt__dcp_meta_free(out);
    return rc;
}

/* ------------------------------------------------------------- the plan */

#define PLAN_MAGIC "CKDCPPL1"

typedef struct wbuf {
    uint8_t *p;
    size_t n, cap;
    bool oom;
} wbuf;

static void wb_put(wbuf *w, const void *p, size_t n)
{
    if (w->oom)
        return;
    if (w->n + n > w->cap) {
        size_t c = w->cap ? w->cap * 2 : 256;
        while (c < w->n + n)
            c *= 2;
        uint8_t *q = realloc(w->p, c);
        if (!q) {
            w->oom = true;
            return;
        }
        w->p = q;
        w->cap = c;
    }
    memcpy(w->p + w->n, p, n);
    w->n += n;
}

static void wb_u64(wbuf *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    wb_put(w, b, 8);
}

static void wb_str(wbuf *w, const char *s)
{
    size_t n = strlen(s);
    wb_u64(w, n);
    wb_put(w, s, n);
}

/* Encode a plan: magic, rank, item count, then per item: fqn, flags, dtype,
 * ndim, shape/offsets/sizes, file offset and length, path components. */
int ckpt__dcp_plan_encode(const ckpt__dcp_plan *p, void **out, size_t *out_len, ckpt_error *err)
{
    wbuf w = {0};
    wb_put(&w, PLAN_MAGIC, 8);
    wb_u64(&w, (uint64_t)p->rank);
    wb_u64(&w, p->n);
    for (size_t i = 0; i < p->n; i++) {
        const ckpt__dcp_pitem *it = &p->items[i];
        wb_str(&w, it->fqn);
        wb_u64(&w, (it->is_bytes ? 1u : 0u) | (it->requires_grad ? 2u : 0u));
        wb_u64(&w, (uint64_t)(int64_t)it->dtype);
        wb_u64(&w, (uint64_t)it->ndim);
        for (int d = 0; d < it->ndim; d++) {
            wb_u64(&w, (uint64_t)it->shape[d]);
            wb_u64(&w, (uint64_t)it->offsets[d]);
            wb_u64(&w, (uint64_t)it->sizes[d]);
        }
        wb_u64(&w, it->offset);
        wb_u64(&w, it->length);
        wb_u64(&w, it->npath);
        for (size_t k = 0; k < it->npath; k++) {
            wb_u64(&w, it->path_int[k] ? 1 : 0);
            wb_str(&w, it->path[k]);
        }
    }
    if (w.oom) {
        free(w.p);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    *out = w.p;
    *out_len = w.n;
    return 0;
}

typedef struct rbuf {
    const uint8_t *p;
    size_t n, pos;
    bool bad;
} rbuf;

static uint64_t rb_u64(rbuf *r)
{
    if (r->bad || r->n - r->pos < 8) {
        r->bad = true;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)r->p[r->pos + (size_t)i] << (8 * i);
    r->pos += 8;
    return v;
}

static char *rb_str(rbuf *r)
{
    uint64_t n = rb_u64(r);
    if (r->bad || n > r->n - r->pos || memchr(r->p + r->pos, 0, (size_t)n)) {
        r->bad = true;
        return NULL;
    }
    /* every str of a plan becomes a Python str of the .metadata: UTF-8 */
    if (!ckpt_utf8_valid(r->p + r->pos, (size_t)n)) {
        r->bad = true;
        return NULL;
    }
    char *s = malloc((size_t)n + 1);
    if (!s) {
        r->bad = true;
        return NULL;
    }
    memcpy(s, r->p + r->pos, (size_t)n);
    s[n] = '\0';
    r->pos += (size_t)n;
    return s;
}

void ckpt__dcp_plan_free(ckpt__dcp_plan *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        ckpt__dcp_pitem *it = &p->items[i];
        free(it->fqn);
        free(it->shape);
        for (size_t k = 0; k < it->npath; k++)
            free(it->path[k]);
        free(it->path);
        free(it->path_int);
    }
    free(p->items);
    memset(p, 0, sizeof(*p));
}

int ckpt__dcp_plan_decode(const void *buf, size_t n, ckpt__dcp_plan *out, ckpt_error *err)
{
    memset(out, 0, sizeof(*out));
    rbuf r = {buf, n, 0, false};
    if (!buf || n < 24 || memcmp(buf, PLAN_MAGIC, 8) != 0)
        return CKPT_FAIL(err, CKPT_E_FORMAT, "not a ckpt DCP rank plan");
    r.pos = 8;
    uint64_t rank = rb_u64(&r), cnt = rb_u64(&r);
    if (rank > INT32_MAX || cnt > (n - r.pos) / 48)
        return CKPT_FAIL(err, CKPT_E_FORMAT, "DCP rank plan: bad rank or item count");
    out->rank = (int)rank;
    out->items = calloc(cnt ? (size_t)cnt : 1, sizeof(ckpt__dcp_pitem));
    if (!out->items)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < cnt && !r.bad; i++) {
        ckpt__dcp_pitem *it = &out->items[out->n++];
        it->fqn = rb_str(&r);
        uint64_t fl = rb_u64(&r);
        it->is_bytes = fl & 1;
        it->requires_grad = (fl & 2) != 0;
        it->dtype = (int)(int64_t)rb_u64(&r);
        uint64_t nd = rb_u64(&r);
        if (r.bad || nd > 64 || (!it->is_bytes && ckpt_dtype_size(it->dtype) == 0)) {
            r.bad = true;
            break;
        }
        it->ndim = (int)nd;
        it->shape = calloc(3 * (size_t)nd + 1, sizeof(int64_t));
        if (!it->shape) {
            r.bad = true;
            break;
        }
        it->offsets = it->shape + nd;
        it->sizes = it->offsets + nd;
        for (size_t d = 0; d < nd; d++) {
            it->shape[d] = (int64_t)rb_u64(&r);
            it->offsets[d] = (int64_t)rb_u64(&r);
            it->sizes[d] = (int64_t)rb_u64(&r);
            if (it->shape[d] < 0 || it->offsets[d] < 0 || it->sizes[d] < 0 ||
                it->offsets[d] > it->shape[d] || it->sizes[d] > it->shape[d] - it->offsets[d])
                r.bad = true;
        }
        it->offset = rb_u64(&r);
        it->length = rb_u64(&r);
        if (it->offset > INT64_MAX || it->length > INT64_MAX - it->offset)
            r.bad = true; /* _StorageInfo holds Python ints the reader takes as >= 0 */
        uint64_t np = rb_u64(&r);
        if (r.bad || np > (n - r.pos) / 16) {
            r.bad = true;
            break;
        }
        it->path = calloc(np ? (size_t)np : 1, sizeof(char *));
        it->path_int = calloc(np ? (size_t)np : 1, sizeof(bool));
        if (!it->path || !it->path_int) {
            r.bad = true;
            break;
        }
        for (size_t k = 0; k < np && !r.bad; k++) {
            it->path_int[k] = rb_u64(&r) != 0;
            it->path[k] = rb_str(&r);
            it->npath = k + 1;
        }
    }
    if (r.bad || r.pos != n) {
        ckpt__dcp_plan_free(out);
        return CKPT_FAIL(err, CKPT_E_FORMAT, "DCP rank plan is malformed or truncated");
    }
    return 0;
}

/* ----------------------------------------------------- .metadata writing */

/* The emitter writes what CPython's protocol-2 pickler writes for the
 * object graph an unpickled .metadata is (checked byte for byte by
 * gen_dcp.py check): every str memoized; field names (interned by the
 * unpickler's BUILD) memoized by value; the torch.strided and
 * _MEM_FORMAT_ENCODING singletons memoized once; a container's items as
 * SETITEM/APPEND for one, MARK ... SETITEMS/APPENDS per batch of 1000. */

/* A str value, as CPython's save_str (BINUNICODE + BINPUT). */
static void e_str(ckpt__emit *e, const char *s)
{
    ckpt__emit_str(e, s, strlen(s));
    ckpt__emit_put(e);
}

/* A field name: one object for all instances (sys.intern in load_build). */
static void e_key(ckpt__emit *e, const char *s)
{
    uint32_t idx;
    if (ckpt__emit_memo_get_str(e, s, &idx)) {
        ckpt__emit_get(e, idx);
        return;
    }
    ckpt__emit_str(e, s, strlen(s));
    ckpt__emit_memo_set_str(e, s, ckpt__emit_put(e));
}

/* cls.__new__(cls) as protocol 2 pickles a dataclass instance (copyreg.__newobj__). */
static void e_new(ckpt__emit *e, const char *module, const char *name)
{
    ckpt__emit_global(e, module, name);
    ckpt__emit_byte(e, CKPT_OP_EMPTY_TUPLE);
    ckpt__emit_byte(e, CKPT_OP_NEWOBJ);
    ckpt__emit_put(e);
}

/* the __dict__ state of >= 2 fields: EMPTY_DICT, BINPUT, MARK, pairs (by the
 * caller), SETITEMS, BUILD */
static void e_state_begin(ckpt__emit *e)
{
    ckpt__emit_byte(e, CKPT_OP_EMPTY_DICT);
    ckpt__emit_put(e);
    ckpt__emit_byte(e, CKPT_OP_MARK);
}

static void e_state_end(ckpt__emit *e)
{
    ckpt__emit_byte(e, CKPT_OP_SETITEMS);
    ckpt__emit_byte(e, CKPT_OP_BUILD);
}

/* _batch_setitems / _batch_appends: before item k of n (0-based) */
static void e_batch_item(ckpt__emit *e, size_t k, size_t n)
{
    if (k % 1000 == 0 && n - k > 1)
        ckpt__emit_byte(e, CKPT_OP_MARK);
}

/* after item k of n */
static void e_batch_end(ckpt__emit *e, size_t k, size_t n, bool dict)
{
    size_t first = k - k % 1000;
    bool last_of_batch = (k + 1) % 1000 == 0 || k + 1 == n;
    if (!last_of_batch)
        return;
    if (n - first > 1)
        ckpt__emit_byte(e, dict ? CKPT_OP_SETITEMS : CKPT_OP_APPENDS);
    else
        ckpt__emit_byte(e, dict ? CKPT_OP_SETITEM : CKPT_OP_APPEND);
}

/* tuple of ints, as protocol 2 writes it */
static void e_int_tuple(ckpt__emit *e, const int64_t *v, int n)
{
    if (n == 0) {
        ckpt__emit_byte(e, CKPT_OP_EMPTY_TUPLE);
        return;
    }
    if (n > 3)
        ckpt__emit_byte(e, CKPT_OP_MARK);
    for (int i = 0; i < n; i++)
        ckpt__emit_int(e, v[i]);
    if (n <= 3)
        ckpt__emit_byte(e, (uint8_t)(CKPT_OP_TUPLE1 + n - 1));
    else
        ckpt__emit_byte(e, CKPT_OP_TUPLE);
    ckpt__emit_put(e);
}

/* torch.Size(t): Size.__reduce__ is (torch.Size, (tuple(self),)) */
static void e_size(ckpt__emit *e, const int64_t *v, int n)
{
    ckpt__emit_global(e, "torch", "Size");
    e_int_tuple(e, v, n);
    ckpt__emit_byte(e, CKPT_OP_TUPLE1);
    ckpt__emit_put(e);
    ckpt__emit_byte(e, CKPT_OP_REDUCE);
    ckpt__emit_put(e);
}

static void e_none(ckpt__emit *e)
{
    ckpt__emit_byte(e, CKPT_OP_NONE);
}

static void e_bool(ckpt__emit *e, bool b)
{
    ckpt__emit_byte(e, b ? CKPT_OP_NEWTRUE : CKPT_OP_NEWFALSE);
}

static const char memo_strided = 0, memo_contiguous = 0;

/* TensorProperties: __getstate__ gives (dtype, layout, requires_grad,
 * _MEM_FORMAT_ENCODING.TORCH_CONTIGUOUS_FORMAT, pin_memory) (metadata.py). */
static void e_props(ckpt__emit *e, int dtype, bool requires_grad)
{
    uint32_t idx;
    e_new(e, MOD_MD, "TensorProperties");
    ckpt__emit_byte(e, CKPT_OP_MARK);
    ckpt__emit_global(e, "torch", ckpt_dtype_name(dtype));
    /* torch.serialization: copyreg.pickle(torch.layout, lambda obj: (_get_layout, (str(obj),))) */
    if (ckpt__emit_memo_get(e, &memo_strided, &idx)) {
        ckpt__emit_get(e, idx);
    } else {
        ckpt__emit_global(e, "torch.serialization", "_get_layout");
        e_str(e, "torch.strided");
        ckpt__emit_byte(e, CKPT_OP_TUPLE1);
        ckpt__emit_put(e);
        ckpt__emit_byte(e, CKPT_OP_REDUCE);
        ckpt__emit_memoize(e, &memo_strided);
    }
    e_bool(e, requires_grad);
    /* Enum.__reduce_ex__ (Python >= 3.11): getattr(cls, name) */
    if (ckpt__emit_memo_get(e, &memo_contiguous, &idx)) {
        ckpt__emit_get(e, idx);
    } else {
        /* protocol 2 names builtins as Python 2 did (pickle's fix_imports) */
        ckpt__emit_global(e, "__builtin__", "getattr");
        ckpt__emit_global(e, MOD_MD, "_MEM_FORMAT_ENCODING");
        e_str(e, "TORCH_CONTIGUOUS_FORMAT");
        ckpt__emit_byte(e, CKPT_OP_TUPLE2);
        ckpt__emit_put(e);
        ckpt__emit_byte(e, CKPT_OP_REDUCE);
        ckpt__emit_memoize(e, &memo_contiguous);
    }
    e_bool(e, false);
    ckpt__emit_byte(e, CKPT_OP_TUPLE);
    ckpt__emit_put(e);
    ckpt__emit_byte(e, CKPT_OP_BUILD);
}

static void e_file_name(char *buf, size_t n, int rank)
{
    snprintf(buf, n, "__%d_0.distcp", rank);
}

/* Every item of every plan, grouped by fqn (sorted by fqn, then rank, then
 * position: the order create_default_global_save_plan appends chunks). */
typedef struct gref {
    const ckpt__dcp_pitem *it;
    int rank; /* plan index */
    size_t idx;
} gref;

typedef struct groups {
    gref *s; /* sorted */
    size_t n;
    size_t *start; /* per global item (plan order): its group's first slot in s */
    size_t *end;   /* ... one past its group's last slot */
    size_t *pos;   /* ... its place in the group (the chunk index hint) */
    size_t *base;  /* per plan: global index of its first item */
} groups;

static int gref_cmp(const void *x, const void *y)
{
    const gref *a = x, *b = y;
    int c = strcmp(a->it->fqn, b->it->fqn);
    if (c)
        return c;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static void groups_free(groups *G)
{
    free(G->s);
    free(G->start);
    free(G->end);
    free(G->pos);
    free(G->base);
}

static int groups_build(groups *G, const ckpt__dcp_plan *plans, int np, ckpt_error *err)
{
    memset(G, 0, sizeof(*G));
    size_t n = 0;
    G->base = calloc((size_t)np + 1, sizeof(size_t));
    if (!G->base)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (int r = 0; r < np; r++) {
        G->base[r] = n;
        n += plans[r].n;
    }
    G->base[np] = n;
    G->n = n;
    G->s = calloc(n ? n : 1, sizeof(gref));
    G->start = calloc(n ? n : 1, sizeof(size_t));
    G->end = calloc(n ? n : 1, sizeof(size_t));
    G->pos = calloc(n ? n : 1, sizeof(size_t));
    if (!G->s || !G->start || !G->end || !G->pos) {
        groups_free(G);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    size_t k = 0;
    for (int r = 0; r < np; r++)
        for (size_t i = 0; i < plans[r].n; i++)
            G->s[k++] = (gref){&plans[r].items[i], r, i};
    qsort(G->s, n, sizeof(gref), gref_cmp);
    for (size_t a = 0; a < n;) {
        size_t b = a + 1;
        while (b < n && !strcmp(G->s[a].it->fqn, G->s[b].it->fqn))
            b++;
        for (size_t j = a; j < b; j++) {
            size_t g = G->base[G->s[j].rank] + G->s[j].idx;
            G->start[g] = a;
            G->end[g] = b;
            G->pos[g] = j - a;
        }
        a = b;
    }
    return 0;
}

/* Global checks of default_planner.create_default_global_save_plan and
 * _validate_global_plan: a bytes fqn written once, tensor chunks agreeing on
 * dtype and size, not overlapping, covering it. */
static int check_plans(const groups *G, ckpt_error *err)
{
    for (size_t a = 0; a < G->n;) {
        const gref *f = &G->s[a];
        size_t g = G->base[f->rank] + f->idx, b = G->end[g];
        const ckpt__dcp_pitem *x = f->it;
        int rc = 0;
        uint64_t vol = 0;
        for (size_t j = a; j < b && rc == 0; j++) {
            const ckpt__dcp_pitem *y = G->s[j].it;
            if (j > a && (x->is_bytes || y->is_bytes))
                rc = CKPT_FAIL(err, CKPT_E_ARG, "written twice (ranks %d and %d)", f->rank,
                               G->s[j].rank);
            else if (y->dtype != x->dtype || y->ndim != x->ndim ||
                     (x->ndim > 0 &&
                      memcmp(y->shape, x->shape, (size_t)x->ndim * sizeof(int64_t)) != 0))
                rc = CKPT_FAIL(err, CKPT_E_SHAPE,
                               "chunks of ranks %d and %d disagree on dtype or global size",
                               f->rank, G->s[j].rank);
            int64_t v = 0;
            ckpt__numel(y->ndim, y->sizes, &v);
            vol += (uint64_t)v;
            for (size_t k = j + 1; k < b && rc == 0 && !y->is_bytes; k++) {
                const ckpt__dcp_pitem *z = G->s[k].it;
                bool ov = z->ndim == y->ndim;
                for (int d = 0; d < y->ndim && ov; d++)
                    if (y->offsets[d] >= z->offsets[d] + z->sizes[d] ||
                        z->offsets[d] >= y->offsets[d] + y->sizes[d])
                        ov = false;
                if (ov)
                    rc = CKPT_FAIL(err, CKPT_E_SHAPE, "chunks of ranks %d and %d overlap",
                                   G->s[j].rank, G->s[k].rank);
            }
        }
        int64_t total = 0;
        if (rc == 0 && !x->is_bytes && x->ndim > 0 &&
            (!ckpt__numel(x->ndim, x->shape, &total) || vol != (uint64_t)total))
            rc = CKPT_FAIL(err, CKPT_E_SHAPE,
                           "the chunks cover %llu of the tensor's %lld elements",
                           (unsigned long long)vol, (long long)total);
        if (rc < 0) {
            ckpt__error_prefix_key(err, x->fqn);
            return rc;
        }
        a = b;
    }
    return 0;
}

int ckpt__dcp_meta_emit(const ckpt__dcp_plan *plans, int np, void **out, size_t *out_len,
                        ckpt_error *err)
{
    groups G;
    CKPT_TRY(groups_build(&G, plans, np, err));
    int crc = check_plans(&G, err);
    ckpt__emit e;
    if (crc < 0 || ckpt__emit_init(&e, NULL) < 0) {
        groups_free(&G);
        return crc < 0 ? crc : CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    size_t nfqn = 0;
    for (size_t g = 0; g < G.n; g++)
        nfqn += G.pos[g] == 0;
    ckpt__emit_byte(&e, CKPT_OP_PROTO);
    ckpt__emit_byte(&e, 2);
    /* Metadata(state_dict_metadata, planner_data, storage_data, storage_meta) */
    e_new(&e, MOD_MD, "Metadata");
    e_state_begin(&e);

    /* state_dict_metadata: fqns in plan order (create_default_global_save_plan) */
    e_key(&e, "state_dict_metadata");
    ckpt__emit_byte(&e, CKPT_OP_EMPTY_DICT);
    ckpt__emit_put(&e);
    size_t k = 0;
    for (int r = 0; r < np; r++)
        for (size_t i = 0; i < plans[r].n; i++) {
            const ckpt__dcp_pitem *a = &plans[r].items[i];
            size_t g = G.base[r] + i;
            if (G.pos[g] != 0)
                continue; /* not the fqn's first item */
            e_batch_item(&e, k, nfqn);
            e_str(&e, a->fqn);
            if (a->is_bytes) {
                e_new(&e, MOD_MD, "BytesStorageMetadata"); /* empty __dict__: no state */
            } else {
                e_new(&e, MOD_MD, "TensorStorageMetadata");
                e_state_begin(&e);
                e_key(&e, "properties");
                e_props(&e, a->dtype, a->requires_grad);
                e_key(&e, "size");
                e_size(&e, a->shape, a->ndim);
                e_key(&e, "chunks");
                ckpt__emit_byte(&e, CKPT_OP_EMPTY_LIST);
                ckpt__emit_put(&e);
                size_t nc = G.end[g] - G.start[g];
                for (size_t j = 0; j < nc; j++) {
                    const ckpt__dcp_pitem *b = G.s[G.start[g] + j].it;
                    e_batch_item(&e, j, nc);
                    e_new(&e, MOD_MD, "ChunkStorageMetadata");
                    e_state_begin(&e);
                    e_key(&e, "offsets");
                    e_size(&e, b->offsets, b->ndim);
                    e_key(&e, "sizes");
                    e_size(&e, b->sizes, b->ndim);
                    e_state_end(&e);
                    e_batch_end(&e, j, nc, false);
                }
                e_state_end(&e);
            }
            e_batch_end(&e, k++, nfqn, true);
        }

    /* planner_data: the flatten_state_dict mappings, fqn -> path tuple */
    e_key(&e, "planner_data");
    ckpt__emit_byte(&e, CKPT_OP_EMPTY_DICT);
    ckpt__emit_put(&e);
    k = 0;
    for (int r = 0; r < np; r++)
        for (size_t i = 0; i < plans[r].n; i++) {
            const ckpt__dcp_pitem *a = &plans[r].items[i];
            if (G.pos[G.base[r] + i] != 0)
                continue;
            e_batch_item(&e, k, nfqn);
            e_str(&e, a->fqn);
            size_t m = a->npath ? a->npath : 1;
            if (m > 3)
                ckpt__emit_byte(&e, CKPT_OP_MARK);
            for (size_t c = 0; c < m; c++) {
                if (!a->npath)
                    e_str(&e, a->fqn);
                else if (a->path_int[c])
                    ckpt__emit_int(&e, strtoll(a->path[c], NULL, 10));
                else
                    e_str(&e, a->path[c]);
            }
            ckpt__emit_byte(&e, m > 3 ? CKPT_OP_TUPLE : (uint8_t)(CKPT_OP_TUPLE1 + m - 1));
            ckpt__emit_put(&e);
            e_batch_end(&e, k++, nfqn, true);
        }

    /* storage_data: MetadataIndex -> _StorageInfo, rank by rank (finish()) */
    e_key(&e, "storage_data");
    ckpt__emit_byte(&e, CKPT_OP_EMPTY_DICT);
    ckpt__emit_put(&e);
    k = 0;
    for (int r = 0; r < np; r++) {
        char fname[64];
        e_file_name(fname, sizeof(fname), plans[r].rank);
        for (size_t i = 0; i < plans[r].n; i++) {
            const ckpt__dcp_pitem *a = &plans[r].items[i];
            e_batch_item(&e, k, G.n);
            /* MetadataIndex.__init__ sets fqn, index, then offset (when given) */
            e_new(&e, MOD_MD, "MetadataIndex");
            e_state_begin(&e);
            e_key(&e, "fqn");
            e_str(&e, a->fqn);
            e_key(&e, "index");
            if (a->is_bytes) {
                e_none(&e);
            } else {
                /* the rewritten index hint: the chunk's position in its list */
                ckpt__emit_int(&e, (int64_t)G.pos[G.base[r] + i]);
                e_key(&e, "offset");
                e_size(&e, a->offsets, a->ndim);
            }
            e_state_end(&e);
            e_new(&e, MOD_FS, "_StorageInfo");
            e_state_begin(&e);
            e_key(&e, "relative_path");
            e_str(&e, fname);
            e_key(&e, "offset");
            ckpt__emit_int(&e, (int64_t)a->offset);
            e_key(&e, "length");
            ckpt__emit_int(&e, (int64_t)a->length);
            e_state_end(&e);
            e_batch_end(&e, k++, G.n, true);
        }
    }

    /* storage_meta: StorageMeta(checkpoint_id, save_id, load_id, modules) */
    e_key(&e, "storage_meta");
    e_new(&e, MOD_MD, "StorageMeta");
    e_state_begin(&e);
    e_key(&e, "checkpoint_id");
    e_none(&e);
    e_key(&e, "save_id");
    e_none(&e);
    e_key(&e, "load_id");
    e_none(&e);
    e_key(&e, "modules");
    ckpt__emit_byte(&e, CKPT_OP_EMPTY_LIST);
    ckpt__emit_put(&e);
    e_state_end(&e);

    e_state_end(&e);
    ckpt__emit_byte(&e, CKPT_OP_STOP);
    groups_free(&G);
    if (e.oom) {
        ckpt__emit_free(&e);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    *out = malloc(e.len);
    if (!*out) {
        ckpt__emit_free(&e);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    memcpy(*out, e.buf, e.len);
    *out_len = e.len;
    ckpt__emit_free(&e);
    return 0;
}

char *ckpt__dcp_join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}
