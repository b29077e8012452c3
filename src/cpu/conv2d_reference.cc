// Scalar reference convolutions: the definition every fast path is tested
// against. Direct loops straight from the formula, accumulated in double so
// their own rounding is negligible next to the fast paths' float error.
#include <algorithm>
#include <vector>

#include "cpu/activation.h"
#include "cpu/conv2d.h"

namespace kiln {
namespace {

// Calls fn(x_index, w_index, y_index) for every (input, filter, output)
// triple that the convolution multiplies together.
template <typename Fn>
void for_each_tap(const Conv2DParams& p, Fn fn) {
  const int64_t cpg = p.in_c / p.groups, opg = p.out_c / p.groups;
  for (int64_t n = 0; n < p.batch; ++n)
    for (int64_t oh = 0; oh < p.out_h; ++oh)
      for (int64_t ow = 0; ow < p.out_w; ++ow)
        for (int64_t o = 0; o < p.out_c; ++o) {
          const int64_t g = o / opg;
          const int64_t yi = ((n * p.out_h + oh) * p.out_w + ow) * p.out_c + o;
          for (int64_t kh = 0; kh < p.kernel_h; ++kh) {
            const int64_t ih = oh * p.stride_h - p.pad_top + kh * p.dilation_h;
            if (ih < 0 || ih >= p.in_h) continue;
            for (int64_t kw = 0; kw < p.kernel_w; ++kw) {
              const int64_t iw = ow * p.stride_w - p.pad_left + kw * p.dilation_w;
              if (iw < 0 || iw >= p.in_w) continue;
              for (int64_t ci = 0; ci < cpg; ++ci) {
                const int64_t xi = ((n * p.in_h + ih) * p.in_w + iw) * p.in_c + g * cpg + ci;
                const int64_t wi = ((kh * p.kernel_w + kw) * cpg + ci) * p.out_c + o;
                fn(xi, wi, yi);
              }
            }
          }
        }
}

int64_t x_size(const Conv2DParams& p) { return p.batch * p.in_h * p.in_w * p.in_c; }
int64_t y_size(const Conv2DParams& p) { return p.batch * p.out_h * p.out_w * p.out_c; }
int64_t w_size(const Conv2DParams& p) { return p.kernel_h * p.kernel_w * (p.in_c / p.groups) * p.out_c; }

void store(const std::vector<double>& acc, float* out) {
  for (size_t i = 0; i < acc.size(); ++i) out[i] = float(acc[i]);
}

}  // namespace

void conv2d_forward_reference(const Conv2DParams& p, const float* x, const float* w, const float* bias, Activation act,
                              float* y) {
  std::vector<double> acc(size_t(y_size(p)), 0.0);
  for_each_tap(p, [&](int64_t xi, int64_t wi, int64_t yi) { acc[yi] += double(x[xi]) * double(w[wi]); });
  if (bias)
    for (size_t i = 0; i < acc.size(); ++i) acc[i] += bias[i % size_t(p.out_c)];
  store(acc, y);
  activation_forward(act, y, y_size(p));
}

void conv2d_backward_data_reference(const Conv2DParams& p, const float* dy, const float* w, float* dx) {
  std::vector<double> acc(size_t(x_size(p)), 0.0);
  for_each_tap(p, [&](int64_t xi, int64_t wi, int64_t yi) { acc[xi] += double(dy[yi]) * double(w[wi]); });
  store(acc, dx);
}

void conv2d_backward_filter_reference(const Conv2DParams& p, const float* x, const float* dy, float* dw) {
  std::vector<double> acc(size_t(w_size(p)), 0.0);
  for_each_tap(p, [&](int64_t xi, int64_t wi, int64_t yi) { acc[wi] += double(x[xi]) * double(dy[yi]); });
  store(acc, dw);
}

}  // namespace kiln
