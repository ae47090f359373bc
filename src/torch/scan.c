/* src/torch/scan.c - the pickle scanner: the loading VM in a recording mode,
 * over every pickle a file holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/scan.h"
#include "core/bytes.h"
#include "core/err.h"
#include "core/utf8.h"
#include "torch/tar.h"
#include "formats/formats_internal.h"
#include "onnx/onnx_scan.h"
#include "torch_internal.h"

typedef struct scanner {
    const char *file; /* the caller's label (a path for ckpt_scan_file) */
    const ckpt_scan_opts *opts;
    ckpt_scan_report *r;
    size_t cap;
    uint64_t inflated, max_inflated;
    uint64_t file_size; /* the outer file: memory budgets scale with it */
    uint32_t depth, max_depth;
    bool oom;
    bool unreadable;
} scanner;

/* One global named in a stream: its first finding and whether it was called.
 * Looked up by hash, so a pickle of many calls costs linear time. */
typedef struct gslot {
    uint64_t h;
    size_t idx; /* findings index + 1; 0 = empty slot */
    bool called;
} gslot;

typedef struct sctx {
    scanner *sc;
    const char *stream;
    size_t first; /* first finding of this stream */
    gslot *g;     /* open-addressing table of the stream's globals */
    size_t gcap, gn;
    ckpt_obj **made; /* every object the hooks made, judged after the run */
    size_t nmade, capmade;
} sctx;

static int scan_buffer(scanner *sc, const char *label, const uint8_t *buf, size_t n);

/* ------------------------------------------------------------- findings */

static ckpt_scan_finding *add(scanner *sc, const char *stream, uint64_t off, int op,
                              const char *module, const char *name, int klass, const char *note)
{
    ckpt_scan_report *r = sc->r;
    if (r->count == sc->cap) {
        size_t ncap = sc->cap ? sc->cap * 2 : 32;
        if (ncap > 200000) { /* a bounded report: a hostile file cannot make it huge */
            sc->unreadable = true;
            return NULL;
        }
        ckpt_scan_finding *nf = realloc(r->findings, ncap * sizeof(*nf));
        if (!nf) {
            sc->oom = true;
            return NULL;
        }
        r->findings = nf;
        sc->cap = ncap;
    }
    ckpt_scan_finding *f = &r->findings[r->count++];
    memset(f, 0, sizeof(*f));
    snprintf(f->stream, sizeof(f->stream), "%s", stream);
    f->offset = off;
    f->opcode = op;
    snprintf(f->module, sizeof(f->module), "%s", module);
    snprintf(f->name, sizeof(f->name), "%s", name);
    f->klass = klass;
    if (note)
        snprintf(f->note, sizeof(f->note), "%s", note);
    if (klass != CKPT_SCAN_ALLOWED && r->verdict == CKPT_SCAN_CLEAN)
        r->verdict = CKPT_SCAN_UNSAFE;
    return f;
}

/* Known to run code, touch the file system, the network or other processes. */
static const char *danger(const char *module, const char *name)
{
    static const char *const mods[] = {
        "os",
        "posix",
        "nt",
        "subprocess",
        "sys",
        "socket",
        "shutil",
        "pickle",
        "_pickle",
        "cPickle",
        "marshal",
        "importlib",
        "ctypes",
        "webbrowser",
        "pty",
        "code",
        "codeop",
        "runpy",
        "commands",
        "popen2",
        "_posixsubprocess",
        "multiprocessing",
        "asyncio",
        "urllib",
        "urllib2",
        "requests",
        "http",
        "httplib",
        "ftplib",
        "telnetlib",
        "smtplib",
        "signal",
        "pdb",
        "bdb",
        "timeit",
        "cProfile",
        "profile",
        "trace",
        "imp",
        "zipimport",
        "pip",
        "setuptools",
        "distutils",
        "dill",
        "cloudpickle",
        "joblib",
        "shelve",
        "tempfile",
        "glob",
        "io",
        "_io",
        "pathlib",
        "threading",
        "_thread",
        "thread",
        "ssl",
        "select",
        "selectors",
        "gc",
        "inspect",
        "types",
        "site",
        "sysconfig",
        "builtins.open",
        "numpy.testing",
        "torch.hub",
        "torch._C",
        "torch._dynamo",
        "torch.ops",
        "torch.package",
        "torch.utils.cpp_extension",
    };
    for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++) {
        size_t l = strlen(mods[i]);
        if (strncmp(module, mods[i], l) == 0 && (module[l] == '\0' || module[l] == '.'))
            return "module runs code or reaches files, processes or the network";
    }
    if (strcmp(module, "builtins") == 0) {
        static const char *const names[] = {
            "eval",        "exec",
            "execfile",    "compile",
            "getattr",     "setattr",
            "delattr",     "__import__",
            "open",        "breakpoint",
            "input",       "globals",
            "locals",      "vars",
            "apply",       "exit",
            "quit",        "help",
            "memoryview",  "type",
            "object",      "super",
            "classmethod", "staticmethod",
            "property",    "__build_class__",
        };
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
            if (strcmp(name, names[i]) == 0)
                return "builtin that evaluates code or reaches attributes and files";
    }
    if (strcmp(module, "operator") == 0 || strcmp(module, "_operator") == 0)
        if (strcmp(name, "attrgetter") == 0 || strcmp(name, "methodcaller") == 0 ||
            strcmp(name, "getitem") == 0 || strcmp(name, "setitem") == 0 ||
            strcmp(name, "call") == 0)
            return "operator that reaches attributes or calls methods";
    if (strcmp(module, "functools") == 0 &&
        (strcmp(name, "partial") == 0 || strcmp(name, "reduce") == 0))
        return "builds calls of other callables";
    if (strcmp(module, "torch") == 0 && strcmp(name, "load") == 0)
        return "nested torch.load";
    if (strcmp(module, "torch.jit") == 0 || strncmp(module, "torch.jit.", 10) == 0) {
        if (strcmp(module, "torch.jit._pickle") != 0)
            return "TorchScript loader or compiler (runs code)";
    }
    if (strcmp(module, "torch.serialization") == 0 && strcmp(name, "_get_layout") != 0)
        return "torch.serialization internals (nested loads)";
    if (strcmp(module, "torch.storage") == 0 && strcmp(name, "_load_from_bytes") == 0)
        return "nested torch.load of a byte string";
    return NULL;
}

static bool user_safe(const scanner *sc, const char *module, const char *name)
{
    if (!sc->opts)
        return false;
    size_t ml = strlen(module);
    for (size_t i = 0; i < sc->opts->safe_global_count; i++) {
        const char *g = sc->opts->safe_globals[i];
        if (g && strncmp(g, module, ml) == 0 && g[ml] == '.' && strcmp(g + ml + 1, name) == 0)
            return true;
    }
    return false;
}

