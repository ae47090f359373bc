/* src/core/walk.c - pre-order tensor walk with torch-style key paths. */
#include <stdio.h>
#include <string.h>

#include "err.h"
#include "obj.h"

#define WALK_MAX_DEPTH 1000
#define WALK_MAX_VISITS 20000000ULL
#define KEY_MAX 8192

typedef struct walker {
    ckpt_tensor_visit_fn fn;
    void *payload;
    ckpt_error *err;
    char key[KEY_MAX];
    size_t len;
    uint64_t visits;
} walker;

typedef struct kbuf {
    char *p;
    size_t len, cap;
    bool overflow;
} kbuf;

static void kb_put(kbuf *b, const char *s, size_t n)
{
    if (b->len + n >= b->cap) {
        b->overflow = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void kb_puts(kbuf *b, const char *s)
{
    kb_put(b, s, strlen(s));
}

/* Python repr of str/bytes (quote choice and escapes as CPython). */
static void repr_string(kbuf *b, const ckpt_obj *o)
{
    bool is_bytes = o->type != CKPT_T_STR;
    const char *s = o->u.s.p;
    size_t n = o->u.s.n;
    bool has_sq = memchr(s, '\'', n) != NULL, has_dq = memchr(s, '"', n) != NULL;
    char q = (has_sq && !has_dq) ? '"' : '\'';
    if (is_bytes)
        kb_put(b, "b", 1);
    kb_put(b, &q, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        if (c == (unsigned char)q || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            kb_put(b, tmp, 2);
        } else if (c == '\n') {
            kb_puts(b, "\\n");
        } else if (c == '\r') {
            kb_puts(b, "\\r");
        } else if (c == '\t') {
            kb_puts(b, "\\t");
        } else if (c < 0x20 || c == 0x7f || (is_bytes && c >= 0x80)) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
            kb_puts(b, tmp);
        } else {
            kb_put(b, (const char *)&c, 1);
        }
    }
    kb_put(b, &q, 1);
}

/* Python repr of a hashable key; `top` strs are written bare. */
static void key_text(kbuf *b, const ckpt_obj *k, bool top)
{
    char tmp[64];
    switch (k->type) {
    case CKPT_T_STR:
        if (top)
            kb_put(b, k->u.s.p, k->u.s.n);
        else
            repr_string(b, k);
        break;
    case CKPT_T_BYTES: repr_string(b, k); break;
    case CKPT_T_INT:
        snprintf(tmp, sizeof(tmp), "%lld", (long long)k->u.i);
        kb_puts(b, tmp);
        break;
    case CKPT_T_BOOL: kb_puts(b, k->u.b ? "True" : "False"); break;
    case CKPT_T_NONE: kb_puts(b, "None"); break;
    case CKPT_T_FLOAT:
        ckpt__float_repr(k->u.f, tmp, sizeof(tmp));
        kb_puts(b, tmp);
        break;
    case CKPT_T_TUPLE:
        kb_puts(b, "(");
        for (size_t i = 0; i < k->u.seq.n; i++) {
            if (i)
                kb_puts(b, ", ");
            key_text(b, k->u.seq.items[i], false);
        }
        kb_puts(b, k->u.seq.n == 1 ? ",)" : ")");
        break;
    case CKPT_T_DTYPE:
        kb_puts(b, "torch.");
        kb_puts(b, ckpt_dtype_name(k->u.dtype));
        break;
    default:
        kb_puts(b, "<");
        kb_puts(b, ckpt_type_name(k->type));
        kb_puts(b, ">");
        break;
    }
}

static int walk(walker *w, const ckpt_obj *o, int depth);

/* Descend into child `c` under key component `k` (text in comp). */
static int child(walker *w, const ckpt_obj *c, const char *comp, size_t comp_len, int depth)
{
    size_t saved = w->len;
    size_t need = comp_len + (saved ? 1 : 0);
    if (saved + need >= KEY_MAX)
        return CKPT_FAIL(w->err, CKPT_E_LIMIT, "key path longer than %d bytes", KEY_MAX);
    if (saved)
        w->key[w->len++] = '.';
    memcpy(w->key + w->len, comp, comp_len);
    w->len += comp_len;
    w->key[w->len] = '\0';
    int rc = walk(w, c, depth + 1);
    w->len = saved;
    w->key[saved] = '\0';
    return rc;
}

static int child_key(walker *w, const ckpt_obj *c, const ckpt_obj *key, int depth)
{
    char buf[1024];
    kbuf b = {buf, 0, sizeof(buf), false};
    buf[0] = '\0';
    key_text(&b, key, true);
    if (b.overflow)
        return CKPT_FAIL(w->err, CKPT_E_LIMIT, "dict key too long for a key path");
    return child(w, c, buf, b.len, depth);
}

static int child_index(walker *w, const ckpt_obj *c, size_t i, int depth)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%zu", i);
    return child(w, c, buf, (size_t)n, depth);
}

static int walk(walker *w, const ckpt_obj *o, int depth)
{
    if (!o)
        return 0;
    if (depth > WALK_MAX_DEPTH)
        return CKPT_FAIL(w->err, CKPT_E_LIMIT, "nesting deeper than %d (or a cycle)",
                         WALK_MAX_DEPTH);
    if (++w->visits > WALK_MAX_VISITS)
        return CKPT_FAIL(w->err, CKPT_E_LIMIT, "more than %llu nodes visited",
                         (unsigned long long)WALK_MAX_VISITS);
    int rc = 0;
    switch (o->type) {
    case CKPT_T_TENSOR: return w->fn(w->payload, w->key, o);
    case CKPT_T_TUPLE:
    case CKPT_T_LIST:
    case CKPT_T_SET:
        for (size_t i = 0; i < o->u.seq.n && rc == 0; i++)
            rc = child_index(w, o->u.seq.items[i], i, depth);
        return rc;
    case CKPT_T_DICT:
        for (size_t i = 0; i < o->u.dict->n && rc == 0; i++)
            rc = child_key(w, o->u.dict->vals[i], o->u.dict->keys[i], depth);
        return rc;
    case CKPT_T_OBJECT:
        return o->u.obj->state ? walk(w, o->u.obj->state, depth + 1) : 0;
    default: return 0;
    }
}

int ckpt_walk_tensors(const ckpt_obj *root, ckpt_tensor_visit_fn fn, void *payload,
                      ckpt_error *err)
{
    if (!fn)
        return CKPT_FAIL(err, CKPT_E_ARG, "no visitor");
    walker local; /* 8 KiB key buffer on the stack */
    walker *w = &local;
    w->fn = fn;
    w->payload = payload;
    w->err = err;
    w->len = 0;
    w->key[0] = '\0';
    w->visits = 0;
    return walk(w, root, 0);
}
