// Translates a TensorFlow graph (a TF.js graph model's GraphDef) into an ONNX
// graph that Kiln's ONNX runtime runs with all its passes. TF images are NHWC
// and ONNX's convolutions NCHW; instead of transposing around every
// convolution, each 4-D value is kept in the layout its producer gives
// (convolutions, pools, and the elementwise ops, concatenations, pads and
// reductions between them stay NCHW), and a Transpose is emitted, once per
// value, only where an op needs the other one. The result reads like a
// PyTorch export, which the runtime's channels-last pass then optimizes.
// The translators of each op family live in tf_ops_*.cc.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "core/json.h"
#include "core/status.h"
#include "frontends/tf_graph/tf_node.h"
#include "io/onnx_attributes.h"
#include "io/onnx_model.h"

namespace kiln {

class TfGraphTranslator;
using TfOpTranslator = Status (*)(TfGraphTranslator& t, const TfNode& n);
// Every op the translator knows, by TF op name (filled by the tf_ops_*.cc families).
const std::map<std::string, TfOpTranslator>& tf_op_translators();
void add_tf_nn_ops(std::map<std::string, TfOpTranslator>* table);
void add_tf_math_ops(std::map<std::string, TfOpTranslator>* table);
void add_tf_shape_ops(std::map<std::string, TfOpTranslator>* table);

class TfGraphTranslator {
 public:
  explicit TfGraphTranslator(OnnxGraph* g) : g_(g) {}

  // ---- values ----
  // The TF value a node input names ("x:0" and "x" are the same value).
  static std::string canonical(const std::string& input);
  // The value of input `i`; an error when the node has fewer inputs.
  Status input(const TfNode& n, size_t i, std::string* value) const;
  bool known(const std::string& value) const { return values_.count(value) > 0; }
  // The ONNX name holding `value` in TF's layout (a Transpose back from NCHW emitted once if needed).
  std::string nhwc(const std::string& value);
  // The ONNX name holding a 4-D `value` as NCHW (a Transpose emitted once if needed).
  std::string nchw(const std::string& value);
  // True when the value is held as NCHW only (its producer gave NCHW).
  bool held_nchw(const std::string& value) const;
  int rank(const std::string& value) const;  // -1 when unknown
  // The value's contents when known at import (a Const, possibly folded), else null.
  const OnnxTensor* constant(const std::string& value) const;
  // Constant input `i` as integers, or an error naming the node.
  Status const_ints(const TfNode& n, size_t i, std::vector<int64_t>* out) const;

  // Declares output `k` of node `n` held in ONNX value `onnx` (`nchw` layout or TF's), of `rank` (-1 unknown).
  void define(const TfNode& n, int k, const std::string& onnx, bool nchw, int rank);
  // The ONNX name for output `k` of `n` in TF's layout (its TF value name).
  static std::string output_name(const TfNode& n, int k = 0);

  // ---- emission ----
  std::string fresh(const std::string& base);
  void emit(const std::string& op, std::vector<std::string> inputs, std::vector<std::string> outputs,
            std::vector<OnnxAttribute> attrs = {});
  // An initializer; returns its (fresh) name.
  std::string add_constant(const std::string& base, OnnxTensor t);
  std::string const_i64(const std::string& base, const std::vector<int64_t>& v, bool scalar = false);
  std::string const_f32(const std::string& base, const std::vector<float>& v, const std::vector<int64_t>& dims);
  // A Const node's value (from the weights or the node's own tensor attribute).
  void add_tf_constant(const std::string& value, OnnxTensor t);

  // Runs the whole translation: nodes in order, then the outputs.
  Status translate(const Json& graph, const Json* signature, std::map<std::string, OnnxTensor> weights,
                   std::vector<std::string>* input_names, std::vector<std::string>* output_names);

 private:
  struct Value {
    std::string nhwc, nchw;  // ONNX names; either may be empty until needed
    int rank = -1;
  };
  Status translate_node(const TfNode& n, std::map<std::string, OnnxTensor>* weights);
  Status placeholder(const TfNode& n, std::vector<std::string>* inputs);
  void drop_unread_initializers();

  OnnxGraph* g_;
  std::map<std::string, Value> values_;
  std::map<std::string, size_t> constants_;  // TF value -> index of its initializer
  std::set<std::string> names_;
};

// Public entry: `graph` is model.json's modelTopology, `signature` its
// signature (may be null), `weights` the Const values by node name.
// Fills an ONNX model (opset 13) whose inputs and outputs carry TF.js's names.
Status tf_graph_to_onnx(const Json& graph, const Json* signature, std::map<std::string, OnnxTensor> weights, OnnxModel* out);

}  // namespace kiln