static int classify(const scanner *sc, const char *module, const char *name, const char **note)
{
    bool allowed, blocked;
    *note = NULL;
    ckpt__torch_global_id(module, name, &allowed, &blocked);
    /* pickle and torch.load are never allowed, whatever the caller says */
    const char *d = danger(module, name);
    if (allowed)
        return CKPT_SCAN_ALLOWED;
    if (!d && user_safe(sc, module, name))
        return CKPT_SCAN_ALLOWED;
    if (d || blocked) {
        *note = d ? d : "module is blocked by torch's weights-only unpickler";
        return CKPT_SCAN_DANGEROUS;
    }
    *note = "not on the weights-only allowlist";
    return CKPT_SCAN_UNKNOWN;
}

static uint64_t gkey(const char *m, const char *n)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = m; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *p = n; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    return h;
}

/* The slot of module.name in this stream's table (NULL: not there, or out of memory
 * when `insert`).  Findings are compared by text, so a hash collision is harmless. */
static gslot *gfind(sctx *c, const char *m, const char *n, bool insert)
{
    if (insert && (c->gn + 1) * 2 > c->gcap) {
        size_t ncap = c->gcap ? c->gcap * 2 : 64;
        gslot *ng = calloc(ncap, sizeof(*ng));
        if (!ng) {
            c->sc->oom = true;
            return NULL;
        }
        for (size_t i = 0; i < c->gcap; i++) {
            if (!c->g[i].idx)
                continue;
            size_t j = (size_t)c->g[i].h & (ncap - 1);
            while (ng[j].idx)
                j = (j + 1) & (ncap - 1);
            ng[j] = c->g[i];
        }
        free(c->g);
        c->g = ng;
        c->gcap = ncap;
    }
    if (!c->gcap)
        return NULL;
    uint64_t h = gkey(m, n);
    size_t j = (size_t)h & (c->gcap - 1);
    while (c->g[j].idx) {
        const ckpt_scan_finding *f = &c->sc->r->findings[c->g[j].idx - 1];
        if (c->g[j].h == h && strcmp(f->module, m) == 0 && strcmp(f->name, n) == 0)
            return &c->g[j];
        j = (j + 1) & (c->gcap - 1);
    }
    if (!insert)
        return NULL;
    c->g[j].h = h;
    c->gn++;
    return &c->g[j]; /* the caller sets idx */
}

/* Remember the finding just added for module.name (first one wins). */
static void gremember(sctx *c, const char *m, const char *n)
{
    if (c->sc->r->count == 0)
        return;
    gslot *s = gfind(c, m, n, true);
    if (s && !s->idx)
        s->idx = c->sc->r->count;
}

/* Mark every finding of this global in this stream as called (at the end of the
 * stream, see called_pass); add one if none. */
static void mark_called(sctx *c, const ckpt_obj *g, int op, uint64_t off)
{
    scanner *sc = c->sc;
    const char *m = ckpt_global_module(g), *n = ckpt_global_name(g);
    if (!m || !n)
        return;
    const char *note;
    int klass = classify(sc, m, n, &note);
    if (klass == CKPT_SCAN_ALLOWED)
        return;
    gslot *s = gfind(c, m, n, false);
    if (s) {
        s->called = true;
        sc->r->findings[s->idx - 1].called = true;
        return;
    }
    ckpt_scan_finding *f = add(sc, c->stream, off, op, m, n, klass, note);
    if (f) {
        f->called = true;
        gremember(c, m, n);
        if ((s = gfind(c, m, n, false)))
            s->called = true;
    }
}

/* Every finding of a called global in this stream is marked called: one pass. */
static void called_pass(sctx *c)
{
    for (size_t i = c->first; c->gcap && i < c->sc->r->count; i++) {
        ckpt_scan_finding *f = &c->sc->r->findings[i];
        if (f->called || f->module[0] == '<')
            continue;
        gslot *s = gfind(c, f->module, f->name, false);
        if (s && s->called)
            f->called = true;
    }
}

/* A call weights-only mode refuses although the global is allowlisted. */
static void refused_call(sctx *c, const ckpt_obj *g, int op, uint64_t off, const char *why)
{
    const char *m = ckpt_global_module(g), *n = ckpt_global_name(g);
    if (!m || !n || user_safe(c->sc, m, n))
        return;
    ckpt_scan_finding *f = add(c->sc, c->stream, off, op, m, n, CKPT_SCAN_UNKNOWN, why);
    if (f)
        f->called = true;
}

/* ---------------------------------------------------------------- hooks */

/* An object made by a hook.  Each is remembered so that SETITEM/APPEND on it
 * is judged after the run whether or not it stays reachable from the root. */
static ckpt_obj *opaque(sctx *c, ckpt_doc *doc, ckpt_obj *cls, ckpt_obj *args, const char *how)
{
    ckpt_obj *o = ckpt__node(doc, CKPT_T_OBJECT);
    if (!o || !(o->u.obj = ckpt__arena_calloc(&doc->arena, sizeof(ckpt__object))))
        return NULL;
    o->u.obj->cls = cls;
    o->u.obj->args = args;
    o->u.obj->how = how;
    if (c->nmade == c->capmade) {
        size_t ncap = c->capmade ? c->capmade * 2 : 64;
        ckpt_obj **nm = realloc(c->made, ncap * sizeof(*nm));
        if (!nm) {
            c->sc->oom = true;
            return NULL;
        }
        c->made = nm;
        c->capmade = ncap;
    }
    c->made[c->nmade++] = o;
    return o;
}

/* SETITEM/APPEND/SETITEMS/APPENDS into an object the VM did not make as a dict
 * or list (a tensor, a storage, the result of a call) writes into it: the
 * weights-only loader refuses it, so it is never clean. */
static void judge_made(sctx *c)
{
    for (size_t i = 0; i < c->nmade; i++) {
        const ckpt__object *ob = c->made[i]->u.obj;
        if (!ob->items)
            continue;
        const char *m = ob->cls ? ckpt_global_module(ob->cls) : NULL;
        const char *nm = ob->cls ? ckpt_global_name(ob->cls) : NULL;
        ckpt_scan_finding *f =
            add(c->sc, c->stream, 0, 0, m ? m : "?", nm ? nm : "<object>", CKPT_SCAN_UNKNOWN,
                "SETITEM/APPEND on an object the VM did not create as a dict or list "
                "(CVE-2026-24747 write primitive)");
        if (f)
            f->called = true;
    }
}

