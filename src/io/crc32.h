// CRC-32 (IEEE 802.3), used to detect corrupted model files. Hand-written
// rather than zlib: it is 20 lines, and zlib would add to the browser download.
#pragma once
#include <cstddef>
#include <cstdint>

namespace kiln {
uint32_t crc32(const uint8_t* data, size_t size, uint32_t crc = 0);
}
