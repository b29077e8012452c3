// Shape and data-movement ONNX operators: Identity, Constant, Shape, Reshape,
// Flatten, Squeeze, Unsqueeze, Transpose, Concat, Slice, Split, Tile, Expand,
// Pad, DepthToSpace, SpaceToDepth, ConstantOfShape, Size, Range. The relabeling ones share storage; the others copy
// elements as raw bytes, so every element type (16-bit floats included) moves.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/broadcast.h"
#include "core/thread_pool.h"
#include "onnx/dispatch.h"
#include "onnx/kernel_util.h"
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
    KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kFloat32, {int64_t(f.size())}, &(*out)[0]));
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
    } else if (__builtin_mul_overflow(known, shape[i], &known) || known > kOnnxMaxElements) {
      return ctx.error("shape " + onnx_shape_string(shape) + " has too many elements");
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

// The strided copy with elements of type T, one innermost row at a time (a
// memcpy call per element cost 4 ns each: a model's NCHW -> NHWC input transpose).
template <typename T>
void strided_rows(const T* src, T* dst, int64_t row0, int64_t row1, const OnnxShape& shape,
                  const std::vector<int64_t>& strides, int64_t base) {
  const size_t r = shape.size();
  const int64_t inner = shape[r - 1], step = strides[r - 1];
  // The outer index of row0.
  std::vector<int64_t> idx(r, 0);
  int64_t off = base;
  for (size_t k = r - 1, rest = size_t(row0); k-- > 0;) {
    idx[k] = int64_t(rest % size_t(shape[k]));
    rest /= size_t(shape[k]);
    off += idx[k] * strides[k];
  }
  for (int64_t row = row0; row < row1; ++row) {
    const T* s = src + off;
    T* d = dst + row * inner;
    for (int64_t j = 0; j < inner; ++j) d[j] = s[j * step];
    for (size_t k = r - 1; k-- > 0;) {
      ++idx[k];
      off += strides[k];
      if (idx[k] < shape[k]) break;
      off -= strides[k] * shape[k];
      idx[k] = 0;
    }
  }
}

// Copies elements of `x` into a fresh value of `shape`: output element at
// index (i_0..i_r-1) reads input offset base + sum(i_d * strides[d]).
Status strided_copy(const OnnxValue& x, const OnnxShape& shape, const std::vector<int64_t>& strides, int64_t base,
                    OnnxValue* out) {
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(x.type(), shape, out));  // every element is written
  const int64_t n = out->numel();
  if (n == 0) return Status();
  if (shape.empty()) {
    std::memcpy(out->raw(), static_cast<const uint8_t*>(x.raw()) + size_t(base) * x.element_size(), x.element_size());
    return Status();
  }
  const void* src = x.raw();
  void* dst = out->raw();
  const size_t es = x.element_size();
  if (es != 1 && es != 2 && es != 4 && es != 8)
    return Status::error("strided copy: unsupported element size " + std::to_string(es));
  // Row ranges across the pool (a model's input transpose to channels-last
  // ran serially while the other threads waited).
  const int64_t inner = shape.back(), rows = n / inner;
  parallel_range(rows, std::max<int64_t>(1, 16 * 1024 / inner), [&](int64_t r0, int64_t r1) {
    auto rows_of = [&](auto element) {
      using T = decltype(element);
      strided_rows(static_cast<const T*>(src), static_cast<T*>(dst), r0, r1, shape, strides, base);
    };
    if (es == 1) rows_of(uint8_t());
    else if (es == 2) rows_of(uint16_t());
    else if (es == 4) rows_of(uint32_t());
    else rows_of(uint64_t());
  });
  return Status();
}

