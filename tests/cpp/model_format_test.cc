// The .kiln model file: round trips (bit-identical weights, predictions and
// optimizer state), the size bound, and hostile input: truncations, random
// bytes, corrupted headers and tables, absurd sizes, flipped weight bits. A
// bad file must give a Status that names the problem; it must never crash or
// read out of bounds (every buffer handed to the decoder is a heap block of
// exactly the stated size, so AddressSanitizer sees any over-read).
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "api/model.h"
#include "core/rng.h"
#include "io/crc32.h"
#include "io/model_format.h"
#include "kiln/kiln.h"

namespace kiln {
namespace {

// Field offsets of the format (src/io/model_format.cc).
constexpr size_t kOffVersion = 8, kOffFlags = 12, kOffFileSize = 16, kOffCrc = 24, kOffArch = 28, kOffCount = 32,
                 kOffTable = 40, kOffDataStart = 48, kHeader = 64, kEntry = 32;
constexpr size_t kOffInputDim = kHeader, kOffNumLayers = kHeader + 4, kOffLayers = kHeader + 8;
const char kPrefix[] = "invalid Kiln model file: ";

template <typename T>
T rd(const std::vector<uint8_t>& b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof(T));
  return v;
}
template <typename T>
void wr(std::vector<uint8_t>& b, size_t at, T v) {
  std::memcpy(b.data() + at, &v, sizeof(T));
}

// Recomputes the checksum, so a test can reach the checks behind it.
void fix_crc(std::vector<uint8_t>& b) {
  wr<uint32_t>(b, kOffCrc, 0);
  wr<uint32_t>(b, kOffCrc, crc32(b.data(), b.size()));
}

// Decodes from a heap block of exactly `n` bytes.
Status decode_exact(const uint8_t* data, size_t n, std::unique_ptr<Model>* out) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[n]);
  if (n) std::memcpy(copy.get(), data, n);
  return decode_model(copy.get(), n, out);
}
Status decode_exact(const std::vector<uint8_t>& b, std::unique_ptr<Model>* out) { return decode_exact(b.data(), b.size(), out); }

// The decode must fail with "invalid Kiln model file: <reason>", the reason
// containing `keyword` when one is given.
::testing::AssertionResult rejected(const std::vector<uint8_t>& b, const std::string& keyword = "") {
  std::unique_ptr<Model> m;
  Status st = decode_exact(b, &m);
  if (st.ok()) return ::testing::AssertionFailure() << "a bad file of " << b.size() << " bytes was accepted";
  if (m) return ::testing::AssertionFailure() << "a failed decode produced a model";
  const std::string& msg = st.message();
  if (msg.compare(0, sizeof kPrefix - 1, kPrefix) != 0 || msg.size() <= sizeof kPrefix + 3)
    return ::testing::AssertionFailure() << "message does not name the problem: '" << msg << "'";
  if (!keyword.empty() && msg.find(keyword) == std::string::npos)
    return ::testing::AssertionFailure() << "message '" << msg << "' does not mention '" << keyword << "'";
  return ::testing::AssertionSuccess();
}

std::unique_ptr<Model> make_model(int64_t input_dim, const std::vector<DenseLayerSpec>& layers, uint64_t seed) {
  std::unique_ptr<Model> m;
  Status st = Model::create_dense(input_dim, layers, seed, &m);
  if (!st.ok()) throw std::runtime_error(st.message());
  return m;
}

std::vector<DenseLayerSpec> small_layers() {
  std::vector<DenseLayerSpec> l(3);
  l[0].units = 16, l[0].activation = Activation::kRelu;
  l[1].units = 7, l[1].activation = Activation::kTanh, l[1].use_bias = false;
  l[2].units = 4, l[2].activation = Activation::kSoftmax;
  return l;
}

struct Batch {
  std::vector<float> x, y;
  int64_t n;
};

Batch random_batch(const Model& m, LossKind loss, int64_t n, uint64_t seed) {
  Rng rng(seed);
  Batch b;
  b.n = n;
  const int64_t out = m.output_dim();
  b.x.resize(size_t(n * m.input_dim()));
  for (float& v : b.x) v = float(rng.normal());
  for (int64_t r = 0; r < n; ++r) {
    const uint32_t k = rng.below(uint32_t(out));
    if (loss == LossKind::kSparseCategoricalCrossentropy) {
      b.y.push_back(float(k));
    } else {
      for (int64_t c = 0; c < out; ++c) b.y.push_back(loss == LossKind::kMeanSquaredError ? float(rng.normal()) : float(c == k));
    }
  }
  return b;
}

