// The table of every layer class make_layer knows. Each family's factories
// are declared in its own header (src/layers/<family>_layers.h).
#include <cstring>

#include "layers/config.h"
#include "layers/core_layers.h"
#include "layers/custom_layer.h"
#include "layers/activation_layers.h"
#include "layers/conv_layers.h"
#include "layers/embedding_layers.h"
#include "layers/merge_layers.h"
#include "layers/noise_layers.h"
#include "layers/preprocessing_layers.h"
#include "layers/recurrent_layers.h"
#include "layers/reshaping_layers.h"

namespace kiln {

namespace {
struct Entry {
  const char* class_name;
  LayerFactory make;
};
const Entry kLayers[] = {
    {"InputLayer", make_input_layer},
    {"Dense", make_dense},
    {"Activation", make_activation_layer},
    {"Masking", make_masking},
    // Simple layers: reshaping, merge, advanced activations, noise, embedding.
    {"Flatten", make_flatten},
    {"Reshape", make_reshape},
    {"Permute", make_permute},
    {"RepeatVector", make_repeat_vector},
    {"Cropping1D", make_cropping1d},
    {"Cropping2D", make_cropping2d},
    {"ZeroPadding1D", make_zero_padding1d},
    {"ZeroPadding2D", make_zero_padding2d},
    {"UpSampling1D", make_up_sampling1d},
    {"UpSampling2D", make_up_sampling2d},
    {"Add", make_add_layer},
    {"Subtract", make_subtract_layer},
    {"Multiply", make_multiply_layer},
    {"Average", make_average_layer},
    {"Maximum", make_maximum_layer},
    {"Minimum", make_minimum_layer},
    {"Concatenate", make_concatenate},
    {"Dot", make_dot_layer},
    {"ReLU", make_relu_layer},
    {"LeakyReLU", make_leaky_relu_layer},
    {"PReLU", make_prelu_layer},
    {"ELU", make_elu_layer},
    {"ThresholdedReLU", make_thresholded_relu_layer},
    {"Softmax", make_softmax_layer},
    {"Dropout", make_dropout},
    {"SpatialDropout1D", make_spatial_dropout1d},
    {"SpatialDropout2D", make_spatial_dropout2d},
    {"GaussianNoise", make_gaussian_noise},
    {"GaussianDropout", make_gaussian_dropout},
    {"AlphaDropout", make_alpha_dropout},
    {"Embedding", make_embedding},
    // Convolution, pooling, normalization.
    {"Conv1D", make_conv1d},
    {"Conv2D", make_conv2d},
    {"DepthwiseConv2D", make_depthwise_conv2d},
    {"SeparableConv2D", make_separable_conv2d},
    {"Conv2DTranspose", make_conv2d_transpose},
    {"Conv3D", make_conv3d},
    {"Conv3DTranspose", make_conv3d_transpose},
    {"MaxPooling3D", make_max_pooling3d},
    {"AveragePooling3D", make_average_pooling3d},
    {"MaxPooling1D", make_max_pooling1d},
    {"MaxPooling2D", make_max_pooling2d},
    {"AveragePooling1D", make_average_pooling1d},
    {"AveragePooling2D", make_average_pooling2d},
    {"GlobalMaxPooling1D", make_global_max_pooling1d},
    {"GlobalMaxPooling2D", make_global_max_pooling2d},
    {"GlobalAveragePooling1D", make_global_average_pooling1d},
    {"GlobalAveragePooling2D", make_global_average_pooling2d},
    {"BatchNormalization", make_batch_normalization},
    {"LayerNormalization", make_layer_normalization},
    // Recurrent layers and wrappers.
    {"SimpleRNN", make_simple_rnn},
    {"LSTM", make_lstm},
    {"GRU", make_gru},
    {"ConvLSTM2D", make_conv_lstm2d},
    {"Bidirectional", make_bidirectional},
    {"TimeDistributed", make_time_distributed},
    // Preprocessing.
    {"Rescaling", make_rescaling},
    {"CenterCrop", make_center_crop},
    {"Resizing", make_resizing},
    {"CategoryEncoding", make_category_encoding},
};
// A regularizer or constraint key (kernelRegularizer, biasConstraint, ...).
bool is_training_only_key(const std::string& key) {
  const auto ends_with = [&](const char* tail) {
    const size_t n = std::strlen(tail);
    return key.size() >= n && key.compare(key.size() - n, n, tail) == 0;
  };
  return ends_with("Regularizer") || ends_with("Constraint");
}

// The first regularizer or constraint the config (or a wrapped layer's) sets.
std::string training_only_option(const Json& config) {
  for (const auto& [key, v] : config.members()) {
    if (!v.is_null() && is_training_only_key(key)) return key;
    if (key == "layer" && v.is_object())
      if (const Json* inner = v.find("config"); inner && inner->is_object())
        if (std::string k = training_only_option(*inner); !k.empty()) return k;
  }
  return {};
}

// Keys any layer's config may carry that describe the model rather than the
// layer, or change only how fast it runs (Keras's RNN implementation, unroll).
bool is_common_key(const std::string& key) {
  static const char* const kCommon[] = {"name", "trainable", "dtype", "batchInputShape", "inputShape", "batchSize", "inputLength", "implementation", "unroll"};
  for (const char* k : kCommon)
    if (key == k) return true;
  return is_training_only_key(key);  // read by training_only_option
}

// An argument the factory did not read: refused, never silently ignored.
Status unread_argument(const std::string& class_name, const Json& config, const ConfigKeyLog& log) {
  for (const auto& [key, v] : config.members()) {
    if (v.is_null() || is_common_key(key) || log.read(key)) continue;
    return Status::error(class_name + ": argument '" + key + "' is not supported (Kiln's " + class_name +
                         " does not have it: a TF.js argument Kiln does not implement, or a misspelling)");
  }
  const Json* dtype = config.find("dtype");
  if (dtype && !dtype->is_null() && !(dtype->is_string() && dtype->as_string() == "float32"))
    return Status::error(class_name + ": argument 'dtype' must be 'float32' (layers compute in float32)");
  return Status();
}

}  // namespace

Status make_layer(const std::string& class_name, const Json& config, std::unique_ptr<Layer>* out) {
  if (!config.is_object()) return Status::error(class_name + ": the config must be an object");
  const Entry* entry = nullptr;
  for (const Entry& e : kLayers)
    if (class_name == e.class_name) entry = &e;
  // A class the core does not have may be the host's (a JavaScript custom
  // layer: its config is its own), or is unknown.
  if (entry) {
    const ConfigKeyLog log;
    KILN_RETURN_IF_ERROR(entry->make(config, out));
    KILN_RETURN_IF_ERROR(unread_argument(class_name, config, log));
  } else {
    KILN_RETURN_IF_ERROR(make_custom_layer(class_name, config, out));
  }
  const Json* name = config.find("name");
  (*out)->set_name(name && name->is_string() ? name->as_string() : class_name);
  if (std::string key = training_only_option(config); !key.empty())
    (*out)->set_training_refusal((*out)->name() + ": argument '" + key +
                                 "' is not supported in training (Kiln adds no regularization losses or constraints); "
                                 "the model predicts, but cannot be trained until the layer is rebuilt without it");
  return Status();
}

std::vector<std::string> layer_class_names() {
  std::vector<std::string> names;
  for (const Entry& e : kLayers) names.push_back(e.class_name);
  return names;
}

}  // namespace kiln
