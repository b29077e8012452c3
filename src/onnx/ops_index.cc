// Indexing ONNX operators: Gather, GatherElements, GatherND, Scatter,
// ScatterElements, ScatterND, OneHot, CumSum, TopK, ArgMax, ArgMin, NonZero,
// ReverseSequence, Unique, EyeLike, Trilu, Compress. Gathers move raw element bytes, so they take
// every element type; arithmetic ones dispatch over the numeric types.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <numeric>

#include "core/shape.h"
#include "onnx/dispatch.h"
#include "onnx/kernel_util.h"
#include "onnx/op.h"

namespace kiln {

namespace {

// Resolves a possibly negative index into [0, dim), or errors.
Status resolve_index(const OnnxOpContext& ctx, int64_t idx, int64_t dim, int64_t* out) {
  if (idx < -dim || idx >= dim)
    return ctx.error("index " + std::to_string(idx) + " is out of range for an axis of size " + std::to_string(dim));
  *out = idx < 0 ? idx + dim : idx;
  return Status();
}

Status op_gather(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  std::vector<int64_t> idx;
  KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "indices", &idx));
  int64_t axis;
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", 0), x.rank(), &axis));
  const int64_t dim = x.shape()[size_t(axis)];
  OnnxShape shape(x.shape().begin(), x.shape().begin() + axis);
  shape.insert(shape.end(), in[1]->shape().begin(), in[1]->shape().end());
  shape.insert(shape.end(), x.shape().begin() + axis + 1, x.shape().end());
  for (int64_t& i : idx) KILN_RETURN_IF_ERROR(resolve_index(ctx, i, dim, &i));
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), shape, &(*out)[0]));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[size_t(d)];
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[size_t(d)];
  const size_t row = size_t(inner) * x.element_size();
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  for (int64_t o = 0; o < outer; ++o)
    for (size_t j = 0; j < idx.size(); ++j)
      std::memcpy(dst + (size_t(o) * idx.size() + j) * row, src + size_t(o * dim + idx[j]) * row, row);
  return Status();
}

Status op_gather_elements(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  std::vector<int64_t> idx;
  KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "indices", &idx));
  int64_t axis;
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", 0), x.rank(), &axis));
  const OnnxShape& ishape = in[1]->shape();
  if (ishape.size() != x.shape().size()) return ctx.error("indices must have the data's rank");
  const std::vector<int64_t> strides = shape_strides(x.shape());
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), ishape, &(*out)[0]));
  const size_t es = x.element_size();
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  Status st;
  onnx_for_each_index(ishape, [&](int64_t i, const std::vector<int64_t>& c) {
    if (!st.ok()) return;
    int64_t off = 0;
    for (size_t d = 0; d < c.size(); ++d) {
      int64_t v = c[d];
      if (int64_t(d) == axis) {
        st = resolve_index(ctx, idx[size_t(i)], x.shape()[d], &v);
        if (!st.ok()) return;
      } else if (v >= x.shape()[d]) {
        st = ctx.error("indices shape " + onnx_shape_string(ishape) + " exceeds data shape " + onnx_shape_string(x.shape()));
        return;
      }
      off += v * strides[d];
    }
    std::memcpy(dst + size_t(i) * es, src + size_t(off) * es, es);
  });
  return st;
}

