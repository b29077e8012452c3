// Initializers as TF.js and Keras serialize them: a name ("glorotUniform") or
// {className, config} ({className: "VarianceScaling", config: {scale: 2,
// mode: "fanIn", distribution: "normal"}}). Every config value is checked:
// one Kiln cannot honour is an error, never ignored.
#pragma once
#include <string>

#include "core/json.h"
#include "core/status.h"
#include "train/initializer.h"

namespace kiln {

// The initializer `value` describes, or an error that says what does not fit.
Status initializer_from_json(const Json& value, Initializer* out);

}  // namespace kiln
