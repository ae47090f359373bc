/*
 * src/onnx/onnx_internal.h - the ONNX layer's intermediate representation and
 * the contract between the runtime (onnx_session.c) and the op kernels
 * (ops_*.c).
 *
 * A model read from protobuf (onnx_read.c) becomes an `ox_graph`: a table of
 * named values (graph inputs, initializers, node outputs) and a node list in
 * topological order.  Nothing here points into the protobuf message once the
 * model is built, except initializer bytes that are mapped from external data.
 *
 * At run time every value of a graph has a slot (`ox_val`).  A kernel reads
 * its input slots, computes its output shapes from them (shape inference is
 * the kernel's job: dynamic dimensions are resolved by running), asks the
 * runtime for each output buffer with ox_out(), and writes it.  Slots keep
 * their buffers between runs, so a repeated input shape allocates nothing.
 *
 * Kernels for float32 call the one op library (src/ops, ckpt/kernels.h);
 * other dtypes are handled in the kernel files by element-type dispatch.
 */
#ifndef CKPT_ONNX_INTERNAL_H
#define CKPT_ONNX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/error.h"
#include "ckpt/onnx.h"

#define OX_MAX_RANK 16
#define OX_MAX_SUBGRAPH_DEPTH 16

/* ONNX TensorProto.DataType values (onnx.proto). */
enum {
    OX_UNDEFINED = 0,
    OX_FLOAT = 1,
    OX_UINT8 = 2,
    OX_INT8 = 3,
    OX_UINT16 = 4,
    OX_INT16 = 5,
    OX_INT32 = 6,
    OX_INT64 = 7,
    OX_STRING = 8,
    OX_BOOL = 9,
    OX_FLOAT16 = 10,
    OX_DOUBLE = 11,
    OX_UINT32 = 12,
    OX_UINT64 = 13,
    OX_COMPLEX64 = 14,
    OX_COMPLEX128 = 15,
    OX_BFLOAT16 = 16,
    OX_DTYPE_MAX = 16
};

/* Bytes per element (STRING: sizeof(char *)); 0 for an unknown type. */
size_t ox_dtype_size(int dtype);
const char *ox_dtype_name(int dtype);
/* ckpt_dtype <-> ONNX elem type; -1 / 0 when there is none. */
int ox_dtype_to_ckpt(int dtype);
int ox_dtype_from_ckpt(int ckpt_dtype);

/* ------------------------------------------------------------ values */

enum { OX_KIND_TENSOR = 0, OX_KIND_SEQUENCE = 1, OX_KIND_NONE = 2 /* empty optional */ };

/*
 * A run-time value.  For tensors, `data` holds numel elements row-major
 * (STRING: numel `char *`, each NUL-terminated and owned by the value).
 * `buf`/`cap` is the slot's own buffer, reused between runs; `data` may point
 * elsewhere (an initializer, a caller's input, another slot: see ox_alias).
 */
typedef struct ox_val {
    int kind;
    int dtype;
    int rank;
    int64_t dims[OX_MAX_RANK];
    int64_t numel;
    void *data;
    void *buf;
    size_t cap;
    /* sequences: `n_items` owned values (each its own allocation) */
    struct ox_val **items;
    int64_t n_items;
    int seq_dtype; /* element type of an empty sequence */
} ox_val;

/* Bytes of the tensor's data (numel * element size); 0 for non-tensors. */
size_t ox_val_nbytes(const ox_val *v);
/* Free everything a value owns (buffer, strings, sequence items) and zero it. */
void ox_val_clear(ox_val *v);
/* Deep copy `src` into `dst` (dst's buffer reused when large enough). */
int ox_val_copy(ox_val *dst, const ox_val *src, ckpt_error *err);
/* Set dtype/rank/dims and make `data` hold numel elements in the slot's own
 * buffer (grown when needed; not zeroed).  dims may be NULL when rank is 0.
 * CKPT_E_LIMIT when numel * size overflows or passes the session limit. */
int ox_val_reshape_alloc(ox_val *v, int dtype, int rank, const int64_t *dims, ckpt_error *err);
/* Value buffers (re)allocated by ox_val_reshape_alloc since the process
 * started (all sessions): a repeated input shape must not move it. */
uint64_t ox_buffer_allocs(void);
/* Element count of dims, -1 on overflow or a negative dim. */
int64_t ox_numel(int rank, const int64_t *dims);

/* ------------------------------------------------------------ attributes */

