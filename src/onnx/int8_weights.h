// The 8-bit B operands of ONNX's integer ops (MatMulInteger / QLinearMatMul's
// B, ConvInteger / QLinearConv's filters) packed for cpu/gemm_int8.h, zero
// point subtracted. The kernels pack a B that arrives at run time; the graph
// optimizer packs constant ones once at load (qdq_fusion.cc) into an int16
// constant that an internal node reads with "packed" = 1.
#pragma once
#include <vector>

#include "cpu/gemm_int8.h"
#include "onnx/op.h"

namespace kiln {

// B [k, n] (trans_b: given as [n, k]), zero point scalar or per column (n).
Status pack_onnx_int8_matmul_b(const OnnxOpContext& ctx, const OnnxValue& b, const OnnxValue* zero, bool trans_b,
                               std::vector<int16_t>* storage, Int8PackedB* out);

// Conv filters w [m, c / group, kernel...], zero point scalar or per output
// channel, as the A operand: one int16 row per output channel, of
// int8_conv_row_size(c / group * kernel size) elements (zero-padded).
Status widen_onnx_int8_conv_w(const OnnxOpContext& ctx, const OnnxValue& w, const OnnxValue* zero, std::vector<int16_t>* rows);
inline int64_t int8_conv_row_size(int64_t k) { return 2 * ((k + 1) / 2); }

// Zero points as int32, checked against the tensor they belong to: one value,
// or `per` values (per row / column / channel; *per_index true).
Status read_int8_zero_points(const OnnxOpContext& ctx, const OnnxValue* zero, const OnnxValue& of, int64_t per,
                             const char* what, std::vector<int32_t>* out, bool* per_index);

inline bool is_8bit_tensor(const OnnxValue& v) { return v.type() == DataType::kUint8 || v.type() == DataType::kInt8; }

inline Int8Matrix int8_matrix_of(const OnnxValue& v, int64_t offset, int64_t ld) {
  Int8Matrix m;
  m.is_signed = v.type() == DataType::kInt8;
  m.data = static_cast<const uint8_t*>(v.raw()) + offset;
  m.ld = ld;
  return m;
}

}  // namespace kiln
