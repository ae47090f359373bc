/* tests/jit/write/jit_write_models.h - the C models the TorchScript writer
 * tests trace (shared by write_test.c and jit_write_tool.c). */
#ifndef CKPT_TEST_JIT_WRITE_MODELS_H
#define CKPT_TEST_JIT_WRITE_MODELS_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/autograd.h"
#include "ckpt/nn.h"

/* a small CNN: conv, batchnorm (folded by the export), relu, max pool,
 * avg pool, flatten, linear, tanh, linear, softmax; input (2, 3, 8, 8) */
static inline ckpt_module *jw_cnn(ckpt_error *err)
{
    ckpt_rng r;
    ckpt_rng_seed(&r, 3);
    ckpt_module *m = ckpt_nn_sequential(NULL, "", err);
    if (!m)
        return NULL;
    ckpt_conv_opts co;
    memset(&co, 0, sizeof(co));
    co.padding[0] = co.padding[1] = 1;
    ckpt_pool_opts po;
    memset(&po, 0, sizeof(po));
    po.kernel[0] = po.kernel[1] = 2;
    bool ok = ckpt_nn_conv2d(m, "0", 3, 6, 3, 3, &co, &r, err) &&
              ckpt_nn_batchnorm(m, "1", 2, 6, NULL, err) &&
              ckpt_nn_activation(m, "2", CKPT_ACT_RELU, 0, err) &&
              ckpt_nn_maxpool2d(m, "3", &po, err) && ckpt_nn_avgpool2d(m, "4", &po, err) &&
              ckpt_nn_flatten(m, "5", 1, -1, err) &&
              ckpt_nn_linear(m, "6", 24, 10, NULL, &r, err) &&
              ckpt_nn_activation(m, "7", CKPT_ACT_TANH, 0, err) &&
              ckpt_nn_linear(m, "8", 10, 4, NULL, &r, err) &&
              ckpt_nn_activation(m, "9", CKPT_ACT_SOFTMAX, -1, err);
    if (!ok) {
        ckpt_module_free(m);
        return NULL;
    }
    ckpt_module_train(m, false);
    return m;
}

static const int64_t jw_cnn_shape[4] = {2, 3, 8, 8};

/* nn.TransformerEncoderLayer(16, 2, dim_feedforward=32, gelu, batch_first, no
 * dropout) in eval mode; input (2, 5, 16) */
static inline ckpt_module *jw_transformer(ckpt_error *err)
{
    ckpt_rng r;
    ckpt_rng_seed(&r, 5);
    ckpt_transformer_opts o;
    memset(&o, 0, sizeof(o));
    o.dim_feedforward = 32;
    o.no_dropout = true;
    o.activation = CKPT_ACT_GELU;
    o.batch_first = true;
    ckpt_module *m = ckpt_nn_transformer_encoder_layer(NULL, "", 16, 2, &o, &r, err);
    if (m)
        ckpt_module_train(m, false);
    return m;
}

static const int64_t jw_transformer_shape[3] = {2, 5, 16};

static inline void jw_fill(float *p, size_t n, uint64_t seed)
{
    ckpt_rng r;
    ckpt_rng_seed(&r, seed);
    for (size_t i = 0; i < n; i++)
        p[i] = (float)ckpt_rng_normal(&r);
}

#endif
