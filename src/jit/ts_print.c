/*
 * src/jit/ts_print.c - ckpt_jit_print: the module tree of any model the jit
 * layer reads, one line per attribute, submodules indented, then each
 * class's methods with their signatures and source ranges (once per class;
 * later instances say "methods as above").
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/jit_internal.h"

typedef struct pctx {
    const ckpt_jit_model *m;
    FILE *f;
    int flags;
    const jit_class **done; /* classes whose methods were printed */
    size_t n_done;
    ckpt_error *err;
} pctx;

static void ind(FILE *f, int d)
{
    for (int i = 0; i < d; i++)
        fputs("  ", f);
}

static const char *kind_word(int k)
{
    switch (k) {
    case JIT_A_PARAM: return "parameter";
    case JIT_A_BUFFER: return "buffer";
    default: return "attribute";
    }
}

static void value_text(const jv *v, char *buf, size_t n)
{
    switch (v->kind) {
    case JV_NONE: snprintf(buf, n, "None"); break;
    case JV_BOOL: snprintf(buf, n, "%s", v->u.b ? "True" : "False"); break;
    case JV_INT: snprintf(buf, n, "%" PRId64, v->u.i); break;
    case JV_FLOAT: snprintf(buf, n, "%.17g", v->u.f); break;
    case JV_STR: snprintf(buf, n, "'%.60s%s'", v->u.str.s, v->u.str.len > 60 ? "…" : ""); break;
    case JV_DEVICE:
        snprintf(buf, n, "device(%s%s%" PRId64 ")", v->u.dev.type, v->u.dev.index >= 0 ? ":" : "",
                 v->u.dev.index >= 0 ? v->u.dev.index : 0);
        if (v->u.dev.index < 0)
            snprintf(buf, n, "device(%s)", v->u.dev.type);
        break;
    case JV_TENSOR: {
        const jv_tensor *t = v->u.t;
        int k = snprintf(buf, n, "%s%s [", t->is_quantized ? "quantized " : "",
                         ox_dtype_name(t->t.dtype));
        for (int i = 0; i < t->t.rank && k > 0 && (size_t)k < n; i++)
            k += snprintf(buf + k, n - (size_t)k, "%s%" PRId64, i ? ", " : "", t->t.dims[i]);
        if (k > 0 && (size_t)k < n)
            snprintf(buf + k, n - (size_t)k, "]%s", t->requires_grad ? " requires_grad" : "");
        break;
    }
    default: jv_describe(v, buf, n);
    }
}

static void print_method(pctx *P, const jit_method *mt, int d)
{
    ind(P->f, d);
    fprintf(P->f, "def %s(", mt->name);
    for (size_t i = 0; i < mt->n_args; i++)
        fprintf(P->f, "%s%s%s%s", i ? ", " : "", mt->arg_names[i],
                mt->arg_types[i][0] ? ": " : "", mt->arg_types[i]);
    fprintf(P->f, ")%s%s", mt->ret_type ? " -> " : "", mt->ret_type ? mt->ret_type : "");
    if (mt->file)
        fprintf(P->f, "    # %s:%" PRId64 "-%" PRId64, mt->file, mt->line, mt->end_line);
    fputc('\n', P->f);
    if ((P->flags & CKPT_JIT_SHOW_CODE) && mt->source) {
        const char *s = mt->source;
        while (*s) {
            const char *e = strchr(s, '\n');
            size_t l = e ? (size_t)(e - s) : strlen(s);
            ind(P->f, d + 2);
            fprintf(P->f, "%.*s\n", (int)l, s);
            s += l + (e ? 1 : 0);
        }
    }
}

