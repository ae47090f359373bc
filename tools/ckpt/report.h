/* tools/ckpt/report.h - the parts of `ckpt report` (cmd_report.c): the checkpoint
 * page (report_ckpt.c) and the model-graph pages (report_graph.c). */
#ifndef CKPT_REPORT_H
#define CKPT_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "report_html.h"

#define REPORT_MAX_SHAPES 16

typedef struct report_opts {
    bool no_stats;   /* header and metadata only: no tensor bytes are read */
    size_t max_rows; /* most rows of a tensor table or node list */
    size_t max_svg;  /* most nodes drawn in the graph diagram */
    /* --shape NAME=D0,D1,...: example inputs to trace a model's graph with */
    const char *shapes[REPORT_MAX_SHAPES];
    size_t nshapes;
} report_opts;

/* Basename of a path (the page never shows the folders above the file). */
const char *report_basename(const char *path);
/* The file's size (a folder: the sum of its regular files), 0 when unknown. */
uint64_t report_file_size(const char *path);

/* The checkpoint page body: summary, safety scan, metadata, module tree, tensor
 * table, object tree.  0, or -1 with err set. */
int report_ckpt(rh_page *p, const char *path, const cli_load *lo, const report_opts *o,
                ckpt_error *err);
/* The tensor sections (module tree, tensor table) of an ONNX model's initializers. */
int report_weights(rh_page *p, const char *path, const report_opts *o, ckpt_error *err);
/* An ONNX model's page body: summary, op histogram, node list, diagram. */
int report_onnx(rh_page *p, const char *path, const report_opts *o, ckpt_error *err);

/* The graph sections of an ONNX graph traced from a model (ids prefixed "g-"). */
void report_graph_traced(rh_page *p, const ckpt_onnx_model *m, const report_opts *o);
/* Trace `m` on random float32 inputs of the --shape shapes and show the graph; a
 * failure is said on the page. */
void report_trace(rh_page *p, ckpt_jit_model *m, const report_opts *o);

#endif