/* AttributeProto.AttributeType values. */
enum {
    OX_ATTR_UNDEFINED = 0,
    OX_ATTR_FLOAT = 1,
    OX_ATTR_INT = 2,
    OX_ATTR_STRING = 3,
    OX_ATTR_TENSOR = 4,
    OX_ATTR_GRAPH = 5,
    OX_ATTR_SPARSE_TENSOR = 11,
    OX_ATTR_TYPE_PROTO = 13,
    OX_ATTR_FLOATS = 6,
    OX_ATTR_INTS = 7,
    OX_ATTR_STRINGS = 8,
    OX_ATTR_TENSORS = 9,
    OX_ATTR_GRAPHS = 10,
    OX_ATTR_SPARSE_TENSORS = 12,
    OX_ATTR_TYPE_PROTOS = 14
};

struct ox_graph;

typedef struct ox_attr {
    char *name;
    int type;
    char *ref_attr_name; /* inside a function body: the caller's attribute, or NULL */
    float f;
    int64_t i;
    char *s; /* NUL-terminated; s_len counts bytes (s may hold NULs) */
    size_t s_len;
    float *floats;
    int64_t *ints;
    char **strings;
    size_t *string_lens;
    size_t n; /* entries of floats / ints / strings / tensors / graphs */
    ox_val *t;
    ox_val *tensors;
    struct ox_graph *g;
    struct ox_graph **graphs;
} ox_attr;

/* ------------------------------------------------------------ graph */

typedef struct ox_node ox_node;
typedef struct ox_run ox_run;

/* A kernel: compute node outputs from inputs.  `in[k]` is NULL for an
 * omitted optional input (empty name, or n_in <= k < n_in + 8); `out[k]` are the output
 * slots (NULL for an omitted optional output).  Outputs are produced with
 * ox_out() / ox_alias() / ox_val_reshape_alloc().  Errors name the node
 * (ox_fail). */
typedef int (*ox_kernel_fn)(ox_run *r, const ox_node *node, ox_val *const *in, ox_val *const *out,
                            ckpt_error *err);
/* Optional: called once when the session is created, to check attributes
 * and precompute per-node state (stored in node->state, freed with free()). */
typedef int (*ox_prepare_fn)(ox_node *node, ckpt_error *err);

typedef struct ox_op {
    const char *op_type;
    const char *domain; /* "" for ai.onnx */
    int min_opset;      /* the kernel handles opset versions [min_opset, max_opset] */
    int max_opset;      /* 0: no upper bound */
    ox_kernel_fn run;
    ox_prepare_fn prepare;
} ox_op;

struct ox_node {
    char *name;
    char *op_type;
    char *domain; /* "" for ai.onnx */
    int opset;    /* the model's opset version of `domain` */
    int index;    /* position in the graph's node list */
    int n_in, n_out;
    int *in;  /* value indices, -1 for an omitted optional input */
    int *out; /* value indices, -1 for an omitted optional output */
    ox_attr *attrs;
    int n_attrs;
    const ox_op *op; /* bound when the model is read (NULL: no kernel) */
    void *state;     /* from op->prepare */
    char *prep_err;  /* why op->prepare refused the node (op is then NULL) */
    int prep_code;   /* and its ckpt_status */
};

/* Value-info from the file (graph inputs/outputs, value_info). */
typedef struct ox_type {
    int kind;                  /* OX_KIND_TENSOR / OX_KIND_SEQUENCE / OX_KIND_NONE (optional) */
    int dtype;                 /* tensor elem type (of the elements for a sequence) */
    int rank;                  /* -1: unknown */
    int64_t dims[OX_MAX_RANK]; /* -1 where dynamic */
    char *dim_params[OX_MAX_RANK];
    bool known;             /* a type was given */
    bool optional_sequence; /* kind NONE: optional(sequence(tensor)) (export: the writer) */
} ox_type;

typedef struct ox_value {
    char *name;
    ox_type type;
    int producer; /* node index, -1 for graph inputs / initializers / outer values */
    bool is_input, is_output, is_initializer;
    int outer;   /* >= 0: this name belongs to the enclosing graph (value index there) */
    ox_val init; /* initializer / Constant data (borrowed or owned, see init_owned) */
    bool init_owned;
} ox_value;

typedef struct ox_graph {
    char *name;
    struct ox_graph *parent;
    ox_value *values;
    int n_values;
    ox_node *nodes;
    int n_nodes;
    int *inputs; /* value indices (graph inputs that are not initializers) */
    int n_inputs;
    int *outputs;
    int n_outputs;
    int *initializers;
    int n_initializers;
    int depth;
    struct ckpt_onnx_model *model;
} ox_graph;

typedef struct ox_opset {
    char *domain;
    int64_t version;
} ox_opset;

struct ckpt_onnx_model {
    char *path; /* as given (or the buffer label) */
    char *dir;  /* folder external data is resolved in (NULL: no external data allowed) */
    int64_t ir_version;
    char *producer_name, *producer_version, *domain, *doc_string;
    int64_t model_version;
    ox_opset *opsets;
    int n_opsets;
    char **meta_keys, **meta_values;
    int n_meta;
    ox_graph *graph;
    /* external-data files mapped for zero-copy initializers */
    void **maps;
    size_t *map_lens;
    int n_maps;
    size_t bytes_limit;
};