static int print_obj(pctx *P, const jv *o, const char *name, int akind, int d)
{
    if (d > JIT_MAX_DEPTH)
        return CKPT_FAIL(P->err, CKPT_E_LIMIT, "modules nested deeper than %d", JIT_MAX_DEPTH);
    const jit_class *c = o->u.obj.cls;
    ind(P->f, d);
    if (name)
        fprintf(P->f, "%s: ", name);
    const jv *tr = jv_obj_get(o, "training");
    fprintf(P->f, "%s%s", c ? c->qualname : "?",
            c && c->is_module       ? " (module"
            : akind == JIT_A_MODULE ? " (module"
                                    : " (object");
    if (tr && tr->kind == JV_BOOL)
        fprintf(P->f, ", training=%s", tr->u.b ? "True" : "False");
    fputs(")\n", P->f);
    for (size_t i = 0; i < o->u.obj.n; i++) {
        const jv *v = o->u.obj.vals[i];
        const char *an = o->u.obj.names[i];
        int k = o->u.obj.akind[i];
        if (v->kind == JV_OBJECT) {
            CKPT_TRY(print_obj(P, v, an, k, d + 1));
            continue;
        }
        if (strcmp(an, "training") == 0 && v->kind == JV_BOOL)
            continue;
        char buf[256];
        value_text(v, buf, sizeof buf);
        ind(P->f, d + 1);
        if (v->kind == JV_TENSOR)
            fprintf(P->f, "%s: %s %s\n", an, k == JIT_A_ATTR ? "tensor attribute" : kind_word(k),
                    buf);
        else if (k == JIT_A_PARAM || k == JIT_A_BUFFER)
            fprintf(P->f, "%s: %s %s\n", an, kind_word(k), buf);
        else
            fprintf(P->f, "%s = %s\n", an, buf);
    }
    if (!c || !c->n_methods)
        return 0;
    for (size_t i = 0; i < P->n_done; i++)
        if (P->done[i] == c) {
            ind(P->f, d + 1);
            fprintf(P->f, "(methods of %s as above)\n", c->qualname);
            return 0;
        }
    const jit_class **p = realloc(P->done, (P->n_done + 1) * sizeof *p);
    if (!p)
        return CKPT_FAIL(P->err, CKPT_E_NOMEM, "out of memory");
    P->done = p;
    P->done[P->n_done++] = c;
    for (size_t i = 0; i < c->n_methods; i++)
        print_method(P, &c->methods[i], d + 1);
    return 0;
}

int ckpt_jit_print(const ckpt_jit_model *m, FILE *f, int flags, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    if (!m || !f)
        return CKPT_FAIL(err, CKPT_E_ARG, "no model or no stream");
    fprintf(f, "# %s", ckpt_jit_format_name(m->format));
    if (m->version)
        fprintf(f, ", version %" PRId64, m->version);
    if (m->producer)
        fprintf(f, ", producer %s", m->producer);
    size_t nt = ckpt_jit_tensor_count(m);
    fprintf(f, ", %zu tensors", nt);
    if (m->constants && (m->constants->kind == JV_TUPLE || m->constants->kind == JV_LIST))
        fprintf(f, ", %zu constants", m->constants->u.seq.n);
    fputc('\n', f);
    for (size_t i = 0; i < m->n_extra; i++)
        fprintf(f, "# extra file: %s\n", m->extra_names[i]);
    pctx P = {m, f, flags, NULL, 0, err};
    int rc = 0;
    if (m->root && m->root->kind == JV_OBJECT)
        rc = print_obj(&P, m->root, NULL, JIT_A_MODULE, 0);
    /* free functions (pseudo-classes of module paths, see ts_read_code.c) */
    for (size_t i = 0; rc == 0 && i < m->n_classes; i++) {
        const jit_class *c = m->classes[i];
        bool seen = false;
        for (size_t k = 0; k < P.n_done; k++)
            seen = seen || P.done[k] == c;
        if (seen || c->is_module || !c->n_methods || c->n_attrs || c->n_params)
            continue;
        if (c->file && c->line == 0) {
            fprintf(f, "functions of %s:\n", c->qualname);
            for (size_t k = 0; k < c->n_methods; k++)
                print_method(&P, &c->methods[k], 1);
        }
    }
    free(P.done);
    if (ferror(f) && rc == 0)
        rc = CKPT_FAIL(err, CKPT_E_IO, "writing the module tree failed");
    return rc;
}
