#include "vmm/x86_64/acpi/tables.h"

#include <cstdio>
#include <cstring>
#include <numeric>
#include <span>
#include <string>
#include <type_traits>

#include "devices/legacy/acpi_sleep.h"
#include "base/hex.h"
#include "base/check.h"
#include "vmm/x86_64/acpi/aml.h"
#include "vmm/x86_64/acpi/table_layouts.h"
#include "vmm/x86_64/layout.h"

namespace ember {
namespace {

using acpi::TableHeader;

constexpr char kOemId[6] = {'E', 'M', 'B', 'E', 'R', ' '};
constexpr char kOemTableId[8] = {'E', 'M', 'B', 'E', 'R', 'V', 'M', ' '};
constexpr uint32_t kOemRevision = 1;
constexpr char kCreatorId[4] = {'E', 'M', 'B', 'R'};
constexpr uint32_t kCreatorRevision = 1;

// Table revisions for ACPI 6.4.
constexpr uint8_t kRsdpRevision = 2;
constexpr uint8_t kXsdtRevision = 1;
constexpr uint8_t kFadtRevision = 6;
constexpr uint8_t kFadtMinorVersion = 4;
constexpr uint8_t kMadtRevision = 5;
// DSDT revision 2 or above makes AML integers 64 bits wide (ACPI 6.4 5.2.11.1).
constexpr uint8_t kDsdtRevision = 2;

// The RSDP must be on a 16-byte boundary (ACPI 6.4 5.2.5.1); the other tables only need to be
// addressable, but aligned tables are easier to read in a memory dump.
constexpr uint64_t kTableAlign = 16;

// Virtio device names are "V" plus three hex digits: V000 ... VFFF.
constexpr size_t kMaxVirtioDevices = 0x1000;


uint8_t byte_sum(std::span<const uint8_t> bytes) {
  return static_cast<uint8_t>(std::accumulate(bytes.begin(), bytes.end(), 0u));
}

// The value that makes `bytes` (with this value in its checksum field, now 0) sum to 0 mod 256.
uint8_t checksum_for(std::span<const uint8_t> bytes) {
  return static_cast<uint8_t>(0x100 - byte_sum(bytes));
}

template <class T>
void append_obj(std::vector<uint8_t>& out, const T& obj) {
  static_assert(std::is_trivially_copyable_v<T>);
  const auto* p = reinterpret_cast<const uint8_t*>(&obj);
  out.insert(out.end(), p, p + sizeof(T));
}

template <class T>
std::vector<uint8_t> bytes_of(const T& obj) {
  std::vector<uint8_t> out;
  append_obj(out, obj);
  return out;
}

TableHeader make_header(const char (&signature)[5], uint8_t revision) {
  TableHeader h{};
  std::memcpy(h.signature, signature, 4);
  h.revision = revision;
  std::memcpy(h.oem_id, kOemId, sizeof h.oem_id);
  std::memcpy(h.oem_table_id, kOemTableId, sizeof h.oem_table_id);
  h.oem_revision = kOemRevision;
  std::memcpy(h.creator_id, kCreatorId, sizeof h.creator_id);
  h.creator_revision = kCreatorRevision;
  return h;
}

// Sets the header's length to the table size and its checksum so the whole table sums to 0
// (ACPI 6.4 5.2.6).
void finish_table(std::vector<uint8_t>& table) {
  CHECK(table.size() >= sizeof(TableHeader));
  auto length = static_cast<uint32_t>(table.size());
  std::memcpy(table.data() + offsetof(TableHeader, length), &length, sizeof length);
  table[offsetof(TableHeader, checksum)] = 0;
  table[offsetof(TableHeader, checksum)] = checksum_for(table);
}

acpi::GenericAddress io_port_register(uint16_t port) {
  acpi::GenericAddress gas{};
  gas.address_space_id = acpi::kGasSystemIo;
  gas.register_bit_width = 8;
  gas.register_bit_offset = 0;
  gas.access_size = acpi::kGasAccessByte;
  gas.address = port;
  return gas;
}

Result<void> validate_vcpus(const AcpiConfig& cfg) {
  if (cfg.vcpu_count == 0 || cfg.vcpu_count > kAcpiMaxVcpus)
    return make_error("ACPI: vcpu count " + std::to_string(cfg.vcpu_count) + " is outside 1.." +
                      std::to_string(kAcpiMaxVcpus));
  return {};
}

Result<void> validate_virtio_devices(const AcpiConfig& cfg) {
  if (cfg.virtio_devices.size() > kMaxVirtioDevices)
    return make_error("ACPI: " + std::to_string(cfg.virtio_devices.size()) +
                      " virtio devices, at most " + std::to_string(kMaxVirtioDevices) + " can be named");
  for (size_t i = 0; i < cfg.virtio_devices.size(); ++i) {
    const auto& d = cfg.virtio_devices[i];
    std::string what = "ACPI: virtio device " + std::to_string(i) + ": ";
    // Memory32Fixed describes a window below 4 GiB; check without letting addr + size wrap.
    if (d.mmio_size == 0) return make_error(what + "MMIO window size is 0");
    if (d.mmio_addr >= layout::kFourGiB || d.mmio_size > layout::kFourGiB - d.mmio_addr)
      return make_error(what + "MMIO window " + to_hex(d.mmio_addr) + "+" + to_hex(d.mmio_size) +
                        " does not lie below 4 GiB");
    if (d.gsi < layout::kFirstDeviceGsi || d.gsi >= layout::kIoapicPins)
      return make_error(what + "GSI " + std::to_string(d.gsi) + " is outside the device range " +
                        std::to_string(layout::kFirstDeviceGsi) + ".." +
                        std::to_string(layout::kIoapicPins - 1));
  }
  return {};
}

std::string virtio_device_name(size_t index) {
  CHECK(index < kMaxVirtioDevices);
  constexpr char kHex[] = "0123456789ABCDEF";
  return {'V', kHex[(index >> 8) & 0xf], kHex[(index >> 4) & 0xf], kHex[index & 0xf]};
}

// COM1, a 16550 UART: ports 0x3f8-0x3ff and ISA IRQ 4 (edge, active high, via IRQNoFlags).
aml::Bytes com1_device() {
  return aml::device("COM1", {
      aml::name("_HID", aml::eisa_id("PNP0501")),
      aml::name("_UID", aml::integer(0)),
      aml::name("_CRS", aml::resource_template({
                            aml::io_port(layout::kSerialPort, layout::kSerialPort, 1, 8),
                            aml::irq_no_flags(layout::kSerialIrq),
                        })),
  });
}

// The i8042 keyboard controller: data port 0x60, command/status port 0x64, ISA IRQ 1. Linux's
// i8042 driver finds it by this PNP id; the FADT's 8042 boot flag alone would also do.
aml::Bytes i8042_device() {
  constexpr uint16_t kCommandPort = layout::kI8042Port + 4;
  return aml::device("PS2K", {
      aml::name("_HID", aml::eisa_id("PNP0303")),
      aml::name("_CRS", aml::resource_template({
                            aml::io_port(layout::kI8042Port, layout::kI8042Port, 1, 1),
                            aml::io_port(kCommandPort, kCommandPort, 1, 1),
                            aml::irq_no_flags(layout::kI8042Irq),
                        })),
  });
}

// pvpanic: Linux's pvpanic-mmio driver binds to "QEMU0001" and reports panics on its port.
aml::Bytes pvpanic_device() {
  return aml::device("PEVT", {
      aml::name("_HID", aml::string("QEMU0001")),
      aml::name("_CRS", aml::resource_template({
                            aml::io_port(layout::kPvPanicPort, layout::kPvPanicPort, 1, 1),
                        })),
  });
}

// A virtio-mmio transport: Linux's virtio_mmio driver binds to _HID "LNRO0005" and takes its
// register window and interrupt from _CRS.
aml::Bytes virtio_device(size_t index, const AcpiVirtioDevice& d) {
  aml::ExtendedInterrupt irq;
  irq.consumer = true;
  irq.edge = true;
  irq.active_low = false;
  irq.shared = false;
  irq.gsis = {d.gsi};
  return aml::device(virtio_device_name(index), {
      aml::name("_HID", aml::string("LNRO0005")),
      aml::name("_UID", aml::integer(index)),
      aml::name("_CRS", aml::resource_template({
                            aml::memory32_fixed(true, static_cast<uint32_t>(d.mmio_addr),
                                                static_cast<uint32_t>(d.mmio_size)),
                            aml::extended_interrupt(irq),
                        })),
  });
}

// \_S5 (ACPI 6.4 7.4.2): {SLP_TYPa, SLP_TYPb, reserved, reserved}. A hardware-reduced OSPM uses
// only SLP_TYPa, writing it into SLEEP_CONTROL_REG; both carry the same value for clarity. The
// value is the sleep device's, so the two cannot drift apart.
aml::Bytes s5_object() {
  return aml::name("\\_S5_", aml::package({
                                 aml::integer(kAcpiS5SleepType),
                                 aml::integer(kAcpiS5SleepType),
                                 aml::integer(0),
                                 aml::integer(0),
                             }));
}

uint64_t align_up(uint64_t v, uint64_t align) { return (v + align - 1) / align * align; }

}  // namespace

Result<std::vector<uint8_t>> build_dsdt(const AcpiConfig& cfg) {
  TRY(validate_virtio_devices(cfg));
  std::vector<aml::Bytes> sb_devices{com1_device(), i8042_device(), pvpanic_device()};
  for (size_t i = 0; i < cfg.virtio_devices.size(); ++i)
    sb_devices.push_back(virtio_device(i, cfg.virtio_devices[i]));

  std::vector<uint8_t> table = bytes_of(make_header("DSDT", kDsdtRevision));
  aml::Bytes sb = aml::scope("\\_SB_", sb_devices);
  table.insert(table.end(), sb.begin(), sb.end());
  aml::Bytes s5 = s5_object();
  table.insert(table.end(), s5.begin(), s5.end());
  finish_table(table);
  return table;
}

Result<std::vector<uint8_t>> build_madt(const AcpiConfig& cfg) {
  TRY(validate_vcpus(cfg));
  std::vector<uint8_t> table;
  acpi::MadtHeader header{};
  header.header = make_header("APIC", kMadtRevision);
  header.local_apic_address = static_cast<uint32_t>(layout::kLapicAddr);
  // KVM's in-kernel irqchip includes the two 8259s next to the IOAPIC.
  header.flags = acpi::kMadtPcatCompat;
  append_obj(table, header);

  // ACPI processor UID i, APIC id i: KVM gives vCPU i the APIC id i.
  for (uint32_t i = 0; i < cfg.vcpu_count; ++i) {
    acpi::MadtLocalApic lapic{};
    lapic.type = acpi::kMadtTypeLocalApic;
    lapic.length = sizeof(acpi::MadtLocalApic);
    lapic.acpi_processor_uid = static_cast<uint8_t>(i);
    lapic.apic_id = static_cast<uint8_t>(i);
    lapic.flags = 1;  // enabled
    append_obj(table, lapic);
  }

  // One IOAPIC with GSIs 0-23. Its id follows the local APIC ids so the two never clash. No
  // interrupt source overrides: KVM routes ISA IRQ n to IOAPIC pin n.
  acpi::MadtIoApic ioapic{};
  ioapic.type = acpi::kMadtTypeIoApic;
  ioapic.length = sizeof(acpi::MadtIoApic);
  ioapic.io_apic_id = static_cast<uint8_t>(cfg.vcpu_count);
  ioapic.io_apic_address = static_cast<uint32_t>(layout::kIoapicAddr);
  ioapic.global_system_interrupt_base = 0;
  append_obj(table, ioapic);

  // LINT1 of every processor is the NMI input, as on PC hardware.
  acpi::MadtLocalApicNmi nmi{};
  nmi.type = acpi::kMadtTypeLocalApicNmi;
  nmi.length = sizeof(acpi::MadtLocalApicNmi);
  nmi.acpi_processor_uid = 0xff;
  nmi.flags = 0;
  nmi.local_apic_lint = 1;
  append_obj(table, nmi);

  finish_table(table);
  return table;
}

std::vector<uint8_t> build_fadt(uint64_t dsdt_addr) {
  acpi::Fadt fadt{};
  fadt.header = make_header("FACP", kFadtRevision);
  // Hardware-reduced ACPI (ACPI 6.4 4.1): no PM1/GPE blocks, no SCI, no FACS. The fixed power
  // and sleep button flags say there are no fixed-feature buttons either.
  fadt.flags = acpi::kFadtHwReducedAcpi | acpi::kFadtPwrButton | acpi::kFadtSlpButton;
  // Linux decides whether to probe an i8042 from the 8042 flag, and whether a CMOS RTC or VGA
  // exists from the others; ember emulates an i8042 but neither of the other two.
  fadt.iapc_boot_arch =
      acpi::kBootArch8042 | acpi::kBootArchVgaNotPresent | acpi::kBootArchCmosRtcNotPresent;
  fadt.fadt_minor_version = kFadtMinorVersion;
  // Only the 64-bit pointer: when X_DSDT is set, the 32-bit DSDT field is to be ignored.
  fadt.dsdt = 0;
  fadt.x_dsdt = dsdt_addr;
  fadt.sleep_control_reg = io_port_register(layout::kAcpiSleepControlPort);
  fadt.sleep_status_reg = io_port_register(layout::kAcpiSleepStatusPort);
  std::memcpy(&fadt.hypervisor_vendor_identity, "EMBER\0\0\0", 8);

  std::vector<uint8_t> table = bytes_of(fadt);
  finish_table(table);
  return table;
}

std::vector<uint8_t> build_xsdt(const std::vector<uint64_t>& table_addrs) {
  std::vector<uint8_t> table = bytes_of(make_header("XSDT", kXsdtRevision));
  for (uint64_t addr : table_addrs) append_obj(table, addr);
  finish_table(table);
  return table;
}

std::vector<uint8_t> build_rsdp(uint64_t xsdt_addr) {
  acpi::Rsdp rsdp{};
  std::memcpy(rsdp.signature, "RSD PTR ", 8);
  std::memcpy(rsdp.oem_id, kOemId, sizeof rsdp.oem_id);
  rsdp.revision = kRsdpRevision;
  rsdp.rsdt_address = 0;
  rsdp.length = sizeof(acpi::Rsdp);
  rsdp.xsdt_address = xsdt_addr;
  std::vector<uint8_t> bytes = bytes_of(rsdp);
  // The first checksum covers the ACPI 1.0 part (bytes 0-19), the extended one all 36 bytes.
  bytes[offsetof(acpi::Rsdp, checksum)] =
      checksum_for(std::span<const uint8_t>(bytes).first(offsetof(acpi::Rsdp, length)));
  bytes[offsetof(acpi::Rsdp, extended_checksum)] = checksum_for(bytes);
  return bytes;
}

Result<uint64_t> write_acpi_tables(const GuestMemory& mem, const AcpiConfig& cfg) {
  ASSIGN_OR_RETURN(std::vector<uint8_t> dsdt, build_dsdt(cfg));
  ASSIGN_OR_RETURN(std::vector<uint8_t> madt, build_madt(cfg));

  // Layout: RSDP first (the guest scans for it from kAcpiStart), then XSDT, FADT, MADT, and the
  // DSDT, the only table whose size grows with the configuration, last.
  constexpr size_t kXsdtEntries = 2;  // FADT, MADT
  const uint64_t rsdp_addr = layout::kAcpiStart;
  const uint64_t xsdt_addr = align_up(rsdp_addr + sizeof(acpi::Rsdp), kTableAlign);
  const uint64_t fadt_addr =
      align_up(xsdt_addr + sizeof(TableHeader) + kXsdtEntries * sizeof(uint64_t), kTableAlign);
  const uint64_t madt_addr = align_up(fadt_addr + sizeof(acpi::Fadt), kTableAlign);
  const uint64_t dsdt_addr = align_up(madt_addr + madt.size(), kTableAlign);
  const uint64_t end = dsdt_addr + dsdt.size();
  if (end > layout::kAcpiEnd)
    return make_error("ACPI tables need " + std::to_string(end - layout::kAcpiStart) +
                      " bytes but only " + std::to_string(layout::kAcpiEnd - layout::kAcpiStart) +
                      " fit in " + to_hex(layout::kAcpiStart) + "-" + to_hex(layout::kAcpiEnd) +
                      " (too many virtio devices?)");

  std::vector<uint8_t> fadt = build_fadt(dsdt_addr);
  std::vector<uint8_t> xsdt = build_xsdt({fadt_addr, madt_addr});
  std::vector<uint8_t> rsdp = build_rsdp(xsdt_addr);
  CHECK(xsdt.size() == sizeof(TableHeader) + kXsdtEntries * sizeof(uint64_t));

  auto put = [&](const char* what, uint64_t addr, const std::vector<uint8_t>& bytes) -> Result<void> {
    auto r = mem.write(addr, bytes);
    if (!r) return with_context(std::string("ACPI: writing the ") + what, r.error());
    return {};
  };
  // Zero the whole area so no stale bytes (an old RSDP signature, say) survive a rewrite.
  if (auto r = mem.fill(layout::kAcpiStart, 0, layout::kAcpiEnd - layout::kAcpiStart); !r)
    return with_context("ACPI: guest memory does not cover " + to_hex(layout::kAcpiStart) + "-" +
                            to_hex(layout::kAcpiEnd),
                        r.error());
  TRY(put("RSDP", rsdp_addr, rsdp));
  TRY(put("XSDT", xsdt_addr, xsdt));
  TRY(put("FADT", fadt_addr, fadt));
  TRY(put("MADT", madt_addr, madt));
  TRY(put("DSDT", dsdt_addr, dsdt));
  return rsdp_addr;
}

}  // namespace ember
