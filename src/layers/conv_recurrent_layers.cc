// ConvLSTM2D (TF.js's name and arguments): inputs [steps, height, width,
// channels]; the sequence runs as one ConvLstmOp (src/ops/conv_lstm_op.h).
#include "layers/config.h"
#include "layers/recurrent_layers.h"
#include "ops/conv_lstm_op.h"

namespace kiln {

namespace {

class ConvLstm2D : public Layer {
 public:
  ConvLstmAttrs attrs;
  bool return_state = false, unit_forget_bias = false;
  Initializer kernel_init = Initializer::kGlorotNormal, recurrent_init = Initializer::kOrthogonal, bias_init = Initializer::kZeros;

  const char* class_name() const override { return "ConvLSTM2D"; }
  MaskMode mask_mode() const override { return MaskMode::kRefuse; }  // masks here would be per pixel, not per step

  Status build(const std::vector<Shape>& in, std::vector<WeightSpec>* weights, std::vector<Shape>* outputs) override {
    if (in.empty() || in[0].size() != 4)
      return error("expects an input of shape [steps, height, width, channels] (batch excluded)" +
                   (in.empty() ? std::string() : ", got " + shape_to_string(in[0])));
    if (in.size() != 1 && in.size() != 3) return error("takes the sequence and optionally its two initial states (h, c)");
    ConvLstmAttrs a = attrs;
    a.has_initial_state = in.size() == 3;
    const int64_t F = attrs.filters, c = in[0][3], kh = attrs.kernel_h, kw = attrs.kernel_w;
    ConvLstmParams p;
    const Status s = ConvLstmOp(a).params(Shape{1, in[0][0], in[0][1], in[0][2], c}, &p);
    if (!s.ok()) return error(s.message());
    const Shape state{p.input_conv.out_h, p.input_conv.out_w, F};
    for (size_t k = 1; k < in.size(); ++k)
      if (in[k] != state) return error("an initial state must have shape " + shape_to_string(state) + ", got " + shape_to_string(in[k]));
    // TF.js's fans of a conv kernel: receptive field times its last two axes.
    weights->push_back({"kernel", {kh, kw, c, 4 * F}, kernel_init, kh * kw * c, kh * kw * 4 * F, true});
    weights->push_back({"recurrent_kernel", {kh, kw, F, 4 * F}, recurrent_init, kh * kw * F, kh * kw * 4 * F, true});
    if (attrs.has_bias) {
      WeightSpec bias{"bias", {4 * F}, bias_init, 4 * F, 4 * F, true};
      if (unit_forget_bias) {
        const Initializer init = bias_init;
        bias.custom_init = [init, F](float* data, Rng& rng) {
          KILN_RETURN_IF_ERROR(initialize(init, data, {4 * F}, 4 * F, 4 * F, rng));
          std::fill(data + F, data + 2 * F, 1.0f);  // gate blocks i, f, c, o
          return Status();
        };
      }
      weights->push_back(bias);
    }
    Shape y = state;
    if (attrs.return_sequences) y.insert(y.begin(), in[0][0]);
    *outputs = {y};
    if (return_state) outputs->insert(outputs->end(), 2, state);
    return Status();
  }

