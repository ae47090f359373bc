/* tools/ckpt/report_tree.c - `ckpt report`: the module tree, tensors grouped by the
 * dotted prefixes of their keys, each group with its tensor count, parameters, bytes
 * and a bar of its share, as nested <details>. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report_tree.h"

#define TREE_MAX_DEPTH 48 /* deeper key components stay joined in one name */

struct report_tree {
    char *name;
    struct report_tree **kids;
    size_t nk, ck;
    uint64_t numel, bytes;
    size_t ntensors;
    long row; /* a tensor at exactly this path, or -1 */
};

typedef struct report_tree_view {
    size_t shown;
    void (*leaf)(rh_page *p, long row, void *payload);
    void *payload;
} report_tree_view;

static report_tree *tn_new(const char *name, size_t len)
{
    report_tree *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->name = strndup(name, len);
    if (!t->name) {
        free(t);
        return NULL;
    }
    t->row = -1;
    return t;
}

void report_tree_free(report_tree *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nk; i++)
        report_tree_free(t->kids[i]);
    free(t->kids);
    free(t->name);
    free(t);
}

static report_tree *tn_child(report_tree *t, const char *name, size_t len)
{
    /* keys come grouped: the last child is the likely one */
    for (size_t i = t->nk; i-- > 0;) {
        report_tree *k = t->kids[i];
        if (strlen(k->name) == len && memcmp(k->name, name, len) == 0)
            return k;
        if (t->nk > 4096 && t->nk - i > 64) /* a very wide level: recent children only */
            break;
    }
    if (t->nk == t->ck) {
        size_t nc = t->ck ? 2 * t->ck : 4;
        report_tree **nk = realloc(t->kids, nc * sizeof(*nk));
        if (!nk)
            return NULL;
        t->kids = nk;
        t->ck = nc;
    }
    report_tree *k = tn_new(name, len);
    if (k)
        t->kids[t->nk++] = k;
    return k;
}

int report_tree_add(report_tree *root, const char *key, uint64_t numel, uint64_t bytes, long idx)
{
    report_tree *t = root;
    const char *s = key;
    int depth = 0;
    for (;;) {
        t->numel += numel;
        t->bytes += bytes;
        t->ntensors++;
        const char *dot = strchr(s, '.');
        size_t len = dot && depth < TREE_MAX_DEPTH ? (size_t)(dot - s) : strlen(s);
        report_tree *k = tn_child(t, s, len);
        if (!k)
            return -1;
        t = k;
        depth++;
        if (!dot || depth > TREE_MAX_DEPTH || s[len] == '\0') {
            t->numel += numel;
            t->bytes += bytes;
            t->ntensors++;
            if (t->row < 0)
                t->row = idx;
            return 0;
        }
        s += len + 1;
    }
}

static void render(rh_page *p, const report_tree *t, uint64_t total, int depth,
                   const report_tree_view *v)
{
    double share = total ? (double)t->bytes / (double)total : 0;
    if (t->nk == 0 && t->row >= 0) {
        bool link = (size_t)t->row < v->shown;
        if (link)
            rh_fmt(p, "<div class=\"leaf\"><a href=\"#t%ld\" class=\"k\">", t->row);
        else
            rh_raw(p, "<div class=\"leaf\"><span class=\"k\">");
        rh_esc(p, t->name);
        rh_raw(p, link ? "</a> " : "</span> ");
        v->leaf(p, t->row, v->payload);
        rh_fmt(p, " <span class=\"bar\" style=\"width:%.0fpx\"></span>%.1f%%</div>\n",
               share * 200, share * 100);
        return;
    }
    rh_fmt(p, "<details%s><summary><span class=\"k\">", depth < 2 ? " open" : "");
    rh_esc(p, depth ? t->name : "(all)");
    rh_fmt(p, "</span> \xe2\x80\x94 %zu tensor%s, %" PRIu64 " parameters, ", t->ntensors,
           t->ntensors == 1 ? "" : "s", t->numel);
    rh_bytes(p, t->bytes);
    rh_fmt(p, " <span class=\"bar\" style=\"width:%.0fpx\"></span>%.1f%%</summary>\n",
           share * 200, share * 100);
    if (t->row >= 0 && (size_t)t->row < v->shown) /* a key that is also a prefix of others */
        rh_fmt(p, "<div class=\"leaf\"><a href=\"#t%ld\">(this key itself)</a></div>\n", t->row);
    for (size_t i = 0; i < t->nk; i++)
        render(p, t->kids[i], total, depth + 1, v);
    rh_raw(p, "</details>\n");
}

report_tree *report_tree_new(void)
{
    return tn_new("", 0);
}

void report_tree_render(rh_page *p, const report_tree *root, uint64_t total, size_t shown,
                        void (*leaf)(rh_page *p, long row, void *payload), void *payload)
{
    report_tree_view v = {shown, leaf, payload};
    render(p, root, total, 0, &v);
}
