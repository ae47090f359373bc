/*
 * src/jit/ts_read_code.c - the class table from the headers of a TorchScript
 * archive's code/ files: a small, strict line scanner (the bodies are
 * parsed by the interpreter, which takes jit_method.source / file / line).
 *
 * What torch's python printer writes (torch/csrc/jit/serialization/python_print.cpp):
 *
 *   class Linear(Module):
 *     __parameters__ = ["weight", "bias", ]
 *     __buffers__ = []
 *     weight : Tensor
 *     training : bool
 *     __annotations__["0"] = __torch__.foo.Bar
 *     in_features : Final[int] = 512
 *     def forward(self: __torch__.torch.nn.modules.linear.Linear,
 *       input: Tensor) -> Tensor:
 *       ...
 *   def relu(input: Tensor,
 *       inplace: bool=False) -> Tensor:
 *     ...
 *
 * Format-1 files (`op_version_set = 0`, then `def forward(self, ...)` at
 * column 0) belong to one module: their defs become its methods.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/ts_read.h"

typedef struct line {
    const char *p;
    size_t n; /* without the newline */
} line;

typedef struct lines {
    line *v;
    size_t n;
} lines;

static int split_lines(const char *text, size_t len, lines *L, ckpt_error *err)
{
    size_t cnt = 1;
    for (size_t i = 0; i < len; i++)
        cnt += text[i] == '\n';
    L->v = malloc(cnt * sizeof *L->v);
    if (!L->v)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    L->n = 0;
    size_t s = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i == len || text[i] == '\n') {
            if (i == len && s == len)
                break;
            size_t e = i;
            if (e > s && text[e - 1] == '\r')
                e--;
            L->v[L->n++] = (line){text + s, e - s};
            s = i + 1;
        }
    }
    return 0;
}

static size_t indent_of(const line *l)
{
    size_t i = 0;
    while (i < l->n && l->p[i] == ' ')
        i++;
    return i;
}

static bool blank(const line *l)
{
    size_t i = indent_of(l);
    return i == l->n || l->p[i] == '#';
}

static bool starts(const line *l, size_t at, const char *w)
{
    size_t n = strlen(w);
    return l->n >= at + n && memcmp(l->p + at, w, n) == 0;
}

static char *dup_trim(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* Index of the first top-level `c` in s[0..n) (brackets and strings skipped), or n. */
static size_t find_top(const char *s, size_t n, char c)
{
    int depth = 0;
    char q = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (q) {
            if (ch == '\\')
                i++;
            else if (ch == q)
                q = 0;
            continue;
        }
        if (ch == c && depth == 0)
            return i;
        if (ch == '"' || ch == '\'')
            q = ch;
        else if (ch == '(' || ch == '[' || ch == '{')
            depth++;
        else if (ch == ')' || ch == ']' || ch == '}')
            depth--;
    }
    return n;
}

static int pair_push(jit_class *c, const char *name, size_t nl, const char *type, size_t tl,
                     ckpt_error *err)
{
    size_t n1 = c->n_attrs, n2 = c->n_attrs;
    CKPT_TRY(tsr_strv_push(&c->attr_names, &n1, name, nl, err));
    char *t = dup_trim(type, tl);
    if (!t) {
        free(c->attr_names[--n1]);
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    }
    int rc = tsr_strv_push(&c->attr_types, &n2, t, strlen(t), err);
    free(t);
    if (rc < 0) {
        free(c->attr_names[--n1]);
        return rc;
    }
    c->n_attrs++;
    return 0;
}

/* ------------------------------------------------------------ literal values */

typedef struct lit {
    const char *s;
    size_t n, i;
    int depth;
} lit;

static void lit_ws(lit *P)
{
    while (P->i < P->n && isspace((unsigned char)P->s[P->i]))
        P->i++;
}

