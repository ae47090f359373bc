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
    ckpt_obj_repr(key, true, buf, sizeof(buf));
    size_t len = strlen(buf);
    if (len + 1 >= sizeof(buf))
        return CKPT_FAIL(w->err, CKPT_E_LIMIT, "dict key too long for a key path");
    return child(w, c, buf, len, depth);
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
    case CKPT_T_TENSOR:
        rc = w->fn(w->payload, w->key, o);
        if (rc < 0 && !ckpt__error_is_set(w->err)) /* a visitor that gave no reason */
            CKPT_FAIL(w->err, rc, "the tensor visitor failed (%s)", ckpt_status_name(rc));
        if (rc < 0 && w->err && !w->err->key[0])
            snprintf(w->err->key, sizeof(w->err->key), "%.*s", (int)sizeof(w->err->key) - 1,
                     w->key);
        return rc;
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
    case CKPT_T_OBJECT: return o->u.obj->state ? walk(w, o->u.obj->state, depth + 1) : 0;
    default: return 0;
    }
}

int ckpt_obj_walk_tensors(const ckpt_obj *root, ckpt_tensor_visit_fn fn, void *payload,
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
