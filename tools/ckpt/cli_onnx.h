/* tools/ckpt/cli_onnx.h - the ckpt subcommands on ONNX models (.onnx): initializers as a
 * state dict (ls, stats, diff, convert, extract), show, verify and run. */
#ifndef CKPT_CLI_ONNX_H
#define CKPT_CLI_ONNX_H

#include <stdbool.h>
#include <stddef.h>

#include "ckpt/ckpt.h"
#include "ckpt/onnx.h"

/* The file is an ONNX ModelProto (ckpt_detect_file says "onnx"). */
bool cli_onnx_file(const char *path);

/*
 * The main graph's initializers as an OrderedDict name -> tensor (copied out of the model),
 * in graph order.  With `torch_layout`, a Gemm's B initializer read with transB=0 (stored
 * (in, out)) is transposed to torch's Linear layout (out, in); nothing else is changed
 * (Conv, ConvTranspose and Gemm with transB=1 already hold torch's layout).  String
 * initializers have no torch dtype: they are left out with a note on stderr.
 * `transposed` (may be NULL) gets the number of tensors transposed.
 */
ckpt_doc *cli_onnx_doc(const char *path, bool torch_layout, size_t *transposed, ckpt_error *err);

/* `ckpt show` / `ckpt verify` on an ONNX model: exit codes as the commands document. */
int cli_onnx_show(const char *path, bool json);
int cli_onnx_verify(const char *path, bool json);

/* ONNX element type name ("float32", "int64", "string", ...). */
const char *cli_onnx_dtype_name(int elem_type);

#endif
