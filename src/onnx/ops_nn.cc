// Neural-network ONNX operators: MatMul and Gemm on float32 (src/cpu/gemm.h);
// Softmax / LogSoftmax / Hardmax, the normalizations (BatchNormalization,
// InstanceNormalization, LayerNormalization, MeanVarianceNormalization, LRN),
// the losses (NegativeLogLikelihoodLoss, SoftmaxCrossEntropyLoss), Resize /
// Upsample, Einsum, Dropout (numpy-compatible training masks) as reference
// loops in the tensor's type (float32 / float64), accumulating in double.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include "core/broadcast.h"
#include "cpu/activation.h"
#include "core/thread_pool.h"
#include "cpu/gemm.h"
#include "cpu/normalization.h"
#include "cpu/vector_math.h"
#include "onnx/dispatch.h"
#include "onnx/kernel_util.h"
#include "onnx/op.h"

namespace kiln {

namespace {

// The first element of a (scalar) value as a double, 0 when it is empty.
double scalar_of(const OnnxValue& v) { return v.numel() > 0 ? onnx_element_as_double(v, 0) : 0.0; }

Status require_float(const OnnxOpContext& ctx, const OnnxValue& v, const char* what) {
  if (v.type() != DataType::kFloat32) return ctx.error(std::string(what) + " must be float32, got " + dtype_name(v.type()));
  return Status();
}

// MatMul with numpy semantics: 1-D operands gain and lose a unit axis, batch axes broadcast.
Status op_matmul(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue &a = *in[0], &b = *in[1];
  KILN_RETURN_IF_ERROR(require_float(ctx, a, "A"));
  KILN_RETURN_IF_ERROR(require_float(ctx, b, "B"));
  if (a.rank() == 0 || b.rank() == 0) return ctx.error("operands must have rank >= 1");
  OnnxShape sa = a.shape(), sb = b.shape();
  if (sa.size() == 1) sa.insert(sa.begin(), 1);
  if (sb.size() == 1) sb.push_back(1);
  const int64_t m = sa[sa.size() - 2], k = sa.back(), n = sb.back();
  if (sb[sb.size() - 2] != k) return ctx.error("shapes " + onnx_shape_string(a.shape()) + " and " + onnx_shape_string(b.shape()) + " do not multiply");
  OnnxShape ba(sa.begin(), sa.end() - 2), bb(sb.begin(), sb.end() - 2), batch;
  const Status bs = broadcast_shape(ba, bb, &batch);
  if (!bs.ok()) return ctx.error(bs.message());
  OnnxShape shape = batch;
  if (a.rank() > 1) shape.push_back(m);
  if (b.rank() > 1) shape.push_back(n);
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kFloat32, shape, &(*out)[0]));
  std::vector<int64_t> oa, ob;
  BroadcastIndex(ba, batch).offsets(&oa);
  BroadcastIndex(bb, batch).offsets(&ob);
  float* y = (*out)[0].data<float>();
  if (m * n == 0) return Status();
  // Internal nodes (transformer_fusion.cc): a bias row [n] and an activation
  // in the GEMM's epilogue; B is a 2-D weight, so all of A's rows are one product.
  const bool fused = ctx.node().domain == kKilnInternalDomain;
  if (fused) {
    Activation act;
    KILN_RETURN_IF_ERROR(onnx_internal_activation(ctx, &act));
    if (in.size() < 3 || !in[2] || in[2]->type() != DataType::kFloat32 || in[2]->numel() != n || b.rank() != 2)
      return ctx.error("a fused MatMul takes a 2-D B and a float32 bias of " + std::to_string(n));
    GemmArgs g;
    g.m = (*out)[0].numel() / n, g.n = n, g.k = k;
    g.a = a.data<float>(), g.lda = k, g.b = b.data<float>(), g.ldb = n, g.c = y, g.ldc = n;
    g.bias = in[2]->data<float>(), g.act = act;
    if (k == 0) {
      for (int64_t r = 0; r < g.m; ++r) std::copy(g.bias, g.bias + n, y + r * n);
      activation_forward(act, y, g.m * n);
      return Status();
    }
    KILN_RETURN_IF_ERROR(ctx.scratch(gemm_scratch_floats(g, ThreadPool::global().num_threads()), &g.scratch));
    gemm(g);
    return Status();
  }
  if (k == 0) {
    std::fill(y, y + (*out)[0].numel(), 0.0f);
    return Status();
  }
  auto product = [&](size_t i) {
    GemmArgs g;
    g.m = m, g.n = n, g.k = k;
    g.a = a.data<float>() + oa[i] * m * k, g.lda = k;
    g.b = b.data<float>() + ob[i] * k * n, g.ldb = n;
    g.c = y + int64_t(i) * m * n, g.ldc = n;
    return g;
  };
  // Scratch for every thread's slice (gemm() indexes it by worker).
  Scratch scratch;
  KILN_RETURN_IF_ERROR(ctx.scratch(gemm_scratch_floats(product(0), ThreadPool::global().num_threads()), &scratch));
  // Many small products (attention heads): the threads share the batch, each
  // product on one thread (gemm() nested in a pool task runs serially).
  const bool by_batch = oa.size() > 1 && m * n * k < (int64_t(1) << 18);
  auto run = [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      GemmArgs g = product(size_t(i));
      g.scratch = scratch;
      gemm(g);
    }
  };
  if (by_batch) parallel_range(int64_t(oa.size()), 1, run);
  else run(0, int64_t(oa.size()));
  return Status();
}

