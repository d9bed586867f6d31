/*
 * Just enough ACPI for the test guests: find the RSDP, walk the XSDT (or RSDT), count the CPUs in
 * the MADT, and use the FADT's reset and sleep registers. Every pointer and length read from the
 * tables is validated before use (checksums, bounds, a size cap), so a broken table set makes a
 * lookup fail instead of hanging or faulting the guest.
 */
#ifndef EMBER_GUEST_ACPI_H
#define EMBER_GUEST_ACPI_H

#include <stdint.h>

/* The most CPUs the guests track (and the smp guest can start). */
#define GUEST_MAX_CPUS 64

struct acpi_cpus {
  /* Enabled Processor Local APIC entries in the MADT (may exceed GUEST_MAX_CPUS). */
  uint32_t count;
  /* APIC IDs of the first min(count, GUEST_MAX_CPUS) of them, in table order. */
  uint8_t apic_ids[GUEST_MAX_CPUS];
};

/* Physical address of a valid RSDP, or 0. Tries the address the boot protocol handed over
   (hvm_start_info.rsdp_paddr, boot_params.acpi_rsdp_addr), then scans 0xE0000-0xFFFFF. */
uint64_t acpi_find_rsdp(void);

/* Physical address of the first valid table with this signature listed in the XSDT (or the RSDT
   for ACPI 1.0 tables), or 0. */
uint64_t acpi_find_table(const char signature[4]);

/* Fills `out` from the MADT. Returns 0, or -1 when no valid MADT was found. */
int acpi_madt_cpus(struct acpi_cpus *out);

/* Write the FADT's RESET_VALUE to its RESET_REG, if the FADT says the register is supported. */
void acpi_fadt_reset(void);

/* Request S5 through the FADT's SLEEP_CONTROL_REG (hardware-reduced ACPI), if it has one. */
void acpi_fadt_sleep_s5(void);

#endif
