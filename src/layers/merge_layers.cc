#include "layers/merge_layers.h"

#include "layers/arg_utils.h"
#include "layers/config.h"
#include "ops/concat.h"
#include "ops/dot.h"
#include "ops/merge.h"

namespace kiln {

namespace {

std::string shapes_to_string(const std::vector<Shape>& in) {
  std::string s;
  for (const Shape& x : in) s += (s.empty() ? "" : ", ") + shape_to_string(x);
  return s;
}

// Elementwise merges: inputs of one shape (TF.js broadcasts only singleton
// dimensions, which Kiln does not: it asks for equal shapes).
class ElementwiseMerge : public Layer {
 public:
  MergeKind kind = MergeKind::kAdd;
  const char* class_name() const override { return merge_kind_name(kind); }
  MaskMode mask_mode() const override { return MaskMode::kRefuse; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (kind == MergeKind::kSubtract && in.size() != 2)
      return error("takes exactly two inputs, got " + std::to_string(in.size()));
    if (in.size() < 2) return error("takes at least two inputs, got " + std::to_string(in.size()));
    for (const Shape& s : in)
      if (s != in[0]) return error("inputs must all have the same shape, got " + shapes_to_string(in));
    *outputs = {in[0]};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<MergeOp>(kind), in, &y));
    *out = {y};
    return Status();
  }
};

class Concatenate : public Layer {
 public:
  int64_t axis = -1;  // batch included, as Keras counts
  const char* class_name() const override { return "Concatenate"; }
  MaskMode mask_mode() const override { return MaskMode::kRefuse; }
  // The axis within a shape without the batch, or an error.
  Status resolve(size_t rank, size_t* ax) const {
    const int64_t full = int64_t(rank) + 1;
    const int64_t a = axis < 0 ? axis + full : axis;
    if (a < 1 || a >= full)
      return error("axis " + std::to_string(axis) + " is out of range for inputs of rank " + std::to_string(full) +
                   " (batch included; the batch axis 0 cannot be concatenated)");
    *ax = size_t(a - 1);
    return Status();
  }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() < 2) return error("takes at least two inputs, got " + std::to_string(in.size()));
    size_t ax;
    KILN_RETURN_IF_ERROR(resolve(in[0].size(), &ax));
    Shape s = in[0];
    for (size_t i = 1; i < in.size(); ++i) {
      bool ok = in[i].size() == s.size();
      for (size_t d = 0; ok && d < s.size(); ++d) ok = d == ax || in[i][d] == in[0][d];
      if (!ok)
        return error("inputs must have matching shapes except along the concatenation axis " + std::to_string(axis) + ", got " +
                     shapes_to_string(in));
      s[ax] += in[i][ax];
    }
    *outputs = {s};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    size_t ax;
    KILN_RETURN_IF_ERROR(resolve(ctx.graph->values()[size_t(in[0])].shape.size() - 1, &ax));
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<ConcatOp>(int(ax) + 1), in, &y));
    *out = {y};
    return Status();
  }
};

class Dot : public Layer {
 public:
  int64_t axes[2] = {-1, -1};  // batch included; negative counts from the end
  bool normalize = false;
  const char* class_name() const override { return "Dot"; }
  MaskMode mask_mode() const override { return MaskMode::kRefuse; }
  // Contracted axes (batch included) for inputs of these ranks (batch excluded).
  Status resolve(size_t rx, size_t ry, int* ax, int* ay) const {
    const int64_t r[2] = {int64_t(rx) + 1, int64_t(ry) + 1};
    int* o[2] = {ax, ay};
    for (int i = 0; i < 2; ++i) {
      const int64_t a = axes[i] < 0 ? axes[i] + r[i] : axes[i];
      if (a < 1 || a >= r[i])
        return error("axis " + std::to_string(axes[i]) + " is out of range for input " + std::to_string(i) + " of rank " +
                     std::to_string(r[i]) + " (batch included; the batch axis 0 cannot be contracted)");
      *o[i] = int(a);
    }
    return Status();
  }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (in.size() != 2) return error("takes exactly two inputs, got " + std::to_string(in.size()));
    for (const Shape& s : in)
      if (s.empty() || s.size() > 2)
        return error("supports inputs of rank 2 or 3 (batch included), as TF.js does, got " + shapes_to_string(in));
    int ax, ay;
    KILN_RETURN_IF_ERROR(resolve(in[0].size(), in[1].size(), &ax, &ay));
    if (in[0][size_t(ax - 1)] != in[1][size_t(ay - 1)])
      return error("dimension incompatibility: " + std::to_string(in[0][size_t(ax - 1)]) + " != " +
                   std::to_string(in[1][size_t(ay - 1)]) + " (the contracted axes of " + shapes_to_string(in) + ")");
    Shape s;
    for (size_t d = 0; d < in[0].size(); ++d)
      if (int(d) + 1 != ax) s.push_back(in[0][d]);
    for (size_t d = 0; d < in[1].size(); ++d)
      if (int(d) + 1 != ay) s.push_back(in[1][d]);
    if (s.empty()) s.push_back(1);
    *outputs = {s};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    const auto& v = ctx.graph->values();
    int ax, ay;
    KILN_RETURN_IF_ERROR(resolve(v[size_t(in[0])].shape.size() - 1, v[size_t(in[1])].shape.size() - 1, &ax, &ay));
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<DotOp>(ax, ay, normalize), {in[0], in[1]}, &y));
    *out = {y};
    return Status();
  }
};

Status make_elementwise(MergeKind kind, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<ElementwiseMerge>();
  l->kind = kind;
  *out = std::move(l);
  return Status();
}

}  // namespace

Status make_add_layer(const Json&, std::unique_ptr<Layer>* out) { return make_elementwise(MergeKind::kAdd, out); }
Status make_subtract_layer(const Json&, std::unique_ptr<Layer>* out) { return make_elementwise(MergeKind::kSubtract, out); }
Status make_multiply_layer(const Json&, std::unique_ptr<Layer>* out) { return make_elementwise(MergeKind::kMultiply, out); }
Status make_average_layer(const Json&, std::unique_ptr<Layer>* out) { return make_elementwise(MergeKind::kAverage, out); }
Status make_maximum_layer(const Json&, std::unique_ptr<Layer>* out) { return make_elementwise(MergeKind::kMaximum, out); }
Status make_minimum_layer(const Json&, std::unique_ptr<Layer>* out) { return make_elementwise(MergeKind::kMinimum, out); }

Status make_concatenate(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<Concatenate>();
  KILN_RETURN_IF_ERROR(ConfigReader(config, "Concatenate").get_int("axis", -1, &l->axis, -64, 64));
  *out = std::move(l);
  return Status();
}

Status make_dot_layer(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<Dot>();
  std::vector<int64_t> axes;
  bool present = false;
  KILN_RETURN_IF_ERROR(get_int_list(config, "Dot", "axes", true, kNoNull, &axes, &present));
  if (!present) return arg_error("Dot", "axes", "is required (an integer or a list of two)");
  if (axes.size() == 1) axes.push_back(axes[0]);
  if (axes.size() != 2) return arg_error("Dot", "axes", "must be an integer or a list of two integers");
  l->axes[0] = axes[0];
  l->axes[1] = axes[1];
  KILN_RETURN_IF_ERROR(ConfigReader(config, "Dot").get_bool("normalize", false, &l->normalize));
  *out = std::move(l);
  return Status();
}

}  // namespace kiln
