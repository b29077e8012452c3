// Conv3D, Conv3DTranspose, MaxPooling3D and AveragePooling3D (TF.js names;
// channels last: inputs [depth, height, width, channels] without the batch).
#include "layers/config.h"
#include "layers/conv_layers.h"
#include "layers/core_layers.h"
#include "ops/conv3d_op.h"
#include "ops/pool3d_op.h"

namespace kiln {

namespace {

// What is wrong with the inputs of a 3-D layer, or "".
std::string rank4_problem(const std::vector<Shape>& in) {
  if (in.size() == 1 && in[0].size() == 4) return "";
  return "expects one input of rank 4 (depth, height, width, channels, without the batch), got " +
         (in.empty() ? std::string("none") : shape_to_string(in[0]));
}

Shape with_batch(const Shape& s) {
  Shape x{1};
  x.insert(x.end(), s.begin(), s.end());
  return x;
}

class Conv3DLayer : public Layer {
 public:
  Conv3DAttrs attrs;
  Activation activation = Activation::kLinear;
  bool use_bias = true;
  Initializer kernel_init = Initializer::kGlorotNormal, bias_init = Initializer::kZeros;

  const char* class_name() const override { return attrs.transpose ? "Conv3DTranspose" : "Conv3D"; }

  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>* weights, std::vector<Shape>* outputs) override {
    if (!rank4_problem(in).empty()) return error(rank4_problem(in));
    const int64_t c = in[0][3];
    const Shape kernel{attrs.kernel[0], attrs.kernel[1], attrs.kernel[2], attrs.transpose ? attrs.filters : c,
                       attrs.transpose ? c : attrs.filters};
    std::vector<Shape> out;
    Status s = Conv3DOp(attrs).infer({with_batch(in[0]), kernel}, &out);
    if (!s.ok()) return error(s.message());
    // TF.js's fans of a rank-5 kernel: receptive field times its last two axes.
    const int64_t rf = attrs.kernel[0] * attrs.kernel[1] * attrs.kernel[2];
    weights->push_back({"kernel", kernel, kernel_init, rf * kernel[3], rf * kernel[4], true});
    if (use_bias) weights->push_back({"bias", {attrs.filters}, bias_init, 1, attrs.filters, true});
    *outputs = {Shape(out[0].begin() + 1, out[0].end())};
    return Status();
  }

  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    std::vector<int> inputs{in[0], ctx.weights[0]};
    if (use_bias) inputs.push_back(ctx.weights[1]);
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<Conv3DOp>(attrs), inputs, &y));
    KILN_RETURN_IF_ERROR(apply_activation(ctx, y, activation, &y));
    *out = {y};
    return Status();
  }
};

class Pool3DLayer : public Layer {
 public:
  const char* cls = "MaxPooling3D";
  PoolKind kind = PoolKind::kMax;
  int64_t pool[3] = {2, 2, 2}, strides[3] = {2, 2, 2};
  bool same = false;

  const char* class_name() const override { return cls; }
  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>*, std::vector<Shape>* outputs) override {
    if (!rank4_problem(in).empty()) return error(rank4_problem(in));
    std::vector<Shape> out;
    Status s = Pool3DOp(kind, pool, strides, same).infer({with_batch(in[0])}, &out);
    if (!s.ok()) return error(s.message());
    *outputs = {Shape(out[0].begin() + 1, out[0].end())};
    return Status();
  }
  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    int y;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<Pool3DOp>(kind, pool, strides, same), {in[0]}, &y));
    *out = {y};
    return Status();
  }
};

Status read_triple(ConfigReader& r, const char* key, const std::vector<int64_t>& fallback, int64_t out[3]) {
  std::vector<int64_t> v;
  KILN_RETURN_IF_ERROR(r.get_ints(key, 3, fallback, &v, 1));
  for (int i = 0; i < 3; ++i) out[i] = v[size_t(i)];
  return Status();
}

