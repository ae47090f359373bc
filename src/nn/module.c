/* src/nn/module.c - the module tree: children, parameter and buffer slots,
 * attributes, train/eval, and the named_parameters()/named_modules() walks.
 *
 * Memory: every module, slot, name and attribute comes from the tree's
 * allocator (ckpt_module_new_alloc; NULL = libc, children inherit their
 * parent's) and is freed with the root (ckpt_module_free).  Each slot is its
 * own block (slot header, shape and name together) so a returned ckpt_slot
 * pointer stays valid while more slots are registered.  Owned slot memory and
 * gradients are exact-size blocks of the same allocator (slot->alloc). */
#include <stdlib.h>
#include <string.h>

#include "core/checked.h"
#include "core/err.h"
#include "core/mem.h"
#include "nn/module_internal.h"
#include "nn/nn_internal.h"

/* ------------------------------------------------------------- helpers */

static char *dup_str(const ckpt_alloc *a, const char *s)
{
    return ckpt__hstrdup(a, s);
}

/* A slot, its shape and its name in one block. */
typedef struct slot_block {
    ckpt_slot s;
    int64_t dims[]; /* ndim entries, then the name's bytes */
} slot_block;

void ckpt__slot_grad_free(ckpt_slot *s)
{
    if (!s || !s->grad)
        return;
    ckpt__xfree(s->alloc, s->grad, (size_t)s->nbytes);
    s->grad = NULL;
}

static void slot_free(ckpt_slot *s)
{
    if (!s)
        return;
    const ckpt_alloc *a = s->alloc;
    if (s->owned)
        ckpt__xfree(a, s->data, (size_t)s->nbytes);
    ckpt__slot_grad_free(s);
    ckpt__hfree(a, s);
}

static void attr_clear(const ckpt_alloc *al, ckpt__attr *a)
{
    ckpt__hfree(al, a->name);
    ckpt__hfree(al, a->s);
    ckpt__hfree(al, a->ints);
    memset(a, 0, sizeof(*a));
}

static void module_free_rec(ckpt_module *m)
{
    ckpt_alloc copy = m->a_copy; /* m->a points into m */
    const ckpt_alloc *a = m->a ? &copy : NULL;
    for (size_t i = 0; i < m->nchildren; i++)
        module_free_rec(m->children[i]);
    ckpt__hfree(a, m->children);
    for (size_t i = 0; i < m->nslots; i++)
        slot_free(m->slots[i]);
    ckpt__hfree(a, m->slots);
    for (size_t i = 0; i < m->nattrs; i++)
        attr_clear(a, &m->attrs[i]);
    ckpt__hfree(a, m->attrs);
    if (m->layer_free)
        m->layer_free(m->layer);
    ckpt__hfree(a, m->type);
    ckpt__hfree(a, m->name);
    ckpt__hfree(a, m);
}

/* torch's name rules for register_parameter/register_buffer/add_module */
static int check_name(const ckpt_module *m, const char *name, const char *what, ckpt_error *err)
{
    if (!name)
        return CKPT_FAIL(err, CKPT_E_ARG, "%s name is NULL", what);
    if (!name[0])
        return CKPT_FAIL(err, CKPT_E_ARG, "%s name can't be empty string \"\"", what);
    if (strchr(name, '.'))
        return CKPT_FAIL(err, CKPT_E_ARG, "%s name can't contain \".\", got: %s", what, name);
    for (size_t i = 0; i < m->nslots; i++)
        if (strcmp(m->slots[i]->name, name) == 0)
            return CKPT_FAIL(err, CKPT_E_ARG, "attribute '%s' already exists", name);
    for (size_t i = 0; i < m->nchildren; i++)
        if (strcmp(m->children[i]->name, name) == 0)
            return CKPT_FAIL(err, CKPT_E_ARG, "attribute '%s' already exists", name);
    return 0;
}

