/* tests/unit/pickle/vm_test.c - the pickle VM: every opcode of protocols 0-5
 * against streams made by CPython (tests/fixtures/pickle, written by
 * tools/gen/make_pickle_fixtures.py with the expected values CPython's own
 * unpickler built), the memo, marks, errors, hooks, limits, truncation /
 * corruption / out-of-memory sweeps and a memo "billion laughs". */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/pickle.h"
#include "core/obj.h"
#include "util/test.h"

#define FIXDIR "tests/fixtures/pickle"

/* ---- growing text buffer ------------------------------------------------- */

typedef struct tbuf {
    char *p;
    size_t len, cap;
} tbuf;

static void tb_put(tbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > ncap)
            ncap *= 2;
        char *np = realloc(b->p, ncap);
        if (!np)
            abort();
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void tb_puts(tbuf *b, const char *s)
{
    tb_put(b, s, strlen(s));
}

static void tb_hex(tbuf *b, const char *p, size_t n)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        char t[2] = {hx[(uint8_t)p[i] >> 4], hx[(uint8_t)p[i] & 15]};
        tb_put(b, t, 2);
    }
}

/* ---- canonical text (same rules as canon() in make_pickle_fixtures.py) ---- */

#define PATH_MAX_DEPTH 256

typedef struct cpath {
    const ckpt_obj *on[PATH_MAX_DEPTH];
    int n;
} cpath;

static void canon(tbuf *b, const ckpt_obj *o, cpath *path);

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void canon_or_dash(tbuf *b, const ckpt_obj *o, cpath *path)
{
    if (o)
        canon(b, o, path);
    else
        tb_puts(b, "-");
}

static void canon(tbuf *b, const ckpt_obj *o, cpath *path)
{
    char tmp[64];
    int t = o->type;
    bool container = t == CKPT_T_TUPLE || t == CKPT_T_LIST || t == CKPT_T_DICT ||
                     t == CKPT_T_SET || t == CKPT_T_OBJECT;
    if (container) {
        for (int i = 0; i < path->n; i++) {
            if (path->on[i] == o) {
                tb_puts(b, "...");
                return;
            }
        }
        if (path->n == PATH_MAX_DEPTH)
            abort();
        path->on[path->n++] = o;
    }
    switch (t) {
    case CKPT_T_NONE: tb_puts(b, "None"); break;
    case CKPT_T_BOOL: tb_puts(b, o->u.b ? "True" : "False"); break;
    case CKPT_T_INT:
        snprintf(tmp, sizeof(tmp), "%lld", (long long)o->u.i);
        tb_puts(b, tmp);
        break;
    case CKPT_T_FLOAT: {
        uint64_t bits;
        memcpy(&bits, &o->u.f, sizeof(bits));
        snprintf(tmp, sizeof(tmp), "f%016llx", (unsigned long long)bits);
        tb_puts(b, tmp);
        break;
    }
    case CKPT_T_STR:
    case CKPT_T_BYTES:
    case CKPT_T_BYTEARRAY:
        tb_puts(b, t == CKPT_T_STR ? "s:" : t == CKPT_T_BYTES ? "b:" : "ba:");
        tb_hex(b, o->u.s.p, o->u.s.n);
        break;
    case CKPT_T_TUPLE:
    case CKPT_T_LIST:
        tb_puts(b, t == CKPT_T_TUPLE ? "(" : "[");
        for (size_t i = 0; i < o->u.seq.n; i++) {
            if (i)
                tb_puts(b, ",");
            canon(b, o->u.seq.items[i], path);
        }
        tb_puts(b, t == CKPT_T_TUPLE ? ")" : "]");
        break;
    case CKPT_T_SET: {
        size_t n = o->u.seq.n;
        char **items = calloc(n ? n : 1, sizeof(char *));
        for (size_t i = 0; i < n; i++) {
            tbuf ib = {0};
            tb_puts(&ib, "");
            canon(&ib, o->u.seq.items[i], path);
            items[i] = ib.p;
        }
        qsort(items, n, sizeof(char *), cmp_str);
        tb_puts(b, (o->flags & CKPT__F_FROZEN) ? "fset{" : "set{");
        for (size_t i = 0; i < n; i++) {
            if (i)
                tb_puts(b, ",");
            tb_puts(b, items[i]);
            free(items[i]);
        }
        free(items);
        tb_puts(b, "}");
        break;
    }
    case CKPT_T_DICT:
        tb_puts(b, "{");
        for (size_t i = 0; i < o->u.dict->n; i++) {
            if (i)
                tb_puts(b, ",");
            canon(b, o->u.dict->keys[i], path);
            tb_puts(b, ":");
            canon(b, o->u.dict->vals[i], path);
        }
        tb_puts(b, "}");
        break;
    case CKPT_T_GLOBAL:
        tb_puts(b, "g:");
        tb_puts(b, o->u.g.module);
        tb_puts(b, ".");
        tb_puts(b, o->u.g.name);
        break;
    case CKPT_T_OBJECT: {
        const ckpt__object *ob = o->u.obj;
        tb_puts(b, "<");
        tb_puts(b, ob->how);
        const ckpt_obj *parts[5] = {ob->cls, ob->args, ob->kwargs, ob->state, ob->items};
        for (int i = 0; i < 5; i++) {
            tb_puts(b, "|");
            canon_or_dash(b, parts[i], path);
        }
        tb_puts(b, ">");
        break;
    }
    default:
        tb_puts(b, "?");
        tb_puts(b, ckpt_type_name(t));
        break;
    }
    if (container)
        path->n--;
}

