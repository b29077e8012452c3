// Convolution parameter validation and the dispatch from the public entry
// points to the depthwise or im2col + GEMM kernels.
#include "cpu/conv2d.h"

#include <string>

namespace kiln {
namespace {

std::string s(int64_t v) { return std::to_string(v); }

// One spatial axis: output size and leading padding.
Status axis_params(const char* axis, int64_t in, int64_t k, int64_t stride, int64_t dilation, bool same, int64_t* out,
                   int64_t* pad_before) {
  const int64_t span = (k - 1) * dilation + 1;  // receptive field of one output
  if (same) {
    *out = (in + stride - 1) / stride;
    const int64_t total = (*out - 1) * stride + span - in;
    *pad_before = total > 0 ? total / 2 : 0;
  } else {
    if (in < span)
      return Status::error(std::string("conv2d: input ") + axis + " " + s(in) + " is smaller than the dilated kernel " +
                           axis + " " + s(span) + " with 'valid' padding");
    *out = (in - span) / stride + 1;
    *pad_before = 0;
  }
  return Status();
}

}  // namespace

Status conv2d_params(int64_t batch, int64_t in_h, int64_t in_w, int64_t in_c, int64_t out_c, int64_t kh, int64_t kw,
                     int64_t sh, int64_t sw, int64_t dh, int64_t dw, bool same_padding, int64_t groups,
                     Conv2DParams* out) {
  if (batch < 0) return Status::error("conv2d: batch must be >= 0, got " + s(batch));
  const struct {
    const char* name;
    int64_t value;
  } positive[] = {{"input height", in_h},  {"input width", in_w},  {"input channels", in_c}, {"filters", out_c},
                  {"kernel height", kh},   {"kernel width", kw},   {"stride height", sh},    {"stride width", sw},
                  {"dilation height", dh}, {"dilation width", dw}, {"groups", groups}};
  for (const auto& f : positive)
    if (f.value < 1) return Status::error(std::string("conv2d: ") + f.name + " must be >= 1, got " + s(f.value));
  if (in_c % groups != 0)
    return Status::error("conv2d: input channels " + s(in_c) + " are not divisible by groups " + s(groups));
  if (out_c % groups != 0)
    return Status::error("conv2d: filters " + s(out_c) + " are not divisible by groups " + s(groups));
  Conv2DParams p;
  p.batch = batch, p.in_h = in_h, p.in_w = in_w, p.in_c = in_c, p.out_c = out_c;
  p.kernel_h = kh, p.kernel_w = kw, p.stride_h = sh, p.stride_w = sw, p.dilation_h = dh, p.dilation_w = dw;
  p.groups = groups;
  KILN_RETURN_IF_ERROR(axis_params("height", in_h, kh, sh, dh, same_padding, &p.out_h, &p.pad_top));
  KILN_RETURN_IF_ERROR(axis_params("width", in_w, kw, sw, dw, same_padding, &p.out_w, &p.pad_left));
  *out = p;
  return Status();
}

bool conv2d_is_depthwise(const Conv2DParams& p) { return p.groups == p.in_c; }

void conv2d_forward(const Conv2DParams& p, const float* x, const float* w, const float* bias, Activation act,
                    float* y, const Scratch& scratch) {
  if (p.batch == 0) return;
  if (conv2d_is_depthwise(p)) return depthwise_forward(p, x, w, bias, act, y);
  conv2d_forward_dense(p, x, w, bias, act, y, scratch);
}

int64_t conv2d_forward_scratch_floats(const Conv2DParams& p, int threads) {
  return p.batch == 0 || conv2d_is_depthwise(p) ? 0 : conv2d_forward_dense_scratch_floats(p, threads);
}

void conv2d_forward_dense(const Conv2DParams& p, const float* x, const float* w, const float* bias, Activation act,
                          float* y, const Scratch& scratch) {
  if (conv2d_winograd_applies(p)) return conv2d_forward_winograd(p, x, w, bias, act, y, scratch);
  conv2d_forward_im2col(p, x, w, bias, act, y, {}, scratch);
}

int64_t conv2d_forward_dense_scratch_floats(const Conv2DParams& p, int threads) {
  if (conv2d_winograd_applies(p)) return conv2d_winograd_scratch_floats(p, threads, false, false);
  return conv2d_forward_im2col_scratch_floats(p, threads, false);
}

void conv2d_backward_data(const Conv2DParams& p, const float* dy, const float* w, float* dx, const Scratch& scratch) {
  if (p.batch == 0) return;
  if (conv2d_is_depthwise(p)) return depthwise_backward_data(p, dy, w, dx);
  conv2d_backward_data_im2col(p, dy, w, dx, scratch);
}

int64_t conv2d_backward_data_scratch_floats(const Conv2DParams& p, int threads) {
  return p.batch == 0 || conv2d_is_depthwise(p) ? 0 : conv2d_backward_data_im2col_scratch_floats(p, threads);
}

void conv2d_backward_filter(const Conv2DParams& p, const float* x, const float* dy, float* dw, const Scratch& scratch) {
  if (conv2d_is_depthwise(p)) return depthwise_backward_filter(p, x, dy, dw, scratch);
  conv2d_backward_filter_im2col(p, x, dy, dw, scratch);
}

int64_t conv2d_backward_filter_scratch_floats(const Conv2DParams& p, int threads) {
  if (conv2d_is_depthwise(p)) return depthwise_backward_filter_scratch_floats(p, threads);
  return conv2d_backward_filter_im2col_scratch_floats(p, threads);
}

}  // namespace kiln