/* Value index of `name` in `g`, -1 if absent (hash lookup after build). */
int ox_graph_find(const ox_graph *g, const char *name);
/* The opset version the model imports for `domain` ("" = ai.onnx), 0 if none. */
int64_t ox_model_opset(const struct ckpt_onnx_model *m, const char *domain);
void ox_graph_free(ox_graph *g);

/* ------------------------------------------------------------ attributes access */

const ox_attr *ox_attr_get(const ox_node *n, const char *name);
/* Free what an attribute owns (its subgraphs too when `own_graphs`) and zero it. */
void ox_attr_free(ox_attr *a, bool own_graphs);
int64_t ox_attr_int(const ox_node *n, const char *name, int64_t dflt);
float ox_attr_float(const ox_node *n, const char *name, float dflt);
/* String attribute or `dflt`. */
const char *ox_attr_str(const ox_node *n, const char *name, const char *dflt);
/* INTS attribute: pointer and count, NULL/0 when absent. */
const int64_t *ox_attr_ints(const ox_node *n, const char *name, size_t *count);
const float *ox_attr_floats(const ox_node *n, const char *name, size_t *count);
const ox_val *ox_attr_tensor(const ox_node *n, const char *name);
struct ox_graph *ox_attr_graph(const ox_node *n, const char *name);

/* ------------------------------------------------------------ run-time API for kernels */

/* Record an error naming the node: "node NAME (OpType): ...". */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 4, 5)))
#endif
int ox_fail(ckpt_error *err, int code, const ox_node *n, const char *fmt, ...);

/* Output k: a tensor of `dtype` and `dims` in the slot's own buffer. */
int ox_out(ox_run *r, const ox_node *n, ox_val *out, int dtype, int rank, const int64_t *dims,
           ckpt_error *err);
/* Output that shares `src`'s data with new dims (Reshape, Squeeze, Identity...).
 * The numel must match. */
int ox_alias(ox_run *r, const ox_node *n, ox_val *out, const ox_val *src, int rank,
             const int64_t *dims, ckpt_error *err);
/* Number of threads the session runs with (>= 1). */
int ox_threads(const ox_run *r);
/* Scratch memory of `bytes`, valid until the kernel returns; NULL + error on
 * failure.  One block per call: a second call may free the first, so a
 * kernel takes one block and splits it. */
void *ox_scratch(ox_run *r, size_t bytes, ckpt_error *err);
/* Run a subgraph (If / Loop / Scan bodies): `inputs` bind the subgraph's
 * inputs in order; outputs are deep-copied into `outputs` (n_outputs slots).
 * Outer-scope names resolve to the values of the calling graph's run. */
int ox_run_subgraph(ox_run *r, const ox_graph *g, ox_val *const *inputs, int n_inputs,
                    ox_val *const *outputs, int n_outputs, ckpt_error *err);

/* Read an input as int64 values (any integer dtype), e.g. Reshape's shape:
 * copies up to `max` values into `dst`; returns the count or < 0. */
int64_t ox_read_ints(const ox_node *n, const ox_val *v, int64_t *dst, int64_t max,
                     ckpt_error *err);
/* Read element i of any numeric tensor as double. */
double ox_get_f64(const ox_val *v, int64_t i);
/* Write element i of any numeric tensor from double (C conversion rules;
 * float16/bfloat16 round to nearest even). */
void ox_set_f64(ox_val *v, int64_t i, double x);
/* Broadcast shapes (numpy rules) into `dims`; CKPT_E_SHAPE with the node's name. */
int ox_broadcast_shape(const ox_node *n, int ra, const int64_t *da, int rb, const int64_t *db,
                       int *rank, int64_t *dims, ckpt_error *err);
/* Row-major strides of dims (elements). */
void ox_strides(int rank, const int64_t *dims, int64_t *strides);
/* Normalise an axis in [-rank, rank) (or [-rank-1, rank] with `extra`). */
int ox_axis(const ox_node *n, int64_t axis, int rank, bool extra, int *out, ckpt_error *err);

/* float16 / bfloat16 <-> float32 (round to nearest even). */
float ox_half_to_float(uint16_t h);
uint16_t ox_float_to_half(float f);
float ox_bf16_to_float(uint16_t h);
uint16_t ox_float_to_bf16(float f);

/* ------------------------------------------------------------ op tables */