// A permutation that, once axes of size 1 are dropped and axes that stay
// neighbours are merged, swaps two blocks after an untouched leading one:
// `batch` transposes of [rows, cols] matrices (NCHW <-> NHWC is [C, H*W] per
// image). False for any other permutation.
bool as_batched_transpose(const OnnxShape& view, const std::vector<int64_t>& perm, int64_t* batch, int64_t* rows, int64_t* cols) {
  struct Group {
    int64_t first, last, size;  // input axes [first, last], their element count
  };
  std::vector<Group> groups;  // in output order
  for (int64_t a : perm) {
    if (view[size_t(a)] == 1) continue;
    if (!groups.empty() && groups.back().last + 1 <= a) {
      bool adjacent = true;  // every axis between is of size 1
      for (int64_t k = groups.back().last + 1; k < a; ++k) adjacent = adjacent && view[size_t(k)] == 1;
      if (adjacent) {
        groups.back().last = a, groups.back().size *= view[size_t(a)];
        continue;
      }
    }
    groups.push_back({a, a, view[size_t(a)]});
  }
  if (groups.size() == 2 && groups[0].first > groups[1].first) {
    *batch = 1, *rows = groups[1].size, *cols = groups[0].size;
    return true;
  }
  if (groups.size() == 3 && groups[0].first < groups[2].first && groups[2].first < groups[1].first) {
    *batch = groups[0].size, *rows = groups[2].size, *cols = groups[1].size;
    return true;
  }
  return false;
}

// out[b][c][r] = in[b][r][c] in square tiles, so both sides are read and written in cache lines.
template <typename T>
void batched_transpose(const T* in, T* out, int64_t batch, int64_t rows, int64_t cols) {
  constexpr int64_t kTile = 16;
  const int64_t row_tiles = (rows + kTile - 1) / kTile;
  parallel_range(batch * row_tiles, std::max<int64_t>(1, 16 * 1024 / (kTile * std::max<int64_t>(cols, 1))), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t / row_tiles, r0 = t % row_tiles * kTile, r1 = std::min(rows, r0 + kTile);
      const T* src = in + b * rows * cols;
      T* dst = out + b * rows * cols;
      for (int64_t c0 = 0; c0 < cols; c0 += kTile) {
        const int64_t c1 = std::min(cols, c0 + kTile);
        for (int64_t r = r0; r < r1; ++r)
          for (int64_t c = c0; c < c1; ++c) dst[c * rows + r] = src[r * cols + c];
      }
    }
  });
}

// Copies x (viewed as `shape`, same element count) permuted by `perm` into a fresh value.
Status permute(const OnnxValue& x, const OnnxShape& view, const std::vector<int64_t>& perm, OnnxValue* out) {
  const size_t r = view.size();
  OnnxShape shape(r);
  const std::vector<int64_t> in_strides = shape_strides(view);
  std::vector<int64_t> strides(r);
  for (size_t d = 0; d < r; ++d) {
    shape[d] = view[size_t(perm[d])];
    strides[d] = in_strides[size_t(perm[d])];
  }
  int64_t batch, rows, cols;
  const size_t es = x.element_size();
  if ((es == 4 || es == 8 || es == 2 || es == 1) && as_batched_transpose(view, perm, &batch, &rows, &cols)) {
    KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(x.type(), shape, out));
    auto run = [&](auto element) {
      using T = decltype(element);
      batched_transpose(static_cast<const T*>(x.raw()), static_cast<T*>(out->raw()), batch, rows, cols);
    };
    if (es == 4) run(uint32_t());
    else if (es == 8) run(uint64_t());
    else if (es == 2) run(uint16_t());
    else run(uint8_t());
    return Status();
  }
  return strided_copy(x, shape, strides, 0, out);
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
  return permute(x, x.shape(), perm, &(*out)[0]);
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
  // Every element is written below, so no zero fill.
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(first.type(), shape, &(*out)[0]));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[size_t(d)];
  for (int64_t d = axis + 1; d < first.rank(); ++d) inner *= shape[size_t(d)];
  const size_t es = first.element_size();
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  const int64_t row = shape[size_t(axis)] * inner;
  // Output rows split across the pool, each filled from all inputs in turn:
  // channels-last concats (DenseNet's, Inception's) copy one short run per
  // pixel and input, which serially left the other threads idle.
  parallel_range(outer, std::max<int64_t>(1, int64_t(64 * 1024) / std::max<int64_t>(1, int64_t(row * es))),
                 [&](int64_t o0, int64_t o1) {
                   int64_t at = 0;
                   for (const OnnxValue* v : in) {
                     const int64_t chunk = v->shape()[size_t(axis)] * inner;
                     const uint8_t* src = static_cast<const uint8_t*>(v->raw());
                     for (int64_t o = o0; o < o1; ++o)
                       std::memcpy(dst + size_t(o * row + at) * es, src + size_t(o * chunk) * es, size_t(chunk) * es);
                     at += chunk;
                   }
                 });
  return Status();
}

