/* src/pickle/pickle_vm.c - the pickle VM: opcodes of protocols 0-5, explicit
 * stack, hashed memo, hooks for everything that would run code. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/pickle.h"
#include "core/bytes.h"
#include "core/checked.h"
#include "core/err.h"
#include "core/obj.h"
#include "core/utf8.h"

typedef struct memo_slot {
    uint64_t key;
    ckpt_obj *val; /* NULL = empty slot */
} memo_slot;

typedef struct vm {
    ckpt_doc *doc;
    const uint8_t *buf;
    size_t n, pos;
    const ckpt_pickle_hooks *h;
    ckpt_error *err;
    const char *name;
    bool bytes_strings;
    bool latin1_strings;
    bool big_ints;
    uint32_t max_depth;
    uint64_t max_objects, max_stack;
    ckpt_obj **stack;
    size_t sp, cap;
    size_t *marks;
    size_t nmarks, mcap;
    memo_slot *memo; /* sparse or far-off keys */
    size_t memo_n, memo_cap;
    ckpt_obj **dense; /* keys 0..dense_cap-1, as CPython numbers them */
    size_t dense_cap;
    size_t puts; /* distinct keys stored (MEMOIZE's next index) */
    int op;
    uint64_t op_off;
} vm;

/* ------------------------------------------------------------- op names */

const char *ckpt_pickle_op_name(int op)
{
    switch (op) {
    case '(': return "MARK";
    case '.': return "STOP";
    case '0': return "POP";
    case '1': return "POP_MARK";
    case '2': return "DUP";
    case 'F': return "FLOAT";
    case 'I': return "INT";
    case 'J': return "BININT";
    case 'K': return "BININT1";
    case 'L': return "LONG";
    case 'M': return "BININT2";
    case 'N': return "NONE";
    case 'P': return "PERSID";
    case 'Q': return "BINPERSID";
    case 'R': return "REDUCE";
    case 'S': return "STRING";
    case 'T': return "BINSTRING";
    case 'U': return "SHORT_BINSTRING";
    case 'V': return "UNICODE";
    case 'X': return "BINUNICODE";
    case 'a': return "APPEND";
    case 'b': return "BUILD";
    case 'c': return "GLOBAL";
    case 'd': return "DICT";
    case '}': return "EMPTY_DICT";
    case 'e': return "APPENDS";
    case 'g': return "GET";
    case 'h': return "BINGET";
    case 'i': return "INST";
    case 'j': return "LONG_BINGET";
    case 'l': return "LIST";
    case ']': return "EMPTY_LIST";
    case 'o': return "OBJ";
    case 'p': return "PUT";
    case 'q': return "BINPUT";
    case 'r': return "LONG_BINPUT";
    case 's': return "SETITEM";
    case 't': return "TUPLE";
    case ')': return "EMPTY_TUPLE";
    case 'u': return "SETITEMS";
    case 'G': return "BINFLOAT";
    case 'B': return "BINBYTES";
    case 'C': return "SHORT_BINBYTES";
    case 0x80: return "PROTO";
    case 0x81: return "NEWOBJ";
    case 0x82: return "EXT1";
    case 0x83: return "EXT2";
    case 0x84: return "EXT4";
    case 0x85: return "TUPLE1";
    case 0x86: return "TUPLE2";
    case 0x87: return "TUPLE3";
    case 0x88: return "NEWTRUE";
    case 0x89: return "NEWFALSE";
    case 0x8a: return "LONG1";
    case 0x8b: return "LONG4";
    case 0x8c: return "SHORT_BINUNICODE";
    case 0x8d: return "BINUNICODE8";
    case 0x8e: return "BINBYTES8";
    case 0x8f: return "EMPTY_SET";
    case 0x90: return "ADDITEMS";
    case 0x91: return "FROZENSET";
    case 0x92: return "NEWOBJ_EX";
    case 0x93: return "STACK_GLOBAL";
    case 0x94: return "MEMOIZE";
    case 0x95: return "FRAME";
    case 0x96: return "BYTEARRAY8";
    case 0x97: return "NEXT_BUFFER";
    case 0x98: return "READONLY_BUFFER";
    default: return NULL;
    }
}

/* --------------------------------------------------------------- errors */

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 3, 4)))
#endif
static int
vfail(vm *v, int code, const char *fmt, ...)
{
    if (!v->err || v->err->code != 0)
        return code;
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *opn = ckpt_pickle_op_name(v->op);
    return CKPT_FAIL_AT(v->err, code, CKPT_WHERE_PICKLE, v->name, v->op_off, "%s: %s",
                        opn ? opn : "opcode", msg);
}

/* The code recorded by a failed step; `dflt` when nothing was recorded. */
static int ecode(const vm *v, int dflt)
{
    return (v->err && v->err->code < 0) ? v->err->code : dflt;
}

static int nomem(vm *v)
{
    if (v->doc->mem.hit_limit)
        return vfail(v, CKPT_E_LIMIT, "allocation limit of %llu bytes reached",
                     (unsigned long long)v->doc->mem.limit);
    return vfail(v, CKPT_E_NOMEM, "out of memory");
}

/* ------------------------------------------------------------ the stack */

static int push(vm *v, ckpt_obj *o)
{
    if (!o)
        return ckpt__error_is_set(v->err) ? ecode(v, CKPT_E_FORMAT) : nomem(v);
    if (v->doc->node_count > v->max_objects)
        return vfail(v, CKPT_E_LIMIT, "more than %llu objects",
                     (unsigned long long)v->max_objects);
    if (v->sp >= v->max_stack) /* exact: the array may have grown past it */
        return vfail(v, CKPT_E_LIMIT, "stack deeper than %llu entries",
                     (unsigned long long)v->max_stack);
    if (v->sp == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 64;
        ckpt_obj **ns = ckpt__mem_realloc(&v->doc->mem, v->stack, v->cap * sizeof(*ns),
                                          ncap * sizeof(*ns));
        if (!ns)
            return nomem(v);
        v->stack = ns;
        v->cap = ncap;
    }
    v->stack[v->sp++] = o;
    return 0;
}

