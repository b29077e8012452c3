// Spatial geometry of ONNX Conv and pooling nodes (kernel, strides,
// dilations, pads, output sizes per spatial axis), shared by the NCHW kernels
// (ops_conv.cc) and the NHWC kernels the graph optimizer swaps in (nhwc_kernels.cc).
#pragma once
#include <cstdint>
#include <vector>

#include "cpu/conv2d.h"
#include "onnx/op.h"

namespace kiln {

struct ConvGeometry {
  int64_t nd = 0;
  std::vector<int64_t> in, k, s, d, pb, pe, out;
};

// Reads kernel/strides/dilations for the spatial sizes `spatial_in`.
Status init_conv_geometry(const OnnxOpContext& ctx, const std::vector<int64_t>& spatial_in,
                          const std::vector<int64_t>& kernel, ConvGeometry* g);
// Fills g.pb/g.pe/g.out from auto_pad / pads / ceil_mode.
Status resolve_conv_pads(const OnnxOpContext& ctx, ConvGeometry* g, bool ceil_mode);
// Kiln's conv kernel parameters for a 1-D or 2-D geometry (1-D is H = 1).
Conv2DParams conv2d_params_of(const ConvGeometry& g, int64_t batch, int64_t in_c, int64_t out_c, int64_t groups);

int64_t onnx_product(const std::vector<int64_t>& v);

// Geometry of an NCHW (N, C, spatial...) input.
Status init_nchw_geometry(const OnnxOpContext& ctx, const OnnxShape& x, const std::vector<int64_t>& kernel, ConvGeometry* g);
// Per (output position, kernel position) the flat input offset or -1 (padding): out_count x k_count entries.
Status window_table(const ConvGeometry& g, std::vector<int64_t>* table);
// Per output position the padded window's size: what AveragePool divides by
// with count_include_pad (pads count, positions ceil_mode adds past them do not).
Status padded_window_counts(const ConvGeometry& g, std::vector<int64_t>* counts);

// ConvTranspose's geometry (NCHW X [n, c, ...], W [c, m/group, k...]):
// pb and yout are the begin pads and output sizes, from pads, output_padding,
// output_shape or auto_pad. Checked so that no size arithmetic overflows.
struct ConvTransposeGeometry {
  int64_t nd = 0, n = 0, c = 0, m = 0, mg = 0, cg = 0, group = 1;
  std::vector<int64_t> xin, k, s, d, pb, yout;
};
Status init_conv_transpose_geometry(const OnnxOpContext& ctx, const OnnxValue& x, const OnnxValue& w, ConvTransposeGeometry* g);
// The forward convolution ConvTranspose is the data gradient of: Y (m
// channels) to X (c channels), 1-D as H = 1.
Conv2DParams conv_transpose_params(const ConvTransposeGeometry& g);

}  // namespace kiln
