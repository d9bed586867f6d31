// Guest physical memory: anonymous host mappings, reached only through bounds-checked helpers.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include "base/result.h"

namespace ember {

using GuestAddress = uint64_t;

struct MemoryRegionSpec {
  GuestAddress guest_addr;
  uint64_t size;
  bool operator==(const MemoryRegionSpec&) const = default;
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
  // Maps the regions from `fd`, back to back from offset 0, privately (copy-on-write): pages
  // load lazily from the file and stay shared, through the page cache, by every VM mapping
  // the same file until one writes them. The file must be at least as large as the regions.
  [[nodiscard]] static Result<GuestMemory> create_from_file(const std::vector<MemoryRegionSpec>& specs, int fd);

  GuestMemory(GuestMemory&&) = default;
  GuestMemory& operator=(GuestMemory&&) = default;

  [[nodiscard]] const std::vector<MemoryRegion>& regions() const { return regions_; }
  // Mapped from a file (a restored snapshot) rather than anonymous: a page the VM never
  // touched holds the file's bytes, not zeros.
  [[nodiscard]] bool file_backed() const { return file_backed_; }
  [[nodiscard]] uint64_t total_size() const;
  // One past the highest guest address backed by memory.
  [[nodiscard]] GuestAddress end_addr() const;

  // A host view of [addr, addr+len); fails unless the whole range is inside one region. The
  // caller may write through it: with dirty tracking on, its pages count as written.
  [[nodiscard]] Result<std::span<uint8_t>> slice(GuestAddress addr, uint64_t len) const;
  [[nodiscard]] Result<void> write(GuestAddress addr, std::span<const uint8_t> data) const;
  [[nodiscard]] Result<void> read(GuestAddress addr, std::span<uint8_t> out) const;
  [[nodiscard]] Result<void> fill(GuestAddress addr, uint8_t value, uint64_t len) const;
  [[nodiscard]] bool is_valid_range(GuestAddress addr, uint64_t len) const;

  // Records the pages the VMM itself writes (devices filling guest buffers), which KVM's dirty
  // log does not see, for diff snapshots. Call before any device runs.
  void enable_dirty_tracking();
  [[nodiscard]] bool dirty_tracking() const { return !host_dirty_.empty(); }
  // The pages of region `index` written through this object since the previous call (one bit
  // per 4 KiB page), and clears them. Empty without tracking.
  [[nodiscard]] std::vector<uint64_t> take_host_dirty(size_t index) const;

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
  [[nodiscard]] static Result<GuestMemory> map_regions(const std::vector<MemoryRegionSpec>& specs, int fd);
  // The region holding [addr, addr+len) and the offset in it; nullptr when there is none.
  [[nodiscard]] const MemoryRegion* find(GuestAddress addr, uint64_t len, size_t* index) const;
  void mark_dirty(size_t index, uint64_t offset, uint64_t len) const;
  std::vector<MemoryRegion> regions_;
  bool file_backed_ = false;
  // One bitmap per region while dirty tracking is on.
  std::vector<std::unique_ptr<std::atomic<uint64_t>[]>> host_dirty_;
};

}  // namespace ember