static size_t seg_start(const vm *v)
{
    return v->nmarks ? v->marks[v->nmarks - 1] : 0;
}

static ckpt_obj *pop(vm *v)
{
    if (v->sp <= seg_start(v)) {
        vfail(v, CKPT_E_FORMAT, "stack underflow");
        return NULL;
    }
    return v->stack[--v->sp];
}

static ckpt_obj *top(vm *v)
{
    if (v->sp <= seg_start(v)) {
        vfail(v, CKPT_E_FORMAT, "stack is empty");
        return NULL;
    }
    return v->stack[v->sp - 1];
}

static int push_mark(vm *v)
{
    if (v->nmarks >= v->max_depth)
        return vfail(v, CKPT_E_LIMIT, "more than %u nested marks", v->max_depth);
    if (v->nmarks == v->mcap) {
        size_t ncap = v->mcap ? v->mcap * 2 : 16;
        size_t *nm = ckpt__mem_realloc(&v->doc->mem, v->marks, v->mcap * sizeof(*nm),
                                       ncap * sizeof(*nm));
        if (!nm)
            return nomem(v);
        v->marks = nm;
        v->mcap = ncap;
    }
    v->marks[v->nmarks++] = v->sp;
    return 0;
}

/* Pop to the last mark: items are stack[*start .. sp), then sp = *start. */
static int pop_mark(vm *v, size_t *start)
{
    if (v->nmarks == 0)
        return vfail(v, CKPT_E_FORMAT, "no MARK on the stack");
    *start = v->marks[--v->nmarks];
    return 0;
}

/* ------------------------------------------------------------- the memo */

static memo_slot *memo_find(vm *v, uint64_t key, bool create)
{
    if (create && (v->memo_n + 1) * 2 > v->memo_cap) {
        size_t ncap = v->memo_cap ? v->memo_cap * 2 : 64;
        memo_slot *nm = ckpt__mem_calloc(&v->doc->mem, ncap * sizeof(*nm));
        if (!nm)
            return NULL;
        for (size_t i = 0; i < v->memo_cap; i++) {
            if (!v->memo[i].val)
                continue;
            size_t p = (size_t)(v->memo[i].key * 0x9E3779B97F4A7C15ULL) & (ncap - 1);
            while (nm[p].val)
                p = (p + 1) & (ncap - 1);
            nm[p] = v->memo[i];
        }
        ckpt__mem_free(&v->doc->mem, v->memo, v->memo_cap * sizeof(*nm));
        v->memo = nm;
        v->memo_cap = ncap;
    }
    if (!v->memo_cap)
        return NULL;
    size_t mask = v->memo_cap - 1;
    for (size_t p = (size_t)(key * 0x9E3779B97F4A7C15ULL) & mask;; p = (p + 1) & mask) {
        if (!v->memo[p].val) {
            if (!create)
                return NULL;
            v->memo[p].key = key;
            v->memo_n++;
            return &v->memo[p];
        }
        if (v->memo[p].key == key)
            return &v->memo[p];
    }
}

static int memo_put(vm *v, uint64_t key)
{
    ckpt_obj *o = top(v);
    if (!o)
        return ecode(v, CKPT_E_FORMAT);
    /* dense keys go to an array; only keys near the number already stored
     * may grow it, so a huge or sparse key cannot force a large allocation */
    if (key >= v->dense_cap && key < (uint64_t)v->puts + 4096) {
        size_t ncap = v->dense_cap ? v->dense_cap : 256;
        while (ncap <= key)
            ncap *= 2;
        ckpt_obj **nd = ckpt__mem_realloc(&v->doc->mem, v->dense, v->dense_cap * sizeof(*nd),
                                          ncap * sizeof(*nd));
        if (!nd)
            return nomem(v);
        memset(nd + v->dense_cap, 0, (ncap - v->dense_cap) * sizeof(*nd));
        v->dense = nd;
        v->dense_cap = ncap;
    }
    if (key < v->dense_cap) {
        if (!v->dense[key])
            v->puts++;
        v->dense[key] = o;
        return 0;
    }
    memo_slot *s = memo_find(v, key, true);
    if (!s)
        return nomem(v);
    if (!s->val)
        v->puts++;
    s->val = o;
    return 0;
}

static int memo_get(vm *v, uint64_t key)
{
    if (key < v->dense_cap && v->dense[key])
        return push(v, v->dense[key]);
    memo_slot *s = memo_find(v, key, false);
    if (!s || !s->val)
        return vfail(v, CKPT_E_FORMAT, "memo index %llu was never stored",
                     (unsigned long long)key);
    return push(v, s->val);
}

/* --------------------------------------------------------------- reading */

static int need(vm *v, size_t k)
{
    if (k > v->n - v->pos)
        return vfail(v, CKPT_E_FORMAT, "truncated: needs %zu more bytes, %zu left", k,
                     v->n - v->pos);
    return 0;
}

static int read_line(vm *v, const char **line, size_t *len)
{
    const uint8_t *start = v->buf + v->pos;
    const uint8_t *nl = memchr(start, '\n', v->n - v->pos);
    if (!nl)
        return vfail(v, CKPT_E_FORMAT, "truncated: no end of line");
    *line = (const char *)start;
    *len = (size_t)(nl - start);
    v->pos += *len + 1;
    return 0;
}

