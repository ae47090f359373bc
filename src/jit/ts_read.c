/*
 * src/jit/ts_read.c - TorchScript archives (torch.jit.save, every format
 * version; lite archives too) into the jv module tree.
 *
 * Records read: `version`, code/ .py files (kept in m->sources, their class
 * headers scanned into the class table by ts_read_code.c), `extra/` (names
 * in m->extra_names), `data.pkl` (the module tree: ckpt_load in data-only
 * mode, nothing executed; tensors borrow the document's mapped storages),
 * `constants.pkl` (m->constants, tensors copied), and for format 1
 * `model.json` + `attributes.pkl` + `tensors/` (ts_read_v1.c).
 *
 * Mapping of data.pkl objects:
 *   - an object whose state is a dict (modules, TorchScript classes) becomes a
 *     JV_OBJECT of class "<module>.<name>" with one attribute per state entry,
 *     in the stored (slot) order; the kind comes from the class header:
 *     `__parameters__` -> JIT_A_PARAM, `__buffers__` -> JIT_A_BUFFER, a module
 *     object -> JIT_A_MODULE, anything else JIT_A_ATTR;
 *   - an object with any other state (custom classes such as
 *     __torch__.torch.classes.quantized.LinearPackedParamsBase, classes with
 *     __getstate__) becomes a JV_OBJECT of its class holding one JIT_A_ATTR
 *     "__state__": the state as pickled (what __setstate__ receives);
 *   - shared nodes (the pickle memo) stay shared: one jv per node.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/source.h"
#include "ckpt/torch.h"
#include "core/err.h"
#include "core/obj.h"
#include "jit/ts_read.h"

#define TSR_MAX_NEST 1000

int tsr_strv_push(char ***v, size_t *n, const char *s, size_t len, ckpt_error *err)
{
    char **p = realloc(*v, (*n + 1) * sizeof *p);
    if (!p)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    *v = p;
    char *c = malloc(len + 1);
    if (!c)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    memcpy(c, s, len);
    c[len] = 0;
    p[(*n)++] = c;
    return 0;
}

int tsr_read_record(const ckpt_zip *z, const ckpt_zip_entry *e, uint64_t limit, char **out,
                    size_t *n, ckpt_error *err)
{
    if (e->size > limit)
        return CKPT_FAIL_AT(err, CKPT_E_LIMIT, CKPT_WHERE_FILE, NULL, e->header_offset,
                            "record %s is %llu bytes (at most %llu read)", e->name,
                            (unsigned long long)e->size, (unsigned long long)limit);
    size_t sz = (size_t)e->size;
    char *buf = malloc(sz + 1);
    if (!buf)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory reading %s", e->name);
    if (ckpt_zip_read(z, e, buf, sz, false, err) < 0) {
        free(buf);
        if (err && !err->member[0])
            snprintf(err->member, sizeof err->member, "%s", e->name);
        return err && err->code ? err->code : CKPT_E_FORMAT;
    }
    buf[sz] = 0;
    *out = buf;
    *n = sz;
    return 0;
}

char *tsr_module_path(const char *record)
{
    const char *s = record;
    if (strncmp(s, "code/", 5) == 0)
        s += 5;
    size_t n = strlen(s);
    if (n > 3 && strcmp(s + n - 3, ".py") == 0)
        n -= 3;
    char *p = malloc(n + 1);
    if (!p)
        return NULL;
    for (size_t i = 0; i < n; i++)
        p[i] = s[i] == '/' ? '.' : s[i];
    p[n] = 0;
    return p;
}

/* ------------------------------------------------------------ data.pkl -> jv */

typedef struct tsr {
    ckpt_jit_model *m;
    const char *rec; /* pickle being converted, for errors */
    bool copy;       /* tensors get owned copies (their document is freed after) */
    const ckpt_obj **mk;
    jv **mv;
    size_t mn, mcap;
    ckpt_error *err;
} tsr;

