// ACPI tables for ember's hardware-reduced x86-64 microVM: RSDP, XSDT, FADT, MADT and DSDT.
//
// The guest has no PCI and no MP table: Linux learns the CPUs and interrupt controllers from the
// MADT, and the serial port, the i8042 and every virtio-mmio device (_HID "LNRO0005") from DSDT
// devices under \_SB. Layouts follow ACPI 6.4 chapter 5; see table_layouts.h.
#pragma once

#include <cstdint>
#include <vector>

#include "memory/guest_memory.h"
#include "base/result.h"

namespace ember {

struct AcpiVirtioDevice {
  uint64_t mmio_addr;  // must lie below 4 GiB (Memory32Fixed)
  uint64_t mmio_size;
  uint32_t gsi;  // IOAPIC pin, in [layout::kFirstDeviceGsi, layout::kIoapicPins)
};

struct AcpiConfig {
  uint32_t vcpu_count;                           // 1..kAcpiMaxVcpus
  std::vector<AcpiVirtioDevice> virtio_devices;  // may be empty
};

inline constexpr uint32_t kAcpiMaxVcpus = 32;

// Hardware-reduced sleep: Linux powers off by writing SLP_TYP (bits 4:2) | SLP_EN (bit 5) to the
// FADT's SLEEP_CONTROL_REG (ACPI 6.4 4.8.3.7), at layout::kAcpiSleepControlPort, taking SLP_TYP
// from the DSDT's \_S5 package. The DSDT hands out kAcpiS5SleepType from
// devices/legacy/acpi_sleep.h (5), the value the sleep device treats as "power off", so a guest
// poweroff writes 0x34.

// Writes RSDP, XSDT, FADT, MADT and DSDT into guest memory in [layout::kAcpiStart,
// layout::kAcpiEnd) (which it zeroes first) and returns the RSDP address (layout::kAcpiStart,
// where Linux's scan of 0xE0000-0xFFFFF finds it). Fails with a message naming the problem when
// the configuration is invalid or the tables do not fit.
[[nodiscard]] Result<uint64_t> write_acpi_tables(const GuestMemory& mem, const AcpiConfig& cfg);

// Pure builders, one per table, each returning the complete table with its checksum set.
// DSDT (ACPI 6.4 5.2.11.1): COM1, the i8042, \_S5 and one LNRO0005 device per virtio device.
[[nodiscard]] Result<std::vector<uint8_t>> build_dsdt(const AcpiConfig& cfg);
// MADT (ACPI 6.4 5.2.12): one local APIC per vCPU, one IOAPIC, LINT1 as NMI.
[[nodiscard]] Result<std::vector<uint8_t>> build_madt(const AcpiConfig& cfg);
// FADT (ACPI 6.4 5.2.9), revision 6, hardware-reduced, X_DSDT = dsdt_addr.
[[nodiscard]] std::vector<uint8_t> build_fadt(uint64_t dsdt_addr);
// XSDT (ACPI 6.4 5.2.8) listing the given table addresses.
[[nodiscard]] std::vector<uint8_t> build_xsdt(const std::vector<uint64_t>& table_addrs);
// RSDP (ACPI 6.4 5.2.5.3), revision 2, pointing at the XSDT; no RSDT.
[[nodiscard]] std::vector<uint8_t> build_rsdp(uint64_t xsdt_addr);

}  // namespace ember
