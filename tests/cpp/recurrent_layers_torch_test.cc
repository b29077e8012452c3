// The recurrent layers (SimpleRNN, LSTM, GRU, Bidirectional, TimeDistributed)
// against PyTorch, for the cases in tests/fixtures/layers_recurrent (written by
// scripts/make_layer_fixtures_recurrent.py, which spells out TF.js's cells,
// weight layouts, goBackwards and merge modes): predict() through a one-layer
// Model, the output and the gradients of sum(y * r) through the layer's graph
// (backpropagation through time), and Model::gradients. Within 1e-4 relative
// (model gradients 1e-3); the driver is tests/cpp/layer_fixture.h.
#include <gtest/gtest.h>

#include "layer_fixture.h"

namespace kiln {
namespace {

using namespace layer_test;

constexpr size_t kMinCases = 20;

TEST(RecurrentLayersTorch, ForwardMatchesPredict) { for_each_fixture("recurrent", kMinCases, "predict", check_predict); }

TEST(RecurrentLayersTorch, GradientsMatch) { for_each_fixture("recurrent", kMinCases, "gradient", check_gradients); }

TEST(RecurrentLayersTorch, ModelGradientsMatch) {
  for_each_fixture("recurrent", kMinCases, "model-gradient", check_model_gradients);
}

}  // namespace
}  // namespace kiln
