#include "train/initializer.h"

#include <cmath>

#include "core/enum_names.h"

namespace kiln {

const char* initializer_name(Initializer init) {
  switch (init) {
    case Initializer::kZeros: return "zeros";
    case Initializer::kOnes: return "ones";
    case Initializer::kGlorotUniform: return "glorotUniform";
    case Initializer::kGlorotNormal: return "glorotNormal";
    case Initializer::kHeNormal: return "heNormal";
    case Initializer::kHeUniform: return "heUniform";
  }
  return "?";
}

bool initializer_from_name(const std::string& name, Initializer* out) {
  return enum_from_name(name, kNumInitializers, initializer_name, out);
}

static double truncated_normal(Rng& rng) {
  for (;;) {
    double x = rng.normal();
    if (std::fabs(x) <= 2.0) return x;
  }
}

void initialize(Initializer init, float* w, int64_t n, int64_t fan_in, int64_t fan_out, Rng& rng) {
  const double fan_avg = double(fan_in + fan_out);
  double uniform_limit = 0, normal_std = 0;
  switch (init) {
    case Initializer::kZeros:
    case Initializer::kOnes:
      for (int64_t i = 0; i < n; ++i) w[i] = init == Initializer::kOnes ? 1.0f : 0.0f;
      return;
    case Initializer::kGlorotUniform: uniform_limit = std::sqrt(6.0 / fan_avg); break;
    case Initializer::kHeUniform: uniform_limit = std::sqrt(6.0 / double(fan_in)); break;
    case Initializer::kGlorotNormal: normal_std = std::sqrt(2.0 / fan_avg); break;
    case Initializer::kHeNormal: normal_std = std::sqrt(2.0 / double(fan_in)); break;
  }
  for (int64_t i = 0; i < n; ++i) {
    w[i] = normal_std > 0 ? float(normal_std * truncated_normal(rng))
                          : float((2.0 * rng.uniform() - 1.0) * uniform_limit);
  }
}

}  // namespace kiln
