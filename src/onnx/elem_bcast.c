/* src/onnx/elem_bcast.c - the one broadcasting iterator of the element-wise
 * kernels, and float16/bfloat16 block conversions. */
#include "onnx/elem_util.h"

void ox_ew_run(int orank, const int64_t *odims, void *o, size_t oesize, const ox_ew_operand *in,
               int nin, ox_ew_fn fn, const void *ctx)
{
    int64_t total = 1;
    for (int i = 0; i < orank; i++)
        total *= odims[i];
    if (total <= 0)
        return;

    /* per input: element strides of each output dim (0 where broadcast) */
    int64_t st[OX_EW_MAX_IN][OX_MAX_RANK];
    for (int k = 0; k < nin; k++) {
        int off = orank - in[k].rank;
        int64_t s = 1;
        for (int i = orank - 1; i >= 0; i--) {
            int64_t d = i >= off ? in[k].dims[i - off] : 1;
            st[k][i] = d == 1 ? 0 : s;
            s *= d;
        }
    }

    /* drop size-1 output dims and merge neighbours that step alike, from the inside out */
    int64_t cd[OX_MAX_RANK], cs[OX_EW_MAX_IN][OX_MAX_RANK];
    int m = 0; /* collapsed dims, innermost first */
    for (int i = orank - 1; i >= 0; i--) {
        if (odims[i] == 1)
            continue;
        if (m > 0) {
            int ok = 1;
            for (int k = 0; k < nin && ok; k++)
                ok = st[k][i] == cs[k][m - 1] * cd[m - 1];
            if (ok) {
                cd[m - 1] *= odims[i];
                continue;
            }
        }
        cd[m] = odims[i];
        for (int k = 0; k < nin; k++)
            cs[k][m] = st[k][i];
        m++;
    }

    const void *ptr[OX_EW_MAX_IN];
    if (m == 0) {
        for (int k = 0; k < nin; k++)
            ptr[k] = in[k].data;
        fn(o, ptr, 1, 0, ctx);
        return;
    }
    unsigned bc = 0;
    for (int k = 0; k < nin; k++)
        if (cs[k][0] == 0)
            bc |= 1u << k;
    int64_t inner = cd[0];
    if (m == 1) {
        for (int k = 0; k < nin; k++)
            ptr[k] = in[k].data;
        fn(o, ptr, inner, bc, ctx);
        return;
    }

    /* odometer over the outer collapsed dims 1..m-1 */
    int64_t idx[OX_MAX_RANK] = {0};
    int64_t off[OX_EW_MAX_IN] = {0}; /* element offsets */
    char *po = o;
    int64_t rows = total / inner;
    for (int64_t r = 0; r < rows; r++) {
        for (int k = 0; k < nin; k++)
            ptr[k] = (const char *)in[k].data + (size_t)off[k] * in[k].esize;
        fn(po + (size_t)(r * inner) * oesize, ptr, inner, bc, ctx);
        for (int j = 1; j < m; j++) {
            idx[j]++;
            for (int k = 0; k < nin; k++)
                off[k] += cs[k][j];
            if (idx[j] < cd[j])
                break;
            for (int k = 0; k < nin; k++)
                off[k] -= cs[k][j] * cd[j];
            idx[j] = 0;
        }
    }
}

void ox_half_load(float *dst, const uint16_t *src, int64_t n, int dtype)
{
    if (dtype == OX_BFLOAT16) {
        for (int64_t i = 0; i < n; i++)
            dst[i] = ox_bf2f(src[i]);
    } else {
        for (int64_t i = 0; i < n; i++)
            dst[i] = ox_h2f(src[i]);
    }
}

void ox_half_store(uint16_t *dst, const float *src, int64_t n, int dtype)
{
    if (dtype == OX_BFLOAT16) {
        for (int64_t i = 0; i < n; i++)
            dst[i] = ox_f2bf(src[i]);
    } else {
        for (int64_t i = 0; i < n; i++)
            dst[i] = ox_f2h(src[i]);
    }
}
