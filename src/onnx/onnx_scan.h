/* src/onnx/onnx_scan.h - protobuf nesting check before protobuf-c unpacks a message, and the
 * scanner's view of an ONNX model (custom-domain ops, external data that escapes). */
#ifndef CKPT_ONNX_SCAN_H
#define CKPT_ONNX_SCAN_H

#include <stddef.h>

#include "ckpt/error.h"

/* Most protobuf messages nested inside one another that the reader accepts: a graph at
 * the deepest subgraph level (OX_MAX_SUBGRAPH_DEPTH) is ~50 levels down, nested
 * TypeProtos add a few more.  protobuf-c unpacks recursively, without a limit: a file
 * nesting messages 100 000 deep overflows the stack, so this is checked first. */
#define OX_MAX_PB_DEPTH 200

/*
 * Walk the wire format of `n` bytes as message `descriptor` (a ProtobufCMessageDescriptor
 * of the generated onnx.pb-c code) describes it, descending into message fields without
 * recursion, and fail with CKPT_E_LIMIT (naming the byte offset) where messages nest
 * deeper than `max_depth`.  Malformed wire data is left for protobuf-c to reject: 0.
 */
int ox_pb_check_depth(const void *data, size_t n, const void *descriptor, int max_depth,
                      ckpt_error *err);

/* One finding of ox_scan_model: `where` ("node 'X'", "initializer 'W'"), `module`.`name`
 * (domain and op type, or "external_data" and the location), klass a ckpt_scan_class. */
typedef void (*ox_scan_fn)(void *ctx, const char *where, const char *module, const char *name,
                           int klass, const char *note);

/*
 * Scan an ONNX ModelProto of `n` bytes read from `path` (NULL: from memory) without
 * building or running it: every node (subgraphs and model-local functions included)
 * whose domain is not ai.onnx, ai.onnx.ml or ai.onnx.preview.training is reported once
 * per (domain, op type) as CKPT_SCAN_UNKNOWN (a call of a model-local function is not:
 * the function's body is scanned); every external-data location that is
 * absolute, holds "..", or resolves (symlinks followed) outside the model's folder as
 * CKPT_SCAN_DANGEROUS.  Returns 0, or < 0 with `err` when the bytes are not a ModelProto.
 */
int ox_scan_model(const void *buf, size_t n, const char *path, ox_scan_fn fn, void *ctx,
                  ckpt_error *err);

#endif
