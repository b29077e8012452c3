// How ONNX operators are implemented: a kernel per op type, called with the
// node (for its attributes), the opset the model imports, and its input
// values (null for omitted optional inputs). A kernel computes its outputs'
// shapes from the actual inputs, so one loaded model runs at any batch size.
// Kernels are grouped by family in src/onnx/ops_<family>.cc, each exporting a
// table that src/onnx/op_registry.cc collects.
#pragma once
#include "cpu/scratch.h"
#include <string>
#include <vector>

#include "core/activation.h"
#include "io/onnx_model.h"
#include "onnx/value.h"

namespace kiln {

// A graph attribute of a control-flow node (If's branches, the body of Loop,
// Scan and SequenceMap), loaded by the session as a session of its own. It
// takes the graph's own inputs followed by the outer-scope values its nodes
// read: the session appends those to the node's inputs, so a kernel's `in`
// ends with them (OnnxOpContext::num_outer_inputs) and passes them on.
class OnnxSubgraph {
 public:
  virtual ~OnnxSubgraph() = default;
  virtual size_t num_graph_inputs() const = 0;  // the graph's own inputs
  virtual size_t num_graph_outputs() const = 0;
  // feeds: the graph's own inputs, then the outer-scope values.
  virtual Status run_subgraph(const std::vector<OnnxValue>& feeds, std::vector<OnnxValue>* outputs) const = 0;
};

// The subgraphs of one node by attribute name, and how many outer-scope
// values were appended to its inputs (shared by all its subgraphs).
struct OnnxNodeSubgraphs {
  std::vector<std::pair<std::string, const OnnxSubgraph*>> graphs;
  size_t num_outer_inputs = 0;
};

class OnnxOpContext {
 public:
  // `scratch`: memory the session lends kernels (kept between runs, grown to
  // the most one kernel asked for); null (constant folding): the context's own.
  OnnxOpContext(const OnnxNode& node, int64_t opset, std::vector<float>* scratch = nullptr,
                const OnnxNodeSubgraphs* subgraphs = nullptr)
      : node_(node), opset_(opset), scratch_(scratch), subgraphs_(subgraphs) {}
  const OnnxNode& node() const { return node_; }
  int64_t opset() const { return opset_; }  // the default domain's version
  // The loaded graph attribute `name`, or null.
  const OnnxSubgraph* subgraph(const char* name) const;
  size_t num_outer_inputs() const { return subgraphs_ ? subgraphs_->num_outer_inputs : 0; }

  const OnnxAttribute* attr(const char* name) const;
  bool has(const char* name) const { return attr(name) != nullptr; }
  int64_t get_int(const char* name, int64_t dflt) const;
  float get_float(const char* name, float dflt) const;
  std::string get_string(const char* name, const std::string& dflt) const;
  std::vector<int64_t> get_ints(const char* name, std::vector<int64_t> dflt = {}) const;
  std::vector<float> get_floats(const char* name, std::vector<float> dflt = {}) const;

  // "<OpType> node '<name>': <message>": errors that say where in the model.
  Status error(const std::string& message) const;
  // `floats` of scratch for a src/cpu kernel (cpu/scratch.h), valid until the
  // kernel returns. Out of memory is an error (a kernel lent nothing would
  // allocate with `new`, which aborts the wasm instance).
  Status scratch(int64_t floats, Scratch* out) const;

 private:
  const OnnxNode& node_;
  int64_t opset_;
  std::vector<float>* scratch_;
  mutable std::vector<float> own_scratch_;
  const OnnxNodeSubgraphs* subgraphs_;
};

using OnnxInputs = std::vector<const OnnxValue*>;
// `out` arrives sized to the node's output count; a kernel fills every output
// the node names (it may leave optional trailing outputs undefined).
using OnnxKernel = Status (*)(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out);

struct OnnxOpEntry {
  const char* op_type;
  OnnxKernel kernel;
  bool deterministic = true;  // false (random ops): never folded into a constant at load
  // Takes and gives sequences and optionals too (Sequence*, Optional*,
  // control flow, Identity); never folded at load. Every other kernel gets
  // tensors only: the session refuses anything else before calling it.
  bool any_value = false;
};

struct OnnxOpTable {
  const OnnxOpEntry* entries;
  size_t count;
};

// The kernel for an op type of the default domain, or null.
const OnnxOpEntry* find_onnx_op(const std::string& op_type);
// The same, and Kiln's own ops that only run eagerly (the ops API: kiln_random_ops), or null.
const OnnxOpEntry* find_eager_op(const std::string& op_type);

// The domain of the nodes the graph optimizer creates (src/onnx/nhwc_kernels.cc):
// Kiln's own kernels, and standard ops carrying internal attributes.
constexpr const char* kKilnInternalDomain = "kiln.internal";
const OnnxOpEntry* find_onnx_internal_op(const std::string& op_type);
// The fused activation of an internal node (its "activation" attribute, an
// elementwise kiln::Activation code; linear when absent).
Status onnx_internal_activation(const OnnxOpContext& ctx, Activation* out);
// Every op type with a kernel (docs, the conformance report).
std::vector<std::string> onnx_op_types();

// Each family's table (src/onnx/ops_<family>.cc).
OnnxOpTable onnx_elementwise_ops();
OnnxOpTable onnx_shape_ops();
OnnxOpTable onnx_nn_ops();
OnnxOpTable onnx_reduce_ops();
OnnxOpTable onnx_conv_ops();
OnnxOpTable onnx_rnn_ops();
OnnxOpTable onnx_vision_ops();
OnnxOpTable onnx_index_ops();  // ops_index.cc
OnnxOpTable onnx_cast_ops();   // ops_cast.cc (its Cast, with 16-bit floats, is found before elementwise's)
OnnxOpTable onnx_quantize_ops();  // ops_quantize.cc
OnnxOpTable onnx_integer_ops();   // ops_integer.cc: MatMulInteger, QLinearMatMul, ConvInteger, QLinearConv
OnnxOpTable onnx_sequence_ops();  // ops_sequence.cc: Sequence*, Optional*
OnnxOpTable onnx_random_ops();        // ops_random.cc: RandomUniform, RandomNormal, *Like
OnnxOpTable kiln_random_ops();        // ops_random.cc: TruncatedNormal (eager only)
OnnxOpTable kiln_vision_ops();        // ops_vision.cc: SoftNonMaxSuppression (eager only)
OnnxOpTable onnx_control_flow_ops();  // ops_control_flow.cc: If, Loop, Scan, SequenceMap

// Argument checks shared by kernels: `in[i]` present; its rank in [lo, hi].
Status onnx_require_input(const OnnxOpContext& ctx, const OnnxInputs& in, size_t i);
// Normalizes a possibly negative axis for a tensor of `rank` (axis in [-rank, rank)).
Status onnx_normalize_axis(const OnnxOpContext& ctx, int64_t axis, int64_t rank, int64_t* out);

}  // namespace kiln
