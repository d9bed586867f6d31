// libFuzzer target: arbitrary bytes as a virtio-block guest. The input chooses the queue
// registers and features, a few extra register writes, optionally a snapshot state to restore,
// and the contents of guest memory (descriptor tables, rings, request headers); then the queue
// is notified and the device pops, parses and serves whatever the bytes describe. Any crash,
// sanitizer report or CHECK failure is a bug: guest input must only ever produce errors.
//
// Input layout (missing bytes read as zero):
//   u8  flags      bit 0..2 choose features (EVENT_IDX, INDIRECT_DESC, FLUSH), bit 3 read-only
//                  disk, bit 4 take ring addresses unaligned, bit 5 restore a fuzzed state
//   u8  queue size log2 (mod 9: 1 to 256)
//   u16 x3         descriptor table, available ring, used ring (in 16-byte units, or 2-byte
//                  ones with bit 4, modulo 68 KiB)
//   u8  n          then n % 8 register writes of {u8 register index (x4), u32 value}
//   [flags bit 5]  u16 next_avail, u16 next_used, u32 status for the restored state
//   rest           guest memory from address 0
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "devices/bus_device.h"
#include "devices/virtio/block/virtio_block.h"
#include "devices/virtio/mmio_transport.h"
#include "memory/guest_memory.h"
#include "base/check.h"
#include "base/log.h"

