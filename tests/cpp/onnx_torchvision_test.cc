// torchvision's MobileNetV2, ResNet50, DenseNet121 and InceptionV3, exported
// to ONNX by scripts/make_torchvision_models.py (run by `make test-cpp` into
// build/torchvision), through kiln::onnx::Session: PyTorch's outputs within
// 1e-4 relative (max abs diff / max abs) on a random image.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include "kiln/kiln.h"

namespace kiln {
namespace {

std::vector<char> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<char>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

void expect_matches_torch(const std::string& name, int64_t size) {
  SCOPED_TRACE(name);
  const std::string base = std::string(KILN_TORCHVISION_DIR) + "/" + name;
  const std::vector<char> model = read_file(base + ".onnx"), in = read_file(base + ".in.f32"), out = read_file(base + ".out.f32");
  ASSERT_FALSE(model.empty()) << base << ".onnx is missing: run /usr/bin/python3 scripts/make_torchvision_models.py "
                              << KILN_TORCHVISION_DIR << " (make test-cpp does)";
  ASSERT_EQ(in.size(), size_t(3 * size * size) * sizeof(float));
  onnx::Session s = onnx::Session::load(reinterpret_cast<const uint8_t*>(model.data()), model.size());
  onnx::Tensor x{{1, 3, size, size}, std::vector<float>(in.size() / sizeof(float))};
  std::copy_n(reinterpret_cast<const float*>(in.data()), x.data.size(), x.data.begin());
  const std::vector<onnx::Tensor> y = s.run({x});
  ASSERT_EQ(y.size(), 1u);
  EXPECT_EQ(y[0].shape, (std::vector<int64_t>{1, 1000}));
  const float* want = reinterpret_cast<const float*>(out.data());
  ASSERT_EQ(y[0].data.size(), out.size() / sizeof(float));
  double diff = 0, scale = 0;
  for (size_t i = 0; i < y[0].data.size(); ++i) {
    diff = std::max(diff, double(std::fabs(y[0].data[i] - want[i])));
    scale = std::max(scale, double(std::fabs(want[i])));
  }
  EXPECT_LT(diff / scale, 1e-4) << "max abs diff " << diff << ", max abs " << scale;
}

TEST(OnnxTorchvision, MobileNetV2) { expect_matches_torch("mobilenet_v2", 224); }
TEST(OnnxTorchvision, ResNet50) { expect_matches_torch("resnet50", 224); }
TEST(OnnxTorchvision, DenseNet121) { expect_matches_torch("densenet121", 224); }
TEST(OnnxTorchvision, InceptionV3) { expect_matches_torch("inception_v3", 299); }

}  // namespace
}  // namespace kiln
