// Layers: the user-facing building blocks (TF.js / Keras names, arguments and
// weight layouts). A layer is configured from its JSON config, declares its
// weights once its input shapes are known, and appends its computation to a
// graph each time the model compiles a plan. Layers hold no tensors: the
// model owns every weight, so one layer object can be applied many times
// (shared layers) and plans for any batch size can be built from it.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/rng.h"
#include "core/shape.h"
#include "core/status.h"
#include "graph/graph.h"
#include "train/initializer.h"

namespace kiln {

struct WeightSpec {
  WeightSpec() = default;
  WeightSpec(std::string n, Shape s, Initializer i, int64_t fi, int64_t fo, bool t)
      : name(std::move(n)), shape(std::move(s)), init(i), fan_in(fi), fan_out(fo), trainable(t) {}
  std::string name;  // e.g. "kernel", "bias", "moving_mean"
  Shape shape;
  Initializer init = Initializer::kZeros;
  int64_t fan_in = 1, fan_out = 1;  // for the fan-scaled initializers
  bool trainable = true;
  // Replaces `init` when set: weights whose parts start differently (LSTM's
  // unitForgetBias puts ones in the forget gate's block).
  std::function<Status(float* data, Rng& rng)> custom_init;
};

// What a layer's call() appends its nodes to.
struct LayerContext {
  Graph* graph = nullptr;
  bool training = false;            // dropout and noise active, batch statistics
  bool differentiated = false;      // a backward pass follows (training, or an eager call under autograd)
  bool trainable = true;            // false: the layer is frozen (a frozen BatchNormalization runs in inference mode, as in Keras)
  std::vector<int> weights;         // value ids of this layer's weights, in WeightSpec order
  // Registers a buffer the layer owns (recurrent state of stateful layers) as
  // an external value of the graph; returns its value id.
  std::function<int(const Shape&, float*)> external;
  // Output value -> (its pre-activation value, the activation) for outputs
  // ending in softmax or sigmoid, so the loss can start from the logits.
  std::map<int, std::pair<int, Activation>>* logits = nullptr;
  // Masks (TF.js's Masking layer, Embedding maskZero): float [batch, steps]
  // values, 0 at the steps to skip. One per input, -1 where none; a layer
  // whose mask_mode() is kOwn sets those of its outputs.
  std::vector<int> input_masks;
  std::vector<int> output_masks;
};

// What a layer does with the masks of its inputs (TF.js's supportsMasking
// and computeMask).
enum class MaskMode {
  kStop,         // the mask ends here (TF.js's layers without supportsMasking drop it in predict and fit)
  kPassThrough,  // one input; every output carries its mask
  kOwn,          // call() reads ctx.input_masks and sets ctx.output_masks
  kRefuse,       // a masked input is an error (merge layers: TF.js's merged masks are malformed; ConvLSTM2D)
};

class Layer {
 public:
  virtual ~Layer() = default;
  virtual const char* class_name() const = 0;
  const std::string& name() const { return name_; }
  void set_name(std::string n) { name_ = std::move(n); }

  // Input shapes exclude the batch dimension. Fills the weights this layer
  // needs and its output shapes (also without batch).
  virtual Status build(const std::vector<Shape>& inputs, std::vector<WeightSpec>* weights,
                       std::vector<Shape>* outputs) = 0;
  // Appends the computation for `inputs` (batch first) and returns the outputs.
  virtual Status call(LayerContext& ctx, const std::vector<int>& inputs, std::vector<int>* outputs) const = 0;
  virtual MaskMode mask_mode() const { return MaskMode::kStop; }
  // Stateful layers (stateful RNNs) forget their state.
  virtual void reset_states() {}
  // A config option that changes training but not inference which Kiln does
  // not implement (a kernel regularizer or constraint): the layer predicts as
  // the file says, and compile() refuses with this text. Empty when none.
  const std::string& training_refusal() const { return training_refusal_; }
  void set_training_refusal(std::string why) { training_refusal_ = std::move(why); }

 protected:
  // "<name>: <message>" errors.
  Status error(const std::string& message) const { return Status::error(name_ + " (" + class_name() + "): " + message); }
  std::string name_;
  std::string training_refusal_;
};

using LayerFactory = Status (*)(const Json& config, std::unique_ptr<Layer>* out);

// Creates a layer from its class name (TF.js className, e.g. "Conv2D") and config.
Status make_layer(const std::string& class_name, const Json& config, std::unique_ptr<Layer>* out);
// Every class name make_layer knows, in registration order (docs, tests).
std::vector<std::string> layer_class_names();

}  // namespace kiln
