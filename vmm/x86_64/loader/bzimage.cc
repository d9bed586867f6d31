#include "vmm/x86_64/loader/bzimage.h"

#include <asm/bootparam.h>

#include <cstddef>
#include <cstring>
#include <string>

#include "base/hex.h"

namespace ember {
namespace {


// File offsets of setup header fields: the header sits at the same offset in the bzImage as in
// boot_params ("the zero page"), so <asm/bootparam.h> gives both.
#define EMBER_HDR_OFFSET(field) (offsetof(struct boot_params, hdr) + offsetof(struct setup_header, field))
constexpr size_t kSetupHeaderStart = offsetof(struct boot_params, hdr);
constexpr size_t kSetupSectsOffset = EMBER_HDR_OFFSET(setup_sects);
constexpr size_t kSyssizeOffset = EMBER_HDR_OFFSET(syssize);
constexpr size_t kBootFlagOffset = EMBER_HDR_OFFSET(boot_flag);
constexpr size_t kJumpOffset = EMBER_HDR_OFFSET(jump);
constexpr size_t kHeaderMagicOffset = EMBER_HDR_OFFSET(header);
constexpr size_t kVersionOffset = EMBER_HDR_OFFSET(version);
constexpr size_t kLoadflagsOffset = EMBER_HDR_OFFSET(loadflags);
constexpr size_t kInitrdAddrMaxOffset = EMBER_HDR_OFFSET(initrd_addr_max);
constexpr size_t kKernelAlignmentOffset = EMBER_HDR_OFFSET(kernel_alignment);
constexpr size_t kRelocatableOffset = EMBER_HDR_OFFSET(relocatable_kernel);
constexpr size_t kXloadflagsOffset = EMBER_HDR_OFFSET(xloadflags);
constexpr size_t kCmdlineSizeOffset = EMBER_HDR_OFFSET(cmdline_size);
constexpr size_t kPayloadOffsetOffset = EMBER_HDR_OFFSET(payload_offset);
constexpr size_t kPayloadLengthOffset = EMBER_HDR_OFFSET(payload_length);
constexpr size_t kPrefAddressOffset = EMBER_HDR_OFFSET(pref_address);
constexpr size_t kInitSizeOffset = EMBER_HDR_OFFSET(init_size);
#undef EMBER_HDR_OFFSET
// The offsets boot.rst documents, so a surprising header file cannot silently move them.
static_assert(kSetupHeaderStart == 0x1f1 && kBootFlagOffset == 0x1fe && kJumpOffset == 0x200);
static_assert(kHeaderMagicOffset == 0x202 && kVersionOffset == 0x206 && kLoadflagsOffset == 0x211);
static_assert(kPayloadOffsetOffset == 0x248 && kPrefAddressOffset == 0x258 && kInitSizeOffset == 0x260);
// Everything the parser reads lies before this offset; a shorter file is truncated.
constexpr size_t kHeaderBytesNeeded = kInitSizeOffset + sizeof(uint32_t);
// The setup header may grow up to the next boot_params field (edd_mbr_sig_buffer at 0x290).
constexpr size_t kSetupHeaderLimit = offsetof(struct boot_params, edd_mbr_sig_buffer);

constexpr uint16_t kBootFlag = 0xaa55;
constexpr uint32_t kHeaderMagic = 0x53726448;  // "HdrS"
constexpr uint16_t kMinVersion = 0x0208;       // payload_offset/payload_length appear in 2.08
constexpr uint16_t kXloadflagsVersion = 0x020c;
constexpr uint64_t kSectorSize = 512;
constexpr uint8_t kDefaultSetupSects = 4;  // boot.rst: "if this field is 0, the real value is 4"

template <class T>
T read_le(std::span<const uint8_t> image, size_t offset) {
  T value;
  std::memcpy(&value, image.data() + offset, sizeof(T));  // x86 hosts are little-endian, like the header
  return value;
}

std::string version_text(uint16_t v) { return std::to_string(v >> 8) + "." + std::to_string(v & 0xff); }

}  // namespace

bool has_bzimage_signature(std::span<const uint8_t> image) {
  return image.size() >= kHeaderMagicOffset + sizeof(uint32_t) && read_le<uint16_t>(image, kBootFlagOffset) == kBootFlag &&
         read_le<uint32_t>(image, kHeaderMagicOffset) == kHeaderMagic;
}

Result<BzImage> parse_bzimage(std::span<const uint8_t> image) {
  if (image.size() < kHeaderBytesNeeded)
    return make_error("bzImage setup header truncated: the file has " + std::to_string(image.size()) +
                      " bytes, the header needs " + std::to_string(kHeaderBytesNeeded));
  if (read_le<uint16_t>(image, kBootFlagOffset) != kBootFlag)
    return make_error("not a bzImage: no 0xAA55 boot flag at 0x1fe");
  if (read_le<uint32_t>(image, kHeaderMagicOffset) != kHeaderMagic)
    return make_error("not a bzImage: no \"HdrS\" signature at 0x202");

  BzImage bz;
  bz.protocol_version = read_le<uint16_t>(image, kVersionOffset);
  if (bz.protocol_version < kMinVersion)
    return make_error("bzImage boot protocol " + version_text(bz.protocol_version) + " is too old (2.08 or later needed)");
  bz.loadflags = image[kLoadflagsOffset];
  if ((bz.loadflags & LOADED_HIGH) == 0)
    return make_error("bzImage is not loaded high (LOADED_HIGH clear): a zImage cannot be booted");
  // xloadflags exists from 2.12; before that the bytes are padding and no 64-bit entry is promised.
  bz.xloadflags = bz.protocol_version >= kXloadflagsVersion ? read_le<uint16_t>(image, kXloadflagsOffset) : 0;
  if ((bz.xloadflags & XLF_KERNEL_64) == 0)
    return make_error("bzImage has no 64-bit entry point (XLF_KERNEL_64 clear, boot protocol " +
                      version_text(bz.protocol_version) + ")");

  // The header ends where the jump at 0x200 lands: 0x202 + its 8-bit displacement.
  size_t header_end = kHeaderMagicOffset + image[kJumpOffset + 1];
  if (header_end > kSetupHeaderLimit)
    return make_error("bzImage setup header ends at " + to_hex(header_end) + ", past boot_params' limit " +
                      to_hex(kSetupHeaderLimit));
  bz.setup_header.assign(image.begin() + kSetupHeaderStart, image.begin() + header_end);

  bz.setup_sects = image[kSetupSectsOffset] == 0 ? kDefaultSetupSects : image[kSetupSectsOffset];
  bz.kernel_offset = (uint64_t{bz.setup_sects} + 1) * kSectorSize;
  if (bz.kernel_offset >= image.size())
    return make_error("bzImage truncated: " + std::to_string(bz.setup_sects) + " setup sectors need " +
                      std::to_string(bz.kernel_offset) + " bytes before the kernel, the file has " +
                      std::to_string(image.size()));
  bz.kernel_size = image.size() - bz.kernel_offset;
  // syssize counts the protected-mode kernel in 16-byte paragraphs, rounded up (and a signed
  // kernel carries its signature beyond it).
  uint64_t syssize_bytes = uint64_t{read_le<uint32_t>(image, kSyssizeOffset)} * 16;
  if (syssize_bytes > bz.kernel_size + 15)
    return make_error("bzImage truncated: the header declares a " + std::to_string(syssize_bytes) +
                      "-byte protected-mode kernel, the file holds " + std::to_string(bz.kernel_size));

  uint64_t payload_rel = read_le<uint32_t>(image, kPayloadOffsetOffset);
  bz.payload_size = read_le<uint32_t>(image, kPayloadLengthOffset);
  if (bz.payload_size == 0) return make_error("bzImage has an empty payload (payload_length 0)");
  if (payload_rel > bz.kernel_size || bz.payload_size > bz.kernel_size - payload_rel)
    return make_error("bzImage truncated: payload at " + to_hex(payload_rel) + " + " + to_hex(bz.payload_size) +
                      " runs past the " + to_hex(bz.kernel_size) + "-byte protected-mode kernel");
  bz.payload_offset = bz.kernel_offset + payload_rel;

  bz.relocatable = image[kRelocatableOffset] != 0;
  bz.kernel_alignment = read_le<uint32_t>(image, kKernelAlignmentOffset);
  bz.init_size = read_le<uint32_t>(image, kInitSizeOffset);
  bz.pref_address = read_le<uint64_t>(image, kPrefAddressOffset);
  bz.cmdline_size = read_le<uint32_t>(image, kCmdlineSizeOffset);
  bz.initrd_addr_max = read_le<uint32_t>(image, kInitrdAddrMaxOffset);
  return bz;
}

std::span<const uint8_t> bzimage_protected_mode_kernel(std::span<const uint8_t> image, const BzImage& info) {
  return image.subspan(info.kernel_offset, info.kernel_size);
}

std::span<const uint8_t> bzimage_payload(std::span<const uint8_t> image, const BzImage& info) {
  return image.subspan(info.payload_offset, info.payload_size);
}

}  // namespace ember
