// error_of(fn): runs fn, which must throw kiln::Error (the native API's
// errors), and returns its message; a test failure when nothing is thrown.
#pragma once
#include <gtest/gtest.h>

#include <string>

#include "kiln/kiln.h"

namespace kiln {

template <typename Fn>
std::string error_of(Fn fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no kiln::Error was thrown";
  return "";
}

}  // namespace kiln
