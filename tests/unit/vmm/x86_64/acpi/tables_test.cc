// Checks the ACPI tables ember writes, both as built bytes and as laid out in guest memory the
// way a guest finds them: RSDP -> XSDT -> FADT/MADT, FADT -> DSDT.
#include "vmm/x86_64/acpi/tables.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <string>

#include "vmm/x86_64/acpi/aml.h"
#include "vmm/x86_64/acpi/table_layouts.h"
#include "vmm/x86_64/layout.h"

namespace ember {
namespace {

using B = std::vector<uint8_t>;

uint8_t sum(std::span<const uint8_t> bytes) {
  return static_cast<uint8_t>(std::accumulate(bytes.begin(), bytes.end(), 0u));
}

template <class T>
T read_at(const B& bytes, size_t offset) {
  T v{};
  EXPECT_LE(offset + sizeof(T), bytes.size());
  std::memcpy(&v, bytes.data() + offset, sizeof(T));
  return v;
}

size_t count_of(const B& haystack, const B& needle) {
  size_t n = 0;
  for (auto it = haystack.begin();; ++it) {
    it = std::search(it, haystack.end(), needle.begin(), needle.end());
    if (it == haystack.end()) return n;
    ++n;
  }
}

bool contains(const B& haystack, const B& needle) { return count_of(haystack, needle) > 0; }

B ascii(std::string_view s) { return B(s.begin(), s.end()); }

AcpiVirtioDevice virtio(uint32_t index) {
  return {layout::kVirtioMmioStart + index * layout::kVirtioMmioWindow, layout::kVirtioMmioWindow,
          layout::kFirstDeviceGsi + index};
}

AcpiConfig config(uint32_t vcpus, uint32_t devices) {
  AcpiConfig cfg{vcpus, {}};
  for (uint32_t i = 0; i < devices; ++i) cfg.virtio_devices.push_back(virtio(i));
  return cfg;
}

// Guest memory covering the low 1 MiB, where the ACPI area lives.
GuestMemory low_memory() {
  auto mem = GuestMemory::create_anonymous({{0, layout::kHighMemStart}});
  EXPECT_TRUE(mem.ok());
  return std::move(mem).value();
}

// Reads a whole table (header length first) from guest memory.
B read_table(const GuestMemory& mem, uint64_t addr) {
  auto header = mem.read_obj<acpi::TableHeader>(addr);
  EXPECT_TRUE(header.ok());
  if (!header.ok()) return {};
  EXPECT_GE(header->length, sizeof(acpi::TableHeader));
  B bytes(header->length);
  EXPECT_TRUE(mem.read(addr, bytes).ok());
  return bytes;
}

std::string signature(const B& table) { return std::string(table.begin(), table.begin() + 4); }

void expect_common_header(const B& table, const char* sig) {
  ASSERT_GE(table.size(), sizeof(acpi::TableHeader));
  auto h = read_at<acpi::TableHeader>(table, 0);
  EXPECT_EQ(std::string(h.signature, 4), sig);
  EXPECT_EQ(h.length, table.size());
  EXPECT_EQ(std::string(h.oem_id, 6), "EMBER ");
  EXPECT_EQ(std::string(h.oem_table_id, 8), "EMBERVM ");
  EXPECT_EQ(sum(table), 0) << sig << " checksum";
}

// --- RSDP ------------------------------------------------------------------------------------

TEST(AcpiRsdp, BothChecksumsAndFields) {
  B rsdp = build_rsdp(0xe0040);
  ASSERT_EQ(rsdp.size(), 36u);
  EXPECT_EQ(std::string(rsdp.begin(), rsdp.begin() + 8), "RSD PTR ");
  EXPECT_EQ(sum(std::span<const uint8_t>(rsdp).first(20)), 0);
  EXPECT_EQ(sum(rsdp), 0);
  auto r = read_at<acpi::Rsdp>(rsdp, 0);
  EXPECT_EQ(r.revision, 2);
  EXPECT_EQ(r.rsdt_address, 0u);
  EXPECT_EQ(r.length, 36u);
  EXPECT_EQ(r.xsdt_address, 0xe0040u);
  EXPECT_EQ(std::string(r.oem_id, 6), "EMBER ");
}

// --- XSDT / FADT -----------------------------------------------------------------------------

TEST(AcpiXsdt, ListsAddresses) {
  B xsdt = build_xsdt({0x1122334455667788, 0xe0100});
  expect_common_header(xsdt, "XSDT");
  ASSERT_EQ(xsdt.size(), 36u + 16u);
  EXPECT_EQ(read_at<uint64_t>(xsdt, 36), 0x1122334455667788u);
  EXPECT_EQ(read_at<uint64_t>(xsdt, 44), 0xe0100u);
}

TEST(AcpiFadt, HardwareReducedWithSleepRegisters) {
  B bytes = build_fadt(0xe0300);
  expect_common_header(bytes, "FACP");
  ASSERT_EQ(bytes.size(), 276u);
  auto fadt = read_at<acpi::Fadt>(bytes, 0);
  EXPECT_EQ(fadt.header.revision, 6);
  EXPECT_EQ(fadt.fadt_minor_version, 4);
  EXPECT_EQ(fadt.x_dsdt, 0xe0300u);
  EXPECT_EQ(fadt.dsdt, 0u);
  EXPECT_EQ(fadt.firmware_ctrl, 0u);  // no FACS: allowed when hardware-reduced
  EXPECT_EQ(fadt.x_firmware_ctrl, 0u);

  EXPECT_NE(fadt.flags & (1u << 20), 0u) << "HW_REDUCED_ACPI";
  EXPECT_NE(fadt.iapc_boot_arch & (1u << 1), 0u) << "8042 present";
  EXPECT_NE(fadt.iapc_boot_arch & (1u << 2), 0u) << "VGA not present";
  EXPECT_EQ(fadt.iapc_boot_arch & (1u << 0), 0u) << "no legacy (LPC/ISA) devices to enumerate";

  for (auto [gas, port] : {std::pair{fadt.sleep_control_reg, layout::kAcpiSleepControlPort},
                           std::pair{fadt.sleep_status_reg, layout::kAcpiSleepStatusPort}}) {
    EXPECT_EQ(gas.address_space_id, 1);  // System I/O
    EXPECT_EQ(gas.register_bit_width, 8);
    EXPECT_EQ(gas.register_bit_offset, 0);
    EXPECT_EQ(gas.access_size, 1);  // byte
    EXPECT_EQ(gas.address, port);
  }
  // Raw offsets from the ACPI 6.4 FADT table, independent of the struct.
  EXPECT_EQ(read_at<uint64_t>(bytes, 140), 0xe0300u);
  EXPECT_EQ(read_at<uint32_t>(bytes, 112) & (1u << 20), 1u << 20);
  EXPECT_EQ(bytes[244], 1);
  EXPECT_EQ(read_at<uint64_t>(bytes, 248), layout::kAcpiSleepControlPort);
  EXPECT_EQ(read_at<uint64_t>(bytes, 260), layout::kAcpiSleepStatusPort);
}

// --- MADT ------------------------------------------------------------------------------------

struct MadtContents {
  std::vector<acpi::MadtLocalApic> lapics;
  std::vector<acpi::MadtIoApic> ioapics;
  std::vector<acpi::MadtLocalApicNmi> nmis;
  size_t others = 0;
};

MadtContents parse_madt(const B& madt) {
  MadtContents c;
  size_t off = sizeof(acpi::MadtHeader);
  while (off < madt.size()) {
    EXPECT_LE(off + 2, madt.size());
    uint8_t type = madt[off];
    uint8_t len = madt[off + 1];
    EXPECT_GE(len, 2);
    EXPECT_LE(off + len, madt.size()) << "MADT structure overruns the table";
    if (len < 2 || off + len > madt.size()) break;
    if (type == 0 && len == 8) {
      c.lapics.push_back(read_at<acpi::MadtLocalApic>(madt, off));
    } else if (type == 1 && len == 12) {
      c.ioapics.push_back(read_at<acpi::MadtIoApic>(madt, off));
    } else if (type == 4 && len == 6) {
      c.nmis.push_back(read_at<acpi::MadtLocalApicNmi>(madt, off));
    } else {
      ++c.others;
    }
    off += len;
  }
  EXPECT_EQ(off, madt.size());
  return c;
}

void expect_madt(const B& madt, uint32_t vcpus) {
  expect_common_header(madt, "APIC");
  auto h = read_at<acpi::MadtHeader>(madt, 0);
  EXPECT_EQ(h.local_apic_address, layout::kLapicAddr);
  EXPECT_EQ(h.flags & 1u, 1u) << "PCAT_COMPAT";
  MadtContents c = parse_madt(madt);
  ASSERT_EQ(c.lapics.size(), vcpus);
  for (uint32_t i = 0; i < vcpus; ++i) {
    EXPECT_EQ(c.lapics[i].apic_id, i);
    EXPECT_EQ(c.lapics[i].acpi_processor_uid, i);
    EXPECT_EQ(c.lapics[i].flags & 1u, 1u) << "enabled";
  }
  ASSERT_EQ(c.ioapics.size(), 1u);
  EXPECT_EQ(c.ioapics[0].io_apic_address, layout::kIoapicAddr);
  EXPECT_EQ(c.ioapics[0].global_system_interrupt_base, 0u);
  EXPECT_GE(c.ioapics[0].io_apic_id, vcpus) << "IOAPIC id clashes with a local APIC id";
  ASSERT_EQ(c.nmis.size(), 1u);
  EXPECT_EQ(c.nmis[0].acpi_processor_uid, 0xff);
  EXPECT_EQ(c.nmis[0].local_apic_lint, 1);
  EXPECT_EQ(c.nmis[0].flags, 0);
  EXPECT_EQ(c.others, 0u) << "no interrupt source overrides expected";
}

TEST(AcpiMadt, OneLocalApicPerVcpu) {
  for (uint32_t vcpus : {1u, 2u, 7u, kAcpiMaxVcpus}) {
    SCOPED_TRACE("vcpus=" + std::to_string(vcpus));
    auto madt = build_madt(config(vcpus, 0));
    ASSERT_TRUE(madt.ok()) << madt.error().message;
    expect_madt(*madt, vcpus);
  }
}

TEST(AcpiMadt, RejectsVcpuCountsOutOfRange) {
  for (uint32_t vcpus : {0u, kAcpiMaxVcpus + 1, 255u}) {
    auto madt = build_madt(config(vcpus, 0));
    ASSERT_FALSE(madt.ok());
    EXPECT_NE(madt.error().message.find("vcpu count"), std::string::npos) << madt.error().message;
  }
}

// --- DSDT ------------------------------------------------------------------------------------

// The exact AML of Device(V000) for a window at 0xd0001000 (4 KiB) and GSI 5, written out by
// hand from ACPI 6.4 chapter 20 and 6.4.3 so it does not depend on the encoder under test.
const B kV000Device = {
    0x5b, 0x82, 0x3a, 'V', '0', '0', '0',                             // Device, PkgLength 58
    0x08, '_', 'H', 'I', 'D', 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00,
    0x08, '_', 'U', 'I', 'D', 0x00,                                    // _UID Zero
    0x08, '_', 'C', 'R', 'S', 0x11, 0x1a, 0x0a, 0x17,                  // Buffer(23)
    0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00, 0xd0, 0x00, 0x10, 0x00, 0x00,  // Memory32Fixed
    0x89, 0x06, 0x00, 0x03, 0x01, 0x05, 0x00, 0x00, 0x00,              // Interrupt {5}
    0x79, 0x00,                                                        // EndTag
};

TEST(AcpiDsdt, LegacyDevicesAndS5WithoutVirtio) {
  auto dsdt = build_dsdt(config(1, 0));
  ASSERT_TRUE(dsdt.ok()) << dsdt.error().message;
  expect_common_header(*dsdt, "DSDT");
  EXPECT_EQ((*dsdt)[8], 2) << "revision 2: 64-bit integers";
  EXPECT_EQ(count_of(*dsdt, ascii("LNRO0005")), 0u);
  // COM1: _HID EisaId("PNP0501"), IO 0x3f8/8 ports, IRQ 4.
  EXPECT_TRUE(contains(*dsdt, {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01}));
  EXPECT_TRUE(contains(*dsdt, {0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08, 0x22, 0x10, 0x00}));
  // i8042: _HID EisaId("PNP0303"), IO 0x60 and 0x64, IRQ 1.
  EXPECT_TRUE(contains(*dsdt, {0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x03, 0x03}));
  EXPECT_TRUE(contains(*dsdt, {0x47, 0x01, 0x60, 0x00, 0x60, 0x00, 0x01, 0x01, 0x47, 0x01, 0x64,
                               0x00, 0x64, 0x00, 0x01, 0x01, 0x22, 0x02, 0x00}));
  // Name(\_S5_, Package(4) {5, 5, 0, 0}) ends the table.
  const B s5 = {0x08, 0x5c, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00};
  ASSERT_GE(dsdt->size(), s5.size());
  EXPECT_TRUE(std::equal(s5.begin(), s5.end(), dsdt->end() - static_cast<long>(s5.size())));
}

TEST(AcpiDsdt, PvPanicDeviceOnItsPort) {
  AcpiConfig cfg{};
  cfg.vcpu_count = 1;
  auto dsdt = build_dsdt(cfg);
  ASSERT_TRUE(dsdt.ok());
  // Name(_HID, "QEMU0001") and IO(Decode16, 0x505, 0x505, 1, 1).
  EXPECT_TRUE(contains(*dsdt, {0x08, '_', 'H', 'I', 'D', 0x0d, 'Q', 'E', 'M', 'U', '0', '0', '0', '1', 0x00}));
  EXPECT_TRUE(contains(*dsdt, {0x47, 0x01, 0x05, 0x05, 0x05, 0x05, 0x01, 0x01}));
}

TEST(AcpiDsdt, VirtioDeviceExactBytes) {
  auto dsdt = build_dsdt(config(1, 1));
  ASSERT_TRUE(dsdt.ok()) << dsdt.error().message;
  EXPECT_TRUE(contains(*dsdt, kV000Device));
}

TEST(AcpiDsdt, OneLnro0005DevicePerVirtioDevice) {
  AcpiConfig cfg{1, {{0xd0001000, 0x1000, 5}, {0xd0002000, 0x200, 9}, {0xfe000000, 0x1000, 23}}};
  auto dsdt = build_dsdt(cfg);
  ASSERT_TRUE(dsdt.ok()) << dsdt.error().message;
  EXPECT_EQ(count_of(*dsdt, ascii("LNRO0005")), 3u);
  const B names[] = {ascii("V000"), ascii("V001"), ascii("V002")};
  for (size_t i = 0; i < 3; ++i) {
    const auto& d = cfg.virtio_devices[i];
    auto name_at = std::search(dsdt->begin(), dsdt->end(), names[i].begin(), names[i].end());
    ASSERT_NE(name_at, dsdt->end()) << "device " << i;
    // Its _CRS: Memory32Fixed(ReadWrite, addr, size) then Interrupt(Consumer, Edge, High, Excl).
    B crs = {0x86, 0x09, 0x00, 0x01};
    for (int b = 0; b < 4; ++b) crs.push_back(static_cast<uint8_t>(d.mmio_addr >> (8 * b)));
    for (int b = 0; b < 4; ++b) crs.push_back(static_cast<uint8_t>(d.mmio_size >> (8 * b)));
    B irq = {0x89, 0x06, 0x00, 0x03, 0x01};
    for (int b = 0; b < 4; ++b) irq.push_back(static_cast<uint8_t>(d.gsi >> (8 * b)));
    crs.insert(crs.end(), irq.begin(), irq.end());
    auto crs_at = std::search(name_at, dsdt->end(), crs.begin(), crs.end());
    ASSERT_NE(crs_at, dsdt->end()) << "device " << i;
    // The _CRS belongs to this device: no other device name sits between them.
    if (i + 1 < 3) {
      auto next = std::search(name_at, dsdt->end(), names[i + 1].begin(), names[i + 1].end());
      EXPECT_LT(crs_at, next) << "device " << i;
    }
  }
}

// Decodes a PkgLength (ACPI 6.4 20.2.4); returns the value and sets `size` to its byte count.
uint32_t decode_pkg_length(const B& aml, size_t at, size_t& size) {
  uint8_t lead = aml.at(at);
  size_t trailing = lead >> 6;
  size = 1 + trailing;
  if (trailing == 0) return lead & 0x3f;
  uint32_t v = lead & 0x0f;
  for (size_t i = 0; i < trailing; ++i) v |= static_cast<uint32_t>(aml.at(at + 1 + i)) << (4 + 8 * i);
  return v;
}

TEST(AcpiDsdt, ScopePkgLengthCoversAllDevices) {
  // 200 devices make \_SB_ larger than 4095 bytes: a 3-byte PkgLength. GSIs may repeat here.
  AcpiConfig cfg{1, {}};
  for (uint32_t i = 0; i < 200; ++i)
    cfg.virtio_devices.push_back({layout::kVirtioMmioStart + i * 0x1000ull, 0x1000, 5 + i % 19});
  auto dsdt = build_dsdt(cfg);
  ASSERT_TRUE(dsdt.ok()) << dsdt.error().message;
  const size_t scope_at = sizeof(acpi::TableHeader);
  ASSERT_EQ((*dsdt)[scope_at], 0x10) << "ScopeOp";
  size_t len_size = 0;
  uint32_t len = decode_pkg_length(*dsdt, scope_at + 1, len_size);
  EXPECT_EQ(len_size, 3u);
  const size_t scope_end = scope_at + 1 + len;
  const B s5_name = {0x08, 0x5c, '_', 'S', '5', '_'};
  ASSERT_LE(scope_end + s5_name.size(), dsdt->size());
  EXPECT_TRUE(std::equal(s5_name.begin(), s5_name.end(), dsdt->begin() + static_cast<long>(scope_end)));
  EXPECT_EQ(count_of(*dsdt, ascii("LNRO0005")), 200u);
  EXPECT_TRUE(contains(*dsdt, ascii("V0C7")));  // device 199
}

TEST(AcpiDsdt, RejectsBadVirtioDevices) {
  struct Case {
    AcpiVirtioDevice dev;
    const char* expect;
  };
  const Case cases[] = {
      {{0xd0001000, 0, 5}, "size is 0"},
      {{0xfffff000, 0x2000, 5}, "below 4 GiB"},
      {{0x100000000, 0x1000, 5}, "below 4 GiB"},
      {{~uint64_t{0}, 2, 5}, "below 4 GiB"},  // addr + size wraps
      {{0xd0001000, ~uint64_t{0}, 5}, "below 4 GiB"},
      {{0xd0001000, 0x1000, layout::kSerialIrq}, "GSI 4"},
      {{0xd0001000, 0x1000, layout::kIoapicPins}, "GSI 24"},
      {{0xd0001000, 0x1000, 0xffffffff}, "GSI"},
  };
  for (const auto& c : cases) {
    AcpiConfig cfg = config(1, 1);
    cfg.virtio_devices.push_back(c.dev);  // the second device (index 1) is the bad one
    auto dsdt = build_dsdt(cfg);
    ASSERT_FALSE(dsdt.ok()) << c.expect;
    EXPECT_NE(dsdt.error().message.find("virtio device 1"), std::string::npos) << dsdt.error().message;
    EXPECT_NE(dsdt.error().message.find(c.expect), std::string::npos) << dsdt.error().message;
  }
}

TEST(AcpiDsdt, WindowEndingExactlyAt4GiBIsAccepted) {
  AcpiConfig cfg{1, {{0xfffff000, 0x1000, 5}}};
  EXPECT_TRUE(build_dsdt(cfg).ok());
}

// --- Everything in guest memory --------------------------------------------------------------

struct Found {
  uint64_t rsdp = 0, xsdt = 0, fadt = 0, madt = 0, dsdt = 0;
  B xsdt_bytes, fadt_bytes, madt_bytes, dsdt_bytes;
};

// Follows the pointers as a guest would, checking each table on the way.
Found follow_tables(const GuestMemory& mem, uint64_t rsdp_addr) {
  Found f;
  f.rsdp = rsdp_addr;
  auto rsdp = mem.read_obj<acpi::Rsdp>(rsdp_addr);
  EXPECT_TRUE(rsdp.ok());
  B rsdp_bytes(sizeof(acpi::Rsdp));
  EXPECT_TRUE(mem.read(rsdp_addr, rsdp_bytes).ok());
  EXPECT_EQ(sum(std::span<const uint8_t>(rsdp_bytes).first(20)), 0);
  EXPECT_EQ(sum(rsdp_bytes), 0);
  EXPECT_EQ(std::string(rsdp->signature, 8), "RSD PTR ");

  f.xsdt = rsdp->xsdt_address;
  f.xsdt_bytes = read_table(mem, f.xsdt);
  expect_common_header(f.xsdt_bytes, "XSDT");
  EXPECT_EQ(f.xsdt_bytes.size(), 36u + 16u);
  for (size_t off = 36; off + 8 <= f.xsdt_bytes.size(); off += 8) {
    uint64_t addr = read_at<uint64_t>(f.xsdt_bytes, off);
    B table = read_table(mem, addr);
    if (signature(table) == "FACP") {
      f.fadt = addr;
      f.fadt_bytes = table;
    } else if (signature(table) == "APIC") {
      f.madt = addr;
      f.madt_bytes = table;
    } else {
      ADD_FAILURE() << "unexpected XSDT entry " << signature(table);
    }
  }
  EXPECT_NE(f.fadt, 0u) << "XSDT lacks the FADT";
  EXPECT_NE(f.madt, 0u) << "XSDT lacks the MADT";
  if (f.fadt != 0) {
    expect_common_header(f.fadt_bytes, "FACP");
    f.dsdt = read_at<acpi::Fadt>(f.fadt_bytes, 0).x_dsdt;
    f.dsdt_bytes = read_table(mem, f.dsdt);
    expect_common_header(f.dsdt_bytes, "DSDT");
  }
  return f;
}

TEST(AcpiWrite, GuestFindsEveryTable) {
  GuestMemory mem = low_memory();
  AcpiConfig cfg = config(4, 3);
  auto rsdp = write_acpi_tables(mem, cfg);
  ASSERT_TRUE(rsdp.ok()) << rsdp.error().message;
  EXPECT_EQ(*rsdp, layout::kAcpiStart);
  EXPECT_EQ(*rsdp % 16, 0u);

  Found f = follow_tables(mem, *rsdp);
  expect_madt(f.madt_bytes, 4);
  EXPECT_EQ(count_of(f.dsdt_bytes, ascii("LNRO0005")), 3u);
  EXPECT_TRUE(contains(f.dsdt_bytes, kV000Device));
  EXPECT_EQ(f.dsdt_bytes, build_dsdt(cfg).value());
  EXPECT_EQ(f.madt_bytes, build_madt(cfg).value());

  // Every table lies inside the ACPI area, and none overlaps another.
  std::vector<std::pair<uint64_t, uint64_t>> spans = {
      {f.rsdp, 36},
      {f.xsdt, f.xsdt_bytes.size()},
      {f.fadt, f.fadt_bytes.size()},
      {f.madt, f.madt_bytes.size()},
      {f.dsdt, f.dsdt_bytes.size()},
  };
  std::sort(spans.begin(), spans.end());
  for (size_t i = 0; i < spans.size(); ++i) {
    EXPECT_GE(spans[i].first, layout::kAcpiStart);
    EXPECT_LE(spans[i].first + spans[i].second, layout::kAcpiEnd);
    if (i > 0) {
      EXPECT_LE(spans[i - 1].first + spans[i - 1].second, spans[i].first);
    }
  }
}

TEST(AcpiWrite, RewriteLeavesNoStaleBytes) {
  GuestMemory mem = low_memory();
  ASSERT_TRUE(write_acpi_tables(mem, config(2, 19)).ok());
  auto rsdp = write_acpi_tables(mem, config(1, 0));
  ASSERT_TRUE(rsdp.ok()) << rsdp.error().message;
  Found f = follow_tables(mem, *rsdp);
  expect_madt(f.madt_bytes, 1);
  B area(layout::kAcpiEnd - layout::kAcpiStart);
  ASSERT_TRUE(mem.read(layout::kAcpiStart, area).ok());
  EXPECT_EQ(count_of(area, ascii("LNRO0005")), 0u);
}

TEST(AcpiWrite, TooManyDevicesDoNotFit) {
  GuestMemory mem = low_memory();
  AcpiConfig cfg{1, {}};
  for (uint32_t i = 0; i < 4000; ++i)
    cfg.virtio_devices.push_back({0xd0000000 + i * 0x1000ull, 0x1000, 5 + i % 19});
  auto r = write_acpi_tables(mem, cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("fit"), std::string::npos) << r.error().message;
}

TEST(AcpiWrite, MoreDevicesThanNamesAreRejected) {
  AcpiConfig cfg{1, {}};
  for (uint32_t i = 0; i < 0x1001; ++i) cfg.virtio_devices.push_back({0xd0000000, 0x1000, 5});
  auto r = build_dsdt(cfg);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("at most 4096"), std::string::npos) << r.error().message;
}

TEST(AcpiWrite, InvalidConfigWritesNothing) {
  GuestMemory mem = low_memory();
  auto r = write_acpi_tables(mem, config(0, 1));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("vcpu count 0"), std::string::npos) << r.error().message;
  B first(8);
  ASSERT_TRUE(mem.read(layout::kAcpiStart, first).ok());
  EXPECT_EQ(first, B(8, 0));
}

TEST(AcpiWrite, FailsCleanlyWithoutMemoryForTheArea) {
  auto mem = GuestMemory::create_anonymous({{0, 0x80000}});
  ASSERT_TRUE(mem.ok());
  auto r = write_acpi_tables(*mem, config(1, 0));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("ACPI"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace ember
