/* tools/ckpt/cli_util.c - helpers shared by the tree-aware subcommands (cli_util.h). */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"

ckpt_obj *cli_mut(const ckpt_obj *o)
{
    ckpt_obj *p;
    memcpy(&p, &o, sizeof(p));
    return p;
}

/* ------------------------------------------------------------------ text */

void cli_key_text(const ckpt_obj *k, char *buf, size_t n)
{
    ckpt_obj_repr(k, true, buf, n);
}

void cli_value_text(const ckpt_obj *o, char *buf, size_t n)
{
    ckpt_obj_repr(o, false, buf, n);
}

const char *cli_kind_name(const ckpt_obj *o)
{
    if (ckpt_obj_type(o) == CKPT_T_DICT) {
        int k = ckpt_dict_kind_of(o);
        return k == CKPT_DICT_ORDERED   ? "OrderedDict"
               : k == CKPT_DICT_COUNTER ? "Counter"
                                        : "dict";
    }
    return ckpt_type_name(ckpt_obj_type(o));
}

/* -------------------------------------------------------------- key paths */

static const ckpt_obj *object_state(const ckpt_obj *o)
{
    return ckpt_obj_type(o) == CKPT_T_OBJECT ? ckpt_object_state(o) : NULL;
}

const ckpt_obj *cli_resolve(const ckpt_obj *root, const char *path, cli_step *steps,
                            size_t *nsteps, char *why, size_t whyn)
{
    const ckpt_obj *cur = root;
    const char *p = path;
    size_t ns = 0;
    char text[1024];
    while (*p) {
        if (ns + 1 >= CLI_MAX_STEPS) {
            snprintf(why, whyn, "key path nested too deeply");
            return NULL;
        }
        int t = ckpt_obj_type(cur);
        const char *matched_end = NULL;
        size_t idx = 0;
        if (t == CKPT_T_OBJECT && object_state(cur)) {
            if (steps)
                steps[ns] = (cli_step){cur, 0};
            ns++;
            cur = object_state(cur);
            continue;
        }
        if (t == CKPT_T_DICT) {
            size_t best = 0;
            for (size_t i = 0; i < ckpt_obj_len(cur); i++) {
                cli_key_text(ckpt_dict_key(cur, i), text, sizeof(text));
                size_t kl = strlen(text);
                if (kl == 0 || kl < best || strncmp(p, text, kl) != 0)
                    continue;
                if (p[kl] != '\0' && p[kl] != '.')
                    continue;
                if (kl > best || !matched_end) {
                    best = kl;
                    idx = i;
                    matched_end = p + kl;
                }
            }
            if (!matched_end) {
                snprintf(why, whyn, "no key '%.*s' in %s at '%.*s'", (int)strcspn(p, "."), p,
                         cli_kind_name(cur), (p > path ? (int)(p - path - 1) : 0), path);
                return NULL;
            }
            if (steps)
                steps[ns] = (cli_step){cur, idx};
            cur = ckpt_dict_value(cur, idx);
        } else if (t == CKPT_T_LIST || t == CKPT_T_TUPLE) {
            char *end;
            unsigned long long v = strtoull(p, &end, 10);
            if (end == p || (*end && *end != '.') || v >= ckpt_obj_len(cur) || *p == '-' ||
                *p == '+') {
                snprintf(why, whyn, "no index '%.*s' in %s of %zu items", (int)strcspn(p, "."), p,
                         cli_kind_name(cur), ckpt_obj_len(cur));
                return NULL;
            }
            idx = (size_t)v;
            matched_end = end;
            if (steps)
                steps[ns] = (cli_step){cur, idx};
            cur = ckpt_obj_item(cur, idx);
        } else {
            snprintf(why, whyn, "'%.*s' is a %s, it has no key '%.*s'",
                     (p > path ? (int)(p - path - 1) : 0), path, ckpt_type_name(t),
                     (int)strcspn(p, "."), p);
            return NULL;
        }
        ns++;
        p = *matched_end == '.' ? matched_end + 1 : matched_end;
    }
    if (nsteps)
        *nsteps = ns;
    return cur;
}

ckpt_obj *cli_replace_path(ckpt_doc *doc, const ckpt_obj *root, const cli_step *steps,
                           size_t nsteps, ckpt_obj *repl, ckpt_error *err)
{
    (void)root;
    ckpt_obj *cur = repl;
    for (size_t s = nsteps; s-- > 0;) {
        const ckpt_obj *c = steps[s].container;
        size_t idx = steps[s].index, n = ckpt_obj_len(c);
        ckpt_obj *nc = NULL;
        int rc = 0;
        switch (ckpt_obj_type(c)) {
        case CKPT_T_DICT:
            nc = ckpt_dict_new(doc, ckpt_dict_kind_of(c));
            for (size_t i = 0; nc && rc == 0 && i < n; i++)
                rc = ckpt_dict_set(doc, nc, cli_mut(ckpt_dict_key(c, i)),
                                   i == idx ? cur : cli_mut(ckpt_dict_value(c, i)), err);
            if (nc && rc == 0 && ckpt_dict_attrs(c))
                rc = ckpt_dict_set_attrs(nc, cli_mut(ckpt_dict_attrs(c)), err);
            break;
        case CKPT_T_LIST:
            nc = ckpt_list_new(doc);
            for (size_t i = 0; nc && rc == 0 && i < n; i++)
                rc = ckpt_list_append(doc, nc, i == idx ? cur : cli_mut(ckpt_obj_item(c, i)),
                                      err);
            break;
        case CKPT_T_TUPLE:
            nc = ckpt_tuple_new(doc, n, NULL);
            for (size_t i = 0; nc && rc == 0 && i < n; i++)
                rc = ckpt_tuple_set(nc, i, i == idx ? cur : cli_mut(ckpt_obj_item(c, i)), err);
            break;
        default:
            if (err) {
                err->code = CKPT_E_UNSUPPORTED;
                snprintf(err->msg, sizeof(err->msg),
                         "cannot rebuild a %s (an object of class %s.%s) around a new value",
                         ckpt_type_name(ckpt_obj_type(c)), ckpt_global_module(c),
                         ckpt_global_name(c));
            }
            return NULL;
        }
        if (!nc || rc < 0) {
            if (err) {
                err->code = CKPT_E_NOMEM;
                snprintf(err->msg, sizeof(err->msg), "out of memory rebuilding containers");
            }
            return NULL;
        }
        cur = nc;
    }
    return cur;
}

