// Exporting the merge layers: Add, Subtract, Multiply, Average, Maximum,
// Minimum, Concatenate (inputs stay channels-first when all of them are) and Dot.
#include "io/onnx_export_layers.h"
#include "layers/arg_utils.h"
#include "layers/config.h"

namespace kiln {

namespace {

// Dot (inputs of rank 2 or 3): one Einsum contracting the chosen axes; with
// `normalize` each input is first L2-normalized along its axis, with Kiln's
// (TF.js's) floor of 1e-7 on the sum of squares.
Status dot(LayerExport& l, std::vector<ExportValue>* out) {
  std::vector<int64_t> axes;
  bool normalize;
  KILN_RETURN_IF_ERROR(get_int_list(l.config, l.name, "axes", true, kNoNull, &axes));
  KILN_RETURN_IF_ERROR(ConfigReader(l.config, l.name).get_bool("normalize", false, &normalize));
  if (axes.size() == 1) axes.push_back(axes[0]);
  if (axes.size() != 2 || l.inputs.size() != 2) return l.error("expects two inputs and two axes");
  std::vector<std::string> in, terms;
  std::string result = "a";  // a: the batch, k: the contracted axis
  const char* free_labels[2] = {"bc", "de"};
  for (size_t i = 0; i < 2; ++i) {
    const int64_t rank = int64_t(l.inputs[i].shape.size()) + 1, a = axes[i] < 0 ? axes[i] + rank : axes[i];
    std::string x = l.b.kiln_layout(l.inputs[i]);
    if (normalize) {
      const std::string ss = l.b.node("ReduceSumSquare", {x}, onnx_attrs(onnx_ints_attr("axes", {a}), onnx_int_attr("keepdims", 1)));
      x = l.b.node("Div", {x, l.b.node("Sqrt", {l.b.node("Max", {ss, l.b.scalar(1e-7f)})})});
    }
    std::string term = "a";
    for (int64_t d = 1, next = 0; d < rank; ++d) {
      term += d == a ? 'k' : free_labels[i][next];
      if (d != a) result += free_labels[i][next++];
    }
    in.push_back(x);
    terms.push_back(term);
  }
  const std::string y = l.b.node("Einsum", in, onnx_attrs(onnx_string_attr("equation", terms[0] + "," + terms[1] + "->" + result)));
  Shape shape{-1};  // rank-2 inputs give [batch], Kiln [batch, 1]
  shape.insert(shape.end(), l.output_shapes[0].begin(), l.output_shapes[0].end());
  out->push_back({l.b.node("Reshape", {y, l.b.int64s("shape", shape)}), {}, false});
  return Status();
}

}  // namespace

Status export_merge_layer(LayerExport& l, std::vector<ExportValue>* out) {
  if (l.cls == "Dot") return dot(l, out);
  bool all_cf = true;
  for (const ExportValue& v : l.inputs) all_cf = all_cf && v.channels_first;
  std::vector<std::string> in;
  for (const ExportValue& v : l.inputs) in.push_back(all_cf ? v.name : l.b.kiln_layout(v));
  ExportValue y{"", {}, all_cf};
  if (l.cls == "Concatenate") {
    int64_t axis;
    KILN_RETURN_IF_ERROR(ConfigReader(l.config, l.name).get_int("axis", -1, &axis, -64, 64));
    const int64_t rank = int64_t(l.inputs[0].shape.size()) + 1;
    if (axis < 0) axis += rank;
    if (axis <= 0 || axis >= rank) return l.error("cannot concatenate along axis " + std::to_string(axis));
    // Channels-first moves Kiln's last axis to 1 and shifts the others right.
    if (all_cf) axis = axis == rank - 1 ? 1 : axis + 1;
    y.name = l.b.node("Concat", in, onnx_attrs(onnx_int_attr("axis", axis)));
  } else if (l.cls == "Subtract") {
    if (in.size() != 2) return l.error("Subtract takes two inputs");
    y.name = l.b.node("Sub", in);
  } else if (l.cls == "Multiply") {
    y.name = in[0];
    for (size_t i = 1; i < in.size(); ++i) y.name = l.b.node("Mul", {y.name, in[i]});
  } else {
    const char* op = l.cls == "Add" ? "Sum" : l.cls == "Average" ? "Mean" : l.cls == "Maximum" ? "Max" : "Min";
    y.name = l.b.node(op, in);
  }
  out->push_back(y);
  return Status();
}

}  // namespace kiln