// Slice: starts/ends/axes as attributes before opset 10, then inputs (with steps).
Status op_slice(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  std::vector<int64_t> starts, ends, axes, steps;
  if (ctx.opset() < 10) {
    starts = ctx.get_ints("starts");
    ends = ctx.get_ints("ends");
    axes = ctx.get_ints("axes");
  } else {
    KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "starts", &starts));
    KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 2, "ends", &ends));
    if (onnx_has_input(in, 3)) KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 3, "axes", &axes));
    if (onnx_has_input(in, 4)) KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 4, "steps", &steps));
  }
  if (starts.size() != ends.size()) return ctx.error("starts and ends differ in length");
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i) axes.push_back(int64_t(i));
  if (steps.empty()) steps.assign(starts.size(), 1);
  if (axes.size() != starts.size() || steps.size() != starts.size())
    return ctx.error("starts, ends, axes and steps must have equal lengths");
  const size_t r = size_t(x.rank());
  OnnxShape shape = x.shape();
  std::vector<int64_t> first(r, 0), step(r, 1);
  std::vector<bool> seen(r, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t ax;
    KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, axes[i], x.rank(), &ax));
    if (seen[size_t(ax)]) return ctx.error("axis " + std::to_string(axes[i]) + " appears twice");
    seen[size_t(ax)] = true;
    const int64_t dim = x.shape()[size_t(ax)];
    if (steps[i] == 0) return ctx.error("steps must be nonzero");
    const int64_t st = std::max<int64_t>(steps[i], -std::numeric_limits<int64_t>::max());  // -st never overflows
    int64_t b = starts[i], e = ends[i];
    if (b < 0) b += dim;
    if (e < 0) e += dim;
    int64_t count;
    if (st > 0) {
      b = std::clamp<int64_t>(b, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      count = e > b ? (e - b - 1) / st + 1 : 0;
    } else {
      b = std::clamp<int64_t>(b, 0, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      count = b > e ? (b - e - 1) / (-st) + 1 : 0;
    }
    shape[size_t(ax)] = count;
    first[size_t(ax)] = count > 0 ? b : 0;
    step[size_t(ax)] = count > 1 ? st : 1;  // |step| < dim here, so strides cannot overflow
  }
  const std::vector<int64_t> in_strides = shape_strides(x.shape());
  std::vector<int64_t> strides(r);
  int64_t base = 0;
  for (size_t d = 0; d < r; ++d) {
    strides[d] = in_strides[d] * step[d];
    base += first[d] * in_strides[d];
  }
  return strided_copy(x, shape, strides, base, &(*out)[0]);
}

// Split: sizes from the 'split' attribute (before 13) or input, else equal
// parts over the outputs ('num_outputs' from opset 18: the last part may be smaller).
Status op_split(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  int64_t axis;
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", 0), x.rank(), &axis));
  const int64_t dim = x.shape()[size_t(axis)];
  std::vector<int64_t> split;
  if (ctx.opset() < 13) {
    split = ctx.get_ints("split");
    if (split.empty() && onnx_has_input(in, 1)) KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "split", &split));
  } else if (onnx_has_input(in, 1)) {
    KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "split", &split));
  }
  const int64_t n = int64_t(out->size());
  if (split.empty()) {
    const int64_t parts = ctx.get_int("num_outputs", n);
    if (parts != n) return ctx.error("num_outputs " + std::to_string(parts) + " differs from the node's " + std::to_string(n) + " outputs");
    if (ctx.opset() < 18 && dim % n != 0)
      return ctx.error("axis of size " + std::to_string(dim) + " does not split into " + std::to_string(n) + " equal parts");
    const int64_t chunk = (dim + n - 1) / n;
    for (int64_t i = 0; i < n; ++i) split.push_back(std::clamp<int64_t>(dim - i * chunk, 0, chunk));
  }
  if (int64_t(split.size()) != n) return ctx.error("split has " + std::to_string(split.size()) + " sizes for " + std::to_string(n) + " outputs");
  int64_t total = 0;
  for (int64_t s : split) {
    if (s < 0) return ctx.error("split sizes must be non-negative");
    total += s;
  }
  if (total != dim) return ctx.error("split sizes sum to " + std::to_string(total) + ", not the axis size " + std::to_string(dim));
  const std::vector<int64_t> strides = shape_strides(x.shape());
  int64_t at = 0;
  for (int64_t i = 0; i < n; ++i) {
    OnnxShape shape = x.shape();
    shape[size_t(axis)] = split[size_t(i)];
    KILN_RETURN_IF_ERROR(strided_copy(x, shape, strides, at * strides[size_t(axis)], &(*out)[size_t(i)]));
    at += split[size_t(i)];
  }
  return Status();
}

