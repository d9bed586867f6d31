// virtio-block end to end: a guest driver talking to the device through the MMIO transport,
// with a temporary file as the disk.
#include "devices/virtio/block/virtio_block.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "devices/virtio/mmio_transport.h"
#include "tests/unit/devices/virtio/virtio_test_util.h"

namespace ember {
namespace {

using virtio_testing::Buf;
using virtio_testing::CountingIrqLine;
using virtio_testing::GuestQueue;

constexpr uint32_t kTypeIn = 0, kTypeOut = 1, kTypeFlush = 4, kTypeGetId = 8;
constexpr uint8_t kOk = 0, kIoErr = 1, kUnsupp = 2;
constexpr uint64_t kStatusReg = 0x070, kQueueNotify = 0x050, kInterruptStatus = 0x060,
                   kInterruptAck = 0x064;
constexpr uint32_t kAck = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8, kNeedsReset = 64;
constexpr uint64_t kVersion1 = 1ull << 32, kEventIdx = 1ull << 29, kIndirect = 1ull << 28;
constexpr uint64_t kBlkSegMax = 1ull << 2, kBlkRo = 1ull << 5, kBlkFlush = 1ull << 9;

constexpr uint64_t kDiskSectors = 128;  // 64 KiB
constexpr uint64_t kHeaderAddr = 0x40000;
constexpr uint64_t kDataAddr = 0x50000;
constexpr uint64_t kStatusAddr = 0x48000;

// A temporary disk image filled with a pattern: byte i holds (i * 7 + i / 512) & 0xff.
class TempDisk {
 public:
  explicit TempDisk(uint64_t size) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr ? dir : "/tmp") + "/ember-blk-XXXXXX";
    const int fd = ::mkstemp(path_.data());
    EXPECT_GE(fd, 0);
    std::vector<uint8_t> bytes(size);
    for (uint64_t i = 0; i < size; ++i) bytes[i] = pattern(i);
    EXPECT_EQ(::pwrite(fd, bytes.data(), bytes.size(), 0), static_cast<ssize_t>(size));
    ::close(fd);
  }
  ~TempDisk() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }
  static uint8_t pattern(uint64_t i) { return static_cast<uint8_t>(i * 7 + i / 512); }
  std::vector<uint8_t> read(uint64_t offset, size_t len) const {
    std::vector<uint8_t> out(len);
    const int fd = ::open(path_.c_str(), O_RDONLY);
    EXPECT_EQ(::pread(fd, out.data(), len, static_cast<off_t>(offset)), static_cast<ssize_t>(len));
    ::close(fd);
    return out;
  }

 private:
  std::string path_;
};

class VirtioBlockTest : public ::testing::Test {
 protected:
  void start(bool read_only = false, uint64_t features = kVersion1 | kEventIdx | kIndirect |
                                                         kBlkFlush | kBlkSegMax) {
    VirtioBlockConfig config;
    config.path = disk_.path();
    config.read_only = read_only;
    config.id = "ember-disk-0";
    config.queue_size = 16;
    auto blk = VirtioBlock::create(config);
    ASSERT_TRUE(blk.ok()) << blk.error().message;
    block_ = std::move(blk).value();
    transport_ = std::make_unique<VirtioMmioTransport>(block_, mem_, irq_);
    if (read_only) features |= kBlkRo;
    // §3.1.1 through the registers.
    wr(kStatusReg, kAck);
    wr(kStatusReg, kAck | kDriver);
    wr(0x014, 0);
    offered_ = rd(0x010);
    wr(0x014, 1);
    offered_ |= uint64_t{rd(0x010)} << 32;
    wr(0x024, 0);
    wr(0x020, static_cast<uint32_t>(features));
    wr(0x024, 1);
    wr(0x020, static_cast<uint32_t>(features >> 32));
    wr(kStatusReg, kAck | kDriver | kFeaturesOk);
    ASSERT_NE(rd(kStatusReg) & kFeaturesOk, 0u);
    wr(0x030, 0);
    ASSERT_EQ(rd(0x034), 16u);
    wr(0x038, 16);
    wr(0x080, static_cast<uint32_t>(guest_.desc_addr()));
    wr(0x090, static_cast<uint32_t>(guest_.avail_addr()));
    wr(0x0a0, static_cast<uint32_t>(guest_.used_addr()));
    wr(0x044, 1);
    wr(kStatusReg, kAck | kDriver | kFeaturesOk | kDriverOk);
    ASSERT_TRUE(transport_->device_active());
  }

