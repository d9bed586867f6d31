#include "vmm/x86_64/acpi/aml.h"

#include <string>

#include "base/check.h"

namespace ember::aml {
namespace {

// Opcodes and prefixes, ACPI 6.4 20.2.
constexpr uint8_t kZeroOp = 0x00;
constexpr uint8_t kOneOp = 0x01;
constexpr uint8_t kNameOp = 0x08;
constexpr uint8_t kBytePrefix = 0x0a;
constexpr uint8_t kWordPrefix = 0x0b;
constexpr uint8_t kDWordPrefix = 0x0c;
constexpr uint8_t kStringPrefix = 0x0d;
constexpr uint8_t kQWordPrefix = 0x0e;
constexpr uint8_t kScopeOp = 0x10;
constexpr uint8_t kBufferOp = 0x11;
constexpr uint8_t kPackageOp = 0x12;
constexpr uint8_t kMethodOp = 0x14;
constexpr uint8_t kDualNamePrefix = 0x2e;
constexpr uint8_t kMultiNamePrefix = 0x2f;
constexpr uint8_t kExtOpPrefix = 0x5b;
constexpr uint8_t kDeviceOp = 0x82;  // after ExtOpPrefix
constexpr uint8_t kRootChar = 0x5c;
constexpr uint8_t kParentPrefixChar = 0x5e;
constexpr uint8_t kReturnOp = 0xa4;
constexpr uint8_t kOnesOp = 0xff;
constexpr uint8_t kNullName = 0x00;

// PkgLength limits per encoded size (20.2.4): the lead byte alone holds 6 bits; with trailing
// bytes it holds 4 bits and each trailing byte 8 more.
constexpr uint32_t kPkgLength1Max = 0x3f;
constexpr uint32_t kPkgLength2Max = 0xfff;
constexpr uint32_t kPkgLength3Max = 0xfffff;
constexpr uint32_t kPkgLength4Max = 0xfffffff;

// Small (6.4.2) and large (6.4.3) resource item tags.
constexpr uint8_t kIrqNoFlagsTag = 0x22;        // small item 0x04, length 2
constexpr uint8_t kIoPortTag = 0x47;            // small item 0x08, length 7
constexpr uint8_t kEndTag = 0x79;               // small item 0x0f, length 1
constexpr uint8_t kMemory32FixedTag = 0x86;     // large item 0x06
constexpr uint8_t kExtendedInterruptTag = 0x89;  // large item 0x09

void append(Bytes& out, const Bytes& more) { out.insert(out.end(), more.begin(), more.end()); }

void append_le(Bytes& out, uint64_t value, int byte_count) {
  for (int i = 0; i < byte_count; ++i) out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

bool is_lead_name_char(char c) { return (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_name_char(char c) { return is_lead_name_char(c) || (c >= '0' && c <= '9'); }

// Opcode(s) PkgLength <content>: the shape shared by Scope, Device, Method, Buffer and Package.
Bytes with_pkg_length(std::initializer_list<uint8_t> opcode, const Bytes& content) {
  Bytes out(opcode);
  append(out, pkg_length(content.size()));
  append(out, content);
  return out;
}

Bytes concat(const std::vector<Bytes>& parts) {
  Bytes out;
  for (const auto& p : parts) append(out, p);
  return out;
}

}  // namespace

Bytes pkg_length_value(uint32_t value) {
  CHECK_MSG(value <= kPkgLength4Max, "AML PkgLength above 2^28 - 1");
  if (value <= kPkgLength1Max) return {static_cast<uint8_t>(value)};
  int trailing = value <= kPkgLength2Max ? 1 : value <= kPkgLength3Max ? 2 : 3;
  Bytes out;
  // Bits 7-6 of the lead byte count the trailing bytes; bits 3-0 hold the low nibble.
  out.push_back(static_cast<uint8_t>((trailing << 6) | (value & 0x0f)));
  append_le(out, value >> 4, trailing);
  return out;
}

Bytes pkg_length(size_t content_len) {
  CHECK_MSG(content_len <= kPkgLength4Max, "AML package content too large");
  // The encoded value counts the PkgLength bytes too, so pick the smallest size that still fits.
  for (uint32_t own = 1; own <= 4; ++own) {
    uint64_t total = content_len + own;
    uint32_t limit = own == 1 ? kPkgLength1Max
                     : own == 2 ? kPkgLength2Max
                     : own == 3 ? kPkgLength3Max
                                : kPkgLength4Max;
    if (total <= limit) return pkg_length_value(static_cast<uint32_t>(total));
  }
  CHECK_MSG(false, "AML package content too large");
  return {};
}

Bytes name_seg(std::string_view seg) {
  CHECK_MSG(!seg.empty() && seg.size() <= 4, "AML NameSeg must have 1 to 4 characters");
  CHECK_MSG(is_lead_name_char(seg[0]), "AML NameSeg must start with A-Z or _");
  Bytes out;
  for (char c : seg) {
    CHECK_MSG(is_name_char(c), "AML NameSeg characters are A-Z, 0-9 and _");
    out.push_back(static_cast<uint8_t>(c));
  }
  out.resize(4, '_');
  return out;
}

Bytes name_string(std::string_view path) {
  Bytes out;
  if (!path.empty() && path[0] == '\\') {
    out.push_back(kRootChar);
    path.remove_prefix(1);
  } else {
    while (!path.empty() && path[0] == '^') {
      out.push_back(kParentPrefixChar);
      path.remove_prefix(1);
    }
  }
  if (path.empty()) {
    out.push_back(kNullName);
    return out;
  }
  std::vector<std::string_view> segs;
  for (size_t start = 0;;) {
    size_t dot = path.find('.', start);
    segs.push_back(path.substr(start, dot - start));
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  CHECK_MSG(segs.size() <= 255, "AML NamePath has more than 255 segments");
  if (segs.size() == 2) {
    out.push_back(kDualNamePrefix);
  } else if (segs.size() > 2) {
    out.push_back(kMultiNamePrefix);
    out.push_back(static_cast<uint8_t>(segs.size()));
  }
  for (auto s : segs) append(out, name_seg(s));
  return out;
}

Bytes integer(uint64_t value) {
  if (value == 0) return {kZeroOp};
  if (value == 1) return {kOneOp};
  // OnesOp is all ones at the table's integer width; DSDT revision 2 makes that 64 bits.
  if (value == ~uint64_t{0}) return {kOnesOp};
  Bytes out;
  if (value <= 0xff) {
    out.push_back(kBytePrefix);
    append_le(out, value, 1);
  } else if (value <= 0xffff) {
    out.push_back(kWordPrefix);
    append_le(out, value, 2);
  } else if (value <= 0xffffffff) {
    out.push_back(kDWordPrefix);
    append_le(out, value, 4);
  } else {
    out.push_back(kQWordPrefix);
    append_le(out, value, 8);
  }
  return out;
}

Bytes string(std::string_view text) {
  Bytes out{kStringPrefix};
  for (char c : text) {
    auto b = static_cast<uint8_t>(c);
    CHECK_MSG(b >= 0x01 && b <= 0x7f, "AML String characters must be ASCII 0x01-0x7f");
    out.push_back(b);
  }
  out.push_back(0x00);
  return out;
}

Bytes buffer(std::span<const uint8_t> data) {
  Bytes content = integer(data.size());
  content.insert(content.end(), data.begin(), data.end());
  return with_pkg_length({kBufferOp}, content);
}

Bytes package(const std::vector<Bytes>& elements) {
  // Fixed packages count their elements in one byte; larger ones would need VarPackageOp.
  CHECK_MSG(elements.size() <= 255, "AML Package has more than 255 elements");
  Bytes content{static_cast<uint8_t>(elements.size())};
  append(content, concat(elements));
  return with_pkg_length({kPackageOp}, content);
}

uint32_t eisa_id_value(std::string_view id) {
  CHECK_MSG(id.size() == 7, "EISA id must look like PNP0501");
  uint32_t vendor = 0;
  for (int i = 0; i < 3; ++i) {
    CHECK_MSG(id[i] >= 'A' && id[i] <= 'Z', "EISA id vendor letters must be A-Z");
    vendor = (vendor << 5) | static_cast<uint32_t>(id[i] - 'A' + 1);  // 'A' -> 1
  }
  uint32_t product = 0;
  for (int i = 3; i < 7; ++i) {
    char c = id[i];
    uint32_t digit = 0;
    if (c >= '0' && c <= '9') {
      digit = static_cast<uint32_t>(c - '0');
    } else {
      CHECK_MSG(c >= 'A' && c <= 'F', "EISA id product number must be upper-case hex");
      digit = static_cast<uint32_t>(c - 'A' + 10);
    }
    product = (product << 4) | digit;
  }
  // The 32-bit id is stored most significant byte first (vendor bits 14-8, vendor bits 7-0,
  // product high byte, product low byte); as a little-endian integer that is a byte swap.
  uint32_t big_endian = (vendor << 16) | product;
  return __builtin_bswap32(big_endian);
}

Bytes eisa_id(std::string_view id) { return integer(eisa_id_value(id)); }

Bytes name(std::string_view path, const Bytes& value) {
  Bytes out{kNameOp};
  append(out, name_string(path));
  append(out, value);
  return out;
}

Bytes scope(std::string_view path, const std::vector<Bytes>& terms) {
  Bytes content = name_string(path);
  append(content, concat(terms));
  return with_pkg_length({kScopeOp}, content);
}

Bytes device(std::string_view path, const std::vector<Bytes>& terms) {
  Bytes content = name_string(path);
  append(content, concat(terms));
  return with_pkg_length({kExtOpPrefix, kDeviceOp}, content);
}

Bytes method(std::string_view path, uint8_t arg_count, bool serialized, const std::vector<Bytes>& body) {
  CHECK_MSG(arg_count <= 7, "AML Method takes at most 7 arguments");
  Bytes content = name_string(path);
  // MethodFlags: bits 2-0 ArgCount, bit 3 SerializeFlag, bits 7-4 SyncLevel (0 here).
  content.push_back(static_cast<uint8_t>(arg_count | (serialized ? 0x08 : 0x00)));
  append(content, concat(body));
  return with_pkg_length({kMethodOp}, content);
}

Bytes return_value(const Bytes& value) {
  Bytes out{kReturnOp};
  append(out, value);
  return out;
}

Bytes io_port(uint16_t min_base, uint16_t max_base, uint8_t alignment, uint8_t length) {
  CHECK_MSG(min_base <= max_base, "IO descriptor minimum base above maximum base");
  Bytes out{kIoPortTag, 0x01};  // information bit 0: the device decodes 16 address lines
  append_le(out, min_base, 2);
  append_le(out, max_base, 2);
  out.push_back(alignment);
  out.push_back(length);
  return out;
}

Bytes irq_no_flags(uint8_t irq) {
  CHECK_MSG(irq < 16, "IRQ descriptor covers ISA IRQs 0-15 only");
  Bytes out{kIrqNoFlagsTag};
  append_le(out, uint32_t{1} << irq, 2);  // bit mask of the IRQs the device uses
  return out;
}

Bytes memory32_fixed(bool read_write, uint32_t base, uint32_t length) {
  Bytes out{kMemory32FixedTag};
  append_le(out, 9, 2);  // bytes after the 3-byte large item header
  out.push_back(read_write ? 0x01 : 0x00);  // information bit 0: writeable
  append_le(out, base, 4);
  append_le(out, length, 4);
  return out;
}

Bytes extended_interrupt(const ExtendedInterrupt& irq) {
  CHECK_MSG(!irq.gsis.empty() && irq.gsis.size() <= 255, "Extended Interrupt lists 1 to 255 interrupts");
  Bytes out{kExtendedInterruptTag};
  append_le(out, 2 + 4 * irq.gsis.size(), 2);  // flags byte, table length byte, the dwords
  uint8_t flags = 0;
  if (irq.consumer) flags |= 0x01;
  if (irq.edge) flags |= 0x02;
  if (irq.active_low) flags |= 0x04;
  if (irq.shared) flags |= 0x08;
  if (irq.wake_capable) flags |= 0x10;
  out.push_back(flags);
  out.push_back(static_cast<uint8_t>(irq.gsis.size()));
  for (uint32_t gsi : irq.gsis) append_le(out, gsi, 4);
  return out;
}

Bytes resource_template(const std::vector<Bytes>& descriptors) {
  Bytes data = concat(descriptors);
  data.push_back(kEndTag);
  data.push_back(0x00);  // checksum 0: the consumer skips the check
  return buffer(data);
}

}  // namespace ember::aml
