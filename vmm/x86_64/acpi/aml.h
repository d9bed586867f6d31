// A small AML (ACPI Machine Language) encoder: just enough to describe ember's devices in a DSDT.
//
// Every function returns the encoded bytes of one AML term; callers nest them by passing bytes to
// the enclosing term. Grammar references are to ACPI 6.4 chapter 20 ("ACPI Machine Language
// Specification"), resource descriptors to section 6.4 ("Resource Data Types for ACPI").
//
// Names and other arguments come from ember's own code, never from a guest or a user, so a
// malformed one is a programming error and aborts through CHECK.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace ember::aml {

using Bytes = std::vector<uint8_t>;

// --- Encoding primitives ---------------------------------------------------------------------

// The PkgLength encoding (20.2.4) of `value`, which must already count the PkgLength bytes
// themselves. 1 byte up to 63, 2 up to 4095, 3 up to 1048575, 4 up to 2^28 - 1.
[[nodiscard]] Bytes pkg_length_value(uint32_t value);
// The PkgLength that precedes `content_len` bytes of content: it counts itself plus the content.
[[nodiscard]] Bytes pkg_length(size_t content_len);

// One NameSeg (20.2.2): up to 4 characters, padded with '_' ("_SB" -> "_SB_").
[[nodiscard]] Bytes name_seg(std::string_view seg);
// A NameString (20.2.2): optional leading '\' (root) or '^'s (parent), then dot-separated
// segments, encoded as a single NameSeg, DualNamePath or MultiNamePath. "\" alone is the root.
[[nodiscard]] Bytes name_string(std::string_view path);

// --- Data objects (20.2.3) -------------------------------------------------------------------

// An Integer in its smallest form: ZeroOp, OneOp, OnesOp, or Byte/Word/DWord/QWord prefix.
[[nodiscard]] Bytes integer(uint64_t value);
// A String: StringPrefix, ASCII characters 0x01-0x7f, NullChar.
[[nodiscard]] Bytes string(std::string_view text);
// DefBuffer (20.2.5.4): BufferOp PkgLength BufferSize ByteList.
[[nodiscard]] Bytes buffer(std::span<const uint8_t> data);
// DefPackage (20.2.5.4): PackageOp PkgLength NumElements PackageElementList (at most 255).
[[nodiscard]] Bytes package(const std::vector<Bytes>& elements);
// The compressed EISA id (e.g. "PNP0501" -> 0x0105D041) as a 32-bit value, and as an Integer.
// Three upper-case letters are packed 5 bits each, then four hex digits (ACPI 6.4 6.1.5 _HID).
[[nodiscard]] uint32_t eisa_id_value(std::string_view id);
[[nodiscard]] Bytes eisa_id(std::string_view id);

// --- Named objects and namespace modifiers (20.2.5) ------------------------------------------

// DefName: NameOp NameString DataRefObject.
[[nodiscard]] Bytes name(std::string_view path, const Bytes& value);
// DefScope: ScopeOp PkgLength NameString TermList.
[[nodiscard]] Bytes scope(std::string_view path, const std::vector<Bytes>& terms);
// DefDevice: ExtOpPrefix DeviceOp PkgLength NameString TermList.
[[nodiscard]] Bytes device(std::string_view path, const std::vector<Bytes>& terms);
// DefMethod: MethodOp PkgLength NameString MethodFlags TermList (sync level 0).
[[nodiscard]] Bytes method(std::string_view path, uint8_t arg_count, bool serialized,
                           const std::vector<Bytes>& body);
// DefReturn: ReturnOp ArgObject.
[[nodiscard]] Bytes return_value(const Bytes& value);

// --- Resource descriptors (6.4), to be wrapped by resource_template() ------------------------

// I/O Port Descriptor (6.4.2.5), 16-bit decode: ports [min, max] start addresses, `length` ports.
[[nodiscard]] Bytes io_port(uint16_t min_base, uint16_t max_base, uint8_t alignment, uint8_t length);
// IRQ Descriptor without the information byte (6.4.2.1): ISA IRQ 0-15, edge, active high.
[[nodiscard]] Bytes irq_no_flags(uint8_t irq);
// 32-Bit Fixed Memory Range Descriptor (6.4.3.4).
[[nodiscard]] Bytes memory32_fixed(bool read_write, uint32_t base, uint32_t length);

struct ExtendedInterrupt {
  bool consumer = true;     // the device consumes the interrupt (it does not produce it)
  bool edge = true;         // edge-triggered; false: level-triggered
  bool active_low = false;  // false: active high
  bool shared = false;      // false: exclusive
  bool wake_capable = false;
  std::vector<uint32_t> gsis;  // 1 to 255 global system interrupts
};
// Extended Interrupt Descriptor (6.4.3.6), without a resource source.
[[nodiscard]] Bytes extended_interrupt(const ExtendedInterrupt& irq);

// A ResourceTemplate: a Buffer holding the descriptors followed by the End Tag (6.4.2.9) with
// checksum 0 ("treated as if the checksum operation succeeded").
[[nodiscard]] Bytes resource_template(const std::vector<Bytes>& descriptors);

}  // namespace ember::aml