/* The memo: node -> jv, open addressing on the node pointer (mcap a power of 2, at
 * most half full), so shared nodes stay shared in linear time. */
static size_t memo_slot(const tsr *R, const ckpt_obj *o)
{
    uint64_t h = (uint64_t)(uintptr_t)o;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    size_t mask = R->mcap - 1, i = (size_t)h & mask;
    while (R->mk[i] && R->mk[i] != o)
        i = (i + 1) & mask;
    return i;
}

static jv *memo_get(const tsr *R, const ckpt_obj *o)
{
    if (!R->mcap)
        return NULL;
    size_t i = memo_slot(R, o);
    return R->mk[i] ? R->mv[i] : NULL;
}

static int memo_put(tsr *R, const ckpt_obj *o, jv *v)
{
    if ((R->mn + 1) * 2 > R->mcap) {
        size_t cap = R->mcap ? R->mcap * 2 : 256;
        tsr old = *R;
        R->mk = calloc(cap, sizeof *R->mk);
        R->mv = R->mk ? calloc(cap, sizeof *R->mv) : NULL;
        if (!R->mv) {
            free(R->mk);
            R->mk = old.mk;
            R->mv = old.mv;
            return CKPT_FAIL(R->err, CKPT_E_NOMEM, "out of memory");
        }
        R->mcap = cap;
        for (size_t i = 0; i < old.mcap; i++)
            if (old.mk[i]) {
                size_t k = memo_slot(R, old.mk[i]);
                R->mk[k] = old.mk[i];
                R->mv[k] = old.mv[i];
            }
        free(old.mk);
        free(old.mv);
    }
    size_t i = memo_slot(R, o);
    R->mk[i] = o;
    R->mv[i] = v;
    R->mn++;
    return 0;
}

static bool in_strv(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i], s) == 0)
            return true;
    return false;
}

static jv *fail_null(tsr *R, int code, const char *path, const char *fmt, const char *what)
{
    CKPT_FAIL(R->err, code, "%s: %s%s%s", R->rec, path[0] ? path : "(root)", fmt, what);
    if (R->err && !R->err->key[0])
        snprintf(R->err->key, sizeof R->err->key, "%s", path);
    return NULL;
}

static jv *conv_tensor(tsr *R, const ckpt_obj *o, const char *path)
{
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(o, &ti) < 0)
        return fail_null(R, CKPT_E_FORMAT, path, ": ", "not a tensor");
    int dt = ti.dtype >= 0 && ti.dtype <= 15 ? jit_st_to_ox(ti.dtype) : OX_UNDEFINED;
    if (dt == OX_UNDEFINED)
        return fail_null(R, CKPT_E_UNSUPPORTED, path, ": tensor of element type ",
                         ckpt_dtype_name(ti.dtype) ? ckpt_dtype_name(ti.dtype) : "?");
    if (ti.ndim > OX_MAX_RANK)
        return fail_null(R, CKPT_E_UNSUPPORTED, path, ": ", "tensor of more than 8 dimensions");
    const void *data = ckpt_tensor_data(o);
    if (!data && ti.numel > 0)
        return fail_null(R, CKPT_E_UNSUPPORTED, path, ": ",
                         "tensor has no data (meta device or storage not read)");
    jv *v;
    if (ti.contiguous && !R->copy) {
        /* borrow the document's (mapped) storage: m->doc lives as long as m */
        v = jv_tensor_view(NULL, dt, ti.ndim, ti.shape, (void *)(uintptr_t)data);
        if (!v)
            return fail_null(R, CKPT_E_NOMEM, path, ": ", "out of memory");
    } else {
        v = jv_tensor_new();
        if (!v)
            return fail_null(R, CKPT_E_NOMEM, path, ": ", "out of memory");
        if (ox_val_reshape_alloc(&v->u.t->t, dt, ti.ndim, ti.shape, R->err) < 0) {
            jv_unref(v);
            return NULL;
        }
        size_t nb = ox_val_nbytes(&v->u.t->t);
        if (nb && ckpt_tensor_copy_into(o, v->u.t->t.data, nb, R->err) < 0) {
            jv_unref(v);
            return NULL;
        }
    }
    v->u.t->requires_grad = ti.requires_grad;
    if (ti.quantized) {
        v->u.t->is_quantized = true;
        const ckpt_obj *q = o->u.t->qparams;
        if (q && q->type == CKPT_T_TUPLE && q->u.seq.n >= 3) {
            v->u.t->q_scale = ckpt_obj_float(q->u.seq.items[1]);
            v->u.t->q_zero_point = ckpt_obj_int(q->u.seq.items[2]);
        }
    }
    return v;
}