Status op_gather_nd(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  std::vector<int64_t> idx;
  KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "indices", &idx));
  const OnnxShape& ishape = in[1]->shape();
  const int64_t b = ctx.get_int("batch_dims", 0);
  if (ishape.empty()) return ctx.error("indices must have rank 1 or more");
  const int64_t k = ishape.back();
  if (b < 0 || b >= int64_t(ishape.size()) || b + k > x.rank()) return ctx.error("batch_dims / index depth do not fit the data's rank");
  int64_t batch = 1;
  for (int64_t d = 0; d < b; ++d) {
    if (ishape[size_t(d)] != x.shape()[size_t(d)]) return ctx.error("batch dimensions of data and indices differ");
    batch *= x.shape()[size_t(d)];
  }
  OnnxShape shape(ishape.begin(), ishape.end() - 1);
  shape.insert(shape.end(), x.shape().begin() + b + k, x.shape().end());
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), shape, &(*out)[0]));
  int64_t inner = 1, batch_size = 1;
  for (int64_t d = b + k; d < x.rank(); ++d) inner *= x.shape()[size_t(d)];
  for (int64_t d = b; d < x.rank(); ++d) batch_size *= x.shape()[size_t(d)];
  const std::vector<int64_t> strides = shape_strides(x.shape());
  const int64_t tuples = k == 0 ? 0 : int64_t(idx.size()) / k;
  const int64_t per_batch = batch > 0 ? (k == 0 ? 0 : tuples / batch) : 0;
  const size_t row = size_t(inner) * x.element_size();
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  if (k == 0) {  // each index tuple is empty: the whole batch slice per output
    const int64_t n = (*out)[0].numel() / std::max<int64_t>(batch_size, 1);
    for (int64_t t = 0; t < n; ++t) {
      const int64_t bi = t / std::max<int64_t>(n / std::max<int64_t>(batch, 1), 1);
      std::memcpy(dst + size_t(t) * row, src + size_t(bi * batch_size) * x.element_size(), row);
    }
    return Status();
  }
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = (t / per_batch) * batch_size;
    for (int64_t j = 0; j < k; ++j) {
      int64_t v;
      KILN_RETURN_IF_ERROR(resolve_index(ctx, idx[size_t(t * k + j)], x.shape()[size_t(b + j)], &v));
      off += v * strides[size_t(b + j)];
    }
    std::memcpy(dst + size_t(t) * row, src + size_t(off) * x.element_size(), row);
  }
  return Status();
}

// Combines an update into an element per the 'reduction' attribute.
template <typename T>
void reduce_into(const std::string& reduction, T* dst, T v) {
  if (reduction == "add") *dst = T(*dst + v);
  else if (reduction == "mul") *dst = T(*dst * v);
  else if (reduction == "max") *dst = std::max(*dst, v);
  else if (reduction == "min") *dst = std::min(*dst, v);
  else *dst = v;
}

Status check_reduction(const OnnxOpContext& ctx, const std::string& r) {
  if (r != "none" && r != "add" && r != "mul" && r != "max" && r != "min") return ctx.error("reduction '" + r + "' is not supported");
  return Status();
}

// The scatters' output: x with update block t (`inner` elements) combined in
// at offsets[t]; 16-bit floats are always replaced.
Status scatter_into(const OnnxOpContext& ctx, const OnnxValue& x, const OnnxValue& upd, const std::string& reduction,
                    const std::vector<int64_t>& offs, int64_t inner, OnnxValue* out) {
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), x.shape(), out));
  if (x.bytes()) std::memcpy(out->raw(), x.raw(), x.bytes());
  const bool ok = onnx_dispatch_any(x.type(), [&](auto zero) {
    using T = decltype(zero);
    T* dst = out->data<T>();
    const std::string r = x.type() == DataType::kFloat16 || x.type() == DataType::kBfloat16 ? "none" : reduction;
    const T* src = upd.data<T>();
    for (size_t t = 0; t < offs.size(); ++t)
      for (int64_t e = 0; e < inner; ++e) reduce_into<T>(r, dst + offs[t] + e, src[int64_t(t) * inner + e]);
  });
  if (!ok) return ctx.error("does not take " + dtype_name(x.type()));
  return Status();
}

// ScatterElements (and the old Scatter): data with updates written at indices along axis.
Status op_scatter_elements(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 2));
  const OnnxValue& x = *in[0];
  const OnnxValue& upd = *in[2];
  std::vector<int64_t> idx;
  KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "indices", &idx));
  int64_t axis;
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", 0), x.rank(), &axis));
  const std::string reduction = ctx.get_string("reduction", "none");
  KILN_RETURN_IF_ERROR(check_reduction(ctx, reduction));
  if (upd.type() != x.type() || upd.shape() != in[1]->shape() || upd.rank() != x.rank())
    return ctx.error("updates must match indices' shape and data's type and rank");
  const std::vector<int64_t> strides = shape_strides(x.shape());
  std::vector<int64_t> offs(idx.size());
  Status st;
  onnx_for_each_index(upd.shape(), [&](int64_t i, const std::vector<int64_t>& c) {
    if (!st.ok()) return;
    int64_t off = 0;
    for (size_t d = 0; d < c.size(); ++d) {
      int64_t v = c[d];
      if (int64_t(d) == axis) {
        st = resolve_index(ctx, idx[size_t(i)], x.shape()[d], &v);
        if (!st.ok()) return;
      } else if (v >= x.shape()[d]) {
        st = ctx.error("updates shape exceeds data shape");
        return;
      }
      off += v * strides[d];
    }
    offs[size_t(i)] = off;
  });
  KILN_RETURN_IF_ERROR(st);
  return scatter_into(ctx, x, upd, reduction, offs, 1, &(*out)[0]);
}

