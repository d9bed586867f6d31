/*
 * boottime: the guest of the boot benchmark (benchmarks/boot_bench.py). It is built with
 * EMBER_GUEST_EARLY_MARK, so both entry points write 'E' to the serial port before anything else.
 * Then it prints "BOOTED", signals the boot timer, prints "READY" and sits idle with interrupts
 * off, so the observer can measure the VMM's memory while the guest does nothing.
 */
#include "runtime.h"

void guest_main(void) {
  serial_puts("\nBOOTED\n");
  boot_timer_signal();
  serial_puts("READY\n");
  halt_forever();
}
