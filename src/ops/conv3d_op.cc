#include "ops/conv3d_op.h"

#include <algorithm>
#include <string>

namespace kiln {

Status Conv3DOp::params(const Shape& x, Conv3DParams* p) const {
  if (x.size() != 5) return Status::error(name() + ": input must be [batch, depth, height, width, channels], got " + shape_to_string(x));
  if (!a_.transpose) return conv3d_params(x[0], &x[1], x[4], a_.filters, a_.kernel, a_.stride, a_.dilation, a_.same_padding, p);
  // A transpose's output is the image whose convolution gives x: TF.js's
  // deconvLength, in * stride (+ max(kernel - stride, 0) for 'valid').
  int64_t image[3];
  for (int i = 0; i < 3; ++i) {
    const int64_t k = (a_.kernel[i] - 1) * a_.dilation[i] + 1;
    image[i] = x[size_t(i) + 1] * a_.stride[i] + (a_.same_padding ? 0 : std::max<int64_t>(k - a_.stride[i], 0));
  }
  KILN_RETURN_IF_ERROR(conv3d_params(x[0], image, a_.filters, x[4], a_.kernel, a_.stride, a_.dilation, a_.same_padding, p));
  for (int i = 0; i < 3; ++i)
    if (p->grid[i] != x[size_t(i) + 1]) return Status::error(name() + ": no output size maps back to the input " + shape_to_string(x));
  return Status();
}

Status Conv3DOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() < 2 || in.size() > 3) return Status::error(name() + ": takes x, kernel and an optional bias");
  Conv3DParams p;
  KILN_RETURN_IF_ERROR(params(in[0], &p));
  const Shape want{a_.kernel[0], a_.kernel[1], a_.kernel[2], p.image_c, p.grid_c};
  if (in[1] != want) return Status::error(name() + ": kernel must be " + shape_to_string(want) + ", got " + shape_to_string(in[1]));
  if (in.size() == 3 && in[2] != Shape{a_.filters}) return Status::error(name() + ": bias must be [" + std::to_string(a_.filters) + "]");
  *out = {a_.transpose ? Shape{p.batch, p.image[0], p.image[1], p.image[2], p.image_c}
                       : Shape{p.batch, p.grid[0], p.grid[1], p.grid[2], p.grid_c}};
  return Status();
}

void Conv3DOp::forward(const OpForwardArgs& a) const {
  Conv3DParams p;
  params(a.in_shapes[0], &p);
  const float* bias = a.in.size() > 2 ? a.in[2] : nullptr;
  const Scratch scratch{a.workspace, a.workspace_floats};
  if (a_.transpose) conv3d_backward_data(p, a.in[0], a.in[1], bias, a.out[0], scratch);
  else conv3d_forward(p, a.in[0], a.in[1], bias, a.out[0], scratch);
}

void Conv3DOp::backward(const OpBackwardArgs& a) const {
  Conv3DParams p;
  params(a.in_shapes[0], &p);
  const Scratch scratch{a.workspace, a.workspace_floats};
  const float* dy = a.dout[0];
  if (a_.transpose) {
    // y = conv^T(x): dx = conv(dy); the filter's gradient pairs dy (the image) with x (the grid).
    if (a.din[0]) conv3d_forward(p, dy, a.in[1], nullptr, a.din[0], scratch);
    if (a.din[1]) conv3d_backward_filter(p, dy, a.in[0], a.din[1], scratch);
  } else {
    if (a.din[0]) conv3d_backward_data(p, dy, a.in[1], nullptr, a.din[0], scratch);
    if (a.din[1]) conv3d_backward_filter(p, a.in[0], dy, a.din[1], scratch);
  }
  if (a.din.size() > 2 && a.din[2]) {
    const int64_t cols = a.out_shapes[0].back(), rows = shape_numel(a.out_shapes[0]) / cols;
    float* db = a.din[2];
    std::fill(db, db + cols, 0.0f);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) db[c] += dy[r * cols + c];
  }
}

int64_t Conv3DOp::forward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>&) const {
  Conv3DParams p;
  return params(in[0], &p).ok() ? conv3d_scratch_floats(p) : 0;
}

int64_t Conv3DOp::backward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>&) const {
  Conv3DParams p;
  return params(in[0], &p).ok() ? conv3d_scratch_floats(p) : 0;
}

}  // namespace kiln
