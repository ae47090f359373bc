/* tools/ckpt/report_tree.h - the module tree of `ckpt report` (report_tree.c). */
#ifndef CKPT_REPORT_TREE_H
#define CKPT_REPORT_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "report_html.h"

typedef struct report_tree report_tree;

/* An empty tree (NULL when out of memory); free with report_tree_free. */
report_tree *report_tree_new(void);
void report_tree_free(report_tree *t);
/* Add tensor table row `row` under `key` ("a.b.c": groups a, a.b; leaf c).  0 or -1. */
int report_tree_add(report_tree *root, const char *key, uint64_t numel, uint64_t bytes, long row);
/* The tree as nested <details>, bars as shares of `total` bytes; leaves link to #t<row>
 * when row < shown, and `leaf` writes their dtype and shape. */
void report_tree_render(rh_page *p, const report_tree *root, uint64_t total, size_t shown,
                        void (*leaf)(rh_page *p, long row, void *payload), void *payload);

#endif