static ckpt_module *module_alloc(const char *type_name, const char *name, const ckpt_alloc *a,
                                 ckpt_error *err)
{
    if (!type_name || !type_name[0]) {
        CKPT_FAIL(err, CKPT_E_ARG, "module type name is NULL or empty");
        return NULL;
    }
    ckpt_module *m = ckpt__hzalloc(a, 1, sizeof(*m));
    if (!m) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    if (a) {
        m->a_copy = *a;
        m->a = &m->a_copy;
    }
    m->type = dup_str(a, type_name);
    m->name = dup_str(a, name);
    m->version = 1;
    m->training = true;
    if (!m->type || !m->name) {
        ckpt__hfree(a, m->type);
        ckpt__hfree(a, m->name);
        ckpt__hfree(a, m);
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    return m;
}

static int push_child(ckpt_module *parent, ckpt_module *child, ckpt_error *err)
{
    if (parent->nchildren == parent->children_cap) {
        size_t cap = parent->children_cap ? parent->children_cap * 2 : 4;
        ckpt_module **p = ckpt__hrealloc(parent->a, parent->children, cap * sizeof(*p));
        if (!p)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        parent->children = p;
        parent->children_cap = cap;
    }
    parent->children[parent->nchildren++] = child;
    child->parent = parent;
    return 0;
}

/* ---------------------------------------------------------------- tree */

ckpt_module *ckpt_module_new(const char *type_name, ckpt_error *err)
{
    return module_alloc(type_name, "", NULL, err);
}

ckpt_module *ckpt_module_new_alloc(const char *type_name, const ckpt_alloc *a, ckpt_error *err)
{
    /* an allocator without alloc or free means libc, as everywhere */
    return module_alloc(type_name, "", a && a->alloc && a->free ? a : NULL, err);
}

const ckpt_alloc *ckpt_module_alloc(const ckpt_module *m)
{
    return m ? m->a : NULL;
}

void ckpt_module_free(ckpt_module *root)
{
    if (!root)
        return;
    if (root->parent) {
        /* a child is freed with its root; detach it so the parent stays sound */
        ckpt_module *p = root->parent;
        for (size_t i = 0; i < p->nchildren; i++) {
            if (p->children[i] == root) {
                memmove(&p->children[i], &p->children[i + 1],
                        (p->nchildren - i - 1) * sizeof(*p->children));
                p->nchildren--;
                break;
            }
        }
    }
    module_free_rec(root);
}

ckpt_module *ckpt_module_add(ckpt_module *parent, const char *name, const char *type_name,
                             ckpt_error *err)
{
    if (!parent) {
        CKPT_FAIL(err, CKPT_E_ARG, "parent module is NULL");
        return NULL;
    }
    if (check_name(parent, name, "module", err) < 0)
        return NULL;
    ckpt_module *m = module_alloc(type_name, name, parent->a, err);
    if (!m)
        return NULL;
    m->training = parent->training;
    if (push_child(parent, m, err) < 0) {
        module_free_rec(m);
        return NULL;
    }
    return m;
}

int ckpt_module_adopt(ckpt_module *parent, const char *name, ckpt_module *child, ckpt_error *err)
{
    if (!parent || !child)
        return CKPT_FAIL(err, CKPT_E_ARG, "parent or child module is NULL");
    if (child->parent)
        return CKPT_FAIL(err, CKPT_E_ARG, "module '%s' already has a parent", child->name);
    for (const ckpt_module *a = parent; a; a = a->parent)
        if (a == child)
            return CKPT_FAIL(err, CKPT_E_ARG, "adopting a module into itself makes a cycle");
    CKPT_TRY(check_name(parent, name, "module", err));
    char *n = dup_str(child->a, name);
    if (!n)
        return CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
    int rc = push_child(parent, child, err);
    if (rc < 0) {
        ckpt__hfree(child->a, n);
        return rc;
    }
    ckpt__hfree(child->a, child->name);
    child->name = n;
    return 0;
}

const char *ckpt_module_type(const ckpt_module *m)
{
    return m ? m->type : NULL;
}

const char *ckpt_module_name(const ckpt_module *m)
{
    return m ? m->name : NULL;
}

ckpt_module *ckpt_module_parent(const ckpt_module *m)
{
    return m ? m->parent : NULL;
}

size_t ckpt_module_child_count(const ckpt_module *m)
{
    return m ? m->nchildren : 0;
}

ckpt_module *ckpt_module_child(const ckpt_module *m, size_t i)
{
    return m && i < m->nchildren ? m->children[i] : NULL;
}

ckpt_module *ckpt_module__child_n(const ckpt_module *m, const char *name, size_t n)
{
    for (size_t i = 0; i < m->nchildren; i++) {
        const char *c = m->children[i]->name;
        if (strncmp(c, name, n) == 0 && c[n] == '\0')
            return m->children[i];
    }
    return NULL;
}

ckpt_module *ckpt_module_find(const ckpt_module *m, const char *path)
{
    if (!m || !path)
        return NULL;
    ckpt_module *cur = (ckpt_module *)(uintptr_t)m;
    if (!path[0])
        return cur;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        cur = ckpt_module__child_n(cur, p, n);
        if (!cur || !dot)
            return cur;
        p = dot + 1;
    }
}

