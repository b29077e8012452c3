// An ONNX runtime value's elements as doubles, for comparisons in tests
// (OnnxValue::to_doubles reports out of memory as a Status).
#pragma once
#include <gtest/gtest.h>

#include <vector>

#include "onnx/value.h"

namespace kiln::testing {

inline std::vector<double> doubles_of(const OnnxValue& v) {
  std::vector<double> d;
  const Status st = v.to_doubles(&d);
  EXPECT_TRUE(st.ok()) << st.message();
  return d;
}

}  // namespace kiln::testing
