// Recurrent-layer kernels on raw float buffers (no graph knowledge): the whole
// sequence forward and backward-through-time for SimpleRNN, LSTM and GRU, with
// Keras / TensorFlow.js semantics and weight layouts.
//
// Shapes (row-major, float32):
//   x          [batch, steps, input]
//   kernel     [input, G * units]        G = rnn_gates(cell)
//   recurrent  [units, G * units]
//   bias       [G * units], or [2, 3 * units] for GRU with reset_after
//              (input bias row, then recurrent bias row); ignored (may be
//              null) when has_bias is false. See rnn_bias_size().
//   h0, c0     [batch, units] initial states (c0: LSTM only). Null = zeros.
//   y_seq      [batch, steps, units] the output of every step, in PROCESSING
//              order: with go_backwards, y_seq[:, k] is the output after
//              consuming x[:, steps - 1 - k] (TF.js rnn() and Keras stack the
//              per-step outputs without re-reversing them). The last
//              processed step, y_seq[:, steps - 1], equals h_last.
//   h_last, c_last [batch, units] final states (c_last: LSTM only). Either
//              may be null when not wanted.
//
// Gate column blocks of kernel / recurrent / bias, each `units` wide:
//   SimpleRNN  h' = act(x W + h U + b)
//   LSTM       i, f, c~, o (Keras order):
//                i = ra(x Wi + h Ui + bi)   f = ra(...)   o = ra(...)
//                c~ = act(x Wc + h Uc + bc)
//                c' = f * c + i * c~        h' = o * act(c')
//   GRU        z (update), r (reset), h~ (candidate):
//                z = ra(x Wz + h Uz + bz)   r = ra(x Wr + h Ur + br)
//                reset_after = false (TF.js, Keras 1):
//                  h~ = act(x Wh + bh + (r * h) Uh)
//                reset_after = true (Keras 2 default, cuDNN / PyTorch form;
//                  the recurrent bias row joins z and r too):
//                  h~ = act(x Wh + bh_in + r * (h Uh + bh_rec))
//                h' = z * h + (1 - z) * h~
// where act = activation and ra = recurrent_activation (LSTM and GRU only).
// Both must be elementwise (not softmax / logSoftmax); rnn_check_params says
// so. Any elementwise Activation works, its gradient included (gelu, swish
// and mish make the forward save pre-activations too).
//
// Defaults follow TF.js: activation tanh, recurrent_activation hardSigmoid
// (clip(0.2 x + 0.5, 0, 1); Keras 2 in Python defaults to sigmoid, PyTorch
// always uses sigmoid), GRU reset_after false (TF.js cannot do true).
// unitForgetBias and dropout are not kernel concerns; masking is (step_mask).
//
// The fast functions project every timestep's input with one multithreaded
// gemm() (bias fused), run one gemm() per step for the recurrent product (two
// for GRU without reset_after), and fuse the gate nonlinearities in tiled
// loops spread over the thread pool; sigmoid and tanh there are vectorizable
// versions within 2 float ulps of activation_forward's libm ones. The
// backward pass stores each step's gate gradients and then forms dkernel,
// drecurrent and dx with one gemm() each over all steps (two where a GRU's
// candidate block takes a different operand). The *_reference functions are
// plain loops with double accumulation, which the tests hold the fast ones to.
#pragma once
#include <cstdint>

#include "core/activation.h"
#include "core/status.h"
#include "cpu/scratch.h"

