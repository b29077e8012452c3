// UpSample: UpSampling1D/2D. The input is viewed as [outer, H, W, inner]
// (H at axis `h_axis`, W the next axis for 2-D, else 1) and each spatial axis
// grows by its integer factor:
//  * nearest: out[o, y, x, :] = in[o, y / sh, x / sw, :] (repeat);
//  * bilinear: TF.js tf.image.resizeBilinear with alignCorners = false and
//    halfPixelCenters = false, which is what TF.js's UpSampling2D calls: the
//    source coordinate of output row y is y / sh (no half-pixel shift), rows
//    past the last input row repeat it. Keras (TF) uses half-pixel centers
//    instead; Kiln follows TF.js.
#pragma once
#include "graph/op.h"

namespace kiln {

class UpSampleOp : public Op {
 public:
  // spatial_rank 1: the axis h_axis grows by sh; 2: axes h_axis and h_axis + 1 by sh and sw.
  UpSampleOp(int h_axis, int spatial_rank, int64_t sh, int64_t sw, bool bilinear)
      : h_axis_(h_axis), spatial_rank_(spatial_rank), sh_(sh), sw_(spatial_rank == 2 ? sw : 1), bilinear_(bilinear) {}
  std::string name() const override { return "UpSample"; }
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;

 private:
  struct View {
    int64_t outer, h, w, inner;
  };
  View view(const Shape& in) const;
  int h_axis_, spatial_rank_;
  int64_t sh_, sw_;
  bool bilinear_;
};

}  // namespace kiln
