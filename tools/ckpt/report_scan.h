/* tools/ckpt/report_scan.h - the safety section of `ckpt report` (report_scan.c). */
#ifndef CKPT_REPORT_SCAN_H
#define CKPT_REPORT_SCAN_H

#include "cli.h"
#include "report_html.h"

/* Scan `path` (a folder: each of its files; a DCP folder as one) and show the
 * verdict and the globals found. */
void report_scan(rh_page *p, const char *path, const cli_load *lo);

#endif
