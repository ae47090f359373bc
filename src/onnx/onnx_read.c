/* src/onnx/onnx_read.c - ModelProto (protobuf-c) -> ox_graph, with every
 * outside size checked and external data confined to the model's folder. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "onnx/onnx.pb-c.h"
#include "onnx/onnx_function.h"
#include "onnx/onnx_internal.h"
#include "onnx/onnx_scan.h"

/* ------------------------------------------------------------ capped allocator */

typedef struct ox_budget {
    size_t used, limit;
    bool hit;
} ox_budget;

typedef struct {
    size_t size;
    size_t pad; /* keeps the payload 16-byte aligned */
} ox_hdr;

static void *budget_alloc(void *data, size_t size)
{
    ox_budget *b = data;
    if (size > b->limit - b->used || size > SIZE_MAX - sizeof(ox_hdr)) {
        b->hit = true;
        return NULL;
    }
    ox_hdr *h = malloc(sizeof *h + size);
    if (!h)
        return NULL;
    h->size = size;
    b->used += size;
    return h + 1;
}

static void budget_free(void *data, void *p)
{
    ox_budget *b = data;
    if (!p)
        return;
    ox_hdr *h = (ox_hdr *)p - 1;
    b->used -= h->size;
    free(h);
}

/* ------------------------------------------------------------ read context */

typedef struct rd {
    struct ckpt_onnx_model *m;
    const ckpt_onnx_load_opts *opts;
    ckpt_error *err;
    size_t bytes; /* bytes the IR holds (counted against the limit) */
    int n_graphs;
} rd;

static char *dupn(const char *s, size_t n)
{
    char *d = malloc(n + 1);
    if (!d)
        return NULL;
    if (n)
        memcpy(d, s, n);
    d[n] = 0;
    return d;
}

static char *dup0(const char *s)
{
    return dupn(s ? s : "", s ? strlen(s) : 0);
}

static int nomem(rd *r, const char *what)
{
    return CKPT_FAIL(r->err, CKPT_E_NOMEM, "out of memory reading %s", what);
}

static int charge(rd *r, size_t n, const char *what)
{
    if (n > r->m->bytes_limit || r->bytes > r->m->bytes_limit - n)
        return CKPT_FAIL(r->err, CKPT_E_LIMIT, "%s: the model needs more than the %zu-byte limit",
                         what, r->m->bytes_limit);
    r->bytes += n;
    return 0;
}

/* ------------------------------------------------------------ tensors */

static bool dtype_known(int dt)
{
    return dt >= 1 && dt <= OX_DTYPE_MAX && dt != OX_UNDEFINED;
}

