// ONNX control flow through the session, beyond ONNX's own conformance cases
// (onnx_conformance_test.cc runs those): values read from two scopes out, a
// sequence built in a Loop, and malformed control flow (bodies with wrong
// input or output counts, dangling outer names, unsupported ops inside a
// body, a Loop that could never end, sequences given to tensor ops, random
// mutations of a body), each refused with a clear error and never a crash.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "io/onnx_attributes.h"
#include "onnx/session.h"
#include "onnx_test_graphs.h"

namespace kiln {
namespace {

OnnxValueInfo info(const std::string& name, DataType t = DataType::kUndefined,
                   OnnxValueKind kind = OnnxValueKind::kTensor) {
  OnnxValueInfo v;
  v.name = name, v.kind = kind, v.elem_type = t;
  return v;
}

OnnxAttribute graph_attr(const std::string& name, OnnxGraph g) {
  OnnxAttribute a = onnx_attr(name, OnnxAttributeType::kGraph);
  a.g = std::make_unique<OnnxGraph>(std::move(g));
  return a;
}

OnnxTensor int64_tensor(const std::string& name, std::vector<int64_t> v) {
  OnnxTensor t;
  t.name = name, t.data_type = DataType::kInt64, t.dims = {};
  t.data.resize(8 * v.size());
  std::memcpy(t.data.data(), v.data(), t.data.size());
  if (v.size() != 1) t.dims = {int64_t(v.size())};
  return t;
}

// acc = 0; for i in range(n): acc = (i % 2 == 0) ? acc + x : acc * x;  also each acc into a sequence.
// The If's branches read `acc` (the Loop body's input) and `x` (the main graph's input), two scopes out.
OnnxModel nested_model() {
  OnnxModel m;
  m.ir_version = 8;
  m.opset_imports.push_back({"", 16});
  OnnxGraph then_g, else_g, body;
  add_node(&then_g, "add", "Add", {"acc_in", "x"}, {"then_out"});
  then_g.outputs.push_back(info("then_out"));
  add_node(&else_g, "mul", "Mul", {"acc_in", "x"}, {"else_out"});
  else_g.outputs.push_back(info("else_out"));
  body.inputs = {info("i", DataType::kInt64), info("cond_in", DataType::kBool), info("acc_in"),
                 info("seq_in", DataType::kFloat32, OnnxValueKind::kSequence)};
  body.initializers.push_back(int64_tensor("two", {2}));
  body.initializers.push_back(int64_tensor("zero", {0}));
  add_node(&body, "mod", "Mod", {"i", "two"}, {"r"});
  add_node(&body, "even", "Equal", {"r", "zero"}, {"is_even"});
  std::vector<OnnxAttribute> branches;
  branches.push_back(graph_attr("then_branch", std::move(then_g)));
  branches.push_back(graph_attr("else_branch", std::move(else_g)));
  add_node(&body, "if", "If", {"is_even"}, {"acc_out"}, std::move(branches));
  add_node(&body, "keep", "Identity", {"cond_in"}, {"cond_out"});
  add_node(&body, "insert", "SequenceInsert", {"seq_in", "acc_out"}, {"seq_out"});
  body.outputs = {info("cond_out"), info("acc_out"), info("seq_out"), info("acc_out")};
  OnnxGraph& g = m.graph;
  g.inputs = {info("x", DataType::kFloat32), info("n", DataType::kInt64)};
  g.initializers.push_back(int64_tensor("unused", {1}));
  add_node(&g, "zeros", "Mul", {"x", "x"}, {"sq"});
  add_node(&g, "init", "Sub", {"sq", "sq"}, {"acc0"});
  add_node(&g, "empty", "SequenceEmpty", {}, {"seq0"});
  std::vector<OnnxAttribute> loop_attrs;
  loop_attrs.push_back(graph_attr("body", std::move(body)));
  add_node(&g, "loop", "Loop", {"n", "", "acc0", "seq0"}, {"acc", "seq", "accs"}, std::move(loop_attrs));
  add_node(&g, "stack", "ConcatFromSequence", {"seq"}, {"stacked"}, onnx_attrs(onnx_int_attr("axis", 0), onnx_int_attr("new_axis", 1)));
  g.outputs = {info("acc"), info("stacked"), info("accs")};
  return m;
}

OnnxValue floats(std::vector<float> v) {
  OnnxValue out;
  EXPECT_TRUE(OnnxValue::make(DataType::kFloat32, {int64_t(v.size())}, &out).ok());
  std::memcpy(out.raw(), v.data(), 4 * v.size());
  return out;
}

OnnxValue int64_scalar(int64_t v) {
  OnnxValue out;
  EXPECT_TRUE(OnnxValue::make(DataType::kInt64, {}, &out).ok());
  out.data<int64_t>()[0] = v;
  return out;
}

std::string load_error(OnnxModel m) {
  std::unique_ptr<OnnxSession> s;
  const Status st = OnnxSession::load_model(std::move(m), &s);
  return st.ok() ? "" : st.message();
}

std::string run_error(OnnxModel m, const std::vector<OnnxValue>& feeds) {
  std::unique_ptr<OnnxSession> s;
  const Status st = OnnxSession::load_model(std::move(m), &s);
  if (!st.ok()) return "load: " + st.message();
  std::vector<OnnxValue> out;
  const Status r = s->run(feeds, &out);
  return r.ok() ? "" : r.message();
}

OnnxGraph& loop_body(OnnxModel* m) {
  for (OnnxNode& n : m->graph.nodes)
    if (n.op_type == "Loop") return *n.attributes[0].g;
  throw std::logic_error("no Loop");
}

TEST(OnnxControlFlow, ValuesFromTwoScopesOutAndASequenceBuiltInALoop) {
  for (bool optimize : {true, false}) {
    std::unique_ptr<OnnxSession> s;
    ASSERT_TRUE(OnnxSession::load_model(nested_model(), &s, {optimize}).ok());
    const std::vector<float> x = {1.5f, -2.0f, 0.5f};
    for (int64_t n : {0, 1, 5}) {
      std::vector<OnnxValue> out;
      const Status st = s->run({floats(x), int64_scalar(n)}, &out);
      if (n == 0) {  // no iteration: nothing to stack from an empty sequence
        EXPECT_NE(st.message().find("cannot concatenate an empty sequence"), std::string::npos) << st.message();
        continue;
      }
      ASSERT_TRUE(st.ok()) << st.message();
      std::vector<float> acc(3, 0.0f), history;
      for (int64_t i = 0; i < n; ++i) {
        for (size_t k = 0; k < 3; ++k) acc[k] = i % 2 == 0 ? acc[k] + x[k] : acc[k] * x[k];
        history.insert(history.end(), acc.begin(), acc.end());
      }
      ASSERT_EQ(out[0].shape(), (OnnxShape{3}));
      for (size_t k = 0; k < 3; ++k) EXPECT_FLOAT_EQ(out[0].data<float>()[k], acc[k]);
      ASSERT_EQ(out[1].shape(), (OnnxShape{n, 3}));
      ASSERT_EQ(out[2].shape(), (OnnxShape{n, 3}));
      for (size_t k = 0; k < history.size(); ++k) {
        EXPECT_FLOAT_EQ(out[1].data<float>()[k], history[k]);
        EXPECT_FLOAT_EQ(out[2].data<float>()[k], history[k]);
      }
    }
  }
}

TEST(OnnxControlFlow, MalformedControlFlowGetsClearErrors) {
  const std::vector<OnnxValue> feeds = {floats({1, 2, 3}), int64_scalar(3)};
  {
    OnnxModel m = nested_model();
    loop_body(&m).nodes[0].inputs[1] = "nowhere";  // a name no scope defines
    EXPECT_NE(load_error(std::move(m)).find("node 'loop' (Loop) reads 'nowhere'"), std::string::npos);
  }
  {
    OnnxModel m = nested_model();
    loop_body(&m).nodes[0].op_type = "Frobnicate";
    EXPECT_NE(load_error(std::move(m)).find("operators Kiln does not support: Frobnicate"), std::string::npos);
  }
  {
    OnnxModel m = nested_model();
    loop_body(&m).nodes[0].inputs.pop_back();  // Mod with one input, inside the body
    const std::string err = load_error(std::move(m));
    EXPECT_NE(err.find("in the 'body' graph of node 'loop' (Loop)"), std::string::npos) << err;
    EXPECT_NE(err.find("node 'mod' (Mod) has 1 inputs"), std::string::npos) << err;
  }
  {
    OnnxModel m = nested_model();
    loop_body(&m).outputs.pop_back();
    const std::string err = run_error(std::move(m), feeds);
    EXPECT_NE(err.find("Loop node 'loop': its body takes 4 inputs and gives 3 outputs"), std::string::npos) << err;
  }
  {
    OnnxModel m = nested_model();
    m.graph.nodes[3].inputs[0] = "";  // neither a trip count nor a condition
    EXPECT_NE(run_error(std::move(m), feeds).find("would never end"), std::string::npos);
  }
  {
    OnnxModel m = nested_model();
    loop_body(&m).nodes[2].inputs[0] = "r";  // If on an int64 instead of a bool
    EXPECT_NE(run_error(std::move(m), feeds).find("cond must be a bool tensor of one element"), std::string::npos);
  }
  {
    OnnxModel m = nested_model();
    m.graph.nodes[4].op_type = "Relu";  // a tensor op given the sequence
    m.graph.nodes[4].attributes.clear();
    const std::string err = run_error(std::move(m), feeds);
    EXPECT_NE(err.find("Relu node 'stack': input 0 is a sequence of float32; this operator takes tensors"), std::string::npos) << err;
  }
}

TEST(OnnxControlFlow, RandomMutationsOfABodyLoadWithAnErrorOrRun) {
  const std::vector<std::string> ops = {"Add", "Mul", "Identity", "If", "Loop", "SequenceInsert", "SequenceAt", "Equal",
                                        "Mod", "Relu", "ConcatFromSequence", "SequenceEmpty", "Optional", "OptionalGetElement"};
  const std::vector<std::string> names = {"i", "cond_in", "acc_in", "seq_in", "r", "is_even", "acc_out", "x", "n", "", "two", "zero", "nowhere"};
  std::mt19937 rng(7);
  MutantCounts counts;
  for (int trial = 0; trial < 1500; ++trial) {
    OnnxModel m = nested_model();
    OnnxGraph& body = loop_body(&m);
    for (int k = 0, count = 1 + int(rng() % 3); k < count; ++k) {
      OnnxNode& n = body.nodes[rng() % body.nodes.size()];
      switch (rng() % 7) {
        case 0: if (!n.inputs.empty()) n.inputs.pop_back(); break;
        case 1: n.inputs.push_back(names[rng() % names.size()]); break;
        case 2: if (!n.inputs.empty()) n.inputs[rng() % n.inputs.size()] = names[rng() % names.size()]; break;
        case 3: n.op_type = ops[rng() % ops.size()]; break;
        case 4: body.outputs[rng() % body.outputs.size()].name = names[rng() % names.size()]; break;
        case 5: if (!n.outputs.empty()) n.outputs[0] = names[rng() % names.size()]; break;
        default: body.inputs.pop_back(); break;
      }
    }
    load_and_run_mutant(std::move(m), {floats({1, 2, 3}), int64_scalar(3)}, &counts);
  }
  EXPECT_GT(counts.load_errors + counts.run_errors, 1000);
  std::printf("[malformed control flow] 1500 mutations: %d refused at load, %d failed cleanly when run, %d ran\n",
              counts.load_errors, counts.run_errors, counts.ran);
}

}  // namespace
}  // namespace kiln
