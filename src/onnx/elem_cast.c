/* src/onnx/elem_cast.c - ONNX Cast / CastLike between every pair of
 * non-complex element types (strings included), and the linear
 * quantisation ops (QuantizeLinear, DequantizeLinear per tensor and per
 * axis, DynamicQuantizeLinear).
 *
 * Number -> string writes what numpy's str() writes for that type (the
 * shortest digits that read back to the same value; positional for
 * 1e-4 <= |x| < 1e16, else scientific: "0.039187793", "1e-05", "nan"),
 * which is how ONNX's test data was made.  float -> bfloat16 truncates, as
 * ONNX 1.12's reference does; float16 rounds to nearest even. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/elem_util.h"
#include "onnx/onnx_internal.h"

/* ------------------------------------------------------------ element access */

static int is_intlike(int dt)
{
    return ox_is_int(dt) || dt == OX_BOOL;
}

static int is_signed(int dt)
{
    return dt == OX_INT8 || dt == OX_INT16 || dt == OX_INT32 || dt == OX_INT64;
}

static double ld_f(const void *p, int dt, int64_t i)
{
    switch (dt) {
    case OX_FLOAT: return (double)((const float *)p)[i];
    case OX_DOUBLE: return ((const double *)p)[i];
    case OX_FLOAT16: return (double)ox_h2f(((const uint16_t *)p)[i]);
    case OX_BFLOAT16: return (double)ox_bf2f(((const uint16_t *)p)[i]);
    default: return 0.0;
    }
}

static int64_t ld_i(const void *p, int dt, int64_t i)
{
    switch (dt) {
    case OX_INT8: return ((const int8_t *)p)[i];
    case OX_UINT8: return ((const uint8_t *)p)[i];
    case OX_BOOL: return ((const uint8_t *)p)[i] != 0;
    case OX_INT16: return ((const int16_t *)p)[i];
    case OX_UINT16: return ((const uint16_t *)p)[i];
    case OX_INT32: return ((const int32_t *)p)[i];
    case OX_UINT32: return ((const uint32_t *)p)[i];
    case OX_INT64: return ((const int64_t *)p)[i];
    case OX_UINT64: return (int64_t)((const uint64_t *)p)[i];
    default: return 0;
    }
}

/* double -> int64 as x86 truncates (NaN / out of range: INT64_MIN), no UB */
static int64_t d2i(double d)
{
    if (!(d > -9223372036854775808.0 && d < 9223372036854775808.0))
        return INT64_MIN;
    return (int64_t)d;
}

/* double -> int32 as x86's 32-bit truncation (the narrow types convert through it) */
static int64_t d2i32(double d)
{
    if (!(d > -2147483649.0 && d < 2147483648.0))
        return INT32_MIN;
    return (int64_t)d;
}

static void st_i(void *p, int dt, int64_t i, int64_t v)
{
    switch (dt) {
    case OX_INT8: ((int8_t *)p)[i] = (int8_t)v; break;
    case OX_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case OX_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    case OX_INT16: ((int16_t *)p)[i] = (int16_t)v; break;
    case OX_UINT16: ((uint16_t *)p)[i] = (uint16_t)v; break;
    case OX_INT32: ((int32_t *)p)[i] = (int32_t)v; break;
    case OX_UINT32: ((uint32_t *)p)[i] = (uint32_t)v; break;
    case OX_INT64: ((int64_t *)p)[i] = v; break;
    case OX_UINT64: ((uint64_t *)p)[i] = (uint64_t)v; break;
    default: break;
    }
}

/* store a float value (given as double, and as float when the source was
 * float32 / half so float -> half rounds once) */
static void st_f(void *p, int dt, int64_t i, double d, int trunc_bf16)
{
    switch (dt) {
    case OX_FLOAT: ((float *)p)[i] = (float)d; break;
    case OX_DOUBLE: ((double *)p)[i] = d; break;
    case OX_FLOAT16: ((uint16_t *)p)[i] = ox_d2h(d); break;
    case OX_BFLOAT16:
        ((uint16_t *)p)[i] = trunc_bf16 ? ox_f2bf_trunc((float)d) : ox_f2bf((float)d);
        break;
    case OX_BOOL: ((uint8_t *)p)[i] = d != 0.0; break;
    case OX_UINT64:
        ((uint64_t *)p)[i] = d >= 9223372036854775808.0 && d < 18446744073709551616.0
                                 ? (uint64_t)d
                                 : (uint64_t)d2i(d);
        break;
    case OX_UINT32:
    case OX_INT64: st_i(p, dt, i, d2i(d)); break;
    default: st_i(p, dt, i, d2i32(d)); break;
    }
}