static int ext_map(rd *r, const char *tname, const char *loc, const void **base, size_t *len)
{
    struct ckpt_onnx_model *m = r->m;
    if (r->opts && r->opts->no_external_data)
        return CKPT_FAIL(r->err, CKPT_E_UNSAFE,
                         "initializer '%s': external data '%s' refused (no_external_data)", tname,
                         loc);
    if (!m->dir)
        return CKPT_FAIL(r->err, CKPT_E_UNSAFE,
                         "initializer '%s': external data '%s' in a model read from memory",
                         tname, loc);
    if (!loc[0] || loc[0] == '/' || strchr(loc, '\\'))
        return CKPT_FAIL(r->err, CKPT_E_UNSAFE,
                         "initializer '%s': external data location '%s' is not a relative path",
                         tname, loc);
    for (const char *p = loc; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return CKPT_FAIL(r->err, CKPT_E_UNSAFE,
                             "initializer '%s': external data location '%s' leaves the model's "
                             "folder",
                             tname, loc);
        p += n;
        while (*p == '/')
            p++;
    }
    size_t need = strlen(m->dir) + strlen(loc) + 2;
    char *joined = malloc(need);
    if (!joined)
        return nomem(r, "external data");
    snprintf(joined, need, "%s/%s", m->dir, loc);
    char real_dir[PATH_MAX], real_file[PATH_MAX];
    if (!realpath(m->dir, real_dir) || !realpath(joined, real_file)) {
        int e = errno;
        free(joined);
        return CKPT_FAIL(r->err, CKPT_E_IO, "initializer '%s': external data '%s': %s", tname,
                         loc, strerror(e));
    }
    free(joined);
    size_t dl = strlen(real_dir);
    if (strncmp(real_file, real_dir, dl) != 0 || (real_file[dl] != '/' && dl > 1))
        return CKPT_FAIL(
            r->err, CKPT_E_UNSAFE,
            "initializer '%s': external data '%s' resolves outside the model's folder", tname,
            loc);
    int fd = open(real_file, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return CKPT_FAIL(r->err, CKPT_E_IO, "initializer '%s': external data '%s': %s", tname,
                         loc, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return CKPT_FAIL(r->err, CKPT_E_UNSAFE,
                         "initializer '%s': external data '%s' is not a regular file", tname,
                         loc);
    }
    size_t n = (size_t)st.st_size;
    void *p = NULL;
    if (n > 0) {
        p = mmap(NULL, n, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return CKPT_FAIL(r->err, CKPT_E_IO, "initializer '%s': mapping '%s': %s", tname, loc,
                             strerror(errno));
        }
    }
    close(fd);
    void **maps = realloc(m->maps, (size_t)(m->n_maps + 1) * sizeof *maps);
    if (maps)
        m->maps = maps;
    size_t *lens = maps ? realloc(m->map_lens, (size_t)(m->n_maps + 1) * sizeof *lens) : NULL;
    if (!maps || !lens) {
        if (p)
            munmap(p, n);
        return nomem(r, "external data");
    }
    m->map_lens = lens;
    m->maps[m->n_maps] = p;
    m->map_lens[m->n_maps] = n;
    m->n_maps++;
    *base = p;
    *len = n;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s)
        return -1;
    uint64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* Fill v->data from a typed repeated field: each element converted to the
 * tensor's dtype (int32_data carries the bit patterns of narrow types). */
static int tensor_typed(rd *r, const Onnx__TensorProto *tp, ox_val *v, const char *tname)
{
    int64_t n = v->numel;
    size_t have = 0;
    switch (v->dtype) {
    case OX_FLOAT: have = tp->n_float_data; break;
    case OX_COMPLEX64: have = tp->n_float_data / 2; break;
    case OX_DOUBLE: have = tp->n_double_data; break;
    case OX_COMPLEX128: have = tp->n_double_data / 2; break;
    case OX_INT64: have = tp->n_int64_data; break;
    case OX_UINT32:
    case OX_UINT64: have = tp->n_uint64_data; break;
    case OX_STRING: have = tp->n_string_data; break;
    default: have = tp->n_int32_data; break;
    }
    if ((int64_t)have != n)
        return CKPT_FAIL(r->err, CKPT_E_FORMAT,
                         "tensor '%s': %zu values stored for %lld elements of shape", tname, have,
                         (long long)n);
    uint8_t *d = v->data;
    for (int64_t i = 0; i < n; i++) {
        switch (v->dtype) {
        case OX_FLOAT: memcpy(d + 4 * i, &tp->float_data[i], 4); break;
        case OX_COMPLEX64: memcpy(d + 8 * i, &tp->float_data[2 * i], 8); break;
        case OX_DOUBLE: memcpy(d + 8 * i, &tp->double_data[i], 8); break;
        case OX_COMPLEX128: memcpy(d + 16 * i, &tp->double_data[2 * i], 16); break;
        case OX_INT64: memcpy(d + 8 * i, &tp->int64_data[i], 8); break;
        case OX_UINT64: memcpy(d + 8 * i, &tp->uint64_data[i], 8); break;
        case OX_UINT32: {
            uint32_t x = (uint32_t)tp->uint64_data[i];
            memcpy(d + 4 * i, &x, 4);
            break;
        }
        case OX_INT32: memcpy(d + 4 * i, &tp->int32_data[i], 4); break;
        case OX_INT16: {
            int16_t x = (int16_t)tp->int32_data[i];
            memcpy(d + 2 * i, &x, 2);
            break;
        }
        case OX_UINT16:
        case OX_FLOAT16:
        case OX_BFLOAT16: {
            uint16_t x = (uint16_t)tp->int32_data[i];
            memcpy(d + 2 * i, &x, 2);
            break;
        }
        case OX_INT8: d[i] = (uint8_t)(int8_t)tp->int32_data[i]; break;
        case OX_UINT8: d[i] = (uint8_t)tp->int32_data[i]; break;
        case OX_BOOL: d[i] = tp->int32_data[i] != 0; break;
        case OX_STRING: {
            char **s = (char **)v->data;
            s[i] = dupn((const char *)tp->string_data[i].data, tp->string_data[i].len);
            if (!s[i])
                return nomem(r, tname);
            break;
        }
        default: break;
        }
    }
    return 0;
}

/* TensorProto -> owned (or mapped, borrowed) ox_val.  `*owned` tells which. */
static int tensor_decode(rd *r, const Onnx__TensorProto *tp, ox_val *v, bool *owned)
{
    const char *tname = tp->name ? tp->name : "";
    memset(v, 0, sizeof *v);
    *owned = true;
    if (!tp->has_data_type || !dtype_known(tp->data_type))
        return CKPT_FAIL(r->err, CKPT_E_UNSUPPORTED, "tensor '%s': data type %d is not supported",
                         tname, tp->has_data_type ? tp->data_type : 0);
    if (tp->n_dims > OX_MAX_RANK)
        return CKPT_FAIL(r->err, CKPT_E_LIMIT, "tensor '%s': %zu dims (at most %d)", tname,
                         tp->n_dims, OX_MAX_RANK);
    if (tp->segment)
        return CKPT_FAIL(r->err, CKPT_E_UNSUPPORTED, "tensor '%s': segmented tensors", tname);
    v->kind = OX_KIND_TENSOR;
    v->dtype = tp->data_type;
    v->rank = (int)tp->n_dims;
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0)
            return CKPT_FAIL(r->err, CKPT_E_FORMAT, "tensor '%s': dim %zu is %lld", tname, i,
                             (long long)tp->dims[i]);
        v->dims[i] = tp->dims[i];
    }
    v->numel = ox_numel(v->rank, v->dims);
    size_t es = ox_dtype_size(v->dtype);
    if (v->numel < 0 || (uint64_t)v->numel > SIZE_MAX / es)
        return CKPT_FAIL(r->err, CKPT_E_LIMIT, "tensor '%s': element count overflows", tname);
    size_t nbytes = (size_t)v->numel * es;

    if (tp->has_data_location &&
        tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        const char *loc = NULL;
        uint64_t off = 0, len = UINT64_MAX;
        for (size_t i = 0; i < tp->n_external_data; i++) {
            const Onnx__StringStringEntryProto *e = tp->external_data[i];
            if (!e->key)
                continue;
            if (!strcmp(e->key, "location"))
                loc = e->value;
            else if (!strcmp(e->key, "offset") && parse_u64(e->value, &off) != 0)
                return CKPT_FAIL(r->err, CKPT_E_FORMAT, "tensor '%s': external offset '%s'",
                                 tname, e->value ? e->value : "");
            else if (!strcmp(e->key, "length") && parse_u64(e->value, &len) != 0)
                return CKPT_FAIL(r->err, CKPT_E_FORMAT, "tensor '%s': external length '%s'",
                                 tname, e->value ? e->value : "");
        }
        if (!loc)
            return CKPT_FAIL(r->err, CKPT_E_FORMAT, "tensor '%s': external data without location",
                             tname);
        if (v->dtype == OX_STRING)
            return CKPT_FAIL(r->err, CKPT_E_FORMAT, "tensor '%s': string tensor as external data",
                             tname);
        if (len == UINT64_MAX)
            len = nbytes;
        if (len != nbytes)
            return CKPT_FAIL(r->err, CKPT_E_FORMAT,
                             "tensor '%s': external length %llu but the shape needs %zu bytes",
                             tname, (unsigned long long)len, nbytes);
        const void *base;
        size_t flen;
        CKPT_TRY(ext_map(r, tname, loc, &base, &flen));
        if (off > flen || len > flen - off)
            return CKPT_FAIL_AT(r->err, CKPT_E_FORMAT, CKPT_WHERE_MEMBER, loc, off,
                                "tensor '%s': external data [%llu, +%llu) past the end of '%s' "
                                "(%zu bytes)",
                                tname, (unsigned long long)off, (unsigned long long)len, loc,
                                flen);
        const uint8_t *p = (const uint8_t *)base + off;
        bool no_mmap = r->opts && r->opts->no_mmap;
        if (!no_mmap && ((uintptr_t)p % (es > 8 ? 8 : es)) == 0) {
            v->data = (void *)(uintptr_t)p;
            *owned = false;
            return 0;
        }
        CKPT_TRY(charge(r, nbytes, tname));
        v->buf = malloc(nbytes ? nbytes : 1);
        if (!v->buf)
            return nomem(r, tname);
        v->cap = nbytes;
        v->data = v->buf;
        if (nbytes)
            memcpy(v->data, p, nbytes);
        return 0;
    }

    CKPT_TRY(charge(r, nbytes, tname));
    v->buf = calloc(1, nbytes ? nbytes : 1);
    if (!v->buf)
        return nomem(r, tname);
    v->cap = nbytes;
    v->data = v->buf;
    if (tp->has_raw_data) {
        if (v->dtype == OX_STRING)
            return CKPT_FAIL(r->err, CKPT_E_FORMAT, "tensor '%s': string tensor in raw_data",
                             tname);
        if (tp->raw_data.len != nbytes)
            return CKPT_FAIL(r->err, CKPT_E_FORMAT,
                             "tensor '%s': raw_data has %zu bytes but shape needs %zu", tname,
                             tp->raw_data.len, nbytes);
        if (nbytes)
            memcpy(v->data, tp->raw_data.data, nbytes);
        return 0;
    }
    return tensor_typed(r, tp, v, tname);
}

