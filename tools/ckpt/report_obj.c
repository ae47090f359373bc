/* tools/ckpt/report_obj.c - `ckpt report`: an object tree (training state, format
 * metadata) as nested <details>, like `ckpt show`; tensors link to their table row. */
#include <inttypes.h>
#include <string.h>

#include "cli_util.h"
#include "report_obj.h"

#define OBJ_MAX_DEPTH 64

static bool container(const ckpt_obj *o)
{
    int t = ckpt_obj_type(o);
    return t == CKPT_T_DICT || t == CKPT_T_LIST || t == CKPT_T_TUPLE || t == CKPT_T_SET ||
           t == CKPT_T_OBJECT;
}

static size_t nkids(const ckpt_obj *o)
{
    if (ckpt_obj_type(o) == CKPT_T_OBJECT)
        return ckpt_object_state(o) ? 1 : 0;
    return ckpt_obj_len(o);
}

static void label(rh_page *p, const char *key)
{
    if (!key)
        return;
    rh_raw(p, "<span class=\"k\">");
    rh_esc(p, key);
    rh_raw(p, "</span>: ");
}

static void node(rh_page *p, const char *key, const ckpt_obj *o, int depth, report_obj_ctx *c)
{
    if (c->left == 0) {
        c->cut = true;
        return;
    }
    c->left--;
    char buf[RH_CAP + 64];
    int t = ckpt_obj_type(o);
    if (t == CKPT_T_TENSOR) {
        ckpt_tensor_info ti;
        rh_raw(p, "<li>");
        label(p, key);
        long row = c->row_of ? c->row_of(c->payload, o) : -1;
        if (row >= 0)
            rh_fmt(p, "<a href=\"#t%ld\">", row);
        rh_raw(p, "tensor ");
        if (ckpt_tensor_get_info(o, &ti) == 0) {
            const char *dn = ckpt_dtype_name(ti.dtype);
            rh_raw(p, dn ? dn : "?");
            rh_raw(p, " ");
            rh_shape(p, ti.shape, ti.ndim);
        }
        rh_raw(p, row >= 0 ? "</a></li>\n" : "</li>\n");
        return;
    }
    if (!container(o)) {
        cli_value_text(o, buf, sizeof(buf));
        rh_raw(p, "<li>");
        label(p, key);
        rh_raw(p, "<code>");
        rh_esc(p, buf);
        rh_raw(p, "</code></li>\n");
        return;
    }
    size_t n = nkids(o);
    rh_fmt(p, "<li><details%s><summary>", depth < 1 ? " open" : "");
    label(p, key);
    rh_esc(p, cli_kind_name(o));
    if (t == CKPT_T_OBJECT) {
        rh_raw(p, " <code>");
        rh_esc(p, ckpt_global_module(o));
        rh_raw(p, ".");
        rh_esc(p, ckpt_global_name(o));
        rh_raw(p, "</code>");
    } else {
        rh_fmt(p, " (%zu item%s)", n, n == 1 ? "" : "s");
    }
    rh_raw(p, "</summary>\n<ul class=\"obj\">\n");
    if (depth >= OBJ_MAX_DEPTH) {
        rh_raw(p, "<li class=\"dim\">(nested too deep to show)</li>\n");
    } else if (t == CKPT_T_OBJECT) {
        if (ckpt_object_state(o))
            node(p, "state", ckpt_object_state(o), depth + 1, c);
    } else if (t == CKPT_T_DICT) {
        for (size_t i = 0; i < n && c->left; i++) {
            cli_key_text(ckpt_dict_key(o, i), buf, sizeof(buf));
            node(p, buf, ckpt_dict_value(o, i), depth + 1, c);
        }
    } else {
        for (size_t i = 0; i < n && c->left; i++) {
            snprintf(buf, sizeof(buf), "%zu", i);
            node(p, buf, ckpt_obj_item(o, i), depth + 1, c);
        }
    }
    rh_raw(p, "</ul></details></li>\n");
}

void report_obj_tree(rh_page *p, const ckpt_obj *root, report_obj_ctx *c)
{
    rh_raw(p, "<ul class=\"obj\">\n");
    if (root)
        node(p, NULL, root, 0, c);
    rh_raw(p, "</ul>\n");
    if (c->cut)
        rh_raw(p, "<p class=\"dim\">(the tree is cut here: too many nodes to show)</p>\n");
}

bool report_has_non_tensor(const ckpt_obj *o, int depth)
{
    if (!o || depth > OBJ_MAX_DEPTH)
        return false;
    int t = ckpt_obj_type(o);
    if (t == CKPT_T_TENSOR)
        return false;
    if (t == CKPT_T_DICT) {
        for (size_t i = 0; i < ckpt_obj_len(o); i++)
            if (report_has_non_tensor(ckpt_dict_value(o, i), depth + 1))
                return true;
        return false;
    }
    if (t == CKPT_T_LIST || t == CKPT_T_TUPLE) {
        for (size_t i = 0; i < ckpt_obj_len(o); i++)
            if (report_has_non_tensor(ckpt_obj_item(o, i), depth + 1))
                return true;
        return false;
    }
    return true;
}
