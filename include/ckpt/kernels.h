/*
 * ckpt/kernels.h - the explicit-control tier: the raw float32 forward and
 * backward kernels the layer library, the autograd tape and the functional
 * ops are built on, for programs that run their own forward and backward
 * passes over their own buffers (llm.c style) instead of the tape
 * (ckpt/autograd.h).  Each kernel here is the one definition the library
 * itself uses: the tape's results are these kernels' results.
 *
 * Conventions (every function):
 * - Pointers are float32 (indices int64), contiguous and row-major; the
 *   shape of each is given in the comment, (B,C,H,W) meaning row-major with
 *   W fastest.  Sizes are element counts, never bytes.
 * - Forward kernels WRITE their outputs (out = ...) and never read them
 *   first; unless a comment says so, `out` must not overlap an input
 *   (element-wise activations allow out == in).
 * - Backward kernels ADD into their gradients (din += ..., dw += ...), so
 *   several uses of a tensor accumulate; zero the buffers yourself before a
 *   step.  A NULL gradient pointer means "not wanted" and is skipped.  The
 *   forward inputs (or outputs, where torch's formula uses them) are passed
 *   back in.
 * - Nothing allocates.  Scratch memory (im2col columns, attention scores,
 *   recomputed activations) is passed in, sized in floats by the matching
 *   *_ws function.
 * - No argument checking: the kernels are raw and trust their caller (a NULL
 *   data pointer or a wrong size is undefined behaviour, as in BLAS).  Only
 *   the index kernels (embedding) check their indices and return -1.  The
 *   checked, shape-aware forms are the layers (ckpt/nn.h) and the functional
 *   ops (ckpt/autograd.h).
 * - Matrix products go through OpenBLAS (cblas_sgemm), whose thread count
 *   the caller controls (OPENBLAS_NUM_THREADS).  Reductions (norm
 *   statistics, softmax sums, bias gradients) accumulate in double, as
 *   torch's CPU kernels do for float32.
 * - Math follows torch 1.13 (forward outputs and gradients within float32
 *   rounding of torch's; tests/unit/nn/kernels_test.c, backward_test.c).
 *
 * The losses (cross-entropy with label smoothing and ignore_index, MSE) over
 * raw pointers are declared in ckpt/nn.h (ckpt_nn_cross_entropy_forward /
 * _backward, ckpt_nn_mse_loss_forward / _backward), which this header
 * includes, with the generator (ckpt_rng) dropout draws from.
 *
 * Thread-safety: kernels keep no state; calls on disjoint buffers may run
 * concurrently.  Added in 0.3.
 */
#ifndef CKPT_KERNELS_H
#define CKPT_KERNELS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ckpt/export.h"
#include "ckpt/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ================================================================ linear */

/* out (N,OC) = in (N,IC) @ w (OC,IC)^T + b (OC); b NULL: no bias. */
CKPT_API void ckpt_nn_linear_forward(float *out, const float *in, const float *w, const float *b,
                                     int64_t n, int64_t ic, int64_t oc);
/* Gradients of out = in @ w^T + b, added: din (N,IC) += dout @ w,
 * dw (OC,IC) += dout^T @ in, db (OC) += column sums of dout.  dout (N,OC),
 * in (N,IC), w (OC,IC); din, dw, db each NULL when not wanted (in may be NULL
 * when dw is, w when din is). */
CKPT_API void ckpt_nn_linear_backward(float *din, float *dw, float *db, const float *dout,
                                      const float *in, const float *w, int64_t n, int64_t ic,
                                      int64_t oc);

/* =========================================================== convolution */

/* Geometry of a 2-d convolution (Conv1d is H = KH = 1): fill b..g (stride
 * sh/sw >= 1, padding ph/pw, dilation dh/dw >= 1, groups g dividing C and
 * OC), then call ckpt_nn_conv2d_out_size for oh/ow. */
