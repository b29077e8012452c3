#include "ops/dropout.h"

#include <algorithm>
#include <cmath>

#include "core/broadcast.h"
#include "core/thread_pool.h"

namespace kiln {

namespace {
constexpr int64_t kChunk = 16384;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;
}  // namespace

void alpha_dropout_constants(double rate, float* a, float* b, float* dropped) {
  const double alpha_p = -kSeluAlpha * kSeluScale;
  const double av = std::pow((1 - rate) * (1 + rate * alpha_p * alpha_p), -0.5);
  const double bv = -av * alpha_p * rate;
  *a = float(av);
  *b = float(bv);
  *dropped = float(av * alpha_p + bv);
}

std::string NoiseOp::name() const {
  switch (kind_) {
    case NoiseKind::kDropout: return "Dropout";
    case NoiseKind::kGaussianNoise: return "GaussianNoise";
    case NoiseKind::kGaussianDropout: return "GaussianDropout";
    case NoiseKind::kAlphaDropout: return "AlphaDropout";
  }
  return "?";
}

Shape NoiseOp::noise_shape(const Shape& in) const {
  Shape s = in;
  for (size_t d = 0; d < s.size() && d < shared_.size(); ++d)
    if (shared_[d]) s[d] = 1;
  return s;
}

Status NoiseOp::infer(const std::vector<Shape>& in, std::vector<Shape>* out) const {
  if (in.size() != 1) return Status::error(name() + " takes one input");
  if (!shared_.empty() && shared_.size() != in[0].size())
    return Status::error(name() + ": a noise shape of rank " + std::to_string(shared_.size()) + " does not fit input " +
                         shape_to_string(in[0]));
  if (kind_ == NoiseKind::kGaussianNoise) *out = {in[0]};
  else *out = {in[0], noise_shape(in[0])};
  return Status();
}

void NoiseOp::forward(const OpForwardArgs& a) const {
  Rng fallback(0x6b696c6eu);
  Rng& rng = a.rng ? *a.rng : fallback;
  const Shape& xs = a.in_shapes[0];
  const float* x = a.in[0];
  float* y = a.out[0];
  if (kind_ == NoiseKind::kGaussianNoise) {
    const int64_t n = shape_numel(xs);
    for (int64_t i = 0; i < n; ++i) y[i] = x[i] + float(param_ * rng.normal());
    return;
  }
  // Draw the multipliers (serially: one generator), then apply them in parallel.
  float* m = a.out[1];
  const Shape ns = noise_shape(xs);
  const int64_t nm = shape_numel(ns);
  float ka = 1, kb = 0, dropped = 0;
  if (kind_ == NoiseKind::kAlphaDropout) alpha_dropout_constants(param_, &ka, &kb, &dropped);
  switch (kind_) {
    case NoiseKind::kDropout: {
      const float scale = float(1.0 / (1.0 - param_));
      for (int64_t i = 0; i < nm; ++i) m[i] = rng.uniform() >= param_ ? scale : 0.0f;
      break;
    }
    case NoiseKind::kGaussianDropout: {
      const double stddev = std::sqrt(param_ / (1.0 - param_));
      for (int64_t i = 0; i < nm; ++i) m[i] = float(1.0 + stddev * rng.normal());
      break;
    }
    case NoiseKind::kAlphaDropout:
      for (int64_t i = 0; i < nm; ++i) m[i] = rng.uniform() >= param_ ? ka : 0.0f;
      break;
    case NoiseKind::kGaussianNoise: break;
  }
  const BroadcastRows br(xs, ns);
  const int64_t cols = br.cols(), st = br.small_col_stride();
  const bool alpha = kind_ == NoiseKind::kAlphaDropout;
  parallel_range(br.rows(), std::max<int64_t>(1, kChunk / cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* xr = x + r * cols;
      const float* mr = m + br.small_offset(r);
      float* yr = y + r * cols;
      if (alpha) {
        for (int64_t c = 0; c < cols; ++c) yr[c] = mr[c * st] != 0.0f ? mr[c * st] * xr[c] + kb : dropped;
      } else {
        for (int64_t c = 0; c < cols; ++c) yr[c] = xr[c] * mr[c * st];
      }
    }
  });
}

void NoiseOp::backward(const OpBackwardArgs& a) const {
  float* dx = a.din[0];
  if (!dx) return;
  const Shape& xs = a.in_shapes[0];
  const float* dy = a.dout[0];
  if (kind_ == NoiseKind::kGaussianNoise) {
    std::copy(dy, dy + shape_numel(xs), dx);
    return;
  }
  const float* m = a.out[1];
  const BroadcastRows br(xs, a.out_shapes[1]);
  const int64_t cols = br.cols(), st = br.small_col_stride();
  parallel_range(br.rows(), std::max<int64_t>(1, kChunk / cols), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const float* mr = m + br.small_offset(r);
      const float* g = dy + r * cols;
      float* d = dx + r * cols;
      for (int64_t c = 0; c < cols; ++c) d[c] = g[c] * mr[c * st];
    }
  });
}

}  // namespace kiln
