#include "train/initializer.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/enum_names.h"

namespace kiln {

namespace {

struct Named {
  const char* folded_name;
  const char* class_name;
  const Initializer* init;
};
const Named kNamed[] = {
    {"zeros", "Zeros", &Initializer::kZeros},
    {"ones", "Ones", &Initializer::kOnes},
    {"glorotuniform", "GlorotUniform", &Initializer::kGlorotUniform},
    {"glorotnormal", "GlorotNormal", &Initializer::kGlorotNormal},
    {"henormal", "HeNormal", &Initializer::kHeNormal},
    {"heuniform", "HeUniform", &Initializer::kHeUniform},
    {"lecunnormal", "LeCunNormal", &Initializer::kLecunNormal},
    {"lecununiform", "LeCunUniform", &Initializer::kLecunUniform},
    {"randomuniform", "RandomUniform", &Initializer::kRandomUniform},
    {"randomnormal", "RandomNormal", &Initializer::kRandomNormal},
    {"truncatednormal", "TruncatedNormal", &Initializer::kTruncatedNormal},
    {"orthogonal", "Orthogonal", &Initializer::kOrthogonal},
    {"identity", "Identity", &Initializer::kIdentity},
    {"variancescaling", "VarianceScaling", &Initializer::kVarianceScaling},
};

double truncated_normal(Rng& rng) {
  for (;;) {
    double x = rng.normal();
    if (std::fabs(x) <= 2.0) return x;
  }
}

// A [rows, cols] matrix with orthonormal rows or columns (whichever are
// fewer): a random normal matrix made orthonormal by modified Gram-Schmidt
// in double precision (TF.js takes the Q of a QR decomposition: the same
// distribution), times `gain`.
void orthogonal(float* w, int64_t rows, int64_t cols, double gain, Rng& rng) {
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
    for (int64_t c = 0; c < cols; ++c) w[r * cols + c] = float(gain * (by_rows ? m[size_t(r * len + c)] : m[size_t(c * len + r)]));
}

void fill_uniform(float* w, int64_t n, double lo, double hi, Rng& rng) {
  // The symmetric form keeps the values of seeded models from before parameters existed.
  if (lo == -hi)
    for (int64_t i = 0; i < n; ++i) w[i] = float((2.0 * rng.uniform() - 1.0) * hi);
  else
    for (int64_t i = 0; i < n; ++i) w[i] = float(lo + (hi - lo) * rng.uniform());
}

void fill_normal(float* w, int64_t n, double mean, double stddev, bool truncated, Rng& rng) {
  for (int64_t i = 0; i < n; ++i) w[i] = float(mean + stddev * (truncated ? truncated_normal(rng) : rng.normal()));
}

}  // namespace

bool initializer_from_name(const std::string& name, Initializer* out) {
  const std::string f = folded_name(name);
  for (const Named& n : kNamed)
    if (f == n.folded_name) {
      *out = *n.init;
      return true;
    }
  return false;
}

std::string initializer_class_name(const Initializer& init) {
  for (const Named& n : kNamed)
    if (*n.init == init && n.init != &Initializer::kVarianceScaling) return n.class_name;
  switch (init.kind) {
    case InitializerKind::kConstant: return "Constant";
    case InitializerKind::kRandomUniform: return "RandomUniform";
    case InitializerKind::kRandomNormal: return "RandomNormal";
    case InitializerKind::kTruncatedNormal: return "TruncatedNormal";
    case InitializerKind::kOrthogonal: return "Orthogonal";
    case InitializerKind::kIdentity: return "Identity";
    default: return "VarianceScaling";
  }
}

Status initialize(const Initializer& init, float* w, const Shape& shape, int64_t fan_in, int64_t fan_out, Rng& rng) {
  const int64_t n = shape_numel(shape);
  switch (init.kind) {
    case InitializerKind::kZeros:
    case InitializerKind::kOnes:
    case InitializerKind::kConstant: {
      const float v = init.kind == InitializerKind::kOnes ? 1.0f : init.kind == InitializerKind::kZeros ? 0.0f : float(init.a);
      std::fill(w, w + n, v);
      return Status();
    }
    case InitializerKind::kRandomUniform: fill_uniform(w, n, init.a, init.b, rng); return Status();
    case InitializerKind::kRandomNormal: fill_normal(w, n, init.a, init.b, false, rng); return Status();
    case InitializerKind::kTruncatedNormal: fill_normal(w, n, init.a, init.b, true, rng); return Status();
    case InitializerKind::kVarianceScaling: {
      const double fan = init.mode == FanMode::kFanIn    ? double(fan_in)
                         : init.mode == FanMode::kFanOut ? double(fan_out)
                                                         : (double(fan_in) + double(fan_out)) / 2;
      const double scale = init.a / std::max(1.0, fan);
      if (init.distribution == ScalingDistribution::kUniform) {
        const double limit = std::sqrt(3.0 * scale);
        fill_uniform(w, n, -limit, limit, rng);
      } else {
        fill_normal(w, n, 0.0, std::sqrt(scale), init.distribution == ScalingDistribution::kTruncatedNormal, rng);
      }
      return Status();
    }
    case InitializerKind::kOrthogonal: {
      if (shape.size() < 2) return Status::error("Orthogonal: the weight must have 2 or more dimensions, got " + shape_to_string(shape));
      const int64_t cols = shape.back(), rows = cols > 0 ? n / cols : 0;
      orthogonal(w, rows, cols, init.a, rng);
      return Status();
    }
    case InitializerKind::kIdentity: {
      if (shape.size() != 2 || shape[0] != shape[1])
        return Status::error("Identity: the weight must be a square matrix, got " + shape_to_string(shape));
      std::fill(w, w + n, 0.0f);
      for (int64_t i = 0; i < shape[0]; ++i) w[i * shape[0] + i] = float(init.a);
      return Status();
    }
  }
  return Status::error("unknown initializer");
}

}  // namespace kiln
