/*
 * ts_write.c - write a TorchScript archive (what torch.jit.save writes for a
 * traced module) from a graph ckpt holds: an ONNX model (ckpt_onnx_load), or a
 * C model traced through the tape into one (ckpt_onnx_export_model).
 *
 * The archive holds the class `__torch__.Model` in code/__torch__.py in the
 * form torch.jit.trace writes (__parameters__, __buffers__, attribute
 * annotations, training, a forward with one aten call per ONNX node) and one
 * class per dotted prefix of the initializer names (fc1.weight -> submodule
 * fc1 of class Model_fc1; names that are no identifiers kept through
 * __annotations__["0"] / getattr(self, "0"), as torch writes them), data.pkl
 * (the module object: protocol 2, GLOBAL '__torch__ Model', NEWOBJ, BUILD of a
 * dict of its attributes; tensors as _rebuild_tensor_v2 with persistent ids
 * ('storage', torch.XStorage, key, 'cpu', numel) whose bytes are data/KEY),
 * constants.pkl (a tuple of the CONSTANTS.cN tensors, bytes in constants/KEY)
 * and version.  Records are 64-byte aligned and the file is replaced
 * atomically; nothing touches the disk until the whole archive is generated,
 * so an op that has no aten mapping leaves no file behind.
 *
 * Shapes: the graph is run once in ckpt's ONNX session on example inputs
 * (the graph inputs' declared shapes, dynamic dims as 1, or the C model's
 * input shape) so that ranks, axes and constant sub-graphs (shape arithmetic
 * torch.onnx.export leaves) are known; those constants are folded into the
 * code as torch.jit.trace bakes them.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/jit.h"
#include "ckpt/nn.h"
#include "ckpt/source.h"
#include "ckpt/zip.h"
#include "core/atomic.h"
#include "core/err.h"
#include "jit/jit_internal.h"
#include "jit/ts_write.h"
#include "pickle/emit.h"

/* ------------------------------------------------------------ text */

void tw_printf(tw_buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->p && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t need = b->len + (size_t)n + 1;
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
}

void tw_buf_free(tw_buf *b)
{
    free(b->p);
    memset(b, 0, sizeof(*b));
}

static const char *const reserved[] = {"self",
                                       "torch",
                                       "ops",
                                       "CONSTANTS",
                                       "annotate",
                                       "training",
                                       "forward",
                                       "Tensor",
                                       "_is_full_backward_hook",
                                       "and",
                                       "as",
                                       "assert",
                                       "break",
                                       "class",
                                       "continue",
                                       "def",
                                       "del",
                                       "elif",
                                       "else",
                                       "except",
                                       "finally",
                                       "for",
                                       "from",
                                       "global",
                                       "if",
                                       "import",
                                       "in",
                                       "is",
                                       "lambda",
                                       "nonlocal",
                                       "not",
                                       "or",
                                       "pass",
                                       "raise",
                                       "return",
                                       "try",
                                       "while",
                                       "with",
                                       "yield",
                                       "None",
                                       "True",
                                       "False",
                                       "uninitialized",
                                       "unchecked_cast",
                                       "math",
                                       "List",
                                       "Tuple",
                                       "Dict",
                                       "Optional",
                                       "int",
                                       "float",
                                       "bool",
                                       "str",
                                       "NoneType",
                                       NULL};

/* scope -1: forward's locals (arguments; temporaries are _<digits>);
 * scope >= 0: the attributes of module `scope` */
static bool name_taken(tw_state *s, const char *id, int scope)
{
    for (size_t i = 0; reserved[i]; i++)
        if (!strcmp(reserved[i], id))
            return true;
    if (scope < 0) {
        if (id[0] == '_' && id[1]) {
            const char *p = id + 1;
            while (isdigit((unsigned char)*p))
                p++;
            if (!*p)
                return true;
        }
        for (int i = 0; s->in_names && i < s->g->n_inputs; i++)
            if (s->in_names[i] && !strcmp(s->in_names[i], id))
                return true;
        return false;
    }
    for (size_t i = 0; i < s->n_t; i++)
        if (s->t[i].name && s->t[i].mod == scope && !strcmp(s->t[i].name, id))
            return true;
    for (int i = 0; i < s->n_mods; i++)
        if (s->mods[i].parent == scope && s->mods[i].attr && !strcmp(s->mods[i].attr, id))
            return true;
    return false;
}

