// Factories of the noise / regularization layers: Dropout, SpatialDropout1D,
// SpatialDropout2D, GaussianNoise, GaussianDropout and AlphaDropout. They act
// only in training plans (LayerContext::training); otherwise they return their
// input value itself.
#pragma once
#include "layers/layer.h"

namespace kiln {

Status make_dropout(const Json& config, std::unique_ptr<Layer>* out);
Status make_spatial_dropout1d(const Json& config, std::unique_ptr<Layer>* out);
Status make_spatial_dropout2d(const Json& config, std::unique_ptr<Layer>* out);
Status make_gaussian_noise(const Json& config, std::unique_ptr<Layer>* out);
Status make_gaussian_dropout(const Json& config, std::unique_ptr<Layer>* out);
Status make_alpha_dropout(const Json& config, std::unique_ptr<Layer>* out);

}  // namespace kiln