void ckpt_module_set_version(ckpt_module *m, int version)
{
    if (m)
        m->version = version;
}

int ckpt_module_version(const ckpt_module *m)
{
    return m ? m->version : 0;
}

void ckpt_module_train(ckpt_module *m, bool training)
{
    if (!m)
        return;
    m->training = training;
    for (size_t i = 0; i < m->nchildren; i++)
        ckpt_module_train(m->children[i], training);
}

bool ckpt_module_training(const ckpt_module *m)
{
    return m ? m->training : false;
}

/* ----------------------------------------------------------- attributes */

static ckpt__attr *attr_find(const ckpt_module *m, const char *name)
{
    if (!m || !name)
        return NULL;
    for (size_t i = 0; i < m->nattrs; i++)
        if (strcmp(m->attrs[i].name, name) == 0)
            return &m->attrs[i];
    return NULL;
}

/* The attribute `name`, emptied for a new value (created when absent). */
static ckpt__attr *attr_slot(ckpt_module *m, const char *name)
{
    if (!m || !name || !name[0])
        return NULL;
    ckpt__attr *a = attr_find(m, name);
    if (a) {
        ckpt__hfree(m->a, a->s);
        ckpt__hfree(m->a, a->ints);
        a->s = NULL;
        a->ints = NULL;
        a->n = 0;
        return a;
    }
    if (m->nattrs == m->attrs_cap) {
        size_t cap = m->attrs_cap ? m->attrs_cap * 2 : 4;
        ckpt__attr *p = ckpt__hrealloc(m->a, m->attrs, cap * sizeof(*p));
        if (!p)
            return NULL;
        m->attrs = p;
        m->attrs_cap = cap;
    }
    char *n = dup_str(m->a, name);
    if (!n)
        return NULL;
    a = &m->attrs[m->nattrs++];
    memset(a, 0, sizeof(*a));
    a->name = n;
    return a;
}

static int attr_nomem(ckpt_module *m, const char *name, ckpt_error *err)
{
    m->attr_oom = true;
    return CKPT_FAIL(err, CKPT_E_NOMEM, "setting module attribute %s: out of memory", name);
}

int ckpt_module_set_attr_int(ckpt_module *m, const char *name, int64_t v, ckpt_error *err)
{
    if (!m || !name || !name[0])
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_module_set_attr_int: no module, name or value");
    ckpt__attr *a = attr_slot(m, name);
    if (!a)
        return attr_nomem(m, name, err);
    a->kind = ATTR_INT;
    a->i = v;
    return 0;
}

int ckpt_module_set_attr_ints(ckpt_module *m, const char *name, size_t n, const int64_t *v,
                              ckpt_error *err)
{
    if (!m || !name || !name[0] || (n && !v))
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_module_set_attr_ints: no module, name or value");
    int64_t *copy = ckpt__hzalloc(m->a, n ? n : 1, sizeof(*copy));
    if (!copy)
        return attr_nomem(m, name, err);
    if (n)
        memcpy(copy, v, n * sizeof(*copy));
    ckpt__attr *a = attr_slot(m, name);
    if (!a) {
        ckpt__hfree(m->a, copy);
        return attr_nomem(m, name, err);
    }
    a->kind = ATTR_INTS;
    a->ints = copy;
    a->n = n;
    return 0;
}

int ckpt_module_set_attr_float(ckpt_module *m, const char *name, double v, ckpt_error *err)
{
    if (!m || !name || !name[0])
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_module_set_attr_float: no module, name or value");
    ckpt__attr *a = attr_slot(m, name);
    if (!a)
        return attr_nomem(m, name, err);
    a->kind = ATTR_FLOAT;
    a->f = v;
    return 0;
}

