/* src/formats/gguf_internal.h - GGUF value types shared by the reader and the
 * writer (gguf.c, gguf_write.c). */
#ifndef CKPT_GGUF_INTERNAL_H
#define CKPT_GGUF_INTERNAL_H

#include <stdint.h>

/* ckpt's limit on general.alignment (ggml writes 32; files in use hold 32 or 64): a
 * larger one would make a writer pad a tiny file to gigabytes (CKPT_E_LIMIT) */
#define GGUF_MAX_ALIGNMENT (1u << 20)

/* GGUF value type ids (ggml's enum gguf_type): name as the "gguf.kv_types"
 * metadata spells it ("uint8" ... "float64", "string", "array"), NULL if unknown. */
const char *ckpt__gguf_vtype_name(uint32_t t);
/* Fixed size of a scalar value type in bytes, 0 for string/array, -1 if unknown. */
int ckpt__gguf_vtype_size(uint32_t t);

#endif
