// The load-time graph optimizer (src/onnx/graph_optimizer.cc, layout_nhwc.cc)
// and the memory plan (memory_plan.cc): graphs built here run with and without
// optimization on random inputs and must agree; the unoptimized path runs the
// plain ONNX kernels that the conformance suite checks against ONNX's data.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "io/onnx_attributes.h"
#include "onnx/session.h"
#include "onnx_test_graphs.h"

namespace kiln {
namespace {

class GraphBuilder {
 public:
  explicit GraphBuilder(int64_t opset = 17) {
    m_.ir_version = 8;
    m_.opset_imports.push_back({"", opset});
  }
  void input(const std::string& name) { m_.graph.inputs.push_back(info(name)); }
  void output(const std::string& name) { m_.graph.outputs.push_back(info(name)); }
  // A float initializer of random values in [lo, hi).
  void weight(const std::string& name, std::vector<int64_t> dims, float lo = -0.5f, float hi = 0.5f) {
    m_.graph.initializers.push_back(random_float_tensor(name, std::move(dims), &rng_, lo, hi));
  }
  void ints(const std::string& name, std::vector<int64_t> v) {
    OnnxTensor t;
    t.name = name, t.data_type = DataType::kInt64, t.dims = {int64_t(v.size())};
    t.data.resize(v.size() * 8);
    std::memcpy(t.data.data(), v.data(), t.data.size());
    m_.graph.initializers.push_back(std::move(t));
  }
  void scalar(const std::string& name, float v) {
    OnnxTensor t;
    t.name = name, t.data_type = DataType::kFloat32;
    t.data.resize(4);
    std::memcpy(t.data.data(), &v, 4);
    m_.graph.initializers.push_back(std::move(t));
  }
  void node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out,
            std::vector<OnnxAttribute> attrs = {}) {
    OnnxNode n;
    n.name = op + std::to_string(m_.graph.nodes.size());
    n.op_type = op, n.inputs = std::move(in), n.outputs = std::move(out);
    for (OnnxAttribute& a : attrs) n.attributes.push_back(std::move(a));
    m_.graph.nodes.push_back(std::move(n));
  }
  // BatchNormalization with random statistics (variance positive).
  void batch_norm(const std::string& x, const std::string& y, int64_t c) {
    const std::string p = y + "_bn";
    weight(p + "_scale", {c}, 0.5f, 1.5f), weight(p + "_bias", {c}), weight(p + "_mean", {c}), weight(p + "_var", {c}, 0.2f, 2.0f);
    node("BatchNormalization", {x, p + "_scale", p + "_bias", p + "_mean", p + "_var"}, {y});
  }
  void take_initializer(OnnxTensor t) { m_.graph.initializers.push_back(std::move(t)); }
  OnnxModel take() { return std::move(m_); }

