// The inference pass that folds batch norms into the convolutions before them
// (src/passes/fold_batch_norm.cc, op src/ops/batch_norm_fold.cc): the folded
// graph computes what the unfolded one does, with fewer nodes, on plain,
// strided, grouped and depthwise convolutions, with and without bias, gamma
// and beta, with an activation fused or left alone (row-wise ones stay); a
// conv output read twice, and training graphs, are left as they are.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>

#include "core/rng.h"
#include "runtime/plan.h"
#include "ops/conv2d_op.h"
#include "ops/normalization_op.h"
#include "passes/fold_batch_norm.h"

namespace kiln {
namespace {

struct Case {
  Conv2DAttrs conv;
  int64_t in_c;
  bool bias, gamma, beta;
  Activation act;  // after the batch norm (kLinear: none)
};

std::vector<float> random_values(int64_t n, Rng& rng, float lo, float hi) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = lo + (hi - lo) * rng.uniform();
  return v;
}

// Runs `g` with the given externals filled; returns the output.
std::vector<float> run(const Graph& g, std::vector<std::vector<float>>& data, const std::vector<int>& ids, int x,
                       const std::vector<float>& xv, int out) {
  std::vector<float*> externals(g.values().size(), nullptr);
  for (size_t i = 0; i < ids.size(); ++i) externals[size_t(ids[i])] = data[i].data();
  std::unique_ptr<Plan> plan;
  Status s = Plan::compile(g, externals, nullptr, nullptr, &plan);
  EXPECT_TRUE(s.ok()) << s.message();
  if (!plan) return {};
  std::copy(xv.begin(), xv.end(), plan->buffer(x));
  plan->run();
  const float* y = plan->buffer(out);
  return std::vector<float>(y, y + shape_numel(g.values()[size_t(out)].shape));
}

TEST(FoldBatchNorm, FoldedGraphMatchesTheUnfoldedOne) {
  std::vector<Case> cases;
  Conv2DAttrs plain;
  plain.filters = 5, plain.kernel_h = 3, plain.kernel_w = 3, plain.same_padding = true;
  cases.push_back({plain, 3, true, true, true, Activation::kRelu});
  Conv2DAttrs strided = plain;
  strided.stride_h = strided.stride_w = 2, strided.same_padding = false;
  cases.push_back({strided, 4, false, false, true, Activation::kTanh});
  Conv2DAttrs grouped = plain;
  grouped.groups = 2, grouped.filters = 6;
  cases.push_back({grouped, 4, true, true, false, Activation::kLinear});
  Conv2DAttrs depthwise = plain;
  depthwise.groups = 7, depthwise.filters = 7;
  cases.push_back({depthwise, 7, true, false, false, Activation::kRelu6});
  Conv2DAttrs wide = plain;
  wide.filters = 32, wide.kernel_h = wide.kernel_w = 1;
  cases.push_back({wide, 40, true, true, true, Activation::kSoftmax});  // row-wise: stays its own node
  Rng rng(11);
  for (size_t k = 0; k < cases.size(); ++k) {
    SCOPED_TRACE(k);
    const Case& c = cases[k];
    Graph g;
    const Shape xs{2, 9, 7, c.in_c};
    const int x = g.add_input(xs, "x");
    std::vector<int> ids;
    std::vector<std::vector<float>> data;
    auto external = [&](Shape s, float lo, float hi) {
      ids.push_back(g.add_external(s, "w", false));
      data.push_back(random_values(shape_numel(s), rng, lo, hi));
      return ids.back();
    };
    std::vector<int> conv_in{x, external({c.conv.kernel_h, c.conv.kernel_w, c.in_c / c.conv.groups, c.conv.filters}, -0.5f, 0.5f)};
    if (c.bias) conv_in.push_back(external({c.conv.filters}, -0.5f, 0.5f));
    int y;
    Status made = g.op(std::make_shared<Conv2DOp>(c.conv), conv_in, &y);
    ASSERT_TRUE(made.ok()) << made.message();
    std::vector<int> bn_in{y};
    if (c.gamma) bn_in.push_back(external({c.conv.filters}, 0.5f, 1.5f));
    if (c.beta) bn_in.push_back(external({c.conv.filters}, -0.5f, 0.5f));
    bn_in.push_back(external({c.conv.filters}, -0.3f, 0.3f));
    bn_in.push_back(external({c.conv.filters}, 0.2f, 2.0f));
    int z;
    ASSERT_TRUE(g.op(std::make_shared<BatchNormOp>(false, c.gamma, c.beta, 1e-3f, 0.99f), bn_in, &z).ok());
    if (c.act != Activation::kLinear) {  // as a layer's activation is: on [rows, channels], reshaped there and back
      const Shape shape = g.values()[size_t(z)].shape;
      ASSERT_TRUE(g.reshape(z, {shape_numel(shape) / shape.back(), shape.back()}, &z).ok());
      ASSERT_TRUE(g.activation(z, c.act, &z).ok());
      ASSERT_TRUE(g.reshape(z, shape, &z).ok());
    }
    const std::vector<float> xv = random_values(shape_numel(xs), rng, -1, 1);
    const std::vector<float> want = run(g, data, ids, x, xv, z);
    Graph folded = g;
    ASSERT_EQ(fold_batch_norms(folded, {z}), 1);
    const bool act_fused = c.act != Activation::kLinear && !activation_is_rowwise(c.act);
    // + the fold, - the batch norm, and - reshape, activation, reshape when fused.
    EXPECT_EQ(folded.nodes().size(), g.nodes().size() - (act_fused ? 3 : 0));
    const std::vector<float> got = run(folded, data, ids, x, xv, z);
    ASSERT_EQ(got.size(), want.size());
    double diff = 0, scale = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      diff = std::max(diff, double(std::fabs(got[i] - want[i])));
      scale = std::max(scale, double(std::fabs(want[i])));
    }
    EXPECT_LT(diff / scale, 1e-5);
    // The conv's output is read elsewhere too: nothing to fold.
    Graph shared = g;
    EXPECT_EQ(fold_batch_norms(shared, {z, y}), 0);
  }
}

TEST(FoldBatchNorm, TrainingGraphsAreLeftAlone) {
  Graph g;
  const int x = g.add_input({1, 4, 4, 2}, "x");
  Conv2DAttrs a;
  a.filters = 3;
  int y, z;
  ASSERT_TRUE(g.op(std::make_shared<Conv2DOp>(a), {x, g.add_external({1, 1, 2, 3}, "k", true)}, &y).ok());
  std::vector<int> bn{y};
  for (int i = 0; i < 4; ++i) bn.push_back(g.add_external({3}, "p", i < 2));
  ASSERT_TRUE(g.op(std::make_shared<BatchNormOp>(true, true, true, 1e-3f, 0.99f), bn, &z).ok());
  EXPECT_EQ(fold_batch_norms(g, {z}), 0);
}

}  // namespace
}  // namespace kiln
