/* src/nn/state_dict.c - module.state_dict() and module.load_state_dict() as
 * torch.nn.Module does them (spec section 7): keys, order, _metadata, the
 * missing/unexpected computation, torch's messages, copy_ dtype conversion,
 * key rewriting rules and `assign`. */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/err.h"
#include "core/mem.h"
#include "nn/module_internal.h"
#include "nn/nn_internal.h"

#define EXTRA_STATE "_extra_state"

/* ============================================================ state_dict */

typedef struct sd_build {
    ckpt_doc *doc;
    ckpt_obj *root;
    ckpt_obj *meta;
    ckpt_obj *version_key; /* one 'version' str, as CPython interns it */
    bool copy;
    ckpt_error *err;
    ckpt__keybuf key;
    ckpt__ptrset data_to_st; /* slot memory -> index in sts (tied weights share a storage) */
    struct sd_st {
        ckpt_storage *st;
        int dtype;
        uint64_t nbytes;
    } * sts;
    size_t nst, st_cap;
    const ckpt_alloc *a; /* the module tree's: every temporary below */
} sd_build;

static ckpt_storage *sd_storage(sd_build *B, const ckpt_slot *s)
{
    size_t idx = 0;
    if (s->nbytes > 0 && ckpt__ptrset_get(&B->data_to_st, s->data, &idx) &&
        B->sts[idx].dtype == s->dtype && B->sts[idx].nbytes >= s->nbytes)
        return B->sts[idx].st;
    ckpt_storage *st;
    if (B->copy) {
        st = ckpt_storage_new(B->doc, s->dtype, s->nbytes, B->err);
        if (st && s->nbytes > 0)
            memcpy(ckpt_storage_data_mut(st), s->data, (size_t)s->nbytes);
    } else {
        st = ckpt_storage_new_borrow(B->doc, s->dtype, s->data, s->nbytes, B->err);
    }
    if (!st || s->nbytes == 0)
        return st;
    if (B->nst == B->st_cap) {
        size_t cap = B->st_cap ? B->st_cap * 2 : 16;
        struct sd_st *p = ckpt__hrealloc(B->a, B->sts, cap * sizeof(*p));
        if (!p)
            return NULL;
        B->sts = p;
        B->st_cap = cap;
    }
    B->sts[B->nst] = (struct sd_st){st, s->dtype, s->nbytes};
    if (ckpt__ptrset_put(&B->data_to_st, s->data, B->nst, NULL) < 0)
        return NULL;
    B->nst++;
    return st;
}

static int sd_slots(sd_build *B, ckpt_module *m, bool params)
{
    size_t base = B->key.len;
    for (size_t i = 0; i < m->nslots; i++) {
        const ckpt_slot *s = m->slots[i];
        if (s->is_param != params || !s->data || (!params && !s->persistent))
            continue;
        ckpt_storage *st = sd_storage(B, s);
        if (!st)
            return CKPT_FAIL(B->err, CKPT_E_NOMEM, "out of memory building state_dict");
        ckpt_obj *t = ckpt_tensor_new(B->doc, st, s->dtype, s->ndim, s->shape, NULL, 0, B->err);
        if (!t)
            return CKPT_FAIL(B->err, CKPT_E_NOMEM, "out of memory building state_dict");
        if (ckpt__keybuf_put(&B->key, s->name, strlen(s->name)) < 0 ||
            ckpt_dict_set_str(B->doc, B->root, B->key.p, t, NULL) < 0)
            return CKPT_FAIL(B->err, CKPT_E_NOMEM, "out of memory building state_dict");
        ckpt__keybuf_truncate(&B->key, base);
    }
    return 0;
}

static int sd_module(sd_build *B, ckpt_module *m)
{
    /* _metadata[prefix[:-1]] = {'version': _version}, before the module's own keys */
    size_t base = B->key.len;
    char saved = '\0';
    if (base > 0) {
        saved = B->key.p[base - 1];
        B->key.p[base - 1] = '\0';
    }
    ckpt_obj *d = ckpt_dict_new(B->doc, CKPT_DICT_PLAIN);
    ckpt_obj *v = ckpt_int_new(B->doc, m->version);
    int rc = (!d || !v) ? CKPT_E_NOMEM : ckpt_dict_set(B->doc, d, B->version_key, v, NULL);
    if (rc == 0)
        rc = ckpt_dict_set_str(B->doc, B->meta, base > 0 ? B->key.p : "", d, NULL);
    if (base > 0)
        B->key.p[base - 1] = saved;
    if (rc < 0)
        return CKPT_FAIL(B->err, CKPT_E_NOMEM, "out of memory building state_dict");
    CKPT_TRY(sd_slots(B, m, true));
    CKPT_TRY(sd_slots(B, m, false));
    for (size_t i = 0; i < m->nchildren; i++) {
        ckpt_module *c = m->children[i];
        if (ckpt__keybuf_put(&B->key, c->name, strlen(c->name)) < 0 ||
            ckpt__keybuf_put(&B->key, ".", 1) < 0)
            return CKPT_FAIL(B->err, CKPT_E_NOMEM, "out of memory building state_dict");
        CKPT_TRY(sd_module(B, c));
        ckpt__keybuf_truncate(&B->key, base);
    }
    return 0;
}

