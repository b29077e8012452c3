// Elementwise ONNX operators: unary math and activations, binary arithmetic
// and comparisons with numpy broadcasting, variadic Sum/Mean/Max/Min, Where,
// Clip and PRelu (Cast: ops_cast.cc). Float math runs in the tensor's own type (float32 or
// float64); integer arithmetic follows C++ semantics of that type.
#include <cmath>
#include <functional>
#include <type_traits>

#include "core/broadcast.h"
#include "core/thread_pool.h"
#include "cpu/vector_math.h"
#include "onnx/dispatch.h"
#include "onnx/kernel_util.h"
#include "onnx/op.h"

namespace kiln {

namespace {

// Elementwise outputs smaller than this run on the calling thread.
constexpr int64_t kMinParallelElements = 64 * 1024;

// ---- unary -------------------------------------------------------------------------

template <typename F>
Status unary_float(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, F f) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  Status st;
  const bool ok = onnx_dispatch_float(x.type(), [&](auto zero) {
    using T = decltype(zero);
    st = OnnxValue::make(x.type(), x.shape(), &(*out)[0]);
    if (!st.ok()) return;
    const T* a = x.data<T>();
    T* y = (*out)[0].data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) y[i] = T(f(double(a[i])));
  });
  if (!ok) return ctx.error("expects a float tensor, got " + dtype_name(x.type()));
  return st;
}

// Unary ops defined on every numeric type (Abs, Neg, Sign).
template <typename F>
Status unary_numeric(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, F f) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  Status st;
  const bool ok = onnx_dispatch_numeric(x.type(), [&](auto zero) {
    using T = decltype(zero);
    st = OnnxValue::make(x.type(), x.shape(), &(*out)[0]);
    if (!st.ok()) return;
    const T* a = x.data<T>();
    T* y = (*out)[0].data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) y[i] = f(a[i]);
  });
  if (!ok) return ctx.error("expects a numeric tensor, got " + dtype_name(x.type()));
  return st;
}

#define KILN_UNARY_FLOAT(NAME, EXPR)                                                        \
  Status NAME(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) { \
    return unary_float(ctx, in, out, [&](double x) { return EXPR; });                       \
  }

// float32 through a vectorized kernel (cpu/vector_math.h); float64 through `f` in double.
template <typename F>
Status unary_fast_float32(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out,
                          void (*kernel)(const float*, float*, int64_t), F f) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  if (x.type() != DataType::kFloat32) return unary_float(ctx, in, out, f);
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(x.type(), x.shape(), &(*out)[0]));
  kernel(x.data<float>(), (*out)[0].data<float>(), x.numel());
  return Status();
}

Status op_sigmoid(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  return unary_fast_float32(ctx, in, out, vsigmoid, [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
}
Status op_exp(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  return unary_fast_float32(ctx, in, out, vexp, [](double x) { return std::exp(x); });
}
Status op_tanh(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  return unary_fast_float32(ctx, in, out, vtanh, [](double x) { return std::tanh(x); });
}
Status op_erf(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  return unary_fast_float32(ctx, in, out, verf, [](double x) { return std::erf(x); });
}

KILN_UNARY_FLOAT(op_log, std::log(x))
KILN_UNARY_FLOAT(op_sqrt, std::sqrt(x))
KILN_UNARY_FLOAT(op_reciprocal, 1.0 / x)
KILN_UNARY_FLOAT(op_floor, std::floor(x))
KILN_UNARY_FLOAT(op_ceil, std::ceil(x))
KILN_UNARY_FLOAT(op_round, std::nearbyint(x))  // round half to even (default rounding mode)
KILN_UNARY_FLOAT(op_sin, std::sin(x))
KILN_UNARY_FLOAT(op_cos, std::cos(x))
KILN_UNARY_FLOAT(op_tan, std::tan(x))
KILN_UNARY_FLOAT(op_asin, std::asin(x))
KILN_UNARY_FLOAT(op_acos, std::acos(x))
KILN_UNARY_FLOAT(op_atan, std::atan(x))
KILN_UNARY_FLOAT(op_sinh, std::sinh(x))
KILN_UNARY_FLOAT(op_cosh, std::cosh(x))
KILN_UNARY_FLOAT(op_asinh, std::asinh(x))
KILN_UNARY_FLOAT(op_acosh, std::acosh(x))
KILN_UNARY_FLOAT(op_atanh, std::atanh(x))
KILN_UNARY_FLOAT(op_softplus, x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x)))
KILN_UNARY_FLOAT(op_softsign, x / (1.0 + std::fabs(x)))
KILN_UNARY_FLOAT(op_hard_swish, x * std::max(0.0, std::min(1.0, x / 6.0 + 0.5)))
KILN_UNARY_FLOAT(op_mish, x * std::tanh(x > 0 ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x))))
#undef KILN_UNARY_FLOAT

