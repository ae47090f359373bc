/* src/onnx/ops_shape.c - ONNX kernels: shapes, indexing, data movement.
 *
 * This file holds the kernel table, the shared helpers of shape_util.h and
 * the kernels that only compute shapes or constants (Reshape, Shape, Size,
 * Flatten, Squeeze, Unsqueeze, Identity, Constant, ConstantOfShape, Range,
 * EyeLike).  Views (Reshape, Squeeze, Unsqueeze, Flatten, Identity) share
 * the input's data with ox_alias.  Data movement is in shape_move.c,
 * indexing in shape_index.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__SSE2__)
#include <xmmintrin.h>
#endif

#include "core/err.h"
#include "onnx/onnx_internal.h"
#include "onnx/shape_util.h"

/* ------------------------------------------------------------ helpers */

int oxs_need_tensor(const ox_node *n, ox_val *const *in, int k, ckpt_error *err)
{
    if (k >= n->n_in || !in[k])
        return ox_fail(err, CKPT_E_ARG, n, "input %d is missing", k);
    if (in[k]->kind != OX_KIND_TENSOR)
        return ox_fail(err, CKPT_E_ARG, n, "input %d is not a tensor", k);
    return 0;
}

int oxs_prepare_out0(ox_node *n, ckpt_error *err)
{
    if (n->n_out < 1 || n->out[0] < 0)
        return ox_fail(err, CKPT_E_ARG, n, "output 0 is omitted");
    return 0;
}

int oxs_own_strings(const ox_node *n, ox_val *v, ckpt_error *err)
{
    if (!v || v->kind != OX_KIND_TENSOR || v->dtype != OX_STRING)
        return 0;
    char **s = v->data;
    for (int64_t i = 0; i < v->numel; i++) {
        char *d = strdup(s[i] ? s[i] : "");
        if (!d) {
            for (int64_t j = i; j < v->numel; j++)
                s[j] = NULL;
            return ox_fail(err, CKPT_E_NOMEM, n, "out of memory copying strings");
        }
        s[i] = d;
    }
    return 0;
}

void oxs_fill(void *dst, const void *val, int64_t n, size_t es)
{
    if (n <= 0)
        return;
    unsigned char *d = dst;
    bool zero = true;
    for (size_t b = 0; b < es; b++)
        if (((const unsigned char *)val)[b])
            zero = false;
    if (zero) {
        memset(d, 0, (size_t)n * es);
        return;
    }
    switch (es) {
    case 1: memset(d, *(const unsigned char *)val, (size_t)n); return;
    case 2: {
        uint16_t x;
        memcpy(&x, val, 2);
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = x;
        return;
    }
    case 4: {
        uint32_t x;
        memcpy(&x, val, 4);
        for (int64_t i = 0; i < n; i++)
            ((uint32_t *)dst)[i] = x;
        return;
    }
    case 8: {
        uint64_t x;
        memcpy(&x, val, 8);
        for (int64_t i = 0; i < n; i++)
            ((uint64_t *)dst)[i] = x;
        return;
    }
    default:
        for (int64_t i = 0; i < n; i++)
            memcpy(d + (size_t)i * es, val, es);
    }
}

/* Copy an inner run of `len` elements with source stride `st` (elements). */
#define OXS_RUN(T)                                                                               \
    do {                                                                                         \
        T *dp = (T *)d;                                                                          \
        const T *sp = (const T *)s;                                                              \
        for (int64_t j = 0; j < len; j++)                                                        \
            dp[j] = sp[j * st];                                                                  \
    } while (0)

static void run_copy(unsigned char *d, const unsigned char *s, int64_t len, int64_t st, size_t es)
{
    switch (es) {
    case 1: OXS_RUN(uint8_t); break;
    case 2: OXS_RUN(uint16_t); break;
    case 4: OXS_RUN(uint32_t); break;
    case 8: OXS_RUN(uint64_t); break;
    default:
        for (int64_t j = 0; j < len; j++)
            memcpy(d + (size_t)j * es, s + j * st * (ptrdiff_t)es, es);
    }
}

/* A rows x cols block: dst[i*cols + j] = src[i*rs + j*cs], in cache tiles. */
#define OXS_TILE 32
#define OXS_TILE_COPY(T)                                                                         \
    do {                                                                                         \
        T *dp = (T *)dst;                                                                        \
        const T *sp = (const T *)src;                                                            \
        for (int64_t i0 = 0; i0 < rows; i0 += OXS_TILE)                                          \
            for (int64_t j0 = 0; j0 < cols; j0 += OXS_TILE) {                                    \
                int64_t i1 = i0 + OXS_TILE < rows ? i0 + OXS_TILE : rows;                        \
                int64_t j1 = j0 + OXS_TILE < cols ? j0 + OXS_TILE : cols;                        \
                for (int64_t i = i0; i < i1; i++)                                                \
                    for (int64_t j = j0; j < j1; j++)                                            \
                        dp[i * cols + j] = sp[i * rs + j * cs];                                  \
            }                                                                                    \
    } while (0)