/* ------------------------------------------------------------ number <-> string */

/* does `s` read back as the same value of type dt? */
static int reads_back(const char *s, int dt, double v)
{
    switch (dt) {
    case OX_FLOAT: return strtof(s, NULL) == (float)v;
    case OX_FLOAT16: return ox_f2h(strtof(s, NULL)) == ox_d2h(v);
    case OX_BFLOAT16: return ox_f2bf(strtof(s, NULL)) == ox_f2bf((float)v);
    default: return strtod(s, NULL) == v;
    }
}

/* numpy's str() of a float of type dt into buf (>= 48 bytes) */
static void format_float(char *buf, size_t cap, double v, int dt)
{
    if (isnan(v)) {
        snprintf(buf, cap, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(buf, cap, v < 0 ? "-inf" : "inf");
        return;
    }
    if (v == 0.0) {
        snprintf(buf, cap, signbit(v) ? "-0.0" : "0.0");
        return;
    }
    /* shortest digits in scientific form */
    char e[40];
    int maxp = dt == OX_DOUBLE ? 17 : 9;
    for (int p = 1; p <= maxp; p++) {
        snprintf(e, sizeof e, "%.*e", p - 1, v);
        if (reads_back(e, dt, v))
            break;
    }
    /* split into sign, digits, exponent */
    const char *q = e;
    int neg = 0;
    if (*q == '-') {
        neg = 1;
        q++;
    }
    char dig[24];
    int nd = 0;
    for (; *q && *q != 'e'; q++)
        if (*q >= '0' && *q <= '9' && nd < 23)
            dig[nd++] = *q;
    while (nd > 1 && dig[nd - 1] == '0')
        nd--;
    dig[nd] = 0;
    int ex = *q == 'e' ? atoi(q + 1) : 0;
    double av = fabs(v);
    size_t k = 0;
    if (neg)
        buf[k++] = '-';
    if (av >= 1e-4 && av < 1e16) {
        if (ex >= 0) {
            for (int i = 0; i <= ex; i++)
                buf[k++] = i < nd ? dig[i] : '0';
            buf[k++] = '.';
            if (nd > ex + 1)
                for (int i = ex + 1; i < nd; i++)
                    buf[k++] = dig[i];
            else
                buf[k++] = '0';
        } else {
            buf[k++] = '0';
            buf[k++] = '.';
            for (int i = 0; i < -ex - 1; i++)
                buf[k++] = '0';
            for (int i = 0; i < nd; i++)
                buf[k++] = dig[i];
        }
        buf[k] = 0;
    } else {
        buf[k++] = dig[0];
        if (nd > 1) {
            buf[k++] = '.';
            for (int i = 1; i < nd; i++)
                buf[k++] = dig[i];
        }
        snprintf(buf + k, cap - k, "e%c%02d", ex < 0 ? '-' : '+', ex < 0 ? -ex : ex);
    }
}

static int parse_number(const char *s, int dt, void *dst, int64_t i, int trunc_bf16)
{
    if (!s)
        s = "";
    while (*s == ' ' || *s == '\t')
        s++;
    if (dt == OX_BOOL) {
        if (!strcmp(s, "True") || !strcmp(s, "true")) {
            ((uint8_t *)dst)[i] = 1;
            return 0;
        }
        if (!strcmp(s, "False") || !strcmp(s, "false") || !*s) {
            ((uint8_t *)dst)[i] = 0;
            return 0;
        }
    }
    if (ox_is_int(dt)) {
        char *end;
        errno = 0;
        if (dt == OX_UINT64 && *s != '-') {
            unsigned long long u = strtoull(s, &end, 10);
            if (end != s && !*end && !errno) {
                ((uint64_t *)dst)[i] = u;
                return 0;
            }
        } else {
            long long v = strtoll(s, &end, 10);
            if (end != s && !*end && !errno) {
                st_i(dst, dt, i, v);
                return 0;
            }
        }
    }
    st_f(dst, dt, i, strtod(s, NULL), trunc_bf16);
    return 0;
}

/* ------------------------------------------------------------ conversion */

int ox_convert(void *dst, int dd, const void *src, int ds, int64_t n, int trunc_bf16)
{
    /* a few hot pairs as tight loops */
    if (dd == ds && dd != OX_STRING) {
        memcpy(dst, src, (size_t)n * ox_dtype_size(dd));
        return 0;
    }
    if (ds == OX_FLOAT && dd == OX_FLOAT16) {
        for (int64_t i = 0; i < n; i++)
            ((uint16_t *)dst)[i] = ox_f2h(((const float *)src)[i]);
        return 0;
    }
    if (ox_is_half(ds) && dd == OX_FLOAT) {
        ox_half_load(dst, src, n, ds);
        return 0;
    }
    if (ds == OX_INT64 && dd == OX_FLOAT) {
        for (int64_t i = 0; i < n; i++)
            ((float *)dst)[i] = (float)((const int64_t *)src)[i];
        return 0;
    }
    if (ds == OX_INT64 && dd == OX_INT32) {
        for (int64_t i = 0; i < n; i++)
            ((int32_t *)dst)[i] = (int32_t)((const int64_t *)src)[i];
        return 0;
    }
    if (ds == OX_INT32 && dd == OX_INT64) {
        for (int64_t i = 0; i < n; i++)
            ((int64_t *)dst)[i] = ((const int32_t *)src)[i];
        return 0;
    }
    if (ds == OX_BOOL && dd == OX_FLOAT) {
        for (int64_t i = 0; i < n; i++)
            ((float *)dst)[i] = ((const uint8_t *)src)[i] ? 1.0f : 0.0f;
        return 0;
    }
    if (ds == OX_FLOAT && dd == OX_DOUBLE) {
        for (int64_t i = 0; i < n; i++)
            ((double *)dst)[i] = (double)((const float *)src)[i];
        return 0;
    }
    if (ds == OX_DOUBLE && dd == OX_FLOAT) {
        for (int64_t i = 0; i < n; i++)
            ((float *)dst)[i] = (float)((const double *)src)[i];
        return 0;
    }

    if (dd == OX_STRING) {
        char **o = dst;
        char buf[64];
        for (int64_t i = 0; i < n; i++) {
            if (ds == OX_STRING) {
                const char *s = ((char *const *)src)[i];
                o[i] = strdup(s ? s : "");
            } else {
                if (ds == OX_BOOL)
                    snprintf(buf, sizeof buf, "%s", ld_i(src, ds, i) ? "True" : "False");
                else if (ds == OX_UINT64)
                    snprintf(buf, sizeof buf, "%llu",
                             (unsigned long long)((const uint64_t *)src)[i]);
                else if (is_intlike(ds))
                    snprintf(buf, sizeof buf, "%lld", (long long)ld_i(src, ds, i));
                else
                    format_float(buf, sizeof buf, ld_f(src, ds, i), ds);
                o[i] = strdup(buf);
            }
            if (!o[i])
                return CKPT_E_NOMEM;
        }
        return 0;
    }
    if (ds == OX_STRING) {
        for (int64_t i = 0; i < n; i++)
            parse_number(((char *const *)src)[i], dd, dst, i, trunc_bf16);
        return 0;
    }
    if (is_intlike(ds)) {
        int sgn = is_signed(ds);
        for (int64_t i = 0; i < n; i++) {
            int64_t v = ld_i(src, ds, i);
            if (is_intlike(dd))
                st_i(dst, dd, i, v);
            else
                st_f(dst, dd, i, sgn ? (double)v : (double)(uint64_t)v, trunc_bf16);
        }
        return 0;
    }
    for (int64_t i = 0; i < n; i++)
        st_f(dst, dd, i, ld_f(src, ds, i), trunc_bf16);
    return 0;
}

static int cast_to(ox_run *r, const ox_node *n, const ox_val *a, int to, ox_val *out,
                   ckpt_error *err)
{
    if (!ox_is_tensor(a))
        return ox_fail(err, CKPT_E_ARG, n, "needs a tensor input");
    if (!ox_dtype_size(to) || to == OX_COMPLEX64 || to == OX_COMPLEX128 ||
        a->dtype == OX_COMPLEX64 || a->dtype == OX_COMPLEX128 || !ox_dtype_size(a->dtype))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "cast %s -> %s", ox_dtype_name(a->dtype),
                       ox_dtype_name(to));
    if (a->dtype == to && to != OX_STRING)
        return ox_alias(r, n, out, a, a->rank, a->dims, err);
    CKPT_TRY(ox_out(r, n, out, to, a->rank, a->dims, err));
    if (!out)
        return 0;
    if (ox_convert(out->data, to, a->data, a->dtype, a->numel, 1))
        return ox_fail(err, CKPT_E_NOMEM, n, "out of memory for strings");
    return 0;
}

