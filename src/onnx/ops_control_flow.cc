// ONNX control flow: If, Loop, Scan and SequenceMap. Their graph attributes
// run as sessions of their own (OnnxSubgraph, loaded with the model); the
// outer-scope values a body reads arrive as the node's trailing inputs and are
// passed on to every run of the body.
#include <cstring>

#include "onnx/kernel_util.h"

namespace kiln {

namespace {

// The node's inputs before the outer-scope values the session appended.
size_t num_own_inputs(const OnnxOpContext& ctx, const OnnxInputs& in) { return in.size() - ctx.num_outer_inputs(); }

std::vector<OnnxValue> outer_values(const OnnxOpContext& ctx, const OnnxInputs& in) {
  std::vector<OnnxValue> v;
  for (size_t i = num_own_inputs(ctx, in); i < in.size(); ++i) v.push_back(in[i] ? *in[i] : OnnxValue());
  return v;
}

Status require_subgraph(const OnnxOpContext& ctx, const char* name, const OnnxSubgraph** out) {
  *out = ctx.subgraph(name);
  if (!*out) return ctx.error("graph attribute '" + std::string(name) + "' is missing");
  return Status();
}

// Runs `g` on feeds + outer values; checks it gives `want` outputs.
Status run_body(const OnnxOpContext& ctx, const OnnxSubgraph& g, std::vector<OnnxValue> feeds,
                const std::vector<OnnxValue>& outer, size_t want, std::vector<OnnxValue>* outs) {
  feeds.insert(feeds.end(), outer.begin(), outer.end());
  const Status st = g.run_subgraph(feeds, outs);
  if (!st.ok()) return ctx.error("in its subgraph: " + st.message());
  if (outs->size() != want)
    return ctx.error("its subgraph gives " + std::to_string(outs->size()) + " outputs, " + std::to_string(want) + " expected");
  return Status();
}

Status read_bool_scalar(const OnnxOpContext& ctx, const OnnxValue& v, const char* what, bool* out) {
  if (!v.is_tensor() || v.type() != DataType::kBool || v.numel() != 1)
    return ctx.error(std::string(what) + " must be a bool tensor of one element, got a " + onnx_value_description(v) +
                     (v.is_tensor() ? " of shape " + onnx_shape_string(v.shape()) : ""));
  *out = v.data<uint8_t>()[0] != 0;
  return Status();
}

OnnxValue int64_scalar(int64_t v) {
  OnnxValue out;
  OnnxValue::make(DataType::kInt64, {}, &out);
  out.data<int64_t>()[0] = v;
  return out;
}

// Element counts before and after `axis` (in bytes for `inner`).
void split_at_axis(const OnnxShape& s, int64_t axis, size_t element_size, int64_t* outer, int64_t* inner) {
  *outer = 1, *inner = int64_t(element_size);
  for (int64_t d = 0; d < axis; ++d) *outer *= s[size_t(d)];
  for (size_t d = size_t(axis) + 1; d < s.size(); ++d) *inner *= s[d];
}

// x's slice at `index` along `axis`, that axis removed.
Status take_slice(const OnnxValue& x, int64_t axis, int64_t index, OnnxValue* out) {
  OnnxShape s = x.shape();
  const int64_t dim = s[size_t(axis)];
  int64_t outer = 0, inner = 0;
  split_at_axis(s, axis, x.element_size(), &outer, &inner);
  s.erase(s.begin() + axis);
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(x.type(), s, out));
  const uint8_t* src = static_cast<const uint8_t*>(x.raw());
  uint8_t* dst = static_cast<uint8_t*>(out->raw());
  for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + o * inner, src + (o * dim + index) * inner, size_t(inner));
  return Status();
}

// Stacks tensors of one type and shape along a new `axis` (in reverse order when asked).
Status stack(const OnnxOpContext& ctx, const std::vector<OnnxValue>& items, int64_t axis, bool reverse, const char* what,
             OnnxValue* out) {
  if (items.empty()) return Status();
  const OnnxValue& first = items[0];
  for (const OnnxValue& t : items)
    if (!t.is_tensor() || t.type() != first.type() || t.shape() != first.shape())
      return ctx.error(std::string(what) + " changes type or shape between iterations (" + onnx_value_description(first) + " " +
                       onnx_shape_string(first.shape()) + ", then " + onnx_value_description(t) +
                       (t.is_tensor() ? " " + onnx_shape_string(t.shape()) : "") + ")");
  if (axis < 0 || axis > first.rank()) return ctx.error(std::string(what) + ": axis " + std::to_string(axis) + " is out of range");
  OnnxShape s = first.shape();
  const int64_t n = int64_t(items.size());
  s.insert(s.begin() + axis, n);
  KILN_RETURN_IF_ERROR(OnnxValue::make_uninitialized(first.type(), s, out));
  int64_t outer = 0, inner = 0;
  split_at_axis(s, axis, first.element_size(), &outer, &inner);
  uint8_t* dst = static_cast<uint8_t*>(out->raw());
  for (int64_t i = 0; i < n; ++i) {
    const uint8_t* src = static_cast<const uint8_t*>(items[size_t(reverse ? n - 1 - i : i)].raw());
    for (int64_t o = 0; o < outer; ++o) std::memcpy(dst + (o * n + i) * inner, src + o * inner, size_t(inner));
  }
  return Status();
}