static int read_len(vm *v, int width, size_t *out)
{
    uint64_t len;
    CKPT_TRY(need(v, (size_t)width));
    const uint8_t *p = v->buf + v->pos;
    if (width == 1)
        len = p[0];
    else if (width == 4)
        len = ckpt_rd_u32le(p);
    else
        len = ckpt_rd_u64le(p);
    v->pos += (size_t)width;
    if (len > v->n - v->pos)
        return vfail(v, CKPT_E_FORMAT, "length %llu runs past the end (%zu bytes left)",
                     (unsigned long long)len, v->n - v->pos);
    *out = (size_t)len;
    return 0;
}

/* ---------------------------------------------------------------- values */

static int push_int(vm *v, int64_t i)
{
    return push(v, ckpt_int_new(v->doc, i));
}

static int push_str(vm *v, const uint8_t *p, size_t len, int type)
{
    if (type == CKPT_T_STR && !ckpt_utf8_valid(p, len))
        return vfail(v, CKPT_E_FORMAT, "string is not valid UTF-8");
    ckpt_obj *o = ckpt__node(v->doc, type);
    if (!o)
        return nomem(v);
    o->u.s.p = ckpt__arena_strndup(&v->doc->arena, (const char *)p, len);
    if (!o->u.s.p)
        return nomem(v);
    o->u.s.n = len;
    return push(v, o);
}

/* A Python-2 byte string (STRING, BINSTRING, SHORT_BINSTRING) under the chosen encoding. */
static int push_byte_string(vm *v, const uint8_t *p, size_t len)
{
    if (v->bytes_strings)
        return push_str(v, p, len, CKPT_T_BYTES);
    if (!v->latin1_strings)
        return push_str(v, p, len, CKPT_T_STR);
    size_t cap;
    if (ckpt_mul_size(len, 2, &cap))
        return nomem(v);
    uint8_t *u = ckpt__arena_alloc(&v->doc->arena, cap + 1);
    if (!u)
        return nomem(v);
    size_t o = 0;
    for (size_t i = 0; i < len; i++)
        o += ckpt_utf8_put(p[i], u + o);
    return push_str(v, u, o, CKPT_T_STR);
}

/* An integer beyond 64 bits as an inert OBJECT("bigint", (le_bytes,)). */
static int push_bigint(vm *v, const uint8_t *p, size_t len)
{
    while (len > 1 && ((p[len - 1] == 0x00 && !(p[len - 2] & 0x80)) ||
                       (p[len - 1] == 0xFF && (p[len - 2] & 0x80))))
        len--; /* minimal two's complement, as CPython's encode_long */
    ckpt_obj *b = ckpt_bytes_new(v->doc, p, len);
    ckpt_obj *args = b ? ckpt_tuple_new(v->doc, 1, &b) : NULL;
    ckpt_obj *o = args ? ckpt__node(v->doc, CKPT_T_OBJECT) : NULL;
    if (!o || !(o->u.obj = ckpt__arena_calloc(&v->doc->arena, sizeof(ckpt__object))))
        return nomem(v);
    o->u.obj->args = args;
    o->u.obj->how = "bigint";
    return push(v, o);
}

/* Two's-complement little-endian integer of `len` bytes. */
static int push_long_bytes(vm *v, const uint8_t *p, size_t len)
{
    if (len == 0)
        return push_int(v, 0);
    bool neg = (p[len - 1] & 0x80) != 0;
    uint8_t ext = neg ? 0xFF : 0x00;
    /* bytes beyond 8 must be sign extension */
    for (size_t i = 8; i < len; i++)
        if (p[i] != ext)
            return v->big_ints ? push_bigint(v, p, len)
                               : vfail(v, CKPT_E_UNSUPPORTED,
                                       "integer of %zu bytes does not fit in 64 bits", len);
    uint64_t u = 0;
    for (size_t i = 0; i < 8; i++) {
        uint8_t b = i < len ? p[i] : ext;
        u |= (uint64_t)b << (8 * i);
    }
    if (len > 8 && (((u >> 63) != 0) != neg))
        return v->big_ints ? push_bigint(v, p, len)
                           : vfail(v, CKPT_E_UNSUPPORTED, "integer does not fit in 64 bits");
    int64_t i64;
    memcpy(&i64, &u, sizeof(i64));
    return push_int(v, i64);
}

static int parse_decimal(vm *v, const char *s, size_t len, int64_t *out)
{
    char tmp[64];
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\r' || s[len - 1] == 'L'))
        len--;
    while (len && *s == ' ') {
        s++;
        len--;
    }
    if (len == 0 || len >= sizeof(tmp))
        return vfail(v, len ? CKPT_E_UNSUPPORTED : CKPT_E_FORMAT,
                     len ? "integer does not fit in 64 bits" : "empty integer");
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    char *end;
    errno = 0;
    long long val = strtoll(tmp, &end, 10);
    if (*end != '\0')
        return vfail(v, CKPT_E_FORMAT, "not an integer: '%s'", tmp);
    if (errno == ERANGE)
        return vfail(v, CKPT_E_UNSUPPORTED, "integer %s does not fit in 64 bits", tmp);
    *out = val;
    return 0;
}