int ox_k_cast(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out, ckpt_error *err)
{
    CKPT_TRY(ox_ew_need(n, 1, err));
    const ox_attr *to = ox_attr_get(n, "to");
    if (!to)
        return ox_fail(err, CKPT_E_ARG, n, "needs attribute 'to'");
    int64_t dt = to->i;
    if (to->type == OX_ATTR_STRING && to->s) {
        /* opset 1-5 spelled the type as a string */
        static const char *names[] = {"",           "FLOAT",   "UINT8",  "INT8",   "UINT16",
                                      "INT16",      "INT32",   "INT64",  "STRING", "BOOL",
                                      "FLOAT16",    "DOUBLE",  "UINT32", "UINT64", "COMPLEX64",
                                      "COMPLEX128", "BFLOAT16"};
        dt = -1;
        for (int i = 1; i <= OX_DTYPE_MAX; i++)
            if (!strcmp(to->s, names[i]))
                dt = i;
    }
    if (dt <= 0 || dt > OX_DTYPE_MAX)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "cast to element type %lld", (long long)dt);
    return cast_to(r, n, in[0], (int)dt, out[0], err);
}

int ox_k_castlike(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    CKPT_TRY(ox_ew_need(n, 2, err));
    if (n->n_in < 2 || !ox_is_tensor(in[1]))
        return ox_fail(err, CKPT_E_ARG, n, "needs input and target_type");
    return cast_to(r, n, in[0], in[1]->dtype, out[0], err);
}

