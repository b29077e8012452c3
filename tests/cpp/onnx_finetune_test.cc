// Fine-tuning an imported ONNX model (frontends/onnx_to_layers): a PyTorch CNN
// exported by scripts/make_finetune_fixtures.py (into build/finetune, by
// `make fixtures`) loads as a trainable model whose outputs, per-step losses
// and weights after 10 steps of SGD and of Adam match PyTorch's; a frozen
// layer's weights do not move. Plus the translation's own rules: frozen flags
// survive save/load, unsupported operators are listed, shapes can be replaced.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <sstream>

#include "api/model_import.h"
#include "core/json.h"
#include "core/rng.h"
#include "io/model_format.h"
#include "kiln/kiln.h"
#include "onnx_reference.h"

namespace kiln {
namespace {

struct Fixture {
  std::vector<uint8_t> model;
  std::vector<float> x, y;
  Json expected;
};

Fixture load_fixture() {
  Fixture f;
  const std::string dir = KILN_FINETUNE_DIR;
  f.model = testing::read_bytes(dir + "/model.onnx");
  auto floats = [](const std::vector<uint8_t>& b) {
    std::vector<float> v(b.size() / 4);
    std::memcpy(v.data(), b.data(), v.size() * 4);
    return v;
  };
  f.x = floats(testing::read_bytes(dir + "/x.f32"));
  f.y = floats(testing::read_bytes(dir + "/y.f32"));
  std::ifstream in(dir + "/expected.json");
  std::stringstream text;
  text << in.rdbuf();
  EXPECT_TRUE(parse_json(text.str(), &f.expected).ok());
  return f;
}

double rel_error(float got, double want) { return std::fabs(got - want) / std::max(1e-3, std::fabs(want)); }

TEST(OnnxFinetune, ForwardMatchesPyTorch) {
  Fixture f = load_fixture();
  ASSERT_FALSE(f.model.empty()) << "run `make fixtures` (scripts/make_finetune_fixtures.py build/finetune)";
  std::unique_ptr<Model> m;
  Status s = import_onnx_model(f.model.data(), f.model.size(), {}, 1, &m);
  ASSERT_TRUE(s.ok()) << s.message();
  ASSERT_EQ(m->input_shape(0), (Shape{3, 12, 12}));
  ASSERT_EQ(m->output_shape(0), (Shape{10}));
  std::vector<float> out(80);
  ASSERT_TRUE(m->predict(f.x.data(), 8, out.data()).ok());
  const auto& want = f.expected.find("forward")->items();
  ASSERT_EQ(want.size(), out.size());
  for (size_t i = 0; i < out.size(); ++i) EXPECT_LT(rel_error(out[i], want[i].as_number()), 1e-5) << i;
}

TEST(OnnxFinetune, TenStepsMatchPyTorch) {
  Fixture f = load_fixture();
  ASSERT_FALSE(f.model.empty());
  for (const Json& run : f.expected.find("runs")->items()) {
    const std::string name = run.find("name")->as_string();
    SCOPED_TRACE(name);
    std::unique_ptr<Model> m;
    ASSERT_TRUE(import_onnx_model(f.model.data(), f.model.size(), {}, 1, &m).ok());
    for (const Json& layer : run.find("frozen")->items()) ASSERT_TRUE(m->set_layer_trainable(layer.as_string(), false).ok());
    std::vector<std::vector<float>> before;
    for (size_t w = 0; w < m->num_weights(); ++w) before.emplace_back(m->weight_data(w), m->weight_data(w) + shape_numel(m->weight_shape(w)));
    TrainingConfig c;
    c.loss = LossKind::kCategoricalCrossentropy;
    c.optimizer.kind = run.find("optimizer")->as_string() == "adam" ? OptimizerKind::kAdam : OptimizerKind::kSgd;
    c.optimizer.learning_rate = c.optimizer.kind == OptimizerKind::kAdam ? 0.001f : 0.1f;
    ASSERT_TRUE(m->compile(c).ok());
    const auto& losses = run.find("losses")->items();
    for (int step = 0; step < 10; ++step) {
      float loss, metric;
      Status s = m->train_batch(f.x.data() + step * 8 * 432, f.y.data() + step * 8 * 10, nullptr, 8, &loss, &metric);
      ASSERT_TRUE(s.ok()) << s.message();
      EXPECT_LT(rel_error(loss, losses[size_t(step)].as_number()), 1e-5) << "step " << step;
    }
    const Json& want = *run.find("weights");
    ASSERT_EQ(want.members().size(), m->num_weights());
    for (size_t w = 0; w < m->num_weights(); ++w) {
      const Json* values = want.find(m->weight_name(w));
      ASSERT_TRUE(values) << m->weight_name(w);
      const float* got = m->weight_data(w);
      ASSERT_EQ(int64_t(values->items().size()), shape_numel(m->weight_shape(w)));
      // Relative to the tensor's scale (max |diff| / max |want|): Adam's steps
      // are scale-free, so a weight whose gradient is ~0 moves by float noise.
      double diff = 0, scale = 0;
      for (size_t i = 0; i < values->items().size(); ++i) {
        diff = std::max(diff, std::fabs(got[i] - values->items()[i].as_number()));
        scale = std::max(scale, std::fabs(values->items()[i].as_number()));
      }
      EXPECT_LT(diff / scale, 1e-5) << m->weight_name(w);
      if (m->weight_name(w).rfind("c1/", 0) == 0 && name == "frozen") {
        for (size_t i = 0; i < before[w].size(); ++i) ASSERT_EQ(got[i], before[w][i]) << "frozen weight moved";
      }
    }
  }
}

TEST(OnnxFinetune, FrozenFlagIsSavedAndCanBeLifted) {
  Fixture f = load_fixture();
  ASSERT_FALSE(f.model.empty());
  std::unique_ptr<Model> m;
  ASSERT_TRUE(import_onnx_model(f.model.data(), f.model.size(), {}, 1, &m).ok());
  ASSERT_TRUE(m->set_layer_trainable("c1", false).ok());
  EXPECT_FALSE(m->set_layer_trainable("no_such_layer", false).ok());
  std::vector<uint8_t> bytes;
  ASSERT_TRUE(encode_model(*m, false, &bytes).ok());
  std::unique_ptr<Model> back;
  ASSERT_TRUE(decode_model(bytes.data(), bytes.size(), &back).ok());
  size_t c1 = 0;
  while (back->weight_name(c1) != "c1/kernel") ++c1;
  EXPECT_FALSE(back->weight_trainable(c1));
  ASSERT_TRUE(back->set_layer_trainable("c1", true).ok());
  EXPECT_TRUE(back->weight_trainable(c1));
}

TEST(OnnxFinetune, InputShapeCanBeReplaced) {
  Fixture f = load_fixture();
  ASSERT_FALSE(f.model.empty());
  OnnxImportOptions o;
  o.input_shapes = {{3, 20, 20}};
  std::unique_ptr<Model> m;
  Status s = import_onnx_model(f.model.data(), f.model.size(), o, 1, &m);
  // The Linear layer fixes the flattened size, so a bigger image no longer fits it: a clear error.
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("fc"), std::string::npos) << s.message();
}

TEST(OnnxFinetune, UnsupportedOperatorsAreListed) {
  // ONNX's own conformance model for Gather: not a Layers operator.
  const std::vector<uint8_t> bytes = testing::read_bytes("/usr/share/libonnx-testdata/data/node/test_gather_0/model.onnx");
  ASSERT_FALSE(bytes.empty());
  std::unique_ptr<Model> m;
  Status s = import_onnx_model(bytes.data(), bytes.size(), {}, 1, &m);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("Gather"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("kiln.onnx.load"), std::string::npos) << s.message();
}

TEST(OnnxFinetune, TruncatedFilesFailCleanlyOrGiveAWorkingModel) {
  Fixture f = load_fixture();
  ASSERT_FALSE(f.model.empty());
  int rejected = 0;
  for (size_t cut = 0; cut < f.model.size(); cut += 37) {
    std::unique_ptr<Model> m;
    Status s = import_onnx_model(f.model.data(), cut, {}, 1, &m);
    if (!s.ok()) {
      EXPECT_FALSE(s.message().empty());
      ++rejected;
      continue;
    }
    std::vector<float> out(m->output_dim());
    std::vector<float> x(size_t(m->input_dim()), 0.5f);
    EXPECT_TRUE(m->predict(x.data(), 1, out.data()).ok()) << cut;
  }
  EXPECT_GT(rejected, 0);
}

TEST(OnnxFinetune, MutatedFilesFailCleanlyOrGiveAWorkingModel) {
  Fixture f = load_fixture();
  ASSERT_FALSE(f.model.empty());
  Rng rng(5);
  for (int trial = 0; trial < 400; ++trial) {
    std::vector<uint8_t> bytes = f.model;
    for (int k = 0; k < 4; ++k) bytes[rng.below(uint32_t(bytes.size()))] = uint8_t(rng.below(256));
    std::unique_ptr<Model> m;
    if (!import_onnx_model(bytes.data(), bytes.size(), {}, 1, &m).ok()) continue;
    if (m->input_dim() > (int64_t(1) << 20)) continue;  // a mutated shape: valid, but too big to run here
    std::vector<float> out(size_t(m->output_dim()));
    std::vector<float> x(size_t(m->input_dim()), 0.5f);
    Status s = m->predict(x.data(), 1, out.data());
    EXPECT_TRUE(s.ok()) << trial << ": " << s.message();  // a model that builds must run
  }
}

// torchvision's models (build/torchvision, `make torchvision-models`) as
// Layers models through the public C++ API: PyTorch's outputs within 1e-4.
TEST(OnnxFinetune, TorchvisionModelsAsTrainableModels) {
  for (const auto& [name, size] : std::vector<std::pair<std::string, int64_t>>{
           {"mobilenet_v2", 224}, {"resnet50", 224}, {"densenet121", 224}, {"inception_v3", 299}}) {
    SCOPED_TRACE(name);
    const testing::OnnxReference r = testing::torchvision_reference(name, size);
    ASSERT_FALSE(r.model.empty()) << "run `make torchvision-models`";
    Sequential m = Sequential::from_onnx(r.model.data(), r.model.size());
    EXPECT_LT(testing::rel_error(m.predict(r.input.data.data(), 1), r.output.data), 1e-4);
  }
  // Any image size: MobileNetV2 is convolutional up to its global pool.
  const testing::OnnxReference r = testing::torchvision_reference("mobilenet_v2", 224);
  Sequential small = Sequential::from_onnx(r.model.data(), r.model.size(), {{3, 32, 32}});
  EXPECT_EQ(small.output_shape(), (std::vector<int64_t>{1000}));
}

}  // namespace
}  // namespace kiln
