/*
 * ticker: prints "tick N" lines for ever, about every 20 ms (TSC-timed), so a test can see a
 * paused VM make no progress and a resumed one continue. Writes the boot timer first.
 */
#include "runtime.h"

void guest_main(void) {
  boot_timer_signal();
  serial_puts("ticker: started\n");
  for (uint64_t n = 0;; ++n) {
    serial_puts("tick ");
    serial_put_dec(n);
    serial_puts("\n");
    delay_at_least_us(20000);
  }
}
