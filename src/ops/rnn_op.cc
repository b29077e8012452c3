#include "ops/rnn_op.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/thread_pool.h"

namespace kiln {

namespace {
void copy_floats(float* dst, const float* src, int64_t n) { std::memcpy(dst, src, size_t(n) * sizeof(float)); }
}  // namespace

RnnParams RnnOp::params(const Shape& x) const {
  RnnParams p;
  p.cell = a_.cell;
  p.batch = x[0];
  p.steps = x[1];
  p.input = x[2];
  p.units = a_.units;
  p.activation = a_.activation;
  p.recurrent_activation = a_.recurrent_activation;
  p.go_backwards = a_.go_backwards;
  p.reset_after = a_.reset_after;
  p.has_bias = a_.has_bias;
  return p;
}

Status RnnOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  const std::string n = name();
  const size_t want = size_t(mask_input() + (a_.has_mask ? 1 : 0));
  if (in.size() != want) return Status::error(n + ": expected " + std::to_string(want) + " inputs, got " + std::to_string(in.size()));
  if (in[0].size() != 3) return Status::error(n + ": input must be [batch, steps, features], got " + shape_to_string(in[0]));
  const RnnParams p = params(in[0]);
  KILN_RETURN_IF_ERROR(rnn_check_params(p));
  const int64_t g = rnn_gates(a_.cell), u = a_.units;
  if (in[1] != Shape{p.input, g * u}) return Status::error(n + ": kernel must be " + shape_to_string({p.input, g * u}) + ", got " + shape_to_string(in[1]));
  if (in[2] != Shape{u, g * u}) return Status::error(n + ": recurrent kernel must be " + shape_to_string({u, g * u}) + ", got " + shape_to_string(in[2]));
  if (a_.has_bias && shape_numel(in[3]) != rnn_bias_size(p))
    return Status::error(n + ": bias must hold " + std::to_string(rnn_bias_size(p)) + " values, got " + shape_to_string(in[3]));
  if (a_.has_mask && in.back() != Shape{p.batch, p.steps})
    return Status::error(n + ": the mask must be " + shape_to_string({p.batch, p.steps}) + ", got " + shape_to_string(in.back()));
  for (size_t s = size_t(first_state_input()); s < size_t(mask_input()); ++s)
    if (in[s] != Shape{p.batch, u})
      return Status::error(n + ": initial state must be " + shape_to_string({p.batch, u}) + ", got " + shape_to_string(in[s]));
  const Shape state{p.batch, u}, seq{p.batch, p.steps, u};
  out->assign({a_.return_sequences ? seq : state, state});
  if (a_.cell == RnnCell::kLstm) out->push_back(state);
  out->push_back({std::max<int64_t>(1, rnn_workspace_floats(p))});
  if (!a_.return_sequences) out->push_back(seq);
  if (a_.stateful)
    for (int s = 0; s < num_states(); ++s) out->push_back(state);
  return Status();
}

void RnnOp::forward(const OpForwardArgs& a) const { run_forward(a, false); }
void RnnOp::forward_reference(const OpForwardArgs& a) const { run_forward(a, true); }
void RnnOp::backward(const OpBackwardArgs& a) const { run_backward(a, false); }
void RnnOp::backward_reference(const OpBackwardArgs& a) const { run_backward(a, true); }

