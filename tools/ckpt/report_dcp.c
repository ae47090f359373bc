/* tools/ckpt/report_dcp.c - `ckpt report`: the layout of a torch.distributed.checkpoint
 * folder as its .metadata plans it (entries, global shapes, chunks and where they lie). */
#include <inttypes.h>
#include <string.h>

#include "report_dcp.h"

void report_dcp(rh_page *p, const char *dir, size_t max_rows)
{
    ckpt_error err;
    ckpt_error_clear(&err);
    ckpt_dcp *d = ckpt_dcp_open(dir, &err);
    rh_raw(p, "<h2 id=\"dcp\">DCP layout</h2>\n");
    if (!d) {
        char buf[1200];
        rh_raw(p, "<p class=\"bad\">");
        rh_esc(p, ckpt_error_format(&err, buf, sizeof(buf)));
        rh_raw(p, "</p>\n");
        return;
    }
    size_t n = ckpt_dcp_count(d), chunks = 0, bytes_entries = 0;
    for (size_t i = 0; i < n; i++) {
        const ckpt_dcp_entry *e = ckpt_dcp_entry_at(d, i);
        chunks += e->is_bytes ? 1 : e->nchunks;
        bytes_entries += e->is_bytes;
    }
    rh_fmt(p,
           "<p id=\"dcp-summary\">%zu entries in .metadata (%zu tensors, %zu torch.save'd "
           "values), %zu stored items.</p>\n",
           n, n - bytes_entries, bytes_entries, chunks);
    size_t shown = n < max_rows ? n : max_rows;
    if (shown < n)
        rh_fmt(p, "<p class=\"bad\">The table shows the first %zu of %zu entries.</p>\n", shown,
               n);
    rh_raw(p, "<details><summary>entries and their chunks</summary>\n<table class=\"sort\" "
              "id=\"dcp-table\"><thead><tr><th>fqn</th><th>kind</th><th>dtype</th>"
              "<th>global shape</th><th>chunks</th><th>first chunk</th></tr></thead><tbody>\n");
    for (size_t i = 0; i < shown; i++) {
        const ckpt_dcp_entry *e = ckpt_dcp_entry_at(d, i);
        rh_raw(p, "<tr><td class=\"k\">");
        rh_esc(p, e->fqn);
        if (e->is_bytes) {
            rh_raw(p, "</td><td>value</td><td>-</td><td>-</td><td class=\"n\">1</td><td>");
        } else {
            const char *dn = ckpt_dtype_name(e->dtype);
            rh_fmt(p, "</td><td>tensor</td><td>%s</td><td>", dn ? dn : "?");
            rh_shape(p, e->shape, e->ndim);
            rh_fmt(p, "</td><td class=\"n\">%zu</td><td>", e->nchunks);
        }
        const char *file = NULL;
        uint64_t off = 0, len = 0;
        if (ckpt_dcp_item_location(d, i, 0, &file, &off, &len) == 0 && file) {
            rh_raw(p, "<code>");
            rh_esc(p, file);
            rh_fmt(p, "</code>@%" PRIu64 " (%" PRIu64 " bytes)", off, len);
        }
        rh_raw(p, "</td></tr>\n");
    }
    rh_raw(p, "</tbody></table></details>\n");
    ckpt_dcp_close(d);
}
