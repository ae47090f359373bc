/*
 * src/jit/ts_parse.c - lexer and recursive-descent parser for the Python
 * subset TorchScript serializes in code/ .py records (see ts_ast.h).
 * Hostile text gives errors: nesting is capped at TS_MAX_NEST, every size
 * is checked, and all nodes live in one arena freed at once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "jit/ts_ast.h"

/* ------------------------------------------------------------ arena */

typedef struct achunk {
    struct achunk *next;
    size_t used, cap;
    max_align_t data[];
} achunk;

typedef struct arena {
    achunk *head;
} arena;

static void *aalloc(arena *a, size_t n)
{
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!a->head || a->head->cap - a->head->used < n) {
        size_t cap = n > 65536 ? n : 65536;
        achunk *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    void *p = (char *)a->head->data + a->head->used;
    a->head->used += n;
    memset(p, 0, n);
    return p;
}

static void arena_free(arena *a)
{
    achunk *c = a ? a->head : NULL;
    while (c) {
        achunk *n = c->next;
        free(c);
        c = n;
    }
    free(a);
}

/* ------------------------------------------------------------ lexer */

enum { K_EOF = 0, K_NAME, K_INT, K_FLOAT, K_STR, K_OP, K_NEWLINE, K_INDENT, K_DEDENT };

typedef struct tok {
    int kind;
    int line;
    const char *p; /* source text (names, operators) */
    size_t len;
    char *s; /* decoded string (arena) */
    size_t slen;
    int64_t i;
    double f;
} tok;

typedef struct parser {
    arena *a;
    tok *toks;
    size_t n, cap, pos;
    const char *file;
    ckpt_error *err;
    int depth;
} parser;

static int pfail(parser *p, int line, const char *msg, const char *what)
{
    return CKPT_FAIL(p->err, CKPT_E_FORMAT, "%s:%d: TorchScript syntax: %s%s%s", p->file, line,
                     msg, what ? " " : "", what ? what : "");
}

static int push_tok(parser *p, tok t)
{
    if (p->n == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 256;
        if (cap > (SIZE_MAX / sizeof(tok)))
            return CKPT_FAIL(p->err, CKPT_E_NOMEM, "out of memory");
        tok *q = realloc(p->toks, cap * sizeof *q);
        if (!q)
            return CKPT_FAIL(p->err, CKPT_E_NOMEM, "out of memory");
        p->toks = q;
        p->cap = cap;
    }
    p->toks[p->n++] = t;
    return 0;
}

