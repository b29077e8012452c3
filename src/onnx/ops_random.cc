// RandomUniform, RandomNormal and their *Like forms, Multinomial, and Kiln's
// TruncatedNormal (normal draws beyond two standard deviations redrawn, TF's
// truncated_normal; an op of the eager op set only, not of ONNX models): values drawn from
// kiln::Rng (PCG32), so a seed gives the same values on every platform. A
// node without a seed draws a fresh one per run, as ONNX asks; these ops are
// never folded into constants at load.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>

#include "core/float16.h"
#include "core/rng.h"
#include "onnx/kernel_util.h"
#include "onnx/op.h"

namespace kiln {
namespace {

enum class Distribution { kUniform, kNormal, kTruncatedNormal };

// The seed attribute (a float, per ONNX) or a fresh seed: one draw from the
// platform's entropy, then a counter, so concurrent runs never share one.
uint64_t seed_of(const OnnxOpContext& ctx) {
  if (ctx.has("seed")) return uint64_t(int64_t(ctx.get_float("seed", 0)));
  static std::atomic<uint64_t> next{(uint64_t(std::random_device{}()) << 32) | std::random_device{}()};
  return next.fetch_add(0x9E3779B97F4A7C15ull);
}

Status fill(const OnnxOpContext& ctx, DataType type, const OnnxShape& shape, Distribution d, std::vector<OnnxValue>* out) {
  if (type != DataType::kFloat32 && type != DataType::kFloat64 && type != DataType::kFloat16)
    return ctx.error("draws float16, float32 or float64 values, not " + dtype_name(type));
  const double a = d == Distribution::kUniform ? ctx.get_float("low", 0) : ctx.get_float("mean", 0);
  const double b = d == Distribution::kUniform ? ctx.get_float("high", 1) : ctx.get_float("scale", 1);
  if (d == Distribution::kUniform && !(a <= b)) return ctx.error("low must be at most high");
  if (d != Distribution::kUniform && !(b >= 0)) return ctx.error("scale must not be negative");
  OnnxValue& y = (*out)[0];
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(type, shape, &y));
  Rng rng(seed_of(ctx));
  for (int64_t i = 0; i < y.numel(); ++i) {
    double z = d == Distribution::kUniform ? rng.uniform() : rng.normal();
    // Truncated: draws beyond two standard deviations are drawn again (TF's rule).
    while (d == Distribution::kTruncatedNormal && std::fabs(z) > 2) z = rng.normal();
    const double v = d == Distribution::kUniform ? a + (b - a) * z : a + b * z;
    if (type == DataType::kFloat32) y.data<float>()[i] = float(v);
    else if (type == DataType::kFloat64) y.data<double>()[i] = v;
    else y.data<uint16_t>()[i] = onnx_float_to_half(float(v));
  }
  return Status();
}

Status from_shape(const OnnxOpContext& ctx, std::vector<OnnxValue>* out, Distribution d) {
  if (!ctx.has("shape")) return ctx.error("needs its shape attribute");
  const std::vector<int64_t> shape = ctx.get_ints("shape");
  for (const int64_t dim : shape)
    if (dim < 0) return ctx.error("shape " + onnx_shape_string(shape) + " has a negative dimension");
  return fill(ctx, DataType(ctx.get_int("dtype", int64_t(DataType::kFloat32))), shape, d, out);
}

Status like(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, Distribution d) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const DataType type = ctx.has("dtype") ? DataType(ctx.get_int("dtype", 0)) : in[0]->type();
  return fill(ctx, type, in[0]->shape(), d, out);
}

Status op_random_uniform(const OnnxOpContext& ctx, const OnnxInputs&, std::vector<OnnxValue>* out) {
  return from_shape(ctx, out, Distribution::kUniform);
}
Status op_random_normal(const OnnxOpContext& ctx, const OnnxInputs&, std::vector<OnnxValue>* out) {
  return from_shape(ctx, out, Distribution::kNormal);
}
Status op_random_uniform_like(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  return like(ctx, in, out, Distribution::kUniform);
}
Status op_random_normal_like(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  return like(ctx, in, out, Distribution::kNormal);
}

// Multinomial: per batch row of unnormalized log-probabilities [B, C],
// sample_size class indices drawn from their softmax (int32 or int64).
Status op_multinomial(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  if (x.rank() != 2) return ctx.error("input must be [batch, classes], got " + onnx_shape_string(x.shape()));
  if (x.type() != DataType::kFloat32 && x.type() != DataType::kFloat64) return ctx.error("input must be float32 or float64");
  const int64_t samples = ctx.get_int("sample_size", 1);
  if (samples < 0) return ctx.error("sample_size must not be negative");
  const DataType type = DataType(ctx.get_int("dtype", int64_t(DataType::kInt32)));
  if (type != DataType::kInt32 && type != DataType::kInt64) return ctx.error("dtype must be int32 or int64");
  const int64_t batch = x.shape()[0], classes = x.shape()[1];
  if (classes == 0 && samples > 0) return ctx.error("cannot draw from zero classes");
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(type, {batch, samples}, &(*out)[0]));
  std::vector<double> logits, cdf;
  KILN_RETURN_IF_ERROR(x.to_doubles(&logits));
  KILN_RETURN_IF_ERROR(resize_or_error(&cdf, classes, "working memory"));
  Rng rng(seed_of(ctx));
  for (int64_t b = 0; b < batch; ++b) {
    const double* row = logits.data() + b * classes;
    double mx = -INFINITY;
    for (int64_t c = 0; c < classes; ++c) mx = std::max(mx, row[c]);
    double total = 0;
    for (int64_t c = 0; c < classes; ++c) cdf[size_t(c)] = total += std::exp(row[c] - mx);
    for (int64_t k = 0; k < samples; ++k) {
      const double u = rng.uniform() * total;
      // The first class whose running total passes u; ties and rounding land in range.
      const int64_t pick = std::min<int64_t>(classes - 1, std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
      if (type == DataType::kInt32) (*out)[0].data<int32_t>()[b * samples + k] = int32_t(pick);
      else (*out)[0].data<int64_t>()[b * samples + k] = pick;
    }
  }
  return Status();
}

Status op_truncated_normal(const OnnxOpContext& ctx, const OnnxInputs&, std::vector<OnnxValue>* out) {
  return from_shape(ctx, out, Distribution::kTruncatedNormal);
}

const OnnxOpEntry kOps[] = {
    {"RandomUniform", op_random_uniform, false},
    {"RandomNormal", op_random_normal, false},
    {"RandomUniformLike", op_random_uniform_like, false},
    {"RandomNormalLike", op_random_normal_like, false},
    {"Multinomial", op_multinomial, false},
};

// Not ONNX operators: run eagerly (the ops API), never found in a model.
const OnnxOpEntry kKilnOps[] = {
    {"TruncatedNormal", op_truncated_normal, false},  // RandomNormal's attributes
};

}  // namespace

OnnxOpTable onnx_random_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }
OnnxOpTable kiln_random_ops() { return {kKilnOps, sizeof(kKilnOps) / sizeof(kKilnOps[0])}; }

}  // namespace kiln
