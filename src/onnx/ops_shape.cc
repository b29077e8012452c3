// Shape and data-movement ONNX operators: Identity, Constant, Shape, Reshape,
// Flatten, Squeeze, Unsqueeze, Transpose, Concat. Most of them only relabel
// shared storage; Transpose and Concat copy.
#include <algorithm>
#include <cstring>

#include "onnx/dispatch.h"
#include "onnx/op.h"

namespace kiln {

namespace {

Status op_identity(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  (*out)[0] = *in[0];
  return Status();
}

Status op_constant(const OnnxOpContext& ctx, const OnnxInputs&, std::vector<OnnxValue>* out) {
  if (const OnnxAttribute* t = ctx.attr("value")) return OnnxValue::from_tensor(t->t, &(*out)[0]);
  if (ctx.has("value_float")) {
    (*out)[0] = OnnxValue::scalar_f32(ctx.get_float("value_float", 0));
    return Status();
  }
  if (ctx.has("value_floats")) {
    const std::vector<float> f = ctx.get_floats("value_floats");
    KILN_RETURN_IF_ERROR(OnnxValue::make(OnnxDataType::kFloat, {int64_t(f.size())}, &(*out)[0]));
    if (!f.empty()) std::memcpy((*out)[0].raw(), f.data(), f.size() * sizeof(float));
    return Status();
  }
  if (ctx.has("value_int")) {
    (*out)[0] = OnnxValue::vector_i64({ctx.get_int("value_int", 0)}).reshaped({});
    return Status();
  }
  if (ctx.has("value_ints")) {
    (*out)[0] = OnnxValue::vector_i64(ctx.get_ints("value_ints"));
    return Status();
  }
  return ctx.error("needs a 'value' attribute (sparse and string constants are not supported)");
}

Status op_shape(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const int64_t r = in[0]->rank();
  int64_t start = ctx.get_int("start", 0), end = ctx.get_int("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, start, r);
  (*out)[0] = OnnxValue::vector_i64(OnnxShape(in[0]->shape().begin() + start, in[0]->shape().begin() + end));
  return Status();
}

// Reshape: 0 copies the input's dimension (unless allowzero), -1 is inferred.
Status op_reshape(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  OnnxShape shape;
  if (ctx.opset() < 5) {
    shape = ctx.get_ints("shape");
  } else {
    KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
    const Status st = in[1]->to_int64s(&shape);
    if (!st.ok()) return ctx.error("shape: " + st.message());
  }
  const OnnxValue& x = *in[0];
  const bool allow_zero = ctx.get_int("allowzero", 0) != 0;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allow_zero) {
      if (i >= x.shape().size()) return ctx.error("shape has 0 at axis " + std::to_string(i) + " beyond the input's rank");
      shape[i] = x.shape()[i];
    }
    if (shape[i] == -1) {
      if (infer >= 0) return ctx.error("shape has more than one -1");
      infer = int64_t(i);
    } else if (shape[i] < 0) {
      return ctx.error("shape has a negative dimension " + std::to_string(shape[i]));
    } else {
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    if (known == 0 || x.numel() % known != 0)
      return ctx.error("cannot infer -1 reshaping " + onnx_shape_string(x.shape()) + " to " + onnx_shape_string(shape));
    shape[size_t(infer)] = x.numel() / known;
  }
  if (onnx_checked_numel(shape) != x.numel())
    return ctx.error("cannot reshape " + onnx_shape_string(x.shape()) + " (" + std::to_string(x.numel()) + " elements) to " +
                     onnx_shape_string(shape));
  (*out)[0] = x.reshaped(shape);
  return Status();
}

Status op_flatten(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  int64_t axis = ctx.get_int("axis", 1);
  if (axis < 0) axis += x.rank();
  if (axis < 0 || axis > x.rank()) return ctx.error("axis out of range for rank " + std::to_string(x.rank()));
  int64_t outer = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[size_t(d)];
  (*out)[0] = x.reshaped({outer, outer == 0 ? 0 : x.numel() / outer});
  return Status();
}

// The axes of Squeeze / Unsqueeze: an attribute before opset 13, an input from 13.
Status axes_of(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<int64_t>* axes, bool* given) {
  *given = true;
  if (ctx.opset() < 13) {
    *given = ctx.has("axes");
    *axes = ctx.get_ints("axes");
    return Status();
  }
  if (in.size() < 2 || !in[1] || !in[1]->defined()) {
    *given = false;
    return Status();
  }
  return in[1]->to_int64s(axes);
}

Status op_squeeze(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  std::vector<int64_t> axes;
  bool given;
  KILN_RETURN_IF_ERROR(axes_of(ctx, in, &axes, &given));
  std::vector<bool> drop(size_t(x.rank()), false);
  if (!given) {
    for (int64_t d = 0; d < x.rank(); ++d) drop[size_t(d)] = x.shape()[size_t(d)] == 1;
  } else {
    for (int64_t a : axes) {
      int64_t ax;
      KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, a, x.rank(), &ax));
      if (x.shape()[size_t(ax)] != 1) return ctx.error("cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(x.shape()[size_t(ax)]));
      drop[size_t(ax)] = true;
    }
  }
  OnnxShape shape;
  for (int64_t d = 0; d < x.rank(); ++d)
    if (!drop[size_t(d)]) shape.push_back(x.shape()[size_t(d)]);
  (*out)[0] = x.reshaped(shape);
  return Status();
}

Status op_unsqueeze(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  std::vector<int64_t> axes;
  bool given;
  KILN_RETURN_IF_ERROR(axes_of(ctx, in, &axes, &given));
  if (!given) return ctx.error("needs axes");
  const int64_t rank = x.rank() + int64_t(axes.size());
  std::vector<bool> inserted(size_t(rank), false);
  for (int64_t a : axes) {
    int64_t ax;
    KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, a, rank, &ax));
    if (inserted[size_t(ax)]) return ctx.error("axis " + std::to_string(a) + " appears twice");
    inserted[size_t(ax)] = true;
  }
  OnnxShape shape;
  size_t next = 0;
  for (int64_t d = 0; d < rank; ++d) shape.push_back(inserted[size_t(d)] ? 1 : x.shape()[next++]);
  (*out)[0] = x.reshaped(shape);
  return Status();
}