static ckpt_obj *state_dict(ckpt_module *m, ckpt_doc *doc, const char *prefix, bool copy,
                            ckpt_error *err)
{
    if (!m || !doc) {
        CKPT_FAIL(err, CKPT_E_ARG, "state_dict: module or document is NULL");
        return NULL;
    }
    sd_build B = {.doc = doc, .copy = copy, .err = err};
    B.root = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    B.meta = ckpt_dict_new(doc, CKPT_DICT_ORDERED);
    B.version_key = ckpt_str_new(doc, "version");
    ckpt_obj *attrs = ckpt_dict_new(doc, CKPT_DICT_PLAIN);
    const char *pre = prefix ? prefix : "";
    int rc = 0;
    B.a = B.key.a = B.data_to_st.a = m->a; /* temporaries: the tree's allocator */
    if (!B.root || !B.meta || !B.version_key || !attrs ||
        ckpt__keybuf_put(&B.key, pre, strlen(pre)) < 0)
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory building state_dict");
    if (rc == 0)
        rc = sd_module(&B, m);
    if (rc == 0 && (ckpt_dict_set_str(doc, attrs, "_metadata", B.meta, err) < 0 ||
                    ckpt_dict_set_attrs(B.root, attrs, err) < 0))
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory building state_dict");
    ckpt__keybuf_free(&B.key);
    ckpt__ptrset_free(&B.data_to_st);
    ckpt__hfree(B.a, B.sts);
    return rc == 0 ? B.root : NULL;
}

ckpt_obj *ckpt_module_state_dict(ckpt_module *m, ckpt_doc *doc, const char *prefix,
                                 ckpt_error *err)
{
    return state_dict(m, doc, prefix, false, err);
}

ckpt_obj *ckpt_module_state_dict_copy(ckpt_module *m, ckpt_doc *doc, const char *prefix,
                                      ckpt_error *err)
{
    return state_dict(m, doc, prefix, true, err);
}

/* ======================================================= string helpers */

typedef struct strlist {
    char **v;
    size_t n, cap;
    const ckpt_alloc *a; /* of v and its strings (NULL = libc) */
} strlist;

static int strlist_push(strlist *l, char *s)
{
    if (!s)
        return CKPT_E_NOMEM;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 8;
        char **p = ckpt__hrealloc(l->a, l->v, cap * sizeof(*p));
        if (!p) {
            ckpt__hfree(l->a, s);
            return CKPT_E_NOMEM;
        }
        l->v = p;
        l->cap = cap;
    }
    l->v[l->n++] = s;
    return 0;
}

static void strlist_free(strlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        ckpt__hfree(l->a, l->v[i]);
    ckpt__hfree(l->a, l->v);
    *l = (strlist){.a = l->a};
}

