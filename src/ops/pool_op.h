// Pooling as graph ops (NHWC): windowed max/average (1-D pooling is H = 1),
// and global pooling over every spatial position. Kernels: src/cpu/pool2d*.cc.
#pragma once
#include "cpu/pool2d.h"
#include "graph/op.h"

namespace kiln {

class Pool2DOp : public Op {
 public:
  Pool2DOp(PoolKind kind, int64_t ph, int64_t pw, int64_t sh, int64_t sw, bool same)
      : kind_(kind), ph_(ph), pw_(pw), sh_(sh), sw_(sw), same_(same) {}
  std::string name() const override { return kind_ == PoolKind::kMax ? "MaxPool2D" : "AvgPool2D"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;
  bool has_reference() const override { return true; }
  void forward_reference(const OpForwardArgs& a) const override;
  void backward_reference(const OpBackwardArgs& a) const override;

 private:
  Status params(const Shape& x, Pool2DParams* p) const;
  void run_forward(const OpForwardArgs& a, bool reference) const;
  void run_backward(const OpBackwardArgs& a, bool reference) const;
  PoolKind kind_;
  int64_t ph_, pw_, sh_, sw_;
  bool same_;
};

// x [b, ...spatial, c] -> [b, c].
class GlobalPoolOp : public Op {
 public:
  explicit GlobalPoolOp(PoolKind kind) : kind_(kind) {}
  std::string name() const override { return kind_ == PoolKind::kMax ? "GlobalMaxPool" : "GlobalAvgPool"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;
  bool has_reference() const override { return true; }
  void forward_reference(const OpForwardArgs& a) const override;
  void backward_reference(const OpBackwardArgs& a) const override;

 private:
  void run_forward(const OpForwardArgs& a, bool reference) const;
  void run_backward(const OpBackwardArgs& a, bool reference) const;
  PoolKind kind_;
};

}  // namespace kiln
