// An ONNX runtime value's elements as doubles, for comparisons in tests
// (OnnxValue::to_doubles reports out of memory as a Status), and values made
// from a shape and elements.
#pragma once
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/json.h"
#include "onnx/value.h"

namespace kiln::testing {

inline std::vector<double> doubles_of(const OnnxValue& v) {
  std::vector<double> d;
  const Status st = v.to_doubles(&d);
  EXPECT_TRUE(st.ok()) << st.message();
  return d;
}

template <typename T>
OnnxValue typed_value(DataType type, OnnxShape shape, const std::vector<T>& elements) {
  OnnxValue v;
  EXPECT_TRUE(OnnxValue::make(type, std::move(shape), &v).ok());
  EXPECT_EQ(v.bytes(), elements.size() * sizeof(T));
  if (v.bytes() == elements.size() * sizeof(T) && v.bytes()) std::memcpy(v.raw(), elements.data(), v.bytes());
  return v;
}

}  // namespace kiln::testing

namespace kiln {
inline OnnxValue float_value(OnnxShape shape, const std::vector<float>& v) { return testing::typed_value(DataType::kFloat32, std::move(shape), v); }
inline OnnxValue int32_value(OnnxShape shape, const std::vector<int32_t>& v) { return testing::typed_value(DataType::kInt32, std::move(shape), v); }
}  // namespace kiln

namespace kiln {
// Attributes in run_eager_op's JSON form, parsed (a test's literal must parse).
inline Json eager_attrs(const std::string& text) {
  Json j;
  EXPECT_TRUE(parse_json(text, &j).ok()) << text;
  return j;
}
}  // namespace kiln