// ---- If --------------------------------------------------------------------------------

Status op_if(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  bool cond = false;
  KILN_RETURN_IF_ERROR(read_bool_scalar(ctx, *in[0], "cond", &cond));
  const OnnxSubgraph* branch = nullptr;
  KILN_RETURN_IF_ERROR(require_subgraph(ctx, cond ? "then_branch" : "else_branch", &branch));
  std::vector<OnnxValue> outs;
  KILN_RETURN_IF_ERROR(run_body(ctx, *branch, {}, outer_values(ctx, in), out->size(), &outs));
  for (size_t k = 0; k < out->size(); ++k) (*out)[k] = std::move(outs[k]);
  return Status();
}

// ---- Loop ------------------------------------------------------------------------------

// for (i = 0; i < M && cond; ++i) {cond, carried..., scans...} = body(i, cond, carried...)
Status op_loop(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  const OnnxSubgraph* body = nullptr;
  KILN_RETURN_IF_ERROR(require_subgraph(ctx, "body", &body));
  const size_t own = num_own_inputs(ctx, in);
  if (own < 2) return ctx.error("takes a trip count and a condition (either may be empty)");
  const size_t carried = own - 2;
  if (out->size() < carried) return ctx.error("has fewer outputs than loop-carried values");
  const size_t scans = out->size() - carried;
  if (body->num_graph_inputs() != carried + 2 || body->num_graph_outputs() != carried + scans + 1)
    return ctx.error("its body takes " + std::to_string(body->num_graph_inputs()) + " inputs and gives " +
                     std::to_string(body->num_graph_outputs()) + " outputs; the node needs " + std::to_string(carried + 2) +
                     " and " + std::to_string(carried + scans + 1));
  const bool has_trip_count = onnx_has_input(in, 0), has_cond = onnx_has_input(in, 1);
  int64_t trip_count = 0;
  if (has_trip_count) {
    std::vector<int64_t> m;
    KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 0, "trip count M", &m));
    if (m.size() != 1) return ctx.error("trip count M must have one element");
    trip_count = m[0];
  }
  bool cond = true;
  if (has_cond) KILN_RETURN_IF_ERROR(read_bool_scalar(ctx, *in[1], "cond", &cond));
  if (!has_trip_count && !has_cond) return ctx.error("has neither a trip count nor a condition, so it would never end");
  std::vector<OnnxValue> state;
  for (size_t i = 0; i < carried; ++i) {
    KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 2 + i));
    state.push_back(*in[2 + i]);
  }
  const std::vector<OnnxValue> outer = outer_values(ctx, in);
  std::vector<std::vector<OnnxValue>> scan_items(scans);
  std::vector<OnnxValue> feeds, outs;
  for (int64_t i = 0; (!has_trip_count || i < trip_count) && cond; ++i) {
    OnnxValue cond_value;
    KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kBool, {}, &cond_value));
    cond_value.data<uint8_t>()[0] = 1;
    feeds = {int64_scalar(i), cond_value};
    feeds.insert(feeds.end(), state.begin(), state.end());
    KILN_RETURN_IF_ERROR(run_body(ctx, *body, std::move(feeds), outer, carried + scans + 1, &outs));
    KILN_RETURN_IF_ERROR(read_bool_scalar(ctx, outs[0], "the body's condition output", &cond));
    if (!has_cond) cond = true;  // without a condition input only M ends the loop
    for (size_t k = 0; k < carried; ++k) state[k] = std::move(outs[1 + k]);
    for (size_t k = 0; k < scans; ++k) scan_items[k].push_back(std::move(outs[1 + carried + k]));
  }
  for (size_t k = 0; k < carried; ++k) (*out)[k] = std::move(state[k]);
  for (size_t k = 0; k < scans; ++k) {
    OnnxValue& y = (*out)[carried + k];
    if (scan_items[k].empty()) {  // no iteration ran: an empty float tensor
      KILN_RETURN_IF_ERROR(OnnxValue::make(DataType::kFloat32, {0}, &y));
      continue;
    }
    KILN_RETURN_IF_ERROR(stack(ctx, scan_items[k], 0, false, "a scan output", &y));
  }
  return Status();
}

// ---- Scan ------------------------------------------------------------------------------

