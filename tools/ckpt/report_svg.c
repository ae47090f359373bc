/* tools/ckpt/report_svg.c - the graph diagram of `ckpt report` (report_svg.h). */
#include "report_svg.h"

void report_svg(rh_page *p, const ox_graph *g, size_t max_nodes)
{
    (void)g;
    (void)max_nodes;
    rh_raw(p, "<p class=\"dim\">(no diagram yet)</p>\n");
}
