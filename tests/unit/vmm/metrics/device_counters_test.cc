// The counters the metrics read from a virtio device: a driver that breaks its queue is
// counted (event_fails in the metrics line) as well as being asked to reset. virtio-block
// stands for the three devices, which count it the same way.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>
#include <memory>

#include "devices/virtio/block/virtio_block.h"
#include "devices/virtio/mmio_transport.h"
#include "tests/unit/devices/virtio/virtio_test_util.h"

namespace ember {
namespace {

constexpr uint64_t kStatusReg = 0x070, kQueueNotify = 0x050;
constexpr uint32_t kAck = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kNeedsReset = 64;
constexpr uint64_t kVersion1 = 1ull << 32;

TEST(DeviceCounters, ABrokenQueueIsCountedByTheDevice) {
  const std::string disk = (std::filesystem::temp_directory_path() / "ember-metrics-disk-XXXXXX").string();
  std::string path = disk;
  const int fd = ::mkstemp(path.data());
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::ftruncate(fd, 64 * 1024), 0);
  ::close(fd);

  GuestMemory mem = virtio_testing::make_memory();
  virtio_testing::GuestQueue guest(mem, 16, 0x10000);
  VirtioBlockConfig config;
  config.path = path;
  config.queue_size = 16;
  auto created = VirtioBlock::create(config);
  ASSERT_TRUE(created.ok()) << created.error().message;
  std::shared_ptr<VirtioBlock> block = std::move(created).value();
  VirtioMmioTransport transport(block, mem, std::make_shared<virtio_testing::CountingIrqLine>());
  const auto wr = [&](uint64_t offset, uint32_t v) { virtio_testing::mmio_write32(transport, offset, v); };

  // Device initialisation (virtio 1.2 §3.1.1), offering only VERSION_1.
  wr(kStatusReg, kAck);
  wr(kStatusReg, kAck | kDriver);
  wr(0x024, 1);
  wr(0x020, static_cast<uint32_t>(kVersion1 >> 32));
  wr(kStatusReg, kAck | kDriver | kFeaturesOk);
  wr(0x030, 0);
  wr(0x038, 16);
  wr(0x080, static_cast<uint32_t>(guest.desc_addr()));
  wr(0x090, static_cast<uint32_t>(guest.avail_addr()));
  wr(0x0a0, static_cast<uint32_t>(guest.used_addr()));
  wr(0x044, 1);
  wr(kStatusReg, kAck | kDriver | kFeaturesOk | kDriverOk);
  ASSERT_TRUE(transport.device_active());
  EXPECT_EQ(block->counters().queue_errors, 0u);

  guest.set_desc(0, 0x40000, 16, virtio_testing::kNext, 0);  // a chain that loops onto itself
  guest.publish(0);
  wr(kQueueNotify, 0);
  EXPECT_NE(virtio_testing::mmio_read32(transport, kStatusReg) & kNeedsReset, 0u);
  EXPECT_EQ(block->counters().queue_errors, 1u);
  ::unlink(path.c_str());
}

}  // namespace
}  // namespace ember
