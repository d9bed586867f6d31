#include "runtime.h"

#include "acpi.h"

/* Upper bound on the TSC frequency assumed by the delays (see runtime.h). */
#define ASSUMED_MAX_TSC_TICKS_PER_US 5000u

/* An LSR that never reports an empty transmitter (a broken or absent UART model) must not hang the
   guest: after this many polls the byte is written anyway. */
#define SERIAL_MAX_LSR_POLLS 100000u

void guest_start(void);

void guest_start(void) {
  guest_main();
  halt_forever();
}

void serial_putc(char c) {
  for (uint32_t polls = 0; polls < SERIAL_MAX_LSR_POLLS; ++polls) {
    if (inb(SERIAL_LSR) & SERIAL_LSR_THRE) break;
    cpu_relax();
  }
  outb(SERIAL_PORT, (uint8_t)c);
}

void serial_puts(const char *s) {
  while (*s != '\0') serial_putc(*s++);
}

void serial_put_dec(uint64_t value) {
  char digits[20];  // 2^64 - 1 has 20 decimal digits
  size_t n = 0;
  do {
    digits[n++] = (char)('0' + value % 10);
    value /= 10;
  } while (value != 0);
  while (n > 0) serial_putc(digits[--n]);
}

void boot_timer_signal(void) {
  mmio_write8(BOOT_TIMER_ADDR, BOOT_TIMER_MAGIC);
}

uint64_t deadline_after_us(uint64_t us) {
  return rdtsc() + us * ASSUMED_MAX_TSC_TICKS_PER_US;
}

void delay_at_least_us(uint64_t us) {
  const uint64_t deadline = deadline_after_us(us);
  while ((int64_t)(rdtsc() - deadline) < 0) cpu_relax();
}

void halt_forever(void) {
  for (;;) __asm__ volatile("cli; hlt" : : : "memory");
}

void guest_reset(void) {
  outb(I8042_COMMAND_PORT, I8042_PULSE_RESET);
  // A VMM may act on the request asynchronously while this vCPU keeps running; give it time to
  // stop the guest before trying anything else.
  delay_at_least_us(10000);
  acpi_fadt_reset();
  halt_forever();
}

void guest_poweroff(void) {
  outb(ACPI_SLEEP_CONTROL_PORT, ACPI_SLEEP_S5_REQUEST);
  delay_at_least_us(10000);
  acpi_fadt_sleep_s5();
  halt_forever();
}

void *memset(void *dst, int c, size_t n) {
  uint8_t *d = dst;
  while (n-- > 0) *d++ = (uint8_t)c;
  return dst;
}

void *memcpy(void *restrict dst, const void *restrict src, size_t n) {
  uint8_t *d = dst;
  const uint8_t *s = src;
  while (n-- > 0) *d++ = *s++;
  return dst;
}

int memcmp(const void *a, const void *b, size_t n) {
  const uint8_t *x = a;
  const uint8_t *y = b;
  for (size_t i = 0; i < n; ++i) {
    if (x[i] != y[i]) return x[i] < y[i] ? -1 : 1;
  }
  return 0;
}
