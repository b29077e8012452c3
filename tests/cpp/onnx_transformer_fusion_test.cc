// Transformer fusions (src/onnx/transformer_fusion.cc) on graphs written the
// way PyTorch exports them: LayerNorm as its ReduceMean chain, GELU as its Erf
// chain, Linear as MatMul + Add. Fused and as written (optimizer off) must
// agree within float rounding, the plan must show what was fused, and a
// chain whose inner value has another reader (or is a graph output) must be
// left alone and still agree.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "io/onnx_attributes.h"
#include "onnx/session.h"
#include "onnx_test_graphs.h"

namespace kiln {
namespace {

constexpr int64_t kHidden = 24, kFf = 40;

struct Builder {
  OnnxModel m;
  std::mt19937 rng{13};
  Builder() {
    m.ir_version = 8;
    m.opset_imports.push_back({"", 14});
  }
  void floats(const std::string& name, std::vector<int64_t> dims, float lo = -0.5f, float hi = 0.5f) {
    m.graph.initializers.push_back(random_float_tensor(name, std::move(dims), &rng, lo, hi));
  }
  void scalar(const std::string& name, float v) {
    OnnxTensor t;
    t.name = name, t.data_type = DataType::kFloat32;
    t.data.resize(4);
    std::memcpy(t.data.data(), &v, 4);
    m.graph.initializers.push_back(std::move(t));
  }
  void node(const std::string& op, std::vector<std::string> in, std::string out, std::vector<OnnxAttribute> attrs = {}) {
    OnnxNode n;
    n.name = out, n.op_type = op, n.inputs = std::move(in), n.outputs = {std::move(out)}, n.attributes = std::move(attrs);
    m.graph.nodes.push_back(std::move(n));
  }
  // x -> LayerNorm (PyTorch's chain) -> p + "_ln"
  std::string layer_norm(const std::string& x, const std::string& p) {
    floats(p + "_g", {kHidden}, 0.5f, 1.5f), floats(p + "_b", {kHidden});
    scalar(p + "_two", 2.0f), scalar(p + "_eps", 1e-5f);
    node("ReduceMean", {x}, p + "_mean", onnx_attrs(onnx_ints_attr("axes", {-1})));
    node("Sub", {x, p + "_mean"}, p + "_d");
    node("Pow", {p + "_d", p + "_two"}, p + "_sq");
    node("ReduceMean", {p + "_sq"}, p + "_var", onnx_attrs(onnx_ints_attr("axes", {-1})));
    node("Add", {p + "_var", p + "_eps"}, p + "_ve");
    node("Sqrt", {p + "_ve"}, p + "_std");
    node("Div", {p + "_d", p + "_std"}, p + "_n");
    node("Mul", {p + "_n", p + "_g"}, p + "_s");
    node("Add", {p + "_s", p + "_b"}, p + "_ln");
    return p + "_ln";
  }
  // x -> MatMul(W [k, n]) -> Add(bias, .) -> p + "_lin"
  std::string linear(const std::string& x, int64_t k, int64_t n, const std::string& p) {
    floats(p + "_w", {k, n}), floats(p + "_bias", {n});
    node("MatMul", {x, p + "_w"}, p + "_mm");
    node("Add", {p + "_bias", p + "_mm"}, p + "_lin");
    return p + "_lin";
  }
  // x -> x * 0.5 * (1 + erf(x / sqrt 2)) as PyTorch's nn.GELU exports it
  std::string gelu(const std::string& x, const std::string& p) {
    scalar(p + "_sqrt2", 1.4142135381698608f), scalar(p + "_one", 1.0f), scalar(p + "_half", 0.5f);
    node("Div", {x, p + "_sqrt2"}, p + "_xd");
    node("Erf", {p + "_xd"}, p + "_erf");
    node("Add", {p + "_erf", p + "_one"}, p + "_e1");
    node("Mul", {x, p + "_e1"}, p + "_xe");
    node("Mul", {p + "_xe", p + "_half"}, p + "_gelu");
    return p + "_gelu";
  }
  // GPT-2's tanh form, as its export writes it.
  std::string gelu_tanh(const std::string& x, const std::string& p) {
    scalar(p + "_half", 0.5f), scalar(p + "_three", 3.0f), scalar(p + "_c", 0.044715f), scalar(p + "_k", 0.7978845834732056f),
        scalar(p + "_one", 1.0f);
    node("Mul", {x, p + "_half"}, p + "_h");
    node("Pow", {x, p + "_three"}, p + "_cube");
    node("Mul", {p + "_cube", p + "_c"}, p + "_cs");
    node("Add", {x, p + "_cs"}, p + "_sum");
    node("Mul", {p + "_sum", p + "_k"}, p + "_scaled");
    node("Tanh", {p + "_scaled"}, p + "_tanh");
    node("Add", {p + "_tanh", p + "_one"}, p + "_t1");
    node("Mul", {p + "_h", p + "_t1"}, p + "_gelu");
    return p + "_gelu";
  }
  void io(const std::string& in, std::vector<std::string> outs) {
    OnnxValueInfo i;
    i.name = in, i.kind = OnnxValueKind::kTensor, i.elem_type = DataType::kFloat32;
    m.graph.inputs.push_back(i);
    for (const std::string& o : outs) {
      OnnxValueInfo v;
      v.name = o;
      m.graph.outputs.push_back(v);
    }
  }
};

// A transformer block's feed-forward half: LayerNorm -> Linear -> GELU (erf, or
// GPT-2's tanh form) -> Linear (+ residual).
OnnxModel feed_forward(bool expose_inner, bool tanh_gelu = false) {
  Builder b;
  const std::string ln = b.layer_norm("x", "ln");
  const std::string up = b.linear(ln, kHidden, kFf, "up");
  const std::string h = tanh_gelu ? b.gelu_tanh(up, "act") : b.gelu(up, "act");
  const std::string y = b.linear(h, kFf, kHidden, "down");
  b.node("Add", {"x", y}, "out");
  // expose_inner: the LayerNorm's normalized value and the GELU's Erf are also outputs, so neither may fuse.
  b.io("x", expose_inner ? std::vector<std::string>{"out", "ln_n", "act_erf"} : std::vector<std::string>{"out"});
  return std::move(b.m);
}

void expect_agree(bool expose_inner, const std::string& plan_has, bool tanh_gelu = false) {
  std::unique_ptr<OnnxSession> fused, plain;
  ASSERT_TRUE(OnnxSession::load_model(feed_forward(expose_inner, tanh_gelu), &fused).ok());
  ASSERT_TRUE(OnnxSession::load_model(feed_forward(expose_inner, tanh_gelu), &plain, {false}).ok());
  EXPECT_NE(fused->plan_summary().find(plan_has), std::string::npos) << fused->plan_summary();
  std::mt19937 rng(4);
  std::normal_distribution<float> u(0.0f, 2.0f);
  for (const OnnxShape& shape : {OnnxShape{3, kHidden}, OnnxShape{2, 5, kHidden}}) {
    OnnxValue x;
    ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, shape, &x).ok());
    for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = u(rng) + 3.0f;  // an offset mean, as residual streams have
    std::vector<OnnxValue> got, want;
    const Status st = fused->run({x}, &got);
    ASSERT_TRUE(st.ok()) << st.message();
    ASSERT_TRUE(plain->run({x}, &want).ok());
    for (size_t o = 0; o < want.size(); ++o) {
      ASSERT_EQ(got[o].shape(), want[o].shape());
      double diff = 0, scale = 0;
      for (int64_t i = 0; i < want[o].numel(); ++i) {
        diff = std::max(diff, double(std::fabs(got[o].data<float>()[i] - want[o].data<float>()[i])));
        scale = std::max(scale, double(std::fabs(want[o].data<float>()[i])));
      }
      EXPECT_LT(diff / scale, 2e-6) << "output " << o << " of shape " << onnx_shape_string(shape);
    }
  }
}

