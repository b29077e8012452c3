// Runs an ONNX model that takes [batch, FEATURES] inputs on one row of a
// constant value and prints each output's shape and first values.
//   onnx_inference MODEL.onnx FEATURES [VALUE]
#include <kiln/kiln.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: onnx_inference MODEL.onnx FEATURES [VALUE]\n");
    return 2;
  }
  char* end = nullptr;
  const long features = std::strtol(argv[2], &end, 10);
  if (*end != '\0' || features <= 0 || features > (1 << 24)) {
    std::fprintf(stderr, "FEATURES must be a positive integer, got '%s'\n", argv[2]);
    return 2;
  }
  std::ifstream f(argv[1], std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "cannot open %s\n", argv[1]);
    return 1;
  }
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const float value = argc == 4 ? std::strtof(argv[3], nullptr) : 0.5f;
  try {
    const kiln::onnx::Session session = kiln::onnx::Session::load(bytes.data(), bytes.size());
    // Each input in the dtype the model declares: float32 ones take VALUE,
    // any other type (int64 ids, bool masks) zeros.
    std::vector<kiln::onnx::Tensor> inputs;
    for (const kiln::onnx::ValueInfo& in : session.inputs()) {
      kiln::onnx::Tensor t;
      t.shape = {1, features};
      t.dtype = in.dtype.empty() ? "float32" : in.dtype;
      if (t.dtype == "float32") t.data.assign(size_t(features), value);
      else t = kiln::onnx::Tensor::from_raw(t.dtype, t.shape, std::vector<uint8_t>(size_t(features) * 8).data());
      inputs.push_back(std::move(t));
    }
    const std::vector<kiln::onnx::Tensor> outputs = session.run(inputs);
    const std::vector<std::string> names = session.output_names();
    for (size_t i = 0; i < outputs.size(); ++i) {
      std::printf("%s: %s[", names[i].c_str(), outputs[i].dtype.c_str());
      for (size_t d = 0; d < outputs[i].shape.size(); ++d) std::printf(d ? ", %lld" : "%lld", static_cast<long long>(outputs[i].shape[d]));
      std::printf("]");
      for (size_t k = 0; k < outputs[i].data.size() && k < 4; ++k)  // float32 values (other types: .bytes) std::printf(" %.6f", outputs[i].data[k]);
      std::printf("\n");
    }
    return 0;
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
