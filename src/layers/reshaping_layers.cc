#include "layers/reshaping_layers.h"

#include "layers/arg_utils.h"
#include "layers/config.h"
#include "ops/pad.h"
#include "ops/transpose.h"
#include "ops/upsample.h"
#include "ops/repeat_vector.h"

namespace kiln {

namespace {

Shape with_batch_dim(int64_t batch, const Shape& s) {
  Shape out = {batch};
  out.insert(out.end(), s.begin(), s.end());
  return out;
}

Status get_data_format(const Json& config, const char* layer, bool* channels_first) {
  std::string f;
  KILN_RETURN_IF_ERROR(ConfigReader(config, layer).get_choice("dataFormat", "channelsLast", {"channelsLast", "channelsFirst"}, &f));
  *channels_first = f == "channelsFirst";
  return Status();
}

class Flatten : public Layer {
 public:
  bool channels_first = false;
  const char* class_name() const override { return "Flatten"; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].empty()) return error("expects one input of rank >= 1 (batch excluded)");
    *outputs = {{shape_numel(in[0])}};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    Graph& g = *ctx.graph;
    int x = in[0];
    const Shape shape = g.values()[size_t(x)].shape;
    // channelsFirst: channels go last before flattening, as TF.js does.
    if (channels_first && shape.size() >= 3) {
      std::vector<int> perm = {0};
      for (int d = 2; d < int(shape.size()); ++d) perm.push_back(d);
      perm.push_back(1);
      KILN_RETURN_IF_ERROR(g.op(std::make_shared<TransposeOp>(perm), {x}, &x));
    }
    int y;
    KILN_RETURN_IF_ERROR(g.reshape(x, {shape[0], shape_numel(shape) / shape[0]}, &y));
    *out = {y};
    return Status();
  }
};

class Reshape : public Layer {
 public:
  Shape target;  // -1 for the one inferred dimension
  const char* class_name() const override { return "Reshape"; }
  Status output_shape(const Shape& in, Shape* out) const {
    int64_t known = 1, unknown = -1;
    for (size_t i = 0; i < target.size(); ++i) {
      if (target[i] < 0) unknown = int64_t(i);
      else known *= target[i];
    }
    const int64_t total = shape_numel(in);
    *out = target;
    if (unknown >= 0) {
      if (known == 0 || total % known != 0)
        return error("cannot reshape an input of shape " + shape_to_string(in) + " (" + std::to_string(total) +
                     " values) to " + shape_to_string(target) + ": the size must be unchanged");
      (*out)[size_t(unknown)] = total / known;
    } else if (known != total) {
      return error("cannot reshape an input of shape " + shape_to_string(in) + " (" + std::to_string(total) + " values) to " +
                   shape_to_string(target) + " (" + std::to_string(known) + " values)");
    }
    return Status();
  }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].empty()) return error("expects one input of rank >= 1 (batch excluded)");
    outputs->resize(1);
    return output_shape(in[0], &(*outputs)[0]);
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    Graph& g = *ctx.graph;
    const Shape shape = g.values()[size_t(in[0])].shape;
    Shape s;
    KILN_RETURN_IF_ERROR(output_shape(Shape(shape.begin() + 1, shape.end()), &s));
    int y;
    KILN_RETURN_IF_ERROR(g.reshape(in[0], with_batch_dim(shape[0], s), &y));
    *out = {y};
    return Status();
  }
};

class Permute : public Layer {
 public:
  std::vector<int64_t> dims;  // 1-based
  const char* class_name() const override { return "Permute"; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].size() != dims.size())
      return error("dims " + shape_to_string(dims) + " need one input of rank " + std::to_string(dims.size()) +
                   " (batch excluded)" + (in.size() == 1 ? ", got " + shape_to_string(in[0]) : std::string()));
    Shape s;
    for (int64_t d : dims) s.push_back(in[0][size_t(d - 1)]);
    *outputs = {s};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    std::vector<int> perm = {0};
    for (int64_t d : dims) perm.push_back(int(d));
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<TransposeOp>(perm), {in[0]}, &y));
    *out = {y};
    return Status();
  }
};

