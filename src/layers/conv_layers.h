// Convolution, pooling and normalization layers (TF.js names; channels last).
#pragma once
#include "layers/layer.h"

namespace kiln {

Status make_conv1d(const Json& config, std::unique_ptr<Layer>* out);
Status make_conv2d(const Json& config, std::unique_ptr<Layer>* out);
Status make_depthwise_conv2d(const Json& config, std::unique_ptr<Layer>* out);
Status make_separable_conv2d(const Json& config, std::unique_ptr<Layer>* out);
Status make_conv2d_transpose(const Json& config, std::unique_ptr<Layer>* out);
// conv3d_layers.cc
Status make_conv3d(const Json& config, std::unique_ptr<Layer>* out);
Status make_conv3d_transpose(const Json& config, std::unique_ptr<Layer>* out);
Status make_max_pooling3d(const Json& config, std::unique_ptr<Layer>* out);
Status make_average_pooling3d(const Json& config, std::unique_ptr<Layer>* out);

Status make_max_pooling1d(const Json& config, std::unique_ptr<Layer>* out);
Status make_max_pooling2d(const Json& config, std::unique_ptr<Layer>* out);
Status make_average_pooling1d(const Json& config, std::unique_ptr<Layer>* out);
Status make_average_pooling2d(const Json& config, std::unique_ptr<Layer>* out);
Status make_global_max_pooling1d(const Json& config, std::unique_ptr<Layer>* out);
Status make_global_max_pooling2d(const Json& config, std::unique_ptr<Layer>* out);
Status make_global_average_pooling1d(const Json& config, std::unique_ptr<Layer>* out);
Status make_global_average_pooling2d(const Json& config, std::unique_ptr<Layer>* out);

Status make_batch_normalization(const Json& config, std::unique_ptr<Layer>* out);
Status make_layer_normalization(const Json& config, std::unique_ptr<Layer>* out);

}  // namespace kiln