static ckpt_obj *k_find_class(void *ctx, ckpt_doc *doc, const char *module, const char *name,
                              int op, uint64_t off, ckpt_error *err)
{
    sctx *c = ctx;
    (void)err;
    const char *mod = ckpt__py3_module(module);
    const char *note;
    int klass = classify(c->sc, mod, name, &note);
    if (add(c->sc, c->stream, off, op, mod, name, klass, note))
        gremember(c, mod, name);
    ckpt_obj *g = ckpt_global_new(doc, mod, name);
    if (g) {
        bool allowed, blocked;
        g->u.g.id = ckpt__torch_global_id(mod, name, &allowed, &blocked);
    }
    return g;
}

/* bytes from _codecs.encode(str, 'latin1'), so nested payloads can be scanned */
static ckpt_obj *encode_latin1(ckpt_doc *doc, const ckpt_obj *args)
{
    if (args->u.seq.n < 1 || args->u.seq.items[0]->type != CKPT_T_STR)
        return NULL;
    const ckpt_obj *t = args->u.seq.items[0];
    uint8_t *buf = ckpt__arena_alloc(&doc->arena, t->u.s.n + 1);
    if (!buf)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < t->u.s.n;) {
        uint32_t cp;
        size_t l = ckpt_utf8_get((const uint8_t *)t->u.s.p + i, t->u.s.n - i, &cp);
        if (l == 0)
            return NULL;
        buf[o++] = (uint8_t)cp; /* non-latin1 code points truncated: still scannable */
        i += l;
    }
    return ckpt_bytes_new(doc, buf, o);
}

static ckpt_obj *k_reduce(void *ctx, ckpt_doc *doc, ckpt_obj *callable, ckpt_obj *args, int op,
                          uint64_t off, ckpt_error *err)
{
    sctx *c = ctx;
    (void)err;
    if (callable->type == CKPT_T_GLOBAL) {
        mark_called(c, callable, op, off);
        const char *why = ckpt__wo_reduce_refusal(callable->u.g.id, args->u.seq.n);
        if (why && callable->u.g.id != TG_UNKNOWN)
            refused_call(c, callable, op, off, why);
        /* containers torch's loader builds for these are dicts the VM may fill */
        if (callable->u.g.id == TG_ORDERED_DICT)
            return ckpt_dict_new(doc, CKPT_DICT_ORDERED);
        if (callable->u.g.id == TG_COUNTER)
            return ckpt_dict_new(doc, CKPT_DICT_COUNTER);
        if (callable->u.g.id == TG_CODECS_ENCODE) {
            ckpt_obj *b = encode_latin1(doc, args);
            if (b)
                return b;
        }
        if (strcmp(callable->u.g.module, "torch.storage") == 0 &&
            strcmp(callable->u.g.name, "_load_from_bytes") == 0 && args->u.seq.n >= 1 &&
            args->u.seq.items[0]->type == CKPT_T_BYTES) {
            char label[192];
            snprintf(label, sizeof(label), "%.120s>_load_from_bytes@%llu", c->stream,
                     (unsigned long long)off);
            const ckpt_obj *b = args->u.seq.items[0];
            scan_buffer(c->sc, label, (const uint8_t *)b->u.s.p, b->u.s.n);
        }
    } else {
        char what[64];
        snprintf(what, sizeof(what), "<result of a %s>", ckpt_type_name(callable->type));
        ckpt_scan_finding *f = add(c->sc, c->stream, off, op, "?", what, CKPT_SCAN_UNKNOWN,
                                   "calls an object built by the pickle (getattr chains)");
        if (f)
            f->called = true;
    }
    return opaque(c, doc, callable, args, "reduce");
}

static ckpt_obj *k_newobj(void *ctx, ckpt_doc *doc, ckpt_obj *cls, ckpt_obj *args,
                          ckpt_obj *kwargs, int op, uint64_t off, ckpt_error *err)
{
    sctx *c = ctx;
    (void)err;
    (void)kwargs;
    if (cls->type == CKPT_T_GLOBAL) {
        mark_called(c, cls, op, off);
        const char *why = ckpt__wo_newobj_refusal(cls->u.g.id, op, args ? args->u.seq.n : 0,
                                                  kwargs != NULL);
        if (why && cls->u.g.id != TG_UNKNOWN)
            refused_call(c, cls, op, off, why);
    } else {
        ckpt_scan_finding *f = add(c->sc, c->stream, off, op, "?", "<non-class object>",
                                   CKPT_SCAN_UNKNOWN,
                                   "instantiates an object built by the pickle");
        if (f)
            f->called = true;
    }
    return opaque(c, doc, cls, args, "newobj");
}

static int k_build(void *ctx, ckpt_doc *doc, ckpt_obj *obj, ckpt_obj *state, int op, uint64_t off,
                   ckpt_error *err)
{
    sctx *c = ctx;
    (void)doc;
    (void)err;
    if (obj->type == CKPT_T_DICT) {
        /* OrderedDict __dict__ update: the only BUILD torch itself writes */
        const char *why = ckpt__wo_build_dict_refusal(obj->u.dict->kind);
        if (why) {
            ckpt_scan_finding *f = add(c->sc, c->stream, off, op, "?",
                                       obj->u.dict->kind == CKPT_DICT_COUNTER ? "Counter"
                                                                              : "dict",
                                       CKPT_SCAN_UNKNOWN, why);
            if (f)
                f->called = true;
        }
        return 0;
    }
    if (obj->type == CKPT_T_GLOBAL) {
        ckpt_scan_finding *f =
            add(c->sc, c->stream, off, op, obj->u.g.module, obj->u.g.name, CKPT_SCAN_DANGEROUS,
                "BUILD on an imported module or class rewrites its attributes");
        if (f)
            f->called = true;
        return 0;
    }
    if (obj->type == CKPT_T_OBJECT) {
        obj->u.obj->state = state;
        const ckpt_obj *cls = obj->u.obj->cls;
        if (cls && cls->type == CKPT_T_GLOBAL) {
            const char *note;
            int klass = classify(c->sc, cls->u.g.module, cls->u.g.name, &note);
            if (klass != CKPT_SCAN_ALLOWED) {
                mark_called(c, cls, op, off);
            } else if (cls->u.g.id != TG_ORDERED_DICT && cls->u.g.id != TG_COUNTER) {
                ckpt_scan_finding *f = add(c->sc, c->stream, off, op, cls->u.g.module,
                                           cls->u.g.name, CKPT_SCAN_UNKNOWN,
                                           "BUILD runs __setstate__ of an allowlisted class");
                if (f)
                    f->called = true;
            }
        }
        return 0;
    }
    ckpt_scan_finding *f = add(c->sc, c->stream, off, op, "?", ckpt_type_name(obj->type),
                               CKPT_SCAN_UNKNOWN, "BUILD on a value the pickle did not create");
    if (f)
        f->called = true;
    return 0;
}

