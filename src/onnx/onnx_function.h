/* src/onnx/onnx_function.h - model-local functions (ModelProto.functions)
 * inlined at load time: onnx_read.c builds its graph from the rewritten
 * message this returns. */
#ifndef CKPT_ONNX_FUNCTION_H
#define CKPT_ONNX_FUNCTION_H

#include <stddef.h>

#include "ckpt/error.h"
#include "onnx/onnx.pb-c.h"

/* Deepest nesting of function calls (a function calling itself, directly or
 * not, reaches it and is refused). */
#define OX_FUNCTION_MAX_DEPTH 32
/* Most nodes the expansion may write (all graphs together). */
#define OX_FUNCTION_MAX_NODES (1 << 19)

typedef struct ox_fn_inline ox_fn_inline;

/*
 * `mp` with every node that calls one of its functions (same domain and
 * op_type) replaced by the function's body: the body's inputs and outputs
 * renamed to the call's, its other values given a prefix unique to the call,
 * attributes that refer to the caller's (ref_attr_name) substituted from the
 * call or from the function's default (FunctionProto.attribute_proto, read
 * from the fields this onnx.proto does not know), nested calls expanded up
 * to OX_FUNCTION_MAX_DEPTH, subgraphs rewritten too.  Function opset imports
 * for domains the model does not import are added.  `*out` has no functions
 * and borrows from `mp` (free `*state` after `*out` is no longer used).
 * `limit` caps the bytes the expansion allocates (CKPT_E_LIMIT past it).
 */
int ox_functions_inline(const Onnx__ModelProto *mp, size_t limit, const Onnx__ModelProto **out,
                        ox_fn_inline **state, ckpt_error *err);
void ox_functions_free(ox_fn_inline *state);

#endif