#if defined(__SSE2__)
/* 4-byte elements, rs == 1: 4x4 blocks transposed in registers (moves and
 * shuffles only, so any 4-byte pattern, NaN payloads included, is kept). */
static void tile_copy4(uint32_t *dst, const uint32_t *src, int64_t rows, int64_t cols, int64_t cs)
{
    for (int64_t i0 = 0; i0 < rows; i0 += OXS_TILE)
        for (int64_t j0 = 0; j0 < cols; j0 += OXS_TILE) {
            int64_t i1 = i0 + OXS_TILE < rows ? i0 + OXS_TILE : rows;
            int64_t j1 = j0 + OXS_TILE < cols ? j0 + OXS_TILE : cols;
            int64_t i = i0;
            for (; i + 4 <= i1; i += 4) {
                int64_t j = j0;
                for (; j + 4 <= j1; j += 4) {
                    const uint32_t *sp = src + i + j * cs;
                    __m128 r0 = _mm_loadu_ps((const float *)sp);
                    __m128 r1 = _mm_loadu_ps((const float *)(sp + cs));
                    __m128 r2 = _mm_loadu_ps((const float *)(sp + 2 * cs));
                    __m128 r3 = _mm_loadu_ps((const float *)(sp + 3 * cs));
                    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
                    uint32_t *dp = dst + i * cols + j;
                    _mm_storeu_ps((float *)dp, r0);
                    _mm_storeu_ps((float *)(dp + cols), r1);
                    _mm_storeu_ps((float *)(dp + 2 * cols), r2);
                    _mm_storeu_ps((float *)(dp + 3 * cols), r3);
                }
                for (; j < j1; j++)
                    for (int64_t ii = i; ii < i + 4; ii++)
                        dst[ii * cols + j] = src[ii + j * cs];
            }
            for (; i < i1; i++)
                for (int64_t j = j0; j < j1; j++)
                    dst[i * cols + j] = src[i + j * cs];
        }
}
#endif

static void tile_copy(void *dst, const void *src, int64_t rows, int64_t cols, int64_t rs,
                      int64_t cs, size_t es)
{
#if defined(__SSE2__)
    if (es == 4 && rs == 1) {
        tile_copy4(dst, src, rows, cols, cs);
        return;
    }
#endif
    switch (es) {
    case 1: OXS_TILE_COPY(uint8_t); break;
    case 2: OXS_TILE_COPY(uint16_t); break;
    case 4: OXS_TILE_COPY(uint32_t); break;
    case 8: OXS_TILE_COPY(uint64_t); break;
    default:
        for (int64_t i = 0; i < rows; i++)
            run_copy((unsigned char *)dst + (size_t)(i * cols) * es,
                     (const unsigned char *)src + i * rs * (ptrdiff_t)es, cols, cs, es);
    }
}

void oxs_strided_copy(void *dst, const void *src, int rank, const int64_t *dims,
                      const int64_t *sstr, size_t es)
{
    int64_t d[OXS_MAX_VIEW], s[OXS_MAX_VIEW];
    int k = 0;
    for (int i = 0; i < rank; i++)
        if (dims[i] == 0)
            return;
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 1)
            continue;
        if (k > 0 && s[k - 1] == sstr[i] * dims[i]) {
            d[k - 1] *= dims[i];
            s[k - 1] = sstr[i];
        } else {
            d[k] = dims[i];
            s[k] = sstr[i];
            k++;
        }
    }
    unsigned char *out = dst;
    const unsigned char *in = src;
    if (k == 0) {
        memcpy(out, in, es);
        return;
    }
    /* the inner block handled per outer index: a contiguous run, a tiled
     * transposed pair, or a strided run */
    int inner; /* dims consumed by the inner block */
    int64_t block;
    int mode;
    if (s[k - 1] == 1) {
        mode = 0;
        inner = 1;
        block = d[k - 1];
    } else if (k >= 2 && s[k - 2] == 1 && d[k - 1] >= 4 && d[k - 2] >= 4) {
        mode = 1;
        inner = 2;
        block = d[k - 1] * d[k - 2];
    } else {
        mode = 2;
        inner = 1;
        block = d[k - 1];
    }
    int outer = k - inner;
    /* short contiguous runs (attention heads of 16..64 floats): fixed-size
     * 16-byte moves instead of a memcpy call per run */
    size_t bytes = (size_t)block * es;
    bool small16 = bytes % 16 == 0 && bytes <= 256;
    int64_t cnt[OXS_MAX_VIEW] = {0};
    int64_t off = 0;
    for (;;) {
        const unsigned char *sp = in + off * (ptrdiff_t)es;
        if (mode == 0 && small16) {
            for (size_t b = 0; b < bytes; b += 16)
                memcpy(out + b, sp + b, 16);
        } else if (mode == 0)
            memcpy(out, sp, bytes);
        else if (mode == 1)
            tile_copy(out, sp, d[k - 2], d[k - 1], s[k - 2], s[k - 1], es);
        else
            run_copy(out, sp, block, s[k - 1], es);
        out += (size_t)block * es;
        int a = outer - 1;
        while (a >= 0) {
            off += s[a];
            if (++cnt[a] < d[a])
                break;
            off -= s[a] * d[a];
            cnt[a] = 0;
            a--;
        }
        if (a < 0)
            break;
    }
}