static ckpt_obj *k_persistent(void *ctx, ckpt_doc *doc, ckpt_obj *pid, int op, uint64_t off,
                              ckpt_error *err)
{
    sctx *c = ctx;
    (void)err;
    bool storage = pid->type == CKPT_T_TUPLE && pid->u.seq.n >= 1 &&
                   pid->u.seq.items[0]->type == CKPT_T_STR &&
                   strcmp(pid->u.seq.items[0]->u.s.p, "storage") == 0;
    bool module = pid->type == CKPT_T_TUPLE && pid->u.seq.n >= 2 &&
                  pid->u.seq.items[0]->type == CKPT_T_STR &&
                  strcmp(pid->u.seq.items[0]->u.s.p, "module") == 0;
    /* the pre-1.0 tar format names storages and tensors by decimal key */
    bool tar_key = pid->type == CKPT_T_STR && pid->u.s.n > 0 &&
                   strspn(pid->u.s.p, "0123456789") == pid->u.s.n;
    bool tar_module = pid->type == CKPT_T_TUPLE && pid->u.seq.n == 3 &&
                      pid->u.seq.items[0]->type == CKPT_T_GLOBAL;
    if (!storage && !module && !tar_key && !tar_module)
        add(c->sc, c->stream, off, op, "?", "persistent id", CKPT_SCAN_UNKNOWN,
            "persistent id that is not a torch storage");
    if (module || tar_module) {
        /* a whole-module pickle: torch imports the class (weights-only refuses it) */
        const ckpt_obj *cls = pid->u.seq.items[module ? 1 : 0];
        const char *m = ckpt_global_module(cls), *nm = ckpt_global_name(cls);
        if (!(m && nm && user_safe(c->sc, m, nm))) {
            ckpt_scan_finding *f = add(c->sc, c->stream, off, op, m ? m : "?", nm ? nm : "?",
                                       CKPT_SCAN_UNKNOWN,
                                       "class of a whole-module pickle (persistent id)");
            if (f)
                f->called = true;
        }
    }
    return opaque(c, doc, NULL, pid, "persistent");
}

static ckpt_obj *k_ext(void *ctx, ckpt_doc *doc, int64_t code, int op, uint64_t off,
                       ckpt_error *err)
{
    sctx *c = ctx;
    (void)err;
    char name[64];
    snprintf(name, sizeof(name), "extension code %lld", (long long)code);
    add(c->sc, c->stream, off, op, "copyreg", name, CKPT_SCAN_DANGEROUS,
        "copyreg extension registry: resolves to any global the loading process registered");
    return ckpt_global_new(doc, "copyreg", name);
}

/* ------------------------------------------------------- nested payloads */

static bool looks_nested(const uint8_t *p, size_t n)
{
    if (n >= 2 && p[0] == 0x80 && p[1] <= 5)
        return true;
    if (n >= 4 && memcmp(p, "PK\x03\x04", 4) == 0)
        return true;
    return false;
}

typedef struct seen {
    const ckpt_obj **p;
    size_t cap, n;
} seen;

static bool seen_add(seen *s, const ckpt_obj *o)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t ncap = s->cap ? s->cap * 2 : 1024;
        const ckpt_obj **np = calloc(ncap, sizeof(*np));
        if (!np)
            return false;
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->p[i])
                continue;
            size_t h = ((uintptr_t)s->p[i] >> 4) & (ncap - 1);
            while (np[h])
                h = (h + 1) & (ncap - 1);
            np[h] = s->p[i];
        }
        free(s->p);
        s->p = np;
        s->cap = ncap;
    }
    size_t h = ((uintptr_t)o >> 4) & (s->cap - 1);
    while (s->p[h]) {
        if (s->p[h] == o)
            return false;
        h = (h + 1) & (s->cap - 1);
    }
    s->p[h] = o;
    s->n++;
    return true;
}

/* Find bytes values in the tree that hold a pickle or a zip and scan them. */
static void nested(scanner *sc, const char *stream, const ckpt_obj *o, seen *s, int depth)
{
    if (!o || depth > 2000 || s->n > 4000000 || !seen_add(s, o))
        return;
    switch (o->type) {
    case CKPT_T_BYTES:
    case CKPT_T_BYTEARRAY:
        if (looks_nested((const uint8_t *)o->u.s.p, o->u.s.n)) {
            char label[192];
            snprintf(label, sizeof(label), "%.150s>bytes", stream);
            scan_buffer(sc, label, (const uint8_t *)o->u.s.p, o->u.s.n);
        }
        break;
    case CKPT_T_TUPLE:
    case CKPT_T_LIST:
    case CKPT_T_SET:
        for (size_t i = 0; i < o->u.seq.n; i++)
            nested(sc, stream, o->u.seq.items[i], s, depth + 1);
        break;
    case CKPT_T_DICT:
        for (size_t i = 0; i < o->u.dict->n; i++) {
            nested(sc, stream, o->u.dict->keys[i], s, depth + 1);
            nested(sc, stream, o->u.dict->vals[i], s, depth + 1);
        }
        if (o->u.dict->attrs)
            nested(sc, stream, o->u.dict->attrs, s, depth + 1);
        break;
    case CKPT_T_OBJECT:
        /* writes into the object were judged when the pickle ran (judge_made) */
        nested(sc, stream, o->u.obj->args, s, depth + 1);
        nested(sc, stream, o->u.obj->state, s, depth + 1);
        nested(sc, stream, o->u.obj->items, s, depth + 1);
        nested(sc, stream, o->u.obj->kwargs, s, depth + 1);
        break;
    default: break;
    }
}

/* ------------------------------------------------------------- streams */

static void mark_unreadable(scanner *sc, const ckpt_error *e, const char *stream)
{
    sc->unreadable = true;
    if (sc->r->error.code == 0) {
        sc->r->error = *e;
        if (!sc->r->error.member[0])
            snprintf(sc->r->error.member, sizeof(sc->r->error.member), "%.120s", stream);
    }
}