// Gemm: Y = alpha * op(A) op(B) + beta * C, C broadcast to [M, N].
Status op_gemm(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue &a = *in[0], &b = *in[1];
  KILN_RETURN_IF_ERROR(require_float(ctx, a, "A"));
  KILN_RETURN_IF_ERROR(require_float(ctx, b, "B"));
  if (a.rank() != 2 || b.rank() != 2) return ctx.error("A and B must be matrices");
  const bool ta = ctx.get_int("transA", 0) != 0, tb = ctx.get_int("transB", 0) != 0;
  const float alpha = ctx.get_float("alpha", 1.0f), beta = ctx.get_float("beta", 1.0f);
  const int64_t m = ta ? a.shape()[1] : a.shape()[0], k = ta ? a.shape()[0] : a.shape()[1];
  const int64_t kb = tb ? b.shape()[1] : b.shape()[0], n = tb ? b.shape()[0] : b.shape()[1];
  if (k != kb) return ctx.error("inner dimensions differ: " + onnx_shape_string(a.shape()) + " and " + onnx_shape_string(b.shape()));
  // The graph optimizer fuses a following activation into Gemm nodes it marks internal.
  Activation act = Activation::kLinear;
  if (ctx.node().domain == kKilnInternalDomain) KILN_RETURN_IF_ERROR(onnx_internal_activation(ctx, &act));
  const bool has_c = in.size() > 2 && in[2] && in[2]->defined() && beta != 0;
  // A bias row (C of n elements, beta 1) goes to gemm's epilogue instead of a broadcast copy.
  const bool bias_row = has_c && beta == 1.0f && in[2]->type() == DataType::kFloat32 && in[2]->numel() == n &&
                        (in[2]->rank() == 1 || (in[2]->rank() == 2 && in[2]->shape()[0] == 1));
  KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kFloat32, {m, n}, &(*out)[0]));
  float* y = (*out)[0].data<float>();
  if (has_c && !bias_row) {
    const OnnxValue& c = *in[2];
    KILN_RETURN_IF_ERROR(require_float(ctx, c, "C"));
    if (!broadcasts_to(c.shape(), {m, n}))
      return ctx.error("C of shape " + onnx_shape_string(c.shape()) + " does not broadcast to [" + std::to_string(m) + ", " + std::to_string(n) + "]");
    std::vector<int64_t> oc;
    BroadcastIndex(c.shape(), {m, n}).offsets(&oc);
    for (size_t i = 0; i < oc.size(); ++i) y[i] = beta * c.data<float>()[oc[i]];
  }
  if (m * n == 0) return Status();
  if (k == 0 || alpha == 0) {
    if (bias_row)
      for (int64_t i = 0; i < m; ++i) std::copy(in[2]->data<float>(), in[2]->data<float>() + n, y + i * n);
    activation_forward(act, y, m * n);
    return Status();
  }
  // y (+)= alpha * op(A) op(B): gemm accumulates onto y when C was added.
  std::vector<float> scaled;
  const float* pa = a.data<float>();
  if (alpha != 1.0f) {
    KILN_RETURN_IF_ERROR(reserve_or_error(&scaled, a.numel(), "a scaled copy of A"));
    for (int64_t i = 0; i < a.numel(); ++i) scaled.push_back(pa[i] * alpha);
    pa = scaled.data();
  }
  GemmArgs g;
  g.trans_a = ta, g.trans_b = tb;
  g.m = m, g.n = n, g.k = k;
  g.a = pa, g.lda = a.shape()[1];
  g.b = b.data<float>(), g.ldb = b.shape()[1];
  g.c = y, g.ldc = n;
  g.accumulate = has_c && !bias_row;
  g.bias = bias_row ? in[2]->data<float>() : nullptr;
  g.act = act;
  KILN_RETURN_IF_ERROR(ctx.scratch(gemm_scratch_floats(g, ThreadPool::global().num_threads()), &g.scratch));
  gemm(g);
  return Status();
}

// ---- shared helpers -----------------------------------------------------------------

const OnnxValue* optional_input(const OnnxInputs& in, size_t i) {
  return i < in.size() && in[i] && in[i]->defined() ? in[i] : nullptr;
}

int64_t product(const OnnxShape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t i = from; i < to; ++i) p *= s[i];
  return p;
}

// Runs body(T{}) for float32/float64, or fails naming the type.
template <typename Fn>
Status with_float(const OnnxOpContext& ctx, const OnnxValue& x, Fn&& body) {
  if (!onnx_dispatch_float(x.type(), body)) return ctx.error("expects a float tensor, got " + dtype_name(x.type()));
  return Status();
}

// ---- Softmax, LogSoftmax, Hardmax -------------------------------------------------

enum class SoftKind { kSoftmax, kLogSoftmax, kHardmax };

// [outer, n, inner] view of x for the op's axis: opset < 13 coerces to 2-D at
// `axis` (default 1); 13+ works along one axis (default -1).
Status soft_view(const OnnxOpContext& ctx, const OnnxValue& x, int64_t* outer, int64_t* n, int64_t* inner) {
  const bool legacy = ctx.opset() < 13;
  int64_t axis;
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", legacy ? 1 : -1), x.rank(), &axis));
  const OnnxShape& s = x.shape();
  if (x.rank() == 0) {
    *outer = *n = *inner = 1;
    return Status();
  }
  *outer = product(s, 0, size_t(axis));
  if (legacy) *n = product(s, size_t(axis), s.size()), *inner = 1;
  else *n = s[size_t(axis)], *inner = product(s, size_t(axis) + 1, s.size());
  return Status();
}

Status softmax_family(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, SoftKind kind) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  int64_t outer, n, inner;
  KILN_RETURN_IF_ERROR(soft_view(ctx, x, &outer, &n, &inner));
  const bool rows = x.type() == DataType::kFloat32 && inner == 1 && kind != SoftKind::kHardmax;  // the common case
  // softmax_rows writes every value: no zeroing first.
  KILN_RETURN_IF_ERROR(rows ? OnnxValue::make_uninitialized(x.type(), x.shape(), &(*out)[0]) : OnnxValue::make(x.type(), x.shape(), &(*out)[0]));
  OnnxValue& y = (*out)[0];
  if (rows) {
    softmax_rows(x.data<float>(), y.data<float>(), outer, n, kind == SoftKind::kLogSoftmax);
    return Status();
  }
  return with_float(ctx, x, [&](auto zero) {
    using T = decltype(zero);
    const T* px = x.data<T>();
    T* py = y.data<T>();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) {
        const int64_t base = o * n * inner + i;
        double mx = -std::numeric_limits<double>::infinity();
        int64_t arg = 0;
        for (int64_t j = 0; j < n; ++j)
          if (double(px[base + j * inner]) > mx) mx = double(px[base + j * inner]), arg = j;
        if (kind == SoftKind::kHardmax) {
          for (int64_t j = 0; j < n; ++j) py[base + j * inner] = T(j == arg ? 1 : 0);
          continue;
        }
        double sum = 0;
        for (int64_t j = 0; j < n; ++j) sum += std::exp(double(px[base + j * inner]) - mx);
        const double lse = std::log(sum);
        for (int64_t j = 0; j < n; ++j) {
          const double v = double(px[base + j * inner]) - mx;
          py[base + j * inner] = T(kind == SoftKind::kSoftmax ? std::exp(v) / sum : v - lse);
        }
      }
  });
}

Status op_softmax(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) { return softmax_family(ctx, in, out, SoftKind::kSoftmax); }
Status op_log_softmax(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) { return softmax_family(ctx, in, out, SoftKind::kLogSoftmax); }
Status op_hardmax(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) { return softmax_family(ctx, in, out, SoftKind::kHardmax); }

// ---- normalizations -------------------------------------------------------------------

Status require_vector(const OnnxOpContext& ctx, const OnnxValue* v, const OnnxValue& x, int64_t n, const char* what) {
  if (!v) return ctx.error(std::string(what) + " is required");
  if (v->type() != x.type()) return ctx.error(std::string(what) + " must have the type of X");
  if (v->numel() != n) return ctx.error(std::string(what) + " must have " + std::to_string(n) + " elements");
  return Status();
}