static void msort_rec(int64_t *idx, int64_t *tmp, int64_t n, oxs_cmp_fn cmp, const void *ctx)
{
    if (n < 2)
        return;
    if (n <= 12) {
        for (int64_t i = 1; i < n; i++) {
            int64_t x = idx[i], j = i;
            while (j > 0 && cmp(ctx, x, idx[j - 1]) < 0) {
                idx[j] = idx[j - 1];
                j--;
            }
            idx[j] = x;
        }
        return;
    }
    int64_t h = n / 2;
    msort_rec(idx, tmp, h, cmp, ctx);
    msort_rec(idx + h, tmp, n - h, cmp, ctx);
    if (cmp(ctx, idx[h], idx[h - 1]) >= 0)
        return;
    memcpy(tmp, idx, (size_t)h * sizeof *tmp);
    int64_t i = 0, j = h, o = 0;
    while (i < h && j < n)
        idx[o++] = cmp(ctx, idx[j], tmp[i]) < 0 ? idx[j++] : tmp[i++];
    while (i < h)
        idx[o++] = tmp[i++];
}

void oxs_msort(int64_t *idx, int64_t *tmp, int64_t n, oxs_cmp_fn cmp, const void *ctx)
{
    msort_rec(idx, tmp, n, cmp, ctx);
}

#define OXS_CMP(T)                                                                               \
    do {                                                                                         \
        T x = ((const T *)pa)[a], y = ((const T *)pb)[b];                                        \
        return x < y ? -1 : x > y ? 1 : 0;                                                       \
    } while (0)

static int cmp_double(double x, double y)
{
    if (isnan(x) || isnan(y))
        return isnan(x) ? (isnan(y) ? 0 : 1) : -1;
    return x < y ? -1 : x > y ? 1 : 0;
}

int oxs_cmp_elem(int dtype, const void *pa, int64_t a, const void *pb, int64_t b)
{
    switch (dtype) {
    case OX_FLOAT:
        return cmp_double((double)((const float *)pa)[a], (double)((const float *)pb)[b]);
    case OX_DOUBLE: return cmp_double(((const double *)pa)[a], ((const double *)pb)[b]);
    case OX_FLOAT16:
        return cmp_double((double)ox_half_to_float(((const uint16_t *)pa)[a]),
                          (double)ox_half_to_float(((const uint16_t *)pb)[b]));
    case OX_BFLOAT16:
        return cmp_double((double)ox_bf16_to_float(((const uint16_t *)pa)[a]),
                          (double)ox_bf16_to_float(((const uint16_t *)pb)[b]));
    case OX_INT8: OXS_CMP(int8_t);
    case OX_UINT8:
    case OX_BOOL: OXS_CMP(uint8_t);
    case OX_INT16: OXS_CMP(int16_t);
    case OX_UINT16: OXS_CMP(uint16_t);
    case OX_INT32: OXS_CMP(int32_t);
    case OX_UINT32: OXS_CMP(uint32_t);
    case OX_INT64: OXS_CMP(int64_t);
    case OX_UINT64: OXS_CMP(uint64_t);
    case OX_STRING: {
        const char *x = ((char *const *)pa)[a], *y = ((char *const *)pb)[b];
        int c = strcmp(x ? x : "", y ? y : "");
        return c < 0 ? -1 : c > 0;
    }
    default: {
        size_t es = ox_dtype_size(dtype);
        int c = memcmp((const char *)pa + (size_t)a * es, (const char *)pb + (size_t)b * es, es);
        return c < 0 ? -1 : c > 0;
    }
    }
}

