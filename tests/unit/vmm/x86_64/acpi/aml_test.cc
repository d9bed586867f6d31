// Byte-exact checks of the AML encoder against ACPI 6.4 chapter 20 and section 6.4.
#include "vmm/x86_64/acpi/aml.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace ember::aml {
namespace {

using B = std::vector<uint8_t>;

TEST(AmlPkgLength, OneByteUpTo63) {
  EXPECT_EQ(pkg_length_value(0), (B{0x00}));
  EXPECT_EQ(pkg_length_value(63), (B{0x3f}));
}

TEST(AmlPkgLength, TwoBytesFrom64To4095) {
  // Lead byte: bits 7-6 = 1 trailing byte, bits 3-0 = low nibble; then value >> 4.
  EXPECT_EQ(pkg_length_value(64), (B{0x40, 0x04}));
  EXPECT_EQ(pkg_length_value(4095), (B{0x4f, 0xff}));
}

TEST(AmlPkgLength, ThreeBytesFrom4096To1048575) {
  EXPECT_EQ(pkg_length_value(4096), (B{0x80, 0x00, 0x01}));
  EXPECT_EQ(pkg_length_value(1048575), (B{0x8f, 0xff, 0xff}));
}

TEST(AmlPkgLength, FourBytesFrom1048576) {
  EXPECT_EQ(pkg_length_value(1048576), (B{0xc0, 0x00, 0x00, 0x01}));
  EXPECT_EQ(pkg_length_value(0x0fffffff), (B{0xcf, 0xff, 0xff, 0xff}));
}

TEST(AmlPkgLength, ForContentCountsItself) {
  EXPECT_EQ(pkg_length(0), (B{0x01}));
  EXPECT_EQ(pkg_length(62), (B{0x3f}));              // 62 + 1 = 63
  EXPECT_EQ(pkg_length(63), (B{0x41, 0x04}));        // 63 + 2 = 65
  EXPECT_EQ(pkg_length(4093), (B{0x4f, 0xff}));      // 4093 + 2 = 4095
  EXPECT_EQ(pkg_length(4094), (B{0x81, 0x00, 0x01}));  // 4094 + 3 = 4097
  EXPECT_EQ(pkg_length(1048572), (B{0x8f, 0xff, 0xff}));         // + 3 = 1048575
  EXPECT_EQ(pkg_length(1048573), (B{0xc1, 0x00, 0x00, 0x01}));  // + 4 = 1048577
}

TEST(AmlPkgLengthDeathTest, RejectsValuesAbove28Bits) {
  EXPECT_DEATH((void)pkg_length_value(0x10000000), "PkgLength");
}

TEST(AmlNames, SegmentsArePaddedWithUnderscores) {
  EXPECT_EQ(name_seg("_SB"), (B{'_', 'S', 'B', '_'}));
  EXPECT_EQ(name_seg("COM1"), (B{'C', 'O', 'M', '1'}));
  EXPECT_EQ(name_seg("A"), (B{'A', '_', '_', '_'}));
}

TEST(AmlNames, RootDualAndMultiPaths) {
  EXPECT_EQ(name_string("_HID"), (B{'_', 'H', 'I', 'D'}));
  EXPECT_EQ(name_string("\\_SB_"), (B{0x5c, '_', 'S', 'B', '_'}));
  EXPECT_EQ(name_string("\\"), (B{0x5c, 0x00}));
  EXPECT_EQ(name_string("\\_SB.COM1"), (B{0x5c, 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1'}));
  EXPECT_EQ(name_string("_SB.PCI0.LPC"),
            (B{0x2f, 0x03, '_', 'S', 'B', '_', 'P', 'C', 'I', '0', 'L', 'P', 'C', '_'}));
  EXPECT_EQ(name_string("^^FOO"), (B{0x5e, 0x5e, 'F', 'O', 'O', '_'}));
}

TEST(AmlNamesDeathTest, RejectsMalformedSegments) {
  EXPECT_DEATH((void)name_seg("TOOLONG"), "NameSeg");
  EXPECT_DEATH((void)name_seg("1ABC"), "NameSeg");
  EXPECT_DEATH((void)name_string("\\_SB_..X"), "NameSeg");
}

TEST(AmlIntegers, PickTheSmallestEncoding) {
  EXPECT_EQ(integer(0), (B{0x00}));  // ZeroOp
  EXPECT_EQ(integer(1), (B{0x01}));  // OneOp
  EXPECT_EQ(integer(~uint64_t{0}), (B{0xff}));  // OnesOp
  EXPECT_EQ(integer(2), (B{0x0a, 0x02}));
  EXPECT_EQ(integer(0xff), (B{0x0a, 0xff}));
  EXPECT_EQ(integer(0x100), (B{0x0b, 0x00, 0x01}));
  EXPECT_EQ(integer(0xffff), (B{0x0b, 0xff, 0xff}));
  EXPECT_EQ(integer(0x10000), (B{0x0c, 0x00, 0x00, 0x01, 0x00}));
  EXPECT_EQ(integer(0xffffffff), (B{0x0c, 0xff, 0xff, 0xff, 0xff}));
  EXPECT_EQ(integer(0x100000000), (B{0x0e, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00}));
  EXPECT_EQ(integer(0xfffffffffffffffe),
            (B{0x0e, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}));
}

TEST(AmlData, StringIsNulTerminated) {
  EXPECT_EQ(string("AB"), (B{0x0d, 'A', 'B', 0x00}));
  EXPECT_EQ(string(""), (B{0x0d, 0x00}));
}

TEST(AmlData, BufferCarriesItsSize) {
  // BufferOp, PkgLength 6 (itself + BytePrefix 3 + 3 bytes), BufferSize, bytes.
  EXPECT_EQ(buffer(B{1, 2, 3}), (B{0x11, 0x06, 0x0a, 0x03, 1, 2, 3}));
  EXPECT_EQ(buffer(B{}), (B{0x11, 0x02, 0x00}));
}

TEST(AmlData, PackageCountsElements) {
  EXPECT_EQ(package({integer(5), integer(0), string("A")}),
            (B{0x12, 0x08, 0x03, 0x0a, 0x05, 0x00, 0x0d, 'A', 0x00}));
}

TEST(AmlEisaId, CompressesVendorAndProduct) {
  EXPECT_EQ(eisa_id_value("PNP0501"), 0x0105D041u);
  EXPECT_EQ(eisa_id_value("PNP0303"), 0x0303D041u);
  EXPECT_EQ(eisa_id_value("PNP0A03"), 0x030AD041u);
  EXPECT_EQ(eisa_id("PNP0501"), (B{0x0c, 0x41, 0xd0, 0x05, 0x01}));
}

TEST(AmlNamed, NameHidString) {
  EXPECT_EQ(name("_HID", string("LNRO0005")),
            (B{0x08, '_', 'H', 'I', 'D', 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00}));
}

TEST(AmlNamed, DeviceAndScope) {
  EXPECT_EQ(device("DEV0", {name("_UID", integer(0))}),
            (B{0x5b, 0x82, 0x0b, 'D', 'E', 'V', '0', 0x08, '_', 'U', 'I', 'D', 0x00}));
  EXPECT_EQ(scope("\\_SB_", {}), (B{0x10, 0x06, 0x5c, '_', 'S', 'B', '_'}));
}

TEST(AmlNamed, LargeScopeUsesMultiBytePkgLength) {
  std::vector<Bytes> devices;
  for (int i = 0; i < 10; ++i) devices.push_back(device("D00" + std::to_string(i), {}));
  Bytes s = scope("\\_SB_", devices);
  // Each empty device is 5B 82 05 + 4 name bytes = 7 bytes; content 5 + 70 = 75 > 62.
  ASSERT_EQ(s.size(), 1u + 2u + 75u);
  EXPECT_EQ(s[0], 0x10);
  EXPECT_EQ(s[1], 0x40 | ((75 + 2) & 0x0f));
  EXPECT_EQ(s[2], (75 + 2) >> 4);
}

TEST(AmlNamed, MethodWithReturn) {
  EXPECT_EQ(method("_STA", 0, false, {return_value(integer(0x0f))}),
            (B{0x14, 0x09, '_', 'S', 'T', 'A', 0x00, 0xa4, 0x0a, 0x0f}));
  // MethodFlags: 2 arguments, serialized (bit 3).
  Bytes m = method("FOO", 2, true, {});
  EXPECT_EQ(m, (B{0x14, 0x06, 'F', 'O', 'O', '_', 0x0a}));
}

TEST(AmlResources, IoPort) {
  EXPECT_EQ(io_port(0x3f8, 0x3f8, 1, 8), (B{0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08}));
}

TEST(AmlResources, IrqNoFlags) {
  EXPECT_EQ(irq_no_flags(4), (B{0x22, 0x10, 0x00}));
  EXPECT_EQ(irq_no_flags(12), (B{0x22, 0x00, 0x10}));
}

TEST(AmlResources, Memory32Fixed) {
  EXPECT_EQ(memory32_fixed(true, 0xd0001000, 0x1000),
            (B{0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00}));
  EXPECT_EQ(memory32_fixed(false, 0x12345678, 0x9abcdef0),
            (B{0x86, 0x09, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12, 0xf0, 0xde, 0xbc, 0x9a}));
}

TEST(AmlResources, ExtendedInterrupt) {
  ExtendedInterrupt edge_high;
  edge_high.gsis = {5};
  EXPECT_EQ(extended_interrupt(edge_high),
            (B{0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00}));

  ExtendedInterrupt level_low_shared;
  level_low_shared.edge = false;
  level_low_shared.active_low = true;
  level_low_shared.shared = true;
  level_low_shared.gsis = {0x17, 0x12345678};
  EXPECT_EQ(extended_interrupt(level_low_shared),
            (B{0x89, 0x0a, 0x00, 0x0d, 0x02, 0x17, 0x00, 0x00, 0x00, 0x78, 0x56, 0x34, 0x12}));
}

TEST(AmlResources, TemplateEndsWithEndTag) {
  EXPECT_EQ(resource_template({irq_no_flags(4)}),
            (B{0x11, 0x08, 0x0a, 0x05, 0x22, 0x10, 0x00, 0x79, 0x00}));
}

}  // namespace
}  // namespace ember::aml