typedef struct ckpt_nn_conv2d_dims {
    int64_t b, c, h, w; /* input (B,C,H,W) */
    int64_t oc, kh, kw; /* weight (OC,C/G,KH,KW) */
    int64_t sh, sw, ph, pw, dh, dw, g;
    int64_t oh, ow; /* output (B,OC,OH,OW); filled by ckpt_nn_conv2d_out_size */
} ckpt_nn_conv2d_dims;
/* Fills d->oh, d->ow with torch's formula (H + 2P - D*(K-1) - 1) / S + 1;
 * returns false when the output would be empty. */
CKPT_API bool ckpt_nn_conv2d_out_size(ckpt_nn_conv2d_dims *d);
/* Scratch floats ckpt_nn_conv2d_forward needs: (C/G*KH*KW) * (OH*OW). */
CKPT_API size_t ckpt_nn_conv2d_ws(const ckpt_nn_conv2d_dims *d);
/* out (B,OC,OH,OW) = conv(in (B,C,H,W), w (OC,C/G,KH,KW)) + b (OC) (b NULL:
 * no bias); ws: ckpt_nn_conv2d_ws(d) floats.  im2col per image and group,
 * then sgemm. */
CKPT_API void ckpt_nn_conv2d_forward(float *out, const float *in, const float *w, const float *b,
                                     float *ws, const ckpt_nn_conv2d_dims *d);
/* Scratch floats ckpt_nn_conv2d_backward needs: (C/G*KH*KW) * (OH*OW). */
CKPT_API size_t ckpt_nn_conv2d_backward_ws(const ckpt_nn_conv2d_dims *d);
/* Gradients, added: dw (OC,C/G,KH,KW) += dout @ im2col(in)^T, din (B,C,H,W)
 * += col2im(w^T @ dout), db (OC) += sums of dout per channel; each NULL when
 * not wanted.  dout (B,OC,OH,OW), in (B,C,H,W), w (OC,C/G,KH,KW);
 * ws: ckpt_nn_conv2d_backward_ws(d) floats. */
CKPT_API void ckpt_nn_conv2d_backward(float *din, float *dw, float *db, const float *dout,
                                      const float *in, const float *w, float *ws,
                                      const ckpt_nn_conv2d_dims *d);

/* ConvTranspose2d geometry: input (B,C,H,W), weight (C,OC/G,KH,KW), output
 * padding oph/opw; oh/ow = (H-1)*S - 2P + D*(K-1) + OP + 1 filled by
 * ckpt_nn_conv_transpose2d_out_size (false when empty). */
typedef struct ckpt_nn_conv_transpose2d_dims {
    int64_t b, c, h, w;
    int64_t oc, kh, kw;
    int64_t sh, sw, ph, pw, dh, dw, oph, opw, g;
    int64_t oh, ow;
} ckpt_nn_conv_transpose2d_dims;
CKPT_API bool ckpt_nn_conv_transpose2d_out_size(ckpt_nn_conv_transpose2d_dims *d);
/* Scratch floats of the forward: (OC/G*KH*KW) * (H*W). */
CKPT_API size_t ckpt_nn_conv_transpose2d_ws(const ckpt_nn_conv_transpose2d_dims *d);
/* out (B,OC,OH,OW) = conv_transpose(in (B,C,H,W), w (C,OC/G,KH,KW)) + b (OC)
 * (b NULL: no bias); ws: ckpt_nn_conv_transpose2d_ws(d) floats.  sgemm w^T @ in, then
 * col2im (scatter-add into the bias-filled output). */
CKPT_API void ckpt_nn_conv_transpose2d_forward(float *out, const float *in, const float *w,
                                               const float *b, float *ws,
                                               const ckpt_nn_conv_transpose2d_dims *d);
/* Scratch floats of the backward: (OC/G*KH*KW) * (H*W). */
CKPT_API size_t ckpt_nn_conv_transpose2d_backward_ws(const ckpt_nn_conv_transpose2d_dims *d);
/* Gradients, added: per image and group, cols = im2col(dout), din_g += w_g @
 * cols, dw_g += in_g @ cols^T, db (OC) += sums of dout.  dout (B,OC,OH,OW),
 * in (B,C,H,W), w (C,OC/G,KH,KW); din (B,C,H,W), dw (C,OC/G,KH,KW), db (OC)
 * each NULL when not wanted; ws: ckpt_nn_conv_transpose2d_backward_ws(d) floats. */
