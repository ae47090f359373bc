/* src/onnx/ops_signal.c - ONNX kernels: signal family (DFT, STFT, the
 * Hann / Hamming / Blackman windows, MelWeightMatrix).
 *
 * Transforms compute in double: a radix-2 FFT when the length is a power of
 * two, a direct sum over a twiddle table otherwise.  A signal tensor's last
 * dimension is 1 (real) or 2 (real, imaginary). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "onnx/nn2_util.h"
#include "onnx/onnx_internal.h"

#define NN2_PI 3.14159265358979323846

/* In-place transform of n complex values (re, im interleaved) in `a`;
 * sign -1 forward, +1 inverse (unscaled).  work: 2n doubles; tw: 2n doubles
 * of twiddles exp(sign 2 pi i k / n), filled by the caller. */
static void dft_1d(double *a, int64_t n, const double *tw, double *work)
{
    if (n <= 1)
        return;
    if ((n & (n - 1)) == 0) {
        /* bit reversal */
        for (int64_t i = 1, j = 0; i < n; i++) {
            int64_t bit = n >> 1;
            for (; j & bit; bit >>= 1)
                j ^= bit;
            j ^= bit;
            if (i < j) {
                double tr = a[2 * i], ti = a[2 * i + 1];
                a[2 * i] = a[2 * j];
                a[2 * i + 1] = a[2 * j + 1];
                a[2 * j] = tr;
                a[2 * j + 1] = ti;
            }
        }
        for (int64_t len = 2; len <= n; len <<= 1) {
            int64_t step = n / len;
            for (int64_t i = 0; i < n; i += len)
                for (int64_t k = 0; k < len / 2; k++) {
                    double wr = tw[2 * k * step], wi = tw[2 * k * step + 1];
                    double *u = a + 2 * (i + k), *v = a + 2 * (i + k + len / 2);
                    double vr = v[0] * wr - v[1] * wi, vi = v[0] * wi + v[1] * wr;
                    v[0] = u[0] - vr;
                    v[1] = u[1] - vi;
                    u[0] += vr;
                    u[1] += vi;
                }
        }
        return;
    }
    for (int64_t k = 0; k < n; k++) {
        double sr = 0.0, si = 0.0;
        int64_t idx = 0;
        for (int64_t j = 0; j < n; j++) {
            double wr = tw[2 * idx], wi = tw[2 * idx + 1];
            sr += a[2 * j] * wr - a[2 * j + 1] * wi;
            si += a[2 * j] * wi + a[2 * j + 1] * wr;
            idx += k;
            if (idx >= n)
                idx -= n;
        }
        work[2 * k] = sr;
        work[2 * k + 1] = si;
    }
    memcpy(a, work, (size_t)(2 * n) * sizeof(double));
}

static void twiddles(double *tw, int64_t n, int sign)
{
    for (int64_t k = 0; k < n; k++) {
        double ang = sign * 2.0 * NN2_PI * (double)k / (double)n;
        tw[2 * k] = cos(ang);
        tw[2 * k + 1] = sin(ang);
    }
}

/* A transform of one length: radix-2 when n is a power of two, a direct sum
 * for short other lengths, Bluestein's chirp-z (a power-of-two convolution)
 * for long ones, so no length costs O(n^2). */
typedef struct dft_plan {
    int64_t n, m;                  /* m: Bluestein's FFT length, 0 when unused */
    double *tw, *work;             /* 2n each */
    double *chirp;                 /* 2n: exp(sign i pi k^2 / n) */
    double *bf, *twm, *twmi, *buf; /* 2m each */
} dft_plan;

static bool is_pow2(int64_t n)
{
    return n > 0 && (n & (n - 1)) == 0;
}

static int64_t bluestein_len(int64_t n)
{
    if (is_pow2(n) || n <= 64)
        return 0;
    int64_t m = 1;
    while (m < 2 * n - 1)
        m <<= 1;
    return m;
}

/* doubles of scratch a plan of length n needs */
static int64_t dft_plan_doubles(int64_t n)
{
    return 6 * n + 8 * bluestein_len(n);
}

