// Native side of the ONNX inference benchmark (bench/run_onnx.mjs): one model,
// one thread count, batch 1, in a fresh process; prints one JSON line.
//   kiln-bench-onnx MODEL.onnx INPUT.f32 N,C,H,W THREADS [WARMUP] [ITERS] [EXPECTED.f32]
// load_ms: from the model's bytes in memory to the first output (Session::load
// + first run); latency: median (and all samples) of ITERS timed runs after
// WARMUP untimed ones; peak memory: VmHWM of this process (VmRSS before the
// model file is read is reported too, as the baseline).
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "kiln/kiln.h"

namespace {
double now_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
std::vector<uint8_t> read_file(const char* path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) {
    std::fprintf(stderr, "cannot read %s\n", path);
    std::exit(2);
  }
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}
std::vector<float> read_f32(const char* path) {
  std::vector<uint8_t> b = read_file(path);
  std::vector<float> v(b.size() / sizeof(float));
  std::copy(b.begin(), b.begin() + v.size() * sizeof(float), reinterpret_cast<uint8_t*>(v.data()));
  return v;
}
// A field of /proc/self/status in KiB ("VmHWM", "VmRSS"), or -1.
long status_kib(const char* field) {
  std::ifstream f("/proc/self/status");
  std::string line;
  const std::string key = std::string(field) + ":";
  while (std::getline(f, line))
    if (line.compare(0, key.size(), key) == 0) return std::atol(line.c_str() + key.size());
  return -1;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 5) {
    std::fprintf(stderr, "usage: %s MODEL.onnx INPUT.f32 N,C,H,W THREADS [WARMUP] [ITERS] [EXPECTED.f32]\n", argv[0]);
    return 2;
  }
  const int threads = std::atoi(argv[4]);
  const int warmup = argc > 5 ? std::atoi(argv[5]) : 3;
  const int iters = argc > 6 ? std::atoi(argv[6]) : 20;
  std::vector<int64_t> shape;
  {
    std::stringstream ss(argv[3]);
    std::string d;
    while (std::getline(ss, d, ',')) shape.push_back(std::atoll(d.c_str()));
  }
  kiln::set_num_threads(threads);
  const long rss_base = status_kib("VmRSS");
  const std::vector<uint8_t> bytes = read_file(argv[1]);
  kiln::onnx::Tensor input{shape, read_f32(argv[2])};
  try {
    const double t0 = now_ms();
    kiln::onnx::Session s = kiln::onnx::Session::load(bytes.data(), bytes.size());
    const double t_loaded = now_ms();
    std::vector<kiln::onnx::Tensor> out = s.run({input});
    const double t_first = now_ms();
    for (int i = 0; i < warmup; ++i) s.run({input});
    std::vector<double> samples;
    for (int i = 0; i < iters; ++i) {
      const double t = now_ms();
      s.run({input});
      samples.push_back(now_ms() - t);
    }
    std::vector<double> sorted = samples;
    std::sort(sorted.begin(), sorted.end());
    const size_t n = sorted.size();
    const double med = n == 0 ? NAN : n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    double max_rel = -1;
    if (argc > 7) {
      std::vector<float> want = read_f32(argv[7]);
      const std::vector<float>& got = out[0].data;
      double scale = 0, diff = 0;
      for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
        scale = std::max(scale, double(std::fabs(want[i])));
        diff = std::max(diff, double(std::fabs(want[i] - got[i])));
      }
      max_rel = want.size() == got.size() && scale > 0 ? diff / scale : INFINITY;
    }
    std::printf("{\"threads\":%d,\"session_ms\":%.3f,\"first_run_ms\":%.3f,\"load_ms\":%.3f,\"median_ms\":%.3f,\"samples\":[",
                kiln::num_threads(), t_loaded - t0, t_first - t_loaded, t_first - t0, med);
    for (size_t i = 0; i < samples.size(); ++i) std::printf("%s%.3f", i ? "," : "", samples[i]);
    std::printf("],\"rss_base_kib\":%ld,\"peak_rss_kib\":%ld,\"max_rel_err\":%.3g}\n", rss_base, status_kib("VmHWM"), max_rel);
  } catch (const std::exception& e) {
    std::string msg;
    for (const char* c = e.what(); *c; ++c) {
      if (*c == '"' || *c == '\\') msg += '\\';
      msg += (*c == '\n' || *c == '\t') ? ' ' : *c;
    }
    std::printf("{\"error\":\"%s\"}\n", msg.c_str());
    return 1;
  }
  return 0;
}
