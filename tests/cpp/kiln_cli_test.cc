// The kiln CLI (tools/kiln_cli.cc) on ONNX models: `convert` writes exactly
// what encode_kiln_graph gives (so kiln_graph_format_test's checks cover the
// file), `inspect` reports ONNX models and Kiln graph files, and bad input
// fails with a message and a non-zero status.
#include <gtest/gtest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "io/kiln_graph_format.h"
#include "kiln/version.h"
#include "onnx_reference.h"

namespace kiln {
namespace {

struct Result {
  int status = -1;
  std::string output;  // stdout and stderr
};

#ifndef KILN_CLI_PATH  // set by CMakeLists.txt, which also builds the CLI before the tests
#define KILN_CLI_PATH ""
#endif

Result kiln_cli(const std::string& args) {
  Result r;
  FILE* p = popen((std::string(KILN_CLI_PATH) + " " + args + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) r.output.append(buf, n);
  const int status = pclose(p);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// Tests start with this: a build without KILN_CLI_PATH has no CLI to run.
#define REQUIRE_CLI() \
  if (std::string(KILN_CLI_PATH).empty()) GTEST_SKIP() << "CMakeLists.txt does not define KILN_CLI_PATH"

const std::string kCnn = std::string(KILN_FIXTURE_DIR) + "/onnx_models/cnn.onnx";

void expect_contains(const std::string& text, const std::string& part) {
  EXPECT_NE(text.find(part), std::string::npos) << "'" << part << "' not in:\n" << text;
}

// A Kiln layers model: its layers, weights and the predict plan's kernel calls.
TEST(KilnCli, InspectsAKilnModelAndItsPlan) {
  REQUIRE_CLI();
  const std::string out = ::testing::TempDir() + "kiln_cli_mlp.kiln";
  const Result init = kiln_cli("init " + out + " 6 8:relu 3:softmax --seed 2");
  ASSERT_EQ(init.status, 0) << init.output;
  const Result r = kiln_cli("inspect " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  expect_contains(r.output, "Total params: 83");
  expect_contains(r.output, "plan (predict, batch 1): ");
  expect_contains(r.output, "  Gemm [cpu]\n");
  std::remove(out.c_str());
}

TEST(KilnCli, InspectsAnOnnxModel) {
  REQUIRE_CLI();
  const Result r = kiln_cli("inspect " + kCnn);
  ASSERT_EQ(r.status, 0) << r.output;
  for (const char* part : {"ONNX model, IR version 7, producer pytorch", "opset: ai.onnx 13",
                           "input: float32 [batch, 2, 10, 9]", "output: float32 [batch, 3]",
                           "nodes: 8 (Conv 2, Flatten 1, Gemm 1, GlobalAveragePool 1, MaxPool 1, Relu 1, Sigmoid 1)",
                           "parameters: 241 in 6 initializers, 964 bytes", "float32: 241 elements in 6 tensors, 964 bytes",
                           "\nplan: ", " planned buffers, ", "(one run at batch 1, zero inputs)"})
    expect_contains(r.output, part);
}

TEST(KilnCli, ConvertWritesWhatTheEncoderGives) {
  REQUIRE_CLI();
  const std::string out = ::testing::TempDir() + "kiln_cli_cnn.kiln";
  const Result r = kiln_cli("convert " + kCnn + " " + out);
  ASSERT_EQ(r.status, 0) << r.output;
  expect_contains(r.output, "wrote " + out);
  const std::vector<uint8_t> onnx = testing::read_bytes(kCnn), written = testing::read_bytes(out);
  std::vector<uint8_t> expected;
  ASSERT_TRUE(encode_kiln_graph(onnx.data(), onnx.size(), WeightEncoding::kFloat32, &expected).ok());
  EXPECT_EQ(written, expected);
  const Result inspect = kiln_cli("inspect " + out);
  ASSERT_EQ(inspect.status, 0) << inspect.output;
  expect_contains(inspect.output, "Kiln graph file, IR version 7");
  expect_contains(inspect.output, "stored in the file as:\n  as in ONNX: 241 elements in 6 tensors, 964 bytes");
  expect_contains(inspect.output, "\nplan: ");
}

TEST(KilnCli, Int8QuartersAWeightDominatedModel) {
  REQUIRE_CLI();
  const std::string model = std::string(KILN_TORCHVISION_DIR) + "/mobilenet_v2.onnx";
  const std::vector<uint8_t> onnx = testing::read_bytes(model);
  ASSERT_FALSE(onnx.empty()) << model << " is missing: run /usr/bin/python3 scripts/make_torchvision_models.py "
                             << KILN_TORCHVISION_DIR << " (make test-cpp does)";
  const std::string out = ::testing::TempDir() + "kiln_cli_mobilenet_v2.kiln";
  const Result r = kiln_cli("convert " + model + " " + out + " --int8");
  ASSERT_EQ(r.status, 0) << r.output;
  expect_contains(r.output, "stored as int8");
  const std::vector<uint8_t> written = testing::read_bytes(out);
  std::vector<uint8_t> expected;
  ASSERT_TRUE(encode_kiln_graph(onnx.data(), onnx.size(), WeightEncoding::kInt8, &expected).ok());
  EXPECT_EQ(written, expected);
  EXPECT_LT(double(written.size()) / double(onnx.size()), 0.27);
  const Result inspect = kiln_cli("inspect " + out);
  expect_contains(inspect.output, "int8 per-channel: ");
}

TEST(KilnCli, BadInputFailsWithAMessage) {
  REQUIRE_CLI();
  const Result usage = kiln_cli("convert " + kCnn + " x.kiln --int4");
  EXPECT_EQ(usage.status, 2);
  expect_contains(usage.output, "usage:");
  const std::string garbage = std::string(KILN_FIXTURE_DIR) + "/onnx_models/cnn.json";  // not an ONNX file
  const Result convert = kiln_cli("convert " + garbage + " " + ::testing::TempDir() + "kiln_cli_bad.kiln");
  EXPECT_EQ(convert.status, 1);
  expect_contains(convert.output, "kiln: invalid ONNX model");
  const Result inspect = kiln_cli("inspect " + garbage);
  EXPECT_EQ(inspect.status, 1);
  expect_contains(inspect.output, "kiln: invalid ONNX model");
  const Result missing = kiln_cli("inspect /nonexistent.onnx");
  EXPECT_EQ(missing.status, 1);
  expect_contains(missing.output, "cannot open /nonexistent.onnx");
}

// Numbers that are not numbers, files that cannot be written: a message and
// a non-zero status, never an abort (std::stol threw std::invalid_argument).
TEST(KilnCli, BadArgumentsAndUnwritableFilesAreMessages) {
  REQUIRE_CLI();
  const std::string out = ::testing::TempDir() + "kiln_cli_args.kiln";
  Result r = kiln_cli("init " + out + " 12abc 4:relu");
  EXPECT_EQ(r.status, 1);
  expect_contains(r.output, "kiln: INPUTS must be an integer in [1, 16777216], got '12abc'");
  r = kiln_cli("init " + out + " 4 many:relu");
  EXPECT_EQ(r.status, 1);
  expect_contains(r.output, "kiln: units must be an integer");
  r = kiln_cli("init " + out + " 4 3:relu --seed -1");
  EXPECT_EQ(r.status, 1);
  expect_contains(r.output, "kiln: --seed must be an integer");
  r = kiln_cli("init /nonexistent-folder/model.kiln 4 3:relu");
  EXPECT_EQ(r.status, 1);
  expect_contains(r.output, "kiln: cannot write /nonexistent-folder/model.kiln");
  r = kiln_cli("profile " + kCnn + " --runs often");
  EXPECT_EQ(r.status, 1);
  expect_contains(r.output, "kiln: --runs must be an integer");
  ASSERT_EQ(kiln_cli("init " + out + " 4 3:relu").status, 0);
  r = kiln_cli("predict " + out + " " + out + " x /tmp/y.f32");
  EXPECT_EQ(r.status, 1);
  expect_contains(r.output, "kiln: N must be an integer");
}

TEST(KilnCli, HelpAndVersion) {
  REQUIRE_CLI();
  Result r = kiln_cli("--help");
  EXPECT_EQ(r.status, 0);
  expect_contains(r.output, "usage: kiln inspect FILE");
  r = kiln_cli("--version");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.output, std::string("kiln ") + KILN_VERSION_STRING + "\n");
}

}  // namespace
}  // namespace kiln
