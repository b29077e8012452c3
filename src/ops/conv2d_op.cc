#include "ops/conv2d_op.h"

#include <algorithm>
#include <vector>

#include "core/thread_pool.h"
#include "cpu/activation.h"
#include "cpu/conv2d.h"

namespace kiln {

namespace {
// For a transposed convolution the roles swap: its input is the convolution's
// output (dy) and its output is the convolution's input (dx).
// TF.js's deconvLength: in * stride, plus max(kernel - stride, 0) for 'valid'
// (a kernel smaller than the stride leaves trailing cells only the bias reaches).
int64_t transpose_length(int64_t in, int64_t stride, int64_t kernel, int64_t dilation, bool same) {
  const int64_t k = (kernel - 1) * dilation + 1;
  return in * stride + (same ? 0 : std::max<int64_t>(k - stride, 0));
}

Status transpose_params(const Conv2DAttrs& a, const Shape& x, Conv2DParams* p) {
  const int64_t oh = transpose_length(x[1], a.stride_h, a.kernel_h, a.dilation_h, a.same_padding);
  const int64_t ow = transpose_length(x[2], a.stride_w, a.kernel_w, a.dilation_w, a.same_padding);
  KILN_RETURN_IF_ERROR(conv2d_params(x[0], oh, ow, a.filters, x[3], a.kernel_h, a.kernel_w, a.stride_h, a.stride_w,
                                     a.dilation_h, a.dilation_w, a.same_padding, 1, p));
  if (p->out_h != x[1] || p->out_w != x[2])
    return Status::error("Conv2DTranspose: no output size maps back to the input's " + std::to_string(x[1]) + "x" + std::to_string(x[2]));
  return Status();
}

Status params_of(const Conv2DAttrs& a, const Shape& x, Conv2DParams* p) {
  if (x.size() != 4) return Status::error("Conv2D: input must be [batch, height, width, channels], got " + shape_to_string(x));
  if (a.transpose) return transpose_params(a, x, p);
  return conv2d_params(x[0], x[1], x[2], x[3], a.filters, a.kernel_h, a.kernel_w, a.stride_h, a.stride_w, a.dilation_h,
                       a.dilation_w, a.same_padding, a.groups, p);
}

void add_bias_act(float* y, const float* bias, int64_t rows, int64_t cols, Activation act) {
  parallel_range(rows, std::max<int64_t>(1, 4096 / cols), [&](int64_t r0, int64_t r1) {
    float* p = y + r0 * cols;
    if (bias)
      for (int64_t r = r0; r < r1; ++r, p += cols)
        for (int64_t c = 0; c < cols; ++c) p[c] += bias[c];
    if (act != Activation::kLinear) activation_forward(act, y + r0 * cols, (r1 - r0) * cols);
  });
}
}  // namespace

Status Conv2DOp::params(const Shape& x, Conv2DParams* p) const { return params_of(a_, x, p); }

Status Conv2DOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() < 2 || in.size() > 3) return Status::error(name() + ": takes x, kernel and an optional bias");
  Conv2DParams p;
  KILN_RETURN_IF_ERROR(params_of(a_, in[0], &p));
  const Shape want = a_.transpose ? Shape{a_.kernel_h, a_.kernel_w, a_.filters, in[0][3]}
                                  : Shape{a_.kernel_h, a_.kernel_w, in[0][3] / a_.groups, a_.filters};
  if (in[1] != want) return Status::error(name() + ": kernel must be " + shape_to_string(want) + ", got " + shape_to_string(in[1]));
  if (in.size() == 3 && in[2] != Shape{a_.filters}) return Status::error(name() + ": bias must be [" + std::to_string(a_.filters) + "]");
  *out = {a_.transpose ? Shape{p.batch, p.in_h, p.in_w, p.in_c} : Shape{p.batch, p.out_h, p.out_w, p.out_c}};
  return Status();
}

struct Conv2DOp::Kernels {
  decltype(&conv2d_forward) forward;
  decltype(&conv2d_backward_data) backward_data;
  decltype(&conv2d_backward_filter) backward_filter;
};