  uint32_t rd(uint64_t offset) { return virtio_testing::mmio_read32(*transport_, offset); }
  void wr(uint64_t offset, uint32_t v) { virtio_testing::mmio_write32(*transport_, offset, v); }
  void write_header(uint32_t type, uint64_t sector, uint64_t at = kHeaderAddr) {
    uint8_t h[16] = {};
    std::memcpy(h, &type, 4);
    std::memcpy(h + 8, &sector, 8);
    ASSERT_TRUE(mem_.write(at, h).ok());
  }
  // Sends one chain (from the next free descriptors), notifies, and returns its used length.
  uint32_t run(const std::vector<Buf>& bufs) {
    EXPECT_TRUE(mem_.fill(kStatusAddr, 0xee, 1).ok());
    const uint16_t before = guest_.used_idx();
    const uint16_t head = guest_.add_chain(bufs, next_desc_);
    next_desc_ = static_cast<uint16_t>((next_desc_ + bufs.size()) % 16);
    wr(kQueueNotify, 0);
    EXPECT_EQ(guest_.used_idx(), static_cast<uint16_t>(before + 1));
    EXPECT_EQ(guest_.used_id(before), head);
    return guest_.used_len(before);
  }
  uint8_t status_byte() { return *mem_.read_obj<uint8_t>(kStatusAddr); }
  std::vector<uint8_t> guest_bytes(uint64_t at, size_t len) {
    std::vector<uint8_t> out(len);
    EXPECT_TRUE(mem_.read(at, out).ok());
    return out;
  }

  TempDisk disk_{kDiskSectors * 512};
  GuestMemory mem_ = virtio_testing::make_memory();
  GuestQueue guest_{mem_, 16, 0x10000};
  std::shared_ptr<CountingIrqLine> irq_ = std::make_shared<CountingIrqLine>();
  std::shared_ptr<VirtioBlock> block_;
  std::unique_ptr<VirtioMmioTransport> transport_;
  uint64_t offered_ = 0;
  uint16_t next_desc_ = 0;
};

TEST_F(VirtioBlockTest, IdentityFeaturesAndConfig) {
  start();
  EXPECT_EQ(rd(0x008), 2u);  // block
  EXPECT_EQ(offered_, kVersion1 | kEventIdx | kIndirect | kBlkFlush | kBlkSegMax);
  uint64_t capacity = 0;
  transport_->read(0x100, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&capacity), 8));
  EXPECT_EQ(capacity, kDiskSectors);
  EXPECT_EQ(rd(0x100 + 12), 14u) << "seg_max: queue size less header and status";
  EXPECT_EQ(rd(0x100 + 0x20), 0u);
}

TEST_F(VirtioBlockTest, ReadSectors) {
  start();
  write_header(kTypeIn, 2);
  const uint32_t len = run({{kHeaderAddr, 16, false}, {kDataAddr, 1024, true},
                            {kStatusAddr, 1, true}});
  EXPECT_EQ(status_byte(), kOk);
  EXPECT_EQ(len, 1024u + 1);
  EXPECT_EQ(guest_bytes(kDataAddr, 1024), disk_.read(2 * 512, 1024));
  EXPECT_EQ(rd(kInterruptStatus), 1u);
  EXPECT_EQ(irq_->take(), 1);
  wr(kInterruptAck, 1);
  const auto c = block_->counters();
  EXPECT_EQ(c.read_requests, 1u);
  EXPECT_EQ(c.read_bytes, 1024u);
}

TEST_F(VirtioBlockTest, ReadIntoManySegments) {
  start();
  write_header(kTypeIn, 10);
  // Data split unevenly over three buffers, the last sharing its end with the status byte.
  const uint32_t len = run({{kHeaderAddr, 16, false}, {kDataAddr, 100, true},
                            {kDataAddr + 0x1000, 700, true}, {kDataAddr + 0x2000, 225, true}});
  EXPECT_EQ(len, 1025u);
  const auto want = disk_.read(10 * 512, 1024);
  EXPECT_EQ(guest_bytes(kDataAddr, 100), std::vector<uint8_t>(want.begin(), want.begin() + 100));
  EXPECT_EQ(guest_bytes(kDataAddr + 0x1000, 700),
            std::vector<uint8_t>(want.begin() + 100, want.begin() + 800));
  EXPECT_EQ(guest_bytes(kDataAddr + 0x2000, 224),
            std::vector<uint8_t>(want.begin() + 800, want.end()));
  EXPECT_EQ(*mem_.read_obj<uint8_t>(kDataAddr + 0x2000 + 224), kOk);
}

