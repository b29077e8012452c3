// Reductions over axes (ReduceSum, ReduceMean, ...). Axes are an attribute,
// or an input from opset 13 (ReduceSum) / 18 (the others).
#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/reduce_rows.h"
#include "onnx/dispatch.h"
#include "onnx/kernel_util.h"
#include "onnx/op.h"

namespace kiln {

namespace {

enum class Reduce { kSum, kMean, kMax, kMin, kProd, kL1, kL2, kLogSum, kLogSumExp, kSumSquare };

// The common case, float32 reduced over its trailing axes (a LayerNorm's
// mean and variance, a softmax's sum, global pooling of NCHW): each output
// is one contiguous row, reduced by src/cpu/reduce_rows.
bool reduce_trailing_float(const OnnxValue& x, const std::vector<bool>& reduced, Reduce kind, OnnxValue* y) {
  if (x.type() != DataType::kFloat32 || x.numel() == 0) return false;
  RowReduce rk;
  switch (kind) {
    case Reduce::kSum: rk = RowReduce::kSum; break;
    case Reduce::kMean: rk = RowReduce::kMean; break;
    case Reduce::kMax: rk = RowReduce::kMax; break;
    case Reduce::kMin: rk = RowReduce::kMin; break;
    case Reduce::kSumSquare: rk = RowReduce::kSumSquare; break;
    case Reduce::kL2: rk = RowReduce::kL2; break;
    default: return false;
  }
  int64_t len = 1;
  bool inside = true;  // walking back from the last axis, still in the reduced block
  for (size_t d = reduced.size(); d-- > 0;) {
    const int64_t n = x.shape()[d];
    if (n == 1) continue;
    if (reduced[d] && !inside) return false;
    if (reduced[d]) len *= n;
    else inside = false;
  }
  reduce_rows(rk, x.data<float>(), x.numel() / len, len, y->data<float>());
  return true;
}

Status reduce(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, Reduce kind, int64_t input_opset) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  std::vector<int64_t> axes;
  if (ctx.opset() >= input_opset) {
    if (in.size() > 1 && in[1] && in[1]->defined()) KILN_RETURN_IF_ERROR(in[1]->to_int64s(&axes));
  } else {
    axes = ctx.get_ints("axes");
  }
  const bool keep = ctx.get_int("keepdims", 1) != 0;
  const bool noop_empty = ctx.get_int("noop_with_empty_axes", 0) != 0;
  std::vector<bool> reduced(size_t(x.rank()), axes.empty() && !noop_empty);
  for (int64_t a : axes) {
    int64_t ax;
    KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, a, x.rank(), &ax));
    reduced[size_t(ax)] = true;
  }
  OnnxShape shape, kept_shape;
  for (int64_t d = 0; d < x.rank(); ++d) {
    const bool r = reduced[size_t(d)];
    kept_shape.push_back(r ? 1 : x.shape()[size_t(d)]);
    if (!r) shape.push_back(x.shape()[size_t(d)]);
    else if (keep) shape.push_back(1);
  }
  OnnxValue y;
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), shape, &y));
  if (reduce_trailing_float(x, reduced, kind, &y)) {
    (*out)[0] = std::move(y);
    return Status();
  }
  const int64_t n_out = y.numel();
  // Accumulate in double, per output element, walking the input once.
  std::vector<double> acc, v;
  std::vector<int64_t> count;
  KILN_RETURN_IF_ERROR(resize_or_error(&acc, n_out, "working memory",
                                       kind == Reduce::kProd ? 1.0 : kind == Reduce::kMax ? -INFINITY : kind == Reduce::kMin ? INFINITY : 0.0));
  KILN_RETURN_IF_ERROR(resize_or_error(&count, n_out, "working memory"));
  KILN_RETURN_IF_ERROR(x.to_doubles(&v));
  std::vector<int64_t> out_strides(size_t(x.rank()), 0);
  int64_t s = 1;
  for (int64_t d = x.rank(); d-- > 0;) {
    out_strides[size_t(d)] = reduced[size_t(d)] ? 0 : s;
    s *= kept_shape[size_t(d)];
  }
  std::vector<int64_t> idx(size_t(x.rank()), 0);
  int64_t o = 0;
  for (int64_t i = 0; i < x.numel(); ++i) {
    const double e = v[size_t(i)];
    double& a = acc[size_t(o)];
    switch (kind) {
      case Reduce::kSum: case Reduce::kMean: case Reduce::kLogSum: a += e; break;
      case Reduce::kMax: a = std::max(a, e); break;
      case Reduce::kMin: a = std::min(a, e); break;
      case Reduce::kProd: a *= e; break;
      case Reduce::kL1: a += std::fabs(e); break;
      case Reduce::kL2: case Reduce::kSumSquare: a += e * e; break;
      case Reduce::kLogSumExp: a += std::exp(e); break;
    }
    ++count[size_t(o)];
    for (int64_t d = x.rank(); d-- > 0;) {
      ++idx[size_t(d)];
      o += out_strides[size_t(d)];
      if (idx[size_t(d)] < x.shape()[size_t(d)]) break;
      o -= out_strides[size_t(d)] * x.shape()[size_t(d)];
      idx[size_t(d)] = 0;
    }
  }
  for (int64_t i = 0; i < n_out; ++i) {
    double& a = acc[size_t(i)];
    if (kind == Reduce::kMean) a = count[size_t(i)] ? a / double(count[size_t(i)]) : NAN;
    if (kind == Reduce::kL2) a = std::sqrt(a);
    if (kind == Reduce::kLogSum || kind == Reduce::kLogSumExp) a = std::log(a);
  }
  const bool ok = onnx_dispatch_numeric(y.type(), [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < n_out; ++i) y.data<T>()[i] = onnx_saturating_cast<T>(acc[size_t(i)]);  // integer log/sqrt/mean: NaN, inf
  });
  if (!ok) return ctx.error("does not take " + dtype_name(x.type()));
  (*out)[0] = std::move(y);
  return Status();
}

#define KILN_REDUCE(NAME, KIND, INPUT_OPSET)                                                  \
  Status NAME(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) { \
    return reduce(ctx, in, out, Reduce::KIND, INPUT_OPSET);                                  \
  }
KILN_REDUCE(op_reduce_sum, kSum, 13)
KILN_REDUCE(op_reduce_mean, kMean, 18)
KILN_REDUCE(op_reduce_max, kMax, 18)
KILN_REDUCE(op_reduce_min, kMin, 18)
KILN_REDUCE(op_reduce_prod, kProd, 18)
KILN_REDUCE(op_reduce_l1, kL1, 18)
KILN_REDUCE(op_reduce_l2, kL2, 18)
KILN_REDUCE(op_reduce_log_sum, kLogSum, 18)
KILN_REDUCE(op_reduce_log_sum_exp, kLogSumExp, 18)
KILN_REDUCE(op_reduce_sum_square, kSumSquare, 18)
#undef KILN_REDUCE

const OnnxOpEntry kOps[] = {
    {"ReduceSum", op_reduce_sum},       {"ReduceMean", op_reduce_mean}, {"ReduceMax", op_reduce_max},
    {"ReduceMin", op_reduce_min},       {"ReduceProd", op_reduce_prod}, {"ReduceL1", op_reduce_l1},
    {"ReduceL2", op_reduce_l2},         {"ReduceLogSum", op_reduce_log_sum},
    {"ReduceLogSumExp", op_reduce_log_sum_exp}, {"ReduceSumSquare", op_reduce_sum_square},
};

}  // namespace

OnnxOpTable onnx_reduce_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
