// The VMM's entry point for putting a guest kernel into memory: an ELF vmlinux (booted through
// PVH when it has the Xen PVH note, else the 64-bit Linux boot protocol) or a bzImage.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "config/vm_config.h"
#include "memory/guest_memory.h"

namespace ember {

enum class BootProtocol { kLinux64, kPvh };

struct LoadedKernel {
  BootProtocol protocol = BootProtocol::kLinux64;
  // Guest physical address to start at (the 64-bit entry, or the 32-bit PVH entry).
  GuestAddress entry = 0;
  // First guest address past everything the kernel may use early on; the initrd goes above it.
  GuestAddress image_end = 0;
  // bzImage only: the bytes to copy to boot_params at 0x1F1; empty for an ELF.
  std::vector<uint8_t> setup_header;
  // One line for the log, e.g. "bzImage (boot protocol 2.15), xz payload decompressed on the
  // host, 64-bit entry 0x1000000".
  std::string description;
};

// Largest vmlinux a host-decompressed payload may expand to.
inline constexpr uint64_t kMaxDecompressedKernelSize = 512ULL << 20;

[[nodiscard]] Result<LoadedKernel> load_kernel(const GuestMemory& mem, std::span<const uint8_t> image,
                                               BzImageMode mode);

}  // namespace ember