int oxs_reduction(const ox_node *n, int *red, ckpt_error *err)
{
    const char *s = ox_attr_str(n, "reduction", "none");
    if (!strcmp(s, "none"))
        *red = OXS_RED_NONE;
    else if (!strcmp(s, "add"))
        *red = OXS_RED_ADD;
    else if (!strcmp(s, "mul"))
        *red = OXS_RED_MUL;
    else if (!strcmp(s, "max"))
        *red = OXS_RED_MAX;
    else if (!strcmp(s, "min"))
        *red = OXS_RED_MIN;
    else
        return ox_fail(err, CKPT_E_ARG, n, "unknown reduction '%s'", s);
    return 0;
}

#define OXS_RED(T)                                                                               \
    do {                                                                                         \
        T *dp = (T *)dst;                                                                        \
        T y = ((const T *)src)[si];                                                              \
        switch (red) {                                                                           \
        case OXS_RED_ADD: dp[di] = (T)(dp[di] + y); break;                                       \
        case OXS_RED_MUL: dp[di] = (T)(dp[di] * y); break;                                       \
        case OXS_RED_MAX: dp[di] = dp[di] > y ? dp[di] : y; break;                               \
        case OXS_RED_MIN: dp[di] = dp[di] < y ? dp[di] : y; break;                               \
        default: dp[di] = y;                                                                     \
        }                                                                                        \
    } while (0)

static float red_f(int red, float x, float y)
{
    switch (red) {
    case OXS_RED_ADD: return x + y;
    case OXS_RED_MUL: return x * y;
    case OXS_RED_MAX: return x > y ? x : y;
    case OXS_RED_MIN: return x < y ? x : y;
    default: return y;
    }
}

void oxs_reduce_elem(int dtype, int red, void *dst, int64_t di, const void *src, int64_t si)
{
    switch (dtype) {
    case OX_FLOAT: OXS_RED(float); break;
    case OX_DOUBLE: OXS_RED(double); break;
    case OX_INT8: OXS_RED(int8_t); break;
    case OX_UINT8: OXS_RED(uint8_t); break;
    case OX_INT16: OXS_RED(int16_t); break;
    case OX_UINT16: OXS_RED(uint16_t); break;
    case OX_INT32: OXS_RED(int32_t); break;
    case OX_UINT32: OXS_RED(uint32_t); break;
    case OX_INT64: OXS_RED(int64_t); break;
    case OX_UINT64: OXS_RED(uint64_t); break;
    case OX_BOOL: {
        uint8_t *dp = dst;
        uint8_t y = ((const uint8_t *)src)[si];
        switch (red) {
        case OXS_RED_ADD:
        case OXS_RED_MAX: dp[di] = dp[di] || y; break;
        case OXS_RED_MUL:
        case OXS_RED_MIN: dp[di] = dp[di] && y; break;
        default: dp[di] = y;
        }
        break;
    }
    case OX_FLOAT16: {
        uint16_t *dp = dst;
        uint16_t y = ((const uint16_t *)src)[si];
        dp[di] = red == OXS_RED_NONE ? y
                                     : ox_float_to_half(red_f(red, ox_half_to_float(dp[di]),
                                                              ox_half_to_float(y)));
        break;
    }
    case OX_BFLOAT16: {
        uint16_t *dp = dst;
        uint16_t y = ((const uint16_t *)src)[si];
        dp[di] = red == OXS_RED_NONE ? y
                                     : ox_float_to_bf16(red_f(red, ox_bf16_to_float(dp[di]),
                                                              ox_bf16_to_float(y)));
        break;
    }
    default: {
        size_t es = ox_dtype_size(dtype);
        memcpy((char *)dst + (size_t)di * es, (const char *)src + (size_t)si * es, es);
    }
    }
}

/* ------------------------------------------------------------ views */

static int k_identity(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    if (n->n_in < 1 || !in[0]) {
        /* an omitted optional input passes on as an empty optional */
        if (out[0]) {
            ox_val_clear(out[0]);
            out[0]->kind = OX_KIND_NONE;
        }
        return 0;
    }
    if (in[0]->kind != OX_KIND_TENSOR)
        return ox_val_copy(out[0], in[0], err);
    return ox_alias(r, n, out[0], in[0], in[0]->rank, in[0]->dims, err);
}

