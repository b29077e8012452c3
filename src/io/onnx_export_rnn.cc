// Exporting SimpleRNN, LSTM, GRU and Bidirectional as ONNX RNN / LSTM / GRU.
// Kiln (TF.js) kernels are [in, gates * units] with Keras's gate blocks
// (LSTM i, f, c, o; GRU z, r, h); ONNX wants [gates * units, in] per
// direction with LSTM blocks i, o, f, c and GRU z, r, h. GRU resetAfter is
// ONNX's linear_before_reset = 1 with the recurrent bias separate. Kiln is
// batch-major; ONNX (layout 0) time-major, hence a Transpose in and out.
#include <limits>

#include "io/onnx_export_layers.h"
#include "layers/config.h"

namespace kiln {

namespace {

struct RnnConfig {
  int64_t units = 0;
  Activation act = Activation::kTanh, rec_act = Activation::kHardSigmoid;
  bool use_bias = true, return_sequences = false, return_state = false, go_backwards = false, stateful = false,
       reset_after = false;
};

Status read_config(const Json& config, const std::string& name, RnnConfig* c) {
  ConfigReader r(config, name);
  KILN_RETURN_IF_ERROR(r.get_int("units", 0, &c->units, 1, int64_t(1) << 20));
  KILN_RETURN_IF_ERROR(r.get_activation("activation", Activation::kTanh, &c->act));
  KILN_RETURN_IF_ERROR(r.get_activation("recurrentActivation", Activation::kHardSigmoid, &c->rec_act));
  KILN_RETURN_IF_ERROR(r.get_bool("useBias", true, &c->use_bias));
  KILN_RETURN_IF_ERROR(r.get_bool("returnSequences", false, &c->return_sequences));
  KILN_RETURN_IF_ERROR(r.get_bool("returnState", false, &c->return_state));
  KILN_RETURN_IF_ERROR(r.get_bool("goBackwards", false, &c->go_backwards));
  KILN_RETURN_IF_ERROR(r.get_bool("stateful", false, &c->stateful));
  KILN_RETURN_IF_ERROR(r.get_bool("resetAfter", false, &c->reset_after));
  return Status();
}

// ONNX's name for an activation of a recurrent cell; "" when it has none
// (HardSigmoid's ONNX defaults, alpha 0.2 and beta 0.5, are TF.js's).
std::string rnn_activation(Activation a) {
  switch (a) {
    case Activation::kTanh: return "Tanh";
    case Activation::kSigmoid: return "Sigmoid";
    case Activation::kHardSigmoid: return "HardSigmoid";
    case Activation::kRelu: return "Relu";
    case Activation::kSoftsign: return "Softsign";
    case Activation::kSoftplus: return "Softplus";
    default: return "";
  }
}

// One direction's W [G*H, in], R [G*H, H] and B [2*G*H], appended.
Status direction_weights(LayerExport& l, const std::string& prefix, const std::string& cls, const RnnConfig& c,
                         std::vector<float>* W, std::vector<float>* R, std::vector<float>* B) {
  ExportWeight k, rk, bias;
  KILN_RETURN_IF_ERROR(l.weight(prefix + "kernel", &k));
  KILN_RETURN_IF_ERROR(l.weight(prefix + "recurrent_kernel", &rk));
  if (c.use_bias) KILN_RETURN_IF_ERROR(l.weight(prefix + "bias", &bias));
  const int64_t H = c.units, in = k.shape[0];
  const std::vector<int64_t> blocks = cls == "LSTM" ? std::vector<int64_t>{0, 3, 1, 2}   // i, o, f, c
                                      : cls == "GRU" ? std::vector<int64_t>{0, 1, 2}     // z, r, h
                                                     : std::vector<int64_t>{0};
  const int64_t GH = int64_t(blocks.size()) * H;
  std::vector<float> wb(size_t(GH), 0.0f), rb(size_t(GH), 0.0f);
  for (size_t j = 0; j < blocks.size(); ++j) {
    for (int64_t h = 0; h < H; ++h) {
      const int64_t src = blocks[j] * H + h;  // column in Kiln's kernels
      for (int64_t f = 0; f < in; ++f) W->push_back(k.data[f * GH + src]);
      for (int64_t f = 0; f < H; ++f) R->push_back(rk.data[f * GH + src]);
      if (c.use_bias) {
        wb[size_t(int64_t(j) * H + h)] = bias.data[src];
        if (c.reset_after) rb[size_t(int64_t(j) * H + h)] = bias.data[GH + src];  // bias [2, G*H]: input, recurrent
      }
    }
  }
  B->insert(B->end(), wb.begin(), wb.end());
  B->insert(B->end(), rb.begin(), rb.end());
  return Status();
}

// [B, H] from one direction of Y_h / Y_c [dirs, B, H].
std::string state_of(LayerExport& l, const std::string& y, int64_t dir) {
  const std::string one = l.b.node("Slice", {y, l.b.int64s("starts", {dir}), l.b.int64s("ends", {dir + 1}), l.b.int64s("axes", {0})});
  return l.b.node("Squeeze", {one, l.b.int64s("axes", {0})});
}

// Bidirectional mergeMode sum / mul / ave over the direction axis. In opset
// 17 ReduceSum takes its axes as an input, the others as an attribute.
std::string merge_directions(LayerExport& l, const std::string& merge, const std::string& y, int64_t axis) {
  if (merge == "sum") return l.b.node("ReduceSum", {y, l.b.int64s("axes", {axis})}, onnx_attrs(onnx_int_attr("keepdims", 0)));
  return l.b.node(merge == "mul" ? "ReduceProd" : "ReduceMean", {y},
                  onnx_attrs(onnx_ints_attr("axes", {axis}), onnx_int_attr("keepdims", 0)));
}

}  // namespace

Status export_recurrent_layer(LayerExport& l, std::vector<ExportValue>* out) {
  const bool bidi = l.cls == "Bidirectional";
  std::string cls = l.cls, prefix, merge = "concat";
  const Json* inner = &l.config;
  if (bidi) {
    std::string inner_name;
    KILN_RETURN_IF_ERROR(l.inner_layer(&cls, &inner, &inner_name));
    prefix = "_" + inner_name + "/";
    const Json* mm = l.config.find("mergeMode");
    if (mm && mm->is_null()) return l.error("mergeMode null (two outputs) is not exported; use concat, sum, mul or ave");
    KILN_RETURN_IF_ERROR(ConfigReader(l.config, l.name).get_string("mergeMode", "concat", &merge));
  }
  RnnConfig c;
  KILN_RETURN_IF_ERROR(read_config(*inner, l.name, &c));
  if (c.stateful) return l.error("stateful=true has no ONNX equivalent (ONNX models keep no state between runs)");
  if (bidi && c.go_backwards) return l.error("a Bidirectional over a goBackwards layer is not exported");
  if (l.inputs.size() > 1 && bidi) return l.error("initial states of a Bidirectional layer are not exported");
  std::vector<std::string> acts{rnn_activation(c.act)};
  if (cls != "SimpleRNN") acts = cls == "LSTM" ? std::vector<std::string>{rnn_activation(c.rec_act), acts[0], acts[0]}
                                               : std::vector<std::string>{rnn_activation(c.rec_act), acts[0]};
  for (const std::string& a : acts)
    if (a.empty()) return l.error("its activation has no ONNX recurrent-cell equivalent (use tanh, sigmoid, hardSigmoid, relu, softsign or softplus)");
  if (bidi) {  // the same list for the backward direction
    const std::vector<std::string> one = acts;
    acts.insert(acts.end(), one.begin(), one.end());
  }

  std::vector<float> W, R, B;
  const int64_t dirs = bidi ? 2 : 1;
  for (int64_t d = 0; d < dirs; ++d)
    KILN_RETURN_IF_ERROR(direction_weights(l, bidi ? (d == 0 ? "forward" : "backward") + prefix : "", cls, c, &W, &R, &B));
  const int64_t H = c.units, gh = int64_t(R.size()) / dirs / H;
  const int64_t in = int64_t(W.size()) / dirs / gh;
  std::vector<std::string> inputs{
      "", l.b.floats(l.name + "/W", {dirs, gh, in}, W), l.b.floats(l.name + "/R", {dirs, gh, H}, R),
      l.b.floats(l.name + "/B", {dirs, 2 * gh}, B)};

  // Time-major input; goBackwards reads it reversed, and returns outputs in that order, as Kiln does.
  std::string x = l.b.node("Transpose", {l.b.kiln_layout(l.inputs[0])}, onnx_attrs(onnx_ints_attr("perm", {1, 0, 2})));
  if (c.go_backwards)
    x = l.b.node("Slice", {x, l.b.int64s("starts", {-1}), l.b.int64s("ends", {std::numeric_limits<int64_t>::min()}),
                           l.b.int64s("axes", {0}), l.b.int64s("steps", {-1})});
  inputs[0] = x;
  for (size_t s = 1; s < l.inputs.size(); ++s) {  // initial states [B, H] -> [1, B, H], after sequence_lens
    if (inputs.size() < 5) inputs.push_back("");
    inputs.push_back(l.b.node("Unsqueeze", {l.b.kiln_layout(l.inputs[s]), l.b.int64s("axes", {0})}));
  }
  std::vector<OnnxAttribute> attrs = onnx_attrs(onnx_int_attr("hidden_size", H), onnx_strings_attr("activations", acts));
  if (bidi) attrs.push_back(onnx_string_attr("direction", "bidirectional"));
  if (cls == "GRU" && c.reset_after) attrs.push_back(onnx_int_attr("linear_before_reset", 1));
  const char* op = cls == "LSTM" ? "LSTM" : cls == "GRU" ? "GRU" : "RNN";
  const std::vector<std::string> ys = l.b.node_n(op, inputs, cls == "LSTM" ? 3 : 2, std::move(attrs));

  std::string y;  // Kiln's first output
  if (c.return_sequences) {  // Y [T, dirs, B, H] -> [B, T, dirs, H]
    y = l.b.node("Transpose", {ys[0]}, onnx_attrs(onnx_ints_attr("perm", {2, 0, 1, 3})));
    if (merge == "concat") {
      y = l.b.node("Reshape", {y, l.b.int64s("shape", {0, 0, -1})});
    } else {
      y = merge_directions(l, merge, y, 2);
    }
  } else {  // Y_h [dirs, B, H] -> [B, dirs * H]
    y = l.b.node("Transpose", {ys[1]}, onnx_attrs(onnx_ints_attr("perm", {1, 0, 2})));
    if (merge == "concat") {
      y = l.b.node("Reshape", {y, l.b.int64s("shape", {0, -1})});
    } else {
      y = merge_directions(l, merge, y, 1);
    }
  }
  out->push_back({y, {}, false});
  if (c.return_state) {  // Keras order: forward h (, c), then backward h (, c)
    for (int64_t d = 0; d < dirs; ++d)
      for (size_t s = 1; s < ys.size(); ++s) out->push_back({state_of(l, ys[s], d), {}, false});
  }
  return Status();
}

}  // namespace kiln