void RnnOp::run_forward(const OpForwardArgs& a, bool reference) const {
  RnnParams p = params(a.in_shapes[0]);
  if (a_.has_mask) p.step_mask = a.in[size_t(mask_input())];
  const int r = num_results(), first = first_state_input();
  const float* bias = a_.has_bias ? a.in[3] : nullptr;
  const float* h0 = a_.has_initial_state ? a.in[size_t(first)] : nullptr;
  const float* c0 = a_.has_initial_state && a_.cell == RnnCell::kLstm ? a.in[size_t(first) + 1] : nullptr;
  const int64_t state_n = p.batch * p.units;
  float* seq = a_.return_sequences ? a.out[0] : a.out[size_t(r) + 1];
  if (a_.stateful) {  // run from copies: the state buffers are overwritten below
    const size_t copies = a.out.size() - size_t(num_states());
    copy_floats(a.out[copies], h0, state_n);
    h0 = a.out[copies];
    if (c0) {
      copy_floats(a.out[copies + 1], c0, state_n);
      c0 = a.out[copies + 1];
    }
  }
  float* c_last = a_.cell == RnnCell::kLstm ? a.out[2] : nullptr;
  if (reference) rnn_forward_reference(p, a.in[0], h0, c0, a.in[1], a.in[2], bias, seq, a.out[1], c_last, a.out[size_t(r)]);
  else rnn_forward(p, a.in[0], h0, c0, a.in[1], a.in[2], bias, seq, a.out[1], c_last, a.out[size_t(r)], {a.workspace, a.workspace_floats});
  if (!a_.return_sequences) copy_floats(a.out[0], a.out[1], state_n);
  if (a_.stateful) {
    copy_floats(const_cast<float*>(a.in[size_t(first)]), a.out[1], state_n);
    if (c_last) copy_floats(const_cast<float*>(a.in[size_t(first) + 1]), c_last, state_n);
  }
}

void RnnOp::run_backward(const OpBackwardArgs& a, bool reference) const {
  RnnParams p = params(a.in_shapes[0]);
  if (a_.has_mask) p.step_mask = a.in[size_t(mask_input())];
  const int r = num_results(), first = first_state_input();
  const int64_t state_n = p.batch * p.units;
  const bool lstm = a_.cell == RnnCell::kLstm;
  const float* bias = a_.has_bias ? a.in[3] : nullptr;
  const float *h0 = nullptr, *c0 = nullptr;
  if (a_.stateful) {
    const size_t copies = a.out.size() - size_t(num_states());
    h0 = a.out[copies];
    if (lstm) c0 = a.out[copies + 1];
  } else if (a_.has_initial_state) {
    h0 = a.in[size_t(first)];
    if (lstm) c0 = a.in[size_t(first) + 1];
  }
  // Workspace: the kernel's scratch, then the summed last-state gradient.
  float* scratch = a.workspace;
  float* dh_sum = a.workspace + rnn_backward_scratch_floats(p);
  const float* dy_seq = a.dout[0];
  const float* dh_last = a.dout[1];
  if (!a_.return_sequences) {  // y is h_last: both gradients reach the last state
    for (int64_t i = 0; i < state_n; ++i) dh_sum[i] = a.dout[0][i] + a.dout[1][i];
    dy_seq = nullptr;
    dh_last = dh_sum;
  }
  auto din = [&](int i) { return size_t(i) < a.din.size() ? a.din[size_t(i)] : nullptr; };
  const bool state_grads = a_.has_initial_state && !a_.stateful;
  float* dh0 = state_grads ? din(first) : nullptr;
  float* dc0 = state_grads && lstm ? din(first + 1) : nullptr;
  if (reference) {
    rnn_backward_reference(p, a.in[0], h0, c0, a.in[1], a.in[2], bias, a.out[size_t(r)], dy_seq, dh_last,
                           lstm ? a.dout[2] : nullptr, din(0), dh0, dc0, din(1), din(2), a_.has_bias ? din(3) : nullptr, scratch);
    return;
  }
  const Scratch products = Scratch{a.workspace, a.workspace_floats}.after(rnn_backward_scratch_floats(p) + state_n);
  rnn_backward(p, a.in[0], h0, c0, a.in[1], a.in[2], bias, a.out[size_t(r)], dy_seq, dh_last, lstm ? a.dout[2] : nullptr,
               din(0), dh0, dc0, din(1), din(2), a_.has_bias ? din(3) : nullptr, scratch, products);
}

// The products' scratch (src/cpu/scratch.h).
int64_t RnnOp::forward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>&) const {
  return rnn_gemm_scratch_floats(params(in[0]), ThreadPool::global().num_threads());
}

// The kernel's scratch, the summed last-state gradient, then the products' scratch.
int64_t RnnOp::backward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>&) const {
  const RnnParams p = params(in[0]);
  return rnn_backward_scratch_floats(p) + p.batch * p.units + rnn_gemm_scratch_floats(p, ThreadPool::global().num_threads());
}

}  // namespace kiln
