// The native C++ API (include/kiln/kiln.h) with any layer, by TF.js class name
// and JSON config: a CNN learns to tell horizontal from vertical bars, an LSTM
// learns the sign of a sequence's sum, both round-trip through save/load, and
// bad layers or configs throw errors that name them.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "core/rng.h"
#include "expect_error.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

CompileOptions adam(float lr, const char* loss) {
  CompileOptions co;
  co.optimizer = "adam";
  co.learning_rate = lr;
  co.loss = loss;
  return co;
}

// 8x8 images with one bright bar (row or column) on noise; label 0 = horizontal.
void bars(int64_t n, uint64_t seed, std::vector<float>* x, std::vector<float>* y) {
  Rng r(seed);
  x->assign(size_t(n * 64), 0.0f);
  y->assign(size_t(n), 0.0f);
  for (int64_t i = 0; i < n; ++i) {
    const bool vertical = r.below(2) == 1;
    const int64_t at = r.below(8);
    for (int64_t p = 0; p < 64; ++p) (*x)[size_t(i * 64 + p)] = float(0.3 * r.uniform());
    for (int64_t k = 0; k < 8; ++k) (*x)[size_t(i * 64 + (vertical ? k * 8 + at : at * 8 + k))] = 1.0f;
    (*y)[size_t(i)] = vertical ? 1.0f : 0.0f;
  }
}

TEST(NativeLayersApi, CnnLearnsBarOrientationAndRoundTrips) {
  Sequential m({8, 8, 1}, 5);
  m.add("Conv2D", R"({"filters": 4, "kernelSize": 3, "activation": "relu", "padding": "same"})")
      .add("MaxPooling2D", R"({"poolSize": 2})")
      .add("Flatten")
      .add_dense({2, "softmax"});
  m.compile(adam(0.02f, "sparseCategoricalCrossentropy"));
  EXPECT_EQ(m.output_shape(), (std::vector<int64_t>{2}));
  std::vector<float> x, y, tx, ty;
  bars(256, 1, &x, &y);
  bars(200, 2, &tx, &ty);
  FitOptions fo;
  fo.epochs = 15;
  m.fit(x.data(), y.data(), 256, fo);
  const auto [loss, acc] = m.evaluate(tx.data(), ty.data(), 200);
  EXPECT_GE(acc, 0.95f) << "loss " << loss;
  const std::vector<uint8_t> bytes = m.save(true);
  Sequential back = Sequential::load(bytes.data(), bytes.size());
  EXPECT_EQ(back.predict(tx.data(), 200), m.predict(tx.data(), 200));
  EXPECT_NE(m.summary().find("conv2d_1"), std::string::npos);
}

TEST(NativeLayersApi, LstmLearnsTheSignOfASum) {
  const int64_t n = 256, steps = 6;
  Rng r(3);
  std::vector<float> x(static_cast<size_t>(n * steps)), y(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double sum = 0;
    for (int64_t t = 0; t < steps; ++t) sum += x[size_t(i * steps + t)] = float(r.normal());
    y[size_t(i)] = sum > 0 ? 1.0f : 0.0f;
  }
  Sequential m({steps, 1}, 7);
  m.add("LSTM", R"({"units": 8, "recurrentActivation": "sigmoid"})").add_dense({1, "sigmoid"});
  m.compile(adam(0.02f, "binaryCrossentropy"));
  FitOptions fo;
  fo.epochs = 40;
  m.fit(x.data(), y.data(), n, fo);
  EXPECT_GE(m.evaluate(x.data(), y.data(), n).second, 0.93f);
}

TEST(NativeLayersApi, BadLayersThrowClearErrors) {
  EXPECT_NE(error_of([] { Sequential({4}).add("Dense", "{units: 3}"); }).find("Dense: the config must be a JSON object"),
            std::string::npos);
  EXPECT_NE(error_of([] { Sequential({4}).add("Dense", "[]"); }).find("must be a JSON object"), std::string::npos);
  EXPECT_NE(error_of([] { Sequential({4}).add("RandomWidth", R"({"factor": 0.2})").summary(); }).find("unknown layer class 'RandomWidth'"),
            std::string::npos);
  EXPECT_NE(error_of([] { Sequential({4, 4}).add("Conv2D", R"({"filters": 2, "kernelSize": 3})").summary(); })
                .find("conv2d_1 (Conv2D)"),
            std::string::npos);
  Sequential built({3});
  built.add_dense({2});
  built.summary();
  EXPECT_NE(error_of([&] { built.add("Dense", R"({"units": 1})"); }).find("after the model is built"), std::string::npos);
}

}  // namespace
}  // namespace kiln