namespace {
const Conv2DOp::Kernels kFast{conv2d_forward, conv2d_backward_data, conv2d_backward_filter};
// The references need no scratch.
const Conv2DOp::Kernels kReference{
    [](const Conv2DParams& p, const float* x, const float* w, const float* b, Activation act, float* y, const Scratch&) {
      conv2d_forward_reference(p, x, w, b, act, y);
    },
    [](const Conv2DParams& p, const float* dy, const float* w, float* dx, const Scratch&) {
      conv2d_backward_data_reference(p, dy, w, dx);
    },
    [](const Conv2DParams& p, const float* x, const float* dy, float* dw, const Scratch&) {
      conv2d_backward_filter_reference(p, x, dy, dw);
    }};

int threads() { return ThreadPool::global().num_threads(); }
}  // namespace

void Conv2DOp::forward(const OpForwardArgs& a) const { run_forward(a, kFast); }
void Conv2DOp::forward_reference(const OpForwardArgs& a) const { run_forward(a, kReference); }
void Conv2DOp::backward(const OpBackwardArgs& a) const { run_backward(a, kFast); }
void Conv2DOp::backward_reference(const OpBackwardArgs& a) const { run_backward(a, kReference); }

void Conv2DOp::run_forward(const OpForwardArgs& a, const Kernels& k) const {
  Conv2DParams p;
  params_of(a_, a.in_shapes[0], &p);
  const float* bias = a.in.size() > 2 ? a.in[2] : nullptr;
  const Scratch scratch{a.workspace, a.workspace_floats};
  if (!a_.transpose) {
    k.forward(p, a.in[0], a.in[1], bias, a_.act, a.out[0], scratch);
    return;
  }
  k.backward_data(p, a.in[0], a.in[1], a.out[0], scratch);
  add_bias_act(a.out[0], bias, p.batch * p.in_h * p.in_w, p.in_c, a_.act);
}

void Conv2DOp::run_backward(const OpBackwardArgs& a, const Kernels& k) const {
  Conv2DParams p;
  params_of(a_, a.in_shapes[0], &p);
  const int64_t n = shape_numel(a.out_shapes[0]), cols = a.out_shapes[0][3];
  const float* dz = a.dout[0];
  // Workspace: the gradient through the fused activation, then the kernels' scratch.
  const int64_t act_floats = a_.act != Activation::kLinear ? n : 0;
  const Scratch scratch = Scratch{a.workspace, a.workspace_floats}.after(act_floats);
  if (act_floats) {
    activation_backward(a_.act, a.out[0], a.dout[0], a.workspace, n);
    dz = a.workspace;
  }
  if (a_.transpose) {
    // y = conv^T(x): dx = conv(dz), dw from (x as the conv's dy, dz as its x).
    if (a.din[0]) k.forward(p, dz, a.in[1], nullptr, Activation::kLinear, a.din[0], scratch);
    if (a.din[1]) k.backward_filter(p, dz, a.in[0], a.din[1], scratch);
  } else {
    if (a.din[0]) k.backward_data(p, dz, a.in[1], a.din[0], scratch);
    if (a.din[1]) k.backward_filter(p, a.in[0], dz, a.din[1], scratch);
  }
  if (a.din.size() > 2 && a.din[2]) {
    float* db = a.din[2];
    const int64_t rows = n / cols;
    parallel_range(cols, 16, [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) db[c] = 0;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = c0; c < c1; ++c) db[c] += dz[r * cols + c];
    });
  }
}

int64_t Conv2DOp::kernel_scratch_floats(const Conv2DParams& p, bool backward) const {
  const int t = threads();
  if (!backward) return a_.transpose ? conv2d_backward_data_scratch_floats(p, t) : conv2d_forward_scratch_floats(p, t);
  const int64_t data = a_.transpose ? conv2d_forward_scratch_floats(p, t) : conv2d_backward_data_scratch_floats(p, t);
  return std::max(data, conv2d_backward_filter_scratch_floats(p, t));
}

int64_t Conv2DOp::forward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>&) const {
  Conv2DParams p;
  return params_of(a_, in[0], &p).ok() ? kernel_scratch_floats(p, false) : 0;
}

int64_t Conv2DOp::backward_workspace_floats(const std::vector<Shape>& in, const std::vector<Shape>& out) const {
  Conv2DParams p;
  const int64_t scratch = params_of(a_, in[0], &p).ok() ? kernel_scratch_floats(p, true) : 0;
  return (a_.act != Activation::kLinear ? shape_numel(out[0]) : 0) + scratch;
}

}  // namespace kiln