int ckpt_module_set_attr_bool(ckpt_module *m, const char *name, bool v, ckpt_error *err)
{
    if (!m || !name || !name[0])
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_module_set_attr_bool: no module, name or value");
    ckpt__attr *a = attr_slot(m, name);
    if (!a)
        return attr_nomem(m, name, err);
    a->kind = ATTR_BOOL;
    a->b = v;
    return 0;
}

int ckpt_module_set_attr_str(ckpt_module *m, const char *name, const char *v, ckpt_error *err)
{
    if (!m || !name || !name[0] || !v)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_module_set_attr_str: no module, name or value");
    char *copy = dup_str(m->a, v);
    if (!copy)
        return attr_nomem(m, name, err);
    ckpt__attr *a = attr_slot(m, name);
    if (!a) {
        ckpt__hfree(m->a, copy);
        return attr_nomem(m, name, err);
    }
    a->kind = ATTR_STR;
    a->s = copy;
    return 0;
}

bool ckpt_module_attr_int(const ckpt_module *m, const char *name, int64_t *out)
{
    const ckpt__attr *a = attr_find(m, name);
    if (!a || a->kind != ATTR_INT)
        return false;
    if (out)
        *out = a->i;
    return true;
}

bool ckpt_module_attr_ints(const ckpt_module *m, const char *name, size_t *n, const int64_t **v)
{
    const ckpt__attr *a = attr_find(m, name);
    if (!a || a->kind != ATTR_INTS)
        return false;
    if (n)
        *n = a->n;
    if (v)
        *v = a->ints;
    return true;
}

bool ckpt_module_attr_float(const ckpt_module *m, const char *name, double *out)
{
    const ckpt__attr *a = attr_find(m, name);
    if (!a || a->kind != ATTR_FLOAT)
        return false;
    if (out)
        *out = a->f;
    return true;
}

bool ckpt_module_attr_bool(const ckpt_module *m, const char *name, bool *out)
{
    const ckpt__attr *a = attr_find(m, name);
    if (!a || a->kind != ATTR_BOOL)
        return false;
    if (out)
        *out = a->b;
    return true;
}

const char *ckpt_module_attr_str(const ckpt_module *m, const char *name)
{
    const ckpt__attr *a = attr_find(m, name);
    return a && a->kind == ATTR_STR ? a->s : NULL;
}

size_t ckpt_module_attr_count(const ckpt_module *m)
{
    return m ? m->nattrs : 0;
}

const char *ckpt_module_attr_name(const ckpt_module *m, size_t i)
{
    return m && i < m->nattrs ? m->attrs[i].name : NULL;
}

/* ---------------------------------------------------------------- slots */

/* one byte that stands for the (non-NULL) data of borrowed zero-size slots */
static unsigned char empty_data;

