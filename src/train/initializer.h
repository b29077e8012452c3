// Weight initializers: TF.js's (tfjs-layers initializers.ts) with their
// parameters and definitions. The fan-scaled ones are VarianceScaling with
// TF.js's presets; its "normal" is truncated at two standard deviations.
#pragma once
#include <cstdint>
#include <string>

#include "core/rng.h"
#include "core/shape.h"
#include "core/status.h"

namespace kiln {

enum class InitializerKind : uint8_t {
  kZeros, kOnes, kConstant, kRandomUniform, kRandomNormal, kTruncatedNormal, kVarianceScaling, kOrthogonal, kIdentity,
};
enum class FanMode : uint8_t { kFanIn, kFanOut, kFanAvg };
enum class ScalingDistribution : uint8_t {
  kTruncatedNormal,  // TF.js 'normal' (and Keras 'truncated_normal')
  kUniform,
  kNormal,           // Keras 'untruncated_normal'
};

struct Initializer {
  InitializerKind kind = InitializerKind::kZeros;
  // kConstant: the value; kRandomUniform: minval, maxval; kRandomNormal and
  // kTruncatedNormal: mean, stddev; kVarianceScaling: scale; kOrthogonal and
  // kIdentity: gain.
  double a = 0, b = 0;
  FanMode mode = FanMode::kFanIn;                                   // kVarianceScaling
  ScalingDistribution distribution = ScalingDistribution::kTruncatedNormal;  // kVarianceScaling

  bool operator==(const Initializer& o) const {
    return kind == o.kind && a == o.a && b == o.b && mode == o.mode && distribution == o.distribution;
  }
  bool operator!=(const Initializer& o) const { return !(*this == o); }

  // TF.js's named initializers with their default parameters.
  static const Initializer kZeros, kOnes, kGlorotUniform, kGlorotNormal, kHeNormal, kHeUniform, kLecunNormal, kLecunUniform,
      kRandomUniform, kRandomNormal, kTruncatedNormal, kOrthogonal, kIdentity, kVarianceScaling;
};

inline const Initializer Initializer::kZeros{InitializerKind::kZeros};
inline const Initializer Initializer::kOnes{InitializerKind::kOnes};
inline const Initializer Initializer::kGlorotUniform{InitializerKind::kVarianceScaling, 1.0, 0, FanMode::kFanAvg, ScalingDistribution::kUniform};
inline const Initializer Initializer::kGlorotNormal{InitializerKind::kVarianceScaling, 1.0, 0, FanMode::kFanAvg, ScalingDistribution::kTruncatedNormal};
inline const Initializer Initializer::kHeNormal{InitializerKind::kVarianceScaling, 2.0, 0, FanMode::kFanIn, ScalingDistribution::kTruncatedNormal};
inline const Initializer Initializer::kHeUniform{InitializerKind::kVarianceScaling, 2.0, 0, FanMode::kFanIn, ScalingDistribution::kUniform};
inline const Initializer Initializer::kLecunNormal{InitializerKind::kVarianceScaling, 1.0, 0, FanMode::kFanIn, ScalingDistribution::kTruncatedNormal};
inline const Initializer Initializer::kLecunUniform{InitializerKind::kVarianceScaling, 1.0, 0, FanMode::kFanIn, ScalingDistribution::kUniform};
inline const Initializer Initializer::kRandomUniform{InitializerKind::kRandomUniform, -0.05, 0.05};
inline const Initializer Initializer::kRandomNormal{InitializerKind::kRandomNormal, 0.0, 0.05};
inline const Initializer Initializer::kTruncatedNormal{InitializerKind::kTruncatedNormal, 0.0, 0.05};
inline const Initializer Initializer::kOrthogonal{InitializerKind::kOrthogonal, 1.0};
inline const Initializer Initializer::kIdentity{InitializerKind::kIdentity, 1.0};
inline const Initializer Initializer::kVarianceScaling{InitializerKind::kVarianceScaling, 1.0, 0, FanMode::kFanIn, ScalingDistribution::kTruncatedNormal};

// A name as TF.js or Keras writes it ('leCunNormal', 'lecun_normal',
// 'glorotUniform', 'identity', ...), case and underscores ignored; false
// for unknown names and for 'constant' (which needs its value).
bool initializer_from_name(const std::string& name, Initializer* out);
// TF.js's class name of the initializer ("GlorotUniform" for that preset,
// else "VarianceScaling", "Constant", ...).
std::string initializer_class_name(const Initializer& init);

// Fills w (a weight of `shape`, fans as TF.js's computeFans gives them).
// Orthogonal flattens the shape to [product of all but the last, last], as
// TF.js does; Identity needs a square matrix. Errors name the initializer.
Status initialize(const Initializer& init, float* w, const Shape& shape, int64_t fan_in, int64_t fan_out, Rng& rng);

}  // namespace kiln
