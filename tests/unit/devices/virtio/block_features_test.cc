// virtio-block's io_uring engine, rate limiter and backing-file swap, end to end through the
// MMIO transport with a temporary file as the disk.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "devices/event_registrar.h"
#include "devices/rate_limiter/clock.h"
#include "devices/virtio/block/virtio_block.h"
#include "devices/virtio/mmio_transport.h"
#include "tests/unit/devices/virtio/virtio_test_util.h"
#include "tests/unit/devices/rate_limiter/fake_clock.h"

namespace ember {
namespace {

using virtio_testing::Buf;
using virtio_testing::CountingIrqLine;
using virtio_testing::GuestQueue;

constexpr uint32_t kTypeIn = 0, kTypeOut = 1, kTypeFlush = 4;
constexpr uint8_t kOk = 0, kIoErr = 1;
constexpr uint64_t kStatusReg = 0x070, kQueueNotify = 0x050, kInterruptStatus = 0x060;
constexpr uint32_t kAck = 1, kDriver = 2, kDriverOk = 4, kFeaturesOk = 8;
constexpr uint64_t kVersion1 = 1ull << 32;
constexpr uint64_t kHeaderAddr = 0x40000, kDataAddr = 0x50000, kStatusAddr = 0x48000;

// A temporary file of `size` bytes, every byte `fill`.
class TempFile {
 public:
  TempFile(uint64_t size, uint8_t fill) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir != nullptr ? dir : "/tmp") + "/ember-blkx-XXXXXX";
    const int fd = ::mkstemp(path_.data());
    EXPECT_GE(fd, 0);
    std::vector<uint8_t> bytes(size, fill);
    EXPECT_EQ(::pwrite(fd, bytes.data(), size, 0), static_cast<ssize_t>(size));
    ::close(fd);
  }
  ~TempFile() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }
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

class FakeRegistrar final : public EventRegistrar {
 public:
  Result<void> watch(int fd, uint32_t /*events*/, uint32_t event_id) override {
    if (watched.count(fd) != 0) return make_error("watched twice");
    watched[fd] = event_id;
    return {};
  }
  Result<void> modify(int fd, uint32_t /*events*/, uint32_t event_id) override {
    watched[fd] = event_id;
    return {};
  }
  void unwatch(int fd) override { watched.erase(fd); }
  std::map<int, uint32_t> watched;
};

using testing_clock::FakeClock;