 private:
  static OnnxValueInfo info(const std::string& name) {
    OnnxValueInfo v;
    v.name = name, v.kind = OnnxValueKind::kTensor, v.elem_type = DataType::kFloat32;
    return v;
  }
  OnnxModel m_;
  std::mt19937 rng_{7};
};

OnnxValue random_input(OnnxShape shape, uint32_t seed) {
  OnnxValue v;
  EXPECT_TRUE(OnnxValue::make(DataType::kFloat32, shape, &v).ok());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(-1, 1);
  for (int64_t i = 0; i < v.numel(); ++i) v.data<float>()[i] = u(rng);
  return v;
}

std::unique_ptr<OnnxSession> load(OnnxModel m, bool optimize) {
  std::unique_ptr<OnnxSession> s;
  OnnxSessionOptions o;
  o.optimize = optimize;
  const Status st = OnnxSession::load_model(std::move(m), &s, o);
  EXPECT_TRUE(st.ok()) << st.message();
  return s;
}

// Runs both sessions on `x`; every output must agree within 1e-5 relative.
void expect_same_outputs(const OnnxSession& plain, const OnnxSession& optimized, const OnnxValue& x) {
  std::vector<OnnxValue> a, b;
  Status st = plain.run({x}, &a);
  ASSERT_TRUE(st.ok()) << st.message();
  st = optimized.run({x}, &b);
  ASSERT_TRUE(st.ok()) << st.message();
  ASSERT_EQ(a.size(), b.size());
  for (size_t k = 0; k < a.size(); ++k) {
    ASSERT_EQ(a[k].shape(), b[k].shape()) << "output " << k;
    double diff = 0, scale = 1e-30;
    for (int64_t i = 0; i < a[k].numel(); ++i) {
      diff = std::max(diff, double(std::fabs(a[k].data<float>()[i] - b[k].data<float>()[i])));
      scale = std::max(scale, double(std::fabs(a[k].data<float>()[i])));
    }
    EXPECT_LT(diff / scale, 1e-5) << "output " << k << ": max abs diff " << diff;
  }
}

// Conv -> BN -> Relu, a depthwise conv with asymmetric pads -> Clip(0, 6),
// pools (ceil mode, padding counted in the average), a broadcast constant, a
// scalar, Concat on channels, a standalone BN, Pad, Identity and Dropout, a
// residual Add -> Relu, global pooling, Flatten and Gemm -> Relu.
OnnxModel vision_graph() {
  GraphBuilder b;
  b.input("x");
  b.weight("w1", {8, 3, 3, 3}), b.weight("b1", {8});
  b.node("Conv", {"x", "w1", "b1"}, {"c1"}, onnx_attrs(onnx_ints_attr("pads", {1, 1, 1, 1})));
  b.batch_norm("c1", "n1", 8);
  b.node("Relu", {"n1"}, {"r1"});
  b.weight("w2", {8, 1, 3, 3});
  b.node("Conv", {"r1", "w2"}, {"c2"},
         onnx_attrs(onnx_int_attr("group", 8), onnx_ints_attr("strides", {2, 2}), onnx_ints_attr("pads", {1, 0, 0, 1})));
  b.scalar("zero", 0), b.scalar("six", 6);
  b.node("Clip", {"c2", "zero", "six"}, {"r2"});
  b.node("Identity", {"r2"}, {"i2"});
  b.node("MaxPool", {"i2"}, {"p1"},
         onnx_attrs(onnx_ints_attr("kernel_shape", {3, 3}), onnx_ints_attr("strides", {2, 2}),
                    onnx_ints_attr("pads", {1, 1, 1, 1}), onnx_int_attr("ceil_mode", 1)));
  b.node("AveragePool", {"p1"}, {"p2"},
         onnx_attrs(onnx_ints_attr("kernel_shape", {2, 2}), onnx_ints_attr("pads", {1, 1, 1, 1}),
                    onnx_int_attr("count_include_pad", 1)));
  b.weight("chan", {8, 1, 1});
  b.node("Add", {"p2", "chan"}, {"a1"});
  b.scalar("half", 0.5f);
  b.node("Mul", {"a1", "half"}, {"m1"});
  b.weight("w3", {4, 8, 1, 1});
  b.node("Conv", {"m1", "w3"}, {"c3"});
  b.node("Concat", {"m1", "c3"}, {"cat"}, onnx_attrs(onnx_int_attr("axis", 1)));
  b.batch_norm("cat", "n2", 12);
  b.node("Relu", {"n2"}, {"r3"});
  b.node("Dropout", {"r3"}, {"d3"});
  b.ints("pads", {0, 0, 1, 0, 0, 0, 0, 2});
  b.node("Pad", {"d3", "pads"}, {"pad"});
  b.ints("nopads", {0, 0, 0, 0, 0, 0, 0, 0});
  b.node("Pad", {"pad", "nopads"}, {"pad0"});
  b.node("Add", {"pad0", "pad"}, {"res"});  // a residual sum -> AddActivation with the Relu
  b.node("Relu", {"res"}, {"res_r"});
  b.weight("w4", {6, 12, 1, 1});
  b.node("Conv", {"res_r", "w4"}, {"c4"});
  b.node("GlobalAveragePool", {"c4"}, {"g"});
  b.node("Flatten", {"g"}, {"f"});
  b.weight("fc", {5, 6}), b.weight("fcb", {5});
  b.node("Gemm", {"f", "fc", "fcb"}, {"fc_out"}, onnx_attrs(onnx_int_attr("transB", 1)));
  b.node("Relu", {"fc_out"}, {"y"});
  b.output("y");
  return b.take();
}

TEST(OnnxOptimizer, VisionGraphMatchesUnoptimizedAtEveryBatchSize) {
  auto plain = load(vision_graph(), false), optimized = load(vision_graph(), true);
  const OnnxOptimizeStats& st = optimized->optimize_stats();
  EXPECT_EQ(st.batch_norms_folded, 1);         // n1 into c1; n2 follows a Concat
  EXPECT_EQ(st.noops_removed, 3);              // Identity, Dropout, the zero Pad
  EXPECT_EQ(st.activations_fused, 5);          // r1, r2 (Clip), r3 (into the BN), res_r (into Add), y (into Gemm)
  EXPECT_EQ(st.layout_transposes, 1);          // only the input
  EXPECT_LT(optimized->num_nodes_to_run(), plain->num_nodes_to_run());
  // Batch sizes change between runs: the planned buffers grow and are reused.
  for (int64_t n : {2, 1, 3, 3}) expect_same_outputs(*plain, *optimized, random_input({n, 3, 11, 13}, uint32_t(n)));
}

// A conv output read channels-last (Relu), channels-first (Reshape) and as a
// graph output: the NCHW value is restored once, where first needed.
TEST(OnnxOptimizer, RestoresChannelsFirstForOtherReadersAndOutputs) {
  auto make = [] {
    GraphBuilder b;
    b.input("x");
    b.weight("w", {4, 2, 3, 3});
    b.node("Conv", {"x", "w"}, {"c"});
    b.node("Relu", {"c"}, {"r"});
    b.ints("shape", {0, -1});
    b.node("Reshape", {"c", "shape"}, {"flat"});
    b.output("c"), b.output("r"), b.output("flat");
    return b.take();
  };
  auto plain = load(make(), false), optimized = load(make(), true);
  EXPECT_EQ(optimized->optimize_stats().layout_transposes, 3);  // x in; c and r back
  expect_same_outputs(*plain, *optimized, random_input({2, 2, 6, 5}, 1));
}

// Parallel heads (a TF detector's heatmap and offset convs): the activation
// that follows a conv in run order but reads another head's output is not
// fused into it. A regression: the channels-last pass gave the second conv
// the Sigmoid of the first.
TEST(OnnxOptimizer, FusesOnlyAnActivationThatReadsTheConv) {
  auto make = [] {
    GraphBuilder b;
    b.input("x");
    b.weight("w0", {8, 3, 3, 3}), b.weight("w1", {4, 8, 1, 1}), b.weight("w2", {5, 8, 1, 1}), b.weight("w3", {6, 8, 3, 3});
    b.node("Conv", {"x", "w0"}, {"c0"});
    b.node("Relu", {"c0"}, {"trunk"});  // fused: it reads the conv before it
    b.weight("b1", {4}), b.weight("b2", {5});
    b.node("Conv", {"trunk", "w1", "b1"}, {"heat"});
    b.node("Conv", {"trunk", "w2", "b2"}, {"offset"});
    b.node("Sigmoid", {"heat"}, {"heat_s"});
    b.node("Add", {"trunk", "trunk"}, {"sum"});
    b.node("Conv", {"trunk", "w3"}, {"c3"}, onnx_attrs(onnx_ints_attr("pads", {1, 1, 1, 1})));
    b.node("Relu", {"sum"}, {"sum_r"});
    b.scalar("two", 2.f);
    b.node("Mul", {"offset", "two"}, {"offset2"});
    b.output("offset2"), b.output("heat_s"), b.output("c3"), b.output("sum_r");
    return b.take();
  };
  auto plain = load(make(), false), optimized = load(make(), true);
  EXPECT_EQ(optimized->optimize_stats().activations_fused, 1);
  expect_same_outputs(*plain, *optimized, random_input({1, 3, 7, 6}, 4));
}

// Upsampling between convolutions stays channels-last: Resize by constant
// scales (nearest) and by sizes computed at run time (linear, from Shape and
// Concat, as TF graphs compute them) runs on the NHWC value.
TEST(OnnxOptimizer, ResizeBetweenConvsStaysChannelsLast) {
  auto make = [] {
    GraphBuilder b(13);
    b.input("x");
    b.weight("w1", {6, 3, 3, 3}), b.weight("w2", {4, 6, 3, 3}), b.weight("w3", {2, 4, 1, 1});
    b.node("Conv", {"x", "w1"}, {"c1"}, onnx_attrs(onnx_ints_attr("pads", {1, 1, 1, 1})));
    OnnxTensor scales;
    scales.name = "scales", scales.data_type = DataType::kFloat32, scales.dims = {4};
    const float sv[4] = {1, 1, 2, 2};
    scales.data.resize(16);
    std::memcpy(scales.data.data(), sv, 16);
    b.take_initializer(std::move(scales));
    b.node("Resize", {"c1", "", "scales"}, {"up"}, onnx_attrs(onnx_string_attr("mode", "nearest")));
    b.node("Conv", {"up", "w2"}, {"c2"});
    b.node("Shape", {"c2"}, {"shape"});
    b.ints("s0", {0}), b.ints("s2", {2}), b.ints("hw", {9, 11});
    b.node("Slice", {"shape", "s0", "s2"}, {"nc"});
    b.node("Concat", {"nc", "hw"}, {"sizes"}, onnx_attrs(onnx_int_attr("axis", 0)));
    b.node("Resize", {"c2", "", "", "sizes"}, {"up2"},
           onnx_attrs(onnx_string_attr("mode", "linear"), onnx_string_attr("coordinate_transformation_mode", "half_pixel")));
    b.node("Conv", {"up2", "w3"}, {"y"});
    b.output("y");
    return b.take();
  };
  auto plain = load(make(), false), optimized = load(make(), true);
  EXPECT_EQ(optimized->optimize_stats().layout_transposes, 2);  // x in, y out
  for (int64_t n : {1, 2}) expect_same_outputs(*plain, *optimized, random_input({n, 3, 5, 6}, uint32_t(n)));
}

// Transposes that cancel or permute nothing, and a Flatten feeding a Reshape
// to a fixed shape, are removed; a Reshape copying dims (0) keeps its input.
TEST(OnnxOptimizer, RemovesLayoutNoOps) {
  auto make = [] {
    GraphBuilder b;
    b.input("x");
    b.node("Transpose", {"x"}, {"t1"}, onnx_attrs(onnx_ints_attr("perm", {0, 2, 3, 1})));
    b.node("Transpose", {"t1"}, {"t2"}, onnx_attrs(onnx_ints_attr("perm", {0, 3, 1, 2})));
    b.node("Transpose", {"t2"}, {"t3"}, onnx_attrs(onnx_ints_attr("perm", {0, 1, 2, 3})));
    b.node("Relu", {"t3"}, {"r"});
    b.node("Flatten", {"r"}, {"f"});
    b.ints("shape", {-1, 6});
    b.node("Reshape", {"f", "shape"}, {"y"});
    b.node("Flatten", {"r"}, {"g"});
    b.ints("copy", {0, -1});
    b.node("Reshape", {"g", "copy"}, {"z"});
    b.output("y"), b.output("z");
    return b.take();
  };
  auto plain = load(make(), false), optimized = load(make(), true);
  EXPECT_EQ(optimized->optimize_stats().noops_removed, 4);  // t1 + t2, t3, the first Flatten
  EXPECT_EQ(optimized->num_nodes_to_run(), 4u);             // Relu, Reshape, Flatten, Reshape
  expect_same_outputs(*plain, *optimized, random_input({2, 3, 4, 5}, 3));
}

// PyTorch's avg_pool2d(padding=1, count_include_pad=True): a zero Pad of H
// and W, then an AveragePool, runs as one pool counting the padding.
TEST(OnnxOptimizer, FoldsZeroPadIntoAveragePool) {
  auto make = [] {
    GraphBuilder b;
    b.input("x");
    b.weight("w", {4, 3, 1, 1});
    b.node("Conv", {"x", "w"}, {"c"});
    b.ints("pads", {0, 0, 1, 2, 0, 0, 1, 0});
    b.node("Pad", {"c", "pads"}, {"p"});
    b.node("AveragePool", {"p"}, {"y"}, onnx_attrs(onnx_ints_attr("kernel_shape", {3, 3}), onnx_ints_attr("strides", {2, 1})));
    b.output("y");
    return b.take();
  };
  auto plain = load(make(), false), optimized = load(make(), true);
  EXPECT_EQ(optimized->optimize_stats().noops_removed, 1);
  for (const std::string& line : optimized->plan_lines()) EXPECT_EQ(line.find("Pad "), std::string::npos) << line;
  expect_same_outputs(*plain, *optimized, random_input({2, 3, 7, 6}, 4));
}

// Outputs handed to the caller are never planned buffers: a later run must
// not overwrite them.
TEST(OnnxOptimizer, OutputsSurviveLaterRuns) {
  auto s = load(vision_graph(), true);
  std::vector<OnnxValue> first, second;
  ASSERT_TRUE(s->run({random_input({2, 3, 11, 13}, 1)}, &first).ok());
  const std::vector<float> kept(first[0].data<float>(), first[0].data<float>() + first[0].numel());
  ASSERT_TRUE(s->run({random_input({2, 3, 11, 13}, 2)}, &second).ok());
  EXPECT_EQ(std::vector<float>(first[0].data<float>(), first[0].data<float>() + first[0].numel()), kept);
  EXPECT_NE(std::vector<float>(second[0].data<float>(), second[0].data<float>() + second[0].numel()), kept);
}

TEST(OnnxOptimizer, PlanListsKernelCallsAndBuffers) {
  auto s = load(vision_graph(), true);
  std::vector<OnnxValue> y;
  ASSERT_TRUE(s->run({random_input({1, 3, 11, 13}, 1)}, &y).ok());
  const std::vector<std::string> lines = s->plan_lines();
  ASSERT_EQ(lines.size(), s->num_nodes_to_run());
  EXPECT_EQ(lines[0].rfind("Transpose  x -> ", 0), 0u) << lines[0];
  EXPECT_NE(lines[1].find("NhwcConv"), std::string::npos) << lines[1];
  EXPECT_NE(s->plan_summary().find("planned buffers"), std::string::npos);
  // Values with disjoint lifetimes share buffers: far fewer buffers than values.
  size_t with_buffer = 0;
  for (const std::string& l : lines) with_buffer += l.find("[buffer") != std::string::npos;
  EXPECT_GT(with_buffer, 8u);
  EXPECT_NE(s->plan_summary().find(" 3 planned buffers"), std::string::npos) << s->plan_summary();
}

// Models cannot name the optimizer's internal kernels.
TEST(OnnxOptimizer, RejectsInternalOpsInModels) {
  GraphBuilder b;
  b.input("x");
  b.node("NhwcConv", {"x"}, {"y"});
  b.output("y");
  OnnxModel m = b.take();
  m.graph.nodes[0].domain = kKilnInternalDomain;
  std::unique_ptr<OnnxSession> s;
  const Status st = OnnxSession::load_model(std::move(m), &s);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("kiln.internal.NhwcConv"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace kiln