/* A decimal text integer of any size as little-endian two's complement. */
static int push_big_decimal(vm *v, const char *s, size_t len)
{
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\r' || s[len - 1] == 'L'))
        len--;
    bool neg = len && s[0] == '-';
    size_t i = (len && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
    if (i == len || len > 100000)
        return vfail(v, CKPT_E_FORMAT, "bad integer literal");
    size_t cap = len / 2 + 2;
    uint8_t *mag = ckpt__arena_calloc(&v->doc->arena, cap);
    if (!mag)
        return nomem(v);
    for (; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return vfail(v, CKPT_E_FORMAT, "bad integer literal");
        unsigned carry = (unsigned)(s[i] - '0');
        for (size_t k = 0; k < cap; k++) {
            unsigned x = mag[k] * 10u + carry;
            mag[k] = (uint8_t)x;
            carry = x >> 8;
        }
    }
    if (neg) { /* two's complement: invert and add one */
        unsigned carry = 1;
        for (size_t k = 0; k < cap; k++) {
            unsigned x = (uint8_t)~mag[k] + carry;
            mag[k] = (uint8_t)x;
            carry = x >> 8;
        }
    }
    return push_long_bytes(v, mag, cap);
}

/* Python string-literal escapes of a protocol-0 STRING argument. */
static int decode_string_literal(vm *v, const char *s, size_t len)
{
    while (len && (s[len - 1] == '\r' || s[len - 1] == ' '))
        len--;
    if (len < 2 || (s[0] != '\'' && s[0] != '"') || s[len - 1] != s[0])
        return vfail(v, CKPT_E_FORMAT, "STRING argument is not quoted");
    s++;
    len -= 2;
    uint8_t *out = ckpt__arena_alloc(&v->doc->arena, len + 1);
    if (!out)
        return nomem(v);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c != '\\' || i + 1 == len) {
            out[o++] = (uint8_t)c;
            continue;
        }
        c = s[++i];
        switch (c) {
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case 'a': out[o++] = 7; break;
        case 'b': out[o++] = 8; break;
        case 'f': out[o++] = 12; break;
        case 'v': out[o++] = 11; break;
        case '\n': break;
        case 'x': {
            if (i + 2 >= len)
                return vfail(v, CKPT_E_FORMAT, "bad \\x escape");
            char hex[3] = {s[i + 1], s[i + 2], 0};
            char *end;
            long b = strtol(hex, &end, 16);
            if (*end)
                return vfail(v, CKPT_E_FORMAT, "bad \\x escape");
            out[o++] = (uint8_t)b;
            i += 2;
            break;
        }
        default:
            if (c >= '0' && c <= '7') {
                int val = c - '0';
                for (int k = 0; k < 2 && i + 1 < len && s[i + 1] >= '0' && s[i + 1] <= '7'; k++)
                    val = val * 8 + (s[++i] - '0');
                out[o++] = (uint8_t)val;
            } else {
                out[o++] = '\\';
                out[o++] = (uint8_t)c;
            }
        }
    }
    return push_byte_string(v, out, o);
}

/* raw-unicode-escape (protocol-0 UNICODE): \uXXXX, \UXXXXXXXX, bytes as latin-1. */
static int decode_raw_unicode(vm *v, const char *s, size_t len)
{
    size_t cap;
    if (ckpt_mul_size(len, 4, &cap))
        return nomem(v);
    uint8_t *out = ckpt__arena_alloc(&v->doc->arena, cap + 1);
    if (!out)
        return nomem(v);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c == '\\' && i + 1 < len && (s[i + 1] == 'u' || s[i + 1] == 'U')) {
            size_t digits = s[i + 1] == 'u' ? 4 : 8;
            if (i + 1 + digits >= len)
                return vfail(v, CKPT_E_FORMAT, "truncated \\u escape");
            uint32_t cp = 0;
            for (size_t k = 0; k < digits; k++) {
                char h = s[i + 2 + k];
                int d = (h >= '0' && h <= '9')   ? h - '0'
                        : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                        : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                                 : -1;
                if (d < 0)
                    return vfail(v, CKPT_E_FORMAT, "bad \\u escape");
                cp = cp * 16 + (uint32_t)d;
            }
            if (cp > 0x10FFFF)
                return vfail(v, CKPT_E_FORMAT, "code point out of range");
            o += ckpt_utf8_put(cp, out + o);
            i += 1 + digits;
        } else {
            o += ckpt_utf8_put(c, out + o);
        }
    }
    return push_str(v, out, o, CKPT_T_STR);
}

static ckpt_obj *new_seq(vm *v, int type, size_t start)
{
    ckpt_obj *o = ckpt__node(v->doc, type);
    if (!o)
        return NULL;
    size_t cnt = v->sp - start;
    if (cnt) {
        o->u.seq.items = ckpt__arena_alloc(&v->doc->arena, cnt * sizeof(ckpt_obj *));
        if (!o->u.seq.items)
            return NULL;
        memcpy(o->u.seq.items, v->stack + start, cnt * sizeof(ckpt_obj *));
    }
    o->u.seq.n = o->u.seq.cap = cnt;
    if (type == CKPT_T_TUPLE)
        o->flags |= CKPT__F_FROZEN;
    v->sp = start;
    return o;
}

static int make_tuple_n(vm *v, size_t k)
{
    if (v->sp - seg_start(v) < k)
        return vfail(v, CKPT_E_FORMAT, "stack underflow");
    return push(v, new_seq(v, CKPT_T_TUPLE, v->sp - k));
}

/* Add items stack[start..sp) to a list/set/object target. */
static int append_items(vm *v, ckpt_obj *target, size_t start)
{
    if (target->type == CKPT_T_OBJECT) {
        ckpt__object *ob = target->u.obj;
        if (!ob->items && !(ob->items = ckpt_list_new(v->doc)))
            return nomem(v);
        target = ob->items;
        if (target->type != CKPT_T_LIST)
            return vfail(v, CKPT_E_UNSAFE, "APPEND on an object that already has dict items");
    }
    if (target->type == CKPT_T_SET) {
        for (size_t i = start; i < v->sp; i++) {
            if (!ckpt__obj_hashable(v->stack[i]))
                return vfail(v, CKPT_E_FORMAT, "unhashable %s added to a set",
                             ckpt_type_name(v->stack[i]->type));
            int arc = ckpt_set_add(v->doc, target, v->stack[i], NULL);
            if (arc == CKPT_E_ARG)
                return vfail(v, CKPT_E_FORMAT, "unhashable set item of type %s",
                             ckpt_type_name(v->stack[i]->type));
            if (arc < 0)
                return nomem(v);
        }
        v->sp = start;
        return 0;
    }
    if (target->type != CKPT_T_LIST)
        return vfail(v, CKPT_E_UNSAFE, "can only append to a list, not to a %s",
                     ckpt_type_name(target->type));
    for (size_t i = start; i < v->sp; i++)
        if (ckpt__seq_push(v->doc, target, v->stack[i]) < 0)
            return nomem(v);
    v->sp = start;
    return 0;
}

