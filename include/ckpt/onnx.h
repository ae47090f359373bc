/*
 * ckpt/onnx.h - ONNX models: read, inspect, run, export, simplify.
 *
 * A model is read with protobuf-c from the onnx.proto Debian's libonnx-dev
 * ships (ir_version 3 and later, every opset the kernels cover), without
 * running anything from the file: initializers in any encoding (raw_data,
 * typed fields, external data resolved only inside the model's folder and
 * memory-mapped), subgraphs up to a nesting limit, an allocation limit on the
 * whole parse.
 *
 * A session runs a model many times on caller-owned buffers.  Its op kernels
 * are the library's one op library (ckpt/kernels.h) for float32 and
 * element-type dispatch for the rest; shapes are inferred at run time, and a
 * repeated input shape allocates nothing.
 *
 * Thread-safety: a model is read-only once loaded and may back several
 * sessions; one session runs one call at a time.  Added in 0.4.
 */
#ifndef CKPT_ONNX_H
#define CKPT_ONNX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/error.h"
#include "ckpt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CKPT_ONNX_MAX_RANK 16

typedef struct ckpt_onnx_model ckpt_onnx_model;
typedef struct ckpt_onnx_session ckpt_onnx_session;

/* ---------------------------------------------------------------- loading */

typedef struct ckpt_onnx_load_opts {
    /* Most bytes the parse may allocate (protobuf messages, decoded tensors,
     * the IR); 0: 4 GiB or 16 x the file size, whichever is larger.
     * Passing it: CKPT_E_LIMIT naming what was being read. */
    size_t max_bytes;
    /* Refuse initializers stored as external data (CKPT_E_UNSAFE). */
    bool no_external_data;
    /* Copy external data instead of memory-mapping it. */
    bool no_mmap;
} ckpt_onnx_load_opts;

/* Read an .onnx file.  External data is resolved in the file's folder; a
 * location that is absolute, contains "..", or resolves (symlinks followed)
 * outside that folder is refused with CKPT_E_UNSAFE naming the initializer.
 * opts may be NULL.  Returns NULL and fills `err` on failure. */
CKPT_API ckpt_onnx_model *ckpt_onnx_load(const char *path, const ckpt_onnx_load_opts *opts,
                                         ckpt_error *err);
/* Same from memory; `label` names the buffer in errors.  External data is
 * refused (there is no folder to resolve it in).  The bytes are copied. */
CKPT_API ckpt_onnx_model *ckpt_onnx_load_buffer(const void *data, size_t size, const char *label,
                                                const ckpt_onnx_load_opts *opts, ckpt_error *err);
CKPT_API void ckpt_onnx_model_free(ckpt_onnx_model *m);

/* ---------------------------------------------------------------- inspection */

typedef struct ckpt_onnx_info {
    int64_t ir_version;
    int64_t model_version;
    const char *producer_name;    /* "" when absent */
    const char *producer_version; /* "" when absent */
    const char *domain;           /* "" when absent */
    size_t n_opsets;
    size_t n_inputs; /* graph inputs that are not initializers */
    size_t n_outputs;
    size_t n_initializers;
    size_t n_nodes; /* of the main graph */
} ckpt_onnx_info;

CKPT_API int ckpt_onnx_get_info(const ckpt_onnx_model *m, ckpt_onnx_info *out);
/* Opset import i: domain ("" = ai.onnx) and version. */
CKPT_API int ckpt_onnx_get_opset(const ckpt_onnx_model *m, size_t i, const char **domain,
                                 int64_t *version);

enum { CKPT_ONNX_TENSOR = 0, CKPT_ONNX_SEQUENCE = 1, CKPT_ONNX_OPTIONAL = 2 };

/* A declared graph input or output. */
typedef struct ckpt_onnx_value_info {
    const char *name;
    int kind;             /* CKPT_ONNX_TENSOR / _SEQUENCE / _OPTIONAL */
    int dtype;            /* ckpt_dtype, CKPT_DTYPE_UNKNOWN for strings or when not given */
    int elem_type;        /* the ONNX TensorProto.DataType (8 = string), 0 when not given */
    int ndim;             /* -1 when the rank is not given */
    const int64_t *shape; /* ndim entries, -1 for a dynamic dimension */
    const char *const *dim_params; /* ndim entries: the symbolic name or NULL */
} ckpt_onnx_value_info;

