// Test helpers for the virtio tests: guest memory, a tiny "guest driver" that lays out split
// virtqueues in it the way a driver would (virtio 1.2 §2.7), and counting interrupt doubles.
// Layouts are written here from the spec, independently of devices/virtio, so the tests do not
// trust the code under test.
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstring>
#include <span>
#include <vector>

#include "devices/bus_device.h"
#include "devices/virtio/virtio_device.h"
#include "memory/guest_memory.h"

namespace ember::virtio_testing {

inline constexpr uint16_t kNext = 1, kWrite = 2, kIndirect = 4;

// 1 MiB at 0, then a hole, then 64 KiB at 2 MiB: enough to test buffers crossing a region end.
// One aligned 32-bit register access on a transport, as a driver makes it.
inline uint32_t mmio_read32(BusDevice& transport, uint64_t offset) {
  uint32_t v = 0;
  transport.read(offset, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&v), 4));
  return v;
}
inline void mmio_write32(BusDevice& transport, uint64_t offset, uint32_t v) {
  transport.write(offset, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&v), 4));
}

inline GuestMemory make_memory() {
  auto mem = GuestMemory::create_anonymous({{0, 1 << 20}, {2 << 20, 64 << 10}});
  EXPECT_TRUE(mem.ok());
  return std::move(mem).value();
}

class CountingIrqLine final : public IrqLine {
 public:
  void trigger() override { ++count_; }
  int take() { return count_.exchange(0); }

 private:
  std::atomic<int> count_{0};
};

class CountingInterrupt final : public VirtioInterrupt {
 public:
  void signal_used_queue(uint16_t /*index*/) override { ++used; }
  void signal_config_change() override { ++config; }
  int used = 0;
  int config = 0;
};

struct Buf {
  uint64_t addr;
  uint32_t len;
  bool writable;
};

// The driver side of one split virtqueue. Descriptor table at `base`, available ring right
// after it, used ring at the next 4 KiB boundary.
class GuestQueue {
 public:
  GuestQueue(const GuestMemory& mem, uint16_t size, uint64_t base)
      : mem_(mem), size_(size), desc_(base), avail_(base + 16ull * size),
        used_((avail_ + 6 + 2ull * size + 4095) & ~4095ull) {
    EXPECT_TRUE(mem_.fill(desc_, 0, used_ + 6 + 8ull * size - desc_).ok());
  }

  uint16_t size() const { return size_; }
  uint64_t desc_addr() const { return desc_; }
  uint64_t avail_addr() const { return avail_; }
  uint64_t used_addr() const { return used_; }
  // One past the last byte of the used ring: free memory for buffers starts after this.
  uint64_t end() const { return used_ + 6 + 8ull * size_; }

  void set_desc(uint16_t index, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
    write_desc(desc_ + 16ull * index, addr, len, flags, next);
  }
  void write_desc(uint64_t at, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
    uint8_t raw[16];
    std::memcpy(raw, &addr, 8);
    std::memcpy(raw + 8, &len, 4);
    std::memcpy(raw + 12, &flags, 2);
    std::memcpy(raw + 14, &next, 2);
    EXPECT_TRUE(mem_.write(at, raw).ok());
  }

  // Lays `bufs` out as a chain from descriptor `first` onwards (first, first+1, ...), puts its
  // head in the available ring and bumps idx. Returns the head.
  uint16_t add_chain(const std::vector<Buf>& bufs, uint16_t first = 0) {
    for (size_t i = 0; i < bufs.size(); ++i) {
      const auto index = static_cast<uint16_t>((first + i) % size_);
      const bool last = i + 1 == bufs.size();
      uint16_t flags = bufs[i].writable ? kWrite : 0;
      if (!last) flags |= kNext;
      set_desc(index, bufs[i].addr, bufs[i].len, flags,
               last ? 0 : static_cast<uint16_t>((index + 1) % size_));
    }
    publish(first);
    return first;
  }

  // Writes an indirect table for `bufs` at `table` and one descriptor `index` pointing at it.
  uint16_t add_indirect_chain(uint16_t index, uint64_t table, const std::vector<Buf>& bufs) {
    for (size_t i = 0; i < bufs.size(); ++i) {
      const bool last = i + 1 == bufs.size();
      uint16_t flags = bufs[i].writable ? kWrite : 0;
      if (!last) flags |= kNext;
      write_desc(table + 16 * i, bufs[i].addr, bufs[i].len, flags,
                 last ? 0 : static_cast<uint16_t>(i + 1));
    }
    set_desc(index, table, static_cast<uint32_t>(16 * bufs.size()), kIndirect, 0);
    publish(index);
    return index;
  }

  void publish(uint16_t head) {
    const uint16_t idx = avail_idx();
    write16(avail_ + 4 + 2ull * (idx % size_), head);
    write16(avail_ + 2, static_cast<uint16_t>(idx + 1));
  }

  uint16_t avail_idx() const { return read16(avail_ + 2); }
  void set_avail_idx(uint16_t v) { write16(avail_ + 2, v); }
  void set_avail_flags(uint16_t v) { write16(avail_, v); }
  void set_used_event(uint16_t v) { write16(avail_ + 4 + 2ull * size_, v); }
  uint16_t used_idx() const { return read16(used_ + 2); }
  void set_used_idx(uint16_t v) { write16(used_ + 2, v); }
  uint16_t avail_event() const { return read16(used_ + 4 + 8ull * size_); }
  uint32_t used_id(uint16_t i) const { return read32(used_ + 4 + 8ull * (i % size_)); }
  uint32_t used_len(uint16_t i) const { return read32(used_ + 8 + 8ull * (i % size_)); }

  uint16_t read16(uint64_t at) const {
    auto v = mem_.read_obj<uint16_t>(at);
    EXPECT_TRUE(v.ok());
    return v.ok() ? *v : 0;
  }
  uint32_t read32(uint64_t at) const {
    auto v = mem_.read_obj<uint32_t>(at);
    EXPECT_TRUE(v.ok());
    return v.ok() ? *v : 0;
  }
  void write16(uint64_t at, uint16_t v) { EXPECT_TRUE(mem_.write_obj(at, v).ok()); }

 private:
  const GuestMemory& mem_;
  uint16_t size_;
  uint64_t desc_;
  uint64_t avail_;
  uint64_t used_;
};

}  // namespace ember::virtio_testing