int ox_tensor_from_pb(const void *bytes, size_t n, ox_val *v, char **name, const char *label,
                      ckpt_error *err)
{
    ox_budget b = {0, (size_t)1 << 32, false};
    if (n < SIZE_MAX / 16 && 16 * n > b.limit)
        b.limit = 16 * n;
    ProtobufCAllocator a = {budget_alloc, budget_free, &b};
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(&a, n, bytes);
    if (!tp)
        return CKPT_FAIL(err, b.hit ? CKPT_E_LIMIT : CKPT_E_FORMAT, "%s: not a valid TensorProto",
                         label ? label : "tensor");
    struct ckpt_onnx_model m;
    memset(&m, 0, sizeof m);
    m.bytes_limit = b.limit;
    rd r = {&m, NULL, err, 0, 0};
    bool owned;
    int rc = tensor_decode(&r, tp, v, &owned);
    if (rc == 0 && name)
        *name = dup0(tp->name);
    onnx__tensor_proto__free_unpacked(tp, &a);
    if (rc < 0)
        ox_val_clear(v);
    return rc;
}

/* ------------------------------------------------------------ types */

static void type_decode(const Onnx__TypeProto *tp, ox_type *t)
{
    memset(t, 0, sizeof *t);
    t->rank = -1;
    if (!tp)
        return;
    const Onnx__TypeProto *cur = tp;
    t->known = true;
    t->kind = OX_KIND_TENSOR;
    if (cur->value_case == ONNX__TYPE_PROTO__VALUE_OPTIONAL_TYPE && cur->optional_type) {
        t->kind = OX_KIND_NONE;
        cur = cur->optional_type->elem_type;
    }
    if (cur && cur->value_case == ONNX__TYPE_PROTO__VALUE_SEQUENCE_TYPE && cur->sequence_type) {
        t->optional_sequence = t->kind == OX_KIND_NONE;
        t->kind = t->kind == OX_KIND_NONE ? OX_KIND_NONE : OX_KIND_SEQUENCE;
        cur = cur->sequence_type->elem_type;
    }
    if (!cur || cur->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !cur->tensor_type)
        return;
    const Onnx__TypeProto__Tensor *tt = cur->tensor_type;
    t->dtype = tt->has_elem_type ? tt->elem_type : 0;
    if (!tt->shape || tt->shape->n_dim > OX_MAX_RANK)
        return;
    t->rank = (int)tt->shape->n_dim;
    for (int i = 0; i < t->rank; i++) {
        const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
        t->dims[i] = -1;
        if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
            d->dim_value >= 0)
            t->dims[i] = d->dim_value;
        else if (d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM)
            t->dim_params[i] = dup0(d->dim_param);
    }
}

static void type_free(ox_type *t)
{
    for (int i = 0; i < OX_MAX_RANK; i++)
        free(t->dim_params[i]);
}

/* ------------------------------------------------------------ graph building */

static int graph_build(rd *r, const Onnx__GraphProto *gp, ox_graph *parent, int depth,
                       ox_graph **out);

typedef struct names {
    int *slot; /* value index + 1, 0 empty */
    size_t cap;
} names;

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

/* Values are appended to g->values; the hash over names lives with the graph. */
typedef struct gbuild {
    ox_graph *g;
    int cap;
    names h;
} gbuild;

static int gb_find(const gbuild *b, const char *name)
{
    if (!b->h.cap)
        return -1;
    size_t m = b->h.cap - 1;
    for (size_t i = hash_str(name) & m;; i = (i + 1) & m) {
        int s = b->h.slot[i];
        if (!s)
            return -1;
        if (!strcmp(b->g->values[s - 1].name, name))
            return s - 1;
    }
}

static int gb_rehash(gbuild *b, size_t cap)
{
    int *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return -1;
    free(b->h.slot);
    b->h.slot = slot;
    b->h.cap = cap;
    for (int v = 0; v < b->g->n_values; v++) {
        size_t m = cap - 1;
        size_t i = hash_str(b->g->values[v].name) & m;
        while (slot[i])
            i = (i + 1) & m;
        slot[i] = v + 1;
    }
    return 0;
}

