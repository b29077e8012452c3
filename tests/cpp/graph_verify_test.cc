// The graph IR's verifier and printer (src/graph/verify.h, print.h): a graph
// that autodiff and the builders made verifies and prints one line per value
// and node; each broken invariant is an error naming the node.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "graph/graph.h"
#include "graph/print.h"
#include "graph/verify.h"
#include "ops/reshape.h"

namespace kiln {
namespace {

// x[4,3] -> dense (relu) -> reshape [4,2] -> mse loss, with its backward pass and updates.
struct SmallGraph {
  Graph g;
  int x, w, b, h, r, t, loss;
  SmallGraph() {
    x = g.add_input({4, 3}, "x");
    w = g.add_external({3, 2}, "dense/kernel", true);
    b = g.add_external({2}, "dense/bias", true);
    t = g.add_input({4, 2}, "target");
    EXPECT_TRUE(g.gemm(x, w, b, false, false, Activation::kRelu, &h).ok());
    EXPECT_TRUE(g.op(std::make_shared<ReshapeOp>(Shape{4, 2}), {h}, &r).ok());
    EXPECT_TRUE(g.loss(r, t, LossKind::kMeanSquaredError, false, &loss).ok());
  }
};

TEST(GraphVerify, BuiltGraphsVerifyAndPrint) {
  SmallGraph s;
  int seed_grad = 0;
  ASSERT_TRUE(s.g.loss_grad(s.r, s.t, LossKind::kMeanSquaredError, false, &seed_grad).ok());
  std::vector<int> grads;
  ASSERT_TRUE(append_backward(s.g, s.r, seed_grad, &grads).ok());
  ASSERT_GE(grads[size_t(s.w)], 0);
  ASSERT_TRUE(s.g.update(s.w, grads[size_t(s.w)], {}).ok());
  EXPECT_TRUE(verify_graph(s.g).ok()) << verify_graph(s.g).message();

  const std::string text = graph_to_string(s.g);
  EXPECT_NE(text.find("%0 = input \"x\" float32[4, 3]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("%1 = external \"dense/kernel\" float32[3, 2] trainable\n"), std::string::npos) << text;
  EXPECT_NE(text.find("%4 = Gemm relu(%0, %1, %2) : float32[4, 2]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("= Loss meanSquaredError(%5, %3) : float32[1]\n"), std::string::npos) << text;
  EXPECT_NE(text.find("Update(%1, "), std::string::npos) << text;
}

TEST(GraphVerify, ReadingAValueBeforeItIsWrittenIsAnError) {
  SmallGraph s;
  std::vector<Node> nodes = s.g.nodes();
  std::swap(nodes[0], nodes[1]);  // the reshape now reads the gemm's output first
  s.g.set_nodes(nodes);
  const Status st = verify_graph(s.g);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("node 0 (%5 = Reshape(%4) : float32[4, 2]): reads %4 before any node writes it"), std::string::npos)
      << st.message();
}

TEST(GraphVerify, WritingAValueTwiceOrAnInputIsAnError) {
  SmallGraph s;
  std::vector<Node> nodes = s.g.nodes();
  nodes.push_back(nodes[0]);
  s.g.set_nodes(nodes);
  Status st = verify_graph(s.g);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("node 3 (%4 = Gemm relu(%0, %1, %2) : float32[4, 2]): writes %4, which an earlier node wrote"),
            std::string::npos)
      << st.message();

  SmallGraph u;
  nodes = u.g.nodes();
  nodes[0].output = u.x;
  u.g.set_nodes(nodes);
  st = verify_graph(u.g);
  EXPECT_NE(st.message().find("writes %0, an input or parameter"), std::string::npos) << st.message();
}

TEST(GraphVerify, ShapesAndDtypesAreChecked) {
  SmallGraph s;
  s.g.value(s.r).shape = {2, 4};  // what a broken rewrite could leave
  Status st = verify_graph(s.g);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("output 0 holds [2, 4] but its op infers [4, 2]"), std::string::npos) << st.message();

  SmallGraph d;
  d.g.value(d.t).dtype = DataType::kInt64;
  st = verify_graph(d.g);
  EXPECT_NE(st.message().find("value %3 is int64; the graph's ops compute in float32 only"), std::string::npos) << st.message();
}

TEST(GraphVerify, UpdatesOnlyWriteParameters) {
  SmallGraph s;
  std::vector<Node> nodes = s.g.nodes();
  Node update{OpKind::kUpdate, {s.h, s.h}};
  nodes.push_back(update);
  s.g.set_nodes(nodes);
  const Status st = verify_graph(s.g);
  EXPECT_NE(st.message().find("updates a value that is not a parameter"), std::string::npos) << st.message();
}

}  // namespace
}  // namespace kiln