CKPT__PRINTF(2, 3) static char *str_printf(const ckpt_alloc *a, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *p = ckpt__halloc(a, (size_t)n + 1);
    if (!p)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

static char *str_dup(const ckpt_alloc *a, const char *s)
{
    return ckpt__hstrdup(a, s);
}

/* "torch.Size([2, 3])" into buf */
static void fmt_size(char *buf, size_t n, int ndim, const int64_t *shape)
{
    size_t at = (size_t)snprintf(buf, n, "torch.Size([");
    for (int i = 0; i < ndim && at < n; i++)
        at += (size_t)snprintf(buf + at, n - at, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (at < n)
        snprintf(buf + at, n - at, "])");
}

/* type(v) as Python prints it */
static const char *py_type(const ckpt_obj *v, char *buf, size_t n)
{
    switch (ckpt_obj_type(v)) {
    case CKPT_T_NONE: return "<class 'NoneType'>";
    case CKPT_T_BOOL: return "<class 'bool'>";
    case CKPT_T_INT: return "<class 'int'>";
    case CKPT_T_FLOAT: return "<class 'float'>";
    case CKPT_T_COMPLEX: return "<class 'complex'>";
    case CKPT_T_STR: return "<class 'str'>";
    case CKPT_T_BYTES: return "<class 'bytes'>";
    case CKPT_T_BYTEARRAY: return "<class 'bytearray'>";
    case CKPT_T_TUPLE: return "<class 'tuple'>";
    case CKPT_T_LIST: return "<class 'list'>";
    case CKPT_T_SET: return "<class 'set'>";
    case CKPT_T_DICT:
        switch (ckpt_dict_kind_of(v)) {
        case CKPT_DICT_ORDERED: return "<class 'collections.OrderedDict'>";
        case CKPT_DICT_COUNTER: return "<class 'collections.Counter'>";
        default: return "<class 'dict'>";
        }
    case CKPT_T_SIZE: return "<class 'torch.Size'>";
    case CKPT_T_DTYPE: return "<class 'torch.dtype'>";
    case CKPT_T_DEVICE: return "<class 'torch.device'>";
    case CKPT_T_GLOBAL: return "<class 'type'>";
    case CKPT_T_STORAGE: return "<class 'torch.storage.TypedStorage'>";
    case CKPT_T_OBJECT:
        snprintf(buf, n, "<class '%s.%s'>", ckpt_global_module(v), ckpt_global_name(v));
        return buf;
    default: return "<class 'object'>";
    }
}

/* ======================================================= dtype conversion */

enum { SC_INT, SC_UINT, SC_FLOAT, SC_COMPLEX };

typedef struct scalar {
    int kind;
    int64_t i;
    uint64_t u;
    double re, im;
} scalar;

static int rd_float(const void *p, int dt, double *out)
{
    return ckpt_convert_elements(out, CKPT_F64, p, dt, 1);
}

static int read_scalar(const unsigned char *p, int dt, scalar *s)
{
    memset(s, 0, sizeof(*s));
    switch (dt) {
    case CKPT_BOOL:
        s->kind = SC_INT;
        s->i = p[0] != 0;
        return 0;
    case CKPT_U8:
        s->kind = SC_INT;
        s->i = p[0];
        return 0;
    case CKPT_I8: {
        int8_t v;
        memcpy(&v, p, 1);
        s->kind = SC_INT;
        s->i = v;
        return 0;
    }
    case CKPT_I16: {
        int16_t v;
        memcpy(&v, p, 2);
        s->kind = SC_INT;
        s->i = v;
        return 0;
    }
    case CKPT_I32: {
        int32_t v;
        memcpy(&v, p, 4);
        s->kind = SC_INT;
        s->i = v;
        return 0;
    }
    case CKPT_I64: {
        int64_t v;
        memcpy(&v, p, 8);
        s->kind = SC_INT;
        s->i = v;
        return 0;
    }
    case CKPT_U16: {
        uint16_t v;
        memcpy(&v, p, 2);
        s->kind = SC_INT;
        s->i = v;
        return 0;
    }
    case CKPT_U32: {
        uint32_t v;
        memcpy(&v, p, 4);
        s->kind = SC_INT;
        s->i = v;
        return 0;
    }
    case CKPT_U64: {
        memcpy(&s->u, p, 8);
        s->kind = SC_UINT;
        return 0;
    }
    case CKPT_C32:
        s->kind = SC_COMPLEX;
        if (rd_float(p, CKPT_F16, &s->re) < 0 || rd_float(p + 2, CKPT_F16, &s->im) < 0)
            return CKPT_E_UNSUPPORTED;
        return 0;
    case CKPT_C64: {
        float re, im;
        memcpy(&re, p, 4);
        memcpy(&im, p + 4, 4);
        s->kind = SC_COMPLEX;
        s->re = (double)re;
        s->im = (double)im;
        return 0;
    }
    case CKPT_C128:
        s->kind = SC_COMPLEX;
        memcpy(&s->re, p, 8);
        memcpy(&s->im, p + 8, 8);
        return 0;
    default: s->kind = SC_FLOAT; return rd_float(p, dt, &s->re) < 0 ? CKPT_E_UNSUPPORTED : 0;
    }
}

/* static_cast<int64_t>(double), with NaN and out-of-range values giving what
 * x86's cvttsd2si gives instead of undefined behaviour */
static int64_t f2i(double x)
{
    if (x != x || x >= 9223372036854775808.0 || x < -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)x;
}

static int write_scalar(unsigned char *p, int dt, const scalar *s)
{
    bool is_fp = s->kind == SC_FLOAT || s->kind == SC_COMPLEX;
    uint64_t bits = s->kind == SC_UINT ? s->u : (uint64_t)(is_fp ? f2i(s->re) : s->i);
    switch (dt) {
    case CKPT_BOOL:
        if (is_fp)
            p[0] = s->re != 0.0 || s->im != 0.0 || s->re != s->re;
        else
            p[0] = (s->kind == SC_UINT ? s->u : (uint64_t)s->i) != 0;
        return 0;
    case CKPT_U8:
    case CKPT_I8: p[0] = (unsigned char)bits; return 0;
    case CKPT_U16:
    case CKPT_I16: {
        uint16_t v = (uint16_t)bits;
        memcpy(p, &v, 2);
        return 0;
    }
    case CKPT_U32:
    case CKPT_I32: {
        uint32_t v = (uint32_t)bits;
        memcpy(p, &v, 4);
        return 0;
    }
    case CKPT_U64:
    case CKPT_I64: memcpy(p, &bits, 8); return 0;
    default: break;
    }
    /* floating and complex targets */
    if (!is_fp) {
        /* integers reach half types through float, as c10's Half(float) does */
        float f = s->kind == SC_UINT ? (float)s->u : (float)s->i;
        double d = s->kind == SC_UINT ? (double)s->u : (double)s->i;
        switch (dt) {
        case CKPT_F32: memcpy(p, &f, 4); return 0;
        case CKPT_F64: memcpy(p, &d, 8); return 0;
        case CKPT_C64: {
            float z = 0.0f;
            memcpy(p, &f, 4);
            memcpy(p + 4, &z, 4);
            return 0;
        }
        case CKPT_C128: {
            double z = 0.0;
            memcpy(p, &d, 8);
            memcpy(p + 8, &z, 8);
            return 0;
        }
        case CKPT_C32:
            memset(p, 0, 4);
            return ckpt_convert_elements(p, CKPT_F16, &f, CKPT_F32, 1) < 0 ? CKPT_E_UNSUPPORTED
                                                                           : 0;
        default:
            return ckpt_convert_elements(p, dt, &f, CKPT_F32, 1) < 0 ? CKPT_E_UNSUPPORTED : 0;
        }
    }
    switch (dt) {
    case CKPT_C64: {
        float re = (float)s->re, im = (float)s->im;
        memcpy(p, &re, 4);
        memcpy(p + 4, &im, 4);
        return 0;
    }
    case CKPT_C128:
        memcpy(p, &s->re, 8);
        memcpy(p + 8, &s->im, 8);
        return 0;
    case CKPT_C32:
        if (ckpt_convert_elements(p, CKPT_F16, &s->re, CKPT_F64, 1) < 0 ||
            ckpt_convert_elements(p + 2, CKPT_F16, &s->im, CKPT_F64, 1) < 0)
            return CKPT_E_UNSUPPORTED;
        return 0;
    default:
        /* complex -> real keeps the real part, as copy_ does */
        return ckpt_convert_elements(p, dt, &s->re, CKPT_F64, 1) < 0 ? CKPT_E_UNSUPPORTED : 0;
    }
}

/* Convert n packed elements; CKPT_E_UNSUPPORTED for dtypes without a rule. */
static int convert_elems(void *dst, int ddt, const void *src, int sdt, size_t n)
{
    if (ddt == sdt) {
        memmove(dst, src, n * ckpt_dtype_size(ddt));
        return 0;
    }
    if (ckpt_dtype_is_floating(ddt) && ckpt_dtype_is_floating(sdt) &&
        ckpt_convert_elements(dst, ddt, src, sdt, n) == 0)
        return 0;
    size_t ds = ckpt_dtype_size(ddt), ss = ckpt_dtype_size(sdt);
    const unsigned char *s = src;
    unsigned char *d = dst;
    for (size_t i = 0; i < n; i++) {
        scalar v;
        if (read_scalar(s + i * ss, sdt, &v) < 0 || write_scalar(d + i * ds, ddt, &v) < 0)
            return CKPT_E_UNSUPPORTED;
    }
    return 0;
}

/* Gather a strided view into contiguous `dst` (elements of `es` bytes). */
static void gather(unsigned char *dst, const unsigned char *src, int ndim, const int64_t *shape,
                   const int64_t *stride, size_t es)
{
    if (ndim == 0) {
        memcpy(dst, src, es);
        return;
    }
    int64_t idx[64] = {0};
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++)
        numel *= shape[i];
    int64_t off = 0;
    for (int64_t k = 0; k < numel; k++) {
        memcpy(dst + (size_t)k * es, src + (size_t)off * es, es);
        for (int d = ndim - 1; d >= 0; d--) {
            if (++idx[d] < shape[d]) {
                off += stride[d];
                break;
            }
            off -= stride[d] * (shape[d] - 1);
            idx[d] = 0;
        }
    }
}

/* ======================================================= load_state_dict */

typedef struct sd_entry {
    char *key; /* after rules and prefix */
    const ckpt_obj *val;
    bool matched; /* consumed by a parameter or buffer */
} sd_entry;

typedef struct unexp_rec {
    size_t module_idx; /* pre-order index of the module that rejects the key */
    int prio;          /* 0: _extra_state (torch reports it first), 1: others */
    size_t entry;
} unexp_rec;

typedef struct ld {
    const ckpt_load_state_dict_opts *opts;
    regex_t *re; /* one per rule (REGEX rules only compiled) */
    bool *re_ok;
    ckpt_error *err;
    int hard;  /* first hard failure (not a torch message) */
    int worst; /* status for the torch message: CKPT_E_SHAPE or UNSUPPORTED */
    /* checkpoint entries and a string hash over them */
    sd_entry *e;
    size_t ne;
    size_t *tab; /* entry index + 1; 0 = empty */
    size_t tab_cap;
    const ckpt_obj *meta; /* _metadata or NULL */
    ckpt__ptrset order;   /* module -> pre-order index */
    size_t nmodules;
    strlist missing, unexpected, errors;
    ckpt__keybuf key;
    const ckpt_alloc *a; /* the module tree's: every temporary and the report lists */
} ld;

static size_t str_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

static sd_entry *find_entry(const ld *L, const char *key)
{
    if (!L->tab_cap)
        return NULL;
    size_t h = str_hash(key) & (L->tab_cap - 1);
    while (L->tab[h]) {
        sd_entry *e = &L->e[L->tab[h] - 1];
        if (strcmp(e->key, key) == 0)
            return e;
        h = (h + 1) & (L->tab_cap - 1);
    }
    return NULL;
}

/* Insert or replace (keeping the first position, as a Python dict does);
 * takes ownership of `key`. */
static int put_entry(ld *L, char *key, const ckpt_obj *val)
{
    sd_entry *old = find_entry(L, key);
    if (old) {
        old->val = val;
        ckpt__hfree(L->a, key);
        return 0;
    }
    size_t h = str_hash(key) & (L->tab_cap - 1);
    while (L->tab[h])
        h = (h + 1) & (L->tab_cap - 1);
    L->e[L->ne] = (sd_entry){key, val, false};
    L->tab[h] = ++L->ne;
    return 0;
}

/* Append `\n`-style replacement `to` with \0..\9 groups of `m` from `src`. */
static int expand_repl(ckpt__keybuf *out, const char *src, const char *to, const regmatch_t *m)
{
    for (const char *t = to; *t; t++) {
        if (t[0] == '\\' && t[1] >= '0' && t[1] <= '9') {
            const regmatch_t *g = &m[t[1] - '0'];
            if (g->rm_so >= 0 &&
                ckpt__keybuf_put(out, src + g->rm_so, (size_t)(g->rm_eo - g->rm_so)) < 0)
                return CKPT_E_NOMEM;
            t++;
        } else if (t[0] == '\\' && t[1] == '\\') {
            if (ckpt__keybuf_put(out, "\\", 1) < 0)
                return CKPT_E_NOMEM;
            t++;
        } else if (ckpt__keybuf_put(out, t, 1) < 0) {
            return CKPT_E_NOMEM;
        }
    }
    return 0;
}

/* Apply the rules and the prefix to `key`: *out = new key (L->a), or NULL
 * when the key lies outside opts->prefix.  Returns 0 or CKPT_E_NOMEM. */
static int xform_key(const ld *L, const char *key, char **out)
{
    *out = NULL;
    const ckpt_load_state_dict_opts *o = L->opts;
    ckpt__keybuf cur = {0}, nxt = {0};
    cur.a = nxt.a = L->a;
    int rc = ckpt__keybuf_put(&cur, key, strlen(key));
    for (size_t i = 0; rc == 0 && o && i < o->rule_count; i++) {
        const ckpt_key_rule *r = &o->rules[i];
        if (r->kind == CKPT_KEY_STRIP_PREFIX) {
            size_t n = strlen(r->from);
            if (strncmp(cur.p, r->from, n) == 0) {
                memmove(cur.p, cur.p + n, cur.len - n + 1);
                cur.len -= n;
            }
            continue;
        }
        ckpt__keybuf_truncate(&nxt, 0);
        if (r->kind == CKPT_KEY_ADD_PREFIX) {
            rc = ckpt__keybuf_put(&nxt, r->to, strlen(r->to));
            if (rc == 0)
                rc = ckpt__keybuf_put(&nxt, cur.p, cur.len);
        } else {
            regmatch_t m[10];
            if (regexec(&L->re[i], cur.p, 10, m, 0) != 0)
                continue;
            rc = ckpt__keybuf_put(&nxt, cur.p, (size_t)m[0].rm_so);
            if (rc == 0)
                rc = expand_repl(&nxt, cur.p, r->to ? r->to : "", m);
            if (rc == 0)
                rc = ckpt__keybuf_put(&nxt, cur.p + m[0].rm_eo, cur.len - (size_t)m[0].rm_eo);
        }
        if (rc == 0) {
            ckpt__keybuf t = cur;
            cur = nxt;
            nxt = t;
        }
    }
    ckpt__keybuf_free(&nxt);
    if (rc < 0) {
        ckpt__keybuf_free(&cur);
        return CKPT_E_NOMEM;
    }
    const char *pre = o && o->prefix ? o->prefix : "";
    size_t pn = strlen(pre);
    if (strncmp(cur.p, pre, pn) != 0) {
        ckpt__keybuf_free(&cur);
        return 0;
    }
    if (pn)
        memmove(cur.p, cur.p + pn, cur.len - pn + 1);
    *out = cur.p;
    return 0;
}

/* local_metadata.get('version') for the module at `path` ("" or "a.b.");
 * -1 when absent.  Metadata keys go through the same rules as tensor keys
 * (as "a.b." with the dot; the root "" as is); a later entry wins. */
static int meta_version(ld *L, const char *path, int64_t *version)
{
    *version = -1;
    if (!L->meta)
        return 0;
    size_t n = ckpt_obj_len(L->meta);
    ckpt__keybuf mk = {.a = L->a};
    for (size_t i = 0; i < n; i++) {
        const ckpt_obj *k = ckpt_dict_key(L->meta, i);
        if (ckpt_obj_type(k) != CKPT_T_STR)
            continue;
        const char *ks = ckpt_obj_str(k, NULL);
        ckpt__keybuf_truncate(&mk, 0);
        if (ckpt__keybuf_put(&mk, ks, strlen(ks)) < 0 ||
            (ks[0] && ckpt__keybuf_put(&mk, ".", 1) < 0)) {
            ckpt__keybuf_free(&mk);
            return CKPT_E_NOMEM;
        }
        char *x = NULL;
        if (xform_key(L, mk.p, &x) < 0) {
            ckpt__keybuf_free(&mk);
            return CKPT_E_NOMEM;
        }
        if (!x)
            continue;
        if (strcmp(x, path) == 0) {
            const ckpt_obj *d = ckpt_dict_value(L->meta, i);
            const ckpt_obj *v = ckpt_obj_type(d) == CKPT_T_DICT ? ckpt_dict_get(d, "version")
                                                                : NULL;
            *version = v && ckpt_obj_type(v) == CKPT_T_INT ? ckpt_obj_int(v) : -1;
        }
        ckpt__hfree(L->a, x);
    }
    ckpt__keybuf_free(&mk);
    return 0;
}

static void note_worst(ld *L, int code)
{
    if (L->worst == 0 || code == CKPT_E_UNSUPPORTED)
        L->worst = code;
}

/* "While copying the parameter named ..., an exception occurred : ('why',)." */
static int copy_exception(ld *L, const char *key, const ckpt_slot *s, int in_ndim,
                          const int64_t *in_shape, const char *why, int code)
{
    char a[512], b[512];
    fmt_size(a, sizeof(a), s->ndim, s->shape);
    fmt_size(b, sizeof(b), in_ndim, in_shape);
    note_worst(L, code);
    return strlist_push(&L->errors,
                        str_printf(L->a,
                                   "While copying the parameter named \"%s\", whose dimensions "
                                   "in the model are %s and whose dimensions in the checkpoint "
                                   "are %s, an exception occurred : ('%s',).",
                                   key, a, b, why));
}

/* copy_ (or assign) one checkpoint value into a slot; messages go to L->errors */
static int load_slot(ld *L, const char *key, ckpt_slot *s, const ckpt_obj *v)
{
    if (ckpt_obj_type(v) != CKPT_T_TENSOR) {
        char tb[300];
        note_worst(L, CKPT_E_SHAPE);
        return strlist_push(&L->errors,
                            str_printf(L->a,
                                       "While copying the parameter named \"%s\", expected "
                                       "torch.Tensor or Tensor-like object from checkpoint but "
                                       "received %s",
                                       key, py_type(v, tb, sizeof(tb))));
    }
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(v, &ti) < 0)
        return CKPT_FAIL(L->err, CKPT_E_FORMAT, "%s: unreadable tensor", key);
    const unsigned char *base = ckpt_tensor_data(v);
    int ndim = ti.ndim;
    const int64_t *shape = ti.shape, *stride = ti.stride;
    int64_t numel = ti.numel;
    bool contiguous = ti.contiguous;
    /* 0.3-era files: a 0-d parameter takes input[0] of a 1-d input */
    if (s->ndim == 0 && ndim == 1) {
        if (shape[0] == 0)
            return CKPT_FAIL(L->err, CKPT_E_SHAPE,
                             "%s: index 0 is out of bounds for dimension 0 with size 0", key);
        ndim = 0;
        numel = 1;
        contiguous = true;
    }
    bool same = ndim == s->ndim;
    for (int i = 0; same && i < ndim; i++)
        same = shape[i] == s->shape[i];
    if (!same) {
        char a[512], b[512];
        fmt_size(a, sizeof(a), ndim, shape);
        fmt_size(b, sizeof(b), s->ndim, s->shape);
        note_worst(L, CKPT_E_SHAPE);
        return strlist_push(&L->errors,
                            str_printf(L->a,
                                       "size mismatch for %s: copying a param with shape %s "
                                       "from checkpoint, the shape in current model is %s.",
                                       key, a, b));
    }
    if (ti.quantized)
        return copy_exception(L, key, s, ndim, shape, "quantized tensors are not supported",
                              CKPT_E_UNSUPPORTED);
    if (numel > 0 && !base)
        return copy_exception(L, key, s, ndim, shape,
                              "tensor data is not loaded (lazy or meta storage)",
                              CKPT_E_UNSUPPORTED);
    if (L->opts && L->opts->assign) {
        if (ti.dtype != s->dtype) {
            char why[160];
            snprintf(why, sizeof(why), "assign=True needs dtype %s in the checkpoint, got %s",
                     ckpt_dtype_name(s->dtype), ckpt_dtype_name(ti.dtype));
            return copy_exception(L, key, s, ndim, shape, why, CKPT_E_SHAPE);
        }
        if (!contiguous && numel > 1)
            return copy_exception(L, key, s, ndim, shape,
                                  "assign=True needs a contiguous checkpoint tensor",
                                  CKPT_E_UNSUPPORTED);
        if (numel == 0)
            return 0;
        if (s->owned)
            ckpt__xfree(s->alloc, s->data, (size_t)s->nbytes);
        s->owned = false;
        s->data = (void *)(uintptr_t)base;
        return 0;
    }
    if (numel == 0)
        return 0;
    size_t ses = ckpt_dtype_size(ti.dtype);
    size_t n = (size_t)numel;
    const unsigned char *src = base;
    unsigned char *tmp = NULL;
    uint64_t src_bytes = (uint64_t)n * ses;
    const unsigned char *d0 = s->data;
    bool overlap = !(base + src_bytes <= d0 || d0 + s->nbytes <= base);
    if ((!contiguous && numel > 1) || (overlap && ti.dtype != s->dtype)) {
        tmp = ckpt__halloc(L->a, (size_t)src_bytes);
        if (!tmp)
            return CKPT_FAIL(L->err, CKPT_E_NOMEM, "out of memory copying %s", key);
        if (contiguous || numel == 1)
            memcpy(tmp, base, (size_t)src_bytes);
        else
            gather(tmp, base, ndim, shape, stride, ses);
        src = tmp;
    }
    int rc = convert_elems(s->data, s->dtype, src, ti.dtype, n);
    ckpt__hfree(L->a, tmp);
    if (rc < 0) {
        char why[160];
        snprintf(why, sizeof(why), "copy_ from %s to %s is not supported",
                 ckpt_dtype_name(ti.dtype), ckpt_dtype_name(s->dtype));
        return copy_exception(L, key, s, ndim, shape, why, CKPT_E_UNSUPPORTED);
    }
    return 0;
}

