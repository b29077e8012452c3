// Weight initializers with TF.js names and definitions (fan-based scales;
// the "normal" variants are truncated at two standard deviations).
#pragma once
#include <cstdint>
#include <string>

#include "core/rng.h"

namespace kiln {

enum class Initializer : uint8_t {
  kZeros = 0, kOnes = 1, kGlorotUniform = 2, kGlorotNormal = 3, kHeNormal = 4, kHeUniform = 5,
};
constexpr int kNumInitializers = 6;

const char* initializer_name(Initializer init);
bool initializer_from_name(const std::string& name, Initializer* out);
void initialize(Initializer init, float* w, int64_t n, int64_t fan_in, int64_t fan_out, Rng& rng);

}  // namespace kiln
