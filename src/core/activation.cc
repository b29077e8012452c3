#include "core/activation.h"

#include "core/enum_names.h"

namespace kiln {

const char* activation_name(Activation act) {
  switch (act) {
    case Activation::kLinear: return "linear";
    case Activation::kRelu: return "relu";
    case Activation::kSigmoid: return "sigmoid";
    case Activation::kTanh: return "tanh";
    case Activation::kSoftmax: return "softmax";
    case Activation::kRelu6: return "relu6";
    case Activation::kElu: return "elu";
    case Activation::kSelu: return "selu";
    case Activation::kGelu: return "gelu";
    case Activation::kSwish: return "swish";
    case Activation::kMish: return "mish";
    case Activation::kHardSigmoid: return "hardSigmoid";
    case Activation::kSoftplus: return "softplus";
    case Activation::kSoftsign: return "softsign";
    case Activation::kLogSoftmax: return "logSoftmax";
    case Activation::kExponential: return "exponential";
    case Activation::kLeakyRelu: return "leakyRelu";
  }
  return "?";
}

bool activation_from_name(const std::string& name, Activation* out) {
  return enum_from_name(name, kNumActivations, activation_name, out);
}

bool activation_is_rowwise(Activation act) { return act == Activation::kSoftmax || act == Activation::kLogSoftmax; }

bool activation_grad_needs_input(Activation act) {
  return act == Activation::kGelu || act == Activation::kSwish || act == Activation::kMish;
}

}  // namespace kiln