/* Append a value named `name` (must be new); returns its index or < 0. */
static int gb_add(rd *r, gbuild *b, const char *name)
{
    ox_graph *g = b->g;
    if (g->n_values == b->cap) {
        int nc = b->cap ? 2 * b->cap : 16;
        if (nc > (1 << 26))
            return CKPT_FAIL(r->err, CKPT_E_LIMIT, "graph '%s': too many values", g->name);
        ox_value *nv = realloc(g->values, (size_t)nc * sizeof *nv);
        if (!nv)
            return nomem(r, "graph values");
        g->values = nv;
        b->cap = nc;
    }
    CKPT_TRY(charge(r, sizeof(ox_value) + strlen(name) + 1, "graph values"));
    ox_value *v = &g->values[g->n_values];
    memset(v, 0, sizeof *v);
    v->name = dup0(name);
    if (!v->name)
        return nomem(r, "graph values");
    v->producer = -1;
    v->outer = -1;
    v->type.rank = -1;
    g->n_values++;
    if ((size_t)g->n_values * 2 > b->h.cap) {
        if (gb_rehash(b, b->h.cap ? b->h.cap * 2 : 64) != 0)
            return nomem(r, "graph values");
    } else {
        size_t m = b->h.cap - 1;
        size_t i = hash_str(name) & m;
        while (b->h.slot[i])
            i = (i + 1) & m;
        b->h.slot[i] = g->n_values;
    }
    return g->n_values - 1;
}

int ox_graph_find(const ox_graph *g, const char *name)
{
    for (int i = 0; i < g->n_values; i++)
        if (!strcmp(g->values[i].name, name))
            return i;
    return -1;
}

/* A name used in subgraph `b` that it does not define: look it up in the
 * enclosing graphs, adding pass-through entries on the way down. */
static int resolve_outer(rd *r, gbuild *b, const char *name)
{
    ox_graph *parent = b->g->parent;
    if (!parent)
        return -1;
    int pi = ox_graph_find(parent, name);
    if (pi < 0) {
        if (!parent->parent)
            return -1;
        /* a grandparent's value: add it to the parent first */
        gbuild pb = {parent, parent->n_values, {NULL, 0}};
        if (gb_rehash(&pb, 64) != 0)
            return nomem(r, "graph values");
        while ((size_t)parent->n_values * 2 > pb.h.cap)
            if (gb_rehash(&pb, pb.h.cap * 2) != 0) {
                free(pb.h.slot);
                return nomem(r, "graph values");
            }
        pi = resolve_outer(r, &pb, name);
        free(pb.h.slot);
        if (pi < 0)
            return pi;
    }
    int vi = gb_add(r, b, name);
    if (vi < 0)
        return vi;
    b->g->values[vi].outer = pi;
    b->g->values[vi].type = (ox_type){0};
    b->g->values[vi].type.rank = -1;
    return vi;
}

static int attr_decode(rd *r, const Onnx__AttributeProto *ap, ox_attr *a, ox_graph *g,
                       const ox_node *node)
{
    memset(a, 0, sizeof *a);
    a->name = dup0(ap->name);
    if (!a->name)
        return nomem(r, "attribute");
    if (ap->ref_attr_name)
        a->ref_attr_name = dup0(ap->ref_attr_name);
    int type = ap->has_type ? (int)ap->type : 0;
    if (!type) {
        /* ir_version < 3 files may omit the type: infer it from the set field */
        if (ap->g)
            type = OX_ATTR_GRAPH;
        else if (ap->t)
            type = OX_ATTR_TENSOR;
        else if (ap->has_s)
            type = OX_ATTR_STRING;
        else if (ap->n_floats)
            type = OX_ATTR_FLOATS;
        else if (ap->n_ints)
            type = OX_ATTR_INTS;
        else if (ap->n_strings)
            type = OX_ATTR_STRINGS;
        else if (ap->has_f)
            type = OX_ATTR_FLOAT;
        else if (ap->has_i)
            type = OX_ATTR_INT;
    }
    a->type = type;
    a->f = ap->f;
    a->i = ap->i;
    if (ap->has_s) {
        a->s = dupn((const char *)ap->s.data, ap->s.len);
        a->s_len = ap->s.len;
        if (!a->s)
            return nomem(r, "attribute");
    }
    switch (type) {
    case OX_ATTR_FLOATS:
        a->n = ap->n_floats;
        CKPT_TRY(charge(r, a->n * sizeof(float), "attribute"));
        a->floats = malloc(a->n ? a->n * sizeof(float) : 1);
        if (!a->floats)
            return nomem(r, "attribute");
        if (a->n)
            memcpy(a->floats, ap->floats, a->n * sizeof(float));
        break;
    case OX_ATTR_INTS:
        a->n = ap->n_ints;
        CKPT_TRY(charge(r, a->n * sizeof(int64_t), "attribute"));
        a->ints = malloc(a->n ? a->n * sizeof(int64_t) : 1);
        if (!a->ints)
            return nomem(r, "attribute");
        if (a->n)
            memcpy(a->ints, ap->ints, a->n * sizeof(int64_t));
        break;
    case OX_ATTR_STRINGS:
        a->n = ap->n_strings;
        a->strings = calloc(a->n ? a->n : 1, sizeof(char *));
        a->string_lens = calloc(a->n ? a->n : 1, sizeof(size_t));
        if (!a->strings || !a->string_lens)
            return nomem(r, "attribute");
        for (size_t i = 0; i < a->n; i++) {
            a->strings[i] = dupn((const char *)ap->strings[i].data, ap->strings[i].len);
            a->string_lens[i] = ap->strings[i].len;
            if (!a->strings[i])
                return nomem(r, "attribute");
        }
        break;
    case OX_ATTR_TENSOR: {
        if (!ap->t)
            return CKPT_FAIL(r->err, CKPT_E_FORMAT, "node '%s': attribute '%s' has no tensor",
                             node->name, a->name);
        a->t = calloc(1, sizeof *a->t);
        if (!a->t)
            return nomem(r, "attribute");
        bool owned;
        int rc = tensor_decode(r, ap->t, a->t, &owned);
        if (rc < 0) {
            ckpt__error_prefix_key(r->err, a->name);
            return rc;
        }
        break;
    }
    case OX_ATTR_TENSORS:
        a->n = ap->n_tensors;
        a->tensors = calloc(a->n ? a->n : 1, sizeof *a->tensors);
        if (!a->tensors)
            return nomem(r, "attribute");
        for (size_t i = 0; i < a->n; i++) {
            bool owned;
            CKPT_TRY(tensor_decode(r, ap->tensors[i], &a->tensors[i], &owned));
        }
        break;
    case OX_ATTR_GRAPH:
        if (!ap->g)
            return CKPT_FAIL(r->err, CKPT_E_FORMAT, "node '%s': attribute '%s' has no graph",
                             node->name, a->name);
        CKPT_TRY(graph_build(r, ap->g, g, g->depth + 1, &a->g));
        break;
    case OX_ATTR_GRAPHS:
        a->n = ap->n_graphs;
        a->graphs = calloc(a->n ? a->n : 1, sizeof *a->graphs);
        if (!a->graphs)
            return nomem(r, "attribute");
        for (size_t i = 0; i < a->n; i++)
            CKPT_TRY(graph_build(r, ap->graphs[i], g, g->depth + 1, &a->graphs[i]));
        break;
    case OX_ATTR_TYPE_PROTO: /* kept packed in s/s_len so a writer can put it back (export) */
        if (ap->tp && !a->s) {
            a->s_len = onnx__type_proto__get_packed_size(ap->tp);
            CKPT_TRY(charge(r, a->s_len + 1, "attribute"));
            a->s = malloc(a->s_len + 1);
            if (!a->s)
                return nomem(r, "attribute");
            onnx__type_proto__pack(ap->tp, (uint8_t *)a->s);
            a->s[a->s_len] = 0;
        }
        break;
    default: break;
    }
    return 0;
}

