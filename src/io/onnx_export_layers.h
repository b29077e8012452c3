// The per-layer half of the ONNX exporter: one function per Kiln layer
// family, mapping one application of a layer (its inputs, config, weights)
// to ONNX nodes. The driver (io/onnx_export.cc) picks them by class name.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "core/json.h"
#include "io/onnx_export_graph.h"

namespace kiln {

struct ExportWeight {
  Shape shape;
  const float* data = nullptr;
  std::string key;  // unique per weight: the initializer key of its plain form
};

struct LayerExport {
  OnnxGraphBuilder& b;
  std::string name, cls;  // the layer's name and class
  const Json& config;
  std::vector<ExportValue> inputs;
  std::vector<Shape> output_shapes;  // Kiln's, batch excluded
  // The layer's weight by its spec name ("kernel", "forward_lstm_1/bias", ...).
  std::function<Status(const std::string& spec, ExportWeight* out)> weight;

  // "onnx export: layer '<name>' (<cls>): <message>".
  Status error(const std::string& message) const;
  // act(x) where x holds Kiln's layout or channels-first (row-wise
  // activations first return x to Kiln's layout).
  Status activate(Activation act, ExportValue* x);
  // The plain weight as an initializer.
  Status weight_input(const std::string& spec, std::string* out);
  // A wrapper's (Bidirectional, TimeDistributed) inner layer: class, config, name.
  Status inner_layer(std::string* cls, const Json** config, std::string* name) const;
};

using LayerExporter = Status (*)(LayerExport& l, std::vector<ExportValue>* outputs);

// The exporter of a class name, or null when it has no ONNX mapping.
LayerExporter find_layer_exporter(const std::string& cls);

// Families (io/onnx_export_{core,merge,reshaping,conv,rnn}.cc).
Status export_core_layer(LayerExport& l, std::vector<ExportValue>* out);       // Dense, activations, noise, norms, Embedding
Status export_reshaping_layer(LayerExport& l, std::vector<ExportValue>* out);  // Flatten, Reshape, Pad, ...
Status export_merge_layer(LayerExport& l, std::vector<ExportValue>* out);      // Add, Concatenate, Dot, ...
Status export_conv_layer(LayerExport& l, std::vector<ExportValue>* out);       // Conv*, *Pooling*
Status export_recurrent_layer(LayerExport& l, std::vector<ExportValue>* out);  // SimpleRNN, LSTM, GRU, Bidirectional
Status export_time_distributed(LayerExport& l, std::vector<ExportValue>* out);

// Kernel transposed to `perm` (a row-major permutation of `shape`).
std::vector<float> permute_weight(const ExportWeight& w, const std::vector<int64_t>& perm, Shape* out_shape);

}  // namespace kiln
