/* tools/ckpt/report_svg.h - the graph diagram of `ckpt report` (report_svg.c). */
#ifndef CKPT_REPORT_SVG_H
#define CKPT_REPORT_SVG_H

#include <stddef.h>

#include "onnx/onnx_internal.h"
#include "report_html.h"

/* An inline SVG of the main graph `g`, nodes in layers by their depth from the
 * graph inputs; above `max_nodes` nodes a sentence (id: `pfx` "no-diagram") says it
 * is left out. */
void report_svg(rh_page *p, const ox_graph *g, size_t max_nodes, const char *pfx);

#endif
