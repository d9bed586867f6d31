// Host-side decompression of a bzImage payload (the compressed vmlinux), so the VMM can load the
// ELF kernel directly instead of running the kernel's own decompressor in the guest.
//
// The Linux build (arch/x86/boot/compressed/Makefile, scripts/Makefile.lib "size_append") writes
// the compressed stream followed by a 4-byte little-endian decompressed size. Every decoder here
// therefore stops at the end of the first stream and ignores whatever follows it.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace ember {

// The payload formats a bzImage may carry (CONFIG_KERNEL_{GZIP,XZ,...}), told apart by magic.
enum class PayloadFormat {
  kUnknown,
  kUncompressed,  // CONFIG_KERNEL_UNCOMPRESSED: the payload is the ELF itself
  kGzip,
  kXz,
  kLzma,  // the legacy "lzma alone" format
  kBzip2,
  kZstd,
  kLz4,  // the LZ4 legacy frame format (lz4 -l)
  kLzo,  // recognised so it can be named, but there is no host decoder for it
};

[[nodiscard]] PayloadFormat detect_payload_format(std::span<const uint8_t> payload);
// "gzip", "xz", ... ; "unknown" for kUnknown.
[[nodiscard]] std::string_view payload_format_name(PayloadFormat format);
// True when decompress_kernel_payload can decode this format.
[[nodiscard]] bool can_decompress_on_host(PayloadFormat format);

// Detects the format by magic and decodes the first stream of `payload`. Output larger than
// `max_output` bytes is an error (memory grows in steps and never past max_output + 1 bytes).
// When `format_name` is not null it receives the detected format's name, even on failure.
[[nodiscard]] Result<std::vector<uint8_t>> decompress_kernel_payload(std::span<const uint8_t> payload,
                                                                     uint64_t max_output,
                                                                     std::string* format_name);

}  // namespace ember