/* Scan one pickle at buf; *consumed = bytes used.  Returns the root (in doc) or NULL. */
static const ckpt_obj *scan_pickle(scanner *sc, ckpt_doc *doc, const char *stream,
                                   const uint8_t *buf, size_t n, size_t *consumed)
{
    sctx c;
    memset(&c, 0, sizeof(c));
    c.sc = sc;
    c.stream = stream;
    c.first = sc->r->count;
    ckpt_pickle_hooks h;
    memset(&h, 0, sizeof(h));
    h.ctx = &c;
    h.find_class = k_find_class;
    h.reduce = k_reduce;
    h.newobj = k_newobj;
    h.build = k_build;
    h.persistent_load = k_persistent;
    h.ext = k_ext;
    ckpt_pickle_opts po;
    memset(&po, 0, sizeof(po));
    po.name = stream;
    po.big_ints = true;
    /* Bounded cost: a pickle opcode makes at most one node, plus the hooks' own,
     * so nodes beyond a few per input byte mean a hostile document. */
    po.max_objects = ckpt__pickle_node_budget(n, sc->file_size);
    ckpt_error e;
    ckpt_error_clear(&e);
    sc->r->pickles++;
    const ckpt_obj *root = ckpt_pickle_load(doc, buf, n, &h, &po, consumed, &e);
    /* what ran before an error counts: Python has already run those calls */
    judge_made(&c);
    called_pass(&c);
    free(c.g);
    free(c.made);
    if (!root) {
        mark_unreadable(sc, &e, stream);
        return NULL;
    }
    if (sc->depth < sc->max_depth) {
        seen s = {NULL, 0, 0};
        sc->depth++;
        nested(sc, stream, root, &s, 0);
        sc->depth--;
        free(s.p);
    }
    return root;
}

static bool is_bigint_magic(const ckpt_obj *o)
{
    static const uint8_t magic[] = {0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19};
    if (!o || o->type != CKPT_T_OBJECT || !o->u.obj->how || strcmp(o->u.obj->how, "bigint") != 0)
        return false;
    const ckpt_obj *b = o->u.obj->args->u.seq.items[0];
    return b->u.s.n == sizeof(magic) && memcmp(b->u.s.p, magic, sizeof(magic)) == 0;
}

/* sys_info must be a dict of exactly the expected literal shape */
static bool is_sys_info(const ckpt_obj *o)
{
    if (!o || o->type != CKPT_T_DICT || o->u.dict->kind != CKPT_DICT_PLAIN || o->u.dict->n != 3)
        return false;
    const ckpt_obj *pv = ckpt_dict_get(o, "protocol_version");
    const ckpt_obj *le = ckpt_dict_get(o, "little_endian");
    const ckpt_obj *ts = ckpt_dict_get(o, "type_sizes");
    if (!pv || pv->type != CKPT_T_INT || pv->u.i != 1001 || !le || le->type != CKPT_T_BOOL ||
        !ts || ts->type != CKPT_T_DICT || ts->u.dict->n > 3)
        return false;
    for (size_t i = 0; i < ts->u.dict->n; i++)
        if (ts->u.dict->keys[i]->type != CKPT_T_STR || ts->u.dict->vals[i]->type != CKPT_T_INT)
            return false;
    return true;
}

/* A stream of pickles: legacy torch file (5 pickles, then raw storages) or raw pickles. */
static int scan_pickles(scanner *sc, const char *label, const uint8_t *buf, size_t n)
{
    /* Bounded memory: a document may use a few times the bytes it was read from
     * (a floor for small pickles, a ceiling for all) - a member of a million empty
     * lists fails here instead of growing to the global limit. */
    uint64_t budget = (uint64_t)n * 16 + (16u << 20);
    uint64_t by_file = sc->file_size * 64 + (64u << 20); /* a deflated member counts too */
    if (by_file < budget)
        budget = by_file;
    ckpt_doc *doc = ckpt__doc_new(NULL, budget < (512u << 20) ? budget : (512u << 20));
    if (!doc) {
        sc->oom = true;
        return -1;
    }
    char stream[192];
    size_t pos = 0, used = 0;
    const ckpt_obj *first[3] = {NULL, NULL, NULL};
    int idx = 0;
    bool legacy = false;
    while (pos < n) {
        snprintf(stream, sizeof(stream), "%.150s%spickle %d", label, label[0] ? ":" : "",
                 idx + 1);
        size_t before = sc->r->count;
        const ckpt_obj *root = scan_pickle(sc, doc, stream, buf + pos, n - pos, &used);
        if (!root)
            break;
        (void)before;
        if (idx < 3)
            first[idx] = root;
        pos += used;
        idx++;
        if (idx == 3) {
            legacy = is_bigint_magic(first[0]) && first[1]->type == CKPT_T_INT &&
                     first[1]->u.i == 1001 && is_sys_info(first[2]);
        }
        if (legacy && idx == 5) {
            if (sc->r->format[0] == '\0')
                snprintf(sc->r->format, sizeof(sc->r->format), "legacy torch.save stream");
            break; /* the rest is raw storage bytes */
        }
        if (idx == 1 && !(first[0] && is_bigint_magic(first[0])) && pos < n) {
            /* a raw pickle: torch and pickle.load stop here; trailing bytes are
             * reported (a polyglot or garbage after the payload) */
            if (n - pos >= 4 && memcmp(buf + pos, "PK\x03\x04", 4) == 0) {
                add(sc, label[0] ? label : "file", pos, 0, "<file>",
                    "zip archive appended after a pickle", CKPT_SCAN_UNKNOWN,
                    "polyglot: torch.load reads it as a legacy pickle");
            }
        }
        if (idx > 64)
            break;
    }
    if (idx >= 1 && idx < 5 && first[0] && is_bigint_magic(first[0]) && !sc->unreadable)
        mark_unreadable(sc,
                        &(ckpt_error){.code = CKPT_E_FORMAT,
                                      .msg = "legacy torch file ends before its object pickle"},
                        label);
    if (idx >= 3 && first[0] && is_bigint_magic(first[0]) && !legacy) {
        add(sc, label[0] ? label : "file", 0, 0, "<file>", "malformed legacy header",
            CKPT_SCAN_UNKNOWN, "protocol or sys_info pickle is not the literal torch writes");
    }
    if (sc->r->format[0] == '\0')
        snprintf(sc->r->format, sizeof(sc->r->format), "pickle");
    ckpt_doc_free(doc);
    return 0;
}

static int scan_npy(scanner *sc, const char *label, const uint8_t *buf, size_t n)
{
    /* the header is parsed as numpy parses it: any spelling of an object dtype
     * (or one ckpt cannot judge) means the data is a pickle, never skipped */
    ckpt_npy_header h;
    char why[128];
    if (ckpt__npy_header_parse(buf, n, &h, why, sizeof(why)) != CKPT_NPY_OK) {
        ckpt_error e;
        ckpt_error_clear(&e);
        CKPT_FAIL_AT(&e, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, 0, "%s", why);
        mark_unreadable(sc, &e, label);
        return 0;
    }
    if (h.has_object) {
        char l2[192];
        snprintf(l2, sizeof(l2), "%.150s(object array)", label);
        return scan_pickles(sc, l2, buf + h.data_offset, n - h.data_offset);
    }
    /* plain data: a file cut short of the bytes its shape declares is not clean */
    ckpt_error e;
    ckpt_error_clear(&e);
    bool swap;
    uint64_t nbytes;
    if (ckpt__npy_layout(buf, n, NULL, &h, &swap, &nbytes, &e) < 0 &&
        (e.code == CKPT_E_FORMAT || e.code == CKPT_E_LIMIT))
        mark_unreadable(sc, &e, label);
    return 0;
}

