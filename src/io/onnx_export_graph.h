// The ONNX graph the exporter (io/onnx_export.h) builds, one Kiln layer at a
// time: unique names, nodes, initializers (deduplicated by key, so a shared
// layer's weights are stored once) and the layout of each value.
//
// Layout: Kiln is channels-last; ONNX Conv and pooling are channels-first.
// A value is kept channels-first between consecutive conv/pool nodes and
// turned back only where a layer needs Kiln's layout (Flatten, Dense, ...),
// so a conv stack costs one Transpose in and one out.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/activation.h"
#include "core/shape.h"
#include "core/status.h"
#include "io/onnx_attributes.h"
#include "io/onnx_model.h"

namespace kiln {

struct ExportValue {
  std::string name;
  Shape shape;                  // Kiln's shape, batch excluded
  bool channels_first = false;  // the ONNX tensor has Kiln's last axis at position 1
};

class OnnxGraphBuilder {
 public:
  OnnxGraph& graph() { return graph_; }
  // A name not used yet, from `hint`.
  std::string fresh(const std::string& hint);
  // Appends a node; returns its output names (`num_outputs` of them).
  std::vector<std::string> node_n(const std::string& op, std::vector<std::string> inputs, int num_outputs,
                                  std::vector<OnnxAttribute> attrs = {});
  std::string node(const std::string& op, std::vector<std::string> inputs, std::vector<OnnxAttribute> attrs = {}) {
    return node_n(op, std::move(inputs), 1, std::move(attrs))[0];
  }
  // Initializers; the same `key` returns the first one's name.
  std::string floats(const std::string& key, const Shape& dims, const std::vector<float>& data);
  // A 1-D int64 constant named from `hint`, shared by equal values.
  std::string int64s(const std::string& hint, const std::vector<int64_t>& data);
  std::string scalar(float v);

  // The value in Kiln's layout / channels-first (a cached Transpose when needed).
  std::string kiln_layout(const ExportValue& v);
  std::string channels_first(const ExportValue& v);

  // act(x), Kiln's semantics; linear returns x itself. `where` prefixes errors.
  Status activation(Activation act, const std::string& x, const std::string& where, std::string* out);

  // Nodes are named "<prefix>/<op>"; set per layer.
  void set_prefix(const std::string& prefix) { prefix_ = prefix; }

 private:
  std::string transpose(const std::string& x, std::vector<int64_t> perm, std::map<std::string, std::string>* cache);
  OnnxGraph graph_;
  std::map<std::string, int> used_;
  std::map<std::string, std::string> keyed_;  // initializer key -> name
  std::map<std::string, std::string> to_kiln_, to_cf_;
  std::string prefix_;
};

// Permutation taking a channels-last tensor of `rank` to channels-first, and back.
std::vector<int64_t> perm_to_channels_first(size_t rank);
std::vector<int64_t> perm_to_channels_last(size_t rank);

}  // namespace kiln
