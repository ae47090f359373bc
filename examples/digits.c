/* examples/digits.c - see digits.h. */
#include "digits.h"

#include <libdeflate.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    unsigned char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n, f);
        if (n < cap)
            break;
        unsigned char *nb = realloc(buf, cap * 2);
        if (!nb) {
            free(buf);
            buf = NULL;
            break;
        }
        buf = nb;
        cap *= 2;
    }
    fclose(f);
    *len = n;
    return buf;
}

int digits_load(digits *d, const char *path)
{
    memset(d, 0, sizeof *d);
    if (!path)
        path = DIGITS_DEFAULT_PATH;
    size_t zlen = 0;
    unsigned char *z = read_all(path, &zlen);
    if (!z || zlen < 18) {
        fprintf(stderr, "digits: cannot read %s (install python3-sklearn)\n", path);
        free(z);
        return -1;
    }
    /* gzip's trailer: ISIZE, the uncompressed size mod 2^32 */
    size_t raw_len = (size_t)z[zlen - 4] | (size_t)z[zlen - 3] << 8 | (size_t)z[zlen - 2] << 16 |
                     (size_t)z[zlen - 1] << 24;
    char *raw = malloc(raw_len + 1);
    struct libdeflate_decompressor *dc = libdeflate_alloc_decompressor();
    size_t got = 0;
    enum libdeflate_result r = LIBDEFLATE_BAD_DATA;
    if (raw && dc)
        r = libdeflate_gzip_decompress(dc, z, zlen, raw, raw_len, &got);
    libdeflate_free_decompressor(dc);
    free(z);
    if (r != LIBDEFLATE_SUCCESS) {
        fprintf(stderr, "digits: %s is not a valid gzip file\n", path);
        free(raw);
        return -1;
    }
    raw[got] = '\0';
    size_t rows = 0;
    for (size_t i = 0; i < got; i++)
        rows += raw[i] == '\n';
    d->x = malloc(rows * DIGITS_PIXELS * sizeof *d->x);
    d->y = malloc(rows * sizeof *d->y);
    if (!d->x || !d->y) {
        free(raw);
        digits_free(d);
        return -1;
    }
    char *p = raw;
    for (size_t i = 0; i < rows; i++) {
        for (int j = 0; j <= DIGITS_PIXELS; j++) {
            char *end;
            long v = strtol(p, &end, 10);
            if (end == p || v < 0 || v > 16 || (j < DIGITS_PIXELS && *end != ',')) {
                fprintf(stderr, "digits: %s: bad value at row %zu column %d\n", path, i, j);
                free(raw);
                digits_free(d);
                return -1;
            }
            if (j < DIGITS_PIXELS)
                d->x[i * DIGITS_PIXELS + (size_t)j] = (float)v / 16.0f;
            else
                d->y[i] = v;
            p = end + 1;
        }
    }
    d->n = rows;
    free(raw);
    return 0;
}

void digits_free(digits *d)
{
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}

void digits_permutation(int64_t *perm, size_t n, uint64_t seed)
{
    ckpt_rng rng;
    ckpt_rng_seed(&rng, seed);
    for (size_t i = 0; i < n; i++)
        perm[i] = (int64_t)i;
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(ckpt_rng_uniform(&rng) * (double)i);
        if (j >= i)
            j = i - 1;
        int64_t t = perm[i - 1];
        perm[i - 1] = perm[j];
        perm[j] = t;
    }
}
