#include "memory/guest_memory.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>

namespace ember {
namespace {

GuestMemory two_regions() {
  auto m = GuestMemory::create_anonymous({{0, 0x10000}, {0x100000, 0x10000}});
  EXPECT_TRUE(m.ok());
  return std::move(m).value();
}

TEST(GuestMemory, WriteReadRoundTripInEachRegion) {
  auto mem = two_regions();
  ASSERT_TRUE(mem.write_obj<uint64_t>(0x8, 0x1122334455667788).ok());
  ASSERT_TRUE(mem.write_obj<uint32_t>(0x10fffc, 0xdeadbeef).ok());
  EXPECT_EQ(*mem.read_obj<uint64_t>(0x8), 0x1122334455667788u);
  EXPECT_EQ(*mem.read_obj<uint32_t>(0x10fffc), 0xdeadbeefu);
  EXPECT_EQ(mem.total_size(), 0x20000u);
  EXPECT_EQ(mem.end_addr(), 0x110000u);
}

TEST(GuestMemory, RejectsAccessOutsideOrAcrossRegions) {
  auto mem = two_regions();
  EXPECT_FALSE(mem.write_obj<uint32_t>(0xfffe, 1).ok());        // straddles the end of region 0
  EXPECT_FALSE(mem.read_obj<uint8_t>(0x10000).ok());            // the gap
  EXPECT_FALSE(mem.read_obj<uint8_t>(0x110000).ok());           // one past the end
  EXPECT_FALSE(mem.slice(0x100000, 0x10001).ok());
  EXPECT_TRUE(mem.slice(0x100000, 0x10000).ok());
  EXPECT_TRUE(mem.slice(0x110000 - 1, 1).ok());
}

TEST(GuestMemory, OverflowingRangesAreRejected) {
  auto mem = two_regions();
  EXPECT_FALSE(mem.slice(0xffffffffffffff00ull, 0x200).ok());
  EXPECT_FALSE(mem.slice(0x100, UINT64_MAX).ok());
  EXPECT_FALSE(mem.is_valid_range(0x100000, UINT64_MAX - 0x1000));
  EXPECT_FALSE(mem.fill(0x8, 0, UINT64_MAX).ok());
}

TEST(GuestMemory, ZeroLengthAccessInsideIsFine) {
  auto mem = two_regions();
  EXPECT_TRUE(mem.write(0x100, {}).ok());
}

TEST(GuestMemory, BadRegionSpecsAreRefused) {
  EXPECT_FALSE(GuestMemory::create_anonymous({{0, 0}}).ok());
  EXPECT_FALSE(GuestMemory::create_anonymous({{0, 0x1001}}).ok());
  EXPECT_FALSE(GuestMemory::create_anonymous({{0x800, 0x1000}}).ok());
  EXPECT_FALSE(GuestMemory::create_anonymous({{0, 0x2000}, {0x1000, 0x1000}}).ok());
  EXPECT_FALSE(GuestMemory::create_anonymous({{0xfffffffffffff000ull, 0x2000}}).ok());
}

}  // namespace
}  // namespace ember
