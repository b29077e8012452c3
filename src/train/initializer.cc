#include "train/initializer.h"

#include <cmath>
#include <vector>

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
    case Initializer::kLecunNormal: return "lecunNormal";
    case Initializer::kLecunUniform: return "lecunUniform";
    case Initializer::kRandomUniform: return "randomUniform";
    case Initializer::kRandomNormal: return "randomNormal";
    case Initializer::kTruncatedNormal: return "truncatedNormal";
    case Initializer::kOrthogonal: return "orthogonal";
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

// Rows (or columns, whichever are fewer) of a random normal matrix made
// orthonormal by modified Gram-Schmidt in double precision.
static void orthogonal(float* w, int64_t rows, int64_t cols, Rng& rng) {
  const bool by_rows = rows <= cols;
  const int64_t vecs = by_rows ? rows : cols, len = by_rows ? cols : rows;
  std::vector<double> m(size_t(vecs * len));
  for (double& v : m) v = rng.normal();
  for (int64_t i = 0; i < vecs; ++i) {
    double* vi = &m[size_t(i * len)];
    for (int64_t j = 0; j < i; ++j) {
      const double* vj = &m[size_t(j * len)];
      double dot = 0;
      for (int64_t k = 0; k < len; ++k) dot += vi[k] * vj[k];
      for (int64_t k = 0; k < len; ++k) vi[k] -= dot * vj[k];
    }
    double norm = 0;
    for (int64_t k = 0; k < len; ++k) norm += vi[k] * vi[k];
    norm = std::sqrt(norm) + 1e-300;
    for (int64_t k = 0; k < len; ++k) vi[k] /= norm;
  }
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c) w[r * cols + c] = float(by_rows ? m[size_t(r * len + c)] : m[size_t(c * len + r)]);
}

void initialize(Initializer init, float* w, int64_t n, int64_t fan_in, int64_t fan_out, Rng& rng) {
  const double fan_avg = double(fan_in + fan_out);
  double uniform_limit = 0, normal_std = 0;
  bool truncated = true;
  switch (init) {
    case Initializer::kZeros:
    case Initializer::kOnes:
      for (int64_t i = 0; i < n; ++i) w[i] = init == Initializer::kOnes ? 1.0f : 0.0f;
      return;
    case Initializer::kGlorotUniform: uniform_limit = std::sqrt(6.0 / fan_avg); break;
    case Initializer::kHeUniform: uniform_limit = std::sqrt(6.0 / double(fan_in)); break;
    case Initializer::kGlorotNormal: normal_std = std::sqrt(2.0 / fan_avg); break;
    case Initializer::kHeNormal: normal_std = std::sqrt(2.0 / double(fan_in)); break;
    case Initializer::kLecunNormal: normal_std = std::sqrt(1.0 / double(fan_in)); break;
    case Initializer::kLecunUniform: uniform_limit = std::sqrt(3.0 / double(fan_in)); break;
    case Initializer::kRandomUniform: uniform_limit = 0.05; break;
    case Initializer::kRandomNormal: normal_std = 0.05; truncated = false; break;
    case Initializer::kTruncatedNormal: normal_std = 0.05; break;
    case Initializer::kOrthogonal:
      if (fan_in * fan_out == n) {
        orthogonal(w, fan_in, fan_out, rng);
        return;
      }
      normal_std = std::sqrt(1.0 / double(fan_in));  // not a matrix: fall back to a scaled normal
      break;
  }
  for (int64_t i = 0; i < n; ++i) {
    w[i] = normal_std > 0 ? float(normal_std * (truncated ? truncated_normal(rng) : rng.normal()))
                          : float((2.0 * rng.uniform() - 1.0) * uniform_limit);
  }
}

}  // namespace kiln