CKPT_API void ckpt_nn_conv_transpose2d_backward(float *din, float *dw, float *db,
                                                const float *dout, const float *in,
                                                const float *w, float *ws,
                                                const ckpt_nn_conv_transpose2d_dims *d);

/* ========================================================= normalisation */

/* Per-channel batch statistics, written: mean (C), biased var (C) of
 * in (B,C,S) (S = H*W, or 1 for BatchNorm1d on (B,C)). */
CKPT_API void ckpt_nn_batchnorm_stats(float *mean, float *var, const float *in, int64_t b,
                                      int64_t c, int64_t s);
/* Training-mode running statistics, updated in place: running = factor *
 * batch + (1 - factor) * running per channel (C), the batch variance made
 * unbiased with n / (n - 1) (n = B*S values per channel), as torch's
 * update_stats (factor is the momentum, 0.1 by default). */
CKPT_API void ckpt_nn_batchnorm_update_running(float *rmean, float *rvar, const float *mean,
                                               const float *var, int64_t c, int64_t n,
                                               double factor);
/* out (B,C,S) = (in - mean) / sqrt(var + eps) * w + bias, written; mean,
 * var (C) (batch statistics in training mode, running ones in eval); w, bias
 * (C) or NULL (affine=False).  out may equal in. */
CKPT_API void ckpt_nn_batchnorm_forward(float *out, const float *in, const float *mean,
                                        const float *var, const float *w, const float *bias,
                                        int64_t b, int64_t c, int64_t s, double eps);
/* Gradients of the batchnorm forward, added.  dout, in (B,C,S); mean, var
 * (C): the batch statistics (biased var, ckpt_nn_batchnorm_stats) when
 * `batch_stats` (training mode: the statistics depend on in), else the
 * running statistics (eval: constants); w (C) or NULL (weight 1).
 * din (B,C,S), dw (C), db (C) each NULL when not wanted. */
CKPT_API void ckpt_nn_batchnorm_backward(float *din, float *dw, float *db, const float *dout,
                                         const float *in, const float *mean, const float *var,
                                         const float *w, int64_t b, int64_t c, int64_t s,
                                         double eps, bool batch_stats);

/* out (N,D), written: each row of in (N,D) normalised over its D values
 * (biased variance), times w (D) plus b (D); w, b NULL: no affine. */
CKPT_API void ckpt_nn_layernorm_forward(float *out, const float *in, const float *w,
                                        const float *b, int64_t n, int64_t d, double eps);
/* Gradients, added (the statistics are recomputed from in): din (N,D),
 * dw (D), db (D) each NULL when not wanted.  dout, in (N,D); w (D) or NULL. */
CKPT_API void ckpt_nn_layernorm_backward(float *din, float *dw, float *db, const float *dout,
                                         const float *in, const float *w, int64_t n, int64_t d,
                                         double eps);

/* GroupNorm, written: out, in (B,C,S) with C split into G groups, statistics
 * over (C/G, S) per image; w, b (C) or NULL. */
CKPT_API void ckpt_nn_groupnorm_forward(float *out, const float *in, const float *w,
                                        const float *b, int64_t b_, int64_t c, int64_t s,
                                        int64_t g, double eps);
/* Gradients, added: dout, in (B,C,S); w (C) or NULL.  din (B,C,S), dw (C),
 * db (C) each NULL when not wanted. */
CKPT_API void ckpt_nn_groupnorm_backward(float *din, float *dw, float *db, const float *dout,
                                         const float *in, const float *w, int64_t b, int64_t c,
                                         int64_t s, int64_t g, double eps);

/* Local response normalisation across channels, written: out (B,C,S) =
 * in / (k + alpha / size * sum of in^2 over the channels [c - (size-1)/2,
 * c + size/2] clipped to [0, C))^beta, as ONNX LRN (torch's
 * local_response_norm for odd size).  out must not overlap in.  Added in
 * 0.4. */
CKPT_API void ckpt_nn_lrn_forward(float *out, const float *in, int64_t b, int64_t c, int64_t s,
                                  int64_t size, double alpha, double beta, double k);

/* ============================================================= embedding */