/* ------------------------------------------------------------ quantisation */

/* scale/zero-point layout: per tensor (one value) or per `axis` */
typedef struct qaxis {
    int64_t count; /* 1: per tensor */
    int64_t inner; /* elements after the axis */
} qaxis;

static int q_layout(const ox_node *n, const ox_val *x, const ox_val *scale, const ox_val *zp,
                    qaxis *q, ckpt_error *err)
{
    if (!ox_is_tensor(scale))
        return ox_fail(err, CKPT_E_ARG, n, "needs a scale tensor");
    if (ox_attr_int(n, "block_size", 0) > 0)
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "blocked quantisation (block_size)");
    q->count = 1;
    q->inner = 1;
    if (scale->numel != 1) { /* a 1-element 1-D scale is per tensor, as ORT reads it */
        if (scale->rank != 1)
            return ox_fail(err, CKPT_E_SHAPE, n, "scale of rank %d (0 or 1)", scale->rank);
        int axis;
        CKPT_TRY(ox_axis(n, ox_attr_int(n, "axis", 1), x->rank, false, &axis, err));
        if (scale->numel != x->dims[axis])
            return ox_fail(err, CKPT_E_SHAPE, n, "%lld scales for axis %d of size %lld",
                           (long long)scale->numel, axis, (long long)x->dims[axis]);
        q->count = scale->numel;
        for (int i = axis + 1; i < x->rank; i++)
            q->inner *= x->dims[i];
    }
    if (zp && zp->numel != scale->numel)
        return ox_fail(err, CKPT_E_SHAPE, n, "%lld zero points for %lld scales",
                       (long long)zp->numel, (long long)scale->numel);
    return 0;
}

static int q_range(int dt, int64_t *lo, int64_t *hi)
{
    switch (dt) {
    case OX_UINT8: *lo = 0, *hi = 255; return 1;
    case OX_INT8: *lo = -128, *hi = 127; return 1;
    case OX_UINT16: *lo = 0, *hi = 65535; return 1;
    case OX_INT16: *lo = -32768, *hi = 32767; return 1;
    case OX_INT32: *lo = INT32_MIN, *hi = INT32_MAX; return 1;
    default: return 0;
    }
}

static const ox_val *opt_in(const ox_node *n, ox_val *const *in, int k)
{
    if (k >= n->n_in || !in[k] || in[k]->kind != OX_KIND_TENSOR)
        return NULL;
    return in[k];
}

int ox_k_quantize(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    CKPT_TRY(ox_ew_need(n, 2, err));
    const ox_val *x = in[0], *scale = opt_in(n, in, 1), *zp = opt_in(n, in, 2);
    if (!ox_is_tensor(x))
        return ox_fail(err, CKPT_E_ARG, n, "needs a tensor input");
    if (!(ox_is_float(x->dtype) || x->dtype == OX_INT32))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "input type %s", ox_dtype_name(x->dtype));
    if (scale && !ox_is_float(scale->dtype))
        return ox_fail(err, CKPT_E_ARG, n, "scale of type %s", ox_dtype_name(scale->dtype));
    qaxis q;
    CKPT_TRY(q_layout(n, x, scale, zp, &q, err));
    int odt = zp ? zp->dtype : (int)ox_attr_int(n, "output_dtype", OX_UINT8);
    if (!odt)
        odt = OX_UINT8;
    int64_t lo, hi;
    if (!q_range(odt, &lo, &hi))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "output type %s", ox_dtype_name(odt));
    CKPT_TRY(ox_out(r, n, out[0], odt, x->rank, x->dims, err));
    if (!out[0])
        return 0;
    int dbl = x->dtype == OX_DOUBLE;
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t c = q.count == 1 ? 0 : (i / q.inner) % q.count;
        double s = ld_f(scale->data, scale->dtype, c);
        int64_t z = zp ? ld_i(zp->data, zp->dtype, c) : 0;
        double v;
        if (x->dtype == OX_INT32)
            v = nearbyint((double)((const int32_t *)x->data)[i] / s);
        else if (dbl)
            v = nearbyint(ld_f(x->data, x->dtype, i) / s);
        else /* float arithmetic, as ORT and numpy on float32 */
            v = (double)nearbyintf((float)ld_f(x->data, x->dtype, i) / (float)s);
        v += (double)z;
        int64_t iv = v != v ? 0 : v < (double)lo ? lo : v > (double)hi ? hi : (int64_t)v;
        st_i(out[0]->data, odt, i, iv);
    }
    return 0;
}

