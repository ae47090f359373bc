/* tools/ckpt/report.h - the parts of `ckpt report` (cmd_report.c): the checkpoint
 * page (report_ckpt.c) and the model-graph pages (report_graph.c). */
#ifndef CKPT_REPORT_H
#define CKPT_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "cli.h"
#include "report_html.h"

typedef struct report_opts {
    bool no_stats;   /* header and metadata only: no tensor bytes are read */
    size_t max_rows; /* most rows of a tensor table or node list */
    size_t max_svg;  /* most nodes drawn in the graph diagram */
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

#endif
