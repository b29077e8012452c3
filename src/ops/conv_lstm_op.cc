#include "ops/conv_lstm_op.h"

#include <algorithm>
#include <string>

namespace kiln {

Status ConvLstmOp::params(const Shape& x, ConvLstmParams* p) const {
  if (x.size() != 5) return Status::error("ConvLSTM2D: input must be [batch, steps, height, width, channels], got " + shape_to_string(x));
  const Status s = conv_lstm_params(x[0], x[1], x[2], x[3], x[4], a_.filters, a_.kernel_h, a_.kernel_w, a_.stride_h, a_.stride_w,
                                    a_.dilation_h, a_.dilation_w, a_.same_padding, a_.activation, a_.recurrent_activation,
                                    a_.go_backwards, p);
  return s.ok() ? s : Status::error("ConvLSTM2D: " + s.message());
}

Status ConvLstmOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  const size_t want = size_t(first_state_input() + (a_.has_initial_state ? 2 : 0));
  if (in.size() != want) return Status::error("ConvLSTM2D: expected " + std::to_string(want) + " inputs, got " + std::to_string(in.size()));
  ConvLstmParams p;
  KILN_RETURN_IF_ERROR(params(in[0], &p));
  const int64_t F = a_.filters, oh = p.input_conv.out_h, ow = p.input_conv.out_w;
  const Shape kernel{a_.kernel_h, a_.kernel_w, in[0][4], 4 * F}, recurrent{a_.kernel_h, a_.kernel_w, F, 4 * F};
  if (in[1] != kernel) return Status::error("ConvLSTM2D: kernel must be " + shape_to_string(kernel) + ", got " + shape_to_string(in[1]));
  if (in[2] != recurrent)
    return Status::error("ConvLSTM2D: recurrent kernel must be " + shape_to_string(recurrent) + ", got " + shape_to_string(in[2]));
  if (a_.has_bias && in[3] != Shape{4 * F}) return Status::error("ConvLSTM2D: bias must be [" + std::to_string(4 * F) + "]");
  const Shape state{p.batch, oh, ow, F}, seq{p.batch, p.steps, oh, ow, F};
  for (size_t s = size_t(first_state_input()); s < in.size(); ++s)
    if (in[s] != state) return Status::error("ConvLSTM2D: initial state must be " + shape_to_string(state) + ", got " + shape_to_string(in[s]));
  *out = {a_.return_sequences ? seq : state, state, state, {conv_lstm_saved_floats(p)}};
  if (!a_.return_sequences) out->push_back(seq);
  return Status();
}

void ConvLstmOp::forward(const OpForwardArgs& a) const {
  ConvLstmParams p;
  params(a.in_shapes[0], &p);
  const int first = first_state_input();
  const float* bias = a_.has_bias ? a.in[3] : nullptr;
  const float* h0 = a_.has_initial_state ? a.in[size_t(first)] : nullptr;
  const float* c0 = a_.has_initial_state ? a.in[size_t(first) + 1] : nullptr;
  float* seq = a_.return_sequences ? a.out[0] : a.out[4];
  conv_lstm_forward(p, a.in[0], a.in[1], a.in[2], bias, h0, c0, seq, a.out[1], a.out[2], a.out[3], {a.workspace, a.workspace_floats});
  if (!a_.return_sequences) std::copy(a.out[1], a.out[1] + p.state_floats(), a.out[0]);
}

void ConvLstmOp::backward(const OpBackwardArgs& a) const {
  ConvLstmParams p;
  params(a.in_shapes[0], &p);
  const int first = first_state_input();
  const int64_t state = p.state_floats();
  auto din = [&](int i) { return size_t(i) < a.din.size() ? a.din[size_t(i)] : nullptr; };
  const float* h0 = a_.has_initial_state ? a.in[size_t(first)] : nullptr;
  const float* c0 = a_.has_initial_state ? a.in[size_t(first) + 1] : nullptr;
  // Workspace: the summed last-state gradient, then the kernel's scratch.
  float* dh_sum = a.workspace;
  const Scratch scratch = Scratch{a.workspace, a.workspace_floats}.after(state);
  const float* dy_seq = a.dout[0];
  const float* dh_last = a.dout[1];
  if (!a_.return_sequences) {  // y is h_last: both gradients reach the last state
    for (int64_t i = 0; i < state; ++i) dh_sum[i] = a.dout[0][i] + a.dout[1][i];
    dy_seq = nullptr;
    dh_last = dh_sum;
  }
  conv_lstm_backward(p, a.in[0], a.in[1], a.in[2], h0, c0, a.out[3], dy_seq, dh_last, a.dout[2], din(0), din(1), din(2),
                     a_.has_bias ? din(3) : nullptr, a_.has_initial_state ? din(first) : nullptr,
                     a_.has_initial_state ? din(first + 1) : nullptr, scratch);
}

int64_t ConvLstmOp::forward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>&) const {
  ConvLstmParams p;
  return params(in[0], &p).ok() ? conv_lstm_forward_scratch_floats(p) : 0;
}

int64_t ConvLstmOp::backward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>&) const {
  ConvLstmParams p;
  return params(in[0], &p).ok() ? p.state_floats() + conv_lstm_backward_scratch_floats(p) : 0;
}

}  // namespace kiln