static void attr_free(ox_attr *a)
{
    ox_attr_free(a, true);
}

void ox_graph_free(ox_graph *g)
{
    if (!g)
        return;
    for (int i = 0; i < g->n_nodes; i++) {
        ox_node *n = &g->nodes[i];
        free(n->name);
        free(n->op_type);
        free(n->domain);
        free(n->in);
        free(n->out);
        for (int k = 0; k < n->n_attrs; k++)
            attr_free(&n->attrs[k]);
        free(n->attrs);
        free(n->state);
        free(n->prep_err);
    }
    free(g->nodes);
    for (int i = 0; i < g->n_values; i++) {
        ox_value *v = &g->values[i];
        free(v->name);
        type_free(&v->type);
        if (v->init_owned)
            ox_val_clear(&v->init);
    }
    free(g->values);
    free(g->inputs);
    free(g->outputs);
    free(g->initializers);
    free(g->name);
    free(g);
}

static const char *node_label(const Onnx__NodeProto *np, size_t i, char *buf, size_t n)
{
    if (np->name && np->name[0])
        return np->name;
    snprintf(buf, n, "#%zu", i);
    return buf;
}

/* The values node `i` reads: its inputs, and the outer names its subgraphs
 * use (they must be computed before the node runs).  Calls fn(ctx, value). */
static void node_deps(const ox_graph *g, const ox_node *n, void (*fn)(void *, int), void *ctx)
{
    for (int k = 0; k < n->n_in; k++)
        if (n->in[k] >= 0)
            fn(ctx, n->in[k]);
    for (int a = 0; a < n->n_attrs; a++) {
        const ox_attr *at = &n->attrs[a];
        size_t ng = at->g ? 1 : (at->graphs ? at->n : 0);
        for (size_t j = 0; j < ng; j++) {
            const ox_graph *sg = at->g ? at->g : at->graphs[j];
            for (int v = 0; sg && v < sg->n_values; v++)
                if (sg->values[v].outer >= 0 && sg->values[v].outer < g->n_values)
                    fn(ctx, sg->values[v].outer);
        }
    }
}

typedef struct topo_ctx {
    const ox_graph *g;
    int node;
    int *indeg;
    int *cnt; /* CSR offsets (counting pass) */
    int *adj;
    int *fill;
    bool ok; /* file order valid so far */
    int pass;
} topo_ctx;

static void topo_visit(void *p, int v)
{
    topo_ctx *c = p;
    int prod = c->g->values[v].producer;
    if (prod < 0 || prod == c->node)
        return;
    if (c->pass == 0) {
        if (prod > c->node)
            c->ok = false;
        c->indeg[c->node]++;
        c->cnt[prod + 1]++;
    } else {
        c->adj[c->cnt[prod] + c->fill[prod]++] = c->node;
    }
}

/* Nodes in dependency order: the file's order when it is one (ONNX requires
 * it), else Kahn's algorithm; a cycle is an error naming a node on it. */
static int topo_sort(rd *r, ox_graph *g)
{
    int n = g->n_nodes;
    if (n == 0)
        return 0;
    topo_ctx c = {g, 0, NULL, NULL, NULL, NULL, true, 0};
    c.indeg = calloc((size_t)n, sizeof(int));
    c.cnt = calloc((size_t)n + 1, sizeof(int));
    int *order = malloc((size_t)n * sizeof *order);
    int *queue = malloc((size_t)n * sizeof *queue);
    int rc = 0;
    if (!c.indeg || !c.cnt || !order || !queue) {
        rc = nomem(r, "graph");
        goto out;
    }
    for (c.node = 0; c.node < n; c.node++) {
        /* a node that reads its own output is a one-node cycle */
        for (int k = 0; k < g->nodes[c.node].n_in; k++)
            if (g->nodes[c.node].in[k] >= 0 &&
                g->values[g->nodes[c.node].in[k]].producer == c.node) {
                rc = CKPT_FAIL(r->err, CKPT_E_FORMAT, "graph '%s': node '%s' (%s) is on a cycle",
                               g->name, g->nodes[c.node].name, g->nodes[c.node].op_type);
                goto out;
            }
        node_deps(g, &g->nodes[c.node], topo_visit, &c);
    }
    if (c.ok)
        goto out;
    for (int i = 0; i < n; i++)
        c.cnt[i + 1] += c.cnt[i];
    c.adj = malloc(((size_t)c.cnt[n] + 1) * sizeof(int));
    c.fill = calloc((size_t)n, sizeof(int));
    if (!c.adj || !c.fill) {
        rc = nomem(r, "graph");
        goto out;
    }
    c.pass = 1;
    for (c.node = 0; c.node < n; c.node++)
        node_deps(g, &g->nodes[c.node], topo_visit, &c);
    int qh = 0, qt = 0, done = 0;
    for (int i = 0; i < n; i++)
        if (!c.indeg[i])
            queue[qt++] = i;
    while (qh < qt) {
        int i = queue[qh++];
        order[done++] = i;
        for (int e = c.cnt[i]; e < c.cnt[i + 1]; e++)
            if (--c.indeg[c.adj[e]] == 0)
                queue[qt++] = c.adj[e];
    }
    if (done != n) {
        int bad = 0;
        while (bad < n && !c.indeg[bad])
            bad++;
        rc = CKPT_FAIL(r->err, CKPT_E_FORMAT, "graph '%s': node '%s' (%s) is on a cycle", g->name,
                       g->nodes[bad].name, g->nodes[bad].op_type);
        goto out;
    }
    ox_node *sorted = malloc((size_t)n * sizeof *sorted);
    if (!sorted) {
        rc = nomem(r, "graph");
        goto out;
    }
    for (int i = 0; i < n; i++)
        sorted[i] = g->nodes[order[i]];
    free(g->nodes);
    g->nodes = sorted;
    for (int i = 0; i < n; i++) {
        g->nodes[i].index = i;
        for (int k = 0; k < g->nodes[i].n_out; k++)
            if (g->nodes[i].out[k] >= 0)
                g->values[g->nodes[i].out[k]].producer = i;
    }
out:
    free(c.indeg), free(c.cnt), free(c.adj), free(c.fill), free(order), free(queue);
    return rc;
}

