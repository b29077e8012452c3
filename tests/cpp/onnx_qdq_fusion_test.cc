// QDQ fusion (src/onnx/qdq_fusion.cc): QDQ graphs built here, the way PyTorch
// and onnxruntime's quantizer write them (uint8 activations, int8 weights with
// per-channel or per-tensor scales, float bias, Relu / Relu6 before the
// output QuantizeLinear), run fused into integer QLinearConv / QLinearMatMul
// and as written (optimize off: the float reference). Their uint8 outputs may
// differ by one step where a value rounds the other way, never more, and the
// fused plan must not dequantize a weight at run time.
#include <gtest/gtest.h>

#include <random>

#include "io/onnx_attributes.h"
#include "onnx/session.h"

namespace kiln {
namespace {

class QdqBuilder {
 public:
  QdqBuilder() {
    m_.ir_version = 8;
    m_.opset_imports.push_back({"", 13});
  }
  OnnxModel& model() { return m_; }
  void tensor(const std::string& name, DataType t, std::vector<int64_t> dims, const void* data, size_t bytes) {
    OnnxTensor x;
    x.name = name, x.data_type = t, x.dims = std::move(dims);
    x.data.assign(static_cast<const uint8_t*>(data), static_cast<const uint8_t*>(data) + bytes);
    m_.graph.initializers.push_back(std::move(x));
  }
  void scale(const std::string& name, std::vector<float> v, bool vector = false) {
    tensor(name, DataType::kFloat32, vector ? std::vector<int64_t>{int64_t(v.size())} : std::vector<int64_t>{}, v.data(), 4 * v.size());
  }
  void zero_u8(const std::string& name, uint8_t z) { tensor(name, DataType::kUint8, {}, &z, 1); }
  void zeros_i8(const std::string& name, size_t n) {
    std::vector<int8_t> z(n, 0);
    tensor(name, DataType::kInt8, n == 1 ? std::vector<int64_t>{} : std::vector<int64_t>{int64_t(n)}, z.data(), n);
  }
  void weights_i8(const std::string& name, std::vector<int64_t> dims) {
    std::vector<int8_t> w(size_t(onnx_checked_numel(dims)));
    for (int8_t& v : w) v = int8_t(int(rng_() % 255) - 127);
    tensor(name, DataType::kInt8, std::move(dims), w.data(), w.size());
  }
  void floats(const std::string& name, int64_t n) {
    std::uniform_real_distribution<float> u(-1, 1);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = u(rng_);
    tensor(name, DataType::kFloat32, {n}, v.data(), 4 * v.size());
  }
  void node(const std::string& op, std::vector<std::string> in, std::vector<std::string> out, std::vector<OnnxAttribute> attrs = {}) {
    OnnxNode n;
    n.name = op + std::to_string(m_.graph.nodes.size()), n.op_type = op, n.inputs = std::move(in), n.outputs = std::move(out);
    n.attributes = std::move(attrs);
    m_.graph.nodes.push_back(std::move(n));
  }
  void io(const std::string& in, const std::string& out) {
    OnnxValueInfo i, o;
    i.name = in, i.kind = OnnxValueKind::kTensor, i.elem_type = DataType::kFloat32;
    o.name = out, o.kind = OnnxValueKind::kTensor;
    m_.graph.inputs.push_back(i);
    m_.graph.outputs.push_back(o);
  }

