/* src/ops/rnn_kernels.h - raw float32 kernels of the recurrent layers (LSTM,
 * GRU): the forward of one direction of one layer over a whole sequence, and
 * its backward through time (BPTT).
 *
 * Layout.  A sequence is a set of T*B rows, in time-major order (row of step
 * t, batch b: t*B + b) or batch-first order (b*T + t); the input rows are In
 * wide, the output rows `out_width` wide (dirs * H: both directions of a
 * bidirectional layer write the same rows, this direction at columns
 * [col, col + H)).  Per-row work buffers (gates, cells) use the same row
 * order.
 *
 * Math (torch's gate order and formulas):
 *   LSTM  gates = x W_ih^T + b_ih + h W_hh^T + b_hh, split i, f, g, o;
 *         i, f, o = sigmoid; g = tanh; c' = f c + i g; h' = o tanh(c').
 *   GRU   gx = x W_ih^T + b_ih, gh = h W_hh^T + b_hh, split r, z, n;
 *         r = sigmoid(gx_r + gh_r); z = sigmoid(gx_z + gh_z);
 *         n = tanh(gx_n + r * gh_n); h' = (1 - z) n + z h.
 * The input projection of every step is one sgemm; each step adds one
 * (B,H) x (H,G) sgemm.  Backward accumulates (+=) into every gradient it is
 * given (NULL: not wanted).  Kernels never allocate: scratch is passed in.
 */
#ifndef CKPT_OPS_RNN_KERNELS_H
#define CKPT_OPS_RNN_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

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
int64_t ckpt_rnn_gate_mult(int kind);

/* Saved activations of one direction (what the backward needs):
 *   gates (T*B rows, G): post-activation gates (LSTM i,f,g,o; GRU r,z,n);
 *   aux (T*B rows, H): LSTM cell states c_t; GRU gh_n = h W_hn^T + b_hn.
 * Scratch: hh (B, G). */
typedef struct ckpt_rnn_saved {
    float *gates;
    float *aux;
} ckpt_rnn_saved;

/* Runs one direction: writes out's columns [col, col+H) of every row,
 * h_n (B,H) and, for LSTM, c_n (B,H) (either may be NULL). */
void ckpt_rnn_dir_forward(const ckpt_rnn_dir *d, const float *x, float *out,
                          const ckpt_rnn_saved *s, float *hh, float *h_n, float *c_n);

/* Gradients of one direction (all accumulate; NULL: not wanted). */
typedef struct ckpt_rnn_dir_grads {
    float *dx;           /* (T*B rows, In) */
    float *dw_ih, *dw_hh; /* (G, In), (G, H) */
    float *db_ih, *db_hh; /* (G) */
    float *dh0, *dc0;     /* (B, H) */
} ckpt_rnn_dir_grads;

/* BPTT for one direction, from the forward's x, out and saved activations.
 * dout: gradient of out (same rows and width; NULL = zeros); dh_n, dc_n:
 * gradients of h_n / c_n ((B,H), NULL = zeros).  Scratch: dgx, dgh (T*B
 * rows, G; dgh unused for LSTM and may alias dgx), dh, dc (B, H). */
void ckpt_rnn_dir_backward(const ckpt_rnn_dir *d, const float *x, const float *out,
                           const ckpt_rnn_saved *s, const float *dout, const float *dh_n,
                           const float *dc_n, float *dgx, float *dgh, float *dh, float *dc,
                           const ckpt_rnn_dir_grads *g);

#endif