static int graph_build(rd *r, const Onnx__GraphProto *gp, ox_graph *parent, int depth,
                       ox_graph **out)
{
    *out = NULL;
    if (depth > OX_MAX_SUBGRAPH_DEPTH)
        return CKPT_FAIL(r->err, CKPT_E_LIMIT, "graph '%s': subgraphs nested deeper than %d",
                         gp->name ? gp->name : "", OX_MAX_SUBGRAPH_DEPTH);
    if (gp->n_node > (size_t)(1 << 24))
        return CKPT_FAIL(r->err, CKPT_E_LIMIT, "graph '%s': %zu nodes", gp->name ? gp->name : "",
                         gp->n_node);
    ox_graph *g = calloc(1, sizeof *g);
    if (!g)
        return nomem(r, "graph");
    *out = g;
    g->parent = parent;
    g->depth = depth;
    g->model = r->m;
    g->name = dup0(gp->name);
    r->n_graphs++;
    gbuild b = {g, 0, {NULL, 0}};
    int rc = 0;
#define G_TRY(e)                                                                                 \
    do {                                                                                         \
        rc = (e);                                                                                \
        if (rc < 0)                                                                              \
            goto done;                                                                           \
    } while (0)

    g->inputs = malloc((gp->n_input ? gp->n_input : 1) * sizeof(int));
    g->outputs = malloc((gp->n_output ? gp->n_output : 1) * sizeof(int));
    g->initializers = malloc((gp->n_initializer ? gp->n_initializer : 1) * sizeof(int));
    g->nodes = calloc(gp->n_node ? gp->n_node : 1, sizeof *g->nodes);
    if (!g->name || !g->inputs || !g->outputs || !g->initializers || !g->nodes)
        G_TRY(nomem(r, "graph"));
    G_TRY(charge(r, gp->n_node * sizeof(ox_node), "graph nodes"));

    /* initializers first: an input with the same name gets it as a default */
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        const char *nm = tp->name ? tp->name : "";
        if (!nm[0])
            G_TRY(CKPT_FAIL(r->err, CKPT_E_FORMAT, "graph '%s': initializer %zu has no name",
                            g->name, i));
        if (gb_find(&b, nm) >= 0)
            G_TRY(CKPT_FAIL(r->err, CKPT_E_FORMAT, "graph '%s': initializer '%s' defined twice",
                            g->name, nm));
        int vi = gb_add(r, &b, nm);
        G_TRY(vi);
        ox_value *v = &g->values[vi];
        v->is_initializer = true;
        bool owned;
        rc = tensor_decode(r, tp, &v->init, &owned);
        if (rc < 0) {
            ox_val_clear(&v->init);
            ckpt__error_prefix_key(r->err, nm);
            goto done;
        }
        v->init_owned = owned;
        if (!owned) {
            /* mapped: keep dims, but the buffer is not ours */
            v->init.buf = NULL;
            v->init.cap = 0;
        }
        v->type.known = true;
        v->type.kind = OX_KIND_TENSOR;
        v->type.dtype = v->init.dtype;
        v->type.rank = v->init.rank;
        memcpy(v->type.dims, v->init.dims, sizeof v->type.dims);
        g->initializers[g->n_initializers++] = vi;
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vp = gp->input[i];
        const char *nm = vp->name ? vp->name : "";
        int vi = gb_find(&b, nm);
        if (vi < 0) {
            vi = gb_add(r, &b, nm);
            G_TRY(vi);
        } else if (g->values[vi].is_input) {
            G_TRY(CKPT_FAIL(r->err, CKPT_E_FORMAT, "graph '%s': input '%s' listed twice", g->name,
                            nm));
        }
        ox_value *v = &g->values[vi];
        v->is_input = true;
        ox_type t;
        type_decode(vp->type, &t);
        if (t.known) {
            type_free(&v->type);
            v->type = t;
        }
        if (!v->is_initializer)
            g->inputs[g->n_inputs++] = vi;
    }
    /* node outputs */
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        ox_node *n = &g->nodes[i];
        char lb[32];
        n->index = (int)i;
        n->name = dup0(node_label(np, i, lb, sizeof lb));
        n->op_type = dup0(np->op_type);
        const char *dom = np->domain ? np->domain : "";
        if (!strcmp(dom, "ai.onnx"))
            dom = "";
        n->domain = dup0(dom);
        g->n_nodes++;
        if (!n->name || !n->op_type || !n->domain)
            G_TRY(nomem(r, "node"));
        if (!n->op_type[0])
            G_TRY(CKPT_FAIL(r->err, CKPT_E_FORMAT, "node '%s' has no op_type", n->name));
        int64_t ver = ox_model_opset(r->m, n->domain);
        if (ver <= 0)
            G_TRY(CKPT_FAIL(r->err, CKPT_E_FORMAT,
                            "node '%s' (%s): domain '%s' is not in the model's opset imports",
                            n->name, n->op_type, n->domain[0] ? n->domain : "ai.onnx"));
        n->opset = ver > INT32_MAX ? INT32_MAX : (int)ver;
        if (np->n_input > 4096 || np->n_output > 4096)
            G_TRY(CKPT_FAIL(r->err, CKPT_E_LIMIT, "node '%s' (%s): %zu inputs, %zu outputs",
                            n->name, n->op_type, np->n_input, np->n_output));
        n->n_in = (int)np->n_input;
        n->n_out = (int)np->n_output;
        n->in = malloc((np->n_input ? np->n_input : 1) * sizeof(int));
        n->out = malloc((np->n_output ? np->n_output : 1) * sizeof(int));
        if (!n->in || !n->out)
            G_TRY(nomem(r, "node"));
        for (size_t k = 0; k < np->n_output; k++) {
            const char *nm = np->output[k] ? np->output[k] : "";
            if (!nm[0]) {
                n->out[k] = -1;
                continue;
            }
            if (gb_find(&b, nm) >= 0)
                G_TRY(CKPT_FAIL(r->err, CKPT_E_FORMAT,
                                "node '%s' (%s): output '%s' is already defined", n->name,
                                n->op_type, nm));
            int vi = gb_add(r, &b, nm);
            G_TRY(vi);
            g->values[vi].producer = (int)i;
            n->out[k] = vi;
        }
    }
    /* node inputs (names from this graph, or the enclosing ones) */
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        ox_node *n = &g->nodes[i];
        for (size_t k = 0; k < np->n_input; k++) {
            const char *nm = np->input[k] ? np->input[k] : "";
            if (!nm[0]) {
                n->in[k] = -1;
                continue;
            }
            int vi = gb_find(&b, nm);
            if (vi < 0) {
                vi = resolve_outer(r, &b, nm);
                if (vi < 0 && !ckpt__error_is_set(r->err))
                    rc = CKPT_FAIL(r->err, CKPT_E_FORMAT,
                                   "node '%s' (%s): input '%s' is not defined", n->name,
                                   n->op_type, nm);
                G_TRY(vi < 0 ? (rc < 0 ? rc : CKPT_E_FORMAT) : 0);
            }
            n->in[k] = vi;
        }
    }
    /* outputs */
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vp = gp->output[i];
        const char *nm = vp->name ? vp->name : "";
        int vi = gb_find(&b, nm);
        if (vi < 0)
            vi = resolve_outer(r, &b, nm);
        if (vi < 0)
            G_TRY(CKPT_FAIL(r->err, CKPT_E_FORMAT, "graph '%s': output '%s' is not defined",
                            g->name, nm));
        ox_value *v = &g->values[vi];
        v->is_output = true;
        ox_type t;
        type_decode(vp->type, &t);
        if (t.known && !v->type.known) {
            type_free(&v->type);
            v->type = t;
        } else {
            type_free(&t);
        }
        g->outputs[g->n_outputs++] = vi;
    }
    for (size_t i = 0; i < gp->n_value_info; i++) {
        const Onnx__ValueInfoProto *vp = gp->value_info[i];
        int vi = gb_find(&b, vp->name ? vp->name : "");
        if (vi < 0 || g->values[vi].type.known)
            continue;
        type_decode(vp->type, &g->values[vi].type);
    }
    /* attributes after every name of this graph is known: subgraphs resolve
     * outer names against it */
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        ox_node *n = &g->nodes[i];
        if (np->n_attribute > 65536)
            G_TRY(CKPT_FAIL(r->err, CKPT_E_LIMIT, "node '%s': %zu attributes", n->name,
                            np->n_attribute));
        n->attrs = calloc(np->n_attribute ? np->n_attribute : 1, sizeof *n->attrs);
        if (!n->attrs)
            G_TRY(nomem(r, "attributes"));
        for (size_t k = 0; k < np->n_attribute; k++) {
            n->n_attrs++;
            rc = attr_decode(r, np->attribute[k], &n->attrs[k], g, n);
            if (rc < 0) {
                char tmp[300];
                snprintf(tmp, sizeof tmp, "%s", n->name);
                ckpt__error_prefix_key(r->err, tmp);
                goto done;
            }
        }
    }
    G_TRY(topo_sort(r, g));
