/*
 * ckpt/error.h - status codes and the caller-owned error record.
 *
 * Every ckpt call that can fail takes a `ckpt_error *err` as its last
 * parameter (NULL allowed) and either returns NULL (calls that create an
 * object) or a negative ckpt_status (calls that do work).  The library never
 * allocates the error, never prints and never aborts.  The first error
 * recorded wins: the innermost layer sets code, message and offset; outer
 * layers only add the file name and prefix the key path.
 *
 * Thread-safety: an error record belongs to one call at a time.
 */
#ifndef CKPT_ERROR_H
#define CKPT_ERROR_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes.  The values are fixed and never reused (docs/ERRORS.md). */
typedef enum ckpt_status {
    CKPT_OK = 0,
    CKPT_E_ARG = -1,         /* a caller broke an API contract */
    CKPT_E_NOMEM = -2,       /* an allocation failed */
    CKPT_E_IO = -3,          /* the operating system refused a read or write */
    CKPT_E_FORMAT = -4,      /* malformed input */
    CKPT_E_UNSAFE = -5,      /* a global or opcode refused in weights-only mode */
    CKPT_E_UNSUPPORTED = -6, /* valid input that ckpt does not handle (yet) */
    CKPT_E_NOT_FOUND = -7,   /* a key, record or file that is not there */
    CKPT_E_SHAPE = -8,       /* shape, dtype or bounds mismatch */
    CKPT_E_LIMIT = -9        /* a load limit was reached */
} ckpt_status;

/* Which stream `offset` refers to. */
typedef enum ckpt_where {
    CKPT_WHERE_NONE = 0, /* no offset known */
    CKPT_WHERE_FILE,     /* byte offset in the file (or buffer) */
    CKPT_WHERE_MEMBER,   /* byte offset inside the zip member named in `member` */
    CKPT_WHERE_PICKLE    /* byte offset inside the pickle stream named in `member` */
} ckpt_where;

typedef struct ckpt_error {
    int code;             /* a ckpt_status; 0 while no error is recorded */
    char msg[256];        /* what went wrong, in words */
    char file[256];       /* file name, or the caller's label for a buffer */
    char member[128];     /* zip member or stream the offset refers to ("" if none) */
    int where;            /* a ckpt_where */
    uint64_t offset;      /* byte offset within that stream */
    char key[256];        /* key path of the object, e.g. "optimizer.state.3.exp_avg" */
    const char *src_file; /* debug builds: library source file that failed */
    int src_line;
} ckpt_error;

/* Name of a status code ("CKPT_E_FORMAT"); never NULL. Added in 0.1. */
CKPT_API const char *ckpt_status_name(int code);

/* Reset `err` to "no error".  NULL is accepted. Added in 0.1. */
CKPT_API void ckpt_error_clear(ckpt_error *err);

/*
 * Format `err` as one line: "FILE: MEMBER+OFFSET: KEY: MESSAGE [CODE]".
 * Writes at most `n` bytes including the terminator; returns `buf`.
 */
CKPT_API const char *ckpt_error_format(const ckpt_error *err, char *buf, size_t n);

#ifdef __cplusplus
}
#endif
#endif
