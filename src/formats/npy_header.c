/* src/formats/npy_header.c - the .npy header: magic, version, length and the
 * Python-literal dict numpy writes (and reads with ast.literal_eval). */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "formats/formats_internal.h"

/* A tiny Python literal reader: strings, ints, True/False/None, tuples,
 * lists and dicts - all ast.literal_eval gives a header. */
typedef struct lit {
    const char *p, *end;
    int depth;
} lit;

typedef enum { L_ERR, L_STR, L_INT, L_TRUE, L_FALSE, L_NONE, L_TUPLE, L_LIST, L_DICT } ltype;

static void ws(lit *l)
{
    while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
        l->p++;
}

static bool word(lit *l, const char *w)
{
    size_t n = strlen(w);
    if (l->p <= l->end && (size_t)(l->end - l->p) >= n && memcmp(l->p, w, n) == 0 &&
        (l->p + n == l->end || !(isalnum((unsigned char)l->p[n]) || l->p[n] == '_'))) {
        l->p += n;
        return true;
    }
    return false;
}

/* Reads a string literal into out (truncated at outn-1); no escapes beyond \\ and quotes. */
static bool str(lit *l, char *out, size_t outn)
{
    if (l->p >= l->end)
        return false;
    if (*l->p == 'b' || *l->p == 'u')
        return false; /* b'' / u'' are not what numpy writes; judge as unknown */
    char q = *l->p;
    if (q != '\'' && q != '"')
        return false;
    l->p++;
    size_t o = 0;
    while (l->p < l->end && *l->p != q) {
        char ch = *l->p++;
        if (ch == '\\')
            return false; /* escapes: not a spelling numpy writes */
        if (ch == '\n')
            return false;
        if (o + 1 < outn)
            out[o++] = ch;
        else
            return false;
    }
    if (l->p >= l->end)
        return false;
    l->p++;
    if (outn)
        out[o] = '\0';
    return true;
}

static bool integer(lit *l, int64_t *v)
{
    const char *s = l->p;
    bool neg = false;
    if (l->p < l->end && (*l->p == '-' || *l->p == '+'))
        neg = *l->p++ == '-';
    if (l->p >= l->end || !isdigit((unsigned char)*l->p))
        return (l->p = s), false;
    uint64_t x = 0;
    while (l->p < l->end && (isdigit((unsigned char)*l->p) || *l->p == '_')) {
        if (*l->p != '_') {
            if (x > (UINT64_MAX - 9) / 10)
                return false;
            x = x * 10 + (uint64_t)(*l->p - '0');
        }
        l->p++;
    }
    if (x > INT64_MAX)
        return false;
    *v = neg ? -(int64_t)x : (int64_t)x;
    return true;
}

/* descr judgement */
typedef enum { D_UNKNOWN = -1, D_PLAIN = 0, D_OBJECT = 1 } dkind;

static dkind descr_one(const char *s)
{
    while (*s == ' ')
        s++;
    if (*s == '<' || *s == '>' || *s == '|' || *s == '=')
        s++;
    static const char *const obj[] = {"O", "O8", "O4", "object", "object_", "object0"};
    for (size_t i = 0; i < sizeof(obj) / sizeof(obj[0]); i++)
        if (strcmp(s, obj[i]) == 0)
            return D_OBJECT;
    static const char *const plain[] = {
        "b1",     "?",      "i1",     "i2",      "i4",      "i8",      "u1",        "u2",
        "u4",     "u8",     "f2",     "f4",      "f8",      "f16",     "c8",        "c16",
        "c32",    "b",      "B",      "h",       "H",       "i",       "I",         "l",
        "L",      "q",      "Q",      "e",       "f",       "d",       "g",         "F",
        "D",      "G",      "bool",   "int8",    "int16",   "int32",   "int64",     "uint8",
        "uint16", "uint32", "uint64", "float16", "float32", "float64", "complex64", "complex128"};
    for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
        if (strcmp(s, plain[i]) == 0)
            return D_PLAIN;
    if ((s[0] == 'S' || s[0] == 'U' || s[0] == 'V' || s[0] == 'a') &&
        strspn(s + 1, "0123456789") == strlen(s + 1))
        return D_PLAIN;
    if ((s[0] == 'M' || s[0] == 'm') && s[1] == '8') {
        const char *u = s + 2;
        if (*u == '\0')
            return D_PLAIN;
        if (*u == '[' && strspn(u + 1, "0123456789YMWDhmsunpfa") == strlen(u + 1) - 1 &&
            u[strlen(u) - 1] == ']')
            return D_PLAIN;
    }
    return D_UNKNOWN;
}