/* Reshape: 0 copies the input's dim (unless allowzero), -1 is inferred. */
static int k_reshape(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                     ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    int64_t shape[OX_MAX_RANK];
    int64_t rank;
    if (n->opset < 5) {
        size_t c;
        const int64_t *s = ox_attr_ints(n, "shape", &c);
        if (c > OX_MAX_RANK)
            return ox_fail(err, CKPT_E_LIMIT, n, "rank %zu (at most %d)", c, OX_MAX_RANK);
        for (size_t i = 0; i < c; i++)
            shape[i] = s[i];
        rank = (int64_t)c;
    } else {
        CKPT_TRY(oxs_need_tensor(n, in, 1, err));
        rank = ox_read_ints(n, in[1], shape, OX_MAX_RANK, err);
        if (rank < 0)
            return (int)rank;
    }
    bool allowzero = n->opset >= 14 && ox_attr_int(n, "allowzero", 0) != 0;
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < (int)rank; i++) {
        if (shape[i] == 0 && !allowzero) {
            if (i >= x->rank)
                return ox_fail(err, CKPT_E_SHAPE, n, "shape[%d] = 0 copies a dim the input lacks",
                               i);
            shape[i] = x->dims[i];
        }
        if (shape[i] == -1) {
            if (infer >= 0)
                return ox_fail(err, CKPT_E_SHAPE, n, "more than one -1 in the shape");
            infer = i;
            continue;
        }
        if (shape[i] < 0)
            return ox_fail(err, CKPT_E_SHAPE, n, "shape[%d] = %lld", i, (long long)shape[i]);
        if (shape[i] && known > INT64_MAX / shape[i])
            return ox_fail(err, CKPT_E_SHAPE, n, "shape overflows");
        known *= shape[i];
    }
    if (infer >= 0) {
        if (known == 0 || x->numel % known)
            return ox_fail(err, CKPT_E_SHAPE, n, "cannot infer -1: %lld elements into %lld",
                           (long long)x->numel, (long long)known);
        shape[infer] = x->numel / known;
    }
    return ox_alias(r, n, out[0], x, (int)rank, shape, err);
}

static int k_flatten(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                     ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    /* axis in [-r, r]; a negative one counts from the end (axis + r) */
    int64_t a = ox_attr_int(n, "axis", 1);
    if (a < -x->rank || a > x->rank)
        return ox_fail(err, CKPT_E_ARG, n, "axis %lld out of range for rank %d", (long long)a,
                       x->rank);
    int axis = (int)(a < 0 ? a + x->rank : a);
    int64_t dims[2] = {oxs_prod(x->dims, 0, axis), oxs_prod(x->dims, axis, x->rank)};
    return ox_alias(r, n, out[0], x, 2, dims, err);
}

/* Axes of Squeeze / Unsqueeze: an attribute before opset 13, an input after.
 * *count = -1 when none are given. */
static int read_axes(const ox_node *n, ox_val *const *in, int k, int64_t *axes, int64_t *count,
                     ckpt_error *err)
{
    *count = -1;
    if (n->opset < 13) {
        size_t c;
        const int64_t *a = ox_attr_ints(n, "axes", &c);
        if (!a)
            return 0;
        if (c > OX_MAX_RANK)
            return ox_fail(err, CKPT_E_LIMIT, n, "%zu axes", c);
        memcpy(axes, a, c * sizeof *axes);
        *count = (int64_t)c;
        return 0;
    }
    if (k >= n->n_in || !in[k])
        return 0;
    int64_t c = ox_read_ints(n, in[k], axes, OX_MAX_RANK, err);
    if (c < 0)
        return (int)c;
    *count = c;
    return 0;
}

static int k_squeeze(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                     ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    int64_t axes[OX_MAX_RANK];
    int64_t na;
    CKPT_TRY(read_axes(n, in, 1, axes, &na, err));
    bool drop[OX_MAX_RANK] = {false};
    if (na <= 0) { /* no axes (or an empty axes input, as ORT): every dim of 1 */
        for (int i = 0; i < x->rank; i++)
            drop[i] = x->dims[i] == 1;
    } else {
        for (int64_t i = 0; i < na; i++) {
            int a;
            CKPT_TRY(ox_axis(n, axes[i], x->rank, false, &a, err));
            if (x->dims[a] != 1)
                return ox_fail(err, CKPT_E_SHAPE, n, "cannot squeeze axis %d of size %lld", a,
                               (long long)x->dims[a]);
            drop[a] = true;
        }
    }
    int64_t dims[OX_MAX_RANK];
    int rank = 0;
    for (int i = 0; i < x->rank; i++)
        if (!drop[i])
            dims[rank++] = x->dims[i];
    return ox_alias(r, n, out[0], x, rank, dims, err);
}

