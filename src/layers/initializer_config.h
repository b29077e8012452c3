// Initializers as TF.js and Keras serialize them: a name ("glorotUniform",
// "lecun_normal") or {className, config} ({className: "VarianceScaling",
// config: {scale: 2, mode: "fanIn", distribution: "normal"}}). Every config
// value is honoured or refused with an error, never ignored.
#pragma once
#include <string>

#include "core/json.h"
#include "core/status.h"
#include "train/initializer.h"

namespace kiln {

// The initializer `value` describes, or an error that says what does not fit.
Status initializer_from_json(const Json& value, Initializer* out);
// {className, config} as TF.js serializes it.
Json initializer_to_json(const Initializer& init);

}  // namespace kiln
