// Hostile and broken input (issue #15): tiny ONNX files that once crashed,
// trapped or hung the runtime (tests/fixtures/hostile, written by
// scripts/make_hostile_fixtures.py) end with an error naming the node, and
// the same process then runs a normal model to the same answer as before;
// byte counts that wrap in 32 or 64 bits are refused; a zero-size batch runs;
// config errors print the number the user wrote; setWeights refuses NaN and
// a failed fit or train_on_batch leaves every weight as it was.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "core/memory.h"
#include "expect_error.h"
#include "kiln/kiln.h"
#include "model_test_utils.h"
#include "onnx/session.h"

namespace kiln {
namespace {

const std::string kHostile = std::string(KILN_FIXTURE_DIR) + "/hostile/";

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// The load or run error of a fixture ("" when it loads and runs).
std::string load_and_run_error(const std::string& name, const std::vector<OnnxValue>& feeds) {
  const std::vector<uint8_t> bytes = read_bytes(kHostile + name + ".onnx");
  EXPECT_FALSE(bytes.empty()) << name;
  std::unique_ptr<OnnxSession> s;
  Status st = OnnxSession::load(bytes.data(), bytes.size(), &s);
  if (!st.ok()) return st.message();
  std::vector<OnnxValue> out;
  st = s->run(feeds, &out);
  return st.ok() ? "" : st.message();
}

// The small CNN fixture's output for a fixed input: what "still works" means.
std::vector<float> reference_cnn_output() {
  const std::vector<uint8_t> bytes = read_bytes(std::string(KILN_FIXTURE_DIR) + "/onnx_models/cnn.onnx");
  std::unique_ptr<OnnxSession> s;
  EXPECT_TRUE(OnnxSession::load(bytes.data(), bytes.size(), &s).ok());
  if (!s) return {};
  OnnxShape shape;
  for (const OnnxDim& d : s->inputs()[0].shape) shape.push_back(d.value > 0 ? d.value : 2);
  OnnxValue x;
  EXPECT_TRUE(OnnxValue::make(DataType::kFloat32, shape, &x).ok());
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = float(std::sin(0.1 * double(i)));
  std::vector<OnnxValue> out;
  EXPECT_TRUE(s->run({x}, &out).ok());
  return std::vector<float>(out[0].data<float>(), out[0].data<float>() + out[0].numel());
}

TEST(HostileInput, OnnxFilesEndInClearErrorsAndTheRuntimeStaysUsable) {
  const std::vector<float> before = reference_cnn_output();
  ASSERT_FALSE(before.empty());
  OnnxValue scalar = OnnxValue::scalar_f32(2.0f);
  OnnxValue x4;
  ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {4}, &x4).ok());
  OnnxValue x22;
  ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, {2, 2}, &x22).ok());
  struct Case {
    const char* file;
    std::vector<OnnxValue> feeds;
    const char* expected;
  };
  const Case cases[] = {
      {"argmax_scalar", {scalar}, "ArgMax node 'argmax': axis 0 is out of range for rank 0"},
      {"cumsum_scalar", {scalar}, "CumSum node 'cumsum': axis 0 is out of range for rank 0"},
      {"split_scalar", {scalar}, "Split node 'split': axis 0 is out of range for rank 0"},
      {"reshape_overflow", {x4}, "Reshape node 'reshape': shape [1099511627776, 1099511627776, 1099511627776, -1] has too many elements"},
      {"topk_one_output", {x4}, "node 'topk' (TopK) has 1 outputs; TopK gives 2"},
      {"gemm_one_input", {x22}, "node 'gemm' (Gemm) has 1 inputs; Gemm takes 2 to 3"},
  };
  for (const Case& c : cases) {
    const std::string err = load_and_run_error(c.file, c.feeds);
    EXPECT_NE(err.find(c.expected), std::string::npos) << c.file << ": got '" << err << "'";
    EXPECT_EQ(reference_cnn_output(), before) << "after " << c.file;
  }
}