Status op_batch_norm(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  if (x.rank() < 2) return ctx.error("X must have rank >= 2");
  const int64_t n = x.shape()[0], c = x.shape()[1], sp = product(x.shape(), 2, x.shape().size());
  const OnnxValue *scale = optional_input(in, 1), *bias = optional_input(in, 2), *mean = optional_input(in, 3), *var = optional_input(in, 4);
  KILN_RETURN_IF_ERROR(require_vector(ctx, scale, x, c, "scale"));
  KILN_RETURN_IF_ERROR(require_vector(ctx, bias, x, c, "B"));
  KILN_RETURN_IF_ERROR(require_vector(ctx, mean, x, c, "mean"));
  KILN_RETURN_IF_ERROR(require_vector(ctx, var, x, c, "var"));
  const double eps = ctx.get_float("epsilon", 1e-5f), momentum = ctx.get_float("momentum", 0.9f);
  const bool training = ctx.get_int("training_mode", 0) != 0;
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), x.shape(), &(*out)[0]));
  const bool want_stats = training && out->size() >= 3;
  if (want_stats) {
    KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), mean->shape(), &(*out)[1]));
    KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), var->shape(), &(*out)[2]));
  }
  return with_float(ctx, x, [&](auto zero) {
    using T = decltype(zero);
    const T* px = x.data<T>();
    T* py = (*out)[0].data<T>();
    for (int64_t ci = 0; ci < c; ++ci) {
      double m = double(mean->data<T>()[ci]), v = double(var->data<T>()[ci]);
      if (training) {
        double s1 = 0, s2 = 0;
        for (int64_t ni = 0; ni < n; ++ni)
          for (int64_t k = 0; k < sp; ++k) s1 += double(px[(ni * c + ci) * sp + k]);
        const double cnt = double(n * sp), bm = cnt ? s1 / cnt : 0.0;
        for (int64_t ni = 0; ni < n; ++ni)
          for (int64_t k = 0; k < sp; ++k) {
            const double d = double(px[(ni * c + ci) * sp + k]) - bm;
            s2 += d * d;
          }
        const double bv = cnt ? s2 / cnt : 0.0;
        if (want_stats) {
          (*out)[1].data<T>()[ci] = T(m * momentum + bm * (1 - momentum));
          (*out)[2].data<T>()[ci] = T(v * momentum + bv * (1 - momentum));
        }
        m = bm, v = bv;
      }
      const double k1 = double(scale->data<T>()[ci]) / std::sqrt(v + eps), b = double(bias->data<T>()[ci]);
      for (int64_t ni = 0; ni < n; ++ni)
        for (int64_t k = 0; k < sp; ++k) {
          const int64_t i = (ni * c + ci) * sp + k;
          py[i] = T((double(px[i]) - m) * k1 + b);
        }
    }
  });
}

Status op_instance_norm(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  if (x.rank() < 2) return ctx.error("X must have rank >= 2");
  const int64_t n = x.shape()[0], c = x.shape()[1], sp = product(x.shape(), 2, x.shape().size());
  const OnnxValue *scale = optional_input(in, 1), *bias = optional_input(in, 2);
  KILN_RETURN_IF_ERROR(require_vector(ctx, scale, x, c, "scale"));
  KILN_RETURN_IF_ERROR(require_vector(ctx, bias, x, c, "B"));
  const double eps = ctx.get_float("epsilon", 1e-5f);
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), x.shape(), &(*out)[0]));
  return with_float(ctx, x, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t ni = 0; ni < n; ++ni)
      for (int64_t ci = 0; ci < c; ++ci) {
        const T* px = x.data<T>() + (ni * c + ci) * sp;
        T* py = (*out)[0].data<T>() + (ni * c + ci) * sp;
        double s1 = 0, s2 = 0;
        for (int64_t k = 0; k < sp; ++k) s1 += double(px[k]);
        const double m = sp ? s1 / double(sp) : 0.0;
        for (int64_t k = 0; k < sp; ++k) s2 += (double(px[k]) - m) * (double(px[k]) - m);
        const double v = sp ? s2 / double(sp) : 0.0;
        const double k1 = double(scale->data<T>()[ci]) / std::sqrt(v + eps), b = double(bias->data<T>()[ci]);
        for (int64_t k = 0; k < sp; ++k) py[k] = T((double(px[k]) - m) * k1 + b);
      }
  });
}

// Gelu (ONNX opset 20; the GELU chains transformer_fusion.cc fuses):
// exact, 0.5 x (1 + erf(x / sqrt 2)), or approximate = "tanh".
Status op_gelu(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  KILN_RETURN_IF_ERROR(require_float(ctx, x, "X"));
  const std::string approximate = ctx.get_string("approximate", "none");
  if (approximate != "none" && approximate != "tanh") return ctx.error("approximate must be 'none' or 'tanh', got '" + approximate + "'");
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kFloat32, x.shape(), &(*out)[0]));
  const float* px = x.data<float>();
  float* py = (*out)[0].data<float>();
  parallel_range(x.numel(), 16 * 1024, [&](int64_t i0, int64_t i1) {
    if (approximate == "none") {
      std::copy(px + i0, px + i1, py + i0);
      activation_forward(Activation::kGelu, py + i0, i1 - i0);
      return;
    }
    // Three passes so the tanh runs on the vectorized whole-array kernel.
    for (int64_t i = i0; i < i1; ++i) py[i] = 0.7978845608f * (px[i] + 0.044715f * px[i] * px[i] * px[i]);
    vtanh(py + i0, py + i0, i1 - i0);
    for (int64_t i = i0; i < i1; ++i) py[i] = 0.5f * px[i] * (1.0f + py[i]);
  });
  return Status();
}

Status op_layer_norm(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue& x = *in[0];
  const OnnxValue *scale = in[1], *bias = optional_input(in, 2);
  int64_t axis;
  KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, ctx.get_int("axis", -1), x.rank(), &axis));
  const OnnxShape& s = x.shape();
  const OnnxShape tail(s.begin() + axis, s.end());
  const int64_t outer = product(s, 0, size_t(axis)), inner = product(s, size_t(axis), s.size());
  const double eps = ctx.get_float("epsilon", 1e-5f);
  std::vector<int64_t> so, bo;
  for (const OnnxValue* v : {scale, bias}) {
    if (!v) continue;
    if (v->type() != x.type()) return ctx.error("Scale and B must have the type of X");
    if (!broadcasts_to(v->shape(), tail)) return ctx.error("Scale / B of shape " + onnx_shape_string(v->shape()) + " do not broadcast to " + onnx_shape_string(tail));
    BroadcastIndex(v->shape(), tail).offsets(v == scale ? &so : &bo);
  }
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), s, &(*out)[0]));
  OnnxShape stat_shape(s.begin(), s.begin() + axis);
  stat_shape.resize(s.size(), 1);
  const int64_t stash = ctx.get_int("stash_type", 1);
  const DataType stat_type = stash == 1 ? DataType::kFloat32 : x.type();
  for (size_t k = 1; k < 3 && k < out->size(); ++k) KILN_RETURN_IF_ERROR(OnnxValue::make(stat_type, stat_shape, &(*out)[k]));
  // float32 over the last axis with per-feature scale and bias: the Layers
  // engine's row kernel (vectorized, threaded; statistics in double).
  const bool features_only = scale->numel() == inner && (!bias || bias->numel() == inner);
  if (x.type() == DataType::kFloat32 && axis == x.rank() - 1 && features_only && stash == 1) {
    float* mean = out->size() > 1 && (*out)[1].defined() ? (*out)[1].data<float>() : nullptr;
    float* inv_std = out->size() > 2 && (*out)[2].defined() ? (*out)[2].data<float>() : nullptr;
    layer_norm_forward(outer, inner, x.data<float>(), scale->data<float>(), bias ? bias->data<float>() : nullptr, float(eps),
                       (*out)[0].data<float>(), mean, inv_std);
    return Status();
  }
  return with_float(ctx, x, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t o = 0; o < outer; ++o) {
      const T* px = x.data<T>() + o * inner;
      T* py = (*out)[0].data<T>() + o * inner;
      double s1 = 0, s2 = 0;
      for (int64_t k = 0; k < inner; ++k) s1 += double(px[k]);
      const double m = inner ? s1 / double(inner) : 0.0;
      for (int64_t k = 0; k < inner; ++k) s2 += (double(px[k]) - m) * (double(px[k]) - m);
      const double inv = 1.0 / std::sqrt((inner ? s2 / double(inner) : 0.0) + eps);
      for (int64_t k = 0; k < inner; ++k) {
        double v = (double(px[k]) - m) * inv * double(scale->data<T>()[so[size_t(k)]]);
        if (bias) v += double(bias->data<T>()[bo[size_t(k)]]);
        py[k] = T(v);
      }
      for (size_t k = 1; k < 3 && k < out->size(); ++k) {
        const double v = k == 1 ? m : inv;
        if (stat_type == DataType::kFloat32) (*out)[k].data<float>()[o] = float(v);
        else (*out)[k].data<T>()[o] = T(v);
      }
    }
  });
}