static jv *conv(tsr *R, const ckpt_obj *o, const char *path, int depth);

static char *join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s%s%s", a, a[0] ? "." : "", b);
    return p;
}

static jv *conv_object(tsr *R, const ckpt_obj *o, const char *path, int depth)
{
    const char *mod = ckpt_global_module(o), *name = ckpt_global_name(o);
    if (!mod || !name)
        return fail_null(R, CKPT_E_FORMAT, path, ": ", "object without a class");
    size_t ql = strlen(mod) + strlen(name) + 2;
    char *qn = malloc(ql);
    if (!qn)
        return fail_null(R, CKPT_E_NOMEM, path, ": ", "out of memory");
    snprintf(qn, ql, "%s.%s", mod, name);
    jit_class *cls = jit_class_get(R->m, qn, R->err);
    free(qn);
    if (!cls)
        return NULL;
    jv *v = jv_obj_new(cls);
    if (!v)
        return fail_null(R, CKPT_E_NOMEM, path, ": ", "out of memory");
    if (memo_put(R, o, v) < 0) {
        jv_unref(v);
        return NULL;
    }
    const ckpt_obj *st = ckpt_object_state(o);
    bool dict_state = st && ckpt_obj_type(st) == CKPT_T_DICT;
    for (size_t i = 0; dict_state && i < ckpt_obj_len(st); i++)
        if (ckpt_obj_type(ckpt_dict_key(st, i)) != CKPT_T_STR)
            dict_state = false;
    if (!dict_state) {
        jv *sv = st ? conv(R, st, path, depth + 1) : jv_none();
        if (!sv || jv_obj_set(v, "__state__", JIT_A_ATTR, sv, R->err) < 0)
            return NULL; /* v stays owned by the memo */
        return v;
    }
    /* a module without a code/ header (traced archives always have one; be lenient) */
    if (!cls->file && !cls->is_module && ckpt_dict_get(st, "training"))
        cls->is_module = true;
    for (size_t i = 0; i < ckpt_obj_len(st); i++) {
        const char *an = ckpt_obj_str(ckpt_dict_key(st, i), NULL);
        char *sub = join(path, an);
        if (!sub)
            return fail_null(R, CKPT_E_NOMEM, path, ": ", "out of memory");
        jv *av = conv(R, ckpt_dict_value(st, i), sub, depth + 1);
        free(sub);
        if (!av)
            return NULL;
        int kind = JIT_A_ATTR;
        if (in_strv(cls->params, cls->n_params, an))
            kind = JIT_A_PARAM;
        else if (in_strv(cls->buffers, cls->n_buffers, an))
            kind = JIT_A_BUFFER;
        else if (av->kind == JV_OBJECT && av->u.obj.cls && av->u.obj.cls->is_module)
            kind = JIT_A_MODULE;
        if (jv_obj_set(v, an, kind, av, R->err) < 0)
            return NULL;
    }
    return v;
}