TEST(HostileInput, ByteCountsThatWrapAreRefused) {
  size_t bytes = 0;
  EXPECT_TRUE(checked_bytes(int64_t(1) << 30, 4, 16, &bytes));
  EXPECT_EQ(uint64_t(bytes), (uint64_t(1) << 32) + 16);
  EXPECT_FALSE(checked_bytes(-1, 4, 0, &bytes));
  EXPECT_FALSE(checked_bytes(std::numeric_limits<int64_t>::max(), 8, 0, &bytes));
  EXPECT_FALSE(checked_bytes(int64_t(SIZE_MAX / 4), 4, 16, &bytes));  // the +16 tail alone overflows
  EXPECT_EQ(ByteBuffer::allocate(SIZE_MAX - 64, false), nullptr);     // no heap holds it: null, no abort
  OnnxValue v;
  const Status st = OnnxValue::make(DataType::kInt64, {int64_t(1) << 31, 4}, &v);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("shape [2147483648, 4] is negative or too large for int64 values"), std::string::npos) << st.message();
}

// Kernels' working memory (float64 copies, index tables) is sized by their
// values and allocated through resize_or_error: an error, not an abort. The
// wasm case (a heap that cannot grow) is tests/js/hostile_checks.mjs's
// reduce_copy_too_big; natively no heap holds 2^63 bytes either.
TEST(HostileInput, KernelWorkingMemoryPastTheHeapIsAnError) {
  std::vector<double> v = {1, 2};
  Status st = resize_or_error(&v, int64_t(1) << 60, "a float64 copy");
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "out of memory: a float64 copy of 1152921504606846976 elements needs 9223372036854775808 bytes");
  EXPECT_EQ(v, (std::vector<double>{1, 2}));  // unchanged
  st = resize_or_error(&v, std::numeric_limits<int64_t>::max(), "a float64 copy");
  EXPECT_EQ(st.message(), "out of memory: a float64 copy of 9223372036854775807 elements is too large");
  ASSERT_TRUE(resize_or_error(&v, 3, "a float64 copy", 7.0).ok());
  EXPECT_EQ(v, (std::vector<double>{1, 2, 7}));
}

TEST(HostileInput, ValueByteLimitIsAnErrorNamingTheShape) {
  set_onnx_value_byte_limit(1 << 20);
  OnnxValue v;
  const Status st = OnnxValue::make(DataType::kFloat32, {1024, 1024}, &v);
  set_onnx_value_byte_limit(UINT64_MAX);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("a float32 tensor of shape [1024, 1024] needs 4194320 bytes, over the limit"), std::string::npos)
      << st.message();
  EXPECT_TRUE(OnnxValue::make(DataType::kFloat32, {1024, 1024}, &v).ok());
}

TEST(HostileInput, OnnxRunOnAZeroSizeBatch) {
  const std::vector<uint8_t> bytes = read_bytes(std::string(KILN_FIXTURE_DIR) + "/onnx_models/mlp.onnx");
  std::unique_ptr<OnnxSession> s;
  ASSERT_TRUE(OnnxSession::load(bytes.data(), bytes.size(), &s).ok());
  OnnxShape shape;
  for (const OnnxDim& d : s->inputs()[0].shape) shape.push_back(d.value > 0 ? d.value : 0);
  ASSERT_EQ(shape[0], 0) << "the fixture's batch dimension is symbolic";
  OnnxValue x;
  ASSERT_TRUE(OnnxValue::make(DataType::kFloat32, shape, &x).ok());
  std::vector<OnnxValue> out;
  const Status st = s->run({x}, &out);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(out[0].shape()[0], 0);
  EXPECT_EQ(out[0].numel(), 0);
}

TEST(HostileInput, ConfigErrorsPrintHugeNumbersAsWritten) {
  Sequential m(4);
  const std::string err = error_of([&] { m.add("Dense", R"({"units": 1e21})"); m.predict(std::vector<float>(4).data(), 1); });
  EXPECT_NE(err.find("1e+21"), std::string::npos) << err;
  EXPECT_EQ(err.find("-9223372036854775808"), std::string::npos) << err;
}