CKPT_API int ckpt_onnx_get_input(const ckpt_onnx_model *m, size_t i, ckpt_onnx_value_info *out);
CKPT_API int ckpt_onnx_get_output(const ckpt_onnx_model *m, size_t i, ckpt_onnx_value_info *out);

/*
 * A tensor passed to or from ONNX code: name, element type, shape and a
 * row-major buffer.  `elem_type` (ONNX's code) wins over `dtype` (ckpt's)
 * when both are set on input; both are filled on output.
 */
typedef struct ckpt_onnx_tensor {
    const char *name;
    int dtype;
    int elem_type;
    int ndim;
    int64_t shape[CKPT_ONNX_MAX_RANK];
    void *data;
    uint64_t nbytes; /* bytes at data (outputs: capacity of the caller's buffer) */
} ckpt_onnx_tensor;

/* Initializer i (graph order): data borrowed from the model. */
CKPT_API int ckpt_onnx_get_initializer(const ckpt_onnx_model *m, size_t i, ckpt_onnx_tensor *out);
/* Node i of the main graph: op type, domain ("" = ai.onnx) and name ("" when absent). */
CKPT_API int ckpt_onnx_get_node(const ckpt_onnx_model *m, size_t i, const char **op_type,
                                const char **domain, const char **name);

/* ---------------------------------------------------------------- running */

typedef struct ckpt_onnx_session_opts {
    int threads;      /* 0 or 1: one thread; N: kernels split their work N ways */
    size_t max_bytes; /* most bytes the values of one run may hold; 0: no limit */
} ckpt_onnx_session_opts;

/* Check every node has a kernel (else CKPT_E_UNSUPPORTED naming node, op type,
 * domain and opset) and prepare them.  The model must outlive the session. */
CKPT_API ckpt_onnx_session *ckpt_onnx_session_new(const ckpt_onnx_model *m,
                                                  const ckpt_onnx_session_opts *opts,
                                                  ckpt_error *err);
CKPT_API void ckpt_onnx_session_free(ckpt_onnx_session *s);

/*
 * Run once.  `inputs` are matched to graph inputs by name (or by position when
 * name is NULL); their buffers are read, never written, and need not outlive
 * the call.  For each of `n_outputs` entries (graph outputs by name, or by
 * position when name is NULL), the shape and types are filled and:
 *  - data == NULL: data points into the session, valid until the next run;
 *  - data != NULL: the output is copied there; CKPT_E_SHAPE when nbytes is
 *    smaller than the output (the needed size is left in `nbytes`).
 * A repeated set of input shapes allocates nothing after the first run.
 */
CKPT_API int ckpt_onnx_run(ckpt_onnx_session *s, const ckpt_onnx_tensor *inputs, size_t n_inputs,
                           ckpt_onnx_tensor *outputs, size_t n_outputs, ckpt_error *err);

/* ================================================================ export (onnx_export.c) */

/* Write a model as an ONNX ModelProto: initializers as raw_data (STRING
 * tensors as string_data), every attribute type the reader keeps, subgraphs,
 * value_info of inputs, outputs and typed intermediates (dim_param names for
 * symbolic dims).  The file is replaced atomically (a temporary file in the
 * same folder, fsync'd, renamed over `path`).  Returns 0 or < 0 with `err`
 * naming the file.  The bytes alone: ckpt_onnx_save_buffer (*data malloc'd,
 * free it with free()). */
CKPT_API int ckpt_onnx_save(const ckpt_onnx_model *m, const char *path, ckpt_error *err);
CKPT_API int ckpt_onnx_save_buffer(const ckpt_onnx_model *m, void **data, size_t *size,
                                   ckpt_error *err);

struct ckpt_module;

/*
 * Export options; the zero value (or NULL) is: opset 13, input named "input"
 * and output "output", every dim static, BatchNorm folded (as torch's eval
 * export does).
 *  - input_ndim / input_shape: the example input the forward is traced with
 *    (required); input_int64 for index inputs (Embedding); input_data its
 *    values (NULL: zeros; float32 or int64 as input_int64 says).
 *  - input_dynamic / output_dynamic: NULL, or one entry per dim: NULL for a
 *    static dim, a name ("batch") for a dynamic one (dim_param in the file;
 *    torch's dynamic_axes).
 *  - a BatchNorm right after a Conv/ConvTranspose/Gemm whose output nothing
 *    else reads is folded into its weights (initializers keep the conv's
 *    names); keep_batchnorm keeps it as BatchNormalization.
 */