static bool is_batchnorm(const char *type)
{
    return strcmp(type, "BatchNorm1d") == 0 || strcmp(type, "BatchNorm2d") == 0 ||
           strcmp(type, "BatchNorm3d") == 0 || strcmp(type, "SyncBatchNorm") == 0;
}

/* num_batches_tracked = 0, in the slot's dtype */
static int zero_slot(ckpt_slot *s)
{
    if (s->nbytes)
        memset(s->data, 0, (size_t)s->nbytes);
    return 0;
}

static int load_module(ld *L, ckpt_module *m)
{
    size_t base = L->key.len;
    if (ckpt__ptrset_put(&L->order, m, L->nmodules++, NULL) < 0)
        return CKPT_FAIL(L->err, CKPT_E_NOMEM, "out of memory");
    /* _NormBase._load_from_state_dict: version < 2 (or none) adds
     * num_batches_tracked = tensor(0) when the checkpoint lacks it */
    ckpt_slot *nbt_fill = NULL;
    if (is_batchnorm(m->type)) {
        ckpt_slot *nbt = ckpt_module__slot_n(m, "num_batches_tracked", 19);
        if (nbt && nbt->data && !nbt->is_param && nbt->persistent) {
            int64_t ver = -1;
            if (meta_version(L, L->key.p, &ver) < 0)
                return CKPT_FAIL(L->err, CKPT_E_NOMEM, "out of memory");
            if (ver < 2) {
                if (ckpt__keybuf_put(&L->key, nbt->name, strlen(nbt->name)) < 0)
                    return CKPT_FAIL(L->err, CKPT_E_NOMEM, "out of memory");
                if (!find_entry(L, L->key.p))
                    nbt_fill = nbt;
                ckpt__keybuf_truncate(&L->key, base);
            }
        }
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < m->nslots; i++) {
            ckpt_slot *s = m->slots[i];
            if (s->is_param != (pass == 0) || !s->data || (!s->is_param && !s->persistent))
                continue;
            if (ckpt__keybuf_put(&L->key, s->name, strlen(s->name)) < 0)
                return CKPT_FAIL(L->err, CKPT_E_NOMEM, "out of memory");
            sd_entry *e = find_entry(L, L->key.p);
            int rc = 0;
            if (e) {
                e->matched = true;
                rc = load_slot(L, L->key.p, s, e->val);
            } else if (s == nbt_fill) {
                rc = zero_slot(s);
            } else {
                rc = strlist_push(&L->missing, str_dup(L->a, L->key.p));
            }
            ckpt__keybuf_truncate(&L->key, base);
            if (rc == CKPT_E_NOMEM)
                return CKPT_FAIL(L->err, CKPT_E_NOMEM, "out of memory");
            if (rc < 0)
                return rc;
        }
    }
    for (size_t i = 0; i < m->nchildren; i++) {
        ckpt_module *c = m->children[i];
        if (ckpt__keybuf_put(&L->key, c->name, strlen(c->name)) < 0 ||
            ckpt__keybuf_put(&L->key, ".", 1) < 0)
            return CKPT_FAIL(L->err, CKPT_E_NOMEM, "out of memory");
        CKPT_TRY(load_module(L, c));
        ckpt__keybuf_truncate(&L->key, base);
    }
    return 0;
}

