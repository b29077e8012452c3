// kiln: command-line tool for model files.
//   kiln inspect FILE                    layers, shapes, parameters, training state
//   kiln predict FILE IN.f32 N OUT.f32   runs N samples (raw float32) through the model
//   kiln init OUT INPUTS UNITS:ACT... [--seed S]   writes a freshly initialized MLP
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>
#include <vector>

#include "kiln/kiln.h"

namespace {
std::vector<uint8_t> read_file(const char* path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw kiln::Error(std::string("cannot open ") + path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

int usage() {
  std::cerr << "usage: kiln inspect FILE\n       kiln predict FILE IN.f32 N OUT.f32\n"
               "       kiln init OUT INPUTS UNITS:ACTIVATION... [--seed S]\n";
  return 2;
}

int init_model(int argc, char** argv) {
  if (argc < 5) return usage();
  uint64_t seed = 42;
  std::vector<kiln::DenseOptions> layers;
  for (int i = 4; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--seed" && i + 1 < argc) {
      seed = std::stoull(argv[++i]);
      continue;
    }
    const size_t colon = arg.find(':');
    kiln::DenseOptions d;
    d.units = std::stol(arg.substr(0, colon));
    if (colon != std::string::npos) d.activation = arg.substr(colon + 1);
    layers.push_back(d);
  }
  kiln::Sequential model(std::stol(argv[3]), seed);
  for (const auto& d : layers) model.add_dense(d);
  const std::vector<uint8_t> bytes = model.save();
  std::ofstream(argv[2], std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
  std::cout << "wrote " << argv[2] << " (" << bytes.size() << " bytes, " << model.count_params() << " parameters)\n";
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string cmd = argv[1];
  try {
    if (cmd == "init") return init_model(argc, argv);
    std::vector<uint8_t> bytes = read_file(argv[2]);
    kiln::Sequential model = kiln::Sequential::load(bytes.data(), bytes.size());
    if (cmd == "inspect") {
      std::cout << "file: " << argv[2] << " (" << bytes.size() << " bytes)\n"
                << "input features: " << model.input_dim() << "\n"
                << model.summary();
      std::cout << "weights (TF.js order):\n";
      for (const auto& s : model.weight_shapes()) {
        std::cout << "  [";
        for (size_t i = 0; i < s.size(); ++i) std::cout << (i ? ", " : "") << s[i];
        std::cout << "]\n";
      }
      return 0;
    }
    if (cmd == "predict" && argc == 6) {
      const long n = std::stol(argv[4]);
      std::vector<uint8_t> in = read_file(argv[3]);
      if (in.size() != size_t(n) * size_t(model.input_dim()) * 4)
        throw kiln::Error("predict: " + std::string(argv[3]) + " holds " + std::to_string(in.size()) + " bytes, expected " +
                          std::to_string(n * model.input_dim() * 4));
      std::vector<float> x(in.size() / 4);
      std::copy(in.begin(), in.end(), reinterpret_cast<uint8_t*>(x.data()));
      std::vector<float> y = model.predict(x.data(), n);
      std::ofstream(argv[5], std::ios::binary).write(reinterpret_cast<const char*>(y.data()), std::streamsize(y.size() * 4));
      return 0;
    }
    return usage();
  } catch (const kiln::Error& e) {
    std::cerr << "kiln: " << e.what() << "\n";
    return 1;
  }
}