TrainingConfig config_for(int which) {
  TrainingConfig c;
  OptimizerConfig& o = c.optimizer;
  switch (which) {
    case 0: o.learning_rate = 0.05f; break;                                  // sgd
    case 1: o.learning_rate = 0.05f, o.momentum = 0.9f; break;               // momentum
    case 2: o.learning_rate = 0.05f, o.momentum = 0.8f, o.nesterov = true; break;
    case 3: o.kind = OptimizerKind::kAdam, o.learning_rate = 0.01f, o.beta1 = 0.85f, o.beta2 = 0.99f, o.epsilon = 1e-6f; break;
    case 4: o.kind = OptimizerKind::kAdamW, o.learning_rate = 0.01f, o.weight_decay = 0.05f; break;
    case 5: o.kind = OptimizerKind::kAdamax, o.learning_rate = 0.01f, o.decay = 0.01f, o.clip_norm = 0.5f; break;
    case 6: o.kind = OptimizerKind::kAdagrad, o.learning_rate = 0.05f, o.initial_accumulator = 0.2f; break;
    case 7: o.kind = OptimizerKind::kAdadelta, o.learning_rate = 1.0f, o.rho = 0.9f, o.clip_value = 0.1f; break;
    case 8: o.kind = OptimizerKind::kRmsprop, o.learning_rate = 0.01f, o.rho = 0.9f, o.momentum = 0.5f, o.centered = true; break;
    case 9:
      o.kind = OptimizerKind::kRmsprop, o.learning_rate = 0.01f, o.rho = 0.8f, o.centered = true, o.global_clipnorm = 0.3f;
      o.schedule.kind = ScheduleKind::kCosine, o.schedule.decay_steps = 5, o.schedule.alpha = 0.2f;
      break;
    case 10:
      o.kind = OptimizerKind::kAdam, o.learning_rate = 0.02f;
      o.schedule.kind = ScheduleKind::kPiecewise, o.schedule.boundaries = {1, 3, 7}, o.schedule.values = {0.02f, 0.01f, 0.005f, 0.001f};
      break;
    default:
      o.learning_rate = 0.05f, o.momentum = 0.9f;
      o.schedule.kind = ScheduleKind::kExponential, o.schedule.decay_steps = 2, o.schedule.decay_rate = 0.7f, o.schedule.staircase = true;
  }
  c.loss = LossKind(which % 3);  // categorical, sparse, mean squared error: what random_batch makes
  return c;
}
constexpr int kNumConfigs = 12;

void expect_same_training_config(const TrainingConfig& a, const TrainingConfig& b) {
  const OptimizerConfig &x = a.optimizer, &y = b.optimizer;
  EXPECT_EQ(a.loss, b.loss);
  EXPECT_EQ(x.kind, y.kind);
  const float fx[] = {x.learning_rate, x.momentum, x.beta1, x.beta2, x.epsilon, x.weight_decay, x.decay, x.initial_accumulator,
                      x.rho, x.clip_value, x.clip_norm, x.global_clipnorm, x.schedule.decay_rate, x.schedule.alpha};
  const float fy[] = {y.learning_rate, y.momentum, y.beta1, y.beta2, y.epsilon, y.weight_decay, y.decay, y.initial_accumulator,
                      y.rho, y.clip_value, y.clip_norm, y.global_clipnorm, y.schedule.decay_rate, y.schedule.alpha};
  for (size_t i = 0; i < sizeof fx / sizeof fx[0]; ++i) EXPECT_EQ(fx[i], fy[i]) << "field " << i;
  EXPECT_EQ(x.nesterov, y.nesterov);
  EXPECT_EQ(x.centered, y.centered);
  EXPECT_EQ(x.schedule.kind, y.schedule.kind);
  EXPECT_EQ(x.schedule.decay_steps, y.schedule.decay_steps);
  EXPECT_EQ(x.schedule.staircase, y.schedule.staircase);
  EXPECT_EQ(x.schedule.boundaries, y.schedule.boundaries);
  EXPECT_EQ(x.schedule.values, y.schedule.values);
}

// A compiled model trained `steps` steps (deterministic).
std::unique_ptr<Model> trained_model(int which, int steps, Batch* batch_out) {
  auto m = make_model(10, small_layers(), 5);
  const TrainingConfig c = config_for(which);
  if (!m->compile(c).ok()) throw std::runtime_error("compile failed");
  Batch b = random_batch(*m, c.loss, 9, 11);
  for (int s = 0; s < steps; ++s) {
    float loss, acc;
    Status st = m->train_batch(b.x.data(), b.y.data(), nullptr, b.n, &loss, &acc);
    if (!st.ok()) throw std::runtime_error(st.message());
  }
  *batch_out = b;
  return m;
}

size_t params_floats(Model& m) {
  size_t n = 0;
  for (size_t i = 0; i < m.num_weights(); ++i) n += size_t(shape_numel(m.weight_shape(i)));
  return n;
}

void expect_same_architecture(Model& a, Model& b) {
  ASSERT_EQ(a.input_dim(), b.input_dim());
  ASSERT_EQ(a.dense_layers().size(), b.dense_layers().size());
  for (size_t i = 0; i < a.dense_layers().size(); ++i) {
    EXPECT_EQ(a.dense_layers()[i].units, b.dense_layers()[i].units);
    EXPECT_EQ(a.dense_layers()[i].activation, b.dense_layers()[i].activation);
    EXPECT_EQ(a.dense_layers()[i].use_bias, b.dense_layers()[i].use_bias);
  }
  ASSERT_EQ(a.num_weights(), b.num_weights());
}

void expect_same_weights(Model& a, Model& b) {
  for (size_t i = 0; i < a.num_weights(); ++i) {
    ASSERT_EQ(a.weight_shape(i), b.weight_shape(i));
    EXPECT_EQ(0, std::memcmp(a.weight_data(i), b.weight_data(i), size_t(shape_numel(a.weight_shape(i))) * 4)) << "weight " << i;
  }
}

