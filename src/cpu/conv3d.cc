#include "cpu/conv3d.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "cpu/gemm.h"

namespace kiln {

namespace {

// Rows per block: the column buffer stays near 1M floats (4 MB), at least one row.
int64_t block_rows(const Conv3DParams& p) {
  return std::max<int64_t>(1, std::min<int64_t>(p.grid_positions(), (int64_t(1) << 20) / std::max<int64_t>(1, p.column_width())));
}

// Calls f(column, image_offset) for every (kernel cell, channel block) of grid
// position r: column is where its image_c values go in the row, image_offset
// the first image value (or -1 where the window reaches into the padding).
template <typename F>
void for_each_window_cell(const Conv3DParams& p, int64_t r, F f) {
  const int64_t ow = r % p.grid[2], oh = (r / p.grid[2]) % p.grid[1], od = r / (p.grid[2] * p.grid[1]);
  int64_t column = 0;
  for (int64_t a = 0; a < p.kernel[0]; ++a) {
    const int64_t id = od * p.stride[0] - p.pad[0] + a * p.dilation[0];
    for (int64_t b = 0; b < p.kernel[1]; ++b) {
      const int64_t ih = oh * p.stride[1] - p.pad[1] + b * p.dilation[1];
      for (int64_t c = 0; c < p.kernel[2]; ++c, column += p.image_c) {
        const int64_t iw = ow * p.stride[2] - p.pad[2] + c * p.dilation[2];
        const bool inside = id >= 0 && id < p.image[0] && ih >= 0 && ih < p.image[1] && iw >= 0 && iw < p.image[2];
        f(column, inside ? ((id * p.image[1] + ih) * p.image[2] + iw) * p.image_c : int64_t(-1));
      }
    }
  }
}

// Rows [r0, r1) of the column matrix of one image.
void im2col(const Conv3DParams& p, const float* image, int64_t r0, int64_t r1, float* col) {
  const int64_t q = p.column_width();
  for (int64_t r = r0; r < r1; ++r) {
    float* row = col + (r - r0) * q;
    for_each_window_cell(p, r, [&](int64_t column, int64_t at) {
      if (at < 0) std::memset(row + column, 0, size_t(p.image_c) * sizeof(float));
      else std::memcpy(row + column, image + at, size_t(p.image_c) * sizeof(float));
    });
  }
}

// The transpose: adds rows [r0, r1) of col into the image.
void col2im_add(const Conv3DParams& p, const float* col, int64_t r0, int64_t r1, float* image) {
  const int64_t q = p.column_width();
  for (int64_t r = r0; r < r1; ++r) {
    const float* row = col + (r - r0) * q;
    for_each_window_cell(p, r, [&](int64_t column, int64_t at) {
      if (at < 0) return;
      float* dst = image + at;
      const float* src = row + column;
      for (int64_t ch = 0; ch < p.image_c; ++ch) dst[ch] += src[ch];
    });
  }
}

Status axis_size(const char* what, int64_t in, int64_t k, int64_t s, int64_t d, bool same, int64_t* out, int64_t* pad) {
  if (in < 1 || k < 1 || s < 1 || d < 1) return Status::error(std::string("conv3d: ") + what + ": sizes, strides and dilations must be positive");
  const int64_t span = (k - 1) * d + 1;
  if (same) {
    *out = (in + s - 1) / s;
    *pad = std::max<int64_t>((*out - 1) * s + span - in, 0) / 2;
  } else {
    if (span > in)
      return Status::error(std::string("conv3d: the ") + what + " axis (" + std::to_string(in) + ") is smaller than the window (" +
                           std::to_string(span) + ") with 'valid' padding");
    *out = (in - span) / s + 1;
    *pad = 0;
  }
  return Status();
}

}  // namespace

Status conv3d_params(int64_t batch, const int64_t image[3], int64_t image_c, int64_t grid_c, const int64_t kernel[3],
                     const int64_t stride[3], const int64_t dilation[3], bool same_padding, Conv3DParams* out) {
  static const char* const kAxes[3] = {"depth", "height", "width"};
  Conv3DParams p;
  if (batch < 0 || image_c < 1 || grid_c < 1) return Status::error("conv3d: channel counts must be positive");
  p.batch = batch;
  p.image_c = image_c;
  p.grid_c = grid_c;
  for (int i = 0; i < 3; ++i) {
    p.image[i] = image[i];
    p.kernel[i] = kernel[i];
    p.stride[i] = stride[i];
    p.dilation[i] = dilation[i];
    KILN_RETURN_IF_ERROR(axis_size(kAxes[i], image[i], kernel[i], stride[i], dilation[i], same_padding, &p.grid[i], &p.pad[i]));
  }
  *out = p;
  return Status();
}

int64_t conv3d_scratch_floats(const Conv3DParams& p) { return block_rows(p) * p.column_width(); }

void conv3d_forward(const Conv3DParams& p, const float* image, const float* filter, const float* bias, float* grid,
                    const Scratch& scratch) {
  const int64_t rows = block_rows(p), q = p.column_width(), positions = p.grid_positions();
  ScratchBuffer col(scratch, conv3d_scratch_floats(p));
  for (int64_t n = 0; n < p.batch; ++n) {
    const float* x = image + n * p.image_positions() * p.image_c;
    float* y = grid + n * positions * p.grid_c;
    for (int64_t r0 = 0; r0 < positions; r0 += rows) {
      const int64_t r1 = std::min(positions, r0 + rows);
      im2col(p, x, r0, r1, col.data());
      GemmArgs g;
      g.m = r1 - r0, g.n = p.grid_c, g.k = q;
      g.a = col.data(), g.lda = q;
      g.b = filter, g.ldb = p.grid_c;
      g.c = y + r0 * p.grid_c, g.ldc = p.grid_c;
      g.bias = bias;
      gemm(g);
    }
  }
}

void conv3d_backward_data(const Conv3DParams& p, const float* grid, const float* filter, const float* bias, float* image,
                          const Scratch& scratch) {
  const int64_t rows = block_rows(p), q = p.column_width(), positions = p.grid_positions();
  const int64_t image_floats = p.image_positions() * p.image_c;
  ScratchBuffer col(scratch, conv3d_scratch_floats(p));
  for (int64_t n = 0; n < p.batch; ++n) {
    const float* dy = grid + n * positions * p.grid_c;
    float* dx = image + n * image_floats;
    if (bias) {
      for (int64_t i = 0; i < p.image_positions(); ++i) std::memcpy(dx + i * p.image_c, bias, size_t(p.image_c) * sizeof(float));
    } else {
      std::memset(dx, 0, size_t(image_floats) * sizeof(float));
    }
    for (int64_t r0 = 0; r0 < positions; r0 += rows) {
      const int64_t r1 = std::min(positions, r0 + rows);
      GemmArgs g;  // col = dy rows [r1 - r0, grid_c] x filter^T [grid_c, q]
      g.trans_b = true;
      g.m = r1 - r0, g.n = q, g.k = p.grid_c;
      g.a = dy + r0 * p.grid_c, g.lda = p.grid_c;
      g.b = filter, g.ldb = p.grid_c;
      g.c = col.data(), g.ldc = q;
      gemm(g);
      col2im_add(p, col.data(), r0, r1, dx);
    }
  }
}

void conv3d_backward_filter(const Conv3DParams& p, const float* image, const float* dgrid, float* dfilter,
                            const Scratch& scratch) {
  const int64_t rows = block_rows(p), q = p.column_width(), positions = p.grid_positions();
  ScratchBuffer col(scratch, conv3d_scratch_floats(p));
  std::memset(dfilter, 0, size_t(q * p.grid_c) * sizeof(float));
  for (int64_t n = 0; n < p.batch; ++n) {
    const float* x = image + n * p.image_positions() * p.image_c;
    const float* dy = dgrid + n * positions * p.grid_c;
    for (int64_t r0 = 0; r0 < positions; r0 += rows) {
      const int64_t r1 = std::min(positions, r0 + rows);
      im2col(p, x, r0, r1, col.data());
      GemmArgs g;  // dfilter [q, grid_c] += col^T [q, rows] x dy rows [rows, grid_c]
      g.trans_a = true;
      g.m = q, g.n = p.grid_c, g.k = r1 - r0;
      g.a = col.data(), g.lda = q;
      g.b = dy + r0 * p.grid_c, g.ldb = p.grid_c;
      g.c = dfilter, g.ldc = p.grid_c;
      g.accumulate = true;
      gemm(g);
    }
  }
}

}  // namespace kiln
