// CRC-32 (src/io/crc32.h): the standard check value, and agreement with a
// bit-at-a-time reference at every length and split point (the sliced loop
// handles 8 bytes at a time, then a tail).
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/rng.h"
#include "io/crc32.h"

namespace kiln {
namespace {

uint32_t bitwise_crc32(const uint8_t* p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= p[i];
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
  }
  return ~crc;
}

TEST(Crc32, CheckValue) {
  const char* s = "123456789";
  EXPECT_EQ(crc32(reinterpret_cast<const uint8_t*>(s), std::strlen(s)), 0xCBF43926u);
  EXPECT_EQ(crc32(nullptr, 0), 0u);
}

TEST(Crc32, MatchesBitwiseReferenceAndChains) {
  Rng rng(11);
  std::vector<uint8_t> b(300);
  for (uint8_t& x : b) x = uint8_t(rng.below(256));
  for (size_t n = 0; n <= b.size(); ++n) {
    const uint32_t want = bitwise_crc32(b.data(), n);
    ASSERT_EQ(crc32(b.data(), n), want) << n;
    for (size_t split = 0; split <= n; split += 7) ASSERT_EQ(crc32(b.data() + split, n - split, crc32(b.data(), split)), want);
  }
}

}  // namespace
}  // namespace kiln
