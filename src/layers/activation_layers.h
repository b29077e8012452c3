// Factories of the advanced-activation layers: ReLU, LeakyReLU, PReLU, ELU,
// ThresholdedReLU and Softmax.
#pragma once
#include "layers/layer.h"

namespace kiln {

Status make_relu_layer(const Json& config, std::unique_ptr<Layer>* out);
Status make_leaky_relu_layer(const Json& config, std::unique_ptr<Layer>* out);
Status make_prelu_layer(const Json& config, std::unique_ptr<Layer>* out);
Status make_elu_layer(const Json& config, std::unique_ptr<Layer>* out);
Status make_thresholded_relu_layer(const Json& config, std::unique_ptr<Layer>* out);
Status make_softmax_layer(const Json& config, std::unique_ptr<Layer>* out);

}  // namespace kiln
