/* src/core/checked.h - overflow-checked integer arithmetic (libgit2 integer.h style).
 * Every product or sum of numbers read from a file goes through these. */
#ifndef CKPT_CORE_CHECKED_H
#define CKPT_CORE_CHECKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Each returns true on overflow and leaves *out unspecified. */
static inline bool ckpt_mul_i64(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}
static inline bool ckpt_add_i64(int64_t a, int64_t b, int64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}
static inline bool ckpt_mul_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}
static inline bool ckpt_add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
    return __builtin_add_overflow(a, b, out);
}
static inline bool ckpt_mul_size(size_t a, size_t b, size_t *out)
{
    return __builtin_mul_overflow(a, b, out);
}
static inline bool ckpt_add_size(size_t a, size_t b, size_t *out)
{
    return __builtin_add_overflow(a, b, out);
}
/* True when `v` does not fit in size_t. */
static inline bool ckpt_u64_to_size(uint64_t v, size_t *out)
{
    if (v > (uint64_t)SIZE_MAX)
        return true;
    *out = (size_t)v;
    return false;
}

#endif
