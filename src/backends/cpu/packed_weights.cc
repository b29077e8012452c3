#include "backends/cpu/packed_weights.h"

#include <vector>

#include "backends/host_backend.h"
#include "cpu/conv2d.h"
#include "cpu/gemm.h"
#include "ops/conv2d_op.h"

namespace kiln {

namespace {

// Packed data derived from one constant input, rebuilt when the constants change.
class PackedWeights {
 public:
  explicit PackedWeights(const uint64_t* version) : version_(version) {}
  // True when the caller must (re)fill data() (sized `floats`).
  bool stale(int64_t floats) {
    if (ready_ && seen_ == *version_) return false;
    data_.resize(size_t(floats));
    seen_ = *version_;
    ready_ = true;
    return true;
  }
  float* data() { return data_.data(); }

 private:
  const uint64_t* version_;
  uint64_t seen_ = 0;
  bool ready_ = false;
  std::vector<float> data_;
};

class PackedConv2D : public Kernel {
 public:
  PackedConv2D(const StepBinding& s, const Conv2DParams& p)
      : p_(p), winograd_(conv2d_winograd_applies(p)), a_(op_forward_args(s)),
        act_(static_cast<const Conv2DOp&>(*s.node->impl).attrs().act), packed_(s.context->constants_version) {}
  void run() override {
    const float* w = a_.in[1];
    const float* bias = a_.in.size() > 2 ? a_.in[2] : nullptr;
    if (winograd_) {
      const int64_t plane = gemm_packed_b_floats(p_.in_c, p_.out_c);
      if (packed_.stale(16 * plane)) {
        // The transformed planes only live while they are packed: in the
        // workspace (the unpacked kernel's, which holds them), not kept.
        const ScratchBuffer u(scratch(), conv2d_winograd_filter_floats(p_));
        conv2d_winograd_filter(p_, w, u.data());
        for (int64_t xi = 0; xi < 16; ++xi)
          nr_ = gemm_pack_b(u.data() + xi * p_.in_c * p_.out_c, p_.out_c, p_.in_c, p_.out_c, packed_.data() + xi * plane);
      }
      conv2d_forward_winograd_transformed(p_, a_.in[0], nullptr, bias, act_, a_.out[0], {packed_.data(), nr_}, scratch());
      return;
    }
    const int64_t k = p_.kernel_h * p_.kernel_w * p_.in_c;
    if (packed_.stale(gemm_packed_b_floats(k, p_.out_c))) nr_ = gemm_pack_b(w, p_.out_c, k, p_.out_c, packed_.data());
    conv2d_forward_im2col(p_, a_.in[0], nullptr, bias, act_, a_.out[0], {packed_.data(), nr_}, scratch());
  }

 private:
  // The op's workspace: sized for the unpacked kernels, which need at least as much.
  Scratch scratch() const { return {a_.workspace, a_.workspace_floats}; }
  Conv2DParams p_;
  bool winograd_;
  OpForwardArgs a_;
  Activation act_;
  PackedWeights packed_;
  int nr_ = 0;
};

class PackedGemm : public Kernel {
 public:
  explicit PackedGemm(const StepBinding& s) : g_(gemm_step_args(s)), packed_(s.context->constants_version) {}
  void run() override {
    if (packed_.stale(gemm_packed_b_floats(g_.k, g_.n))) nr_ = gemm_pack_b(g_.b, g_.ldb, g_.k, g_.n, packed_.data());
    GemmArgs g = g_;
    g.b_packed = packed_.data(), g.b_packed_nr = nr_;
    gemm(g);
  }

 private:
  GemmArgs g_;
  PackedWeights packed_;
  int nr_ = 0;
};

bool constant_input(const StepBinding& s, size_t i) {
  return s.context && s.context->constants_version && i < s.constant_inputs.size() && s.constant_inputs[i];
}

}  // namespace

std::unique_ptr<Kernel> packed_conv2d_kernel(const StepBinding& s) {
  if (s.node->op != OpKind::kOp || s.node->impl->name() != "Conv2D" || !constant_input(s, 1)) return nullptr;
  Conv2DParams p;
  if (!static_cast<const Conv2DOp&>(*s.node->impl).params(s.input_shapes[0], &p).ok()) return nullptr;
  // Depthwise (and one-channel) convolutions read the filter directly; grouped
  // ones take a column slice of it per group: neither packs.
  if (conv2d_is_depthwise(p) || p.groups != 1) return nullptr;
  return std::make_unique<PackedConv2D>(s, p);
}

std::unique_ptr<Kernel> packed_gemm_kernel(const StepBinding& s) {
  // Up to 4 rows gemm() streams B unpacked, faster than any packing.
  if (s.node->op != OpKind::kGemm || !constant_input(s, 1) || s.node->trans_b || s.output_shapes[0][0] <= 4) return nullptr;
  return std::make_unique<PackedGemm>(s);
}

}  // namespace kiln