/* Where torch (2.x rules) reports `key` as unexpected; false when it is not. */
static bool unexpected_at(ckpt_module *root, const char *key, ckpt_module **at, int *prio)
{
    ckpt_module *cur = root;
    const char *rest = key;
    for (;;) {
        *at = cur;
        if (strcmp(rest, EXTRA_STATE) == 0) {
            *prio = 0;
            return true;
        }
        *prio = 1;
        const char *dot = strchr(rest, '.');
        if (!dot) {
            const ckpt_slot *s = ckpt_module__slot_n(cur, rest, strlen(rest));
            return !(s && s->data && (s->is_param || s->persistent));
        }
        ckpt_module *c = ckpt_module__child_n(cur, rest, (size_t)(dot - rest));
        if (!c)
            return true;
        cur = c;
        rest = dot + 1;
    }
}

static int cmp_unexp(const void *a, const void *b)
{
    const unexp_rec *x = a, *y = b;
    if (x->module_idx != y->module_idx)
        return x->module_idx < y->module_idx ? -1 : 1;
    if (x->prio != y->prio)
        return x->prio < y->prio ? -1 : 1;
    return x->entry < y->entry ? -1 : (x->entry > y->entry);
}

static int find_unexpected(ld *L, ckpt_module *root)
{
    unexp_rec *r = ckpt__hzalloc(L->a, L->ne ? L->ne : 1, sizeof(*r));
    if (!r)
        return CKPT_E_NOMEM;
    size_t nr = 0;
    for (size_t i = 0; i < L->ne; i++) {
        if (L->e[i].matched)
            continue;
        ckpt_module *at = NULL;
        int prio = 1;
        if (!unexpected_at(root, L->e[i].key, &at, &prio))
            continue;
        size_t idx = 0;
        ckpt__ptrset_get(&L->order, at, &idx);
        r[nr++] = (unexp_rec){idx, prio, i};
    }
    qsort(r, nr, sizeof(*r), cmp_unexp);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < nr; i++)
        rc = strlist_push(&L->unexpected, str_dup(L->a, L->e[r[i].entry].key));
    ckpt__hfree(L->a, r);
    return rc;
}

