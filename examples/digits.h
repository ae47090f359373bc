/* examples/digits.h - the 8x8 handwritten digits (UCI, as shipped by Debian's
 * python3-sklearn in sklearn/datasets/data/digits.csv.gz): 1797 rows of 64
 * pixel values 0..16 and a label 0..9, read with libdeflate's gzip decoder. */
#ifndef CKPT_EXAMPLES_DIGITS_H
#define CKPT_EXAMPLES_DIGITS_H

#include <stddef.h>
#include <stdint.h>

#include "ckpt/nn.h"

#define DIGITS_PIXELS 64
#define DIGITS_CLASSES 10
#define DIGITS_DEFAULT_PATH "/usr/lib/python3/dist-packages/sklearn/datasets/data/digits.csv.gz"

typedef struct digits {
    size_t n;   /* rows */
    float *x;   /* (n, 64), pixel / 16 */
    int64_t *y; /* (n) labels */
} digits;

/* Read `path` (NULL: DIGITS_DEFAULT_PATH).  Returns 0, or -1 with a message on
 * stderr. */
int digits_load(digits *d, const char *path);
void digits_free(digits *d);
/* A fixed permutation of 0..n-1 (Fisher-Yates over a ckpt_rng seeded with
 * `seed`). */
void digits_permutation(int64_t *perm, size_t n, uint64_t seed);

#endif
