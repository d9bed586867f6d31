#include "vmm/memory/guest_memory.h"

#include <sys/mman.h>

#include <utility>

#include "vmm/util/hex.h"
#include "vmm/util/errno_error.h"

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
  std::vector<MemoryRegion> regions;
  regions.reserve(specs.size());
  GuestAddress prev_end = 0;
  for (const auto& s : specs) {
    if (s.size == 0 || s.size % kPageSize != 0 || s.guest_addr % kPageSize != 0)
      return make_error("guest memory region at " + to_hex(s.guest_addr) + " is empty or not page aligned");
    if (s.guest_addr < prev_end || s.guest_addr + s.size < s.guest_addr)
      return make_error("guest memory regions overlap or wrap at " + to_hex(s.guest_addr));
    void* p = ::mmap(nullptr, s.size, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
      return errno_error("cannot map " + std::to_string(s.size >> 20) + " MiB of guest memory");
    // Guest memory must not end up in a core dump of the VMM.
    (void)::madvise(p, s.size, MADV_DONTDUMP);
    regions.emplace_back(s.guest_addr, s.size, static_cast<uint8_t*>(p));
    prev_end = s.guest_addr + s.size;
  }
  return GuestMemory(std::move(regions));
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

Result<std::span<uint8_t>> GuestMemory::slice(GuestAddress addr, uint64_t len) const {
  for (const auto& r : regions_) {
    if (r.contains(addr, len))
      return std::span<uint8_t>(r.host() + (addr - r.guest_addr()), static_cast<size_t>(len));
  }
  return make_error("guest range " + to_hex(addr) + "+" + to_hex(len) + " is outside guest memory");
}

Result<void> GuestMemory::write(GuestAddress addr, std::span<const uint8_t> data) const {
  auto s = slice(addr, data.size());
  if (!s) return s.error();
  if (!data.empty()) std::memcpy(s->data(), data.data(), data.size());
  return {};
}

Result<void> GuestMemory::read(GuestAddress addr, std::span<uint8_t> out) const {
  auto s = slice(addr, out.size());
  if (!s) return s.error();
  if (!out.empty()) std::memcpy(out.data(), s->data(), out.size());
  return {};
}

Result<void> GuestMemory::fill(GuestAddress addr, uint8_t value, uint64_t len) const {
  auto s = slice(addr, len);
  if (!s) return s.error();
  if (len != 0) std::memset(s->data(), value, len);
  return {};
}

}  // namespace ember