class BlockFeaturesTest : public ::testing::Test {
 protected:
  // Creates the device from `config` (path filled in) and drives it to DRIVER_OK.
  void start(VirtioBlockConfig config, EventRegistrar* events = nullptr) {
    config.path = disk_.path();
    config.queue_size = 16;
    auto blk = VirtioBlock::create(config, events, clock_);
    ASSERT_TRUE(blk.ok()) << blk.error().message;
    block_ = std::move(blk).value();
    transport_ = std::make_unique<VirtioMmioTransport>(block_, mem_, irq_);
    wr(kStatusReg, kAck);
    wr(kStatusReg, kAck | kDriver);
    wr(0x024, 1);
    wr(0x020, static_cast<uint32_t>(kVersion1 >> 32));
    wr(kStatusReg, kAck | kDriver | kFeaturesOk);
    wr(0x030, 0);
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
  uint64_t config_capacity() {
    uint64_t capacity = 0;
    transport_->read(0x100, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&capacity), 8));
    return capacity;
  }
  // Queues one request (header, data, status each at their own address + `slot` * 0x1000)
  // and notifies. Returns the status address.
  uint64_t send(uint32_t type, uint64_t sector, uint32_t data_len, int slot = 0) {
    const uint64_t header = kHeaderAddr + slot * 0x100, status = kStatusAddr + slot * 0x100;
    const uint64_t data = kDataAddr + slot * 0x1000;
    uint8_t h[16] = {};
    std::memcpy(h, &type, 4);
    std::memcpy(h + 8, &sector, 8);
    EXPECT_TRUE(mem_.write(header, h).ok());
    EXPECT_TRUE(mem_.fill(status, 0xee, 1).ok());
    std::vector<Buf> bufs{{header, 16, false}};
    if (data_len > 0) bufs.push_back({data, data_len, type == kTypeIn});
    bufs.push_back({status, 1, true});
    guest_.add_chain(bufs, next_desc_);
    next_desc_ = static_cast<uint16_t>((next_desc_ + bufs.size()) % 16);
    wr(kQueueNotify, 0);
    return status;
  }
  uint8_t byte_at(uint64_t at) { return *mem_.read_obj<uint8_t>(at); }
  std::vector<uint8_t> guest_bytes(uint64_t at, size_t len) {
    std::vector<uint8_t> out(len);
    EXPECT_TRUE(mem_.read(at, out).ok());
    return out;
  }
  // For the io_uring engine: waits until the completion fd is readable, then lets the device
  // reap (what the VMM's event loop does).
  void wait_completion() {
    pollfd p{block_->completion_fd(), POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 5000), 1) << "no io_uring completion within 5 s";
    transport_->process_device_event(VirtioBlock::kCompletionEvent);
  }

  TempFile disk_{64 * 512, 0x11};
  FakeClock clock_;
  FakeRegistrar events_;  // outlives the device, which unwatches its timer when destroyed
  GuestMemory mem_ = virtio_testing::make_memory();
  GuestQueue guest_{mem_, 16, 0x10000};
  std::shared_ptr<CountingIrqLine> irq_ = std::make_shared<CountingIrqLine>();
  std::shared_ptr<VirtioBlock> block_;
  std::unique_ptr<VirtioMmioTransport> transport_;
  uint16_t next_desc_ = 0;
};

// ---- io_uring engine ---------------------------------------------------------------------

TEST_F(BlockFeaturesTest, AsyncWriteFlushReadRoundTrip) {
  VirtioBlockConfig config;
  config.engine = BlockEngineKind::kAsync;
  start(config);
  ASSERT_GE(block_->completion_fd(), 0);

  std::vector<uint8_t> data(1024);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 3 + 1);
  ASSERT_TRUE(mem_.write(kDataAddr, data).ok());
  const uint64_t st = send(kTypeOut, 3, 1024);
  // Loop: a completion may already be reaped when the eventfd fires for a later one.
  while (guest_.used_idx() != 1) wait_completion();
  EXPECT_EQ(byte_at(st), kOk);
  EXPECT_EQ(disk_.read(3 * 512, 1024), data);

  send(kTypeFlush, 0, 0);
  while (guest_.used_idx() != 2) wait_completion();
  EXPECT_EQ(byte_at(st), kOk);

  ASSERT_TRUE(mem_.fill(kDataAddr, 0, 1024).ok());
  send(kTypeIn, 3, 1024);
  while (guest_.used_idx() != 3) wait_completion();
  EXPECT_EQ(byte_at(st), kOk);
  EXPECT_EQ(guest_.used_len(2), 1025u);
  EXPECT_EQ(guest_bytes(kDataAddr, 1024), data);
  EXPECT_NE(irq_->take(), 0);
  const auto c = block_->counters();
  EXPECT_EQ(c.write_requests, 1u);
  EXPECT_EQ(c.flush_requests, 1u);
  EXPECT_EQ(c.read_requests, 1u);
}

TEST_F(BlockFeaturesTest, AsyncResetWaitsForRunningRequests) {
  VirtioBlockConfig config;
  config.engine = BlockEngineKind::kAsync;
  start(config);
  for (int i = 0; i < 4; ++i) send(kTypeIn, static_cast<uint64_t>(i), 512, i);
  wr(kStatusReg, 0);  // reset with requests possibly still running: must drain, not crash
  EXPECT_FALSE(transport_->device_active());
}

// ---- rate limiter ------------------------------------------------------------------------