Status op_leaky_relu(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  const float a = ctx.get_float("alpha", 0.01f);
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  if (x.type() != DataType::kFloat32) return unary_float(ctx, in, out, [&](double v) { return v >= 0 ? v : a * v; });
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(x.type(), x.shape(), &(*out)[0]));
  vleaky_relu(x.data<float>(), (*out)[0].data<float>(), x.numel(), a);
  return Status();
}
Status op_elu(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  const double a = ctx.get_float("alpha", 1.0f);
  return unary_float(ctx, in, out, [&](double x) { return x >= 0 ? x : a * (std::exp(x) - 1); });
}
Status op_celu(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  const double a = ctx.get_float("alpha", 1.0f);
  return unary_float(ctx, in, out, [&](double x) { return std::max(0.0, x) + std::min(0.0, a * (std::exp(x / a) - 1)); });
}
Status op_selu(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  const double a = ctx.get_float("alpha", 1.67326319217681884765625f), g = ctx.get_float("gamma", 1.05070102214813232421875f);
  return unary_float(ctx, in, out, [&](double x) { return x > 0 ? g * x : g * a * (std::exp(x) - 1); });
}
Status op_thresholded_relu(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  const double a = ctx.get_float("alpha", 1.0f);
  return unary_float(ctx, in, out, [&](double x) { return x > a ? x : 0.0; });
}
Status op_hard_sigmoid(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  const double a = ctx.get_float("alpha", 0.2f), b = ctx.get_float("beta", 0.5f);
  return unary_float(ctx, in, out, [&](double x) { return std::max(0.0, std::min(1.0, a * x + b)); });
}

Status op_abs(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  return unary_numeric(ctx, in, out, [](auto x) { return x < 0 ? decltype(x)(-x) : x; });
}
// x < 0 ? 0 : x on every signed type (opset 14): NaN stays NaN, as in PyTorch and TF.js.
Status op_relu(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  if (x.type() == DataType::kFloat32) {
    KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(x.type(), x.shape(), &(*out)[0]));
    vrelu(x.data<float>(), (*out)[0].data<float>(), x.numel());
    return Status();
  }
  return unary_numeric(ctx, in, out, [](auto x) {
    using T = decltype(x);
    if constexpr (std::is_unsigned_v<T>) return x;
    else return x < T(0) ? T(0) : x;
  });
}
Status op_neg(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  return unary_numeric(ctx, in, out, [](auto x) { return decltype(x)(-x); });
}
Status op_sign(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  return unary_numeric(ctx, in, out, [](auto x) { return decltype(x)(x > 0 ? 1 : x < 0 ? -1 : 0); });
}

// Unary predicates producing bool (IsNaN, IsInf, Not).
template <typename F>
Status unary_to_bool(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, bool bool_input, F f) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kBool, x.shape(), &(*out)[0]));
  uint8_t* y = (*out)[0].data<uint8_t>();
  if (bool_input) {
    if (x.type() != DataType::kBool) return ctx.error("expects a bool tensor");
    for (int64_t i = 0; i < x.numel(); ++i) y[i] = f(double(x.data<uint8_t>()[i]));
    return Status();
  }
  const bool ok = onnx_dispatch_float(x.type(), [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < x.numel(); ++i) y[i] = f(double(x.data<T>()[i]));
  });
  return ok ? Status() : ctx.error("expects a float tensor, got " + dtype_name(x.type()));
}
Status op_is_nan(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  return unary_to_bool(ctx, in, out, false, [](double x) { return std::isnan(x); });
}
Status op_is_inf(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  const bool pos = ctx.get_int("detect_positive", 1) != 0, neg = ctx.get_int("detect_negative", 1) != 0;
  return unary_to_bool(ctx, in, out, false, [&](double x) { return std::isinf(x) && ((x > 0 && pos) || (x < 0 && neg)); });
}
Status op_not(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  return unary_to_bool(ctx, in, out, true, [](double x) { return x == 0; });
}