// A 4-8-3 classifier with seeded data.
struct SmallClassifier {
  Sequential model = Sequential(int64_t(4), uint64_t(11));
  std::vector<float> x, y;
  explicit SmallClassifier(float lr = 0.1f) {
    DenseOptions hidden;
    hidden.units = 8;
    hidden.activation = "relu";
    model.add_dense(hidden);
    DenseOptions out;
    out.units = 3;
    out.activation = "softmax";
    model.add_dense(out);
    CompileOptions co;
    co.optimizer = "adam";
    co.learning_rate = lr;
    model.compile(co);
    x = testing::random_vec(64 * 4, 5);
    y.assign(64 * 3, 0.0f);
    for (size_t i = 0; i < 64; ++i) y[i * 3 + i % 3] = 1.0f;
  }
};

TEST(HostileInput, SetWeightsRefusesNaNAndChangesNothing) {
  SmallClassifier c;
  const auto before = c.model.get_weights();
  auto bad = before;
  bad[2][1] = std::nanf("");
  const std::string err = error_of([&] { c.model.set_weights(bad); });
  EXPECT_NE(err.find("setWeights: tensor 2 holds nan at index 1"), std::string::npos) << err;
  EXPECT_EQ(c.model.get_weights(), before);
}

TEST(HostileInput, FailedFitLeavesTheModelAsItWas) {
  SmallClassifier c;
  c.model.fit(c.x.data(), c.y.data(), 64, FitOptions{});  // optimizer state exists: rollback must restore it too
  const auto before = c.model.get_weights();
  const std::vector<uint8_t> saved_before = c.model.save(true);
  // A callback that throws in epoch 2: epoch 1's updates are undone.
  FitOptions o;
  o.epochs = 3;
  o.on_epoch_end = [](const EpochLogs& logs) {
    if (logs.epoch == 1) throw Error("stop here");
  };
  EXPECT_EQ(error_of([&] { c.model.fit(c.x.data(), c.y.data(), 64, o); }), "stop here");
  EXPECT_EQ(c.model.get_weights(), before);
  EXPECT_EQ(c.model.save(true), saved_before) << "optimizer state and step count restored too";
  // NaN in the validation data: refused before the first step.
  std::vector<float> vx = c.x;
  vx[7] = std::nanf("");
  FitOptions v;
  v.epochs = 2;
  v.validation_x = vx.data(), v.validation_y = c.y.data(), v.validation_n = 64;
  const std::string err = error_of([&] { c.model.fit(c.x.data(), c.y.data(), 64, v); });
  EXPECT_NE(err.find("contains NaN at sample 1, element 3"), std::string::npos) << err;
  EXPECT_EQ(c.model.get_weights(), before);
  // Freezing a layer from a callback is refused: what fit saved to undo a
  // failure is the trainable state at its start.
  FitOptions f;
  f.epochs = 2;
  f.on_epoch_end = [&](const EpochLogs&) { c.model.set_trainable("dense_1", false); };
  const std::string frozen = error_of([&] { c.model.fit(c.x.data(), c.y.data(), 64, f); });
  EXPECT_NE(frozen.find("layer 'dense_1': trainable cannot change while fit or trainOnBatch runs"), std::string::npos) << frozen;
  EXPECT_EQ(c.model.get_weights(), before);
  // And the model still trains normally afterwards.
  c.model.fit(c.x.data(), c.y.data(), 64, FitOptions{});
  EXPECT_NE(c.model.get_weights(), before);
}

TEST(HostileInput, DivergingTrainOnBatchLeavesTheModelAsItWas) {
  SmallClassifier c(1e30f);  // the first step sends the weights to infinity
  std::vector<float> x = c.x;
  for (float& v : x) v *= 1e20f;
  std::string err;
  for (int step = 0; step < 5 && err.empty(); ++step) {
    const auto w = c.model.get_weights();
    err = [&] {
      try {
        c.model.train_on_batch(x.data(), c.y.data(), 64);
      } catch (const Error& e) {
        return std::string(e.what());
      }
      return std::string();
    }();
    if (err.empty()) continue;
    const auto after = c.model.get_weights();  // bit for bit (the weights before may hold NaN already)
    ASSERT_EQ(after.size(), w.size());
    for (size_t i = 0; i < w.size(); ++i)
      EXPECT_EQ(std::memcmp(after[i].data(), w[i].data(), w[i].size() * sizeof(float)), 0) << "the failed step was undone, weight " << i;
  }
  EXPECT_NE(err.find("training diverged"), std::string::npos) << err;
}

}  // namespace
}  // namespace kiln