TEST_F(VirtioBlockTest, WriteThenReadBack) {
  start();
  std::vector<uint8_t> data(1536);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(0xa5 ^ i);
  ASSERT_TRUE(mem_.write(kDataAddr, data).ok());
  write_header(kTypeOut, 5);
  const uint32_t len = run({{kHeaderAddr, 16, false}, {kDataAddr, 1536, false},
                            {kStatusAddr, 1, true}});
  EXPECT_EQ(status_byte(), kOk);
  EXPECT_EQ(len, 1u) << "a write leaves only the status byte written";
  EXPECT_EQ(disk_.read(5 * 512, 1536), data);
  EXPECT_EQ(disk_.read(4 * 512, 512)[0], TempDisk::pattern(4 * 512)) << "neighbours untouched";

  write_header(kTypeFlush, 0);
  EXPECT_EQ(run({{kHeaderAddr, 16, false}, {kStatusAddr, 1, true}}), 1u);
  EXPECT_EQ(status_byte(), kOk);
  const auto c = block_->counters();
  EXPECT_EQ(c.write_requests, 1u);
  EXPECT_EQ(c.write_bytes, 1536u);
  EXPECT_EQ(c.flush_requests, 1u);
}

TEST_F(VirtioBlockTest, GetId) {
  start();
  ASSERT_TRUE(mem_.fill(kDataAddr, 0xff, 20).ok());
  write_header(kTypeGetId, 0);
  const uint32_t len = run({{kHeaderAddr, 16, false}, {kDataAddr, 20, true},
                            {kStatusAddr, 1, true}});
  EXPECT_EQ(status_byte(), kOk);
  EXPECT_EQ(len, 21u);
  const auto id = guest_bytes(kDataAddr, 20);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(id.data())), "ember-disk-0");
  EXPECT_EQ(id[19], 0) << "NUL padded";
}

TEST_F(VirtioBlockTest, ReadOnlyDriveRefusesWrites) {
  start(/*read_only=*/true);
  EXPECT_NE(offered_ & kBlkRo, 0u);
  ASSERT_TRUE(mem_.fill(kDataAddr, 0x11, 512).ok());
  write_header(kTypeOut, 0);
  EXPECT_EQ(run({{kHeaderAddr, 16, false}, {kDataAddr, 512, false}, {kStatusAddr, 1, true}}), 1u);
  EXPECT_EQ(status_byte(), kIoErr);
  EXPECT_EQ(disk_.read(0, 1)[0], TempDisk::pattern(0));
  write_header(kTypeIn, 0);
  EXPECT_EQ(run({{kHeaderAddr, 16, false}, {kDataAddr, 512, true}, {kStatusAddr, 1, true}}), 513u);
  EXPECT_EQ(status_byte(), kOk);
  EXPECT_EQ(block_->counters().io_errors, 1u);
}

TEST_F(VirtioBlockTest, OutOfRangeSectors) {
  start();
  write_header(kTypeIn, kDiskSectors - 1);
  EXPECT_EQ(run({{kHeaderAddr, 16, false}, {kDataAddr, 1024, true}, {kStatusAddr, 1, true}}), 1u);
  EXPECT_EQ(status_byte(), kIoErr);
  write_header(kTypeOut, ~0ull);
  EXPECT_EQ(run({{kHeaderAddr, 16, false}, {kDataAddr, 512, false}, {kStatusAddr, 1, true}}), 1u);
  EXPECT_EQ(status_byte(), kIoErr);
  EXPECT_TRUE(transport_->device_active()) << "a bad request is not a broken device";
}

TEST_F(VirtioBlockTest, MalformedRequests) {
  start();
  write_header(kTypeIn, 0);
  EXPECT_EQ(run({{kHeaderAddr, 8, false}, {kStatusAddr, 1, true}}), 1u) << "short header";
  EXPECT_EQ(status_byte(), kIoErr);

  write_header(99, 0);
  EXPECT_EQ(run({{kHeaderAddr, 16, false}, {kStatusAddr, 1, true}}), 1u);
  EXPECT_EQ(status_byte(), kUnsupp);

  write_header(kTypeIn, 0);
  EXPECT_EQ(run({{kHeaderAddr, 16, false}, {kDataAddr, 512, false}}), 0u)
      << "no status byte: nothing can be written back";

  write_header(kTypeIn, 0);
  EXPECT_EQ(run({{kHeaderAddr, 16, false}, {kDataAddr, 300, true}, {kStatusAddr, 1, true}}), 1u);
  EXPECT_EQ(status_byte(), kIoErr) << "partial sector";

  const auto c = block_->counters();
  EXPECT_EQ(c.io_errors, 3u);
  EXPECT_EQ(c.unsupported, 1u);
  EXPECT_TRUE(transport_->device_active());
}

