// Weight initializers with TF.js names and definitions (fan-based scales;
// the "normal" variants are truncated at two standard deviations).
#pragma once
#include <cstdint>
#include <string>

#include "core/rng.h"

namespace kiln {

enum class Initializer : uint8_t {
  kZeros = 0, kOnes = 1, kGlorotUniform = 2, kGlorotNormal = 3, kHeNormal = 4, kHeUniform = 5,
  kLecunNormal = 6, kLecunUniform = 7,
  kRandomUniform = 8,    // U(-0.05, 0.05), TF.js defaults (embeddings)
  kRandomNormal = 9,     // N(0, 0.05)
  kTruncatedNormal = 10, // N(0, 0.05) truncated at two standard deviations
  kOrthogonal = 11,      // a [fan_in, fan_out] matrix with orthonormal rows or columns (recurrent kernels)
};
constexpr int kNumInitializers = 12;

const char* initializer_name(Initializer init);
bool initializer_from_name(const std::string& name, Initializer* out);
// Orthogonal reads the weight as a [fan_in, fan_out] matrix (n must equal their product).
void initialize(Initializer init, float* w, int64_t n, int64_t fan_in, int64_t fan_out, Rng& rng);

}  // namespace kiln