static ckpt_slot *add_slot(ckpt_module *m, const char *name, int dtype, int ndim,
                           const int64_t *shape, void *data, bool borrow, bool none,
                           bool is_param, bool persistent, ckpt_error *err)
{
    const char *what = is_param ? "parameter" : "buffer";
    if (!m) {
        CKPT_FAIL(err, CKPT_E_ARG, "module is NULL");
        return NULL;
    }
    if (check_name(m, name, what, err) < 0)
        return NULL;
    uint64_t nbytes = 0;
    if (none) {
        ndim = 0;
        dtype = CKPT_F32;
    } else {
        size_t es = ckpt_dtype_size(dtype);
        if (dtype < 0 || dtype >= CKPT_DTYPE_COUNT || es == 0) {
            CKPT_FAIL(err, CKPT_E_ARG, "%s '%s': dtype %d has no storage", what, name, dtype);
            return NULL;
        }
        if (ndim < 0 || ndim > 64 || (ndim > 0 && !shape)) {
            CKPT_FAIL(err, CKPT_E_ARG, "%s '%s': bad ndim %d or NULL shape", what, name, ndim);
            return NULL;
        }
        int64_t numel = 1;
        for (int i = 0; i < ndim; i++) {
            if (shape[i] < 0 || ckpt_mul_i64(numel, shape[i], &numel)) {
                CKPT_FAIL(err, CKPT_E_ARG, "%s '%s': bad dimension %lld", what, name,
                          (long long)shape[i]);
                return NULL;
            }
        }
        if (ckpt_mul_u64((uint64_t)numel, es, &nbytes) || nbytes > (uint64_t)SIZE_MAX / 2) {
            CKPT_FAIL(err, CKPT_E_ARG, "%s '%s' is too large", what, name);
            return NULL;
        }
        if (borrow && !data && nbytes > 0) {
            CKPT_FAIL(err, CKPT_E_ARG, "%s '%s': NULL data", what, name);
            return NULL;
        }
    }
    if (m->nslots == m->slots_cap) {
        size_t cap = m->slots_cap ? m->slots_cap * 2 : 4;
        ckpt_slot **p = ckpt__hrealloc(m->a, m->slots, cap * sizeof(*p));
        if (!p) {
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
            return NULL;
        }
        m->slots = p;
        m->slots_cap = cap;
    }
    size_t nl = strlen(name);
    slot_block *b = ckpt__hzalloc(m->a, 1, sizeof(*b) + (size_t)ndim * sizeof(int64_t) + nl + 1);
    if (!b) {
        CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory");
        return NULL;
    }
    char *nm = (char *)&b->dims[ndim];
    memcpy(nm, name, nl + 1);
    if (ndim > 0)
        memcpy(b->dims, shape, (size_t)ndim * sizeof(int64_t));
    ckpt_slot *s = &b->s;
    s->name = nm;
    s->dtype = dtype;
    s->ndim = ndim;
    s->shape = b->dims;
    s->nbytes = nbytes;
    s->is_param = is_param;
    s->persistent = is_param ? true : persistent;
    s->requires_grad = is_param;
    s->alloc = m->a;
    if (none) {
        s->data = NULL;
    } else if (borrow) {
        s->data = data ? data : &empty_data;
    } else {
        s->data = ckpt__xzalloc(m->a, (size_t)nbytes);
        if (!s->data) {
            ckpt__hfree(m->a, b);
            CKPT_FAIL(err, CKPT_E_NOMEM, "out of memory for %s '%s'", what, name);
            return NULL;
        }
        s->owned = true;
    }
    m->slots[m->nslots++] = s;
    return s;
}

ckpt_slot *ckpt_module_param(ckpt_module *m, const char *name, ckpt_dtype dtype, int ndim,
                             const int64_t *shape, ckpt_error *err)
{
    return add_slot(m, name, dtype, ndim, shape, NULL, false, false, true, true, err);
}

ckpt_slot *ckpt_module_param_borrow(ckpt_module *m, const char *name, ckpt_dtype dtype, int ndim,
                                    const int64_t *shape, void *data, ckpt_error *err)
{
    return add_slot(m, name, dtype, ndim, shape, data, true, false, true, true, err);
}

ckpt_slot *ckpt_module_buffer(ckpt_module *m, const char *name, ckpt_dtype dtype, int ndim,
                              const int64_t *shape, bool persistent, ckpt_error *err)
{
    return add_slot(m, name, dtype, ndim, shape, NULL, false, false, false, persistent, err);
}

ckpt_slot *ckpt_module_buffer_borrow(ckpt_module *m, const char *name, ckpt_dtype dtype, int ndim,
                                     const int64_t *shape, void *data, bool persistent,
                                     ckpt_error *err)
{
    return add_slot(m, name, dtype, ndim, shape, data, true, false, false, persistent, err);
}

int ckpt_module_param_none(ckpt_module *m, const char *name, ckpt_error *err)
{
    ckpt_slot *s = add_slot(m, name, CKPT_F32, 0, NULL, NULL, false, true, true, true, err);
    return s ? 0 : (err && err->code ? err->code : CKPT_E_ARG);
}

int ckpt_module_buffer_none(ckpt_module *m, const char *name, bool persistent, ckpt_error *err)
{
    ckpt_slot *s = add_slot(m, name, CKPT_F32, 0, NULL, NULL, false, true, false, persistent,
                            err);
    return s ? 0 : (err && err->code ? err->code : CKPT_E_ARG);
}

ckpt_slot *ckpt_module__slot_n(const ckpt_module *m, const char *name, size_t n)
{
    for (size_t i = 0; i < m->nslots; i++) {
        const char *c = m->slots[i]->name;
        if (strncmp(c, name, n) == 0 && c[n] == '\0')
            return m->slots[i];
    }
    return NULL;
}