/* out (N,D) = rows idx (N) of table (V,D), written.  Returns -1 at the first
 * index outside [0, V) (the rows before it written), else 0. */
CKPT_API int ckpt_nn_embedding_forward_raw(float *out, const float *table, const int64_t *idx,
                                           int64_t n, int64_t v, int64_t d);
/* dtable (V,D) += rows of dout (N,D) scattered to idx (N); rows whose index
 * equals padding_idx (< 0: none) add nothing.  Returns -1 at the first index
 * outside [0, V) (the rows before it added), else 0. */
CKPT_API int ckpt_nn_embedding_backward(float *dtable, const float *dout, const int64_t *idx,
                                        int64_t n, int64_t v, int64_t d, int64_t padding_idx);

/* =========================================================== activations */

/* Element-wise, written: out (N) = f(in (N)); out may equal in. */
CKPT_API void ckpt_nn_relu_forward(float *out, const float *in, size_t n);
CKPT_API void ckpt_nn_gelu_forward(float *out, const float *in, size_t n);      /* erf */
CKPT_API void ckpt_nn_gelu_tanh_forward(float *out, const float *in, size_t n); /* tanh approx */
CKPT_API void ckpt_nn_silu_forward(float *out, const float *in, size_t n);
CKPT_API void ckpt_nn_tanh_forward(float *out, const float *in, size_t n);
CKPT_API void ckpt_nn_sigmoid_forward(float *out, const float *in, size_t n);
/* Gradients, added: din (N) += dout (N) * f'(x).  relu, gelu, gelu_tanh and
 * silu take the forward input in (N); tanh and sigmoid the forward output
 * out (N), as torch's tanh_backward / sigmoid_backward do. */
CKPT_API void ckpt_nn_relu_backward(float *din, const float *dout, const float *in, size_t n);
CKPT_API void ckpt_nn_gelu_backward(float *din, const float *dout, const float *in, size_t n);
CKPT_API void ckpt_nn_gelu_tanh_backward(float *din, const float *dout, const float *in,
                                         size_t n);
CKPT_API void ckpt_nn_silu_backward(float *din, const float *dout, const float *in, size_t n);
CKPT_API void ckpt_nn_tanh_backward(float *din, const float *dout, const float *out, size_t n);
CKPT_API void ckpt_nn_sigmoid_backward(float *din, const float *dout, const float *out, size_t n);

/* Softmax / log-softmax over the middle axis of (OUTER,D,INNER), written
 * (softmax over the last dim of (N,D) is OUTER = N, INNER = 1). */
CKPT_API void ckpt_nn_softmax_forward(float *out, const float *in, int64_t outer, int64_t d,
                                      int64_t inner);
CKPT_API void ckpt_nn_logsoftmax_forward(float *out, const float *in, int64_t outer, int64_t d,
                                         int64_t inner);
/* Their gradients from the forward OUTPUT out (OUTER,D,INNER), added, as
 * torch's _softmax_backward_data: softmax: din += y * (dout - sum_d(dout *
 * y)); log-softmax: din += dout - exp(y) * sum_d dout. */
CKPT_API void ckpt_nn_softmax_backward(float *din, const float *dout, const float *out,
                                       int64_t outer, int64_t d, int64_t inner);
CKPT_API void ckpt_nn_logsoftmax_backward(float *din, const float *dout, const float *out,
                                          int64_t outer, int64_t d, int64_t inner);

/* Inverted dropout, written: keep each value with probability 1-p and scale
 * it by 1/(1-p); p >= 1 zeroes everything, p <= 0 or rng NULL copies.
 * out, in (N); out may equal in.  Draws from `rng` (ckpt's own stream, not
 * torch's). */
CKPT_API void ckpt_nn_dropout_forward(float *out, const float *in, size_t n, double p,
                                      ckpt_rng *rng);
/* The same draws, also writing the keep mask (N) (1 kept, 0 dropped) when
 * `mask` is not NULL, for the backward. */
CKPT_API void ckpt_nn_dropout_forward_mask(float *out, uint8_t *mask, const float *in, size_t n,
                                           double p, ckpt_rng *rng);
