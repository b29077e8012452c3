// The convolution, pooling and normalization layers against PyTorch, for the
// cases in tests/fixtures/layers_conv (written by scripts/make_layer_fixtures_conv.py):
// predict() through a one-layer Model, the output and the gradients of
// sum(y * r) through the layer's graph, BatchNormalization's moving statistics
// after one training forward, and Model::gradients. Within 1e-4 relative
// (model gradients 1e-3); the driver is tests/cpp/layer_fixture.h.
#include <gtest/gtest.h>

#include "layer_fixture.h"

namespace kiln {
namespace {

using namespace layer_test;

constexpr size_t kMinCases = 55;

TEST(ConvLayersTorch, ForwardMatchesPredict) { for_each_fixture("conv", kMinCases, "predict", check_predict); }

bool inference_only(const LayerFixture& f) { return f.training == 0; }
bool not_inference_only(const LayerFixture& f) { return f.training != 0; }

TEST(ConvLayersTorch, GradientsMatch) {
  for_each_fixture("conv", kMinCases, "gradient", check_gradients, not_inference_only);
}

// Gradients through an inference-mode forward (BatchNormalization with its
// moving statistics, as for a frozen layer or input saliency), kept apart so a
// failure here cannot hide the other cases.
TEST(ConvLayersTorch, InferenceModeGradientsMatch) {
  for_each_fixture("conv", kMinCases, "gradient", check_gradients, inference_only);
}

TEST(ConvLayersTorch, ModelGradientsMatch) {
  for_each_fixture("conv", kMinCases, "model-gradient", check_model_gradients);
}

}  // namespace
}  // namespace kiln
