// Native side of the MLP benchmark: the same grid the JS harness measures
// (depth x width, batch 64), printed as JSON lines for bench/run_mlp.mjs.
//   kiln-bench-mlp [threads] [reps]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "kiln/kiln.h"

namespace {
double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 1;
  const int reps = argc > 2 ? std::atoi(argv[2]) : 5;
  kiln::set_num_threads(threads);
  const int64_t batch = 64, in = 784, out = 10;
  std::vector<float> x(size_t(batch * in)), y(size_t(batch * out), 0.0f);
  for (size_t i = 0; i < x.size(); ++i) x[i] = float((i * 2654435761u) % 1000) / 1000.0f;
  for (int64_t r = 0; r < batch; ++r) y[size_t(r * out + r % out)] = 1.0f;
  for (int depth : {1, 2, 4, 8}) {
    for (int width : {64, 128, 256}) {
      kiln::Sequential m(in, 1);
      for (int d = 0; d < depth; ++d) m.add_dense({width, "relu"});
      m.add_dense({out, "softmax"});
      m.compile({"sgd", 0.01f});
      m.warmup(batch);
      std::vector<double> train, inf1, inf64;
      for (int rep = 0; rep < reps; ++rep) {
        const int iters = 20;
        double t0 = now_ms();
        for (int i = 0; i < iters; ++i) m.train_on_batch(x.data(), y.data(), batch);
        train.push_back((now_ms() - t0) / iters);
        t0 = now_ms();
        for (int i = 0; i < iters; ++i) m.predict(x.data(), 1);
        inf1.push_back((now_ms() - t0) / iters);
        t0 = now_ms();
        for (int i = 0; i < iters; ++i) m.predict(x.data(), batch);
        inf64.push_back((now_ms() - t0) / iters / double(batch));
      }
      std::printf("{\"depth\":%d,\"width\":%d,\"threads\":%d,\"kernel\":\"%s\",\"train_ms_per_batch\":%.4f,"
                  "\"infer_ms_per_sample_b1\":%.4f,\"infer_ms_per_sample_b64\":%.5f}\n",
                  depth, width, threads, kiln::gemm_kernel_name().c_str(), median(train), median(inf1), median(inf64));
    }
  }
  return 0;
}
