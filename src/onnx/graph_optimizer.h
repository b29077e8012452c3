// Load-time graph optimization of an ONNX model, after constant folding:
//  - LayerNorm and GELU written op by op become one op each; MatMul by a
//    constant weight + bias (+ activation) one GEMM (transformer_fusion.cc);
//  - QDQ patterns (DequantizeLinear -> Conv / MatMul / Gemm [-> Relu] ->
//    QuantizeLinear) become integer QLinearConv / QLinearMatMul (qdq_fusion.cc);
//  - no-ops are removed: Identity, inference Dropout, zero Pads, identity
//    Transposes, Transpose pairs that cancel, and a Reshape/Flatten/Squeeze/
//    Unsqueeze whose only reader is a Reshape to a fixed shape;
//  - Conv followed by an inference BatchNormalization becomes one Conv with
//    scaled filters and a shifted bias;
//  - Gemm's constant transposed B (PyTorch's Linear) is transposed once;
//  - Relu / Clip(0, 6) / Sigmoid / Tanh after Gemm or Conv is fused into it;
//  - 2-D float convolutions, pools, batch norms and the ops between them run
//    channels-last on Kiln's NHWC kernels with filters packed once at load
//    (layout_nhwc.cc), with a transpose only where the layout must change.
// Every rewrite keeps the graph's outputs and their names.
#pragma once
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "io/onnx_attributes.h"
#include "onnx/op.h"
#include "onnx/value.h"

namespace kiln {

struct OnnxOptimizeStats {
  int noops_removed = 0, batch_norms_folded = 0, activations_fused = 0;
  int nhwc_nodes = 0, layout_transposes = 0;
  int qdq_fused = 0;  // quantized patterns run as integer ops
  int transformer_fused = 0;  // LayerNorm / GELU chains and MatMul + bias (+ activation)
};

struct OnnxGraphToOptimize {
  std::vector<const OnnxNode*> nodes;           // in run order
  std::map<std::string, OnnxValue>* constants;  // read; the passes add new ones
  std::set<std::string> outputs;                // graph outputs: kept as they are
  std::deque<OnnxNode>* owned;                  // storage for the nodes the passes create
  int64_t opset = 0;
  std::set<std::string> names;                  // every value name in use (filled by optimize_onnx_graph)
};

Status optimize_onnx_graph(OnnxGraphToOptimize* g, OnnxOptimizeStats* stats);

// ---- helpers shared by the passes (graph_optimizer.cc) ----

// A copy of a node without subgraph attributes (control-flow nodes are never rewritten).
OnnxNode clone_onnx_node(const OnnxNode& n);
// How many nodes read each value.
std::map<std::string, int> count_onnx_readers(const std::vector<const OnnxNode*>& nodes);
// A value's entry in count_onnx_readers' map: 0 for a value nothing reads.
int reader_count(const std::map<std::string, int>& readers, const std::string& name);
// The constant named `name` when it is a float32 constant, else null.
const OnnxValue* float_constant(const OnnxGraphToOptimize& g, const std::string& name);
// The elementwise activation a node computes that Kiln can fuse (Relu,
// Clip(0, 6), Sigmoid, Tanh), or false.
bool fusable_activation(const OnnxGraphToOptimize& g, const OnnxNode& n, Activation* out);
// An inference BatchNormalization with constant float32 parameters of
// `channels` elements as y = x * scale + shift per channel (scale = gamma /
// sqrt(var + epsilon), shift = beta - mean * scale, in double); false otherwise.
bool batch_norm_as_affine(const OnnxGraphToOptimize& g, const OnnxNode& bn, int64_t channels,
                          std::vector<double>* scale, std::vector<double>* shift);
// A value name derived from `base` that nothing in the graph uses yet.
std::string fresh_onnx_name(OnnxGraphToOptimize* g, const std::string& base);
// Adds a constant under a fresh name derived from `base`; returns the name.
std::string add_onnx_constant(OnnxGraphToOptimize* g, const std::string& base, OnnxValue v);

Status convert_to_nhwc(OnnxGraphToOptimize* g, OnnxOptimizeStats* stats);  // layout_nhwc.cc
// LayerNorm and GELU chains, MatMul + bias (+ activation) (transformer_fusion.cc).
void fuse_transformer_patterns(OnnxGraphToOptimize* g, OnnxOptimizeStats* stats);
// QDQ fusion, then the folding of the constant DequantizeLinears the session left for it (qdq_fusion.cc).
Status fuse_qdq(OnnxGraphToOptimize* g, OnnxOptimizeStats* stats);
// Whether the session should leave this constant DequantizeLinear unfolded for
// fuse_qdq: it dequantizes an 8-bit weight read by a Conv, MatMul or Gemm.
bool keep_weight_dequantize(const OnnxNode& n, const std::map<std::string, OnnxValue>& constants,
                            const std::map<std::string, std::vector<const OnnxNode*>>& readers);

}  // namespace kiln