/* 'Missing key(s) in state_dict: "a", "b". ' */
static int key_list_msg(ckpt__keybuf *out, const char *head, const strlist *l)
{
    int rc = ckpt__keybuf_put(out, head, strlen(head));
    for (size_t i = 0; rc == 0 && i < l->n; i++) {
        if (i)
            rc = ckpt__keybuf_put(out, ", ", 2);
        if (rc == 0)
            rc = ckpt__keybuf_put(out, "\"", 1);
        if (rc == 0)
            rc = ckpt__keybuf_put(out, l->v[i], strlen(l->v[i]));
        if (rc == 0)
            rc = ckpt__keybuf_put(out, "\"", 1);
    }
    return rc == 0 ? ckpt__keybuf_put(out, ". ", 2) : rc;
}

static int build_message(ld *L, const ckpt_module *m, bool strict, char **out)
{
    *out = NULL;
    bool any = L->errors.n > 0 || (strict && (L->missing.n > 0 || L->unexpected.n > 0));
    if (!any)
        return 0;
    ckpt__keybuf b = {.a = L->a};
    int rc = ckpt__keybuf_put(&b, "Error(s) in loading state_dict for ", 35);
    if (rc == 0)
        rc = ckpt__keybuf_put(&b, m->type, strlen(m->type));
    if (rc == 0)
        rc = ckpt__keybuf_put(&b, ":\n\t", 3);
    bool first = true;
    if (rc == 0 && strict && L->missing.n) {
        rc = key_list_msg(&b, "Missing key(s) in state_dict: ", &L->missing);
        first = false;
    }
    if (rc == 0 && strict && L->unexpected.n) {
        if (!first)
            rc = ckpt__keybuf_put(&b, "\n\t", 2);
        if (rc == 0)
            rc = key_list_msg(&b, "Unexpected key(s) in state_dict: ", &L->unexpected);
        first = false;
    }
    for (size_t i = 0; rc == 0 && i < L->errors.n; i++) {
        if (!first)
            rc = ckpt__keybuf_put(&b, "\n\t", 2);
        if (rc == 0)
            rc = ckpt__keybuf_put(&b, L->errors.v[i], strlen(L->errors.v[i]));
        first = false;
    }
    if (rc < 0) {
        ckpt__keybuf_free(&b);
        return CKPT_E_NOMEM;
    }
    *out = b.p;
    return 0;
}