void expect_same_slots(Model& a, Model& b) {
  ASSERT_EQ(a.num_slots(), b.num_slots());
  for (int s = 0; s < a.num_slots(); ++s)
    for (size_t i = 0; i < a.num_weights(); ++i)
      EXPECT_EQ(0, std::memcmp(a.slot_data(s, i), b.slot_data(s, i), size_t(shape_numel(a.weight_shape(i))) * 4))
          << "slot " << s << " of weight " << i;
}

void expect_same_predictions(Model& a, Model& b) {
  Rng rng(3);
  std::vector<float> x(size_t(33 * a.input_dim()));
  for (float& v : x) v = float(rng.normal() * 2);
  std::vector<float> pa(size_t(33 * a.output_dim())), pb(pa.size());
  ASSERT_TRUE(a.predict(x.data(), 33, pa.data()).ok());
  ASSERT_TRUE(b.predict(x.data(), 33, pb.data()).ok());
  EXPECT_EQ(0, std::memcmp(pa.data(), pb.data(), pa.size() * 4)) << "predictions differ";
}

bool bitwise_equal_weights(Model& a, Model& b) {
  for (size_t i = 0; i < a.num_weights(); ++i)
    if (std::memcmp(a.weight_data(i), b.weight_data(i), size_t(shape_numel(a.weight_shape(i))) * 4) != 0) return false;
  return true;
}

TEST(ModelFormat, RoundTripWithOptimizerRestoresEverything) {
  for (int which = 0; which < kNumConfigs; ++which) {
    SCOPED_TRACE("optimizer config " + std::to_string(which));
    Batch b;
    auto orig = trained_model(which, 3, &b);
    std::vector<uint8_t> bytes;
    ASSERT_TRUE(encode_model(*orig, true, &bytes).ok());
    std::unique_ptr<Model> loaded;
    Status st = decode_exact(bytes, &loaded);
    ASSERT_TRUE(st.ok()) << st.message();
    expect_same_architecture(*orig, *loaded);
    expect_same_weights(*orig, *loaded);
    expect_same_predictions(*orig, *loaded);
    ASSERT_TRUE(loaded->compiled());
    const TrainingConfig &co = orig->training_config(), &cl = loaded->training_config();
    expect_same_training_config(co, cl);
    EXPECT_EQ(orig->optimizer_step(), 3);
    // (Plain SGD has no state; its file stores step 0, which changes nothing.)
    if (orig->num_slots() > 0) EXPECT_EQ(loaded->optimizer_step(), orig->optimizer_step());
    expect_same_slots(*orig, *loaded);
    EXPECT_EQ(orig->num_slots(), which == 8 ? 3 : loaded->num_slots());  // rmsprop centered + momentum: 3 slots
    // Saving the loaded model gives the same bytes.
    std::vector<uint8_t> again;
    ASSERT_TRUE(encode_model(*loaded, true, &again).ok());
    EXPECT_EQ(bytes, again);
    // One more step on each: bit for bit the same.
    float lo, ao, ll, al;
    ASSERT_TRUE(orig->train_batch(b.x.data(), b.y.data(), nullptr, b.n, &lo, &ao).ok());
    ASSERT_TRUE(loaded->train_batch(b.x.data(), b.y.data(), nullptr, b.n, &ll, &al).ok());
    EXPECT_EQ(lo, ll);
    expect_same_weights(*orig, *loaded);
    expect_same_slots(*orig, *loaded);
    if (orig->num_slots() > 0) EXPECT_EQ(loaded->optimizer_step(), 4);
  }
}

TEST(ModelFormat, RoundTripWithoutOptimizerStartsAFreshOptimizer) {
  for (int which = 0; which < kNumConfigs; ++which) {
    SCOPED_TRACE("optimizer config " + std::to_string(which));
    Batch b;
    auto orig = trained_model(which, 3, &b);
    std::vector<uint8_t> bytes, with_opt;
    ASSERT_TRUE(encode_model(*orig, false, &bytes).ok());
    ASSERT_TRUE(encode_model(*orig, true, &with_opt).ok());
    if (orig->num_slots() > 0) EXPECT_GT(with_opt.size(), bytes.size());
    std::unique_ptr<Model> loaded;
    Status st = decode_exact(bytes, &loaded);
    ASSERT_TRUE(st.ok()) << st.message();
    expect_same_architecture(*orig, *loaded);
    expect_same_weights(*orig, *loaded);
    expect_same_predictions(*orig, *loaded);
    ASSERT_TRUE(loaded->compiled());
    EXPECT_EQ(loaded->training_config().loss, orig->training_config().loss);
    EXPECT_EQ(loaded->optimizer_step(), 0);
    // Reference: the original weights with a freshly compiled optimizer.
    auto fresh = make_model(10, small_layers(), 99);
    for (size_t i = 0; i < orig->num_weights(); ++i)
      ASSERT_TRUE(fresh->set_weight(i, orig->weight_data(i), shape_numel(orig->weight_shape(i))).ok());
    ASSERT_TRUE(fresh->compile(orig->training_config()).ok());
    float l1, a1, l2, a2, l3, a3;
    ASSERT_TRUE(loaded->train_batch(b.x.data(), b.y.data(), nullptr, b.n, &l1, &a1).ok());
    ASSERT_TRUE(fresh->train_batch(b.x.data(), b.y.data(), nullptr, b.n, &l2, &a2).ok());
    EXPECT_EQ(l1, l2);
    expect_same_weights(*loaded, *fresh);
    // ...which, for a stateful optimizer, is not what the original does.
    ASSERT_TRUE(orig->train_batch(b.x.data(), b.y.data(), nullptr, b.n, &l3, &a3).ok());
    if (orig->num_slots() > 0) EXPECT_FALSE(bitwise_equal_weights(*orig, *loaded)) << "state made no difference";
    else expect_same_weights(*orig, *loaded);
  }
}

