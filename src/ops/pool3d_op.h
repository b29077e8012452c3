// 3-D max / average pooling as a graph op (NDHWC). Kernels: src/cpu/pool3d.cc.
#pragma once
#include "cpu/pool3d.h"
#include "graph/op.h"

namespace kiln {

class Pool3DOp : public Op {
 public:
  Pool3DOp(PoolKind kind, const int64_t pool[3], const int64_t stride[3], bool same) : kind_(kind), same_(same) {
    for (int i = 0; i < 3; ++i) pool_[i] = pool[i], stride_[i] = stride[i];
  }
  std::string name() const override { return kind_ == PoolKind::kMax ? "MaxPool3D" : "AvgPool3D"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;

 private:
  Status params(const Shape& x, Pool3DParams* p) const;
  PoolKind kind_;
  int64_t pool_[3], stride_[3];
  bool same_;
};

}  // namespace kiln
