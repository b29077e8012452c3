// What the fuzzers found stays fixed: each file of tests/fixtures/fuzz/<harness>/
// goes through its harness's path (tests/fuzz) and must end in a result or an
// error. Natively a division by zero would crash here; the float-to-int
// conversions of NaN that were found need the UBSan build (make test-sanitize).
//   onnx/upsample_zero_scales.onnx: Upsample by scales of 0 divided by the output length
//   onnx/cast_nan_to_uint8.onnx: a dynamic quantization chain cast NaN (0/0) to uint8
//   tf_graph/exp_of_nan.bin: e^NaN converted NaN to int for the exponent bits
//   tf_graph/huge_weight_dim.bin: a weight dimension of 3e87 was converted to int64 before its range check
#include <gtest/gtest.h>

#include <dirent.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "../fuzz/fuzz_run_once.h"
#include "frontends/tf_graph/tf_graph_model.h"
#include "io/kiln_graph_format.h"

namespace kiln {
namespace {

std::vector<std::string> files_in(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (e->d_name[0] != '.') out.push_back(dir + "/" + e->d_name);
    closedir(d);
  }
  return out;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

const std::string kFindings = std::string(KILN_FIXTURE_DIR) + "/fuzz/";

TEST(FuzzFindings, OnnxFilesLoadAndRunOrFailCleanly) {
  const std::vector<std::string> files = files_in(kFindings + "onnx");
  ASSERT_FALSE(files.empty());
  for (const std::string& path : files) {
    const std::vector<uint8_t> bytes = read_bytes(path);
    OnnxModel model;
    if (!read_onnx_or_kiln_graph(bytes.data(), bytes.size(), &model).ok()) continue;
    std::unique_ptr<OnnxSession> session;
    if (!OnnxSession::load_model(std::move(model), &session).ok()) continue;
    fuzz_run_session(*session);
  }
}

TEST(FuzzFindings, TfGraphModelsLoadAndRunOrFailCleanly) {
  const std::vector<std::string> files = files_in(kFindings + "tf_graph");
  ASSERT_FALSE(files.empty());
  for (const std::string& path : files) {
    const std::vector<uint8_t> bytes = read_bytes(path);
    const void* nul = std::memchr(bytes.data(), 0, bytes.size());
    ASSERT_NE(nul, nullptr) << path;
    const size_t split = size_t(static_cast<const uint8_t*>(nul) - bytes.data());
    OnnxModel model;
    if (!tf_graph_model_to_onnx(std::string(reinterpret_cast<const char*>(bytes.data()), split), bytes.data() + split + 1,
                                bytes.size() - split - 1, &model)
             .ok())
      continue;
    std::unique_ptr<OnnxSession> session;
    if (!OnnxSession::load_model(std::move(model), &session).ok()) continue;
    fuzz_run_session(*session);
  }
}

}  // namespace
}  // namespace kiln