 private:
  OnnxModel m_;
  std::mt19937 rng_{3};
};

// x -> Q -> DQ -> Conv(DQ(w), bias) -> Relu -> Q -> DQ -> Conv(DQ(w2), per-tensor) -> Relu6 (Clip) -> Q
//   -> DQ -> Flatten -> Q -> DQ -> Gemm(transB, DQ(w3)) -> Q -> DQ -> MatMul(DQ(w4)) -> Q -> DQ -> y
OnnxModel qdq_network() {
  QdqBuilder b;
  b.io("x", "y");
  b.scale("s_in", {0.02f}), b.zero_u8("z_in", 128);
  b.node("QuantizeLinear", {"x", "s_in", "z_in"}, {"x_q"});
  b.node("DequantizeLinear", {"x_q", "s_in", "z_in"}, {"x_dq"});
  b.weights_i8("w1", {8, 3, 3, 3});
  std::vector<float> s1(8);
  for (size_t i = 0; i < 8; ++i) s1[i] = 0.002f * float(i + 1);
  b.scale("s_w1", s1, true), b.zeros_i8("z_w1", 8);
  b.node("DequantizeLinear", {"w1", "s_w1", "z_w1"}, {"w1_dq"}, onnx_attrs(onnx_int_attr("axis", 0)));
  b.floats("b1", 8);
  b.node("Conv", {"x_dq", "w1_dq", "b1"}, {"c1"}, onnx_attrs(onnx_ints_attr("pads", {1, 1, 1, 1})));
  b.node("Relu", {"c1"}, {"r1"});
  b.scale("s_a1", {0.01f}), b.zero_u8("z_a1", 0);
  b.node("QuantizeLinear", {"r1", "s_a1", "z_a1"}, {"a1_q"});
  b.node("DequantizeLinear", {"a1_q", "s_a1", "z_a1"}, {"a1"});
  b.weights_i8("w2", {16, 8, 3, 3});
  b.scale("s_w2", {0.003f}), b.zeros_i8("z_w2", 1);
  b.node("DequantizeLinear", {"w2", "s_w2", "z_w2"}, {"w2_dq"});
  b.node("Conv", {"a1", "w2_dq"}, {"c2"}, onnx_attrs(onnx_ints_attr("strides", {2, 2})));
  b.scale("zero_f", {0.0f}), b.scale("six_f", {6.0f});
  b.node("Clip", {"c2", "zero_f", "six_f"}, {"r2"});
  b.scale("s_a2", {0.025f}), b.zero_u8("z_a2", 0);
  b.node("QuantizeLinear", {"r2", "s_a2", "z_a2"}, {"a2_q"});
  b.node("DequantizeLinear", {"a2_q", "s_a2", "z_a2"}, {"a2"});
  b.node("Flatten", {"a2"}, {"f"});
  b.node("QuantizeLinear", {"f", "s_a2", "z_a2"}, {"f_q"});
  b.node("DequantizeLinear", {"f_q", "s_a2", "z_a2"}, {"f_dq"});
  b.weights_i8("w3", {10, 16 * 2 * 2});
  std::vector<float> s3(10, 0.004f);
  b.scale("s_w3", s3, true), b.zeros_i8("z_w3", 10);
  b.node("DequantizeLinear", {"w3", "s_w3", "z_w3"}, {"w3_dq"}, onnx_attrs(onnx_int_attr("axis", 0)));
  b.floats("b3", 10);
  b.node("Gemm", {"f_dq", "w3_dq", "b3"}, {"g"}, onnx_attrs(onnx_int_attr("transB", 1)));
  b.scale("s_g", {0.05f}), b.zero_u8("z_g", 100);
  b.node("QuantizeLinear", {"g", "s_g", "z_g"}, {"g_q"});
  b.node("DequantizeLinear", {"g_q", "s_g", "z_g"}, {"g_dq"});
  b.weights_i8("w4", {10, 6});
  b.scale("s_w4", {0.01f}), b.zeros_i8("z_w4", 1);
  b.node("DequantizeLinear", {"w4", "s_w4", "z_w4"}, {"w4_dq"});
  b.node("MatMul", {"g_dq", "w4_dq"}, {"mm"});
  b.scale("s_y", {0.03f}), b.zero_u8("z_y", 128);
  b.node("QuantizeLinear", {"mm", "s_y", "z_y"}, {"y_q"});
  b.node("DequantizeLinear", {"y_q", "s_y", "z_y"}, {"y"});
  return std::move(b.model());
}

TEST(OnnxQdqFusion, FusedIntegerOpsMatchTheGraphAsWrittenWithinOneStep) {
  std::unique_ptr<OnnxSession> fused, reference;
  ASSERT_TRUE(OnnxSession::load_model(qdq_network(), &fused).ok());
  ASSERT_TRUE(OnnxSession::load_model(qdq_network(), &reference, {false}).ok());
  EXPECT_NE(fused->plan_summary().find("4 quantized patterns as integer ops"), std::string::npos) << fused->plan_summary();
  for (const std::string& line : fused->plan_lines()) EXPECT_EQ(line.find("DequantizeLinear  w"), std::string::npos) << line;
  std::mt19937 rng(9);
  std::uniform_real_distribution<float> u(-2.5f, 2.5f);
  int differing = 0, total = 0;
  for (int64_t batch : {1, 3}) {
    OnnxValue x;
    ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {batch, 3, 6, 6}, &x).ok());
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = u(rng);
    std::vector<OnnxValue> got, want;
    const Status st = fused->run({x}, &got);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_TRUE(reference->run({x}, &want).ok());
    ASSERT_EQ(got[0].shape(), (OnnxShape{batch, 6}));
    for (int64_t i = 0; i < got[0].numel(); ++i) {
      const float d = std::fabs(got[0].data<float>()[i] - want[0].data<float>()[i]);
      EXPECT_LE(d, 0.03f * 1.01f) << "element " << i;  // at most one step of the output scale
      differing += d > 0;
      ++total;
    }
  }
  EXPECT_LE(differing, total / 4) << "rounding should rarely differ";
}

TEST(OnnxQdqFusion, UnmatchedPatternsRunAsWrittenWithWeightsFolded) {
  // The Conv's result has a second reader, so it cannot be fused; its weight is still dequantized once, at load.
  OnnxModel m = qdq_network();
  for (OnnxNode& n : m.graph.nodes)
    if (n.op_type == "Relu") n.inputs[0] = "c1";
  OnnxNode keep;
  keep.name = "also_reads_c1", keep.op_type = "Identity", keep.inputs = {"c1"}, keep.outputs = {"c1_copy"};
  m.graph.nodes.push_back(std::move(keep));
  OnnxValueInfo o;
  o.name = "c1_copy";
  m.graph.outputs.push_back(o);
  std::unique_ptr<OnnxSession> s;
  ASSERT_TRUE(OnnxSession::load_model(std::move(m), &s).ok());
  EXPECT_NE(s->plan_summary().find("3 quantized patterns as integer ops"), std::string::npos) << s->plan_summary();
  for (const std::string& line : s->plan_lines()) EXPECT_EQ(line.find("DequantizeLinear  w"), std::string::npos) << line;
}

}  // namespace
}  // namespace kiln