typedef struct ckpt_onnx_export_opts {
    int opset; /* 0: 13; 11..17 */
    const char *input_name, *output_name;
    int input_ndim;
    const int64_t *input_shape;
    bool input_int64;
    const void *input_data;
    const char *const *input_dynamic;
    const char *const *output_dynamic;
    bool keep_batchnorm;
    const char *producer_name; /* NULL: "ckpt" */
} ckpt_onnx_export_opts;

/*
 * torch.onnx.export for a C model: the module's forward (ckpt_module_call:
 * layers, Sequential, modules with a C forward function) is run once in eval
 * mode on the example input with the tape tracing (ckpt/autograd.h), and each
 * traced layer or functional op becomes ONNX nodes.  Initializers are named
 * by their state_dict keys (tensors the export derives, such as LSTM/GRU
 * weights in ONNX's gate order, get the key plus a suffix).  Dropout
 * disappears; LSTM/GRU become ONNX LSTM/GRU; MultiheadAttention and the
 * transformer layers are traced through their tape ops (projections,
 * attention as MatMul/Softmax, layer_norm as LayerNormalization from opset
 * 17, decomposed below).  The module's train/eval flag
 * is restored afterwards.  An op without an ONNX mapping is CKPT_E_UNSUPPORTED
 * naming it.  ckpt_onnx_export writes `path` atomically;
 * ckpt_onnx_export_model returns the model in memory (run it with a session).
 */
CKPT_API int ckpt_onnx_export(struct ckpt_module *m, const ckpt_onnx_export_opts *opts,
                              const char *path, ckpt_error *err);
CKPT_API ckpt_onnx_model *ckpt_onnx_export_model(struct ckpt_module *m,
                                                 const ckpt_onnx_export_opts *opts,
                                                 ckpt_error *err);

/* ================================================================ simplify (onnx_simplify.c) */

/* Options; the zero value (or NULL) runs every pass. */
typedef struct ckpt_onnx_simplify_opts {
    bool no_shape_inference; /* do not run the model (only Constant nodes fold) */
    bool no_fold_batchnorm;
    bool no_fuse_gemm;
    size_t max_fold_bytes; /* a folded value larger than this and than twice its
                              inputs stays a node (Expand, Tile...); 0: 1 MiB */
} ckpt_onnx_simplify_opts;

typedef struct ckpt_onnx_simplify_report {
    int nodes_before, nodes_after;
    int folded;             /* nodes replaced by initializers (Constant included) */
    int identities_removed; /* Identity and inference Dropout */
    int batchnorms_folded;  /* into Conv / ConvTranspose / Gemm */
    int gemms_fused;        /* MatMul + Add -> Gemm */
    int dead_removed;
    bool ran; /* shape inference ran the model */
} ckpt_onnx_simplify_report;

/*
 * onnx-simplifier's core: shape inference (the model is run on zero inputs
 * of the declared shapes, twice with different sizes for dynamic dims; a dim
 * that changes is dynamic), constant folding (nodes whose inputs are all
 * constant, and Shape/Size of static shapes, become initializers, so
 * Shape->Gather->Unsqueeze->Concat chains fold), Identity and inference
 * Dropout removal, BatchNorm folded into the Conv/ConvTranspose/Gemm before
 * it, MatMul + Add -> Gemm on 2-D inputs, dead nodes and unused initializers
 * removed; value_info gets every intermediate's inferred type.  Repeated
 * until nothing changes.  Returns a new model (`m` untouched) or NULL;
 * `report` may be NULL.  When the model cannot run (an op without a kernel)
 * the passes that need no values still apply (report->ran false).
 */
CKPT_API ckpt_onnx_model *ckpt_onnx_simplify(const ckpt_onnx_model *m,
                                             const ckpt_onnx_simplify_opts *opts,
                                             ckpt_onnx_simplify_report *report, ckpt_error *err);

/* ================================================================ weights (onnx_weights.c) */

#ifdef __cplusplus
}
#endif

#endif
