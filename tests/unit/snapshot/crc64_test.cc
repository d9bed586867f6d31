#include "snapshot/crc64.h"

#include <gtest/gtest.h>

#include <string_view>

namespace ember {
namespace {

std::span<const uint8_t> bytes_of(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

TEST(Crc64, MatchesTheCrc64XzCheckValue) {
  // The catalogue check value of CRC-64/XZ: the CRC of the ASCII digits 1 to 9.
  EXPECT_EQ(crc64(bytes_of("123456789")), 0x995DC9BBDF1939FAull);
  EXPECT_EQ(crc64({}), 0u);
}

TEST(Crc64, CanBeComputedPieceByPiece) {
  const uint64_t whole = crc64(bytes_of("hello, snapshot"));
  EXPECT_EQ(crc64(bytes_of(", snapshot"), crc64(bytes_of("hello"))), whole);
}

TEST(Crc64, SeesASingleFlippedBit) {
  std::string s = "abcdefgh";
  const uint64_t before = crc64(bytes_of(s));
  s[3] ^= 0x10;
  EXPECT_NE(crc64(bytes_of(s)), before);
}

}  // namespace
}  // namespace ember
