/* src/core/repr.c - Python's repr of values: the spelling of dict keys in key
 * paths (ckpt_obj_walk_tensors, the CLI) and of values in listings. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "obj.h"

typedef struct tbuf {
    char *p;
    size_t len, cap;
} tbuf;

static void tb_put(tbuf *b, const char *s, size_t n)
{
    if (b->cap == 0)
        return;
    if (b->len + n >= b->cap)
        n = b->cap - 1 - b->len;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void tb_puts(tbuf *b, const char *s)
{
    tb_put(b, s, strlen(s));
}

void ckpt__float_repr(double v, char *buf, size_t n)
{
    if (isnan(v)) {
        snprintf(buf, n, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, n, "%sinf", v < 0 ? "-" : "");
        return;
    }
    char tmp[64];
    int p = 1;
    for (; p <= 17; p++) {
        snprintf(tmp, sizeof(tmp), "%.*e", p - 1, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    const char *e = strchr(tmp, 'e');
    int exp = e ? atoi(e + 1) : 0;
    if (exp < -4 || exp >= 16) {
        snprintf(buf, n, "%s", tmp);
        return;
    }
    int decimals = p - 1 - exp;
    snprintf(tmp, sizeof(tmp), "%.*f", decimals < 0 ? 0 : decimals, v);
    snprintf(buf, n, "%s%s", tmp, strchr(tmp, '.') ? "" : ".0");
}

static void repr_str(tbuf *b, const char *s, size_t n, bool bytes)
{
    bool sq = memchr(s, '\'', n) != NULL, dq = memchr(s, '"', n) != NULL;
    char q = (sq && !dq) ? '"' : '\'';
    if (bytes)
        tb_put(b, "b", 1);
    tb_put(b, &q, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char tmp[8];
        if (c == (unsigned char)q || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            tb_put(b, tmp, 2);
        } else if (c == '\n') {
            tb_puts(b, "\\n");
        } else if (c == '\t') {
            tb_puts(b, "\\t");
        } else if (c == '\r') {
            tb_puts(b, "\\r");
        } else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
            snprintf(tmp, sizeof(tmp), "\\x%02x", c);
            tb_puts(b, tmp);
        } else {
            tb_put(b, (const char *)&c, 1);
        }
    }
    tb_put(b, &q, 1);
}

static void value_text(tbuf *b, const ckpt_obj *o, bool bare_str, int depth)
{
    char tmp[96];
    size_t n = 0;
    const char *s;
    if (depth > 50) {
        tb_puts(b, "...");
        return;
    }
    switch (ckpt_obj_type(o)) {
    case CKPT_T_NONE: tb_puts(b, "None"); break;
    case CKPT_T_BOOL: tb_puts(b, ckpt_obj_bool(o) ? "True" : "False"); break;
    case CKPT_T_INT:
        snprintf(tmp, sizeof(tmp), "%" PRId64, ckpt_obj_int(o));
        tb_puts(b, tmp);
        break;
    case CKPT_T_FLOAT:
        ckpt__float_repr(ckpt_obj_float(o), tmp, sizeof(tmp));
        tb_puts(b, tmp);
        break;
    case CKPT_T_COMPLEX: {
        double re, im;
        char r[40], i[40];
        ckpt_obj_complex(o, &re, &im);
        ckpt__float_repr(re, r, sizeof(r));
        ckpt__float_repr(fabs(im), i, sizeof(i));
        snprintf(tmp, sizeof(tmp), "(%s%s%sj)", r,
                 (im < 0 || (im == 0 && signbit(im))) ? "-" : "+", i);
        tb_puts(b, tmp);
        break;
    }
    case CKPT_T_STR:
        s = ckpt_obj_str(o, &n);
        if (bare_str)
            tb_put(b, s, n);
        else
            repr_str(b, s, n, false);
        break;
    case CKPT_T_BYTES:
    case CKPT_T_BYTEARRAY:
        s = ckpt_obj_str(o, &n);
        if (ckpt_obj_type(o) == CKPT_T_BYTEARRAY)
            tb_puts(b, "bytearray(");
        repr_str(b, s, n, true);
        if (ckpt_obj_type(o) == CKPT_T_BYTEARRAY)
            tb_puts(b, ")");
        break;
    case CKPT_T_TUPLE:
        tb_puts(b, "(");
        for (size_t i = 0; i < ckpt_obj_len(o); i++) {
            if (i)
                tb_puts(b, ", ");
            value_text(b, ckpt_obj_item(o, i), false, depth + 1);
        }
        tb_puts(b, ckpt_obj_len(o) == 1 ? ",)" : ")");
        break;
    case CKPT_T_SIZE: {
        size_t nd;
        const int64_t *d = ckpt_size_dims(o, &nd);
        tb_puts(b, "torch.Size([");
        for (size_t i = 0; i < nd; i++) {
            snprintf(tmp, sizeof(tmp), "%s%" PRId64, i ? ", " : "", d[i]);
            tb_puts(b, tmp);
        }
        tb_puts(b, "])");
        break;
    }
    case CKPT_T_DTYPE:
        tb_puts(b, "torch.");
        tb_puts(b, ckpt_dtype_name(ckpt_obj_dtype(o)) ? ckpt_dtype_name(ckpt_obj_dtype(o)) : "?");
        break;
    case CKPT_T_DEVICE:
        if (ckpt_device_index(o) >= 0)
            snprintf(tmp, sizeof(tmp), "device(type='%.40s', index=%" PRId64 ")",
                     ckpt_device_type(o), ckpt_device_index(o));
        else
            snprintf(tmp, sizeof(tmp), "device(type='%.40s')", ckpt_device_type(o));
        tb_puts(b, tmp);
        break;
    case CKPT_T_GLOBAL:
    case CKPT_T_OBJECT:
        tb_puts(b, ckpt_global_module(o));
        tb_puts(b, ".");
        tb_puts(b, ckpt_global_name(o));
        break;
    default:
        tb_puts(b, "<");
        tb_puts(b, ckpt_type_name(ckpt_obj_type(o)));
        tb_puts(b, ">");
        break;
    }
}

const char *ckpt_obj_repr(const ckpt_obj *o, bool bare_str, char *buf, size_t n)
{
    tbuf b = {buf, 0, n};
    if (!buf || n == 0)
        return buf;
    buf[0] = '\0';
    if (o)
        value_text(&b, o, bare_str, 0);
    return buf;
}
