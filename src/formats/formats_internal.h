/* src/formats/formats_internal.h - header parsers for the non-pickle formats
 * (safetensors, .npy).  Internal: the scanner uses them to recognise a file by
 * a valid header; the full readers build on them. */
#ifndef CKPT_FORMATS_INTERNAL_H
#define CKPT_FORMATS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/error.h"

/* ---------------------------------------------------------- safetensors */

typedef enum ckpt_st_status {
    CKPT_ST_VALID = 0,     /* a complete safetensors file */
    CKPT_ST_NOT = 1,       /* not a safetensors file (no JSON object header) */
    CKPT_ST_TRUNCATED = 2, /* a safetensors header, but the file ends early */
    CKPT_ST_INVALID = 3    /* a JSON header whose entries are inconsistent */
} ckpt_st_status;

/* Check the safetensors header at buf[0..n): 8-byte little-endian length,
 * a JSON object (cJSON), every entry but "__metadata__" an object with a
 * known "dtype", a "shape" of non-negative integers and "data_offsets"
 * [begin, end] whose size matches dtype x shape, the entries tiling the data
 * area from 0 to its end, which must be the end of the file.  *tensors (may
 * be NULL) gets the entry count; why (may be NULL) gets the reason. */
int ckpt__st_header_check(const uint8_t *buf, size_t n, size_t *tensors, char *why, size_t whyn);

/* ------------------------------------------------------------------ npy */

typedef enum ckpt_npy_status {
    CKPT_NPY_OK = 0,
    CKPT_NPY_NOT = 1,    /* no \x93NUMPY magic */
    CKPT_NPY_INVALID = 2 /* a header numpy would refuse, or one ckpt cannot judge */
} ckpt_npy_status;

typedef struct ckpt_npy_header {
    int major, minor;
    size_t data_offset; /* first byte after the header */
    bool fortran_order;
    bool has_object; /* the dtype holds Python objects: the data is a pickle */
    int ndim;
    int64_t shape[32];
    char descr[64]; /* the descr text when it is a plain string */
} ckpt_npy_header;

/* Parse a .npy header (format versions 1.0, 2.0, 3.0): the magic, the header
 * length, and the Python-literal dict with exactly 'descr', 'fortran_order'
 * and 'shape'.  has_object is set for every spelling numpy reads as an
 * object dtype ('O', '|O', '<O', 'object', structured dtypes with an O
 * field...); a descr ckpt does not recognise is CKPT_NPY_INVALID, never
 * "not object". */
int ckpt__npy_header_parse(const uint8_t *buf, size_t n, ckpt_npy_header *out, char *why,
                           size_t whyn);

/* The header, the tensor dtype and the data size of a .npy array in buf[0, n)
 * (numpy.c): the dtype, or -1 with err set (member, may be NULL, names the npz
 * member): not a valid header, an object/structured/unknown dtype
 * (CKPT_E_UNSUPPORTED), a shape whose bytes overflow (CKPT_E_LIMIT), data
 * shorter than the shape needs (CKPT_E_FORMAT).  *swap: the data's byte order
 * is not the host's. */
int ckpt__npy_layout(const uint8_t *buf, size_t n, const char *member, ckpt_npy_header *h,
                     bool *swap, uint64_t *nbytes, ckpt_error *err);

/* ----------------------------------------------------------------- ggml */

/* Elements per block and bytes per block of a ggml type; -1 if unknown or removed. */
int ckpt__ggml_block(int ggml_type, uint32_t *block, uint32_t *bytes);
/* True when ckpt_ggml_dequantize handles the type. */
bool ckpt__ggml_can_dequantize(int ggml_type);

#endif
