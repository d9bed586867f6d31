// Where guest RAM goes for a given size, and the e820-style map handed to the guest.
#pragma once

#include <cstdint>
#include <vector>

#include "memory/guest_memory.h"

namespace ember {

// RAM below the 32-bit MMIO hole, and the rest above 4 GiB.
[[nodiscard]] std::vector<MemoryRegionSpec> ram_regions_for(uint64_t mem_bytes);

enum class E820Type : uint32_t { kRam = 1, kReserved = 2 };
struct E820Entry {
  uint64_t addr;
  uint64_t size;
  E820Type type;
};

// RAM as the guest must see it: conventional memory below the EBDA, the ACPI tables' area
// reserved, then RAM from 1 MiB.
[[nodiscard]] std::vector<E820Entry> e820_map(const GuestMemory& mem);

}  // namespace ember
