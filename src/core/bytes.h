/* src/core/bytes.h - little/big-endian load and store helpers.
 * Never cast file bytes to a struct pointer. */
#ifndef CKPT_CORE_BYTES_H
#define CKPT_CORE_BYTES_H

#include <stdint.h>
#include <string.h>

static inline uint16_t ckpt_rd_u16le(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t ckpt_rd_u32le(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}
static inline uint64_t ckpt_rd_u64le(const uint8_t *p)
{
    return (uint64_t)ckpt_rd_u32le(p) | ((uint64_t)ckpt_rd_u32le(p + 4) << 32);
}
static inline void ckpt_wr_u16le(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}
static inline void ckpt_wr_u32le(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}
static inline void ckpt_wr_u64le(uint8_t *p, uint64_t v)
{
    ckpt_wr_u32le(p, (uint32_t)v);
    ckpt_wr_u32le(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t ckpt_rd_u64be(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}
static inline void ckpt_wr_u64be(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)v;
        v >>= 8;
    }
}

#endif
