/* tools/ckpt/report_scan.c - `ckpt report`: the safety section, the verdict of the
 * pickle scanner as `ckpt scan` gives it (every global the file imports or calls,
 * judged against torch's weights-only allowlist). */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "ckpt/scan.h"
#include "cli_folder.h"
#include "report.h"
#include "report_scan.h"

static const char *verdict_name(int v)
{
    return v == CKPT_SCAN_CLEAN ? "clean" : v == CKPT_SCAN_UNSAFE ? "unsafe" : "unreadable";
}

static void one(rh_page *p, const char *name, const ckpt_scan_report *r)
{
    size_t allowed = 0, other = 0;
    for (size_t i = 0; i < r->count; i++) {
        if (r->findings[i].klass == CKPT_SCAN_ALLOWED)
            allowed++;
        else
            other++;
    }
    rh_raw(p, "<p><code>");
    rh_esc(p, name);
    rh_raw(p, "</code>: ");
    rh_esc(p, r->format[0] ? r->format : "?");
    rh_fmt(p, ", %zu pickle%s: <span class=\"%s verdict\">%s</span>", r->pickles,
           r->pickles == 1 ? "" : "s", r->verdict == CKPT_SCAN_CLEAN ? "ok" : "bad",
           verdict_name(r->verdict));
    if (r->verdict == CKPT_SCAN_CLEAN)
        rh_raw(p, " (every global is on torch's weights-only allowlist)");
    rh_raw(p, "</p>\n");
    if (r->error.code) {
        char buf[1200];
        rh_raw(p, "<p class=\"bad\">error: ");
        rh_esc(p, ckpt_error_format(&r->error, buf, sizeof(buf)));
        rh_raw(p, "</p>\n");
    }
    if (!r->count)
        return;
    rh_fmt(p,
           "<details%s><summary>%zu global%s: %zu on the allowlist, %zu not</summary>\n"
           "<table><thead><tr><th>class</th><th>global</th><th>called</th><th>where</th>"
           "<th>opcode</th><th>note</th></tr></thead><tbody>\n",
           other ? " open" : "", r->count, r->count == 1 ? "" : "s", allowed, other);
    for (int pass = 0; pass < 2; pass++) /* the findings that matter first */
        for (size_t i = 0; i < r->count; i++) {
            const ckpt_scan_finding *f = &r->findings[i];
            if ((f->klass == CKPT_SCAN_ALLOWED) != (pass == 1))
                continue;
            const char *op = f->opcode ? ckpt_pickle_op_name(f->opcode) : "-";
            rh_fmt(p, "<tr><td class=\"%s\">", f->klass == CKPT_SCAN_ALLOWED ? "ok" : "bad");
            rh_esc(p, ckpt_scan_class_name(f->klass));
            rh_raw(p, "</td><td><code>");
            rh_esc(p, f->module);
            rh_raw(p, ".");
            rh_esc(p, f->name);
            rh_fmt(p, "</code></td><td>%s</td><td><code>", f->called ? "yes" : "no");
            rh_esc(p, f->stream);
            rh_fmt(p, "@%" PRIu64 "</code></td><td>", f->offset);
            rh_esc(p, op ? op : "?");
            rh_raw(p, "</td><td>");
            rh_esc(p, f->note);
            rh_raw(p, "</td></tr>\n");
        }
    rh_raw(p, "</tbody></table></details>\n");
}

void report_scan(rh_page *p, const char *path, const cli_load *lo)
{
    ckpt_scan_opts so;
    memset(&so, 0, sizeof(so));
    so.safe_globals = lo->allow;
    so.safe_global_count = lo->nallow;
    rh_raw(p, "<h2 id=\"safety\">Safety scan</h2>\n");
    char **files = NULL;
    size_t nfiles = 0;
    struct stat st;
    bool folder = stat(path, &st) == 0 && S_ISDIR(st.st_mode) && !cli_is_dcp(path);
    if (folder && cli_folder_files(path, &files, &nfiles) < 0) {
        rh_raw(p, "<p class=\"bad\">the folder could not be listed</p>\n");
        return;
    }
    size_t n = folder ? nfiles : 1;
    for (size_t i = 0; i < n; i++) {
        const char *f = folder ? files[i] : path;
        ckpt_scan_report *r = NULL;
        ckpt_error err;
        ckpt_error_clear(&err);
        int rc = cli_is_dcp(f) ? cli_scan_dcp(f, &so, &r, &err)
                               : ckpt_scan_file(f, &so, &r, &err);
        if (rc < 0 || !r) {
            char buf[1200];
            rh_raw(p, "<p class=\"bad\">scan failed: ");
            rh_esc(p, ckpt_error_format(&err, buf, sizeof(buf)));
            rh_raw(p, "</p>\n");
            continue;
        }
        one(p, report_basename(f), r);
        ckpt_scan_report_free(r);
    }
    cli_folder_files_free(files, nfiles);
}