static void dft_plan_init(dft_plan *p, int64_t n, int sign, double *mem)
{
    p->n = n;
    p->m = bluestein_len(n);
    p->tw = mem;
    p->work = mem + 2 * n;
    p->chirp = mem + 4 * n;
    twiddles(p->tw, n, sign);
    if (!p->m)
        return;
    const int64_t m = p->m;
    p->bf = mem + 6 * n;
    p->twm = p->bf + 2 * m;
    p->twmi = p->twm + 2 * m;
    p->buf = p->twmi + 2 * m;
    /* q = k^2 mod 2n (kept small so the angle stays exact for large k) */
    for (int64_t k = 0, q = 0; k < n; q = (q + 2 * k + 1) % (2 * n), k++) {
        double ang = sign * NN2_PI * (double)q / (double)n;
        p->chirp[2 * k] = cos(ang);
        p->chirp[2 * k + 1] = sin(ang);
    }
    twiddles(p->twm, m, -1);
    twiddles(p->twmi, m, 1);
    memset(p->bf, 0, (size_t)(2 * m) * sizeof(double));
    for (int64_t k = 0; k < n; k++) {
        p->bf[2 * k] = p->chirp[2 * k];
        p->bf[2 * k + 1] = -p->chirp[2 * k + 1];
        if (k) {
            p->bf[2 * (m - k)] = p->chirp[2 * k];
            p->bf[2 * (m - k) + 1] = -p->chirp[2 * k + 1];
        }
    }
    dft_1d(p->bf, m, p->twm, NULL);
}

static void dft_exec(const dft_plan *p, double *a)
{
    if (!p->m) {
        dft_1d(a, p->n, p->tw, p->work);
        return;
    }
    const int64_t n = p->n, m = p->m;
    double *b = p->buf;
    memset(b, 0, (size_t)(2 * m) * sizeof(double));
    for (int64_t k = 0; k < n; k++) {
        double cr = p->chirp[2 * k], ci = p->chirp[2 * k + 1];
        b[2 * k] = a[2 * k] * cr - a[2 * k + 1] * ci;
        b[2 * k + 1] = a[2 * k] * ci + a[2 * k + 1] * cr;
    }
    dft_1d(b, m, p->twm, NULL);
    for (int64_t k = 0; k < m; k++) {
        double xr = b[2 * k], xi = b[2 * k + 1], yr = p->bf[2 * k], yi = p->bf[2 * k + 1];
        b[2 * k] = xr * yr - xi * yi;
        b[2 * k + 1] = xr * yi + xi * yr;
    }
    dft_1d(b, m, p->twmi, NULL);
    for (int64_t k = 0; k < n; k++) {
        double cr = p->chirp[2 * k], ci = p->chirp[2 * k + 1];
        double xr = b[2 * k] / (double)m, xi = b[2 * k + 1] / (double)m;
        a[2 * k] = xr * cr - xi * ci;
        a[2 * k + 1] = xr * ci + xi * cr;
    }
}

static int read_scalar_int(const ox_node *n, const ox_val *v, const char *what, int64_t *out,
                           ckpt_error *err)
{
    if (!v || v->kind != OX_KIND_TENSOR || v->numel != 1)
        return ox_fail(err, CKPT_E_SHAPE, n, "%s must be a scalar", what);
    if (v->dtype == OX_INT32 || v->dtype == OX_INT64) {
        *out = nn2_f2i(ox_get_f64(v, 0));
        return 0;
    }
    return ox_fail(err, CKPT_E_SHAPE, n, "%s must be int32 or int64", what);
}

/* ------------------------------------------------------------ DFT */

