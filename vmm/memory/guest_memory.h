// Guest physical memory: anonymous host mappings, reached only through bounds-checked helpers.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <type_traits>
#include <vector>

#include "vmm/util/result.h"

namespace ember {

using GuestAddress = uint64_t;

struct MemoryRegionSpec {
  GuestAddress guest_addr;
  uint64_t size;
};

// One contiguous host mapping backing [guest_addr, guest_addr + size).
class MemoryRegion {
 public:
  MemoryRegion(GuestAddress guest_addr, uint64_t size, uint8_t* host);
  MemoryRegion(const MemoryRegion&) = delete;
  MemoryRegion& operator=(const MemoryRegion&) = delete;
  MemoryRegion(MemoryRegion&& o) noexcept;
  MemoryRegion& operator=(MemoryRegion&&) = delete;
  ~MemoryRegion();

  [[nodiscard]] GuestAddress guest_addr() const { return guest_addr_; }
  [[nodiscard]] uint64_t size() const { return size_; }
  [[nodiscard]] uint8_t* host() const { return host_; }
  // True when [addr, addr+len) lies inside this region; overflow-safe.
  [[nodiscard]] bool contains(GuestAddress addr, uint64_t len) const;

 private:
  GuestAddress guest_addr_;
  uint64_t size_;
  uint8_t* host_;
};

class GuestMemory {
 public:
  // Maps anonymous private memory for each region. Regions must be page aligned, non-empty,
  // sorted and non-overlapping.
  [[nodiscard]] static Result<GuestMemory> create_anonymous(const std::vector<MemoryRegionSpec>& specs);

  GuestMemory(GuestMemory&&) = default;
  GuestMemory& operator=(GuestMemory&&) = default;

  [[nodiscard]] const std::vector<MemoryRegion>& regions() const { return regions_; }
  [[nodiscard]] uint64_t total_size() const;
  // One past the highest guest address backed by memory.
  [[nodiscard]] GuestAddress end_addr() const;

  // A host view of [addr, addr+len); fails unless the whole range is inside one region.
  [[nodiscard]] Result<std::span<uint8_t>> slice(GuestAddress addr, uint64_t len) const;
  [[nodiscard]] Result<void> write(GuestAddress addr, std::span<const uint8_t> data) const;
  [[nodiscard]] Result<void> read(GuestAddress addr, std::span<uint8_t> out) const;
  [[nodiscard]] Result<void> fill(GuestAddress addr, uint8_t value, uint64_t len) const;
  [[nodiscard]] bool is_valid_range(GuestAddress addr, uint64_t len) const;

  template <class T>
  [[nodiscard]] Result<void> write_obj(GuestAddress addr, const T& obj) const {
    static_assert(std::is_trivially_copyable_v<T>);
    return write(addr, std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(&obj), sizeof(T)));
  }
  template <class T>
  [[nodiscard]] Result<T> read_obj(GuestAddress addr) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T obj{};
    auto r = read(addr, std::span<uint8_t>(reinterpret_cast<uint8_t*>(&obj), sizeof(T)));
    if (!r) return r.error();
    return obj;
  }

 private:
  explicit GuestMemory(std::vector<MemoryRegion> regions) : regions_(std::move(regions)) {}
  std::vector<MemoryRegion> regions_;
};

}  // namespace ember