Status op_tile(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  std::vector<int64_t> reps;
  KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "repeats", &reps));
  if (int64_t(reps.size()) != x.rank()) return ctx.error("repeats needs one entry per input axis");
  OnnxShape shape = x.shape();
  for (size_t d = 0; d < shape.size(); ++d) {
    if (reps[d] < 0 || reps[d] > kOnnxMaxElements) return ctx.error("repeats must be in [0, 2^31]");
    shape[d] *= reps[d];
  }
  if (onnx_checked_numel(shape) < 0) return ctx.error("output " + onnx_shape_string(shape) + " is too large");
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), shape, &(*out)[0]));
  const size_t r = shape.size(), es = x.element_size();
  const std::vector<int64_t> strides = shape_strides(x.shape());
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  onnx_for_each_index(shape, [&](int64_t i, const std::vector<int64_t>& idx) {
    int64_t off = 0;
    for (size_t d = 0; d < r; ++d) off += (idx[d] % x.shape()[d]) * strides[d];
    std::memcpy(dst + size_t(i) * es, src + size_t(off) * es, es);
  });
  return Status();
}

Status op_expand(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  OnnxShape target, shape;
  KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "shape", &target));
  const Status st = broadcast_shape(x.shape(), target, &shape);
  if (!st.ok()) return ctx.error(st.message());
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), shape, &(*out)[0]));
  std::vector<int64_t> offsets;
  BroadcastIndex(x.shape(), shape).offsets(&offsets);
  const size_t es = x.element_size();
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  for (size_t i = 0; i < offsets.size(); ++i) std::memcpy(dst + i * es, src + size_t(offsets[i]) * es, es);
  return Status();
}

// Pad: pads/value/mode attributes before opset 11, then pads, constant_value and axes inputs.
// Constant padding that only grows the tensor (the common case: spatial
// padding, TF's channel padding): the fill value everywhere, then each input
// row of the last axis copied whole to its place.
void pad_constant_rows(const OnnxValue& x, const OnnxShape& shape, const std::vector<int64_t>& before, const OnnxValue& fill,
                       uint8_t* dst) {
  const size_t es = x.element_size(), r = shape.size();
  const int64_t n = onnx_checked_numel(shape);
  const uint8_t* f = static_cast<const uint8_t*>(fill.raw());
  if (std::all_of(f, f + es, [](uint8_t b) { return b == 0; })) std::memset(dst, 0, size_t(n) * es);
  else
    for (int64_t i = 0; i < n; ++i) std::memcpy(dst + size_t(i) * es, f, es);
  const std::vector<int64_t> out_strides = shape_strides(shape);
  const int64_t cols = x.shape()[r - 1], rows = cols > 0 ? x.numel() / cols : 0;
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  std::vector<int64_t> idx(r, 0);
  for (int64_t row = 0; row < rows; ++row) {
    int64_t off = before[r - 1];
    for (size_t d = 0; d + 1 < r; ++d) off += (idx[d] + before[d]) * out_strides[d];
    std::memcpy(dst + size_t(off) * es, src + size_t(row * cols) * es, size_t(cols) * es);
    for (size_t d = r - 1; d-- > 0;) {  // odometer over the leading axes
      if (++idx[d] < x.shape()[d]) break;
      idx[d] = 0;
    }
  }
}

