// QuantizeLinear, DequantizeLinear and DynamicQuantizeLinear: the ops of QDQ
// models (int8 weights and activations with float scales). Per-tensor or, from
// opset 13, per-axis scales and zero points. Rounding is half to even and
// results saturate to the integer type, as ONNX specifies.
#include <algorithm>
#include <cmath>

#include "onnx/kernel_util.h"

namespace kiln {

namespace {

const OnnxValue* optional_input(const OnnxInputs& in, size_t i) { return onnx_has_input(in, i) ? in[i] : nullptr; }

// Scale and zero point for each element: one pair for the whole tensor, or
// one per index along `axis` (blocks of `inner` consecutive elements).
struct QuantParams {
  std::vector<float> scale;
  std::vector<double> zero;  // doubles: int32 zero points of DequantizeLinear fit
  int64_t axis_size = 1, inner = 1;
  size_t index(int64_t i) const { return axis_size == 1 ? 0 : size_t((i / inner) % axis_size); }
};

Status read_quant_params(const OnnxOpContext& ctx, const OnnxValue& x, const OnnxValue& scale, const OnnxValue* zero,
                         QuantParams* p) {
  if (scale.type() != DataType::kFloat32) return ctx.error("scale must be float32, got " + dtype_name(scale.type()));
  if (scale.rank() > 1) return ctx.error("scale must be a scalar or 1-D, got shape " + onnx_shape_string(scale.shape()));
  if (zero && zero->shape() != scale.shape())
    return ctx.error("zero point shape " + onnx_shape_string(zero->shape()) + " differs from scale shape " +
                     onnx_shape_string(scale.shape()));
  p->scale.assign(scale.data<float>(), scale.data<float>() + scale.numel());
  if (zero) KILN_RETURN_IF_ERROR(zero->to_doubles(&p->zero));
  else p->zero.assign(p->scale.size(), 0.0);
  if (scale.rank() == 1) {  // per axis (opset 13)
    if (ctx.opset() < 13) return ctx.error("per-axis scales need opset 13");
    int64_t axis = 0;
    KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", 1), x.rank(), &axis));
    if (x.shape()[size_t(axis)] != scale.numel())
      return ctx.error("scale has " + std::to_string(scale.numel()) + " elements but axis " + std::to_string(axis) +
                       " of input shape " + onnx_shape_string(x.shape()) + " has " + std::to_string(x.shape()[size_t(axis)]));
    p->axis_size = scale.numel();
    p->inner = 1;
    for (int64_t d = axis + 1; d < x.rank(); ++d) p->inner *= x.shape()[size_t(d)];
  } else if (scale.numel() != 1) {
    return ctx.error("scale must have one element, got shape " + onnx_shape_string(scale.shape()));
  }
  for (float s : p->scale)
    if (!(s > 0) && !(s < 0)) return ctx.error("scale must be non-zero, got " + std::to_string(s));
  return Status();
}

// round-half-even(v / scale) + zero, saturated to [lo, hi].
template <typename Q>
void quantize_to(const float* x, int64_t n, const QuantParams& p, Q* y) {
  constexpr float lo = float(std::numeric_limits<Q>::min()), hi = float(std::numeric_limits<Q>::max());
  if (p.axis_size == 1) {
    const float s = p.scale[0], z = float(p.zero[0]);
    for (int64_t i = 0; i < n; ++i) y[i] = Q(std::min(hi, std::max(lo, std::nearbyint(x[i] / s) + z)));
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    const size_t c = p.index(i);
    y[i] = Q(std::min(hi, std::max(lo, std::nearbyint(x[i] / p.scale[c]) + float(p.zero[c]))));
  }
}

Status op_quantize_linear(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue& x = *in[0];
  const OnnxValue* zero = optional_input(in, 2);
  const DataType t = zero ? zero->type() : DataType::kUint8;
  if (t != DataType::kUint8 && t != DataType::kInt8)
    return ctx.error("y_zero_point must be uint8 or int8, got " + dtype_name(t));
  QuantParams p;
  KILN_RETURN_IF_ERROR(read_quant_params(ctx, x, *in[1], zero, &p));
  std::vector<float> converted;  // int32 inputs (allowed by the spec) as floats
  const float* px = nullptr;
  if (x.type() == DataType::kFloat32) {
    px = x.data<float>();
  } else if (x.type() == DataType::kInt32) {
    KILN_RETURN_IF_ERROR(reserve_or_error(&converted, x.numel(), "a float copy of x"));
    converted.assign(x.data<int32_t>(), x.data<int32_t>() + x.numel());
    px = converted.data();
  } else {
    return ctx.error("x must be float32 or int32, got " + dtype_name(x.type()));
  }
  OnnxValue& y = (*out)[0];
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(t, x.shape(), &y));
  if (t == DataType::kUint8) quantize_to(px, x.numel(), p, y.data<uint8_t>());
  else quantize_to(px, x.numel(), p, y.data<int8_t>());
  return Status();
}

Status op_dequantize_linear(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue& x = *in[0];
  const OnnxValue* zero = optional_input(in, 2);
  if (x.type() != DataType::kUint8 && x.type() != DataType::kInt8 && x.type() != DataType::kInt32)
    return ctx.error("x must be uint8, int8 or int32, got " + dtype_name(x.type()));
  if (zero && zero->type() != x.type())
    return ctx.error("x_zero_point must have x's type " + dtype_name(x.type()) + ", got " + dtype_name(zero->type()));
  QuantParams p;
  KILN_RETURN_IF_ERROR(read_quant_params(ctx, x, *in[1], zero, &p));
  if (x.type() == DataType::kInt32)
    for (double z : p.zero)
      if (z != 0) return ctx.error("an int32 x needs a zero point of 0");
  OnnxValue& y = (*out)[0];
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kFloat32, x.shape(), &y));
  float* py = y.data<float>();
  onnx_dispatch_numeric(x.type(), [&](auto zero_value) {
    using T = decltype(zero_value);
    const T* px = x.data<T>();
    // Integer subtraction first, as the spec writes it: exact for int32 too.
    for (int64_t i = 0; i < x.numel(); ++i) {
      const size_t c = p.index(i);
      py[i] = float(int64_t(px[i]) - int64_t(p.zero[c])) * p.scale[c];
    }
  });
  return Status();
}

