// Factories of the core layers (InputLayer, Dense, Activation, Masking). Every layer
// family has one such header; src/layers/registry.cc lists them all.
#pragma once
#include "layers/layer.h"

namespace kiln {

Status make_input_layer(const Json& config, std::unique_ptr<Layer>* out);
Status make_dense(const Json& config, std::unique_ptr<Layer>* out);
Status make_activation_layer(const Json& config, std::unique_ptr<Layer>* out);
Status make_masking(const Json& config, std::unique_ptr<Layer>* out);

// The model's input placeholder: its shape (batch excluded).
Shape input_layer_shape(const Layer& layer);

// Shared by layers that end in an activation: appends act(x) (softmax and
// sigmoid as their own node, recording the logits for a fused loss).
Status apply_activation(LayerContext& ctx, int x, Activation act, int* out);

}  // namespace kiln