static dkind descr_str(const char *s)
{
    if (!strchr(s, ','))
        return descr_one(s);
    /* 'i4,O': a comma-separated structured dtype */
    char buf[64], *save = NULL;
    snprintf(buf, sizeof(buf), "%s", s);
    dkind k = D_PLAIN;
    for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        dkind x = descr_one(t);
        if (x == D_UNKNOWN)
            return D_UNKNOWN;
        if (x == D_OBJECT)
            k = D_OBJECT;
    }
    return k;
}

static dkind descr_value(lit *l, char *text, size_t textn);

/* a sub-array shape or (title, name): skipped over */
static bool skip_value(lit *l)
{
    ws(l);
    if (++l->depth > 32)
        return false;
    bool ok = true;
    char tmp[64];
    int64_t v;
    if (l->p < l->end && (*l->p == '(' || *l->p == '[')) {
        char close = *l->p == '(' ? ')' : ']';
        l->p++;
        for (;;) {
            ws(l);
            if (l->p < l->end && *l->p == close) {
                l->p++;
                break;
            }
            if (!skip_value(l)) {
                ok = false;
                break;
            }
            ws(l);
            if (l->p < l->end && *l->p == ',')
                l->p++;
            else if (!(l->p < l->end && *l->p == close)) {
                ok = false;
                break;
            }
        }
    } else if (!(str(l, tmp, sizeof(tmp)) || integer(l, &v) || word(l, "True") ||
                 word(l, "False") || word(l, "None")))
        ok = false;
    l->depth--;
    return ok;
}

/* A list of fields [(name, descr[, shape]), ...] */
static dkind descr_fields(lit *l)
{
    if (++l->depth > 32)
        return D_UNKNOWN;
    l->p++; /* [ */
    dkind k = D_PLAIN;
    for (;;) {
        ws(l);
        if (l->p < l->end && *l->p == ']') {
            l->p++;
            break;
        }
        if (l->p >= l->end || *l->p != '(')
            return D_UNKNOWN;
        l->p++;
        if (!skip_value(l)) /* name, or (title, name) */
            return D_UNKNOWN;
        ws(l);
        if (l->p >= l->end || *l->p != ',')
            return D_UNKNOWN;
        l->p++;
        ws(l);
        char t[64];
        dkind x = descr_value(l, t, sizeof(t));
        if (x == D_UNKNOWN)
            return D_UNKNOWN;
        if (x == D_OBJECT)
            k = D_OBJECT;
        ws(l);
        if (l->p < l->end && *l->p == ',') {
            l->p++;
            ws(l);
            if (l->p < l->end && *l->p != ')' && !skip_value(l)) /* sub-array shape */
                return D_UNKNOWN;
            ws(l);
            if (l->p < l->end && *l->p == ',') /* trailing comma */
                l->p++;
            ws(l);
        }
        if (l->p >= l->end || *l->p != ')')
            return D_UNKNOWN;
        l->p++;
        ws(l);
        if (l->p < l->end && *l->p == ',')
            l->p++;
        else if (!(l->p < l->end && *l->p == ']'))
            return D_UNKNOWN;
    }
    l->depth--;
    return k;
}

static dkind descr_value(lit *l, char *text, size_t textn)
{
    ws(l);
    text[0] = '\0';
    if (l->p >= l->end)
        return D_UNKNOWN;
    if (*l->p == '\'' || *l->p == '"')
        return str(l, text, textn) ? descr_str(text) : D_UNKNOWN;
    if (*l->p == '[')
        return descr_fields(l);
    if (*l->p == '(') { /* (base descr, sub-array shape) */
        if (++l->depth > 32)
            return D_UNKNOWN;
        l->p++;
        char t[64];
        dkind k = descr_value(l, t, sizeof(t));
        ws(l);
        if (k == D_UNKNOWN || l->p >= l->end || *l->p != ',')
            return D_UNKNOWN;
        l->p++;
        if (!skip_value(l))
            return D_UNKNOWN;
        ws(l);
        if (l->p < l->end && *l->p == ',')
            l->p++;
        ws(l);
        if (l->p >= l->end || *l->p != ')')
            return D_UNKNOWN;
        l->p++;
        l->depth--;
        return k;
    }
    return D_UNKNOWN; /* anything else: not judged */
}