static int check_rules(ld *L, ckpt_error *err)
{
    const ckpt_load_state_dict_opts *o = L->opts;
    if (!o || !o->rule_count)
        return 0;
    if (!o->rules)
        return CKPT_FAIL(err, CKPT_E_ARG, "rule_count is %zu but rules is NULL", o->rule_count);
    L->re = ckpt__hzalloc(L->a, o->rule_count, sizeof(*L->re));
    L->re_ok = ckpt__hzalloc(L->a, o->rule_count, sizeof(*L->re_ok));
    if (!L->re || !L->re_ok)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < o->rule_count; i++) {
        const ckpt_key_rule *r = &o->rules[i];
        switch (r->kind) {
        case CKPT_KEY_STRIP_PREFIX:
            if (!r->from)
                return CKPT_FAIL(err, CKPT_E_ARG, "key rule %zu: strip-prefix needs `from`", i);
            break;
        case CKPT_KEY_ADD_PREFIX:
            if (!r->to)
                return CKPT_FAIL(err, CKPT_E_ARG, "key rule %zu: add-prefix needs `to`", i);
            break;
        case CKPT_KEY_REGEX: {
            if (!r->from)
                return CKPT_FAIL(err, CKPT_E_ARG, "key rule %zu: regex needs `from`", i);
            int rc = regcomp(&L->re[i], r->from, REG_EXTENDED);
            if (rc != 0) {
                char why[128];
                regerror(rc, &L->re[i], why, sizeof(why));
                return CKPT_FAIL(err, CKPT_E_ARG, "key rule %zu: bad regex '%s': %s", i, r->from,
                                 why);
            }
            L->re_ok[i] = true;
            break;
        }
        default: return CKPT_FAIL(err, CKPT_E_ARG, "key rule %zu: unknown kind %d", i, r->kind);
        }
    }
    return 0;
}