static jv *lit_value(lit *P, ckpt_error *err)
{
    lit_ws(P);
    if (P->i >= P->n || ++P->depth > 64)
        return NULL;
    const char *s = P->s + P->i;
    size_t left = P->n - P->i;
    jv *v = NULL;
    if (*s == '(' || *s == '[') {
        char close = *s == '(' ? ')' : ']';
        v = *s == '(' ? jv_tuple_new(0) : jv_list_new(0);
        P->i++;
        for (;;) {
            lit_ws(P);
            if (!v || P->i >= P->n) {
                jv_unref(v);
                return NULL;
            }
            if (P->s[P->i] == close) {
                P->i++;
                break;
            }
            jv *it = lit_value(P, err);
            if (!it || jv_list_push(v, it, err) < 0) {
                jv_unref(v);
                return NULL;
            }
            lit_ws(P);
            if (P->i < P->n && P->s[P->i] == ',')
                P->i++;
        }
    } else if (*s == '"' || *s == '\'') {
        char q = *s;
        size_t j = 1;
        char *buf = malloc(left);
        size_t o = 0;
        if (!buf)
            return NULL;
        while (j < left && s[j] != q) {
            if (s[j] == '\\' && j + 1 < left) {
                j++;
                char e = s[j];
                buf[o++] = e == 'n' ? '\n' : e == 't' ? '\t' : e;
            } else {
                buf[o++] = s[j];
            }
            j++;
        }
        if (j >= left) {
            free(buf);
            return NULL;
        }
        v = jv_str(buf, o);
        free(buf);
        P->i += j + 1;
    } else {
        size_t j = 0;
        while (j < left && (isalnum((unsigned char)s[j]) || s[j] == '.' || s[j] == '-' ||
                            s[j] == '+' || s[j] == '_'))
            j++;
        if (j == 0)
            return NULL;
        char tok[64];
        if (j >= sizeof tok)
            return NULL;
        memcpy(tok, s, j);
        tok[j] = 0;
        P->i += j;
        if (strcmp(tok, "True") == 0)
            v = jv_bool(true);
        else if (strcmp(tok, "False") == 0)
            v = jv_bool(false);
        else if (strcmp(tok, "None") == 0)
            v = jv_none();
        else {
            char *end;
            long long x = strtoll(tok, &end, 10);
            if (*end == 0)
                v = jv_int(x);
            else {
                double d = strtod(tok, &end);
                if (*end == 0)
                    v = jv_float(d);
            }
        }
    }
    P->depth--;
    return v;
}

/* A class constant's value: a literal, else its text as a str. */
static jv *const_value(const char *s, size_t n, ckpt_error *err)
{
    lit P = {s, n, 0, 0};
    ckpt_error e = {0};
    jv *v = lit_value(&P, &e);
    lit_ws(&P);
    if (v && P.i == P.n)
        return v;
    jv_unref(v);
    (void)err;
    char *t = dup_trim(s, n);
    v = t ? jv_str0(t) : NULL;
    free(t);
    return v;
}

static int const_push(jit_class *c, const char *name, size_t nl, const char *val, size_t vl,
                      ckpt_error *err)
{
    jv **vs = realloc(c->consts_vals, (c->n_consts + 1) * sizeof *vs);
    if (!vs)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    c->consts_vals = vs;
    jv *v = const_value(val, vl, err);
    if (!v)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    size_t n = c->n_consts;
    if (tsr_strv_push(&c->consts_names, &n, name, nl, err) < 0) {
        jv_unref(v);
        return err && err->code ? err->code : CKPT_E_NOMEM;
    }
    c->consts_vals[c->n_consts++] = v;
    return 0;
}

/* ------------------------------------------------------------ defs */

typedef struct scan {
    ckpt_jit_model *m;
    const jit_source *src;
    lines L;
    ckpt_error *err;
} scan;

static int scan_fail(scan *S, size_t li, const char *what)
{
    CKPT_FAIL(S->err, CKPT_E_FORMAT, "%s:%zu: %s", S->src->record, li + 1, what);
    if (S->err) {
        snprintf(S->err->member, sizeof S->err->member, "%s", S->src->record);
        S->err->where = CKPT_WHERE_MEMBER;
        S->err->offset = S->L.v && li < S->L.n ? (uint64_t)(S->L.v[li].p - S->src->text) : 0;
    }
    return CKPT_E_FORMAT;
}

