/* tools/ckpt/report_html.c - the HTML writer of `ckpt report` (report_html.h). */
#include "report_html.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/atomic.h"
#include "core/utf8.h"

static void put(rh_page *p, const char *s, size_t n)
{
    ckpt__text_put(p, s, n);
}

void rh_raw(rh_page *p, const char *s)
{
    ckpt__text_puts(p, s);
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 when invalid: the
 * library's decoder (no overlong forms, nothing above U+10FFFF) without the
 * surrogates it lets through for pickles: a page shows them as \xNN. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    uint32_t cp = 0;
    size_t len = ckpt_utf8_get(s, n, &cp);
    return cp >= 0xD800 && cp <= 0xDFFF ? 0 : len;
}

void rh_esc_n(rh_page *p, const char *s, size_t n, size_t cap)
{
    if (!s)
        return;
    if (!cap)
        cap = RH_CAP;
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, shown = n < cap ? n : cap;
    while (i < shown) {
        unsigned char c = u[i];
        const char *ent = c == '<'    ? "&lt;"
                          : c == '>'  ? "&gt;"
                          : c == '&'  ? "&amp;"
                          : c == '"'  ? "&quot;"
                          : c == '\'' ? "&#39;"
                                      : NULL;
        if (ent) {
            rh_raw(p, ent);
            i++;
            continue;
        }
        if (c < 0x20 || c == 0x7F) {
            rh_fmt(p, "\\x%02x", c);
            i++;
            continue;
        }
        size_t l = utf8_len(u + i, n - i);
        if (l == 0) {
            rh_fmt(p, "\\x%02x", c);
            i++;
            continue;
        }
        if (i + l > shown && shown < n) /* never cut a character in two */
            break;
        put(p, s + i, l);
        i += l;
    }
    if (shown < n)
        rh_fmt(p, "\xe2\x80\xa6 (%zu bytes in all)", n);
}

void rh_esc(rh_page *p, const char *s)
{
    if (s)
        rh_esc_n(p, s, strlen(s), 0);
}

void rh_bytes(rh_page *p, uint64_t n)
{
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1024 && u < 5) {
        v /= 1024;
        u++;
    }
    if (u == 0)
        rh_fmt(p, "%" PRIu64 " B", n);
    else
        rh_fmt(p, "%.1f %s", v, unit[u]);
}

void rh_shape(rh_page *p, const int64_t *dims, int ndim)
{
    rh_raw(p, "[");
    for (int i = 0; i < ndim; i++)
        rh_fmt(p, "%s%" PRId64, i ? ", " : "", dims[i]);
    rh_raw(p, "]");
}

static const char css[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}"
    "h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.6em;border-bottom:1px solid #ccc}"
    "table{border-collapse:collapse;margin:.4em 0}"
    "th,td{border:1px solid #ddd;padding:2px 6px;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3;cursor:pointer}td.n{text-align:right;font-variant-numeric:"
    "tabular-nums}"
    "code,.k{font-family:ui-monospace,monospace;font-size:.92em;word-break:break-all}"
    "details{margin-left:1.1em}summary{cursor:pointer}"
    ".bar{display:inline-block;height:.7em;background:#4a7fd0;margin:0 .4em;"
    "vertical-align:middle}"
    ".bad{color:#b00;font-weight:bold}.ok{color:#070;font-weight:bold}.dim{color:#777}"
    "tr:target{background:#ffc}ul.obj{list-style:none;padding-left:1.1em;margin:0}"
    "svg text{font:11px sans-serif}";

void rh_begin(rh_page *p, const char *title)
{
    rh_raw(p, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
              "<meta name=\"generator\" content=\"ckpt report\">\n<title>");
    rh_esc(p, title);
    rh_raw(p, "</title>\n<style>");
    rh_raw(p, css);
    rh_raw(p, "</style>\n</head>\n<body>\n<h1>");
    rh_esc(p, title);
    rh_raw(p, "</h1>\n");
}

/* Sorting (click a header) and filtering (the box above a table) of tables with
 * class "sort"; numeric cells carry data-v.  The page reads the same without it. */
static const char script[] =
    "<script>\n"
    "(function(){\n"
    "function val(td){if(!td)return '';var v=td.getAttribute('data-v');"
    "return v===null?td.textContent:parseFloat(v);}\n"
    "document.querySelectorAll('table.sort').forEach(function(t){\n"
    " var hs=t.tHead?t.tHead.rows[0].cells:[];\n"
    " Array.prototype.forEach.call(hs,function(th,i){var asc=true;\n"
    "  th.addEventListener('click',function(){var b=t.tBodies[0];"
    "var r=Array.prototype.slice.call(b.rows);\n"
    "   r.sort(function(x,y){var a=val(x.cells[i]),c=val(y.cells[i]);"
    "if(typeof a==='number'&&typeof c==='number'){if(isNaN(a))return 1;if(isNaN(c))return -1;"
    "return asc?a-c:c-a;}return asc?String(a).localeCompare(c):String(c).localeCompare(a);});\n"
    "   asc=!asc;r.forEach(function(x){b.appendChild(x);});});});\n"
    " var f=document.getElementById(t.id+'-filter');\n"
    " if(f){f.hidden=false;f.addEventListener('input',function(){var q=f.value.toLowerCase();\n"
    "  Array.prototype.forEach.call(t.tBodies[0].rows,function(r){"
    "r.hidden=q&&r.cells[0].textContent.toLowerCase().indexOf(q)<0;});});}\n"
    "});})();\n"
    "</script>\n";

void rh_end(rh_page *p)
{
    rh_raw(p, script);
    rh_raw(p, "</body>\n</html>\n");
}

static int write_page(ckpt_sink *sink, const void *ctx, ckpt_error *err)
{
    const rh_page *p = ctx;
    return ckpt_sink_write(sink, p->p, p->n, err);
}

int rh_write(const rh_page *p, const char *out, ckpt_error *err)
{
    if (p->oom) {
        ckpt_error_clear(err);
        err->code = CKPT_E_NOMEM;
        snprintf(err->msg, sizeof(err->msg), "out of memory building the page");
        snprintf(err->file, sizeof(err->file), "%.250s", out ? out : "<stdout>");
        return -1;
    }
    if (!out) {
        if (fwrite(p->p, 1, p->n, stdout) != p->n || fflush(stdout) != 0) {
            ckpt_error_clear(err);
            err->code = CKPT_E_IO;
            snprintf(err->msg, sizeof(err->msg), "cannot write the page");
            snprintf(err->file, sizeof(err->file), "<stdout>");
            return -1;
        }
        return 0;
    }
    return ckpt__atomic_write(out, write_page, p, NULL, false, err) < 0 ? -1 : 0;
}

void rh_free(rh_page *p)
{
    ckpt__text_free(p);
}
