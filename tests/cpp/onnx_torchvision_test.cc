// torchvision's MobileNetV2, ResNet50, DenseNet121 and InceptionV3, exported
// to ONNX by scripts/make_torchvision_models.py (run by `make test-cpp` into
// build/torchvision), through kiln::onnx::Session: PyTorch's outputs within
// 1e-4 relative (max abs diff / max abs) on a random image.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kiln/kiln.h"
#include "onnx_reference.h"

namespace kiln {
namespace {

void expect_matches_torch(const std::string& name, int64_t size) {
  SCOPED_TRACE(name);
  const testing::OnnxReference r = testing::torchvision_reference(name, size);
  ASSERT_FALSE(r.model.empty()) << name << ".onnx is missing: run /usr/bin/python3 scripts/make_torchvision_models.py "
                                << KILN_TORCHVISION_DIR << " (make test-cpp does)";
  ASSERT_EQ(r.input.data.size(), size_t(3 * size * size));
  onnx::Session s = onnx::Session::load(r.model.data(), r.model.size());
  const std::vector<onnx::Tensor> y = s.run({r.input});
  ASSERT_EQ(y.size(), 1u);
  EXPECT_EQ(y[0].shape, (std::vector<int64_t>{1, 1000}));
  EXPECT_LT(testing::rel_error(y[0].data, r.output.data), 1e-4);
}

TEST(OnnxTorchvision, MobileNetV2) { expect_matches_torch("mobilenet_v2", 224); }
TEST(OnnxTorchvision, ResNet50) { expect_matches_torch("resnet50", 224); }
TEST(OnnxTorchvision, DenseNet121) { expect_matches_torch("densenet121", 224); }
TEST(OnnxTorchvision, InceptionV3) { expect_matches_torch("inception_v3", 299); }

}  // namespace
}  // namespace kiln
