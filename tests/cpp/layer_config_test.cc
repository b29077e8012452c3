// Layer configs as TF.js and Keras serialize them: initializers by TF.js or
// Keras name or as {className, config}, their parameters honoured (the values
// drawn checked against TF.js's definitions) or refused; BatchNormalization takes the last axis written as a positive
// number (Keras's axis=3); a regularizer or constraint lets the model predict
// but makes compile() refuse, since Kiln's training would ignore it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>
#include <string>

#include "api/model.h"
#include "core/json.h"
#include "layer_fixture.h"
#include "layers/initializer_config.h"

namespace kiln {
namespace {

Initializer parse_ok(const std::string& text) {
  Json j;
  Status parsed = parse_json(text, &j);
  EXPECT_TRUE(parsed.ok()) << parsed.message();
  Initializer out = Initializer::kZeros;
  Status s = initializer_from_json(j, &out);
  EXPECT_TRUE(s.ok()) << text << ": " << s.message();
  return out;
}

std::string parse_error(const std::string& text) {
  Json j;
  Status parsed = parse_json(text, &j);
  EXPECT_TRUE(parsed.ok()) << parsed.message();
  Initializer out;
  Status s = initializer_from_json(j, &out);
  EXPECT_FALSE(s.ok()) << text;
  return s.message();
}

TEST(InitializerConfig, VarianceScalingMapsOntoTheNamedInitializers) {
  EXPECT_EQ(parse_ok(R"({"className":"VarianceScaling","config":{"scale":1,"mode":"fanAvg","distribution":"uniform","seed":null}})"),
            Initializer::kGlorotUniform);
  EXPECT_EQ(parse_ok(R"({"class_name":"VarianceScaling","config":{"scale":1,"mode":"fan_avg","distribution":"truncated_normal"}})"),
            Initializer::kGlorotNormal);
  EXPECT_EQ(parse_ok(R"({"className":"VarianceScaling","config":{"scale":2,"mode":"fanIn","distribution":"normal"}})"), Initializer::kHeNormal);
  EXPECT_EQ(parse_ok(R"({"className":"VarianceScaling","config":{"scale":2,"mode":"fanIn","distribution":"uniform"}})"), Initializer::kHeUniform);
  EXPECT_EQ(parse_ok(R"({"className":"VarianceScaling","config":{"scale":1,"mode":"fanIn","distribution":"normal"}})"), Initializer::kLecunNormal);
  EXPECT_EQ(parse_ok(R"({"className":"Orthogonal","config":{"gain":1,"seed":null}})"), Initializer::kOrthogonal);
  EXPECT_EQ(parse_ok(R"({"className":"Zeros","config":{}})"), Initializer::kZeros);
  EXPECT_EQ(parse_ok(R"({"className":"RandomUniform","config":{"minval":-0.05,"maxval":0.05}})"), Initializer::kRandomUniform);
  EXPECT_EQ(parse_ok(R"("heNormal")"), Initializer::kHeNormal);
}

TEST(InitializerConfig, ParametersAndTfjsNamesAreHonoured) {
  Initializer v = parse_ok(R"({"className":"VarianceScaling","config":{"scale":0.5,"mode":"fanOut","distribution":"uniform"}})");
  EXPECT_EQ(v.kind, InitializerKind::kVarianceScaling);
  EXPECT_EQ(v.a, 0.5);
  EXPECT_EQ(v.mode, FanMode::kFanOut);
  EXPECT_EQ(v.distribution, ScalingDistribution::kUniform);
  EXPECT_EQ(parse_ok(R"({"class_name":"VarianceScaling","config":{"distribution":"untruncated_normal"}})").distribution,
            ScalingDistribution::kNormal);
  const Initializer n = parse_ok(R"({"className":"RandomNormal","config":{"mean":1,"stddev":2}})");
  EXPECT_EQ(n.kind, InitializerKind::kRandomNormal);
  EXPECT_EQ(n.a, 1.0);
  EXPECT_EQ(n.b, 2.0);
  const Initializer c = parse_ok(R"({"className":"Constant","config":{"value":3}})");
  EXPECT_EQ(c.kind, InitializerKind::kConstant);
  EXPECT_EQ(c.a, 3.0);
  EXPECT_EQ(parse_ok(R"({"className":"Orthogonal","config":{"gain":2}})").a, 2.0);
  EXPECT_EQ(parse_ok(R"({"className":"Identity","config":{"gain":0.5}})").a, 0.5);
  // TF.js writes the presets' parameters; a changed one is honoured.
  EXPECT_EQ(parse_ok(R"({"className":"GlorotUniform","config":{"scale":1,"mode":"fanAvg","distribution":"uniform"}})"), Initializer::kGlorotUniform);
  EXPECT_EQ(parse_ok(R"({"className":"HeNormal","config":{"scale":4}})").a, 4.0);
  for (const char* name : {R"("leCunNormal")", R"("lecunNormal")", R"("lecun_normal")", R"({"className":"LeCunNormal"})"})
    EXPECT_EQ(parse_ok(name), Initializer::kLecunNormal) << name;
  EXPECT_EQ(parse_ok(R"("identity")"), Initializer::kIdentity);
  EXPECT_EQ(parse_ok(R"("varianceScaling")"), Initializer::kVarianceScaling);
}

TEST(InitializerConfig, ValuesThatCannotBeUsedAreRefused) {
  EXPECT_NE(parse_error(R"({"className":"GlorotUniform","config":{"seed":7}})").find("seed"), std::string::npos);
  EXPECT_NE(parse_error(R"({"className":"Ones","config":{"value":3}})").find("'value'"), std::string::npos);
  EXPECT_NE(parse_error(R"("constant")").find("needs its value"), std::string::npos);
  EXPECT_NE(parse_error(R"({"className":"Constant","config":{}})").find("value must be a finite number"), std::string::npos);
  EXPECT_NE(parse_error(R"({"className":"VarianceScaling","config":{"scale":-1}})").find("scale must be positive"), std::string::npos);
  EXPECT_NE(parse_error(R"({"className":"VarianceScaling","config":{"mode":"fanSideways"}})").find("fanSideways"), std::string::npos);
  EXPECT_NE(parse_error(R"({"className":"RandomUniform","config":{"minval":1,"maxval":0}})").find("minval must be below maxval"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"className":"RandomNormal","config":{"stddev":"wide"}})").find("stddev must be a finite number"),
            std::string::npos);
  EXPECT_NE(parse_error(R"("glorotUniformish")").find("unknown initializer"), std::string::npos);
  EXPECT_NE(parse_error("7").find("initializer name"), std::string::npos);
}

// The values drawn, against the definitions (TF.js initializers.ts).
TEST(Initializers, DrawFromTheirDefinitions) {
  Rng rng(5);
  std::vector<float> w(40000);
  ASSERT_TRUE(initialize(Initializer{InitializerKind::kRandomNormal, 1.0, 2.0}, w.data(), {200, 200}, 200, 200, rng).ok());
  double sum = 0, sq = 0;
  for (float x : w) sum += x, sq += double(x) * x;
  const double mean = sum / double(w.size()), sd = std::sqrt(sq / double(w.size()) - mean * mean);
  EXPECT_NEAR(mean, 1.0, 0.05);
  EXPECT_NEAR(sd, 2.0, 0.05);

  // VarianceScaling, uniform, fanOut: limit sqrt(3 * scale / fan_out).
  Initializer vs{InitializerKind::kVarianceScaling, 0.5, 0, FanMode::kFanOut, ScalingDistribution::kUniform};
  ASSERT_TRUE(initialize(vs, w.data(), {200, 200}, 100, 300, rng).ok());
  const double limit = std::sqrt(3 * 0.5 / 300);
  double biggest = 0;
  for (float x : w) biggest = std::max(biggest, std::fabs(double(x)));
  EXPECT_LE(biggest, limit * (1 + 1e-6));
  EXPECT_GE(biggest, limit * 0.99);

  ASSERT_TRUE(initialize(Initializer{InitializerKind::kConstant, 3.0}, w.data(), {10}, 10, 10, rng).ok());
  EXPECT_EQ(w[0], 3.0f);
  EXPECT_EQ(w[9], 3.0f);

  std::vector<float> eye(9);
  ASSERT_TRUE(initialize(Initializer{InitializerKind::kIdentity, 2.0}, eye.data(), {3, 3}, 3, 3, rng).ok());
  EXPECT_EQ(eye, (std::vector<float>{2, 0, 0, 0, 2, 0, 0, 0, 2}));
  Status st = initialize(Initializer::kIdentity, eye.data(), {3, 2}, 3, 2, rng);
  EXPECT_EQ(st.message(), "Identity: the weight must be a square matrix, got [3, 2]");

  // Orthogonal on a conv kernel [2, 2, 3, 4]: flattened to [12, 4], its columns orthogonal with norm gain.
  std::vector<float> k(48);
  ASSERT_TRUE(initialize(Initializer{InitializerKind::kOrthogonal, 2.0}, k.data(), {2, 2, 3, 4}, 12, 16, rng).ok());
  for (int a = 0; a < 4; ++a)
    for (int b = 0; b < 4; ++b) {
      double dot = 0;
      for (int r = 0; r < 12; ++r) dot += double(k[size_t(r * 4 + a)]) * k[size_t(r * 4 + b)];
      EXPECT_NEAR(dot, a == b ? 4.0 : 0.0, 1e-5) << a << "," << b;
    }
  st = initialize(Initializer::kOrthogonal, k.data(), {48}, 48, 48, rng);
  EXPECT_EQ(st.message(), "Orthogonal: the weight must have 2 or more dimensions, got [48]");
}

TEST(Initializers, AModelWhoseInitializerCannotFillAWeightIsAnErrorNamingIt) {
  std::unique_ptr<Model> m;
  const Status s = layer_test::make_model("Dense", R"({"units":2,"kernelInitializer":"identity"})", {{3}}, &m);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("(kernel): Identity: the weight must be a square matrix, got [3, 2]"), std::string::npos) << s.message();
  EXPECT_TRUE(layer_test::make_model("Dense", R"({"units":3,"kernelInitializer":"identity"})", {{3}}, &m).ok());
}