namespace kiln {

// Codes may be stored in model files: append new ones at the end.
enum class RnnCell : uint8_t { kSimple = 0, kLstm = 1, kGru = 2 };
constexpr int kNumRnnCells = 3;

// "SimpleRNN", "LSTM", "GRU" (the TF.js layer class names).
const char* rnn_cell_name(RnnCell cell);
bool rnn_cell_from_name(const char* name, RnnCell* out);

struct RnnParams {
  RnnCell cell = RnnCell::kLstm;
  int64_t batch = 0, steps = 0, input = 0, units = 0;
  Activation activation = Activation::kTanh;
  Activation recurrent_activation = Activation::kHardSigmoid;  // unused by SimpleRNN
  bool go_backwards = false;
  bool reset_after = false;  // GRU only
  bool has_bias = true;
  // TF.js's masking: [batch, steps] values, indexed by input step (as x).
  // A step whose value is 0 leaves the sample's state unchanged and outputs
  // the previous h (the initial state at first); its input and gates get no
  // gradient, and the state's gradient passes through it. Null: no mask.
  const float* step_mask = nullptr;
};

// Gate blocks: 1 (SimpleRNN), 4 (LSTM), 3 (GRU).
int rnn_gates(RnnCell cell);
// Floats of kernel ([input, G*units]) and recurrent ([units, G*units]).
int64_t rnn_kernel_size(const RnnParams& p);
int64_t rnn_recurrent_size(const RnnParams& p);
// Floats of the bias: G*units, 6*units for GRU with reset_after, 0 without bias.
int64_t rnn_bias_size(const RnnParams& p);

// Sizes non-negative (batch and steps may be 0: then nothing is computed
// beyond copying h0 / c0 to h_last / c_last), units and input positive,
// activations elementwise, reset_after only for GRU.
Status rnn_check_params(const RnnParams& p);

// Floats of saved activations the backward pass needs (batch * steps *
// (G + 1 to 3) * units, more with gelu / swish / mish). rnn_forward fills it
// when given one; rnn_backward reads it. Contents are private to these two.
int64_t rnn_workspace_floats(const RnnParams& p);

// Full-sequence forward. y_seq is always written; workspace may be null at
// inference (then a temporary is allocated inside the call). No output may
// overlap an input or another output.
// gemm_scratch: rnn_gemm_scratch_floats(p, threads) floats for the products
// (cpu/scratch.h: lent by the caller; less or none and they allocate).
void rnn_forward(const RnnParams& p, const float* x, const float* h0, const float* c0, const float* kernel,
                 const float* recurrent, const float* bias, float* y_seq, float* h_last, float* c_last,
                 float* workspace, const Scratch& gemm_scratch = {});
int64_t rnn_gemm_scratch_floats(const RnnParams& p, int threads);

// Floats of the scratch rnn_backward works in (batch * steps * G * units for
// the gate gradients, plus a transposed recurrent kernel and a few states).
int64_t rnn_backward_scratch_floats(const RnnParams& p);

// Backward through time, from the workspace rnn_forward filled with the same
// p and inputs (of those, only x, kernel and recurrent are read again).
// Every gradient output is OVERWRITTEN (nothing accumulates): dx [batch,
// steps, input], dh0 / dc0 [batch, units], dkernel, drecurrent, dbias shaped
// like their weights. Any output may be null to skip it (dbias
// is not written without bias; dc0 only for LSTM). Incoming gradients:
// dy_seq [batch, steps, units] in the same processing order as y_seq
// (e.g. all zeros but the last step when return_sequences is false), and
// dh_last / dc_last [batch, units]; each may be null, meaning zeros.
// scratch: rnn_backward_scratch_floats(p) floats whose contents do not
// matter (a graph can lend it from its arena); null allocates and frees one
// inside the call.
void rnn_backward(const RnnParams& p, const float* x, const float* h0, const float* c0, const float* kernel,
                  const float* recurrent, const float* bias, const float* workspace, const float* dy_seq,
                  const float* dh_last, const float* dc_last, float* dx, float* dh0, float* dc0, float* dkernel,
                  float* drecurrent, float* dbias, float* scratch = nullptr, const Scratch& gemm_scratch = {});

// Reference versions: straightforward per-element loops, no gemm(), no
// threads, double accumulators. Same contracts, except that they neither
// write nor read the workspace or scratch (the backward recomputes the
// forward itself), so both may be null.
void rnn_forward_reference(const RnnParams& p, const float* x, const float* h0, const float* c0,
                           const float* kernel, const float* recurrent, const float* bias, float* y_seq,
                           float* h_last, float* c_last, float* workspace);
void rnn_backward_reference(const RnnParams& p, const float* x, const float* h0, const float* c0,
                            const float* kernel, const float* recurrent, const float* bias, const float* workspace,
                            const float* dy_seq, const float* dh_last, const float* dc_last, float* dx, float* dh0,
                            float* dc0, float* dkernel, float* drecurrent, float* dbias, float* scratch = nullptr);

}  // namespace kiln