Status op_scatter_nd(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 2));
  const OnnxValue& x = *in[0];
  const OnnxValue& upd = *in[2];
  std::vector<int64_t> idx;
  KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "indices", &idx));
  const OnnxShape& ishape = in[1]->shape();
  const std::string reduction = ctx.get_string("reduction", "none");
  KILN_RETURN_IF_ERROR(check_reduction(ctx, reduction));
  if (ishape.empty()) return ctx.error("indices must have rank 1 or more");
  const int64_t k = ishape.back();
  if (k > x.rank()) return ctx.error("index depth exceeds the data's rank");
  OnnxShape ushape(ishape.begin(), ishape.end() - 1);
  ushape.insert(ushape.end(), x.shape().begin() + k, x.shape().end());
  if (upd.shape() != ushape || upd.type() != x.type())
    return ctx.error("updates must have shape " + onnx_shape_string(ushape) + " and the data's type");
  int64_t inner = 1;
  for (int64_t d = k; d < x.rank(); ++d) inner *= x.shape()[size_t(d)];
  const std::vector<int64_t> strides = shape_strides(x.shape());
  const int64_t tuples = k == 0 ? upd.numel() / std::max<int64_t>(inner, 1) : int64_t(idx.size()) / k;
  std::vector<int64_t> offs;
  KILN_RETURN_IF_ERROR(resize_or_error(&offs, tuples, "working memory"));
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t off = 0;
    for (int64_t j = 0; j < k; ++j) {
      int64_t v;
      KILN_RETURN_IF_ERROR(resolve_index(ctx, idx[size_t(t * k + j)], x.shape()[size_t(j)], &v));
      off += v * strides[size_t(j)];
    }
    offs[size_t(t)] = off;
  }
  return scatter_into(ctx, x, upd, reduction, offs, inner, &(*out)[0]);
}

Status op_one_hot(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 2));
  const OnnxValue& vals = *in[2];
  if (in[1]->numel() != 1) return ctx.error("depth must be a scalar");
  if (vals.numel() != 2) return ctx.error("values must be [off_value, on_value]");
  const double depth_d = onnx_element_as_double(*in[1], 0);
  if (!(depth_d >= 1 && depth_d <= double(kOnnxMaxElements))) return ctx.error("depth must be in [1, 2^31]");
  const int64_t depth = int64_t(depth_d);
  std::vector<double> idx;
  KILN_RETURN_IF_ERROR(resize_or_error(&idx, in[0]->numel(), "working memory"));
  for (int64_t i = 0; i < in[0]->numel(); ++i) idx[size_t(i)] = onnx_element_as_double(*in[0], i);
  int64_t axis;
  const int64_t r = in[0]->rank() + 1;
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", -1), r, &axis));
  OnnxShape shape = in[0]->shape();
  shape.insert(shape.begin() + axis, depth);
  KILN_RETURN_IF_ERROR(OnnxValue::make(vals.type(), shape, &(*out)[0]));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[size_t(d)];
  for (int64_t d = axis + 1; d < r; ++d) inner *= shape[size_t(d)];
  const size_t es = vals.element_size();
  const uint8_t* off_v = static_cast<const uint8_t*>(vals.raw());
  const uint8_t* on_v = off_v + es;
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t dd = 0; dd < depth; ++dd)
      for (int64_t j = 0; j < inner; ++j) {
        const double iv = idx[size_t(o * inner + j)];
        int64_t v = std::fabs(iv) <= double(depth) ? int64_t(iv) : depth;  // NaN / far out: all off
        if (v < 0) v += depth;
        std::memcpy(dst + size_t((o * depth + dd) * inner + j) * es, v == dd ? on_v : off_v, es);
      }
  return Status();
}

