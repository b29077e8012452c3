// Refuses a second thread's call on an object that is not thread-safe (a
// model, an ONNX session), instead of letting both race on its buffers. The
// same thread may enter again (a training callback that predicts).
#pragma once
#include <mutex>
#include <string>

#include "core/status.h"

namespace kiln {

class ExclusiveUse {
 public:
  // Held for the guard's life when ok(); otherwise another thread is inside.
  class Guard {
   public:
    explicit Guard(const ExclusiveUse& use) : use_(use), ok_(use.mutex_.try_lock()) {}
    ~Guard() {
      if (ok_) use_.mutex_.unlock();
    }
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
    bool ok() const { return ok_; }
    // "<object> is in use by another thread (<call> refused)".
    Status busy(const std::string& object, const std::string& call) const {
      return Status::error(object + " is in use by another thread (" + call +
                           " refused: a model or session runs one call at a time; use one per thread)");
    }

   private:
    const ExclusiveUse& use_;
    const bool ok_;
  };

 private:
  mutable std::recursive_mutex mutex_;
};

}  // namespace kiln