bool tw_is_ident(const char *p)
{
    if (!*p || isdigit((unsigned char)*p))
        return false;
    for (; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return false;
    return true;
}

/* an attribute name TorchScript can hold as a string (getattr(self, "0"),
 * __annotations__["0"]): printable, no quote, backslash or dot */
static bool raw_ok(const char *p, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\' || p[i] == '.')
            return false;
    return true;
}

static char *ident_n(tw_state *s, const char *name, size_t n, const char *prefix, int scope)
{
    size_t pl = strlen(prefix);
    char *out = malloc(n + pl + 24);
    if (!out)
        return NULL;
    size_t k = 0;
    if (scope >= 0 && raw_ok(name, n)) { /* attributes keep their names (torch's listing) */
        memcpy(out, name, n);
        out[n] = '\0';
        k = n;
        if (!name_taken(s, out, scope))
            return out;
        for (int j = 1;; j++) {
            snprintf(out + k, 24, "_%d", j);
            if (!name_taken(s, out, scope))
                return out;
        }
    }
    if (!n || isdigit((unsigned char)name[0])) {
        memcpy(out, prefix, pl);
        k = pl;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        out[k++] = (char)(isalnum(c) || c == '_' ? c : '_');
    }
    out[k] = '\0';
    if (!name_taken(s, out, scope))
        return out;
    for (int j = 1;; j++) {
        snprintf(out + k, 24, "_%d", j);
        if (!name_taken(s, out, scope))
            return out;
    }
}

char *tw_ident(tw_state *s, const char *name, const char *prefix, int scope)
{
    return ident_n(s, name, strlen(name), prefix, scope);
}

static bool class_taken(const tw_state *s, const char *c)
{
    if (!strcmp(c, s->cls))
        return true;
    for (int i = 1; i < s->n_mods; i++)
        if (!strcmp(s->mods[i].cls, c))
            return true;
    return false;
}

/* the child of `parent` for the raw component p[0..n), created when absent */
static int child_mod(tw_state *s, int parent, const char *p, size_t n)
{
    for (int i = 1; i < s->n_mods; i++)
        if (s->mods[i].parent == parent && strlen(s->mods[i].raw) == n &&
            !memcmp(s->mods[i].raw, p, n))
            return i;
    if (s->n_mods == s->cap_mods) {
        int cap = s->cap_mods * 2;
        tw_mod *m = realloc(s->mods, (size_t)cap * sizeof(*m));
        if (!m)
            return CKPT_FAIL(s->err, CKPT_E_NOMEM, "out of memory");
        s->mods = m;
        s->cap_mods = cap;
    }
    tw_mod *m = &s->mods[s->n_mods];
    memset(m, 0, sizeof(*m));
    m->parent = parent;
    m->raw = malloc(n + 1);
    m->attr = ident_n(s, p, n, "m_", parent);
    const char *pc = parent == 0 ? s->cls : s->mods[parent].cls;
    size_t pl = strlen(pc);
    m->cls = m->attr ? malloc(pl + strlen(m->attr) + 24) : NULL;
    if (!m->raw || !m->attr || !m->cls) {
        free(m->raw);
        free(m->attr);
        free(m->cls);
        return CKPT_FAIL(s->err, CKPT_E_NOMEM, "out of memory");
    }
    memcpy(m->raw, p, n);
    m->raw[n] = '\0';
    size_t al = strlen(m->attr);
    char *id = malloc(al + 3);
    if (!id)
        return CKPT_FAIL(s->err, CKPT_E_NOMEM, "out of memory");
    size_t k = 0;
    if (isdigit((unsigned char)m->attr[0]))
        id[k++] = 'm';
    for (size_t i = 0; i < al; i++)
        id[k++] = (char)(isalnum((unsigned char)m->attr[i]) ? m->attr[i] : '_');
    id[k] = '\0';
    snprintf(m->cls, pl + al + 24, "%s_%s", pc, id);
    for (int j = 1; class_taken(s, m->cls); j++)
        snprintf(m->cls, pl + al + 24, "%s_%s_%d", pc, id, j);
    free(id);
    return s->n_mods++;
}

/* ------------------------------------------------------------ values */

const ox_val *tw_value(tw_state *s, int vi)
{
    const ox_value *v = &s->g->values[vi];
    if (v->is_initializer)
        return &v->init;
    return ox_session_value(s->s, v->name);
}

static bool float_dtype(int dt)
{
    return dt == OX_FLOAT || dt == OX_DOUBLE || dt == OX_FLOAT16 || dt == OX_BFLOAT16;
}

static int add_tensor(tw_state *s, int kind, const char *name, const ox_val *v, bool copy,
                      tw_tensor **out)
{
    if (s->n_t == s->cap_t) {
        size_t cap = s->cap_t ? s->cap_t * 2 : 16;
        tw_tensor *t = realloc(s->t, cap * sizeof(*t));
        if (!t)
            return CKPT_FAIL(s->err, CKPT_E_NOMEM, "out of memory");
        s->t = t;
        s->cap_t = cap;
    }
    tw_tensor *t = &s->t[s->n_t];
    memset(t, 0, sizeof(*t));
    if (name) {
        /* "a.b.weight": submodules a, a.b and the attribute weight (an empty
         * component keeps the name flat) */
        int mod = 0;
        const char *leaf = name;
        bool nest = !strstr(name, "..") && name[0] != '.' && name[strlen(name) - 1] != '.';
        for (const char *p = name; nest && *p; p++)
            if (*p == '.') {
                mod = child_mod(s, mod, leaf, (size_t)(p - leaf));
                if (mod < 0)
                    return mod;
                leaf = p + 1;
            }
        t->mod = mod;
        t->name = tw_ident(s, leaf, "p_", mod);
        if (!t->name)
            return CKPT_FAIL(s->err, CKPT_E_NOMEM, "out of memory");
    }
    t->kind = kind;
    if (copy) {
        if (ox_val_copy(&t->own, v, s->err) < 0) {
            free(t->name);
            return s->err ? s->err->code : CKPT_E_NOMEM;
        }
        t->v = &t->own;
    } else
        t->v = v;
    s->n_t++;
    *out = t;
    return 0;
}

/* "self.a.b.leaf", with getattr(X, "0") for names that are no identifiers */
static char *attr_path(const tw_state *s, const tw_tensor *t)
{
    const char *parts[80];
    int np = 0;
    parts[np++] = t->name;
    for (int m = t->mod; m > 0 && np < 80; m = s->mods[m].parent)
        parts[np++] = s->mods[m].attr;
    tw_buf b = {0};
    tw_printf(&b, "self");
    for (int i = np - 1; i >= 0; i--) {
        if (tw_is_ident(parts[i]))
            tw_printf(&b, ".%s", parts[i]);
        else {
            char *prev = b.p ? strdup(b.p) : NULL;
            b.len = 0;
            tw_printf(&b, "getattr(%s, \"%s\")", prev ? prev : "", parts[i]);
            free(prev);
        }
    }
    if (b.oom) {
        tw_buf_free(&b);
        return NULL;
    }
    return b.p;
}

static char *dupstr(const char *p)
{
    size_t n = strlen(p) + 1;
    char *d = malloc(n);
    if (d)
        memcpy(d, p, n);
    return d;
}

int tw_operand(tw_state *s, int vi, const char **out)
{
    if (vi < 0)
        return CKPT_FAIL(s->err, CKPT_E_FORMAT, "a required input is omitted");
    if (s->expr[vi]) {
        *out = s->expr[vi];
        return 0;
    }
    const ox_value *v = &s->g->values[vi];
    const ox_val *val = tw_value(s, vi);
    if (!v->is_initializer && !s->folded[vi])
        return CKPT_FAIL(s->err, CKPT_E_FORMAT, "value '%s' is read before it is computed",
                         v->name);
    if (!val || val->kind != OX_KIND_TENSOR)
        return CKPT_FAIL(s->err, CKPT_E_UNSUPPORTED, "value '%s' is not a tensor", v->name);
    char tmp[64];
    tw_tensor *t = NULL;
    if (v->is_initializer && !s->freeze) {
        int kind = float_dtype(val->dtype) && val->rank > 0 && !s->buffer[vi] ? TW_PARAM
                                                                              : TW_BUFFER;
        CKPT_TRY(add_tensor(s, kind, v->name, val, false, &t));
        s->expr[vi] = attr_path(s, t);
    } else {
        /* equal constants are one (torch's constant pooling, which freeze runs) */
        size_t nb = ox_val_nbytes(val);
        for (size_t i = 0; i < s->n_t && !t; i++) {
            const ox_val *o = s->t[i].v;
            if (s->t[i].kind == TW_CONST && o->dtype == val->dtype && o->rank == val->rank &&
                !memcmp(o->dims, val->dims, (size_t)val->rank * sizeof(int64_t)) &&
                ox_val_nbytes(o) == nb && (!nb || !memcmp(o->data, val->data, nb)))
                t = &s->t[i];
        }
        if (!t) {
            CKPT_TRY(add_tensor(s, TW_CONST, NULL, val, !v->is_initializer, &t));
            t->cidx = s->n_const++;
        }
        snprintf(tmp, sizeof(tmp), "CONSTANTS.c%zu", t->cidx);
        s->expr[vi] = dupstr(tmp);
    }
    if (!s->expr[vi])
        return CKPT_FAIL(s->err, CKPT_E_NOMEM, "out of memory");
    *out = s->expr[vi];
    return 0;
}

/* ------------------------------------------------------------ pickles */

static const char *storage_class(int dt)
{
    switch (dt) {
    case OX_FLOAT: return "FloatStorage";
    case OX_DOUBLE: return "DoubleStorage";
    case OX_FLOAT16: return "HalfStorage";
    case OX_BFLOAT16: return "BFloat16Storage";
    case OX_INT64: return "LongStorage";
    case OX_INT32: return "IntStorage";
    case OX_INT16: return "ShortStorage";
    case OX_INT8: return "CharStorage";
    case OX_UINT8: return "ByteStorage";
    case OX_BOOL: return "BoolStorage";
    default: return NULL;
    }
}

static void emit_cstr(ckpt__emit *e, const char *p)
{
    uint32_t idx;
    if (ckpt__emit_memo_get_str(e, p, &idx)) {
        ckpt__emit_get(e, idx);
        return;
    }
    ckpt__emit_str(e, p, strlen(p));
    ckpt__emit_memo_set_str(e, p, ckpt__emit_put(e));
}

/* torch._utils._rebuild_tensor_v2(persistent storage, 0, size, stride, requires_grad,
 * OrderedDict()) */
static int emit_tensor(tw_state *s, ckpt__emit *e, const tw_tensor *t, size_t key)
{
    const ox_val *v = t->v;
    const char *cls = storage_class(v->dtype);
    if (!cls)
        return CKPT_FAIL(s->err, CKPT_E_UNSUPPORTED, "tensor '%s': dtype %s has no torch storage",
                         t->name ? t->name : "constant", ox_dtype_name(v->dtype));
    ckpt__emit_global(e, "torch._utils", "_rebuild_tensor_v2");
    ckpt__emit_byte(e, '(');
    ckpt__emit_byte(e, '(');
    emit_cstr(e, "storage");
    ckpt__emit_global(e, "torch", cls);
    char k[32];
    snprintf(k, sizeof(k), "%zu", key);
    ckpt__emit_str(e, k, strlen(k));
    ckpt__emit_put(e);
    emit_cstr(e, "cpu");
    ckpt__emit_int(e, v->numel);
    ckpt__emit_byte(e, 't');
    ckpt__emit_byte(e, 'Q'); /* BINPERSID */
    ckpt__emit_put(e);
    ckpt__emit_int(e, 0);
    int64_t st[OX_MAX_RANK];
    ox_strides(v->rank, v->dims, st);
    ckpt__emit_byte(e, '(');
    for (int i = 0; i < v->rank; i++)
        ckpt__emit_int(e, v->dims[i]);
    ckpt__emit_byte(e, 't');
    ckpt__emit_byte(e, '(');
    for (int i = 0; i < v->rank; i++)
        ckpt__emit_int(e, st[i]);
    ckpt__emit_byte(e, 't');
    ckpt__emit_byte(e, t->kind == TW_PARAM ? 0x88 : 0x89);
    ckpt__emit_global(e, "collections", "OrderedDict");
    ckpt__emit_byte(e, ')');
    ckpt__emit_byte(e, 'R');
    ckpt__emit_byte(e, 't');
    ckpt__emit_byte(e, 'R');
    ckpt__emit_put(e);
    return 0;
}

typedef struct tw_out {
    tw_buf code;
    ckpt__emit data, consts;
    char archive[256];
} tw_out;

/* module `m`'s object: its tensors (parameters, buffers), its submodules,
 * training, _is_full_backward_hook; storage keys in pickling order */
static int emit_module(tw_state *s, ckpt__emit *e, int m, size_t *key, int depth)
{
    if (depth > 64)
        return CKPT_FAIL(s->err, CKPT_E_LIMIT, "parameter names nest deeper than 64");
    ckpt__emit_global(e, "__torch__", m == 0 ? s->cls : s->mods[m].cls);
    ckpt__emit_byte(e, ')');
    ckpt__emit_byte(e, 0x81); /* NEWOBJ */
    ckpt__emit_byte(e, '}');
    ckpt__emit_byte(e, '(');
    for (int pass = TW_PARAM; pass <= TW_BUFFER; pass++)
        for (size_t i = 0; i < s->n_t; i++) {
            if (s->t[i].kind != pass || s->t[i].mod != m)
                continue;
            emit_cstr(e, s->t[i].name);
            s->t[i].key = (*key)++;
            CKPT_TRY(emit_tensor(s, e, &s->t[i], s->t[i].key));
        }
    for (int i = 1; i < s->n_mods; i++)
        if (s->mods[i].parent == m) {
            emit_cstr(e, s->mods[i].attr);
            CKPT_TRY(emit_module(s, e, i, key, depth + 1));
        }
    if (!s->freeze) {
        emit_cstr(e, "training");
        ckpt__emit_byte(e, 0x89);
        emit_cstr(e, "_is_full_backward_hook");
        ckpt__emit_byte(e, 'N');
    }
    ckpt__emit_byte(e, 'u');
    ckpt__emit_byte(e, 'b');
    ckpt__emit_put(e);
    return 0;
}

static int build_pickles(tw_state *s, tw_out *o)
{
    ckpt__emit *e = &o->data;
    ckpt__emit_byte(e, 0x80);
    ckpt__emit_byte(e, 2);
    size_t key = 0;
    CKPT_TRY(emit_module(s, e, 0, &key, 0));
    ckpt__emit_byte(e, '.');

    e = &o->consts;
    ckpt__emit_byte(e, 0x80);
    ckpt__emit_byte(e, 2);
    ckpt__emit_byte(e, '(');
    key = 0;
    for (size_t i = 0; i < s->n_t; i++)
        if (s->t[i].kind == TW_CONST) {
            s->t[i].key = key++;
            CKPT_TRY(emit_tensor(s, e, &s->t[i], s->t[i].key));
        }
    ckpt__emit_byte(e, 't');
    ckpt__emit_byte(e, '.');
    if (o->data.oom || o->consts.oom)
        return CKPT_FAIL(s->err, CKPT_E_NOMEM, "out of memory");
    return 0;
}

static void emit_list(tw_buf *b, const char *open, bool params, const tw_state *s, int m)
{
    tw_printf(b, "  %s = [", open);
    for (size_t i = 0; i < s->n_t; i++)
        if (s->t[i].kind == (params ? TW_PARAM : TW_BUFFER) && s->t[i].mod == m)
            tw_printf(b, "\"%s\", ", s->t[i].name);
    tw_printf(b, "]\n");
}

static void class_header(tw_buf *b, const tw_state *s, int m)
{
    tw_printf(b, "class %s(Module):\n", m == 0 ? s->cls : s->mods[m].cls);
    emit_list(b, "__parameters__", true, s, m);
    emit_list(b, "__buffers__", false, s, m);
    for (int pass = TW_PARAM; pass <= TW_BUFFER; pass++)
        for (size_t i = 0; i < s->n_t; i++)
            if (s->t[i].kind == pass && s->t[i].mod == m)
                tw_printf(b,
                          tw_is_ident(s->t[i].name) ? "  %s : Tensor\n"
                                                    : "  __annotations__[\"%s\"] = Tensor\n",
                          s->t[i].name);
    if (!s->freeze) {
        tw_printf(b, "  training : bool\n");
        tw_printf(b, "  _is_full_backward_hook : Optional[bool]\n");
    }
    for (int i = 1; i < s->n_mods; i++)
        if (s->mods[i].parent == m)
            tw_printf(b,
                      tw_is_ident(s->mods[i].attr) ? "  %s : __torch__.%s\n"
                                                   : "  __annotations__[\"%s\"] = __torch__.%s\n",
                      s->mods[i].attr, s->mods[i].cls);
}

static int build_code(tw_state *s, tw_out *o, const char *cls)
{
    tw_buf *b = &o->code;
    const ox_graph *g = s->g;
    class_header(b, s, 0);
    tw_printf(b, "  def forward(self: __torch__.%s", cls);
    for (int i = 0; i < g->n_inputs; i++)
        tw_printf(b, ",\n    %s: Tensor", s->in_names[i]);
    if (g->n_outputs == 1)
        tw_printf(b, ") -> Tensor:\n");
    else {
        tw_printf(b, ") -> Tuple[");
        for (int i = 0; i < g->n_outputs; i++)
            tw_printf(b, "%sTensor", i ? ", " : "");
        tw_printf(b, "]:\n");
    }
    if (s->body.oom)
        return CKPT_FAIL(s->err, CKPT_E_NOMEM, "out of memory");
    if (s->body.len)
        tw_printf(b, "%s", s->body.p);
    if (g->n_outputs == 1)
        tw_printf(b, "    return %s\n", s->expr[g->outputs[0]]);
    else {
        tw_printf(b, "    return (");
        for (int i = 0; i < g->n_outputs; i++)
            tw_printf(b, "%s%s", i ? ", " : "", s->expr[g->outputs[i]]);
        tw_printf(b, ")\n");
    }
    for (int m = 1; m < s->n_mods; m++)
        class_header(b, s, m);
    if (b->oom)
        return CKPT_FAIL(s->err, CKPT_E_NOMEM, "out of memory");
    return 0;
}

static int write_job(ckpt_sink *sink, const void *ctx, ckpt_error *err)
{
    const void *const *c = ctx;
    const tw_state *s = c[0];
    const tw_out *o = c[1];
    ckpt_zip_writer *w = ckpt_zip_writer_new(sink, o->archive, 64, true, NULL, err);
    if (!w)
        return err->code ? err->code : CKPT_E_NOMEM;
    int rc = 0;
    char rec[48];
    size_t n_data = 0;
    for (size_t i = 0; i < s->n_t; i++)
        n_data += s->t[i].kind != TW_CONST;
    for (size_t key = 0; rc == 0 && key < n_data; key++)
        for (size_t i = 0; rc == 0 && i < s->n_t; i++) {
            if (s->t[i].kind == TW_CONST || s->t[i].key != key)
                continue;
            snprintf(rec, sizeof(rec), "data/%zu", key);
            rc = ckpt_zip_writer_add(w, rec, s->t[i].v->data, ox_val_nbytes(s->t[i].v), err);
        }
    if (rc == 0)
        rc = ckpt_zip_writer_add(w, "data.pkl", o->data.buf, o->data.len, err);
    if (rc == 0)
        rc = ckpt_zip_writer_add(w, "code/__torch__.py", o->code.p, o->code.len, err);
    for (size_t i = 0; rc == 0 && i < s->n_t; i++) {
        if (s->t[i].kind != TW_CONST)
            continue;
        snprintf(rec, sizeof(rec), "constants/%zu", s->t[i].key);
        rc = ckpt_zip_writer_add(w, rec, s->t[i].v->data, ox_val_nbytes(s->t[i].v), err);
    }
    if (rc == 0)
        rc = ckpt_zip_writer_add(w, "constants.pkl", o->consts.buf, o->consts.len, err);
    char ver[16];
    int vn = snprintf(ver, sizeof(ver), "%d\n", s->version);
    if (rc == 0)
        rc = ckpt_zip_writer_add(w, "version", ver, (uint64_t)vn, err);
    if (rc == 0)
        rc = ckpt_zip_writer_finish(w, err);
    ckpt_zip_writer_free(w);
    return rc;
}

/* "dir/model.pt" -> "model" (torch names the archive folder after the file) */
static void archive_name(const char *path, char *out, size_t n)
{
    const char *base = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' || *p == '\\')
            base = p + 1;
    const char *dot = strrchr(base, '.');
    size_t len = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    if (len == 0)
        base = "archive", len = 7;
    if (len >= n)
        len = n - 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)base[i];
        out[i] = (char)(isalnum(c) || c == '_' || c == '-' ? c : '_');
    }
    out[len] = '\0';
}

