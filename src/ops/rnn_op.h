// A whole recurrent layer's sequence (SimpleRNN, LSTM, GRU) as one graph op.
// Kernels: src/cpu/rnn.cc (fast) and src/cpu/rnn_reference.cc.
//
// Inputs:  x [b, steps, input], kernel, recurrent_kernel[, bias][, h0[, c0]]
//          [, mask [b, steps]] (TF.js layouts, see src/cpu/rnn.h; h0 / c0
//          [b, units] are the initial states, zeros when absent; c0 only for
//          LSTM; the mask's 0 steps keep the state, see RnnParams::step_mask).
// Results: y ([b, steps, units] with return_sequences, else [b, units]),
//          h_last [b, units], and c_last [b, units] for LSTM.
// Saved:   the kernel's workspace, the step outputs when they are not a
//          result, and for stateful layers a copy of the initial states.
//
// Stateful: h0 (and c0) are the layer's state buffers. The forward copies
// them aside (the backward needs the states the sequence started from), runs,
// then writes the final states back into them; they get no gradient.
#pragma once
#include "cpu/rnn.h"
#include "graph/op.h"

namespace kiln {

struct RnnAttrs {
  RnnCell cell = RnnCell::kLstm;
  int64_t units = 0;
  Activation activation = Activation::kTanh;
  Activation recurrent_activation = Activation::kHardSigmoid;
  bool go_backwards = false, reset_after = false, has_bias = true;
  bool return_sequences = false;
  bool has_initial_state = false;  // h0 (and c0) inputs present
  bool stateful = false;           // the initial-state inputs are state buffers updated in place
  bool has_mask = false;           // a last input [b, steps] masks steps (TF.js's Masking, Embedding maskZero)
};

class RnnOp : public Op {
 public:
  explicit RnnOp(RnnAttrs a) : a_(a) {}
  std::string name() const override { return rnn_cell_name(a_.cell); }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  int num_results() const override { return a_.cell == RnnCell::kLstm ? 3 : 2; }
  void forward(const OpForwardArgs& a) const override;
  bool differentiable(int input) const override {
    return !(a_.has_mask && input == mask_input()) && !(a_.stateful && input >= first_state_input());
  }
  void backward(const OpBackwardArgs& a) const override;
  int64_t forward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>& out) const override;
  int64_t backward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>& out) const override;
  bool has_side_effects() const override { return a_.stateful; }
  // The reference forward leaves the saved workspace unwritten and the
  // reference backward recomputes the forward instead of reading it, so the
  // two run as a pair (both are on the reference backend when either is).
  bool has_reference() const override { return true; }
  void forward_reference(const OpForwardArgs& a) const override;
  void backward_reference(const OpBackwardArgs& a) const override;

 private:
  void run_forward(const OpForwardArgs& a, bool reference) const;
  void run_backward(const OpBackwardArgs& a, bool reference) const;
  int num_states() const { return a_.cell == RnnCell::kLstm ? 2 : 1; }
  int first_state_input() const { return a_.has_bias ? 4 : 3; }
  int mask_input() const { return first_state_input() + (a_.has_initial_state ? num_states() : 0); }
  RnnParams params(const Shape& x) const;
  RnnAttrs a_;
};

}  // namespace kiln