static int set_items(vm *v, ckpt_obj *target, size_t start)
{
    if ((v->sp - start) % 2)
        return vfail(v, CKPT_E_FORMAT, "odd number of items for a dict");
    if (target->type == CKPT_T_OBJECT) {
        ckpt__object *ob = target->u.obj;
        if (!ob->items && !(ob->items = ckpt_dict_new(v->doc, CKPT_DICT_PLAIN)))
            return nomem(v);
        target = ob->items;
        if (target->type != CKPT_T_DICT)
            return vfail(v, CKPT_E_UNSAFE, "SETITEM on an object that already has list items");
    }
    if (target->type != CKPT_T_DICT)
        return vfail(v, CKPT_E_UNSAFE, "can only set items of a dict, not of a %s",
                     ckpt_type_name(target->type));
    for (size_t i = start; i < v->sp; i += 2) {
        ckpt_obj *k = v->stack[i];
        if (!ckpt__obj_hashable(k))
            return vfail(v, CKPT_E_FORMAT, "unhashable dict key of type %s",
                         ckpt_type_name(k->type));
        int rc = ckpt__dict_set(v->doc, target, k, v->stack[i + 1]);
        if (rc == CKPT_E_LIMIT)
            return vfail(v, CKPT_E_LIMIT, "too many dict entries");
        if (rc < 0)
            return nomem(v);
    }
    v->sp = start;
    return 0;
}

/* ----------------------------------------------------------- hook calls */

static int do_find_class(vm *v, const char *mod, size_t mlen, const char *name, size_t nlen)
{
    char *m = ckpt__arena_strndup(&v->doc->arena, mod, mlen);
    char *nm = ckpt__arena_strndup(&v->doc->arena, name, nlen);
    if (!m || !nm)
        return nomem(v);
    if (memchr(m, '\0', mlen) || memchr(nm, '\0', nlen))
        return vfail(v, CKPT_E_FORMAT, "global name contains a NUL byte");
    ckpt_obj *o;
    if (v->h && v->h->find_class)
        o = v->h->find_class(v->h->ctx, v->doc, m, nm, v->op, v->op_off, v->err);
    else
        o = ckpt_global_new(v->doc, m, nm);
    if (!o)
        return ckpt__error_is_set(v->err) ? ecode(v, CKPT_E_FORMAT) : nomem(v);
    return push(v, o);
}

static int do_newobj(vm *v, ckpt_obj *cls, ckpt_obj *args, ckpt_obj *kwargs)
{
    if (!v->h || !v->h->newobj)
        return vfail(v, CKPT_E_UNSAFE, "creating objects is not allowed");
    ckpt_obj *o = v->h->newobj(v->h->ctx, v->doc, cls, args, kwargs, v->op, v->op_off, v->err);
    if (!o)
        return ckpt__error_is_set(v->err) ? ecode(v, CKPT_E_FORMAT) : nomem(v);
    return push(v, o);
}

/* ---------------------------------------------------------------- the loop */

