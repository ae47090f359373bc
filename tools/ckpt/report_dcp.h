/* tools/ckpt/report_dcp.h - the DCP layout section of `ckpt report` (report_dcp.c). */
#ifndef CKPT_REPORT_DCP_H
#define CKPT_REPORT_DCP_H

#include <stddef.h>

#include "ckpt/ckpt.h"
#include "report_html.h"

/* The entries of a DCP folder's .metadata: kind, dtype, global shape, chunks and the
 * file/offset/length of the first chunk (at most `max_rows`). */
void report_dcp(rh_page *p, const char *dir, size_t max_rows);

#endif