static bool is_id0(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
static bool is_id(int c)
{
    return is_id0(c) || (c >= '0' && c <= '9');
}

static int hexv(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decode a string literal at s[i] (quote char there); advances *pi. */
static int lex_string(parser *p, const char *s, size_t len, size_t *pi, int *line, tok *t)
{
    size_t i = *pi;
    char q = s[i];
    bool triple = i + 2 < len && s[i + 1] == q && s[i + 2] == q;
    i += triple ? 3 : 1;
    size_t cap = 0;
    /* upper bound of the decoded length: the rest of the text */
    cap = len - i + 1;
    char *out = aalloc(p->a, cap);
    if (!out)
        return CKPT_FAIL(p->err, CKPT_E_NOMEM, "out of memory");
    size_t o = 0;
    for (;;) {
        if (i >= len)
            return pfail(p, *line, "unterminated string", NULL);
        char c = s[i];
        if (c == q) {
            if (!triple) {
                i++;
                break;
            }
            if (i + 2 < len && s[i + 1] == q && s[i + 2] == q) {
                i += 3;
                break;
            }
        }
        if (c == '\n') {
            if (!triple)
                return pfail(p, *line, "newline in string", NULL);
            (*line)++;
        }
        if (c == '\\' && i + 1 < len) {
            char e = s[i + 1];
            i += 2;
            switch (e) {
            case 'n': out[o++] = '\n'; break;
            case 't': out[o++] = '\t'; break;
            case 'r': out[o++] = '\r'; break;
            case '0': out[o++] = '\0'; break;
            case '\n': (*line)++; break;
            case 'x': {
                int h1 = i < len ? hexv(s[i]) : -1, h2 = i + 1 < len ? hexv(s[i + 1]) : -1;
                if (h1 < 0 || h2 < 0)
                    return pfail(p, *line, "bad \\x escape", NULL);
                out[o++] = (char)(h1 * 16 + h2);
                i += 2;
                break;
            }
            default: out[o++] = e;
            }
            continue;
        }
        out[o++] = c;
        i++;
    }
    out[o] = 0;
    t->kind = K_STR;
    t->s = out;
    t->slen = o;
    *pi = i;
    return 0;
}

static const char *const ops3[] = {"**=", "//=", ">>=", "<<=", "..."};
static const char *const ops2[] = {"**", "//", "==", "!=", "<=", ">=", "->", "+=", "-=",
                                   "*=", "/=", "%=", "&=", "|=", "^=", "<<", ">>", "@="};

static int lex(parser *p, const char *s, size_t len, int64_t line0)
{
    int line = (int)(line0 > 0 && line0 < 1000000000 ? line0 : 1);
    int indents[TS_MAX_NEST + 2];
    int n_ind = 0;
    int paren = 0;
    bool at_bol = true;
    size_t i = 0;
    while (i < len) {
        if (at_bol && paren == 0) {
            int col = 0;
            size_t j = i;
            while (j < len && (s[j] == ' ' || s[j] == '\t')) {
                col += s[j] == '\t' ? 8 - (col % 8) : 1;
                j++;
            }
            if (j >= len)
                break;
            if (s[j] == '\n' || s[j] == '\r' || s[j] == '#') {
                /* blank or comment-only line */
                while (j < len && s[j] != '\n')
                    j++;
                i = j < len ? j + 1 : j;
                line++;
                continue;
            }
            i = j;
            at_bol = false;
            if (n_ind == 0) {
                indents[n_ind++] = col;
            } else if (col > indents[n_ind - 1]) {
                if (n_ind > TS_MAX_NEST)
                    return pfail(p, line, "blocks nested too deeply", NULL);
                indents[n_ind++] = col;
                CKPT_TRY(push_tok(p, (tok){.kind = K_INDENT, .line = line}));
            } else {
                while (n_ind > 1 && col < indents[n_ind - 1]) {
                    n_ind--;
                    CKPT_TRY(push_tok(p, (tok){.kind = K_DEDENT, .line = line}));
                }
                if (col != indents[n_ind - 1])
                    return pfail(p, line, "inconsistent indentation", NULL);
            }
        }
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
            i++;
            continue;
        }
        if (c == '#') {
            while (i < len && s[i] != '\n')
                i++;
            continue;
        }
        if (c == '\\' && i + 1 < len && (s[i + 1] == '\n' || s[i + 1] == '\r')) {
            i += 2;
            if (i < len && s[i - 1] == '\r' && s[i] == '\n')
                i++;
            line++;
            continue;
        }
        if (c == '\n') {
            i++;
            if (paren == 0) {
                if (p->n && p->toks[p->n - 1].kind != K_NEWLINE)
                    CKPT_TRY(push_tok(p, (tok){.kind = K_NEWLINE, .line = line}));
                at_bol = true;
            }
            line++;
            continue;
        }
        tok t = {.line = line, .p = s + i};
        if (is_id0((unsigned char)c)) {
            size_t j = i;
            while (j < len && is_id((unsigned char)s[j]))
                j++;
            /* string prefixes r"", b"" (rare); treat r as raw-less */
            if (j < len && (s[j] == '"' || s[j] == '\'') && j - i == 1 &&
                (c == 'r' || c == 'b' || c == 'u')) {
                i = j;
                CKPT_TRY(lex_string(p, s, len, &i, &line, &t));
                CKPT_TRY(push_tok(p, t));
                continue;
            }
            t.kind = K_NAME;
            t.len = j - i;
            i = j;
            CKPT_TRY(push_tok(p, t));
            continue;
        }
        if ((c >= '0' && c <= '9') ||
            (c == '.' && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '9')) {
            size_t j = i;
            bool flt = false;
            if (c == '0' && j + 1 < len && (s[j + 1] == 'x' || s[j + 1] == 'X')) {
                j += 2;
                while (j < len && hexv(s[j]) >= 0)
                    j++;
            } else {
                while (j < len && ((s[j] >= '0' && s[j] <= '9') || s[j] == '_'))
                    j++;
                if (j < len && s[j] == '.') {
                    flt = true;
                    j++;
                    while (j < len && s[j] >= '0' && s[j] <= '9')
                        j++;
                }
                if (j < len && (s[j] == 'e' || s[j] == 'E')) {
                    size_t k = j + 1;
                    if (k < len && (s[k] == '+' || s[k] == '-'))
                        k++;
                    if (k < len && s[k] >= '0' && s[k] <= '9') {
                        flt = true;
                        j = k;
                        while (j < len && s[j] >= '0' && s[j] <= '9')
                            j++;
                    }
                }
            }
            char buf[128];
            size_t nl = j - i;
            if (nl >= sizeof buf)
                return pfail(p, line, "number too long", NULL);
            size_t o = 0;
            for (size_t k = i; k < j; k++)
                if (s[k] != '_')
                    buf[o++] = s[k];
            buf[o] = 0;
            errno = 0;
            if (flt) {
                t.kind = K_FLOAT;
                t.f = strtod(buf, NULL);
            } else {
                t.kind = K_INT;
                unsigned long long v = strtoull(buf, NULL, 0);
                if (errno == ERANGE || v > (unsigned long long)INT64_MAX + 1ull)
                    return pfail(p, line, "integer out of range", buf);
                t.i = (int64_t)v; /* INT64_MIN literal wraps, negated later */
            }
            t.len = j - i;
            i = j;
            CKPT_TRY(push_tok(p, t));
            continue;
        }
        if (c == '"' || c == '\'') {
            CKPT_TRY(lex_string(p, s, len, &i, &line, &t));
            CKPT_TRY(push_tok(p, t));
            continue;
        }
        t.kind = K_OP;
        t.len = 0;
        for (size_t k = 0; k < sizeof ops3 / sizeof *ops3 && !t.len; k++)
            if (i + 3 <= len && memcmp(s + i, ops3[k], 3) == 0)
                t.len = 3;
        for (size_t k = 0; k < sizeof ops2 / sizeof *ops2 && !t.len; k++)
            if (i + 2 <= len && memcmp(s + i, ops2[k], 2) == 0)
                t.len = 2;
        if (!t.len) {
            if (!strchr("()[]{}:,.;+-*/%@&|^~<>=!", c) || c == 0) {
                char what[8];
                snprintf(what, sizeof what, "0x%02x", (unsigned char)c);
                return pfail(p, line, "unexpected character", what);
            }
            t.len = 1;
            if (c == '(' || c == '[' || c == '{') {
                if (++paren > TS_MAX_NEST)
                    return pfail(p, line, "brackets nested too deeply", NULL);
            } else if (c == ')' || c == ']' || c == '}') {
                if (paren > 0)
                    paren--;
            }
        }
        i += t.len;
        CKPT_TRY(push_tok(p, t));
    }
    if (p->n && p->toks[p->n - 1].kind != K_NEWLINE)
        CKPT_TRY(push_tok(p, (tok){.kind = K_NEWLINE, .line = line}));
    while (n_ind > 1) {
        n_ind--;
        CKPT_TRY(push_tok(p, (tok){.kind = K_DEDENT, .line = line}));
    }
    return push_tok(p, (tok){.kind = K_EOF, .line = line});
}

/* ------------------------------------------------------------ parser helpers */

static tok *peek(parser *p)
{
    return &p->toks[p->pos];
}
static tok *peek2(parser *p)
{
    return &p->toks[p->pos + 1 < p->n ? p->pos + 1 : p->pos];
}
static tok *next(parser *p)
{
    tok *t = &p->toks[p->pos];
    if (t->kind != K_EOF)
        p->pos++;
    return t;
}
static bool is_op(const tok *t, const char *op)
{
    return t->kind == K_OP && t->len == strlen(op) && memcmp(t->p, op, t->len) == 0;
}
static bool is_kw(const tok *t, const char *kw)
{
    return t->kind == K_NAME && t->len == strlen(kw) && memcmp(t->p, kw, t->len) == 0;
}
static bool accept_op(parser *p, const char *op)
{
    if (is_op(peek(p), op)) {
        next(p);
        return true;
    }
    return false;
}
static bool accept_kw(parser *p, const char *kw)
{
    if (is_kw(peek(p), kw)) {
        next(p);
        return true;
    }
    return false;
}
static int expect_op(parser *p, const char *op)
{
    if (accept_op(p, op))
        return 0;
    return pfail(p, peek(p)->line, "expected", op);
}

static tnode *mk(parser *p, int kind, int line)
{
    tnode *n = aalloc(p->a, sizeof *n);
    if (!n) {
        CKPT_FAIL(p->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    n->kind = kind;
    n->line = line;
    return n;
}

/* Growable child list built in a temporary array then copied into the arena. */
typedef struct kidv {
    tnode **v;
    size_t n, cap;
} kidv;

static int kv_push(parser *p, kidv *k, tnode *n)
{
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 8;
        tnode **q = realloc(k->v, cap * sizeof *q);
        if (!q)
            return CKPT_FAIL(p->err, CKPT_E_NOMEM, "out of memory");
        k->v = q;
        k->cap = cap;
    }
    k->v[k->n++] = n;
    return 0;
}

static int kv_finish(parser *p, kidv *k, tnode *n)
{
    int rc = 0;
    if (k->n) {
        n->kids = aalloc(p->a, k->n * sizeof *n->kids);
        if (!n->kids)
            rc = CKPT_FAIL(p->err, CKPT_E_NOMEM, "out of memory");
        else {
            memcpy(n->kids, k->v, k->n * sizeof *n->kids);
            n->n = k->n;
        }
    }
    free(k->v);
    k->v = NULL;
    k->n = k->cap = 0;
    return rc;
}

static tnode *mkn(parser *p, int kind, int line, size_t nk, tnode *a, tnode *b, tnode *c)
{
    tnode *n = mk(p, kind, line);
    if (!n)
        return NULL;
    n->kids = aalloc(p->a, (nk ? nk : 1) * sizeof *n->kids);
    if (!n->kids) {
        CKPT_FAIL(p->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    n->n = nk;
    if (nk > 0)
        n->kids[0] = a;
    if (nk > 1)
        n->kids[1] = b;
    if (nk > 2)
        n->kids[2] = c;
    return n;
}

static char *tok_name(parser *p, const tok *t)
{
    char *s = aalloc(p->a, t->len + 1);
    if (!s) {
        CKPT_FAIL(p->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(s, t->p, t->len);
    s[t->len] = 0;
    return s;
}

static const char *const keywords[] = {"and",  "or",    "not",      "if",    "else",   "elif",
                                       "for",  "in",    "while",    "def",   "class",  "return",
                                       "pass", "break", "continue", "raise", "assert", "is",
                                       "None", "True",  "False",    "del",   "import", "from",
                                       "with", "lambda"};
static bool is_keyword(const tok *t)
{
    for (size_t i = 0; i < sizeof keywords / sizeof *keywords; i++)
        if (is_kw(t, keywords[i]))
            return true;
    return false;
}

static tnode *p_test(parser *p);
static tnode *p_expr(parser *p);
static tnode *p_block(parser *p);
static tnode *p_stmt(parser *p);

#define ENTER(p)                                                                                 \
    do {                                                                                         \
        if (++(p)->depth > TS_MAX_PDEPTH) {                                                      \
            pfail((p), peek(p)->line, "expression nested too deeply", NULL);                     \
            (p)->depth--;                                                                        \
            return NULL;                                                                         \
        }                                                                                        \
    } while (0)
#define LEAVE(p, v)                                                                              \
    do {                                                                                         \
        (p)->depth--;                                                                            \
        return (v);                                                                              \
    } while (0)

/* ------------------------------------------------------------ expressions */

/* Comma-separated tests up to a closing token; a trailing comma or several
 * items give a tuple when `tuple_kind`. */
static tnode *p_testlist(parser *p, bool allow_star)
{
    int line = peek(p)->line;
    tnode *first = NULL;
    if (allow_star && is_op(peek(p), "*")) {
        next(p);
        tnode *e = p_expr(p);
        first = e ? mkn(p, TN_STARRED, line, 1, e, NULL, NULL) : NULL;
    } else {
        first = p_test(p);
    }
    if (!first)
        return NULL;
    if (!is_op(peek(p), ","))
        return first;
    kidv k = {0};
    if (kv_push(p, &k, first) < 0)
        return NULL;
    while (accept_op(p, ",")) {
        tok *t = peek(p);
        if (t->kind == K_NEWLINE || is_op(t, "=") || is_op(t, ")") || is_op(t, ":") ||
            t->kind == K_EOF || is_kw(t, "in") || is_op(t, "+=") || is_op(t, "-="))
            break;
        tnode *e = p_test(p);
        if (!e || kv_push(p, &k, e) < 0) {
            free(k.v);
            return NULL;
        }
    }
    tnode *tu = mk(p, TN_TUPLE, line);
    if (!tu || kv_finish(p, &k, tu) < 0) {
        free(k.v);
        return NULL;
    }
    return tu;
}

/* for-target: NAME or tuple of NAMEs (possibly parenthesised) */
static tnode *p_target(parser *p)
{
    int line = peek(p)->line;
    kidv k = {0};
    for (;;) {
        tnode *e = p_expr(p);
        if (!e || kv_push(p, &k, e) < 0) {
            free(k.v);
            return NULL;
        }
        if (!accept_op(p, ","))
            break;
        if (is_kw(peek(p), "in"))
            break;
    }
    if (k.n == 1) {
        tnode *e = k.v[0];
        free(k.v);
        return e;
    }
    tnode *tu = mk(p, TN_TUPLE, line);
    if (!tu || kv_finish(p, &k, tu) < 0) {
        free(k.v);
        return NULL;
    }
    return tu;
}

/* after `[elt` or `{k: v`: `for target in iter [if cond]` */
static tnode *p_comp(parser *p, int kind, tnode *e0, tnode *e1, int line)
{
    next(p); /* for */
    tnode *tgt = p_target(p);
    if (!tgt)
        return NULL;
    if (!accept_kw(p, "in")) {
        pfail(p, peek(p)->line, "expected 'in' in a comprehension", NULL);
        return NULL;
    }
    tnode *it = p_test(p);
    if (!it)
        return NULL;
    /* `p_test` handles a trailing `if .. else`; a filter `if` follows here */
    tnode *cond = NULL;
    if (accept_kw(p, "if")) {
        cond = p_test(p);
        if (!cond)
            return NULL;
    }
    if (is_kw(peek(p), "for")) {
        pfail(p, peek(p)->line, "nested comprehensions are not supported", NULL);
        return NULL;
    }
    tnode *n = mk(p, kind, line);
    if (!n)
        return NULL;
    size_t nk = kind == TN_LISTCOMP ? 4 : 5;
    n->kids = aalloc(p->a, nk * sizeof *n->kids);
    if (!n->kids) {
        CKPT_FAIL(p->err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    n->n = nk;
    size_t i = 0;
    n->kids[i++] = e0;
    if (kind == TN_DICTCOMP)
        n->kids[i++] = e1;
    n->kids[i++] = tgt;
    n->kids[i++] = it;
    n->kids[i++] = cond;
    return n;
}

static tnode *p_atom(parser *p)
{
    tok *t = peek(p);
    int line = t->line;
    tnode *n = NULL;
    switch (t->kind) {
    case K_INT:
        next(p);
        n = mk(p, TN_INT, line);
        if (n)
            n->i = t->i;
        return n;
    case K_FLOAT:
        next(p);
        n = mk(p, TN_FLOAT, line);
        if (n)
            n->f = t->f;
        return n;
    case K_STR: {
        /* adjacent literals concatenate */
        size_t total = 0, j = p->pos;
        while (j < p->n && p->toks[j].kind == K_STR) {
            total += p->toks[j].slen;
            j++;
        }
        n = mk(p, TN_STR, line);
        if (!n)
            return NULL;
        n->s = aalloc(p->a, total + 1);
        if (!n->s) {
            CKPT_FAIL(p->err, CKPT_E_NOMEM, "out of memory");
            return NULL;
        }
        size_t o = 0;
        while (peek(p)->kind == K_STR) {
            tok *s = next(p);
            memcpy(n->s + o, s->s, s->slen);
            o += s->slen;
        }
        n->s[o] = 0;
        n->slen = o;
        return n;
    }
    case K_NAME:
        if (is_kw(t, "None") || is_kw(t, "True") || is_kw(t, "False")) {
            next(p);
            return mk(p,
                      is_kw(t, "None")   ? TN_NONE
                      : is_kw(t, "True") ? TN_TRUE
                                         : TN_FALSE,
                      line);
        }
        if (is_keyword(t)) {
            char *w = tok_name(p, t);
            pfail(p, line, "unexpected keyword", w);
            return NULL;
        }
        next(p);
        n = mk(p, TN_NAME, line);
        if (n && !(n->s = tok_name(p, t)))
            return NULL;
        if (n)
            n->slen = t->len;
        return n;
    case K_OP:
        if (is_op(t, "...")) {
            next(p);
            return mk(p, TN_ELLIPSIS, line);
        }
        if (is_op(t, "(")) {
            next(p);
            if (accept_op(p, ")"))
                return mk(p, TN_TUPLE, line);
            tnode *e = p_test(p);
            if (!e)
                return NULL;
            if (is_kw(peek(p), "for")) {
                tnode *c = p_comp(p, TN_LISTCOMP, e, NULL, line);
                if (!c || expect_op(p, ")") < 0)
                    return NULL;
                return c; /* a generator: evaluated as a list */
            }
            if (accept_op(p, ")"))
                return e;
            kidv k = {0};
            if (kv_push(p, &k, e) < 0)
                return NULL;
            while (accept_op(p, ",")) {
                if (is_op(peek(p), ")"))
                    break;
                tnode *x = p_test(p);
                if (!x || kv_push(p, &k, x) < 0) {
                    free(k.v);
                    return NULL;
                }
            }
            if (expect_op(p, ")") < 0) {
                free(k.v);
                return NULL;
            }
            n = mk(p, TN_TUPLE, line);
            if (!n || kv_finish(p, &k, n) < 0) {
                free(k.v);
                return NULL;
            }
            return n;
        }
        if (is_op(t, "[")) {
            next(p);
            kidv k = {0};
            if (!is_op(peek(p), "]")) {
                tnode *e = p_test(p);
                if (!e)
                    return NULL;
                if (is_kw(peek(p), "for")) {
                    tnode *c = p_comp(p, TN_LISTCOMP, e, NULL, line);
                    if (!c || expect_op(p, "]") < 0)
                        return NULL;
                    return c;
                }
                if (kv_push(p, &k, e) < 0)
                    return NULL;
                while (accept_op(p, ",")) {
                    if (is_op(peek(p), "]"))
                        break;
                    tnode *x = p_test(p);
                    if (!x || kv_push(p, &k, x) < 0) {
                        free(k.v);
                        return NULL;
                    }
                }
            }
            if (expect_op(p, "]") < 0) {
                free(k.v);
                return NULL;
            }
            n = mk(p, TN_LIST, line);
            if (!n || kv_finish(p, &k, n) < 0) {
                free(k.v);
                return NULL;
            }
            return n;
        }
        if (is_op(t, "{")) {
            next(p);
            kidv k = {0};
            if (!is_op(peek(p), "}")) {
                tnode *kk = p_test(p);
                if (!kk || expect_op(p, ":") < 0)
                    return NULL;
                tnode *vv = p_test(p);
                if (!vv)
                    return NULL;
                if (is_kw(peek(p), "for")) {
                    tnode *c = p_comp(p, TN_DICTCOMP, kk, vv, line);
                    if (!c || expect_op(p, "}") < 0)
                        return NULL;
                    return c;
                }
                if (kv_push(p, &k, kk) < 0 || kv_push(p, &k, vv) < 0) {
                    free(k.v);
                    return NULL;
                }
                while (accept_op(p, ",")) {
                    if (is_op(peek(p), "}"))
                        break;
                    kk = p_test(p);
                    if (!kk || expect_op(p, ":") < 0 || !(vv = p_test(p)) ||
                        kv_push(p, &k, kk) < 0 || kv_push(p, &k, vv) < 0) {
                        free(k.v);
                        return NULL;
                    }
                }
            }
            if (expect_op(p, "}") < 0) {
                free(k.v);
                return NULL;
            }
            n = mk(p, TN_DICT, line);
            if (!n || kv_finish(p, &k, n) < 0) {
                free(k.v);
                return NULL;
            }
            return n;
        }
        break;
    default: break;
    }
    pfail(p, line, "unexpected token",
          t->kind == K_NEWLINE  ? "(end of line)"
          : t->kind == K_EOF    ? "(end of text)"
          : t->kind == K_INDENT ? "(indent)"
          : t->kind == K_DEDENT ? "(dedent)"
                                : NULL);
    return NULL;
}

static tnode *p_subscript(parser *p)
{
    int line = peek(p)->line;
    tnode *lo = NULL, *hi = NULL, *st = NULL;
    if (!is_op(peek(p), ":")) {
        lo = p_test(p);
        if (!lo)
            return NULL;
        if (!is_op(peek(p), ":"))
            return lo;
    }
    next(p); /* : */
    if (!is_op(peek(p), ":") && !is_op(peek(p), "]") && !is_op(peek(p), ",")) {
        hi = p_test(p);
        if (!hi)
            return NULL;
    }
    if (accept_op(p, ":")) {
        if (!is_op(peek(p), "]") && !is_op(peek(p), ",")) {
            st = p_test(p);
            if (!st)
                return NULL;
        }
    }
    return mkn(p, TN_SLICE, line, 3, lo, hi, st);
}

static tnode *p_trailers(parser *p, tnode *e)
{
    for (;;) {
        tok *t = peek(p);
        int line = t->line;
        if (is_op(t, "(")) {
            next(p);
            kidv k = {0};
            if (kv_push(p, &k, e) < 0)
                return NULL;
            while (!is_op(peek(p), ")")) {
                tnode *a;
                if (peek(p)->kind == K_NAME && is_op(peek2(p), "=")) {
                    tok *nt = next(p);
                    next(p);
                    tnode *v = p_test(p);
                    a = v ? mkn(p, TN_KW, nt->line, 1, v, NULL, NULL) : NULL;
                    if (a && !(a->s = tok_name(p, nt)))
                        a = NULL;
                } else if (is_op(peek(p), "*")) {
                    next(p);
                    tnode *v = p_test(p);
                    a = v ? mkn(p, TN_STARRED, line, 1, v, NULL, NULL) : NULL;
                } else {
                    a = p_test(p);
                }
                if (!a || kv_push(p, &k, a) < 0) {
                    free(k.v);
                    return NULL;
                }
                if (!accept_op(p, ","))
                    break;
            }
            if (expect_op(p, ")") < 0) {
                free(k.v);
                return NULL;
            }
            tnode *c = mk(p, TN_CALL, line);
            if (!c || kv_finish(p, &k, c) < 0) {
                free(k.v);
                return NULL;
            }
            e = c;
        } else if (is_op(t, "[")) {
            next(p);
            tnode *s = p_subscript(p);
            if (!s)
                return NULL;
            if (is_op(peek(p), ",")) {
                kidv k = {0};
                if (kv_push(p, &k, s) < 0)
                    return NULL;
                while (accept_op(p, ",")) {
                    if (is_op(peek(p), "]"))
                        break;
                    tnode *x = p_subscript(p);
                    if (!x || kv_push(p, &k, x) < 0) {
                        free(k.v);
                        return NULL;
                    }
                }
                tnode *tu = mk(p, TN_TUPLE, line);
                if (!tu || kv_finish(p, &k, tu) < 0) {
                    free(k.v);
                    return NULL;
                }
                s = tu;
            }
            if (expect_op(p, "]") < 0)
                return NULL;
            e = mkn(p, TN_SUB, line, 2, e, s, NULL);
            if (!e)
                return NULL;
        } else if (is_op(t, ".")) {
            next(p);
            tok *nt = next(p);
            if (nt->kind != K_NAME) {
                pfail(p, nt->line, "expected a name after '.'", NULL);
                return NULL;
            }
            tnode *a = mkn(p, TN_ATTR, line, 1, e, NULL, NULL);
            if (!a || !(a->s = tok_name(p, nt)))
                return NULL;
            a->slen = nt->len;
            e = a;
        } else {
            return e;
        }
    }
}

static tnode *p_factor(parser *p);

static tnode *p_power(parser *p)
{
    ENTER(p);
    tnode *e = p_atom(p);
    if (e)
        e = p_trailers(p, e);
    if (e && is_op(peek(p), "**")) {
        int line = next(p)->line;
        tnode *r = p_factor(p);
        e = r ? mkn(p, TN_BINOP, line, 2, e, r, NULL) : NULL;
        if (e)
            e->op = TOP_POW;
    }
    LEAVE(p, e);
}

static tnode *p_factor(parser *p)
{
    ENTER(p);
    tok *t = peek(p);
    tnode *e;
    if (is_op(t, "-") || is_op(t, "+") || is_op(t, "~")) {
        next(p);
        tnode *x = p_factor(p);
        if (x && is_op(t, "-") && (x->kind == TN_INT || x->kind == TN_FLOAT) && x->op == 0) {
            /* fold negative literals */
            if (x->kind == TN_INT)
                x->i = (int64_t)(0ull - (uint64_t)x->i);
            else
                x->f = -x->f;
            x->op = 1; /* folded once */
            LEAVE(p, x);
        }
        e = x ? mkn(p, TN_UNARY, t->line, 1, x, NULL, NULL) : NULL;
        if (e)
            e->op = is_op(t, "-") ? TOP_NEG : is_op(t, "+") ? TOP_POS : TOP_INVERT;
        LEAVE(p, e);
    }
    e = p_power(p);
    LEAVE(p, e);
}

typedef struct binspec {
    const char *op;
    int code;
} binspec;

static tnode *p_binlevel(parser *p, int level);

static const binspec lv_term[] = {{"*", TOP_MUL}, {"/", TOP_DIV},    {"//", TOP_FLOORDIV},
                                  {"%", TOP_MOD}, {"@", TOP_MATMUL}, {NULL, 0}};
static const binspec lv_arith[] = {{"+", TOP_ADD}, {"-", TOP_SUB}, {NULL, 0}};
static const binspec lv_shift[] = {{"<<", TOP_LSHIFT}, {">>", TOP_RSHIFT}, {NULL, 0}};
static const binspec lv_and[] = {{"&", TOP_BITAND}, {NULL, 0}};
static const binspec lv_xor[] = {{"^", TOP_BITXOR}, {NULL, 0}};
static const binspec lv_or[] = {{"|", TOP_BITOR}, {NULL, 0}};
static const binspec *const levels[] = {lv_or, lv_xor, lv_and, lv_shift, lv_arith, lv_term};

static tnode *p_binlevel(parser *p, int level)
{
    if (level >= 6)
        return p_factor(p);
    ENTER(p);
    tnode *e = p_binlevel(p, level + 1);
    while (e) {
        const binspec *hit = NULL;
        for (const binspec *b = levels[level]; b->op; b++)
            if (is_op(peek(p), b->op))
                hit = b;
        if (!hit)
            break;
        int line = next(p)->line;
        tnode *r = p_binlevel(p, level + 1);
        e = r ? mkn(p, TN_BINOP, line, 2, e, r, NULL) : NULL;
        if (e)
            e->op = hit->code;
    }
    LEAVE(p, e);
}

static tnode *p_expr(parser *p)
{
    return p_binlevel(p, 0);
}

static int cmp_op(parser *p)
{
    tok *t = peek(p);
    static const binspec c[] = {{"==", TOP_EQ}, {"!=", TOP_NE}, {"<=", TOP_LE}, {">=", TOP_GE},
                                {"<", TOP_LT},  {">", TOP_GT},  {NULL, 0}};
    for (const binspec *b = c; b->op; b++)
        if (is_op(t, b->op)) {
            next(p);
            return b->code;
        }
    if (is_kw(t, "in")) {
        next(p);
        return TOP_IN;
    }
    if (is_kw(t, "not") && is_kw(peek2(p), "in")) {
        next(p);
        next(p);
        return TOP_NOTIN;
    }
    if (is_kw(t, "is")) {
        next(p);
        if (accept_kw(p, "not"))
            return TOP_ISNOT;
        return TOP_IS;
    }
    return 0;
}

static tnode *p_comparison(parser *p)
{
    ENTER(p);
    tnode *e = p_expr(p);
    tnode *acc = NULL;
    while (e) {
        int line = peek(p)->line;
        int op = cmp_op(p);
        if (!op)
            break;
        tnode *r = p_expr(p);
        if (!r)
            LEAVE(p, NULL);
        tnode *c = mkn(p, TN_CMP, line, 2, e, r, NULL);
        if (!c)
            LEAVE(p, NULL);
        c->op = op;
        acc = acc ? mkn(p, TN_AND, line, 2, acc, c, NULL) : c;
        if (!acc)
            LEAVE(p, NULL);
        e = r;
    }
    LEAVE(p, acc ? acc : e);
}

static tnode *p_not(parser *p)
{
    ENTER(p);
    if (is_kw(peek(p), "not")) {
        int line = next(p)->line;
        tnode *x = p_not(p);
        LEAVE(p, x ? mkn(p, TN_NOT, line, 1, x, NULL, NULL) : NULL);
    }
    tnode *e = p_comparison(p);
    LEAVE(p, e);
}

static tnode *p_andor(parser *p, bool is_or)
{
    ENTER(p);
    tnode *e = is_or ? p_andor(p, false) : p_not(p);
    while (e && is_kw(peek(p), is_or ? "or" : "and")) {
        int line = next(p)->line;
        tnode *r = is_or ? p_andor(p, false) : p_not(p);
        e = r ? mkn(p, is_or ? TN_OR : TN_AND, line, 2, e, r, NULL) : NULL;
    }
    LEAVE(p, e);
}

static tnode *p_test(parser *p)
{
    ENTER(p);
    tnode *e = p_andor(p, true);
    if (e && is_kw(peek(p), "if") && !is_op(peek2(p), ":")) {
        /* a conditional expression; a comprehension filter `if` is
         * consumed by p_comp instead (it never reaches here with an else) */
        size_t save = p->pos;
        int line = next(p)->line;
        tnode *c = p_andor(p, true);
        if (c && accept_kw(p, "else")) {
            tnode *o = p_test(p);
            LEAVE(p, o ? mkn(p, TN_IFEXP, line, 3, e, c, o) : NULL);
        }
        if (!c)
            LEAVE(p, NULL);
        p->pos = save; /* a filter: give it back */
    }
    LEAVE(p, e);
}

/* ------------------------------------------------------------ statements */

static int end_simple(parser *p)
{
    if (accept_op(p, ";"))
        return 0;
    if (peek(p)->kind == K_NEWLINE) {
        next(p);
        return 0;
    }
    if (peek(p)->kind == K_EOF || peek(p)->kind == K_DEDENT)
        return 0;
    return pfail(p, peek(p)->line, "expected end of statement", NULL);
}

static const binspec augops[] = {{"+=", TOP_ADD},       {"-=", TOP_SUB},
                                 {"*=", TOP_MUL},       {"/=", TOP_DIV},
                                 {"//=", TOP_FLOORDIV}, {"%=", TOP_MOD},
                                 {"**=", TOP_POW},      {"&=", TOP_BITAND},
                                 {"|=", TOP_BITOR},     {"^=", TOP_BITXOR},
                                 {"<<=", TOP_LSHIFT},   {">>=", TOP_RSHIFT},
                                 {"@=", TOP_MATMUL},    {NULL, 0}};

static tnode *p_simple(parser *p)
{
    tok *t = peek(p);
    int line = t->line;
    tnode *n = NULL;
    if (accept_kw(p, "pass"))
        n = mk(p, TS_PASS, line);
    else if (accept_kw(p, "break"))
        n = mk(p, TS_BREAK, line);
    else if (accept_kw(p, "continue"))
        n = mk(p, TS_CONTINUE, line);
    else if (accept_kw(p, "return")) {
        tnode *v = NULL;
        if (peek(p)->kind != K_NEWLINE && !is_op(peek(p), ";") && peek(p)->kind != K_EOF) {
            v = p_testlist(p, false);
            if (!v)
                return NULL;
        }
        n = mkn(p, TS_RETURN, line, 1, v, NULL, NULL);
    } else if (accept_kw(p, "raise")) {
        tnode *v = NULL;
        if (peek(p)->kind != K_NEWLINE && peek(p)->kind != K_EOF) {
            v = p_test(p);
            if (!v)
                return NULL;
            if (accept_kw(p, "from") && !p_test(p))
                return NULL;
        }
        n = mkn(p, TS_RAISE, line, 1, v, NULL, NULL);
    } else if (accept_kw(p, "assert")) {
        tnode *c = p_test(p), *m = NULL;
        if (!c)
            return NULL;
        if (accept_op(p, ",") && !(m = p_test(p)))
            return NULL;
        n = mkn(p, TS_ASSERT, line, 2, c, m, NULL);
    } else if (accept_kw(p, "del")) {
        tnode *v = p_testlist(p, false);
        n = v ? mkn(p, TS_DEL, line, 1, v, NULL, NULL) : NULL;
    } else if (is_kw(t, "import") || is_kw(t, "from")) {
        while (peek(p)->kind != K_NEWLINE && peek(p)->kind != K_EOF)
            next(p);
        n = mk(p, TS_IMPORT, line);
    } else {
        tnode *e = p_testlist(p, true);
        if (!e)
            return NULL;
        if (accept_op(p, ":")) {
            tnode *ann = p_test(p), *v = NULL;
            if (!ann)
                return NULL;
            if (accept_op(p, "=") && !(v = p_testlist(p, false)))
                return NULL;
            n = mkn(p, TS_ANN, line, 3, e, ann, v);
        } else {
            const binspec *aug = NULL;
            for (const binspec *b = augops; b->op; b++)
                if (is_op(peek(p), b->op))
                    aug = b;
            if (aug) {
                next(p);
                tnode *v = p_testlist(p, false);
                n = v ? mkn(p, TS_AUG, line, 2, e, v, NULL) : NULL;
                if (n)
                    n->op = aug->code;
            } else if (is_op(peek(p), "=")) {
                kidv k = {0};
                if (kv_push(p, &k, e) < 0)
                    return NULL;
                while (accept_op(p, "=")) {
                    tnode *v = p_testlist(p, true);
                    if (!v || kv_push(p, &k, v) < 0) {
                        free(k.v);
                        return NULL;
                    }
                }
                n = mk(p, TS_ASSIGN, line);
                if (!n || kv_finish(p, &k, n) < 0) {
                    free(k.v);
                    return NULL;
                }
            } else {
                n = mkn(p, TS_EXPR, line, 1, e, NULL, NULL);
            }
        }
    }
    if (!n || end_simple(p) < 0)
        return NULL;
    return n;
}

static tnode *p_def(parser *p)
{
    int line = next(p)->line; /* def */
    tok *nt = next(p);
    if (nt->kind != K_NAME) {
        pfail(p, nt->line, "expected a function name", NULL);
        return NULL;
    }
    if (expect_op(p, "(") < 0)
        return NULL;
    kidv k = {0};
    while (!is_op(peek(p), ")")) {
        accept_op(p, "*");
        accept_op(p, "**");
        if (is_op(peek(p), ",")) { /* bare `*` */
            next(p);
            continue;
        }
        tok *an = next(p);
        if (an->kind != K_NAME) {
            free(k.v);
            pfail(p, an->line, "expected a parameter name", NULL);
            return NULL;
        }
        tnode *ann = NULL, *def = NULL;
        if (accept_op(p, ":") && !(ann = p_test(p))) {
            free(k.v);
            return NULL;
        }
        if (accept_op(p, "=") && !(def = p_test(p))) {
            free(k.v);
            return NULL;
        }
        tnode *pa = mkn(p, TS_PARAM, an->line, 2, ann, def, NULL);
        if (!pa || !(pa->s = tok_name(p, an)) || kv_push(p, &k, pa) < 0) {
            free(k.v);
            return NULL;
        }
        if (!accept_op(p, ","))
            break;
    }
    if (expect_op(p, ")") < 0) {
        free(k.v);
        return NULL;
    }
    tnode *params = mk(p, TS_PARAMS, line);
    if (!params || kv_finish(p, &k, params) < 0) {
        free(k.v);
        return NULL;
    }
    tnode *ret = NULL;
    if (accept_op(p, "->") && !(ret = p_test(p)))
        return NULL;
    if (expect_op(p, ":") < 0)
        return NULL;
    tnode *body = p_block(p);
    if (!body)
        return NULL;
    tnode *d = mkn(p, TS_DEF, line, 3, params, body, ret);
    if (d && !(d->s = tok_name(p, nt)))
        return NULL;
    return d;
}

static tnode *p_if(parser *p)
{
    int line = next(p)->line; /* if / elif */
    tnode *c = p_test(p);
    if (!c || expect_op(p, ":") < 0)
        return NULL;
    tnode *body = p_block(p);
    if (!body)
        return NULL;
    tnode *els = NULL;
    if (is_kw(peek(p), "elif")) {
        ENTER(p);
        els = p_if(p);
        p->depth--;
        if (!els)
            return NULL;
    } else if (accept_kw(p, "else")) {
        if (expect_op(p, ":") < 0 || !(els = p_block(p)))
            return NULL;
    }
    return mkn(p, TS_IF, line, 3, c, body, els);
}

static tnode *p_stmt(parser *p)
{
    tok *t = peek(p);
    int line = t->line;
    if (is_kw(t, "def"))
        return p_def(p);
    if (is_kw(t, "if"))
        return p_if(p);
    if (is_kw(t, "while")) {
        next(p);
        tnode *c = p_test(p);
        if (!c || expect_op(p, ":") < 0)
            return NULL;
        tnode *b = p_block(p);
        if (!b)
            return NULL;
        if (is_kw(peek(p), "else")) {
            pfail(p, peek(p)->line, "while ... else is not supported", NULL);
            return NULL;
        }
        return mkn(p, TS_WHILE, line, 2, c, b, NULL);
    }
    if (is_kw(t, "for")) {
        next(p);
        tnode *tg = p_target(p);
        if (!tg)
            return NULL;
        if (!accept_kw(p, "in")) {
            pfail(p, peek(p)->line, "expected 'in'", NULL);
            return NULL;
        }
        tnode *it = p_testlist(p, false);
        if (!it || expect_op(p, ":") < 0)
            return NULL;
        tnode *b = p_block(p);
        if (!b)
            return NULL;
        return mkn(p, TS_FOR, line, 3, tg, it, b);
    }
    if (is_kw(t, "with")) {
        next(p);
        tnode *c = p_test(p);
        if (!c)
            return NULL;
        if (accept_kw(p, "as") && !p_expr(p))
            return NULL;
        if (expect_op(p, ":") < 0)
            return NULL;
        tnode *b = p_block(p);
        return b ? mkn(p, TS_WITH, line, 2, c, b, NULL) : NULL;
    }
    if (is_kw(t, "class")) {
        next(p);
        tok *nt = next(p);
        if (nt->kind != K_NAME) {
            pfail(p, nt->line, "expected a class name", NULL);
            return NULL;
        }
        if (accept_op(p, "(")) {
            while (!is_op(peek(p), ")") && peek(p)->kind != K_EOF && peek(p)->kind != K_NEWLINE)
                next(p);
            if (expect_op(p, ")") < 0)
                return NULL;
        }
        if (expect_op(p, ":") < 0)
            return NULL;
        tnode *b = p_block(p);
        tnode *c = b ? mkn(p, TS_CLASS, line, 1, b, NULL, NULL) : NULL;
        if (c && !(c->s = tok_name(p, nt)))
            return NULL;
        return c;
    }
    return p_simple(p);
}

static tnode *p_block(parser *p)
{
    ENTER(p);
    int line = peek(p)->line;
    kidv k = {0};
    tnode *b = mk(p, TS_BLOCK, line);
    if (!b)
        LEAVE(p, NULL);
    if (peek(p)->kind != K_NEWLINE) {
        /* `if x: return y` on one line */
        while (peek(p)->kind != K_NEWLINE && peek(p)->kind != K_EOF) {
            tnode *s = p_simple(p);
            if (!s || kv_push(p, &k, s) < 0) {
                free(k.v);
                LEAVE(p, NULL);
            }
            if (p->pos > 0 && p->toks[p->pos - 1].kind == K_NEWLINE)
                break;
        }
    } else {
        next(p);
        if (peek(p)->kind != K_INDENT) {
            pfail(p, peek(p)->line, "expected an indented block", NULL);
            LEAVE(p, NULL);
        }
        next(p);
        while (peek(p)->kind != K_DEDENT && peek(p)->kind != K_EOF) {
            tnode *s = p_stmt(p);
            if (!s || kv_push(p, &k, s) < 0) {
                free(k.v);
                LEAVE(p, NULL);
            }
        }
        if (peek(p)->kind == K_DEDENT)
            next(p);
    }
    if (kv_finish(p, &k, b) < 0)
        LEAVE(p, NULL);
    LEAVE(p, b);
}

ts_tree *ts_parse(const char *text, size_t len, const char *file, int64_t line0, ckpt_error *err)
{
    parser p = {.file = file ? file : "<code>", .err = err};
    ts_tree *t = calloc(1, sizeof *t);
    p.a = calloc(1, sizeof *p.a);
    if (!t || !p.a) {
        free(t);
        free(p.a);
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    t->arena = p.a;
    if (lex(&p, text, len, line0) < 0)
        goto fail;
    kidv k = {0};
    tnode *root = mk(&p, TS_BLOCK, 1);
    if (!root)
        goto fail;
    while (peek(&p)->kind != K_EOF) {
        tok *tk = peek(&p);
        if (tk->kind == K_NEWLINE) {
            next(&p);
            continue;
        }
        if (tk->kind == K_INDENT || tk->kind == K_DEDENT) {
            free(k.v);
            pfail(&p, tk->line, "unexpected indentation", NULL);
            goto fail;
        }
        tnode *s = p_stmt(&p);
        if (!s || kv_push(&p, &k, s) < 0) {
            free(k.v);
            goto fail;
        }
    }
    if (kv_finish(&p, &k, root) < 0)
        goto fail;
    t->root = root;
    free(p.toks);
    return t;
fail:
    free(p.toks);
    ts_tree_free(t);
    if (err && !err->code)
        CKPT_FAIL(err, CKPT_E_FORMAT, "%s: TorchScript syntax error", p.file);
    return NULL;
}

void ts_tree_free(ts_tree *t)
{
    if (!t)
        return;
    arena_free(t->arena);
    free(t);
}

void ts_tree_free_v(void *t)
{
    ts_tree_free(t);
}
