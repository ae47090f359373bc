/* tests/fuzz/onnx_run_fuzz.c - libFuzzer harness for load-then-run of tiny ONNX graphs.
 *
 * The input is an .onnx file.  A model that loads with at most 64 nodes (subgraphs not
 * counted) and 8 inputs gets a session capped at 64 MiB of values, and runs twice on
 * inputs of the declared shapes (dynamic or unknown dims = 1..3, chosen from the input's
 * hash; at most 4096 elements each), filled with small values from the same hash.
 * Invariants: every run either succeeds, with every output's data readable for its
 * declared size, or fails with a negative status recorded in the error; the second run
 * (the repeated-shape path, which reuses the slots) behaves as the first. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/onnx.h"

#include "fuzz_util.h"

#define MAX_IN 8
#define MAX_OUT 16
#define MAX_NUMEL 4096

static volatile uint8_t sink;

static uint64_t mix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* element size of an ONNX element type this harness can fill, 0 otherwise */
static size_t esize(int et)
{
    switch (et) {
    case 1:
    case 6:
    case 12: return 4; /* float, int32, uint32 */
    case 2:
    case 3:
    case 9: return 1; /* uint8, int8, bool */
    case 4:
    case 5:
    case 10:
    case 16: return 2; /* (u)int16, float16, bfloat16 */
    case 7:
    case 11:
    case 13: return 8; /* int64, double, uint64 */
    default: return 0;
    }
}

static void fill(void *p, int et, int64_t n, uint64_t *s)
{
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = mix(s);
        int v = (int)(r % 7) - 2; /* -2..4: small, valid as most indices and axes */
        switch (et) {
        case 1: ((float *)p)[i] = (float)v * 0.5f; break;
        case 11: ((double *)p)[i] = (double)v * 0.5; break;
        case 6: ((int32_t *)p)[i] = v; break;
        case 7: ((int64_t *)p)[i] = v; break;
        case 9: ((uint8_t *)p)[i] = (uint8_t)(r & 1); break;
        case 10: ((uint16_t *)p)[i] = (uint16_t)(0x3c00 + (r & 0x3ff)); break; /* 1..2 */
        case 16: ((uint16_t *)p)[i] = (uint16_t)(0x3f80 + (r & 0x7f)); break;
        default: memset((uint8_t *)p + (size_t)i * esize(et), (int)(r & 3), esize(et)); break;
        }
    }
}

static int run_once(ckpt_onnx_session *s, ckpt_onnx_tensor *in, size_t nin, size_t nout)
{
    ckpt_onnx_tensor out[MAX_OUT];
    memset(out, 0, sizeof(out));
    ckpt_error err;
    ckpt_error_clear(&err);
    int rc = ckpt_onnx_run(s, in, nin, out, nout, &err);
    if (rc < 0) {
        FUZZ_ASSERT(err.code < 0);
        return rc;
    }
    for (size_t k = 0; k < nout; k++) {
        if (out[k].data && out[k].nbytes) {
            uint8_t x = ((const uint8_t *)out[k].data)[0];
            x ^= ((const uint8_t *)out[k].data)[out[k].nbytes - 1];
            sink = x;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ckpt_error err;
    ckpt_onnx_load_opts lo;
    memset(&lo, 0, sizeof(lo));
    lo.max_bytes = (size_t)64 << 20;
    ckpt_onnx_model *m = ckpt_onnx_load_buffer(data, size, "fuzz", &lo, &err);
    if (!m)
        return 0;
    ckpt_onnx_info info;
    FUZZ_ASSERT(ckpt_onnx_get_info(m, &info) == 0);
    uint64_t seed = 1469598103934665603ull;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 1099511628211ull;
    ckpt_onnx_tensor in[MAX_IN];
    void *bufs[MAX_IN] = {0};
    size_t nin = 0;
    bool ok = info.n_nodes <= 64 && info.n_inputs <= MAX_IN && info.n_outputs <= MAX_OUT;
    for (size_t i = 0; ok && i < info.n_inputs; i++) {
        ckpt_onnx_value_info vi;
        FUZZ_ASSERT(ckpt_onnx_get_input(m, i, &vi) == 0);
        size_t es = esize(vi.elem_type);
        if (vi.kind != CKPT_ONNX_TENSOR || !es || vi.ndim > 6) {
            ok = false;
            break;
        }
        ckpt_onnx_tensor *t = &in[nin];
        memset(t, 0, sizeof(*t));
        t->name = vi.name;
        t->elem_type = vi.elem_type;
        t->ndim = vi.ndim < 0 ? 1 : vi.ndim;
        int64_t numel = 1;
        for (int d = 0; d < t->ndim; d++) {
            int64_t v = vi.ndim >= 0 && vi.shape[d] >= 0 ? vi.shape[d]
                                                         : (int64_t)(1 + mix(&seed) % 3);
            t->shape[d] = v;
            if (v > MAX_NUMEL || (numel *= v) > MAX_NUMEL)
                ok = false;
        }
        if (!ok)
            break;
        bufs[nin] = malloc((size_t)numel * es + 1);
        FUZZ_ASSERT(bufs[nin]);
        fill(bufs[nin], vi.elem_type, numel, &seed);
        t->data = bufs[nin];
        t->nbytes = (uint64_t)numel * es;
        nin++;
    }
    if (ok) {
        ckpt_onnx_session_opts so = {1, (size_t)64 << 20};
        ckpt_onnx_session *s = ckpt_onnx_session_new(m, &so, &err);
        if (s) {
            int a = run_once(s, in, nin, info.n_outputs);
            int b = run_once(s, in, nin, info.n_outputs);
            FUZZ_ASSERT((a == 0) == (b == 0));
            ckpt_onnx_session_free(s);
        } else {
            FUZZ_ASSERT(err.code < 0);
        }
    }
    for (size_t i = 0; i < nin; i++)
        free(bufs[i]);
    ckpt_onnx_model_free(m);
    return 0;
}
