// Layer configs as TF.js and Keras serialize them: initializers given as
// {className, config} map onto Kiln's or are refused with the parameter that
// does not fit; BatchNormalization takes the last axis written as a positive
// number (Keras's axis=3); a regularizer or constraint lets the model predict
// but makes compile() refuse, since Kiln's training would ignore it.
#include <gtest/gtest.h>

#include <memory>
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

TEST(InitializerConfig, ParametersKilnCannotHonourAreRefused) {
  EXPECT_NE(parse_error(R"({"className":"VarianceScaling","config":{"scale":0.5,"mode":"fanIn"}})").find("scale 0.5"), std::string::npos);
  EXPECT_NE(parse_error(R"({"className":"VarianceScaling","config":{"scale":1,"mode":"fanOut"}})").find("fanOut"), std::string::npos);
  EXPECT_NE(parse_error(R"({"className":"VarianceScaling","config":{"distribution":"untruncatedNormal"}})").find("untruncatedNormal"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"className":"RandomNormal","config":{"mean":0,"stddev":1}})").find("stddev must be 0.05"), std::string::npos);
  EXPECT_NE(parse_error(R"({"className":"Orthogonal","config":{"gain":2}})").find("gain"), std::string::npos);
  EXPECT_NE(parse_error(R"({"className":"GlorotUniform","config":{"seed":7}})").find("seed"), std::string::npos);
  EXPECT_NE(parse_error(R"({"className":"Constant","config":{"value":3}})").find("unknown initializer 'Constant'"), std::string::npos);
  EXPECT_NE(parse_error(R"({"className":"Ones","config":{"value":3}})").find("'value'"), std::string::npos);
  EXPECT_NE(parse_error("7").find("initializer name"), std::string::npos);
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
