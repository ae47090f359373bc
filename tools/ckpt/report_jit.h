/* tools/ckpt/report_jit.h - the model section of `ckpt report` (report_jit.c). */
#ifndef CKPT_REPORT_JIT_H
#define CKPT_REPORT_JIT_H

#include "ckpt/jit.h"
#include "report_html.h"

/* Kind, root module type, forward's signature, parameter/buffer counts and the
 * module tree with its methods. */
void report_jit(rh_page *p, const ckpt_jit_model *m);

#endif
