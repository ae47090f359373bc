/* src/core/error.c - status names and the first-error-wins error record. */
#include <stdio.h>
#include <string.h>

#include "err.h"

const char *ckpt_status_name(int code)
{
    switch (code) {
    case CKPT_OK: return "CKPT_OK";
    case CKPT_E_ARG: return "CKPT_E_ARG";
    case CKPT_E_NOMEM: return "CKPT_E_NOMEM";
    case CKPT_E_IO: return "CKPT_E_IO";
    case CKPT_E_FORMAT: return "CKPT_E_FORMAT";
    case CKPT_E_UNSAFE: return "CKPT_E_UNSAFE";
    case CKPT_E_UNSUPPORTED: return "CKPT_E_UNSUPPORTED";
    case CKPT_E_NOT_FOUND: return "CKPT_E_NOT_FOUND";
    case CKPT_E_SHAPE: return "CKPT_E_SHAPE";
    case CKPT_E_LIMIT: return "CKPT_E_LIMIT";
    default: return "CKPT_E_UNKNOWN";
    }
}

void ckpt_error_clear(ckpt_error *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}

int ckpt__error_is_set(const ckpt_error *err)
{
    return err && err->code != 0;
}

CKPT__PRINTF(2, 0) static void set_msg(ckpt_error *err, const char *fmt, va_list ap)
{
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
}

int ckpt__fail(ckpt_error *err, int code, const char *src_file, int src_line, const char *fmt,
               ...)
{
    if (!err || err->code != 0)
        return code;
    err->code = code;
    err->src_file = src_file;
    err->src_line = src_line;
    va_list ap;
    va_start(ap, fmt);
    set_msg(err, fmt, ap);
    va_end(ap);
    return code;
}

int ckpt__fail_at(ckpt_error *err, int code, int where, const char *member, uint64_t offset,
                  const char *src_file, int src_line, const char *fmt, ...)
{
    if (!err || err->code != 0)
        return code;
    err->code = code;
    err->src_file = src_file;
    err->src_line = src_line;
    err->where = where;
    err->offset = offset;
    if (member)
        snprintf(err->member, sizeof(err->member), "%s", member);
    va_list ap;
    va_start(ap, fmt);
    set_msg(err, fmt, ap);
    va_end(ap);
    return code;
}

void ckpt__error_set_file(ckpt_error *err, const char *file)
{
    if (err && err->code != 0 && err->file[0] == '\0' && file)
        snprintf(err->file, sizeof(err->file), "%s", file);
}

void ckpt__error_prefix_key(ckpt_error *err, const char *component)
{
    if (!err || err->code == 0 || !component)
        return;
    char tmp[sizeof(err->key)];
    size_t cl = strlen(component), kl = strlen(err->key), n = 0;
    if (cl > sizeof(tmp) - 1)
        cl = sizeof(tmp) - 1;
    memcpy(tmp, component, cl);
    n = cl;
    if (kl && n + 1 < sizeof(tmp)) {
        tmp[n++] = '.';
        if (kl > sizeof(tmp) - 1 - n)
            kl = sizeof(tmp) - 1 - n;
        memcpy(tmp + n, err->key, kl);
        n += kl;
    }
    tmp[n] = '\0';
    memcpy(err->key, tmp, n + 1);
}

const char *ckpt_error_format(const ckpt_error *err, char *buf, size_t n)
{
    if (!buf || n == 0)
        return buf;
    if (!err || err->code == 0) {
        snprintf(buf, n, "no error");
        return buf;
    }
    size_t off = 0;
#define APPEND(...)                                                                              \
    do {                                                                                         \
        if (off < n) {                                                                           \
            int w_ = snprintf(buf + off, n - off, __VA_ARGS__);                                  \
            if (w_ > 0)                                                                          \
                off += (size_t)w_;                                                               \
        }                                                                                        \
    } while (0)
    if (err->file[0])
        APPEND("%s: ", err->file);
    if (err->where == CKPT_WHERE_FILE)
        APPEND("byte %llu: ", (unsigned long long)err->offset);
    else if (err->where == CKPT_WHERE_MEMBER)
        APPEND("member %s byte %llu: ", err->member, (unsigned long long)err->offset);
    else if (err->where == CKPT_WHERE_PICKLE)
        APPEND("pickle %s byte %llu: ", err->member[0] ? err->member : "<stream>",
               (unsigned long long)err->offset);
    if (err->key[0])
        APPEND("key '%s': ", err->key);
    APPEND("%s [%s]", err->msg, ckpt_status_name(err->code));
#undef APPEND
    return buf;
}
