#include "vmm/x86_64/memory_map.h"

#include <algorithm>

#include "vmm/x86_64/layout.h"

namespace ember {

std::vector<MemoryRegionSpec> ram_regions_for(uint64_t mem_bytes) {
  if (mem_bytes <= layout::kMmioStart) return {{0, mem_bytes}};
  return {{0, layout::kMmioStart}, {layout::kFourGiB, mem_bytes - layout::kMmioStart}};
}

std::vector<E820Entry> e820_map(const GuestMemory& mem) {
  std::vector<E820Entry> map;
  map.push_back({0, layout::kEbdaStart, E820Type::kRam});
  // The ACPI tables: reserved so nothing treats them as free RAM.
  map.push_back({layout::kAcpiStart, layout::kAcpiEnd - layout::kAcpiStart, E820Type::kReserved});
  for (const auto& r : mem.regions()) {
    uint64_t start = std::max<uint64_t>(r.guest_addr(), layout::kHighMemStart);
    uint64_t end = r.guest_addr() + r.size();
    if (end > start) map.push_back({start, end - start, E820Type::kRam});
  }
  return map;
}

}  // namespace ember
