// Malformed ONNX graphs (not malformed bytes: onnx_model_test.cc covers the
// parser) through the session: nodes with too few or too many inputs or
// outputs, missing required inputs, dangling names, cycles, values written
// twice, ops swapped for others. Hand-picked cases must be refused at load
// with the node named; thousands of seeded random mutations of a small CNN
// must each load with an error or run to outputs or an error, never crash.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "io/onnx_attributes.h"
#include "onnx/session.h"
#include "onnx_test_graphs.h"

namespace kiln {
namespace {

OnnxValueInfo float_info(const std::string& name, std::vector<int64_t> dims = {}) {
  OnnxValueInfo v;
  v.name = name, v.kind = OnnxValueKind::kTensor, v.elem_type = DataType::kFloat32;
  v.has_shape = !dims.empty();
  for (int64_t d : dims) {
    OnnxDim od;
    od.value = d;
    v.shape.push_back(od);
  }
  return v;
}

// x [1, 3, 8, 8] -> Conv -> Relu -> MaxPool -> (+ a residual Conv) -> Flatten -> Gemm -> Softmax -> y.
OnnxModel small_cnn() {
  std::mt19937 rng(5);
  OnnxModel m;
  m.ir_version = 8;
  m.opset_imports.push_back({"", 13});
  OnnxGraph& g = m.graph;
  g.inputs.push_back(float_info("x", {1, 3, 8, 8}));
  g.initializers.push_back(random_float_tensor("w1", {4, 3, 3, 3}, &rng));
  g.initializers.push_back(random_float_tensor("b1", {4}, &rng));
  g.initializers.push_back(random_float_tensor("w2", {4, 4, 1, 1}, &rng));
  g.initializers.push_back(random_float_tensor("fc", {5, 64}, &rng));
  g.initializers.push_back(random_float_tensor("fcb", {5}, &rng));
  add_node(&g, "conv", "Conv", {"x", "w1", "b1"}, {"c"}, onnx_attrs(onnx_ints_attr("pads", {1, 1, 1, 1})));
  add_node(&g, "relu", "Relu", {"c"}, {"r"});
  add_node(&g, "pool", "MaxPool", {"r"}, {"p"}, onnx_attrs(onnx_ints_attr("kernel_shape", {2, 2}), onnx_ints_attr("strides", {2, 2})));
  add_node(&g, "conv2", "Conv", {"p", "w2"}, {"c2"});
  add_node(&g, "add", "Add", {"p", "c2"}, {"res"});
  add_node(&g, "flat", "Flatten", {"res"}, {"f"});
  add_node(&g, "gemm", "Gemm", {"f", "fc", "fcb"}, {"g"}, onnx_attrs(onnx_int_attr("transB", 1)));
  add_node(&g, "softmax", "Softmax", {"g"}, {"y"});
  g.outputs.push_back(float_info("y"));
  return m;
}

OnnxNode* node(OnnxModel* m, const std::string& name) {
  for (OnnxNode& n : m->graph.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

// The load error ("" when it loads).
std::string load_error(OnnxModel m) {
  std::unique_ptr<OnnxSession> s;
  const Status st = OnnxSession::load_model(std::move(m), &s);
  return st.ok() ? "" : st.message();
}

TEST(OnnxMalformedGraph, TheBaseModelRuns) {
  std::unique_ptr<OnnxSession> s;
  ASSERT_TRUE(OnnxSession::load_model(small_cnn(), &s).ok());
  OnnxValue x;
  ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {1, 3, 8, 8}, &x).ok());
  std::vector<OnnxValue> out;
  ASSERT_TRUE(s->run({x}, &out).ok());
  EXPECT_EQ(out[0].shape(), (OnnxShape{1, 5}));
}

TEST(OnnxMalformedGraph, BadNodesAreRefusedAtLoadNamingTheNode) {
  struct Case {
    const char* what;
    void (*mutate)(OnnxModel*);
    const char* expected;
  };
  const Case cases[] = {
      {"Gemm with one input", [](OnnxModel* m) { node(m, "gemm")->inputs = {"f"}; },
       "node 'gemm' (Gemm) has 1 inputs; Gemm takes 2 to 3"},
      {"Relu with two inputs", [](OnnxModel* m) { node(m, "relu")->inputs.push_back("c"); },
       "node 'relu' (Relu) has 2 inputs; Relu takes 1"},
      {"Add with one input", [](OnnxModel* m) { node(m, "add")->inputs.pop_back(); }, "node 'add' (Add) has 1 inputs; Add takes 2"},
      {"Softmax with two outputs", [](OnnxModel* m) { node(m, "softmax")->outputs.push_back("y2"); },
       "node 'softmax' (Softmax) has 2 outputs; Softmax gives 1"},
      {"Conv without its data input", [](OnnxModel* m) { node(m, "conv")->inputs[0] = ""; }, "node 'conv' (Conv): input 0 is required"},
      {"a dangling input", [](OnnxModel* m) { node(m, "relu")->inputs[0] = "nowhere"; },
       "node 'relu' (Relu) reads 'nowhere', which no earlier node, input or initializer provides"},
      {"a cycle", [](OnnxModel* m) { node(m, "relu")->inputs[0] = "p"; }, "node 'relu' (Relu) reads 'p'"},
      {"a value written twice", [](OnnxModel* m) { node(m, "conv2")->outputs[0] = "r"; }, "node 'conv2' (Conv) writes 'r'"},
      {"a node overwriting an initializer", [](OnnxModel* m) { node(m, "relu")->outputs[0] = "fc"; }, "node 'relu' (Relu) writes 'fc'"},
      {"an output nothing writes", [](OnnxModel* m) { m->graph.outputs[0].name = "z"; }, "no node produces the output 'z'"},
      {"an unknown op", [](OnnxModel* m) { node(m, "relu")->op_type = "Frobnicate"; }, "operators Kiln does not support: Frobnicate"},
  };
  for (const Case& c : cases) {
    OnnxModel m = small_cnn();
    c.mutate(&m);
    const std::string err = load_error(std::move(m));
    EXPECT_NE(err.find(c.expected), std::string::npos) << c.what << ": got '" << err << "'";
  }
}

TEST(OnnxMalformedGraph, RandomMutationsLoadWithAnErrorOrRun) {
  const std::vector<std::string> ops = {"Relu", "Add", "Mul", "Gemm", "Conv", "MaxPool", "Flatten", "Softmax", "Concat",
                                        "Reshape", "Transpose", "MatMul", "BatchNormalization", "Sigmoid", "GlobalAveragePool",
                                        "Squeeze", "Unsqueeze", "Slice", "Gather", "Split", "Pad", "ReduceMean", "Clip"};
  std::mt19937 rng(2024);
  MutantCounts counts;
  OnnxValue x;
  ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {1, 3, 8, 8}, &x).ok());
  for (int trial = 0; trial < 3000; ++trial) {
    OnnxModel m = small_cnn();
    std::vector<OnnxNode>& nodes = m.graph.nodes;
    const int count = 1 + int(rng() % 3);
    for (int k = 0; k < count; ++k) {
      OnnxNode& n = nodes[rng() % nodes.size()];
      const std::vector<std::string> names = {"x", "c", "r", "p", "c2", "res", "f", "g", "w1", "b1", "fc", "", "nowhere"};
      switch (rng() % 9) {
        case 0: if (!n.inputs.empty()) n.inputs.pop_back(); break;
        case 1: n.inputs.push_back(names[rng() % names.size()]); break;
        case 2: if (!n.inputs.empty()) n.inputs[rng() % n.inputs.size()] = names[rng() % names.size()]; break;
        case 3: n.outputs.push_back("extra" + std::to_string(k)); break;
        case 4: n.op_type = ops[rng() % ops.size()]; break;
        case 5: std::swap(nodes[rng() % nodes.size()], nodes[rng() % nodes.size()]); break;
        case 6: if (!n.outputs.empty()) n.outputs[0] = names[rng() % names.size()]; break;
        case 7: n.attributes.clear(); break;
        default: n.inputs.clear(); break;
      }
    }
    load_and_run_mutant(std::move(m), {x}, &counts);
  }
  // Most mutations break the graph; the check is that none crashed on the way.
  EXPECT_GT(counts.load_errors, 1000);
  std::printf("[malformed graphs] 3000 mutations: %d refused at load, %d failed cleanly when run, %d ran\n",
              counts.load_errors, counts.run_errors, counts.ran);
}

}  // namespace
}  // namespace kiln