TEST(OnnxTransformerFusion, LayerNormGeluAndLinearFuseAndAgree) {
  // 1 LayerNorm + 1 GELU + 2 Linear (the first with the GELU in its epilogue).
  expect_agree(false, "4 transformer patterns fused");
}

TEST(OnnxTransformerFusion, Gpt2TanhGeluFuses) {
  // 1 LayerNorm + 1 tanh GELU (its own op: the GEMM epilogue has the erf form only) + 2 Linear.
  expect_agree(false, "4 transformer patterns fused", true);
}

TEST(OnnxTransformerFusion, ChainsWithOtherReadersAreLeftAlone) {
  // Only the two Linears fuse (without the GELU, whose Erf is an output).
  expect_agree(true, "2 transformer patterns fused");
}

TEST(OnnxTransformerFusion, GeluOpMatchesItsDefinition) {
  for (const char* approximate : {"none", "tanh"}) {
    Builder b;
    b.node("Gelu", {"x"}, "y", onnx_attrs(onnx_string_attr("approximate", approximate)));
    b.io("x", {"y"});
    b.m.opset_imports[0].version = 18;
    std::unique_ptr<OnnxSession> s;
    ASSERT_TRUE(OnnxSession::load_model(std::move(b.m), &s).ok());
    OnnxValue x;
    ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {101}, &x).ok());
    for (int i = 0; i < 101; ++i) x.data<float>()[i] = -5.0f + 0.1f * float(i);
    std::vector<OnnxValue> y;
    ASSERT_TRUE(s->run({x}, &y).ok());
    for (int i = 0; i < 101; ++i) {
      const double v = x.data<float>()[i];
      const double want = std::string(approximate) == "none"
                              ? 0.5 * v * (1 + std::erf(v / std::sqrt(2.0)))
                              : 0.5 * v * (1 + std::tanh(std::sqrt(2 / M_PI) * (v + 0.044715 * v * v * v)));
      EXPECT_NEAR(y[0].data<float>()[i], want, 2e-6) << approximate << " at " << v;
    }
  }
}

}  // namespace
}  // namespace kiln
