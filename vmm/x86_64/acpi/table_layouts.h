// Byte layouts of the fixed-format ACPI tables ember writes (ACPI 6.4 chapter 5), as packed
// structs checked field by field against the offsets in the specification. Multi-byte fields are
// little-endian; ember runs only on x86-64 hosts, whose native order matches.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

namespace ember::acpi {

static_assert(std::endian::native == std::endian::little, "ACPI tables are little-endian");

// Root System Description Pointer, ACPI 6.4 5.2.5.3, revision 2 form.
struct [[gnu::packed]] Rsdp {
  char signature[8];          // "RSD PTR "
  uint8_t checksum;           // makes bytes 0-19 sum to 0
  char oem_id[6];
  uint8_t revision;           // 2 for ACPI 2.0 and later
  uint32_t rsdt_address;      // ember has no RSDT: 0
  uint32_t length;            // 36
  uint64_t xsdt_address;
  uint8_t extended_checksum;  // makes all 36 bytes sum to 0
  uint8_t reserved[3];
};
static_assert(sizeof(Rsdp) == 36);
static_assert(offsetof(Rsdp, xsdt_address) == 24);
static_assert(offsetof(Rsdp, extended_checksum) == 32);

// System Description Table Header, ACPI 6.4 5.2.6.
struct [[gnu::packed]] TableHeader {
  char signature[4];
  uint32_t length;  // of the whole table, header included
  uint8_t revision;
  uint8_t checksum;  // makes the whole table sum to 0
  char oem_id[6];
  char oem_table_id[8];
  uint32_t oem_revision;
  char creator_id[4];
  uint32_t creator_revision;
};
static_assert(sizeof(TableHeader) == 36);
static_assert(offsetof(TableHeader, checksum) == 9);

// Generic Address Structure, ACPI 6.4 5.2.3.2.
struct [[gnu::packed]] GenericAddress {
  uint8_t address_space_id;  // 1: System I/O
  uint8_t register_bit_width;
  uint8_t register_bit_offset;
  uint8_t access_size;  // 1: byte access
  uint64_t address;
};
static_assert(sizeof(GenericAddress) == 12);

inline constexpr uint8_t kGasSystemIo = 1;
inline constexpr uint8_t kGasAccessByte = 1;

// Fixed ACPI Description Table, ACPI 6.4 5.2.9, revision 6 (276 bytes).
struct [[gnu::packed]] Fadt {
  TableHeader header;  // "FACP"
  uint32_t firmware_ctrl;
  uint32_t dsdt;
  uint8_t reserved0;
  uint8_t preferred_pm_profile;
  uint16_t sci_int;
  uint32_t smi_cmd;
  uint8_t acpi_enable;
  uint8_t acpi_disable;
  uint8_t s4bios_req;
  uint8_t pstate_cnt;
  uint32_t pm1a_evt_blk;
  uint32_t pm1b_evt_blk;
  uint32_t pm1a_cnt_blk;
  uint32_t pm1b_cnt_blk;
  uint32_t pm2_cnt_blk;
  uint32_t pm_tmr_blk;
  uint32_t gpe0_blk;
  uint32_t gpe1_blk;
  uint8_t pm1_evt_len;
  uint8_t pm1_cnt_len;
  uint8_t pm2_cnt_len;
  uint8_t pm_tmr_len;
  uint8_t gpe0_blk_len;
  uint8_t gpe1_blk_len;
  uint8_t gpe1_base;
  uint8_t cst_cnt;
  uint16_t p_lvl2_lat;
  uint16_t p_lvl3_lat;
  uint16_t flush_size;
  uint16_t flush_stride;
  uint8_t duty_offset;
  uint8_t duty_width;
  uint8_t day_alrm;
  uint8_t mon_alrm;
  uint8_t century;
  uint16_t iapc_boot_arch;
  uint8_t reserved1;
  uint32_t flags;
  GenericAddress reset_reg;
  uint8_t reset_value;
  uint16_t arm_boot_arch;
  uint8_t fadt_minor_version;
  uint64_t x_firmware_ctrl;
  uint64_t x_dsdt;
  GenericAddress x_pm1a_evt_blk;
  GenericAddress x_pm1b_evt_blk;
  GenericAddress x_pm1a_cnt_blk;
  GenericAddress x_pm1b_cnt_blk;
  GenericAddress x_pm2_cnt_blk;
  GenericAddress x_pm_tmr_blk;
  GenericAddress x_gpe0_blk;
  GenericAddress x_gpe1_blk;
  GenericAddress sleep_control_reg;
  GenericAddress sleep_status_reg;
  uint64_t hypervisor_vendor_identity;
};
static_assert(sizeof(Fadt) == 276);
static_assert(offsetof(Fadt, dsdt) == 40);
static_assert(offsetof(Fadt, iapc_boot_arch) == 109);
static_assert(offsetof(Fadt, flags) == 112);
static_assert(offsetof(Fadt, fadt_minor_version) == 131);
static_assert(offsetof(Fadt, x_dsdt) == 140);
static_assert(offsetof(Fadt, sleep_control_reg) == 244);
static_assert(offsetof(Fadt, sleep_status_reg) == 256);
static_assert(offsetof(Fadt, hypervisor_vendor_identity) == 268);

// FADT Flags ("Fixed ACPI Description Table Fixed Feature Flags"), ACPI 6.4 5.2.9.
inline constexpr uint32_t kFadtPwrButton = 1u << 4;   // no fixed-feature power button
inline constexpr uint32_t kFadtSlpButton = 1u << 5;   // no fixed-feature sleep button
inline constexpr uint32_t kFadtHwReducedAcpi = 1u << 20;
// IA-PC Boot Architecture Flags, ACPI 6.4 5.2.9.3.
inline constexpr uint16_t kBootArch8042 = 1u << 1;
inline constexpr uint16_t kBootArchVgaNotPresent = 1u << 2;
inline constexpr uint16_t kBootArchCmosRtcNotPresent = 1u << 5;

// Multiple APIC Description Table, ACPI 6.4 5.2.12: header, then the structures.
struct [[gnu::packed]] MadtHeader {
  TableHeader header;  // "APIC"
  uint32_t local_apic_address;
  uint32_t flags;
};
static_assert(sizeof(MadtHeader) == 44);
inline constexpr uint32_t kMadtPcatCompat = 1u << 0;  // dual 8259s present

// Processor Local APIC Structure, ACPI 6.4 5.2.12.2.
struct [[gnu::packed]] MadtLocalApic {
  uint8_t type;  // 0
  uint8_t length;  // 8
  uint8_t acpi_processor_uid;
  uint8_t apic_id;
  uint32_t flags;  // bit 0: enabled
};
static_assert(sizeof(MadtLocalApic) == 8);

// I/O APIC Structure, ACPI 6.4 5.2.12.3.
struct [[gnu::packed]] MadtIoApic {
  uint8_t type;  // 1
  uint8_t length;  // 12
  uint8_t io_apic_id;
  uint8_t reserved;
  uint32_t io_apic_address;
  uint32_t global_system_interrupt_base;
};
static_assert(sizeof(MadtIoApic) == 12);

// Local APIC NMI Structure, ACPI 6.4 5.2.12.7.
struct [[gnu::packed]] MadtLocalApicNmi {
  uint8_t type;  // 4
  uint8_t length;  // 6
  uint8_t acpi_processor_uid;  // 0xff: every processor
  uint16_t flags;  // MPS INTI flags; 0: conforms to the bus
  uint8_t local_apic_lint;
};
static_assert(sizeof(MadtLocalApicNmi) == 6);

inline constexpr uint8_t kMadtTypeLocalApic = 0;
inline constexpr uint8_t kMadtTypeIoApic = 1;
inline constexpr uint8_t kMadtTypeLocalApicNmi = 4;

}  // namespace ember::acpi