TEST_F(BlockFeaturesTest, LimiterRefusedWithoutRegistrar) {
  VirtioBlockConfig config;
  config.path = disk_.path();
  config.rate_limiter.ops = TokenBucketLimits{1, 0, 1000};
  auto r = VirtioBlock::create(config, nullptr, clock_);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("event registrar"), std::string::npos) << r.error().message;
  // Unlimited without a registrar: fine, but no limiter to PATCH.
  config.rate_limiter = {};
  auto plain = VirtioBlock::create(config, nullptr, clock_);
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE((*plain)->update_rate_limiter({}).ok());
  EXPECT_FALSE((*plain)->rate_limits().has_value());
}

TEST_F(BlockFeaturesTest, OpsLimitHoldsRequestsUntilTimer) {
  VirtioBlockConfig config;
  config.rate_limiter.ops = TokenBucketLimits{1, 0, 100};  // one op per 100 ms
  start(config, &events_);
  ASSERT_EQ(events_.watched.size(), 1u);
  EXPECT_EQ(events_.watched.begin()->second, VirtioBlock::kRateLimiterEvent);

  send(kTypeIn, 0, 512, 0);
  EXPECT_EQ(guest_.used_idx(), 1) << "the first op fits the full bucket";
  send(kTypeIn, 1, 512, 1);
  send(kTypeIn, 2, 512, 2);
  EXPECT_EQ(guest_.used_idx(), 1) << "the bucket is empty: requests are held";
  EXPECT_EQ(block_->counters().rate_limited, 1u);

  // The timer fires before the clock has moved far enough: still held.
  transport_->process_device_event(VirtioBlock::kRateLimiterEvent);
  EXPECT_EQ(guest_.used_idx(), 1);
  // 100 ms later one token is back: exactly one more request runs, in order.
  clock_.now += 100'000'000;
  transport_->process_device_event(VirtioBlock::kRateLimiterEvent);
  EXPECT_EQ(guest_.used_idx(), 2);
  EXPECT_EQ(guest_.used_id(1), 3u) << "the second chain (descriptors 3..5) went first";
  clock_.now += 100'000'000;
  transport_->process_device_event(VirtioBlock::kRateLimiterEvent);
  EXPECT_EQ(guest_.used_idx(), 3);
  EXPECT_EQ(byte_at(kStatusAddr + 0x200), kOk);
}

TEST_F(BlockFeaturesTest, BandwidthLimitAndPatch) {
  VirtioBlockConfig config;
  config.rate_limiter.bandwidth = TokenBucketLimits{1024, 0, 1000};  // 1 KiB per second
  start(config, &events_);
  send(kTypeIn, 0, 1024, 0);
  EXPECT_EQ(guest_.used_idx(), 1);
  send(kTypeIn, 2, 1024, 1);
  EXPECT_EQ(guest_.used_idx(), 0 + 1) << "no bytes left";
  // PATCH away the limit (from any thread): the held request runs on the next timer event.
  RateLimiterUpdate update;
  update.bandwidth = TokenBucketLimits{0, 0, 0};
  ASSERT_TRUE(block_->update_rate_limiter(update).ok());
  ASSERT_TRUE(block_->rate_limits().has_value());
  EXPECT_FALSE(block_->rate_limits()->bandwidth.has_value() &&
               block_->rate_limits()->bandwidth->limits_anything());
  transport_->process_device_event(VirtioBlock::kRateLimiterEvent);
  EXPECT_EQ(guest_.used_idx(), 2);
}

TEST_F(BlockFeaturesTest, ResetForgetsHeldRequest) {
  VirtioBlockConfig config;
  config.rate_limiter.ops = TokenBucketLimits{1, 0, 100};
  start(config, &events_);
  send(kTypeIn, 0, 512, 0);
  send(kTypeIn, 1, 512, 1);
  EXPECT_EQ(guest_.used_idx(), 1);
  wr(kStatusReg, 0);
  EXPECT_FALSE(transport_->device_active());
  block_.reset();
  transport_.reset();
  EXPECT_TRUE(events_.watched.empty()) << "the device unwatches its timer when destroyed";
}

// ---- backing file swap -------------------------------------------------------------------

