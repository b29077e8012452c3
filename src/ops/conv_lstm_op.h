// A whole ConvLSTM2D sequence as one graph op. Kernels: src/cpu/conv_lstm.cc.
//
// Inputs:  x [b, steps, h, w, c], kernel [kh, kw, c, 4F], recurrent_kernel
//          [kh, kw, F, 4F][, bias [4F]][, h0, c0 [b, oh, ow, F]].
// Results: y ([b, steps, oh, ow, F] with return_sequences, else [b, oh, ow, F]),
//          h_last, c_last [b, oh, ow, F].
// Saved:   the kernel's saved activations, and the step outputs when they are not a result.
#pragma once
#include "cpu/conv_lstm.h"
#include "graph/op.h"

namespace kiln {

struct ConvLstmAttrs {
  int64_t filters = 0, kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  bool same_padding = false, has_bias = true, has_initial_state = false;
  bool return_sequences = false, go_backwards = false;
  Activation activation = Activation::kTanh, recurrent_activation = Activation::kHardSigmoid;
};

class ConvLstmOp : public Op {
 public:
  explicit ConvLstmOp(ConvLstmAttrs a) : a_(a) {}
  std::string name() const override { return "ConvLSTM2D"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  int num_results() const override { return 3; }
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;
  int64_t forward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>& out) const override;
  int64_t backward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>& out) const override;
  // The kernels' parameters for input x.
  Status params(const Shape& x, ConvLstmParams* p) const;

 private:
  int first_state_input() const { return a_.has_bias ? 4 : 3; }
  ConvLstmAttrs a_;
};

}  // namespace kiln
