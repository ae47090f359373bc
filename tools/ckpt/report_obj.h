/* tools/ckpt/report_obj.h - object trees in `ckpt report` pages (report_obj.c). */
#ifndef CKPT_REPORT_OBJ_H
#define CKPT_REPORT_OBJ_H

#include <stdbool.h>
#include <stddef.h>

#include "report_html.h"

typedef struct report_obj_ctx {
    /* the tensor table row of a tensor node, -1 when it has none (may be NULL) */
    long (*row_of)(void *payload, const ckpt_obj *t);
    void *payload;
    size_t left; /* nodes still to show */
    bool cut;    /* some were not shown */
} report_obj_ctx;

/* `root` as a list of nested <details>, at most c->left nodes. */
void report_obj_tree(rh_page *p, const ckpt_obj *root, report_obj_ctx *c);
/* Anything but tensors in dicts, lists and tuples (a training checkpoint's state)? */
bool report_has_non_tensor(const ckpt_obj *o, int depth);

#endif