/* Parse the def at line `li` (indent `ind`) into a method of `c`; *next gets
 * the first line after its body. */
static int parse_def(scan *S, size_t li, size_t ind, jit_class *c, bool skip_self, size_t *next)
{
    /* the header: lines up to the one where the parentheses close and ':' ends it */
    size_t hl = li, hlen = 0;
    int depth = 0;
    bool opened = false, done = false;
    char q = 0;
    for (; hl < S->L.n && !done; hl++) {
        const line *l = &S->L.v[hl];
        hlen += l->n + 1;
        for (size_t k = 0; k < l->n; k++) {
            char ch = l->p[k];
            if (q) {
                if (ch == '\\')
                    k++;
                else if (ch == q)
                    q = 0;
                continue;
            }
            if (ch == '"' || ch == '\'')
                q = ch;
            else if (ch == '(' || ch == '[' || ch == '{') {
                depth++;
                opened = true;
            } else if (ch == ')' || ch == ']' || ch == '}')
                depth--;
        }
        if (opened && depth == 0) {
            size_t e = l->n;
            while (e && isspace((unsigned char)l->p[e - 1]))
                e--;
            if (e && l->p[e - 1] == ':')
                done = true;
        }
        if (hl - li > 10000)
            break;
    }
    if (!done)
        return scan_fail(S, li, "a def whose header does not end with '):' or ') -> T:'");
    size_t hend = hl - 1; /* last header line */
    char *h = malloc(hlen + 1);
    if (!h)
        return CKPT_FAIL(S->err, CKPT_E_NOMEM, "out of memory");
    size_t o = 0;
    for (size_t k = li; k <= hend; k++) {
        memcpy(h + o, S->L.v[k].p, S->L.v[k].n);
        o += S->L.v[k].n;
        h[o++] = '\n';
    }
    h[o] = 0;
    /* body: until a non-blank line at indent <= ind */
    size_t end = hend, k = hend + 1;
    for (; k < S->L.n; k++) {
        if (blank(&S->L.v[k]))
            continue;
        if (indent_of(&S->L.v[k]) <= ind)
            break;
        end = k;
    }
    *next = k;
    const char *p = h + ind + 4; /* after "def " */
    const char *lp = strchr(p, '(');
    if (!lp) {
        free(h);
        return scan_fail(S, li, "a def without '('");
    }
    size_t rp = (size_t)(lp - h) + 1 + find_top(lp + 1, strlen(lp + 1), ')');
    if (rp >= o) {
        free(h);
        return scan_fail(S, li, "a def whose parameters do not close");
    }
    jit_method mt;
    memset(&mt, 0, sizeof mt);
    int rc = 0;
    mt.name = dup_trim(p, (size_t)(lp - p));
    mt.file = strdup(S->src->record);
    mt.line = (int64_t)li + 1;
    mt.end_line = (int64_t)end + 1;
    /* return type: after "->", up to the final ':' */
    const char *after = h + rp + 1;
    const char *arrow = strstr(after, "->");
    if (arrow) {
        const char *colon = strrchr(arrow, ':');
        mt.ret_type = dup_trim(arrow + 2, colon ? (size_t)(colon - arrow - 2) : 0);
    }
    /* source text: the def's lines as stored */
    size_t slen = (size_t)(S->L.v[end].p + S->L.v[end].n - S->L.v[li].p);
    mt.source = malloc(slen + 2);
    if (mt.source) {
        memcpy(mt.source, S->L.v[li].p, slen);
        mt.source[slen] = '\n';
        mt.source[slen + 1] = 0;
    }
    if (!mt.name || !mt.file || !mt.source || (arrow && !mt.ret_type))
        rc = CKPT_FAIL(S->err, CKPT_E_NOMEM, "out of memory");
    /* parameters */
    const char *ps = lp + 1;
    size_t pn = (size_t)(h + rp - ps);
    bool first = true;
    while (rc == 0 && pn) {
        size_t cut = find_top(ps, pn, ',');
        char *prm = dup_trim(ps, cut);
        if (!prm) {
            rc = CKPT_FAIL(S->err, CKPT_E_NOMEM, "out of memory");
            break;
        }
        if (prm[0] && strcmp(prm, "*") != 0 && strcmp(prm, "/") != 0) {
            size_t eq = find_top(prm, strlen(prm), '=');
            size_t co = find_top(prm, eq, ':');
            char *nm = dup_trim(prm, co);
            char *ty = co < eq ? dup_trim(prm + co + 1, eq - co - 1) : strdup("");
            if (!nm || !ty) {
                rc = CKPT_FAIL(S->err, CKPT_E_NOMEM, "out of memory");
            } else if (!(first && skip_self)) {
                size_t n1 = mt.n_args, n2 = mt.n_args;
                rc = tsr_strv_push(&mt.arg_names, &n1, nm, strlen(nm), S->err);
                if (rc == 0)
                    rc = tsr_strv_push(&mt.arg_types, &n2, ty, strlen(ty), S->err);
                if (rc == 0)
                    mt.n_args++;
                else if (n1 > mt.n_args)
                    free(mt.arg_names[n1 - 1]);
            }
            free(nm);
            free(ty);
            first = false;
        }
        free(prm);
        if (cut >= pn)
            break;
        ps += cut + 1;
        pn -= cut + 1;
    }
    free(h);
    if (rc == 0) {
        jit_method *ms = realloc(c->methods, (c->n_methods + 1) * sizeof *ms);
        if (!ms) {
            rc = CKPT_FAIL(S->err, CKPT_E_NOMEM, "out of memory");
        } else {
            c->methods = ms;
            c->methods[c->n_methods++] = mt;
            return 0;
        }
    }
    free(mt.name);
    free(mt.file);
    free(mt.source);
    free(mt.ret_type);
    for (size_t i = 0; i < mt.n_args; i++) {
        free(mt.arg_names[i]);
        free(mt.arg_types[i]);
    }
    free(mt.arg_names);
    free(mt.arg_types);
    return rc;
}