static jv *conv(tsr *R, const ckpt_obj *o, const char *path, int depth)
{
    if (depth > TSR_MAX_NEST)
        return fail_null(R, CKPT_E_LIMIT, path, ": ", "values nested deeper than 1000");
    jv *seen = memo_get(R, o);
    if (seen)
        return jv_ref(seen);
    jv *v = NULL;
    char idx[32];
    switch (ckpt_obj_type(o)) {
    case CKPT_T_NONE: return jv_none();
    case CKPT_T_BOOL: return jv_bool(ckpt_obj_bool(o));
    case CKPT_T_INT: v = jv_int(ckpt_obj_int(o)); break;
    case CKPT_T_FLOAT: v = jv_float(ckpt_obj_float(o)); break;
    case CKPT_T_STR:
    case CKPT_T_BYTES:
    case CKPT_T_BYTEARRAY: {
        size_t n = 0;
        const char *s = ckpt_obj_str(o, &n);
        v = jv_str(s, n);
        break;
    }
    case CKPT_T_TUPLE:
    case CKPT_T_LIST:
    case CKPT_T_SET:
    case CKPT_T_SIZE: {
        bool tup = ckpt_obj_type(o) == CKPT_T_TUPLE || ckpt_obj_type(o) == CKPT_T_SIZE;
        size_t n = ckpt_obj_len(o);
        v = tup ? jv_tuple_new(n) : jv_list_new(n);
        if (!v)
            break;
        if (memo_put(R, o, v) < 0) {
            jv_unref(v);
            return NULL;
        }
        if (ckpt_obj_type(o) == CKPT_T_SIZE) {
            size_t nd = 0;
            const int64_t *d = ckpt_size_dims(o, &nd);
            for (size_t i = 0; i < nd; i++)
                if (jv_list_push(v, jv_int(d[i]), R->err) < 0)
                    return NULL;
            return jv_ref(v);
        }
        for (size_t i = 0; i < n; i++) {
            snprintf(idx, sizeof idx, "%zu", i);
            char *sub = join(path, idx);
            jv *it = sub ? conv(R, ckpt_obj_item(o, i), sub, depth + 1) : NULL;
            free(sub);
            if (!it || jv_list_push(v, it, R->err) < 0)
                return it ? NULL
                          : (R->err && R->err->code
                                 ? NULL
                                 : fail_null(R, CKPT_E_NOMEM, path, ": ", "out of memory"));
        }
        return jv_ref(v);
    }
    case CKPT_T_DICT: {
        v = jv_dict_new();
        if (!v)
            break;
        if (memo_put(R, o, v) < 0) {
            jv_unref(v);
            return NULL;
        }
        for (size_t i = 0; i < ckpt_obj_len(o); i++) {
            const ckpt_obj *k = ckpt_dict_key(o, i);
            const char *ks = ckpt_obj_type(k) == CKPT_T_STR ? ckpt_obj_str(k, NULL) : NULL;
            if (!ks) {
                snprintf(idx, sizeof idx, "%zu", i);
                ks = idx;
            }
            char *sub = join(path, ks);
            jv *kv = sub ? conv(R, k, sub, depth + 1) : NULL;
            jv *vv = kv ? conv(R, ckpt_dict_value(o, i), sub, depth + 1) : NULL;
            free(sub);
            if (!kv || !vv) {
                jv_unref(kv);
                return R->err && R->err->code
                           ? NULL
                           : fail_null(R, CKPT_E_NOMEM, path, ": ", "out of memory");
            }
            if (jv_dict_set(v, kv, vv, R->err) < 0)
                return NULL;
        }
        return jv_ref(v);
    }
    case CKPT_T_TENSOR:
        v = conv_tensor(R, o, path);
        if (!v)
            return NULL;
        if (memo_put(R, o, v) < 0) {
            jv_unref(v);
            return NULL;
        }
        return jv_ref(v);
    case CKPT_T_DTYPE: v = jv_int(ckpt_obj_dtype(o)); break;
    case CKPT_T_DEVICE: v = jv_device(ckpt_device_type(o), ckpt_device_index(o)); break;
    case CKPT_T_COMPLEX: {
        double re, im;
        ckpt_obj_complex(o, &re, &im);
        v = jv_tuple_new(2);
        if (v && (jv_list_push(v, jv_float(re), R->err) < 0 ||
                  jv_list_push(v, jv_float(im), R->err) < 0)) {
            jv_unref(v);
            return NULL;
        }
        break;
    }
    case CKPT_T_OBJECT: {
        jv *ob = conv_object(R, o, path, depth);
        return ob ? jv_ref(ob) : NULL;
    }
    case CKPT_T_GLOBAL: {
        const char *gm = ckpt_global_module(o), *gn = ckpt_global_name(o);
        size_t n = strlen(gm) + strlen(gn) + 2;
        char *s = malloc(n);
        if (!s)
            break;
        snprintf(s, n, "%s.%s", gm, gn);
        v = jv_opaque(s, free, "global");
        break;
    }
    default:
        return fail_null(R, CKPT_E_UNSUPPORTED, path, ": a value of type ",
                         ckpt_type_name(ckpt_obj_type(o)));
    }
    if (!v)
        return fail_null(R, CKPT_E_NOMEM, path, ": ", "out of memory");
    return v;
}

