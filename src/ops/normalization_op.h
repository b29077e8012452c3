// Batch and layer normalization as graph ops over the last axis (channels
// last). Kernels: src/cpu/normalization*.cc.
#pragma once
#include "graph/op.h"

namespace kiln {

// Inputs: x, gamma, beta, moving_mean, moving_var (gamma/beta may be absent:
// `has_gamma`, `has_beta`). Training: normalizes with batch statistics, saves
// them (outputs 1, 2) and updates the moving statistics in place.
class BatchNormOp : public Op {
 public:
  BatchNormOp(bool training, bool has_gamma, bool has_beta, float eps, float momentum)
      : training_(training), has_gamma_(has_gamma), has_beta_(has_beta), eps_(eps), momentum_(momentum) {}
  std::string name() const override { return "BatchNormalization"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  bool differentiable(int input) const override;
  void backward(const OpBackwardArgs& a) const override;
  bool has_side_effects() const override { return training_; }
  int64_t backward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>& out) const override;
  bool has_reference() const override { return true; }
  void forward_reference(const OpForwardArgs& a) const override;
  void backward_reference(const OpBackwardArgs& a) const override;
  bool training() const { return training_; }
  bool has_gamma() const { return has_gamma_; }
  bool has_beta() const { return has_beta_; }
  float eps() const { return eps_; }

 private:
  void run_forward(const OpForwardArgs& a, bool reference) const;
  void run_backward(const OpBackwardArgs& a, bool reference) const;
  int moving_index() const { return 1 + int(has_gamma_) + int(has_beta_); }
  bool training_, has_gamma_, has_beta_;
  float eps_, momentum_;
};

// Inputs: x, gamma, beta (both [features]); saves per-row mean and 1/std.
class LayerNormOp : public Op {
 public:
  LayerNormOp(bool has_gamma, bool has_beta, float eps) : has_gamma_(has_gamma), has_beta_(has_beta), eps_(eps) {}
  std::string name() const override { return "LayerNormalization"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;
  int64_t backward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>& out) const override;
  bool has_reference() const override { return true; }
  void forward_reference(const OpForwardArgs& a) const override;
  void backward_reference(const OpBackwardArgs& a) const override;

 private:
  void run_forward(const OpForwardArgs& a, bool reference) const;
  void run_backward(const OpBackwardArgs& a, bool reference) const;
  bool has_gamma_, has_beta_;
  float eps_;
};

}  // namespace kiln
