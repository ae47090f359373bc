/*
 * src/nn/module_io.c - one call for the common cases: torch.save of a
 * module's state_dict and model.load_state_dict(torch.load(path)), and the
 * nested-dict selection of ckpt_load_state_dict_opts.sub_key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/torch.h"
#include "core/err.h"
#include "core/mem.h"
#include "nn/module_internal.h"

/* "a, b, c" (the first keys of `d`, "..." after them) into buf */
static void list_keys(const ckpt_obj *d, char *buf, size_t n)
{
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < ckpt_obj_len(d) && off + 1 < n; i++) {
        const ckpt_obj *k = ckpt_dict_key(d, i);
        const char *ks = ckpt_obj_type(k) == CKPT_T_STR ? ckpt_obj_str(k, NULL) : "<non-str>";
        int w = i >= 12 ? snprintf(buf + off, n - off, ", ...")
                        : snprintf(buf + off, n - off, "%s'%s'", i ? ", " : "", ks);
        if (w < 0)
            break;
        off += (size_t)w;
        if (i >= 12)
            break;
    }
}

/* where a long key's copy comes from (the module's allocator); oom set on failure */
typedef struct key_mem {
    const ckpt_alloc *a;
    bool oom;
} key_mem;

/* value of `d` under the `len` bytes at `key`, or NULL */
static const ckpt_obj *get_n(key_mem *km, const ckpt_obj *d, const char *key, size_t len)
{
    char small[128];
    char *k = len < sizeof small ? small : ckpt__halloc(km->a, len + 1);
    if (!k) {
        km->oom = true;
        return NULL;
    }
    memcpy(k, key, len);
    k[len] = '\0';
    const ckpt_obj *v = ckpt_dict_get(d, k);
    if (k != small)
        ckpt__hfree(km->a, k);
    return v;
}

/* whole key first, then split at each dot from the left */
static const ckpt_obj *resolve(key_mem *km, const ckpt_obj *d, const char *key, size_t len)
{
    if (ckpt_obj_type(d) != CKPT_T_DICT)
        return NULL;
    const ckpt_obj *v = get_n(km, d, key, len);
    if (v)
        return v;
    for (size_t i = 0; i < len; i++) {
        if (key[i] != '.')
            continue;
        const ckpt_obj *c = get_n(km, d, key, i);
        if (c && ckpt_obj_type(c) == CKPT_T_DICT) {
            v = resolve(km, c, key + i + 1, len - i - 1);
            if (v)
                return v;
        }
    }
    return NULL;
}

int ckpt__sd_sub_key(const ckpt_obj *sd, const char *key, const ckpt_obj **out,
                     const ckpt_alloc *a, ckpt_error *err)
{
    key_mem km = {a, false};
    const ckpt_obj *v = resolve(&km, sd, key, strlen(key));
    if (!v && km.oom)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "load_state_dict: out of memory reading sub_key");
    char keys[400];
    if (!v) {
        list_keys(sd, keys, sizeof keys);
        CKPT_FAIL(err, CKPT_E_NOT_FOUND,
                  "load_state_dict: sub_key '%s' is not in the checkpoint (its keys: %s)", key,
                  keys);
        ckpt__error_prefix_key(err, key);
        return CKPT_E_NOT_FOUND;
    }
    if (ckpt_obj_type(v) != CKPT_T_DICT) {
        CKPT_FAIL(err, CKPT_E_ARG,
                  "load_state_dict: sub_key '%s' holds a value of type %s, not a state dict", key,
                  ckpt_type_name(ckpt_obj_type(v)));
        ckpt__error_prefix_key(err, key);
        return CKPT_E_ARG;
    }
    *out = v;
    return 0;
}

int ckpt_module_save(ckpt_module *m, const char *path, ckpt_error *err)
{
    if (!m || !path)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_module_save: NULL module or path");
    CKPT__ERR_LOCAL(err);
    ckpt_doc *doc = ckpt_doc_new(m->a, err); /* the tree's allocator, for the save too */
    if (!doc)
        return err->code;
    const ckpt_obj *sd = ckpt_module_state_dict(m, doc, NULL, err);
    ckpt_save_opts so = {.alloc = m->a};
    int rc = sd ? ckpt_save(path, sd, &so, err) : err->code;
    ckpt_doc_free(doc);
    return rc < 0 ? rc : 0;
}

int ckpt_module_load(ckpt_module *m, const char *path, const ckpt_load_state_dict_opts *opts,
                     ckpt_state_dict_report *report, ckpt_error *err)
{
    if (report)
        memset(report, 0, sizeof *report);
    if (!m || !path)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_module_load: NULL module or path");
    if (opts && opts->assign)
        return CKPT_FAIL(err, CKPT_E_ARG,
                         "ckpt_module_load: assign needs the document to outlive the module; "
                         "use ckpt_load and ckpt_module_load_state_dict");
    CKPT__ERR_LOCAL(err);
    ckpt_load_opts lo = {.alloc = m->a}; /* ckpt_load's defaults, the tree's allocator */
    ckpt_doc *doc = ckpt_load(path, &lo, err);
    if (!doc)
        return err->code;
    int rc = ckpt_module_load_state_dict(m, ckpt_doc_root(doc), opts, report, err);
    if (rc < 0 && !err->file[0])
        snprintf(err->file, sizeof err->file, "%s", path);
    ckpt_doc_free(doc);
    return rc;
}
