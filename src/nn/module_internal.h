/* src/nn/module_internal.h - helpers shared by module.c and state_dict.c
 * (not used by the layer files). */
#ifndef CKPT_NN_MODULE_INTERNAL_H
#define CKPT_NN_MODULE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "nn/nn_internal.h"

/* A growable NUL-terminated key ("layer1.0.conv1.weight"). */
typedef struct ckpt__keybuf {
    char *p;
    size_t len, cap;
    const ckpt_alloc *a; /* NULL = libc; kept by ckpt__keybuf_free */
} ckpt__keybuf;

int ckpt__keybuf_put(ckpt__keybuf *k, const char *s, size_t n); /* 0 or CKPT_E_NOMEM */
void ckpt__keybuf_truncate(ckpt__keybuf *k, size_t len);
void ckpt__keybuf_free(ckpt__keybuf *k);

/* An open-addressing map from non-NULL pointers to size_t (zero-initialise). */
typedef struct ckpt__ptrset {
    const void **v;
    size_t *val;
    size_t n, cap;
    const ckpt_alloc *a; /* NULL = libc; kept by ckpt__ptrset_free */
} ckpt__ptrset;

/* 1 when `p` was present, 0 when inserted, CKPT_E_NOMEM. */
int ckpt__ptrset_add(ckpt__ptrset *s, const void *p);
/* Insert p -> v; 1 (and *old, when not NULL) when p was present, 0, CKPT_E_NOMEM. */
int ckpt__ptrset_put(ckpt__ptrset *s, const void *p, size_t v, size_t *old);
bool ckpt__ptrset_get(const ckpt__ptrset *s, const void *p, size_t *v);
void ckpt__ptrset_free(ckpt__ptrset *s);

/* The child of `m` whose name is the `n` bytes at `name`, or NULL. */
ckpt_module *ckpt_module__child_n(const ckpt_module *m, const char *name, size_t n);
/* The slot of `m` whose name is the `n` bytes at `name`, or NULL. */
ckpt_slot *ckpt_module__slot_n(const ckpt_module *m, const char *name, size_t n);

/* ckpt_load_state_dict_opts.sub_key: the dict under a (dotted) key of `sd` into *out;
 * CKPT_E_NOT_FOUND / CKPT_E_ARG naming the key (module_io.c). */
int ckpt__sd_sub_key(const ckpt_obj *sd, const char *key, const ckpt_obj **out,
                     const ckpt_alloc *a, ckpt_error *err);

#endif
