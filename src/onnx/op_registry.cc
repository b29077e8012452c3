#include <algorithm>

#include "onnx/conv2d_nhwc.h"
#include "onnx/op.h"
#include "onnx/pool2d_nhwc.h"

namespace kiln {

namespace {
const OnnxOpTable* all_tables(size_t* count) {
  static const OnnxOpTable tables[] = {onnx_elementwise_ops(), onnx_cast_ops(), onnx_shape_ops(), onnx_index_ops(),
                                       onnx_nn_ops(),          onnx_conv_ops(), onnx_rnn_ops(),   onnx_vision_ops(),
                                       onnx_reduce_ops(), onnx_quantize_ops(), onnx_integer_ops(), onnx_sequence_ops(), onnx_random_ops(),
                                       onnx_control_flow_ops()};
  *count = sizeof(tables) / sizeof(tables[0]);
  return tables;
}
}  // namespace

const OnnxOpEntry* find_onnx_op(const std::string& op_type) {
  size_t n;
  const OnnxOpTable* tables = all_tables(&n);
  for (size_t t = 0; t < n; ++t)
    for (size_t i = 0; i < tables[t].count; ++i)
      if (op_type == tables[t].entries[i].op_type) return &tables[t].entries[i];
  return nullptr;
}

const OnnxOpEntry* find_eager_op(const std::string& op_type) {
  if (const OnnxOpEntry* e = find_onnx_op(op_type)) return e;
  for (const OnnxOpTable& kiln : {kiln_random_ops(), kiln_conv_ops(), kiln_pool_ops(), kiln_vision_ops()})
    for (size_t i = 0; i < kiln.count; ++i)
      if (op_type == kiln.entries[i].op_type) return &kiln.entries[i];
  return nullptr;
}

std::vector<std::string> onnx_op_types() {
  size_t n;
  const OnnxOpTable* tables = all_tables(&n);
  std::vector<std::string> out;
  for (size_t t = 0; t < n; ++t)
    for (size_t i = 0; i < tables[t].count; ++i) out.push_back(tables[t].entries[i].op_type);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

const OnnxSubgraph* OnnxOpContext::subgraph(const char* name) const {
  if (!subgraphs_) return nullptr;
  for (const auto& [attr, g] : subgraphs_->graphs)
    if (attr == name) return g;
  return nullptr;
}

Status OnnxOpContext::scratch(int64_t floats, Scratch* out) const {
  *out = Scratch{};
  if (floats <= 0) return Status();
  std::vector<float>* buffer = scratch_ ? scratch_ : &own_scratch_;
  if (int64_t(buffer->size()) < floats) {
    const Status st = resize_or_error(buffer, floats, "kernel scratch");
    if (!st.ok()) return error(st.message());
  }
  *out = Scratch{buffer->data(), floats};
  return Status();
}

const OnnxAttribute* OnnxOpContext::attr(const char* name) const {
  for (const OnnxAttribute& a : node_.attributes)
    if (a.name == name) return &a;
  return nullptr;
}

int64_t OnnxOpContext::get_int(const char* name, int64_t dflt) const {
  const OnnxAttribute* a = attr(name);
  return a ? a->i : dflt;
}

float OnnxOpContext::get_float(const char* name, float dflt) const {
  const OnnxAttribute* a = attr(name);
  return a ? a->f : dflt;
}

std::string OnnxOpContext::get_string(const char* name, const std::string& dflt) const {
  const OnnxAttribute* a = attr(name);
  return a ? a->s : dflt;
}

std::vector<int64_t> OnnxOpContext::get_ints(const char* name, std::vector<int64_t> dflt) const {
  const OnnxAttribute* a = attr(name);
  return a ? a->ints : dflt;
}

std::vector<float> OnnxOpContext::get_floats(const char* name, std::vector<float> dflt) const {
  const OnnxAttribute* a = attr(name);
  return a ? a->floats : dflt;
}

Status OnnxOpContext::error(const std::string& message) const {
  return Status::error(node_.op_type + " node '" + node_.name + "': " + message);
}

Status onnx_require_input(const OnnxOpContext& ctx, const OnnxInputs& in, size_t i) {
  if (i >= in.size() || !in[i] || !in[i]->defined()) return ctx.error("input " + std::to_string(i) + " is required");
  return Status();
}

Status onnx_normalize_axis(const OnnxOpContext& ctx, int64_t axis, int64_t rank, int64_t* out) {
  if (axis < -rank || axis >= rank)
    return ctx.error("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(rank));
  *out = axis < 0 ? axis + rank : axis;
  return Status();
}

}  // namespace kiln
