// Conv3D as a graph op (NDHWC, TF.js kernel layout [kd, kh, kw, in_c, filters])
// and its transpose (Conv3DTranspose: kernel [kd, kh, kw, filters, in_c]).
// Activations are applied by the layer, after the op. Kernels: src/cpu/conv3d.cc.
#pragma once
#include "cpu/conv3d.h"
#include "graph/op.h"

namespace kiln {

struct Conv3DAttrs {
  int64_t filters = 0, kernel[3] = {1, 1, 1}, stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1};
  bool same_padding = false;
  bool transpose = false;
};

// Inputs: x [b, d, h, w, c], kernel[, bias [filters]]. Output [b, od, oh, ow, filters].
class Conv3DOp : public Op {
 public:
  explicit Conv3DOp(Conv3DAttrs a) : a_(a) {}
  std::string name() const override { return a_.transpose ? "Conv3DTranspose" : "Conv3D"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;
  int64_t forward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>& out) const override;
  int64_t backward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>& out) const override;
  // The kernels' geometry for input x (the convolution's, also for a transpose).
  Status params(const Shape& x, Conv3DParams* p) const;

 private:
  Conv3DAttrs a_;
};

}  // namespace kiln