static char *canon_str(const ckpt_obj *o)
{
    tbuf b = {0};
    cpath path;
    path.n = 0;
    tb_puts(&b, "");
    canon(&b, o, &path);
    return b.p;
}

/* ---- recording hooks: every call becomes an OBJECT node ------------------ */

typedef struct call_log {
    int find_class, persistent_load, reduce, newobj, build, ext;
    int last_op;
    uint64_t last_off;
    int ops[64];
    uint64_t offs[64];
    int n;
} call_log;

static void log_call(call_log *lg, int op, uint64_t off)
{
    lg->last_op = op;
    lg->last_off = off;
    if (lg->n < 64) {
        lg->ops[lg->n] = op;
        lg->offs[lg->n] = off;
        lg->n++;
    }
}

static ckpt_obj *rec_node(ckpt_doc *doc, const char *how, ckpt_obj *cls, ckpt_obj *args,
                          ckpt_obj *kwargs)
{
    ckpt_obj *o = ckpt__node(doc, CKPT_T_OBJECT);
    if (!o)
        return NULL;
    ckpt__object *ob = ckpt__arena_calloc(&doc->arena, sizeof(*ob));
    if (!ob)
        return NULL;
    ob->cls = cls;
    ob->args = args;
    ob->kwargs = kwargs;
    ob->how = how;
    o->u.obj = ob;
    return o;
}

static ckpt_obj *h_find_class(void *ctx, ckpt_doc *doc, const char *module, const char *name,
                              int op, uint64_t off, ckpt_error *err)
{
    (void)err;
    call_log *lg = ctx;
    lg->find_class++;
    log_call(lg, op, off);
    return ckpt_global_new(doc, module, name);
}

static ckpt_obj *h_persistent_load(void *ctx, ckpt_doc *doc, ckpt_obj *pid, int op, uint64_t off,
                                   ckpt_error *err)
{
    (void)err;
    call_log *lg = ctx;
    lg->persistent_load++;
    log_call(lg, op, off);
    return rec_node(doc, "persid", NULL, pid, NULL);
}

static ckpt_obj *h_reduce(void *ctx, ckpt_doc *doc, ckpt_obj *callable, ckpt_obj *args, int op,
                          uint64_t off, ckpt_error *err)
{
    (void)err;
    call_log *lg = ctx;
    lg->reduce++;
    log_call(lg, op, off);
    return rec_node(doc, "reduce", callable, args, NULL);
}

static ckpt_obj *h_newobj(void *ctx, ckpt_doc *doc, ckpt_obj *cls, ckpt_obj *args,
                          ckpt_obj *kwargs, int op, uint64_t off, ckpt_error *err)
{
    (void)err;
    call_log *lg = ctx;
    lg->newobj++;
    log_call(lg, op, off);
    const char *how = op == CKPT_OP_NEWOBJ      ? "newobj"
                      : op == CKPT_OP_NEWOBJ_EX ? "newobj_ex"
                      : op == CKPT_OP_OBJ       ? "obj"
                      : op == CKPT_OP_INST      ? "inst"
                                                : "?";
    return rec_node(doc, how, cls, args, kwargs);
}

static int h_build(void *ctx, ckpt_doc *doc, ckpt_obj *obj, ckpt_obj *state, int op, uint64_t off,
                   ckpt_error *err)
{
    (void)doc;
    call_log *lg = ctx;
    lg->build++;
    log_call(lg, op, off);
    if (obj->type != CKPT_T_OBJECT) {
        if (err && !err->code) {
            err->code = CKPT_E_UNSAFE;
            snprintf(err->msg, sizeof(err->msg), "test hook: BUILD on a %s",
                     ckpt_type_name(obj->type));
        }
        return CKPT_E_UNSAFE;
    }
    obj->u.obj->state = state;
    return 0;
}

static ckpt_obj *h_ext(void *ctx, ckpt_doc *doc, int64_t code, int op, uint64_t off,
                       ckpt_error *err)
{
    (void)err;
    call_log *lg = ctx;
    lg->ext++;
    log_call(lg, op, off);
    return rec_node(doc, "ext", NULL, ckpt_int_new(doc, code), NULL);
}

static ckpt_pickle_hooks rec_hooks(call_log *lg)
{
    memset(lg, 0, sizeof(*lg));
    ckpt_pickle_hooks h = {lg,      h_find_class, h_persistent_load, h_reduce, h_newobj,
                           h_build, h_ext};
    return h;
}

/* ---- fixtures ----------------------------------------------------------- */

typedef struct fixture {
    char name[128];
    uint8_t *data;
    size_t len;
    char *expect; /* canonical text, or NULL */
    char error[64];
    char *opcodes;
} fixture;

static char *dup_line(const char *s)
{
    size_t n = strcspn(s, "\n");
    char *p = malloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static int cmp_fix(const void *a, const void *b)
{
    return strcmp(((const fixture *)a)->name, ((const fixture *)b)->name);
}

static fixture *load_fixtures(size_t *count)
{
    DIR *d = opendir(FIXDIR);
    if (!d)
        return NULL;
    fixture *fx = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t nl = strlen(e->d_name);
        if (nl < 5 || strcmp(e->d_name + nl - 4, ".pkl") != 0 || nl - 4 >= 128)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            fx = realloc(fx, cap * sizeof(*fx));
        }
        fixture *f = &fx[n];
        memset(f, 0, sizeof(*f));
        memcpy(f->name, e->d_name, nl - 4);
        char path[512];
        snprintf(path, sizeof(path), FIXDIR "/%s.pkl", f->name);
        f->data = test_read_file(path, &f->len);
        snprintf(path, sizeof(path), FIXDIR "/%s.txt", f->name);
        size_t tl;
        char *txt = (char *)test_read_file(path, &tl);
        if (!f->data || !txt) {
            free(txt);
            free(f->data);
            continue;
        }
        char *t0 = realloc(txt, tl + 1);
        txt = t0;
        txt[tl] = '\0';
        for (char *line = txt; line && *line;
             line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
            if (strncmp(line, "expect: ", 8) == 0)
                f->expect = dup_line(line + 8);
            else if (strncmp(line, "error: ", 7) == 0)
                snprintf(f->error, sizeof(f->error), "%.*s", (int)strcspn(line + 7, "\n"),
                         line + 7);
            else if (strncmp(line, "opcodes: ", 9) == 0)
                f->opcodes = dup_line(line + 9);
        }
        free(txt);
        n++;
    }
    closedir(d);
    qsort(fx, n, sizeof(*fx), cmp_fix);
    *count = n;
    return fx;
}