done:
#undef G_TRY
    free(b.h.slot);
    return rc;
}

/* ------------------------------------------------------------ model */

int64_t ox_model_opset(const struct ckpt_onnx_model *m, const char *domain)
{
    for (int i = 0; i < m->n_opsets; i++) {
        const char *d = m->opsets[i].domain;
        if (!strcmp(d, domain))
            return m->opsets[i].version;
    }
    return 0;
}

static int model_build(rd *r, const Onnx__ModelProto *mp)
{
    struct ckpt_onnx_model *m = r->m;
    m->ir_version = mp->has_ir_version ? mp->ir_version : 0;
    if (m->ir_version < 3)
        return CKPT_FAIL(r->err, CKPT_E_UNSUPPORTED,
                         "ir_version %lld (ckpt reads ONNX ir_version 3 and later)",
                         (long long)m->ir_version);
    m->model_version = mp->has_model_version ? mp->model_version : 0;
    m->producer_name = dup0(mp->producer_name);
    m->producer_version = dup0(mp->producer_version);
    m->domain = dup0(mp->domain);
    m->doc_string = dup0(mp->doc_string);
    m->opsets = calloc(mp->n_opset_import ? mp->n_opset_import : 1, sizeof *m->opsets);
    if (!m->producer_name || !m->producer_version || !m->domain || !m->doc_string || !m->opsets)
        return nomem(r, "model");
    for (size_t i = 0; i < mp->n_opset_import; i++) {
        const Onnx__OperatorSetIdProto *o = mp->opset_import[i];
        const char *d = o->domain ? o->domain : "";
        if (!strcmp(d, "ai.onnx"))
            d = "";
        m->opsets[m->n_opsets].domain = dup0(d);
        if (!m->opsets[m->n_opsets].domain)
            return nomem(r, "model");
        m->opsets[m->n_opsets].version = o->has_version ? o->version : 0;
        m->n_opsets++;
    }
    if (mp->n_metadata_props > 0) {
        m->meta_keys = calloc(mp->n_metadata_props, sizeof(char *));
        m->meta_values = calloc(mp->n_metadata_props, sizeof(char *));
        if (!m->meta_keys || !m->meta_values)
            return nomem(r, "model");
        for (size_t i = 0; i < mp->n_metadata_props; i++) {
            m->meta_keys[i] = dup0(mp->metadata_props[i]->key);
            m->meta_values[i] = dup0(mp->metadata_props[i]->value);
            m->n_meta++;
        }
    }
    if (!mp->graph)
        return CKPT_FAIL(r->err, CKPT_E_FORMAT, "model has no graph");
    if (mp->n_functions > 0)
        return CKPT_FAIL(r->err, CKPT_E_UNSUPPORTED,
                         "model-local functions (%zu) are not supported yet", mp->n_functions);
    CKPT_TRY(graph_build(r, mp->graph, NULL, 0, &m->graph));
    return ox_bind_kernels(m->graph, r->err);
}

