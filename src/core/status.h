// Errors as values. The core never throws: the wasm build has no exception
// support (emscripten's frozen cache lacks wasm-EH libc++), so every fallible
// call returns a Status whose message names what was wrong.
#pragma once
#include <string>
#include <utility>

namespace kiln {

class Status {
 public:
  Status() = default;
  static Status error(std::string message) { return Status(std::move(message)); }
  bool ok() const { return !failed_; }
  const std::string& message() const { return message_; }

 private:
  explicit Status(std::string message) : message_(std::move(message)), failed_(true) {}
  std::string message_;
  bool failed_ = false;
};

}  // namespace kiln

#define KILN_RETURN_IF_ERROR(expr)            \
  do {                                        \
    ::kiln::Status kiln_status_ = (expr);     \
    if (!kiln_status_.ok()) return kiln_status_; \
  } while (0)