/* din (N) += dout (N) * mask / (1 - p); p >= 1 adds nothing. */
CKPT_API void ckpt_nn_dropout_backward(float *din, const float *dout, const uint8_t *mask,
                                       size_t n, double p);

/* out (N) = a (N) + b (N), written (a residual connection); out may equal
 * a or b. */
CKPT_API void ckpt_nn_add_forward(float *out, const float *a, const float *b, size_t n);
/* din (N) += dout (N): the backward of a view (flatten, reshape) or of
 * either input of an add. */
CKPT_API void ckpt_nn_flatten_backward(float *din, const float *dout, size_t n);

/* =============================================================== pooling */

/* Pooling geometry with torch's options over (BC,H,W) planes (B*C of them):
 * kernel kh/kw, stride sh/sw (>= 1), padding ph/pw (<= half the kernel),
 * dilation dh/dw (max only; 1 for avg), ceil_mode, count_include_pad=False
 * (exclude_pad, avg only), divisor_override (divisor, avg only, 0 = none). */
typedef struct ckpt_nn_pool2d_dims {
    int64_t bc, h, w; /* input planes (BC,H,W) */
    int64_t kh, kw, sh, sw, ph, pw, dh, dw;
    bool ceil_mode;
    bool exclude_pad; /* avg: count_include_pad=False */
    int64_t divisor;  /* avg: divisor_override, 0 = none */
    int64_t oh, ow;   /* filled by ckpt_nn_pool2d_out_size */
} ckpt_nn_pool2d_dims;
/* torch's pooling_output_shape for both dims (with ceil_mode the last window
 * must start inside the input or the left padding); false when empty. */
CKPT_API bool ckpt_nn_pool2d_out_size(ckpt_nn_pool2d_dims *d);
/* out (BC,OH,OW) from in (BC,H,W), written.  Max: -inf padding, NaN
 * propagates; avg: torch's divisor rule (window clipped to input + padding,
 * then to the input when exclude_pad; `divisor` when set). */
CKPT_API void ckpt_nn_maxpool2d_forward_d(float *out, const float *in,
                                          const ckpt_nn_pool2d_dims *d);
CKPT_API void ckpt_nn_avgpool2d_forward_d(float *out, const float *in,
                                          const ckpt_nn_pool2d_dims *d);
/* Gradients, added: din (BC,H,W) += ..., dout (BC,OH,OW).  Max recomputes the
 * argmax from in (BC,H,W) as torch picks it (the first maximum in scan
 * order; a NaN beats any number, the last NaN wins) and routes dout there. */
CKPT_API void ckpt_nn_maxpool2d_backward_d(float *din, const float *dout, const float *in,
                                           const ckpt_nn_pool2d_dims *d);
CKPT_API void ckpt_nn_avgpool2d_backward_d(float *din, const float *dout,
                                           const ckpt_nn_pool2d_dims *d);

/* Square-kernel shorthands (no dilation, floor mode, count_include_pad):
 * out (BC,OH,OW) from in (BC,H,W), OH = (H + 2P - K) / S + 1, written; max
 * pads with -inf, avg counts the padding. */
CKPT_API void ckpt_nn_maxpool2d_forward(float *out, const float *in, int64_t bc, int64_t h,
                                        int64_t w, int64_t k, int64_t s, int64_t p, int64_t oh,
                                        int64_t ow);
CKPT_API void ckpt_nn_avgpool2d_forward(float *out, const float *in, int64_t bc, int64_t h,
                                        int64_t w, int64_t k, int64_t s, int64_t p, int64_t oh,
                                        int64_t ow);
/* Their gradients, added into din (BC,H,W); max takes the forward input. */
CKPT_API void ckpt_nn_maxpool2d_backward(float *din, const float *dout, const float *in,
                                         int64_t bc, int64_t h, int64_t w, int64_t k, int64_t s,
                                         int64_t p, int64_t oh, int64_t ow);
CKPT_API void ckpt_nn_avgpool2d_backward(float *din, const float *dout, int64_t bc, int64_t h,
                                         int64_t w, int64_t k, int64_t s, int64_t p, int64_t oh,
                                         int64_t ow);