// The axis of a scalar (or one-element) axis input.
Status scalar_axis(const OnnxOpContext& ctx, const OnnxInputs& in, size_t i, int64_t rank, int64_t* axis) {
  std::vector<int64_t> a;
  KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, i, "axis", &a));
  if (a.size() != 1) return ctx.error("axis must be a scalar");
  return onnx_normalize_axis(ctx, a[0], rank, axis);
}

Status op_cum_sum(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  int64_t axis;
  KILN_RETURN_IF_ERROR(scalar_axis(ctx, in, 1, x.rank(), &axis));
  const bool exclusive = ctx.get_int("exclusive", 0) != 0, reverse = ctx.get_int("reverse", 0) != 0;
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), x.shape(), &(*out)[0]));
  int64_t outer = 1, inner = 1;
  const int64_t dim = x.shape()[size_t(axis)];
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[size_t(d)];
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[size_t(d)];
  const bool ok = onnx_dispatch_numeric(x.type(), [&](auto zero) {
    using T = decltype(zero);
    const T* src = x.data<T>();
    T* dst = (*out)[0].data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) {
        T acc = T(0);
        for (int64_t s = 0; s < dim; ++s) {
          const int64_t a = reverse ? dim - 1 - s : s;
          const int64_t at = (o * dim + a) * inner + j;
          if (exclusive) {
            dst[at] = acc;
            acc = T(acc + src[at]);
          } else {
            acc = T(acc + src[at]);
            dst[at] = acc;
          }
        }
      }
  });
  return ok ? Status() : ctx.error("does not take " + dtype_name(x.type()));
}

// Element values as doubles for ordering (any numeric or 16-bit float type).
// NaN orders as +infinity, so sorts and maps see a strict weak order.
Status values_of(const OnnxValue& x, std::vector<double>* v) {
  KILN_RETURN_IF_ERROR(resize_or_error(v, x.numel(), "a float64 copy of the values"));
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double d = onnx_element_as_double(x, i);
    (*v)[size_t(i)] = std::isnan(d) ? std::numeric_limits<double>::infinity() : d;
  }
  return Status();
}

// TopK of each float32 row (the common case: detection scores along the
// last axis): a k-element heap scanned once, so most of a large row costs
// one comparison per element, then the k kept sorted. Order as a stable
// sort's: by value, ties by lower index.
void top_k_rows(const float* x, int64_t rows, int64_t dim, int64_t k, bool largest, float* values, int64_t* indices) {
  // `before(a, b)`: a comes first in the output.
  // A strict total order even with NaN (placed after every number), as the heap and sort need.
  auto before = [&](const std::pair<float, int64_t>& a, const std::pair<float, int64_t>& b) {
    const bool na = std::isnan(a.first), nb = std::isnan(b.first);
    if (na != nb) return nb;
    if (!na && a.first != b.first) return largest ? a.first > b.first : a.first < b.first;
    return a.second < b.second;
  };
  std::vector<std::pair<float, int64_t>> heap;
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = x + r * dim;
    heap.clear();
    for (int64_t i = 0; i < dim; ++i) {
      const std::pair<float, int64_t> e{row[i], i};
      if (int64_t(heap.size()) < k) {
        heap.push_back(e);
        std::push_heap(heap.begin(), heap.end(), before);  // the heap's top is the last in output order
      } else if (before(e, heap.front())) {
        std::pop_heap(heap.begin(), heap.end(), before);
        heap.back() = e;
        std::push_heap(heap.begin(), heap.end(), before);
      }
    }
    std::sort(heap.begin(), heap.end(), before);
    for (int64_t t = 0; t < k; ++t) values[r * k + t] = heap[size_t(t)].first, indices[r * k + t] = heap[size_t(t)].second;
  }
}