// ---- binary with broadcasting --------------------------------------------------------

// out = f(a, b) elementwise in a's type (the result type `out_type`, e.g. bool for comparisons).
// Integer types narrower than 32 bits, and unsigned ones, are computed as
// int64 and narrowed back (the same wrap-around C++ gives them): one
// instantiation per op instead of six keeps the wasm download small.
bool widened_type(DataType t) {
  switch (t) {
    case DataType::kInt8: case DataType::kInt16: case DataType::kUint8: case DataType::kUint16:
    case DataType::kUint32: case DataType::kUint64: return true;
    default: return false;
  }
}

Status widen_to_int64(const OnnxValue& v, OnnxValue* out) {
  std::vector<int64_t> w;
  KILN_RETURN_IF_ERROR(v.to_int64s(&w));
  *out = OnnxValue::vector_i64(w).reshaped(v.shape());
  return Status();
}

void narrow_from_int64(const OnnxValue& v, DataType type, OnnxValue* out) {
  OnnxValue::make(type, v.shape(), out);
  onnx_dispatch_numeric(type, [&](auto zero) {
    using T = decltype(zero);
    for (int64_t i = 0; i < v.numel(); ++i) out->data<T>()[i] = T(v.data<int64_t>()[i]);
  });
}

// out = f(a, b) elementwise with broadcasting; `out_type` is a's type, or bool for comparisons.
template <typename Dispatch, typename F>
Status binary(const OnnxOpContext& ctx, const OnnxValue& a, const OnnxValue& b, DataType out_type, OnnxValue* out,
              Dispatch dispatch, F f) {
  if (a.type() != b.type())
    return ctx.error("inputs must have one type, got " + dtype_name(a.type()) + " and " + dtype_name(b.type()));
  if (widened_type(a.type())) {
    OnnxValue wa, wb, wide;
    KILN_RETURN_IF_ERROR(widen_to_int64(a, &wa));
    KILN_RETURN_IF_ERROR(widen_to_int64(b, &wb));
    const bool to_bool = out_type == DataType::kBool;
    KILN_RETURN_IF_ERROR(binary(ctx, wa, wb, to_bool ? out_type : DataType::kInt64, &wide, dispatch, f));
    if (to_bool) *out = std::move(wide);
    else narrow_from_int64(wide, a.type(), out);
    return Status();
  }
  OnnxShape shape;
  const Status bs = broadcast_shape(a.shape(), b.shape(), &shape);
  if (!bs.ok()) return ctx.error(bs.message());
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(out_type, shape, out));
  const BroadcastLoop loop(a.shape(), b.shape(), shape);
  const int64_t len = loop.run_length();
  const bool ok = dispatch(a.type(), [&](auto zero) {
    using T = decltype(zero);
    const T* pa = a.data<T>();
    const T* pb = b.data<T>();
    auto store = [&](auto* out_data) {
      // One inner loop per kind of run, each simple enough to vectorize.
      auto runs = [&](int64_t begin, int64_t end) {
        loop.for_runs(begin, end, [&](int64_t o, int64_t ia, int64_t ib) {
          auto* y = out_data + o;
          const T *x = pa + ia, *z = pb + ib;
          if (loop.a_step() && loop.b_step()) {
            for (int64_t i = 0; i < len; ++i) y[i] = f(x[i], z[i]);
          } else if (loop.a_step()) {
            const T v = z[0];
            for (int64_t i = 0; i < len; ++i) y[i] = f(x[i], v);
          } else if (loop.b_step()) {
            const T v = x[0];
            for (int64_t i = 0; i < len; ++i) y[i] = f(v, z[i]);
          } else {
            const auto v = f(x[0], z[0]);
            for (int64_t i = 0; i < len; ++i) y[i] = v;
          }
        });
      };
      // Big tensors are shared among the threads, whole runs each.
      const int64_t min_runs = std::max<int64_t>(1, kMinParallelElements / std::max<int64_t>(len, 1));
      if (out->numel() >= kMinParallelElements) parallel_range(loop.runs(), min_runs, runs);
      else runs(0, loop.runs());
    };
    if (out_type == DataType::kBool) store(out->data<uint8_t>());
    else store(out->data<T>());
  });
  if (!ok) return ctx.error("does not take " + dtype_name(a.type()) + " tensors");
  return Status();
}

