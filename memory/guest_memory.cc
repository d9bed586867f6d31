#include "memory/guest_memory.h"

#include <sys/mman.h>
#include <sys/stat.h>

#include <utility>

#include "base/hex.h"
#include "base/errno_error.h"

namespace ember {
namespace {
constexpr uint64_t kPageSize = 4096;

}  // namespace

MemoryRegion::MemoryRegion(GuestAddress guest_addr, uint64_t size, uint8_t* host)
    : guest_addr_(guest_addr), size_(size), host_(host) {}

MemoryRegion::MemoryRegion(MemoryRegion&& o) noexcept
    : guest_addr_(o.guest_addr_), size_(o.size_), host_(std::exchange(o.host_, nullptr)) {}

MemoryRegion::~MemoryRegion() {
  if (host_ != nullptr) ::munmap(host_, size_);
}

bool MemoryRegion::contains(GuestAddress addr, uint64_t len) const {
  if (addr < guest_addr_) return false;
  uint64_t off = addr - guest_addr_;
  return off <= size_ && len <= size_ - off;
}

Result<GuestMemory> GuestMemory::create_anonymous(const std::vector<MemoryRegionSpec>& specs) {
  return map_regions(specs, -1);
}

Result<GuestMemory> GuestMemory::create_from_file(const std::vector<MemoryRegionSpec>& specs, int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return errno_error("memory file");
  if (!S_ISREG(st.st_mode)) return make_error("memory file is not a regular file");
  uint64_t total = 0;
  for (const auto& s : specs) {
    if (s.size > UINT64_MAX - total) return make_error("memory regions overflow");
    total += s.size;
  }
  if (static_cast<uint64_t>(st.st_size) < total)
    return make_error("memory file is " + std::to_string(st.st_size) + " bytes, the VM's memory is " +
                      std::to_string(total));
  ASSIGN_OR_RETURN(GuestMemory mem, map_regions(specs, fd));
  mem.file_backed_ = true;
  return mem;
}

Result<GuestMemory> GuestMemory::map_regions(const std::vector<MemoryRegionSpec>& specs, int fd) {
  std::vector<MemoryRegion> regions;
  regions.reserve(specs.size());
  GuestAddress prev_end = 0;
  uint64_t file_offset = 0;
  for (const auto& s : specs) {
    if (s.size == 0 || s.size % kPageSize != 0 || s.guest_addr % kPageSize != 0)
      return make_error("guest memory region at " + to_hex(s.guest_addr) + " is empty or not page aligned");
    if (s.guest_addr < prev_end || s.guest_addr + s.size < s.guest_addr)
      return make_error("guest memory regions overlap or wrap at " + to_hex(s.guest_addr));
    const int flags = fd < 0 ? MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE : MAP_PRIVATE | MAP_NORESERVE;
    void* p = ::mmap(nullptr, s.size, PROT_READ | PROT_WRITE, flags, fd, static_cast<off_t>(fd < 0 ? 0 : file_offset));
    if (p == MAP_FAILED)
      return errno_error("cannot map " + std::to_string(s.size >> 20) + " MiB of guest memory");
    // Guest memory must not end up in a core dump of the VMM.
    (void)::madvise(p, s.size, MADV_DONTDUMP);
    regions.emplace_back(s.guest_addr, s.size, static_cast<uint8_t*>(p));
    prev_end = s.guest_addr + s.size;
    file_offset += s.size;
  }
  return GuestMemory(std::move(regions));
}

void GuestMemory::enable_dirty_tracking() {
  if (dirty_tracking()) return;
  for (const auto& r : regions_) {
    const uint64_t words = (r.size() / kPageSize + 63) / 64;
    host_dirty_.push_back(std::make_unique<std::atomic<uint64_t>[]>(words));
  }
}

std::vector<uint64_t> GuestMemory::take_host_dirty(size_t index) const {
  if (!dirty_tracking() || index >= regions_.size()) return {};
  const uint64_t words = (regions_[index].size() / kPageSize + 63) / 64;
  std::vector<uint64_t> out(words);
  for (uint64_t w = 0; w < words; ++w) out[w] = host_dirty_[index][w].exchange(0, std::memory_order_relaxed);
  return out;
}

void GuestMemory::mark_dirty(size_t index, uint64_t offset, uint64_t len) const {
  if (host_dirty_.empty() || len == 0) return;
  const uint64_t first = offset / kPageSize;
  const uint64_t last = (offset + len - 1) / kPageSize;
  for (uint64_t page = first; page <= last; ++page)
    host_dirty_[index][page / 64].fetch_or(1ull << (page % 64), std::memory_order_relaxed);
}

uint64_t GuestMemory::total_size() const {
  uint64_t t = 0;
  for (const auto& r : regions_) t += r.size();
  return t;
}

GuestAddress GuestMemory::end_addr() const {
  return regions_.empty() ? 0 : regions_.back().guest_addr() + regions_.back().size();
}

bool GuestMemory::is_valid_range(GuestAddress addr, uint64_t len) const {
  for (const auto& r : regions_)
    if (r.contains(addr, len)) return true;
  return false;
}

const MemoryRegion* GuestMemory::find(GuestAddress addr, uint64_t len, size_t* index) const {
  for (size_t i = 0; i < regions_.size(); ++i) {
    if (regions_[i].contains(addr, len)) {
      *index = i;
      return &regions_[i];
    }
  }
  return nullptr;
}

Result<std::span<uint8_t>> GuestMemory::slice(GuestAddress addr, uint64_t len) const {
  size_t index = 0;
  const MemoryRegion* r = find(addr, len, &index);
  if (r == nullptr) return make_error("guest range " + to_hex(addr) + "+" + to_hex(len) + " is outside guest memory");
  mark_dirty(index, addr - r->guest_addr(), len);
  return std::span<uint8_t>(r->host() + (addr - r->guest_addr()), static_cast<size_t>(len));
}

Result<void> GuestMemory::write(GuestAddress addr, std::span<const uint8_t> data) const {
  auto s = slice(addr, data.size());
  if (!s) return s.error();
  if (!data.empty()) std::memcpy(s->data(), data.data(), data.size());
  return {};
}

Result<void> GuestMemory::read(GuestAddress addr, std::span<uint8_t> out) const {
  size_t index = 0;
  const MemoryRegion* r = find(addr, out.size(), &index);
  if (r == nullptr)
    return make_error("guest range " + to_hex(addr) + "+" + to_hex(out.size()) + " is outside guest memory");
  if (!out.empty()) std::memcpy(out.data(), r->host() + (addr - r->guest_addr()), out.size());
  return {};
}

Result<void> GuestMemory::fill(GuestAddress addr, uint8_t value, uint64_t len) const {
  auto s = slice(addr, len);
  if (!s) return s.error();
  if (len != 0) std::memset(s->data(), value, len);
  return {};
}

}  // namespace ember
