/* tools/ckpt/report_jit.c - `ckpt report`: the model section of TorchScript and lite
 * archives, torch.export archives (.pt2) and full-model pickles, from the library's jit
 * reader (what `ckpt show` and `ckpt ls` of a model print). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_jit.h"

#define PRINT_CAP (256u * 1024u) /* most bytes of the module tree shown */

void report_jit(rh_page *p, const ckpt_jit_model *m)
{
    rh_raw(
        p,
        "<h2 id=\"model\">Model</h2>\n<table id=\"model-table\"><tbody>\n<tr><th>kind</th><td>");
    const char *fm = ckpt_jit_format_name(ckpt_jit_format(m));
    rh_esc(p, fm ? fm : "?");
    rh_raw(p, "</td></tr>\n<tr><th>module type</th><td><code>");
    rh_esc(p, ckpt_jit_root_class(m));
    rh_raw(p, "</code></td></tr>\n");
    size_t n_args = 0;
    const char *const *names = NULL, *const *types = NULL;
    ckpt_error e;
    ckpt_error_clear(&e);
    if (ckpt_jit_signature(m, "forward", &n_args, &names, &types, &e) == 0) {
        rh_raw(p, "<tr><th>forward</th><td><code>forward(");
        for (size_t i = 0; i < n_args; i++) {
            rh_raw(p, i ? ", " : "");
            rh_esc(p, names && names[i] ? names[i] : "?");
            rh_raw(p, ": ");
            rh_esc(p, types && types[i] ? types[i] : "?");
        }
        rh_raw(p, ")</code></td></tr>\n");
    }
    static const char *const kinds[] = {"", "parameters", "buffers", "tensor attributes",
                                        "constants"};
    size_t cnt[5] = {0};
    uint64_t el[5] = {0}, by[5] = {0};
    size_t nt = ckpt_jit_tensor_count(m);
    for (size_t i = 0; i < nt; i++) {
        ckpt_jit_tensor t;
        if (ckpt_jit_get_tensor(m, i, &t) < 0 || t.kind < 1 || t.kind > 4)
            continue;
        int64_t n = 1;
        for (int d = 0; d < t.ndim; d++)
            n *= t.shape[d];
        cnt[t.kind]++;
        el[t.kind] += (uint64_t)n;
        by[t.kind] += t.nbytes;
    }
    for (int k = 1; k <= 4; k++) {
        if (!cnt[k])
            continue;
        rh_fmt(p, "<tr><th>%s</th><td id=\"jit-%d\">%zu (%" PRIu64 " elements, ", kinds[k], k,
               cnt[k], el[k]);
        rh_bytes(p, by[k]);
        rh_raw(p, ")</td></tr>\n");
    }
    rh_raw(p, "</tbody></table>\n");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    int rc = ckpt_jit_print(m, f, 0, &e);
    fclose(f);
    if (rc == 0 && buf) {
        rh_raw(p, "<details><summary>module tree and methods (as <code>ckpt show</code> prints "
                  "them)</summary>\n<pre>");
        for (size_t i = 0; i < len && i < PRINT_CAP;) { /* line by line: \n kept */
            const char *nl = memchr(buf + i, '\n', len - i);
            size_t l = nl ? (size_t)(nl - (buf + i)) : len - i;
            rh_esc_n(p, buf + i, l, 4096);
            rh_raw(p, "\n");
            i += l + 1;
        }
        if (len > PRINT_CAP)
            rh_fmt(p, "\xe2\x80\xa6 (%zu bytes in all)\n", len);
        rh_raw(p, "</pre></details>\n");
    }
    free(buf);
}