// The element types binary() instantiates directly (the others are widened).
template <typename Fn>
bool direct_numeric(DataType t, Fn&& fn) {
  switch (t) {
    case DataType::kFloat32: fn(float{}); return true;
    case DataType::kFloat64: fn(double{}); return true;
    case DataType::kInt32: fn(int32_t{}); return true;
    case DataType::kInt64: fn(int64_t{}); return true;
    default: return false;
  }
}

auto numeric = [](DataType t, auto&& fn) { return direct_numeric(t, fn); };
auto any_type = [](DataType t, auto&& fn) {
  if (t == DataType::kBool) {
    fn(uint8_t{});
    return true;
  }
  return direct_numeric(t, fn);
};
auto bools = [](DataType t, auto&& fn) {
  if (t != DataType::kBool) return false;
  fn(uint8_t{});
  return true;
};

template <typename F>
Status arith(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, F f) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  return binary(ctx, *in[0], *in[1], in[0]->type(), &(*out)[0], numeric, f);
}
template <typename F>
Status compare(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, F f) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  return binary(ctx, *in[0], *in[1], DataType::kBool, &(*out)[0], any_type, f);
}
template <typename F>
Status logical(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, F f) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 1));
  return binary(ctx, *in[0], *in[1], DataType::kBool, &(*out)[0], bools, f);
}

Status op_add(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return arith(c, in, o, [](auto a, auto b) { return decltype(a)(a + b); });
}
Status op_sub(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return arith(c, in, o, [](auto a, auto b) { return decltype(a)(a - b); });
}
Status op_mul(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return arith(c, in, o, [](auto a, auto b) { return decltype(a)(a * b); });
}
Status op_div(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return arith(c, in, o, [](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_integral_v<T>) return T(b == 0 ? 0 : a / b);  // no trap on integer division by zero
    else return T(a / b);
  });
}
Status op_pow(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  KILN_RETURN_IF_ERROR(onnx_require_input(c, in, 0));
  KILN_RETURN_IF_ERROR(onnx_require_input(c, in, 1));
  // Pow's exponent may have another type (opset 12+): compute in double.
  OnnxValue e;
  if (in[1]->type() != in[0]->type()) {
    KILN_RETURN_IF_ERROR(OnnxValue::make(in[0]->type(), in[1]->shape(), &e));
    onnx_dispatch_numeric(e.type(), [&](auto zero) {
      using T = decltype(zero);
      for (int64_t i = 0; i < e.numel(); ++i) e.data<T>()[i] = onnx_saturating_cast<T>(onnx_element_as_double(*in[1], i));
    });
  }
  const OnnxValue& b = e.defined() ? e : *in[1];
  // A float32 tensor to a constant small power (LayerNorm's variance squares): products, not pow().
  if (in[0]->type() == DataType::kFloat32 && b.numel() == 1) {
    const float p = b.data<float>()[0];
    if (p == 2.0f || p == 3.0f || p == 1.0f || p == 0.5f) {
      const OnnxValue& x = *in[0];
      OnnxShape shape;
      const Status bs = broadcast_shape(x.shape(), b.shape(), &shape);
      if (!bs.ok()) return c.error(bs.message());
      KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(DataType::kFloat32, shape, &(*o)[0]));
      const float* px = x.data<float>();
      float* py = (*o)[0].data<float>();
      parallel_range(x.numel(), kMinParallelElements, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) {
          const float v = px[i];
          py[i] = p == 2.0f ? v * v : p == 3.0f ? v * v * v : p == 1.0f ? v : std::sqrt(v);
        }
      });
      return Status();
    }
  }
  return binary(c, *in[0], b, in[0]->type(), &(*o)[0], numeric,
                [](auto a, auto b) { return decltype(a)(std::pow(double(a), double(b))); });
}
Status op_mod(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  const bool fmod = c.get_int("fmod", 0) != 0;
  return arith(c, in, o, [fmod](auto a, auto b) {
    using T = decltype(a);
    if constexpr (std::is_floating_point_v<T>) {
      if (fmod) return T(std::fmod(a, b));
      T r = T(std::fmod(a, b));
      return T(r != 0 && ((r < 0) != (b < 0)) ? r + b : r);
    } else {
      if (b == 0) return T(0);
      T r = T(a % b);
      if constexpr (std::is_signed_v<T>)
        if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = T(r + b);  // Python-style sign of the divisor
      return r;
    }
  });
}
Status op_equal(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return compare(c, in, o, [](auto a, auto b) { return uint8_t(a == b); });
}
Status op_less(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return compare(c, in, o, [](auto a, auto b) { return uint8_t(a < b); });
}
Status op_less_equal(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return compare(c, in, o, [](auto a, auto b) { return uint8_t(a <= b); });
}
Status op_greater(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return compare(c, in, o, [](auto a, auto b) { return uint8_t(a > b); });
}
Status op_greater_equal(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return compare(c, in, o, [](auto a, auto b) { return uint8_t(a >= b); });
}
Status op_and(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return logical(c, in, o, [](auto a, auto b) { return uint8_t(a && b); });
}
Status op_or(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return logical(c, in, o, [](auto a, auto b) { return uint8_t(a || b); });
}
Status op_xor(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return logical(c, in, o, [](auto a, auto b) { return uint8_t(bool(a) != bool(b)); });
}
Status op_prelu(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return arith(c, in, o, [](auto x, auto slope) { return decltype(x)(x < 0 ? x * slope : x); });
}