// A file with one field replaced (and the checksum fixed).
template <typename T>
std::vector<uint8_t> with_field(std::vector<uint8_t> b, size_t at, T v) {
  wr<T>(b, at, v);
  fix_crc(b);
  return b;
}

// Builds, byte by byte from docs/FORMAT.md, the version-1 file of a model
// trained with Adam (a 32-byte training block; slots as roles 1 and 2).
std::vector<uint8_t> version1_file(Model& m) {
  const size_t layers = m.dense_layers().size(), arch = 8 + 8 * layers + 32, count = 3 * m.num_weights();
  const uint64_t table = 64 + arch;
  uint64_t offset = (table + 32 * count + 63) / 64 * 64;
  const uint64_t data = offset;
  std::vector<uint8_t> b(static_cast<size_t>(offset));
  const char magic[8] = {'K', 'I', 'L', 'N', 'M', 'O', 'D', 'L'};
  std::memcpy(b.data(), magic, 8);
  wr<uint32_t>(b, 8, 1);
  wr<uint32_t>(b, 12, 3);
  wr<uint32_t>(b, 28, uint32_t(arch));
  wr<uint32_t>(b, 32, uint32_t(count));
  wr<uint64_t>(b, 40, table);
  wr<uint64_t>(b, 48, data);
  wr<uint32_t>(b, 64, uint32_t(m.input_dim()));
  wr<uint32_t>(b, 68, uint32_t(layers));
  for (size_t l = 0; l < layers; ++l) {
    b[72 + 8 * l] = 1;
    b[72 + 8 * l + 1] = uint8_t(m.dense_layers()[l].activation);
    b[72 + 8 * l + 2] = m.dense_layers()[l].use_bias;
    wr<uint32_t>(b, 72 + 8 * l + 4, uint32_t(m.dense_layers()[l].units));
  }
  const size_t t = 72 + 8 * layers;
  const OptimizerConfig& o = m.training_config().optimizer;
  b[t] = 1;  // adam
  b[t + 1] = uint8_t(m.training_config().loss);
  wr<float>(b, t + 4, o.learning_rate);
  wr<float>(b, t + 12, o.beta1);
  wr<float>(b, t + 16, o.beta2);
  wr<float>(b, t + 20, o.epsilon);
  wr<int64_t>(b, t + 24, m.optimizer_step());
  for (size_t i = 0; i < count; ++i) {
    const uint32_t role = uint32_t(i / m.num_weights()), index = uint32_t(i % m.num_weights());
    const Shape& s = m.weight_shape(index);
    const size_t e = size_t(table + 32 * i);
    b[e] = uint8_t(role);
    b[e + 1] = uint8_t(s.size());
    wr<uint32_t>(b, e + 4, index);
    for (size_t d = 0; d < s.size(); ++d) wr<uint32_t>(b, e + 8 + 4 * d, uint32_t(s[d]));
    wr<uint64_t>(b, e + 24, offset);
    const size_t bytes = size_t(shape_numel(s)) * 4;
    const float* src = role == 0 ? m.weight_data(index) : m.slot_data(int(role) - 1, index);
    b.resize(size_t(offset) + bytes);
    std::memcpy(b.data() + offset, src, bytes);
    offset = (offset + bytes + 63) / 64 * 64;
  }
  b.resize(size_t(offset));
  wr<uint64_t>(b, 16, b.size());
  fix_crc(b);
  return b;
}

TEST(ModelFormat, Version1FileStillLoadsAndContinuesTraining) {
  Batch b;
  auto orig = trained_model(3, 3, &b);  // adam
  const std::vector<uint8_t> v1 = version1_file(*orig);
  std::unique_ptr<Model> loaded;
  Status st = decode_exact(v1, &loaded);
  ASSERT_TRUE(st.ok()) << st.message();
  expect_same_training_config(orig->training_config(), loaded->training_config());
  expect_same_weights(*orig, *loaded);
  expect_same_slots(*orig, *loaded);
  EXPECT_EQ(loaded->optimizer_step(), 3);
  float lo, ao, ll, al;
  ASSERT_TRUE(orig->train_batch(b.x.data(), b.y.data(), nullptr, b.n, &lo, &ao).ok());
  ASSERT_TRUE(loaded->train_batch(b.x.data(), b.y.data(), nullptr, b.n, &ll, &al).ok());
  EXPECT_EQ(lo, ll);
  expect_same_weights(*orig, *loaded);
  // Saving it again writes version 2 (the dense-stack layout).
  std::vector<uint8_t> again;
  ASSERT_TRUE(encode_model(*loaded, true, &again).ok());
  EXPECT_EQ(rd<uint32_t>(again, kOffVersion), 2u);
  // A version-1 block cannot name the newer optimizers.
  std::vector<uint8_t> bad = v1;
  bad[72 + 8 * orig->dense_layers().size()] = 2;
  fix_crc(bad);
  EXPECT_TRUE(rejected(bad, "unknown optimizer"));
}