/* memo entries hold one reference each; the tree holds its own */
static void tsr_done(tsr *R)
{
    for (size_t i = 0; i < R->mcap; i++)
        if (R->mk[i])
            jv_unref(R->mv[i]);
    free(R->mk);
    free(R->mv);
    R->mk = NULL;
    R->mv = NULL;
    R->mn = R->mcap = 0;
}

static ckpt_doc *load_pickle(ckpt_jit_model *m, const char *record, ckpt_error *err)
{
    ckpt_load_opts o;
    memset(&o, 0, sizeof o);
    o.mode = CKPT_LOAD_MMAP;
    o.unsafe_full = true;    /* data-only: classes become inert objects, nothing runs */
    o.keep_locations = true; /* cuda:0 storages are read as bytes, as map_location='cpu' */
    o.verify_crc = m->opts.verify_crc;
    o.pickle_record = record;
    o.limits.max_alloc_bytes = m->opts.max_bytes;
    return ckpt_load(m->path, &o, err);
}

static int read_data_pkl(ckpt_jit_model *m, ckpt_error *err)
{
    m->doc = load_pickle(m, "data.pkl", err);
    if (!m->doc)
        return err->code ? err->code : CKPT_E_FORMAT;
    const ckpt_obj *root = ckpt_doc_root(m->doc);
    if (ckpt_obj_type(root) != CKPT_T_OBJECT)
        return CKPT_FAIL(err, CKPT_E_FORMAT, "data.pkl: the root is a %s, not a module object",
                         ckpt_type_name(ckpt_obj_type(root)));
    tsr R = {.m = m, .rec = "data.pkl", .err = err};
    m->root = conv(&R, root, "", 0);
    tsr_done(&R);
    if (!m->root)
        return err->code ? err->code : CKPT_E_NOMEM;
    if (m->root->kind != JV_OBJECT)
        return CKPT_FAIL(err, CKPT_E_FORMAT, "data.pkl: the root is not a module object");
    return 0;
}

static int read_constants(ckpt_jit_model *m, ckpt_error *err)
{
    ckpt_doc *doc = load_pickle(m, "constants.pkl", err);
    if (!doc)
        return err->code ? err->code : CKPT_E_FORMAT;
    tsr R = {.m = m, .rec = "constants.pkl", .copy = true, .err = err};
    const ckpt_obj *root = ckpt_doc_root(doc);
    int rc = 0;
    if (ckpt_obj_type(root) != CKPT_T_TUPLE) {
        rc = CKPT_FAIL(err, CKPT_E_FORMAT, "constants.pkl: the root is a %s, not a tuple",
                       ckpt_type_name(ckpt_obj_type(root)));
    } else {
        m->constants = conv(&R, root, "", 0);
        if (!m->constants)
            rc = err->code ? err->code : CKPT_E_NOMEM;
    }
    tsr_done(&R);
    ckpt_doc_free(doc);
    return rc;
}

static int cmp_src(const void *a, const void *b)
{
    return strcmp(((const jit_source *)a)->record, ((const jit_source *)b)->record);
}

