/*
 * ckpt/formats.h - checkpoint formats other than torch.save: NumPy .npy / .npz.
 *
 * NumPy (numpy.lib.format, format versions 1.0, 2.0 and 3.0):
 *   - a .npy file loads as a document whose root is ONE tensor (what
 *     np.load returns for it); a .npz archive (stored or deflated members,
 *     as np.savez / np.savez_compressed write) loads as a document whose root
 *     is a plain dict: member name without its ".npy" suffix -> tensor, in
 *     archive order.
 *   - dtypes: bool, int8..int64, uint8..uint64, float16/32/64, complex64/128,
 *     in either byte order (big-endian data is byte-swapped to native).  Any
 *     other dtype (object arrays, structured, strings, datetimes, long double)
 *     is refused with CKPT_E_UNSUPPORTED naming the file, member and dtype;
 *     object arrays are never unpickled.
 *   - fortran_order arrays keep their bytes and become strided tensors with
 *     column-major strides, as torch.from_numpy gives them.
 *   - 0-d and empty arrays are tensors with ndim 0 / numel 0.
 * Savers write exactly what np.save writes (format 1.0, the same header text
 * and padding): a C-contiguous tensor with fortran_order False, a tensor
 * that is column-major contiguous (and not row-major) with fortran_order True,
 * any other view copied to C order.  .npz archives have stored members
 * "<key>.npy" (as np.savez).  Files are replaced atomically (temporary file,
 * fsync, rename).
 *
 * Every function accepts err == NULL.
 */
#ifndef CKPT_FORMATS_H
#define CKPT_FORMATS_H

#include <stddef.h>

#include "ckpt/alloc.h"
#include "ckpt/core.h"
#include "ckpt/error.h"
#include "ckpt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Load a .npy or .npz file (told apart by its first bytes).  `alloc` NULL =
 * libc.  Returns NULL on failure (CKPT_E_FORMAT for malformed input,
 * CKPT_E_UNSUPPORTED for a dtype ckpt does not map, CKPT_E_LIMIT for a shape
 * whose size overflows, CKPT_E_IO). */
CKPT_API ckpt_doc *ckpt_numpy_load(const char *path, const ckpt_alloc *alloc, ckpt_error *err);
/* Same over `n` bytes of caller memory (copied; `label` names it in errors). */
CKPT_API ckpt_doc *ckpt_numpy_load_mem(const void *buf, size_t n, const char *label,
                                       const ckpt_alloc *alloc, ckpt_error *err);

/* Write `tensor` as a .npy file at `path`, byte-identical to np.save. */
CKPT_API int ckpt_npy_save(const char *path, const ckpt_obj *tensor, ckpt_error *err);
/* Write the dict `dict` (str keys -> tensors) as a .npz archive at `path`. */
CKPT_API int ckpt_npz_save(const char *path, const ckpt_obj *dict, ckpt_error *err);

#ifdef __cplusplus
}
#endif
#endif
