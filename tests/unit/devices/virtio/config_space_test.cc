// Reading a device's configuration space at any offset and width (§4.2.2).
#include "devices/virtio/config_space.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace ember {
namespace {

constexpr std::array<uint8_t, 6> kConfig{1, 2, 3, 4, 5, 6};

std::vector<uint8_t> read(uint64_t offset, size_t width) {
  std::vector<uint8_t> data(width, 0xee);
  read_config_space(kConfig, offset, data);
  return data;
}

TEST(ConfigSpaceTest, ReadsTheBytesAtAnOffset) {
  EXPECT_EQ(read(0, 6), (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
  EXPECT_EQ(read(2, 2), (std::vector<uint8_t>{3, 4}));
  EXPECT_EQ(read(5, 1), (std::vector<uint8_t>{6}));
  EXPECT_TRUE(read(3, 0).empty());
}

TEST(ConfigSpaceTest, PastTheEndReadsZero) {
  EXPECT_EQ(read(4, 4), (std::vector<uint8_t>{5, 6, 0, 0})) << "straddling the end";
  EXPECT_EQ(read(6, 2), (std::vector<uint8_t>{0, 0}));
  EXPECT_EQ(read(0x100, 4), (std::vector<uint8_t>{0, 0, 0, 0}));
  EXPECT_EQ(read(0, 8), (std::vector<uint8_t>{1, 2, 3, 4, 5, 6, 0, 0}));
}

TEST(ConfigSpaceTest, OffsetsThatWrapReadZero) {
  // offset + i wraps past 2^64 back to offsets inside the layout: still zero.
  EXPECT_EQ(read(~0ull - 1, 4), (std::vector<uint8_t>{0, 0, 0, 0}));
  EXPECT_EQ(read(~0ull, 8), (std::vector<uint8_t>(8, 0)));
}

TEST(ConfigSpaceTest, AnEmptyLayoutReadsZero) {
  std::array<uint8_t, 3> data{7, 7, 7};
  read_config_space({}, 0, data);
  EXPECT_EQ(data, (std::array<uint8_t, 3>{0, 0, 0}));
}

}  // namespace
}  // namespace ember
