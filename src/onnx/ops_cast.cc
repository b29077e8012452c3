// Per-element conversion ONNX operators: Cast and CastLike between every
// numeric type, bool, float16 and bfloat16 (src/core/float16.h: round to
// nearest even), and Shrink. Strings are not supported.
#include <cstring>

#include "onnx/kernel_util.h"
#include "onnx/op.h"

namespace kiln {

namespace {

// Converts x to `to` (numeric types, bool, float16, bfloat16; not strings).
Status cast_value(const OnnxOpContext& ctx, const OnnxValue& x, DataType to, OnnxValue* out) {
  const auto convertible = [](DataType t) { return t != DataType::kString && dtype_size(t) > 0; };
  if (!convertible(to) || !convertible(x.type()))
    return ctx.error("casting " + dtype_name(x.type()) + " to " + dtype_name(to) + " is not supported");
  KILN_RETURN_IF_ERROR(OnnxValue::make(to, x.shape(), out));
  if (to == x.type()) {
    if (x.bytes()) std::memcpy(out->raw(), x.raw(), x.bytes());
    return Status();
  }
  // The casts models run on big tensors (masks and indices to and from float32) as direct loops.
  const int64_t n = x.numel();
  auto direct = [&](auto from, auto to_zero) {
    using F = decltype(from);
    using T = decltype(to_zero);
    const F* src = x.data<F>();
    T* dst = out->data<T>();
    for (int64_t i = 0; i < n; ++i) dst[i] = T(src[i]);
  };
  const DataType from = x.type();
  if (from == DataType::kBool && to == DataType::kFloat32) direct(uint8_t(), float());
  else if (from == DataType::kInt32 && to == DataType::kFloat32) direct(int32_t(), float());
  else if (from == DataType::kInt64 && to == DataType::kFloat32) direct(int64_t(), float());
  else if (from == DataType::kInt64 && to == DataType::kInt32) direct(int64_t(), int32_t());
  else if (from == DataType::kInt32 && to == DataType::kInt64) direct(int32_t(), int64_t());
  else
    for (int64_t i = 0; i < n; ++i) onnx_store_double(out, i, onnx_element_as_double(x, i));
  return Status();
}

Status op_cast(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  return cast_value(ctx, *in[0], DataType(ctx.get_int("to", 0)), &(*out)[0]);
}

Status op_cast_like(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  return cast_value(ctx, *in[0], in[1]->type(), &(*out)[0]);
}

Status op_shrink(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  const double lambd = ctx.get_float("lambd", 0.5f), bias = ctx.get_float("bias", 0.f);
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), x.shape(), &(*out)[0]));
  if (x.type() == DataType::kBool || x.type() == DataType::kString) return ctx.error("does not take " + dtype_name(x.type()));
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double v = onnx_element_as_double(x, i);
    onnx_store_double(&(*out)[0], i, v < -lambd ? v + bias : v > lambd ? v - bias : 0.0);
  }
  return Status();
}

const OnnxOpEntry kOps[] = {
    {"Cast", op_cast}, {"CastLike", op_cast_like}, {"Shrink", op_shrink},
};

}  // namespace

OnnxOpTable onnx_cast_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