int ox_k_dequantize(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                    ckpt_error *err)
{
    CKPT_TRY(ox_ew_need(n, 2, err));
    const ox_val *x = in[0], *scale = opt_in(n, in, 1), *zp = opt_in(n, in, 2);
    if (!ox_is_tensor(x))
        return ox_fail(err, CKPT_E_ARG, n, "needs a tensor input");
    if (!ox_is_int(x->dtype))
        return ox_fail(err, CKPT_E_UNSUPPORTED, n, "input type %s", ox_dtype_name(x->dtype));
    if (scale && !ox_is_float(scale->dtype))
        return ox_fail(err, CKPT_E_ARG, n, "scale of type %s", ox_dtype_name(scale->dtype));
    if (zp && zp->dtype != x->dtype)
        return ox_fail(err, CKPT_E_ARG, n, "zero point of type %s for input of type %s",
                       ox_dtype_name(zp->dtype), ox_dtype_name(x->dtype));
    qaxis q;
    CKPT_TRY(q_layout(n, x, scale, zp, &q, err));
    int odt = scale->dtype;
    CKPT_TRY(ox_out(r, n, out[0], odt, x->rank, x->dims, err));
    if (!out[0])
        return 0;
    for (int64_t i = 0; i < x->numel; i++) {
        int64_t c = q.count == 1 ? 0 : (i / q.inner) % q.count;
        int64_t z = zp ? ld_i(zp->data, zp->dtype, c) : 0;
        int64_t d = ld_i(x->data, x->dtype, i) - z;
        if (odt == OX_DOUBLE) {
            ((double *)out[0]->data)[i] = (double)d * ld_f(scale->data, odt, c);
        } else {
            float v = (float)d * (float)ld_f(scale->data, odt, c);
            st_f(out[0]->data, odt, i, (double)v, 0);
        }
    }
    return 0;
}

int ox_k_dynquantize(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                     ckpt_error *err)
{
    CKPT_TRY(ox_ew_need(n, 1, err));
    const ox_val *x = in[0];
    if (!ox_is_tensor(x) || x->dtype != OX_FLOAT)
        return ox_fail(err, CKPT_E_ARG, n, "needs a float32 tensor input");
    const float *p = x->data;
    float mn = 0.0f, mx = 0.0f;
    for (int64_t i = 0; i < x->numel; i++) {
        mn = p[i] < mn ? p[i] : mn;
        mx = p[i] > mx ? p[i] : mx;
    }
    float scale = (mx - mn) / 255.0f;
    float zpf = scale != 0.0f ? nearbyintf(0.0f - mn / scale) : 0.0f;
    zpf = zpf < 0.0f ? 0.0f : zpf > 255.0f ? 255.0f : zpf;
    uint8_t zp = (uint8_t)zpf;
    CKPT_TRY(ox_out(r, n, out[0], OX_UINT8, x->rank, x->dims, err));
    if (out[0]) {
        uint8_t *y = out[0]->data;
        for (int64_t i = 0; i < x->numel; i++) {
            float v = scale != 0.0f ? nearbyintf(p[i] / scale) + zpf : zpf;
            y[i] = (uint8_t)(v != v ? 0.0f : v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
        }
    }
    if (n->n_out > 1 && out[1]) {
        CKPT_TRY(ox_out(r, n, out[1], OX_FLOAT, 0, NULL, err));
        *(float *)out[1]->data = scale;
    }
    if (n->n_out > 2 && out[2]) {
        CKPT_TRY(ox_out(r, n, out[2], OX_UINT8, 0, NULL, err));
        *(uint8_t *)out[2]->data = zp;
    }
    return 0;
}
