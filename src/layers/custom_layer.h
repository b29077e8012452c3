// Layers whose computation lives in the host application: JavaScript classes
// that extend kiln.layers.Layer (TF.js's custom layers). The core keeps their
// weights, plans, gradients and optimizer updates like any layer's; the host
// says what weights and outputs a layer has for its input shapes and runs
// its forward and backward passes on the buffers the plan hands it; their
// failures go through graph/op_errors.h.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/shape.h"
#include "core/status.h"
#include "graph/op.h"
#include "layers/layer.h"

namespace kiln {

class CustomLayerHost {
 public:
  virtual ~CustomLayerHost() = default;
  // A new host layer of class `class_name` made from `config`: its id (> 0).
  virtual Status create(const std::string& class_name, const Json& config, int* id) = 0;
  virtual void release(int id) = 0;
  // For these input shapes (batch excluded): {"weights": [{"name", "shape",
  // "initializer", "trainable"}], "outputs": [[dims without batch], ...]}.
  virtual Status build(int id, const std::vector<Shape>& inputs, Json* result) = 0;
  // Runs application `call` of layer `id` (inputs: the layer's, then its
  // weights). `training`: the layer's training behaviour (TF.js's
  // kwargs.training); `recording`: a backward pass follows, so the host
  // keeps what it needs (training, or an eager call under autograd).
  virtual Status forward(int id, int64_t call, bool training, bool recording, const OpForwardArgs& args) = 0;
  // Writes d loss / d input into every non-null din (the weights' included).
  virtual Status backward(int id, int64_t call, const OpBackwardArgs& args) = 0;
  // The plan holding application `call` is gone: what the host kept for it can go.
  virtual void forget(int64_t call) = 0;
};

// The host (the JavaScript API's, src/wasm): none natively, where a custom
// class name is an unknown layer class.
void set_custom_layer_host(CustomLayerHost* host);
// A layer of a class the core does not have, made by the host.
Status make_custom_layer(const std::string& class_name, const Json& config, std::unique_ptr<Layer>* out);

}  // namespace kiln