/* Bytes that are data unless they hold whole pickles: scan them, and when they
 * do not parse, forget that attempt (the findings, the count, the error). */
static void scan_whole_pickles(scanner *sc, const char *stream, const uint8_t *p, size_t len)
{
    size_t before = sc->r->count, pickles = sc->r->pickles;
    bool was = sc->unreadable;
    ckpt_error saved = sc->r->error;
    int verdict = sc->r->verdict;
    scan_pickles(sc, stream, p, len);
    if (sc->unreadable && !was) {
        sc->r->count = before;
        sc->r->pickles = pickles;
        sc->unreadable = false;
        sc->r->error = saved;
        sc->r->verdict = verdict;
    }
}

/* What the archive is, for the report (the detector's names, detect.c). */
static const char *zip_format_name(const ckpt_zip *z, bool ts)
{
    if (ts)
        return ckpt_zip_find(z, "bytecode.pkl") ? "TorchScript lite archive"
                                                : "TorchScript archive";
    if (ckpt_zip_find(z, "data.pkl"))
        return "torch zip";
    size_t npy = 0, cnt = ckpt_zip_count(z);
    for (size_t i = 0; i < cnt; i++) {
        const char *nm = ckpt_zip_entry_at(z, i)->name;
        size_t l = strlen(nm);
        npy += l > 4 && strcmp(nm + l - 4, ".npy") == 0;
    }
    return cnt && npy == cnt ? "NumPy npz" : "zip (not a torch file)";
}

static int scan_zip(scanner *sc, const char *label, const uint8_t *buf, size_t n)
{
    ckpt_source src;
    ckpt_source_init_mem(&src, buf, n, label);
    ckpt_error e;
    ckpt_error_clear(&e);
    ckpt_zip_opts zo = {0, sc->max_inflated, false};
    ckpt_zip *z = ckpt_zip_open(&src, &zo, NULL, &e);
    if (!z && e.code == CKPT_E_FORMAT && strstr(e.msg, "not in a subdirectory")) {
        /* not a torch archive (e.g. .npz): still scan every member */
        ckpt_error_clear(&e);
        zo.flat = true;
        z = ckpt_zip_open(&src, &zo, NULL, &e);
    }
    if (!z) {
        mark_unreadable(sc, &e, label);
        return 0;
    }
    bool ts = ckpt_zip_find(z, "constants.pkl") != NULL;
    for (size_t i = 0; !ts && i < ckpt_zip_count(z); i++) {
        const char *rec = ckpt_zip_entry_at(z, i)->record;
        ts = rec && (strncmp(rec, "code/", 5) == 0 || strcmp(rec, "attributes.pkl") == 0 ||
                     strcmp(rec, "bytecode.pkl") == 0);
    }
    if (sc->r->format[0] == '\0')
        snprintf(sc->r->format, sizeof(sc->r->format), "%s", zip_format_name(z, ts));
    if (ts)
        add(sc, label[0] ? label : "file", 0, 0, "<torchscript>", "code/ records",
            CKPT_SCAN_UNKNOWN,
            "torch.load hands TorchScript archives to torch.jit.load, which runs their code "
            "(CVE-2025-32434)");
    uint64_t lowest = UINT64_MAX;
    for (size_t i = 0; i < ckpt_zip_count(z); i++) {
        const ckpt_zip_entry *ent = ckpt_zip_entry_at(z, i);
        if (ent->header_offset < lowest)
            lowest = ent->header_offset;
        char stream[192];
        snprintf(stream, sizeof(stream), "%s%s%.150s", label, label[0] ? ":" : "", ent->name);
        if (ent->size > sc->max_inflated || sc->inflated + ent->size > sc->max_inflated) {
            mark_unreadable(sc,
                            &(ckpt_error){.code = CKPT_E_LIMIT,
                                          .msg = "member larger than the inflate limit"},
                            stream);
            continue;
        }
        const uint8_t *p = ckpt_zip_data_ptr(z, ent);
        uint8_t *owned = NULL;
        if (!p) {
            owned = malloc(ent->size ? (size_t)ent->size : 1);
            if (!owned) {
                sc->oom = true;
                break;
            }
            sc->inflated += ent->size;
            if (ckpt_zip_read(z, ent, owned, (size_t)ent->size, false, &e) < 0) {
                mark_unreadable(sc, &e, stream);
                ckpt_error_clear(&e);
                free(owned);
                continue;
            }
            p = owned;
        }
        if (ent->local_name_differs)
            add(sc, stream, ent->header_offset, 0, "<zip>", "local header name differs",
                CKPT_SCAN_ALLOWED,
                "reported, not fatal: torch reads members by their central-directory name");
        if (ent->local_name_differs)
            add(sc, stream, ent->header_offset, 0, "<zip>", "local header name differs",
                CKPT_SCAN_ALLOWED,
                "reported, not fatal: torch reads members by their central-directory name");
        uint32_t crc = ckpt_crc32(0, p, (size_t)ent->size);
        if (crc != ent->crc32 && ent->crc32 != 0)
            add(sc, stream, 0, 0, "<zip>", "CRC-32 mismatch", CKPT_SCAN_ALLOWED,
                "reported, not fatal: torch never checks CRCs");
        size_t len = (size_t)ent->size;
        const char *rec = ent->record ? ent->record : ent->name;
        size_t rl = strlen(rec);
        bool pkl_name = rl > 4 && strcmp(rec + rl - 4, ".pkl") == 0;
        if (len >= 2 && p[0] == 0x80 && p[1] <= 5 &&
            (pkl_name || !ent->record || strncmp(rec, "data/", 5) != 0)) {
            scan_pickles(sc, stream, p, len);
        } else if (len >= 2 && p[0] == 0x80 && p[1] >= 2 && p[1] <= 5) {
            /* a storage record whose bytes start like a pickle: torch never unpickles
             * it; report what it holds only if it is a whole pickle */
            scan_whole_pickles(sc, stream, p, len);
        }
        if (len >= 2 && p[0] == 0x80 && p[1] <= 5)
            ; /* handled above */
        else if (len >= 4 && memcmp(p, "PK\x03\x04", 4) == 0 && sc->depth < sc->max_depth) {
            sc->depth++;
            scan_zip(sc, stream, p, len);
            sc->depth--;
        } else if (len >= 6 && memcmp(p, "\x93NUMPY", 6) == 0)
            scan_npy(sc, stream, p, len);
        else if (pkl_name && len > 0 && strstr(rec, "debug_pkl") == NULL)
            scan_pickles(sc, stream, p, len); /* a .pkl without a PROTO opcode: protocol 0/1 */
        else if (len > 0 && (!ent->record || strncmp(rec, "data/", 5) != 0)) {
            /* any other member, whatever its name or first byte: whatever in it is a
             * whole pickle (protocol 0/1 too) is reported; other bytes are data */
            scan_whole_pickles(sc, stream, p, len);
        }
        free(owned);
    }
    if (lowest != UINT64_MAX && lowest > 0)
        add(sc, label[0] ? label : "file", 0, 0, "<zip>", "data before the first local header",
            CKPT_SCAN_UNKNOWN, "bytes torch would not read: a polyglot or a hidden payload");
    if (ckpt_zip_end_offset(z) < n)
        add(sc, label[0] ? label : "file", ckpt_zip_end_offset(z), 0, "<zip>",
            "data after the end record", CKPT_SCAN_UNKNOWN,
            "bytes torch would not read: a polyglot or a hidden payload");
    ckpt_zip_close(z);
    return 0;
}

