#include "snapshot/crc64.h"

#include <array>

namespace ember {
namespace {

// ECMA-182's polynomial 0x42F0E1EBA9EA3693, bit-reversed for the reflected (LSB-first) form.
constexpr uint64_t kReflectedPoly = 0xC96C5795D7870F42ull;

constexpr std::array<uint64_t, 256> make_table() {
  std::array<uint64_t, 256> table{};
  for (uint64_t i = 0; i < 256; ++i) {
    uint64_t v = i;
    for (int bit = 0; bit < 8; ++bit) v = (v & 1) ? (v >> 1) ^ kReflectedPoly : v >> 1;
    table[i] = v;
  }
  return table;
}

constexpr std::array<uint64_t, 256> kTable = make_table();

}  // namespace

uint64_t crc64(std::span<const uint8_t> data, uint64_t crc) {
  uint64_t v = ~crc;
  for (uint8_t b : data) v = kTable[(v ^ b) & 0xff] ^ (v >> 8);
  return ~v;
}

}  // namespace ember