// Groups the elements of a tensor by their index over the axes NOT in `axes`:
// group[i] for each flat element i; `groups` gets the group count.
Status group_by_kept_axes(const OnnxShape& s, const std::vector<bool>& reduced, std::vector<int64_t>* group, int64_t* groups_out) {
  const int64_t n = product(s, 0, s.size());
  KILN_RETURN_IF_ERROR(resize_or_error(group, n, "a group index per element"));
  std::vector<int64_t> idx(s.size(), 0);
  int64_t groups = 1;
  for (size_t a = 0; a < s.size(); ++a)
    if (!reduced[a]) groups *= s[a];
  for (int64_t i = 0; i < n; ++i) {
    int64_t g = 0;
    for (size_t a = 0; a < s.size(); ++a)
      if (!reduced[a]) g = g * s[a] + idx[a];
    (*group)[size_t(i)] = g;
    for (int64_t a = int64_t(s.size()) - 1; a >= 0; --a) {
      if (++idx[size_t(a)] < s[size_t(a)]) break;
      idx[size_t(a)] = 0;
    }
  }
  *groups_out = groups;
  return Status();
}

Status op_mvn(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  std::vector<bool> reduced(size_t(x.rank()), false);
  for (int64_t a : ctx.get_ints("axes", {0, 2, 3})) {
    int64_t na;
    KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, a, x.rank(), &na));
    reduced[size_t(na)] = true;
  }
  std::vector<int64_t> group;
  int64_t groups = 0;
  KILN_RETURN_IF_ERROR(group_by_kept_axes(x.shape(), reduced, &group, &groups));
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), x.shape(), &(*out)[0]));
  std::vector<double> s1, s2, cnt;  // per group: sum, sum of squares, count
  KILN_RETURN_IF_ERROR(resize_or_error(&s1, groups, "working memory"));
  KILN_RETURN_IF_ERROR(resize_or_error(&s2, groups, "working memory"));
  KILN_RETURN_IF_ERROR(resize_or_error(&cnt, groups, "working memory"));
  return with_float(ctx, x, [&](auto zero) {
    using T = decltype(zero);
    const T* px = x.data<T>();
    T* py = (*out)[0].data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const size_t g = size_t(group[size_t(i)]);
      s1[g] += double(px[i]), s2[g] += double(px[i]) * double(px[i]), cnt[g] += 1;
    }
    for (int64_t i = 0; i < x.numel(); ++i) {
      const size_t g = size_t(group[size_t(i)]);
      const double m = s1[g] / cnt[g], v = s2[g] / cnt[g] - m * m;
      py[i] = T((double(px[i]) - m) / (std::sqrt(std::max(v, 0.0)) + 1e-9));
    }
  });
}

Status op_lrn(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  if (x.rank() < 2) return ctx.error("X must have rank >= 2");
  const double alpha = ctx.get_float("alpha", 1e-4f), beta = ctx.get_float("beta", 0.75f), bias = ctx.get_float("bias", 1.0f);
  const int64_t size = ctx.get_int("size", 0);
  if (size < 1) return ctx.error("size must be positive");
  const int64_t n = x.shape()[0], c = x.shape()[1], sp = product(x.shape(), 2, x.shape().size());
  const int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), x.shape(), &(*out)[0]));
  return with_float(ctx, x, [&](auto zero) {
    using T = decltype(zero);
    const T* px = x.data<T>();
    T* py = (*out)[0].data<T>();
    for (int64_t ni = 0; ni < n; ++ni)
      for (int64_t ci = 0; ci < c; ++ci)
        for (int64_t k = 0; k < sp; ++k) {
          double sq = 0;
          for (int64_t cj = std::max<int64_t>(0, ci - lo); cj <= std::min(c - 1, ci + hi); ++cj) {
            const double v = double(px[(ni * c + cj) * sp + k]);
            sq += v * v;
          }
          const int64_t i = (ni * c + ci) * sp + k;
          py[i] = T(double(px[i]) / std::pow(bias + alpha / double(size) * sq, beta));
        }
  });
}

// ---- losses ---------------------------------------------------------------------------

// NLL over log-probabilities lp [N, C, d...] (as doubles) and targets [N, d...].
Status nll_loss(const OnnxOpContext& ctx, const std::vector<double>& lp, const OnnxShape& ishape, const OnnxValue& target,
                const OnnxValue* weight, DataType type, OnnxValue* out) {
  if (ishape.size() < 2) return ctx.error("input must have rank >= 2");
  const int64_t n = ishape[0], c = ishape[1], sp = product(ishape, 2, ishape.size());
  OnnxShape tshape = {n};
  tshape.insert(tshape.end(), ishape.begin() + 2, ishape.end());
  if (target.shape() != tshape) return ctx.error("target must have shape " + onnx_shape_string(tshape));
  std::vector<int64_t> t;
  KILN_RETURN_IF_ERROR(target.to_int64s(&t));
  std::vector<double> w;
  if (weight) {
    if (weight->numel() != c) return ctx.error("weight must have C elements");
    KILN_RETURN_IF_ERROR(weight->to_doubles(&w));
  }
  const std::string reduction = ctx.get_string("reduction", "mean");
  const bool has_ii = ctx.has("ignore_index");
  const int64_t ii = ctx.get_int("ignore_index", 0);
  std::vector<double> loss;
  KILN_RETURN_IF_ERROR(resize_or_error(&loss, n * sp, "working memory"));
  double wsum = 0, lsum = 0;
  for (int64_t ni = 0; ni < n; ++ni)
    for (int64_t k = 0; k < sp; ++k) {
      const int64_t cls = t[size_t(ni * sp + k)];
      if (has_ii && cls == ii) continue;
      if (cls < 0 || cls >= c) return ctx.error("target class " + std::to_string(cls) + " out of range");
      const double wc = weight ? w[size_t(cls)] : 1.0;
      const double l = -lp[size_t((ni * c + cls) * sp + k)] * wc;
      loss[size_t(ni * sp + k)] = l;
      wsum += wc, lsum += l;
    }
  if (reduction == "none") {
    KILN_RETURN_IF_ERROR(OnnxValue::make(type, tshape, out));
  } else if (reduction == "sum" || reduction == "mean") {
    KILN_RETURN_IF_ERROR(OnnxValue::make(type, {}, out));
    loss.assign(1, reduction == "sum" ? lsum : lsum / wsum);
  } else {
    return ctx.error("unknown reduction '" + reduction + "'");
  }
  return with_float(ctx, *out, [&](auto zero) {
    using T = decltype(zero);
    for (size_t i = 0; i < loss.size(); ++i) out->data<T>()[i] = T(loss[i]);
  });
}