static int step(vm *v, bool *stop)
{
    v->op_off = v->pos;
    CKPT_TRY(need(v, 1));
    int op = v->buf[v->pos++];
    v->op = op;
    const uint8_t *p;
    size_t len = 0;
    const char *line = NULL;
    ckpt_obj *a, *b, *c;
    size_t start = 0;
    int64_t i64;

    switch (op) {
    case CKPT_OP_PROTO:
        CKPT_TRY(need(v, 1));
        if (v->buf[v->pos] > 5)
            return vfail(v, CKPT_E_UNSUPPORTED, "unsupported pickle protocol %d", v->buf[v->pos]);
        v->pos++;
        return 0;
    case CKPT_OP_FRAME:
        CKPT_TRY(need(v, 8));
        if (ckpt_rd_u64le(v->buf + v->pos) > v->n - v->pos - 8)
            return vfail(v, CKPT_E_FORMAT, "frame runs past the end");
        v->pos += 8;
        return 0;
    case CKPT_OP_STOP: *stop = true; return 0;
    case CKPT_OP_MARK: return push_mark(v);
    case CKPT_OP_POP:
        if (v->sp > seg_start(v)) {
            v->sp--;
            return 0;
        }
        return pop_mark(v, &start);
    case CKPT_OP_POP_MARK:
        CKPT_TRY(pop_mark(v, &start));
        v->sp = start;
        return 0;
    case CKPT_OP_DUP:
        if (!(a = top(v)))
            return ecode(v, CKPT_E_FORMAT);
        return push(v, a);

    /* integers */
    case CKPT_OP_BININT:
        CKPT_TRY(need(v, 4));
        {
            uint32_t u = ckpt_rd_u32le(v->buf + v->pos);
            int32_t s32;
            memcpy(&s32, &u, sizeof(s32));
            v->pos += 4;
            return push_int(v, s32);
        }
    case CKPT_OP_BININT1: CKPT_TRY(need(v, 1)); return push_int(v, v->buf[v->pos++]);
    case CKPT_OP_BININT2:
        CKPT_TRY(need(v, 2));
        v->pos += 2;
        return push_int(v, ckpt_rd_u16le(v->buf + v->pos - 2));
    case CKPT_OP_LONG1:
        CKPT_TRY(read_len(v, 1, &len));
        p = v->buf + v->pos;
        v->pos += len;
        return push_long_bytes(v, p, len);
    case CKPT_OP_LONG4:
        CKPT_TRY(need(v, 4));
        {
            uint32_t u = ckpt_rd_u32le(v->buf + v->pos);
            if (u & 0x80000000u)
                return vfail(v, CKPT_E_FORMAT, "negative LONG4 length");
        }
        CKPT_TRY(read_len(v, 4, &len));
        p = v->buf + v->pos;
        v->pos += len;
        return push_long_bytes(v, p, len);
    case CKPT_OP_INT:
        CKPT_TRY(read_line(v, &line, &len));
        if (len == 2 && line[0] == '0' && (line[1] == '0' || line[1] == '1'))
            return push(v, ckpt_bool_new(v->doc, line[1] == '1'));
        /* fall through */
    case CKPT_OP_LONG:
        if (op == CKPT_OP_LONG)
            CKPT_TRY(read_line(v, &line, &len));
        if (v->big_ints && len > 18)
            return push_big_decimal(v, line, len);
        CKPT_TRY(parse_decimal(v, line, len, &i64));
        return push_int(v, i64);

    /* floats */
    case CKPT_OP_BINFLOAT:
        CKPT_TRY(need(v, 8));
        {
            uint64_t bits = ckpt_rd_u64be(v->buf + v->pos);
            double d;
            memcpy(&d, &bits, sizeof(d));
            v->pos += 8;
            return push(v, ckpt_float_new(v->doc, d));
        }
    case CKPT_OP_FLOAT:
        CKPT_TRY(read_line(v, &line, &len));
        {
            char tmp[128];
            if (len == 0 || len >= sizeof(tmp))
                return vfail(v, CKPT_E_FORMAT, "bad float literal");
            memcpy(tmp, line, len);
            tmp[len] = '\0';
            char *end;
            double d = strtod(tmp, &end);
            if (*end != '\0' && *end != '\r')
                return vfail(v, CKPT_E_FORMAT, "bad float literal '%s'", tmp);
            return push(v, ckpt_float_new(v->doc, d));
        }

    /* constants */
    case CKPT_OP_NONE: return push(v, ckpt_none_new(v->doc));
    case CKPT_OP_NEWTRUE: return push(v, ckpt_bool_new(v->doc, true));
    case CKPT_OP_NEWFALSE: return push(v, ckpt_bool_new(v->doc, false));

    /* strings and bytes */
    case CKPT_OP_BINUNICODE:
    case CKPT_OP_SHORT_BINUNICODE:
    case CKPT_OP_BINUNICODE8:
        CKPT_TRY(read_len(v,
                          op == CKPT_OP_SHORT_BINUNICODE ? 1
                          : op == CKPT_OP_BINUNICODE     ? 4
                                                         : 8,
                          &len));
        p = v->buf + v->pos;
        v->pos += len;
        return push_str(v, p, len, CKPT_T_STR);
    case CKPT_OP_BINBYTES:
    case CKPT_OP_SHORT_BINBYTES:
    case CKPT_OP_BINBYTES8:
        CKPT_TRY(read_len(v,
                          op == CKPT_OP_SHORT_BINBYTES ? 1
                          : op == CKPT_OP_BINBYTES     ? 4
                                                       : 8,
                          &len));
        p = v->buf + v->pos;
        v->pos += len;
        return push_str(v, p, len, CKPT_T_BYTES);
    case CKPT_OP_BYTEARRAY8:
        CKPT_TRY(read_len(v, 8, &len));
        p = v->buf + v->pos;
        v->pos += len;
        return push_str(v, p, len, CKPT_T_BYTEARRAY);
    case CKPT_OP_BINSTRING:
    case CKPT_OP_SHORT_BINSTRING:
        if (op == CKPT_OP_BINSTRING) {
            CKPT_TRY(need(v, 4));
            if (ckpt_rd_u32le(v->buf + v->pos) & 0x80000000u)
                return vfail(v, CKPT_E_FORMAT, "negative BINSTRING length");
        }
        CKPT_TRY(read_len(v, op == CKPT_OP_SHORT_BINSTRING ? 1 : 4, &len));
        p = v->buf + v->pos;
        v->pos += len;
        return push_byte_string(v, p, len);
    case CKPT_OP_STRING:
        CKPT_TRY(read_line(v, &line, &len));
        return decode_string_literal(v, line, len);
    case CKPT_OP_UNICODE:
        CKPT_TRY(read_line(v, &line, &len));
        return decode_raw_unicode(v, line, len);
    case CKPT_OP_NEXT_BUFFER:
    case CKPT_OP_READONLY_BUFFER:
        return vfail(v, CKPT_E_UNSUPPORTED, "out-of-band buffers are not supported");

    /* tuples */
    case CKPT_OP_EMPTY_TUPLE: return push(v, new_seq(v, CKPT_T_TUPLE, v->sp));
    case CKPT_OP_TUPLE1: return make_tuple_n(v, 1);
    case CKPT_OP_TUPLE2: return make_tuple_n(v, 2);
    case CKPT_OP_TUPLE3: return make_tuple_n(v, 3);
    case CKPT_OP_TUPLE:
        CKPT_TRY(pop_mark(v, &start));
        return push(v, new_seq(v, CKPT_T_TUPLE, start));

    /* lists */
    case CKPT_OP_EMPTY_LIST: return push(v, ckpt_list_new(v->doc));
    case CKPT_OP_LIST:
        CKPT_TRY(pop_mark(v, &start));
        return push(v, new_seq(v, CKPT_T_LIST, start));
    case CKPT_OP_APPEND:
        if (v->sp - seg_start(v) < 2)
            return vfail(v, CKPT_E_FORMAT, "stack underflow");
        return append_items(v, v->stack[v->sp - 2], v->sp - 1);
    case CKPT_OP_APPENDS:
    case CKPT_OP_ADDITEMS:
        CKPT_TRY(pop_mark(v, &start));
        if (start <= seg_start(v))
            return vfail(v, CKPT_E_FORMAT, "no target below the MARK");
        a = v->stack[start - 1];
        if (op == CKPT_OP_ADDITEMS && a->type != CKPT_T_SET)
            return vfail(v, CKPT_E_UNSAFE, "can only add items to a set, not to a %s",
                         ckpt_type_name(a->type));
        return append_items(v, a, start);

    /* sets */
    case CKPT_OP_EMPTY_SET: return push(v, ckpt_set_new(v->doc));
    case CKPT_OP_FROZENSET: {
        CKPT_TRY(pop_mark(v, &start));
        ckpt_obj *s = ckpt_set_new(v->doc);
        if (!s)
            return nomem(v);
        CKPT_TRY(append_items(v, s, start));
        s->flags |= CKPT__F_FROZEN;
        return push(v, s);
    }

    /* dicts */
    case CKPT_OP_EMPTY_DICT: return push(v, ckpt_dict_new(v->doc, CKPT_DICT_PLAIN));
    case CKPT_OP_DICT: {
        CKPT_TRY(pop_mark(v, &start));
        ckpt_obj *d = ckpt_dict_new(v->doc, CKPT_DICT_PLAIN);
        if (!d)
            return nomem(v);
        CKPT_TRY(set_items(v, d, start));
        return push(v, d);
    }
    case CKPT_OP_SETITEM:
        if (v->sp - seg_start(v) < 3)
            return vfail(v, CKPT_E_FORMAT, "stack underflow");
        return set_items(v, v->stack[v->sp - 3], v->sp - 2);
    case CKPT_OP_SETITEMS:
        CKPT_TRY(pop_mark(v, &start));
        if (start <= seg_start(v))
            return vfail(v, CKPT_E_FORMAT, "no target below the MARK");
        return set_items(v, v->stack[start - 1], start);

    /* memo */
    case CKPT_OP_BINPUT: CKPT_TRY(need(v, 1)); return memo_put(v, v->buf[v->pos++]);
    case CKPT_OP_LONG_BINPUT:
        CKPT_TRY(need(v, 4));
        v->pos += 4;
        return memo_put(v, ckpt_rd_u32le(v->buf + v->pos - 4));
    case CKPT_OP_PUT:
        CKPT_TRY(read_line(v, &line, &len));
        CKPT_TRY(parse_decimal(v, line, len, &i64));
        if (i64 < 0)
            return vfail(v, CKPT_E_FORMAT, "negative memo index");
        return memo_put(v, (uint64_t)i64);
    case CKPT_OP_MEMOIZE: return memo_put(v, v->puts);
    case CKPT_OP_BINGET: CKPT_TRY(need(v, 1)); return memo_get(v, v->buf[v->pos++]);
    case CKPT_OP_LONG_BINGET:
        CKPT_TRY(need(v, 4));
        v->pos += 4;
        return memo_get(v, ckpt_rd_u32le(v->buf + v->pos - 4));
    case CKPT_OP_GET:
        CKPT_TRY(read_line(v, &line, &len));
        CKPT_TRY(parse_decimal(v, line, len, &i64));
        if (i64 < 0)
            return vfail(v, CKPT_E_FORMAT, "negative memo index");
        return memo_get(v, (uint64_t)i64);

    /* globals and calls */
    case CKPT_OP_GLOBAL:
    case CKPT_OP_INST: {
        const char *mod = NULL, *name = NULL;
        size_t mlen = 0, nlen = 0;
        CKPT_TRY(read_line(v, &mod, &mlen));
        CKPT_TRY(read_line(v, &name, &nlen));
        if (op == CKPT_OP_GLOBAL)
            return do_find_class(v, mod, mlen, name, nlen);
        CKPT_TRY(pop_mark(v, &start));
        ckpt_obj *args = new_seq(v, CKPT_T_TUPLE, start);
        if (!args)
            return nomem(v);
        CKPT_TRY(do_find_class(v, mod, mlen, name, nlen));
        return do_newobj(v, v->stack[--v->sp], args, NULL);
    }
    case CKPT_OP_STACK_GLOBAL:
        if (!(b = pop(v)) || !(a = pop(v)))
            return ecode(v, CKPT_E_FORMAT);
        if (a->type != CKPT_T_STR || b->type != CKPT_T_STR)
            return vfail(v, CKPT_E_FORMAT, "module and name must be str, got %s and %s",
                         ckpt_type_name(a->type), ckpt_type_name(b->type));
        return do_find_class(v, a->u.s.p, a->u.s.n, b->u.s.p, b->u.s.n);
    case CKPT_OP_OBJ: {
        CKPT_TRY(pop_mark(v, &start));
        if (v->sp == start)
            return vfail(v, CKPT_E_FORMAT, "OBJ without a class");
        ckpt_obj *cls = v->stack[start];
        ckpt_obj *args = new_seq(v, CKPT_T_TUPLE, start + 1);
        if (!args)
            return nomem(v);
        v->sp = start;
        return do_newobj(v, cls, args, NULL);
    }
    case CKPT_OP_NEWOBJ:
        if (!(b = pop(v)) || !(a = pop(v)))
            return ecode(v, CKPT_E_FORMAT);
        if (b->type != CKPT_T_TUPLE)
            return vfail(v, CKPT_E_FORMAT, "NEWOBJ arguments must be a tuple, got %s",
                         ckpt_type_name(b->type));
        return do_newobj(v, a, b, NULL);
    case CKPT_OP_NEWOBJ_EX:
        if (!(c = pop(v)) || !(b = pop(v)) || !(a = pop(v)))
            return ecode(v, CKPT_E_FORMAT);
        if (b->type != CKPT_T_TUPLE || c->type != CKPT_T_DICT)
            return vfail(v, CKPT_E_FORMAT, "NEWOBJ_EX needs a tuple and a dict");
        return do_newobj(v, a, b, c);
    case CKPT_OP_REDUCE:
        if (!(b = pop(v)) || !(a = pop(v)))
            return ecode(v, CKPT_E_FORMAT);
        if (b->type != CKPT_T_TUPLE)
            return vfail(v, CKPT_E_FORMAT, "REDUCE arguments must be a tuple, got %s",
                         ckpt_type_name(b->type));
        if (!v->h || !v->h->reduce)
            return vfail(v, CKPT_E_UNSAFE, "calls are not allowed");
        c = v->h->reduce(v->h->ctx, v->doc, a, b, op, v->op_off, v->err);
        if (!c)
            return ckpt__error_is_set(v->err) ? ecode(v, CKPT_E_FORMAT) : nomem(v);
        return push(v, c);
    case CKPT_OP_BUILD:
        if (!(b = pop(v)) || !(a = top(v)))
            return ecode(v, CKPT_E_FORMAT);
        if (!v->h || !v->h->build)
            return vfail(v, CKPT_E_UNSAFE, "BUILD is not allowed");
        return v->h->build(v->h->ctx, v->doc, a, b, op, v->op_off, v->err);
    case CKPT_OP_PERSID:
        CKPT_TRY(read_line(v, &line, &len));
        CKPT_TRY(push_str(v, (const uint8_t *)line, len, CKPT_T_STR));
        /* fall through */
    case CKPT_OP_BINPERSID:
        if (!(a = pop(v)))
            return ecode(v, CKPT_E_FORMAT);
        if (!v->h || !v->h->persistent_load)
            return vfail(v, CKPT_E_UNSAFE, "persistent ids are not allowed");
        c = v->h->persistent_load(v->h->ctx, v->doc, a, op, v->op_off, v->err);
        if (!c)
            return ckpt__error_is_set(v->err) ? ecode(v, CKPT_E_FORMAT) : nomem(v);
        return push(v, c);
    case CKPT_OP_EXT1:
    case CKPT_OP_EXT2:
    case CKPT_OP_EXT4: {
        size_t w = op == CKPT_OP_EXT1 ? 1 : op == CKPT_OP_EXT2 ? 2 : 4;
        CKPT_TRY(need(v, w));
        p = v->buf + v->pos;
        v->pos += w;
        int64_t code = w == 1 ? p[0] : w == 2 ? ckpt_rd_u16le(p) : (int64_t)ckpt_rd_u32le(p);
        if (!v->h || !v->h->ext)
            return vfail(v, CKPT_E_UNSAFE, "extension code %lld is not allowed", (long long)code);
        c = v->h->ext(v->h->ctx, v->doc, code, op, v->op_off, v->err);
        if (!c)
            return ckpt__error_is_set(v->err) ? ecode(v, CKPT_E_FORMAT) : nomem(v);
        return push(v, c);
    }
    default: return vfail(v, CKPT_E_FORMAT, "unknown opcode 0x%02x", op);
    }
}