// Sum, Mean, Max, Min over any number of inputs, folded pairwise with broadcasting.
template <typename F>
Status variadic(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out, bool mean, F f) {
  if (in.empty()) return ctx.error("needs at least one input");
  for (size_t i = 0; i < in.size(); ++i) KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  OnnxValue acc;  // a fresh copy of the first input: the mean is computed in place
  KILN_RETURN_IF_ERROR(binary(ctx, *in[0], *in[0], in[0]->type(), &acc, numeric, [](auto a, auto) { return a; }));
  for (size_t i = 1; i < in.size(); ++i) {
    OnnxValue next;
    KILN_RETURN_IF_ERROR(binary(ctx, acc, *in[i], acc.type(), &next, numeric, f));
    acc = std::move(next);
  }
  if (mean) {
    const double n = double(in.size());
    onnx_dispatch_numeric(acc.type(), [&](auto zero) {
      using T = decltype(zero);
      for (int64_t i = 0; i < acc.numel(); ++i) acc.data<T>()[i] = onnx_saturating_cast<T>(double(acc.data<T>()[i]) / n);
    });
  }
  (*out)[0] = std::move(acc);
  return Status();
}
Status op_sum(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return variadic(c, in, o, false, [](auto a, auto b) { return decltype(a)(a + b); });
}
Status op_mean(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return variadic(c, in, o, true, [](auto a, auto b) { return decltype(a)(a + b); });
}
Status op_max(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return variadic(c, in, o, false, [](auto a, auto b) { return (a != a || a > b) ? a : b; });  // NaN propagates
}
Status op_min(const OnnxOpContext& c, const OnnxInputs& in, std::vector<OnnxValue>* o) {
  return variadic(c, in, o, false, [](auto a, auto b) { return (a != a || a < b) ? a : b; });
}

// Where(cond, x, y): broadcast over all three.
Status op_where(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  for (size_t i = 0; i < 3; ++i) KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
  const OnnxValue &c = *in[0], &x = *in[1], &y = *in[2];
  if (c.type() != DataType::kBool) return ctx.error("the condition must be bool");
  if (x.type() != y.type()) return ctx.error("x and y must have one type");
  OnnxShape s1, shape;
  Status st = broadcast_shape(c.shape(), x.shape(), &s1);
  if (st.ok()) st = broadcast_shape(s1, y.shape(), &shape);
  if (!st.ok()) return ctx.error(st.message());
  KILN_RETURN_IF_ERROR(OnnxValue::make(x.type(), shape, &(*out)[0]));
  std::vector<int64_t> oc, ox, oy;
  BroadcastIndex(c.shape(), shape).offsets(&oc);
  BroadcastIndex(x.shape(), shape).offsets(&ox);
  BroadcastIndex(y.shape(), shape).offsets(&oy);
  onnx_dispatch_any(x.type(), [&](auto zero) {
    using T = decltype(zero);
    T* o = (*out)[0].data<T>();
    for (size_t i = 0; i < oc.size(); ++i) o[i] = c.data<uint8_t>()[oc[i]] ? x.data<T>()[ox[i]] : y.data<T>()[oy[i]];
  });
  return Status();
}