Status op_transpose(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  const size_t r = size_t(x.rank());
  std::vector<int64_t> perm = ctx.get_ints("perm");
  if (perm.empty())
    for (size_t d = 0; d < r; ++d) perm.push_back(int64_t(r - 1 - d));
  std::vector<bool> seen(r, false);
  if (perm.size() != r) return ctx.error("perm must list each of the " + std::to_string(r) + " axes once");
  for (int64_t p : perm) {
    if (p < 0 || p >= int64_t(r) || seen[size_t(p)]) return ctx.error("perm must list each of the " + std::to_string(r) + " axes once");
    seen[size_t(p)] = true;
  }
  OnnxShape shape(r);
  std::vector<int64_t> in_strides(r, 1), strides(r);
  for (size_t d = r; d-- > 1;) in_strides[d - 1] = in_strides[d] * x.shape()[d];
  for (size_t d = 0; d < r; ++d) {
    shape[d] = x.shape()[size_t(perm[d])];
    strides[d] = in_strides[size_t(perm[d])];
  }
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), shape, &(*out)[0]));
  const size_t es = x.element_size();
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  std::vector<int64_t> idx(r, 0);
  int64_t off = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    std::memcpy(dst + size_t(i) * es, src + size_t(off) * es, es);
    for (size_t d = r; d-- > 0;) {
      ++idx[d];
      off += strides[d];
      if (idx[d] < shape[d]) break;
      off -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
  return Status();
}

Status op_concat(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  if (in.empty()) return ctx.error("needs at least one input");
  for (size_t i = 0; i < in.size(); ++i) KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  const OnnxValue& first = *in[0];
  int64_t axis;
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", 0), first.rank(), &axis));
  OnnxShape shape = first.shape();
  shape[size_t(axis)] = 0;
  for (const OnnxValue* v : in) {
    if (v->type() != first.type() || v->rank() != first.rank()) return ctx.error("inputs must share type and rank");
    for (int64_t d = 0; d < first.rank(); ++d)
      if (d != axis && v->shape()[size_t(d)] != first.shape()[size_t(d)])
        return ctx.error("input shapes " + onnx_shape_string(first.shape()) + " and " + onnx_shape_string(v->shape()) +
                         " differ off the concat axis");
    shape[size_t(axis)] += v->shape()[size_t(axis)];
  }
  KILN_RETURN_IF_ERROR(OnnxValue::make(first.type(), shape, &(*out)[0]));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[size_t(d)];
  for (int64_t d = axis + 1; d < first.rank(); ++d) inner *= shape[size_t(d)];
  const size_t es = first.element_size();
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  const int64_t row = shape[size_t(axis)] * inner;
  int64_t at = 0;
  for (const OnnxValue* v : in) {
    const int64_t chunk = v->shape()[size_t(axis)] * inner;
    const uint8_t* src = static_cast<const uint8_t*>(v->raw());
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + size_t(o * row + at) * es, src + size_t(o * chunk) * es, size_t(chunk) * es);
    at += chunk;
  }
  return Status();
}

const OnnxOpEntry kOps[] = {
    {"Identity", op_identity}, {"Constant", op_constant}, {"Shape", op_shape},   {"Reshape", op_reshape},
    {"Flatten", op_flatten},   {"Squeeze", op_squeeze},   {"Unsqueeze", op_unsqueeze}, {"Transpose", op_transpose},
    {"Concat", op_concat},
};

}  // namespace

OnnxOpTable onnx_shape_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