static int k_unsqueeze(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    int64_t axes[OX_MAX_RANK];
    int64_t na;
    CKPT_TRY(read_axes(n, in, 1, axes, &na, err));
    if (na < 0)
        return ox_fail(err, CKPT_E_ARG, n, "axes are required");
    int orank = x->rank + (int)na;
    if (orank > OX_MAX_RANK)
        return ox_fail(err, CKPT_E_LIMIT, n, "rank %d (at most %d)", orank, OX_MAX_RANK);
    bool ins[OX_MAX_RANK] = {false};
    for (int64_t i = 0; i < na; i++) {
        int a;
        CKPT_TRY(ox_axis(n, axes[i], orank, false, &a, err));
        if (ins[a])
            return ox_fail(err, CKPT_E_ARG, n, "axis %d repeated", a);
        ins[a] = true;
    }
    int64_t dims[OX_MAX_RANK];
    for (int i = 0, k = 0; i < orank; i++)
        dims[i] = ins[i] ? 1 : x->dims[k++];
    return ox_alias(r, n, out[0], x, orank, dims, err);
}

/* ------------------------------------------------------------ shapes and constants */

static int k_shape(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                   ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    int64_t start = 0, end = x->rank;
    if (n->opset >= 15) {
        start = ox_attr_int(n, "start", 0);
        end = ox_attr_int(n, "end", x->rank);
        if (start < 0)
            start += x->rank;
        if (end < 0)
            end += x->rank;
        start = start < 0 ? 0 : start > x->rank ? x->rank : start;
        end = end < 0 ? 0 : end > x->rank ? x->rank : end;
    }
    int64_t len = end > start ? end - start : 0;
    CKPT_TRY(ox_out(r, n, out[0], OX_INT64, 1, &len, err));
    if (len)
        memcpy(out[0]->data, x->dims + start, (size_t)len * sizeof(int64_t));
    return 0;
}

static int k_size(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    CKPT_TRY(ox_out(r, n, out[0], OX_INT64, 0, NULL, err));
    memcpy(out[0]->data, &in[0]->numel, sizeof(int64_t));
    return 0;
}

static int k_constant(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    (void)in;
    const ox_val *t = ox_attr_tensor(n, "value");
    if (t)
        return ox_alias(r, n, out[0], t, t->rank, t->dims, err);
    const ox_attr *a;
    if ((a = ox_attr_get(n, "value_float")) != NULL) {
        CKPT_TRY(ox_out(r, n, out[0], OX_FLOAT, 0, NULL, err));
        memcpy(out[0]->data, &a->f, sizeof(float));
        return 0;
    }
    if ((a = ox_attr_get(n, "value_int")) != NULL) {
        CKPT_TRY(ox_out(r, n, out[0], OX_INT64, 0, NULL, err));
        memcpy(out[0]->data, &a->i, sizeof(int64_t));
        return 0;
    }
    if ((a = ox_attr_get(n, "value_floats")) != NULL) {
        int64_t c = (int64_t)a->n;
        CKPT_TRY(ox_out(r, n, out[0], OX_FLOAT, 1, &c, err));
        if (c)
            memcpy(out[0]->data, a->floats, a->n * sizeof(float));
        return 0;
    }
    if ((a = ox_attr_get(n, "value_ints")) != NULL) {
        int64_t c = (int64_t)a->n;
        CKPT_TRY(ox_out(r, n, out[0], OX_INT64, 1, &c, err));
        if (c)
            memcpy(out[0]->data, a->ints, a->n * sizeof(int64_t));
        return 0;
    }
    if ((a = ox_attr_get(n, "value_string")) != NULL) {
        CKPT_TRY(ox_out(r, n, out[0], OX_STRING, 0, NULL, err));
        ((char **)out[0]->data)[0] = a->s;
        return oxs_own_strings(n, out[0], err);
    }
    if ((a = ox_attr_get(n, "value_strings")) != NULL) {
        int64_t c = (int64_t)a->n;
        CKPT_TRY(ox_out(r, n, out[0], OX_STRING, 1, &c, err));
        for (size_t i = 0; i < a->n; i++)
            ((char **)out[0]->data)[i] = a->strings[i];
        return oxs_own_strings(n, out[0], err);
    }
    if (ox_attr_get(n, "sparse_value"))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "sparse_value constants are not supported");
    return ox_fail(err, CKPT_E_ARG, n, "no value attribute");
}

