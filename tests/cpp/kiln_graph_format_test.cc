// Kiln graph files (src/io/kiln_graph_format.h, written by `kiln convert`):
//  * float32: the decoded model equals what parse_onnx_model gives for the
//    original file, and a session computes bit-identical outputs;
//  * float16: each weight is the nearest half, checked against the
//    compiler's _Float16 conversion (the CPU's F16C with clang);
//  * int8: each weight lies within half a step of its channel's grid
//    (step = channel max / 127) and on that grid;
//  * the converted PyTorch models still match PyTorch's outputs (fixtures:
//    fp16 within 1e-3, int8 within the bound argued at kInt8Tolerance;
//    torchvision: within 1.5x of PyTorch's own error under the same rounding);
//  * tensors a narrow form cannot hold stay float32;
//  * external data moves into the file;
//  * truncated, mutated and hand-broken files give errors naming the field.
#include <gtest/gtest.h>
#if defined(__clang__)
#include <immintrin.h>  // _cvtss_sh: see compiler_half
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "core/rng.h"
#include "io/crc32.h"
#include "io/kiln_graph_format.h"
#include "io/model_format.h"
#include "io/weight_quantization.h"
#include "onnx/session.h"
#include "onnx_reference.h"

namespace kiln {
namespace {

using testing::OnnxReference;
using testing::rel_error;

std::vector<uint8_t> convert(const std::vector<uint8_t>& onnx, WeightEncoding e, int64_t min = kMinQuantizedElements) {
  std::vector<uint8_t> out;
  const Status s = encode_kiln_graph(onnx.data(), onnx.size(), e, &out, nullptr, min);
  EXPECT_TRUE(s.ok()) << s.message();
  return out;
}

// Decodes from an exactly sized heap copy, so AddressSanitizer sees any over-read.
Status decode_exact(const std::vector<uint8_t>& bytes, OnnxModel* model, std::vector<KilnGraphTensorInfo>* stored = nullptr) {
  std::unique_ptr<uint8_t[]> copy(new uint8_t[bytes.size()]);
  if (!bytes.empty()) std::memcpy(copy.get(), bytes.data(), bytes.size());
  return decode_kiln_graph(copy.get(), bytes.size(), model, stored);
}

std::vector<float> floats(const OnnxTensor& t) {
  std::vector<float> x(t.data.size() / 4);
  if (!x.empty()) std::memcpy(x.data(), t.data.data(), t.data.size());
  return x;
}

std::vector<float> run(const std::vector<uint8_t>& file, const onnx::Tensor& input) {
  return onnx::Session::load(file.data(), file.size()).run({input})[0].data;
}

::testing::AssertionResult fails_with(const Status& s, const std::string& keyword) {
  if (s.ok()) return ::testing::AssertionFailure() << "decoded, expected an error containing '" << keyword << "'";
  if (s.message().find(keyword) == std::string::npos)
    return ::testing::AssertionFailure() << "error '" << s.message() << "' lacks '" << keyword << "'";
  return ::testing::AssertionSuccess();
}

void expect_same_model(const OnnxModel& a, const OnnxModel& b) {
  EXPECT_EQ(a.ir_version, b.ir_version);
  EXPECT_EQ(a.producer_name, b.producer_name);
  ASSERT_EQ(a.opset_imports.size(), b.opset_imports.size());
  EXPECT_EQ(a.opset_imports[0].version, b.opset_imports[0].version);
  ASSERT_EQ(a.graph.nodes.size(), b.graph.nodes.size());
  for (size_t i = 0; i < a.graph.nodes.size(); ++i) {
    EXPECT_EQ(a.graph.nodes[i].op_type, b.graph.nodes[i].op_type);
    EXPECT_EQ(a.graph.nodes[i].inputs, b.graph.nodes[i].inputs);
    EXPECT_EQ(a.graph.nodes[i].outputs, b.graph.nodes[i].outputs);
    EXPECT_EQ(a.graph.nodes[i].attributes.size(), b.graph.nodes[i].attributes.size());
  }
  ASSERT_EQ(a.graph.inputs.size(), b.graph.inputs.size());
  ASSERT_EQ(a.graph.outputs.size(), b.graph.outputs.size());
  ASSERT_EQ(a.graph.initializers.size(), b.graph.initializers.size());
  for (size_t i = 0; i < a.graph.initializers.size(); ++i) {
    const OnnxTensor &x = a.graph.initializers[i], &y = b.graph.initializers[i];
    EXPECT_EQ(x.name, y.name);
    EXPECT_EQ(x.data_type, y.data_type);
    EXPECT_EQ(x.dims, y.dims);
    EXPECT_EQ(x.data, y.data) << x.name;
  }
}

OnnxModel parse(const std::vector<uint8_t>& onnx) {
  OnnxModel m;
  EXPECT_TRUE(parse_onnx_model(onnx.data(), onnx.size(), &m).ok());
  return m;
}

TEST(KilnGraphFormat, Float32RoundTripIsExact) {
  for (const char* name : {"mlp", "cnn"}) {
    SCOPED_TRACE(name);
    const OnnxReference r = testing::fixture_reference(name);
    ASSERT_FALSE(r.model.empty());
    const std::vector<uint8_t> file = convert(r.model, WeightEncoding::kFloat32);
    ASSERT_TRUE(is_kiln_graph(file.data(), file.size()));
    EXPECT_FALSE(is_kiln_graph(r.model.data(), r.model.size()));
    OnnxModel decoded;
    std::vector<KilnGraphTensorInfo> stored;
    ASSERT_TRUE(decode_exact(file, &decoded, &stored).ok());
    expect_same_model(parse(r.model), decoded);
    for (const KilnGraphTensorInfo& t : stored) EXPECT_EQ(t.encoding, WeightEncoding::kFloat32);
    EXPECT_EQ(run(file, r.input), run(r.model, r.input));  // bit for bit
  }
}

// Without a lowered threshold the fixtures' tensors (at most 128 elements) stay float32.
TEST(KilnGraphFormat, SmallTensorsAreNotQuantized) {
  const std::vector<uint8_t> onnx = testing::fixture_reference("cnn").model;
  OnnxModel decoded;
  ASSERT_TRUE(decode_exact(convert(onnx, WeightEncoding::kInt8), &decoded).ok());
  expect_same_model(parse(onnx), decoded);
}

// Converts both fixtures with every float32 tensor quantized (threshold 1) and
// hands each one's original and decoded values to `check`.
template <typename Check>
void for_each_quantized(WeightEncoding encoding, Check check) {
  for (const char* name : {"mlp", "cnn"}) {
    SCOPED_TRACE(name);
    const std::vector<uint8_t> onnx = testing::fixture_reference(name).model;
    const OnnxModel original = parse(onnx);
    OnnxModel decoded;
    std::vector<KilnGraphTensorInfo> stored;
    ASSERT_TRUE(decode_exact(convert(onnx, encoding, 1), &decoded, &stored).ok());
    for (size_t i = 0; i < original.graph.initializers.size(); ++i) {
      const OnnxTensor& t = original.graph.initializers[i];
      if (t.data_type != DataType::kFloat32) continue;
      const std::vector<float> w = floats(t), got = floats(decoded.graph.initializers[i]);
      ASSERT_EQ(got.size(), w.size());
      EXPECT_EQ(stored[i].encoding, encoding);
      check(t, w, got, stored[i]);
    }
  }
}

// An independent float -> half -> float conversion (round to nearest even):
// g++'s _Float16, or with clang 14 (no _Float16 on x86, and __fp16 needs a
// runtime helper libgcc lacks) the CPU's own F16C instructions.
#if defined(__clang__)
__attribute__((target("f16c"))) float compiler_half(float x) {
  return _cvtsh_ss(_cvtss_sh(x, _MM_FROUND_TO_NEAREST_INT));
}
#else
float compiler_half(float x) { return float(static_cast<_Float16>(x)); }
#endif

TEST(KilnGraphFormat, Float16WeightsAreTheNearestHalf) {
  for_each_quantized(WeightEncoding::kFloat16, [](const OnnxTensor& t, const std::vector<float>& w,
                                                  const std::vector<float>& got, const KilnGraphTensorInfo& stored) {
    EXPECT_EQ(stored.stored_bytes, w.size() * 2);
    for (size_t k = 0; k < w.size(); ++k) {
      EXPECT_EQ(got[k], compiler_half(w[k])) << t.name << "[" << k << "]";
      EXPECT_LE(std::fabs(got[k] - w[k]), std::ldexp(std::fabs(w[k]), -11) + std::ldexp(1.0, -25));
    }
  });
}

TEST(KilnGraphFormat, Int8WeightsLieOnTheirChannelGrid) {
  for_each_quantized(WeightEncoding::kInt8, [](const OnnxTensor& t, const std::vector<float>& w,
                                               const std::vector<float>& got, const KilnGraphTensorInfo& stored) {
    const size_t channels = t.dims.size() >= 2 ? size_t(t.dims[0]) : 1, per = w.size() / channels;
    EXPECT_EQ(stored.stored_bytes, channels * 4 + w.size());
    for (size_t c = 0; c < channels; ++c) {
      double max_abs = 0;
      for (size_t k = 0; k < per; ++k) max_abs = std::max(max_abs, double(std::fabs(w[c * per + k])));
      const double step = max_abs / 127;
      for (size_t k = c * per; k < (c + 1) * per; ++k) {
        EXPECT_LE(std::fabs(got[k] - w[k]), step / 2 * (1 + 1e-5)) << t.name << "[" << k << "]";
        const double q = got[k] / step;  // an integer in [-127, 127]
        EXPECT_NEAR(q, std::nearbyint(q), 1e-4) << t.name << "[" << k << "]";
        EXPECT_LE(std::fabs(q), 127 + 1e-4);
      }
    }
  });
}

// A tensor a narrow form cannot hold stays float32; the others are narrowed.
// The mlp's first weight gets one value past float16's range (fp16) or a NaN
// (int8), written into the .onnx bytes where that weight's data lies.
TEST(KilnGraphFormat, UnrepresentableTensorsStayFloat32) {
  const std::vector<uint8_t> onnx = testing::fixture_reference("mlp").model;
  const OnnxModel original = parse(onnx);
  const OnnxTensor& first = original.graph.initializers[0];
  ASSERT_EQ(first.data_type, DataType::kFloat32);
  const auto at = std::search(onnx.begin(), onnx.end(), first.data.begin(), first.data.end());
  ASSERT_NE(at, onnx.end());
  for (auto [encoding, value] : {std::pair{WeightEncoding::kFloat16, 70000.0f}, std::pair{WeightEncoding::kInt8, NAN}}) {
    std::vector<uint8_t> edited = onnx;
    std::memcpy(edited.data() + (at - onnx.begin()), &value, 4);
    OnnxModel decoded;
    std::vector<KilnGraphTensorInfo> stored;
    ASSERT_TRUE(decode_exact(convert(edited, encoding, 1), &decoded, &stored).ok());
    EXPECT_EQ(stored[0].encoding, WeightEncoding::kFloat32);
    EXPECT_EQ(decoded.graph.initializers[0].data, parse(edited).graph.initializers[0].data);  // unchanged
    EXPECT_EQ(stored[1].encoding, encoding);
  }
}

TEST(KilnGraphFormat, Int8ZeroChannelsAndExtremes) {
  const float x[6] = {0, 0, 0, -1, 0.25f, 1};  // channel 0 all zero; channel 1 max 1
  float scales[2];
  int8_t q[6];
  quantize_int8(x, 2, 3, scales, q);
  EXPECT_EQ(scales[0], 0.0f);
  EXPECT_EQ(scales[1], 1.0f / 127);
  EXPECT_EQ(std::vector<int>(q, q + 6), (std::vector<int>{0, 0, 0, -127, 32, 127}));  // 0.25 * 127 = 31.75
  float back[6];
  dequantize_int8(q, scales, 2, 3, back);
  EXPECT_EQ(std::vector<float>(back, back + 6), (std::vector<float>{0, 0, 0, -127 * scales[1], 32 * scales[1], 127 * scales[1]}));
}

TEST(KilnGraphFormat, ConvertRefusesAKilnGraphFile) {
  const std::vector<uint8_t> file = convert(testing::fixture_reference("mlp").model, WeightEncoding::kFloat32);
  std::vector<uint8_t> again;
  EXPECT_TRUE(fails_with(encode_kiln_graph(file.data(), file.size(), WeightEncoding::kInt8, &again), "already a Kiln graph file"));
}

// int8 tolerance for the fixtures, every tensor quantized (biases too): each
// weight moves by at most half a step, 1/254 of its channel's largest
// magnitude, i.e. up to 0.4% of a channel's scale. Through the 2-3 layers of
// these models the rounding errors of a dot product partly cancel, and the
// measured output errors are 1.4e-3 (mlp) and 2.7e-3 (cnn); 1e-2 gives room for
// other compilers' rounding while still failing for a wrong scale or channel
// axis (which shifts outputs by tens of percent).
constexpr double kInt8Tolerance = 1e-2;

TEST(KilnGraphFormat, QuantizedFixturesStillMatchPytorch) {
  for (const char* name : {"mlp", "cnn"}) {
    SCOPED_TRACE(name);
    const OnnxReference r = testing::fixture_reference(name);
    const double fp16 = rel_error(run(convert(r.model, WeightEncoding::kFloat16, 1), r.input), r.output.data);
    const double int8 = rel_error(run(convert(r.model, WeightEncoding::kInt8, 1), r.input), r.output.data);
    EXPECT_LT(fp16, 1e-3);
    EXPECT_LT(int8, kInt8Tolerance);
    EXPECT_GT(int8, 0);  // the weights did change
    std::printf("%s: relative error vs PyTorch, float16 %.2e, int8 %.2e\n", name, fp16, int8);
  }
}

Status read_parse_fixture(const std::string& location, std::vector<uint8_t>* bytes) {
  *bytes = testing::read_bytes(std::string(KILN_FIXTURE_DIR) + "/onnx_parse/" + location);
  return bytes->empty() ? Status::error("cannot read " + location) : Status();
}

TEST(KilnGraphFormat, ExternalDataMovesIntoTheFile) {
  const std::vector<uint8_t> onnx = testing::read_bytes(std::string(KILN_FIXTURE_DIR) + "/onnx_parse/external.onnx");
  ASSERT_FALSE(onnx.empty());
  std::vector<uint8_t> file;
  EXPECT_TRUE(fails_with(encode_kiln_graph(onnx.data(), onnx.size(), WeightEncoding::kFloat32, &file), "external data"));
  const OnnxFileReader reader = read_parse_fixture;
  ASSERT_TRUE(encode_kiln_graph(onnx.data(), onnx.size(), WeightEncoding::kFloat32, &file, &reader).ok());
  OnnxModel original = parse(onnx), decoded;
  ASSERT_TRUE(resolve_external_data(&original, reader).ok());
  ASSERT_TRUE(decode_exact(file, &decoded).ok());
  expect_same_model(original, decoded);
  for (const OnnxTensor& t : decoded.graph.initializers) EXPECT_FALSE(t.has_external_data);
}

// ---- hostile files -------------------------------------------------------------

// Rewrites the checksum, so the checks behind it are reached.
void refresh_crc(std::vector<uint8_t>* b) {
  std::memset(b->data() + 24, 0, 4);
  const uint32_t crc = crc32(b->data(), b->size());
  std::memcpy(b->data() + 24, &crc, 4);
}

template <typename T>
void poke(std::vector<uint8_t>* b, size_t at, T v) {
  std::memcpy(b->data() + at, &v, sizeof(T));
  refresh_crc(b);
}

template <typename T>
T peek(const std::vector<uint8_t>& b, size_t at) {
  T v;
  std::memcpy(&v, b.data() + at, sizeof(T));
  return v;
}

TEST(KilnGraphFormat, TruncatedAndMutatedFilesGiveErrors) {
  const std::vector<uint8_t> file = convert(testing::fixture_reference("cnn").model, WeightEncoding::kInt8, 1);
  OnnxModel m;
  for (size_t n = 0; n < file.size(); ++n)
    EXPECT_FALSE(decode_exact(std::vector<uint8_t>(file.begin(), file.begin() + long(n)), &m).ok()) << n;
  std::vector<uint8_t> flipped = file;
  flipped[file.size() / 2] ^= 1;
  EXPECT_TRUE(fails_with(decode_exact(flipped, &m), "checksum mismatch"));
  // Seeded mutations behind a valid checksum: a valid model or an error, never a crash.
  Rng rng(7);
  size_t rejected = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> b = file;
    for (int edits = 1 + int(rng.below(3)); edits > 0; --edits) b[rng.below(uint32_t(b.size()))] = uint8_t(rng.below(256));
    refresh_crc(&b);
    rejected += !decode_exact(b, &m).ok();
  }
  EXPECT_GT(rejected, 100u);
}

TEST(KilnGraphFormat, EveryFieldIsChecked) {
  const std::vector<uint8_t> onnx = testing::fixture_reference("cnn").model;
  const std::vector<uint8_t> file = convert(onnx, WeightEncoding::kInt8, 1);
  const size_t table = size_t(peek<uint64_t>(file, 40));  // first entry: the first initializer
  auto with = [&](auto edit) {
    std::vector<uint8_t> b = file;
    edit(&b);
    OnnxModel m;
    return decode_exact(b, &m);
  };
  OnnxModel m;
  EXPECT_TRUE(fails_with(decode_exact({}, &m), "too short for a header"));
  EXPECT_TRUE(fails_with(with([](auto* b) { (*b)[0] = 'X'; }), "wrong magic"));
  EXPECT_TRUE(fails_with(with([](auto* b) { poke<uint32_t>(b, 8, 3); }), "format version 3"));
  EXPECT_TRUE(fails_with(with([](auto* b) { b->push_back(0); }), "truncated or padded"));
  EXPECT_TRUE(fails_with(with([](auto* b) { poke<uint32_t>(b, 12, 1); }), "unknown flags"));
  EXPECT_TRUE(fails_with(with([](auto* b) { poke<uint32_t>(b, 28, 0xFFFFFFFF); }), "does not fit in the tensor table"));
  EXPECT_TRUE(fails_with(with([](auto* b) { poke<uint64_t>(b, 32, ~uint64_t(0)); }), "ONNX graph section out of bounds"));
  EXPECT_TRUE(fails_with(with([](auto* b) { poke<uint64_t>(b, 32, 10); }), "tensor table offset"));
  EXPECT_TRUE(fails_with(with([](auto* b) { poke<uint64_t>(b, 48, peek<uint64_t>(*b, 48) + 1); }), "data section offset"));
  EXPECT_TRUE(fails_with(with([](auto* b) { poke<uint8_t>(b, 64, 0x07); }), "ONNX graph section: invalid ONNX model"));
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<uint32_t>(b, table, 8); }), "unsupported data type 8"));
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<uint32_t>(b, table, 7); }), "quantized but its data type is not float32"));
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<uint8_t>(b, table + 4, 3); }), "unknown encoding 3"));
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<uint8_t>(b, table + 5, 65); }), "rank 65 is over 64"));
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<uint16_t>(b, table + 6, 1); }), "reserved fields"));
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<uint32_t>(b, table + 8, 0xFFFFFFF0); }), "run past the end of the tensor table"));
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<uint64_t>(b, table + 16, peek<uint64_t>(*b, table + 16) + 1); }),
                         "data out of bounds, misaligned"));
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<uint64_t>(b, table + 16, b->size()); }), "data out of bounds"));
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<uint64_t>(b, table + 24, 1); }), "stores 1 bytes"));
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<int64_t>(b, table + 32, -1); }), "negative dimension -1"));
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<int64_t>(b, table + 32, int64_t(1) << 62); }), "more elements than the file"));
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<float>(b, size_t(peek<uint64_t>(*b, table + 16)), NAN); }), "int8 scale"));
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<float>(b, size_t(peek<uint64_t>(*b, table + 16)), -1.0f); }), "int8 scale"));
  // The errors name the tensor and its table entry.
  EXPECT_TRUE(fails_with(with([&](auto* b) { poke<uint8_t>(b, table + 4, 3); }), "tensor table entry 0"));
}