static ckpt_onnx_model *load_bytes(const void *data, size_t size, const char *label,
                                   const char *dir, const ckpt_onnx_load_opts *opts,
                                   ckpt_error *err)
{
    struct ckpt_onnx_model *m = calloc(1, sizeof *m);
    if (!m) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    size_t limit = opts && opts->max_bytes ? opts->max_bytes : (size_t)1 << 32;
    if (!(opts && opts->max_bytes) && size < SIZE_MAX / 16 && 16 * size > limit)
        limit = 16 * size;
    m->bytes_limit = limit;
    m->path = dup0(label);
    if (dir)
        m->dir = dup0(dir);
    ox_budget b = {0, limit, false};
    /* the protobuf messages themselves: a repeated field of empty messages turns 2 bytes
     * into a ~150-byte struct, so without a caller's limit the parse gets 16 MiB + 32 x
     * the file (legitimate graphs need well under 32 x) */
    if (!(opts && opts->max_bytes) && size < (SIZE_MAX - ((size_t)16 << 20)) / 32 &&
        ((size_t)16 << 20) + 32 * size < limit)
        b.limit = ((size_t)16 << 20) + 32 * size;
    ProtobufCAllocator a = {budget_alloc, budget_free, &b};
    Onnx__ModelProto *mp = NULL;
    int rc = 0;
    if (size == 0) {
        rc = CKPT_FAIL(err, CKPT_E_FORMAT, "empty file, not an ONNX model");
    } else if ((rc = ox_pb_check_depth(data, size, &onnx__model_proto__descriptor,
                                       OX_MAX_PB_DEPTH, err)) == 0) {
        /* protobuf-c recurses once per nested message, without a limit */
        mp = onnx__model_proto__unpack(&a, size, data);
        if (!mp)
            rc = b.hit
                     ? CKPT_FAIL(err, CKPT_E_LIMIT,
                                 "the protobuf parse needs more than the %zu-byte limit", b.limit)
                     : CKPT_FAIL(err, CKPT_E_FORMAT, "not a valid ONNX ModelProto (protobuf)");
    }
    if (rc == 0) {
        rd r = {m, opts, err, 0, 0};
        r.bytes = b.used;                 /* the message and the IR are alive together */
        const Onnx__ModelProto *use = mp; /* model-local functions inlined (onnx_function.c) */
        ox_fn_inline *fi = NULL;
        rc = ox_functions_inline(mp, limit > b.used ? limit - b.used : 0, &use, &fi, err);
        if (rc == 0)
            rc = model_build(&r, use);
        ox_functions_free(fi);
    }
    if (mp)
        onnx__model_proto__free_unpacked(mp, &a);
    if (rc < 0) {
        ckpt__error_set_file(err, label);
        ckpt_onnx_model_free(m);
        return NULL;
    }
    return m;
}

ckpt_onnx_model *ckpt_onnx_load_buffer(const void *data, size_t size, const char *label,
                                       const ckpt_onnx_load_opts *opts, ckpt_error *err)
{
    ckpt_error_clear(err); /* first error wins: start from a clear record, as ckpt_load does */
    if (!data && size) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_onnx_load_buffer: NULL data");
        return NULL;
    }
    return load_bytes(data, size, label ? label : "<buffer>", NULL, opts, err);
}

ckpt_onnx_model *ckpt_onnx_load(const char *path, const ckpt_onnx_load_opts *opts,
                                ckpt_error *err)
{
    ckpt_error_clear(err); /* first error wins: start from a clear record, as ckpt_load does */
    if (!path) {
        CKPT_FAIL(err, CKPT_E_ARG, "ckpt_onnx_load: NULL path");
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        CKPT_FAIL(err, errno == ENOENT ? CKPT_E_NOT_FOUND : CKPT_E_IO, "cannot open: %s",
                  strerror(errno));
        ckpt__error_set_file(err, path);
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        CKPT_FAIL(err, CKPT_E_IO, "not a regular file");
        ckpt__error_set_file(err, path);
        return NULL;
    }
    size_t size = (size_t)st.st_size;
    void *p = NULL;
    if (size) {
        p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            CKPT_FAIL(err, CKPT_E_IO, "cannot map: %s", strerror(errno));
            ckpt__error_set_file(err, path);
            return NULL;
        }
    }
    close(fd);
    char *dir = dup0(path);
    if (!dir) {
        if (p)
            munmap(p, size);
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    char *slash = strrchr(dir, '/');
    if (slash)
        slash == dir ? (void)(slash[1] = 0) : (void)(*slash = 0);
    else
        strcpy(dir, ".");
    ckpt_onnx_model *m = load_bytes(p ? p : "", size, path, dir, opts, err);
    free(dir);
    if (p)
        munmap(p, size);
    return m;
}

void ckpt_onnx_model_free(ckpt_onnx_model *m)
{
    if (!m)
        return;
    ox_graph_free(m->graph);
    for (int i = 0; i < m->n_maps; i++)
        if (m->maps[i])
            munmap(m->maps[i], m->map_lens[i]);
    free(m->maps);
    free(m->map_lens);
    for (int i = 0; i < m->n_opsets; i++)
        free(m->opsets[i].domain);
    free(m->opsets);
    for (int i = 0; i < m->n_meta; i++) {
        free(m->meta_keys[i]);
        free(m->meta_values[i]);
    }
    free(m->meta_keys);
    free(m->meta_values);
    free(m->path);
    free(m->dir);
    free(m->producer_name);
    free(m->producer_version);
    free(m->domain);
    free(m->doc_string);
    free(m);
}