/* The dims of a 1-D int64 shape input (ConstantOfShape, Expand). */
static int read_shape(const ox_node *n, const ox_val *v, int64_t *dims, int *rank,
                      ckpt_error *err)
{
    if (v->rank > 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "the shape input has rank %d", v->rank);
    int64_t c = ox_read_ints(n, v, dims, OX_MAX_RANK, err);
    if (c < 0)
        return (int)c;
    for (int64_t i = 0; i < c; i++)
        if (dims[i] < 0)
            return ox_fail(err, CKPT_E_SHAPE, n, "negative dim %lld", (long long)dims[i]);
    *rank = (int)c;
    return 0;
}

static int k_constant_of_shape(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                               ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    int64_t dims[OX_MAX_RANK];
    int rank = 0;
    CKPT_TRY(read_shape(n, in[0], dims, &rank, err));
    const ox_val *v = ox_attr_tensor(n, "value");
    if (v && v->numel != 1)
        return ox_fail(err, CKPT_E_ARG, n, "value has %lld elements (want 1)",
                       (long long)v->numel);
    int dt = v ? v->dtype : OX_FLOAT;
    CKPT_TRY(ox_out(r, n, out[0], dt, rank, dims, err));
    size_t es = ox_dtype_size(dt);
    if (v) {
        oxs_fill(out[0]->data, v->data, out[0]->numel, es);
        return oxs_own_strings(n, out[0], err);
    }
    memset(out[0]->data, 0, (size_t)out[0]->numel * es);
    return 0;
}

#define RANGE_INT(T)                                                                             \
    do {                                                                                         \
        int64_t s0 = *(const T *)in[0]->data, l0 = *(const T *)in[1]->data,                      \
                d0 = *(const T *)in[2]->data, span, q;                                           \
        if (d0 == 0)                                                                             \
            return ox_fail(err, CKPT_E_ARG, n, "delta is 0");                                    \
        if (__builtin_sub_overflow(l0, s0, &span))                                               \
            return ox_fail(err, CKPT_E_LIMIT, n, "limit - start overflows");                     \
        if (d0 > 0)                                                                              \
            q = span > 0 ? (span - 1) / d0 : -1;                                                 \
        else                                                                                     \
            q = span < 0 ? (span + 1) / d0 : -1;                                                 \
        if (q >= INT64_MAX / 2)                                                                  \
            return ox_fail(err, CKPT_E_LIMIT, n, "too many elements");                           \
        int64_t cnt = q + 1;                                                                     \
        CKPT_TRY(ox_out(r, n, out[0], dt, 1, &cnt, err));                                        \
        T *o = out[0]->data;                                                                     \
        for (int64_t i = 0; i < cnt; i++)                                                        \
            o[i] = (T)(s0 + i * d0);                                                             \
    } while (0)

static int k_range(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                   ckpt_error *err)
{
    for (int k = 0; k < 3; k++) {
        CKPT_TRY(oxs_need_tensor(n, in, k, err));
        if (in[k]->numel != 1 || in[k]->dtype != in[0]->dtype)
            return ox_fail(err, CKPT_E_ARG, n, "input %d must be a scalar of the start's type",
                           k);
    }
    int dt = in[0]->dtype;
    switch (dt) {
    case OX_INT16: RANGE_INT(int16_t); return 0;
    case OX_INT32: RANGE_INT(int32_t); return 0;
    case OX_INT64: RANGE_INT(int64_t); return 0;
    case OX_FLOAT:
    case OX_DOUBLE: {
        double s0 = ox_get_f64(in[0], 0), l0 = ox_get_f64(in[1], 0), d0 = ox_get_f64(in[2], 0);
        if (d0 == 0 || !isfinite(s0) || !isfinite(l0) || !isfinite(d0))
            return ox_fail(err, CKPT_E_ARG, n,
                           "start, limit and delta must be finite, delta != 0");
        /* the span in the element type, as ONNX Runtime computes the count */
        double span = dt == OX_FLOAT ? (double)((float)l0 - (float)s0) : l0 - s0;
        double c = ceil(span / d0);
        if (c > 1e15)
            return ox_fail(err, CKPT_E_LIMIT, n, "%g elements", c);
        int64_t cnt = c > 0 ? (int64_t)c : 0;
        CKPT_TRY(ox_out(r, n, out[0], dt, 1, &cnt, err));
        /* values accumulate delta in the element type: the spec's own
         * definition (a Loop adding delta) and what ONNX Runtime does */
        if (dt == OX_FLOAT) {
            float v = (float)s0, fd = (float)d0;
            float *o = out[0]->data;
            for (int64_t i = 0; i < cnt; i++, v += fd)
                o[i] = v;
        } else {
            double v = s0;
            double *o = out[0]->data;
            for (int64_t i = 0; i < cnt; i++, v += d0)
                o[i] = v;
        }
        return 0;
    }
    default: return ox_fail(err, CKPT_E_UNSUPPORTED, n, "element type %s", ox_dtype_name(dt));
    }
}