/* ------------------------------------------------------------------ tar */

/* storages/tensors members: pickles interleaved with raw records (spec 3.3). */
static void scan_tar_records(scanner *sc, const char *stream, const uint8_t *p, size_t n,
                             bool tensors)
{
    ckpt_doc *doc = ckpt__doc_new(NULL, 256u << 20);
    if (!doc) {
        sc->oom = true;
        return;
    }
    size_t pos = 0, used = 0;
    const ckpt_obj *cnt = scan_pickle(sc, doc, stream, p, n, &used);
    pos += used;
    int64_t count = cnt && cnt->type == CKPT_T_INT ? cnt->u.i : -1;
    for (int64_t i = 0; cnt && i < count && pos < n && !sc->unreadable; i++) {
        const ckpt_obj *rec = scan_pickle(sc, doc, stream, p + pos, n - pos, &used);
        if (!rec)
            break;
        pos += used;
        uint64_t skip;
        if (tensors) {
            if (n - pos < 8)
                break;
            uint32_t nd = ckpt_rd_u32le(p + pos);
            skip = 8 + (uint64_t)nd * 16 + 8;
        } else {
            const ckpt_obj *cls = rec->type == CKPT_T_TUPLE && rec->u.seq.n >= 3
                                      ? rec->u.seq.items[2]
                                      : NULL;
            const char *nm = cls ? ckpt_global_name(cls) : NULL;
            int dt = nm ? ckpt__dtype_from_storage_name(nm) : -1;
            if (dt < 0 || n - pos < 8)
                break;
            uint64_t numel = ckpt_rd_u64le(p + pos);
            if (numel > (n - pos) / (ckpt_dtype_size(dt) ? ckpt_dtype_size(dt) : 1))
                break;
            skip = 8 + numel * ckpt_dtype_size(dt);
        }
        if (skip > n - pos)
            break;
        pos += (size_t)skip;
    }
    if (!tensors && pos < n && !sc->unreadable)
        scan_pickle(sc, doc, stream, p + pos, n - pos, &used); /* the views list */
    ckpt_doc_free(doc);
}

/* One member of a tar whose listing tarfile completes, by the name torch looks up. */
static void scan_tar_member(scanner *sc, const char *label, const uint8_t *buf, size_t n,
                            const ckpt__tar_member *m)
{
    if (!m->data || m->data_off > n || m->size > n - m->data_off)
        return; /* no data */
    char stream[192];
    snprintf(stream, sizeof(stream), "%.60s%s%.100s", label, label[0] ? ":" : "", m->name);
    const uint8_t *d = buf + m->data_off;
    size_t size = (size_t)m->size;
    if (ckpt__tar_named(m, "pickle") || ckpt__tar_named(m, "sys_info")) {
        scan_pickles(sc, stream, d, size);
        snprintf(sc->r->format, sizeof(sc->r->format), "torch tar (pre-1.0)");
    } else if (ckpt__tar_named(m, "storages") || ckpt__tar_named(m, "tensors")) {
        scan_tar_records(sc, stream, d, size, m->name[0] == 't');
    } else if (size >= 2 && d[0] == 0x80 && d[1] <= 5) {
        scan_pickles(sc, stream, d, size);
    }
}

/* Every member Python's tarfile lists (tar.h), by the name torch looks up. */
static int scan_tar(scanner *sc, const char *label, const uint8_t *buf, size_t n)
{
    snprintf(sc->r->format, sizeof(sc->r->format), "tar");
    ckpt_source src;
    ckpt_source_init_mem(&src, buf, n, label);
    ckpt__tar_walk w;
    ckpt__tar_member m;
    ckpt_error e;
    ckpt_error_clear(&e);
    /* torch.load's getmember() lists every member before it reads one: a tar that
     * tarfile abandons anywhere has none of its members unpickled, so walk it whole
     * first and scan members only when the listing reaches its end */
    ckpt__tar_begin(&w, &src, NULL);
    int r;
    while ((r = ckpt__tar_next(&w, &m, &e)) == 1)
        continue;
    if (r == 0) {
        ckpt__tar_begin(&w, &src, NULL);
        ckpt_error_clear(&e);
        while ((r = ckpt__tar_next(&w, &m, &e)) == 1)
            scan_tar_member(sc, label, buf, n, &m);
    }
    if (r < 0 && w.read_error) {
        /* torch.load catches the TarError and unpickles the file from byte 0 */
        add(sc, label[0] ? label : "file", e.offset, 0, "<tar>",
            "tar that Python's tarfile abandons", CKPT_SCAN_ALLOWED,
            "torch.load then reads the file as a legacy pickle stream from byte 0");
        scan_pickles(sc, label, buf, n);
    } else if (r < 0) {
        mark_unreadable(sc, &e, label);
    }
    return 0;
}

static bool is_tar(const uint8_t *buf, size_t n)
{
    ckpt_source src;
    ckpt_source_init_mem(&src, buf, n, "");
    return ckpt__tar_probe(&src) != CKPT__TAR_NOT;
}

static void onnx_finding(void *ctx, const char *where, const char *module, const char *name,
                         int klass, const char *note)
{
    add(ctx, where, 0, 0, module, name, klass, note);
}

/* ONNX models, test-data values and external data hold no pickle: name them
 * (detect.c walks every top-level protobuf field to the last byte). */