static void free_fixtures(fixture *fx, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(fx[i].data);
        free(fx[i].expect);
        free(fx[i].opcodes);
    }
    free(fx);
}

/* Run `data` with the recording hooks in a fresh document using a counting
 * allocator; returns the status (0 = success) and, on success, the canonical
 * text in *out (malloc'd).  Checks that the document frees everything. */
static int run_rec(const uint8_t *data, size_t len, const ckpt_pickle_opts *opts, char **out,
                   ckpt_error *err, long fail_at, bool *leak)
{
    test_failing_alloc fa;
    test_failing_alloc_init(&fa, fail_at);
    ckpt_error_clear(err);
    ckpt_doc *doc = ckpt_doc_new(&fa.a, err);
    if (!doc)
        return err->code;
    call_log lg;
    ckpt_pickle_hooks h = rec_hooks(&lg);
    ckpt_obj *o = ckpt_pickle_load(doc, data, len, &h, opts, NULL, err);
    int rc = 0;
    if (o) {
        if (out)
            *out = canon_str(o);
    } else {
        rc = err->code ? err->code : -100;
    }
    ckpt_doc_free(doc);
    *leak = fa.live != 0;
    return rc;
}

/* ---- tests: fixtures ----------------------------------------------------- */

TEST(test_pickle_vm__fixtures_match_cpython)
{
    size_t n = 0;
    fixture *fx = load_fixtures(&n);
    CHECK(fx && n >= 60);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        fixture *f = &fx[i];
        ckpt_error err;
        char *got = NULL;
        bool leak = false;
        int rc = run_rec(f->data, f->len, NULL, &got, &err, 0, &leak);
        if (leak) {
            fprintf(stderr, "%s: leaked\n", f->name);
            bad++;
        }
        if (f->expect) {
            if (rc != 0) {
                char b[512];
                fprintf(stderr, "%s: failed: %s\n", f->name,
                        ckpt_error_format(&err, b, sizeof(b)));
                bad++;
            } else if (strcmp(got, f->expect) != 0) {
                fprintf(stderr, "%s:\n  got    %.300s\n  expect %.300s\n", f->name, got,
                        f->expect);
                bad++;
            }
        } else {
            if (rc == 0 || strcmp(ckpt_status_name(rc), f->error) != 0) {
                fprintf(stderr, "%s: got %s, expected %s (%s)\n", f->name,
                        rc ? ckpt_status_name(rc) : "success", f->error, err.msg);
                bad++;
            } else if (err.where != CKPT_WHERE_PICKLE || err.offset > f->len) {
                fprintf(stderr, "%s: error without a pickle offset\n", f->name);
                bad++;
            }
        }
        free(got);
    }
    free_fixtures(fx, n);
    CHECK_EQ_INT(bad, 0);
}

TEST(test_pickle_vm__fixtures_cover_every_opcode)
{
    size_t n = 0;
    fixture *fx = load_fixtures(&n);
    CHECK(fx);
    tbuf all = {0};
    tb_puts(&all, " ");
    for (size_t i = 0; i < n; i++) {
        if (fx[i].opcodes) {
            tb_puts(&all, fx[i].opcodes);
            tb_puts(&all, " ");
        }
    }
    int missing = 0;
    for (int op = 0; op < 256; op++) {
        const char *name = ckpt_pickle_op_name(op);
        if (!name)
            continue;
        char pat[64];
        snprintf(pat, sizeof(pat), " %s ", name);
        if (!strstr(all.p, pat)) {
            fprintf(stderr, "opcode %s (0x%02x) is in no fixture\n", name, op);
            missing++;
        }
    }
    free(all.p);
    free_fixtures(fx, n);
    CHECK_EQ_INT(missing, 0);
}

TEST(test_pickle_vm__op_names)
{
    CHECK_STR(ckpt_pickle_op_name(CKPT_OP_BINPUT), "BINPUT");
    CHECK_STR(ckpt_pickle_op_name(CKPT_OP_STACK_GLOBAL), "STACK_GLOBAL");
    CHECK_STR(ckpt_pickle_op_name(CKPT_OP_READONLY_BUFFER), "READONLY_BUFFER");
    CHECK(ckpt_pickle_op_name(0xff) == NULL);
    CHECK(ckpt_pickle_op_name(-1) == NULL);
    int count = 0;
    for (int op = 0; op < 256; op++)
        count += ckpt_pickle_op_name(op) != NULL;
    CHECK_EQ_INT(count, 68); /* len(pickletools.opcodes) */
}

/* ---- sweeps ---------------------------------------------------------------- */