/* `__parameters__ = ["a", "b", ]` */
static int name_list(scan *S, size_t li, const line *l, char ***v, size_t *n)
{
    const char *lb = memchr(l->p, '[', l->n);
    const char *rb = lb ? memchr(lb, ']', l->n - (size_t)(lb - l->p)) : NULL;
    if (!rb)
        return scan_fail(S, li, "a name list without [...]");
    for (const char *p = lb + 1; p < rb; p++) {
        if (*p != '"' && *p != '\'')
            continue;
        const char *e = memchr(p + 1, *p, (size_t)(rb - p - 1));
        if (!e)
            return scan_fail(S, li, "an unterminated name in a name list");
        CKPT_TRY(tsr_strv_push(v, n, p + 1, (size_t)(e - p - 1), S->err));
        p = e;
    }
    return 0;
}

static bool ident_char(char c)
{
    return isalnum((unsigned char)c) || c == '_';
}

/* One header line of a class body (not a def). */
static int header_line(scan *S, size_t li, size_t ind, jit_class *c)
{
    const line *l = &S->L.v[li];
    if (starts(l, ind, "__parameters__")) {
        /* a second header for the same class (a duplicate) starts over */
        return name_list(S, li, l, &c->params, &c->n_params);
    }
    if (starts(l, ind, "__buffers__"))
        return name_list(S, li, l, &c->buffers, &c->n_buffers);
    if (starts(l, ind, "__annotations__[")) {
        const char *p = l->p + ind + 16;
        size_t left = l->n - ind - 16;
        if (left < 2 || (*p != '"' && *p != '\''))
            return scan_fail(S, li, "__annotations__ without a quoted name");
        const char *e = memchr(p + 1, *p, left - 1);
        const char *eq = e ? memchr(e, '=', l->n - (size_t)(e - l->p)) : NULL;
        if (!eq)
            return scan_fail(S, li, "__annotations__[...] without '= TYPE'");
        return pair_push(c, p + 1, (size_t)(e - p - 1), eq + 1, l->n - (size_t)(eq + 1 - l->p),
                         S->err);
    }
    size_t i = ind;
    while (i < l->n && ident_char(l->p[i]))
        i++;
    if (i == ind)
        return 0; /* pass, docstrings and the like */
    size_t nl = i - ind;
    while (i < l->n && l->p[i] == ' ')
        i++;
    const char *rest = l->p + i;
    size_t rl = l->n - i;
    if (rl && *rest == ':') {
        size_t eq = find_top(rest + 1, rl - 1, '=');
        if (eq < rl - 1) /* `x : Final[int] = 3`: a class constant */
            return const_push(c, l->p + ind, nl, rest + 2 + eq, rl - 2 - eq, S->err);
        return pair_push(c, l->p + ind, nl, rest + 1, rl - 1, S->err);
    }
    if (rl && *rest == '=') /* enum members: `RED = 1` */
        return const_push(c, l->p + ind, nl, rest + 1, rl - 1, S->err);
    return 0;
}