static bool onnx_named(scanner *sc, const char *label, const uint8_t *buf, size_t n)
{
    ckpt_source src;
    ckpt_source_init_mem(&src, buf, n, label[0] ? label : sc->file);
    char why[256];
    const char *k = ckpt__detect(&src, why, sizeof(why), NULL);
    const char *f = strcmp(k, "onnx") == 0                 ? "ONNX model (no pickle)"
                    : strcmp(k, "onnx-tensor") == 0        ? "ONNX tensor (no pickle)"
                    : strcmp(k, "onnx-external-data") == 0 ? "ONNX external data (no pickle)"
                                                           : NULL;
    if (f && sc->r->format[0] == '\0')
        snprintf(sc->r->format, sizeof(sc->r->format), "%s", f);
    if (f && strcmp(k, "onnx") == 0 && sc->depth == 1) {
        /* custom-domain ops and external data leaving the folder (src/onnx/onnx_scan.c) */
        ckpt_error e;
        ckpt_error_clear(&e);
        if (ox_scan_model(buf, n, label[0] ? NULL : sc->file, onnx_finding, sc, &e) < 0)
            mark_unreadable(sc, &e, label[0] ? label : "model");
    }
    return f != NULL;
}

static int scan_buffer(scanner *sc, const char *label, const uint8_t *buf, size_t n)
{
    if (sc->depth > sc->max_depth)
        return 0;
    int st;
    char why[128];
    sc->depth++;
    if (n >= 4 && memcmp(buf, "PK\x03\x04", 4) == 0)
        scan_zip(sc, label, buf, n);
    else if (is_tar(buf, n))
        scan_tar(sc, label, buf, n);
    else if (n >= 6 && memcmp(buf, "\x93NUMPY", 6) == 0) {
        if (sc->r->format[0] == '\0')
            snprintf(sc->r->format, sizeof(sc->r->format), "npy");
        scan_npy(sc, label, buf, n);
    } else if ((st = ckpt__st_header_check(buf, n, NULL, why, sizeof(why))) != CKPT_ST_NOT) {
        /* a valid header before any pickle heuristic: a 128-byte header starts 0x80 */
        if (sc->r->format[0] == '\0')
            snprintf(sc->r->format, sizeof(sc->r->format), "safetensors (no code)");
        if (st != CKPT_ST_VALID) {
            ckpt_error e;
            ckpt_error_clear(&e);
            CKPT_FAIL_AT(&e, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, 0, "safetensors: %s", why);
            mark_unreadable(sc, &e, label);
        }
    } else if (n >= 8 && (memcmp(buf, "GGUF", 4) == 0)) {
        /* before the pickle heuristic: 'G' is BINFLOAT */
        snprintf(sc->r->format, sizeof(sc->r->format), "GGUF (no code)");
    } else if (n >= 1 && (buf[0] == 0x80 || buf[0] == '(' || buf[0] == 'c' || buf[0] == ']' ||
                          buf[0] == '}' || buf[0] == 'l' || buf[0] == 'd' || buf[0] == 'L' ||
                          buf[0] == 'I' || buf[0] == 'N' || buf[0] == 'S' || buf[0] == 'V' ||
                          buf[0] == 'X' || buf[0] == 'K' || buf[0] == 'J' || buf[0] == 'M' ||
                          buf[0] == 0x8a || buf[0] == 'G' || buf[0] == 'F')) {
        scan_pickles(sc, label, buf, n);
    } else if (onnx_named(sc, label, buf, n)) {
        /* protobuf, no pickle: named by the detector's bounded walk */
    } else {
        char msg[128];
        snprintf(msg, sizeof(msg), "not a pickle, zip or npy file (first byte 0x%02x)",
                 n ? buf[0] : 0);
        ckpt_error e;
        ckpt_error_clear(&e);
        CKPT_FAIL_AT(&e, CKPT_E_FORMAT, CKPT_WHERE_FILE, NULL, 0, "%s", msg);
        mark_unreadable(sc, &e, label);
    }
    sc->depth--;
    return 0;
}

/* ------------------------------------------------------------------ API */

int ckpt_scan_mem(const void *buf, size_t n, const char *label, const ckpt_scan_opts *opts,
                  ckpt_scan_report **out, ckpt_error *err)
{
    ckpt_error_clear(err);
    if (!out || (!buf && n))
        return CKPT_FAIL(err, CKPT_E_ARG, "missing argument");
    ckpt_scan_report *r = calloc(1, sizeof(*r));
    if (!r)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    scanner sc;
    memset(&sc, 0, sizeof(sc));
    sc.opts = opts;
    sc.file = label ? label : "";
    sc.r = r;
    sc.max_depth = (opts && opts->max_nesting) ? opts->max_nesting : 4;
    sc.max_inflated = (opts && opts->max_inflated) ? opts->max_inflated : (256ull << 20);
    sc.file_size = n;
    scan_buffer(&sc, "", buf, n);
    if (sc.oom) {
        ckpt_scan_report_free(r);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory while scanning");
    }
    /* Dangerous wins: a file with a call or global outside the allowlist is unsafe
     * even when it also cannot be read to the end (r->error still says why). */
    if (sc.unreadable && r->verdict != CKPT_SCAN_UNSAFE)
        r->verdict = CKPT_SCAN_UNREADABLE;
    if (r->error.code && !r->error.file[0] && label)
        snprintf(r->error.file, sizeof(r->error.file), "%s", label);
    *out = r;
    return 0;
}

int ckpt_scan_file(const char *path, const ckpt_scan_opts *opts, ckpt_scan_report **out,
                   ckpt_error *err)
{
    CKPT__ERR_LOCAL(err); /* the unreadable report copies it */
    ckpt_error_clear(err);
    if (!path || !out)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing argument");
    ckpt_source src;
    if (ckpt_source_open_file(&src, path, true, err) < 0) {
        /* an unreadable file still gets a report */
        ckpt_scan_report *r = calloc(1, sizeof(*r));
        if (!r)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        r->verdict = CKPT_SCAN_UNREADABLE;
        r->error = *err;
        *out = r;
        return 0;
    }
    int rc;
    if (src.base || src.size == 0) {
        rc = ckpt_scan_mem(src.base ? src.base : (const uint8_t *)"", (size_t)src.size, path,
                           opts, out, err);
    } else {
        size_t n = (size_t)src.size;
        uint8_t *b = malloc(n);
        if (!b) {
            ckpt_source_close(&src);
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        }
        rc = ckpt_source_read(&src, 0, b, n, err);
        if (rc == 0)
            rc = ckpt_scan_mem(b, n, path, opts, out, err);
        free(b);
    }
    ckpt_source_close(&src);
    return rc;
}

void ckpt_scan_report_free(ckpt_scan_report *r)
{
    if (!r)
        return;
    free(r->findings);
    free(r);
}

const char *ckpt_scan_class_name(int klass)
{
    switch (klass) {
    case CKPT_SCAN_ALLOWED: return "allowed";
    case CKPT_SCAN_UNKNOWN: return "unknown";
    case CKPT_SCAN_DANGEROUS: return "dangerous";
    default: return "?";
    }
}