Status op_top_k(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  int64_t k;
  if (ctx.opset() < 10) {
    k = ctx.get_int("k", 0);
  } else {
    std::vector<int64_t> kv;
    KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "K", &kv));
    if (kv.size() != 1) return ctx.error("K must hold one value");
    k = kv[0];
  }
  int64_t axis;
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", -1), x.rank(), &axis));
  const int64_t dim = x.shape()[size_t(axis)];
  if (k < 0 || k > dim) return ctx.error("k " + std::to_string(k) + " is out of range for an axis of size " + std::to_string(dim));
  const bool largest = ctx.get_int("largest", 1) != 0;
  OnnxShape shape = x.shape();
  shape[size_t(axis)] = k;
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), shape, &(*out)[0]));
  KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kInt64, shape, &(*out)[1]));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[size_t(d)];
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[size_t(d)];
  if (x.type() == DataType::kFloat32 && inner == 1 && k > 0) {
    top_k_rows(x.data<float>(), outer, dim, k, largest, (*out)[0].data<float>(), (*out)[1].data<int64_t>());
    return Status();
  }
  std::vector<double> v;
  KILN_RETURN_IF_ERROR(values_of(x, &v));
  const size_t es = x.element_size();
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  std::vector<int64_t> order;
  KILN_RETURN_IF_ERROR(resize_or_error(&order, dim, "an index table"));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      const auto at = [&](int64_t a) { return (o * dim + a) * inner + j; };
      std::iota(order.begin(), order.end(), 0);
      // Only the first k in order (a stable sort's order: ties by index), in O(dim log k).
      std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
        const double va = v[size_t(at(a))], vb = v[size_t(at(b))];
        const bool na = std::isnan(va), nb = std::isnan(vb);  // NaN after every number: a total order
        if (na != nb) return nb;
        if (!na && va != vb) return largest ? va > vb : va < vb;
        return a < b;
      });
      for (int64_t t = 0; t < k; ++t) {
        const int64_t dst_at = (o * k + t) * inner + j;
        std::memcpy(dst + size_t(dst_at) * es, src + size_t(at(order[size_t(t)])) * es, es);
        (*out)[1].data<int64_t>()[dst_at] = order[size_t(t)];
      }
    }
  return Status();
}

Status arg_extreme(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, bool is_max) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  int64_t axis;
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", 0), x.rank(), &axis));
  const bool keep = ctx.get_int("keepdims", 1) != 0, last = ctx.get_int("select_last_index", 0) != 0;
  const int64_t dim = x.shape()[size_t(axis)];
  if (dim == 0) return ctx.error("cannot reduce an empty axis");
  OnnxShape shape = x.shape();
  if (keep) shape[size_t(axis)] = 1;
  else shape.erase(shape.begin() + axis);
  KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kInt64, shape, &(*out)[0]));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[size_t(d)];
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[size_t(d)];
  std::vector<double> v;
  KILN_RETURN_IF_ERROR(values_of(x, &v));
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < inner; ++j) {
      int64_t best = 0;
      double bv = v[size_t(o * dim * inner + j)];
      for (int64_t a = 1; a < dim; ++a) {
        const double c = v[size_t((o * dim + a) * inner + j)];
        const bool better = is_max ? (c > bv || (last && c == bv)) : (c < bv || (last && c == bv));
        if (better) {
          best = a;
          bv = c;
        }
      }
      (*out)[0].data<int64_t>()[o * inner + j] = best;
    }
  return Status();
}

Status op_arg_max(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) { return arg_extreme(c, in, o, true); }
Status op_arg_min(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) { return arg_extreme(c, in, o, false); }

Status op_non_zero(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  std::vector<int64_t> hits;
  for (int64_t i = 0; i < x.numel(); ++i)
    if (onnx_element_as_double(x, i) != 0) hits.push_back(i);
  const int64_t r = x.rank(), n = int64_t(hits.size());
  KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kInt64, {r, n}, &(*out)[0]));
  const std::vector<int64_t> strides = shape_strides(x.shape());
  for (int64_t h = 0; h < n; ++h) {
    int64_t rem = hits[size_t(h)];
    for (int64_t d = 0; d < r; ++d) {
      (*out)[0].data<int64_t>()[d * n + h] = rem / strides[size_t(d)];
      rem %= strides[size_t(d)];
    }
  }
  return Status();
}