Status op_nll_loss(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue& x = *in[0];
  if (x.type() != DataType::kFloat32 && x.type() != DataType::kFloat64) return ctx.error("input must be float");
  std::vector<double> v;
  KILN_RETURN_IF_ERROR(x.to_doubles(&v));
  return nll_loss(ctx, v, x.shape(), *in[1], optional_input(in, 2), x.type(), &(*out)[0]);
}

Status op_sce_loss(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  const OnnxValue& x = *in[0];
  if (x.type() != DataType::kFloat32 && x.type() != DataType::kFloat64) return ctx.error("scores must be float");
  if (x.rank() < 2) return ctx.error("scores must have rank >= 2");
  const int64_t n = x.shape()[0], c = x.shape()[1], sp = product(x.shape(), 2, x.shape().size());
  std::vector<double> v, lp;
  KILN_RETURN_IF_ERROR(x.to_doubles(&v));
  KILN_RETURN_IF_ERROR(resize_or_error(&lp, x.numel(), "working memory"));
  for (int64_t ni = 0; ni < n; ++ni)
    for (int64_t k = 0; k < sp; ++k) {
      double mx = -std::numeric_limits<double>::infinity(), sum = 0;
      for (int64_t ci = 0; ci < c; ++ci) mx = std::max(mx, v[size_t((ni * c + ci) * sp + k)]);
      for (int64_t ci = 0; ci < c; ++ci) sum += std::exp(v[size_t((ni * c + ci) * sp + k)] - mx);
      const double lse = mx + std::log(sum);
      for (int64_t ci = 0; ci < c; ++ci) lp[size_t((ni * c + ci) * sp + k)] = v[size_t((ni * c + ci) * sp + k)] - lse;
    }
  KILN_RETURN_IF_ERROR(nll_loss(ctx, lp, x.shape(), *in[1], optional_input(in, 2), x.type(), &(*out)[0]));
  if (out->size() > 1) {
    KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), x.shape(), &(*out)[1]));
    return with_float(ctx, x, [&](auto zero) {
      using T = decltype(zero);
      for (size_t i = 0; i < lp.size(); ++i) (*out)[1].data<T>()[i] = T(lp[i]);
    });
  }
  return Status();
}

// ---- Resize ---------------------------------------------------------------------------

struct Taps {
  std::vector<int64_t> idx;  // per output position: `taps` input indices
  std::vector<double> w;     // and their weights
  std::vector<bool> outside; // tf_crop_and_resize: output takes extrapolation_value
  int64_t taps = 1;
};

struct ResizeParams {
  std::string mode, ctm, nearest_mode;
  double cubic_a = -0.75, extrapolation = 0.0;
  bool exclude_outside = false;
};

Status resize_axis_taps(const OnnxOpContext& ctx, const ResizeParams& rp, int64_t in_len, int64_t out_len, double scale, double roi_start, double roi_end, Taps* t) {
  const std::string& mode = rp.mode;
  const std::string& ctm = rp.ctm;
  const std::string& nearest_mode = rp.nearest_mode;
  const double a = rp.cubic_a;
  const bool exclude_outside = rp.exclude_outside;
  t->taps = mode == "nearest" ? 1 : mode == "linear" ? 2 : mode == "cubic" ? 4 : 0;
  if (!t->taps) return ctx.error("unknown mode '" + mode + "'");
  t->idx.clear(), t->w.clear(), t->outside.clear();
  KILN_RETURN_IF_ERROR(resize_or_error(&t->idx, out_len * t->taps, "resize taps"));
  KILN_RETURN_IF_ERROR(resize_or_error(&t->w, out_len * t->taps, "resize taps"));
  KILN_RETURN_IF_ERROR(resize_or_error(&t->outside, out_len, "resize taps"));
  for (int64_t o = 0; o < out_len; ++o) {
    double xo;
    if (ctm == "half_pixel") xo = (o + 0.5) / scale - 0.5;
    else if (ctm == "pytorch_half_pixel") xo = out_len > 1 ? (o + 0.5) / scale - 0.5 : 0.0;
    else if (ctm == "align_corners") {
      // ONNX's reference divides by the unrounded resized length in * scale.
      const double resized = double(in_len) * scale;
      xo = resized == 1.0 ? 0.0 : double(o) * double(in_len - 1) / (resized - 1.0);
    }
    else if (ctm == "asymmetric") xo = o / scale;
    else if (ctm == "tf_half_pixel_for_nn") xo = (o + 0.5) / scale;
    else if (ctm == "tf_crop_and_resize") {
      xo = out_len > 1 ? roi_start * (in_len - 1) + o * (roi_end - roi_start) * (in_len - 1) / double(out_len - 1)
                       : 0.5 * (roi_start + roi_end) * (in_len - 1);
      if (xo < 0 || xo > double(in_len - 1)) t->outside[size_t(o)] = true;
    } else {
      return ctx.error("unknown coordinate_transformation_mode '" + ctm + "'");
    }
    // Past 4 pixels beyond either edge every tap clamps to the edge: bounding
    // xo changes no result and keeps the conversions below defined (NaN, a
    // scale near 0).
    xo = xo == xo ? std::min(std::max(xo, -4.0), double(in_len) + 4.0) : -4.0;
    int64_t* ix = &t->idx[size_t(o * t->taps)];
    double* w = &t->w[size_t(o * t->taps)];
    auto clampi = [&](int64_t i) { return std::max<int64_t>(0, std::min(in_len - 1, i)); };
    if (t->taps == 1) {
      int64_t i;
      if (nearest_mode == "round_prefer_floor") i = xo == std::floor(xo) + 0.5 ? int64_t(std::floor(xo)) : int64_t(std::round(xo));
      else if (nearest_mode == "round_prefer_ceil") i = xo == std::floor(xo) + 0.5 ? int64_t(std::ceil(xo)) : int64_t(std::round(xo));
      else if (nearest_mode == "floor") i = int64_t(std::floor(xo));
      else if (nearest_mode == "ceil") i = int64_t(std::ceil(xo));
      else return ctx.error("unknown nearest_mode '" + nearest_mode + "'");
      ix[0] = clampi(i), w[0] = 1.0;
    } else if (t->taps == 2) {
      const double x0 = std::floor(xo), r = xo - x0;
      ix[0] = clampi(int64_t(x0)), ix[1] = clampi(int64_t(x0) + 1);
      w[0] = 1 - r, w[1] = r;
    } else {
      const double x0 = std::floor(xo), s = xo - x0;
      const double c[4] = {((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a,
                           ((a + 2) * s - (a + 3)) * s * s + 1,
                           ((a + 2) * (1 - s) - (a + 3)) * (1 - s) * (1 - s) + 1,
                           ((a * (2 - s) - 5 * a) * (2 - s) + 8 * a) * (2 - s) - 4 * a};
      double sum = 0;
      for (int k = 0; k < 4; ++k) {
        const int64_t i = int64_t(x0) - 1 + k;
        ix[k] = clampi(i);
        w[k] = exclude_outside && (i < 0 || i >= in_len) ? 0.0 : c[k];
        sum += w[k];
      }
      if (exclude_outside && sum != 0)
        for (int k = 0; k < 4; ++k) w[k] /= sum;
    }
  }
  return Status();
}

Status resize_with(const OnnxOpContext& ctx, const ResizeParams& rp, const OnnxValue& x, const OnnxValue* roi, const OnnxValue* scales,
                   const OnnxValue* sizes, OnnxValue* y);

Status op_resize(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  ResizeParams rp;
  rp.mode = ctx.get_string("mode", "nearest");
  rp.ctm = ctx.get_string("coordinate_transformation_mode", ctx.opset() < 11 ? "asymmetric" : "half_pixel");
  rp.nearest_mode = ctx.get_string("nearest_mode", ctx.opset() < 11 ? "floor" : "round_prefer_floor");
  rp.cubic_a = ctx.get_float("cubic_coeff_a", -0.75f);
  rp.exclude_outside = ctx.get_int("exclude_outside", 0) != 0;
  rp.extrapolation = ctx.get_float("extrapolation_value", 0.0f);
  if (ctx.opset() < 11) return resize_with(ctx, rp, *in[0], nullptr, optional_input(in, 1), nullptr, &(*out)[0]);
  return resize_with(ctx, rp, *in[0], optional_input(in, 1), optional_input(in, 2), optional_input(in, 3), &(*out)[0]);
}

// Upsample (deprecated; opset 7-9): Resize with asymmetric coordinates and floor rounding.
Status op_upsample(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  ResizeParams rp;
  rp.mode = ctx.get_string("mode", "nearest");
  rp.ctm = "asymmetric";
  rp.nearest_mode = "floor";
  if (ctx.has("scales")) {
    std::vector<float> f = ctx.get_floats("scales");
    OnnxValue sv;
    KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kFloat32, {int64_t(f.size())}, &sv));
    std::copy(f.begin(), f.end(), sv.data<float>());
    return resize_with(ctx, rp, *in[0], nullptr, &sv, nullptr, &(*out)[0]);
  }
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  return resize_with(ctx, rp, *in[0], nullptr, in[1], nullptr, &(*out)[0]);
}

