/* tests/fuzz/onnx_fuzz.c - libFuzzer harness for the ONNX model reader.
 *
 * The input is the .onnx file itself.  Invariants: ckpt_onnx_load_buffer either gives a
 * model whose every inspection call answers within bounds (info, opsets, typed inputs and
 * outputs, every initializer's bytes readable to the last one, every node) or fails with a
 * negative status recorded in the error; a session is created or refused with an error;
 * the scanner reads the same bytes to a verdict.  Loads are capped at 256 MiB. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/ckpt.h"
#include "ckpt/onnx.h"
#include "ckpt/scan.h"

#include "fuzz_util.h"

static volatile uint8_t sink;

static void check_model(const ckpt_onnx_model *m)
{
    ckpt_onnx_info info;
    FUZZ_ASSERT(ckpt_onnx_get_info(m, &info) == 0);
    FUZZ_ASSERT(info.ir_version >= 3);
    for (size_t i = 0; i < info.n_opsets; i++) {
        const char *d = NULL;
        int64_t v = 0;
        FUZZ_ASSERT(ckpt_onnx_get_opset(m, i, &d, &v) == 0 && d);
    }
    for (size_t i = 0; i < info.n_inputs + info.n_outputs; i++) {
        ckpt_onnx_value_info vi;
        int rc = i < info.n_inputs ? ckpt_onnx_get_input(m, i, &vi)
                                   : ckpt_onnx_get_output(m, i - info.n_inputs, &vi);
        FUZZ_ASSERT(rc == 0 && vi.name);
        FUZZ_ASSERT(vi.ndim <= CKPT_ONNX_MAX_RANK);
        for (int d = 0; d < vi.ndim; d++)
            FUZZ_ASSERT(vi.shape[d] >= -1);
    }
    for (size_t i = 0; i < info.n_initializers; i++) {
        ckpt_onnx_tensor t;
        FUZZ_ASSERT(ckpt_onnx_get_initializer(m, i, &t) == 0 && t.name);
        FUZZ_ASSERT(t.ndim >= 0 && t.ndim <= CKPT_ONNX_MAX_RANK);
        uint8_t x = 0;
        if (t.nbytes) { /* first and last byte: ASan catches a buffer shorter than nbytes */
            x ^= ((const uint8_t *)t.data)[0];
            x ^= ((const uint8_t *)t.data)[t.nbytes - 1];
        }
        sink = x;
    }
    for (size_t i = 0; i < info.n_nodes; i++) {
        const char *op = NULL, *dom = NULL, *name = NULL;
        FUZZ_ASSERT(ckpt_onnx_get_node(m, i, &op, &dom, &name) == 0 && op && dom && name);
    }
    FUZZ_ASSERT(ckpt_onnx_get_node(m, info.n_nodes, NULL, NULL, NULL) != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ckpt_error err;
    ckpt_onnx_load_opts o;
    memset(&o, 0, sizeof(o));
    o.max_bytes = (size_t)256 << 20;
    ckpt_onnx_model *m = ckpt_onnx_load_buffer(data, size, "fuzz", &o, &err);
    if (m) {
        check_model(m);
        ckpt_onnx_session *s = ckpt_onnx_session_new(m, NULL, &err);
        FUZZ_ASSERT(s || err.code < 0);
        ckpt_onnx_session_free(s);
        ckpt_onnx_model_free(m);
    } else {
        FUZZ_ASSERT(err.code < 0);
    }
    ckpt_scan_report *r = NULL;
    if (ckpt_scan_mem(data, size, "", NULL, &r, &err) == 0) {
        FUZZ_ASSERT(r->verdict >= CKPT_SCAN_CLEAN && r->verdict <= CKPT_SCAN_UNREADABLE);
        ckpt_scan_report_free(r);
    }
    return 0;
}
