#include "ops/normalization_op.h"

#include <cmath>
#include <vector>

#include "cpu/normalization.h"

namespace kiln {

Status BatchNormOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (int(in.size()) != moving_index() + 2 || in[0].size() < 2) return Status::error("BatchNormalization: bad inputs");
  const int64_t c = in[0].back();
  for (size_t i = 1; i < in.size(); ++i)
    if (in[i] != Shape{c}) return Status::error("BatchNormalization: parameters must be [" + std::to_string(c) + "]");
  *out = {in[0]};
  if (training_) out->insert(out->end(), {Shape{c}, Shape{c}});
  return Status();
}

void BatchNormOp::forward(const OpForwardArgs& a) const { run_forward(a, false); }
void BatchNormOp::forward_reference(const OpForwardArgs& a) const { run_forward(a, true); }
void BatchNormOp::backward(const OpBackwardArgs& a) const { run_backward(a, false); }
void BatchNormOp::backward_reference(const OpBackwardArgs& a) const { run_backward(a, true); }

void BatchNormOp::run_forward(const OpForwardArgs& a, bool reference) const {
  const Shape& s = a.in_shapes[0];
  const int64_t c = s.back(), rows = shape_numel(s) / c;
  const float* gamma = has_gamma_ ? a.in[1] : nullptr;
  const float* beta = has_beta_ ? a.in[1 + int(has_gamma_)] : nullptr;
  // The moving statistics are external weights this op updates in place.
  float* mean = const_cast<float*>(a.in[size_t(moving_index())]);
  float* var = const_cast<float*>(a.in[size_t(moving_index()) + 1]);
  if (training_) (reference ? batch_norm_train_forward_reference : batch_norm_train_forward)(rows, c, a.in[0], gamma, beta, eps_, momentum_, mean, var, a.out[0], a.out[1], a.out[2]);
  else (reference ? batch_norm_inference_forward_reference : batch_norm_inference_forward)(rows, c, a.in[0], gamma, beta, mean, var, eps_, a.out[0]);
}

bool BatchNormOp::differentiable(int input) const { return input < moving_index(); }

void BatchNormOp::run_backward(const OpBackwardArgs& a, bool reference) const {
  const auto backward = reference ? batch_norm_backward_reference : batch_norm_backward;
  const Shape& s = a.in_shapes[0];
  const int64_t c = s.back(), rows = shape_numel(s) / c;
  const float* gamma = has_gamma_ ? a.in[1] : nullptr;
  float* dgamma = has_gamma_ ? a.din[1] : nullptr;
  float* dbeta = has_beta_ ? a.din[size_t(1 + int(has_gamma_))] : nullptr;
  // dx is needed for dgamma/dbeta even when x takes no gradient (a first
  // layer): then it goes to the workspace, after the c floats of 1/std.
  float* inv_std = a.workspace;
  float* dx = a.din[0] ? a.din[0] : a.workspace + c;
  if (training_) {
    backward(rows, c, a.in[0], gamma, a.out[1], a.out[2], a.dout[0], dx, dgamma, dbeta, true);
    return;
  }
  // Inference mode (a frozen layer being fine-tuned through): the moving
  // statistics are constants.
  const float* var = a.in[size_t(moving_index()) + 1];
  for (int64_t i = 0; i < c; ++i) inv_std[i] = float(1.0 / std::sqrt(double(var[i]) + double(eps_)));
  backward(rows, c, a.in[0], gamma, a.in[size_t(moving_index())], inv_std, a.dout[0], dx, dgamma, dbeta, false);
}

int64_t BatchNormOp::backward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>&) const {
  return in[0].back() + shape_numel(in[0]);
}

Status LayerNormOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != size_t(1 + int(has_gamma_) + int(has_beta_)) || in[0].size() < 2) return Status::error("LayerNormalization: bad inputs");
  const int64_t f = in[0].back(), rows = shape_numel(in[0]) / f;
  for (size_t i = 1; i < in.size(); ++i)
    if (in[i] != Shape{f}) return Status::error("LayerNormalization: parameters must be [" + std::to_string(f) + "]");
  *out = {in[0], Shape{rows}, Shape{rows}};
  return Status();
}

void LayerNormOp::forward(const OpForwardArgs& a) const { run_forward(a, false); }
void LayerNormOp::forward_reference(const OpForwardArgs& a) const { run_forward(a, true); }
void LayerNormOp::backward(const OpBackwardArgs& a) const { run_backward(a, false); }
void LayerNormOp::backward_reference(const OpBackwardArgs& a) const { run_backward(a, true); }

void LayerNormOp::run_forward(const OpForwardArgs& a, bool reference) const {
  const int64_t f = a.in_shapes[0].back(), rows = shape_numel(a.in_shapes[0]) / f;
  (reference ? layer_norm_forward_reference : layer_norm_forward)(rows, f, a.in[0], has_gamma_ ? a.in[1] : nullptr, has_beta_ ? a.in[1 + int(has_gamma_)] : nullptr, eps_,
                     a.out[0], a.out[1], a.out[2]);
}

void LayerNormOp::run_backward(const OpBackwardArgs& a, bool reference) const {
  const int64_t f = a.in_shapes[0].back(), rows = shape_numel(a.in_shapes[0]) / f;
  float* dx = a.din[0] ? a.din[0] : a.workspace;  // needed for dgamma/dbeta even when x takes no gradient
  (reference ? layer_norm_backward_reference : layer_norm_backward)(rows, f, a.in[0], has_gamma_ ? a.in[1] : nullptr, a.out[1], a.out[2], a.dout[0], dx,
                      has_gamma_ ? a.din[1] : nullptr, has_beta_ ? a.din[size_t(1 + int(has_gamma_))] : nullptr);
}

int64_t LayerNormOp::backward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>&) const {
  return shape_numel(in[0]);
}

}  // namespace kiln
