/*
 * smp: brings up every CPU the MADT lists the way an OS does on a PC, and has each one report in.
 *
 * The BSP counts the enabled Processor Local APIC entries of the MADT, masks the 8259 PICs (their
 * reset state is unmasked with vector base 0), copies the real-mode trampoline (trampoline.S) to
 * AP_TRAMPOLINE_ADDR and starts each AP with INIT, start-up, start-up (Intel SDM vol. 3A,
 * "MP Initialization Protocol Algorithm" / "Typical BSP Initialization Sequence"). Every CPU
 * prints "cpu <apic id> online" under a spinlock and increments a counter; the BSP waits for the
 * counter (bounded), prints the total, signals the boot timer and resets.
 */
#include "acpi.h"
#include "runtime.h"
#include "smp_defs.h"

/* xAPIC registers (Intel SDM vol. 3A, "Local APIC Register Address Map"). The guests use the
   architectural default base; both ember and QEMU keep it there. */
#define LAPIC_BASE 0xfee00000ull
#define LAPIC_ID 0x20
#define LAPIC_SVR 0xf0
#define LAPIC_ICR_LOW 0x300
#define LAPIC_ICR_HIGH 0x310
#define SVR_APIC_SOFTWARE_ENABLE 0x100
#define SVR_SPURIOUS_VECTOR 0xff
#define ICR_DELIVERY_INIT (5u << 8)
#define ICR_DELIVERY_STARTUP (6u << 8)
#define ICR_DELIVERY_PENDING (1u << 12)
#define ICR_LEVEL_ASSERT (1u << 14)
#define ICR_DESTINATION_SHIFT 24

/* The SDM's example sequence waits 10 ms after INIT and 200 us after each start-up IPI. */
#define INIT_SETTLE_US 10000
#define STARTUP_SETTLE_US 200
/* How long the BSP waits for an IPI to leave and for all APs to report. AP start-up takes
   microseconds on hardware and milliseconds where CPL0 code is emulated. */
#define ICR_IDLE_TIMEOUT_US 1000
#define AP_ARRIVAL_TIMEOUT_US 1000000

extern const uint8_t ap_trampoline_start[];
extern const uint8_t ap_trampoline_end[];
extern uint64_t smp_ap_cr3;

void smp_ap_main(void);

static uint32_t console_lock;
static uint32_t cpus_online;

static void lock_console(void) {
  while (__atomic_exchange_n(&console_lock, 1, __ATOMIC_ACQUIRE) != 0) {
    while (__atomic_load_n(&console_lock, __ATOMIC_RELAXED) != 0) cpu_relax();
  }
}

static void unlock_console(void) {
  __atomic_store_n(&console_lock, 0, __ATOMIC_RELEASE);
}

static uint32_t lapic_read(uint32_t reg) {
  return mmio_read32(LAPIC_BASE + reg);
}

static void lapic_write(uint32_t reg, uint32_t value) {
  mmio_write32(LAPIC_BASE + reg, value);
}

static uint8_t this_cpu_apic_id(void) {
  return (uint8_t)(lapic_read(LAPIC_ID) >> 24);
}

static void announce_this_cpu(void) {
  const uint8_t apic_id = this_cpu_apic_id();
  lock_console();
  serial_puts("cpu ");
  serial_put_dec(apic_id);
  serial_puts(" online\n");
  unlock_console();
  __atomic_fetch_add(&cpus_online, 1, __ATOMIC_RELEASE);
}

void smp_ap_main(void) {
  announce_this_cpu();
  halt_forever();
}

/* Sends an IPI to one APIC ID (physical destination mode) and waits, bounded, until the local
   APIC reports it sent (xAPIC; the SDM asks software to check before the next IPI). */
static void send_ipi(uint8_t apic_id, uint32_t command) {
  lapic_write(LAPIC_ICR_HIGH, (uint32_t)apic_id << ICR_DESTINATION_SHIFT);
  lapic_write(LAPIC_ICR_LOW, command);  // writing the low half sends
  const uint64_t deadline = deadline_after_us(ICR_IDLE_TIMEOUT_US);
  while ((lapic_read(LAPIC_ICR_LOW) & ICR_DELIVERY_PENDING) != 0 &&
         (int64_t)(rdtsc() - deadline) < 0) {
    cpu_relax();
  }
}

static void start_ap(uint8_t apic_id) {
  send_ipi(apic_id, ICR_DELIVERY_INIT | ICR_LEVEL_ASSERT);
  delay_at_least_us(INIT_SETTLE_US);
  // Two start-up IPIs, as the SDM prescribes: an AP that already left wait-for-SIPI ignores the
  // second one.
  for (int i = 0; i < 2; ++i) {
    send_ipi(apic_id, ICR_DELIVERY_STARTUP | ICR_LEVEL_ASSERT | AP_SIPI_VECTOR);
    delay_at_least_us(STARTUP_SETTLE_US);
  }
}

void guest_main(void) {
  struct acpi_cpus cpus;
  uint32_t expected = 1;
  if (acpi_madt_cpus(&cpus) != 0 || cpus.count == 0) {
    serial_puts("smp: no usable MADT, assuming 1 cpu\n");
    cpus.count = 0;
  }
  const uint32_t listed = cpus.count < GUEST_MAX_CPUS ? cpus.count : GUEST_MAX_CPUS;
  if (cpus.count > listed) serial_puts("smp: more cpus than the guest supports\n");

  outb(PIC_MASTER_DATA, 0xff);
  outb(PIC_SLAVE_DATA, 0xff);
  lapic_write(LAPIC_SVR, SVR_APIC_SOFTWARE_ENABLE | SVR_SPURIOUS_VECTOR);

  const uint8_t bsp_id = this_cpu_apic_id();
  announce_this_cpu();

  const size_t trampoline_size = (size_t)(ap_trampoline_end - ap_trampoline_start);
  memcpy((void *)(uintptr_t)AP_TRAMPOLINE_ADDR, ap_trampoline_start, trampoline_size);
  smp_ap_cr3 = read_cr3();
  __asm__ volatile("" : : : "memory");  // the trampoline and CR3 are in memory before any SIPI

  for (uint32_t i = 0; i < listed; ++i) {
    if (cpus.apic_ids[i] == bsp_id) continue;
    start_ap(cpus.apic_ids[i]);
    ++expected;
  }

  const uint64_t deadline = deadline_after_us(AP_ARRIVAL_TIMEOUT_US);
  while (__atomic_load_n(&cpus_online, __ATOMIC_ACQUIRE) < expected) {
    if ((int64_t)(rdtsc() - deadline) >= 0) {
      lock_console();
      serial_puts("smp: timeout waiting for cpus\n");
      unlock_console();
      break;
    }
    cpu_relax();
  }

  const uint32_t online = __atomic_load_n(&cpus_online, __ATOMIC_ACQUIRE);
  lock_console();
  serial_puts("smp: ");
  serial_put_dec(online);
  serial_puts(" cpus online\n");
  unlock_console();
  boot_timer_signal();
  guest_reset();
}