ckpt_slot *ckpt_module_slot(const ckpt_module *m, const char *path)
{
    if (!m || !path)
        return NULL;
    const char *dot = strrchr(path, '.');
    if (!dot)
        return ckpt_module__slot_n(m, path, strlen(path));
    const ckpt_module *owner = m;
    const char *p = path;
    while (p < dot) {
        const char *d = strchr(p, '.');
        owner = ckpt_module__child_n(owner, p, (size_t)(d - p));
        if (!owner)
            return NULL;
        p = d + 1;
    }
    return ckpt_module__slot_n(owner, dot + 1, strlen(dot + 1));
}

size_t ckpt_module_slot_count(const ckpt_module *m)
{
    return m ? m->nslots : 0;
}

ckpt_slot *ckpt_module_slot_at(const ckpt_module *m, size_t i)
{
    return m && i < m->nslots ? m->slots[i] : NULL;
}

/* ------------------------------------------------------------ key buffer */

int ckpt__keybuf_put(ckpt__keybuf *k, const char *s, size_t n)
{
    if (k->len + n + 1 > k->cap) {
        size_t cap = k->cap ? k->cap : 64;
        while (cap < k->len + n + 1)
            cap *= 2;
        char *p = ckpt__hrealloc(k->a, k->p, cap);
        if (!p)
            return CKPT_E_NOMEM;
        k->p = p;
        k->cap = cap;
    }
    memcpy(k->p + k->len, s, n);
    k->len += n;
    k->p[k->len] = '\0';
    return 0;
}

void ckpt__keybuf_truncate(ckpt__keybuf *k, size_t len)
{
    k->len = len;
    if (k->p)
        k->p[len] = '\0';
}

void ckpt__keybuf_free(ckpt__keybuf *k)
{
    ckpt__hfree(k->a, k->p);
    *k = (ckpt__keybuf){.a = k->a};
}

/* ------------------------------------------------------ pointer hash set */

static size_t ptr_hash(const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x;
}

/* Returns 1 when `p` was already present (*old = its value), 0 when inserted,
 * < 0 on OOM. */
int ckpt__ptrset_put(ckpt__ptrset *s, const void *p, size_t v, size_t *old)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        const void **t = ckpt__hzalloc(s->a, cap, sizeof(*t));
        size_t *tv = ckpt__hzalloc(s->a, cap, sizeof(*tv));
        if (!t || !tv) {
            ckpt__hfree(s->a, t);
            ckpt__hfree(s->a, tv);
            return CKPT_E_NOMEM;
        }
        for (size_t i = 0; i < s->cap; i++) {
            if (!s->v[i])
                continue;
            size_t h = ptr_hash(s->v[i]) & (cap - 1);
            while (t[h])
                h = (h + 1) & (cap - 1);
            t[h] = s->v[i];
            tv[h] = s->val[i];
        }
        ckpt__hfree(s->a, s->v);
        ckpt__hfree(s->a, s->val);
        s->v = t;
        s->val = tv;
        s->cap = cap;
    }
    size_t h = ptr_hash(p) & (s->cap - 1);
    while (s->v[h]) {
        if (s->v[h] == p) {
            if (old)
                *old = s->val[h];
            return 1;
        }
        h = (h + 1) & (s->cap - 1);
    }
    s->v[h] = p;
    s->val[h] = v;
    s->n++;
    return 0;
}

int ckpt__ptrset_add(ckpt__ptrset *s, const void *p)
{
    return ckpt__ptrset_put(s, p, 0, NULL);
}

bool ckpt__ptrset_get(const ckpt__ptrset *s, const void *p, size_t *v)
{
    if (!s->cap)
        return false;
    size_t h = ptr_hash(p) & (s->cap - 1);
    while (s->v[h]) {
        if (s->v[h] == p) {
            if (v)
                *v = s->val[h];
            return true;
        }
        h = (h + 1) & (s->cap - 1);
    }
    return false;
}

void ckpt__ptrset_free(ckpt__ptrset *s)
{
    ckpt__hfree(s->a, s->v);
    ckpt__hfree(s->a, s->val);
    *s = (ckpt__ptrset){.a = s->a};
}

/* ---------------------------------------------------------------- walks */

typedef struct walk_ctx {
    uint32_t what;
    ckpt_slot_fn fn;
    void *payload;
    ckpt__keybuf key;
    ckpt__ptrset seen;
    ckpt_error *err;
} walk_ctx;