Status op_pad(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  const int64_t r = x.rank();
  const std::string mode = ctx.get_string("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge" && mode != "wrap")
    return ctx.error("mode '" + mode + "' is not supported");
  std::vector<int64_t> pads, axes;
  OnnxValue fill;
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), {}, &fill));
  if (ctx.opset() < 11) {
    pads = ctx.get_ints(ctx.opset() < 2 ? "paddings" : "pads");
    onnx_store_double(&fill, 0, ctx.get_float("value", 0.f));
  } else {
    KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "pads", &pads));
    if (onnx_has_input(in, 2)) {
      if (in[2]->type() != x.type() || in[2]->numel() != 1) return ctx.error("constant_value must be one element of the input's type");
      std::memcpy(fill.raw(), in[2]->raw(), x.element_size());
    }
    if (onnx_has_input(in, 3)) KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 3, "axes", &axes));
  }
  if (axes.empty())
    for (int64_t d = 0; d < r; ++d) axes.push_back(d);
  if (pads.size() != 2 * axes.size()) return ctx.error("pads needs two entries per padded axis");
  for (int64_t p : pads)
    if (p < -kOnnxMaxElements || p > kOnnxMaxElements) return ctx.error("pad " + std::to_string(p) + " is out of range");
  std::vector<int64_t> before(size_t(r), 0), after(size_t(r), 0);
  const size_t na = axes.size();
  for (size_t i = 0; i < na; ++i) {
    int64_t ax;
    KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, axes[i], r, &ax));
    before[size_t(ax)] = pads[i];
    after[size_t(ax)] = pads[i + na];
  }
  OnnxShape shape = x.shape();
  for (size_t d = 0; d < size_t(r); ++d) {
    shape[d] += before[d] + after[d];
    if (shape[d] < 0) return ctx.error("pads crop axis " + std::to_string(d) + " below zero");
    if (mode != "constant" && x.shape()[d] == 0 && shape[d] > 0)
      return ctx.error("cannot " + mode + "-pad an empty axis");
  }
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), shape, &(*out)[0]));
  const size_t es = x.element_size();
  const std::vector<int64_t> strides = shape_strides(x.shape());
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  const bool grows = std::all_of(before.begin(), before.end(), [](int64_t p) { return p >= 0; }) &&
                     std::all_of(after.begin(), after.end(), [](int64_t p) { return p >= 0; });
  if (mode == "constant" && grows && r > 0 && x.type() != DataType::kString) {
    pad_constant_rows(x, shape, before, fill, dst);
    return Status();
  }
  onnx_for_each_index(shape, [&](int64_t i, const std::vector<int64_t>& idx) {
    int64_t off = 0;
    bool inside = true;
    for (size_t d = 0; d < size_t(r); ++d) {
      const int64_t dim = x.shape()[d];
      int64_t c = idx[d] - before[d];
      if (c < 0 || c >= dim) {
        if (mode == "constant") {
          inside = false;
          break;
        } else if (mode == "edge") {
          c = std::clamp<int64_t>(c, 0, dim - 1);
        } else if (mode == "wrap") {
          c = ((c % dim) + dim) % dim;
        } else if (dim == 1) {
          c = 0;
        } else {
          const int64_t period = 2 * (dim - 1);
          c = ((c % period) + period) % period;
          if (c >= dim) c = period - c;
        }
      }
      off += c * strides[d];
    }
    std::memcpy(dst + size_t(i) * es, inside ? src + size_t(off) * es : static_cast<const uint8_t*>(fill.raw()), es);
  });
  return Status();
}

Status op_depth_to_space(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  const int64_t b = ctx.get_int("blocksize", 0);
  if (x.rank() != 4) return ctx.error("input must be 4-D (N, C, H, W)");
  if (b <= 0 || x.shape()[1] % (b * b) != 0) return ctx.error("channels must divide by blocksize^2");
  const int64_t n = x.shape()[0], c = x.shape()[1] / (b * b), h = x.shape()[2], w = x.shape()[3];
  OnnxValue t;
  if (ctx.get_string("mode", "DCR") == "CRD") {
    KILN_RETURN_IF_ERROR(permute(x, {n, c, b, b, h, w}, {0, 1, 4, 2, 5, 3}, &t));
  } else {
    KILN_RETURN_IF_ERROR(permute(x, {n, b, b, c, h, w}, {0, 3, 4, 1, 5, 2}, &t));
  }
  (*out)[0] = t.reshaped({n, c, h * b, w * b});
  return Status();
}

