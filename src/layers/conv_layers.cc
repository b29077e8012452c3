#include "layers/conv_layers.h"

#include "layers/config.h"
#include "layers/core_layers.h"
#include "ops/conv2d_op.h"

namespace kiln {

namespace {

enum class ConvKind { kConv, kDepthwise, kSeparable, kTranspose };

// Conv1D/2D, DepthwiseConv2D, SeparableConv2D, Conv2DTranspose: one class,
// since all run on Conv2DOp (1-D inputs get a height of 1).
class ConvLayer : public Layer {
 public:
  ConvKind kind = ConvKind::kConv;
  int rank = 2;
  const char* cls = "Conv2D";
  Conv2DAttrs attrs;
  int64_t depth_multiplier = 1;
  Activation activation = Activation::kLinear;
  bool use_bias = true;
  Initializer kernel_init = Initializer::kGlorotUniform, bias_init = Initializer::kZeros,
              pointwise_init = Initializer::kGlorotUniform;

  const char* class_name() const override { return cls; }

  // The [b, h, w, c] view of an input (rank-1 convs: h = 1).
  Shape as_4d(const Shape& s) const { return rank == 1 ? Shape{s[0], 1, s[1], s[2]} : s; }

  Conv2DAttrs first_attrs(int64_t in_c) const {
    Conv2DAttrs a = attrs;
    a.act = Activation::kLinear;
    if (kind == ConvKind::kDepthwise || kind == ConvKind::kSeparable) {
      a.groups = in_c;
      a.filters = in_c * depth_multiplier;
    }
    return a;
  }
  Conv2DAttrs pointwise_attrs() const {
    Conv2DAttrs a;
    a.filters = attrs.filters;
    return a;
  }

  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>* weights, std::vector<Shape>* outputs) override {
    if (in.size() != 1 || int(in[0].size()) != rank + 1)
      return error("expects one input of rank " + std::to_string(rank + 1) + " (without the batch), got " +
                   (in.empty() ? std::string("none") : shape_to_string(in[0])));
    const Shape x4 = rank == 1 ? Shape{1, 1, in[0][0], in[0][1]} : Shape{1, in[0][0], in[0][1], in[0][2]};
    const int64_t c = x4[3], kh = attrs.kernel_h, kw = attrs.kernel_w;
    const Conv2DAttrs a = first_attrs(c);
    if (kind == ConvKind::kConv && c % attrs.groups != 0) return error("input channels " + std::to_string(c) + " not divisible by groups");
    Shape kernel = kind == ConvKind::kTranspose ? Shape{kh, kw, a.filters, c} : Shape{kh, kw, c / a.groups, a.filters};
    std::vector<Shape> out;
    KILN_RETURN_IF_ERROR(Conv2DOp(a).infer({x4, kernel}, &out));
    Shape y = out[0];
    if (kind == ConvKind::kSeparable) {
      KILN_RETURN_IF_ERROR(Conv2DOp(pointwise_attrs()).infer({y, Shape{1, 1, y[3], attrs.filters}}, &out));
      y = out[0];
    }
    // The stored kernel keeps TF.js's layout for each layer type.
    const int64_t rf = kh * kw;
    if (rank == 1) kernel = {kw, kernel[2], kernel[3]};
    if (kind == ConvKind::kDepthwise || kind == ConvKind::kSeparable) {
      weights->push_back({"depthwise_kernel", {kh, kw, c, depth_multiplier}, kernel_init, rf, rf * depth_multiplier, true});
      if (kind == ConvKind::kSeparable)
        weights->push_back({"pointwise_kernel", {1, 1, c * depth_multiplier, attrs.filters}, pointwise_init, c * depth_multiplier, attrs.filters, true});
    } else {
      const int64_t fan_in = kind == ConvKind::kTranspose ? rf * a.filters : rf * c / a.groups;
      const int64_t fan_out = kind == ConvKind::kTranspose ? rf * c : rf * a.filters;
      weights->push_back({"kernel", kernel, kernel_init, fan_in, fan_out, true});
    }
    if (use_bias) weights->push_back({"bias", {y[3]}, bias_init, 1, y[3], true});
    *outputs = {rank == 1 ? Shape{y[2], y[3]} : Shape{y[1], y[2], y[3]}};
    return Status();
  }

  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    Graph& g = *ctx.graph;
    const Shape s = g.values()[size_t(in[0])].shape;
    int x;
    KILN_RETURN_IF_ERROR(g.reshape(in[0], as_4d(s), &x));
    const int64_t c = as_4d(s)[3];
    Conv2DAttrs a = first_attrs(c);
    // Elementwise activations whose gradient follows from the output run inside the op.
    const bool fuse = !activation_is_rowwise(activation) && !activation_grad_needs_input(activation) && activation != Activation::kSigmoid;
    const int bias = use_bias ? ctx.weights.back() : -1;
    int kernel = ctx.weights[0];
    if (rank == 1) {
      const Shape ks = g.values()[size_t(kernel)].shape;
      KILN_RETURN_IF_ERROR(g.reshape(kernel, {1, ks[0], ks[1], ks[2]}, &kernel));
    }
    if (kind == ConvKind::kDepthwise || kind == ConvKind::kSeparable)
      KILN_RETURN_IF_ERROR(g.reshape(kernel, {a.kernel_h, a.kernel_w, 1, a.filters}, &kernel));
    std::vector<int> inputs{x, kernel};
    if (kind != ConvKind::kSeparable && bias >= 0) inputs.push_back(bias);
    if (kind != ConvKind::kSeparable && fuse) a.act = activation;
    int y;
    KILN_RETURN_IF_ERROR(g.op(std::make_shared<Conv2DOp>(a), inputs, &y));
    if (kind == ConvKind::kSeparable) {
      Conv2DAttrs p = pointwise_attrs();
      if (fuse) p.act = activation;
      std::vector<int> pin{y, ctx.weights[1]};
      if (bias >= 0) pin.push_back(bias);
      KILN_RETURN_IF_ERROR(g.op(std::make_shared<Conv2DOp>(p), pin, &y));
    }
    if (!fuse) KILN_RETURN_IF_ERROR(apply_activation(ctx, y, activation, &y));
    const Shape ys = g.values()[size_t(y)].shape;
    int o;
    KILN_RETURN_IF_ERROR(g.reshape(y, rank == 1 ? Shape{ys[0], ys[2], ys[3]} : ys, &o));
    if (o != y && ctx.logits && ctx.logits->count(y)) (*ctx.logits)[o] = (*ctx.logits)[y];
    *out = {o};
    return Status();
  }
};

