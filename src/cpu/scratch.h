// Scratch memory a caller lends a kernel (a plan's arena), so that no kernel
// keeps buffers of its own. Each kernel says what it needs with a
// *_scratch_floats() function; a kernel lent less than it needs (or nothing)
// allocates for the call instead: slower, never out of bounds, even when
// the thread count changed since the size was computed.
#pragma once
#include <cstdint>
#include <memory>

namespace kiln {

// Floats rounded up to whole 128-byte blocks: every part of a scratch region
// (and every thread's slice) starts on its own cache lines, so threads never
// share one (false sharing cost the CNN's depthwise filter gradient 18%).
inline int64_t scratch_align(int64_t floats) { return (floats + 31) / 32 * 32; }

struct Scratch {
  float* data = nullptr;
  int64_t floats = 0;
  // The part after the first n floats.
  Scratch after(int64_t n) const { return n <= floats ? Scratch{data + n, floats - n} : Scratch{}; }
};

// `need` floats: the lent ones when there are enough, else this call's own.
class ScratchBuffer {
 public:
  ScratchBuffer(const Scratch& lent, int64_t need) {
    if (lent.data && lent.floats >= need) {
      data_ = lent.data;
    } else if (need > 0) {
      own_.reset(new float[size_t(need)]);
      data_ = own_.get();
    }
  }
  float* data() const { return data_; }

 private:
  std::unique_ptr<float[]> own_;
  float* data_ = nullptr;
};

}  // namespace kiln
