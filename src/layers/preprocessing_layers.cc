#include "layers/preprocessing_layers.h"

#include <cmath>
#include <string>

#include "layers/config.h"
#include "ops/category_encoding.h"
#include "ops/pad.h"
#include "ops/rescale.h"
#include "ops/resize.h"

namespace kiln {

namespace {

class Rescaling : public Layer {
 public:
  double scale = 1, offset = 0;
  const char* class_name() const override { return "Rescaling"; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 1) return error("expects one input");
    *outputs = in;
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<RescaleOp>(float(scale), float(offset)), {in[0]}, &y));
    *out = {y};
    return Status();
  }
};

// Crops [rows, cols, channels] images to their central height x width:
// (rows - height) / 2 rows off the top (rounded down), the rest off the bottom.
class CenterCrop : public Layer {
 public:
  int64_t height = 0, width = 0;
  const char* class_name() const override { return "CenterCrop"; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].size() != 3) return error("expects one input of shape [rows, cols, channels] (batch excluded)");
    if (in[0][0] < height || in[0][1] < width)
      return error("images of " + std::to_string(in[0][0]) + "x" + std::to_string(in[0][1]) + " are smaller than " + std::to_string(height) +
                   "x" + std::to_string(width) + "; upsizing them (TF.js resizes bilinearly) is not supported: resize first");
    *outputs = {{height, width, in[0][2]}};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    const Shape& s = ctx.graph->values()[size_t(in[0])].shape;  // batch included
    const int64_t top = (s[1] - height) / 2, left = (s[2] - width) / 2;
    const std::vector<int64_t> before{0, -top, -left, 0}, after{0, -(s[1] - height - top), -(s[2] - width - left), 0};
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<PadOp>(before, after), {in[0]}, &y));
    *out = {y};
    return Status();
  }
};

// Resizes [rows, cols, channels] images to height x width as TF.js's Resizing
// does (its default: corners aligned).
class Resizing : public Layer {
 public:
  int64_t height = 0, width = 0;
  bool bilinear = true;
  const char* class_name() const override { return "Resizing"; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].size() != 3) return error("expects one input of shape [rows, cols, channels] (batch excluded)");
    *outputs = {{height, width, in[0][2]}};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<ResizeOp>(height, width, bilinear), {in[0]}, &y));
    *out = {y};
    return Status();
  }
};

class CategoryEncoding : public Layer {
 public:
  int64_t num_tokens = 0;
  CategoryOutput mode = CategoryOutput::kMultiHot;
  const char* class_name() const override { return "CategoryEncoding"; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].size() > 1) return error("expects ids of shape [] or [ids] per sample (batch excluded)");
    std::vector<Shape> full;
    Shape batched{1};
    batched.insert(batched.end(), in[0].begin(), in[0].end());
    KILN_RETURN_IF_ERROR(CategoryEncodingOp(num_tokens, mode).infer({batched}, &full));
    *outputs = {{num_tokens}};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<CategoryEncodingOp>(num_tokens, mode), {in[0]}, &y));
    *out = {y};
    return Status();
  }
};

}  // namespace

Status make_rescaling(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<Rescaling>();
  ConfigReader r(config, "Rescaling");
  if (!r.has("scale")) return Status::error("Rescaling: argument 'scale' is required");
  KILN_RETURN_IF_ERROR(r.get_float("scale", 1, &l->scale));
  KILN_RETURN_IF_ERROR(r.get_float("offset", 0, &l->offset));
  if (!std::isfinite(l->scale) || !std::isfinite(l->offset)) return Status::error("Rescaling: scale and offset must be finite");
  *out = std::move(l);
  return Status();
}

Status make_center_crop(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<CenterCrop>();
  ConfigReader r(config, "CenterCrop");
  if (!r.has("height") || !r.has("width")) return Status::error("CenterCrop: arguments 'height' and 'width' are required");
  KILN_RETURN_IF_ERROR(r.get_int("height", 0, &l->height, 1));
  KILN_RETURN_IF_ERROR(r.get_int("width", 0, &l->width, 1));
  *out = std::move(l);
  return Status();
}

Status make_resizing(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<Resizing>();
  ConfigReader r(config, "Resizing");
  if (!r.has("height") || !r.has("width")) return Status::error("Resizing: arguments 'height' and 'width' are required");
  KILN_RETURN_IF_ERROR(r.get_int("height", 0, &l->height, 1, int64_t(1) << 16));
  KILN_RETURN_IF_ERROR(r.get_int("width", 0, &l->width, 1, int64_t(1) << 16));
  std::string mode;
  KILN_RETURN_IF_ERROR(r.get_choice("interpolation", "bilinear", {"bilinear", "nearest"}, &mode));
  l->bilinear = mode == "bilinear";
  bool crop = false;
  KILN_RETURN_IF_ERROR(r.get_bool("cropToAspectRatio", false, &crop));
  // TF.js 4.22 crops nothing with it (it only stops aligning corners); Keras crops: neither is copied.
  if (crop) return Status::error("Resizing: argument 'cropToAspectRatio' is not supported");
  *out = std::move(l);
  return Status();
}

Status make_category_encoding(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<CategoryEncoding>();
  ConfigReader r(config, "CategoryEncoding");
  if (!r.has("numTokens")) return Status::error("CategoryEncoding: argument 'numTokens' is required");
  KILN_RETURN_IF_ERROR(r.get_int("numTokens", 0, &l->num_tokens, 1, int64_t(1) << 24));
  std::string mode;
  KILN_RETURN_IF_ERROR(r.get_choice("outputMode", "multiHot", {"oneHot", "multiHot", "count"}, &mode));
  l->mode = mode == "oneHot" ? CategoryOutput::kOneHot : mode == "count" ? CategoryOutput::kCount : CategoryOutput::kMultiHot;
  *out = std::move(l);
  return Status();
}

}  // namespace kiln
