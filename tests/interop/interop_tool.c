/*
 * tests/interop/interop_tool.c - the C half of the live differential tier.
 *
 *   interop_tool canon  OUTDIR FILE...   ckpt_load each FILE (defaults: weights-only,
 *                                        copy) and write OUTDIR/<basename>.canon
 *   interop_tool resave [--layout legacy] OUTDIR FILE...
 *                                        ckpt_load + ckpt_save(TORCH13, or LEGACY) to
 *                                        OUTDIR/<basename>
 *   interop_tool gen    OUTDIR N SEED    build N random documents with the builder API,
 *                                        save OUTDIR/c_<i>.pt and OUTDIR/c_<i>.canon
 *
 * The canonical text is the one tests/interop/canon.py prints for an object
 * torch.load returns; the grammar is documented there.  Exit status: 0 when
 * every file was handled (a load error in `canon` is written as an ERROR line
 * and is not a tool failure), 1 on a failure, 2 on bad usage.
 */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/core.h"
#include "ckpt/error.h"
#include "ckpt/torch.h"

/* ------------------------------------------------------------ utilities */

__attribute__((format(printf, 1, 2))) static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("interop_tool: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

typedef struct sbuf {
    char *p;
    size_t n, cap;
} sbuf;

static void sb_grow(sbuf *b, size_t more)
{
    if (b->n + more + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->n + more + 1)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p)
        die("out of memory");
    b->p = p;
    b->cap = cap;
}

