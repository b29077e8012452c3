// Conv2D as a graph op (NHWC, TF.js kernel layout [kh, kw, in_c/groups, out_c]),
// and its transpose (Conv2DTranspose: kernel [kh, kw, out_c, in_c]). Kernels:
// src/cpu/conv2d*.cc (reference, im2col + GEMM, direct depthwise).
#pragma once
#include "core/activation.h"
#include "cpu/conv2d.h"
#include "graph/op.h"

namespace kiln {

struct Conv2DAttrs {
  int64_t filters = 0, kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  bool same_padding = false;
  int64_t groups = 1;  // groups == in_c: depthwise
  bool transpose = false;
  Activation act = Activation::kLinear;  // elementwise, its gradient computed from the output
};

// Inputs: x [b, h, w, c], kernel[, bias [filters]]. Output [b, oh, ow, filters].
class Conv2DOp : public Op {
 public:
  explicit Conv2DOp(Conv2DAttrs a) : a_(a) {}
  std::string name() const override { return a_.transpose ? "Conv2DTranspose" : "Conv2D"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;
  // The fast kernels' scratch (src/cpu/scratch.h), and the fused activation's gradient.
  int64_t forward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>& out) const override;
  int64_t backward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>& out) const override;
  bool has_reference() const override { return true; }
  void forward_reference(const OpForwardArgs& a) const override;
  void backward_reference(const OpBackwardArgs& a) const override;
  const Conv2DAttrs& attrs() const { return a_; }
  // The kernels' geometry for input shape x (the convolution's, also for a transpose).
  Status params(const Shape& x, Conv2DParams* p) const;

  struct Kernels;  // the fast or the reference convolution functions

 private:
  void run_forward(const OpForwardArgs& a, const Kernels& k) const;
  void run_backward(const OpBackwardArgs& a, const Kernels& k) const;
  int64_t kernel_scratch_floats(const Conv2DParams& p, bool backward) const;
  Conv2DAttrs a_;
};

}  // namespace kiln