// The graph section must not bring initializers of its own: they would
// bypass the table's checks. A file whose graph section is a whole .onnx
// file, with an empty tensor table:
TEST(KilnGraphFormat, GraphSectionWithInitializersIsRejected) {
  const std::vector<uint8_t> onnx = testing::fixture_reference("mlp").model;
  std::vector<uint8_t> b = convert(onnx, WeightEncoding::kFloat32);
  b.resize(64);
  b.insert(b.end(), onnx.begin(), onnx.end());
  const uint64_t table = (b.size() + 7) / 8 * 8, data = (table + 63) / 64 * 64;
  b.resize(size_t(data), 0);
  std::memcpy(b.data() + 16, &data, 8);  // file size
  std::memset(b.data() + 28, 0, 4);      // no tensors
  const uint64_t graph = onnx.size();
  std::memcpy(b.data() + 32, &graph, 8);
  std::memcpy(b.data() + 40, &table, 8);
  poke<uint64_t>(&b, 48, data);
  OnnxModel m;
  EXPECT_TRUE(fails_with(decode_exact(b, &m), "holds initializers"));
}

TEST(KilnGraphFormat, OtherLoadersRejectItClearly) {
  const std::vector<uint8_t> file = convert(testing::fixture_reference("mlp").model, WeightEncoding::kFloat32);
  std::unique_ptr<Model> model;
  EXPECT_TRUE(fails_with(decode_model(file.data(), file.size(), &model), "version 256 is an ONNX model (from kiln convert)"));
  // And a Kiln layer model is not taken for a graph file.
  std::vector<uint8_t> layer_file = file;
  poke<uint32_t>(&layer_file, 8, kModelFormatVersion);
  EXPECT_FALSE(is_kiln_graph(layer_file.data(), layer_file.size()));
  OnnxModel m;
  EXPECT_TRUE(fails_with(decode_exact(layer_file, &m), "a Kiln layer model?"));
}

