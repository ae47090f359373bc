/*
 * ckpt/scan.h - find what a model file would import and call, without running it.
 *
 * The scanner runs every pickle in a file through the same VM ckpt loads
 * with, in a recording mode: every global (GLOBAL, STACK_GLOBAL resolved from
 * the real stack and memo, INST, OBJ, EXT codes) is recorded with its
 * opcode and byte offset and classified against torch's weights-only
 * allowlist (exact module.name pairs) and a list of known-dangerous names;
 * every call (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST, BUILD) on something
 * outside the allowlist is recorded too.  The allowlist decides: a file is
 * clean only when every global it names is allowlisted and nothing else is
 * called.  Pickles inside zip members (any name; classified by content),
 * legacy streams, raw pickle streams, .npy/.npz object arrays, and pickles
 * nested inside bytes values are all scanned.  A file that cannot be read to
 * the end is never reported clean.
 */
#ifndef CKPT_SCAN_H
#define CKPT_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/error.h"
#include "ckpt/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ckpt_scan_class {
    CKPT_SCAN_ALLOWED = 0,  /* on the weights-only allowlist (or the caller's safe globals) */
    CKPT_SCAN_UNKNOWN = 1,  /* not allowlisted */
    CKPT_SCAN_DANGEROUS = 2 /* not allowlisted and known to run code, touch files or network */
} ckpt_scan_class;

typedef enum ckpt_scan_verdict {
    CKPT_SCAN_CLEAN = 0,     /* every global allowlisted, no other call */
    CKPT_SCAN_UNSAFE = 1,    /* an unknown or dangerous global or call (even in a file
                                that also cannot be read to the end) */
    CKPT_SCAN_UNREADABLE = 2 /* could not be read to the end: never clean */
} ckpt_scan_verdict;

typedef struct ckpt_scan_finding {
    char stream[192]; /* where: "archive/data.pkl", "pickle 4", "data.pkl>bytes@812" */
    uint64_t offset;  /* opcode offset inside that stream */
    int opcode;       /* the opcode byte (ckpt_pickle_op_name names it) */
    char module[128];
    char name[128];
    int klass;     /* a ckpt_scan_class */
    bool called;   /* used by REDUCE/NEWOBJ/NEWOBJ_EX/OBJ/INST/BUILD */
    char note[96]; /* why it is dangerous or unknown, when known */
} ckpt_scan_finding;

typedef struct ckpt_scan_report {
    ckpt_scan_finding *findings;
    size_t count;
    size_t pickles;   /* pickle streams scanned */
    int verdict;      /* a ckpt_scan_verdict */
    char format[64];  /* what the file is: "torch zip", "torchscript", "legacy", "pickle", ... */
    ckpt_error error; /* set when the file could not be read to the end: verdict
                         CKPT_SCAN_UNREADABLE, or CKPT_SCAN_UNSAFE when a finding made
                         before the error wins (dangerous wins) */
} ckpt_scan_report;

typedef struct ckpt_scan_opts {
    const char *const *safe_globals; /* extra allowed "module.name" pairs */
    size_t safe_global_count;
    uint32_t max_nesting;  /* pickles inside bytes inside pickles...; 0 = 4 */
    uint64_t max_inflated; /* total bytes inflated from zip members; 0 = 256 MiB */
} ckpt_scan_opts;

/* Scan a file.  Returns 0 and a report (free with ckpt_scan_report_free)
 * even when the file is hostile or unreadable; < 0 only when no report could
 * be made (out of memory). */
CKPT_API int ckpt_scan_file(const char *path, const ckpt_scan_opts *opts, ckpt_scan_report **out,
                            ckpt_error *err);
/* Scan a buffer. */
CKPT_API int ckpt_scan_mem(const void *buf, size_t n, const char *label,
                           const ckpt_scan_opts *opts, ckpt_scan_report **out, ckpt_error *err);
CKPT_API void ckpt_scan_report_free(ckpt_scan_report *r);
CKPT_API const char *ckpt_scan_class_name(int klass);

#ifdef __cplusplus
}
#endif
#endif