// One Scan over its own inputs (opset 9 form: no batch axis): state values
// and scan inputs sliced along their scan axes.
Status scan_once(const OnnxOpContext& ctx, const OnnxSubgraph& body, const std::vector<OnnxValue>& initial,
                 const std::vector<OnnxValue>& scan_in, const std::vector<OnnxValue>& outer, size_t num_outputs,
                 std::vector<OnnxValue>* results) {
  const size_t n_state = initial.size(), m = scan_in.size(), k_out = num_outputs - n_state;
  const std::vector<int64_t> in_axes = ctx.get_ints("scan_input_axes", std::vector<int64_t>(m, 0));
  const std::vector<int64_t> in_dirs = ctx.get_ints("scan_input_directions", std::vector<int64_t>(m, 0));
  const std::vector<int64_t> out_axes = ctx.get_ints("scan_output_axes", std::vector<int64_t>(k_out, 0));
  const std::vector<int64_t> out_dirs = ctx.get_ints("scan_output_directions", std::vector<int64_t>(k_out, 0));
  if (in_axes.size() != m || in_dirs.size() != m || out_axes.size() != k_out || out_dirs.size() != k_out)
    return ctx.error("scan axes / directions attributes do not match the number of scan inputs and outputs");
  std::vector<int64_t> axes(m);
  int64_t length = -1;
  for (size_t j = 0; j < m; ++j) {
    if (!scan_in[j].is_tensor()) return ctx.error("scan inputs must be tensors");
    KILN_RETURN_IF_ERROR(onnx_normalize_axis(ctx, in_axes[j], scan_in[j].rank(), &axes[j]));
    const int64_t len = scan_in[j].shape()[size_t(axes[j])];
    if (length >= 0 && len != length) return ctx.error("scan inputs have different sequence lengths");
    length = len;
  }
  if (m == 0) return ctx.error("needs at least one scan input");
  std::vector<OnnxValue> state = initial, outs;
  std::vector<std::vector<OnnxValue>> scanned(k_out);
  for (int64_t t = 0; t < length; ++t) {
    std::vector<OnnxValue> feeds = state;
    for (size_t j = 0; j < m; ++j)
      KILN_RETURN_IF_ERROR(take_slice(scan_in[j], axes[j], in_dirs[j] ? length - 1 - t : t, &feeds.emplace_back()));
    KILN_RETURN_IF_ERROR(run_body(ctx, body, std::move(feeds), outer, num_outputs, &outs));
    for (size_t k = 0; k < n_state; ++k) state[k] = std::move(outs[k]);
    for (size_t k = 0; k < k_out; ++k) scanned[k].push_back(std::move(outs[n_state + k]));
  }
  results->assign(num_outputs, OnnxValue());
  for (size_t k = 0; k < n_state; ++k) (*results)[k] = std::move(state[k]);
  for (size_t k = 0; k < k_out; ++k) {
    if (scanned[k].empty()) return ctx.error("scan inputs of length 0 give no scan output to shape");
    int64_t axis = out_axes[k];
    if (axis < 0) axis += scanned[k][0].rank() + 1;
    KILN_RETURN_IF_ERROR(stack(ctx, scanned[k], axis, out_dirs[k] != 0, "a scan output", &(*results)[n_state + k]));
  }
  return Status();
}