// ---- torchvision (build/torchvision, made by `make test-cpp`) -------------------

// These models have random weights with BatchNorm calibrated on noise, and
// they amplify weight rounding far more than trained ones would: PyTorch
// itself, its Conv/Linear weights rounded the same way, moves its outputs by
// the errors below (scripts/torch_weight_rounding_check.py). Kiln's converted
// files must stay within 1.5x of that (float16 rounds the BatchNorm-folded
// weights of the export, PyTorch's unfolded ones, so the two differ a little;
// per-channel int8 commutes with the fold).
struct TorchRoundingError {
  double fp16, int8;
};

void expect_converted_matches_torch(const std::string& name, int64_t size, TorchRoundingError torch) {
  SCOPED_TRACE(name);
  const OnnxReference r = testing::torchvision_reference(name, size);
  ASSERT_FALSE(r.model.empty()) << name << ".onnx is missing: run /usr/bin/python3 scripts/make_torchvision_models.py "
                                << KILN_TORCHVISION_DIR << " (make test-cpp does)";
  const std::vector<uint8_t> fp32 = convert(r.model, WeightEncoding::kFloat32), fp16 = convert(r.model, WeightEncoding::kFloat16),
                             int8 = convert(r.model, WeightEncoding::kInt8);
  const std::vector<float> y32 = run(fp32, r.input), y16 = run(fp16, r.input), y8 = run(int8, r.input);
  const double e32 = rel_error(y32, r.output.data), e16 = rel_error(y16, r.output.data), e8 = rel_error(y8, r.output.data);
  auto top1 = [](const std::vector<float>& y) { return std::max_element(y.begin(), y.end()) - y.begin(); };
  std::printf("%s: bytes %zu / %zu / %zu (fp32 / fp16 / int8), relative error vs PyTorch %.2e / %.2e / %.2e, top-1 %s / %s / %s\n",
              name.c_str(), fp32.size(), fp16.size(), int8.size(), e32, e16, e8,
              top1(y32) == top1(r.output.data) ? "same" : "differs", top1(y16) == top1(r.output.data) ? "same" : "differs",
              top1(y8) == top1(r.output.data) ? "same" : "differs");
  EXPECT_LT(e32, 1e-4);
  EXPECT_LT(e16, 1.5 * torch.fp16);
  EXPECT_LT(e8, 1.5 * torch.int8);
  // Weight-dominated models: float16 halves the file, int8 quarters it (plus scales and small tensors).
  EXPECT_LT(double(fp16.size()) / double(fp32.size()), 0.51);
  EXPECT_LT(double(int8.size()) / double(fp32.size()), 0.27);
}

TEST(KilnGraphTorchvision, MobileNetV2) { expect_converted_matches_torch("mobilenet_v2", 224, {6.18e-3, 9.86e-2}); }
TEST(KilnGraphTorchvision, ResNet50) { expect_converted_matches_torch("resnet50", 224, {1.92e-2, 1.87e-1}); }
TEST(KilnGraphTorchvision, DenseNet121) { expect_converted_matches_torch("densenet121", 224, {1.72e-3, 6.57e-2}); }
TEST(KilnGraphTorchvision, InceptionV3) { expect_converted_matches_torch("inception_v3", 299, {3.42e-2, 3.65e-1}); }

}  // namespace
}  // namespace kiln