// Clip: bounds are attributes before opset 11, optional inputs from 11.
Status op_clip(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  const OnnxValue& x = *in[0];
  double lo = -INFINITY, hi = INFINITY;
  if (ctx.opset() < 11) {
    lo = ctx.get_float("min", -INFINITY);
    hi = ctx.get_float("max", INFINITY);
  } else {
    for (size_t i = 1; i <= 2; ++i)
      if (onnx_has_input(in, i) && in[i]->numel() != 1)
        return ctx.error(std::string(i == 1 ? "min" : "max") + " must hold one value, got shape " +
                         onnx_shape_string(in[i]->shape()));
    if (onnx_has_input(in, 1)) lo = onnx_element_as_double(*in[1], 0);
    if (onnx_has_input(in, 2)) hi = onnx_element_as_double(*in[2], 0);
  }
  Status st;
  const bool ok = onnx_dispatch_numeric(x.type(), [&](auto zero) {
    using T = decltype(zero);
    st = OnnxValue::make(x.type(), x.shape(), &(*out)[0]);
    if (!st.ok()) return;
    const T* a = x.data<T>();
    T* y = (*out)[0].data<T>();
    if constexpr (std::is_floating_point_v<T>) {  // in T, so the loop vectorizes; NaN stays NaN
      const T l = T(lo), h = T(hi);
      for (int64_t i = 0; i < x.numel(); ++i) y[i] = a[i] < l ? l : a[i] > h ? h : a[i];
      return;
    }
    for (int64_t i = 0; i < x.numel(); ++i) {
      const double v = double(a[i]);
      y[i] = onnx_saturating_cast<T>(v < lo ? lo : v > hi ? hi : v);
    }
  });
  return ok ? st : ctx.error("does not take " + dtype_name(x.type()));
}

const OnnxOpEntry kOps[] = {
    {"Relu", op_relu}, {"Sigmoid", op_sigmoid}, {"Tanh", op_tanh}, {"Exp", op_exp}, {"Log", op_log}, {"Sqrt", op_sqrt},
    {"Reciprocal", op_reciprocal}, {"Floor", op_floor}, {"Ceil", op_ceil}, {"Round", op_round}, {"Sin", op_sin},
    {"Cos", op_cos}, {"Tan", op_tan}, {"Asin", op_asin}, {"Acos", op_acos}, {"Atan", op_atan}, {"Sinh", op_sinh},
    {"Cosh", op_cosh}, {"Asinh", op_asinh}, {"Acosh", op_acosh}, {"Atanh", op_atanh}, {"Erf", op_erf},
    {"Softplus", op_softplus}, {"Softsign", op_softsign}, {"HardSwish", op_hard_swish}, {"Mish", op_mish},
    {"LeakyRelu", op_leaky_relu}, {"Elu", op_elu}, {"Celu", op_celu}, {"Selu", op_selu},
    {"ThresholdedRelu", op_thresholded_relu}, {"HardSigmoid", op_hard_sigmoid}, {"Abs", op_abs}, {"Neg", op_neg},
    {"Sign", op_sign}, {"IsNaN", op_is_nan}, {"IsInf", op_is_inf}, {"Not", op_not}, {"Add", op_add}, {"Sub", op_sub},
    {"Mul", op_mul}, {"Div", op_div}, {"Pow", op_pow}, {"Mod", op_mod}, {"Equal", op_equal}, {"Less", op_less},
    {"LessOrEqual", op_less_equal}, {"Greater", op_greater}, {"GreaterOrEqual", op_greater_equal}, {"And", op_and},
    {"Or", op_or}, {"Xor", op_xor}, {"PRelu", op_prelu}, {"Sum", op_sum}, {"Mean", op_mean}, {"Max", op_max},
    {"Min", op_min}, {"Where", op_where}, {"Clip", op_clip},
};

}  // namespace

OnnxOpTable onnx_elementwise_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
