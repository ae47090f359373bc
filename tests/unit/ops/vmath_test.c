/* tests/unit/ops/vmath_test.c - ckpt__expf (src/ops/vmath.h), the float exp
 * of the softmax kernels, against libm's double exp: relative error <= 4 ulp
 * (2^-21) over [-87, 88] on a dense grid, and the special values. */
#include <float.h>
#include <math.h>
#include <stdint.h>

#include "ops/vmath.h"
#include "util/test.h"

TEST(test_ops_vmath__expf_matches_exp)
{
    double worst = 0.0;
    float worst_x = 0.0f;
    for (int64_t i = 0; i <= 2000000; i++) {
        float x = (float)(-87.0 + 175.0 * (double)i / 2000000.0);
        double ref = exp((double)x);
        double got = (double)ckpt__expf(x);
        double rel = fabs(got - ref) / ref;
        if (rel > worst) {
            worst = rel;
            worst_x = x;
        }
    }
    if (worst > ldexp(1.0, -21))
        fprintf(stderr, "worst relative error %g at x = %.9g\n", worst, (double)worst_x);
    CHECK(worst <= ldexp(1.0, -21));
}

TEST(test_ops_vmath__expf_special_values)
{
    CHECK(ckpt__expf(0.0f) == 1.0f);
    CHECK(ckpt__expf(-INFINITY) == 0.0f);
    CHECK(ckpt__expf(-1000.0f) == 0.0f);
    CHECK(isinf(ckpt__expf(INFINITY)) && ckpt__expf(INFINITY) > 0.0f);
    CHECK(isinf(ckpt__expf(1000.0f)));
    CHECK(isnan(ckpt__expf(NAN)));
    /* near the ends of the range: finite, normal, monotone */
    CHECK(ckpt__expf(88.3f) <= FLT_MAX && ckpt__expf(88.3f) > ckpt__expf(88.0f));
    CHECK(ckpt__expf(-87.3f) >= FLT_MIN);
}

TEST_MAIN()