TEST(LayerConfig, BatchNormalizationTakesThePositiveLastAxis) {
  std::unique_ptr<Model> m;
  Status s = layer_test::make_model("BatchNormalization", R"({"axis":3})", {{4, 4, 2}}, &m);
  EXPECT_TRUE(s.ok()) << s.message();
  s = layer_test::make_model("BatchNormalization", R"({"axis":2})", {{4, 4, 2}}, &m);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("only the last axis (-1 or 3 here)"), std::string::npos) << s.message();
  s = layer_test::make_model("LayerNormalization", R"({"axis":[2]})", {{4, 2}}, &m);
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(LayerConfig, RegularizersLetTheModelPredictButNotTrain) {
  std::unique_ptr<Model> m;
  Status s = layer_test::make_model("Dense", R"({"units":2,"kernelRegularizer":{"className":"L1L2","config":{"l1":0,"l2":0.01}}})", {{3}}, &m);
  ASSERT_TRUE(s.ok()) << s.message();
  const std::vector<float> y = layer_test::predict(*m, {{1, 2, 3, 4, 5, 6}}, 2);
  EXPECT_EQ(y.size(), 4u);
  TrainingConfig config;
  s = m->compile(config);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'kernelRegularizer' is not supported in training"), std::string::npos) << s.message();
  // Null ones (as TF.js writes every unset option) change nothing.
  s = layer_test::make_model("Dense", R"({"units":2,"kernelRegularizer":null,"biasConstraint":null})", {{3}}, &m);
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(m->compile(config).ok());
}

}  // namespace
}  // namespace kiln