/* ------------------------------------------------------------- elements */

bool cli_dtype_complex(int dtype)
{
    return dtype == CKPT_C32 || dtype == CKPT_C64 || dtype == CKPT_C128;
}

bool cli_dtype_numeric(int dtype)
{
    switch (dtype) {
    case CKPT_U8:
    case CKPT_I8:
    case CKPT_I16:
    case CKPT_I32:
    case CKPT_I64:
    case CKPT_U16:
    case CKPT_U32:
    case CKPT_U64:
    case CKPT_F16:
    case CKPT_BF16:
    case CKPT_F32:
    case CKPT_F64:
    case CKPT_C32:
    case CKPT_C64:
    case CKPT_C128: return true;
    default: return false;
    }
}

static double half_at(const unsigned char *p, int dtype)
{
    double d = 0;
    ckpt_convert_elements(&d, CKPT_F64, p, dtype, 1);
    return d;
}

void cli_elem(const void *vp, int dtype, double *re, double *im)
{
    const unsigned char *p = vp;
    *im = 0;
    union {
        uint8_t u8;
        int8_t i8;
        int16_t i16;
        int32_t i32;
        int64_t i64;
        uint16_t u16;
        uint32_t u32;
        uint64_t u64;
        float f;
        double d;
    } u;
    memcpy(&u, p, ckpt_dtype_size(dtype) <= sizeof(u) ? ckpt_dtype_size(dtype) : sizeof(u));
    switch (dtype) {
    case CKPT_U8: *re = u.u8; break;
    case CKPT_BOOL: *re = u.u8 ? 1 : 0; break;
    case CKPT_I8: *re = u.i8; break;
    case CKPT_I16: *re = u.i16; break;
    case CKPT_I32: *re = u.i32; break;
    case CKPT_I64: *re = (double)u.i64; break;
    case CKPT_U16: *re = u.u16; break;
    case CKPT_U32: *re = u.u32; break;
    case CKPT_U64: *re = (double)u.u64; break;
    case CKPT_F16:
    case CKPT_BF16: *re = half_at(p, dtype); break;
    case CKPT_F32: *re = (double)u.f; break;
    case CKPT_F64: *re = u.d; break;
    case CKPT_C32:
        *re = half_at(p, CKPT_F16);
        *im = half_at(p + 2, CKPT_F16);
        break;
    case CKPT_C64: {
        float f[2];
        memcpy(f, p, 8);
        *re = (double)f[0];
        *im = (double)f[1];
        break;
    }
    case CKPT_C128: {
        double d[2];
        memcpy(d, p, 16);
        *re = d[0];
        *im = d[1];
        break;
    }
    default: *re = (double)NAN; break;
    }
}

void cli_iter_init(cli_iter *it, const ckpt_tensor_info *ti)
{
    memset(it, 0, sizeof(*it));
    it->ndim = ti->ndim < 64 ? ti->ndim : 64;
    it->shape = ti->shape;
    it->stride = ti->stride;
    it->left = ti->numel;
}

bool cli_iter_next(cli_iter *it, int64_t *off)
{
    if (it->left <= 0)
        return false;
    *off = it->off;
    it->left--;
    for (int d = it->ndim - 1; d >= 0; d--) {
        if (++it->idx[d] < it->shape[d]) {
            it->off += it->stride[d];
            break;
        }
        it->off -= it->stride[d] * (it->shape[d] - 1);
        it->idx[d] = 0;
    }
    return true;
}

int cli_parse_layout(const char *v, int *layout)
{
    if (strcmp(v, "1.13") == 0)
        *layout = CKPT_LAYOUT_TORCH13;
    else if (strcmp(v, "2.1") == 0)
        *layout = CKPT_LAYOUT_TORCH21;
    else if (strcmp(v, "2.7") == 0)
        *layout = CKPT_LAYOUT_TORCH27;
    else if (strcmp(v, "legacy") == 0)
        *layout = CKPT_LAYOUT_LEGACY;
    else
        return -1;
    return 0;
}

/* ------------------------------------------------------------- progress */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void cli_progress_init(cli_progress *p, const char *label, uint64_t total)
{
    p->label = label;
    p->total = total;
    p->tty = isatty(STDERR_FILENO) != 0;
    p->start = p->tty ? now_s() : 0;
    p->last = 0;
    p->shown = false;
}

void cli_progress_step(cli_progress *p, uint64_t done)
{
    if (!p->tty)
        return;
    double t = now_s();
    if (t - p->start < 1.0 || t - p->last < 0.2)
        return;
    p->last = t;
    p->shown = true;
    double pct = p->total ? 100.0 * (double)done / (double)p->total : 0.0;
    fprintf(stderr, "\r%s: %5.1f%% (%" PRIu64 " of %" PRIu64 ")\033[K", p->label, pct, done,
            p->total);
    fflush(stderr);
}

void cli_progress_done(cli_progress *p)
{
    if (p->shown) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
    }
    p->shown = false;
}
