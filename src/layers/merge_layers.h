// Factories of the merge layers: Add, Subtract, Multiply, Average, Maximum,
// Minimum (same-shape inputs), Concatenate and Dot.
#pragma once
#include "layers/layer.h"

namespace kiln {

Status make_add_layer(const Json& config, std::unique_ptr<Layer>* out);
Status make_subtract_layer(const Json& config, std::unique_ptr<Layer>* out);
Status make_multiply_layer(const Json& config, std::unique_ptr<Layer>* out);
Status make_average_layer(const Json& config, std::unique_ptr<Layer>* out);
Status make_maximum_layer(const Json& config, std::unique_ptr<Layer>* out);
Status make_minimum_layer(const Json& config, std::unique_ptr<Layer>* out);
Status make_concatenate(const Json& config, std::unique_ptr<Layer>* out);
Status make_dot_layer(const Json& config, std::unique_ptr<Layer>* out);

}  // namespace kiln