TEST(test_pickle_vm__truncation_every_offset)
{
    size_t n = 0;
    fixture *fx = load_fixtures(&n);
    CHECK(fx);
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        fixture *f = &fx[i];
        /* every offset for small streams; a stride for the 8 KiB batch ones */
        size_t step = f->len > 4096 ? 7 : 1;
        for (size_t cut = 0; cut < f->len; cut += step) {
            ckpt_error err;
            bool leak = false;
            int rc = run_rec(f->data, cut, NULL, NULL, &err, 0, &leak);
            if (rc == 0 || rc != err.code || leak || err.offset > cut) {
                fprintf(stderr, "%s cut at %zu: rc %d leak %d\n", f->name, cut, rc, leak);
                bad++;
                break;
            }
        }
    }
    free_fixtures(fx, n);
    CHECK_EQ_INT(bad, 0);
}

TEST(test_pickle_vm__byte_flips_sampled)
{
    size_t n = 0;
    fixture *fx = load_fixtures(&n);
    CHECK(fx);
    static const uint8_t flips[] = {0x01, 0x80, 0xff, 0x20};
    uint32_t rng = 12345;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        fixture *f = &fx[i];
        if (f->len == 0)
            continue;
        uint8_t *copy = malloc(f->len);
        for (int s = 0; s < 48; s++) {
            rng = rng * 1103515245u + 12345u;
            size_t off = (rng >> 8) % f->len;
            for (size_t k = 0; k < sizeof(flips); k++) {
                memcpy(copy, f->data, f->len);
                copy[off] ^= flips[k];
                ckpt_error err;
                char *got = NULL;
                bool leak = false;
                int rc = run_rec(copy, f->len, NULL, &got, &err, 0, &leak);
                free(got);
                if ((rc != 0 && rc != err.code) || leak) {
                    fprintf(stderr, "%s flip %zu^%02x: rc %d leak %d\n", f->name, off, flips[k],
                            rc, leak);
                    bad++;
                }
            }
        }
        free(copy);
    }
    free_fixtures(fx, n);
    CHECK_EQ_INT(bad, 0);
}

static void oom_sweep(const char *name, int *bad)
{
    char path[256];
    snprintf(path, sizeof(path), FIXDIR "/%s.pkl", name);
    size_t len;
    uint8_t *data = test_read_file(path, &len);
    if (!data) {
        (*bad)++;
        return;
    }
    for (long n = 1; n < 100000; n++) {
        ckpt_error err;
        char *got = NULL;
        bool leak = false;
        int rc = run_rec(data, len, NULL, &got, &err, n, &leak);
        free(got);
        if (leak) {
            fprintf(stderr, "%s: leak when allocation %ld fails\n", name, n);
            (*bad)++;
            break;
        }
        if (rc == 0)
            break;
        if (rc != CKPT_E_NOMEM) {
            fprintf(stderr, "%s: allocation %ld failed -> %s\n", name, n, ckpt_status_name(rc));
            (*bad)++;
            break;
        }
    }
    free(data);
}

TEST(test_pickle_vm__out_of_memory_sweep)
{
    int bad = 0;
    oom_sweep("p2_containers", &bad);
    oom_sweep("p4_objects", &bad);
    oom_sweep("p0_scalars", &bad);
    oom_sweep("p5_memo", &bad);
    oom_sweep("hand_unicode", &bad);
    CHECK_EQ_INT(bad, 0);
}

/* ---- helpers for hand-written streams -------------------------------------- */

typedef struct loaded {
    ckpt_doc *doc;
    ckpt_obj *o;
    ckpt_error err;
    call_log lg;
} loaded;

/* Load with recording hooks (rec = true) or none. */
static void load_bytes(loaded *L, const void *p, size_t n, bool rec, const ckpt_pickle_opts *opts)
{
    memset(L, 0, sizeof(*L));
    L->doc = ckpt_doc_new(NULL, &L->err);
    ckpt_pickle_hooks h = rec_hooks(&L->lg);
    L->o = ckpt_pickle_load(L->doc, p, n, rec ? &h : NULL, opts, NULL, &L->err);
}

#define LOAD(L, lit, rec) load_bytes((L), (lit), sizeof(lit) - 1, (rec), NULL)

static void done(loaded *L)
{
    ckpt_doc_free(L->doc);
}

/* ---- memo ------------------------------------------------------------------- */

TEST(test_pickle_vm__memo_shares_nodes)
{
    loaded L;
    LOAD(&L, "\x80\x02]q\x00h\x00h\x00\x86.", false); /* ([] q0, g0, g0) */
    CHECK(L.o && ckpt_obj_type(L.o) == CKPT_T_TUPLE && ckpt_obj_len(L.o) == 2);
    CHECK(ckpt_obj_item(L.o, 0) == ckpt_obj_item(L.o, 1));
    done(&L);
    /* PUT replaces; MEMOIZE uses the memo's length */
    LOAD(&L, "\x80\x04K\x01\x94K\x02\x94K\x03q\x00h\x00h\x01\x87.", false);
    CHECK(L.o && ckpt_obj_len(L.o) == 3);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_obj_item(L.o, 1)), 3);
    CHECK_EQ_INT(ckpt_obj_int(ckpt_obj_item(L.o, 2)), 2);
    done(&L);
}

