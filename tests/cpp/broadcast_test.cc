// Broadcasting (src/core/broadcast.h), shared by the Layers ops and the ONNX
// runtime: the shape rule and its error text, the unidirectional check, and
// the two walks (BroadcastIndex: per-element offsets; BroadcastRows: per-row
// offsets) against a direct index computation.
#include <gtest/gtest.h>

#include <vector>

#include "core/broadcast.h"

namespace kiln {
namespace {

// Offset into `in` of output element i, by coordinates (the definition).
int64_t direct_offset(const Shape& in, const Shape& out, int64_t i) {
  const std::vector<int64_t> st = shape_strides(in);
  int64_t off = 0;
  for (size_t d = out.size(); d-- > 0;) {
    const int64_t c = i % out[d];
    i /= out[d];
    const size_t k = out.size() - 1 - d;
    if (k < in.size()) {
      const size_t di = in.size() - 1 - k;
      if (in[di] != 1) off += c * st[di];
    }
  }
  return off;
}

TEST(Broadcast, ShapeRuleAndErrorText) {
  Shape s;
  ASSERT_TRUE(broadcast_shape({2, 1, 4}, {3, 1}, &s).ok());
  EXPECT_EQ(s, (Shape{2, 3, 4}));
  ASSERT_TRUE(broadcast_shape({}, {5}, &s).ok());
  EXPECT_EQ(s, (Shape{5}));
  ASSERT_TRUE(broadcast_shape({0, 1}, {1, 3}, &s).ok());
  EXPECT_EQ(s, (Shape{0, 3}));
  const Status st = broadcast_shape({2, 3}, {4}, &s);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.message(), "shapes [2, 3] and [4] do not broadcast");
}

TEST(Broadcast, BroadcastsTo) {
  EXPECT_TRUE(broadcasts_to({1, 4}, {3, 4}));
  EXPECT_TRUE(broadcasts_to({4}, {3, 4}));
  EXPECT_FALSE(broadcasts_to({3, 4}, {4}));     // no higher rank
  EXPECT_FALSE(broadcasts_to({3, 1}, {1, 4}));  // would grow the output
  EXPECT_TRUE(BroadcastRows::compatible({2, 3, 4}, {1, 3, 1}));
  EXPECT_FALSE(BroadcastRows::compatible({2, 3, 4}, {3, 1}));  // same rank only
}

TEST(Broadcast, IndexMatchesCoordinates) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 1, 4}, {2, 3, 4}}, {{3, 1}, {2, 3, 5}}, {{}, {2, 2}}, {{1}, {3}}, {{2, 3}, {2, 3}}, {{5, 1, 1}, {5, 2, 3}}};
  for (const auto& [in, out] : cases) {
    const BroadcastIndex bi(in, out);
    std::vector<int64_t> offs;
    bi.offsets(&offs);
    ASSERT_EQ(int64_t(offs.size()), shape_numel(out));
    for (int64_t i = 0; i < int64_t(offs.size()); ++i)
      EXPECT_EQ(offs[size_t(i)], direct_offset(in, out, i)) << shape_to_string(in) << " -> " << shape_to_string(out);
    EXPECT_EQ(bi.identity(), in == out);
    EXPECT_EQ(bi.scalar(), shape_numel(in) == 1);
  }
  std::vector<int64_t> offs = {7};
  BroadcastIndex({1, 1}, {int64_t(1) << 16, int64_t(1) << 16}).offsets(&offs);  // 2^32 > kMaxOffsets
  EXPECT_TRUE(offs.empty());
}

TEST(Broadcast, RowsMatchCoordinates) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 3, 4}, {1, 3, 4}}, {{2, 3, 4}, {2, 1, 1}}, {{2, 3, 4}, {1, 1, 4}}, {{4}, {1}}, {{3, 5}, {3, 5}}};
  for (const auto& [full, small] : cases) {
    const BroadcastRows br(full, small);
    ASSERT_EQ(br.rows() * br.cols(), shape_numel(full));
    for (int64_t r = 0; r < br.rows(); ++r)
      for (int64_t c = 0; c < br.cols(); ++c)
        EXPECT_EQ(br.small_offset(r) + c * br.small_col_stride(), direct_offset(small, full, r * br.cols() + c))
            << shape_to_string(small) << " in " << shape_to_string(full);
  }
}

}  // namespace
}  // namespace kiln
