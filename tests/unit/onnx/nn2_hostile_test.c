/* tests/unit/onnx/nn2_hostile_test.c - malformed rnn / image / signal nodes
 * (tests/onnx/cases/nn2_hostile, written by tests/onnx/nn2_gen_cases.py) end
 * in an error that names the node and says what is wrong, never a crash or
 * an unbounded allocation (the session runs under a 64 MiB value limit). */
#include <stdlib.h>
#include <string.h>

#include "ckpt/error.h"
#include "ckpt/onnx.h"
#include "onnx/onnx_internal.h"
#include "util/test.h"

#define HOSTILE_DIR "tests/onnx/cases/nn2_hostile/test_"

/* Run case `name` with its inputs; 0 when it failed with `code` and a message
 * holding `needle`, else -1 (printed). */
static int run_hostile(const char *name, int code, const char *needle)
{
    char path[512];
    ckpt_error err;
    ckpt_error_clear(&err);
    snprintf(path, sizeof path, HOSTILE_DIR "%s/model.onnx", name);
    ckpt_onnx_model *m = ckpt_onnx_load(path, NULL, &err);
    if (!m) {
        fprintf(stderr, "%s: load failed: %s\n", name, err.msg);
        return -1;
    }
    ckpt_onnx_session_opts so = {.threads = 1, .max_bytes = (size_t)64 << 20};
    ckpt_onnx_session *s = ckpt_onnx_session_new(m, &so, &err);
    int rc = -1;
    ox_val vals[8];
    const ox_val *ptrs[8];
    int n_in = 0;
    memset(vals, 0, sizeof vals);
    if (!s) {
        fprintf(stderr, "%s: session failed: %s\n", name, err.msg);
        goto out;
    }
    for (; n_in < 8; n_in++) {
        snprintf(path, sizeof path, HOSTILE_DIR "%s/test_data_set_0/input_%d.pb", name, n_in);
        size_t len = 0;
        unsigned char *bytes = test_read_file(path, &len);
        if (!bytes)
            break;
        char *vname = NULL;
        int lrc = ox_tensor_from_pb(bytes, len, &vals[n_in], &vname, path, &err);
        free(bytes);
        free(vname);
        if (lrc < 0) {
            fprintf(stderr, "%s: input %d: %s\n", name, n_in, err.msg);
            goto out;
        }
        ptrs[n_in] = &vals[n_in];
    }
    ckpt_error_clear(&err);
    if (ox_session_run_vals(s, ptrs, n_in, &err) >= 0) {
        fprintf(stderr, "%s: ran without an error\n", name);
        goto out;
    }
    if (err.code != code || !strstr(err.msg, needle)) {
        fprintf(stderr, "%s: error %s '%s', expected %s with '%s'\n", name,
                ckpt_status_name(err.code), err.msg, ckpt_status_name(code), needle);
        goto out;
    }
    rc = 0;
out:
    for (int k = 0; k < n_in; k++)
        ox_val_clear(&vals[k]);
    ckpt_onnx_session_free(s);
    ckpt_onnx_model_free(m);
    return rc;
}

TEST(test_onnx_nn2_hostile__recurrent)
{
    CHECK(run_hostile("lstm_bad_r", CKPT_E_SHAPE, "R must be (1, 12, 3)") == 0);
    CHECK(run_hostile("lstm_seq_past_t", CKPT_E_ARG, "sequence_lens[0] = 5") == 0);
    CHECK(run_hostile("gru_unknown_activation", CKPT_E_UNSUPPORTED, "activation 'Foo'") == 0);
    CHECK(run_hostile("rnn_bad_direction", CKPT_E_ARG, "direction 'sideways'") == 0);
}

TEST(test_onnx_nn2_hostile__image)
{
    CHECK(run_hostile("resize_inf_scale", CKPT_E_ARG, "positive and finite") == 0);
    CHECK(run_hostile("resize_nan_scale", CKPT_E_ARG, "positive and finite") == 0);
    CHECK(run_hostile("resize_huge_sizes", CKPT_E_SHAPE, "overflowing output shape") == 0);
    CHECK(run_hostile("resize_sizes_past_limit", CKPT_E_LIMIT, "passes the limit") == 0);
    CHECK(run_hostile("resize_scales_count", CKPT_E_SHAPE, "scales must hold 4") == 0);
    CHECK(run_hostile("roialign_nan_roi", CKPT_E_LIMIT, "too many samples") == 0);
    CHECK(run_hostile("roialign_batch_index", CKPT_E_ARG, "batch index 7") == 0);
    CHECK(run_hostile("maxroipool_batch_index", CKPT_E_ARG, "batch index 3") == 0);
    CHECK(run_hostile("nms_scores_shape", CKPT_E_SHAPE, "scores (B, C, n)") == 0);
    CHECK(run_hostile("gridsample_grid_shape", CKPT_E_UNSUPPORTED, "grid (N,Ho,Wo,2)") == 0);
}

TEST(test_onnx_nn2_hostile__signal)
{
    CHECK(run_hostile("dft_huge_length", CKPT_E_ARG, "dft_length") == 0);
    CHECK(run_hostile("dft_axis", CKPT_E_ARG, "axis 5") == 0);
    CHECK(run_hostile("stft_zero_step", CKPT_E_ARG, "frame_step 0") == 0);
    CHECK(run_hostile("hannwindow_negative", CKPT_E_ARG, "size -3") == 0);
    CHECK(run_hostile("melweight_negative_bins", CKPT_E_ARG, "bad mel parameters") == 0);
}

TEST_MAIN()