/* Adaptive average pooling, written: out (BC,OH,OW) from in (BC,H,W), the
 * window of output i being [floor(i*H/OH), ceil((i+1)*H/OH)).  Its gradient
 * adds into din (BC,H,W). */
CKPT_API void ckpt_nn_adaptive_avgpool2d_forward(float *out, const float *in, int64_t bc,
                                                 int64_t h, int64_t w, int64_t oh, int64_t ow);
CKPT_API void ckpt_nn_adaptive_avgpool2d_backward(float *din, const float *dout, int64_t bc,
                                                  int64_t h, int64_t w, int64_t oh, int64_t ow);

/* =============================================================== padding */

/* out (BC, H+top+bottom, W+left+right), written, = in (BC,H,W) padded by
 * `mode` (ckpt_padding_mode: zeros, reflect (each pad < the size), replicate,
 * circular (each pad <= the size)), as F.pad / Conv's padding_mode. */
CKPT_API void ckpt_nn_pad2d_forward(float *out, const float *in, int64_t bc, int64_t h, int64_t w,
                                    int64_t top, int64_t bottom, int64_t left, int64_t right,
                                    int mode);
/* din (BC,H,W) += the adjoint of ckpt_nn_pad2d_forward applied to dout
 * (BC, H+top+bottom, W+left+right): every padded copy's gradient goes back
 * to its source. */
CKPT_API void ckpt_nn_pad2d_backward(float *din, const float *dout, int64_t bc, int64_t h,
                                     int64_t w, int64_t top, int64_t bottom, int64_t left,
                                     int64_t right, int mode);

/* ======================================================= recurrent layers
 * One direction of one LSTM or GRU layer over a whole sequence, and its
 * backward through time.  A sequence is T*B rows in time-major order (row of
 * step t, batch b: t*B + b) or batch-first order (b*T + t); input rows are In
 * wide, output rows `out_width` wide (dirs * H: both directions of a
 * bidirectional layer write the same rows, this one at columns [col,
 * col + H)).  Work buffers use the same row order.  Torch's gate order and
 * formulas:
 *   LSTM  gates = x W_ih^T + b_ih + h W_hh^T + b_hh, split i, f, g, o;
 *         i, f, o = sigmoid; g = tanh; c' = f c + i g; h' = o tanh(c').
 *   GRU   gx = x W_ih^T + b_ih, gh = h W_hh^T + b_hh, split r, z, n;
 *         r = sigmoid(gx_r + gh_r); z = sigmoid(gx_z + gh_z);
 *         n = tanh(gx_n + r * gh_n); h' = (1 - z) n + z h.
 * A multi-layer or bidirectional nn.LSTM is these calls per layer and
 * direction, layer l + 1 reading layer l's output rows. */
typedef enum ckpt_rnn_kind { CKPT_RNN_LSTM = 0, CKPT_RNN_GRU = 1 } ckpt_rnn_kind;

/* One direction of one layer. */
typedef struct ckpt_rnn_dir {
    int kind; /* ckpt_rnn_kind */
    int64_t T, B, In, H;
    int64_t out_width; /* row width of `out`: dirs * H */
    int64_t col;       /* this direction's first column in `out` */
    bool batch_first;  /* row order of x, out and the work buffers */
    bool reverse;      /* runs t = T-1 .. 0 */
    const float *w_ih; /* (G, In), G = 4H (LSTM) or 3H (GRU) */
    const float *w_hh; /* (G, H) */
    const float *b_ih; /* (G) or NULL */
    const float *b_hh; /* (G) or NULL */
    const float *h0;   /* (B, H) or NULL (zeros) */
    const float *c0;   /* LSTM: (B, H) or NULL (zeros) */
} ckpt_rnn_dir;

/* Gate count G / H: 4 (LSTM) or 3 (GRU). */
CKPT_API int64_t ckpt_rnn_gate_mult(int kind);

/* Activations the forward saves for the backward (caller memory):
 * gates (T*B rows, G): post-activation gates (LSTM i,f,g,o; GRU r,z,n);
 * aux (T*B rows, H): LSTM cell states c_t; GRU gh_n = h W_hn^T + b_hn. */
