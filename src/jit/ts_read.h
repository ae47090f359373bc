/*
 * src/jit/ts_read.h - pieces shared by the TorchScript reader's files
 * (ts_read.c: records, data.pkl / constants.pkl; ts_read_v1.c: format 1,
 * model.json + attributes.pkl + tensors/; ts_read_code.c: the class table
 * from code/ headers).
 */
#ifndef CKPT_JIT_TS_READ_H
#define CKPT_JIT_TS_READ_H

#include "ckpt/zip.h"
#include "jit/jit_internal.h"

/* Most bytes of one code/ or json record the reader takes (a hostile
 * archive cannot make it allocate more). */
#define TSR_MAX_TEXT (64u << 20)

/* Read record `e` whole into a new NUL-terminated buffer (*out, *n). */
int tsr_read_record(const ckpt_zip *z, const ckpt_zip_entry *e, uint64_t limit, char **out,
                    size_t *n, ckpt_error *err);

/* Scan source m->sources[i] (code/...py) into the class table.  Classes
 * (`class X(Module):`) become m's classes named "<module path>.X"; free
 * functions become methods of a pseudo-class named by the module path
 * ("__torch__.torch.nn.functional", is_module false).  When `owner` is set
 * (format 1: the module's own code file), top-level defs become its methods. */
int tsr_scan_source(ckpt_jit_model *m, size_t i, jit_class *owner, ckpt_error *err);

/* Format 1 (model.json, attributes.pkl, tensors/). */
int tsr_read_v1(ckpt_jit_model *m, ckpt_zip *z, ckpt_error *err);

/* A module class name from a file path: "code/__torch__/a/b.py" -> "__torch__.a.b". */
char *tsr_module_path(const char *record);

/* Add an owned copy of `s` to a string vector. */
int tsr_strv_push(char ***v, size_t *n, const char *s, size_t len, ckpt_error *err);

#endif
