// The table of layer classes the exporter maps, and the helpers every
// family's exporter shares.
#include "io/onnx_export_layers.h"

namespace kiln {

Status LayerExport::error(const std::string& message) const {
  return Status::error("onnx export: layer '" + name + "' (" + cls + "): " + message);
}

Status LayerExport::activate(Activation act, ExportValue* x) {
  if (activation_is_rowwise(act) && x->channels_first) {
    x->name = b.kiln_layout(*x);
    x->channels_first = false;
  }
  return b.activation(act, x->name, "onnx export: layer '" + name + "' (" + cls + ")", &x->name);
}

Status LayerExport::weight_input(const std::string& spec, std::string* out) {
  ExportWeight w;
  KILN_RETURN_IF_ERROR(weight(spec, &w));
  *out = b.floats(w.key, w.shape, std::vector<float>(w.data, w.data + shape_numel(w.shape)));
  return Status();
}

Status LayerExport::inner_layer(std::string* cls, const Json** config, std::string* inner_name) const {
  const Json* layer = this->config.find("layer");
  const Json* c = layer ? layer->find("className") : nullptr;
  if (!c && layer) c = layer->find("class_name");
  *config = layer ? layer->find("config") : nullptr;
  if (!c || !c->is_string() || !*config) return error("its 'layer' is not a layer");
  *cls = c->as_string();
  const Json* n = (*config)->find("name");
  *inner_name = n && n->is_string() ? n->as_string() : *cls;
  return Status();
}

// TimeDistributed: the inner layer on [batch * steps, ...], reshaped back.
Status export_time_distributed(LayerExport& l, std::vector<ExportValue>* out) {
  std::string cls, inner_name;
  const Json* config;
  KILN_RETURN_IF_ERROR(l.inner_layer(&cls, &config, &inner_name));
  const LayerExporter exporter = find_layer_exporter(cls);
  if (!exporter || cls == "TimeDistributed")
    return l.error("its inner layer '" + inner_name + "' (" + cls + ") has no ONNX equivalent in Kiln's exporter");
  const ExportValue& x = l.inputs[0];
  const int64_t steps = x.shape[0];
  Shape flat{-1}, rest(x.shape.begin() + 1, x.shape.end());
  flat.insert(flat.end(), rest.begin(), rest.end());
  LayerExport inner{l.b, inner_name, cls, *config, {}, {}, {}};
  inner.inputs.push_back({l.b.node("Reshape", {l.b.kiln_layout(x), l.b.int64s("shape", flat)}), rest, false});
  inner.output_shapes.push_back(Shape(l.output_shapes[0].begin() + 1, l.output_shapes[0].end()));
  inner.weight = [&l, inner_name](const std::string& spec, ExportWeight* w) { return l.weight(inner_name + "/" + spec, w); };
  std::vector<ExportValue> ys;
  KILN_RETURN_IF_ERROR(exporter(inner, &ys));
  ExportValue y = ys[0];
  y.shape = inner.output_shapes[0];
  Shape back{-1, steps};
  back.insert(back.end(), y.shape.begin(), y.shape.end());
  out->push_back({l.b.node("Reshape", {l.b.kiln_layout(y), l.b.int64s("shape", back)}), {}, false});
  return Status();
}

std::vector<float> permute_weight(const ExportWeight& w, const std::vector<int64_t>& perm, Shape* out_shape) {
  const size_t r = w.shape.size();
  Shape os(r);
  std::vector<int64_t> in_strides(r, 1);
  for (size_t d = r; d-- > 1;) in_strides[d - 1] = in_strides[d] * w.shape[d];
  for (size_t d = 0; d < r; ++d) os[d] = w.shape[size_t(perm[d])];
  std::vector<float> out(size_t(shape_numel(os)));
  std::vector<int64_t> idx(r, 0);  // index into the output
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t src = 0;
    for (size_t d = 0; d < r; ++d) src += idx[d] * in_strides[size_t(perm[d])];
    out[i] = w.data[src];
    for (size_t d = r; d-- > 0;) {
      if (++idx[d] < os[d]) break;
      idx[d] = 0;
    }
  }
  *out_shape = os;
  return out;
}

namespace {
struct Entry {
  const char* cls;
  LayerExporter fn;
};
const Entry kExporters[] = {
    {"Dense", export_core_layer},
    {"Activation", export_core_layer},
    {"ReLU", export_core_layer},
    {"LeakyReLU", export_core_layer},
    {"PReLU", export_core_layer},
    {"ELU", export_core_layer},
    {"ThresholdedReLU", export_core_layer},
    {"Softmax", export_core_layer},
    {"Dropout", export_core_layer},
    {"SpatialDropout1D", export_core_layer},
    {"SpatialDropout2D", export_core_layer},
    {"GaussianNoise", export_core_layer},
    {"GaussianDropout", export_core_layer},
    {"AlphaDropout", export_core_layer},
    {"Embedding", export_core_layer},
    {"BatchNormalization", export_core_layer},
    {"LayerNormalization", export_core_layer},
    {"Add", export_merge_layer},
    {"Subtract", export_merge_layer},
    {"Multiply", export_merge_layer},
    {"Average", export_merge_layer},
    {"Maximum", export_merge_layer},
    {"Minimum", export_merge_layer},
    {"Concatenate", export_merge_layer},
    {"Dot", export_merge_layer},
    {"Flatten", export_reshaping_layer},
    {"Reshape", export_reshaping_layer},
    {"Permute", export_reshaping_layer},
    {"RepeatVector", export_reshaping_layer},
    {"Cropping1D", export_reshaping_layer},
    {"Cropping2D", export_reshaping_layer},
    {"ZeroPadding1D", export_reshaping_layer},
    {"ZeroPadding2D", export_reshaping_layer},
    {"UpSampling1D", export_reshaping_layer},
    {"UpSampling2D", export_reshaping_layer},
    {"Conv1D", export_conv_layer},
    {"Conv2D", export_conv_layer},
    {"DepthwiseConv2D", export_conv_layer},
    {"SeparableConv2D", export_conv_layer},
    {"Conv2DTranspose", export_conv_layer},
    {"MaxPooling1D", export_conv_layer},
    {"MaxPooling2D", export_conv_layer},
    {"AveragePooling1D", export_conv_layer},
    {"AveragePooling2D", export_conv_layer},
    {"GlobalMaxPooling1D", export_conv_layer},
    {"GlobalMaxPooling2D", export_conv_layer},
    {"GlobalAveragePooling1D", export_conv_layer},
    {"GlobalAveragePooling2D", export_conv_layer},
    {"SimpleRNN", export_recurrent_layer},
    {"LSTM", export_recurrent_layer},
    {"GRU", export_recurrent_layer},
    {"Bidirectional", export_recurrent_layer},
    {"TimeDistributed", export_time_distributed},
};
}  // namespace

LayerExporter find_layer_exporter(const std::string& cls) {
  for (const Entry& e : kExporters)
    if (cls == e.cls) return e.fn;
  return nullptr;
}

}  // namespace kiln