Status make_conv(const Json& config, ConvKind kind, int rank, const char* cls, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<ConvLayer>();
  l->kind = kind;
  l->rank = rank;
  l->cls = cls;
  ConfigReader r(config, cls);
  const bool needs_filters = kind != ConvKind::kDepthwise;
  KILN_RETURN_IF_ERROR(r.get_int("filters", 0, &l->attrs.filters, needs_filters ? 1 : 0, int64_t(1) << 20));
  if (needs_filters && l->attrs.filters == 0) return Status::error(std::string(cls) + ": argument 'filters' is required");
  std::vector<int64_t> k, s, d;
  const size_t n = size_t(rank);
  if (!r.has("kernelSize")) return Status::error(std::string(cls) + ": argument 'kernelSize' is required");
  KILN_RETURN_IF_ERROR(r.get_ints("kernelSize", n, {}, &k, 1));
  KILN_RETURN_IF_ERROR(r.get_ints("strides", n, std::vector<int64_t>(n, 1), &s, 1));
  KILN_RETURN_IF_ERROR(r.get_ints("dilationRate", n, std::vector<int64_t>(n, 1), &d, 1));
  l->attrs.kernel_h = rank == 1 ? 1 : k[0];
  l->attrs.kernel_w = k[n - 1];
  l->attrs.stride_h = rank == 1 ? 1 : s[0];
  l->attrs.stride_w = s[n - 1];
  l->attrs.dilation_h = rank == 1 ? 1 : d[0];
  l->attrs.dilation_w = d[n - 1];
  if ((s[0] > 1 || s[n - 1] > 1) && (d[0] > 1 || d[n - 1] > 1))
    return Status::error(std::string(cls) + ": strides > 1 and dilationRate > 1 cannot be combined (as in TF.js)");
  std::string padding, format;
  KILN_RETURN_IF_ERROR(r.get_choice("padding", "valid", {"valid", "same"}, &padding));
  KILN_RETURN_IF_ERROR(r.get_choice("dataFormat", "channelsLast", {"channelsLast"}, &format));
  l->attrs.same_padding = padding == "same";
  l->attrs.transpose = kind == ConvKind::kTranspose;
  KILN_RETURN_IF_ERROR(r.get_int("groups", 1, &l->attrs.groups, 1, int64_t(1) << 20));
  KILN_RETURN_IF_ERROR(r.get_int("depthMultiplier", 1, &l->depth_multiplier, 1, 1024));
  KILN_RETURN_IF_ERROR(r.get_activation("activation", Activation::kLinear, &l->activation));
  KILN_RETURN_IF_ERROR(r.get_bool("useBias", true, &l->use_bias));
  const bool depthwise = kind == ConvKind::kDepthwise || kind == ConvKind::kSeparable;
  // TF.js's defaults: glorotNormal, except separableConv2d's two kernels (glorotUniform).
  const Initializer kernel_default = kind == ConvKind::kSeparable ? Initializer::kGlorotUniform : Initializer::kGlorotNormal;
  KILN_RETURN_IF_ERROR(r.get_initializer(depthwise ? "depthwiseInitializer" : "kernelInitializer", kernel_default, &l->kernel_init));
  KILN_RETURN_IF_ERROR(r.get_initializer("pointwiseInitializer", Initializer::kGlorotUniform, &l->pointwise_init));
  KILN_RETURN_IF_ERROR(r.get_initializer("biasInitializer", Initializer::kZeros, &l->bias_init));
  *out = std::move(l);
  return Status();
}

}  // namespace

Status make_conv1d(const Json& c, std::unique_ptr<Layer>* out) { return make_conv(c, ConvKind::kConv, 1, "Conv1D", out); }
Status make_conv2d(const Json& c, std::unique_ptr<Layer>* out) { return make_conv(c, ConvKind::kConv, 2, "Conv2D", out); }
Status make_depthwise_conv2d(const Json& c, std::unique_ptr<Layer>* out) {
  return make_conv(c, ConvKind::kDepthwise, 2, "DepthwiseConv2D", out);
}
Status make_separable_conv2d(const Json& c, std::unique_ptr<Layer>* out) {
  return make_conv(c, ConvKind::kSeparable, 2, "SeparableConv2D", out);
}
Status make_conv2d_transpose(const Json& c, std::unique_ptr<Layer>* out) {
  return make_conv(c, ConvKind::kTranspose, 2, "Conv2DTranspose", out);
}

}  // namespace kiln
