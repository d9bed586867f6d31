/*
 * The freestanding runtime of the test guests: port and MMIO access, the serial console, timing,
 * and the ways a guest tells the VMM it is done.
 *
 * Addresses follow ember's guest memory map (vmm/x86_64/layout.h). All code here runs at CPL0,
 * which some hosts execute with KVM's instruction emulator, so it uses only plain integer
 * instructions (the guests are built with -mgeneral-regs-only).
 */
#ifndef EMBER_GUEST_RUNTIME_H
#define EMBER_GUEST_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "boot_defs.h"

/* Devices as ember lays them out (vmm/x86_64/layout.h). */
#define SERIAL_PORT 0x3f8          /* 16550 UART, COM1 */
#define SERIAL_LSR (SERIAL_PORT + 5)
#define SERIAL_LSR_THRE 0x20       /* transmit holding register empty */
#define BOOT_TIMER_ADDR 0xd0000000ull
#define BOOT_TIMER_MAGIC 123       /* the byte that makes ember log "Guest-boot-time" */
#define I8042_COMMAND_PORT 0x64
#define I8042_PULSE_RESET 0xfe     /* pulse output line 0 (CPU reset) */
#define ACPI_SLEEP_CONTROL_PORT 0x600
/* ACPI 6.4 4.8.3.7 Sleep Control Register: SLP_TYP in bits 2-4, SLP_EN in bit 5; S5 is type 5. */
#define ACPI_SLEEP_S5_REQUEST ((5u << 2) | (1u << 5))
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA 0xa1

/* Set by the entry code (entry64.S / entry_pvh.S). */
extern uint32_t guest_entry_kind;       /* GUEST_ENTRY_PVH or GUEST_ENTRY_LINUX64 */
extern uint64_t guest_boot_info_paddr;  /* hvm_start_info (PVH) or boot_params (Linux) */

/* Each guest defines this; the runtime calls it on the bootstrap CPU's stack. */
void guest_main(void);

static inline void outb(uint16_t port, uint8_t value) {
  __asm__ volatile("outb %0, %1" : : "a"(value), "Nd"(port) : "memory");
}

static inline uint8_t inb(uint16_t port) {
  uint8_t value;
  __asm__ volatile("inb %1, %0" : "=a"(value) : "Nd"(port) : "memory");
  return value;
}

/* Identity map: a physical address below 4 GiB is usable as a pointer. */
static inline void mmio_write8(uint64_t addr, uint8_t value) {
  *(volatile uint8_t *)(uintptr_t)addr = value;
}

static inline void mmio_write32(uint64_t addr, uint32_t value) {
  *(volatile uint32_t *)(uintptr_t)addr = value;
}

static inline uint32_t mmio_read32(uint64_t addr) {
  return *(volatile uint32_t *)(uintptr_t)addr;
}

static inline uint64_t rdtsc(void) {
  uint32_t lo, hi;
  __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

static inline uint64_t read_cr3(void) {
  uint64_t value;
  __asm__ volatile("mov %%cr3, %0" : "=r"(value));
  return value;
}

static inline void cpu_relax(void) {
  __asm__ volatile("pause" : : : "memory");
}

/* Serial console. Output is byte for byte: "\n" is not expanded to "\r\n". */
void serial_putc(char c);
void serial_puts(const char *s);
void serial_put_dec(uint64_t value);

/* Tell the VMM the guest has booted (ember logs "Guest-boot-time = ..." with --boot-timer;
   elsewhere the write goes to an unassigned address and is dropped). */
void boot_timer_signal(void);

/*
 * Busy-waits for at least `us` microseconds on any CPU whose TSC runs at up to 5 GHz. The TSC
 * frequency is not discovered (a test guest has no reliable way), so on slower TSCs the wait is
 * proportionally longer. Only for bounds and hardware settle times, never for measurement.
 */
void delay_at_least_us(uint64_t us);

/* Returns the TSC value after which a wait of at least `us` microseconds (same assumption) is over. */
uint64_t deadline_after_us(uint64_t us);

/* Ask the VMM to reset the machine (i8042 pulse reset, which makes ember exit 0). If the request
   returns, the guest tries the FADT reset register (VMMs without an i8042, like QEMU's microvm),
   then halts with interrupts off. */
__attribute__((noreturn)) void guest_reset(void);

/* ACPI S5 through ember's sleep control port, then through the FADT's SLEEP_CONTROL_REG if that
   is elsewhere, then halt. */
__attribute__((noreturn)) void guest_poweroff(void);

/* cli; hlt forever. */
__attribute__((noreturn)) void halt_forever(void);

/* GCC may emit calls to these even in freestanding code (struct copies, zeroing). */
void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
int memcmp(const void *a, const void *b, size_t n);

#endif
