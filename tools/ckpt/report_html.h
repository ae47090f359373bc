/* tools/ckpt/report_html.h - the HTML writer of `ckpt report`: a growing page buffer,
 * escaping of untrusted text, the page frame (inline CSS and a little JS) and the
 * atomic write of the finished page.  Nothing here fetches or links anything outside
 * the page. */
#ifndef CKPT_REPORT_HTML_H
#define CKPT_REPORT_HTML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/ckpt.h"
#include "core/text.h"

/* Longest untrusted string shown whole; longer ones show a prefix and their length. */
#define RH_CAP 512

/* The page: the library's text buffer (oom set: an append failed, the page is
 * incomplete and rh_write refuses it). */
typedef ckpt__text rh_page;

/* Trusted markup (literals and numbers only; never text from the file). */
void rh_raw(rh_page *p, const char *s);
#define rh_fmt ckpt__text_printf
/* Untrusted bytes as HTML text or attribute value: <>&"' as entities, control bytes
 * and bytes that are not valid UTF-8 as visible \xNN, cut at `cap` bytes (0: RH_CAP)
 * with the total length said. */
void rh_esc_n(rh_page *p, const char *s, size_t n, size_t cap);
void rh_esc(rh_page *p, const char *s); /* NUL-terminated, RH_CAP; NULL shows nothing */

/* Byte count as text ("1.5 MiB (1572864 bytes)" is rh_bytes_long). */
void rh_bytes(rh_page *p, uint64_t n);
/* Element shape "[2, 3]". */
void rh_shape(rh_page *p, const int64_t *dims, int ndim);

/* <!DOCTYPE html>... up to <body>, with `title` (untrusted) as the page title. */
void rh_begin(rh_page *p, const char *title);
/* The closing tags and the table script. */
void rh_end(rh_page *p);

/* Write the page to `out` atomically (temporary file, fsync, rename), or to stdout
 * when out is NULL.  0, or -1 with err set naming the file. */
int rh_write(const rh_page *p, const char *out, ckpt_error *err);
void rh_free(rh_page *p);

#endif