// y_scale = (max(x, 0) - min(x, 0)) / 255, y_zero_point = round(-min / y_scale)
// saturated to uint8, y = QuantizeLinear(x, y_scale, y_zero_point).
Status op_dynamic_quantize_linear(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  if (x.type() != DataType::kFloat32) return ctx.error("x must be float32, got " + dtype_name(x.type()));
  const float* px = x.data<float>();
  float lo = 0, hi = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    if (std::isnan(px[i])) return ctx.error("x contains NaN, which has no quantization range");
    lo = std::min(lo, px[i]);
    hi = std::max(hi, px[i]);
  }
  if (std::isinf(lo) || std::isinf(hi)) return ctx.error("x contains an infinity, which has no quantization range");
  // An all-zero input has an empty range; scale 1 keeps every later division finite (as onnxruntime does).
  const float scale = hi == lo ? 1.0f : (hi - lo) / 255.0f;
  const float zero = std::min(255.0f, std::max(0.0f, std::nearbyint(-lo / scale)));
  QuantParams p;
  p.scale = {scale};
  p.zero = {zero};
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kUint8, x.shape(), &(*out)[0]));
  quantize_to(px, x.numel(), p, (*out)[0].data<uint8_t>());
  KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kFloat32, {}, &(*out)[1]));
  (*out)[1].data<float>()[0] = scale;
  KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kUint8, {}, &(*out)[2]));
  (*out)[2].data<uint8_t>()[0] = uint8_t(zero);
  return Status();
}

const OnnxOpEntry kOps[] = {
    {"QuantizeLinear", op_quantize_linear},
    {"DequantizeLinear", op_dequantize_linear},
    {"DynamicQuantizeLinear", op_dynamic_quantize_linear},
};

}  // namespace

OnnxOpTable onnx_quantize_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
