// Resize of [batch, rows, cols, channels] images to out_h x out_w, as TF.js's
// Resizing layer does it (image.resizeBilinear / resizeNearestNeighbor with
// corners aligned): source position r * (in - 1) / (out - 1) (r * in / out
// for an output of one row or column); bilinear blends the two neighbours on
// each axis, nearest rounds. The gradient sends dy back with the same weights.
#pragma once
#include "graph/op.h"

namespace kiln {

class ResizeOp : public Op {
 public:
  ResizeOp(int64_t out_h, int64_t out_w, bool bilinear) : out_h_(out_h), out_w_(out_w), bilinear_(bilinear) {}
  std::string name() const override { return bilinear_ ? "Resize (bilinear)" : "Resize (nearest)"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;

 private:
  int64_t out_h_, out_w_;
  bool bilinear_;
};

}  // namespace kiln
