#include "onnx/int8_weights.h"

namespace kiln {

Status read_int8_zero_points(const OnnxOpContext& ctx, const OnnxValue* zero, const OnnxValue& of, int64_t per,
                             const char* what, std::vector<int32_t>* out, bool* per_index) {
  *per_index = false;
  out->assign(1, 0);
  if (!zero) return Status();
  if (zero->type() != of.type())
    return ctx.error(std::string(what) + " zero point must be " + dtype_name(of.type()) + ", got " + dtype_name(zero->type()));
  std::vector<int64_t> v;
  KILN_RETURN_IF_ERROR(zero->to_int64s(&v));
  if (v.size() != 1 && int64_t(v.size()) != per)
    return ctx.error(std::string(what) + " zero point has " + std::to_string(v.size()) + " elements; expected 1 or " +
                     std::to_string(per));
  out->assign(v.begin(), v.end());
  *per_index = v.size() != 1;
  return Status();
}

Status pack_onnx_int8_matmul_b(const OnnxOpContext& ctx, const OnnxValue& b, const OnnxValue* zero, bool trans_b,
                               std::vector<int16_t>* storage, Int8PackedB* out) {
  if (!is_8bit_tensor(b) || b.rank() != 2) return ctx.error("a packed B must be a 2-D uint8 or int8 tensor");
  const int64_t k = trans_b ? b.shape()[1] : b.shape()[0], n = trans_b ? b.shape()[0] : b.shape()[1];
  std::vector<int32_t> z;
  bool per_column = false;
  KILN_RETURN_IF_ERROR(read_int8_zero_points(ctx, zero, b, n, "B's", &z, &per_column));
  pack_int8_b(int8_matrix_of(b, 0, b.shape()[1]), trans_b, k, n, z.data(), per_column, storage, out);
  return Status();
}

Status widen_onnx_int8_conv_w(const OnnxOpContext& ctx, const OnnxValue& w, const OnnxValue* zero, std::vector<int16_t>* rows) {
  if (!is_8bit_tensor(w) || w.rank() < 3) return ctx.error("w must be a uint8 or int8 tensor of rank >= 3");
  const int64_t m = w.shape()[0], k = m > 0 ? w.numel() / m : 0;
  std::vector<int32_t> z;
  bool per_channel = false;
  KILN_RETURN_IF_ERROR(read_int8_zero_points(ctx, zero, w, m, "w's", &z, &per_channel));
  rows->assign(size_t(m * int8_conv_row_size(k)), 0);
  widen_int8_rows(int8_matrix_of(w, 0, k), m, k, z.data(), per_channel, int8_conv_row_size(k) / 2, rows->data());
  return Status();
}

}  // namespace kiln