Status op_space_to_depth(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  const int64_t b = ctx.get_int("blocksize", 0);
  if (x.rank() != 4) return ctx.error("input must be 4-D (N, C, H, W)");
  if (b <= 0 || x.shape()[2] % b != 0 || x.shape()[3] % b != 0) return ctx.error("height and width must divide by blocksize");
  const int64_t n = x.shape()[0], c = x.shape()[1], h = x.shape()[2] / b, w = x.shape()[3] / b;
  OnnxValue t;
  KILN_RETURN_IF_ERROR(permute(x, {n, c, h, b, w, b}, {0, 3, 5, 1, 2, 4}, &t));
  (*out)[0] = t.reshaped({n, c * b * b, h, w});
  return Status();
}

Status op_constant_of_shape(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  OnnxShape shape;
  KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 0, "shape", &shape));
  OnnxValue v = OnnxValue::scalar_f32(0.f);
  if (const OnnxAttribute* a = ctx.attr("value")) {
    KILN_RETURN_IF_ERROR(OnnxValue::from_tensor(a->t, &v));
    if (v.numel() != 1) return ctx.error("value must hold one element");
  }
  if (onnx_checked_numel(shape) < 0) return ctx.error("invalid shape " + onnx_shape_string(shape));
  KILN_RETURN_IF_ERROR(OnnxValue::make(v.type(), shape, &(*out)[0]));
  const size_t es = v.element_size();
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  for (int64_t i = 0; i < (*out)[0].numel(); ++i) std::memcpy(dst + size_t(i) * es, v.raw(), es);
  return Status();
}

Status op_size(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  (*out)[0] = OnnxValue::vector_i64({in[0]->numel()}).reshaped({});
  return Status();
}

Status op_range(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  for (size_t i = 0; i < 3; ++i) {
    KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
    if (in[i]->numel() != 1 || in[i]->type() != in[0]->type()) return ctx.error("start, limit and delta must be scalars of one type");
  }
  Status st;
  const bool ok = onnx_dispatch_numeric(in[0]->type(), [&](auto zero) {
    using T = decltype(zero);
    const T start = in[0]->data<T>()[0], limit = in[1]->data<T>()[0], delta = in[2]->data<T>()[0];
    if (delta == T(0)) {
      st = ctx.error("delta must be nonzero");
      return;
    }
    const double n = std::ceil((double(limit) - double(start)) / double(delta));
    if (!(n <= double(kOnnxMaxElements))) {
      st = ctx.error("range is too long (or not finite)");
      return;
    }
    const int64_t count = n > 0 ? int64_t(n) : 0;
    st = OnnxValue::make(in[0]->type(), {count}, &(*out)[0]);
    if (!st.ok()) return;
    T v = start;
    for (int64_t i = 0; i < count; ++i, v = T(v + delta)) (*out)[0].data<T>()[i] = v;
  });
  return ok ? st : ctx.error("does not take " + dtype_name(in[0]->type()));
}

const OnnxOpEntry kOps[] = {
    {"Identity", op_identity, true, true}, {"Constant", op_constant}, {"Shape", op_shape}, {"Reshape", op_reshape},
    {"Flatten", op_flatten},   {"Squeeze", op_squeeze},   {"Unsqueeze", op_unsqueeze}, {"Transpose", op_transpose},
    {"Concat", op_concat},     {"Slice", op_slice},       {"Split", op_split},     {"Tile", op_tile},
    {"Expand", op_expand},     {"Pad", op_pad},           {"DepthToSpace", op_depth_to_space},
    {"SpaceToDepth", op_space_to_depth},                  {"ConstantOfShape", op_constant_of_shape},
    {"Size", op_size},         {"Range", op_range},
};

}  // namespace

OnnxOpTable onnx_shape_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
