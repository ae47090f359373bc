/* src/optim/optim_internal.h - the optimizer struct shared by optim.c (groups,
 * hyperparameters), step.c (update rules) and state_dict.c. */
#ifndef CKPT_OPTIM_INTERNAL_H
#define CKPT_OPTIM_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "ckpt/alloc.h"
#include "ckpt/optim.h"

/* Python value kinds of a hyperparameter or a non-tensor state entry. */
enum { HP_NONE = 0, HP_BOOL, HP_INT, HP_FLOAT, HP_TUPLE, HP_TENSOR };

#define OPT_KEY_MAX 48
#define OPT_TUPLE_MAX 4

typedef struct ckpt__hp {
    char key[OPT_KEY_MAX];
    int kind; /* HP_NONE .. HP_TUPLE */
    bool b;
    int64_t i;
    double f;
    size_t n;              /* tuple length */
    int tk[OPT_TUPLE_MAX]; /* tuple items: HP_INT or HP_FLOAT */
    double t[OPT_TUPLE_MAX];
    uint64_t ident; /* tuples: identity (equal = same Python object) */
} ckpt__hp;

typedef struct ckpt__hp_list {
    ckpt__hp *v;
    size_t n, cap;
} ckpt__hp_list;

/* One per-parameter state entry ("exp_avg" -> tensor, "step" -> int, ...). */
typedef struct ckpt__st {
    char key[OPT_KEY_MAX];
    int kind; /* HP_NONE, HP_BOOL, HP_INT, HP_FLOAT, HP_TENSOR */
    bool b;
    int64_t i;
    double f;
    int dtype; /* tensors */
    int ndim;
    int64_t shape[8];
    int64_t numel;
    void *data; /* malloc'd, numel * dtype size */
} ckpt__st;

typedef struct ckpt__pstate {
    ckpt__st *v;
    size_t n;
    bool present;   /* has an entry in optimizer.state */
    uint64_t order; /* creation order */
} ckpt__pstate;

typedef struct ckpt__group {
    ckpt_slot **params;
    size_t n;
    size_t first; /* state-dict index of params[0] */
    ckpt__hp_list hp;
} ckpt__group;

struct ckpt_optim {
    int kind;
    ckpt_alloc alloc_copy; /* the caller's allocator, when one was given */
    const ckpt_alloc *a;   /* &alloc_copy or NULL (libc); every allocation goes through it */
    ckpt__hp_list defaults;
    ckpt__group *groups;
    size_t ngroups;
    ckpt__pstate *state; /* one per parameter, by state-dict index */
    size_t nparams;
    uint64_t next_order;
    uint64_t next_ident;
};

/* memory through an allocator (NULL = libc); blocks know their size (oalloc.c) */
void *ckpt_optim__alloc(const ckpt_alloc *a, size_t n);
void *ckpt_optim__zalloc(const ckpt_alloc *a, size_t n, size_t size);
void *ckpt_optim__realloc(const ckpt_alloc *a, void *p, size_t n);
void ckpt_optim__free(const ckpt_alloc *a, void *p);

/* hyperparameter helpers (optim.c) */
ckpt__hp *ckpt_optim__hp_find(const ckpt__hp_list *l, const char *key);
int ckpt_optim__hp_put(const ckpt_alloc *a, ckpt__hp_list *l, const ckpt__hp *v);
void ckpt_optim__hp_list_free(const ckpt_alloc *a, ckpt__hp_list *l);
double ckpt_optim__num(const ckpt__group *g, const char *key);
double ckpt_optim__item(const ckpt__group *g, const char *key, size_t i);
bool ckpt_optim__truthy(const ckpt__group *g, const char *key);
/* declaration order of the defaults of `kind` */
const char *const *ckpt_optim__default_keys(int kind);
/* append the keys __setstate__ setdefaults when missing */
int ckpt_optim__setdefaults(const ckpt_optim *o, ckpt__hp_list *hp);

/* state helpers (optim.c) */
ckpt__st *ckpt_optim__st_find(const ckpt__pstate *p, const char *key);
/* append an entry (tensor entries get `numel` zeroed elements of dtype) */
ckpt__st *ckpt_optim__st_add(const ckpt_alloc *a, ckpt__pstate *p, const char *key, int kind);
int ckpt_optim__st_tensor(const ckpt_alloc *a, ckpt__st *s, int dtype, int ndim,
                          const int64_t *shape);
void ckpt_optim__pstate_clear(const ckpt_alloc *a, ckpt__pstate *p);
int64_t ckpt_optim__numel(const ckpt_slot *s);

#endif