Status op_reverse_sequence(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  std::vector<int64_t> lens;
  KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "sequence_lens", &lens));
  int64_t batch_axis, time_axis;
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("batch_axis", 1), x.rank(), &batch_axis));
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("time_axis", 0), x.rank(), &time_axis));
  if (x.rank() < 2 || batch_axis == time_axis) return ctx.error("needs distinct batch and time axes");
  if (int64_t(lens.size()) != x.shape()[size_t(batch_axis)]) return ctx.error("sequence_lens needs one length per batch entry");
  const int64_t steps = x.shape()[size_t(time_axis)];
  for (int64_t l : lens)
    if (l < 0 || l > steps) return ctx.error("sequence length " + std::to_string(l) + " is out of range");
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), x.shape(), &(*out)[0]));
  const std::vector<int64_t> strides = shape_strides(x.shape());
  const size_t es = x.element_size();
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  onnx_for_each_index(x.shape(), [&](int64_t i, const std::vector<int64_t>& c) {
    const int64_t t = c[size_t(time_axis)], len = lens[size_t(c[size_t(batch_axis)])];
    const int64_t from = t < len ? len - 1 - t : t;
    const int64_t off = i + (from - t) * strides[size_t(time_axis)];
    std::memcpy(dst + size_t(i) * es, src + size_t(off) * es, es);
  });
  return Status();
}

// Unique over the flattened input or over slices along 'axis'; outputs
// Y, indices (first occurrences), inverse_indices and counts.
Status op_unique(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  OnnxValue x = *in[0];
  const bool has_axis = ctx.has("axis");
  int64_t axis = 0;
  if (has_axis) KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", 0), x.rank(), &axis));
  else x = x.reshaped({x.numel()});
  const int64_t dim = x.shape()[size_t(axis)];
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[size_t(d)];
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.shape()[size_t(d)];
  // The values are copied twice as doubles (the slices and the map's keys),
  // with a node per slice: make sure the heap has room before copying.
  const uint64_t need = uint64_t(x.numel()) * 24 + uint64_t(dim) * 160;
  if (need > SIZE_MAX || !heap_can_hold(size_t(need)))
    return ctx.error("out of memory: finding the unique slices of " + std::to_string(x.numel()) + " values needs about " +
                     std::to_string(need) + " bytes");
  std::vector<double> v;
  KILN_RETURN_IF_ERROR(values_of(x, &v));
  // Slice s as a vector of values (outer-major, inner-minor).
  std::vector<std::vector<double>> slices(static_cast<size_t>(dim));
  for (int64_t s = 0; s < dim; ++s)
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < inner; ++j) slices[size_t(s)].push_back(v[size_t((o * dim + s) * inner + j)]);
  std::vector<int64_t> first;           // first occurrence of each unique slice, in order of appearance
  std::vector<int64_t> inverse, counts;
  KILN_RETURN_IF_ERROR(resize_or_error(&inverse, dim, "working memory"));
  std::map<std::vector<double>, int64_t> seen;
  for (int64_t s = 0; s < dim; ++s) {
    auto it = seen.find(slices[size_t(s)]);
    if (it == seen.end()) {
      it = seen.emplace(slices[size_t(s)], int64_t(first.size())).first;
      first.push_back(s);
      counts.push_back(0);
    }
    inverse[size_t(s)] = it->second;
    ++counts[size_t(it->second)];
  }
  const int64_t u = int64_t(first.size());
  std::vector<int64_t> order;  // output position -> unique id
  KILN_RETURN_IF_ERROR(resize_or_error(&order, u, "working memory"));
  std::iota(order.begin(), order.end(), 0);
  if (ctx.get_int("sorted", 1) != 0)
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return slices[size_t(first[size_t(a)])] < slices[size_t(first[size_t(b)])]; });
  std::vector<int64_t> pos;
  KILN_RETURN_IF_ERROR(resize_or_error(&pos, u, "working memory"));
  for (int64_t p = 0; p < u; ++p) pos[size_t(order[size_t(p)])] = p;
  OnnxShape shape = x.shape();
  shape[size_t(axis)] = u;
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), shape, &(*out)[0]));
  const size_t es = x.element_size(), row = size_t(inner) * es;
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t p = 0; p < u; ++p)
      std::memcpy(dst + size_t(o * u + p) * row, src + size_t(o * dim + first[size_t(order[size_t(p)])]) * row, row);
  std::vector<int64_t> idx_out, cnt_out, inv_out;
  KILN_RETURN_IF_ERROR(resize_or_error(&idx_out, u, "working memory"));
  KILN_RETURN_IF_ERROR(resize_or_error(&cnt_out, u, "working memory"));
  KILN_RETURN_IF_ERROR(resize_or_error(&inv_out, dim, "working memory"));
  for (int64_t p = 0; p < u; ++p) {
    idx_out[size_t(p)] = first[size_t(order[size_t(p)])];
    cnt_out[size_t(p)] = counts[size_t(order[size_t(p)])];
  }
  for (int64_t s = 0; s < dim; ++s) inv_out[size_t(s)] = pos[size_t(inverse[size_t(s)])];
  if (out->size() > 1) (*out)[1] = OnnxValue::vector_i64(idx_out);
  if (out->size() > 2) (*out)[2] = OnnxValue::vector_i64(inv_out);
  if (out->size() > 3) (*out)[3] = OnnxValue::vector_i64(cnt_out);
  return Status();
}

