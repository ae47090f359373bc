/* tools/ckpt/cli_flat.h - flatten a checkpoint tree for tensor-only formats. */
#ifndef CKPT_CLI_FLAT_H
#define CKPT_CLI_FLAT_H

#include <stdbool.h>

#include "cli.h"
#include "cli_util.h"

/* A new OrderedDict in `doc`: every tensor reachable from `root` under its key
 * path (containers' keys joined with '.', list/tuple indices in decimal; the
 * tensors themselves are shared, not copied).  A value that is not a tensor
 * (an int, a str, None, an opaque object...) is an error naming its key path
 * and `fmt`, unless `drop` (then it is counted in *dropped).  A bare tensor
 * root becomes {"tensor": root}. */
ckpt_obj *cli_flatten(ckpt_doc *doc, const ckpt_obj *root, const char *fmt, bool drop,
                      size_t *dropped, ckpt_error *err);

#endif