TEST(test_pickle_vm__memo_sparse_huge_indices_stay_small)
{
    /* 2000 LONG_BINPUTs at indices spread over 0..2^32: memory must follow
     * the number of entries, not the largest index. */
    size_t cap = 2000 * 10 + 16;
    uint8_t *p = malloc(cap);
    size_t n = 0;
    p[n++] = 0x80;
    p[n++] = 2;
    p[n++] = 'N';
    for (uint32_t i = 0; i < 2000; i++) {
        uint32_t key = 0xffffffffu - i * 2147483u;
        p[n++] = 'r';
        memcpy(p + n, &key, 4); /* little-endian hosts only (as the library) */
        n += 4;
    }
    uint32_t last = 0xffffffffu - 1999u * 2147483u;
    p[n++] = 'j';
    memcpy(p + n, &last, 4);
    n += 4;
    p[n++] = '.';
    loaded L;
    load_bytes(&L, p, n, false, NULL);
    CHECK(L.o && ckpt_obj_type(L.o) == CKPT_T_NONE);
    CHECK(ckpt_doc_bytes(L.doc) < (1u << 20));
    done(&L);
    free(p);
}

TEST(test_pickle_vm__memo_errors)
{
    loaded L;
    LOAD(&L, "\x80\x02K\x01h\x02.", false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    CHECK(strstr(L.err.msg, "BINGET") && strstr(L.err.msg, "never stored"));
    CHECK_EQ_INT(L.err.offset, 4);
    CHECK_EQ_INT(L.err.where, CKPT_WHERE_PICKLE);
    done(&L);
    LOAD(&L, "\x80\x02j\x00\x00\x00\x80.", false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "\x80\x02q\x00.", false); /* BINPUT with an empty stack */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "p-1\n.", false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "Ng-1\n.", false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "Ng7\n.", false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
}

TEST(test_pickle_vm__billion_laughs_stays_small)
{
    /* l0 = [1]; l(k) = [l(k-1)] * 10, 30 levels: 10^30 leaves by expansion. */
    uint8_t p[1024];
    size_t n = 0;
    p[n++] = 0x80;
    p[n++] = 2;
    p[n++] = ']';
    p[n++] = 'q';
    p[n++] = 0;
    p[n++] = 'K';
    p[n++] = 1;
    p[n++] = 'a';
    for (int lvl = 1; lvl <= 30; lvl++) {
        p[n++] = '(';
        for (int k = 0; k < 10; k++) {
            p[n++] = 'h';
            p[n++] = (uint8_t)(lvl - 1);
        }
        p[n++] = 'l';
        p[n++] = 'q';
        p[n++] = (uint8_t)lvl;
    }
    p[n++] = '.';
    loaded L;
    load_bytes(&L, p, n, false, NULL);
    CHECK(L.o && ckpt_obj_type(L.o) == CKPT_T_LIST && ckpt_obj_len(L.o) == 10);
    CHECK(ckpt_doc_bytes(L.doc) < (1u << 20));
    CHECK(L.doc->node_count < 100);
    done(&L);
}

/* ---- marks and the stack ------------------------------------------------- */

TEST(test_pickle_vm__marks)
{
    loaded L;
    /* nested marks: ((1,(2,3)),) built with MARK/TUPLE */
    LOAD(&L, "((K\x01(K\x02K\x03ttt.", false);
    CHECK(L.o);
    char *s = canon_str(L.o);
    CHECK_STR(s, "((1,(2,3)))");
    free(s);
    done(&L);
    /* items below a mark are invisible to TUPLE1 */
    LOAD(&L, "K\x01(\x85.", false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    /* POP with nothing above the mark pops the mark (as CPython) */
    LOAD(&L, "K\x07(0.", false);
    CHECK(L.o && ckpt_obj_int(L.o) == 7);
    done(&L);
    /* POP_MARK without a mark */
    LOAD(&L,
         "K\x01"
         "1.",
         false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    /* STOP returns the top even with marks left */
    LOAD(&L, "K\x05(K\x06.", false);
    CHECK(L.o && ckpt_obj_int(L.o) == 6);
    done(&L);
    /* STOP right after a MARK: nothing above it */
    LOAD(&L, "K\x05(.", false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
}

TEST(test_pickle_vm__errors)
{
    loaded L;
    LOAD(&L, "\x80\x02K\x01\xfe.", false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT && L.err.offset == 4);
    CHECK(strstr(L.err.msg, "0xfe"));
    done(&L);
    LOAD(&L, "\x80\x02R.", false); /* underflow */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT && L.err.offset == 2);
    done(&L);
    LOAD(&L,
         "\x80\x02"
         "a.",
         false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "\x80\x02K\x01K\x02K\x03s.", false); /* SETITEM on an int */
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE && L.err.offset == 8);
    done(&L);
    LOAD(&L, "\x80\x02)K\x01K\x02s.", false); /* SETITEM on a tuple */
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE);
    done(&L);
    LOAD(&L, "\x80\x02]K\x01K\x02s.", false); /* SETITEM on a list */
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE);
    done(&L);
    LOAD(&L,
         "\x80\x02}K\x01"
         "a.",
         false); /* APPEND on a dict */
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE && strstr(L.err.msg, "APPEND"));
    done(&L);
    LOAD(&L,
         "\x80\x02X\x01\x00\x00\x00"
         "a(K\x01"
         "e.",
         false); /* APPENDS on a str */
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE);
    done(&L);
    LOAD(&L, "\x80\x04]K\x01K\x02\x90.", false); /* ADDITEMS without mark */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "\x80\x04](K\x01\x90.", false); /* ADDITEMS on a list */
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE);
    done(&L);
    LOAD(&L, "\x80\x04\x8f(]\x90.", false); /* unhashable set item */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "\x80\x02}(K\x01u.", false); /* odd SETITEMS */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "\x80\x02X\xff\xff\xff\xff.", false); /* length past the end */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "\x80\x04\x95\xff\x00\x00\x00\x00\x00\x00\x00N.", false); /* frame too long */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "\x80\x04K\x01K\x02\x93.", false); /* STACK_GLOBAL of ints */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L,
         "\x80\x02"
         "cos\nsys\0tem\n.",
         false); /* NUL in a global name */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "cos\nsystem", false); /* no end of line */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "\x80\x02K\x01K\x02\x81.", false); /* NEWOBJ args not a tuple */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "\x80\x02K\x01K\x02R.", false); /* REDUCE args not a tuple */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L,
         "\x80\x02"
         "1.",
         false); /* OBJ without class */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "(o.", true);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "S'abc\n.", false); /* unquoted STRING */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "S'\\x4'\n.", false); /* bad \x escape */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "V\\u12\n.", false); /* truncated \u escape */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "V\\U00110000\n.", false); /* beyond U+10FFFF */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "Fabc\n.", false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "I12x\n.", false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "I\n.", false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "\x80\x02T\x00\x00\x00\x80.", false); /* negative BINSTRING length */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    LOAD(&L, "\x80\x05\x97.", false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSUPPORTED);
    done(&L);
    LOAD(&L, "\x80\x05\x98.", false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSUPPORTED);
    done(&L);
    LOAD(&L, "", false);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
    /* bad arguments */
    ckpt_error err = {0};
    CHECK(!ckpt_pickle_load(NULL, (const uint8_t *)"N.", 2, NULL, NULL, NULL, &err));
    CHECK_EQ_INT(err.code, CKPT_E_ARG);
}