Status op_eye_like(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  if (x.rank() != 2) return ctx.error("input must be 2-D");
  const DataType type = ctx.has("dtype") ? DataType(ctx.get_int("dtype", 1)) : x.type();
  KILN_RETURN_IF_ERROR(OnnxValue::make(type, x.shape(), &(*out)[0]));
  const int64_t k = ctx.get_int("k", 0), rows = x.shape()[0], cols = x.shape()[1];
  for (int64_t i = 0; i < rows; ++i)
    if (i + k >= 0 && i + k < cols) onnx_store_double(&(*out)[0], i * cols + i + k, 1.0);
  return Status();
}

Status op_trilu(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  if (x.rank() < 2) return ctx.error("input must have rank 2 or more");
  int64_t k = 0;
  if (onnx_has_input(in, 1)) {
    std::vector<int64_t> kv;
    KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "k", &kv));
    if (kv.size() != 1) return ctx.error("k must be a scalar");
    k = kv[0];
  }
  const bool upper = ctx.get_int("upper", 1) != 0;
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), x.shape(), &(*out)[0]));
  const int64_t rows = x.shape()[size_t(x.rank() - 2)], cols = x.shape()[size_t(x.rank() - 1)];
  const size_t es = x.element_size();
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  for (int64_t i = 0; i < x.numel(); ++i) {
    const int64_t c = i % cols, rr = (i / cols) % rows;
    const bool keep = upper ? c - rr >= k : c - rr <= k;
    if (keep) std::memcpy(dst + size_t(i) * es, src + size_t(i) * es, es);
  }
  return Status();
}

Status op_compress(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  std::vector<int64_t> cond;
  KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 1, "condition", &cond));
  OnnxValue x = *in[0];
  int64_t axis = 0;
  if (ctx.has("axis")) {
    KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", 0), x.rank(), &axis));
  } else {
    x = x.reshaped({x.numel()});
  }
  const int64_t dim = x.shape()[size_t(axis)];
  if (int64_t(cond.size()) > dim) return ctx.error("condition is longer than the axis");
  std::vector<int64_t> keep;
  for (size_t i = 0; i < cond.size(); ++i)
    if (cond[i]) keep.push_back(int64_t(i));
  OnnxShape shape = x.shape();
  shape[size_t(axis)] = int64_t(keep.size());
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), shape, &(*out)[0]));
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= shape[size_t(d)];
  for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= shape[size_t(d)];
  const size_t es = x.element_size(), row = size_t(inner) * es;
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>((*out)[0].raw());
  for (int64_t o = 0; o < outer; ++o)
    for (size_t j = 0; j < keep.size(); ++j)
      std::memcpy(dst + (size_t(o) * keep.size() + j) * row, src + size_t(o * dim + keep[j]) * row, row);
  return Status();
}

const OnnxOpEntry kOps[] = {
    {"Gather", op_gather}, {"GatherElements", op_gather_elements}, {"GatherND", op_gather_nd},
    {"Scatter", op_scatter_elements}, {"ScatterElements", op_scatter_elements}, {"ScatterND", op_scatter_nd},
    {"OneHot", op_one_hot}, {"CumSum", op_cum_sum}, {"TopK", op_top_k}, {"ArgMax", op_arg_max}, {"ArgMin", op_arg_min},
    {"NonZero", op_non_zero}, {"ReverseSequence", op_reverse_sequence}, {"Unique", op_unique},
    {"EyeLike", op_eye_like}, {"Trilu", op_trilu}, {"Compress", op_compress},
};

}  // namespace

OnnxOpTable onnx_index_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
