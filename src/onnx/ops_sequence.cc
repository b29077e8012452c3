// ONNX's sequence and optional operators: SequenceEmpty, SequenceConstruct,
// SequenceInsert, SequenceAt, SequenceErase, SequenceLength,
// ConcatFromSequence, SplitToSequence, Optional, OptionalHasElement and
// OptionalGetElement. Sequences hold their tensors by reference (OnnxValue
// shares storage), so building one copies no tensor data.
#include <cstring>

#include "onnx/kernel_util.h"

namespace kiln {

namespace {

Status require_sequence(const OnnxOpContext& ctx, const OnnxInputs& in, size_t i) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  if (in[i]->kind() != OnnxValueKind::kSequence)
    return ctx.error("input " + std::to_string(i) + " must be a sequence, got a " + onnx_value_description(*in[i]));
  return Status();
}

Status require_tensor(const OnnxOpContext& ctx, const OnnxInputs& in, size_t i) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  if (!in[i]->is_tensor()) return ctx.error("input " + std::to_string(i) + " must be a tensor, got a " + onnx_value_description(*in[i]));
  return Status();
}

// A position input (int32 / int64 scalar) normalized into [0, size) or, when
// `inclusive_end`, [0, size]; `dflt` when the input is absent.
Status read_position(const OnnxOpContext& ctx, const OnnxInputs& in, size_t i, int64_t size, bool inclusive_end,
                     int64_t dflt, int64_t* out) {
  if (!onnx_has_input(in, i)) {
    *out = dflt;
    return Status();
  }
  if (in[i]->numel() != 1 || (in[i]->type() != DataType::kInt32 && in[i]->type() != DataType::kInt64))
    return ctx.error("position must be an int32 or int64 scalar");
  std::vector<int64_t> p;
  KILN_RETURN_IF_ERROR(in[i]->to_int64s(&p));
  const int64_t hi = inclusive_end ? size : size - 1;
  if (p[0] < -size || p[0] > hi)
    return ctx.error("position " + std::to_string(p[0]) + " is out of range for a sequence of " + std::to_string(size));
  *out = p[0] < 0 ? p[0] + size : p[0];
  return Status();
}

Status check_element_type(const OnnxOpContext& ctx, const OnnxValue& seq, const OnnxValue& t) {
  if (!seq.items().empty() && seq.type() != t.type())
    return ctx.error("a sequence of " + dtype_name(seq.type()) + " cannot take a " + dtype_name(t.type()) + " tensor");
  return Status();
}

Status op_sequence_empty(const OnnxOpContext& ctx, const OnnxInputs&, std::vector<OnnxValue>* out) {
  (*out)[0] = OnnxValue::sequence(DataType(int32_t(ctx.get_int("dtype", int64_t(DataType::kFloat32)))), {});
  return Status();
}

Status op_sequence_construct(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  std::vector<OnnxValue> items;
  for (size_t i = 0; i < in.size(); ++i) {
    KILN_RETURN_IF_ERROR(require_tensor(ctx, in, i));
    if (in[i]->type() != in[0]->type())
      return ctx.error("inputs mix " + dtype_name(in[0]->type()) + " and " + dtype_name(in[i]->type()));
    items.push_back(*in[i]);
  }
  (*out)[0] = OnnxValue::sequence(in.empty() ? DataType::kUndefined : in[0]->type(), std::move(items));
  return Status();
}

Status op_sequence_insert(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(require_sequence(ctx, in, 0));
  KILN_RETURN_IF_ERROR(require_tensor(ctx, in, 1));
  const OnnxValue& seq = *in[0];
  KILN_RETURN_IF_ERROR(check_element_type(ctx, seq, *in[1]));
  const int64_t n = int64_t(seq.items().size());
  int64_t pos = 0;
  KILN_RETURN_IF_ERROR(read_position(ctx, in, 2, n, true, n, &pos));
  std::vector<OnnxValue> items = seq.items();
  items.insert(items.begin() + pos, *in[1]);
  (*out)[0] = OnnxValue::sequence(in[1]->type(), std::move(items));
  return Status();
}

Status op_sequence_at(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(require_sequence(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const int64_t n = int64_t(in[0]->items().size());
  int64_t pos = 0;
  KILN_RETURN_IF_ERROR(read_position(ctx, in, 1, n, false, 0, &pos));
  (*out)[0] = in[0]->items()[size_t(pos)];
  return Status();
}

Status op_sequence_erase(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(require_sequence(ctx, in, 0));
  const int64_t n = int64_t(in[0]->items().size());
  if (n == 0) return ctx.error("cannot erase from an empty sequence");
  int64_t pos = 0;
  KILN_RETURN_IF_ERROR(read_position(ctx, in, 1, n, false, n - 1, &pos));
  std::vector<OnnxValue> items = in[0]->items();
  items.erase(items.begin() + pos);
  (*out)[0] = OnnxValue::sequence(in[0]->type(), std::move(items));
  return Status();
}

Status op_sequence_length(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(require_sequence(ctx, in, 0));
  KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kInt64, {}, &(*out)[0]));
  (*out)[0].data<int64_t>()[0] = int64_t(in[0]->items().size());
  return Status();
}

