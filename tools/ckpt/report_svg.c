/* tools/ckpt/report_svg.c - the graph diagram of `ckpt report` (report_svg.h): the main
 * graph's inputs in the top layer, each node one layer below the deepest node that
 * produces one of its inputs, boxes in node order within a layer, an edge per use. */
#include "report_svg.h"

#include <stdlib.h>
#include <string.h>

#define BOX_W 128
#define BOX_H 28
#define GAP_X 16
#define GAP_Y 40
#define LABEL 18 /* most bytes of an op type drawn in a box */

typedef struct pos {
    int layer, slot;
} pos;

static int xc(const pos *p)
{
    return 10 + p->slot * (BOX_W + GAP_X) + BOX_W / 2;
}

static int yt(const pos *p)
{
    return 10 + p->layer * (BOX_H + GAP_Y);
}

static void label(rh_page *p, const char *s)
{
    size_t n = strlen(s);
    rh_esc_n(p, s, n < LABEL ? n : LABEL, LABEL);
    if (n > LABEL)
        rh_raw(p, "\xe2\x80\xa6");
}

/* The rest of a box after its <title>: the rectangle at (x, y) and its label. */
static void box(rh_page *p, int x, int y, const char *cls, int rx, const char *fill,
                const char *stroke, const char *text)
{
    rh_fmt(p,
           "</title><rect class=\"%s\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
           "rx=\"%d\" fill=\"%s\" stroke=\"%s\"/><text x=\"%d\" y=\"%d\" "
           "text-anchor=\"middle\">",
           cls, x, y, BOX_W, BOX_H, rx, fill, stroke, x + BOX_W / 2, y + 18);
    label(p, text);
    rh_raw(p, "</text></g>\n");
}

void report_svg(rh_page *p, const ox_graph *g, size_t max_nodes, const char *pfx)
{
    size_t n = (size_t)g->n_nodes, ni = (size_t)g->n_inputs;
    if (n == 0) {
        rh_raw(p, "<p class=\"dim\">(the graph has no nodes)</p>\n");
        return;
    }
    if (n > max_nodes) {
        rh_fmt(p,
               "<p class=\"dim\" id=\"%sno-diagram\">No diagram: the graph has %zu nodes, more "
               "than the %zu drawn.</p>\n",
               pfx, n, max_nodes);
        return;
    }
    pos *np = calloc(n, sizeof(*np)), *ip = calloc(ni + 1, sizeof(*ip));
    int *vin = malloc(((size_t)g->n_values + 1) * sizeof(*vin)); /* value -> graph input */
    int *fill = NULL;
    if (!np || !ip || !vin)
        goto oom;
    for (int v = 0; v < g->n_values; v++)
        vin[v] = -1;
    for (size_t i = 0; i < ni; i++) {
        vin[g->inputs[i]] = (int)i;
        ip[i] = (pos){0, (int)i};
    }
    int layers = ni ? 1 : 0;
    for (size_t i = 0; i < n; i++) {
        const ox_node *nd = &g->nodes[i];
        int l = ni ? 1 : 0;
        for (int k = 0; k < nd->n_in; k++) {
            int vi = nd->in[k];
            if (vi < 0 || vi >= g->n_values)
                continue;
            int pr = g->values[vi].producer;
            if (pr >= 0 && (size_t)pr < i && np[pr].layer + 1 > l)
                l = np[pr].layer + 1;
        }
        np[i].layer = l;
        if (l + 1 > layers)
            layers = l + 1;
    }
    fill = calloc((size_t)layers + 1, sizeof(*fill));
    if (!fill)
        goto oom;
    fill[0] = (int)ni;
    int widest = (int)ni;
    for (size_t i = 0; i < n; i++) {
        np[i].slot = fill[np[i].layer]++;
        if (fill[np[i].layer] > widest)
            widest = fill[np[i].layer];
    }
    int w = 20 + widest * (BOX_W + GAP_X), h = 20 + layers * (BOX_H + GAP_Y);
    rh_fmt(p,
           "<div style=\"overflow:auto;max-height:80vh;border:1px solid #ddd\">"
           "<svg width=\"%d\" height=\"%d\" "
           "viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"graph diagram\">\n",
           w, h, w, h);
    rh_raw(p, "<g stroke=\"#888\" fill=\"none\">\n");
    for (size_t i = 0; i < n; i++) {
        const ox_node *nd = &g->nodes[i];
        for (int k = 0; k < nd->n_in; k++) {
            int vi = nd->in[k];
            if (vi < 0 || vi >= g->n_values)
                continue;
            int pr = g->values[vi].producer;
            const pos *from = pr >= 0 && (size_t)pr < i ? &np[pr]
                              : vin[vi] >= 0            ? &ip[vin[vi]]
                                                        : NULL;
            if (!from)
                continue; /* an initializer or an outer value */
            int x1 = xc(from), y1 = yt(from) + BOX_H, x2 = xc(&np[i]), y2 = yt(&np[i]);
            rh_fmt(p, "<path d=\"M%d %d C%d %d %d %d %d %d\"/>\n", x1, y1, x1, y1 + GAP_Y / 2, x2,
                   y2 - GAP_Y / 2, x2, y2);
        }
    }
    rh_raw(p, "</g>\n");
    for (size_t i = 0; i < ni; i++) {
        const ox_value *v = &g->values[g->inputs[i]];
        int x = xc(&ip[i]) - BOX_W / 2, y = yt(&ip[i]);
        rh_raw(p, "<g><title>input ");
        rh_esc(p, v->name);
        box(p, x, y, "in", 14, "#e6f2e6", "#4a4", v->name);
    }
    for (size_t i = 0; i < n; i++) {
        const ox_node *nd = &g->nodes[i];
        int x = xc(&np[i]) - BOX_W / 2, y = yt(&np[i]);
        rh_fmt(p, "<g><title>#%zu ", i);
        rh_esc(p, nd->op_type);
        rh_raw(p, " ");
        rh_esc(p, nd->name);
        box(p, x, y, "op", 4, "#eef3fb", "#4a7fd0", nd->op_type);
    }
    rh_raw(p, "</svg></div>\n");
    free(fill);
    free(vin);
    free(ip);
    free(np);
    return;
oom:
    free(fill);
    free(vin);
    free(ip);
    free(np);
    rh_raw(p, "<p class=\"bad\">(no diagram: out of memory)</p>\n");
}
