// NumPy .npy files (format versions 1.0-3.0) for the kiln CLI: read into and
// write from kiln::onnx::Tensor. Hand-written because no maintained C++ .npy
// library is packaged in Debian; the format is a short text header
// (a Python dict literal) followed by the raw elements.
#pragma once
#include <string>

#include "kiln/onnx.h"

namespace kiln_cli {

// Little-endian or byte-order-free dtypes only (<f4, <i8, |b1, |u1, <f2, ...),
// C order; Fortran order is transposed into C order. Throws kiln::Error naming
// the file and what is wrong.
kiln::onnx::Tensor read_npy(const std::string& path);
void write_npy(const std::string& path, const kiln::onnx::Tensor& t);

}  // namespace kiln_cli