ckpt_obj *ckpt_pickle_load(ckpt_doc *doc, const uint8_t *buf, size_t n,
                           const ckpt_pickle_hooks *hooks, const ckpt_pickle_opts *opts,
                           size_t *consumed, ckpt_error *err)
{
    if (!doc || (!buf && n)) {
        CKPT_FAIL(err, CKPT_E_ARG, "no document or buffer");
        return NULL;
    }
    CKPT__ERR_LOCAL(err);
    vm v;
    memset(&v, 0, sizeof(v));
    v.doc = doc;
    v.buf = buf;
    v.n = n;
    v.h = hooks;
    v.err = err;
    v.name = (opts && opts->name) ? opts->name : "<pickle>";
    v.bytes_strings = opts && opts->bytes_strings;
    v.latin1_strings = opts && opts->latin1_strings;
    v.big_ints = opts && opts->big_ints;
    v.max_depth = (opts && opts->max_depth) ? opts->max_depth : 1000;
    v.max_objects = (opts && opts->max_objects) ? opts->max_objects : (64ULL << 20);
    v.max_stack = (opts && opts->max_stack) ? opts->max_stack : (16ULL << 20);
    v.max_objects += doc->node_count;

    ckpt_obj *result = NULL;
    bool stop = false;
    int rc = 0;
    while (!stop) {
        rc = step(&v, &stop);
        if (rc < 0)
            break;
    }
    if (rc == 0) {
        v.op = CKPT_OP_STOP;
        /* as CPython: STOP returns the top of the stack, leftovers are ignored */
        if (v.sp <= seg_start(&v)) {
            vfail(&v, CKPT_E_FORMAT, "stack is empty at STOP");
        } else {
            result = v.stack[v.sp - 1];
            if (consumed)
                *consumed = v.pos;
        }
    }
    ckpt__mem_free(&doc->mem, v.stack, v.cap * sizeof(*v.stack));
    ckpt__mem_free(&doc->mem, v.marks, v.mcap * sizeof(*v.marks));
    ckpt__mem_free(&doc->mem, v.memo, v.memo_cap * sizeof(*v.memo));
    ckpt__mem_free(&doc->mem, v.dense, v.dense_cap * sizeof(*v.dense));
    return result;
}