// resize_with for float32 (every mode but tf_crop_and_resize): the same
// separable passes in float, each output row a weighted sum of whole input
// rows (vectorized over the inner axes), rows shared among the threads. The
// first pass reads x and the last writes y (no copies in or out); passes
// between go through two buffers in turn.
Status resize_float(const OnnxOpContext& ctx, const ResizeParams& rp, const OnnxValue& x, const OnnxShape& os,
                    const std::vector<double>& sc, const std::vector<double>& roiv, OnnxValue* y) {
  const int64_t rank = x.rank();
  if (onnx_checked_numel(os) == 0) return OnnxValue::make(x.type(), os, y);  // nothing to interpolate
  std::vector<int64_t> axes;  // the axes that change
  for (int64_t a = 0; a < rank; ++a)
    if (x.shape()[size_t(a)] != os[size_t(a)] || sc[size_t(a)] != 1.0) axes.push_back(a);
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(x.type(), os, y));
  if (axes.empty()) {
    std::memcpy(y->data<float>(), x.data<float>(), size_t(x.numel()) * sizeof(float));
    return Status();
  }
  OnnxValue between[2];
  const float* cur = x.data<float>();
  OnnxShape cs = x.shape();
  for (size_t i = 0; i < axes.size(); ++i) {
    const int64_t a = axes[i], il = cs[size_t(a)], ol = os[size_t(a)];
    Taps t;
    KILN_RETURN_IF_ERROR(resize_axis_taps(ctx, rp, il, ol, sc[size_t(a)], roiv.empty() ? 0.0 : roiv[size_t(a)],
                                          roiv.empty() ? 1.0 : roiv[size_t(rank + a)], &t));
    OnnxShape next_shape = cs;
    next_shape[size_t(a)] = ol;
    if (onnx_checked_numel(next_shape) < 0) return ctx.error("intermediate shape " + onnx_shape_string(next_shape) + " is too large");
    float* nxt = y->data<float>();
    if (i + 1 < axes.size()) {
      KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kFloat32, next_shape, &between[i % 2]));
      nxt = between[i % 2].data<float>();
    }
    const int64_t outer = product(cs, 0, size_t(a)), inner = product(cs, size_t(a) + 1, cs.size());
    const std::vector<float> w(t.w.begin(), t.w.end());
    if (inner == 1) {  // the last axis: a gather per output element
      parallel_range(outer, std::max<int64_t>(1, 16 * 1024 / ol), [&](int64_t o0, int64_t o1) {
        for (int64_t o = o0; o < o1; ++o) {
          const float* src = cur + o * il;
          float* dst = nxt + o * ol;
          if (t.taps == 1) {
            for (int64_t j = 0; j < ol; ++j) dst[j] = src[t.idx[size_t(j)]];
            continue;
          }
          for (int64_t j = 0; j < ol; ++j) {
            float v = 0;
            for (int64_t q = 0; q < t.taps; ++q) v += w[size_t(j * t.taps + q)] * src[t.idx[size_t(j * t.taps + q)]];
            dst[j] = v;
          }
        }
      });
    } else {  // an outer axis: each output row a weighted sum of whole input rows
      parallel_range(outer * ol, std::max<int64_t>(1, 16 * 1024 / inner), [&](int64_t r0, int64_t r1) {
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t o = r / ol, j = r % ol;
          float* dst = nxt + r * inner;
          if (t.taps == 1) {
            std::memcpy(dst, cur + (o * il + t.idx[size_t(j)]) * inner, size_t(inner) * sizeof(float));
            continue;
          }
          std::fill(dst, dst + inner, 0.0f);
          for (int64_t q = 0; q < t.taps; ++q) {
            const float wq = w[size_t(j * t.taps + q)];
            const float* src = cur + (o * il + t.idx[size_t(j * t.taps + q)]) * inner;
            for (int64_t k = 0; k < inner; ++k) dst[k] += wq * src[k];
          }
        }
      });
    }
    cur = nxt;
    cs[size_t(a)] = ol;
  }
  return Status();
}