class RepeatVector : public Layer {
 public:
  int64_t n = 1;
  const char* class_name() const override { return "RepeatVector"; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || in[0].size() != 1)
      return error("expects one input of shape [features] (batch excluded)" +
                   (in.size() == 1 ? ", got " + shape_to_string(in[0]) : std::string()));
    *outputs = {{n, in[0][0]}};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<RepeatVectorOp>(n), {in[0]}, &y));
    *out = {y};
    return Status();
  }
};

// ZeroPadding1D/2D and Cropping1D/2D: (before, after) amounts on the spatial axes.
class PadCrop : public Layer {
 public:
  const char* cls = "";
  int spatial = 1;
  bool crop = false, channels_first = false;
  std::vector<std::pair<int64_t, int64_t>> amounts;
  const char* class_name() const override { return cls; }
  size_t first_axis() const { return channels_first ? 1 : 0; }  // batch excluded
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    const size_t rank = size_t(spatial) + 1;
    if (in.size() != 1 || in[0].size() != rank)
      return error(std::string("expects one input of shape ") +
                   (spatial == 1 ? "[steps, channels]" : channels_first ? "[channels, rows, cols]" : "[rows, cols, channels]") +
                   " (batch excluded)" + (in.size() == 1 ? ", got " + shape_to_string(in[0]) : std::string()));
    Shape s = in[0];
    for (int i = 0; i < spatial; ++i) {
      int64_t& d = s[first_axis() + size_t(i)];
      const auto& p = amounts[size_t(i)];
      if (crop && p.first + p.second >= d)
        return error("cropping " + std::to_string(p.first) + " + " + std::to_string(p.second) + " leaves nothing of a dimension of " +
                     std::to_string(d) + " (input " + shape_to_string(in[0]) + ")");
      d += crop ? -(p.first + p.second) : p.first + p.second;
    }
    *outputs = {s};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    const size_t rank = ctx.graph->values()[size_t(in[0])].shape.size();
    std::vector<int64_t> before(rank, 0), after(rank, 0);
    for (int i = 0; i < spatial; ++i) {
      const size_t ax = first_axis() + size_t(i) + 1;
      before[ax] = crop ? -amounts[size_t(i)].first : amounts[size_t(i)].first;
      after[ax] = crop ? -amounts[size_t(i)].second : amounts[size_t(i)].second;
    }
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<PadOp>(before, after), {in[0]}, &y));
    *out = {y};
    return Status();
  }
};

class UpSampling : public Layer {
 public:
  const char* cls = "";
  int spatial = 1;
  int64_t sh = 2, sw = 2;
  bool channels_first = false, bilinear = false;
  const char* class_name() const override { return cls; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    const size_t rank = size_t(spatial) + 1;
    if (in.size() != 1 || in[0].size() != rank)
      return error(std::string("expects one input of shape ") +
                   (spatial == 1 ? "[steps, channels]" : channels_first ? "[channels, rows, cols]" : "[rows, cols, channels]") +
                   " (batch excluded)" + (in.size() == 1 ? ", got " + shape_to_string(in[0]) : std::string()));
    Shape s = in[0];
    const size_t h = channels_first ? 1 : 0;
    s[h] *= sh;
    if (spatial == 2) s[h + 1] *= sw;
    *outputs = {s};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<UpSampleOp>(channels_first ? 2 : 1, spatial, sh, sw, bilinear), {in[0]}, &y));
    *out = {y};
    return Status();
  }
};

Status make_pad_crop(const Json& config, const char* cls, int spatial, bool crop, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<PadCrop>();
  l->cls = cls;
  l->spatial = spatial;
  l->crop = crop;
  const char* key = crop ? "cropping" : "padding";
  // Keras defaults: Cropping1D (1, 1), Cropping2D none, padding 1 on every side.
  const int64_t d = crop && spatial == 2 ? 0 : 1;
  KILN_RETURN_IF_ERROR(get_pairs(config, cls, key, size_t(spatial), std::vector<std::pair<int64_t, int64_t>>(size_t(spatial), {d, d}), &l->amounts));
  if (spatial == 2) KILN_RETURN_IF_ERROR(get_data_format(config, cls, &l->channels_first));
  *out = std::move(l);
  return Status();
}

}  // namespace