typedef struct ckpt_rnn_saved {
    float *gates;
    float *aux;
} ckpt_rnn_saved;

/* Runs one direction, written: out's columns [col, col+H) of every row, s's
 * buffers, h_n (B,H) and, for LSTM, c_n (B,H) (either may be NULL).
 * x (T*B rows, In); hh (B, G) scratch. */
CKPT_API void ckpt_rnn_dir_forward(const ckpt_rnn_dir *d, const float *x, float *out,
                                   const ckpt_rnn_saved *s, float *hh, float *h_n, float *c_n);

/* Gradients of one direction, added into; any NULL is not wanted. */
typedef struct ckpt_rnn_dir_grads {
    float *dx;            /* (T*B rows, In) */
    float *dw_ih, *dw_hh; /* (G, In), (G, H) */
    float *db_ih, *db_hh; /* (G) */
    float *dh0, *dc0;     /* (B, H) */
} ckpt_rnn_dir_grads;

/* Backpropagation through time for one direction, from the forward's x, out
 * and saved activations.  dout: gradient of out (same rows and width; NULL =
 * zeros); dh_n, dc_n: gradients of h_n / c_n ((B,H), NULL = zeros).  Scratch:
 * dgx, dgh (T*B rows, G; dgh unused for LSTM and may alias dgx), dh, dc
 * (B, H). */
CKPT_API void ckpt_rnn_dir_backward(const ckpt_rnn_dir *d, const float *x, const float *out,
                                    const ckpt_rnn_saved *s, const float *dout, const float *dh_n,
                                    const float *dc_n, float *dgx, float *dgh, float *dh,
                                    float *dc, const ckpt_rnn_dir_grads *g);

/* ============================================================= attention */

/* Scaled dot-product attention for one (batch, head) pair over strided rows,
 * written: out = softmax(q k^T / sqrt(HD)) v.  q (T,HD) with row stride qs,
 * k (S,HD) row stride ks, v (S,HD) row stride vs, out (T,HD) row stride os
 * (strides in floats: a head of a packed (T, 3E) projection is q = base +
 * h*HD, qs = 3E); scores (T,S) scratch.  When p > 0 and rng is non-NULL,
 * dropout is applied to the attention weights. */
CKPT_API void ckpt_nn_attention_forward(float *out, const float *q, const float *k,
                                        const float *v, float *scores, int64_t t, int64_t s,
                                        int64_t hd, int64_t qs, int64_t ks, int64_t vs,
                                        int64_t os, double p, ckpt_rng *rng);

/* MultiheadAttention geometry (packed in_proj, kdim = vdim = E, no masks).
 * Query rows (T,B,E) (sequence-first) or (B,T,E) (batch_first); key/value
 * rows likewise with length S.  A 2-d (L,E) input is b = 1. */
typedef struct ckpt_nn_multihead_attention_dims {
    int64_t b, t, s; /* batch, query length, key/value length */
    int64_t e, h;    /* embed_dim, num_heads (E % H == 0) */
    bool batch_first;
} ckpt_nn_multihead_attention_dims;
/* Scratch floats ckpt_nn_multihead_attention_backward needs: 2 * (B*T*E + 2*B*S*E) + B*H*T*S
 * + 2 * B*T*E + T*S. */
CKPT_API size_t ckpt_nn_multihead_attention_backward_ws(const ckpt_nn_multihead_attention_dims *d);
/* Gradients of out = out_proj(concat_h(A_h V_h)), A_h = dropout(softmax(Q_h
 * K_h^T / sqrt(E/H))), Q = q Wq^T + bq, K = k Wk^T + bk, V = v Wv^T + bv
 * (W = in_proj_weight rows [0,E), [E,2E), [2E,3E)), added.  The forward is
 * recomputed from the inputs into ws (nothing else is saved).
 * dout, q (B*T,E); k, v (B*S,E) in the layout of d; in_w (3E,E), in_b (3E)
 * or NULL, out_w (E,E), out_b (E) or NULL.  attn_mask (B,H,T,S): the
 * attention-dropout keep mask (1 kept) drawn with probability attn_p, or
 * NULL (eval / p = 0).  dq (B*T,E), dk, dv (B*S,E), din_w (3E,E), din_b
 * (3E), dout_w (E,E), dout_b (E) each NULL when not wanted.  Self-attention:
 * pass the same tensor as q, k, v and the same buffer as dq, dk, dv.
 * ws: ckpt_nn_multihead_attention_backward_ws(d) floats. */