static void ld_free(ld *L)
{
    if (L->re && L->re_ok) {
        for (size_t i = 0; i < L->opts->rule_count; i++)
            if (L->re_ok[i])
                regfree(&L->re[i]);
    }
    ckpt__hfree(L->a, L->re);
    ckpt__hfree(L->a, L->re_ok);
    for (size_t i = 0; i < L->ne; i++)
        ckpt__hfree(L->a, L->e[i].key);
    ckpt__hfree(L->a, L->e);
    ckpt__hfree(L->a, L->tab);
    ckpt__ptrset_free(&L->order);
    strlist_free(&L->missing);
    strlist_free(&L->unexpected);
    strlist_free(&L->errors);
    ckpt__keybuf_free(&L->key);
}

static int read_entries(ld *L, const ckpt_obj *sd)
{
    size_t n = ckpt_obj_len(sd);
    L->e = ckpt__hzalloc(L->a, n ? n : 1, sizeof(*L->e));
    size_t cap = 16;
    while (cap < n * 2 + 2)
        cap *= 2;
    L->tab = ckpt__hzalloc(L->a, cap, sizeof(*L->tab));
    L->tab_cap = cap;
    if (!L->e || !L->tab)
        return CKPT_FAIL(L->err, CKPT_E_NOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const ckpt_obj *k = ckpt_dict_key(sd, i);
        if (ckpt_obj_type(k) != CKPT_T_STR)
            return CKPT_FAIL(L->err, CKPT_E_ARG, "state_dict key %zu is a %s, not a str", i,
                             ckpt_type_name(ckpt_obj_type(k)));
        char *x = NULL;
        if (xform_key(L, ckpt_obj_str(k, NULL), &x) < 0)
            return CKPT_FAIL(L->err, CKPT_E_NOMEM, "out of memory");
        if (x)
            put_entry(L, x, ckpt_dict_value(sd, i));
    }
    const ckpt_obj *attrs = ckpt_dict_attrs(sd);
    const ckpt_obj *meta = attrs && ckpt_obj_type(attrs) == CKPT_T_DICT
                               ? ckpt_dict_get(attrs, "_metadata")
                               : NULL;
    L->meta = meta && ckpt_obj_type(meta) == CKPT_T_DICT ? meta : NULL;
    return 0;
}

static char **take_list(strlist *l, size_t *n)
{
    *n = l->n;
    char **v = l->v;
    memset(l, 0, sizeof(*l));
    return v;
}

int ckpt_module_load_state_dict(ckpt_module *m, const ckpt_obj *sd,
                                const ckpt_load_state_dict_opts *opts,
                                ckpt_state_dict_report *report, ckpt_error *err)
{
    if (report)
        memset(report, 0, sizeof(*report));
    if (!m || !sd)
        return CKPT_FAIL(err, CKPT_E_ARG, "load_state_dict: module or state_dict is NULL");
    if (ckpt_obj_type(sd) != CKPT_T_DICT) {
        char tb[300];
        return CKPT_FAIL(err, CKPT_E_ARG, "Expected state_dict to be dict-like, got %s.",
                         py_type(sd, tb, sizeof(tb)));
    }
    if (opts && opts->sub_key) {
        int src = ckpt__sd_sub_key(sd, opts->sub_key, &sd, m->a, err);
        if (src < 0)
            return src;
    }
    ld L = {.opts = opts, .err = err, .a = m->a};
    L.order.a = L.key.a = m->a;
    L.missing.a = L.unexpected.a = L.errors.a = m->a;
    int rc = check_rules(&L, err);
    if (rc == 0)
        rc = read_entries(&L, sd);
    if (rc == 0)
        rc = ckpt__keybuf_put(&L.key, "", 0) < 0 ? CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory")
                                                 : 0;
    if (rc == 0)
        rc = load_module(&L, m);
    if (rc == 0 && find_unexpected(&L, m) < 0)
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    char *message = NULL;
    bool strict = !(opts && opts->non_strict);
    if (rc == 0 && build_message(&L, m, strict, &message) < 0)
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    if (rc == 0 && message) {
        rc = L.worst ? L.worst : CKPT_E_SHAPE;
        CKPT_FAIL(err, rc, "%s", message);
    }
    if (report && (rc == 0 || message)) {
        report->missing = take_list(&L.missing, &report->missing_count);
        report->unexpected = take_list(&L.unexpected, &report->unexpected_count);
        report->errors = take_list(&L.errors, &report->error_count);
        report->message = message;
        if (m->a)
            report->alloc = *m->a; /* the lists outlive the module: keep a copy */
        message = NULL;
    }
    ckpt__hfree(L.a, message);
    ld_free(&L);
    return rc;
}

void ckpt_state_dict_report_free(ckpt_state_dict_report *r)
{
    if (!r)
        return;
    ckpt_alloc copy = r->alloc;
    const ckpt_alloc *a = copy.alloc && copy.free ? &copy : NULL;
    strlist l = {r->missing, r->missing_count, r->missing_count, a};
    strlist_free(&l);
    l = (strlist){r->unexpected, r->unexpected_count, r->unexpected_count, a};
    strlist_free(&l);
    l = (strlist){r->errors, r->error_count, r->error_count, a};
    strlist_free(&l);
    ckpt__hfree(a, r->message);
    memset(r, 0, sizeof(*r));
}
