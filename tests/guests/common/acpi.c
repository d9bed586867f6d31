#include "acpi.h"

#include "runtime.h"

/*
 * Table layouts are from the ACPI 6.4 specification; offsets are named here instead of declaring
 * packed structs so that every read goes through the bounds-checked helpers below.
 */

/* The identity map covers the first 4 GiB; nothing above it can be read. */
#define ADDRESSABLE_LIMIT 0x100000000ull
/* No table the guests read comes close; a larger length means a corrupt header. */
#define MAX_TABLE_LENGTH 0x10000u

/* 5.2.5.3 Root System Description Pointer (RSDP) Structure */
#define RSDP_SIGNATURE "RSD PTR "
#define RSDP_V1_LENGTH 20
#define RSDP_V2_LENGTH 36
#define RSDP_REVISION 15
#define RSDP_RSDT_ADDRESS 16
#define RSDP_LENGTH 20
#define RSDP_XSDT_ADDRESS 24
/* 5.2.5.1 Finding the RSDP on IA-PC Systems: 16-byte boundaries of the BIOS read-only area. */
#define RSDP_SCAN_START 0xe0000u
#define RSDP_SCAN_END 0x100000u
#define RSDP_SCAN_STEP 16u

/* 5.2.6 System Description Table Header */
#define HEADER_LENGTH 36
#define HEADER_LENGTH_FIELD 4

/* 5.2.12 Multiple APIC Description Table (MADT) */
#define MADT_ENTRIES 44
#define MADT_TYPE_LOCAL_APIC 0
/* 5.2.12.2 Processor Local APIC Structure */
#define LOCAL_APIC_LENGTH 8
#define LOCAL_APIC_ID 3
#define LOCAL_APIC_FLAGS 4
#define LOCAL_APIC_ENABLED 0x1u

/* 5.2.9 Fixed ACPI Description Table (FADT) */
#define FADT_FLAGS 112
#define FADT_FLAG_RESET_REG_SUP (1u << 10)
#define FADT_RESET_REG 116
#define FADT_RESET_VALUE 128
#define FADT_SLEEP_CONTROL_REG 244
/* 5.2.3.2 Generic Address Structure */
#define GAS_LENGTH 12
#define GAS_SPACE_ID 0
#define GAS_ADDRESS 4
#define GAS_SPACE_MEMORY 0
#define GAS_SPACE_IO 1

/* Xen's hvm_start_info (start_info.h): magic at 0, rsdp_paddr at 32. */
#define HVM_START_MAGIC 0x336ec578u
#define HVM_START_RSDP_PADDR 32
#define HVM_START_MIN_LENGTH 40
/* Linux boot_params (Documentation/arch/x86/zero-page.rst): acpi_rsdp_addr at 0x070. */
#define BOOT_PARAMS_ACPI_RSDP_ADDR 0x070
#define BOOT_PARAMS_LENGTH 4096

static int phys_range_ok(uint64_t addr, uint64_t length) {
  return addr != 0 && length <= ADDRESSABLE_LIMIT && addr <= ADDRESSABLE_LIMIT - length;
}

/* Unaligned little-endian reads of memory already checked with phys_range_ok. */
static const volatile uint8_t *phys_bytes(uint64_t addr) {
  return (const volatile uint8_t *)(uintptr_t)addr;
}

static uint8_t read8(uint64_t addr) {
  return phys_bytes(addr)[0];
}

static uint32_t read32(uint64_t addr) {
  uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | phys_bytes(addr)[i];
  return value;
}

static uint64_t read64(uint64_t addr) {
  return ((uint64_t)read32(addr + 4) << 32) | read32(addr);
}

static int bytes_equal(uint64_t addr, const char *expected, uint32_t length) {
  for (uint32_t i = 0; i < length; ++i) {
    if (phys_bytes(addr)[i] != (uint8_t)expected[i]) return 0;
  }
  return 1;
}

static int checksum_ok(uint64_t addr, uint32_t length) {
  uint8_t sum = 0;
  for (uint32_t i = 0; i < length; ++i) sum = (uint8_t)(sum + phys_bytes(addr)[i]);
  return sum == 0;
}

static int rsdp_valid(uint64_t addr) {
  if (!phys_range_ok(addr, RSDP_V2_LENGTH)) return 0;
  if (!bytes_equal(addr, RSDP_SIGNATURE, 8) || !checksum_ok(addr, RSDP_V1_LENGTH)) return 0;
  if (read8(addr + RSDP_REVISION) < 2) return 1;
  // ACPI 2.0+: the extended checksum covers the whole structure, whose length is declared.
  const uint32_t length = read32(addr + RSDP_LENGTH);
  return length >= RSDP_V2_LENGTH && length <= MAX_TABLE_LENGTH && phys_range_ok(addr, length) &&
         checksum_ok(addr, length);
}

/* Length of a valid table with this signature at `addr` (signature NULL: any), or 0. */
static uint32_t table_length(uint64_t addr, const char *signature) {
  if (!phys_range_ok(addr, HEADER_LENGTH)) return 0;
  if (signature != 0 && !bytes_equal(addr, signature, 4)) return 0;
  const uint32_t length = read32(addr + HEADER_LENGTH_FIELD);
  if (length < HEADER_LENGTH || length > MAX_TABLE_LENGTH || !phys_range_ok(addr, length)) return 0;
  return checksum_ok(addr, length) ? length : 0;
}

