#include "vmm/bus.h"

#include <gtest/gtest.h>

#include <vector>

namespace ember {
namespace {

class Recorder : public BusDevice {
 public:
  void read(uint64_t offset, std::span<uint8_t> data) override {
    for (auto& b : data) b = static_cast<uint8_t>(offset);
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    writes.push_back({offset, data.size()});
  }
  std::vector<std::pair<uint64_t, size_t>> writes;
};

TEST(Bus, DispatchesWithOffsetInsideTheRange) {
  Bus bus("test");
  auto dev = std::make_shared<Recorder>();
  ASSERT_TRUE(bus.insert(dev, 0x3f8, 8).ok());
  uint8_t b[1];
  EXPECT_TRUE(bus.read(0x3fd, b));
  EXPECT_EQ(b[0], 5);
  uint8_t w[2] = {1, 2};
  EXPECT_TRUE(bus.write(0x3fe, w));
  ASSERT_EQ(dev->writes.size(), 1u);
  EXPECT_EQ(dev->writes[0].first, 6u);
}

TEST(Bus, MissesOutsideAndAccessesCrossingTheEnd) {
  Bus bus("test");
  ASSERT_TRUE(bus.insert(std::make_shared<Recorder>(), 0x100, 4).ok());
  uint8_t b[4];
  EXPECT_FALSE(bus.read(0xff, std::span<uint8_t>(b, 1)));
  EXPECT_FALSE(bus.read(0x104, std::span<uint8_t>(b, 1)));
  EXPECT_FALSE(bus.read(0x102, std::span<uint8_t>(b, 4)));
  EXPECT_FALSE(bus.read(UINT64_MAX, std::span<uint8_t>(b, 4)));
}

TEST(Bus, OverlappingRangesAreRefused) {
  Bus bus("test");
  ASSERT_TRUE(bus.insert(std::make_shared<Recorder>(), 0x100, 0x10).ok());
  EXPECT_FALSE(bus.insert(std::make_shared<Recorder>(), 0x10f, 1).ok());
  EXPECT_FALSE(bus.insert(std::make_shared<Recorder>(), 0xf8, 0x9).ok());
  EXPECT_FALSE(bus.insert(std::make_shared<Recorder>(), 0x0, 0x1000).ok());
  EXPECT_FALSE(bus.insert(std::make_shared<Recorder>(), 0x200, 0).ok());
  EXPECT_FALSE(bus.insert(std::make_shared<Recorder>(), UINT64_MAX, 2).ok());
  EXPECT_TRUE(bus.insert(std::make_shared<Recorder>(), 0x110, 1).ok());
  EXPECT_TRUE(bus.insert(std::make_shared<Recorder>(), 0xf0, 0x10).ok());
}

}  // namespace
}  // namespace ember