  Status call(LayerContext& ctx, const std::vector<int>& in, std::vector<int>* out) const override {
    std::vector<int> inputs{in[0]};
    inputs.insert(inputs.end(), ctx.weights.begin(), ctx.weights.end());
    ConvLstmAttrs a = attrs;
    if (in.size() == 3) {
      inputs.insert(inputs.end(), in.begin() + 1, in.end());
      a.has_initial_state = true;
    }
    std::vector<int> results;
    KILN_RETURN_IF_ERROR(ctx.graph->op(std::make_shared<ConvLstmOp>(a), inputs, &results));
    out->assign(1, results[0]);
    if (return_state) out->insert(out->end(), results.begin() + 1, results.begin() + 3);
    return Status();
  }
};

}  // namespace

Status make_conv_lstm2d(const Json& config, std::unique_ptr<Layer>* out) {
  auto l = std::make_unique<ConvLstm2D>();
  ConvLstmAttrs& a = l->attrs;
  ConfigReader r(config, "ConvLSTM2D");
  KILN_RETURN_IF_ERROR(r.get_int("filters", 0, &a.filters, 1, int64_t(1) << 20));
  if (a.filters == 0) return Status::error("ConvLSTM2D: argument 'filters' is required");
  if (!r.has("kernelSize")) return Status::error("ConvLSTM2D: argument 'kernelSize' is required");
  std::vector<int64_t> k, s, d;
  KILN_RETURN_IF_ERROR(r.get_ints("kernelSize", 2, {}, &k, 1));
  KILN_RETURN_IF_ERROR(r.get_ints("strides", 2, {1, 1}, &s, 1));
  KILN_RETURN_IF_ERROR(r.get_ints("dilationRate", 2, {1, 1}, &d, 1));
  a.kernel_h = k[0], a.kernel_w = k[1], a.stride_h = s[0], a.stride_w = s[1], a.dilation_h = d[0], a.dilation_w = d[1];
  if ((s[0] > 1 || s[1] > 1) && (d[0] > 1 || d[1] > 1))
    return Status::error("ConvLSTM2D: strides > 1 and dilationRate > 1 cannot be combined (as in TF.js)");
  std::string padding, format;
  KILN_RETURN_IF_ERROR(r.get_choice("padding", "valid", {"valid", "same"}, &padding));
  KILN_RETURN_IF_ERROR(r.get_choice("dataFormat", "channelsLast", {"channelsLast"}, &format));
  a.same_padding = padding == "same";
  KILN_RETURN_IF_ERROR(r.get_activation("activation", Activation::kTanh, &a.activation));
  KILN_RETURN_IF_ERROR(r.get_activation("recurrentActivation", Activation::kHardSigmoid, &a.recurrent_activation));
  KILN_RETURN_IF_ERROR(r.get_bool("useBias", true, &a.has_bias));
  KILN_RETURN_IF_ERROR(r.get_bool("returnSequences", false, &a.return_sequences));
  KILN_RETURN_IF_ERROR(r.get_bool("returnState", false, &l->return_state));
  KILN_RETURN_IF_ERROR(r.get_bool("goBackwards", false, &a.go_backwards));
  KILN_RETURN_IF_ERROR(r.get_bool("unitForgetBias", false, &l->unit_forget_bias));
  KILN_RETURN_IF_ERROR(r.get_initializer("kernelInitializer", Initializer::kGlorotNormal, &l->kernel_init));  // TF.js's defaults
  KILN_RETURN_IF_ERROR(r.get_initializer("recurrentInitializer", Initializer::kOrthogonal, &l->recurrent_init));
  KILN_RETURN_IF_ERROR(r.get_initializer("biasInitializer", Initializer::kZeros, &l->bias_init));
  bool stateful = false;
  double dropout = 0, recurrent_dropout = 0;
  KILN_RETURN_IF_ERROR(r.get_bool("stateful", false, &stateful));
  KILN_RETURN_IF_ERROR(r.get_float("dropout", 0, &dropout));
  KILN_RETURN_IF_ERROR(r.get_float("recurrentDropout", 0, &recurrent_dropout));
  if (stateful) return Status::error("ConvLSTM2D: argument 'stateful' is not supported");
  if (dropout != 0 || recurrent_dropout != 0)
    return Status::error("ConvLSTM2D: arguments 'dropout' and 'recurrentDropout' are not supported (use a Dropout layer before it)");
  if (activation_is_rowwise(a.activation) || activation_is_rowwise(a.recurrent_activation))
    return Status::error("ConvLSTM2D: activations must be elementwise (not softmax)");
  *out = std::move(l);
  return Status();
}

}  // namespace kiln
