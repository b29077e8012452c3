// Trains a small classifier on made-up data (which of three features is
// largest), saves it, loads it back and checks the copy predicts the same.
//   train_and_save OUT.kiln
#include <kiln/kiln.h>
#include <kiln/version.h>

#include <cstdio>
#include <fstream>
#include <random>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: train_and_save OUT.kiln\n");
    return 2;
  }
  try {
    const int64_t n = 600;
    std::vector<float> x(n * 3), y(n * 3, 0.0f);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(0, 1);
    for (int64_t i = 0; i < n; ++i) {
      int best = 0;
      for (int k = 0; k < 3; ++k) {
        x[i * 3 + k] = u(rng);
        if (x[i * 3 + k] > x[i * 3 + best]) best = k;
      }
      y[i * 3 + best] = 1;
    }
    kiln::Sequential model(3);
    kiln::DenseOptions hidden;
    hidden.units = 16;
    hidden.activation = "relu";
    kiln::DenseOptions out;
    out.units = 3;
    out.activation = "softmax";
    model.add_dense(hidden).add_dense(out);
    kiln::CompileOptions compile;
    compile.optimizer = "adam";
    compile.learning_rate = 0.01f;
    model.compile(compile);
    kiln::FitOptions fit;
    fit.epochs = 30;
    const std::vector<kiln::EpochLogs> history = model.fit(x.data(), y.data(), n, fit);
    const std::pair<float, float> eval = model.evaluate(x.data(), y.data(), n);
    std::printf("kiln %s: loss %.4f -> %.4f, accuracy %.3f\n", KILN_VERSION_STRING, history.front().loss, history.back().loss, eval.second);

    const std::vector<uint8_t> bytes = model.save();
    std::ofstream f(argv[1], std::ios::binary);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    if (!f.flush()) {
      std::fprintf(stderr, "cannot write %s\n", argv[1]);
      return 1;
    }
    kiln::Sequential copy = kiln::Sequential::load(bytes.data(), bytes.size());
    if (copy.predict(x.data(), 5) != model.predict(x.data(), 5)) {
      std::fprintf(stderr, "the loaded copy predicts differently\n");
      return 1;
    }
    std::printf("saved %s (%zu bytes); the loaded copy predicts the same\n", argv[1], bytes.size());
    return eval.second > 0.9f ? 0 : 1;
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
