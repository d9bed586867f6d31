// Guest physical memory map of an ember x86-64 microVM.
#pragma once

#include <cstdint>

namespace ember::layout {

// Low memory used by the VMM for boot structures (all below the EBDA at 0x9fc00).
inline constexpr uint64_t kGdtAddr = 0x500;
inline constexpr uint64_t kIdtAddr = 0x520;
inline constexpr uint64_t kPvhStartInfoAddr = 0x6000;   // hvm_start_info + memmap + modlist
inline constexpr uint64_t kZeroPageAddr = 0x7000;       // Linux boot_params
inline constexpr uint64_t kBootStackPointer = 0x8ff0;
inline constexpr uint64_t kPml4Addr = 0x9000;
inline constexpr uint64_t kPdptAddr = 0xa000;
inline constexpr uint64_t kPdAddr = 0xb000;              // 4 pages: identity map of 4 GiB
inline constexpr uint64_t kCmdlineAddr = 0x20000;
inline constexpr uint64_t kCmdlineMaxSize = 4096;
inline constexpr uint64_t kEbdaStart = 0x9fc00;
// ACPI tables live in the BIOS read-only area, where the kernel also scans for the RSDP.
inline constexpr uint64_t kAcpiStart = 0xe0000;
inline constexpr uint64_t kAcpiEnd = 0x100000;
inline constexpr uint64_t kHighMemStart = 0x100000;  // 1 MiB

// The 32-bit MMIO hole: devices, IOAPIC and LAPIC live in [kMmioStart, 4 GiB).
inline constexpr uint64_t kMmioStart = 0xd0000000;
inline constexpr uint64_t kMmioSize = 0x30000000;
inline constexpr uint64_t kFourGiB = 0x100000000ULL;
inline constexpr uint64_t kBootTimerAddr = 0xd0000000;  // one page
inline constexpr uint64_t kVirtioMmioStart = 0xd0001000;  // one 4 KiB window per device
inline constexpr uint64_t kVirtioMmioWindow = 0x1000;
inline constexpr uint64_t kIoapicAddr = 0xfec00000;
inline constexpr uint64_t kLapicAddr = 0xfee00000;
// KVM needs three pages for the TSS and one for the identity map, inside the hole.
inline constexpr uint64_t kIdentityMapAddr = 0xfeffc000;
inline constexpr uint64_t kTssAddr = 0xfeffd000;

// Port I/O.
inline constexpr uint16_t kSerialPort = 0x3f8;
inline constexpr uint8_t kSerialIrq = 4;
inline constexpr uint16_t kI8042Port = 0x60;     // data 0x60, command/status 0x64
inline constexpr uint8_t kI8042Irq = 1;
// ACPI hardware-reduced sleep control / status registers (FADT SLEEP_CONTROL_REG, ACPI 6.4 4.8.3.7).
inline constexpr uint16_t kAcpiSleepControlPort = 0x600;
inline constexpr uint16_t kAcpiSleepStatusPort = 0x601;
// pvpanic (QEMU's port): the guest kernel reports a panic here.
inline constexpr uint16_t kPvPanicPort = 0x505;
// First GSI handed to virtio-mmio devices (legacy ISA lines 0-15 stay free).
inline constexpr uint32_t kFirstDeviceGsi = 5;
inline constexpr uint32_t kIoapicPins = 24;

}  // namespace ember::layout