TEST(test_pickle_vm__ints_beyond_64_bits)
{
    loaded L;
    LOAD(&L, "\x80\x02\x8a\x08\x00\x00\x00\x00\x00\x00\x00\x80.", false);
    CHECK(L.o && ckpt_obj_int(L.o) == INT64_MIN);
    done(&L);
    LOAD(&L, "\x80\x02\x8a\x09\xff\xff\xff\xff\xff\xff\xff\x7f\x00.", false);
    CHECK(L.o && ckpt_obj_int(L.o) == INT64_MAX);
    done(&L);
    LOAD(&L, "\x80\x02\x8a\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff.", false);
    CHECK(L.o && ckpt_obj_int(L.o) == -1);
    done(&L);
    LOAD(&L, "\x80\x02\x8a\x00.", false);
    CHECK(L.o && ckpt_obj_type(L.o) == CKPT_T_INT && ckpt_obj_int(L.o) == 0);
    done(&L);
    /* 2^63 and -2^63-1 */
    LOAD(&L, "\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x80\x00.", false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSUPPORTED && L.err.offset == 2);
    done(&L);
    LOAD(&L, "\x80\x02\x8a\x09\xff\xff\xff\xff\xff\xff\xff\x7f\xff.", false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSUPPORTED);
    done(&L);
    LOAD(&L, "I9223372036854775808\n.", false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSUPPORTED);
    done(&L);
    LOAD(&L, "I-9223372036854775808\n.", false);
    CHECK(L.o && ckpt_obj_int(L.o) == INT64_MIN);
    done(&L);
    LOAD(&L, "\x80\x02\x8b\x00\x00\x00\x80.", false); /* negative LONG4 length */
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
}

TEST(test_pickle_vm__consumed_and_consecutive_pickles)
{
    const uint8_t two[] = "\x80\x02K\x01.\x80\x02K\x02.";
    ckpt_error err = {0};
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    size_t used = 0;
    ckpt_obj *a = ckpt_pickle_load(doc, two, sizeof(two) - 1, NULL, NULL, &used, &err);
    CHECK(a && ckpt_obj_int(a) == 1 && used == 5);
    ckpt_obj *b = ckpt_pickle_load(doc, two + used, sizeof(two) - 1 - used, NULL, NULL, &used,
                                   &err);
    CHECK(b && ckpt_obj_int(b) == 2 && used == 5);
    ckpt_doc_free(doc);
}

TEST(test_pickle_vm__bytes_strings_option)
{
    ckpt_pickle_opts o = {0};
    o.bytes_strings = true;
    loaded L;
    static const char bs[] = "U\x03"
                             "abcT\x01\x00\x00\x00\xff.";
    load_bytes(&L, bs, sizeof(bs) - 1, false, &o);
    CHECK(L.o && ckpt_obj_type(L.o) == CKPT_T_BYTES && ckpt_obj_len(L.o) == 1);
    done(&L);
    /* as str, the 0xff byte is not UTF-8 */
    load_bytes(&L, "T\x01\x00\x00\x00\xff.", 7, false, NULL);
    CHECK(!L.o && L.err.code == CKPT_E_FORMAT);
    done(&L);
}

/* ---- hooks ---------------------------------------------------------------- */

TEST(test_pickle_vm__default_hooks_refuse_calls)
{
    loaded L;
    LOAD(&L,
         "\x80\x02"
         "cos\nsystem\n.",
         false);
    CHECK(L.o && ckpt_obj_type(L.o) == CKPT_T_GLOBAL);
    CHECK_STR(ckpt_global_module(L.o), "os");
    CHECK_STR(ckpt_global_name(L.o), "system");
    done(&L);
    LOAD(&L,
         "\x80\x02"
         "cos\nsystem\nX\x02\x00\x00\x00ls\x85R.",
         false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE && L.err.offset == 21);
    CHECK(strstr(L.err.msg, "REDUCE"));
    done(&L);
    LOAD(&L,
         "\x80\x02"
         "cos\nsystem\n)\x81.",
         false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE && L.err.offset == 14);
    done(&L);
    LOAD(&L, "\x80\x02}}b.", false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE);
    done(&L);
    LOAD(&L, "\x80\x02NQ.", false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE);
    done(&L);
    LOAD(&L, "Pabc\n.", false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE);
    done(&L);
    LOAD(&L, "\x80\x02\x82\x01.", false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE);
    done(&L);
    LOAD(&L, "(ios\nsystem\n.", false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE);
    done(&L);
    LOAD(&L, "(cos\nsystem\no.", false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE);
    done(&L);
    LOAD(&L,
         "\x80\x04"
         "cos\nsystem\n)}\x92.",
         false);
    CHECK(!L.o && L.err.code == CKPT_E_UNSAFE);
    done(&L);
}