Status resize_with(const OnnxOpContext& ctx, const ResizeParams& rp, const OnnxValue& x, const OnnxValue* roi, const OnnxValue* scales,
                   const OnnxValue* sizes, OnnxValue* y) {
  const int64_t rank = x.rank();
  std::vector<double> sc(size_t(rank), 1.0), roiv;
  OnnxShape os = x.shape();
  if (scales && scales->numel() > 0) {
    KILN_RETURN_IF_ERROR(scales->to_doubles(&sc));
    if (int64_t(sc.size()) != rank) return ctx.error("scales must have one entry per axis");
    for (int64_t a = 0; a < rank; ++a) {
      const double length = std::floor(double(x.shape()[size_t(a)]) * sc[size_t(a)]);
      if (!(length >= 0 && length <= double(kOnnxMaxElements)))  // NaN fails too
        return ctx.error("scale " + std::to_string(sc[size_t(a)]) + " on axis " + std::to_string(a) + " gives no valid length");
      os[size_t(a)] = int64_t(length);
    }
  } else if (sizes) {
    std::vector<int64_t> sz;
    KILN_RETURN_IF_ERROR(sizes->to_int64s(&sz));
    if (int64_t(sz.size()) != rank) return ctx.error("sizes must have one entry per axis");
    for (int64_t a = 0; a < rank; ++a) {
      os[size_t(a)] = sz[size_t(a)];
      sc[size_t(a)] = x.shape()[size_t(a)] ? double(sz[size_t(a)]) / double(x.shape()[size_t(a)]) : 1.0;
    }
  } else {
    return ctx.error("one of scales and sizes is required");
  }
  if (roi && roi->numel() == 2 * rank) KILN_RETURN_IF_ERROR(roi->to_doubles(&roiv));
  const double extrapolation = rp.extrapolation;
  if (onnx_checked_numel(os) < 0) return ctx.error("output shape " + onnx_shape_string(os) + " is invalid or too large");
  if (x.type() == DataType::kFloat32 && rp.ctm != "tf_crop_and_resize")
    return resize_float(ctx, rp, x, os, sc, roiv, y);
  // Separable: resize one axis at a time (axes whose size and scale are unchanged are skipped).
  std::vector<double> cur;
  KILN_RETURN_IF_ERROR(x.to_doubles(&cur));
  OnnxShape cs = x.shape();
  for (int64_t a = 0; a < rank; ++a) {
    const int64_t il = cs[size_t(a)], ol = os[size_t(a)];
    const bool crop = rp.ctm == "tf_crop_and_resize";
    if (il == ol && sc[size_t(a)] == 1.0 && !crop) continue;
    Taps t;
    KILN_RETURN_IF_ERROR(resize_axis_taps(ctx, rp, il, ol, sc[size_t(a)], roiv.empty() ? 0.0 : roiv[size_t(a)], roiv.empty() ? 1.0 : roiv[size_t(rank + a)], &t));
    OnnxShape next_shape = cs;
    next_shape[size_t(a)] = ol;
    if (onnx_checked_numel(next_shape) < 0) return ctx.error("intermediate shape " + onnx_shape_string(next_shape) + " is too large");
    const int64_t outer = product(cs, 0, size_t(a)), inner = product(cs, size_t(a) + 1, cs.size());
    std::vector<double> nxt;
    KILN_RETURN_IF_ERROR(resize_or_error(&nxt, outer * ol * inner, "working memory"));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t j = 0; j < ol; ++j)
        for (int64_t k = 0; k < inner; ++k) {
          double v = 0;
          if (t.outside[size_t(j)]) v = extrapolation;
          else
            for (int64_t q = 0; q < t.taps; ++q) v += t.w[size_t(j * t.taps + q)] * cur[size_t((o * il + t.idx[size_t(j * t.taps + q)]) * inner + k)];
          nxt[size_t((o * ol + j) * inner + k)] = v;
        }
    cur.swap(nxt);
    cs[size_t(a)] = ol;
  }
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), os, y));
  Status st;
  const bool ok = onnx_dispatch_numeric(x.type(), [&](auto zero) {
    using T = decltype(zero);
    for (size_t i = 0; i < cur.size(); ++i) y->data<T>()[i] = T(cur[i]);
  });
  if (!ok) return ctx.error("unsupported type " + dtype_name(x.type()));
  return st;
}

// ---- Dropout --------------------------------------------------------------------------

// Inference (and ratio 0): y = x and an all-true mask. Training with ratio > 0
// keeps an element where uniform(0, 1) >= ratio and scales it by 1 / (1 - ratio).
Status op_dropout(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  double ratio = ctx.get_float("ratio", 0.5f);
  bool training = false;  // opset < 12: Dropout is an inference no-op here
  if (ctx.opset() >= 12) {
    if (const OnnxValue* r = optional_input(in, 1)) ratio = scalar_of(*r);
    if (const OnnxValue* t = optional_input(in, 2)) training = scalar_of(*t) != 0;
  }
  if (ratio < 0 || ratio >= 1) {
    if (training) return ctx.error("ratio must be in [0, 1)");
  }
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), x.shape(), &(*out)[0]));
  const bool want_mask = out->size() > 1;
  if (want_mask) KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kBool, x.shape(), &(*out)[1]));
  uint8_t* mask = want_mask ? (*out)[1].data<uint8_t>() : nullptr;
  // numpy's legacy RandomState stream (MT19937 seeded with `seed`, 53-bit
  // doubles), so training-mode masks match ONNX's reference outputs.
  uint32_t mt[624];
  int mti = 624;
  mt[0] = uint32_t(ctx.get_int("seed", 0));
  for (int i = 1; i < 624; ++i) mt[i] = 1812433253u * (mt[i - 1] ^ (mt[i - 1] >> 30)) + uint32_t(i);
  auto next32 = [&]() {
    if (mti >= 624) {
      for (int k = 0; k < 624; ++k) {
        const uint32_t y = (mt[k] & 0x80000000u) | (mt[(k + 1) % 624] & 0x7fffffffu);
        mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ ((y & 1u) ? 0x9908b0dfu : 0u);
      }
      mti = 0;
    }
    uint32_t y = mt[mti++];
    y ^= y >> 11, y ^= (y << 7) & 0x9d2c5680u, y ^= (y << 15) & 0xefc60000u, y ^= y >> 18;
    return y;
  };
  auto uniform = [&]() {
    const uint32_t a = next32() >> 5, b = next32() >> 6;
    return (double(a) * 67108864.0 + double(b)) / 9007199254740992.0;
  };
  const bool drop = training && ratio > 0;
  return with_float(ctx, x, [&](auto zero) {
    using T = decltype(zero);
    const T* px = x.data<T>();
    T* py = (*out)[0].data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      const bool keep = !drop || uniform() >= ratio;
      py[i] = keep ? T(drop ? double(px[i]) / (1 - ratio) : double(px[i])) : T(0);
      if (mask) mask[i] = keep;
    }
  });
}


