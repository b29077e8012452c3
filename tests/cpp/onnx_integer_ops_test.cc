// ConvInteger and MatMulInteger (src/onnx/ops_integer.cc) on random cases
// against the definitions written as plain loops in int64: 1-D, 2-D and 3-D
// convolutions with strides, dilations, asymmetric pads and groups, uint8 and
// int8 operands, scalar and per-channel zero points; batched matmuls with
// broadcast batch dims and per-row / per-column zero points. Each runs as the
// model writes it and with its constant B packed at load (optimizer on),
// convolutions on 1 and 3 threads.
#include <gtest/gtest.h>

#include <random>

#include "core/thread_pool.h"
#include "io/onnx_attributes.h"
#include "onnx/session.h"
#include "onnx_test_graphs.h"

namespace kiln {
namespace {

OnnxTensor int8_tensor(const std::string& name, bool is_signed, std::vector<int64_t> dims, std::mt19937* rng,
                       std::vector<int64_t>* values) {
  OnnxTensor t;
  t.name = name, t.data_type = is_signed ? DataType::kInt8 : DataType::kUint8, t.dims = dims;
  const int64_t n = onnx_checked_numel(dims);
  values->resize(size_t(n));
  for (int64_t i = 0; i < n; ++i) {
    const int v = is_signed ? int((*rng)() % 256) - 128 : int((*rng)() % 256);
    (*values)[size_t(i)] = v;
    t.data.push_back(uint8_t(v));
  }
  return t;
}

OnnxValueInfo info(const std::string& name) {
  OnnxValueInfo v;
  v.name = name;
  return v;
}

// Runs a one-node model whose inputs are all initializers but `x` (fed), optimized or not.
std::vector<int32_t> run_one(OnnxModel (*build)(void*), void* arg, const OnnxValue& x, bool optimize, OnnxShape* shape) {
  std::unique_ptr<OnnxSession> s;
  const Status st = OnnxSession::load_model(build(arg), &s, {optimize});
  EXPECT_TRUE(st.ok()) << st.message();
  if (!st.ok()) return {};
  std::vector<OnnxValue> out;
  const Status r = s->run({x}, &out);
  EXPECT_TRUE(r.ok()) << r.message();
  if (!r.ok()) return {};
  *shape = out[0].shape();
  return std::vector<int32_t>(out[0].data<int32_t>(), out[0].data<int32_t>() + out[0].numel());
}

struct ConvCase {
  std::vector<int64_t> x_shape, w_shape, strides, dilations, pads;
  int64_t group;
  bool x_signed, w_signed, w_zero_per_channel;
  std::vector<OnnxTensor> tensors;  // w, x_zero, w_zero
  std::vector<int64_t> w, xz, wz;
};

// One node reading `x` and the initializers, writing `y`.
OnnxModel one_node(const std::string& op, std::vector<std::string> inputs, std::vector<OnnxTensor> initializers,
                   std::vector<OnnxAttribute> attrs) {
  OnnxModel m;
  m.ir_version = 8;
  m.opset_imports.push_back({"", 13});
  m.graph.inputs = {info("x")};
  m.graph.outputs = {info("y")};
  m.graph.initializers = std::move(initializers);
  add_node(&m.graph, op, op, std::move(inputs), {"y"}, std::move(attrs));
  return m;
}

OnnxModel conv_model(void* arg) {
  ConvCase& c = *static_cast<ConvCase*>(arg);
  return one_node("ConvInteger", {"x", "w", "xz", "wz"}, c.tensors,
                  onnx_attrs(onnx_ints_attr("strides", c.strides), onnx_ints_attr("dilations", c.dilations),
                             onnx_ints_attr("pads", c.pads), onnx_int_attr("group", c.group)));
}

TEST(OnnxIntegerOps, ConvIntegerMatchesItsDefinition) {
  std::mt19937 rng(21);
  const ConvCase shapes[] = {
      {{2, 4, 9}, {6, 2, 3}, {2}, {1}, {1, 0}, 2, false, true, true, {}, {}, {}, {}},
      {{1, 3, 7, 8}, {5, 3, 3, 2}, {1, 2}, {2, 1}, {1, 0, 2, 1}, 1, true, true, false, {}, {}, {}, {}},
      {{2, 6, 6, 5}, {6, 1, 3, 3}, {1, 1}, {1, 1}, {1, 1, 1, 1}, 6, false, false, true, {}, {}, {}, {}},  // depthwise
      {{1, 8, 12, 12}, {16, 8, 1, 1}, {1, 1}, {1, 1}, {0, 0, 0, 0}, 1, false, true, true, {}, {}, {}, {}},
      {{1, 16, 20, 20}, {32, 16, 3, 3}, {2, 2}, {1, 1}, {1, 1, 1, 1}, 1, false, true, true, {}, {}, {}, {}},  // threaded
      {{1, 2, 4, 5, 5}, {3, 2, 2, 3, 2}, {1, 2, 1}, {1, 1, 2}, {0, 1, 0, 1, 0, 1}, 1, true, false, false, {}, {}, {}, {}},
  };
  for (ConvCase c : shapes) {
    std::vector<int64_t> xv;
    c.tensors.push_back(int8_tensor("w", c.w_signed, c.w_shape, &rng, &c.w));
    c.tensors.push_back(int8_tensor("xz", c.x_signed, {}, &rng, &c.xz));
    c.tensors.push_back(int8_tensor("wz", c.w_signed, c.w_zero_per_channel ? std::vector<int64_t>{c.w_shape[0]} : std::vector<int64_t>{}, &rng, &c.wz));
    const OnnxTensor xt = int8_tensor("x", c.x_signed, c.x_shape, &rng, &xv);
    OnnxValue x;
    ASSERT_TRUE(OnnxValue::from_tensor(xt, &x).ok());
    // The definition, in int64.
    const int64_t nd = int64_t(c.x_shape.size()) - 2, cg = c.w_shape[1], mg = c.w_shape[0] / c.group;
    std::vector<int64_t> out_sz(static_cast<size_t>(nd));
    int64_t out_count = 1, k_count = 1, in_count = 1;
    for (int64_t a = 0; a < nd; ++a) {
      const int64_t in = c.x_shape[size_t(2 + a)], k = c.w_shape[size_t(2 + a)];
      out_sz[size_t(a)] = (in + c.pads[size_t(a)] + c.pads[size_t(nd + a)] - c.dilations[size_t(a)] * (k - 1) - 1) / c.strides[size_t(a)] + 1;
      out_count *= out_sz[size_t(a)], k_count *= k, in_count *= in;
    }
    std::vector<int64_t> want;
    for (int64_t b = 0; b < c.x_shape[0]; ++b)
      for (int64_t mo = 0; mo < c.w_shape[0]; ++mo)
        for (int64_t o = 0; o < out_count; ++o) {
          int64_t acc = 0;
          for (int64_t ci = 0; ci < cg; ++ci)
            for (int64_t kk = 0; kk < k_count; ++kk) {
              int64_t off = 0, ro = o, rk = kk;
              bool inside = true;
              std::vector<int64_t> co(static_cast<size_t>(nd)), ck(static_cast<size_t>(nd));
              for (int64_t a = nd - 1; a >= 0; --a) {
                co[size_t(a)] = ro % out_sz[size_t(a)], ro /= out_sz[size_t(a)];
                ck[size_t(a)] = rk % c.w_shape[size_t(2 + a)], rk /= c.w_shape[size_t(2 + a)];
              }
              for (int64_t a = 0; a < nd; ++a) {
                const int64_t p = co[size_t(a)] * c.strides[size_t(a)] - c.pads[size_t(a)] + ck[size_t(a)] * c.dilations[size_t(a)];
                inside = inside && p >= 0 && p < c.x_shape[size_t(2 + a)];
                off = off * c.x_shape[size_t(2 + a)] + p;
              }
              if (!inside) continue;
              const int64_t xi = (b * c.x_shape[1] + (mo / mg) * cg + ci) * in_count + off;
              const int64_t wi = (mo * cg + ci) * k_count + kk;
              acc += (xv[size_t(xi)] - c.xz[0]) * (c.w[size_t(wi)] - c.wz[c.w_zero_per_channel ? size_t(mo) : 0]);
            }
          want.push_back(acc);
        }
    const int threads_before = ThreadPool::global().num_threads();
    for (int threads : {1, 3})
      for (bool optimize : {false, true}) {
        ThreadPool::global().resize(threads);
        OnnxShape shape;
        const std::vector<int32_t> got = run_one(conv_model, &c, x, optimize, &shape);
        ThreadPool::global().resize(threads_before);
        ASSERT_EQ(got.size(), want.size()) << "x " << onnx_shape_string(c.x_shape);
        for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "x " << onnx_shape_string(c.x_shape) << " at " << i;
      }
  }
}

struct MatmulCase {
  std::vector<int64_t> a_shape, b_shape;
  bool a_signed, b_signed, a_zero_per_row, b_zero_per_col;
  std::vector<OnnxTensor> tensors;  // b, a_zero, b_zero
  std::vector<int64_t> b, az, bz;
};

OnnxModel matmul_model(void* arg) {
  MatmulCase& c = *static_cast<MatmulCase*>(arg);
  return one_node("MatMulInteger", {"x", "b", "az", "bz"}, c.tensors, {});
}

TEST(OnnxIntegerOps, MatMulIntegerMatchesItsDefinition) {
  std::mt19937 rng(5);
  const MatmulCase cases[] = {
      {{3, 5}, {5, 7}, false, true, true, true, {}, {}, {}, {}},
      {{2, 1, 4, 9}, {3, 9, 10}, true, false, false, true, {}, {}, {}, {}},  // batch dims broadcast
      {{6, 33}, {33, 17}, true, true, false, false, {}, {}, {}, {}},
      {{65, 200}, {200, 70}, false, true, false, true, {}, {}, {}, {}},
  };
  for (MatmulCase c : cases) {
    const int64_t m = c.a_shape[c.a_shape.size() - 2], k = c.a_shape.back(), n = c.b_shape.back();
    c.tensors.push_back(int8_tensor("b", c.b_signed, c.b_shape, &rng, &c.b));
    c.tensors.push_back(int8_tensor("az", c.a_signed, c.a_zero_per_row ? std::vector<int64_t>{m} : std::vector<int64_t>{}, &rng, &c.az));
    c.tensors.push_back(int8_tensor("bz", c.b_signed, c.b_zero_per_col ? std::vector<int64_t>{n} : std::vector<int64_t>{}, &rng, &c.bz));
    std::vector<int64_t> av;
    const OnnxTensor at = int8_tensor("a", c.a_signed, c.a_shape, &rng, &av);
    OnnxValue a;
    ASSERT_TRUE(OnnxValue::from_tensor(at, &a).ok());
    // Batch dims broadcast as an outer product here (a [2, 1] against b [3]: 6 products).
    const int64_t a_batches = int64_t(av.size()) / (m * k), b_batches = int64_t(c.b.size()) / (k * n);
    std::vector<int64_t> want;
    for (int64_t bi = 0; bi < a_batches * b_batches; ++bi) {
      const int64_t ab = bi / b_batches, bb = bi % b_batches;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          int64_t acc = 0;
          for (int64_t q = 0; q < k; ++q)
            acc += (av[size_t((ab * m + i) * k + q)] - c.az[c.a_zero_per_row ? size_t(i) : 0]) *
                   (c.b[size_t((bb * k + q) * n + j)] - c.bz[c.b_zero_per_col ? size_t(j) : 0]);
          want.push_back(acc);
        }
    }
    for (bool optimize : {false, true}) {
      OnnxShape shape;
      const std::vector<int32_t> got = run_one(matmul_model, &c, a, optimize, &shape);
      ASSERT_EQ(got.size(), want.size()) << onnx_shape_string(c.a_shape) << " x " << onnx_shape_string(c.b_shape);
      for (size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << onnx_shape_string(c.a_shape) << " at " << i;
    }
  }
}

}  // namespace
}  // namespace kiln