static uint64_t rsdp_hint_from_boot_info(void) {
  const uint64_t info = guest_boot_info_paddr;
  if (guest_entry_kind == GUEST_ENTRY_PVH && phys_range_ok(info, HVM_START_MIN_LENGTH) &&
      read32(info) == HVM_START_MAGIC) {
    return read64(info + HVM_START_RSDP_PADDR);
  }
  if (guest_entry_kind == GUEST_ENTRY_LINUX64 && phys_range_ok(info, BOOT_PARAMS_LENGTH)) {
    return read64(info + BOOT_PARAMS_ACPI_RSDP_ADDR);
  }
  return 0;
}

uint64_t acpi_find_rsdp(void) {
  static uint64_t cached;
  if (cached != 0) return cached;
  const uint64_t hint = rsdp_hint_from_boot_info();
  if (rsdp_valid(hint)) return cached = hint;
  for (uint64_t addr = RSDP_SCAN_START; addr < RSDP_SCAN_END; addr += RSDP_SCAN_STEP) {
    // Cheap first-byte test before the full signature and checksum (each read may be emulated).
    if (read8(addr) == 'R' && rsdp_valid(addr)) return cached = addr;
  }
  return 0;
}

uint64_t acpi_find_table(const char signature[4]) {
  const uint64_t rsdp = acpi_find_rsdp();
  if (rsdp == 0) return 0;
  // Prefer the XSDT (64-bit entries); ACPI 1.0 systems only have the RSDT (32-bit entries).
  uint64_t root = 0;
  uint32_t entry_size = 0;
  if (read8(rsdp + RSDP_REVISION) >= 2) {
    root = read64(rsdp + RSDP_XSDT_ADDRESS);
    entry_size = 8;
  }
  uint32_t root_length = table_length(root, "XSDT");
  if (root_length == 0) {
    root = read32(rsdp + RSDP_RSDT_ADDRESS);
    entry_size = 4;
    root_length = table_length(root, "RSDT");
    if (root_length == 0) return 0;
  }
  const uint32_t entries = (root_length - HEADER_LENGTH) / entry_size;
  for (uint32_t i = 0; i < entries; ++i) {
    const uint64_t entry_addr = root + HEADER_LENGTH + (uint64_t)i * entry_size;
    const uint64_t table = entry_size == 8 ? read64(entry_addr) : read32(entry_addr);
    if (table_length(table, signature) != 0) return table;
  }
  return 0;
}

int acpi_madt_cpus(struct acpi_cpus *out) {
  out->count = 0;
  const uint64_t madt = acpi_find_table("APIC");
  if (madt == 0) return -1;
  const uint32_t length = table_length(madt, "APIC");
  uint32_t offset = MADT_ENTRIES;
  // Each entry is (type, length, ...); a length below 2 or past the table's end ends the walk.
  while (offset + 2 <= length) {
    const uint8_t type = read8(madt + offset);
    const uint8_t entry_length = read8(madt + offset + 1);
    if (entry_length < 2 || entry_length > length - offset) break;
    if (type == MADT_TYPE_LOCAL_APIC && entry_length >= LOCAL_APIC_LENGTH &&
        (read32(madt + offset + LOCAL_APIC_FLAGS) & LOCAL_APIC_ENABLED) != 0) {
      if (out->count < GUEST_MAX_CPUS) {
        out->apic_ids[out->count] = read8(madt + offset + LOCAL_APIC_ID);
      }
      ++out->count;
    }
    offset += entry_length;
  }
  return 0;
}

/* Writes one byte to the register a Generic Address Structure names (memory or I/O space). */
static void gas_write8(uint64_t gas, uint8_t value) {
  const uint8_t space = read8(gas + GAS_SPACE_ID);
  const uint64_t address = read64(gas + GAS_ADDRESS);
  if (space == GAS_SPACE_IO && address != 0 && address <= 0xffff) {
    outb((uint16_t)address, value);
  } else if (space == GAS_SPACE_MEMORY && phys_range_ok(address, 1)) {
    mmio_write8(address, value);
  }
}

void acpi_fadt_reset(void) {
  const uint64_t fadt = acpi_find_table("FACP");
  if (fadt == 0) return;
  const uint32_t length = table_length(fadt, "FACP");
  if (length < FADT_RESET_VALUE + 1) return;
  if ((read32(fadt + FADT_FLAGS) & FADT_FLAG_RESET_REG_SUP) == 0) return;
  gas_write8(fadt + FADT_RESET_REG, read8(fadt + FADT_RESET_VALUE));
}

void acpi_fadt_sleep_s5(void) {
  const uint64_t fadt = acpi_find_table("FACP");
  if (fadt == 0) return;
  if (table_length(fadt, "FACP") < FADT_SLEEP_CONTROL_REG + GAS_LENGTH) return;
  // SLP_TYP for S5 really comes from the DSDT's \_S5 object; hardware-reduced VMMs (ember, QEMU's
  // microvm) use 5, and parsing AML is out of scope for a test guest.
  gas_write8(fadt + FADT_SLEEP_CONTROL_REG, ACPI_SLEEP_S5_REQUEST);
}
