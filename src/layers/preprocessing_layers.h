// The preprocessing layers of TF.js 4.22 the core has: Rescaling (x * scale
// + offset), CenterCrop (the central height x width of each image), Resizing
// (bilinear or nearest, corners aligned as TF.js's) and
// CategoryEncoding (ids to one-hot, multi-hot or count vectors).
#pragma once
#include <memory>

#include "core/json.h"
#include "core/status.h"
#include "layers/layer.h"

namespace kiln {

Status make_rescaling(const Json& config, std::unique_ptr<Layer>* out);
Status make_center_crop(const Json& config, std::unique_ptr<Layer>* out);
Status make_resizing(const Json& config, std::unique_ptr<Layer>* out);
Status make_category_encoding(const Json& config, std::unique_ptr<Layer>* out);

}  // namespace kiln