// Concat (or, with new_axis=1, stacking) of the sequence's tensors, by the Concat kernel.
Status op_concat_from_sequence(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(require_sequence(ctx, in, 0));
  const std::vector<OnnxValue>& items = in[0]->items();
  if (items.empty()) return ctx.error("cannot concatenate an empty sequence");
  if (!ctx.has("axis")) return ctx.error("attribute 'axis' is required");
  const bool new_axis = ctx.get_int("new_axis", 0) != 0;
  const int64_t rank = items[0].rank() + (new_axis ? 1 : 0);
  int64_t axis = 0;
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", 0), rank, &axis));
  std::vector<OnnxValue> parts;
  for (const OnnxValue& t : items) {
    if (!new_axis) {
      parts.push_back(t);
      continue;
    }
    OnnxShape s = t.shape();
    if (int64_t(s.size()) != rank - 1) return ctx.error("stacked tensors must have one rank");
    s.insert(s.begin() + axis, 1);
    parts.push_back(t.reshaped(s));
  }
  OnnxNode concat;
  concat.name = ctx.node().name;
  concat.op_type = "Concat";
  OnnxAttribute& a = concat.attributes.emplace_back();
  a.name = "axis", a.type = OnnxAttributeType::kInt, a.i = axis;
  OnnxInputs part_ptrs;
  for (const OnnxValue& p : parts) part_ptrs.push_back(&p);
  return find_onnx_op("Concat")->kernel(OnnxOpContext(concat, ctx.opset()), part_ptrs, out);
}

Status op_split_to_sequence(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(require_tensor(ctx, in, 0));
  const OnnxValue& x = *in[0];
  int64_t axis = 0;
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", 0), x.rank(), &axis));
  const int64_t dim = x.shape()[size_t(axis)];
  std::vector<int64_t> sizes;
  bool squeeze = false;
  if (!onnx_has_input(in, 1)) {
    sizes.assign(size_t(dim), 1);
    squeeze = ctx.get_int("keepdims", 1) == 0;
  } else {
    std::vector<int64_t> split;
    KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "split", &split));
    if (in[1]->rank() == 0) {
      if (split[0] <= 0) return ctx.error("split must be positive");
      for (int64_t at = 0; at < dim; at += split[0]) sizes.push_back(std::min(split[0], dim - at));
    } else {
      int64_t total = 0;
      for (int64_t s : split) {
        if (s < 0) return ctx.error("split sizes must not be negative");
        total += s;
      }
      if (total != dim) return ctx.error("split sizes sum to " + std::to_string(total) + ", axis has " + std::to_string(dim));
      sizes = split;
    }
  }
  int64_t outer = 1, inner = int64_t(x.element_size());
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[size_t(d)];
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[size_t(d)];
  std::vector<OnnxValue> items;
  int64_t at = 0;
  for (int64_t size : sizes) {
    OnnxShape s = x.shape();
    s[size_t(axis)] = size;
    OnnxValue& t = items.emplace_back();
    KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(x.type(), s, &t));
    const uint8_t* src = static_cast<const uint8_t*>(x.raw());
    uint8_t* dst = static_cast<uint8_t*>(t.raw());
    for (int64_t o = 0; o < outer; ++o)
      std::memcpy(dst + o * size * inner, src + (o * dim + at) * inner, size_t(size * inner));
    if (squeeze) s.erase(s.begin() + axis), t = t.reshaped(s);
    at += size;
  }
  (*out)[0] = OnnxValue::sequence(x.type(), std::move(items));
  return Status();
}

// An optional holding its input is that input; without one it is empty.
Status op_optional(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  if (onnx_has_input(in, 0)) {
    (*out)[0] = *in[0];
    return Status();
  }
  if (!ctx.has("type")) return ctx.error("an Optional without an input needs its 'type' attribute");
  (*out)[0] = OnnxValue::none(DataType::kUndefined, OnnxValueKind::kTensor);
  return Status();
}

Status op_optional_has_element(const OnnxOpContext&, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kBool, {}, &(*out)[0]));
  (*out)[0].data<uint8_t>()[0] = onnx_has_input(in, 0) && in[0]->kind() != OnnxValueKind::kOptional;
  return Status();
}

Status op_optional_get_element(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  if (in[0]->kind() == OnnxValueKind::kOptional) return ctx.error("the optional input is empty");
  (*out)[0] = *in[0];
  return Status();
}

const OnnxOpEntry kOps[] = {
    {"SequenceEmpty", op_sequence_empty, true, true},
    {"SequenceConstruct", op_sequence_construct, true, true},
    {"SequenceInsert", op_sequence_insert, true, true},
    {"SequenceAt", op_sequence_at, true, true},
    {"SequenceErase", op_sequence_erase, true, true},
    {"SequenceLength", op_sequence_length, true, true},
    {"ConcatFromSequence", op_concat_from_sequence, true, true},
    {"SplitToSequence", op_split_to_sequence, true, true},
    {"Optional", op_optional, true, true},
    {"OptionalHasElement", op_optional_has_element, true, true},
    {"OptionalGetElement", op_optional_get_element, true, true},
};

}  // namespace

OnnxOpTable onnx_sequence_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