/* Each ops_<family>.c defines one table, ended by an entry with op_type NULL. */
extern const ox_op ox_ops_elementwise[];
extern const ox_op ox_ops_shape[];
extern const ox_op ox_ops_reduce[];
extern const ox_op ox_ops_nn[];
extern const ox_op ox_ops_rnn[];
extern const ox_op ox_ops_image[];
extern const ox_op ox_ops_signal[];
extern const ox_op ox_ops_control[];
extern const ox_op ox_ops_sequence[];
extern const ox_op ox_ops_newer[];
extern const ox_op ox_ops_ml[];
extern const ox_op ox_ops_misc[];

/* Find the kernel for (domain, op_type) at `opset`; NULL if none. */
const ox_op *ox_op_find(const char *domain, const char *op_type, int opset);
/* Bind every node of `g` and its subgraphs to its kernel and run the
 * kernels' prepare (when the model is read, so sessions never write the
 * model).  Returns 0 or CKPT_E_NOMEM. */
int ox_bind_kernels(ox_graph *g, ckpt_error *err);

/* ------------------------------------------------------------ reader helpers */

/* Decode a serialized TensorProto (test data .pb files, `ckpt run --input x=file.pb`)
 * into `v` (owned).  `label` names the source in errors. */
int ox_tensor_from_pb(const void *bytes, size_t n, ox_val *v, char **name, const char *label,
                      ckpt_error *err);

/* ------------------------------------------------------------ session internals */

/* Run with run-time values bound to the graph inputs in order (sequences,
 * optionals and strings included; NULL = an empty optional).  Tensors are
 * viewed, not copied: they must outlive the run's outputs. */
int ox_session_run_vals(ckpt_onnx_session *s, const ox_val *const *inputs, int n_inputs,
                        ckpt_error *err);
/* The slot of main-graph value `name` after a run (NULL if none). */
const ox_val *ox_session_value(ckpt_onnx_session *s, const char *name);
/* The model a session runs. */
const ckpt_onnx_model *ox_session_model(const ckpt_onnx_session *s);

/* ------------------------------------------------------------ control family */

/* The graph a run executes, and the slot of its value `vi` (outer names
 * followed): for kernels that read values other than their inputs (the
 * preview.training Gradient differentiates the graph it sits in). */
const ox_graph *ox_run_graph(const ox_run *r);
ox_val *ox_run_value(ox_run *r, int vi);
/* The session's cap on one value's bytes (0: none): Loop/Scan bound the
 * outputs they accumulate across iterations by it. */
size_t ox_run_max_bytes(const ox_run *r);

/* ------------------------------------------------------------ standalone kernel calls (jit) */

/* One op library for every executor: the TorchScript interpreter, the lite
 * bytecode interpreter, the torch.export graph runner and the full-model
 * forwards call ONNX kernels one at a time through ox_call().  A context
 * carries what a session would (threads, the byte cap, scratch) and an
 * optional recorder that sees every call: converting a run into an ONNX graph
 * (tracing, as torch.onnx.export does) is a recorder. */
typedef struct ox_callctx ox_callctx;
/* Called after each successful kernel call with the node that ran (op type,
 * opset, attributes; n_in/n_out counts and in/out indices 0..n-1 or -1) and
 * the values it read and wrote.  `in[k]` / `out[k]` NULL: omitted. */
typedef int (*ox_record_fn)(void *ud, const ox_node *n, ox_val *const *in, ox_val *const *out,
                            ckpt_error *err);
/* threads >= 1; max_bytes 0 = no cap on one output (else CKPT_E_LIMIT). */
ox_callctx *ox_callctx_new(int threads, size_t max_bytes, ckpt_error *err);
void ox_callctx_free(ox_callctx *c);
/* fn NULL: stop recording. */
void ox_callctx_set_recorder(ox_callctx *c, ox_record_fn fn, void *ud);
/* Run kernel (domain "", op_type) at `opset` (0: OX_CALL_OPSET) on `in`
 * (n_in values, NULL = omitted optional input) into `out` (n_out values the
 * caller owns, NULL = omitted optional output).  `attrs` are borrowed for the
 * call (build them with oxa_*).  An output may alias an input's data (Reshape,
 * Identity, Squeeze...): check `out->data != out->buf` and keep the input
 * alive, or copy.  Errors name the op: "OpType: ...". */
#define OX_CALL_OPSET 18
int ox_call(ox_callctx *c, const char *op_type, int opset, const ox_attr *attrs, int n_attrs,
            ox_val *const *in, int n_in, ox_val *const *out, int n_out, ckpt_error *err);
/* Attribute builders for ox_call (no copies: the pointers must outlive the call). */
ox_attr oxa_int(const char *name, int64_t v);
ox_attr oxa_float(const char *name, float v);
ox_attr oxa_str(const char *name, const char *v);
ox_attr oxa_ints(const char *name, const int64_t *v, size_t n);
ox_attr oxa_floats(const char *name, const float *v, size_t n);
ox_attr oxa_tensor(const char *name, ox_val *t);

#endif
