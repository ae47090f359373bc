/* src/jit/ts_write.h - TorchScript writer internals (tswrite): an ONNX graph
 * (ox_graph) becomes the forward of one traced-style class `Model` (one aten
 * call per node, ts_write_ops.c) plus the tensors it reads: attributes of the
 * module (parameters, buffers) or entries of constants.pkl (CONSTANTS.cN). */
#ifndef CKPT_JIT_TS_WRITE_H
#define CKPT_JIT_TS_WRITE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/error.h"
#include "ckpt/onnx.h"
#include "onnx/onnx_internal.h"

/* growing text buffer; `oom` sticks */
typedef struct tw_buf {
    char *p;
    size_t len, cap;
    bool oom;
} tw_buf;

#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
void tw_printf(tw_buf *b, const char *fmt, ...);
void tw_buf_free(tw_buf *b);

enum { TW_PARAM = 1, TW_BUFFER = 2, TW_CONST = 3 };

/* one tensor the archive stores */
typedef struct tw_tensor {
    char *name;      /* attribute name (PARAM/BUFFER); NULL for constants */
    int kind;        /* TW_PARAM / TW_BUFFER / TW_CONST */
    const ox_val *v; /* borrowed from the graph, or `own` */
    size_t cidx;     /* TW_CONST: N of CONSTANTS.cN */
    int mod;         /* PARAM/BUFFER: the (sub)module holding it (tw_state.mods) */
    size_t key;      /* its storage key: data/KEY or constants/KEY */
    ox_val own;
} tw_tensor;

/* a module of the tree: the root, or a submodule named after an initializer's
 * dotted prefix ("fc1" of "fc1.weight"), as torch.jit.trace nests them */
typedef struct tw_mod {
    char *raw;  /* the prefix component as in the ONNX name (NULL: root) */
    char *attr; /* attribute name in the parent */
    char *cls;  /* class name (in __torch__) */
    int parent; /* -1: root */
} tw_mod;

typedef struct tw_state {
    const ox_graph *g;
    ckpt_onnx_session *s; /* after one run on example inputs: every value's shape */
    bool freeze;
    ckpt_error *err;
    char **expr;  /* per value index: its TorchScript expression, NULL until known */
    bool *folded; /* per value: a constant (computed from constants only) */
    bool *buffer; /* per value: a float initializer kept as a buffer (BatchNorm statistics) */
    tw_tensor *t;
    size_t n_t, cap_t;
    tw_mod *mods;
    int n_mods, cap_mods;
    const char *cls; /* root class name */
    size_t n_const;  /* CONSTANTS.cN counter */
    char **in_names; /* forward argument names */
    tw_buf body;
    int tmp;
    int version; /* the file format the code needs (3, or 10 for gelu's approximate) */
} tw_state;

/* Generate the forward body for every node of s->g (ts_write_ops.c). */
int tw_gen_nodes(tw_state *s);
/* The run-time value (shape, data) of value vi after the example run. */
const ox_val *tw_value(tw_state *s, int vi);
/* A tensor operand for value vi: its expression (attribute, constant, temp). */
int tw_operand(tw_state *s, int vi, const char **out);
/* A sanitized, unique identifier for `name` (malloc'd). */
char *tw_ident(tw_state *s, const char *name, const char *prefix, int scope);
/* [A-Za-z_][A-Za-z0-9_]* */
bool tw_is_ident(const char *p);

#endif