static int k_dft(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                 ckpt_error *err)
{
    const ox_val *x = in[0];
    if (!x || !nn2_is_float(x->dtype))
        return ox_fail(err, CKPT_E_SHAPE, n, "input must be a float tensor");
    if (x->rank < 2 || (x->dims[x->rank - 1] != 1 && x->dims[x->rank - 1] != 2))
        return ox_fail(err, CKPT_E_SHAPE, n, "input's last dimension must be 1 or 2");
    const int cplx = x->dims[x->rank - 1] == 2;
    int64_t axis_v = n->opset >= 20 ? -2 : ox_attr_int(n, "axis", 1);
    if (n->opset >= 20 && n->n_in > 2 && in[2])
        CKPT_TRY(read_scalar_int(n, in[2], "axis", &axis_v, err));
    /* the axis ranges over the signal dims (all but the last) */
    int axis;
    if (axis_v < 0)
        axis_v += x->rank;
    if (axis_v < 0 || axis_v >= x->rank - 1)
        return ox_fail(err, CKPT_E_ARG, n, "axis %lld out of range", (long long)axis_v);
    axis = (int)axis_v;
    const int inverse = ox_attr_int(n, "inverse", 0) != 0;
    const int onesided = ox_attr_int(n, "onesided", 0) != 0;
    const int64_t len_in = x->dims[axis];
    int64_t N = len_in;
    if (n->n_in > 1 && in[1] && in[1]->kind == OX_KIND_TENSOR && in[1]->numel > 0) {
        CKPT_TRY(read_scalar_int(n, in[1], "dft_length", &N, err));
        if (N < 1 || N > ((int64_t)1 << 31))
            return ox_fail(err, CKPT_E_ARG, n, "dft_length %lld", (long long)N);
    }
    const int64_t nout = onesided ? N / 2 + 1 : N;
    int64_t od[OX_MAX_RANK];
    memcpy(od, x->dims, sizeof(int64_t) * (size_t)x->rank);
    od[axis] = nout;
    od[x->rank - 1] = 2;
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, x->rank, od, err));
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < axis; i++)
        outer *= x->dims[i];
    for (int i = axis + 1; i < x->rank - 1; i++)
        inner *= x->dims[i];
    nn2_plan pl = {0, 0};
    size_t o_a = nn2_plan_add(&pl, 2 * N, sizeof(double));
    size_t o_p = nn2_plan_add(&pl, dft_plan_doubles(N), sizeof(double));
    char *base = nn2_plan_alloc(r, n, &pl, err);
    if (!base)
        return CKPT_E_NOMEM;
    double *a = (double *)(void *)(base + o_a);
    dft_plan plan;
    dft_plan_init(&plan, N, inverse ? 1 : -1, (double *)(void *)(base + o_p));
    const int64_t ci = cplx ? 2 : 1;
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            memset(a, 0, (size_t)(2 * N) * sizeof(double));
            int64_t m = len_in < N ? len_in : N;
            for (int64_t k = 0; k < m; k++) {
                int64_t src = ((o * len_in + k) * inner + i) * ci;
                a[2 * k] = ox_get_f64(x, src);
                a[2 * k + 1] = cplx ? ox_get_f64(x, src + 1) : 0.0;
            }
            dft_exec(&plan, a);
            double sc = inverse ? 1.0 / (double)N : 1.0;
            for (int64_t k = 0; k < nout; k++) {
                int64_t dst = ((o * nout + k) * inner + i) * 2;
                ox_set_f64(out[0], dst, a[2 * k] * sc);
                ox_set_f64(out[0], dst + 1, a[2 * k + 1] * sc);
            }
        }
    return 0;
}

/* ------------------------------------------------------------ STFT */

