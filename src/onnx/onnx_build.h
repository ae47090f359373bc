/*
 * src/onnx/onnx_build.h - a mutable ONNX model under construction, for the
 * writer (onnx_write.c), the exporter (onnx_export.c) and the simplifier
 * (onnx_simplify.c).
 *
 * The reader's IR (ox_graph) is read-only and index-based; an `ob_model` is
 * name-based and grows: nodes, initializers and value infos are appended,
 * nodes can be marked dead, and the whole is serialized to a ModelProto
 * (ob_pack) or turned back into a loaded ckpt_onnx_model (ob_to_model, a
 * pack then a load, so the result went through the same checks as any file).
 *
 * Ownership: everything in an ob_model is owned by it (names, attribute
 * arrays, initializer data), except GRAPH / GRAPHS attributes, which borrow
 * the subgraphs of the model they were copied from (that model must outlive
 * the ob_model's pack).
 */
#ifndef CKPT_ONNX_BUILD_H
#define CKPT_ONNX_BUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "onnx/onnx_internal.h"

typedef struct ob_node {
    char *op, *domain, *name;
    int n_in, n_out;
    char **in;  /* "" for an omitted optional input */
    char **out; /* "" for an omitted optional output */
    ox_attr *attrs;
    int n_attrs;
    bool dead; /* dropped when packed */
} ob_node;

typedef struct ob_init {
    char *name;
    ox_val v; /* owned */
    bool dead;
} ob_init;

typedef struct ob_vi {
    char *name;
    ox_type type; /* dim_params owned */
} ob_vi;

typedef struct ob_model {
    int64_t ir_version;
    char *producer_name, *producer_version, *domain, *doc_string, *graph_name;
    int64_t model_version;
    ox_opset *opsets;
    int n_opsets;
    char **meta_keys, **meta_values;
    int n_meta;
    ob_node *nodes;
    int n_nodes, cap_nodes;
    ob_init *inits;
    int n_inits, cap_inits;
    ob_vi *inputs, *outputs, *vinfo;
    int n_inputs, n_outputs, n_vinfo;
    int cap_inputs, cap_outputs, cap_vinfo;
    uint64_t uniq; /* counter for fresh names */
} ob_model;

ob_model *ob_new(ckpt_error *err);
void ob_free(ob_model *b);
int ob_set_opset(ob_model *b, const char *domain, int64_t version, ckpt_error *err);
/* The main graph of a loaded model as a builder (deep copy; subgraph
 * attributes borrowed from `m`). */
ob_model *ob_from_model(const ckpt_onnx_model *m, ckpt_error *err);

/* Append a node; inputs/outputs copied (NULL entries = "").  Returns the node
 * (valid until the next ob_add_node) or NULL. */
ob_node *ob_add_node(ob_model *b, const char *op, const char *name, int n_in,
                     const char *const *in, int n_out, const char *const *out, ckpt_error *err);
/* Attributes on a node (copied). */
int ob_attr_int(ob_node *n, const char *name, int64_t v, ckpt_error *err);
int ob_attr_float(ob_node *n, const char *name, float v, ckpt_error *err);
int ob_attr_str(ob_node *n, const char *name, const char *v, ckpt_error *err);
int ob_attr_ints(ob_node *n, const char *name, size_t cnt, const int64_t *v, ckpt_error *err);
int ob_attr_floats(ob_node *n, const char *name, size_t cnt, const float *v, ckpt_error *err);
int ob_attr_tensor(ob_node *n, const char *name, const ox_val *t, ckpt_error *err);
/* Deep copy of a reader attribute (GRAPH/GRAPHS borrowed). */
int ob_attr_copy(ob_node *n, const ox_attr *a, ckpt_error *err);
/* Remove attribute `name` if present. */
void ob_attr_remove(ob_node *n, const char *name);
const ox_attr *ob_attr_get(const ob_node *n, const char *name);
/* Replace input k's name. */
int ob_node_set_input(ob_node *n, int k, const char *name, ckpt_error *err);

/* An initializer copied from `data` (numel * size bytes; STRING: char **). */
ob_init *ob_add_init(ob_model *b, const char *name, int dtype, int rank, const int64_t *dims,
                     const void *data, ckpt_error *err);
ob_init *ob_find_init(ob_model *b, const char *name);
/* Graph inputs / outputs / value_info: `t` copied (NULL: no type). */
int ob_add_input(ob_model *b, const char *name, const ox_type *t, ckpt_error *err);
int ob_add_output(ob_model *b, const char *name, const ox_type *t, ckpt_error *err);
int ob_add_vinfo(ob_model *b, const char *name, const ox_type *t, ckpt_error *err);
/* A tensor type with rank/dims (-1 dynamic; dim_params may be NULL or hold NULLs). */
ox_type ob_tensor_type(int dtype, int rank, const int64_t *dims, const char *const *dim_params);

/* A fresh value name "<base>_<n>" not used so far by the builder's counter
 * (the caller keeps bases distinct from user names, e.g. with a '/'). */
char *ob_fresh(ob_model *b, const char *base, char *buf, size_t cap);

/* Fold each BatchNormalization (inference form, constant parameters) into the
 * Conv / ConvTranspose (group 1) / Gemm whose only reader it is; *folded
 * counts them (onnx_simplify.c; the exporter uses it too). */
int ox_fold_batchnorm(ob_model *b, int *folded, ckpt_error *err);

/* Serialize (dead nodes and initializers left out).  *out is malloc'd. */
int ob_pack(const ob_model *b, void **out, size_t *len, ckpt_error *err);
/* Pack then load: a model the runtime can run. */
ckpt_onnx_model *ob_to_model(const ob_model *b, ckpt_error *err);
/* Pack then write atomically to `path`. */
int ob_save(const ob_model *b, const char *path, ckpt_error *err);

#endif