int tsr_scan_source(ckpt_jit_model *m, size_t si, jit_class *owner, ckpt_error *err)
{
    scan S = {m, &m->sources[si], {NULL, 0}, err};
    CKPT_TRY(split_lines(S.src->text, S.src->len, &S.L, err));
    char *mod = tsr_module_path(S.src->record);
    int rc = mod ? 0 : CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    jit_class *cur = NULL;
    size_t member_ind = 0;
    size_t li = 0;
    while (rc == 0 && li < S.L.n) {
        const line *l = &S.L.v[li];
        if (blank(l)) {
            li++;
            continue;
        }
        size_t ind = indent_of(l);
        if (ind == 0) {
            cur = NULL;
            if (starts(l, 0, "class ")) {
                size_t e = 6;
                while (e < l->n && ident_char(l->p[e]))
                    e++;
                if (e == 6) {
                    rc = scan_fail(&S, li, "a class without a name");
                    break;
                }
                size_t ql = strlen(mod) + (e - 6) + 2;
                char *qn = malloc(ql);
                if (!qn) {
                    rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
                    break;
                }
                snprintf(qn, ql, "%s.%.*s", mod, (int)(e - 6), l->p + 6);
                cur = jit_class_get(m, qn, err);
                free(qn);
                if (!cur) {
                    rc = err && err->code ? err->code : CKPT_E_NOMEM;
                    break;
                }
                if (!cur->file) {
                    cur->file = strdup(S.src->record);
                    cur->line = (int64_t)li + 1;
                    if (!cur->file) {
                        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
                        break;
                    }
                }
                cur->is_module = starts(l, e, "(Module)");
                member_ind = 0;
                li++;
                continue;
            }
            if (starts(l, 0, "def ")) {
                jit_class *fc = owner;
                if (!fc) {
                    fc = jit_class_get(m, mod, err);
                    if (!fc) {
                        rc = err && err->code ? err->code : CKPT_E_NOMEM;
                        break;
                    }
                    if (!fc->file && !(fc->file = strdup(S.src->record))) {
                        rc = CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
                        break;
                    }
                }
                rc = parse_def(&S, li, 0, fc, owner != NULL, &li);
                continue;
            }
            li++; /* op_version_set = N, imports */
            continue;
        }
        if (!cur) {
            li++;
            continue;
        }
        if (!member_ind)
            member_ind = ind;
        if (ind != member_ind) {
            li++;
            continue;
        }
        if (starts(l, ind, "def ")) {
            rc = parse_def(&S, li, ind, cur, true, &li);
            continue;
        }
        if (!starts(l, ind, "@"))
            rc = header_line(&S, li, ind, cur);
        li++;
    }
    free(mod);
    free(S.L.v);
    return rc;
}
