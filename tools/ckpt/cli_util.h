/* tools/ckpt/cli_util.h - helpers shared by show, stats, diff, rename, convert and extract:
 * key paths (text and greedy resolution), rebuilding containers along a path, element
 * access over strided views, Python-style value text and a progress line. */
#ifndef CKPT_CLI_UTIL_H
#define CKPT_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/ckpt.h"

#define CLI_MAX_STEPS 256

/* A node borrowed from a loaded document, as the non-const pointer builders take.
 * Nodes are only ever shared into new containers, never written through. */
ckpt_obj *cli_mut(const ckpt_obj *o);

/* One step of a resolved key path: child `index` of `container` (dict entry, list or
 * tuple item; for an OBJECT, index 0 = its state). */
typedef struct cli_step {
    const ckpt_obj *container;
    size_t index;
} cli_step;

/* Resolve a key path as `ckpt ls` prints it ("model.fc1.weight", "optimizer.state.0"):
 * at each dict the longest dotted prefix that names an existing key wins; list and tuple
 * indices and int keys are decimal; an OBJECT is entered through its state.  "" is the
 * root.  Returns the node, or NULL with a reason in `why`.  `steps` (may be NULL) gets
 * the containers on the way. */
const ckpt_obj *cli_resolve(const ckpt_obj *root, const char *path, cli_step *steps,
                            size_t *nsteps, char *why, size_t whyn);

/* Rebuild the containers of `steps` in `doc` so that the node they lead to becomes
 * `repl`; everything else is shared with the original.  Returns the new root. */
ckpt_obj *cli_replace_path(ckpt_doc *doc, const ckpt_obj *root, const cli_step *steps,
                           size_t nsteps, ckpt_obj *repl, ckpt_error *err);

/* Text of a dict key inside a key path (str bare, int decimal, Python repr otherwise). */
void cli_key_text(const ckpt_obj *k, char *buf, size_t n);
/* Python-like text of a scalar node (None, bool, int, float, complex, str, bytes, dtype,
 * device, torch.Size, global); strings quoted, cut to `n` bytes with "…". */
void cli_value_text(const ckpt_obj *o, char *buf, size_t n);
/* Kind of a container or node as shown to users: "dict", "OrderedDict", "list", ... */
const char *cli_kind_name(const ckpt_obj *o);

/* Dtypes whose elements can be read as numbers (ints, floats, complex; not bool,
 * quantized or float8). */
bool cli_dtype_numeric(int dtype);
bool cli_dtype_complex(int dtype);
/* Element at `p` of `dtype` as double (real and imaginary parts for complex). */
void cli_elem(const void *p, int dtype, double *re, double *im);

/* Walk a tensor view in row-major order, yielding element offsets (in elements,
 * relative to element [0,...,0]). */
typedef struct cli_iter {
    int ndim;
    const int64_t *shape;
    const int64_t *stride;
    int64_t idx[64];
    int64_t off;
    int64_t left;
} cli_iter;
void cli_iter_init(cli_iter *it, const ckpt_tensor_info *ti);
bool cli_iter_next(cli_iter *it, int64_t *off);

/* "--layout 1.13|2.1|2.7|legacy" value; returns 0 or -1. */
int cli_parse_layout(const char *v, int *layout);

/* A progress line on stderr, shown only when stderr is a terminal and the work has
 * run for more than a second; redrawn at most five times a second, erased at the end. */
typedef struct cli_progress {
    const char *label;
    uint64_t total;
    double start, last;
    bool tty, shown;
} cli_progress;
void cli_progress_init(cli_progress *p, const char *label, uint64_t total);
void cli_progress_step(cli_progress *p, uint64_t done);
void cli_progress_done(cli_progress *p);

#endif