/* Run the graph once on example inputs (shapes: `shape` for input 0 when
 * given, else the declared ones with dynamic dims as 1; zeros). */
static int example_run(tw_state *s, const ckpt_onnx_model *m, const int64_t *shape, int ndim)
{
    const ox_graph *g = s->g;
    int n = g->n_inputs;
    ckpt_onnx_tensor *in = calloc((size_t)(n ? n : 1), sizeof(*in));
    void **bufs = calloc((size_t)(n ? n : 1), sizeof(void *));
    int rc = 0;
    if (!in || !bufs) {
        rc = CKPT_FAIL(s->err, CKPT_E_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < n && rc == 0; i++) {
        const ox_value *v = &g->values[g->inputs[i]];
        const ox_type *ty = &v->type;
        if (ty->kind != OX_KIND_TENSOR || !ty->known || ty->rank < 0) {
            rc = CKPT_FAIL(s->err, CKPT_E_UNSUPPORTED,
                           "graph input '%s' has no tensor type with a known rank", v->name);
            break;
        }
        in[i].name = v->name;
        in[i].elem_type = ty->dtype;
        if (i == 0 && shape) {
            in[i].ndim = ndim;
            memcpy(in[i].shape, shape, (size_t)ndim * sizeof(int64_t));
        } else {
            in[i].ndim = ty->rank;
            for (int d = 0; d < ty->rank; d++)
                in[i].shape[d] = ty->dims[d] < 0 ? 1 : ty->dims[d];
        }
        int64_t numel = ox_numel(in[i].ndim, in[i].shape);
        size_t es = ox_dtype_size(ty->dtype);
        if (numel < 0 || !es || ty->dtype == OX_STRING) {
            rc = CKPT_FAIL(s->err, CKPT_E_UNSUPPORTED, "graph input '%s': unsupported type",
                           v->name);
            break;
        }
        bufs[i] = calloc((size_t)numel + 1, es);
        if (!bufs[i]) {
            rc = CKPT_FAIL(s->err, CKPT_E_NOMEM, "out of memory");
            break;
        }
        in[i].data = bufs[i];
        in[i].nbytes = (uint64_t)numel * es;
    }
    if (rc == 0) {
        s->s = ckpt_onnx_session_new(m, NULL, s->err);
        if (!s->s)
            rc = s->err->code ? s->err->code : CKPT_E_UNSUPPORTED;
    }
    if (rc == 0)
        rc = ckpt_onnx_run(s->s, in, (size_t)n, NULL, 0, s->err);
out:
    for (int i = 0; bufs && i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(in);
    return rc;
}

static void state_free(tw_state *s)
{
    if (s->expr)
        for (int i = 0; i < s->g->n_values; i++)
            free(s->expr[i]);
    free(s->expr);
    free(s->folded);
    free(s->buffer);
    for (size_t i = 0; i < s->n_t; i++) {
        free(s->t[i].name);
        ox_val_clear(&s->t[i].own);
    }
    free(s->t);
    for (int i = 0; i < s->n_mods; i++) {
        free(s->mods[i].raw);
        free(s->mods[i].attr);
        free(s->mods[i].cls);
    }
    free(s->mods);
    if (s->in_names)
        for (int i = 0; i < s->g->n_inputs; i++)
            free(s->in_names[i]);
    free(s->in_names);
    tw_buf_free(&s->body);
    ckpt_onnx_session_free(s->s);
}

static int save_graph(const ckpt_onnx_model *m, const int64_t *shape, int ndim, const char *path,
                      const ckpt_jit_save_opts *opts, ckpt_error *err)
{
    if (!m || !m->graph || !path)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing model or path");
    const char *cls = opts && opts->class_name ? opts->class_name : "Model";
    for (const char *p = cls; *p; p++)
        if (!(isalnum((unsigned char)*p) || *p == '_') || isdigit((unsigned char)cls[0]))
            return CKPT_FAIL(err, CKPT_E_ARG, "class name '%s' is not an identifier", cls);
    if (!*cls)
        return CKPT_FAIL(err, CKPT_E_ARG, "empty class name");
    tw_state s;
    memset(&s, 0, sizeof(s));
    s.g = m->graph;
    s.freeze = opts && opts->freeze;
    s.err = err;
    s.version = 3;
    s.cls = cls;
    tw_out o;
    memset(&o, 0, sizeof(o));
    int rc = 0;
    const ox_graph *g = s.g;
    if (g->n_outputs < 1)
        return CKPT_FAIL(err, CKPT_E_UNSUPPORTED, "the graph has no outputs");
    s.expr = calloc((size_t)g->n_values + 1, sizeof(char *));
    s.folded = calloc((size_t)g->n_values + 1, sizeof(bool));
    s.buffer = calloc((size_t)g->n_values + 1, sizeof(bool));
    s.in_names = calloc((size_t)g->n_inputs + 1, sizeof(char *));
    s.mods = calloc(8, sizeof(tw_mod));
    s.cap_mods = 8;
    if (s.mods) {
        s.n_mods = 1; /* the root */
        s.mods[0].parent = -1;
    }
    if (!s.expr || !s.folded || !s.buffer || !s.in_names || !s.mods) {
        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < g->n_inputs && rc == 0; i++) {
        char *id = tw_ident(&s, g->values[g->inputs[i]].name, "x_", -1);
        s.in_names[i] = id;
        s.expr[g->inputs[i]] = id ? dupstr(id) : NULL;
        if (!id || !s.expr[g->inputs[i]])
            rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    for (int i = 0; i < g->n_values; i++) {
        const ox_value *v = &g->values[i];
        if (v->is_initializer && (!float_dtype(v->init.dtype) || v->init.rank == 0))
            s.folded[i] = true;
    }
    if (rc == 0)
        rc = example_run(&s, m, shape, ndim);
    if (rc == 0)
        rc = tw_gen_nodes(&s);
    for (int i = 0; rc == 0 && i < g->n_outputs; i++) {
        const char *e;
        rc = tw_operand(&s, g->outputs[i], &e);
    }
    if (rc == 0)
        rc = ckpt__emit_init(&o.data, NULL) < 0 || ckpt__emit_init(&o.consts, NULL) < 0
                 ? CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory")
                 : 0;
    if (rc == 0)
        rc = build_pickles(&s, &o);
    if (rc == 0)
        rc = build_code(&s, &o, cls);
    if (rc == 0) {
        archive_name(path, o.archive, sizeof(o.archive));
        const void *ctx[2] = {&s, &o};
        rc = ckpt__atomic_write(path, write_job, ctx, NULL, false, err);
    }
out:
    ckpt__emit_free(&o.data);
    ckpt__emit_free(&o.consts);
    tw_buf_free(&o.code);
    state_free(&s);
    if (rc < 0)
        ckpt__error_set_file(err, path);
    return rc;
}

int ckpt_jit_save_onnx(const ckpt_onnx_model *g, const char *path, const ckpt_jit_save_opts *opts,
                       ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    return save_graph(g, NULL, 0, path, opts, err);
}

int ckpt_jit_save_module(struct ckpt_module *m, const int64_t *input_shape, int ndim,
                         const char *path, const ckpt_jit_save_opts *opts, ckpt_error *err)
{
    CKPT__ERR_LOCAL(err);
    ckpt_error_clear(err);
    if (!m || !input_shape || ndim < 1 || ndim > CKPT_ONNX_MAX_RANK || !path)
        return CKPT_FAIL(err, CKPT_E_ARG, "missing module, input shape or path");
    ckpt_onnx_export_opts eo;
    memset(&eo, 0, sizeof(eo));
    eo.input_ndim = ndim;
    eo.input_shape = input_shape;
    eo.input_name = "x";
    eo.opset = 17;
    ckpt_onnx_model *om = ckpt_onnx_export_model(m, &eo, err);
    if (!om) {
        ckpt__error_set_file(err, path);
        return err->code ? err->code : CKPT_E_UNSUPPORTED;
    }
    int rc = save_graph(om, input_shape, ndim, path, opts, err);
    ckpt_onnx_model_free(om);
    return rc;
}
