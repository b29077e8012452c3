// Exporting the reshaping layers: Flatten, Reshape, Permute, RepeatVector,
// Cropping1D/2D, ZeroPadding1D/2D and UpSampling1D/2D (nearest, bilinear).
#include "io/onnx_export_layers.h"
#include "layers/arg_utils.h"
#include "layers/config.h"

namespace kiln {

namespace {

// Flatten (and dataFormat channelsFirst layers): Kiln's own layout.
ExportValue in_kiln_layout(LayerExport& l) {
  return {l.b.kiln_layout(l.inputs[0]), l.inputs[0].shape, false};
}

Status data_format_first(LayerExport& l, bool* channels_first) {
  std::string f;
  KILN_RETURN_IF_ERROR(ConfigReader(l.config, l.name).get_string("dataFormat", "channelsLast", &f));
  *channels_first = f == "channelsFirst";
  return Status();
}

// ONNX axes of the spatial dims of `x` as stored (its channel axis elsewhere).
std::vector<int64_t> spatial_axes(const ExportValue& x, bool data_channels_first, size_t n) {
  const int64_t first = x.channels_first || data_channels_first ? 2 : 1;
  std::vector<int64_t> axes;
  for (size_t i = 0; i < n; ++i) axes.push_back(first + int64_t(i));
  return axes;
}

Status crop_or_pad(LayerExport& l, bool crop, size_t n, std::vector<ExportValue>* out) {
  bool data_cf = false;
  if (n == 2) KILN_RETURN_IF_ERROR(data_format_first(l, &data_cf));
  std::vector<std::pair<int64_t, int64_t>> amounts;
  const int64_t dflt = crop ? 0 : 1;
  KILN_RETURN_IF_ERROR(get_pairs(l.config, l.name, crop ? "cropping" : "padding", n,
                                 std::vector<std::pair<int64_t, int64_t>>(n, {dflt, dflt}), &amounts));
  ExportValue x = data_cf ? in_kiln_layout(l) : l.inputs[0];
  const std::vector<int64_t> axes = spatial_axes(x, data_cf, n);
  const size_t rank = x.shape.size() + 1;
  // Kiln's size of spatial axis i.
  auto size = [&](size_t i) { return x.shape[(data_cf ? 1 : 0) + i]; };
  if (crop) {
    std::vector<int64_t> starts, ends;
    for (size_t i = 0; i < n; ++i) {
      starts.push_back(amounts[i].first);
      ends.push_back(size(i) - amounts[i].second);
    }
    x.name = l.b.node("Slice", {x.name, l.b.int64s("starts", starts), l.b.int64s("ends", ends), l.b.int64s("axes", axes)});
  } else {
    std::vector<int64_t> pads(2 * rank, 0);
    for (size_t i = 0; i < n; ++i) {
      pads[size_t(axes[i])] = amounts[i].first;
      pads[rank + size_t(axes[i])] = amounts[i].second;
    }
    x.name = l.b.node("Pad", {x.name, l.b.int64s("pads", pads)});
  }
  out->push_back(x);
  return Status();
}

Status up_sample(LayerExport& l, size_t n, std::vector<ExportValue>* out) {
  ConfigReader r(l.config, l.name);
  std::vector<int64_t> size;
  std::string interp = "nearest";
  bool data_cf = false;
  KILN_RETURN_IF_ERROR(r.get_ints("size", n, std::vector<int64_t>(n, 2), &size, 1));
  if (n == 2) {
    KILN_RETURN_IF_ERROR(r.get_string("interpolation", "nearest", &interp));
    KILN_RETURN_IF_ERROR(data_format_first(l, &data_cf));
  }
  // Resize on channels-first data; asymmetric coordinates reproduce TF.js (no half-pixel centers).
  ExportValue x = data_cf ? in_kiln_layout(l) : ExportValue{l.b.channels_first(l.inputs[0]), l.inputs[0].shape, true};
  std::vector<float> scales(x.shape.size() + 1, 1.0f);
  for (size_t i = 0; i < n; ++i) scales[2 + i] = float(size[i]);
  const std::string key = "scales_" + std::to_string(scales.size()) + "_" + std::to_string(size[0]) + "_" + std::to_string(size[n - 1]);
  std::vector<OnnxAttribute> attrs = onnx_attrs(onnx_string_attr("mode", interp == "nearest" ? "nearest" : "linear"),
                                   onnx_string_attr("coordinate_transformation_mode", "asymmetric"));
  if (interp == "nearest") attrs.push_back(onnx_string_attr("nearest_mode", "floor"));
  x.name = l.b.node("Resize", {x.name, "", l.b.floats(key, {int64_t(scales.size())}, scales)}, std::move(attrs));
  out->push_back(x);
  return Status();
}

}  // namespace

Status export_reshaping_layer(LayerExport& l, std::vector<ExportValue>* out) {
  const std::string& c = l.cls;
  if (c == "Cropping1D" || c == "Cropping2D" || c == "ZeroPadding1D" || c == "ZeroPadding2D")
    return crop_or_pad(l, c[0] == 'C', c.find("2D") != std::string::npos ? 2 : 1, out);
  if (c == "UpSampling1D" || c == "UpSampling2D") return up_sample(l, c == "UpSampling2D" ? 2 : 1, out);
  ExportValue x = in_kiln_layout(l);
  if (c == "Flatten") {
    bool data_cf = false;
    KILN_RETURN_IF_ERROR(data_format_first(l, &data_cf));
    if (data_cf && x.shape.size() >= 2)  // channels go last first, as TF.js does
      x.name = l.b.node("Transpose", {x.name}, onnx_attrs(onnx_ints_attr("perm", perm_to_channels_last(x.shape.size() + 1))));
    x.name = l.b.node("Flatten", {x.name}, onnx_attrs(onnx_int_attr("axis", 1)));
  } else if (c == "Reshape") {
    Shape target{-1};
    target.insert(target.end(), l.output_shapes[0].begin(), l.output_shapes[0].end());
    x.name = l.b.node("Reshape", {x.name, l.b.int64s("shape", target)});
  } else if (c == "Permute") {
    std::vector<int64_t> dims;
    KILN_RETURN_IF_ERROR(get_int_list(l.config, l.name, "dims", false, kNoNull, &dims));
    dims.insert(dims.begin(), 0);
    x.name = l.b.node("Transpose", {x.name}, onnx_attrs(onnx_ints_attr("perm", dims)));
  } else {  // RepeatVector: [b, f] -> [b, n, f]
    int64_t n;
    KILN_RETURN_IF_ERROR(ConfigReader(l.config, l.name).get_int("n", 1, &n, 1, int64_t(1) << 24));
    x.name = l.b.node("Unsqueeze", {x.name, l.b.int64s("axes", {1})});
    x.name = l.b.node("Tile", {x.name, l.b.int64s("repeats", {1, n, 1})});
  }
  out->push_back(x);
  return Status();
}

}  // namespace kiln