// ---- Einsum ---------------------------------------------------------------------------

// Einsum by direct summation over every label (tests are small): parses the
// equation, expands '...', and loops over the joint index space.
Status op_einsum(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  std::string eq;
  for (char ch : ctx.get_string("equation", "")) if (ch != ' ') eq += ch;
  const size_t arrow = eq.find("->");
  std::string lhs = arrow == std::string::npos ? eq : eq.substr(0, arrow);
  std::vector<std::string> terms;
  for (size_t p = 0;;) {
    const size_t q = lhs.find(',', p);
    terms.push_back(lhs.substr(p, q == std::string::npos ? std::string::npos : q - p));
    if (q == std::string::npos) break;
    p = q + 1;
  }
  if (terms.size() != in.size()) return ctx.error("equation names " + std::to_string(terms.size()) + " operands");
  for (char ch : eq)
    if (!((ch >= 'a' && ch <= 'z') || ch == ',' || ch == '.' || ch == '-' || ch == '>'))
      return ctx.error("equation may only use lower-case labels, ',', '...' and '->'");
  for (size_t i = 0; i < in.size(); ++i) KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  const DataType type = in[0]->type();
  // Ellipsis: replaced by upper-case labels 'A'.. for its dims (right-aligned).
  int64_t ell_rank = 0;
  for (size_t i = 0; i < terms.size(); ++i)
    if (terms[i].find("...") != std::string::npos) ell_rank = std::max<int64_t>(ell_rank, in[i]->rank() - int64_t(terms[i].size() - 3));
  auto ell_labels = [&](int64_t r) {
    std::string s;
    for (int64_t k = ell_rank - r; k < ell_rank; ++k) s += char('A' + k);
    return s;
  };
  if (ell_rank > 26) return ctx.error("'...' spans too many axes");
  for (size_t i = 0; i < terms.size(); ++i) {
    const size_t e = terms[i].find("...");
    if (e != std::string::npos && in[i]->rank() < int64_t(terms[i].size() - 3)) return ctx.error("term '" + terms[i] + "' has more labels than the operand has axes");
    if (e != std::string::npos) terms[i].replace(e, 3, ell_labels(in[i]->rank() - int64_t(terms[i].size() - 3)));
    if (int64_t(terms[i].size()) != in[i]->rank()) return ctx.error("term '" + terms[i] + "' does not match the operand's rank");
    if (in[i]->type() != type) return ctx.error("operands must share a type");
  }
  std::string rhs;
  if (arrow != std::string::npos) {
    rhs = eq.substr(arrow + 2);
    const size_t e = rhs.find("...");
    if (e != std::string::npos) rhs.replace(e, 3, ell_labels(ell_rank));
  } else {
    std::string ell = ell_labels(ell_rank);
    std::string once;
    for (char ch = 'a'; ch <= 'z'; ++ch) {
      int cnt = 0;
      for (const std::string& t : terms) cnt += int(std::count(t.begin(), t.end(), ch));
      if (cnt == 1) once += ch;
    }
    rhs = ell + once;
  }
  // Label sizes (broadcast dims of 1 allowed).
  int64_t dim[128];
  std::fill(dim, dim + 128, -1);
  for (size_t i = 0; i < terms.size(); ++i)
    for (size_t k = 0; k < terms[i].size(); ++k) {
      const int ch = terms[i][k];
      const int64_t d = in[i]->shape()[k];
      if (dim[ch] < 0 || dim[ch] == 1) dim[ch] = d;
      else if (d != 1 && d != dim[ch]) return ctx.error("label sizes disagree");
    }
  std::string labels = rhs;
  for (const std::string& t : terms)
    for (char ch : t)
      if (labels.find(ch) == std::string::npos) labels += ch;
  OnnxShape os;
  for (char ch : rhs) {
    if (dim[int(ch)] < 0) return ctx.error("output label not in inputs");
    os.push_back(dim[int(ch)]);
  }
  KILN_RETURN_IF_ERROR(OnnxValue::make(type, os, &(*out)[0]));
  // Strides of each operand per label (0 for broadcast / absent).
  const size_t nl = labels.size();
  std::vector<std::vector<int64_t>> strides(in.size(), std::vector<int64_t>(nl, 0));
  for (size_t i = 0; i < terms.size(); ++i) {
    int64_t st = 1;
    for (int64_t k = int64_t(terms[i].size()) - 1; k >= 0; --k) {
      const size_t l = labels.find(terms[i][size_t(k)]);
      if (in[i]->shape()[size_t(k)] != 1) strides[i][l] += st;
      st *= in[i]->shape()[size_t(k)];
    }
  }
  std::vector<int64_t> sizes(nl);
  int64_t total = 1;
  for (size_t l = 0; l < nl; ++l) sizes[l] = dim[int(labels[l])], total *= sizes[l];
  const int64_t out_n = (*out)[0].numel(), red = out_n ? total / std::max<int64_t>(out_n, 1) : 0;
  std::vector<double> acc;
  KILN_RETURN_IF_ERROR(resize_or_error(&acc, out_n, "working memory"));
  std::vector<std::vector<double>> vals(in.size());
  for (size_t i = 0; i < in.size(); ++i) KILN_RETURN_IF_ERROR(in[i]->to_doubles(&vals[i]));
  std::vector<int64_t> idx(nl, 0);
  for (int64_t it = 0; it < total; ++it) {
    // Output labels come first in `labels`, so the output offset is it / red.
    double p = 1;
    for (size_t i = 0; i < in.size(); ++i) {
      int64_t off = 0;
      for (size_t l = 0; l < nl; ++l) off += idx[l] * strides[i][l];
      p *= vals[i][size_t(off)];
    }
    acc[size_t(it / red)] += p;
    for (int64_t l = int64_t(nl) - 1; l >= 0; --l) {
      if (++idx[size_t(l)] < sizes[size_t(l)]) break;
      idx[size_t(l)] = 0;
    }
  }
  const bool ok = onnx_dispatch_numeric(type, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < out_n; ++i) (*out)[0].data<T>()[i] = T(acc[size_t(i)]);
  });
  if (!ok) return ctx.error("unsupported type " + dtype_name(type));
  return Status();
}

const OnnxOpEntry kOps[] = {
    {"MatMul", op_matmul},
    {"Gemm", op_gemm},
    {"Softmax", op_softmax},
    {"LogSoftmax", op_log_softmax},
    {"Hardmax", op_hardmax},
    {"BatchNormalization", op_batch_norm},
    {"InstanceNormalization", op_instance_norm},
    {"LayerNormalization", op_layer_norm},
    {"Gelu", op_gelu},
    {"MeanVarianceNormalization", op_mvn},
    {"LRN", op_lrn},
    {"NegativeLogLikelihoodLoss", op_nll_loss},
    {"SoftmaxCrossEntropyLoss", op_sce_loss},
    {"Resize", op_resize},
    {"Upsample", op_upsample},
    {"Einsum", op_einsum},
    {"Dropout", op_dropout, false},
};

}  // namespace

OnnxOpTable onnx_nn_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