/* version, extra/, code/ sources */
static int read_records(ckpt_jit_model *m, ckpt_zip *z, ckpt_error *err)
{
    const ckpt_zip_entry *ve = ckpt_zip_find(z, "version");
    if (!ve)
        ve = ckpt_zip_find(z, ".data/version");
    if (ve) {
        char *txt = NULL;
        size_t n = 0;
        CKPT_TRY(tsr_read_record(z, ve, 64, &txt, &n, err));
        char *end = NULL;
        long long v = strtoll(txt, &end, 10);
        bool ok = end != txt && v >= 0;
        free(txt);
        if (!ok)
            return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, ve->data_offset,
                                "record %s is not a version number", ve->name);
        m->version = v;
    }
    size_t nsrc = 0;
    for (size_t i = 0; i < ckpt_zip_count(z); i++) {
        const ckpt_zip_entry *e = ckpt_zip_entry_at(z, i);
        const char *r = e->record;
        if (!r)
            continue;
        size_t rl = strlen(r);
        if (strncmp(r, "extra/", 6) == 0 && rl > 6)
            CKPT_TRY(tsr_strv_push(&m->extra_names, &m->n_extra, r + 6, rl - 6, err));
        if (strncmp(r, "code/", 5) == 0 && rl > 8 && strcmp(r + rl - 3, ".py") == 0)
            nsrc++;
    }
    if (!nsrc)
        return 0;
    m->sources = calloc(nsrc, sizeof *m->sources);
    if (!m->sources)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    uint64_t total = 0;
    for (size_t i = 0; i < ckpt_zip_count(z) && m->n_sources < nsrc; i++) {
        const ckpt_zip_entry *e = ckpt_zip_entry_at(z, i);
        const char *r = e->record;
        size_t rl = r ? strlen(r) : 0;
        if (!r || strncmp(r, "code/", 5) != 0 || rl <= 8 || strcmp(r + rl - 3, ".py") != 0)
            continue;
        total += e->size;
        if (total > 4ull * TSR_MAX_TEXT)
            return CKPT_FAIL(err, CKPT_E_LIMIT, "code/ records hold more than %u bytes",
                             4u * TSR_MAX_TEXT);
        jit_source *s = &m->sources[m->n_sources];
        s->record = strdup(r);
        if (!s->record)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        m->n_sources++;
        CKPT_TRY(tsr_read_record(z, e, TSR_MAX_TEXT, &s->text, &s->len, err));
        if (strlen(s->text) != s->len)
            return CKPT_FAIL_AT(err, CKPT_E_FORMAT, CKPT_WHERE_MEMBER, e->name,
                                (uint64_t)strlen(s->text), "record %s holds a NUL byte", e->name);
    }
    qsort(m->sources, m->n_sources, sizeof *m->sources, cmp_src);
    return 0;
}

int jit_read_torchscript(ckpt_jit_model *m, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_source src;
    if (ckpt_source_open_file(&src, m->path, true, err) < 0)
        return err->code;
    ckpt_zip *z = ckpt_zip_open(&src, NULL, NULL, err);
    if (!z) {
        ckpt_source_close(&src);
        return err->code ? err->code : CKPT_E_FORMAT;
    }
    int rc = read_records(m, z, err);
    bool v1 = !ckpt_zip_find(z, "data.pkl") && ckpt_zip_find(z, "model.json");
    bool has_consts = ckpt_zip_find(z, "constants.pkl") != NULL;
    if (rc == 0 && !v1) {
        for (size_t i = 0; rc == 0 && i < m->n_sources; i++)
            rc = tsr_scan_source(m, i, NULL, err);
    }
    if (rc == 0 && v1)
        rc = tsr_read_v1(m, z, err);
    ckpt_zip_close(z);
    ckpt_source_close(&src);
    if (rc == 0 && !v1) {
        rc = read_data_pkl(m, err);
        if (rc == 0 && has_consts)
            rc = read_constants(m, err);
    }
    return rc;
}