static void sb_putn(sbuf *b, const char *s, size_t n)
{
    sb_grow(b, n);
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_putn(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char tmp[256];
    int k = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (k < 0)
        die("vsnprintf failed");
    if ((size_t)k < sizeof tmp) {
        sb_putn(b, tmp, (size_t)k);
        return;
    }
    sb_grow(b, (size_t)k);
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static void sb_hex(sbuf *b, const void *data, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;
    sb_grow(b, 2 * n);
    for (size_t i = 0; i < n; i++) {
        b->p[b->n++] = digits[p[i] >> 4];
        b->p[b->n++] = digits[p[i] & 15];
    }
    b->p[b->n] = '\0';
}

static void sb_free(sbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->n = b->cap = 0;
}

/* Pointer -> int map (open addressing). */
typedef struct pmap {
    const void **keys;
    int64_t *vals;
    size_t cap, n;
} pmap;

static size_t pm_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

static int64_t *pm_slot(pmap *m, const void *key, bool insert)
{
    if (insert && (m->n + 1) * 2 > m->cap) {
        size_t ncap = m->cap ? m->cap * 2 : 64;
        const void **nk = calloc(ncap, sizeof *nk);
        int64_t *nv = calloc(ncap, sizeof *nv);
        if (!nk || !nv)
            die("out of memory");
        for (size_t i = 0; i < m->cap; i++) {
            if (!m->keys[i])
                continue;
            size_t j = pm_hash(m->keys[i]) & (ncap - 1);
            while (nk[j])
                j = (j + 1) & (ncap - 1);
            nk[j] = m->keys[i];
            nv[j] = m->vals[i];
        }
        free(m->keys);
        free(m->vals);
        m->keys = nk;
        m->vals = nv;
        m->cap = ncap;
    }
    if (!m->cap)
        return NULL;
    size_t j = pm_hash(key) & (m->cap - 1);
    while (m->keys[j]) {
        if (m->keys[j] == key)
            return &m->vals[j];
        j = (j + 1) & (m->cap - 1);
    }
    if (!insert)
        return NULL;
    m->keys[j] = key;
    m->vals[j] = 0;
    m->n++;
    return &m->vals[j];
}

static void pm_free(pmap *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/');
    return s ? s + 1 : path;
}

static char *join_path(const char *dir, const char *name, const char *suffix)
{
    size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
    char *p = malloc(n);
    if (!p)
        die("out of memory");
    snprintf(p, n, "%s/%s%s", dir, name, suffix);
    return p;
}

static void write_file(const char *path, const char *text, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        die("cannot write %s", path);
    if (fwrite(text, 1, n, f) != n || fclose(f) != 0)
        die("write failed: %s", path);
}

/* ------------------------------------------------------ canonical text */

typedef struct canon {
    pmap counts; /* tracked node -> times reached */
    pmap marks;  /* tracked node -> k + 1 */
    int64_t nmarks;
    pmap storages; /* storage -> number + 1 */
    int64_t nstorages;
    int depth;
    bool failed;
    sbuf why;
} canon;

static bool is_tracked(const ckpt_obj *o)
{
    switch (ckpt_obj_type(o)) {
    case CKPT_T_TUPLE: return ckpt_obj_len(o) > 0;
    case CKPT_T_LIST:
    case CKPT_T_DICT:
    case CKPT_T_TENSOR: return true;
    default: return false;
    }
}

static void canon_fail(canon *c, const char *msg)
{
    if (!c->failed) {
        c->failed = true;
        sb_puts(&c->why, msg);
    }
}

static void count_nodes(canon *c, const ckpt_obj *o)
{
    if (!o || c->failed)
        return;
    if (++c->depth > 5000) {
        canon_fail(c, "nesting too deep");
        return;
    }
    if (is_tracked(o)) {
        int64_t *v = pm_slot(&c->counts, o, true);
        if ((*v)++ > 0)
            goto out;
    }
    switch (ckpt_obj_type(o)) {
    case CKPT_T_TUPLE:
    case CKPT_T_LIST:
        for (size_t i = 0; i < ckpt_obj_len(o); i++)
            count_nodes(c, ckpt_obj_item(o, i));
        break;
    case CKPT_T_DICT: {
        for (size_t i = 0; i < ckpt_obj_len(o); i++) {
            count_nodes(c, ckpt_dict_key(o, i));
            count_nodes(c, ckpt_dict_value(o, i));
        }
        const ckpt_obj *a = ckpt_dict_attrs(o);
        if (a && ckpt_obj_type(a) == CKPT_T_DICT)
            for (size_t i = 0; i < ckpt_obj_len(a); i++)
                count_nodes(c, ckpt_dict_value(a, i));
        break;
    }
    case CKPT_T_OBJECT:
        count_nodes(c, ckpt_object_args(o));
        count_nodes(c, ckpt_object_state(o));
        count_nodes(c, ckpt_object_items(o));
        break;
    default: break;
    }
out:
    c->depth--;
}

static void print_obj(canon *c, sbuf *b, const ckpt_obj *o, bool ident);

static void put_f64(sbuf *b, double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    sb_printf(b, "%016" PRIx64, u);
}

/* Returns true when a back reference (*k) was written. */
static bool put_mark(canon *c, sbuf *b, const ckpt_obj *o, bool ident)
{
    if (!ident)
        return false;
    int64_t *n = pm_slot(&c->counts, o, false);
    if (!n || *n < 2)
        return false;
    int64_t *m = pm_slot(&c->marks, o, true);
    if (*m) {
        sb_printf(b, "*%" PRId64, *m - 1);
        return true;
    }
    *m = ++c->nmarks;
    sb_printf(b, "&%" PRId64, *m - 1);
    return false;
}

static void print_dict_items(canon *c, sbuf *b, const char *kind, const ckpt_obj *d, bool ident)
{
    sb_puts(b, kind);
    sb_puts(b, "{");
    for (size_t i = 0; i < ckpt_obj_len(d); i++) {
        if (i)
            sb_puts(b, ",");
        print_obj(c, b, ckpt_dict_key(d, i), ident);
        sb_puts(b, "=");
        print_obj(c, b, ckpt_dict_value(d, i), ident);
    }
    sb_puts(b, "}");
}

static void print_tensor(canon *c, sbuf *b, const ckpt_obj *t)
{
    ckpt_tensor_info ti;
    if (ckpt_tensor_get_info(t, &ti) != 0) {
        canon_fail(c, "ckpt_tensor_get_info failed");
        return;
    }
    const char *dn = ckpt_dtype_name(ti.dtype);
    sb_printf(b, "T(dtype=%s,shape=[", dn ? dn : "?");
    for (int i = 0; i < ti.ndim; i++)
        sb_printf(b, "%s%" PRId64, i ? "," : "", ti.shape[i]);
    sb_puts(b, "],stride=[");
    for (int i = 0; i < ti.ndim; i++)
        sb_printf(b, "%s%" PRId64, i ? "," : "", ti.stride[i]);
    sb_printf(b, "],off=%" PRId64 ",rg=%d,param=%d,dev=%s,st=", ti.storage_offset,
              ti.requires_grad ? 1 : 0, ti.is_parameter ? 1 : 0, ti.device ? ti.device : "?");
    if (!ti.storage) {
        sb_puts(b, "none)");
        return;
    }
    int64_t *n = pm_slot(&c->storages, ti.storage, true);
    if (*n) {
        sb_printf(b, "%" PRId64 ")", *n - 1);
        return;
    }
    *n = ++c->nstorages;
    ckpt_storage_info si;
    if (ckpt_storage_get_info(ti.storage, &si) != 0) {
        canon_fail(c, "ckpt_storage_get_info failed");
        return;
    }
    const char *sdn = si.untyped ? "uint8" : ckpt_dtype_name(si.dtype);
    sb_printf(b, "%" PRId64 ":%s:%" PRIu64 ":", *n - 1, sdn ? sdn : "?", si.nbytes);
    if (si.nbytes && !si.data)
        canon_fail(c, "storage holds no bytes");
    else if (si.nbytes)
        sb_hex(b, si.data, (size_t)si.nbytes);
    sb_puts(b, ")");
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void print_obj(canon *c, sbuf *b, const ckpt_obj *o, bool ident)
{
    if (c->failed)
        return;
    if (!o) {
        canon_fail(c, "NULL node");
        return;
    }
    if (++c->depth > 5000) {
        canon_fail(c, "nesting too deep");
        return;
    }
    int type = ckpt_obj_type(o);
    size_t n;
    switch (type) {
    case CKPT_T_NONE: sb_puts(b, "None"); break;
    case CKPT_T_BOOL: sb_puts(b, ckpt_obj_bool(o) ? "True" : "False"); break;
    case CKPT_T_INT: sb_printf(b, "i:%" PRId64, ckpt_obj_int(o)); break;
    case CKPT_T_FLOAT:
        sb_puts(b, "f:");
        put_f64(b, ckpt_obj_float(o));
        break;
    case CKPT_T_COMPLEX: {
        double re = 0, im = 0;
        ckpt_obj_complex(o, &re, &im);
        sb_puts(b, "c:");
        put_f64(b, re);
        sb_puts(b, ",");
        put_f64(b, im);
        break;
    }
    case CKPT_T_STR:
    case CKPT_T_BYTES:
    case CKPT_T_BYTEARRAY: {
        const char *s = ckpt_obj_str(o, &n);
        sb_puts(b, type == CKPT_T_STR ? "s:" : type == CKPT_T_BYTES ? "b:" : "ba:");
        sb_hex(b, s, n);
        break;
    }
    case CKPT_T_TUPLE:
    case CKPT_T_LIST:
        if (put_mark(c, b, o, ident))
            break;
        sb_puts(b, type == CKPT_T_TUPLE ? "(" : "[");
        for (size_t i = 0; i < ckpt_obj_len(o); i++) {
            if (i)
                sb_puts(b, ",");
            print_obj(c, b, ckpt_obj_item(o, i), ident);
        }
        sb_puts(b, type == CKPT_T_TUPLE ? ")" : "]");
        break;
    case CKPT_T_SET: {
        size_t k = ckpt_obj_len(o);
        char **items = calloc(k ? k : 1, sizeof *items);
        if (!items)
            die("out of memory");
        for (size_t i = 0; i < k; i++) {
            sbuf sub = {0};
            sb_puts(&sub, "");
            print_obj(c, &sub, ckpt_obj_item(o, i), false);
            items[i] = sub.p;
        }
        qsort(items, k, sizeof *items, cmp_str);
        sb_puts(b, "set{");
        for (size_t i = 0; i < k; i++) {
            if (i)
                sb_puts(b, ",");
            sb_puts(b, items[i]);
            free(items[i]);
        }
        sb_puts(b, "}");
        free(items);
        break;
    }
    case CKPT_T_DICT: {
        if (put_mark(c, b, o, ident))
            break;
        int kind = ckpt_dict_kind_of(o);
        print_dict_items(c, b,
                         kind == CKPT_DICT_ORDERED   ? "odict"
                         : kind == CKPT_DICT_COUNTER ? "counter"
                                                     : "dict",
                         o, ident);
        const ckpt_obj *a = ckpt_dict_attrs(o);
        if (a && ckpt_obj_type(a) == CKPT_T_DICT && ckpt_obj_len(a) > 0) {
            sb_puts(b, "@");
            print_dict_items(c, b, "dict", a, ident);
        } else if (a && ckpt_obj_type(a) != CKPT_T_DICT) {
            sb_puts(b, "@?");
            print_obj(c, b, a, ident);
        }
        break;
    }
    case CKPT_T_TENSOR:
        if (put_mark(c, b, o, ident))
            break;
        print_tensor(c, b, o);
        break;
    case CKPT_T_SIZE: {
        const int64_t *d = ckpt_size_dims(o, &n);
        sb_puts(b, "Size(");
        for (size_t i = 0; i < n; i++)
            sb_printf(b, "%s%" PRId64, i ? "," : "", d[i]);
        sb_puts(b, ")");
        break;
    }
    case CKPT_T_DTYPE: {
        const char *dn = ckpt_dtype_name(ckpt_obj_dtype(o));
        sb_printf(b, "dtype:%s", dn ? dn : "?");
        break;
    }
    case CKPT_T_DEVICE: {
        const char *t = ckpt_device_type(o);
        int64_t idx = ckpt_device_index(o);
        sb_printf(b, "device:%s", t ? t : "?");
        if (idx >= 0)
            sb_printf(b, ":%" PRId64, idx);
        break;
    }
    case CKPT_T_GLOBAL:
        sb_printf(b, "G:%s.%s", ckpt_global_module(o), ckpt_global_name(o));
        break;
    case CKPT_T_OBJECT: {
        /* Not reachable in weights-only loads; printed so a difference is visible. */
        sb_printf(b, "O:%s.%s:%s(", ckpt_global_module(o), ckpt_global_name(o),
                  ckpt_object_how(o) ? ckpt_object_how(o) : "?");
        const ckpt_obj *x = ckpt_object_args(o);
        if (x)
            print_obj(c, b, x, ident);
        sb_puts(b, ")[");
        x = ckpt_object_state(o);
        if (x)
            print_obj(c, b, x, ident);
        sb_puts(b, "]");
        break;
    }
    default:
        sb_printf(b, "?type%d", type);
        canon_fail(c, "unknown node type");
        break;
    }
    c->depth--;
}

/* Canonical text of `root` into `out` (without a newline); false on failure
 * (the reason is then in `out`). */
static bool canon_text(const ckpt_obj *root, sbuf *out)
{
    canon c;
    memset(&c, 0, sizeof c);
    count_nodes(&c, root);
    c.depth = 0;
    if (!c.failed)
        print_obj(&c, out, root, true);
    bool ok = !c.failed;
    if (!ok) {
        out->n = 0;
        sb_puts(out, c.why.p ? c.why.p : "canon failed");
    }
    pm_free(&c.counts);
    pm_free(&c.marks);
    pm_free(&c.storages);
    sb_free(&c.why);
    return ok;
}

/* ---------------------------------------------------------- canon, resave */

static int cmd_canon(const char *outdir, int nfiles, char **files)
{
    int bad = 0;
    for (int i = 0; i < nfiles; i++) {
        ckpt_error err;
        ckpt_error_clear(&err);
        sbuf b = {0};
        ckpt_doc *doc = ckpt_load(files[i], NULL, &err);
        if (!doc) {
            char msg[1200];
            ckpt_error_format(&err, msg, sizeof msg);
            sb_printf(&b, "ERROR %s %s", ckpt_status_name(err.code), msg);
        } else {
            sbuf t = {0};
            if (!canon_text(ckpt_doc_root(doc), &t)) {
                sb_printf(&b, "ERROR CANON %s", t.p);
                bad = 1;
            } else {
                sb_putn(&b, t.p, t.n);
            }
            sb_free(&t);
            ckpt_doc_free(doc);
        }
        sb_puts(&b, "\n");
        char *path = join_path(outdir, base_name(files[i]), ".canon");
        write_file(path, b.p, b.n);
        free(path);
        sb_free(&b);
    }
    return bad;
}

static int cmd_resave(const char *outdir, int nfiles, char **files, int layout)
{
    int bad = 0;
    for (int i = 0; i < nfiles; i++) {
        ckpt_error err;
        ckpt_error_clear(&err);
        char msg[1200];
        ckpt_doc *doc = ckpt_load(files[i], NULL, &err);
        if (!doc) {
            ckpt_error_format(&err, msg, sizeof msg);
            fprintf(stderr, "resave: load %s: %s %s\n", files[i], ckpt_status_name(err.code),
                    msg);
            bad = 1;
            continue;
        }
        char *path = join_path(outdir, base_name(files[i]), "");
        ckpt_save_opts so;
        memset(&so, 0, sizeof so);
        so.layout = layout;
        so.no_fsync = true;
        if (ckpt_save(path, ckpt_doc_root(doc), &so, &err) != 0) {
            ckpt_error_format(&err, msg, sizeof msg);
            fprintf(stderr, "resave: save %s: %s %s\n", path, ckpt_status_name(err.code), msg);
            bad = 1;
        }
        free(path);
        ckpt_doc_free(doc);
    }
    return bad;
}

/* ------------------------------------------------------------------ gen */

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rnext(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static uint64_t rbelow(rng *r, uint64_t n)
{
    return n ? rnext(r) % n : 0;
}
static bool rchance(rng *r, unsigned pct)
{
    return rbelow(r, 100) < pct;
}

typedef struct gen {
    rng r;
    ckpt_doc *doc;
    ckpt_error err;
    /* pools of nodes for sharing */
    ckpt_obj *shared[64];
    size_t nshared;
    ckpt_storage *storages[64];
    int storage_dtype[64];
    size_t nstorages;
    ckpt_obj *tensors[64];
    size_t ntensors;
    ckpt_obj *dtype_nodes[32];
    size_t ntensors_made;
} gen;

static ckpt_obj *chk(gen *g, ckpt_obj *o, const char *what)
{
    if (!o) {
        char msg[1200];
        ckpt_error_format(&g->err, msg, sizeof msg);
        die("builder %s failed (%s)", what, msg);
    }
    return o;
}

static void chki(gen *g, int rc, const char *what)
{
    if (rc != 0) {
        char msg[1200];
        ckpt_error_format(&g->err, msg, sizeof msg);
        die("builder %s failed: %d (%s)", what, rc, msg);
    }
}

/* Savable dtypes in torch 1.13. */
static const int SAVABLE[] = {CKPT_F64, CKPT_F32, CKPT_F16, CKPT_BF16, CKPT_C64, CKPT_C128,
                              CKPT_I64, CKPT_I32, CKPT_I16, CKPT_I8,   CKPT_U8,  CKPT_BOOL};
#define NSAVABLE (sizeof SAVABLE / sizeof SAVABLE[0])
/* Dtype values (torch.<name> objects) torch 1.13 has. */
static const int DTYPE_VALUES[] = {CKPT_U8,   CKPT_I8,    CKPT_I16,  CKPT_I32, CKPT_I64,
                                   CKPT_F16,  CKPT_F32,   CKPT_F64,  CKPT_C32, CKPT_C64,
                                   CKPT_C128, CKPT_BOOL,  CKPT_QI8,  CKPT_QU8, CKPT_QI32,
                                   CKPT_BF16, CKPT_QU4X2, CKPT_QU2X4};
#define NDTYPE_VALUES (sizeof DTYPE_VALUES / sizeof DTYPE_VALUES[0])

static bool grad_ok(int dt)
{
    return dt == CKPT_F64 || dt == CKPT_F32 || dt == CKPT_F16 || dt == CKPT_BF16 ||
           dt == CKPT_C64 || dt == CKPT_C128;
}

static double special_double(gen *g)
{
    uint64_t u;
    double d;
    switch (rbelow(&g->r, 14)) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return (double)INFINITY;
    case 3: return -(double)INFINITY;
    case 4:
        u = 0x7ff8000000000000ULL; /* quiet NaN */
        break;
    case 5:
        u = 0x7ff8000000000000ULL | (rnext(&g->r) & 0x0007ffffffffffffULL); /* payload */
        break;
    case 6:
        u = 0xfff8000000000000ULL | (rnext(&g->r) & 0x0007ffffffffffffULL); /* negative NaN */
        break;
    case 7:
        u = 1; /* smallest subnormal */
        break;
    case 8:
        u = 0x7fefffffffffffffULL; /* max */
        break;
    case 9: return 0.1;
    case 10: return 1e300;
    default:
        u = rnext(&g->r);
        if (((u >> 52) & 0x7ff) == 0x7ff && (u & 0x0008000000000000ULL) == 0)
            u |= 0x0008000000000000ULL; /* keep random NaNs quiet */
        break;
    }
    memcpy(&d, &u, sizeof d);
    return d;
}

static int64_t special_int(gen *g)
{
    static const int64_t vals[] = {0,
                                   1,
                                   -1,
                                   255,
                                   256,
                                   65535,
                                   65536,
                                   2147483647,
                                   -2147483647 - 1,
                                   2147483648,
                                   -2147483649LL,
                                   INT64_MAX,
                                   INT64_MIN,
                                   INT64_MAX - 1,
                                   INT64_MIN + 1,
                                   1099511627776LL,
                                   127,
                                   128,
                                   -128,
                                   -129,
                                   -256,
                                   -32768};
    if (rchance(&g->r, 50))
        return vals[rbelow(&g->r, sizeof vals / sizeof vals[0])];
    if (rchance(&g->r, 50))
        return (int64_t)rbelow(&g->r, 1000);
    return (int64_t)rnext(&g->r);
}

/* Random UTF-8 string, avoiding torch's identity-memoized constants. */
static ckpt_obj *rand_str(gen *g)
{
    static const char *const pieces[] = {"a",
                                         "b",
                                         "z",
                                         "_",
                                         ".",
                                         "0",
                                         "9",
                                         " ",
                                         "\xc3\xa9",
                                         "\xc3\x9f",
                                         "\xe4\xb8\xad",
                                         "\xf0\x9f\x98\x80",
                                         "\x7f",
                                         "\x01",
                                         "\xc2\xa0",
                                         "weight",
                                         "bias"};
    static const char *const whole[] = {"",          "",         "a",           "a",
                                        "\xc3\xa9",  "\xc3\xbf", "x",           "version",
                                        "_metadata", "state",    "param_groups"};
    char buf[64];
    if (rchance(&g->r, 30)) {
        return chk(g, ckpt_str_new(g->doc, whole[rbelow(&g->r, sizeof whole / sizeof whole[0])]),
                   "str");
    }
    for (;;) {
        size_t n = 0;
        size_t k = rbelow(&g->r, 6);
        buf[0] = '\0';
        for (size_t i = 0; i < k; i++) {
            const char *p = pieces[rbelow(&g->r, sizeof pieces / sizeof pieces[0])];
            size_t m = strlen(p);
            if (n + m >= sizeof buf)
                break;
            memcpy(buf + n, p, m);
            n += m;
            buf[n] = '\0';
        }
        if (strcmp(buf, "storage") && strcmp(buf, "cpu") && strcmp(buf, "latin1") &&
            strcmp(buf, "cuda"))
            return chk(g, ckpt_strn_new(g->doc, buf, n), "strn");
    }
}

static ckpt_obj *rand_bytes(gen *g, bool array)
{
    unsigned char buf[16];
    size_t n = rbelow(&g->r, 4) == 0 ? 0 : rbelow(&g->r, 2) ? 1 : rbelow(&g->r, sizeof buf);
    for (size_t i = 0; i < n; i++) {
        unsigned x = (unsigned)rbelow(&g->r, 4);
        buf[i] = x == 0   ? (unsigned char)rbelow(&g->r, 128)
                 : x == 1 ? (unsigned char)(128 + rbelow(&g->r, 128))
                 : x == 2 ? (unsigned char)'a'
                          : (unsigned char)0xe9;
    }
    return chk(g, array ? ckpt_bytearray_new(g->doc, buf, n) : ckpt_bytes_new(g->doc, buf, n),
               "bytes");
}

static ckpt_obj *dtype_node(gen *g, int dt)
{
    /* Sometimes reuse one node, sometimes a fresh one: torch.float32 is a
     * singleton in Python either way. */
    if (rchance(&g->r, 50)) {
        for (size_t i = 0; i < NDTYPE_VALUES; i++) {
            if (DTYPE_VALUES[i] == dt) {
                if (!g->dtype_nodes[i])
                    g->dtype_nodes[i] = chk(g, ckpt_dtype_new(g->doc, dt), "dtype");
                return g->dtype_nodes[i];
            }
        }
    }
    return chk(g, ckpt_dtype_new(g->doc, dt), "dtype");
}

/* A hashable scalar key with its Python-equality class written to `eq`. */
static ckpt_obj *rand_key(gen *g, char *eq, size_t eqn, int depth)
{
    unsigned kind = (unsigned)rbelow(&g->r, 100);
    if (kind < 55) {
        ckpt_obj *s = rand_str(g);
        size_t n;
        const char *p = ckpt_obj_str(s, &n);
        snprintf(eq, eqn, "s");
        size_t at = 1;
        for (size_t i = 0; i < n && at + 3 < eqn; i++, at += 2)
            snprintf(eq + at, eqn - at, "%02x", (unsigned char)p[i]);
        return s;
    }
    if (kind < 75) {
        int64_t v = rchance(&g->r, 70) ? (int64_t)rbelow(&g->r, 20) : special_int(g);
        snprintf(eq, eqn, "n%" PRId64, v);
        return chk(g, ckpt_int_new(g->doc, v), "int");
    }
    if (kind < 80) {
        bool v = rchance(&g->r, 50);
        snprintf(eq, eqn, "n%d", v ? 1 : 0);
        return chk(g, ckpt_bool_new(g->doc, v), "bool");
    }
    if (kind < 83) {
        snprintf(eq, eqn, "None");
        return chk(g, ckpt_none_new(g->doc), "none");
    }
    if (kind < 88) {
        double d = (double)(int64_t)rbelow(&g->r, 40) / 4.0 - 5.0;
        if (rchance(&g->r, 10))
            d = -0.0;
        if (d == (double)(int64_t)d)
            snprintf(eq, eqn, "n%" PRId64, (int64_t)d);
        else
            snprintf(eq, eqn, "f%.17g", d);
        return chk(g, ckpt_float_new(g->doc, d), "float");
    }
    /* tuple key of 1..3 hashable items */
    size_t n = 1 + rbelow(&g->r, 3);
    ckpt_obj *items[3];
    size_t at = (size_t)snprintf(eq, eqn, "t(");
    for (size_t i = 0; i < n; i++) {
        char sub[200];
        if (depth > 1 || rchance(&g->r, 50)) {
            int64_t v = (int64_t)rbelow(&g->r, 10);
            snprintf(sub, sizeof sub, "n%" PRId64, v);
            items[i] = chk(g, ckpt_int_new(g->doc, v), "int");
        } else {
            items[i] = rand_key(g, sub, sizeof sub, depth + 1);
        }
        if (at < eqn)
            at += (size_t)snprintf(eq + at, eqn - at, "%s,", sub);
    }
    if (at < eqn)
        snprintf(eq + at, eqn - at, ")");
    return chk(g, ckpt_tuple_new(g->doc, n, items), "tuple");
}

static void fill_storage(gen *g, ckpt_storage *s, int dt, uint64_t nbytes)
{
    unsigned char *p = ckpt_storage_data_mut(s);
    if (!nbytes)
        return;
    if (!p)
        die("ckpt_storage_data_mut returned NULL");
    size_t es = ckpt_dtype_size(dt);
    for (uint64_t i = 0; i < nbytes; i++)
        p[i] = (unsigned char)rnext(&g->r);
    if (dt == CKPT_BOOL) {
        for (uint64_t i = 0; i < nbytes; i++)
            p[i] &= 1;
    } else if (dt == CKPT_F64 || dt == CKPT_C128) {
        for (uint64_t i = 0; i + 8 <= nbytes; i += 8) {
            if (rchance(&g->r, 20)) {
                double d = special_double(g);
                memcpy(p + i, &d, 8);
            }
        }
    } else if (dt == CKPT_F32 || dt == CKPT_C64) {
        for (uint64_t i = 0; i + 4 <= nbytes; i += 4) {
            if (rchance(&g->r, 60)) {
                float f = (float)((double)(int64_t)rbelow(&g->r, 2001) / 100.0 - 10.0);
                memcpy(p + i, &f, 4);
            }
        }
    }
    (void)es;
}

static ckpt_storage *new_storage(gen *g, int dt, uint64_t nelem)
{
    uint64_t nbytes = nelem * ckpt_dtype_size(dt);
    ckpt_storage *s = ckpt_storage_new(g->doc, dt, nbytes, &g->err);
    if (!s) {
        char msg[1200];
        ckpt_error_format(&g->err, msg, sizeof msg);
        die("ckpt_storage_new failed: %s", msg);
    }
    fill_storage(g, s, dt, nbytes);
    if (g->nstorages < 64) {
        g->storages[g->nstorages] = s;
        g->storage_dtype[g->nstorages] = dt;
        g->nstorages++;
    }
    return s;
}

static ckpt_obj *rand_tensor(gen *g)
{
    /* reuse a whole tensor node (the same tensor twice) */
    if (g->ntensors && rchance(&g->r, 10))
        return g->tensors[rbelow(&g->r, g->ntensors)];

    int dt = SAVABLE[rbelow(&g->r, NSAVABLE)];
    int ndim = (int)rbelow(&g->r, 5);
    int64_t shape[4], stride[4];
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        shape[i] = rchance(&g->r, 8) ? 0 : (int64_t)rbelow(&g->r, 5) + 1;
        numel *= shape[i];
    }
    bool contiguous = rchance(&g->r, 45);
    if (contiguous) {
        int64_t s = 1;
        for (int i = ndim - 1; i >= 0; i--) {
            stride[i] = s;
            s *= shape[i] > 0 ? shape[i] : 1;
        }
    } else {
        for (int i = 0; i < ndim; i++)
            stride[i] = rchance(&g->r, 15) ? 0 : (int64_t)rbelow(&g->r, 12) + 1;
    }
    int64_t span = 0; /* elements needed past the offset */
    if (numel > 0) {
        span = 1;
        for (int i = 0; i < ndim; i++)
            span += (shape[i] - 1) * stride[i];
    }
    int64_t offset = rchance(&g->r, 40) ? (int64_t)rbelow(&g->r, 7) : 0;

    /* try to view an existing storage of the same dtype */
    ckpt_storage *st = NULL;
    if (g->nstorages && rchance(&g->r, 35)) {
        size_t i = rbelow(&g->r, g->nstorages);
        if (g->storage_dtype[i] == dt) {
            ckpt_storage_info si;
            if (ckpt_storage_get_info(g->storages[i], &si) == 0) {
                int64_t nel = (int64_t)(si.nbytes / ckpt_dtype_size(dt));
                if (numel == 0 && offset <= nel) {
                    st = g->storages[i];
                } else if (numel > 0 && nel >= span) {
                    st = g->storages[i];
                    offset = (int64_t)rbelow(&g->r, (uint64_t)(nel - span + 1));
                }
            }
        }
    }
    if (!st) {
        int64_t need = offset + span + (rchance(&g->r, 30) ? (int64_t)rbelow(&g->r, 5) : 0);
        st = new_storage(g, dt, (uint64_t)need);
    }
    ckpt_obj *t = ckpt_tensor_new(g->doc, st, dt, ndim, shape,
                                  contiguous && rchance(&g->r, 50) ? NULL : stride, offset,
                                  &g->err);
    chk(g, t, "tensor");
    if (rchance(&g->r, 20)) {
        bool rg = grad_ok(dt) && rchance(&g->r, 70);
        chki(g, ckpt_tensor_set_parameter(t, true, rg, NULL), "set_parameter");
    } else if (grad_ok(dt) && rchance(&g->r, 20)) {
        chki(g, ckpt_tensor_set_requires_grad(t, true, NULL), "set_requires_grad");
    }
    if (g->ntensors < 64)
        g->tensors[g->ntensors++] = t;
    g->ntensors_made++;
    return t;
}

static ckpt_obj *rand_value(gen *g, int depth);

static ckpt_obj *rand_scalar(gen *g)
{
    switch (rbelow(&g->r, 16)) {
    case 0: return chk(g, ckpt_none_new(g->doc), "none");
    case 1: return chk(g, ckpt_bool_new(g->doc, rchance(&g->r, 50)), "bool");
    case 2:
    case 3: return chk(g, ckpt_int_new(g->doc, special_int(g)), "int");
    case 4:
    case 5: return chk(g, ckpt_float_new(g->doc, special_double(g)), "float");
    case 6:
        return chk(g, ckpt_complex_new(g->doc, special_double(g), special_double(g)), "complex");
    case 7:
    case 8: return rand_str(g);
    case 9: return rand_bytes(g, false);
    case 10: return rand_bytes(g, true);
    case 11: {
        int64_t dims[4];
        size_t n = rbelow(&g->r, 5);
        for (size_t i = 0; i < n; i++)
            dims[i] = (int64_t)rbelow(&g->r, 300);
        return chk(g, ckpt_size_new(g->doc, n, dims), "size");
    }
    case 12: return dtype_node(g, DTYPE_VALUES[rbelow(&g->r, NDTYPE_VALUES)]);
    case 13: {
        unsigned k = (unsigned)rbelow(&g->r, 4);
        return chk(g,
                   k == 0   ? ckpt_device_new(g->doc, "cpu", -1)
                   : k == 1 ? ckpt_device_new(g->doc, "cuda", 1)
                   : k == 2 ? ckpt_device_new(g->doc, "cuda", -1)
                            : ckpt_device_new(g->doc, "meta", -1),
                   "device");
    }
    default: return chk(g, ckpt_int_new(g->doc, (int64_t)rbelow(&g->r, 300)), "int");
    }
}

static ckpt_obj *metadata_attrs(gen *g)
{
    ckpt_obj *attrs = chk(g, ckpt_dict_new(g->doc, CKPT_DICT_PLAIN), "dict");
    ckpt_obj *md = chk(g, ckpt_dict_new(g->doc, CKPT_DICT_ORDERED), "odict");
    size_t n = 1 + rbelow(&g->r, 3);
    static const char *const prefixes[] = {"", "0", "1", "layer1.0", "fc"};
    ckpt_obj *version_key = NULL;
    for (size_t i = 0; i < n && i < 5; i++) {
        ckpt_obj *e = chk(g, ckpt_dict_new(g->doc, CKPT_DICT_PLAIN), "dict");
        /* the 'version' key: sometimes one shared node, as state_dict() makes it */
        ckpt_obj *vk = version_key && rchance(&g->r, 70)
                           ? version_key
                           : chk(g, ckpt_str_new(g->doc, "version"), "str");
        version_key = vk;
        chki(g,
             ckpt_dict_set(g->doc, e, vk,
                           chk(g, ckpt_int_new(g->doc, 1 + (int64_t)rbelow(&g->r, 3)), "int"),
                           NULL),
             "dict_set");
        chki(g, ckpt_dict_set_str(g->doc, md, prefixes[i], e, NULL), "dict_set_str");
    }
    chki(g, ckpt_dict_set_str(g->doc, attrs, "_metadata", md, NULL), "dict_set_str");
    return attrs;
}

static ckpt_obj *rand_dict(gen *g, int depth, int kind)
{
    ckpt_obj *d = chk(g, ckpt_dict_new(g->doc, kind), "dict");
    size_t n = rbelow(&g->r, depth == 0 ? 12 : 6);
    char eqs[16][256];
    size_t neq = 0;
    for (size_t i = 0; i < n && neq < 16; i++) {
        ckpt_obj *k;
        if (kind == CKPT_DICT_ORDERED) {
            k = rand_str(g); /* state_dict-like */
            size_t len;
            const char *p = ckpt_obj_str(k, &len);
            snprintf(eqs[neq], sizeof eqs[neq], "s%.*s", (int)len, p);
        } else {
            k = rand_key(g, eqs[neq], sizeof eqs[neq], 0);
        }
        bool dup = false;
        for (size_t j = 0; j < neq; j++)
            if (strcmp(eqs[j], eqs[neq]) == 0)
                dup = true;
        if (dup)
            continue;
        neq++;
        ckpt_obj *v;
        if (kind == CKPT_DICT_COUNTER)
            v = chk(g, ckpt_int_new(g->doc, (int64_t)rbelow(&g->r, 9) - 2), "int");
        else if (kind == CKPT_DICT_ORDERED && rchance(&g->r, 80))
            v = rand_tensor(g);
        else
            v = rand_value(g, depth + 1);
        chki(g, ckpt_dict_set(g->doc, d, k, v, NULL), "dict_set");
    }
    if (kind == CKPT_DICT_ORDERED && rchance(&g->r, 60))
        chki(g, ckpt_dict_set_attrs(d, metadata_attrs(g), NULL), "dict_set_attrs");
    return d;
}

static ckpt_obj *rand_value(gen *g, int depth)
{
    /* reuse a shared container node */
    if (g->nshared && rchance(&g->r, 6))
        return g->shared[rbelow(&g->r, g->nshared)];
    unsigned k = (unsigned)rbelow(&g->r, 100);
    if (depth >= 4 || k < 35)
        return rand_scalar(g);
    if (k < 55)
        return rand_tensor(g);
    ckpt_obj *o;
    if (k < 65) {
        o = chk(g, ckpt_list_new(g->doc), "list");
        size_t n = rbelow(&g->r, 6);
        for (size_t i = 0; i < n; i++)
            chki(g, ckpt_list_append(g->doc, o, rand_value(g, depth + 1), NULL), "list_append");
    } else if (k < 75) {
        size_t n = rbelow(&g->r, 6);
        ckpt_obj *items[6];
        for (size_t i = 0; i < n; i++)
            items[i] = rand_value(g, depth + 1);
        o = chk(g, ckpt_tuple_new(g->doc, n, n ? items : NULL), "tuple");
    } else if (k < 78) {
        /* set of small ints in ascending order (CPython iterates them in that order) */
        o = chk(g, ckpt_set_new(g->doc), "set");
        for (int64_t v = 0; v < 8; v++)
            if (rchance(&g->r, 40))
                chki(g, ckpt_set_add(g->doc, o, chk(g, ckpt_int_new(g->doc, v), "int"), NULL),
                     "set_add");
    } else if (k < 88) {
        o = rand_dict(g, depth, CKPT_DICT_PLAIN);
    } else if (k < 96) {
        o = rand_dict(g, depth, CKPT_DICT_ORDERED);
    } else {
        o = rand_dict(g, depth, CKPT_DICT_COUNTER);
    }
    if (g->nshared < 64 && rchance(&g->r, 15))
        g->shared[g->nshared++] = o;
    return o;
}

static ckpt_obj *gen_root(gen *g, size_t idx)
{
    switch (idx % 4) {
    case 0: return rand_dict(g, 0, CKPT_DICT_ORDERED);
    case 1: return rand_dict(g, 0, CKPT_DICT_PLAIN);
    case 2: {
        /* checkpoint-like */
        ckpt_obj *d = chk(g, ckpt_dict_new(g->doc, CKPT_DICT_PLAIN), "dict");
        chki(g, ckpt_dict_set_str(g->doc, d, "model", rand_dict(g, 1, CKPT_DICT_ORDERED), NULL),
             "set");
        ckpt_obj *opt = chk(g, ckpt_dict_new(g->doc, CKPT_DICT_PLAIN), "dict");
        ckpt_obj *state = chk(g, ckpt_dict_new(g->doc, CKPT_DICT_PLAIN), "dict");
        size_t n = rbelow(&g->r, 4);
        for (size_t i = 0; i < n; i++) {
            ckpt_obj *ps = chk(g, ckpt_dict_new(g->doc, CKPT_DICT_PLAIN), "dict");
            chki(g, ckpt_dict_set_str(g->doc, ps, "step", rand_tensor(g), NULL), "set");
            chki(g, ckpt_dict_set_str(g->doc, ps, "exp_avg", rand_tensor(g), NULL), "set");
            chki(g,
                 ckpt_dict_set(g->doc, state, chk(g, ckpt_int_new(g->doc, (int64_t)i), "int"), ps,
                               NULL),
                 "set");
        }
        chki(g, ckpt_dict_set_str(g->doc, opt, "state", state, NULL), "set");
        ckpt_obj *pg = chk(g, ckpt_dict_new(g->doc, CKPT_DICT_PLAIN), "dict");
        chki(g,
             ckpt_dict_set_str(g->doc, pg, "lr", chk(g, ckpt_float_new(g->doc, 0.001), "f"),
                               NULL),
             "set");
        ckpt_obj *betas[2] = {chk(g, ckpt_float_new(g->doc, 0.9), "f"),
                              chk(g, ckpt_float_new(g->doc, 0.999), "f")};
        chki(g,
             ckpt_dict_set_str(g->doc, pg, "betas", chk(g, ckpt_tuple_new(g->doc, 2, betas), "t"),
                               NULL),
             "set");
        ckpt_obj *params = chk(g, ckpt_list_new(g->doc), "list");
        for (size_t i = 0; i < n; i++)
            chki(g,
                 ckpt_list_append(g->doc, params, chk(g, ckpt_int_new(g->doc, (int64_t)i), "int"),
                                  NULL),
                 "append");
        chki(g, ckpt_dict_set_str(g->doc, pg, "params", params, NULL), "set");
        ckpt_obj *pgs = chk(g, ckpt_list_new(g->doc), "list");
        chki(g, ckpt_list_append(g->doc, pgs, pg, NULL), "append");
        chki(g, ckpt_dict_set_str(g->doc, opt, "param_groups", pgs, NULL), "set");
        chki(g, ckpt_dict_set_str(g->doc, d, "optimizer", opt, NULL), "set");
        chki(g,
             ckpt_dict_set_str(g->doc, d, "epoch",
                               chk(g, ckpt_int_new(g->doc, (int64_t)rbelow(&g->r, 100)), "i"),
                               NULL),
             "set");
        chki(g, ckpt_dict_set_str(g->doc, d, "extra", rand_value(g, 1), NULL), "set");
        return d;
    }
    default: return rand_value(g, 0);
    }
}

static int cmd_gen(const char *outdir, long n, uint64_t seed)
{
    int bad = 0;
    for (long i = 0; i < n; i++) {
        gen g;
        memset(&g, 0, sizeof g);
        g.r.s = seed * 1000003ULL + (uint64_t)i;
        ckpt_error_clear(&g.err);
        g.doc = ckpt_doc_new(NULL, &g.err);
        if (!g.doc)
            die("ckpt_doc_new failed");
        ckpt_obj *root = gen_root(&g, (size_t)i);
        ckpt_doc_set_root(g.doc, root);

        char name[64];
        snprintf(name, sizeof name, "c_%ld", i);
        sbuf t = {0};
        bool ok = canon_text(root, &t);
        char *cpath = join_path(outdir, name, ".canon");
        if (!ok) {
            fprintf(stderr, "gen %s: canon failed: %s\n", name, t.p);
            bad = 1;
        }
        sb_puts(&t, "\n");
        write_file(cpath, t.p, t.n);
        free(cpath);
        sb_free(&t);

        char *ppath = join_path(outdir, name, ".pt");
        ckpt_save_opts so;
        memset(&so, 0, sizeof so);
        so.layout = CKPT_LAYOUT_TORCH13;
        so.no_fsync = true;
        if (ckpt_save(ppath, root, &so, &g.err) != 0) {
            char msg[1200];
            ckpt_error_format(&g.err, msg, sizeof msg);
            fprintf(stderr, "gen %s: save failed: %s %s\n", name, ckpt_status_name(g.err.code),
                    msg);
            bad = 1;
        }
        free(ppath);
        ckpt_doc_free(g.doc);
    }
    return bad;
}

/* ----------------------------------------------------------------- main */

static int usage(void)
{
    fputs("usage: interop_tool canon OUTDIR FILE...\n"
          "       interop_tool resave [--layout legacy] OUTDIR FILE...\n"
          "       interop_tool gen OUTDIR N SEED\n",
          stderr);
    return 2;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    if (strcmp(argv[1], "canon") == 0)
        return cmd_canon(argv[2], argc - 3, argv + 3);
    if (strcmp(argv[1], "resave") == 0) {
        if (strcmp(argv[2], "--layout") == 0) {
            if (argc < 5 || strcmp(argv[3], "legacy") != 0)
                return usage();
            return cmd_resave(argv[4], argc - 5, argv + 5, CKPT_LAYOUT_LEGACY);
        }
        return cmd_resave(argv[2], argc - 3, argv + 3, CKPT_LAYOUT_TORCH13);
    }
    if (strcmp(argv[1], "gen") == 0 && argc == 5) {
        char *end;
        long n = strtol(argv[3], &end, 10);
        if (*end || n < 0)
            return usage();
        uint64_t seed = strtoull(argv[4], &end, 10);
        if (*end)
            return usage();
        return cmd_gen(argv[2], n, seed);
    }
    return usage();
}
