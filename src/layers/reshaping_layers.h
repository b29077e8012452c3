// Factories of the reshaping layers: Flatten, Reshape, Permute, RepeatVector,
// Cropping1D, Cropping2D, ZeroPadding1D, ZeroPadding2D, UpSampling1D and
// UpSampling2D (TF.js / Keras names, arguments and defaults).
#pragma once
#include "layers/layer.h"

namespace kiln {

Status make_flatten(const Json& config, std::unique_ptr<Layer>* out);
Status make_reshape(const Json& config, std::unique_ptr<Layer>* out);
Status make_permute(const Json& config, std::unique_ptr<Layer>* out);
Status make_repeat_vector(const Json& config, std::unique_ptr<Layer>* out);
Status make_cropping1d(const Json& config, std::unique_ptr<Layer>* out);
Status make_cropping2d(const Json& config, std::unique_ptr<Layer>* out);
Status make_zero_padding1d(const Json& config, std::unique_ptr<Layer>* out);
Status make_zero_padding2d(const Json& config, std::unique_ptr<Layer>* out);
Status make_up_sampling1d(const Json& config, std::unique_ptr<Layer>* out);
Status make_up_sampling2d(const Json& config, std::unique_ptr<Layer>* out);

}  // namespace kiln
