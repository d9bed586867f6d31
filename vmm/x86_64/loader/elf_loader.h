// Loads an ELF64 x86-64 kernel (vmlinux) into guest memory at the physical addresses of its
// PT_LOAD segments, and finds the Xen PVH entry point in its notes.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "memory/guest_memory.h"
#include "base/result.h"

namespace ember {

// One PT_LOAD segment, already validated against the file: file bytes
// [file_offset, file_offset + file_size) go to guest [guest_addr, ...), the rest up to mem_size is zeroed.
struct ElfLoadSegment {
  uint64_t file_offset = 0;
  uint64_t file_size = 0;
  GuestAddress guest_addr = 0;
  uint64_t mem_size = 0;
};

struct ElfKernel {
  // Guest physical entry of the 64-bit Linux boot protocol (vmlinux's startup_64).
  GuestAddress entry = 0;
  // 32-bit entry from the XEN_ELFNOTE_PHYS32_ENTRY note, when the kernel supports PVH boot.
  std::optional<GuestAddress> pvh_entry;
  GuestAddress load_start = 0;  // lowest guest address a segment occupies
  GuestAddress load_end = 0;    // one past the highest
  std::vector<ElfLoadSegment> segments;  // non-empty PT_LOAD segments in file order
};

// True when `image` starts with the ELF magic (it may still be an invalid ELF).
[[nodiscard]] bool has_elf_magic(std::span<const uint8_t> image);

// Validates the ELF header, program headers and notes against the file, without touching guest
// memory. Segments must lie at or above 1 MiB (below is the VMM's boot data and the BIOS area).
[[nodiscard]] Result<ElfKernel> parse_elf_kernel(std::span<const uint8_t> image);

// parse_elf_kernel, then checks every segment fits in `mem` and copies it there, zeroing the
// bss tail. Nothing is written unless every segment fits.
[[nodiscard]] Result<ElfKernel> load_elf_kernel(const GuestMemory& mem, std::span<const uint8_t> image);

}  // namespace ember