TEST_F(VirtioBlockTest, IndirectRequest) {
  start();
  write_header(kTypeIn, 1);
  const uint16_t before = guest_.used_idx();
  guest_.add_indirect_chain(3, 0x60000, {{kHeaderAddr, 16, false}, {kDataAddr, 512, true},
                                         {kStatusAddr, 1, true}});
  wr(kQueueNotify, 0);
  ASSERT_EQ(guest_.used_idx(), static_cast<uint16_t>(before + 1));
  EXPECT_EQ(guest_.used_id(before), 3u);
  EXPECT_EQ(guest_.used_len(before), 513u);
  EXPECT_EQ(status_byte(), kOk);
  EXPECT_EQ(guest_bytes(kDataAddr, 512), disk_.read(512, 512));
}

TEST_F(VirtioBlockTest, BatchOfRequestsAndOneInterrupt) {
  start();
  for (uint16_t i = 0; i < 4; ++i) {
    write_header(kTypeIn, i, kHeaderAddr + 16 * i);
    guest_.add_chain({{kHeaderAddr + 16u * i, 16, false}, {kDataAddr + 512u * i, 512, true},
                      {kStatusAddr + i, 1, true}},
                     static_cast<uint16_t>(3 * i));
  }
  wr(kQueueNotify, 0);
  EXPECT_EQ(guest_.used_idx(), 4);
  EXPECT_EQ(irq_->take(), 1) << "used_event 0: one notification for the batch";
  EXPECT_EQ(guest_bytes(kDataAddr, 2048), disk_.read(0, 2048));
}

TEST_F(VirtioBlockTest, BrokenChainNeedsReset) {
  start();
  guest_.set_desc(0, kHeaderAddr, 16, 1, 0);  // loops onto itself
  guest_.publish(0);
  wr(kQueueNotify, 0);
  EXPECT_NE(rd(kStatusReg) & kNeedsReset, 0u);
  EXPECT_FALSE(transport_->device_active());
  wr(kStatusReg, 0);
  EXPECT_EQ(rd(kStatusReg), 0u) << "a reset clears DEVICE_NEEDS_RESET";
}

TEST_F(VirtioBlockTest, CreateRefusesBadConfigs) {
  VirtioBlockConfig config;
  config.path = "/nonexistent/ember-disk";
  auto r = VirtioBlock::create(config);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent/ember-disk"), std::string::npos);

  config.path = disk_.path();
  config.id = std::string(21, 'x');
  EXPECT_FALSE(VirtioBlock::create(config).ok());
  config.id = std::string(20, 'x');
  EXPECT_TRUE(VirtioBlock::create(config).ok());
  config.queue_size = 12;
  EXPECT_FALSE(VirtioBlock::create(config).ok());
}

TEST_F(VirtioBlockTest, PartialTrailingSectorIsNotExposed) {
  TempDisk odd(10 * 512 + 100);
  VirtioBlockConfig config;
  config.path = odd.path();
  auto blk = VirtioBlock::create(config);
  ASSERT_TRUE(blk.ok());
  EXPECT_EQ((*blk)->capacity_sectors(), 10u);
}

TEST_F(VirtioBlockTest, DeviceStateMustMatchTheDisk) {
  start();
  const auto saved = block_->save_device_state();
  EXPECT_TRUE(block_->restore_device_state(saved).ok());

  TempDisk bigger(2 * kDiskSectors * 512);
  VirtioBlockConfig config;
  config.path = bigger.path();
  auto other = VirtioBlock::create(config);
  ASSERT_TRUE(other.ok());
  auto r = (*other)->restore_device_state(saved);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("sectors"), std::string::npos);
  EXPECT_FALSE((*other)->restore_device_state(std::vector<uint8_t>(3)).ok());
}

TEST_F(VirtioBlockTest, SnapshotRestoreThroughTheTransport) {
  start();
  write_header(kTypeIn, 0);
  run({{kHeaderAddr, 16, false}, {kDataAddr, 512, true}, {kStatusAddr, 1, true}});
  const auto saved = transport_->save_state();

  VirtioBlockConfig config;
  config.path = disk_.path();
  config.queue_size = 16;
  auto blk = VirtioBlock::create(config);
  ASSERT_TRUE(blk.ok());
  std::shared_ptr<VirtioBlock> block2 = std::move(blk).value();
  VirtioMmioTransport transport2(block2, mem_, irq_);
  auto r = transport2.restore_state(saved);
  ASSERT_TRUE(r.ok()) << r.error().message;
  write_header(kTypeIn, 3);
  const uint16_t before = guest_.used_idx();
  guest_.add_chain({{kHeaderAddr, 16, false}, {kDataAddr, 512, true}, {kStatusAddr, 1, true}}, 5);
  transport2.notify_queue(0);
  ASSERT_EQ(guest_.used_idx(), static_cast<uint16_t>(before + 1));
  EXPECT_EQ(guest_bytes(kDataAddr, 512), disk_.read(3 * 512, 512));
}

}  // namespace
}  // namespace ember
