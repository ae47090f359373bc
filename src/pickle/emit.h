/* src/pickle/emit.h - a protocol-2 pickle emitter that writes what CPython's
 * pickler writes: the same opcodes, the same memo numbering.  Callers decide
 * what to memoize (by node identity, by global name, or by constant). */
#ifndef CKPT_PICKLE_EMIT_H
#define CKPT_PICKLE_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/alloc.h"
#include "ckpt/error.h"

typedef struct ckpt__memo_map ckpt__memo_map;

typedef struct ckpt__emit {
    const ckpt_alloc *alloc;
    uint8_t *buf;
    size_t len, cap;
    bool oom;
    uint32_t memo_next;
    ckpt__memo_map *by_ptr;  /* node pointer -> memo index */
    ckpt__memo_map *by_name; /* "module\nname" of globals -> memo index */
} ckpt__emit;

int ckpt__emit_init(ckpt__emit *e, const ckpt_alloc *alloc);
void ckpt__emit_free(ckpt__emit *e);
void ckpt__emit_byte(ckpt__emit *e, uint8_t b);
void ckpt__emit_bytes(ckpt__emit *e, const void *p, size_t n);
/* BINPUT/LONG_BINPUT with the next memo index; returns that index. */
uint32_t ckpt__emit_put(ckpt__emit *e);
void ckpt__emit_get(ckpt__emit *e, uint32_t idx);
/* int as K/M/J/LONG1, as CPython chooses. */
void ckpt__emit_int(ckpt__emit *e, int64_t v);
/* float as BINFLOAT (big-endian). */
void ckpt__emit_float(ckpt__emit *e, double v);
/* str as BINUNICODE (no memo). */
void ckpt__emit_str(ckpt__emit *e, const char *s, size_t n);
/* GLOBAL module\nname\n, memoized by name: later calls emit BINGET. */
void ckpt__emit_global(ckpt__emit *e, const char *module, const char *name);
/* memo lookups keyed by a string value (e.g. interned str objects) */
bool ckpt__emit_memo_get_str(ckpt__emit *e, const char *key, uint32_t *idx);
void ckpt__emit_memo_set_str(ckpt__emit *e, const char *key, uint32_t idx);
/* memo lookups keyed by a pointer (node identity or a constant's address) */
bool ckpt__emit_memo_get(ckpt__emit *e, const void *key, uint32_t *idx);
void ckpt__emit_memo_set(ckpt__emit *e, const void *key, uint32_t idx);
/* put + remember under key */
void ckpt__emit_memoize(ckpt__emit *e, const void *key);

#endif