TEST(ModelFormat, ScheduleBlockCorruptionIsRejectedOrHarmless) {
  Batch b;
  auto m = trained_model(10, 2, &b);  // piecewise schedule: a variable-size training block
  std::vector<uint8_t> f;
  ASSERT_TRUE(encode_model(*m, true, &f).ok());
  const size_t t = kOffLayers + 8 * m->dense_layers().size();
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, t + 60, 4), "architecture section size"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, t + 60, 0xFFFFFFFFu), "boundary count"));
  EXPECT_TRUE(rejected(with_field<int64_t>(f, t + 80 + 8, 0), "boundaries"));  // not increasing
  EXPECT_TRUE(rejected(with_field<float>(f, t + 80 + 24 + 4, -1.0f), "values"));
  EXPECT_TRUE(rejected(with_field<uint8_t>(f, t + 2, 8), "training flags"));
  EXPECT_TRUE(rejected(with_field<uint8_t>(f, t + 3, 9), "schedule"));
  EXPECT_TRUE(rejected(with_field<uint8_t>(f, t, 7), "unknown optimizer"));
  for (size_t pos = t; pos < size_t(rd<uint64_t>(f, kOffTable)); ++pos) {
    std::vector<uint8_t> c = f;
    c[pos] ^= 0x80;
    fix_crc(c);
    std::unique_ptr<Model> out;
    if (decode_exact(c, &out).ok()) {  // accepted: a usable model
      std::vector<float> x0(size_t(out->input_dim()), 0.5f), y0(size_t(out->output_dim()));
      EXPECT_TRUE(out->predict(x0.data(), 1, y0.data()).ok()) << "byte " << pos;
    }
  }
}

TEST(ModelFormat, UncompiledModelRoundTrip) {
  auto orig = make_model(10, small_layers(), 8);
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(encode_model(*orig, true, &bytes).ok());
  std::unique_ptr<Model> loaded;
  Status st = decode_exact(bytes, &loaded);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_FALSE(loaded->compiled());
  expect_same_architecture(*orig, *loaded);
  expect_same_weights(*orig, *loaded);
  expect_same_predictions(*orig, *loaded);
}

TEST(ModelFormat, PublicApiEveryOptimizerTrainsAndRoundTrips) {
  std::vector<float> x(12 * 6), y(12 * 3, 0.0f);
  Rng rng(4);
  for (float& v : x) v = float(rng.normal());
  for (int r = 0; r < 12; ++r) y[size_t(r * 3 + r % 3)] = 1;
  for (const char* name : {"sgd", "momentum", "adam", "adamw", "adamax", "adagrad", "adadelta", "rmsprop"}) {
    SCOPED_TRACE(name);
    Sequential s(6, 21);
    s.add_dense({5, "tanh"}).add_dense({3, "softmax"});
    CompileOptions co;
    co.optimizer = name;
    co.centered = true;
    co.rmsprop_momentum = 0.5f;
    co.clip_norm = 1.0f;
    co.schedule.kind = "cosineDecay";
    co.schedule.decay_steps = 20;
    s.compile(co);
    const float first = s.train_on_batch(x.data(), y.data(), 12).first;
    for (int i = 0; i < 15; ++i) s.train_on_batch(x.data(), y.data(), 12);
    const float last = s.train_on_batch(x.data(), y.data(), 12).first;
    EXPECT_LT(last, first);
    const std::vector<uint8_t> bytes = s.save(true);
    Sequential t = Sequential::load(bytes.data(), bytes.size());
    EXPECT_EQ(t.train_on_batch(x.data(), y.data(), 12), s.train_on_batch(x.data(), y.data(), 12));
    EXPECT_EQ(t.get_weights(), s.get_weights());
  }
  Sequential s(6, 21);
  s.add_dense({3, "softmax"});
  CompileOptions co;
  co.schedule.kind = "linearDecay";
  EXPECT_THROW(s.compile(co), Error);
}

TEST(ModelFormat, PublicApiRoundTripAndErrors) {
  Sequential s(6, 21);
  s.add_dense({5, "sigmoid"}).add_dense({3, "softmax"});
  CompileOptions co;
  co.optimizer = "adam";
  s.compile(co);
  std::vector<float> x(12 * 6), y(12 * 3, 0.0f);
  Rng rng(2);
  for (float& v : x) v = float(rng.normal());
  for (int r = 0; r < 12; ++r) y[size_t(r * 3 + r % 3)] = 1;
  s.train_on_batch(x.data(), y.data(), 12);
  for (bool opt : {false, true}) {
    const std::vector<uint8_t> bytes = s.save(opt);
    Sequential t = Sequential::load(bytes.data(), bytes.size());
    EXPECT_EQ(t.input_dim(), 6);
    EXPECT_EQ(t.output_dim(), 3);
    EXPECT_EQ(t.get_weights(), s.get_weights());
    EXPECT_EQ(t.predict(x.data(), 12), s.predict(x.data(), 12));
  }
  const std::vector<uint8_t> bytes = s.save(true);
  for (size_t n : {size_t(0), size_t(10), size_t(64), bytes.size() - 1}) {
    std::unique_ptr<uint8_t[]> cut(new uint8_t[n]);
    std::memcpy(cut.get(), bytes.data(), n);
    try {
      Sequential::load(cut.get(), n);
      ADD_FAILURE() << "load accepted a file truncated to " << n << " bytes";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(kPrefix), std::string::npos) << e.what();
    }
  }
  EXPECT_THROW(Sequential::load(nullptr, 0), Error);
}