TEST_F(BlockFeaturesTest, SwapChangesCapacityInterruptsAndServesNewFile) {
  start(VirtioBlockConfig{});
  EXPECT_EQ(config_capacity(), 64u);
  const uint32_t generation = rd(0x0fc);
  send(kTypeIn, 0, 512);
  EXPECT_EQ(guest_bytes(kDataAddr, 512), std::vector<uint8_t>(512, 0x11));
  irq_->take();

  TempFile bigger(128 * 512, 0x22);
  ASSERT_TRUE(block_->update_backing_file(bigger.path()).ok());
  EXPECT_EQ(block_->capacity_sectors(), 128u);
  EXPECT_EQ(config_capacity(), 128u);
  EXPECT_NE(rd(kInterruptStatus) & VirtioMmioTransport::kInterruptConfigChange, 0u);
  EXPECT_EQ(irq_->take(), 1);
  EXPECT_NE(rd(0x0fc), generation) << "config generation moves with the config space";

  send(kTypeIn, 100, 512, 1);  // beyond the old disk's end
  EXPECT_EQ(byte_at(kStatusAddr + 0x100), kOk);
  EXPECT_EQ(guest_bytes(kDataAddr + 0x1000, 512), std::vector<uint8_t>(512, 0x22));
  EXPECT_EQ(block_->path(), bigger.path());
}

TEST_F(BlockFeaturesTest, SwapToMissingFileKeepsOldOne) {
  start(VirtioBlockConfig{});
  irq_->take();
  auto r = block_->update_backing_file("/nonexistent/ember-disk");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("/nonexistent/ember-disk"), std::string::npos);
  EXPECT_EQ(config_capacity(), 64u);
  EXPECT_EQ(irq_->take(), 0);
  send(kTypeIn, 0, 512);
  EXPECT_EQ(byte_at(kStatusAddr), kOk);
}

TEST_F(BlockFeaturesTest, SwapBeforeActivateNeedsNoInterrupt) {
  VirtioBlockConfig config;
  config.path = disk_.path();
  auto blk = VirtioBlock::create(config);
  ASSERT_TRUE(blk.ok());
  TempFile smaller(8 * 512, 0x33);
  ASSERT_TRUE((*blk)->update_backing_file(smaller.path()).ok());
  EXPECT_EQ((*blk)->capacity_sectors(), 8u);
}

TEST_F(BlockFeaturesTest, AsyncSwapThenRequestBeyondNewEndFails) {
  VirtioBlockConfig config;
  config.engine = BlockEngineKind::kAsync;
  start(config);
  TempFile smaller(8 * 512, 0x44);
  ASSERT_TRUE(block_->update_backing_file(smaller.path()).ok());
  const uint64_t st = send(kTypeIn, 20, 512);  // valid before, past the end now
  EXPECT_EQ(byte_at(st), kIoErr);
  send(kTypeIn, 1, 512, 1);
  while (guest_.used_idx() != 2) wait_completion();
  EXPECT_EQ(guest_bytes(kDataAddr + 0x1000, 512), std::vector<uint8_t>(512, 0x44));
}

TEST_F(BlockFeaturesTest, SwapRechecksHeldRequest) {
  VirtioBlockConfig config;
  config.rate_limiter.ops = TokenBucketLimits{1, 0, 100};
  start(config, &events_);
  send(kTypeIn, 0, 512, 0);
  send(kTypeIn, 40, 512, 1);  // held; sector 40 is past the end of the coming 8-sector disk
  EXPECT_EQ(guest_.used_idx(), 1);
  TempFile smaller(8 * 512, 0x55);
  ASSERT_TRUE(block_->update_backing_file(smaller.path()).ok());
  clock_.now += 100'000'000;
  transport_->process_device_event(VirtioBlock::kRateLimiterEvent);
  EXPECT_EQ(guest_.used_idx(), 2);
  EXPECT_EQ(byte_at(kStatusAddr + 0x100), kIoErr);
}

}  // namespace
}  // namespace ember