Status make_conv3d_layer(const Json& config, bool transpose, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<Conv3DLayer>();
  const char* cls = transpose ? "Conv3DTranspose" : "Conv3D";
  l->attrs.transpose = transpose;
  ConfigReader r(config, cls);
  KILN_RETURN_IF_ERROR(r.get_int("filters", 0, &l->attrs.filters, 1, int64_t(1) << 20));
  if (l->attrs.filters == 0) return Status::error(std::string(cls) + ": argument 'filters' is required");
  if (!r.has("kernelSize")) return Status::error(std::string(cls) + ": argument 'kernelSize' is required");
  KILN_RETURN_IF_ERROR(read_triple(r, "kernelSize", {}, l->attrs.kernel));
  KILN_RETURN_IF_ERROR(read_triple(r, "strides", {1, 1, 1}, l->attrs.stride));
  KILN_RETURN_IF_ERROR(read_triple(r, "dilationRate", {1, 1, 1}, l->attrs.dilation));
  bool strided = false, dilated = false;
  for (int i = 0; i < 3; ++i) strided |= l->attrs.stride[i] > 1, dilated |= l->attrs.dilation[i] > 1;
  if (strided && dilated) return Status::error(std::string(cls) + ": strides > 1 and dilationRate > 1 cannot be combined (as in TF.js)");
  // TF.js's Conv3DTranspose computes its output size without the dilation: refused rather than guessed.
  if (transpose && dilated) return Status::error("Conv3DTranspose: dilationRate > 1 is not supported");
  std::string padding, format;
  KILN_RETURN_IF_ERROR(r.get_choice("padding", "valid", {"valid", "same"}, &padding));
  KILN_RETURN_IF_ERROR(r.get_choice("dataFormat", "channelsLast", {"channelsLast"}, &format));
  l->attrs.same_padding = padding == "same";
  KILN_RETURN_IF_ERROR(r.get_activation("activation", Activation::kLinear, &l->activation));
  KILN_RETURN_IF_ERROR(r.get_bool("useBias", true, &l->use_bias));
  KILN_RETURN_IF_ERROR(r.get_initializer("kernelInitializer", Initializer::kGlorotNormal, &l->kernel_init));
  KILN_RETURN_IF_ERROR(r.get_initializer("biasInitializer", Initializer::kZeros, &l->bias_init));
  *out = std::move(l);
  return Status();
}

Status make_pool3d(const Json& config, const char* cls, PoolKind kind, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<Pool3DLayer>();
  l->cls = cls;
  l->kind = kind;
  ConfigReader r(config, cls);
  std::string format, padding;
  KILN_RETURN_IF_ERROR(r.get_choice("dataFormat", "channelsLast", {"channelsLast"}, &format));
  KILN_RETURN_IF_ERROR(read_triple(r, "poolSize", {2, 2, 2}, l->pool));
  KILN_RETURN_IF_ERROR(read_triple(r, "strides", {l->pool[0], l->pool[1], l->pool[2]}, l->strides));
  KILN_RETURN_IF_ERROR(r.get_choice("padding", "valid", {"valid", "same"}, &padding));
  l->same = padding == "same";
  *out = std::move(l);
  return Status();
}

}  // namespace

Status make_conv3d(const Json& c, std::unique_ptr<Layer>* out) { return make_conv3d_layer(c, false, out); }
Status make_conv3d_transpose(const Json& c, std::unique_ptr<Layer>* out) { return make_conv3d_layer(c, true, out); }
Status make_max_pooling3d(const Json& c, std::unique_ptr<Layer>* o) { return make_pool3d(c, "MaxPooling3D", PoolKind::kMax, o); }
Status make_average_pooling3d(const Json& c, std::unique_ptr<Layer>* o) { return make_pool3d(c, "AveragePooling3D", PoolKind::kAverage, o); }

}  // namespace kiln
