/* src/formats/formats_internal.h - header parsers for the non-pickle formats
 * (safetensors, .npy).  Internal: the scanner uses them to recognise a file by
 * a valid header; the full readers build on them. */
#ifndef CKPT_FORMATS_INTERNAL_H
#define CKPT_FORMATS_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/core.h"
#include "ckpt/error.h"

/* ---------------------------------------------------------- safetensors */

typedef enum ckpt_st_status {
    CKPT_ST_VALID = 0,     /* a complete safetensors file */
    CKPT_ST_NOT = 1,       /* not a safetensors file (no JSON object header) */
    CKPT_ST_TRUNCATED = 2, /* a safetensors header, but the file ends early */
    CKPT_ST_INVALID = 3    /* a JSON header whose entries are inconsistent */
} ckpt_st_status;

/* Check the safetensors file at buf[0..n) (the whole file): the rules of
 * ckpt__st_header_parse below, the one validation the reader
 * (safetensors.c) shares.  *tensors (may be NULL) gets the tensor count; why
 * (may be NULL) gets the rule broken and the tensor key. */
int ckpt__st_header_check(const uint8_t *buf, size_t n, size_t *tensors, char *why, size_t whyn);

/* One safetensors dtype: its name in the header, its size in bits, the ckpt
 * dtype it maps to (-1 when ckpt has none: F4, F6_E2M3, F6_E3M2). */
typedef struct ckpt_st_dtype {
    const char *name;
    unsigned bits;
    int ckpt;
} ckpt_st_dtype;

const ckpt_st_dtype *ckpt__st_dtype_by_name(const char *name);
/* The safetensors dtype of a ckpt dtype, or NULL; *rank (may be NULL) gets its
 * place in the library's Dtype enum (the writer sorts by it, descending). */
const ckpt_st_dtype *ckpt__st_dtype_by_ckpt(int dtype, int *rank);

typedef struct ckpt_st_entry {
    const char *name; /* key in the header (owned by the parsed JSON tree) */
    const ckpt_st_dtype *dtype;
    int ndim;
    const int64_t *shape;
    uint64_t numel, nbytes;
    uint64_t begin, end; /* data_offsets, relative to the data area */
    size_t order;        /* position in the header */
} ckpt_st_entry;

/* A parsed and validated header. */
typedef struct ckpt_st_header {
    void *root;           /* the cJSON tree */
    const void *metadata; /* the "__metadata__" cJSON object, or NULL */
    ckpt_st_entry *ents;  /* tensors, sorted by data_offsets (file order) */
    size_t n;
    int64_t *dims;       /* storage of every entry's shape */
    uint64_t header_len; /* N */
    uint64_t data_start; /* 8 + N */
    uint64_t data_len;   /* the last tensor's end */
    /* on failure: the rule broken, the tensor key ("" if none), the file offset */
    char why[256];
    char key[256];
    uint64_t offset;
    bool limit; /* the failure is ckpt's own size limit, not a format rule */
} ckpt_st_header;

/* Parse and validate the header: buf[0..n) holds at least the first 8 + N
 * bytes of a file of `file_size` bytes (the whole file for the scanner).
 * Returns a ckpt_st_status; on CKPT_ST_VALID the entries are filled.  Always
 * release with ckpt__st_header_free (also after a failure). */
int ckpt__st_header_parse(const uint8_t *buf, size_t n, uint64_t file_size, ckpt_st_header *h);
void ckpt__st_header_free(ckpt_st_header *h);

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