static int k_stft(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    const ox_val *x = in[0];
    const ox_val *win = n->n_in > 2 && in[2] && in[2]->kind == OX_KIND_TENSOR ? in[2] : NULL;
    const ox_val *flv = n->n_in > 3 && in[3] && in[3]->kind == OX_KIND_TENSOR ? in[3] : NULL;
    if (!x || !nn2_is_float(x->dtype) || x->rank != 3 || (x->dims[2] != 1 && x->dims[2] != 2))
        return ox_fail(err, CKPT_E_SHAPE, n, "signal must be float (batch, length, 1|2)");
    int64_t step = 0, fl = -1;
    CKPT_TRY(read_scalar_int(n, n->n_in > 1 ? in[1] : NULL, "frame_step", &step, err));
    if (flv)
        CKPT_TRY(read_scalar_int(n, flv, "frame_length", &fl, err));
    if (win) {
        if (win->rank != 1 || !nn2_is_float(win->dtype))
            return ox_fail(err, CKPT_E_SHAPE, n, "window must be a 1-D float tensor");
        if (fl >= 0 && fl != win->dims[0])
            return ox_fail(err, CKPT_E_SHAPE, n, "window length %lld != frame_length %lld",
                           (long long)win->dims[0], (long long)fl);
        fl = win->dims[0];
    }
    if (fl < 1)
        return ox_fail(err, CKPT_E_ARG, n, "needs a window or a frame_length >= 1");
    const int64_t L = x->dims[1], Bn = x->dims[0];
    if (step < 1 || fl > L)
        return ox_fail(err, CKPT_E_ARG, n, "frame_step %lld / frame_length %lld vs length %lld",
                       (long long)step, (long long)fl, (long long)L);
    const int onesided = ox_attr_int(n, "onesided", 1) != 0;
    const int cplx = x->dims[2] == 2;
    const int64_t frames = 1 + (L - fl) / step, bins = onesided ? fl / 2 + 1 : fl;
    const int64_t od[4] = {Bn, frames, bins, 2};
    CKPT_TRY(ox_out(r, n, out[0], x->dtype, 4, od, err));
    nn2_plan pl = {0, 0};
    size_t o_a = nn2_plan_add(&pl, 2 * fl, sizeof(double));
    size_t o_p = nn2_plan_add(&pl, dft_plan_doubles(fl), sizeof(double));
    char *base = nn2_plan_alloc(r, n, &pl, err);
    if (!base)
        return CKPT_E_NOMEM;
    double *a = (double *)(void *)(base + o_a);
    dft_plan plan;
    dft_plan_init(&plan, fl, -1, (double *)(void *)(base + o_p));
    const int64_t ci = cplx ? 2 : 1;
    for (int64_t b = 0; b < Bn; b++)
        for (int64_t f = 0; f < frames; f++) {
            for (int64_t k = 0; k < fl; k++) {
                int64_t src = (b * L + f * step + k) * ci;
                double w = win ? ox_get_f64(win, k) : 1.0;
                a[2 * k] = ox_get_f64(x, src) * w;
                a[2 * k + 1] = cplx ? ox_get_f64(x, src + 1) * w : 0.0;
            }
            dft_exec(&plan, a);
            for (int64_t k = 0; k < bins; k++) {
                int64_t dst = ((b * frames + f) * bins + k) * 2;
                ox_set_f64(out[0], dst, a[2 * k]);
                ox_set_f64(out[0], dst + 1, a[2 * k + 1]);
            }
        }
    return 0;
}

/* ------------------------------------------------------------ windows */

enum { W_HANN, W_HAMMING, W_BLACKMAN };

static int window_common(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                         int kind, ckpt_error *err)
{
    int64_t size;
    CKPT_TRY(read_scalar_int(n, in[0], "size", &size, err));
    if (size < 0)
        return ox_fail(err, CKPT_E_ARG, n, "size %lld", (long long)size);
    const int dt = (int)ox_attr_int(n, "output_datatype", OX_FLOAT);
    if (dt <= 0 || dt > OX_DTYPE_MAX || dt == OX_STRING || dt == OX_COMPLEX64 ||
        dt == OX_COMPLEX128)
        return ox_fail(err, CKPT_E_ARG, n, "output_datatype %d", dt);
    CKPT_TRY(ox_out(r, n, out[0], dt, 1, &size, err));
    const int periodic = ox_attr_int(n, "periodic", 1) != 0;
    const double N = periodic ? (double)size : (double)(size - 1);
    for (int64_t i = 0; i < size; i++) {
        double ph = N > 0 ? 2.0 * NN2_PI * (double)i / N : 0.0, v;
        if (kind == W_HANN)
            v = 0.5 - 0.5 * cos(ph);
        else if (kind == W_HAMMING)
            v = 25.0 / 46.0 - (1.0 - 25.0 / 46.0) * cos(ph);
        else
            v = 0.42 - 0.5 * cos(ph) + 0.08 * cos(2.0 * ph);
        ox_set_f64(out[0], i, v);
    }
    return 0;
}

static int k_hann(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                  ckpt_error *err)
{
    return window_common(r, n, in, out, W_HANN, err);
}

static int k_hamming(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                     ckpt_error *err)
{
    return window_common(r, n, in, out, W_HAMMING, err);
}