static int fail(char *why, size_t whyn, const char *msg)
{
    if (why && whyn)
        snprintf(why, whyn, "%s", msg);
    return CKPT_NPY_INVALID;
}

int ckpt__npy_header_parse(const uint8_t *buf, size_t n, ckpt_npy_header *out, char *why,
                           size_t whyn)
{
    memset(out, 0, sizeof(*out));
    if (!buf || n < 6 || memcmp(buf, "\x93NUMPY", 6) != 0) {
        if (why && whyn)
            snprintf(why, whyn, "no .npy magic");
        return CKPT_NPY_NOT;
    }
    if (n < 10)
        return fail(why, whyn, "npy header truncated");
    out->major = buf[6];
    out->minor = buf[7];
    size_t hl, start;
    if (out->major == 1) {
        hl = (size_t)buf[8] | ((size_t)buf[9] << 8);
        start = 10;
    } else if (out->major == 2 || out->major == 3) {
        if (n < 12)
            return fail(why, whyn, "npy header truncated");
        hl = (size_t)buf[8] | ((size_t)buf[9] << 8) | ((size_t)buf[10] << 16) |
             ((size_t)buf[11] << 24);
        start = 12;
    } else {
        return fail(why, whyn, "npy format version is not 1, 2 or 3");
    }
    if (hl > n - start)
        return fail(why, whyn, "npy header truncated");
    out->data_offset = start + hl;
    lit l = {(const char *)buf + start, (const char *)buf + start + hl, 0};
    ws(&l);
    if (l.p >= l.end || *l.p != '{')
        return fail(why, whyn, "npy header is not a dict");
    l.p++;
    int seen = 0;
    dkind dk = D_UNKNOWN;
    for (;;) {
        ws(&l);
        if (l.p < l.end && *l.p == '}') {
            l.p++;
            break;
        }
        char key[32];
        if (!str(&l, key, sizeof(key)))
            return fail(why, whyn, "npy header key is not a string");
        ws(&l);
        if (l.p >= l.end || *l.p != ':')
            return fail(why, whyn, "npy header: ':' expected");
        l.p++;
        ws(&l);
        if (strcmp(key, "descr") == 0 && !(seen & 1)) {
            seen |= 1;
            dk = descr_value(&l, out->descr, sizeof(out->descr));
            if (dk == D_UNKNOWN)
                return fail(why, whyn, "npy descr is not a dtype ckpt can judge");
        } else if (strcmp(key, "fortran_order") == 0 && !(seen & 2)) {
            seen |= 2;
            if (word(&l, "True"))
                out->fortran_order = true;
            else if (!word(&l, "False"))
                return fail(why, whyn, "npy fortran_order is not a bool");
        } else if (strcmp(key, "shape") == 0 && !(seen & 4)) {
            seen |= 4;
            if (l.p >= l.end || *l.p != '(')
                return fail(why, whyn, "npy shape is not a tuple");
            l.p++;
            for (;;) {
                ws(&l);
                if (l.p < l.end && *l.p == ')') {
                    l.p++;
                    break;
                }
                int64_t v;
                if (!integer(&l, &v) || v < 0 || out->ndim >= 32)
                    return fail(why, whyn, "npy shape holds something other than sizes");
                out->shape[out->ndim++] = v;
                ws(&l);
                if (l.p < l.end && *l.p == ',')
                    l.p++;
                else if (!(l.p < l.end && *l.p == ')'))
                    return fail(why, whyn, "npy shape is not a tuple");
            }
        } else {
            return fail(why, whyn, "npy header has a key other than descr, fortran_order, shape");
        }
        ws(&l);
        if (l.p < l.end && *l.p == ',')
            l.p++;
        else if (!(l.p < l.end && *l.p == '}'))
            return fail(why, whyn, "npy header: ',' or '}' expected");
    }
    ws(&l);
    if (l.p != l.end)
        return fail(why, whyn, "bytes after the npy header dict");
    if (seen != 7)
        return fail(why, whyn, "npy header lacks descr, fortran_order or shape");
    out->has_object = dk == D_OBJECT;
    return CKPT_NPY_OK;
}