Status op_scan(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  const OnnxSubgraph* body = nullptr;
  KILN_RETURN_IF_ERROR(require_subgraph(ctx, "body", &body));
  const int64_t m = ctx.get_int("num_scan_inputs", -1);
  const bool batched = ctx.opset() < 9;  // opset 8: sequence_lens first, a batch axis on everything
  const size_t own = num_own_inputs(ctx, in), first = batched ? 1 : 0;
  if (m < 1 || size_t(m) > own - first) return ctx.error("num_scan_inputs must be between 1 and the number of inputs");
  const size_t n_state = own - first - size_t(m);
  if (out->size() < n_state) return ctx.error("has fewer outputs than state values");
  if (body->num_graph_inputs() != n_state + size_t(m) || body->num_graph_outputs() != out->size())
    return ctx.error("its body's inputs and outputs do not match the node's");
  std::vector<OnnxValue> values;
  for (size_t i = first; i < own; ++i) {
    KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, i));
    values.push_back(*in[i]);
  }
  const std::vector<OnnxValue> outer = outer_values(ctx, in);
  if (!batched) {
    std::vector<OnnxValue> results;
    KILN_RETURN_IF_ERROR(scan_once(ctx, *body, std::vector<OnnxValue>(values.begin(), values.begin() + n_state),
                                   std::vector<OnnxValue>(values.begin() + n_state, values.end()), outer, out->size(), &results));
    for (size_t k = 0; k < out->size(); ++k) (*out)[k] = std::move(results[k]);
    return Status();
  }
  if (ctx.has("directions")) {
    for (int64_t d : ctx.get_ints("directions"))
      if (d != 0) return ctx.error("reverse scan directions of opset 8 are not supported");
  }
  // Opset 8: scan each batch item on its own (axis 1 of the scan inputs), then stack the results.
  const int64_t batch = values.empty() || !values[0].is_tensor() || values[0].rank() < 1 ? 0 : values[0].shape()[0];
  for (const OnnxValue& v : values)
    if (!v.is_tensor() || v.rank() < 1 || v.shape()[0] != batch) return ctx.error("inputs must share the batch axis 0");
  if (onnx_has_input(in, 0)) {
    std::vector<int64_t> lens;
    KILN_RETURN_IF_ERROR(onnx_int64s_input(ctx, in, 0, "sequence_lens", &lens));
    for (int64_t len : lens)
      if (len != values[n_state].shape()[1]) return ctx.error("sequence_lens shorter than the scan inputs are not supported");
  }
  std::vector<std::vector<OnnxValue>> per_output(out->size());
  for (int64_t b = 0; b < batch; ++b) {
    std::vector<OnnxValue> item(values.size()), results;
    for (size_t i = 0; i < values.size(); ++i) KILN_RETURN_IF_ERROR(take_slice(values[i], 0, b, &item[i]));
    KILN_RETURN_IF_ERROR(scan_once(ctx, *body, std::vector<OnnxValue>(item.begin(), item.begin() + n_state),
                                   std::vector<OnnxValue>(item.begin() + n_state, item.end()), outer, out->size(), &results));
    for (size_t k = 0; k < out->size(); ++k) per_output[k].push_back(std::move(results[k]));
  }
  for (size_t k = 0; k < out->size(); ++k) {
    if (per_output[k].empty()) return ctx.error("a batch of 0 is not supported");
    KILN_RETURN_IF_ERROR(stack(ctx, per_output[k], 0, false, "a scan output", &(*out)[k]));
  }
  return Status();
}

// ---- SequenceMap -----------------------------------------------------------------------

// Runs the body once per element of the input sequence; sequence inputs give
// their i-th element, tensor inputs are passed whole. Each output is a sequence.
Status op_sequence_map(const OnnxOpContext& ctx, const OnnxInputs& in, std::vector<OnnxValue>* out) {
  const OnnxSubgraph* body = nullptr;
  KILN_RETURN_IF_ERROR(require_subgraph(ctx, "body", &body));
  const size_t own = num_own_inputs(ctx, in);
  KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, 0));
  if (in[0]->kind() != OnnxValueKind::kSequence) return ctx.error("input 0 must be a sequence");
  const size_t length = in[0]->items().size();
  for (size_t j = 0; j < own; ++j) {
    KILN_RETURN_IF_ERROR(onnx_require_input(ctx, in, j));
    if (in[j]->kind() == OnnxValueKind::kSequence && in[j]->items().size() != length)
      return ctx.error("input sequences have different lengths");
  }
  if (body->num_graph_inputs() != own || body->num_graph_outputs() != out->size())
    return ctx.error("its body's inputs and outputs do not match the node's");
  const std::vector<OnnxValue> outer = outer_values(ctx, in);
  std::vector<std::vector<OnnxValue>> results(out->size());
  std::vector<OnnxValue> outs;
  for (size_t i = 0; i < length; ++i) {
    std::vector<OnnxValue> feeds;
    for (size_t j = 0; j < own; ++j) feeds.push_back(in[j]->kind() == OnnxValueKind::kSequence ? in[j]->items()[i] : *in[j]);
    KILN_RETURN_IF_ERROR(run_body(ctx, *body, std::move(feeds), outer, out->size(), &outs));
    for (size_t k = 0; k < outs.size(); ++k) {
      if (!outs[k].is_tensor()) return ctx.error("its body must give tensors");
      if (!results[k].empty() && results[k][0].type() != outs[k].type())
        return ctx.error("its body's output " + std::to_string(k) + " changes type between elements");
      results[k].push_back(std::move(outs[k]));
    }
  }
  for (size_t k = 0; k < out->size(); ++k) {
    const DataType t = results[k].empty() ? DataType::kUndefined : results[k][0].type();
    (*out)[k] = OnnxValue::sequence(t, std::move(results[k]));
  }
  return Status();
}

const OnnxOpEntry kOps[] = {
    {"If", op_if, true, true},
    {"Loop", op_loop, true, true},
    {"Scan", op_scan, true, true},
    {"SequenceMap", op_sequence_map, true, true},
};

}  // namespace

OnnxOpTable onnx_control_flow_ops() { return {kOps, sizeof(kOps) / sizeof(kOps[0])}; }

}  // namespace kiln
