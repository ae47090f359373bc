/* tools/ckpt/cli_flat.c - a checkpoint tree as the flat name -> tensor dict
 * that tensor-only formats (safetensors, GGUF, npz, sharded folders) hold. */
#include <string.h>

#include "cli_flat.h"

typedef struct flat {
    ckpt_doc *doc;
    ckpt_obj *dict;
    const char *fmt;
    bool drop;
    size_t dropped;
    char first_dropped[256];
    ckpt_error *err;
} flat;

static int fail(flat *f, int code, const char *key, const char *what)
{
    if (f->err && !f->err->code) {
        f->err->code = code;
        snprintf(f->err->key, sizeof(f->err->key), "%.250s", key);
        snprintf(f->err->msg, sizeof(f->err->msg),
                 "%.60s; a %.12s file holds tensors only (--drop leaves such values out)", what,
                 f->fmt);
    }
    return -1;
}

static int add(flat *f, const char *key, const ckpt_obj *o, int depth)
{
    if (depth > 1000)
        return fail(f, CKPT_E_LIMIT, key, "nesting deeper than 1000");
    int t = ckpt_obj_type(o);
    if (t == CKPT_T_TENSOR) {
        if (ckpt_dict_get(f->dict, key))
            return fail(f, CKPT_E_UNSUPPORTED, key, "two values flatten to this same name");
        return ckpt_dict_set_str(f->doc, f->dict, key, cli_mut(o), f->err);
    }
    if (t == CKPT_T_DICT || t == CKPT_T_LIST || t == CKPT_T_TUPLE) {
        size_t n = ckpt_obj_len(o);
        for (size_t i = 0; i < n; i++) {
            char part[256], sub[1024];
            const ckpt_obj *child;
            if (t == CKPT_T_DICT) {
                ckpt_obj_repr(ckpt_dict_key(o, i), true, part, sizeof(part));
                child = ckpt_dict_value(o, i);
            } else {
                snprintf(part, sizeof(part), "%zu", i);
                child = ckpt_obj_item(o, i);
            }
            if ((size_t)snprintf(sub, sizeof(sub), "%s%s%s", key, key[0] ? "." : "", part) >=
                sizeof(sub))
                return fail(f, CKPT_E_LIMIT, key, "a key path longer than 1023 bytes");
            if (add(f, sub, child, depth + 1) < 0)
                return -1;
        }
        return 0;
    }
    char what[300];
    snprintf(what, sizeof(what), "a value of type %s, not a tensor", ckpt_type_name(t));
    if (!f->drop)
        return fail(f, CKPT_E_UNSUPPORTED, key[0] ? key : "(root)", what);
    if (!f->dropped++)
        snprintf(f->first_dropped, sizeof(f->first_dropped), "%.250s", key);
    return 0;
}

ckpt_obj *cli_flatten(ckpt_doc *doc, const ckpt_obj *root, const char *fmt, bool drop,
                      size_t *dropped, ckpt_error *err)
{
    flat f = {doc, ckpt_dict_new(doc, CKPT_DICT_ORDERED), fmt, drop, 0, "", err};
    if (!f.dict) {
        if (err && !err->code) {
            err->code = CKPT_E_NOMEM;
            snprintf(err->msg, sizeof(err->msg), "out of memory");
        }
        return NULL;
    }
    if (ckpt_obj_type(root) == CKPT_T_TENSOR) {
        if (ckpt_dict_set_str(doc, f.dict, "tensor", cli_mut(root), err) < 0)
            return NULL;
    } else if (add(&f, "", root, 0) < 0) {
        return NULL;
    }
    if (dropped)
        *dropped = f.dropped;
    return f.dict;
}