TEST(test_pickle_vm__hooks_called_with_op_and_offset)
{
    loaded L;
    /* 0 PROTO, 2 GLOBAL (13 bytes), 13 EMPTY_TUPLE, 14 REDUCE, 15 BINPUT... */
    LOAD(&L,
         "\x80\x02"
         "cmod\nfunc\n)R}b.",
         true);
    CHECK(L.o);
    CHECK_EQ_INT(L.lg.find_class, 1);
    CHECK_EQ_INT(L.lg.reduce, 1);
    CHECK_EQ_INT(L.lg.build, 1);
    CHECK_EQ_INT(L.lg.ops[0], CKPT_OP_GLOBAL);
    CHECK_EQ_INT(L.lg.offs[0], 2);
    CHECK_EQ_INT(L.lg.ops[1], CKPT_OP_REDUCE);
    CHECK_EQ_INT(L.lg.offs[1], 13);
    CHECK_EQ_INT(L.lg.ops[2], CKPT_OP_BUILD);
    CHECK_EQ_INT(L.lg.offs[2], 15);
    done(&L);

    /* STACK_GLOBAL, NEWOBJ, NEWOBJ_EX */
    LOAD(&L, "\x80\x04\x8c\x01m\x8c\x01n\x93)\x81\x8c\x01m\x8c\x01n\x93)}\x92\x86.", true);
    CHECK(L.o);
    CHECK_EQ_INT(L.lg.find_class, 2);
    CHECK_EQ_INT(L.lg.newobj, 2);
    CHECK_EQ_INT(L.lg.ops[0], CKPT_OP_STACK_GLOBAL);
    CHECK_EQ_INT(L.lg.offs[0], 8);
    CHECK_EQ_INT(L.lg.ops[1], CKPT_OP_NEWOBJ);
    CHECK_EQ_INT(L.lg.offs[1], 10);
    CHECK_EQ_INT(L.lg.ops[3], CKPT_OP_NEWOBJ_EX);
    CHECK_EQ_INT(L.lg.offs[3], 20);
    char *s = canon_str(L.o);
    CHECK_STR(s, "(<newobj|g:m.n|()|-|-|->,<newobj_ex|g:m.n|()|{}|-|->)");
    free(s);
    done(&L);

    /* INST, OBJ (protocol 0/1) */
    LOAD(&L, "((K\x01imod\nC\n(cmod\nC\nK\x02ot.", true);
    CHECK(L.o);
    CHECK_EQ_INT(L.lg.newobj, 2);
    CHECK_EQ_INT(L.lg.find_class, 2);
    CHECK_EQ_INT(L.lg.ops[0], CKPT_OP_INST); /* find_class for INST's class */
    CHECK_EQ_INT(L.lg.ops[1], CKPT_OP_INST);
    CHECK_EQ_INT(L.lg.offs[1], 4);
    CHECK_EQ_INT(L.lg.ops[2], CKPT_OP_GLOBAL);
    CHECK_EQ_INT(L.lg.ops[3], CKPT_OP_OBJ);
    CHECK_EQ_INT(L.lg.offs[3], 21);
    done(&L);

    /* PERSID, BINPERSID, EXT1/2/4 */
    LOAD(&L, "(Pk\nK\x05Q\x82\x07\x83\x00\x01\x84\x70\x11\x01\x00t.", true);
    CHECK(L.o);
    CHECK_EQ_INT(L.lg.persistent_load, 2);
    CHECK_EQ_INT(L.lg.ext, 3);
    CHECK_EQ_INT(L.lg.ops[0], CKPT_OP_PERSID);
    CHECK_EQ_INT(L.lg.offs[0], 1);
    CHECK_EQ_INT(L.lg.ops[1], CKPT_OP_BINPERSID);
    CHECK_EQ_INT(L.lg.offs[1], 6);
    CHECK_EQ_INT(L.lg.ops[2], CKPT_OP_EXT1);
    CHECK_EQ_INT(L.lg.ops[3], CKPT_OP_EXT2);
    CHECK_EQ_INT(L.lg.ops[4], CKPT_OP_EXT4);
    CHECK_EQ_INT(L.lg.offs[4], 12);
    s = canon_str(L.o);
    CHECK_STR(s, "(<persid|-|s:6b|-|-|->,<persid|-|5|-|-|->,<ext|-|7|-|-|->,<ext|-|256|-|-|->,"
                 "<ext|-|70000|-|-|->)");
    free(s);
    done(&L);
}

static ckpt_obj *failing_reduce(void *ctx, ckpt_doc *doc, ckpt_obj *callable, ckpt_obj *args,
                                int op, uint64_t off, ckpt_error *err)
{
    (void)ctx;
    (void)doc;
    (void)callable;
    (void)args;
    (void)op;
    (void)off;
    if (err) {
        err->code = CKPT_E_UNSAFE;
        snprintf(err->msg, sizeof(err->msg), "refused by hook");
    }
    return NULL;
}