namespace {

using ember::GuestMemory;

constexpr uint64_t kLowSize = 64 << 10;    // guest memory at 0
constexpr uint64_t kHighAddr = 1 << 20;    // a second region past a hole
constexpr uint64_t kHighSize = 4 << 10;
constexpr uint64_t kDiskSize = 16 * 512;

class NullIrq final : public ember::IrqLine {
 public:
  void trigger() override {}
};

struct Env {
  GuestMemory mem;
  int disk_fd;
  std::string disk_path;
  bool verbose;  // EMBER_FUZZ_VERBOSE set: print what each input did (to check seeds)
};

Env& env() {
  static Env* e = [] {
    ember::log_configure("fuzz", ember::LogLevel::kError);
    const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
    ember::log_set_fd(null_fd);
    auto mem = GuestMemory::create_anonymous({{0, kLowSize}, {kHighAddr, kHighSize}});
    CHECK(mem.ok());
    const int fd = ::memfd_create("ember-fuzz-disk", MFD_CLOEXEC);
    CHECK(fd >= 0);
    return new Env{std::move(mem).value(), fd, "/proc/self/fd/" + std::to_string(fd),
                   std::getenv("EMBER_FUZZ_VERBOSE") != nullptr};
  }();
  return *e;
}

class Reader {
 public:
  Reader(const uint8_t* data, size_t size) : data_(data), size_(size) {}
  template <class T>
  T take() {
    T v{};
    const size_t n = std::min(sizeof v, size_ - pos_);
    std::memcpy(&v, data_ + pos_, n);
    pos_ += n;
    return v;
  }
  const uint8_t* rest() const { return data_ + pos_; }
  size_t rest_size() const { return size_ - pos_; }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

class Driver {
 public:
  explicit Driver(ember::VirtioMmioTransport& t) : t_(t) {}
  void write(uint64_t offset, uint32_t value) {
    t_.write(offset, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&value), 4));
  }
  uint32_t read(uint64_t offset) {
    uint32_t v = 0;
    t_.read(offset, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), 4));
    return v;
  }

 private:
  ember::VirtioMmioTransport& t_;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Env& e = env();
  Reader in(data, size);
  const auto flags = in.take<uint8_t>();
  const uint32_t queue_size = 1u << (in.take<uint8_t>() % 9);
  const uint64_t unit = (flags & 0x10) ? 2 : 16;
  // Mostly inside the low region; the last page of the range lies past its end.
  const uint64_t span = kLowSize + 0x1000;
  const uint64_t desc = uint64_t{in.take<uint16_t>()} * unit % span;
  const uint64_t avail = uint64_t{in.take<uint16_t>()} * unit % span;
  const uint64_t used = uint64_t{in.take<uint16_t>()} * unit % span;
  const auto writes = static_cast<uint8_t>(in.take<uint8_t>() % 8);
  uint8_t regs[8];
  uint32_t values[8];
  for (uint8_t i = 0; i < writes; ++i) {
    regs[i] = in.take<uint8_t>();
    values[i] = in.take<uint32_t>();
  }
  const bool restore = (flags & 0x20) != 0;
  uint16_t saved_avail = 0, saved_used = 0;
  uint32_t saved_status = 0;
  if (restore) {
    saved_avail = in.take<uint16_t>();
    saved_used = in.take<uint16_t>();
    saved_status = in.take<uint32_t>();
  }

  // Fresh guest memory and disk for every input, so a crash reproduces from its input alone.
  CHECK(e.mem.fill(0, 0, kLowSize).ok());
  CHECK(e.mem.fill(kHighAddr, 0, kHighSize).ok());
  CHECK(e.mem.write(0, std::span<const uint8_t>(in.rest(), std::min<size_t>(in.rest_size(),
                                                                           kLowSize))).ok());
  CHECK(::ftruncate(e.disk_fd, 0) == 0 && ::ftruncate(e.disk_fd, kDiskSize) == 0);

  ember::VirtioBlockConfig config;
  config.path = e.disk_path;
  config.read_only = (flags & 0x08) != 0;
  config.id = "fuzz";
  config.queue_size = 256;
  auto block = ember::VirtioBlock::create(config);
  CHECK(block.ok());
  std::shared_ptr<ember::VirtioBlock> device = std::move(block).value();
  auto irq = std::make_shared<NullIrq>();
  ember::VirtioMmioTransport transport(device, e.mem, irq);
  Driver d(transport);

  // The usual initialisation (§3.1.1) with the fuzzed queue and features.
  uint64_t features = uint64_t{1} << 32;  // VIRTIO_F_VERSION_1
  if (flags & 1) features |= uint64_t{1} << 29;
  if (flags & 2) features |= uint64_t{1} << 28;
  if (flags & 4) features |= uint64_t{1} << 9;
  d.write(0x070, 1);
  d.write(0x070, 3);
  d.write(0x024, 0);
  d.write(0x020, static_cast<uint32_t>(features));
  d.write(0x024, 1);
  d.write(0x020, static_cast<uint32_t>(features >> 32));
  d.write(0x070, 11);
  d.write(0x030, 0);
  d.write(0x038, queue_size);
  d.write(0x080, static_cast<uint32_t>(desc));
  d.write(0x090, static_cast<uint32_t>(avail));
  d.write(0x0a0, static_cast<uint32_t>(used));
  d.write(0x044, 1);
  // Whatever else the input wants to poke, before and around DRIVER_OK.
  for (uint8_t i = 0; i < writes; ++i) d.write(uint64_t{regs[i]} * 4, values[i]);
  d.write(0x070, 15);
  d.write(0x050, 0);
  transport.notify_queue(0);
  (void)d.read(0x060);
  (void)d.read(0x070);
  uint8_t config_bytes[8];
  transport.read(0x100 + (flags & 0x1f), config_bytes);
  if (e.verbose) {
    const auto c = device->counters();
    std::fprintf(stderr,
                 "status 0x%x active %d: reads %llu writes %llu flushes %llu get_id %llu "
                 "ioerr %llu unsupp %llu\n",
                 transport.status(), transport.device_active() ? 1 : 0,
                 static_cast<unsigned long long>(c.read_requests),
                 static_cast<unsigned long long>(c.write_requests),
                 static_cast<unsigned long long>(c.flush_requests),
                 static_cast<unsigned long long>(c.get_id_requests),
                 static_cast<unsigned long long>(c.io_errors),
                 static_cast<unsigned long long>(c.unsupported));
  }

  if (restore) {
    // A snapshot with fuzzed indices and status, restored into a fresh device.
    auto state = transport.save_state();
    state.status = saved_status;
    state.queues[0].next_avail = saved_avail;
    state.queues[0].next_used = saved_used;
    auto block2 = ember::VirtioBlock::create(config);
    CHECK(block2.ok());
    std::shared_ptr<ember::VirtioBlock> device2 = std::move(block2).value();
    ember::VirtioMmioTransport transport2(device2, e.mem, irq);
    if (transport2.restore_state(state).ok()) transport2.notify_queue(0);
  }
  return 0;
}
