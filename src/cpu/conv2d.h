// 2-D convolution kernels on raw float buffers (no graph knowledge), with
// TensorFlow.js / Keras layouts: x and y are NHWC, the filter is
// [kernel_h, kernel_w, in_c / groups, out_c]. Depthwise convolution is
// groups == in_c; its filter [kh, kw, 1, in_c * multiplier] is the same memory
// as TF.js's depthwise filter [kh, kw, in_c, multiplier].
//
// Each op has a fast path (im2col + gemm(), Winograd F(2x2, 3x3) for 3x3
// stride 1, or a direct depthwise kernel; multithreaded) and a scalar double-accumulating reference the tests use.
#pragma once
#include <cstdint>

#include "core/activation.h"
#include "core/status.h"
#include "cpu/scratch.h"

namespace kiln {

struct Conv2DParams {
  int64_t batch = 0, in_h = 0, in_w = 0, in_c = 0;
  int64_t out_h = 0, out_w = 0, out_c = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  int64_t pad_top = 0, pad_left = 0;  // bottom/right padding is implied by out_h/out_w
  int64_t groups = 1;                 // in_c and out_c divisible by groups
};

// Fills *out for 'valid' or 'same' padding with TF semantics: same gives
// out = ceil(in / stride), pad_total = max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0),
// pad_top = pad_total / 2 (the extra row goes to the bottom). Valid gives
// out = ceil((in - (k - 1) * dilation) / stride). Sizes, strides, dilations and
// groups must be positive (batch may be 0), in_c and out_c divisible by
// groups, and the output at least 1x1.
Status conv2d_params(int64_t batch, int64_t in_h, int64_t in_w, int64_t in_c, int64_t out_c, int64_t kh, int64_t kw,
                     int64_t sh, int64_t sw, int64_t dh, int64_t dw, bool same_padding, int64_t groups,
                     Conv2DParams* out);

// Every fast kernel below takes the scratch its *_scratch_floats(p, threads)
// says (cpu/scratch.h: lent by the caller, a plan's arena; less or none and
// the call allocates its own). The references need none.
int64_t conv2d_forward_scratch_floats(const Conv2DParams& p, int threads);
int64_t conv2d_backward_data_scratch_floats(const Conv2DParams& p, int threads);
int64_t conv2d_backward_filter_scratch_floats(const Conv2DParams& p, int threads);

// y = act(conv(x, w) + bias). bias: [out_c] or null. act must be elementwise
// (not softmax / logSoftmax: those are not applied).
void conv2d_forward(const Conv2DParams& p, const float* x, const float* w, const float* bias, Activation act, float* y,
                    const Scratch& scratch = {});
void conv2d_forward_reference(const Conv2DParams& p, const float* x, const float* w, const float* bias, Activation act,
                              float* y);

// dx = d loss / d x from dy (overwrites dx). This is also the forward pass of
// conv2dTranspose (x <-> y roles swapped).
void conv2d_backward_data(const Conv2DParams& p, const float* dy, const float* w, float* dx, const Scratch& scratch = {});
void conv2d_backward_data_reference(const Conv2DParams& p, const float* dy, const float* w, float* dx);

// dw = d loss / d w (overwrites dw, shaped like w). The bias gradient is the
// column sum of dy and is not computed here.
void conv2d_backward_filter(const Conv2DParams& p, const float* x, const float* dy, float* dw,
                            const Scratch& scratch = {});
void conv2d_backward_filter_reference(const Conv2DParams& p, const float* x, const float* dy, float* dw);

// Internal entry points shared by the conv2d_*.cc files; the public
// functions above dispatch to them (tests call them directly too).
bool conv2d_is_depthwise(const Conv2DParams& p);
// A filter packed once for gemm() (inference weights; see gemm_pack_b): the
// B of the im2col product (groups == 1), or the 16 Winograd planes one after
// another, each gemm_packed_b_floats(in_c, out_c) floats. Empty: pack per call.
struct Conv2DPackedFilter {
  const float* data = nullptr;
  int nr = 0;
};
void conv2d_forward_im2col(const Conv2DParams& p, const float* x, const float* w, const float* bias, Activation act,
                           float* y, const Conv2DPackedFilter& packed = {}, const Scratch& scratch = {});
int64_t conv2d_forward_im2col_scratch_floats(const Conv2DParams& p, int threads, bool packed);
// Winograd F(2x2, 3x3) (src/cpu/conv2d_winograd.cc): 3x3, stride 1, no
// dilation, no groups, and enough channels for it to win over im2col.
bool conv2d_winograd_applies(const Conv2DParams& p);
void conv2d_forward_winograd(const Conv2DParams& p, const float* x, const float* w, const float* bias, Activation act,
                             float* y, const Scratch& scratch = {});
// The same split in two, for filters known ahead (inference): the filter
// transformed once into conv2d_winograd_filter_floats(p) floats (only in_c,
// out_c of p matter), then any number of convolutions with it.
int64_t conv2d_winograd_filter_floats(const Conv2DParams& p);
void conv2d_winograd_filter(const Conv2DParams& p, const float* w, float* u);
void conv2d_forward_winograd_transformed(const Conv2DParams& p, const float* x, const float* u, const float* bias,
                                         Activation act, float* y, const Conv2DPackedFilter& packed = {},
                                         const Scratch& scratch = {});
int64_t conv2d_winograd_scratch_floats(const Conv2DParams& p, int threads, bool filter_transformed, bool packed);
// A dense (non-depthwise) forward convolution by the best method for its shape.
void conv2d_forward_dense(const Conv2DParams& p, const float* x, const float* w, const float* bias, Activation act,
                          float* y, const Scratch& scratch = {});
int64_t conv2d_forward_dense_scratch_floats(const Conv2DParams& p, int threads);
void conv2d_backward_data_im2col(const Conv2DParams& p, const float* dy, const float* w, float* dx,
                                 const Scratch& scratch = {});
int64_t conv2d_backward_data_im2col_scratch_floats(const Conv2DParams& p, int threads);
void conv2d_backward_filter_im2col(const Conv2DParams& p, const float* x, const float* dy, float* dw,
                                   const Scratch& scratch = {});
int64_t conv2d_backward_filter_im2col_scratch_floats(const Conv2DParams& p, int threads);
// Caps the im2col buffer at `floats` (tests force many small chunks with it);
// 0 restores the default (a few MiB). Not thread-safe: set it between calls.
void conv2d_set_col_budget(int64_t floats);
void depthwise_forward(const Conv2DParams& p, const float* x, const float* w, const float* bias, Activation act,
                       float* y);
void depthwise_backward_data(const Conv2DParams& p, const float* dy, const float* w, float* dx);
void depthwise_backward_filter(const Conv2DParams& p, const float* x, const float* dy, float* dw,
                               const Scratch& scratch = {});
int64_t depthwise_backward_filter_scratch_floats(const Conv2DParams& p, int threads);

}  // namespace kiln
