// The structures a kernel reads at entry: Linux boot_params (the "zero page") and the Xen PVH
// hvm_start_info, both built from the same description of the boot.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "memory/guest_memory.h"
#include "base/result.h"
#include "vmm/x86_64/memory_map.h"

namespace ember {

struct InitrdPlacement {
  uint64_t addr;
  uint64_t size;
};

struct BootInfo {
  std::vector<E820Entry> memory_map;
  uint64_t cmdline_addr;
  uint64_t cmdline_size;          // bytes including the terminating NUL
  std::optional<InitrdPlacement> initrd;
  uint64_t rsdp_addr;
  // bzImage's setup header (from offset 0x1f1); empty for an ELF kernel.
  std::span<const uint8_t> setup_header;
};

// Linux boot protocol (Documentation/arch/x86/boot.rst): writes boot_params at
// layout::kZeroPageAddr and returns its address.
[[nodiscard]] Result<uint64_t> write_zero_page(const GuestMemory& mem, const BootInfo& info);

// Xen PVH boot ABI (xen/include/public/arch-x86/hvm/start_info.h, version 1 with memory map):
// writes hvm_start_info and its tables at layout::kPvhStartInfoAddr and returns its address.
[[nodiscard]] Result<uint64_t> write_pvh_start_info(const GuestMemory& mem, const BootInfo& info);

// Copies the command line (NUL-terminated) to layout::kCmdlineAddr; `max_size` includes the
// NUL and comes from the kernel's setup header when it has one.
[[nodiscard]] Result<uint64_t> write_cmdline(const GuestMemory& mem, const std::string& cmdline,
                                             uint64_t max_size);

// Chooses where the initrd goes: as high as possible in the RAM below 4 GiB, page aligned,
// below `addr_max` (the kernel's initrd_addr_max) and above `kernel_end`.
[[nodiscard]] Result<uint64_t> place_initrd(const GuestMemory& mem, uint64_t size,
                                            uint64_t kernel_end, uint64_t addr_max);

}  // namespace ember