static int k_blackman(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                      ckpt_error *err)
{
    return window_common(r, n, in, out, W_BLACKMAN, err);
}

/* ------------------------------------------------------------ MelWeightMatrix */

static int k_melweight(ox_run *r, const ox_node *n, ox_val *const *in, ox_val *const *out,
                       ckpt_error *err)
{
    int64_t nmel = 0, dftl = 0, sr = 0;
    if (n->n_in < 5)
        return ox_fail(err, CKPT_E_ARG, n, "needs 5 inputs");
    CKPT_TRY(read_scalar_int(n, in[0], "num_mel_bins", &nmel, err));
    CKPT_TRY(read_scalar_int(n, in[1], "dft_length", &dftl, err));
    CKPT_TRY(read_scalar_int(n, in[2], "sample_rate", &sr, err));
    for (int k = 3; k < 5; k++)
        if (!in[k] || in[k]->numel != 1 || !nn2_is_float(in[k]->dtype))
            return ox_fail(err, CKPT_E_SHAPE, n, "edge frequencies must be float scalars");
    const double lo = ox_get_f64(in[3], 0), hi = ox_get_f64(in[4], 0);
    if (nmel < 1 || dftl < 1 || sr < 1 || lo < 0 || hi < lo)
        return ox_fail(err, CKPT_E_ARG, n, "bad mel parameters");
    const int dt = (int)ox_attr_int(n, "output_datatype", OX_FLOAT);
    if (dt <= 0 || dt > OX_DTYPE_MAX || dt == OX_STRING || dt == OX_COMPLEX64 ||
        dt == OX_COMPLEX128)
        return ox_fail(err, CKPT_E_ARG, n, "output_datatype %d", dt);
    const int64_t nspec = dftl / 2 + 1;
    const int64_t od[2] = {nspec, nmel};
    CKPT_TRY(ox_out(r, n, out[0], dt, 2, od, err));
    nn2_plan pl = {0, 0};
    size_t o_f = nn2_plan_add(&pl, nmel + 2, sizeof(int64_t));
    size_t o_o = nn2_plan_add(&pl, nspec * nmel, sizeof(double));
    char *base = nn2_plan_alloc(r, n, &pl, err);
    if (!base)
        return CKPT_E_NOMEM;
    int64_t *fb = (int64_t *)(void *)(base + o_f);
    double *o = (double *)(void *)(base + o_o);
    const double lmel = 2595.0 * log10(1.0 + lo / 700.0);
    const double hmel = 2595.0 * log10(1.0 + hi / 700.0);
    const double step = (hmel - lmel) / (double)(nmel + 2);
    for (int64_t i = 0; i < nmel + 2; i++) {
        double hz = 700.0 * (pow(10.0, ((double)i * step + lmel) / 2595.0) - 1.0);
        fb[i] = nn2_f2i(floor((double)(dftl + 1) * hz / (double)sr));
        if (fb[i] < 0)
            fb[i] = 0;
        if (fb[i] >= nspec)
            fb[i] = nspec - 1;
    }
    memset(o, 0, (size_t)(nspec * nmel) * sizeof(double));
    for (int64_t i = 0; i < nmel; i++) {
        int64_t l = fb[i], c = fb[i + 1], h = fb[i + 2];
        if (c == l)
            o[c * nmel + i] = 1.0;
        else
            for (int64_t j = l; j <= c; j++)
                o[j * nmel + i] = (double)(j - l) / (double)(c - l);
        if (h > c)
            for (int64_t j = c; j < h; j++)
                o[j * nmel + i] = (double)(h - j) / (double)(h - c);
    }
    for (int64_t i = 0; i < nspec * nmel; i++)
        ox_set_f64(out[0], i, o[i]);
    return 0;
}

const ox_op ox_ops_signal[] = {
    {"DFT", "", 17, 0, k_dft, NULL},
    {"STFT", "", 17, 0, k_stft, NULL},
    {"HannWindow", "", 17, 0, k_hann, NULL},
    {"HammingWindow", "", 17, 0, k_hamming, NULL},
    {"BlackmanWindow", "", 17, 0, k_blackman, NULL},
    {"MelWeightMatrix", "", 17, 0, k_melweight, NULL},
    {0},
};
