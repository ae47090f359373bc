/* src/ops/rng.c - xoshiro256** seeded through splitmix64, with uniform and
 * normal (Box-Muller) draws.  Streams are ours: torch's generator (mt19937
 * plus its own transforms) is not reproduced. */
#include <math.h>

#include "ckpt/nn.h"

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t next_u64(ckpt_rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

void ckpt_rng_seed(ckpt_rng *r, uint64_t seed)
{
    if (!r)
        return;
    if (!r)
        return;
    uint64_t x = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

double ckpt_rng_uniform(ckpt_rng *r)
{
    if (!r)
        return 0.0; /* no generator: a constant, never a crash */
    return (double)(next_u64(r) >> 11) * 0x1.0p-53;
}

double ckpt_rng_normal(ckpt_rng *r)
{
    if (!r)
        return 0.0;
    double u1 = 1.0 - ckpt_rng_uniform(r); /* (0, 1] */
    double u2 = ckpt_rng_uniform(r);
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586476925 * u2);
}
