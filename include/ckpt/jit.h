/*
 * ckpt/jit.h - TorchScript archives, lite (mobile) archives, full-model
 * pickles and torch.export (.pt2) archives: read them into a module tree,
 * run them in C, write them.
 *
 * Nothing a file contains is ever executed as code of the host: TorchScript
 * source (code/ .py files), lite bytecode and torch.export graphs are interpreted
 * over the library's one op library; a call to anything else (a custom class,
 * torch.ops.load_library, an operator the library lacks) is an error that
 * names it and the source line.  Pickles are read in data-only mode.
 *
 * Thread-safety: one model runs one call at a time.  Added in 0.5.
 */
#ifndef CKPT_JIT_H
#define CKPT_JIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "ckpt/core.h"
#include "ckpt/error.h"
#include "ckpt/export.h"
#include "ckpt/onnx.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ckpt_jit_model ckpt_jit_model;

/* What a file holds. */
enum {
    CKPT_JIT_TORCHSCRIPT = 1, /* torch.jit.save: data.pkl + constants.pkl + code/, or format 1 */
    CKPT_JIT_LITE = 2,        /* _save_for_lite_interpreter: bytecode.pkl */
    CKPT_JIT_FULL_MODEL = 3,  /* torch.save(model): a pickled nn.Module */
    CKPT_JIT_PT2 = 4          /* torch.export.save */
};
CKPT_API const char *ckpt_jit_format_name(int format);

typedef struct ckpt_jit_load_opts {
    size_t max_bytes;   /* most bytes the read may allocate; 0: the torch loader's default */
    bool verify_crc;    /* check every zip record's CRC-32 */
    int threads;        /* kernels' threads when running (0/1: one) */
    uint64_t max_steps; /* statements / instructions one run may execute; 0: 2e9 */
} ckpt_jit_load_opts;

/* Read any of the four kinds (detected from the bytes).  opts may be NULL. */
CKPT_API ckpt_jit_model *ckpt_jit_load(const char *path, const ckpt_jit_load_opts *opts,
                                       ckpt_error *err);
CKPT_API void ckpt_jit_free(ckpt_jit_model *m);
CKPT_API int ckpt_jit_format(const ckpt_jit_model *m);
/* Qualified class name of the root module ("__torch__.Net", "torch.nn.modules.linear.Linear"). */
CKPT_API const char *ckpt_jit_root_class(const ckpt_jit_model *m);

/* ---------------------------------------------------------------- tensors */

enum { CKPT_JIT_PARAM = 1, CKPT_JIT_BUFFER = 2, CKPT_JIT_ATTR = 3, CKPT_JIT_CONST = 4 };

/* A tensor of the model, data borrowed from it (row-major contiguous). */
typedef struct ckpt_jit_tensor {
    const char *name; /* dotted path: "layer1.0.conv1.weight" */
    int kind;         /* CKPT_JIT_PARAM / BUFFER / ATTR (a tensor attribute) / CONST */
    int dtype;        /* ckpt_dtype */
    int ndim;
    const int64_t *shape;
    const void *data;
    uint64_t nbytes;
    bool requires_grad;
} ckpt_jit_tensor;

/* In torch's order: named_parameters(), then named_buffers(), then tensor
 * attributes (kind ATTR), recursing submodules in order. */
CKPT_API size_t ckpt_jit_tensor_count(const ckpt_jit_model *m);
CKPT_API int ckpt_jit_get_tensor(const ckpt_jit_model *m, size_t i, ckpt_jit_tensor *out);
/* What module.state_dict() gives: a new document whose root is an
 * OrderedDict name -> tensor (parameters and buffers); save it with ckpt_save. */
CKPT_API ckpt_doc *ckpt_jit_state_dict(const ckpt_jit_model *m, ckpt_error *err);
/* Print the module tree (class, training flag, parameters, buffers,
 * attributes, submodules, methods with their source ranges). */
enum { CKPT_JIT_SHOW_CODE = 1 /* print each method's source */ };
CKPT_API int ckpt_jit_print(const ckpt_jit_model *m, FILE *f, int flags, ckpt_error *err);

/* ---------------------------------------------------------------- running */

enum {
    CKPT_JIT_V_NONE = 0,
    CKPT_JIT_V_TENSOR,
    CKPT_JIT_V_INT,
    CKPT_JIT_V_FLOAT,
    CKPT_JIT_V_BOOL,
    CKPT_JIT_V_STR
};

/* An argument or a (flattened) result. */
typedef struct ckpt_jit_value {
    const char *name; /* inputs: the argument's name, or NULL for positional */
    int kind;         /* CKPT_JIT_V_* */
    int dtype;        /* tensors: ckpt_dtype */
    int ndim;
    int64_t shape[CKPT_ONNX_MAX_RANK];
    const void *data; /* tensors: row-major */
    int64_t i;        /* INT, BOOL */
    double f;         /* FLOAT */
    const char *s;    /* STR */
} ckpt_jit_value;

/* A method's argument names (after self) and their declared types as text
 * ("Tensor", "int", "Optional[Tensor]"); valid while the model lives. */
CKPT_API int ckpt_jit_signature(const ckpt_jit_model *m, const char *method, size_t *n_args,
                                const char *const **names, const char *const **types,
                                ckpt_error *err);
/*
 * Run `method` (NULL: "forward") on `inputs` (by name, or positional when
 * name is NULL).  The return value is flattened (tuples, lists, dict values in
 * order) into *outputs / *n_outputs, valid until the next run or free.
 */
CKPT_API int ckpt_jit_run(ckpt_jit_model *m, const char *method, const ckpt_jit_value *inputs,
                          size_t n_inputs, const ckpt_jit_value **outputs, size_t *n_outputs,
                          ckpt_error *err);

/* ---------------------------------------------------------------- writing */

typedef struct ckpt_jit_save_opts {
    bool freeze;            /* parameters inlined as constants (torch.jit.freeze) */
    const char *class_name; /* root module class (default "Model") */
} ckpt_jit_save_opts;

/* An ONNX graph written as a TorchScript archive (code/ as torch.jit.trace
 * writes it, data.pkl, constants.pkl, version) that torch.jit.load runs. */
CKPT_API int ckpt_jit_save_onnx(const ckpt_onnx_model *g, const char *path,
                                const ckpt_jit_save_opts *opts, ckpt_error *err);
struct ckpt_module;
/* A C model (traced through the autograd tape) written as a TorchScript archive. */
CKPT_API int ckpt_jit_save_module(struct ckpt_module *m, const int64_t *input_shape, int ndim,
                                  const char *path, const ckpt_jit_save_opts *opts,
                                  ckpt_error *err);
/* A C model written as a full-model pickle of torch.nn classes (torch.save(model)). */
CKPT_API int ckpt_jit_save_full_model(const struct ckpt_module *m, const char *path,
                                      ckpt_error *err);
/* An ONNX graph that is a chain of layers (Gemm, Conv, BatchNormalization,
 * activations, pools, Flatten) written as a full-model pickle of an
 * nn.Sequential of torch.nn classes; anything else is refused naming the node. */
CKPT_API int ckpt_jit_save_onnx_full_model(const ckpt_onnx_model *g, const char *path,
                                           ckpt_error *err);
/* Trace a run on `inputs` into an ONNX graph (what torch.onnx.export does). */
CKPT_API ckpt_onnx_model *ckpt_jit_to_onnx(ckpt_jit_model *m, const ckpt_jit_value *inputs,
                                           size_t n_inputs, ckpt_error *err);

#ifdef __cplusplus
}
#endif

#endif