static ckpt_obj *null_no_error(void *ctx, ckpt_doc *doc, ckpt_obj *pid, int op, uint64_t off,
                               ckpt_error *err)
{
    (void)ctx;
    (void)doc;
    (void)pid;
    (void)op;
    (void)off;
    (void)err;
    return NULL;
}

TEST(test_pickle_vm__hook_failures_propagate)
{
    ckpt_pickle_hooks h = {0};
    h.reduce = failing_reduce;
    h.persistent_load = null_no_error;
    ckpt_error err = {0};
    ckpt_doc *doc = ckpt_doc_new(NULL, &err);
    const char s1[] = "cmod\nf\n)R.";
    CHECK(!ckpt_pickle_load(doc, (const uint8_t *)s1, sizeof(s1) - 1, &h, NULL, NULL, &err));
    CHECK_EQ_INT(err.code, CKPT_E_UNSAFE);
    CHECK_STR(err.msg, "refused by hook");
    ckpt_error_clear(&err);
    /* a hook returning NULL without an error is reported, not ignored */
    const char s2[] = "NQ.";
    CHECK(!ckpt_pickle_load(doc, (const uint8_t *)s2, sizeof(s2) - 1, &h, NULL, NULL, &err));
    CHECK(err.code < 0);
    ckpt_doc_free(doc);
}

/* ---- limits ----------------------------------------------------------------- */

static uint8_t *repeat_stream(const char *head, const char *unit, size_t times, const char *tail,
                              size_t *len)
{
    size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
    uint8_t *p = malloc(hl + ul * times + tl);
    memcpy(p, head, hl);
    for (size_t i = 0; i < times; i++)
        memcpy(p + hl + i * ul, unit, ul);
    memcpy(p + hl + ul * times, tail, tl);
    *len = hl + ul * times + tl;
    return p;
}

TEST(test_pickle_vm__limits)
{
    ckpt_pickle_opts o = {0};
    loaded L;
    size_t len;
    uint8_t *p;

    o.max_depth = 4;
    p = repeat_stream("", "(", 4, "N.", &len);
    load_bytes(&L, p, len, false, &o);
    CHECK(L.o);
    done(&L);
    free(p);
    p = repeat_stream("", "(", 5, "N.", &len);
    load_bytes(&L, p, len, false, &o);
    CHECK(!L.o && L.err.code == CKPT_E_LIMIT && L.err.offset == 4);
    done(&L);
    free(p);
    /* default depth: 1000 */
    p = repeat_stream("", "(", 1001, "N.", &len);
    load_bytes(&L, p, len, false, NULL);
    CHECK(!L.o && L.err.code == CKPT_E_LIMIT);
    done(&L);
    free(p);

    o.max_depth = 0;
    o.max_objects = 100;
    p = repeat_stream("(", "N", 100, "l.", &len); /* 100 Nones + the list */
    load_bytes(&L, p, len, false, &o);
    CHECK(!L.o && L.err.code == CKPT_E_LIMIT);
    done(&L);
    free(p);
    p = repeat_stream("(", "N", 99, "l.", &len);
    load_bytes(&L, p, len, false, &o);
    CHECK(L.o && ckpt_obj_len(L.o) == 99);
    done(&L);
    free(p);
    /* memo references do not count as objects */
    p = repeat_stream("Nq\x01(", "h\x01", 1000, "l.", &len);
    load_bytes(&L, p, len, false, &o);
    CHECK(L.o && ckpt_obj_len(L.o) == 1000);
    done(&L);
    free(p);

    o.max_objects = 0;
    o.max_stack = 100;
    p = repeat_stream("Nq\x01", "h\x01", 99, "\x85.", &len); /* 100 entries */
    load_bytes(&L, p, len, false, &o);
    CHECK(L.o);
    done(&L);
    free(p);
    p = repeat_stream("Nq\x01", "h\x01", 100, "\x85.", &len); /* 101 entries */
    load_bytes(&L, p, len, false, &o);
    CHECK(!L.o && L.err.code == CKPT_E_LIMIT);
    done(&L);
    free(p);
}

TEST(test_pickle_vm__deeply_nested_tuple_key_does_not_crash)
{
    /* {((((None,),),)...): None} 1,000,000 levels deep: hashing a key must not
     * recurse without bound (clean error or success, never a stack overflow). */
    size_t len;
    uint8_t *p = repeat_stream("\x80\x02}N", "\x85", 1000000, "Ns.", &len);
    loaded L;
    load_bytes(&L, p, len, false, NULL);
    CHECK(L.o || L.err.code < 0);
    done(&L);
    free(p);
    /* also as a set item */
    p = repeat_stream("\x80\x04\x8f(N", "\x85", 1000000, "\x90.", &len);
    load_bytes(&L, p, len, false, NULL);
    CHECK(L.o || L.err.code < 0);
    done(&L);
    free(p);
}

TEST(test_pickle_vm__large_set_is_not_quadratic)
{
    /* 200,000 distinct ints added to a set: must finish in linear-ish time. */
    size_t n = 200000;
    uint8_t *p = malloc(n * 5 + 16);
    size_t len = 0;
    p[len++] = 0x80;
    p[len++] = 4;
    p[len++] = 0x8f;
    p[len++] = '(';
    for (uint32_t i = 0; i < n; i++) {
        p[len++] = 'J';
        memcpy(p + len, &i, 4);
        len += 4;
    }
    p[len++] = 0x90;
    p[len++] = '.';
    loaded L;
    load_bytes(&L, p, len, false, NULL);
    CHECK(L.o && ckpt_obj_len(L.o) == n);
    done(&L);
    free(p);
}

TEST_MAIN()
