// 3-D convolution on raw NDHWC float buffers (no graph knowledge), TF.js
// layouts: the filter is [kd, kh, kw, image_c, grid_c] for a convolution
// (image = x, grid = y) and its transpose (image = y, grid = x; TF.js's
// conv3dTranspose filter [kd, kh, kw, out_c, in_c] is the same memory).
//
// Both run as im2col + gemm(): the columns of a block of grid positions
// (each row: the kd*kh*kw*image_c image values under one window) times the
// filter viewed as [kd*kh*kw*image_c, grid_c]. Blocks of rows keep the
// column buffer bounded (conv3d_scratch_floats) whatever the volume.
#pragma once
#include <cstdint>

#include "core/status.h"
#include "cpu/scratch.h"

namespace kiln {

struct Conv3DParams {
  int64_t batch = 0;
  int64_t image[3] = {1, 1, 1}, image_c = 1;  // the convolution's input (d, h, w) and channels
  int64_t grid[3] = {1, 1, 1}, grid_c = 1;    // the convolution's output
  int64_t kernel[3] = {1, 1, 1}, stride[3] = {1, 1, 1}, dilation[3] = {1, 1, 1};
  int64_t pad[3] = {0, 0, 0};  // leading padding; the trailing one is implied by grid
  int64_t grid_positions() const { return grid[0] * grid[1] * grid[2]; }
  int64_t image_positions() const { return image[0] * image[1] * image[2]; }
  int64_t column_width() const { return kernel[0] * kernel[1] * kernel[2] * image_c; }
};

// The grid (and padding) of a convolution over `image` with TF semantics,
// per axis: 'same' gives ceil(in / stride) and total padding
// max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0), the odd cell at
// the end; 'valid' gives ceil((in - (k - 1) * dilation) / stride), at least 1.
Status conv3d_params(int64_t batch, const int64_t image[3], int64_t image_c, int64_t grid_c, const int64_t kernel[3],
                     const int64_t stride[3], const int64_t dilation[3], bool same_padding, Conv3DParams* out);

// Floats of the column buffer the functions below need (one block of rows).
int64_t conv3d_scratch_floats(const Conv3DParams& p);

// grid = image (*) filter + bias (bias: [grid_c] or null).
void conv3d_forward(const Conv3DParams& p, const float* image, const float* filter, const float* bias, float* grid,
                    const Scratch& scratch = {});
// image = the data gradient of the convolution applied to grid (+ bias [image_c]
// or null): conv3dTranspose's forward pass, and conv3d's d loss / d x.
void conv3d_backward_data(const Conv3DParams& p, const float* grid, const float* filter, const float* bias,
                          float* image, const Scratch& scratch = {});
// dfilter = d loss / d filter from the image and the grid's gradient (overwrites).
void conv3d_backward_filter(const Conv3DParams& p, const float* image, const float* dgrid, float* dfilter,
                            const Scratch& scratch = {});

}  // namespace kiln