static int k_eyelike(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                     ckpt_error *err)
{
    CKPT_TRY(oxs_need_tensor(n, in, 0, err));
    const ox_val *x = in[0];
    if (x->rank != 2)
        return ox_fail(err, CKPT_E_SHAPE, n, "input must be 2-D (rank %d)", x->rank);
    int dt = (int)ox_attr_int(n, "dtype", x->dtype);
    if (!ox_dtype_size(dt) || dt == OX_STRING)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "dtype %d", dt);
    int64_t k = ox_attr_int(n, "k", 0);
    CKPT_TRY(ox_out(r, n, out[0], dt, 2, x->dims, err));
    memset(out[0]->data, 0, ox_val_nbytes(out[0]));
    for (int64_t i = 0; i < x->dims[0]; i++) {
        if (k >= x->dims[1] || k <= -x->dims[0])
            break;
        int64_t j = i + k;
        if (j >= 0 && j < x->dims[1])
            ox_set_f64(out[0], i * x->dims[1] + j, 1.0);
    }
    return 0;
}

/* ------------------------------------------------------------ table */

const ox_op ox_ops_shape[] = {
    {"Identity", "", 1, 0, k_identity, oxs_prepare_out0},
    {"Constant", "", 1, 0, k_constant, oxs_prepare_out0},
    {"Reshape", "", 1, 0, k_reshape, oxs_prepare_out0},
    {"Flatten", "", 1, 0, k_flatten, oxs_prepare_out0},
    {"Squeeze", "", 1, 0, k_squeeze, oxs_prepare_out0},
    {"Unsqueeze", "", 1, 0, k_unsqueeze, oxs_prepare_out0},
    {"Shape", "", 1, 0, k_shape, oxs_prepare_out0},
    {"Size", "", 1, 0, k_size, oxs_prepare_out0},
    {"ConstantOfShape", "", 9, 0, k_constant_of_shape, oxs_prepare_out0},
    {"Range", "", 11, 0, k_range, oxs_prepare_out0},
    {"EyeLike", "", 9, 0, k_eyelike, oxs_prepare_out0},
    {"Transpose", "", 1, 0, oxs_transpose, oxs_prepare_out0},
    {"Concat", "", 1, 0, oxs_concat, oxs_prepare_out0},
    {"Split", "", 1, 0, oxs_split, NULL},
    {"Slice", "", 1, 0, oxs_slice, oxs_prepare_out0},
    {"Expand", "", 8, 0, oxs_expand, oxs_prepare_out0},
    {"Tile", "", 1, 0, oxs_tile, oxs_prepare_out0},
    {"Pad", "", 1, 0, oxs_pad, oxs_prepare_out0},
    {"DepthToSpace", "", 1, 0, oxs_depth_to_space, oxs_prepare_out0},
    {"SpaceToDepth", "", 1, 0, oxs_space_to_depth, oxs_prepare_out0},
    {"Trilu", "", 14, 0, oxs_trilu, oxs_prepare_out0},
    {"ReverseSequence", "", 10, 0, oxs_reverse_sequence, oxs_prepare_out0},
    {"Gather", "", 1, 0, oxs_gather, oxs_prepare_out0},
    {"GatherElements", "", 11, 0, oxs_gather_elements, oxs_prepare_out0},
    {"GatherND", "", 11, 0, oxs_gather_nd, oxs_prepare_out0},
    {"Scatter", "", 9, 0, oxs_scatter_elements, oxs_prepare_out0},
    {"ScatterElements", "", 11, 0, oxs_scatter_elements, oxs_prepare_out0},
    {"ScatterND", "", 11, 0, oxs_scatter_nd, oxs_prepare_out0},
    {"OneHot", "", 9, 0, oxs_onehot, oxs_prepare_out0},
    {"NonZero", "", 9, 0, oxs_nonzero, oxs_prepare_out0},
    {"Compress", "", 9, 0, oxs_compress, oxs_prepare_out0},
    {"Unique", "", 11, 0, oxs_unique, oxs_prepare_out0},
    {"CumSum", "", 11, 0, oxs_cumsum, oxs_prepare_out0},
    {"TopK", "", 1, 0, oxs_topk, oxs_prepare_out0},
    {0},
};
