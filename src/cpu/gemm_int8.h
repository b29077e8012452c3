// Products of 8-bit integer matrices with int32 accumulation, for ONNX's
// MatMulInteger, QLinearMatMul, ConvInteger and QLinearConv (and the QDQ
// patterns fused into them). Both operands are widened to int16 with their
// zero points subtracted (every uint8 / int8 difference fits), and B is packed
// in panels of 8 columns by pairs of K, so one multiply-add instruction
// (wasm i32x4.dot_i16x8_s, x86 vpmaddwd) does two K steps for 4 or 8 columns
// with exact int32 sums. The widening keeps one kernel for every sign and
// zero-point combination, where 8-bit dot products (relaxed SIMD's i7 form,
// vpmaddubsw) would need 7-bit or saturating operands.
#pragma once
#include <cstdint>
#include <vector>

namespace kiln {

constexpr int kInt8PanelCols = 8;

// A packed B: [ceil(n / 8)][k_pairs][8 columns][2] int16, zero-padded. The
// panels live elsewhere (a vector pack_int8_b fills, or a constant packed at
// load by the graph optimizer).
struct Int8PackedB {
  int64_t k = 0, n = 0, k_pairs = 0;
  const int16_t* panels = nullptr;
};
// Elements of a packed [k, n] B.
int64_t int8_packed_size(int64_t k, int64_t n);
// A view of panels packed earlier for [k, n].
Int8PackedB int8_packed_view(const int16_t* panels, int64_t k, int64_t n);

// 8-bit operand description: uint8 (is_signed false) or int8 elements.
struct Int8Matrix {
  const void* data = nullptr;
  bool is_signed = false;
  int64_t ld = 0;  // elements between rows
  int32_t at(int64_t i) const {
    return is_signed ? static_cast<const int8_t*>(data)[i] : static_cast<const uint8_t*>(data)[i];
  }
};

// Packs B [k, n] (or, when `transposed`, B given as its transpose [n, k])
// minus its zero point: b_zero[j] per column when `zero_per_column`, else
// b_zero[0] for all.
// `storage` receives the panels (int8_packed_size(k, n) elements); `out` views them.
void pack_int8_b(const Int8Matrix& b, bool transposed, int64_t k, int64_t n, const int32_t* b_zero, bool zero_per_column,
                 std::vector<int16_t>* storage, Int8PackedB* out);

// Rows of A [m, k] minus their zero point (a_zero[i] per row when
// `zero_per_row`, else a_zero[0]) as int16 rows of 2 * k_pairs (zero-padded).
void widen_int8_rows(const Int8Matrix& a, int64_t m, int64_t k, const int32_t* a_zero, bool zero_per_row, int64_t k_pairs,
                     int16_t* out);

// c [m, n] (row stride ldc) = a16 [m, 2 * b.k_pairs] x b, threaded over the pool.
void gemm_int8(const int16_t* a16, int64_t m, const Int8PackedB& b, int32_t* c, int64_t ldc);

// The micro-kernel in use ("wasm_simd128_4x8", "avx2_4x8", "scalar_4x8").
const char* gemm_int8_kernel_name();

// A micro-kernel: c[r][0..cols) for r < rows (<= 4) = sum over k pairs of
// a rows (stride lda) x one panel; rows past `rows` are not read.
using Int8MicroKernel = void (*)(int64_t k_pairs, const int16_t* a, int64_t lda, int rows, const int16_t* panel,
                                 int32_t* c, int64_t ldc, int cols);
#if defined(KILN_HAVE_X86_KERNELS)
void gemm_int8_ukernel_avx2(int64_t k_pairs, const int16_t* a, int64_t lda, int rows, const int16_t* panel, int32_t* c,
                            int64_t ldc, int cols);  // gemm_int8_avx2.cc
#endif

}  // namespace kiln
