/* src/torch/tar.h - tar members exactly as Python's tarfile (3.11) lists them
 * for torch.load's pre-1.0 path (torch/serialization.py legacy_load: tarfile
 * opened with mode 'r:', members found by getmember, read by extract or
 * extractfile).
 *
 * What is modelled: the checksum (unsigned or signed sum, the field read by
 * tarfile's nti: octal text with Python's int() spelling, or base-256), every
 * numeric field nti must accept, headers with or without the ustar magic (the
 * ustar prefix is joined whenever it is set), GNU long names ('L') and long
 * links ('K'), PAX extended ('x', 'X') and global ('g') headers with their
 * "path" and "size" records and tarfile's strict record framing, types that
 * carry data (regular, contiguous and unknown types; links, directories and
 * devices carry none and are not skipped over), and where tarfile stops
 * quietly or raises ReadError (after which torch abandons the tar and reads the
 * file as a pickle stream from byte 0).
 *
 * What is refused as CKPT_E_UNSUPPORTED (ckpt does not read such a tar):
 * sparse members, PAX GNU.sparse records, a global "size", a PAX size that is
 * not plain decimal digits, negative sizes, extension data over 1 MiB, chains
 * of more than 64 extension headers, a global header after an extended one in
 * one chain. */
#ifndef CKPT_TORCH_TAR_H
#define CKPT_TORCH_TAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/alloc.h"
#include "ckpt/error.h"
#include "ckpt/source.h"

#define CKPT__TAR_NAME_CAP 1024

typedef struct ckpt__tar_member {
    char name[CKPT__TAR_NAME_CAP]; /* NUL-terminated; cut when name_len >= the cap */
    size_t name_len;               /* the full name's length in bytes */
    char type;                     /* type byte of the member's own header */
    bool data;                     /* tarfile reads `size` bytes at data_off for it */
    uint64_t header_off;           /* its first header (extension headers included) */
    uint64_t data_off;
    uint64_t size;
} ckpt__tar_member;

typedef struct ckpt__tar_walk {
    const ckpt_source *src;
    const ckpt_alloc *alloc;
    uint64_t offset; /* tarfile.offset: where the next header is */
    uint64_t tell;   /* the file position tarfile left */
    bool done;
    bool read_error; /* the last error is one tarfile raises as ReadError */
    bool has_gpath;
    size_t gpath_len;
    char gpath[CKPT__TAR_NAME_CAP];
} ckpt__tar_walk;

/* What tarfile.open(fileobj, 'r:') says of the file. */
enum { CKPT__TAR_NOT = 0, CKPT__TAR_EMPTY = 1, CKPT__TAR_YES = 2 };
int ckpt__tar_probe(const ckpt_source *src);

void ckpt__tar_begin(ckpt__tar_walk *w, const ckpt_source *src, const ckpt_alloc *alloc);
/* 1: the next member is in *m; 0: tarfile's listing ends here; < 0: an error,
 * w->read_error telling whether tarfile raises ReadError there. */
int ckpt__tar_next(ckpt__tar_walk *w, ckpt__tar_member *m, ckpt_error *err);
/* Is the member named exactly `s`? */
bool ckpt__tar_named(const ckpt__tar_member *m, const char *s);

/* tarfile's nti() of a numeric field: 0 and *v set (*huge when it does not
 * fit in 62 bits), or -1 where tarfile raises InvalidHeaderError. */
int ckpt__tar_nti(const uint8_t *p, size_t n, int64_t *v, bool *huge);

#endif