Status make_flatten(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<Flatten>();
  KILN_RETURN_IF_ERROR(get_data_format(config, "Flatten", &l->channels_first));
  *out = std::move(l);
  return Status();
}

Status make_reshape(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<Reshape>();
  bool present = false;
  KILN_RETURN_IF_ERROR(get_int_list(config, "Reshape", "targetShape", false, -1, &l->target, &present));
  if (!present || l->target.empty()) return arg_error("Reshape", "targetShape", "is required (a list of dimensions)");
  int unknown = 0;
  for (int64_t d : l->target) {
    if (d < 0) ++unknown;
    if (d == 0 || d < -1) return arg_error("Reshape", "targetShape", "must hold positive dimensions and at most one -1 (or null)");
  }
  if (unknown > 1) return arg_error("Reshape", "targetShape", "may leave only one dimension unknown (-1 or null)");
  *out = std::move(l);
  return Status();
}

Status make_permute(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<Permute>();
  bool present = false;
  KILN_RETURN_IF_ERROR(get_int_list(config, "Permute", "dims", false, kNoNull, &l->dims, &present));
  if (!present || l->dims.empty()) return arg_error("Permute", "dims", "is required (a permutation of 1..rank)");
  std::vector<bool> seen(l->dims.size() + 1, false);
  for (int64_t d : l->dims) {
    if (d < 1 || d > int64_t(l->dims.size()) || seen[size_t(d)])
      return arg_error("Permute", "dims", "must contain consecutive integers starting from 1, got " + shape_to_string(l->dims));
    seen[size_t(d)] = true;
  }
  *out = std::move(l);
  return Status();
}

Status make_repeat_vector(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<RepeatVector>();
  ConfigReader r(config, "RepeatVector");
  if (!r.has("n")) return arg_error("RepeatVector", "n", "is required");
  KILN_RETURN_IF_ERROR(r.get_int("n", 1, &l->n, 1, int64_t(1) << 24));
  *out = std::move(l);
  return Status();
}

Status make_cropping1d(const Json& config, std::unique_ptr<Layer>* out) { return make_pad_crop(config, "Cropping1D", 1, true, out); }
Status make_cropping2d(const Json& config, std::unique_ptr<Layer>* out) { return make_pad_crop(config, "Cropping2D", 2, true, out); }
Status make_zero_padding1d(const Json& config, std::unique_ptr<Layer>* out) { return make_pad_crop(config, "ZeroPadding1D", 1, false, out); }
Status make_zero_padding2d(const Json& config, std::unique_ptr<Layer>* out) { return make_pad_crop(config, "ZeroPadding2D", 2, false, out); }

Status make_up_sampling1d(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<UpSampling>();
  l->cls = "UpSampling1D";
  l->spatial = 1;
  std::vector<int64_t> size;
  KILN_RETURN_IF_ERROR(ConfigReader(config, "UpSampling1D").get_ints("size", 1, {2}, &size, 1));
  l->sh = size[0];
  l->sw = 1;
  *out = std::move(l);
  return Status();
}

Status make_up_sampling2d(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<UpSampling>();
  l->cls = "UpSampling2D";
  l->spatial = 2;
  ConfigReader r(config, "UpSampling2D");
  std::vector<int64_t> size;
  KILN_RETURN_IF_ERROR(r.get_ints("size", 2, {2, 2}, &size, 1));
  l->sh = size[0];
  l->sw = size[1];
  KILN_RETURN_IF_ERROR(get_data_format(config, "UpSampling2D", &l->channels_first));
  std::string interp;
  KILN_RETURN_IF_ERROR(r.get_choice("interpolation", "nearest", {"nearest", "bilinear"}, &interp));
  l->bilinear = interp == "bilinear";
  *out = std::move(l);
  return Status();
}

}  // namespace kiln