TEST(ModelFormat, FileSizeIsWithinBound) {
  for (int depth : {1, 2, 4, 8}) {
    for (int64_t width : {64, 128, 256}) {
      SCOPED_TRACE("depth " + std::to_string(depth) + " width " + std::to_string(width));
      std::vector<DenseLayerSpec> layers(static_cast<size_t>(depth));
      for (auto& l : layers) l.units = width, l.activation = Activation::kRelu, l.kernel_initializer = Initializer::kZeros;
      layers.back().activation = Activation::kSoftmax;
      auto m = make_model(784, layers, 1);
      const double params = double(params_floats(*m));
      EXPECT_EQ(int64_t(params), m->count_params());
      std::vector<uint8_t> bytes;
      ASSERT_TRUE(encode_model(*m, true, &bytes).ok());  // uncompiled: weights only
      EXPECT_LE(double(bytes.size()), 4 * params * 1.01 + 4096) << bytes.size() << " bytes for " << params << " params";
      EXPECT_GE(double(bytes.size()), 4 * params);
      TrainingConfig c;
      c.optimizer.kind = OptimizerKind::kAdam;
      ASSERT_TRUE(m->compile(c).ok());
      ASSERT_TRUE(encode_model(*m, false, &bytes).ok());
      EXPECT_LE(double(bytes.size()), 4 * params * 1.01 + 4096) << bytes.size() << " bytes for " << params << " params";
      ASSERT_TRUE(encode_model(*m, true, &bytes).ok());  // weights + 2 Adam slots
      EXPECT_LE(double(bytes.size()), 3 * (4 * params * 1.01) + 4096) << bytes.size() << " bytes with Adam state";
    }
  }
}

// A small file with every section: architecture, training config, slots.
std::vector<uint8_t> small_file() {
  Batch b;
  auto m = trained_model(3, 2, &b);  // adam: two slots
  std::vector<uint8_t> bytes;
  if (!encode_model(*m, true, &bytes).ok()) throw std::runtime_error("encode failed");
  return bytes;
}

TEST(ModelFormat, SmallFileDecodes) {
  const std::vector<uint8_t> f = small_file();
  std::unique_ptr<Model> m;
  Status st = decode_exact(f, &m);
  ASSERT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(rd<uint32_t>(f, kOffCount), 3u * 5u);  // 5 weights, 2 slots each
}

TEST(ModelFormat, EveryTruncationIsRejected) {
  const std::vector<uint8_t> f = small_file();
  for (size_t n = 0; n < f.size(); ++n) {
    const std::vector<uint8_t> cut(f.begin(), f.begin() + long(n));
    EXPECT_TRUE(rejected(cut, n < kHeader ? "too short" : "truncated")) << "truncated to " << n;
  }
  std::unique_ptr<Model> m;
  EXPECT_TRUE(decode_exact(f, &m).ok());  // the whole file is fine
}

TEST(ModelFormat, TruncationWithConsistentHeaderIsRejected) {
  // The header's size and checksum are made to agree with the cut, so the
  // table and tensor bounds checks must catch it.
  const std::vector<uint8_t> f = small_file();
  const uint32_t count = rd<uint32_t>(f, kOffCount);
  const uint64_t table = rd<uint64_t>(f, kOffTable);
  uint64_t data_end = 0;  // end of the last tensor's bytes (after it: padding only)
  for (uint32_t i = 0; i < count; ++i) {
    const size_t e = size_t(table + i * kEntry);
    uint64_t numel = 1;
    for (uint8_t d = 0; d < f[e + 1]; ++d) numel *= rd<uint32_t>(f, e + 8 + 4 * d);
    data_end = std::max(data_end, rd<uint64_t>(f, e + 24) + numel * 4);
  }
  ASSERT_LE(data_end, f.size());
  for (size_t n = kHeader; n < f.size(); ++n) {
    std::vector<uint8_t> cut(f.begin(), f.begin() + long(n));
    wr<uint64_t>(cut, kOffFileSize, n);
    fix_crc(cut);
    std::unique_ptr<Model> m;
    Status st = decode_exact(cut, &m);
    if (n < data_end) {
      EXPECT_TRUE(rejected(cut)) << "cut to " << n;
    } else {
      EXPECT_TRUE(st.ok()) << "only padding was cut (" << n << " bytes): " << st.message();
    }
  }
}

TEST(ModelFormat, RandomBytesAreRejected) {
  Rng rng(1234);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> b(rng.below(i < 1000 ? 96 : 1024));
    for (uint8_t& v : b) v = uint8_t(rng.next_u32());
    EXPECT_TRUE(rejected(b)) << "random file " << i;
  }
}

TEST(ModelFormat, ValidMagicWithRandomRestIsRejected) {
  const std::vector<uint8_t> f = small_file();
  Rng rng(99);
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> b(8 + rng.below(600));
    for (uint8_t& v : b) v = uint8_t(rng.next_u32());
    std::memcpy(b.data(), f.data(), 8);
    if (i % 2 == 0) {
      EXPECT_TRUE(rejected(b)) << "magic + random, file " << i;
      continue;
    }
    // Past the first checks: right version, size and checksum, random fields.
    if (b.size() < kHeader) b.resize(kHeader + rng.below(600));
    wr<uint32_t>(b, kOffVersion, kModelFormatVersion);
    wr<uint64_t>(b, kOffFileSize, b.size());
    if (i % 4 == 1) wr<uint32_t>(b, kOffFlags, rng.below(4));
    fix_crc(b);
    EXPECT_TRUE(rejected(b)) << "consistent header + random rest, file " << i;
  }
}