static int walk_kind(walk_ctx *w, ckpt_module *m, bool params)
{
    size_t base = w->key.len;
    for (size_t i = 0; i < m->nslots; i++) {
        ckpt_slot *s = m->slots[i];
        if (s->is_param != params || !s->data)
            continue;
        if (!params && !s->persistent && (w->what & CKPT_WALK_PERSISTENT_ONLY))
            continue;
        /* torch keeps a memo of the tensors seen; shared memory stands for
         * the same tensor here (zero-size slots never count as shared) */
        if (s->nbytes > 0) {
            int r = ckpt__ptrset_add(&w->seen, s->data);
            if (r < 0)
                return CKPT_FAIL(w->err, r, "module walk: out of memory");
            if (r == 1)
                continue;
        }
        if (ckpt__keybuf_put(&w->key, s->name, strlen(s->name)) < 0)
            return CKPT_FAIL(w->err, CKPT_E_NOMEM, "module walk: out of memory");
        int rc = w->fn(w->payload, w->key.p, m, s);
        ckpt__keybuf_truncate(&w->key, base);
        if (rc != 0)
            return rc;
    }
    return 0;
}

static int walk_rec(walk_ctx *w, ckpt_module *m)
{
    int rc = 0;
    if (w->what & CKPT_WALK_PARAMS)
        rc = walk_kind(w, m, true);
    if (rc == 0 && (w->what & CKPT_WALK_BUFFERS))
        rc = walk_kind(w, m, false);
    size_t base = w->key.len;
    for (size_t i = 0; rc == 0 && i < m->nchildren; i++) {
        ckpt_module *c = m->children[i];
        if (ckpt__keybuf_put(&w->key, c->name, strlen(c->name)) < 0 ||
            ckpt__keybuf_put(&w->key, ".", 1) < 0)
            return CKPT_FAIL(w->err, CKPT_E_NOMEM, "module walk: out of memory");
        rc = walk_rec(w, c);
        ckpt__keybuf_truncate(&w->key, base);
    }
    return rc;
}

int ckpt_module_walk(ckpt_module *m, uint32_t what, ckpt_slot_fn fn, void *payload,
                     ckpt_error *err)
{
    if (!m || !fn)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_module_walk: no module or callback");
    walk_ctx w = {.what = what, .fn = fn, .payload = payload, .err = err};
    w.key.a = w.seen.a = m->a;
    int rc = ckpt__keybuf_put(&w.key, "", 0);
    if (rc < 0)
        CKPT_FAIL(err, rc, "module walk: out of memory");
    if (rc == 0)
        rc = walk_rec(&w, m);
    ckpt__keybuf_free(&w.key);
    ckpt__ptrset_free(&w.seen);
    return rc;
}

static int walk_modules_rec(ckpt__keybuf *key, ckpt_module *m, ckpt_module_fn fn, void *payload,
                            ckpt_error *err)
{
    int rc = fn(payload, key->p, m);
    size_t base = key->len;
    for (size_t i = 0; rc == 0 && i < m->nchildren; i++) {
        ckpt_module *c = m->children[i];
        if ((base > 0 && ckpt__keybuf_put(key, ".", 1) < 0) ||
            ckpt__keybuf_put(key, c->name, strlen(c->name)) < 0)
            return CKPT_FAIL(err, CKPT_E_NOMEM, "module walk: out of memory");
        rc = walk_modules_rec(key, c, fn, payload, err);
        ckpt__keybuf_truncate(key, base);
    }
    return rc;
}

int ckpt_module_walk_modules(ckpt_module *m, ckpt_module_fn fn, void *payload, ckpt_error *err)
{
    if (!m || !fn)
        return CKPT_FAIL(err, CKPT_E_ARG, "ckpt_module_walk_modules: no module or callback");
    /* a module has one parent (adopt refuses a second), so the tree holds no
     * duplicates for named_modules() to remove */
    ckpt__keybuf key = {.a = m->a};
    int rc = ckpt__keybuf_put(&key, "", 0);
    if (rc < 0)
        CKPT_FAIL(err, rc, "module walk: out of memory");
    if (rc == 0)
        rc = walk_modules_rec(&key, m, fn, payload, err);
    ckpt__keybuf_free(&key);
    return rc;
}
