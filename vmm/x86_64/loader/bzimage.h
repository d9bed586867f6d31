// Parses a bzImage per the Linux x86 boot protocol (Documentation/arch/x86/boot.rst, "The Real-Mode
// Kernel Header"). Only what a 64-bit boot needs is accepted: protocol 2.08 or later (for the
// payload fields), LOADED_HIGH and XLF_KERNEL_64.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/result.h"

namespace ember {

// Offsets are into the bzImage file; all of them have been checked against its size.
struct BzImage {
  uint16_t protocol_version = 0;  // 0x020f is 2.15
  uint8_t setup_sects = 0;        // after the "0 means 4" rule
  uint64_t kernel_offset = 0;     // the protected-mode kernel: (setup_sects + 1) * 512 ..
  uint64_t kernel_size = 0;       // .. to the end of the file
  uint64_t payload_offset = 0;    // the compressed vmlinux, inside the protected-mode kernel
  uint64_t payload_size = 0;
  uint8_t loadflags = 0;
  uint16_t xloadflags = 0;
  bool relocatable = false;
  uint32_t kernel_alignment = 0;
  uint32_t init_size = 0;         // linear memory the kernel needs from its load address (2.10+)
  uint64_t pref_address = 0;      // preferred load address of a relocatable kernel (2.10+)
  uint32_t cmdline_size = 0;      // longest command line, without the NUL (2.06+)
  uint32_t initrd_addr_max = 0;
  // The setup header, bytes 0x1F1 .. 0x202 + (byte at 0x201): what the boot loader copies to
  // boot_params at the same offset (struct setup_header in <asm/bootparam.h>).
  std::vector<uint8_t> setup_header;
};

// True when the file carries the 0xAA55 boot flag at 0x1FE and "HdrS" at 0x202.
[[nodiscard]] bool has_bzimage_signature(std::span<const uint8_t> image);

[[nodiscard]] Result<BzImage> parse_bzimage(std::span<const uint8_t> image);

// Views into the image that `info` was parsed from.
[[nodiscard]] std::span<const uint8_t> bzimage_protected_mode_kernel(std::span<const uint8_t> image, const BzImage& info);
[[nodiscard]] std::span<const uint8_t> bzimage_payload(std::span<const uint8_t> image, const BzImage& info);

}  // namespace ember