TEST(ModelFormat, EverySingleByteCorruptionOfHeaderAndTableIsRejected) {
  const std::vector<uint8_t> f = small_file();
  const uint64_t data_start = rd<uint64_t>(f, kOffDataStart);
  ASSERT_LT(data_start, f.size());
  for (size_t pos = 0; pos < data_start; ++pos) {
    for (uint8_t x : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xFF)}) {
      std::vector<uint8_t> b = f;
      b[pos] ^= x;
      // A version flipped to another readable one (2 -> 3) fails the checksum instead.
      const bool other_version = pos == 8 && (2 ^ x) >= 1 && (2 ^ x) <= kModelFormatVersion;
      const char* keyword = pos < 8 ? "magic" : pos < 12 && !other_version ? "version" : pos >= 16 && pos < 24 ? "bytes" : "checksum";
      EXPECT_TRUE(rejected(b, keyword)) << "byte " << pos << " ^ " << int(x);
    }
  }
}

TEST(ModelFormat, CorruptionBehindAValidChecksumIsRejectedOrHarmless) {
  // The same corruptions with the checksum recomputed reach the field checks.
  // Fields whose every value is legal (training hyper-parameters, reserved
  // bytes, a tensor offset moved to another aligned place in the data) may
  // decode; structural ones must not. Corruptions that inflate input_dim or
  // units to millions must be refused by the declared-size check, before the
  // decoder allocates anything.
  const std::vector<uint8_t> f = small_file();
  const uint64_t data_start = rd<uint64_t>(f, kOffDataStart), table = rd<uint64_t>(f, kOffTable);
  const uint32_t num_layers = rd<uint32_t>(f, kOffNumLayers), count = rd<uint32_t>(f, kOffCount);
  std::vector<bool> must_fail(size_t(data_start), false);
  auto mark = [&](size_t at, size_t n) {
    for (size_t i = at; i < at + n; ++i) must_fail[i] = true;
  };
  mark(0, 12);                            // magic, version
  mark(kOffFileSize, 8);                  // size
  mark(kOffArch, 8);                      // architecture size, tensor count
  mark(kOffTable, 8);                     // table offset
  mark(kOffInputDim, 8);                  // input dim, layer count
  for (uint32_t l = 0; l < num_layers; ++l) {
    mark(kOffLayers + 8 * l, 1);          // layer type
    mark(kOffLayers + 8 * l + 4, 4);      // units
  }
  for (uint32_t i = 0; i < count; ++i) {
    const size_t e = size_t(table + i * kEntry);
    mark(e, 2);                           // role, rank
    mark(e + 4, 4 + 4 * f[e + 1]);        // index, dims
  }
  // Parameters the (possibly corrupted) architecture declares.
  // (Zero when a dimension is beyond kMaxUnits: such files are cheap to reject.)
  auto declared_params = [&](const std::vector<uint8_t>& b) {
    double total = 0, fan_in = rd<uint32_t>(b, kOffInputDim);
    if (fan_in > double(kMaxUnits)) return 0.0;
    for (uint32_t l = 0; l < num_layers; ++l) {
      const double units = rd<uint32_t>(b, kOffLayers + 8 * l + 4);
      if (units > double(kMaxUnits)) return 0.0;
      total += fan_in * units + units;
      fan_in = units;
    }
    return total;
  };
  int accepted = 0, oversized = 0;
  for (size_t pos = 0; pos < data_start; ++pos) {
    if (pos >= kOffCrc && pos < kOffCrc + 4) continue;
    for (uint8_t x : {uint8_t(0x01), uint8_t(0x80), uint8_t(0xFF)}) {
      std::vector<uint8_t> b = f;
      b[pos] ^= x;
      fix_crc(b);
      if (declared_params(b) > 1e7) {
        ++oversized;  // must be refused before any allocation, by the size check
        EXPECT_TRUE(rejected(b, "declares more weights than the file holds")) << "byte " << pos << " ^ " << int(x);
        continue;
      }
      std::unique_ptr<Model> m;
      Status st = decode_exact(b, &m);
      if (must_fail[pos]) {
        EXPECT_TRUE(rejected(b)) << "byte " << pos << " ^ " << int(x);
      } else if (st.ok()) {
        ++accepted;
        ASSERT_TRUE(m);
        std::vector<uint8_t> again;  // whatever was accepted must be a usable model
        EXPECT_TRUE(encode_model(*m, true, &again).ok());
        std::vector<float> x0(size_t(m->input_dim()), 0.5f), out(size_t(m->output_dim()));
        EXPECT_TRUE(m->predict(x0.data(), 1, out.data()).ok());
      } else {
        EXPECT_TRUE(rejected(b)) << "byte " << pos << " ^ " << int(x);
      }
    }
  }
  EXPECT_GT(accepted, 0);  // reserved bytes exist; the loop did reach the success path
  EXPECT_LE(oversized, 8);  // only the high bytes of input_dim and units were skipped
}

