// Elementwise activations with parameters, as the advanced-activation layers
// define them (the activation codes in core/activation.h take none):
//  * ReLU (Keras formula, which TF.js's maxValue-only ReLU is a case of):
//      pos = threshold != 0 ? (x > threshold ? x : 0) : max(x, 0),
//      clipped to [0, maxValue] only when a maxValue is given,
//      y = pos - negativeSlope * max(threshold - x, 0);
//  * LeakyReLU: y = x < 0 ? alpha * x : x (gradient alpha where x <= 0, as tf.leakyRelu);
//  * ELU: y = x > 0 ? x : alpha * (exp(x) - 1);
//  * ThresholdedReLU: y = x > theta ? x : 0.
// Gradients are taken from the input x.
#pragma once
#include <limits>

#include "graph/op.h"

namespace kiln {

enum class ParamActivation { kRelu, kLeakyRelu, kElu, kThresholdedRelu };

struct ParamActivationSpec {
  ParamActivation kind = ParamActivation::kRelu;
  float alpha = 0;      // LeakyReLU / ELU alpha, ReLU negativeSlope
  float threshold = 0;  // ReLU threshold, ThresholdedReLU theta
  float max_value = std::numeric_limits<float>::infinity();  // ReLU only
};

class ParamActivationOp : public Op {
 public:
  explicit ParamActivationOp(ParamActivationSpec spec) : s_(spec) {}
  std::string name() const override;
  Status infer(const std::vector<Shape>& in, std::vector<Shape>* out) const override;
  void forward(const OpForwardArgs& a) const override;
  void backward(const OpBackwardArgs& a) const override;

 private:
  ParamActivationSpec s_;
};

// The reference kernels: y = f(x) and dx = dy * f'(x) over n elements.
void param_activation_forward(const ParamActivationSpec& s, const float* x, float* y, int64_t n);
void param_activation_backward(const ParamActivationSpec& s, const float* x, const float* dy, float* dx, int64_t n);

}  // namespace kiln
