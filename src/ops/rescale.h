// Rescale: y = x * scale + offset (the Rescaling preprocessing layer); the
// gradient is dy * scale.
#pragma once
#include "graph/op.h"

namespace kiln {

class RescaleOp : public Op {
 public:
  RescaleOp(float scale, float offset) : scale_(scale), offset_(offset) {}
  std::string name() const override { return "Rescale"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;

 private:
  float scale_, offset_;
};

}  // namespace kiln