TEST(ModelFormat, AbsurdCountsAndSizesAreRejected) {
  const std::vector<uint8_t> f = small_file();
  const uint64_t table = rd<uint64_t>(f, kOffTable);
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffNumLayers, 0), "layer count"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffNumLayers, uint32_t(kMaxLayers) + 1), "layer count"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffNumLayers, 0xFFFFFFFFu), "layer count"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffNumLayers, 4), "architecture"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffArch, 0xFFFFFFFFu), "architecture"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffArch, 0), "architecture"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffInputDim, 0), "input dimension"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffInputDim, 0xFFFFFFFFu), "input dimension"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffInputDim, uint32_t(kMaxUnits) + 1), "input dimension"));
  for (uint32_t units : {0u, uint32_t(kMaxUnits) + 1, 0x80000000u, 0xFFFFFFFFu})
    EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffLayers + 8 + 4, units), "units")) << units;
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffCount, 0xFFFFFFFFu), "tensors"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffCount, 0), "tensors"));
  EXPECT_TRUE(rejected(with_field<uint64_t>(f, kOffTable, uint64_t(1) << 63), "table"));
  EXPECT_TRUE(rejected(with_field<uint64_t>(f, kOffTable, ~uint64_t(0)), "table"));
  EXPECT_TRUE(rejected(with_field<uint64_t>(f, kOffDataStart, ~uint64_t(0)), "data"));
  EXPECT_TRUE(rejected(with_field<uint64_t>(f, size_t(table) + 24, ~uint64_t(0) - 63), "out of bounds"));
  EXPECT_TRUE(rejected(with_field<uint64_t>(f, size_t(table) + 24, uint64_t(1) << 62), "out of bounds"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, size_t(table) + 4, 0xFFFFFFFFu), "weight index"));
  EXPECT_TRUE(rejected(with_field<uint8_t>(f, size_t(table) + 1, 0xFF), "rank"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, size_t(table) + 8, 0xFFFFFFFFu), "shape"));
  EXPECT_TRUE(rejected(with_field<uint8_t>(f, size_t(table) + kEntry + 4, 0), "duplicates"));
  EXPECT_TRUE(rejected(with_field<int64_t>(f, kOffLayers + 3 * 8 + 72, -1), "step"));
  EXPECT_TRUE(rejected(with_field<float>(f, kOffLayers + 3 * 8 + 4, NAN), "learning rate"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffFlags, 2), "optimizer state"));
  EXPECT_TRUE(rejected(with_field<uint32_t>(f, kOffFlags, 8), "flags"));
}

// A one-layer file whose kernel has input_dim * units weights, both within
// the per-dimension limit but with a product beyond anything allocatable.
std::vector<uint8_t> one_layer_file(uint32_t input_dim, uint32_t units) {
  std::vector<DenseLayerSpec> l(1);
  l[0].units = 3;
  auto m = make_model(4, l, 1);
  std::vector<uint8_t> b;
  if (!encode_model(*m, false, &b).ok()) throw std::runtime_error("encode failed");
  wr<uint32_t>(b, kOffInputDim, input_dim);
  wr<uint32_t>(b, kOffLayers + 4, units);
  fix_crc(b);
  return b;
}

TEST(ModelFormat, OverflowingLayerSizeIsRejectedWithoutCrashing) {
  // 2^24 inputs x 2^24 units = 2^48 weights: each dimension passes its limit,
  // so only the parameter count can reject it (the file against its size, the
  // API against kMaxParams). Run in a child process so a
  // crash fails this test instead of ending the whole run.
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        const std::vector<uint8_t> b = one_layer_file(uint32_t(kMaxUnits), uint32_t(kMaxUnits));
        std::exit(rejected(b, "declares more weights than the file holds") ? 0 : 3);
      },
      ::testing::ExitedWithCode(0), "");
  EXPECT_EXIT(
      {
        // The same through the throwing public API.
        Sequential s(kMaxUnits);
        s.add_dense({kMaxUnits, "linear", true, "zeros"});
        try {
          s.count_params();
        } catch (const Error& e) {
          std::exit(std::string(e.what()).find("too large") != std::string::npos ? 0 : 4);
        }
        std::exit(5);
      },
      ::testing::ExitedWithCode(0), "");
}

// A ~200-byte file that declares 2^28 parameters (1 GB) is refused by the
// declared-size check before the decoder allocates anything for it.
TEST(ModelFormat, HugeDeclaredModelIsRejectedBeforeAllocating) {
  const std::vector<uint8_t> b = one_layer_file(uint32_t(kMaxUnits), 16);
  EXPECT_TRUE(rejected(b, "declares more weights than the file holds"));
}

TEST(ModelFormat, ChecksumCatchesFlippedWeightBits) {
  const std::vector<uint8_t> f = small_file();
  const uint64_t data_start = rd<uint64_t>(f, kOffDataStart);
  // Every bit of the first tensor's first 64 bytes, then random bits anywhere in the data.
  for (size_t bit = 0; bit < 64 * 8; ++bit) {
    std::vector<uint8_t> b = f;
    b[size_t(data_start) + bit / 8] ^= uint8_t(1u << (bit % 8));
    EXPECT_TRUE(rejected(b, "checksum")) << "bit " << bit;
  }
  Rng rng(5);
  for (int i = 0; i < 500; ++i) {
    std::vector<uint8_t> b = f;
    const size_t at = size_t(data_start) + rng.below(uint32_t(f.size() - data_start));
    b[at] ^= uint8_t(1u << rng.below(8));
    EXPECT_TRUE(rejected(b, "checksum")) << "byte " << at;
  }
}

}  // namespace
}  // namespace kiln