CKPT_API void ckpt_nn_multihead_attention_backward(
    float *dq, float *dk, float *dv, float *din_w, float *din_b, float *dout_w, float *dout_b,
    const float *dout, const float *q, const float *k, const float *v, const float *in_w,
    const float *in_b, const float *out_w, const float *out_b, const uint8_t *attn_mask,
    double attn_p, float *ws, const ckpt_nn_multihead_attention_dims *d);

/* TransformerEncoderLayer (torch 1.13; self-attention, no masks).  Input
 * (T,B,E) or (B,T,E) per batch_first; FF = dim_feedforward; act CKPT_ACT_RELU
 * or CKPT_ACT_GELU; eps = layer_norm_eps. */
typedef struct ckpt_nn_transformer_encoder_layer_dims {
    int64_t b, t, e, h, ff;
    ckpt_act_kind act;
    double eps;
    bool batch_first, norm_first;
} ckpt_nn_transformer_encoder_layer_dims;
/* The layer's parameters, read (all required). */
typedef struct ckpt_nn_transformer_encoder_layer_params {
    const float *in_proj_w, *in_proj_b;   /* (3E,E), (3E) */
    const float *out_proj_w, *out_proj_b; /* (E,E), (E) */
    const float *linear1_w, *linear1_b;   /* (FF,E), (FF) */
    const float *linear2_w, *linear2_b;   /* (E,FF), (E) */
    const float *norm1_w, *norm1_b;       /* (E), (E) */
    const float *norm2_w, *norm2_b;       /* (E), (E) */
} ckpt_nn_transformer_encoder_layer_params;
/* Their gradients, same shapes, added into; any may be NULL (not wanted). */
typedef struct ckpt_nn_transformer_encoder_layer_grads {
    float *in_proj_w, *in_proj_b;
    float *out_proj_w, *out_proj_b;
    float *linear1_w, *linear1_b;
    float *linear2_w, *linear2_b;
    float *norm1_w, *norm1_b;
    float *norm2_w, *norm2_b;
} ckpt_nn_transformer_encoder_layer_grads;
/* Training-mode dropout keep masks (1 kept) drawn in the forward, all with
 * probability p: attn (B,H,T,T) on the attention weights, drop1 (B*T,E)
 * after self-attention, drop (B*T,FF) after the activation, drop2 (B*T,E)
 * after linear2.  A NULL masks pointer is the eval / no-dropout path. */
typedef struct ckpt_nn_transformer_encoder_layer_masks {
    const uint8_t *attn, *drop1, *drop, *drop2;
    double p;
} ckpt_nn_transformer_encoder_layer_masks;
/* Scratch floats ckpt_nn_transformer_encoder_layer_backward needs: ckpt_nn_multihead_attention_backward_ws
 * + 9 * B*T*E + 4 * B*T*FF. */
CKPT_API size_t
ckpt_nn_transformer_encoder_layer_backward_ws(const ckpt_nn_transformer_encoder_layer_dims *d);
/* din (B*T,E) (NULL: not wanted) and every non-NULL field of g += the
 * gradients of sum(dout * layer(in)); the forward is recomputed into ws from
 * in (B*T,E) and p.  dout (B*T,E); m the dropout masks or NULL; ws:
 * ckpt_nn_transformer_encoder_layer_backward_ws(d) floats. */
CKPT_API void ckpt_nn_transformer_encoder_layer_backward(
    float *din, const ckpt_nn_transformer_encoder_layer_grads *g, const float *dout,
    const float *in, const ckpt_nn_transformer_encoder_layer_params *p,
    const ckpt_nn_transformer_encoder_layer_masks *m, float *ws,
    const ckpt_nn_transformer_encoder_layer_dims *d);

#ifdef __cplusplus
}
#endif
#endif
